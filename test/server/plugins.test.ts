/**
 * A plugin's signal type in the service, with no change to Ward: the test plugin of
 * test/plugins.test.ts (xorfold) is loaded, its entries go into a bank through the bank routes,
 * `/v1/match` detects its bare values and fingerprints uploads with its extractor, `/v1/scan`
 * reports and matches it, and confirming a review item adds its value to the block bank.
 */
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import { usePlugins } from '../../src/registry.js';
import { PROJECT_ROOT } from '../helpers/fixtures.js';
import { type Harness, startHarness } from './harness.js';
import { STORE_KINDS, skipUnavailable } from './stores.js';

const PLUGIN = join(PROJECT_ROOT, 'test', 'fixtures', 'plugins', 'xorfold.js');

function xorfold(bytes: Uint8Array): string {
  const out = [0, 0, 0, 0];
  for (let i = 0; i < bytes.length; i++) out[i & 3] = (out[i & 3] as number) ^ (bytes[i] as number);
  return `xf1-${out.map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

let image: Buffer;
beforeAll(async () => {
  await usePlugins([PLUGIN]);
  image = await sceneImage(3);
});

describe.each(STORE_KINDS)('a plugin signal type in the service on %s', (kind) => {
  skipUnavailable(kind);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('works in banks, /v1/match, /v1/scan and the review queue', async () => {
    h = await startHarness(kind, { queueMatches: true });
    const value = xorfold(image);
    expect((await h.call('admin', 'POST', '/v1/banks', { name: 'known' })).status).toBe(201);
    expect((await h.call('admin', 'POST', '/v1/banks', { name: 'confirmed' })).status).toBe(201);
    const added = await h.call('admin', 'POST', '/v1/banks/known/entries', {
      entries: [{ value, signal: 'xorfold', labels: ['stand-in'] }],
    });
    expect(added.status).toBe(200);
    expect(added.body.data.added).toBe(1);
    // Without a signal, its detect claims the bare value.
    const byDetect = await h.call('admin', 'POST', '/v1/banks/known/entries', {
      entries: [{ value: 'xf1-00000000' }],
    });
    expect(byDetect.body.data.added).toBe(1);

    // The route's schema lists the plugin's type: an explicit signal is accepted.
    const bare = await h.call('submitter', 'POST', '/v1/match', { hashes: [value] });
    expect(bare.status).toBe(200);
    expect(bare.body.data.results[0]).toMatchObject({ signal: 'xorfold', matches: [{ bank: 'known', distance: 0 }] });
    const typed = await h.call('submitter', 'POST', '/v1/match', { hashes: [value], signal: 'xorfold' });
    expect(typed.body.data.results[0].matches).toHaveLength(1);

    // An upload is fingerprinted by the plugin's extractor and matched on its signal.
    const upload = await h.call('submitter', 'POST', '/v1/match', image, { 'content-type': 'image/jpeg' });
    expect(upload.status).toBe(200);
    expect(JSON.stringify(upload.body.data)).toContain('xorfold');

    const scanned = await h.call('submitter', 'POST', '/v1/scan', image, { 'content-type': 'image/jpeg' });
    expect(scanned.status).toBe(200);
    expect(scanned.body.data.verdict).toBe('match');
    expect(scanned.body.data.items[0]).toMatchObject({
      verdict: 'match',
      signals: { xorfold: value },
      matches: [{ bank: 'known', signal: 'xorfold', distance: 0 }],
    });
    const reviewId = scanned.body.data.reviews[0]?.id;
    expect(reviewId).toBeDefined();

    const decided = await h.call('analyst', 'POST', `/v1/reviews/${reviewId}/decision`, {
      action: 'confirm',
      bank: 'confirmed',
    });
    expect(decided.status).toBe(200);
    expect(decided.body.data.decision.added).toContain('xorfold');
    const entries = (await h.call('analyst', 'GET', '/v1/banks/confirmed/entries')).body.data.entries;
    expect(entries.map((e: { signal: string; value: string }) => [e.signal, e.value])).toContainEqual([
      'xorfold',
      value,
    ]);
  });
});
