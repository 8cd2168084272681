/**
 * @module server/disclosure
 * Matching never discloses a bank (issue 14). A match request may only tighten a bank's PDQ
 * distance, never widen it: the requested distance is passed with `tightenOnly` (the matcher caps
 * it at each bank's own) and capped at the widest bank's distance, and every hit is filtered again
 * here against its own bank's distance. Negative-bank entries are never returned to the caller:
 * only that a suppression happened (the bank and signal type). Hits per result are capped, with
 * `truncated`. Banks are read through the bank routes (analysts), which are audited.
 */
import type { MatchHit, MatchOptions, MatchResult } from '../match/matcher.js';
import { activeRegistry } from '../registry.js';
import type { LiveIndex } from './live-index.js';

/** Most hits one result (one hash, one upload, one scanned item) returns. */
export const MAX_HITS_PER_RESULT = 100;

/** Each loaded bank's own PDQ distance, by name. */
export function bankDistances(live: LiveIndex): Map<string, number> {
  return new Map(live.stats().map((s) => [s.bank.name, s.bank.pdqDistance]));
}

/**
 * The match options for a caller's requested distance: never wider than the widest bank's own
 * distance, and `tightenOnly` so the matcher caps it per bank.
 */
export function tightenedOptions(
  requested: number | undefined,
  distances: Map<string, number>,
  base: MatchOptions = {},
): MatchOptions & { tightenOnly: true } {
  const widest = Math.max(0, ...distances.values());
  const out: MatchOptions & { tightenOnly: true } = { ...base, tightenOnly: true };
  if (requested !== undefined) out.distance = Math.min(requested, widest);
  else if (base.distance !== undefined) out.distance = Math.min(base.distance, widest);
  return out;
}

/** True when a hit lies within its bank's own distance (signal types measured by the bank's distance). */
function withinBank(hit: MatchHit, distances: Map<string, number> | undefined): boolean {
  if (distances === undefined) return true;
  const type = activeRegistry().signalType(hit.signal);
  if (!type?.bankDistance || hit.queryMatchPercent !== undefined) return true;
  const radius = distances.get(hit.bank);
  return radius === undefined ? false : hit.distance <= radius;
}

/** A suppression as the caller sees it: that it happened, not which entry. */
export interface Suppression {
  bank: string;
  signal: string;
}

export interface SafeResult {
  matches: MatchHit[];
  suppressedBy: Suppression[];
  suppressed?: MatchHit[];
  skipped?: string[];
  truncated?: true;
}

function suppressions(hits: readonly MatchHit[]): Suppression[] {
  const seen = new Map<string, Suppression>();
  for (const h of hits) seen.set(`${h.bank}\u0000${h.signal}`, { bank: h.bank, signal: h.signal });
  return [...seen.values()];
}

/** A match result as a caller may see it: hits within their bank's distance, capped; no negative entries. */
/** `distances`: filter hits by their bank's own distance (when the caller chose a distance). */
export function safeResult(r: MatchResult, distances: Map<string, number> | undefined): SafeResult {
  const matches = r.matches.filter((h) => withinBank(h, distances));
  const suppressed = r.suppressed.filter((h) => withinBank(h, distances));
  const negative = r.suppressedBy.filter((h) => withinBank(h, distances));
  const truncated = matches.length > MAX_HITS_PER_RESULT || suppressed.length > MAX_HITS_PER_RESULT;
  return {
    matches: matches.slice(0, MAX_HITS_PER_RESULT),
    suppressedBy: suppressions(negative),
    ...(suppressed.length > 0 ? { suppressed: suppressed.slice(0, MAX_HITS_PER_RESULT) } : {}),
    ...(r.skipped.length > 0 ? { skipped: r.skipped } : {}),
    ...(truncated ? { truncated: true as const } : {}),
  };
}

/** The same rules on an item report's matches (scan): negative entries reduced to suppressions, hits capped. */
export function safeReport<T extends { matches: MatchHit[]; suppressedBy?: MatchHit[] }>(
  report: T,
  distances?: Map<string, number>,
): T & { truncated?: true } {
  const matches = report.matches.filter((h) => withinBank(h, distances));
  const truncated = matches.length > MAX_HITS_PER_RESULT;
  return {
    ...report,
    matches: matches.slice(0, MAX_HITS_PER_RESULT),
    ...(report.suppressedBy ? { suppressedBy: suppressions(report.suppressedBy) as unknown as MatchHit[] } : {}),
    ...(truncated ? { truncated: true as const } : {}),
  };
}
