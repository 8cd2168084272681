/**
 * `ward scan` on forum posts, in process: a bank imported from a file of model hashes and one of
 * model file names (hashed on import), a post with clean words naming a banked LoRA by its
 * AutoV2, exit status 1 and verdict `flag`; the NDJSON record carries the reference findings
 * (spans and hashes, never the text). Posts are benign, hashes made up.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'ward-references-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function ward(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) =>
    new Writable({
      write: (c, _e, cb) => {
        f(String(c));
        cb();
      },
    });
  const code = await main(args, {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    stdoutIsTTY: false,
  });
  return { code, out, err };
}

describe('ward scan (references)', () => {
  it('flags a clean post that names a banked model by hash; exit 1; findings without text', async () => {
    const db = join(dir, 'ward.db');
    writeFileSync(join(dir, 'hashes.txt'), '1a2b3c4d5e\n');
    writeFileSync(join(dir, 'names.txt'), 'Example Bad Lora v2.safetensors\n');
    const post = join(dir, 'post.txt');
    writeFileSync(post, 'Lovely seaside town, used AutoV2 1a2b3c4d5e with <lora:example-bad-lora-v2:0.6>.\n');
    const clean = join(dir, 'clean.txt');
    writeFileSync(clean, 'Lovely seaside town in watercolour.\n');
    expect((await ward(['bank', 'create', 'bad', '--db', db])).code).toBe(0);
    const imp = await ward([
      'bank',
      'import',
      'bad',
      join(dir, 'hashes.txt'),
      '--signal',
      'autov2',
      '--format',
      'lines',
      '--db',
      db,
    ]);
    expect(imp.code, imp.err).toBe(0);
    const names = await ward([
      'bank',
      'import',
      'bad',
      join(dir, 'names.txt'),
      '--signal',
      'model-name',
      '--format',
      'lines',
      '--db',
      db,
    ]);
    expect(names.code, names.err).toBe(0);
    expect(JSON.parse(names.out)).toMatchObject({ added: 1, invalid: 0 });
    const r = await ward(['scan', post, clean, '--bank', 'bad', '--db', db, '--format', 'ndjson']);
    expect(r.code, r.err).toBe(1);
    const [p, c] = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(p.verdict).toBe('flag');
    // Both references are in the bank: the AutoV2 and the lora tag's model-name.
    expect(p.reasons).toEqual([
      expect.objectContaining({ rule: 'resource-match', ref: 'bad', message: expect.stringContaining('autov2') }),
      expect.objectContaining({ rule: 'resource-match', ref: 'bad', message: expect.stringContaining('model-name') }),
    ]);
    expect(p.matches.map((m: { signal: string }) => m.signal).sort()).toEqual(['autov2', 'model-name']);
    expect(p.findings.map((f: { type: string }) => f.type)).toEqual(['reference.model', 'reference.model']);
    expect(r.out).not.toContain('seaside');
    expect(r.out).not.toContain('example-bad');
    expect(c.verdict).toBe('clean');
  });
});
