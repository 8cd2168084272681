/**
 * @module banks/formats/read
 * Streaming reader for bank files (lines, csv, tsv, te-csv, ndjson). Memory stays bounded by the
 * longest accepted line: a multi-gigabyte file is never buffered. Bad lines become row issues and
 * reading goes on; only whole-file problems (empty file, bad header, unknown mapped column) throw.
 */
import { invalidParameter, WardError } from '../../errors.js';
import { getSignalType } from '../../signals/builtin.js';
import {
  BANK_FILE_FORMATS,
  type BankFileFormat,
  type ColumnMapping,
  type ParsedEntry,
  type ReadBankFileOptions,
  type RowIssue,
} from '../types.js';
import { detectSignal, resolveSignalType, sniffFormat } from './detect.js';

/** 1 MiB: a vPDQ value of an hour of video at one frame per second is about 270 KB. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
export const MAX_LABEL_CHARS = 128;

/** A physical line: its text, or `undefined` when it was longer than the limit (its bytes are gone). */
interface RawLine {
  line: number;
  text: string | undefined;
}

type RowResult = ParsedEntry | RowIssue | undefined;
type RowParser = (raw: RawLine & { text: string }) => RowResult;

interface Settings {
  format: BankFileFormat | undefined;
  signal: string | undefined;
  columns: ColumnMapping | undefined;
  maxLineBytes: number;
}

/**
 * Reads a bank file as a stream of parsed entries and row issues, in file order. Duplicates are
 * kept: the store makes imports idempotent.
 */
export async function* readBankFile(
  input: AsyncIterable<Buffer | string> | NodeJS.ReadableStream,
  options: ReadBankFileOptions = {},
): AsyncGenerator<ParsedEntry | RowIssue> {
  const settings = checkOptions(options);
  const splitter = new LineSplitter(settings.maxLineBytes);
  const lines: RawLine[] = [];
  let parse: RowParser | undefined;

  const handle = (raw: RawLine): RowResult => {
    if (raw.text !== undefined && raw.text.trim() === '') return undefined;
    if (parse === undefined) {
      const start = startParser(raw, settings);
      parse = start.parse;
      if (start.consumed) return undefined;
    }
    if (raw.text === undefined) return tooLong(raw.line, settings.maxLineBytes);
    return parse(raw as RawLine & { text: string });
  };

  for await (const chunk of input as AsyncIterable<unknown>) {
    splitter.push(chunk, lines);
    for (const raw of lines) {
      const result = handle(raw);
      if (result !== undefined) yield result;
    }
    lines.length = 0;
  }
  splitter.end(lines);
  for (const raw of lines) {
    const result = handle(raw);
    if (result !== undefined) yield result;
  }
  if (parse === undefined) throw new WardError('WARD_ERR_BANK_FORMAT', 'The file is empty');
}

function checkOptions(options: ReadBankFileOptions): Settings {
  if (typeof options !== 'object' || options === null) throw invalidParameter('options', 'an object', options);
  const { format, signal, columns, maxLineBytes = DEFAULT_MAX_LINE_BYTES } = options;
  if (format !== undefined && !BANK_FILE_FORMATS.includes(format)) {
    throw new WardError(
      'WARD_ERR_CONFIG_INVALID',
      `Unknown bank file format: expected ${BANK_FILE_FORMATS.join(', ')}`,
      {
        expected: BANK_FILE_FORMATS.join(', '),
      },
    );
  }
  if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) {
    throw new WardError('WARD_ERR_CONFIG_INVALID', 'maxLineBytes must be a positive integer', {
      actual: String(maxLineBytes),
    });
  }
  // Checked up front so a typo fails once, not as a row issue on every line.
  return { format, signal: signal === undefined ? undefined : resolveSignalType(signal).name, columns, maxLineBytes };
}

// ---------------------------------------------------------------------------------------------
// Lines

/**
 * Splits bytes into lines. Keeps only the current line's bytes; once a line passes the limit its
 * bytes are dropped as they arrive and the line is reported as too long.
 */
