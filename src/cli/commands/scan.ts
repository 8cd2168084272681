/**
 * @module cli/commands/scan
 * `ward scan [--bank NAME]... [--jobs N] [--format table|ndjson|json|csv] [--out FILE]
 * [--checkpoint FILE] [--config FILE] [--from FILE] <path>...`
 */
import { createHash } from 'node:crypto';
import { createReadStream, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { WardError } from '../../errors.js';
import { walkInputs } from '../../media/walk.js';
import { usePlugins } from '../../registry.js';
import { Checkpoint } from '../../scan/checkpoint.js';
import { DEFAULT_SCAN_CONFIG, loadScanConfig, type ScanConfig } from '../../scan/config.js';
import { scan } from '../../scan/pipeline.js';
import type { ItemReport } from '../../scan/types.js';
import { parseCommandArgs, positiveInt } from '../args.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { openScanMatcher } from '../matching.js';
import { closeOutputFile, openOutputFile } from '../output.js';
import { ProgressBar } from '../progress.js';
import { emptySummary, parseScanFormat, ScanWriter, summaryText } from '../scan-output.js';

export const SCAN_USAGE = `Usage: ward scan [options] <path>...
       ward scan [options] --from FILE

Scans files, directories and archives (zip, tar, tar.gz, nested) for known material: every item is
fingerprinted, matched against banks, and given a verdict: match, flag, clean, skipped or error.
Content type comes from magic bytes, never from the file name.

Options:
  --bank NAME          match against this bank (repeatable; default: all banks; negative
                       banks always apply)
  --jobs N             worker threads (default: all cores)
  --format F           table (default on a terminal), ndjson (default otherwise), json, csv
  --out FILE           write the report to FILE instead of standard output
  --checkpoint FILE    journal finished items to FILE; rerunning the same command resumes
                       where a stopped or crashed scan left off, without rescanning
  --config FILE        JSON or YAML: match options, verdict policy, limits (docs/scan.md)
  --from FILE          read paths to scan from FILE, one per line (- for standard input)
  --dihedral           also match rotations and flips (same as match.dihedral in --config)
  --db PATH|URL        database: SQLite file or postgres:// URL (default: $DATABASE_URL, else
                       $WARD_DB, else ~/.local/share/ward/ward.db); never created by ward scan
  --plugin MODULE      load a plugin module (repeatable; also \`plugins:\` in --config)

Exit status: 0 nothing found, 1 something matched or was flagged, 2 only errors (some items
could not be read or decoded), 3 usage or configuration error.`;

export async function scanCommand(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    db: { type: 'string' },
    bank: { type: 'string', multiple: true },
    jobs: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    checkpoint: { type: 'string' },
    config: { type: 'string' },
    from: { type: 'string' },
    dihedral: { type: 'boolean' },
    plugin: { type: 'string', multiple: true },
  });
  const from = values.from as string | undefined;
  if (positionals.length === 0 && from === undefined)
    throw new WardError('WARD_ERR_USAGE', 'ward scan needs files, directories or --from FILE');
  const jobs = values.jobs === undefined ? undefined : positiveInt('--jobs', values.jobs as string);
  const outPath = values.out as string | undefined;
  const format = parseScanFormat(values.format as string | undefined, outPath === undefined && ctx.stdoutIsTTY);
  let config: ScanConfig = values.config ? await loadScanConfig(values.config as string) : DEFAULT_SCAN_CONFIG;
  if (values.dihedral === true) config = { ...config, match: { ...config.match, dihedral: true } };

  // Plugins first: their signal types must be in the registry when the banks' indexes load.
  const plugins = [...((values.plugin as string[] | undefined) ?? []), ...config.plugins];
  await usePlugins(plugins);
  const { store, matcher } = await openScanMatcher(
    values.db as string | undefined,
    values.bank as string[] | undefined,
    ctx.stderr,
  );
  let checkpoint: Checkpoint | undefined;
  let out: WriteStream | undefined;
  try {
    if (values.checkpoint) {
      const fingerprint = createHash('sha256')
        .update(
          JSON.stringify({
            inputs: positionals.map((p) => resolve(p)),
            from: from === undefined || from === '-' ? from : { path: resolve(from), sha256: await fileSha256(from) },
            banks: (matcher?.banks ?? []).map((b) => [b.name, b.version]),
            config,
          }),
        )
        .digest('hex');
      checkpoint = await Checkpoint.open(values.checkpoint as string, fingerprint);
    }
    let target: Writable = ctx.stdout;
    if (outPath !== undefined) {
      out = await openOutputFile(outPath, 'the report file');
      target = out;
    }
    const writer = new ScanWriter(target, format);
    const summary = emptySummary();
    const started = Date.now();
    const progress = ctx.stderrIsTTY ? new ProgressBar(ctx.stderr, process.stderr.columns ?? 100) : undefined;
    if (progress && positionals.length > 0) void countFiles(positionals).then((n) => progress.setTotal(n));
    const sharesTerminal = outPath === undefined && ctx.stdoutIsTTY;
    const record = async (r: ItemReport): Promise<void> => {
      summary.items++;
      summary.verdicts[r.verdict]++;
      if (sharesTerminal) progress?.clear(); // the bar is redrawn below the row
      await writer.add(r);
      progress?.tick(r.verdict);
    };
    await writer.start(new Date(started));
    if (checkpoint) {
      for await (const r of checkpoint.replay()) {
        summary.resumed++;
        await record(r);
      }
    }
    if (!checkpoint?.completed) {
      const cp = checkpoint;
      const inputs = from === undefined ? positionals : concat(positionals, readPathList(from));
      for await (const r of scan(inputs, {
        config,
        jobs,
        ...(matcher ? { matcher } : {}),
        plugins,
        ...(cp
          ? {
              skipItem: (key: string) => cp.hasItem(key),
              skipContainer: (key: string) => cp.hasContainer(key),
              onContainerEnd: (key: string) => cp.containerDone(key),
            }
          : {}),
      })) {
        await record(r);
        cp?.itemDone(r);
      }
      cp?.complete();
    }
    summary.seconds = (Date.now() - started) / 1000;
    progress?.clear();
    await writer.end(summary);
    if (format !== 'table' || outPath !== undefined) ctx.stderr.write(`${summaryText(summary)}\n`);
    if (out) await closeOutputFile(out, outPath as string, 'the report file');
    out = undefined;
    if (summary.verdicts.match + summary.verdicts.flag > 0) return EXIT.FOUND;
    return summary.verdicts.error > 0 ? EXIT.ITEM_ERRORS : EXIT.OK;
  } finally {
    checkpoint?.close();
    out?.destroy();
    await store?.close();
  }
}

