/**
 * @module cli/commands/bank
 * `ward bank create|import|export|list|stats|rm`: manage hash lists in the store.
 */
import { statSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { basename } from 'node:path';
import { readBankFile } from '../../banks/formats/read.js';
import { readBankFileBatchesInWorker } from '../../banks/formats/read-worker.js';
import { writeBankFile } from '../../banks/formats/write.js';
import { BANK_FILE_FORMATS, type BankFileFormat } from '../../banks/types.js';
import { WardError } from '../../errors.js';
import { usePlugins } from '../../registry.js';
import { withServiceStore } from '../../store/open.js';
import type { ServiceStore } from '../../store/service.js';
import type { BankWithCounts, StoredEntry } from '../../store/types.js';
import { parseCommandArgs } from '../args.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { parseFormat, RecordWriter, write } from '../output.js';

export const BANK_USAGE = `Usage: ward bank <subcommand> [options]

  create NAME [--negative] [--distance N]   a block bank (or a negative bank of known false
                                             positives, which suppresses matches); PDQ distance
                                             default 31
  import NAME FILE [--signal S] [--format F] [--replace] [--skip-invalid] [--source NAME]
         [--value-column C] [--signal-column C] [--labels-column C] [--id-column C]
                                             FILE may be - for stdin; formats: csv, tsv, ndjson,
                                             lines, te-csv (detected when not given)
  export NAME [--format F] [--out FILE]      default ndjson to stdout
  list [--format table|ndjson|json]
  stats NAME [--format table|json]
  rm NAME

Every subcommand takes --db PATH|URL: a SQLite file or a postgres:// URL (default: $DATABASE_URL
when it is a PostgreSQL URL, else $WARD_DB, else ~/.local/share/ward/ward.db). Reading
subcommands (export, list, stats, rm) never create a database. --plugin MODULE (repeatable)
loads a plugin, so its signal types can be imported.
An import is one transaction: with an invalid line nothing is applied (exit 2) unless
--skip-invalid is given. Re-importing is idempotent; --replace makes the bank equal to the file.`;

const DB_OPTION = { db: { type: 'string' }, plugin: { type: 'string', multiple: true } } as const;

export async function bankCommand(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create':
      return create(rest, ctx);
    case 'import':
      return importBank(rest, ctx);
    case 'export':
      return exportBank(rest, ctx);
    case 'list':
      return list(rest, ctx);
    case 'stats':
      return stats(rest, ctx);
    case 'rm':
      return remove(rest, ctx);
    default:
      throw new WardError(
        'WARD_ERR_USAGE',
        `Unknown bank subcommand ${JSON.stringify(sub ?? '')} (create, import, export, list, stats, rm)`,
      );
  }
}

/**
 * Opens the database named by --db (a path or a postgres:// URL), DATABASE_URL, WARD_DB or the
 * default, runs `fn`, and always closes it. Reading subcommands never create a database.
 */
async function withStore<T>(
  values: Record<string, unknown>,
  fn: (store: ServiceStore) => Promise<T>,
  create = true,
): Promise<T> {
  // Plugins' signal types are known to the bank file reader (and its worker thread) and the store.
  await usePlugins((values.plugin as string[] | undefined) ?? []);
  return withServiceStore({ db: values.db as string | undefined, create }, fn);
}

/** Every entry of a bank, in id order, a page at a time. */
async function* allEntries(store: ServiceStore, bank: string): AsyncGenerator<StoredEntry> {
  let afterId = 0;
  for (;;) {
    const page = await store.listEntries(bank, { afterId, limit: 10_000 });
    yield* page;
    if (page.length < 10_000) return;
    afterId = (page[page.length - 1] as StoredEntry).id;
  }
}

function oneName(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new WardError('WARD_ERR_USAGE', `ward bank ${what} needs exactly one bank name`);
  return positionals[0] as string;
}

async function create(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...DB_OPTION,
    negative: { type: 'boolean' },
    distance: { type: 'string' },
  });
  const name = oneName(positionals, 'create');
  const distance = values.distance === undefined ? 31 : distanceArg(values.distance as string);
  return withStore(values, async (store) => {
    const bank = await store.createBank(name, { kind: values.negative ? 'negative' : 'block', pdqDistance: distance });
    await write(ctx.stdout, `created ${bank.kind} bank ${bank.name} (pdq distance ${bank.pdqDistance})\n`);
    return EXIT.OK;
  });
}

function distanceArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 256) {
    throw new WardError(
      'WARD_ERR_USAGE',
      `Expected a distance 0-256 for \`--distance\` but received ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function fileFormat(value: unknown): BankFileFormat | undefined {
  if (value === undefined) return undefined;
  if (!(BANK_FILE_FORMATS as readonly string[]).includes(value as string)) {
    throw new WardError(
      'WARD_ERR_USAGE',
      `Expected one of ${BANK_FILE_FORMATS.join(', ')} for \`--format\` but received ${JSON.stringify(value)}`,
    );
  }
  return value as BankFileFormat;
}

