/**
 * @module text/normalize
 * Text → normalized streams with an offset map back to the original (UTF-16 offsets).
 *
 * Phase 1 (`foldUnits`) folds every code point (text/fold.ts) into units: folded code point,
 * class, original start and end. Phase 2 (`buildStream`) makes a stream the automaton reads:
 *
 * - separator runs become one space (flagged hard when they hold punctuation or a line break);
 * - runs of single letters split by short separators (`s.p.a.c.e.d`, `s p a c e d`, `s_p_a`)
 *   are joined when at least three long;
 * - repeated letters collapse into one unit that remembers the run length (`teeeen` → `ten`
 *   with e×4; a lexicon term matches when every run in the text is at least as long as the
 *   term's, so `teen` (e×2) matches `teeeen` but not `ten`);
 * - tokens are counted (a run of letters, a run of digits, or one CJK character) for windows.
 *
 * Mode `plain` keeps digits and symbols. Mode `leet` also reads digits and symbols inside words
 * (or in spaced single-letter runs) as letters (data/lexicons/leet.json) and merges look-alike
 * letters (`l` → `i`); the lexicon is compiled in both modes and each stream is matched against
 * its own forms. Every pass is linear.
 */
import { CJK, classOf, DIGIT, type Folder, LETTER, SEP } from './fold.js';

/** Unit flags. */
const F_WS = 1;
const F_NL = 2;
const F_LEETSYM = 4;
/** Stream flags: a space from punctuation or a line break (not only whitespace). */
export const S_HARD = 1;
/** A unit read through leet (digit or symbol as a letter). */
export const S_LEET = 2;
/** A space that breaks phrases (, ; : ! ? brackets quotes, line breaks): multi-word terms stop. */
export const S_BREAK = 4;
/** Leet stream: a word boundary (a squashed separator) before this unit. */
export const S_WSTART = 8;
/** Leet stream: a word boundary (a squashed separator) after this unit. */
export const S_WEND = 16;
/** The boundary after this unit was a separator (not a joined spaced-out letter): debugging shows it. */
export const S_SHOWN = 32;
/** Leet stream: the boundary before this unit was whitespace only, between words (not spaced letters). */
export const S_WSGAP = 64;

function grow(a: Int32Array<ArrayBuffer>, need: number): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** Identical letters or digits in a row kept as separate units (longer runs extend the last). */
const RUN_CAP = 8;
/** Separator units kept at each end of a separator run (the middle is merged into one unit). */
const SEP_KEEP = 4;

/**
 * Phase 1 output: one unit per folded code point, except that runs are bounded (at most
 * RUN_CAP identical letters or digits, at most 2 x SEP_KEEP separators in a row: the rest is
 * merged, extending offsets), so every normalized unit comes from a bounded number of units and
 * segments can overlap by a fixed number of units. Matching is unchanged: term runs are shorter
 * than RUN_CAP and no rule looks inside a long separator run.
 */
export class Units {
  n = 0;
  cp = new Int32Array(256);
  cls = new Int32Array(256);
  start = new Int32Array(256);
  end = new Int32Array(256);
  flags = new Int32Array(256);
  /** CJK units pushed since the last clear (spacing between CJK characters is only looked for then). */
  cjk = 0;
  /** Trailing separators and trailing identical units. */
  private sepRun = 0;
  private sameRun = 0;

  clear(): void {
    this.n = 0;
    this.cjk = 0;
    this.sepRun = 0;
    this.sameRun = 0;
  }

