/**
 * Property tests of the chunk and segment parsers: random bytes behind each container's magic,
 * and real built files with random byte flips and cuts, never throw and never run away; the CBOR
 * and JUMBF parsers throw only their own errors; infotext and graph readers accept any text.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseInfotext } from '../../src/provenance/a1111.js';
import { CborError, decodeCbor } from '../../src/provenance/c2pa/cbor.js';
import { JumbfError, parseJumbf } from '../../src/provenance/c2pa/jumbf.js';
import { readGeneration } from '../../src/provenance/generators.js';
import { inspectMetadata } from '../../src/provenance/inspect.js';
import { readContainer } from '../../src/provenance/metadata.js';
import { readStealth } from '../../src/provenance/stealth.js';
import { xmpFields } from '../../src/provenance/xmp.js';
import {
  exifApp1,
  iTXt,
  jpegWith,
  pngChunk,
  pngWith,
  superbox,
  tEXt,
  tiff,
  userComment,
  webpWith,
  zTXt,
} from './build.js';

const RUNS = Number(process.env.WARD_FUZZ_RUNS ?? 300);
const MAGICS = [
  Buffer.from('89504e470d0a1a0a', 'hex'),
  Buffer.from('ffd8ff', 'hex'),
  Buffer.from('RIFF\0\0\0\0WEBP', 'latin1'),
  Buffer.from('II*\0', 'latin1'),
  Buffer.from('MM\0*', 'latin1'),
  Buffer.concat([Buffer.from('00000010', 'hex'), Buffer.from('jumb', 'latin1')]),
];

describe('container parsers (fuzz)', () => {
  it('never throw on random bytes behind each magic', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAGICS.length - 1 }), fc.uint8Array({ maxLength: 2048 }), (m, tail) => {
        const bytes = Buffer.concat([MAGICS[m] as Buffer, tail]);
        const meta = readContainer(bytes);
        if (bytes.length >= 16) expect(meta).toBeDefined();
        inspectMetadata(bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it('never throw on mutated and cut real files, and keep issues coded', async () => {
    const infotext = 'p\nNegative prompt: n\nSteps: 1, Sampler: a, Seed: 2, Model hash: 0123456789, Model: m';
    const store = superbox('6332706100110010800000aa00389b71', 'c2pa', [
      superbox('63326d6100110010800000aa00389b71', 'urn:m', []),
    ]);
    const block = tiff({
      le: true,
      ifd0: [[0x010e, 2, Buffer.from('Workflow: {"nodes": []}\0')]],
      exif: [[0x9286, 7, userComment(infotext, 'be')]],
    });
    const files = [
      await pngWith([
        tEXt('parameters', infotext),
        zTXt('prompt', '{"1":{"class_type":"KSampler","inputs":{"positive":["1",0]}}}'),
        iTXt('x', 'ü', true),
        pngChunk('caBX', store),
      ]),
      await jpegWith([exifApp1(block), [0xeb, Buffer.concat([Buffer.from('JP\0\x01\0\0\0\x01', 'latin1'), store])]]),
      await webpWith([
        ['EXIF', block],
        ['C2PA', store],
      ]),
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: files.length - 1 }),
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 12 }),
        fc.option(fc.nat(), { nil: undefined }),
        (f, flips, cut) => {
          const original = files[f] as Buffer;
          const bytes = Buffer.from(
            original.subarray(0, cut === undefined ? original.length : cut % (original.length + 1)),
          );
          for (const { at, value } of flips) if (bytes.length > 0) bytes[at % bytes.length] = value;
          const r = inspectMetadata(bytes);
          for (const i of r.issues ?? []) expect(i.code).toMatch(/^WARD_ERR_(METADATA_CORRUPT|LIMIT_METADATA)$/);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('CBOR and JUMBF (fuzz)', () => {
  it('throw only their own errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          decodeCbor(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(CborError);
        }
        try {
          parseJumbf(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(JumbfError);
        }
      }),
      { numRuns: RUNS * 3 },
    );
  });
});

describe('text readers (fuzz)', () => {
  it('infotext, JSON graphs and stealth payloads never throw', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), fc.json({ maxDepth: 6 }), (text, json) => {
        parseInfotext(text);
        readGeneration([
          { key: 'parameters', value: text, where: 'png:tEXt', offset: 0 },
          { key: 'prompt', value: json, where: 'png:tEXt', offset: 0 },
          { key: 'workflow', value: json, where: 'png:tEXt', offset: 0 },
          { key: 'UserComment', value: json, where: 'exif', offset: 0 },
          { key: 'invokeai_metadata', value: json, where: 'png:iTXt', offset: 0 },
        ]);
      }),
      { numRuns: RUNS },
    );
  });

  it('stealth reading never throws on random pixels', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom(3, 4),
        fc.nat(),
        (w, h, channels, seed) => {
          const data = new Uint8Array(w * h * channels).map((_, i) => (i * 2654435761 + seed) & 0xff);
          readStealth({ width: w, height: h, channels, data });
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('generic pass (fuzz)', () => {
  const KEYS = [
    'model',
    'Model hash',
    'LORAS',
    'hashes',
    'resources',
    'type',
    'name',
    'sha256',
    'ckpt_name',
    'steps',
    'seed',
    'prompt',
    'x',
  ];
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string(),
      fc.constantFrom(
        'lora',
        'x.safetensors',
        '45a21ea00a',
        `blake3:${'a'.repeat(64)}`,
        '<lora:a:1>',
        'urn:air:sd1:lora:civitai:1@2',
      ),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), tie('value'), { maxKeys: 6 }),
    ),
  })).value;

  it('any JSON under any key, any key-value text and any XMP text: never throws, stays bounded', () => {
    fc.assert(
      fc.property(json, fc.string({ maxLength: 300 }), (value, text) => {
        for (const t of [JSON.stringify(value) ?? 'null', text, `model=${text}\nsteps=1\nseed=2`]) {
          const g = readGeneration(
            [
              { key: 'parameters', value: t, where: 'png:tEXt', offset: 0 },
              { key: 'UserComment', value: t, where: 'exif', offset: 0 },
              { key: 'anything', value: t, where: 'png:iTXt', offset: 0 },
            ],
            [{ value, source: 'XMP' }],
          );
          expect(g.resources.size).toBeLessThanOrEqual(256);
          for (const r of g.resources.list()) expect(typeof r.name).toBe('string');
        }
        expect(() => xmpFields(`<a:b c:d="${text}">${text}</a:b>${text}`)).not.toThrow();
      }),
      { numRuns: RUNS },
    );
  });
});
