/**
 * @module cli/commands/dataset
 * `ward dataset audit <path>... [--bank NAME]... [--format table|ndjson|csv] [--out FILE]
 * [--removal-list FILE] [--checkpoint FILE] [--jobs N]` (docs/datasets.md).
 */
import { createHash } from 'node:crypto';
import type { WriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import {
  type AuditRecord,
  auditDatasets,
  type DatasetRowReport,
  type DatasetSummary,
  REMOVAL_COLUMNS,
  removalLine,
} from '../../datasets/audit.js';
import { DatasetCheckpoint } from '../../datasets/checkpoint.js';
import type { ColumnMap } from '../../datasets/types.js';
import { WardError } from '../../errors.js';
import { usePlugins } from '../../registry.js';
import { DEFAULT_SCAN_CONFIG, loadScanConfig, type ScanConfig } from '../../scan/config.js';
import { createScanRunner } from '../../scan/pipeline.js';
import { VERDICTS } from '../../scan/types.js';
import { parseCommandArgs, positiveInt } from '../args.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { openScanMatcher } from '../matching.js';
import { closeOutputFile, openOutputFile, write } from '../output.js';

export const DATASET_USAGE = `Usage: ward dataset audit [options] <path>...

Audits training datasets for known material, from their metadata and stored bytes only: no URL
is ever fetched. Readers: LAION-style metadata parquet (MD5/SHA-256 columns against exact banks,
URLs against URL-hash banks, captions screened), img2dataset / WebDataset tar shards (stored
bytes hashed: MD5, SHA-1, SHA-256, PDQ; the sidecar hash of the original download matched too),
Hugging Face parquet with embedded images, image folders with caption sidecars, COCO JSON.
Each row gets a verdict (match, flag, clean, skipped, error) as in \`ward scan\`; matched rows'
PDQ near-neighbours within the dataset are listed for review; a summary ends each dataset.

Options:
  --bank NAME            match against this bank (repeatable; default: all banks; negative
                         banks always apply)
  --format F             table (default on a terminal), ndjson (default otherwise), csv
  --out FILE             write the report to FILE instead of standard output
  --removal-list FILE    write one line per row to remove (verdict match): CSV, or NDJSON when
                         FILE ends in .ndjson or .jsonl; never images or thumbnails
  --checkpoint FILE      journal finished shards (with their digests) to FILE; rerunning the
                         same command resumes, replaying finished shards' non-clean rows
  --jobs N               worker threads for images (default: all cores)
  --reader NAME          use this reader instead of detecting one (laion-parquet, webdataset,
                         hf-parquet, image-folder, coco, or a plugin's)
  --column FIELD=NAME    the dataset column holding url, caption, key, md5, sha1, sha256,
                         image or scores (comma-separated) (repeatable)
  --knn-radius N         PDQ radius of the neighbour listing (default 31; 0: off)
  --skip-clean           leave clean rows out of the report (the summary still counts them)
  --config FILE          JSON or YAML: match options, verdict policy, limits (docs/scan.md)
  --db PATH|URL          database: SQLite file or postgres:// URL (default: $DATABASE_URL, else
                         $WARD_DB, else ~/.local/share/ward/ward.db); never created here
  --plugin MODULE        load a plugin module (dataset readers, signal types...; repeatable)

Exit status: 0 nothing found, 1 something matched or was flagged, 2 only errors (rows or shards
could not be read), 3 usage or configuration error.`;

type DatasetFormat = 'table' | 'ndjson' | 'csv';
const FORMATS: readonly DatasetFormat[] = ['table', 'ndjson', 'csv'];

const COLUMN_FIELDS = ['url', 'caption', 'key', 'md5', 'sha1', 'sha256', 'image', 'scores'] as const;

export function parseColumns(specs: readonly string[]): ColumnMap {
  const map: { -readonly [K in keyof ColumnMap]: ColumnMap[K] } = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const field = eq < 0 ? spec : spec.slice(0, eq);
    const name = eq < 0 ? '' : spec.slice(eq + 1);
    if (!(COLUMN_FIELDS as readonly string[]).includes(field) || name === '')
      throw new WardError(
        'WARD_ERR_USAGE',
        `Expected --column FIELD=NAME with FIELD one of ${COLUMN_FIELDS.join(', ')}, but received ${JSON.stringify(spec)}`,
      );
    if (field === 'scores') map.scores = name.split(',').filter((s) => s !== '');
    else map[field as Exclude<(typeof COLUMN_FIELDS)[number], 'scores'>] = name;
  }
  return map;
}

