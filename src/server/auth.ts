/**
 * @module server/auth
 * API keys: `ward_<id>_<secret>`, shown once at creation; the store keeps the id (public, for
 * logs and revocation) and SHA-256 of the whole key (keys are 256-bit random, so a fast hash is
 * enough: there is nothing to brute-force). Verified keys are cached for a few seconds.
 * Per-key rate limits are token buckets in memory (each service process has its own).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { WardError } from '../errors.js';
import type { ApiKeyRecord, Role, ServiceStore } from '../store/service.js';
import { ROLES } from '../store/service.js';

const KEY_FORMAT = /^ward_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export interface NewKey {
  /** The key itself: shown once, never stored. */
  key: string;
  record: ApiKeyRecord;
}

/** Makes a key and its record (not yet stored). */
export interface KeyOptions {
  rate?: number;
  burst?: number;
  /** The child-safety data permission (evidence media, prompts, report contents); default false. */
  childSafety?: boolean;
}

export function generateKey(role: Role, name = '', limits: KeyOptions = {}): NewKey {
  if (!ROLES.includes(role)) {
    throw new WardError(
      'WARD_ERR_CONFIG_INVALID',
      `Expected a role (${ROLES.join(', ')}) but received ${JSON.stringify(role)}`,
    );
  }
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const idBytes = randomBytes(12);
  const id = Array.from(idBytes, (b) => alphabet[b % 36]).join('');
  const key = `ward_${id}_${randomBytes(32).toString('base64url')}`;
  return {
    key,
    record: {
      id,
      hash: hashKey(key),
      role,
      name: name.slice(0, 200),
      rateLimit: limits.rate ?? null,
      burst: limits.burst ?? null,
      childSafety: limits.childSafety === true,
      createdAt: new Date().toISOString(),
      revokedAt: null,
    },
  };
}

/** Creates and stores a key; returns it once. */
export async function createKey(store: ServiceStore, role: Role, name = '', limits: KeyOptions = {}): Promise<NewKey> {
  const made = generateKey(role, name, limits);
  await store.insertKey(made.record);
  return made;
}

export interface Principal {
  keyId: string;
  role: Role;
  name: string;
  rateLimit: number | null;
  burst: number | null;
  /** Holds the child-safety data permission (see ApiKeyRecord.childSafety). */
  childSafety: boolean;
}

/** Checks Bearer keys against the store, caching verified ones for `ttlMs`. */
export class KeyVerifier {
  private readonly cache = new Map<string, { hash: string; principal: Principal | undefined; until: number }>();
  /** Whole keys verified recently: the hot path skips hashing. */
  private readonly verified = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly store: ServiceStore,
    private readonly ttlMs = 5000,
  ) {}

  /** Drops a key from the cache (after a revocation in this process). */
  forget(keyId: string): void {
    this.cache.delete(keyId);
    for (const [key, v] of this.verified) if (v.principal.keyId === keyId) this.verified.delete(key);
  }

  async verify(authorization: string | undefined): Promise<Principal> {
    if (authorization === undefined || authorization.trim() === '') {
      throw new WardError('WARD_ERR_AUTH_REQUIRED', 'Send an API key: `Authorization: Bearer <key>`');
    }
    const now = Date.now();
    const fast = this.verified.get(authorization);
    if (fast && fast.until >= now) return fast.principal;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    const parsed = m ? KEY_FORMAT.exec(m[1] as string) : null;
    if (!m || !parsed)
      throw new WardError('WARD_ERR_AUTH_INVALID', 'The Authorization header does not hold a Ward API key');
    const key = m[1] as string;
    const id = parsed[1] as string;
    const hash = hashKey(key);
    let cached = this.cache.get(id);
    if (!cached || cached.until < now) {
      const record = await this.store.getKey(id);
      cached = {
        hash: record?.hash ?? '',
        principal:
          record && record.revokedAt === null
            ? {
                keyId: id,
                role: record.role,
                name: record.name,
                rateLimit: record.rateLimit,
                burst: record.burst,
                childSafety: record.childSafety,
              }
            : undefined,
        until: now + this.ttlMs,
      };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(id, cached);
    }
    const a = Buffer.from(hash, 'hex');
    const b = Buffer.from(cached.hash.padEnd(64, '0').slice(0, 64), 'hex');
    if (!cached.principal || !timingSafeEqual(a, b)) {
      throw new WardError('WARD_ERR_AUTH_INVALID', 'The API key is unknown or revoked');
    }
    if (this.verified.size > 10_000) this.verified.clear();
    this.verified.set(authorization, { principal: cached.principal, until: cached.until });
    return cached.principal;
  }
}

/** Token buckets per key: `rate` tokens a second, up to `burst`. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly defaultRate: number,
    private readonly defaultBurst: number,
  ) {}

  /** Takes a token; returns 0 when allowed, else the seconds to wait. */
  take(principal: Principal, now = Date.now()): number {
    const rate = principal.rateLimit ?? this.defaultRate;
    if (rate <= 0) return 0; // 0: unlimited
    const burst = principal.burst ?? Math.max(this.defaultBurst, Math.ceil(rate));
    let b = this.buckets.get(principal.keyId);
    if (!b) {
      b = { tokens: burst, at: now };
      if (this.buckets.size > 100_000) this.buckets.clear();
      this.buckets.set(principal.keyId, b);
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / rate));
  }
}