  push(cp: number, cls: number, start: number, end: number, flags: number): void {
    let i = this.n;
    if (cls === SEP) {
      this.sameRun = 0;
      if (this.sepRun >= 2 * SEP_KEEP) {
        // Merge the first of the last SEP_KEEP into the unit before it, shift the rest down.
        const a = i - SEP_KEEP - 1;
        this.end[a] = this.end[a + 1] as number;
        this.flags[a] = ((this.flags[a] as number) | (this.flags[a + 1] as number)) & ~F_LEETSYM;
        for (let k = a + 1; k < i - 1; k++) {
          this.cp[k] = this.cp[k + 1] as number;
          this.cls[k] = this.cls[k + 1] as number;
          this.start[k] = this.start[k + 1] as number;
          this.end[k] = this.end[k + 1] as number;
          this.flags[k] = this.flags[k + 1] as number;
        }
        i--;
      } else this.sepRun++;
    } else {
      this.sepRun = 0;
      if (cls === CJK) this.cjk++;
      if (i > 0 && this.cp[i - 1] === cp && this.cls[i - 1] === cls) {
        if (this.sameRun >= RUN_CAP) {
          this.end[i - 1] = end;
          return;
        }
        this.sameRun++;
      } else this.sameRun = 1;
    }
    if (i >= this.cp.length) {
      this.cp = grow(this.cp, i + 1);
      this.cls = grow(this.cls, i + 1);
      this.start = grow(this.start, i + 1);
      this.end = grow(this.end, i + 1);
      this.flags = grow(this.flags, i + 1);
    }
    this.cp[i] = cp;
    this.cls[i] = cls;
    this.start[i] = start;
    this.end[i] = end;
    this.flags[i] = flags;
    this.n = i + 1;
  }

  /** Drops the units before `from` (segment overlap: the rest becomes the start). */
  shift(from: number): void {
    const n = this.n - from;
    this.cp.copyWithin(0, from, this.n);
    this.cls.copyWithin(0, from, this.n);
    this.start.copyWithin(0, from, this.n);
    this.end.copyWithin(0, from, this.n);
    this.flags.copyWithin(0, from, this.n);
    this.n = n;
    this.sepRun = 0;
    while (this.sepRun < n && this.cls[n - 1 - this.sepRun] === SEP) this.sepRun++;
    this.sameRun = 0;
    if (n > 0 && this.cls[n - 1] !== SEP)
      while (
        this.sameRun < n &&
        this.cp[n - 1 - this.sameRun] === this.cp[n - 1] &&
        this.cls[n - 1 - this.sameRun] === this.cls[n - 1]
      )
        this.sameRun++;
  }
}

/** Phase 2 output: the normalized stream and, in plain mode, the numbers found. */
export class Stream {
  n = 0;
  cp = new Int32Array(256);
  cls = new Int32Array(256);
  start = new Int32Array(256);
  end = new Int32Array(256);
  run = new Int32Array(256);
  /**
   * Leet stream: a run of one letter that goes on across a squashed word boundary (`glas sun`
   * has one `s` run over both words) keeps where the boundary is: the units of the run before it
   * (`splitRun`, 0 when the run has no boundary inside), the original end of that part and the
   * original start of the rest, so a term may end or start at the boundary.
   */
  splitRun = new Int32Array(256);
  splitEnd = new Int32Array(256);
  splitStart = new Int32Array(256);
  tok = new Int32Array(256);
  flags = new Int32Array(256);
  /** Numbers (digit runs, CJK numeral runs): value, stream index of first/last unit. */
  numCount = 0;
  numValue = new Int32Array(16);
  numFirst = new Int32Array(16);
  numLast = new Int32Array(16);
  /** Digit numbers that stand alone (not a decimal, a weight `:1.2`, a size `512x512`, a time). */
  numAlone = new Uint8Array(16);

  reserve(n: number): void {
    if (n <= this.cp.length) return;
    this.cp = grow(this.cp, n);
    this.cls = grow(this.cls, n);
    this.start = grow(this.start, n);
    this.end = grow(this.end, n);
    this.run = grow(this.run, n);
    this.splitRun = grow(this.splitRun, n);
    this.splitEnd = grow(this.splitEnd, n);
    this.splitStart = grow(this.splitStart, n);
    this.tok = grow(this.tok, n);
    this.flags = grow(this.flags, n);
  }

  addNumber(value: number, first: number, last: number, alone = false): void {
    const i = this.numCount++;
    if (i >= this.numValue.length) {
      this.numValue = grow(this.numValue, i + 1);
      this.numFirst = grow(this.numFirst, i + 1);
      this.numLast = grow(this.numLast, i + 1);
      const a = new Uint8Array(this.numValue.length);
      a.set(this.numAlone);
      this.numAlone = a;
    }
    this.numValue[i] = value;
    this.numFirst[i] = first;
    this.numLast[i] = last;
    this.numAlone[i] = alone ? 1 : 0;
  }

