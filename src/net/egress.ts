/**
 * @module net/egress
 * The one egress point: every outbound request Ward makes (webhooks; exchanges and reporting
 * next) goes through `egressFetch`. It refuses URLs with userinfo and schemes other than http(s),
 * resolves the host itself and refuses loopback, private, link-local, multicast and other special
 * addresses unless the operator allow-lists them (`WARD_EGRESS_ALLOW`: a comma list of host
 * names, addresses and CIDRs), then connects to the very address it checked (a second DNS answer
 * cannot point it elsewhere: no DNS rebinding). No redirects are followed; response bodies are
 * capped; errors say "refused" or "could not be reached", never which (a refused port and a
 * timeout look the same). Free of fastify so the command line can use it.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { WardError } from '../errors.js';

export interface EgressInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Largest response body kept (bytes; default 1 MiB); the rest is not read. */
  maxResponseBytes?: number;
  /** Whole request, connection to last byte (ms; default 10 s). */
  timeoutMs?: number;
  /** The allow-list (default: WARD_EGRESS_ALLOW). */
  allow?: EgressAllowList;
  /** Name resolution (default: the system's); for tests. */
  resolve?: (host: string) => Promise<{ address: string; family: number }[]>;
}

export interface EgressResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The body was longer than `maxResponseBytes` (only that much is in `body`). */
  truncated: boolean;
}

/** Addresses no outbound request may reach unless allow-listed. */
const SPECIAL = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network" (0.0.0.0 reaches the local host)
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  SPECIAL.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64 of any IPv4 (checked as IPv4 below too)
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10],
  ['ff00::', 8], // multicast
] as const) {
  SPECIAL.addSubnet(net, prefix, 'ipv6');
}

