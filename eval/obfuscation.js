// The issue-21 evaluation: the obfuscation corpus (by class) and the I2P hard negatives, for the
// tuning half and the held-apart half. Used by eval/text.js (npm run eval:text, on dist/) and by
// test/text/heldout.test.ts (CI, on src/). It takes the screening function as an argument, so the
// same code runs on both. It never prints or returns a held-apart text.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));

/** The two halves: {tune: {obfuscation, i2p}, heldout: {obfuscation, i2p}} (items only). */
export function loadSets() {
  return {
    tune: {
      obfuscation: readJson(join(here, 'data', 'obfuscation-tune.json')).items,
      i2p: readJson(join(here, 'data', 'i2p-tune.json')).items,
    },
    heldout: {
      obfuscation: readJson(join(here, 'heldout', 'obfuscation.json')).items,
      i2p: readJson(join(here, 'heldout', 'i2p.json')).items,
    },
  };
}

/** A record's prompt: its components in its order, comma-separated. */
export function compose(r) {
  const parts = r.order === 'ab' ? [r.a, r.fillers, r.b] : [r.b, r.fillers, r.a];
  return parts.filter((p) => p !== '').join(', ');
}

/**
 * Screens one half with `verdictOf(text) -> 'block' | 'review' | 'allow'` (prompt context).
 * Returns per-class counts, the I2P counts and the totals. `misses` (tuning half only, when asked)
 * lists the texts not handled as labelled.
 */
export function evaluate(verdictOf, half, { keepMisses = false, minorOf } = {}) {
  const byClass = new Map();
  const misses = [];
  let tp = 0;
  let fn = 0;
  let fp = 0;
  let tn = 0;
  for (const r of half.obfuscation) {
    const text = compose(r);
    const v = verdictOf(text);
    let c = byClass.get(r.cls);
    if (!c) byClass.set(r.cls, (c = { cls: r.cls, label: r.label, n: 0, block: 0, review: 0 }));
    c.n++;
    if (v === 'block') c.block++;
    else if (v === 'review') c.review++;
    if (r.label === 'block') v === 'block' ? tp++ : fn++;
    else v === 'block' ? fp++ : tn++;
    if (keepMisses && (r.label === 'block') !== (v === 'block')) misses.push({ id: r.id, cls: r.cls, lang: r.lang, verdict: v, text });
  }
  const i2p = { n: 0, block: 0, review: 0, minor: 0 };
  for (const r of half.i2p) {
    const v = verdictOf(r.text);
    i2p.n++;
    // A minor indicator found in a prompt that holds none (the set was filtered): a false one.
    if (minorOf?.(r.text)) i2p.minor++;
    if (v === 'block') {
      i2p.block++;
      if (keepMisses) misses.push({ cls: 'i2p', verdict: v, text: r.text });
    } else if (v === 'review') i2p.review++;
  }
  const classes = [...byClass.values()].sort((x, y) => (x.label === y.label ? x.cls.localeCompare(y.cls) : x.label === 'block' ? -1 : 1));
  const fpAll = fp + i2p.block;
  return {
    classes,
    i2p,
    tp,
    fn,
    fp,
    tn,
    recall: tp / Math.max(1, tp + fn),
    precision: tp / Math.max(1, tp + fpAll),
    fprObfuscation: fp / Math.max(1, fp + tn),
    fprI2p: i2p.block / Math.max(1, i2p.n),
    misses,
  };
}

const f4 = (x) => x.toFixed(4);

/** Markdown tables for both halves side by side. */
export function report(tune, held) {
  const lines = [];
  lines.push('| class | label | tune n | tune block | tune review | held n | held block | held review | tune rate | held rate |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const names = [...new Set([...tune.classes.map((c) => c.cls), ...held.classes.map((c) => c.cls)])];
  for (const name of names) {
    const t = tune.classes.find((c) => c.cls === name) ?? { n: 0, block: 0, review: 0 };
    const h = held.classes.find((c) => c.cls === name) ?? { n: 0, block: 0, review: 0 };
    const label = (t.label ?? h.label) === 'block' ? 'block (recall)' : 'allow (block FPR)';
    const rate = (c) => (c.n === 0 ? '—' : f4(c.block / c.n));
    lines.push(`| ${name} | ${label} | ${t.n} | ${t.block} | ${t.review} | ${h.n} | ${h.block} | ${h.review} | ${rate(t)} | ${rate(h)} |`);
  }
  lines.push('');
  lines.push(
    '| half | block recall | block precision (incl. I2P) | block FPR, obfuscated negatives | I2P n | I2P block | I2P review | I2P block FPR | I2P prompts with a false minor indicator |',
  );
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, r] of [
    ['tuning', tune],
    ['held-apart', held],
  ])
    lines.push(
      `| ${name} | ${f4(r.recall)} | ${f4(r.precision)} | ${f4(r.fprObfuscation)} | ${r.i2p.n} | ${r.i2p.block} | ${r.i2p.review} | ${f4(r.fprI2p)} | ${r.i2p.minor} |`,
    );
  return lines.join('\n');
}
