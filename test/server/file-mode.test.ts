/** Issue 14: a new SQLite database (and its WAL files) is readable by its owner only. */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SqliteServiceStore } from '../../src/store/sqlite-service.js';

it('creates SQLite files with mode 0600', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ward-mode-'));
  try {
    const path = join(dir, 'sub', 'ward.db');
    const store = SqliteServiceStore.open(path);
    await store.appendAudit({ actor: 'cli', action: 'test.write', target: 't', details: {} });
    for (const f of [path, `${path}-wal`]) expect((statSync(f).mode & 0o777).toString(8), f).toBe('600');
    expect((statSync(join(dir, 'sub')).mode & 0o077).toString(8)).toBe('0');
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
