/**
 * @module datasets/audit
 * `ward dataset audit` as a library. A dataset path is given to the reader that recognises it
 * (datasets/types), shard by shard. Each row gets a report keyed by (dataset, shard, key, row)
 * with the verdicts, matches, findings and reasons of `ward scan`:
 *
 * - what the dataset declares (MD5/SHA-1/SHA-256 columns or the sidecar hash of the original
 *   download, and the URL as `url-sha256`) is matched against the banks; **no URL is fetched**;
 * - stored image bytes go through the scan pipeline's own per-item path (`scanBytes`: digests,
 *   PDQ, provenance, the banks, the policy), exactly as `ward scan` treats a file;
 * - captions go through the text screener (findings `text.block` / `text.review`, redacted);
 * - scores (punsafe, NSFW) are carried only to order review, never to decide.
 *
 * `auditShard(reader, shard, options)` is a pure function of its inputs (a distributed job can
 * call it on one shard or one row-group range); `auditDatasets` adds detection, the checkpoint,
 * the kNN step over the dataset's own PDQ hashes and the summary.
 */
import * as nodeCrypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { invalidParameter, WardError } from '../errors.js';
import type { MatchHit, MatchSignals } from '../match/matcher.js';
import { PdqIndex } from '../match/pdq-index.js';
import { activeRegistry } from '../registry.js';
import { DEFAULT_SCAN_CONFIG, type ScanConfig } from '../scan/config.js';
import type { ScanTask, TaskResult } from '../scan/extract.js';
import { type ItemMatcher, scanBytes } from '../scan/pipeline.js';
import { decide } from '../scan/policy.js';
import type { TaskRunner } from '../scan/pool.js';
import type { Finding, ItemReport, ItemSignals, MediaInfo, Reason, Verdict } from '../scan/types.js';
import { PDQ_MATCH_DISTANCE, pdqToBytes } from '../signals/pdq/distance.js';
import { normalizeUrl, urlSha256 } from '../signals/url.js';
import { screenText, verdictFindings } from '../text/screen.js';
import { statOrThrow } from './laion.js';
import type { ColumnMap, DatasetReader, DatasetRow, DatasetShard, DetectInput } from './types.js';

/** A match, and whether it came from what the dataset declares or from the stored bytes. */
export type RowMatch = MatchHit & { source: 'declared' | 'bytes' };

/** One line of `ward dataset audit --format ndjson` for a row. */
export interface DatasetRowReport {
  kind: 'row';
  dataset: string;
  shard: string;
  key: string;
  row: number;
  reader: string;
  /** The URL the dataset gives (already in the dataset; never fetched). */
  url?: string;
  /** The stored image's name in the shard. */
  name?: string;
  format?: string;
  size?: number;
  verdict: Verdict;
  /** Signals of the stored bytes (md5, sha1, sha256, pdq, quality...) and `url-sha256`. */
  signals: ItemSignals;
  /** Hashes the dataset declares (columns, sidecars): of the original download. */
  declared?: Record<string, string>;
  /** Whether the stored bytes are the declared download (false: re-encoded or resized). */
  declaredMatchesStored?: boolean;
  matches: RowMatch[];
  suppressedBy?: MatchHit[];
  findings: Finding[];
  reasons: Reason[];
  score?: number;
  /** Dataset scores (punsafe...), to order review only. */
  scores?: Record<string, number>;
  provenance?: Record<string, string | number | boolean>;
  media?: MediaInfo;
  error?: { code: string; message: string };
}

/** A matched row's PDQ near-neighbours within the dataset (SIO's kNN step), for review. */
export interface NeighboursReport {
  kind: 'neighbours';
  dataset: string;
  shard: string;
  key: string;
  row: number;
  pdq: string;
  radius: number;
  neighbours: { shard: string; key: string; row: number; distance: number; verdict: Verdict }[];
}

export interface ShardSkip {
  shard: string;
  code: string;
  message: string;
  /** Rows reported before the damage. */
  rowsRead: number;
}

export interface DatasetSummary {
  kind: 'summary';
  dataset: string;
  reader: string;
  shards: number;
  /** Shards replayed from the checkpoint. */
  resumedShards: number;
  rows: number;
  verdicts: Record<Verdict, number>;
  /** Rows per reason (`bank-match:known`, `finding:text.block`, `error:WARD_ERR_DATASET_ROW`...). */
  reasons: Record<string, number>;
  /** Shards that could not be read (or not to the end), and why. */
  shardsSkipped: ShardSkip[];
  /** Rows listed with neighbours by the kNN step. */
  neighbourRows: number;
  seconds: number;
}

