/**
 * `ward bank` and `ward match` as outside tooling sees them: import formats and their JSON
 * reports, transactional imports, export round trips, listings, usage errors and exit codes, the
 * match NDJSON contract, --hashes input and table output. Only benign synthetic images and
 * derived hex are used.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage, variant } from '../../src/demo/images.js';
import { hashImage, type ImageHashes } from '../../src/signals/image.js';
import { pdqDistance } from '../../src/signals/pdq/distance.js';
import { tempDir as makeTempDir, type RunResult, runWard } from '../helpers/cli.js';

/** Synthetic hex of `chars` length derived from a seed. */
function hex(chars: number, seed: string): string {
  let out = '';
  for (let i = 0; out.length < chars; i++) out += createHash('sha256').update(`${seed}/${i}`).digest('hex');
  return out.slice(0, chars);
}
const md5 = (s: string | number) => hex(32, `md5:${s}`);
const sha1 = (s: string | number) => hex(40, `sha1:${s}`);
const sha256 = (s: string | number) => hex(64, `sha256:${s}`);
const pdq = (s: string | number) => hex(64, `pdq:${s}`);

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON records
type Json = any;
const parseLines = (stdout: string): Json[] =>
  stdout.trim() === ''
    ? []
    : stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));

/** Entries of one import are stored (and exported) in (signal, value) order. */
const inStoreOrder = <T extends { signal: string; value: string }>(entries: T[]): T[] =>
  [...entries].sort((a, b) => (a.signal + a.value < b.signal + b.value ? -1 : 1));

/** A `ward` runner bound to one database. */
function wardOn(db: string) {
  return (args: string[], input?: string): Promise<RunResult> =>
    runWard([...args, '--db', db], input === undefined ? {} : { input });
}

const made: string[] = [];
/** A fresh temporary directory, removed after the file's tests. */
function tempDir(prefix?: string): string {
  const d = makeTempDir(prefix);
  made.push(d);
  return d;
}
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

let dir: string;
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(() => {
  dir = tempDir('ward-bank-cli-');
});

