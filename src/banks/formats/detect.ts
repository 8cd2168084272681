/**
 * @module banks/formats/detect
 * Guessing a value's signal type and a bank file's format from its first line.
 */
import { WardError } from '../../errors.js';
import { BUILTIN_SIGNALS, getSignalType } from '../../signals/builtin.js';
import type { SignalType } from '../../signals/types.js';
import { looksCompact } from '../../video/vpdq.js';
import type { BankFileFormat } from '../types.js';

const HEX = /^[0-9a-f]+$/i;
/** The start of python-threatexchange's vPDQ signal string: `["pdqhex,quality,timestamp", …`. */
const VPDQ_JSON = /^\[\s*"[0-9a-f]{64},/i;

/** The signal type of a name given by the user (trimmed, any case); an unknown name is a usage error. */
export function resolveSignalType(name: string): SignalType {
  const type = typeof name === 'string' ? getSignalType(name.trim().toLowerCase()) : undefined;
  if (type === undefined) {
    const known = BUILTIN_SIGNALS.map((s) => s.name).join(', ');
    const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 20)) : typeof name;
    throw new WardError('WARD_ERR_CONFIG_INVALID', `Unknown signal type ${shown}: expected one of ${known}`, {
      expected: known,
    });
  }
  return type;
}

/**
 * By hex length; 64 is left out on purpose: pdq, sha256, blake3 and autov3 share it. Model hashes
 * (autov1: 8 hex, autov2: 10, autov3: 64 or 12) always need their type given: a length alone
 * cannot tell an AutoV1 from a CRC or any other 8-hex value.
 */
const BY_LENGTH: Readonly<Record<number, string>> = { 32: 'md5', 40: 'sha1' };

/**
 * The signal type and normalised value of a bank-file value. With `explicit`, that type parses the
 * value; without, the hex length decides (32 md5, 40 sha1). A 64-hex value without a type is an
 * error rather than a guess: a PDQ hash read as sha256 would never match anything.
 */
export function detectSignal(value: string, explicit?: string): { signal: string; value: string } {
  if (explicit !== undefined) {
    const type = resolveSignalType(explicit);
    return { signal: type.name, value: type.parse(value) };
  }
  const v = typeof value === 'string' ? value.trim() : '';
  // A vPDQ frame list says what it is: Ward's `pdqhex:quality:seconds …` or python-threatexchange's JSON list.
  if (looksCompact(v) || VPDQ_JSON.test(v)) return { signal: 'vpdq', value: getSignalType('vpdq')!.parse(v) };
  if (HEX.test(v)) {
    const name = BY_LENGTH[v.length];
    if (name !== undefined) return { signal: name, value: getSignalType(name)!.parse(v) };
    if (v.length === 64) {
      throw new WardError(
        'WARD_ERR_SIGNAL_INVALID',
        'A 64-hex value may be pdq or sha256 (or blake3, autov3): give the signal type (--signal, a signal column or field)',
        { expected: 'a signal type', actual: '64 hex characters' },
      );
    }
  }
  throw new WardError(
    'WARD_ERR_SIGNAL_INVALID',
    'Expected a 32-hex md5, 40-hex sha1 or 64-hex pdq/sha256 hash (model hashes need --signal autov1, autov2, autov3 or blake3)',
    {
      expected: '32, 40 or 64 hex characters',
      actual: `${v.length} characters`,
    },
  );
}

/** The format a bank file's first non-blank line suggests. */
export function sniffFormat(firstLine: string): BankFileFormat {
  const line = firstLine.replace(/^\uFEFF/, '').trim();
  if (line.startsWith('{')) return 'ndjson';
  // A JSON list (python-threatexchange's vPDQ value) holds commas but is one value per line.
  if (line.startsWith('[')) return 'lines';
  // A leading comment only exists in `lines`; its prose may hold commas that would suggest csv.
  if (line.startsWith('#')) return 'lines';
  if (line.includes('\t')) return 'tsv';
  const comma = line.indexOf(',');
  const first = (comma === -1 ? line : line.slice(0, comma)).trim().replace(/^"(.*)"$/, '$1');
  if (first.toLowerCase() === 'hash') return 'te-csv';
  if (comma !== -1) return 'csv';
  return 'lines';
}
