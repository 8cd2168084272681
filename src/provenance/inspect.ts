/**
 * @module provenance/inspect
 * Provenance inspection of one image: generation metadata, C2PA, XMP digital source type (no pixel
 * decode), then, when pixels are allowed, stealth LSB metadata and the Stable Diffusion invisible
 * watermark. The verdict `aiGenerated` is `yes` when a piece of evidence is conclusive on its own,
 * `likely` when only weaker evidence exists, and `no-evidence` otherwise. Never touches the network.
 */
import { X509Certificate } from 'node:crypto';
import { WardError } from '../errors.js';
import { DEFAULT_LIMITS, type Limits } from '../limits.js';
import type { DecodedImage } from '../media/image.js';
import { DECODABLE_IMAGE_FORMATS, type ImageFormat, sniffImage } from '../media/sniff.js';
import { modelNameSha256, modelRefsOf } from '../signals/model-refs.js';
import { CborError } from './c2pa/cbor.js';
import { JumbfError } from './c2pa/jumbf.js';
import { type C2paSummary, readManifestStore, sourceTypeName } from './c2pa/manifest.js';
import { C2PA_TRUST_ANCHORS } from './c2pa/trust-anchors.js';
import { type GenerationInfo, readGeneration } from './generators.js';
import { hashSignals } from './hashes.js';
import {
  type ContainerMetadata,
  DEFAULT_METADATA_LIMITS,
  type MetadataLimits,
  readContainer,
  type TextEntry,
} from './metadata.js';
import { readStealth } from './stealth.js';
import type { Evidence, MetadataIssue, ProvenanceReport } from './types.js';
import { decodeSdWatermark } from './watermark.js';
import { readXmp } from './xmp.js';

export interface InspectOptions {
  /**
   * Decode pixels for the stealth-metadata and invisible-watermark checks (default true). False is
   * metadata-only inspection: the file's chunks and segments are walked, no pixel is decoded.
   */
  pixels?: boolean;
  /** Leave the prompt and negative prompt out of the report (as the text screener's `redact`). */
  redact?: boolean;
  /** Decoder limits (pixels, bytes). */
  limits?: Limits;
  metadataLimits?: MetadataLimits;
  /** Trust anchors for C2PA signers (PEM text, one or many certificates); default: the shipped C2PA trust list. */
  trustAnchors?: string | readonly string[];
  /** C2PA certificates are checked for validity at this time (default: now). */
  validationTime?: Date;
  /** Decodes the image (default: media/image decodeImage); lets a caller share one decode. */
  decode?: (bytes: Uint8Array, limits: Limits) => Promise<DecodedImage>;
}

/** AI-generated digital source types (IPTC): the image is, at least partly, made by a trained model. */
const AI_SOURCE_TYPES = new Set(['trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia']);

let defaultAnchors: X509Certificate[] | undefined;
const anchorCache = new Map<string, X509Certificate[]>();

function anchorsFor(option: string | readonly string[] | undefined): X509Certificate[] {
  if (option === undefined) {
    defaultAnchors ??= C2PA_TRUST_ANCHORS.map((p) => new X509Certificate(p));
    return defaultAnchors;
  }
  const text = typeof option === 'string' ? option : option.join('\n');
  let list = anchorCache.get(text);
  if (!list) {
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    try {
      list = blocks.map((b) => new X509Certificate(b));
    } catch (cause) {
      throw new WardError('WARD_ERR_CONFIG_INVALID', 'trustAnchors holds a certificate that does not parse', {}, cause);
    }
    anchorCache.set(text, list);
  }
  return list;
}

/** Metadata-only inspection (synchronous, no pixel decode). */
export function inspectMetadata(bytes: Uint8Array, options: InspectOptions = {}): ProvenanceReport {
  return finish(readMetadataParts(bytes, options), options);
}

/**
 * Inspects an image: metadata, then (unless `pixels: false`) stealth metadata and the invisible
 * watermark. Never throws for a bad file: problems are in `issues`.
 * @example const r = await inspectImage(bytes); if (r.aiGenerated !== 'no-evidence') console.log(r.generator, r.resources);
 */
export async function inspectImage(bytes: Uint8Array, options: InspectOptions = {}): Promise<ProvenanceReport> {
  const parts = readMetadataParts(bytes, options);
  if (options.pixels !== false) await readPixels(bytes, parts, options);
  return finish(parts, options);
}

interface Parts {
  meta?: ContainerMetadata;
  gen: GenerationInfo;
  evidence: Evidence[];
  issues: MetadataIssue[];
  c2pa?: C2paSummary;
  watermark?: ProvenanceReport['watermark'];
  xmpSoftware?: string;
}

