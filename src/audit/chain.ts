/**
 * @module audit/chain
 * The audit log's hash chain: every record carries SHA-256(previous hash, its own fields), so an
 * edited, removed or inserted record breaks every hash after it. `verifyAuditChain` walks the log
 * in order and names the first record that does not verify.
 *
 * Keyed (issue 14): with WARD_AUDIT_KEY (32 bytes, hex or base64, kept outside the database),
 * records are chained with HMAC-SHA256 under that key (`ward-audit-v2`), so whoever can write the
 * database cannot rewrite a record and rehash the rest. An existing unkeyed chain is migrated
 * explicitly (`ward audit migrate-key` appends the first keyed record): unkeyed records are
 * accepted only before the first keyed one. A signed head (`<seq>.<hash>.<HMAC>`, printed by
 * `ward audit head`) checked with `verify --head` catches truncation and a rewrite back to
 * unkeyed records.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { parseSecretKey } from '../secrets/index.js';
import type { AuditRecord } from '../store/service.js';

let cachedKey: { text: string; key: Buffer } | undefined;

/** The audit key from WARD_AUDIT_KEY (undefined when unset; all zeros refused). */
export function auditKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  const text = env.WARD_AUDIT_KEY;
  if (!text) return undefined;
  if (cachedKey?.text !== text) cachedKey = { text, key: parseSecretKey(text, 'WARD_AUDIT_KEY') };
  return cachedKey.key;
}

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

/** The record's hash: SHA-256 (v1, unkeyed) or, with `key`, HMAC-SHA256 under it (v2). */
export function auditHash(prevHash: string, record: Omit<AuditRecord, 'prevHash' | 'hash'>, key?: Buffer): string {
  const body = canonicalJson({
    seq: record.seq,
    at: record.at,
    actor: record.actor,
    action: record.action,
    target: record.target,
    details: record.details,
  });
  if (key) return createHmac('sha256', key).update(`ward-audit-v2\n${prevHash}\n${body}`).digest('hex');
  return createHash('sha256').update(`ward-audit-v1\n${prevHash}\n${body}`).digest('hex');
}

/** A head signed with the audit key: `<seq>.<hash>.<HMAC>`. */
export function signAuditHead(head: { seq: number; hash: string }, key: Buffer): string {
  const mac = createHmac('sha256', key).update(`ward-audit-head\n${head.seq}\n${head.hash}`).digest('hex');
  return `${head.seq}.${head.hash}.${mac}`;
}

/** Parses and checks a signed head; undefined when it is not one (a bare hash). */
export function checkSignedHead(text: string, key: Buffer | undefined): { seq: number; hash: string } | undefined {
  const m = /^(\d{1,15})\.([0-9a-f]{64})\.([0-9a-f]{64})$/.exec(text);
  if (!m) return undefined;
  const head = { seq: Number(m[1]), hash: m[2] as string };
  if (!key) return { ...head, seq: -1 };
  const want = Buffer.from(signAuditHead(head, key).split('.')[2] as string, 'hex');
  return timingSafeEqual(want, Buffer.from(m[3] as string, 'hex')) ? head : { ...head, seq: -1 };
}

export interface AuditVerification {
  ok: boolean;
  /** Records checked. */
  records: number;
  /** The last record's seq and hash (note it somewhere else to detect a cut-off tail later). */
  head?: { seq: number; hash: string };
  /** The first record that does not verify, and why. */
  broken?: { seq: number; reason: string };
  /** Records chained with the audit key, and unkeyed ones before them (with a key only). */
  keyed?: number;
  unkeyed?: number;
}

/** Walks records in seq order; stops at the first break. */
export async function verifyAuditChain(
  records: AsyncIterable<AuditRecord> | Iterable<AuditRecord>,
  expectedHead?: string,
  key?: Buffer,
): Promise<AuditVerification> {
  let prev = AUDIT_GENESIS;
  let expectedSeq = 1;
  let n = 0;
  let keyed = 0;
  let unkeyed = 0;
  let head: { seq: number; hash: string } | undefined;
  const signed = expectedHead !== undefined ? checkSignedHead(expectedHead, key) : undefined;
  if (signed && signed.seq < 0) {
    return {
      ok: false,
      records: 0,
      broken: {
        seq: 0,
        reason: key ? 'the signed head does not verify with the audit key' : 'a signed head needs WARD_AUDIT_KEY',
      },
    };
  }
  let signedSeen = false;
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
    if (key && auditHash(prev, r, key) === r.hash) keyed++;
    else if (auditHash(prev, r) === r.hash && keyed === 0) unkeyed++;
    else if (key && keyed > 0 && auditHash(prev, r) === r.hash) {
      return fail(n, head, r.seq, 'an unkeyed record after keyed ones: the chain was rewritten');
    } else return fail(n, head, r.seq, 'its contents do not match its hash: the record was edited');
    if (signed && r.seq === signed.seq) {
      if (r.hash !== signed.hash) return fail(n, head, r.seq, 'the record is not the one the signed head names');
      signedSeen = true;
    }
    prev = r.hash;
    expectedSeq++;
    head = { seq: r.seq, hash: r.hash };
  }
  const counts = key ? { keyed, unkeyed } : {};
  if (signed && !signedSeen) {
    return {
      ok: false,
      records: n,
      ...(head ? { head } : {}),
      broken: { seq: head?.seq ?? 0, reason: 'the record the signed head names is gone: records were cut off' },
      ...counts,
    };
  }
  if (
    !signed &&
    expectedHead !== undefined &&
    head?.hash !== expectedHead &&
    !(expectedHead === '' && head === undefined)
  ) {
    return {
      ok: false,
      records: n,
      ...(head ? { head } : {}),
      broken: { seq: head?.seq ?? 0, reason: 'the newest record is not the expected head: records were cut off' },
      ...counts,
    };
  }
  return { ok: true, records: n, ...(head ? { head } : {}), ...counts };
}
function fail(
  records: number,
  head: { seq: number; hash: string } | undefined,
  seq: number,
  reason: string,
): AuditVerification {
  return { ok: false, records, ...(head ? { head } : {}), broken: { seq, reason } };
}
