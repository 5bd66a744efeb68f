// The web page served by otelpg-api at /, driven in headless Chromium (playwright-core with
// the system's /usr/bin/chromium; scripts/install-deps.sh installs it). A known trace over
// four services (attributes of every type, events, links, an error, hostile HTML in names
// and values), its logs and a metric exemplar, all carrying one order ID, go in through the
// collector; then a user's path through the page: search by service -> the result -> the
// waterfall -> collapse and expand -> a span's attributes, events, links and resource ->
// the trace's logs -> a click on a log selects its span -> the correlation box shows
// everything about the order -> the alerts and service map sections. Then a 10,000-span
// trace: how long the waterfall takes, and that the page stays responsive.
// Screenshots: tests/e2e/artifacts/ui/*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Postgres, Stack, request, expectStatus, artifactsDir } from './harness.mjs';
import { randomHex } from './otlp.mjs';

const SUITE = 'ui';
const SHOTS = path.join(artifactsDir, 'ui');
const CHROMIUM = process.env.OTELPG_CHROMIUM || '/usr/bin/chromium';
// Required here: the machine's closed network refuses Chromium's background connections.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let pg, stack, browser, page;
const pageErrors = [];
const foreignRequests = [];

// ---------------------------------------------------------------- the data

const MS = 1_000_000n;
const BASE = (BigInt(Date.now()) - 3n * 60_000n) * MS; // 3 minutes ago
const at = (ms) => BASE + BigInt(Math.round(ms * 1000)) * 1000n;
const ORDER = `ord-ui-${randomHex(4)}`;
const T = { A: randomHex(16), B: randomHex(16), BIG: randomHex(16) };
const S = Object.fromEntries(['root', 'feClient', 'coServer', 'validate', 'coClient', 'charge', 'publish', 'dbInsert', 'ship']
  .map((k) => [k, randomHex(8)]));
const XSS = '<img src=x onerror="window.__pwned=1">';

const sv = (v) => ({ stringValue: v });
const attr = (k, v) => ({
  key: k,
  value: typeof v === 'string' ? sv(v) : typeof v === 'boolean' ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v },
});
const resource = (service, extra = []) => ({
  attributes: [attr('service.name', service), attr('service.version', '2.4.1'), attr('host.name', `${service}-host-1`),
    attr('deployment.environment', 'e2e'), ...extra],
});
function span(traceId, id, parent, name, kind, startMs, durMs, { attrs = [], status, events, links } = {}) {
  return {
    traceId, spanId: id, ...(parent ? { parentSpanId: parent } : {}), name, kind,
    startTimeUnixNano: String(at(startMs)), endTimeUnixNano: String(at(startMs + durMs)),
    attributes: attrs, ...(status ? { status } : {}), ...(events ? { events } : {}), ...(links ? { links } : {}),
  };
}
const rs = (service, spans, scope = `${service}-tracer`) => ({
  resource: resource(service), scopeSpans: [{ scope: { name: scope, version: '1.0.0' }, spans }],
});

