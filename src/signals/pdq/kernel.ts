/**
 * @module signals/pdq/kernel
 * Loads the WebAssembly blur-and-decimate kernel (assembly/pdq-kernel.ts, built by `npm run
 * build`): two passes of the reference's box ("Jarosz") filter along rows and columns, then 64x64
 * sampling, in native float32 with SIMD. One instance per thread; its memory is the scratch space.
 */
import { existsSync, readFileSync } from 'node:fs';
import { WardError } from '../../errors.js';
import { builtFile } from '../../runtime-paths.js';

// @types/node 20 has no WebAssembly typings (they live in lib.dom); this is all Ward uses.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

interface KernelExports {
  memory: { buffer: ArrayBuffer };
  prepare(cols: number, rows: number, channels: number): number;
  blur(): void;
  blockPtr(): number;
}

let kernel: KernelExports | undefined;

function load(): KernelExports {
  const path = builtFile(import.meta.url, './pdq-kernel.wasm');
  if (!existsSync(path)) {
    throw new WardError(
      'WARD_ERR_DEPENDENCY_MISSING',
      'The PDQ WebAssembly kernel is missing. Possible solutions: run `npm run build`.',
      { path },
    );
  }
  const module = new WebAssembly.Module(readFileSync(path));
  const instance = new WebAssembly.Instance(module, {
    env: {
      abort: () => {
        throw new WardError('WARD_ERR_INTERNAL', 'PDQ kernel aborted');
      },
    },
  });
  return instance.exports as unknown as KernelExports;
}

/**
 * Box-filters and decimates interleaved 8-bit pixels into `block` (64x64 float32), bit-exact with
 * the reference's jaroszFilterFloat + decimateFloat on its float luma.
 */
export function blurAndDecimate(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
  block: Float32Array,
): void {
  kernel ??= load();
  const at = kernel.prepare(width, height, channels);
  if (at === 0)
    throw new WardError('WARD_ERR_LIMIT_PIXELS', 'Out of memory for the PDQ kernel', { actual: width * height });
  const need = width * height * channels;
  new Uint8Array(kernel.memory.buffer, at, need).set(data.subarray(0, need));
  kernel.blur();
  block.set(new Float32Array(kernel.memory.buffer, kernel.blockPtr(), 64 * 64));
}
