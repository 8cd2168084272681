/**
 * @module provenance/c2pa/validate
 * Validation of a C2PA manifest with node:crypto only, offline:
 * - every assertion the claim lists is present and its hashed URI matches (SHA-256/384/512 over the
 *   assertion's JUMBF superbox contents);
 * - the hard binding `c2pa.hash.data`: the asset's bytes outside the exclusion ranges hash to the
 *   stated value (other bindings, such as `c2pa.hash.boxes` and BMFF, are reported as not checked);
 * - the claim signature: COSE_Sign1 (ES256/384/512, PS256/384/512, Ed25519) over the claim bytes,
 *   with the leaf certificate of the `x5chain` header;
 * - the signer: the chain verifies link by link and reaches a trust anchor (the C2PA trust list
 *   shipped as data, or the caller's), and the leaf certificate is within its validity period at
 *   the validation time. Time-stamp tokens are read for display, not verified; OCSP is not fetched.
 */
import { constants, createHash, verify, X509Certificate } from 'node:crypto';
import { bstrHeader, CborTag, decodeCbor, field } from './cbor.js';
import type { JumbfSuperbox } from './jumbf.js';
import type { ParsedManifest } from './manifest.js';

/**
 * `valid`: intact and signed by a trusted signer; `untrusted`: intact, but the signer's chain does
 * not reach the trust list or its certificate has expired; `tampered`: a hash or the signature does
 * not match; `unverified`: could not be checked (unsupported algorithm or binding, no asset).
 */
export type C2paState = 'valid' | 'untrusted' | 'tampered' | 'unverified';

export interface C2paValidation {
  state: C2paState;
  /** C2PA validation status codes (`claimSignature.validated`, `assertion.dataHash.mismatch`...). */
  codes: string[];
  signer?: {
    commonName?: string;
    organization?: string;
    issuer?: string;
    alg?: string;
    /** The time-stamp token's time, as stated (not verified). */
    signedAt?: string;
  };
}

export interface ValidateOptions {
  /** The whole asset, for the hard binding; absent for a sidecar manifest (binding not checked). */
  asset?: Uint8Array;
  /** Trust anchors (parsed once by the caller). */
  trustAnchors: readonly X509Certificate[];
  /** Certificates are checked for validity at this time (default: now). */
  at?: Date;
}

const HASHES: Record<string, string> = { sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };
const COSE_ALGS: Record<number, { name: string; hash: string | null; kind: 'ec' | 'pss' | 'ed' }> = {
  [-7]: { name: 'ES256', hash: 'sha256', kind: 'ec' },
  [-35]: { name: 'ES384', hash: 'sha384', kind: 'ec' },
  [-36]: { name: 'ES512', hash: 'sha512', kind: 'ec' },
  [-37]: { name: 'PS256', hash: 'sha256', kind: 'pss' },
  [-38]: { name: 'PS384', hash: 'sha384', kind: 'pss' },
  [-39]: { name: 'PS512', hash: 'sha512', kind: 'pss' },
  [-8]: { name: 'Ed25519', hash: null, kind: 'ed' },
};
const SALT: Record<string, number> = { sha256: 32, sha384: 48, sha512: 64 };

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function bytesOf(v: unknown): Uint8Array | undefined {
  return v instanceof Uint8Array ? v : undefined;
}