describe('ward bank', () => {
  it('creates block and negative banks, refuses duplicates and bad names', async () => {
    const ward = wardOn(join(tempDir(), 'w.db'));
    const a = await ward(['bank', 'create', 'blk']);
    expect(a).toMatchObject({ code: 0, stdout: 'created block bank blk (pdq distance 31)\n', stderr: '' });
    const b = await ward(['bank', 'create', 'fp', '--negative', '--distance', '10']);
    expect(b).toMatchObject({ code: 0, stdout: 'created negative bank fp (pdq distance 10)\n' });
    const dup = await ward(['bank', 'create', 'blk', '--negative']);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain('WARD_ERR_BANK_EXISTS');
    const badName = await ward(['bank', 'create', 'no/slashes']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('WARD_ERR_BANK_NAME');
    const list = await ward(['bank', 'list']);
    expect(parseLines(list.stdout).map((x) => [x.name, x.kind, x.pdqDistance, x.entries])).toEqual([
      ['blk', 'block', 31, 0],
      ['fp', 'negative', 10, 0],
    ]);
  });

  it('imports csv (default and mapped columns), te-csv, ndjson, lines, tsv and stdin', async () => {
    const ward = wardOn(join(tempDir(), 'w.db'));
    for (const name of ['csv', 'mapped', 'te', 'te-bare', 'nd', 'lines', 'tsv', 'stdin']) {
      expect((await ward(['bank', 'create', name])).code).toBe(0);
    }
    const report = (r: RunResult) => {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout);
    };
    const exported = async (bank: string) => parseLines((await ward(['bank', 'export', bank])).stdout);

    // csv: header names picked up by default (id, hash, signal_type, tags)
    const csv = file('list.csv', `id,hash,signal_type,tags\na1,${md5(1)},md5,red|blue\na2,${pdq(1)},pdq,\n`);
    expect(report(await ward(['bank', 'import', 'csv', csv]))).toEqual({
      bank: 'csv',
      added: 2,
      updated: 0,
      unchanged: 0,
      deleted: 0,
      invalid: 0,
    });
    expect(await exported('csv')).toEqual([
      { signal: 'md5', value: md5(1), labels: ['blue', 'red'], id: 'a1' },
      { signal: 'pdq', value: pdq(1), labels: [], id: 'a2' },
    ]);

    // csv with the columns named on the command line
    const mapped = file('mapped.csv', `ref,digest,kind,cats\nr1,${sha1(1).toUpperCase()},sha1,x;y\n`);
    const m = await ward([
      'bank',
      'import',
      'mapped',
      mapped,
      '--value-column',
      'digest',
      '--signal-column',
      'kind',
      '--labels-column',
      'cats',
      '--id-column',
      'ref',
    ]);
    expect(report(m)).toMatchObject({ added: 1 });
    expect(await exported('mapped')).toEqual([{ signal: 'sha1', value: sha1(1), labels: ['x', 'y'], id: 'r1' }]);

    // te-csv: detected from its "hash" header; headerless with --format te-csv
    const te = file('te.csv', `hash,id,tags\n${pdq(2)},t1,alpha;beta\n${pdq(3)},t2,\n`);
    expect(report(await ward(['bank', 'import', 'te', te]))).toMatchObject({ added: 2 });
    expect(await exported('te')).toEqual(
      inStoreOrder([
        { signal: 'pdq', value: pdq(2), labels: ['alpha', 'beta'], id: 't1' },
        { signal: 'pdq', value: pdq(3), labels: [], id: 't2' },
      ]),
    );
    const bare = file('bare.csv', `${pdq(4)},x,y\n${pdq(5)}\n`);
    expect(report(await ward(['bank', 'import', 'te-bare', bare, '--format', 'te-csv']))).toMatchObject({ added: 2 });
    expect((await exported('te-bare')).map((e: Json) => [e.signal, e.value])).toEqual(
      inStoreOrder([
        { signal: 'pdq', value: pdq(4) },
        { signal: 'pdq', value: pdq(5) },
      ]).map((e) => [e.signal, e.value]),
    );

    // ndjson: signal/value records and signal-named keys
    const nd = file(
      'list.ndjson',
      `${JSON.stringify({ signal: 'sha256', value: sha256(1), labels: ['l'], id: 'n1' })}\n${JSON.stringify({ md5: md5(2), id: 7 })}\n`,
    );
    expect(report(await ward(['bank', 'import', 'nd', nd]))).toMatchObject({ added: 2 });
    expect(await exported('nd')).toEqual([
      { signal: 'md5', value: md5(2), labels: [], id: '7' },
      { signal: 'sha256', value: sha256(1), labels: ['l'], id: 'n1' },
    ]);

    // lines: 64-hex needs --signal; comments and blank lines are skipped
    const lines = file('pdq.txt', `# PDQ hashes\n${pdq(6)}\n\n${pdq(7).toUpperCase()}\n`);
    expect(report(await ward(['bank', 'import', 'lines', lines, '--signal', 'pdq']))).toMatchObject({ added: 2 });
    expect((await exported('lines')).map((e: Json) => e.value)).toEqual([pdq(6), pdq(7)].sort());

    // tsv
    const tsv = file('list.tsv', `signal\tvalue\tlabels\tid\nmd5\t${md5(3)}\tk\tv1\nsha1\t${sha1(3)}\t\t\n`);
    expect(report(await ward(['bank', 'import', 'tsv', tsv]))).toMatchObject({ added: 2 });
    expect(await exported('tsv')).toEqual([
      { signal: 'md5', value: md5(3), labels: ['k'], id: 'v1' },
      { signal: 'sha1', value: sha1(3), labels: [] },
    ]);

    // stdin
    const s = await ward(['bank', 'import', 'stdin', '-'], `${md5(4)}\n${sha1(4)}\n`);
    expect(report(s)).toMatchObject({ added: 2 });
    expect((await exported('stdin')).map((e: Json) => e.signal)).toEqual(['md5', 'sha1']);
  });

  it('re-imports idempotently, reports invalid lines, --skip-invalid and --replace', async () => {
    const ward = wardOn(join(tempDir(), 'w.db'));
    await ward(['bank', 'create', 'b']);
    const good = file('good.txt', `${md5(1)}\n${md5(2)}\n${sha1(1)}\n`);
    const first = await ward(['bank', 'import', 'b', good]);
    expect(JSON.parse(first.stdout)).toEqual({ bank: 'b', added: 3, updated: 0, unchanged: 0, deleted: 0, invalid: 0 });
    const again = await ward(['bank', 'import', 'b', good]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ bank: 'b', added: 0, updated: 0, unchanged: 3, deleted: 0, invalid: 0 });
    const version = async () => JSON.parse((await ward(['bank', 'stats', 'b'])).stdout).bank.version;
    expect(await version()).toBe(1);

    // Invalid lines: nothing applied, exit 2, every bad line number on stderr.
    const badFile = file('bad.txt', `${md5(3)}\nnot-a-hash\n${md5(4)}\n${'ab'.repeat(32)}\n`);
    const bad = await ward(['bank', 'import', 'b', badFile]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^line 2: WARD_ERR_BANK_ROW_INVALID: /m);
    expect(bad.stderr).toMatch(/^line 4: WARD_ERR_BANK_ROW_INVALID: .*64-hex/m);
    expect(bad.stderr).not.toMatch(/^line [13]:/m);
    expect(bad.stderr).toContain('WARD_ERR_BANK_IMPORT_FAILED');
    const stats = JSON.parse((await ward(['bank', 'stats', 'b'])).stdout);
    expect(stats).toMatchObject({ entries: 3, bySignal: { md5: 2, sha1: 1 } });
    expect(stats.bank.version).toBe(1);

    // --skip-invalid: the valid lines go in; still exit 2 with the report.
    const skip = await ward(['bank', 'import', 'b', badFile, '--skip-invalid']);
    expect(skip.code).toBe(2);
    expect(JSON.parse(skip.stdout)).toEqual({ bank: 'b', added: 2, updated: 0, unchanged: 0, deleted: 0, invalid: 2 });
    expect(skip.stderr).toMatch(/^line 2: /m);
    expect(skip.stderr).not.toContain('WARD_ERR_BANK_IMPORT_FAILED');

    // --replace: the bank becomes the file.
    const labelled = file('replace.csv', `signal,value,labels\nmd5,${md5(1)},now\nsha1,${sha1(1)},\nmd5,${md5(9)},\n`);
    const rep = await ward(['bank', 'import', 'b', labelled, '--replace']);
    expect(rep.code).toBe(0);
    expect(JSON.parse(rep.stdout)).toEqual({ bank: 'b', added: 1, updated: 1, unchanged: 1, deleted: 3, invalid: 0 });
    const after = parseLines((await ward(['bank', 'export', 'b'])).stdout);
    expect(after.map((e: Json) => [e.value, e.labels]).sort()).toEqual(
      [
        [md5(1), ['now']],
        [sha1(1), []],
        [md5(9), []],
      ].sort(),
    );
    // An empty file is a format error, and applies nothing.
    const empty = await ward(['bank', 'import', 'b', file('empty.txt', '\n\n')]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('WARD_ERR_BANK_FORMAT');
    // An invalid line in a --replace applies nothing either.
    const badReplace = file('bad-replace.txt', `${md5(1)}\nzz\n`);
    expect((await ward(['bank', 'import', 'b', badReplace, '--replace'])).code).toBe(2);
    expect(parseLines((await ward(['bank', 'export', 'b'])).stdout)).toEqual(after);
  });

  it('lists the first 100 invalid lines and counts the rest', async () => {
    const ward = wardOn(join(tempDir(), 'w.db'));
    await ward(['bank', 'create', 'b']);
    const many = file('many-bad.txt', `${Array.from({ length: 130 }, (_, i) => `bad${i}`).join('\n')}\n${md5(1)}\n`);
    const r = await ward(['bank', 'import', 'b', many]);
    expect(r.code).toBe(2);
    expect(r.stderr.match(/^line \d+: WARD_ERR_BANK_ROW_INVALID/gm)).toHaveLength(100);
    expect(r.stderr).toContain('... and 30 more invalid lines');
    expect(r.stderr).toContain('130 invalid line(s)');
  });

  it('exports and re-imports every format to the same entries', async () => {
    const ward = wardOn(join(tempDir(), 'w.db'));
    await ward(['bank', 'create', 'src']);
    const records = [
      { signal: 'md5', value: md5(10), labels: ['a', 'b,c'], id: 'i1' },
      { signal: 'sha1', value: sha1(10), labels: [] },
      { signal: 'sha256', value: sha256(10), labels: ['z'], id: 'with "quotes"' },
      { signal: 'pdq', value: pdq(10), labels: ['p'], id: 'i4' },
      { signal: 'pdq', value: pdq(11), labels: [] },
    ];
    const src = file('src.ndjson', records.map((r) => JSON.stringify(r)).join('\n'));
    expect((await ward(['bank', 'import', 'src', src])).code).toBe(0);
    const original = parseLines((await ward(['bank', 'export', 'src'])).stdout);
    expect(original).toEqual(inStoreOrder(records));

    for (const format of ['csv', 'tsv', 'ndjson']) {
      const out = join(dir, `export.${format}`);
      const e = await ward(['bank', 'export', 'src', '--format', format, '--out', out]);
      expect(e).toMatchObject({ code: 0, stdout: '', stderr: '' });
      const viaStdout = await ward(['bank', 'export', 'src', '--format', format]);
      expect(viaStdout.stdout).toBe(readFileSync(out, 'utf8'));
      await ward(['bank', 'create', `copy-${format}`]);
      const imp = await ward(['bank', 'import', `copy-${format}`, out, '--format', format]);
      expect(imp.code).toBe(0);
      expect(JSON.parse(imp.stdout)).toMatchObject({ added: 5, invalid: 0 });
      expect(parseLines((await ward(['bank', 'export', `copy-${format}`])).stdout)).toEqual(original);
    }

    // te-csv holds the PDQ entries only.
    const te = await ward(['bank', 'export', 'src', '--format', 'te-csv']);
    expect(te.stdout.split('\n')[0]).toBe('hash,id,labels');
    await ward(['bank', 'create', 'copy-te']);
    const teFile = file('export.te.csv', te.stdout);
    expect(JSON.parse((await ward(['bank', 'import', 'copy-te', teFile])).stdout)).toMatchObject({ added: 2 });
    expect(parseLines((await ward(['bank', 'export', 'copy-te'])).stdout)).toEqual(
      original.filter((e: Json) => e.signal === 'pdq'),
    );

    // lines hold values only: one per entry, in order; a PDQ-only bank comes back with --signal.
    const lines = await ward(['bank', 'export', 'src', '--format', 'lines']);
    expect(lines.stdout).toBe(original.map((e: Json) => `${e.value}\n`).join(''));
    await ward(['bank', 'create', 'copy-lines']);
    const pdqLines = file('export.lines', te.stdout.split('\n').slice(1).join('\n').replace(/,.*$/gm, ''));
    expect((await ward(['bank', 'import', 'copy-lines', pdqLines, '--signal', 'pdq', '--format', 'lines'])).code).toBe(
      0,
    );
    const pdqExport = await ward(['bank', 'export', 'copy-lines', '--format', 'lines']);
    expect(pdqExport.stdout).toBe(readFileSync(pdqLines, 'utf8'));
    expect(pdqExport.stdout.trim().split('\n').sort()).toEqual([pdq(10), pdq(11)].sort());
  });

  it('lists banks, shows stats and removes banks', async () => {
    const ward = wardOn(join(tempDir(), 'w.db'));
    await ward(['bank', 'create', 'one']);
    await ward(['bank', 'create', 'two', '--negative', '--distance', '0']);
    const src = file('stats.csv', `signal,value,labels\nmd5,${md5(1)},a;b\nmd5,${md5(2)},a\npdq,${pdq(1)},\n`);
    await ward(['bank', 'import', 'one', src]);

    const nd = parseLines((await ward(['bank', 'list'])).stdout);
    // The bank record of the library (with its store id) plus the entry count.
    expect(nd.map((b: Json) => Object.keys(b))).toEqual([
      ['id', 'name', 'kind', 'pdqDistance', 'createdAt', 'version', 'entries'],
      ['id', 'name', 'kind', 'pdqDistance', 'createdAt', 'version', 'entries'],
    ]);
    expect(nd.map((b: Json) => [b.name, b.kind, b.pdqDistance, b.version, b.entries])).toEqual([
      ['one', 'block', 31, 1, 3],
      ['two', 'negative', 0, 0, 0],
    ]);
    const json = await ward(['bank', 'list', '--format', 'json']);
    expect(JSON.parse(json.stdout)).toEqual(nd);
    const table = (await ward(['bank', 'list', '--format', 'table'])).stdout.split('\n');
    expect(table[0]).toMatch(/^NAME\s+KIND\s+PDQ DIST\s+ENTRIES$/);
    expect(table[1]).toMatch(/^one\s+block\s+31\s+3$/);
    expect(table[2]).toMatch(/^two\s+negative\s+0\s+0$/);

    const stats = await ward(['bank', 'stats', 'one']);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({
      bank: { name: 'one', kind: 'block', pdqDistance: 31, version: 1 },
      entries: 3,
      bySignal: { md5: 2, pdq: 1 },
      byLabel: { a: 2, b: 1 },
    });
    const statsTable = (await ward(['bank', 'stats', 'one', '--format', 'table'])).stdout;
    expect(statsTable).toContain('bank      one (block, pdq distance 31, version 1)');
    expect(statsTable).toContain('entries   3');
    expect(statsTable).toMatch(/^ {2}md5\s+2$/m);
    expect(statsTable).toContain('  a: 2');

    const rm = await ward(['bank', 'rm', 'one']);
    expect(rm).toMatchObject({ code: 0, stdout: 'removed bank one\n' });
    expect(parseLines((await ward(['bank', 'list'])).stdout).map((b: Json) => b.name)).toEqual(['two']);
    const gone = await ward(['bank', 'stats', 'one']);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('WARD_ERR_BANK_NOT_FOUND');
    const rmAgain = await ward(['bank', 'rm', 'one']);
    expect(rmAgain.code).toBe(2);
    expect(rmAgain.stderr).toContain('WARD_ERR_BANK_NOT_FOUND');
  });

  it('exits 3 on usage errors and creates nothing', async () => {
    const db = join(tempDir(), 'w.db');
    const ward = wardOn(db);
    await ward(['bank', 'create', 'b']);
    const f = file('usage.txt', `${md5(1)}\n`);
    const cases: string[][] = [
      ['bank'],
      ['bank', 'frob'],
      ['bank', 'create'],
      ['bank', 'create', 'x', 'y'],
      ['bank', 'create', 'x', '--distance', 'abc'],
      ['bank', 'create', 'x', '--distance', '257'],
      ['bank', 'create', 'x', '--distance=-1'],
      ['bank', 'create', 'x', '--distance', '1.5'],
      ['bank', 'create', 'x', '--bogus'],
      ['bank', 'import', 'b'],
      ['bank', 'import', 'b', f, 'extra'],
      ['bank', 'import', 'b', f, '--format', 'xml'],
      ['bank', 'import', 'b', f, '--signal', 'crc32'],
      ['bank', 'export', 'b', '--format', 'xml'],
      ['bank', 'export'],
      ['bank', 'list', '--format', 'xml'],
      ['bank', 'stats'],
      ['bank', 'rm'],
    ];
    const results = await Promise.all(cases.map((args) => ward(args)));
    results.forEach((r, i) => {
      expect([cases[i], r.code]).toEqual([cases[i], 3]);
      expect(r.stderr).toMatch(/^ward: WARD_ERR_(USAGE|CONFIG_INVALID): /);
      expect(r.stdout).toBe('');
    });
    const list = parseLines((await ward(['bank', 'list'])).stdout);
    expect(list.map((b: Json) => [b.name, b.entries])).toEqual([['b', 0]]);
  });

  it('read commands never create a database: a missing --db or WARD_DB is exit 3, and nothing is written', async () => {
    const missing = join(tempDir(), 'nope.db');
    const ward = wardOn(missing);
    for (const args of [
      ['bank', 'list'],
      ['bank', 'stats', 'b'],
      ['bank', 'export', 'b'],
      ['match', '--hashes', '-'],
      ['scan', dir],
    ]) {
      const r = await ward(args, `${md5(1)}\n`);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toContain('WARD_ERR_DB_NOT_FOUND');
      expect(r.stderr).toContain(missing);
    }
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(`${missing}.index`)).toBe(false);
    // The same through WARD_DB.
    const viaEnv = await runWard(['bank', 'list'], { env: { WARD_DB: missing } });
    expect(viaEnv.code).toBe(3);
    expect(existsSync(missing)).toBe(false);
  });

  it('an existing database without banks is a warning for the commands that match', async () => {
    const db = join(tempDir(), 'empty.db');
    const ward = wardOn(db);
    expect((await ward(['bank', 'create', 'x'])).code).toBe(0);
    expect((await ward(['bank', 'rm', 'x'])).code).toBe(0);
    const m = await ward(['match', '--hashes', '-'], `${md5(1)}\n`);
    expect(m.code).toBe(0);
    expect(m.stderr).toContain('warning: the database has no banks');
    const s = await ward(['scan', '--format', 'ndjson', dir]);
    expect(s.stderr).toContain('warning: no banks in the database');
  });

  it('reports an unknown bank with WARD_ERR_BANK_NOT_FOUND and a non-zero exit', async () => {
    const ward = wardOn(join(tempDir(), 'w.db'));
    expect((await ward(['bank', 'create', 'other'])).code).toBe(0); // create the database before running in parallel
    const f = file('nf.txt', `${md5(1)}\n`);
    const results = await Promise.all([
      ward(['bank', 'import', 'nope', f]),
      ward(['bank', 'export', 'nope']),
      ward(['bank', 'stats', 'nope']),
      ward(['bank', 'rm', 'nope']),
    ]);
    for (const r of results) {
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('ward: WARD_ERR_BANK_NOT_FOUND: No bank named "nope"\n');
      expect(r.stdout).toBe('');
    }
    const missing = await ward(['bank', 'import', 'nope', join(dir, 'does-not-exist.txt')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('WARD_ERR_INPUT_NOT_FOUND');
  });

  // Fixed bug: `bank export` creates (truncates) the --out file before it checks --format, so a typo in
  // the format destroys the file named by --out.
  it('regression: a bad --format does not truncate the --out file', async () => {
    const ward = wardOn(join(tempDir(), 'w.db'));
    await ward(['bank', 'create', 'b']);
    const precious = file('precious.txt', 'keep me\n');
    const r = await ward(['bank', 'export', 'b', '--format', 'xml', '--out', precious]);
    expect(r.code).toBe(3);
    expect(readFileSync(precious, 'utf8')).toBe('keep me\n');
  });

  // Fixed bug: an --out path that cannot be opened crashes the process with an unhandled 'error' event
  // (a Node stack trace, exit 1, which means "matched" in Ward's exit codes) instead of a
  // WardError and exit 2.
  it('regression: an --out path that cannot be written is a clean error (exit 2), not a crash', async () => {
    const ward = wardOn(join(tempDir(), 'w.db'));
    await ward(['bank', 'create', 'b']);
    const r = await ward(['bank', 'export', 'b', '--out', join(dir, 'no-such-dir', 'x.ndjson')]);
    expect(r.stderr).not.toContain('Unhandled');
    expect(r.stderr).toMatch(/^ward: WARD_ERR_/);
    expect(r.code).toBe(2);
  });

  // REGRESSION: a removed bank's index snapshot (keyed by name and version) was read for a new
  // bank of the same name, whose entries were then never matched; snapshot names now carry the
  // bank id. See also src/match/matcher.test.ts.
  it('REGRESSION: after rm and create again under the same name, the new entries are matched', async () => {
    const db = join(tempDir(), 'w.db');
    const ward = wardOn(db);
    await ward(['bank', 'create', 'b']);
    await ward(['bank', 'import', 'b', '-', '--signal', 'pdq'], `${pdq(1)}\n`);
    const first = await ward(['match', '--hashes', '-'], `${pdq(1)}\n`);
    expect(first.code).toBe(1);
    expect(readdirSync(`${db}.index`).filter((f) => f.endsWith('.pdq-mih'))).toHaveLength(1);
    await ward(['bank', 'rm', 'b']);
    await ward(['bank', 'create', 'b']);
    await ward(['bank', 'import', 'b', '-', '--signal', 'pdq'], `${pdq(2)}\n`);
    const [second, old] = await Promise.all([
      ward(['match', '--hashes', '-'], `${pdq(2)}\n`),
      ward(['match', '--hashes', '-'], `${pdq(1)}\n`),
    ]);
    expect(parseLines(second.stdout)[0].matches.map((x: Json) => x.value)).toEqual([pdq(2)]);
    expect(second.code).toBe(1);
    expect(old.code).toBe(0);
  });
});

describe('ward match', () => {
  let db: string;
  let ward: ReturnType<typeof wardOn>;
  let paths: { a: string; resized: string; b: string; c: string; d: string; mirrored: string; broken: string };
  let h: Record<'a' | 'resized' | 'b' | 'c' | 'd', ImageHashes>;

  beforeAll(async () => {
    const imgDir = tempDir('ward-match-cli-');
    db = join(imgDir, 'w.db');
    ward = wardOn(db);
    const a = await sceneImage(1);
    paths = {
      a: join(imgDir, 'a.jpg'),
      resized: join(imgDir, 'a-resized.jpg'),
      b: join(imgDir, 'b.png'),
      c: join(imgDir, 'c.jpg'),
      d: join(imgDir, 'd.jpg'),
      mirrored: join(imgDir, 'a-mirrored.jpg'),
      broken: join(imgDir, 'broken.jpg'),
    };
    writeFileSync(paths.a, a);
    writeFileSync(paths.resized, await variant(a, 'resized'));
    writeFileSync(paths.b, await sceneImage(2, 'png'));
    writeFileSync(paths.c, await sceneImage(3));
    writeFileSync(paths.d, await sceneImage(4));
    writeFileSync(paths.mirrored, await sharp(a).flop().jpeg({ quality: 90 }).toBuffer());
    writeFileSync(paths.broken, a.subarray(0, 300));
    h = {
      a: await hashImage(paths.a),
      resized: await hashImage(paths.resized),
      b: await hashImage(paths.b),
      c: await hashImage(paths.c),
      d: await hashImage(paths.d),
    };
    // blk: scene 1 by PDQ, scene 2 by md5, scene 3 by PDQ; fp (negative): scene 3 by PDQ.
    // other: nothing that matches.
    await ward(['bank', 'create', 'blk']);
    await ward(['bank', 'create', 'fp', '--negative']);
    await ward(['bank', 'create', 'other']);
    const blk = file(
      'blk.ndjson',
      [
        { pdq: h.a.pdq, labels: ['scene-1'], id: 'e1' },
        { md5: h.b.md5, labels: ['scene-2'] },
        { pdq: h.c.pdq, labels: ['scene-3'] },
      ]
        .map((x) => JSON.stringify(x))
        .join('\n'),
    );
    expect((await ward(['bank', 'import', 'blk', blk])).code).toBe(0);
    expect((await ward(['bank', 'import', 'fp', '-', '--signal', 'pdq'], `${h.c.pdq}\n`)).code).toBe(0);
    expect((await ward(['bank', 'import', 'other', '-'], `${md5('other')}\n`)).code).toBe(0);
  });

  const entryId = async (bank: string, value: string): Promise<number> => {
    // Ids are not exported; find them through a match at distance 0.
    const r = await ward(['match', '--bank', bank, '--hashes', '-'], `${value}\n`);
    return parseLines(r.stdout)[0].matches[0].entryId;
  };

  it('prints one NDJSON record per input with exactly the contract fields, and exits 1 on a match', async () => {
    const r = await ward(['match', '--format', 'ndjson', paths.resized, paths.b, paths.d]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const [resized, b, d] = parseLines(r.stdout);
    for (const rec of [resized, b, d]) {
      expect(Object.keys(rec)).toEqual(['path', 'signals', 'matches', 'suppressedBy']);
      expect(Object.keys(rec.signals)).toEqual(['pdq', 'quality', 'md5', 'sha1', 'sha256']);
    }
    expect(resized.path).toBe(paths.resized);
    const { path: _p, width: _w, height: _h, ...signals } = h.resized;
    expect(resized.signals).toEqual(signals);
    expect(resized.matches).toEqual([
      {
        bank: 'blk',
        signal: 'pdq',
        value: h.a.pdq,
        distance: pdqDistance(h.a.pdq, h.resized.pdq),
        entryId: await entryId('blk', h.a.pdq),
        labels: ['scene-1'],
      },
    ]);
    expect(Object.keys(resized.matches[0])).toEqual(['bank', 'signal', 'value', 'distance', 'entryId', 'labels']);
    expect(resized.suppressedBy).toEqual([]);
    expect(b.matches.map((x: Json) => [x.bank, x.signal, x.value, x.distance, x.labels])).toEqual([
      ['blk', 'md5', h.b.md5, 0, ['scene-2']],
    ]);
    expect(d.matches).toEqual([]);
  });

  it('lists negative matches in suppressedBy and the block matches set aside in suppressed', async () => {
    const r = await ward(['match', paths.c]);
    expect(r.code).toBe(0); // suppressed: nothing stands
    const [rec] = parseLines(r.stdout);
    expect(Object.keys(rec)).toEqual(['path', 'signals', 'matches', 'suppressedBy', 'suppressed']);
    expect(rec.matches).toEqual([]);
    expect(rec.suppressedBy.map((x: Json) => [x.bank, x.signal, x.value, x.distance])).toEqual([
      ['fp', 'pdq', h.c.pdq, 0],
    ]);
    expect(rec.suppressed.map((x: Json) => [x.bank, x.signal, x.value, x.labels])).toEqual([
      ['blk', 'pdq', h.c.pdq, ['scene-3']],
    ]);
    // Restricting to a block bank still loads the negative banks, which still suppress.
    const only = await ward(['match', '--bank', 'blk', paths.c]);
    expect(only.code).toBe(0);
    expect(parseLines(only.stdout)[0].suppressedBy.map((x: Json) => x.bank)).toEqual(['fp']);
  });

  it('exits 0 without a match, 2 when there are only errors, 1 when something matched despite errors', async () => {
    const [none, errs, mixed] = await Promise.all([
      ward(['match', paths.d]),
      ward(['match', paths.broken, join(dir, 'missing.jpg')]),
      ward(['match', paths.broken, paths.a]),
    ]);
    expect(none.code).toBe(0);
    expect(parseLines(none.stdout)[0].matches).toEqual([]);
    expect(errs.code).toBe(2);
    const errRecs = parseLines(errs.stdout);
    expect(errRecs.map((x: Json) => [Object.keys(x), x.error.code])).toEqual([
      [['path', 'error'], 'WARD_ERR_IMAGE_DECODE'],
      [['path', 'error'], 'WARD_ERR_INPUT_NOT_FOUND'],
    ]);
    expect(mixed.code).toBe(1);
  });

  it('filters banks with --bank and applies --distance to all of them', async () => {
    const [other, several, unknown, d0, dNear, badD] = await Promise.all([
      ward(['match', '--bank', 'other', paths.a]),
      ward(['match', '--bank', 'other', '--bank', 'blk', paths.a]),
      ward(['match', '--bank', 'nope', paths.a]),
      ward(['match', '--distance', '0', paths.resized]),
      ward(['match', '--distance', String(pdqDistance(h.a.pdq, h.resized.pdq)), paths.resized]),
      ward(['match', '--distance', 'far', paths.a]),
    ]);
    expect(other.code).toBe(0);
    expect(several.code).toBe(1);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('WARD_ERR_BANK_NOT_FOUND');
    expect(d0.code).toBe(0);
    expect(dNear.code).toBe(1);
    expect(badD.code).toBe(3);
  });

  // REGRESSION: --hashes read only pdq/md5/sha1/sha256, so the README's `ward hash --dihedral …
  // | ward match --hashes - --dihedral` found nothing for a rotated copy that matching the file found.
  it('--hashes with --dihedral uses the pdqDihedral of ward hash records', async () => {
    const hashed = await runWard(['hash', '--dihedral', '--format', 'ndjson', paths.mirrored]);
    expect(hashed.code).toBe(0);
    const [plain, dihedral] = await Promise.all([
      ward(['match', '--format', 'ndjson', '--hashes', '-'], hashed.stdout),
      ward(['match', '--format', 'ndjson', '--dihedral', '--hashes', '-'], hashed.stdout),
    ]);
    expect(plain.code).toBe(0);
    expect(dihedral.code).toBe(1);
    expect(parseLines(dihedral.stdout)[0].matches[0]).toMatchObject({
      signal: 'pdq',
      value: h.a.pdq,
      transform: 'flipY',
    });
  });

  it('--dihedral matches a mirrored copy and reports the transform', async () => {
    const [plain, dihedral] = await Promise.all([
      ward(['match', paths.mirrored]),
      ward(['match', '--dihedral', paths.mirrored]),
    ]);
    expect(plain.code).toBe(0);
    expect(dihedral.code).toBe(1);
    const [rec] = parseLines(dihedral.stdout);
    expect(rec.signals).not.toHaveProperty('pdqDihedral');
    expect(rec.matches).toHaveLength(1);
    // sharp's flop() mirrors left-right: the reference's flipY.
    expect(rec.matches[0]).toMatchObject({ bank: 'blk', signal: 'pdq', value: h.a.pdq, transform: 'flipY' });
    expect(Object.keys(rec.matches[0])).toEqual([
      'bank',
      'signal',
      'value',
      'distance',
      'entryId',
      'labels',
      'transform',
    ]);
    expect(rec.matches[0].distance).toBeLessThanOrEqual(31);
  });

  it('--hashes reads hex lines and NDJSON lines; a bad line is an error record with its line number', async () => {
    const text = [
      '# hashes to check',
      h.a.pdq,
      '',
      h.b.md5.toUpperCase(),
      sha1('nothing'),
      'zz-not-hex',
      JSON.stringify({ pdq: h.resized.pdq, quality: 90 }),
      JSON.stringify({ md5: md5('nothing') }),
      '{not json',
      JSON.stringify({ labels: ['no hash'] }),
      JSON.stringify({ pdq: h.a.pdq, quality: 10 }),
    ].join('\n');
    const f = file('hashes.txt', `${text}\n`);
    const [r, fromStdin] = await Promise.all([
      ward(['match', '--hashes', f]),
      ward(['match', '--hashes', '-'], `${text}\n`),
    ]);
    expect(r.code).toBe(1);
    expect(fromStdin.stdout).toBe(r.stdout);
    const recs = parseLines(r.stdout);
    expect(recs.map((x: Json) => ('error' in x ? `error@${x.line}` : `${x.hash}:${x.matches.length}`))).toEqual([
      `${h.a.pdq}:1`,
      `${h.b.md5}:1`,
      `${sha1('nothing')}:0`,
      'error@6',
      `${h.resized.pdq}:1`,
      `${md5('nothing')}:0`,
      'error@9',
      'error@10',
      `${h.a.pdq}:0`,
    ]);
    expect(recs[0]).toEqual({
      hash: h.a.pdq,
      signals: { pdq: h.a.pdq },
      matches: [
        {
          bank: 'blk',
          signal: 'pdq',
          value: h.a.pdq,
          distance: 0,
          entryId: recs[4].matches[0].entryId,
          labels: ['scene-1'],
        },
      ],
      suppressedBy: [],
    });
    expect(recs[3]).toEqual({ line: 6, error: { code: 'WARD_ERR_SIGNAL_INVALID', message: expect.any(String) } });
    expect(recs[4].signals).toEqual({ pdq: h.resized.pdq, quality: 90 });
    expect(recs[8]).toMatchObject({ skipped: ['pdq: quality 10 < 50'], matches: [] });
    expect(Object.keys(recs[8])).toEqual(['hash', 'signals', 'matches', 'suppressedBy', 'skipped']);

    const weak = await ward(
      ['match', '--include-weak', '--hashes', '-'],
      `${JSON.stringify({ pdq: h.a.pdq, quality: 10 })}\n`,
    );
    expect(weak.code).toBe(1);
    expect(parseLines(weak.stdout)[0]).not.toHaveProperty('skipped');

    // Only bad lines: exit 2.
    const onlyBad = await ward(['match', '--hashes', '-'], 'nope\n');
    expect(onlyBad.code).toBe(2);
  });

  it('writes a table and a JSON array on request', async () => {
    const [table, json] = await Promise.all([
      ward(['match', '--format', 'table', paths.resized, paths.d, paths.c, paths.broken]),
      ward(['match', '--format', 'json', paths.resized, paths.d]),
    ]);
    expect(table.code).toBe(1);
    const rows = table.stdout.trimEnd().split('\n');
    expect(rows).toHaveLength(4);
    expect(rows[0]).toBe(`MATCH    ${paths.resized}  blk:pdq d=${pdqDistance(h.a.pdq, h.resized.pdq)}`);
    expect(rows[1]).toBe(`-        ${paths.d}`);
    expect(rows[2]).toBe(`-        ${paths.c}  (suppressed by fp)`);
    expect(rows[3]?.startsWith('ERROR    WARD_ERR_IMAGE_DECODE: ')).toBe(true);
    expect(rows[3]?.endsWith(`  ${paths.broken}`)).toBe(true);
    const arr = JSON.parse(json.stdout);
    expect(arr.map((x: Json) => [x.path, x.matches.length])).toEqual([
      [paths.resized, 1],
      [paths.d, 0],
    ]);
  });

  it('exits 3 on usage errors', async () => {
    const f = file('usage-hashes.txt', `${md5(1)}\n`);
    const cases = [
      ['match'],
      ['match', '--hashes', f, paths.a],
      ['match', '--format', 'xml', paths.a],
      ['match', '--distance', '300', paths.a],
      ['match', '--jobs', '0', paths.a],
      ['match', '--nope', paths.a],
    ];
    const results = await Promise.all(cases.map((c) => ward(c)));
    results.forEach((r, i) => {
      expect([cases[i], r.code]).toEqual([cases[i], 3]);
      expect(r.stdout).toBe('');
    });
  });

  // Fixed bug: an NDJSON line of --hashes whose "pdq" field is hex of the wrong length passes the hex
  // check in readHashes, then pdqToBytes throws inside Matcher.match: the whole run aborts
  // (exit 2, "ward: WARD_ERR_SIGNAL_INVALID" on stderr) and the lines after it are never matched.
  it('regression: a --hashes NDJSON line with a short "pdq" is an error record and later lines are still matched', async () => {
    const r = await ward(['match', '--hashes', '-'], `${JSON.stringify({ pdq: 'abcd' })}\n${h.a.pdq}\n`);
    const recs = parseLines(r.stdout);
    expect(recs[0]).toMatchObject({ line: 1, error: { code: 'WARD_ERR_SIGNAL_INVALID' } });
    expect(recs[1]).toMatchObject({ hash: h.a.pdq, matches: [{ bank: 'blk' }] });
    expect(r.code).toBe(1);
  });

  // Fixed bug: an NDJSON line whose md5/sha1/sha256 field is hex of the wrong length is accepted as a
  // query and silently never matches, where the contract wants an error record with its line.
  it('regression: a --hashes NDJSON line with a wrong-length "md5" is an error record', async () => {
    const r = await ward(['match', '--hashes', '-'], `${JSON.stringify({ md5: 'abc' })}\n`);
    expect(parseLines(r.stdout)[0]).toMatchObject({ line: 1, error: { code: 'WARD_ERR_SIGNAL_INVALID' } });
    expect(r.code).toBe(2);
  });
});
