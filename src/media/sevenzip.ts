/**
 * @module media/sevenzip
 * 7z and RAR (4 and 5) through 7-Zip compiled to WebAssembly (the `7z-wasm` package: 7-Zip 24.09,
 * its own 7z and RAR decoders; nothing native, nothing downloaded). This module is only the
 * engine: it lists an archive (`7zz l -slt`) and extracts named entries to a sink
 * (`7zz x -so`), synchronously, inside a WebAssembly instance of its own per archive. The
 * limits (declared sizes, ratios, decoder memory, encryption) are applied by media/archive before
 * anything is extracted.
 *
 * Files are read in place through Emscripten's NODEFS (never copied whole); bytes are handed to
 * its in-memory file system without a copy. Extracted bytes never touch a file system: 7-Zip's
 * standard output is a device whose writes go straight to the caller's sink.
 *
 * The package is imported lazily, on the first 7z or RAR archive, so other scans do not load it.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, resolve } from 'node:path';
import { WardError } from '../errors.js';

export type SevenZipFormat = '7z' | 'rar';

/** One record of the listing, as 7-Zip reports it (declared by the archive, not yet checked). */
export interface ListedEntry {
  /** 0-based position in the listing. */
  index: number;
  name: string;
  directory: boolean;
  /** A symbolic or hard link (or a RAR copy link): not a regular file, not read. */
  link: boolean;
  encrypted: boolean;
  /** Declared uncompressed size; undefined when the archive does not say. */
  size: number | undefined;
  /** Declared compressed size (7z: on the first entry of each solid block only). */
  packedSize: number | undefined;
  /** 7z solid block number (entries of one block are decompressed together). */
  block: number | undefined;
  /** Coder chain as 7-Zip prints it, e.g. `LZMA2:24m BCJ`, `v6:m3:32M`. */
  method: string;
}

export interface Listing {
  /** 7-Zip's name for the format (`7z`, `Rar5`, `Rar`). */
  type: string;
  entries: ListedEntry[];
  /** Set when 7-Zip reported damage while listing (entries listed before it are kept). */
  error?: string;
}

export interface ExtractResult {
  /** 7-Zip's exit code (0: everything is OK). */
  status: number;
  /** Per-entry errors 7-Zip printed: `{ kind: 'CRC Failed', name }`. */
  errors: { kind: string; name: string }[];
  /** Any other error text (archive-level), or the reason 7-Zip stopped. */
  message?: string;
}

export interface SevenZipArchive {
  readonly listing: Listing;
  /**
   * Extracts the entries named `names` (every entry of each name, in archive order) to `sink`,
   * one chunk at a time; the chunks are views that the sink must copy before returning.
   */
  extract(names: readonly string[], sink: (chunk: Uint8Array) => void): Promise<ExtractResult>;
  close(): void;
}

interface Emscripten {
  FS: {
    mkdir(path: string): void;
    mount(type: unknown, opts: unknown, mountpoint: string): void;
    unmount(mountpoint: string): void;
    open(path: string, flags: string | number): { fd: number };
    close(stream: unknown): void;
    write(
      stream: unknown,
      buffer: Uint8Array,
      offset: number,
      length: number,
      position?: number,
      canOwn?: boolean,
    ): number;
    writeFile(path: string, data: Uint8Array | string): void;
    unlink(path: string): void;
    makedev(major: number, minor: number): number;
    registerDevice(dev: number, ops: unknown): void;
    mkdev(path: string, mode: number, dev: number): void;
    streams: unknown[];
  };
  NODEFS: unknown;
  callMain(args: string[]): number;
}

type Factory = (options: Record<string, unknown>) => Promise<Emscripten>;

// @types/node 20 has no WebAssembly typings (they live in lib.dom); this is all used here.
type WasmModule = object;
type WasmInstance = object;
declare const WebAssembly: {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<WasmInstance>;
};

let engine: Promise<{ factory: Factory; wasm: WasmModule }> | undefined;

