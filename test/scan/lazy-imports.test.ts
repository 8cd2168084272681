/**
 * The opt-in parts stay out of the default scan: without `classifiers`, TensorFlow.js and nsfwjs
 * are never imported, and without a 7z or RAR input neither is 7-Zip. Checked in a child process
 * (the built dist/, `--jobs 1`) whose module loader records every module it loads; the same run
 * with a classifier and a 7z shows that the recording sees them.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import { zipOf } from '../helpers/archives.js';
import { tempDir } from '../helpers/cli.js';
import { PROJECT_ROOT } from '../helpers/fixtures.js';
import { sevenZipOf } from '../helpers/sevenzip.js';

const dir = tempDir('ward-lazy-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.WARD_LOADED_LOG, url + '\\n');
  return next(url, context);
}`;

function loadedBy(inputs: string[], config: object): string[] {
  const log = join(dir, `loaded-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(log, '');
  const script = `
import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});
const { scan } = await import(${JSON.stringify(pathToFileURL(join(PROJECT_ROOT, 'dist', 'scan', 'pipeline.js')).href)});
const { Matcher } = await import(${JSON.stringify(pathToFileURL(join(PROJECT_ROOT, 'dist', 'match', 'matcher.js')).href)});
const { SqliteStore } = await import(${JSON.stringify(pathToFileURL(join(PROJECT_ROOT, 'dist', 'store', 'sqlite.js')).href)});
const { resolveScanConfig } = await import(${JSON.stringify(pathToFileURL(join(PROJECT_ROOT, 'dist', 'scan', 'config.js')).href)});
const store = SqliteStore.open(':memory:');
let n = 0;
for await (const r of scan(${JSON.stringify(inputs)}, { jobs: 1, matcher: Matcher.open(store), config: resolveScanConfig(${JSON.stringify(config)}) })) {
  if (r.error) throw new Error(r.path + ' ' + r.error.message);
  n++;
}
console.log(n);
`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, WARD_LOADED_LOG: log },
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(run.stderr).toBe('');
  expect(Number(run.stdout.trim())).toBeGreaterThan(0);
  return readFileSync(log, 'utf8').split('\n');
}

const heavy = (urls: string[], what: RegExp) => urls.filter((u) => what.test(u));

describe('lazy loading of the opt-in parts', () => {
  beforeAll(async () => {
    writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
    const jpeg = await sceneImage(31, 'jpeg', 320, 240);
    writeFileSync(join(dir, 'a.jpg'), jpeg);
    writeFileSync(join(dir, 'b.zip'), zipOf([{ name: 'c.jpg', data: jpeg }]));
    writeFileSync(join(dir, 'd.7z'), await sevenZipOf([{ name: 'e.jpg', data: jpeg }]));
  });

  it('a default scan of images and a zip loads neither TensorFlow.js, nsfwjs nor 7-Zip', () => {
    const urls = loadedBy([join(dir, 'a.jpg'), join(dir, 'b.zip')], { version: 1 });
    expect(heavy(urls, /\/dist\/scan\/pipeline\.js$/)).toHaveLength(1); // the log works
    expect(heavy(urls, /@tensorflow|nsfwjs|@vladmandic|\/classifiers\//)).toEqual([]);
    // media/sevenzip (small) is part of media/archive; the 7-Zip package itself is not loaded.
    expect(heavy(urls, /7z-wasm/)).toEqual([]);
  });

  it('a 7z loads 7-Zip, and classifiers: [nsfw] loads TensorFlow.js and nsfwjs', () => {
    const urls = loadedBy([join(dir, 'd.7z'), join(dir, 'a.jpg')], { version: 1, classifiers: ['nsfw:MobileNetV2'] });
    expect(heavy(urls, /7z-wasm/).length).toBeGreaterThan(0);
    expect(heavy(urls, /@tensorflow\/tfjs-backend-wasm/).length).toBeGreaterThan(0);
    expect(heavy(urls, /nsfwjs/).length).toBeGreaterThan(0);
  });
});
