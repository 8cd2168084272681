/**
 * @module classifiers/tf
 * TensorFlow.js on its WebAssembly backend, loaded once per thread on first use (the `.wasm`
 * files ship in `@tensorflow/tfjs-backend-wasm`; nothing native, nothing downloaded), with one
 * TensorFlow.js thread: parallelism comes from Ward's workers. Shared by the classifiers.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { WardError } from '../errors.js';

export interface Tf {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  tensor3d(values: Int32Array, shape: [number, number, number], dtype: 'int32'): { dispose(): void };
  version_core: string;
}

let tf: Promise<Tf> | undefined;

export function loadTf(): Promise<Tf> {
  tf ??= (async () => {
    try {
      const require = createRequire(import.meta.url);
      const wasmEntry = require.resolve('@tensorflow/tfjs-backend-wasm');
      const t = (await import('@tensorflow/tfjs')) as unknown as Tf;
      const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as {
        setWasmPaths(prefix: string): void;
        setThreadsCount(n: number): void;
      };
      wasm.setWasmPaths(`${dirname(wasmEntry)}/`);
      wasm.setThreadsCount(1);
      if (!(await t.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
      await t.ready();
      return t;
    } catch (cause) {
      tf = undefined;
      throw new WardError(
        'WARD_ERR_DEPENDENCY_MISSING',
        'Cannot load TensorFlow.js with its WebAssembly backend (@tensorflow/tfjs, @tensorflow/tfjs-backend-wasm)',
        { dependency: '@tensorflow/tfjs-backend-wasm' },
        cause,
      );
    }
  })();
  return tf;
}

/** `wasm 4.22.0`: the backend and its version, reported with every score. */
export function runtimeOf(t: Tf): string {
  return `${t.getBackend()} ${t.version_core}`;
}
