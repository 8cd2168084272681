/**
 * The service as a library (`import … from 'ward/server'`): build it on a store of your own,
 * start it as `ward serve` does, and the stores themselves. Kept apart from the main entry point
 * so that hashing and matching do not load fastify and pg.
 * @module ward/server
 */

export { isPostgresUrl, openServiceStore } from '../store/open.js';
export { type PostgresOptions, PostgresStore } from '../store/postgres.js';
export { SqliteServiceStore } from '../store/sqlite-service.js';
export {
  type ChangeEvent,
  createServer,
  DEFAULT_SERVER_LIMITS,
  type ServerContext,
  type ServerLimits,
  type ServerOptions,
  type WardServer,
} from './app.js';
export { createKey, generateKey, hashKey, KeyVerifier, type NewKey, type Principal, RateLimiter } from './auth.js';
export { DEFAULT_RETENTION_DAYS, type EvidenceOptions, EvidenceStore, parseEvidenceKey } from './evidence.js';
export { LiveIndex } from './live-index.js';
export { type Running, type ServeOptions, startService } from './serve.js';
export { type DispatcherOptions, WebhookDispatcher } from './webhooks.js';
