/**
 * @module exchanges/ncmec
 * The NCMEC hash-sharing API v2 connector (`--type ncmec`). Wire shapes: ../shared/specs/
 * ncmec-hashsharing.md. It walks time windows (`from` exclusive, `to` inclusive) from the
 * checkpoint to now; entries within a window are not in time order, so a window is checkpointed
 * as done only when it has been paged to the end. Inside a window each page is committed with
 * the `next` link that follows it, which is resumed only with its own window and for 12 hours.
 * Entries are keyed `member/id`; the later timestamp of a key wins (the store's heads), a
 * deleted* record is a tombstone. MD5, SHA1 and PDQ map to Ward's signals; every other
 * fingerprint is kept as an opaque `ncmec-<type>` signal (PhotoDNA: `ncmec-pdna`) so nothing is
 * lost; fingerprints given only as links (TMK_PDQF, VIDENTIFIER) carry no value and are skipped.
 */
import { WardError } from '../errors.js';
import type { Registry } from '../registry.js';
import type { ExchangeConnector, ExchangeEntry, ExchangePage, ExchangeSignal, FetchContext } from './types.js';
import { child, childText, parseXml, type XmlElement } from './xml.js';

/** Base URLs per environment (the API's paths, /v2/..., follow). */
export const NCMEC_ENVIRONMENTS: Readonly<Record<string, string>> = {
  industry: 'https://report.cybertip.org/hashsharing',
  'industry-exploitative': 'https://report.cybertip.org/exploitative-hashsharing',
  'law-enforcement': 'https://lesp.ncmec.org/csam-hashsharing',
  ngo: 'https://hashsharing.ncmec.org/npo',
  exploitative: 'https://hashsharing.ncmec.org/exploitative',
  'ngo-generative-ai': 'https://hashsharing.ncmec.org/generative-ai-csam',
  'ngo-generative-ai-exploitative': 'https://hashsharing.ncmec.org/generative-ai-exploitative',
  'industry-test': 'https://exttest.cybertip.org/hashsharing',
  'law-enforcement-test': 'https://betalesp.ncmec.org/csam-hashsharing',
  'ngo-test': 'https://hashsharing-test.ncmec.org/npo',
};

/** A stored `next` link older than this is not trusted (pytx does the same). */
export const NEXT_LINK_TTL_MS = 12 * 3600 * 1000;

/** Fingerprint element names mapped to Ward signal types; the rest become `ncmec-<name>`. */
const WARD_SIGNALS: Record<string, string> = { md5: 'md5', sha1: 'sha1', pdq: 'pdq' };

export interface NcmecCheckpoint {
  /** Everything up to and including this time (ISO) has been fetched. */
  from: string;
  /** Inside the window (from, to]: the next page, issued at `issuedAt`. */
  next?: { url: string; to: string; issuedAt: string };
}

function failed(message: string, details: Record<string, unknown> = {}): WardError {
  return new WardError('WARD_ERR_EXCHANGE_FAILED', message, details);
}

