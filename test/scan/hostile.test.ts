/**
 * `ward scan` against a hostile corpus the test generates (benign bytes only): corrupt and
 * truncated images of every decodable format, empty files, unreadable inputs (dangling symlinks,
 * symlink loops), a FIFO and a device given as inputs, zip, gzip, 7z and RAR bombs (honest and
 * lying sizes), path-traversal names, archives nested past the depth limit, image headers claiming
 * billions of pixels. The scan must finish in bounded time and memory, give every item a verdict
 * (errors with a WARD_ERR_* code), and write nothing but its report.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import { loadSharp } from '../../src/media/image.js';
import { hashImage } from '../../src/signals/image.js';
import { gzipChunks, gzipOf, noise, tarOf, tarOfZeros, zeros, zipOf } from '../helpers/archives.js';
import { runWard, tempDir } from '../helpers/cli.js';
import { PROJECT_ROOT } from '../helpers/fixtures.js';
import { rar5Of } from '../helpers/rar5.js';
import { sevenZipOf } from '../helpers/sevenzip.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON records
type Json = any;

const MiB = 1024 * 1024;
/** Expanded size of each bomb. */
const BOMB_BYTES = 200 * MiB;
/** Peak resident memory allowed for a whole scan: far below what the bombs expand to, together. */
const RSS_LIMIT_BYTES = 600 * MiB;
const SCAN_TIMEOUT_MS = 120_000;
const TIME = '/usr/bin/time';

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
const validateItem = ajv.compile(
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'docs', 'schema', 'scan-item.v1.json'), 'utf8')),
);

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak resident set size of the ward process, in bytes. */
  maxRss: number;
  ms: number;
}

/**
 * Runs the built CLI, killing it (and failing) after SCAN_TIMEOUT_MS. Peak RSS comes from GNU time
 * when installed, else from polling the process's VmHWM (its high-water mark) in /proc.
 */
function runMeasured(args: string[], cwd: string): Promise<Run> {
  const useTime = existsSync(TIME);
  const node = [process.execPath, join(PROJECT_ROOT, 'bin', 'ward.js'), ...args];
  const [cmd, ...argv] = useTime ? [TIME, '-v', ...node] : node;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hwm = 0;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const poll = useTime
      ? undefined
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) hwm = Math.max(hwm, Number(m[1]) * 1024);
          } catch {
            // exited
          }
        }, 20);
    const timer = setTimeout(() => child.kill('SIGKILL'), SCAN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      let maxRss = hwm;
      if (useTime) {
        const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
        maxRss = m ? Number(m[1]) * 1024 : Number.NaN;
        // GNU time's report follows the program's own stderr.
        stderr = stderr.slice(
          0,
          Math.max(0, stderr.search(/(Command exited with non-zero status|\tCommand being timed)/)),
        );
      }
      resolve({ code, signal, stdout, stderr, maxRss, ms: Date.now() - started });
    });
  });
}

/** Every path under `dir` (not following symlinks), with a digest of each regular file. */
function listTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out.set(`${p}/`, 'dir');
        walk(p);
      } else if (e.isFile()) out.set(p, createHash('sha256').update(readFileSync(p)).digest('hex'));
      else out.set(p, e.isSymbolicLink() ? 'symlink' : 'special');
    }
  };
  walk(dir);
  return out;
}

/** A PNG whose header claims width x height; the pixel data is a few zero bytes. */
function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A real JPEG whose SOF header is patched to claim width x height. */
function jpegClaiming(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i + 9 < out.length; ) {
    if (out[i] !== 0xff) throw new Error('not at a JPEG marker');
    const marker = out[i + 1] as number;
    if (marker >= 0xc0 && marker <= 0xc2) {
      out.writeUInt16BE(height, i + 5);
      out.writeUInt16BE(width, i + 7);
      return out;
    }
    i += 2 + out.readUInt16BE(i + 2);
  }
  throw new Error('no SOF marker');
}

/** `valid` cut after `keep` bytes, then deterministic random bytes: damage after a valid header. */
const garbageAfter = (valid: Buffer, keep: number, seed: number): Buffer =>
  Buffer.concat([valid.subarray(0, keep), Buffer.from(noise(16 * 1024, seed))]);

let root: string;
let corpus: string;
let fifo: string;
let db: string;
let scene: Buffer;
let knownPdq: string;

