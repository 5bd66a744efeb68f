// The instrumented order-domain services (instrumented-services/) against a real collector,
// query API and PostgreSQL: one order is one trace across every service (the asynchronous
// notification included, linked to its producer), with its logs and metric exemplars, all
// found by its correlation ID; a declined card compensates the saga; the payment breaker
// opens under an outage and closes after it; order events committed while the notification
// service is down reach it when it comes back (the outbox feed, not NOTIFY, delivers them);
// and the services keep serving without a collector.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Postgres, Stack, Daemon, binDir, artifactsDir, freePort, request, waitFor, sleep, parseProm } from './harness.mjs';

const SUITE = 'services';
const ADMIN = 'test-admin';
const TOKEN = 'test-token';
let pg, stack, svcEnv, notificationArgs;
const svc = {};

async function startService(name, extraArgs, env) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const d = new Daemon(name, path.join(binDir, `otelpg-${name}`), ['--listen', `127.0.0.1:${port}`, ...extraArgs], {
      env, logDir: path.join(artifactsDir, SUITE),
    });
    d.port = port;
    stack.daemons.push(d);
    d.start();
    try {
      await waitFor(async () => {
        if (d.exit) throw new Error(`${name} exited: ${d.output.slice(-3000)}`);
        return (await request(port, { path: '/health', timeout: 2000 })).status === 200;
      }, { timeout: 20_000, what: `${name} healthy` });
      return d;
    } catch (e) {
      if (attempt < 3 && d.exit && /cannot listen|address in use/i.test(d.output)) continue;
      throw e;
    }
  }
}

before(async () => {
  pg = await Postgres.start('services');
  stack = await Stack.start({ suite: `${SUITE}/stack`, dbUrl: pg.url });
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: stack.collectorUrl,
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_METRIC_EXPORT_INTERVAL: '500',
    OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
    OTELPG_ADMIN_TOKEN: ADMIN,
    OTELPG_SVC_BREAKER_THRESHOLD: '3',
    OTELPG_SVC_BREAKER_OPEN: '1500',
    OTELPG_SVC_BACKOFF_BASE: '10',
  };
  const db = ['--db', pg.url];
  svcEnv = env;
  svc.inventory = await startService('inventory', db, env);
  svc.payment = await startService('payment', [...db, '--slow-card-delay', '300'], env);
  svc.order = await startService('order', [...db, '--inventory-url', `http://127.0.0.1:${svc.inventory.port}`,
    '--payment-url', `http://127.0.0.1:${svc.payment.port}`], env);
  notificationArgs = [...db, '--order-url', `http://127.0.0.1:${svc.order.port}`];
  svc.notification = await startService('notification', notificationArgs, env);
  svc.gateway = await startService('gateway', ['--order-url', `http://127.0.0.1:${svc.order.port}`,
    '--tokens', `test:${TOKEN}`], env);
});

after(async () => {
  await stack?.stopAll();
  await pg?.stop();
});

const w = (fn) => (t) => stack.wrap(fn)(t);

function placeOrder({ corr, card = '4242424242424242', sku = 'sku-widget', quantity = 2, version = 1, token = TOKEN } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (corr) headers['X-Correlation-ID'] = corr;
  return request(svc.gateway.port, {
    method: 'POST', path: `/api/v${version}/orders`, headers,
    body: { customerId: 'cust-1', sku, quantity, amountCents: 1999, card },
  });
}

function setFaults(d, faults) {
  return request(d.port, {
    method: 'POST', path: '/admin/faults', body: faults,
    headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
  });
}

function spansOf(trace) {
  const out = [];
  for (const rs of trace.resourceSpans) {
    const service = rs.resource.attributes.find((a) => a.key === 'service.name').value.stringValue;
    for (const ss of rs.scopeSpans) for (const s of ss.spans) {
      const attrs = Object.fromEntries((s.attributes || []).map((a) => [a.key, Object.values(a.value)[0]]));
      out.push({ ...s, service, attrs });
    }
  }
  return out;
}

async function correlation(id, want) {
  return waitFor(async () => {
    const r = await stack.apiGet(`/api/correlations/${encodeURIComponent(id)}`);
    if (r.status !== 200) return false;
    const d = r.json();
    return want(d) ? d : false;
  }, { timeout: 20_000, interval: 250, what: `correlation ${id} complete` });
}

