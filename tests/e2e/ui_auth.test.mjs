// The web page with otelpg-api --query-token: the page itself loads, the API answers 401
// without the token, the page asks for it once and then shows the data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Postgres, Stack, request } from './harness.mjs';
import { simpleTraceDoc } from './otlp.mjs';
import { assertExportOk } from './checks.mjs';

const CHROMIUM = process.env.OTELPG_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TOKEN = 'ui-secret-token';
let pg, stack, browser;

before(async () => {
  pg = await Postgres.start('ui-auth');
  stack = await Stack.start({ suite: 'ui-auth', dbUrl: pg.url, apiArgs: ['--query-token', TOKEN] });
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install the Debian package chromium`);
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
after(async () => {
  await browser?.close();
  await stack?.stopAll();
  await pg?.stop();
});

test('with --query-token the page asks for the token once, then works; the API refuses without it', async (t) => {
  await stack.wrap(async () => {
    const d = simpleTraceDoc({ n: 3, service: 'auth-svc' });
    assertExportOk(await stack.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(d.doc) }), 'json', 'export');
    const denied = await request(stack.api.port, { path: `/api/traces/${d.traceId}` });
    assert.equal(denied.status, 401, `the API without the token: ${denied}`);
    const page0 = await request(stack.api.port, { path: '/' });
    assert.equal(page0.status, 200, 'the page itself loads without the token (it holds no data)');

    const page = await (await browser.newContext()).newPage();
    const prompts = [];
    page.on('dialog', async (dlg) => { prompts.push(dlg.message()); await dlg.accept(TOKEN); });
    await page.goto(`${stack.apiUrl}/#/correlation/${d.traceId}`);
    await page.waitForSelector('#corr-title', { timeout: 60_000 });
    const text = await page.textContent('body');
    assert.match(text, /auth-svc/, 'the looked-up trace is shown once the token was given');
    assert.equal(prompts.length, 1, `the token is asked for once: ${JSON.stringify(prompts)}`);
    assert.match(prompts[0], /query token/);
  })(t);
});
