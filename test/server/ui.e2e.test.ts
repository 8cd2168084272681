/**
 * The review UI end to end in headless Chromium (Debian's chromium, driven by playwright-core):
 * scan via the API → the item appears in the queue → its image is blurred and greyscale →
 * reveal → it blurs again on leaving → confirm with the keyboard → the bank has the signal → the
 * audit log shows the decision. Without the evidence store the item view says no image is kept.
 * Skipped (with a warning) where /usr/bin/chromium is absent; .ci/run installs it.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage, variant } from '../../src/demo/images.js';
import { resolveScanConfig } from '../../src/scan/config.js';
import { createServer, type WardServer } from '../../src/server/app.js';
import { EvidenceStore } from '../../src/server/evidence.js';
import { hashImage } from '../../src/signals/image.js';
import { type Harness, startHarness } from './harness.js';
import { STORE_KINDS, skipUnavailable } from './stores.js';

// The page's globals, for the callbacks that run in the browser (this project's lib has no DOM).
declare const document: { querySelector(s: string): { textContent: string | null } | null };
declare const window: { dispatchEvent(e: unknown): void };
declare function getComputedStyle(e: unknown): { filter: string };
declare class Event {
  constructor(type: string);
}
// biome-ignore lint/suspicious/noExplicitAny: API answers are checked by expect
type Json = any;

const CHROMIUM = process.env.WARD_CHROMIUM ?? '/usr/bin/chromium';
// The global setup checked once and said so once (WARD_TEST_CHROMIUM).
const haveChromium =
  process.env.WARD_TEST_CHROMIUM !== undefined ? process.env.WARD_TEST_CHROMIUM === '1' : existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing; .ci/run installs Debian's chromium`);

const config = resolveScanConfig({ policy: { banks: { unverified: 'flag' } } });

async function filterOf(page: Page): Promise<string> {
  return page.$eval('[data-testid=media-img]', (img) => getComputedStyle(img).filter);
}

describe.skipIf(!haveChromium).each(STORE_KINDS)('the review UI on %s', (kind) => {
  skipUnavailable(kind);
  let h: Harness;
  let withEvidence: WardServer;
  let browser: Browser;
  let plainUrl: string;
  let evidenceUrl: string;

  beforeAll(async () => {
    h = await startHarness(kind, { config });
    plainUrl = await h.server.listen('127.0.0.1', 0);
    withEvidence = await createServer({
      store: h.opened.store,
      config,
      pollMs: 200,
      evidence: new EvidenceStore(h.opened.store, { key: Buffer.alloc(32, 3) }),
    });
    evidenceUrl = await withEvidence.listen('127.0.0.1', 0);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await withEvidence?.close();
    await h?.close();
  });

  const api = async (
    base: string,
    role: 'admin' | 'analyst' | 'submitter',
    method: string,
    path: string,
    body?: unknown,
  ) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${h.keys[role]}`,
        ...(body === undefined
          ? {}
          : Buffer.isBuffer(body)
            ? { 'content-type': 'image/jpeg' }
            : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body),
    });
    return (await res.json()) as Json;
  };

  it('scan → queue → blurred image → reveal → re-blur → confirm (keyboard) → bank has the signal → audit shows it', async () => {
    const image = await sceneImage(505);
    const upload = await variant(image, 'resized');
    const pdq = (await hashImage(image)).pdq;
    await api(evidenceUrl, 'admin', 'POST', '/v1/banks', { name: 'unverified' });
    await api(evidenceUrl, 'admin', 'POST', '/v1/banks', { name: 'known' });
    await api(evidenceUrl, 'admin', 'POST', '/v1/banks/unverified/entries', {
      entries: [{ value: pdq, signal: 'pdq' }],
    });
    const scanned = await api(evidenceUrl, 'submitter', 'POST', '/v1/scan?name=upload.jpg', upload);
    expect(scanned.data.verdict).toBe('flag');
    const id: number = scanned.data.reviews[0].id;
    const itemPdq: string = scanned.data.items[0].signals.pdq;

    const page = await browser.newPage();
    try {
      await page.goto(`${evidenceUrl}/ui`);
      await page.fill('#key', h.keys.analyst);
      await page.click('#signin-form button[type=submit]');
      await page.waitForSelector(`[data-testid=queue-item-${id}]`);
      expect(await page.textContent('[data-testid=whoami]')).toContain('analyst');
      await page.click(`[data-testid=queue-item-${id}]`);
      await page.waitForSelector('[data-testid=media-img]:not([hidden])');
      // Blurred and greyscale by default.
      expect(await filterOf(page)).toMatch(/blur\(24px\) grayscale\(1\)/);
      expect(await page.textContent('#findings')).toBeTruthy();
      expect(await page.textContent('#reasons')).toContain('bank unverified');
      // Revealed on a deliberate action…
      await page.click('[data-testid=reveal]');
      expect(await filterOf(page)).toBe('none');
      // …and blurred again when the reviewer leaves the window.
      await page.evaluate(() => window.dispatchEvent(new Event('blur')));
      expect(await filterOf(page)).toMatch(/blur/);
      // The keyboard: V reveals, C confirms into the chosen block bank.
      await page.keyboard.press('v');
      expect(await filterOf(page)).toBe('none');
      await page.selectOption('[data-testid=confirm-bank]', 'known');
      await page.focus('body');
      await page.keyboard.press('c');
      await page.waitForFunction(() =>
        /confirmed/.test(document.querySelector('[data-testid=decide-result]')?.textContent ?? ''),
      );
      expect(await page.textContent('[data-testid=decide-result]')).toContain('added to known');
      // The image is gone from the page once the item is decided and left.
      expect(await page.$(`[data-testid=queue-item-${id}]`)).toBeNull();

      const entries = await api(evidenceUrl, 'analyst', 'GET', '/v1/banks/known/entries');
      expect(entries.data.entries.map((e: { value: string }) => e.value)).toContain(itemPdq);

      await page.click('button[data-view=audit]');
      await page.waitForFunction(() =>
        /review\.decision/.test(document.querySelector('[data-testid=audit]')?.textContent ?? ''),
      );
      const auditText = await page.textContent('[data-testid=audit]');
      expect(auditText).toContain(`review:${id}`);
      expect(auditText).toContain('evidence.view');
      await page.click('[data-testid=audit-verify]');
      await page.waitForFunction(() =>
        /verified/.test(document.querySelector('[data-testid=audit-status]')?.textContent ?? ''),
      );
    } finally {
      await page.close();
    }
  });

  it('shows no image, and says why, when the evidence store is disabled', async () => {
    const image = await sceneImage(606);
    const pdq = (await hashImage(image)).pdq;
    await api(plainUrl, 'admin', 'POST', '/v1/banks/unverified/entries', { entries: [{ value: pdq, signal: 'pdq' }] });
    const scanned = await api(plainUrl, 'submitter', 'POST', '/v1/scan', await variant(image, 'reencoded'));
    const id: number = scanned.data.reviews[0].id;
    const page = await browser.newPage();
    try {
      await page.goto(`${plainUrl}/ui/`);
      await page.fill('#key', h.keys.admin);
      await page.click('#signin-form button[type=submit]');
      await page.waitForSelector(`[data-testid=queue-item-${id}]`);
      await page.click(`[data-testid=queue-item-${id}]`);
      await page.waitForFunction(() =>
        /evidence store is disabled/.test(document.querySelector('[data-testid=media-note]')?.textContent ?? ''),
      );
      expect(await page.$eval('[data-testid=media-img]', (img) => (img as unknown as { hidden: boolean }).hidden)).toBe(
        true,
      );
      expect(await page.$eval('[data-testid=reveal]', (b) => (b as unknown as { hidden: boolean }).hidden)).toBe(true);
      // Escalate with the keyboard: it stays in the queue, marked.
      await page.keyboard.press('e');
      await page.waitForFunction(() =>
        /escalated/.test(document.querySelector('[data-testid=decide-result]')?.textContent ?? ''),
      );
    } finally {
      await page.close();
    }
  });
});
