/**
 * @module store/sql-store
 * The service store written once, in SQL that SQLite and PostgreSQL both accept, over a tiny
 * executor interface (`?` placeholders; the PostgreSQL executor numbers them). Only bank imports
 * differ per database (each tuned for its engine); they live in the subclasses.
 */

import { AUDIT_GENESIS, auditHash, auditKeyFromEnv } from '../audit/chain.js';
import type { Bank, BankKind, EntryBatch, ParsedEntry, RowIssue } from '../banks/types.js';
import { WardError } from '../errors.js';
import type { ExchangeEntry } from '../exchanges/types.js';
import {
  applyPage,
  type ExchangeRecord,
  type ExchangeRow,
  exchangeNotFound,
  type PageCounts,
  toExchange,
} from './exchanges-sql.js';
import type {
  ApiKeyRecord,
  AuditInput,
  AuditRecord,
  DeliveryRecord,
  DeliveryStatus,
  EntryRemoval,
  EvidenceRecord,
  NewReportRecord,
  NewReviewItem,
  ReportFileRecord,
  ReportRecord,
  ReportState,
  ReviewDecision,
  ReviewItem,
  ReviewStatus,
  ServiceStore,
  WebhookEvent,
  WebhookRecord,
} from './service.js';
import { type BankRow, checkNewBank, type EntryRow, toBank, toEntry } from './sqlite.js';
import type { BankStats, BankWithCounts, ImportOptions, ImportReport, StoredEntry } from './types.js';

export type SqlValue = string | number | null | Buffer;

export interface SqlExecutor {
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface SqlDb extends SqlExecutor {
  /** One transaction; writers are serialised (SQLite: one at a time; PostgreSQL: row locks). */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}

function bankNotFound(name: string): WardError {
  return new WardError('WARD_ERR_BANK_NOT_FOUND', `No bank named ${JSON.stringify(String(name).slice(0, 80))}`);
}

const MAX_LISTED_ISSUES = 100;

/** A fresh import report. @internal */
export function emptyReport(bank: string): ImportReport {
  return {
    bank,
    read: 0,
    added: 0,
    updated: 0,
    unchanged: 0,
    deleted: 0,
    invalid: [],
    invalidCount: 0,
    applied: false,
  };
}

/** Counts a row issue in the report; true when writing must stop (no --skip-invalid). @internal */
export function noteIssue(report: ImportReport, issue: RowIssue, options: ImportOptions): boolean {
  report.invalidCount++;
  if (report.invalid.length < MAX_LISTED_ISSUES) report.invalid.push(issue);
  return !options.skipInvalid;
}

export type ImportItem = ParsedEntry | RowIssue | EntryBatch;

export abstract class SqlServiceStore implements ServiceStore {
  abstract readonly dialect: 'sqlite' | 'postgres';
  abstract readonly location: string;
  abstract readonly sqlitePath: string | undefined;

  protected constructor(protected readonly db: SqlDb) {}

  abstract close(): Promise<void>;
  abstract importEntries(
    bank: string,
    entries: AsyncIterable<ImportItem>,
    options?: ImportOptions,
  ): Promise<ImportReport>;
  /** Serialises audit appends across processes (inside the transaction). */
  protected abstract lockAudit(tx: SqlExecutor): Promise<void>;
  /** Locks a bank row for the rest of the transaction (PostgreSQL: FOR UPDATE). */
  protected abstract lockBank(tx: SqlExecutor, name: string): Promise<BankRow | undefined>;

  async ping(): Promise<void> {
    await this.db.get('SELECT 1 AS one');
  }

  // ------------------------------------------------------------------------------------------
  // Banks

  async createBank(name: string, options: { kind?: BankKind; pdqDistance?: number } = {}): Promise<Bank> {
    const { kind, pdqDistance } = checkNewBank(name, options);
    const row = await this.db.get<BankRow>(
      'INSERT INTO banks (name, kind, pdq_distance, created_at, version) VALUES (?, ?, ?, ?, 0) ON CONFLICT (name) DO NOTHING RETURNING *',
      [name, kind, pdqDistance, new Date().toISOString()],
    );
    if (!row) throw new WardError('WARD_ERR_BANK_EXISTS', `A bank named ${JSON.stringify(name)} exists`);
    return toBank(row);
  }

  async getBank(name: string): Promise<Bank | undefined> {
    const row = await this.db.get<BankRow>('SELECT * FROM banks WHERE name = ?', [name]);
    return row ? toBank(row) : undefined;
  }

