/**
 * @module signals/builtin
 * Compatibility: the built-in signal types as a list, and lookup by name in the active registry
 * (src/registry.ts), which also holds the signal types plugins add.
 */
import { builtinPlugin } from '../builtin.js';
import { activeRegistry } from '../registry.js';
import type { SignalType } from './types.js';

export const BUILTIN_SIGNALS: readonly SignalType[] = builtinPlugin.signalTypes;

/** Looks up a signal type (built-in or from a loaded plugin) by its stable name. */
export function getSignalType(name: string): SignalType | undefined {
  return activeRegistry().signalType(name);
}
