/**
 * @module models/json
 * JSON from model files (safetensors headers, kohya metadata values, diffusers and PEFT configs)
 * is untrusted: its nesting depth is checked before parsing, its size is bounded by the caller,
 * and objects built from its keys never let a key such as `__proto__` reach a prototype.
 */
import { WardError } from '../errors.js';

/** Nesting levels allowed (real headers and metadata use 2 to 4). */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/** The deepest nesting of `[` and `{` outside strings. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * Parses JSON whose depth is at most `maxDepth`: WARD_ERR_MODEL_LIMIT beyond it,
 * WARD_ERR_MODEL_CORRUPT when it is not JSON. `what` names it in messages.
 */
export function parseJson(text: string, what: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): unknown {
  const depth = jsonDepth(text);
  if (depth > maxDepth) {
    throw new WardError('WARD_ERR_MODEL_LIMIT', `${what} nests ${depth} levels deep, over the limit of ${maxDepth}`, {
      limit: maxDepth,
      actual: depth,
    });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new WardError('WARD_ERR_MODEL_CORRUPT', `${what} is not valid JSON`, {}, cause);
  }
}

/** JSON text if it parses within the depth limit, else undefined (for optional nested values). */
export function tryParseJson(text: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): unknown {
  try {
    return parseJson(text, 'value', maxDepth);
  } catch {
    return undefined;
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets an own property even for keys like `__proto__` (plain assignment would set the prototype). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
