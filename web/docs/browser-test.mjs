// Drives the gateway's docs page in headless Chromium (Debian's, not a Playwright download)
// as a reader would: every operation of the served contract is listed, "Try it out" on
// GET /v1/products answers 200 with a success envelope, and, given a token, the Authorize
// dialog's bearer token reaches a secured operation and survives a reload. Fails on any page
// error, console error (a Content-Security-Policy violation is one), request to another
// origin, or failed asset.
//
//   node browser-test.mjs BASE_URL SCREENSHOT.png
//
// Environment: DOCS_TEST_BEARER_TOKEN (a token with orders:read; without it the bearer step
// is skipped), CHROMIUM (default /usr/bin/chromium). Run by internal/engine/docs TestDocsInBrowser.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, screenshot] = process.argv.slice(2);
if (!base || !screenshot) {
  console.error('usage: node browser-test.mjs BASE_URL SCREENSHOT.png');
  process.exit(2);
}
const origin = new URL(base).origin;
const token = process.env.DOCS_TEST_BEARER_TOKEN || '';
// The operations the storefront contract has today; the page must also list any other the
// served contract names.
const expectedOperations = ['listProducts', 'getProduct', 'listOrders', 'createOrder', 'getOrder', 'cancelOrder', 'getDashboard'];

const started = Date.now();
const log = (msg) => console.log(`browser-test: ${((Date.now() - started) / 1000).toFixed(1)}s ${msg}`);
const problems = [];

// The served contract, read directly: what the page must show.
const specRes = await fetch(`${origin}/openapi.json`);
if (!specRes.ok) throw new Error(`GET /openapi.json: HTTP ${specRes.status}`);
const spec = await specRes.json();
const operations = [];
for (const [path, item] of Object.entries(spec.paths ?? {})) {
  for (const method of ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']) {
    const op = item[method];
    if (op) operations.push({ path, method, id: op.operationId, summary: op.summary ?? '' });
  }
}
const missing = expectedOperations.filter((id) => !operations.some((o) => o.id === id));
if (missing.length) throw new Error(`the served contract lacks ${missing.join(', ')}`);

const userDataDir = await mkdtemp(join(tmpdir(), 'contractgate-docs-chromium-'));
let context;
try {
  await run();
} catch (err) {
  problems.push(err.stack ?? String(err));
} finally {
  await context?.close();
  await rm(userDataDir, { recursive: true, force: true });
}
if (problems.length) {
  for (const p of problems) console.error(`browser-test: FAIL: ${p}`);
  process.exit(1);
}
log('ok');

async function run() {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1280, height: 1000 },
    timeout: 60_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.protocol !== 'data:' && u.protocol !== 'blob:' && u.origin !== origin) {
      problems.push(`request to another origin: ${req.url()}`);
    }
  });
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}: ${req.failure()?.errorText}`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()} for ${res.url()}`);
  });
  // Policy violations also reach the console, but only as text: count them exactly.
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'}`);
    });
  });

  log(`opening ${origin}/docs`);
  await page.goto(`${origin}/docs`, { waitUntil: 'load' });
  await page.locator('.information-container .title').filter({ hasText: spec.info.title }).waitFor();

  // Every operation is listed: method, path and summary.
  for (const op of operations) {
    const block = opblock(page, op);
    await block.waitFor();
    const summary = (await block.locator('.opblock-summary-description').first().textContent())?.trim();
    if (summary !== op.summary) problems.push(`${op.id}: summary ${JSON.stringify(summary)}, want ${JSON.stringify(op.summary)}`);
  }
  log(`all ${operations.length} operations listed: ${operations.map((o) => o.id).join(', ')}`);
  const overview = screenshot.replace(/(\.png)?$/, '-overview.png');
  await page.screenshot({ path: overview });
  log(`screenshot: ${overview}`);

  // The server "Try it out" uses is this page's origin, not the contract's 127.0.0.1:8080.
  const servers = await page.locator('.servers select option').allTextContents();
  if (servers.length !== 1 || !servers[0].includes(origin)) problems.push(`servers offered: ${JSON.stringify(servers)}, want only ${origin}`);

  // Try it out: GET /v1/products.
  const products = await tryItOut(page, operations.find((o) => o.id === 'listProducts'));
  await products.block.locator('.responses-inner h4').first().evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: screenshot });
  log(`screenshot: ${screenshot}`);

  // The bearer token from the Authorize dialog reaches a secured operation.
  if (token) {
    await page.locator('.auth-wrapper .btn.authorize').click();
    const bearer = page.locator('.modal-ux .auth-container').filter({ has: page.locator('#auth-bearer-value') });
    await bearer.locator('#auth-bearer-value').fill(token);
    await bearer.locator('button[type=submit]').click();
    // Authorized, the dialog shows the scheme's Logout button in place of the input.
    await page.locator('.modal-ux .auth-container').filter({ hasText: 'bearerAuth' }).locator('button', { hasText: 'Logout' }).waitFor();
    await page.locator('.modal-ux .close-modal').click();
    await page.locator('.auth-wrapper .btn.authorize.locked').waitFor();
    const orders = await tryItOut(page, operations.find((o) => o.id === 'listOrders'));
    if (!/Authorization: Bearer \S+/.test(orders.curl)) problems.push(`listOrders: the request sent no bearer token: ${orders.curl}`);
    log('listOrders with the bearer token from the Authorize dialog: 200, "success":true');

    // persistAuthorization: the token survives a reload.
    await page.reload({ waitUntil: 'load' });
    await page.locator('.information-container .title').waitFor();
    if (!(await page.locator('.auth-wrapper .btn.authorize.locked').isVisible())) problems.push('after a reload the page is no longer authorized (persistAuthorization)');
    else log('authorization persists across a reload');
  } else {
    log('DOCS_TEST_BEARER_TOKEN unset: bearer step skipped');
  }

  const violations = await page.evaluate(() => window.__cspViolations);
  for (const v of violations) problems.push(`Content-Security-Policy violation: ${v}`);
}

function opblock(page, op) {
  return page.locator(`.opblock.opblock-${op.method}`).filter({
    has: page.locator(`.opblock-summary-path[data-path="${op.path}"]`),
  });
}

// tryItOut expands an operation, clicks "Try it out" then "Execute", and checks that the
// live response is a 200 success envelope fetched from this origin.
async function tryItOut(page, op) {
  const block = opblock(page, op);
  if (!(await block.locator('.opblock-body').isVisible())) await block.locator('.opblock-summary-control').click();
  await block.locator('button.try-out__btn').click();
  await block.locator('button.execute').click();
  const live = block.locator('.live-responses-table .response');
  await live.waitFor();
  const status = (await live.locator('.response-col_status').first().textContent())?.trim();
  const body = (await live.locator('.response-col_description pre').first().textContent()) ?? '';
  const requestURL = (await block.locator('.request-url pre').textContent())?.trim() ?? '';
  const curl = (await block.locator('.curl-command').textContent()) ?? '';
  log(`${op.id}: ${requestURL} -> ${status}`);
  if (status !== '200') throw new Error(`${op.id}: Try it out answered ${status}, want 200:\n${body}`);
  if (!body.replace(/\s+/g, '').includes('"success":true')) throw new Error(`${op.id}: the response shown is not a success envelope:\n${body}`);
  if (!requestURL.startsWith(`${origin}${op.path}`)) problems.push(`${op.id}: request went to ${requestURL}, want ${origin}${op.path}`);
  return { block, curl };
}
