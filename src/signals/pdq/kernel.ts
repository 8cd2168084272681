/**
 * @module signals/pdq/kernel
 * Loads the WebAssembly blur-and-decimate kernel (assembly/pdq-kernel.ts, built by `npm run
 * build`): two passes of the reference's box ("Jarosz") filter along rows and columns, then 64x64
 * sampling, in native float32 with SIMD. One instance per thread; its memory is the scratch space.
 */
import { WardError } from '../../errors.js';
import { builtFile } from '../../runtime-paths.js';
import { instantiateWasm } from '../../wasm.js';
import { DCT_MATRIX, lumaRows } from './core.js';

interface KernelExports {
  memory: { buffer: ArrayBuffer };
  prepare(cols: number, rows: number, channels: number): number;
  blur(): void;
  blockPtr(): number;
  dctMatrixPtr(): number;
  initDct(): void;
  outPtr(): number;
  finish(): number;
}

let kernel: KernelExports | undefined;

function load(): KernelExports {
  const k = instantiateWasm<KernelExports>(builtFile(import.meta.url, './pdq-kernel.wasm'), 'PDQ kernel');
  // The kernel uses the same float32 DCT basis as the JS side, computed once here.
  new Float32Array(k.memory.buffer, k.dctMatrixPtr(), 16 * 64).set(DCT_MATRIX);
  k.initDct();
  return k;
}

/**
 * The PDQ core in WebAssembly: box filter and 64x64 sampling (or, for the reference's 64x64
 * shortcut, the luma as is), then quality and the 16x16 DCT. Bit-exact with the reference.
 */
export function kernelPdqFloat(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
  skipBlurAt64: boolean,
): { dct: Float32Array; quality: number } {
  kernel ??= load();
  if (width === 64 && height === 64 && skipBlurAt64) {
    lumaRows(data, 64, channels, 0, 64, new Float32Array(kernel.memory.buffer, kernel.blockPtr(), 64 * 64));
  } else {
    const at = kernel.prepare(width, height, channels);
    if (at === 0) {
      throw new WardError('WARD_ERR_LIMIT_PIXELS', 'Out of memory for the PDQ kernel', { actual: width * height });
    }
    const need = width * height * channels;
    new Uint8Array(kernel.memory.buffer, at, need).set(data.subarray(0, need));
    kernel.blur();
  }
  const quality = kernel.finish();
  return { dct: new Float32Array(kernel.memory.buffer, kernel.outPtr(), 256).slice(), quality };
}
