/**
 * @module models/inspect
 * `inspectModel`: one model file or folder in, one report out: its format, kind and base model,
 * identity hashes (one streaming read), metadata, training facts (kohya/ModelSpec), the verdict on
 * its pickles, and the findings of the registered text screener on its training text. Nothing is
 * loaded or executed: headers, zip directories and pickle opcodes are parsed as bytes.
 *
 * Formats: safetensors; PyTorch zip checkpoints (`.ckpt`/`.pt`/`.pth`/`.bin`: a zip with
 * `<name>/data.pkl`); bare pickles (legacy `torch.save`, `.pkl`); GGUF; NumPy `.npy`/`.npz`;
 * diffusers folders (`model_index.json`); PEFT adapters (`adapter_config.json` beside
 * `adapter_model.safetensors`/`.bin`, or `<stem>.adapter_config.json` beside `<stem>.safetensors`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { WardError } from '../errors.js';
import type { Finding } from '../item.js';
import { type Detection, detectModel, type ModelKind } from './detect.js';
import { readGguf, sniffGguf } from './gguf.js';
import { type FileDigests, type HashModelOptions, hashModelBytes, hashModelFile } from './hashes.js';
import { isPlainObject, parseJson } from './json.js';
import { type ModelLimits, resolveModelLimits } from './limits.js';
import { npyPickle, readNpyHeader, sniffNpy } from './numpy.js';
import { hasPickleMagic, type PickleScan, sniffPickle, walkPickle } from './pickle.js';
import { type PickleRating, worstRating } from './pickle-policy.js';
import { readSafetensorsHeader, sniffSafetensors } from './safetensors.js';
import {
  getTrainingTextScreener,
  type ScreenableText,
  screenTexts,
  type TrainingTextScreener,
  trainingTexts,
} from './screen.js';
import { type ByteSource, bytesSource, fileSource } from './source.js';
import { type FingerprintResult, type TensorBase, TensorFingerprinter, type TensorRef } from './tensorfp.js';
import { locateTorchTensors, torchTensors } from './torch-tensors.js';
import { type TrainingInfo, trainingInfo } from './training.js';
import { isZip, localNamesInHead, readZipDirectory, type ZipEntry, zipEntrySource } from './zip.js';

export type ModelFormat = 'safetensors' | 'gguf' | 'torch' | 'pickle' | 'npy' | 'npz' | 'diffusers' | 'peft';

export const MODEL_FORMATS: readonly ModelFormat[] = [
  'safetensors',
  'gguf',
  'torch',
  'pickle',
  'npy',
  'npz',
  'diffusers',
  'peft',
];

/** The pickles of a file, rated (see models/pickle-policy). */
export interface PickleSummary {
  verdict: PickleRating;
  /** Imported globals, unique, in order. */
  globals: string[];
  /** Globals and tricks rated dangerous (names, or a description of the trick). */
  dangerous: string[];
  suspicious: string[];
  /** Complete pickles walked. */
  pickles: number;
  /** Zip members walked (checkpoints, .npz). */
  entries?: { name: string; verdict: PickleRating; globals: string[]; error?: string }[];
  /** Where a walk broke off. */
  errors?: string[];
}

export interface ModelReport {
  path: string;
  format: ModelFormat;
  kind: ModelKind;
  variant?: string;
  baseModel: string | null;
  /** Identity hashes (absent for folders: see `components`). */
  hashes: Partial<FileDigests>;
  size?: number;
  tensors?: number;
  metadata: Record<string, unknown>;
  training: TrainingInfo;
  pickle?: PickleSummary;
  /** Diffusers folders: one report per weights file. */
  components?: ModelReport[];
  /** What the text screener found in the training text. */
  findings?: Finding[];
  /** Oddities that did not stop the inspection (gaps in the data section, zip tricks...). */
  issues?: string[];
  /** Why the inspection stopped early (hashes are still computed). */
  error?: { code: string; message: string };
  /** The weight fingerprint (models/tensorfp), computed in the identity hashes' read. */
  tensorfp?: TensorFpReport;
}