/** The API's time format: second precision, UTC. */
export function ncmecTime(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

function isoOf(text: string | undefined, what: string): string {
  const d = text === undefined ? Number.NaN : Date.parse(text);
  if (!Number.isFinite(d)) throw failed(`The exchange sent an entry without a valid ${what}`);
  return new Date(d).toISOString();
}

/** The fingerprints of one entry: Ward signals where the value parses, opaque ones otherwise. */
function fingerprints(el: XmlElement | undefined, registry: Registry | undefined): ExchangeSignal[] {
  const out: ExchangeSignal[] = [];
  if (!el) return out;
  for (const f of el.children) {
    const value = f.text.trim();
    if (value === '') continue; // link-only (href): no value to store
    const tag = f.name.toLowerCase();
    const ward = WARD_SIGNALS[tag];
    const type = ward ? registry?.signalType(ward) : undefined;
    if (type) {
      try {
        out.push({ signal: type.name, value: type.parse(value) });
        continue;
      } catch {
        // Not a valid md5/sha1/pdq: kept opaque below, so nothing is lost.
      }
    }
    out.push({ signal: `ncmec-${tag.replace(/[^a-z0-9_-]/g, '_').slice(0, 40)}`, value: value.slice(0, 64 * 1024) });
  }
  return out;
}

/** The entries of one queryResult page, and its next link (unescaped, relative). */
export function parseEntriesPage(xml: string, registry?: Registry): { entries: ExchangeEntry[]; next?: string } {
  const root = parseXml(xml);
  if (root.name !== 'queryResult') throw failed(`The exchange sent <${root.name.slice(0, 40)}>, not <queryResult>`);
  const entries: ExchangeEntry[] = [];
  for (const group of root.children) {
    if (group.name !== 'images' && group.name !== 'videos') continue;
    const media = group.name === 'images' ? 'image' : 'video';
    for (const e of group.children) {
      const deleted = e.name === 'deletedImage' || e.name === 'deletedVideo';
      if (!deleted && e.name !== 'image' && e.name !== 'video') continue;
      const member = child(e, 'member');
      const memberId = member?.attrs.id?.trim();
      const id = childText(e, 'id');
      if (!memberId || !id) throw failed('The exchange sent an entry without a member id or an id');
      const entryId = `${memberId}/${id}`;
      const when = isoOf(childText(e, 'timestamp'), 'timestamp');
      if (deleted) {
        entries.push({ entryId, deleted: when });
        continue;
      }
      const labels = [`ncmec:${media}`, `ncmec-member:${memberId}`];
      const classification = childText(e, 'classification');
      if (classification) labels.push(`ncmec-class:${classification.slice(0, 32)}`);
      entries.push({ entryId, signals: fingerprints(child(e, 'fingerprints'), registry), labels, updated: when });
    }
  }
  const nextText = childText(child(root, 'paging') ?? root, 'next');
  return nextText ? { entries, next: nextText } : { entries };
}

function parseCheckpoint(raw: unknown): NcmecCheckpoint | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const c = raw as Partial<NcmecCheckpoint>;
  if (typeof c.from !== 'string' || !Number.isFinite(Date.parse(c.from))) return undefined;
  const next = c.next;
  if (
    next &&
    typeof next.url === 'string' &&
    typeof next.to === 'string' &&
    typeof next.issuedAt === 'string' &&
    Number.isFinite(Date.parse(next.to)) &&
    Number.isFinite(Date.parse(next.issuedAt))
  ) {
    return { from: c.from, next };
  }
  return { from: c.from };
}

/** True when a next link belongs to the window (from, to]: its own from/to parameters say so. */
export function nextBelongs(url: string, from: string, to: string): boolean {
  let u: URL;
  try {
    u = new URL(url, 'http://x/');
  } catch {
    return false;
  }
  const f = Date.parse(u.searchParams.get('from') ?? '');
  const t = Date.parse(u.searchParams.get('to') ?? '');
  return f === Date.parse(from) && t === Date.parse(to);
}

function baseUrl(config: Record<string, string>): string {
  return (config.endpoint ?? NCMEC_ENVIRONMENTS[config.environment ?? 'industry'] ?? '').replace(/\/+$/, '');
}

async function getPage(ctx: FetchContext, url: string): Promise<{ entries: ExchangeEntry[]; next?: string }> {
  const creds = ctx.credentials as { username?: string; password?: string };
  const auth = Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64');
  const res = await ctx.fetch(url, {
    headers: { authorization: `Basic ${auth}`, accept: 'application/xml' },
    timeoutMs: Number(ctx.config.timeoutMs ?? 60_000),
    maxResponseBytes: 256 * 1024 * 1024,
  });
  if (res.status !== 200) throw failed(`The exchange answered HTTP ${res.status}`, { status: res.status });
  if (res.truncated) throw failed('The exchange sent a page larger than 256 MiB');
  return parseEntriesPage(res.body.toString('utf8'), ctx.registry);
}

