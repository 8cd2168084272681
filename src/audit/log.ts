/**
 * @module audit/log
 * Reading and verifying a store's audit log, page by page.
 */
import type { AuditRecord, ServiceStore } from '../store/service.js';
import { type AuditVerification, auditKeyFromEnv, verifyAuditChain } from './chain.js';

/** Every record, oldest first, read in pages. */
export async function* auditRecords(store: ServiceStore, pageSize = 1000): AsyncGenerator<AuditRecord> {
  let after = 0;
  for (;;) {
    const page = await store.listAudit({ afterSeq: after, limit: pageSize });
    yield* page;
    if (page.length < pageSize) return;
    after = (page[page.length - 1] as AuditRecord).seq;
  }
}

/** Verifies the whole chain; `expectedHead` (a hash noted earlier) also detects a cut-off tail. */
/** `expectedHead` may also be a signed head (`ward audit head`); the key is WARD_AUDIT_KEY unless given. */
export function verifyStoreAudit(
  store: ServiceStore,
  expectedHead?: string,
  key: Buffer | undefined = auditKeyFromEnv(),
): Promise<AuditVerification> {
  return verifyAuditChain(auditRecords(store), expectedHead, key);
}
