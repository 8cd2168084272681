/**
 * @module text/engine
 * Finds lexicon terms and stated ages in a text: normalization (both modes), one automaton pass
 * per mode, word boundaries and run lengths, de-duplication, cross-language confirmation,
 * longest-match suppression (look-alikes and longer terms hide what they contain), and ages
 * from numbers next to age units or prefixes. Emits hits in text order.
 *
 * Long texts are processed in segments of `segment` units (folded code points; runs and
 * separator runs are bounded, zero-width characters produce none) that overlap by a guard of
 * units longer than any term can span, so memory stays bounded and nothing is cut: each hit is
 * accepted in exactly one segment, the one where it starts well inside, and the overlap is
 * carried over as units (never folded twice), which keeps the total work linear.
 */
import { DIGIT, LETTER, SEP } from './fold.js';
import { type Entry, type Lexicon, loadLexicon, type Pattern } from './lexicon.js';
import {
  buildStream,
  foldUnits,
  S_BREAK,
  S_HARD,
  S_SHOWN,
  S_WEND,
  S_WSGAP,
  S_WSTART,
  Stream,
  Units,
} from './normalize.js';
import type { Strength, TextCategory } from './types.js';

/** A term or stated age found in the text, in original offsets. */
export interface Hit {
  category: TextCategory;
  strength: Strength;
  /** Lexicon language; several, comma-separated, when the same term is in more than one. */
  lang: string;
  group: string;
  /** The lexicon form (for ages: the unit or prefix). */
  term: string;
  start: number;
  end: number;
  /** Token index (for windows). */
  tok: number;
  /** Stated age in years, for ages. */
  age?: number;
}

interface Raw {
  e: Entry;
  start: number;
  end: number;
  tokS: number;
  tokE: number;
  /** Plain-stream index of the last unit (-1 for leet-stream hits). */
  last: number;
  dead: boolean;
  /** No word boundary at the start / end: valid only glued to another hit there (`wordword`). */
  openS: boolean;
  openE: boolean;
  /** Read across spaces between words one of which is a function word (`men in a`): weak only. */
  weak: boolean;
}

interface Num {
  value: number;
  /** Plain-stream index of the first unit (-1 for number words). */
  firstUnit: number;
  /** Digits standing alone (for bare ages next to a sexual term). */
  alone: boolean;
  tokS: number;
  tokE: number;
  start: number;
  end: number;
  last: number;
  word: boolean;
}

/** Units per segment. */
export const SEGMENT = 1 << 16;
/**
 * Units of overlap on each side of a segment cut: more than any term can span (terms are at
 * most ~50 normalized units, each of which comes from at most 8 units), plus context.
 */
export const GUARD = 2048;
/** Tokens around a `confirm` term searched for evidence of its language. */
const CONFIRM_WINDOW = 64;

export class Engine {
  private readonly units = new Units();
  private readonly plain = new Stream();
  private readonly leet = new Stream();
  /**
   * Original end offsets of the hits found so far in this segment (plain stream, then leet; each
   * in text order): a hit without a boundary at its start is kept only when one ends there.
   */
  private readonly ends = new Set<number>();

  constructor(readonly lexicon: Lexicon) {}

  static load(): Engine {
    return new Engine(loadLexicon());
  }

  /** Normalized form of a text (tests, debugging): the stream's text and its offset map. */
  normalize(text: string, mode: 'plain' | 'leet' = 'plain'): { text: string; starts: number[]; ends: number[] } {
    const { folder, data } = this.lexicon;
    this.units.clear();
    foldUnits(text, 0, text.length, folder, data, this.units);
    const s = mode === 'plain' ? this.plain : this.leet;
    buildStream(this.units, mode, data, s);
    const starts: number[] = [];
    const ends: number[] = [];
    let out = '';
    for (let i = 0; i < s.n; i++) {
      for (let r = 0; r < (s.run[i] as number); r++) {
        starts.push(s.start[i] as number);
        ends.push(s.end[i] as number);
        out += String.fromCodePoint(s.cp[i] as number);
      }
      // The leet stream drops spacing between words (squashed) but keeps the boundary: shown as a space.
      if (((s.flags[i] as number) & S_SHOWN) !== 0 && i + 1 < s.n) {
        starts.push(s.end[i] as number);
        ends.push(s.start[i + 1] as number);
        out += ' ';
      }
    }
    return { text: out, starts, ends };
  }