// Trace A: frontend -> checkout -> payment (error) + db + a message published for trace B.
const TRACE_A = {
  resourceSpans: [
    rs('frontend', [
      span(T.A, S.root, null, 'GET /checkout', 2, 0, 250, { attrs: [attr('http.request.method', 'GET'), attr('http.route', '/checkout'), attr('order.id', ORDER), attr('http.response.status_code', 502)] }),
      span(T.A, S.feClient, S.root, 'POST /orders', 3, 10, 230, { attrs: [attr('server.address', 'checkout')] }),
    ]),
    rs('checkout', [
      span(T.A, S.coServer, S.feClient, 'POST /orders', 2, 15, 220, { attrs: [attr('order.id', ORDER), attr('cart.items', 3)] }),
      span(T.A, S.validate, S.coServer, 'validate cart', 1, 20, 20, {
        attrs: [attr('cart.valid', true), attr(`evil ${XSS}`, `value ${XSS}`)],
        events: [{ timeUnixNano: String(at(30)), name: 'cart validated', attributes: [attr('rules.checked', 12)] }],
      }),
      span(T.A, S.coClient, S.coServer, `charge card ${XSS}`, 3, 50, 150),
      span(T.A, S.publish, S.coServer, 'publish order.created', 4, 205, 5, {
        links: [{ traceId: T.B, spanId: S.ship, attributes: [attr('link.reason', 'async fulfilment')] }],
      }),
      span(T.A, S.dbInsert, S.coServer, 'INSERT orders', 3, 180, 20, { attrs: [attr('db.system.name', 'postgresql'), attr('db.query.text', 'INSERT INTO orders VALUES ($1)')] }),
    ]),
    rs('payment', [
      span(T.A, S.charge, S.coClient, 'charge', 2, 55, 140, {
        attrs: [attr('payment.amount', 42.5), attr('payment.currency', 'EUR')],
        status: { code: 2, message: 'card declined' },
        events: [{ timeUnixNano: String(at(190)), name: 'exception', attributes: [attr('exception.type', 'CardDeclined'), attr('exception.message', 'insufficient funds')] }],
      }),
    ]),
  ],
};
const SPANS_A = 8;
// Trace B: the asynchronous fulfilment, linked from A, carrying the same order ID.
const TRACE_B = { resourceSpans: [rs('shipping', [span(T.B, S.ship, null, 'ship order', 5, 1000, 80, { attrs: [attr('order.id', ORDER)] })])] };

const logRec = (ms, sev, text, body, { traceId, spanId, attrs = [] } = {}) => ({
  timeUnixNano: String(at(ms)), severityNumber: sev, severityText: text, body: sv(body), attributes: attrs,
  ...(traceId ? { traceId, spanId } : {}),
});
const logDoc = (service, records) => ({ resourceLogs: [{ resource: resource(service), scopeLogs: [{ scope: { name: `${service}-logger` }, logRecords: records }] }] });
const LOGS = [
  logDoc('checkout', [logRec(25, 9, 'INFO', 'order accepted', { traceId: T.A, spanId: S.coServer, attrs: [attr('order.id', ORDER)] })]),
  logDoc('payment', [logRec(190, 17, 'ERROR', `card declined ${XSS}`, { traceId: T.A, spanId: S.charge, attrs: [attr('order.id', ORDER), attr('attempt', 1)] })]),
  logDoc('checkout', [logRec(3000, 13, 'WARN', 'payment retry scheduled', { attrs: [attr('order.id', ORDER)] })]), // no trace
];
const METRICS = {
  resourceMetrics: [{
    resource: resource('frontend'),
    scopeMetrics: [{
      scope: { name: 'frontend-meter' },
      metrics: [{
        name: 'http.server.request.duration', unit: 's',
        histogram: {
          aggregationTemporality: 2,
          dataPoints: [{
            startTimeUnixNano: String(at(-60_000)), timeUnixNano: String(at(300)), count: '1', sum: 0.25,
            bucketCounts: ['0', '1', '0'], explicitBounds: [0.1, 1], attributes: [attr('http.route', '/checkout')],
            exemplars: [{ timeUnixNano: String(at(250)), asDouble: 0.25, traceId: T.A, spanId: S.root }],
          }],
        },
      }],
    }],
  }],
};

// 10,000 spans: a root, 99 children, 100 grandchildren each; ten services.
function bigTrace() {
  const spans = [];
  const root = randomHex(8);
  spans.push({ svc: 0, s: span(T.BIG, root, null, 'big root', 2, 0, 5000) });
  for (let i = 0; i < 99; i++) {
    const c = randomHex(8);
    spans.push({ svc: 1 + (i % 9), s: span(T.BIG, c, root, `child ${i}`, 1, i * 50, 48, { attrs: [attr('i', i)] }) });
    for (let j = 0; j < 100; j++) {
      spans.push({ svc: (i + j) % 10, s: span(T.BIG, randomHex(8), c, `leaf ${i}.${j}`, 3, i * 50 + j * 0.45, 0.4, { attrs: [attr('j', j)], ...(j === 99 && i === 98 ? { status: { code: 2 } } : {}) }) });
    }
  }
  return spans;
}