async function stock(sku) {
  const r = await request(svc.inventory.port, { path: `/stock/${sku}` });
  return r.json().available;
}

async function breakerState(peer) {
  const r = await request(svc.order.port, { path: '/metrics' });
  const m = parseProm(r.text).find((x) => x.name === 'svc_circuit_breaker_state' && x.labels.peer === peer);
  return m?.value;
}

test('an order through the gateway is one trace across all services, with logs and metrics, found by its correlation ID', w(async () => {
  const corr = `e2e-order-${Date.now()}`;
  const res = await placeOrder({ corr });
  assert.equal(res.status, 201, res.toString());
  assert.equal(res.headers['x-correlation-id'], corr);
  const order = res.json();
  assert.equal(order.status, 'confirmed');
  assert.equal(order.correlationId, corr);
  assert.match(order.orderId, /^ord-[0-9a-f]{16}$/);

  const services = ['gateway', 'order', 'inventory', 'payment', 'notification'];
  const d = await correlation(corr, (d) => d.traces.length === 1 &&
    services.every((s) => spansOf(d.traces[0]).some((x) => x.service === s)) &&
    d.logs.some((l) => l.service === 'notification') &&
    d.metrics.some((m) => m.name === 'http.server.request.duration' && m.service === 'gateway') &&
    d.metrics.some((m) => m.name === 'saga.duration' && m.service === 'order'));
  const trace = d.traces[0];
  const spans = spansOf(trace);
  assert.equal(trace.rootService, 'gateway');
  assert.equal(trace.rootName, 'POST /api/v1/orders');
  // every span carries the correlation ID; the spans after the order exists carry its ID
  for (const s of spans) assert.equal(s.attrs['correlation.id'], corr, `${s.service} ${s.name}`);
  for (const name of ['saga place_order', 'reserve_stock', 'charge_payment', 'order.created']) {
    const s = spans.find((x) => x.name === name);
    assert.ok(s, `span ${name}`);
    assert.equal(s.attrs['order.id'], order.orderId);
  }
  // one trace: every parent is in it
  const ids = new Set(spans.map((s) => s.spanId));
  for (const s of spans) if (s.parentSpanId) assert.ok(ids.has(s.parentSpanId), `parent of ${s.service} ${s.name}`);
  // the asynchronous consumer continues the trace and links to its producer
  const producer = spans.find((s) => s.name === 'order.created' && s.kind === 4);
  const consumer = spans.find((s) => s.service === 'notification' && s.kind === 5);
  assert.ok(producer && consumer);
  assert.equal(consumer.parentSpanId, producer.spanId);
  assert.deepEqual(consumer.links.map((l) => l.spanId), [producer.spanId]);
  // logs carry the trace and span of the span they were written in
  assert.ok(d.logs.length >= 4);
  for (const l of d.logs) {
    assert.equal(l.record.traceId, trace.traceID);
    assert.ok(ids.has(l.record.spanId), `log span ${l.record.spanId}`);
  }
  // exemplars of the duration histograms point at this trace
  assert.ok(d.metrics.some((m) => m.name === 'http.server.request.duration' && m.service === 'gateway'));
  for (const m of d.metrics) assert.equal(m.exemplar.traceId, trace.traceID);

  // the notification was recorded, and v2 answers the versioned shape
  const n = await waitFor(async () => {
    const r = await request(svc.notification.port, { path: `/notifications/${order.orderId}` });
    return r.status === 200 && r.json().notifications.length === 1 && r.json();
  }, { what: 'notification recorded' });
  assert.equal(n.notifications[0].type, 'order.created');
  const v2 = await placeOrder({ version: 2 });
  assert.equal(v2.status, 201);
  const body = v2.json();
  assert.equal(body.meta.apiVersion, 2);
  assert.equal(body.data.order.status, 'confirmed');
  assert.equal(body.meta.correlationId, v2.headers['x-correlation-id']);
  assert.match(body.meta.traceId, /^[0-9a-f]{32}$/);
}));

