/**
 * @module reporting/preservation
 * Preservation of reported items: a report's contents and its items' evidence are kept at least
 * 365 days from the report (18 U.S.C. §2258A(h); OSA reporting regulations: one year), the NCA
 * reference five years. A legal hold keeps them past that whatever the purge job says; placing
 * and releasing a hold are audited.
 */
import { WardError } from '../errors.js';
import type { ReportRecord, ServiceStore } from '../store/service.js';

export interface HoldContext {
  store: ServiceStore;
  actor: string;
}

export async function setLegalHold(ctx: HoldContext, id: number, hold: boolean): Promise<ReportRecord> {
  const r = await ctx.store.getReport(id);
  if (!r) throw new WardError('WARD_ERR_NOT_FOUND', `No report ${id}`);
  if (r.legalHold !== hold) {
    await ctx.store.updateReport(id, { legalHold: hold, updatedAt: new Date().toISOString() });
    await ctx.store.appendAudit({
      actor: ctx.actor,
      action: hold ? 'report.hold' : 'report.hold-release',
      target: `report:${id}`,
      details: { retainUntil: r.retainUntil },
    });
  }
  return (await ctx.store.getReport(id)) as ReportRecord;
}

/** The retention a review item is under: the latest retainUntil of its reports, and any hold. */
export async function retentionOf(
  store: ServiceStore,
  reviewId: number,
): Promise<{ retainUntil: string | null; legalHold: boolean; reports: number[] }> {
  const reports = await store.listReports({ reviewId, limit: 1000 });
  const until =
    reports
      .map((r) => r.retainUntil)
      .sort()
      .at(-1) ?? null;
  return { retainUntil: until, legalHold: reports.some((r) => r.legalHold), reports: reports.map((r) => r.id) };
}