/** The weight fingerprint in a model report. */
export interface TensorFpReport {
  /** The `tensorfp` signal value (absent when no layer could be fingerprinted). */
  value?: string;
  /** `adapter`: update layers (LoRA, LoHa, LoKr...); `weights`: a checkpoint's weights. */
  kind: 'adapter' | 'weights';
  /** Layers in the value: delta section (adapter updates, checkpoint minus base) and weight section. */
  layers: { delta: number; weights: number };
  /** The base model data subtracted (its file name), when one fitted. */
  base?: string;
  skipped?: string[];
}

export interface InspectOptions {
  limits?: Partial<ModelLimits>;
  /** Compute the identity hashes (default true). */
  hashes?: boolean;
  /** More whole-file digests in the same read (the scan pipeline asks for md5 and sha1). */
  extraDigests?: HashModelOptions['extra'];
  parallel?: HashModelOptions['parallel'];
  /** The text screener: undefined uses the registered one, null none. */
  screener?: TrainingTextScreener | null;
  /** Compute the weight fingerprint in the hashes' read (default true; needs `hashes`). */
  tensorfp?: boolean;
  /** Base models' projections (.tfb) to subtract from a checkpoint's weights. */
  tensorBases?: readonly TensorBase[];
  /** Receives the full fingerprint result, projections included (for writing a base file). */
  onTensorFingerprint?: (result: FingerprintResult) => void;
}

/** State-dict keys collected from a pickle for kind detection. */
const PICKLE_STRINGS = 200_000;
/** Configs read from beside a model (adapter_config.json, model_index.json). */
const CONFIG_NAMES = ['adapter_config.json', 'model_index.json'];
const WEIGHT_FILE = /\.(safetensors|bin|ckpt|pt|pth|gguf|pkl|pickle|npz|npy)$/i;

/** A model format from the first bytes (at most 4 KiB are enough), or undefined. */
export function sniffModel(head: Uint8Array, size?: number): ModelFormat | undefined {
  if (sniffGguf(head)) return 'gguf';
  if (sniffNpy(head)) return 'npy';
  // No size check: a header length beyond the file is reported as damage, not as 'not a model'.
  if (sniffSafetensors(head)) return 'safetensors';
  if (isZip(head)) return sniffZipModel(head);
  if (sniffPickle(head, size)) return 'pickle';
  return undefined;
}

/**
 * A zip whose first local headers (within the sniffed bytes) name a pickle or a NumPy array:
 * torch.save writes `<name>/data.pkl` first; a pickle stored under another name is recognised
 * by its PROTO opcode at the start of the entry.
 */
function sniffZipModel(head: Uint8Array): ModelFormat | undefined {
  const names = localNamesInHead(head);
  if (names.some((n) => /(^|\/)[^/]*\.(pkl|pickle)$/i.test(n))) return 'torch';
  if (names.length > 0 && names.every((n) => /\.npy$/i.test(n))) return 'npz';
  // First entry stored, its data starting with PROTO 2-5.
  if (names.length > 0 && head[8] === 0 && head[9] === 0) {
    const n = head[26]! | (head[27]! << 8);
    const e = head[28]! | (head[29]! << 8);
    const data = head.subarray(30 + n + e, 32 + n + e);
    if (hasPickleMagic(data)) return 'torch';
  }
  return undefined;
}

interface Analysis {
  format: ModelFormat;
  detection: Detection;
  metadata: Record<string, unknown>;
  training: TrainingInfo;
  pickle?: PickleSummary;
  tensors?: number;
  dataOffset?: number;
  issues: string[];
  texts: ScreenableText[];
  error?: { code: string; message: string };
  /** Located tensors, for the weight fingerprint. */
  tensorRefs?: TensorRef[];
  /** Tensors that could not be located (deflated or missing storages). */
  tensorUnlocated?: number;
}

function emptyTraining(): TrainingInfo {
  return { tagFrequency: {}, datasetDirs: {} };
}

