/**
 * @module cli/commands/report
 * `ward report`: CyberTipline reports (build, submit, status, retract), the reporter profile,
 * stored credentials, legal holds, and the UK NCA export. Every step is an audit record.
 */
import { writeFileSync } from 'node:fs';
import { WardError } from '../../errors.js';
import { buildNcaExport, writeNcaExport } from '../../reporting/nca/export.js';
import { parseReporterProfile } from '../../reporting/ncmec/builder.js';
import { NCMEC_PRODUCTION, NCMEC_TEST, NcmecClient } from '../../reporting/ncmec/client.js';
import {
  loadCredentials,
  loadProfile,
  PROFILE_SETTING,
  resolveXsd,
  storeCredentials,
} from '../../reporting/ncmec/runtime.js';
import {
  buildValidated,
  createNcmecReport,
  expiresAt,
  retractNcmecReport,
  runNcmecReport,
  type SubmitContext,
} from '../../reporting/ncmec/submit.js';
import { formatSchemaErrors } from '../../reporting/ncmec/validate.js';
import { setLegalHold } from '../../reporting/preservation.js';
import { EvidenceStore } from '../../server/evidence.js';
import { openServiceStore } from '../../store/open.js';
import type { ReportRecord, ServiceStore } from '../../store/service.js';
import { parseCommandArgs } from '../args.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { write } from '../output.js';

export const REPORT_USAGE = `Usage: ward report <subcommand> [options]

  ncmec build <review-id>... [--out FILE] [--reporter FILE] [--batched]
        print the CyberTipline XML (the <report>, then one <fileDetails> per file with placeholder
        ids); exit 1 when it fails NCMEC's schema (the errors name the element)
  ncmec submit <review-id>... [--endpoint URL] [--test] [--production] [--reporter FILE] [--batched]
        submit (or resume) the report: draft → submitted → uploaded → fileinfo → finished
  ncmec credentials set   store WARD_NCMEC_USERNAME / WARD_NCMEC_PASSWORD sealed (WARD_SECRET_KEY)
  profile set FILE        store the reporter profile (a JSON object of the <reporter> fields)
  status [<report-id>]    one report (state, remote id, files, expiry, retention) or all
  retract <report-id>     retract an unfinished report at NCMEC
  hold <report-id> [--release]  put a report's evidence and contents under legal hold (or release it)
  nca <review-id>... --out DIR [--priority P1|P2|P3] [--reporter FILE]
        the UK NCA report contents (JSON and a printable HTML summary)
  nca reference <report-id> <URN>   record the NCA's reference number

Credentials come from WARD_NCMEC_USERNAME / WARD_NCMEC_PASSWORD or the stored sealed ones (never
from the command line). The schema is WARD_NCMEC_XSD or fetched from the endpoint's /xsd and cached.
The default endpoint is NCMEC's test environment (${NCMEC_TEST}); --production uses ${NCMEC_PRODUCTION}.
Uploads are read from the evidence store (WARD_EVIDENCE_KEY). Every subcommand takes --db.`;

function ids(positionals: string[], what = 'review id'): number[] {
  if (positionals.length === 0) throw new WardError('WARD_ERR_USAGE', `Give at least one ${what}`);
  return positionals.map((p) => {
    if (!/^\d{1,15}$/.test(p))
      throw new WardError('WARD_ERR_USAGE', `Not a ${what}: ${JSON.stringify(p.slice(0, 40))}`);
    return Number(p);
  });
}

function endpointOf(values: Record<string, unknown>): string {
  if (values.production && values.test)
    throw new WardError('WARD_ERR_USAGE', '--test and --production exclude each other');
  if (values.endpoint !== undefined) return String(values.endpoint);
  return values.production ? NCMEC_PRODUCTION : NCMEC_TEST;
}

