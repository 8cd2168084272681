/**
 * @module match/bank-index
 * One bank's indexes, one per signal type it holds (the registry says which index kind each
 * type uses), and the one loader every command and the service use, over SQLite or PostgreSQL.
 *
 * The loader is written once as a generator of page requests ("sans I/O"): a synchronous driver
 * answers them from the SQLite store (`Matcher.open`), an asynchronous one from any service
 * store (the CLI on PostgreSQL, `ward serve`). Per signal type it:
 *
 * 1. loads the snapshot of the bank's current version when the index kind has snapshots;
 * 2. else brings the newest older snapshot up to date: entries with ids above its highest are
 *    added (ids only grow), removals logged after it (`entry_removals`, by sequence number) are
 *    taken out, so an import or an exchange sync costs what it changed, not a rebuild;
 * 3. else builds the index from the store, streamed page by page;
 *
 * and then writes the snapshot (atomically: a temporary file renamed) and deletes older ones.
 * Snapshot names carry the bank's id, version, the removal sequence they include, the signal
 * type and the index kind: `<bank>#<id>@v<version>r<seq>.<signal>.<kind>`, so a re-created
 * bank, a changed index kind or a damaged file is never misread (a damaged one is rebuilt).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bank } from '../banks/types.js';
import { WardError } from '../errors.js';
import type { Registry } from '../registry.js';
import type { SignalIndex, SignalIndexKind } from '../signals/types.js';

/** One bank's indexes: signal type name → index of its entries of that type. */
export interface BankIndex {
  bank: Bank;
  indexes: Map<string, SignalIndex>;
}

/** What a loaded bank must remember to be brought up to date later (the service's live index). */
export interface BankIndexState {
  index: BankIndex;
  /** Highest entry id loaded, per signal type. */
  maxId: Map<string, number>;
  /** Last `entry_removals` sequence applied. */
  removalSeq: number;
}

export interface RemovalRow {
  seq: number;
  entryId: number;
  signal: string;
  value: string;
}

/** A page request of the loader. */
export type LoadRequest =
  | { op: 'values'; signal: string; after: number; limit: number }
  | { op: 'removals'; after: number; limit: number }
  | { op: 'lastRemoval' };

type LoadReply = [number, string][] | RemovalRow[] | number;

/** What a store offers the loader (synchronously, or with promises). */
export interface BankIndexSource<Sync extends boolean = boolean> {
  valuesPage(
    bank: Bank,
    signal: string,
    afterId: number,
    limit: number,
  ): Sync extends true ? [number, string][] : [number, string][] | Promise<[number, string][]>;
  removalsSince(
    bank: Bank,
    afterSeq: number,
    limit: number,
  ): Sync extends true ? RemovalRow[] : RemovalRow[] | Promise<RemovalRow[]>;
  lastRemovalSeq(bank: Bank): Sync extends true ? number : number | Promise<number>;
}

export interface LoadOptions {
  /** Where snapshots live; null: none. */
  snapshotDir: string | null;
  /** Rows per page read from the store. */
  pageSize?: number;
}

const PAGE = 50_000;

function answer(source: BankIndexSource, bank: Bank, r: LoadRequest): LoadReply | Promise<LoadReply> {
  if (r.op === 'values') return source.valuesPage(bank, r.signal, r.after, r.limit);
  if (r.op === 'removals') return source.removalsSince(bank, r.after, r.limit);
  return source.lastRemovalSeq(bank);
}

/** Loads one bank's indexes from a synchronous store (SQLite). */
export function loadBankIndexSync(
  source: BankIndexSource<true>,
  bank: Bank,
  registry: Registry,
  options: LoadOptions,
): BankIndexState {
  const steps = loadSteps(bank, registry, options);
  let r = steps.next();
  while (!r.done) r = steps.next(answer(source, bank, r.value) as LoadReply);
  return r.value;
}

/** Loads one bank's indexes from any store (PostgreSQL, the service's SQLite store). */
export async function loadBankIndex(
  source: BankIndexSource,
  bank: Bank,
  registry: Registry,
  options: LoadOptions,
): Promise<BankIndexState> {
  const steps = loadSteps(bank, registry, options);
  let r = steps.next();
  while (!r.done) r = steps.next(await answer(source, bank, r.value));
  return r.value;
}

