/**
 * @module cli/commands/inspect
 * `ward inspect [--format table|ndjson|json] [--no-hashes] <file|dir>...`: what files are, without
 * loading or running anything. A dispatcher by content type over a registry of inspectors: a
 * file's content type comes from its first bytes (the scan sniffers), and the inspector for that
 * type reports on it. Models are inspected now; another content type (image provenance) is one
 * registration in a plugin (src/plugin.ts).
 *
 * Directories: a folder an inspector takes as one unit (a diffusers pipeline, a PEFT adapter) is
 * one record; any other folder is walked (sorted, symlinked folders not followed) and the files
 * some inspector takes are reported, the others silently left out. A file named on the command
 * line that no inspector takes gets a record saying so.
 */
import { lstat, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { WardError } from '../../errors.js';
import type { InspectContext, Inspector } from '../../inspect/types.js';
import type { ArchiveFormat } from '../../media/archive.js';
import { activeRegistry, sniffContent, usePlugins } from '../../registry.js';
import { SNIFF_BYTES } from '../../scan/plugins.js';
import type { ContentType } from '../../scan/types.js';
import { parseCommandArgs } from '../args.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { parseFormat, RecordWriter } from '../output.js';
import { archiveTableRow, inspectArchive } from './inspect-archive.js';

export const INSPECT_USAGE = `Usage: ward inspect [options] <file|dir>...

Tells what files are, parsing their bytes only (nothing is loaded, unpickled or run).

Models (safetensors, PyTorch checkpoints .ckpt/.pt/.pth/.bin and pickles, GGUF, NumPy
.npy/.npz, diffusers folders, PEFT adapters): format, kind (checkpoint, lora, lycoris,
embedding, vae, controlnet, adapter, llm) and base model, identity hashes as hubs print them
(sha256, autov2, autov1, autov3, blake3, crc32), a weight fingerprint (tensorfp), metadata, kohya training facts (tag
frequencies per dataset folder, image counts, output name), and for pickles the imported
globals with a verdict: safe, suspicious or dangerous (would run code on load).

Archives (zip, tar, gzip, 7z, RAR): one record for the archive, then one per model inside
(read in memory, with the scan's archive limits; nested archives too), and an error record
for each entry that cannot be read (damaged, encrypted: no password is ever tried, over a limit).

Images (PNG, JPEG, WebP, TIFF...; C2PA .c2pa sidecars): AI-generation provenance (whether it is
AI-generated and why, generator, prompt, models named with their hashes, C2PA manifest and its
validation, stealth metadata, the Stable Diffusion invisible watermark) and the text screener's
findings on the prompt. Never fetches anything. The table never prints prompts.

Options:
  --format table|ndjson|json   output format (default: table on a terminal, ndjson otherwise)
  --no-hashes                  skip the identity hashes (no full read of each file)
  --redact                     leave image prompts out of the records
  --metadata-only              images: read metadata only (no pixel decode: no stealth or
                               watermark check)
  --plugin MODULE              load a plugin module (its inspectors, sniffers; repeatable)
  --tensor-base FILE[,FILE]    models: base-model fingerprint data (.tfb) subtracted from
                               checkpoints, so a LoRA merged into one matches (tensorfp)
  --write-tensor-base FILE     models: write the one checkpoint inspected as base data (.tfb)

Exit status: 0 all inspected, 1 a pickle is dangerous, 2 some inputs failed (each gets an
error record), 3 usage error.`;

/** What `ward inspect` prints per input. */
export type InspectRecord =
  | ({ inspector: string } & Record<string, unknown>)
  | { path: string; contentType?: ContentType; format?: string; skipped: string }
  | { path: string; error: { code: string; message: string } };

export type { InspectContext, Inspector } from '../../inspect/types.js';
export { modelInspector } from '../../models/inspector.js';
export { registerInspector } from '../../registry.js';

const inspectorList = (): Inspector[] => activeRegistry().inspectors();

const TABLE_HEADER = 'FORMAT       KIND             BASE   AUTOV2      AUTOV3        PICKLE      TAGS  PATH';

async function sniffFile(path: string): Promise<{ contentType: ContentType; format?: string }> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(buf, 0, SNIFF_BYTES, 0);
    return bytesRead === 0 ? { contentType: 'other' } : sniffContent(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

function errorRecord(path: string, e: unknown): InspectRecord {
  if (WardError.is(e)) return { path, error: { code: e.code, message: e.message } };
  const errno = (e as NodeJS.ErrnoException).code;
  if (errno) return { path, error: { code: 'WARD_ERR_INPUT_NOT_FOUND', message: `Cannot read file: ${errno}` } };
  throw e;
}

async function inspectWith(inspector: Inspector, path: string, ctx: InspectContext): Promise<InspectRecord> {
  try {
    return { inspector: inspector.name, ...(await inspector.inspect(path, ctx)) };
  } catch (e) {
    return errorRecord(path, e);
  }
}

/** Records for one input, in order; `explicit` inputs that no inspector takes are reported as skipped. */
async function* inspectPath(path: string, ctx: InspectContext, explicit: boolean): AsyncGenerator<InspectRecord> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = explicit ? await stat(path) : await lstat(path);
  } catch (e) {
    yield errorRecord(path, e);
    return;
  }
  if (st.isSymbolicLink()) return; // inside a walked folder: not followed (no loops)
  if (st.isDirectory()) {
    const folder = inspectorList().find((i) => i.claimsFolder?.(path));
    if (folder) {
      yield await inspectWith(folder, path, ctx);
      return;
    }
    let names: string[];
    try {
      names = (await readdir(path)).sort();
    } catch (e) {
      yield errorRecord(path, e);
      return;
    }
    for (const name of names) yield* inspectPath(join(path, name), ctx, false);
    return;
  }
  if (!st.isFile()) {
    if (explicit)
      yield { path, error: { code: 'WARD_ERR_INPUT_NOT_FOUND', message: 'Not a regular file or directory' } };
    return;
  }
  let sniffed: { contentType: ContentType; format?: string };
  try {
    sniffed = await sniffFile(path);
  } catch (e) {
    yield errorRecord(path, e);
    return;
  }
  const inspector =
    inspectorList().find((i) => i.contentTypes.includes(sniffed.contentType)) ??
    (explicit ? inspectorList().find((i) => i.claimsFile?.(path)) : undefined);
  if (inspector) {
    yield await inspectWith(inspector, path, ctx);
    return;
  }
  if (sniffed.contentType === 'archive' && sniffed.format !== undefined) {
    // Its entries, from memory: models inside (a pickle in a 7z) are inspected and rated.
    yield* inspectArchive(path, sniffed.format as ArchiveFormat, { hashes: ctx.hashes });
    return;
  }
  if (explicit) {
    yield {
      path,
      contentType: sniffed.contentType,
      ...(sniffed.format ? { format: sniffed.format } : {}),
      skipped:
        sniffed.contentType === 'other'
          ? 'Not a format any inspector reads'
          : `No inspector for ${sniffed.contentType} files yet`,
    };
  }
}

