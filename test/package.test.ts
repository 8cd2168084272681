/**
 * The package as a new user meets it: an unbuilt checkout, `npm pack`, the licence, the published
 * declarations, the test run's own hygiene (one TMPDIR per run, removed at the end).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/cli.js';
import { PROJECT_ROOT } from './helpers/fixtures.js';

const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  license: string;
  files: string[];
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  engines: { node: string };
};

function declarations(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...declarations(p));
    else if (e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The package a bare specifier names (`@types/x`, `pg`, `yauzl/sub` → `yauzl`). */
const packageOf = (spec: string) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');
/** The package that holds a specifier's types (`pg` → `@types/pg` when pg has none of its own). */
const typesPackage = (name: string) => `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`;

describe('the package', () => {
  it('an unbuilt checkout says to run npm run build, with exit 4 and no stack trace', () => {
    const copy = tempDir('ward-unbuilt-');
    mkdirSync(join(copy, 'bin'));
    cpSync(join(PROJECT_ROOT, 'bin', 'ward.js'), join(copy, 'bin', 'ward.js'));
    cpSync(join(PROJECT_ROOT, 'package.json'), join(copy, 'package.json'));
    symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(copy, 'node_modules'));
    const r = spawnSync(process.execPath, [join(copy, 'bin', 'ward.js'), 'hash', 'x.jpg'], { encoding: 'utf8' });
    expect(r.status).toBe(4);
    expect(r.stderr).toContain('WARD_ERR_DEPENDENCY_MISSING');
    expect(r.stderr).toContain('npm run build');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).toBe('');
  });

  it('builds before packing, and packs the licence, the build and the command', () => {
    expect(pkg.scripts.prepack).toBe('npm run build');
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const [packed] = JSON.parse(r.stdout) as { files: { path: string }[] }[];
    const paths = (packed as { files: { path: string }[] }).files.map((f) => f.path);
    for (const p of ['LICENSE', 'package.json', 'bin/ward.js', 'dist/index.js', 'dist/index.d.ts'])
      expect(paths).toContain(p);
    expect(paths.filter((p) => p.startsWith('test/') || p.startsWith('src/'))).toEqual([]);
  });

  it('has the full Apache-2.0 licence text, as package.json says', () => {
    expect(pkg.license).toBe('Apache-2.0');
    const text = readFileSync(join(PROJECT_ROOT, 'LICENSE'), 'utf8');
    expect(text).toMatch(/^\s+Apache License\n\s+Version 2\.0, January 2004/);
    expect(text).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
    expect(text).toContain('9. Accepting Warranty or Additional Liability.');
    expect(text).toContain('END OF TERMS AND CONDITIONS');
  });

  it('publishes declarations whose imports resolve with production dependencies only', () => {
    const dist = join(PROJECT_ROOT, 'dist');
    expect(existsSync(join(dist, 'index.d.ts')), 'needs `npm run build`').toBe(true);
    const problems: string[] = [];
    for (const file of declarations(dist)) {
      // Code only: doc comments may show imports (`import { serve } from 'ward/server'`).
      const src = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
      for (const m of src.matchAll(/(?:from\s+|import\(\s*)['"]([^'"]+)['"]/g)) {
        const spec = m[1] as string;
        if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        const name = packageOf(spec);
        // Its own types, or its @types package, must be a production dependency.
        const typesOf = name.startsWith('@types/') ? name : typesPackage(name);
        const own = name in pkg.dependencies;
        const typed = typesOf in pkg.dependencies;
        const needsTypes = typesOf in pkg.devDependencies || (!own && !typed);
        if (needsTypes && !typed) problems.push(`${relative(dist, file)} imports ${spec}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('pins every dependency exactly and keeps cookie (via fastify) on a version for Node 20', () => {
    for (const [name, v] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies }))
      expect(v, name).toMatch(/^\d+\.\d+\.\d+$/);
    const lock = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string; engines?: { node?: string } }>;
    };
    // No locked package may ask for a newer Node than the engines range starts at (EBADENGINE).
    const ours = Number(/(\d+)/.exec(pkg.engines.node)?.[1]);
    const tooNew = Object.entries(lock.packages)
      .filter(([, p]) => {
        const want = /^>=\s*(\d+)/.exec(p.engines?.node ?? '');
        return want !== null && Number(want[1]) > ours;
      })
      .map(([k, p]) => `${k}@${p.version} wants node ${p.engines?.node}`);
    expect(tooNew).toEqual([]);
  });

  it('runs the tests in one temporary folder for the run (removed by the global setup)', () => {
    const runDir = process.env.WARD_TEST_TMPDIR;
    expect(runDir, 'vitest.config.ts globalSetup').toBeDefined();
    expect(tmpdir()).toBe(runDir);
    expect(dirname(tempDir())).toBe(runDir);
    expect(process.env.XDG_DATA_HOME).toBe(join(runDir as string, 'data'));
  });
});
