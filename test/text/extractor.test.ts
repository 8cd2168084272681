/**
 * The scan plugin for text: content sniffing by bytes (never the name), the extractor on plain
 * captions, JSON captions (prompt pairs, tag maps, nested strings, JSON lines), and redaction.
 */
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/limits.js';
import { screenTextItem, sniffText, textExtractor } from '../../src/scan/extractors/text.js';
import { SNIFF_BYTES } from '../../src/scan/plugins.js';
import { screenText, screenTextChunks } from '../../src/text/screen.js';
import { tempDir } from '../helpers/cli.js';
import { latinWord, term } from './terms.js';

const dir = tempDir('ward-text-extract-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (s: string) => new TextEncoder().encode(s);
const M = latinWord('en', 'minor');
const S = latinWord('en', 'sexual');

describe('sniffText', () => {
  it('recognises UTF-8 text, JSON-looking text, and refuses binary', () => {
    expect(sniffText(bytes('a caption about a lighthouse\n'))).toBe('plain');
    expect(sniffText(bytes('  {"caption": "x"}'))).toBe('json');
    expect(sniffText(bytes('[1, 2]'))).toBe('json');
    expect(sniffText(bytes('\ufeff{"a": 1}'))).toBe('json'); // BOM
    expect(sniffText(bytes('日本語のキャプション'))).toBe('plain');
    expect(sniffText(bytes('tab\tand\r\nlines\x1b[0m'))).toBe('plain');
    expect(sniffText(new Uint8Array())).toBeUndefined();
    expect(sniffText(Uint8Array.of(0x61, 0x00, 0x62))).toBeUndefined(); // NUL
    expect(sniffText(Uint8Array.of(0x61, 0x01))).toBeUndefined(); // control
    expect(sniffText(Uint8Array.of(0x61, 0x7f))).toBeUndefined(); // DEL
    expect(sniffText(Uint8Array.of(0xc3, 0x28))).toBeUndefined(); // bad continuation
    expect(sniffText(Uint8Array.of(0xc0, 0x80))).toBeUndefined(); // overlong
    expect(sniffText(Uint8Array.of(0xed, 0xa0, 0x80))).toBeUndefined(); // surrogate
    expect(sniffText(Uint8Array.of(0xc2, 0x85))).toBeUndefined(); // C1 control
    expect(sniffText(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0))).toBeUndefined(); // JPEG
    // safetensors: an 8-byte little-endian length (NULs) before a JSON header
    expect(sniffText(Uint8Array.of(0x10, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d))).toBeUndefined();
  });

  it('accepts a multi-byte character cut by the end of a full 4 KiB head, not of a short file', () => {
    const full = bytes(`${'a'.repeat(SNIFF_BYTES - 1)}é`).subarray(0, SNIFF_BYTES);
    expect(full).toHaveLength(SNIFF_BYTES);
    expect(sniffText(full)).toBe('plain');
    expect(sniffText(bytes('abcé').subarray(0, 4))).toBeUndefined();
  });
});

