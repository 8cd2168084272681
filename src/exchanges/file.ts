/**
 * @module exchanges/file
 * The `file` connector: a hash list in any bank format (csv, tsv, ndjson, lines, te-csv) at a local
 * path or an HTTPS URL, synced as a whole: entries not in it any more are deleted. Over HTTP(S) it
 * sends If-None-Match with the last ETag, and a 304 changes nothing; a local file is re-read when
 * its size or modification time (or its SHA-256) changed. Entry ids: the file's id column when it
 * has one, else `signal:value`. An invalid line fails the sync (nothing is applied).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BankFileFormat } from '../banks/types.js';
import { WardError } from '../errors.js';
import type { ExchangeConnector, ExchangeEntry, ExchangePage, FetchContext } from './types.js';

interface FileCheckpoint {
  etag?: string;
  sha256?: string;
}

async function* fetchFile(ctx: FetchContext): AsyncGenerator<ExchangePage> {
  const where = ctx.config.endpoint ?? ctx.config.path;
  if (!where) throw new WardError('WARD_ERR_CONFIG_INVALID', 'The file exchange needs --endpoint (a path or URL)');
  const prev = (ctx.checkpoint ?? {}) as FileCheckpoint;
  let body: Buffer;
  let etag: string | undefined;
  if (/^https?:\/\//i.test(where)) {
    const headers: Record<string, string> = {};
    if (prev.etag) headers['if-none-match'] = prev.etag;
    const token = (ctx.credentials as { bearer?: string }).bearer;
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await ctx.fetch(where, { headers, maxResponseBytes: 1024 * 1024 * 1024, timeoutMs: 120_000 });
    if (res.status === 304) {
      yield { entries: [], upToDate: true };
      return;
    }
    if (res.status !== 200) {
      throw new WardError('WARD_ERR_EXCHANGE_FAILED', `The exchange answered HTTP ${res.status}`, {
        status: res.status,
      });
    }
    if (res.truncated) throw new WardError('WARD_ERR_EXCHANGE_FAILED', 'The list is larger than 1 GiB');
    body = res.body;
    const e = res.headers.etag;
    etag = typeof e === 'string' ? e : undefined;
  } else {
    await stat(where).catch((cause) => {
      throw new WardError('WARD_ERR_EXCHANGE_FAILED', 'The list file cannot be read', {}, cause);
    });
    body = await readFile(where);
  }
  const sha256 = createHash('sha256').update(body).digest('hex');
  if (prev.sha256 === sha256) {
    yield { entries: [], checkpoint: { etag, sha256 }, upToDate: true };
    return;
  }
  const now = ctx.now().toISOString();
  const entries: ExchangeEntry[] = [];
  const options = {
    ...(ctx.config.format ? { format: ctx.config.format as BankFileFormat } : {}),
    ...(ctx.config.signal ? { signal: ctx.config.signal } : {}),
  };
  type Live = { entryId: string; signals: { signal: string; value: string }[]; labels: string[]; updated: string };
  const byId = new Map<string, Live>();
  // Loaded here: the bank readers import the built-in plugin, which imports this module.
  const { readBankFile } = await import('../banks/formats/read.js');
  for await (const row of readBankFile(
    (async function* () {
      yield body;
    })(),
    options,
  )) {
    if ('code' in row) {
      throw new WardError('WARD_ERR_EXCHANGE_FAILED', `The list has an invalid line ${row.line}: ${row.message}`);
    }
    const entryId = row.sourceId ?? `${row.signal}:${row.value}`;
    const got = byId.get(entryId);
    if (got) {
      got.signals.push({ signal: row.signal, value: row.value });
      got.labels = [...new Set([...got.labels, ...row.labels])];
    } else {
      const e: Live = {
        entryId,
        signals: [{ signal: row.signal, value: row.value }],
        labels: row.labels,
        updated: now,
      };
      byId.set(entryId, e);
      entries.push(e);
    }
  }
  yield { entries, checkpoint: { etag, sha256 }, upToDate: true, complete: true };
}

export const fileConnector: ExchangeConnector = {
  name: 'file',
  kind: 'fetch',
  description: 'A hash list (any bank format) at a local path or an HTTPS URL, re-read when it changes',
  settings: {
    format: 'csv, tsv, ndjson, lines or te-csv (default: detected)',
    signal: 'The signal type of every row, when values are ambiguous',
  },
  credentialFields: [],
  configure(settings) {
    for (const k of Object.keys(settings)) {
      if (!['format', 'signal', 'endpoint', 'path'].includes(k)) {
        throw new WardError('WARD_ERR_CONFIG_INVALID', `Unknown file setting ${JSON.stringify(k.slice(0, 40))}`);
      }
    }
    if (!settings.endpoint && !settings.path) {
      throw new WardError('WARD_ERR_CONFIG_INVALID', 'The file exchange needs --endpoint (a path or URL)');
    }
    const out = { ...settings };
    // A local path is kept absolute: later syncs may run from another directory (ward serve).
    for (const k of ['endpoint', 'path'] as const) {
      const v = out[k];
      if (v !== undefined && !/^https?:\/\//i.test(v)) out[k] = resolve(v);
    }
    return out;
  },
  fetch: fetchFile,
};
