/**
 * @module scan/pipeline
 * The scan pipeline: input → items (walk, sniff, archives) → worker threads (digests and the
 * content type's extractors) → bank matches (negative banks suppress) → policy → verdict.
 * Reports come out in input order, one per item; nothing of the content is kept.
 */
import { availableParallelism } from 'node:os';
import { invalidParameter } from '../errors.js';
import {
  EXACT_SIGNALS,
  type MatchHit,
  type MatchOptions,
  type MatchResult,
  type MatchSignals,
} from '../match/matcher.js';
import { applyResourceMatches, matchResourceHashes } from '../provenance/resource-match.js';
import { builtFile } from '../runtime-paths.js';
import { parseVpdq, VPDQ_QUALITY_THRESHOLD } from '../video/vpdq.js';
import { DEFAULT_SCAN_CONFIG, type ScanConfig } from './config.js';
import { type ExtractContext, prefetch, runTask, type ScanTask, type TaskResult } from './extract.js';
import { type ContainerEnd, expandBytes, expandInputs, type SourceItem } from './items.js';
import { decide } from './policy.js';
import { InProcessRunner, type TaskRunner, WorkerPool } from './pool.js';
import type { ItemReport, ItemSignals } from './types.js';

/** What the pipeline needs of a matcher (`Matcher`; the service's answers asynchronously). */
export interface ItemMatcher {
  match(signals: MatchSignals, options?: MatchOptions): MatchResult | Promise<MatchResult>;
}

export interface ScanOptions {
  /** Resolved configuration (scan/config); default: DEFAULT_SCAN_CONFIG. */
  config?: ScanConfig;
  /** Worker threads (default: all cores); 1 runs everything in this thread. */
  jobs?: number;
  /** Banks to match against; without one, nothing matches. */
  matcher?: ItemMatcher;
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
  const ctx: ExtractContext = scanContext(config);
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
      yield await toReport(head.item, result, config, options.matcher);
    }
  } finally {
    await source.return(undefined);
    await runner.close();
  }
}

export interface ScanBytesOptions {
  config?: ScanConfig;
  matcher?: ItemMatcher;
  /** Runs the tasks (a long-lived pool from createScanRunner); default: in this thread. */
  runner?: TaskRunner<ScanTask, TaskResult>;
  /** Keep each item's bytes beside its report (the service's evidence store); default false. */
  keepBytes?: boolean;
}

/** A report and, with keepBytes, the item's bytes. */
export interface ScannedItem {
  report: ItemReport;
  bytes?: Uint8Array;
}

/**
 * Scans one input held in memory (an upload): the same items, reports and verdicts as `scan()`
 * gives for the same bytes in a file (`name` stands for the path). Nothing touches the disk.
 */
export async function* scanBytes(
  name: string,
  bytes: Uint8Array,
  options: ScanBytesOptions = {},
): AsyncGenerator<ScannedItem> {
  const config = options.config ?? DEFAULT_SCAN_CONFIG;
  const runner = options.runner ?? inProcess(scanContext(config));
  const pooled = runner instanceof WorkerPool;
  const window: { item: SourceItem; bytes?: Uint8Array; result?: Promise<TaskResult> }[] = [];
  const source = expandBytes(name, bytes, { limits: config.limits });
  const start = (s: SourceItem): (typeof window)[number] => {
    if (s.done || !s.bytes) {
      const kept = options.keepBytes ? s.bytes : undefined;
      s.bytes = undefined;
      return { item: s, ...(kept ? { bytes: kept } : {}) };
    }
    const task: ScanTask = {
      name: s.archivePath ?? s.path,
      contentType: s.contentType,
      format: s.format,
      size: s.size ?? 0,
      bytes: s.bytes,
    };
    // Kept bytes are copied to a worker (structured clone) instead of moved.
    const transfer = pooled && !options.keepBytes ? [ownBuffer(s, task)] : undefined;
    const result = runner.run(task, transfer);
    result.catch(() => {});
    const kept = options.keepBytes ? s.bytes : undefined;
    s.bytes = undefined;
    return { item: s, result, ...(kept ? { bytes: kept } : {}) };
  };
  try {
    let more = true;
    while (more || window.length > 0) {
      while (more && window.length < 8) {
        const r = await source.next();
        if (r.done) more = false;
        else if (r.value.kind === 'item') window.push(start(r.value));
      }
      const head = window.shift();
      if (!head) continue;
      const result = head.result ? await head.result : undefined;
      const report = await toReport(head.item, result, config, options.matcher);
      yield head.bytes ? { report, bytes: head.bytes } : { report };
    }
  } finally {
    await source.return(undefined);
    if (!options.runner) await runner.close();
  }
}

