/**
 * @module signals/url
 * URLs as a signal type (`url-sha256`): the SHA-256 of a URL normalised as below, so a URL list
 * (a hotline's list of known abuse URLs, a dataset's URL column, links in a forum post) matches
 * however the same address is written. Lists match only when both sides normalise the same way:
 * this is the normalisation, and docs/signals.md states it for list providers.
 *
 * 1. Trim; a value without a scheme is read as `http://…` (`//host/…` too).
 * 2. Parse as a WHATWG URL (what browsers do): the host is lower-cased and IDNA-encoded
 *    (punycode), `.` and `..` path segments resolved, unsafe characters percent-encoded.
 * 3. Only http and https; the scheme is then dropped (the same content either way); user and
 *    password are dropped; the port is kept only when it is not the scheme's default.
 * 4. A trailing dot of the host is dropped; `www.` is kept (it is a different host).
 * 5. Percent-escapes of unreserved characters (A–Z a–z 0–9 - . _ ~) are decoded, the others
 *    upper-cased; an empty path is `/`; an empty query (`?` alone) and the fragment are dropped.
 *    The query is otherwise kept as written (parameter order matters to servers).
 *
 * The value hashed is `host[:port]/path[?query]`, UTF-8; the signal value is its 64-hex SHA-256.
 * Ward never fetches a URL: it only normalises and hashes the text.
 */
import { createHash } from 'node:crypto';
import { WardError } from '../errors.js';
import { exactIndexKind } from '../match/exact-index.js';
import type { QueryPlan, SignalQuery, SignalType } from './types.js';

const MAX_URL = 8192;
const HEX64 = /^[0-9a-f]{64}$/;
const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

function normalisePercent(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => {
    const c = String.fromCharCode(Number.parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${hex.toUpperCase()}`;
  });
}

/** The normalised form of a URL (see the module comment), or undefined when it is not an http(s) URL. */
export function normalizeUrl(input: string): string | undefined {
  if (typeof input !== 'string') return undefined;
  let s = input.trim();
  if (s === '' || s.length > MAX_URL) return undefined;
  if (s.startsWith('//')) s = `http:${s}`;
  else if (!/^[a-z][a-z0-9+.-]*:/i.test(s)) s = `http://${s}`;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  let host = url.hostname;
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '') return undefined;
  const port = url.port !== '' && url.port !== DEFAULT_PORT[url.protocol] ? `:${url.port}` : '';
  const path = normalisePercent(url.pathname === '' ? '/' : url.pathname);
  const query = url.search.length > 1 ? normalisePercent(url.search) : '';
  return `${host}${port}${path}${query}`;
}

/** The `url-sha256` value of a URL (undefined when it is not an http(s) URL). */
export function urlSha256(input: string): string | undefined {
  const n = normalizeUrl(input);
  return n === undefined ? undefined : createHash('sha256').update(n, 'utf8').digest('hex');
}

function parse(value: string): string {
  const v = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (HEX64.test(v)) return v;
  // A URL itself is accepted and hashed, so a list of plain URLs imports as it is.
  const hashed = typeof value === 'string' ? urlSha256(value) : undefined;
  if (hashed !== undefined && !HEX64.test(v)) return hashed;
  throw new WardError('WARD_ERR_SIGNAL_INVALID', 'Expected a 64-hex url-sha256 or an http(s) URL', {
    expected: '64 hex characters or a URL',
    actual: typeof value === 'string' ? `${value.length} characters` : typeof value,
  });
}

export const urlSha256Signal: SignalType = {
  name: 'url-sha256',
  contentTypes: ['text', 'other'],
  parse,
  defaultThreshold: 0,
  compare: (a, b) => {
    const match = parse(a) === parse(b);
    return { match, distance: match ? 0 : 1 };
  },
  examples: [urlSha256('https://example.com/') as string],
  matching: 'exact',
  // Not detected from a bare value: 64 hex is shared with pdq and sha256, and a bank of URLs
  // says what it holds (`--signal url-sha256`).
  index: exactIndexKind,
  // An item may carry several (a post's links): one query each.
  queries(value): QueryPlan {
    const values = Array.isArray(value) ? value : [value];
    const queries: SignalQuery[] = [];
    for (const v of values) {
      if (typeof v !== 'string') continue;
      const h = v.trim().toLowerCase();
      if (HEX64.test(h)) queries.push({ target: 'url-sha256', query: h });
    }
    return { queries };
  },
};
