/**
 * @module cli/commands/exchange
 * `ward exchange add|sync|status|rm`: collaborations with hash exchanges (NCMEC, a file...), each
 * filling one bank. Credentials come from a file or stdin (never argv) and are stored sealed
 * under WARD_SECRET_KEY.
 */
import { readFile } from 'node:fs/promises';
import { WardError } from '../../errors.js';
import { connectorFor, type SyncResult, syncExchange } from '../../exchanges/sync.js';
import { usePlugins } from '../../registry.js';
import { sealSecret } from '../../secrets/index.js';
import type { ExchangeRecord } from '../../store/exchanges-sql.js';
import { withServiceStore } from '../../store/open.js';
import type { ServiceStore } from '../../store/service.js';
import { parseCommandArgs } from '../args.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { write } from '../output.js';

export const EXCHANGE_USAGE = `Usage: ward exchange <subcommand> [options]

  add NAME --type T --bank BANK [--endpoint URL] [--set key=value]... [--credentials FILE|-]
                         a collaboration filling BANK (created when absent; one bank per
                         collaboration). Types: ncmec, file (and plugins'). Credentials: a JSON
                         object from FILE or - (stdin), never the command line; sealed under
                         WARD_SECRET_KEY. ncmec: {"username","password"}; --set environment=
                         industry|ngo|ngo-generative-ai|... start= windowSeconds= timeoutMs=
  sync [NAME] [--full]   fetch what changed since the last checkpoint (every collaboration when
                         NAME is absent); --full forgets the checkpoint and fetches from the start
  status [NAME] [--format table|json]
  rm NAME                forget the collaboration (its bank and entries stay)

Every subcommand takes --db PATH|URL (as ward bank does) and --plugin MODULE.
Exit status: 0 when every sync succeeded, 2 when one failed (its error is in status; the next
sync resumes from its last committed page).`;

const DB_OPTION = { db: { type: 'string' }, plugin: { type: 'string', multiple: true } } as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export async function exchangeCommand(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'add':
      return add(rest, ctx);
    case 'sync':
      return sync(rest, ctx);
    case 'status':
      return status(rest, ctx);
    case 'rm':
      return remove(rest, ctx);
    default:
      throw new WardError(
        'WARD_ERR_USAGE',
        `Unknown exchange subcommand ${JSON.stringify(sub ?? '')} (add, sync, status, rm)`,
      );
  }
}

async function withStore<T>(
  values: Record<string, unknown>,
  fn: (store: ServiceStore) => Promise<T>,
  create = true,
): Promise<T> {
  await usePlugins((values.plugin as string[] | undefined) ?? []);
  return withServiceStore({ db: values.db as string | undefined, create }, fn);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** The credentials object from FILE or stdin; never echoed in errors. */
async function readCredentials(source: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = source === '-' ? await readStdin() : await readFile(source, 'utf8');
  } catch (cause) {
    throw new WardError('WARD_ERR_USAGE', 'The --credentials file cannot be read', {}, cause);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WardError('WARD_ERR_USAGE', '--credentials must hold a JSON object');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new WardError('WARD_ERR_USAGE', '--credentials must hold a JSON object');
  }
  return parsed as Record<string, unknown>;
}

