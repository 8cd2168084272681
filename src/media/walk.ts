/**
 * @module media/walk
 * Expands command-line inputs into files: files as given, directories recursively (sorted, so
 * output order is stable), symlinked directories followed once (loops are cut by real path).
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A file to process (with its size), or an input that could not be read (reported, not thrown). */
export type WalkEntry = { path: string; size?: number } | { path: string; error: { code: string; message: string } };

/** Inputs may be a list or a stream of paths (`ward scan --from FILE`). */
export async function* walkInputs(inputs: Iterable<string> | AsyncIterable<string>): AsyncGenerator<WalkEntry> {
  for await (const input of inputs) {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(input);
    } catch (cause) {
      yield { path: input, error: notFound(cause) };
      continue;
    }
    if (st.isDirectory()) yield* walkDir(input, new Set());
    else if (st.isFile()) yield { path: input, size: st.size };
    // Devices and FIFOs could be read forever (/dev/zero): refused.
    else yield { path: input, error: { code: 'WARD_ERR_INPUT_NOT_FOUND', message: 'Not a regular file or directory' } };
  }
}

async function* walkDir(dir: string, seen: Set<string>): AsyncGenerator<WalkEntry> {
  let real: string;
  try {
    real = await realpath(dir);
  } catch (cause) {
    yield { path: dir, error: notFound(cause) };
    return;
  }
  if (seen.has(real)) return; // a symlink loop, or a directory already walked
  seen.add(real);
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (cause) {
    yield { path: dir, error: notFound(cause) };
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(path); // follows symlinks
    } catch (cause) {
      yield { path, error: notFound(cause) };
      continue;
    }
    if (st.isDirectory()) yield* walkDir(path, seen);
    else if (st.isFile()) yield { path, size: st.size };
    else
      yield {
        path,
        error: { code: 'WARD_ERR_INPUT_NOT_FOUND', message: 'Not a regular file (device, FIFO or socket)' },
      };
  }
}

function notFound(cause: unknown): { code: string; message: string } {
  const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
  return { code: 'WARD_ERR_INPUT_NOT_FOUND', message: `Cannot read input (${errno})` };
}
