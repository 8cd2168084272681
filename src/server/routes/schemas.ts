/**
 * @module server/routes/schemas
 * The schema pieces the route plugins share (validated by fastify, published in /openapi.json),
 * the role lists, and the signal-type enums, taken from the active registry when the app is built
 * (so plugin signal types appear in them).
 */
import { activeRegistry } from '../../registry.js';
import { VERDICTS } from '../../scan/types.js';
import { REVIEW_STATUSES, type Role } from '../../store/service.js';

export const SUBMIT: Role[] = ['submitter'];
export const READ: Role[] = ['analyst'];
export const ADMIN: Role[] = ['admin'];
export const ANY: Role[] = ['admin', 'analyst', 'submitter'];

export const str = (maxLength: number, extra: Record<string, unknown> = {}) => ({
  type: 'string',
  maxLength,
  ...extra,
});
export const int = (minimum: number, maximum: number, extra: Record<string, unknown> = {}) => ({
  type: 'integer',
  minimum,
  maximum,
  ...extra,
});
export const obj = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

/** `{enum: [every registered signal type]}`, computed when called (when the app is built). */
export const signalEnum = () => ({ enum: activeRegistry().signalNames() });

export const bankParams = obj({ name: str(200, { description: 'Bank name' }) }, ['name']);
export const idParams = obj({ id: int(1, Number.MAX_SAFE_INTEGER, { description: 'Review item id' }) }, ['id']);

export const MATCH_HIT = obj({
  bank: { type: 'string' },
  signal: { type: 'string' },
  value: { type: 'string' },
  distance: { type: 'integer' },
  entryId: { type: 'integer' },
  labels: { type: 'array', items: { type: 'string' } },
  transform: { type: 'string' },
});
export const ITEM_REPORT = {
  type: 'object',
  description: 'The item report of `ward scan` (docs/schema/scan-item.v1.json)',
  properties: {
    path: { type: 'string' },
    archivePath: { type: 'string' },
    contentType: { type: 'string' },
    format: { type: 'string' },
    size: { type: 'integer' },
    verdict: { enum: VERDICTS },
    signals: { type: 'object' },
    matches: { type: 'array', items: MATCH_HIT },
    suppressedBy: { type: 'array', items: MATCH_HIT },
    findings: { type: 'array', items: { type: 'object' } },
    reasons: { type: 'array', items: { type: 'object' } },
    score: { type: 'number' },
    media: { type: 'object' },
    error: { type: 'object' },
  },
};
export const BANK = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    kind: { enum: ['block', 'negative'] },
    pdqDistance: { type: 'integer' },
    createdAt: { type: 'string' },
    version: { type: 'integer' },
    entries: { type: 'integer' },
  },
};
export const REVIEW_ITEM = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    createdAt: { type: 'string' },
    status: { enum: REVIEW_STATUSES },
    verdict: { type: 'string' },
    score: { type: ['number', 'null'] },
    contentType: { type: 'string' },
    name: { type: ['string', 'null'] },
    report: ITEM_REPORT,
    evidence: obj({ available: { type: 'boolean' }, reason: { type: 'string' } }),
    decision: { type: ['object', 'null'] },
    /** True when prompts were redacted: the key lacks the child-safety data permission. */
    redacted: { type: 'boolean' },
  },
};
export const IMPORT_REPORT = {
  type: 'object',
  properties: Object.fromEntries(
    ['read', 'added', 'updated', 'unchanged', 'deleted', 'invalidCount'].map((k) => [k, { type: 'integer' }]),
  ),
};
