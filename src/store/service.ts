/**
 * @module store/service
 * What the service (`ward serve`) keeps besides banks: API keys (hashes only), the audit log (a
 * hash chain), the review queue, encrypted evidence and webhooks with their delivery log. One
 * asynchronous interface, implemented over SQLite (sqlite-service.ts) and PostgreSQL
 * (postgres.ts) by the same SQL (sql-store.ts) and the same migrations.
 */
import type { Bank, BankKind, EntryBatch, ParsedEntry, RowIssue } from '../banks/types.js';
import type { ExchangeEntry } from '../exchanges/types.js';
import type { ItemReport } from '../item.js';
import type { ExchangeRecord, PageCounts } from './exchanges-sql.js';
import type { BankStats, BankWithCounts, ImportOptions, ImportReport, StoredEntry } from './types.js';

export type Role = 'admin' | 'analyst' | 'submitter';
export const ROLES: readonly Role[] = ['admin', 'analyst', 'submitter'];

export interface ApiKeyRecord {
  /** The key's public part (`ward_<id>_<secret>`): safe to log and show. */
  id: string;
  /** SHA-256 (hex) of the whole key; the key itself is never stored. */
  hash: string;
  role: Role;
  name: string;
  /** Requests per second for this key (null: the service default). */
  rateLimit: number | null;
  /** Bucket size (null: the service default). */
  burst: number | null;
  /** The child-safety data permission: evidence media, prompts and report contents (migration 3). */
  childSafety: boolean;
  createdAt: string;
  revokedAt: string | null;
}

export interface AuditInput {
  /** Who: `key:<id>`, `cli`, or `system`. */
  actor: string;
  /** What, dotted: `bank.create`, `review.decision`, `key.revoke`... */
  action: string;
  /** What it was done to: a bank name, `review:<id>`, `key:<id>`. */
  target?: string;
  /** Facts (never content): counts, decision, reasons. */
  details?: Record<string, unknown>;
}

export interface AuditRecord {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
  /** The hash of the record before (64 zeros for the first). */
  prevHash: string;
  /** SHA-256 over prevHash and this record's fields (src/audit/chain.ts). */
  hash: string;
}

export type ReviewStatus = 'open' | 'escalated' | 'confirmed' | 'dismissed';
export const REVIEW_STATUSES: readonly ReviewStatus[] = ['open', 'escalated', 'confirmed', 'dismissed'];
export type ReviewAction = 'confirm' | 'dismiss' | 'escalate';

export interface ReviewDecision {
  action: ReviewAction;
  /** confirm: the block bank the item's signals went to; dismiss: the negative bank, if any. */
  bank?: string;
  /** Signals added to `bank`. */
  added?: string[];
  labels?: string[];
  note?: string;
}

export interface ReviewItem {
  id: number;
  createdAt: string;
  status: ReviewStatus;
  verdict: string;
  score: number | null;
  /** The route that queued it (`scan`). */
  source: string;
  /** The API key that submitted it. */
  submittedBy: string | null;
  /** The upload's name, when the client gave one. */
  name: string | null;
  contentType: string;
  /** The scan item report, as `ward scan` writes it (fingerprints and findings, no content). */
  report: ItemReport;
  /** The encrypted upload, when the evidence store is enabled. */
  evidenceId: string | null;
  decidedAt: string | null;
  decidedBy: string | null;
  decision: ReviewDecision | null;
}

export type NewReviewItem = Omit<ReviewItem, 'id' | 'decidedAt' | 'decidedBy' | 'decision'>;

export interface EvidenceRecord {
  id: string;
  createdAt: string;
  expiresAt: string;
  /** Which key encrypted it (the first 16 hex of the key's SHA-256). */
  keyId: string;
  mediaType: string | null;
  size: number;
  nonce: Buffer;
  tag: Buffer;
  data: Buffer;
}

