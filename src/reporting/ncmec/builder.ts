/**
 * @module reporting/ncmec/builder
 * CyberTipline report XML from confirmed review items and the operator's reporter profile: one
 * `<report>` (for /submit) and one `<fileDetails>` per file (for /fileinfo), children in the
 * schema's sequence order. Ward pre-fills what it knows (hashes of the bytes as received, PDQ and
 * vPDQ, generative-AI provenance with the models named or matched, whether a person viewed the
 * file, the reviewer's classification and annotations, the uploader's identifiers and IP events
 * from the scan request's metadata) and refuses what the CyberTipline's rules forbid. Schema
 * validation (libxml2) is reporting/ncmec/validate.ts; nothing is sent before both pass.
 */
import { WardError } from '../../errors.js';
import type { ReviewItem } from '../../store/service.js';
import { el, opt, writeXml, type XmlNode } from '../xml.js';

export const INCIDENT_TYPES = [
  'Child Pornography (possession, manufacture, and distribution)',
  'Child Sex Trafficking',
  'Child Sex Tourism',
  'Child Sexual Molestation',
  'Misleading Domain Name',
  'Misleading Words or Digital Images on the Internet',
  'Online Enticement of Children for Sexual Acts',
  'Unsolicited Obscene Material Sent to a Child',
] as const;
export type IncidentType = (typeof INCIDENT_TYPES)[number];

/** fileAnnotations, in the schema's order (an xs:all: any order is valid; this one is stable). */
export const FILE_ANNOTATIONS = [
  'animeDrawingVirtualHentai',
  'potentialMeme',
  'viral',
  'possibleSelfProduction',
  'physicalHarm',
  'violenceGore',
  'bestiality',
  'liveStreaming',
  'infant',
  'generativeAi',
] as const;
export type FileAnnotation = (typeof FILE_ANNOTATIONS)[number];

export const REPORT_ANNOTATIONS = [
  'sextortion',
  'csamSolicitation',
  'minorToMinorInteraction',
  'spam',
  'sadisticOnlineExploitation',
] as const;
export type ReportAnnotation = (typeof REPORT_ANNOTATIONS)[number];

export const INDUSTRY_CLASSIFICATIONS = ['A1', 'A2', 'B1', 'B2'] as const;
export type IndustryClassification = (typeof INDUSTRY_CLASSIFICATIONS)[number];

export const IP_EVENTS = ['Login', 'Registration', 'Purchase', 'Upload', 'Other', 'Unknown'] as const;
export type IpEventName = (typeof IP_EVENTS)[number];

export interface ContactFields {
  firstName?: string;
  lastName?: string;
  phone?: string | string[];
  email?: string | string[];
}

/** The operator's `<reporter>`: `ward report profile set FILE` or `--reporter FILE`. */
export interface ReporterProfile {
  reportingPerson: ContactFields;
  contactPerson?: ContactFields;
  companyTemplate?: string;
  termsOfService?: string;
  legalURL?: string;
}

export interface IpCaptureEvent {
  ipAddress: string;
  eventName?: IpEventName;
  dateTime?: string;
  possibleProxy?: boolean;
  port?: number;
}

/**
 * What the platform said about an upload in the scan request's metadata (`metadata` beside the
 * item report), all optional: Ward reports what it was given and never collects more.
 */
export interface UploadMetadata {
  uploader?: {
    espIdentifier?: string;
    espService?: string;
    screenName?: string;
    displayName?: string;
    email?: string;
    profileUrl?: string;
    ipCaptureEvents?: IpCaptureEvent[];
  };
  /** When the file was uploaded to the platform (ISO 8601). */
  uploadedAt?: string;
  /** Where the file was (URL or path on the platform). */
  url?: string;
  publiclyAvailable?: boolean;
}

/** The reviewer's choices for one file (the Report action; defaults from the decision's labels). */
export interface FileChoices {
  industryClassification?: IndustryClassification;
  annotations?: FileAnnotation[];
  fileRelevance?: 'Reported' | 'Supplemental Reported';
  exifViewedByEsp?: boolean;
}

export interface ModelNamed {
  name: string;
  type?: string;
  hashes: Record<string, string>;
}

/** One file of a report, as the builder needs it. */
export interface ReportFile {
  reviewId: number;
  originalFileName?: string;
  md5?: string;
  sha1?: string;
  pdq?: string;
  vpdq?: string;
  /** When Ward received it (the review item's creation). */
  receivedAt: string;
  /** The audit log shows a person revealed this file (evidence.view). */
  viewedByPerson: boolean;
  generativeAi: boolean;
  aiEvidence: string[];
  generator?: string;
  models: ModelNamed[];
  /** Model hashes of this image that matched a model bank: `bank signal value`. */
  modelBankMatches: string[];
  metadata: UploadMetadata;
  choices: FileChoices;
}