  /** The normalized text (for tests and debugging). */
  text(): string {
    let s = '';
    for (let i = 0; i < this.n; i++) s += String.fromCodePoint(this.cp[i] as number).repeat(this.run[i] as number);
    return s;
  }
}

/** Code point → code point, with an array for the first 2048 code points (the hot ones). */
export class CodeMap {
  private readonly low = new Int32Array(0x800).fill(-1);
  private readonly high = new Map<number, number>();

  set(key: number, value: number): void {
    if (key < 0x800) this.low[key] = value;
    else this.high.set(key, value);
  }

  /** The value, or -1. */
  get(key: number): number {
    return key < 0x800 ? (this.low[key] as number) : (this.high.get(key) ?? -1);
  }

  has(key: number): boolean {
    return this.get(key) >= 0;
  }
}

/** Data the normalizer needs besides the folder. */
export interface NormalizeData {
  /** Digit or symbol → letter, for leet mode. */
  leet: CodeMap;
  /** Letter → letter merged in leet mode (`l` → `i`). */
  merge: CodeMap;
  /** Letter of another script → its Latin look-alike, in leet mode (`т` → `t`, `η` → `n`). */
  skeleton: CodeMap;
  /** Symbols read as letters at the end of a word too (`$`, `@`): others there are punctuation. */
  trailing: CodeMap;
  /** CJK numeral (folded) → digit value 0-9, or 10 / 100 / 1000 for the multipliers. */
  numerals: ReadonlyMap<number, number>;
  /** Function words (articles, prepositions…) in leet-stream form, for words joined across spaces. */
  functionWords?: ReadonlySet<string>;
}

const MAX_NUMBER = 100_000;
const clsCache = new Uint8Array(0x10000).fill(255);
const clsAstral = new Map<number, number>();

function cls(cp: number): number {
  if (cp < 0x10000) {
    let c = clsCache[cp] as number;
    if (c === 255) c = clsCache[cp] = classOf(cp);
    return c;
  }
  let c = clsAstral.get(cp);
  if (c === undefined) clsAstral.set(cp, (c = classOf(cp)));
  return c;
}

const WHITESPACE = /\s/u;

/**
 * Phase 1: folds `text[from, to)` into `units`, appending, until `maxUnits` units are held or
 * `to` is reached. Returns the offset after the last code point folded. Unit offsets are
 * `base + index` (`base`: where `text` starts in a longer input given in chunks).
 */
export function foldUnits(
  text: string,
  from: number,
  to: number,
  folder: Folder,
  data: NormalizeData,
  u: Units,
  maxUnits = Number.POSITIVE_INFINITY,
  base = 0,
): number {
  const leet = data.leet;
  let i = from;
  while (i < to && u.n < maxUnits) {
    let cp = text.charCodeAt(i);
    let j = i + 1;
    const at = base + i;
    if (cp < 0x80) {
      if (cp >= 0x61 && cp <= 0x7a) u.push(cp, LETTER, at, at + 1, 0);
      else if (cp >= 0x41 && cp <= 0x5a) u.push(cp + 32, LETTER, at, at + 1, 0);
      else if (cp >= 0x30 && cp <= 0x39) u.push(cp, DIGIT, at, at + 1, 0);
      else {
        const ws =
          cp === 0x20 || cp === 0x09
            ? F_WS
            : cp === 0x0a || cp === 0x0d || cp === 0x0b || cp === 0x0c
              ? F_WS | F_NL
              : 0;
        u.push(cp, SEP, at, at + 1, ws | (leet.has(cp) ? F_LEETSYM : 0));
      }
      i = j;
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const lo = j < to ? text.charCodeAt(j) : 0;
      if (cp <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
        cp = (cp - 0xd800) * 0x400 + (lo - 0xdc00) + 0x10000;
        j++;
      } else {
        u.push(0xfffd, SEP, at, base + j, 0); // a lone surrogate
        i = j;
        continue;
      }
    }
    const folded = folder.fold(cp);
    if (folded.length === 0) {
      // Ignorable or a combining mark: it belongs to the character before (spans cover it).
      if (u.n > 0 && u.end[u.n - 1] === at) u.end[u.n - 1] = base + j;
      i = j;
      continue;
    }
    for (let k = 0; k < folded.length; k++) {
      let q = folded.charCodeAt(k);
      if (q >= 0xd800 && q <= 0xdbff && k + 1 < folded.length) {
        q = (q - 0xd800) * 0x400 + (folded.charCodeAt(k + 1) - 0xdc00) + 0x10000;
        k++;
      }
      const c = cls(q);
      let flags = 0;
      if (c === SEP) {
        if (WHITESPACE.test(String.fromCodePoint(q)))
          flags = q === 0x2028 || q === 0x2029 || q === 0x85 ? F_WS | F_NL : F_WS;
        if (leet.has(q)) flags |= F_LEETSYM;
      }
      u.push(q, c, at, base + j, flags);
    }
    i = j;
  }
  return i;
}

