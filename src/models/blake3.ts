/**
 * @module models/blake3
 * BLAKE3 (32-byte output) for model identity, as Civitai lists it. The fast path is the native
 * Rust implementation of `@napi-rs/blake-hash` (SIMD; its linux-x64 prebuilt package is an
 * optional dependency); where no prebuilt binary exists, a plain TypeScript transcription of the
 * reference implementation (same results, slower) takes over.
 */
import { createRequire } from 'node:module';

export interface IncrementalHash {
  update(bytes: Uint8Array): void;
  /** Lowercase hex. */
  digestHex(): string;
}

interface NativeHasher {
  update(input: Uint8Array): unknown;
  digest(format?: string): string;
}

let nativeCtor: (new () => NativeHasher) | null | undefined;

function native(): (new () => NativeHasher) | null {
  if (nativeCtor !== undefined) return nativeCtor;
  try {
    // The prebuilt binary package of @napi-rs/blake-hash for this platform, depended on directly
    // (an optional dependency): the wrapper package lists platform packages this registry lacks,
    // which breaks `npm ci`.
    const name = `@napi-rs/blake-hash-${process.platform}-${process.arch}${process.platform === 'linux' ? '-gnu' : ''}`;
    const mod = createRequire(import.meta.url)(name) as { Blake3Hasher?: new () => NativeHasher };
    nativeCtor = typeof mod.Blake3Hasher === 'function' ? mod.Blake3Hasher : null;
  } catch {
    nativeCtor = null;
  }
  return nativeCtor;
}

/** Which implementation `createBlake3()` uses: `native` (SIMD) or `typescript` (fallback). */
export function blake3Implementation(): 'native' | 'typescript' {
  return native() ? 'native' : 'typescript';
}

/** A BLAKE3 hasher: native when available, else the TypeScript one (or forced with `portable`). */
export function createBlake3(portable = false): IncrementalHash {
  const Ctor = portable ? null : native();
  if (Ctor) {
    const h = new Ctor();
    return {
      update: (bytes) => {
        h.update(bytes);
      },
      digestHex: () => h.digest('hex'),
    };
  }
  return new Blake3();
}

const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const CHUNK_START = 1;
const CHUNK_END = 2;
const PARENT = 4;
const ROOT = 8;
const CHUNK_LEN = 1024;
const PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];

/** Message word order for each of the 7 rounds (the permutation applied r times). */
const SCHEDULE: number[][] = (() => {
  const rounds: number[][] = [[...Array(16).keys()]];
  for (let r = 1; r < 7; r++) {
    const prev = rounds[r - 1] as number[];
    rounds.push(PERMUTATION.map((p) => prev[p] as number));
  }
  return rounds;
})();

const state = new Uint32Array(16);

/** The compression function; writes the 16 output words to `out`. */
function compress(
  cv: Uint32Array,
  m: Uint32Array,
  counter: number,
  blockLen: number,
  flags: number,
  out: Uint32Array,
): void {
  const s = state;
  for (let i = 0; i < 8; i++) s[i] = cv[i] as number;
  s[8] = IV[0] as number;
  s[9] = IV[1] as number;
  s[10] = IV[2] as number;
  s[11] = IV[3] as number;
  s[12] = counter >>> 0;
  s[13] = Math.floor(counter / 2 ** 32) >>> 0;
  s[14] = blockLen;
  s[15] = flags;
  for (let r = 0; r < 7; r++) {
    const o = SCHEDULE[r] as number[];
    g(s, 0, 4, 8, 12, m[o[0] as number] as number, m[o[1] as number] as number);
    g(s, 1, 5, 9, 13, m[o[2] as number] as number, m[o[3] as number] as number);
    g(s, 2, 6, 10, 14, m[o[4] as number] as number, m[o[5] as number] as number);
    g(s, 3, 7, 11, 15, m[o[6] as number] as number, m[o[7] as number] as number);
    g(s, 0, 5, 10, 15, m[o[8] as number] as number, m[o[9] as number] as number);
    g(s, 1, 6, 11, 12, m[o[10] as number] as number, m[o[11] as number] as number);
    g(s, 2, 7, 8, 13, m[o[12] as number] as number, m[o[13] as number] as number);
    g(s, 3, 4, 9, 14, m[o[14] as number] as number, m[o[15] as number] as number);
  }
  for (let i = 0; i < 8; i++) {
    out[i] = (s[i] as number) ^ (s[i + 8] as number);
    out[i + 8] = (s[i + 8] as number) ^ (cv[i] as number);
  }
}

