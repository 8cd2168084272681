/**
 * @module match/matcher
 * Matches an item's signals against banks: a PDQ index and exact maps per bank, each bank with
 * its own PDQ distance; negative banks suppress. Built from a store, with per-bank index
 * snapshots on disk so a 10-million-entry bank loads in seconds, not minutes.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bank } from '../banks/types.js';
import { WardError } from '../errors.js';
import type { ImageHashes } from '../signals/image.js';
import { PREFIX_LOOKUPS } from '../signals/model-hashes.js';
import { DIHEDRAL_NAMES, type DihedralName } from '../signals/pdq/dihedral.js';
import { PDQ_MIN_QUALITY, pdqToBytes } from '../signals/pdq/distance.js';
import type { SqliteStore } from '../store/sqlite.js';
import type { StoredEntry } from '../store/types.js';
import { compactFrames, VpdqIndex } from '../video/match.js';
import type { VpdqFrame } from '../video/vpdq.js';
import { loadPdqIndexFile, PdqIndex } from './pdq-index.js';

/**
 * Signal types matched exactly (one value, one entry): file digests, and model identity hashes
 * (signals/model-hashes; a model's Civitai SHA256 is its `sha256`).
 */
export const EXACT_SIGNALS = ['md5', 'sha1', 'sha256', 'autov1', 'autov2', 'autov3', 'blake3'] as const;

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
  /** A video's vPDQ frames (video/hash; video/vpdq parses the text forms). */
  vpdq?: readonly Pick<VpdqFrame, 'pdq' | 'quality'>[];
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
  /** Overrides every bank's PDQ distance. */
  distance?: number;
  /** Match PDQ hashes with quality below 50 too. */
  includeWeak?: boolean;
  /** Query with all 8 dihedral hashes (needs `pdqDihedral`). */
  dihedral?: boolean;
  /** vPDQ: share of the query's frames that must match, percent (default 80). */
  vpdqQueryPercent?: number;
  /** vPDQ: share of the bank video's frames that must match, percent (default 0). */
  vpdqComparedPercent?: number;
}

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

/** One bank's indexes: PDQ, and value -> entry id per exact signal type. */
export interface BankIndex {
  bank: Bank;
  pdq: PdqIndex;
  exact: Map<string, Map<string, number>>;
  /** The frames of the bank's vpdq entries (absent when it has none). */
  vpdq?: VpdqIndex;
}
type LoadedBank = BankIndex;

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
  transform?: DihedralName;
  queryMatchPercent?: number;
  comparedMatchPercent?: number;
}

export interface MatcherOptions {
  /** Bank names to load (default: all); negative banks are loaded in any case. */
  banks?: string[];
  /** Where index snapshots live; null disables them. Default: `<db>.index/` beside the database. */
  snapshotDir?: string | null;
}

export class Matcher {
  private constructor(
    private readonly store: EntryLookup | undefined,
    private readonly loaded: LoadedBank[],
  ) {}

