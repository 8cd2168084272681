/**
 * @module server/routes
 * Every route of the service, with its schema (validated, and published in /openapi.json) and
 * its roles: submitters hash, match, scan and screen text; analysts work the review queue and
 * read banks and the audit log; admins do everything, including banks, keys and webhooks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { verifyStoreAudit } from '../audit/log.js';
import { detectSignal } from '../banks/formats/detect.js';
import { readBankFile } from '../banks/formats/read.js';
import { writeBankFile } from '../banks/formats/write.js';
import { BANK_FILE_FORMATS, type BankFileFormat, type ParsedEntry } from '../banks/types.js';
import { WardError } from '../errors.js';
import type { MatchHit, MatchResult, MatchSignals } from '../match/matcher.js';
import { sniffContent } from '../registry.js';
import { scanBytes } from '../scan/pipeline.js';
import { SNIFF_BYTES } from '../scan/plugins.js';
import { type ItemReport, VERDICTS, type Verdict } from '../scan/types.js';
import { getSignalType } from '../signals/builtin.js';
import {
  REVIEW_STATUSES,
  type ReviewDecision,
  type ReviewItem,
  type ReviewStatus,
  ROLES,
  type Role,
  WEBHOOK_EVENTS,
  type WebhookEvent,
} from '../store/service.js';
import type { StoredEntry } from '../store/types.js';
import { VERSION } from '../version.js';
import { type ServerContext, uploadStream } from './app.js';
import { createKey } from './auth.js';
import { ok } from './http.js';
import type { Registry } from './metrics.js';
import { newWebhookSecret } from './webhooks.js';

const SUBMIT: Role[] = ['submitter'];
const READ: Role[] = ['analyst'];
const ADMIN: Role[] = ['admin'];
const ANY: Role[] = ['admin', 'analyst', 'submitter'];

const str = (maxLength: number, extra: Record<string, unknown> = {}) => ({ type: 'string', maxLength, ...extra });
const int = (minimum: number, maximum: number, extra: Record<string, unknown> = {}) => ({
  type: 'integer',
  minimum,
  maximum,
  ...extra,
});
const obj = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});
const bankParams = obj({ name: str(200, { description: 'Bank name' }) }, ['name']);
const idParams = obj({ id: int(1, Number.MAX_SAFE_INTEGER, { description: 'Review item id' }) }, ['id']);

const MATCH_HIT = obj({
  bank: { type: 'string' },
  signal: { type: 'string' },
  value: { type: 'string' },
  distance: { type: 'integer' },
  entryId: { type: 'integer' },
  labels: { type: 'array', items: { type: 'string' } },
  transform: { type: 'string' },
});
const ITEM_REPORT = {
  type: 'object',
  description: 'The item report of `ward scan` (docs/schema/scan-item.v1.json)',
  properties: {
    path: { type: 'string' },
    archivePath: { type: 'string' },
    contentType: { type: 'string' },
    format: { type: 'string' },
    size: { type: 'integer' },
    verdict: { enum: VERDICTS },
    signals: { type: 'object' },
    matches: { type: 'array', items: MATCH_HIT },
    suppressedBy: { type: 'array', items: MATCH_HIT },
    findings: { type: 'array', items: { type: 'object' } },
    reasons: { type: 'array', items: { type: 'object' } },
    score: { type: 'number' },
    media: { type: 'object' },
    error: { type: 'object' },
  },
};
const BANK = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    kind: { enum: ['block', 'negative'] },
    pdqDistance: { type: 'integer' },
    createdAt: { type: 'string' },
    version: { type: 'integer' },
    entries: { type: 'integer' },
  },
};
const REVIEW_ITEM = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    createdAt: { type: 'string' },
    status: { enum: REVIEW_STATUSES },
    verdict: { type: 'string' },
    score: { type: ['number', 'null'] },
    contentType: { type: 'string' },
    name: { type: ['string', 'null'] },
    report: ITEM_REPORT,
    evidence: obj({ available: { type: 'boolean' }, reason: { type: 'string' } }),
    decision: { type: ['object', 'null'] },
  },
};
const IMPORT_REPORT = {
  type: 'object',
  properties: Object.fromEntries(
    ['read', 'added', 'updated', 'unchanged', 'deleted', 'invalidCount'].map((k) => [k, { type: 'integer' }]),
  ),
};

const BY_LENGTH: Record<number, string> = { 32: 'md5', 40: 'sha1', 64: 'pdq' };
const PRECEDENCE: Verdict[] = ['match', 'flag', 'error', 'skipped', 'clean'];

const MEDIA_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  tiff: 'image/tiff',
  avif: 'image/avif',
  heif: 'image/heif',
};

/** An upload's name for reports: a label, never a path Ward opens. */
function cleanName(name: string | undefined): string {
  const n = Array.from(name ?? '')
    .filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f)
    .join('')
    .trim()
    .slice(0, 200);
  return n === '' ? 'upload' : n;
}

function hitSummary(m: MatchHit) {
  return { bank: m.bank, signal: m.signal, value: m.value, distance: m.distance, labels: m.labels };
}

