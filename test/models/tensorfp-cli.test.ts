/**
 * The weight fingerprint end to end through the built CLI: `ward inspect` shows it (and writes
 * and uses base data: --write-tensor-base, --tensor-base), `ward bank import --signal tensorfp`
 * stores a LoRA's value, and `ward scan` matches the LoRA re-saved (fp16, PEFT names) and merged
 * into a checkpoint (with WARD_TENSORFP_BASE), and not an unrelated LoRA.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWard, tempDir } from '../helpers/cli.js';
import {
  baseWeights,
  checkpointTensors,
  loraTensors,
  merge,
  randomLora,
  safetensorsFile,
  sd15Layers,
  torchCheckpoint,
} from './tensorfp-build.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON records
type Json = any;
const lines = (s: string): Json[] =>
  s
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));

const dir = tempDir('ward-tensorfp-cli-');
const uploads = join(dir, 'uploads');
const sub = sd15Layers((l) => l.component === 'unet' && /^(down_blocks\.0|up_blocks\.3)\./.test(l.path));
const known = randomLora(sub, 8, 21);
const base = baseWeights(sub, 22);

beforeAll(() => {
  rmSync(uploads, { recursive: true, force: true });
  mkdirSync(uploads, { recursive: true });
  writeFileSync(join(dir, 'known.safetensors'), safetensorsFile(loraTensors(known, 'kohya')));
  writeFileSync(join(dir, 'base.ckpt'), torchCheckpoint(checkpointTensors(base, 'F32')));
  writeFileSync(join(uploads, 'a-resaved.safetensors'), safetensorsFile(loraTensors(known, 'peft', 'F16')));
  writeFileSync(join(uploads, 'b-merged.ckpt'), torchCheckpoint(checkpointTensors(merge(base, known, 0.7), 'F16')));
  writeFileSync(join(uploads, 'c-other.safetensors'), safetensorsFile(loraTensors(randomLora(sub, 8, 23), 'kohya')));
});
afterAll(() => {
  delete process.env.WARD_TENSORFP_BASE;
  rmSync(dir, { recursive: true, force: true });
});

describe('tensorfp through the CLI', () => {
  it('ward inspect shows the fingerprint, writes base data and uses it', async () => {
    const r = await runWard(['inspect', '--format', 'json', join(dir, 'known.safetensors')]);
    expect(r.code, r.stderr).toBe(0);
    const [rec] = JSON.parse(r.stdout);
    expect(rec.tensorfp).toMatchObject({ kind: 'adapter', layers: { delta: sub.length, weights: 0 } });
    expect(rec.tensorfp.value).toMatch(/^tfp1\./);

    const tfb = join(dir, 'base.tfb');
    const w = await runWard(['inspect', '--format', 'json', '--write-tensor-base', tfb, join(dir, 'base.ckpt')]);
    expect(w.code, w.stderr).toBe(0);
    expect(existsSync(tfb)).toBe(true);
    const twice = await runWard([
      'inspect',
      '--write-tensor-base',
      tfb,
      join(dir, 'base.ckpt'),
      join(dir, 'base.ckpt'),
    ]);
    expect(twice.code).toBe(3);

    const m = await runWard(['inspect', '--format', 'json', '--tensor-base', tfb, join(uploads, 'b-merged.ckpt')]);
    expect(m.code, m.stderr).toBe(0);
    const [merged] = JSON.parse(m.stdout);
    expect(merged.tensorfp).toMatchObject({ kind: 'weights', base: 'base.tfb', layers: { weights: sub.length + 2 } });
    expect(merged.tensorfp.layers.delta).toBeGreaterThanOrEqual(sub.length);
    const table = await runWard(['inspect', '--format', 'table', join(dir, 'known.safetensors')]);
    expect(table.stdout).toMatch(/tensorfp: adapter, 60 delta \/ 0 weight layers/);
  });

  it('ward bank import --signal tensorfp, then ward scan matches the re-saved and the merged copies', async () => {
    const db = join(dir, 'ward.db');
    const rec = JSON.parse((await runWard(['inspect', '--format', 'json', join(dir, 'known.safetensors')])).stdout)[0];
    expect((await runWard(['bank', 'create', 'known-models', '--db', db])).code).toBe(0);
    const list = join(dir, 'list.txt');
    writeFileSync(list, `${rec.tensorfp.value}\n`);
    const imp = await runWard(['bank', 'import', 'known-models', list, '--signal', 'tensorfp', '--db', db]);
    expect(imp.code, imp.stderr).toBe(0);
    process.env.WARD_TENSORFP_BASE = join(dir, 'base.tfb');
    const scan = await runWard(['scan', '--format', 'ndjson', '--jobs', '2', '--db', db, uploads]);
    const recs = lines(scan.stdout);
    const by = (n: string) => recs.find((x) => x.path.endsWith(n));
    for (const n of ['a-resaved.safetensors', 'b-merged.ckpt']) {
      const item = by(n);
      expect(item?.signals?.tensorfp, n).toMatch(/^tfp1\./);
      expect(item, n).toMatchObject({ contentType: 'model', verdict: 'match' });
      expect(
        item.matches.map((x: Json) => `${x.bank}:${x.signal}`),
        n,
      ).toEqual(['known-models:tensorfp']);
      expect(item.matches[0].distance, n).toBeLessThan(0.1);
    }
    expect(by('c-other.safetensors')).toMatchObject({ verdict: 'clean' });
    expect(scan.code).toBe(1);
  });
});
