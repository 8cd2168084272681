/** A plugin's exchange connector: registered in the slot, synced by the same engine (checkpoints handed back). */
import { afterEach, describe, expect, it } from 'vitest';
import { builtinPlugin } from '../../src/builtin.js';
import { connectorFor, syncExchange } from '../../src/exchanges/sync.js';
import type { ExchangeConnector, ExchangePage, FetchContext } from '../../src/exchanges/types.js';
import { definePlugin } from '../../src/plugin.js';
import { Registry } from '../../src/registry.js';
import { type OpenedStore, openStore } from '../server/stores.js';

const seen: unknown[] = [];
const counter: ExchangeConnector = {
  name: 'counter',
  kind: 'fetch',
  async *fetch(ctx: FetchContext): AsyncGenerator<ExchangePage> {
    seen.push(ctx.checkpoint);
    const start = typeof ctx.checkpoint === 'number' ? ctx.checkpoint : 0;
    for (let i = start; i < start + 2; i++) {
      const value = i.toString(16).padStart(32, '0');
      yield {
        entries: [
          {
            entryId: `n${i}`,
            signals: [{ signal: 'md5', value }],
            labels: ['t'],
            updated: new Date(i * 1000).toISOString(),
          },
        ],
        checkpoint: i + 1,
        upToDate: i === start + 1,
      };
    }
  },
};

describe('exchange connectors from plugins', () => {
  let opened: OpenedStore | undefined;
  afterEach(async () => {
    await opened?.drop();
  });

  it('are found by type, refused twice, and synced with their own checkpoints', async () => {
    const registry = new Registry([builtinPlugin, definePlugin({ name: 'p', exchanges: [counter] })]);
    expect(connectorFor('counter', registry)).toBe(counter);
    expect(registry.exchanges().map((c) => c.name)).toEqual(['ncmec', 'file', 'counter']);
    expect(() => connectorFor('nope', registry)).toThrow(/Unknown exchange type/);
    expect(
      () => new Registry([builtinPlugin, definePlugin({ name: 'q', exchanges: [{ ...counter, name: 'ncmec' }] })]),
    ).toThrow(/Two exchange connectors/);
    opened = await openStore('sqlite');
    const s = opened.store;
    await s.createBank('c');
    await s.insertExchange({ name: 'c1', type: 'counter', bank: 'c', config: {}, credentials: null });
    expect((await syncExchange(s, 'c1', { registry })).counts.added).toBe(2);
    expect((await syncExchange(s, 'c1', { registry })).counts.added).toBe(2);
    expect(seen).toEqual([undefined, 2]);
    expect((await s.getExchange('c1'))?.checkpoint).toBe(4);
    expect((await s.listEntries('c', { limit: 10 })).map((e) => e.sourceId)).toEqual(['n0', 'n1', 'n2', 'n3']);
    // Without the plugin, the type is unknown.
    await expect(syncExchange(s, 'c1')).rejects.toThrow(/Unknown exchange type/);
  });
});