function csvCell(v: unknown): string {
  const s = v === undefined || v === null ? '' : String(v);
  // A leading = + - @ is prefixed so spreadsheets never run it as a formula.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

const ROW_CSV = [
  'dataset',
  'shard',
  'key',
  'row',
  'url',
  'verdict',
  'score',
  'reasons',
  'matches',
  'md5',
  'sha256',
  'pdq',
  'url-sha256',
  'error',
] as const;

function rowCsv(r: DatasetRowReport): string {
  const cells: Record<(typeof ROW_CSV)[number], unknown> = {
    dataset: r.dataset,
    shard: r.shard,
    key: r.key,
    row: r.row,
    url: r.url,
    verdict: r.verdict,
    score: r.score,
    reasons: r.reasons.map((x) => x.message).join('; '),
    matches: r.matches.map((m) => `${m.bank}:${m.signal}:${m.distance}`).join(' '),
    md5: r.signals.md5 ?? r.declared?.md5,
    sha256: r.signals.sha256 ?? r.declared?.sha256,
    pdq: r.signals.pdq,
    'url-sha256': r.signals['url-sha256'],
    error: r.error?.code,
  };
  return ROW_CSV.map((c) => csvCell(cells[c])).join(',');
}

/** Control characters in names are shown escaped, never sent to the terminal. */
function printable(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function tableLine(rec: AuditRecord): string {
  if (rec.kind === 'row') {
    const why =
      rec.verdict === 'error' && rec.error && rec.reasons.length <= 1
        ? `${rec.error.code}: ${rec.error.message}`
        : rec.reasons.map((x) => x.message).join('; ');
    return `${rec.verdict.toUpperCase().padEnd(8)} ${printable(`${rec.shard} :: ${rec.key}`)}${why ? `  (${printable(why)})` : ''}`;
  }
  if (rec.kind === 'neighbours')
    return `NEAR     ${printable(`${rec.shard} :: ${rec.key}`)}: ${rec.neighbours.length} near-duplicates within distance ${rec.radius}: ${rec.neighbours
      .slice(0, 5)
      .map((n) => printable(`${n.shard} :: ${n.key} (${n.distance})`))
      .join(', ')}${rec.neighbours.length > 5 ? ', ...' : ''}`;
  return summaryText(rec);
}

export function summaryText(s: DatasetSummary): string {
  const counts = VERDICTS.map((v) => `${v} ${s.verdicts[v]}`).join(', ');
  const rate = s.seconds > 0 ? ` (${Math.round(s.rows / s.seconds)} rows/s)` : '';
  const lines = [
    `Dataset ${printable(s.dataset)} (${s.reader}): ${s.rows} rows in ${s.shards} shards, ${s.seconds.toFixed(1)} s${rate}: ${counts}`,
  ];
  if (s.resumedShards > 0) lines.push(`  ${s.resumedShards} shards replayed from the checkpoint`);
  const reasons = Object.entries(s.reasons).sort((a, b) => b[1] - a[1]);
  if (reasons.length > 0) lines.push(`  by reason: ${reasons.map(([k, n]) => `${printable(k)} ${n}`).join(', ')}`);
  if (s.neighbourRows > 0) lines.push(`  ${s.neighbourRows} matched rows have near-duplicates in the dataset`);
  for (const k of s.shardsSkipped)
    lines.push(`  shard ${printable(k.shard)} skipped after ${k.rowsRead} rows: ${k.code}: ${printable(k.message)}`);
  return lines.join('\n');
}

/** Buffers small writes (a row is ~1 KB; millions of them). */
class Buffered {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly out: Writable) {}
  async add(s: string): Promise<void> {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= 1 << 16) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    await write(this.out, text);
  }
}

