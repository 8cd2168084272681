/**
 * @module text/fold
 * Per-code-point folding, the first step of text normalization. Every code point of the input
 * becomes zero or more folded code points, each with a class:
 *
 * - ignorable (zero-width, joiners, variation selectors, soft hyphen, bidi and tag characters,
 *   emoji skin-tone modifiers): dropped;
 * - compatibility forms (fullwidth, ligatures, mathematical alphanumerics, circled and
 *   parenthesized letters and digits, superscripts): NFKD;
 * - diacritics: combining marks removed after NFKD (kana voicing marks kept and recomposed);
 * - case: lower case, plus the full case folds JavaScript's `toLowerCase` lacks (ß → ss, ς → σ);
 * - homoglyphs: Unicode's confusables data (UTS #39), generated into data/lexicons/confusables.json;
 * - digits of other scripts: their ASCII digit; regional-indicator and negative circled/squared
 *   letters: their Latin letter;
 * - emoji used as words: the word from data/lexicons/emoji.json, as a separate token.
 *
 * `basicFold` (NFKD, marks, case) is shared with the generator of the confusables file, so the
 * generated map's keys and values are in the same space the runtime looks them up in.
 */

/** Classes of folded code points. */
export const SEP = 0;
export const LETTER = 1;
export const DIGIT = 2;
/** Han, kana and Hangul: matched as substrings (no spaces between words). */
export const CJK = 3;

const KANA_VOICING = /[\u3099\u309a]/u;
const MARK = /\p{M}/u;
const IGNORABLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}]/u;
const CJK_SCRIPT = /[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}]/u;
const LETTERLIKE = /[\p{L}\p{Nl}]/u;
const DECIMAL = /\p{Nd}/u;

/** NFKD, lower case (with ß → ss, ς → σ), combining marks removed except kana voicing, NFC. */
export function basicFold(s: string): string {
  let t = s.normalize('NFKD').toLowerCase().normalize('NFKD');
  let out = '';
  for (const ch of t) {
    if (MARK.test(ch) && !KANA_VOICING.test(ch)) continue;
    out += ch === 'ß' ? 'ss' : ch === 'ς' ? 'σ' : ch;
  }
  t = out.normalize('NFC');
  return t;
}

/** The class of one folded code point. */
export function classOf(cp: number): number {
  if (cp >= 0x61 && cp <= 0x7a) return LETTER;
  if (cp >= 0x30 && cp <= 0x39) return DIGIT;
  if (cp < 0x80) return SEP;
  const ch = String.fromCodePoint(cp);
  if (LETTERLIKE.test(ch) || cp === 0x30fc) return CJK_SCRIPT.test(ch) ? CJK : LETTER;
  return SEP;
}

/** ASCII digit of a decimal digit of any script (digits come in aligned runs of ten). */
function asciiDigit(cp: number): string | undefined {
  let zero = cp;
  while (zero > 0 && DECIMAL.test(String.fromCodePoint(zero - 1))) zero--;
  return String((cp - zero) % 10);
}

export interface FoldData {
  /** Folded homoglyph → folded prototype (from confusables.txt). */
  confusables: ReadonlyMap<number, string>;
  /** Emoji code point → word. */
  emoji: ReadonlyMap<number, string>;
}

/**
 * Folds code points with the given data, caching results per code point. `fold(cp)` returns the
 * folded string ('' when ignorable); emoji words come back padded with spaces.
 */
export class Folder {
  private readonly cache = new Map<number, string>();
  constructor(private readonly data: FoldData) {}

  fold(cp: number): string {
    let r = this.cache.get(cp);
    if (r === undefined) {
      r = this.compute(cp);
      this.cache.set(cp, r);
    }
    return r;
  }

  private compute(cp: number): string {
    const ch = String.fromCodePoint(cp);
    const word = this.data.emoji.get(cp);
    if (word !== undefined) return ` ${word} `;
    if (IGNORABLE.test(ch) || (cp >= 0x1f3fb && cp <= 0x1f3ff)) return ''; // skin-tone modifiers too
    // Regional indicators (used to spell words) and negative circled / squared Latin capitals.
    if (cp >= 0x1f1e6 && cp <= 0x1f1ff) return String.fromCharCode(0x61 + cp - 0x1f1e6);
    if (cp >= 0x1f150 && cp <= 0x1f169) return String.fromCharCode(0x61 + cp - 0x1f150);
    if (cp >= 0x1f170 && cp <= 0x1f189) return String.fromCharCode(0x61 + cp - 0x1f170);
    let out = '';
    let folded = basicFold(ch);
    // Parenthesized letters and digits (⒜, ⑴, 🄐) decompose to "(a)": the parentheses are decoration.
    if (folded.length > 2 && folded.startsWith('(') && folded.endsWith(')')) folded = folded.slice(1, -1);
    for (const c of folded) {
      const p = c.codePointAt(0) as number;
      if (p >= 0x80 && DECIMAL.test(c)) {
        out += asciiDigit(p);
        continue;
      }
      out += this.data.confusables.get(p) ?? c;
    }
    return out;
  }
}
