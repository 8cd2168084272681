/**
 * @module cli/commands/keys
 * `ward keys create|list|revoke`: API keys of the service. A new key is printed once (stdout);
 * only its hash is stored.
 */
import { WardError } from '../../errors.js';
import { createKey } from '../../server/auth.js';
import { openServiceStore } from '../../store/open.js';
import { ROLES, type Role } from '../../store/service.js';
import { parseCommandArgs, positiveInt } from '../args.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { parseFormat, RecordWriter, write } from '../output.js';

export const KEYS_USAGE = `Usage: ward keys <subcommand> [options]

  create --role admin|analyst|submitter [--name NAME] [--rate N] [--burst N] [--child-safety]
         [--format text|json]
                        prints the new key once (store it: only its hash is kept); --rate is
                        requests/s for this key (0: unlimited), --burst its bucket size;
                        --child-safety grants the child-safety data permission (evidence media,
                        prompts, report contents), which no role implies
  list [--format table|ndjson|json]
  revoke ID             the key stops working within 5 seconds everywhere (at once in this host's
                        service when revoked through the API)

Every subcommand takes --db PATH (default: $DATABASE_URL if it is postgres://…, else $WARD_DB, else
~/.local/share/ward/ward.db). Roles: submitters hash, match, scan and screen text; analysts work the
review queue and read banks and the audit log; admins do everything, including banks and keys.`;

export async function keysCommand(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseCommandArgs(rest, {
    db: { type: 'string' },
    role: { type: 'string' },
    name: { type: 'string' },
    rate: { type: 'string' },
    burst: { type: 'string' },
    'child-safety': { type: 'boolean' },
    format: { type: 'string' },
  });
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') {
    throw new WardError(
      'WARD_ERR_USAGE',
      `Unknown keys subcommand ${JSON.stringify(sub ?? '')} (create, list, revoke)`,
    );
  }
  if (sub === 'create') {
    const role = values.role as string | undefined;
    if (!role || !ROLES.includes(role as Role)) {
      throw new WardError('WARD_ERR_USAGE', `ward keys create needs --role ${ROLES.join('|')}`);
    }
    if (values.format !== undefined && values.format !== 'text' && values.format !== 'json') {
      throw new WardError('WARD_ERR_USAGE', 'Expected text or json for `--format`');
    }
  }
  const store = await openServiceStore({ db: values.db as string | undefined });
  try {
    if (sub === 'create') {
      const made = await createKey(store, values.role as Role, (values.name as string | undefined) ?? '', {
        rate: values.rate === undefined ? undefined : rateArg(values.rate as string),
        burst: values.burst === undefined ? undefined : positiveInt('--burst', values.burst as string),
        childSafety: values['child-safety'] === true,
      });
      await store.appendAudit({
        actor: 'cli',
        action: 'key.create',
        target: `key:${made.record.id}`,
        details: { role: made.record.role, name: made.record.name, childSafety: made.record.childSafety },
      });
      if (values.format === 'json') {
        await write(
          ctx.stdout,
          `${JSON.stringify({ key: made.key, id: made.record.id, role: made.record.role, name: made.record.name, childSafety: made.record.childSafety })}\n`,
        );
      } else {
        await write(ctx.stdout, `${made.key}\n`);
      }
      ctx.stderr.write(
        `ward: created ${made.record.role} key ${made.record.id}${made.record.childSafety ? ' with the child-safety data permission' : ''}; it is shown only this once\n`,
      );
      return EXIT.OK;
    }
    if (sub === 'list') {
      const writer = new RecordWriter<Record<string, unknown>>(
        ctx.stdout,
        parseFormat(values.format as string | undefined, ctx.stdoutIsTTY),
        (k) =>
          `${String(k.id).padEnd(14)}${String(k.role).padEnd(11)}${String(k.revokedAt ? 'revoked' : 'active').padEnd(9)}${String(k.createdAt).padEnd(26)}${k.name}`,
        `${'ID'.padEnd(14)}${'ROLE'.padEnd(11)}${'STATUS'.padEnd(9)}${'CREATED'.padEnd(26)}NAME`,
      );
      for (const { hash: _h, ...k } of await store.listKeys()) await writer.add(k);
      await writer.end();
      return EXIT.OK;
    }
    if (positionals.length !== 1) throw new WardError('WARD_ERR_USAGE', 'ward keys revoke needs one key id');
    const id = positionals[0] as string;
    if (!(await store.revokeKey(id, new Date().toISOString()))) {
      throw new WardError('WARD_ERR_NOT_FOUND', `No active key ${JSON.stringify(id.slice(0, 40))}`);
    }
    await store.appendAudit({ actor: 'cli', action: 'key.revoke', target: `key:${id}` });
    await write(ctx.stdout, `revoked key ${id}\n`);
    return EXIT.OK;
  } finally {
    await store.close();
  }
}

function rateArg(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) {
    throw new WardError(
      'WARD_ERR_USAGE',
      `Expected requests per second (0: unlimited) for \`--rate\` but received ${JSON.stringify(value)}`,
    );
  }
  return n;
}
