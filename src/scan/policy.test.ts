import { describe, expect, it } from 'vitest';
import type { MatchHit } from '../match/matcher.js';
import { DEFAULT_SCAN_CONFIG, type Policy } from './config.js';
import { decide, findingAction } from './policy.js';
import type { Finding } from './types.js';

const policy = (over: Partial<Policy> = {}): Policy => ({ ...DEFAULT_SCAN_CONFIG.policy, ...over });
const hit = (over: Partial<MatchHit> = {}): MatchHit => ({
  bank: 'known',
  signal: 'pdq',
  value: 'ab'.repeat(32),
  distance: 4,
  entryId: 1,
  labels: [],
  ...over,
});
const finding = (over: Partial<Finding> = {}): Finding => ({
  type: 'text.minor-sexual',
  severity: 'high',
  message: 'm',
  source: 'text',
  ...over,
});

describe('decide', () => {
  it('a block match is a match, with a score from the distance', () => {
    const d = decide({ matches: [hit({ distance: 0 })], findings: [] }, policy());
    expect(d.verdict).toBe('match');
    expect(d.reasons[0]?.rule).toBe('bank-match');
    expect(d.score).toBe(1);
    expect(decide({ matches: [hit({ distance: 31 })], findings: [] }, policy()).score).toBeCloseTo(0.516, 3);
  });

  it('precedence: match > flag > error > skipped > clean', () => {
    const err = { code: 'WARD_ERR_IMAGE_DECODE', message: 'bad' };
    expect(
      decide({ matches: [hit({ signal: 'md5', distance: 0 })], findings: [finding()], error: err }, policy()).verdict,
    ).toBe('match');
    expect(decide({ matches: [], findings: [finding()], error: err }, policy()).verdict).toBe('flag');
    expect(decide({ matches: [], findings: [], error: err, weak: 'w' }, policy()).verdict).toBe('error');
    expect(decide({ matches: [], findings: [], weak: 'w' }, policy()).verdict).toBe('skipped');
    expect(decide({ matches: [], findings: [], unsupported: 'u' }, policy()).verdict).toBe('skipped');
    expect(decide({ matches: [], findings: [] }, policy()).verdict).toBe('clean');
  });

  it('per-bank actions and the PDQ review distance', () => {
    expect(decide({ matches: [hit()], findings: [] }, policy({ banks: { known: 'flag' } })).verdict).toBe('flag');
    expect(decide({ matches: [hit()], findings: [] }, policy({ banks: { known: 'ignore' } })).verdict).toBe('clean');
    expect(decide({ matches: [hit({ distance: 25 })], findings: [] }, policy({ pdqFlagAbove: 20 })).verdict).toBe(
      'flag',
    );
    expect(decide({ matches: [hit({ distance: 20 })], findings: [] }, policy({ pdqFlagAbove: 20 })).verdict).toBe(
      'match',
    );
    // Exact matches are never demoted by the PDQ distance rule.
    expect(
      decide({ matches: [hit({ signal: 'md5', distance: 0 })], findings: [] }, policy({ pdqFlagAbove: 0 })).verdict,
    ).toBe('match');
  });

  it('findings flag by severity unless the policy maps their type', () => {
    expect(decide({ matches: [], findings: [finding({ severity: 'low' })] }, policy()).verdict).toBe('clean');
    expect(decide({ matches: [], findings: [finding({ severity: 'medium' })] }, policy()).verdict).toBe('flag');
    expect(
      decide({ matches: [], findings: [finding({ severity: 'low' })] }, policy({ flagSeverity: 'low' })).verdict,
    ).toBe('flag');
    const p = policy({ findings: { 'text.*': 'ignore', 'text.stated-age': 'match' } });
    expect(findingAction(p, finding())).toBe('ignore');
    expect(findingAction(p, finding({ type: 'text.stated-age' }))).toBe('match');
    expect(findingAction(policy({ findings: { '*': 'flag' } }), finding({ severity: 'info' }))).toBe('flag');
    const d = decide({ matches: [], findings: [finding({ score: 0.8 }), finding({ severity: 'critical' })] }, policy());
    expect(d.verdict).toBe('flag');
    expect(d.score).toBe(0.9);
    expect(d.reasons).toHaveLength(2);
  });

  it('fallbacks are configurable, and a suppressed match explains a clean', () => {
    expect(decide({ matches: [], findings: [], weak: 'w' }, policy({ weakHash: 'flag' })).verdict).toBe('flag');
    expect(decide({ matches: [], findings: [], unsupported: 'u' }, policy({ unsupported: 'clean' })).verdict).toBe(
      'clean',
    );
    const d = decide({ matches: [], suppressedBy: [hit({ bank: 'allow' })], findings: [] }, policy());
    expect(d.verdict).toBe('clean');
    expect(d.reasons).toEqual([expect.objectContaining({ rule: 'suppressed', ref: 'allow' })]);
  });
});