async function add(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...DB_OPTION,
    type: { type: 'string' },
    bank: { type: 'string' },
    endpoint: { type: 'string' },
    set: { type: 'string', multiple: true },
    credentials: { type: 'string' },
  });
  if (positionals.length !== 1) throw new WardError('WARD_ERR_USAGE', 'ward exchange add needs exactly one name');
  const name = positionals[0] as string;
  if (!NAME.test(name)) {
    throw new WardError('WARD_ERR_USAGE', 'An exchange name is 1-64 letters, digits, dot, dash and underscore');
  }
  if (typeof values.type !== 'string') throw new WardError('WARD_ERR_USAGE', 'ward exchange add needs --type');
  if (typeof values.bank !== 'string') throw new WardError('WARD_ERR_USAGE', 'ward exchange add needs --bank');
  await usePlugins((values.plugin as string[] | undefined) ?? []);
  const connector = connectorFor(values.type);
  const settings: Record<string, string> = {};
  for (const pair of (values.set as string[] | undefined) ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new WardError('WARD_ERR_USAGE', `--set takes key=value, not ${JSON.stringify(pair.slice(0, 40))}`);
    settings[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (typeof values.endpoint === 'string') settings.endpoint = values.endpoint;
  const config = connector.configure ? connector.configure(settings) : settings;
  let sealed: string | null = null;
  if (typeof values.credentials === 'string') {
    const creds = await readCredentials(values.credentials);
    for (const f of connector.credentialFields ?? []) {
      if (typeof creds[f] !== 'string' || creds[f] === '') {
        throw new WardError('WARD_ERR_USAGE', `The ${connector.name} credentials need a string field ${f}`);
      }
    }
    sealed = sealSecret(JSON.stringify(creds));
  } else if ((connector.credentialFields ?? []).length > 0) {
    throw new WardError(
      'WARD_ERR_USAGE',
      `The ${connector.name} exchange needs --credentials FILE (or - for stdin) with ${connector.credentialFields?.join(', ')}`,
    );
  }
  return withStore(values, async (store) => {
    const taken = (await store.listExchanges()).find((x) => x.bank === values.bank);
    if (taken) {
      throw new WardError(
        'WARD_ERR_CONFIG_INVALID',
        `The bank ${values.bank} is filled by the exchange ${taken.name} already (one bank per collaboration)`,
      );
    }
    if (!(await store.getBank(values.bank as string))) await store.createBank(values.bank as string);
    await store.insertExchange({
      name,
      type: connector.name,
      bank: values.bank as string,
      config,
      credentials: sealed,
    });
    await store.appendAudit({
      actor: 'cli',
      action: 'exchange.add',
      target: name,
      details: { type: connector.name, bank: values.bank },
    });
    await write(ctx.stdout, `added ${connector.name} exchange ${name} filling bank ${values.bank}\n`);
    return EXIT.OK;
  });
}

function line(r: SyncResult): string {
  const c = r.counts;
  const what = `${c.fetched} fetched, ${c.added} added, ${c.updated} updated, ${c.deleted} deleted in ${r.pages} page(s)`;
  return r.error
    ? `${r.name}: failed (${r.error.code}: ${r.error.message}) after ${what}\n`
    : `${r.name}: ${what}${r.upToDate ? ', up to date' : ''}\n`;
}

async function sync(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, { ...DB_OPTION, full: { type: 'boolean' } });
  if (positionals.length > 1) throw new WardError('WARD_ERR_USAGE', 'ward exchange sync takes at most one name');
  return withStore(
    values,
    async (store) => {
      const names =
        positionals.length === 1 ? [positionals[0] as string] : (await store.listExchanges()).map((x) => x.name);
      let failed = false;
      for (const name of names) {
        const r = await syncExchange(store, name, { full: values.full === true });
        await store.appendAudit({
          actor: 'cli',
          action: 'exchange.sync',
          target: name,
          details: { ...r.counts, pages: r.pages, upToDate: r.upToDate, ...(r.error ? { error: r.error.code } : {}) },
        });
        await write(ctx.stdout, line(r));
        if (r.error) failed = true;
      }
      return failed ? EXIT.ITEM_ERRORS : EXIT.OK;
    },
    false,
  );
}

/** What status shows: never the credentials, never the checkpoint's links. */
function publicStatus(x: ExchangeRecord) {
  return {
    name: x.name,
    type: x.type,
    bank: x.bank,
    config: x.config,
    hasCredentials: x.credentials !== null,
    createdAt: x.createdAt,
    upToDate: x.upToDate,
    lastRunAt: x.lastRunAt,
    lastSuccessAt: x.lastSuccessAt,
    lastError: x.lastError,
    fetched: x.fetched,
    added: x.added,
    updated: x.updated,
    deleted: x.deleted,
    checkpoint: x.checkpoint ?? null,
  };
}

async function status(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, { ...DB_OPTION, format: { type: 'string' } });
  const format = (values.format as string | undefined) ?? 'table';
  if (format !== 'table' && format !== 'json') {
    throw new WardError(
      'WARD_ERR_USAGE',
      `Expected table or json for \`--format\` but received ${JSON.stringify(format)}`,
    );
  }
  return withStore(
    values,
    async (store) => {
      let list: ExchangeRecord[];
      if (positionals.length === 1) {
        const one = await store.getExchange(positionals[0] as string);
        if (!one)
          throw new WardError('WARD_ERR_EXCHANGE_NOT_FOUND', `No exchange named ${JSON.stringify(positionals[0])}`);
        list = [one];
      } else list = await store.listExchanges();
      const out = list.map(publicStatus);
      if (format === 'json') {
        await write(ctx.stdout, `${JSON.stringify(positionals.length === 1 ? out[0] : out, null, 2)}\n`);
        return EXIT.OK;
      }
      for (const x of out) {
        await write(
          ctx.stdout,
          `${x.name}\t${x.type}\tbank ${x.bank}\t${x.upToDate ? 'up to date' : 'not up to date'}\tlast run ${x.lastRunAt ?? 'never'}\t${x.fetched} fetched, ${x.added} added, ${x.updated} updated, ${x.deleted} deleted${x.lastError ? `\terror: ${x.lastError}` : ''}\n`,
        );
      }
      return EXIT.OK;
    },
    false,
  );
}

async function remove(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, DB_OPTION);
  if (positionals.length !== 1) throw new WardError('WARD_ERR_USAGE', 'ward exchange rm needs exactly one name');
  const name = positionals[0] as string;
  return withStore(
    values,
    async (store) => {
      if (!(await store.deleteExchange(name))) {
        throw new WardError('WARD_ERR_EXCHANGE_NOT_FOUND', `No exchange named ${JSON.stringify(name)}`);
      }
      await store.appendAudit({ actor: 'cli', action: 'exchange.rm', target: name });
      await write(ctx.stdout, `removed exchange ${name} (its bank stays)\n`);
      return EXIT.OK;
    },
    false,
  );
}
