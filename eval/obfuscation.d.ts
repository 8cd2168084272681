export interface ClassCount {
  cls: string;
  label: 'block' | 'allow';
  n: number;
  block: number;
  review: number;
}
export interface Record {
  id: number;
  lang: string;
  cls: string;
  label: 'block' | 'allow';
  a: string;
  b: string;
  fillers: string;
  order: 'ab' | 'ba';
}
export interface Half {
  obfuscation: Record[];
  i2p: { text: string; categories: string }[];
}
export interface Result {
  classes: ClassCount[];
  i2p: { n: number; block: number; review: number; minor: number };
  tp: number;
  fn: number;
  fp: number;
  tn: number;
  recall: number;
  precision: number;
  fprObfuscation: number;
  fprI2p: number;
  misses: { cls: string; verdict: string; text: string; id?: number; lang?: string }[];
}
export function loadSets(): { tune: Half; heldout: Half };
export function compose(r: Record): string;
export function evaluate(
  verdictOf: (text: string) => 'block' | 'review' | 'allow',
  half: Half,
  options?: { keepMisses?: boolean; minorOf?: (text: string) => boolean },
): Result;
export function report(tune: Result, held: Result): string;
