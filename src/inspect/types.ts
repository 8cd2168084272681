/**
 * @module inspect/types
 * The inspector slot (`ward inspect`): one inspector per content type reports what a file is,
 * from its bytes only. Inspectors are registered by plugins (src/plugin.ts).
 */
import type { ContentType } from '../item.js';

export interface InspectContext {
  hashes: boolean;
  /** Images: leave prompts out. */
  redact?: boolean;
  /** Images: false reads metadata only. */
  pixels?: boolean;
  /** Models: base-model fingerprint files (.tfb) to subtract from checkpoints (`--tensor-base`). */
  tensorBases?: readonly string[];
  /** Models: write the inspected checkpoint's weight projections as a base file (`--write-tensor-base`). */
  writeTensorBase?: string;
}

/** One content type's inspector. */
export interface Inspector {
  name: string;
  contentTypes: readonly ContentType[];
  /** Folders it reports as one unit (not walked). */
  claimsFolder?(path: string): boolean;
  /** Files it takes although their content type is not its own (e.g. adapter_config.json). */
  claimsFile?(path: string): boolean;
  inspect(path: string, ctx: InspectContext): Promise<Record<string, unknown>>;
  /** One table row (lines) for a record it produced. */
  tableRow(record: Record<string, unknown>): string;
}
