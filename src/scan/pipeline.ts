/**
 * @module scan/pipeline
 * The scan pipeline: input → items (walk, sniff, archives) → worker threads (digests and the
 * content type's extractors) → bank matches (negative banks suppress) → policy → verdict.
 * Reports come out in input order, one per item; nothing of the content is kept.
 */
import { availableParallelism } from 'node:os';
import { invalidParameter } from '../errors.js';
import type { Matcher, MatchHit, MatchSignals } from '../match/matcher.js';
import { builtFile } from '../runtime-paths.js';
import { DEFAULT_SCAN_CONFIG, type ScanConfig } from './config.js';
import { type ExtractContext, prefetch, runTask, type ScanTask, type TaskResult } from './extract.js';
import { type ContainerEnd, expandInputs, type SourceItem } from './items.js';
import { decide } from './policy.js';
import { InProcessRunner, type TaskRunner, WorkerPool } from './pool.js';
import type { ItemReport, ItemSignals } from './types.js';

export interface ScanOptions {
  /** Resolved configuration (scan/config); default: DEFAULT_SCAN_CONFIG. */
  config?: ScanConfig;
  /** Worker threads (default: all cores); 1 runs everything in this thread. */
  jobs?: number;
  /** Banks to match against; without one, nothing matches. */
  matcher?: Matcher;
  /** Items already reported (a resumed scan): skipped. */
  skipItem?: (key: string) => boolean;
  /** Archives already fully reported: not opened. */
  skipContainer?: (key: string) => boolean;
  /** Called when the last entry of an archive has been yielded. */
  onContainerEnd?: (key: string) => void;
}

type Slot = { item: SourceItem; result?: Promise<TaskResult>; bytes: number } | ContainerEnd;

/**
 * Scans files, directories and archives; yields one report per item, in input order.
 * @example for await (const r of scan(['uploads/'], { matcher })) if (r.verdict !== 'clean') console.log(r);
 */
export async function* scan(
  inputs: Iterable<string> | AsyncIterable<string>,
  options: ScanOptions = {},
): AsyncGenerator<ItemReport> {
  const config = options.config ?? DEFAULT_SCAN_CONFIG;
  const jobs = options.jobs ?? availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 1) throw invalidParameter('jobs', 'a positive integer', jobs);
  const ctx: ExtractContext = { limits: config.limits, options: { dihedral: config.match.dihedral } };
  const source = expandInputs(inputs, {
    limits: config.limits,
    skipItem: options.skipItem,
    skipContainer: options.skipContainer,
  });
  const windowSize = jobs * 4;
  // Look ahead before starting threads: they cost ~100 ms each, more than a small scan.
  const ahead: (SourceItem | ContainerEnd)[] = [];
  let more = true;
  while (more && ahead.length < windowSize) {
    const r = await source.next();
    if (r.done) more = false;
    else ahead.push(r.value);
  }
  const tasks = ahead.filter((s) => s.kind === 'item' && !s.done).length;
  const runner: TaskRunner<ScanTask, TaskResult> =
    jobs === 1 || (!more && tasks < 2)
      ? inProcess(ctx)
      : new WorkerPool(builtFile(import.meta.url, './scan-worker.js'), ctx, more ? jobs : Math.min(jobs, tasks));
  const window: Slot[] = [];
  let bytesInFlight = 0;
  const start = (s: SourceItem | ContainerEnd): Slot => {
    if (s.kind === 'container-end' || s.done) return s.kind === 'item' ? { item: s, bytes: 0 } : s;
    const task: ScanTask = {
      name: s.archivePath ?? s.path,
      contentType: s.contentType,
      format: s.format,
      size: s.size ?? 0,
      ...(s.bytes ? { bytes: s.bytes } : { path: s.path }),
    };
    const bytes = s.bytes?.length ?? 0;
    bytesInFlight += bytes;
    const transfer = s.bytes && runner instanceof WorkerPool ? [ownBuffer(s, task)] : undefined;
    const result = runner.run(task, transfer);
    result.catch(() => {}); // awaited in order below
    s.bytes = undefined; // the worker has them (or this thread's task does)
    return { item: s, result, bytes };
  };
  try {
    for (const s of ahead) window.push(start(s));
    ahead.length = 0;
    while (more || window.length > 0) {
      while (more && window.length < windowSize && bytesInFlight <= config.limits.maxBytesInFlight) {
        const r = await source.next();
        if (r.done) more = false;
        else window.push(start(r.value));
      }
      const head = window.shift();
      if (!head) continue;
      if ('kind' in head) {
        options.onContainerEnd?.(head.key);
        continue;
      }
      const result = head.result ? await head.result : undefined;
      bytesInFlight -= head.bytes;
      yield toReport(head.item, result, config, options.matcher);
    }
  } finally {
    await source.return(undefined);
    await runner.close();
  }
}