function summarise(scans: { name?: string; scan: PickleScan }[]): PickleSummary {
  let verdict: PickleRating = 'safe';
  const globals: string[] = [];
  const seen = new Set<string>();
  const dangerous = new Set<string>();
  const suspicious = new Set<string>();
  const errors: string[] = [];
  let pickles = 0;
  for (const { name, scan } of scans) {
    verdict = worstRating(verdict, scan.verdict);
    pickles += scan.pickles;
    for (const g of scan.details) {
      if (!seen.has(g.name)) {
        seen.add(g.name);
        globals.push(g.name);
      }
      if (g.rating === 'dangerous') dangerous.add(g.name);
      else if (g.rating === 'suspicious') suspicious.add(g.name);
    }
    for (const i of scan.issues) (i.rating === 'dangerous' ? dangerous : suspicious).add(i.message);
    if (scan.error) errors.push(`${name ? `${name}: ` : ''}${scan.error.message}`);
  }
  const summary: PickleSummary = { verdict, globals, dangerous: [...dangerous], suspicious: [...suspicious], pickles };
  if (scans.some((s) => s.name !== undefined)) {
    summary.entries = scans.map(({ name, scan }) => ({
      name: name ?? '',
      verdict: scan.verdict,
      globals: scan.globals,
      ...(scan.error ? { error: scan.error.message } : {}),
    }));
  }
  if (errors.length > 0) summary.errors = errors;
  return summary;
}

function errorInfo(e: unknown): { code: string; message: string } {
  if (WardError.is(e)) return { code: e.code, message: e.message };
  throw e;
}

/** Parses one model file's structure (no hashing). Parse failures land in `error`. */
function analyse(src: ByteSource, format: ModelFormat, limits: ModelLimits): Analysis {
  const a: Analysis = {
    format,
    detection: { kind: 'unknown', baseModel: null },
    metadata: {},
    training: emptyTraining(),
    issues: [],
    texts: [],
  };
  try {
    if (format === 'safetensors') analyseSafetensors(src, limits, a);
    else if (format === 'gguf') analyseGguf(src, limits, a);
    else if (format === 'torch' || format === 'npz') analyseZip(src, limits, a);
    else if (format === 'npy') analyseNpy(src, limits, a);
    else analysePickle(src, limits, a);
  } catch (e) {
    a.error = errorInfo(e);
  }
  return a;
}

function analyseSafetensors(src: ByteSource, limits: ModelLimits, a: Analysis): void {
  const h = readSafetensorsHeader(src, limits);
  a.dataOffset = h.dataOffset;
  a.metadata = h.metadata;
  a.tensors = h.tensors.length;
  a.issues.push(...h.issues);
  a.tensorRefs = h.tensors.map((t) => {
    const start = h.dataOffset + t.offsets[0];
    const size = t.dtype === 'F32' ? 4 : t.dtype === 'F64' ? 8 : 2;
    return {
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      start,
      end: h.dataOffset + t.offsets[1],
      address: (e: number) => start + e * size,
      contiguous: true,
    };
  });
  const shapes = new Map(h.tensors.map((t) => [t.name, t.shape]));
  a.detection = detectModel({
    names: h.tensors.map((t) => t.name),
    shapeOf: (n) => shapes.get(n),
    metadata: h.metadata,
  });
  a.training = trainingInfo(h.metadata, limits);
}

const IMAGE_ARCHITECTURES: Readonly<Record<string, string>> = {
  flux: 'flux',
  sd1: 'sd1',
  sdxl: 'sdxl',
  sd3: 'sd3',
  'stable-diffusion': 'sd1',
};

function analyseGguf(src: ByteSource, limits: ModelLimits, a: Analysis): void {
  const g = readGguf(src, limits);
  a.metadata = { 'gguf.version': g.version, ...g.metadata };
  a.tensors = g.tensors.length;
  a.issues.push(...g.issues);
  const arch =
    typeof g.metadata['general.architecture'] === 'string' ? (g.metadata['general.architecture'] as string) : null;
  const type = g.metadata['general.type'];
  const shapes = new Map(g.tensors.map((t) => [t.name, t.shape]));
  const names = g.tensors.map((t) => t.name);
  if (type === 'adapter' || typeof g.metadata['adapter.type'] === 'string') {
    const v = g.metadata['adapter.type'];
    a.detection = { kind: 'adapter', variant: typeof v === 'string' ? v : 'lora', baseModel: arch };
  } else if (arch && IMAGE_ARCHITECTURES[arch]) {
    a.detection = { kind: 'checkpoint', baseModel: IMAGE_ARCHITECTURES[arch] as string };
  } else if (arch) {
    a.detection = { kind: 'llm', baseModel: arch };
  } else {
    a.detection = detectModel({ names, shapeOf: (n) => shapes.get(n) });
  }
  const str = (k: string): string | undefined =>
    typeof g.metadata[k] === 'string' ? (g.metadata[k] as string) : undefined;
  const name = str('general.name');
  if (name) a.training.title = name;
  const description = str('general.description');
  if (description) a.training.description = description;
  const tags = g.metadata['general.tags'];
  if (Array.isArray(tags)) a.training.tags = tags.filter((t): t is string => typeof t === 'string');
}

