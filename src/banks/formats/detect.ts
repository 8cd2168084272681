/**
 * @module banks/formats/detect
 * Guessing a value's signal type and a bank file's format from its first line.
 */
import { activeRegistry } from '../../registry.js';
import type { SignalType } from '../../signals/types.js';
import type { BankFileFormat } from '../types.js';

/** The signal type of a name given by the user (trimmed, any case); an unknown name is a usage error. */
export function resolveSignalType(name: string): SignalType {
  return activeRegistry().requireSignalType(name);
}

/**
 * The signal type and normalised value of a bank-file value. With `explicit`, that type parses the
 * value; without, the registered signal types' `detect` decides (32 hex md5, 40 sha1, a vPDQ frame
 * list by its structure). A value several types claim (64 hex: pdq, sha256, autov3, blake3) is an
 * error rather than a guess: a PDQ hash read as sha256 would never match anything. Model hashes of
 * 8-12 hex always need their type: a length alone cannot tell an AutoV1 from a CRC.
 */
export function detectSignal(value: string, explicit?: string): { signal: string; value: string } {
  return activeRegistry().detectSignal(value, explicit);
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
