/**
 * @module cli/commands/audit
 * `ward audit verify|list`: the service's append-only audit log. `verify` recomputes the hash
 * chain and names the first record that was edited, removed or inserted.
 */
import { auditKeyFromEnv, signAuditHead } from '../../audit/chain.js';
import { auditRecords, verifyStoreAudit } from '../../audit/log.js';
import { WardError } from '../../errors.js';
import { openServiceStore } from '../../store/open.js';
import type { AuditRecord } from '../../store/service.js';
import { parseCommandArgs, positiveInt } from '../args.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { parseFormat, RecordWriter, write } from '../output.js';

export const AUDIT_USAGE = `Usage: ward audit <subcommand> [options]

  verify [--head HEAD]   recompute the hash chain; exit 0 if intact, 2 if a record was edited,
                         removed or inserted (or, with --head, if records after HEAD were cut off);
                         HEAD is a record hash or a signed head from \`ward audit head\`
  head                   print the newest record as a signed head (needs WARD_AUDIT_KEY)
  migrate-key            start keying an existing unkeyed chain: appends the first record chained
                         with WARD_AUDIT_KEY (unkeyed records are accepted only before it)
  list [--after N] [--limit N] [--action A] [--format table|ndjson|json]

Every subcommand takes --db PATH (default: $DATABASE_URL if it is postgres://…, else $WARD_DB, else
~/.local/share/ward/ward.db). Note the head hash that verify prints somewhere else: with it, a later
verify also detects records removed from the end.`;

export async function auditCommand(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseCommandArgs(rest, {
    db: { type: 'string' },
    head: { type: 'string' },
    after: { type: 'string' },
    limit: { type: 'string' },
    action: { type: 'string' },
    format: { type: 'string' },
  });
  if (sub !== 'verify' && sub !== 'list' && sub !== 'head' && sub !== 'migrate-key') {
    throw new WardError(
      'WARD_ERR_USAGE',
      `Unknown audit subcommand ${JSON.stringify(sub ?? '')} (verify, list, head, migrate-key)`,
    );
  }
  if (positionals.length > 0) throw new WardError('WARD_ERR_USAGE', `ward audit ${sub} takes no arguments`);
  const head = values.head as string | undefined;
  if (head !== undefined && !/^([0-9a-f]{64}|\d{1,15}\.[0-9a-f]{64}\.[0-9a-f]{64})$/.test(head)) {
    throw new WardError('WARD_ERR_USAGE', '--head must be a 64-hex record hash or a signed head (ward audit head)');
  }
  const store = await openServiceStore({ db: values.db as string | undefined });
  try {
    if (sub === 'head' || sub === 'migrate-key') {
      const key = auditKeyFromEnv();
      if (!key)
        throw new WardError(
          'WARD_ERR_USAGE',
          `ward audit ${sub} needs WARD_AUDIT_KEY (32 random bytes, hex or base64)`,
        );
      if (sub === 'migrate-key') {
        await store.appendAudit({ actor: 'cli', action: 'audit.keyed', target: 'audit_log', details: {} });
      }
      const r = await verifyStoreAudit(store, undefined, key);
      if (!r.ok || !r.head) {
        throw new WardError(
          'WARD_ERR_AUDIT_TAMPERED',
          `The audit log does not verify${r.broken ? ` (record ${r.broken.seq}: ${r.broken.reason})` : ': it is empty'}`,
        );
      }
      if ((r.keyed ?? 0) === 0) {
        throw new WardError(
          'WARD_ERR_USAGE',
          'The audit log has no keyed record yet: run ward audit migrate-key first',
        );
      }
      await write(ctx.stdout, `${signAuditHead(r.head, key)}\n`);
      return EXIT.OK;
    }
    if (sub === 'verify') {
      const r = await verifyStoreAudit(store, head);
      if (r.ok) {
        await write(
          ctx.stdout,
          `audit log verified: ${r.records} record(s)${r.head ? `, head ${r.head.seq} ${r.head.hash}` : ''}${r.keyed !== undefined ? ` (${r.keyed} keyed, ${r.unkeyed} unkeyed before them)` : ''}\n`,
        );
        return EXIT.OK;
      }
      await write(ctx.stdout, `audit log BROKEN at record ${r.broken?.seq}: ${r.broken?.reason}\n`);
      throw new WardError(
        'WARD_ERR_AUDIT_TAMPERED',
        `The audit log does not verify (record ${r.broken?.seq}: ${r.broken?.reason})`,
      );
    }
    const writer = new RecordWriter<AuditRecord>(
      ctx.stdout,
      parseFormat(values.format as string | undefined, ctx.stdoutIsTTY),
      (r) =>
        `${String(r.seq).padStart(6)}  ${r.at}  ${r.actor.padEnd(20)}  ${r.action.padEnd(20)}  ${r.target}  ${JSON.stringify(r.details)}`,
    );
    const after = values.after === undefined ? 0 : Number(values.after);
    if (!Number.isSafeInteger(after) || after < 0)
      throw new WardError('WARD_ERR_USAGE', '--after must be a record number');
    const limit =
      values.limit === undefined ? Number.POSITIVE_INFINITY : positiveInt('--limit', values.limit as string);
    let n = 0;
    for await (const r of auditRecords(store)) {
      if (r.seq <= after || (values.action !== undefined && r.action !== values.action)) continue;
      if (n++ >= limit) break;
      await writer.add(r);
    }
    await writer.end();
    return EXIT.OK;
  } finally {
    await store.close();
  }
}
