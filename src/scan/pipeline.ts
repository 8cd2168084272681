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
import { DEFAULT_SCAN_CONFIG, type ScanConfig } from './config.js';
import type { ExtractContext, ScanTask, TaskResult } from './extract.js';
import { type ContainerEnd, expandBytes, expandInputs, type SourceItem } from './items.js';
import { decide } from './policy.js';
import { type TaskRunner, WorkerPool } from './pool.js';
import type { ContentType, ItemReport, ItemSignals } from './types.js';
import { inProcessRunner, readAhead, runnerFor, type Slot, TASKS_PER_JOB, windowed, workerRunner } from './window.js';

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
  const count = jobs * TASKS_PER_JOB;
  // Look ahead before starting threads: they cost more to start than a small scan takes.
  const { ahead, more } = await readAhead(source, count);
  const tasks = ahead.filter((s) => s.kind === 'item' && !s.done).length;
  if (jobs > 1 && (more || tasks >= 2)) refuseRuntimeRegistrations(registry);
  const runner = runnerFor(ctx, jobs, tasks, more);
  const start = scanSlot(runner as ScanRunner, runner instanceof WorkerPool, false);
  try {
    for await (const { item, result } of windowed(
      source,
      start,
      { count, bytes: config.limits.maxBytesInFlight },
      ahead,
      more,
    )) {
      if (item.kind === 'container-end') options.onContainerEnd?.(item.key);
      else yield await toReport(item, result, config, options.matcher);
    }
  } finally {
    await source.return(undefined);
    await runner.close();
  }
}

type ScanRunner = TaskRunner<ScanTask, TaskResult>;

/** An item's scan task, as the runners take it. */
function scanTask(s: SourceItem): ScanTask {
  return {
    name: s.archivePath ?? s.path,
    contentType: s.contentType,
    format: s.format,
    size: s.size ?? 0,
    ...(s.bytes ? { bytes: s.bytes } : { path: s.path }),
  };
}

/**
 * Starts an item's task (none for container ends and items with nothing to do). Bytes go to a
 * worker by transfer, or (keepBytes) by copy, the item keeping them; otherwise the item lets go.
 */
function scanSlot(
  runner: ScanRunner,
  pooled: boolean,
  keepBytes: boolean,
): (s: SourceItem | ContainerEnd) => Slot<SourceItem | ContainerEnd, TaskResult> {
  return (s) => {
    if (s.kind === 'container-end') return { item: s, bytes: 0 };
    if (s.done) {
      if (!keepBytes) s.bytes = undefined;
      return { item: s, bytes: 0 };
    }
    const task = scanTask(s);
    const bytes = s.bytes?.length ?? 0;
    const transfer = s.bytes && pooled && !keepBytes ? [ownBuffer(s, task)] : undefined;
    const result = runner.run(task, transfer);
    if (!keepBytes) s.bytes = undefined; // the worker has them (or this thread's task does)
    return { item: s, result, bytes };
  };
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
  const runner = options.runner ?? (inProcessRunner(scanContext(config)) as ScanRunner);
  const keep = options.keepBytes === true;
  const source = expandBytes(name, bytes, { limits: config.limits });
  const start = scanSlot(runner, runner instanceof WorkerPool, keep);
  const count = (runner instanceof WorkerPool ? runner.size : 1) * TASKS_PER_JOB;
  try {
    for await (const { item, result } of windowed(source, start, { count, bytes: config.limits.maxBytesInFlight })) {
      if (item.kind === 'container-end') continue;
      const kept = keep ? item.bytes : undefined;
      item.bytes = undefined;
      const report = await toReport(item, result, config, options.matcher);
      yield kept ? { report, bytes: kept } : { report };
    }
  } finally {
    await source.return(undefined);
    if (!options.runner) await runner.close();
  }
}

/**
 * One upload's task on the service's runner, as `/v1/hash` answers it: the upload sniffed, then
 * its digests and extractors (the same task path as `scan()` and `scanBytes()` give it).
 */
export async function hashBytes(
  name: string,
  bytes: Uint8Array,
  runner: TaskRunner<ScanTask, TaskResult>,
): Promise<{ result: TaskResult; contentType: ContentType; format?: string }> {
  // The upload's own item only (an archive's entries are not expanded: /v1/scan does that).
  const source = expandBytes(name, bytes, { limits: DEFAULT_SCAN_CONFIG.limits });
  const first = await source.next();
  await source.return(undefined);
  const { contentType, format } = first.value as SourceItem;
  const result = await runner.run({ name, contentType, format, size: bytes.length, bytes });
  return { result, contentType, ...(format !== undefined ? { format } : {}) };
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
  return (jobs === 1 ? inProcessRunner(ctx) : workerRunner(ctx, jobs)) as ScanRunner;
}

/** A task's bytes as a transferable buffer of their own (copied when they share one). */
function ownBuffer(s: SourceItem, task: ScanTask): ArrayBuffer {
  const b = s.bytes as Uint8Array;
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
  const copy = new Uint8Array(b);
  task.bytes = copy;
  return copy.buffer;
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