// ---------------------------------------------------------------- set-up

async function post(p, doc) {
  const res = await request(stack.collector.port, { method: 'POST', path: p, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(doc) });
  expectStatus(res, 200, `POST ${p}`);
  const j = res.json();
  const rej = Number(j.partialSuccess?.rejectedSpans ?? 0) + Number(j.partialSuccess?.rejectedLogRecords ?? 0) + Number(j.partialSuccess?.rejectedDataPoints ?? 0);
  assert.equal(rej, 0, `POST ${p}: nothing may be rejected: ${res}`);
}

async function shot(name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

const ui = (fn) => (t) => stack.wrap(async () => {
  try {
    await fn(t);
  } catch (e) {
    await shot(`FAILED-${t.name.replace(/\W+/g, '_').slice(0, 60)}`).catch(() => {});
    const where = await page.evaluate(() => `${location.href}\n${document.querySelector('main')?.innerText.slice(0, 3000)}`).catch((x) => x.message);
    process.stderr.write(`\n##### page at the failure of "${t.name}": ${where}\n#####\n`);
    throw e;
  }
})(t);

before(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install the Debian package chromium (scripts/install-deps.sh) or set OTELPG_CHROMIUM`);
  pg = await Postgres.start('ui');
  stack = await Stack.start({ suite: `${SUITE}/main`, dbUrl: pg.url });
  await post('/v1/traces', TRACE_A);
  await post('/v1/traces', TRACE_B);
  for (const d of LOGS) await post('/v1/logs', d);
  await post('/v1/metrics', METRICS);
  const big = bigTrace();
  for (let i = 0; i < big.length; i += 2500) {
    const bySvc = new Map();
    for (const { svc, s } of big.slice(i, i + 2500)) {
      if (!bySvc.has(svc)) bySvc.set(svc, []);
      bySvc.get(svc).push(s);
    }
    await post('/v1/traces', { resourceSpans: [...bySvc].map(([svc, spans]) => rs(`bulk-svc-${svc}`, spans)) });
  }

  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(60_000); // a loaded CI machine
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // Chromium reports every non-2xx fetch (e.g. /api/alerts answering 404) as a console error.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });
  page.on('request', (r) => { if (!r.url().startsWith(stack.apiUrl) && !r.url().startsWith('data:')) foreignRequests.push(r.url()); });
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
});

after(async () => {
  await browser?.close().catch(() => {});
  await stack?.stopAll();
  await pg?.stop();
});

const rowNames = () => page.$$eval('#waterfall .wf-row', (rows) => rows.map((r) => `${r.querySelector('.wf-svc').textContent}: ${r.querySelector('.wf-op').textContent}`));
const rowByName = (svc, op) => page.locator('#waterfall .wf-row', { has: page.locator('.wf-svc', { hasText: svc }) })
  .filter({ has: page.locator('.wf-op', { hasText: new RegExp(`^${op.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) });

// ---------------------------------------------------------------- the page itself

