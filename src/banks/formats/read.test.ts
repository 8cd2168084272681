import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../errors.js';
import { WardError } from '../../errors.js';
import type { ParsedEntry, ReadBankFileOptions, RowIssue } from '../types.js';
import { detectSignal, sniffFormat } from './detect.js';
import { readBankFile } from './read.js';
import { writeBankFile } from './write.js';

/** Synthetic hex of `chars` length, derived from a seed (no real hash list involved). */
function hex(chars: number, seed: string): string {
  let out = '';
  for (let i = 0; out.length < chars; i++) out += createHash('sha256').update(`${seed}/${i}`).digest('hex');
  return out.slice(0, chars);
}

const MD5 = hex(32, 'md5');
const SHA1 = hex(40, 'sha1');
const SHA256 = hex(64, 'sha256');
const PDQ = hex(64, 'pdq');

async function* oneChunk(text: string | Buffer): AsyncGenerator<string | Buffer> {
  yield text;
}

async function read(text: string | Buffer, options?: ReadBankFileOptions): Promise<(ParsedEntry | RowIssue)[]> {
  const out: (ParsedEntry | RowIssue)[] = [];
  for await (const item of readBankFile(oneChunk(text), options)) out.push(item);
  return out;
}

async function readError(text: string, options?: ReadBankFileOptions): Promise<WardError> {
  try {
    await read(text, options);
  } catch (err) {
    if (WardError.is(err)) return err;
    throw err;
  }
  throw new Error('expected a WardError');
}

function isIssue(x: ParsedEntry | RowIssue): x is RowIssue {
  return 'code' in x;
}

function entries(items: (ParsedEntry | RowIssue)[]): ParsedEntry[] {
  return items.filter((x): x is ParsedEntry => !isIssue(x));
}

function issueLines(items: (ParsedEntry | RowIssue)[]): number[] {
  return items.filter(isIssue).map((x) => x.line);
}

function expectCode(err: WardError, code: ErrorCode): void {
  expect(err.code).toBe(code);
}

describe('detectSignal', () => {
  it('detects md5 and sha1 by length and normalises case and spaces', () => {
    expect(detectSignal(`  ${MD5.toUpperCase()} `)).toEqual({ signal: 'md5', value: MD5 });
    expect(detectSignal(SHA1)).toEqual({ signal: 'sha1', value: SHA1 });
  });

  it('refuses to guess between pdq and sha256', () => {
    expect(() => detectSignal(PDQ)).toThrow(/may be pdq or sha256/);
    try {
      detectSignal(PDQ);
    } catch (err) {
      expect(WardError.is(err) && err.code).toBe('WARD_ERR_SIGNAL_INVALID');
    }
    expect(detectSignal(PDQ, 'pdq')).toEqual({ signal: 'pdq', value: PDQ });
    expect(detectSignal(SHA256, 'SHA256')).toEqual({ signal: 'sha256', value: SHA256 });
  });

  it('rejects other values and unknown signal names with distinct codes', () => {
    for (const bad of ['', 'xyz', MD5.slice(1), `${MD5}g`]) {
      expect(() => detectSignal(bad)).toThrowError(expect.objectContaining({ code: 'WARD_ERR_SIGNAL_INVALID' }));
    }
    expect(() => detectSignal(MD5, 'crc32')).toThrowError(expect.objectContaining({ code: 'WARD_ERR_CONFIG_INVALID' }));
    expect(() => detectSignal(MD5, 'sha1')).toThrowError(expect.objectContaining({ code: 'WARD_ERR_SIGNAL_INVALID' }));
  });
});

describe('sniffFormat', () => {
  it.each([
    ['{"md5":"x"}', 'ndjson'],
    ['signal\tvalue', 'tsv'],
    ['hash,id,tags', 'te-csv'],
    ['HASH', 'te-csv'],
    ['"Hash",x', 'te-csv'],
    ['signal,value', 'csv'],
    [MD5, 'lines'],
    ['# exported list, v2', 'lines'],
    ['\uFEFF{"pdq":1}', 'ndjson'],
  ] as const)('%s -> %s', (line, format) => {
    expect(sniffFormat(line)).toBe(format);
  });
});

