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
import { buildStream, foldUnits, S_BREAK, S_HARD, Stream, Units } from './normalize.js';
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
}

interface Num {
  value: number;
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
    for (let i = 0; i < s.n; i++)
      for (let r = 0; r < (s.run[i] as number); r++) {
        starts.push(s.start[i] as number);
        ends.push(s.end[i] as number);
      }
    return { text: s.text(), starts, ends };
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
    if (boundary(p.startCls) && a > 0 && st.cls[a - 1] === p.startCls) return;
    if (p.spaced)
      for (let i = a + 1; i < b; i++) if (((st.flags[i] as number) & S_BREAK) !== 0 && st.cls[i] === SEP) return;
    const endOk = !(boundary(p.endCls) && b + 1 < st.n && st.cls[b + 1] === p.endCls);
    const entries = this.lexicon.entries;
    for (const v of p.variants) {
      const ids = leetMode ? v.leet : v.plain;
      if (ids.length === 0) continue;
      if (v.runs) {
        let ok = true;
        for (let j = 0; j < v.runs.length; j++)
          if ((st.run[a + j] as number) < (v.runs[j] as number)) {
            ok = false;
            break;
          }
        if (!ok) continue;
      }
      for (const id of ids) {
        const e = entries[id] as Entry;
        if (!endOk && !e.stem) continue;
        if (leetMode && e.kind !== 'term' && e.kind !== 'lookalike') continue;
        const start = st.start[a] as number;
        let tokS: number;
        let tokE: number;
        if (leetMode) {
          tokS = this.tokAt(start);
          tokE = this.tokAt(st.start[b] as number);
        } else {
          tokS = st.tok[a] as number;
          tokE = st.tok[b] as number;
        }
        out.push({ e, start, end: st.end[b] as number, tokS, tokE, last: leetMode ? -1 : b, dead: false });
      }
    }
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
      if (prev && prev.start === r.start && prev.end === r.end && prev.e === r.e) continue;
      raws[w++] = r;
    }
    raws.length = w;
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
        prev.strength === r.e.strength
      ) {
        if (!prev.lang.split(',').includes(r.e.lang)) prev.lang = `${prev.lang},${r.e.lang}`;
        continue;
      }
      hits.push({
        category: r.e.category,
        strength: r.e.strength,
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
    for (const r of raws) {
      const k = r.e.kind;
      if (!r.dead && (k === 'unit' || k === 'prefix' || k === 'ageTerm')) {
        any = true;
        break;
      }
    }
    if (!any) return;
    const st = this.plain;
    const nums: Num[] = [];
    for (let k = 0; k < st.numCount; k++) {
      const first = st.numFirst[k] as number;
      const last = st.numLast[k] as number;
      nums.push({
        value: st.numValue[k] as number,
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
        const n = byEnd.get(r.tokS - 1);
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
  }
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
