/**
 * Provenance in `scan()`: the `provenance.ai-generated` finding (info), resource hashes as item
 * signals, a model named in an image's metadata found in a bank makes the image `flag` with the
 * reason `resource-match` (never `match`), negative banks suppress it, and `ignore` drops it.
 * Images are built here; the bank is a temporary SQLite store.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { ParsedEntry } from '../../src/banks/types.js';
import { sceneImage } from '../../src/demo/images.js';
import { Matcher } from '../../src/match/matcher.js';
import { setPromptScreener } from '../../src/provenance/prompt-screen.js';
import { DEFAULT_SCAN_CONFIG, type ScanConfig } from '../../src/scan/config.js';
import { scan } from '../../src/scan/pipeline.js';
import type { ItemReport } from '../../src/scan/types.js';
import { modelNameSha256 } from '../../src/signals/model-refs.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { PROJECT_ROOT } from '../helpers/fixtures.js';
import { tEXt, withChunks } from './build.js';

const ajv = new Ajv2020({ strict: false, allErrors: true });
const validateItem = ajv.compile(
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'docs', 'schema', 'scan-item.v1.json'), 'utf8')),
);

const LORA_SHA = 'ab'.repeat(32);
const BASE_SHA = 'cd'.repeat(32);

async function* rows(values: string[]): AsyncGenerator<ParsedEntry> {
  let line = 0;
  for (const value of values) yield { signal: 'sha256', value, labels: ['test'], line: ++line };
}

const dir = mkdtempSync(join(tmpdir(), 'ward-provenance-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function setup(): Promise<{ files: string[]; store: SqliteStore }> {
  const params = JSON.stringify({
    software: 'RuinedFooocus',
    Prompt: 'a meadow',
    Negative: 'night',
    base_model_name: 'base.safetensors',
    base_model_hash: BASE_SHA,
  });
  const swarm = JSON.stringify({
    sui_image_params: { prompt: 'a meadow', swarm_version: '0.9' },
    sui_models: [{ name: 'bad-lora.safetensors', param: 'loras', hash: `0x${LORA_SHA}` }],
  });
  const files = [join(dir, 'fooocus.png'), join(dir, 'swarm.png'), join(dir, 'plain.png')];
  writeFileSync(files[0] as string, withChunks(await sceneImage(1, 'png', 320, 240), [tEXt('parameters', params)]));
  writeFileSync(files[1] as string, withChunks(await sceneImage(2, 'png', 320, 240), [tEXt('parameters', swarm)]));
  writeFileSync(files[2] as string, await sceneImage(3, 'png', 320, 240));
  const store = SqliteStore.open(':memory:');
  store.createBank('bad-models');
  await store.importEntries('bad-models', rows([LORA_SHA]));
  return { files, store };
}

async function run(files: string[], matcher: Matcher, config: ScanConfig = DEFAULT_SCAN_CONFIG): Promise<ItemReport[]> {
  const out: ItemReport[] = [];
  for await (const r of scan(files, { matcher, jobs: 1, config })) out.push(r);
  return out;
}

describe('provenance in scan', () => {
  it('reports AI generation as an info finding, resource hashes as signals, and flags a known-bad model', async () => {
    const { files, store } = await setup();
    const [fooocus, swarm, plain] = await run(files, Matcher.open(store, { snapshotDir: null }));
    expect(fooocus?.verdict).toBe('clean');
    expect(fooocus?.findings).toEqual([
      expect.objectContaining({ type: 'provenance.ai-generated', severity: 'info', source: 'provenance' }),
    ]);
    expect(fooocus?.findings[0]?.data).toMatchObject({
      aiGenerated: 'yes',
      generator: 'RuinedFooocus',
      prompt: 'a meadow',
      negativePrompt: 'night',
    });
    // The hash, and the file name as a model-name (SHA-256 of the normalised stem `base`).
    expect(fooocus?.signals.resourceHashes).toEqual([`sha256:${BASE_SHA}`, `model-name:${modelNameSha256('base')}`]);
    expect(swarm?.verdict).toBe('flag');
    expect(swarm?.reasons).toEqual([
      expect.objectContaining({ rule: 'resource-match', ref: 'bad-models', score: 0.9 }),
    ]);
    expect(swarm?.matches).toEqual([
      expect.objectContaining({ bank: 'bad-models', signal: 'sha256', value: LORA_SHA }),
    ]);
    expect(plain?.findings).toEqual([]);
    expect(plain?.signals.resourceHashes).toBeUndefined();
    expect(plain?.verdict).toBe('clean');
    for (const r of [fooocus, swarm, plain]) expect(validateItem(r), JSON.stringify(validateItem.errors)).toBe(true);
    store.close();
  });

  it('a negative bank suppresses the resource match; a bank set to ignore drops it', async () => {
    const { files, store } = await setup();
    const config: ScanConfig = {
      ...DEFAULT_SCAN_CONFIG,
      policy: { ...DEFAULT_SCAN_CONFIG.policy, banks: { 'bad-models': 'ignore' } },
    };
    expect((await run(files, Matcher.open(store, { snapshotDir: null }), config))[1]?.verdict).toBe('clean');
    store.createBank('known-ok', { kind: 'negative' });
    await store.importEntries('known-ok', rows([LORA_SHA]));
    const swarm = (await run(files, Matcher.open(store, { snapshotDir: null })))[1];
    expect(swarm?.verdict).toBe('clean');
    expect(swarm?.suppressedBy).toEqual([expect.objectContaining({ bank: 'known-ok' })]);
    store.close();
  });

  it('hands the prompt pair to the text screener; its findings join the item, the prompt text does not leak into them', async () => {
    const { files, store } = await setup();
    const seen: unknown[] = [];
    setPromptScreener((pair, source) => {
      seen.push(pair);
      return [{ type: 'text.review', severity: 'medium', message: 'stub screener', source, data: { redacted: true } }];
    });
    try {
      const [fooocus, , plain] = await run(files, Matcher.open(store, { snapshotDir: null }));
      expect(seen).toEqual([{ prompt: 'a meadow', negativePrompt: 'night' }, { prompt: 'a meadow' }]);
      expect(fooocus?.findings.map((f) => f.type)).toEqual(['provenance.ai-generated', 'text.review']);
      expect(fooocus?.verdict).toBe('flag');
      expect(JSON.stringify(fooocus?.findings[1])).not.toContain('meadow');
      expect(plain?.findings).toEqual([]);
    } finally {
      setPromptScreener('default');
      store.close();
    }
  });

  it('the default screener is src/text’s: a benign prompt gives no finding', async () => {
    const { files, store } = await setup();
    const [fooocus] = await run(files, Matcher.open(store, { snapshotDir: null }));
    expect(fooocus?.findings.map((f) => f.type)).toEqual(['provenance.ai-generated']);
    store.close();
  });

  it('matches the model-hash signal types: an AutoV2 from infotext, a LoRA AutoV3, an InvokeAI BLAKE3', async () => {
    const infotext =
      'a boat\nSteps: 20, Sampler: Euler, Seed: 1, Model hash: 45a21ea00a, Model: m, Lora hashes: "lo: 0123456789ab"';
    const invoke = JSON.stringify({
      positive_prompt: 'a boat',
      model: { name: 'm', hash: `blake3:${'e'.repeat(64)}` },
      app_version: '6.10.0',
    });
    const a1111 = join(dir, 'a1111.png');
    const lora = join(dir, 'lora.png');
    const invokeai = join(dir, 'invokeai.png');
    writeFileSync(a1111, withChunks(await sceneImage(4, 'png', 320, 240), [tEXt('parameters', infotext)]));
    writeFileSync(
      lora,
      withChunks(await sceneImage(5, 'png', 320, 240), [
        tEXt('parameters', infotext.replace('45a21ea00a', '1111111111')),
      ]),
    );
    writeFileSync(invokeai, withChunks(await sceneImage(6, 'png', 320, 240), [tEXt('invokeai_metadata', invoke)]));
    const store = SqliteStore.open(':memory:');
    store.createBank('models');
    async function* entries(): AsyncGenerator<ParsedEntry> {
      yield { signal: 'autov2', value: '45a21ea00a', labels: [], line: 1 };
      yield { signal: 'autov3', value: '0123456789ab', labels: [], line: 2 };
      yield { signal: 'blake3', value: 'e'.repeat(64), labels: [], line: 3 };
    }
    await store.importEntries('models', entries());
    const reports = await run([a1111, lora, invokeai], Matcher.open(store, { snapshotDir: null }));
    expect(reports.map((r) => r.verdict)).toEqual(['flag', 'flag', 'flag']);
    expect(reports[0]?.matches.map((m) => m.signal).sort()).toEqual(['autov2', 'autov3']);
    expect(reports[1]?.matches.map((m) => m.signal)).toEqual(['autov3']);
    expect(reports[2]?.matches.map((m) => m.signal)).toEqual(['blake3']);
    store.close();
  });

  it('issue 21: an unknown generator’s JSON with its own key names is traced to its checkpoint: yes, and flagged by the bank', async () => {
    const unknown = join(dir, 'unknown-tool.png');
    const json = JSON.stringify({
      tool: 'SomeNewUI 0.1',
      Generation: { PositivePrompt: 'a meadow', Steps: 28, SamplerName: 'euler', CFG: 5 },
      Checkpoint: { FileName: 'models/checkpoints/base.safetensors', SHA_256: LORA_SHA },
    });
    writeFileSync(unknown, withChunks(await sceneImage(7, 'png', 320, 240), [tEXt('gen_params', json)]));
    const store = SqliteStore.open(':memory:');
    store.createBank('bad-models');
    await store.importEntries('bad-models', rows([LORA_SHA]));
    const [r] = await run([unknown], Matcher.open(store, { snapshotDir: null }));
    expect(r?.findings[0]?.data).toMatchObject({
      aiGenerated: 'yes',
      resources: [{ type: 'checkpoint', name: 'models/checkpoints/base.safetensors', hashes: { sha256: LORA_SHA } }],
    });
    expect(r?.signals.resourceHashes).toContain(`sha256:${LORA_SHA}`);
    expect(r?.verdict).toBe('flag');
    expect(r?.reasons).toEqual([expect.objectContaining({ rule: 'resource-match', ref: 'bad-models' })]);
    store.close();
  });
});
