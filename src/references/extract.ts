/**
 * @module references/extract
 * What a text names that banks can match, with its span: links (normalised and hashed as
 * `url-sha256`), models on hubs (Civitai and Hugging Face URLs, AIR URNs: `model-ref`), model
 * files (`<lora:name:w>` tags, `….safetensors` / `.ckpt` / `.gguf` / `.pt` / `.pth` / `.sft` file
 * names: `model-name`), and hashes written out (AutoV1/AutoV2/AutoV3/BLAKE3/SHA-256 model hashes,
 * MD5/SHA-1/PDQ image hashes). Forum posts, captions, model descriptions, saved pages (`href`
 * attributes, HTML entities, JSON-escaped slashes) and defanged links (`hxxp://`, `[.]`).
 *
 * Hashes are read by shape and label: 32, 40 and 64 hex digits stand alone (64 hex without a
 * label is asked as SHA-256, BLAKE3, AutoV3 and PDQ); 8, 10 and 12 hex digits count only after a
 * label within 40 characters (`hash`, `AutoV2`, `sha256`…), as in `Model hash: 45a21ea00a`.
 *
 * Linear time: every trigger (`://`, `www.`, `urn:air:`, `<lora:`, a model extension, a hex run) is
 * found with indexOf or a sticky scan, each reference reads a bounded window, and long texts are
 * scanned in pieces (`ReferenceScanner`) with an overlap longer than any reference, so memory is
 * bounded too. At most MAX_REFERENCES distinct references are kept per text. Nothing is fetched:
 * a URL is only normalised and hashed.
 */
import { modelNameSha256, modelRefsOf } from '../signals/model-refs.js';
import { urlSha256 } from '../signals/url.js';

export type ReferenceKind = 'url' | 'model-ref' | 'model-name' | 'hash';

/** One signal a reference can be matched as. */
export interface ReferenceSignal {
  /** A registered signal type: `url-sha256`, `model-ref`, `model-name`, `autov2`, `sha256`, `md5`, `pdq`… */
  type: string;
  value: string;
}

export interface Reference {
  kind: ReferenceKind;
  /** UTF-16 offsets of the first occurrence in the text (end exclusive), as the text screener's spans. */
  start: number;
  end: number;
  signals: ReferenceSignal[];
  /** Occurrences of this reference in the text. */
  count: number;
  /** The first MAX_SPANS occurrences. */
  spans: { start: number; end: number }[];
  /** Set for hashes: the label that typed it (`autov2`, `sha256`, `hash`), if any. */
  label?: string;
}

export const MAX_REFERENCES = 512;
export const MAX_SPANS = 3;
const MAX_URL = 4096;
/** Longer than any reference plus its look-behind: pieces overlap by this much. */
export const OVERLAP = MAX_URL + 512;
const LOOKBEHIND = 40;

const MODEL_EXTS = ['.safetensors', '.ckpt', '.gguf', '.sft', '.pth', '.pt'];

const isAlnum = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
/** Characters that end a URL: space and controls, quotes, angle brackets, backtick, `\` (unless `\/`). */
function endsUrl(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c <= 0x20 || c === 0x22 || c === 0x27 || c === 0x3c || c === 0x3e || c === 0x60 || c === 0x7f) return true;
  if (c === 0x5c) return s.charCodeAt(i + 1) !== 0x2f;
  // Unicode spaces and CJK punctuation end it too.
  return c === 0xa0 || c === 0x3000 || c === 0x3001 || c === 0x3002 || (c >= 0x2000 && c <= 0x200b) || c === 0xff0c;
}
/** Characters of a file name (no spaces: a name with spaces is only read from a `<lora:…>` tag). */
const isNameChar = (c: number): boolean =>
  isAlnum(c) || c === 0x5f || c === 0x2d || c === 0x2e || c === 0x2b || c === 0x28 || c === 0x29 || c > 0x7f;

