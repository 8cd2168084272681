/**
 * @module reporting/ncmec/submit
 * Submission as a durable state machine in the database:
 *
 *   draft ──submit──► submitted(reportId) ──per file: upload (fileId, MD5 checked) ──► fileinfo──►
 *         ──finish──► finished            (or ──retract──► retracted)
 *
 * Every step is written before and after its remote call (`inflight` names the call under way),
 * so a rerun after a crash or an error resumes from the recorded step and never opens a second
 * report for the same items. When a crash leaves the outcome of a call unknown:
 * - `submit`: a report may be open at NCMEC with no files; it cannot be named (the answer was
 *   lost), so it is left to NCMEC's auto-deletion and the audit log says so; a new one is opened.
 * - `upload` / `fileinfo`: the remote report may hold a file Ward does not know of; it is
 *   retracted (abandoned) and a new one opened, so the finished report has exactly Ward's files.
 * - `finish`: finish is sent again (5102 "already finished" means it was).
 * NCMEC deletes an unfinished report 24 h after opening or 1 h after its last change (whichever
 * is later); Ward knows the window, and an expired report (or a 5001 answer) is re-opened cleanly
 * with an audit record.
 */
import { createHash } from 'node:crypto';
import { WardError } from '../../errors.js';
import type { ReportRecord, ReviewItem, ServiceStore } from '../../store/service.js';
import {
  type BuildOptions,
  buildNcmecReport,
  type FileChoices,
  type IncidentType,
  type ReportAnnotation,
  type ReporterProfile,
  reportFileOf,
} from './builder.js';
import { isRemoteCode, type NcmecClient } from './client.js';
import { formatSchemaErrors, validateBuilt } from './validate.js';

export const REPORTER_NAME = 'ncmec';
export const RETENTION_DAYS = 365;
const DAY = 86_400_000;
const HOUR = 3_600_000;

export interface ReportContext {
  store: ServiceStore;
  /** The actor in audit records: `cli`, `key:<id>`. */
  actor: string;
  now?: () => Date;
}

export interface SubmitContext extends ReportContext {
  client: NcmecClient;
  xsdPath: string;
  /** The bytes of a review item as received (the evidence store). */
  readBytes: (item: ReviewItem) => Promise<Buffer>;
}

export interface NcmecReportRequest {
  profile: ReporterProfile;
  incidentType?: IncidentType;
  reportAnnotations?: ReportAnnotation[];
  escalateToHighPriority?: string;
  batched?: boolean;
  /** Per review item: the reviewer's checked choices. */
  choices?: Record<string, FileChoices>;
}

/** The key of a set of review items (sorted ids). */
export function itemsKey(ids: readonly number[]): string {
  return [...new Set(ids)].sort((a, b) => a - b).join(',');
}

async function audit(ctx: ReportContext, action: string, id: number, details: Record<string, unknown>): Promise<void> {
  await ctx.store.appendAudit(
    { actor: ctx.actor, action, target: `report:${id}`, details },
    (ctx.now ?? (() => new Date()))(),
  );
}

/**
 * Review items a person viewed or revealed (`evidence.view`, `evidence.reveal` in the audit log:
 * the UI's reveal of blurred media is audited too).
 */
export async function viewedReviews(store: ServiceStore, ids: readonly number[]): Promise<Set<number>> {
  const want = new Set(ids.map((i) => `review:${i}`));
  const seen = new Set<number>();
  for (const action of ['evidence.view', 'evidence.reveal']) {
    let after = 0;
    for (;;) {
      const page = await store.listAudit({ afterSeq: after, limit: 1000, action });
      for (const r of page) if (want.has(r.target)) seen.add(Number(r.target.slice(7)));
      if (page.length < 1000) break;
      after = page[page.length - 1]?.seq ?? after;
    }
  }
  return seen;
}

export async function confirmedItems(store: ServiceStore, ids: readonly number[]): Promise<ReviewItem[]> {
  if (ids.length === 0) throw new WardError('WARD_ERR_USAGE', 'Name at least one review item');
  const items: ReviewItem[] = [];
  for (const id of [...new Set(ids)].sort((a, b) => a - b)) {
    const item = await store.getReview(id);
    if (!item) throw new WardError('WARD_ERR_NOT_FOUND', `No review item ${id}`);
    if (item.status !== 'confirmed') {
      throw new WardError(
        'WARD_ERR_REPORT_STATE',
        `Review item ${id} is ${item.status}: only confirmed items are reported`,
      );
    }
    items.push(item);
  }
  return items;
}

