/**
 * A local fake CyberTipline Reporting API, faithful to NCMEC's documentation (usips/xf2-ncmec
 * _material, summarised in ../shared/specs/reporting-and-exchanges.md part A): Basic auth
 * (401 + 2000), a Request-ID on every answer, schema validation with libxml2 (xmllint) against
 * ../shared's cybertipline.xsd, the rules beyond the schema, the report state machine and its
 * codes (5001, 5002, 5101, 5102, 4100), both error transports (`http200`: HTTP 200 + code, as the
 * 2016 server did; `http400`: HTTP 400 + code, as the 2025 documentation says), injectable
 * failures at every call and an injectable clock for auto-deletion. Its rules are written from the
 * documentation on the XML it receives, independently of Ward's builder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateXml } from '../../src/reporting/ncmec/validate.js';
import { child, childText, parseXml, type XmlElement } from '../../src/reporting/xml.js';

export type Call = 'status' | 'xsd' | 'submit' | 'upload' | 'fileinfo' | 'finish' | 'retract';

export interface FakeFile {
  fileId: string;
  md5: string;
  size: number;
  details?: XmlElement;
}

export interface FakeReport {
  id: number;
  state: 'open' | 'finished' | 'retracted';
  openedAt: number;
  lastChange: number;
  report: XmlElement;
  files: FakeFile[];
}

export interface Injection {
  call: Call;
  /** error: answer with `code` before doing anything; drop: do the call, then cut the connection unanswered. */
  action: 'error' | 'drop';
  code?: number;
  /** Which occurrence of the call (1 = the next one; default 1). */
  nth?: number;
}

export interface FakeOptions {
  username?: string;
  password?: string;
  xsdPath: string;
  transport?: 'http200' | 'http400';
  now?: () => number;
}

const HOUR = 3_600_000;

export class FakeCyberTipline {
  readonly reports = new Map<number, FakeReport>();
  readonly log: { call: Call; code: number; requestId: string }[] = [];
  private nextId = 1000;
  private server: http.Server;
  private injections: (Injection & { seen: number })[] = [];
  /** Awaited after a call took effect and before it is answered (a test kills the client here). */
  onDone?: (call: Call, n: number) => Promise<void> | void;
  private counts = new Map<Call, number>();
  url = '';
  transport: 'http200' | 'http400';
  now: () => number;

