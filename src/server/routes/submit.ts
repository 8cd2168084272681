/**
 * @module server/routes/submit
 * Submitting content (submitter keys): hash an upload, match hashes or an upload against the
 * banks, scan an upload (flagged items go to the review queue), screen a text.
 */
import type { FastifyInstance } from 'fastify';
import { WardError } from '../../errors.js';
import type { MatchHit, MatchResult, MatchSignals } from '../../match/matcher.js';
import { activeRegistry } from '../../registry.js';
import { hashBytes, scanBytes } from '../../scan/pipeline.js';
import { type ItemReport, VERDICTS, type Verdict } from '../../scan/types.js';
import { addRoute, type RoutesOptions, type ServerContext, uploadStream } from '../context.js';
import { bankDistances, safeReport, safeResult, tightenedOptions } from '../disclosure.js';
import { ok } from '../http.js';
import { hitSummary, queueItem } from '../review.js';
import { ITEM_REPORT, int, MATCH_HIT, obj, SUBMIT, signalEnum, str } from './schemas.js';

const PRECEDENCE: Verdict[] = ['match', 'flag', 'error', 'skipped', 'clean'];

/** Submitting content: hash, match, scan, text. */
export async function submitRoutes(app: FastifyInstance, { ctx }: RoutesOptions): Promise<void> {
  const route = (doc: Parameters<typeof addRoute>[2], handler: Parameters<typeof addRoute>[3]) =>
    addRoute(app, ctx, doc, handler);
  const { live, config } = ctx;
  const signalNames = activeRegistry().signalNames();
  const matcher = { match: (q: MatchSignals, o?: Parameters<typeof live.match>[1]) => live.match(q, o) };
  const matchOptions = {
    dihedral: config.match.dihedral,
    includeWeak: true,
    ...(config.match.distance !== null ? { distance: config.match.distance } : {}),
  };
  route(
    {
      method: 'POST',
      url: '/v1/hash',
      summary: 'Fingerprint an upload: MD5, SHA-1, SHA-256, and PDQ for images',
      description: 'The upload is held in memory for the request only.',
      tags: ['submit'],
      roles: SUBMIT,
      accepts: ['upload'],
      response: {
        200: obj({
          contentType: { type: 'string' },
          format: { type: 'string' },
          size: { type: 'integer' },
          signals: { type: 'object' },
          media: { type: 'object' },
          error: { type: 'object' },
        }),
      },
    },
    async (req) => {
      const up = await ctx.upload(req);
      const { result, contentType, format } = await hashUpload(ctx, up.bytes);
      const { pdqDihedral: _d, ...signals } = result.signals;
      return ok({
        contentType,
        ...(format ? { format } : {}),
        size: up.bytes.length,
        signals,
        ...(result.media ? { media: result.media } : {}),
        ...(result.error ? { error: result.error } : {}),
      });
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/match',
      summary: 'Match hashes (JSON) or an upload against the banks',
      description:
        'JSON: `{"hashes": ["<hex>", …], "signal"?}`; without `signal`, a hash is matched as every signal ' +
        'type that claims it (32 hex md5, 40 sha1, 64 hex pdq and the 64-hex exact types; `signals` lists them ' +
        'when there are several). Or send a file: it is fingerprinted and matched, in memory.',
      tags: ['submit'],
      roles: SUBMIT,
      accepts: ['json', 'upload'],
      manualBody: true,
      body: obj(
        {
          hashes: { type: 'array', minItems: 1, maxItems: 1000, items: str(128) },
          signal: signalEnum(),
          distance: int(0, 256, {
            description: 'PDQ distance: tightens every bank’s own, never widens it (default: each bank’s own)',
          }),
        },
        ['hashes'],
      ),
      response: {
        200: obj({
          truncated: { type: 'boolean', description: 'Some hits or hashes were left out (caps, time budget)' },
          notMatched: { type: 'integer', description: 'Hashes at the end not matched: the time budget ran out' },
          results: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                hash: { type: 'string' },
                signal: { type: 'string' },
                signals: {
                  type: 'array',
                  items: { type: 'string' },
                  description: 'Every type the hash was matched as',
                },
                matches: { type: 'array', items: MATCH_HIT },
                suppressedBy: {
                  type: 'array',
                  description: 'Negative banks that suppressed matches (never their entries)',
                  items: obj({ bank: { type: 'string' }, signal: { type: 'string' } }),
                },
                truncated: { type: 'boolean' },
              },
            },
          },
        }),
      },
    },
    async (req) => {
      const results: Record<string, unknown>[] = [];
      let truncated = false;
      let notMatched = 0;
      let matched: { hash?: string; signal?: string; matches: ReturnType<typeof hitSummary>[] }[] = [];
      if (!uploadStream(req)) {
        const body = checkMatchBody(req.body, signalNames);
        const queries = body.hashes.map((h, i) => hashQuery(h, i, body.signal));
        // A caller may only tighten a bank's distance (issue 14): capped here, per bank by the
        // matcher (tightenOnly), and each hit checked again against its own bank.
        const distances = bankDistances(live);
        const options = tightenedOptions(body.distance, distances, { includeWeak: true });
        const started = performance.now();
        for (const [n, q] of queries.entries()) {
          if (n > 0 && performance.now() - started > ctx.limits.matchBudgetMs) {
            truncated = true;
            notMatched = queries.length - n;
            break;
          }
          const r = await live.match(q.query, options);
          const safe = safeResult(r, body.distance !== undefined ? distances : undefined);
          if (safe.truncated) truncated = true;
          results.push({
            hash: q.value,
            signal: q.signal,
            ...(q.signals.length > 1 ? { signals: q.signals } : {}),
            ...safe,
          });
          if (safe.matches.length > 0)
            matched.push({ hash: q.value, signal: q.signal, matches: safe.matches.map(hitSummary) });
        }
      } else {
        const up = await ctx.upload(req);
        const { result } = await hashUpload(ctx, up.bytes);
        const { pdqDihedral, ...signals } = result.signals;
        const skipped: string[] = [];
        const query = uploadQuery(signals, pdqDihedral, config.match.minQuality, skipped);
        const r = await live.match(query, matchOptions);
        const fields: Record<string, unknown> = { ...safeResult(r, undefined) };
        if (fields.truncated) truncated = true;
        results.push({
          signals,
          ...fields,
          ...(skipped.length > 0 ? { skipped: [...skipped, ...((fields.skipped as string[]) ?? [])] } : {}),
          ...(result.error ? { error: result.error } : {}),
        });
        if (r.matches.length > 0) matched = [{ matches: (fields.matches as MatchHit[]).map(hitSummary) }];
      }
      if (matched.length > 0) {
        ctx.metrics.matches.inc({ route: 'match' }, matched.length);
        await ctx.webhooks.emit('match', { route: 'match', keyId: req.principal?.keyId, results: matched });
      }
      return ok({ results, ...(truncated ? { truncated: true } : {}), ...(notMatched > 0 ? { notMatched } : {}) });
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/scan',
      summary: 'Scan an upload: the same item reports and verdicts as `ward scan`',
      description:
        'Any supported content (images, archives and their entries, …). Items whose verdict is `flag` enter ' +
        'the review queue (with an encrypted copy when the evidence store is enabled).',
      tags: ['submit'],
      roles: SUBMIT,
      accepts: ['upload'],
      querystring: obj({
        name: str(200, { description: 'A name for the upload (reported as `path`)' }),
        review: { type: 'boolean', default: true, description: 'Queue flagged items for review' },
      }),
      response: {
        200: obj({
          verdict: { enum: VERDICTS },
          items: { type: 'array', items: ITEM_REPORT },
          reviews: { type: 'array', items: { type: 'object' } },
        }),
      },
    },
    async (req) => {
      const query = req.query as { name?: string; review?: boolean };
      const up = await ctx.upload(req);
      const name = cleanName(query.name ?? up.name);
      const scanned: { report: ItemReport; bytes?: Uint8Array }[] = [];
      for await (const s of scanBytes(name, up.bytes, {
        config,
        matcher,
        runner: ctx.runner,
        keepBytes: ctx.evidence !== undefined,
      })) {
        scanned.push(s);
      }
      const items = scanned.map((s) => s.report);
      const verdict = PRECEDENCE.find((v) => items.some((i) => i.verdict === v)) ?? 'clean';
      const reviews: { id: number; path: string; archivePath?: string }[] = [];
      if (query.review !== false) {
        for (const s of scanned) {
          const r = s.report;
          if (r.verdict !== 'flag' && !(ctx.queueMatches && r.verdict === 'match')) continue;
          const item = await queueItem(ctx, req, name, r, s.bytes);
          reviews.push({ id: item.id, path: r.path, ...(r.archivePath ? { archivePath: r.archivePath } : {}) });
        }
      }
      const matched = items.filter((i) => i.verdict === 'match');
      if (matched.length > 0) {
        ctx.metrics.matches.inc({ route: 'scan' }, matched.length);
        await ctx.webhooks.emit('match', {
          route: 'scan',
          keyId: req.principal?.keyId,
          items: matched.map((i) => ({
            path: i.path,
            ...(i.archivePath ? { archivePath: i.archivePath } : {}),
            signals: i.signals,
            matches: i.matches.map(hitSummary),
          })),
        });
      }
      // The caller sees no negative-bank entries and at most MAX_HITS_PER_RESULT hits per item.
      return ok({ verdict, items: items.map((i) => safeReport(i)), reviews });
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/text',
      summary: 'Screen a text (a prompt, caption, title, post) for abuse-related language',
      description: 'Answers 501 WARD_ERR_NOT_IMPLEMENTED when this build has no text screening.',
      tags: ['submit'],
      roles: SUBMIT,
      accepts: ['json'],
      body: obj(
        {
          text: str(100_000),
          context: { enum: ['prompt', 'negativePrompt', 'caption', 'tags', 'title', 'post'] },
        },
        ['text'],
      ),
      response: { 200: { type: 'object', description: 'The text screening result (verdict, reasons, spans)' } },
    },
    async (req) => {
      const body = req.body as { text: string; context?: string };
      const screen = await loadScreenText();
      if (!screen) {
        throw new WardError('WARD_ERR_NOT_IMPLEMENTED', 'Text screening is not available in this build of Ward');
      }
      return ok(await screen(body.text, body.context ? { context: body.context } : {}));
    },
  );
}

