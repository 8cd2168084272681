/**
 * @module signals/types
 * What a signal type is: a named kind of fingerprint that owns everything about itself, so that
 * a new one is one file plus one registration (src/plugin.ts): how a value is parsed and
 * recognised, the brute-force comparison every index is tested against, the index a bank's
 * entries of this type live in, and how queries are built from an item's signals (quality gates,
 * dihedral forms, prefix forms). The matcher, the bank formats, the routes and the review queue
 * ask the registry (src/registry.ts) and never name a signal type themselves.
 */

export interface Comparison {
  match: boolean;
  distance: number;
}

/** Facts a hit carries beyond its distance. */
export interface HitDetail {
  /** Which dihedral transform of the query matched (PDQ). */
  transform?: string;
  /** vPDQ: share of the query's frames that matched, percent. */
  queryMatchPercent?: number;
  /** vPDQ: share of the entry's frames that matched, percent. */
  comparedMatchPercent?: number;
  /** Anything else a signal type reports (e.g. the layers a model fingerprint compared). */
  [key: string]: unknown;
}

/** Receives one hit: an entry id, its distance and optional details. */
export type HitSink = (id: number, distance: number, detail?: HitDetail) => void;

/**
 * A bank's entries of one signal type, searchable. Values are normalised (`SignalType.parse`).
 * Every index is held to a brute force over `SignalType.compare` by a differential test.
 */
export interface SignalIndex {
  /** Live entries. */
  readonly size: number;
  /** Adds an entry. Ids are unique and never reused. */
  add(id: number, value: string): void;
  /** Removes an entry (the value it was added with); false when unknown. */
  remove(id: number, value: string): boolean;
  /**
   * Calls `hit` for every entry within `radius` of the query (a query is whatever this signal
   * type's `queries` builds for it; exact indexes also take `{prefix}`).
   */
  search(query: unknown, radius: number, hit: HitSink): void;
  /** Live entry ids, in any order. */
  ids(): Iterable<number>;
  /** A snapshot in this index kind's format (see SignalIndexKind.load). */
  serialize?(): Uint8Array;
  /**
   * Writes a snapshot to a file without one buffer of the whole (large banks: a typed array
   * stops at 4 GiB); `loadFile` reads it. Preferred over serialize() when present.
   */
  writeFile?(path: string): void;
}

/** How a signal type's bank entries are indexed. */
export interface SignalIndexKind {
  /** Stable: part of snapshot file names (`pdq-mih`, `exact`, `vpdq`, `linear`). */
  readonly name: string;
  /** An index over entries (id, normalised value), in any order. */
  build(entries: Iterable<readonly [number, string]>): SignalIndex;
  /**
   * The same, fed page by page (bank loading streams pages from the store; values need not be
   * kept once pushed). Default: collect the pairs, then `build`.
   */
  builder?(): SignalIndexBuilder;
  /** An index from `serialize()` bytes; throws WARD_ERR_INDEX_SNAPSHOT when they are damaged. */
  load?(bytes: Uint8Array): SignalIndex;
  /** As load, from a file, streamed (never held whole in memory); preferred when present. */
  loadFile?(path: string): SignalIndex;
}

export interface SignalIndexBuilder {
  push(id: number, value: string): void;
  finish(): SignalIndex;
}

/** One query against the banks' indexes of one signal type. */
export interface SignalQuery {
  /** The signal type whose bank indexes answer (an AutoV2 also asks `sha256` by prefix). */
  target: string;
  /** What the target's index searches for (its normalised value, frames, `{prefix}`...). */
  query: unknown;
  /** Reported with the hit (e.g. the dihedral transform). */
  transform?: string;
}

export interface QueryOptions {
  /** Match hashes below the quality gate too. */
  includeWeak?: boolean;
  /** The quality gate (PDQ, vPDQ frames; default 50). */
  minQuality?: number;
  /** PDQ: query with all 8 dihedral hashes (needs `pdqDihedral` in the item's signals). */
  dihedral?: boolean;
  /** vPDQ: share of the query's frames that must match, percent (default 80). */
  vpdqQueryPercent?: number;
  /** vPDQ: share of the bank video's frames that must match, percent (default 0). */
  vpdqComparedPercent?: number;
}

/** What one signal value of an item asks of the banks. */
export interface QueryPlan {
  queries: SignalQuery[];
  /** Why a value is not matched (e.g. "pdq: quality 12 < 50"). */
  skipped?: string[];
  /** Set when the value is too weak to act on (the policy's `weak-hash` reason). */
  weak?: string;
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
  /**
   * `exact`: one value, one entry, distance 0 (a negative exact match is the very same item and
   * suppresses everything); `distance`: within a radius. Default: exact when defaultThreshold is 0.
   */
  readonly matching?: 'exact' | 'distance';
  /**
   * The bank's distance setting (`pdqDistance`, for the PDQ family) is this type's radius;
   * otherwise the radius is `defaultThreshold`.
   */
  readonly bankDistance?: boolean;
  /**
   * Whether a bare value could be of this type (bank files without a signal column, hash lists
   * in requests). Several types may claim a value (64 hex): importing then needs `--signal`,
   * and a match query asks all of them.
   */
  detect?(value: string): boolean;
  /** The index for bank entries. Default: an exact map for exact types, else a linear scan over `compare`. */
  readonly index?: SignalIndexKind;
  /**
   * The queries an item's value of this type makes. `item` holds the item's other signals
   * (`quality`, `pdqDihedral`...). Default: the parsed value against this type's own indexes.
   */
  queries?(value: unknown, item: Readonly<Record<string, unknown>>, options: QueryOptions): QueryPlan;
}

/** How a signal type matches (its declared mode, else from its default threshold). */
export function matchingOf(type: SignalType): 'exact' | 'distance' {
  return type.matching ?? (type.defaultThreshold === 0 ? 'exact' : 'distance');
}