function statusLine(r: ReportRecord): string {
  const exp = expiresAt(r);
  return [
    `report ${r.id}`,
    r.reporter,
    r.state,
    r.remoteId ? `remote ${r.remoteId}` : 'not opened',
    `reviews ${r.reviewIds.join(',')}`,
    r.inflight ? `in flight: ${r.inflight}` : '',
    exp ? `NCMEC deletes it unfinished at ${exp.toISOString()}` : '',
    `retained until ${r.retainUntil}${r.legalHold ? ' (legal hold)' : ''}`,
    r.externalReference ? `reference ${r.externalReference}` : '',
    r.lastError ? `last error: ${r.lastError}` : '',
  ]
    .filter((x) => x !== '')
    .join('  ');
}

export async function reportCommand(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseCommandArgs(rest, {
    db: { type: 'string' },
    out: { type: 'string' },
    reporter: { type: 'string' },
    endpoint: { type: 'string' },
    test: { type: 'boolean' },
    production: { type: 'boolean' },
    batched: { type: 'boolean' },
    release: { type: 'boolean' },
    priority: { type: 'string' },
  });
  const store = await openServiceStore({ db: values.db as string | undefined });
  try {
    return await dispatch(sub, values, positionals, store, ctx);
  } finally {
    await store.close();
  }
}

