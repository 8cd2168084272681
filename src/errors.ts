/**
 * @module errors
 * One error class with stable codes. Match on `code`, never on the message.
 */

/** What kind of failure it is; decides exit codes and (later) HTTP status. */
export type ErrorKind = 'input' | 'limit' | 'dependency' | 'config' | 'internal';

/**
 * Every code Ward can throw. A code is never renamed or reused; docs/errors.md lists the same set
 * (a test keeps them in sync).
 */
export const ERROR_CODES = {
  // input
  WARD_ERR_INPUT_NOT_FOUND: { kind: 'input', doc: 'The path does not exist or cannot be read.' },
  WARD_ERR_INPUT_EMPTY: { kind: 'input', doc: 'The file is empty (0 bytes).' },
  WARD_ERR_INPUT_TYPE: { kind: 'input', doc: 'A value of the wrong type was passed to an API.' },
  WARD_ERR_OUTPUT: { kind: 'input', doc: 'An output file cannot be created or written.' },
  WARD_ERR_IMAGE_UNSUPPORTED: {
    kind: 'input',
    doc: 'The bytes are not an image format Ward decodes (sniffed by magic bytes).',
  },
  WARD_ERR_IMAGE_DECODE: {
    kind: 'input',
    doc: 'The image is truncated or corrupt and could not be decoded.',
  },
  WARD_ERR_ARCHIVE_CORRUPT: {
    kind: 'input',
    doc: 'An archive (zip, tar, gzip) is truncated or malformed; entries read before the damage are kept.',
  },
  WARD_ERR_CHECKPOINT: {
    kind: 'config',
    doc: 'A scan checkpoint file is unreadable or belongs to a different scan (other inputs, banks or policy).',
  },
  // limits
  WARD_ERR_LIMIT_PIXELS: {
    kind: 'limit',
    doc: 'The image has more pixels than the configured limit (decompression-bomb guard).',
  },
  WARD_ERR_LIMIT_FILE_SIZE: {
    kind: 'limit',
    doc: 'The file is larger than the configured byte limit.',
  },
  WARD_ERR_LIMIT_ARCHIVE: {
    kind: 'limit',
    doc: 'An archive entry breaks an archive limit (nesting depth, entry count, entry or total size, compression ratio: zip-bomb guards).',
  },
  // signals
  WARD_ERR_SIGNAL_INVALID: {
    kind: 'input',
    doc: 'A hash value does not parse for its signal type (wrong length or characters).',
  },
  // banks and stores
  WARD_ERR_BANK_NOT_FOUND: { kind: 'input', doc: 'No bank has that name.' },
  WARD_ERR_BANK_EXISTS: { kind: 'input', doc: 'A bank with that name already exists.' },
  WARD_ERR_BANK_NAME: {
    kind: 'input',
    doc: 'A bank name must be 1-64 characters of letters, digits, dot, dash and underscore.',
  },
  WARD_ERR_BANK_ROW_INVALID: {
    kind: 'input',
    doc: 'A line of a bank file does not parse (bad hex, wrong length, unknown or ambiguous signal type); the line number is given.',
  },
  WARD_ERR_BANK_FORMAT: {
    kind: 'input',
    doc: 'A bank file is not in the format given or detected (missing header, unknown column, empty file).',
  },
  WARD_ERR_BANK_IMPORT_FAILED: {
    kind: 'input',
    doc: 'An import found invalid lines and applied nothing (use --skip-invalid to import the valid ones).',
  },
  WARD_ERR_STORE: { kind: 'dependency', doc: 'The database could not be opened, migrated or written.' },
  WARD_ERR_INDEX_SNAPSHOT: {
    kind: 'input',
    doc: 'An index snapshot is corrupt, truncated or from another version; it is rebuilt from the store.',
  },
  // config / usage
  WARD_ERR_CONFIG_INVALID: { kind: 'config', doc: 'An option or configuration value is invalid.' },
  WARD_ERR_USAGE: { kind: 'config', doc: 'The command line is malformed (unknown flag, missing argument).' },
  // dependency
  WARD_ERR_DEPENDENCY_MISSING: {
    kind: 'dependency',
    doc: 'A native or built dependency (sharp, the PDQ WebAssembly kernel) could not be loaded.',
  },
  // internal
  WARD_ERR_INTERNAL: { kind: 'internal', doc: 'A bug in Ward. Please report it.' },
} as const satisfies Record<string, { kind: ErrorKind; doc: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

const kWardError = Symbol.for('ward.error');

/** Extra facts about an error. Never holds content or long excerpts. */
export interface ErrorDetails {
  path?: string;
  offset?: number;
  limit?: number;
  actual?: number | string;
  expected?: string;
  [key: string]: unknown;
}

/** The one error class Ward throws. */
export class WardError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'WardError';
    this.code = code;
    this.kind = ERROR_CODES[code].kind;
    this.details = details;
  }

  /** Works across two installed copies of Ward, unlike `instanceof`. */
  static is(value: unknown): value is WardError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kWardError] === true;
  }

  get [kWardError](): true {
    return true;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Shape for messages: "Expected <what> for `<name>` but received <actual>". */
export function invalidParameter(name: string, expected: string, actual: unknown): WardError {
  return new WardError('WARD_ERR_INPUT_TYPE', `Expected ${expected} for \`${name}\` but received ${describe(actual)}`, {
    expected,
    actual: describe(actual),
  });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} chars` : JSON.stringify(value);
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'Object'})`;
  return `${typeof value} ${String(value)}`;
}