describe('readBankFile: lines', () => {
  it('reads one hash per line with comments, blank lines, CRLF and a BOM, counting physical lines', async () => {
    const text = `\uFEFF# a comment\r\n${MD5}\r\n\r\n   \n${SHA1.toUpperCase()}\nnot-a-hash\n  # indented comment\n${SHA1}`;
    const items = await read(text);
    expect(entries(items)).toEqual([
      { signal: 'md5', value: MD5, labels: [], line: 2 },
      { signal: 'sha1', value: SHA1, labels: [], line: 5 },
      { signal: 'sha1', value: SHA1, labels: [], line: 8 },
    ]);
    expect(issueLines(items)).toEqual([6]);
  });

  it('reports a 64-hex line as ambiguous unless the signal is given', async () => {
    const items = await read(`${PDQ}\n${MD5}\n`);
    expect(issueLines(items)).toEqual([1]);
    expect((items[0] as RowIssue).message).toMatch(/may be pdq or sha256/);
    expect(entries(items)).toHaveLength(1);
    const given = await read(`${PDQ}\n`, { signal: 'pdq' });
    expect(given).toEqual([{ signal: 'pdq', value: PDQ, labels: [], line: 1 }]);
  });

  it('never echoes more than 20 characters of a bad value', async () => {
    const long = 'z'.repeat(500);
    const [issue] = (await read(`${long}\n`, { format: 'lines' })) as RowIssue[];
    expect(issue.code).toBe('WARD_ERR_BANK_ROW_INVALID');
    expect(issue.message).not.toContain('z'.repeat(21));
    expect(issue.message).toContain('z'.repeat(20));
  });

  it('throws on an empty file or blank lines only, and on unknown options', async () => {
    expectCode(await readError(''), 'WARD_ERR_BANK_FORMAT');
    expectCode(await readError('\uFEFF\r\n  \n\t\n'), 'WARD_ERR_BANK_FORMAT');
    expectCode(await readError(MD5, { signal: 'crc32' }), 'WARD_ERR_CONFIG_INVALID');
    expectCode(await readError(MD5, { maxLineBytes: 0 }), 'WARD_ERR_CONFIG_INVALID');
  });

  it('turns an over-long line into a row issue and reads the next line', async () => {
    const huge = 'a'.repeat(1200 * 1024);
    const items = await read(`${MD5}\n${huge}\n${SHA1}\n`, { format: 'lines' });
    expect(items).toEqual([
      { signal: 'md5', value: MD5, labels: [], line: 1 },
      { line: 2, code: 'WARD_ERR_BANK_ROW_INVALID', message: 'The line is longer than 1048576 bytes' },
      { signal: 'sha1', value: SHA1, labels: [], line: 3 },
    ]);
  });

  it('drops an over-long line arriving in many chunks without keeping it', async () => {
    async function* chunks(): AsyncGenerator<Buffer> {
      yield Buffer.from(`${MD5}\n`);
      for (let i = 0; i < 50; i++) yield Buffer.alloc(4096, 0x61);
      yield Buffer.from(`\r\n${SHA1}`);
    }
    const items: (ParsedEntry | RowIssue)[] = [];
    for await (const x of readBankFile(chunks(), { maxLineBytes: 1000 })) items.push(x);
    expect(items.map((x) => x.line)).toEqual([1, 2, 3]);
    expect(isIssue(items[1])).toBe(true);
    expect(entries(items).map((e) => e.signal)).toEqual(['md5', 'sha1']);
  });

  it('accepts a line of exactly maxLineBytes, with or without CR', async () => {
    const items = await read(`${MD5}\r\n${MD5}\n${MD5}x\n`, { maxLineBytes: 32, format: 'lines' });
    expect(issueLines(items)).toEqual([3]);
    expect(entries(items)).toHaveLength(2);
  });

  it('throws when the first line is too long to detect the format from', async () => {
    expectCode(await readError(`${'a'.repeat(100)}\n${MD5}`, { maxLineBytes: 50 }), 'WARD_ERR_BANK_FORMAT');
  });

  it('reads a Node Readable stream', async () => {
    const out: (ParsedEntry | RowIssue)[] = [];
    for await (const x of readBankFile(Readable.from([Buffer.from(`${MD5}\n${SHA1}\n`)]))) out.push(x);
    expect(entries(out).map((e) => e.value)).toEqual([MD5, SHA1]);
  });
});

