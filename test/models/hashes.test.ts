/**
 * Identity hashes on bytes built here: BLAKE3 against the official test vectors (native and the
 * TypeScript fallback), Civitai's own scanner test vector ("hello world": SHA256 B94D27B993...,
 * CRC32 85114A0D in its byte order, BLAKE3 D74981EF...), the AutoV1 window at its edges (files
 * under 1 MiB, ending inside the window, larger), AutoV3 from the data offset, and one read on two
 * threads equal to one thread, whatever the chunk size.
 */
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Blake3, blake3Implementation, createBlake3 } from '../../src/models/blake3.js';
import { civitaiCrc32Hex, crc32, crc32Portable } from '../../src/models/hashers.js';
import { AUTOV1_OFFSET, hashModelBytes, hashModelFile, splitHashers } from '../../src/models/hashes.js';
import { tempDir } from '../helpers/cli.js';

const dir = tempDir('ward-model-hashes-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The official vectors' input: bytes 0, 1, ..., 250, 0, 1, ... */
function vectorInput(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

// First 32 bytes of the "hash" outputs in BLAKE3-team/BLAKE3 test_vectors/test_vectors.json.
const VECTORS: [number, string][] = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
  [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
  [2048, 'e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a'],
  [2049, '5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030'],
  [3072, 'b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2'],
  [4097, '9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995'],
  [7169, 'a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817'],
];

describe('BLAKE3', () => {
  it('uses the native implementation here', () => {
    expect(blake3Implementation()).toBe('native');
  });

  for (const [n, hex] of VECTORS) {
    it(`official vector, ${n} bytes: native and TypeScript`, () => {
      const input = vectorInput(n);
      const native = createBlake3();
      native.update(input);
      expect(native.digestHex()).toBe(hex);
      const ts = new Blake3();
      ts.update(input);
      expect(ts.digestHex()).toBe(hex);
    });
  }

  it('TypeScript equals native on random inputs split at random points', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 9000 }), fc.array(fc.nat(9000), { maxLength: 6 }), (input, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
        const ts = new Blake3();
        let at = 0;
        for (const p of [...points, input.length]) {
          ts.update(input.subarray(at, p));
          at = p;
        }
        const native = createBlake3();
        native.update(input);
        expect(ts.digestHex()).toBe(native.digestHex());
      }),
      { numRuns: 150 },
    );
  });

  it('many chunks (a tree several levels deep)', () => {
    const input = vectorInput(1024 * 37 + 5);
    const ts = new Blake3();
    ts.update(input);
    const native = createBlake3();
    native.update(input);
    expect(ts.digestHex()).toBe(native.digestHex());
  });
});

describe('Civitai conventions', () => {
  it("equals Civitai's scanner test vector for 'hello world'", () => {
    const h = hashModelBytes(Buffer.from('hello world'));
    expect(h.sha256.toUpperCase()).toBe('B94D27B9934D3E08A52E52D7DA7DABFAC484EFE37A5380EE9088F7ACE2EFCDE9');
    expect(h.autov2.toUpperCase()).toBe('B94D27B993');
    expect(h.crc32.toUpperCase()).toBe('85114A0D');
    expect(h.blake3.toUpperCase()).toBe('D74981EFA70A0C880B8D8C1985D075DBCBF679B99A5F9914E5AAF96B831A9E24');
    expect(h.autov3).toBeUndefined();
  });

  it('CRC32: the little-endian bytes of the usual CRC-32; portable equals zlib', () => {
    expect(civitaiCrc32Hex(0x0d4a1185)).toBe('85114a0d');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.nat(), (data, seed) => {
        expect(crc32Portable(data, seed >>> 0)).toBe(crc32(data, seed >>> 0));
      }),
      { numRuns: 100 },
    );
  });

  it('AutoV1: SHA-256 of the 64 KiB at 1 MiB, whatever of it the file has', () => {
    const sha8 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex').slice(0, 8);
    for (const size of [
      0,
      1000,
      AUTOV1_OFFSET,
      AUTOV1_OFFSET + 1,
      AUTOV1_OFFSET + 30_000,
      AUTOV1_OFFSET + 65_536,
      3_000_000,
    ]) {
      const bytes = vectorInput(size);
      const want = sha8(bytes.subarray(AUTOV1_OFFSET, AUTOV1_OFFSET + 65_536));
      expect(hashModelBytes(bytes).autov1, `size ${size}`).toBe(want);
    }
    expect(hashModelBytes(new Uint8Array(10)).autov1).toBe('e3b0c442');
  });

  it('AutoV3: SHA-256 from the data offset to the end', () => {
    const bytes = vectorInput(5000);
    const h = hashModelBytes(bytes, { dataOffset: 1234 });
    expect(h.autov3).toBe(createHash('sha256').update(bytes.subarray(1234)).digest('hex'));
    expect(hashModelBytes(bytes, { dataOffset: 5000 }).autov3).toBe(createHash('sha256').digest('hex'));
  });
});

describe('hashing a file in one read', () => {
  const size = 3 * 1024 * 1024 + 12_345;
  const bytes = vectorInput(size);
  const path = join(dir, 'model.bin');
  writeFileSync(path, bytes);
  const want = hashModelBytes(bytes, { dataOffset: 777, extra: ['md5', 'sha1'] });

  it('equals the in-memory hashes on one thread and on two, at any chunk size', async () => {
    for (const chunkBytes of [4096, 65_536 + 3, 1 << 20, 8 << 20]) {
      for (const parallel of [false, true]) {
        const got = await hashModelFile(path, { dataOffset: 777, extra: ['md5', 'sha1'], parallel, chunkBytes });
        expect(got, `chunk ${chunkBytes}, parallel ${parallel}`).toEqual(want);
      }
    }
    expect(want.md5).toBe(createHash('md5').update(bytes).digest('hex'));
    expect(want.sha1).toBe(createHash('sha1').update(bytes).digest('hex'));
  });

  it('runs files one after another and at once on reused helper threads', async () => {
    const all = await Promise.all(
      [1, 2, 3].map(() => hashModelFile(path, { dataOffset: 777, parallel: true, chunkBytes: 1 << 18 })),
    );
    for (const h of all) expect(h.sha256).toBe(want.sha256);
  });

  it('splits the hashers between the threads by cost', () => {
    const { main, helper } = splitHashers(['sha256', 'autov3', 'blake3', 'crc32']);
    expect([...main, ...helper].sort()).toEqual(['autov3', 'blake3', 'crc32', 'sha256']);
    // The two SHA-256 passes, the dearest, go to different threads.
    expect(main.includes('sha256')).not.toBe(main.includes('autov3'));
  });

  it('a missing file is WARD_ERR_INPUT_NOT_FOUND', async () => {
    await expect(hashModelFile(join(dir, 'nope'))).rejects.toMatchObject({ code: 'WARD_ERR_INPUT_NOT_FOUND' });
  });
});
