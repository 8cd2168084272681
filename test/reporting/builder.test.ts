/**
 * The CyberTipline report builder: schema order and validity (libxml2 against NCMEC's schema in
 * ../shared), the pre-filled fields, the rules beyond the schema, and a property test: any review
 * item gives schema-valid XML.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildNcmecReport,
  FILE_ANNOTATIONS,
  INDUSTRY_CLASSIFICATIONS,
  parseReporterProfile,
  reportFileOf,
} from '../../src/reporting/ncmec/builder.js';
import { validateBuilt, validateXml } from '../../src/reporting/ncmec/validate.js';
import { parseXml, xmlEscape } from '../../src/reporting/xml.js';
import { NCMEC_DIR, PROFILE, reviewItem, sharedAvailable, XSD, XSD_SKIP } from './items.js';

if (!sharedAvailable) console.warn(XSD_SKIP);
const schema = describe.skipIf(!sharedAvailable);
const profile = parseReporterProfile(PROFILE);
const bytes = Buffer.from('benign stand-in bytes 1');

schema('the schema and xmllint (conformance fixtures)', () => {
  it('accepts every documentation example and the valid tool snapshots; rejects report-4 naming incidentType', async () => {
    for (const dir of ['doc-examples', 'cybertipline-tools']) {
      for (const f of readdirSync(join(NCMEC_DIR, dir))) {
        const r = await validateXml(readFileSync(join(NCMEC_DIR, dir, f), 'utf8'), XSD);
        if (f === 'report-4.xml') {
          expect(r.valid).toBe(false);
          expect(r.errors[0]?.element).toBe('incidentType');
        } else expect(r, `${dir}/${f}`).toEqual({ valid: true, errors: [] });
      }
    }
  });
});

schema('buildNcmecReport', () => {
  it('pre-fills hashes, PDQ, viewing, classification, uploader and IP events, in schema order, schema-valid', async () => {
    const item = reviewItem(7, bytes, {
      metadata: {
        uploadedAt: '2026-01-02T03:04:05Z',
        url: 'https://example.test/u/1',
        uploader: {
          espIdentifier: 'user-123',
          screenName: 'test_user',
          ipCaptureEvents: [
            { ipAddress: '192.0.2.10', eventName: 'Upload', dateTime: '2026-01-02T03:04:05Z', port: 443 },
          ],
        },
      },
    });
    const now = new Date('2026-06-01T00:00:00Z');
    const built = buildNcmecReport([reportFileOf(item, true)], { profile, now });
    expect(await validateBuilt(built, XSD)).toEqual([]);
    const report = parseXml(built.reportXml);
    expect(report.children.map((c) => c.name)).toEqual([
      'incidentSummary',
      'internetDetails',
      'reporter',
      'personOrUserReported',
    ]);
    const fd = parseXml(
      (built.files[0] as { fileDetailsXml: (a: string, b: string) => string }).fileDetailsXml('42', 'ab'.repeat(16)),
    );
    expect(fd.children.map((c) => c.name)).toEqual([
      'reportId',
      'fileId',
      'originalFileName',
      'uploadedToEspTimestamp',
      'locationOfFile',
      'fileViewedByEsp',
      'fileRelevance',
      'industryClassification',
      'originalFileHash',
      'originalFileHash',
      'ipCaptureEvent',
      'details',
    ]);
    const s = item.report.signals as Record<string, string>;
    expect(fd.children.filter((c) => c.name === 'originalFileHash').map((c) => [c.attrs.hashType, c.text])).toEqual([
      ['MD5', s.md5],
      ['SHA1', s.sha1],
    ]);
    expect(fd.children.find((c) => c.name === 'fileViewedByEsp')?.text).toBe('true');
    expect(fd.children.find((c) => c.name === 'details')?.attrs.type).toBe('HASH');
  });

  it('says fileViewedByEsp false when nobody viewed the file, and never dates the incident in the future', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const item = reviewItem(1, bytes, { metadata: { uploadedAt: '2099-01-01T00:00:00Z' } });
    const built = buildNcmecReport([reportFileOf(item, false)], { profile, now });
    expect(await validateBuilt(built, XSD)).toEqual([]);
    const inc = parseXml(built.reportXml).children[0]?.children.find((c) => c.name === 'incidentDateTime')?.text;
    expect(Date.parse(inc as string)).toBeLessThanOrEqual(now.getTime());
    const fd = parseXml(
      (built.files[0] as { fileDetailsXml: (a: string, b: string) => string }).fileDetailsXml('1', 'x'),
    );
    expect(fd.children.find((c) => c.name === 'fileViewedByEsp')?.text).toBe('false');
  });

  it('adds generativeAi and the models (AutoV2, BLAKE3) and model-bank matches when provenance says AI-generated', async () => {
    const item = reviewItem(3, bytes, {
      findings: [
        {
          type: 'provenance.ai-generated',
          severity: 'info',
          message: 'AI-generated',
          source: 'provenance',
          data: {
            aiGenerated: 'yes',
            evidence: [{ kind: 'c2pa', detail: 'x', strength: 'yes' }],
            generator: 'TestGen 1.0',
            resources: [{ type: 'lora', name: 'test-lora', hashes: { autov2: 'abcdef0123', blake3: 'b'.repeat(64) } }],
          },
        },
      ],
      signals: { md5: 'a'.repeat(32), sha1: 'b'.repeat(40), resourceHashes: ['autov2:abcdef0123'] },
      matches: [{ bank: 'model-bank', signal: 'autov2', value: 'abcdef0123', distance: 0, entryId: 1, labels: [] }],
    } as never);
    const built = buildNcmecReport([reportFileOf(item, false)], { profile });
    expect(await validateBuilt(built, XSD)).toEqual([]);
    const xml = (built.files[0] as { fileDetailsXml: (a: string, b: string) => string }).fileDetailsXml('1', 'x');
    expect(xml).toContain('<generativeAi/>');
    expect(xml).toContain('AutoV2 abcdef0123');
    expect(xml).toContain(`BLAKE3 ${'b'.repeat(64)}`);
    expect(xml).toContain('model-bank autov2 abcdef0123');
  });

  it('refuses what the rules forbid, with WARD_ERR_REPORT_INVALID', () => {
    const f = reportFileOf(reviewItem(1, bytes), false, { exifViewedByEsp: true });
    expect(() => buildNcmecReport([f], { profile })).toThrow(/exifViewedByEsp/);
    const g = reportFileOf(reviewItem(1, bytes), true, { fileRelevance: 'Supplemental Reported' });
    expect(() => buildNcmecReport([g], { profile })).toThrow(
      expect.objectContaining({ code: 'WARD_ERR_REPORT_INVALID' }),
    );
    const two = [
      reportFileOf(reviewItem(1, bytes), true, { annotations: ['viral'] }),
      reportFileOf(reviewItem(2, bytes), true),
    ];
    expect(() => buildNcmecReport(two, { profile, batched: true })).toThrow(/exactly one file/);
    const other = reportFileOf(reviewItem(1, bytes), true, { annotations: ['viral', 'infant'] });
    expect(() => buildNcmecReport([other], { profile, batched: true })).toThrow(/viral or potentialMeme/);
    expect(() => buildNcmecReport([], { profile })).toThrow(/at least one file/);
  });

  it('builds a batched viral report that validates: batchedReport first, users by espIdentifier only', async () => {
    const item = reviewItem(1, bytes, {
      metadata: { uploader: { espIdentifier: 'u1', screenName: 'x', email: 'a@example.test' } },
    });
    const built = buildNcmecReport(
      [reportFileOf(item, true, { annotations: ['viral'], industryClassification: undefined })],
      {
        profile,
        batched: true,
      },
    );
    expect(await validateBuilt(built, XSD)).toEqual([]);
    const r = parseXml(built.reportXml);
    expect(r.children[0]?.name).toBe('batchedReport');
    expect(r.children.find((c) => c.name === 'personOrUserReported')?.children.map((c) => c.name)).toEqual([
      'espIdentifier',
    ]);
  });

  it('reports schema errors naming the element, and a bad profile clearly', async () => {
    const built = buildNcmecReport([reportFileOf(reviewItem(1, bytes), true)], {
      profile,
      incidentType: 'Not a type' as never,
    });
    const errs = await validateBuilt(built, XSD);
    expect(errs[0]?.document).toBe('report');
    expect(errs[0]?.errors[0]?.element).toBe('incidentType');
    expect(() => parseReporterProfile({ reportingPerson: { firstName: 'a' } })).toThrow(
      expect.objectContaining({ code: 'WARD_ERR_CONFIG_INVALID' }),
    );
    expect(() => parseReporterProfile({ ...PROFILE, extra: 1 })).toThrow(/unknown field/);
  });
});

describe('xml', () => {
  it('escapes markup and drops characters XML cannot carry', () => {
    expect(xmlEscape('<a & "b">\u0001', true)).toBe('&lt;a &amp; &quot;b&quot;&gt;');
    const doc = parseXml('<r a="&lt;x&gt;"><c>1 &amp; 2</c><d/></r>');
    expect(doc.attrs.a).toBe('<x>');
    expect(doc.children.map((c) => [c.name, c.text])).toEqual([
      ['c', '1 & 2'],
      ['d', ''],
    ]);
    expect(() => parseXml('<!DOCTYPE x [<!ENTITY a "b">]><x/>')).toThrow(/DTD/);
    expect(() => parseXml('<a><b></a>')).toThrow();
    expect(() => parseXml(`${'<a>'.repeat(100)}${'</a>'.repeat(100)}`)).toThrow(/deeply/);
  });
});

const text = fc.string({ unit: 'binary', maxLength: 40 });
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const iso = fc
  .date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
  .map((d) => d.toISOString());

schema('property: any review item gives schema-valid XML', () => {
  it('holds for arbitrary names, metadata, provenance, annotations and classification', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          name: fc.option(text, { nil: null }),
          md5: fc.option(hex(32), { nil: undefined }),
          sha1: fc.option(hex(40), { nil: undefined }),
          pdq: fc.option(hex(64), { nil: undefined }),
          viewed: fc.boolean(),
          labels: fc.subarray([...INDUSTRY_CLASSIFICATIONS, ...FILE_ANNOTATIONS, 'other']),
          ai: fc.boolean(),
          model: fc.record({ name: text, autov2: hex(10) }),
          uploadedAt: fc.option(fc.oneof(iso, text), { nil: undefined }),
          url: fc.option(text, { nil: undefined }),
          esp: fc.option(text, { nil: undefined }),
          ip: fc.option(
            fc.record({ ipAddress: text, dateTime: fc.option(iso, { nil: undefined }), port: fc.integer() }),
            {
              nil: undefined,
            },
          ),
          profileName: text.filter((s) => s !== ''),
          template: fc.option(text, { nil: undefined }),
        }),
        async (a) => {
          const item = reviewItem(5, bytes, {
            signals: {
              ...(a.md5 ? { md5: a.md5 } : {}),
              ...(a.sha1 ? { sha1: a.sha1 } : {}),
              ...(a.pdq ? { pdq: a.pdq } : {}),
            },
            findings: a.ai
              ? [
                  {
                    type: 'provenance.ai-generated',
                    severity: 'info',
                    message: 'x',
                    source: 'provenance',
                    data: {
                      aiGenerated: 'yes',
                      evidence: [],
                      resources: [{ name: a.model.name, hashes: { autov2: a.model.autov2 } }],
                    },
                  },
                ]
              : [],
            metadata: {
              uploadedAt: a.uploadedAt,
              url: a.url,
              uploader: { espIdentifier: a.esp, ipCaptureEvents: a.ip ? [{ ...a.ip, eventName: 'Upload' }] : [] },
            },
          } as never);
          item.name = a.name;
          item.decision = { action: 'confirm', labels: a.labels };
          const p = parseReporterProfile({
            ...PROFILE,
            reportingPerson: { ...PROFILE.reportingPerson, firstName: a.profileName },
            ...(a.template !== undefined ? { companyTemplate: a.template } : {}),
          });
          const file = reportFileOf(item, a.viewed);
          let built: ReturnType<typeof buildNcmecReport>;
          try {
            built = buildNcmecReport([file], { profile: p });
          } catch (e) {
            // The only refusals possible here are the documented rules.
            expect((e as { code?: string }).code).toBe('WARD_ERR_REPORT_INVALID');
            return;
          }
          expect(await validateBuilt(built, XSD)).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('the reporter slot', () => {
  it('registers ncmec and nca in the built-in plugin', async () => {
    const { activeRegistry } = await import('../../src/registry.js');
    const r = activeRegistry().reporters();
    expect(r.map((x) => [x.name, x.kind])).toEqual([
      ['ncmec', 'remote'],
      ['nca', 'export'],
    ]);
  });
});