class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private skipping = false;
  private inLine = false;
  private lineNo = 0;
  /** A high surrogate ending a string chunk: encoding it alone would corrupt the character. */
  private carry = '';

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: unknown, out: RawLine[]): void {
    let bytes: Buffer;
    if (typeof chunk === 'string') {
      let text = this.carry + chunk;
      this.carry = '';
      const last = text.charCodeAt(text.length - 1);
      if (last >= 0xd800 && last <= 0xdbff) {
        this.carry = text.slice(-1);
        text = text.slice(0, -1);
      }
      bytes = Buffer.from(text, 'utf8');
    } else if (chunk instanceof Uint8Array) {
      this.flushCarry(out);
      bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    } else {
      throw invalidParameter('input', 'a stream of Buffer or string chunks', chunk);
    }
    let start = 0;
    while (start < bytes.length) {
      const nl = bytes.indexOf(10, start);
      if (nl === -1) {
        this.take(bytes, start, bytes.length, true);
        return;
      }
      this.take(bytes, start, nl, false);
      out.push(this.finish());
      start = nl + 1;
    }
  }

  end(out: RawLine[]): void {
    this.flushCarry(out);
    if (this.inLine) out.push(this.finish());
  }

  private flushCarry(out: RawLine[]): void {
    if (this.carry === '') return;
    const text = this.carry;
    this.carry = '';
    this.push(Buffer.from(text, 'utf8'), out);
  }

  private take(bytes: Buffer, start: number, end: number, keep: boolean): void {
    this.inLine = true;
    if (this.skipping || start === end) return;
    // One extra byte for the \r of a CRLF, removed when the line ends.
    if (this.pendingBytes + (end - start) > this.maxLineBytes + 1) {
      this.skipping = true;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    // A piece that outlives this chunk is copied so it does not pin the whole chunk in memory.
    const piece = bytes.subarray(start, end);
    this.pending.push(keep ? Buffer.from(piece) : piece);
    this.pendingBytes += end - start;
  }

  private finish(): RawLine {
    const line = ++this.lineNo;
    const pieces = this.pending;
    const skipped = this.skipping;
    this.pending = [];
    this.pendingBytes = 0;
    this.skipping = false;
    this.inLine = false;
    if (skipped) return { line, text: undefined };
    const bytes = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
    let length = bytes.length;
    if (length > 0 && bytes[length - 1] === 13) length--;
    if (length > this.maxLineBytes) return { line, text: undefined };
    let text = bytes.toString('utf8', 0, length);
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { line, text };
  }
}

// ---------------------------------------------------------------------------------------------
// Formats

/** Picks the row parser from the first non-blank line, which may be a header (then `consumed`). */
function startParser(first: RawLine, settings: Settings): { parse: RowParser; consumed: boolean } {
  let format = settings.format;
  if (format === undefined) {
    if (first.text === undefined) {
      throw new WardError(
        'WARD_ERR_BANK_FORMAT',
        `The first line is longer than ${settings.maxLineBytes} bytes, so the format cannot be detected: give the format`,
        { limit: settings.maxLineBytes },
      );
    }
    format = sniffFormat(first.text);
  }
  switch (format) {
    case 'lines':
      return { parse: (raw) => parseLinesRow(raw, settings), consumed: false };
    case 'ndjson':
      return { parse: (raw) => parseNdjsonRow(raw, settings), consumed: false };
    case 'csv':
    case 'tsv':
      return { parse: delimitedParser(format, first, settings), consumed: true };
    case 'te-csv': {
      const isHeader = first.text !== undefined && firstFieldIsHash(first.text);
      return { parse: teCsvParser(isHeader ? first : undefined, settings), consumed: isHeader };
    }
  }
}

function parseLinesRow(raw: RawLine & { text: string }, settings: Settings): RowResult {
  const value = raw.text.trim();
  if (value.startsWith('#')) return undefined;
  return makeEntry(raw.line, value, undefined, [], undefined, settings);
}

interface Columns {
  count: number;
  value: number;
  signal?: number;
  labels?: number;
  id?: number;
}

const CSV_DEFAULTS = {
  value: ['value', 'hash', 'signal_value'],
  signal: ['signal', 'signal_type'],
  labels: ['labels', 'tags'],
  id: ['id', 'source_id', 'indicator_id'],
};

const TE_DEFAULTS = { value: ['hash'], signal: [], labels: ['tags', 'labels'], id: ['id', 'indicator_id'] };

function delimitedParser(format: 'csv' | 'tsv', first: RawLine, settings: Settings): RowParser {
  const split = format === 'csv' ? splitCsvLine : splitTsvLine;
  const names = parseHeader(first, split, settings);
  const columns = mapColumns(names, settings.columns, CSV_DEFAULTS);
  return (raw) => {
    const fields = split(raw.text);
    if (typeof fields === 'string') return issue(raw.line, `Malformed ${format.toUpperCase()} line: ${fields}`);
    if (fields.length !== columns.count) {
      return issue(raw.line, `Expected ${columns.count} fields like the header, found ${fields.length}`);
    }
    return entryFromFields(raw.line, fields, columns, undefined, settings);
  };
}