function walk(src: ByteSource, limits: ModelLimits, collect = 0): PickleScan {
  return walkPickle(src, limits.pickle, { collectStrings: collect });
}

function analysePickle(src: ByteSource, limits: ModelLimits, a: Analysis): void {
  const scan = walk(src, limits, PICKLE_STRINGS);
  if (scan.pickles === 0 && scan.opcodes <= 1 && scan.error) {
    throw new WardError('WARD_ERR_MODEL_CORRUPT', `Not a readable pickle: ${scan.error.message}`);
  }
  a.pickle = summarise([{ scan }]);
  if (scan.trailingBytes) a.metadata.trailingBytes = scan.trailingBytes;
  a.detection = detectModel({ names: scan.strings ?? [] });
}

function analyseNpy(src: ByteSource, limits: ModelLimits, a: Analysis): void {
  const h = readNpyHeader(src);
  a.metadata = { 'npy.version': h.version, descr: h.descr, shape: h.shape };
  const p = npyPickle(src, h);
  a.pickle = summarise(p ? [{ scan: walk(p, limits) }] : []);
}

/** The zip members a loader could unpickle: pickles by name, by PROTO magic, and object .npy arrays. */
function analyseZip(src: ByteSource, limits: ModelLimits, a: Analysis): void {
  const dir = readZipDirectory(src, limits.zip);
  a.issues.push(...dir.issues);
  const scans: { name: string; scan: PickleScan }[] = [];
  const keys: string[] = [];
  const arrays: { name: string; descr: string; shape: string }[] = [];
  const pickleNames: string[] = [];
  for (const entry of dir.entries) {
    const label = entry.localName ? `${entry.name} (local header: ${entry.localName})` : entry.name;
    let body: ByteSource;
    try {
      if (!isCandidate(entry)) {
        // Only stored entries can be checked for the PROTO magic without inflating them.
        if (entry.method !== 0) continue;
        const head = src.read(entry.dataOffset, 2);
        if (!hasPickleMagic(head)) continue;
      }
      body = zipEntrySource(src, entry, limits.zip);
    } catch (e) {
      a.issues.push(`${label}: ${errorInfo(e).message}`);
      continue;
    }
    if (/\.npy$/i.test(entry.name)) {
      try {
        const h = readNpyHeader(body);
        if (arrays.length < 100) arrays.push({ name: entry.name, descr: h.descr, shape: h.shape });
        const p = npyPickle(body, h);
        if (p) scans.push({ name: label, scan: walk(p, limits) });
      } catch (e) {
        a.issues.push(`${label}: ${errorInfo(e).message}`);
      }
      continue;
    }
    const named = /\.(pkl|pickle)$/i.test(entry.name) || /\.(pkl|pickle)$/i.test(entry.localName ?? '');
    const scan = walk(body, limits, /(^|\/)data\.pkl$/.test(entry.name) ? PICKLE_STRINGS : 0);
    // An entry found by magic alone counts only if it really is a pickle (weights can start with 0x80).
    if (!named && (scan.pickles === 0 || scan.error)) continue;
    scans.push({ name: label, scan });
    pickleNames.push(entry.name);
    if (a.format === 'torch' && /(^|\/)data\.pkl$/.test(entry.name) && a.tensorRefs === undefined) {
      const located = locateTorchTensors(torchTensors(body), dir.entries, entry.name);
      a.tensorRefs = located.refs;
      if (located.skipped > 0) a.tensorUnlocated = located.skipped;
    }
    if (scan.strings) keys.push(...scan.strings);
  }
  a.metadata = {
    zipEntries: dir.entries.length,
    ...(pickleNames.length > 0 ? { pickleEntries: pickleNames.slice(0, 100) } : {}),
    ...(arrays.length > 0 ? { arrays } : {}),
  };
  a.pickle = summarise(scans);
  if (a.format === 'npz') return;
  a.detection = detectModel({ names: keys });
}

function isCandidate(entry: ZipEntry): boolean {
  return /\.(pkl|pickle|npy)$/i.test(entry.name) || /\.(pkl|pickle)$/i.test(entry.localName ?? '');
}

