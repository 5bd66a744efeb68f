// Alerting end to end: synthetic OTLP traffic through the collector, the detector on real
// time (short windows), Alertmanager-shaped webhooks at a local receiver with Standard
// Webhooks signatures, a restart of the collector while the alert fires, and the API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { Postgres, Stack, waitFor, sleep } from './harness.mjs';

const SUITE = 'alerts';
const SECRET_KEY = crypto.randomBytes(24);
const SECRET = `whsec_${SECRET_KEY.toString('base64')}`;
const SERVICE = 'checkout-synth';
const OPERATION = 'POST /orders';
let pg, stack, receiver;
const received = []; // { headers, body, json, at }

function verify(r) {
  const id = r.headers['webhook-id'], ts = r.headers['webhook-timestamp'], sig = r.headers['webhook-signature'];
  assert.ok(id && ts && sig, `Standard Webhooks headers missing: ${JSON.stringify(r.headers)}`);
  assert.ok(Math.abs(Date.now() / 1000 - Number(ts)) < 300, `webhook-timestamp ${ts} is not now`);
  const want = crypto.createHmac('sha256', SECRET_KEY).update(`${id}.${ts}.${r.body}`).digest('base64');
  assert.ok(sig.split(' ').some((s) => s === `v1,${want}`), `bad signature ${sig}, want v1,${want}`);
}

// count spans per request; errors: fraction with status ERROR; startMs: when they started
function spansDoc({ count, errorRate, startMs, durMs = 20 }) {
  const spans = [];
  for (let i = 0; i < count; i++) {
    const start = BigInt(Math.floor(startMs + i)) * 1000000n;
    const dur = BigInt(Math.round((durMs * (0.7 + 0.6 * Math.random())) * 1e6));
    spans.push({
      traceId: crypto.randomBytes(16).toString('hex'),
      spanId: crypto.randomBytes(8).toString('hex'),
      name: OPERATION,
      kind: 2,
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: (start + dur).toString(),
      status: Math.random() < errorRate ? { code: 2, message: 'boom' } : { code: 0 },
    });
  }
  return { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: SERVICE } }] }, scopeSpans: [{ scope: { name: 'synth' }, spans }] }] };
}

async function post(doc) {
  try {
    const r = await stack.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(doc), timeout: 5000 });
    return r.status;
  } catch { return 0; } // the collector may be restarting
}

// Live traffic: 20 spans/s with the current error rate, until stopped.
function traffic() {
  const state = { errorRate: 0, running: true };
  state.done = (async () => {
    while (state.running) {
      await post(spansDoc({ count: 5, errorRate: state.errorRate, startMs: Date.now() - 50 }));
      await sleep(250);
    }
  })();
  return state;
}

const firingOf = (fp) => received.filter((r) => r.json.alerts.some((a) => a.fingerprint === fp && a.status === 'firing'));
const resolvedOf = (fp) => received.filter((r) => r.json.alerts.some((a) => a.fingerprint === fp && a.status === 'resolved'));

before(async () => {
  pg = await Postgres.start('alerts');
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      let json = null;
      try { json = JSON.parse(body); } catch { /* asserted below */ }
      received.push({ headers: req.headers, body, json, at: Date.now() });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const url = await pg.createDatabase('alerts');
  stack = await Stack.start({
    suite: SUITE,
    dbUrl: url,
    collectorArgs: [
      '--webhook-url', `http://127.0.0.1:${receiver.address().port}/hook`, '--webhook-secret', SECRET,
      '--alerts-external-url', 'http://otelpg.example',
      '--alert-interval', '1s', '--alert-window', '10s', '--alert-settle', '0s', '--alert-history', '12',
      '--alert-min-history', '3', '--alert-pending', '2s', '--alert-resolve', '4s', '--alert-min-calls', '10',
      '--alert-min-errors', '3', '--group-wait', '1s', '--group-interval', '2s', '--repeat-interval', '1h',
    ],
  });
});

after(async () => {
  await stack?.stopAll();
  await pg?.stop();
  receiver?.close();
});

