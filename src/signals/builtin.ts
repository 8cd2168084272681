/**
 * @module signals/builtin
 * The signal types Ward ships with. A new one is a file plus a line here.
 */
import { vpdqSignal } from '../video/signal.js';
import { md5Signal, sha1Signal, sha256Signal } from './crypto.js';
import { autov1Signal, autov2Signal, autov3Signal, blake3Signal } from './model-hashes.js';
import { pdqSignal } from './pdq/signal.js';
import type { SignalType } from './types.js';

export const BUILTIN_SIGNALS: readonly SignalType[] = [
  pdqSignal,
  md5Signal,
  sha1Signal,
  sha256Signal,
  autov1Signal,
  autov2Signal,
  autov3Signal,
  blake3Signal,
  vpdqSignal,
];

/** Looks up a built-in signal type by its stable name. */
export function getSignalType(name: string): SignalType | undefined {
  return BUILTIN_SIGNALS.find((s) => s.name === name);
}
