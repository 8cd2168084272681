/**
 * Hostile input to the weight fingerprint: safetensors headers with forged shapes, dtypes and
 * offsets over few bytes, mutated LoRA files and PyTorch zips, random pickles for the torch
 * tensor walker, forged strides. The fingerprint never throws anything but a model error, never
 * allocates by what a header claims (a shape of 2^30 x 2^30 over 16 bytes is skipped), and ends.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WardError } from '../../src/errors.js';
import { inspectModelBytes } from '../../src/models/inspect.js';
import { bytesSource } from '../../src/models/source.js';
import { TensorFingerprinter, type TensorRef } from '../../src/models/tensorfp.js';
import { locateTorchTensors, torchTensors } from '../../src/models/torch-tensors.js';
import { rawSafetensors } from './build.js';
import { loraTensors, randomLora, safetensorsFile, sd15Layers, torchCheckpoint } from './tensorfp-build.js';

const MODEL_CODES = ['WARD_ERR_MODEL_CORRUPT', 'WARD_ERR_MODEL_LIMIT', 'WARD_ERR_MODEL_UNSUPPORTED'];

async function onlyModelErrors(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!WardError.is(e) || !MODEL_CODES.includes(e.code)) throw e;
  }
}

function mutated(base: Uint8Array) {
  return fc
    .tuple(
      fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      fc.option(fc.nat(base.length), { nil: undefined }),
    )
    .map(([flips, cut]) => {
      const b = Uint8Array.from(base);
      for (const [i, v] of flips) b[i] = v;
      return cut === undefined ? b : b.subarray(0, cut);
    });
}

const small = randomLora(sd15Layers((l) => /^down_blocks\.0\.attentions\.0\./.test(l.path)).slice(0, 4), 4, 3);
const names = [
  'lora_unet_a_to_q.lora_up.weight',
  'lora_unet_a_to_q.lora_down.weight',
  'lora_unet_a_to_q.alpha',
  'lora_te_b.hada_w1_a',
  'lora_te_b.hada_w1_b',
  'lora_te_b.hada_w2_a',
  'lora_te_b.hada_w2_b',
  'lora_unet_c.lokr_w1',
  'lora_unet_c.lokr_w2_a',
  'lora_unet_c.lokr_w2_b',
  'model.diffusion_model.input_blocks.1.1.proj_in.weight',
  'x.diff',
];

describe('tensorfp on hostile input', () => {
  it('forged headers: huge or odd shapes, any dtype and offsets over few bytes', async () => {
    const dim = fc.oneof(fc.integer({ min: 0, max: 70 }), fc.constantFrom(2 ** 30, 2 ** 31, 2 ** 53, -1, 1.5));
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            name: fc.constantFrom(...names),
            dtype: fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I8', 'F8_E4M3'),
            shape: fc.array(dim, { maxLength: 4 }),
            begin: fc.nat(64),
            len: fc.nat(64),
          }),
          { maxLength: 12 },
        ),
        async (tensors) => {
          const header: Record<string, unknown> = {};
          for (const t of tensors)
            header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [t.begin, t.begin + t.len] };
          const file = rawSafetensors(JSON.stringify(header), undefined, Buffer.alloc(128, 0x3c));
          const start = performance.now();
          await onlyModelErrors(() => inspectModelBytes(file, 'f', { screener: null }));
          expect(performance.now() - start).toBeLessThan(5000);
        },
      ),
      { numRuns: 300 },
    );
    // The same claims straight to the fingerprinter (the header parser refuses many of them first).
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            name: fc.constantFrom(...names),
            dtype: fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I8'),
            shape: fc.array(dim, { maxLength: 4 }),
            start: fc.nat(128),
            len: fc.nat(128),
          }),
          { maxLength: 12 },
        ),
        fc.nat(4096),
        (tensors, chunk) => {
          const refs: TensorRef[] = tensors.map((t) => ({
            name: t.name,
            dtype: t.dtype,
            shape: t.shape,
            start: t.start,
            end: t.start + t.len,
            address: (e) => t.start + e * (t.dtype === 'F64' ? 8 : t.dtype === 'F32' ? 4 : 2),
          }));
          const fp = new TensorFingerprinter(refs);
          const bytes = new Uint8Array(256).fill(0x3c);
          const step = Math.max(1, chunk % 97);
          for (let p = 0; p < bytes.length; p += step) fp.update(bytes.subarray(p, p + step), p);
          const r = fp.finish();
          expect(r.layers.delta + r.layers.weights).toBeLessThanOrEqual(tensors.length);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('mutated LoRA files and checkpoints: a report or a model error', async () => {
    const tensors = loraTensors(small, 'kohya', 'F16');
    for (const base of [safetensorsFile(tensors), torchCheckpoint(tensors)]) {
      await fc.assert(
        fc.asyncProperty(mutated(base), async (b) => {
          await onlyModelErrors(async () => {
            const r = await inspectModelBytes(Buffer.from(b), 'f', { screener: null });
            if (r.tensorfp?.value) expect(r.tensorfp.value.startsWith('tfp1.')).toBe(true);
          });
        }),
        { numRuns: 150 },
      );
    }
  });

  it('the torch tensor walker never throws on random or mutated pickles; locating checks strides and sizes', () => {
    const pkl = torchCheckpoint(loraTensors(small, 'kohya')).subarray(0, 4096);
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 512 }), mutated(pkl)), (b) => {
        const found = torchTensors(bytesSource(b));
        expect(Array.isArray(found)).toBe(true);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5, max: 2 ** 40 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: -5, max: 2 ** 40 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: -5, max: 2 ** 50 }),
        (size, stride, offset) => {
          const entry = {
            name: 'archive/data/0',
            method: 0,
            flags: 0,
            compressedSize: 4096,
            size: 4096,
            headerOffset: 0,
            dataOffset: 100,
          };
          const { refs } = locateTorchTensors(
            [{ name: 'w.weight', storageKey: '0', dtype: 'F32', offset, size, stride }],
            [entry],
            'archive/data.pkl',
          );
          for (const r of refs) {
            const n = r.shape.reduce((a, d) => a * d, 1);
            // Every element lies inside the storage entry.
            for (const e of [0, n - 1]) {
              expect(r.address(e)).toBeGreaterThanOrEqual(100);
              expect(r.address(e) + 4).toBeLessThanOrEqual(100 + 4096);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gathers within its budget: over it, layers are skipped and said so', () => {
    const ref: TensorRef = {
      name: 'm.weight',
      dtype: 'F32',
      shape: [1024, 1024],
      start: 0,
      end: 4 * 1024 * 1024,
      address: (e) => 4 * e,
    };
    const fp = new TensorFingerprinter(
      [
        ref,
        {
          ...ref,
          name: 'n.weight',
          start: 4 * 1024 * 1024,
          end: 8 * 1024 * 1024,
          address: (e) => 4 * 1024 * 1024 + 4 * e,
        },
      ],
      { maxGather: 5000 },
    );
    fp.update(new Uint8Array(8 * 1024 * 1024).fill(0x3f), 0);
    const r = fp.finish();
    expect(r.layers.weights).toBe(1);
    expect(r.skipped?.join()).toMatch(/gather budget/);
  });
});
