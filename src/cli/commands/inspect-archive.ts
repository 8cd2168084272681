/**
 * @module cli/commands/inspect-archive
 * `ward inspect` on an archive (zip, tar, gzip, 7z, RAR): one record for the archive, then one
 * per entry an inspector reads from memory (models: pickles rated, safetensors, GGUF...), with
 * `archivePath` naming the entry as `ward scan` does (nested archives joined by `!/`). Entries
 * that cannot be read (damaged, encrypted, over a limit) get an error record; other entries are
 * counted in the archive's record and left out. Entries are read with the scan's default archive
 * limits, in memory, never written anywhere.
 */
import { WardError } from '../../errors.js';
import { type ArchiveFormat, readArchive } from '../../media/archive.js';
import { inspectModelBytes } from '../../models/inspect.js';
import { sniffContent } from '../../registry.js';
import { DEFAULT_SCAN_CONFIG } from '../../scan/config.js';
import { SNIFF_BYTES } from '../../scan/plugins.js';
import type { ContentType } from '../../scan/types.js';

/** The archive's own record. */
export interface ArchiveInspectRecord {
  path: string;
  archivePath?: string;
  kind: 'archive';
  format: ArchiveFormat;
  /** Entries read (files; folders and links are not entries). */
  entries: number;
  /** Entries reported in records of their own (inspected, or failed). */
  reported: number;
  /** Entries left out, by content type (no inspector reads them from an archive). */
  notInspected: Partial<Record<ContentType, number>>;
}

export interface ArchiveInspectContext {
  hashes: boolean;
}

type EntryRecord =
  | ({ inspector: string; path: string; archivePath: string } & Record<string, unknown>)
  | { path: string; archivePath: string; error: { code: string; message: string }; encrypted?: true };

/**
 * The archive's record, then its entries' records (collected while reading, so that the
 * archive's counts are complete when it is printed; they hold reports, never entry bytes).
 * Throws only for a bug; every input problem is a record.
 */
export async function* inspectArchive(
  path: string,
  format: ArchiveFormat,
  ctx: ArchiveInspectContext,
  source: { path: string } | { bytes: Uint8Array } = { path },
  prefix?: string,
  depth = 1,
): AsyncGenerator<({ inspector: string } & Record<string, unknown>) | EntryRecord> {
  const limits = DEFAULT_SCAN_CONFIG.limits.archive;
  const own: ArchiveInspectRecord = {
    path,
    ...(prefix !== undefined ? { archivePath: prefix } : {}),
    kind: 'archive',
    format,
    entries: 0,
    reported: 0,
    notInspected: {},
  };
  const records: (({ inspector: string } & Record<string, unknown>) | EntryRecord)[] = [];
  const seen = new Set<string>();
  for await (const entry of readArchive(source, format, limits)) {
    const name = seen.has(entry.name) ? `${entry.name}#${entry.index}` : entry.name;
    seen.add(name);
    const archivePath = prefix === undefined ? name : `${prefix}!/${name}`;
    own.entries++;
    if ('error' in entry) {
      own.reported++;
      records.push({ path, archivePath, error: entry.error, ...(entry.encrypted ? { encrypted: true as const } : {}) });
      continue;
    }
    const sniffed =
      entry.bytes.length === 0 ? { contentType: 'other' as const } : sniffContent(entry.bytes.subarray(0, SNIFF_BYTES));
    if (sniffed.contentType === 'archive' && sniffed.format !== undefined) {
      if (depth >= limits.maxDepth) {
        own.reported++;
        const message = `Archive nested more than ${limits.maxDepth} levels deep: not opened`;
        records.push({ path, archivePath, error: { code: 'WARD_ERR_LIMIT_ARCHIVE', message } });
        continue;
      }
      own.reported++;
      const nested = inspectArchive(
        path,
        sniffed.format as ArchiveFormat,
        ctx,
        { bytes: entry.bytes },
        archivePath,
        depth + 1,
      );
      for await (const r of nested) records.push(r);
      continue;
    }
    if (sniffed.contentType === 'model') {
      own.reported++;
      try {
        const report = await inspectModelBytes(entry.bytes, archivePath, { hashes: ctx.hashes });
        records.push({ inspector: 'model', ...(report as unknown as Record<string, unknown>), path, archivePath });
      } catch (e) {
        if (!WardError.is(e)) throw e;
        records.push({ path, archivePath, error: { code: e.code, message: e.message } });
      }
      continue;
    }
    own.notInspected[sniffed.contentType] = (own.notInspected[sniffed.contentType] ?? 0) + 1;
  }
  yield { inspector: 'archive', ...own };
  yield* records;
}

/** One table line for an archive's record. */
export function archiveTableRow(record: Record<string, unknown>): string {
  const r = record as unknown as ArchiveInspectRecord;
  const left = Object.entries(r.notInspected)
    .map(([type, n]) => `${n} ${type}`)
    .join(', ');
  const where = r.archivePath === undefined ? r.path : `${r.path}!/${r.archivePath}`;
  return `${r.format.padEnd(12)} archive: ${r.entries} entries, ${r.reported} reported${left ? `, not inspected: ${left}` : ''}  ${where}`;
}