// Scratch for phase 2 (single-threaded; reused across calls).
let ecp = new Int32Array(256);
let ecls = new Int32Array(256);
let eflag = new Int32Array(256);

/** Single-letter runs this long or longer are joined. */
const MIN_SINGLES = 3;
/** All-digit words this long or longer are read as letters in leet mode (`1011`). */
const MIN_DIGIT_WORD = 3;
/** eflag bits: leet-substituted, dropped gap, leet candidate single, squashed separator. */
const E_LEET = 1;
const E_DROP = 2;
const E_CAND = 4;
const E_SQUASH = 8;
const E_JOINED = 16;
const E_WSGAP = 32;

/**
 * Phase 2: the stream of `units` in `plain` or `leet` mode. Token numbers start at `tokBase`.
 * Numbers are collected in plain mode only.
 */
export function buildStream(u: Units, mode: 'plain' | 'leet', data: NormalizeData, out: Stream, tokBase = 0): void {
  const n = u.n;
  if (ecp.length < n) {
    ecp = grow(ecp, n);
    ecls = grow(ecls, n);
    eflag = grow(eflag, n);
  }
  // Locals: module-level bindings are slower to reach in hot loops.
  const cps = ecp;
  const classes = ecls;
  const marks = eflag;
  const leetMode = mode === 'leet';
  const ucp = u.cp;
  const ucls = u.cls;
  for (let k = 0; k < n; k++) {
    cps[k] = ucp[k] as number;
    classes[k] = ucls[k] as number;
    marks[k] = 0;
  }
  if (leetMode) leetChunks(u, data.leet, data.trailing, cps, classes, marks);
  joinSingles(u, data.leet, leetMode, cps, classes, marks);
  if (u.cjk > 0) joinCjk(u, classes, marks);
  if (leetMode) {
    const merge = data.merge;
    const skeleton = data.skeleton;
    for (let k = 0; k < n; k++) {
      if (classes[k] !== LETTER) continue;
      let c = cps[k] as number;
      if (c >= 0x80) {
        const t = skeleton.get(c);
        if (t >= 0) c = t;
      }
      const m = merge.get(c);
      cps[k] = m >= 0 ? m : c;
    }
    squash(u, classes, marks);
  }
  emit(u, data, out, !leetMode, tokBase, cps, classes, marks);
}

function inChunk(k: number, cls: Int32Array, flags: Int32Array): boolean {
  const c = cls[k] as number;
  return c === LETTER || c === DIGIT || ((flags[k] as number) & F_LEETSYM) !== 0;
}