export async function datasetCommand(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const [sub, ...rest] = argv;
  if (sub !== 'audit')
    throw new WardError(
      'WARD_ERR_USAGE',
      sub === undefined ? 'ward dataset needs a subcommand: audit' : `Unknown subcommand ward dataset ${sub}`,
    );
  const { values, positionals } = parseCommandArgs(rest, {
    db: { type: 'string' },
    plugin: { type: 'string', multiple: true },
    bank: { type: 'string', multiple: true },
    jobs: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    'removal-list': { type: 'string' },
    checkpoint: { type: 'string' },
    config: { type: 'string' },
    reader: { type: 'string' },
    column: { type: 'string', multiple: true },
    'knn-radius': { type: 'string' },
    'skip-clean': { type: 'boolean' },
  });
  if (positionals.length === 0) throw new WardError('WARD_ERR_USAGE', 'ward dataset audit needs dataset paths');
  const jobs = values.jobs === undefined ? availableParallelism() : positiveInt('--jobs', values.jobs as string);
  const outPath = values.out as string | undefined;
  const formatArg = values.format as string | undefined;
  if (formatArg !== undefined && !(FORMATS as readonly string[]).includes(formatArg))
    throw new WardError(
      'WARD_ERR_USAGE',
      `Expected one of ${FORMATS.join(', ')} for \`--format\` but received ${JSON.stringify(formatArg)}`,
    );
  const format: DatasetFormat =
    (formatArg as DatasetFormat | undefined) ?? (outPath === undefined && ctx.stdoutIsTTY ? 'table' : 'ndjson');
  const knnArg = values['knn-radius'] as string | undefined;
  const knnRadius = knnArg === undefined ? undefined : Number(knnArg);
  if (knnRadius !== undefined && !(Number.isInteger(knnRadius) && knnRadius >= 0 && knnRadius <= 256))
    throw new WardError(
      'WARD_ERR_USAGE',
      `Expected an integer 0-256 for --knn-radius but received ${JSON.stringify(knnArg)}`,
    );
  const columns = parseColumns((values.column as string[] | undefined) ?? []);
  const config: ScanConfig = values.config ? await loadScanConfig(values.config as string) : DEFAULT_SCAN_CONFIG;
  const skipClean = values['skip-clean'] === true;
  const removalPath = values['removal-list'] as string | undefined;
  const reader = values.reader as string | undefined;

  await usePlugins([...((values.plugin as string[] | undefined) ?? []), ...config.plugins]);
  const { store, matcher } = await openScanMatcher(
    values.db as string | undefined,
    values.bank as string[] | undefined,
    ctx.stderr,
  );
  let checkpoint: DatasetCheckpoint | undefined;
  let out: WriteStream | undefined;
  let removal: WriteStream | undefined;
  const runner = createScanRunner(config, jobs);
  try {
    if (values.checkpoint) {
      const fingerprint = createHash('sha256')
        .update(
          JSON.stringify({
            datasets: positionals.map((p) => resolve(p)),
            reader: reader ?? null,
            columns,
            knnRadius: knnRadius ?? null,
            banks: (matcher?.banks ?? []).map((b) => [b.name, b.version]),
            config,
          }),
        )
        .digest('hex');
      checkpoint = DatasetCheckpoint.open(values.checkpoint as string, fingerprint);
    }
    let target: Writable = ctx.stdout;
    if (outPath !== undefined) {
      out = await openOutputFile(outPath);
      target = out;
    }
    const report = new Buffered(target);
    let removalOut: Buffered | undefined;
    const removalNdjson = removalPath !== undefined && /\.(nd)?jsonl?$/i.test(removalPath);
    if (removalPath !== undefined) {
      removal = await openOutputFile(removalPath);
      removalOut = new Buffered(removal);
      if (!removalNdjson) await removalOut.add(`${REMOVAL_COLUMNS.join(',')}\n`);
    }
    if (format === 'csv') await report.add(`${ROW_CSV.join(',')}\n`);
    const totals = { match: 0, flag: 0, error: 0 };
    for await (const rec of auditDatasets(positionals, {
      config,
      matcher,
      runner,
      window: Math.max(8, jobs * 4),
      columns,
      ...(reader !== undefined ? { reader } : {}),
      ...(knnRadius !== undefined ? { knnRadius } : {}),
      ...(checkpoint ? { checkpoint } : {}),
    })) {
      if (rec.kind === 'row') {
        const line = removalLine(rec, config);
        if (line && removalOut)
          await removalOut.add(
            removalNdjson ? `${JSON.stringify(line)}\n` : `${REMOVAL_COLUMNS.map((c) => csvCell(line[c])).join(',')}\n`,
          );
        if (skipClean && rec.verdict === 'clean') continue;
      }
      if (rec.kind === 'summary') {
        totals.match += rec.verdicts.match;
        totals.flag += rec.verdicts.flag;
        totals.error += rec.verdicts.error + rec.shardsSkipped.length;
        if (format !== 'table' || outPath !== undefined) ctx.stderr.write(`${summaryText(rec)}\n`);
        if (format === 'csv') continue;
      }
      if (format === 'ndjson') await report.add(`${JSON.stringify(rec)}\n`);
      else if (format === 'csv') {
        if (rec.kind === 'row') await report.add(`${rowCsv(rec)}\n`);
      } else await report.add(`${tableLine(rec)}\n`);
    }
    await report.flush();
    await removalOut?.flush();
    if (out) await closeOutputFile(out, outPath as string);
    out = undefined;
    if (removal) await closeOutputFile(removal, removalPath as string);
    removal = undefined;
    if (totals.match + totals.flag > 0) return EXIT.FOUND;
    return totals.error > 0 ? EXIT.ITEM_ERRORS : EXIT.OK;
  } finally {
    await runner.close();
    checkpoint?.close();
    out?.destroy();
    removal?.destroy();
    await store?.close();
  }
}
