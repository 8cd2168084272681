/**
 * @module store/exchanges-sql
 * Collaborations (exchanges table) and the application of one fetched page, in SQL both SQLite and
 * PostgreSQL accept. A page is applied in one transaction with its checkpoint: a sync killed
 * anywhere leaves either the page and its checkpoint, or neither.
 *
 * Model: `exchange_heads` keeps the newest record of each exchange entry (tombstones included), so
 * an older record arriving later, or a page replayed after a crash, changes nothing.
 * `exchange_signals` keeps the fingerprints of the live entries. A bank row (signal, value) exists
 * while at least one live entry has that fingerprint; its `source` is `exchange:<name>`, its
 * `source_id` and labels those of the newest such entry. Rows that go are logged in
 * entry_removals and the bank's version moves on, so a live index follows without a rebuild.
 */
import { encodeLabels } from '../banks/labels.js';
import { WardError } from '../errors.js';
import type { ExchangeEntry } from '../exchanges/types.js';
import type { SqlExecutor, SqlValue } from './sql-store.js';

export interface ExchangeRecord {
  name: string;
  type: string;
  bank: string;
  config: Record<string, string>;
  /** Sealed (src/secrets); null when the connector needs none. */
  credentials: string | null;
  createdAt: string;
  checkpoint: unknown;
  upToDate: boolean;
  lastRunAt: string | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  /** Counts of the last run (accumulated over its pages). */
  fetched: number;
  added: number;
  updated: number;
  deleted: number;
}

export interface PageCounts {
  fetched: number;
  added: number;
  updated: number;
  deleted: number;
}

export interface ExchangeRow {
  name: string;
  type: string;
  bank: string;
  config: string;
  credentials: string | null;
  created_at: string;
  checkpoint: string | null;
  up_to_date: number;
  last_run_at: string | null;
  last_success_at: string | null;
  last_error: string | null;
  fetched: number;
  added: number;
  updated: number;
  deleted: number;
}

export function toExchange(r: ExchangeRow): ExchangeRecord {
  return {
    name: r.name,
    type: r.type,
    bank: r.bank,
    config: JSON.parse(r.config) as Record<string, string>,
    credentials: r.credentials,
    createdAt: r.created_at,
    checkpoint: r.checkpoint === null ? undefined : JSON.parse(r.checkpoint),
    upToDate: Number(r.up_to_date) === 1,
    lastRunAt: r.last_run_at,
    lastSuccessAt: r.last_success_at,
    lastError: r.last_error,
    fetched: Number(r.fetched),
    added: Number(r.added),
    updated: Number(r.updated),
    deleted: Number(r.deleted),
  };
}

/** The bank row source of a collaboration's entries. */
export function exchangeSource(name: string): string {
  return `exchange:${name}`;
}

