/**
 * `ward dataset audit` end to end (the built binary): a WebDataset shard and a LAION-style
 * parquet built in the test, a stand-in bank in a database file, every output format, the
 * removal list (CSV and NDJSON, the contract's columns), the checkpoint, exit codes and usage.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { tarOf } from '../helpers/archives.js';
import { runWard, tempDir } from '../helpers/cli.js';
import { iter, writeParquet } from './helpers.js';

const dir = tempDir('ward-ds-cli-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const md5 = (b: Uint8Array | string) => createHash('md5').update(b).digest('hex');

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON records
const lines = (s: string): any[] =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

const db = join(dir, 'ward.db');
const wds = join(dir, 'wds');
const laion = join(dir, 'laion.parquet');
let listedMd5 = '';

beforeAll(async () => {
  mkdirSync(wds, { recursive: true });
  const imgs = await Promise.all([1, 2, 3].map((i) => sceneImage(40 + i, 'jpeg', 320, 240)));
  listedMd5 = md5(imgs[1] as Buffer);
  writeFileSync(
    join(wds, '00000.tar'),
    await tarOf(
      imgs.flatMap((img, i) => [
        { name: `00000000${i}.jpg`, data: img },
        { name: `00000000${i}.txt`, data: Buffer.from(`caption ${i}`) },
        { name: `00000000${i}.json`, data: Buffer.from(JSON.stringify({ url: `https://x.example/${i}.jpg` })) },
      ]),
    ),
  );
  writeParquet(laion, [
    { name: 'URL', data: ['https://a.example/1.jpg', 'https://a.example/2.jpg'], type: 'STRING' },
    { name: 'TEXT', data: ['one', 'two'], type: 'STRING' },
    { name: 'md5', data: [md5('one'), md5('two')], type: 'STRING' },
  ]);
  const store = SqliteStore.open(db);
  store.createBank('known');
  await store.importEntries(
    'known',
    iter([
      { signal: 'md5', value: listedMd5, labels: ['stand-in'], line: 1 },
      { signal: 'md5', value: md5('two'), labels: ['stand-in'], line: 2 },
    ]),
  );
  store.close();
});

describe('ward dataset audit', () => {
  it('writes NDJSON rows and a summary, a CSV removal list with the contract columns, exit 1 on a match', async () => {
    const removal = join(dir, 'removal.csv');
    const r = await runWard(['dataset', 'audit', '--db', db, '--jobs', '1', '--removal-list', removal, wds, laion]);
    expect(r.stderr).toMatch(/Dataset .*wds \(webdataset\): 3 rows in 1 shards/);
    expect(r.code).toBe(1);
    const recs = lines(r.stdout);
    const rows = recs.filter((x) => x.kind === 'row');
    expect(rows.map((x) => [x.shard, x.key, x.verdict])).toEqual([
      ['00000.tar', '000000000', 'clean'],
      ['00000.tar', '000000001', 'match'],
      ['00000.tar', '000000002', 'clean'],
      ['laion.parquet', '0', 'clean'],
      ['laion.parquet', '1', 'match'],
    ]);
    expect(recs.filter((x) => x.kind === 'summary').map((x) => x.rows)).toEqual([3, 2]);
    const csv = readFileSync(removal, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('dataset,shard,key,row,url,reason,signal,value,bank,distance');
    expect(csv.slice(1)).toEqual([
      `${wds},00000.tar,000000001,1,https://x.example/1.jpg,bank-match,md5,${listedMd5},known,0`,
      `${laion},laion.parquet,1,1,https://a.example/2.jpg,bank-match,md5,${md5('two')},known,0`,
    ]);
    // Fingerprints and findings only: no image bytes anywhere in the outputs.
    expect(r.stdout).not.toMatch(/base64|\/9j\//);
  });

  it('writes an NDJSON removal list, CSV and table reports, skips clean rows on request', async () => {
    const removal = join(dir, 'removal.ndjson');
    const r = await runWard([
      'dataset',
      'audit',
      '--db',
      db,
      '--jobs',
      '1',
      '--format',
      'csv',
      '--removal-list',
      removal,
      laion,
    ]);
    expect(r.code).toBe(1);
    const csv = r.stdout.trim().split('\n');
    expect(csv[0]).toBe('dataset,shard,key,row,url,verdict,score,reasons,matches,md5,sha256,pdq,url-sha256,error');
    expect(csv).toHaveLength(3);
    expect(lines(readFileSync(removal, 'utf8'))).toEqual([
      {
        dataset: laion,
        shard: 'laion.parquet',
        key: '1',
        row: 1,
        url: 'https://a.example/2.jpg',
        reason: 'bank-match',
        signal: 'md5',
        value: md5('two'),
        bank: 'known',
        distance: 0,
      },
    ]);
    const t = await runWard(['dataset', 'audit', '--db', db, '--format', 'table', '--skip-clean', laion]);
    expect(t.stdout).toMatch(/^MATCH +laion\.parquet :: 1 +\(md5 exact in bank known\)$/m);
    expect(t.stdout).not.toMatch(/^CLEAN/m);
    expect(t.stdout).toMatch(/2 rows in 1 shards/);
  });

  it("resumes from a checkpoint with the same findings, and refuses another audit's", async () => {
    const cp = join(dir, 'audit.ckpt');
    const first = await runWard(['dataset', 'audit', '--db', db, '--jobs', '1', '--checkpoint', cp, wds]);
    const again = await runWard(['dataset', 'audit', '--db', db, '--jobs', '1', '--checkpoint', cp, wds]);
    expect(again.code).toBe(first.code);
    const notClean = (s: string) => lines(s).filter((x) => x.kind === 'row' && x.verdict !== 'clean');
    expect(notClean(again.stdout)).toEqual(notClean(first.stdout));
    expect(again.stderr).toMatch(/1 shards replayed from the checkpoint/);
    const other = await runWard(['dataset', 'audit', '--db', db, '--checkpoint', cp, laion]);
    expect(other.code).toBe(3);
    expect(other.stderr).toMatch(/WARD_ERR_CHECKPOINT/);
  });

  it('exits 2 when only errors, 3 on usage errors and unknown datasets', async () => {
    const broken = join(dir, 'broken.parquet');
    writeFileSync(broken, Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(64, 7), Buffer.from('PAR1')]));
    const r = await runWard(['dataset', 'audit', '--db', db, broken]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/skipped after 0 rows: WARD_ERR_DATASET_SHARD/);
    expect((await runWard(['dataset', 'audit', '--db', db])).code).toBe(3);
    expect((await runWard(['dataset', 'frobnicate'])).code).toBe(3);
    expect((await runWard(['dataset', 'audit', '--db', db, '--format', 'xml', laion])).code).toBe(3);
    expect((await runWard(['dataset', 'audit', '--db', db, '--column', 'colour=x', laion])).code).toBe(3);
    // A missing path or one no reader knows: reported, and the other datasets go on.
    const nothing = await runWard(['dataset', 'audit', '--db', db, join(dir, 'missing'), laion]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/missing \(none\): 0 rows.*\n.*skipped after 0 rows: WARD_ERR_INPUT_NOT_FOUND/);
    expect(lines(nothing.stdout).filter((x) => x.kind === 'row')).toHaveLength(2);
    const help = await runWard(['dataset', '--help']);
    expect(help.stdout).toMatch(/--removal-list FILE/);
  });
});
