/**
 * Generation metadata readers on texts built here: A1111 infotext parameters (quoted values, JSON
 * values, LoRA/TI/Civitai hashes, lora tags), hash classification, ComfyUI graphs (loaders, cyclic
 * and huge graphs), and the tools' JSON formats.
 */
import { describe, expect, it } from 'vitest';
import { infotextGenerator, parseInfotext, parseParams } from '../../src/provenance/a1111.js';
import { apiNodes, readApiGraph, readWorkflow } from '../../src/provenance/comfyui.js';
import { readGeneration } from '../../src/provenance/generators.js';
import { classifyHash } from '../../src/provenance/hashes.js';
import type { TextEntry } from '../../src/provenance/metadata.js';
import { airsIn, Resources } from '../../src/provenance/resources.js';

const entry = (key: string, value: string): TextEntry => ({ key, value, where: 'png:tEXt', offset: 0 });

describe('A1111 infotext', () => {
  it('parses quoted and JSON values without splitting on their commas', () => {
    expect(
      parseParams(
        'Steps: 20, Lora hashes: "a: 0123456789ab, b: ba9876543210", Hashes: {"model": "0123456789", "lora:x": "aa"}, Civitai resources: [{"type":"lora","a":1}], Size: 1x1',
      ),
    ).toEqual([
      ['Steps', '20'],
      ['Lora hashes', 'a: 0123456789ab, b: ba9876543210'],
      ['Hashes', '{"model": "0123456789", "lora:x": "aa"}'],
      ['Civitai resources', '[{"type":"lora","a":1}]'],
      ['Size', '1x1'],
    ]);
  });

  it('splits prompt, negative prompt (multi-line) and parameters; prose is not infotext', () => {
    const info = parseInfotext('line one\nline two\nNegative prompt: bad\nworse\nSteps: 20, Sampler: Euler, Seed: 5');
    expect(info).toMatchObject({ prompt: 'line one\nline two', negativePrompt: 'bad\nworse' });
    expect(info?.params.get('Seed')).toBe('5');
    expect(parseInfotext('GIMPで再保存しただけ')).toBeUndefined();
    expect(parseInfotext('Created with GIMP, a: b, c: d')).toBeUndefined();
  });

  it('names the tool from Version and App', () => {
    const gen = (params: string) =>
      infotextGenerator(parseInfotext(`p\nSteps: 1, Sampler: a, Seed: 2, ${params}`) as never);
    expect(gen('Version: v1.10.1')).toBe('AUTOMATIC1111 v1.10.1');
    expect(gen('Version: f2.0.1v1.10.1-previous-1-g1')).toBe('Forge f2.0.1v1.10.1-previous-1-g1');
    expect(gen('Version: f1.0.0v2-v1.10.1RC-latest-1-g1')).toBe('reForge f1.0.0v2-v1.10.1RC-latest-1-g1');
    expect(gen('Version: classic')).toBe('Forge classic');
    expect(gen('App: SD.Next, Version: 56a8aea')).toBe('SD.Next 56a8aea');
    expect(gen('Version: ComfyUI')).toBe('ComfyUI');
    expect(gen('Civitai metadata: {}')).toBe('Civitai');
  });

  it('collects the checkpoint, VAE, refiner, LoRAs, embeddings, Civitai resources and AIRs with typed hashes', () => {
    const text = [
      'a photo <lora:tagOnly:0.8>',
      'Negative prompt: x',
      'Steps: 20, Sampler: Euler a, Seed: 1, Model hash: 45a21ea00a, Model: base, VAE hash: 2125bad8d3, VAE: sdxl_vae, Refiner: ref [7440042bbd], ' +
        'Lora hashes: "styleA: 0123456789ab, styleB: ba9876543210", TI hashes: "negEmb: aabbccddeeff", ' +
        'Hashes: {"model": "45a21ea00a", "lora:styleC": "1111111111", "embed:emb2": "2222222222"}, ' +
        'Civitai resources: [{"type":"lora","modelVersionId":42,"modelName":"Civ","modelVersionName":"v1"}], Extra: urn:air:sdxl:lora:civitai:1@2',
    ].join('\n');
    const r = readGeneration([entry('parameters', text)]);
    const list = r.resources.list().map(({ type, name, hashes }) => ({ type, name, hashes }));
    expect(list).toEqual(
      expect.arrayContaining([
        { type: 'checkpoint', name: 'base', hashes: { autov2: '45a21ea00a' } },
        { type: 'vae', name: 'sdxl_vae', hashes: { autov2: '2125bad8d3' } },
        { type: 'checkpoint', name: 'ref', hashes: { autov2: '7440042bbd' } },
        { type: 'lora', name: 'styleA', hashes: { autov3: '0123456789ab' } },
        { type: 'lora', name: 'styleB', hashes: { autov3: 'ba9876543210' } },
        { type: 'embedding', name: 'negEmb', hashes: { autov2: 'aabbccddee' } },
        { type: 'lora', name: 'styleC', hashes: { autov2: '1111111111' } },
        { type: 'embedding', name: 'emb2', hashes: { autov2: '2222222222' } },
        { type: 'lora', name: 'Civ v1', hashes: {} },
        { type: 'lora', name: 'tagOnly', hashes: {} },
        { type: 'lora', name: 'urn:air:sdxl:lora:civitai:1@2', hashes: {} },
      ]),
    );
    expect(r.prompt).toBe('a photo <lora:tagOnly:0.8>');
  });

  it('sorts printed hashes into signal types', () => {
    expect(classifyHash('45DEE52B', 'checkpoint')).toEqual({ autov1: '45dee52b' });
    expect(classifyHash('45a21ea00a', 'checkpoint')).toEqual({ autov2: '45a21ea00a' });
    expect(classifyHash('0123456789ab', 'lora')).toEqual({ autov3: '0123456789ab' });
    expect(classifyHash('0123456789ab', 'embedding')).toEqual({ autov2: '0123456789' });
    expect(classifyHash(`0x${'ab'.repeat(32)}`, 'checkpoint')).toEqual({ sha256: 'ab'.repeat(32) });
    expect(classifyHash(`blake3:${'CD'.repeat(32)}`, 'lora')).toEqual({ blake3: 'cd'.repeat(32) });
    expect(classifyHash('not a hash', 'lora')).toEqual({});
    expect(classifyHash('123', 'lora')).toEqual({});
  });

  it('finds AIR URNs and skips types Ward does not track', () => {
    expect(airsIn('x urn:air:sdxl:checkpoint:civitai:827184@2514310 y urn:air:other:upscaler:civitai:1@2')).toEqual([
      { air: 'urn:air:sdxl:checkpoint:civitai:827184@2514310', type: 'checkpoint' },
    ]);
  });
});

