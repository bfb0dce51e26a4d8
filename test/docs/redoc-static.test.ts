/**
 * The static Redoc page `make docs-static` builds for publishing (`redocly build-docs --inlineBundle`), in a real
 * browser (Debian's chromium through playwright-core, as docs-browser.test.ts): it is one self-contained file that
 * loads nothing from the network, renders without console errors, and names every operation of the contract.
 * A screenshot goes to test-artifacts/.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { CONTRACT_PATH, ROOT } from '../../src/paths.js';
import { contractDocument } from '../helpers/contract.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = join(ROOT, 'test-artifacts');
const reason = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install -y chromium; .ci/run does it)`;
if (reason) console.log(`test/docs/redoc-static.test.ts skipped: ${reason}`);
const describeWithBrowser = reason ? describe.skip : describe;

// Every operation by its summary: the page's menu and its sections name operations by summary, whatever ids the
// Redoc version gives its elements.
const summaries = Object.values(contractDocument.paths ?? {}).flatMap((item) =>
  Object.values(item ?? {}).flatMap((op) => (op && typeof op === 'object' && 'summary' in op ? [String(op.summary)] : [])),
);

describeWithBrowser('the static Redoc page in chromium', () => {
  let dir: string;
  let page: string;
  let browser: Browser;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'taskflow-redoc-'));
    page = join(dir, 'index.html');
    // `make docs-static` itself, into a temporary folder.
    await promisify(execFile)('make', ['-s', 'docs-static', `DOCS_STATIC=${page}`], {
      cwd: ROOT,
      env: { ...process.env, REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is one file that loads nothing from the network and shows every operation without console errors', async () => {
    expect(statSync(page).size).toBeGreaterThan(100_000); // the Redoc bundle is inside, not on a CDN
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    tab.on('console', (msg) => msg.type() === 'error' && problems.push(`console: ${msg.text()}`));
    tab.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    tab.on('request', (req) => !/^(file|data|blob|about):/.test(req.url()) && problems.push(`network request: ${req.url()}`));

    await tab.goto(pathToFileURL(page).href, { waitUntil: 'load' });
    await tab.getByRole('heading', { level: 1 }).first().waitFor({ timeout: 60_000 });
    expect(await tab.getByRole('heading', { level: 1 }).first().innerText()).toContain('TaskFlow API');
    expect(summaries.length).toBeGreaterThan(30);
    // the script renders the operations after load: wait until every summary is on the page
    const missing = async () => {
      const text = (await tab.locator('body').textContent()) ?? '';
      return summaries.filter((summary) => !text.includes(summary));
    };
    for (const deadline = Date.now() + 60_000; (await missing()).length > 0 && Date.now() < deadline; ) await tab.waitForTimeout(500);
    expect(await missing()).toEqual([]);

    mkdirSync(ARTIFACTS, { recursive: true });
    await tab.screenshot({ path: join(ARTIFACTS, 'redoc-static.png'), fullPage: false });
    expect(problems).toEqual([]);
  }, 120_000);
});
