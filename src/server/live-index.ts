/**
 * @module server/live-index
 * The service's matcher, kept current without rebuilding: banks are loaded once at start; after
 * that, a bank whose version moved has its new entries added (ids above the highest loaded, per
 * signal type: ids only grow) and its removals (the store's entry_removals log) taken out of the
 * PDQ index (tombstones) and exact maps. Changes made through the API are applied before the
 * request answers; changes by other processes (`ward bank import`, another instance) are found by
 * polling the banks' versions.
 */
import type { Bank } from '../banks/types.js';
import { type BankIndexSource, type BankIndexState, catchUpBankIndex, loadBankIndex } from '../match/bank-index.js';
import { Matcher, type MatchOptions, type MatchResult, type MatchSignals } from '../match/matcher.js';
import { serviceBankSource, snapshotDirFor } from '../match/store-matcher.js';
import { activeRegistry, type Registry } from '../registry.js';
import type { ServiceStore } from '../store/service.js';
import type { StoredEntry } from '../store/types.js';

/** Entries (value, labels) of recent matches kept in memory; emptied whenever a bank changes. */
const ENTRY_CACHE = 100_000;

export interface LiveIndexOptions {
  /** Index snapshots (default: snapshotDirFor(store)); null: none. */
  snapshotDir?: string | null;
  /** Bank names to load (default all); negative banks always. */
  banks?: readonly string[];
  registry?: Registry;
}

export class LiveIndex {
  readonly matcher: Matcher;
  private readonly banks = new Map<string, BankIndexState>();
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  /** Seconds since the epoch of the last successful refresh. */
  lastRefresh = 0;
  private readonly entries = new Map<number, StoredEntry & { bank: string }>();
  /** Bumped when a bank changes: lookups begun before do not fill the cache. */
  private generation = 0;
  private readonly source: BankIndexSource;
  private readonly registry: Registry;
  private readonly snapshotDir: string | null;

  constructor(
    private readonly store: ServiceStore,
    private readonly options: LiveIndexOptions = {},
  ) {
    this.registry = options.registry ?? activeRegistry();
    this.matcher = Matcher.fromIndexes([], undefined, this.registry);
    this.source = serviceBankSource(store);
    this.snapshotDir = options.snapshotDir === undefined ? snapshotDirFor(store) : options.snapshotDir;
  }

  /** Loaded banks and their live entry counts (per signal type, and the PDQ / other totals). */
  stats(): { bank: Bank; pdq: number; exact: number; bySignal: Record<string, number> }[] {
    return [...this.banks.values()].map((s) => {
      const bySignal: Record<string, number> = {};
      for (const [signal, index] of s.index.indexes) bySignal[signal] = index.size;
      const pdq = bySignal.pdq ?? 0;
      const exact = Object.entries(bySignal).reduce((n, [k, v]) => (k === 'pdq' || k === 'vpdq' ? n : n + v), 0);
      return { bank: s.index.bank, pdq, exact, bySignal };
    });
  }

  match(signals: MatchSignals, options: MatchOptions = {}): Promise<MatchResult> {
    return this.matcher.matchAsync(signals, options, (ids) => this.lookup(ids));
  }

  /** Entries by id: from memory when a recent match looked them up, else from the store. */
  private async lookup(ids: number[]): Promise<Map<number, StoredEntry & { bank: string }>> {
    const out = new Map<number, StoredEntry & { bank: string }>();
    const missing: number[] = [];
    for (const id of ids) {
      const e = this.entries.get(id);
      if (e) out.set(id, e);
      else missing.push(id);
    }
    if (missing.length === 0) return out;
    const generation = this.generation;
    const found = await this.store.entriesById(missing);
    const cache = generation === this.generation;
    if (cache && this.entries.size + found.size > ENTRY_CACHE) this.entries.clear();
    for (const [id, e] of found) {
      out.set(id, e);
      if (cache) this.entries.set(id, e);
    }
    return out;
  }

  private changed(): void {
    this.generation++;
    this.entries.clear();
  }

  /** Brings every bank up to date; concurrent calls share one pass (and one more if asked during it). */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      do {
        this.again = false;
        await this.refreshOnce();
      } while (this.again);
    })();
    this.running = run.finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Polls for changes made by other processes every `ms`. */
  startPolling(ms: number, onError: (e: unknown) => void = () => {}): void {
    this.stopPolling();
    const tick = () => {
      this.refresh()
        .catch(onError)
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, ms).unref();
        });
    };
    this.timer = setTimeout(tick, ms).unref();
  }

  stopPolling(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private wanted(heads: readonly Bank[]): Bank[] {
    const names = this.options.banks;
    if (!names) return [...heads];
    return heads.filter((b) => names.includes(b.name) || b.kind === 'negative');
  }

  private async refreshOnce(): Promise<void> {
    const heads = this.wanted(await this.store.bankHeads());
    const byName = new Map(heads.map((b) => [b.name, b]));
    for (const [name, state] of this.banks) {
      const head = byName.get(name);
      if (!head || head.id !== state.index.bank.id) {
        this.banks.delete(name);
        this.matcher.removeBank(name);
        this.changed();
      }
    }
    for (const head of heads) {
      const state = this.banks.get(head.name);
      if (!state) {
        const loaded = await loadBankIndex(this.source, head, this.registry, { snapshotDir: this.snapshotDir });
        this.banks.set(head.name, loaded);
        this.matcher.setBank(loaded.index);
      } else if (state.index.bank.version !== head.version || state.index.bank.pdqDistance !== head.pdqDistance) {
        this.changed();
        // New entries added (ids above the highest loaded), logged removals taken out: no rebuild.
        await catchUpBankIndex(this.source, state, head, this.registry);
        this.changed();
      }
    }
    this.lastRefresh = Date.now() / 1000;
  }
}