async function* fetchNcmec(ctx: FetchContext): AsyncGenerator<ExchangePage> {
  const base = baseUrl(ctx.config);
  const windowMs = Number(ctx.config.windowSeconds ?? 86_400) * 1000;
  const now = ctx.now();
  const end = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const checkpoint = parseCheckpoint(ctx.checkpoint);
  let from =
    checkpoint?.from ??
    new Date(Math.floor(Date.parse(ctx.config.start ?? '2000-01-01T00:00:00Z') / 1000) * 1000).toISOString();
  let resume = checkpoint?.next;
  if (Date.parse(from) >= end.getTime()) {
    yield { entries: [], upToDate: true };
    return;
  }
  while (Date.parse(from) < end.getTime()) {
    let to = new Date(Math.min(Date.parse(from) + windowMs, end.getTime())).toISOString();
    let url: string;
    if (
      resume &&
      now.getTime() - Date.parse(resume.issuedAt) < NEXT_LINK_TTL_MS &&
      Date.parse(resume.to) > Date.parse(from) &&
      nextBelongs(resume.url, from, resume.to)
    ) {
      // The window the link was issued for, not a new one.
      to = resume.to;
      url = `${base}${resume.url.startsWith('/') ? '' : '/'}${resume.url}`;
    } else {
      const q = new URLSearchParams({ from: ncmecTime(new Date(from)), to: ncmecTime(new Date(to)) });
      url = `${base}/v2/entries?${q}`;
    }
    resume = undefined;
    for (;;) {
      const page = await getPage(ctx, url);
      if (page.next !== undefined) {
        if (!nextBelongs(page.next, from, to)) {
          throw failed('The exchange sent a next link for another time window');
        }
        yield {
          entries: page.entries,
          checkpoint: { from, next: { url: page.next, to, issuedAt: ctx.now().toISOString() } },
        };
        url = `${base}${page.next.startsWith('/') ? '' : '/'}${page.next}`;
        continue;
      }
      const done = Date.parse(to) >= end.getTime();
      yield { entries: page.entries, checkpoint: { from: to }, upToDate: done };
      break;
    }
    from = to;
  }
}

export const ncmecConnector: ExchangeConnector = {
  name: 'ncmec',
  kind: 'fetch',
  description: 'NCMEC hash-sharing API v2 (industry, NGO, law-enforcement, exploitative and generative-AI lists)',
  settings: {
    environment: `One of ${Object.keys(NCMEC_ENVIRONMENTS).join(', ')} (default industry); --endpoint overrides it`,
    start: 'Fetch entries changed after this time on a first sync (ISO-8601; default 2000-01-01)',
    windowSeconds: 'Length of one from/to window (default 86400)',
    timeoutMs: 'Per-request timeout (default 60000)',
  },
  credentialFields: ['username', 'password'],
  configure(settings) {
    const out: Record<string, string> = { ...settings };
    const env = out.environment ?? 'industry';
    if (!(env in NCMEC_ENVIRONMENTS)) {
      throw new WardError('WARD_ERR_CONFIG_INVALID', `Unknown NCMEC environment ${JSON.stringify(env.slice(0, 40))}`, {
        expected: Object.keys(NCMEC_ENVIRONMENTS).join(', '),
      });
    }
    out.environment = env;
    if (out.start !== undefined && !Number.isFinite(Date.parse(out.start))) {
      throw new WardError('WARD_ERR_CONFIG_INVALID', 'start must be an ISO-8601 time');
    }
    for (const k of ['windowSeconds', 'timeoutMs']) {
      if (out[k] !== undefined && !(Number.isInteger(Number(out[k])) && Number(out[k]) > 0)) {
        throw new WardError('WARD_ERR_CONFIG_INVALID', `${k} must be a positive integer`);
      }
    }
    for (const k of Object.keys(out)) {
      if (!['environment', 'start', 'windowSeconds', 'timeoutMs', 'endpoint'].includes(k)) {
        throw new WardError('WARD_ERR_CONFIG_INVALID', `Unknown ncmec setting ${JSON.stringify(k.slice(0, 40))}`);
      }
    }
    return out;
  },
  fetch: fetchNcmec,
};