  protected async bankRow(name: string): Promise<BankRow> {
    const row = await this.db.get<BankRow>('SELECT * FROM banks WHERE name = ?', [name]);
    if (!row) throw bankNotFound(name);
    return row;
  }

  async listBanks(): Promise<BankWithCounts[]> {
    const rows = await this.db.all<BankRow & { entries: number }>(
      'SELECT b.*, (SELECT count(*) FROM entries e WHERE e.bank_id = b.id) AS entries FROM banks b ORDER BY b.name',
    );
    return rows.map((r) => ({ ...toBank(r), entries: Number(r.entries) }));
  }

  async bankHeads(): Promise<Bank[]> {
    return (await this.db.all<BankRow>('SELECT * FROM banks ORDER BY name')).map(toBank);
  }

  async deleteBank(name: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const row = await this.lockBank(tx, name);
      if (!row) return false;
      await tx.run('DELETE FROM entries WHERE bank_id = ?', [row.id]);
      await tx.run('DELETE FROM entry_removals WHERE bank_id = ?', [row.id]);
      await tx.run('DELETE FROM banks WHERE id = ?', [row.id]);
      return true;
    });
  }

  async deleteEntries(name: string, ids: readonly number[]): Promise<number> {
    return this.db.transaction(async (tx) => {
      const bank = await this.lockBank(tx, name);
      if (!bank) throw bankNotFound(name);
      let deleted = 0;
      for (let i = 0; i < ids.length; i += 500) {
        const batch = ids.slice(i, i + 500);
        const marks = batch.map(() => '?').join(',');
        await tx.run(
          `INSERT INTO entry_removals (bank_id, entry_id, signal, value) SELECT bank_id, id, signal, value FROM entries WHERE bank_id = ? AND id IN (${marks}) ORDER BY id`,
          [bank.id, ...batch],
        );
        deleted += await tx.run(`DELETE FROM entries WHERE bank_id = ? AND id IN (${marks})`, [bank.id, ...batch]);
      }
      if (deleted > 0) await tx.run('UPDATE banks SET version = version + 1 WHERE id = ?', [bank.id]);
      return deleted;
    });
  }

  async listEntries(
    name: string,
    options: { afterId?: number; limit: number; signal?: string },
  ): Promise<StoredEntry[]> {
    const bank = await this.bankRow(name);
    const params: SqlValue[] = [bank.id, options.afterId ?? 0];
    let where = 'bank_id = ? AND id > ?';
    if (options.signal !== undefined) {
      where += ' AND signal = ?';
      params.push(options.signal);
    }
    params.push(options.limit);
    const rows = await this.db.all<EntryRow>(`SELECT * FROM entries WHERE ${where} ORDER BY id LIMIT ?`, params);
    return rows.map(toEntry);
  }

  async entriesById(ids: readonly number[]): Promise<Map<number, StoredEntry & { bank: string }>> {
    const out = new Map<number, StoredEntry & { bank: string }>();
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      const rows = await this.db.all<EntryRow>(
        `SELECT e.*, b.name AS bank FROM entries e JOIN banks b ON b.id = e.bank_id WHERE e.id IN (${batch.map(() => '?').join(',')})`,
        batch,
      );
      for (const row of rows) out.set(Number(row.id), { ...toEntry(row), bank: row.bank as string });
    }
    return out;
  }

  async stats(name: string): Promise<BankStats> {
    const bank = await this.bankRow(name);
    const bySignal: Record<string, number> = {};
    let entries = 0;
    for (const r of await this.db.all<{ signal: string; n: number }>(
      'SELECT signal, count(*) AS n FROM entries WHERE bank_id = ? GROUP BY signal ORDER BY signal',
      [bank.id],
    )) {
      bySignal[r.signal] = Number(r.n);
      entries += Number(r.n);
    }
    const byLabel: Record<string, number> = {};
    for (const r of await this.db.all<{ labels: string; n: number }>(
      "SELECT labels, count(*) AS n FROM entries WHERE bank_id = ? AND labels <> '' GROUP BY labels",
      [bank.id],
    )) {
      for (const label of JSON.parse(r.labels) as string[]) byLabel[label] = (byLabel[label] ?? 0) + Number(r.n);
    }
    return { bank: toBank(bank), entries, bySignal, byLabel };
  }

  async valuesPage(bankId: number, signal: string, afterId: number, limit: number): Promise<[number, string][]> {
    const rows = await this.db.all<{ id: number; value: string }>(
      'SELECT id, value FROM entries WHERE bank_id = ? AND signal = ? AND id > ? ORDER BY id LIMIT ?',
      [bankId, signal, afterId, limit],
    );
    return rows.map((r) => [Number(r.id), r.value]);
  }

  async removalsSince(bankId: number, afterSeq: number, limit: number): Promise<EntryRemoval[]> {
    const rows = await this.db.all<{ id: number; entry_id: number; signal: string; value: string }>(
      'SELECT id, entry_id, signal, value FROM entry_removals WHERE bank_id = ? AND id > ? ORDER BY id LIMIT ?',
      [bankId, afterSeq, limit],
    );
    return rows.map((r) => ({ seq: Number(r.id), entryId: Number(r.entry_id), signal: r.signal, value: r.value }));
  }

  async lastRemovalSeq(bankId: number): Promise<number> {
    const row = await this.db.get<{ m: number | null }>('SELECT max(id) AS m FROM entry_removals WHERE bank_id = ?', [
      bankId,
    ]);
    return Number(row?.m ?? 0);
  }

  // ------------------------------------------------------------------------------------------
  // API keys

  async insertKey(key: ApiKeyRecord): Promise<void> {
    await this.db.run(
      'INSERT INTO api_keys (id, hash, role, name, rate_limit, burst, child_safety, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        key.id,
        key.hash,
        key.role,
        key.name,
        key.rateLimit,
        key.burst,
        key.childSafety ? 1 : 0,
        key.createdAt,
        key.revokedAt,
      ],
    );
  }

  async getKey(id: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.db.get<KeyRow>('SELECT * FROM api_keys WHERE id = ?', [id]);
    return row ? toKey(row) : undefined;
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return (await this.db.all<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id')).map(toKey);
  }

  async revokeKey(id: string, at: string): Promise<boolean> {
    return (await this.db.run('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [at, id])) > 0;
  }

  // ------------------------------------------------------------------------------------------
  // Audit log

  async appendAudit(input: AuditInput, at: Date = new Date()): Promise<AuditRecord> {
    return this.db.transaction(async (tx) => {
      await this.lockAudit(tx);
      const last = await tx.get<{ seq: number; hash: string }>(
        'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
      );
      const record = {
        seq: Number(last?.seq ?? 0) + 1,
        at: at.toISOString(),
        actor: input.actor,
        action: input.action,
        target: input.target ?? '',
        details: input.details ?? {},
      };
      const prevHash = last?.hash ?? AUDIT_GENESIS;
      // Keyed (HMAC) with WARD_AUDIT_KEY, which never touches the database.
      const hash = auditHash(prevHash, record, auditKeyFromEnv());
      await tx.run(
        'INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [
          record.seq,
          record.at,
          record.actor,
          record.action,
          record.target,
          JSON.stringify(record.details),
          prevHash,
          hash,
        ],
      );
      return { ...record, prevHash, hash };
    });
  }

  async listAudit(options: {
    afterSeq?: number;
    beforeSeq?: number;
    limit: number;
    action?: string;
    target?: string;
    newestFirst?: boolean;
  }): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    // seq is a 32-bit INTEGER on PostgreSQL: clamp, so a huge bound is not an error.
    const clamp = (n: number) => Math.min(n, 2_147_483_647);
    if (options.afterSeq !== undefined) {
      where.push('seq > ?');
      params.push(clamp(options.afterSeq));
    }
    if (options.beforeSeq !== undefined) {
      where.push('seq < ?');
      params.push(clamp(options.beforeSeq));
    }
    if (options.action !== undefined) {
      where.push('action = ?');
      params.push(options.action);
    }
    if (options.target !== undefined) {
      where.push('target = ?');
      params.push(options.target);
    }
    params.push(options.limit);
    // Newest first when asked, or when paging backwards (beforeSeq alone); else oldest first.
    const order =
      options.newestFirst || (options.beforeSeq !== undefined && options.afterSeq === undefined) ? 'DESC' : 'ASC';
    const rows = await this.db.all<AuditRow>(
      `SELECT * FROM audit_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${order} LIMIT ?`,
      params,
    );
    return rows.map(toAudit);
  }

  // ------------------------------------------------------------------------------------------
  // Review queue

  async insertReview(item: NewReviewItem): Promise<ReviewItem> {
    const row = await this.db.get<ReviewRow>(
      `INSERT INTO review_items (created_at, status, verdict, score, source, submitted_by, name, content_type, report, evidence_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      [
        item.createdAt,
        item.status,
        item.verdict,
        item.score,
        item.source,
        item.submittedBy,
        item.name,
        item.contentType,
        JSON.stringify(item.report),
        item.evidenceId,
      ],
    );
    return toReview(row as ReviewRow);
  }

  async listReviews(options: {
    statuses: readonly ReviewStatus[];
    afterId?: number;
    limit: number;
  }): Promise<ReviewItem[]> {
    const rows = await this.db.all<ReviewRow>(
      `SELECT * FROM review_items WHERE status IN (${options.statuses.map(() => '?').join(',')}) AND id > ? ORDER BY id LIMIT ?`,
      [...options.statuses, options.afterId ?? 0, options.limit],
    );
    return rows.map(toReview);
  }

  async countReviews(statuses: readonly ReviewStatus[]): Promise<number> {
    const row = await this.db.get<{ n: number }>(
      `SELECT count(*) AS n FROM review_items WHERE status IN (${statuses.map(() => '?').join(',')})`,
      statuses,
    );
    return Number(row?.n ?? 0);
  }

  async getReview(id: number): Promise<ReviewItem | undefined> {
    const row = await this.db.get<ReviewRow>('SELECT * FROM review_items WHERE id = ?', [id]);
    return row ? toReview(row) : undefined;
  }

  async decideReview(
    id: number,
    status: ReviewStatus,
    decision: ReviewDecision,
    by: string,
    at: string,
    from: readonly ReviewStatus[],
  ): Promise<boolean> {
    const changed = await this.db.run(
      `UPDATE review_items SET status = ?, decision = ?, decided_by = ?, decided_at = ? WHERE id = ? AND status IN (${from.map(() => '?').join(',')})`,
      [status, JSON.stringify(decision), by, at, id, ...from],
    );
    return changed > 0;
  }

  // ------------------------------------------------------------------------------------------
  // Evidence

  async putEvidence(r: EvidenceRecord): Promise<void> {
    await this.db.run(
      'INSERT INTO evidence (id, created_at, expires_at, key_id, media_type, size, nonce, tag, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [r.id, r.createdAt, r.expiresAt, r.keyId, r.mediaType, r.size, r.nonce, r.tag, r.data],
    );
  }

  async getEvidence(id: string): Promise<EvidenceRecord | undefined> {
    const row = await this.db.get<EvidenceRow>('SELECT * FROM evidence WHERE id = ?', [id]);
    if (!row) return undefined;
    return {
      id: row.id,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      keyId: row.key_id,
      mediaType: row.media_type,
      size: Number(row.size),
      nonce: Buffer.from(row.nonce),
      tag: Buffer.from(row.tag),
      data: Buffer.from(row.data),
    };
  }

  async purgeEvidence(now: string): Promise<number> {
    // Evidence of a reported item under legal hold stays, whatever its expiry.
    return this.db.run(
      `DELETE FROM evidence WHERE expires_at <= ? AND id NOT IN (
         SELECT r.evidence_id FROM review_items r JOIN report_files f ON f.review_id = r.id
         JOIN reports p ON p.id = f.report_id WHERE p.legal_hold = 1 AND r.evidence_id IS NOT NULL)`,
      [now],
    );
  }

  // ------------------------------------------------------------------------------------------
  // Reports

  async insertReport(r: NewReportRecord): Promise<ReportRecord | undefined> {
    return this.db.transaction(async (tx) => {
      const existing = await tx.get<ReportRow>(
        "SELECT * FROM reports WHERE reporter = ? AND items_key = ? AND state IN ('draft', 'submitted')",
        [r.reporter, r.itemsKey],
      );
      if (existing) return undefined;
      const row = (await tx.get<ReportRow>(
        `INSERT INTO reports (reporter, items_key, review_ids, state, inflight, endpoint, remote_id, content, options,
           created_at, updated_at, opened_at, last_change_at, finished_at, retain_until, legal_hold, history, last_error,
           external_reference)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        [
          r.reporter,
          r.itemsKey,
          JSON.stringify(r.reviewIds),
          r.state,
          r.inflight,
          r.endpoint,
          r.remoteId,
          r.content,
          JSON.stringify(r.options),
          r.createdAt,
          r.updatedAt,
          r.openedAt,
          r.lastChangeAt,
          r.finishedAt,
          r.retainUntil,
          r.legalHold ? 1 : 0,
          JSON.stringify(r.history),
          r.lastError,
          r.externalReference,
        ],
      )) as ReportRow;
      let position = 0;
      for (const reviewId of r.reviewIds) {
        await tx.run(
          "INSERT INTO report_files (report_id, review_id, position, state, updated_at) VALUES (?, ?, ?, 'pending', ?)",
          [row.id, reviewId, position++, r.createdAt],
        );
      }
      return toReport(row);
    });
  }

  async getReport(id: number): Promise<ReportRecord | undefined> {
    const row = await this.db.get<ReportRow>('SELECT * FROM reports WHERE id = ?', [id]);
    return row ? toReport(row) : undefined;
  }

  async activeReport(reporter: string, itemsKey: string): Promise<ReportRecord | undefined> {
    const row = await this.db.get<ReportRow>(
      "SELECT * FROM reports WHERE reporter = ? AND items_key = ? AND state IN ('draft', 'submitted')",
      [reporter, itemsKey],
    );
    return row ? toReport(row) : undefined;
  }

  async listReports(options: { afterId?: number; limit: number; reviewId?: number }): Promise<ReportRecord[]> {
    const rows =
      options.reviewId === undefined
        ? await this.db.all<ReportRow>('SELECT * FROM reports WHERE id > ? ORDER BY id LIMIT ?', [
            options.afterId ?? 0,
            options.limit,
          ])
        : await this.db.all<ReportRow>(
            'SELECT * FROM reports WHERE id > ? AND id IN (SELECT report_id FROM report_files WHERE review_id = ?) ORDER BY id LIMIT ?',
            [options.afterId ?? 0, options.reviewId, options.limit],
          );
    return rows.map(toReport);
  }

  async updateReport(
    id: number,
    patch: Partial<Omit<ReportRecord, 'id' | 'reporter' | 'itemsKey' | 'reviewIds' | 'createdAt'>>,
    expected: { state?: ReportState; inflight?: string | null } = {},
  ): Promise<boolean> {
    const cols: Record<string, keyof ReportRecord> = {
      state: 'state',
      inflight: 'inflight',
      endpoint: 'endpoint',
      remote_id: 'remoteId',
      content: 'content',
      options: 'options',
      updated_at: 'updatedAt',
      opened_at: 'openedAt',
      last_change_at: 'lastChangeAt',
      finished_at: 'finishedAt',
      retain_until: 'retainUntil',
      legal_hold: 'legalHold',
      history: 'history',
      last_error: 'lastError',
      external_reference: 'externalReference',
    };
    const sets: string[] = [];
    const params: (string | number | null)[] = [];
    for (const [col, key] of Object.entries(cols)) {
      if (!(key in patch)) continue;
      const v = (patch as Record<string, unknown>)[key];
      sets.push(`${col} = ?`);
      params.push(
        key === 'options' || key === 'history'
          ? JSON.stringify(v)
          : key === 'legalHold'
            ? v
              ? 1
              : 0
            : (v as string | null),
      );
    }
    if (sets.length === 0) return true;
    let where = 'id = ?';
    params.push(id);
    if (expected.state !== undefined) {
      where += ' AND state = ?';
      params.push(expected.state);
    }
    if (expected.inflight !== undefined) {
      if (expected.inflight === null) where += ' AND inflight IS NULL';
      else {
        where += ' AND inflight = ?';
        params.push(expected.inflight);
      }
    }
    return (await this.db.run(`UPDATE reports SET ${sets.join(', ')} WHERE ${where}`, params)) > 0;
  }

  async reportFiles(reportId: number): Promise<ReportFileRecord[]> {
    const rows = await this.db.all<ReportFileRow>('SELECT * FROM report_files WHERE report_id = ? ORDER BY position', [
      reportId,
    ]);
    return rows.map((r) => ({
      reportId: Number(r.report_id),
      reviewId: Number(r.review_id),
      position: Number(r.position),
      state: r.state,
      fileId: r.file_id,
      md5: r.md5,
      details: r.details,
      updatedAt: r.updated_at,
    }));
  }

  async updateReportFile(
    reportId: number,
    reviewId: number,
    patch: Partial<Pick<ReportFileRecord, 'state' | 'fileId' | 'md5' | 'details' | 'updatedAt'>>,
  ): Promise<void> {
    const cols: [string, keyof typeof patch][] = [
      ['state', 'state'],
      ['file_id', 'fileId'],
      ['md5', 'md5'],
      ['details', 'details'],
      ['updated_at', 'updatedAt'],
    ];
    const use = cols.filter(([, k]) => k in patch);
    if (use.length === 0) return;
    await this.db.run(
      `UPDATE report_files SET ${use.map(([c]) => `${c} = ?`).join(', ')} WHERE report_id = ? AND review_id = ?`,
      [...use.map(([, k]) => (patch[k] ?? null) as string | null), reportId, reviewId],
    );
  }

  async getReportSetting(name: string): Promise<string | undefined> {
    return (await this.db.get<{ value: string }>('SELECT value FROM report_settings WHERE name = ?', [name]))?.value;
  }

  async putReportSetting(name: string, value: string, at: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run('DELETE FROM report_settings WHERE name = ?', [name]);
      await tx.run('INSERT INTO report_settings (name, value, updated_at) VALUES (?, ?, ?)', [name, value, at]);
    });
  }

  async retainEvidence(ids: readonly string[], until: string): Promise<void> {
    for (const id of ids) {
      await this.db.run('UPDATE evidence SET expires_at = ? WHERE id = ? AND expires_at < ?', [until, id, until]);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Webhooks

  async insertWebhook(hook: Omit<WebhookRecord, 'id'>): Promise<WebhookRecord> {
    const row = await this.db.get<WebhookRow>(
      'INSERT INTO webhooks (url, events, secret, created_at, active) VALUES (?, ?, ?, ?, ?) RETURNING *',
      [hook.url, hook.events.join(','), hook.secret, hook.createdAt, hook.active ? 1 : 0],
    );
    return toWebhook(row as WebhookRow);
  }

  async listWebhooks(): Promise<WebhookRecord[]> {
    return (await this.db.all<WebhookRow>('SELECT * FROM webhooks WHERE active = 1 ORDER BY id')).map(toWebhook);
  }

  async deleteWebhook(id: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const n = await tx.run('UPDATE webhooks SET active = 0 WHERE id = ? AND active = 1', [id]);
      await tx.run(
        "UPDATE webhook_deliveries SET status = 'failed', last_error = 'webhook deleted' WHERE webhook_id = ? AND status = 'pending'",
        [id],
      );
      return n > 0;
    });
  }

  async enqueueDelivery(d: DeliveryRecord): Promise<void> {
    await this.db.run(DELIVERY_INSERT, deliveryParams(d));
  }

  /** Many deliveries in one transaction (one commit for a flush of the dispatcher's queue). */
  async enqueueDeliveries(ds: DeliveryRecord[]): Promise<void> {
    if (ds.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const d of ds) await tx.run(DELIVERY_INSERT, deliveryParams(d));
    });
  }

  async dueDeliveries(now: string, limit: number): Promise<DeliveryRecord[]> {
    const rows = await this.db.all<DeliveryRow>(
      "SELECT * FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
      [now, limit],
    );
    return rows.map(toDelivery);
  }

  async claimDelivery(id: string, expectedNextAttempt: string, leaseUntil: string): Promise<boolean> {
    const n = await this.db.run(
      "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ? AND status = 'pending' AND next_attempt_at = ?",
      [leaseUntil, id, expectedNextAttempt],
    );
    return n > 0;
  }

  async updateDelivery(
    id: string,
    patch: Partial<Omit<DeliveryRecord, 'id' | 'webhookId' | 'event' | 'payload'>>,
  ): Promise<void> {
    const columns: Record<string, string> = {
      status: 'status',
      attempts: 'attempts',
      nextAttemptAt: 'next_attempt_at',
      lastStatus: 'last_status',
      lastError: 'last_error',
      createdAt: 'created_at',
      deliveredAt: 'delivered_at',
    };
    const sets: string[] = [];
    const params: SqlValue[] = [];
    for (const [k, v] of Object.entries(patch)) {
      const column = columns[k];
      if (!column || v === undefined) continue;
      sets.push(`${column} = ?`);
      params.push(v as SqlValue);
    }
    if (sets.length === 0) return;
    await this.db.run(`UPDATE webhook_deliveries SET ${sets.join(', ')} WHERE id = ?`, [...params, id]);
  }

  async listDeliveries(options: {
    webhookId?: number;
    status?: DeliveryStatus;
    limit: number;
  }): Promise<DeliveryRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (options.webhookId !== undefined) {
      where.push('webhook_id = ?');
      params.push(options.webhookId);
    }
    if (options.status !== undefined) {
      where.push('status = ?');
      params.push(options.status);
    }
    params.push(options.limit);
    const rows = await this.db.all<DeliveryRow>(
      `SELECT * FROM webhook_deliveries ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ?`,
      params,
    );
    return rows.map(toDelivery);
  }

  // ------------------------------------------------------------------------------------------
  // Hash exchanges

  async insertExchange(
    r: Pick<ExchangeRecord, 'name' | 'type' | 'bank' | 'config' | 'credentials'>,
  ): Promise<ExchangeRecord> {
    const row = await this.db.get<ExchangeRow>(
      'INSERT INTO exchanges (name, type, bank, config, credentials, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING *',
      [r.name, r.type, r.bank, JSON.stringify(r.config), r.credentials, new Date().toISOString()],
    );
    if (!row) throw new WardError('WARD_ERR_EXCHANGE_EXISTS', `An exchange named ${JSON.stringify(r.name)} exists`);
    return toExchange(row);
  }

  async getExchange(name: string): Promise<ExchangeRecord | undefined> {
    const row = await this.db.get<ExchangeRow>('SELECT * FROM exchanges WHERE name = ?', [name]);
    return row ? toExchange(row) : undefined;
  }

  async listExchanges(): Promise<ExchangeRecord[]> {
    return (await this.db.all<ExchangeRow>('SELECT * FROM exchanges ORDER BY name')).map(toExchange);
  }

  async deleteExchange(name: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const n = await tx.run('DELETE FROM exchanges WHERE name = ?', [name]);
      await tx.run('DELETE FROM exchange_signals WHERE exchange = ?', [name]);
      await tx.run('DELETE FROM exchange_heads WHERE exchange = ?', [name]);
      return n > 0;
    });
  }

  async applyExchangePage(
    name: string,
    entries: readonly ExchangeEntry[],
    options: { checkpoint: unknown; upToDate: boolean; complete: boolean; firstOfRun: boolean; now?: string },
  ): Promise<PageCounts> {
    return this.db.transaction(async (tx) => {
      const ex = await tx.get<ExchangeRow>('SELECT * FROM exchanges WHERE name = ?', [name]);
      if (!ex) throw exchangeNotFound(name);
      const bank = await this.lockBank(tx, ex.bank);
      if (!bank) throw bankNotFound(ex.bank);
      return applyPage(tx, name, Number(bank.id), entries, {
        ...options,
        now: options.now ?? new Date().toISOString(),
      });
    });
  }

  async updateExchangeRun(
    name: string,
    patch: { lastError?: string | null; success?: boolean; reset?: boolean; at?: string },
  ): Promise<void> {
    const at = patch.at ?? new Date().toISOString();
    const sets: string[] = ['last_run_at = ?'];
    const params: SqlValue[] = [at];
    if (patch.lastError !== undefined) {
      sets.push('last_error = ?');
      params.push(patch.lastError);
    }
    if (patch.success) {
      sets.push('last_success_at = ?');
      params.push(at);
    }
    if (patch.reset) sets.push('checkpoint = NULL, up_to_date = 0, fetched = 0, added = 0, updated = 0, deleted = 0');
    if (patch.lastError) sets.push('up_to_date = 0');
    const n = await this.db.run(`UPDATE exchanges SET ${sets.join(', ')} WHERE name = ?`, [...params, name]);
    if (n === 0) throw exchangeNotFound(name);
  }
}

