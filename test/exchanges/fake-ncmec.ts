/**
 * A fake NCMEC hash-sharing API v2 server, built from the documented wire shapes and the recorded
 * responses in ../shared/conformance/exchanges/ncmec-hashsharing: Basic auth, GET /v2/entries with
 * `from` exclusive and `to` inclusive, pages of `size` entries in a shuffled (not time) order,
 * deleted* tombstones, an HTML-escaped relative `next` link carrying its window. Faults can be
 * injected at any request: HTTP 500, a hang (timeout), a malformed page.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRecord {
  member: string;
  id: string;
  /** ISO time. */
  timestamp: string;
  media: 'image' | 'video';
  deleted?: boolean;
  classification?: string;
  fingerprints?: Record<string, string>;
}

export type Fault = '500' | 'hang' | 'malformed' | 'wrong-window' | undefined;

export interface FakeNcmec {
  url: string;
  records: FakeRecord[];
  requests: string[];
  /** Decides a fault per request (0-based index over all /v2/entries requests). */
  fault: (index: number, url: string) => Fault;
  pageSize: number;
  close(): Promise<void>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const ts = (iso: string) => `${new Date(iso).toISOString().slice(0, 19)}Z`;

/** A deterministic shuffle (so a rerun pages the same way, as the real API does between calls). */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function entryXml(r: FakeRecord): string {
  const tag = r.deleted ? (r.media === 'image' ? 'deletedImage' : 'deletedVideo') : r.media;
  const fps = r.deleted
    ? ''
    : `<fingerprints>${Object.entries(r.fingerprints ?? {})
        .map(([k, v]) =>
          v === ''
            ? `<${k} rel="self" href="/v2/entries/1/fingerprints/${k.toUpperCase()}"/>`
            : `<${k}>${esc(v)}</${k}>`,
        )
        .join('')}</fingerprints>`;
  return `<${tag}><member id="${esc(r.member)}">Member ${esc(r.member)}</member><timestamp>${ts(r.timestamp)}</timestamp><id>${esc(r.id)}</id>${r.classification && !r.deleted ? `<classification>${r.classification}</classification>` : ''}${fps}</${tag}>`;
}

export async function startFakeNcmec(options: { username?: string; password?: string } = {}): Promise<FakeNcmec> {
  const auth = `Basic ${Buffer.from(`${options.username ?? 'user'}:${options.password ?? 'pass'}`).toString('base64')}`;
  let index = 0;
  const fake: FakeNcmec = {
    url: '',
    records: [],
    requests: [],
    fault: () => undefined,
    pageSize: 1000,
    close: async () => {},
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (req.headers.authorization !== auth) {
      res.writeHead(401).end();
      return;
    }
    if (u.pathname !== '/v2/entries') {
      res.writeHead(404).end();
      return;
    }
    const n = index++;
    fake.requests.push(req.url ?? '');
    const fault = fake.fault(n, req.url ?? '');
    if (fault === 'hang') return; // never answers
    if (fault === '500') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
      return;
    }
    if (fault === 'malformed') {
      res.writeHead(200, { 'content-type': 'application/xml' }).end('<queryResult><images><image><member id="1">');
      return;
    }
    const fromText = u.searchParams.get('from') ?? '';
    const toText = u.searchParams.get('to') ?? '';
    const from = Date.parse(fromText);
    const to = Date.parse(toText);
    if (!Number.isFinite(from) || !Number.isFinite(to)) {
      res.writeHead(400).end();
      return;
    }
    const start = Number(u.searchParams.get('start') ?? '1');
    const size = Number(u.searchParams.get('size') ?? String(fake.pageSize));
    const inWindow = fake.records.filter((r) => {
      const t = Date.parse(r.timestamp);
      return t > from && t <= to;
    });
    const ordered = shuffled(inWindow, from ^ to);
    const page = ordered.slice(start - 1, start - 1 + size);
    const images = page.filter((r) => r.media === 'image');
    const videos = page.filter((r) => r.media === 'video');
    let next = '';
    if (start - 1 + size < ordered.length) {
      const f = fault === 'wrong-window' ? new Date(from + 1000).toISOString() : new Date(from).toISOString();
      const q = `from=${encodeURIComponent(f)}&to=${encodeURIComponent(new Date(to).toISOString())}&start=${start + size}&size=${size}&max=${start + 2 * size - 1}`;
      next = `<paging><next>${esc(`/v2/entries?${q}`)}</next></paging>`;
    }
    const body = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2"><images count="${images.length}">${images.map(entryXml).join('')}</images><videos count="${videos.length}">${videos.map(entryXml).join('')}</videos>${next}</queryResult>`;
    res.writeHead(200, { 'content-type': 'application/xml' }).end(body);
  };
  const server: Server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return fake;
}
