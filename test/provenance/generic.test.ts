/**
 * The generic provenance pass. Variants of every shared genmeta fixture: what the known readers
 * find in the real file (models, hashes, prompt) is written back in a format no reader knows —
 * keys renamed, nested, re-cased, as a resource list or as flat typed siblings — carried in a PNG
 * text chunk under an unknown key, an EXIF UserComment (JPEG and WebP) and XMP properties; the
 * generic pass must find the same models with the same hashes, and rate the image `yes`. Then
 * negative controls (a camera's EXIF and XMP, prose, settings without a prompt or model) and
 * hostile input (deep nesting, huge blocks).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGeneration } from '../../src/provenance/generators.js';
import { keyValueBlock, MAX_NODES, normKey, readGeneric } from '../../src/provenance/generic.js';
import { inspectImage, inspectMetadata } from '../../src/provenance/inspect.js';
import { modelName, Resources } from '../../src/provenance/resources.js';
import type { ProvenanceReport, Resource, ResourceType } from '../../src/provenance/types.js';
import { xmpFields } from '../../src/provenance/xmp.js';
import { readManifest, SHARED, SKIP_REASON, sharedAvailable } from '../helpers/fixtures.js';
import { exifApp1, iTXt, jpegWith, pngWith, tEXt, tiff, userComment, webpWith } from './build.js';

const GENMETA = join(SHARED, 'fixtures', 'genmeta');

type Style = (words: string[]) => string;
const STYLES: Record<string, Style> = {
  snake: (w) => w.join('_'),
  camel: (w) => w.map((x, i) => (i === 0 ? x : x[0]?.toUpperCase() + x.slice(1))).join(''),
  upper: (w) => w.join('_').toUpperCase(),
  title: (w) => w.map((x) => x[0]?.toUpperCase() + x.slice(1)).join(' '),
  kebab: (w) => w.join('-'),
};

const LIST_WORDS: Record<ResourceType, string[]> = {
  checkpoint: ['checkpoint'],
  lora: ['loras'],
  embedding: ['embeddings'],
  vae: ['vae'],
};
const SIBLING_WORDS: Record<ResourceType, [string[], string[]]> = {
  checkpoint: [
    ['sd', 'model', 'name'],
    ['sd', 'model', 'hash'],
  ],
  lora: [['lora'], ['lora', 'hash']],
  embedding: [['embedding'], ['embedding', 'hash']],
  vae: [['vae'], ['vae', 'hash']],
};
const ALGO_WORDS: Record<string, string[]> = {
  autov1: ['auto', 'v1'],
  autov2: ['auto', 'v2'],
  autov3: ['auto', 'v3'],
  sha256: ['sha256'],
  blake3: ['blake3'],
};

function settings(k: Style): Record<string, unknown> {
  return { [k(['steps'])]: 20, [k(['sampler', 'name'])]: 'euler', [k(['cfg', 'scale'])]: 7, [k(['seed'])]: 42 };
}

/** Nested: {meta: {generation: {prompt, settings, models: {checkpoint: {file name, hashes: {…}}, loras: […]}}}}. */
function nested(r: ProvenanceReport, k: Style): unknown {
  const models: Record<string, unknown> = {};
  for (const res of r.resources) {
    const o = {
      [k(['file', 'name'])]: res.name,
      [k(['hashes'])]: Object.fromEntries(
        Object.entries(res.hashes).map(([a, h]) => [k(ALGO_WORDS[a] as string[]), h]),
      ),
    };
    const key = k(LIST_WORDS[res.type]);
    // Lists for LoRAs and embeddings, and for a type named more than once; one object otherwise.
    const many = r.resources.filter((x) => x.type === res.type).length > 1;
    if (res.type === 'lora' || res.type === 'embedding' || many) ((models[key] ??= []) as unknown[]).push(o);
    else models[key] = o;
  }
  return {
    [k(['meta'])]: {
      [k(['generation'])]: {
        [k(['positive', 'prompt'])]: r.prompt ?? '',
        [k(['negative', 'prompt'])]: r.negativePrompt ?? '',
        [k(['settings'])]: settings(k),
        [k(['models'])]: models,
      },
    },
  };
}

/** A resource list: {resources: [{type, name, hash}], prompt, steps, …}, one hash per resource. */
function list(r: ProvenanceReport, k: Style): unknown {
  return {
    [k(['prompt'])]: r.prompt ?? '',
    ...settings(k),
    [k(['used', 'resources'])]: r.resources.map((res) => ({
      [k(['type'])]: res.type.toUpperCase(),
      [k(['name'])]: res.name,
      ...hashField(res, k),
    })),
  };
}

