/**
 * @module provenance/types
 * What provenance inspection reports about an image: whether it is AI-generated and the evidence,
 * the generator, the prompt, the models it names (with the hashes tools print), C2PA and the
 * invisible watermark. The `provenance.ai-generated` finding's data has this shape.
 */
import type { ErrorCode } from '../errors.js';
import type { C2paSummary } from './c2pa/manifest.js';
import type { WatermarkResult } from './watermark.js';

export type AiGenerated = 'yes' | 'likely' | 'no-evidence';

export type EvidenceKind =
  | 'generation-parameters'
  | 'workflow-graph'
  | 'stealth-metadata'
  | 'c2pa'
  | 'digital-source-type'
  | 'watermark'
  | 'software';

export interface Evidence {
  kind: EvidenceKind;
  /** What was seen and where (never prompt text). */
  detail: string;
  /** How strong this piece is on its own. */
  strength: 'yes' | 'likely';
}

export type ResourceType = 'checkpoint' | 'lora' | 'embedding' | 'vae';

/**
 * Model hashes as generation tools print them: `autov1` (8 hex, A1111's legacy hash), `autov2`
 * (first 10 hex of the file's SHA-256), `autov3` (first 12 hex of the SHA-256 of a safetensors
 * file's tensor data), full `sha256` and `blake3` (64 hex). Lower case.
 */
export interface ResourceHashes {
  autov1?: string;
  autov2?: string;
  autov3?: string;
  sha256?: string;
  blake3?: string;
}

export interface Resource {
  type: ResourceType;
  name: string;
  hashes: ResourceHashes;
  /** Civitai AIR URN (`urn:air:sdxl:lora:civitai:<model>@<version>`) or Civitai ids, when given. */
  air?: string;
  /** Civitai model version id, when the metadata gives one. */
  civitaiVersionId?: number;
  /** Where it was named (e.g. `png:parameters`, `comfyui:LoraLoader`). */
  source?: string;
}

/** Something wrong with the file's metadata: reported, never thrown; what was read before stays. */
export interface MetadataIssue {
  code: ErrorCode;
  message: string;
  /** Byte offset in the file, when known. */
  offset?: number;
}

export interface ProvenanceReport {
  aiGenerated: AiGenerated;
  evidence: Evidence[];
  /** The generating tool (e.g. `AUTOMATIC1111 v1.10.1`, `ComfyUI`, `NovelAI Diffusion V4.5`). */
  generator?: string;
  /** The positive prompt (sensitive: omitted or redacted on request, never logged). */
  prompt?: string;
  negativePrompt?: string;
  /** True when prompts were found but left out on request (`redact`). */
  redacted?: boolean;
  resources: Resource[];
  c2pa?: C2paSummary;
  watermark?: WatermarkResult;
  /** Malformed or over-limit metadata: partial results are kept. */
  issues?: MetadataIssue[];
}