function readMetadataParts(bytes: Uint8Array, options: InspectOptions): Parts {
  const meta = readContainer(bytes, options.metadataLimits ?? DEFAULT_METADATA_LIMITS);
  const texts: TextEntry[] = meta?.texts ?? [];
  const xmp = readXmp((meta?.xmp ?? []).map((x) => x.value));
  const extra: TextEntry[] = xmp.creatorTool
    ? [{ key: 'CreatorTool', value: xmp.creatorTool, where: 'xmp', offset: 0 }]
    : [];
  const gen = readGeneration(
    [...texts, ...extra],
    xmp.fields.map((value) => ({ value, source: 'XMP' })),
  );
  const parts: Parts = {
    ...(meta ? { meta } : {}),
    gen,
    evidence: [...gen.evidence],
    issues: [...(meta?.issues ?? []), ...gen.issues],
  };
  for (const t of xmp.digitalSourceTypes) {
    const name = sourceTypeName(t);
    if (AI_SOURCE_TYPES.has(name))
      parts.evidence.push({ kind: 'digital-source-type', detail: `XMP DigitalSourceType ${name}`, strength: 'yes' });
  }
  if (meta?.c2pa) {
    try {
      parts.c2pa = readManifestStore(meta.c2pa.jumbf, {
        ...(meta.format === 'jumbf' ? {} : { asset: bytes }),
        trustAnchors: anchorsFor(options.trustAnchors),
        ...(options.validationTime ? { at: options.validationTime } : {}),
      });
    } catch (cause) {
      if (
        !(
          cause instanceof JumbfError ||
          cause instanceof CborError ||
          cause instanceof SyntaxError ||
          cause instanceof TypeError
        )
      )
        throw cause;
      parts.issues.push({
        code: 'WARD_ERR_METADATA_CORRUPT',
        message: `C2PA manifest store: ${cause.message}`,
        offset: meta.c2pa.offset,
      });
    }
  }
  if (xmp.remoteManifest) {
    if (parts.c2pa) parts.c2pa.remoteManifest = xmp.remoteManifest;
    else
      parts.c2pa = {
        manifests: 0,
        actions: [],
        digitalSourceTypes: [],
        remoteManifest: xmp.remoteManifest,
        validation: { state: 'unverified', codes: ['manifest.remote.notFetched'] },
      };
  }
  const c = parts.c2pa;
  if (c) {
    for (const d of c.digitalSourceTypes)
      if (AI_SOURCE_TYPES.has(d))
        parts.evidence.push({
          kind: 'c2pa',
          detail: `C2PA ${c.validation.state} manifest declares ${d}`,
          strength: 'yes',
        });
    for (const d of c.ingredientDigitalSourceTypes ?? [])
      if (AI_SOURCE_TYPES.has(d))
        parts.evidence.push({ kind: 'c2pa', detail: `a C2PA ingredient manifest declares ${d}`, strength: 'likely' });
  }
  return parts;
}

async function readPixels(bytes: Uint8Array, parts: Parts, options: InspectOptions): Promise<void> {
  const format = sniffImage(bytes.subarray(0, 16));
  if (!format || !DECODABLE_IMAGE_FORMATS.has(format as ImageFormat)) return;
  let image: DecodedImage;
  try {
    const decode = options.decode ?? (await import('../media/image.js')).decodeImage;
    image = await decode(bytes, options.limits ?? DEFAULT_LIMITS);
  } catch (cause) {
    const code = WardError.is(cause) ? cause.code : 'WARD_ERR_IMAGE_DECODE';
    parts.issues.push({
      code,
      message: `pixels not checked: ${cause instanceof Error ? cause.message : String(cause)}`,
    });
    return;
  }
  const stealth = readStealth(image, (options.metadataLimits ?? DEFAULT_METADATA_LIMITS).maxTextBytes);
  if (stealth) {
    const what = `stealth metadata (${stealth.mode} LSB${stealth.compressed ? ', compressed' : ''})`;
    if (stealth.problem)
      parts.issues.push({ code: 'WARD_ERR_METADATA_CORRUPT', message: `${what}: ${stealth.problem}` });
    if (stealth.text) {
      const entries = stealthEntries(stealth.text);
      const found = readGeneration(entries);
      mergeGeneration(parts.gen, found);
      // Whatever the payload is, generation data hidden in pixel LSBs is stealth metadata.
      const kind = 'stealth-metadata' as const;
      parts.evidence.push(...found.evidence.map((e) => ({ ...e, kind, detail: `${e.detail}, ${what}` })));
      if (found.evidence.length === 0)
        parts.evidence.push({ kind: 'stealth-metadata', detail: `${what} present`, strength: 'likely' });
    }
  }
  const wm = decodeSdWatermark(image);
  if (wm) {
    parts.watermark = wm;
    if (wm.detected)
      parts.evidence.push({
        kind: 'watermark',
        detail: `Stable Diffusion invisible watermark ${wm.detected.name}: ${wm.detected.matched}/${wm.detected.bits} bits`,
        strength: wm.detected.confidence,
      });
  }
}