/** The package and its compiled WebAssembly module, once per thread. */
function loadEngine(): Promise<{ factory: Factory; wasm: WasmModule }> {
  engine ??= (async () => {
    try {
      const require = createRequire(import.meta.url);
      const main = require.resolve('7z-wasm');
      const [mod, binary] = await Promise.all([
        import('7z-wasm') as Promise<{ default: unknown }>,
        readFile(resolve(dirname(main), '7zz.wasm')),
      ]);
      return { factory: mod.default as Factory, wasm: await WebAssembly.compile(binary) };
    } catch (cause) {
      engine = undefined;
      throw new WardError(
        'WARD_ERR_DEPENDENCY_MISSING',
        'Cannot load 7-Zip (the 7z-wasm package), needed for 7z and RAR archives',
        { dependency: '7z-wasm' },
        cause,
      );
    }
  })();
  return engine;
}

const ARCHIVE_DIR = '/in';
const NAMES_FILE = '/names.lst';
const OUT_DEVICE = '/dev/ward-out';
/** Switches for every call: no progress, no prompts (an empty password is no password). */
const QUIET = ['-bd', '-y', '-p', '-sccUTF-8'];

/** Where 7-Zip's standard output goes during one call. */
interface OutSlot {
  sink: ((chunk: Uint8Array) => void) | undefined;
}

/** One 7-Zip instance holding one archive. */
class Instance {
  readonly #em: Emscripten;
  readonly #archive: string;
  readonly #stderr: string[];
  readonly #out: OutSlot;

  private constructor(em: Emscripten, archive: string, stderr: string[], out: OutSlot) {
    this.#em = em;
    this.#archive = archive;
    this.#stderr = stderr;
    this.#out = out;
  }

  static async create(source: { path: string } | { bytes: Uint8Array }, format: SevenZipFormat): Promise<Instance> {
    const { factory, wasm } = await loadEngine();
    const stderr: string[] = [];
    const out: OutSlot = { sink: undefined };
    // Emscripten never settles its promise when instantiation fails: that failure rejects here.
    let failed: (e: unknown) => void = () => {};
    const failure = new Promise<never>((_, reject) => {
      failed = reject;
    });
    const created = factory({
      print: () => {},
      printErr: (line: string) => {
        if (stderr.length < 1000) stderr.push(line);
      },
      // 7-Zip asks for a password on stdin when it needs one: it gets end of input, never ours.
      stdin: () => null,
      instantiateWasm(imports: object, done: (i: WasmInstance, m: WasmModule) => void) {
        WebAssembly.instantiate(wasm, imports).then((instance) => done(instance, wasm), failed);
        return {};
      },
    });
    let em: Emscripten;
    try {
      em = await Promise.race([created, failure]);
    } catch (cause) {
      throw new WardError(
        'WARD_ERR_DEPENDENCY_MISSING',
        'Cannot start 7-Zip (WebAssembly)',
        { dependency: '7z-wasm' },
        cause,
      );
    }
    const { FS } = em;
    // Standard output becomes a device that hands each write to the current sink.
    const dev = FS.makedev(64, 0);
    FS.registerDevice(dev, {
      open() {},
      close() {},
      read: () => 0,
      write(_stream: unknown, buffer: Int8Array, offset: number, length: number) {
        out.sink?.(new Uint8Array(buffer.buffer, buffer.byteOffset + offset, length));
        return length;
      },
    });
    FS.mkdev(OUT_DEVICE, 0o666, dev);
    FS.close(FS.streams[1]);
    FS.open(OUT_DEVICE, 1); // takes the lowest free descriptor: 1
    FS.mkdir(ARCHIVE_DIR);
    let archive: string;
    const ext = format === '7z' ? 'archive.7z' : 'archive.rar';
    if ('path' in source) {
      const full = resolve(source.path);
      FS.mount(em.NODEFS, { root: dirname(full) }, ARCHIVE_DIR);
      archive = `${ARCHIVE_DIR}/${basename(full)}`;
    } else {
      archive = `/${ext}`;
      const stream = FS.open(archive, 'w+');
      // canOwn: the in-memory file system keeps the caller's bytes instead of a copy.
      FS.write(stream, source.bytes, 0, source.bytes.length, 0, true);
      FS.close(stream);
    }
    return new Instance(em, archive, stderr, out);
  }