/** The IPv4 address inside an IPv4-mapped or -compatible IPv6 address, if any. */
function embeddedIpv4(address: string): string | undefined {
  const a = address.toLowerCase();
  const m = /^(?:::ffff:|::ffff:0:|64:ff9b::|::)(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (m) return m[1];
  const h = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (h) {
    const hi = Number.parseInt(h[1] as string, 16);
    const lo = Number.parseInt(h[2] as string, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

/** True for loopback, private, link-local, multicast and other addresses outbound requests may not reach. */
export function isSpecialAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return SPECIAL.check(address, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4 !== undefined) return SPECIAL.check(v4, 'ipv4');
    return SPECIAL.check(address, 'ipv6');
  }
  return true; // not an address: never reachable
}

/** Hosts and networks the operator lets Ward reach although they are special (tests: a local receiver). */
export class EgressAllowList {
  private readonly hosts = new Set<string>();
  private readonly nets = new BlockList();
  private empty = true;

  constructor(entries: readonly string[] = []) {
    for (const raw of entries) {
      const e = raw.trim().toLowerCase();
      if (e === '') continue;
      this.empty = false;
      const cidr = /^(.+)\/(\d{1,3})$/.exec(e);
      const addr = (cidr ? cidr[1] : e)?.replace(/^\[|\]$/g, '') as string;
      const family = isIP(addr);
      if (family !== 0) {
        const prefix = cidr ? Number(cidr[2]) : family === 4 ? 32 : 128;
        if (prefix > (family === 4 ? 32 : 128)) {
          throw new WardError(
            'WARD_ERR_CONFIG_INVALID',
            `WARD_EGRESS_ALLOW: bad prefix in ${JSON.stringify(raw.slice(0, 60))}`,
          );
        }
        this.nets.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
      } else if (!cidr && /^[a-z0-9.-]+$/.test(e)) {
        this.hosts.add(e.replace(/\.$/, ''));
      } else {
        throw new WardError(
          'WARD_ERR_CONFIG_INVALID',
          `WARD_EGRESS_ALLOW: not a host, address or CIDR: ${JSON.stringify(raw.slice(0, 60))}`,
        );
      }
    }
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): EgressAllowList {
    return new EgressAllowList((env.WARD_EGRESS_ALLOW ?? '').split(','));
  }

  allowsHost(host: string): boolean {
    return !this.empty && this.hosts.has(host.toLowerCase().replace(/\.$/, ''));
  }

  allowsAddress(address: string): boolean {
    if (this.empty) return false;
    const family = isIP(address);
    if (family === 0) return false;
    const v4 = family === 6 ? embeddedIpv4(address) : undefined;
    if (v4 !== undefined) return this.nets.check(v4, 'ipv4');
    return this.nets.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}

const refused = (why: string) => new WardError('WARD_ERR_EGRESS_REFUSED', `Outbound request refused: ${why}`);

/**
 * Checks a URL against the egress rules without resolving it: scheme, userinfo, a host that is
 * an address Ward may not reach. Returns the parsed URL. (Resolution is checked at each request.)
 */
export function checkEgressUrl(url: string, allow: EgressAllowList = EgressAllowList.fromEnv()): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw refused('not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw refused('only http and https URLs are allowed');
  if (u.username !== '' || u.password !== '') throw refused('URLs may not carry a user name or password');
  // The WHATWG parser has already turned decimal, octal and hex IPv4 forms into dotted quads.
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && isSpecialAddress(host) && !allow.allowsAddress(host) && !allow.allowsHost(host)) {
    throw refused('the address is loopback, private, link-local, multicast or reserved');
  }
  if (host === '' || host === 'localhost' || host.endsWith('.localhost')) {
    if (!allow.allowsHost(host)) throw refused('the address is loopback, private, link-local, multicast or reserved');
  }
  return u;
}

/** A URL safe to show (audit log, delivery log): scheme, host, port and path, no query or userinfo. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '/' : `${u.pathname.split('/').slice(0, 2).join('/')}/…`}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Resolves the host and picks the first address Ward may reach; refuses if any answer is special. */
async function resolveChecked(
  u: URL,
  init: EgressInit,
  allow: EgressAllowList,
): Promise<{ address: string; family: number }> {
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  const answers =
    literal !== 0
      ? [{ address: host, family: literal }]
      : await (init.resolve ?? ((h: string) => dnsLookup(h, { all: true, verbatim: true })))(host).catch(() => {
          throw new WardError('WARD_ERR_EGRESS_FAILED', 'The destination could not be reached');
        });
  if (answers.length === 0) throw new WardError('WARD_ERR_EGRESS_FAILED', 'The destination could not be reached');
  const hostAllowed = allow.allowsHost(host);
  for (const a of answers) {
    // Any special answer refuses the host: a name that also resolves inward is not trusted.
    if (isSpecialAddress(a.address) && !hostAllowed && !allow.allowsAddress(a.address)) {
      throw refused('the host resolves to a loopback, private, link-local, multicast or reserved address');
    }
  }
  return answers[0] as { address: string; family: number };
}

/**
 * One outbound HTTP(S) request under the egress rules. Returns the status, headers and a body
 * capped at `maxResponseBytes`; never follows redirects (a 3xx is returned as it is). Throws
 * WARD_ERR_EGRESS_REFUSED (a URL or address the rules refuse) or WARD_ERR_EGRESS_FAILED (it could
 * not be reached or timed out: one message for both).
 */
export async function egressFetch(url: string, init: EgressInit = {}): Promise<EgressResponse> {
  const allow = init.allow ?? EgressAllowList.fromEnv();
  const u = checkEgressUrl(url, allow);
  const target = await resolveChecked(u, init, allow);
  const timeoutMs = init.timeoutMs ?? 10_000;
  const maxBytes = init.maxResponseBytes ?? 1024 * 1024;
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) {
      (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [target]);
    } else callback(null, target.address, target.family);
  };
  const body = init.body === undefined ? undefined : Buffer.from(init.body);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise<EgressResponse>((resolve, reject) => {
    let settled = false;
    const fail = (e: WardError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(e);
    };
    const req = mod.request(
      u,
      {
        method: init.method ?? 'GET',
        headers: { ...(init.headers ?? {}), ...(body ? { 'content-length': String(body.length) } : {}) },
        lookup: pinned,
        agent: false,
        ...(u.protocol === 'https:' && isIP(u.hostname) === 0 ? { servername: u.hostname } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        res.on('data', (c: Buffer) => {
          if (truncated) return;
          if (size + c.length > maxBytes) {
            chunks.push(c.subarray(0, maxBytes - size));
            size = maxBytes;
            truncated = true;
            done();
            return;
          }
          chunks.push(c);
          size += c.length;
        });
        const done = () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated });
          if (truncated) res.destroy();
        };
        res.on('end', done);
        res.on('error', () => fail(new WardError('WARD_ERR_EGRESS_FAILED', 'The destination could not be reached')));
      },
    );
    const timer = setTimeout(
      () => fail(new WardError('WARD_ERR_EGRESS_FAILED', 'The destination could not be reached')),
      timeoutMs,
    );
    timer.unref?.();
    req.on('error', () => fail(new WardError('WARD_ERR_EGRESS_FAILED', 'The destination could not be reached')));
    req.end(body);
  });
}
