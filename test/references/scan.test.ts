/**
 * References in `scan()`, end to end: a post whose words are clean but which names a model in a
 * bank (by SHA-256, AutoV2), or an image hash in a bank (MD5, PDQ), is `flag` with the reason
 * `resource-match`; a negative bank suppresses it; the reference findings are `info` and carry no
 * text; a long post read in chunks is searched whole; a saved page's `href` links become
 * `url-sha256` signals matched as their own type (a bank match); banked file names (`<lora:…>`
 * tags) and hub models (`model-name`, `model-ref`) flag the post. Posts are benign; hashes made up.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ParsedEntry } from '../../src/banks/types.js';
import { Matcher } from '../../src/match/matcher.js';
import { activeRegistry } from '../../src/registry.js';
import { DEFAULT_SCAN_CONFIG } from '../../src/scan/config.js';
import { scan } from '../../src/scan/pipeline.js';
import type { ItemReport } from '../../src/scan/types.js';
import { modelNameSha256 } from '../../src/signals/model-refs.js';
import { urlSha256 } from '../../src/signals/url.js';
import { SqliteStore } from '../../src/store/sqlite.js';

const LORA_SHA = '5e'.repeat(32);
const AUTOV2 = '45a21ea00a';
const IMAGE_MD5 = '0f1e'.repeat(8);
const IMAGE_PDQ = 'f8f8f0cee0f4e0e8b0d8b8e8c0f0e0f0f8f8f0cee0f4e0e8b0d8b8e8c0f0e0f0';

const dir = mkdtempSync(join(tmpdir(), 'ward-references-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Bank rows as a bank file import gives them: each value parsed by its signal type (a file name hashed). */
async function* entries(rows: [string, string][]): AsyncGenerator<ParsedEntry> {
  let line = 0;
  for (const [signal, value] of rows)
    yield { signal, value: activeRegistry().requireSignalType(signal).parse(value), labels: ['test'], line: ++line };
}

async function storeWith(banks: Record<string, [string, string][]>, negative: string[] = []): Promise<SqliteStore> {
  const store = SqliteStore.open(':memory:');
  for (const [name, rows] of Object.entries(banks)) {
    store.createBank(name, negative.includes(name) ? { kind: 'negative' } : {});
    await store.importEntries(name, entries(rows));
  }
  return store;
}

async function run(files: string[], store: SqliteStore): Promise<ItemReport[]> {
  const out: ItemReport[] = [];
  const matcher = Matcher.open(store, { snapshotDir: null });
  for await (const r of scan(files, { matcher, jobs: 1, config: DEFAULT_SCAN_CONFIG })) out.push(r);
  return out;
}

