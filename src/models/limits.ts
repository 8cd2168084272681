/**
 * @module models/limits
 * Bounds on what a model file can make the parsers hold or do (memory and time stay bounded
 * whatever the file says about itself).
 */
import { DEFAULT_PICKLE_LIMITS, type PickleLimits } from './pickle.js';
import { DEFAULT_ZIP_LIMITS, type ZipLimits } from './zip.js';

export interface ModelLimits {
  /** Safetensors JSON header bytes (100,000,000, the reference loader's own limit). */
  maxHeaderBytes: number;
  /** Nesting of JSON in headers, metadata values and configs. */
  maxJsonDepth: number;
  /** Tensors listed in a header (safetensors, GGUF). */
  maxTensors: number;
  /** GGUF metadata keys. */
  maxGgufKeys: number;
  /** Bytes of one GGUF string value or key kept (longer ones are skipped and marked). */
  maxStringBytes: number;
  /** Bytes of a JSON config (model_index.json, adapter_config.json) or kohya metadata value parsed. */
  maxConfigBytes: number;
  zip: ZipLimits;
  pickle: PickleLimits;
}

export const DEFAULT_MODEL_LIMITS: Readonly<ModelLimits> = Object.freeze({
  maxHeaderBytes: 100_000_000,
  maxJsonDepth: 64,
  maxTensors: 1_000_000,
  maxGgufKeys: 65_536,
  maxStringBytes: 1024 * 1024,
  maxConfigBytes: 16 * 1024 * 1024,
  zip: DEFAULT_ZIP_LIMITS,
  pickle: DEFAULT_PICKLE_LIMITS,
});

export function resolveModelLimits(partial: Partial<ModelLimits> = {}): ModelLimits {
  return {
    ...DEFAULT_MODEL_LIMITS,
    ...partial,
    zip: { ...DEFAULT_ZIP_LIMITS, ...partial.zip },
    pickle: { ...DEFAULT_PICKLE_LIMITS, ...partial.pickle },
  };
}
