/**
 * Formats on bytes built here: safetensors of every kind the detector tells apart (kohya LoRA and
 * LyCORIS, SDXL, Flux, embeddings, VAE, checkpoints), kohya and ModelSpec metadata, GGUF (LLM,
 * adapter, image model; v2 and v3), diffusers and PEFT folders, NumPy. Then hostile input: header
 * lengths beyond the file, a 110 MB header, bad and deep JSON, tensor offsets out of range or
 * overlapping, truncated files, forged GGUF counts: each a clear WARD_ERR_MODEL_* error, quickly,
 * and the damaged file still gets its hashes.
 */
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readGguf } from '../../src/models/gguf.js';
import { inspectModel, inspectModelBytes, sniffModel } from '../../src/models/inspect.js';
import { DEFAULT_MODEL_LIMITS, resolveModelLimits } from '../../src/models/limits.js';
import { readSafetensorsHeader } from '../../src/models/safetensors.js';
import { bytesSource } from '../../src/models/source.js';
import { tempDir } from '../helpers/cli.js';
import { ggufOf, rawSafetensors, safetensorsOf, writeDiffusersFolder } from './build.js';

const dir = tempDir('ward-model-formats-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const header = (bytes: Uint8Array) => readSafetensorsHeader(bytesSource(bytes), DEFAULT_MODEL_LIMITS);
const inspect = (bytes: Uint8Array, name = 'model.safetensors') => inspectModelBytes(bytes, name, { screener: null });

describe('safetensors kinds and base models', () => {
  it('a kohya LoRA for SD 1.x with its training metadata', async () => {
    const md = {
      ss_network_module: 'networks.lora',
      ss_network_dim: '8',
      ss_tag_frequency: JSON.stringify({ '10_cat toy': { cat: 12, 'red ball': 3 }, '5_dog': { dog: 4 } }),
      ss_dataset_dirs: JSON.stringify({
        '10_cat toy': { n_repeats: 10, img_count: 12 },
        '5_dog': { n_repeats: 5, img_count: 4 },
      }),
      ss_num_train_images: '140',
      ss_output_name: 'pets',
      'modelspec.title': 'Pets',
      'modelspec.description': 'Cats and dogs',
      'modelspec.tags': 'cat, dog',
    };
    const r = await inspect(
      safetensorsOf(
        [
          {
            name: 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight',
            shape: [8, 768],
          },
          {
            name: 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight',
            shape: [320, 8],
          },
          { name: 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha', shape: [] },
        ],
        md,
      ),
    );
    expect(r).toMatchObject({ format: 'safetensors', kind: 'lora', variant: 'lora', baseModel: 'sd1', tensors: 3 });
    expect(r.training).toEqual({
      tagFrequency: { '10_cat toy': { cat: 12, 'red ball': 3 }, '5_dog': { dog: 4 } },
      datasetDirs: { '10_cat toy': { nRepeats: 10, imgCount: 12 }, '5_dog': { nRepeats: 5, imgCount: 4 } },
      numImages: 140,
      imageCount: 16,
      outputName: 'pets',
      title: 'Pets',
      description: 'Cats and dogs',
      tags: ['cat', 'dog'],
    });
    expect(r.hashes.autov3).toMatch(/^[0-9a-f]{64}$/);
  });

  it('newer kohya: ss_datasets with subsets and their tag frequencies', async () => {
    const md = {
      ss_datasets: JSON.stringify([
        {
          tag_frequency: { 'img/10_cat': { cat: 5 } },
          subsets: [{ image_dir: 'img/10_cat', num_repeats: 10, img_count: 5 }],
        },
      ]),
    };
    const r = await inspect(
      safetensorsOf([{ name: 'lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight', shape: [4, 768] }], md),
    );
    expect(r).toMatchObject({ kind: 'lora', baseModel: 'sdxl' });
    expect(r.training.tagFrequency).toEqual({ 'img/10_cat': { cat: 5 } });
    expect(r.training.datasetDirs).toEqual({ 'img/10_cat': { nRepeats: 10, imgCount: 5 } });
  });

  it('tells the families and kinds apart by names, shapes and metadata', async () => {
    const cases: [Parameters<typeof safetensorsOf>[0], Record<string, string> | undefined, object][] = [
      [
        [{ name: 'lora_unet_double_blocks_0_img_attn_proj.lora_down.weight', shape: [4, 8] }],
        undefined,
        { kind: 'lora', baseModel: 'flux' },
      ],
      [
        [{ name: 'lora_unet_input_blocks_4_1_proj_in.hada_w1_a', shape: [4, 4] }],
        undefined,
        { kind: 'lycoris', variant: 'loha', baseModel: 'sdxl' },
      ],
      [
        [{ name: 'x.lokr_w1', shape: [4, 4] }],
        { ss_base_model_version: 'sdxl_base_v1-0' },
        { kind: 'lycoris', variant: 'lokr', baseModel: 'sdxl' },
      ],
      [
        [{ name: 'x.lora_down.weight', shape: [4, 4] }],
        { 'modelspec.architecture': 'stable-diffusion-v1/lora' },
        { kind: 'lora', baseModel: 'sd1' },
      ],
      [[{ name: 'x.lora_down.weight', shape: [4, 4] }], { ss_v2: 'True' }, { kind: 'lora', baseModel: 'sd2' }],
      [[{ name: 'emb_params', shape: [4, 768] }], undefined, { kind: 'embedding', baseModel: 'sd1' }],
      [
        [
          { name: 'clip_l', shape: [2, 768] },
          { name: 'clip_g', shape: [2, 1280] },
        ],
        undefined,
        { kind: 'embedding', baseModel: 'sdxl' },
      ],
      [
        [
          { name: 'encoder.conv_in.weight', shape: [2] },
          { name: 'decoder.conv_out.weight', shape: [2] },
        ],
        undefined,
        { kind: 'vae' },
      ],
      [
        [
          { name: 'model.diffusion_model.input_blocks.0.0.weight', shape: [2] },
          { name: 'cond_stage_model.model.token_embedding.weight', shape: [2] },
          { name: 'first_stage_model.encoder.conv_in.weight', shape: [2] },
        ],
        undefined,
        { kind: 'checkpoint', baseModel: 'sd2' },
      ],
      [
        [{ name: 'model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight', shape: [2] }],
        undefined,
        { kind: 'checkpoint', baseModel: 'sd3' },
      ],
      [[{ name: 'control_model.input_hint_block.0.weight', shape: [2] }], undefined, { kind: 'controlnet' }],
      [
        [
          { name: 'model.layers.0.self_attn.q_proj.weight', shape: [2, 2] },
          { name: 'lm_head.weight', shape: [2] },
        ],
        undefined,
        { kind: 'llm', baseModel: 'llama' },
      ],
      [[{ name: 'something.else', shape: [2] }], undefined, { kind: 'unknown', baseModel: null }],
    ];
    for (const [tensors, md, want] of cases) {
      const r = await inspect(safetensorsOf(tensors, md));
      expect(r, JSON.stringify(tensors[0]?.name)).toMatchObject(want);
    }
  });

  it('reports gaps and bytes after the last tensor, which the reference loader refuses', () => {
    const h = header(
      safetensorsOf(
        [
          { name: 'a', shape: [2], offsets: [0, 8] },
          { name: 'b', shape: [2], offsets: [16, 24] },
        ],
        undefined,
        { extraData: 5 },
      ),
    );
    expect(h.issues).toEqual([
      '8 bytes between tensors are not covered by any tensor',
      '5 bytes after the last tensor are not covered by any tensor',
    ]);
  });

  it('keys such as __proto__ stay data', async () => {
    const json = JSON.stringify({
      __metadata__: { ss_tag_frequency: JSON.stringify({ x: { constructor: 1 } }) },
      t: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    })
      .replace('"__metadata__":{', '"__metadata__":{"__proto__":"polluted",')
      .replace('{\\"x\\"', '{\\"__proto__\\":{\\"__proto__\\":3},\\"x\\"')
      .replace('"t":', '"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"t":');
    expect(json).toContain('__proto__\\":{\\"__proto__');
    const r = await inspect(rawSafetensors(json, undefined, Buffer.alloc(8)));
    expect(r.error).toBeUndefined();
    expect(r.tensors).toBe(2);
    expect(Object.getPrototypeOf(r.metadata)).toBe(Object.prototype);
    expect(Object.getOwnPropertyNames(r.metadata)).toContain('__proto__');
    expect(Object.getOwnPropertyNames(r.training.tagFrequency)).toEqual(['__proto__', 'x']);
    expect(Object.getOwnPropertyNames(r.training.tagFrequency.x)).toEqual(['constructor']);
    expect(({} as Record<string, unknown>).constructor).toBe(Object);
  });
});

describe('GGUF', () => {
  const llama = () =>
    ggufOf({
      kv: [
        ['general.architecture', { type: 'string', value: 'llama' }],
        ['general.name', { type: 'string', value: 'Tiny Llama' }],
        ['general.alignment', { type: 'u32', value: 32 }],
        ['llama.context_length', { type: 'u32', value: 2048 }],
        ['tokenizer.ggml.tokens', { type: 'array-string', value: Array.from({ length: 300 }, (_, i) => `tok${i}`) }],
        ['tokenizer.ggml.token_type', { type: 'array-i32', value: [1, 2, 3] }],
        ['general.tags', { type: 'array-string', value: ['text', 'chat'] }],
      ],
      tensors: [
        { name: 'token_embd.weight', shape: [8, 4], type: 0, offset: 0 },
        { name: 'blk.0.attn_q.weight', shape: [32, 2], type: 2, offset: 128 },
      ],
      dataBytes: 128 + 36,
    });

  it('a language model: metadata, tensors, kind llm, the architecture as base model', async () => {
    const bytes = llama();
    expect(sniffModel(bytes)).toBe('gguf');
    const r = await inspect(bytes, 'tiny.gguf');
    expect(r).toMatchObject({ format: 'gguf', kind: 'llm', baseModel: 'llama', tensors: 2 });
    expect(r.metadata).toMatchObject({
      'gguf.version': 3,
      'general.name': 'Tiny Llama',
      'llama.context_length': 2048,
      'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', length: 300 },
      'tokenizer.ggml.token_type': [1, 2, 3],
    });
    expect(r.training).toMatchObject({ title: 'Tiny Llama', tags: ['text', 'chat'] });
    const g = readGguf(bytesSource(bytes), DEFAULT_MODEL_LIMITS);
    expect(g.tensors[1]).toEqual({ name: 'blk.0.attn_q.weight', shape: [32, 2], type: 2, offset: 128 });
    expect(g.dataOffset % 32).toBe(0);
  });

  it('adapters and image models; version 2', async () => {
    const adapter = ggufOf({
      version: 2,
      kv: [
        ['general.architecture', { type: 'string', value: 'llama' }],
        ['general.type', { type: 'string', value: 'adapter' }],
        ['adapter.type', { type: 'string', value: 'lora' }],
      ],
    });
    expect(await inspect(adapter, 'a.gguf')).toMatchObject({ kind: 'adapter', variant: 'lora', baseModel: 'llama' });
    const flux = ggufOf({ kv: [['general.architecture', { type: 'string', value: 'flux' }]] });
    expect(await inspect(flux, 'f.gguf')).toMatchObject({ kind: 'checkpoint', baseModel: 'flux' });
  });

  it('forged counts, lengths and offsets are errors, found before looping or allocating', () => {
    const read =
      (b: Uint8Array, limits = DEFAULT_MODEL_LIMITS) =>
      () =>
        readGguf(bytesSource(b), limits);
    const base = { kv: [['general.architecture', { type: 'string', value: 'llama' }]] as [string, never][] };
    expect(read(ggufOf({ ...base, keyCount: 2 ** 40 }))).toThrow(
      expect.objectContaining({ code: 'WARD_ERR_MODEL_LIMIT' }),
    );
    expect(read(ggufOf({ ...base, keyCount: 5000 }))).toThrow(
      expect.objectContaining({ code: 'WARD_ERR_MODEL_CORRUPT' }),
    );
    expect(read(ggufOf({ ...base, tensorCount: 2 ** 50 }))).toThrow(
      expect.objectContaining({ code: 'WARD_ERR_MODEL_LIMIT' }),
    );
    const longArray = ggufOf({ kv: [['x', { type: 'array-i32', value: [1] }]] });
    longArray.writeBigUInt64LE(2n ** 60n, 24 + 8 + 1 + 4 + 4); // the array's count
    expect(read(longArray)).toThrow(expect.objectContaining({ code: 'WARD_ERR_MODEL_CORRUPT' }));
    const beyond = ggufOf({ kv: [], tensors: [{ name: 't', shape: [4], type: 0, offset: 4096 }], dataBytes: 16 });
    expect(read(beyond)).toThrow(/past the end of the data section/);
    const runsOver = ggufOf({ kv: [], tensors: [{ name: 't', shape: [400], type: 0, offset: 0 }], dataBytes: 16 });
    expect(read(runsOver)).toThrow(/runs past the end/);
    const overlap = ggufOf({
      kv: [],
      tensors: [
        { name: 'a', shape: [8], type: 0, offset: 0 },
        { name: 'b', shape: [8], type: 0, offset: 0 },
      ],
      dataBytes: 64,
    });
    expect(read(overlap)).toThrow(/overlap/);
    expect(read(llama().subarray(0, 60))).toThrow(expect.objectContaining({ code: 'WARD_ERR_MODEL_CORRUPT' }));
    const v9 = ggufOf(base as never);
    v9.writeUInt32LE(9, 4);
    expect(read(v9)).toThrow(expect.objectContaining({ code: 'WARD_ERR_MODEL_UNSUPPORTED' }));
    expect(read(llama(), resolveModelLimits({ maxGgufKeys: 3 }))).toThrow(
      expect.objectContaining({ code: 'WARD_ERR_MODEL_LIMIT' }),
    );
  });
});

describe('folders', () => {
  it('a diffusers pipeline: one report, each component inspected and hashed', async () => {
    const sd = join(dir, 'sd15');
    writeDiffusersFolder(sd);
    const r = await inspectModel(sd, { screener: null });
    expect(r).toMatchObject({
      format: 'diffusers',
      kind: 'checkpoint',
      baseModel: 'sd1',
      metadata: { pipeline: 'StableDiffusionPipeline' },
    });
    expect(r.components?.map((c) => [c.metadata.component, c.kind])).toEqual([
      ['unet', 'checkpoint'],
      ['vae', 'vae'],
    ]);
    expect(r.components?.[0]?.hashes.sha256).toMatch(/^[0-9a-f]{64}$/);
    const sd2 = join(dir, 'sd2');
    writeDiffusersFolder(sd2, 'StableDiffusionPipeline', 1024);
    expect((await inspectModel(sd2, { hashes: false })).baseModel).toBe('sd2');
    const xl = join(dir, 'xl');
    writeDiffusersFolder(xl, 'StableDiffusionXLPipeline', 2048);
    expect((await inspectModel(xl, { hashes: false })).baseModel).toBe('sdxl');
  });

  it('a PEFT adapter folder: adapter_config.json beside adapter_model.safetensors', async () => {
    const peft = join(dir, 'peft');
    mkdirSync(peft, { recursive: true });
    writeFileSync(
      join(peft, 'adapter_config.json'),
      JSON.stringify({ peft_type: 'LORA', base_model_name_or_path: 'meta-llama/Llama-2-7b-hf', r: 8 }),
    );
    writeFileSync(
      join(peft, 'adapter_model.safetensors'),
      safetensorsOf([{ name: 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', shape: [8, 16] }]),
    );
    const r = await inspectModel(peft, { screener: null });
    expect(r).toMatchObject({ path: peft, format: 'peft', kind: 'adapter', variant: 'lora', baseModel: 'llama' });
    expect(r.training.baseModelName).toBe('meta-llama/Llama-2-7b-hf');
    expect(r.metadata).toMatchObject({ weights: 'adapter_model.safetensors', adapter_config: { r: 8 } });
    await expect(inspectModel(dir)).rejects.toMatchObject({ code: 'WARD_ERR_MODEL_UNSUPPORTED' });
  });
});

describe('hostile model files', () => {
  const fail = (bytes: Uint8Array, code: string, message?: RegExp) => {
    let error: unknown;
    try {
      header(bytes);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code });
    if (message) expect((error as Error).message).toMatch(message);
  };

  it('a header length beyond the file', () => {
    fail(rawSafetensors('{"a":1}', 10_000), 'WARD_ERR_MODEL_CORRUPT', /runs past the end of the 15-byte file/);
    fail(Buffer.from([1, 2, 3]), 'WARD_ERR_MODEL_CORRUPT', /Truncated/);
  });

  it('a 110 MB header is refused from its length, without reading it', async () => {
    const path = join(dir, 'huge-header.safetensors');
    const fd = openSync(path, 'w');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(110_000_000n);
    writeSync(fd, Buffer.concat([len, Buffer.from('{"')]));
    writeSync(fd, Buffer.from('x'), 0, 1, 120_000_000); // sparse: nothing is written in between
    closeSync(fd);
    const started = performance.now();
    const r = await inspectModel(path, { hashes: false });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(r.error).toMatchObject({ code: 'WARD_ERR_MODEL_LIMIT' });
    expect(r.error?.message).toMatch(/110000000 bytes is over the limit of 100000000/);
  });

  it('bad JSON, deep JSON, a header that is not an object', () => {
    fail(rawSafetensors('{"a": '), 'WARD_ERR_MODEL_CORRUPT', /not valid JSON/);
    fail(rawSafetensors(`{"a":${'['.repeat(200)}${']'.repeat(200)}}`), 'WARD_ERR_MODEL_LIMIT', /nests 201 levels/);
    fail(rawSafetensors('[1,2]'), 'WARD_ERR_MODEL_CORRUPT', /does not start with/);
    fail(rawSafetensors('{"a": 1}'), 'WARD_ERR_MODEL_CORRUPT', /is not an object/);
    fail(rawSafetensors(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 'WARD_ERR_MODEL_CORRUPT', /UTF-8/);
  });

  it('tensor offsets out of range, overlapping, reversed', () => {
    const t = (offsets: [number, number][], data = 16) =>
      rawSafetensors(
        JSON.stringify(
          Object.fromEntries(
            offsets.map((o, i) => [
              `t${i}`,
              { dtype: 'U8', shape: [Math.min(Math.max(0, o[1] - o[0]), 64)], data_offsets: o },
            ]),
          ),
        ),
        undefined,
        Buffer.alloc(data),
      );
    fail(t([[0, 17]]), 'WARD_ERR_MODEL_CORRUPT', /past the 16-byte data section/);
    fail(
      t([
        [0, 10],
        [8, 16],
      ]),
      'WARD_ERR_MODEL_CORRUPT',
      /overlap/,
    );
    fail(t([[10, 4]]), 'WARD_ERR_MODEL_CORRUPT', /invalid data_offsets/);
    fail(t([[0, 2 ** 60]]), 'WARD_ERR_MODEL_CORRUPT', /invalid data_offsets|past the/);
  });

  it('kohya metadata whose JSON is too deep is named unreadable, not fatal', async () => {
    const r = await inspect(
      safetensorsOf([{ name: 'x.lora_down.weight', shape: [1] }], {
        ss_tag_frequency: `${'['.repeat(100)}${']'.repeat(100)}`,
      }),
    );
    expect(r.error).toBeUndefined();
    expect(r.training.unreadable).toEqual(['ss_tag_frequency']);
  });

  it('a damaged model still gets its identity hashes (banks can match a truncated copy)', async () => {
    const good = safetensorsOf([{ name: 'x.lora_down.weight', shape: [64] }]);
    const path = join(dir, 'truncated.safetensors');
    writeFileSync(path, good.subarray(0, 20));
    const r = await inspectModel(path);
    expect(r.error).toMatchObject({ code: 'WARD_ERR_MODEL_CORRUPT' });
    expect(r.hashes.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.hashes.autov3).toBeUndefined();
  });

  it('not a model at all', async () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'just some text\n');
    await expect(inspectModel(path)).rejects.toMatchObject({ code: 'WARD_ERR_MODEL_UNSUPPORTED' });
    await expect(inspectModel(join(dir, 'missing.safetensors'))).rejects.toMatchObject({
      code: 'WARD_ERR_INPUT_NOT_FOUND',
    });
  });
});
