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
import {
  type BankIndex,
  EXACT_SIGNALS,
  loadBankIndex,
  Matcher,
  type MatchOptions,
  type MatchResult,
  type MatchSignals,
  snapshotDirOf,
} from '../match/matcher.js';
import { PdqIndex } from '../match/pdq-index.js';
import type { ServiceStore } from '../store/service.js';
import { SqliteServiceStore } from '../store/sqlite-service.js';
import type { StoredEntry } from '../store/types.js';
import { compactFrames, VpdqIndex } from '../video/match.js';

const PAGE = 50_000;
/** Entries (value, labels) of recent matches kept in memory; emptied whenever a bank changes. */
const ENTRY_CACHE = 100_000;
const SIGNALS = ['pdq', 'vpdq', ...EXACT_SIGNALS] as const;

interface BankState {
  index: BankIndex;
  /** Highest entry id loaded, per signal type. */
  maxId: Record<string, number>;
  /** Last entry_removals row applied. */
  removalSeq: number;
}

export class LiveIndex {
  readonly matcher = Matcher.fromIndexes([]);
  private readonly banks = new Map<string, BankState>();
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  /** Seconds since the epoch of the last successful refresh. */
  lastRefresh = 0;
  private readonly entries = new Map<number, StoredEntry & { bank: string }>();
  /** Bumped when a bank changes: lookups begun before do not fill the cache. */
  private generation = 0;

  constructor(private readonly store: ServiceStore) {}

  /** Loaded banks and their live entry counts. */
  stats(): { bank: Bank; pdq: number; exact: number }[] {
    return [...this.banks.values()].map((s) => ({
      bank: s.index.bank,
      pdq: s.index.pdq.size,
      exact: [...s.index.exact.values()].reduce((n, m) => n + m.size, 0),
    }));
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

  private async refreshOnce(): Promise<void> {
    const heads = await this.store.bankHeads();
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
        const loaded = await this.load(head);
        this.banks.set(head.name, loaded);
        this.matcher.setBank(loaded.index);
      } else if (state.index.bank.version !== head.version || state.index.bank.pdqDistance !== head.pdqDistance) {
        this.changed();
        await this.apply(state, head);
        this.changed();
      }
    }
    this.lastRefresh = Date.now() / 1000;
  }

  private async load(bank: Bank): Promise<BankState> {
    // Removals logged before this point are already absent from the entries read below.
    const removalSeq = await this.store.lastRemovalSeq(bank.id);
    if (this.store instanceof SqliteServiceStore) {
      // SQLite: the CLI's loader, with its per-bank index snapshots beside the database (a
      // 10-million-entry bank loads in seconds; a snapshot of an older version is caught up).
      const index = loadBankIndex(this.store.bankStore, bank, snapshotDirOf(this.store.bankStore));
      const maxId: Record<string, number> = { pdq: 0, vpdq: 0 };
      for (const id of index.pdq.liveIds()) if (id > (maxId.pdq as number)) maxId.pdq = id;
      for (const signal of EXACT_SIGNALS) {
        let max = 0;
        for (const id of index.exact.get(signal)?.values() ?? []) if (id > max) max = id;
        maxId[signal] = max;
      }
      for (const [id] of await this.pages(bank.id, 'vpdq', 0)) maxId.vpdq = Math.max(maxId.vpdq as number, id);
      return { index, maxId, removalSeq };
    }
    const maxId: Record<string, number> = {};
    const ids: number[] = [];
    const hashes: Buffer[] = [];
    let after = 0;
    for (;;) {
      const page = await this.store.valuesPage(bank.id, 'pdq', after, PAGE);
      if (page.length === 0) break;
      const buf = Buffer.alloc(page.length * 32);
      page.forEach(([id, value], i) => {
        buf.write(value, i * 32, 32, 'hex');
        ids.push(id);
      });
      hashes.push(buf);
      after = (page[page.length - 1] as [number, string])[0];
      if (page.length < PAGE) break;
    }
    maxId.pdq = after;
    const pdq = PdqIndex.build(Buffer.concat(hashes), Uint32Array.from(ids));
    const exact = new Map<string, Map<string, number>>();
    for (const signal of EXACT_SIGNALS) {
      const m = new Map<string, number>();
      let last = 0;
      for (;;) {
        const page = await this.store.valuesPage(bank.id, signal, last, PAGE);
        for (const [id, value] of page) m.set(value, id);
        if (page.length > 0) last = (page[page.length - 1] as [number, string])[0];
        if (page.length < PAGE) break;
      }
      maxId[signal] = last;
      exact.set(signal, m);
    }
    const videos = await this.pages(bank.id, 'vpdq', 0);
    maxId.vpdq = videos.length > 0 ? (videos[videos.length - 1] as [number, string])[0] : 0;
    const vpdq =
      videos.length > 0 ? VpdqIndex.build(videos.map(([id, v]) => [id, compactFrames(v)] as const)) : undefined;
    return { index: { bank, pdq, exact, ...(vpdq ? { vpdq } : {}) }, maxId, removalSeq };
  }

  /** Every (id, value) of one signal type of a bank above `after`. */
  private async pages(bankId: number, signal: string, after: number): Promise<[number, string][]> {
    const out: [number, string][] = [];
    for (;;) {
      const page = await this.store.valuesPage(bankId, signal, after, PAGE);
      out.push(...page);
      if (page.length < PAGE) return out;
      after = (page[page.length - 1] as [number, string])[0];
    }
  }

  /** Adds new entries, then applies removals (an entry added and removed since is then gone). */
  private async apply(state: BankState, head: Bank): Promise<void> {
    const { index } = state;
    const hash = Buffer.alloc(32);
    for (const signal of SIGNALS) {
      for (;;) {
        const page = await this.store.valuesPage(head.id, signal, state.maxId[signal] ?? 0, PAGE);
        for (const [id, value] of page) {
          if (signal === 'pdq') {
            hash.write(value, 0, 32, 'hex');
            index.pdq.add(hash, id);
          } else if (signal === 'vpdq') {
            index.vpdq ??= new VpdqIndex();
            index.vpdq.add(id, compactFrames(value));
          } else {
            let m = index.exact.get(signal);
            if (!m) index.exact.set(signal, (m = new Map()));
            m.set(value, id);
          }
          state.maxId[signal] = id;
        }
        if (page.length < PAGE) break;
      }
    }
    for (;;) {
      const removals = await this.store.removalsSince(head.id, state.removalSeq, PAGE);
      for (const r of removals) {
        if (r.signal === 'pdq') index.pdq.remove(r.entryId);
        else if (r.signal === 'vpdq') index.vpdq?.remove(r.entryId);
        else {
          const m = index.exact.get(r.signal);
          if (m?.get(r.value) === r.entryId) m.delete(r.value);
        }
        state.removalSeq = r.seq;
      }
      if (removals.length < PAGE) break;
    }
    index.bank = head;
  }
}