test('/ serves the page; its files carry Content-Type, Cache-Control, nosniff and a strict CSP', ui(async () => {
  const files = { '/': /^text\/html; charset=utf-8/, '/index.html': /^text\/html/, '/app.js': /^text\/javascript/, '/util.js': /^text\/javascript/, '/waterfall.js': /^text\/javascript/, '/style.css': /^text\/css/, '/favicon.svg': /^image\/svg\+xml/ };
  for (const [p, ct] of Object.entries(files)) {
    const r = expectStatus(await stack.apiGet(p), 200, `GET ${p}`);
    assert.match(r.contentType, ct, `GET ${p}: content-type`);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', `GET ${p}: nosniff`);
    const csp = r.headers['content-security-policy'] || '';
    assert.match(csp, /default-src 'self'/, `GET ${p}: CSP ${csp}`);
    assert.match(csp, /script-src 'self'(;|$)/, `GET ${p}: no inline script allowed: ${csp}`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, `GET ${p}: CSP ${csp}`);
    assert.ok(r.headers['cache-control'], `GET ${p}: Cache-Control`);
    assert.ok(r.headers.etag, `GET ${p}: ETag`);
    const again = await stack.apiGet(p, { headers: { 'If-None-Match': r.headers.etag } });
    assert.equal(again.status, 304, `GET ${p} with its ETag: ${again}`);
    assert.equal(again.body.length, 0);
  }
  const html = (await stack.apiGet('/')).text;
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script in index.html');
  assert.doesNotMatch(html, /https?:\/\//i, 'index.html loads nothing from elsewhere');
  assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/i, 'no inline style or handler attributes');
  const head = await request(stack.api.port, { method: 'HEAD', path: '/app.js' });
  assert.equal(head.status, 200);
  for (const p of ['/nope.js', '/index.htm', '/app.js/x', '/../index.html', '/api/nothing']) {
    const r = await stack.apiGet(p);
    assert.equal(r.status, 404, `GET ${p}: unknown paths get the API's 404: ${r}`);
    assert.match(r.contentType, /application\/json/, `GET ${p}`);
  }
}));

test('search by service lists the trace with its root operation, duration, span and error counts', ui(async () => {
  const svc = await stack.apiGet('/api/services');
  assert.equal(svc.status, 200, `the search API must be there: ${svc}`);
  await page.goto(`${stack.apiUrl}/`);
  await page.waitForSelector('#f-service option[value="checkout"]', { state: 'attached' });
  await page.selectOption('#f-service', 'checkout');
  await page.waitForSelector('#f-operation option[value="validate cart"]', { state: 'attached' });
  await page.selectOption('#f-range', '1h');
  await page.click('#search-form button[type=submit]');
  const item = page.locator(`li.result[data-trace-id="${T.A}"]`);
  await item.waitFor();
  const text = await item.innerText();
  assert.match(text, /frontend: GET \/checkout/, `root service and operation: ${text}`);
  assert.match(text, /8 spans/, text);
  assert.match(text, /1 error/, text);
  assert.match(text, /250ms/, `duration: ${text}`);
  assert.match(text, new RegExp(T.A.slice(0, 12)), text);
  assert.match(text, /payment \(1\)/, `services with their span counts: ${text}`);
  assert.equal(await page.locator(`li.result[data-trace-id="${T.B}"]`).count(), 0, 'the shipping-only trace does not match service=checkout');
  assert.match(page.url(), /#\/search\?.*service=checkout/, 'the search is in the URL (bookmarkable)');
  await shot('01-search');

  // Attributes and "errors only" become Jaeger tags.
  await page.selectOption('#f-service', 'shipping');
  await page.fill('#f-tags', `order.id=${ORDER}`);
  await page.click('#search-form button[type=submit]');
  await page.locator(`li.result[data-trace-id="${T.B}"]`).waitFor();
  await page.check('#f-errors');
  await page.click('#search-form button[type=submit]');
  await page.waitForSelector('#results .result-empty');
  await page.uncheck('#f-errors');
  await page.fill('#f-tags', 'order.id="no such order"');
  await page.click('#search-form button[type=submit]');
  await page.waitForSelector('#results .result-empty');
  await page.fill('#f-tags', '');
  await page.selectOption('#f-service', 'payment');
  await page.check('#f-errors');
  await page.click('#search-form button[type=submit]');
  await page.locator(`li.result[data-trace-id="${T.A}"]`).waitFor();
  await page.uncheck('#f-errors');
  await page.selectOption('#f-service', 'checkout');
  await page.fill('#f-min', '200ms');
  await page.click('#search-form button[type=submit]');
  await page.locator(`li.result[data-trace-id="${T.A}"]`).waitFor();
  await page.fill('#f-min', '1s');
  await page.click('#search-form button[type=submit]');
  await page.waitForSelector('#results .result-empty');
  await page.fill('#f-min', '');
  // A custom time range: the last 10 minutes finds it, a range before it does not.
  const local = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60e3).toISOString().slice(0, 19);
  await page.selectOption('#f-range', 'custom');
  await page.waitForSelector('#f-from:visible');
  await page.fill('#f-from', local(Date.now() - 10 * 60e3));
  await page.fill('#f-to', local(Date.now() + 60e3));
  await page.click('#search-form button[type=submit]');
  await page.locator(`li.result[data-trace-id="${T.A}"]`).waitFor();
  await page.fill('#f-from', local(Date.now() - 60 * 60e3));
  await page.fill('#f-to', local(Date.now() - 30 * 60e3));
  await page.click('#search-form button[type=submit]');
  await page.waitForSelector('#results .result-empty');
  await page.selectOption('#f-range', '1h');
}));

