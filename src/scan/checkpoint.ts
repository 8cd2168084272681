/**
 * @module scan/checkpoint
 * A scan's journal, so a crashed or stopped scan resumes where it stopped. Append-only NDJSON:
 * a header line (format version and a fingerprint of the scan: inputs, banks and their versions,
 * configuration), then one line per finished item holding its whole report, a line per archive
 * whose entries are all done, and a last line when the scan completed. Reports are small
 * (fingerprints and findings, never content), and keeping them lets a resumed scan replay them,
 * so its output is the same as an uninterrupted run's. A line torn by a crash is dropped.
 */
import {
  closeSync,
  createReadStream,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  writeSync,
} from 'node:fs';
import { createInterface } from 'node:readline';
import { WardError } from '../errors.js';
import { itemKey } from './items.js';
import type { ItemReport } from './types.js';

const MAGIC = 'ward-scan-checkpoint';
const VERSION = 1;
/** Flush to disk at most this often (a process crash loses nothing written; a power cut may). */
const SYNC_MS = 2000;

type Line = { r: ItemReport } | { c: string } | { complete: true };

export class Checkpoint {
  private readonly items = new Set<string>();
  private readonly containers = new Set<string>();
  private lastSync = Date.now();
  /** Where the next line goes (positioned writes: the file is opened r+, not in append mode). */
  private position = 0;
  /** Items read back from an earlier run. */
  resumed = 0;
  completed = false;

  private constructor(
    readonly path: string,
    private fd: number,
  ) {}

  /**
   * Opens or creates the journal. An existing one must carry the same fingerprint: resuming a
   * different scan into it would mix results.
   */
  static async open(path: string, fingerprint: string): Promise<Checkpoint> {
    let fd: number;
    try {
      fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
    } catch (cause) {
      throw new WardError('WARD_ERR_CHECKPOINT', `Cannot open the checkpoint file (${errno(cause)})`, { path }, cause);
    }
    const cp = new Checkpoint(path, fd);
    try {
      const size = fstatSync(fd).size;
      const goodEnd = size === 0 ? 0 : await cp.load(fingerprint, size);
      if (goodEnd < size) ftruncateSync(fd, goodEnd); // a line torn by a crash
      cp.position = goodEnd;
      // New, or only a torn header: nothing was recorded yet.
      if (goodEnd === 0) cp.write({ ward: MAGIC, version: VERSION, fingerprint });
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return cp;
  }

  private async load(fingerprint: string, size: number): Promise<number> {
    let offset = 0;
    let goodEnd = 0;
    let lineNo = 0;
    let torn = false;
    const lines = createInterface({ input: createReadStream(this.path), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      lineNo++;
      const end = offset + Buffer.byteLength(line) + 1;
      let value: unknown;
      try {
        // A last line without its newline was cut short by a crash, even if it parses.
        if (end > size) throw new Error('torn');
        value = JSON.parse(line);
      } catch {
        // A first line that is neither a header nor a header cut short: not a checkpoint (maybe a
        // file named by mistake), refused rather than truncated.
        if (lineNo === 1 && !(end > size && isTornHeader(line)))
          throw this.corrupt('it is not a Ward scan checkpoint (v1)');
        torn = true; // only acceptable for the last line
        offset = end;
        continue;
      }
      if (torn) throw this.corrupt(`line ${lineNo - 1} is not JSON`);
      if (lineNo === 1) {
        const h = value as { ward?: string; version?: number; fingerprint?: string };
        if (h.ward !== MAGIC || h.version !== VERSION) throw this.corrupt('it is not a Ward scan checkpoint (v1)');
        if (h.fingerprint !== fingerprint)
          throw new WardError(
            'WARD_ERR_CHECKPOINT',
            'The checkpoint belongs to a different scan (other inputs, banks, bank versions or configuration); delete it to start over',
            { path: this.path },
          );
      } else {
        const l = value as Line;
        if ('r' in l && l.r && typeof l.r.path === 'string') {
          this.items.add(itemKey(l.r.path, l.r.archivePath));
          this.resumed++;
        } else if ('c' in l && typeof l.c === 'string') this.containers.add(l.c);
        else if ('complete' in l) this.completed = true;
        else throw this.corrupt(`line ${lineNo} is not a checkpoint record`);
      }
      offset = end;
      goodEnd = end;
    }
    if (lineNo === 0) throw this.corrupt('it is empty');
    return goodEnd;
  }

  private corrupt(why: string): WardError {
    return new WardError('WARD_ERR_CHECKPOINT', `The checkpoint file is unusable: ${why}`, { path: this.path });
  }

  /** The reports of items finished by earlier runs, in the order they were written. */
  async *replay(): AsyncGenerator<ItemReport> {
    const lines = createInterface({ input: createReadStream(this.path), crlfDelay: Number.POSITIVE_INFINITY });
    let n = 0;
    for await (const line of lines) {
      if (n++ === 0 || line === '') continue;
      let l: Line;
      try {
        l = JSON.parse(line);
      } catch {
        continue; // the torn line (already truncated away unless another process wrote it)
      }
      if ('r' in l) yield l.r;
    }
  }

  hasItem(key: string): boolean {
    return this.items.has(key);
  }

  hasContainer(key: string): boolean {
    return this.containers.has(key);
  }

  private write(value: unknown): void {
    if (this.fd < 0) throw new WardError('WARD_ERR_INTERNAL', 'Checkpoint used after close');
    try {
      const line = Buffer.from(`${JSON.stringify(value)}\n`);
      this.position += writeSync(this.fd, line, 0, line.length, this.position);
      if (Date.now() - this.lastSync > SYNC_MS) {
        fsyncSync(this.fd);
        this.lastSync = Date.now();
      }
    } catch (cause) {
      throw new WardError(
        'WARD_ERR_CHECKPOINT',
        `Cannot write the checkpoint file (${errno(cause)})`,
        { path: this.path },
        cause,
      );
    }
  }

  /** Records a finished item (after its report went to the output). */
  itemDone(report: ItemReport): void {
    this.write({ r: report });
  }

  containerDone(key: string): void {
    this.write({ c: key });
  }

  complete(): void {
    if (!this.completed) this.write({ complete: true });
    this.completed = true;
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

const HEADER_START = `{"ward":${JSON.stringify(MAGIC)},"version":${VERSION},"fingerprint":"`;

/** The beginning of a header line, cut short by a crash while it was written. */
function isTornHeader(line: string): boolean {
  return HEADER_START.startsWith(line) || line.startsWith(HEADER_START);
}

function errno(cause: unknown): string {
  return (cause as NodeJS.ErrnoException).code ?? 'error';
}
