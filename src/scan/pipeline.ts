/**
 * @module scan/pipeline
 * The scan pipeline: input → items (walk, sniff, archives) → worker threads (digests and the
 * content type's extractors) → bank matches (negative banks suppress) → policy → verdict.
 * Reports come out in input order, one per item; nothing of the content is kept.
 */
import { availableParallelism } from 'node:os';
import { invalidParameter, WardError } from '../errors.js';
import {
  type MatchHit,
  type MatchOptions,
  type MatchResult,
  type MatchSignals,
  planQueries,
} from '../match/matcher.js';
import { applyResourceMatches, matchResourceHashes } from '../provenance/resource-match.js';
import { activeRegistry, type Registry, usePlugins } from '../registry.js';
import { builtFile } from '../runtime-paths.js';
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
  /** Plugin modules to load (beside the configuration's `plugins`), in this thread and every worker. */
  plugins?: readonly string[];
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
  const registry = await usePlugins([...(options.plugins ?? []), ...config.plugins]);
  const ctx: ExtractContext = scanContext(config, registry);
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
  const pooled = !(jobs === 1 || (!more && tasks < 2));
  if (pooled) refuseRuntimeRegistrations(registry);
  const runner: TaskRunner<ScanTask, TaskResult> = pooled
    ? new WorkerPool(builtFile(import.meta.url, './scan-worker.js'), ctx, more ? jobs : Math.min(jobs, tasks))
    : inProcess(ctx);
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

/**
 * Extractors registered at run time (registerExtractor) exist in this thread only: a pool of
 * workers would silently not run them, so it refuses to start instead.
 */
function refuseRuntimeRegistrations(registry: Registry): void {
  const runtime = registry.runtimeRegistrations();
  if (runtime.length === 0) return;
  throw new WardError(
    'WARD_ERR_PLUGIN_INVALID',
    `${runtime.join(', ')} registered at run time cannot run on worker threads: put it in a plugin module and pass it as a plugin (--plugin, plugins:), or use jobs: 1`,
    { registrations: runtime },
  );
}

function scanContext(config: ScanConfig, registry: Registry = activeRegistry()): ExtractContext {
  const { secondsPerHash, downsample } = config.match.vpdq;
  return {
    plugins: registry.specifiers,
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
  const registry = activeRegistry();
  const ctx = scanContext(config, registry);
  if (jobs > 1) refuseRuntimeRegistrations(registry);
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
  // Every registered signal type in the item's signals is matched; its type builds the queries
  // (quality gate, dihedral forms, prefix forms). `pdqDihedral` is read, never reported.
  const query: MatchSignals = { ...signals, ...(Array.isArray(pdqDihedral) ? { pdqDihedral } : {}) };
  const options: MatchOptions = {
    dihedral: config.match.dihedral,
    minQuality: config.match.minQuality,
    vpdqQueryPercent: config.match.vpdq.queryMatchPercent,
    vpdqComparedPercent: config.match.vpdq.comparedMatchPercent,
    ...(config.match.distance !== null ? { distance: config.match.distance } : {}),
  };
  const plan = planQueries(query, options);
  const weak = plan.weak;
  let matches: MatchHit[] = [];
  let suppressedBy: MatchHit[] = [];
  if (matcher && plan.queries.length > 0) {
    const r = await matcher.match(query, options);
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
