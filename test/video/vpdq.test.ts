/**
 * vPDQ text forms: the reference's hash files, python-threatexchange's strings (byte for byte,
 * including Python's number formatting) and Ward's compact bank value.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectSignal, sniffFormat } from '../../src/banks/formats/detect.js';
import { readBankFile } from '../../src/banks/formats/read.js';
import { writeBankFile } from '../../src/banks/formats/write.js';
import type { ExportEntry, ParsedEntry, RowIssue } from '../../src/banks/types.js';
import { getSignalType } from '../../src/signals/builtin.js';
import {
  formatPython3,
  formatSeconds,
  looksCompact,
  parseCompact,
  parseReferenceText,
  parseThreatExchange,
  parseVpdq,
  parseVpdqValue,
  toCompact,
  toReferenceText,
  toThreatExchange,
  toThreatExchangeJson,
  type VpdqFrame,
} from '../../src/video/vpdq.js';
import { SHARED, sharedAvailable } from '../helpers/fixtures.js';

const H1 = 'dadb999c25266273529cadac89cb52c22324ad3bce99726c38668d93c799f07c';
const H2 = 'f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22';

// [x, printf("%.3f", x), Python format(x, '.3')], computed with CPython 3 (glibc printf rounding).
const NUMBERS: [number, string, string][] = [
  [0.0, '0.000', '0.0'],
  [1.0, '1.000', '1.0'],
  [0.0625, '0.062', '0.0625'],
  [1.125, '1.125', '1.12'],
  [2.5, '2.500', '2.5'],
  [0.0005, '0.001', '0.0005'],
  [0.0015, '0.002', '0.0015'],
  [0.0025, '0.003', '0.0025'],
  [12.3455, '12.345', '12.3'],
  [99.95, '99.950', '1e+02'],
  [99.96, '99.960', '1e+02'],
  [100.0, '100.000', '1e+02'],
  [123.456, '123.456', '1.23e+02'],
  [999.5, '999.500', '1e+03'],
  [3599.999, '3599.999', '3.6e+03'],
  [0.033, '0.033', '0.033'],
  [0.03333333333333333, '0.033', '0.0333'],
  [0.03333333507180214, '0.033', '0.0333'],
  [0.23356667160987854, '0.234', '0.234'],
  [33.40006637573242, '33.400', '33.4'],
  [411.5, '411.500', '4.12e+02'],
  [118.0, '118.000', '1.18e+02'],
  [1e-5, '0.000', '1e-05'],
  [0.00015, '0.000', '0.00015'],
  [0.00123456, '0.001', '0.00123'],
  [9.9995, '9.999', '10.0'],
  [0.9995, '1.000', '1.0'],
  [10.0625, '10.062', '10.1'],
  [1234567.0, '1234567.000', '1.23e+06'],
];

const frameArb = fc.record({
  frame: fc.nat({ max: 1e6 }),
  quality: fc.integer({ min: 0, max: 100 }),
  pdq: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
  // float32 times, as the reference makes them
  seconds: fc
    .nat({ max: 1e6 })
    .chain((n) =>
      fc.constantFrom(1, 24, 25, 30, 30000 / 1001, 60).map((fps) => Math.fround(Math.fround(n) / Math.fround(fps))),
    ),
});

describe('number formatting', () => {
  it('formats seconds as printf("%.3f"), ties to even on the exact binary value', () => {
    for (const [x, printf] of NUMBERS) expect(formatSeconds(x)).toBe(printf);
  });

  it("formats timestamps as Python's format(x, '.3') (python-threatexchange)", () => {
    for (const [x, , python] of NUMBERS) expect(formatPython3(x)).toBe(python);
  });

  it('agrees with toFixed(3) wherever the value is not a tie', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e7, noNaN: true }), (x) => {
        const s = formatSeconds(x);
        // A tie needs x * 1000 to end in exactly .5; elsewhere toFixed is correctly rounded too.
        if (!Number.isInteger(x * 2000) || Number.isInteger(x * 1000)) expect(s).toBe(x.toFixed(3));
      }),
    );
  });
});

describe('the reference text form', () => {
  it('round-trips frames', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 20 }), (frames) => {
        const text = toReferenceText(frames);
        const back = parseReferenceText(text);
        expect(back.map((f) => [f.frame, f.quality, f.pdq, formatSeconds(f.seconds)])).toEqual(
          frames.map((f) => [f.frame, f.quality, f.pdq, formatSeconds(f.seconds)]),
        );
        expect(toReferenceText(back)).toBe(text);
      }),
    );
  });

  it.skipIf(!sharedAvailable)('reads and rewrites a reference hash file byte for byte', () => {
    const text = readFileSync(join(SHARED, 'conformance', 'vpdq', 'hashes', 'doorknob-hd-no-bar.txt'), 'utf8');
    const frames = parseReferenceText(text);
    expect(frames).toHaveLength(120);
    expect(frames[1]).toEqual({
      frame: 1,
      quality: 100,
      pdq: 'dadb999c25266273529cadac8dcb52c22324ad3bce99726c38660d93c799f07c',
      seconds: 0.033,
    });
    expect(toReferenceText(frames)).toBe(text);
  });

  it('rejects malformed lines with their line number', () => {
    expect(() => parseReferenceText(`0,100,${H1},0.000\n1,100,${H1.slice(1)},0.033\n`)).toThrow(/line 2/);
    expect(() => parseReferenceText(`0,101,${H1},0.000\n`)).toThrow(/quality/);
    expect(() => parseReferenceText(`0,100,${H1}\n`)).toThrow(/frame,quality,pdq,seconds/);
  });
});

describe("python-threatexchange's form", () => {
  it('writes the signal string json.dumps would write', () => {
    const frames: VpdqFrame[] = [
      { frame: 0, quality: 100, pdq: H1, seconds: 0 },
      { frame: 30, quality: 49, pdq: H2, seconds: 1 },
      { frame: 3690, quality: 100, pdq: H1, seconds: 123 },
    ];
    expect(toThreatExchange(frames)).toEqual([`${H1},100,0.0`, `${H2},49,1.0`, `${H1},100,1.23e+02`]);
    expect(toThreatExchangeJson(frames)).toBe(`["${H1},100,0.0", "${H2},49,1.0", "${H1},100,1.23e+02"]`);
  });

  it('reads the JSON string, a list, and ward hash frame objects', () => {
    const want = [{ frame: -1, quality: 100, pdq: H1, seconds: 0.5 }];
    expect(parseThreatExchange(`["${H1},100,0.5"]`)).toEqual(want);
    expect(parseThreatExchange([`${H1.toUpperCase()},100,5e-1`])).toEqual(want);
    expect(parseVpdq([{ frame: 15, quality: 100, pdq: H1, seconds: 0.5 }])).toEqual([{ ...want[0], frame: 15 }]);
    expect(parseThreatExchange('')).toEqual([]);
  });

  it('refuses what python-threatexchange refuses', () => {
    for (const bad of [
      `["${H1},100"]`,
      `["${H1},-1,0.0"]`,
      `["${H1},101,0.0"]`,
      `["${H1.slice(2)},100,0.0"]`,
      '{}',
      '[1]',
    ])
      expect(() => parseThreatExchange(bad), bad).toThrow(expect.objectContaining({ code: 'WARD_ERR_SIGNAL_INVALID' }));
  });
});

describe("Ward's compact form", () => {
  it('round-trips frames (times to the millisecond; frame numbers are not kept)', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 30 }), (frames) => {
        const text = toCompact(frames);
        expect(text).not.toMatch(/[,\t"\n]/);
        const back = parseCompact(text);
        expect(back.map((f) => [f.pdq, f.quality, formatSeconds(f.seconds)])).toEqual(
          frames.map((f) => [f.pdq, f.quality, formatSeconds(f.seconds)]),
        );
        expect(toCompact(back)).toBe(text);
        expect(looksCompact(text)).toBe(true);
      }),
    );
  });

  it('normalises every accepted form to the compact form', () => {
    const compact = `${H1}:100:0.000 ${H2}:40:1.000`;
    expect(parseVpdqValue(`  ${H1.toUpperCase()}:100:0   ${H2}:40:1.0\n`)).toBe(compact);
    expect(parseVpdqValue(`["${H1},100,0.0", "${H2},40,1.0"]`)).toBe(compact);
    expect(parseVpdqValue(`0,100,${H1},0.000\n30,40,${H2},1.000\n`)).toBe(compact);
    expect(() => parseVpdqValue('')).toThrow(/at least one frame/);
    expect(() => parseVpdqValue(`${H1}:100`)).toThrow(/pdqhex:quality:seconds/);
  });
});

describe('the vpdq signal type and bank files', () => {
  const value = `${H1}:100:0.000 ${H2}:100:1.000`;

  it('is registered, parses and compares by the vPDQ rule', () => {
    const t = getSignalType('vpdq');
    expect(t?.parse(`["${H1},100,0.0", "${H2},100,1.0"]`)).toBe(value);
    expect(t?.compare(value, value)).toEqual({ match: true, distance: 0 });
    expect(t?.compare(value, `${H1}:100:0.000`)).toEqual({ match: false, distance: 0 }); // 50% of the query
    for (const e of t?.examples ?? []) expect(t?.parse(e)).toBe(e);
  });

  it('is detected from its structure only, never from hex alone', () => {
    expect(detectSignal(value)).toEqual({ signal: 'vpdq', value });
    expect(detectSignal(`["${H1},100,0.0"]`)).toEqual({ signal: 'vpdq', value: `${H1}:100:0.000` });
    expect(() => detectSignal(H1)).toThrow(/pdq or sha256/);
    expect(sniffFormat(`["${H1},100,0.0", "${H2},100,1.0"]`)).toBe('lines');
    expect(sniffFormat(value)).toBe('lines');
  });

  async function read(text: string, options = {}): Promise<(ParsedEntry | RowIssue)[]> {
    const out: (ParsedEntry | RowIssue)[] = [];
    async function* input(): AsyncGenerator<Buffer> {
      yield Buffer.from(text);
    }
    for await (const x of readBankFile(input(), options)) out.push(x);
    return out;
  }

  it('imports from lines, csv, tsv and ndjson (value string or list), and exports back', async () => {
    const te = `["${H1},100,0.0", "${H2},100,1.0"]`;
    const want = { signal: 'vpdq', value, labels: [] };
    expect(await read(`${value}\n${te}\n`)).toEqual([
      { ...want, line: 1 },
      { ...want, line: 2 },
    ]);
    expect(await read(`signal,value,labels\nvpdq,${value},x\n`)).toEqual([{ ...want, labels: ['x'], line: 2 }]);
    expect(await read(`value,labels\n"${te.replaceAll('"', '""')}",\n`)).toEqual([{ ...want, line: 2 }]);
    expect(await read(`value\tlabels\n${value}\ty\n`)).toEqual([{ ...want, labels: ['y'], line: 2 }]);
    expect(
      await read(
        [
          JSON.stringify({ signal: 'vpdq', value }),
          JSON.stringify({ vpdq: JSON.parse(te) }),
          JSON.stringify({
            vpdq: [
              { frame: 0, quality: 100, pdq: H1, seconds: 0 },
              { quality: 100, pdq: H2, seconds: 1 },
            ],
          }),
          JSON.stringify({ vpdq: 'not frames' }),
        ].join('\n'),
      ),
    ).toEqual([
      { ...want, line: 1 },
      { ...want, line: 2 },
      { ...want, line: 3 },
      expect.objectContaining({ line: 4, code: 'WARD_ERR_BANK_ROW_INVALID' }),
    ]);
    // A long video fits a line: 3600 frames (an hour at one frame a second) is ~270 KB.
    const hour = toCompact(Array.from({ length: 3600 }, (_, i) => ({ pdq: H1, quality: 100, seconds: i })));
    expect(await read(`${hour}\n`)).toEqual([{ signal: 'vpdq', value: hour, labels: [], line: 1 }]);
    for (const format of ['csv', 'tsv', 'ndjson', 'lines'] as const) {
      const chunks: string[] = [];
      const out = { write: (s: string) => chunks.push(s) > 0, once: () => {} } as unknown as NodeJS.WritableStream;
      const entries: ExportEntry[] = [{ signal: 'vpdq', value, labels: ['a'], sourceId: 'v1' }];
      await writeBankFile(entries, format, out);
      const back = await read(chunks.join(''), format === 'lines' ? { format } : {});
      expect(back, format).toEqual([expect.objectContaining({ signal: 'vpdq', value })]);
    }
  });
});
