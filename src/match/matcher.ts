/**
 * @module match/matcher
 * Matches an item's signals against banks. Nothing here names a signal type: the registry's
 * signal types turn an item's values into queries (quality gates, dihedral forms, prefix forms),
 * each bank holds one index per signal type it has entries of (match/bank-index), and a query
 * asks its target type's index in every bank within the radius the type and the bank set (the
 * bank's `pdqDistance` for the PDQ family, the type's threshold otherwise, 0 for exact types).
 * Negative banks suppress: a negative hit on a signal type suppresses block hits of that type,
 * and a negative exact hit (the very same item) suppresses everything.
 */
import type { Bank } from '../banks/types.js';
import { WardError } from '../errors.js';
import type { MatchHit } from '../item.js';
import { activeRegistry, type Registry } from '../registry.js';
import type { ImageHashes } from '../signals/image.js';
import type { DihedralName } from '../signals/pdq/dihedral.js';
import { type HitDetail, matchingOf, type QueryOptions, type SignalQuery, type SignalType } from '../signals/types.js';
import type { SqliteStore } from '../store/sqlite.js';
import type { StoredEntry } from '../store/types.js';
import type { VpdqFrame } from '../video/vpdq.js';
import { type BankIndex, type BankIndexState, loadBankIndexSync } from './bank-index.js';

export type { MatchHit } from '../item.js';
export type { BankIndex, BankIndexState } from './bank-index.js';

/**
 * An item's signals, flat: signal type name → value (any registered type: `pdq`, `md5`,
 * `vpdq`, `autov2`, a plugin's…), plus what the types read beside their own value (`quality`,
 * `pdqDihedral`). Keys that are not signal types are ignored.
 */
export interface MatchSignals {
  pdq?: string;
  quality?: number;
  /** The 8 dihedral hashes (original first), for dihedral matching. */
  pdqDihedral?: string[];
  md5?: string;
  sha1?: string;
  sha256?: string;
  /** Model identity hashes (models/hashes). */
  autov1?: string;
  autov2?: string;
  /** 64 hex; a bank entry holding its 12-hex prefix (as Civitai shows it) matches too. */
  autov3?: string;
  blake3?: string;
  /** A video's vPDQ frames: frame objects, or any of the text forms (video/vpdq). */
  vpdq?: string | readonly Pick<VpdqFrame, 'pdq' | 'quality'>[];
  [signal: string]: unknown;
}

/** The signals of a `hashImage` record, as the matcher takes them. */
export function signalsOf(h: ImageHashes): MatchSignals {
  return {
    pdq: h.pdq,
    quality: h.quality,
    md5: h.md5,
    sha1: h.sha1,
    sha256: h.sha256,
    ...(h.pdqDihedral ? { pdqDihedral: h.pdqDihedral } : {}),
  };
}

export interface MatchOptions {
  /** Overrides every bank's distance for the PDQ family (pdq, vpdq). */
  distance?: number;
  /** Per signal type radius overrides (distance types only). */
  distances?: Record<string, number>;
  /**
   * The overrides may only tighten: each is capped at the bank's own distance (the service sets
   * this for callers, so a request can never widen a bank's radius to read it out).
   */
  tightenOnly?: boolean;
  /** Match hashes below the quality gate too. */
  includeWeak?: boolean;
  /** The quality gate (default 50). */
  minQuality?: number;
  /** Query with all 8 dihedral hashes (needs `pdqDihedral`). */
  dihedral?: boolean;
  /** vPDQ: share of the query's frames that must match, percent (default 80). */
  vpdqQueryPercent?: number;
  /** vPDQ: share of the bank video's frames that must match, percent (default 0). */
  vpdqComparedPercent?: number;
}

export interface MatchResult {
  /** Block-bank matches that stand. */
  matches: MatchHit[];
  /** Negative-bank matches that suppressed block matches (empty when nothing was suppressed). */
  suppressedBy: MatchHit[];
  /** Block-bank matches set aside by a negative match. */
  suppressed: MatchHit[];
  /** Signals not matched, and why (e.g. "pdq: quality 12 < 50"). */
  skipped: string[];
}

/** Finds entries (value, labels) by id, to report matches. */
export interface EntryLookup {
  entriesById(ids: readonly number[]): Map<number, StoredEntry & { bank: string }>;
}

/** Index hits before their entries are looked up. */
export interface MatchHits {
  hits: Map<number, HitInfo>;
  skipped: string[];
}

interface HitInfo {
  bank: BankIndex;
  signal: string;
  distance: number;
  transform?: string;
  detail?: HitDetail;
  /** The query, kept when the index asks for the hit to be confirmed against the entry's value. */
  confirm?: unknown;
}

/** The queries an item's signals make, and what was skipped or too weak. */
export interface ItemQueries {
  queries: SignalQuery[];
  skipped: string[];
  /** The first reason a value was too weak to match (the policy's `weak-hash`). */
  weak?: string;
}

/**
 * Turns an item's signals into queries through the registry's signal types: each key that names
 * a type is planned by that type (`queries`), or parsed and asked of its own indexes.
 */
