/**
 * @module match/linear
 * The brute-force PDQ index: compares the query with every entry, in plain TypeScript. Slow,
 * obviously correct, and the reference that the multi-index is tested (and benchmarked) against.
 * Entries sit in one flat byte array, so it holds millions without a per-entry object.
 */
import { hammingBytes } from '../signals/pdq/distance.js';
import type { HashIndex, IndexMatch } from './types.js';

export class LinearPdqIndex implements HashIndex {
  private hashes = new Uint8Array(32 * 1024);
  private ids = new Uint32Array(1024);
  private count = 0;

  add(value: Uint8Array, id: number): void {
    if (this.count === this.ids.length) {
      const hashes = new Uint8Array(this.hashes.length * 2);
      hashes.set(this.hashes);
      const ids = new Uint32Array(this.ids.length * 2);
      ids.set(this.ids);
      this.hashes = hashes;
      this.ids = ids;
    }
    this.hashes.set(value.subarray(0, 32), this.count * 32);
    this.ids[this.count++] = id;
  }

  remove(id: number): boolean {
    const i = this.ids.subarray(0, this.count).indexOf(id);
    if (i < 0) return false;
    const last = --this.count;
    this.hashes.copyWithin(i * 32, last * 32, last * 32 + 32);
    this.ids[i] = this.ids[last] as number;
    return true;
  }

  query(value: Uint8Array, maxDistance: number): IndexMatch[] {
    const out: IndexMatch[] = [];
    for (let i = 0; i < this.count; i++) {
      const distance = hammingBytes(this.hashes.subarray(i * 32, i * 32 + 32), value);
      if (distance <= maxDistance) out.push({ id: this.ids[i] as number, distance });
    }
    return out;
  }

  get size(): number {
    return this.count;
  }
}
