/**
 * @module item
 * The vocabulary every area shares, below all of them so data flows one way: content types,
 * findings, signals, bank hits, reasons, verdicts and the per-item report (the NDJSON contract of
 * `ward scan`, published as JSON Schema in docs/schema/). Extractors (models, provenance, text)
 * produce findings, the matcher produces hits, the scan policy decides, the store keeps reports:
 * each imports these types from here, none from another area.
 */
import type { DihedralName } from './signals/pdq/dihedral.js';

/** Version of the item report schema (docs/schema/scan-item.v1.json). */
export const REPORT_SCHEMA_VERSION = 1;

/**
 * What an item is, by magic bytes. `archive` items are containers (their entries follow them);
 * the others each have a plugin slot of extractors.
 */
export type ContentType = 'image' | 'video' | 'model' | 'text' | 'archive' | 'other' | (string & {});
/** The built-in content types (a plugin may add more: src/plugin.ts `contentTypes`). */
export const CONTENT_TYPES: readonly ContentType[] = ['image', 'video', 'model', 'text', 'archive', 'other'];

export type Verdict = 'match' | 'flag' | 'clean' | 'skipped' | 'error';
export const VERDICTS: readonly Verdict[] = ['match', 'flag', 'clean', 'skipped', 'error'];

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

/** Something an extractor noticed about an item (never the content itself). */
export interface Finding {
  /** Dotted identifier, stable: `<area>.<name>`, e.g. `archive.unsafe-name`. */
  type: string;
  severity: Severity;
  /** Confidence 0..1, where the extractor has one. */
  score?: number;
  /** A short human description; it names what was seen, never quotes content. */
  message: string;
  /** The extractor that produced it. */
  source: string;
  /** Structured details (e.g. model names, hashes, rule ids). */
  data?: Record<string, unknown>;
}

/**
 * Signals of an item, flat: signal type → value (`pdq`, `md5`, `sha1`, `sha256`, later `vpdq`,
 * `autov2`...), plus `quality` beside `pdq` as in `ward hash` and `ward match`.
 */
export type ItemSignals = Record<string, string | number | string[]>;

export interface MatchHit {
  bank: string;
  signal: string;
  value: string;
  distance: number;
  entryId: number;
  labels: string[];
  /** Which dihedral transform of the query matched (dihedral matching only). */
  transform?: DihedralName;
  /** vPDQ: share of the query video's frames (quality ≥ 50, distinct) that matched a frame of the entry. */
  queryMatchPercent?: number;
  /** vPDQ: share of the entry's frames that matched a frame of the query. */
  comparedMatchPercent?: number;
  /** What else the signal type's index reported (e.g. the layers a model fingerprint compared). */
  detail?: Record<string, unknown>;
  /**
   * The entry came from a hash exchange (src/exchanges): the collaboration and the exchange's own
   * id of it (NCMEC: `member/id`). Its labels are the exchange's (classification, member).
   */
  exchange?: { name: string; entryId: string };
}

/** Why an item got its verdict. */
export interface Reason {
  /** `bank-match`, `bank-flag`, `finding`, `weak-hash`, `unsupported`, `error`, `suppressed`, `resource-match`. */
  rule: string;
  message: string;
  score?: number;
  /** The finding type or bank name the reason comes from. */
  ref?: string;
}

/**
 * What the decoder saw: image and video size; for videos also the frame rate, the duration the
 * container states and how many frames were hashed.
 */
export interface MediaInfo {
  width?: number;
  height?: number;
  fps?: number;
  durationSeconds?: number;
  frames?: number;
}

/** One line of `ward scan --format ndjson`. */
export interface ItemReport {
  path: string;
  /** Path inside the archive at `path`; nested archives are joined with `!/`. */
  archivePath?: string;
  contentType: ContentType;
  /** Format within the content type (jpeg, png, zip...), when recognised. */
  format?: string;
  /** Bytes of the item. */
  size?: number;
  verdict: Verdict;
  signals: ItemSignals;
  matches: MatchHit[];
  /** Negative-bank matches that suppressed block matches. */
  suppressedBy?: MatchHit[];
  findings: Finding[];
  reasons: Reason[];
  /** Highest score among the reasons, for sorting a review queue. */
  score?: number;
  /** Image dimensions and the like. */
  media?: MediaInfo;
  error?: { code: string; message: string };
}
