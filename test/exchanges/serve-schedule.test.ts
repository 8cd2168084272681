/** `ward serve` syncs hash exchanges every WARD_EXCHANGE_SYNC_SECONDS, and its live index matches what came in. */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sealSecret } from '../../src/secrets/index.js';
import { startService } from '../../src/server/serve.js';
import { SqliteServiceStore } from '../../src/store/sqlite-service.js';
import { tempDir } from '../helpers/cli.js';
import { type FakeNcmec, startFakeNcmec } from './fake-ncmec.js';

let fake: FakeNcmec;
const saved = { key: process.env.WARD_SECRET_KEY, allow: process.env.WARD_EGRESS_ALLOW };
beforeAll(async () => {
  process.env.WARD_SECRET_KEY = randomBytes(32).toString('hex');
  process.env.WARD_EGRESS_ALLOW = '127.0.0.1';
  fake = await startFakeNcmec();
});
afterAll(async () => {
  await fake.close();
  process.env.WARD_SECRET_KEY = saved.key;
  process.env.WARD_EGRESS_ALLOW = saved.allow;
});

it('syncs on a schedule; new entries match in the running service without a restart', async () => {
  const dir = tempDir();
  const db = join(dir, 'ward.db');
  const md5 = randomBytes(16).toString('hex');
  fake.records = [
    {
      member: '5',
      id: 'a',
      media: 'image',
      timestamp: '2024-01-02T00:00:00Z',
      classification: 'A1',
      fingerprints: { md5 },
    },
  ];
  const setup = SqliteServiceStore.open(db);
  await setup.createBank('nc');
  await setup.insertExchange({
    name: 'nc',
    type: 'ncmec',
    bank: 'nc',
    config: { endpoint: fake.url, environment: 'industry', start: '2024-01-01T00:00:00Z', windowSeconds: '31536000' },
    credentials: sealSecret(JSON.stringify({ username: 'user', password: 'pass' })),
  });
  await setup.close();
  const running = await startService({
    db,
    port: 0,
    env: { ...process.env, WARD_EXCHANGE_SYNC_SECONDS: '1', WARD_BANK_POLL_MS: '100' },
  });
  try {
    const live = running.server.context.live;
    await expect
      .poll(async () => (await live.match({ md5 })).matches[0]?.exchange, { timeout: 10_000, interval: 100 })
      .toEqual({ name: 'nc', entryId: '5/a' });
    const status = await running.store.getExchange('nc');
    expect(status?.upToDate).toBe(true);
    expect((await running.store.listAudit({ limit: 10, action: 'exchange.sync' })).length).toBeGreaterThan(0);
  } finally {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