  /** Runs 7-Zip; a C++ exception it does not catch surfaces as a thrown number. */
  run(
    command: string,
    switches: readonly string[],
    rest: readonly string[],
    sink?: (chunk: Uint8Array) => void,
  ): { status: number; stderr: string[] } {
    this.#stderr.length = 0;
    this.#out.sink = sink;
    try {
      const status = this.#em.callMain([command, ...QUIET, ...switches, this.#archive, ...rest]);
      return { status, stderr: [...this.#stderr] };
    } finally {
      this.#out.sink = undefined;
    }
  }

  writeNames(names: readonly string[]): void {
    this.#em.FS.writeFile(NAMES_FILE, `${names.join('\n')}\n`);
  }
}

/** Opens a 7z or RAR archive and lists it; throws WardError for a missing package or file. */
export async function openSevenZip(
  source: { path: string } | { bytes: Uint8Array },
  format: SevenZipFormat,
): Promise<SevenZipArchive> {
  let instance: Instance | undefined = await Instance.create(source, format);
  const listing = list(instance, format);
  return {
    listing,
    async extract(names, sink) {
      // After an uncaught 7-Zip exception its instance is not trusted again: a fresh one is made.
      instance ??= await Instance.create(source, format);
      try {
        return extractWith(instance, names, sink);
      } catch {
        instance = undefined;
        return { status: -1, errors: [], message: '7-Zip stopped on damaged data' };
      }
    },
    close() {
      instance = undefined; // the WebAssembly memory goes with the last reference
    },
  };
}

function list(instance: Instance, format: SevenZipFormat): Listing {
  let text = '';
  const decoder = new TextDecoder('utf-8');
  let result: { status: number; stderr: string[] };
  try {
    result = instance.run('l', ['-slt'], [], (chunk) => {
      text += decoder.decode(chunk, { stream: true });
    });
  } catch {
    throw new WardError('WARD_ERR_ARCHIVE_CORRUPT', '7-Zip could not list the archive (damaged or encrypted headers)');
  }
  text += decoder.decode();
  const listing = parseListing(text, result.status, result.stderr);
  const expected = format === '7z' ? /^7z$/ : /^Rar5?$/;
  if (!expected.test(listing.type)) {
    throw new WardError(
      'WARD_ERR_ARCHIVE_CORRUPT',
      `Archive is truncated or malformed: 7-Zip reads it as ${listing.type || 'nothing'}`,
    );
  }
  return listing;
}

/** `7zz l -slt` output to entries. Throws WARD_ERR_ARCHIVE_CORRUPT when it cannot be read safely. */
export function parseListing(text: string, status: number, stderr: readonly string[]): Listing {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const split = lines.indexOf('----------');
  const head = split < 0 ? lines : lines.slice(0, split);
  const typeLine = head.find((l) => l.startsWith('Type = '));
  const errorText = stderrError(stderr) ?? headError(head);
  if (split < 0) {
    if (typeLine === undefined || status !== 0) {
      throw new WardError(
        'WARD_ERR_ARCHIVE_CORRUPT',
        `Archive is truncated or malformed: ${errorText ?? 'not listed'}`,
      );
    }
    return { type: typeLine.slice(7), entries: [] };
  }
  const blocks: string[][] = [];
  let current: string[] = [];
  for (const line of lines.slice(split + 1)) {
    if (line === '') {
      if (current.length > 0) blocks.push(current);
      current = [];
    } else current.push(line);
  }
  if (current.length > 0) blocks.push(current);
  const entries: ListedEntry[] = [];
  let keys: string | undefined;
  for (const block of blocks) {
    // A name holding a line break could forge fields: every record must look like the others.
    const fields = new Map<string, string>();
    for (const line of block) {
      const eq = line.indexOf(' = ');
      const key = eq > 0 ? line.slice(0, eq) : undefined;
      if (key === undefined || !/^[A-Z][A-Za-z ]*$/.test(key) || fields.has(key)) {
        // 7-Zip's closing lines ("Errors: 1", "Warnings: ...") are not records.
        if (
          fields.size === 0 &&
          /^(Errors|Warnings|ERRORS|WARNINGS|Sub items Errors|Archives with Errors)\b/.test(line)
        )
          break;
        throw ambiguous();
      }
      fields.set(key, line.slice(eq + 3));
    }
    if (fields.size === 0) continue;
    const shape = [...fields.keys()].join('|');
    if (!shape.startsWith('Path|') || (keys !== undefined && shape !== keys)) throw ambiguous();
    keys = shape;
    const attributes = fields.get('Attributes') ?? '';
    const link =
      !!fields.get('Symbolic Link') ||
      !!fields.get('Hard Link') ||
      !!fields.get('Copy Link') ||
      / l[rwx-]{9}/.test(attributes);
    entries.push({
      index: entries.length,
      name: fields.get('Path')!,
      directory: fields.get('Folder') === '+' || /^D/.test(attributes),
      link,
      encrypted: fields.get('Encrypted') === '+',
      size: decimal(fields.get('Size')),
      packedSize: decimal(fields.get('Packed Size')),
      block: decimal(fields.get('Block')),
      method: fields.get('Method') ?? '',
    });
  }
  const listing: Listing = { type: typeLine?.slice(7) ?? '', entries };
  if (status !== 0 || errorText !== undefined) listing.error = errorText ?? `7-Zip exit status ${status}`;
  return listing;
}

function ambiguous(): WardError {
  return new WardError(
    'WARD_ERR_ARCHIVE_CORRUPT',
    'Archive listing cannot be read safely (an entry name holds a line break): not read',
  );
}

function decimal(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,16}$/.test(text)) return undefined;
  return Number(text);
}

