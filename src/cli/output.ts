/**
 * @module cli/output
 * Writes records as table, NDJSON or a JSON array, streaming, with backpressure.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { WardError } from '../errors.js';

export type OutputFormat = 'table' | 'ndjson' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'ndjson', 'json'];

export function parseFormat(value: string | undefined, isTTY: boolean): OutputFormat {
  if (value === undefined) return isTTY ? 'table' : 'ndjson';
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new WardError(
    'WARD_ERR_USAGE',
    `Expected one of ${OUTPUT_FORMATS.join(', ')} for \`--format\` but received ${JSON.stringify(value)}`,
  );
}

/** Writes a chunk and waits for drain when the stream asks for it. */
export async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
}

/** A record writer for one format; `table` gets a row function that renders one record. */
export class RecordWriter<T> {
  private count = 0;
  constructor(
    private readonly out: Writable,
    private readonly format: OutputFormat,
    private readonly tableRow: (record: T) => string,
    private readonly tableHeader = '',
  ) {}

  async add(record: T): Promise<void> {
    const first = this.count++ === 0;
    if (this.format === 'ndjson') return write(this.out, `${JSON.stringify(record)}\n`);
    if (this.format === 'json') return write(this.out, `${first ? '[\n' : ',\n'}  ${JSON.stringify(record)}`);
    return write(this.out, `${first && this.tableHeader ? `${this.tableHeader}\n` : ''}${this.tableRow(record)}\n`);
  }

  async end(): Promise<void> {
    if (this.format === 'json') await write(this.out, this.count === 0 ? '[]\n' : '\n]\n');
  }
}

/**
 * Opens an output file before anything is written, so a bad path is a clear WARD_ERR_OUTPUT
 * rather than a stream 'error' event later. `label` names it in messages.
 */
export async function openOutputFile(path: string, label = JSON.stringify(path)): Promise<WriteStream> {
  const stream = createWriteStream(path);
  await new Promise<void>((ok, fail) => {
    stream.once('open', () => ok());
    stream.once('error', (cause) =>
      fail(
        new WardError(
          'WARD_ERR_OUTPUT',
          `Cannot write ${label} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
          { path },
          cause,
        ),
      ),
    );
  });
  return stream;
}

/** Ends an output file, its last write flushed; a failure is WARD_ERR_OUTPUT. */
export async function closeOutputFile(stream: WriteStream, path: string, label = JSON.stringify(path)): Promise<void> {
  await new Promise<void>((ok, fail) => {
    stream.end((err?: Error | null) =>
      err ? fail(new WardError('WARD_ERR_OUTPUT', `Cannot finish ${label}`, { path }, err)) : ok(),
    );
  });
}
