/**
 * @module reporting/ncmec/validate
 * Schema validation with libxml2: Debian's `xmllint` (libxml2-utils) as a child process, the
 * document on its standard input, never through a shell. The schema is NCMEC's and is never
 * shipped: it is read from WARD_NCMEC_XSD, or fetched from the endpoint's `/xsd` with the
 * operator's credentials and cached on disk (reporting/ncmec/client.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { WardError } from '../../errors.js';

export interface SchemaError {
  /** Line in the validated document (1-based), when xmllint gives one. */
  line?: number;
  /** The element the error is about. */
  element?: string;
  message: string;
}

export interface SchemaResult {
  valid: boolean;
  errors: SchemaError[];
}

const XMLLINT = process.env.WARD_XMLLINT ?? 'xmllint';

/** Throws WARD_ERR_DEPENDENCY_MISSING when xmllint cannot be run. */
export async function checkXmllint(): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const p = spawn(XMLLINT, ['--version'], { stdio: ['ignore', 'ignore', 'ignore'] });
    p.on('error', () => reject(missing()));
    p.on('close', (code) => (code === 0 ? resolve() : reject(missing())));
  });
}

function missing(): WardError {
  return new WardError(
    'WARD_ERR_DEPENDENCY_MISSING',
    'xmllint is not installed: CyberTipline reports are validated with libxml2 (Debian: apt-get install libxml2-utils)',
  );
}

/** `-:3: element fileId: Schemas validity error : Element 'fileId': ...` */
const LINE = /^-:(\d+): element ([^:]+): (?:Schemas validity error|Schemas parser error|parser error) : (.*)$/;

/** Validates one document against the schema at `xsdPath`. */
export async function validateXml(xml: string, xsdPath: string): Promise<SchemaResult> {
  if (!existsSync(xsdPath)) throw new WardError('WARD_ERR_INPUT_NOT_FOUND', `The schema ${xsdPath} does not exist`);
  return new Promise<SchemaResult>((resolve, reject) => {
    const p = spawn(XMLLINT, ['--noout', '--nonet', '--schema', xsdPath, '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    const err: Buffer[] = [];
    let size = 0;
    p.stderr.on('data', (c: Buffer) => {
      if (size < 256 * 1024) err.push(c);
      size += c.length;
    });
    p.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? missing() : e));
    p.stdin.on('error', () => {});
    p.on('close', (code) => {
      const lines = Buffer.concat(err)
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
      const errors: SchemaError[] = [];
      for (const l of lines) {
        if (/validates$|fails to validate$/.test(l)) continue;
        const m = LINE.exec(l);
        if (m) errors.push({ line: Number(m[1]), element: m[2], message: (m[3] as string).trim() });
        else if (/^-:\d+: /.test(l))
          errors.push({ line: Number(/^-:(\d+)/.exec(l)?.[1]), message: l.replace(/^-:\d+: /, '') });
        else if (!l.startsWith('-') && /error/i.test(l)) errors.push({ message: l.trim() });
      }
      if (code === 0) resolve({ valid: true, errors: [] });
      else if (code === 3 || code === 4 || code === 1) {
        resolve({ valid: false, errors: errors.length > 0 ? errors : [{ message: `xmllint exited with ${code}` }] });
      } else if (code === 5) reject(new WardError('WARD_ERR_CONFIG_INVALID', `The schema ${xsdPath} cannot be parsed`));
      else resolve({ valid: false, errors: errors.length > 0 ? errors : [{ message: `xmllint exited with ${code}` }] });
    });
    p.stdin.end(xml);
  });
}

/** One line per error: `element fileId (line 3): ...`. */
export function formatSchemaErrors(errors: readonly SchemaError[]): string {
  return errors
    .map((e) => `${e.element ? `element ${e.element}` : 'document'}${e.line ? ` (line ${e.line})` : ''}: ${e.message}`)
    .join('\n');
}

export interface DocumentErrors {
  /** `report`, or `fileDetails (review N)`. */
  document: string;
  errors: SchemaError[];
}

/**
 * Validates a built report: the `<report>` and every `<fileDetails>` (with placeholder ids when
 * the real ones are not known yet: they are typed values, so validity does not depend on them).
 */
export async function validateBuilt(
  built: {
    reportXml: string;
    files: { reviewId: number; fileDetailsXml: (reportId: string, fileId: string) => string }[];
  },
  xsdPath: string,
  ids: { reportId: string; fileId: string } = { reportId: '0', fileId: '00000000000000000000000000000000' },
): Promise<DocumentErrors[]> {
  const out: DocumentErrors[] = [];
  const r = await validateXml(built.reportXml, xsdPath);
  if (!r.valid) out.push({ document: 'report', errors: r.errors });
  for (const f of built.files) {
    const v = await validateXml(f.fileDetailsXml(ids.reportId, ids.fileId), xsdPath);
    if (!v.valid) out.push({ document: `fileDetails (review ${f.reviewId})`, errors: v.errors });
  }
  return out;
}
