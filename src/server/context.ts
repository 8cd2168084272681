/**
 * @module server/context
 * What the routes share: the store, the live index, the task runner, the evidence store, the
 * webhook dispatcher, the configuration and limits, and the helpers that read bodies, write the
 * audit log and add documented routes to a fastify instance (each route file is a fastify plugin
 * that adds its routes through `addRoute`).
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ScanConfig } from '../scan/config.js';
import type { ScanTask, TaskResult } from '../scan/extract.js';
import type { TaskRunner } from '../scan/pool.js';
import type { Role, ServiceStore } from '../store/service.js';
import type { KeyVerifier, Principal } from './auth.js';
import type { EvidenceStore } from './evidence.js';
import type { LiveIndex } from './live-index.js';
import type { Counter, Registry } from './metrics.js';
import type { RouteDoc } from './openapi.js';
import type { WebhookDispatcher } from './webhooks.js';

export interface ServerLimits {
  /** JSON request bodies (bytes; default 1 MiB). */
  jsonBytes: number;
  /** Uploads to hash, match and scan (bytes; default 64 MiB). */
  uploadBytes: number;
  /** Bank files (bytes; default 4 GiB). */
  importBytes: number;
  /** Longest wait for the next chunk of a body (ms; default 15 s). */
  idleMs: number;
  /** Longest time for a whole JSON body or upload (ms; default 120 s). */
  totalMs: number;
  /** Longest time for a whole bank file (ms; default 1 h). */
  importTotalMs: number;
  /** CPU budget of one match request: hashes after it are not matched (`truncated`) (ms; default 2 s). */
  matchBudgetMs: number;
}

export type ChangeEvent = { type: 'banks' } | { type: 'key-revoked'; id: string };

/** Who made a request (a fastify request is one). */
export interface Actor {
  principal?: Principal;
}

export type RouteHandler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** Everything a route handler needs. */
export interface ServerContext {
  store: ServiceStore;
  config: ScanConfig;
  live: LiveIndex;
  runner: TaskRunner<ScanTask, TaskResult>;
  evidence: EvidenceStore | undefined;
  webhooks: WebhookDispatcher;
  keys: KeyVerifier;
  limits: ServerLimits;
  queueMatches: boolean;
  metrics: { matches: Counter; queued: Counter; decisions: Counter };
  /** The metrics registry (served by /metrics) and whether /metrics needs a key. */
  registry: Registry;
  publicMetrics: boolean;
  /** Every documented route, in registration order (the OpenAPI document). */
  docs: RouteDoc[];
  /** After a bank change through the API: updates the live index (and tells other workers). */
  banksChanged(): Promise<void>;
  onChange: ((event: ChangeEvent) => void) | undefined;
  /** Adds a route to the root instance (prefer `addRoute` on a plugin's instance). */
  route(doc: RouteDoc, handler: RouteHandler): void;
  /** The upload of a request: raw body or the `file` of a multipart form, in memory. */
  upload(req: FastifyRequest): Promise<{ bytes: Buffer; name?: string; type?: string }>;
  /** The request body as a checked chunk stream (bank files). */
  bodyStream(req: FastifyRequest, maxBytes: number, totalMs: number): AsyncGenerator<Buffer>;
  audit(req: Actor | undefined, action: string, target: string, details?: Record<string, unknown>): Promise<void>;
}

/** Options of every route plugin. */
export interface RoutesOptions {
  ctx: ServerContext;
}

/** Adds a route to `app`: its schema validates requests and documents it in /openapi.json. */
export function addRoute(app: FastifyInstance, ctx: ServerContext, doc: RouteDoc, handler: RouteHandler): void {
  ctx.docs.push(doc);
  app.route({
    method: doc.method as 'GET',
    url: doc.url,
    config: { roles: doc.roles as readonly Role[] | 'public', accepts: doc.accepts },
    schema: {
      ...(doc.body && !doc.manualBody ? { body: doc.body } : {}),
      ...(doc.querystring ? { querystring: doc.querystring } : {}),
      ...(doc.params ? { params: doc.params } : {}),
    },
    handler,
  });
}

export const kUpload = Symbol('ward.upload');

/** The body of a request that is not JSON: its stream, unread. */
export function uploadStream(req: FastifyRequest): Readable | undefined {
  const body = req.body as { [kUpload]?: Readable } | undefined;
  return body && typeof body === 'object' ? body[kUpload] : undefined;
}
