/** The error registry, docs/errors.md and the package version cannot drift apart. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, WardError } from '../src/errors.js';
import { VERSION } from '../src/version.js';
import { PROJECT_ROOT } from './helpers/fixtures.js';

describe('error registry', () => {
  it('lists the same codes, kinds and meanings as docs/errors.md, in both directions', () => {
    const doc = readFileSync(join(PROJECT_ROOT, 'docs', 'errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `(WARD_ERR_[A-Z_]+)` \| (\w+) \| (.+) \|$/gm)].map((m) => [m[1], m[2], m[3]]);
    const registry = Object.entries(ERROR_CODES).map(([code, v]) => [code, v.kind, v.doc]);
    expect(rows).toEqual(registry);
  });

  it('brands errors so they are recognised across copies, and serialises code + message only', () => {
    const e = new WardError('WARD_ERR_INPUT_EMPTY', 'empty', { path: '/x' });
    expect(WardError.is(e)).toBe(true);
    expect(WardError.is(new Error('x'))).toBe(false);
    expect(WardError.is({ code: 'WARD_ERR_INPUT_EMPTY' })).toBe(false);
    expect(e.kind).toBe('input');
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: 'WARD_ERR_INPUT_EMPTY', message: 'empty' });
  });

  it('keeps VERSION equal to package.json', () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });
});
