/**
 * @module cli/commands/match
 * `ward match`: hash files (or read hashes) and match them against banks.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { WardError } from '../../errors.js';
import { Matcher, type MatchResult, type MatchSignals, signalsOf } from '../../match/matcher.js';
import { hashFiles, isErrorRecord } from '../../scan/hash-files.js';
import { getSignalType } from '../../signals/builtin.js';
import type { SignalType } from '../../signals/types.js';
import { defaultDbPath, SqliteStore } from '../../store/sqlite.js';
import { number as percentFlag, VIDEO_FLAGS, VIDEO_USAGE, videoOptions } from '../../video/cli-options.js';
import { looksCompact, parseVpdq, toCompact } from '../../video/vpdq.js';
import { parseCommandArgs, positiveInt } from '../args.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { parseFormat, RecordWriter } from '../output.js';

export const MATCH_USAGE = `Usage: ward match [options] <file|dir>...
       ward match [options] --hashes FILE

Matches images and videos (hashed on the fly) or given hashes against banks.
  --bank NAME          match against this bank (repeatable; default: all banks)
  --distance N         PDQ distance for every bank (default: each bank's own, 31 unless set)
  --dihedral           also match the 8 rotations/flips of each image (reports the transform)
  --include-weak       match PDQ hashes with quality < 50 too (skipped by default)
  --vpdq-query-percent P     a video matches when at least P% of its frames (quality >= 50)
                             match a frame of the bank video (default 80)...
  --vpdq-compared-percent P  ...and at least P% of the bank video's frames match (default 0)
  --hashes FILE        lines of hex (32 = md5, 40 = sha1, 64 = pdq), vPDQ values, or NDJSON
                       with a "pdq" (or md5/sha1/sha256/vpdq) field, as ward hash writes; - for stdin
  --format table|ndjson|json
  --jobs N             hashing threads (default: all cores)
  --db PATH            database (default: $WARD_DB, else ~/.local/share/ward/ward.db)

${VIDEO_USAGE}

Exit status: 0 no match, 1 something matched, 2 only errors, 3 usage error.`;

interface MatchRecord {
  path?: string;
  hash?: string;
  /** As matched; a video's vpdq frames in Ward's compact form. */
  signals: Omit<MatchSignals, 'vpdq'> & { vpdq?: string };
  matches: MatchResult['matches'];
  suppressedBy: MatchResult['suppressedBy'];
  suppressed?: MatchResult['suppressed'];
  skipped?: string[];
}

type OutRecord =
  | MatchRecord
  | { path?: string; hash?: string; line?: number; error: { code: string; message: string } };

export async function matchCommand(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    db: { type: 'string' },
    bank: { type: 'string', multiple: true },
    distance: { type: 'string' },
    dihedral: { type: 'boolean' },
    'include-weak': { type: 'boolean' },
    hashes: { type: 'string' },
    format: { type: 'string' },
    jobs: { type: 'string' },
    'vpdq-query-percent': { type: 'string' },
    'vpdq-compared-percent': { type: 'string' },
    ...VIDEO_FLAGS,
  });
  const hashesFile = values.hashes as string | undefined;
  if (!hashesFile && positionals.length === 0)
    throw new WardError('WARD_ERR_USAGE', 'ward match needs files, directories or --hashes FILE');
  if (hashesFile && positionals.length > 0)
    throw new WardError('WARD_ERR_USAGE', 'Give either files or --hashes, not both');
  let distance: number | undefined;
  if (values.distance !== undefined) {
    const d = values.distance as string;
    if (!/^\d+$/.test(d) || Number(d) > 256)
      throw new WardError(
        'WARD_ERR_USAGE',
        `Expected a distance 0-256 for \`--distance\` but received ${JSON.stringify(d)}`,
      );
    distance = Number(d);
  }
  const jobs = values.jobs === undefined ? undefined : positiveInt('--jobs', values.jobs as string);
  const format = parseFormat(values.format as string | undefined, ctx.stdoutIsTTY);
  const store = SqliteStore.open((values.db as string | undefined) ?? defaultDbPath());
  try {
    const matcher = Matcher.open(store, { banks: values.bank as string[] | undefined });
    const video = videoOptions(values);
    const options = {
      distance,
      dihedral: values.dihedral === true,
      includeWeak: values['include-weak'] === true,
      ...(typeof values['vpdq-query-percent'] === 'string'
        ? { vpdqQueryPercent: percentFlag('--vpdq-query-percent', values['vpdq-query-percent'], 0, 100, false) }
        : {}),
      ...(typeof values['vpdq-compared-percent'] === 'string'
        ? {
            vpdqComparedPercent: percentFlag('--vpdq-compared-percent', values['vpdq-compared-percent'], 0, 100, false),
          }
        : {}),
    };
    const writer = new RecordWriter<OutRecord>(ctx.stdout, format, tableRow);
    let matched = 0;
    let errors = 0;
    const emit = async (record: OutRecord): Promise<void> => {
      if ('error' in record) errors++;
      else if (record.matches.length > 0) matched++;
      await writer.add(record);
    };
    const result = (label: { path?: string; hash?: string }, signals: MatchSignals): MatchRecord => {
      const r = matcher.match(signals, options);
      const { pdqDihedral: _d, vpdq, ...rest } = signals;
      return {
        ...label,
        signals: vpdq
          ? { ...rest, vpdq: toCompact(vpdq as { pdq: string; quality: number; seconds: number }[]) }
          : rest,
        matches: r.matches,
        suppressedBy: r.suppressedBy,
        ...(r.suppressed.length > 0 ? { suppressed: r.suppressed } : {}),
        ...(r.skipped.length > 0 ? { skipped: r.skipped } : {}),
      };
    };
    if (hashesFile) {
      for await (const item of readHashes(hashesFile)) {
        if ('error' in item) await emit(item);
        else await emit(result({ hash: item.hash }, item.signals));
      }
    } else {
      for await (const h of hashFiles(positionals, { dihedral: options.dihedral, jobs, video })) {
        if (isErrorRecord(h)) await emit(h);
        else if ('vpdq' in h)
          await emit(result({ path: h.path }, { vpdq: h.vpdq, md5: h.md5, sha1: h.sha1, sha256: h.sha256 }));
        else await emit(result({ path: h.path }, signalsOf(h)));
      }
    }
    await writer.end();
    if (matched > 0) return EXIT.FOUND;
    return errors > 0 ? EXIT.ITEM_ERRORS : EXIT.OK;
  } finally {
    store.close();
  }
}