/** Hash labels, looked for (lower case) in the 40 characters before a hex run; the nearest wins. */
const LABELS: [string, string][] = [
  ['autov1', 'autov1'],
  ['autov2', 'autov2'],
  ['autov3', 'autov3'],
  ['auto v2', 'autov2'],
  ['auto v3', 'autov3'],
  ['blake3', 'blake3'],
  ['sha256', 'sha256'],
  ['sha-256', 'sha256'],
  ['sha 256', 'sha256'],
  ['sha1', 'sha1'],
  ['sha-1', 'sha1'],
  ['md5', 'md5'],
  ['pdq', 'pdq'],
  ['hash', 'hash'],
];

function labelBefore(text: string, at: number): string | undefined {
  const window = text.slice(Math.max(0, at - LOOKBEHIND), at).toLowerCase();
  let best: string | undefined;
  let bestAt = -1;
  for (const [word, label] of LABELS) {
    const i = window.lastIndexOf(word);
    if (i > bestAt || (i === bestAt && i >= 0 && label !== 'hash')) {
      best = label;
      bestAt = i;
    }
  }
  return bestAt >= 0 ? best : undefined;
}

/** The signals of a hex run of `len` digits with `label`; empty when it is not a hash. */
function hashSignals(hex: string, label: string | undefined, loraNear: boolean): ReferenceSignal[] {
  const h = hex.toLowerCase();
  const n = h.length;
  const s = (type: string, value = h): ReferenceSignal => ({ type, value });
  if (n === 8) return label === 'autov1' || label === 'hash' ? [s('autov1')] : [];
  if (n === 10) return label === 'autov2' || label === 'hash' || label === 'sha256' ? [s('autov2')] : [];
  if (n === 12) {
    if (label === 'autov3') return [s('autov3')];
    if (label === 'autov2' || label === 'sha256') return [s('autov2', h.slice(0, 10))];
    if (label === 'hash') return loraNear ? [s('autov3')] : [s('autov3'), s('autov2', h.slice(0, 10))];
    return [];
  }
  // Unlabelled long runs must look like hashes: both digits and letters.
  if (label === undefined && !(/[0-9]/.test(h) && /[a-f]/.test(h))) return [];
  if (n === 32) return label === undefined || label === 'md5' || label === 'hash' ? [s('md5')] : [];
  if (n === 40) return label === undefined || label === 'sha1' || label === 'hash' ? [s('sha1')] : [];
  if (n === 64) {
    switch (label) {
      case 'pdq':
        return [s('pdq')];
      case 'blake3':
        return [s('blake3')];
      case 'autov3':
        return [s('autov3')];
      case 'sha256':
        return [s('sha256')];
      case 'md5':
      case 'sha1':
      case 'autov1':
      case 'autov2':
        return [];
      default:
        return [s('sha256'), s('blake3'), s('autov3'), s('pdq')];
    }
  }
  return [];
}

