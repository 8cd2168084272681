/**
 * @module models/numpy
 * NumPy `.npy` files: `\x93NUMPY`, a version, a header length, a Python dict literal
 * (`{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }`), then the data. An array of
 * dtype object (`descr` `|O`) stores its data as a pickle, which `numpy.load(allow_pickle=True)`
 * unpickles: that part is walked like any pickle.
 */
import { WardError } from '../errors.js';
import { type ByteSource, decodeLatin1, sliceSource } from './source.js';

export interface NpyHeader {
  version: string;
  descr: string;
  shape: string;
  /** The array holds Python objects: the data is a pickle. */
  objects: boolean;
  dataOffset: number;
}

export function sniffNpy(head: Uint8Array): boolean {
  return head.length >= 8 && head[0] === 0x93 && decodeLatin1(head.subarray(1, 6)) === 'NUMPY';
}

export function readNpyHeader(src: ByteSource): NpyHeader {
  const head = src.read(0, 12);
  if (!sniffNpy(head) || head.length < 10) throw new WardError('WARD_ERR_MODEL_CORRUPT', 'Not a .npy file');
  const major = head[6] as number;
  const minor = head[7] as number;
  const len =
    major === 1
      ? (head[8] as number) | ((head[9] as number) << 8)
      : head.length >= 12
        ? (head[8] as number) | ((head[9] as number) << 8) | ((head[10] as number) << 16) | ((head[11] as number) << 24)
        : -1;
  const start = major === 1 ? 10 : 12;
  if (len < 0 || start + len > src.size) throw new WardError('WARD_ERR_MODEL_CORRUPT', '.npy header runs past the end');
  if (len > 1024 * 1024)
    throw new WardError('WARD_ERR_MODEL_LIMIT', `.npy header of ${len} bytes`, { limit: 1024 * 1024 });
  const text = decodeLatin1(src.read(start, len));
  const descr = /'descr'\s*:\s*('[^']*'|"[^"]*"|\[.*\])/s.exec(text)?.[1] ?? '';
  const shape = /'shape'\s*:\s*(\([^)]*\))/.exec(text)?.[1] ?? '';
  // Object dtype: `|O`, or a structured dtype with an `O` field.
  const objects = /['"][|<>=]?O\d*['"]/.test(descr);
  return {
    version: `${major}.${minor}`,
    descr: descr.replace(/^['"]|['"]$/g, ''),
    shape,
    objects,
    dataOffset: start + len,
  };
}

/** The pickle of an object array, or undefined for plain numeric data. */
export function npyPickle(src: ByteSource, header: NpyHeader): ByteSource | undefined {
  return header.objects ? sliceSource(src, header.dataOffset, src.size) : undefined;
}
