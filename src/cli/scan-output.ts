/**
 * @module cli/scan-output
 * `ward scan` reports as table, NDJSON (one item per line, the contract), a JSON document
 * (schema version, items, summary) or CSV (one row per item, for spreadsheets).
 */
import type { Writable } from 'node:stream';
import { WardError } from '../errors.js';
import { type ItemReport, REPORT_SCHEMA_VERSION, VERDICTS, type Verdict } from '../scan/types.js';
import { VERSION } from '../version.js';
import { write } from './output.js';

export type ScanFormat = 'table' | 'ndjson' | 'json' | 'csv';
export const SCAN_FORMATS: readonly ScanFormat[] = ['table', 'ndjson', 'json', 'csv'];

export function parseScanFormat(value: string | undefined, isTTY: boolean): ScanFormat {
  if (value === undefined) return isTTY ? 'table' : 'ndjson';
  if ((SCAN_FORMATS as readonly string[]).includes(value)) return value as ScanFormat;
  throw new WardError(
    'WARD_ERR_USAGE',
    `Expected one of ${SCAN_FORMATS.join(', ')} for \`--format\` but received ${JSON.stringify(value)}`,
  );
}

export interface ScanSummary {
  items: number;
  verdicts: Record<Verdict, number>;
  seconds: number;
  /** Items replayed from a checkpoint rather than scanned in this run. */
  resumed: number;
}

export function emptySummary(): ScanSummary {
  return { items: 0, verdicts: { match: 0, flag: 0, clean: 0, skipped: 0, error: 0 }, seconds: 0, resumed: 0 };
}

const CSV_COLUMNS = [
  'path',
  'archivePath',
  'contentType',
  'format',
  'size',
  'verdict',
  'score',
  'reasons',
  'matches',
  'pdq',
  'quality',
  'md5',
  'sha1',
  'sha256',
  'error',
] as const;

function csvCell(v: unknown): string {
  const s = v === undefined || v === null ? '' : String(v);
  // Quote when needed; a leading = + - @ is prefixed so spreadsheets never run it as a formula.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function csvRow(r: ItemReport): string {
  const cells: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    path: r.path,
    archivePath: r.archivePath,
    contentType: r.contentType,
    format: r.format,
    size: r.size,
    verdict: r.verdict,
    score: r.score,
    reasons: r.reasons.map((x) => x.message).join('; '),
    matches: r.matches.map((m) => `${m.bank}:${m.signal}:${m.distance}`).join(' '),
    pdq: r.signals.pdq,
    quality: r.signals.quality,
    md5: r.signals.md5,
    sha1: r.signals.sha1,
    sha256: r.signals.sha256,
    error: r.error?.code,
  };
  return CSV_COLUMNS.map((c) => csvCell(cells[c])).join(',');
}

function label(r: ItemReport): string {
  return r.archivePath === undefined ? r.path : `${r.path} :: ${r.archivePath}`;
}

/** Control characters in names (hostile archives) are shown escaped, never sent to the terminal. */
function printable(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function tableRow(r: ItemReport): string {
  const verdict = r.verdict.toUpperCase().padEnd(8);
  const type = r.contentType.padEnd(8);
  let why = '';
  if (r.verdict === 'error' && r.error) why = `${r.error.code}: ${r.error.message}`;
  else if (r.reasons.length > 0) why = r.reasons.map((x) => x.message).join('; ');
  return `${verdict} ${type} ${printable(label(r))}${why ? `  (${printable(why)})` : ''}`;
}

export class ScanWriter {
  private count = 0;

  constructor(
    private readonly out: Writable,
    readonly format: ScanFormat,
  ) {}

  async start(startedAt: Date): Promise<void> {
    if (this.format === 'csv') await write(this.out, `${CSV_COLUMNS.join(',')}\n`);
    if (this.format === 'json')
      await write(
        this.out,
        `{"schemaVersion":${REPORT_SCHEMA_VERSION},"tool":{"name":"ward","version":${JSON.stringify(VERSION)}},"startedAt":${JSON.stringify(startedAt.toISOString())},"items":[`,
      );
  }

  async add(r: ItemReport): Promise<void> {
    const first = this.count++ === 0;
    if (this.format === 'ndjson') return write(this.out, `${JSON.stringify(r)}\n`);
    if (this.format === 'json') return write(this.out, `${first ? '\n' : ',\n'}${JSON.stringify(r)}`);
    if (this.format === 'csv') return write(this.out, `${csvRow(r)}\n`);
    return write(this.out, `${tableRow(r)}\n`);
  }

  async end(summary: ScanSummary): Promise<void> {
    if (this.format === 'json') await write(this.out, `\n],"summary":${JSON.stringify(summary)}}\n`);
    if (this.format === 'table') await write(this.out, `${summaryText(summary)}\n`);
  }
}

export function summaryText(s: ScanSummary): string {
  const rate = s.seconds > 0 ? ` (${((s.items - s.resumed) / s.seconds).toFixed(1)} items/s)` : '';
  const counts = VERDICTS.map((v) => `${v} ${s.verdicts[v]}`).join(', ');
  const resumed = s.resumed > 0 ? `, ${s.resumed} from the checkpoint` : '';
  return `Scanned ${s.items} items in ${s.seconds.toFixed(1)} s${rate}${resumed}: ${counts}`;
}
