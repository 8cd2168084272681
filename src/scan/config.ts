/**
 * @module scan/config
 * The scan configuration (a JSON or YAML file given with `--config`): what to match, the policy
 * that turns matches and findings into verdicts, and the limits. Validated strictly: an unknown
 * key is an error, so a typo can never silently weaken a policy. Documented in docs/scan.md.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { WardError } from '../errors.js';
import { DEFAULT_LIMITS, type Limits } from '../limits.js';
import { type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS } from '../media/archive.js';
import { PDQ_MIN_QUALITY } from '../signals/pdq/distance.js';
import { CLASSIFIER_NAMES } from './extractors/classifier.js';
import { SEVERITIES, type Severity } from './types.js';

export type FindingAction = 'ignore' | 'flag' | 'match';
export type BankAction = 'match' | 'flag' | 'ignore';
export type FallbackAction = 'skip' | 'clean' | 'flag';

export interface Policy {
  /** Findings at or above this severity flag the item (default `medium`). */
  flagSeverity: Severity;
  /** Per finding type (exact, `area.*`, or `*`): overrides the severity rule. */
  findings: Record<string, FindingAction>;
  /** Per bank: what its matches mean (default `match`; `flag` for lists that need review). */
  banks: Record<string, BankAction>;
  /** PDQ matches farther than this become flags instead of matches (null: never). */
  pdqFlagAbove: number | null;
  /** Verdict of an image whose PDQ is too weak to match, when nothing else decided. */
  weakHash: FallbackAction;
  /** Verdict of an item no extractor supports, when nothing matched. */
  unsupported: FallbackAction;
}

export interface MatchConfig {
  /** Also query the 8 rotations and flips of each image's PDQ. */
  dihedral: boolean;
  /** PDQ hashes with quality below this are not matched (PDQ's convention: 50). */
  minQuality: number;
  /** Overrides every bank's PDQ distance (null: each bank's own). */
  distance: number | null;
  /** Videos: how frames are sampled for vPDQ and when two videos match (docs/video.md). */
  vpdq: VpdqConfig;
}

export interface VpdqConfig {
  /** One frame per this many seconds (0: every frame); default 1, as python-threatexchange and HMA. */
  secondsPerHash: number;
  /** Hash frames scaled to N×N (null: native size, the default). */
  downsample: number | null;
  /** Share of the query video's frames that must match a bank video's, percent (default 80). */
  queryMatchPercent: number;
  /** Share of the bank video's frames that must match, percent (default 0). */
  comparedMatchPercent: number;
}

/** Per-video bounds: a long or hostile video cannot hold a worker for ever. */
export interface VideoLimits {
  /** Frames hashed per video; the rest is skipped and the item says `video.truncated`. */
  maxFrames: number;
  /** Wall-clock seconds per video (ffmpeg is killed); frames hashed by then are kept. */
  maxSeconds: number;
}

export interface ScanLimits extends Limits {
  archive: ArchiveLimits & {
    /** How many levels of archives inside archives are opened. */
    maxDepth: number;
  };
  /** Bytes of archive entries held in memory at once, waiting for workers. */
  maxBytesInFlight: number;
  video: VideoLimits;
}

/** What the extractors do beyond fingerprints. */
export interface ExtractConfig {
  /** Decode image pixels for stealth metadata and the invisible watermark (about 3 ms an image). */
  provenancePixels: boolean;
  /** Keep prompts read from image metadata out of reports (screened all the same). */
  redactPrompts: boolean;
}

export interface ScanConfig {
  version: 1;
  /**
   * Plugin modules to load (src/plugin.ts): paths (relative to the configuration file) or
   * package names. Every worker thread loads the same.
   */
  plugins: string[];
  match: MatchConfig;
  extract: ExtractConfig;
  policy: Policy;
  limits: ScanLimits;
  /**
   * Opt-in image classifiers (`nsfw`, `nsfw:<model>`; absent by default, so that a default
   * configuration and its checkpoint fingerprint are unchanged): their scores are `info` findings
   * that order flagged items for review, never a verdict (docs/classifiers.md).
   */
  classifiers?: string[];
}

export const DEFAULT_SCAN_CONFIG: Readonly<ScanConfig> = Object.freeze({
  version: 1,
  plugins: [],
  match: {
    dihedral: false,
    minQuality: PDQ_MIN_QUALITY,
    distance: null,
    vpdq: { secondsPerHash: 1, downsample: null, queryMatchPercent: 80, comparedMatchPercent: 0 },
  },
  extract: { provenancePixels: true, redactPrompts: false },
  policy: {
    flagSeverity: 'medium',
    findings: {},
    banks: {},
    pdqFlagAbove: null,
    weakHash: 'skip',
    unsupported: 'skip',
  },
  limits: {
    ...DEFAULT_LIMITS,
    archive: { ...DEFAULT_ARCHIVE_LIMITS, maxDepth: 4 },
    maxBytesInFlight: 256 * 1024 * 1024,
    video: { maxFrames: 3600, maxSeconds: 600 },
  },
} satisfies ScanConfig);

type Check = (value: unknown, at: string) => unknown;

function bad(source: string, at: string, expected: string, value: unknown): WardError {
  const shown = JSON.stringify(value) ?? String(value);
  return new WardError(
    'WARD_ERR_CONFIG_INVALID',
    `${source}: \`${at}\` must be ${expected}, got ${shown.length > 60 ? `${shown.slice(0, 60)}…` : shown}`,
    { path: source },
  );
}

/**
 * Validates a raw configuration object against the defaults' shape and returns it merged over
 * them. `source` names the file in messages.
 */