const BY_LENGTH: Record<number, keyof MatchSignals> = { 32: 'md5', 40: 'sha1', 64: 'pdq' };

/** Lines of hex, or NDJSON objects with pdq/md5/sha1/sha256 fields. Bad lines are error records. */
async function* readHashes(
  file: string,
): AsyncGenerator<{ hash: string; signals: MatchSignals } | Extract<OutRecord, { error: unknown }>> {
  const input = file === '-' ? process.stdin : createReadStream(file);
  let line = 0;
  try {
    for await (const raw of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
      line++;
      const text = raw.trim();
      if (text === '' || text.startsWith('#')) continue;
      const bad = (message: string): Extract<OutRecord, { error: unknown }> => ({
        line,
        error: { code: 'WARD_ERR_SIGNAL_INVALID', message },
      });
      if (text.startsWith('{')) {
        let obj: Record<string, unknown>;
        try {
          obj = JSON.parse(text);
        } catch {
          yield bad('Not valid JSON');
          continue;
        }
        const signals: MatchSignals = {};
        let problem: string | undefined;
        for (const k of ['pdq', 'md5', 'sha1', 'sha256'] as const) {
          if (obj === null || typeof obj !== 'object' || obj[k] === undefined) continue;
          try {
            signals[k] = (getSignalType(k) as SignalType).parse(obj[k] as string);
          } catch (e) {
            problem = WardError.is(e) ? `${k}: ${e.message}` : `${k}: not a hash`;
          }
        }
        if (obj !== null && typeof obj === 'object' && typeof obj.quality === 'number') signals.quality = obj.quality;
        if (obj !== null && typeof obj === 'object' && obj.vpdq !== undefined) {
          try {
            signals.vpdq = parseVpdq(obj.vpdq as string);
          } catch (e) {
            problem = WardError.is(e) ? `vpdq: ${e.message}` : 'vpdq: not a frame list';
          }
        }
        const first =
          signals.pdq ??
          signals.md5 ??
          signals.sha1 ??
          signals.sha256 ??
          (signals.vpdq ? `vpdq (${signals.vpdq.length} frames)` : undefined);
        if (problem || !first) {
          yield bad(problem ?? 'Expected a pdq, md5, sha1, sha256 or vpdq field');
          continue;
        }
        yield { hash: first, signals };
        continue;
      }
      if (looksCompact(text) || text.startsWith('[')) {
        try {
          const frames = parseVpdq(text);
          yield { hash: `vpdq (${frames.length} frames)`, signals: { vpdq: frames } };
        } catch (e) {
          yield bad(WardError.is(e) ? `vpdq: ${e.message}` : 'vpdq: not a frame list');
        }
        continue;
      }
      const hex = text.toLowerCase();
      const signal = BY_LENGTH[hex.length];
      if (!signal || !/^[0-9a-f]+$/.test(hex)) {
        yield bad('Expected 32, 40 or 64 hex characters');
        continue;
      }
      yield { hash: hex, signals: { [signal]: hex } };
    }
  } catch (cause) {
    throw new WardError('WARD_ERR_INPUT_NOT_FOUND', `Cannot read ${JSON.stringify(file)}`, { path: file }, cause);
  }
}

function tableRow(r: OutRecord): string {
  const label = r.path ?? r.hash ?? `line ${'line' in r ? r.line : '?'}`;
  if ('error' in r) return `ERROR    ${r.error.code}: ${r.error.message}  ${label}`;
  if (r.matches.length === 0) {
    const note =
      r.suppressedBy.length > 0
        ? `suppressed by ${r.suppressedBy.map((m) => m.bank).join(', ')}`
        : (r.skipped?.join('; ') ?? '');
    return `-        ${label}${note ? `  (${note})` : ''}`;
  }
  const best = r.matches[0] as MatchResult['matches'][number];
  const percents =
    best.queryMatchPercent !== undefined
      ? ` query ${best.queryMatchPercent.toFixed(1)}% compared ${(best.comparedMatchPercent ?? 0).toFixed(1)}%`
      : '';
  return `MATCH    ${label}  ${best.bank}:${best.signal} d=${best.distance}${percents}${best.transform ? ` ${best.transform}` : ''}${r.matches.length > 1 ? ` (+${r.matches.length - 1})` : ''}`;
}
