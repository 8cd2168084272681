/**
 * Models in `scan()`: sniffed before archives (a PyTorch checkpoint is a zip), streamed from the
 * path (also over maxFileBytes), identity hashes as signals matched against banks (autov2, a
 * 12-hex autov3 prefix, blake3, sha256), model findings (info, dangerous and suspicious pickles),
 * the text-screening hook (a stub screener passed through the hook flags a LoRA by its training
 * tags), and models inside an ordinary zip archive (read from memory).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ParsedEntry } from '../../src/banks/types.js';
import { Matcher } from '../../src/match/matcher.js';
import { hashModelBytes } from '../../src/models/hashes.js';
import { setTrainingTextScreener, type TrainingTextScreener } from '../../src/models/screen.js';
import { resolveScanConfig } from '../../src/scan/config.js';
import { scan } from '../../src/scan/pipeline.js';
import type { Finding, ItemReport } from '../../src/scan/types.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { zipOf } from '../helpers/archives.js';
import { tempDir } from '../helpers/cli.js';
import { PROJECT_ROOT } from '../helpers/fixtures.js';
import { pk, safetensorsOf, torchStateDictPickle } from './build.js';

const dir = tempDir('ward-model-scan-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => setTrainingTextScreener(undefined));

/** A benign placeholder tag stands in for what a real screener blocks. */
const BLOCKED_TAG = 'zz-blocked-placeholder';
const stub: TrainingTextScreener = (input, context, source) => {
  const text = typeof input === 'string' ? input : JSON.stringify(input);
  return text.includes(BLOCKED_TAG)
    ? [
        {
          type: 'text.stub-blocked',
          severity: 'high',
          score: 0.9,
          message: `blocked ${context}`,
          source,
        } satisfies Finding,
      ]
    : [];
};

const kohya = (tags: Record<string, number>, output: string, seed: number) =>
  safetensorsOf(
    [
      {
        name: 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight',
        shape: [4, 768],
      },
      { name: 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight', shape: [320, 4] },
    ],
    {
      ss_network_module: 'networks.lora',
      ss_output_name: output,
      ss_tag_frequency: JSON.stringify({ '10_subject': tags }),
      ss_dataset_dirs: JSON.stringify({ '10_subject': { n_repeats: 10, img_count: 3 } }),
    },
    { seed },
  );

const files = {
  listed: kohya({ cat: 3 }, 'listed', 1),
  tagged: kohya({ [BLOCKED_TAG]: 2, cat: 1 }, 'tagged', 2),
  clean: kohya({ dog: 3 }, 'clean', 3),
  byPrefix: kohya({ bird: 1 }, 'prefix', 4),
  byBlake: kohya({ fish: 1 }, 'blake', 5),
  evil: zipOf([
    {
      name: 'evil/data.pkl',
      data: pk(0x80, 2, 'cposix\nsystem\n', 'X', Buffer.from([2, 0, 0, 0]), 'id', 0x85, 'R', '.'),
      method: 'store',
    },
  ]),
  odd: zipOf([{ name: 'odd/data.pkl', data: pk(0x80, 2, 'cmylib.nets\nNet\n', ')', 0x81, '.'), method: 'store' }]),
  ckpt: zipOf([
    {
      name: 'archive/data.pkl',
      data: torchStateDictPickle(['model.diffusion_model.input_blocks.0.0.weight']),
      method: 'store',
    },
    { name: 'archive/version', data: Buffer.from('3\n'), method: 'store' },
  ]),
};

let store: SqliteStore;
let matcher: Matcher;
const reports = new Map<string, ItemReport>();

async function scanAll(config = resolveScanConfig({ version: 1 })): Promise<ItemReport[]> {
  const out: ItemReport[] = [];
  for await (const r of scan([dir], { jobs: 1, matcher, config })) out.push(r);
  return out;
}

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) {
    writeFileSync(
      join(dir, `${name}.${name === 'evil' || name === 'odd' || name === 'ckpt' ? 'ckpt' : 'safetensors'}`),
      bytes,
    );
  }
  // An ordinary zip archive holding a model: the model is an archive entry, read from memory.
  writeFileSync(
    join(dir, 'zz-bundle.zip'),
    zipOf([
      { name: 'readme.txt', data: Buffer.from('hi') },
      { name: 'inner.safetensors', data: files.listed },
    ]),
  );
  store = SqliteStore.open(':memory:');
  store.createBank('models');
  const h = (b: Uint8Array) => hashModelBytes(b, { dataOffset: 8 + Number(Buffer.from(b).readBigUInt64LE(0)) });
  const entries: ParsedEntry[] = [
    { signal: 'autov2', value: h(files.listed).autov2, labels: ['test'], line: 1 },
    { signal: 'autov3', value: (h(files.byPrefix).autov3 as string).slice(0, 12), labels: ['test'], line: 2 },
    { signal: 'blake3', value: h(files.byBlake).blake3, labels: ['test'], line: 3 },
  ];
  await store.importEntries(
    'models',
    (async function* () {
      yield* entries;
    })(),
  );
  matcher = Matcher.open(store, { snapshotDir: null });
  setTrainingTextScreener(stub);
  for (const r of await scanAll())
    reports.set(r.archivePath ? `${r.archivePath}` : (r.path.split('/').pop() as string), r);
});

afterAll(() => store?.close());

