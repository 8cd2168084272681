/**
 * @module server/http
 * The service's one response shape, HTTP statuses by error kind, and request bodies read as
 * streams with a byte limit, an idle timeout and a total timeout (a slow client cannot hold a
 * request open), into memory only.
 */
import type { Readable } from 'node:stream';
import { type ErrorCode, type ErrorKind, WardError } from '../errors.js';

/** Success: `{"ok": true, "data": …}`. */
export interface OkBody<T> {
  ok: true;
  data: T;
}

/** Failure: `{"ok": false, "error": {"code", "message"}}`. */
export interface ErrorBody {
  ok: false;
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function ok<T>(data: T): OkBody<T> {
  return { ok: true, data };
}

const STATUS_BY_KIND: Record<ErrorKind, number> = {
  input: 400,
  limit: 413,
  config: 400,
  dependency: 503,
  internal: 500,
  auth: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limit: 429,
  unavailable: 503,
};

/** Codes whose status is more specific than their kind's. */
const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  WARD_ERR_BANK_NOT_FOUND: 404,
  WARD_ERR_BANK_EXISTS: 409,
  WARD_ERR_CONTENT_TYPE: 415,
  WARD_ERR_REQUEST_TIMEOUT: 408,
  WARD_ERR_NOT_IMPLEMENTED: 501,
  WARD_ERR_LIMIT_FILE_SIZE: 413,
  // Scan limits inside an upload (pixels, archives) are about the content: a 422 would be as
  // right, but the item report carries them; a whole request failing on them is a 400.
  WARD_ERR_LIMIT_PIXELS: 400,
  WARD_ERR_LIMIT_ARCHIVE: 400,
};

export function httpStatus(error: WardError): number {
  return STATUS_BY_CODE[error.code] ?? STATUS_BY_KIND[error.kind] ?? 500;
}

/** Details safe to return (numbers and short strings only; never paths or content). */
export function publicDetails(error: WardError): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(error.details)) {
    if (k === 'path') continue;
    if (typeof v === 'number' || (typeof v === 'string' && v.length <= 120) || typeof v === 'boolean') out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export function errorBody(error: WardError): ErrorBody {
  const details = publicDetails(error);
  return { ok: false, error: { code: error.code, message: error.message, ...(details ? { details } : {}) } };
}

export interface BodyLimits {
  /** Largest body in bytes. */
  maxBytes: number;
  /** Longest wait for the next chunk (ms). */
  idleMs: number;
  /** Longest time for the whole body (ms). */
  totalMs: number;
}

export function tooLarge(limit: number, actual?: number): WardError {
  return new WardError(
    'WARD_ERR_LIMIT_BODY',
    `The request body is larger than the limit of ${limit} bytes`,
    actual === undefined ? { limit } : { limit, actual },
  );
}

function truncated(received: number, declared?: number): WardError {
  return new WardError(
    'WARD_ERR_UPLOAD_TRUNCATED',
    declared === undefined
      ? `The request body ended early after ${received} bytes (the client stopped sending)`
      : `The request body ended after ${received} of ${declared} declared bytes`,
    declared === undefined ? { actual: received } : { actual: received, expected: String(declared) },
  );
}

/**
 * The body's chunks, checked as they arrive: over `maxBytes` → WARD_ERR_LIMIT_BODY (also up
 * front from Content-Length); no chunk for `idleMs` or the whole taking `totalMs` →
 * WARD_ERR_REQUEST_TIMEOUT; the client going away early → WARD_ERR_UPLOAD_TRUNCATED. On an
 * error the stream is left paused (not destroyed), so the response can still be sent; the
 * server closes the connection after it.
 */
export async function* bodyChunks(
  stream: Readable,
  limits: BodyLimits,
  declaredLength?: number,
): AsyncGenerator<Buffer> {
  if (declaredLength !== undefined && declaredLength > limits.maxBytes) throw tooLarge(limits.maxBytes, declaredLength);
  const it = stream[Symbol.asyncIterator]();
  const started = Date.now();
  let received = 0;
  for (;;) {
    const left = limits.totalMs - (Date.now() - started);
    const wait = Math.max(0, Math.min(limits.idleMs, left));
    let timer: NodeJS.Timeout | undefined;
    const next = it.next();
    next.catch(() => {}); // may settle after a timeout, when nobody waits for it
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const total = left <= limits.idleMs;
        reject(
          new WardError(
            'WARD_ERR_REQUEST_TIMEOUT',
            total
              ? `The request body took longer than ${limits.totalMs} ms`
              : `The client sent nothing for ${limits.idleMs} ms`,
            { limit: total ? limits.totalMs : limits.idleMs, actual: received },
          ),
        );
      }, wait);
    });
    let r: IteratorResult<unknown>;
    try {
      r = await Promise.race([next, timeout]);
    } catch (e) {
      if (WardError.is(e)) throw e;
      throw truncated(received, declaredLength);
    } finally {
      clearTimeout(timer);
    }
    if (r.done) break;
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    received += chunk.length;
    if (received > limits.maxBytes) throw tooLarge(limits.maxBytes);
    yield chunk;
  }
  if (declaredLength !== undefined && received < declaredLength) throw truncated(received, declaredLength);
  // A request aborted mid-body ends the iterator without an error on some Node versions.
  if ((stream as Readable & { aborted?: boolean }).aborted) throw truncated(received, declaredLength);
}

