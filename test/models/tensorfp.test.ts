/**
 * The weight fingerprint (tensorfp) on synthetic LoRAs and checkpoints in SD 1.5's layer shapes
 * (seeded random factors; no real model): invariances (dtype, key naming, factorisation,
 * container), small distances (rank resizing by SVD, pruned layers), a LoRA merged into a
 * checkpoint found through the base's data, no match between independent LoRAs (distribution
 * and false-match rate over 10,000 pairs, printed), parsing of hostile values, and the signal
 * type and its index.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { WardError } from '../../src/errors.js';
import { inspectModel, inspectModelBytes } from '../../src/models/inspect.js';
import {
  compareFingerprints,
  decodeBase,
  encodeBase,
  type FingerprintResult,
  parseFingerprint,
  TFP_THRESHOLD,
} from '../../src/models/tensorfp.js';
import { canonicalLayer } from '../../src/models/tensorfp-names.js';
import { modelOutput } from '../../src/scan/extractors/model.js';
import { tensorfpSignal } from '../../src/signals/tensorfp.js';
import {
  baseWeights,
  checkpointTensors,
  loraTensors,
  merge,
  randomLora,
  refactor,
  resizeRank,
  safetensorsFile,
  sd15Layers,
  torchCheckpoint,
} from './tensorfp-build.js';

const dir = mkdtempSync(join(tmpdir(), 'ward-tensorfp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function fpOf(bytes: Buffer, options: Parameters<typeof inspectModelBytes>[2] = {}): Promise<string> {
  const r = await inspectModelBytes(bytes, 'm', { screener: null, ...options });
  expect(r.error).toBeUndefined();
  const v = r.tensorfp?.value;
  if (!v) throw new Error(`no fingerprint: ${JSON.stringify(r.tensorfp)}`);
  return v;
}

const layers = sd15Layers();
const lora = randomLora(layers, 16, 1);

describe('tensorfp: canonical layer names', () => {
  it('maps kohya, diffusers, attention-processor, PEFT and ldm names of one layer to one key', () => {
    const keys = [
      'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_out_0.lora_up.weight',
      'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.lora.up.weight',
      'down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.up.weight',
      'base_model.model.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.lora_B.weight',
      'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.lora_linear_layer.up.weight',
    ].map((n) => canonicalLayer(n));
    for (const k of keys)
      expect(k).toEqual({ key: 'unet:down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_out_0', role: 'up' });
    expect(
      canonicalLayer('model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_out.0.weight')?.key,
    ).toBe('unet:down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_out_0');
    expect(canonicalLayer('model.diffusion_model.output_blocks.11.1.proj_out.weight')?.key).toBe(
      'unet:up_blocks_3_attentions_2_proj_out',
    );
    expect(canonicalLayer('model.diffusion_model.middle_block.2.in_layers.2.weight')?.key).toBe(
      'unet:mid_block_resnets_1_conv1',
    );
    expect(canonicalLayer('model.diffusion_model.input_blocks.3.0.op.weight')?.key).toBe(
      'unet:down_blocks_0_downsamplers_0_conv',
    );
    expect(canonicalLayer('model.diffusion_model.output_blocks.2.1.conv.weight')?.key).toBe(
      'unet:up_blocks_0_upsamplers_0_conv',
    );
    const te = [
      'lora_te_text_model_encoder_layers_3_mlp_fc1.lora_down.weight',
      'text_encoder.text_model.encoder.layers.3.mlp.fc1.lora_A.weight',
      'cond_stage_model.transformer.text_model.encoder.layers.3.mlp.fc1.weight',
      'cond_stage_model.transformer.encoder.layers.3.mlp.fc1.weight',
    ].map((n) => canonicalLayer(n)?.key);
    expect(new Set(te)).toEqual(new Set(['te1:text_model_encoder_layers_3_mlp_fc1']));
    expect(canonicalLayer('model.diffusion_model.input_blocks.1.1.norm.bias')).toBeUndefined();
  });
});

describe('tensorfp: invariances of one LoRA', () => {
  let reference: string;
  it('gives a fingerprint with every layer', async () => {
    const r = await inspectModelBytes(safetensorsFile(loraTensors(lora, 'kohya')), 'k', { screener: null });
    expect(r.tensorfp?.kind).toBe('adapter');
    expect(r.tensorfp?.layers).toEqual({ delta: layers.length, weights: 0 });
    expect(r.tensorfp?.skipped).toBeUndefined();
    reference = r.tensorfp?.value as string;
    expect(modelOutput(r).signals?.tensorfp).toBe(reference);
  });

  it('is the same for every key naming (kohya, diffusers, processor, PEFT) in fp32', async () => {
    for (const naming of ['diffusers', 'processor', 'peft'] as const) {
      const c = compareFingerprints(reference, await fpOf(safetensorsFile(loraTensors(lora, naming))));
      expect(c.layersCompared, naming).toBe(layers.length);
      expect(c.distance, naming).toBe(0);
    }
  });

  it('stays within a few bits in fp16 and bf16 (rounding flips only near-zero projections)', async () => {
    const seen: Record<string, number> = {};
    for (const dtype of ['F16', 'BF16'] as const) {
      for (const naming of ['kohya', 'peft'] as const) {
        const c = compareFingerprints(reference, await fpOf(safetensorsFile(loraTensors(lora, naming, dtype))));
        expect(c.layersCompared).toBe(layers.length);
        seen[`${dtype}/${naming}`] = c.distance;
        expect(c.distance).toBeLessThan(dtype === 'F16' ? 0.002 : 0.01);
        expect(c.match).toBe(true);
      }
    }
    console.log('tensorfp dtype distances (fraction of bits):', seen);
  });

  it('is the same after refactoring up·R, R⁻¹·down (up to float rounding)', async () => {
    const c = compareFingerprints(reference, await fpOf(safetensorsFile(loraTensors(refactor(lora, 7), 'kohya'))));
    expect(c.layersCompared).toBe(layers.length);
    expect(c.distance).toBeLessThan(0.001);
  });

  it('is the same as a PyTorch zip checkpoint (fp32, fp16; nested state_dict too)', async () => {
    const ckpt = await fpOf(torchCheckpoint(loraTensors(lora, 'kohya')));
    expect(ckpt).toBe(reference);
    const wrapped = await fpOf(torchCheckpoint(loraTensors(lora, 'diffusers'), true));
    expect(wrapped).toBe(reference);
    const half = compareFingerprints(reference, await fpOf(torchCheckpoint(loraTensors(lora, 'kohya', 'F16'))));
    expect(half.distance).toBeLessThan(0.002);
  });

  it('is the same streamed from a file in small chunks (elements split across chunks) as from memory', async () => {
    const path = join(dir, 'lora.safetensors');
    const bytes = safetensorsFile(loraTensors(lora, 'kohya', 'BF16'));
    writeFileSync(path, bytes);
    const fromFile = (await inspectModel(path, { screener: null, parallel: true })).tensorfp?.value;
    expect(fromFile).toBe(await fpOf(bytes));
  });

  it('moves a little when the rank is resized by SVD (16 → 8, 16 → 4)', async () => {
    const seen: Record<string, number> = {};
    for (const k of [8, 4]) {
      const c = compareFingerprints(
        reference,
        await fpOf(safetensorsFile(loraTensors(resizeRank(lora, k), 'kohya', 'F16'))),
      );
      seen[`rank ${k}`] = c.distance;
      expect(c.layersCompared).toBe(layers.length);
      expect(c.match).toBe(true);
    }
    // Same rank through SVD: the same update.
    const same = compareFingerprints(
      reference,
      await fpOf(safetensorsFile(loraTensors(resizeRank(lora, 16), 'kohya'))),
    );
    expect(same.distance).toBeLessThan(0.001);
    console.log('tensorfp rank-resize distances:', seen);
  });

  it('compares the layers both have when 10% are pruned', async () => {
    const pruned = lora.filter((_, i) => i % 10 !== 3);
    const c = compareFingerprints(reference, await fpOf(safetensorsFile(loraTensors(pruned, 'kohya'))));
    expect(c.layersCompared).toBe(pruned.length);
    expect(c.distance).toBe(0);
    expect(c.match).toBe(true);
  });
});

describe('tensorfp: a LoRA merged into a checkpoint', () => {
  // The 320-wide transformer blocks of SD 1.5 (60 layers) and two untouched convolutions: a
  // full-size checkpoint would make this test slow, the layer shapes are SD 1.5's.
  const sub = sd15Layers((l) => l.component === 'unet' && /^(down_blocks\.0|up_blocks\.3)\./.test(l.path));
  const small = randomLora(sub, 8, 11);
  const base = baseWeights(sub, 5);
  let baseFile: ReturnType<typeof decodeBase>;
  let loraFp: string;

  it('writes base data from the base checkpoint and reads it back', async () => {
    let result: FingerprintResult | undefined;
    const r = await inspectModelBytes(torchCheckpoint(checkpointTensors(base, 'F32')), 'base.ckpt', {
      screener: null,
      onTensorFingerprint: (x) => {
        result = x;
      },
    });
    expect(r.tensorfp?.kind).toBe('weights');
    expect(r.tensorfp?.layers.weights).toBe(sub.length + 2);
    const bytes = encodeBase(result?.projections ?? []);
    baseFile = decodeBase(bytes, 'base.tfb');
    expect(baseFile.layers.size).toBe(sub.length + 2);
    expect(() => decodeBase(bytes.subarray(0, bytes.length - 1), 'x')).toThrow(WardError);
    loraFp = await fpOf(safetensorsFile(loraTensors(small, 'kohya')));
  });

  it('finds the LoRA in checkpoints merged at strength 0.5 to 1.0 (fp16, safetensors and zip)', async () => {
    const seen: Record<string, number> = {};
    for (const s of [0.5, 0.75, 1.0]) {
      const merged = checkpointTensors(merge(base, small, s), 'F16');
      for (const [label, bytes] of [
        ['safetensors', safetensorsFile(merged)],
        ['ckpt', torchCheckpoint(merged)],
      ] as const) {
        const r = await inspectModelBytes(bytes, 'merged', { screener: null, tensorBases: [baseFile] });
        expect(r.tensorfp?.base).toBe('base.tfb');
        // Untouched layers have no delta (same bytes up to the fp32 → fp16 rounding: small noise).
        const c = compareFingerprints(loraFp, r.tensorfp?.value as string);
        expect(c.domain).toBe('delta');
        expect(c.layersCompared).toBe(sub.length);
        expect(c.match).toBe(true);
        seen[`${label} s=${s}`] = c.distance;
      }
    }
    console.log('tensorfp merge distances:', seen);
  });

  it('does not find another LoRA in the merged checkpoint, nor the LoRA without the base', async () => {
    const merged = safetensorsFile(checkpointTensors(merge(base, small, 0.8), 'F16'));
    const withBase = (await inspectModelBytes(merged, 'm', { screener: null, tensorBases: [baseFile] })).tensorfp
      ?.value as string;
    const other = await fpOf(safetensorsFile(loraTensors(randomLora(sub, 8, 12), 'kohya')));
    const c = compareFingerprints(other, withBase);
    expect(c.match).toBe(false);
    expect(c.distance).toBeGreaterThan(0.4);
    const noBase = await fpOf(merged);
    expect(compareFingerprints(loraFp, noBase).domain).toBe('none');
  });

  it('matches a checkpoint with its own re-saved copy by weights, not a fine-tune of the same base', async () => {
    const a = await fpOf(safetensorsFile(checkpointTensors(base, 'F32')));
    const half = await fpOf(torchCheckpoint(checkpointTensors(base, 'BF16')));
    const resaved = compareFingerprints(a, half);
    expect(resaved.domain).toBe('weights');
    expect(resaved.match).toBe(true);
    // A fine-tune: every weight moved by 2% of its scale (a LoRA-sized change).
    const tuned = new Map(base);
    const n = randomLora(sub, 16, 99);
    const moved = merge(base, n, 1);
    for (const [k, v] of moved) tuned.set(k, v);
    const ft = compareFingerprints(a, await fpOf(safetensorsFile(checkpointTensors(tuned, 'F16'))));
    console.log('tensorfp weights section: bf16 re-save', resaved.hamming, 'fine-tune', ft.hamming);
    expect(ft.match).toBe(false);
  });
});

describe('tensorfp: independent LoRAs do not match', () => {
  it('over 10,000 pairs: distances near 0.5, no false match', async () => {
    // 142 independent rank-2 LoRAs on the text encoder and the 320-wide UNet blocks (132 layers).
    const sub = sd15Layers((l) => l.component === 'te' || /^(down_blocks\.0|up_blocks\.3)\./.test(l.path));
    const fps: ReturnType<typeof parseFingerprint>[] = [];
    for (let i = 0; i < 142; i++) {
      fps.push(
        parseFingerprint(await fpOf(safetensorsFile(loraTensors(randomLora(sub, 2, 1000 + i, 0.7, true), 'kohya')))),
      );
    }
    const { compareParsed } = await import('../../src/models/tensorfp.js');
    const ds: number[] = [];
    let matches = 0;
    for (let i = 0; i < fps.length; i++) {
      for (let j = i + 1; j < fps.length; j++) {
        const c = compareParsed(fps[i] as never, fps[j] as never);
        ds.push(c.distance);
        if (c.match) matches++;
      }
    }
    ds.sort((a, b) => a - b);
    const mean = ds.reduce((a, b) => a + b, 0) / ds.length;
    const sd = Math.sqrt(ds.reduce((a, b) => a + (b - mean) ** 2, 0) / ds.length);
    console.log(
      `tensorfp independent pairs: n=${ds.length} min=${ds[0]?.toFixed(4)} p1=${ds[Math.floor(ds.length * 0.01)]?.toFixed(4)} mean=${mean.toFixed(4)} sd=${sd.toFixed(4)} max=${ds[ds.length - 1]?.toFixed(4)} matches=${matches}`,
    );
    expect(ds.length).toBeGreaterThanOrEqual(10_000);
    expect(matches).toBe(0);
    expect(ds[0]).toBeGreaterThan(TFP_THRESHOLD + 0.1);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
  }, 300_000);
});

describe('tensorfp: values and the signal type', () => {
  it('refuses malformed values with WARD_ERR_SIGNAL_INVALID and never throws anything else', () => {
    for (const bad of ['', 'tfp1.', 'tfp1.!!!', 'tfp2.AQg', 'tfp1.AQgBAAAAAAAAAA', `tfp1.${'A'.repeat(5)}`]) {
      expect(() => parseFingerprint(bad), bad).toThrow(WardError);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const v = `tfp1.${Buffer.from(bytes).toString('base64url')}`;
        try {
          parseFingerprint(v);
        } catch (e) {
          expect(WardError.is(e) && e.code === 'WARD_ERR_SIGNAL_INVALID').toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('parses, detects and compares; its index hits carry the layers compared', async () => {
    const a = await fpOf(safetensorsFile(loraTensors(lora, 'kohya')));
    const b = await fpOf(safetensorsFile(loraTensors(resizeRank(lora, 8), 'peft', 'F16')));
    const c = await fpOf(safetensorsFile(loraTensors(randomLora(layers, 16, 2), 'kohya')));
    expect(tensorfpSignal.parse(` ${a} `)).toBe(a);
    expect(tensorfpSignal.detect?.(a)).toBe(true);
    expect(tensorfpSignal.detect?.('ab'.repeat(32))).toBe(false);
    for (const e of tensorfpSignal.examples) expect(tensorfpSignal.parse(e)).toBe(e);
    expect(tensorfpSignal.compare(a, b).match).toBe(true);
    expect(tensorfpSignal.compare(a, c).match).toBe(false);
    const index = tensorfpSignal.index?.build([
      [1, b],
      [2, c],
    ]);
    const hits: [number, number, unknown][] = [];
    index?.search(a, tensorfpSignal.defaultThreshold, (id, d, detail) => hits.push([id, d, detail]));
    expect(hits.map((h) => h[0])).toEqual([1]);
    expect(hits[0]?.[2]).toMatchObject({ layersCompared: layers.length, domain: 'delta' });
    // The brute force agrees.
    expect(hits[0]?.[1]).toBe(tensorfpSignal.compare(a, b).distance);
    expect(tensorfpSignal.queries?.(a, {}, {})).toEqual({ queries: [{ target: 'tensorfp', query: a }] });
  });
});
