/**
 * @module scan/extractors/text
 * Text items (captions in datasets and archives): the sniffer (valid UTF-8 without binary control
 * characters in the first 4 KiB; `json` when it starts like JSON, else `plain`; never by the file
 * name) and the extractor, which screens plain text as a caption and, in JSON, every string value
 * (prompts, negative prompts, titles and tag maps by their key names). Files are read in chunks
 * (`extractFile`), so a caption file of any size is screened whole in bounded memory; JSON over
 * 64 MiB is screened as text. Findings are redacted: rule ids and spans, never the text.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import {
  mergeReferenceSignals,
  ReferenceScanner,
  referenceFindings,
  referenceSignals,
  referencesOf,
} from '../../references/index.js';
import {
  mergeVerdicts,
  screenPromptPair,
  screenTags,
  screenText,
  screenTextChunks,
  verdictFindings,
} from '../../text/screen.js';
import type { TagMap, TextContext, TextVerdict } from '../../text/types.js';
import { type Extractor, SNIFF_BYTES, type Sniffer } from '../plugins.js';

/**
 * `plain` or `json` when `head` looks like UTF-8 text: valid UTF-8 (a sequence cut by the end of
 * a full 4 KiB head is allowed), no NUL, no C0 control other than tab, line feed, vertical tab,
 * form feed, carriage return and escape, no DEL or C1 control.
 */
export function sniffText(head: Uint8Array): 'plain' | 'json' | undefined {
  const n = head.length;
  if (n === 0) return undefined;
  let i = n >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  let first = -1;
  while (i < n) {
    const b = head[i] as number;
    if (b < 0x80) {
      if (b < 0x20 && !(b >= 0x09 && b <= 0x0d) && b !== 0x1b) return undefined;
      if (b === 0x7f) return undefined;
      if (first < 0 && b !== 0x20 && !(b >= 0x09 && b <= 0x0d)) first = b;
      i++;
      continue;
    }
    let need: number;
    let cp: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      cp = b & 0x07;
    } else return undefined;
    if (i + need > n - 1) {
      // Cut by the end of the head: fine only when the head is a full sniff window.
      if (n < SNIFF_BYTES) return undefined;
      for (let k = i + 1; k < n; k++) if (((head[k] as number) & 0xc0) !== 0x80) return undefined;
      break;
    }
    for (let k = 1; k <= need; k++) {
      const c = head[i + k] as number;
      if ((c & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (
      (need === 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (need === 3 && (cp < 0x10000 || cp > 0x10ffff))
    )
      return undefined;
    if (cp >= 0x80 && cp <= 0x9f) return undefined;
    if (first < 0) first = cp;
    i += need + 1;
  }
  if (first < 0) return 'plain';
  return first === 0x7b || first === 0x5b ? 'json' : 'plain';
}

export const textSniffer: Sniffer = {
  contentType: 'text',
  sniff: (head) => sniffText(head),
};

/** JSON keys named in finding paths (other keys, which may be content, appear as `#n`). */
const KNOWN_KEYS = new Set([
  'caption',
  'captions',
  'text',
  'texts',
  'prompt',
  'prompts',
  'negative_prompt',
  'negativePrompt',
  'negative',
  'title',
  'name',
  'description',
  'tags',
  'tag',
  'ss_tag_frequency',
  'alt',
  'alt_text',
  'label',
  'labels',
  'comment',
  'comments',
  'metadata',
  'data',
  'items',
  'images',
  'parameters',
  'positive',
  'post',
  'body',
]);

function contextFor(key: string | undefined): TextContext {
  if (key === undefined) return 'caption';
  const k = key.toLowerCase();
  if (k.includes('negative')) return 'negativePrompt';
  if (k.includes('prompt') || k === 'positive' || k === 'parameters') return 'prompt';
  if (k === 'title' || k === 'name') return 'title';
  if (k === 'post' || k === 'body' || k === 'comment' || k === 'comments') return 'post';
  return 'caption';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Tag maps: {tag: count} or {folder: {tag: count}}. */
function isTagMap(v: unknown): v is TagMap {
  if (!isObject(v)) return false;
  const values = Object.values(v);
  return (
    values.length > 0 &&
    values.every((x) => typeof x === 'number' || (isObject(x) && Object.values(x).every((y) => typeof y === 'number')))
  );
}

/** Screens every string of a parsed JSON value (iteratively: no recursion on deep input). */
function screenJson(root: unknown, verdicts: TextVerdict[], fields: string[]): void {
  const stack: { value: unknown; path: string; key: string | undefined }[] = [
    { value: root, path: '', key: undefined },
  ];
  const add = (v: TextVerdict, path: string) => {
    if (v.verdict === 'allow') return;
    for (const r of v.reasons) for (const s of r.spans) if (s.field === undefined) s.field = path || '/';
    verdicts.push(v);
    fields.push(path);
  };
  while (stack.length > 0) {
    const { value, path, key } = stack.pop() as (typeof stack)[number];
    if (typeof value === 'string') {
      add(screenText(value, { context: contextFor(key), redact: true }), path);
    } else if (Array.isArray(value)) {
      if (key !== undefined && /tags?$/i.test(key) && value.every((x) => typeof x === 'string'))
        add(screenTags(value as string[], { redact: true }), path);
      else for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: `${path}/${i}`, key });
    } else if (isObject(value)) {
      const entries = Object.entries(value);
      if (key !== undefined && /tag/i.test(key) && isTagMap(value)) {
        add(screenTags(value, { redact: true }), path);
        continue;
      }
      const promptKey = entries.find(
        ([k, v]) => typeof v === 'string' && /prompt|^positive$/i.test(k) && !/negative/i.test(k),
      );
      const negativeKey = entries.find(([k, v]) => typeof v === 'string' && /negative/i.test(k));
      if (promptKey && negativeKey) {
        const v = screenPromptPair(
          { prompt: promptKey[1] as string, negativePrompt: negativeKey[1] as string },
          { redact: true },
        );
        for (const r of v.reasons)
          for (const s of r.spans) s.field = `${path}/${s.field === 'prompt' ? promptKey[0] : negativeKey[0]}`;
        if (v.verdict !== 'allow') {
          verdicts.push(v);
          fields.push(path);
        }
      }
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, v] = entries[i] as [string, unknown];
        if (promptKey && negativeKey && (k === promptKey[0] || k === negativeKey[0])) continue;
        const segment = KNOWN_KEYS.has(k) ? k.replace(/~/g, '~0').replace(/\//g, '~1') : `#${i}`;
        stack.push({ value: v, path: `${path}/${segment}`, key: k });
      }
    }
  }
}

/** Screens a decoded text item: JSON (whole or one document per line) or a plain caption. */
export function screenTextItem(text: string, format: string | undefined): TextVerdict {
  if (format === 'json') {
    const verdicts: TextVerdict[] = [];
    const fields: string[] = [];
    let parsed = false;
    try {
      screenJson(JSON.parse(text), verdicts, fields);
      parsed = true;
    } catch {
      // Not one JSON document: JSON lines, or text that merely starts with a bracket.
      const lines = text.split('\n');
      const docs: unknown[] = [];
      try {
        for (const line of lines) if (line.trim() !== '') docs.push(JSON.parse(line));
        parsed = docs.length > 0;
      } catch {
        parsed = false;
      }
      if (parsed) screenJson(docs, verdicts, fields);
    }
    if (parsed) return mergeVerdicts('caption', verdicts, true);
  }
  return screenText(text, { context: 'caption', redact: true });
}

/** JSON files up to this size are parsed (strings by key); larger ones are screened as text. */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;
const CHUNK = 1 << 20;

/** Reads a file in chunks: digests of the bytes and UTF-8 text chunks (never the whole file). */
function* fileChunks(path: string, hashes: Hash[]): Generator<string> {
  const fd = openSync(path, 'r');
  try {
    const decoder = new TextDecoder('utf-8');
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      const bytes = buf.subarray(0, n);
      for (const h of hashes) h.update(bytes);
      yield decoder.decode(bytes, { stream: true });
    }
    const tail = decoder.decode();
    if (tail) yield tail;
  } finally {
    closeSync(fd);
  }
}

