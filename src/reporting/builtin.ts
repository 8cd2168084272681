/**
 * @module reporting/builtin
 * The built-in reporters, registered by the built-in plugin: `ncmec` (the CyberTipline Reporting
 * API, src/reporting/ncmec) and `nca` (the UK NCA's Schedule 1 contents as an export for its
 * portal, src/reporting/nca). Their surfaces are `ward report` and `/v1/reports`.
 */
import { buildNcaExport, CONTENT_RETENTION_DAYS } from './nca/export.js';
import { parseReporterProfile } from './ncmec/builder.js';
import { RETENTION_DAYS } from './ncmec/submit.js';
import type { Reporter } from './types.js';

export const ncmecReporter: Reporter = {
  name: 'ncmec',
  description:
    "NCMEC's CyberTipline (18 U.S.C. §2258A): schema-validated reports, submitted as a durable state machine",
  kind: 'remote',
  retentionDays: RETENTION_DAYS,
};

export const ncaReporter: Reporter = {
  name: 'nca',
  description: 'The UK NCA (Online Safety Act s.66, SI 2026/268): Schedule 1 contents exported for the NCA portal',
  kind: 'export',
  retentionDays: CONTENT_RETENTION_DAYS,
  async create(ctx, reviewIds, request) {
    const exp = await buildNcaExport(ctx, reviewIds, {
      profile: parseReporterProfile(request.profile),
      ...(typeof request.priority === 'string' ? { priority: request.priority } : {}),
    });
    return exp.record;
  },
};