test('opening a trace shows every span in the waterfall, as a tree', ui(async () => {
  await page.goto(`${stack.apiUrl}/#/search?service=checkout`);
  await page.locator(`li.result[data-trace-id="${T.A}"] a`).click();
  await page.waitForFunction((n) => document.querySelectorAll('#waterfall .wf-row').length === n, SPANS_A);
  assert.match(page.url(), new RegExp(`#/trace/${T.A}$`));
  assert.deepEqual(await rowNames(), [
    'frontend: GET /checkout', 'frontend: POST /orders', 'checkout: POST /orders', 'checkout: validate cart',
    `checkout: charge card ${XSS}`, 'payment: charge', 'checkout: INSERT orders', 'checkout: publish order.created',
  ], 'rows in tree order, children by start time');
  const levels = await page.$$eval('#waterfall .wf-row', (rows) => rows.map((r) => Number(r.getAttribute('aria-level'))));
  assert.deepEqual(levels, [1, 2, 3, 4, 4, 5, 4, 4], 'depths');
  assert.equal(await page.textContent('#trace-span-count'), `${SPANS_A} spans`);
  assert.match(await page.textContent('#trace-head'), /1 error/);
  assert.equal(await rowByName('payment', 'charge').evaluate((r) => r.classList.contains('error')), true, 'the error span is marked');
  // Bars are placed on the time axis: the payment span starts 55/250 of the way in.
  const lane = await rowByName('payment', 'charge').locator('.wf-lane').boundingBox();
  const bar = await rowByName('payment', 'charge').locator('.wf-bar').boundingBox();
  assert.ok(Math.abs((bar.x - lane.x) / lane.width - 55 / 250) < 0.01, `bar offset ${(bar.x - lane.x) / lane.width}`);
  assert.ok(Math.abs(bar.width / lane.width - 140 / 250) < 0.01, `bar width ${bar.width / lane.width}`);
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'HTML in span names is shown as text, never run');
  await shot('02-trace');
}));

test('a subtree collapses and expands', ui(async () => {
  const node = rowByName('checkout', 'POST /orders');
  await node.locator('.wf-toggle').click();
  await page.waitForFunction(() => document.querySelectorAll('#waterfall .wf-row').length === 3);
  assert.equal(await node.getAttribute('aria-expanded'), 'false');
  assert.equal(await node.locator('.wf-more').textContent(), '+5', 'the collapsed row says how many spans it hides');
  await shot('03-collapsed');
  await node.locator('.wf-toggle').click();
  await page.waitForFunction((n) => document.querySelectorAll('#waterfall .wf-row').length === n, SPANS_A);
  await page.click('#wf-collapse');
  await page.waitForFunction(() => document.querySelectorAll('#waterfall .wf-row').length === 1);
  await page.click('#wf-expand');
  await page.waitForFunction((n) => document.querySelectorAll('#waterfall .wf-row').length === n, SPANS_A);
}));

