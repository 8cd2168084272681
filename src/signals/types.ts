/**
 * @module signals/types
 * What a signal type is: a named kind of fingerprint with a parser and a brute-force comparison.
 * Fast indexes (later) are tested against `compare`.
 */

export interface Comparison {
  match: boolean;
  distance: number;
}

export interface SignalType {
  /** Stable key: a storage key, a bank-file column and an API value. Never renamed. */
  readonly name: string;
  /** Content types it applies to. */
  readonly contentTypes: readonly string[];
  /** Normalises a textual value or throws WARD_ERR_SIGNAL_INVALID. */
  parse(value: string): string;
  /** Distance at or below which two values match (0 for exact hashes). */
  readonly defaultThreshold: number;
  /** The reference comparison every index must agree with. */
  compare(a: string, b: string, threshold?: number): Comparison;
  /** Valid sample values, for tests and demos. */
  readonly examples: readonly string[];
}