async function dispatch(
  sub: string | undefined,
  values: Record<string, unknown>,
  positionals: string[],
  store: ServiceStore,
  ctx: CommandContext,
): Promise<ExitCode> {
  if (sub === 'ncmec') {
    const [action, ...args] = positionals;
    const endpoint = endpointOf(values);
    const client = async () => new NcmecClient({ endpoint, credentials: await loadCredentials(store) });
    if (action === 'credentials') {
      if (args[0] !== 'set' || args.length !== 1)
        throw new WardError('WARD_ERR_USAGE', 'ward report ncmec credentials set');
      await storeCredentials(store, {
        username: process.env.WARD_NCMEC_USERNAME ?? '',
        password: process.env.WARD_NCMEC_PASSWORD ?? '',
      });
      await store.appendAudit({
        actor: 'cli',
        action: 'report.credentials',
        target: 'ncmec',
        details: { stored: true },
      });
      await write(ctx.stdout, 'CyberTipline credentials stored (sealed)\n');
      return EXIT.OK;
    }
    const reviewIds = ids(args);
    const profile = await loadProfile(store, values.reporter as string | undefined);
    const req = { profile, ...(values.batched ? { batched: true } : {}) };
    if (action === 'build') {
      const xsd = await resolveXsd(endpoint, client);
      const { built, errors } = await buildValidated(store, reviewIds, req, xsd, new Date());
      const text = [
        built.reportXml,
        ...built.files.map((f) => f.fileDetailsXml('0', '00000000000000000000000000000000')),
      ].join('\n');
      if (values.out !== undefined) writeFileSync(String(values.out), text);
      else await write(ctx.stdout, text);
      if (errors.length > 0) {
        for (const e of errors) ctx.stderr.write(`ward: schema: ${e.document}: ${formatSchemaErrors(e.errors)}\n`);
        return EXIT.FOUND;
      }
      return EXIT.OK;
    }
    if (action === 'submit') {
      const c = await client();
      const xsd = await resolveXsd(endpoint, async () => c);
      const evidence = EvidenceStore.fromEnv(store);
      if (!evidence) {
        throw new WardError(
          'WARD_ERR_EVIDENCE',
          'WARD_EVIDENCE_KEY is not set: the files to upload are read from the evidence store',
        );
      }
      const sctx: SubmitContext = {
        store,
        actor: 'cli',
        client: c,
        xsdPath: xsd,
        readBytes: async (item) => {
          const e = item.evidenceId ? await evidence.get(item.evidenceId) : undefined;
          if (!e)
            throw new WardError('WARD_ERR_NOT_FOUND', `No kept copy of review item ${item.id}: it cannot be uploaded`);
          return e.bytes;
        },
      };
      const rec = await createNcmecReport(sctx, reviewIds, req);
      const done = await runNcmecReport(sctx, rec.id);
      await write(ctx.stdout, `${statusLine(done)}\n`);
      return done.state === 'finished' ? EXIT.OK : EXIT.ITEM_ERRORS;
    }
    throw new WardError(
      'WARD_ERR_USAGE',
      `Unknown ncmec action ${JSON.stringify(action ?? '')} (build, submit, credentials)`,
    );
  }
  if (sub === 'profile') {
    if (positionals[0] !== 'set' || positionals.length !== 2)
      throw new WardError('WARD_ERR_USAGE', 'ward report profile set FILE');
    const p = await loadProfile(store, positionals[1]);
    await store.putReportSetting(PROFILE_SETTING, JSON.stringify(parseReporterProfile(p)), new Date().toISOString());
    await store.appendAudit({ actor: 'cli', action: 'report.profile', target: 'ncmec', details: { set: true } });
    await write(ctx.stdout, 'reporter profile stored\n');
    return EXIT.OK;
  }
  if (sub === 'status') {
    if (positionals.length > 1) throw new WardError('WARD_ERR_USAGE', 'ward report status [<report-id>]');
    if (positionals.length === 1) {
      const [id] = ids(positionals, 'report id');
      const r = await store.getReport(id as number);
      if (!r) throw new WardError('WARD_ERR_NOT_FOUND', `No report ${id}`);
      const files = await store.reportFiles(r.id);
      await write(
        ctx.stdout,
        `${statusLine(r)}\n${files.map((f) => `  review ${f.reviewId}  ${f.state}${f.fileId ? `  file ${f.fileId}` : ''}`).join('\n')}\n`,
      );
      return EXIT.OK;
    }
    let after = 0;
    for (;;) {
      const page = await store.listReports({ afterId: after, limit: 500 });
      for (const r of page) await write(ctx.stdout, `${statusLine(r)}\n`);
      if (page.length < 500) break;
      after = page[page.length - 1]?.id ?? after;
    }
    return EXIT.OK;
  }
  if (sub === 'retract') {
    const [id] = ids(positionals, 'report id');
    if (positionals.length !== 1) throw new WardError('WARD_ERR_USAGE', 'ward report retract <report-id>');
    const r = await store.getReport(id as number);
    if (!r) throw new WardError('WARD_ERR_NOT_FOUND', `No report ${id}`);
    const c = new NcmecClient({ endpoint: r.endpoint, credentials: await loadCredentials(store) });
    const done = await retractNcmecReport(
      { store, actor: 'cli', client: c, xsdPath: '', readBytes: async () => Buffer.alloc(0) },
      r.id,
    );
    await write(ctx.stdout, `${statusLine(done)}\n`);
    return EXIT.OK;
  }
  if (sub === 'hold') {
    const [id] = ids(positionals, 'report id');
    const r = await setLegalHold({ store, actor: 'cli' }, id as number, values.release !== true);
    await write(ctx.stdout, `${statusLine(r)}\n`);
    return EXIT.OK;
  }
  if (sub === 'nca') {
    if (positionals[0] === 'reference') {
      const [, rid, urn] = positionals;
      const [id] = ids(rid ? [rid] : [], 'report id');
      if (!urn) throw new WardError('WARD_ERR_USAGE', 'ward report nca reference <report-id> <URN>');
      const { recordNcaReference } = await import('../../reporting/nca/export.js');
      const r = await recordNcaReference({ store, actor: 'cli' }, id as number, urn);
      await write(ctx.stdout, `${statusLine(r)}\n`);
      return EXIT.OK;
    }
    if (values.out === undefined) throw new WardError('WARD_ERR_USAGE', 'ward report nca <review-id>... --out DIR');
    const profile = await loadProfile(store, values.reporter as string | undefined);
    const exp = await buildNcaExport({ store, actor: 'cli' }, ids(positionals), {
      profile,
      ...(values.priority !== undefined ? { priority: String(values.priority) } : {}),
    });
    const files = writeNcaExport(exp, String(values.out));
    await write(ctx.stdout, `${statusLine(exp.record)}\n${files.map((f) => `  wrote ${f}`).join('\n')}\n`);
    return EXIT.OK;
  }
  throw new WardError(
    'WARD_ERR_USAGE',
    `Unknown report subcommand ${JSON.stringify(sub ?? '')} (ncmec, profile, status, retract, hold, nca)`,
  );
}