describe('text extractor', () => {
  const extract = (text: string) =>
    textExtractor.extract({
      bytes: bytes(text),
      contentType: 'text',
      format: sniffText(bytes(text).subarray(0, SNIFF_BYTES)),
      name: 'caption.txt',
      limits: DEFAULT_LIMITS,
      options: {},
    });

  it('screens a plain caption and returns a redacted finding', async () => {
    const out = await extract(`a photo of ${M}, ${S}, soft light\n`);
    expect(out.findings).toHaveLength(1);
    const f = out.findings?.[0];
    expect(f).toMatchObject({ type: 'text.block', severity: 'critical', source: 'text' });
    expect(f?.data).toMatchObject({ context: 'caption', redacted: true, categories: ['minor', 'sexual'] });
    expect(JSON.stringify(f)).not.toContain(M);
    expect(JSON.stringify(f)).not.toContain(S);
    expect((await extract('a lighthouse at dusk')).findings).toEqual([]);
  });

  it('screens JSON captions: nested strings, prompt pairs, tag maps and tag lists, with JSON paths', () => {
    const doc = {
      images: [
        { file: 'a.png', caption: 'a lighthouse' },
        { file: 'b.png', caption: `${M} ${S}` },
      ],
    };
    const v = screenTextItem(JSON.stringify(doc), 'json');
    expect(v.verdict).toBe('block');
    expect(v.reasons[0]?.spans[0]?.field).toBe('/images/1/caption');

    const pair = screenTextItem(
      JSON.stringify({ prompt: `1girl, ${S}`, negative_prompt: term('en', 'adult') }),
      'json',
    );
    expect(pair.reasons.map((r) => r.rule)).toEqual(['negative-steering']);
    expect(pair.reasons[0]?.spans.map((s) => s.field)).toEqual(['/prompt', '/negative_prompt']);

    const tags = screenTextItem(JSON.stringify({ ss_tag_frequency: { '10_x': { [M]: 2, [S]: 4 } } }), 'json');
    expect(tags.verdict).toBe('block');
    expect(screenTextItem(JSON.stringify({ tags: [M, S] }), 'json').verdict).toBe('block');

    // Unknown keys (which may be content) appear as ordinals in paths, never by name.
    const keyed = screenTextItem(JSON.stringify({ [`${M} key`]: `${M} ${S}` }), 'json');
    expect(keyed.reasons[0]?.spans[0]?.field).toBe('/#0');
    expect(JSON.stringify(keyed)).not.toContain(M);
  });

  it('reads JSON lines, and text that only starts with a bracket as plain text', () => {
    const lines = [JSON.stringify({ caption: 'a lighthouse' }), JSON.stringify({ caption: `${M} ${S}` })].join('\n');
    const v = screenTextItem(lines, 'json');
    expect(v.verdict).toBe('block');
    expect(v.reasons[0]?.spans[0]?.field).toBe('/1/caption');
    expect(screenTextItem(`[draft] ${M} ${S}`, 'json').verdict).toBe('block');
  });

  it('survives deeply nested JSON without recursion', () => {
    const deep = `${'['.repeat(50_000)}"${M} ${S}"${']'.repeat(50_000)}`;
    expect(screenTextItem(deep, 'json').verdict).toBe('block');
  });
});

describe('files read in chunks', () => {
  it('screenTextChunks equals screenText on the whole text, wherever the chunks are cut', () => {
    const pieces = [
      'a lighthouse, ',
      M,
      ' ',
      S,
      ', ',
      [...M].join('.'),
      '\u200b',
      '🧒',
      ' 15 years old ',
      term('ja', 'minor'),
    ];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...pieces), { maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (parts, cuts) => {
          const text = parts.join('');
          const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const chunks: string[] = [];
          let prev = 0;
          for (let c of at) {
            if (c > 0 && c < text.length && text.charCodeAt(c - 1) >= 0xd800 && text.charCodeAt(c - 1) <= 0xdbff) c++;
            if (c <= prev) continue;
            chunks.push(text.slice(prev, c));
            prev = c;
          }
          chunks.push(text.slice(prev));
          const whole = screenText(text, { context: 'caption', redact: true });
          expect(screenTextChunks(chunks, { context: 'caption' })).toEqual(whole);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('extractFile screens a file of any size in chunks and returns the digests from the same read', async () => {
    const path = join(dir, 'big.txt');
    const filler = 'a quiet harbour at dawn with fishing boats and gulls\n'.repeat(60_000); // ~3 MB
    const content = `${filler}${M} ${S}\n`;
    writeFileSync(path, content);
    const extractFile = textExtractor.extractFile as NonNullable<typeof textExtractor.extractFile>;
    const out = await extractFile({
      path,
      size: Buffer.byteLength(content),
      contentType: 'text',
      format: 'plain',
      name: 'big.txt',
      limits: DEFAULT_LIMITS,
      options: {},
      digests: ['md5', 'sha256'],
    });
    expect(out.signals).toEqual({
      md5: createHash('md5').update(content).digest('hex'),
      sha256: createHash('sha256').update(content).digest('hex'),
    });
    expect(out.findings?.[0]).toMatchObject({ type: 'text.block', data: { redacted: true } });
    const json = join(dir, 'caption.json');
    writeFileSync(json, JSON.stringify({ caption: `${M} ${S}` }));
    const j = await extractFile({
      path: json,
      size: 100,
      contentType: 'text',
      format: 'json',
      name: 'caption.json',
      limits: DEFAULT_LIMITS,
      options: {},
      digests: [],
    });
    expect(j.signals).toEqual({});
    expect(j.findings?.[0]?.data).toMatchObject({
      reasons: [{ spans: [{ field: '/caption' }, { field: '/caption' }] }],
    });
  });
});