/** PEFT: the adapter config beside a weights file (`adapter_config.json` or `<stem>.adapter_config.json`). */
function adapterConfigFor(path: string): string | undefined {
  const dir = dirname(path);
  const stem = basename(path).replace(/\.[^.]+$/, '');
  for (const candidate of [join(dir, `${stem}.adapter_config.json`), join(dir, 'adapter_config.json')]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function readJsonFile(path: string, limits: ModelLimits, what: string): Record<string, unknown> {
  const size = statSync(path).size;
  if (size > limits.maxConfigBytes) {
    throw new WardError('WARD_ERR_MODEL_LIMIT', `${what} of ${size} bytes is over ${limits.maxConfigBytes}`, {
      limit: limits.maxConfigBytes,
    });
  }
  const json = parseJson(readFileSync(path, 'utf8'), what, limits.maxJsonDepth);
  if (!isPlainObject(json)) throw new WardError('WARD_ERR_MODEL_CORRUPT', `${what} is not a JSON object`);
  return json;
}

function peftFamily(name: string): string | null {
  const n = name.toLowerCase();
  for (const f of [
    'llama',
    'mistral',
    'mixtral',
    'qwen',
    'gemma',
    'phi',
    'falcon',
    'gpt2',
    'gpt-neox',
    'bloom',
    'opt',
    't5',
  ]) {
    if (n.includes(f)) return f;
  }
  if (/stable-diffusion-xl|sdxl/.test(n)) return 'sdxl';
  if (/stable-diffusion-v1|sd-?1\.?5/.test(n)) return 'sd1';
  if (/flux/.test(n)) return 'flux';
  return null;
}

/** Merges a PEFT adapter config into a report of its weights. */
function applyAdapterConfig(report: ModelReport, config: Record<string, unknown>, configPath: string): void {
  report.kind = 'adapter';
  const peftType = typeof config.peft_type === 'string' ? config.peft_type.toLowerCase() : undefined;
  report.variant = peftType ?? report.variant ?? 'lora';
  const base = typeof config.base_model_name_or_path === 'string' ? config.base_model_name_or_path : undefined;
  if (base) {
    report.training.baseModelName = base;
    report.baseModel = report.baseModel ?? peftFamily(base);
  }
  report.metadata = { ...report.metadata, adapter_config: config, adapter_config_file: basename(configPath) };
}

async function readHead(path: string): Promise<{ head: Uint8Array; size: number }> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, 4096, 0);
    return { head: buf.subarray(0, bytesRead), size };
  } finally {
    await fh.close();
  }
}

function inputError(cause: unknown, path: string): WardError {
  if (WardError.is(cause)) return cause;
  const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
  return new WardError('WARD_ERR_INPUT_NOT_FOUND', `Cannot read file: ${errno}`, { path }, cause);
}

function reportOf(path: string, a: Analysis, size: number): ModelReport {
  const report: ModelReport = {
    path,
    format: a.format,
    kind: a.detection.kind,
    ...(a.detection.variant ? { variant: a.detection.variant } : {}),
    baseModel: a.detection.baseModel,
    hashes: {},
    size,
    ...(a.tensors !== undefined ? { tensors: a.tensors } : {}),
    metadata: a.metadata,
    training: a.training,
    ...(a.pickle ? { pickle: a.pickle } : {}),
    ...(a.issues.length > 0 ? { issues: a.issues } : {}),
    ...(a.error ? { error: a.error } : {}),
  };
  return report;
}

async function screen(report: ModelReport, options: InspectOptions): Promise<void> {
  const screener = options.screener === null ? undefined : (options.screener ?? getTrainingTextScreener());
  if (!screener) return;
  const findings = await screenTexts(trainingTexts(report.training), screener);
  if (findings.length > 0) report.findings = findings;
}

/**
 * Inspects a model file or folder. Throws WARD_ERR_MODEL_UNSUPPORTED for anything that is not a
 * model, WARD_ERR_INPUT_NOT_FOUND when it cannot be read; a damaged model gives a report with
 * `error` (and its hashes).
 */
