/**
 * @module server/app
 * The HTTP service (`ward serve`), on fastify: authentication and roles on every route, per-key
 * rate limits, one response shape for success and every error, bodies read as streams with
 * limits and timeouts, metrics, and the OpenAPI document built from the route schemas. The routes
 * themselves are fastify plugins in server/routes/, sharing server/context.
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { WardError } from '../errors.js';
import { DEFAULT_SCAN_CONFIG, type ScanConfig } from '../scan/config.js';
import { createScanRunner } from '../scan/pipeline.js';
import type { Role, ServiceStore } from '../store/service.js';
import { KeyVerifier, type Principal, RateLimiter } from './auth.js';
import {
  addRoute,
  type ChangeEvent,
  kUpload,
  type RoutesOptions,
  type ServerContext,
  type ServerLimits,
  uploadStream,
} from './context.js';
import type { EvidenceStore } from './evidence.js';
import {
  bodyChunks,
  errorBody,
  httpStatus,
  isJsonType,
  isUploadType,
  mediaType,
  multipartFile,
  readBody,
} from './http.js';
import { LiveIndex } from './live-index.js';
import { Counter, Gauge, Histogram, Registry } from './metrics.js';
import { type Accepts, openApiDocument, type RouteDoc } from './openapi.js';
import { auditRoutes } from './routes/audit.js';
import { bankRoutes } from './routes/banks.js';
import { keyRoutes } from './routes/keys.js';
import { opsRoutes } from './routes/ops.js';
import { reportRoutes } from './routes/reports.js';
import { reviewRoutes } from './routes/reviews.js';
import { submitRoutes } from './routes/submit.js';
import { uiRoutes } from './routes/ui.js';
import { webhookRoutes } from './routes/webhooks.js';
import { type DispatcherOptions, WebhookDispatcher } from './webhooks.js';

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  jsonBytes: 1024 * 1024,
  uploadBytes: 64 * 1024 * 1024,
  importBytes: 4 * 1024 * 1024 * 1024,
  idleMs: 15_000,
  totalMs: 120_000,
  importTotalMs: 3_600_000,
  matchBudgetMs: 2000,
};

export interface ServerOptions {
  store: ServiceStore;
  /** Scan configuration (match options, policy, limits), as `ward scan --config`. */
  config?: ScanConfig;
  /** Scan worker threads (default 1: hashing in the request thread's pool of one). */
  jobs?: number;
  /** The encrypted evidence store; without it uploads are never kept. */
  evidence?: EvidenceStore;
  limits?: Partial<ServerLimits>;
  /** Default per-key rate (requests/s; 0: unlimited) and burst. */
  rateLimit?: { rate: number; burst: number };
  /** How long a verified key is trusted before it is looked up again (ms; default 5000). */
  keyCacheMs?: number;
  /** How often banks are checked for changes by other processes (ms; default 2000; 0: never). */
  pollMs?: number;
  webhooks?: DispatcherOptions;
  /** Serve /metrics without a key (default false: admin or analyst key). */
  publicMetrics?: boolean;
  /** Also queue items whose verdict is `match` for review (default: only `flag`). */
  queueMatches?: boolean;
  logger?: boolean;
  /**
   * Called after this process changed banks or revoked a key through the API (a cluster's
   * primary tells the other workers, which then refresh at once instead of at their next poll).
   */
  onChange?: (event: ChangeEvent) => void;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    startedAt?: bigint;
  }
  interface FastifyContextConfig {
    roles?: readonly Role[] | 'public';
    accepts?: readonly Accepts[];
  }
}

export { type ChangeEvent, type ServerContext, type ServerLimits, uploadStream } from './context.js';

export interface WardServer {
  app: FastifyInstance;
  context: ServerContext;
  /** Listens; returns the base URL. */
  listen(host?: string, port?: number): Promise<string>;
  /** Stops taking requests, lets the ones in flight finish, stops the jobs, closes the store. */
  close(): Promise<void>;
}

