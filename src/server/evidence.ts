/**
 * @module server/evidence
 * The evidence store: uploads kept for review, off unless the operator turns it on by setting
 * WARD_EVIDENCE_KEY (32 bytes, base64 or hex). Each upload is encrypted with AES-256-GCM (a
 * random 96-bit nonce; the record id as additional data, so rows cannot be swapped) and kept for
 * the retention period (default 365 days, the US REPORT Act preservation period), then purged by
 * a job that runs at start and every hour. Without the store, uploads live only in memory for the
 * length of their request.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { WardError } from '../errors.js';
import type { ServiceStore } from '../store/service.js';

export const DEFAULT_RETENTION_DAYS = 365;

/** The key from text: 64 hex characters or base64 of 32 bytes. */
export function parseEvidenceKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (
    key.length !== 32 ||
    (!/^[0-9a-fA-F]{64}$/.test(t) && key.toString('base64').replace(/=+$/, '') !== t.replace(/=+$/, ''))
  ) {
    throw new WardError('WARD_ERR_EVIDENCE', 'WARD_EVIDENCE_KEY must be 32 bytes as 64 hex characters or base64');
  }
  if (key.every((b) => b === 0))
    throw new WardError('WARD_ERR_EVIDENCE', 'WARD_EVIDENCE_KEY is all zeros: use random bytes');
  return key;
}

export interface EvidenceOptions {
  key: Buffer;
  retentionDays?: number;
}

export class EvidenceStore {
  readonly keyId: string;
  readonly retentionDays: number;

  constructor(
    private readonly store: ServiceStore,
    private readonly options: EvidenceOptions,
  ) {
    if (options.key.length !== 32) throw new WardError('WARD_ERR_EVIDENCE', 'The evidence key must be 32 bytes');
    if (options.key.every((b) => b === 0)) throw new WardError('WARD_ERR_EVIDENCE', 'The evidence key is all zeros');
    this.keyId = createHash('sha256').update(options.key).digest('hex').slice(0, 16);
    this.retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    if (!Number.isFinite(this.retentionDays) || this.retentionDays <= 0) {
      throw new WardError('WARD_ERR_CONFIG_INVALID', 'The evidence retention must be a positive number of days');
    }
  }

  /** From the environment: undefined when WARD_EVIDENCE_KEY is not set. */
  static fromEnv(store: ServiceStore, env: NodeJS.ProcessEnv = process.env): EvidenceStore | undefined {
    if (!env.WARD_EVIDENCE_KEY) return undefined;
    const days = env.WARD_EVIDENCE_RETENTION_DAYS ? Number(env.WARD_EVIDENCE_RETENTION_DAYS) : undefined;
    return new EvidenceStore(store, { key: parseEvidenceKey(env.WARD_EVIDENCE_KEY), retentionDays: days });
  }

  /** Encrypts and stores bytes; returns the evidence id. */
  async put(bytes: Uint8Array, mediaType: string | null, now = new Date()): Promise<string> {
    const id = randomUUID();
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.options.key, nonce);
    cipher.setAAD(Buffer.from(`ward-evidence:v1:${id}`));
    const data = Buffer.concat([cipher.update(bytes), cipher.final()]);
    await this.store.putEvidence({
      id,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.retentionDays * 86_400_000).toISOString(),
      keyId: this.keyId,
      mediaType,
      size: bytes.length,
      nonce,
      tag: cipher.getAuthTag(),
      data,
    });
    return id;
  }

  /** Decrypts stored evidence; undefined when it is gone (purged or never kept). */
  async get(id: string): Promise<{ bytes: Buffer; mediaType: string | null } | undefined> {
    const rec = await this.store.getEvidence(id);
    if (!rec) return undefined;
    if (rec.keyId !== this.keyId) {
      throw new WardError('WARD_ERR_EVIDENCE_UNREADABLE', 'This evidence was encrypted with another key');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.options.key, rec.nonce);
      decipher.setAAD(Buffer.from(`ward-evidence:v1:${id}`));
      decipher.setAuthTag(rec.tag);
      return { bytes: Buffer.concat([decipher.update(rec.data), decipher.final()]), mediaType: rec.mediaType };
    } catch (cause) {
      throw new WardError(
        'WARD_ERR_EVIDENCE_UNREADABLE',
        'Stored evidence does not decrypt (altered, or another key)',
        {},
        cause,
      );
    }
  }

  /** Whether stored evidence exists and decrypts with this key (the item view shows it as unavailable otherwise). */
  async readable(id: string): Promise<boolean> {
    try {
      return (await this.get(id)) !== undefined;
    } catch {
      return false;
    }
  }

  /** Deletes everything past its retention; returns how many. */
  purge(now = new Date()): Promise<number> {
    return this.store.purgeEvidence(now.toISOString());
  }
}
