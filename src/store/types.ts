/**
 * @module store/types
 * What Ward keeps: banks and their entries (fingerprints and labels, never content). Narrow
 * interfaces: code that only needs banks takes a BankStore.
 */
import type { Bank, BankKind, EntryBatch, ParsedEntry, RowIssue } from '../banks/types.js';

export interface StoredEntry {
  id: number;
  signal: string;
  value: string;
  labels: string[];
  /** List the entry came from (e.g. the imported file's name). */
  source?: string;
  /** The id the source gives it. */
  sourceId?: string;
  addedAt: string;
}

export interface BankWithCounts extends Bank {
  entries: number;
}

export interface BankStats {
  bank: Bank;
  entries: number;
  bySignal: Record<string, number>;
  byLabel: Record<string, number>;
}

export interface ImportOptions {
  /** Make the bank equal to the file: entries not in it are deleted. */
  replace?: boolean;
  /** Apply the valid lines even when some are invalid (they are still reported). */
  skipInvalid?: boolean;
  /** List name recorded on new entries. */
  source?: string;
}

export interface ImportReport {
  bank: string;
  read: number;
  added: number;
  updated: number;
  unchanged: number;
  deleted: number;
  invalid: RowIssue[];
  /** Invalid lines beyond the first 100 are counted, not listed. */
  invalidCount: number;
  applied: boolean;
}

export interface BankStore {
  createBank(name: string, options?: { kind?: BankKind; pdqDistance?: number }): Bank;
  getBank(name: string): Bank | undefined;
  listBanks(): BankWithCounts[];
  deleteBank(name: string): boolean;
  /**
   * One transaction: nothing is applied when a line is invalid, unless skipInvalid. Entries come
   * one by one or in batches (from the worker-thread reader).
   */
  importEntries(
    bank: string,
    entries: AsyncIterable<ParsedEntry | RowIssue | EntryBatch>,
    options?: ImportOptions,
  ): Promise<ImportReport>;
  /** Entries in id order, streamed. */
  entries(bank: string, signal?: string): IterableIterator<StoredEntry>;
  /** Entries by id (for reporting matches). */
  entriesById(ids: readonly number[]): Map<number, StoredEntry & { bank: string }>;
  stats(bank: string): BankStats;
  close(): void;
}
