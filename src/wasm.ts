/**
 * @module wasm
 * Instantiates Ward's WebAssembly modules (built from assembly/ by `npm run build`): one
 * compiled module per file, one instance per caller (its memory is that caller's scratch).
 * @internal
 */
import { readFileSync } from 'node:fs';
import { WardError } from './errors.js';

// @types/node 20 has no WebAssembly typings (they live in lib.dom); this is all Ward uses.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

const compiled = new Map<string, object>();

/** A new instance of the module at `path`; `what` names it in errors. */
export function instantiateWasm<T>(path: string, what: string): T {
  let module = compiled.get(path);
  if (!module) {
    try {
      module = new WebAssembly.Module(readFileSync(path));
    } catch (cause) {
      throw new WardError(
        'WARD_ERR_DEPENDENCY_MISSING',
        `The ${what} WebAssembly module is missing or damaged. Possible solutions: run \`npm run build\`.`,
        { path },
        cause,
      );
    }
    compiled.set(path, module);
  }
  const instance = new WebAssembly.Instance(module, {
    env: {
      abort: () => {
        throw new WardError('WARD_ERR_INTERNAL', `The ${what} WebAssembly module aborted`);
      },
    },
  });
  return instance.exports as T;
}
