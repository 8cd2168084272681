// Generates the benchmark corpus: N 1024x768 JPEGs, kept out of git (bench/.data/).
// Derived from the benign photos in ../shared/fixtures/photos when present (realistic JPEG
// entropy), otherwise from synthetic SVG scenes. Deterministic: the same seed gives the same files.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { sceneSvg, seededRandom } from '../dist/demo/images.js';

const here = dirname(fileURLToPath(import.meta.url));
export const SHARED_PHOTOS = join(here, '..', '..', 'shared', 'fixtures', 'photos');

/** Ensures `count` JPEGs of width x height exist in `dir`; returns their paths. */
export async function ensureCorpus(dir, count, width = 1024, height = 768) {
  mkdirSync(dir, { recursive: true });
  const paths = Array.from({ length: count }, (_, i) => join(dir, `img-${String(i).padStart(5, '0')}.jpg`));
  if (paths.every((p) => existsSync(p))) return paths;
  const photos = existsSync(SHARED_PHOTOS)
    ? readdirSync(SHARED_PHOTOS)
        .filter((f) => /\.(jpe?g|png)$/i.test(f))
        .map((f) => join(SHARED_PHOTOS, f))
    : [];
  const metas = await Promise.all(photos.map((p) => sharp(p).metadata()));
  const rand = seededRandom(0x5eed);
  for (let i = 0; i < count; i++) {
    let img;
    if (photos.length > 0) {
      const k = i % photos.length;
      const m = metas[k];
      const scale = 0.5 + rand() * 0.5;
      const cw = Math.max(64, Math.floor(m.width * scale));
      const ch = Math.max(48, Math.min(m.height, Math.floor((cw * 3) / 4)));
      const left = Math.floor(rand() * (m.width - cw));
      const top = Math.floor(rand() * (m.height - ch));
      img = sharp(photos[k]).extract({ left, top, width: cw, height: ch });
    } else {
      img = sharp(sceneSvg(i, width, height));
    }
    const buf = await img
      .resize(width, height, { fit: 'fill' })
      .modulate({ brightness: 0.8 + rand() * 0.4 })
      .jpeg({ quality: 75 + Math.floor(rand() * 18) })
      .toBuffer();
    writeFileSync(paths[i], buf);
  }
  return paths;
}
