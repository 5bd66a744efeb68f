// The correlation lookup end to end: one request fanned out over several services (two
// traces, one of them asynchronous and linked, a third trace correlated through its
// resource), logs inside and outside spans, and a histogram exemplar pointing at one of the
// traces; GET /api/correlations/{id} must return all of it and nothing else. Also: lookup
// by trace ID, the real SDK samples (order.id 42), integer values, unknown and hostile
// IDs, the time window, a hot ID bounded by `limit`, and --correlation-keys / the env var.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Postgres, Stack, sample, expectStatus, request } from './harness.mjs';
import {
  pbEncode, fromOtlpJson, flattenSpans, assertSameSpans, flattenLogs, assertSameLogs, pbEncodeOtlp, logsFromOtlpJson,
  parseJsonLossless, randomHex,
} from './otlp.mjs';

const SUITE = 'correlation';
let pg, stack;
const stacks = [];
let dbSeq = 0;

before(async () => {
  pg = await Postgres.start('correlation');
  stack = await Stack.start({ suite: `${SUITE}/main`, dbUrl: pg.url });
  stacks.push(stack);
});

after(async () => {
  for (const s of stacks) await s.stopAll();
  await pg?.stop();
});

async function freshStack(label, opts = {}) {
  const url = await pg.createDatabase(`co_${++dbSeq}_${label.replace(/\W+/g, '_').slice(0, 30)}`);
  const s = await Stack.start({ suite: `${SUITE}/${dbSeq}-${label}`, dbUrl: url, ...opts });
  stacks.push(s);
  return s;
}

const w = (fn) => (t) => stack.wrap(fn)(t);
const PROTO = { 'Content-Type': 'application/x-protobuf' };
const JSONH = { 'Content-Type': 'application/json' };
const MS = 1_000_000n;

async function post(s, path, body, kind = 'json') {
  const res = await request(s.collector.port, { method: 'POST', path, headers: kind === 'json' ? JSONH : PROTO, body });
  expectStatus(res, 200, `POST ${path}`);
  if (kind === 'json') {
    const j = res.json();
    const rej = Number(j.partialSuccess?.rejectedSpans ?? 0) + Number(j.partialSuccess?.rejectedLogRecords ?? 0) + Number(j.partialSuccess?.rejectedDataPoints ?? 0);
    assert.equal(rej, 0, `POST ${path}: nothing may be rejected: ${res}`);
  }
  return res;
}
const postTraces = (s, doc) => post(s, '/v1/traces', pbEncode('ExportTraceServiceRequest', fromOtlpJson(doc)), 'proto');
const postLogs = (s, doc, kind = 'json') => post(s, '/v1/logs', kind === 'json' ? JSON.stringify(doc) : pbEncodeOtlp('ExportLogsServiceRequest', logsFromOtlpJson(doc)), kind);
const postMetrics = (s, doc) => post(s, '/v1/metrics', JSON.stringify(doc));

async function lookup(s, id, params = {}) {
  const qs = new URLSearchParams(params).toString();
  const p = `/api/correlations/${encodeURIComponent(id)}${qs ? `?${qs}` : ''}`;
  const r = expectStatus(await s.apiGet(p), 200, `GET ${p}`);
  assert.match(r.contentType, /application\/json/, `GET ${p}: content-type ${r}`);
  let j;
  try { j = parseJsonLossless(r.text); } catch { assert.fail(`GET ${p}: not JSON: ${r}`); }
  for (const k of ['traces', 'logs', 'metrics']) assert.ok(Array.isArray(j[k]), `GET ${p}: "${k}" must be an array: ${r.describeBody(600)}`);
  for (const k of ['tracesTruncated', 'logsTruncated', 'metricsTruncated']) assert.equal(typeof j[k], 'boolean', `GET ${p}: "${k}" must be a boolean: ${r.describeBody(600)}`);
  if (/^[0-9a-fA-F]{32}$/.test(id)) assert.equal(String(j.id).toLowerCase(), id.toLowerCase(), `GET ${p}: "id" echoes the trace ID`);
  else assert.equal(j.id, id, `GET ${p}: "id" echoes the ID`);
  return j;
}

// ---------------------------------------------------------------- building blocks