function g(s: Uint32Array, a: number, b: number, c: number, d: number, mx: number, my: number): void {
  let va = s[a] as number;
  let vb = s[b] as number;
  let vc = s[c] as number;
  let vd = s[d] as number;
  va = (va + vb + mx) | 0;
  vd ^= va;
  vd = (vd >>> 16) | (vd << 16);
  vc = (vc + vd) | 0;
  vb ^= vc;
  vb = (vb >>> 12) | (vb << 20);
  va = (va + vb + my) | 0;
  vd ^= va;
  vd = (vd >>> 8) | (vd << 24);
  vc = (vc + vd) | 0;
  vb ^= vc;
  vb = (vb >>> 7) | (vb << 25);
  s[a] = va;
  s[b] = vb;
  s[c] = vc;
  s[d] = vd;
}

/** The reference implementation's structure, in TypeScript (fallback and test oracle). */
export class Blake3 implements IncrementalHash {
  private cv = new Uint32Array(IV);
  private readonly block = new Uint8Array(64);
  private readonly words = new Uint32Array(16);
  private readonly out = new Uint32Array(16);
  private blockLen = 0;
  private blocksCompressed = 0;
  private chunkCounter = 0;
  private readonly stack: Uint32Array[] = [];

  update(input: Uint8Array): void {
    let i = 0;
    while (i < input.length) {
      if (this.blocksCompressed * 64 + this.blockLen === CHUNK_LEN) {
        const chunkCv = this.chunkOutput().slice(0, 8);
        this.chunkCounter++;
        this.addChunk(chunkCv, this.chunkCounter);
        this.cv = new Uint32Array(IV);
        this.blocksCompressed = 0;
        this.blockLen = 0;
      }
      if (this.blockLen === 64) {
        this.loadWords(this.block);
        compress(this.cv, this.words, this.chunkCounter, 64, this.startFlag(), this.out);
        this.cv = this.out.slice(0, 8);
        this.blocksCompressed++;
        this.blockLen = 0;
      }
      const take = Math.min(
        64 - this.blockLen,
        input.length - i,
        CHUNK_LEN - this.blocksCompressed * 64 - this.blockLen,
      );
      this.block.set(input.subarray(i, i + take), this.blockLen);
      this.blockLen += take;
      i += take;
    }
  }

  digestHex(): string {
    return Buffer.from(this.digest()).toString('hex');
  }

  digest(): Uint8Array {
    // The last chunk's output, folded with the stacked subtree chaining values, right to left.
    this.block.fill(0, this.blockLen);
    this.loadWords(this.block);
    let cv = this.cv;
    let words = this.words.slice();
    let counter = this.chunkCounter;
    let blockLen = this.blockLen;
    let flags = CHUNK_END | this.startFlag();
    for (let i = this.stack.length - 1; i >= 0; i--) {
      compress(cv, words, counter, blockLen, flags, this.out);
      const right = this.out.slice(0, 8);
      words = new Uint32Array(16);
      words.set(this.stack[i] as Uint32Array, 0);
      words.set(right, 8);
      cv = new Uint32Array(IV);
      counter = 0;
      blockLen = 64;
      flags = PARENT;
    }
    compress(cv, words, counter, blockLen, flags | ROOT, this.out);
    const bytes = new Uint8Array(32);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < 8; i++) view.setUint32(i * 4, this.out[i] as number, true);
    return bytes;
  }

  private startFlag(): number {
    return this.blocksCompressed === 0 ? CHUNK_START : 0;
  }

  private loadWords(b: Uint8Array): void {
    for (let i = 0; i < 16; i++) {
      const j = i * 4;
      this.words[i] =
        ((b[j] as number) |
          ((b[j + 1] as number) << 8) |
          ((b[j + 2] as number) << 16) |
          ((b[j + 3] as number) << 24)) >>>
        0;
    }
  }

  private chunkOutput(): Uint32Array {
    this.block.fill(0, this.blockLen);
    this.loadWords(this.block);
    compress(this.cv, this.words, this.chunkCounter, this.blockLen, CHUNK_END | this.startFlag(), this.out);
    return this.out;
  }

  /** Merges completed subtrees: as many parents as trailing zero bits of the chunk count. */
  private addChunk(cv: Uint32Array, totalChunks: number): void {
    let right = cv;
    let total = totalChunks;
    const parent = new Uint32Array(16);
    while (total % 2 === 0) {
      parent.set(this.stack.pop() as Uint32Array, 0);
      parent.set(right, 8);
      compress(new Uint32Array(IV), parent, 0, 64, PARENT, this.out);
      right = this.out.slice(0, 8);
      total /= 2;
    }
    this.stack.push(right);
  }
}