/** A stealth payload: infotext, or JSON (NovelAI puts its PNG text fields there). */
function stealthEntries(text: string): TextEntry[] {
  try {
    const j = JSON.parse(text) as unknown;
    if (j && typeof j === 'object' && !Array.isArray(j)) {
      const o = j as Record<string, unknown>;
      if (typeof o.Software === 'string' || typeof o.Comment === 'string') {
        return Object.entries(o)
          .filter(([, v]) => typeof v === 'string' || (v && typeof v === 'object'))
          .map(([k, v]) => ({
            key: k,
            value: typeof v === 'string' ? v : JSON.stringify(v),
            where: 'stealth',
            offset: 0,
          }));
      }
    }
  } catch {
    // not JSON: infotext
  }
  return [{ key: 'stealth', value: text, where: 'stealth', offset: 0 }];
}

function mergeGeneration(into: GenerationInfo, from: GenerationInfo): void {
  into.generator ??= from.generator;
  if (into.prompt === undefined && into.negativePrompt === undefined) {
    if (from.prompt !== undefined) into.prompt = from.prompt;
    if (from.negativePrompt !== undefined) into.negativePrompt = from.negativePrompt;
  }
  for (const r of from.resources.list())
    into.resources.add(r.type, r.name, r.hashes, r.source ? { source: r.source } : {});
}

function finish(parts: Parts, options: InspectOptions): ProvenanceReport {
  const { gen, evidence, c2pa } = parts;
  const aiGenerated = evidence.some((e) => e.strength === 'yes')
    ? 'yes'
    : evidence.length > 0
      ? 'likely'
      : 'no-evidence';
  let generator = gen.generator;
  if (!generator && c2pa && c2pa.digitalSourceTypes.some((d) => AI_SOURCE_TYPES.has(d))) {
    const created = c2pa.actions.find(
      (a) => a.digitalSourceType && AI_SOURCE_TYPES.has(sourceTypeName(a.digitalSourceType)),
    );
    generator = created?.softwareAgent ?? c2pa.claimGenerator;
  }
  if (!generator && parts.watermark?.detected)
    generator = `Stable Diffusion (${parts.watermark.detected.name} watermark)`;
  const report: ProvenanceReport = {
    aiGenerated,
    evidence,
    ...(generator ? { generator } : {}),
    ...(!options.redact && gen.prompt !== undefined ? { prompt: gen.prompt } : {}),
    ...(!options.redact && gen.negativePrompt !== undefined ? { negativePrompt: gen.negativePrompt } : {}),
    ...(options.redact && (gen.prompt !== undefined || gen.negativePrompt !== undefined) ? { redacted: true } : {}),
    resources: gen.resources.list(),
    ...(c2pa ? { c2pa } : {}),
    ...(parts.watermark ? { watermark: parts.watermark } : {}),
    ...(parts.issues.length > 0 ? { issues: parts.issues } : {}),
  };
  return report;
}

/** The prompts of an inspection (kept apart from the report when it is redacted), for the screener. */
export async function inspectWithPrompts(
  bytes: Uint8Array,
  options: InspectOptions = {},
): Promise<{ report: ProvenanceReport; prompt?: string; negativePrompt?: string }> {
  const parts = readMetadataParts(bytes, options);
  if (options.pixels !== false) await readPixels(bytes, parts, options);
  const report = finish(parts, options);
  return {
    report,
    ...(parts.gen.prompt !== undefined ? { prompt: parts.gen.prompt } : {}),
    ...(parts.gen.negativePrompt !== undefined ? { negativePrompt: parts.gen.negativePrompt } : {}),
  };
}

/**
 * Everything of a report's resources that banks can match, unique: the hashes (`autov2:…`), the
 * file names (`model-name:<sha256 of the normalised stem>`) and hub ids (`model-ref:civitai:model:…`
 * from AIRs and Civitai version ids): signals/model-refs.
 */
export function resourceSignals(report: ProvenanceReport): string[] {
  const out = new Set(resourceHashSignals(report));
  for (const r of report.resources) {
    const refs = r.air ? modelRefsOf(r.air) : [];
    if (r.civitaiVersionId !== undefined) refs.push(`civitai:version:${r.civitaiVersionId}`);
    for (const ref of refs) out.add(`model-ref:${ref}`);
    // A name that is an AIR or a hash (the generic pass names a resource by its hash) is not a file name.
    if (r.name.startsWith('urn:air:') || /^(?:[a-z0-9]+:)?[0-9a-f]{8,64}$/i.test(r.name)) continue;
    const h = modelNameSha256(r.name);
    if (h) out.add(`model-name:${h}`);
  }
  return [...out];
}

/** The resource hashes of a report as matchable signal values (`autov2:…`, `sha256:…`), unique. */
export function resourceHashSignals(report: ProvenanceReport): string[] {
  return [...new Set(report.resources.flatMap((r) => hashSignals(r.hashes)))];
}
