/**
 * Issue 21: the held-apart evaluation, in CI. The held-apart half (eval/heldout/) was split off
 * before the normalizer rules were written and is never looked at while tuning; this test runs
 * it (and the tuning half, for comparison) on the source screener, prints the figures, and fails
 * below the floors (docs/text.md, "Evaluation"). Only aggregate figures are printed.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, loadSets, report } from '../../eval/obfuscation.js';
import { textEngine } from '../../src/text/engine.js';
import { screenText } from '../../src/text/screen.js';

/** Floors, set from the first held-apart run of the new normalizer (0.932 recall) minus a margin. */
const FLOORS = {
  /** Block recall on the held-apart obfuscation corpus. */
  recall: 0.9,
  /** Block precision, held-apart (I2P hard negatives and obfuscated adult negatives included). */
  precision: 0.99,
  /** Block false-positive rate on the held-apart I2P prompts (real, adult, not about minors). */
  i2pFpr: 0.002,
  /** Block false-positive rate on the held-apart obfuscated negatives (adult ages, counts, adult terms). */
  negativeFpr: 0.01,
  /** The held-apart recall may not trail the tuning recall by more than this (overfitting). */
  gap: 0.05,
  /** Share of held-apart I2P prompts (filtered: none mentions a minor) given a false minor indicator. */
  falseMinor: 0.005,
};

describe('held-apart evaluation (issue 21)', () => {
  it('meets the floors, and the held-apart half does not trail the tuning half', () => {
    const sets = loadSets();
    const verdictOf = (t: string) => screenText(t, { context: 'prompt' }).verdict;
    const minorOf = (t: string) => {
      let m = false;
      textEngine().scan(t, (h) => {
        if (h.category === 'minor' || h.category === 'age') m = true;
      });
      return m;
    };
    const tune = evaluate(verdictOf, sets.tune, { minorOf });
    const held = evaluate(verdictOf, sets.heldout, { minorOf });
    console.log(`\nText screening, issue-21 evaluation (prompt context)\n${report(tune, held)}\n`);
    expect(held.classes.length).toBeGreaterThan(15);
    expect(held.i2p.n).toBeGreaterThan(1000);
    expect(held.recall).toBeGreaterThanOrEqual(FLOORS.recall);
    expect(held.precision).toBeGreaterThanOrEqual(FLOORS.precision);
    expect(held.fprI2p).toBeLessThanOrEqual(FLOORS.i2pFpr);
    expect(held.fprObfuscation).toBeLessThanOrEqual(FLOORS.negativeFpr);
    expect(tune.recall - held.recall).toBeLessThanOrEqual(FLOORS.gap);
    expect(held.i2p.minor / held.i2p.n).toBeLessThanOrEqual(FLOORS.falseMinor);
  });
});