const sv = (v) => ({ stringValue: v });
const attr = (k, v) => ({ key: k, value: typeof v === 'number' ? { intValue: String(v) } : sv(v) });
const resource = (service, extra = []) => ({ attributes: [attr('service.name', service), attr('service.instance.id', `${service}-1`), ...extra] });

function span(traceId, { id = randomHex(8), parent, name, kind = 1, start, durMs = 10, attrs = [], status = 1, links } = {}) {
  return {
    traceId, spanId: id, ...(parent ? { parentSpanId: parent } : {}), name, kind,
    startTimeUnixNano: String(start), endTimeUnixNano: String(start + BigInt(durMs) * MS),
    attributes: attrs, status: { code: status, ...(status === 2 ? { message: 'failed' } : {}) }, ...(links ? { links } : {}),
  };
}
const traceDoc = (service, spans, resExtra = []) => ({ resourceSpans: [{ resource: resource(service, resExtra), scopeSpans: [{ scope: { name: `${service}-tracer`, version: '1.0.0' }, spans }] }] });
const logDoc = (service, records, resExtra = []) => ({ resourceLogs: [{ resource: resource(service, resExtra), scopeLogs: [{ scope: { name: `${service}-logger` }, logRecords: records }] }] });
const logRec = (time, sev, body, { traceId, spanId, attrs = [] } = {}) => ({
  timeUnixNano: String(time), observedTimeUnixNano: String(time + 1n * MS), severityNumber: sev, severityText: ['', 'TRACE', '', '', '', 'DEBUG', '', '', '', 'INFO', '', '', '', 'WARN', '', '', '', 'ERROR'][sev] ?? '',
  body: sv(body), attributes: attrs, ...(traceId ? { traceId, spanId, flags: 1 } : {}),
});

// Trace summary + every span of the trace compared field by field with what was sent.
function assertTrace(got, flat, traceId, label) {
  assert.equal(got.traceID, traceId, `${label}: traceID`);
  const spans = [...flat.values()].filter((v) => v.span.traceId === traceId).map((v) => v.span);
  const start = spans.reduce((a, s) => (BigInt(s.startTimeUnixNano) < a ? BigInt(s.startTimeUnixNano) : a), BigInt(spans[0].startTimeUnixNano));
  const end = spans.reduce((a, s) => (BigInt(s.endTimeUnixNano) > a ? BigInt(s.endTimeUnixNano) : a), 0n);
  const root = spans.find((s) => !s.parentSpanId);
  assert.equal(String(got.startTimeUnixNano), String(start), `${label}: startTimeUnixNano`);
  assert.equal(String(got.endTimeUnixNano), String(end), `${label}: endTimeUnixNano`);
  assert.equal(Number(got.spanCount), spans.length, `${label}: spanCount`);
  assert.equal(Number(got.errorCount), spans.filter((s) => s.status.code === 2).length, `${label}: errorCount`);
  const rootEntry = [...flat.values()].find((v) => v.span === root);
  assert.equal(got.rootName, root.name, `${label}: rootName`);
  assert.equal(got.rootService, rootEntry.resource.attributes.find(([k]) => k === 'service.name')[1].string, `${label}: rootService`);
  assertSameSpans({ resourceSpans: got.resourceSpans }, flat, traceId, `${label} resourceSpans`);
}

// ---------------------------------------------------------------- the scenario

const CID = `checkout-${randomHex(6)}`; // the correlation ID of the scenario
const OTHER = `checkout-${randomHex(6)}`; // another request, at the same time, same services
const INT_ID = 7_000_000_000 + Math.floor(Math.random() * 1e9); // an integer order.id (> 2^32)
const BASE = (BigInt(Date.now()) - 5n * 60_000n) * MS; // 5 minutes ago
const at = (ms) => BASE + BigInt(ms) * MS;
const T = { A: randomHex(16), B: randomHex(16), C: randomHex(16), D: randomHex(16), E: randomHex(16) };
const S = Object.fromEntries(['gw', 'gwClient', 'order', 'orderProducer', 'pay', 'payDb', 'notif', 'notifSend', 'batch', 'otherGw', 'otherOrder', 'intSpan'].map((k) => [k, randomHex(8)]));