function teCsvParser(header: RawLine | undefined, settings: Settings): RowParser {
  if (header === undefined) {
    if (settings.columns !== undefined) {
      throw new WardError(
        'WARD_ERR_BANK_FORMAT',
        'A column mapping needs a header line, and this te-csv file has none',
      );
    }
    return (raw) => {
      const fields = splitCsvLine(raw.text);
      if (typeof fields === 'string') return issue(raw.line, `Malformed CSV line: ${fields}`);
      return makeEntry(raw.line, fields[0], 'pdq', [], undefined, settings);
    };
  }
  const names = parseHeader(header, splitCsvLine, settings);
  const columns = mapColumns(names, settings.columns, TE_DEFAULTS);
  return (raw) => {
    const fields = splitCsvLine(raw.text);
    if (typeof fields === 'string') return issue(raw.line, `Malformed CSV line: ${fields}`);
    if (fields.length !== columns.count) {
      return issue(raw.line, `Expected ${columns.count} fields like the header, found ${fields.length}`);
    }
    return entryFromFields(raw.line, fields, columns, 'pdq', settings);
  };
}

function firstFieldIsHash(text: string): boolean {
  const fields = splitCsvLine(text);
  return typeof fields !== 'string' && fields[0].trim().toLowerCase() === 'hash';
}

function parseHeader(first: RawLine, split: (line: string) => string[] | string, settings: Settings): string[] {
  if (first.text === undefined) {
    throw new WardError('WARD_ERR_BANK_FORMAT', `The header line is longer than ${settings.maxLineBytes} bytes`, {
      limit: settings.maxLineBytes,
      line: first.line,
    });
  }
  const names = split(first.text);
  if (typeof names === 'string') {
    throw new WardError('WARD_ERR_BANK_FORMAT', `The header line (line ${first.line}) does not parse: ${names}`, {
      line: first.line,
    });
  }
  return names.map((n) => n.trim().toLowerCase());
}

function mapColumns(
  names: string[],
  mapping: ColumnMapping | undefined,
  defaults: Record<keyof ColumnMapping, string[]>,
): Columns {
  const roles = ['value', 'signal', 'labels', 'id'] as const;
  const found: Partial<Record<keyof ColumnMapping, number>> = {};
  for (const role of roles) {
    const wanted = mapping?.[role];
    if (wanted === undefined) continue;
    if (typeof wanted !== 'string') throw invalidParameter(`columns.${role}`, 'a column name', wanted);
    const index = names.indexOf(wanted.trim().toLowerCase());
    if (index === -1) {
      const listed = names.map((n) => JSON.stringify(n.slice(0, 20))).slice(0, 20);
      throw new WardError(
        'WARD_ERR_BANK_FORMAT',
        `The header has no column ${JSON.stringify(wanted.slice(0, 40))} (mapped as ${role}); it has ${listed.join(', ')}`,
        { expected: wanted },
      );
    }
    found[role] = index;
  }
  const taken = () => new Set(Object.values(found));
  for (const role of roles) {
    if (found[role] !== undefined) continue;
    const used = taken();
    for (const name of defaults[role]) {
      const index = names.indexOf(name);
      if (index !== -1 && !used.has(index)) {
        found[role] = index;
        break;
      }
    }
  }
  if (found.value === undefined) {
    // No named value column: the first column that has no other role, so `id,hash_md5` reads the hash.
    const used = taken();
    const free = names.findIndex((_, i) => !used.has(i));
    found.value = free === -1 ? 0 : free;
  }
  return { count: names.length, value: found.value, signal: found.signal, labels: found.labels, id: found.id };
}

function decodeLabel(raw: string): string {
  return raw.trim().replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

function decodeId(raw: string | undefined): string | undefined {
  return raw === undefined ? undefined : decodeLabel(raw);
}

function entryFromFields(
  line: number,
  fields: string[],
  columns: Columns,
  signalHint: string | undefined,
  settings: Settings,
): ParsedEntry | RowIssue {
  const signal = columns.signal === undefined ? signalHint : fields[columns.signal];
  // Labels and ids as banks/formats/write encodes them (percent-encoded `%`, `;`, `|`, controls, formula starts).
  const labels = columns.labels === undefined ? [] : fields[columns.labels].split(/[;|]/).map(decodeLabel);
  const id = columns.id === undefined ? undefined : decodeId(fields[columns.id]);
  return makeEntry(line, fields[columns.value], signal, labels, id, settings);
}

function parseNdjsonRow(raw: RawLine & { text: string }, settings: Settings): RowResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.text);
  } catch {
    return issue(raw.line, 'Not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return issue(raw.line, 'Expected a JSON object');
  }
  const record = parsed as Record<string, unknown>;
  let signal: string | undefined;
  let value: unknown;
  if (Object.hasOwn(record, 'value')) {
    value = record.value;
    const s = record.signal;
    if (s !== undefined && s !== null) {
      if (typeof s !== 'string') return issue(raw.line, 'The "signal" field must be a string');
      signal = s;
    }
  } else {
    const keys = Object.keys(record).filter((k) => getSignalType(k) !== undefined);
    if (keys.length === 0) {
      return issue(raw.line, 'No value: expected "signal" and "value" fields, or a signal name such as "pdq" as key');
    }
    if (keys.length > 1) return issue(raw.line, `Several signal fields (${keys.join(', ')}): give one per line`);
    signal = keys[0];
    value = record[signal];
  }
  // A vPDQ value may be given as the JSON list itself (python-threatexchange's list, `ward hash`'s frames).
  if (Array.isArray(value) && (signal === undefined || signal.trim().toLowerCase() === 'vpdq'))
    value = JSON.stringify(value);
  if (typeof value !== 'string') return issue(raw.line, 'The value must be a string');

  let labels: string[];
  const l = record.labels;
  if (l === undefined || l === null) labels = [];
  else if (typeof l === 'string') labels = l.split(/[;|]/);
  else if (Array.isArray(l) && l.every((x) => typeof x === 'string')) labels = l;
  else return issue(raw.line, 'The "labels" field must be an array of strings or a string');

  let id: string | undefined;
  const rawId = record.id ?? record.sourceId;
  if (typeof rawId === 'string') id = rawId;
  else if (typeof rawId === 'number') {
    // Past 2^53 JSON numbers lose digits, and a wrong id would key re-imports to the wrong entry.
    if (!Number.isSafeInteger(rawId))
      return issue(raw.line, 'A numeric id must be a safe integer: give it as a string');
    id = String(rawId);
  } else if (rawId !== undefined && rawId !== null) return issue(raw.line, 'The id must be a string or a number');

  return makeEntry(raw.line, value, signal, labels, id, settings);
}

