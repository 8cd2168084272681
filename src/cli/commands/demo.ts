/**
 * @module cli/commands/demo
 * `ward demo [--dir D] [--keep] [--format F]`: the main job on built-in data. Builds a stand-in
 * bank from images Ward generates (benign shapes and gradients), writes a demo folder mixing
 * near-duplicates of them with unrelated images, archives and broken files, and scans it.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ParsedEntry } from '../../banks/types.js';
import { storedZip, tarGz } from '../../demo/archives.js';
import { sceneImage, type VariantKind, variant } from '../../demo/images.js';
import { Matcher } from '../../match/matcher.js';
import { loadSharp } from '../../media/image.js';
import { DEFAULT_SCAN_CONFIG } from '../../scan/config.js';
import { scan } from '../../scan/pipeline.js';
import { hashImage } from '../../signals/image.js';
import { SqliteStore } from '../../store/sqlite.js';
import { parseCommandArgs, positiveInt } from '../args.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { write } from '../output.js';
import { emptySummary, parseScanFormat, ScanWriter, summaryText } from '../scan-output.js';

export const DEMO_USAGE = `Usage: ward demo [--dir DIR] [--keep] [--format table|ndjson|json|csv] [--jobs N]

Runs Ward's main job on built-in data. Builds a STAND-IN bank from benign synthetic images that
Ward generates (shapes and gradients, standing in for known material), then scans a demo folder
that mixes near-duplicates of them (resized, re-encoded, cropped, flipped) with unrelated images,
archives (zip, tar.gz, a zip inside a tar.gz) and broken files, and prints the verdicts.
  --dir DIR   build the demo here (default: a temporary directory, removed afterwards)
  --keep      keep the temporary directory (its database and demo folder)
  --format F  report format (default: table)
  --jobs N    worker threads (default: all cores)`;

const STAND_IN_NOTE =
  'The bank in this demo is a stand-in: ordinary synthetic images (shapes and gradients) that Ward\n' +
  'generated just now and placed in a test bank as if they were known material. No real hash list\n' +
  'is included in Ward or used here.';

export async function demoCommand(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values } = parseCommandArgs(argv, {
    dir: { type: 'string' },
    keep: { type: 'boolean' },
    format: { type: 'string' },
    jobs: { type: 'string' },
  });
  const format = parseScanFormat((values.format as string | undefined) ?? 'table', ctx.stdoutIsTTY);
  const jobs = values.jobs === undefined ? undefined : positiveInt('--jobs', values.jobs as string);
  const given = values.dir as string | undefined;
  const dir = given ?? (await mkdtemp(join(tmpdir(), 'ward-demo-')));
  const info = format === 'table' ? ctx.stdout : ctx.stderr;
  try {
    await mkdir(dir, { recursive: true });
    await write(info, `Ward demo\n\n${STAND_IN_NOTE}\n\nWorking in ${dir}\n`);
    const folder = join(dir, 'scan-me');
    await mkdir(folder, { recursive: true });
    const store = SqliteStore.open(join(dir, 'demo.db'));
    try {
      const planted = await buildDemo(store, folder);
      await write(
        info,
        `Bank "demo-known" (block): ${planted.known} stand-in images, plus a "meme" image the list\n` +
          'holds by mistake (PDQ + MD5 of each).\n' +
          'Bank "demo-allow" (negative): that meme, a known false positive, so its reposts are not reported.\n\n' +
          `Scanning ${folder} (dihedral matching on, so flipped copies are found):\n\n`,
      );
      const matcher = Matcher.open(store);
      const config = { ...DEFAULT_SCAN_CONFIG, match: { ...DEFAULT_SCAN_CONFIG.match, dihedral: true } };
      const writer = new ScanWriter(ctx.stdout, format);
      const summary = emptySummary();
      const started = Date.now();
      await writer.start(new Date(started));
      for await (const r of scan([folder], { config, matcher, jobs })) {
        summary.items++;
        summary.verdicts[r.verdict]++;
        await writer.add({ ...r, path: r.path.startsWith(dir) ? r.path.slice(dir.length + 1) : r.path });
      }
      summary.seconds = (Date.now() - started) / 1000;
      await writer.end(summary);
      if (format !== 'table') await write(info, `${summaryText(summary)}\n`);
      await write(
        info,
        '\nWhat happened: near-duplicates of the stand-in images MATCH (by PDQ, or MD5 for the exact\n' +
          'copy), also inside archives; the copy of the "meme" is suppressed by the negative bank and is\n' +
          'CLEAN; unrelated images and the benign text files (screened, whatever their names) are CLEAN;\n' +
          'the flat image and the empty file are SKIPPED (nothing to act on); the truncated file is an\n' +
          `ERROR. Ward stored only fingerprints and findings.\n\n${STAND_IN_NOTE}\n`,
      );
    } finally {
      store.close();
    }
    return EXIT.OK;
  } finally {
    if (!given && !values.keep) await rm(dir, { recursive: true, force: true });
  }
}

const KNOWN = 6;

/** Generates the stand-in bank and the demo folder. */
async function buildDemo(store: SqliteStore, folder: string): Promise<{ known: number }> {
  const originals: Buffer[] = [];
  for (let i = 0; i < KNOWN; i++) originals.push(await sceneImage(1000 + i));
  const meme = await sceneImage(7000);
  const entries = async function* (images: Buffer[], label: string): AsyncGenerator<ParsedEntry> {
    let line = 0;
    for (const img of images) {
      const h = await hashImage(img);
      yield { signal: 'pdq', value: h.pdq, labels: [label], line: ++line };
      yield { signal: 'md5', value: h.md5, labels: [label], line: ++line };
    }
  };
  store.createBank('demo-known');
  // The block list also holds the meme, as real lists sometimes do by mistake: the negative bank
  // is what keeps its reposts from being reported.
  await store.importEntries('demo-known', entries([...originals, meme], 'stand-in'));
  store.createBank('demo-allow', { kind: 'negative' });
  await store.importEntries('demo-allow', entries([meme], 'stand-in-meme'));

  const o = originals as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
  const put = (name: string, bytes: Uint8Array) => writeFile(join(folder, name), bytes);
  const v = (img: Buffer, kind: VariantKind) => variant(img, kind);
  // Known material, altered as re-uploads alter it.
  await put('upload-001.jpg', o[0]); // exact copy: MD5 and PDQ
  await put('upload-002.jpg', await v(o[1], 'resized'));
  await put('upload-003.jpg', await v(o[2], 'reencoded'));
  await put('upload-004.jpg', await v(o[3], 'cropped'));
  await put('upload-005.jpg', await v(o[4], 'flipped'));
  // Unrelated images.
  for (let i = 0; i < 4; i++)
    await put(`holiday-${i + 1}.${i % 2 ? 'png' : 'jpg'}`, await sceneImage(5000 + i, i % 2 ? 'png' : 'jpeg'));
  // A repost of the meme: it matches the block bank, and the negative bank suppresses that.
  await put('meme-repost.jpg', await v(meme, 'reencoded'));
  // Archives: a zip with a known variant, a tar.gz holding a zip holding another.
  await put(
    'photos.zip',
    storedZip([
      { name: 'trip/beach.jpg', bytes: await sceneImage(5100) },
      { name: 'trip/scan-0042.jpg', bytes: await v(o[5], 'brightened') },
    ]),
  );
  const inner = storedZip([{ name: 'deep/copy.jpg', bytes: await v(o[1], 'reencoded') }]);
  await put(
    'backup.tar.gz',
    await tarGz([
      { name: 'backup/inner.zip', bytes: inner },
      { name: 'backup/readme.txt', bytes: Buffer.from('backup notes\n') },
    ]),
  );
  // Broken and odd files.
  await put('truncated.jpg', o[2].subarray(0, Math.floor(o[2].length / 3)));
  await put('not-really.png', Buffer.from('this is text pretending to be a PNG\n'));
  await put('empty.jpg', Buffer.alloc(0));
  const sharp = await loadSharp();
  await put(
    'flat-grey.png',
    await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .png()
      .toBuffer(),
  );
  return { known: KNOWN };
}
