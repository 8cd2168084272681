/**
 * @module banks/formats/write
 * Writes entries as a bank file that `readBankFile` reads back to the same entries.
 */
import { once } from 'node:events';
import { WardError } from '../../errors.js';
import { BANK_FILE_FORMATS, type BankFileFormat, type ExportEntry } from '../types.js';

/** Rows are gathered into writes of about this many characters: one write per row is slow. */
const BATCH_CHARS = 65536;

/**
 * Writes `entries` to `out` in `format`, waiting for 'drain' when the stream is full. Leaves `out`
 * open (it may be stdout). te-csv holds only PDQ hashes: other entries are left out.
 * In csv, tsv and te-csv, labels are percent-encoded where they would not survive the row
 * (`%`, `;`, `|`, control characters, and a leading `=` `+` `-` `@` so spreadsheets never run a
 * label as a formula); ids get `%`, control characters and the leading formula character encoded. `readBankFile` decodes
 * them: every label and id reads back as written. ndjson keeps them as they are.
 */
export async function writeBankFile(
  entries: AsyncIterable<ExportEntry> | Iterable<ExportEntry>,
  format: BankFileFormat,
  out: NodeJS.WritableStream,
): Promise<void> {
  if (!BANK_FILE_FORMATS.includes(format)) {
    throw new WardError(
      'WARD_ERR_CONFIG_INVALID',
      `Unknown bank file format: expected ${BANK_FILE_FORMATS.join(', ')}`,
      {
        expected: BANK_FILE_FORMATS.join(', '),
      },
    );
  }
  const row = ROW[format];
  let buffer = HEADER[format];
  for await (const entry of entries) {
    buffer += row(entry);
    if (buffer.length >= BATCH_CHARS) {
      await write(out, buffer);
      buffer = '';
    }
  }
  if (buffer !== '') await write(out, buffer);
}

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  // `once` also rejects if the stream emits 'error' while we wait.
  if (!out.write(text)) await once(out, 'drain');
}

const HEADER: Record<BankFileFormat, string> = {
  csv: 'signal,value,labels,id\n',
  tsv: 'signal\tvalue\tlabels\tid\n',
  'te-csv': 'hash,id,labels\n',
  ndjson: '',
  lines: '',
};

const ROW: Record<BankFileFormat, (e: ExportEntry) => string> = {
  csv: (e) => [e.signal, e.value, labelField(e.labels), idField(e.sourceId)].map(csvField).join(',') + '\n',
  tsv: (e) => [e.signal, e.value, labelField(e.labels), idField(e.sourceId)].map(tsvField).join('\t') + '\n',
  'te-csv': (e) =>
    e.signal === 'pdq' ? [e.value, idField(e.sourceId), labelField(e.labels)].map(csvField).join(',') + '\n' : '',
  ndjson: (e) => {
    const record: { signal: string; value: string; labels: string[]; id?: string } = {
      signal: e.signal,
      value: e.value,
      labels: e.labels,
    };
    if (e.sourceId !== undefined) record.id = e.sourceId;
    return JSON.stringify(record) + '\n';
  },
  lines: (e) => oneLine(e.value) + '\n',
};

const pct = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;

/** One label in a row: `%`, `;`, `|` and control characters encoded; a leading formula character too. */
export function encodeLabel(label: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is encoded
  const body = label.replace(/[%;|\u0000-\u001f\u007f]/g, pct);
  return /^[=+\-@]/.test(body) ? pct(body[0] as string) + body.slice(1) : body;
}

function labelField(labels: readonly string[]): string {
  return labels.map(encodeLabel).join(';');
}

/** An id in a row: `%` and control characters encoded, and a leading formula character. */
export function encodeId(id: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is encoded
  const body = id.replace(/[%\u0000-\u001f\u007f]/g, pct);
  return /^[=+\-@]/.test(body) ? pct(body[0] as string) + body.slice(1) : body;
}

function idField(id: string | undefined): string {
  return id === undefined ? '' : encodeId(id);
}

/** Line breaks become spaces even inside quotes: the reader takes one row per line. */
function csvField(value: string): string {
  const v = oneLine(value);
  return /[",]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

function tsvField(value: string): string {
  return oneLine(value).replace(/\t/g, ' ');
}

function oneLine(value: string): string {
  return value.replace(/[\r\n]/g, ' ');
}