const SCENARIO = {
  traces: [
    // gateway: the request enters, carries correlation.id on its root span
    traceDoc('gateway', [
      span(T.A, { id: S.gw, name: 'POST /checkout', kind: 2, start: at(0), durMs: 300, attrs: [attr('correlation.id', CID), attr('http.request.method', 'POST')] }),
      span(T.A, { id: S.gwClient, parent: S.gw, name: 'POST order/orders', kind: 3, start: at(5), durMs: 250 }),
    ]),
    // order: carries the ID as order.id; publishes a message (consumed asynchronously in trace B)
    traceDoc('order', [
      span(T.A, { id: S.order, parent: S.gwClient, name: 'POST /orders', kind: 2, start: at(10), durMs: 230, attrs: [attr('order.id', CID)] }),
      span(T.A, { id: S.orderProducer, parent: S.order, name: 'publish order.created', kind: 4, start: at(200), durMs: 5 }),
    ]),
    // payment: no correlation attribute; an error
    traceDoc('payment', [
      span(T.A, { id: S.pay, parent: S.order, name: 'POST /payments', kind: 2, start: at(20), durMs: 150, status: 2 }),
      span(T.A, { id: S.payDb, parent: S.pay, name: 'INSERT payments', kind: 3, start: at(30), durMs: 20, attrs: [attr('db.system.name', 'postgresql')] }),
    ]),
    // notification: a new trace linked to the producer; no span carries the ID (a log in it does)
    traceDoc('notification', [
      span(T.B, { id: S.notif, name: 'consume order.created', kind: 5, start: at(1500), durMs: 80, links: [{ traceId: T.A, spanId: S.orderProducer }] }),
      span(T.B, { id: S.notifSend, parent: S.notif, name: 'send email', kind: 3, start: at(1510), durMs: 60 }),
    ]),
    // a batch worker whose resource carries the ID as request.id (the span itself does not)
    traceDoc('batch-worker', [span(T.D, { id: S.batch, name: 'reconcile', kind: 1, start: at(4000), durMs: 40 })], [attr('request.id', CID)]),
    // another request with another ID, same services, same time
    traceDoc('gateway', [
      span(T.C, { id: S.otherGw, name: 'POST /checkout', kind: 2, start: at(100), durMs: 200, attrs: [attr('correlation.id', OTHER)] }),
      span(T.C, { id: S.otherOrder, parent: S.otherGw, name: 'POST /orders', kind: 2, start: at(110), durMs: 100, attrs: [attr('order.id', OTHER)] }),
    ]),
    // an integer correlation value
    traceDoc('order', [span(T.E, { id: S.intSpan, name: 'GET /orders/{id}', kind: 2, start: at(6000), durMs: 12, attrs: [{ key: 'order.id', value: { intValue: String(INT_ID) } }] })]),
  ],
  logs: [
    logDoc('gateway', [
      logRec(at(1), 9, 'checkout request received', { traceId: T.A, spanId: S.gw }), // in trace A, no ID on the record
      logRec(at(101), 9, 'checkout request received (other)', { traceId: T.C, spanId: S.otherGw }), // in trace C
    ]),
    logDoc('payment', [logRec(at(60), 17, 'card declined, retrying', { traceId: T.A, spanId: S.pay, attrs: [attr('payment.attempt', 1)] })]),
    logDoc('notification', [logRec(at(1520), 9, 'email queued', { traceId: T.B, spanId: S.notifSend, attrs: [attr('correlation_id', CID)] })]),
    logDoc('order', [
      logRec(at(2500), 13, 'order reconciliation deferred', { attrs: [attr('correlation.id', CID)] }), // outside any span
      logRec(at(2600), 13, 'other order deferred', { attrs: [attr('correlation.id', OTHER)] }), // outside, other ID
      logRec(at(2700), 9, 'unrelated housekeeping'), // outside, no ID
    ]),
    logDoc('audit', [logRec(at(3000), 9, 'audit entry written')], [attr('correlation_id', CID)]), // the resource carries it
  ],
  metrics: {
    resourceMetrics: [{
      resource: resource('gateway'),
      scopeMetrics: [{
        scope: { name: 'gateway-meter' },
        metrics: [{
          name: 'http.server.request.duration', unit: 's', description: 'duration',
          histogram: {
            aggregationTemporality: 2,
            dataPoints: [
              {
                attributes: [attr('http.route', '/checkout')], startTimeUnixNano: String(at(-60_000)), timeUnixNano: String(at(1000)),
                count: 3, sum: 0.9, bucketCounts: [0, 1, 2, 0], explicitBounds: [0.1, 0.25, 0.5], min: 0.2, max: 0.35,
                exemplars: [{ timeUnixNano: String(at(300)), asDouble: 0.3, traceId: T.A, spanId: S.gw, filteredAttributes: [attr('user', 'u1')] }],
              },
              {
                attributes: [attr('http.route', '/other')], startTimeUnixNano: String(at(-60_000)), timeUnixNano: String(at(1000)),
                count: 1, sum: 0.2, bucketCounts: [0, 1, 0, 0], explicitBounds: [0.1, 0.25, 0.5], min: 0.2, max: 0.2,
                exemplars: [{ timeUnixNano: String(at(300)), asDouble: 0.2, traceId: T.C, spanId: S.otherGw }],
              },
            ],
          },
        }],
      }],
    }],
  },
};
const ALL_FLAT = new Map(SCENARIO.traces.flatMap((d) => [...flattenSpans(d, 'scenario')]));
const ALL_LOGS = SCENARIO.logs.flatMap((d) => flattenLogs(d, 'scenario'));
const logsWhere = (pred) => ALL_LOGS.filter((c) => pred(c)).sort((a, b) => (BigInt(a.record.timeUnixNano) < BigInt(b.record.timeUnixNano) ? -1 : 1));
const bodyOf = (e) => e.record?.body?.stringValue;

