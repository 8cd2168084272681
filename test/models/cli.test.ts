/**
 * `ward inspect` and model banks end to end through the built CLI: records per format, folders as
 * units, walked directories, error and skipped records, exit statuses; `ward bank import --signal
 * autov2|autov3|blake3` then `ward scan` marking the listed model `match` (on worker threads).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashModelBytes } from '../../src/models/hashes.js';
import { zipOf } from '../helpers/archives.js';
import { runWard, tempDir } from '../helpers/cli.js';
import { readManifest, SHARED, SKIP_REASON, sharedAvailable } from '../helpers/fixtures.js';
import { pk, safetensorsOf, writeDiffusersFolder } from './build.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON records
type Json = any;
const lines = (s: string): Json[] =>
  s
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));

const dir = tempDir('ward-inspect-cli-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lora = safetensorsOf(
  [{ name: 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight', shape: [4, 768] }],
  { ss_network_module: 'networks.lora', ss_tag_frequency: '{"5_toy": {"toy": 5}}', ss_output_name: 'toy' },
  { seed: 9 },
);
const models = join(dir, 'models');

beforeAll(() => {
  mkdirSync(models, { recursive: true });
  writeFileSync(join(models, 'a-lora.safetensors'), lora);
  writeFileSync(
    join(models, 'b-evil.pt'),
    zipOf([{ name: 'b/data.pkl', data: pk(0x80, 2, 'cos\nsystem\n', ')', 'R', '.'), method: 'store' }]),
  );
  writeFileSync(join(models, 'c-notes.txt'), 'not a model\n');
  writeDiffusersFolder(join(models, 'd-pipeline'));
});

describe('ward inspect', () => {
  it('reports a model as JSON: format, kind, base model, hashes, metadata, training', async () => {
    const r = await runWard(['inspect', '--format', 'json', join(models, 'a-lora.safetensors')]);
    expect(r.code).toBe(0);
    const [rec] = JSON.parse(r.stdout);
    const want = hashModelBytes(lora, { dataOffset: 8 + Number(lora.readBigUInt64LE(0)) });
    expect(rec).toMatchObject({
      inspector: 'model',
      path: join(models, 'a-lora.safetensors'),
      format: 'safetensors',
      kind: 'lora',
      baseModel: 'sd1',
      hashes: {
        sha256: want.sha256,
        autov1: want.autov1,
        autov2: want.autov2,
        autov3: want.autov3,
        blake3: want.blake3,
        crc32: want.crc32,
      },
      metadata: { ss_output_name: 'toy' },
      training: { tagFrequency: { '5_toy': { toy: 5 } }, outputName: 'toy' },
    });
  });

  it('walks a folder: models and pipelines (one record each), other files left out; a dangerous pickle exits 1', async () => {
    const r = await runWard(['inspect', '--format', 'ndjson', models]);
    expect(r.code).toBe(1);
    const recs = lines(r.stdout);
    expect(recs.map((x) => [x.path.slice(models.length + 1), x.format])).toEqual([
      ['a-lora.safetensors', 'safetensors'],
      ['b-evil.pt', 'torch'],
      ['d-pipeline', 'diffusers'],
    ]);
    expect(recs[1].pickle).toMatchObject({ verdict: 'dangerous', dangerous: ['os.system'] });
    expect(recs[2].components).toHaveLength(2);
  });

  it('a table on request; errors and unsupported inputs named on the command line get records', async () => {
    writeFileSync(join(dir, 'broken.safetensors'), lora.subarray(0, 30));
    const r = await runWard([
      'inspect',
      '--format',
      'table',
      '--no-hashes',
      join(models, 'a-lora.safetensors'),
      join(models, 'c-notes.txt'),
      join(dir, 'broken.safetensors'),
      join(dir, 'missing.gguf'),
    ]);
    expect(r.code).toBe(2);
    const out = r.stdout.split('\n');
    expect(out[0]).toMatch(/^FORMAT\s+KIND\s+BASE\s+AUTOV2/);
    expect(out[1]).toMatch(/^safetensors\s+lora\/lora\s+sd1\s+-/);
    expect(r.stdout).toMatch(
      /SKIP {3}(Not a format any inspector reads|No inspector for \w+ files yet) {2}.*c-notes\.txt/,
    );
    expect(r.stdout).toMatch(/error WARD_ERR_MODEL_CORRUPT: Safetensors header length \d+ runs past the end/);
    expect(r.stdout).toMatch(/ERROR {2}WARD_ERR_INPUT_NOT_FOUND: .*missing\.gguf/);
  });

  it('usage: --help, no inputs, a bad format', async () => {
    const help = await runWard(['inspect', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: ward inspect/);
    expect((await runWard(['inspect'])).code).toBe(3);
    expect((await runWard(['inspect', '--format', 'xml', models])).code).toBe(3);
    expect((await runWard(['--help'])).stdout).toMatch(/inspect +what a file is/);
  });

  it.skipIf(!sharedAvailable)(`the shared model fixtures${sharedAvailable ? '' : ` (${SKIP_REASON})`}`, async () => {
    const dirM = join(SHARED, 'fixtures', 'models');
    const r = await runWard(['inspect', '--format', 'ndjson', dirM]);
    expect(r.code).toBe(0);
    const recs = lines(r.stdout);
    const rows = readManifest(dirM).filter((x) => x.format === 'safetensors');
    expect(recs.map((x) => x.hashes.sha256).sort()).toEqual(
      rows.map((x) => x['sha256_full(=Civitai SHA256; AutoV2=first10)']).sort(),
    );
  });
});

describe('model banks in ward scan', () => {
  it('imports autov2, autov3 (12-hex) and blake3 lists with --signal, and a listed model is a match', async () => {
    const db = join(dir, 'ward.db');
    const h = hashModelBytes(lora, { dataOffset: 8 + Number(lora.readBigUInt64LE(0)) });
    for (const [name, signal, value] of [
      ['by-autov2', 'autov2', h.autov2],
      ['by-autov3', 'autov3', (h.autov3 as string).slice(0, 12).toUpperCase()],
      ['by-blake3', 'blake3', h.blake3],
    ] as const) {
      expect((await runWard(['bank', 'create', name, '--db', db])).code).toBe(0);
      const list = join(dir, `${name}.txt`);
      writeFileSync(list, `${value}\n`);
      const imp = await runWard(['bank', 'import', name, list, '--signal', signal, '--db', db]);
      expect(imp.code, imp.stderr).toBe(0);
    }
    // Without --signal, a 10-hex value is refused: its length says nothing.
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, `${h.autov2}\n`);
    const refused = await runWard(['bank', 'import', 'by-autov2', bad, '--db', db]);
    expect(refused.code).toBe(2);
    expect(refused.stderr + refused.stdout).toMatch(/--signal autov1, autov2/);

    const scan = await runWard(['scan', '--format', 'ndjson', '--jobs', '2', '--db', db, models]);
    const recs = lines(scan.stdout);
    const item = recs.find((x) => x.path.endsWith('a-lora.safetensors'));
    expect(item).toMatchObject({ contentType: 'model', verdict: 'match' });
    expect(item.matches.map((m: Json) => `${m.bank}:${m.signal}`).sort()).toEqual([
      'by-autov2:autov2',
      'by-autov3:autov3',
      'by-blake3:blake3',
    ]);
    expect(recs.find((x) => x.path.endsWith('b-evil.pt'))).toMatchObject({ contentType: 'model', verdict: 'flag' });
    expect(scan.code).toBe(1);
  });
});