  /**
   * Calls `onHit` for every hit, in order of start offset. `segment` is the number of units per
   * segment (at least 4 x the overlap; smaller values are raised).
   */
  scan(text: string, onHit: (hit: Hit) => void, segment = SEGMENT): void {
    let given = false;
    this.scanChunks(
      () => {
        if (given) return undefined;
        given = true;
        return text;
      },
      onHit,
      segment,
    );
  }

  /**
   * The same over a text given in chunks (`next()` returns the next chunk, undefined at the end;
   * a chunk never splits a surrogate pair). Offsets count from the start of the first chunk.
   */
  scanChunks(next: () => string | undefined, onHit: (hit: Hit) => void, segment = SEGMENT): void {
    const { folder, data } = this.lexicon;
    const u = this.units;
    const maxUnits = Math.max(segment, 4 * GUARD);
    u.clear();
    let chunk: string | undefined = next() ?? '';
    let base = 0;
    let pos = 0;
    let acceptFrom = 0;
    // Token numbers continue across segments: aligned at the cut (`acceptFrom`), where both
    // segments tokenize alike.
    let alignTok = 0;
    for (;;) {
      // Fold until the segment is full or the input ends.
      while (u.n < maxUnits && chunk !== undefined) {
        pos = foldUnits(chunk, pos, chunk.length, folder, data, u, maxUnits, base);
        if (pos >= chunk.length) {
          base += chunk.length;
          pos = 0;
          chunk = next();
        }
      }
      const last = chunk === undefined;
      const plain = this.plain;
      buildStream(u, 'plain', data, plain);
      if (acceptFrom > 0) {
        const delta = alignTok - this.tokenAtOrAfter(acceptFrom);
        if (delta !== 0) for (let i = 0; i < plain.n; i++) plain.tok[i] = (plain.tok[i] as number) + delta;
      }
      let acceptTo = Number.POSITIVE_INFINITY;
      let carry = 0;
      if (!last) {
        const q = u.n - GUARD;
        carry = q - GUARD;
        acceptTo = u.start[q] as number;
        alignTok = this.tokenAtOrAfter(acceptTo);
      }
      buildStream(u, 'leet', data, this.leet);
      const raws: Raw[] = [];
      this.ends.clear();
      this.match(plain, false, raws);
      this.match(this.leet, true, raws);
      this.resolve(raws, acceptFrom, acceptTo, onHit);
      if (last) return;
      u.shift(carry);
      acceptFrom = acceptTo;
    }
  }