test('the gateway refuses unknown tokens and rate-limits per client', w(async () => {
  const r = await placeOrder({ token: 'wrong' });
  assert.equal(r.status, 401);
  const none = await placeOrder({ token: null });
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'], 'Bearer');
  // a gateway allowing each client 1 request a second, 2 at once
  const strict = await startService('gateway', ['--order-url', `http://127.0.0.1:${svc.order.port}`,
    '--tokens', `a:${TOKEN},b:other-token`, '--rate', '1', '--burst', '2', '--otlp-endpoint', ''], {});
  try {
    const send = (token) => request(strict.port, {
      method: 'POST', path: '/api/v1/orders', headers: { Authorization: `Bearer ${token}` },
      body: { customerId: 'c', sku: 'sku-widget', quantity: 1, amountCents: 100, card: '4242424242424242' },
    });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await send(TOKEN)).status);
    assert.deepEqual(codes, [201, 201, 429, 429]);
    const limited = await send(TOKEN);
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    // the other client has its own bucket
    assert.equal((await send('other-token')).status, 201);
  } finally {
    await strict.stop();
  }
}));

test('a declined card compensates the saga: stock released, visible in the trace', w(async () => {
  const before = await stock('sku-gadget');
  const corr = `e2e-declined-${Date.now()}`;
  const res = await placeOrder({ corr, sku: 'sku-gadget', quantity: 3, card: '4000000000000002' });
  assert.equal(res.status, 402, res.toString());
  assert.equal(res.json().reason, 'payment_declined');
  assert.equal(await stock('sku-gadget'), before, 'the reservation was released');
  const orderId = res.json().orderId;
  const o = await request(svc.order.port, { path: `/orders/${orderId}` });
  assert.equal(o.json().status, 'failed');

  const d = await correlation(corr, (d) => d.traces.length === 1 &&
    spansOf(d.traces[0]).some((s) => s.service === 'inventory' && s.name === 'POST /reservations/{orderId}/release') &&
    spansOf(d.traces[0]).some((s) => s.service === 'notification'));
  const spans = spansOf(d.traces[0]);
  const comp = spans.find((s) => s.name === 'saga compensate');
  assert.ok(comp, 'compensation span');
  const release = spans.find((s) => s.name === 'release_stock');
  assert.equal(release.parentSpanId, comp.spanId);
  assert.equal(release.attrs['saga.compensation'], true);
  const saga = spans.find((s) => s.name === 'saga place_order');
  assert.equal(saga.attrs['saga.outcome'], 'payment_declined');
  assert.equal(saga.status.code, 2);
  const consumer = spans.find((s) => s.service === 'notification' && s.kind === 5);
  assert.equal(consumer.name, 'order.failed process');
  assert.ok(d.logs.some((l) => /compensated|released/.test(l.record.body.stringValue)));
}));

test('the payment breaker opens under an outage and closes after recovery', w(async () => {
  assert.equal(await breakerState('payment'), 0);
  const before = await stock('sku-gizmo');
  assert.equal((await setFaults(svc.payment, { down: true })).status, 200);
  try {
    await waitFor(async () => {
      const r = await placeOrder({ sku: 'sku-gizmo', quantity: 1 });
      assert.equal(r.status, 503, r.toString());
      return (await breakerState('payment')) === 1;
    }, { timeout: 20_000, interval: 10, what: 'payment breaker open' });
    // open: the saga fails fast without calling payment, and compensates
    const t0 = Date.now();
    const corr = `e2e-open-${Date.now()}`;
    const r = await placeOrder({ corr, sku: 'sku-gizmo', quantity: 1 });
    assert.equal(r.status, 503);
    assert.ok(Date.now() - t0 < 1000, 'fails fast while open');
    assert.equal(await stock('sku-gizmo'), before, 'every failed order released its stock');
    const d = await correlation(corr, (d) => d.traces.length === 1 &&
      spansOf(d.traces[0]).some((s) => s.attrs['circuit_breaker.state'] === 'open'));
    assert.ok(spansOf(d.traces[0]).some((s) => s.status?.code === 2));
  } finally {
    assert.equal((await setFaults(svc.payment, { down: false })).status, 200);
  }
  await sleep(1600); // the breaker's open period
  const ok = await placeOrder({ sku: 'sku-gizmo', quantity: 1 });
  assert.equal(ok.status, 201, ok.toString());
  assert.equal(await breakerState('payment'), 0);
  const m = parseProm((await request(svc.order.port, { path: '/metrics' })).text)
    .find((x) => x.name === 'svc_circuit_breaker_transitions_total' && x.labels.peer === 'payment');
  assert.ok(m.value >= 3, 'closed -> open -> half-open -> closed');
  assert.match(svc.order.output, /circuit breaker for payment: closed -> open/);
  assert.match(svc.order.output, /circuit breaker for payment: half_open -> closed/);
  // the admin endpoint is guarded
  const denied = await request(svc.payment.port, { method: 'POST', path: '/admin/faults', body: { down: true } });
  assert.equal(denied.status, 401);
}));

