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
// biome-ignore lint/suspicious/noExplicitAny: the browser's DOM, typed loosely
type Dom = any;
declare const document: {
  querySelector(s: string): Dom;
  querySelectorAll(s: string): Dom;
  documentElement: Dom;
  activeElement: Dom;
};
declare const localStorage: Dom;
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

  /** A page that fails the test on any uncaught error in the UI's script. */
  const newPage = async (width = 1280, height = 900) => {
    const page = await browser.newPage({ viewport: { width, height } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    return { page, errors };
  };
  const signIn = async (page: Page, base: string, key: string) => {
    await page.goto(`${base}/ui/`);
    await page.fill('#key', key);
    await page.click('#signin-form button[type=submit]');
    await page.waitForSelector('#nav:not([hidden])');
  };
  const flagged = async (seed: number, base = evidenceUrl) => {
    const image = await sceneImage(seed);
    await api(base, 'admin', 'POST', '/v1/banks', { name: 'unverified' });
    await api(base, 'admin', 'POST', '/v1/banks/unverified/entries', {
      entries: [{ value: (await hashImage(image)).pdq, signal: 'pdq' }],
    });
    const scanned = await api(base, 'submitter', 'POST', `/v1/scan?name=s${seed}.jpg`, await variant(image, 'resized'));
    expect(scanned.data.verdict).toBe('flag');
    return scanned.data.reviews[0].id as number;
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
      // Revealed on a deliberate action (recorded first)…
      await page.click('[data-testid=reveal]');
      await page.waitForFunction(
        () => getComputedStyle(document.querySelector('[data-testid=media-img]')).filter === 'none',
      );
      expect(await filterOf(page)).toBe('none');
      // …and blurred again when the reviewer leaves the window.
      await page.evaluate(() => window.dispatchEvent(new Event('blur')));
      expect(await filterOf(page)).toMatch(/blur/);
      // The keyboard: V reveals, C confirms into the chosen block bank.
      await page.keyboard.press('v');
      await page.waitForFunction(
        () => getComputedStyle(document.querySelector('[data-testid=media-img]')).filter === 'none',
      );
      // No bank is preselected: C without a choice confirms nothing.
      expect(await page.$eval('[data-testid=confirm-bank]', (s) => (s as unknown as { value: string }).value)).toBe('');
      await page.focus('body');
      await page.keyboard.press('c');
      await page.waitForFunction(() =>
        /Choose a block bank/.test(document.querySelector('[data-testid=decide-result]')?.textContent ?? ''),
      );
      await page.selectOption('[data-testid=confirm-bank]', 'known');
      // C asks first; Cancel (focused first, so Enter cancels) leaves the item open.
      await page.focus('body');
      await page.keyboard.press('c');
      await page.waitForSelector('[data-testid=decide-confirm][open]');
      expect(await page.textContent('[data-testid=decide-confirm-text]')).toContain('“known”');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() =>
        /cancelled/.test(document.querySelector('[data-testid=decide-result]')?.textContent ?? ''),
      );
      expect((await api(evidenceUrl, 'analyst', 'GET', `/v1/reviews/${id}`)).data.status).toBe('open');
      expect((await api(evidenceUrl, 'analyst', 'GET', '/v1/banks/known/entries')).data.entries).toEqual([]);
      await page.focus('body');
      await page.keyboard.press('c');
      await page.waitForSelector('[data-testid=decide-confirm][open]');
      await page.click('[data-testid=decide-yes]');
      await page.waitForFunction(() =>
        /: confirmed/.test(document.querySelector('[data-testid=decide-result]')?.textContent ?? ''),
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
      expect(auditText).toContain('evidence.reveal');
      const reveals = await api(evidenceUrl, 'analyst', 'GET', `/v1/audit?action=evidence.reveal&target=review:${id}`);
      expect(reveals.data.records).toHaveLength(2);
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

  it('shows no nav before sign-in, serves a favicon, and the Audit tab works without errors', async () => {
    const { page, errors } = await newPage();
    try {
      await page.goto(`${evidenceUrl}/ui/`);
      expect(await page.isVisible('#nav')).toBe(false);
      expect(await page.isVisible('#queue-view')).toBe(false);
      expect(await page.isVisible('#signin')).toBe(true);
      const icon = await page.$eval('link[rel=icon]', (l) => (l as unknown as { href: string }).href);
      const res = await fetch(icon);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('image/svg+xml');
      expect(await res.text()).toContain('<svg');
      await page.fill('#key', h.keys.analyst);
      await page.click('#signin-form button[type=submit]');
      await page.waitForSelector('#nav:not([hidden])');
      await page.click('button[data-view=audit]');
      await page.waitForSelector('[data-testid=audit] tbody tr');
      expect(await page.isVisible('#queue-view')).toBe(false);
      await page.click('[data-testid=audit-verify]');
      await page.waitForFunction(() =>
        /verified/.test(document.querySelector('[data-testid=audit-status]')?.textContent ?? ''),
      );
      await page.click('button[data-view=queue]');
      await page.waitForSelector('#queue-view:not([hidden])');
      expect(await page.textContent('[data-testid=audit-error]')).toBe('');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('reaches every control with Tab: queue rows open with Enter', async () => {
    const id = await flagged(808);
    const { page, errors } = await newPage();
    try {
      await signIn(page, evidenceUrl, h.keys.analyst);
      await page.waitForSelector(`[data-testid=queue-item-${id}]`);
      await page.focus('body');
      const focused: string[] = [];
      for (let i = 0; i < 60; i++) {
        await page.keyboard.press('Tab');
        focused.push(
          await page.evaluate(() => {
            const a = document.activeElement;
            return a?.dataset?.testid || a?.id || a?.textContent?.trim() || a?.tagName;
          }),
        );
        if (focused.at(-1) === `queue-button-${id}`) break;
      }
      expect(focused).toContain('status');
      expect(focused).toContain('refresh');
      expect(focused.at(-1)).toBe(`queue-button-${id}`);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#item-body:not([hidden])');
      expect(await page.textContent('#item-title')).toContain(`#${id}`);
      // Every visible control of the item view is reachable from there on.
      await page.waitForSelector('[data-testid=reveal]:not([hidden])');
      const controls: string[] = await page.evaluate(() =>
        [...document.querySelectorAll('#queue-view button, #queue-view select, #queue-view input, nav button')]
          .filter((e: { offsetParent: unknown; disabled: boolean }) => e.offsetParent !== null && !e.disabled)
          .map((e: { id: string; dataset: { testid?: string } }) => e.dataset.testid || e.id),
      );
      expect(controls).toEqual(
        expect.arrayContaining(['reveal', 'confirm-bank', 'dismiss-bank', 'labels', 'note', 'confirm']),
      );
      const seen = new Set<string>();
      for (let i = 0; i < 80 && controls.some((c) => !seen.has(c)); i++) {
        await page.keyboard.press('Tab');
        seen.add(
          await page.evaluate(() => document.activeElement?.dataset?.testid || document.activeElement?.id || ''),
        );
      }
      expect(controls.filter((c) => !seen.has(c))).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it.each([420, 1100, 1366, 1920])(
    'lays out without horizontal overflow at %i px, Refresh not clipped',
    async (width) => {
      const { page, errors } = await newPage(width, 900);
      try {
        const noOverflow = () =>
          page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
        await page.goto(`${evidenceUrl}/ui/`);
        expect(await noOverflow()).toBe(true);
        await signIn(page, evidenceUrl, h.keys.analyst);
        await page.waitForSelector('#queue-list li');
        await page.click('#queue-list li button');
        await page.waitForSelector('#item-body:not([hidden])');
        expect(await noOverflow()).toBe(true);
        const clipped = await page.evaluate(() => {
          const b = document.querySelector('#refresh').getBoundingClientRect();
          const box = document.querySelector('#queue').getBoundingClientRect();
          return b.width < 10 || b.left < box.left || b.right > box.right + 0.5;
        });
        expect(clipped).toBe(false);
        await page.click('button[data-view=audit]');
        await page.waitForSelector('[data-testid=audit] tbody tr');
        expect(await noOverflow()).toBe(true);
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    },
  );

  it('keeps blur strength, greyscale and video mute per reviewer key (localStorage by key id)', async () => {
    const id = await flagged(909);
    const { page, errors } = await newPage();
    try {
      await signIn(page, evidenceUrl, h.keys.analyst);
      await page.click(`[data-testid=queue-item-${id}]`);
      await page.waitForSelector('[data-testid=media-img]:not([hidden])');
      expect(await filterOf(page)).toBe('blur(24px) grayscale(1)');
      await page.click('[data-testid=settings-open]');
      await page.waitForSelector('[data-testid=settings][open]');
      await page.$eval('[data-testid=set-blur]', (e) => {
        const input = e as unknown as { value: string; dispatchEvent(ev: unknown): void };
        input.value = '40';
        input.dispatchEvent(new Event('input'));
      });
      await page.click('[data-testid=set-grey]');
      await page.click('[data-testid=set-mute]');
      await page.click('[data-testid=settings-close]');
      expect(await filterOf(page)).toBe('blur(40px) grayscale(0)');
      const me = await api(evidenceUrl, 'analyst', 'GET', '/v1/me');
      const stored = await page.evaluate((k) => localStorage.getItem(`ward.settings.${k}`), me.data.keyId);
      expect(JSON.parse(stored)).toEqual({ blur: 40, grey: false, mute: false });
      // Kept across a reload (the key is kept in the tab)…
      await page.reload();
      await page.waitForSelector(`[data-testid=queue-item-${id}]`);
      await page.click(`[data-testid=queue-item-${id}]`);
      await page.waitForSelector('[data-testid=media-img]:not([hidden])');
      expect(await filterOf(page)).toBe('blur(40px) grayscale(0)');
      // …and per key: another reviewer in the same browser gets the defaults.
      await page.click('#signout');
      await page.waitForSelector('#signin-form');
      await signIn(page, evidenceUrl, h.keys.admin);
      await page.click(`[data-testid=queue-item-${id}]`);
      await page.waitForSelector('[data-testid=media-img]:not([hidden])');
      expect(await filterOf(page)).toBe('blur(24px) grayscale(1)');
      // A stored blur below the floor is raised to 8 px: the blur cannot be switched off.
      await page.evaluate((k) => localStorage.setItem(`ward.settings.${k}`, '{"blur":0}'), me.data.keyId);
      await page.click('#signout');
      await page.waitForSelector('#signin-form');
      await signIn(page, evidenceUrl, h.keys.analyst);
      await page.click(`[data-testid=queue-item-${id}]`);
      await page.waitForSelector('[data-testid=media-img]:not([hidden])');
      expect(await filterOf(page)).toBe('blur(8px) grayscale(1)');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a key without the child-safety permission sees no image and cannot reveal; nothing is audited', async () => {
    const id = await flagged(1010);
    const before = (await api(evidenceUrl, 'admin', 'GET', `/v1/audit?target=review:${id}&limit=1000`)).data.records;
    const { page, errors } = await newPage();
    try {
      await signIn(page, evidenceUrl, h.keys.restricted);
      await page.click(`[data-testid=queue-item-${id}]`);
      await page.waitForSelector('#item-body:not([hidden])');
      await page.waitForFunction(() =>
        /child-safety/.test(document.querySelector('[data-testid=media-note]')?.textContent ?? ''),
      );
      expect(await page.isVisible('[data-testid=item-redacted]')).toBe(true);
      expect(await page.isVisible('[data-testid=media-img]')).toBe(false);
      expect(await page.isVisible('[data-testid=reveal]')).toBe(false);
      await page.focus('body');
      await page.keyboard.press('v');
      const after = (await api(evidenceUrl, 'admin', 'GET', `/v1/audit?target=review:${id}&limit=1000`)).data.records;
      expect(after.map((r: Json) => r.action)).toEqual(before.map((r: Json) => r.action));
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
