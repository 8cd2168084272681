/**
 * @module demo/images
 * Benign synthetic images for the demo and tests: deterministic SVG scenes (gradients and
 * shapes) rendered by sharp, and near-duplicate variants of them.
 */
import { loadSharp } from '../media/image.js';

/** Seeded PRNG (mulberry32): the same seed draws the same scene. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An SVG scene of gradients, circles and bars, different for every seed. */
export function sceneSvg(seed: number, width = 640, height = 480): Buffer {
  const rand = seededRandom(seed);
  const c = (): number => Math.floor(rand() * 256);
  const shapes: string[] = [];
  for (let i = 0; i < 24; i++) {
    const x = (rand() * width).toFixed(1);
    const y = (rand() * height).toFixed(1);
    if (rand() < 0.6) {
      shapes.push(
        `<circle cx="${x}" cy="${y}" r="${(8 + rand() * 120).toFixed(1)}" fill="rgb(${c()},${c()},${c()})" fill-opacity="${(0.4 + rand() * 0.6).toFixed(2)}"/>`,
      );
    } else {
      shapes.push(
        `<rect x="${x}" y="${y}" width="${(10 + rand() * 200).toFixed(1)}" height="${(10 + rand() * 90).toFixed(1)}" fill="rgb(${c()},${c()},${c()})" transform="rotate(${(rand() * 90).toFixed(1)} ${x} ${y})"/>`,
      );
    }
  }
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<defs><linearGradient id="g" x1="0" y1="0" x2="${rand().toFixed(2)}" y2="1">` +
      `<stop offset="0" stop-color="rgb(${c()},${c()},${c()})"/><stop offset="1" stop-color="rgb(${c()},${c()},${c()})"/>` +
      `</linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>${shapes.join('')}</svg>`,
  );
}

/** A scene as JPEG (or PNG) bytes. */
export async function sceneImage(
  seed: number,
  format: 'jpeg' | 'png' = 'jpeg',
  width = 640,
  height = 480,
): Promise<Buffer> {
  const sharp = await loadSharp();
  const img = sharp(sceneSvg(seed, width, height));
  return format === 'jpeg' ? img.jpeg({ quality: 90 }).toBuffer() : img.png().toBuffer();
}

export type VariantKind = 'resized' | 'reencoded' | 'cropped' | 'flipped' | 'brightened';
export const VARIANT_KINDS: readonly VariantKind[] = ['resized', 'reencoded', 'cropped', 'flipped', 'brightened'];

/** A near-duplicate of `image` made the way re-uploads alter pictures. */
export async function variant(image: Buffer, kind: VariantKind): Promise<Buffer> {
  const sharp = await loadSharp();
  const meta = await sharp(image).metadata();
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  switch (kind) {
    case 'resized':
      return sharp(image)
        .resize(Math.round(w * 0.5))
        .jpeg({ quality: 85 })
        .toBuffer();
    case 'reencoded':
      return sharp(image).jpeg({ quality: 40 }).toBuffer();
    case 'cropped': {
      // A 1% trim at each edge, as re-uploads trim borders: PDQ tolerates small crops only
      // (4% moves synthetic scenes 50-90 bits away).
      const dx = Math.max(1, Math.round(w * 0.01));
      const dy = Math.max(1, Math.round(h * 0.01));
      return sharp(image)
        .extract({ left: dx, top: dy, width: w - 2 * dx, height: h - 2 * dy })
        .jpeg({ quality: 88 })
        .toBuffer();
    }
    case 'flipped':
      return sharp(image).flop().jpeg({ quality: 88 }).toBuffer();
    case 'brightened':
      return sharp(image).modulate({ brightness: 1.15 }).png().toBuffer();
  }
}