/** Decodes what saved pages and JSON do to a URL: `&amp;` and friends, `\/`. */
function cleanUrl(raw: string): string {
  let u = raw;
  if (u.includes('\\/')) u = u.replace(/\\\//g, '/');
  if (u.includes('&'))
    u = u
      .replace(/&amp;/gi, '&')
      .replace(/&#0*38;/g, '&')
      .replace(/&#x0*26;/gi, '&');
  // Defanged: hxxp(s)://, [.] (.) {.} in the host.
  if (/^hxxps?:/i.test(u)) u = `http${u.slice(4)}`;
  if (u.includes('[.]') || u.includes('(.)') || u.includes('{.}')) u = u.replace(/\[\.\]|\(\.\)|\{\.\}/g, '.');
  return u;
}

/** Trailing punctuation that belongs to the sentence, not the URL. */
function trimUrlEnd(s: string, start: number, end: number): number {
  let e = end;
  while (e > start) {
    const c = s[e - 1];
    if (c === '.' || c === ',' || c === ';' || c === ':' || c === '!' || c === '?' || c === '*' || c === '_') e--;
    else if (c === ')' || c === ']' || c === '}') {
      const open = c === ')' ? '(' : c === ']' ? '[' : '{';
      const body = s.slice(start, e - 1);
      // Keep a closing bracket the URL opened (Wikipedia-style), drop one it did not.
      if (body.split(open).length > body.split(c).length) break;
      e--;
    } else break;
  }
  return e;
}

/** References folded by value: kind and signals, how many times, the first spans. */
export class ReferenceSet {
  private readonly groups = new Map<string, Reference>();
  /** Distinct references not kept (over MAX_REFERENCES). */
  dropped = 0;

  add(kind: ReferenceKind, start: number, end: number, signals: ReferenceSignal[], label?: string): void {
    const key = `${kind}\0${signals.map((x) => `${x.type}:${x.value}`).join(' ')}`;
    const have = this.groups.get(key);
    if (have) {
      have.count++;
      if (have.spans.length < MAX_SPANS) have.spans.push({ start, end });
      return;
    }
    if (this.groups.size >= MAX_REFERENCES) {
      this.dropped++;
      return;
    }
    this.groups.set(key, { kind, start, end, signals, count: 1, spans: [{ start, end }], ...(label ? { label } : {}) });
  }

  /** Distinct references in order of first appearance. */
  list(): Reference[] {
    return [...this.groups.values()].sort((a, b) => a.start - b.start || a.end - b.end);
  }
}

/** One scan's window on the whole text: offsets, and which starts it decides. */
class Found {
  constructor(
    private readonly set: ReferenceSet,
    /** Offset of the scanned text in the whole text. */
    private readonly base: number,
    /** References starting before this (whole-text offset) were taken by an earlier piece. */
    private readonly from: number,
    /** …and from this one on belong to a later piece. */
    private readonly until: number,
  ) {}

  add(kind: ReferenceKind, start: number, end: number, signals: ReferenceSignal[], label?: string): void {
    if (signals.length === 0) return;
    const s = this.base + start;
    if (s < this.from || s >= this.until) return;
    this.set.add(kind, s, this.base + end, signals, label);
  }
}

/** Every occurrence of `needle` (lower-case ASCII) in `lower`, in order. */
function* occurrences(lower: string, needle: string): Generator<number> {
  let at = 0;
  for (;;) {
    const i = lower.indexOf(needle, at);
    if (i < 0) return;
    yield i;
    at = i + needle.length;
  }
}

/** Posts repeat their links and names: normalising and hashing each once (bounded caches). */
const MEMO_MAX = 4096;
const urlMemo = new Map<string, string | undefined>();
const refMemo = new Map<string, string[]>();
const nameMemo = new Map<string, string | undefined>();
function memo<T>(cache: Map<string, T>, key: string, fn: (k: string) => T): T {
  if (cache.has(key)) return cache.get(key) as T;
  const v = fn(key);
  if (cache.size >= MEMO_MAX) cache.clear();
  cache.set(key, v);
  return v;
}

/** URL triggers: where a link starts, from the trigger's position. */
const URL_TRIGGERS: {
  needle: string;
  start: (lower: string, i: number) => number | undefined;
  from: (i: number) => number;
}[] = [
  // scheme://… and scheme:\/\/… (JSON); the scheme is read backwards from the colon.
  ...['://', ':\\/\\/'].map((needle) => ({
    needle,
    start: (lower: string, i: number) => {
      let b = i;
      while (b > 0 && i - b < 8 && isAlnum(lower.charCodeAt(b - 1))) b--;
      const scheme = lower.slice(b, i);
      return scheme === 'http' || scheme === 'https' || scheme === 'hxxp' || scheme === 'hxxps' ? b : undefined;
    },
    from: (i: number) => i + needle.length,
  })),
  // Scheme-less: www.… and the hubs' hosts, at a word boundary.
  ...['www.', 'civitai.com/', 'huggingface.co/', 'hf.co/'].map((needle) => ({
    needle,
    start: (lower: string, i: number) => {
      const before = i > 0 ? lower.charCodeAt(i - 1) : 0x20;
      // Part of a longer host or already after a scheme ("://www."): not a start.
      if (isAlnum(before) || before === 0x2e || before === 0x2f || before === 0x2d || before === 0x40) return undefined;
      return i;
    },
    from: (i: number) => i,
  })),
  // Protocol-relative links in saved pages: href="//host/…", src='//…'.
  ...['="//', "='//"].map((needle) => ({
    needle,
    start: (_lower: string, i: number) => i + 2,
    from: (i: number) => i + 2,
  })),
];

/** At most this many links start inside another (redirects: `?u=https://…`), per link. */
const MAX_NESTED = 4;

function scanUrls(text: string, lower: string, out: Found): void {
  const add = (start: number, end: number): number => {
    const e = trimUrlEnd(text, start, end);
    if (e - start < 4 || e - start > MAX_URL) return end;
    const url = cleanUrl(text.slice(start, e));
    const h = memo(urlMemo, url, urlSha256);
    if (h === undefined) return end;
    out.add('url', start, e, [{ type: 'url-sha256', value: h }]);
    const refs = memo(refMemo, url, modelRefsOf) as string[];
    if (refs.length > 0)
      out.add(
        'model-ref',
        start,
        e,
        refs.map((value) => ({ type: 'model-ref', value })),
      );
    return end;
  };
  // The first URL terminator at or after a position, cached: every start inside one run of
  // URL characters ends at the same place, so the text is walked once.
  let term = -1;
  const urlEnd = (from: number): number => {
    if (term < from) {
      term = from;
      while (term < text.length && !endsUrl(text, term)) term++;
    }
    return Math.min(term, from + MAX_URL + 1);
  };
  // Triggers of every kind in text order (a k-way merge of indexOf cursors).
  const next = URL_TRIGGERS.map((t) => lower.indexOf(t.needle));
  let lastEnd = -1;
  let nested = 0;
  for (;;) {
    let k = -1;
    for (let j = 0; j < next.length; j++) {
      const p = next[j] as number;
      if (p >= 0 && (k < 0 || p < (next[k] as number))) k = j;
    }
    if (k < 0) break;
    const t = URL_TRIGGERS[k] as (typeof URL_TRIGGERS)[number];
    const i = next[k] as number;
    next[k] = lower.indexOf(t.needle, i + t.needle.length);
    const start = t.start(lower, i);
    if (start === undefined) continue;
    if (start < lastEnd) {
      // Inside the previous link: only a few nested ones (bounded work per link).
      if (++nested > MAX_NESTED) continue;
      add(start, urlEnd(t.from(i)));
      continue;
    }
    nested = 0;
    lastEnd = add(start, urlEnd(t.from(i)));
  }
}

function scanAirs(text: string, lower: string, out: Found): void {
  let lastEnd = -1;
  for (const i of occurrences(lower, 'urn:air:')) {
    if (i < lastEnd) continue;
    let e = i + 8;
    const max = Math.min(text.length, i + 256);
    while (e < max && !endsUrl(text, e) && text[e] !== ',' && text[e] !== ')' && text[e] !== ']') e++;
    lastEnd = e;
    const refs = modelRefsOf(text.slice(i, e));
    out.add(
      'model-ref',
      i,
      e,
      refs.map((value) => ({ type: 'model-ref', value })),
    );
  }
}

function scanLoraTags(text: string, lower: string, out: Found): void {
  for (const needle of ['<lora:', '<lyco:', '<hypernet:']) {
    let close = -2;
    for (const i of occurrences(lower, needle)) {
      // The next '>' is looked up once per run of tags, not once per tag.
      if (close < i + needle.length) close = text.indexOf('>', i + needle.length);
      if (close < 0) break;
      if (close - i > 512) continue;
      const inner = text.slice(i + needle.length, close);
      const colon = inner.indexOf(':');
      const name = (colon < 0 ? inner : inner.slice(0, colon)).trim();
      const h = memo(nameMemo, name, modelNameSha256);
      if (h) out.add('model-name', i, close + 1, [{ type: 'model-name', value: h }]);
    }
  }
}

function scanModelFiles(text: string, lower: string, out: Found): void {
  for (const ext of MODEL_EXTS) {
    let prev = 0;
    for (const i of occurrences(lower, ext)) {
      const after = i + ext.length;
      if (after < lower.length && (isAlnum(lower.charCodeAt(after)) || lower[after] === '_')) continue;
      // Back over the name, never past the previous name of this extension (bounded work).
      let b = i;
      while (b > prev && i - b < 255 && isNameChar(text.charCodeAt(b - 1))) b--;
      prev = after;
      if (b === i) continue;
      const name = text.slice(b, after);
      const h = memo(nameMemo, name, modelNameSha256);
      if (h) out.add('model-name', b, after, [{ type: 'model-name', value: h }]);
    }
  }
}

const HEX_RUN = /[0-9A-Fa-f]{8,}/g;

function scanHashes(text: string, lower: string, out: Found): void {
  HEX_RUN.lastIndex = 0;
  for (;;) {
    const m = HEX_RUN.exec(text);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    const n = end - start;
    if (n !== 8 && n !== 10 && n !== 12 && n !== 32 && n !== 40 && n !== 64) continue;
    const before = start > 0 ? text.charCodeAt(start - 1) : 0x20;
    const afterC = end < text.length ? text.charCodeAt(end) : 0x20;
    if (isAlnum(afterC) || afterC === 0x5f) continue;
    let s = start;
    if (isAlnum(before) || before === 0x5f) {
      // 0x-prefixed is fine; anything else glued before is part of a longer word.
      if (!(before === 0x78 && start >= 2 && text[start - 2] === '0' && !isAlnum(text.charCodeAt(start - 3) || 0x20)))
        continue;
      s = start - 2;
    }
    const label = labelBefore(lower, s);
    const loraNear = lower.slice(Math.max(0, s - 60), s).includes('lora');
    const signals = hashSignals(m[0], label, loraNear);
    out.add('hash', s, end, signals, label);
  }
}

function scan(text: string, out: Found): void {
  const lower = text.toLowerCase();
  // toLowerCase keeps UTF-16 offsets for ASCII; a text where it does not (rare: İ) is scanned as is.
  const l = lower.length === text.length ? lower : text;
  if (l.includes('/') || l.includes('www.')) scanUrls(text, l, out);
  if (l.includes('urn:air:')) scanAirs(text, l, out);
  if (l.includes('<')) scanLoraTags(text, l, out);
  if (l.includes('.')) scanModelFiles(text, l, out);
  scanHashes(text, l, out);
}

/**
 * Every reference in a text (one piece in memory), distinct by value with counts and first spans.
 * For long texts read in pieces use `ReferenceScanner`, which gives the same references.
 */
export function findReferences(text: string): Reference[] {
  const set = new ReferenceSet();
  scan(text, new Found(set, 0, 0, Number.POSITIVE_INFINITY));
  return set.list();
}

/**
 * References in a text given in pieces (a file read in chunks): the same references as
 * `findReferences` on the whole text, in bounded memory (the pieces overlap by OVERLAP).
 */
export class ReferenceScanner {
  private buf = '';
  /** Whole-text offset of buf[0]. */
  private base = 0;
  /** References starting before this offset are decided. */
  private done = 0;
  readonly set = new ReferenceSet();

  push(piece: string): void {
    this.buf += piece;
    if (this.buf.length < 4 * OVERLAP) return;
    const until = this.base + this.buf.length - OVERLAP;
    scan(this.buf, new Found(this.set, this.base, this.done, until));
    this.done = until;
    // Keep the overlap and the look-behind of the next piece's first references.
    const keep = until - (LOOKBEHIND + 64);
    this.buf = this.buf.slice(keep - this.base);
    this.base = keep;
  }

  /** The references of the whole text. */
  end(): Reference[] {
    scan(this.buf, new Found(this.set, this.base, this.done, Number.POSITIVE_INFINITY));
    this.buf = '';
    return this.set.list();
  }
}