let loaded = false;
async function loadScenario() {
  if (loaded) return;
  // each service exports on its own, in a shuffled order (the notification trace first)
  for (const i of [3, 1, 0, 2, 4, 5, 6]) await postTraces(stack, SCENARIO.traces[i]);
  for (const [i, d] of SCENARIO.logs.entries()) await postLogs(stack, d, i % 2 ? 'proto' : 'json');
  await postMetrics(stack, SCENARIO.metrics);
  loaded = true;
}

function assertLogsInOrder(entries, expected, label) {
  assertSameLogs(entries, expected, label);
  assert.deepEqual(entries.map(bodyOf), expected.map((c) => c.record.body.string), `${label}: logs must be in time order`);
}

test('correlation ID: both traces complete, every log in time order, the exemplar; nothing of the other request', w(async () => {
  await loadScenario();
  const j = await lookup(stack, CID);
  // traces: A (spans carry it), B (a log inside carries it), D (its resource carries it)
  const want = [T.A, T.B, T.D];
  assert.deepEqual(j.traces.map((t) => t.traceID).sort(), [...want].sort(),
    `traces of ${CID}: A (gateway/order/payment), B (async notification), D (batch-worker resource); got ${JSON.stringify(j.traces.map((t) => [t.traceID, t.rootName]))}; A=${T.A} B=${T.B} C(other)=${T.C} D=${T.D}`);
  for (const t of j.traces) assertTrace(t, ALL_FLAT, t.traceID, `trace ${t.traceID}`);
  assert.equal(j.tracesTruncated, false);
  const a = j.traces.find((t) => t.traceID === T.A);
  assert.equal(a.spanCount, 6, 'trace A has its 6 spans from 3 services');
  assert.equal(a.errorCount, 1, 'trace A has 1 error (payment)');
  assert.equal(a.rootService, 'gateway');
  // logs: the 2 in trace A, the 1 in trace B, the one outside spans with the ID, the one whose resource has it
  const expLogs = logsWhere((c) => [T.A, T.B, T.D].includes(c.record.traceId)
    || c.record.attributes.some(([k, v]) => ['correlation.id', 'correlation_id', 'request.id', 'order.id'].includes(k) && v.string === CID)
    || c.resource.attributes.some(([k, v]) => k === 'correlation_id' && v.string === CID));
  assert.deepEqual(expLogs.map((c) => c.record.body.string), ['checkout request received', 'card declined, retrying', 'email queued', 'order reconciliation deferred', 'audit entry written'], 'test sanity: the expected logs');
  assertLogsInOrder(j.logs, expLogs, `logs of ${CID}`);
  assert.equal(j.logsTruncated, false);
  // metrics: the exemplar pointing at trace A, not the one pointing at trace C
  assert.equal(j.metrics.length, 1, `exactly one exemplar points into the correlated traces: ${JSON.stringify(j.metrics).slice(0, 1500)}`);
  const m = j.metrics[0];
  assert.equal(m.name, 'http.server.request.duration');
  assert.equal(m.kind, 'histogram');
  assert.equal(m.unit, 's');
  assert.equal(m.service, 'gateway');
  assert.deepEqual(m.attributes, { 'http.route': '/checkout' }, 'the series attributes');
  assert.equal(m.exemplar?.traceId, T.A, 'exemplar traceId');
  assert.equal(m.exemplar?.spanId, S.gw, 'exemplar spanId');
  assert.equal(Number(m.exemplar?.value), 0.3, 'exemplar value');
  assert.equal(String(m.exemplar?.timeUnixNano), String(at(300)), 'exemplar timeUnixNano');
  assert.equal(Number(m.point?.count), 3, `the OTLP point: count ${JSON.stringify(m.point)}`);
  assert.equal(Number(m.point?.sum), 0.9, 'the OTLP point: sum');
  assert.deepEqual((m.point?.bucketCounts ?? []).map(Number), [0, 1, 2, 0], 'the OTLP point: bucketCounts');
  assert.deepEqual((m.point?.explicitBounds ?? []).map(Number), [0.1, 0.25, 0.5], 'the OTLP point: explicitBounds');
  assert.equal(String(m.point?.timeUnixNano), String(at(1000)), 'the OTLP point: timeUnixNano');
  assert.equal(j.metricsTruncated, false);
}));

