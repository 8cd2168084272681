/**
 * @module provenance/hashes
 * Model hashes as generation tools print them, sorted into the model-hash signal types: `autov1`
 * (8 hex, A1111's legacy hash), `autov2` (10 hex: the file's SHA-256 prefix), `autov3` (12 hex:
 * the SHA-256 of a safetensors file's tensor data, as A1111 prints LoRA hashes), `sha256` and
 * `blake3` (64 hex). Prefixes such as `0x`, `blake3:` and `sha256:` are understood.
 */
import type { ResourceHashes, ResourceType } from './types.js';

const HEX = /^[0-9a-f]+$/;

/**
 * Sorts one printed hash into its signal type. `type` matters for 12 hex digits: a LoRA's is its
 * AutoV3 (A1111 hashes safetensors LoRAs by their tensor data), an embedding's is a prefix of its
 * file's SHA-256, whose first 10 digits are the AutoV2.
 */
export function classifyHash(printed: string, type: ResourceType): ResourceHashes {
  let h = printed.trim().toLowerCase();
  let algo: string | undefined;
  const m = /^(blake3|sha256|autov[123])[:=]/.exec(h);
  if (m) {
    algo = m[1];
    h = h.slice((m[0] as string).length);
  }
  if (h.startsWith('0x')) h = h.slice(2);
  h = h.replace(/^\[|\]$/g, '');
  if (!HEX.test(h)) return {};
  if (algo === 'blake3') return h.length === 64 ? { blake3: h } : {};
  if (h.length === 64) return { sha256: h };
  if (h.length === 8) return { autov1: h };
  if (h.length === 10) return { autov2: h };
  if (h.length === 12) return type === 'lora' ? { autov3: h } : { autov2: h.slice(0, 10) };
  return {};
}

export function mergeHashes(a: ResourceHashes, b: ResourceHashes): ResourceHashes {
  return { ...a, ...b };
}

/** Signal values for matching: `autov2:45a21ea00a`, `sha256:…` (one per hash). */
export function hashSignals(hashes: ResourceHashes): string[] {
  return Object.entries(hashes).map(([k, v]) => `${k}:${v}`);
}
