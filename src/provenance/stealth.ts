/**
 * @module provenance/stealth
 * "Stealth" generation metadata hidden in pixel least-significant bits (the sd-webui-stealth-pnginfo
 * format, also used by NovelAI): pixels are read column by column (x outer, y inner); the alpha
 * channel carries one bit per pixel (`stealth_pnginfo`, `stealth_pngcomp`) or R, G and B three
 * (`stealth_rgbinfo`, `stealth_rgbcomp`); a 15-byte magic, a 32-bit payload length in bits, then the
 * payload, gzip-compressed for the `comp` variants. Bounded by the pixel count and a size limit.
 */
import { gunzipSync } from 'node:zlib';

export interface StealthPixels {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

export interface StealthResult {
  mode: 'alpha' | 'rgb';
  compressed: boolean;
  text: string;
  /** Set when the payload was cut at the limit or could not be decompressed. */
  problem?: string;
}

const MAGIC = 15 * 8;

class BitReader {
  private x = 0;
  private y = 0;
  private lane = 0;
  constructor(
    private readonly px: StealthPixels,
    private readonly mode: 'alpha' | 'rgb',
  ) {}

  get remaining(): number {
    const { width, height } = this.px;
    const pixelsLeft = (width - this.x) * height - this.y;
    return this.mode === 'alpha' ? pixelsLeft : pixelsLeft * 3 - this.lane;
  }

  bit(): number {
    const { width, channels, data } = this.px;
    if (this.x >= width) throw new RangeError('end of pixels');
    const base = (this.y * width + this.x) * channels;
    let v: number;
    if (this.mode === 'alpha') {
      v = (data[base + channels - 1] as number) & 1;
      this.advance();
    } else {
      v = (data[base + this.lane] as number) & 1;
      if (++this.lane === 3) {
        this.lane = 0;
        this.advance();
      }
    }
    return v;
  }

  private advance(): void {
    if (++this.y === this.px.height) {
      this.y = 0;
      this.x++;
    }
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let b = 0;
      for (let j = 0; j < 8; j++) b = (b << 1) | this.bit();
      out[i] = b;
    }
    return out;
  }
}

/**
 * Looks for stealth metadata; undefined when neither the alpha nor the RGB channels start with
 * the magic. `maxBytes` bounds the payload (compressed and decompressed).
 */
export function readStealth(px: StealthPixels, maxBytes = 8 * 1024 * 1024): StealthResult | undefined {
  if (px.channels < 3 || px.width * px.height < 64) return undefined;
  const modes: ('alpha' | 'rgb')[] = px.channels === 4 ? ['alpha', 'rgb'] : ['rgb'];
  for (const mode of modes) {
    const r = new BitReader(px, mode);
    if (r.remaining < MAGIC + 32) continue;
    const magic = Buffer.from(r.bytes(15)).toString('latin1');
    const expected = mode === 'alpha' ? ['stealth_pnginfo', 'stealth_pngcomp'] : ['stealth_rgbinfo', 'stealth_rgbcomp'];
    if (!expected.includes(magic)) continue;
    const compressed = magic.endsWith('comp');
    let bits = 0;
    for (let i = 0; i < 32; i++) bits = bits * 2 + r.bit();
    let problem: string | undefined;
    let n = Math.floor(bits / 8);
    const available = Math.floor(r.remaining / 8);
    if (n > available) {
      problem = `payload claims ${n} bytes but the pixels hold ${available}`;
      n = available;
    }
    if (n > maxBytes) {
      problem = `payload of ${n} bytes truncated to ${maxBytes}`;
      n = maxBytes;
    }
    const payload = r.bytes(n);
    if (!compressed)
      return { mode, compressed, text: new TextDecoder().decode(payload), ...(problem ? { problem } : {}) };
    try {
      const text = new TextDecoder().decode(gunzipSync(payload, { maxOutputLength: maxBytes }));
      return { mode, compressed, text, ...(problem ? { problem } : {}) };
    } catch {
      return { mode, compressed, text: '', problem: problem ?? 'compressed payload is corrupt or too large' };
    }
  }
  return undefined;
}