test('the other request\'s ID returns only its own trace, logs and exemplar', w(async () => {
  await loadScenario();
  const j = await lookup(stack, OTHER);
  assert.deepEqual(j.traces.map((t) => t.traceID), [T.C], `only trace C: ${JSON.stringify(j.traces.map((t) => t.traceID))}`);
  assertTrace(j.traces[0], ALL_FLAT, T.C, 'trace C');
  assertLogsInOrder(j.logs, logsWhere((c) => c.record.traceId === T.C || c.record.attributes.some(([, v]) => v.string === OTHER)), `logs of ${OTHER}`);
  assert.deepEqual(j.metrics.map((m) => [m.exemplar?.traceId, m.attributes?.['http.route']]), [[T.C, '/other']], 'only the exemplar pointing at trace C');
}));

test('unknown and hostile IDs -> 200 with empty lists (never another request\'s data)', w(async () => {
  await loadScenario();
  for (const id of [`checkout-${randomHex(6)}`, "' OR '1'='1", `${CID}%`, `${CID.slice(0, -1)}_`, 'checkout-%', '*', '🙂 ünïcode', randomHex(16)]) {
    const j = await lookup(stack, id);
    assert.deepEqual([j.traces, j.logs, j.metrics], [[], [], []], `${JSON.stringify(id)}: nothing expected, got ${JSON.stringify(j).slice(0, 600)}`);
    assert.deepEqual([j.tracesTruncated, j.logsTruncated, j.metricsTruncated], [false, false, false], `${JSON.stringify(id)}: nothing truncated`);
  }
}));

test('lookup by a trace ID returns that trace complete, its logs and its exemplar', w(async () => {
  await loadScenario();
  for (const id of [T.A, T.A.toUpperCase()]) {
    const j = await lookup(stack, id);
    const a = j.traces.find((t) => t.traceID === T.A);
    assert.ok(a, `GET /api/correlations/${id}: trace A must be returned: ${JSON.stringify(j.traces.map((t) => t.traceID))}`);
    assertTrace(a, ALL_FLAT, T.A, `by trace id ${id}`);
    assert.ok(!j.traces.some((t) => t.traceID === T.C), 'trace C (another request) must not be returned');
    const inA = logsWhere((c) => c.record.traceId === T.A).map((c) => c.record.body.string);
    const got = j.logs.map(bodyOf);
    for (const b of inA) assert.ok(got.includes(b), `the log "${b}" of trace A must be returned: ${JSON.stringify(got)}`);
    assert.ok(!got.includes('checkout request received (other)'), 'a log of trace C must not be returned');
    assert.ok(j.metrics.some((m) => m.exemplar?.traceId === T.A), `the exemplar pointing at trace A: ${JSON.stringify(j.metrics).slice(0, 600)}`);
    assert.ok(!j.metrics.some((m) => m.exemplar?.traceId === T.C), 'not the exemplar pointing at trace C');
  }
}));