/** Brings a loaded bank up to date (new entries, logged removals); returns whether anything changed. */
export async function catchUpBankIndex(
  source: BankIndexSource,
  state: BankIndexState,
  head: Bank,
  registry: Registry,
  pageSize = PAGE,
): Promise<void> {
  const steps = catchUpSteps(state, head, registry, pageSize);
  let r = steps.next();
  while (!r.done) r = steps.next(await answer(source, head, r.value));
}

function* loadSteps(
  bank: Bank,
  registry: Registry,
  options: LoadOptions,
): Generator<LoadRequest, BankIndexState, LoadReply> {
  const pageSize = options.pageSize ?? PAGE;
  // Removals logged before this point are already absent from the entries read below.
  const removalSeq = (yield { op: 'lastRemoval' }) as number;
  const indexes = new Map<string, SignalIndex>();
  const maxId = new Map<string, number>();
  for (const type of registry.signalTypes()) {
    const kind = registry.indexKind(type);
    const loaded = yield* loadSignal(bank, type.name, kind, removalSeq, options.snapshotDir, pageSize);
    if (!loaded) continue;
    indexes.set(type.name, loaded.index);
    maxId.set(type.name, loaded.maxId);
  }
  return { index: { bank, indexes }, maxId, removalSeq };
}

/** Snapshot file names of a bank: prefix, version, removal sequence, signal type, kind. */
function snapshotName(bank: Bank, seq: number, signal: string, kind: SignalIndexKind): string {
  return `${bank.name}#${bank.id}@v${bank.version}r${seq}.${signal}.${kind.name}`;
}

const SNAPSHOT = /^(.*)#(\d+)@v(\d+)r(\d+)\.([a-z0-9_-]+)\.([a-z0-9_-]+)$/;

interface SnapshotFile {
  path: string;
  version: number;
  seq: number;
}

/** This bank's snapshots of one signal type and kind, newest version first. */
function snapshotsOf(dir: string, bank: Bank, signal: string, kind: SignalIndexKind): SnapshotFile[] {
  if (!existsSync(dir)) return [];
  const out: SnapshotFile[] = [];
  for (const name of readdirSync(dir)) {
    const m = SNAPSHOT.exec(name);
    if (!m || m[1] !== bank.name || Number(m[2]) !== bank.id || m[5] !== signal || m[6] !== kind.name) continue;
    out.push({ path: join(dir, name), version: Number(m[3]), seq: Number(m[4]) });
  }
  return out.sort((a, b) => b.version - a.version || b.seq - a.seq);
}

function readSnapshot(kind: SignalIndexKind, path: string): SignalIndex | undefined {
  try {
    if (kind.loadFile) return kind.loadFile(path);
    if (kind.load) return kind.load(readFileSync(path));
  } catch (e) {
    if (!WardError.is(e) || e.code !== 'WARD_ERR_INDEX_SNAPSHOT') throw e;
    // A damaged snapshot: rebuilt from the store.
  }
  return undefined;
}

function maxOf(ids: Iterable<number>): number {
  let max = 0;
  for (const id of ids) if (id > max) max = id;
  return max;
}

function* loadSignal(
  bank: Bank,
  signal: string,
  kind: SignalIndexKind,
  removalSeq: number,
  snapshotDir: string | null,
  pageSize: number,
): Generator<LoadRequest, { index: SignalIndex; maxId: number } | undefined, LoadReply> {
  const snapshots = Boolean(snapshotDir && (kind.load || kind.loadFile));
  const existing = snapshots ? snapshotsOf(snapshotDir as string, bank, signal, kind) : [];
  const current = existing.find((s) => s.version === bank.version && s.seq === removalSeq);
  if (current) {
    const index = readSnapshot(kind, current.path);
    if (index) return { index, maxId: maxOf(index.ids()) };
  }
  let index: SignalIndex | undefined;
  let maxId = 0;
  const older = existing.find((s) => s !== current && s.version <= bank.version && s.seq <= removalSeq);
  if (older) {
    index = readSnapshot(kind, older.path);
    if (index) {
      maxId = maxOf(index.ids());
      maxId = yield* addAbove(index, signal, maxId, pageSize);
      yield* applyRemovals(index, signal, older.seq, removalSeq, pageSize);
    }
  }
  if (!index) {
    const builder = kind.builder?.();
    const pairs: [number, string][] = [];
    for (let after = 0; ; ) {
      const page = (yield { op: 'values', signal, after, limit: pageSize }) as [number, string][];
      for (const pair of page) {
        if (builder) builder.push(pair[0], pair[1]);
        else pairs.push(pair);
      }
      if (page.length > 0) after = (page[page.length - 1] as [number, string])[0];
      maxId = after;
      if (page.length < pageSize) break;
    }
    if (maxId === 0) return undefined; // the bank has no entries of this type
    index = builder ? builder.finish() : kind.build(pairs);
  }
  if (snapshots && index.serialize)
    writeSnapshot(snapshotDir as string, bank, removalSeq, signal, kind, index, existing);
  return { index, maxId };
}

