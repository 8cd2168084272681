/**
 * @module reporting/ncmec/client
 * The CyberTipline Reporting API client: Basic auth, every request through the egress point
 * (net/egress), HTTP status *and* responseCode checked on every answer (server versions differ:
 * schema errors as HTTP 200 + 1001 in 2016, HTTP 400 + 4100 in 2025), the Request-ID of every
 * answer kept for the logs. One call per method: the durable sequence is reporting/ncmec/submit.
 * Credentials live only in this object (from the environment or opened from their sealed form).
 */
import { createHash, randomBytes } from 'node:crypto';
import { WardError } from '../../errors.js';
import { type EgressInit, type EgressResponse, egressFetch } from '../../net/egress.js';
import { child, childText, parseXml, type XmlElement } from '../xml.js';

export const NCMEC_PRODUCTION = 'https://report.cybertip.org/ispws';
export const NCMEC_TEST = 'https://exttest.cybertip.org/ispws';

/** Codes the documentation lists (non-exhaustive). */
export const RESPONSE_CODES: Record<number, string> = {
  0: 'success',
  1000: 'server error',
  1001: 'malformed submittal',
  1100: 'save failed',
  1110: 'upload failed',
  1111: 'file upload failed',
  1210: 'resource not found',
  1300: 'update failed',
  2000: 'authentication required',
  3000: 'not authorized',
  3100: 'no authorization to submit',
  3300: 'no authorization to update',
  4000: 'invalid request',
  4100: 'validation failed',
  4110: 'malformed XML',
  4200: 'malformed file',
  5001: 'no such report',
  5002: 'no such file',
  5101: 'report already retracted',
  5102: 'report already finished',
};

export interface NcmecCredentials {
  username: string;
  password: string;
}

export interface CallRecord {
  call: string;
  httpStatus: number;
  responseCode: number | null;
  requestId: string | null;
}

export interface ClientOptions {
  endpoint: string;
  credentials: NcmecCredentials;
  /** Every answer, for the logs and the audit trail (never the credentials). */
  onCall?: (c: CallRecord) => void;
  /** The HTTP layer (default egressFetch); tests pass egressFetch with an allow-list. */
  fetch?: (url: string, init: EgressInit) => Promise<EgressResponse>;
  timeoutMs?: number;
}

export interface NcmecAnswer {
  root: XmlElement;
  responseCode: number;
  requestId: string | null;
}

/** A CyberTipline error answer: `details.responseCode`, `details.httpStatus`, `details.requestId`. */
export function isRemoteCode(e: unknown, ...codes: number[]): boolean {
  return (
    WardError.is(e) &&
    e.code === 'WARD_ERR_REPORT_REJECTED' &&
    codes.includes(Number((e as WardError & { details?: Record<string, unknown> }).details?.responseCode))
  );
}

export class NcmecClient {
  readonly endpoint: string;
  /** The Request-ID of the last answer (for the audit records of each step). */
  lastRequestId: string | null = null;
  private readonly auth: string;

  constructor(private readonly options: ClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    const { username, password } = options.credentials;
    if (!username || !password)
      throw new WardError('WARD_ERR_REPORT_CREDENTIALS', 'CyberTipline credentials are missing');
    this.auth = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
  }

  private async call(
    name: string,
    path: string,
    init: { method: string; contentType?: string; body?: string | Buffer },
  ): Promise<NcmecAnswer> {
    const res = await (this.options.fetch ?? egressFetch)(`${this.endpoint}${path}`, {
      method: init.method,
      headers: {
        authorization: this.auth,
        accept: 'application/xml, text/xml',
        ...(init.contentType ? { 'content-type': init.contentType } : {}),
      },
      ...(init.body !== undefined ? { body: init.body } : {}),
      maxResponseBytes: 256 * 1024,
      timeoutMs: this.options.timeoutMs ?? 60_000,
    });
    const rid = res.headers['request-id'];
    const requestId = (Array.isArray(rid) ? rid[0] : rid) ?? null;
    this.lastRequestId = requestId;
    let root: XmlElement | undefined;
    try {
      root = parseXml(res.body, { maxBytes: 256 * 1024 });
    } catch {
      root = undefined;
    }
    const codeText = root ? childText(root, 'responseCode') : undefined;
    const responseCode = codeText !== undefined && /^-?\d+$/.test(codeText) ? Number(codeText) : null;
    this.options.onCall?.({ call: name, httpStatus: res.status, responseCode, requestId });
    if (res.status < 200 || res.status > 299 || responseCode !== 0 || !root) {
      const desc = root ? (childText(root, 'responseDescription') ?? '') : '';
      const code = responseCode ?? (res.status === 401 ? 2000 : null);
      const what = code !== null ? ` ${code}${RESPONSE_CODES[code] ? ` (${RESPONSE_CODES[code]})` : ''}` : '';
      throw new WardError(
        'WARD_ERR_REPORT_REJECTED',
        `CyberTipline ${name}: HTTP ${res.status}${what}${desc ? `: ${desc.slice(0, 500)}` : ''}${requestId ? ` [Request-ID ${requestId}]` : ''}`,
        { responseCode: code, httpStatus: res.status, requestId },
      );
    }
    return { root, responseCode, requestId };
  }