// ---------------------------------------------------------------------------------------------
// Fields

/** One RFC 4180 line: quoted fields may hold commas and "" escapes, but not line breaks. */
export function splitCsvLine(line: string): string[] | string {
  const fields: string[] = [];
  const n = line.length;
  let i = 0;
  for (;;) {
    let q = i;
    while (line.charCodeAt(q) === 32) q++;
    if (line.charCodeAt(q) === 34) {
      let value = '';
      let j = q + 1;
      for (;;) {
        const close = line.indexOf('"', j);
        if (close === -1) return 'a quoted field is not closed (quoted fields spanning lines are not supported)';
        value += line.slice(j, close);
        if (line.charCodeAt(close + 1) === 34) {
          value += '"';
          j = close + 2;
          continue;
        }
        i = close + 1;
        break;
      }
      while (line.charCodeAt(i) === 32) i++;
      fields.push(value);
      if (i >= n) return fields;
      if (line.charCodeAt(i) !== 44) return 'text after a closing quote';
      i++;
    } else {
      const comma = line.indexOf(',', i);
      if (comma === -1) {
        fields.push(line.slice(i));
        return fields;
      }
      fields.push(line.slice(i, comma));
      i = comma + 1;
    }
  }
}

/** TSV has no quoting: a field cannot hold a tab or a line break. */
function splitTsvLine(line: string): string[] {
  return line.split('\t');
}

function makeEntry(
  line: number,
  rawValue: string,
  rowSignal: string | undefined,
  rawLabels: readonly string[],
  rawId: string | undefined,
  settings: Settings,
): ParsedEntry | RowIssue {
  const value = rawValue.trim();
  if (value === '') return issue(line, 'The value is empty');
  let signal = settings.signal;
  if (signal === undefined && rowSignal !== undefined && rowSignal.trim() !== '') {
    signal = rowSignal.trim().toLowerCase();
    if (getSignalType(signal) === undefined) return issue(line, `Unknown signal type ${excerpt(rowSignal.trim())}`);
  }
  let parsed: { signal: string; value: string };
  try {
    parsed = detectSignal(value, signal);
  } catch (err) {
    if (!WardError.is(err)) throw err;
    return issue(line, `${err.message} (value ${excerpt(value)})`);
  }
  const labels: string[] = [];
  for (const raw of rawLabels) {
    const label = raw.trim();
    if (label === '') continue;
    if (label.length > MAX_LABEL_CHARS) {
      return issue(line, `A label is longer than ${MAX_LABEL_CHARS} characters (${excerpt(label)})`);
    }
    labels.push(label);
  }
  const entry: ParsedEntry = { signal: parsed.signal, value: parsed.value, labels: [...new Set(labels)].sort(), line };
  const id = rawId?.trim();
  if (id) entry.sourceId = id;
  return entry;
}

function issue(line: number, message: string): RowIssue {
  return { line, code: 'WARD_ERR_BANK_ROW_INVALID', message };
}

function tooLong(line: number, limit: number): RowIssue {
  return issue(line, `The line is longer than ${limit} bytes`);
}

/** At most 20 characters of a value, quoted: enough to find it, never the whole line. */
function excerpt(value: string): string {
  const chars = Array.from(value.slice(0, 40)).slice(0, 20).join('');
  return JSON.stringify(chars) + (chars.length < value.length ? '…' : '');
}