describe('models in ward scan', () => {
  it('sniffs models first (a checkpoint zip is a model, not an archive) and reports every identity hash', () => {
    const listed = reports.get('listed.safetensors') as ItemReport;
    expect(listed).toMatchObject({ contentType: 'model', format: 'safetensors' });
    // tensorfp: the weight fingerprint of its LoRA layer (issue 20).
    expect(Object.keys(listed.signals).sort()).toEqual([
      'autov1',
      'autov2',
      'autov3',
      'blake3',
      'crc32',
      'md5',
      'sha1',
      'sha256',
      'tensorfp',
    ]);
    expect(listed.signals.tensorfp).toMatch(/^tfp1\./);
    expect(reports.get('ckpt.ckpt')).toMatchObject({ contentType: 'model', format: 'torch', verdict: 'clean' });
    const info = reports.get('ckpt.ckpt')?.findings.find((f) => f.type === 'model.info');
    expect(info?.data).toMatchObject({ kind: 'checkpoint', baseModel: 'sd1', pickle: { verdict: 'safe' } });
  });

  it('a model on a block bank is a match: by AutoV2, by a 12-hex AutoV3 prefix, by BLAKE3', () => {
    expect(reports.get('listed.safetensors')).toMatchObject({
      verdict: 'match',
      matches: [{ bank: 'models', signal: 'autov2' }],
    });
    expect(reports.get('byPrefix.safetensors')).toMatchObject({ verdict: 'match', matches: [{ signal: 'autov3' }] });
    expect(reports.get('byBlake.safetensors')).toMatchObject({ verdict: 'match', matches: [{ signal: 'blake3' }] });
    expect(reports.get('clean.safetensors')).toMatchObject({ verdict: 'clean', matches: [] });
  });

  it('the registered text screener flags a LoRA by its training tags', () => {
    const tagged = reports.get('tagged.safetensors') as ItemReport;
    expect(tagged.verdict).toBe('flag');
    const f = tagged.findings.find((x) => x.type === 'text.stub-blocked');
    expect(f).toMatchObject({ severity: 'high', source: 'model', data: { field: 'ss_tag_frequency' } });
    expect(tagged.reasons.some((r) => r.ref === 'text.stub-blocked')).toBe(true);
    const info = tagged.findings.find((x) => x.type === 'model.info');
    expect(info).toMatchObject({
      severity: 'info',
      data: { kind: 'lora', baseModel: 'sd1', training: { tagCount: 2, imageCount: 3, outputName: 'tagged' } },
    });
    // The report carries fingerprints and findings, not the tag map.
    expect(JSON.stringify(info?.data)).not.toContain(BLOCKED_TAG);
  });

  it('pickles: a dangerous import is critical, an unknown class is suspicious; both need review', () => {
    const evil = reports.get('evil.ckpt') as ItemReport;
    expect(evil).toMatchObject({ contentType: 'model', format: 'torch', verdict: 'flag' });
    expect(evil.findings.find((f) => f.type === 'model.pickle-dangerous')).toMatchObject({
      severity: 'critical',
      data: { dangerous: ['posix.system'] },
    });
    const odd = reports.get('odd.ckpt') as ItemReport;
    expect(odd.verdict).toBe('flag');
    expect(odd.findings.find((f) => f.type === 'model.pickle-suspicious')).toMatchObject({ severity: 'medium' });
  });

  it('every report follows the published item schema', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    const validate = ajv.compile(
      JSON.parse(readFileSync(join(PROJECT_ROOT, 'docs', 'schema', 'scan-item.v1.json'), 'utf8')),
    );
    for (const r of reports.values())
      expect(validate(JSON.parse(JSON.stringify(r))), JSON.stringify(validate.errors)).toBe(true);
  });

  it('a model inside an ordinary zip archive is an entry of its own, hashed from memory', () => {
    const inner = reports.get('inner.safetensors') as ItemReport;
    expect(inner).toMatchObject({ contentType: 'model', format: 'safetensors', verdict: 'match' });
    expect(inner.signals.autov2).toBe(reports.get('listed.safetensors')?.signals.autov2);
    expect(reports.get('zz-bundle.zip')?.contentType).toBe('archive');
  });

  it('models larger than maxFileBytes are streamed from the path, not refused', async () => {
    const config = resolveScanConfig({ version: 1, limits: { maxFileBytes: 1024 } });
    const all = await scanAll(config);
    const listed = all.find((r) => r.path.endsWith('listed.safetensors')) as ItemReport;
    expect(listed.size).toBeGreaterThan(1024);
    expect(listed.error).toBeUndefined();
    expect(listed).toMatchObject({
      verdict: 'match',
      signals: { autov2: reports.get('listed.safetensors')?.signals.autov2 },
    });
    expect(listed.signals.md5).toBe(reports.get('listed.safetensors')?.signals.md5);
  });

  it('without a screener the same LoRA is clean', async () => {
    setTrainingTextScreener(undefined);
    const all = await scanAll();
    expect(all.find((r) => r.path.endsWith('tagged.safetensors'))?.verdict).toBe('clean');
  });

  it('a truncated model keeps its digests and gets a model error', async () => {
    const path = join(dir, 'zzz-truncated.safetensors');
    writeFileSync(path, files.listed.subarray(0, 200));
    const all = await scanAll();
    const r = all.find((x) => x.path === path) as ItemReport;
    rmSync(path);
    expect(r).toMatchObject({ contentType: 'model', verdict: 'error', error: { code: 'WARD_ERR_MODEL_CORRUPT' } });
    expect(r.signals.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.signals.md5).toMatch(/^[0-9a-f]{32}$/);
  });
});