/** Adds the entries of one signal type with ids above `after`; returns the new highest id. */
function* addAbove(
  index: SignalIndex,
  signal: string,
  after: number,
  pageSize: number,
): Generator<LoadRequest, number, LoadReply> {
  for (;;) {
    const page = (yield { op: 'values', signal, after, limit: pageSize }) as [number, string][];
    for (const [id, value] of page) index.add(id, value);
    if (page.length > 0) after = (page[page.length - 1] as [number, string])[0];
    if (page.length < pageSize) return after;
  }
}

/** Takes out the removals of one signal type logged after `from` (up to `to`, or all when undefined). */
function* applyRemovals(
  index: SignalIndex,
  signal: string,
  from: number,
  to: number | undefined,
  pageSize: number,
): Generator<LoadRequest, number, LoadReply> {
  let seq = from;
  for (;;) {
    const page = (yield { op: 'removals', after: seq, limit: pageSize }) as RemovalRow[];
    for (const r of page) {
      if (to !== undefined && r.seq > to) return seq;
      if (r.signal === signal) index.remove(r.entryId, r.value);
      seq = r.seq;
    }
    if (page.length < pageSize) return seq;
  }
}

function writeSnapshot(
  dir: string,
  bank: Bank,
  seq: number,
  signal: string,
  kind: SignalIndexKind,
  index: SignalIndex,
  existing: SnapshotFile[],
): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, snapshotName(bank, seq, signal, kind));
  const tmp = `${file}.tmp-${process.pid}`;
  // Streamed when the index can (a 100-million-entry index is over 4 GiB), else its bytes.
  if (index.writeFile) index.writeFile(tmp);
  else writeFileSync(tmp, (index.serialize as () => Uint8Array)(), { mode: 0o600 });
  renameSync(tmp, file); // readers never see half a snapshot
  for (const old of existing) if (old.path !== file) rmSync(old.path, { force: true });
  // Snapshots of the format before signal types owned their indexes (`<bank>#<id>@v<n>.pdq`).
  for (const name of readdirSync(dir)) {
    if (name.startsWith(`${bank.name}#`) && /@v\d+\.pdq$/.test(name)) rmSync(join(dir, name), { force: true });
  }
}

function* catchUpSteps(
  state: BankIndexState,
  head: Bank,
  registry: Registry,
  pageSize: number,
): Generator<LoadRequest, void, LoadReply> {
  const { index } = state;
  // New entries first, then removals: an entry added and removed since is then gone.
  for (const type of registry.signalTypes()) {
    let idx = index.indexes.get(type.name);
    const after = state.maxId.get(type.name) ?? 0;
    const page = (yield { op: 'values', signal: type.name, after, limit: pageSize }) as [number, string][];
    if (page.length === 0) continue;
    if (!idx) {
      idx = registry.indexKind(type).build([]);
      index.indexes.set(type.name, idx);
    }
    for (const [id, value] of page) idx.add(id, value);
    let max = (page[page.length - 1] as [number, string])[0];
    if (page.length === pageSize) max = yield* addAbove(idx, type.name, max, pageSize);
    state.maxId.set(type.name, max);
  }
  for (;;) {
    const page = (yield { op: 'removals', after: state.removalSeq, limit: pageSize }) as RemovalRow[];
    for (const r of page) {
      index.indexes.get(r.signal)?.remove(r.entryId, r.value);
      state.removalSeq = r.seq;
    }
    if (page.length < pageSize) break;
  }
  index.bank = head;
}
