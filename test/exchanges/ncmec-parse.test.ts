/** The NCMEC page parser on the recorded responses (../shared) and fuzzed input; the XML reader's limits. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WardError } from '../../src/errors.js';
import { NCMEC_ENVIRONMENTS, ncmecConnector, nextBelongs, parseEntriesPage } from '../../src/exchanges/ncmec.js';
import { parseXml } from '../../src/exchanges/xml.js';
import { activeRegistry } from '../../src/registry.js';
import { SHARED, SKIP_REASON, sharedAvailable } from '../helpers/fixtures.js';

const DIR = join(SHARED, 'conformance', 'exchanges', 'ncmec-hashsharing');
const fixture = (name: string) => readFileSync(join(DIR, name), 'utf8');

describe.skipIf(!sharedAvailable)(`recorded NCMEC responses${sharedAvailable ? '' : ` (${SKIP_REASON})`}`, () => {
  const registry = activeRegistry();

  it('entries_xml: images, videos, tombstones, fingerprints mapped, feedback ignored, next link unescaped', () => {
    const page = parseEntriesPage(fixture('entries_xml.xml'), registry);
    expect(page.next).toBe(fixture('next_unescaped.txt').trim());
    expect(page.entries).toEqual([
      {
        entryId: '42/image1',
        updated: '2017-10-24T15:00:00.000Z',
        labels: ['ncmec:image', 'ncmec-member:42', 'ncmec-class:A1'],
        signals: [
          { signal: 'md5', value: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1' },
          { signal: 'sha1', value: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1' },
          { signal: 'ncmec-pdna', value: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1...' },
        ],
      },
      { entryId: '43/image4', deleted: '2017-10-24T15:10:00.000Z' },
      {
        entryId: '42/video1',
        updated: '2017-10-24T15:00:00.000Z',
        labels: ['ncmec:video', 'ncmec-member:42'],
        signals: [
          { signal: 'md5', value: 'b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1' },
          { signal: 'sha1', value: 'b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1' },
        ],
      },
      { entryId: '42/video4', deleted: '2017-10-24T15:20:00.000Z' },
    ]);
    // The recorded next link belongs to its own window and no other.
    expect(nextBelongs(page.next as string, '2017-10-20T00:00:00Z', '2017-10-30T00:00:00Z')).toBe(true);
    expect(nextBelongs(page.next as string, '2017-10-20T00:00:00Z', '2017-10-31T00:00:00Z')).toBe(false);
  });

  it('entries_xml2/3/4, no data, large (link-only) fingerprints', () => {
    expect(parseEntriesPage(fixture('entries_xml2.xml'), registry).next).toBe(fixture('next_unescaped2.txt').trim());
    expect(parseEntriesPage(fixture('entries_xml3.xml'), registry).next).toBe(fixture('next_unescaped3.txt').trim());
    const p4 = parseEntriesPage(fixture('entries_xml4.xml'), registry);
    expect(p4.next).toBeUndefined();
    expect(p4.entries.map((e) => e.entryId)).toEqual(['101/willupdate', '101/willdelete']);
    expect('deleted' in (p4.entries[1] as object)).toBe(true);
    expect(parseEntriesPage(fixture('entries_no_data_xml.xml'), registry)).toEqual({ entries: [] });
    const large = parseEntriesPage(fixture('entries_large_fingerprints.xml'), registry);
    expect(large.entries).toEqual([
      {
        entryId: '101/largetags',
        updated: '2019-11-24T15:10:00.000Z',
        labels: ['ncmec:video', 'ncmec-member:101', 'ncmec-class:A2'],
        signals: [{ signal: 'md5', value: 'facefacefacefacefacefacefaceface' }],
      },
    ]);
  });

  it('other recorded documents parse as XML but are not entry pages', () => {
    for (const f of ['status_xml.xml', 'feedback_reasons_xml.xml', 'update_feedback_result_xml.xml']) {
      expect(() => parseXml(fixture(f))).not.toThrow();
      expect(() => parseEntriesPage(fixture(f))).toThrow(/not <queryResult>/);
    }
    expect(parseXml(fixture('status_xml.xml')).children.find((c) => c.name === 'member')?.attrs.id).toBe('1');
  });
});

describe('NCMEC parsing without ../shared', () => {
  it('refuses DOCTYPEs (no entity expansion), mismatched tags, unknown entities, deep nesting', () => {
    const bad = [
      '<!DOCTYPE x [<!ENTITY a "b">]><queryResult/>',
      '<queryResult><images></videos></queryResult>',
      '<queryResult>&foo;</queryResult>',
      '<queryResult>a & b</queryResult>',
      `${'<a>'.repeat(100)}${'</a>'.repeat(100)}`,
      '<queryResult/><queryResult/>',
      '',
    ];
    for (const x of bad) expect(() => parseXml(x), x.slice(0, 30)).toThrow(WardError);
  });

  it('an entry without a member id or a valid timestamp is a malformed page', () => {
    expect(() =>
      parseEntriesPage(
        '<queryResult><images><image><id>x</id><timestamp>2020-01-01T00:00:00Z</timestamp></image></images></queryResult>',
      ),
    ).toThrow(/member id/);
    expect(() =>
      parseEntriesPage(
        '<queryResult><images><image><member id="1"/><id>x</id><timestamp>soon</timestamp></image></images></queryResult>',
      ),
    ).toThrow(/timestamp/);
  });

  it('a fingerprint that does not parse as its Ward type is kept opaque, not lost', () => {
    const p = parseEntriesPage(
      '<queryResult><images><image><member id="1"/><id>x</id><timestamp>2020-01-01T00:00:00Z</timestamp><fingerprints><md5>nothex</md5><netclean>abc</netclean></fingerprints></image></images></queryResult>',
      activeRegistry(),
    );
    expect((p.entries[0] as { signals: unknown }).signals).toEqual([
      { signal: 'ncmec-md5', value: 'nothex' },
      { signal: 'ncmec-netclean', value: 'abc' },
    ]);
  });

  it('fuzz: any input either parses or throws WARD_ERR_EXCHANGE_FAILED', () => {
    const pieces = fc.constantFrom(
      '<queryResult>',
      '</queryResult>',
      '<images count="1">',
      '</images>',
      '<image>',
      '</image>',
      '<deletedVideo>',
      '</deletedVideo>',
      '<member id="4">',
      '</member>',
      '<id>',
      '</id>',
      '<timestamp>2020-01-01T00:00:00Z',
      '</timestamp>',
      '<fingerprints>',
      '</fingerprints>',
      '<md5>',
      '</md5>',
      '&amp;',
      '&#x41;',
      '&#99999999;',
      '<![CDATA[x]]>',
      '<!-- c -->',
      '<?xml version="1.0"?>',
      '<paging><next>/v2/entries?from=1&amp;to=2</next></paging>',
      '"',
      "'",
      '<',
      '>',
      '/>',
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(pieces, fc.string({ maxLength: 8 })), { maxLength: 40 }), (parts) => {
        try {
          const page = parseEntriesPage(parts.join(''), activeRegistry());
          expect(Array.isArray(page.entries)).toBe(true);
        } catch (e) {
          expect(WardError.is(e) && e.code === 'WARD_ERR_EXCHANGE_FAILED').toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('configure: environments include the generative-AI lists; unknown settings are refused', () => {
    expect(NCMEC_ENVIRONMENTS['ngo-generative-ai']).toBe('https://hashsharing.ncmec.org/generative-ai-csam');
    expect(NCMEC_ENVIRONMENTS['ngo-generative-ai-exploitative']).toBe(
      'https://hashsharing.ncmec.org/generative-ai-exploitative',
    );
    expect(ncmecConnector.configure?.({ environment: 'ngo-generative-ai' })).toEqual({
      environment: 'ngo-generative-ai',
    });
    expect(() => ncmecConnector.configure?.({ environment: 'moon' })).toThrow(/environment/);
    expect(() => ncmecConnector.configure?.({ password: 'x' })).toThrow(/Unknown ncmec setting/);
    expect(() => ncmecConnector.configure?.({ windowSeconds: '-1' })).toThrow(/positive/);
  });
});