/** Flat typed siblings: {"sd model name": x, "sd model hash": "autov2:…", "lora": y, "lora hash": …}. */
function siblings(r: ProvenanceReport, k: Style): unknown[] {
  // One object per resource of each type (siblings pair by type within an object).
  return r.resources.map((res) => {
    const [nameWords, hashWords] = SIBLING_WORDS[res.type];
    const first = Object.entries(res.hashes)[0];
    return {
      [k(['prompt'])]: r.prompt ?? '',
      ...settings(k),
      [k(nameWords)]: res.name,
      ...(first ? { [k(hashWords)]: `${first[0]}:${first[1]}` } : {}),
    };
  });
}

function hashField(res: Resource, k: Style): Record<string, string> {
  const first = Object.entries(res.hashes)[0];
  if (!first) return {};
  // A bare value where its shape and the resource type decide, a prefixed one otherwise.
  const [algo, value] = first;
  const bare =
    algo === 'sha256' || algo === 'autov2' || algo === 'autov1' || (algo === 'autov3' && res.type === 'lora');
  return { [k(['hash'])]: bare ? value : `${algo}:${value}` };
}

/** The resources of `got` cover `want`: same type, same name without folders and extension, the hashes given. */
function expectCovers(got: Resource[], want: Resource[], hashes: 'all' | 'first', what = ''): void {
  for (const w of want) {
    const hit = got.find(
      (g) => g.type === w.type && modelName(g.name).toLowerCase() === modelName(w.name).toLowerCase(),
    );
    expect(hit, `${what}: ${w.type} ${w.name} in ${JSON.stringify(got)}`).toBeDefined();
    const expected = hashes === 'all' ? w.hashes : Object.fromEntries(Object.entries(w.hashes).slice(0, 1));
    expect(hit?.hashes, `${what}: ${w.type} ${w.name} in ${JSON.stringify(got)}`).toMatchObject(expected);
  }
}