function publicReview(item: ReviewItem, evidenceEnabled: boolean) {
  return {
    ...item,
    evidence: item.evidenceId
      ? { available: true }
      : {
          available: false,
          reason: evidenceEnabled
            ? 'No copy was kept of this item'
            : 'The evidence store is disabled: Ward keeps no copy of uploads',
        },
    evidenceId: undefined,
  };
}

/** The entries a confirmed or dismissed item adds to a bank: its PDQ (if strong enough) and digests. */
function entriesOf(report: ItemReport, labels: string[], minQuality: number, reviewId: number): ParsedEntry[] {
  const out: ParsedEntry[] = [];
  const s = report.signals;
  if (typeof s.pdq === 'string' && (typeof s.quality !== 'number' || s.quality >= minQuality)) {
    out.push({ signal: 'pdq', value: s.pdq, labels, sourceId: `review-${reviewId}`, line: 1 });
  }
  for (const signal of ['md5', 'sha1', 'sha256'] as const) {
    const v = s[signal];
    if (typeof v === 'string') out.push({ signal, value: v, labels, sourceId: `review-${reviewId}`, line: 1 });
  }
  return out;
}

async function* iter<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

function uiDir(): string {
  const beside = fileURLToPath(new URL('./ui/', import.meta.url));
  if (existsSync(`${beside}index.html`)) return beside;
  // Built into dist/ without the static files: use the sources'.
  return fileURLToPath(new URL('../../src/server/ui/', import.meta.url));
}