describe('readBankFile: csv and tsv', () => {
  it('reads mixed signal types with a signal column, labels and ids', async () => {
    const text = [
      'Signal,Value,Labels,ID',
      `md5,${MD5},b;a|a,src-1`,
      `sha1,${SHA1},,`,
      `pdq,${PDQ}," x ; y ",42`,
      `sha256,${SHA256},"quoted, with comma","id ""q"""`,
      `,${SHA1},,`,
      `crc32,${MD5},,`,
      `sha1,${MD5},,`,
      `,${PDQ},,`,
      `md5,${MD5},too,many,fields`,
      `md5,"${MD5},,`,
    ].join('\r\n');
    const items = await read(text);
    expect(entries(items)).toEqual([
      { signal: 'md5', value: MD5, labels: ['a', 'b'], sourceId: 'src-1', line: 2 },
      { signal: 'sha1', value: SHA1, labels: [], line: 3 },
      { signal: 'pdq', value: PDQ, labels: ['x', 'y'], sourceId: '42', line: 4 },
      { signal: 'sha256', value: SHA256, labels: ['quoted, with comma'], sourceId: 'id "q"', line: 5 },
      { signal: 'sha1', value: SHA1, labels: [], line: 6 },
    ]);
    const issues = items.filter(isIssue);
    expect(issues.map((i) => i.line)).toEqual([7, 8, 9, 10, 11]);
    expect(issues[0].message).toMatch(/Unknown signal type "crc32"/);
    expect(issues[1].message).toMatch(/40-hex sha1/);
    expect(issues[2].message).toMatch(/may be pdq or sha256/);
    expect(issues[3].message).toMatch(/Expected 4 fields/);
    expect(issues[4].message).toMatch(/not closed/);
  });

  it('lets options.signal win over the signal column', async () => {
    const items = await read(`signal,value\nmd5,${SHA256}\n`, { signal: 'sha256' });
    expect(entries(items)).toEqual([{ signal: 'sha256', value: SHA256, labels: [], line: 2 }]);
  });

  it('uses default column names and falls back to the first free column', async () => {
    const a = await read(`source_id,signal_type,signal_value,tags\nx1,md5,${MD5},t\n`);
    expect(entries(a)).toEqual([{ signal: 'md5', value: MD5, labels: ['t'], sourceId: 'x1', line: 2 }]);
    const b = await read(`id,checksum\nx2,${SHA1}\n`);
    expect(entries(b)).toEqual([{ signal: 'sha1', value: SHA1, labels: [], sourceId: 'x2', line: 2 }]);
  });

  it('maps columns by name, case-insensitively', async () => {
    const items = await read(`Ref,Digest,Kind\nr1,${MD5},cat-a\n`, {
      columns: { value: 'digest', id: 'REF', labels: 'kind' },
    });
    expect(entries(items)).toEqual([{ signal: 'md5', value: MD5, labels: ['cat-a'], sourceId: 'r1', line: 2 }]);
  });

  it('throws before any entry when a mapped column is missing or the header is broken', async () => {
    const err = await readError(`a,b\n${MD5},x\n`, { columns: { value: 'hash_value' } });
    expectCode(err, 'WARD_ERR_BANK_FORMAT');
    expect(err.message).toMatch(/no column "hash_value"/);
    expectCode(await readError(`"a,b\n${MD5},x\n`, { format: 'csv' }), 'WARD_ERR_BANK_FORMAT');
    expectCode(await readError(`${'x,'.repeat(40)}\n`, { format: 'csv', maxLineBytes: 20 }), 'WARD_ERR_BANK_FORMAT');
  });

  it('reads a header-only file as no entries', async () => {
    expect(await read('signal,value,labels,id\n')).toEqual([]);
  });

  it('reads tsv without quoting, with line numbers past blank lines', async () => {
    const text = `signal\tvalue\tlabels\n\nmd5\t${MD5}\tx "y"|z\nsha1\t${SHA1}\n`;
    const items = await read(text);
    expect(entries(items)).toEqual([{ signal: 'md5', value: MD5, labels: ['x "y"', 'z'], line: 3 }]);
    expect(issueLines(items)).toEqual([4]);
  });

  it('rejects labels longer than 128 characters', async () => {
    const items = await read(`value,labels\n${MD5},${'l'.repeat(129)}\n${MD5},${'l'.repeat(128)}\n`);
    expect(issueLines(items)).toEqual([2]);
    expect(entries(items)[0].labels).toEqual(['l'.repeat(128)]);
  });
});

