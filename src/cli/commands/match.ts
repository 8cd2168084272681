/**
 * @module cli/commands/match
 * `ward match`: hash files (or read hashes) and match them against banks.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { WardError } from '../../errors.js';
import { type MatchResult, type MatchSignals, signalsOf } from '../../match/matcher.js';
import { StoreMatcher } from '../../match/store-matcher.js';
import { activeRegistry, usePlugins } from '../../registry.js';
import { hashFiles, isErrorRecord } from '../../scan/hash-files.js';
import type { SignalType } from '../../signals/types.js';
import { openServiceStore } from '../../store/open.js';
import { number as percentFlag, VIDEO_FLAGS, VIDEO_USAGE, videoOptions } from '../../video/cli-options.js';
import { looksCompact, parseVpdq, toCompact, type VpdqFrame } from '../../video/vpdq.js';
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
  --hashes FILE        lines of hex (32 = md5, 40 = sha1, 64 = pdq and the 64-hex exact types),
                       signal:value (autov2:…, tensorfp:…), vPDQ values, or NDJSON with fields
                       named by signal types (plus quality, pdqDihedral), as ward hash writes;
                       - for stdin
  --format table|ndjson|json
  --jobs N             hashing threads (default: all cores)
  --db PATH|URL        database: SQLite file or postgres:// URL (default: $DATABASE_URL, else
                       $WARD_DB, else ~/.local/share/ward/ward.db); never created by ward match
  --plugin MODULE      load a plugin (signal types, extractors...; repeatable)

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
    plugin: { type: 'string', multiple: true },
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
  await usePlugins((values.plugin as string[] | undefined) ?? []);
  const store = await openServiceStore({ db: values.db as string | undefined, create: false });
  try {
    const matcher = await StoreMatcher.open(store, { banks: values.bank as string[] | undefined });
    if (matcher.banks.length === 0) ctx.stderr.write('ward: warning: the database has no banks: nothing can match\n');
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
    const result = async (
      label: { path?: string; hash?: string },
      signals: MatchSignals,
      query: MatchSignals = signals,
    ): Promise<MatchRecord> => {
      const r = await matcher.match(query, options);
      const { pdqDihedral: _d, vpdq, ...rest } = signals;
      return {
        ...label,
        signals:
          vpdq === undefined
            ? rest
            : { ...rest, vpdq: typeof vpdq === 'string' ? vpdq : toCompact(vpdq as VpdqFrame[]) },
        matches: r.matches,
        suppressedBy: r.suppressedBy,
        ...(r.suppressed.length > 0 ? { suppressed: r.suppressed } : {}),
        ...(r.skipped.length > 0 ? { skipped: r.skipped } : {}),
      };
    };
    if (hashesFile) {
      for await (const item of readHashes(hashesFile)) {
        if ('error' in item) await emit(item);
        else await emit(await result({ hash: item.hash }, item.signals, item.query));
      }
    } else {
      for await (const h of hashFiles(positionals, { dihedral: options.dihedral, jobs, video })) {
        if (isErrorRecord(h)) await emit(h);
        else if ('vpdq' in h)
          await emit(await result({ path: h.path }, { vpdq: h.vpdq, md5: h.md5, sha1: h.sha1, sha256: h.sha256 }));
        else await emit(await result({ path: h.path }, signalsOf(h)));
      }
    }
    await writer.end();
    if (matched > 0) return EXIT.FOUND;
    return errors > 0 ? EXIT.ITEM_ERRORS : EXIT.OK;
  } finally {
    await store.close();
  }
}

/**
 * Lines of hashes, as ward hash writes them (NDJSON: every field that names a signal type, plus
 * `quality` and `pdqDihedral`), or one value a line: `signal:value`, a vPDQ frame list, or bare
 * hex, queried as every signal type that claims it (64 hex: pdq and the 64-hex exact types).
 * Bad lines are error records.
 */
async function* readHashes(
  file: string,
): AsyncGenerator<
  { hash: string; signals: MatchSignals; query: MatchSignals } | Extract<OutRecord, { error: unknown }>
> {
  const registry = activeRegistry();
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
        if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
          yield bad('Expected a JSON object');
          continue;
        }
        const signals: MatchSignals = {};
        let problem: string | undefined;
        let first: string | undefined;
        for (const [k, v] of Object.entries(obj)) {
          const type = registry.signalType(k);
          if (!type || v === undefined || v === null) continue;
          try {
            signals[k] = k === 'vpdq' ? toCompact(parseVpdq(v as string)) : type.parse(v as string);
            first ??=
              k === 'vpdq' ? `vpdq (${parseVpdq(signals.vpdq as string).length} frames)` : (signals[k] as string);
          } catch (e) {
            problem = WardError.is(e) ? `${k}: ${e.message}` : `${k}: not a valid value`;
          }
        }
        if (typeof obj.quality === 'number') signals.quality = obj.quality;
        if (Array.isArray(obj.pdqDihedral) && obj.pdqDihedral.every((h) => typeof h === 'string'))
          signals.pdqDihedral = obj.pdqDihedral as string[];
        if (problem || first === undefined) {
          yield bad(problem ?? `Expected a field naming a signal type (${registry.signalNames().join(', ')})`);
          continue;
        }
        yield { hash: first, signals, query: signals };
        continue;
      }
      const typed = /^([a-z][a-z0-9_-]*):(.+)$/.exec(text);
      if (typed && registry.signalType(typed[1] as string)) {
        const name = typed[1] as string;
        try {
          const value = (registry.signalType(name) as SignalType).parse(typed[2] as string);
          yield { hash: value, signals: { [name]: value }, query: { [name]: value } };
        } catch (e) {
          yield bad(WardError.is(e) ? `${name}: ${e.message}` : `${name}: not a valid value`);
        }
        continue;
      }
      if (looksCompact(text) || text.startsWith('[')) {
        try {
          const frames = parseVpdq(text);
          const vpdq = toCompact(frames);
          yield { hash: `vpdq (${frames.length} frames)`, signals: { vpdq }, query: { vpdq } };
        } catch (e) {
          yield bad(WardError.is(e) ? `vpdq: ${e.message}` : 'vpdq: not a frame list');
        }
        continue;
      }
      const candidates = registry.candidates(text);
      if (candidates.length === 0) {
        yield bad('Expected 32, 40 or 64 hex characters, a vPDQ frame list, or signal:value (e.g. autov2:…)');
        continue;
      }
      const query: MatchSignals = {};
      for (const t of candidates) query[t.name] = t.parse(text);
      const first = candidates[0] as SignalType;
      yield { hash: query[first.name] as string, signals: { [first.name]: query[first.name] }, query };
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
