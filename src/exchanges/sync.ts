/**
 * @module exchanges/sync
 * The sync engine: runs a collaboration's connector from its committed checkpoint and applies
 * every page with its checkpoint in one transaction (store.applyExchangePage). A run that stops
 * (an error, a crash, a kill) resumes from the last committed page; pages are idempotent (the
 * store keeps the newest record per exchange entry), so a replayed page changes nothing.
 */
import { WardError } from '../errors.js';
import { type EgressInit, egressFetch } from '../net/egress.js';
import { activeRegistry, type Registry } from '../registry.js';
import { openSecret } from '../secrets/index.js';
import type { ExchangeRecord, PageCounts } from '../store/exchanges-sql.js';
import type { ServiceStore } from '../store/service.js';
import type { ExchangeConnector } from './types.js';

export interface SyncOptions {
  /** Forget the checkpoint and fetch from the start. */
  full?: boolean;
  registry?: Registry;
  now?: () => Date;
  /** Called after each committed page (progress; tests kill here). */
  onPage?: (counts: PageCounts, page: number) => void | Promise<void>;
  fetch?: (
    url: string,
    init?: EgressInit,
  ) => Promise<ReturnType<typeof egressFetch> extends Promise<infer R> ? R : never>;
  secretKey?: Buffer;
}

export interface SyncResult {
  name: string;
  pages: number;
  counts: PageCounts;
  upToDate: boolean;
  error?: { code: string; message: string };
}

export function connectorFor(type: string, registry: Registry = activeRegistry()): ExchangeConnector {
  const c = registry.exchanges().find((x) => x.name === type);
  if (!c) {
    throw new WardError('WARD_ERR_CONFIG_INVALID', `Unknown exchange type ${JSON.stringify(type.slice(0, 40))}`, {
      expected: registry
        .exchanges()
        .map((x) => x.name)
        .join(', '),
    });
  }
  return c;
}

/** Syncs one collaboration; errors are recorded on it (lastError) and returned, not thrown. */
export async function syncExchange(store: ServiceStore, name: string, options: SyncOptions = {}): Promise<SyncResult> {
  const record = await store.getExchange(name);
  if (!record) throw new WardError('WARD_ERR_EXCHANGE_NOT_FOUND', `No exchange named ${JSON.stringify(name)}`);
  const connector = connectorFor(record.type, options.registry);
  if (connector.kind !== 'fetch' || !connector.fetch) {
    throw new WardError('WARD_ERR_CONFIG_INVALID', `The exchange type ${record.type} does not fetch entries`);
  }
  if (options.full) await store.updateExchangeRun(name, { reset: true });
  const checkpoint = options.full ? undefined : record.checkpoint;
  const counts: PageCounts = { fetched: 0, added: 0, updated: 0, deleted: 0 };
  let pages = 0;
  let upToDate = false;
  try {
    const credentials = openCredentials(record, options.secretKey);
    const now = options.now ?? (() => new Date());
    for await (const page of connector.fetch({
      config: record.config,
      credentials,
      checkpoint,
      fetch: options.fetch ?? egressFetch,
      now,
      registry: options.registry ?? activeRegistry(),
    })) {
      const c = await store.applyExchangePage(name, page.entries, {
        checkpoint: page.checkpoint,
        upToDate: page.upToDate === true,
        complete: page.complete === true,
        firstOfRun: pages === 0,
        now: now().toISOString(),
      });
      pages++;
      counts.fetched += c.fetched;
      counts.added += c.added;
      counts.updated += c.updated;
      counts.deleted += c.deleted;
      upToDate = page.upToDate === true;
      await options.onPage?.(c, pages);
    }
    await store.updateExchangeRun(name, { lastError: null, success: true });
    return { name, pages, counts, upToDate };
  } catch (e) {
    const err = WardError.is(e)
      ? { code: e.code, message: e.message }
      : { code: 'WARD_ERR_INTERNAL', message: (e as Error)?.message ?? String(e) };
    await store.updateExchangeRun(name, { lastError: `${err.code}: ${err.message}` }).catch(() => {});
    return { name, pages, counts, upToDate: false, error: err };
  }
}

function openCredentials(record: ExchangeRecord, key?: Buffer): Record<string, unknown> {
  if (record.credentials === null) return {};
  return JSON.parse(openSecret(record.credentials, key)) as Record<string, unknown>;
}