describe('readBankFile: te-csv', () => {
  it('reads hashes as pdq with ids and tags from the header, ignoring other columns', async () => {
    const text = `hash,distance,quality,indicator_id,tags,timestamp\n${PDQ.toUpperCase()},0,100,123,b a,1700000000\n${MD5},0,100,124,,\n`;
    const items = await read(text);
    expect(entries(items)).toEqual([{ signal: 'pdq', value: PDQ, labels: ['b a'], sourceId: '123', line: 2 }]);
    expect(issueLines(items)).toEqual([3]);
  });

  it('reads a headerless file when the format is given', async () => {
    const items = await read(`${PDQ},99,whatever\n${PDQ}\n`, { format: 'te-csv' });
    expect(entries(items).map((e) => [e.signal, e.line])).toEqual([
      ['pdq', 1],
      ['pdq', 2],
    ]);
    expectCode(await readError(`${PDQ}\n`, { format: 'te-csv', columns: { id: 'id' } }), 'WARD_ERR_BANK_FORMAT');
  });

  it('uses options.signal instead of pdq', async () => {
    const items = await read(`hash\n${SHA256}\n`, { signal: 'sha256' });
    expect(entries(items)).toEqual([{ signal: 'sha256', value: SHA256, labels: [], line: 2 }]);
  });
});

describe('readBankFile: ndjson', () => {
  it('reads signal+value objects and signal-name keys, with labels and ids', async () => {
    const lines = [
      JSON.stringify({ signal: 'pdq', value: PDQ, labels: ['b', 'a', 'b', ' '], id: 7 }),
      JSON.stringify({ md5: MD5.toUpperCase(), labels: 'x;y', sourceId: 's-1' }),
      '',
      JSON.stringify({ value: SHA1 }),
      'not json',
      '[1,2]',
      JSON.stringify({ labels: ['a'] }),
      JSON.stringify({ md5: MD5, sha1: SHA1 }),
      JSON.stringify({ md5: 5 }),
      JSON.stringify({ md5: MD5, labels: [1] }),
      JSON.stringify({ md5: MD5, id: { a: 1 } }),
      `{"md5":"${MD5}","id":123456789012345678901}`,
      JSON.stringify({ value: PDQ }),
      JSON.stringify({ signal: 'nope', value: MD5 }),
      'null',
    ];
    const items = await read(lines.join('\n'));
    expect(entries(items)).toEqual([
      { signal: 'pdq', value: PDQ, labels: ['a', 'b'], sourceId: '7', line: 1 },
      { signal: 'md5', value: MD5, labels: ['x', 'y'], sourceId: 's-1', line: 2 },
      { signal: 'sha1', value: SHA1, labels: [], line: 4 },
    ]);
    expect(issueLines(items)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    for (const i of items.filter(isIssue)) expect(i.code).toBe('WARD_ERR_BANK_ROW_INVALID');
  });
});

describe('writeBankFile', () => {
  it('writes each format as documented', async () => {
    const list = [
      { signal: 'md5', value: MD5, labels: ['a', 'b'], sourceId: 'x,1' },
      { signal: 'pdq', value: PDQ, labels: [] },
    ];
    const text = async (format: Parameters<typeof writeBankFile>[1]) => {
      const chunks: string[] = [];
      const out = new Writable({
        write(chunk, _enc, cb) {
          chunks.push(String(chunk));
          cb();
        },
      });
      await writeBankFile(list, format, out);
      return chunks.join('');
    };
    expect(await text('csv')).toBe(`signal,value,labels,id\nmd5,${MD5},a;b,"x,1"\npdq,${PDQ},,\n`);
    expect(await text('tsv')).toBe(`signal\tvalue\tlabels\tid\nmd5\t${MD5}\ta;b\tx,1\npdq\t${PDQ}\t\t\n`);
    expect(await text('te-csv')).toBe(`hash,id,labels\n${PDQ},,\n`);
    expect(await text('lines')).toBe(`${MD5}\n${PDQ}\n`);
    expect(await text('ndjson')).toBe(
      `{"signal":"md5","value":"${MD5}","labels":["a","b"],"id":"x,1"}\n{"signal":"pdq","value":"${PDQ}","labels":[]}\n`,
    );
  });

  it('waits for drain instead of writing into a full stream', async () => {
    let writesWhileFull = 0;
    let drains = 0;
    let received = 0;
    const out = new Writable({
      highWaterMark: 1024,
      write(chunk, _enc, cb) {
        received += chunk.length;
        setImmediate(cb);
      },
    });
    out.on('drain', () => drains++);
    const realWrite = out.write.bind(out);
    out.write = ((chunk: string) => {
      if (out.writableNeedDrain) writesWhileFull++;
      return realWrite(chunk);
    }) as typeof out.write;
    const list = Array.from({ length: 5000 }, (_, i) => ({ signal: 'md5', value: hex(32, `e${i}`), labels: [] }));
    await writeBankFile(list, 'lines', out);
    expect(writesWhileFull).toBe(0);
    expect(drains).toBeGreaterThan(0);
    await new Promise<void>((resolve) => out.end(resolve));
    expect(received).toBe(5000 * 33);
  });
});