  /**
   * A matcher over indexes loaded elsewhere (the service keeps them current with setBank and the
   * indexes' add/remove). Without `lookup`, use matchAsync.
   */
  static fromIndexes(banks: BankIndex[], lookup?: EntryLookup): Matcher {
    return new Matcher(lookup, [...banks]);
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
   * Loads the banks' indexes: from a snapshot when one matches the bank's version, else from the
   * store (and then writes the snapshot).
   */
  static open(store: SqliteStore, options: MatcherOptions = {}): Matcher {
    const all = store.listBanks();
    // Negative banks are always loaded: restricting to some block banks must not lose the
    // known false positives that suppress their matches.
    const names = options.banks
      ? [...new Set([...options.banks, ...all.filter((b) => b.kind === 'negative').map((b) => b.name)])]
      : all.map((b) => b.name);
    const snapshotDir = options.snapshotDir === undefined ? defaultSnapshotDir(store) : options.snapshotDir;
    const loaded: LoadedBank[] = [];
    for (const name of names) {
      const bank = all.find((b) => b.name === name);
      if (!bank) throw new WardError('WARD_ERR_BANK_NOT_FOUND', `No bank named ${JSON.stringify(name)}`);
      const vpdq = loadVpdq(store, bank);
      loaded.push({
        bank,
        pdq: loadPdq(store, bank, snapshotDir),
        exact: loadExact(store, bank),
        ...(vpdq ? { vpdq } : {}),
      });
    }
    return new Matcher(store, loaded);
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
    const skipped: string[] = [];
    // entry id -> best hit so far (a hit can come from several dihedral queries)
    const hits = new Map<number, HitInfo>();
    const pdqQueries: [Uint8Array, DihedralName | undefined][] = [];
    if (signals.pdq !== undefined) {
      const quality = signals.quality ?? 100;
      if (quality < PDQ_MIN_QUALITY && !options.includeWeak) {
        skipped.push(`pdq: quality ${quality} < ${PDQ_MIN_QUALITY}`);
      } else if (options.dihedral && signals.pdqDihedral?.length === 8) {
        for (const [i, h] of signals.pdqDihedral.entries()) pdqQueries.push([pdqToBytes(h), DIHEDRAL_NAMES[i]]);
      } else {
        pdqQueries.push([pdqToBytes(signals.pdq), undefined]);
      }
    }
    // vPDQ: each bank's frames within its PDQ distance; weak frames never take part.
    const vpdqQuery = signals.vpdq && signals.vpdq.length > 0 ? signals.vpdq : undefined;
    if (vpdqQuery && !vpdqQuery.some((f) => f.quality >= PDQ_MIN_QUALITY))
      skipped.push(`vpdq: no frame of quality ≥ ${PDQ_MIN_QUALITY}`);
    for (const l of this.loaded) {
      const radius = options.distance ?? l.bank.pdqDistance;
      for (const [query, transform] of pdqQueries) {
        const n = l.pdq.queryInto(query, radius);
        const ids = l.pdq.resultIds();
        const distances = l.pdq.resultDistances();
        for (let i = 0; i < n; i++) {
          const id = ids[i] as number;
          const distance = distances[i] as number;
          const prev = hits.get(id);
          if (!prev || distance < prev.distance) {
            hits.set(id, { bank: l, signal: 'pdq', distance, ...(transform ? { transform } : {}) });
          }
        }
      }
      for (const signal of EXACT_SIGNALS) {
        const value = signals[signal];
        if (value === undefined) continue;
        const map = l.exact.get(signal);
        if (!map) continue;
        const v = value.toLowerCase();
        const prefix = PREFIX_LOOKUPS[signal];
        for (const key of prefix !== undefined && v.length > prefix ? [v, v.slice(0, prefix)] : [v]) {
          const id = map.get(key);
          if (id !== undefined) hits.set(id, { bank: l, signal, distance: 0 });
        }
      }
      // Prefix forms as tools print them, against full values in the bank: a 12-hex AutoV3
      // against 64-hex AutoV3 entries, and an AutoV2 (the first 10 hex of the file's SHA-256)
      // against SHA-256 entries.
      for (const [query, bankSignal, length] of PREFIX_FORMS) {
        const value = signals[query]?.toLowerCase();
        if (value === undefined || value.length !== length) continue;
        const id = prefixMap(l.exact, bankSignal, length)?.get(value);
        if (id !== undefined && !hits.has(id)) hits.set(id, { bank: l, signal: bankSignal, distance: 0 });
      }
      if (vpdqQuery && l.vpdq) {
        const found = l.vpdq.query(vpdqQuery, {
          distance: radius,
          queryMatchPercent: options.vpdqQueryPercent,
          comparedMatchPercent: options.vpdqComparedPercent,
        });
        for (const m of found) {
          const { queryMatchPercent, comparedMatchPercent } = m;
          hits.set(m.id, { bank: l, signal: 'vpdq', distance: m.distance, queryMatchPercent, comparedMatchPercent });
        }
      }
    }
    return { hits, skipped };
  }

  /** Hits and their entries to block matches, negative matches and suppression. */
  resolve(found: MatchHits, entries: Map<number, StoredEntry & { bank: string }>): MatchResult {
    const { hits, skipped } = found;
    const block: MatchHit[] = [];
    const negative: MatchHit[] = [];
    for (const [id, h] of hits) {
      const entry = entries.get(id);
      if (!entry) continue; // deleted since the index was loaded
      const hit: MatchHit = {
        bank: h.bank.bank.name,
        signal: h.signal,
        value: entry.value,
        distance: h.distance,
        entryId: id,
        labels: entry.labels,
        ...(h.transform ? { transform: h.transform } : {}),
        ...(h.queryMatchPercent !== undefined
          ? { queryMatchPercent: h.queryMatchPercent, comparedMatchPercent: h.comparedMatchPercent }
          : {}),
      };
      (h.bank.bank.kind === 'negative' ? negative : block).push(hit);
    }
    const order = (a: MatchHit, b: MatchHit): number => a.distance - b.distance || a.entryId - b.entryId;
    block.sort(order);
    negative.sort(order);
    // A negative match on a signal suppresses block matches on that signal; a negative exact
    // match (the very same file) suppresses everything.
    const negSignals = new Set(negative.map((n) => n.signal));
    const sameFile = negative.some((n) => n.signal !== 'pdq' && n.signal !== 'vpdq');
    const suppressed = block.filter((b) => sameFile || negSignals.has(b.signal));
    const matches = block.filter((b) => !suppressed.includes(b));
    const suppressedBy = suppressed.length > 0 ? negative : [];
    return { matches, suppressedBy, suppressed, skipped };
  }
}

/**
 * One bank's indexes from a SQLite store, as Matcher.open loads them (PDQ from the newest
 * snapshot in `snapshotDir`, brought up to date, or from the store; exact maps; vpdq). The
 * service's live index starts from this.
 */
export function loadBankIndex(store: SqliteStore, bank: Bank, snapshotDir: string | null): BankIndex {
  const vpdq = loadVpdq(store, bank);
  return { bank, pdq: loadPdq(store, bank, snapshotDir), exact: loadExact(store, bank), ...(vpdq ? { vpdq } : {}) };
}

/** Where a SQLite store's index snapshots live (`<db>.index/`; null in memory). */
export function snapshotDirOf(store: SqliteStore): string | null {
  return defaultSnapshotDir(store);
}

/** `<db>.index/` beside a file database; no snapshots for an in-memory one. */
function defaultSnapshotDir(store: SqliteStore): string | null {
  return store.path === ':memory:' ? null : `${store.path}.index`;
}

function loadPdq(store: SqliteStore, bank: Bank, snapshotDir: string | null): PdqIndex {
  const prefix = `${bank.name}#${bank.id}@v`;
  const file = snapshotDir ? join(snapshotDir, `${prefix}${bank.version}.pdq`) : undefined;
  if (file && existsSync(file)) {
    try {
      return loadPdqIndexFile(file);
    } catch (e) {
      if (!WardError.is(e) || e.code !== 'WARD_ERR_INDEX_SNAPSHOT') throw e;
      // A damaged snapshot is rebuilt from the store below.
    }
  }
  // An older snapshot of this bank is brought up to date instead of rebuilding the index:
  // entries added since have higher ids (AUTOINCREMENT), and removed ones are ids it has that
  // the store no longer has.
  const older = snapshotDir && existsSync(snapshotDir) ? newestSnapshot(snapshotDir, prefix) : undefined;
  let index: PdqIndex | undefined;
  if (older) {
    try {
      index = loadPdqIndexFile(older);
      const have = index.liveIds().sort();
      const want = store.ids(bank.name, 'pdq');
      for (let i = 0, j = 0; i < have.length; i++) {
        const id = have[i] as number;
        while (j < want.length && (want[j] as number) < id) j++;
        if (want[j] !== id) index.remove(id);
      }
      const maxId = have.length > 0 ? (have[have.length - 1] as number) : 0;
      const hash = Buffer.alloc(32);
      for (const [id, value] of store.values(bank.name, 'pdq', maxId)) {
        hash.write(value, 0, 32, 'hex');
        index.add(hash, id);
      }
    } catch (e) {
      if (!WardError.is(e) || e.code !== 'WARD_ERR_INDEX_SNAPSHOT') throw e;
      index = undefined;
    }
  }
  index ??= buildFromStore(store, bank);
  if (file && snapshotDir) {
    mkdirSync(snapshotDir, { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, index.serialize());
    renameSync(tmp, file); // readers never see half a snapshot
    for (const old of readdirSync(snapshotDir)) {
      if (old.startsWith(`${bank.name}#`) && old.endsWith('.pdq') && join(snapshotDir, old) !== file) {
        rmSync(join(snapshotDir, old), { force: true });
      }
    }
  }
  return index;
}

/** The snapshot of this bank with the highest version, if any. */
function newestSnapshot(dir: string, prefix: string): string | undefined {
  let best: { version: number; name: string } | undefined;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix) || !name.endsWith('.pdq')) continue;
    const version = Number(name.slice(prefix.length, -'.pdq'.length));
    if (Number.isInteger(version) && (!best || version > best.version)) best = { version, name };
  }
  return best ? join(dir, best.name) : undefined;
}