export function registerRoutes(ctx: ServerContext, extra: { registry: Registry; publicMetrics: boolean }): void {
  const { store, live, config, route } = ctx;
  const matcher = { match: (q: MatchSignals, o?: Parameters<typeof live.match>[1]) => live.match(q, o) };
  const matchOptions = {
    dihedral: config.match.dihedral,
    includeWeak: true,
    ...(config.match.distance !== null ? { distance: config.match.distance } : {}),
  };

  // ------------------------------------------------------------------------------------------
  // Operations

  route(
    {
      method: 'GET',
      url: '/healthz',
      summary: 'Liveness: the process answers',
      tags: ['operations'],
      roles: 'public',
      accepts: [],
      response: { 200: obj({ status: { const: 'ok' }, version: { type: 'string' } }) },
    },
    async () => ok({ status: 'ok', version: VERSION }),
  );

  route(
    {
      method: 'GET',
      url: '/readyz',
      summary: 'Readiness: the database answers and the banks are loaded',
      tags: ['operations'],
      roles: 'public',
      accepts: [],
      response: { 200: obj({ status: { const: 'ready' }, banks: { type: 'integer' } }) },
    },
    async () => {
      try {
        await Promise.race([
          store.ping(),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
        ]);
      } catch {
        throw new WardError('WARD_ERR_UNAVAILABLE', 'The database does not answer');
      }
      if (live.lastRefresh === 0) throw new WardError('WARD_ERR_UNAVAILABLE', 'The banks are still loading');
      return ok({ status: 'ready', banks: live.stats().length });
    },
  );

  route(
    {
      method: 'GET',
      url: '/metrics',
      summary: 'Prometheus metrics (text format 0.0.4)',
      tags: ['operations'],
      roles: extra.publicMetrics ? 'public' : READ,
      accepts: [],
      produces: ['text/plain'],
    },
    async (_req, reply) => {
      void reply.type('text/plain; version=0.0.4; charset=utf-8');
      return extra.registry.text();
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/me',
      summary: 'The key this request was made with',
      tags: ['keys'],
      roles: ANY,
      accepts: [],
      response: { 200: obj({ keyId: { type: 'string' }, role: { enum: ROLES }, name: { type: 'string' } }) },
    },
    async (req) => {
      const p = req.principal as NonNullable<typeof req.principal>;
      return ok({ keyId: p.keyId, role: p.role, name: p.name });
    },
  );

  // ------------------------------------------------------------------------------------------
  // Submitting content

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
        'JSON: `{"hashes": ["<hex>", …], "signal"?}`; the signal type is inferred from the length where ' +
        'unambiguous (32 md5, 40 sha1, 64 pdq); give `"signal": "sha256"` for SHA-256. Or send a file: it is ' +
        'fingerprinted and matched, in memory.',
      tags: ['submit'],
      roles: SUBMIT,
      accepts: ['json', 'upload'],
      manualBody: true,
      body: obj(
        {
          hashes: { type: 'array', minItems: 1, maxItems: 1000, items: str(128) },
          signal: { enum: ['pdq', 'md5', 'sha1', 'sha256'] },
          distance: int(0, 256, { description: 'PDQ distance for every bank (default: each bank’s own)' }),
        },
        ['hashes'],
      ),
      response: {
        200: obj({
          results: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                hash: { type: 'string' },
                signal: { type: 'string' },
                matches: { type: 'array', items: MATCH_HIT },
                suppressedBy: { type: 'array', items: MATCH_HIT },
              },
            },
          },
        }),
      },
    },
    async (req) => {
      const results: Record<string, unknown>[] = [];
      let matched: { hash?: string; signal?: string; matches: ReturnType<typeof hitSummary>[] }[] = [];
      if (!uploadStream(req)) {
        const body = checkMatchBody(req.body);
        const queries = body.hashes.map((h, i) => {
          const hex = h.trim().toLowerCase();
          const signal = body.signal ?? BY_LENGTH[hex.length];
          if (!signal) {
            throw new WardError(
              'WARD_ERR_SIGNAL_INVALID',
              `hashes[${i}]: expected 32 (md5), 40 (sha1) or 64 (pdq) hex characters, or give "signal"`,
              { index: i },
            );
          }
          try {
            return {
              signal,
              value: (getSignalType(signal) as NonNullable<ReturnType<typeof getSignalType>>).parse(hex),
            };
          } catch (e) {
            throw new WardError('WARD_ERR_SIGNAL_INVALID', `hashes[${i}]: ${(e as Error).message}`, { index: i });
          }
        });
        for (const q of queries) {
          const r = await live.match({ [q.signal]: q.value } as MatchSignals, {
            includeWeak: true,
            ...(body.distance !== undefined ? { distance: body.distance } : {}),
          });
          results.push({ hash: q.value, signal: q.signal, ...matchFields(r) });
          if (r.matches.length > 0)
            matched.push({ hash: q.value, signal: q.signal, matches: r.matches.map(hitSummary) });
        }
      } else {
        const up = await ctx.upload(req);
        const { result } = await hashUpload(ctx, up.bytes);
        const { pdqDihedral, ...signals } = result.signals;
        const query: MatchSignals = {};
        for (const k of ['md5', 'sha1', 'sha256'] as const) if (typeof signals[k] === 'string') query[k] = signals[k];
        const skipped: string[] = [];
        if (typeof signals.pdq === 'string') {
          const quality = typeof signals.quality === 'number' ? signals.quality : 100;
          if (quality < config.match.minQuality) skipped.push(`pdq: quality ${quality} < ${config.match.minQuality}`);
          else {
            query.pdq = signals.pdq;
            query.quality = quality;
            if (Array.isArray(pdqDihedral)) query.pdqDihedral = pdqDihedral as string[];
          }
        }
        const r = await live.match(query, matchOptions);
        const fields = matchFields(r);
        results.push({
          signals,
          ...fields,
          ...(skipped.length > 0 ? { skipped: [...skipped, ...((fields.skipped as string[]) ?? [])] } : {}),
          ...(result.error ? { error: result.error } : {}),
        });
        if (r.matches.length > 0) matched = [{ matches: r.matches.map(hitSummary) }];
      }
      if (matched.length > 0) {
        ctx.metrics.matches.inc({ route: 'match' }, matched.length);
        await ctx.webhooks.emit('match', { route: 'match', keyId: req.principal?.keyId, results: matched });
      }
      return ok({ results });
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
          const evidenceId =
            ctx.evidence && s.bytes
              ? await ctx.evidence.put(s.bytes, MEDIA_TYPES[r.format ?? ''] ?? 'application/octet-stream')
              : null;
          const item = await store.insertReview({
            createdAt: new Date().toISOString(),
            status: 'open',
            verdict: r.verdict,
            score: r.score ?? null,
            source: 'scan',
            submittedBy: req.principal?.keyId ?? null,
            name,
            contentType: r.contentType,
            report: r,
            evidenceId,
          });
          reviews.push({ id: item.id, path: r.path, ...(r.archivePath ? { archivePath: r.archivePath } : {}) });
          ctx.metrics.queued.inc();
          await ctx.audit(req, 'review.queue', `review:${item.id}`, {
            verdict: r.verdict,
            score: r.score ?? null,
            reasons: r.reasons.map((x) => x.rule),
            evidence: evidenceId !== null,
          });
          await ctx.webhooks.emit('flag', {
            reviewId: item.id,
            verdict: r.verdict,
            score: r.score ?? null,
            contentType: r.contentType,
            reasons: r.reasons,
            signals: r.signals,
            matches: r.matches.map(hitSummary),
          });
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
      return ok({ verdict, items, reviews });
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

  // ------------------------------------------------------------------------------------------
  // Banks

  route(
    {
      method: 'GET',
      url: '/v1/banks',
      summary: 'List banks with their entry counts',
      tags: ['banks'],
      roles: READ,
      accepts: [],
      response: { 200: obj({ banks: { type: 'array', items: BANK } }) },
    },
    async () => ok({ banks: await store.listBanks() }),
  );

  route(
    {
      method: 'POST',
      url: '/v1/banks',
      summary: 'Create a bank (block, or negative: known false positives)',
      tags: ['banks'],
      roles: ADMIN,
      accepts: ['json'],
      body: obj({ name: str(64), kind: { enum: ['block', 'negative'] }, pdqDistance: int(0, 256) }, ['name']),
      response: { 201: BANK },
    },
    async (req, reply) => {
      const body = req.body as { name: string; kind?: 'block' | 'negative'; pdqDistance?: number };
      const bank = await store.createBank(body.name, { kind: body.kind, pdqDistance: body.pdqDistance });
      await ctx.banksChanged();
      await ctx.audit(req, 'bank.create', bank.name, { kind: bank.kind, pdqDistance: bank.pdqDistance });
      void reply.status(201);
      return ok(bank);
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/banks/:name',
      summary: 'A bank and its counts by signal type and label',
      tags: ['banks'],
      roles: READ,
      accepts: [],
      params: bankParams,
      response: { 200: { type: 'object' } },
    },
    async (req) => ok(await store.stats((req.params as { name: string }).name)),
  );

  route(
    {
      method: 'DELETE',
      url: '/v1/banks/:name',
      summary: 'Delete a bank and its entries',
      tags: ['banks'],
      roles: ADMIN,
      accepts: [],
      params: bankParams,
      response: { 200: obj({ deleted: { type: 'string' } }) },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      if (!(await store.deleteBank(name))) {
        throw new WardError('WARD_ERR_BANK_NOT_FOUND', `No bank named ${JSON.stringify(name.slice(0, 80))}`);
      }
      await ctx.banksChanged();
      await ctx.audit(req, 'bank.delete', name);
      return ok({ deleted: name });
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/banks/:name/import',
      summary: 'Import a bank file (streamed; one transaction)',
      description:
        'The body is the file (csv, tsv, ndjson, lines, te-csv), read as a stream. An invalid line applies ' +
        'nothing (400 WARD_ERR_BANK_IMPORT_FAILED) unless skipInvalid; re-importing is idempotent.',
      tags: ['banks'],
      roles: ADMIN,
      accepts: ['bankfile'],
      params: bankParams,
      querystring: obj({
        format: { enum: BANK_FILE_FORMATS },
        signal: { enum: ['pdq', 'md5', 'sha1', 'sha256'] },
        replace: { type: 'boolean', default: false },
        skipInvalid: { type: 'boolean', default: false },
        source: str(200),
      }),
      response: { 200: IMPORT_REPORT },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      const q = req.query as {
        format?: BankFileFormat;
        signal?: string;
        replace?: boolean;
        skipInvalid?: boolean;
        source?: string;
      };
      if (!(await store.getBank(name))) {
        throw new WardError('WARD_ERR_BANK_NOT_FOUND', `No bank named ${JSON.stringify(name.slice(0, 80))}`);
      }
      const chunks = ctx.bodyStream(req, ctx.limits.importBytes, ctx.limits.importTotalMs);
      const entries = readBankFile(chunks, { format: q.format, signal: q.signal });
      const report = await store.importEntries(name, entries, {
        replace: q.replace === true,
        skipInvalid: q.skipInvalid === true,
        source: q.source ?? 'api',
      });
      if (!report.applied) {
        const first = report.invalid[0];
        throw new WardError(
          'WARD_ERR_BANK_IMPORT_FAILED',
          `${report.invalidCount} invalid line(s), nothing imported${first ? ` (line ${first.line}: ${first.message.slice(0, 200)})` : ''}; use skipInvalid=true to import the valid lines`,
          { invalidCount: report.invalidCount, ...(first ? { line: first.line } : {}) },
        );
      }
      await ctx.banksChanged();
      const { invalid, ...counts } = report;
      await ctx.audit(req, 'bank.import', name, {
        added: counts.added,
        updated: counts.updated,
        deleted: counts.deleted,
        invalid: counts.invalidCount,
        replace: q.replace === true,
      });
      return ok({ ...counts, invalid: invalid.slice(0, 20) });
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/banks/:name/export',
      summary: 'Export a bank as a file (streamed)',
      tags: ['banks'],
      roles: READ,
      accepts: [],
      params: bankParams,
      querystring: obj({ format: { enum: BANK_FILE_FORMATS, default: 'ndjson' } }),
      produces: ['application/x-ndjson', 'text/csv', 'text/tab-separated-values', 'text/plain'],
    },
    async (req, reply) => {
      const { name } = req.params as { name: string };
      const format = ((req.query as { format?: BankFileFormat }).format ?? 'ndjson') as BankFileFormat;
      await store.stats(name); // 404 before anything is sent
      const out = new PassThrough();
      const type: Record<BankFileFormat, string> = {
        ndjson: 'application/x-ndjson',
        csv: 'text/csv',
        'te-csv': 'text/csv',
        tsv: 'text/tab-separated-values',
        lines: 'text/plain',
      };
      writeBankFile(pagedEntries(ctx, name), format, out).then(
        () => out.end(),
        (e) => out.destroy(e as Error),
      );
      void reply
        .type(`${type[format]}; charset=utf-8`)
        .header(
          'content-disposition',
          `attachment; filename="${name}.${format === 'ndjson' ? 'ndjson' : format === 'lines' ? 'txt' : format === 'tsv' ? 'tsv' : 'csv'}"`,
        );
      return reply.send(out);
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/banks/:name/entries',
      summary: 'Entries of a bank, in id order (page with `after`)',
      tags: ['banks'],
      roles: READ,
      accepts: [],
      params: bankParams,
      querystring: obj({
        after: int(0, Number.MAX_SAFE_INTEGER),
        limit: int(1, 1000, { default: 100 }),
        signal: { enum: ['pdq', 'md5', 'sha1', 'sha256'] },
      }),
      response: {
        200: obj({ entries: { type: 'array', items: { type: 'object' } }, next: { type: ['integer', 'null'] } }),
      },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      const q = req.query as { after?: number; limit?: number; signal?: string };
      const limit = q.limit ?? 100;
      const entries = await store.listEntries(name, { afterId: q.after ?? 0, limit, signal: q.signal });
      return ok({ entries, next: entries.length === limit ? (entries[entries.length - 1] as StoredEntry).id : null });
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/banks/:name/entries',
      summary: 'Add entries to a bank (one transaction)',
      tags: ['banks'],
      roles: ADMIN,
      accepts: ['json'],
      params: bankParams,
      body: obj(
        {
          entries: {
            type: 'array',
            minItems: 1,
            maxItems: 10_000,
            items: obj(
              {
                value: str(256),
                signal: { enum: ['pdq', 'md5', 'sha1', 'sha256'] },
                labels: { type: 'array', maxItems: 32, items: str(128, { minLength: 1 }) },
                id: str(256),
              },
              ['value'],
            ),
          },
        },
        ['entries'],
      ),
      response: { 200: IMPORT_REPORT },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      const body = req.body as { entries: { value: string; signal?: string; labels?: string[]; id?: string }[] };
      const parsed: ParsedEntry[] = body.entries.map((e, i) => {
        try {
          const { signal, value } = detectSignal(e.value, e.signal);
          return {
            signal,
            value,
            labels: [...new Set(e.labels ?? [])].sort(),
            ...(e.id !== undefined ? { sourceId: e.id } : {}),
            line: i + 1,
          };
        } catch (err) {
          throw new WardError('WARD_ERR_SIGNAL_INVALID', `entries[${i}]: ${(err as Error).message}`, { index: i });
        }
      });
      const report = await store.importEntries(name, iter(parsed), { source: 'api' });
      await ctx.banksChanged();
      await ctx.audit(req, 'bank.entries.add', name, { added: report.added, updated: report.updated });
      const { invalid: _i, ...counts } = report;
      return ok(counts);
    },
  );

  route(
    {
      method: 'DELETE',
      url: '/v1/banks/:name/entries/:id',
      summary: 'Remove one entry from a bank',
      tags: ['banks'],
      roles: ADMIN,
      accepts: [],
      params: obj({ name: str(200), id: int(1, Number.MAX_SAFE_INTEGER) }, ['name', 'id']),
      response: { 200: obj({ deleted: { type: 'integer' } }) },
    },
    async (req) => {
      const { name, id } = req.params as { name: string; id: number };
      const n = await store.deleteEntries(name, [id]);
      if (n === 0) throw new WardError('WARD_ERR_NOT_FOUND', `Bank ${name.slice(0, 80)} has no entry ${id}`);
      await ctx.banksChanged();
      await ctx.audit(req, 'bank.entries.delete', name, { entryId: id });
      return ok({ deleted: id });
    },
  );

  // ------------------------------------------------------------------------------------------
  // Review queue

  route(
    {
      method: 'GET',
      url: '/v1/reviews',
      summary: 'The review queue (open and escalated items by default), oldest first',
      tags: ['reviews'],
      roles: READ,
      accepts: [],
      querystring: obj({
        status: { enum: [...REVIEW_STATUSES, 'queue', 'all'], default: 'queue' },
        after: int(0, Number.MAX_SAFE_INTEGER),
        limit: int(1, 200, { default: 50 }),
      }),
      response: {
        200: obj({
          items: { type: 'array', items: REVIEW_ITEM },
          next: { type: ['integer', 'null'] },
          total: { type: 'integer' },
        }),
      },
    },
    async (req) => {
      const q = req.query as { status?: string; after?: number; limit?: number };
      const status = q.status ?? 'queue';
      const statuses: ReviewStatus[] =
        status === 'queue' ? ['open', 'escalated'] : status === 'all' ? [...REVIEW_STATUSES] : [status as ReviewStatus];
      const limit = q.limit ?? 50;
      const items = await store.listReviews({ statuses, afterId: q.after ?? 0, limit });
      return ok({
        items: items.map((i) => publicReview(i, ctx.evidence !== undefined)),
        next: items.length === limit ? (items[items.length - 1] as ReviewItem).id : null,
        total: await store.countReviews(statuses),
      });
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/reviews/:id',
      summary: 'One review item with every finding',
      tags: ['reviews'],
      roles: READ,
      accepts: [],
      params: idParams,
      response: { 200: REVIEW_ITEM },
    },
    async (req) => {
      const item = await getReview(ctx, (req.params as { id: number }).id);
      return ok(publicReview(item, ctx.evidence !== undefined));
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/reviews/:id/evidence',
      summary: 'The kept copy of a review item (decrypted; evidence store only)',
      description: 'Every view is written to the audit log.',
      tags: ['reviews'],
      roles: READ,
      accepts: [],
      params: idParams,
      produces: ['image/*', 'application/octet-stream'],
    },
    async (req, reply) => {
      const item = await getReview(ctx, (req.params as { id: number }).id);
      if (!ctx.evidence) {
        throw new WardError('WARD_ERR_NOT_FOUND', 'The evidence store is disabled: Ward keeps no copy of uploads');
      }
      const found = item.evidenceId ? await ctx.evidence.get(item.evidenceId) : undefined;
      if (!found) throw new WardError('WARD_ERR_NOT_FOUND', 'No copy of this item is kept (never kept, or purged)');
      await ctx.audit(req, 'evidence.view', `review:${item.id}`, { size: found.bytes.length });
      void reply
        .type(found.mediaType ?? 'application/octet-stream')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('content-disposition', 'inline')
        .header('referrer-policy', 'no-referrer');
      return reply.send(found.bytes);
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/reviews/:id/decision',
      summary: 'Decide a review item: confirm, dismiss or escalate',
      description:
        'confirm: adds the item’s signals (PDQ when strong enough, MD5, SHA-1, SHA-256) to `bank` (a block ' +
        'bank). dismiss: optionally adds them to `bank`, a negative bank (known false positives). escalate: ' +
        'keeps it in the queue, marked for a second look. Written to the audit log.',
      tags: ['reviews'],
      roles: READ,
      accepts: ['json'],
      params: idParams,
      body: obj(
        {
          action: { enum: ['confirm', 'dismiss', 'escalate'] },
          bank: str(64),
          labels: { type: 'array', maxItems: 32, items: str(128, { minLength: 1 }) },
          note: str(2000),
        },
        ['action'],
      ),
      response: { 200: REVIEW_ITEM },
    },
    async (req) => {
      const id = (req.params as { id: number }).id;
      const body = req.body as { action: ReviewDecision['action']; bank?: string; labels?: string[]; note?: string };
      const item = await getReview(ctx, id);
      const from: ReviewStatus[] = body.action === 'escalate' ? ['open'] : ['open', 'escalated'];
      if (!from.includes(item.status)) {
        throw new WardError('WARD_ERR_CONFLICT', `Review item ${id} is already ${item.status}`);
      }
      const decision: ReviewDecision = {
        action: body.action,
        ...(body.note ? { note: body.note } : {}),
      };
      if (body.action === 'confirm' && !body.bank) {
        throw new WardError('WARD_ERR_REQUEST_INVALID', 'confirm needs "bank": the block bank to add the item to');
      }
      if (body.action === 'escalate' && body.bank) {
        throw new WardError('WARD_ERR_REQUEST_INVALID', 'escalate takes no bank');
      }
      if (body.bank) {
        const bank = await store.getBank(body.bank);
        if (!bank) throw new WardError('WARD_ERR_BANK_NOT_FOUND', `No bank named ${JSON.stringify(body.bank)}`);
        const want = body.action === 'confirm' ? 'block' : 'negative';
        if (bank.kind !== want) {
          throw new WardError(
            'WARD_ERR_CONFLICT',
            `${body.action} adds to a ${want} bank; ${bank.name} is ${bank.kind}`,
          );
        }
        const labels = [...new Set(body.labels ?? [])].sort();
        const entries = entriesOf(item.report, labels, config.match.minQuality, id);
        if (entries.length > 0) {
          await store.importEntries(bank.name, iter(entries), { source: 'review' });
          await ctx.banksChanged();
        }
        decision.bank = bank.name;
        decision.added = entries.map((e) => e.signal);
        if (labels.length > 0) decision.labels = labels;
      }
      const status: ReviewStatus =
        body.action === 'confirm' ? 'confirmed' : body.action === 'dismiss' ? 'dismissed' : 'escalated';
      const by = `key:${req.principal?.keyId}`;
      if (!(await store.decideReview(id, status, decision, by, new Date().toISOString(), from))) {
        throw new WardError('WARD_ERR_CONFLICT', `Review item ${id} was decided by someone else meanwhile`);
      }
      ctx.metrics.decisions.inc({ action: body.action });
      await ctx.audit(req, 'review.decision', `review:${id}`, { ...decision });
      await ctx.webhooks.emit('decision', {
        reviewId: id,
        action: body.action,
        status,
        ...(decision.bank ? { bank: decision.bank, added: decision.added } : {}),
        signals: item.report.signals,
        by,
      });
      return ok(publicReview(await getReview(ctx, id), ctx.evidence !== undefined));
    },
  );

  // ------------------------------------------------------------------------------------------
  // Audit log

  route(
    {
      method: 'GET',
      url: '/v1/audit',
      summary: 'Audit records, oldest first (order=desc: newest first; page with after/before)',
      tags: ['audit'],
      roles: READ,
      accepts: [],
      querystring: obj({
        after: int(0, Number.MAX_SAFE_INTEGER),
        before: int(1, Number.MAX_SAFE_INTEGER),
        limit: int(1, 1000, { default: 100 }),
        action: str(100),
        order: { enum: ['asc', 'desc'], description: 'desc: newest first' },
      }),
      response: { 200: obj({ records: { type: 'array', items: { type: 'object' } } }) },
    },
    async (req) => {
      const q = req.query as { after?: number; before?: number; limit?: number; action?: string; order?: string };
      return ok({
        records: await store.listAudit({
          ...(q.after !== undefined ? { afterSeq: q.after } : {}),
          ...(q.before !== undefined ? { beforeSeq: q.before } : {}),
          limit: q.limit ?? 100,
          ...(q.action !== undefined ? { action: q.action } : {}),
          ...(q.order === 'desc' ? { newestFirst: true } : {}),
        }),
      });
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/audit/verify',
      summary: 'Verify the audit log’s hash chain',
      description: 'With `head` (a hash noted earlier), also detects records cut off the end.',
      tags: ['audit'],
      roles: READ,
      accepts: [],
      querystring: obj({ head: str(64, { pattern: '^[0-9a-f]{64}$' }) }),
      response: {
        200: obj({
          verified: { type: 'boolean' },
          records: { type: 'integer' },
          head: { type: 'object' },
          broken: { type: 'object' },
        }),
      },
    },
    async (req) => {
      const r = await verifyStoreAudit(store, (req.query as { head?: string }).head);
      const { ok: verified, ...rest } = r;
      return ok({ verified, ...rest });
    },
  );

  // ------------------------------------------------------------------------------------------
  // API keys and webhooks (admin)

  route(
    {
      method: 'GET',
      url: '/v1/keys',
      summary: 'API keys (ids, roles, names; never the keys)',
      tags: ['keys'],
      roles: ADMIN,
      accepts: [],
      response: { 200: obj({ keys: { type: 'array', items: { type: 'object' } } }) },
    },
    async () => ok({ keys: (await store.listKeys()).map(({ hash: _h, ...k }) => k) }),
  );

  route(
    {
      method: 'POST',
      url: '/v1/keys',
      summary: 'Create an API key; the key is in this response only',
      tags: ['keys'],
      roles: ADMIN,
      accepts: ['json'],
      body: obj(
        { role: { enum: ROLES }, name: str(200), rateLimit: { type: 'number', minimum: 0 }, burst: int(1, 1_000_000) },
        ['role'],
      ),
      response: { 201: obj({ key: { type: 'string' }, id: { type: 'string' }, role: { enum: ROLES } }) },
    },
    async (req, reply) => {
      const body = req.body as { role: Role; name?: string; rateLimit?: number; burst?: number };
      const made = await createKey(store, body.role, body.name ?? '', { rate: body.rateLimit, burst: body.burst });
      await ctx.audit(req, 'key.create', `key:${made.record.id}`, { role: made.record.role, name: made.record.name });
      void reply.status(201);
      return ok({ key: made.key, id: made.record.id, role: made.record.role, name: made.record.name });
    },
  );

  route(
    {
      method: 'DELETE',
      url: '/v1/keys/:id',
      summary: 'Revoke an API key',
      tags: ['keys'],
      roles: ADMIN,
      accepts: [],
      params: obj({ id: str(32) }, ['id']),
      response: { 200: obj({ revoked: { type: 'string' } }) },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      if (!(await store.revokeKey(id, new Date().toISOString()))) {
        throw new WardError('WARD_ERR_NOT_FOUND', 'No active key with that id');
      }
      ctx.keys.forget(id);
      ctx.onChange?.({ type: 'key-revoked', id });
      await ctx.audit(req, 'key.revoke', `key:${id}`);
      return ok({ revoked: id });
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/webhooks',
      summary: 'Webhooks (without their secrets)',
      tags: ['webhooks'],
      roles: ADMIN,
      accepts: [],
      response: { 200: obj({ webhooks: { type: 'array', items: { type: 'object' } } }) },
    },
    async () => ok({ webhooks: (await store.listWebhooks()).map(({ secret: _s, ...h }) => h) }),
  );

  route(
    {
      method: 'POST',
      url: '/v1/webhooks',
      summary: 'Add a webhook; its signing secret is in this response only',
      tags: ['webhooks'],
      roles: ADMIN,
      accepts: ['json'],
      body: obj(
        {
          url: str(2000, { pattern: '^https?://' }),
          events: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: WEBHOOK_EVENTS } },
        },
        ['url', 'events'],
      ),
      response: {
        201: obj({
          id: { type: 'integer' },
          url: { type: 'string' },
          events: { type: 'array' },
          secret: { type: 'string' },
        }),
      },
    },
    async (req, reply) => {
      const body = req.body as { url: string; events: WebhookEvent[] };
      try {
        new URL(body.url);
      } catch {
        throw new WardError('WARD_ERR_REQUEST_INVALID', 'url is not a valid URL');
      }
      const hook = await store.insertWebhook({
        url: body.url,
        events: body.events,
        secret: newWebhookSecret(),
        createdAt: new Date().toISOString(),
        active: true,
      });
      ctx.webhooks.invalidate();
      await ctx.audit(req, 'webhook.create', `webhook:${hook.id}`, { url: hook.url, events: hook.events });
      void reply.status(201);
      return ok(hook);
    },
  );

  route(
    {
      method: 'DELETE',
      url: '/v1/webhooks/:id',
      summary: 'Remove a webhook (its pending deliveries fail)',
      tags: ['webhooks'],
      roles: ADMIN,
      accepts: [],
      params: obj({ id: int(1, Number.MAX_SAFE_INTEGER) }, ['id']),
      response: { 200: obj({ deleted: { type: 'integer' } }) },
    },
    async (req) => {
      const { id } = req.params as { id: number };
      if (!(await store.deleteWebhook(id))) throw new WardError('WARD_ERR_NOT_FOUND', `No webhook ${id}`);
      ctx.webhooks.invalidate();
      await ctx.audit(req, 'webhook.delete', `webhook:${id}`);
      return ok({ deleted: id });
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/webhooks/deliveries',
      summary: 'The webhook delivery log, newest first',
      tags: ['webhooks'],
      roles: ADMIN,
      accepts: [],
      querystring: obj({
        webhook: int(1, Number.MAX_SAFE_INTEGER),
        status: { enum: ['pending', 'delivered', 'failed'] },
        limit: int(1, 1000, { default: 100 }),
      }),
      response: { 200: obj({ deliveries: { type: 'array', items: { type: 'object' } } }) },
    },
    async (req) => {
      const q = req.query as { webhook?: number; status?: 'pending' | 'delivered' | 'failed'; limit?: number };
      return ok({
        deliveries: await store.listDeliveries({
          ...(q.webhook !== undefined ? { webhookId: q.webhook } : {}),
          ...(q.status !== undefined ? { status: q.status } : {}),
          limit: q.limit ?? 100,
        }),
      });
    },
  );

  // ------------------------------------------------------------------------------------------
  // The review UI (static files; it signs in with a key and uses the API above)

  const dir = uiDir();
  const files: Record<string, string> = {
    'index.html': 'text/html; charset=utf-8',
    'app.js': 'text/javascript; charset=utf-8',
    'app.css': 'text/css; charset=utf-8',
  };
  const cache = new Map<string, Buffer>();
  const serve = (file: string, reply: FastifyReply) => {
    let body = cache.get(file);
    if (!body) {
      body = readFileSync(`${dir}${file}`);
      cache.set(file, body);
    }
    void reply
      .type(files[file] as string)
      .header(
        'content-security-policy',
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
      )
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY');
    return reply.send(body);
  };
  ctx.route(
    {
      method: 'GET',
      url: '/ui',
      summary: 'The review UI',
      tags: ['ui'],
      roles: 'public',
      accepts: [],
      produces: ['text/html'],
    },
    async (_req, reply) => reply.redirect('/ui/'),
  );
  ctx.route(
    {
      method: 'GET',
      url: '/ui/',
      summary: 'The review UI',
      tags: ['ui'],
      roles: 'public',
      accepts: [],
      produces: ['text/html'],
    },
    async (_req, reply) => serve('index.html', reply),
  );
  ctx.route(
    {
      method: 'GET',
      url: '/ui/:file',
      summary: 'The review UI’s script and style',
      tags: ['ui'],
      roles: 'public',
      accepts: [],
      params: obj({ file: { enum: ['app.js', 'app.css', 'index.html'] } }, ['file']),
      produces: ['text/javascript', 'text/css'],
    },
    async (req: FastifyRequest, reply) => serve((req.params as { file: string }).file, reply),
  );
}

