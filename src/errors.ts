/**
 * @module errors
 * One error class with stable codes. Match on `code`, never on the message.
 */

/**
 * What kind of failure it is; decides CLI exit codes and the service's HTTP status (the kinds after
 * `internal` come from the service: 401, 403, 404, 409, 429, 503).
 */
export type ErrorKind =
  | 'input'
  | 'limit'
  | 'dependency'
  | 'config'
  | 'internal'
  | 'auth'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'rate_limit'
  | 'unavailable';

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
    doc: 'An archive (zip, tar, gzip, 7z, RAR) is truncated or malformed, or an entry is encrypted (never guessed at: the item also gets an `archive.encrypted` finding); entries read before the damage are kept.',
  },
  WARD_ERR_METADATA_CORRUPT: {
    kind: 'input',
    doc: 'Image metadata (a PNG chunk, JPEG segment, RIFF chunk, EXIF IFD, JUMBF box or text) is malformed; provenance keeps what was read before it.',
  },
  WARD_ERR_DATASET_FORMAT: {
    kind: 'input',
    doc: 'No dataset reader recognises the path (or the reader named is not registered).',
  },
  WARD_ERR_DATASET_SHARD: {
    kind: 'input',
    doc: 'A dataset shard cannot be read (corrupt parquet footer, wrong column types, truncated tar); rows read before the damage are kept and the other shards go on.',
  },
  WARD_ERR_DATASET_ROW: {
    kind: 'input',
    doc: 'A dataset row cannot be read fully (duplicate key, missing sidecar or image, image bytes not embedded); the rest of the shard goes on.',
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
    doc: 'An archive entry breaks an archive limit (nesting depth, entry count, entry or total size, compression ratio: zip-bomb guards; 7z/RAR: also a decoder dictionary over 1 GiB).',
  },
  WARD_ERR_LIMIT_METADATA: {
    kind: 'limit',
    doc: 'An image metadata text is larger than the provenance limit (8 MiB per value, 32 MiB per file by default); it is truncated or skipped, and flagged.',
  },
  // signals
  WARD_ERR_SIGNAL_INVALID: {
    kind: 'input',
    doc: 'A hash value does not parse for its signal type (wrong length or characters).',
  },
  // text screening
  WARD_ERR_LEXICON: {
    kind: 'dependency',
    doc: 'A text-screening lexicon file (data/lexicons/) is missing, not valid JSON, or breaks the lexicon format.',
  },
  // models
  WARD_ERR_MODEL_UNSUPPORTED: {
    kind: 'input',
    doc: 'The file is not a model format Ward inspects (safetensors, GGUF, pickle or PyTorch zip, NumPy, diffusers or PEFT folder).',
  },
  WARD_ERR_MODEL_CORRUPT: {
    kind: 'input',
    doc: 'A model file is truncated or malformed (header length beyond the file, bad JSON, tensor offsets out of range or overlapping, bad GGUF, zip or pickle structure).',
  },
  WARD_ERR_MODEL_LIMIT: {
    kind: 'limit',
    doc: 'A model file breaks a parsing limit (header bytes, JSON depth, tensor, key or zip entry count, pickle size, inflated bytes): bounded-memory guards.',
  },
  // video
  WARD_ERR_VIDEO_UNSUPPORTED: {
    kind: 'input',
    doc: 'The bytes are not a video container Ward reads (MP4/MOV/3GP, WebM/MKV, AVI, FLV, MPEG-TS/PS, ASF; sniffed by magic bytes).',
  },
  WARD_ERR_VIDEO_NO_STREAM: {
    kind: 'input',
    doc: 'The container has no video stream (an audio-only file).',
  },
  WARD_ERR_VIDEO_DECODE: {
    kind: 'input',
    doc: 'The video is truncated or corrupt: ffmpeg could not read its container or decode a single frame (frames decoded before damage are kept and the item says `damaged`).',
  },
  WARD_ERR_VIDEO_EMPTY: {
    kind: 'input',
    doc: 'The video stream holds no frame (a zero-length stream).',
  },
  WARD_ERR_VIDEO_FRAME_RATE: {
    kind: 'input',
    doc: 'The video stream has no frame rate, or an implausible one (below 1 frame per hour or above 1000 fps), so frame times would be meaningless.',
  },
  WARD_ERR_VIDEO_TIMEOUT: {
    kind: 'limit',
    doc: 'No frame could be hashed within the time limit for one video (`limits.video.maxSeconds`); when some were, the result is kept and marked truncated.',
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
  // service (ward serve): requests, auth, reviews, evidence, audit, webhooks
  WARD_ERR_REQUEST_INVALID: {
    kind: 'input',
    doc: 'The request body, query or path does not match the route (malformed JSON, a missing or wrong field).',
  },
  WARD_ERR_CONTENT_TYPE: {
    kind: 'input',
    doc: 'The request Content-Type is not one the route accepts (HTTP 415).',
  },
  WARD_ERR_LIMIT_BODY: {
    kind: 'limit',
    doc: 'The request body is larger than the route allows (HTTP 413); nothing was kept.',
  },
  WARD_ERR_UPLOAD_TRUNCATED: {
    kind: 'input',
    doc: 'The request body ended before its declared length (the client stopped sending); nothing was kept.',
  },
  WARD_ERR_REQUEST_TIMEOUT: {
    kind: 'input',
    doc: 'The client sent the request too slowly (an idle or total time limit passed, HTTP 408); nothing was kept.',
  },
  WARD_ERR_AUTH_REQUIRED: {
    kind: 'auth',
    doc: 'No API key was sent: send `Authorization: Bearer <key>`.',
  },
  WARD_ERR_AUTH_INVALID: {
    kind: 'auth',
    doc: 'The API key is malformed, unknown or revoked.',
  },
  WARD_ERR_FORBIDDEN: {
    kind: 'forbidden',
    doc: "The API key's role may not use this route, or the route needs the child-safety data permission the key lacks.",
  },
  WARD_ERR_RATE_LIMITED: {
    kind: 'rate_limit',
    doc: 'Too many requests with this API key: retry after the seconds given in Retry-After.',
  },
  WARD_ERR_NOT_FOUND: {
    kind: 'not_found',
    doc: 'No such route, review item, API key, webhook or evidence.',
  },
  WARD_ERR_CONFLICT: {
    kind: 'conflict',
    doc: 'The request conflicts with the current state (a review item already decided, a bank of the wrong kind).',
  },
  WARD_ERR_NOT_IMPLEMENTED: {
    kind: 'unavailable',
    doc: 'The feature is not available in this build of Ward (HTTP 501).',
  },
  WARD_ERR_UNAVAILABLE: {
    kind: 'unavailable',
    doc: 'The service is starting or shutting down, or its database cannot be reached (HTTP 503).',
  },
  WARD_ERR_EVIDENCE: {
    kind: 'config',
    doc: 'The evidence store key (WARD_EVIDENCE_KEY) is missing or invalid, or stored evidence does not decrypt.',
  },
  WARD_ERR_AUDIT_TAMPERED: {
    kind: 'input',
    doc: 'The audit log does not verify: a record was edited, removed or inserted (the hash chain is broken).',
  },
  WARD_ERR_WEBHOOK_SIGNATURE: {
    kind: 'auth',
    doc: 'A webhook request has no valid Ward-Signature: missing, malformed, too old, or not signed with the secret.',
  },
  WARD_ERR_WEBHOOK_REPLAY: {
    kind: 'auth',
    doc: 'A webhook delivery was received before (same delivery id): a replay.',
  },
  WARD_ERR_EVIDENCE_UNREADABLE: {
    kind: 'internal',
    doc: 'Stored evidence does not decrypt: it was encrypted with another WARD_EVIDENCE_KEY, or its row was altered (a server-side fault, HTTP 500).',
  },
  WARD_ERR_EGRESS_REFUSED: {
    kind: 'input',
    doc: 'An outbound URL is refused: not http(s), carries a user name or password, or reaches a loopback, private, link-local, multicast or reserved address not in WARD_EGRESS_ALLOW.',
  },
  WARD_ERR_EGRESS_FAILED: {
    kind: 'unavailable',
    doc: 'An outbound request could not be completed (unreachable, refused or timed out: deliberately not told apart).',
  },
  WARD_ERR_SECRET_KEY: {
    kind: 'config',
    doc: 'The secrets key (WARD_SECRET_KEY) is missing, malformed or all zeros, or a sealed secret does not open with it.',
  },
  WARD_ERR_REPORT_INVALID: {
    kind: 'input',
    doc: "A report does not pass NCMEC's schema or the CyberTipline's rules beyond it (the errors name the element); nothing was sent.",
  },
  WARD_ERR_REPORT_REJECTED: {
    kind: 'unavailable',
    doc: 'The CyberTipline answered a report call with an error (HTTP status or responseCode; the code and Request-ID are in the message).',
  },
  WARD_ERR_REPORT_STATE: {
    kind: 'conflict',
    doc: 'The report is not in a state that allows this (a finished report cannot be retracted, a retracted one not resumed).',
  },
  WARD_ERR_REPORT_CREDENTIALS: {
    kind: 'config',
    doc: 'No CyberTipline credentials or reporter profile: set WARD_NCMEC_USERNAME and WARD_NCMEC_PASSWORD or store them, and give --reporter or run `ward report profile set`.',
  },
  WARD_ERR_EXCHANGE_NOT_FOUND: { kind: 'input', doc: 'No hash exchange (collaboration) has that name.' },
  WARD_ERR_EXCHANGE_EXISTS: { kind: 'input', doc: 'A hash exchange (collaboration) with that name already exists.' },
  WARD_ERR_EXCHANGE_FAILED: {
    kind: 'unavailable',
    doc: 'A hash exchange answered with an error status or a malformed page; the sync stopped at its last committed checkpoint.',
  },
  // config / usage
  WARD_ERR_CONFIG_INVALID: { kind: 'config', doc: 'An option or configuration value is invalid.' },
  WARD_ERR_DB_NOT_FOUND: {
    kind: 'config',
    doc: 'The database named by --db or WARD_DB does not exist (commands that only read never create one).',
  },
  WARD_ERR_PLUGIN_INVALID: {
    kind: 'config',
    doc: 'A plugin cannot be loaded, or its manifest conflicts with another (duplicate names, unknown content types).',
  },
  WARD_ERR_USAGE: { kind: 'config', doc: 'The command line is malformed (unknown flag, missing argument).' },
  // dependency
  WARD_ERR_DEPENDENCY_MISSING: {
    kind: 'dependency',
    doc: 'A native or built dependency (sharp, the PDQ WebAssembly kernel, ffmpeg and ffprobe for videos, 7z-wasm for 7z and RAR, nsfwjs, face-api and TensorFlow.js for the opt-in classifiers, xmllint from libxml2-utils for CyberTipline reports) could not be loaded.',
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
