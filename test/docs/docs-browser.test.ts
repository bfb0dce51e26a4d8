/**
 * The reference page at /docs in a real browser (Debian's chromium, driven by playwright-core; .ci/run installs
 * it): it renders under the page's own Content-Security-Policy with no console error, shows every operation of
 * the contract, and "Try it out" on getHealth gets a 200 from the server. A screenshot goes to test-artifacts/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ROOT } from '../../src/paths.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { contractDocument } from '../helpers/contract.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = join(ROOT, 'test-artifacts');
const reason = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install -y chromium; .ci/run does it)`;
if (reason) console.log(`test/docs/docs-browser.test.ts skipped: ${reason}`);
const describeWithBrowser = reason ? describe.skip : describe;

// Swagger UI shows the operations under `paths` and the 3.1 `webhooks` (the payloads receivers get).
const documented = { ...(contractDocument.paths ?? {}), ...((contractDocument as { webhooks?: Record<string, object> }).webhooks ?? {}) };
const operationIds = Object.values(documented).flatMap((item) =>
  Object.values(item ?? {}).flatMap((op) => (op && typeof op === 'object' && 'operationId' in op ? [String(op.operationId)] : [])),
);

describeWithBrowser('/docs in chromium', () => {
  let t: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestApp();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('renders every operation under its CSP without console errors, and Try it out on getHealth answers 200', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (msg) => msg.type() === 'error' && problems.push(`console: ${msg.text()}`));
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
    // a console "Failed to load resource" does not name the URL; this does
    page.on('response', (r) => r.status() >= 400 && problems.push(`${r.status()} for ${r.request().method()} ${r.url()}`));

    const res = await page.goto(`${t.url}/docs`, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'self'");
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });

    const shown = await page.locator('.opblock').evaluateAll((blocks) => blocks.map((b) => b.id));
    expect(operationIds.length).toBeGreaterThan(30);
    expect(shown).toHaveLength(operationIds.length);
    for (const id of operationIds) expect(shown.some((s) => s.endsWith(`-${id}`))).toBe(true);

    const health = page.locator('.opblock[id$="-getHealth"]');
    await health.locator('.opblock-summary').first().click();
    await health.getByRole('button', { name: 'Try it out' }).click();
    await health.getByRole('button', { name: 'Execute' }).click();
    const status = health.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor({ timeout: 15_000 });
    expect((await status.innerText()).trim()).toBe('200');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'docs.png'), fullPage: false });
    expect(problems).toEqual([]);
  }, 120_000);
});
