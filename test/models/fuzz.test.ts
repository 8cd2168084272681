/**
 * Property tests of the model parsers on hostile bytes: random input, and valid files with bytes
 * flipped, cut short or counts forged. Every parser either returns or throws a WardError with a
 * WARD_ERR_MODEL_* code (never a TypeError, RangeError or hang), and the pickle walker never
 * throws at all.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WardError } from '../../src/errors.js';
import { readGguf } from '../../src/models/gguf.js';
import { inspectModelBytes, sniffModel } from '../../src/models/inspect.js';
import { DEFAULT_MODEL_LIMITS } from '../../src/models/limits.js';
import { walkPickle } from '../../src/models/pickle.js';
import { readSafetensorsHeader } from '../../src/models/safetensors.js';
import { bytesSource } from '../../src/models/source.js';
import { readZipDirectory, zipEntrySource } from '../../src/models/zip.js';
import { zipOf } from '../helpers/archives.js';
import { ggufOf, pk, safetensorsOf, sbu, torchStateDictPickle } from './build.js';

const MODEL_CODES = ['WARD_ERR_MODEL_CORRUPT', 'WARD_ERR_MODEL_LIMIT', 'WARD_ERR_MODEL_UNSUPPORTED'];

function onlyModelErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!WardError.is(e) || !MODEL_CODES.includes(e.code)) throw e;
  }
}

/** A valid file with some bytes changed and maybe cut short. */
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

const RUNS = { numRuns: 400 };

describe('safetensors header parser', () => {
  const base = safetensorsOf(
    [
      { name: 'lora_unet_a.lora_down.weight', shape: [2, 3] },
      { name: 'lora_unet_a.lora_up.weight', shape: [3, 2], dtype: 'F16' },
    ],
    { ss_output_name: 'x', ss_tag_frequency: '{"1_a": {"t": 2}}' },
  );

  it('mutated files: a header or a model error', () => {
    fc.assert(
      fc.property(mutated(base), (b) =>
        onlyModelErrors(() => readSafetensorsHeader(bytesSource(b), DEFAULT_MODEL_LIMITS)),
      ),
      RUNS,
    );
  });

  it('any JSON value as a header, any declared length', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.option(fc.nat(), { nil: undefined }), (json, declared) => {
        const body = Buffer.from(JSON.stringify(json) ?? 'null', 'utf8');
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(declared ?? body.length));
        onlyModelErrors(() => readSafetensorsHeader(bytesSource(Buffer.concat([len, body])), DEFAULT_MODEL_LIMITS));
      }),
      RUNS,
    );
  });

  it('whole inspection of mutated files never throws anything else', async () => {
    await fc.assert(
      fc.asyncProperty(mutated(base), async (b) => {
        try {
          const r = await inspectModelBytes(b, 'x', { screener: null });
          expect(r.hashes.sha256).toMatch(/^[0-9a-f]{64}$/);
        } catch (e) {
          if (!WardError.is(e) || e.code !== 'WARD_ERR_MODEL_UNSUPPORTED') throw e;
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('pickle opcode walker', () => {
  const opcodes = [
    ...'()0123FGIJKLMNPQRSTUVXabcdeghijlopqrstu}].',
    ...[
      0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92,
      0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
    ].map((c) => String.fromCharCode(c)),
  ];
  const opcodeSoup = fc
    .array(
      fc.oneof(
        fc.constantFrom(...opcodes),
        fc.constantFrom('os\n', 'system\n', '\x00', '\x05', '\xff\xff\xff\xff'),
        fc.string({ maxLength: 4 }),
      ),
      {
        maxLength: 200,
      },
    )
    .map((parts) => Buffer.from(`\x80\x04${parts.join('')}`, 'latin1'));

  it('never throws, on opcode soup, random bytes and mutated real pickles', () => {
    const real = torchStateDictPickle(['a.weight', 'b.bias']);
    const check = (b: Uint8Array) => {
      const r = walkPickle(bytesSource(b), { maxStack: 10_000, maxMemo: 10_000 });
      expect(['safe', 'suspicious', 'dangerous']).toContain(r.verdict);
      expect(r.opcodes).toBeLessThanOrEqual(b.length);
    };
    fc.assert(fc.property(opcodeSoup, check), RUNS);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), check), RUNS);
    fc.assert(fc.property(mutated(real), check), RUNS);
  });

  it('a dangerous import stays dangerous whatever follows it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
        const r = walkPickle(bytesSource(pk(0x80, 4, sbu('os'), sbu('system'), 0x93, tail)));
        expect(r.verdict).toBe('dangerous');
        expect(r.globals[0]).toBe('os.system');
      }),
      RUNS,
    );
  });

  it('deep nesting hits the stack limit, not the call stack', () => {
    const r = walkPickle(bytesSource(Buffer.alloc(200_000, 0x28)), { maxStack: 1000 });
    expect(r.error?.code).toBe('WARD_ERR_MODEL_LIMIT');
    expect(r.verdict).toBe('suspicious');
  });
});

describe('GGUF parser', () => {
  const base = ggufOf({
    kv: [
      ['general.architecture', { type: 'string', value: 'llama' }],
      ['tokenizer.ggml.tokens', { type: 'array-string', value: ['a', 'b', 'c'] }],
      ['llama.block_count', { type: 'u32', value: 2 }],
    ],
    tensors: [{ name: 't', shape: [4], type: 0, offset: 0 }],
    dataBytes: 16,
  });

  it('mutated files: metadata or a model error, quickly', () => {
    fc.assert(
      fc.property(mutated(base), (b) => {
        const started = performance.now();
        onlyModelErrors(() => readGguf(bytesSource(b), DEFAULT_MODEL_LIMITS));
        expect(performance.now() - started).toBeLessThan(500);
      }),
      RUNS,
    );
  });
});

describe('lenient zip reader and sniffing', () => {
  const base = zipOf([
    { name: 'archive/data.pkl', data: torchStateDictPickle(['k']), method: 'store' },
    { name: 'archive/data/0', data: Buffer.alloc(64, 7), method: 'deflate' },
  ]);

  it('mutated zips: entries or a model error; reading an entry too', () => {
    fc.assert(
      fc.property(mutated(base), (b) => {
        onlyModelErrors(() => {
          const src = bytesSource(b);
          for (const e of readZipDirectory(src).entries) onlyModelErrors(() => walkPickle(zipEntrySource(src, e)));
        });
      }),
      RUNS,
    );
  });

  it('sniffing never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (b) => {
        sniffModel(b);
      }),
      RUNS,
    );
  });
});