test('a click on a span shows its attributes, status, events, links, resource and scope', ui(async () => {
  await rowByName('payment', 'charge').click();
  const d = page.locator('#span-detail');
  await d.locator('h3', { hasText: 'charge' }).waitFor();
  const text = await d.innerText();
  for (const want of [S.charge, `Parent span ID\t${S.coClient}`, 'Kind\tserver', 'Duration\t140ms', 'Status\terror: card declined',
    'payment.amount\t42.5', 'payment.currency\tEUR', 'Events (1)', 'exception', 'exception.type\tCardDeclined',
    'exception.message\tinsufficient funds', 'Resource (4)', 'service.version\t2.4.1', 'host.name\tpayment-host-1',
    'deployment.environment\te2e', 'name\tpayment-tracer', 'version\t1.0.0']) {
    // (section titles are upper-cased by the style sheet)
    assert.ok(text.toLowerCase().includes(want.toLowerCase()), `span detail must show "${want}":\n${text}`);
  }
  assert.equal(await rowByName('payment', 'charge').evaluate((r) => r.classList.contains('selected')), true);
  await shot('04-span-detail');

  await rowByName('checkout', 'validate cart').click();
  await d.locator('h3', { hasText: 'validate cart' }).waitFor();
  const v = await d.innerText();
  assert.ok(v.includes('cart.valid\ttrue') && v.includes('cart validated') && v.includes('rules.checked\t12'), v);
  assert.ok(v.includes(`evil ${XSS}\tvalue ${XSS}`), `hostile attribute shown as text: ${v}`);

  await rowByName('checkout', 'publish order.created').click();
  await d.locator('h3', { hasText: 'publish order.created' }).waitFor();
  const l = await d.innerText();
  assert.ok(/links \(1\)/i.test(l) && l.includes(`${T.B} / ${S.ship}`) && l.includes('link.reason\tasync fulfilment'), l);
  assert.ok(l.includes('Kind\tproducer'), l);
  assert.equal(await d.locator('a.link-open').getAttribute('href'), `#/trace/${T.B}?span=${S.ship}`);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
}));

test("the trace's logs are shown in time order; a click on one selects its span", ui(async () => {
  const logs = page.locator('#trace-logs li.log');
  await page.waitForFunction(() => document.querySelectorAll('#trace-logs li.log').length === 2);
  const texts = await logs.allInnerTexts();
  assert.match(texts[0], /INFO[\s\S]*checkout[\s\S]*order accepted/, texts[0]);
  assert.match(texts[1], /ERROR[\s\S]*payment[\s\S]*card declined <img/, texts[1]);
  assert.match(texts[1], /attempt=1/, 'log attributes are shown');
  assert.match(await page.textContent('#logs-count'), /\(2\)/);
  await logs.nth(1).click();
  await page.waitForFunction((id) => document.querySelector('#waterfall .wf-row.selected')?.dataset.spanId === id, S.charge);
  await page.locator('#span-detail h3', { hasText: 'charge' }).waitFor();
  assert.equal(await logs.nth(1).evaluate((li) => li.classList.contains('active')), true);
  // Selecting a span highlights its logs.
  await rowByName('checkout', 'POST /orders').click();
  await page.waitForFunction(() => document.querySelector('#trace-logs li.log.of-selected')?.textContent.includes('order accepted'));
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'HTML in log bodies is shown as text');
  await shot('05-logs');
}));