export interface BuildOptions {
  profile: ReporterProfile;
  incidentType?: IncidentType;
  reportAnnotations?: ReportAnnotation[];
  escalateToHighPriority?: string;
  /** A batched viral / potential-meme report (VIRAL_POTENTIAL_MEME): exactly one file. */
  batched?: boolean;
  /** The time the report is built: timestamps are never after it. */
  now?: Date;
}

export interface BuiltReport {
  /** The `<report>` document for /submit. */
  reportXml: string;
  /** One fileDetails builder per file: the ids come from /submit and /upload. */
  files: { reviewId: number; md5?: string; fileDetailsXml: (reportId: string, fileId: string) => string }[];
}

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const SCHEMA_LOCATION = 'https://report.cybertip.org/ispws/xsd';

function invalid(message: string): WardError {
  return new WardError('WARD_ERR_REPORT_INVALID', message);
}

function list(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x) => typeof x === 'string' && x !== '');
}

/** ISO 8601 UTC without milliseconds, never after `now`. */
export function pastTimestamp(value: string | undefined, now: Date): string | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!Number.isFinite(t)) return undefined;
  return new Date(Math.min(t, now.getTime())).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function contact(name: string, c: ContactFields | undefined): XmlNode | undefined {
  if (!c) return undefined;
  return el(name, [
    opt('firstName', c.firstName),
    opt('lastName', c.lastName),
    ...list(c.phone).map((p) => el('phone', p)),
    ...list(c.email).map((e) => el('email', e)),
  ]);
}

