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
import { DIHEDRAL_NAMES, type DihedralName } from '../signals/pdq/dihedral.js';
import { PDQ_MIN_QUALITY, pdqToBytes } from '../signals/pdq/distance.js';
import type { SqliteStore } from '../store/sqlite.js';
import { loadPdqIndexFile, PdqIndex } from './pdq-index.js';

/** Signal types matched exactly (one value, one entry). */
const EXACT_SIGNALS = ['md5', 'sha1', 'sha256'] as const;

export interface MatchSignals {
  pdq?: string;
  quality?: number;
  /** The 8 dihedral hashes (original first), for dihedral matching. */
  pdqDihedral?: string[];
  md5?: string;
  sha1?: string;
  sha256?: string;
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

interface LoadedBank {
  bank: Bank;
  pdq: PdqIndex;
  exact: Map<string, Map<string, number>>;
}

export interface MatcherOptions {
  /** Bank names to load (default: all); negative banks are loaded in any case. */
  banks?: string[];
  /** Where index snapshots live; null disables them. Default: `<db>.index/` beside the database. */
  snapshotDir?: string | null;
}

export class Matcher {
  private constructor(
    private readonly store: SqliteStore,
    private readonly loaded: LoadedBank[],
  ) {}

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
      loaded.push({ bank, pdq: loadPdq(store, bank, snapshotDir), exact: loadExact(store, bank) });
    }
    return new Matcher(store, loaded);
  }

  get banks(): Bank[] {
    return this.loaded.map((l) => l.bank);
  }

  /** Matches one item's signals against every loaded bank. */
  match(signals: MatchSignals, options: MatchOptions = {}): MatchResult {
    const skipped: string[] = [];
    // entry id -> best hit so far (a hit can come from several dihedral queries)
    const hits = new Map<number, { bank: LoadedBank; signal: string; distance: number; transform?: DihedralName }>();
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
        const id = l.exact.get(signal)?.get(value.toLowerCase());
        if (id !== undefined) hits.set(id, { bank: l, signal, distance: 0 });
      }
    }
    const entries = hits.size > 0 ? this.store.entriesById([...hits.keys()]) : new Map();
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
      };
      (h.bank.bank.kind === 'negative' ? negative : block).push(hit);
    }
    const order = (a: MatchHit, b: MatchHit): number => a.distance - b.distance || a.entryId - b.entryId;
    block.sort(order);
    negative.sort(order);
    // A negative match on a signal suppresses block matches on that signal; a negative exact
    // match (the very same file) suppresses everything.
    const negSignals = new Set(negative.map((n) => n.signal));
    const sameFile = negative.some((n) => n.signal !== 'pdq');
    const suppressed = block.filter((b) => sameFile || negSignals.has(b.signal));
    const matches = block.filter((b) => !suppressed.includes(b));
    const suppressedBy = suppressed.length > 0 ? negative : [];
    return { matches, suppressedBy, suppressed, skipped };
  }
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

function loadExact(store: SqliteStore, bank: Bank): Map<string, Map<string, number>> {
  const maps = new Map<string, Map<string, number>>();
  for (const signal of EXACT_SIGNALS) {
    const m = new Map<string, number>();
    for (const [id, value] of store.values(bank.name, signal)) m.set(value, id);
    if (m.size > 0) maps.set(signal, m);
  }
  return maps;
}