/** The JSON body of /v1/match (checked here: the route also takes uploads). */
function checkMatchBody(body: unknown): { hashes: string[]; signal?: string; distance?: number } {
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
  if (b.signal !== undefined && !['pdq', 'md5', 'sha1', 'sha256'].includes(b.signal as string)) {
    throw bad('signal must be one of pdq, md5, sha1, sha256');
  }
  if (
    b.distance !== undefined &&
    (!Number.isInteger(b.distance) || (b.distance as number) < 0 || (b.distance as number) > 256)
  ) {
    throw bad('distance must be an integer 0-256');
  }
  return b as { hashes: string[]; signal?: string; distance?: number };
}

function matchFields(r: MatchResult): Record<string, unknown> {
  return {
    matches: r.matches,
    suppressedBy: r.suppressedBy,
    ...(r.suppressed.length > 0 ? { suppressed: r.suppressed } : {}),
    ...(r.skipped.length > 0 ? { skipped: r.skipped } : {}),
  };
}

async function hashUpload(ctx: ServerContext, bytes: Buffer) {
  const sniffed = bytes.length === 0 ? { contentType: 'other' as const } : sniffContent(bytes.subarray(0, SNIFF_BYTES));
  const format = 'format' in sniffed ? sniffed.format : undefined;
  const result = await ctx.runner.run({
    name: 'upload',
    contentType: sniffed.contentType,
    format,
    size: bytes.length,
    bytes,
  });
  return { result, contentType: sniffed.contentType, format };
}

async function getReview(ctx: ServerContext, id: number): Promise<ReviewItem> {
  const item = await ctx.store.getReview(id);
  if (!item) throw new WardError('WARD_ERR_NOT_FOUND', `No review item ${id}`);
  return item;
}

async function* pagedEntries(ctx: ServerContext, name: string): AsyncGenerator<StoredEntry> {
  let after = 0;
  for (;;) {
    const page = await ctx.store.listEntries(name, { afterId: after, limit: 10_000 });
    yield* page;
    if (page.length < 10_000) return;
    after = (page[page.length - 1] as StoredEntry).id;
  }
}

type ScreenText = (text: string, options: { context?: string }) => Promise<unknown> | unknown;
let screenTextLoaded: Promise<ScreenText | undefined> | undefined;

/** Text screening (src/text), when this build has it. */
function loadScreenText(): Promise<ScreenText | undefined> {
  screenTextLoaded ??= (async () => {
    for (const spec of ['../text/index.js', '../text/screen.js']) {
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