export function resolveScanConfig(raw: unknown, source = 'config'): ScanConfig {
  const int =
    (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
    (v, at) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
        throw bad(source, at, `an integer ${min}-${max}`, v);
      return v;
    };
  const oneOf =
    (values: readonly string[]): Check =>
    (v, at) => {
      if (typeof v !== 'string' || !values.includes(v)) throw bad(source, at, `one of ${values.join(', ')}`, v);
      return v;
    };
  const num =
    (min: number, max: number): Check =>
    (v, at) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
        throw bad(source, at, `a number ${min}-${max}`, v);
      return v;
    };
  const bool: Check = (v, at) => {
    if (typeof v !== 'boolean') throw bad(source, at, 'true or false', v);
    return v;
  };
  const nullable =
    (check: Check): Check =>
    (v, at) =>
      v === null ? null : check(v, at);
  const list =
    (check: Check): Check =>
    (v, at) => {
      if (!Array.isArray(v)) throw bad(source, at, 'a list', v);
      return v.map((x, i) => check(x, `${at}[${i}]`));
    };
  const map =
    (check: Check): Check =>
    (v, at) => {
      if (!isObject(v)) throw bad(source, at, 'a map', v);
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, check(x, `${at}.${k}`)]));
    };
  const object =
    (shape: Record<string, Check>): Check =>
    (v, at) => {
      if (!isObject(v)) throw bad(source, at, 'a map', v);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const check = shape[k];
        if (!check)
          throw bad(source, at ? `${at}.${k}` : k, `one of the known keys (${Object.keys(shape).join(', ')})`, k);
        out[k] = check(x, at ? `${at}.${k}` : k);
      }
      return out;
    };
  const text: Check = (v, at) => {
    if (typeof v !== 'string' || v.trim() === '') throw bad(source, at, 'a non-empty string', v);
    return v;
  };
  const schema = object({
    version: (v, at) => {
      if (v !== 1) throw bad(source, at, '1 (the only configuration version)', v);
      return v;
    },
    plugins: list(text),
    match: object({
      dihedral: bool,
      minQuality: int(0, 100),
      distance: nullable(int(0, 256)),
      vpdq: object({
        secondsPerHash: num(0, 3600),
        downsample: nullable(int(5, 65535)),
        queryMatchPercent: num(0, 100),
        comparedMatchPercent: num(0, 100),
      }),
    }),
    extract: object({ provenancePixels: bool, redactPrompts: bool }),
    policy: object({
      flagSeverity: oneOf(SEVERITIES),
      findings: (v, at) => {
        const checked = map(oneOf(['ignore', 'flag', 'match']))(v, at) as Record<string, string>;
        const key = Object.keys(checked).find((k) => k.startsWith('classifier.'));
        if (key !== undefined)
          throw bad(source, `${at}.${key}`, 'absent: classifier scores order the review queue, never decide', key);
        return checked;
      },
      banks: map(oneOf(['match', 'flag', 'ignore'])),
      pdqFlagAbove: nullable(int(0, 256)),
      weakHash: oneOf(['skip', 'clean', 'flag']),
      unsupported: oneOf(['skip', 'clean', 'flag']),
    }),
    limits: object({
      maxPixels: int(1),
      maxFileBytes: int(1),
      maxBytesInFlight: int(1),
      video: object({ maxFrames: int(1), maxSeconds: num(0.001, 86400) }),
      archive: object({
        maxDepth: int(0, 64),
        maxEntries: int(1),
        maxEntryBytes: int(1),
        maxTotalBytes: int(1),
        maxRatio: int(1),
      }),
    }),
    classifiers: list(oneOf(CLASSIFIER_NAMES)),
  });
  const given = (raw ?? {}) as Record<string, unknown>;
  const checked = schema(given, '') as Partial<Record<keyof ScanConfig, Record<string, unknown>>>;
  const d = DEFAULT_SCAN_CONFIG;
  return {
    version: 1,
    plugins: [...((checked.plugins as unknown as string[] | undefined) ?? d.plugins)],
    match: {
      ...d.match,
      ...checked.match,
      vpdq: { ...d.match.vpdq, ...(checked.match?.vpdq as object | undefined) },
    } as MatchConfig,
    extract: { ...d.extract, ...checked.extract } as ExtractConfig,
    policy: { ...d.policy, ...checked.policy } as Policy,
    limits: {
      ...d.limits,
      ...checked.limits,
      archive: { ...d.limits.archive, ...(checked.limits?.archive as object | undefined) },
      video: { ...d.limits.video, ...(checked.limits?.video as object | undefined) },
    } as ScanLimits,
    ...classifiersOf(checked.classifiers as unknown as string[] | undefined),
  };
}

function classifiersOf(list: string[] | undefined): { classifiers?: string[] } {
  return list !== undefined && list.length > 0 ? { classifiers: [...new Set(list)] } : {};
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a JSON or YAML configuration file (YAML is a superset of JSON: one parser for both). */
export async function loadScanConfig(path: string): Promise<ScanConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new WardError(
      'WARD_ERR_CONFIG_INVALID',
      `Cannot read the configuration file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
      { path },
      cause,
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (cause) {
    const message = cause instanceof Error ? cause.message.split('\n')[0] : 'parse error';
    throw new WardError('WARD_ERR_CONFIG_INVALID', `${path}: not valid YAML or JSON: ${message}`, { path }, cause);
  }
  const config = resolveScanConfig(raw ?? {}, path);
  // Plugin paths in a file are relative to the file, not to wherever the scan was started.
  config.plugins = config.plugins.map((p) => (p.startsWith('.') ? resolvePath(dirname(path), p) : p));
  return config;
}