test('an integer correlation value is found by its decimal text', w(async () => {
  await loadScenario();
  const j = await lookup(stack, String(INT_ID));
  assert.deepEqual(j.traces.map((t) => t.traceID), [T.E], `order.id intValue ${INT_ID}`);
  assertTrace(j.traces[0], ALL_FLAT, T.E, 'trace E');
}));

test('the time window: start/end around the scenario find it, a window before it finds nothing', w(async () => {
  await loadScenario();
  const us = (ns) => String(ns / 1000n);
  const inWin = await lookup(stack, CID, { start: us(at(-60_000)), end: us(at(60_000)) });
  assert.deepEqual(inWin.traces.map((t) => t.traceID).sort(), [T.A, T.B, T.D].sort(), 'explicit window around the scenario');
  assert.equal(inWin.logs.length, 5, 'explicit window: the 5 logs');
  const before = await lookup(stack, CID, { start: us(at(-3 * 3600_000)), end: us(at(-2 * 3600_000)) });
  assert.deepEqual([before.traces.length, before.logs.length], [0, 0], `a window 2-3 hours before the scenario finds nothing: ${JSON.stringify(before).slice(0, 400)}`);
}));

test('the real SDK samples: order.id 42 on the ERROR log finds its trace (both spans) and both logs of that trace', async (t) => {
  const s = await freshStack('samples');
  await s.wrap(async () => {
    const traces = JSON.parse(sample('json/001_v1_traces.json'));
    const logs = JSON.parse(sample('json/002_v1_logs.json'));
    await post(s, '/v1/traces', JSON.stringify(traces));
    await post(s, '/v1/logs', JSON.stringify(logs));
    const flat = flattenSpans(traces, 'sample');
    const tid = 'a54849a48754e0c4f580c3af2f2838bb';
    const win = { start: '1795280000000000', end: '1795281000000000' };
    const j = await lookup(s, '42', win);
    assert.deepEqual(j.traces.map((x) => x.traceID), [tid], 'the trace of the ERROR record carrying order.id 42');
    assertTrace(j.traces[0], flat, tid, 'sample trace');
    assertSameLogs(j.logs, flattenLogs(logs, 'sample').filter((c) => c.record.traceId === tid), 'sample logs of order.id 42');
    assert.deepEqual((await lookup(s, '43', win)).traces, [], 'order.id 43 finds nothing');
  })(t);
});

test('a hot ID with more traces than limit: the newest `limit` traces and tracesTruncated', w(async () => {
  const HOT = `hot-${randomHex(6)}`;
  const base = (BigInt(Date.now()) - 4n * 60_000n) * MS;
  const ids = [];
  const docs = [];
  for (let k = 0; k < 15; k++) {
    const tid = randomHex(16);
    ids.push(tid);
    const root = randomHex(8);
    docs.push(span(tid, { id: root, name: `hot ${k}`, kind: 2, start: base + BigInt(k) * 1000n * MS, attrs: [attr('correlation.id', HOT)] }));
    docs.push(span(tid, { parent: root, name: `hot ${k} child`, kind: 3, start: base + BigInt(k) * 1000n * MS + MS }));
  }
  // in two requests, newest first, to make arrival order differ from time order
  await postTraces(stack, traceDoc('hot-svc', docs.slice(15)));
  await postTraces(stack, traceDoc('hot-svc', docs.slice(0, 15)));
  const flat = flattenSpans(traceDoc('hot-svc', docs), 'hot');
  const j5 = await lookup(stack, HOT, { limit: '5' });
  assert.equal(j5.traces.length, 5, `limit=5: 5 traces, got ${j5.traces.length}`);
  assert.deepEqual(j5.traces.map((t) => t.traceID).sort(), ids.slice(10).sort(), `limit=5: the 5 newest traces (hot 10..14), got ${JSON.stringify(j5.traces.map((t) => t.rootName))}`);
  assert.equal(j5.tracesTruncated, true, 'limit=5 of 15: tracesTruncated');
  for (const t of j5.traces) assertTrace(t, flat, t.traceID, `hot trace ${t.rootName}`);
  const j15 = await lookup(stack, HOT, { limit: '15' });
  assert.equal(j15.traces.length, 15);
  assert.equal(j15.tracesTruncated, false, 'limit=15 of 15: not truncated');
  const all = await lookup(stack, HOT);
  assert.deepEqual(all.traces.map((t) => t.traceID).sort(), [...ids].sort(), 'default limit (100): all 15');
  assert.equal(all.tracesTruncated, false);
}));

