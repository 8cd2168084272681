/**
 * C2PA building blocks on bytes built here: the CBOR decoder (bounds, depth, maps without
 * prototype pollution) and JUMBF boxes (sizes that lie), and manifest stores that are malformed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CborError, CborTag, decodeCbor, field } from '../../src/provenance/c2pa/cbor.js';
import { JumbfError, parseJumbf } from '../../src/provenance/c2pa/jumbf.js';
import { PROJECT_ROOT } from '../helpers/fixtures.js';
import { box, superbox } from './build.js';

describe('CBOR', () => {
  it('decodes the types C2PA uses', () => {
    // {"a": 1, "b": [h'0102', -2, true, null, 1.5], "c": 18("x")}
    const bytes = new Uint8Array(
      Buffer.from('a3616101616285420102 21 f5 f6 f93e00 6163d2 6178'.replace(/\s/g, ''), 'hex'),
    );
    const v = decodeCbor(bytes) as Record<string, unknown>;
    expect(v.a).toBe(1);
    expect(v.b).toEqual([Uint8Array.of(1, 2), -2, true, null, 1.5]);
    expect(v.c).toEqual(new CborTag(18, 'x'));
    expect(decodeCbor(Buffer.from('a20102036161', 'hex'))).toEqual(
      new Map<unknown, unknown>([
        [1, 2],
        [3, 'a'],
      ]),
    );
    expect(field(decodeCbor(Buffer.from('bf6161f5ff', 'hex')), 'a')).toBe(true); // indefinite map
  });

  it('refuses lengths past the end, deep nesting, trailing bytes; __proto__ keys stay data', () => {
    for (const hex of ['5a7fffffff00', '9b00000000ffffffff', '7a00010000', 'a1', '18', 'ff'])
      expect(() => decodeCbor(Buffer.from(hex, 'hex'))).toThrow(CborError);
    expect(() => decodeCbor(Buffer.alloc(200, 0x81))).toThrow(/deeply/);
    expect(() => decodeCbor(Buffer.from('0101', 'hex'))).toThrow(/Trailing/);
    const o = decodeCbor(Buffer.from('a1695f5f70726f746f5f5fa1617801', 'hex')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(o)).toBeNull();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('JUMBF', () => {
  it('parses superboxes, labels and content boxes', () => {
    const store = superbox('6332706100110010800000aa00389b71', 'c2pa', [
      superbox('63326d6100110010800000aa00389b71', 'urn:m', [box('cbor', Buffer.of(0xa0))]),
    ]);
    const sb = parseJumbf(store);
    expect(sb.label).toBe('c2pa');
    expect(sb.children[0]?.label).toBe('urn:m');
    expect(sb.children[0]?.content[0]?.type).toBe('cbor');
  });

  it('sizes that lie, missing description boxes and deep nesting are JumbfErrors', () => {
    const good = superbox('6332706100110010800000aa00389b71', 'c2pa', []);
    const liar = Buffer.from(good);
    liar.writeUInt32BE(0xffff, 0);
    expect(() => parseJumbf(liar)).toThrow(JumbfError);
    expect(() => parseJumbf(box('jumb', box('cbor', Buffer.of(0))))).toThrow(/description/);
    let deep = superbox('00'.repeat(16), 'x', []);
    for (let i = 0; i < 40; i++) deep = superbox('00'.repeat(16), 'x', [deep]);
    expect(() => parseJumbf(deep)).toThrow(/deeply/);
    expect(() => parseJumbf(Buffer.from('00000004', 'hex'))).toThrow(JumbfError);
  });
});

describe('offline by construction', () => {
  it('no provenance module imports a network API (remote manifests are reported, never fetched)', () => {
    const root = join(PROJECT_ROOT, 'src', 'provenance');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = readFileSync(join(root, f), 'utf8');
      expect(text, f).not.toMatch(
        /from ['"](node:)?(https?|http2|net|tls|dgram|dns)['"]|\bfetch\(|XMLHttpRequest|WebSocket|undici/,
      );
    }
  });
});