/**
 * The whole body in memory (never on disk), with the same checks as bodyChunks, and one timer
 * per body (small JSON requests stay cheap).
 */
export function readBody(stream: Readable, limits: BodyLimits, declaredLength?: number): Promise<Buffer> {
  if (declaredLength !== undefined && declaredLength > limits.maxBytes) {
    stream.pause();
    return Promise.reject(tooLarge(limits.maxBytes, declaredLength));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const started = Date.now();
    let last = started;
    const timeout = (total: boolean) =>
      new WardError(
        'WARD_ERR_REQUEST_TIMEOUT',
        total
          ? `The request body took longer than ${limits.totalMs} ms`
          : `The client sent nothing for ${limits.idleMs} ms`,
        { limit: total ? limits.totalMs : limits.idleMs, actual: received },
      );
    const cleanup = () => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onBroken);
      stream.off('aborted', onBroken);
      stream.off('close', onClose);
    };
    const fail = (e: WardError) => {
      if (settled) return;
      settled = true;
      cleanup();
      stream.pause();
      stream.on('error', () => {}); // a later socket error must not go unhandled
      reject(e);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.maxBytes) return fail(tooLarge(limits.maxBytes));
      last = Date.now();
      if (last - started > limits.totalMs) return fail(timeout(true));
      chunks.push(chunk);
    };
    const onEnd = () => {
      if (settled) return;
      if (declaredLength !== undefined && received < declaredLength) return fail(truncated(received, declaredLength));
      settled = true;
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    };
    const onBroken = () => fail(truncated(received, declaredLength));
    const onClose = () => {
      if (!stream.readableEnded) fail(truncated(received, declaredLength));
    };
    // One timer per body: when it fires, it checks both deadlines and sleeps again until the nearer.
    const check = () => {
      const now = Date.now();
      if (now - started >= limits.totalMs) return fail(timeout(true));
      if (now - last >= limits.idleMs) return fail(timeout(false));
      timer = setTimeout(check, Math.min(last + limits.idleMs, started + limits.totalMs) - now);
    };
    let timer = setTimeout(check, Math.min(limits.idleMs, limits.totalMs));
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onBroken);
    stream.on('aborted', onBroken);
    stream.on('close', onClose);
  });
}

/** `type/subtype` of a Content-Type header, lower case, without parameters. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Media types accepted as an upload (the content type itself always comes from magic bytes). */
export function isUploadType(type: string): boolean {
  return (
    type === 'application/octet-stream' ||
    type === 'multipart/form-data' ||
    type === 'text/plain' ||
    /^(image|video|audio)\/[a-z0-9.+-]+$/.test(type) ||
    [
      'application/zip',
      'application/x-zip-compressed',
      'application/gzip',
      'application/x-gzip',
      'application/x-tar',
      'application/pdf',
      'application/x-safetensors',
    ].includes(type)
  );
}

export function isJsonType(type: string): boolean {
  return type === 'application/json' || /^application\/[a-z0-9.-]+\+json$/.test(type);
}

/**
 * The file of a multipart/form-data body (the part named `file`, else the first part with a
 * filename, else the first part), parsed in memory.
 */
export function multipartFile(body: Buffer, contentType: string): { name?: string; type?: string; bytes: Buffer } {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  const bad = (why: string) => new WardError('WARD_ERR_REQUEST_INVALID', `Malformed multipart/form-data body: ${why}`);
  if (!boundary) throw bad('no boundary');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { headers: string; bytes: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw bad('boundary not found');
  for (;;) {
    at += delimiter.length;
    if (body[at] === 0x2d && body[at + 1] === 0x2d) break; // closing delimiter
    const headerEnd = body.indexOf('\r\n\r\n', at);
    if (headerEnd < 0) throw bad('part headers not terminated');
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headerEnd + 4);
    if (next < 0) throw bad('closing boundary not found (truncated?)');
    parts.push({ headers: body.subarray(at, headerEnd).toString('latin1'), bytes: body.subarray(headerEnd + 4, next) });
    at = next + 2;
    if (parts.length > 100) throw bad('too many parts');
  }
  if (parts.length === 0) throw bad('no parts');
  const info = parts.map((p) => {
    const disposition = /content-disposition:([^\r\n]*)/i.exec(p.headers)?.[1] ?? '';
    return {
      field: /\bname="([^"]*)"/i.exec(disposition)?.[1],
      filename: /\bfilename="([^"]*)"/i.exec(disposition)?.[1],
      type: /content-type:\s*([^\r\n;]*)/i.exec(p.headers)?.[1]?.trim(),
      bytes: p.bytes,
    };
  });
  const chosen =
    info.find((p) => p.field === 'file') ?? info.find((p) => p.filename !== undefined) ?? (info[0] as (typeof info)[0]);
  return {
    ...(chosen.filename ? { name: chosen.filename } : {}),
    ...(chosen.type ? { type: chosen.type } : {}),
    bytes: chosen.bytes,
  };
}