export function planQueries(
  signals: Readonly<Record<string, unknown>>,
  options: QueryOptions = {},
  registry: Registry = activeRegistry(),
): ItemQueries {
  const out: ItemQueries = { queries: [], skipped: [] };
  for (const [name, value] of Object.entries(signals)) {
    if (value === undefined || value === null) continue;
    const type = registry.signalType(name);
    if (!type) continue;
    if (type.queries) {
      const plan = type.queries(value, signals, options);
      out.queries.push(...plan.queries);
      if (plan.skipped) out.skipped.push(...plan.skipped);
      if (plan.weak && out.weak === undefined) out.weak = plan.weak;
      continue;
    }
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v !== 'string') continue;
      try {
        out.queries.push({ target: name, query: type.parse(v) });
      } catch {
        out.skipped.push(`${name}: not a valid value`);
      }
    }
  }
  return out;
}

/** The radius a query of `type` uses in `bank`. */
function radiusOf(type: SignalType, bank: Bank, options: MatchOptions): number {
  if (matchingOf(type) === 'exact') return 0;
  const own = type.bankDistance ? bank.pdqDistance : type.defaultThreshold;
  const asked = options.distances?.[type.name] ?? (type.bankDistance ? options.distance : undefined);
  if (asked === undefined) return own;
  return options.tightenOnly ? Math.min(asked, own) : asked;
}

export interface MatcherOptions {
  /** Bank names to load (default: all); negative banks are loaded in any case. */
  banks?: string[];
  /** Where index snapshots live; null disables them. Default: `<db>.index/` beside the database. */
  snapshotDir?: string | null;
  /** The registry whose signal types are matched (default: the active one). */
  registry?: Registry;
}

export class Matcher {
  private constructor(
    private readonly store: EntryLookup | undefined,
    private readonly loaded: BankIndex[],
    private readonly registry: Registry,
  ) {}

  /**
   * A matcher over indexes loaded elsewhere (the service keeps them current with setBank and the
   * indexes' add/remove). Without `lookup`, use matchAsync.
   */
  static fromIndexes(banks: BankIndex[], lookup?: EntryLookup, registry: Registry = activeRegistry()): Matcher {
    return new Matcher(lookup, [...banks], registry);
  }

  /** Adds a bank's indexes, or replaces those of the bank with the same name. */
  setBank(index: BankIndex): void {
    const i = this.loaded.findIndex((l) => l.bank.name === index.bank.name);
    if (i >= 0) this.loaded[i] = index;
    else this.loaded.push(index);
  }

  removeBank(name: string): boolean {
    const i = this.loaded.findIndex((l) => l.bank.name === name);
    if (i < 0) return false;
    this.loaded.splice(i, 1);
    return true;
  }

  bankIndex(name: string): BankIndex | undefined {
    return this.loaded.find((l) => l.bank.name === name);
  }

  /**
   * Loads the banks' indexes from a SQLite store: per signal type from a snapshot when one
   * matches the bank's version, else an older one brought up to date, else from the store (and
   * then writes the snapshot). `ward` on PostgreSQL goes through the same loader (bank-source).
   */
  static open(store: SqliteStore, options: MatcherOptions = {}): Matcher {
    const registry = options.registry ?? activeRegistry();
    const banks = selectBanks(store.listBanks(), options.banks);
    const snapshotDir = options.snapshotDir === undefined ? snapshotDirOf(store) : options.snapshotDir;
    const loaded = banks.map((bank) => loadBankIndexSync(store, bank, registry, { snapshotDir }).index);
    return new Matcher(store, loaded, registry);
  }

  get banks(): Bank[] {
    return this.loaded.map((l) => l.bank);
  }

  /** Matches one item's signals against every loaded bank. */
  match(signals: MatchSignals, options: MatchOptions = {}): MatchResult {
    if (!this.store) throw new WardError('WARD_ERR_INTERNAL', 'This matcher has no entry lookup: use matchAsync');
    const found = this.hits(signals, options);
    return this.resolve(found, found.hits.size > 0 ? this.store.entriesById([...found.hits.keys()]) : new Map());
  }

  /** As match, with entries looked up asynchronously (a database server). */
  async matchAsync(
    signals: MatchSignals,
    options: MatchOptions,
    lookup: (ids: number[]) => Promise<Map<number, StoredEntry & { bank: string }>>,
  ): Promise<MatchResult> {
    const found = this.hits(signals, options);
    return this.resolve(found, found.hits.size > 0 ? await lookup([...found.hits.keys()]) : new Map());
  }

  /** The index hits of one item's signals (no entry lookups). */
  hits(signals: MatchSignals, options: MatchOptions = {}): MatchHits {
    const plan = planQueries(signals, options, this.registry);
    return { hits: this.search(plan.queries, options), skipped: plan.skipped };
  }

