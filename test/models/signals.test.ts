/**
 * The model hash signal types: the forms tools print (AutoV1 8 hex, AutoV2 10, AutoV3 64 or its
 * 12-hex prefix, BLAKE3 64, any case), exact comparison (a 12-hex AutoV3 matches the 64-hex one
 * it starts), and bank files needing the type given, since a length alone cannot tell.
 */
import { describe, expect, it } from 'vitest';
import { detectSignal } from '../../src/banks/formats/detect.js';
import { BUILTIN_SIGNALS, getSignalType } from '../../src/signals/builtin.js';

const V3 = '51a16c07bdd8e550c2ea36095a2c25a261a029a7672ad2a26735564c3c3e7ad8';

describe('model hash signal types', () => {
  it('are registered beside the file digests', () => {
    expect(BUILTIN_SIGNALS.map((s) => s.name)).toEqual(
      expect.arrayContaining(['md5', 'sha1', 'sha256', 'autov1', 'autov2', 'autov3', 'blake3']),
    );
    for (const s of BUILTIN_SIGNALS) for (const e of s.examples) expect(s.parse(e)).toBe(e);
  });

  it('parse the printed forms, normalised to lowercase', () => {
    expect(getSignalType('autov1')?.parse(' F8672F6E ')).toBe('f8672f6e');
    expect(getSignalType('autov2')?.parse('9ACF273957')).toBe('9acf273957');
    expect(getSignalType('autov3')?.parse(V3.toUpperCase())).toBe(V3);
    expect(getSignalType('autov3')?.parse('51A16C07BDD8')).toBe('51a16c07bdd8');
    for (const [name, bad] of [
      ['autov1', 'f8672f6'],
      ['autov2', '9acf2739577'],
      ['autov3', '51a16c07bdd8e'],
      ['blake3', V3.slice(1)],
      ['autov2', 'zzzzzzzzzz'],
    ] as const) {
      expect(() => getSignalType(name)?.parse(bad), `${name} ${bad}`).toThrow(
        expect.objectContaining({ code: 'WARD_ERR_SIGNAL_INVALID' }),
      );
    }
  });

  it('compare exactly; an AutoV3 prefix matches its full hash', () => {
    const v3 = getSignalType('autov3');
    expect(v3?.compare(V3, V3.slice(0, 12))).toEqual({ match: true, distance: 0 });
    expect(v3?.compare(V3, `0${V3.slice(1, 12)}`)).toEqual({ match: false, distance: 1 });
    expect(getSignalType('autov2')?.compare('9acf273957', '9ACF273957').match).toBe(true);
  });

  it('need the signal type in bank files: detection by length is left to md5 and sha1', () => {
    expect(detectSignal('9acf273957', 'autov2')).toEqual({ signal: 'autov2', value: '9acf273957' });
    expect(detectSignal(V3, 'BLAKE3')).toEqual({ signal: 'blake3', value: V3 });
    expect(() => detectSignal('9acf273957')).toThrow(/--signal autov1, autov2, autov3 or blake3/);
    expect(() => detectSignal('f8672f6e')).toThrow(expect.objectContaining({ code: 'WARD_ERR_SIGNAL_INVALID' }));
    expect(() => detectSignal(V3)).toThrow(/may be pdq or sha256 \(or autov3, blake3\)/);
    expect(() => detectSignal('f8672f6e', 'crc32')).toThrow(
      expect.objectContaining({ code: 'WARD_ERR_CONFIG_INVALID' }),
    );
  });
});
