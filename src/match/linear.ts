/**
 * @module match/linear
 * The brute-force PDQ index: compares the query with every entry. Slow, obviously correct, and
 * the reference that the multi-index is tested against.
 */
import { hammingBytes } from '../signals/pdq/distance.js';
import type { HashIndex, IndexMatch } from './types.js';

export class LinearPdqIndex implements HashIndex {
  private readonly entries = new Map<number, Uint8Array>();

  add(value: Uint8Array, id: number): void {
    this.entries.set(id, Uint8Array.from(value));
  }

  remove(id: number): boolean {
    return this.entries.delete(id);
  }

  query(value: Uint8Array, maxDistance: number): IndexMatch[] {
    const out: IndexMatch[] = [];
    for (const [id, hash] of this.entries) {
      const distance = hammingBytes(hash, value);
      if (distance <= maxDistance) out.push({ id, distance });
    }
    return out;
  }

  get size(): number {
    return this.entries.size;
  }
}