function tableRow(r: InspectRecord): string {
  const entry = (r as { archivePath?: unknown }).archivePath;
  const where = typeof entry === 'string' ? `${r.path}!/${entry}` : r.path;
  if ('inspector' in r) {
    if (r.inspector === 'archive') return archiveTableRow(r);
    const inspector = inspectorList().find((i) => i.name === r.inspector);
    return inspector ? inspector.tableRow({ ...r, path: where }) : JSON.stringify(r);
  }
  if ('error' in r) return `ERROR  ${r.error.code}: ${r.error.message}  ${where}`;
  return `SKIP   ${r.skipped}  ${r.path}`;
}

export async function inspectCommand(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    format: { type: 'string' },
    'no-hashes': { type: 'boolean' },
    redact: { type: 'boolean' },
    'metadata-only': { type: 'boolean' },
    plugin: { type: 'string', multiple: true },
    'tensor-base': { type: 'string' },
    'write-tensor-base': { type: 'string' },
  });
  if (positionals.length === 0)
    throw new WardError('WARD_ERR_USAGE', 'ward inspect needs at least one file or directory');
  await usePlugins((values.plugin as string[] | undefined) ?? []);
  const format = parseFormat(values.format as string | undefined, ctx.stdoutIsTTY);
  const writer = new RecordWriter<InspectRecord>(ctx.stdout, format, tableRow, TABLE_HEADER);
  const ictx: InspectContext = {
    hashes: values['no-hashes'] !== true,
    redact: values.redact === true,
    pixels: values['metadata-only'] !== true,
    ...(typeof values['tensor-base'] === 'string'
      ? { tensorBases: (values['tensor-base'] as string).split(',').filter((p) => p !== '') }
      : {}),
    ...(typeof values['write-tensor-base'] === 'string'
      ? { writeTensorBase: values['write-tensor-base'] as string }
      : {}),
  };
  if (ictx.writeTensorBase && (positionals.length !== 1 || ictx.hashes === false)) {
    throw new WardError('WARD_ERR_USAGE', '--write-tensor-base takes one checkpoint file (and needs the hashing read)');
  }
  let errors = 0;
  let dangerous = 0;
  for (const input of positionals) {
    for await (const record of inspectPath(input, ictx, true)) {
      if ('error' in record) errors++;
      const pickle = (record as { pickle?: { verdict?: string } }).pickle;
      if (pickle?.verdict === 'dangerous') dangerous++;
      await writer.add(record);
    }
  }
  await writer.end();
  if (errors > 0) return EXIT.ITEM_ERRORS;
  return dangerous > 0 ? EXIT.FOUND : EXIT.OK;
}
