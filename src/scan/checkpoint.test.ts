import { appendFileSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Checkpoint } from './checkpoint.js';
import { itemKey } from './items.js';
import type { ItemReport } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'ward-checkpoint-'));
let n = 0;
const fresh = (): string => join(dir, `cp-${n++}.ndjson`);
const report = (path: string, archivePath?: string): ItemReport => ({
  path,
  ...(archivePath ? { archivePath } : {}),
  contentType: 'image',
  verdict: 'clean',
  signals: { md5: '0'.repeat(32) },
  matches: [],
  findings: [],
  reasons: [],
});
const collect = async (cp: Checkpoint): Promise<ItemReport[]> => {
  const out: ItemReport[] = [];
  for await (const r of cp.replay()) out.push(r);
  return out;
};

describe('Checkpoint', () => {
  it('journals items and archives, and replays them in order', async () => {
    const path = fresh();
    const cp = await Checkpoint.open(path, 'fp');
    cp.itemDone(report('a.jpg'));
    cp.itemDone(report('b.zip'));
    cp.itemDone(report('b.zip', 'x/1.jpg'));
    cp.containerDone(itemKey('b.zip'));
    cp.close();
    const again = await Checkpoint.open(path, 'fp');
    expect(again.resumed).toBe(3);
    expect(again.completed).toBe(false);
    expect(again.hasItem('a.jpg')).toBe(true);
    expect(again.hasItem(itemKey('b.zip', 'x/1.jpg'))).toBe(true);
    expect(again.hasItem('c.jpg')).toBe(false);
    expect(again.hasContainer('b.zip')).toBe(true);
    expect((await collect(again)).map((r) => r.archivePath ?? r.path)).toEqual(['a.jpg', 'b.zip', 'x/1.jpg']);
    again.itemDone(report('c.jpg'));
    again.complete();
    again.close();
    const third = await Checkpoint.open(path, 'fp');
    expect(third.completed).toBe(true);
    expect(third.resumed).toBe(4);
    third.close();
    // Appends went after the existing lines (positioned writes), header intact.
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      ward: 'ward-scan-checkpoint',
      version: 1,
      fingerprint: 'fp',
    });
    expect(lines).toHaveLength(7);
  });

  it('drops a line torn by a crash, with or without its newline', async () => {
    for (const tail of ['{"r":{"path":"half', '{"r":{"path":"d.jpg","contentType":"image"}}']) {
      const path = fresh();
      const cp = await Checkpoint.open(path, 'fp');
      cp.itemDone(report('a.jpg'));
      cp.close();
      const good = statSync(path).size;
      appendFileSync(path, tail); // no newline: the write was cut short
      const again = await Checkpoint.open(path, 'fp');
      expect(again.resumed).toBe(1);
      expect(statSync(path).size).toBe(good);
      again.itemDone(report('b.jpg'));
      again.close();
      const reopened = await Checkpoint.open(path, 'fp');
      expect((await collect(reopened)).map((r) => r.path)).toEqual(['a.jpg', 'b.jpg']);
      reopened.close();
    }
  });

  it('refuses another scan’s checkpoint and damaged files', async () => {
    const path = fresh();
    (await Checkpoint.open(path, 'fp-1')).close();
    await expect(Checkpoint.open(path, 'fp-2')).rejects.toMatchObject({
      code: 'WARD_ERR_CHECKPOINT',
      message: expect.stringMatching(/different scan/),
    });
    const notOurs = fresh();
    writeFileSync(notOurs, '{"hello":1}\n');
    await expect(Checkpoint.open(notOurs, 'fp')).rejects.toMatchObject({ code: 'WARD_ERR_CHECKPOINT' });
    const middle = fresh();
    const cp = await Checkpoint.open(middle, 'fp');
    cp.itemDone(report('a.jpg'));
    cp.close();
    appendFileSync(middle, 'garbage\n{"r":{"path":"b.jpg"}}\n');
    await expect(Checkpoint.open(middle, 'fp')).rejects.toMatchObject({
      code: 'WARD_ERR_CHECKPOINT',
      message: expect.stringMatching(/line 3/),
    });
    const header = fresh();
    writeFileSync(header, '{"ward":"ward-scan-checkpoint","version":1,"fingerprint":"fp"}\n');
    truncateSync(header, 10);
    // A header torn at creation recorded nothing: the journal starts over.
    const restarted = await Checkpoint.open(header, 'fp');
    expect(restarted.resumed).toBe(0);
    restarted.close();
    expect(JSON.parse(readFileSync(header, 'utf8'))).toMatchObject({ fingerprint: 'fp' });
    await expect(Checkpoint.open(join(dir, 'no', 'such', 'dir', 'cp'), 'fp')).rejects.toMatchObject({
      code: 'WARD_ERR_CHECKPOINT',
    });
  });
});