export type AuditRecord = DatasetRowReport | NeighboursReport | DatasetSummary;

export interface ShardAuditOptions {
  config?: ScanConfig;
  matcher?: ItemMatcher;
  /** Runs image tasks (createScanRunner); default: in this thread. */
  runner?: TaskRunner<ScanTask, TaskResult>;
  /** Image rows in flight at once (default 8). */
  window?: number;
  columns?: ColumnMap;
  /** Screen captions (default true). */
  screenCaptions?: boolean;
  rowStart?: number;
  rowEnd?: number;
}

/** Thrown by a shard part way: the rows before it were reported. */
function toError(cause: unknown): { code: string; message: string } {
  if (WardError.is(cause)) return { code: cause.code, message: cause.message };
  return { code: 'WARD_ERR_DATASET_SHARD', message: (cause as Error)?.message ?? String(cause) };
}

const PRECEDENCE: Verdict[] = ['match', 'flag', 'error', 'skipped', 'clean'];

// One-shot hashing (Node 20.12+) is several times cheaper per short input than createHash.
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** `url-sha256` of a dataset URL: the signal type's normalisation, hashed in one shot. */
export function rowUrlSha256(url: string): string | undefined {
  if (!oneShot) return urlSha256(url);
  const n = normalizeUrl(url);
  return n === undefined ? undefined : oneShot('sha256', n, 'hex');
}

/** Caption findings for one caption (always redacted: no terms, no matched text). */
export function captionFindings(caption: string): Finding[] {
  return verdictFindings(screenText(caption, { context: 'caption', redact: true }), 'dataset-caption');
}

function reasonKey(r: Reason): string {
  return r.ref ? `${r.rule}:${r.ref}` : r.rule;
}

/**
 * Audits one shard (or the row range of options.rowStart/rowEnd): one report per row, in order.
 * Throws WARD_ERR_DATASET_SHARD when the shard cannot be read (before or after some rows).
 */
export async function* auditShard(
  reader: DatasetReader,
  shard: DatasetShard,
  options: ShardAuditOptions = {},
): AsyncGenerator<DatasetRowReport> {
  const config = options.config ?? DEFAULT_SCAN_CONFIG;
  const screen = options.screenCaptions !== false;
  const windowSize = Math.max(1, options.window ?? 8);
  const window: { row: DatasetRow; image?: Promise<ItemReport | undefined> }[] = [];
  const rows = reader
    .rows(shard, {
      columns: options.columns,
      rowStart: options.rowStart,
      rowEnd: options.rowEnd,
      maxImageBytes: config.limits.maxFileBytes,
    })
    [Symbol.asyncIterator]();
  const startImage = (row: DatasetRow): Promise<ItemReport | undefined> => {
    const bytes = row.bytes as Uint8Array;
    row.bytes = undefined;
    const p = (async () => {
      let first: ItemReport | undefined;
      for await (const s of scanBytes(`${shard.shard}/${row.name ?? row.key}`, bytes, {
        config,
        matcher: options.matcher,
        ...(options.runner ? { runner: options.runner } : {}),
      })) {
        // An image is one item; a stored archive's entries are not dataset rows.
        first ??= s.report;
      }
      return first;
    })();
    p.catch(() => {});
    return p;
  };
  let more = true;
  let failure: unknown;
  try {
    while (more || window.length > 0) {
      while (more && window.length < windowSize) {
        let r: IteratorResult<DatasetRow>;
        try {
          r = await rows.next();
        } catch (cause) {
          // The rows already read are reported first; then the shard's error.
          failure = cause;
          more = false;
          break;
        }
        if (r.done) {
          more = false;
          break;
        }
        const row = r.value;
        if (row.bytes) {
          window.push({ row, image: startImage(row) });
        } else if (window.length === 0) {
          // Metadata-only rows: no task to wait for.
          yield await rowReport(reader, shard, row, undefined, config, options.matcher, screen);
        } else window.push({ row });
      }
      const head = window.shift();
      if (!head) continue;
      const image = head.image ? await head.image : undefined;
      yield await rowReport(reader, shard, head.row, image, config, options.matcher, screen);
    }
    if (failure !== undefined) throw failure;
  } finally {
    await rows.return?.(undefined);
    // Tasks still in flight finish on their own (their promises are observed).
  }
}