  /** Runs planned queries against every loaded bank: entry id → its best hit. */
  search(queries: readonly SignalQuery[], options: MatchOptions = {}): Map<number, HitInfo> {
    const hits = new Map<number, HitInfo>();
    for (const l of this.loaded) {
      for (const q of queries) {
        const index = l.indexes.get(q.target);
        if (!index) continue;
        const type = this.registry.signalType(q.target);
        if (!type) continue;
        index.search(q.query, radiusOf(type, l.bank, options), (id, distance, detail) => {
          const prev = hits.get(id);
          if (prev && prev.distance <= distance) return;
          // An index that keeps only part of each value (the compact exact index: 160 bits of a
          // 256-bit hash) reports candidates to confirm against the stored value in resolve().
          const { confirm, ...rest } = detail ?? {};
          hits.set(id, {
            bank: l,
            signal: q.target,
            distance,
            ...(q.transform !== undefined ? { transform: q.transform } : {}),
            ...(Object.keys(rest).length > 0 ? { detail: rest } : {}),
            ...(confirm === true ? { confirm: q.query } : {}),
          });
        });
      }
    }
    return hits;
  }

  /** Hits and their entries to block matches, negative matches and suppression. */
  resolve(found: MatchHits, entries: Map<number, StoredEntry & { bank: string }>): MatchResult {
    const { hits, skipped } = found;
    const block: MatchHit[] = [];
    const negative: MatchHit[] = [];
    for (const [id, h] of hits) {
      const entry = entries.get(id);
      if (!entry) continue; // deleted since the index was loaded
      if (h.confirm !== undefined && !confirmed(h.confirm, entry.value)) continue;
      const hit: MatchHit = {
        bank: h.bank.bank.name,
        signal: h.signal,
        value: entry.value,
        distance: h.distance,
        entryId: id,
        labels: entry.labels,
        ...(h.transform ? { transform: h.transform as DihedralName } : {}),
        ...(entry.source?.startsWith('exchange:') && entry.sourceId !== undefined
          ? { exchange: { name: entry.source.slice('exchange:'.length), entryId: entry.sourceId } }
          : {}),
        ...hitDetail(h.detail),
      };
      (h.bank.bank.kind === 'negative' ? negative : block).push(hit);
    }
    const order = (a: MatchHit, b: MatchHit): number => a.distance - b.distance || a.entryId - b.entryId;
    block.sort(order);
    negative.sort(order);
    // A negative match on a signal suppresses block matches on that signal; a negative exact
    // match (the very same item) suppresses everything.
    const negSignals = new Set(negative.map((n) => n.signal));
    const sameItem = negative.some((n) => {
      const type = this.registry.signalType(n.signal);
      return type !== undefined && matchingOf(type) === 'exact';
    });
    const suppressed = block.filter((b) => sameItem || negSignals.has(b.signal));
    const matches = block.filter((b) => !suppressed.includes(b));
    const suppressedBy = suppressed.length > 0 ? negative : [];
    return { matches, suppressedBy, suppressed, skipped };
  }
}

/** Whether an entry's full value answers a query (an exact value or a `{prefix}`). */
function confirmed(query: unknown, value: string): boolean {
  if (typeof query === 'string') return value === query;
  if (typeof query === 'object' && query !== null && typeof (query as { prefix?: unknown }).prefix === 'string') {
    const p = (query as { prefix: string }).prefix;
    return value.length > p.length && value.startsWith(p);
  }
  return false;
}

/** vPDQ's percentages as the hit's own fields (the NDJSON contract); anything else under `detail`. */
function hitDetail(detail: HitDetail | undefined): Partial<MatchHit> {
  if (!detail) return {};
  const { transform: _t, queryMatchPercent, comparedMatchPercent, ...rest } = detail;
  return {
    ...(queryMatchPercent !== undefined ? { queryMatchPercent, comparedMatchPercent } : {}),
    ...(Object.keys(rest).length > 0 ? { detail: rest } : {}),
  };
}

/**
 * The banks to load: the named ones (all when none are named) and every negative bank: a scan
 * restricted to some block banks must not lose the known false positives that suppress them.
 */
export function selectBanks<B extends Bank>(all: readonly B[], names: readonly string[] | undefined): B[] {
  if (!names) return [...all];
  const wanted = new Set([...names, ...all.filter((b) => b.kind === 'negative').map((b) => b.name)]);
  for (const name of names) {
    if (!all.some((b) => b.name === name))
      throw new WardError('WARD_ERR_BANK_NOT_FOUND', `No bank named ${JSON.stringify(name)}`);
  }
  return all.filter((b) => wanted.has(b.name));
}

/** Where a SQLite store's index snapshots live (`<db>.index/`; null in memory). */
export function snapshotDirOf(store: { path: string }): string | null {
  return store.path === ':memory:' ? null : `${store.path}.index`;
}

/**
 * One bank's indexes from a SQLite store, as Matcher.open loads them.
 * @deprecated use loadBankIndexSync (match/bank-index) or Matcher.open.
 */
export function loadBankIndexFromSqlite(store: SqliteStore, bank: Bank, snapshotDir: string | null): BankIndexState {
  return loadBankIndexSync(store, bank, activeRegistry(), { snapshotDir });
}