function leetChunks(
  u: Units,
  leet: CodeMap,
  trailing: CodeMap,
  ecp: Int32Array,
  ecls: Int32Array,
  eflag: Int32Array,
): void {
  const n = u.n;
  const { cls, flags, cp } = u;
  for (let k = 0; k < n; ) {
    if (!inChunk(k, cls, flags)) {
      k++;
      continue;
    }
    let e = k;
    let letters = 0;
    while (e < n && inChunk(e, cls, flags)) {
      if (cls[e] === LETTER) letters++;
      e++;
    }
    // Trailing symbols are punctuation ("nude!") unless they are only letters ("$", "@");
    // leading ones may be letters ("$ex").
    let last = e - 1;
    while (last >= k && cls[last] === SEP && !(letters > 0 && trailing.has(cp[last] as number))) last--;
    const len = last - k + 1;
    let digitWord = false;
    if (letters === 0 && len >= MIN_DIGIT_WORD) {
      // A word written only in digits (and symbols): read as letters when every unit has one.
      // Years (1900-2099) stay numbers.
      digitWord = !(len === 4 && (cp[k] === 0x31 ? cp[k + 1] === 0x39 : cp[k] === 0x32 && cp[k + 1] === 0x30));
      for (let m = k; m <= last; m++) if (leet.get(cp[m] as number) < 0) digitWord = false;
    }
    if ((letters > 0 && letters < len) || digitWord) {
      for (let m = k; m <= last; m++) {
        if (cls[m] === LETTER) continue;
        const to = leet.get(cp[m] as number);
        if (to < 0) continue;
        ecp[m] = to;
        ecls[m] = LETTER;
        eflag[m] = E_LEET;
      }
    } else if (letters === 0 && len === 1 && leet.has(cp[k] as number)) {
      eflag[k] = E_CAND; // maybe a letter of a spaced-out word ("5 e x")
    }
    k = e;
  }
}

function isWordUnit(c: number): boolean {
  return c === LETTER || c === DIGIT || c === CJK;
}

/**
 * If a single letter starts at `k` (a letter, or in leet mode a candidate, with no letter, digit
 * or CJK neighbour; the units of one original character count as one letter: `ы` folds to two),
 * the index of its last unit, else -1.
 */
function singleAt(k: number, u: Units, ecls: Int32Array, eflag: Int32Array, leetMode: boolean): number {
  if (ecls[k] !== LETTER && !(leetMode && ((eflag[k] as number) & E_CAND) !== 0)) return -1;
  if (k > 0 && isWordUnit(ecls[k - 1] as number)) return -1;
  const n = u.n;
  const at = u.start[k] as number;
  let e = k;
  while (e + 1 < n && ecls[e + 1] === LETTER && u.start[e + 1] === at) e++;
  return e + 1 < n && isWordUnit(ecls[e + 1] as number) ? -1 : e;
}

/** Separators that may split the letters of a spaced-out word (not , ; : ! ? brackets quotes). */
function isGapChar(cp: number): boolean {
  return (
    cp === 0x20 ||
    cp === 0x09 ||
    cp === 0x2e ||
    cp === 0x2d ||
    cp === 0x5f ||
    cp === 0x2a ||
    cp === 0x2f ||
    cp === 0x5c ||
    cp === 0x7c ||
    cp === 0x2b ||
    cp === 0x7e ||
    cp === 0x27 ||
    cp === 0x60 ||
    cp === 0xb7 ||
    cp === 0x2022 ||
    cp === 0x2010 ||
    cp === 0x2013 ||
    cp === 0x2014 ||
    cp === 0x30fb
  );
}