describe('ComfyUI graphs', () => {
  const graph = {
    '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'models/base.safetensors' } },
    '2': { class_type: 'LoraLoader', inputs: { lora_name: 'style.safetensors', model: ['1', 0], clip: ['1', 1] } },
    '3': {
      class_type: 'Power Lora Loader (rgthree)',
      inputs: { lora_1: { on: true, lora: 'power.safetensors' }, lora_2: { on: false, lora: 'off.safetensors' } },
    },
    '4': { class_type: 'CLIPTextEncode', inputs: { text: 'a castle, embedding:goodEmb', clip: ['2', 1] } },
    '5': { class_type: 'CLIPTextEncode', inputs: { text: 'ugly', clip: ['2', 1] } },
    '6': {
      class_type: 'KSampler',
      inputs: { model: ['2', 0], positive: ['4', 0], negative: ['5', 0], latent_image: ['7', 0] },
    },
    '7': { class_type: 'EmptyLatentImage', inputs: {} },
    '8': { class_type: 'VAELoader', inputs: { vae_name: 'vae.safetensors' } },
    '9': { class_type: 'VAEDecode', inputs: { samples: ['6', 0], vae: ['8', 0] } },
    '10': { class_type: 'SaveImage', inputs: { images: ['9', 0] } },
    '11': { class_type: 'UpscaleModelLoader', inputs: { model_name: '4x.pth' } },
  };

  it('finds loaders and the final sampler’s prompts', () => {
    const into = new Resources();
    const info = readApiGraph(apiNodes(graph) as never, into, 'test');
    expect(info).toMatchObject({ prompt: 'a castle, embedding:goodEmb', negativePrompt: 'ugly', sampler: true });
    expect(
      into
        .list()
        .map((r) => `${r.type}:${r.name}`)
        .sort(),
    ).toEqual(['checkpoint:base', 'embedding:goodEmb', 'lora:power', 'lora:style', 'vae:vae'].sort());
  });

  it('cyclic graphs end (links in a loop, self links, a sampler feeding itself)', () => {
    const cyclic = {
      '1': { class_type: 'KSampler', inputs: { positive: ['2', 0], negative: ['3', 0], model: ['1', 0] } },
      '2': { class_type: 'ConditioningCombine', inputs: { conditioning_1: ['3', 0], conditioning_2: ['2', 0] } },
      '3': { class_type: 'ConditioningConcat', inputs: { a: ['2', 0], b: ['1', 0], text: 'loop text' } },
      '4': { class_type: 'SaveImage', inputs: { images: ['1', 0] } },
    };
    const t0 = performance.now();
    const r = readGeneration([entry('prompt', JSON.stringify(cyclic))]);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(r.prompt).toBe('loop text');
  });

  it('a huge graph is bounded (10,000 nodes read at most)', () => {
    const big: Record<string, unknown> = {};
    for (let i = 0; i < 50_000; i++)
      big[i] = { class_type: 'ConditioningCombine', inputs: { a: [String(i + 1), 0], b: [String(i ? i - 1 : 0), 0] } };
    big.s = { class_type: 'KSampler', inputs: { positive: ['0', 0] } };
    const t0 = performance.now();
    readGeneration([entry('prompt', JSON.stringify(big))]);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('UI workflows: loaders from widgets, prompts through links', () => {
    const wf = {
      nodes: [
        { id: 1, type: 'CheckpointLoaderSimple', widgets_values: ['ck.safetensors'] },
        { id: 2, type: 'LoraLoader', widgets_values: ['lo.safetensors', 1, 1] },
        { id: 3, type: 'CLIPTextEncode', widgets_values: ['pos text'] },
        { id: 4, type: 'CLIPTextEncode', widgets_values: ['neg text'] },
        {
          id: 5,
          type: 'KSampler',
          inputs: [
            { name: 'positive', link: 10 },
            { name: 'negative', link: 11 },
          ],
        },
      ],
      links: [
        [10, 3, 0, 5, 1, 'CONDITIONING'],
        [11, 4, 0, 5, 2, 'CONDITIONING'],
      ],
    };
    const into = new Resources();
    expect(readWorkflow(wf, into, 't')).toMatchObject({ prompt: 'pos text', negativePrompt: 'neg text' });
    expect(into.list().map((r) => `${r.type}:${r.name}`)).toEqual(['checkpoint:ck', 'lora:lo']);
  });

  it('invalid graph JSON is an issue', () => {
    expect(readGeneration([entry('prompt', '{"1": ')]).issues[0]?.code).toBe('WARD_ERR_METADATA_CORRUPT');
  });
});

describe('tool formats', () => {
  it('Fooocus LoRAs with hashes; SwarmUI LoRAs; InvokeAI LoRAs with blake3', () => {
    const fooocus = readGeneration([
      entry(
        'parameters',
        JSON.stringify({
          version: 'Fooocus v2.5.0',
          prompt: 'p',
          base_model: 'b',
          base_model_hash: '0123456789',
          loras: [['l1.safetensors', 0.5, 'abcdefabcd']],
        }),
      ),
    ]);
    expect(fooocus.resources.list().map((r) => [r.type, r.name, r.hashes])).toEqual([
      ['checkpoint', 'b', { autov2: '0123456789' }],
      ['lora', 'l1.safetensors', { autov2: 'abcdefabcd' }],
    ]);
    const swarm = readGeneration([
      entry(
        'parameters',
        JSON.stringify({
          sui_image_params: { prompt: 'p', model: 'm' },
          sui_models: [{ name: 'x.safetensors', param: 'loras', hash: `0x${'1'.repeat(64)}` }],
        }),
      ),
    ]);
    expect(swarm.resources.list()[0]).toMatchObject({ type: 'lora', hashes: { sha256: '1'.repeat(64) } });
    const invoke = readGeneration([
      entry(
        'invokeai_metadata',
        JSON.stringify({
          positive_prompt: 'p',
          model: { name: 'm', hash: `blake3:${'a'.repeat(64)}` },
          loras: [{ model: { name: 'l', hash: `blake3:${'b'.repeat(64)}` }, weight: 1 }],
        }),
      ),
    ]);
    expect(invoke.resources.list().map((r) => [r.type, r.hashes])).toEqual([
      ['checkpoint', { blake3: 'a'.repeat(64) }],
      ['lora', { blake3: 'b'.repeat(64) }],
    ]);
  });

  it('an AI tool named only in Software is likely, not yes', () => {
    const r = readGeneration([{ key: 'Software', value: 'Midjourney v6', where: 'exif', offset: 0 }]);
    expect(r.evidence).toEqual([expect.objectContaining({ kind: 'software', strength: 'likely' })]);
    expect(readGeneration([{ key: 'Software', value: 'GIMP 3.0.6', where: 'exif', offset: 0 }]).evidence).toEqual([]);
  });
});
