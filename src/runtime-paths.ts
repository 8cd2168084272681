/**
 * @module runtime-paths
 * Finds files the build emits beside the compiled modules (the WebAssembly kernel, worker
 * scripts). Tests run the TypeScript sources from src/, where those files do not exist, so fall
 * back to the same relative path under dist/.
 * @internal
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function builtFile(importMetaUrl: string, relative: string): string {
  const beside = fileURLToPath(new URL(relative, importMetaUrl));
  if (existsSync(beside)) return beside;
  const marker = '/src/';
  const i = beside.lastIndexOf(marker);
  return i < 0 ? beside : `${beside.slice(0, i)}/dist/${beside.slice(i + marker.length)}`;
}
