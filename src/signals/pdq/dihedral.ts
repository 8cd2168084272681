/**
 * @module signals/pdq/dihedral
 * The 8 dihedral transforms of a PDQ hash, computed from the DCT coefficients (sign flips and a
 * transpose) instead of re-hashing 8 rotated images: the reference's trick, same order.
 */

/** Order of `pdqDihedral` entries, as the reference emits them. */
export const DIHEDRAL_NAMES = [
  'original',
  'rotate90',
  'rotate180',
  'rotate270',
  'flipX',
  'flipY',
  'flipPlus1',
  'flipMinus1',
] as const;
export type DihedralName = (typeof DIHEDRAL_NAMES)[number];

/** [transpose, negate(i, j)] for each transform; negate returns true where the sign flips. */
const TRANSFORMS: ReadonlyArray<readonly [boolean, (i: number, j: number) => boolean]> = [
  [false, () => false],
  [true, (_i, j) => (j & 1) === 0],
  [false, (i, j) => ((i + j) & 1) === 1],
  [true, (i) => (i & 1) === 0],
  [false, (i) => (i & 1) === 0],
  [false, (_i, j) => (j & 1) === 0],
  [true, () => false],
  [true, (i, j) => ((i + j) & 1) === 1],
];

/** Returns the 8 transformed 16x16 coefficient blocks (index order = DIHEDRAL_NAMES). */
export function dihedralDcts(dct: Float32Array): Float32Array[] {
  return TRANSFORMS.map(([transpose, negate]) => {
    const out = new Float32Array(256);
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 16; j++) {
        const v = negate(i, j) ? -dct[i * 16 + j] : dct[i * 16 + j];
        out[transpose ? j * 16 + i : i * 16 + j] = v;
      }
    }
    return out;
  });
}
