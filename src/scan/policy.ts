/**
 * @module scan/policy
 * Turns an item's matches and findings into a verdict, with reasons and a score. Precedence:
 * `match` (known material) > `flag` (needs review) > `error` > `skipped` > `clean`. An item with an
 * error can still match (its MD5 was computed before its decoder failed).
 */
import type { MatchHit } from '../match/matcher.js';
import type { FallbackAction, FindingAction, Policy } from './config.js';
import { type Finding, type Reason, SEVERITIES, type Severity, type Verdict } from './types.js';

export interface PolicyInput {
  matches: MatchHit[];
  /** Negative-bank matches that suppressed block matches (explains a `clean`). */
  suppressedBy?: MatchHit[];
  findings: Finding[];
  error?: { code: string; message: string };
  /** Why the item could not be matched perceptually (weak hash), if so. */
  weak?: string;
  /** Why no extractor handled the item (unsupported content), if so. */
  unsupported?: string;
}

export interface Decision {
  verdict: Verdict;
  reasons: Reason[];
  score?: number;
}

const SEVERITY_SCORE: Record<Severity, number> = { info: 0.1, low: 0.25, medium: 0.5, high: 0.75, critical: 0.9 };

/** The action for a finding type: exact key, then `area.*`, then `*`, then the severity rule. */
export function findingAction(policy: Policy, finding: Finding): FindingAction {
  const byType = policy.findings;
  const area = finding.type.includes('.') ? `${finding.type.slice(0, finding.type.indexOf('.'))}.*` : undefined;
  const explicit = byType[finding.type] ?? (area ? byType[area] : undefined) ?? byType['*'];
  if (explicit) return explicit;
  return SEVERITIES.indexOf(finding.severity) >= SEVERITIES.indexOf(policy.flagSeverity) ? 'flag' : 'ignore';
}

export function decide(input: PolicyInput, policy: Policy): Decision {
  const matchReasons: Reason[] = [];
  const flagReasons: Reason[] = [];
  for (const m of input.matches) {
    let action = policy.banks[m.bank] ?? 'match';
    if (action === 'match' && m.signal === 'pdq' && policy.pdqFlagAbove !== null && m.distance > policy.pdqFlagAbove)
      action = 'flag';
    if (action === 'ignore') continue;
    const what = `${m.signal} ${m.signal === 'pdq' ? `at distance ${m.distance}` : 'exact'}${m.transform ? ` (${m.transform})` : ''}`;
    const reason: Reason = {
      rule: action === 'match' ? 'bank-match' : 'bank-flag',
      message: `${what} in bank ${m.bank}`,
      ref: m.bank,
      score: m.signal === 'pdq' ? Math.max(0.5, 1 - m.distance / 64) : 1,
    };
    (action === 'match' ? matchReasons : flagReasons).push(reason);
  }
  for (const f of input.findings) {
    if (isClassifierFinding(f)) continue; // review priority only (below), never a verdict
    const action = findingAction(policy, f);
    if (action === 'ignore') continue;
    const reason: Reason = {
      rule: 'finding',
      message: f.message,
      ref: f.type,
      score: f.score ?? SEVERITY_SCORE[f.severity],
    };
    (action === 'match' ? matchReasons : flagReasons).push(reason);
  }
  if (matchReasons.length > 0) return withScore('match', matchReasons);
  if (flagReasons.length > 0) return withPriority(withScore('flag', flagReasons), input.findings);
  if (input.error)
    return { verdict: 'error', reasons: [{ rule: 'error', message: input.error.message, ref: input.error.code }] };
  if (input.unsupported) return fallback(policy.unsupported, { rule: 'unsupported', message: input.unsupported });
  if (input.weak) return fallback(policy.weakHash, { rule: 'weak-hash', message: input.weak });
  return { verdict: 'clean', reasons: suppressionReasons(input.suppressedBy ?? []) };
}

function suppressionReasons(negative: MatchHit[]): Reason[] {
  const banks = [...new Set(negative.map((n) => n.bank))];
  return banks.map((bank) => ({
    rule: 'suppressed',
    message: `block-bank match suppressed by negative bank ${bank} (a known false positive)`,
    ref: bank,
  }));
}

function withScore(verdict: Verdict, reasons: Reason[]): Decision {
  const score = Math.max(...reasons.map((r) => r.score ?? 0));
  return { verdict, reasons, score: Math.round(score * 1000) / 1000 };
}

/** Opt-in classifier scores (scan/extractors/classifier): they order the review queue only. */
function isClassifierFinding(f: Finding): boolean {
  return f.type.startsWith('classifier.');
}

/**
 * A flagged item's score, raised to its highest classifier score: flagged items are ordered for
 * review by it. The verdict and reasons stay what the matches and other findings made them.
 */
function withPriority(decision: Decision, findings: readonly Finding[]): Decision {
  let score = decision.score ?? 0;
  for (const f of findings) if (isClassifierFinding(f) && typeof f.score === 'number') score = Math.max(score, f.score);
  return { ...decision, score: Math.round(score * 1000) / 1000 };
}

function fallback(action: FallbackAction, reason: Reason): Decision {
  if (action === 'flag') return withScore('flag', [{ ...reason, score: SEVERITY_SCORE.low }]);
  return { verdict: action === 'skip' ? 'skipped' : 'clean', reasons: [reason] };
}