describe('references in scan', () => {
  it('a clean post naming a banked LoRA by SHA-256, a model by AutoV2, an image by MD5 and PDQ is flagged; others stay clean', async () => {
    const files = [
      file('post-sha.txt', `Nice results with this one, sha256: ${LORA_SHA} works well on landscapes.`),
      file('post-autov2.txt', `Settings: Steps 20, Model hash: ${AUTOV2}, a quiet harbour at dawn.`),
      file('post-md5.txt', `Reposting the picture (md5 ${IMAGE_MD5}) of the garden.`),
      file('post-pdq.txt', `PDQ ${IMAGE_PDQ} for the record.`),
      file('post-other.txt', `Another model, sha256 ${'7a'.repeat(32)}, a castle in fog.`),
      file('post-plain.txt', 'A castle in fog, painted in watercolour.'),
    ];
    const store = await storeWith({
      'bad-models': [
        ['sha256', LORA_SHA],
        ['autov2', AUTOV2],
      ],
      'known-images': [
        ['md5', IMAGE_MD5],
        ['pdq', IMAGE_PDQ],
      ],
    });
    const [sha, autov2, md5, pdq, other, plain] = await run(files, store);
    for (const r of [sha, autov2, md5, pdq]) {
      expect(r?.verdict, r?.path).toBe('flag');
      expect(r?.reasons, r?.path).toEqual([expect.objectContaining({ rule: 'resource-match', score: 0.9 })]);
      // The words are clean: the text screener found nothing; only reference findings (info).
      expect(r?.findings.every((f) => f.type.startsWith('reference.') && f.severity === 'info')).toBe(true);
    }
    expect(sha?.matches).toEqual([expect.objectContaining({ bank: 'bad-models', signal: 'sha256', value: LORA_SHA })]);
    expect(autov2?.matches).toEqual([expect.objectContaining({ bank: 'bad-models', signal: 'autov2' })]);
    expect(md5?.matches).toEqual([expect.objectContaining({ bank: 'known-images', signal: 'md5' })]);
    expect(md5?.reasons[0]?.message).toContain('an image hash');
    expect(pdq?.matches).toEqual([expect.objectContaining({ bank: 'known-images', signal: 'pdq', distance: 0 })]);
    // The item's own digests are its own, never a hash written in it.
    expect(md5?.signals.md5).not.toBe(IMAGE_MD5);
    expect(sha?.signals.resourceHashes).toContain(`sha256:${LORA_SHA}`);
    expect(sha?.findings).toEqual([
      expect.objectContaining({ type: 'reference.hash', data: expect.objectContaining({ count: 1 }) }),
    ]);
    expect(JSON.stringify(sha?.findings)).not.toContain('landscapes');
    expect(other?.verdict).toBe('clean');
    expect(other?.findings.map((f) => f.type)).toEqual(['reference.hash']);
    expect(plain?.verdict).toBe('clean');
    expect(plain?.findings).toEqual([]);
    expect(plain?.signals.resourceHashes).toBeUndefined();
    store.close();
  });

  it('a negative bank suppresses the reference match', async () => {
    const post = file('post-neg.txt', `sha256 ${LORA_SHA}`);
    const store = await storeWith(
      {
        'bad-models': [['sha256', LORA_SHA]],
        allowed: [['sha256', LORA_SHA]],
      },
      ['allowed'],
    );
    const [r] = await run([post], store);
    expect(r?.verdict).toBe('clean');
    expect(r?.suppressedBy).toEqual([expect.objectContaining({ bank: 'allowed' })]);
    store.close();
  });

  it('a long post read in chunks (4 MB) is searched whole: a hash at the very end flags it', async () => {
    const filler = 'a quiet harbour at dawn, boats and gulls. '.repeat(100_000);
    const post = file('long.txt', `${filler}\nsee AutoV2 ${AUTOV2}\n`);
    const store = await storeWith({ 'bad-models': [['autov2', AUTOV2]] });
    const [r] = await run([post], store);
    expect(r?.size).toBeGreaterThan(4_000_000);
    expect(r?.verdict).toBe('flag');
    expect(r?.findings.find((f) => f.type === 'reference.model')?.data).toMatchObject({
      spans: [{ start: filler.length + 1 + 'see AutoV2 '.length }],
    });
    store.close();
  });

  it('a saved page: href links become url-sha256 signals, matched against a URL list', async () => {
    const page = file(
      'page.html',
      '<html><body><p>Gardening tips</p><a href="https://example.org/listed?id=1&amp;x=2">more</a> ' +
        '<a href="//example.net/other">other</a></body></html>',
    );
    const listed = urlSha256('https://example.org/listed?id=1&x=2') as string;
    const store = await storeWith({ 'url-list': [['url-sha256', listed]] });
    const [r] = await run([page], store);
    expect(r?.contentType).toBe('text');
    expect(r?.signals['url-sha256']).toEqual([listed, urlSha256('http://example.net/other')]);
    expect(r?.findings.map((f) => f.type)).toEqual(['reference.url', 'reference.url']);
    // A link is matched as its own signal type by the matcher: a block-bank hit is a bank match.
    expect(r?.verdict).toBe('match');
    expect(r?.reasons).toEqual([expect.objectContaining({ rule: 'bank-match', ref: 'url-list' })]);
    expect(r?.matches).toEqual([expect.objectContaining({ bank: 'url-list', signal: 'url-sha256' })]);
    store.close();
  });

  it('a post naming a banked model by lora tag (model-name) or hub URL (model-ref) is flagged', async () => {
    const name = modelNameSha256('example_bad_lora') as string;
    const post = file('post-names.txt', 'Try <lora:Example-Bad-Lora:0.7> on a seaside town.');
    const hub = file(
      'post-hub.txt',
      'From https://civitai.com/models/424242/some-slug?modelVersionId=7 for portraits.',
    );
    const store = await storeWith({
      'bad-models': [
        ['model-name', 'example_bad_lora.safetensors'],
        ['model-ref', 'civitai:model:424242'],
      ],
    });
    const [named, linked] = await run([post, hub], store);
    expect(named?.signals.resourceHashes).toEqual([`model-name:${name}`]);
    expect(linked?.signals.resourceHashes).toEqual(['model-ref:civitai:model:424242', 'model-ref:civitai:version:7']);
    for (const r of [named, linked]) {
      expect(r?.verdict).toBe('flag');
      expect(r?.reasons).toEqual([expect.objectContaining({ rule: 'resource-match' })]);
    }
    store.close();
  });
});
