/**
 * The plugin registry end to end, with a plugin written as a user would (test/fixtures/plugins/
 * xorfold.js: a new signal type, an extractor and a new content type with its sniffer): it is
 * checked at load, reaches every worker thread, and its signal type works in banks, `ward match`
 * and `ward scan` with no other change to Ward. (The service's paths: test/server/plugins.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPlugin } from '../src/builtin.js';
import { WardError } from '../src/errors.js';
import { Matcher } from '../src/match/matcher.js';
import { loadRegistry, Registry, registerExtractor, resolvePluginSpecifier, usePlugins } from '../src/registry.js';
import { scan } from '../src/scan/pipeline.js';
import type { ItemReport } from '../src/scan/types.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { runWard, tempDir } from './helpers/cli.js';
import { PROJECT_ROOT } from './helpers/fixtures.js';

const PLUGIN = join(PROJECT_ROOT, 'test', 'fixtures', 'plugins', 'xorfold.js');

function xorfold(bytes: Uint8Array): string {
  const out = [0, 0, 0, 0];
  for (let i = 0; i < bytes.length; i++) out[i & 3] = (out[i & 3] as number) ^ (bytes[i] as number);
  return `xf1-${out.map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

let dir: string;
let known: Buffer; // "known material": its xorfold is in the bank
let nearCopy: Buffer; // one bit flipped: distance 1
let unrelated: Buffer;
let doc: Buffer; // the plugin's own content type
let db: string;

beforeAll(() => {
  dir = tempDir('ward-plugins-');
  known = randomBytes(5000);
  nearCopy = Buffer.from(known);
  nearCopy[100] = (nearCopy[100] as number) ^ 0x01;
  unrelated = randomBytes(5000);
  doc = Buffer.concat([Buffer.from('TESTDOC1'), randomBytes(100)]);
  mkFiles();
  db = join(dir, 'w.db');
});

function mkFiles(): void {
  writeFileSync(join(dir, 'a-near.bin'), nearCopy);
  writeFileSync(join(dir, 'b-unrelated.bin'), unrelated);
  writeFileSync(join(dir, 'c-doc.testdoc'), doc);
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the registry', () => {
  it('loads a plugin module: its signal type, sniffer, extractor and content type', async () => {
    const r = await loadRegistry([PLUGIN]);
    expect(r.specifiers).toEqual([pathToFileURL(PLUGIN).href]);
    expect(r.signalType('xorfold')?.matching).toBe('distance');
    expect(r.contentTypes).toContain('testdoc');
    expect(r.sniff(doc.subarray(0, 4096))).toEqual({ contentType: 'testdoc', format: 'testdoc' });
    expect(r.extractorsFor('testdoc').map((e) => e.name)).toEqual(['xorfold']);
    expect(r.detectSignal(xorfold(known))).toEqual({ signal: 'xorfold', value: xorfold(known) });
    // Its index is the brute force over its own compare (it declares none).
    expect(r.indexKind(r.requireSignalType('xorfold')).name).toBe('linear');
  });

  it('is checked when built: duplicate names and unknown content types are WARD_ERR_PLUGIN_INVALID', () => {
    const err = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        return WardError.is(e) ? `${e.code}: ${e.message}` : String(e);
      }
      return 'no error';
    };
    expect(
      err(() => new Registry([builtinPlugin, { name: 'x', signalTypes: [builtinPlugin.signalTypes[0]] }])),
    ).toMatch(/WARD_ERR_PLUGIN_INVALID: Two signal types are named "pdq"/);
    expect(err(() => new Registry([builtinPlugin, { name: 'ward' }]))).toMatch(/Two plugins are named "ward"/);
    expect(
      err(
        () =>
          new Registry([
            builtinPlugin,
            { name: 'y', extractors: [{ name: 'e', contentTypes: ['nope'], extract: async () => ({}) }] },
          ]),
      ),
    ).toMatch(/unknown content type "nope"/);
    expect(err(() => resolvePluginSpecifier('no-such-ward-plugin-package'))).toMatch(/WARD_ERR_PLUGIN_INVALID/);
  });

  it('a module that is not a plugin is a clear error', async () => {
    const bad = join(dir, 'not-a-plugin.mjs');
    writeFileSync(bad, 'export const x = 1;\n');
    await expect(loadRegistry([bad])).rejects.toThrow(/exports no plugin/);
  });
});

describe('scan() with a plugin', () => {
  let store: SqliteStore;
  let matcher: Matcher;
  beforeAll(async () => {
    await usePlugins([PLUGIN]);
    store = SqliteStore.open(':memory:');
    store.createBank('known');
    await store.importEntries(
      'known',
      (async function* () {
        yield { signal: 'xorfold', value: xorfold(known), labels: ['stand-in'], line: 1 };
      })(),
    );
    matcher = Matcher.open(store);
  });
  afterAll(() => store.close());

  const run = async (jobs: number): Promise<Map<string, ItemReport>> => {
    const out = new Map<string, ItemReport>();
    for await (const r of scan([dir], { jobs, matcher, plugins: [PLUGIN] }))
      out.set(r.path.split('/').pop() as string, r);
    return out;
  };

  // REGRESSION: workers imported only the built-ins, so a plugin's extractor ran with one job and
  // silently did nothing with two.
  it.each([1, 2])('runs the extractor and matches its signal type with %i job(s)', async (jobs) => {
    const r = await run(jobs);
    expect(r.get('a-near.bin')).toMatchObject({
      verdict: 'match',
      signals: { xorfold: xorfold(nearCopy) },
      matches: [{ bank: 'known', signal: 'xorfold', value: xorfold(known), distance: 1, labels: ['stand-in'] }],
    });
    expect(r.get('b-unrelated.bin')?.signals.xorfold).toBe(xorfold(unrelated));
    expect(r.get('b-unrelated.bin')?.matches).toEqual([]);
    expect(r.get('c-doc.testdoc')).toMatchObject({
      contentType: 'testdoc',
      format: 'testdoc',
      findings: [{ type: 'testdoc.seen', source: 'xorfold' }],
    });
  });

  it('refuses a worker pool when an extractor was registered at run time (it could not reach the workers)', async () => {
    registerExtractor({ name: 'runtime-only', contentTypes: ['other'], extract: async () => ({}) });
    await expect(run(2)).rejects.toThrow(/runtime-only registered at run time cannot run on worker threads/);
    const one = await run(1);
    expect(one.get('a-near.bin')?.verdict).toBe('match');
  });
});

describe('the CLI with --plugin', () => {
  const ward = (args: string[], input?: string) => runWard([...args, '--db', db], input === undefined ? {} : { input });

  beforeAll(async () => {
    expect((await ward(['bank', 'create', 'known'])).code).toBe(0);
    // Bank files are parsed on a worker thread: it loads the plugin too.
    const list = join(dir, 'list.txt');
    writeFileSync(list, `${xorfold(known)}\n`);
    const imp = await runWard(['bank', 'import', 'known', list, '--db', db, '--plugin', PLUGIN]);
    expect(imp.stderr).toBe('');
    expect(JSON.parse(imp.stdout)).toMatchObject({ added: 1 });
  });

  it('without the plugin, its values are not a known signal type', async () => {
    const list = join(dir, 'list2.ndjson');
    writeFileSync(list, `${JSON.stringify({ signal: 'xorfold', value: xorfold(unrelated) })}\n`);
    const r = await ward(['bank', 'import', 'known', list]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/line 1: .*Unknown signal type "xorfold"/);
    const bare = join(dir, 'list3.txt');
    writeFileSync(bare, `${xorfold(unrelated)}\n`);
    expect((await ward(['bank', 'import', 'known', bare])).code).toBe(2);
  });

  it('ward match --hashes: a bare value is detected, signal:value is taken as given', async () => {
    const r = await ward(
      ['match', '--plugin', PLUGIN, '--format', 'ndjson', '--hashes', '-'],
      `${xorfold(nearCopy)}\nxorfold:${xorfold(unrelated)}\n`,
    );
    expect(r.code).toBe(1);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ signals: { xorfold: xorfold(nearCopy) }, matches: [{ distance: 1 }] });
    expect(lines[1]).toMatchObject({ signals: { xorfold: xorfold(unrelated) }, matches: [] });
  });

  it('ward scan --plugin --jobs 2, and plugins: in the scan config', async () => {
    const viaFlag = await ward(['scan', '--plugin', PLUGIN, '--jobs', '2', '--format', 'ndjson', dir]);
    const cfg = join(dir, 'policy.yaml');
    writeFileSync(cfg, `version: 1\nplugins:\n  - ${PLUGIN}\n`);
    const viaConfig = await ward(['scan', '--config', cfg, '--jobs', '2', '--format', 'ndjson', dir]);
    for (const r of [viaFlag, viaConfig]) {
      expect(r.code).toBe(1);
      const reports = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)) as ItemReport[];
      const near = reports.find((x) => x.path.endsWith('a-near.bin'));
      expect(near).toMatchObject({ verdict: 'match', matches: [{ signal: 'xorfold', distance: 1 }] });
      expect(reports.find((x) => x.path.endsWith('c-doc.testdoc'))?.contentType).toBe('testdoc');
    }
  });

  it('a plugin that cannot be loaded is exit 3 with the reason', async () => {
    const r = await ward(['scan', '--plugin', join(dir, 'missing.js'), dir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/WARD_ERR_PLUGIN_INVALID: Cannot load the plugin/);
  });
});
