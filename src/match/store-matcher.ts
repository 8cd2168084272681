/**
 * @module match/store-matcher
 * A matcher over a service store (SQLite or PostgreSQL, src/store/service.ts), for the commands:
 * every bank's indexes through the one loader (match/bank-index, with snapshots), entries looked
 * up by id when something matched. The service keeps one current instead (server/live-index).
 */
import type { Bank } from '../banks/types.js';
import { activeRegistry, type Registry } from '../registry.js';
import type { ServiceStore } from '../store/service.js';
import { type BankIndexSource, loadBankIndex } from './bank-index.js';
import { Matcher, type MatchOptions, type MatchResult, type MatchSignals, selectBanks } from './matcher.js';

/** A service store as the index loader's page source. */
export function serviceBankSource(store: ServiceStore): BankIndexSource {
  return {
    valuesPage: (bank, signal, afterId, limit) => store.valuesPage(bank.id, signal, afterId, limit),
    removalsSince: (bank, afterSeq, limit) => store.removalsSince(bank.id, afterSeq, limit),
    lastRemovalSeq: (bank) => store.lastRemovalSeq(bank.id),
  };
}

/**
 * Where a service store's index snapshots live: `WARD_INDEX_DIR`, else beside a SQLite file
 * (`<db>.index/`); PostgreSQL without `WARD_INDEX_DIR` keeps none.
 */
export function snapshotDirFor(store: ServiceStore, env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.WARD_INDEX_DIR) return env.WARD_INDEX_DIR;
  return store.sqlitePath ? `${store.sqlitePath}.index` : null;
}

export interface StoreMatcherOptions {
  /** Bank names (default all); negative banks are always loaded. */
  banks?: readonly string[];
  /** Snapshots (default snapshotDirFor(store)); null: none. */
  snapshotDir?: string | null;
  registry?: Registry;
}

export class StoreMatcher {
  private constructor(
    readonly matcher: Matcher,
    private readonly store: ServiceStore,
  ) {}

  static async open(store: ServiceStore, options: StoreMatcherOptions = {}): Promise<StoreMatcher> {
    const registry = options.registry ?? activeRegistry();
    const banks = selectBanks(await store.bankHeads(), options.banks);
    const snapshotDir = options.snapshotDir === undefined ? snapshotDirFor(store) : options.snapshotDir;
    const source = serviceBankSource(store);
    const indexes = [];
    for (const bank of banks) indexes.push((await loadBankIndex(source, bank, registry, { snapshotDir })).index);
    return new StoreMatcher(Matcher.fromIndexes(indexes, undefined, registry), store);
  }

  get banks(): Bank[] {
    return this.matcher.banks;
  }

  match(signals: MatchSignals, options: MatchOptions = {}): Promise<MatchResult> {
    return this.matcher.matchAsync(signals, options, (ids) => this.store.entriesById(ids));
  }
}
