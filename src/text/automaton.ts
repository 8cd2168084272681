/**
 * @module text/automaton
 * Aho-Corasick over code points: every pattern occurrence in one left-to-right pass, in time
 * linear in the text (plus the number of occurrences), with no backtracking.
 *
 * Layout: the most frequent symbols of the patterns (Latin, digits, space, Cyrillic) get a dense
 * transition table with the failure links resolved in advance (one array read per character);
 * the other symbols (CJK and the rest) use a goto map and failure links. A code point that occurs
 * in no pattern sends the automaton back to the root.
 */

/** Symbols with a dense row per state. */
const DENSE = 72;

export class Automaton {
  /** Number of states. */
  readonly size: number;
  private readonly bmp: Int16Array;
  private readonly astral: Map<number, number>;
  private readonly symbols: number;
  private readonly dense: number;
  private readonly delta: Int32Array;
  private readonly sparse: Map<number, number>;
  private readonly fail: Int32Array;
  /** Pattern id ending at the state, or -1. */
  readonly out: Int32Array;
  /** Next state along the failure chain that has an output, or -1. */
  readonly dict: Int32Array;

  private constructor(
    size: number,
    bmp: Int16Array,
    astral: Map<number, number>,
    symbols: number,
    delta: Int32Array,
    sparse: Map<number, number>,
    fail: Int32Array,
    out: Int32Array,
    dict: Int32Array,
  ) {
    this.size = size;
    this.bmp = bmp;
    this.astral = astral;
    this.symbols = symbols;
    this.dense = size > 0 ? delta.length / size : 0;
    this.delta = delta;
    this.sparse = sparse;
    this.fail = fail;
    this.out = out;
    this.dict = dict;
  }

  /** Builds the automaton; pattern `i` is reported as id `i`. Patterns must be distinct. */
  static build(patterns: readonly Int32Array[]): Automaton {
    // Symbols by frequency: the most frequent get dense rows.
    const freq = new Map<number, number>();
    for (const p of patterns) for (const cp of p) freq.set(cp, (freq.get(cp) ?? 0) + 1);
    const ordered = [...freq.keys()].sort((a, b) => (freq.get(b) as number) - (freq.get(a) as number) || a - b);
    const bmp = new Int16Array(0x10000).fill(-1);
    const astral = new Map<number, number>();
    ordered.forEach((cp, sym) => {
      if (cp < 0x10000) bmp[cp] = sym;
      else astral.set(cp, sym);
    });
    const symbols = ordered.length;
    const symOf = (cp: number): number => (cp < 0x10000 ? (bmp[cp] as number) : (astral.get(cp) ?? -1));

    // Trie.
    const children: Map<number, number>[] = [new Map()];
    const out: number[] = [-1];
    patterns.forEach((p, id) => {
      let s = 0;
      for (const cp of p) {
        const sym = symOf(cp);
        let t = children[s]?.get(sym);
        if (t === undefined) {
          t = children.length;
          children.push(new Map());
          out.push(-1);
          children[s]?.set(sym, t);
        }
        s = t;
      }
      out[s] = id;
    });
    const size = children.length;
    const fail = new Int32Array(size);
    const dict = new Int32Array(size).fill(-1);
    const dense = Math.min(DENSE, symbols);
    const delta = new Int32Array(size * dense);
    const sparse = new Map<number, number>();

    // Breadth-first: failure links, dictionary links, dense rows resolved through failures.
    const queue: number[] = [0];
    for (let qi = 0; qi < queue.length; qi++) {
      const s = queue[qi] as number;
      const f = fail[s] as number;
      for (let a = 0; a < dense; a++) delta[s * dense + a] = s === 0 ? 0 : (delta[f * dense + a] as number);
      for (const [sym, t] of children[s] as Map<number, number>) {
        if (sym < dense) delta[s * dense + sym] = t;
        else sparse.set(s * symbols + sym, t);
        if (s === 0) fail[t] = 0;
        else if (sym < dense) fail[t] = delta[f * dense + sym] as number;
        else {
          let g = f;
          for (;;) {
            const next = sparse.get(g * symbols + sym);
            if (next !== undefined) {
              fail[t] = next;
              break;
            }
            if (g === 0) {
              fail[t] = 0;
              break;
            }
            g = fail[g] as number;
          }
        }
        const ft = fail[t] as number;
        dict[t] = (out[ft] as number) >= 0 ? ft : (dict[ft] as number);
        queue.push(t);
      }
    }
    return new Automaton(size, bmp, astral, symbols, delta, sparse, fail, Int32Array.from(out), dict);
  }

  /** The state after reading `cp` in state `s`. */
  step(s: number, cp: number): number {
    const sym = cp < 0x10000 ? (this.bmp[cp] as number) : (this.astral.get(cp) ?? -1);
    if (sym < 0) return 0;
    const dense = this.dense;
    if (sym < dense) return this.delta[s * dense + sym] as number;
    const n = this.symbols;
    for (;;) {
      const t = this.sparse.get(s * n + sym);
      if (t !== undefined) return t;
      if (s === 0) return 0;
      s = this.fail[s] as number;
    }
  }
}