/** The path list's content is part of a checkpoint's fingerprint: another list is another scan. */
async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  } catch (cause) {
    throw new WardError(
      'WARD_ERR_INPUT_NOT_FOUND',
      `Cannot read the path list ${JSON.stringify(path)}`,
      { path },
      cause,
    );
  }
  return h.digest('hex');
}

/** Counts files under the inputs for the progress bar's ETA (runs beside the scan). */
async function countFiles(inputs: string[]): Promise<number> {
  let n = 0;
  for await (const e of walkInputs(inputs)) if (!('error' in e)) n++;
  return n;
}

async function* concat(first: string[], rest: AsyncIterable<string>): AsyncGenerator<string> {
  yield* first;
  yield* rest;
}

/** Paths, one per line; blank lines and lines starting with # are ignored. */
async function* readPathList(file: string): AsyncGenerator<string> {
  const input = file === '-' ? process.stdin : createReadStream(file);
  try {
    for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
      const path = line.trim() === '' ? '' : line.replace(/\r$/, '');
      if (path !== '' && !path.startsWith('#')) yield path;
    }
  } catch (cause) {
    throw new WardError(
      'WARD_ERR_INPUT_NOT_FOUND',
      `Cannot read the path list ${JSON.stringify(file)}`,
      { path: file },
      cause,
    );
  }
}