  /** The number of the first token at or after an original offset (plain stream). */
  private tokenAtOrAfter(offset: number): number {
    const st = this.plain;
    let lo = 0;
    let hi = st.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((st.start[mid] as number) < offset) lo = mid + 1;
      else hi = mid;
    }
    // `lo`: the first unit starting at or after the offset; a unit starting before it covers it.
    const i = lo < st.n && st.start[lo] === offset ? lo : lo - 1;
    if (i < 0) return 0;
    return st.cls[i] === SEP ? (st.tok[i] as number) + 1 : (st.tok[i] as number);
  }

  private match(st: Stream, leetMode: boolean, out: Raw[]): void {
    const { automaton, patterns } = this.lexicon;
    const outs = automaton.out;
    const dict = automaton.dict;
    let state = 0;
    for (let i = 0; i < st.n; i++) {
      state = automaton.step(state, st.cp[i] as number);
      let q = (outs[state] as number) >= 0 ? state : (dict[state] as number);
      while (q >= 0) {
        const p = patterns[outs[q] as number] as Pattern;
        this.check(st, p, i - p.length + 1, i, leetMode, out);
        q = dict[q] as number;
      }
    }
  }

  private check(st: Stream, p: Pattern, a: number, b: number, leetMode: boolean, out: Raw[]): void {
    // A missing boundary is kept as "open": the hit counts only glued to another hit there.
    // In the leet stream a run may hold a word boundary (squashed): the term may start after it
    // or end before it, when the part of the run on its side is long enough.
    const splitA = st.splitRun[a] as number;
    const splitB = st.splitRun[b] as number;
    const needS =
      boundary(p.startCls) && a > 0 && st.cls[a - 1] === p.startCls && ((st.flags[a] as number) & S_WSTART) === 0;
    // The common case, a piece of a longer word with nothing glued before it: nothing to keep.
    if (needS && splitA === 0 && !this.ends.has(st.start[a] as number)) return;
    if (p.spaced)
      for (let i = a + 1; i < b; i++) if (((st.flags[i] as number) & S_BREAK) !== 0 && st.cls[i] === SEP) return;
    const needE =
      boundary(p.endCls) && b + 1 < st.n && st.cls[b + 1] === p.endCls && ((st.flags[b] as number) & S_WEND) === 0;
    const entries = this.lexicon.entries;
    let weak: boolean | undefined;
    for (const v of p.variants) {
      const ids = leetMode ? v.leet : v.plain;
      if (ids.length === 0) continue;
      const first = v.runs ? (v.runs[0] as number) : 1;
      const lastRun = v.runs ? (v.runs[v.runs.length - 1] as number) : 1;
      // Start and end at a boundary inside a run, when there is none outside it.
      // (Preferred to the run's own edges: the boundary inside is a word boundary of the original.)
      const fromSplit = splitA > 0 && (st.run[a] as number) - splitA >= first && (a !== b || splitB === 0);
      const toSplit = splitB > 0 && splitB >= lastRun && (a !== b || !fromSplit);
      if (v.runs) {
        let ok = true;
        const exact = v.exact === true;
        const lastJ = v.runs.length - 1;
        for (let j = 0; j <= lastJ; j++) {
          // The run's part on the term's side of a boundary inside it, at the ends.
          let run = st.run[a + j] as number;
          if (j === 0 && fromSplit) run -= splitA;
          else if (j === lastJ && toSplit) run = splitB;
          if (run < (v.runs[j] as number) || (exact && run !== v.runs[j])) {
            ok = false;
            break;
          }
        }
        if (!ok) continue;
      }
      const openS = needS && !fromSplit;
      weak ??= leetMode && this.joinsFunctionWord(st, a, b);
      for (const id of ids) {
        const e = entries[id] as Entry;
        const openE = needE && !toSplit && !e.stem;
        if (leetMode && e.kind !== 'term' && e.kind !== 'lookalike') continue;
        if ((openS || openE) && !GLUABLE[e.kind]) continue;
        if (openS && !this.ends.has(fromSplit ? (st.splitStart[a] as number) : (st.start[a] as number))) continue;
        const start = fromSplit ? (st.splitStart[a] as number) : (st.start[a] as number);
        const end = toSplit ? (st.splitEnd[b] as number) : (st.end[b] as number);
        let tokS: number;
        let tokE: number;
        if (leetMode) {
          tokS = this.tokAt(start);
          tokE = this.tokAt(Math.max(start, end - 1));
        } else {
          tokS = st.tok[a] as number;
          tokE = st.tok[b] as number;
        }
        this.ends.add(end);
        out.push({
          e,
          start,
          end,
          tokS,
          tokE,
          last: leetMode ? -1 : b,
          dead: false,
          openS,
          openE,
          weak: weak === true,
        });
      }
    }
  }

  /**
   * Whether a leet-stream match [a, b] joins words across whitespace only and those words are
   * all function words (`an al`): ordinary text, not a word split on purpose, so the hit is weak. Chunks split by other separators (`wo.rd`), or spaced letters, are not looked at.
   */
  private joinsFunctionWord(st: Stream, a: number, b: number): boolean {
    const fw = this.lexicon.data.functionWords;
    if (fw === undefined || fw.size === 0) return false;
    let ws = false;
    for (let i = a + 1; i <= b; i++) if (((st.flags[i] as number) & S_WSGAP) !== 0) ws = true;
    if (!ws) return false;
    // Every word of two letters or more is a function word (`an al`, `in to`): ordinary text.
    // A split with any other piece (`lo li`, `kle in ki nd er`) is read as a split word.
    let chunk = '';
    let words = 0;
    let fws = 0;
    const close = () => {
      if (chunk.length > 1) {
        words++;
        if (fw.has(chunk)) fws++;
      }
      chunk = '';
    };
    for (let i = a; i <= b; i++) {
      if (i > a && ((st.flags[i] as number) & S_WSTART) !== 0) close();
      chunk += String.fromCodePoint(st.cp[i] as number).repeat(st.run[i] as number);
    }
    close();
    return words >= 2 && fws === words;
  }

  /** Token of the plain-stream unit at or before an original offset. */
  private tokAt(offset: number): number {
    const st = this.plain;
    let lo = 0;
    let hi = st.n - 1;
    if (hi < 0) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((st.start[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return st.tok[lo] as number;
  }

  private resolve(raws: Raw[], acceptFrom: number, acceptTo: number, onHit: (hit: Hit) => void): void {
    if (raws.length === 0 && this.plain.numCount === 0) return;
    raws.sort((x, y) => x.start - y.start || y.end - x.end || x.e.id - y.e.id);
    // De-duplicate (both streams find most terms).
    let w = 0;
    for (let i = 0; i < raws.length; i++) {
      const r = raws[i] as Raw;
      const prev = w > 0 ? raws[w - 1] : undefined;
      if (prev && prev.start === r.start && prev.end === r.end && prev.e === r.e) {
        // The same hit from both streams: a boundary found by either counts.
        prev.openS &&= r.openS;
        prev.openE &&= r.openE;
        prev.weak &&= r.weak;
        continue;
      }
      raws[w++] = r;
    }
    raws.length = w;
    glue(raws);
    // Cross-language homographs count only with evidence of their language nearby.
    for (let i = 0; i < raws.length; i++) {
      const r = raws[i] as Raw;
      if (r.e.confirm && !this.confirmed(raws, i)) r.dead = true;
    }
    // Longest match wins: a hit inside a longer one (look-alike, longer term, age unit) is dropped.
    let maxEnd = -1;
    let maxStart = -1;
    for (const r of raws) {
      if (r.dead) continue;
      if (maxEnd > r.end || (maxEnd === r.end && maxStart < r.start)) r.dead = true;
      else if (r.end > maxEnd) {
        maxEnd = r.end;
        maxStart = r.start;
      }
    }
    const hits: Hit[] = [];
    for (const r of raws) {
      if (r.dead || r.e.kind !== 'term') continue;
      // The same span in the same category from several languages is one hit ("ja,zh").
      const prev = hits[hits.length - 1];
      if (
        prev &&
        prev.start === r.start &&
        prev.end === r.end &&
        prev.category === r.e.category &&
        prev.strength === (r.weak ? 'weak' : r.e.strength)
      ) {
        if (!prev.lang.split(',').includes(r.e.lang)) prev.lang = `${prev.lang},${r.e.lang}`;
        continue;
      }
      hits.push({
        category: r.e.category,
        strength: r.weak ? 'weak' : r.e.strength,
        lang: r.e.lang,
        group: r.e.group,
        term: r.e.term,
        start: r.start,
        end: r.end,
        tok: r.tokS,
      });
    }
    this.ages(raws, hits);
    hits.sort((x, y) => x.start - y.start || y.end - x.end);
    for (const h of hits) if (h.start >= acceptFrom && h.start < acceptTo) onHit(h);
  }

  private confirmed(raws: Raw[], i: number): boolean {
    const r = raws[i] as Raw;
    const ok = (o: Raw) => o.e.exclusive && o.e.lang === r.e.lang;
    for (let j = i - 1; j >= 0; j--) {
      const o = raws[j] as Raw;
      if (r.tokS - o.tokE > CONFIRM_WINDOW) break;
      if (ok(o)) return true;
    }
    for (let j = i + 1; j < raws.length; j++) {
      const o = raws[j] as Raw;
      if (o.tokS - r.tokE > CONFIRM_WINDOW) break;
      if (ok(o)) return true;
    }
    return false;
  }

  /** Stated ages: a number before an age unit or after an age prefix, and age terms. */
  private ages(raws: Raw[], hits: Hit[]): void {
    let any = false;
    let sexual = false;
    for (const r of raws) {
      const k = r.e.kind;
      if (!r.dead && (k === 'unit' || k === 'prefix' || k === 'ageTerm')) any = true;
      if (!r.dead && k === 'term' && r.e.category === 'sexual' && r.e.strength === 'strong') sexual = true;
    }
    const st = this.plain;
    if (!any && !(sexual && st.numCount > 0)) return;
    const nums: Num[] = [];
    for (let k = 0; k < st.numCount; k++) {
      const first = st.numFirst[k] as number;
      const last = st.numLast[k] as number;
      nums.push({
        value: st.numValue[k] as number,
        firstUnit: first,
        alone: st.numAlone[k] === 1,
        tokS: st.tok[first] as number,
        tokE: st.tok[last] as number,
        start: st.start[first] as number,
        end: st.end[last] as number,
        last,
        word: false,
      });
    }
    for (const r of raws)
      if (!r.dead && r.e.kind === 'number')
        nums.push({
          value: r.e.value,
          tokS: r.tokS,
          tokE: r.tokE,
          start: r.start,
          end: r.end,
          last: r.last,
          word: true,
          firstUnit: -1,
          alone: false,
        });
    nums.sort((x, y) => x.tokS - y.tokS || y.end - y.start - (x.end - x.start));
    // Compound number words: a tens word followed by a smaller one ("twenty five", "vingt et un").
    const connectors = new Set<number>();
    for (const r of raws) if (!r.dead && r.e.kind === 'connector') connectors.add(r.tokS);
    let prev: Num | undefined;
    for (const n of nums) {
      if (prev?.word && n.word && prev.value >= 20 && n.value < prev.value) {
        const gap = n.tokS - prev.tokE;
        if (gap === 1 || (gap === 2 && connectors.has(prev.tokE + 1))) {
          n.value += prev.value;
          n.start = prev.start;
          n.tokS = prev.tokS;
        }
      }
      prev = n;
    }
    const byEndOffset = new Map<number, Num>();
    for (const n of nums) byEndOffset.set(n.end, n);
    const byEnd = new Map<number, Num>();
    const byStart = new Map<number, Num>();
    for (const n of nums) {
      const e = byEnd.get(n.tokE);
      if (!e || n.start < e.start) byEnd.set(n.tokE, n);
      const s = byStart.get(n.tokS);
      if (!s || n.end > s.end) byStart.set(n.tokS, n);
    }
    const age = (r: Raw, years: number, start: number, end: number, tok: number) => {
      hits.push({
        category: years < 18 ? 'age' : 'adult',
        strength: 'strong',
        lang: r.e.lang,
        group: 'stated-age',
        term: r.e.term,
        start,
        end,
        tok,
        age: years,
      });
    };
    for (const r of raws) {
      if (r.dead) continue;
      const e = r.e;
      if (e.kind === 'ageTerm') age(r, e.value, r.start, r.end, r.tokS);
      else if (e.kind === 'unit') {
        // The number just before (the token before, or glued: `fifteenyo`).
        let n = byEnd.get(r.tokS - 1);
        if (!n || n.end > r.start) n = byEndOffset.get(r.start);
        if (!n || n.end > r.start) continue;
        const div = e.unit === 'years' ? 1 : e.unit === 'months' ? 12 : e.unit === 'weeks' ? 52 : 365;
        age(r, Math.floor(n.value / div), n.start, r.end, n.tokS);
      } else if (e.kind === 'prefix') {
        const n = byStart.get(r.tokE + 1);
        if (!n || n.start < r.end) continue;
        if (e.prefix === 'pronoun') {
          // "she is 15" ends there: the number is followed by punctuation or the end.
          const next = n.last + 1;
          const ends =
            n.last >= 0 &&
            (next >= st.n || (st.cls[next] === SEP && ((st.flags[next] as number) & S_HARD) !== 0) || next + 1 >= st.n);
          if (!ends) continue;
        }
        age(r, n.value, r.start, n.end, n.tokS);
      }
    }
    if (sexual) this.bareAges(raws, nums, hits);
  }

  /**
   * A number written alone in digits right next to a strong sexual term (`15, term`, `term 15`,
   * `(15) term`) is read as a stated age: 10 to 17 is a strong minor indicator; 1 to 9 a weak one,
   * except just before the term with only a space between, where it is a count (`2 term`).
   * Numbers that already are ages (with a unit or a prefix) or part of something else (weights,
   * decimals, sizes, times) are not.
   */
  private bareAges(raws: Raw[], nums: Num[], hits: Hit[]): void {
    const st = this.plain;
    const used = new Set<number>();
    for (const h of hits) if (h.age !== undefined) used.add(h.tok);
    const before = new Map<number, Raw>();
    const after = new Map<number, Raw>();
    for (const r of raws)
      if (!r.dead && r.e.kind === 'term' && r.e.category === 'sexual' && r.e.strength === 'strong') {
        if (!before.has(r.tokS)) before.set(r.tokS, r);
        after.set(r.tokE, r);
      }
    const isBreak = (i: number) => st.cls[i] === SEP && ((st.flags[i] as number) & S_BREAK) !== 0;
    for (const n of nums) {
      if (n.word || !n.alone || n.value < 1 || n.value >= 18 || used.has(n.tokS)) continue;
      const next = before.get(n.tokE + 1); // the term after the number
      const prev = after.get(n.tokS - 1); // the term before it
      if (!next && !prev) continue;
      // The number stands on its own between the term and a phrase edge ("page 15, term" is a label).
      const startsPhrase = n.firstUnit <= 0 || isBreak(n.firstUnit - 1);
      const endsPhrase = n.last + 1 >= st.n || isBreak(n.last + 1);
      if (!((prev && (endsPhrase || next)) || (next && (startsPhrase || prev)))) continue;
      let strength: Strength | undefined = n.value >= 10 ? 'strong' : 'weak';
      if (!prev && next && n.value < 10) {
        // "2 term": a count, unless punctuation stands between ("2, term").
        const sep = n.last + 1;
        const hard = sep < st.n && st.cls[sep] === SEP && ((st.flags[sep] as number) & S_HARD) !== 0;
        if (!hard) strength = undefined;
      }
      if (strength === undefined) continue;
      hits.push({
        category: 'age',
        strength,
        lang: (next ?? prev)?.e.lang ?? '',
        group: 'stated-age',
        term: String(n.value),
        start: n.start,
        end: n.end,
        tok: n.tokS,
        age: n.value,
      });
    }
  }
}

const G_TERM = 1;
const G_NUMBER = 2;
const G_UNIT = 4;

/** Entry kinds that may be glued to a neighbouring hit without a word boundary. */
const GLUABLE: Readonly<Record<Entry['kind'], boolean>> = {
  term: true,
  lookalike: true,
  number: true,
  ageTerm: true,
  unit: true,
  prefix: false,
  connector: false,
};

/**
 * Words glued together (`wordword`, `fifteenyo`): a hit without a word boundary at its start is
 * kept only when a hit (itself kept) ends exactly there, and likewise at its end, so a token is
 * read as glued terms only when lexicon entries cover it whole (`canteen` holds a term but is not
 * covered: nothing). `raws` is sorted by start. Linear: one pass each way with a set of offsets.
 */
function glue(raws: Raw[]): void {
  let open = false;
  for (const r of raws) if (r.openS || r.openE) open = true;
  if (!open) return;
  // What may be glued to what: terms and look-alikes to each other, numbers to numbers and to
  // the age unit after them (`fifteenyo`); never a unit before a term (`yrword`).
  const kindOf = (r: Raw) =>
    r.e.kind === 'term' || r.e.kind === 'lookalike' ? G_TERM : r.e.kind === 'unit' ? G_UNIT : G_NUMBER;
  const before = (r: Raw) => (kindOf(r) === G_TERM ? G_TERM : kindOf(r) === G_UNIT ? G_NUMBER : G_NUMBER);
  const after = (r: Raw) => (kindOf(r) === G_TERM ? G_TERM : kindOf(r) === G_NUMBER ? G_NUMBER | G_UNIT : 0);
  // Left to right: a hit is anchored on the left when it has a boundary, or an anchored hit of a
  // kind it may follow ends at its start.
  const left = new Uint8Array(raws.length);
  const endsAnchored = new Map<number, number>();
  for (let i = 0; i < raws.length; i++) {
    const r = raws[i] as Raw;
    if (!r.openS || ((endsAnchored.get(r.start) ?? 0) & before(r)) !== 0) {
      left[i] = 1;
      endsAnchored.set(r.end, (endsAnchored.get(r.end) ?? 0) | kindOf(r));
    }
  }
  // Right to left by end: anchored on the right likewise.
  const order = raws.map((_, i) => i).sort((x, y) => (raws[y] as Raw).end - (raws[x] as Raw).end);
  const startsAnchored = new Map<number, number>();
  const right = new Uint8Array(raws.length);
  for (const i of order) {
    const r = raws[i] as Raw;
    if (!r.openE || ((startsAnchored.get(r.end) ?? 0) & after(r)) !== 0) {
      right[i] = 1;
      startsAnchored.set(r.start, (startsAnchored.get(r.start) ?? 0) | kindOf(r));
    }
  }
  for (let i = 0; i < raws.length; i++) if (!left[i] || !right[i]) (raws[i] as Raw).dead = true;
  // A glued reading loses to a whole word it cuts through (`fourteenth birthday` is not
  // `fourteen` + `th birthday`): an open hit partly overlapping a hit with both boundaries dies.
  for (let i = 0; i < raws.length; i++) {
    const r = raws[i] as Raw;
    if (r.dead || !(r.openS || r.openE)) continue;
    for (let j = i - 1; j >= 0 && j >= i - 64; j--) if (cuts(raws[j] as Raw, r)) r.dead = true;
    for (let j = i + 1; j < raws.length && (raws[j] as Raw).start < r.end; j++)
      if (cuts(raws[j] as Raw, r)) r.dead = true;
  }
}

/** Whether `o`, a hit with both boundaries, partly overlaps `r` (neither holds the other). */
function cuts(o: Raw, r: Raw): boolean {
  if (o.openS || o.openE || o.dead) return false;
  const overlap = o.start < r.end && r.start < o.end;
  const holds = (o.start <= r.start && o.end >= r.end) || (r.start <= o.start && r.end >= o.end);
  return overlap && !holds;
}

function boundary(cls: number): boolean {
  return cls === LETTER || cls === DIGIT;
}

let shared: Engine | undefined;

/** The process-wide engine (the lexicon is loaded and compiled on first use). */
export function textEngine(): Engine {
  shared ??= Engine.load();
  return shared;
}
