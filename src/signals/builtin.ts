/**
 * @module signals/builtin
 * The signal types Ward ships with. A new one is a file plus a line here.
 */
import { md5Signal, sha1Signal, sha256Signal } from './crypto.js';
import { pdqSignal } from './pdq/signal.js';
import type { SignalType } from './types.js';

export const BUILTIN_SIGNALS: readonly SignalType[] = [pdqSignal, md5Signal, sha1Signal, sha256Signal];

/** Looks up a built-in signal type by its stable name. */
export function getSignalType(name: string): SignalType | undefined {
  return BUILTIN_SIGNALS.find((s) => s.name === name);
}