test('errors fire one signed notification, a restart sends nothing twice, recovery resolves it', { timeout: 180_000 }, async () => {
  // a minute of normal history, in the recent past: the baseline
  const now = Date.now();
  for (let s = 70; s > 0; s -= 2) assert.equal(await post(spansDoc({ count: 40, errorRate: 0.01, startMs: now - s * 1000 })), 200);
  const gen = traffic();
  try {
    await sleep(3000);
    assert.equal(received.length, 0, `nothing should fire on normal traffic: ${received.map((r) => r.body).join('\n')}`);

    const t0 = Date.now();
    gen.errorRate = 0.5;
    await waitFor(() => received.some((r) => r.json?.status === 'firing'), { timeout: 45_000, interval: 200, what: 'a firing notification' });
    const fire = received.find((r) => r.json?.status === 'firing');
    const delay = Date.now() - t0;
    const alert = fire.json.alerts[0];
    assert.equal(fire.json.version, '4');
    assert.equal(fire.json.receiver, 'otelpg');
    assert.equal(fire.json.groupKey, `{}:{service="${SERVICE}"}`);
    assert.deepEqual(fire.json.groupLabels, { service: SERVICE });
    for (const k of ['commonLabels', 'commonAnnotations', 'externalURL', 'truncatedAlerts']) assert.ok(k in fire.json, `payload lacks ${k}`);
    assert.equal(alert.labels.alertname, 'HighErrorRate');
    assert.equal(alert.labels.service, SERVICE);
    assert.equal(alert.labels.operation, OPERATION);
    assert.equal(alert.endsAt, '0001-01-01T00:00:00Z');
    assert.match(alert.fingerprint, /^[0-9a-f]{16}$/);
    assert.match(alert.generatorURL, /^http:\/\/otelpg\.example\/#\/search\?service=checkout-synth&operation=POST%20%2Forders&errors=1&range=custom&from=\d+&to=\d+$/);
    assert.ok(Number(alert.annotations.observed) > Number(alert.annotations.expected) + 0.05, JSON.stringify(alert.annotations));
    verify(fire);
    console.log(`fired ${delay} ms after errors began: ${alert.annotations.summary}`);

    // a restart while it fires: the state is in PostgreSQL, nothing is sent again
    await stack.collector.stop();
    stack.collector = await stack.startCollector();
    await sleep(6000);
    assert.equal(firingOf(alert.fingerprint).length, 1, 'the firing alert was notified again after the restart');

    const api = await stack.apiGet('/api/alerts');
    assert.equal(api.status, 200);
    const listed = JSON.parse(api.body.toString()).alerts.find((a) => a.fingerprint === alert.fingerprint);
    assert.equal(listed.state, 'firing');
    assert.ok(listed.expected !== null && listed.observed > listed.expected && listed.samples >= 10 && listed.windowSeconds === 10, JSON.stringify(listed));
    assert.match(listed.search, /#\/search\?service=/);

    const ready = JSON.parse((await stack.collectorGet('/ready')).body.toString());
    assert.ok(JSON.stringify(ready).includes('alerting'), `/ready lacks the alerting component: ${JSON.stringify(ready)}`);

    gen.errorRate = 0;
    await waitFor(() => resolvedOf(alert.fingerprint).length > 0, { timeout: 60_000, interval: 200, what: 'a resolved notification' });
    await sleep(3000);
    const res = resolvedOf(alert.fingerprint);
    assert.equal(res.length, 1, 'one resolved notification');
    assert.equal(res[0].json.status, 'resolved');
    assert.notEqual(res[0].json.alerts[0].endsAt, '0001-01-01T00:00:00Z');
    verify(res[0]);
    assert.equal(firingOf(alert.fingerprint).length, 1, 'one firing notification in all');
    const ids = received.map((r) => r.headers['webhook-id']);
    assert.equal(new Set(ids).size, ids.length, 'every notification has its own webhook-id');
    for (const r of received) assert.notEqual(r.json.alerts[0].labels.alertname, 'NoTraffic', 'the restart is no outage');

    const m = (await stack.collectorGet('/metrics')).body.toString();
    assert.match(m, /otelpg_webhook_deliveries_total\{result="delivered"\} [1-9]/);
    assert.match(m, /otelpg_alert_detector_runs_total [1-9]/);
  } finally {
    gen.running = false;
    await gen.done;
  }

  // the same numbers as RED metrics, in Jaeger's SPM shape
  const q = `service=${encodeURIComponent(SERVICE)}&endTs=${Date.now()}&lookback=120000&step=10000&groupByOperation=true`;
  const calls = JSON.parse((await stack.apiGet(`/api/metrics/calls?${q}`)).body.toString());
  assert.equal(calls.name, 'service_call_rate');
  assert.equal(calls.type, 'GAUGE');
  const series = calls.metrics[0];
  assert.deepEqual(series.labels, [{ name: 'service_name', value: SERVICE }, { name: 'operation', value: OPERATION }]);
  assert.ok(series.metricPoints.length >= 3);
  for (const p of series.metricPoints) {
    assert.ok(p.gaugeValue.doubleValue > 0);
    assert.match(p.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  }
  const errors = JSON.parse((await stack.apiGet(`/api/metrics/errors?${q}`)).body.toString());
  assert.ok(errors.metrics[0].metricPoints.some((p) => p.gaugeValue.doubleValue > 0.2), 'the error window shows');
  const lat = JSON.parse((await stack.apiGet(`/api/metrics/latencies?${q}&quantile=0.95`)).body.toString());
  for (const p of lat.metrics[0].metricPoints) assert.ok(p.gaugeValue.doubleValue > 10 && p.gaugeValue.doubleValue < 40, `p95 ${p.gaugeValue.doubleValue} ms`);
  assert.equal((await stack.apiGet('/api/metrics/latencies?service=x')).status, 400, 'quantile is required');
  assert.equal((await stack.apiGet('/api/metrics/calls')).status, 400, 'service is required');
});
