/**
 * Model inspection against real files (../shared/fixtures/models, MANIFEST.tsv): identity hashes
 * exactly as the manifest gives them (SHA-256 / AutoV2, AutoV3 = kohya sshs_model_hash, legacy
 * A1111 AutoV1 including the e3b0c442 of files under 1 MiB), BLAKE3 and CRC32 checked against
 * independent implementations, kinds and base models, kohya training metadata (tag frequencies
 * of the LoKr files), and the PEFT adapter with its adapter_config.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Blake3 } from '../../src/models/blake3.js';
import { hashModelFile } from '../../src/models/hashes.js';
import { inspectModel } from '../../src/models/inspect.js';
import { DEFAULT_MODEL_LIMITS } from '../../src/models/limits.js';
import { readSafetensorsHeader } from '../../src/models/safetensors.js';
import { fileSource } from '../../src/models/source.js';
import { readManifest, SHARED, SKIP_REASON, sharedAvailable } from '../helpers/fixtures.js';

const MODELS = join(SHARED, 'fixtures', 'models');
const rows = sharedAvailable ? readManifest(MODELS) : [];
const SHA = 'sha256_full(=Civitai SHA256; AutoV2=first10)';
const V3 = 'data_section_sha256(=AutoV3/sshs_model_hash)';
const V1 = 'legacy_model_hash(A1111 AutoV1; sha256 of 64KiB@1MiB, 8 hex)';

describe.skipIf(!sharedAvailable)(`model fixtures (${sharedAvailable ? `${rows.length} files` : SKIP_REASON})`, () => {
  it('has the columns and files the tests rely on', () => {
    expect(Object.keys(rows[0] ?? {})).toEqual(expect.arrayContaining(['file', 'bytes', SHA, V3, V1, 'format']));
    expect(rows.filter((r) => r.format === 'safetensors').length).toBe(5);
  });

  for (const row of rows.filter((r) => r.format === 'safetensors')) {
    const file = row.file as string;
    const path = join(MODELS, file);

    it(`${file}: hashes equal the manifest, BLAKE3 and CRC32 equal independent implementations`, async () => {
      const report = await inspectModel(path, { screener: null });
      const h = report.hashes;
      expect(report.size).toBe(Number(row.bytes));
      expect(h.sha256).toBe(row[SHA]);
      expect(h.autov2).toBe((row[SHA] as string).slice(0, 10));
      expect(h.autov3).toBe(row[V3]);
      expect(h.autov1).toBe(row[V1]);
      const bytes = readFileSync(path);
      const b3 = new Blake3();
      b3.update(bytes);
      expect(h.blake3).toBe(b3.digestHex());
      // Civitai's byte order: the little-endian bytes of the CRC, as hex.
      const c = crc32(bytes);
      expect(h.crc32).toBe(Buffer.from([c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24]).toString('hex'));
    });

    it(`${file}: the same hashes on two threads, in odd chunk sizes`, async () => {
      const dataOffset = (() => {
        const src = fileSource(path);
        try {
          return readSafetensorsHeader(src, DEFAULT_MODEL_LIMITS).dataOffset;
        } finally {
          src.close();
        }
      })();
      const serial = await hashModelFile(path, { dataOffset, parallel: false, chunkBytes: 65_537 });
      const parallel = await hashModelFile(path, {
        dataOffset,
        parallel: true,
        chunkBytes: 100_003,
        extra: ['md5', 'sha1'],
      });
      expect(parallel).toMatchObject(serial);
      expect(serial.autov3).toBe(row[V3]);
      expect(parallel.md5).toMatch(/^[0-9a-f]{32}$/);
    });
  }

  it('diffusers LoRAs: kind lora, base sd1 from the cross-attention width, no training provenance', async () => {
    for (const file of [
      'diffusers_sd15_lora_catundchat.safetensors',
      'diffusers_sd15_lora_rick_and_morty.safetensors',
    ]) {
      const r = await inspectModel(join(MODELS, file), { hashes: false, screener: null });
      expect(r).toMatchObject({ format: 'safetensors', kind: 'lora', variant: 'lora', baseModel: 'sd1', tensors: 256 });
      expect(r.metadata).toEqual({ format: 'pt' });
      expect(r.training).toEqual({ tagFrequency: {}, datasetDirs: {} });
      expect(r.pickle).toBeUndefined();
    }
  });

  it('LyCORIS LoKr: kind, variant, base model and the full kohya training metadata', async () => {
    const r = await inspectModel(join(MODELS, 'lycoris_smart_falcon_16_lokr.safetensors'), { screener: null });
    expect(r).toMatchObject({
      format: 'safetensors',
      kind: 'lycoris',
      variant: 'lokr',
      baseModel: 'sd1',
      tensors: 1750,
    });
    expect(r.metadata.ss_network_module).toBe('lycoris.kohya');
    expect(r.metadata.sshs_model_hash).toBe(r.hashes.autov3);
    const t = r.training;
    expect(Object.keys(t.tagFrequency).sort()).toEqual(['16_smf girl', '4_smf girl', '8_smf girl']);
    const folder = t.tagFrequency['16_smf girl'] as Record<string, number>;
    expect(folder['smart falcon \\(umamusume\\)']).toBe(43);
    expect(folder['hair bow']).toBe(43);
    expect(folder['holding microphone']).toBe(9);
    expect(folder.pointing).toBe(1);
    expect(t.datasetDirs).toEqual({
      '16_smf girl': { nRepeats: 16, imgCount: 43 },
      '4_smf girl': { nRepeats: 4, imgCount: 45 },
      '8_smf girl': { nRepeats: 8, imgCount: 42 },
    });
    // kohya counts repeats: 16*43 + 4*45 + 8*42.
    expect(t.numImages).toBe(1204);
    expect(t.imageCount).toBe(130);
    expect(t.outputName).toBe('smart_falcon_16_lokr');
    expect(t.baseModelName).toBe('animefull-final-pruned.safetensors');
    expect(t.comment).toBe('trigger word is smart falcon \\(umamusume\\)');
    // The tag map is the JSON kohya wrote: every tag and count survives.
    const raw = JSON.parse(r.metadata.ss_tag_frequency as string);
    expect(t.tagFrequency).toEqual(raw);
  });

  it('LoKr dim 4: same dataset, its own output name; under 1 MiB so AutoV1 is e3b0c442', async () => {
    const r = await inspectModel(join(MODELS, 'lycoris_smart_falcon_4_lokr.safetensors'), { screener: null });
    expect(r).toMatchObject({ kind: 'lycoris', variant: 'lokr', baseModel: 'sd1' });
    expect(r.training.outputName).toBe('smart_falcon_lokr_3.0e-4');
    expect(r.hashes.autov1).toBe('e3b0c442');
    expect(r.metadata.sshs_legacy_hash).toBe('e3b0c442');
  });

  it('PEFT adapter: kind adapter, Llama-style base, adapter_config.json merged; the config path inspects the weights', async () => {
    const weights = join(MODELS, 'peft_llm_lora_synthetic_veltrix.safetensors');
    const r = await inspectModel(weights, { screener: null });
    expect(r).toMatchObject({
      format: 'safetensors',
      kind: 'adapter',
      variant: 'lora',
      baseModel: 'llama',
      tensors: 28,
    });
    expect(r.metadata.adapter_config).toMatchObject({ r: 4, lora_alpha: 8, task_type: 'CAUSAL_LM' });
    expect(r.metadata.adapter_config_file).toBe('peft_llm_lora_synthetic_veltrix.adapter_config.json');
    const viaConfig = await inspectModel(join(MODELS, 'peft_llm_lora_synthetic_veltrix.adapter_config.json'), {
      screener: null,
    });
    expect(viaConfig.path).toBe(weights);
    expect(viaConfig.hashes).toEqual(r.hashes);
  });
});
