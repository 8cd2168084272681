/**
 * 7z archives built in memory for tests with 7-Zip itself (the 7z-wasm package, the same
 * 7-Zip 24.09 that Ward reads them with), from benign bytes only: store or LZMA2, solid or not,
 * entry data encrypted or the headers too.
 */
import type { SevenZipModuleFactory } from '7z-wasm';

// The package is CommonJS to Node's ESM loader: its factory is the default export.
const SevenZip = ((await import('7z-wasm')) as unknown as { default: SevenZipModuleFactory }).default;

export interface SevenZipSpec {
  name: string;
  data: Uint8Array;
}

export interface SevenZipOptions {
  /** `-m0=` method (default LZMA2; `Copy` stores). */
  method?: 'LZMA2' | 'LZMA' | 'Copy' | 'PPMd' | 'BZip2';
  /** Extra `-m` switches, e.g. `d=64m` for the dictionary size. */
  switches?: string[];
  solid?: boolean;
  /** Encrypts the entries' data with this password (AES-256). */
  password?: string;
  /** With `password`: the names are encrypted too (-mhe). */
  encryptHeaders?: boolean;
}

export async function sevenZipOf(entries: readonly SevenZipSpec[], opts: SevenZipOptions = {}): Promise<Buffer> {
  const log: string[] = [];
  const sz = await SevenZip({ print: (s: string) => log.push(s), printErr: (s: string) => log.push(s) });
  const { FS } = sz;
  FS.mkdir('/src');
  for (const e of entries) {
    const parts = e.name.split('/');
    for (let k = 1; k < parts.length; k++) {
      const dir = `/src/${parts.slice(0, k).join('/')}`;
      try {
        FS.mkdir(dir);
      } catch {
        // exists
      }
    }
    FS.writeFile(`/src/${e.name}`, e.data);
  }
  FS.chdir('/src');
  const args = [
    'a',
    '-t7z',
    '-bd',
    '-spd',
    `-m0=${opts.method ?? 'LZMA2'}`,
    `-ms=${opts.solid === false ? 'off' : 'on'}`,
  ];
  for (const s of opts.switches ?? []) args.push(`-m${s}`);
  if (opts.password !== undefined) args.push(`-p${opts.password}`);
  if (opts.encryptHeaders) args.push('-mhe=on');
  args.push('/out.7z', '--', ...new Set(entries.map((e) => e.name.split('/')[0]!)));
  const status = sz.callMain(args) as unknown as number;
  if (status !== 0) throw new Error(`7-Zip could not write the test archive: ${log.join('\n')}`);
  return Buffer.from(FS.readFile('/out.7z'));
}
