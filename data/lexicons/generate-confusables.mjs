// Generates data/lexicons/confusables.json from Unicode's confusables.txt (UTS #39).
//
//   node data/lexicons/generate-confusables.mjs path/to/confusables.txt
//
// Needs the build (it imports basicFold from dist/text/fold.js, so keys and values are in the
// same folded space the screener looks them up in). Download confusables.txt from
// https://www.unicode.org/Public/security/<version>/confusables.txt; the version, date and SHA-256
// of the input are recorded in the output.
//
// Kept: mappings whose source is not ASCII and is already in folded form (lower case, no
// decomposition: upper case and compatibility forms are handled by case folding and NFKD first),
// whose folded target differs, and whose class is kept: a letter maps to letters, a digit to
// digits, a symbol to letters. Targets are resolved to a fixed point of the kept map.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { basicFold } from '../../dist/text/fold.js';

const input = process.argv[2];
if (!input) {
  console.error('usage: node data/lexicons/generate-confusables.mjs path/to/confusables.txt');
  process.exit(3);
}
const raw = readFileSync(input);
const text = raw.toString('utf8');
const version = /^#\s*Version:\s*(\S+)/m.exec(text)?.[1];
const date = /^#\s*Date:\s*([^\n]+)/m.exec(text)?.[1]?.trim();
if (!version) throw new Error('not a confusables.txt: no Version line');

const isLetter = (s) => /^[\p{L}\p{Nl}]+$/u.test(s);
const isDigit = (s) => /^\p{Nd}+$/u.test(s);
const isSymbol = (s) => /^\p{S}$/u.test(s);
const hex = (h) => String.fromCodePoint(Number.parseInt(h, 16));

const map = new Map();
for (const line of text.split('\n')) {
  const body = line.split('#')[0].trim();
  if (!body) continue;
  const [from, to] = body.split(';').map((f) => f.trim());
  const fromCps = from.split(/\s+/);
  if (fromCps.length !== 1) continue;
  const src = hex(fromCps[0]);
  if (src.codePointAt(0) < 0x80) continue;
  if (basicFold(src) !== src) continue;
  const target = basicFold(to.split(/\s+/).map(hex).join(''));
  if (target === '' || target === src) continue;
  const ok = isLetter(src) ? isLetter(target) : isDigit(src) ? isDigit(target) : isSymbol(src) && isLetter(target);
  if (ok) map.set(src, target);
}
// Fixed point: a folded target may itself be a kept source.
for (const [k, v] of map) {
  let t = v;
  for (let i = 0; i < 8; i++) {
    const next = [...t].map((c) => map.get(c) ?? c).join('');
    if (next === t) break;
    t = next;
  }
  if (t === k) map.delete(k);
  else map.set(k, t);
}
const sorted = [...map].sort((a, b) => a[0].codePointAt(0) - b[0].codePointAt(0));
const out = {
  source: 'Unicode confusables.txt (UTS #39 security data)',
  unicodeVersion: version,
  date,
  sha256: createHash('sha256').update(raw).digest('hex'),
  license: 'Unicode License v3 (https://www.unicode.org/license.txt); generated, do not edit by hand',
  generator: 'data/lexicons/generate-confusables.mjs',
  count: sorted.length,
  map: Object.fromEntries(sorted),
};
const here = dirname(fileURLToPath(import.meta.url));
writeFileSync(join(here, 'confusables.json'), `${JSON.stringify(out, null, 0).replace(/,"map":\{/, ',\n"map":{\n').replace(/","/g, '",\n"')}\n`);
console.log(`confusables.json: ${sorted.length} mappings from Unicode ${version}`);
