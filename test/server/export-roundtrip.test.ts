/**
 * Bank export (issue 14): every label and id read back from csv, tsv and te-csv as written
 * (`;`, `|`, `%`, quotes, commas, control characters), and no exported field starts a formula.
 */
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readBankFile } from '../../src/banks/formats/read.js';
import { writeBankFile } from '../../src/banks/formats/write.js';
import type { ExportEntry } from '../../src/banks/types.js';

async function roundTrip(entries: ExportEntry[], format: 'csv' | 'tsv' | 'te-csv') {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await writeBankFile(entries, format, out);
  out.end();
  const text = Buffer.concat(chunks).toString('utf8');
  const back = [];
  async function* one() {
    yield Buffer.from(text);
  }
  for await (const r of readBankFile(one(), { format })) back.push(r);
  return { text, back };
}

// Labels as a bank stores them: non-empty, trimmed, at most 128 characters, no line breaks (the
// reader takes one row per line; the writer encodes them anyway).
const label = fc
  .string({
    unit: fc.constantFrom('a', 'Z', ';', '|', '%', '"', ',', '=', '+', '-', '@', ' ', '\t', '3', 'B', 'é', "'"),
    minLength: 1,
    maxLength: 30,
  })
  .map((s) => s.trim())
  .filter((s) => s !== '');
const hex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const entry = fc.record({
  value: hex,
  labels: fc.uniqueArray(label, { maxLength: 4 }).map((l) => [...l].sort()),
  sourceId: fc.option(label, { nil: undefined }),
});

describe('bank export quoting', () => {
  for (const format of ['csv', 'tsv', 'te-csv'] as const) {
    it(`round-trips every label and id in ${format}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 5 }), async (es) => {
          const entries: ExportEntry[] = es.map((e) => ({ signal: 'pdq', ...e }));
          const { back } = await roundTrip(entries, format);
          expect(
            back.map((r) =>
              'message' in r
                ? r
                : { labels: (r as { labels: string[] }).labels, id: (r as { sourceId?: string }).sourceId },
            ),
          ).toEqual(
            entries.map((e) => ({
              labels: e.labels,
              id: e.sourceId === undefined || e.sourceId === '' ? undefined : e.sourceId,
            })),
          );
        }),
        { numRuns: 150 },
      );
    });
  }

  it('exports no field that a spreadsheet would run as a formula', async () => {
    const { text } = await roundTrip(
      [
        {
          signal: 'pdq',
          value: 'a'.repeat(64),
          labels: ['=HYPERLINK("http://x","y")', '+1', '-2', '@SUM(A1)'],
          sourceId: '=cmd|x',
        },
      ],
      'csv',
    );
    for (const line of text.trim().split('\n')) {
      for (const field of line.split(',')) expect(field.replace(/^"/, '')).not.toMatch(/^[=+\-@]/);
    }
    expect(text).toContain('%3DHYPERLINK');
  });
});
