/**
 * The review UI's Report action in headless Chromium against the fake CyberTipline: a confirmed
 * item → reveal it (so fileViewedByEsp becomes true) → Check shows the pre-filled fields → Submit
 * finishes one report → the retention line shows it. Skipped where chromium or ../shared is absent.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import { createServer, type WardServer } from '../../src/server/app.js';
import { createKey } from '../../src/server/auth.js';
import { EvidenceStore } from '../../src/server/evidence.js';
import { type OpenedStore, openStore } from '../server/stores.js';
import { FakeCyberTipline } from './fake-cybertipline.js';
import { newReview, PROFILE, sharedAvailable, XSD, XSD_SKIP } from './items.js';

declare const document: { querySelector(s: string): { textContent: string | null } | null };

const CHROMIUM = process.env.WARD_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`${CHROMIUM} not found: the Report action end-to-end test is skipped`);
if (!sharedAvailable) console.warn(XSD_SKIP);

describe.skipIf(!haveChromium || !sharedAvailable)('the review UI Report action', () => {
  let opened: OpenedStore;
  let server: WardServer;
  let fake: FakeCyberTipline;
  let browser: Browser;
  let base: string;
  let key: string;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    opened = await openStore('sqlite');
    fake = new FakeCyberTipline({ xsdPath: XSD });
    const env = {
      WARD_NCMEC_ENDPOINT: await fake.start(),
      WARD_NCMEC_USERNAME: 'user',
      WARD_NCMEC_PASSWORD: 'pass',
      WARD_NCMEC_XSD: XSD,
      WARD_EGRESS_ALLOW: '127.0.0.1',
    };
    for (const [k, v] of Object.entries(env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    await opened.store.putReportSetting('ncmec.profile', JSON.stringify(PROFILE), new Date().toISOString());
    key = (await createKey(opened.store, 'analyst', 'reviewer', { childSafety: true })).key;
    server = await createServer({
      store: opened.store,
      pollMs: 0,
      evidence: new EvidenceStore(opened.store, { key: Buffer.alloc(32, 7) }),
    });
    base = await server.listen('127.0.0.1', 0);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
    });
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await browser?.close();
    await server?.close();
    await fake?.stop();
    await opened?.drop();
  });

  it('checks the pre-filled fields and submits one report', async () => {
    const bytes = await sceneImage(808);
    const evidence = new EvidenceStore(opened.store, { key: Buffer.alloc(32, 7) });
    const item = await opened.store.insertReview({
      ...newReview(bytes, 'scene.jpg'),
      evidenceId: await evidence.put(bytes, 'image/jpeg'),
    });
    await opened.store.decideReview(
      item.id,
      'confirmed',
      { action: 'confirm', bank: 'known', labels: ['B2'] },
      'key:t',
      new Date().toISOString(),
      ['open'],
    );
    const page = await browser.newPage();
    try {
      await page.goto(`${base}/ui/`);
      await page.fill('#key', key);
      await page.click('#signin-form button[type=submit]');
      await page.waitForSelector('#status');
      await page.selectOption('#status', 'confirmed');
      await page.waitForSelector(`[data-testid=queue-item-${item.id}]`);
      await page.click(`[data-testid=queue-item-${item.id}]`);
      await page.waitForSelector('[data-testid=report]:not([hidden])');
      await page.waitForFunction(() =>
        /Not reported yet/.test(document.querySelector('[data-testid=report-retention]')?.textContent ?? ''),
      );
      await page.waitForSelector('[data-testid=reveal]:not([hidden])');
      await page.click('[data-testid=reveal]');
      await page.click('[data-testid=report-check]');
      await page.waitForFunction(() =>
        /passes the schema/.test(document.querySelector('[data-testid=report-result]')?.textContent ?? ''),
      );
      const fields = (await page.textContent('[data-testid=report-fields]')) ?? '';
      expect(fields).toContain((item.report.signals as Record<string, string>).md5);
      expect(fields).toMatch(/fileViewedByEsp\)true/);
      expect(fields).toContain('B2');
      await page.click('[data-testid=report-submit]');
      await page.waitForFunction(() =>
        /finished/.test(document.querySelector('[data-testid=report-result]')?.textContent ?? ''),
      );
      expect(fake.finished()).toHaveLength(1);
      await page.waitForFunction(() =>
        /kept until/.test(document.querySelector('[data-testid=report-retention]')?.textContent ?? ''),
      );
    } finally {
      await page.close();
    }
  });
});