/** Checks a reporter profile's shape (a JSON object of the `<reporter>` fields). */
export function parseReporterProfile(value: unknown): ReporterProfile {
  const bad = (why: string) => new WardError('WARD_ERR_CONFIG_INVALID', `Reporter profile: ${why}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('must be a JSON object');
  const v = value as Record<string, unknown>;
  const known = ['reportingPerson', 'contactPerson', 'companyTemplate', 'termsOfService', 'legalURL'];
  for (const k of Object.keys(v)) if (!known.includes(k)) throw bad(`unknown field ${JSON.stringify(k)}`);
  const person = (x: unknown, field: string): ContactFields => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) throw bad(`${field} must be an object`);
    const p = x as Record<string, unknown>;
    for (const k of Object.keys(p)) {
      if (!['firstName', 'lastName', 'phone', 'email'].includes(k)) throw bad(`unknown field ${field}.${k}`);
      const f = p[k];
      const ok =
        typeof f === 'string' ||
        ((k === 'phone' || k === 'email') && Array.isArray(f) && f.every((s) => typeof s === 'string'));
      if (!ok) throw bad(`${field}.${k} must be text`);
    }
    return p as ContactFields;
  };
  const rp = person(v.reportingPerson, 'reportingPerson');
  if (!rp.firstName || !rp.lastName || list(rp.email).length === 0) {
    throw bad('reportingPerson needs firstName, lastName and email');
  }
  for (const k of ['companyTemplate', 'termsOfService', 'legalURL']) {
    if (v[k] !== undefined && typeof v[k] !== 'string') throw bad(`${k} must be text`);
  }
  return {
    reportingPerson: rp,
    ...(v.contactPerson !== undefined ? { contactPerson: person(v.contactPerson, 'contactPerson') } : {}),
    ...(typeof v.companyTemplate === 'string' ? { companyTemplate: v.companyTemplate } : {}),
    ...(typeof v.termsOfService === 'string' ? { termsOfService: v.termsOfService } : {}),
    ...(typeof v.legalURL === 'string' ? { legalURL: v.legalURL } : {}),
  };
}

const MODEL_SIGNALS = new Set(['autov1', 'autov2', 'autov3', 'blake3', 'sha256']);

function str(x: unknown): string | undefined {
  return typeof x === 'string' && x !== '' ? x : undefined;
}

function readMetadata(raw: unknown): UploadMetadata {
  if (typeof raw !== 'object' || raw === null) return {};
  const m = raw as Record<string, unknown>;
  const u = (typeof m.uploader === 'object' && m.uploader !== null ? m.uploader : {}) as Record<string, unknown>;
  const events = Array.isArray(u.ipCaptureEvents)
    ? u.ipCaptureEvents.flatMap((e): IpCaptureEvent[] => {
        if (typeof e !== 'object' || e === null) return [];
        const x = e as Record<string, unknown>;
        const ip = str(x.ipAddress);
        if (!ip) return [];
        return [
          {
            ipAddress: ip,
            ...(IP_EVENTS.includes(x.eventName as IpEventName) ? { eventName: x.eventName as IpEventName } : {}),
            ...(str(x.dateTime) ? { dateTime: x.dateTime as string } : {}),
            ...(typeof x.possibleProxy === 'boolean' ? { possibleProxy: x.possibleProxy } : {}),
            ...(Number.isInteger(x.port) && (x.port as number) >= 0 && (x.port as number) <= 65535
              ? { port: x.port as number }
              : {}),
          },
        ];
      })
    : [];
  const uploader: NonNullable<UploadMetadata['uploader']> = {};
  for (const k of ['espIdentifier', 'espService', 'screenName', 'displayName', 'email', 'profileUrl'] as const) {
    const s = str(u[k]);
    if (s) uploader[k] = s;
  }
  if (events.length > 0) uploader.ipCaptureEvents = events;
  return {
    ...(Object.keys(uploader).length > 0 ? { uploader } : {}),
    ...(str(m.uploadedAt) ? { uploadedAt: m.uploadedAt as string } : {}),
    ...(str(m.url) ? { url: m.url as string } : {}),
    ...(typeof m.publiclyAvailable === 'boolean' ? { publiclyAvailable: m.publiclyAvailable } : {}),
  };
}

/**
 * A review item as a report file: hashes and provenance from its scan report, the reviewer's
 * classification and annotations from its decision's labels (unless `choices` says otherwise),
 * `viewedByPerson` from the audit log (the caller looks it up).
 */
export function reportFileOf(item: ReviewItem, viewedByPerson: boolean, choices: FileChoices = {}): ReportFile {
  const r = item.report;
  const s = r.signals as Record<string, unknown>;
  const ai = r.findings.find((f) => f.type === 'provenance.ai-generated');
  const prov = (ai?.data ?? {}) as {
    aiGenerated?: string;
    evidence?: { kind: string }[];
    generator?: string;
    resources?: { name: string; type?: string; hashes?: Record<string, string> }[];
  };
  const resourceHashes = Array.isArray(s.resourceHashes) ? (s.resourceHashes as string[]) : [];
  const labels = item.decision?.labels ?? [];
  const fromLabels: FileChoices = {
    ...(labels.find((l) => (INDUSTRY_CLASSIFICATIONS as readonly string[]).includes(l))
      ? {
          industryClassification: labels.find((l) =>
            (INDUSTRY_CLASSIFICATIONS as readonly string[]).includes(l),
          ) as IndustryClassification,
        }
      : {}),
    annotations: labels.filter((l): l is FileAnnotation => (FILE_ANNOTATIONS as readonly string[]).includes(l)),
  };
  const generativeAi = ai !== undefined && (prov.aiGenerated === 'yes' || prov.aiGenerated === 'likely');
  return {
    reviewId: item.id,
    ...(item.name ? { originalFileName: item.name } : {}),
    ...(typeof s.md5 === 'string' ? { md5: s.md5 } : {}),
    ...(typeof s.sha1 === 'string' ? { sha1: s.sha1 } : {}),
    ...(typeof s.pdq === 'string' ? { pdq: s.pdq } : {}),
    ...(typeof s.vpdq === 'string' ? { vpdq: s.vpdq } : {}),
    receivedAt: item.createdAt,
    viewedByPerson,
    generativeAi,
    aiEvidence: [...new Set((prov.evidence ?? []).map((e) => e.kind))],
    ...(prov.generator ? { generator: prov.generator } : {}),
    models: (prov.resources ?? []).map((m) => ({
      name: m.name,
      ...(m.type ? { type: m.type } : {}),
      hashes: m.hashes ?? {},
    })),
    modelBankMatches: r.matches
      .filter((m) => MODEL_SIGNALS.has(m.signal) && resourceHashes.some((h) => h.endsWith(`:${m.value}`)))
      .map((m) => `${m.bank} ${m.signal} ${m.value}`),
    metadata: readMetadata((r as unknown as { metadata?: unknown }).metadata),
    choices: { ...fromLabels, ...choices },
  };
}

const HASH_NAMES: Record<string, string> = {
  autov1: 'AutoV1',
  autov2: 'AutoV2',
  autov3: 'AutoV3',
  sha256: 'SHA-256',
  blake3: 'BLAKE3',
};

/** The additionalInfo line on generative-AI provenance: evidence kinds, generator, models, bank matches. */
export function aiInfo(f: ReportFile): string | undefined {
  if (!f.generativeAi && f.models.length === 0 && f.modelBankMatches.length === 0) return undefined;
  const parts: string[] = [];
  if (f.generativeAi) parts.push(`AI-generated per provenance (${f.aiEvidence.join(', ') || 'provenance'})`);
  if (f.generator) parts.push(`generator: ${f.generator}`);
  if (f.models.length > 0) {
    parts.push(
      `models named: ${f.models
        .map((m) => {
          const h = Object.entries(m.hashes)
            .filter(([k]) => HASH_NAMES[k])
            .map(([k, v]) => `${HASH_NAMES[k]} ${v}`)
            .join(', ');
          return `${m.name}${m.type ? ` (${m.type})` : ''}${h ? ` [${h}]` : ''}`;
        })
        .join('; ')}`,
    );
  }
  if (f.modelBankMatches.length > 0) parts.push(`model bank matches: ${f.modelBankMatches.join('; ')}`);
  return parts.join('. ');
}

function ipEvent(e: IpCaptureEvent, now: Date): XmlNode {
  return el('ipCaptureEvent', [
    el('ipAddress', e.ipAddress),
    opt('eventName', e.eventName),
    opt('dateTime', pastTimestamp(e.dateTime, now)),
    opt('possibleProxy', e.possibleProxy),
    opt('port', e.port),
  ]);
}

/** The annotations a file carries: the reviewer's, plus generativeAi when provenance says so. */
export function annotationsOf(f: ReportFile, batched: boolean): FileAnnotation[] {
  const set = new Set(f.choices.annotations ?? []);
  if (f.generativeAi && !batched) set.add('generativeAi');
  return FILE_ANNOTATIONS.filter((a) => set.has(a));
}

/** The CyberTipline's rules beyond the schema, on the builder's input. */
export function checkRules(files: readonly ReportFile[], options: BuildOptions): void {
  if (files.length === 0) throw invalid('A report needs at least one file');
  const ids = new Set(files.map((f) => f.reviewId));
  if (ids.size !== files.length) throw invalid('A review item appears twice in the report');
  for (const f of files) {
    const a = annotationsOf(f, options.batched === true);
    if (f.choices.exifViewedByEsp && !f.viewedByPerson) {
      throw invalid(`exifViewedByEsp (review ${f.reviewId}) requires fileViewedByEsp: nobody viewed the file`);
    }
    if (
      f.choices.fileRelevance === 'Supplemental Reported' &&
      (a.includes('potentialMeme') || f.choices.industryClassification)
    ) {
      throw invalid(
        `fileRelevance "Supplemental Reported" (review ${f.reviewId}) cannot be combined with potentialMeme or industryClassification`,
      );
    }
  }
  if (options.batched) {
    if (files.length !== 1) throw invalid('A batched (viral / potential meme) report carries exactly one file');
    const a = annotationsOf(files[0] as ReportFile, true);
    if (a.length !== 1 || (a[0] !== 'viral' && a[0] !== 'potentialMeme')) {
      throw invalid('The file of a batched report is annotated viral or potentialMeme and nothing else');
    }
    if (options.escalateToHighPriority) throw invalid('A batched report cannot be escalated to high priority');
  }
}

/** Builds the report and the per-file details (rules checked; schema validation is separate). */
export function buildNcmecReport(files: readonly ReportFile[], options: BuildOptions): BuiltReport {
  const now = options.now ?? new Date();
  checkRules(files, options);
  const batched = options.batched === true;
  const times = files.map(
    (f) => pastTimestamp(f.metadata.uploadedAt ?? f.receivedAt, now) ?? pastTimestamp(f.receivedAt, now),
  );
  const earliest = times.filter((t): t is string => t !== undefined).sort()[0] ?? pastTimestamp(now.toISOString(), now);
  const p = options.profile;
  const urls = [...new Set(files.map((f) => f.metadata.url).filter((u): u is string => !!u))];
  const users = new Map<string, NonNullable<UploadMetadata['uploader']>>();
  for (const f of files) {
    const u = f.metadata.uploader;
    if (!u) continue;
    const key = u.espIdentifier ?? u.screenName ?? u.email ?? JSON.stringify(u);
    if (!users.has(key)) users.set(key, u);
  }
  const person = (u: NonNullable<UploadMetadata['uploader']>): XmlNode | undefined =>
    batched
      ? u.espIdentifier
        ? el('personOrUserReported', [el('espIdentifier', u.espIdentifier)])
        : undefined
      : el('personOrUserReported', [
          u.email ? el('personOrUserReportedPerson', [el('email', u.email)]) : undefined,
          opt('espIdentifier', u.espIdentifier),
          opt('espService', u.espService),
          opt('screenName', u.screenName),
          opt('displayName', u.displayName),
          opt('profileUrl', u.profileUrl),
          ...(u.ipCaptureEvents ?? []).map((e) => ipEvent(e, now)),
        ]);
  const report = el(
    'report',
    [
      batched ? el('batchedReport', undefined, { reason: 'VIRAL_POTENTIAL_MEME' }) : undefined,
      el('incidentSummary', [
        el('incidentType', options.incidentType ?? INCIDENT_TYPES[0]),
        batched ? undefined : opt('escalateToHighPriority', options.escalateToHighPriority),
        options.reportAnnotations && options.reportAnnotations.length > 0
          ? el(
              'reportAnnotations',
              REPORT_ANNOTATIONS.filter((a) => options.reportAnnotations?.includes(a)).map((a) => el(a)),
            )
          : undefined,
        el('incidentDateTime', earliest as string),
      ]),
      !batched && urls.length > 0
        ? el('internetDetails', [
            el(
              'webPageIncident',
              urls.map((u) => el('url', u)),
            ),
          ])
        : undefined,
      el('reporter', [
        contact('reportingPerson', p.reportingPerson),
        contact('contactPerson', p.contactPerson),
        opt('companyTemplate', p.companyTemplate),
        opt('termsOfService', p.termsOfService),
        opt('legalURL', p.legalURL),
      ]),
      ...[...users.values()].map(person),
    ],
    { 'xmlns:xsi': XSI, 'xsi:noNamespaceSchemaLocation': SCHEMA_LOCATION },
  );
  return {
    reportXml: writeXml(report),
    files: files.map((f) => ({
      reviewId: f.reviewId,
      ...(f.md5 ? { md5: f.md5 } : {}),
      fileDetailsXml: (reportId: string, fileId: string) => writeXml(fileDetails(f, reportId, fileId, batched, now)),
    })),
  };
}

function fileDetails(f: ReportFile, reportId: string, fileId: string, batched: boolean, now: Date): XmlNode {
  const annotations = annotationsOf(f, batched);
  const hashPairs: XmlNode[] = [];
  if (f.pdq) hashPairs.push(el('nameValuePair', [el('name', 'PDQ'), el('value', f.pdq)]));
  if (f.vpdq) hashPairs.push(el('nameValuePair', [el('name', 'vPDQ'), el('value', f.vpdq)]));
  const upload = f.metadata.uploader?.ipCaptureEvents?.find((e) => e.eventName === 'Upload');
  return el(
    'fileDetails',
    [
      el('reportId', reportId),
      el('fileId', fileId),
      opt('originalFileName', f.originalFileName),
      opt('uploadedToEspTimestamp', pastTimestamp(f.metadata.uploadedAt, now)),
      opt('locationOfFile', f.metadata.url),
      el('fileViewedByEsp', f.viewedByPerson ? 'true' : 'false'),
      f.choices.exifViewedByEsp !== undefined ? el('exifViewedByEsp', String(f.choices.exifViewedByEsp)) : undefined,
      opt('publiclyAvailable', f.metadata.publiclyAvailable),
      el('fileRelevance', f.choices.fileRelevance ?? 'Reported'),
      annotations.length > 0
        ? el(
            'fileAnnotations',
            annotations.map((a) => el(a)),
          )
        : undefined,
      opt('industryClassification', f.choices.industryClassification),
      f.md5 ? el('originalFileHash', f.md5, { hashType: 'MD5' }) : undefined,
      f.sha1 ? el('originalFileHash', f.sha1, { hashType: 'SHA1' }) : undefined,
      upload ? ipEvent(upload, now) : undefined,
      hashPairs.length > 0 ? el('details', hashPairs, { type: 'HASH' }) : undefined,
      opt('additionalInfo', aiInfo(f)),
    ],
    { 'xmlns:xsi': XSI, 'xsi:noNamespaceSchemaLocation': SCHEMA_LOCATION },
  );
}

/** Placeholder ids for validating fileDetails before /submit and /upload give the real ones. */
export const PLACEHOLDER_REPORT_ID = '0';
export const PLACEHOLDER_FILE_ID = '00000000000000000000000000000000';