export async function inspectModel(path: string, options: InspectOptions = {}): Promise<ModelReport> {
  const limits = resolveModelLimits(options.limits);
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (cause) {
    throw inputError(cause, path);
  }
  if (st.isDirectory()) return inspectFolder(path, options, limits);
  if (/(^|[./])adapter_config\.json$/.test(basename(path))) return inspectAdapterConfig(path, options, limits);
  let head: { head: Uint8Array; size: number };
  try {
    head = await readHead(path);
  } catch (cause) {
    throw inputError(cause, path);
  }
  const format = sniffModel(head.head, head.size);
  if (!format) {
    throw new WardError('WARD_ERR_MODEL_UNSUPPORTED', 'Not a model format Ward inspects', { path });
  }
  const src = fileSource(path);
  let a: Analysis;
  try {
    a = analyse(src, format, limits);
  } finally {
    src.close();
  }
  const report = reportOf(path, a, head.size);
  const configPath = format === 'safetensors' || format === 'torch' ? adapterConfigFor(path) : undefined;
  if (configPath) {
    try {
      applyAdapterConfig(report, readJsonFile(configPath, limits, basename(configPath)), configPath);
    } catch (e) {
      report.issues = [...(report.issues ?? []), `${basename(configPath)}: ${errorInfo(e).message}`];
    }
  }
  if (options.hashes !== false) {
    const fp = fingerprinter(a, options);
    report.hashes = await hashModelFile(path, {
      dataOffset: a.dataOffset,
      extra: options.extraDigests,
      parallel: options.parallel,
      ...(fp ? { tap: (chunk, position) => fp.update(chunk, position) } : {}),
    });
    if (fp) finishFingerprint(report, fp, a, options);
  }
  await screen(report, options);
  return report;
}

function fingerprinter(a: Analysis, options: InspectOptions): TensorFingerprinter | undefined {
  if (options.tensorfp === false || !a.tensorRefs || a.tensorRefs.length === 0) return undefined;
  return new TensorFingerprinter(a.tensorRefs, { bases: options.tensorBases });
}

function finishFingerprint(report: ModelReport, fp: TensorFingerprinter, a: Analysis, options: InspectOptions): void {
  const r = fp.finish();
  options.onTensorFingerprint?.(r);
  const skipped = [
    ...(a.tensorUnlocated ? [`${a.tensorUnlocated} tensors: storage missing, deflated or too small`] : []),
    ...(r.skipped ?? []),
  ];
  report.tensorfp = {
    ...(r.value ? { value: r.value } : {}),
    kind: r.kind,
    layers: r.layers,
    ...(r.base ? { base: r.base } : {}),
    ...(skipped.length > 0 ? { skipped } : {}),
  };
}

/** Inspects a model held in memory (an archive entry); `name` labels it. */
export async function inspectModelBytes(
  bytes: Uint8Array,
  name: string,
  options: InspectOptions = {},
): Promise<ModelReport> {
  const limits = resolveModelLimits(options.limits);
  const format = sniffModel(bytes.subarray(0, 4096), bytes.length);
  if (!format) throw new WardError('WARD_ERR_MODEL_UNSUPPORTED', 'Not a model format Ward inspects');
  const a = analyse(bytesSource(bytes), format, limits);
  const report = reportOf(name, a, bytes.length);
  if (options.hashes !== false) {
    const fp = fingerprinter(a, options);
    report.hashes = hashModelBytes(bytes, {
      dataOffset: a.dataOffset,
      extra: options.extraDigests,
      ...(fp ? { tap: (chunk, position) => fp.update(chunk, position) } : {}),
    });
    if (fp) finishFingerprint(report, fp, a, options);
  }
  await screen(report, options);
  return report;
}

/** `adapter_config.json` given directly: the report of the weights beside it. */
async function inspectAdapterConfig(path: string, options: InspectOptions, limits: ModelLimits): Promise<ModelReport> {
  const dir = dirname(path);
  const stem = basename(path).replace(/\.?adapter_config\.json$/, '');
  const candidates = stem
    ? [`${stem}.safetensors`, `${stem}.bin`]
    : ['adapter_model.safetensors', 'adapter_model.bin', 'adapter_model.pt'];
  const weights = candidates.map((c) => join(dir, c)).find((p) => existsSync(p));
  if (!weights) {
    throw new WardError('WARD_ERR_MODEL_UNSUPPORTED', 'An adapter_config.json without adapter weights beside it', {
      path,
    });
  }
  const report = await inspectModel(weights, options);
  if (report.kind !== 'adapter') applyAdapterConfig(report, readJsonFile(path, limits, basename(path)), path);
  return report;
}