/** Marks the separators inside runs of spaced single letters as dropped. */
function joinSingles(
  u: Units,
  leet: CodeMap,
  leetMode: boolean,
  ecp: Int32Array,
  ecls: Int32Array,
  eflag: Int32Array,
): void {
  const n = u.n;
  const flags = u.flags;
  let k = 0;
  while (k < n) {
    // Fast skip: inside a word (two word units in a row), jump past it.
    if (
      k + 1 < n &&
      isWordUnit(ecls[k] as number) &&
      isWordUnit(ecls[k + 1] as number) &&
      u.start[k] !== u.start[k + 1]
    ) {
      k += 2;
      while (k < n && isWordUnit(ecls[k] as number)) k++;
      continue;
    }
    let cur = singleAt(k, u, ecls, eflag, leetMode);
    if (cur < 0) {
      k++;
      continue;
    }
    let count = 1;
    let letters = ecls[k] === LETTER ? 1 : 0;
    for (;;) {
      let g = cur + 1;
      let gap = 0;
      let ok = true;
      // Spacing separators of any kind and length (runs are bounded in units already); never
      // phrase breaks (, ; : ! ? brackets quotes) or line breaks.
      while (g < n && ecls[g] === SEP && !(leetMode && ((eflag[g] as number) & E_CAND) !== 0)) {
        if (((flags[g] as number) & F_NL) !== 0 || !isGapChar(u.cp[g] as number)) ok = false;
        gap++;
        g++;
      }
      if (!ok || gap === 0 || g >= n) break;
      const e = singleAt(g, u, ecls, eflag, leetMode);
      if (e < 0) break;
      count++;
      if (ecls[g] === LETTER) letters++;
      cur = e;
    }
    if (count >= MIN_SINGLES && letters > 0) {
      for (let m = k; m <= cur; m++) {
        const f = eflag[m] as number;
        // In leet mode the gaps are left to `squash`, which keeps a boundary between the letters
        // (a spaced word after a one-letter word, "a w o r d", is still found).
        // In plain mode they are dropped the same way (a boundary kept between the letters).
        if (ecls[m] === SEP && (f & E_CAND) === 0)
          eflag[m] = leetMode ? f | E_JOINED : f | E_DROP | E_SQUASH | E_JOINED;
        else if (ecls[m] !== LETTER) {
          ecp[m] = leet.get(u.cp[m] as number);
          ecls[m] = LETTER;
          eflag[m] = E_LEET;
        }
      }
    }
    k = cur + 1;
  }
}

/**
 * Leet stream only: separators that do not break phrases (spaces, dots, dashes, underscores and
 * the other spacing characters) are dropped, so words split into chunks (`wo rd`, `wo.r-d`) and
 * multi-word terms written joined (`littleword` for `little word`, compiled without spaces in this
 * mode) read alike. The boundaries stay as unit flags (S_WSTART, S_WEND): a term must still start
 * and end at word boundaries of the original, so a chunked term is whole tokens, never a piece of
 * a word. Phrase breaks (, ; : ! ? brackets, quotes, line breaks) stay spaces.
 */
function squash(u: Units, ecls: Int32Array, eflag: Int32Array): void {
  const n = u.n;
  const { cp, flags } = u;
  for (let k = 0; k < n; k++) {
    if (ecls[k] !== SEP || ((eflag[k] as number) & E_DROP) !== 0) continue;
    let g = k;
    let ok = true;
    let ws = true;
    while (g < n && ecls[g] === SEP && ((eflag[g] as number) & E_DROP) === 0) {
      const f = flags[g] as number;
      if ((f & F_NL) !== 0 || !isGapChar(cp[g] as number)) ok = false;
      if ((f & F_WS) === 0 || ((eflag[g] as number) & E_JOINED) !== 0) ws = false;
      g++;
    }
    const mark = E_DROP | E_SQUASH | (ws ? E_WSGAP : 0);
    if (ok) for (let m = k; m < g; m++) eflag[m] = (eflag[m] as number) | mark;
    k = g;
  }
}

/** Spacing characters dropped between CJK characters (CJK text has no spaces between words). */
function isSpacing(cp: number): boolean {
  return (
    cp === 0x20 ||
    cp === 0x3000 ||
    cp === 0x09 ||
    cp === 0x7e ||
    cp === 0x7c ||
    cp === 0x2b ||
    cp === 0x2e ||
    cp === 0x2d ||
    cp === 0x5f ||
    cp === 0x2a ||
    cp === 0x2f ||
    cp === 0xb7 ||
    cp === 0x2022 ||
    cp === 0x30fb
  );
}