interface PageOptions {
  checkpoint: unknown;
  upToDate: boolean;
  /** The page is the whole list: live entries not in it are deleted (at `now`). */
  complete: boolean;
  now: string;
  /** First page of a run: the run's counts start from zero. */
  firstOfRun: boolean;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

/**
 * Applies one page to the bank `bankId` and records its checkpoint and counts. Runs inside the
 * caller's transaction (with the bank row locked).
 */
export async function applyPage(
  tx: SqlExecutor,
  exchange: string,
  bankId: number,
  entries: readonly ExchangeEntry[],
  options: PageOptions,
): Promise<PageCounts> {
  const counts: PageCounts = { fetched: entries.length, added: 0, updated: 0, deleted: 0 };
  const touched = new Map<string, { signal: string; value: string }>();
  const touch = (signal: string, value: string) => touched.set(`${signal}\u0000${value}`, { signal, value });
  // Later records of one id in the same page: keep the newest only (ties: the later in the page).
  const newest = new Map<string, ExchangeEntry>();
  for (const e of entries) {
    const prev = newest.get(e.entryId);
    const t = 'deleted' in e ? e.deleted : e.updated;
    const pt = prev === undefined ? '' : 'deleted' in prev ? prev.deleted : prev.updated;
    if (prev === undefined || t >= pt) newest.set(e.entryId, e);
  }
  if (options.complete) {
    const live = await tx.all<{ entry_id: string }>(
      'SELECT entry_id FROM exchange_heads WHERE exchange = ? AND deleted = 0',
      [exchange],
    );
    for (const { entry_id } of live) {
      if (!newest.has(entry_id)) newest.set(entry_id, { entryId: entry_id, deleted: options.now });
    }
  }
  for (const e of newest.values()) {
    const t = 'deleted' in e ? e.deleted : e.updated;
    const head = await tx.get<{ updated: string; deleted: number; labels: string }>(
      'SELECT updated, deleted, labels FROM exchange_heads WHERE exchange = ? AND entry_id = ?',
      [exchange, e.entryId],
    );
    if (head && head.updated >= t && !options.complete) continue; // older or replayed: nothing to do
    const old = await tx.all<{ signal: string; value: string }>(
      'SELECT signal, value FROM exchange_signals WHERE exchange = ? AND entry_id = ?',
      [exchange, e.entryId],
    );
    const wasLive = head !== undefined && Number(head.deleted) === 0;
    if ('deleted' in e) {
      if (wasLive) counts.deleted++;
      for (const o of old) touch(o.signal, o.value);
      await tx.run('DELETE FROM exchange_signals WHERE exchange = ? AND entry_id = ?', [exchange, e.entryId]);
      if (head) {
        await tx.run(
          'UPDATE exchange_heads SET updated = ?, deleted = 1, labels = ? WHERE exchange = ? AND entry_id = ?',
          [t, '', exchange, e.entryId],
        );
      } else {
        await tx.run(
          'INSERT INTO exchange_heads (exchange, entry_id, updated, deleted, labels) VALUES (?, ?, ?, 1, ?)',
          [exchange, e.entryId, t, ''],
        );
      }
      continue;
    }
    const labels = encodeLabels([...new Set(e.labels)].sort());
    const keys = [...new Set(e.signals.map((s) => `${s.signal}\u0000${s.value}`))];
    const oldKeys = old.map((o) => `${o.signal}\u0000${o.value}`);
    const same = wasLive && sameSet(keys, oldKeys) && head.labels === labels;
    if (head && head.updated >= t && same) continue; // a complete list that did not change
    if (!wasLive) counts.added++;
    else if (!same) counts.updated++;
    for (const o of old) touch(o.signal, o.value);
    await tx.run('DELETE FROM exchange_signals WHERE exchange = ? AND entry_id = ?', [exchange, e.entryId]);
    for (const k of keys) {
      const [signal, value] = k.split('\u0000') as [string, string];
      touch(signal, value);
      await tx.run('INSERT INTO exchange_signals (exchange, entry_id, signal, value) VALUES (?, ?, ?, ?)', [
        exchange,
        e.entryId,
        signal,
        value,
      ]);
    }
    const stamp = head && head.updated > t ? head.updated : t;
    if (head) {
      await tx.run(
        'UPDATE exchange_heads SET updated = ?, deleted = 0, labels = ? WHERE exchange = ? AND entry_id = ?',
        [stamp, labels, exchange, e.entryId],
      );
    } else {
      await tx.run('INSERT INTO exchange_heads (exchange, entry_id, updated, deleted, labels) VALUES (?, ?, ?, 0, ?)', [
        exchange,
        e.entryId,
        stamp,
        labels,
      ]);
    }
  }
  const changed = await reconcile(tx, exchange, bankId, [...touched.values()], options.now);
  if (changed) await tx.run('UPDATE banks SET version = version + 1 WHERE id = ?', [bankId]);
  const params: SqlValue[] = [
    options.checkpoint === undefined ? null : JSON.stringify(options.checkpoint),
    options.upToDate ? 1 : 0,
    options.now,
  ];
  const keep = options.checkpoint === undefined ? 'checkpoint' : '?';
  const sets = options.firstOfRun
    ? 'fetched = ?, added = ?, updated = ?, deleted = ?'
    : 'fetched = fetched + ?, added = added + ?, updated = updated + ?, deleted = deleted + ?';
  await tx.run(`UPDATE exchanges SET checkpoint = ${keep}, up_to_date = ?, last_run_at = ?, ${sets} WHERE name = ?`, [
    ...(options.checkpoint === undefined ? params.slice(1) : params),
    counts.fetched,
    counts.added,
    counts.updated,
    counts.deleted,
    exchange,
  ]);
  return counts;
}

/** Makes the bank rows of the touched fingerprints agree with the live entries; true if any changed. */
async function reconcile(
  tx: SqlExecutor,
  exchange: string,
  bankId: number,
  touched: readonly { signal: string; value: string }[],
  now: string,
): Promise<boolean> {
  const source = exchangeSource(exchange);
  let changed = false;
  for (const { signal, value } of touched) {
    // The newest live entry with this fingerprint (ties: the smallest id) speaks for the row.
    const owner = await tx.get<{ entry_id: string; labels: string }>(
      `SELECT s.entry_id, h.labels FROM exchange_signals s JOIN exchange_heads h
         ON h.exchange = s.exchange AND h.entry_id = s.entry_id
       WHERE s.exchange = ? AND s.signal = ? AND s.value = ?
       ORDER BY h.updated DESC, s.entry_id ASC LIMIT 1`,
      [exchange, signal, value],
    );
    const row = await tx.get<{ id: number; labels: string; source: string | null; source_id: string | null }>(
      'SELECT id, labels, source, source_id FROM entries WHERE bank_id = ? AND signal = ? AND value = ?',
      [bankId, signal, value],
    );
    if (!owner) {
      if (row && row.source === source) {
        await tx.run(
          'INSERT INTO entry_removals (bank_id, entry_id, signal, value) SELECT bank_id, id, signal, value FROM entries WHERE id = ?',
          [row.id],
        );
        await tx.run('DELETE FROM entries WHERE id = ?', [row.id]);
        changed = true;
      }
      continue;
    }
    if (!row) {
      await tx.run(
        'INSERT INTO entries (bank_id, signal, value, labels, source, source_id, added_at, seen) VALUES (?, ?, ?, ?, ?, ?, ?, 0)',
        [bankId, signal, value, owner.labels, source, owner.entry_id, now],
      );
      changed = true;
    } else if (row.labels !== owner.labels || row.source_id !== owner.entry_id || row.source !== source) {
      await tx.run('UPDATE entries SET labels = ?, source = ?, source_id = ? WHERE id = ?', [
        owner.labels,
        source,
        owner.entry_id,
        row.id,
      ]);
      changed = true;
    }
  }
  return changed;
}

export function exchangeNotFound(name: string): WardError {
  return new WardError('WARD_ERR_EXCHANGE_NOT_FOUND', `No exchange named ${JSON.stringify(String(name).slice(0, 80))}`);
}
