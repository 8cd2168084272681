/**
 * The lexicon data files: format, versions, the clinical-terms guard, the generated confusables
 * file, and that every term compiles and is found on its own with its category.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WardError } from '../../src/errors.js';
import { textEngine } from '../../src/text/engine.js';
import { loadLexicon, MAX_TERM_WORDS, validateLexiconFile } from '../../src/text/lexicon.js';
import { LEXICON_DIR, lexiconFile, manifest, terms } from './terms.js';

const engine = textEngine();

describe('lexicon files', () => {
  it('the manifest lists the ten languages, each file is versioned and valid', () => {
    expect(manifest.languages).toEqual(['en', 'es', 'pt', 'fr', 'de', 'ru', 'ja', 'zh', 'it', 'ko']);
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
    const lex = loadLexicon();
    expect(lex.version).toBe(manifest.version);
    for (const lang of manifest.languages) {
      expect(lex.fileVersions[lang]).toMatch(/^\d+\.\d+\.\d+$/);
      const f = lexiconFile(lang);
      for (const category of ['minor', 'sexual', 'adult', 'abuse', 'clothing'])
        expect(Object.keys(f.terms), `${lang} ${category}`).toContain(category);
      expect(Object.keys(f.ageUnits ?? {}).length, lang).toBeGreaterThan(0);
      expect(f.lookalikes, lang).toBeDefined();
    }
  });

  it('holds short clinical terms only, never sentences', () => {
    for (const lang of manifest.languages) {
      const f = lexiconFile(lang);
      const all = [
        ...Object.values(f.terms).flatMap((s) => Object.values(s).flatMap((g) => Object.values(g).flat())),
        ...Object.values(f.lookalikes ?? {}).flat(),
      ].map((i) => (typeof i === 'string' ? i : i.term));
      for (const t of all) {
        expect(t.split(/\s+/).length, `${lang}: ${t}`).toBeLessThanOrEqual(MAX_TERM_WORDS);
        expect(t).not.toMatch(/[.!?]\s/);
      }
    }
    const bad = (terms: unknown) => () =>
      validateLexiconFile('x.json', { lang: 'xx', version: '1.0.0', terms: { minor: { strong: { g: terms } } } });
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return WardError.is(e) ? e.code : 'other';
      }
      return 'none';
    };
    expect(code(bad(['one two three four five six seven']))).toBe('WARD_ERR_LEXICON');
    expect(code(bad(['a term. Another one']))).toBe('WARD_ERR_LEXICON');
    expect(code(bad(['x', 'x']))).toBe('WARD_ERR_LEXICON');
    expect(code(bad(['with, comma']))).toBe('WARD_ERR_LEXICON');
    expect(code(bad([' spaced']))).toBe('WARD_ERR_LEXICON');
    expect(code(() => validateLexiconFile('x.json', { lang: 'xx', version: '1', terms: {} }))).toBe('WARD_ERR_LEXICON');
    expect(code(() => validateLexiconFile('x.json', { lang: 'xx', version: '1.0.0', terms: {}, extra: 1 }))).toBe(
      'WARD_ERR_LEXICON',
    );
    expect(code(() => validateLexiconFile('x.json', { lang: 'xx', version: '1.0.0', terms: { other: {} } }))).toBe(
      'WARD_ERR_LEXICON',
    );
    expect(code(bad(['fine term']))).toBe('none');
    // Readings (ja, zh): an object of term -> kana or pinyin letters.
    const readings = (r: unknown) => () =>
      validateLexiconFile('x.json', { lang: 'xx', version: '1.0.0', terms: {}, readings: r });
    expect(code(readings({ word: 'ことば' }))).toBe('none');
    expect(code(readings({ word: 'ci yu' }))).toBe('none');
    expect(code(readings(['ことば']))).toBe('WARD_ERR_LEXICON');
    expect(code(readings({ word: 'not <kana>' }))).toBe('WARD_ERR_LEXICON');
    expect(code(readings({ word: 42 }))).toBe('WARD_ERR_LEXICON');
    expect(code(readings({ 'a, sentence.': 'x' }))).toBe('WARD_ERR_LEXICON');
  });

  it('bad shared data for the issue-21 classes is WARD_ERR_LEXICON, naming the file', () => {
    /** Loads a copy of the lexicons with one file edited; returns what it threw. */
    const broken = (file: string, edit: (json: Record<string, unknown>) => void): unknown => {
      const dir = mkdtempSync(join(tmpdir(), 'ward-lex-'));
      try {
        cpSync(LEXICON_DIR, dir, { recursive: true });
        const path = join(dir, file);
        const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
        edit(json);
        writeFileSync(path, JSON.stringify(json));
        loadLexicon(pathToFileURL(`${dir}/`));
        return undefined;
      } catch (e) {
        return e;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    const wardCode = (file: string) => expect.objectContaining({ code: 'WARD_ERR_LEXICON', details: { path: file } });
    expect(broken('leet.json', (j) => Object.assign(j.skeleton as object, { т: 'тт' }))).toEqual(wardCode('leet.json'));
    expect(broken('function-words.json', (j) => (j.words = 'a b'))).toEqual(wardCode('function-words.json'));
    expect(broken('translit.json', (j) => delete j.hangul)).toEqual(wardCode('translit.json'));
    expect(broken('translit.json', (j) => (j.cyrillicSchemes = {}))).toEqual(wardCode('translit.json'));
    expect(broken('ja.json', (j) => (j.readings = { 子供: 'kodomo!' }))).toEqual(wardCode('ja.json'));
    expect(broken('leet.json', () => {})).toBeUndefined(); // the copy itself loads
  });

  it('a missing lexicon directory is WARD_ERR_LEXICON', () => {
    expect(() => loadLexicon(new URL('file:///nonexistent/ward/lexicons/'))).toThrow(
      expect.objectContaining({ code: 'WARD_ERR_LEXICON' }),
    );
  });

  it('every term is found on its own, with its category and strength', () => {
    for (const lang of manifest.languages)
      for (const category of ['minor', 'sexual', 'abuse', 'adult', 'clothing'])
        for (const strength of ['strong', 'weak'] as const)
          for (const t of terms(lang, category, strength)) {
            const hits: { category: string; strength: string }[] = [];
            engine.scan(t, (h) => hits.push(h));
            expect(
              hits.some((h) => h.category === category && h.strength === strength),
              `${lang} ${category}.${strength}: ${JSON.stringify(hits)}`,
            ).toBe(true);
          }
  });
});

describe('confusables data', () => {
  const file = JSON.parse(readFileSync(join(LEXICON_DIR, manifest.shared.confusables as string), 'utf8')) as {
    unicodeVersion: string;
    sha256: string;
    count: number;
    map: Record<string, string>;
  };
  it('is generated from Unicode confusables.txt, with no ASCII source and no identity mapping', () => {
    expect(file.unicodeVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(file.map)).toHaveLength(file.count);
    for (const [k, v] of Object.entries(file.map)) {
      expect(k.codePointAt(0)).toBeGreaterThanOrEqual(0x80);
      expect(v).not.toBe(k);
    }
    // The classic homoglyphs are there.
    const homoglyph = (cp: number) => file.map[String.fromCodePoint(cp)];
    expect(homoglyph(0x430)).toBe('a'); // Cyrillic a
    expect(homoglyph(0x3bf)).toBe('o'); // Greek omicron
    expect(homoglyph(0x456)).toBe('i'); // Cyrillic i
  });
});