/** Drops short spacing between two CJK characters (`幼 女`, `幼.女`). */
function joinCjk(u: Units, ecls: Int32Array, eflag: Int32Array): void {
  const n = u.n;
  const { cp, flags } = u;
  for (let k = 1; k < n; k++) {
    if (ecls[k] !== SEP || ecls[k - 1] !== CJK) continue;
    let g = k;
    let ok = true;
    while (g < n && ecls[g] === SEP) {
      if (((flags[g] as number) & F_NL) !== 0 || !isSpacing(cp[g] as number)) ok = false;
      g++;
    }
    if (ok && g < n && ecls[g] === CJK) for (let m = k; m < g; m++) eflag[m] = (eflag[m] as number) | E_DROP;
    k = g;
  }
}

function emit(
  u: Units,
  data: NormalizeData,
  o: Stream,
  numbers: boolean,
  tokBase: number,
  ecp: Int32Array,
  ecls: Int32Array,
  eflag: Int32Array,
): void {
  const n = u.n;
  o.reserve(n + 1);
  o.numCount = 0;
  const { start, end, flags } = u;
  const ocp = o.cp;
  const ocls = o.cls;
  const ostart = o.start;
  const oend = o.end;
  const orun = o.run;
  const otok = o.tok;
  const oflags = o.flags;
  const numerals = data.numerals;
  let m = 0; // emitted
  let tok = tokBase - 1;
  let lastCls = -1;
  let numVal = 0;
  let numFirst = -1;
  let numUnit = -1;
  let cjkFirst = -1;
  let boundaryNext = false;
  let wsGapNext = false;
  for (let k = 0; k < n; k++) {
    const ef = eflag[k] as number;
    if ((ef & E_DROP) !== 0) {
      if ((ef & E_SQUASH) !== 0) {
        // A squashed separator (leet stream): a word boundary between the units around it.
        if (m > 0 && !boundaryNext)
          oflags[m - 1] = (oflags[m - 1] as number) | S_WEND | ((ef & E_JOINED) === 0 ? S_SHOWN : 0);
        boundaryNext = m > 0;
        wsGapNext = (ef & E_WSGAP) !== 0;
      }
      continue;
    }
    const c = ecls[k] as number;
    const p = ecp[k] as number;
    if (c === SEP) {
      boundaryNext = false;
      wsGapNext = false;
      const f = flags[k] as number;
      const hard =
        ((f & F_WS) === 0 || (f & F_NL) !== 0 ? S_HARD : 0) |
        ((f & F_NL) !== 0 || !isGapChar(u.cp[k] as number) ? S_BREAK : 0);
      if (lastCls === SEP) {
        oend[m - 1] = end[k] as number;
        oflags[m - 1] = (oflags[m - 1] as number) | hard;
        continue;
      }
      if (numbers) {
        if (numFirst >= 0) {
          o.addNumber(numVal, numFirst, m - 1, aloneNumber(u, ecls, numUnit, k));
          numFirst = -1;
        }
        if (cjkFirst >= 0) {
          o.addNumber(cjkValue(o, cjkFirst, m - 1, numerals), cjkFirst, m - 1);
          cjkFirst = -1;
        }
      }
      ocp[m] = 0x20;
      ocls[m] = SEP;
      ostart[m] = start[k] as number;
      oend[m] = end[k] as number;
      orun[m] = 1;
      o.splitRun[m] = 0;
      otok[m] = tok;
      oflags[m] = hard;
      m++;
      lastCls = SEP;
      continue;
    }
    const leet = (ef & E_LEET) !== 0 ? S_LEET : 0;
    const wstart = boundaryNext ? S_WSTART | (wsGapNext ? S_WSGAP : 0) : 0;
    boundaryNext = false;
    wsGapNext = false;
    if (c !== DIGIT && lastCls === c && ocp[m - 1] === p) {
      // A run continues across a squashed separator ("te en"): the boundary is kept inside it.
      if (wstart !== 0 && o.splitRun[m - 1] === 0) {
        o.splitRun[m - 1] = orun[m - 1] as number;
        o.splitEnd[m - 1] = oend[m - 1] as number;
        o.splitStart[m - 1] = start[k] as number;
        oflags[m - 1] = (oflags[m - 1] as number) & ~S_WEND;
        if ((wstart & S_WSGAP) !== 0) oflags[m - 1] = (oflags[m - 1] as number) | S_WSGAP;
      }
      orun[m - 1] = (orun[m - 1] as number) + 1;
      oend[m - 1] = end[k] as number;
      oflags[m - 1] = (oflags[m - 1] as number) | leet;
      continue;
    }
    if (c === CJK || lastCls !== c) tok++;
    if (numbers) {
      if (c !== DIGIT && numFirst >= 0) {
        o.addNumber(numVal, numFirst, m - 1);
        numFirst = -1;
      }
      const numeral = c === CJK ? numerals.get(p) : undefined;
      if (numeral === undefined) {
        if (cjkFirst >= 0) {
          o.addNumber(cjkValue(o, cjkFirst, m - 1, numerals), cjkFirst, m - 1);
          cjkFirst = -1;
        }
      } else if (cjkFirst < 0) cjkFirst = m;
      if (c === DIGIT) {
        if (numFirst < 0) {
          numFirst = m;
          numUnit = k;
          numVal = 0;
        }
        numVal = Math.min(MAX_NUMBER, numVal * 10 + (p - 0x30));
      }
    }
    ocp[m] = p;
    ocls[m] = c;
    ostart[m] = start[k] as number;
    oend[m] = end[k] as number;
    orun[m] = 1;
    o.splitRun[m] = 0;
    otok[m] = tok;
    oflags[m] = leet | wstart;
    m++;
    lastCls = c;
  }
  o.n = m;
  if (numbers) {
    if (numFirst >= 0) o.addNumber(numVal, numFirst, m - 1, aloneNumber(u, ecls, numUnit, n));
    if (cjkFirst >= 0) o.addNumber(cjkValue(o, cjkFirst, m - 1, numerals), cjkFirst, m - 1);
  }
}