export const WEBHOOK_EVENTS = ['match', 'flag', 'decision'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookRecord {
  id: number;
  url: string;
  events: WebhookEvent[];
  secret: string;
  createdAt: string;
  active: boolean;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryRecord {
  id: string;
  webhookId: number;
  event: WebhookEvent;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export interface EntryRemoval {
  seq: number;
  entryId: number;
  signal: string;
  value: string;
}

export type ReportState = 'draft' | 'submitted' | 'finished' | 'retracted' | 'exported';
export type ReportFileState = 'pending' | 'uploaded' | 'fileinfo';

/** A report (CyberTipline or NCA export) and where its submission stands (src/reporting). */
export interface ReportRecord {
  id: number;
  /** The reporter plugin: `ncmec`, `nca`. */
  reporter: string;
  /** The review items, sorted, joined by commas: one report in progress per set. */
  itemsKey: string;
  reviewIds: number[];
  state: ReportState;
  /** The remote call under way (written before it is made): `submit`, `upload:<review>`, ... */
  inflight: string | null;
  endpoint: string;
  /** NCMEC's reportId once /submit answered. */
  remoteId: string | null;
  /** What is reported: the report XML, or the NCA export JSON (kept for the preservation period). */
  content: string;
  /** How it was built (profile, choices), JSON-able. */
  options: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  /** When the remote report was opened (auto-deletion: 24 h after). */
  openedAt: string | null;
  /** The last upload or fileinfo (auto-deletion: 1 h after). */
  lastChangeAt: string | null;
  finishedAt: string | null;
  /** Evidence and contents are kept at least until then (365 days from the report). */
  retainUntil: string;
  legalHold: boolean;
  /** Earlier remote reports of this one (expired or abandoned), oldest first. */
  history: { remoteId: string | null; ended: string; at: string }[];
  lastError: string | null;
  /** The NCA reference number, once the operator records it. */
  externalReference: string | null;
}

export interface ReportFileRecord {
  reportId: number;
  reviewId: number;
  position: number;
  state: ReportFileState;
  fileId: string | null;
  md5: string | null;
  /** The fileDetails XML as sent to /fileinfo (preserved with the report). */
  details: string | null;
  updatedAt: string;
}

export type NewReportRecord = Omit<ReportRecord, 'id'>;

export interface ServiceStore {
  readonly dialect: 'sqlite' | 'postgres';
  /** The SQLite file, or the PostgreSQL URL without its password. */
  readonly location: string;
  /** A SQLite file path (index snapshots live beside it), else undefined. */
  readonly sqlitePath: string | undefined;
  ping(): Promise<void>;
  close(): Promise<void>;

  // Banks (the same operations as the CLI's store).
  createBank(name: string, options?: { kind?: BankKind; pdqDistance?: number }): Promise<Bank>;
  getBank(name: string): Promise<Bank | undefined>;
  listBanks(): Promise<BankWithCounts[]>;
  /** Banks without counts: cheap enough to poll. */
  bankHeads(): Promise<Bank[]>;
  deleteBank(name: string): Promise<boolean>;
  /** One transaction: nothing is applied when a line is invalid, unless skipInvalid. Batches come from the worker-thread reader. */
  importEntries(
    bank: string,
    entries: AsyncIterable<ParsedEntry | RowIssue | EntryBatch>,
    options?: ImportOptions,
  ): Promise<ImportReport>;
  /** Deletes entries of one bank by id (logged as removals; the bank's version moves on). */
  deleteEntries(bank: string, ids: readonly number[]): Promise<number>;
  listEntries(bank: string, options: { afterId?: number; limit: number; signal?: string }): Promise<StoredEntry[]>;
  entriesById(ids: readonly number[]): Promise<Map<number, StoredEntry & { bank: string }>>;
  stats(bank: string): Promise<BankStats>;
  /** (id, value) of one signal type of a bank, ids above `afterId`, ascending. */
  valuesPage(bankId: number, signal: string, afterId: number, limit: number): Promise<[number, string][]>;
  removalsSince(bankId: number, afterSeq: number, limit: number): Promise<EntryRemoval[]>;
  lastRemovalSeq(bankId: number): Promise<number>;

  // API keys
  insertKey(key: ApiKeyRecord): Promise<void>;
  getKey(id: string): Promise<ApiKeyRecord | undefined>;
  listKeys(): Promise<ApiKeyRecord[]>;
  revokeKey(id: string, at: string): Promise<boolean>;

  // Audit log (append only)
  appendAudit(input: AuditInput, at?: Date): Promise<AuditRecord>;
  listAudit(options: {
    afterSeq?: number;
    beforeSeq?: number;
    limit: number;
    action?: string;
    /** Only records about this target (`review:<id>`, `bank:<name>`, `key:<id>`…). */
    target?: string;
    /** Newest first (default: oldest first, or newest first when only beforeSeq is given). */
    newestFirst?: boolean;
  }): Promise<AuditRecord[]>;

  // Review queue
  insertReview(item: NewReviewItem): Promise<ReviewItem>;
  listReviews(options: { statuses: readonly ReviewStatus[]; afterId?: number; limit: number }): Promise<ReviewItem[]>;
  countReviews(statuses: readonly ReviewStatus[]): Promise<number>;
  getReview(id: number): Promise<ReviewItem | undefined>;
  /** Sets the decision if the item is still in one of `from`; false when it is not. */
  decideReview(
    id: number,
    status: ReviewStatus,
    decision: ReviewDecision,
    by: string,
    at: string,
    from: readonly ReviewStatus[],
  ): Promise<boolean>;

  // Evidence (encrypted uploads)
  putEvidence(record: EvidenceRecord): Promise<void>;
  getEvidence(id: string): Promise<EvidenceRecord | undefined>;
  /** Deletes evidence whose expiry is at or before `now`; returns how many. */
  purgeEvidence(now: string): Promise<number>;

  // Webhooks and their delivery log
  insertWebhook(hook: Omit<WebhookRecord, 'id'>): Promise<WebhookRecord>;
  listWebhooks(): Promise<WebhookRecord[]>;
  deleteWebhook(id: number): Promise<boolean>;
  /** Many deliveries in one transaction (optional: the dispatcher falls back to enqueueDelivery). */
  enqueueDeliveries?(deliveries: DeliveryRecord[]): Promise<void>;
  enqueueDelivery(delivery: DeliveryRecord): Promise<void>;
  /** Pending deliveries due at `now`, oldest first. */
  dueDeliveries(now: string, limit: number): Promise<DeliveryRecord[]>;
  /** Takes a delivery for an attempt (moves its next attempt to `leaseUntil`); false if another took it. */
  claimDelivery(id: string, expectedNextAttempt: string, leaseUntil: string): Promise<boolean>;
  updateDelivery(
    id: string,
    patch: Partial<Omit<DeliveryRecord, 'id' | 'webhookId' | 'event' | 'payload'>>,
  ): Promise<void>;
  listDeliveries(options: { webhookId?: number; status?: DeliveryStatus; limit: number }): Promise<DeliveryRecord[]>;
  // Reports (src/reporting): durable submission state
  /** Inserts a report and its files; undefined when one is already in progress for the same items. */
  insertReport(report: NewReportRecord): Promise<ReportRecord | undefined>;
  getReport(id: number): Promise<ReportRecord | undefined>;
  /** The report in progress (draft or submitted) for a reporter and set of items. */
  activeReport(reporter: string, itemsKey: string): Promise<ReportRecord | undefined>;
  listReports(options: { afterId?: number; limit: number; reviewId?: number }): Promise<ReportRecord[]>;
  /** Applies a patch when the report is still in `expected` state (and in-flight marker, when given); false otherwise. */
  updateReport(
    id: number,
    patch: Partial<Omit<ReportRecord, 'id' | 'reporter' | 'itemsKey' | 'reviewIds' | 'createdAt'>>,
    expected?: { state?: ReportState; inflight?: string | null },
  ): Promise<boolean>;
  reportFiles(reportId: number): Promise<ReportFileRecord[]>;
  updateReportFile(
    reportId: number,
    reviewId: number,
    patch: Partial<Pick<ReportFileRecord, 'state' | 'fileId' | 'md5' | 'details' | 'updatedAt'>>,
  ): Promise<void>;
  /** A reporting setting (`ncmec.profile`, `ncmec.credentials`: sealed), or undefined. */
  getReportSetting(name: string): Promise<string | undefined>;
  putReportSetting(name: string, value: string, at: string): Promise<void>;
  /** Keeps evidence until at least `until` (a reported item's preservation). */
  retainEvidence(ids: readonly string[], until: string): Promise<void>;

  // Hash exchanges (src/exchanges): one collaboration fills one bank.
  insertExchange(
    record: Pick<ExchangeRecord, 'name' | 'type' | 'bank' | 'config' | 'credentials'>,
  ): Promise<ExchangeRecord>;
  getExchange(name: string): Promise<ExchangeRecord | undefined>;
  listExchanges(): Promise<ExchangeRecord[]>;
  /** Forgets a collaboration and what it fetched (its bank stays, with its entries). */
  deleteExchange(name: string): Promise<boolean>;
  /** Applies one fetched page and its checkpoint to the collaboration's bank, in one transaction. */
  applyExchangePage(
    name: string,
    entries: readonly ExchangeEntry[],
    options: { checkpoint: unknown; upToDate: boolean; complete: boolean; firstOfRun: boolean; now?: string },
  ): Promise<PageCounts>;
  /** Records the end of a run: success (lastError null) or its error; `reset` clears the checkpoint (`--full`). */
  updateExchangeRun(
    name: string,
    patch: { lastError?: string | null; success?: boolean; reset?: boolean; at?: string },
  ): Promise<void>;
}
