/**
 * @module audit/chain
 * The audit log's hash chain: every record carries SHA-256(previous hash, its own fields), so an
 * edited, removed or inserted record breaks every hash after it. `verifyAuditChain` walks the log
 * in order and names the first record that does not verify.
 */
import { createHash } from 'node:crypto';
import type { AuditRecord } from '../store/service.js';

/** The previous hash of the first record. */
export const AUDIT_GENESIS = '0'.repeat(64);

/** JSON with object keys sorted at every level: one byte string per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const keys = Object.keys(value as object)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

export function auditHash(prevHash: string, record: Omit<AuditRecord, 'prevHash' | 'hash'>): string {
  const body = canonicalJson({
    seq: record.seq,
    at: record.at,
    actor: record.actor,
    action: record.action,
    target: record.target,
    details: record.details,
  });
  return createHash('sha256').update(`ward-audit-v1\n${prevHash}\n${body}`).digest('hex');
}

export interface AuditVerification {
  ok: boolean;
  /** Records checked. */
  records: number;
  /** The last record's seq and hash (note it somewhere else to detect a cut-off tail later). */
  head?: { seq: number; hash: string };
  /** The first record that does not verify, and why. */
  broken?: { seq: number; reason: string };
}

/** Walks records in seq order; stops at the first break. */
export async function verifyAuditChain(
  records: AsyncIterable<AuditRecord> | Iterable<AuditRecord>,
  expectedHead?: string,
): Promise<AuditVerification> {
  let prev = AUDIT_GENESIS;
  let expectedSeq = 1;
  let n = 0;
  let head: { seq: number; hash: string } | undefined;
  for await (const r of records) {
    n++;
    if (r.seq !== expectedSeq) {
      return fail(
        n,
        head,
        r.seq,
        `expected record ${expectedSeq} but found ${r.seq}: records were removed or inserted`,
      );
    }
    if (r.prevHash !== prev) return fail(n, head, r.seq, 'its previous-hash does not match the record before it');
    const hash = auditHash(prev, r);
    if (hash !== r.hash) return fail(n, head, r.seq, 'its contents do not match its hash: the record was edited');
    prev = r.hash;
    expectedSeq++;
    head = { seq: r.seq, hash: r.hash };
  }
  if (expectedHead !== undefined && head?.hash !== expectedHead && !(expectedHead === '' && head === undefined)) {
    return {
      ok: false,
      records: n,
      ...(head ? { head } : {}),
      broken: { seq: head?.seq ?? 0, reason: 'the newest record is not the expected head: records were cut off' },
    };
  }
  return { ok: true, records: n, ...(head ? { head } : {}) };
}

function fail(
  records: number,
  head: { seq: number; hash: string } | undefined,
  seq: number,
  reason: string,
): AuditVerification {
  return { ok: false, records, ...(head ? { head } : {}), broken: { seq, reason } };
}