  constructor(private readonly options: FakeOptions) {
    this.transport = options.transport ?? 'http400';
    this.now = options.now ?? Date.now;
    this.server = http.createServer((req, res) => {
      void this.handle(req, res).catch((e) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/ispws`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  inject(i: Injection): void {
    this.injections.push({ ...i, seen: 0 });
  }

  finished(): FakeReport[] {
    return [...this.reports.values()].filter((r) => r.state === 'finished');
  }

  private expired(r: FakeReport): boolean {
    return r.state === 'open' && this.now() >= Math.max(r.openedAt + 24 * HOUR, r.lastChange + HOUR);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const requestId = randomBytes(8).toString('hex');
    res.setHeader('Request-ID', requestId);
    const path = (req.url ?? '').replace(/^\/ispws/, '');
    const call = path.slice(1) as Call;
    const answer = (code: number, fields: Record<string, string> = {}, root = 'reportResponse', extra = '') => {
      this.log.push({ call, code, requestId });
      const status = code === 0 ? 200 : code === 2000 ? 401 : this.transport === 'http400' ? 400 : 200;
      res.statusCode = status;
      res.setHeader('content-type', 'application/xml;charset=ISO-8859-1');
      const inner = Object.entries(fields)
        .map(([k, v]) => `<${k}>${v}</${k}>`)
        .join('');
      const desc =
        root === 'reportResponse'
          ? `<responseDescription>${code === 0 ? 'Success' : `Error ${code}`}</responseDescription>`
          : '';
      res.end(
        `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><${root}><responseCode>${code}</responseCode>${desc}${inner}${extra}</${root}>`,
      );
    };
    const auth = req.headers.authorization ?? '';
    const want = `Basic ${Buffer.from(`${this.options.username ?? 'user'}:${this.options.password ?? 'pass'}`).toString('base64')}`;
    if (auth !== want) return answer(2000);
    const n = (this.counts.get(call) ?? 0) + 1;
    this.counts.set(call, n);
    let drop = false;
    for (const i of this.injections) {
      if (i.call !== call) continue;
      i.seen++;
      if (i.seen !== (i.nth ?? 1)) continue;
      if (i.action === 'error') return answer(i.code ?? 1000);
      drop = true;
    }
    const finish = async (fn: () => void) => {
      if (drop) {
        this.log.push({ call, code: -1, requestId });
        req.socket.destroy();
        return;
      }
      await this.onDone?.(call, n);
      fn();
    };
    if (call === 'status') return answer(0, {}, 'reportResponse');
    if (call === 'xsd') {
      res.setHeader('content-type', 'text/xml');
      res.end(readFileSync(this.options.xsdPath));
      return;
    }
    const form = new URLSearchParams(
      req.headers['content-type']?.startsWith('application/x-www-form-urlencoded') ? body.toString() : '',
    );
    const lookup = (id: string | null | undefined): FakeReport | number => {
      const r = this.reports.get(Number(id));
      if (!r || this.expired(r)) {
        if (r) this.reports.delete(r.id);
        return 5001;
      }
      if (r.state === 'retracted') return 5101;
      if (r.state === 'finished') return 5102;
      return r;
    };
    if (call === 'submit') {
      const xml = body.toString('utf8');
      const v = await validateXml(xml, this.options.xsdPath);
      if (!v.valid) return answer(4100);
      const doc = parseXml(xml);
      if (doc.name !== 'report' || !this.reportRulesOk(doc)) return answer(4100);
      const id = this.nextId++;
      this.reports.set(id, { id, state: 'open', openedAt: this.now(), lastChange: this.now(), report: doc, files: [] });
      return finish(() => answer(0, { reportId: String(id) }));
    }
    if (call === 'upload') {
      const parts = parseMultipart(body, req.headers['content-type'] ?? '');
      const r = lookup(parts.id?.toString('utf8'));
      if (typeof r === 'number') return answer(r);
      const file = parts.file;
      if (!file || file.length === 0) return answer(4200);
      const f: FakeFile = {
        fileId: randomBytes(16).toString('hex'),
        md5: createHash('md5').update(file).digest('hex'),
        size: file.length,
      };
      r.files.push(f);
      r.lastChange = this.now();
      return finish(() => answer(0, { reportId: String(r.id), fileId: f.fileId, hash: f.md5 }));
    }
    if (call === 'fileinfo') {
      const xml = body.toString('utf8');
      const v = await validateXml(xml, this.options.xsdPath);
      if (!v.valid) return answer(4100);
      const doc = parseXml(xml);
      const r = lookup(childText(doc, 'reportId'));
      if (typeof r === 'number') return answer(r);
      const f = r.files.find((x) => x.fileId === childText(doc, 'fileId'));
      if (!f) return answer(5002);
      if (f.details) return answer(4000);
      if (!this.fileRulesOk(doc, child(r.report, 'batchedReport') !== undefined)) return answer(4100);
      f.details = doc;
      r.lastChange = this.now();
      return finish(() => answer(0, { reportId: String(r.id) }));
    }
    if (call === 'finish') {
      const r = lookup(form.get('id'));
      if (typeof r === 'number') return answer(r, {}, 'reportDoneResponse');
      if (child(r.report, 'batchedReport')) {
        const ok =
          r.files.length === 1 &&
          (() => {
            const a = child(r.files[0]?.details, 'fileAnnotations')?.children.map((c) => c.name) ?? [];
            return a.length === 1 && (a[0] === 'viral' || a[0] === 'potentialMeme');
          })();
        if (!ok) return answer(4100, {}, 'reportDoneResponse');
      }
      r.state = 'finished';
      return finish(() =>
        answer(
          0,
          { reportId: String(r.id) },
          'reportDoneResponse',
          `<files>${r.files.map((f) => `<fileId>${f.fileId}</fileId>`).join('')}</files>`,
        ),
      );
    }
    if (call === 'retract') {
      const r = lookup(form.get('id'));
      if (typeof r === 'number') return answer(r);
      r.state = 'retracted';
      return finish(() => answer(0, { reportId: String(r.id) }));
    }
    res.statusCode = 404;
    res.end();
  }

  private past(text: string | undefined): boolean {
    return text === undefined || (/(Z|[+-]\d\d:\d\d)$/.test(text) && Date.parse(text) <= this.now());
  }

  private reportRulesOk(doc: XmlElement): boolean {
    if (!this.past(childText(child(doc, 'incidentSummary'), 'incidentDateTime'))) return false;
    if (child(doc, 'batchedReport')) {
      const banned = ['internetDetails', 'lawEnforcement', 'intendedRecipient', 'victim', 'additionalInfo'];
      if (doc.children.some((c) => banned.includes(c.name))) return false;
      if (child(child(doc, 'incidentSummary'), 'escalateToHighPriority')) return false;
      for (const p of doc.children.filter((c) => c.name === 'personOrUserReported')) {
        if (p.children.some((c) => c.name !== 'espIdentifier')) return false;
      }
    }
    return true;
  }

  private fileRulesOk(doc: XmlElement, batched: boolean): boolean {
    if (childText(doc, 'exifViewedByEsp') === 'true' && childText(doc, 'fileViewedByEsp') !== 'true') return false;
    const annotations = child(doc, 'fileAnnotations')?.children.map((c) => c.name) ?? [];
    if (
      childText(doc, 'fileRelevance') === 'Supplemental Reported' &&
      (annotations.includes('potentialMeme') || child(doc, 'potentialMeme') || child(doc, 'industryClassification'))
    )
      return false;
    if (!this.past(childText(doc, 'uploadedToEspTimestamp'))) return false;
    if (batched && !(annotations.length === 1 && (annotations[0] === 'viral' || annotations[0] === 'potentialMeme')))
      return false;
    return true;
  }
}

/** A small multipart/form-data reader (fields by name). */
function parseMultipart(body: Buffer, contentType: string): Record<string, Buffer> {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  if (!m) return {};
  const boundary = Buffer.from(`--${m[1] ?? m[2]}`);
  const out: Record<string, Buffer> = {};
  let pos = body.indexOf(boundary);
  while (pos !== -1) {
    const start = pos + boundary.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(boundary, start);
    if (next === -1) break;
    const part = body.subarray(start + 2, next - 2);
    const sep = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, sep).toString('utf8');
    const name = /name="([^"]+)"/.exec(head)?.[1];
    if (name) out[name] = part.subarray(sep + 4);
    pos = next;
  }
  return out;
}
