/** `ward exchange` end to end (the built CLI in child processes), a sync SIGKILLed mid-run included. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceStore } from '../../src/store/service.js';
import { runWard, tempDir } from '../helpers/cli.js';
import { PROJECT_ROOT } from '../helpers/fixtures.js';
import { type OpenedStore, openStore, STORE_KINDS, skipUnavailable } from '../server/stores.js';
import { type FakeNcmec, type FakeRecord, startFakeNcmec } from './fake-ncmec.js';

const hex = (n: number) => randomBytes(n).toString('hex');
const SECRET = `pw-${hex(8)}`;
const ENV = { WARD_SECRET_KEY: randomBytes(32).toString('hex'), WARD_EGRESS_ALLOW: '127.0.0.1' };

function records(): FakeRecord[] {
  const out: FakeRecord[] = [];
  for (let i = 0; i < 40; i++) {
    out.push({
      member: '7',
      id: `r${i}`,
      media: 'image',
      classification: 'A1',
      timestamp: new Date(Date.parse('2024-01-01T00:10:00Z') + i * 3 * 3600_000).toISOString(),
      fingerprints: { md5: hex(16), pdq: hex(32) },
    });
  }
  for (const i of [2, 9, 17]) {
    out.push({ member: '7', id: `r${i}`, media: 'image', deleted: true, timestamp: '2024-01-06T00:00:00Z' });
  }
  return out;
}

async function dump(store: ServiceStore): Promise<string[]> {
  return (await store.listEntries('ncmec', { limit: 100_000 }))
    .map((e) => `${e.signal}:${e.value}:${e.sourceId}:${e.labels.join('|')}`)
    .sort();
}

let fake: FakeNcmec;
beforeAll(async () => {
  fake = await startFakeNcmec({ password: SECRET });
  fake.records = records();
  fake.pageSize = 5;
});
afterAll(() => fake.close());

describe.each(STORE_KINDS)('ward exchange (%s)', (kind) => {
  skipUnavailable(kind);
  const opened: OpenedStore[] = [];
  afterEach(async () => {
    fake.fault = () => undefined;
    for (const o of opened.splice(0)) await o.drop();
  });

  async function setup(): Promise<{
    o: OpenedStore;
    ward: (args: string[], input?: string) => ReturnType<typeof runWard>;
  }> {
    const o = await openStore(kind);
    opened.push(o);
    const env = { ...ENV, ...o.env };
    const ward = (args: string[], input?: string) =>
      runWard([...args, ...o.args], { env, ...(input === undefined ? {} : { input }) });
    const add = await ward(
      [
        'exchange',
        'add',
        'main',
        '--type',
        'ncmec',
        '--bank',
        'ncmec',
        '--endpoint',
        fake.url,
        '--set',
        'start=2024-01-01T00:00:00Z',
        '--set',
        'windowSeconds=172800',
        '--credentials',
        '-',
      ],
      JSON.stringify({ username: 'user', password: SECRET }),
    );
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    return { o, ward };
  }

  it('add (credentials from stdin, sealed), sync, status, rm', async () => {
    const { o, ward } = await setup();
    const sync = await ward(['exchange', 'sync']);
    expect(sync.code).toBe(0);
    expect(sync.stdout).toMatch(/main: 43 fetched, 40 added, 0 updated, 3 deleted .*up to date/);
    const status = await ward(['exchange', 'status', 'main', '--format', 'json']);
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout);
    expect(s).toMatchObject({ name: 'main', type: 'ncmec', bank: 'ncmec', upToDate: true, lastError: null });
    expect(s.hasCredentials).toBe(true);
    expect(status.stdout).not.toContain(SECRET);
    expect(await dump(o.store)).toHaveLength(2 * 37);
    if (kind === 'sqlite') expect(readFileSync(o.where).includes(SECRET)).toBe(false);
    // A second exchange cannot fill the same bank; an unknown setting is refused.
    const dir = tempDir();
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ username: 'u', password: 'p' }));
    const again = await ward([
      'exchange',
      'add',
      'b',
      '--type',
      'ncmec',
      '--bank',
      'ncmec',
      '--credentials',
      join(dir, 'c.json'),
    ]);
    expect(again.code).toBe(3);
    const badSet = await ward(['exchange', 'add', 'c', '--type', 'ncmec', '--bank', 'x', '--set', 'password=p']);
    expect(badSet.code).toBe(3);
    const rm = await ward(['exchange', 'rm', 'main']);
    expect(rm.code).toBe(0);
    expect((await ward(['exchange', 'status', 'main'])).code).not.toBe(0);
    // The bank stays.
    expect(await dump(o.store)).toHaveLength(2 * 37);
  }, 60_000);

  it('a failing sync exits 2 and says why; the rerun completes', async () => {
    const { ward } = await setup();
    let n = 0;
    fake.fault = () => (n++ === 3 ? '500' : undefined);
    const r = await ward(['exchange', 'sync', 'main']);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/main: failed \(WARD_ERR_EXCHANGE_FAILED: The exchange answered HTTP 500\)/);
    const st = JSON.parse((await ward(['exchange', 'status', '--format', 'json'])).stdout);
    expect(st[0].lastError).toMatch(/HTTP 500/);
    expect((await ward(['exchange', 'sync', 'main'])).code).toBe(0);
  }, 60_000);

  it('a sync SIGKILLed at a page and rerun gives the bank of an uninterrupted one', async () => {
    const reference = await setup();
    expect((await reference.ward(['exchange', 'sync'])).code).toBe(0);
    const want = await dump(reference.o.store);
    for (const k of [1, 4, 7]) {
      const { o, ward } = await setup();
      const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'ward.js'), 'exchange', 'sync', ...o.args], {
        env: { ...process.env, ...ENV, ...o.env },
        stdio: 'ignore',
      });
      const exited = new Promise<string | null>((r) => child.on('exit', (_c, sig) => r(sig)));
      let n = 0;
      fake.fault = () => {
        if (n++ === k) {
          child.kill('SIGKILL');
          return 'hang';
        }
        return undefined;
      };
      expect(await exited).toBe('SIGKILL');
      fake.fault = () => undefined;
      const partial = await dump(o.store);
      expect(partial.length).toBeLessThan(want.length);
      expect((await ward(['exchange', 'sync'])).code).toBe(0);
      expect(await dump(o.store)).toEqual(want);
    }
  }, 120_000);
});
