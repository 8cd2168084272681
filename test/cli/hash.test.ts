/**
 * `ward hash` as outside tooling sees it: NDJSON fields and order, error records, exit codes.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import { hashImage } from '../../src/signals/image.js';
import { runWard, tempDir } from '../helpers/cli.js';

let dir: string;
let files: { a: string; b: string; big: string; nested: string; broken: string; empty: string; text: string };
let small: string;

beforeAll(async () => {
  dir = tempDir();
  mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
  files = {
    a: join(dir, 'a.jpg'),
    b: join(dir, 'b.png'),
    big: join(dir, 'big.jpg'),
    nested: join(dir, 'sub', 'deeper', 'n.webp'),
    broken: join(dir, 'sub', 'broken.jpg'),
    empty: join(dir, 'sub', 'empty.png'),
    text: join(dir, 'sub', 'notes.txt'),
  };
  writeFileSync(files.a, await sceneImage(1));
  writeFileSync(files.b, await sceneImage(2, 'png'));
  writeFileSync(files.big, await sceneImage(3, 'jpeg', 1200, 900));
  writeFileSync(
    files.nested,
    await sharp(await sceneImage(4))
      .webp()
      .toBuffer(),
  );
  writeFileSync(files.broken, (await sceneImage(5)).subarray(0, 300));
  writeFileSync(files.empty, Buffer.alloc(0));
  writeFileSync(files.text, 'just text\n');
  symlinkSync(dir, join(dir, 'sub', 'loop')); // a symlink loop back to the top
  small = join(tempDir(), 'small.jpg');
  writeFileSync(small, await sceneImage(6, 'jpeg', 400, 300));
});

const parse = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('ward hash', () => {
  it('prints one NDJSON object per file, in input order, with the contract fields', async () => {
    const r = await runWard(['hash', '--format', 'ndjson', files.b, files.a]);
    expect(r.code).toBe(0);
    const [b, a] = parse(r.stdout);
    expect(Object.keys(a)).toEqual(['path', 'pdq', 'quality', 'md5', 'sha1', 'sha256', 'width', 'height']);
    expect(a.path).toBe(files.a);
    expect(b.path).toBe(files.b);
    const bytes = readFileSync(files.a);
    expect(a.md5).toBe(createHash('md5').update(bytes).digest('hex'));
    expect(a.sha1).toBe(createHash('sha1').update(bytes).digest('hex'));
    expect(a.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect([a.width, a.height]).toEqual([640, 480]);
    const lib = await hashImage(files.a);
    expect(a).toEqual(lib);
    // The library gives the same record for the bytes as for the path (without the path).
    const { path: _p, ...fromBytes } = lib;
    expect(await hashImage(bytes)).toEqual(fromBytes);
  });

  it('walks directories recursively, survives a symlink loop, reports bad files and exits 2', async () => {
    const r = await runWard(['hash', '--format', 'ndjson', '--jobs', '2', dir]);
    expect(r.code).toBe(2);
    const records = parse(r.stdout);
    const paths = records.map((x) => x.path);
    expect(paths).toEqual([files.a, files.b, files.big, files.broken, files.nested, files.empty, files.text]);
    const byPath = Object.fromEntries(records.map((x) => [x.path, x]));
    expect(byPath[files.broken].error.code).toBe('WARD_ERR_IMAGE_DECODE');
    expect(byPath[files.empty].error.code).toBe('WARD_ERR_INPUT_EMPTY');
    expect(byPath[files.text].error.code).toBe('WARD_ERR_IMAGE_UNSUPPORTED');
    expect(Object.keys(byPath[files.text])).toEqual(['path', 'error']);
    expect(Object.keys(byPath[files.text].error)).toEqual(['code', 'message']);
    expect(byPath[files.nested].pdq).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the same records with one job and with several', async () => {
    const one = await runWard(['hash', '--format', 'ndjson', '--jobs', '1', dir]);
    const many = await runWard(['hash', '--format', 'ndjson', '--jobs', '3', dir]);
    expect(many.stdout).toBe(one.stdout);
  });

  it('reports a missing path as an error record and goes on', async () => {
    const r = await runWard(['hash', '--format', 'ndjson', join(dir, 'nope.jpg'), files.a]);
    expect(r.code).toBe(2);
    const [missing, a] = parse(r.stdout);
    expect(missing.error.code).toBe('WARD_ERR_INPUT_NOT_FOUND');
    expect(a.pdq).toMatch(/^[0-9a-f]{64}$/);
  });

  it('adds the 8 dihedral hashes with --dihedral, the first being the hash itself', async () => {
    const r = await runWard(['hash', '--format', 'ndjson', '--dihedral', files.a]);
    const [a] = parse(r.stdout);
    expect(a.pdqDihedral).toHaveLength(8);
    expect(a.pdqDihedral[0]).toBe(a.pdq);
    expect(new Set(a.pdqDihedral).size).toBe(8);
  });

  it('--profile cli512 changes the hash only for images over 512 px', async () => {
    const full = parse((await runWard(['hash', '--format', 'ndjson', files.big, small])).stdout);
    const cli = parse((await runWard(['hash', '--format', 'ndjson', '--profile', 'cli512', files.big, small])).stdout);
    expect(cli[0].pdq).not.toBe(full[0].pdq);
    expect([cli[0].width, cli[0].height]).toEqual([1200, 900]); // sizes are the file's, not the squashed ones
    expect(cli[1].pdq).toBe(full[1].pdq);
  });

  it('writes a JSON array with --format json and a table with --format table', async () => {
    const json = await runWard(['hash', '--format', 'json', files.a, files.b]);
    const arr = JSON.parse(json.stdout);
    expect(arr.map((x: { path: string }) => x.path)).toEqual([files.a, files.b]);
    const table = await runWard(['hash', '--format', 'table', files.a]);
    expect(table.stdout).toContain('PDQ');
    expect(table.stdout).toContain(arr[0].pdq);
  });

  it('fails with exit 3 and a usage message on bad command lines', async () => {
    for (const args of [
      ['hash'],
      ['hash', '--format', 'xml', files.a],
      ['hash', '--profile', 'x', files.a],
      ['hash', '--jobs', '0', files.a],
      ['hash', '--bogus', files.a],
      ['nope'],
    ]) {
      const r = await runWard(args);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toMatch(/WARD_ERR_USAGE/);
    }
  });

  it('refuses images over --max-pixels with WARD_ERR_LIMIT_PIXELS', async () => {
    const r = await runWard(['hash', '--format', 'ndjson', '--max-pixels', '100000', files.a]);
    expect(r.code).toBe(2);
    expect(parse(r.stdout)[0].error.code).toBe('WARD_ERR_LIMIT_PIXELS');
  });
});
