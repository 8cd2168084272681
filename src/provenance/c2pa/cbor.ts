/**
 * @module provenance/c2pa/cbor
 * A bounded CBOR decoder (RFC 8949) for C2PA claims, assertions and COSE signatures: lengths are
 * checked against the input, nesting depth and item counts are capped, and maps with only text
 * keys become null-prototype objects (no prototype pollution). Throws CborError on bad input.
 */

export class CborError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'CborError';
  }
}

/** A tagged value (tag 18: COSE_Sign1, tag 0: date-time string...). */
export class CborTag {
  constructor(
    readonly tag: number,
    readonly value: unknown,
  ) {}
}

export type CborObject = { [key: string]: unknown };

const MAX_DEPTH = 64;
const MAX_ITEMS = 1_000_000;
const utf8 = new TextDecoder('utf-8');

/** Decodes one CBOR item; `rest` bytes after it are an error unless `allowTrailing`. */
export function decodeCbor(bytes: Uint8Array, allowTrailing = false): unknown {
  const d = new Decoder(bytes);
  const value = d.item(0);
  if (!allowTrailing && d.at !== bytes.length) throw new CborError('Trailing bytes after the CBOR item', d.at);
  return value;
}

class Decoder {
  at = 0;
  private items = 0;
  constructor(private readonly b: Uint8Array) {}

  private byte(): number {
    if (this.at >= this.b.length) throw new CborError('CBOR ends early', this.at);
    return this.b[this.at++] as number;
  }

  private arg(info: number): number {
    if (info < 24) return info;
    if (info === 24) return this.byte();
    if (info === 25) return (this.byte() << 8) | this.byte();
    if (info === 26) return ((this.byte() << 24) >>> 0) + ((this.byte() << 16) | (this.byte() << 8) | this.byte());
    if (info === 27) {
      const hi = ((this.byte() << 24) >>> 0) + ((this.byte() << 16) | (this.byte() << 8) | this.byte());
      const lo = ((this.byte() << 24) >>> 0) + ((this.byte() << 16) | (this.byte() << 8) | this.byte());
      const v = hi * 0x100000000 + lo;
      if (!Number.isSafeInteger(v)) throw new CborError('CBOR integer beyond 2^53', this.at);
      return v;
    }
    throw new CborError(`Reserved CBOR additional information ${info}`, this.at - 1);
  }

  private take(n: number): Uint8Array {
    if (n > this.b.length - this.at) throw new CborError(`CBOR string of ${n} bytes runs past the end`, this.at);
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  item(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new CborError('CBOR nested too deeply', this.at);
    if (++this.items > MAX_ITEMS) throw new CborError('Too many CBOR items', this.at);
    const start = this.at;
    const ib = this.byte();
    const major = ib >> 5;
    const info = ib & 31;
    if (info === 31 && (major === 2 || major === 3)) return this.indefiniteString(major, depth);
    if (info === 31 && (major === 4 || major === 5)) return major === 4 ? this.array(-1, depth) : this.map(-1, depth);
    if (major === 7) return this.simple(info, start);
    const n = this.arg(info);
    switch (major) {
      case 0:
        return n;
      case 1:
        return -1 - n;
      case 2:
        return this.take(n);
      case 3:
        return utf8.decode(this.take(n));
      case 4:
        return this.array(n, depth);
      case 5:
        return this.map(n, depth);
      default:
        return new CborTag(n, this.item(depth + 1));
    }
  }

  private indefiniteString(major: number, depth: number): Uint8Array | string {
    const parts: Uint8Array[] = [];
    for (;;) {
      if (this.b[this.at] === 0xff) {
        this.at++;
        break;
      }
      const part = this.item(depth + 1);
      if (major === 2 ? !(part instanceof Uint8Array) : typeof part !== 'string')
        throw new CborError('Bad chunk in an indefinite-length CBOR string', this.at);
      parts.push(typeof part === 'string' ? new TextEncoder().encode(part) : (part as Uint8Array));
    }
    const whole = Buffer.concat(parts);
    return major === 2 ? new Uint8Array(whole) : utf8.decode(whole);
  }

  private array(n: number, depth: number): unknown[] {
    if (n > this.b.length - this.at) throw new CborError(`CBOR array of ${n} items runs past the end`, this.at);
    const out: unknown[] = [];
    for (let i = 0; n < 0 || i < n; i++) {
      if (n < 0 && this.b[this.at] === 0xff) {
        this.at++;
        break;
      }
      out.push(this.item(depth + 1));
    }
    return out;
  }

  private map(n: number, depth: number): CborObject | Map<unknown, unknown> {
    if (n > (this.b.length - this.at) / 2) throw new CborError(`CBOR map of ${n} pairs runs past the end`, this.at);
    const entries: [unknown, unknown][] = [];
    for (let i = 0; n < 0 || i < n; i++) {
      if (n < 0 && this.b[this.at] === 0xff) {
        this.at++;
        break;
      }
      const k = this.item(depth + 1);
      entries.push([k, this.item(depth + 1)]);
    }
    if (entries.every(([k]) => typeof k === 'string')) {
      const o: CborObject = Object.create(null);
      for (const [k, v] of entries) o[k as string] = v;
      return o;
    }
    return new Map(entries);
  }

  private simple(info: number, start: number): unknown {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 24:
        this.byte();
        return undefined;
      case 25: {
        const h = (this.byte() << 8) | this.byte();
        return half(h);
      }
      case 26: {
        const v = new DataView(this.take(4).slice().buffer).getFloat32(0);
        return v;
      }
      case 27: {
        const v = new DataView(this.take(8).slice().buffer).getFloat64(0);
        return v;
      }
      default:
        if (info < 20) return undefined;
        throw new CborError(`Unexpected CBOR simple value ${info}`, start);
    }
  }
}

function half(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * 2 ** -14 * (mant / 1024);
  if (exp === 31) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + mant / 1024);
}

/** A field of a decoded CBOR map, whatever its representation. */
export function field(map: unknown, key: string | number): unknown {
  if (map instanceof Map) return map.get(key);
  if (map !== null && typeof map === 'object' && !(map instanceof Uint8Array) && !Array.isArray(map))
    return Object.hasOwn(map, key) ? (map as CborObject)[key as string] : undefined;
  return undefined;
}

/** The CBOR header of a byte string of `n` bytes (for COSE's Sig_structure). */
export function bstrHeader(n: number): Uint8Array {
  if (n < 24) return Uint8Array.of(0x40 | n);
  if (n < 0x100) return Uint8Array.of(0x58, n);
  if (n < 0x10000) return Uint8Array.of(0x59, n >> 8, n & 0xff);
  return Uint8Array.of(0x5a, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}