function scanContext(config: ScanConfig): ExtractContext {
  const { secondsPerHash, downsample } = config.match.vpdq;
  return {
    limits: config.limits,
    options: {
      dihedral: config.match.dihedral,
      provenancePixels: config.extract.provenancePixels,
      redactPrompts: config.extract.redactPrompts,
      ...(config.classifiers ? { classifiers: config.classifiers } : {}),
      video: { secondsPerHash, downsample, ...config.limits.video },
    },
  };
}

/**
 * A long-lived task runner for scanBytes: `jobs` worker threads (1: this thread). Close it when
 * done.
 */
export function createScanRunner(config: ScanConfig = DEFAULT_SCAN_CONFIG, jobs = 1): TaskRunner<ScanTask, TaskResult> {
  if (!Number.isInteger(jobs) || jobs < 1) throw invalidParameter('jobs', 'a positive integer', jobs);
  const ctx = scanContext(config);
  return jobs === 1 ? inProcess(ctx) : new WorkerPool(builtFile(import.meta.url, './scan-worker.js'), ctx, jobs);
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

/** PDQ and every exact signal type the matcher knows (file digests, model identity hashes). */
const MATCHED_SIGNALS = ['pdq', ...EXACT_SIGNALS] as const;

async function toReport(
  item: SourceItem,
  result: TaskResult | undefined,
  config: ScanConfig,
  matcher: ItemMatcher | undefined,
): Promise<ItemReport> {
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
  if (typeof signals.vpdq === 'string') {
    query.vpdq = parseVpdq(signals.vpdq);
    if (!query.vpdq.some((f) => f.quality >= VPDQ_QUALITY_THRESHOLD)) {
      weak = `No vPDQ frame has quality ${VPDQ_QUALITY_THRESHOLD} or more: too weak to match`;
      query.vpdq = undefined;
    }
  }
  let matches: MatchHit[] = [];
  let suppressedBy: MatchHit[] = [];
  if (matcher && Object.values(query).some((v) => v !== undefined)) {
    const r = await matcher.match(query, {
      dihedral: config.match.dihedral,
      vpdqQueryPercent: config.match.vpdq.queryMatchPercent,
      vpdqComparedPercent: config.match.vpdq.comparedMatchPercent,
      includeWeak: true, // the quality gate is the configuration's, above
      ...(config.match.distance !== null ? { distance: config.match.distance } : {}),
    });
    matches = r.matches;
    suppressedBy = r.suppressedBy;
  }
  // Models named in the item's metadata (provenance): a bank match makes it `flag` (resource-match).
  let resourceHits: MatchHit[] = [];
  if (matcher && Array.isArray(signals.resourceHashes)) {
    const r = await matchResourceHashes(matcher, signals.resourceHashes);
    resourceHits = r.matches;
    suppressedBy = [...suppressedBy, ...r.suppressedBy];
  }
  let unsupported: string | undefined;
  if (item.size === 0) unsupported = 'Empty file';
  else if (result && result.extractors === 0 && item.contentType !== 'archive')
    unsupported =
      result.unsupported ??
      (item.contentType === 'other'
        ? 'Content type not recognised'
        : `No extractor for ${item.contentType} content yet`);
  const decision = applyResourceMatches(
    decide({ matches, suppressedBy, findings, error, weak, unsupported }, config.policy),
    resourceHits,
    config.policy,
  );
  return {
    path: item.path,
    ...(item.archivePath !== undefined ? { archivePath: item.archivePath } : {}),
    contentType: item.contentType,
    ...(item.format !== undefined ? { format: item.format } : {}),
    ...(item.size !== undefined ? { size: item.size } : {}),
    verdict: decision.verdict,
    signals,
    matches: [...matches, ...resourceHits],
    ...(suppressedBy.length > 0 ? { suppressedBy } : {}),
    findings,
    reasons: decision.reasons,
    ...(decision.score !== undefined ? { score: decision.score } : {}),
    ...(result?.media ? { media: result.media } : {}),
    ...(error ? { error } : {}),
  };
}