function buildFromStore(store: SqliteStore, bank: Bank): PdqIndex {
  const count = store.count(bank.name, 'pdq');
  const hashes = Buffer.alloc(count * 32);
  const ids = new Uint32Array(count);
  let n = 0;
  for (const [id, value] of store.values(bank.name, 'pdq')) {
    if (n === count) break; // rows added since the count: the next version's snapshot has them
    hashes.write(value, n * 32, 32, 'hex');
    ids[n++] = id;
  }
  return PdqIndex.build(hashes.subarray(0, n * 32), ids.subarray(0, n));
}

/** The bank's vpdq entries in one frame index (none: undefined). Built from the store at each load. */
function loadVpdq(store: SqliteStore, bank: Bank): VpdqIndex | undefined {
  if (store.count(bank.name, 'vpdq') === 0) return undefined;
  return VpdqIndex.build(
    (function* () {
      for (const [id, value] of store.values(bank.name, 'vpdq')) yield [id, compactFrames(value)] as const;
    })(),
  );
}

/** Query signal, the bank signal whose full values it prefixes, and the prefix length. */
const PREFIX_FORMS: readonly [keyof MatchSignals & ('autov2' | 'autov3'), string, number][] = [
  ['autov3', 'autov3', 12],
  ['autov2', 'sha256', 10],
];

