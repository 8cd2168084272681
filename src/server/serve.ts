/**
 * @module server/serve
 * `ward serve`: opens the database (SQLite by default, PostgreSQL with DATABASE_URL), the evidence
 * store if WARD_EVIDENCE_KEY is set (with its hourly purge job), builds the service and listens.
 * Settings come from options and the environment (docs/server.md lists them).
 */
import { WardError } from '../errors.js';
import { syncExchange } from '../exchanges/sync.js';
import { usePlugins } from '../registry.js';
import { DEFAULT_SCAN_CONFIG, loadScanConfig } from '../scan/config.js';
import { openServiceStore } from '../store/open.js';
import type { ServiceStore } from '../store/service.js';
import { type ChangeEvent, createServer, DEFAULT_SERVER_LIMITS, type ServerLimits, type WardServer } from './app.js';
import { EvidenceStore } from './evidence.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  /** A SQLite file (else DATABASE_URL, WARD_DB, the default file). */
  db?: string;
  /** A scan configuration file (JSON or YAML), as `ward scan --config`. */
  config?: string;
  /** Plugin modules to load (`--plugin`), beside the configuration's `plugins`. */
  plugins?: readonly string[];
  jobs?: number;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  onChange?: (event: ChangeEvent) => void;
}

export interface Running {
  url: string;
  server: WardServer;
  store: ServiceStore;
  evidence: EvidenceStore | undefined;
  /** Runs the evidence purge now (the job runs it at start and hourly). */
  purge(): Promise<number>;
  /** Syncs every hash exchange now (the job runs it every WARD_EXCHANGE_SYNC_SECONDS when set). */
  syncExchanges(): Promise<void>;
  close(): Promise<void>;
}

function envNumber(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min)
    throw new WardError('WARD_ERR_CONFIG_INVALID', `${name} must be a number ≥ ${min}`);
  return n;
}

export async function startService(options: ServeOptions = {}): Promise<Running> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const config = options.config ? await loadScanConfig(options.config) : DEFAULT_SCAN_CONFIG;
  // Plugins before the store and the live index: their signal types must be indexed and accepted.
  await usePlugins([...(options.plugins ?? []), ...config.plugins]);
  const store = await openServiceStore({ db: options.db }, env);
  let server: WardServer | undefined;
  let purgeTimer: NodeJS.Timeout | undefined;
  let syncTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  try {
    const evidence = EvidenceStore.fromEnv(store, env);
    const limits: Partial<ServerLimits> = {};
    const upload = envNumber(env, 'WARD_MAX_UPLOAD_BYTES', 1);
    if (upload !== undefined) limits.uploadBytes = upload;
    const importBytes = envNumber(env, 'WARD_MAX_IMPORT_BYTES', 1);
    if (importBytes !== undefined) limits.importBytes = importBytes;
    const idle = envNumber(env, 'WARD_BODY_IDLE_MS', 100);
    if (idle !== undefined) limits.idleMs = idle;
    server = await createServer({
      store,
      config,
      jobs: options.jobs ?? envNumber(env, 'WARD_SERVE_JOBS', 1) ?? 1,
      evidence,
      limits: { ...DEFAULT_SERVER_LIMITS, ...limits },
      rateLimit: {
        rate: envNumber(env, 'WARD_RATE_LIMIT', 0) ?? 100,
        burst: envNumber(env, 'WARD_RATE_BURST', 1) ?? 200,
      },
      pollMs: envNumber(env, 'WARD_BANK_POLL_MS', 0) ?? 2000,
      publicMetrics: env.WARD_METRICS_PUBLIC === '1',
      queueMatches: env.WARD_REVIEW_MATCHES === '1',
      logger: env.WARD_LOG === '1',
      onChange: options.onChange,
    });
    const purge = async (): Promise<number> => {
      if (!evidence) return 0;
      const n = await evidence.purge();
      if (n > 0) {
        await store.appendAudit({ actor: 'system', action: 'evidence.purge', details: { purged: n } });
        log(`ward: purged ${n} evidence item(s) past their retention`);
      }
      return n;
    };
    if (evidence) {
      await purge();
      purgeTimer = setInterval(() => void purge().catch(() => {}), 3_600_000);
      purgeTimer.unref();
    }
    // Hash exchanges (docs/exchanges.md): one run at a time in this process; each page is one
    // transaction, so a run cut short by a shutdown resumes at the next one. The live index
    // follows the banks' versions (its poll), so nothing is rebuilt.
    let syncing: Promise<void> | undefined;
    const syncExchanges = (): Promise<void> => {
      syncing ??= (async () => {
        for (const x of await store.listExchanges()) {
          if (stopped) return;
          const r = await syncExchange(store, x.name);
          await store.appendAudit({
            actor: 'system',
            action: 'exchange.sync',
            target: x.name,
            details: { ...r.counts, pages: r.pages, upToDate: r.upToDate, ...(r.error ? { error: r.error.code } : {}) },
          });
          if (r.error) log(`ward: exchange ${x.name} sync failed: ${r.error.code}`);
        }
      })().finally(() => {
        syncing = undefined;
      });
      return syncing;
    };
    const syncSeconds = envNumber(env, 'WARD_EXCHANGE_SYNC_SECONDS', 0) ?? 0;
    if (syncSeconds > 0) {
      const tick = () => {
        void syncExchanges()
          .catch(() => {})
          .finally(() => {
            if (!stopped) {
              syncTimer = setTimeout(tick, syncSeconds * 1000);
              syncTimer.unref();
            }
          });
      };
      syncTimer = setTimeout(tick, 0);
      syncTimer.unref();
    }
    const url = await server.listen(options.host ?? '127.0.0.1', options.port ?? 8080);
    log(
      `ward: serving on ${url} (${store.dialect} ${store.location}; evidence store ${evidence ? `on, ${evidence.retentionDays} days` : 'off'})`,
    );
    const s = server;
    return {
      url,
      server: s,
      store,
      evidence,
      purge,
      syncExchanges,
      async close() {
        stopped = true;
        if (purgeTimer) clearInterval(purgeTimer);
        if (syncTimer) clearTimeout(syncTimer);
        await syncing?.catch(() => {});
        await s.close();
        await store.close();
      },
    };
  } catch (e) {
    stopped = true;
    if (purgeTimer) clearInterval(purgeTimer);
    if (syncTimer) clearTimeout(syncTimer);
    await server?.close().catch(() => {});
    await store.close().catch(() => {});
    throw e;
  }
}