/** Separators that make a digit run part of something else before it (`:1`, `.5`, `x512`, `#3`). */
function badBefore(cp: number): boolean {
  return cp === 0x3a || cp === 0x2e || cp === 0x2f || cp === 0x23 || cp === 0x24 || cp === 0x3d || cp === 0x2a;
}
/** ... and after it (`3:00`, `1/2`, `50%`, `3+`). */
function badAfter(cp: number): boolean {
  return cp === 0x3a || cp === 0x2f || cp === 0x25 || cp === 0x2b;
}

/**
 * Whether the digit run of units [first, end) stands alone: separators (or the text's ends) on
 * both sides, and none that makes it a decimal, a weight, a ratio, a time or a percentage. A comma
 * after it is fine unless a digit follows (`1,000`).
 */
function aloneNumber(u: Units, ecls: Int32Array, first: number, end: number): boolean {
  const n = u.n;
  if (first > 0) {
    const c = ecls[first - 1] as number;
    if (c !== SEP || badBefore(u.cp[first - 1] as number)) return false;
  }
  if (end < n) {
    if (ecls[end] !== SEP) return false;
    const cp = u.cp[end] as number;
    const digitNext = end + 1 < n && ecls[end + 1] === DIGIT;
    if (cp === 0x2e || cp === 0x2c) return !digitNext; // "15." and "15," yes; "1.5" and "1,000" no
    if (badAfter(cp)) return false;
  }
  return true;
}

/** Value of a run of CJK numerals: positional (二五 = 25) or with multipliers (二十五 = 25). */
function cjkValue(o: Stream, first: number, last: number, numerals: ReadonlyMap<number, number>): number {
  let total = 0;
  let cur = 0;
  let positional = 0;
  let multipliers = false;
  for (let i = first; i <= last; i++) {
    const v = numerals.get(o.cp[i] as number) as number;
    const times = o.run[i] as number;
    for (let t = 0; t < times; t++) {
      if (v >= 10) {
        multipliers = true;
        total += (cur === 0 ? 1 : cur) * v;
        cur = 0;
      } else {
        cur = v;
        positional = Math.min(MAX_NUMBER, positional * 10 + v);
      }
    }
  }
  return multipliers ? Math.min(MAX_NUMBER, total + cur) : positional;
}
