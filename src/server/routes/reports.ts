/**
 * @module server/routes/reports
 * Reports (analysts; holds: admins): the CyberTipline report of confirmed review items (build
 * with the pre-filled fields for the reviewer to check, then submit or resume), status with the
 * retention, retraction, legal holds, and the UK NCA export with its reference. The same
 * workflow as `ward report` (src/reporting); credentials never appear in any answer.
 */

import type { FastifyInstance } from 'fastify';
import { WardError } from '../../errors.js';
import { buildNcaExport, recordNcaReference } from '../../reporting/nca/export.js';
import { FILE_ANNOTATIONS, INDUSTRY_CLASSIFICATIONS, parseReporterProfile } from '../../reporting/ncmec/builder.js';
import { NCMEC_TEST, NcmecClient } from '../../reporting/ncmec/client.js';
import { loadCredentials, loadProfile, resolveXsd } from '../../reporting/ncmec/runtime.js';
import {
  buildValidated,
  createNcmecReport,
  expiresAt,
  type NcmecReportRequest,
  retractNcmecReport,
  runNcmecReport,
  type SubmitContext,
} from '../../reporting/ncmec/submit.js';
import { retentionOf, setLegalHold } from '../../reporting/preservation.js';
import type { ReportRecord } from '../../store/service.js';
import { type Actor, addRoute, type RoutesOptions, type ServerContext } from '../context.js';
import { ok } from '../http.js';
import { requireChildSafety } from '../review.js';
import { ADMIN, int, obj, READ, str } from './schemas.js';

const reportParams = obj({ id: int(1, Number.MAX_SAFE_INTEGER, { description: 'Report id' }) }, ['id']);
const reviewIdsSchema = {
  type: 'array',
  minItems: 1,
  maxItems: 100,
  uniqueItems: true,
  items: int(1, Number.MAX_SAFE_INTEGER),
};
const choicesSchema = {
  type: 'object',
  additionalProperties: obj({
    industryClassification: { enum: INDUSTRY_CLASSIFICATIONS },
    annotations: { type: 'array', uniqueItems: true, items: { enum: FILE_ANNOTATIONS } },
    fileRelevance: { enum: ['Reported', 'Supplemental Reported'] },
    exifViewedByEsp: { type: 'boolean' },
  }),
};
const ncmecBody = obj(
  {
    reviewIds: reviewIdsSchema,
    reporter: { type: 'object' },
    choices: choicesSchema,
    batched: { type: 'boolean' },
    escalateToHighPriority: str(2000),
  },
  ['reviewIds'],
);

/** A report as the API shows it: its state, files, NCMEC's deletion window and the retention. */
export async function publicReport(ctx: ServerContext, r: ReportRecord) {
  const files = await ctx.store.reportFiles(r.id);
  const { content: _c, options: _o, ...rest } = r;
  return {
    ...rest,
    expiresAt: expiresAt(r)?.toISOString() ?? null,
    files: files.map((f) => ({ reviewId: f.reviewId, state: f.state, fileId: f.fileId })),
    retention: { retainUntil: r.retainUntil, legalHold: r.legalHold },
  };
}

function endpoint(): string {
  return process.env.WARD_NCMEC_ENDPOINT ?? NCMEC_TEST;
}

async function request(ctx: ServerContext, body: Record<string, unknown>): Promise<NcmecReportRequest> {
  const profile = body.reporter !== undefined ? parseReporterProfile(body.reporter) : await loadProfile(ctx.store);
  return {
    profile,
    ...(body.choices ? { choices: body.choices as NcmecReportRequest['choices'] } : {}),
    ...(body.batched ? { batched: true } : {}),
    ...(typeof body.escalateToHighPriority === 'string' ? { escalateToHighPriority: body.escalateToHighPriority } : {}),
  };
}

