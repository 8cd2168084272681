/**
 * The weight fingerprint of the benign real LoRA fixtures (../shared/fixtures/models): each
 * matches its own re-saved variants (another dtype, kohya key names, a PyTorch zip checkpoint),
 * and the two diffusers LoRAs of the same layout do not match each other. Skipped with a note
 * when ../shared is absent; nothing is copied from it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectModelBytes } from '../../src/models/inspect.js';
import { DEFAULT_MODEL_LIMITS } from '../../src/models/limits.js';
import { readSafetensorsHeader } from '../../src/models/safetensors.js';
import { bytesSource } from '../../src/models/source.js';
import { compareFingerprints } from '../../src/models/tensorfp.js';
import { canonicalLayer } from '../../src/models/tensorfp-names.js';
import { SHARED, SKIP_REASON, sharedAvailable } from '../helpers/fixtures.js';
import { type Dtype, encode, type NamedTensor, safetensorsFile, torchCheckpoint } from './tensorfp-build.js';

// WARD_SHARED points at another checkout of ../shared (a worktree beside the main one has none).
const ROOT = sharedAvailable ? SHARED : (process.env.WARD_SHARED ?? SHARED);
const available = existsSync(join(ROOT, 'fixtures', 'models', 'MANIFEST.tsv'));
const MODELS = join(ROOT, 'fixtures', 'models');
const FILES = [
  'diffusers_sd15_lora_catundchat.safetensors',
  'diffusers_sd15_lora_rick_and_morty.safetensors',
  'lycoris_smart_falcon_4_lokr.safetensors',
  'lycoris_smart_falcon_16_lokr.safetensors',
  'peft_llm_lora_synthetic_veltrix.safetensors',
];

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** The fixture's tensors, decoded. */
function tensorsOf(bytes: Buffer): { name: string; shape: number[]; values: Float64Array }[] {
  const h = readSafetensorsHeader(bytesSource(bytes), DEFAULT_MODEL_LIMITS);
  return h.tensors.map((t) => {
    const start = h.dataOffset + t.offsets[0];
    const n = t.shape.reduce((a, d) => a * d, 1);
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      values[i] = t.dtype === 'F32' ? bytes.readFloatLE(start + 4 * i) : halfToFloat(bytes.readUInt16LE(start + 2 * i));
    }
    return { name: t.name, shape: t.shape, values };
  });
}

const KOHYA_SUFFIX: Record<string, string> = { up: 'lora_up.weight', down: 'lora_down.weight' };

/** kohya's name for a tensor (`lora_unet_…`, `lora_te_…`), where the component has one. */
function kohyaName(name: string): string {
  const c = canonicalLayer(name);
  if (!c) return name;
  const [component, path] = c.key.split(':') as [string, string];
  if (component !== 'unet' && component !== 'te1')
    return name.replace(/\.lora_([AB])\.weight$/, '.lora_$1.default.weight');
  return `lora_${component === 'te1' ? 'te' : 'unet'}_${path}.${KOHYA_SUFFIX[c.role] ?? c.role}`;
}

async function fp(bytes: Buffer): Promise<string> {
  const r = await inspectModelBytes(bytes, 'f', { screener: null });
  expect(r.tensorfp?.value, JSON.stringify(r.tensorfp)).toBeDefined();
  return r.tensorfp?.value as string;
}

describe.skipIf(!available)(
  `tensorfp on the real LoRA fixtures (${available ? `${FILES.length} files` : SKIP_REASON})`,
  () => {
    const originals = new Map<string, string>();

    for (const file of FILES) {
      it(`${file}: matches its re-saved variants`, async () => {
        const bytes = readFileSync(join(MODELS, file));
        const r = await inspectModelBytes(bytes, file, { screener: null });
        expect(r.tensorfp?.kind).toBe('adapter');
        expect(r.tensorfp?.layers.delta).toBeGreaterThan(4);
        const original = r.tensorfp?.value as string;
        originals.set(file, original);
        const tensors = tensorsOf(bytes);
        const variants: [string, NamedTensor[]][] = [];
        for (const dtype of ['F32', 'F16', 'BF16'] as Dtype[]) {
          variants.push([
            `${dtype}, kohya names`,
            tensors.map((t) => ({ name: kohyaName(t.name), dtype, shape: t.shape, data: encode(t.values, dtype) })),
          ]);
        }
        const seen: Record<string, number> = {};
        for (const [label, ts] of variants) {
          for (const [container, b] of [
            ['safetensors', safetensorsFile(ts)],
            ['ckpt', torchCheckpoint(ts)],
          ] as const) {
            const c = compareFingerprints(original, await fp(b));
            seen[`${label} ${container}`] = c.distance;
            expect(c.layersCompared, `${label} ${container}`).toBe(r.tensorfp?.layers.delta);
            expect(c.match, `${label} ${container}`).toBe(true);
            expect(c.distance).toBeLessThan(0.02);
          }
        }
        console.log(`tensorfp ${file}: ${r.tensorfp?.layers.delta} layers`, seen);
      });
    }

    it('the two diffusers LoRAs (same layout, different training) do not match', () => {
      const a = originals.get(FILES[0] as string);
      const b = originals.get(FILES[1] as string);
      if (!a || !b) return;
      const c = compareFingerprints(a, b);
      console.log('tensorfp catundchat vs rick_and_morty:', c);
      expect(c.layersCompared).toBeGreaterThan(4);
      expect(c.match).toBe(false);
    });
  },
);
