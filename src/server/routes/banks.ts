/**
 * @module server/routes/banks
 * Banks: list, create, stats, delete, import (streamed, one transaction), export (streamed),
 * entries (paged, added, removed). Reading is for analysts, changing for admins.
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { detectSignal } from '../../banks/formats/detect.js';
import { readBankFile } from '../../banks/formats/read.js';
import { writeBankFile } from '../../banks/formats/write.js';
import { BANK_FILE_FORMATS, type BankFileFormat, type ParsedEntry } from '../../banks/types.js';
import { WardError } from '../../errors.js';
import type { StoredEntry } from '../../store/types.js';
import { addRoute, type RoutesOptions, type ServerContext } from '../context.js';
import { ok } from '../http.js';
import { ADMIN, BANK, bankParams, IMPORT_REPORT, int, obj, READ, signalEnum, str } from './schemas.js';

/** Banks: list, create, stats, delete, import, export, entries. */
export async function bankRoutes(app: FastifyInstance, { ctx }: RoutesOptions): Promise<void> {
  const route = (doc: Parameters<typeof addRoute>[2], handler: Parameters<typeof addRoute>[3]) =>
    addRoute(app, ctx, doc, handler);
  const { store } = ctx;
  route(
    {
      method: 'GET',
      url: '/v1/banks',
      summary: 'List banks with their entry counts',
      tags: ['banks'],
      roles: READ,
      accepts: [],
      response: { 200: obj({ banks: { type: 'array', items: BANK } }) },
    },
    async () => ok({ banks: await store.listBanks() }),
  );

  route(
    {
      method: 'POST',
      url: '/v1/banks',
      summary: 'Create a bank (block, or negative: known false positives)',
      tags: ['banks'],
      roles: ADMIN,
      accepts: ['json'],
      body: obj({ name: str(64), kind: { enum: ['block', 'negative'] }, pdqDistance: int(0, 256) }, ['name']),
      response: { 201: BANK },
    },
    async (req, reply) => {
      const body = req.body as { name: string; kind?: 'block' | 'negative'; pdqDistance?: number };
      // Names are path segments in these routes and file names in exports: `.`, `..`, slashes and
      // control characters are refused.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
      if (/^\.{1,2}$/.test(body.name.trim()) || /[/\\\u0000-\u001f\u007f]/.test(body.name) || body.name.trim() === '') {
        throw new WardError(
          'WARD_ERR_REQUEST_INVALID',
          'A bank name may not be "." or "..", or hold slashes or control characters',
        );
      }
      const bank = await store.createBank(body.name, { kind: body.kind, pdqDistance: body.pdqDistance });
      await ctx.banksChanged();
      await ctx.audit(req, 'bank.create', bank.name, { kind: bank.kind, pdqDistance: bank.pdqDistance });
      void reply.status(201);
      return ok(bank);
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/banks/:name',
      summary: 'A bank and its counts by signal type and label',
      tags: ['banks'],
      roles: READ,
      accepts: [],
      params: bankParams,
      response: { 200: { type: 'object' } },
    },
    async (req) => ok(await store.stats((req.params as { name: string }).name)),
  );

  route(
    {
      method: 'DELETE',
      url: '/v1/banks/:name',
      summary: 'Delete a bank and its entries',
      tags: ['banks'],
      roles: ADMIN,
      accepts: [],
      params: bankParams,
      response: { 200: obj({ deleted: { type: 'string' } }) },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      if (!(await store.deleteBank(name))) {
        throw new WardError('WARD_ERR_BANK_NOT_FOUND', `No bank named ${JSON.stringify(name.slice(0, 80))}`);
      }
      await ctx.banksChanged();
      await ctx.audit(req, 'bank.delete', name);
      return ok({ deleted: name });
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/banks/:name/import',
      summary: 'Import a bank file (streamed; one transaction)',
      description:
        'The body is the file (csv, tsv, ndjson, lines, te-csv), read as a stream. An invalid line applies ' +
        'nothing (400 WARD_ERR_BANK_IMPORT_FAILED) unless skipInvalid; re-importing is idempotent.',
      tags: ['banks'],
      roles: ADMIN,
      accepts: ['bankfile'],
      params: bankParams,
      querystring: obj({
        format: { enum: BANK_FILE_FORMATS },
        signal: signalEnum(),
        replace: { type: 'boolean', default: false },
        skipInvalid: { type: 'boolean', default: false },
        source: str(200),
      }),
      response: { 200: IMPORT_REPORT },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      const q = req.query as {
        format?: BankFileFormat;
        signal?: string;
        replace?: boolean;
        skipInvalid?: boolean;
        source?: string;
      };
      if (!(await store.getBank(name))) {
        throw new WardError('WARD_ERR_BANK_NOT_FOUND', `No bank named ${JSON.stringify(name.slice(0, 80))}`);
      }
      const chunks = ctx.bodyStream(req, ctx.limits.importBytes, ctx.limits.importTotalMs);
      const entries = readBankFile(chunks, { format: q.format, signal: q.signal });
      const report = await store.importEntries(name, entries, {
        replace: q.replace === true,
        skipInvalid: q.skipInvalid === true,
        source: q.source ?? 'api',
      });
      if (!report.applied) {
        const first = report.invalid[0];
        throw new WardError(
          'WARD_ERR_BANK_IMPORT_FAILED',
          `${report.invalidCount} invalid line(s), nothing imported${first ? ` (line ${first.line}: ${first.message.slice(0, 200)})` : ''}; use skipInvalid=true to import the valid lines`,
          { invalidCount: report.invalidCount, ...(first ? { line: first.line } : {}) },
        );
      }
      await ctx.banksChanged();
      const { invalid, ...counts } = report;
      await ctx.audit(req, 'bank.import', name, {
        added: counts.added,
        updated: counts.updated,
        deleted: counts.deleted,
        invalid: counts.invalidCount,
        replace: q.replace === true,
      });
      return ok({ ...counts, invalid: invalid.slice(0, 20) });
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/banks/:name/export',
      summary: 'Export a bank as a file (streamed)',
      tags: ['banks'],
      roles: READ,
      accepts: [],
      params: bankParams,
      querystring: obj({ format: { enum: BANK_FILE_FORMATS, default: 'ndjson' } }),
      produces: ['application/x-ndjson', 'text/csv', 'text/tab-separated-values', 'text/plain'],
    },
    async (req, reply) => {
      const { name } = req.params as { name: string };
      const format = ((req.query as { format?: BankFileFormat }).format ?? 'ndjson') as BankFileFormat;
      await store.stats(name); // 404 before anything is sent
      const out = new PassThrough();
      const type: Record<BankFileFormat, string> = {
        ndjson: 'application/x-ndjson',
        csv: 'text/csv',
        'te-csv': 'text/csv',
        tsv: 'text/tab-separated-values',
        lines: 'text/plain',
      };
      writeBankFile(pagedEntries(ctx, name), format, out).then(
        () => out.end(),
        (e) => out.destroy(e as Error),
      );
      void reply
        .type(`${type[format]}; charset=utf-8`)
        .header(
          'content-disposition',
          `attachment; filename="${name}.${format === 'ndjson' ? 'ndjson' : format === 'lines' ? 'txt' : format === 'tsv' ? 'tsv' : 'csv'}"`,
        );
      return reply.send(out);
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/banks/:name/entries',
      summary: 'Entries of a bank, in id order (page with `after`)',
      tags: ['banks'],
      roles: READ,
      accepts: [],
      params: bankParams,
      querystring: obj({
        after: int(0, Number.MAX_SAFE_INTEGER),
        limit: int(1, 1000, { default: 100 }),
        signal: signalEnum(),
      }),
      response: {
        200: obj({ entries: { type: 'array', items: { type: 'object' } }, next: { type: ['integer', 'null'] } }),
      },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      const q = req.query as { after?: number; limit?: number; signal?: string };
      const limit = q.limit ?? 100;
      const entries = await store.listEntries(name, { afterId: q.after ?? 0, limit, signal: q.signal });
      return ok({ entries, next: entries.length === limit ? (entries[entries.length - 1] as StoredEntry).id : null });
    },
  );

  route(
    {
      method: 'POST',
      url: '/v1/banks/:name/entries',
      summary: 'Add entries to a bank (one transaction)',
      tags: ['banks'],
      roles: ADMIN,
      accepts: ['json'],
      params: bankParams,
      body: obj(
        {
          entries: {
            type: 'array',
            minItems: 1,
            maxItems: 10_000,
            items: obj(
              {
                value: str(256),
                signal: signalEnum(),
                labels: { type: 'array', maxItems: 32, items: str(128, { minLength: 1 }) },
                id: str(256),
              },
              ['value'],
            ),
          },
        },
        ['entries'],
      ),
      response: { 200: IMPORT_REPORT },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      const body = req.body as { entries: { value: string; signal?: string; labels?: string[]; id?: string }[] };
      const parsed: ParsedEntry[] = body.entries.map((e, i) => {
        try {
          const { signal, value } = detectSignal(e.value, e.signal);
          return {
            signal,
            value,
            labels: [...new Set(e.labels ?? [])].sort(),
            ...(e.id !== undefined ? { sourceId: e.id } : {}),
            line: i + 1,
          };
        } catch (err) {
          throw new WardError('WARD_ERR_SIGNAL_INVALID', `entries[${i}]: ${(err as Error).message}`, { index: i });
        }
      });
      const report = await store.importEntries(name, iter(parsed), { source: 'api' });
      await ctx.banksChanged();
      await ctx.audit(req, 'bank.entries.add', name, { added: report.added, updated: report.updated });
      const { invalid: _i, ...counts } = report;
      return ok(counts);
    },
  );

  route(
    {
      method: 'DELETE',
      url: '/v1/banks/:name/entries/:id',
      summary: 'Remove one entry from a bank',
      tags: ['banks'],
      roles: ADMIN,
      accepts: [],
      params: obj({ name: str(200), id: int(1, Number.MAX_SAFE_INTEGER) }, ['name', 'id']),
      response: { 200: obj({ deleted: { type: 'integer' } }) },
    },
    async (req) => {
      const { name, id } = req.params as { name: string; id: number };
      const n = await store.deleteEntries(name, [id]);
      if (n === 0) throw new WardError('WARD_ERR_NOT_FOUND', `Bank ${name.slice(0, 80)} has no entry ${id}`);
      await ctx.banksChanged();
      await ctx.audit(req, 'bank.entries.delete', name, { entryId: id });
      return ok({ deleted: id });
    },
  );
}

async function* iter<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

async function* pagedEntries(ctx: ServerContext, name: string): AsyncGenerator<StoredEntry> {
  let after = 0;
  for (;;) {
    const page = await ctx.store.listEntries(name, { afterId: after, limit: 10_000 });
    yield* page;
    if (page.length < 10_000) return;
    after = (page[page.length - 1] as StoredEntry).id;
  }
}
