/**
 * @module cli/commands/serve
 * `ward serve [--host H] [--port P] [--db PATH] [--config FILE] [--jobs N] [--workers N]`: the
 * HTTP service. Runs until SIGINT or SIGTERM, then stops taking requests, lets the ones in flight
 * finish and closes the database. With --workers N, N processes share the port (node:cluster),
 * each with its own copy of the bank indexes; a bank change or key revocation made through one
 * is passed to the others at once.
 */
import cluster, { type Worker } from 'node:cluster';
import { WardError } from '../../errors.js';
import type { ChangeEvent } from '../../server/app.js';
import { startService } from '../../server/serve.js';
import { openServiceStore } from '../../store/open.js';
import { parseCommandArgs, positiveInt } from '../args.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../main.js';

export const SERVE_USAGE = `Usage: ward serve [--host H] [--port P] [--db PATH] [--config FILE] [--jobs N] [--workers N]

The HTTP service: hash, match and scan uploads, manage banks, work the review queue (UI at /ui),
audit log, webhooks, metrics. API reference: GET /openapi.json; docs/server.md.
  --host H         address to listen on (default 127.0.0.1)
  --port P         port (default 8080; 0 picks a free one)
  --db PATH        SQLite database (default: $DATABASE_URL if it is postgres://…, else $WARD_DB,
                   else ~/.local/share/ward/ward.db)
  --config FILE    scan configuration (JSON or YAML), as for ward scan
  --jobs N         scan worker threads per process (default 1)
  --workers N      server processes sharing the port (default 1, or $WARD_SERVE_WORKERS)
  --plugin MODULE  load a plugin module (signal types, extractors...; repeatable)

Environment: WARD_EVIDENCE_KEY (enables the encrypted evidence store), WARD_EVIDENCE_RETENTION_DAYS
(365), WARD_RATE_LIMIT / WARD_RATE_BURST (per key and process, 100/s and 200),
WARD_MAX_UPLOAD_BYTES, and more in docs/server.md. Stops gracefully on SIGINT or SIGTERM.`;

type Message = ChangeEvent | { type: 'listening'; url: string };

/** The first SIGINT or SIGTERM; later ones are ignored, so a shutdown in progress finishes. */
function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let got = false;
    const on = (signal: NodeJS.Signals) => () => {
      if (got) return;
      got = true;
      resolve(signal);
    };
    process.on('SIGINT', on('SIGINT'));
    process.on('SIGTERM', on('SIGTERM'));
  });
}

export async function serveCommand(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    host: { type: 'string' },
    port: { type: 'string' },
    db: { type: 'string' },
    config: { type: 'string' },
    jobs: { type: 'string' },
    workers: { type: 'string' },
    plugin: { type: 'string', multiple: true },
  });
  if (positionals.length > 0) throw new WardError('WARD_ERR_USAGE', 'ward serve takes no arguments');
  let port = 8080;
  if (values.port !== undefined) {
    const p = values.port as string;
    if (!/^\d+$/.test(p) || Number(p) > 65535) {
      throw new WardError('WARD_ERR_USAGE', `Expected a port 0-65535 for \`--port\` but received ${JSON.stringify(p)}`);
    }
    port = Number(p);
  }
  const workersText = (values.workers as string | undefined) ?? process.env.WARD_SERVE_WORKERS;
  const workers = workersText === undefined || workersText === '' ? 1 : positiveInt('--workers', workersText);
  const options = {
    host: (values.host as string | undefined) ?? '127.0.0.1',
    port,
    db: values.db as string | undefined,
    config: values.config as string | undefined,
    jobs: values.jobs === undefined ? undefined : positiveInt('--jobs', values.jobs as string),
    // Every cluster worker runs the same command line, so it loads the same plugins.
    plugins: (values.plugin as string[] | undefined) ?? [],
  };
  if (workers > 1 && cluster.isPrimary) {
    // Migrate once here, so the workers do not race to create the tables of a new database.
    await (await openServiceStore({ db: options.db })).close();
    return primary(workers, ctx);
  }

  const inCluster = cluster.isWorker;
  const running = await startService({
    ...options,
    log: (line) => {
      if (!inCluster || cluster.worker?.id === 1) ctx.stderr.write(`${line}\n`);
    },
    ...(inCluster ? { onChange: (event: ChangeEvent) => process.send?.(event) } : {}),
  });
  if (inCluster) {
    process.on('message', (m: Message) => {
      if (m.type === 'banks') void running.server.context.live.refresh().catch(() => {});
      else if (m.type === 'key-revoked') running.server.context.keys.forget(m.id);
    });
    process.send?.({ type: 'listening', url: running.url } satisfies Message);
  } else {
    ctx.stdout.write(`${running.url}\n`);
  }
  const signal = await waitForSignal();
  if (!inCluster) ctx.stderr.write(`ward: ${signal}: finishing requests in flight, then stopping\n`);
  await running.close();
  if (!inCluster) ctx.stderr.write('ward: stopped\n');
  // A worker's channel to the primary would keep it alive: close it so the process can exit.
  if (inCluster) cluster.worker?.disconnect();
  return EXIT.OK;
}

/** Forks the workers, relays change events between them, stops them on a signal. */
async function primary(n: number, ctx: CommandContext): Promise<ExitCode> {
  let stopping = false;
  let url: string | undefined;
  let listening = 0;
  let ready!: () => void;
  let failed!: (e: Error) => void;
  const allListening = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (m: Message) => {
      if (m.type === 'listening') {
        url = m.url;
        if (++listening === n) ready();
        return;
      }
      for (const other of Object.values(cluster.workers ?? {})) if (other && other !== worker) other.send(m);
    });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      if (listening < n) {
        failed(new WardError('WARD_ERR_UNAVAILABLE', `A server process exited while starting (${signal ?? code})`));
        return;
      }
      ctx.stderr.write(`ward: server process ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
      fork();
    });
    return worker;
  };
  for (let i = 0; i < n; i++) fork();
  try {
    await allListening;
  } catch (e) {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    throw e;
  }
  ctx.stderr.write(`ward: ${n} server processes\n`);
  ctx.stdout.write(`${url}\n`);
  const signal = await waitForSignal();
  stopping = true;
  ctx.stderr.write(`ward: ${signal}: finishing requests in flight, then stopping\n`);
  await Promise.all(
    Object.values(cluster.workers ?? {}).map(
      (w) =>
        new Promise<void>((resolve) => {
          if (!w || w.isDead()) return resolve();
          // A process that has not finished after 30 s is stopped hard.
          const hard = setTimeout(() => w.process.kill('SIGKILL'), 30_000);
          w.once('exit', () => {
            clearTimeout(hard);
            resolve();
          });
          w.process.kill('SIGTERM');
        }),
    ),
  );
  ctx.stderr.write('ward: stopped\n');
  return EXIT.OK;
}
