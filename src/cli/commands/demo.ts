/**
 * @module cli/commands/demo
 * `ward demo [--dir D] [--keep]`: generates benign synthetic images and near-duplicate variants,
 * hashes them, and shows which variants PDQ links back to their originals.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sceneImage, VARIANT_KINDS, variant } from '../../demo/images.js';
import { hashFiles, isErrorRecord } from '../../scan/hash-files.js';
import type { ImageHashes } from '../../signals/image.js';
import { DIHEDRAL_NAMES } from '../../signals/pdq/dihedral.js';
import { PDQ_MATCH_DISTANCE, pdqDistance } from '../../signals/pdq/distance.js';
import { parseCommandArgs } from '../args.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { write } from '../output.js';

export const DEMO_USAGE = `Usage: ward demo [--dir DIR] [--keep]

Generates benign synthetic images (shapes and gradients) plus near-duplicate variants (resized,
re-encoded, cropped, flipped, brightened) and an unrelated control image, hashes them all with
PDQ, and shows which variants are linked back to their originals.
  --dir DIR   write the demo images here (default: a temporary directory)
  --keep      keep the temporary directory`;

const ORIGINALS = 4;

export async function demoCommand(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values } = parseCommandArgs(argv, { dir: { type: 'string' }, keep: { type: 'boolean' } });
  const dir = (values.dir as string | undefined) ?? (await mkdtemp(join(tmpdir(), 'ward-demo-')));
  await mkdir(dir, { recursive: true });
  const out = ctx.stdout;
  await write(out, 'Ward demo: every image here is synthetic (shapes and gradients) and generated on the spot.\n');
  await write(out, `Writing demo images to ${dir}\n\n`);
  const files: { path: string; original: string; kind: string }[] = [];
  for (let i = 0; i < ORIGINALS; i++) {
    const original = join(dir, `scene-${i}.jpg`);
    const bytes = await sceneImage(1000 + i);
    await writeFile(original, bytes);
    files.push({ path: original, original, kind: 'original' });
    for (const kind of VARIANT_KINDS) {
      const path = join(dir, `scene-${i}-${kind}.${kind === 'brightened' ? 'png' : 'jpg'}`);
      await writeFile(path, await variant(bytes, kind));
      files.push({ path, original, kind });
    }
  }
  const control = join(dir, 'unrelated.png');
  await writeFile(control, await sceneImage(9999, 'png'));
  files.push({ path: control, original: join(dir, 'scene-0.jpg'), kind: 'unrelated' });
  await writeFile(join(dir, 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 74, 70]));

  const hashes = new Map<string, ImageHashes>();
  let errors = 0;
  for await (const r of hashFiles([dir], { dihedral: true })) {
    if (isErrorRecord(r)) {
      errors++;
      await write(out, `error    ${r.error.code} (${r.path}): ${r.error.message}\n`);
    } else hashes.set(r.path ?? '', r);
  }
  await write(out, `\nHashed ${hashes.size} images (${errors} unreadable, reported above).\n\n`);
  await write(out, 'VARIANT                         Q    DIST  LINKED  HOW\n');
  for (const f of files) {
    if (f.kind === 'original') continue;
    const h = hashes.get(f.path);
    const o = hashes.get(f.original);
    if (!h || !o) continue;
    const direct = pdqDistance(h.pdq, o.pdq);
    // A mirrored copy is found by comparing against the original's dihedral hashes.
    let best = { d: direct, how: 'pdq' };
    (o.pdqDihedral ?? []).forEach((dh, k) => {
      const d = pdqDistance(h.pdq, dh);
      if (d < best.d) best = { d, how: `pdq, ${DIHEDRAL_NAMES[k]}` };
    });
    const linked = best.d <= PDQ_MATCH_DISTANCE;
    const name = f.path.slice(dir.length + 1);
    await write(
      out,
      `${name.padEnd(30)}  ${String(h.quality).padStart(3)}  ${String(best.d).padStart(4)}  ${linked ? 'yes' : 'no '}     ${linked ? best.how : '-'}\n`,
    );
  }
  await write(out, `\nDistances are Hamming bits out of 256; PDQ links images at <= ${PDQ_MATCH_DISTANCE}.\n`);
  await write(
    out,
    'PDQ survives resizing, re-encoding and colour changes; mirrored copies are caught through\nthe dihedral hashes; crops that cut the frame defeat it (a known limit of PDQ).\n',
  );
  if (!values.dir && !values.keep) await rm(dir, { recursive: true, force: true });
  return EXIT.OK;
}
