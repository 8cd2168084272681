import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCAN_CONFIG, loadScanConfig, resolveScanConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'ward-config-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('scan configuration', () => {
  it('an empty file gives the defaults', async () => {
    expect(await loadScanConfig(file('empty.yaml', ''))).toEqual(DEFAULT_SCAN_CONFIG);
    expect(resolveScanConfig({})).toEqual(DEFAULT_SCAN_CONFIG);
  });

  it('reads YAML and JSON, merging over the defaults', async () => {
    const yaml = await loadScanConfig(
      file(
        'c.yaml',
        'version: 1\nmatch:\n  dihedral: true\npolicy:\n  banks:\n    review-list: flag\n  pdqFlagAbove: 20\nlimits:\n  archive:\n    maxDepth: 2\n',
      ),
    );
    expect(yaml.match).toEqual({ ...DEFAULT_SCAN_CONFIG.match, dihedral: true });
    expect(yaml.policy.banks).toEqual({ 'review-list': 'flag' });
    expect(yaml.policy.pdqFlagAbove).toBe(20);
    expect(yaml.limits.archive.maxDepth).toBe(2);
    expect(yaml.limits.archive.maxRatio).toBe(DEFAULT_SCAN_CONFIG.limits.archive.maxRatio);
    expect(yaml.extract).toEqual({ provenancePixels: true, redactPrompts: false });
    const lean = await loadScanConfig(
      file('lean.yaml', 'extract:\n  provenancePixels: false\n  redactPrompts: true\n'),
    );
    expect(lean.extract).toEqual({ provenancePixels: false, redactPrompts: true });
    await expect(loadScanConfig(file('x.yaml', 'extract:\n  pixels: false\n'))).rejects.toMatchObject({
      message: expect.stringMatching(/extract\.pixels/),
    });
    const json = await loadScanConfig(file('c.json', '{"policy":{"weakHash":"flag","findings":{"text.*":"match"}}}'));
    expect(json.policy.weakHash).toBe('flag');
    expect(json.policy.findings).toEqual({ 'text.*': 'match' });
  });

  it('rejects unknown keys and bad values, naming the key', async () => {
    const cases: [string, RegExp][] = [
      ['policy:\n  flagSeverty: high\n', /policy\.flagSeverty/],
      ['policy:\n  flagSeverity: extreme\n', /policy\.flagSeverity.*one of info, low, medium, high, critical/],
      ['match:\n  minQuality: 101\n', /match\.minQuality.*0-100/],
      ['match:\n  dihedral: "yes"\n', /match\.dihedral.*true or false/],
      ['policy:\n  banks:\n    x: block\n', /policy\.banks\.x/],
      ['limits:\n  archive:\n    maxDepth: -1\n', /limits\.archive\.maxDepth/],
      ['version: 2\n', /version/],
      ['- a list\n', /must be a map/],
    ];
    for (const [text, message] of cases) {
      await expect(loadScanConfig(file('bad.yaml', text))).rejects.toMatchObject({
        code: 'WARD_ERR_CONFIG_INVALID',
        message: expect.stringMatching(message),
      });
    }
  });

  it('reports syntax errors and missing files as configuration errors', async () => {
    await expect(loadScanConfig(file('broken.yaml', 'policy: [unclosed\n'))).rejects.toMatchObject({
      code: 'WARD_ERR_CONFIG_INVALID',
      message: expect.stringMatching(/not valid YAML or JSON/),
    });
    await expect(loadScanConfig(join(dir, 'missing.yaml'))).rejects.toMatchObject({ code: 'WARD_ERR_CONFIG_INVALID' });
    // YAML alias bombs are refused by the parser's alias limit, not expanded.
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]\n${Array.from(
      { length: 12 },
      (_, i) =>
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(', ')}]`,
    ).join('\n')}\n`;
    await expect(loadScanConfig(file('bomb.yaml', bomb))).rejects.toMatchObject({
      code: 'WARD_ERR_CONFIG_INVALID',
      message: expect.stringMatching(/not valid YAML or JSON.*[Aa]lias/),
    });
  });
});