/** Builds and validates (schema, then rules); throws WARD_ERR_REPORT_INVALID with the errors. */
export async function buildValidated(
  store: ServiceStore,
  ids: readonly number[],
  req: NcmecReportRequest,
  xsdPath: string,
  now: Date,
) {
  const items = await confirmedItems(store, ids);
  const viewed = await viewedReviews(store, ids);
  const files = items.map((i) => reportFileOf(i, viewed.has(i.id), req.choices?.[String(i.id)] ?? {}));
  const options: BuildOptions = {
    profile: req.profile,
    now,
    ...(req.incidentType ? { incidentType: req.incidentType } : {}),
    ...(req.reportAnnotations ? { reportAnnotations: req.reportAnnotations } : {}),
    ...(req.escalateToHighPriority ? { escalateToHighPriority: req.escalateToHighPriority } : {}),
    ...(req.batched ? { batched: true } : {}),
  };
  const built = buildNcmecReport(files, options);
  const errors = await validateBuilt(built, xsdPath);
  return { items, files, built, errors, options };
}

/** Opens (or finds, when one is in progress for the same items) the report record: no remote call. */
export async function createNcmecReport(
  ctx: SubmitContext,
  ids: readonly number[],
  req: NcmecReportRequest,
): Promise<ReportRecord> {
  const now = (ctx.now ?? (() => new Date()))();
  const key = itemsKey(ids);
  const active = await ctx.store.activeReport(REPORTER_NAME, key);
  if (active) return active;
  // Already reported (finished) for exactly these items: that report, never a second one.
  const first = Number(key.split(',')[0]);
  const done = (await ctx.store.listReports({ reviewId: first, limit: 1000 })).find(
    (r) => r.reporter === REPORTER_NAME && r.itemsKey === key && r.state === 'finished',
  );
  if (done) return done;
  const { built, errors } = await buildValidated(ctx.store, ids, req, ctx.xsdPath, now);
  if (errors.length > 0) {
    throw new WardError(
      'WARD_ERR_REPORT_INVALID',
      `The report does not pass the schema; nothing was sent:\n${errors.map((e) => `${e.document}: ${formatSchemaErrors(e.errors)}`).join('\n')}`,
      { errors },
    );
  }
  const at = now.toISOString();
  const record = await ctx.store.insertReport({
    reporter: REPORTER_NAME,
    itemsKey: key,
    reviewIds: key.split(',').map(Number),
    state: 'draft',
    inflight: null,
    endpoint: ctx.client.endpoint,
    remoteId: null,
    content: built.reportXml,
    options: req as unknown as Record<string, unknown>,
    createdAt: at,
    updatedAt: at,
    openedAt: null,
    lastChangeAt: null,
    finishedAt: null,
    retainUntil: new Date(now.getTime() + RETENTION_DAYS * DAY).toISOString(),
    legalHold: false,
    history: [],
    lastError: null,
    externalReference: null,
  });
  const rec = record ?? (await ctx.store.activeReport(REPORTER_NAME, key));
  if (!rec) throw new WardError('WARD_ERR_CONFLICT', 'The report was created and ended by someone else meanwhile');
  if (record) {
    await audit(ctx, 'report.create', rec.id, {
      reporter: REPORTER_NAME,
      reviews: rec.reviewIds,
      endpoint: rec.endpoint,
    });
    // Preservation: the reported items' evidence is kept at least as long as the report.
    const items = await confirmedItems(ctx.store, rec.reviewIds);
    await ctx.store.retainEvidence(
      items.map((i) => i.evidenceId).filter((e): e is string => e !== null),
      rec.retainUntil,
    );
  }
  return rec;
}

/** When NCMEC deletes this report unless it is finished. */
export function expiresAt(r: ReportRecord): Date | undefined {
  if (r.state !== 'submitted' || !r.openedAt) return undefined;
  return new Date(Math.max(Date.parse(r.openedAt) + 24 * HOUR, Date.parse(r.lastChangeAt ?? r.openedAt) + HOUR));
}

async function reopen(ctx: SubmitContext, r: ReportRecord, ended: 'expired' | 'retracted', why: string): Promise<void> {
  const at = (ctx.now ?? (() => new Date()))().toISOString();
  const history = [...r.history, { remoteId: r.remoteId, ended, at }];
  await ctx.store.updateReport(r.id, {
    state: 'draft',
    inflight: null,
    remoteId: null,
    openedAt: null,
    lastChangeAt: null,
    history,
    updatedAt: at,
  });
  for (const f of await ctx.store.reportFiles(r.id)) {
    await ctx.store.updateReportFile(r.id, f.reviewId, {
      state: 'pending',
      fileId: null,
      md5: null,
      details: null,
      updatedAt: at,
    });
  }
  await audit(ctx, ended === 'expired' ? 'report.expired' : 'report.abandoned', r.id, {
    remoteId: r.remoteId,
    reason: why,
    reopened: true,
  });
}

