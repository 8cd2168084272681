/**
 * `ward text` and text items in `ward scan`, end to end through the built binary (needs the
 * build). Texts that combine a minor indicator with a sexual term are built from the lexicon.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runWard, tempDir } from '../helpers/cli.js';
import { latinWord, term } from './terms.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON records
type Json = any;
const lines = (s: string): Json[] =>
  s
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));

const M = latinWord('en', 'minor');
const S = latinWord('en', 'sexual');
const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

describe('ward text', () => {
  it('screens TEXT: one verdict, exit 1 when block or review, 0 when allow', async () => {
    const r = await runWard(['text', `${M}, ${S}`]);
    expect(r.code).toBe(1);
    const [v] = lines(r.stdout);
    expect(v).toMatchObject({ verdict: 'block', context: 'prompt', redacted: false });
    expect(v.reasons[0].spans[0]).toMatchObject({ start: 0, end: M.length, term: M, matched: M });
    const ok = await runWard(['text', 'a lighthouse at dusk']);
    expect(ok.code).toBe(0);
    expect(lines(ok.stdout)[0].verdict).toBe('allow');
    expect(ok.stderr).toBe('');
  });

  it('--redact keeps the text out of the output', async () => {
    const r = await runWard(['text', '--redact', `${M} ${S}`]);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain(M);
    expect(r.stdout).not.toContain(S);
    expect(lines(r.stdout)[0]).toMatchObject({ verdict: 'block', redacted: true });
  });

  it('reads one text per line from standard input or --file, numbered; --whole reads one text', async () => {
    const input = ['a lighthouse', `${M} ${S}`, '', 'a harbour'].join('\n');
    const r = await runWard(['text', '-'], { input });
    expect(r.code).toBe(1);
    expect(lines(r.stdout).map((v) => [v.line, v.verdict])).toEqual([
      [1, 'allow'],
      [2, 'block'],
      [3, 'allow'],
      [4, 'allow'],
    ]);
    const dir = tempDir('ward-text-cli-');
    made.push(dir);
    const file = join(dir, 'texts.txt');
    writeFileSync(file, `${M}\r\n${S}\r\n`);
    const f = await runWard(['text', '--file', file, '--format', 'json']);
    expect(f.code).toBe(0); // each line alone is allowed
    expect(JSON.parse(f.stdout).map((v: Json) => v.verdict)).toEqual(['allow', 'allow']);
    const whole = await runWard(['text', '--file', file, '--whole', '--context', 'caption']);
    expect(whole.code).toBe(1);
    expect(lines(whole.stdout)[0]).toMatchObject({ verdict: 'block', context: 'caption' });
    const all = await runWard(['text', '--whole', '-'], { input: 'a lighthouse\na harbour\n' });
    expect(all.code).toBe(0);
  });

  it('--context tags reads tag maps; --negative screens a prompt pair', async () => {
    const tags = await runWard(['text', '--context', 'tags', JSON.stringify({ [M]: 2, [S]: 5 })]);
    expect(tags.code).toBe(1);
    expect(lines(tags.stdout)[0]).toMatchObject({ verdict: 'block', context: 'tags' });
    const pair = await runWard(['text', S, '--negative', term('en', 'adult')]);
    expect(pair.code).toBe(1);
    expect(lines(pair.stdout)[0].reasons[0].rule).toBe('negative-steering');
    const neg = await runWard(['text', '--context', 'negativePrompt', term('en', 'adult')]);
    expect(neg.code).toBe(1);
    expect(lines(neg.stdout)[0].verdict).toBe('review');
  });

  it('usage errors exit 3; a missing file exits 2; --help exits 0', async () => {
    for (const args of [
      ['text'],
      ['text', '--context', 'essay', 'x'],
      ['text', '--format', 'table', 'x'],
      ['text', 'a', 'b'],
      ['text', 'x', '--file', 'y'],
      ['text', '--negative', 'n', '--context', 'caption', 'x'],
      ['text', '--bogus', 'x'],
    ]) {
      const r = await runWard(args);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toContain('WARD_ERR_USAGE');
    }
    const missing = await runWard(['text', '--file', '/nonexistent/ward-texts.txt']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('WARD_ERR_INPUT_NOT_FOUND');
    const help = await runWard(['text', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: ward text');
    const main = await runWard(['--help']);
    expect(main.stdout).toMatch(/^ {2}text {4}/m);
  });
});

describe('ward scan with captions', () => {
  it('flags a caption .txt and a JSON caption with a text finding, by content (not by name)', async () => {
    const dir = tempDir('ward-text-scan-');
    made.push(dir);
    const data = join(dir, 'dataset');
    mkdirSync(data);
    writeFileSync(join(data, '0001.txt'), `photo of ${M}, ${S}, soft light\n`);
    writeFileSync(join(data, '0002.txt'), 'a lighthouse on a cliff at dusk\n');
    writeFileSync(join(data, '0003.json'), JSON.stringify({ caption: `${S}, ${M}` }));
    writeFileSync(join(data, '0004.png'), `${M} ${S}`); // text named like an image
    // No --db: scanning without a database still screens (a named one must exist).
    const r = await runWard(['scan', '--format', 'ndjson', '--jobs', '1', data]);
    expect(r.code).toBe(1);
    const items = lines(r.stdout);
    const by = (name: string) => items.find((i) => i.path.endsWith(name));
    for (const name of ['0001.txt', '0003.json', '0004.png']) {
      const item = by(name);
      expect(item, name).toMatchObject({ contentType: 'text', verdict: 'flag' });
      expect(item.findings[0]).toMatchObject({ type: 'text.block', severity: 'critical', source: 'text' });
      expect(item.findings[0].data).toMatchObject({ redacted: true, categories: ['minor', 'sexual'] });
      expect(item.reasons[0]).toMatchObject({ rule: 'finding', ref: 'text.block' });
    }
    expect(by('0001.txt').format).toBe('plain');
    expect(by('0003.json').format).toBe('json');
    expect(by('0002.txt')).toMatchObject({ contentType: 'text', verdict: 'clean', findings: [] });
    // The report holds spans and rule ids, never the text.
    expect(r.stdout).not.toContain(M);
    expect(r.stdout).not.toContain(S);
  });
});