/**
 * Full values of a bank signal keyed by their first `length` hex, built on first use (most
 * banks are never asked) and rebuilt when the bank's map has changed size (live updates).
 */
const prefixMaps = new WeakMap<Map<string, number>, Map<number, { size: number; map: Map<string, number> }>>();
function prefixMap(
  exact: Map<string, Map<string, number>>,
  signal: string,
  length: number,
): Map<string, number> | undefined {
  const full = exact.get(signal);
  if (!full) return undefined;
  let byLength = prefixMaps.get(full);
  if (!byLength) prefixMaps.set(full, (byLength = new Map()));
  const cached = byLength.get(length);
  if (cached && cached.size === full.size) return cached.map;
  const map = new Map<string, number>();
  for (const [value, id] of full)
    if (value.length > length && !map.has(value.slice(0, length))) map.set(value.slice(0, length), id);
  byLength.set(length, { size: full.size, map });
  return map;
}

function loadExact(store: SqliteStore, bank: Bank): Map<string, Map<string, number>> {
  const maps = new Map<string, Map<string, number>>();
  for (const signal of EXACT_SIGNALS) {
    const m = new Map<string, number>();
    for (const [id, value] of store.values(bank.name, signal)) m.set(value, id);
    if (m.size > 0) maps.set(signal, m);
  }
  return maps;
}