const DELIVERY_INSERT = `INSERT INTO webhook_deliveries (id, webhook_id, event, payload, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

function deliveryParams(d: DeliveryRecord): SqlValue[] {
  return [
    d.id,
    d.webhookId,
    d.event,
    d.payload,
    d.status,
    d.attempts,
    d.nextAttemptAt,
    d.lastStatus,
    d.lastError,
    d.createdAt,
    d.deliveredAt,
  ];
}

interface KeyRow {
  id: string;
  hash: string;
  role: ApiKeyRecord['role'];
  name: string;
  rate_limit: number | null;
  burst: number | null;
  child_safety: number | string | boolean;
  created_at: string;
  revoked_at: string | null;
}

function toKey(r: KeyRow): ApiKeyRecord {
  return {
    id: r.id,
    hash: r.hash,
    role: r.role,
    name: r.name,
    rateLimit: r.rate_limit === null ? null : Number(r.rate_limit),
    burst: r.burst === null ? null : Number(r.burst),
    childSafety: Number(r.child_safety) === 1 || r.child_safety === true,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}

interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  details: string;
  prev_hash: string;
  hash: string;
}

function toAudit(r: AuditRow): AuditRecord {
  let details: Record<string, unknown>;
  try {
    details = JSON.parse(r.details) as Record<string, unknown>;
  } catch {
    // A hand-edited row: keep the text, so verification reports it rather than crashing.
    details = { unparseable: r.details };
  }
  return {
    seq: Number(r.seq),
    at: r.at,
    actor: r.actor,
    action: r.action,
    target: r.target,
    details,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

interface ReportRow {
  id: number;
  reporter: string;
  items_key: string;
  review_ids: string;
  state: ReportState;
  inflight: string | null;
  endpoint: string;
  remote_id: string | null;
  content: string;
  options: string;
  created_at: string;
  updated_at: string;
  opened_at: string | null;
  last_change_at: string | null;
  finished_at: string | null;
  retain_until: string;
  legal_hold: number;
  history: string;
  last_error: string | null;
  external_reference: string | null;
}

function toReport(r: ReportRow): ReportRecord {
  return {
    id: Number(r.id),
    reporter: r.reporter,
    itemsKey: r.items_key,
    reviewIds: JSON.parse(r.review_ids),
    state: r.state,
    inflight: r.inflight,
    endpoint: r.endpoint,
    remoteId: r.remote_id,
    content: r.content,
    options: JSON.parse(r.options),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    openedAt: r.opened_at,
    lastChangeAt: r.last_change_at,
    finishedAt: r.finished_at,
    retainUntil: r.retain_until,
    legalHold: Number(r.legal_hold) === 1,
    history: JSON.parse(r.history),
    lastError: r.last_error,
    externalReference: r.external_reference,
  };
}

interface ReportFileRow {
  report_id: number;
  review_id: number;
  position: number;
  state: ReportFileRecord['state'];
  file_id: string | null;
  md5: string | null;
  details: string | null;
  updated_at: string;
}

interface ReviewRow {
  id: number;
  created_at: string;
  status: ReviewStatus;
  verdict: string;
  score: number | null;
  source: string;
  submitted_by: string | null;
  name: string | null;
  content_type: string;
  report: string;
  evidence_id: string | null;
  decided_at: string | null;
  decided_by: string | null;
  decision: string | null;
}

function toReview(r: ReviewRow): ReviewItem {
  return {
    id: Number(r.id),
    createdAt: r.created_at,
    status: r.status,
    verdict: r.verdict,
    score: r.score === null ? null : Number(r.score),
    source: r.source,
    submittedBy: r.submitted_by,
    name: r.name,
    contentType: r.content_type,
    report: JSON.parse(r.report),
    evidenceId: r.evidence_id,
    decidedAt: r.decided_at,
    decidedBy: r.decided_by,
    decision: r.decision === null ? null : (JSON.parse(r.decision) as ReviewDecision),
  };
}

interface EvidenceRow {
  id: string;
  created_at: string;
  expires_at: string;
  key_id: string;
  media_type: string | null;
  size: number;
  nonce: Uint8Array;
  tag: Uint8Array;
  data: Uint8Array;
}

interface WebhookRow {
  id: number;
  url: string;
  events: string;
  secret: string;
  created_at: string;
  active: number;
}

function toWebhook(r: WebhookRow): WebhookRecord {
  return {
    id: Number(r.id),
    url: r.url,
    events: r.events === '' ? [] : (r.events.split(',') as WebhookEvent[]),
    secret: r.secret,
    createdAt: r.created_at,
    active: Number(r.active) === 1,
  };
}

interface DeliveryRow {
  id: string;
  webhook_id: number;
  event: WebhookEvent;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

function toDelivery(r: DeliveryRow): DeliveryRecord {
  return {
    id: r.id,
    webhookId: Number(r.webhook_id),
    event: r.event,
    payload: r.payload,
    status: r.status,
    attempts: Number(r.attempts),
    nextAttemptAt: r.next_attempt_at,
    lastStatus: r.last_status === null ? null : Number(r.last_status),
    lastError: r.last_error,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
  };
}