async function submitContext(ctx: ServerContext, actor: Actor, url = endpoint()): Promise<SubmitContext> {
  const client = new NcmecClient({ endpoint: url, credentials: await loadCredentials(ctx.store) });
  return {
    store: ctx.store,
    actor: actor.principal ? `key:${actor.principal.keyId}` : 'system',
    client,
    xsdPath: await resolveXsd(url, async () => client),
    readBytes: async (item) => {
      const e = item.evidenceId && ctx.evidence ? await ctx.evidence.get(item.evidenceId) : undefined;
      if (!e)
        throw new WardError('WARD_ERR_NOT_FOUND', `No kept copy of review item ${item.id}: it cannot be uploaded`);
      return e.bytes;
    },
  };
}

export async function reportRoutes(app: FastifyInstance, { ctx }: RoutesOptions): Promise<void> {
  // Report contents are child-safety data (issue 14's permission): every report route needs it.
  const route = (doc: Parameters<typeof addRoute>[2], handler: Parameters<typeof addRoute>[3]) =>
    addRoute(app, ctx, doc, (req, reply) => {
      requireChildSafety(req.principal);
      return handler(req, reply);
    });
  const { store } = ctx;

  route(
    {
      method: 'GET',
      url: '/v1/reports',
      summary: 'Reports (CyberTipline and NCA), oldest first; `reviewId` gives one item’s reports and retention',
      tags: ['reports'],
      roles: READ,
      accepts: [],
      querystring: obj({
        afterId: int(0, Number.MAX_SAFE_INTEGER),
        limit: int(1, 500),
        reviewId: int(1, Number.MAX_SAFE_INTEGER),
      }),
    },
    async (req) => {
      const q = req.query as { afterId?: number; limit?: number; reviewId?: number };
      const reports = await store.listReports({
        limit: q.limit ?? 100,
        ...(q.afterId !== undefined ? { afterId: q.afterId } : {}),
        ...(q.reviewId !== undefined ? { reviewId: q.reviewId } : {}),
      });
      const out = [];
      for (const r of reports) out.push(await publicReport(ctx, r));
      return ok({
        reports: out,
        ...(q.reviewId !== undefined ? { retention: await retentionOf(store, q.reviewId) } : {}),
      });
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/reports/:id',
      summary: 'One report: state, remote id, files, NCMEC’s deletion time, retention',
      tags: ['reports'],
      roles: READ,
      accepts: [],
      params: reportParams,
    },
    async (req) => {
      const r = await store.getReport((req.params as { id: number }).id);
      if (!r) throw new WardError('WARD_ERR_NOT_FOUND', 'No such report');
      return ok({ ...(await publicReport(ctx, r)), content: r.content });
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/reports/ncmec/build',
      summary: 'Build (not send) the CyberTipline report: the pre-filled fields and the XML, with schema errors',
      description:
        'For the reviewer to check before submitting: the report XML, one fileDetails per file (placeholder ids), ' +
        'and the schema errors, each naming its element. Nothing is sent.',
      tags: ['reports'],
      roles: READ,
      accepts: ['json'],
      body: ncmecBody,
    },
    async (req) => {
      const body = req.body as Record<string, unknown>;
      const url = endpoint();
      const xsd = await resolveXsd(
        url,
        async () => new NcmecClient({ endpoint: url, credentials: await loadCredentials(store) }),
      );
      const { built, errors, files } = await buildValidated(
        store,
        body.reviewIds as number[],
        await request(ctx, body),
        xsd,
        new Date(),
      );
      await ctx.audit(req, 'report.build', `reviews:${(body.reviewIds as number[]).join(',')}`, {
        valid: errors.length === 0,
      });
      return ok({
        valid: errors.length === 0,
        errors,
        reportXml: built.reportXml,
        files: built.files.map((f, i) => ({
          reviewId: f.reviewId,
          prefilled: files[i],
          fileDetailsXml: f.fileDetailsXml('0', '00000000000000000000000000000000'),
        })),
      });
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/reports/ncmec',
      summary: 'Submit (or resume) the CyberTipline report of confirmed review items',
      description:
        'Creates the report (or finds the one in progress or finished for the same items) and runs it: ' +
        'submit, upload and fileinfo per file, finish. On an error the report stays where it stopped; call again to resume.',
      tags: ['reports'],
      roles: READ,
      accepts: ['json'],
      body: ncmecBody,
    },
    async (req, reply) => {
      const body = req.body as Record<string, unknown>;
      const sctx = await submitContext(ctx, req);
      const rec = await createNcmecReport(sctx, body.reviewIds as number[], await request(ctx, body));
      const done = await runNcmecReport(sctx, rec.id);
      void reply.code(done.state === 'finished' ? 200 : 202);
      return ok(await publicReport(ctx, done));
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/reports/:id/resume',
      summary: 'Resume a CyberTipline report from its recorded step',
      tags: ['reports'],
      roles: READ,
      accepts: [],
      params: reportParams,
    },
    async (req) => {
      const r = await store.getReport((req.params as { id: number }).id);
      if (!r) throw new WardError('WARD_ERR_NOT_FOUND', 'No such report');
      return ok(await publicReport(ctx, await runNcmecReport(await submitContext(ctx, req, r.endpoint), r.id)));
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/reports/:id/retract',
      summary: 'Retract an unfinished CyberTipline report',
      tags: ['reports'],
      roles: READ,
      accepts: [],
      params: reportParams,
    },
    async (req) => {
      const r = await store.getReport((req.params as { id: number }).id);
      if (!r) throw new WardError('WARD_ERR_NOT_FOUND', 'No such report');
      const client = new NcmecClient({ endpoint: r.endpoint, credentials: await loadCredentials(store) });
      const sctx: SubmitContext = {
        store,
        actor: req.principal ? `key:${req.principal.keyId}` : 'system',
        client,
        xsdPath: '',
        readBytes: async () => Buffer.alloc(0),
      };
      return ok(await publicReport(ctx, await retractNcmecReport(sctx, r.id)));
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/reports/:id/hold',
      summary: 'Place or release a legal hold (evidence and contents kept past the retention; audited)',
      tags: ['reports'],
      roles: ADMIN,
      accepts: ['json'],
      params: reportParams,
      body: obj({ hold: { type: 'boolean' } }, ['hold']),
    },
    async (req) => {
      const actor = req.principal ? `key:${req.principal.keyId}` : 'system';
      const r = await setLegalHold(
        { store, actor },
        (req.params as { id: number }).id,
        (req.body as { hold: boolean }).hold,
      );
      return ok(await publicReport(ctx, r));
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/reports/nca',
      summary: 'The UK NCA report contents (Schedule 1) of confirmed review items, for the NCA portal',
      tags: ['reports'],
      roles: READ,
      accepts: ['json'],
      body: obj({ reviewIds: reviewIdsSchema, reporter: { type: 'object' }, priority: { enum: ['P1', 'P2', 'P3'] } }, [
        'reviewIds',
      ]),
    },
    async (req, reply) => {
      const body = req.body as { reviewIds: number[]; reporter?: unknown; priority?: string };
      const profile = body.reporter !== undefined ? parseReporterProfile(body.reporter) : await loadProfile(store);
      const exp = await buildNcaExport(
        { store, actor: req.principal ? `key:${req.principal.keyId}` : 'system' },
        body.reviewIds,
        { profile, ...(body.priority ? { priority: body.priority } : {}) },
      );
      void reply.code(201);
      return ok({ ...(await publicReport(ctx, exp.record)), contents: exp.contents });
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/reports/:id/reference',
      summary: 'Record the NCA reference number of an NCA report (kept five years)',
      tags: ['reports'],
      roles: READ,
      accepts: ['json'],
      params: reportParams,
      body: obj({ reference: str(100, { minLength: 1 }) }, ['reference']),
    },
    async (req) => {
      const r = await recordNcaReference(
        { store, actor: req.principal ? `key:${req.principal.keyId}` : 'system' },
        (req.params as { id: number }).id,
        (req.body as { reference: string }).reference,
      );
      return ok(await publicReport(ctx, r));
    },
  );
}
