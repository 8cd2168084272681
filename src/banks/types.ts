/**
 * @module banks/types
 * Banks (hash lists) and their entries, as stored and as read from files.
 */

/** `block`: matches are reported. `negative`: known false positives; a match here suppresses others. */
export type BankKind = 'block' | 'negative';

export interface Bank {
  /** Store id: never reused, so caches keyed by it cannot outlive a deleted bank. */
  id: number;
  name: string;
  kind: BankKind;
  /** PDQ match distance for this bank (Hamming bits, inclusive), default 31. */
  pdqDistance: number;
  createdAt: string;
  /** Bumped on every change; index snapshots are keyed by it. */
  version: number;
}

/** One entry of a bank file, parsed and normalised, not yet stored. */
export interface ParsedEntry {
  /** Signal type name: pdq, md5, sha1, sha256 (the registry is open for more). */
  signal: string;
  /** Normalised value (lowercase hex for the built-in types). */
  value: string;
  /** Free tags, e.g. a category. Sorted, unique, each 1-128 chars. */
  labels: string[];
  /** The id the source gives the entry, if any (used to key re-imports). */
  sourceId?: string;
  /** 1-based line number in the file (for messages). */
  line: number;
}

/** A line that could not be parsed: reported with its number, never thrown. */
export interface RowIssue {
  line: number;
  code: 'WARD_ERR_BANK_ROW_INVALID';
  message: string;
}

/**
 * Entries parsed on a worker thread, handed to the store in one piece: `rows` is a JSON array of
 * `[signal, value, labels, sourceId, line]` rows (labels as `encodeLabels` writes them, sourceId
 * null when absent), so the store can stage a whole batch with one statement. `issues` are the
 * batch's invalid lines, in file order.
 */
export interface EntryBatch {
  kind: 'batch';
  rows: string;
  /** How many rows `rows` holds. */
  count: number;
  issues: RowIssue[];
}

export type BankFileFormat = 'csv' | 'tsv' | 'ndjson' | 'lines' | 'te-csv';
export const BANK_FILE_FORMATS: readonly BankFileFormat[] = ['csv', 'tsv', 'ndjson', 'lines', 'te-csv'];

/** Which columns of a CSV/TSV hold what (by header name). */
export interface ColumnMapping {
  value?: string;
  signal?: string;
  labels?: string;
  id?: string;
}

export interface ReadBankFileOptions {
  /** Detected from the first non-empty line when absent. */
  format?: BankFileFormat;
  /** Signal type for every row; required when a value is ambiguous (64 hex: pdq or sha256). */
  signal?: string;
  columns?: ColumnMapping;
  /** Longest accepted line in bytes (default 1 MiB); longer lines are row issues. */
  maxLineBytes?: number;
}

/** An entry as exported (what the store holds). */
export interface ExportEntry {
  signal: string;
  value: string;
  labels: string[];
  sourceId?: string;
  source?: string;
  addedAt?: string;
}
