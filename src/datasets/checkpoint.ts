/**
 * @module datasets/checkpoint
 * The journal of a dataset audit, so a stopped audit resumes shard by shard. Append-only NDJSON:
 * a header (format version and the audit's fingerprint: dataset paths, reader, columns, banks
 * with their versions, configuration), then one line per finished shard: its digest (SHA-256 of
 * the file, or of a folder's listing), its counts per verdict and reason, the reports of its rows
 * that were not clean, and its rows' PDQ hashes (for the kNN step). A resumed audit replays a
 * finished shard whose digest is unchanged; a changed shard is audited again. Each line is
 * written and synced when its shard finishes; a line torn by a crash is dropped.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { WardError } from '../errors.js';
import type { AuditCheckpoint, FinishedShard } from './audit.js';

const MAGIC = 'ward-dataset-checkpoint';
const VERSION = 1;

export class DatasetCheckpoint implements AuditCheckpoint {
  private readonly done = new Map<string, FinishedShard>();
  private position = 0;

  private constructor(
    readonly path: string,
    private fd: number,
  ) {}

  /** Opens or creates the journal; an existing one must carry the same fingerprint. */
  static open(path: string, fingerprint: string): DatasetCheckpoint {
    let fd: number;
    try {
      fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
    } catch (cause) {
      const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
      throw new WardError('WARD_ERR_CHECKPOINT', `Cannot open the checkpoint file (${errno})`, { path }, cause);
    }
    const cp = new DatasetCheckpoint(path, fd);
    try {
      const size = fstatSync(fd).size;
      const good = size === 0 ? 0 : cp.load(fingerprint);
      if (good < size) ftruncateSync(fd, good);
      cp.position = good;
      if (good === 0) cp.write({ ward: MAGIC, version: VERSION, fingerprint });
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return cp;
  }

  /** Finished shards read back. */
  get resumable(): number {
    return this.done.size;
  }

  private corrupt(why: string): WardError {
    return new WardError('WARD_ERR_CHECKPOINT', `The checkpoint file cannot be used: ${why}`, { path: this.path });
  }

  private load(fingerprint: string): number {
    const buf = readFileSync(this.path);
    let offset = 0;
    let lineNo = 0;
    while (offset < buf.length) {
      const nl = buf.indexOf(10, offset);
      if (nl < 0) break; // a last line without its newline was torn by a crash: dropped
      const line = buf.toString('utf8', offset, nl);
      lineNo++;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        if (lineNo === 1) throw this.corrupt('it is not a Ward dataset checkpoint (v1)');
        throw this.corrupt(`line ${lineNo} is not JSON`);
      }
      if (lineNo === 1) {
        const h = value as { ward?: unknown; version?: unknown; fingerprint?: unknown };
        if (h.ward !== MAGIC || h.version !== VERSION) throw this.corrupt('it is not a Ward dataset checkpoint (v1)');
        if (h.fingerprint !== fingerprint)
          throw new WardError(
            'WARD_ERR_CHECKPOINT',
            'The checkpoint belongs to a different audit (other datasets, reader, columns, banks, bank versions or configuration); delete it to start over',
            { path: this.path },
          );
      } else {
        const s = (value as { shard?: FinishedShard }).shard;
        if (!s || typeof s.dataset !== 'string' || typeof s.shard !== 'string' || typeof s.digest !== 'string')
          throw this.corrupt(`line ${lineNo} is not a checkpoint record`);
        this.done.set(key(s.dataset, s.shard), s);
      }
      offset = nl + 1;
    }
    // Only a torn header: start afresh. Anything else that is not ours is refused, not truncated.
    if (lineNo === 0 && !`{"ward":"${MAGIC}"`.startsWith(buf.toString('utf8', 0, Math.min(buf.length, 26))))
      throw this.corrupt('it is not a Ward dataset checkpoint (v1)');
    return offset;
  }

  finished(dataset: string, shard: string): FinishedShard | undefined {
    return this.done.get(key(dataset, shard));
  }

  shardDone(record: FinishedShard): void {
    this.done.set(key(record.dataset, record.shard), record);
    this.write({ shard: record });
    fsyncSync(this.fd);
  }

  private write(value: unknown): void {
    const buf = Buffer.from(`${JSON.stringify(value)}\n`);
    let at = 0;
    while (at < buf.length) {
      at += writeSync(this.fd, buf, at, buf.length - at, this.position + at);
    }
    this.position += buf.length;
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

const key = (dataset: string, shard: string) => `${dataset}\0${shard}`;
