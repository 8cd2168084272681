/**
 * @module cli/commands/hash
 * `ward hash [--format table|ndjson|json] [--profile fullres|cli512] [--dihedral] [--jobs N]
 * [--max-pixels N] [video options] <file|dir>...`
 */
import { WardError } from '../../errors.js';
import { type HashRecord, hashFiles, isErrorRecord } from '../../scan/hash-files.js';
import { PDQ_PROFILES, type PdqProfile } from '../../signals/pdq/hash.js';
import {
  formatFrames,
  parseVpdqOutputFormat,
  VIDEO_FLAGS,
  VIDEO_USAGE,
  videoOptions,
} from '../../video/cli-options.js';
import type { VideoHashes } from '../../video/record.js';
import { VPDQ_QUALITY_THRESHOLD } from '../../video/vpdq.js';
import { parseCommandArgs, positiveInt } from '../args.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { parseFormat, RecordWriter } from '../output.js';

export const HASH_USAGE = `Usage: ward hash [options] <file|dir>...

Fingerprints images: PDQ (256-bit perceptual hash + quality 0-100), MD5, SHA-1, SHA-256;
and videos: vPDQ (a PDQ hash per sampled frame), MD5, SHA-1, SHA-256.
Directories are walked recursively. Output is in input order.

Options:
  --format table|ndjson|json   output format (default: table on a terminal, ndjson otherwise)
  --profile fullres|cli512     fullres: PDQ on full-resolution pixels, as HMA and
                               python-threatexchange (default); cli512: as Meta's CLI, which
                               first squashes images over 512 px to 512x512
  --dihedral                   add the 8 dihedral hashes (pdqDihedral)
  --jobs N                     worker threads (default: all cores)
  --max-pixels N               refuse images (and video frames) with more pixels (default 100000000)

${VIDEO_USAGE}
  --vpdq-format F              how a video's frames are written: objects (default: {frame,
                               quality, pdq, seconds}), compact (Ward's bank value), te
                               (python-threatexchange's "pdqhex,quality,timestamp" list) or
                               text (the reference's "frame,quality,pdq,seconds" lines)

Exit status: 0 all hashed, 2 some inputs failed (each gets an error record), 3 usage error.`;

export async function hashCommand(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    format: { type: 'string' },
    profile: { type: 'string' },
    dihedral: { type: 'boolean' },
    jobs: { type: 'string' },
    'max-pixels': { type: 'string' },
    'vpdq-format': { type: 'string' },
    ...VIDEO_FLAGS,
  });
  if (positionals.length === 0) throw new WardError('WARD_ERR_USAGE', 'ward hash needs at least one file or directory');
  const format = parseFormat(values.format as string | undefined, ctx.stdoutIsTTY);
  const profile = (values.profile as string | undefined) ?? 'fullres';
  if (!(PDQ_PROFILES as readonly string[]).includes(profile)) {
    throw new WardError(
      'WARD_ERR_USAGE',
      `Expected fullres or cli512 for \`--profile\` but received ${JSON.stringify(profile)}`,
    );
  }
  const jobs = values.jobs === undefined ? undefined : positiveInt('--jobs', values.jobs as string);
  const maxPixels =
    values['max-pixels'] === undefined ? undefined : positiveInt('--max-pixels', values['max-pixels'] as string);
  const video = videoOptions(values);
  const vpdqFormat = parseVpdqOutputFormat(values['vpdq-format']);
  const writer = new RecordWriter<HashRecord>(
    ctx.stdout,
    format,
    tableRow,
    'QUALITY  PDQ                                                               SIZE        PATH',
  );
  let errors = 0;
  for await (const record of hashFiles(positionals, {
    profile: profile as PdqProfile,
    dihedral: values.dihedral === true,
    jobs,
    limits: maxPixels === undefined ? undefined : { maxPixels },
    video,
  })) {
    if (isErrorRecord(record)) errors++;
    if ('vpdq' in record && format !== 'table') {
      await writer.add({ ...record, vpdq: formatFrames(record.vpdq, vpdqFormat) } as unknown as HashRecord);
      continue;
    }
    await writer.add(record);
  }
  await writer.end();
  return errors > 0 ? EXIT.ITEM_ERRORS : EXIT.OK;
}

function tableRow(r: HashRecord): string {
  if (isErrorRecord(r)) return `ERROR    ${r.error.code}: ${r.error.message}  ${r.path}`;
  if ('vpdq' in r) return videoRow(r);
  const weak = r.quality < 50 ? '*' : ' ';
  const lines = [
    `${String(r.quality).padStart(3)}${weak}     ${r.pdq}  ${`${r.width}x${r.height}`.padEnd(10)}  ${r.path}`,
  ];
  if (r.pdqDihedral) lines.push(...r.pdqDihedral.map((h, i) => `         ${h}  (dihedral ${i})`));
  return lines.join('\n');
}

function videoRow(r: VideoHashes): string {
  const good = r.vpdq.filter((f) => f.quality >= VPDQ_QUALITY_THRESHOLD).length;
  const notes = [
    `vpdq ${r.vpdq.length} frames (${good} of quality ≥ ${VPDQ_QUALITY_THRESHOLD})`,
    `${Number(r.fps.toFixed(3))} fps`,
    ...(r.durationSeconds !== undefined ? [`${r.durationSeconds.toFixed(1)} s`] : []),
    ...(r.truncated ? [`truncated (${r.truncated})`] : []),
    ...(r.damaged ? ['damaged'] : []),
  ];
  return `VIDEO    ${notes.join(', ').padEnd(64)}  ${`${r.width}x${r.height}`.padEnd(10)}  ${r.path}`;
}
