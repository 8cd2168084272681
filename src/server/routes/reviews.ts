/**
 * @module server/routes/reviews
 * The review queue (analysts): list, one item, its evidence (audited), decisions. The workflow
 * itself (queueing, decisions, confirm into a bank, dismiss into a negative bank) is server/review.
 */
import type { FastifyInstance } from 'fastify';
import { WardError } from '../../errors.js';
import { REVIEW_STATUSES, type ReviewItem, type ReviewStatus } from '../../store/service.js';
import { addRoute, type RoutesOptions } from '../context.js';
import { ok } from '../http.js';
import { type DecisionRequest, decideReview, getReview, requireChildSafety, reviewFor } from '../review.js';
import { idParams, int, obj, READ, REVIEW_ITEM, str } from './schemas.js';

/** The review queue: list, item, evidence, decisions (the workflow is server/review). */
export async function reviewRoutes(app: FastifyInstance, { ctx }: RoutesOptions): Promise<void> {
  const route = (doc: Parameters<typeof addRoute>[2], handler: Parameters<typeof addRoute>[3]) =>
    addRoute(app, ctx, doc, handler);
  const { store } = ctx;
  route(
    {
      method: 'GET',
      url: '/v1/reviews',
      summary: 'The review queue (open and escalated items by default), oldest first',
      tags: ['reviews'],
      roles: READ,
      accepts: [],
      querystring: obj({
        status: { enum: [...REVIEW_STATUSES, 'queue', 'all'], default: 'queue' },
        after: int(0, Number.MAX_SAFE_INTEGER),
        limit: int(1, 200, { default: 50 }),
      }),
      response: {
        200: obj({
          items: { type: 'array', items: REVIEW_ITEM },
          next: { type: ['integer', 'null'] },
          total: { type: 'integer' },
        }),
      },
    },
    async (req) => {
      const q = req.query as { status?: string; after?: number; limit?: number };
      const status = q.status ?? 'queue';
      const statuses: ReviewStatus[] =
        status === 'queue' ? ['open', 'escalated'] : status === 'all' ? [...REVIEW_STATUSES] : [status as ReviewStatus];
      const limit = q.limit ?? 50;
      const items = await store.listReviews({ statuses, afterId: q.after ?? 0, limit });
      return ok({
        items: items.map((i) => reviewFor(i, ctx.evidence !== undefined, req.principal)),
        next: items.length === limit ? (items[items.length - 1] as ReviewItem).id : null,
        total: await store.countReviews(statuses),
      });
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/reviews/:id',
      summary: 'One review item with every finding',
      tags: ['reviews'],
      roles: READ,
      accepts: [],
      params: idParams,
      response: { 200: REVIEW_ITEM },
    },
    async (req) => {
      const item = await getReview(ctx, (req.params as { id: number }).id);
      const shown = reviewFor(item, ctx.evidence !== undefined, req.principal);
      if (shown.evidence.available && item.evidenceId && !(await ctx.evidence?.readable(item.evidenceId))) {
        // Another key, or an altered row: the item says so (the evidence route answers 500).
        shown.evidence = { available: false, reason: 'The kept copy cannot be decrypted (another key, or altered)' };
      }
      return ok(shown);
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/reviews/:id/evidence',
      summary: 'The kept copy of a review item (decrypted; evidence store only)',
      description:
        'Needs the child-safety data permission (403 without). Every view is written to the audit log ' +
        '(`evidence.view`, target `review:<id>`).',
      tags: ['reviews'],
      roles: READ,
      accepts: [],
      params: idParams,
      produces: ['image/*', 'application/octet-stream'],
    },
    async (req, reply) => {
      requireChildSafety(req.principal);
      const item = await getReview(ctx, (req.params as { id: number }).id);
      if (!ctx.evidence) {
        throw new WardError('WARD_ERR_NOT_FOUND', 'The evidence store is disabled: Ward keeps no copy of uploads');
      }
      const found = item.evidenceId ? await ctx.evidence.get(item.evidenceId) : undefined;
      if (!found) throw new WardError('WARD_ERR_NOT_FOUND', 'No copy of this item is kept (never kept, or purged)');
      await ctx.audit(req, 'evidence.view', `review:${item.id}`, { size: found.bytes.length });
      void reply
        .type(found.mediaType ?? 'application/octet-stream')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('content-disposition', 'inline')
        .header('referrer-policy', 'no-referrer');
      return reply.send(found.bytes);
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/reviews/:id/evidence/reveal',
      summary: 'Record that a reviewer revealed (unblurred) the kept copy of a review item',
      description:
        'Needs the child-safety data permission (403 without). Writes `evidence.reveal`, target ' +
        '`review:<id>`, to the audit log: with `evidence.view`, what a report’s “file viewed by the ' +
        'ESP” is filled from (`GET /v1/audit?action=evidence.reveal&target=review:<id>`). The UI ' +
        'calls it before it unblurs an image, and does not unblur when it fails.',
      tags: ['reviews'],
      roles: READ,
      accepts: ['json'],
      params: idParams,
      body: obj({ ms: int(0, 3_600_000) }),
      response: { 200: obj({ revealed: { type: 'integer' }, at: { type: 'string' } }) },
    },
    async (req) => {
      requireChildSafety(req.principal);
      const item = await getReview(ctx, (req.params as { id: number }).id);
      if (!ctx.evidence || !item.evidenceId || !(await ctx.evidence.get(item.evidenceId))) {
        throw new WardError('WARD_ERR_NOT_FOUND', 'No copy of this item is kept (never kept, or purged)');
      }
      const ms = (req.body as { ms?: number } | undefined)?.ms;
      await ctx.audit(req, 'evidence.reveal', `review:${item.id}`, ms === undefined ? {} : { ms });
      return ok({ revealed: item.id, at: new Date().toISOString() });
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/reviews/:id/decision',
      summary: 'Decide a review item: confirm, dismiss or escalate',
      description:
        'confirm: adds the item’s signals (PDQ when strong enough, MD5, SHA-1, SHA-256) to `bank` (a block ' +
        'bank). dismiss: optionally adds them to `bank`, a negative bank (known false positives). escalate: ' +
        'keeps it in the queue, marked for a second look. Written to the audit log.',
      tags: ['reviews'],
      roles: READ,
      accepts: ['json'],
      params: idParams,
      body: obj(
        {
          action: { enum: ['confirm', 'dismiss', 'escalate'] },
          bank: str(64),
          labels: { type: 'array', maxItems: 32, items: str(128, { minLength: 1 }) },
          note: str(2000),
        },
        ['action'],
      ),
      response: { 200: REVIEW_ITEM },
    },
    async (req) => {
      const id = (req.params as { id: number }).id;
      const item = await decideReview(ctx, req, id, req.body as DecisionRequest);
      return ok(reviewFor(item, ctx.evidence !== undefined, req.principal));
    },
  );
}
