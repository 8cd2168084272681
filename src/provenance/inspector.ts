/**
 * @module provenance/inspector
 * The image inspector of `ward inspect`: one record per image file (provenance report, the text
 * screener's findings on its prompts, metadata issues) and its table rendering. Prompts appear
 * only in the JSON/NDJSON record and only without `--redact`; the table never prints them.
 */
import { readFile } from 'node:fs/promises';
import { WardError } from '../errors.js';
import type { Inspector } from '../inspect/types.js';
import type { Finding } from '../item.js';
import type { Limits } from '../limits.js';
import { sniffImage } from '../media/sniff.js';
import { inspectWithPrompts } from './inspect.js';
import { screenPrompts } from './prompt-screen.js';
import type { ProvenanceReport } from './types.js';

export interface ImageInspectRecord {
  path: string;
  kind: 'image';
  format?: string;
  provenance: ProvenanceReport;
  /** The text screener's findings on the prompts (always redacted). */
  findings: Finding[];
}

export interface ImageInspectOptions {
  /** Leave prompts out of the record (as the text screener's redact). */
  redact?: boolean;
  /** False: metadata only, no pixel decode (no stealth or watermark check). */
  pixels?: boolean;
  limits?: Limits;
  trustAnchors?: string;
}

/** Whether the first bytes are an image (or a C2PA sidecar) the image inspector reads. */
export function isImageInspectable(head: Uint8Array): boolean {
  if (sniffImage(head) !== undefined) return true;
  return head.length >= 8 && head[4] === 0x6a && head[5] === 0x75 && head[6] === 0x6d && head[7] === 0x62; // 'jumb'
}

/** Inspects one image file. Throws WardError WARD_ERR_INPUT_NOT_FOUND when it cannot be read. */
export async function inspectImageFile(path: string, options: ImageInspectOptions = {}): Promise<ImageInspectRecord> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new WardError(
      'WARD_ERR_INPUT_NOT_FOUND',
      `Cannot read file: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`,
      { path },
      cause,
    );
  }
  const { report, prompt, negativePrompt } = await inspectWithPrompts(bytes, {
    ...(options.redact ? { redact: true } : {}),
    ...(options.pixels === false ? { pixels: false } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.trustAnchors !== undefined ? { trustAnchors: options.trustAnchors } : {}),
  });
  const format = sniffImage(bytes.subarray(0, 16)) ?? (isImageInspectable(bytes.subarray(0, 16)) ? 'c2pa' : undefined);
  return {
    path,
    kind: 'image',
    ...(format ? { format } : {}),
    provenance: report,
    findings: screenPrompts(prompt, negativePrompt, 'provenance'),
  };
}

/** Table lines for one record (no prompt text: it can be sensitive; use --format json). */
export function imageTableRows(r: ImageInspectRecord): string {
  const p = r.provenance;
  const lines = [
    `${r.path}  [${r.format ?? 'image'}]  AI-generated: ${p.aiGenerated}${p.generator ? `  generator: ${p.generator}` : ''}`,
  ];
  for (const e of p.evidence) lines.push(`  evidence  ${e.kind} (${e.strength}): ${e.detail}`);
  if (p.prompt !== undefined || p.negativePrompt !== undefined || p.redacted)
    lines.push(
      `  prompt    ${p.redacted ? 'redacted' : `${p.prompt?.length ?? 0} chars, negative ${p.negativePrompt?.length ?? 0} chars (shown with --format json)`}`,
    );
  for (const res of p.resources) {
    const hashes = Object.entries(res.hashes).map(([k, v]) => `${k}:${v}`);
    lines.push(
      `  ${res.type.padEnd(11)}${res.name}${res.air && res.air !== res.name ? ` (${res.air})` : ''}${hashes.length ? `  ${hashes.join(' ')}` : ''}`,
    );
  }
  if (p.c2pa) {
    const c = p.c2pa;
    const what =
      c.manifests > 0
        ? `${c.claimGenerator ?? 'unknown generator'}; ${c.digitalSourceTypes.join(', ') || 'no digital source type'}`
        : `remote manifest ${c.remoteManifest} (not fetched)`;
    const signer = c.validation.signer
      ? `; signer ${c.validation.signer.commonName ?? '?'} (${c.validation.signer.organization ?? c.validation.signer.issuer ?? '?'})`
      : '';
    lines.push(`  c2pa      ${c.validation.state}: ${what}${signer}`);
  }
  if (p.watermark)
    lines.push(
      `  watermark ${p.watermark.scores.map((s) => `${s.name} ${s.matched}/${s.bits}`).join(', ')}${p.watermark.detected ? ` -> ${p.watermark.detected.name} (${p.watermark.detected.confidence})` : ''}`,
    );
  for (const f of r.findings) lines.push(`  finding   ${f.type} (${f.severity}): ${f.message}`);
  for (const i of p.issues ?? []) lines.push(`  issue     ${i.code}: ${i.message}`);
  return lines.join('\n');
}

/** The image inspector for the `ward inspect` dispatcher (cli/commands/inspect registers it). */
export const imageInspector: Inspector = {
  name: 'image',
  contentTypes: ['image'] as const,
  /** A bare C2PA manifest store (`.c2pa` sidecar) named on the command line. */
  claimsFile: (path: string) => /\.c2pa$/i.test(path),
  async inspect(path: string, ctx: { redact?: boolean; pixels?: boolean }): Promise<Record<string, unknown>> {
    const r = await inspectImageFile(path, {
      ...(ctx.redact ? { redact: true } : {}),
      ...(ctx.pixels === false ? { pixels: false } : {}),
    });
    return r as unknown as Record<string, unknown>;
  },
  tableRow: (record: Record<string, unknown>) => imageTableRows(record as unknown as ImageInspectRecord),
};