beforeAll(async () => {
  root = tempDir('ward-hostile-');
  corpus = join(root, 'corpus');
  mkdirSync(join(corpus, 'dir'), { recursive: true });
  db = join(root, 'ward.db');
  const sharp = await loadSharp();
  const c = (name: string, bytes: Uint8Array | string) => writeFileSync(join(corpus, name), bytes);

  scene = await sceneImage(7);
  knownPdq = (await hashImage(scene)).pdq;
  const png = await sceneImage(8, 'png');
  const webp = await sharp(scene).webp().toBuffer();
  const gif = await sharp(scene).gif().toBuffer();

  // Damaged images of every decodable format.
  const images: [string, Buffer, number][] = [
    ['jpeg', scene, 400],
    ['png', png, 33],
    ['webp', webp, 30],
    ['gif', gif, 13],
  ];
  images.forEach(([ext, bytes, header], i) => {
    c(`truncated.${ext}`, bytes.subarray(0, Math.floor(bytes.length / 2)));
    c(`garbage.${ext}`, garbageAfter(bytes, header, i + 1));
    c(`header-only.${ext}`, bytes.subarray(0, header));
  });
  c('empty.jpg', '');
  c('empty.png', '');
  c('dir/empty.zip', '');
  // Headers claiming billions of pixels (nothing that large is ever allocated).
  c('huge.png', pngClaiming(100_000, 100_000));
  c('huge.jpg', jpegClaiming(scene, 60_000, 60_000));
  c('huge-inside.zip', zipOf([{ name: 'huge.png', data: pngClaiming(100_000, 100_000) }]));

  // Bombs: 200 MB of zeros each, honest and lying about their sizes.
  c('zip-bomb.zip', zipOf([{ name: 'zeros.bin', data: Buffer.alloc(BOMB_BYTES) }]));
  c('zip-bomb-liar.zip', zipOf([{ name: 'zeros.bin', data: Buffer.alloc(BOMB_BYTES), declaredSize: 4096 }]));
  c('gzip-bomb.gz', await gzipChunks(zeros(BOMB_BYTES)));
  c('tar-gz-bomb.tar.gz', await gzipChunks(tarOfZeros('zeros.bin', BOMB_BYTES)));
  // 7z written by 7-Zip (fast LZMA2); a RAR 5 entry declaring 100 GiB behind 1,000 bytes.
  c('7z-bomb.7z', await sevenZipOf([{ name: 'zeros.bin', data: new Uint8Array(BOMB_BYTES) }], { switches: ['x=1'] }));
  c('rar-bomb-liar.rar', rar5Of([{ name: 'zeros.bin', bytes: noise(1000), method: 3, declaredSize: 100 * 1024 ** 3 }]));
  // Moderately compressible (about 50:1): read by default, refused under a small maxRatio.
  const ratio50 = Buffer.concat([Buffer.from(noise(100 * 1024, 9)), Buffer.alloc(5 * MiB)]);
  c('ratio50.zip', zipOf([{ name: 'data.bin', data: ratio50 }]));
  c('ratio50.gz', gzipOf(ratio50));

  // Names that climb out of the folder an unpacker would write to.
  c(
    'traversal.zip',
    zipOf([
      { name: '../../evil.jpg', data: scene },
      { name: '/abs.jpg', data: scene },
      { name: 'C:\\windows\\evil.jpg', data: scene },
      { name: 'fine/ok.jpg', data: scene },
    ]),
  );
  c(
    'traversal.tar',
    await tarOf([
      { name: '../../evil-tar.jpg', data: scene },
      { name: 'link.jpg', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'hard.jpg', type: 'link', linkname: '../../evil-tar.jpg' },
    ]),
  );

  // Zip in zip, 8 levels (limit: 4).
  let nested = zipOf([{ name: 'core.jpg', data: scene }]);
  for (let i = 8; i >= 1; i--) nested = zipOf([{ name: `l${i}.zip`, data: nested }]);
  c('deep.zip', nested);

  // Unreadable and special files.
  symlinkSync('/nonexistent/ward-hostile-target.jpg', join(corpus, 'dangling.jpg'));
  symlinkSync('..', join(corpus, 'dir', 'loop-up')); // back to corpus/: a directory cycle
  symlinkSync('.', join(corpus, 'dir', 'loop-here'));
  symlinkSync('self', join(corpus, 'self')); // ELOOP
  symlinkSync('/dev/zero', join(corpus, 'dev-zero'));
  await mkfifo(join(corpus, 'fifo-inside'));
  fifo = join(root, 'fifo');
  await mkfifo(fifo);

  // A bank, so the traversal entries (the scene) match and the DB and its index exist beforehand.
  for (const args of [
    ['bank', 'create', 'known'],
    ['bank', 'import', 'known', '-', '--signal', 'pdq', '--format', 'lines'],
    ['scan', join(corpus, 'huge.png')],
  ]) {
    const r = await runWard([...args, '--db', db], { input: `${knownPdq}\n` });
    expect(r.code, r.stderr).not.toBe(3);
  }
}, 180_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function mkfifo(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('mkfifo', [path], { stdio: 'ignore' });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`mkfifo exited ${code}`))));
  });
}

