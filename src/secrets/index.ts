/**
 * @module secrets
 * Secrets at rest (webhook secrets now; exchange and NCMEC credentials next): sealed with
 * AES-256-GCM under WARD_SECRET_KEY (32 bytes as 64 hex characters or base64; an all-zero key is
 * refused), handled as the evidence key is: never in the database (sealed values carry the first
 * 16 hex of its SHA-256, to tell which key sealed them), never logged. Free of fastify.
 *
 * Sealed form: `wsec1.<key id>.<nonce>.<ciphertext>.<tag>` (base64url parts).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { WardError } from '../errors.js';

const PREFIX = 'wsec1';

/** A 32-byte key from text (64 hex or base64); refuses other lengths and an all-zero key. */
export function parseSecretKey(text: string, variable = 'WARD_SECRET_KEY'): Buffer {
  const t = text.trim();
  const hex = /^[0-9a-fA-F]{64}$/.test(t);
  const key = hex ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32 || (!hex && key.toString('base64').replace(/=+$/, '') !== t.replace(/=+$/, ''))) {
    throw new WardError('WARD_ERR_SECRET_KEY', `${variable} must be 32 bytes as 64 hex characters or base64`);
  }
  if (key.every((b) => b === 0))
    throw new WardError('WARD_ERR_SECRET_KEY', `${variable} is all zeros: use random bytes`);
  return key;
}

/** The key from the environment, or undefined when WARD_SECRET_KEY is not set. */
export function secretKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  return env.WARD_SECRET_KEY ? parseSecretKey(env.WARD_SECRET_KEY) : undefined;
}

export function secretKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

function requireKey(key: Buffer | undefined): Buffer {
  const k = key ?? secretKeyFromEnv();
  if (!k) throw new WardError('WARD_ERR_SECRET_KEY', 'WARD_SECRET_KEY is not set: secrets cannot be sealed or opened');
  if (k.length !== 32 || k.every((b) => b === 0)) {
    throw new WardError('WARD_ERR_SECRET_KEY', 'The secret key must be 32 random bytes');
  }
  return k;
}

export function isSealed(value: string): boolean {
  return typeof value === 'string' && value.startsWith(`${PREFIX}.`);
}

/** Seals a secret (key: WARD_SECRET_KEY unless given). */
export function sealSecret(plaintext: string, key?: Buffer): string {
  const k = requireKey(key);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', k, nonce);
  cipher.setAAD(Buffer.from(PREFIX));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const b = (x: Buffer) => x.toString('base64url');
  return [PREFIX, secretKeyId(k), b(nonce), b(ct), b(cipher.getAuthTag())].join('.');
}

/** Opens a sealed secret; WARD_ERR_SECRET_KEY for another key, a tampered value or a malformed one. */
export function openSecret(sealed: string, key?: Buffer): string {
  const k = requireKey(key);
  const parts = typeof sealed === 'string' ? sealed.split('.') : [];
  if (parts.length !== 5 || parts[0] !== PREFIX) {
    throw new WardError('WARD_ERR_SECRET_KEY', 'Not a sealed secret');
  }
  if (parts[1] !== secretKeyId(k)) {
    throw new WardError('WARD_ERR_SECRET_KEY', 'This secret was sealed with another key');
  }
  try {
    const d = createDecipheriv('aes-256-gcm', k, Buffer.from(parts[2] as string, 'base64url'));
    d.setAAD(Buffer.from(PREFIX));
    d.setAuthTag(Buffer.from(parts[4] as string, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(parts[3] as string, 'base64url')), d.final()]).toString('utf8');
  } catch {
    throw new WardError('WARD_ERR_SECRET_KEY', 'A sealed secret does not open (altered, or another key)');
  }
}