  /** GET /status: checks the credentials. */
  async status(): Promise<string> {
    const a = await this.call('status', '/status', { method: 'GET' });
    return childText(a.root, 'responseDescription') ?? '';
  }

  /** GET /xsd: the schema, as text. */
  async xsd(): Promise<string> {
    const res = await (this.options.fetch ?? egressFetch)(`${this.endpoint}/xsd`, {
      method: 'GET',
      headers: { authorization: this.auth },
      maxResponseBytes: 4 * 1024 * 1024,
      timeoutMs: this.options.timeoutMs ?? 60_000,
    });
    const text = res.body.toString('utf8');
    if (res.status !== 200 || res.truncated || !text.includes('<xs:schema')) {
      throw new WardError('WARD_ERR_REPORT_REJECTED', `CyberTipline xsd: HTTP ${res.status}: no schema`, {
        httpStatus: res.status,
      });
    }
    return text;
  }

  /** POST /submit: opens a report; returns its reportId. */
  async submit(reportXml: string): Promise<string> {
    const a = await this.call('submit', '/submit', {
      method: 'POST',
      contentType: 'text/xml; charset=utf-8',
      body: reportXml,
    });
    const id = childText(a.root, 'reportId');
    if (!id || !/^\d{1,19}$/.test(id))
      throw new WardError('WARD_ERR_REPORT_REJECTED', 'CyberTipline submit: no reportId');
    return id;
  }

  /** POST /upload (multipart id + file); checks the MD5 the server computed against the bytes. */
  async upload(reportId: string, fileName: string, bytes: Buffer): Promise<{ fileId: string; md5: string }> {
    const boundary = `----ward${randomBytes(12).toString('hex')}`;
    const safeName = fileName.replace(/["\r\n\\]/g, '_').slice(0, 200) || 'file';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="id"\r\n\r\n${reportId}\r\n`),
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeName}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const a = await this.call('upload', '/upload', {
      method: 'POST',
      contentType: `multipart/form-data; boundary=${boundary}`,
      body,
    });
    const fileId = childText(a.root, 'fileId');
    const hash = childText(a.root, 'hash')?.toLowerCase();
    const md5 = createHash('md5').update(bytes).digest('hex');
    if (!fileId) throw new WardError('WARD_ERR_REPORT_REJECTED', 'CyberTipline upload: no fileId');
    if (hash !== md5) {
      throw new WardError(
        'WARD_ERR_REPORT_REJECTED',
        `CyberTipline upload: the server's MD5 ${hash ?? '(none)'} is not the file's ${md5}${a.requestId ? ` [Request-ID ${a.requestId}]` : ''}`,
        { responseCode: null, requestId: a.requestId, md5Mismatch: true },
      );
    }
    return { fileId, md5 };
  }

  /** POST /fileinfo with a `<fileDetails>`. */
  async fileinfo(fileDetailsXml: string): Promise<void> {
    await this.call('fileinfo', '/fileinfo', {
      method: 'POST',
      contentType: 'text/xml; charset=utf-8',
      body: fileDetailsXml,
    });
  }

  /** POST /finish: returns the fileIds NCMEC holds for the report. */
  async finish(reportId: string): Promise<string[]> {
    const a = await this.call('finish', '/finish', {
      method: 'POST',
      contentType: 'application/x-www-form-urlencoded',
      body: `id=${encodeURIComponent(reportId)}`,
    });
    return (child(a.root, 'files')?.children ?? []).filter((c) => c.name === 'fileId').map((c) => c.text);
  }

  /** POST /retract. */
  async retract(reportId: string): Promise<void> {
    await this.call('retract', '/retract', {
      method: 'POST',
      contentType: 'application/x-www-form-urlencoded',
      body: `id=${encodeURIComponent(reportId)}`,
    });
  }
}
