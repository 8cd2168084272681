/**
 * @module scan/plugins
 * The plugin slots of the scan pipeline. A content type is recognised by a sniffer (magic bytes,
 * never the file name); each content type has extractors that turn an item's bytes into signals
 * and findings. A new format or content type is one file plus one line in src/builtin.ts, or a
 * plugin (src/plugin.ts). The registry (src/registry.ts) holds them; worker threads build the
 * same registry from the plugins' module specifiers.
 */
import type { Limits } from '../limits.js';
import type { ContentType, Finding, ItemSignals, MediaInfo } from './types.js';

/** Bytes read from the start of every file for sniffing (tar needs 262, safetensors a few KiB). */
export const SNIFF_BYTES = 4096;

export interface Sniffer {
  contentType: ContentType;
  /** The format within the content type (e.g. `jpeg`), or undefined when the bytes are not it. */
  sniff(head: Uint8Array): string | undefined;
}

export interface ExtractInput {
  /** The whole item (never larger than `limits.maxFileBytes`). */
  bytes: Uint8Array;
  contentType: ContentType;
  format: string | undefined;
  /** A label for messages (file path or archive path); never used to open anything. */
  name: string;
  limits: Limits;
  options: ExtractOptions;
}

/** Options every extractor sees (from the scan configuration). */
export interface ExtractOptions {
  /** Compute the 8 dihedral PDQ hashes too (dihedral matching). */
  dihedral?: boolean;
  /** Provenance: decode pixels for stealth metadata and the watermark (default true). */
  provenancePixels?: boolean;
  /** Provenance: keep prompts out of findings. */
  redactPrompts?: boolean;
  /** Opt-in image classifiers (scan/config `classifiers`; docs/classifiers.md): review priority only. */
  classifiers?: readonly string[];
  /** vPDQ sampling and the per-video limits (scan/config `match.vpdq`, `limits.video`). */
  video?: {
    secondsPerHash?: number;
    /** N: hash N×N frames; null or absent: native size. */
    downsample?: number | null;
    maxFrames?: number;
    maxSeconds?: number;
  };
}

/** A file for an extractor that reads it itself (`Extractor.extractFile`), never whole into memory. */
export interface FileExtractInput {
  path: string;
  /** Bytes of the file when it was walked. */
  size: number;
  contentType: ContentType;
  format: string | undefined;
  name: string;
  limits: Limits;
  options: ExtractOptions;
  /**
   * Whole-file digests the pipeline still needs: return them in `signals`, computed in the same
   * read (when one is missing, the pipeline reads the file again for it).
   */
  digests: readonly ('md5' | 'sha1' | 'sha256')[];
}

export interface ExtractOutput {
  signals?: ItemSignals;
  findings?: Finding[];
  media?: MediaInfo;
  /** Set when the extractor declines the item (recognised but not supported). */
  unsupported?: string;
  /** The item is damaged or over a limit; the signals and findings above still count. */
  error?: { code: string; message: string };
}

export interface Extractor {
  /** Stable name, reported as a finding's `source`. */
  name: string;
  contentTypes: readonly ContentType[];
  extract(input: ExtractInput): Promise<ExtractOutput>;
  /**
   * Optional streaming form for files (models of many GiB): when every extractor of a content
   * type has it, a file of that type is never read into memory, whatever its size (so
   * `limits.maxFileBytes` does not apply); this is called instead of `extract`. Items already in
   * memory (archive entries) still go to `extract`.
   */
  extractFile?(input: FileExtractInput): Promise<ExtractOutput>;
}