const xmpPacket = (props: Record<string, unknown>, json: string) =>
  `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
  `<rdf:Description xmlns:gen="urn:example:gen" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Model="Camera X" ` +
  Object.entries(props)
    .map(
      ([k, v]) =>
        `gen:${k.replace(/[^A-Za-z0-9_.-]/g, '_')}="${String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')}"`,
    )
    .join(' ') +
  `><gen:block>${json.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</gen:block></rdf:Description></rdf:RDF></x:xmpmeta>`;

describe.skipIf(!sharedAvailable)(
  `generic pass on variants of the genmeta fixtures (${sharedAvailable ? 'shared' : SKIP_REASON})`,
  () => {
    const rows = sharedAvailable ? readManifest(GENMETA) : [];
    it('covers fixtures with models and hashes', () => {
      expect(rows.length).toBeGreaterThan(30);
    });
    for (const row of rows) {
      const file = row.file as string;
      it(`${file}: renamed, nested, re-cased; PNG chunk, EXIF UserComment (JPEG, WebP), XMP`, async () => {
        const bytes = readFileSync(join(GENMETA, file));
        let original = inspectMetadata(bytes);
        if (original.resources.length === 0 && original.prompt === undefined)
          original = await inspectImage(bytes, { pixels: true });
        if (original.resources.length === 0) return; // nothing to carry (negative controls, prompt-only files)
        for (const [styleName, k] of Object.entries(STYLES)) {
          const n = JSON.stringify(nested(original, k));
          const l = JSON.stringify(list(original, k));
          const sib = siblings(original, k).map((o) => JSON.stringify(o));
          const carriers: [string, Buffer][] = [
            ['png nested', await pngWith([iTXt(k(['gen', 'info']), n)])],
            ['png list', await pngWith([iTXt('x-tool', l)])],
            ['png siblings', await pngWith(sib.map((s, i) => iTXt(`meta${i}`, s)))],
            [
              'jpeg UserComment',
              await jpegWith([exifApp1(tiff({ le: true, exif: [[0x9286, 7, userComment(n, 'be')]] }))]),
            ],
            [
              'webp UserComment',
              await webpWith([['EXIF', tiff({ le: false, exif: [[0x9286, 7, userComment(l, 'le')]] })]]),
            ],
            [
              'png XMP',
              await pngWith([
                iTXt('XML:com.adobe.xmp', xmpPacket(JSON.parse(sib[0] as string) as Record<string, string>, l)),
              ]),
            ],
          ];
          for (const [where, image] of carriers) {
            const r = inspectMetadata(image);
            const what = `${file} ${styleName} ${where}`;
            expect(r.aiGenerated, what).toBe('yes');
            expect(
              r.evidence.map((e) => e.kind),
              what,
            ).toContain('generation-parameters');
            if (where === 'png nested' || where === 'jpeg UserComment') {
              expectCovers(r.resources, original.resources, 'all', what);
              if (original.prompt) expect(r.prompt, what).toBe(original.prompt);
            } else if (where === 'png XMP') {
              expectCovers(r.resources, original.resources, 'first', what);
            } else expectCovers(r.resources, original.resources, 'first', what);
            expect(r.issues, what).toBeUndefined();
          }
        }
      });
    }
  },
);

const names = (r: Resources) => r.list().map((x) => `${x.type}:${x.name}:${JSON.stringify(x.hashes)}`);

describe('generic pass', () => {
  it('normalises keys: case and separators do not matter', () => {
    expect(['Model hash', 'model_hash', 'MODELHASH', 'modelHash', 'model-hash'].map(normKey)).toEqual(
      Array(5).fill('modelhash'),
    );
  });

  it('the issue’s case: an unknown JSON parameters chunk with a model name and 64-hex hash under its own keys', () => {
    const sha = 'ab'.repeat(32);
    const json = JSON.stringify({
      prompt: 'a lighthouse at dusk',
      params: { Steps: 30, Sampler: 'dpm++', CFG: 6 },
      Model: { Name: 'someCheckpoint_v2.safetensors', SHA256: sha },
    });
    const before = readGeneration([{ key: 'parameters', value: json, where: 'png:tEXt', offset: 0 }]);
    expect(before.resources.list()).toEqual([
      expect.objectContaining({ type: 'checkpoint', name: 'someCheckpoint_v2.safetensors', hashes: { sha256: sha } }),
    ]);
    expect(before.evidence.some((e) => e.strength === 'yes')).toBe(true);
    expect(before.prompt).toBe('a lighthouse at dusk');
  });

  it('A1111-style hash maps, Fooocus tuples, lora tags, AIRs, folder-typed file names and typed hash siblings', () => {
    const r = new Resources();
    const res = readGeneric(
      {
        Hashes: { model: '45a21ea00a', 'lora:styleA': '0123456789ab', 'embed:neg': 'aabbccddee' },
        LoRAs: [['tupleLora.safetensors', 0.5, 'ba9876543210']],
        text: 'x <lora:tagged:0.7> urn:air:sdxl:lora:civitai:1@2',
        Weights: 'models/loras/inFolder.safetensors',
        CKPT: 'base',
        ckpt_hash: '1234567890',
        vae: 'sdxl_vae',
        'VAE hash': `blake3:${'c'.repeat(64)}`,
        SEED: 1,
        steps: '20',
      },
      r,
      'test',
    );
    expect(names(r).sort()).toEqual(
      [
        'checkpoint:45a21ea00a:{"autov2":"45a21ea00a"}',
        'lora:styleA:{"autov3":"0123456789ab"}',
        'embedding:neg:{"autov2":"aabbccddee"}',
        'lora:tupleLora.safetensors:{"autov3":"ba9876543210"}',
        'lora:tagged:{}',
        'lora:urn:air:sdxl:lora:civitai:1@2:{}',
        'lora:models/loras/inFolder.safetensors:{}',
        'checkpoint:base:{"autov2":"1234567890"}',
        `vae:sdxl_vae:{"blake3":"${'c'.repeat(64)}"}`,
      ].sort(),
    );
    expect(res.generation).toBe(true);
  });

  it('key-value text blocks: key=value and key: value lines, A1111-style pairs', () => {
    const kv = keyValueBlock(
      'prompt=a hill\nmodel = hill.safetensors\nmodel_hash=0123456789\nsteps: 20, sampler: euler',
    );
    expect(kv).toEqual({
      prompt: 'a hill',
      model: 'hill.safetensors',
      model_hash: '0123456789',
      steps: '20',
      sampler: 'euler',
    });
    expect(keyValueBlock('Just a sentence: with a colon.')).toBeUndefined();
    const g = readGeneration([
      { key: 'UserComment', value: 'prompt=a hill\nmodel=hill\nsteps=3\nseed=9', where: 'exif', offset: 0 },
    ]);
    expect(g.resources.list()).toEqual([expect.objectContaining({ type: 'checkpoint', name: 'hill' })]);
    expect(g.evidence).toEqual([expect.objectContaining({ kind: 'generation-parameters', strength: 'yes' })]);
  });

  it('one PNG text chunk per setting is one block', () => {
    const entry = (key: string, value: string) => ({ key, value, where: 'png:tEXt', offset: 0 });
    const g = readGeneration([
      entry('prompt_text', 'a fox'),
      entry('Model', 'fox.ckpt'),
      entry('Steps', '9'),
      entry('Seed', '1'),
    ]);
    expect(g.resources.list()).toEqual([expect.objectContaining({ type: 'checkpoint', name: 'fox.ckpt' })]);
    expect(g.prompt).toBe('a fox');
  });

  it('negative controls: a camera’s EXIF Model and XMP tiff:Model, prose, settings alone, a model without settings', async () => {
    const camera = await jpegWith([
      exifApp1(
        tiff({
          le: true,
          ifd0: [
            [0x010f, 2, Buffer.from('Canon\0')],
            [0x0110, 2, Buffer.from('EOS 5D Mark IV\0')],
          ],
          exif: [[0x9286, 7, Buffer.from('ASCII\0\0\0steps: 3, seed: 4, note: holiday')]],
        }),
      ),
    ]);
    const c = inspectMetadata(camera);
    expect(c.aiGenerated).toBe('no-evidence');
    expect(c.resources).toEqual([]);
    const xmp = await pngWith([
      iTXt(
        'XML:com.adobe.xmp',
        '<x:xmpmeta><rdf:RDF><rdf:Description tiff:Model="EOS" exif:Model="EOS" xmp:CreatorTool="Photo editor"/></rdf:RDF></x:xmpmeta>',
      ),
    ]);
    expect(inspectMetadata(xmp).resources).toEqual([]);
    const prose = await pngWith([tEXt('Comment', 'Model: my cousin, at the beach. Seed: none')]);
    expect(inspectMetadata(prose).aiGenerated).toBe('no-evidence');
    const modelOnly = await pngWith([tEXt('info', JSON.stringify({ model: 'x.safetensors' }))]);
    const m = inspectMetadata(modelOnly);
    expect(m.aiGenerated).toBe('no-evidence');
    expect(m.resources).toEqual([expect.objectContaining({ type: 'checkpoint', name: 'x.safetensors' })]);
  });

  it('XMP properties outside the standard namespaces, attributes and elements, entities decoded', () => {
    expect(
      xmpFields(
        '<rdf:Description tiff:Model="cam" gen:Model="a &amp; b" gen:steps=\'3\'><gen:Seed>5</gen:Seed><dc:title>t</dc:title></rdf:Description>',
      ),
    ).toEqual({ Model: 'a & b', steps: '3', Seed: '5' });
  });

  it('hostile input: deep nesting, wide objects and huge blocks stay bounded and never throw', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const deepObj = `${'{"model":'.repeat(50_000)}"x"${'}'.repeat(50_000)}`;
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, `v${i}`])));
    const longList = JSON.stringify({ loras: Array.from({ length: 500_000 }, (_, i) => `l${i}`), steps: 1, seed: 2 });
    const inner = JSON.stringify({ a: JSON.stringify({ b: JSON.stringify({ c: JSON.stringify({ model: 'x' }) }) }) });
    for (const value of [deep, deepObj, wide, longList, inner, '{'.repeat(1_000_000), 'a=b\n'.repeat(1_000_000)]) {
      // Linear, not quadratic: seconds at most on a loaded machine (quadratic would be minutes).
      const t0 = performance.now();
      const g = readGeneration([{ key: 'parameters', value, where: 'png:tEXt', offset: 0 }]);
      expect(performance.now() - t0).toBeLessThan(8000);
      expect(g.resources.size).toBeLessThanOrEqual(256);
    }
    const r = new Resources();
    readGeneric(JSON.parse(longList), r, 't');
    expect(r.size).toBeLessThanOrEqual(256);
    expect(MAX_NODES).toBeGreaterThan(1000);
    const x = '<a:b '.repeat(200_000) + '="'.repeat(100_000);
    const t0 = performance.now();
    xmpFields(x);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
