/**
 * @module reporting/ncmec/runtime
 * What a submission needs at run time: the credentials (WARD_NCMEC_USERNAME/WARD_NCMEC_PASSWORD,
 * or the ones stored sealed under WARD_SECRET_KEY: never logged, never shown, never on argv), the
 * reporter profile (a file, or the stored one), and NCMEC's schema (WARD_NCMEC_XSD, else fetched
 * from the endpoint's /xsd with the credentials and cached on disk: it is never shipped).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { WardError } from '../../errors.js';
import { openSecret, sealSecret } from '../../secrets/index.js';
import type { ServiceStore } from '../../store/service.js';
import { parseReporterProfile, type ReporterProfile } from './builder.js';
import type { NcmecClient, NcmecCredentials } from './client.js';
import { checkXmllint } from './validate.js';

export const PROFILE_SETTING = 'ncmec.profile';
export const CREDENTIALS_SETTING = 'ncmec.credentials';

export async function loadCredentials(
  store: ServiceStore,
  env: NodeJS.ProcessEnv = process.env,
): Promise<NcmecCredentials> {
  if (env.WARD_NCMEC_USERNAME && env.WARD_NCMEC_PASSWORD) {
    return { username: env.WARD_NCMEC_USERNAME, password: env.WARD_NCMEC_PASSWORD };
  }
  const sealed = await store.getReportSetting(CREDENTIALS_SETTING);
  if (!sealed) {
    throw new WardError(
      'WARD_ERR_REPORT_CREDENTIALS',
      'No CyberTipline credentials: set WARD_NCMEC_USERNAME and WARD_NCMEC_PASSWORD, or store them with `ward report ncmec credentials set`',
    );
  }
  const c = JSON.parse(openSecret(sealed)) as NcmecCredentials;
  return c;
}

/** Stores the credentials sealed (WARD_SECRET_KEY); they are never returned by any surface. */
export async function storeCredentials(store: ServiceStore, c: NcmecCredentials): Promise<void> {
  if (!c.username || !c.password)
    throw new WardError('WARD_ERR_REPORT_CREDENTIALS', 'Both a user name and a password are needed');
  await store.putReportSetting(CREDENTIALS_SETTING, sealSecret(JSON.stringify(c)), new Date().toISOString());
}

export async function loadProfile(store: ServiceStore, file?: string): Promise<ReporterProfile> {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new WardError('WARD_ERR_INPUT_NOT_FOUND', `Cannot read the reporter profile ${file}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new WardError('WARD_ERR_CONFIG_INVALID', `The reporter profile ${file} is not JSON`);
    }
    return parseReporterProfile(json);
  }
  const stored = await store.getReportSetting(PROFILE_SETTING);
  if (!stored) {
    throw new WardError(
      'WARD_ERR_REPORT_CREDENTIALS',
      'No reporter profile: give --reporter FILE or run `ward report profile set FILE`',
    );
  }
  return parseReporterProfile(JSON.parse(stored));
}

export function xsdCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.WARD_NCMEC_XSD_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ward');
}

/**
 * The schema to validate against: WARD_NCMEC_XSD, else the cached copy for this endpoint, else
 * fetched from `/xsd` (needs a client: credentials) and cached. Checks xmllint is there first.
 */
export async function resolveXsd(
  endpoint: string,
  client: (() => Promise<NcmecClient>) | undefined,
  env: NodeJS.ProcessEnv = process.env,
  refresh = false,
): Promise<string> {
  await checkXmllint();
  if (env.WARD_NCMEC_XSD) {
    if (!existsSync(env.WARD_NCMEC_XSD))
      throw new WardError('WARD_ERR_INPUT_NOT_FOUND', `WARD_NCMEC_XSD: no file ${env.WARD_NCMEC_XSD}`);
    return env.WARD_NCMEC_XSD;
  }
  const dir = xsdCacheDir(env);
  const path = join(dir, `ncmec-${createHash('sha256').update(endpoint).digest('hex').slice(0, 16)}.xsd`);
  if (!refresh && existsSync(path)) return path;
  if (!client) {
    throw new WardError(
      'WARD_ERR_REPORT_CREDENTIALS',
      "NCMEC's schema is not cached: set WARD_NCMEC_XSD, or give credentials so Ward can fetch it from the endpoint's /xsd",
    );
  }
  const text = await (await client()).xsd();
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
  return path;
}