test('the correlation box shows everything about one order: traces, logs, metric exemplars', ui(async () => {
  await page.fill('#corr-id', ORDER);
  await page.press('#corr-id', 'Enter');
  await page.waitForSelector('#corr-title');
  assert.equal(await page.textContent('#corr-title'), ORDER);
  const traces = await page.$$eval('#corr-traces tbody tr', (rows) => rows.map((r) => r.dataset.traceId).sort());
  assert.deepEqual(traces, [T.A, T.B].sort(), 'both traces carrying the order ID');
  const rowA = await page.locator(`#corr-traces tr[data-trace-id="${T.A}"]`).innerText();
  assert.match(rowA, /frontend: GET \/checkout/, rowA);
  assert.match(rowA, /\b8\b/, rowA);
  const logs = await page.locator('#corr-body li.log').allInnerTexts();
  assert.equal(logs.length, 3, logs.join('\n'));
  assert.ok(logs.some((l) => /order accepted/.test(l)) && logs.some((l) => /card declined/.test(l)), logs.join('\n'));
  assert.ok(logs.some((l) => /payment retry scheduled[\s\S]*/.test(l) && /no trace/.test(l)), `the trace-less log: ${logs.join('\n')}`);
  const metrics = await page.locator('#corr-metrics tbody tr').allInnerTexts();
  assert.equal(metrics.length, 1, metrics.join('\n'));
  assert.match(metrics[0], /http\.server\.request\.duration[\s\S]*frontend[\s\S]*0\.25/, metrics[0]);
  await shot('06-correlation');
  // Each trace opens in the trace view.
  await page.click(`#corr-traces tr[data-trace-id="${T.B}"] td:first-child a`);
  await page.waitForFunction(() => document.querySelectorAll('#waterfall .wf-row').length === 1);
  assert.deepEqual(await rowNames(), ['shipping: ship order']);
  // A trace ID in the box works too.
  await page.fill('#corr-id', T.A.toUpperCase());
  await page.press('#corr-id', 'Enter');
  await page.waitForFunction((id) => document.querySelector(`#corr-traces tr[data-trace-id="${id}"]`), T.A);
}));

test('the alerts section and the service map', ui(async () => {
  const alerts = await stack.apiGet('/api/alerts');
  await page.goto(`${stack.apiUrl}/#/alerts`);
  if (alerts.status === 404) {
    await page.waitForSelector('#alerts-body .alerts-none');
    assert.equal(await page.textContent('#alerts-body'), 'no alerting configured');
    await shot('07-alerts');
    await page.goto(`${stack.apiUrl}/#/`);
    await page.waitForFunction(() => document.querySelector('#alerts-mini')?.textContent === 'no alerting configured');
  } else {
    assert.equal(alerts.status, 200, `/api/alerts: ${alerts}`);
    await page.waitForFunction(() => !/Loading/.test(document.querySelector('#alerts-body').textContent));
    assert.equal(await page.locator('#alerts-body .msg.error').count(), 0, await page.textContent('#alerts-body'));
    await shot('07-alerts');
  }

  const deps = await stack.apiGet(`/api/dependencies?endTs=${Date.now()}&lookback=86400000`);
  await page.goto(`${stack.apiUrl}/#/map`);
  if (deps.status === 404 || deps.status === 501) {
    await page.waitForFunction(() => /not available/.test(document.querySelector('#map-body').textContent));
    return;
  }
  assert.equal(deps.status, 200, `/api/dependencies: ${deps}`);
  await page.waitForSelector('#map-table');
  const rows = await page.locator('#map-table tbody tr').allInnerTexts();
  const find = (p, c) => rows.find((r) => r.split('\t').slice(0, 3).join(' ') === `${p} → ${c}`);
  assert.ok(find('frontend', 'checkout'), `frontend → checkout: ${rows.join('\n')}`);
  assert.ok(find('checkout', 'payment'), `checkout → payment: ${rows.join('\n')}`);
  assert.match(find('checkout', 'payment'), /\t1\t1\t100\.0%$/, 'one call, one error');
  assert.ok(await page.locator('#map-body svg.map .node').count() >= 3, 'the graph is drawn');
  await shot('08-service-map');
}));

