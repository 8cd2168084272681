/**
 * @module reporting/nca/export
 * UK NCA reports (Online Safety Act 2023 s.66; The Online Safety (CSEA Content Reporting by
 * Regulated User-to-User Service Providers) Regulations 2026, SI 2026/268, in force 7 April 2026).
 * The NCA publishes no API, so this is a structured export of the report contents (JSON, and a
 * printable HTML summary) for its portal, kept as a report record: the contents one year, the NCA
 * reference (recorded afterwards) five years. The priority (P1: immediately; P2: as soon as
 * reasonably practicable; P3: without undue delay) is part of it. Content already reported to
 * NCMEC needs no NCA report (the Act's "unreported" rule): the export says so per item.
 *
 * The field list follows the outline of Schedule 1 (paragraphs 1–7). It has NOT yet been checked
 * line by line against legislation.gov.uk/uksi/2026/268/schedule/1/made: do that before relying
 * on it (docs/reporting.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WardError } from '../../errors.js';
import type { ReportRecord, ServiceStore } from '../../store/service.js';
import { aiInfo, type ReporterProfile, reportFileOf } from '../ncmec/builder.js';
import { confirmedItems, itemsKey, viewedReviews } from '../ncmec/submit.js';

export const NCA_PRIORITIES = {
  P1: 'Immediately (an immediate threat to the life of a child, or of serious harm to a child)',
  P2: 'As soon as reasonably practicable',
  P3: 'Without undue delay',
} as const;
export type NcaPriority = keyof typeof NCA_PRIORITIES;

export const CONTENT_RETENTION_DAYS = 365;
export const REFERENCE_RETENTION_YEARS = 5;

export interface NcaContext {
  store: ServiceStore;
  actor: string;
  now?: () => Date;
}

export interface NcaExport {
  record: ReportRecord;
  contents: Record<string, unknown>;
}

function html(s: unknown): string {
  return String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export async function buildNcaExport(
  ctx: NcaContext,
  reviewIds: readonly number[],
  options: { profile: ReporterProfile; priority?: string },
): Promise<NcaExport> {
  const now = (ctx.now ?? (() => new Date()))();
  const priority = (options.priority ?? 'P2').toUpperCase();
  if (!(priority in NCA_PRIORITIES)) throw new WardError('WARD_ERR_USAGE', '--priority is P1, P2 or P3');
  const items = await confirmedItems(ctx.store, reviewIds);
  const viewed = await viewedReviews(ctx.store, reviewIds);
  const ncmec = new Map<number, string[]>();
  for (const i of items) {
    const reports = await ctx.store.listReports({ reviewId: i.id, limit: 100 });
    ncmec.set(
      i.id,
      reports.filter((r) => r.reporter === 'ncmec' && r.state === 'finished').map((r) => r.remoteId as string),
    );
  }
  const p = options.profile.reportingPerson;
  const contents = {
    format: 'ward-nca-report/1',
    regulations: 'SI 2026/268, Schedule 1 (outline; verify against legislation.gov.uk before relying on it)',
    createdAt: now.toISOString(),
    priority: { level: priority, deadline: NCA_PRIORITIES[priority as NcaPriority] },
    requiredByNca: items.some((i) => (ncmec.get(i.id) ?? []).length === 0),
    authorisedPerson: { firstName: p.firstName, lastName: p.lastName, email: p.email, phone: p.phone ?? null },
    content: items.map((i) => {
      const f = reportFileOf(i, viewed.has(i.id));
      const s = i.report.signals as Record<string, unknown>;
      const upload = f.metadata.uploader?.ipCaptureEvents?.find((e) => e.eventName === 'Upload');
      return {
        reviewId: i.id,
        fileName: i.name,
        howDetected: i.report.reasons.map((r) => r.message),
        confirmedBy: i.decidedBy,
        viewedByPerson: f.viewedByPerson,
        uploadedAt: f.metadata.uploadedAt ?? null,
        uploadIp: upload?.ipAddress ?? null,
        uploadPort: upload?.port ?? null,
        url: f.metadata.url ?? null,
        exif: null,
        hashes: { md5: s.md5 ?? null, sha1: s.sha1 ?? null, sha256: s.sha256 ?? null, pdq: s.pdq ?? null },
        previouslyReported: { ncmecReportIds: ncmec.get(i.id) ?? [] },
        alreadyReportedToNcmec: (ncmec.get(i.id) ?? []).length > 0,
        user: f.metadata.uploader ?? null,
        identityDocuments: null,
        otherInformation: aiInfo(f) ?? null,
      };
    }),
    declaration:
      'I declare that all the information reasonably available to the provider has been included in this report. (To be confirmed by the authorised person in the NCA portal.)',
  };
  const at = now.toISOString();
  const record = await ctx.store.insertReport({
    reporter: 'nca',
    itemsKey: itemsKey(reviewIds),
    reviewIds: items.map((i) => i.id),
    state: 'exported',
    inflight: null,
    endpoint: '',
    remoteId: null,
    content: JSON.stringify(contents),
    options: { priority },
    createdAt: at,
    updatedAt: at,
    openedAt: null,
    lastChangeAt: null,
    finishedAt: at,
    retainUntil: new Date(now.getTime() + CONTENT_RETENTION_DAYS * 86_400_000).toISOString(),
    legalHold: false,
    history: [],
    lastError: null,
    externalReference: null,
  });
  if (!record) throw new WardError('WARD_ERR_INTERNAL', 'The NCA export could not be recorded');
  await ctx.store.retainEvidence(
    items.map((i) => i.evidenceId).filter((e): e is string => e !== null),
    record.retainUntil,
  );
  await ctx.store.appendAudit(
    {
      actor: ctx.actor,
      action: 'report.nca-export',
      target: `report:${record.id}`,
      details: { reviews: record.reviewIds, priority, requiredByNca: contents.requiredByNca },
    },
    now,
  );
  return { record, contents };
}

/** Writes `nca-report-<id>.json` and `nca-report-<id>.html` into `dir`; returns the paths. */
export function writeNcaExport(e: NcaExport, dir: string): string[] {
  try {
    mkdirSync(dir, { recursive: true });
  } catch {
    throw new WardError('WARD_ERR_OUTPUT', `Cannot create ${dir}`);
  }
  const c = e.contents as {
    priority: { level: string; deadline: string };
    requiredByNca: boolean;
    authorisedPerson: Record<string, unknown>;
    content: Record<string, unknown>[];
    declaration: string;
    regulations: string;
  };
  const json = join(dir, `nca-report-${e.record.id}.json`);
  const page = join(dir, `nca-report-${e.record.id}.html`);
  const rows = (o: Record<string, unknown>) =>
    Object.entries(o)
      .map(
        ([k, v]) =>
          `<tr><th>${html(k)}</th><td>${html(typeof v === 'object' && v !== null ? JSON.stringify(v) : v)}</td></tr>`,
      )
      .join('');
  writeFileSync(json, `${JSON.stringify(e.contents, null, 2)}\n`);
  writeFileSync(
    page,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>NCA report ${e.record.id}</title>
<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}th,td{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}</style></head><body>
<h1>CSEA report for the NCA (Ward report ${e.record.id})</h1>
<p>${html(c.regulations)}</p>
<p><strong>Priority ${html(c.priority.level)}:</strong> ${html(c.priority.deadline)}</p>
${c.requiredByNca ? '' : '<p><strong>Every item was already reported to NCMEC: no NCA report is required for it.</strong></p>'}
<h2>1. Authorised person</h2><table>${rows(c.authorisedPerson)}</table>
${c.content.map((x, i) => `<h2>2–6. Content ${i + 1}</h2><table>${rows(x)}</table>`).join('\n')}
<h2>7. Declaration</h2><p>${html(c.declaration)}</p>
<p>Retained until ${html(e.record.retainUntil)}. The NCA reference is kept ${REFERENCE_RETENTION_YEARS} years once recorded.</p>
</body></html>\n`,
  );
  return [json, page];
}

/** Records the NCA's reference (URN) for an export; kept five years. */
export async function recordNcaReference(ctx: NcaContext, id: number, reference: string): Promise<ReportRecord> {
  const now = (ctx.now ?? (() => new Date()))();
  const r = await ctx.store.getReport(id);
  if (!r) throw new WardError('WARD_ERR_NOT_FOUND', `No report ${id}`);
  if (r.reporter !== 'nca') throw new WardError('WARD_ERR_REPORT_STATE', `Report ${id} is not an NCA report`);
  const ref = reference.trim();
  if (!/^[\w./-]{1,100}$/.test(ref))
    throw new WardError('WARD_ERR_USAGE', 'The NCA reference is 1–100 letters, digits, . / - _');
  const keep = new Date(now);
  keep.setUTCFullYear(keep.getUTCFullYear() + REFERENCE_RETENTION_YEARS);
  await ctx.store.updateReport(id, {
    externalReference: ref,
    options: { ...r.options, referenceRetainUntil: keep.toISOString() },
    updatedAt: now.toISOString(),
  });
  await ctx.store.appendAudit(
    { actor: ctx.actor, action: 'report.nca-reference', target: `report:${id}`, details: { reference: ref } },
    now,
  );
  return (await ctx.store.getReport(id)) as ReportRecord;
}
