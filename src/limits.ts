/**
 * @module limits
 * One set of size limits, passed explicitly to every decoder and parser.
 */
import { invalidParameter } from './errors.js';

export interface Limits {
  /** Largest decoded image, in pixels (width x height). Decompression-bomb guard. */
  maxPixels: number;
  /** Largest input file, in bytes. */
  maxFileBytes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxPixels: 100_000_000,
  maxFileBytes: 1024 * 1024 * 1024,
});

/** Merges user limits over the defaults, checking each value at the API edge. */
export function resolveLimits(partial: Partial<Limits> | undefined): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS, ...(partial ?? {}) };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    const v = limits[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw invalidParameter(`limits.${key}`, 'a positive integer', v);
    }
  }
  return limits;
}
