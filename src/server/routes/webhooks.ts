/**
 * @module server/routes/webhooks
 * Webhooks (admin): list, add (the secret is in that response only), remove, the delivery log.
 */
import type { FastifyInstance } from 'fastify';
import { WardError } from '../../errors.js';
import { checkEgressUrl, redactUrl } from '../../net/egress.js';
import { sealSecret, secretKeyFromEnv } from '../../secrets/index.js';
import { WEBHOOK_EVENTS, type WebhookEvent } from '../../store/service.js';
import { addRoute, type RoutesOptions } from '../context.js';
import { ok } from '../http.js';
import { newWebhookSecret } from '../webhooks.js';
import { ADMIN, int, obj, str } from './schemas.js';

/** Webhooks and their delivery log (admin). */
export async function webhookRoutes(app: FastifyInstance, { ctx }: RoutesOptions): Promise<void> {
  const route = (doc: Parameters<typeof addRoute>[2], handler: Parameters<typeof addRoute>[3]) =>
    addRoute(app, ctx, doc, handler);
  const { store } = ctx;
  route(
    {
      method: 'GET',
      url: '/v1/webhooks',
      summary: 'Webhooks (without their secrets)',
      tags: ['webhooks'],
      roles: ADMIN,
      accepts: [],
      response: { 200: obj({ webhooks: { type: 'array', items: { type: 'object' } } }) },
    },
    async () => ok({ webhooks: (await store.listWebhooks()).map(({ secret: _s, ...h }) => h) }),
  );

  route(
    {
      method: 'POST',
      url: '/v1/webhooks',
      summary: 'Add a webhook; its signing secret is in this response only',
      tags: ['webhooks'],
      roles: ADMIN,
      accepts: ['json'],
      body: obj(
        {
          url: str(2000, { pattern: '^https?://' }),
          events: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: WEBHOOK_EVENTS } },
        },
        ['url', 'events'],
      ),
      response: {
        201: obj({
          id: { type: 'integer' },
          url: { type: 'string' },
          events: { type: 'array' },
          secret: { type: 'string' },
        }),
      },
    },
    async (req, reply) => {
      const body = req.body as { url: string; events: WebhookEvent[] };
      // The egress rules at creation (scheme, userinfo, special addresses); names are resolved
      // and checked again at every delivery.
      checkEgressUrl(body.url);
      const secret = newWebhookSecret();
      const key = secretKeyFromEnv();
      const hook = await store.insertWebhook({
        url: body.url,
        events: body.events,
        secret: key ? sealSecret(secret, key) : secret,
        createdAt: new Date().toISOString(),
        active: true,
      });
      ctx.webhooks.invalidate();
      await ctx.audit(req, 'webhook.create', `webhook:${hook.id}`, { url: redactUrl(hook.url), events: hook.events });
      void reply.status(201);
      return ok({ ...hook, secret });
    },
  );

  route(
    {
      method: 'DELETE',
      url: '/v1/webhooks/:id',
      summary: 'Remove a webhook (its pending deliveries fail)',
      tags: ['webhooks'],
      roles: ADMIN,
      accepts: [],
      params: obj({ id: int(1, Number.MAX_SAFE_INTEGER) }, ['id']),
      response: { 200: obj({ deleted: { type: 'integer' } }) },
    },
    async (req) => {
      const { id } = req.params as { id: number };
      if (!(await store.deleteWebhook(id))) throw new WardError('WARD_ERR_NOT_FOUND', `No webhook ${id}`);
      ctx.webhooks.invalidate();
      await ctx.audit(req, 'webhook.delete', `webhook:${id}`);
      return ok({ deleted: id });
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/webhooks/deliveries',
      summary: 'The webhook delivery log, newest first',
      tags: ['webhooks'],
      roles: ADMIN,
      accepts: [],
      querystring: obj({
        webhook: int(1, Number.MAX_SAFE_INTEGER),
        status: { enum: ['pending', 'delivered', 'failed'] },
        limit: int(1, 1000, { default: 100 }),
      }),
      response: { 200: obj({ deliveries: { type: 'array', items: { type: 'object' } } }) },
    },
    async (req) => {
      const q = req.query as { webhook?: number; status?: 'pending' | 'delivered' | 'failed'; limit?: number };
      await ctx.webhooks.flush();
      return ok({
        deliveries: await store.listDeliveries({
          ...(q.webhook !== undefined ? { webhookId: q.webhook } : {}),
          ...(q.status !== undefined ? { status: q.status } : {}),
          limit: q.limit ?? 100,
        }),
      });
    },
  );
}