/** A task's bytes as a transferable buffer of their own (copied when they share one). */
function ownBuffer(s: SourceItem, task: ScanTask): ArrayBuffer {
  const b = s.bytes as Uint8Array;
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
  const copy = new Uint8Array(b);
  task.bytes = copy;
  return copy.buffer;
}

/** One task at a time, the next file read while this one computes (a fair `--jobs 1`). */
function inProcess(ctx: ExtractContext): TaskRunner<ScanTask, TaskResult> {
  let chain: Promise<unknown> = Promise.resolve();
  return new InProcessRunner((task: ScanTask) => {
    const started = prefetch(task, ctx);
    const run = chain.then(() => runTask(task, ctx, started));
    chain = run.catch(() => {});
    return run;
  });
}

const MATCHED_SIGNALS = ['pdq', 'md5', 'sha1', 'sha256'] as const;

function toReport(
  item: SourceItem,
  result: TaskResult | undefined,
  config: ScanConfig,
  matcher: Matcher | undefined,
): ItemReport {
  const all: ItemSignals = { ...item.digests, ...result?.signals };
  const { pdqDihedral, ...signals } = all;
  const findings = [...item.findings, ...(result?.findings ?? [])];
  const error = item.error ?? result?.error;
  let weak: string | undefined;
  const query: MatchSignals = {};
  for (const k of MATCHED_SIGNALS) if (typeof signals[k] === 'string') query[k] = signals[k] as string;
  if (query.pdq !== undefined) {
    const quality = typeof signals.quality === 'number' ? signals.quality : 100;
    if (quality < config.match.minQuality) {
      weak = `PDQ quality ${quality} is below ${config.match.minQuality}: too weak to match`;
      query.pdq = undefined;
    } else {
      query.quality = quality;
      if (Array.isArray(pdqDihedral)) query.pdqDihedral = pdqDihedral;
    }
  }
  let matches: MatchHit[] = [];
  let suppressedBy: MatchHit[] = [];
  if (matcher && Object.values(query).some((v) => v !== undefined)) {
    const r = matcher.match(query, {
      dihedral: config.match.dihedral,
      includeWeak: true, // the quality gate is the configuration's, above
      ...(config.match.distance !== null ? { distance: config.match.distance } : {}),
    });
    matches = r.matches;
    suppressedBy = r.suppressedBy;
  }
  let unsupported: string | undefined;
  if (item.size === 0) unsupported = 'Empty file';
  else if (result && result.extractors === 0 && item.contentType !== 'archive')
    unsupported =
      result.unsupported ??
      (item.contentType === 'other'
        ? 'Content type not recognised'
        : `No extractor for ${item.contentType} content yet`);
  const decision = decide({ matches, suppressedBy, findings, error, weak, unsupported }, config.policy);
  return {
    path: item.path,
    ...(item.archivePath !== undefined ? { archivePath: item.archivePath } : {}),
    contentType: item.contentType,
    ...(item.format !== undefined ? { format: item.format } : {}),
    ...(item.size !== undefined ? { size: item.size } : {}),
    verdict: decision.verdict,
    signals,
    matches,
    ...(suppressedBy.length > 0 ? { suppressedBy } : {}),
    findings,
    reasons: decision.reasons,
    ...(decision.score !== undefined ? { score: decision.score } : {}),
    ...(result?.media ? { media: result.media } : {}),
    ...(error ? { error } : {}),
  };
}