const label = (x: Json): string => (x.archivePath === undefined ? x.path : `${x.path} :: ${x.archivePath}`);

describe.each([
  ['--jobs 1', ['--jobs', '1']],
  ['--jobs 2', ['--jobs', '2']],
])('a hostile corpus (%s)', (_name, jobs) => {
  let run: Run;
  let items: Json[];
  let before: Map<string, string>;
  let after: Map<string, string>;
  let out: string;
  const find = (name: string, archivePath?: string): Json => {
    const found = items.filter((x) => x.path === join(corpus, name) && x.archivePath === archivePath);
    expect(found, `${name} ${archivePath ?? ''}`).toHaveLength(1);
    return found[0];
  };

  beforeAll(async () => {
    const cwd = join(root, `run${jobs[1]}`, 'deeper');
    mkdirSync(cwd, { recursive: true });
    out = join(cwd, 'report.ndjson');
    before = listTree(root);
    run = await runMeasured(['scan', ...jobs, '--db', db, '--out', out, corpus, fifo, '/dev/zero'], cwd);
    after = listTree(root);
    items = existsSync(out)
      ? readFileSync(out, 'utf8')
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l))
      : [];
  }, SCAN_TIMEOUT_MS + 10_000);

  it('finishes in time, exits 1 (the traversal entries match), prints only its summary', () => {
    expect(run.signal, `killed after ${run.ms} ms`).toBeNull();
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^Scanned \d+ items in [\d.]+ s/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('stays far below the bombs’ expanded size in memory', () => {
    expect(run.maxRss).toBeGreaterThan(0);
    expect(run.maxRss).toBeLessThan(RSS_LIMIT_BYTES);
  });

  it('writes nothing but its report: no file appears, changes or goes anywhere else', () => {
    const added = [...after.keys()].filter((p) => !before.has(p));
    const removed = [...before.keys()].filter((p) => !after.has(p));
    const changed = [...before.keys()].filter((p) => after.has(p) && after.get(p) !== before.get(p));
    expect(added).toEqual([out]);
    expect(removed).toEqual([]);
    // Only the database may change (it is opened read-write).
    expect(changed.filter((p) => !p.startsWith(db))).toEqual([]);
    for (const p of ['/abs.jpg', '/tmp/evil.jpg', '/tmp/evil-tar.jpg', join(root, 'evil.jpg')])
      expect(existsSync(p), p).toBe(false);
  });

  it('gives every item a verdict and the report contract; errors carry a WARD_ERR_* code', () => {
    expect(items.length).toBeGreaterThan(30);
    for (const x of items) {
      expect(validateItem(x) ? [] : [label(x), validateItem.errors]).toEqual([]);
      expect(['match', 'flag', 'clean', 'skipped', 'error']).toContain(x.verdict);
      if (x.verdict === 'error') expect(x.error?.code, label(x)).toMatch(/^WARD_ERR_[A-Z0-9_]+$/);
      if (x.error) expect(x.reasons.some((r: Json) => r.rule === 'error') || x.verdict !== 'error').toBe(true);
    }
    expect(new Set(items.map(label)).size).toBe(items.length);
    const m = /match (\d+), flag (\d+), clean (\d+), skipped (\d+), error (\d+)$/m.exec(run.stderr);
    expect(m?.slice(1).reduce((a, b) => a + Number(b), 0)).toBe(items.length);
  });

  it('reports damaged images as decode errors, with their digests', () => {
    for (const ext of ['jpeg', 'png', 'webp', 'gif']) {
      for (const name of [`truncated.${ext}`, `header-only.${ext}`]) {
        const x = find(name);
        expect([name, x.contentType, x.verdict, x.error?.code]).toEqual([
          name,
          'image',
          'error',
          'WARD_ERR_IMAGE_DECODE',
        ]);
        expect(x.signals.md5).toMatch(/^[0-9a-f]{32}$/);
      }
      const g = find(`garbage.${ext}`);
      expect(g.contentType).toBe('image');
      // Random bytes after a valid header: a decode error, or (if the decoder recovers) a verdict.
      if (g.verdict === 'error') expect(g.error.code).toBe('WARD_ERR_IMAGE_DECODE');
    }
    for (const name of ['empty.jpg', 'empty.png', 'dir/empty.zip']) {
      expect(find(name)).toMatchObject({ size: 0, verdict: 'skipped', contentType: 'other' });
    }
  });

  it('refuses pixel bombs from their headers', () => {
    for (const x of [find('huge.png'), find('huge.jpg'), find('huge-inside.zip', 'huge.png')]) {
      expect(x.verdict, label(x)).toBe('error');
      expect(x.error.code, label(x)).toBe('WARD_ERR_LIMIT_PIXELS');
      expect(x).not.toHaveProperty('media');
    }
  });

  it('cuts zip and gzip bombs off at the limits', () => {
    const bombs = [
      'zip-bomb.zip',
      'zip-bomb-liar.zip',
      'gzip-bomb.gz',
      'tar-gz-bomb.tar.gz',
      '7z-bomb.7z',
      'rar-bomb-liar.rar',
    ];
    for (const name of bombs) {
      const archive = find(name);
      expect(archive.contentType).toBe('archive');
      const entries = items.filter((x) => x.path === join(corpus, name) && x.archivePath !== undefined);
      expect(entries.length, name).toBe(1);
      const [e] = entries;
      expect(e.verdict, label(e)).toBe('error');
      expect(['WARD_ERR_LIMIT_ARCHIVE', 'WARD_ERR_ARCHIVE_CORRUPT']).toContain(e.error.code);
      expect(e.size ?? 0).toBeLessThan(BOMB_BYTES);
    }
    expect(find('zip-bomb.zip', 'zeros.bin').error.code).toBe('WARD_ERR_LIMIT_ARCHIVE');
    expect(find('zip-bomb-liar.zip', 'zeros.bin').error.code).toBe('WARD_ERR_ARCHIVE_CORRUPT');
    expect(find('gzip-bomb.gz', '(gzip payload)').error.code).toBe('WARD_ERR_LIMIT_ARCHIVE');
    expect(find('tar-gz-bomb.tar.gz', 'zeros.bin').error.code).toBe('WARD_ERR_LIMIT_ARCHIVE');
    expect(find('7z-bomb.7z', 'zeros.bin').error.message).toMatch(/expands .*:1/);
    expect(find('rar-bomb-liar.rar', 'zeros.bin').error.code).toBe('WARD_ERR_LIMIT_ARCHIVE');
    // Within the default ratio: read.
    expect(find('ratio50.zip', 'data.bin')).toMatchObject({ verdict: 'skipped', size: 100 * 1024 + 5 * MiB });
  });

  it('flags path-traversal names, reports the entries, and never writes them', () => {
    const names = ['../../evil.jpg', '/abs.jpg', 'C:\\windows\\evil.jpg'];
    for (const name of names) {
      const x = find('traversal.zip', name);
      expect(x.findings).toEqual([
        {
          type: 'archive.unsafe-name',
          severity: 'low',
          message: expect.any(String),
          source: 'archive',
          data: { name },
        },
      ]);
      // The scene inside is still scanned (and matched); a low finding alone does not flag.
      expect(x.verdict).toBe('match');
      expect(x.signals.pdq).toBe(knownPdq);
    }
    expect(find('traversal.zip', 'fine/ok.jpg').findings).toEqual([]);
    const t = find('traversal.tar', '../../evil-tar.jpg');
    expect(t.findings.map((f: Json) => f.type)).toEqual(['archive.unsafe-name']);
    // Links inside archives are not followed (nor reported as files).
    const tarEntries = items.filter((x) => x.path === join(corpus, 'traversal.tar')).map((x) => x.archivePath);
    expect(tarEntries).toEqual([undefined, '../../evil-tar.jpg']);
  });

  it('opens nested archives down to maxDepth and reports the next level as a limit error', () => {
    const deep = items.filter((x) => x.path === join(corpus, 'deep.zip')).map((x) => [x.archivePath, x.verdict]);
    expect(deep).toEqual([
      [undefined, 'clean'],
      ['l1.zip', 'clean'],
      ['l1.zip!/l2.zip', 'clean'],
      ['l1.zip!/l2.zip!/l3.zip', 'clean'],
      ['l1.zip!/l2.zip!/l3.zip!/l4.zip', 'error'],
    ]);
    const limit = find('deep.zip', 'l1.zip!/l2.zip!/l3.zip!/l4.zip');
    expect(limit.error.code).toBe('WARD_ERR_LIMIT_ARCHIVE');
    expect(limit.contentType).toBe('archive');
    expect(limit.signals.md5).toMatch(/^[0-9a-f]{32}$/); // digested, just not opened
  });

  it('reports unreadable inputs, cuts symlink loops, refuses FIFOs and devices without hanging', () => {
    expect(find('dangling.jpg')).toMatchObject({ verdict: 'error', error: { code: 'WARD_ERR_INPUT_NOT_FOUND' } });
    expect(find('self')).toMatchObject({ verdict: 'error', error: { code: 'WARD_ERR_INPUT_NOT_FOUND' } });
    for (const path of [fifo, '/dev/zero']) {
      const x = items.find((y) => y.path === path);
      expect(x, path).toMatchObject({ verdict: 'error', error: { code: 'WARD_ERR_INPUT_NOT_FOUND' } });
    }
    // Each real file once: the loops lead back to directories already walked.
    expect(items.filter((x) => x.path.includes('loop-')).map((x) => x.path)).toEqual([]);
    expect(items.filter((x) => x.path === join(corpus, 'huge.png'))).toHaveLength(1);
    // Special files inside a directory are reported as errors, never read.
    const special = items.filter((x) => /fifo-inside|dev-zero/.test(x.path));
    expect(special.map((x) => [x.path.slice(corpus.length + 1), x.verdict, x.error?.code])).toEqual([
      ['dev-zero', 'error', 'WARD_ERR_INPUT_NOT_FOUND'],
      ['fifo-inside', 'error', 'WARD_ERR_INPUT_NOT_FOUND'],
    ]);
  });
});