/** The first error 7-Zip printed, without its banner. */
function stderrError(stderr: readonly string[]): string | undefined {
  const lines = stderr.map((l) => l.trim()).filter((l) => l !== '');
  const at = lines.findIndex((l) => /^(ERROR|ERRORS|Open ERROR)\b/i.test(l));
  if (at < 0) return undefined;
  return lines
    .slice(at, at + 4)
    .join(' ')
    .replace(/\/in\/[^ ]*|\/archive\.(7z|rar)/g, '')
    .slice(0, 200);
}

/** "ERRORS:" / "WARNINGS:" under the archive's properties (e.g. Unexpected end of archive). */
function headError(head: readonly string[]): string | undefined {
  const at = head.findIndex((l) => l === 'ERRORS:' || l === 'Open ERROR: Can not open the file as archive');
  if (at < 0) return undefined;
  return head
    .slice(at + 1, at + 3)
    .filter((l) => l !== '')
    .join(' ');
}

const ENTRY_ERROR = /^ERROR: (.+?) : (.*)$/;

/**
 * What 7-Zip has decompressed in this thread: extraction passes and the bytes it wrote. Lets
 * tests and benchmarks show that a refused entry was never expanded.
 */
export const sevenZipCounters = { extractCalls: 0, extractedBytes: 0 };

function extractWith(instance: Instance, names: readonly string[], sink: (chunk: Uint8Array) => void): ExtractResult {
  instance.writeNames(names);
  sevenZipCounters.extractCalls++;
  const counted = (chunk: Uint8Array): void => {
    sevenZipCounters.extractedBytes += chunk.length;
    sink(chunk);
  };
  const { status, stderr } = instance.run('x', ['-so', '-spd', '-scsUTF-8'], [`@${NAMES_FILE}`], counted);
  const errors: { kind: string; name: string }[] = [];
  for (const line of stderr) {
    const m = ENTRY_ERROR.exec(line);
    if (m) errors.push({ kind: m[1]!, name: m[2]! });
  }
  const result: ExtractResult = { status, errors };
  if (status !== 0 && errors.length === 0) result.message = stderrError(stderr) ?? `7-Zip exit status ${status}`;
  return result;
}