// fastify tests the whole header, parameters included: `application/json; charset=utf-8` is JSON.
const JSON_TYPE = /^application\/([a-z0-9.-]+\+)?json\s*(;|$)/i;

function declaredLength(req: FastifyRequest): number | undefined {
  const h = req.headers['content-length'];
  if (h === undefined || !/^\d+$/.test(h)) return undefined;
  return Number(h);
}

export async function createServer(options: ServerOptions): Promise<WardServer> {
  const limits: ServerLimits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  const config = options.config ?? DEFAULT_SCAN_CONFIG;
  const store = options.store;
  const registry = new Registry();
  const requests = registry.register(
    new Counter('ward_http_requests_total', 'HTTP requests by route, method and status'),
  );
  const duration = registry.register(
    new Histogram(
      'ward_http_request_duration_seconds',
      'HTTP request duration by route',
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
  );
  const metrics = {
    matches: registry.register(
      new Counter('ward_matches_total', 'Items or hashes that matched a block bank, by route'),
    ),
    queued: registry.register(new Counter('ward_review_queued_total', 'Items queued for review')),
    decisions: registry.register(new Counter('ward_review_decisions_total', 'Review decisions by action')),
  };
  const live = new LiveIndex(store);
  const webhooks = new WebhookDispatcher(store, options.webhooks);
  const keys = new KeyVerifier(store, options.keyCacheMs ?? 5000);
  const limiter = new RateLimiter(options.rateLimit?.rate ?? 100, options.rateLimit?.burst ?? 200);
  const runner = createScanRunner(config, options.jobs ?? 1);
  registry.register(
    new Gauge('ward_bank_entries', 'Entries loaded in the live index, by bank and kind of index', () =>
      live
        .stats()
        .flatMap((s) => [
          [{ bank: s.bank.name, index: 'pdq' }, s.pdq] as [Record<string, string>, number],
          [{ bank: s.bank.name, index: 'exact' }, s.exact] as [Record<string, string>, number],
        ]),
    ),
  );
  registry.register(
    new Gauge('ward_review_queue', 'Review items waiting (open or escalated)', async () => [
      [{}, await store.countReviews(['open', 'escalated'])],
    ]),
  );
  registry.register(
    new Gauge('ward_webhook_deliveries', 'Webhook deliveries by outcome since start', () => [
      [{ outcome: 'delivered' }, webhooks.delivered],
      [{ outcome: 'failed' }, webhooks.failed],
    ]),
  );
  registry.register(
    new Gauge('process_resident_memory_bytes', 'Resident memory', () => [[{}, process.memoryUsage().rss]]),
  );
  registry.register(
    new Gauge('ward_index_refreshed_seconds', 'When banks were last checked', () => [[{}, live.lastRefresh]]),
  );

  const app = Fastify({
    logger: options.logger ?? false,
    // Bodies are read by Ward's parsers below, with their own limits; this is the backstop.
    bodyLimit: Math.max(limits.jsonBytes, limits.uploadBytes),
    // Ward's own idle and total body timeouts answer first, in the one response shape.
    requestTimeout: 0,
    connectionTimeout: 10 * 60_000,
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, allErrors: false, coerceTypes: 'array' } },
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      const e = timeout
        ? new WardError('WARD_ERR_REQUEST_TIMEOUT', 'The client sent the request too slowly')
        : new WardError('WARD_ERR_REQUEST_INVALID', 'Malformed HTTP request');
      const body = JSON.stringify(errorBody(e));
      socket.end(
        `HTTP/1.1 ${timeout ? '408 Request Timeout' : '400 Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  });
  app.server.headersTimeout = 30_000;

  // Responses are serialised as they are (the response schemas document, they do not filter).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPE, (req, payload, done) => {
    readBody(
      payload as Readable,
      { maxBytes: limits.jsonBytes, idleMs: limits.idleMs, totalMs: limits.totalMs },
      declaredLength(req),
    )
      .then((buf) => {
        if (buf.length === 0) return done(null, undefined);
        try {
          done(null, JSON.parse(buf.toString('utf8')));
        } catch (e) {
          done(
            new WardError('WARD_ERR_REQUEST_INVALID', `Malformed JSON: ${(e as Error).message.slice(0, 200)}`),
            undefined,
          );
        }
      })
      .catch((e) => done(e as Error, undefined));
  });
  // Anything else is handed to the route as a stream; routes that take uploads read it.
  app.addContentTypeParser('*', (_req, payload, done) => done(null, { [kUpload]: payload }));

  app.setErrorHandler((error: unknown, req, reply) => {
    const e = toWardError(error);
    const status = httpStatus(e);
    if (status === 500) req.log.error({ err: error }, 'internal error');
    // A body that was not read to its end: the connection cannot be reused.
    if (!req.raw.readableEnded) reply.header('connection', 'close');
    if (e.code === 'WARD_ERR_RATE_LIMITED' && typeof e.details.retryAfter === 'number')
      reply.header('retry-after', String(e.details.retryAfter));
    if (e.kind === 'auth') reply.header('www-authenticate', 'Bearer realm="ward"');
    void reply.status(status).type('application/json; charset=utf-8').send(errorBody(e));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .type('application/json; charset=utf-8')
      .send(
        errorBody(
          new WardError('WARD_ERR_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]?.slice(0, 200)}`),
        ),
      );
  });

  app.addHook('onRequest', async (req, reply) => {
    req.startedAt = process.hrtime.bigint();
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
    const roles = req.routeOptions.config?.roles;
    if (roles === undefined || roles === 'public') return;
    if (req.url === '/metrics' && options.publicMetrics) return;
    const principal = await keys.verify(req.headers.authorization);
    req.principal = principal;
    if (!roles.includes(principal.role) && principal.role !== 'admin') {
      throw new WardError('WARD_ERR_FORBIDDEN', `A ${principal.role} key may not use this route`, {
        expected: roles.join(', '),
      });
    }
    const wait = limiter.take(principal);
    if (wait > 0) {
      throw new WardError('WARD_ERR_RATE_LIMITED', `Too many requests for this key: retry in ${wait} s`, {
        retryAfter: wait,
      });
    }
  });
  app.addHook('preValidation', async (req) => {
    const accepts = req.routeOptions.config?.accepts ?? [];
    const stream = uploadStream(req);
    const type = mediaType(req.headers['content-type']);
    if (stream) {
      if (accepts.includes('upload') || accepts.includes('bankfile')) return;
      throw new WardError(
        'WARD_ERR_CONTENT_TYPE',
        accepts.includes('json')
          ? `This route takes application/json, not ${JSON.stringify(type || 'no Content-Type')}`
          : 'This route takes no request body',
      );
    }
    if (req.body !== undefined && isJsonType(type) && !accepts.includes('json')) {
      throw new WardError('WARD_ERR_CONTENT_TYPE', 'This route does not take JSON: send the file itself');
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    if (req.startedAt !== undefined) {
      duration.observe(Number(process.hrtime.bigint() - req.startedAt) / 1e9, { route });
    }
  });

  const docs: RouteDoc[] = [];
  const context: ServerContext = {
    store,
    config,
    live,
    runner,
    evidence: options.evidence,
    webhooks,
    keys,
    limits,
    queueMatches: options.queueMatches ?? false,
    metrics,
    registry,
    publicMetrics: options.publicMetrics ?? false,
    docs,
    async banksChanged() {
      await live.refresh();
      options.onChange?.({ type: 'banks' });
    },
    onChange: options.onChange,
    route(doc, handler) {
      addRoute(app, context, doc, handler);
    },
    async upload(req) {
      const stream = uploadStream(req);
      if (!stream) {
        throw new WardError(
          'WARD_ERR_CONTENT_TYPE',
          'Send the file as the body (application/octet-stream) or as multipart/form-data',
        );
      }
      const type = mediaType(req.headers['content-type']);
      if (!isUploadType(type)) {
        throw new WardError(
          'WARD_ERR_CONTENT_TYPE',
          `Uploads are application/octet-stream, multipart/form-data or a media type, not ${JSON.stringify(type || 'none')}`,
        );
      }
      const body = await readBody(
        stream,
        { maxBytes: limits.uploadBytes, idleMs: limits.idleMs, totalMs: limits.totalMs },
        declaredLength(req),
      );
      if (type === 'multipart/form-data') return multipartFile(body, req.headers['content-type'] as string);
      return { bytes: body, type };
    },
    bodyStream(req, maxBytes, totalMs) {
      const stream = uploadStream(req);
      if (!stream) throw new WardError('WARD_ERR_CONTENT_TYPE', 'Send the bank file as the request body');
      return bodyChunks(stream, { maxBytes, idleMs: limits.idleMs, totalMs }, declaredLength(req));
    },
    async audit(req, action, target, details = {}) {
      await store.appendAudit({
        actor: req?.principal ? `key:${req.principal.keyId}` : 'system',
        action,
        target,
        details,
      });
    },
  };
  // Each area is a fastify plugin; they load in this order, so /openapi.json lists the routes so.
  const plugins = [
    opsRoutes,
    submitRoutes,
    bankRoutes,
    reviewRoutes,
    reportRoutes,
    auditRoutes,
    keyRoutes,
    webhookRoutes,
    uiRoutes,
  ];
  for (const plugin of plugins) await app.register<RoutesOptions>(plugin, { ctx: context });
  let spec: Record<string, unknown> | undefined;
  await app.register(async (instance) => {
    addRoute(
      instance,
      context,
      {
        method: 'GET',
        url: '/openapi.json',
        summary: 'This API as an OpenAPI 3.1 document (not wrapped in the response envelope)',
        tags: ['operations'],
        roles: 'public',
        accepts: [],
        produces: ['application/json'],
      },
      async () => {
        spec ??= openApiDocument(docs);
        return spec;
      },
    );
  });

  await live.refresh();
  if ((options.pollMs ?? 2000) > 0)
    live.startPolling(options.pollMs ?? 2000, (e) => app.log.warn({ err: e }, 'bank poll failed'));
  webhooks.start();
  await app.ready();

  let closed = false;
  return {
    app,
    context,
    async listen(host = '127.0.0.1', port = 8080) {
      return app.listen({ host, port });
    },
    async close() {
      if (closed) return;
      closed = true;
      live.stopPolling();
      await app.close();
      await webhooks.stop();
      await runner.close();
    },
  };
}

/** Any error to a WardError with the right status. */
export function toWardError(error: unknown): WardError {
  if (WardError.is(error)) return error;
  const e = error as { code?: string; validation?: unknown; statusCode?: number; message?: string };
  if (e?.validation) {
    return new WardError('WARD_ERR_REQUEST_INVALID', `Invalid request: ${String(e.message ?? '').slice(0, 300)}`);
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new WardError('WARD_ERR_CONTENT_TYPE', 'Unsupported Content-Type');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new WardError('WARD_ERR_LIMIT_BODY', 'The request body is too large');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new WardError('WARD_ERR_REQUEST_INVALID', 'Malformed JSON body');
    case 'ECONNRESET':
      return new WardError('WARD_ERR_UPLOAD_TRUNCATED', 'The client went away before the body ended');
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new WardError('WARD_ERR_REQUEST_INVALID', String(e.message ?? 'Bad request').slice(0, 300));
  }
  return new WardError('WARD_ERR_INTERNAL', 'Internal error (a bug in Ward; it was logged)');
}