async function importBank(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...DB_OPTION,
    signal: { type: 'string' },
    format: { type: 'string' },
    replace: { type: 'boolean' },
    'skip-invalid': { type: 'boolean' },
    source: { type: 'string' },
    'value-column': { type: 'string' },
    'signal-column': { type: 'string' },
    'labels-column': { type: 'string' },
    'id-column': { type: 'string' },
  });
  if (positionals.length !== 2) throw new WardError('WARD_ERR_USAGE', 'ward bank import needs a bank name and a file');
  const [name, file] = positionals as [string, string];
  if (file !== '-') {
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
    } catch {
      throw new WardError('WARD_ERR_INPUT_NOT_FOUND', `Cannot read ${JSON.stringify(file)}`, { path: file });
    }
  }
  const columns = {
    ...(values['value-column'] ? { value: values['value-column'] as string } : {}),
    ...(values['signal-column'] ? { signal: values['signal-column'] as string } : {}),
    ...(values['labels-column'] ? { labels: values['labels-column'] as string } : {}),
    ...(values['id-column'] ? { id: values['id-column'] as string } : {}),
  };
  return withStore(values, async (store) => {
    const readOptions = {
      format: fileFormat(values.format),
      signal: values.signal as string | undefined,
      ...(Object.keys(columns).length > 0 ? { columns } : {}),
    };
    // A file is parsed on a worker thread, overlapping with the database writes.
    const entries =
      file === '-' ? readBankFile(process.stdin, readOptions) : readBankFileBatchesInWorker(file, readOptions);
    const report = await store.importEntries(name, entries, {
      replace: values.replace === true,
      skipInvalid: values['skip-invalid'] === true,
      source: (values.source as string | undefined) ?? (file === '-' ? 'stdin' : basename(file)),
    });
    for (const issue of report.invalid) {
      ctx.stderr.write(`line ${issue.line}: ${issue.code}: ${issue.message}\n`);
    }
    if (report.invalidCount > report.invalid.length) {
      ctx.stderr.write(`... and ${report.invalidCount - report.invalid.length} more invalid lines\n`);
    }
    if (!report.applied) {
      const err = new WardError(
        'WARD_ERR_BANK_IMPORT_FAILED',
        `${report.invalidCount} invalid line(s): nothing imported (use --skip-invalid to import the valid lines)`,
      );
      ctx.stderr.write(`ward: ${err.code}: ${err.message}\n`);
      return EXIT.ITEM_ERRORS;
    }
    await write(
      ctx.stdout,
      `${JSON.stringify({ bank: name, added: report.added, updated: report.updated, unchanged: report.unchanged, deleted: report.deleted, invalid: report.invalidCount })}\n`,
    );
    return report.invalidCount > 0 ? EXIT.ITEM_ERRORS : EXIT.OK;
  });
}

async function exportBank(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...DB_OPTION,
    format: { type: 'string' },
    out: { type: 'string' },
  });
  const name = oneName(positionals, 'export');
  const format = fileFormat(values.format) ?? 'ndjson'; // checked before any file is touched
  return withStore(
    values,
    async (store) => {
      await store.stats(name); // fails clearly on an unknown bank before anything is written
      if (!values.out) {
        await writeBankFile(allEntries(store, name), format, ctx.stdout);
        return EXIT.OK;
      }
      const path = values.out as string;
      // Opened first, so a bad path is a clear error rather than a stream 'error' event.
      let handle: FileHandle;
      try {
        handle = await open(path, 'w');
      } catch (cause) {
        throw new WardError(
          'WARD_ERR_OUTPUT',
          `Cannot write ${JSON.stringify(path)}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`,
          { path },
          cause,
        );
      }
      const out = handle.createWriteStream();
      await writeBankFile(allEntries(store, name), format, out);
      await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
      return EXIT.OK;
    },
    false,
  );
}

async function list(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values } = parseCommandArgs(argv, { ...DB_OPTION, format: { type: 'string' } });
  return withStore(
    values,
    async (store) => {
      const writer = new RecordWriter<BankWithCounts>(
        ctx.stdout,
        parseFormat(values.format as string | undefined, ctx.stdoutIsTTY),
        (b) =>
          `${b.name.padEnd(24)}  ${b.kind.padEnd(8)}  ${String(b.pdqDistance).padStart(8)}  ${String(b.entries).padStart(10)}`,
        `${'NAME'.padEnd(24)}  ${'KIND'.padEnd(8)}  PDQ DIST     ENTRIES`,
      );
      for (const b of await store.listBanks()) await writer.add(b);
      await writer.end();
      return EXIT.OK;
    },
    false,
  );
}

async function stats(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, { ...DB_OPTION, format: { type: 'string' } });
  const name = oneName(positionals, 'stats');
  return withStore(
    values,
    async (store) => {
      const s = await store.stats(name);
      const format = (values.format as string | undefined) ?? (ctx.stdoutIsTTY ? 'table' : 'json');
      if (format === 'json' || format === 'ndjson') {
        await write(ctx.stdout, `${JSON.stringify(s)}\n`);
      } else {
        const lines = [
          `bank      ${s.bank.name} (${s.bank.kind}, pdq distance ${s.bank.pdqDistance}, version ${s.bank.version})`,
          `entries   ${s.entries}`,
          ...Object.entries(s.bySignal).map(([k, v]) => `  ${k.padEnd(8)}${v}`),
          'labels',
          ...Object.entries(s.byLabel).map(([k, v]) => `  ${k}: ${v}`),
        ];
        await write(ctx.stdout, `${lines.join('\n')}\n`);
      }
      return EXIT.OK;
    },
    false,
  );
}

async function remove(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, DB_OPTION);
  const name = oneName(positionals, 'rm');
  return withStore(
    values,
    async (store) => {
      if (!(await store.deleteBank(name)))
        throw new WardError('WARD_ERR_BANK_NOT_FOUND', `No bank named ${JSON.stringify(name)}`);
      await write(ctx.stdout, `removed bank ${name}\n`);
      return EXIT.OK;
    },
    false,
  );
}