async function rowReport(
  reader: DatasetReader,
  shard: DatasetShard,
  row: DatasetRow,
  image: ItemReport | undefined,
  config: ScanConfig,
  matcher: ItemMatcher | undefined,
  screen: boolean,
): Promise<DatasetRowReport> {
  const signals: ItemSignals = image ? { ...image.signals } : {};
  const query: Record<string, string> = { ...row.declared };
  if (row.url !== undefined) {
    const h = rowUrlSha256(row.url);
    if (h !== undefined) {
      signals['url-sha256'] = h;
      query['url-sha256'] = h;
    }
  }
  let declaredMatches: RowMatch[] = [];
  let suppressedBy: MatchHit[] = [];
  if (matcher && Object.keys(query).length > 0) {
    const r = await matcher.match(query as MatchSignals, {
      ...(config.match.distance !== null ? { distance: config.match.distance } : {}),
    });
    declaredMatches = r.matches.map((m) => ({ ...m, source: 'declared' as const }));
    suppressedBy = r.suppressedBy;
  }
  const findings: Finding[] = screen && row.caption ? captionFindings(row.caption) : [];
  let rowError = row.error;
  if (image && image.contentType !== 'image' && !rowError) {
    // Sniffed by magic bytes, as ward scan does: a member named as an image that is not one.
    rowError = {
      code: 'WARD_ERR_DATASET_ROW',
      message: `the stored image ${row.name ?? row.key} is ${image.contentType} content, not an image`,
    };
  }
  if (!image && declaredMatches.length === 0 && suppressedBy.length === 0 && findings.length === 0 && !rowError) {
    // The common metadata row: nothing found, nothing to decide (decide() would say clean).
    const lean: DatasetRowReport = {
      kind: 'row',
      dataset: shard.dataset,
      shard: shard.shard,
      key: row.key,
      row: row.row,
      reader: reader.name,
    } as DatasetRowReport;
    if (row.url !== undefined) lean.url = row.url;
    if (row.name !== undefined) lean.name = row.name;
    lean.verdict = 'clean';
    lean.signals = signals;
    if (Object.keys(row.declared).length > 0) lean.declared = row.declared;
    lean.matches = [];
    lean.findings = [];
    lean.reasons = [];
    if (row.scores) lean.scores = row.scores;
    if (row.provenance) lean.provenance = row.provenance;
    return lean;
  }
  const part = decide({ matches: declaredMatches, suppressedBy, findings, error: rowError }, config.policy);
  let verdict = part.verdict;
  let reasons = part.reasons;
  let score = part.score;
  const matches: RowMatch[] = [...declaredMatches];
  const allFindings = [...findings];
  let error = rowError;
  if (image) {
    matches.push(...image.matches.map((m) => ({ ...m, source: 'bytes' as const })));
    allFindings.unshift(...image.findings);
    if (image.suppressedBy) suppressedBy = [...suppressedBy, ...image.suppressedBy];
    error ??= image.error;
    // The stronger verdict decides; reasons of both parts that say something are kept.
    const keepPart = part.verdict !== 'clean' || part.reasons.length > 0;
    if (PRECEDENCE.indexOf(image.verdict) < PRECEDENCE.indexOf(verdict) || !keepPart) verdict = image.verdict;
    reasons = keepPart ? [...image.reasons, ...part.reasons] : image.reasons;
    if (image.score !== undefined) score = Math.max(score ?? 0, image.score);
  }
  const declared = Object.keys(row.declared).length > 0 ? row.declared : undefined;
  const stored = typeof signals.sha256 === 'string' || typeof signals.md5 === 'string';
  let declaredMatchesStored: boolean | undefined;
  if (declared && stored) {
    const pairs = (['md5', 'sha1', 'sha256'] as const).filter((k) => declared[k] && typeof signals[k] === 'string');
    if (pairs.length > 0) declaredMatchesStored = pairs.every((k) => declared[k] === signals[k]);
  }
  return {
    kind: 'row',
    dataset: shard.dataset,
    shard: shard.shard,
    key: row.key,
    row: row.row,
    reader: reader.name,
    ...(row.url !== undefined ? { url: row.url } : {}),
    ...(row.name !== undefined ? { name: row.name } : {}),
    ...(image?.format !== undefined ? { format: image.format } : {}),
    ...(image?.size !== undefined ? { size: image.size } : {}),
    verdict,
    signals,
    ...(declared ? { declared } : {}),
    ...(declaredMatchesStored !== undefined ? { declaredMatchesStored } : {}),
    matches,
    ...(suppressedBy.length > 0 ? { suppressedBy } : {}),
    findings: allFindings,
    reasons,
    ...(score !== undefined ? { score } : {}),
    ...(row.scores ? { scores: row.scores } : {}),
    ...(row.provenance ? { provenance: row.provenance } : {}),
    ...(image?.media ? { media: image.media } : {}),
    ...(error ? { error } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Datasets: detection, shards, checkpoint, kNN, summary

export interface AuditCheckpoint {
  /** A finished shard's record, if it was finished with this digest. */
  finished(dataset: string, shard: string): FinishedShard | undefined;
  shardDone(record: FinishedShard): void;
}

export interface FinishedShard {
  dataset: string;
  shard: string;
  digest: string;
  /** Rows per verdict and per reason. */
  verdicts: Record<Verdict, number>;
  reasons: Record<string, number>;
  rows: number;
  /** Reports of the rows that were not clean (replayed on resume). */
  reports: DatasetRowReport[];
  /** PDQ hashes of every row (key, row, pdq, verdict), for the kNN step. */
  pdqs: [string, number, string, Verdict][];
  skip?: ShardSkip;
}

export interface AuditOptions extends Omit<ShardAuditOptions, 'rowStart' | 'rowEnd'> {
  /** Name of the reader to use (default: the one whose detect() answers highest). */
  reader?: string;
  /** PDQ radius of the kNN step (default 31; 0 or less: no kNN step). */
  knnRadius?: number;
  checkpoint?: AuditCheckpoint;
  /** Readers to choose from (default: the registry's). */
  readers?: readonly DatasetReader[];
}

async function detectInput(path: string): Promise<DetectInput> {
  const s = await statOrThrow(path);
  if (s.isDirectory()) {
    const entries = (await readdir(path)).sort();
    return { path, isDirectory: true, head: new Uint8Array(0), entries };
  }
  const fh = await open(path, 'r');
  try {
    const head = new Uint8Array(4096);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return { path, isDirectory: false, head: head.subarray(0, bytesRead), entries: [] };
  } finally {
    await fh.close();
  }
}

function checkReader(r: DatasetReader): DatasetReader {
  if (typeof r.detect !== 'function' || typeof r.shards !== 'function' || typeof r.rows !== 'function')
    throw new WardError(
      'WARD_ERR_PLUGIN_INVALID',
      `Dataset reader ${JSON.stringify(r.name)} needs detect(), shards() and rows()`,
      { reader: r.name },
    );
  return r;
}

/** The reader for a dataset path: the named one, or the one whose detect() answers highest. */
export async function chooseReader(
  path: string,
  options: { reader?: string; readers?: readonly DatasetReader[] } = {},
): Promise<DatasetReader> {
  const readers = options.readers ?? activeRegistry().datasetReaders();
  if (options.reader !== undefined) {
    const r = readers.find((x) => x.name === options.reader);
    if (!r)
      throw new WardError(
        'WARD_ERR_DATASET_FORMAT',
        `No dataset reader named ${JSON.stringify(options.reader)} (have: ${readers.map((x) => x.name).join(', ')})`,
      );
    return checkReader(r);
  }
  const input = await detectInput(path);
  let best: DatasetReader | undefined;
  let bestScore = 0;
  for (const r of readers) {
    const s = await checkReader(r).detect(input);
    if (s > bestScore) {
      best = r;
      bestScore = s;
    }
  }
  if (!best)
    throw new WardError(
      'WARD_ERR_DATASET_FORMAT',
      `No dataset reader recognises ${JSON.stringify(path)} (readers: ${readers.map((x) => x.name).join(', ')})`,
      { path },
    );
  return best;
}

/** SHA-256 of a shard file (or of a folder's listing: names, sizes, modification times). */
export async function shardDigest(reader: DatasetReader, shard: DatasetShard): Promise<string> {
  if (reader.digest) return reader.digest(shard);
  const h = createHash('sha256');
  for await (const chunk of createReadStream(shard.path)) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

function emptyVerdicts(): Record<Verdict, number> {
  return { match: 0, flag: 0, clean: 0, skipped: 0, error: 0 };
}

/**
 * Audits datasets: for each path, its reader, its shards (finished ones replayed from the
 * checkpoint), one report per row (non-clean replayed rows only), then the kNN neighbours of
 * matched rows, then the dataset's summary.
 */
export async function* auditDatasets(
  paths: readonly string[],
  options: AuditOptions = {},
): AsyncGenerator<AuditRecord> {
  const radius = options.knnRadius ?? PDQ_MATCH_DISTANCE;
  if (!Number.isInteger(radius) || radius > 256) throw invalidParameter('knnRadius', 'an integer up to 256', radius);
  const config = options.config ?? DEFAULT_SCAN_CONFIG;
  for (const path of paths) {
    const started = Date.now();
    let reader: DatasetReader;
    try {
      reader = await chooseReader(path, options);
    } catch (cause) {
      // A path that is missing or that no reader knows: reported in its summary; the rest goes on.
      if (!WardError.is(cause) || cause.kind !== 'input') throw cause;
      yield {
        kind: 'summary',
        dataset: path,
        reader: 'none',
        shards: 0,
        resumedShards: 0,
        rows: 0,
        verdicts: emptyVerdicts(),
        reasons: {},
        shardsSkipped: [{ shard: '.', code: cause.code, message: cause.message, rowsRead: 0 }],
        neighbourRows: 0,
        seconds: (Date.now() - started) / 1000,
      };
      continue;
    }
    const summary: DatasetSummary = {
      kind: 'summary',
      dataset: path,
      reader: reader.name,
      shards: 0,
      resumedShards: 0,
      rows: 0,
      verdicts: emptyVerdicts(),
      reasons: {},
      shardsSkipped: [],
      neighbourRows: 0,
      seconds: 0,
    };
    // The dataset's own PDQ hashes, for the kNN step: (shard, key, row, verdict) by id.
    const pdqRefs: { shard: string; key: string; row: number; verdict: Verdict }[] = [];
    const pdqHex: string[] = [];
    const matched: DatasetRowReport[] = [];
    const keepPdq = (shard: string, key: string, row: number, pdq: string, verdict: Verdict) => {
      pdqRefs.push({ shard, key, row, verdict });
      pdqHex.push(pdq);
    };
    const count = (verdicts: Record<Verdict, number>, reasons: Record<string, number>, r: DatasetRowReport) => {
      verdicts[r.verdict]++;
      const keys = new Set(r.reasons.map(reasonKey));
      if (r.error) keys.add(`error:${r.error.code}`);
      for (const k of keys) reasons[k] = (reasons[k] ?? 0) + 1;
    };
    for await (const shard of reader.shards(path)) {
      summary.shards++;
      let done = options.checkpoint?.finished(path, shard.shard);
      // A shard that changed since it was finished is audited again.
      if (done && (await shardDigest(reader, shard).catch(() => undefined)) !== done.digest) done = undefined;
      if (done) {
        summary.resumedShards++;
        summary.rows += done.rows;
        for (const v of PRECEDENCE) summary.verdicts[v] += done.verdicts[v];
        for (const [k, n] of Object.entries(done.reasons)) summary.reasons[k] = (summary.reasons[k] ?? 0) + n;
        if (done.skip) summary.shardsSkipped.push(done.skip);
        for (const [key, row, pdq, verdict] of done.pdqs) keepPdq(shard.shard, key, row, pdq, verdict);
        for (const r of done.reports) {
          if (r.verdict === 'match') matched.push(r);
          yield r;
        }
        continue;
      }
      const record: FinishedShard = {
        dataset: path,
        shard: shard.shard,
        digest: '',
        verdicts: emptyVerdicts(),
        reasons: {},
        rows: 0,
        reports: [],
        pdqs: [],
      };
      try {
        for await (const r of auditShard(reader, shard, options)) {
          record.rows++;
          count(record.verdicts, record.reasons, r);
          const pdq = r.signals.pdq;
          const quality = typeof r.signals.quality === 'number' ? r.signals.quality : 100;
          if (typeof pdq === 'string' && quality >= config.match.minQuality) {
            keepPdq(shard.shard, r.key, r.row, pdq, r.verdict);
            if (options.checkpoint) record.pdqs.push([r.key, r.row, pdq, r.verdict]);
          }
          if (r.verdict !== 'clean' && options.checkpoint) record.reports.push(r);
          if (r.verdict === 'match') matched.push(r);
          yield r;
        }
      } catch (cause) {
        const e = toError(cause);
        record.skip = { shard: shard.shard, code: e.code, message: e.message, rowsRead: record.rows };
      }
      summary.rows += record.rows;
      for (const v of PRECEDENCE) summary.verdicts[v] += record.verdicts[v];
      for (const [k, n] of Object.entries(record.reasons)) summary.reasons[k] = (summary.reasons[k] ?? 0) + n;
      if (record.skip) summary.shardsSkipped.push(record.skip);
      if (options.checkpoint) {
        try {
          record.digest = await shardDigest(reader, shard);
          options.checkpoint.shardDone(record);
        } catch {
          // A shard that cannot be digested is audited again next time.
        }
      }
    }
    if (radius > 0 && matched.length > 0 && pdqHex.length > 1) {
      const hashes = new Uint8Array(pdqHex.length * 32);
      const ids = new Uint32Array(pdqHex.length);
      pdqHex.forEach((h, i) => {
        hashes.set(pdqToBytes(h), i * 32);
        ids[i] = i;
      });
      const index = PdqIndex.build(hashes, ids);
      for (const m of matched) {
        const pdq = m.signals.pdq;
        if (typeof pdq !== 'string') continue;
        const n = index.queryInto(pdqToBytes(pdq), radius);
        const found = index.resultIds();
        const dist = index.resultDistances();
        const neighbours: NeighboursReport['neighbours'] = [];
        for (let i = 0; i < n; i++) {
          const ref = pdqRefs[found[i] as number];
          if (!ref || (ref.shard === m.shard && ref.row === m.row)) continue;
          neighbours.push({
            shard: ref.shard,
            key: ref.key,
            row: ref.row,
            distance: dist[i] as number,
            verdict: ref.verdict,
          });
        }
        if (neighbours.length === 0) continue;
        neighbours.sort((a, b) => a.distance - b.distance || cmp(a.shard, b.shard) || a.row - b.row);
        summary.neighbourRows++;
        yield { kind: 'neighbours', dataset: path, shard: m.shard, key: m.key, row: m.row, pdq, radius, neighbours };
      }
    }
    summary.seconds = (Date.now() - started) / 1000;
    yield summary;
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------------------------------------
// The removal list

/** Columns of the removal list, in order (the contract). */
export const REMOVAL_COLUMNS = [
  'dataset',
  'shard',
  'key',
  'row',
  'url',
  'reason',
  'signal',
  'value',
  'bank',
  'distance',
] as const;

export type RemovalLine = Record<(typeof REMOVAL_COLUMNS)[number], string | number | null>;

/**
 * The removal-list line of a row, or undefined when it is not to be removed (only `match` rows
 * are: flags go to review). The line names the strongest cause: the closest bank match the
 * policy counts as a match, else the finding. Never an image or a thumbnail.
 */
export function removalLine(r: DatasetRowReport, config: ScanConfig = DEFAULT_SCAN_CONFIG): RemovalLine | undefined {
  if (r.verdict !== 'match') return undefined;
  const policy = config.policy;
  const counts = (m: MatchHit) => {
    const action = policy.banks[m.bank] ?? 'match';
    if (action !== 'match') return false;
    return !(m.signal === 'pdq' && policy.pdqFlagAbove !== null && m.distance > policy.pdqFlagAbove);
  };
  const best = r.matches.filter(counts).sort((a, b) => a.distance - b.distance)[0];
  const base = { dataset: r.dataset, shard: r.shard, key: r.key, row: r.row, url: r.url ?? null };
  if (best)
    return {
      ...base,
      reason: 'bank-match',
      signal: best.signal,
      value: best.value,
      bank: best.bank,
      distance: best.distance,
    };
  const reason = r.reasons.find((x) => x.rule === 'finding');
  return {
    ...base,
    reason: reason ? 'finding' : (r.reasons[0]?.rule ?? 'match'),
    signal: reason?.ref ?? null,
    value: null,
    bank: null,
    distance: null,
  };
}