describe('a hostile corpus under a strict configuration', () => {
  it(
    'applies a small maxRatio and maxDepth from --config',
    async () => {
      const cwd = join(root, 'strict');
      mkdirSync(cwd, { recursive: true });
      const config = join(cwd, 'strict.yaml');
      writeFileSync(config, 'version: 1\nlimits:\n  archive:\n    maxRatio: 20\n    maxDepth: 2\n');
      const out = join(cwd, 'report.ndjson');
      const before = listTree(root);
      const inputs = ['ratio50.zip', 'ratio50.gz', 'deep.zip', 'zip-bomb.zip', 'gzip-bomb.gz'].map((n) =>
        join(corpus, n),
      );
      const run = await runMeasured(['scan', '--db', db, '--config', config, '--out', out, ...inputs], cwd);
      expect(run.signal).toBeNull();
      expect(run.code, run.stderr).toBe(2); // errors only
      expect(run.maxRss).toBeLessThan(RSS_LIMIT_BYTES);
      const items = readFileSync(out, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(items.map((x) => [x.path.slice(corpus.length + 1), x.archivePath, x.verdict, x.error?.code])).toEqual([
        ['ratio50.zip', undefined, 'clean', undefined],
        ['ratio50.zip', 'data.bin', 'error', 'WARD_ERR_LIMIT_ARCHIVE'],
        ['ratio50.gz', undefined, 'clean', undefined],
        ['ratio50.gz', '(gzip payload)', 'error', 'WARD_ERR_LIMIT_ARCHIVE'],
        ['deep.zip', undefined, 'clean', undefined],
        ['deep.zip', 'l1.zip', 'clean', undefined],
        ['deep.zip', 'l1.zip!/l2.zip', 'error', 'WARD_ERR_LIMIT_ARCHIVE'],
        ['zip-bomb.zip', undefined, 'clean', undefined],
        ['zip-bomb.zip', 'zeros.bin', 'error', 'WARD_ERR_LIMIT_ARCHIVE'],
        ['gzip-bomb.gz', undefined, 'clean', undefined],
        ['gzip-bomb.gz', '(gzip payload)', 'error', 'WARD_ERR_LIMIT_ARCHIVE'],
      ]);
      for (const x of items) expect(validateItem(x) ? [] : validateItem.errors).toEqual([]);
      expect(items[1].error.message).toContain('20:1');
      const added = [...listTree(root).keys()].filter((p) => !before.has(p));
      expect(added).toEqual([out]);
    },
    SCAN_TIMEOUT_MS,
  );
});
