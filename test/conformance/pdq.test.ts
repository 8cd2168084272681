/**
 * PDQ conformance against Meta's reference outputs (../shared/conformance/pdq/MANIFEST.tsv):
 * `required` = exact | within10 (CMYK) | exact:<hash> (16-bit, where the reference's low-byte bug
 * is not copied).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashImage } from '../../src/signals/image.js';
import { pdqDistance } from '../../src/signals/pdq/distance.js';
import { PDQ_CONFORMANCE, readManifest, SKIP_REASON, sharedAvailable } from '../helpers/fixtures.js';

const rows = sharedAvailable ? readManifest(PDQ_CONFORMANCE) : [];

describe.skipIf(!sharedAvailable)(
  `PDQ conformance (${sharedAvailable ? `${rows.length} images` : SKIP_REASON})`,
  () => {
    it('has the 49 vectors the manifest promises', () => {
      expect(rows.length).toBe(49);
    });

    for (const row of rows) {
      const file = row.file as string;
      const required = row.required as string;
      const path = join(PDQ_CONFORMANCE, 'img', file);

      it(`fullres ${file} (${required})`, async () => {
        const h = await hashImage(path, { dihedral: true });
        if (required === 'within10') {
          expect(pdqDistance(h.pdq, row.fullres_hash as string)).toBeLessThanOrEqual(10);
          return;
        }
        const want = required.startsWith('exact:') ? required.slice('exact:'.length) : (row.fullres_hash as string);
        expect(h.pdq).toBe(want);
        expect(h.quality).toBe(Number(row.fullres_quality));
        if (required === 'exact') {
          // The manifest's dihedral set comes from the same reference run, so it holds wherever the hash is exact.
          expect(h.pdqDihedral).toEqual((row.fullres_dihedral_8 as string).split(' '));
        }
      });

      if (required === 'exact') {
        it(`cli512 ${file}`, async () => {
          const h = await hashImage(path, { profile: 'cli512' });
          expect(h.pdq).toBe(row.cli512_hash);
          expect(h.quality).toBe(Number(row.cli512_quality));
        });
      }
    }
  },
);
