/**
 * Review items for the reporting tests: benign synthetic stand-ins (hashes of generated scenes
 * or made-up hex), with made-up report metadata. Nothing here is or describes real material.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ItemReport } from '../../src/scan/types.js';
import type { NewReviewItem, ReviewItem } from '../../src/store/service.js';
import { SHARED, sharedAvailable } from '../helpers/fixtures.js';

export const XSD = join(SHARED, 'conformance', 'ncmec', 'cybertipline.xsd');
export const NCMEC_DIR = join(SHARED, 'conformance', 'ncmec');
export const XSD_SKIP = `../shared not found at ${SHARED}: CyberTipline schema tests skipped`;
export { sharedAvailable };

export const PROFILE = {
  reportingPerson: { firstName: 'Test', lastName: 'Reporter', email: 'reports@example.test' },
  companyTemplate: 'Example Platform test template',
  termsOfService: 'https://example.test/terms',
  legalURL: 'https://example.test/legal',
};

export function itemReport(bytes: Buffer, extra: Partial<ItemReport> & { metadata?: unknown } = {}): ItemReport {
  return {
    path: 'upload.jpg',
    contentType: 'image',
    format: 'jpeg',
    size: bytes.length,
    verdict: 'match',
    signals: {
      md5: createHash('md5').update(bytes).digest('hex'),
      sha1: createHash('sha1').update(bytes).digest('hex'),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      pdq: createHash('sha256').update(bytes).update('pdq').digest('hex'),
      quality: 100,
    },
    matches: [],
    findings: [],
    reasons: [{ rule: 'bank-match', message: 'stand-in match' }],
    ...extra,
  } as ItemReport;
}

export function newReview(
  bytes: Buffer,
  name: string,
  extra: Partial<ItemReport> & { metadata?: unknown } = {},
): NewReviewItem {
  return {
    createdAt: new Date(Date.now() - 3_600_000).toISOString(),
    status: 'open',
    verdict: 'match',
    score: 1,
    source: 'scan',
    submittedBy: null,
    name,
    contentType: 'image',
    report: itemReport(bytes, extra),
    evidenceId: null,
  };
}

export function reviewItem(
  id: number,
  bytes: Buffer,
  extra: Partial<ItemReport> & { metadata?: unknown } = {},
): ReviewItem {
  return {
    ...newReview(bytes, `file-${id}.jpg`, extra),
    id,
    status: 'confirmed',
    decidedAt: new Date().toISOString(),
    decidedBy: 'key:test',
    decision: { action: 'confirm', bank: 'known', labels: ['A1'] },
  };
}