/** An upload's name for reports: a label, never a path Ward opens. */
export function cleanName(name: string | undefined): string {
  const n = Array.from(name ?? '')
    .filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f)
    .join('')
    .trim()
    .slice(0, 200);
  return n === '' ? 'upload' : n;
}

/**
 * One bare hash of a JSON match request as a query: with `signal`, that type parses it; without,
 * every registered type that claims it (a 64-hex value asks pdq and the 64-hex exact types).
 */
export function hashQuery(
  h: string,
  i: number,
  explicit: string | undefined,
): { value: string; signal: string; signals: string[]; query: MatchSignals } {
  const reg = activeRegistry();
  const hex = h.trim().toLowerCase();
  const types = explicit !== undefined ? [reg.requireSignalType(explicit)] : reg.candidates(hex);
  if (types.length === 0) {
    throw new WardError(
      'WARD_ERR_SIGNAL_INVALID',
      `hashes[${i}]: expected 32 (md5), 40 (sha1) or 64 (pdq) hex characters, or give "signal"`,
      { index: i },
    );
  }
  const query: Record<string, unknown> = {};
  let value: string | undefined;
  for (const type of types) {
    try {
      const v = type.parse(hex);
      query[type.name] = v;
      value ??= v;
    } catch (e) {
      // A claimed value that one type refuses only fails when no other type takes it.
      if (types.length === 1) {
        throw new WardError('WARD_ERR_SIGNAL_INVALID', `hashes[${i}]: ${(e as Error).message}`, { index: i });
      }
    }
  }
  const names = Object.keys(query);
  if (value === undefined || names.length === 0) {
    throw new WardError('WARD_ERR_SIGNAL_INVALID', `hashes[${i}]: not a valid hash`, { index: i });
  }
  return { value, signal: names[0] as string, signals: names, query: query as MatchSignals };
}