test('events committed while the notification service is down are delivered when it is back', w(async () => {
  // the feed: bounded, in outbox id order
  const feed = await request(svc.order.port, { path: '/events?after=0&limit=2' });
  assert.equal(feed.status, 200, feed.toString());
  const page = feed.json();
  assert.equal(page.events.length, 2);
  assert.ok(page.events[0].id < page.events[1].id);
  assert.equal(page.next, page.events[1].id);
  assert.match(page.events[0].payload.eventId, /^[0-9a-f]{32}$/);
  assert.equal((await request(svc.order.port, { path: '/events?limit=5000' })).status, 400);
  assert.equal((await request(svc.order.port, { path: '/events?after=x' })).status, 400);

  const stopped = await svc.notification.stop();
  assert.equal(stopped.code, 0);
  const stamp = Date.now();
  const orders = [];
  for (let i = 0; i < 4; i++) {
    const corr = `e2e-offline-${stamp}-${i}`;
    const declined = i === 3;
    const r = await placeOrder({ corr, card: declined ? '4000000000000002' : '4242424242424242' });
    assert.equal(r.status, declined ? 402 : 201, r.toString());
    orders.push({ corr, id: r.json().orderId, type: declined ? 'order.failed' : 'order.created' });
  }
  // nobody listened to these NOTIFYs; the feed still has the events
  svc.notification = await startService('notification', notificationArgs, svcEnv);
  for (const o of orders) {
    const n = await waitFor(async () => {
      const r = await request(svc.notification.port, { path: `/notifications/${o.id}` });
      return r.status === 200 && r.json().notifications.length > 0 && r.json();
    }, { timeout: 15_000, what: `notification of ${o.id}` });
    assert.equal(n.notifications.length, 1, 'recorded once');
    assert.equal(n.notifications[0].type, o.type);
  }
  for (const o of orders) {
    const d = await correlation(o.corr, (d) => d.traces.length === 1 &&
      spansOf(d.traces[0]).some((s) => s.service === 'notification' && s.kind === 5));
    const spans = spansOf(d.traces[0]);
    const producer = spans.find((s) => s.name === o.type && s.kind === 4);
    const consumer = spans.find((s) => s.service === 'notification' && s.kind === 5);
    assert.ok(producer, `producer span of ${o.id}`);
    assert.equal(consumer.name, `${o.type} process`);
    assert.equal(consumer.parentSpanId, producer.spanId);
    assert.deepEqual(consumer.links.map((l) => l.spanId), [producer.spanId]);
  }
  // caught up: no backlog left
  await waitFor(async () => {
    const m = parseProm((await request(svc.notification.port, { path: '/metrics' })).text)
      .find((x) => x.name === 'svc_notification_feed_backlog');
    return m?.value === 0;
  }, { timeout: 10_000, what: 'feed backlog 0' });
}));

test('the services keep serving while the collector is stopped', w(async () => {
  await stack.collector.stop();
  for (let i = 0; i < 10; i++) {
    const t0 = Date.now();
    const r = await placeOrder({});
    assert.equal(r.status, 201, r.toString());
    assert.ok(Date.now() - t0 < 1500, `order ${i} took ${Date.now() - t0} ms`);
  }
  for (const d of Object.values(svc)) {
    const h = await request(d.port, { path: '/health' });
    assert.equal(h.status, 200, `${d.name}: ${h}`);
  }
  await sleep(1500);
  const m = parseProm((await request(svc.gateway.port, { path: '/metrics' })).text);
  assert.ok(m.find((x) => x.name === 'inst_export_failures_total').value > 0, 'export failures are counted');
  // and they stop cleanly on SIGTERM
  for (const d of Object.values(svc)) {
    const ex = await d.stop(5000);
    assert.equal(ex.code, 0, `${d.name} exit`);
    assert.equal(ex.killed, false);
  }
}));