test('a 10,000-span trace renders quickly and the page stays responsive', ui(async (t) => {
  await page.goto(`${stack.apiUrl}/#/`);
  await page.waitForSelector('#view-search:not([hidden])');
  const t0 = Date.now();
  await page.evaluate((id) => { location.hash = `#/trace/${id}`; }, T.BIG);
  await page.waitForFunction(() => document.querySelector('#trace-span-count')?.textContent === '10000 spans' && document.querySelectorAll('#waterfall .wf-row').length > 10, null, { timeout: 60_000 });
  const openMs = Date.now() - t0;
  // The page's own timings of this trace (written once the first frame is drawn).
  await page.waitForFunction((id) => window.otelpg.perf.trace?.id === id, T.BIG);
  const p = await page.evaluate(() => window.otelpg.perf.trace);
  assert.equal(p.spans, 10000);
  const domRows = await page.locator('#waterfall .wf-row').count();
  assert.ok(domRows < 200, `only the visible rows are in the DOM (virtualized), not ${domRows}`);

  // Scroll to the very end: the last span is drawn.
  const scrollMs = await page.evaluate(async () => {
    const s = document.querySelector('#waterfall .wf-scroll');
    const t = performance.now();
    s.scrollTop = s.scrollHeight;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    return performance.now() - t;
  });
  await page.waitForFunction(() => [...document.querySelectorAll('#waterfall .wf-op')].some((e) => e.textContent === 'leaf 98.99'));
  await shot('09-big-trace-end');

  // Frames while scrolling through all of it: the longest gap between two frames.
  const frames = await page.evaluate(async () => {
    const s = document.querySelector('#waterfall .wf-scroll');
    let last = performance.now(), worst = 0, n = 0;
    for (let y = 0; y < s.scrollHeight; y += 4000) {
      s.scrollTop = y;
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
      n++;
    }
    return { worst, n };
  });

  const timeClick = async (sel, rows) => {
    const t1 = Date.now();
    await page.click(sel);
    await page.waitForFunction((n) => document.querySelectorAll('#waterfall .wf-row').length <= n, rows);
    return Date.now() - t1;
  };
  const collapseMs = await timeClick('#wf-collapse', 1);
  const expandT = Date.now();
  await page.click('#wf-expand');
  await page.waitForFunction(() => document.querySelectorAll('#waterfall .wf-row').length > 10);
  const expandMs = Date.now() - expandT;
  // A click on a span answers at once.
  const selectT = Date.now();
  await page.locator('#waterfall .wf-row').nth(3).click();
  await page.waitForSelector('#span-detail h3');
  const selectMs = Date.now() - selectT;
  await page.locator('#waterfall .wf-row').first().scrollIntoViewIfNeeded();
  await shot('10-big-trace');

  const report = { spans: p.spans, openMs, fetchMs: +p.fetchMs.toFixed(1), modelMs: +p.modelMs.toFixed(1), renderMs: +p.renderMs.toFixed(1), firstPaintMs: +p.paintedMs.toFixed(1), scrollToEndMs: +scrollMs.toFixed(1), worstFrameWhileScrollingMs: +frames.worst.toFixed(1), scrollSteps: frames.n, collapseAllMs: collapseMs, expandAllMs: expandMs, selectSpanMs: selectMs, domRows };
  fs.writeFileSync(path.join(SHOTS, 'perf-10k.json'), `${JSON.stringify(report, null, 2)}\n`);
  t.diagnostic(`10,000-span trace: ${JSON.stringify(report)}`);
  assert.ok(p.modelMs + p.paintedMs < 2000, `building and drawing the waterfall took ${p.modelMs + p.paintedMs} ms`);
  assert.ok(frames.worst < 500, `a frame took ${frames.worst} ms while scrolling`);
  assert.ok(collapseMs < 2000 && expandMs < 2000 && selectMs < 2000, JSON.stringify(report));
}));

test('nothing was loaded from elsewhere, no CSP violation, no script error', ui(async () => {
  assert.deepEqual(foreignRequests, [], 'every request goes to otelpg-api');
  const csp = await page.evaluate(() => window.__cspViolations);
  assert.deepEqual(csp, [], 'no Content-Security-Policy violation');
  assert.deepEqual(pageErrors, [], 'no script error on the page');
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
}));