/**
 * The query of an upload's signals: every registered signal type present in them (PDQ only
 * when its quality reaches `minQuality`, with its dihedral forms).
 */
export function uploadQuery(
  signals: Record<string, unknown>,
  pdqDihedral: unknown,
  minQuality: number,
  skipped: string[],
): MatchSignals {
  const reg = activeRegistry();
  const query: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(signals)) {
    if (k === 'pdq' || k === 'quality' || v === undefined || v === null) continue;
    if (reg.signalType(k)) query[k] = v;
  }
  if (typeof signals.pdq === 'string') {
    const quality = typeof signals.quality === 'number' ? signals.quality : 100;
    if (quality < minQuality) skipped.push(`pdq: quality ${quality} < ${minQuality}`);
    else {
      query.pdq = signals.pdq;
      query.quality = quality;
      if (Array.isArray(pdqDihedral)) query.pdqDihedral = pdqDihedral as string[];
    }
  }
  return query as MatchSignals;
}

/** The JSON body of /v1/match (checked here: the route also takes uploads). */
function checkMatchBody(
  body: unknown,
  signalNames: string[],
): { hashes: string[]; signal?: string; distance?: number } {
  const bad = (why: string) => new WardError('WARD_ERR_REQUEST_INVALID', `Invalid request: body ${why}`);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('must be an object');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!['hashes', 'signal', 'distance'].includes(k))
      throw bad(`must NOT have additional property ${JSON.stringify(k.slice(0, 40))}`);
  }
  if (!Array.isArray(b.hashes)) throw bad("must have required property 'hashes' (an array of hex strings)");
  if (b.hashes.length < 1 || b.hashes.length > 1000) throw bad('hashes must hold 1 to 1000 hashes');
  if (!b.hashes.every((x) => typeof x === 'string' && x.length <= 128)) throw bad('hashes must be strings of hex');
  if (b.signal !== undefined && !signalNames.includes(b.signal as string)) {
    throw bad(`signal must be one of ${signalNames.join(', ')}`);
  }
  if (
    b.distance !== undefined &&
    (!Number.isInteger(b.distance) || (b.distance as number) < 0 || (b.distance as number) > 256)
  ) {
    throw bad('distance must be an integer 0-256');
  }
  return b as { hashes: string[]; signal?: string; distance?: number };
}

export function matchFields(r: MatchResult): Record<string, unknown> {
  return {
    matches: r.matches,
    suppressedBy: r.suppressedBy,
    ...(r.suppressed.length > 0 ? { suppressed: r.suppressed } : {}),
    ...(r.skipped.length > 0 ? { skipped: r.skipped } : {}),
  };
}

/** One upload's own item on the service's runner: the scan task path (pipeline's hashBytes). */
export function hashUpload(ctx: ServerContext, bytes: Buffer) {
  return hashBytes('upload', bytes, ctx.runner);
}

type ScreenText = (text: string, options: { context?: string }) => Promise<unknown> | unknown;
let screenTextLoaded: Promise<ScreenText | undefined> | undefined;

/** Text screening (src/text), when this build has it. */
function loadScreenText(): Promise<ScreenText | undefined> {
  screenTextLoaded ??= (async () => {
    for (const spec of ['../../text/index.js', '../../text/screen.js']) {
      try {
        const mod = (await import(spec)) as { screenText?: ScreenText };
        if (typeof mod.screenText === 'function') return mod.screenText;
      } catch {
        // not in this build
      }
    }
    return undefined;
  })();
  return screenTextLoaded;
}