test('--correlation-keys and OTELPG_CORRELATION_KEYS replace the default keys', async (t) => {
  for (const how of ['flag', 'env']) {
    const opts = how === 'flag' ? { collectorArgs: ['--correlation-keys', 'tenant.ref,job.key'] } : { env: { OTELPG_CORRELATION_KEYS: 'tenant.ref,job.key' } };
    const s = await freshStack(`keys-${how}`, opts);
    await s.wrap(async () => {
      const X1 = `x1-${randomHex(4)}`, X2 = `x2-${randomHex(4)}`, Y = `y-${randomHex(4)}`;
      const tid = randomHex(16);
      const now = (BigInt(Date.now()) - 60_000n) * MS;
      await postTraces(s, traceDoc('keys-svc', [span(tid, { name: 'op', kind: 2, start: now, attrs: [attr('tenant.ref', X1), attr('correlation.id', Y)] })]));
      await postLogs(s, logDoc('keys-svc', [logRec(now + MS, 9, 'job log', { attrs: [attr('job.key', X2), attr('correlation.id', Y)] })]));
      const j1 = await lookup(s, X1);
      assert.deepEqual(j1.traces.map((x) => x.traceID), [tid], `${how}: tenant.ref is a correlation key`);
      const j2 = await lookup(s, X2);
      assert.deepEqual(j2.logs.map(bodyOf), ['job log'], `${how}: job.key is a correlation key`);
      const jy = await lookup(s, Y);
      assert.deepEqual([jy.traces.length, jy.logs.length], [0, 0], `${how}: correlation.id is no longer a key when the keys are replaced`);
    })(t);
  }
});

test('a log record carrying the ID inside a trace whose spans were never stored (sampled out) is still returned', w(async () => {
  const ID = `unsampled-${randomHex(6)}`;
  const tid = randomHex(16);
  const now = (BigInt(Date.now()) - 60_000n) * MS;
  // A common case: head sampling drops the spans, the log bridge still stamps the trace context.
  await postLogs(stack, logDoc('unsampled-svc', [
    logRec(now, 17, 'charge failed (trace not sampled)', { traceId: tid, spanId: randomHex(8), attrs: [attr('correlation.id', ID)] }),
    logRec(now + MS, 9, 'outside any trace', { attrs: [attr('correlation.id', ID)] }),
  ]));
  const j = await lookup(stack, ID);
  const bodies = j.logs.map(bodyOf);
  assert.ok(bodies.includes('outside any trace'), `the record without trace context: ${JSON.stringify(bodies)}`);
  assert.ok(bodies.includes('charge failed (trace not sampled)'),
    `GET /api/correlations/${ID}: the record that carries the ID must be returned even though its trace ${tid} has no stored spans; got logs ${JSON.stringify(bodies)}, traces ${JSON.stringify(j.traces.map((t) => t.traceID))}`);
  assert.deepEqual(bodies, ['charge failed (trace not sampled)', 'outside any trace'], 'time order');
  for (const t of j.traces) assert.ok(Array.isArray(t.resourceSpans), 'a trace entry has resourceSpans');
}));

test('spans arriving after their logs: the lookup then returns the trace and the logs once each', w(async () => {
  const ID = `late-${randomHex(6)}`;
  const tid = randomHex(16), root = randomHex(8);
  const now = (BigInt(Date.now()) - 90_000n) * MS;
  await postLogs(stack, logDoc('late-svc', [logRec(now + 2n * MS, 9, 'log before its spans', { traceId: tid, spanId: root, attrs: [attr('correlation.id', ID)] })]));
  const doc = traceDoc('late-svc', [span(tid, { id: root, name: 'late root', kind: 2, start: now, attrs: [attr('correlation.id', ID)] })]);
  await postTraces(stack, doc);
  const j = await lookup(stack, ID);
  assert.deepEqual(j.traces.map((t) => t.traceID), [tid], 'the trace, once');
  assertTrace(j.traces[0], flattenSpans(doc, 'late'), tid, 'late trace');
  assert.deepEqual(j.logs.map(bodyOf), ['log before its spans'], 'the log, once (it carries the ID and is in the trace)');
}));