function definite(e: unknown): boolean {
  // An answer with an error code: the call did not take effect. Anything else (unreachable,
  // timed out, a malformed answer) leaves its outcome unknown.
  return WardError.is(e) && e.code === 'WARD_ERR_REPORT_REJECTED' && e.details.httpStatus !== undefined;
}

/**
 * Runs a report to its end from wherever it stands: resumes after a crash or an error, re-opens
 * an expired report, retracts an abandoned one. Throws the error of a failing step (the record
 * says where it stopped; run again to resume).
 */
export async function runNcmecReport(ctx: SubmitContext, id: number): Promise<ReportRecord> {
  const clock = ctx.now ?? (() => new Date());
  for (let guard = 0; guard < 10_000; guard++) {
    const r = await ctx.store.getReport(id);
    if (!r) throw new WardError('WARD_ERR_NOT_FOUND', `No report ${id}`);
    if (r.reporter !== REPORTER_NAME)
      throw new WardError('WARD_ERR_REPORT_STATE', `Report ${id} is not a CyberTipline report`);
    if (r.state === 'finished' || r.state === 'retracted' || r.state === 'exported') return r;
    const now = clock();
    const exp = expiresAt(r);
    if (exp && now.getTime() >= exp.getTime() && r.inflight !== 'finish') {
      await reopen(
        ctx,
        r,
        'expired',
        `NCMEC deletes unfinished reports 24 h after opening or 1 h after the last change (${exp.toISOString()})`,
      );
      continue;
    }
    const step = async <T>(inflight: string, fn: () => Promise<T>): Promise<T> => {
      if (
        !(await ctx.store.updateReport(
          r.id,
          { inflight, updatedAt: clock().toISOString() },
          { state: r.state, inflight: r.inflight },
        ))
      ) {
        throw new WardError('WARD_ERR_CONFLICT', `Report ${id} is being submitted by another process`);
      }
      try {
        return await fn();
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (definite(e))
          await ctx.store.updateReport(r.id, { inflight: null, lastError: msg, updatedAt: clock().toISOString() });
        else await ctx.store.updateReport(r.id, { lastError: msg, updatedAt: clock().toISOString() });
        await audit(ctx, 'report.error', r.id, { step: inflight, error: msg.slice(0, 500), outcomeKnown: definite(e) });
        throw e;
      }
    };
    // A call whose outcome is unknown (the process stopped or the answer was lost).
    if (r.inflight !== null) {
      if (r.inflight === 'submit') {
        await ctx.store.updateReport(r.id, { inflight: null, updatedAt: now.toISOString() });
        await audit(ctx, 'report.submit-uncertain', r.id, {
          note: 'An earlier /submit may have opened a report at NCMEC without files; it is left to NCMEC auto-deletion and a new one is opened',
        });
        continue;
      }
      if (r.inflight.startsWith('upload:') || r.inflight.startsWith('fileinfo:')) {
        if (r.remoteId) {
          try {
            await ctx.client.retract(r.remoteId);
          } catch (e) {
            if (!isRemoteCode(e, 5001, 5101)) throw e;
          }
        }
        await reopen(ctx, r, 'retracted', `the outcome of ${r.inflight.split(':')[0]} is unknown`);
        continue;
      }
      if (r.inflight === 'retract') {
        await retractNcmecReport(ctx, id);
        continue;
      }
      // finish: send it again below.
    }
    if (r.state === 'draft') {
      {
        const remoteId = await step('submit', () => ctx.client.submit(r.content));
        const at = clock().toISOString();
        await ctx.store.updateReport(r.id, {
          state: 'submitted',
          inflight: null,
          remoteId,
          openedAt: at,
          lastChangeAt: at,
          lastError: null,
          updatedAt: at,
        });
        await audit(ctx, 'report.submit', r.id, {
          remoteId,
          endpoint: r.endpoint,
          requestId: ctx.client.lastRequestId,
        });
      }
      continue;
    }
    // submitted: files in order, then finish.
    const files = await ctx.store.reportFiles(r.id);
    const next = files.find((f) => f.state !== 'fileinfo');
    const remoteId = r.remoteId as string;
    try {
      if (next && r.inflight !== 'finish') {
        const item = await ctx.store.getReview(next.reviewId);
        if (!item) throw new WardError('WARD_ERR_NOT_FOUND', `No review item ${next.reviewId}`);
        if (next.state === 'pending') {
          const bytes = await ctx.readBytes(item);
          const md5 = createHash('md5').update(bytes).digest('hex');
          const received = (item.report.signals as Record<string, unknown>).md5;
          if (typeof received === 'string' && received !== md5) {
            throw new WardError(
              'WARD_ERR_EVIDENCE_UNREADABLE',
              `The kept copy of review item ${item.id} is not the file as received (MD5 differs)`,
            );
          }
          const up = await step(`upload:${item.id}`, () =>
            ctx.client.upload(remoteId, item.name ?? `review-${item.id}`, bytes),
          );
          const at = clock().toISOString();
          await ctx.store.updateReportFile(r.id, item.id, {
            state: 'uploaded',
            fileId: up.fileId,
            md5: up.md5,
            updatedAt: at,
          });
          await ctx.store.updateReport(r.id, { inflight: null, lastChangeAt: at, lastError: null, updatedAt: at });
          await audit(ctx, 'report.upload', r.id, {
            review: item.id,
            fileId: up.fileId,
            md5: up.md5,
            requestId: ctx.client.lastRequestId,
          });
        } else {
          const { built } = await buildValidated(
            ctx.store,
            [item.id],
            r.options as unknown as NcmecReportRequest,
            ctx.xsdPath,
            new Date(r.createdAt),
          );
          const xml = (built.files[0] as { fileDetailsXml: (a: string, b: string) => string }).fileDetailsXml(
            remoteId,
            next.fileId as string,
          );
          await step(`fileinfo:${item.id}`, () => ctx.client.fileinfo(xml));
          const at = clock().toISOString();
          await ctx.store.updateReportFile(r.id, item.id, { state: 'fileinfo', details: xml, updatedAt: at });
          await ctx.store.updateReport(r.id, { inflight: null, lastChangeAt: at, lastError: null, updatedAt: at });
          await audit(ctx, 'report.fileinfo', r.id, {
            review: item.id,
            fileId: next.fileId,
            requestId: ctx.client.lastRequestId,
          });
        }
        continue;
      }
      let held: string[];
      try {
        held = await step('finish', () => ctx.client.finish(remoteId));
      } catch (e) {
        if (!isRemoteCode(e, 5102)) throw e;
        held = files.map((f) => f.fileId as string);
      }
      const ours = files.map((f) => f.fileId as string).sort();
      const theirs = [...held].sort();
      const at = clock().toISOString();
      await ctx.store.updateReport(r.id, {
        state: 'finished',
        inflight: null,
        finishedAt: at,
        lastError: null,
        updatedAt: at,
      });
      await audit(ctx, 'report.finish', r.id, {
        remoteId,
        files: ours.length,
        filesConfirmed: JSON.stringify(ours) === JSON.stringify(theirs),
        requestId: ctx.client.lastRequestId,
      });
    } catch (e) {
      if (isRemoteCode(e, 5001)) {
        await reopen(
          ctx,
          (await ctx.store.getReport(id)) as ReportRecord,
          'expired',
          'NCMEC answered 5001: no such report',
        );
        continue;
      }
      if (isRemoteCode(e, 5101)) {
        const at = clock().toISOString();
        await ctx.store.updateReport(r.id, { state: 'retracted', inflight: null, updatedAt: at });
        await audit(ctx, 'report.retracted-remotely', r.id, { remoteId });
        continue;
      }
      throw e;
    }
  }
  throw new WardError('WARD_ERR_INTERNAL', `Report ${id} did not settle`);
}

