/**
 * @module match/types
 * What every hash index offers. `linear.ts` is the brute-force reference; fast indexes must
 * return exactly its results (a differential test holds them to it).
 */

export interface IndexMatch {
  /** The entry id given to add(). */
  id: number;
  /** Hamming distance (bits) for PDQ; 0 for exact signals. */
  distance: number;
}

export interface HashIndex {
  /** Adds a value (32 bytes for PDQ) under an entry id. Ids are unique and never reused. */
  add(value: Uint8Array, id: number): void;
  /** Removes an entry; false if the id is unknown. */
  remove(id: number): boolean;
  /** Every entry within `maxDistance` (inclusive), in no particular order. */
  query(value: Uint8Array, maxDistance: number): IndexMatch[];
  readonly size: number;
}