/** diffusers pipelines (model_index.json) and PEFT adapter folders (adapter_config.json). */
async function inspectFolder(path: string, options: InspectOptions, limits: ModelLimits): Promise<ModelReport> {
  if (existsSync(join(path, 'adapter_config.json'))) {
    const report = await inspectAdapterConfig(join(path, 'adapter_config.json'), options, limits);
    return { ...report, path, format: 'peft', metadata: { ...report.metadata, weights: basename(report.path) } };
  }
  if (!existsSync(join(path, 'model_index.json'))) {
    throw new WardError(
      'WARD_ERR_MODEL_UNSUPPORTED',
      'A folder without model_index.json (diffusers) or adapter_config.json (PEFT)',
      { path },
    );
  }
  const index = readJsonFile(join(path, 'model_index.json'), limits, 'model_index.json');
  const pipeline = typeof index._class_name === 'string' ? index._class_name : '';
  const components: ModelReport[] = [];
  const issues: string[] = [];
  for (const [name, value] of Object.entries(index)) {
    if (name.startsWith('_') || !Array.isArray(value)) continue;
    if (/[\\/]|^\.\.?$/.test(name)) {
      issues.push(`component name ${JSON.stringify(name.slice(0, 80))} is not a plain folder name`);
      continue;
    }
    const sub = join(path, name);
    if (!existsSync(sub) || !statSync(sub).isDirectory()) continue;
    for (const file of readdirSync(sub).sort()) {
      const p = join(sub, file);
      if (!WEIGHT_FILE.test(file) || !statSync(p).isFile()) continue;
      try {
        const r = await inspectModel(p, options);
        components.push({ ...r, metadata: { ...r.metadata, component: name } });
      } catch (e) {
        issues.push(`${name}/${file}: ${errorInfo(e).message}`);
      }
    }
  }
  let baseModel = diffusersFamily(pipeline);
  if (baseModel === 'sd1' || baseModel === null) {
    const unet = join(path, 'unet', 'config.json');
    if (existsSync(unet)) {
      try {
        const width = readJsonFile(unet, limits, 'unet/config.json').cross_attention_dim;
        if (width === 1024) baseModel = 'sd2';
        else if (width === 2048) baseModel = 'sdxl';
        else if (width === 768) baseModel = 'sd1';
      } catch (e) {
        issues.push(`unet/config.json: ${errorInfo(e).message}`);
      }
    }
  }
  const unsafe = components.map((c) => c.pickle).filter((p): p is PickleSummary => p !== undefined);
  const report: ModelReport = {
    path,
    format: 'diffusers',
    kind: 'checkpoint',
    baseModel: baseModel ?? components.find((c) => c.baseModel)?.baseModel ?? null,
    hashes: {},
    metadata: { model_index: index, pipeline },
    training: emptyTraining(),
    components,
    ...(unsafe.length > 0 ? { pickle: mergeSummaries(unsafe) } : {}),
    ...(issues.length > 0 ? { issues } : {}),
  };
  const findings = components.flatMap((c) => c.findings ?? []);
  if (findings.length > 0) report.findings = findings;
  return report;
}

function mergeSummaries(list: PickleSummary[]): PickleSummary {
  const out: PickleSummary = { verdict: 'safe', globals: [], dangerous: [], suspicious: [], pickles: 0 };
  for (const p of list) {
    out.verdict = worstRating(out.verdict, p.verdict);
    out.globals = [...new Set([...out.globals, ...p.globals])];
    out.dangerous = [...new Set([...out.dangerous, ...p.dangerous])];
    out.suspicious = [...new Set([...out.suspicious, ...p.suspicious])];
    out.pickles += p.pickles;
  }
  return out;
}

function diffusersFamily(pipeline: string): string | null {
  if (/^StableDiffusionXL/.test(pipeline)) return 'sdxl';
  if (/^StableDiffusion3/.test(pipeline)) return 'sd3';
  if (/^Flux/.test(pipeline)) return 'flux';
  if (/^StableDiffusion/.test(pipeline)) return 'sd1';
  return null;
}

/** Whether a folder is a model (diffusers or PEFT) rather than a folder of files. */
export function isModelFolder(path: string): boolean {
  return CONFIG_NAMES.some((c) => existsSync(join(path, c)));
}