/** Retracts a report (an unfinished one only: NCMEC cannot retract a finished report). */
export async function retractNcmecReport(ctx: SubmitContext, id: number): Promise<ReportRecord> {
  const clock = ctx.now ?? (() => new Date());
  const r = await ctx.store.getReport(id);
  if (!r) throw new WardError('WARD_ERR_NOT_FOUND', `No report ${id}`);
  if (r.state === 'retracted') return r;
  if (r.state === 'finished' || r.state === 'exported') {
    throw new WardError('WARD_ERR_REPORT_STATE', `Report ${id} is ${r.state}: it cannot be retracted`);
  }
  if (r.remoteId) {
    await ctx.store.updateReport(r.id, { inflight: 'retract', updatedAt: clock().toISOString() });
    try {
      await ctx.client.retract(r.remoteId);
    } catch (e) {
      if (isRemoteCode(e, 5102)) {
        await ctx.store.updateReport(r.id, { state: 'finished', inflight: null, updatedAt: clock().toISOString() });
        throw new WardError(
          'WARD_ERR_REPORT_STATE',
          `Report ${id} was already finished at NCMEC: it cannot be retracted`,
        );
      }
      if (!isRemoteCode(e, 5101, 5001)) throw e;
    }
  }
  const at = clock().toISOString();
  await ctx.store.updateReport(r.id, { state: 'retracted', inflight: null, updatedAt: at });
  await audit(ctx, 'report.retract', r.id, { remoteId: r.remoteId, requestId: ctx.client.lastRequestId });
  return (await ctx.store.getReport(id)) as ReportRecord;
}