/** The assertion superbox a hashed URI points to (`self#jumbf=c2pa.assertions/x` or absolute). */
function resolve(url: string, here: ParsedManifest, all: readonly ParsedManifest[]): JumbfSuperbox | undefined {
  const path = url.replace(/^self#jumbf=/, '');
  const parts = path.split('/').filter((p) => p.length > 0);
  let manifest = here;
  if (path.startsWith('/')) {
    // /c2pa/<manifest label>/c2pa.assertions/<label>
    const m = all.find((x) => x.label === parts[1]);
    if (!m) return undefined;
    manifest = m;
    parts.splice(0, 2);
  }
  if (parts[0] !== 'c2pa.assertions' || parts.length !== 2) return undefined;
  return manifest.assertions.find((a) => a.label === parts[1])?.box;
}

function digest(alg: string, ...parts: Uint8Array[]): Buffer {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h.digest();
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

function subjectField(dn: string, key: string): string | undefined {
  for (const line of dn.split('\n'))
    if (line.startsWith(`${key}=`)) return line.slice(key.length + 1).replace(/\\(.)/g, '$1');
  return undefined;
}

/** The first GeneralizedTime in a time-stamp token: TSTInfo's genTime (certificates come after it). */
function tokenTime(token: Uint8Array): string | undefined {
  for (let i = 0; i + 17 < token.length; i++) {
    if (token[i] !== 0x18) continue;
    const n = token[i + 1] as number;
    if (n < 15 || n > 24 || i + 2 + n > token.length) continue;
    const s = Buffer.from(token.subarray(i + 2, i + 2 + n)).toString('latin1');
    const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d+)?Z$/.exec(s);
    if (m) return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}Z`;
  }
  return undefined;
}

function timestampOf(unprotected: unknown): string | undefined {
  for (const key of ['sigTst2', 'sigTst']) {
    const tokens = field(field(unprotected, key), 'tstTokens');
    if (!Array.isArray(tokens)) continue;
    const val = bytesOf(field(tokens[0], 'val'));
    if (val) return tokenTime(val);
  }
  return undefined;
}

function certificates(v: unknown): X509Certificate[] {
  const list = v instanceof Uint8Array ? [v] : Array.isArray(v) ? v : [];
  return list
    .filter((x): x is Uint8Array => x instanceof Uint8Array)
    .map((der) => new X509Certificate(Buffer.from(der)));
}

export function validateManifest(
  m: ParsedManifest,
  all: readonly ParsedManifest[],
  options: ValidateOptions,
): C2paValidation {
  const codes: string[] = [];
  let tampered = false;
  let unverifiable = false;
  let untrusted = false;
  const claimAlg = str(field(m.claim, 'alg'));
  if (claimAlg === undefined) {
    // As the reference (c2pa-rs) does: without the claim's algorithm nothing can be checked.
    return { state: 'unverified', codes: ['algorithm.unsupported'] };
  }
  // 1. Assertions: present and matching their hashed URIs.
  const refs = [
    ...(Array.isArray(field(m.claim, 'assertions')) ? (field(m.claim, 'assertions') as unknown[]) : []),
    ...(Array.isArray(field(m.claim, 'created_assertions')) ? (field(m.claim, 'created_assertions') as unknown[]) : []),
    ...(Array.isArray(field(m.claim, 'gathered_assertions'))
      ? (field(m.claim, 'gathered_assertions') as unknown[])
      : []),
  ];
  let hashedOk = 0;
  for (const ref of refs) {
    const url = str(field(ref, 'url'));
    const want = bytesOf(field(ref, 'hash'));
    if (!url || !want) continue;
    const alg = HASHES[str(field(ref, 'alg')) ?? claimAlg];
    if (!alg) {
      unverifiable = true;
      codes.push('algorithm.unsupported');
      continue;
    }
    const box = resolve(url, m, all);
    if (!box) {
      tampered = true;
      codes.push('assertion.missing');
      continue;
    }
    if (equal(digest(alg, box.payload), want)) hashedOk++;
    else {
      tampered = true;
      codes.push('assertion.hashedURI.mismatch');
    }
  }
  if (hashedOk > 0 && hashedOk === refs.length) codes.push('assertion.hashedURI.match');
  // 2. The hard binding.
  const dataHash = m.assertions.find((a) => a.label === 'c2pa.hash.data' || a.label.startsWith('c2pa.hash.data__'));
  const otherBinding = m.assertions.find((a) => /^c2pa\.hash\.(boxes|bmff|collection)/.test(a.label));
  if (dataHash) {
    const want = bytesOf(field(dataHash.value, 'hash'));
    const alg = HASHES[str(field(dataHash.value, 'alg')) ?? claimAlg];
    if (!options.asset) {
      unverifiable = true;
      codes.push('ward.dataHash.notChecked');
    } else if (!want || !alg) {
      unverifiable = true;
      codes.push('algorithm.unsupported');
    } else {
      const got = hashExcluding(options.asset, field(dataHash.value, 'exclusions'), alg);
      if (got && equal(got, want)) codes.push('assertion.dataHash.match');
      else {
        tampered = true;
        codes.push('assertion.dataHash.mismatch');
      }
    }
  } else if (otherBinding) {
    unverifiable = true;
    codes.push('ward.hardBinding.notChecked');
  } else {
    tampered = true;
    codes.push('claim.hardBindings.missing');
  }
  // 3. The signature.
  const validation: C2paValidation = { state: 'unverified', codes };
  let chain: X509Certificate[] = [];
  try {
    if (!m.signatureBytes || !m.claimBytes) throw new Error('missing');
    let sign1 = decodeCbor(m.signatureBytes, true);
    if (sign1 instanceof CborTag) sign1 = sign1.value;
    if (!Array.isArray(sign1) || sign1.length !== 4) throw new Error('not COSE_Sign1');
    const [protectedBytes, unprotected, , signature] = sign1 as [unknown, unknown, unknown, unknown];
    if (!(protectedBytes instanceof Uint8Array) || !(signature instanceof Uint8Array))
      throw new Error('not COSE_Sign1');
    const header = protectedBytes.length > 0 ? decodeCbor(protectedBytes) : new Map();
    const algId = field(header, 1);
    const alg = typeof algId === 'number' ? COSE_ALGS[algId] : undefined;
    // x5chain: label 33, protected (C2PA 2.x) or unprotected; early 1.x writers used the text key.
    chain = certificates(
      field(header, 33) ?? field(unprotected, 33) ?? field(header, 'x5chain') ?? field(unprotected, 'x5chain'),
    );
    const leaf = chain[0];
    const signedAt = timestampOf(unprotected);
    if (leaf) {
      const cn = subjectField(leaf.subject, 'CN');
      const org = subjectField(leaf.subject, 'O');
      const issuer = subjectField(leaf.issuer, 'O') ?? subjectField(leaf.issuer, 'CN');
      validation.signer = {
        ...(cn ? { commonName: cn } : {}),
        ...(org ? { organization: org } : {}),
        ...(issuer ? { issuer } : {}),
        ...(alg ? { alg: alg.name } : {}),
        ...(signedAt ? { signedAt } : {}),
      };
    }
    if (!alg) {
      unverifiable = true;
      codes.push('algorithm.unsupported');
    } else if (!leaf) {
      unverifiable = true;
      codes.push('signingCredential.invalid');
    } else {
      const toBeSigned = Buffer.concat([
        Uint8Array.of(0x84, 0x6a),
        Buffer.from('Signature1'),
        bstrHeader(protectedBytes.length),
        protectedBytes,
        Uint8Array.of(0x40),
        bstrHeader(m.claimBytes.length),
        m.claimBytes,
      ]);
      const key =
        alg.kind === 'ec'
          ? { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' as const }
          : alg.kind === 'pss'
            ? { key: leaf.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: SALT[alg.hash as string] }
            : leaf.publicKey;
      let ok = false;
      try {
        ok = verify(alg.hash, toBeSigned, key, signature);
      } catch {
        ok = false;
      }
      if (ok) codes.push('claimSignature.validated');
      else {
        tampered = true;
        codes.push('claimSignature.mismatch');
      }
    }
  } catch {
    unverifiable = true;
    codes.push('claimSignature.missing');
  }
  // 4. The signer: chain links, trust anchor, validity period.
  if (chain.length > 0 && !tampered) {
    const at = options.at ?? new Date();
    const leaf = chain[0] as X509Certificate;
    if (at < new Date(leaf.validFrom) || at > new Date(leaf.validTo)) {
      untrusted = true;
      codes.push('signingCredential.expired');
    }
    if (trusted(chain, options.trustAnchors)) codes.push('signingCredential.trusted');
    else {
      untrusted = true;
      codes.push('signingCredential.untrusted');
    }
  }
  validation.state = tampered
    ? 'tampered'
    : unverifiable && !codes.includes('claimSignature.validated')
      ? 'unverified'
      : untrusted
        ? 'untrusted'
        : unverifiable
          ? 'unverified'
          : 'valid';
  return validation;
}

/** True when every link verifies and some certificate of the chain is, or is issued by, an anchor. */
function trusted(chain: readonly X509Certificate[], anchors: readonly X509Certificate[]): boolean {
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i] as X509Certificate;
    const parent = chain[i + 1] as X509Certificate;
    if (!child.checkIssued(parent) || !safeVerify(child, parent)) return false;
  }
  for (const cert of chain) {
    for (const a of anchors) {
      if (cert.fingerprint256 === a.fingerprint256) return true;
      if (cert.checkIssued(a) && safeVerify(cert, a)) return true;
    }
  }
  return false;
}

function safeVerify(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** Hash of the asset without the exclusion ranges; undefined when a range is out of bounds. */
function hashExcluding(asset: Uint8Array, exclusions: unknown, alg: string): Buffer | undefined {
  const ranges: [number, number][] = [];
  for (const e of Array.isArray(exclusions) ? exclusions : []) {
    const start = field(e, 'start');
    const length = field(e, 'length');
    if (typeof start !== 'number' || typeof length !== 'number' || start < 0 || length < 0) return undefined;
    if (start + length > asset.length) return undefined;
    ranges.push([start, length]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const h = createHash(alg);
  let at = 0;
  for (const [start, length] of ranges) {
    if (start < at) return undefined; // overlapping ranges
    h.update(asset.subarray(at, start));
    at = start + length;
  }
  h.update(asset.subarray(at));
  return h.digest();
}