/** Passes pieces through, feeding them to the reference scanner on the way. */
function* teeTo(pieces: Iterable<string>, scanner: ReferenceScanner): Generator<string> {
  for (const p of pieces) {
    scanner.push(p);
    yield p;
  }
}

export const textExtractor: Extractor = {
  name: 'text',
  contentTypes: ['text'],
  async extract({ bytes, format }) {
    const text = new TextDecoder('utf-8').decode(bytes);
    // References (links, models, hashes: src/references) are matched against banks by the pipeline.
    const refs = referencesOf(text, 'text');
    const findings = [...verdictFindings(screenTextItem(text, format), 'text'), ...refs.findings];
    const signals = mergeReferenceSignals({}, refs.signals);
    return Object.keys(signals).length > 0 ? { findings, signals } : { findings };
  },
  /** Files: read in 1 MiB chunks (any size, bounded memory); the digests come from the same read. */
  async extractFile({ path, size, format, digests }) {
    const names = [...digests];
    const hashes = names.map((d) => createHash(d));
    let verdict: TextVerdict;
    const scanner = new ReferenceScanner();
    if (format === 'json' && size <= MAX_JSON_BYTES) {
      const parts: string[] = [];
      for (const chunk of fileChunks(path, hashes)) parts.push(chunk);
      const text = parts.join('');
      scanner.push(text);
      verdict = screenTextItem(text, format);
    } else {
      verdict = screenTextChunks(teeTo(fileChunks(path, hashes), scanner), { context: 'caption' });
    }
    const refs = scanner.end();
    const signals = Object.fromEntries(names.map((d, i) => [d, (hashes[i] as Hash).digest('hex')]));
    mergeReferenceSignals(signals, referenceSignals(refs));
    return { signals, findings: [...verdictFindings(verdict, 'text'), ...referenceFindings(refs, 'text')] };
  },
};
