// Logs and metrics end to end: the recorded SDK samples (protobuf and JSON) through
// POST /v1/logs and /v1/metrics into PostgreSQL and back out of /api/logs,
// /api/traces/{id}/logs, /api/metrics and /api/metrics/query; idempotence, partial
// success, error answers, the official JS SDK log and metric exporters, every /api/logs
// filter alone and combined, pagination, and malformed query parameters.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '@opentelemetry/api';
import { LoggerProvider, BatchLogRecordProcessor, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ExportResultCode } from '@opentelemetry/core';
import { ProtobufLogsSerializer, JsonLogsSerializer } from '@opentelemetry/otlp-transformer';
import { Postgres, Stack, sample, gzip, expectStatus, request, sleep } from './harness.mjs';
import {
  pbDecodeOtlp, pbEncodeOtlp, logsFromOtlpJson, flattenLogs, assertSameLogs, canonLogEntry,
  decodeLogsExportResponse, decodeMetricsExportResponse, decodeRpcStatus, parseJsonLossless, randomHex,
} from './otlp.mjs';

const SUITE = 'logs_metrics';
let pg, stack, small;
const stacks = [];
let dbSeq = 0;

const LOGS_PB = sample('proto/002_v1_logs.pb');
const LOGS_JSON = sample('json/002_v1_logs.json');
const LOGS_PB_FLAT = flattenLogs(pbDecodeOtlp('ExportLogsServiceRequest', LOGS_PB), 'proto logs sample');
const LOGS_JSON_FLAT = flattenLogs(JSON.parse(LOGS_JSON), 'json logs sample');
const M3_PB = sample('proto/003_v1_metrics.pb');
const M4_PB = sample('proto/004_v1_metrics.pb');
const M3_JSON = sample('json/003_v1_metrics.json');
const M4_JSON = sample('json/004_v1_metrics.json');
const M3_PB_DOC = pbDecodeOtlp('ExportMetricsServiceRequest', M3_PB);
const M3_JSON_DOC = JSON.parse(M3_JSON);

const PROTO = { 'Content-Type': 'application/x-protobuf' };
const JSONH = { 'Content-Type': 'application/json' };
const MS = 1_000_000n; // ns per ms
const US = 1000n; // ns per µs

async function freshStack(label, opts = {}) {
  const url = await pg.createDatabase(`lm_${++dbSeq}_${label.replace(/\W+/g, '_').slice(0, 30)}`);
  const s = await Stack.start({ suite: `${SUITE}/${dbSeq}-${label}`, dbUrl: url, ...opts });
  stacks.push(s);
  return s;
}

before(async () => {
  pg = await Postgres.start('logsmetrics');
  stack = await Stack.start({ suite: `${SUITE}/main`, dbUrl: pg.url });
  stacks.push(stack);
});

after(async () => {
  for (const s of stacks) await s.stopAll();
  await pg?.stop();
});

const w = (s, fn) => (t) => (typeof s === 'function' ? s() : s).wrap(fn)(t);
const postTo = (s, path, opts) => request(s.collector.port, { method: 'POST', path, ...opts });
const postLogs = (s, opts) => postTo(s, '/v1/logs', opts);
const postMetrics = (s, opts) => postTo(s, '/v1/metrics', opts);

// GET an API path, expect 200 + JSON; 64-bit intValues are kept exact.
async function apiJson(s, path, label = `GET ${path}`) {
  const r = expectStatus(await s.apiGet(path), 200, label);
  assert.match(r.contentType, /application\/json/, `${label}: content-type: ${r}`);
  try { return parseJsonLossless(r.text); } catch { assert.fail(`${label}: body is not JSON: ${r}`); }
}

function assertExportAccepted(res, kind, signal, label) {
  expectStatus(res, 200, label);
  if (kind === 'proto') {
    assert.match(res.contentType, /^application\/x-protobuf/, `${label}: response content-type: ${res}`);
    let r;
    assert.doesNotThrow(() => { r = signal === 'logs' ? decodeLogsExportResponse(res.body) : decodeMetricsExportResponse(res.body); }, `${label}: undecodable response ${res}`);
    assert.equal(r.rejected, 0, `${label}: rejected items in ${res}`);
    return r;
  }
  assert.match(res.contentType, /^application\/json/, `${label}: response content-type: ${res}`);
  const j = res.json();
  const key = signal === 'logs' ? 'rejectedLogRecords' : 'rejectedDataPoints';
  assert.equal(Number(j.partialSuccess?.[key] ?? 0), 0, `${label}: rejected items in ${res}`);
  return j;
}

function assertProtoStatus(res, httpStatus, label) {
  expectStatus(res, httpStatus, label);
  assert.match(res.contentType, /^application\/x-protobuf/, `${label}: error body must be a protobuf google.rpc.Status: ${res}`);
  let st;
  assert.doesNotThrow(() => { st = decodeRpcStatus(res.body); }, `${label}: body is not a google.rpc.Status: ${res}`);
  assert.equal(st.code, 3, `${label}: google.rpc.Status.code must be 3 (INVALID_ARGUMENT): ${res}`);
  assert.ok(st.message.length > 0, `${label}: google.rpc.Status.message must explain the error: ${res}`);
}

function assertJsonStatus(res, httpStatus, label) {
  expectStatus(res, httpStatus, label);
  assert.match(res.contentType, /^application\/json/, `${label}: error body must be JSON: ${res}`);
  const j = res.json();
  assert.equal(j.code, 3, `${label}: JSON Status code must be 3: ${res}`);
  assert.ok(typeof j.message === 'string' && j.message.length > 0, `${label}: JSON Status message: ${res}`);
}

// An API error: 400 with a JSON body carrying a message.
function assertApi400(res, label) {
  expectStatus(res, 400, label);
  assert.match(res.contentType, /application\/json/, `${label}: content-type must be JSON: ${res}`);
  const j = res.json();
  const msg = j?.error?.message ?? j?.message;
  assert.ok(typeof msg === 'string' && msg.length > 0, `${label}: the JSON body must carry a message: ${res}`);
}

const timesOf = (entries) => entries.map((e) => BigInt(e.record.timeUnixNano === '0' || e.record.timeUnixNano === undefined ? e.record.observedTimeUnixNano : e.record.timeUnixNano));
function assertOrder(entries, dir, label) {
  const ts = timesOf(entries);
  for (let i = 1; i < ts.length; i++) {
    assert.ok(dir === 'asc' ? ts[i - 1] <= ts[i] : ts[i - 1] >= ts[i], `${label}: must be ${dir === 'asc' ? 'time ascending' : 'newest first'}; times ${ts.join(', ')}`);
  }
}

const nsToUs = (ns) => (BigInt(ns) / US).toString();
const logTime = (c) => BigInt(c.record.timeUnixNano !== '0' ? c.record.timeUnixNano : c.record.observedTimeUnixNano);

// All records of one sample through both log routes.
async function checkSampleLogs(s, flat, label) {
  const t = logTime(flat[0]);
  const q = `/api/logs?service=otlp-research&start=${nsToUs(t - 200n * MS)}&end=${nsToUs(t + 200n * MS)}&limit=1000`;
  const j = await apiJson(s, q, `${label}: GET ${q}`);
  assert.ok('nextCursor' in j, `${label}: /api/logs answer must have "nextCursor": ${JSON.stringify(j).slice(0, 300)}`);
  assert.equal(j.nextCursor, null, `${label}: nextCursor must be null when everything fit`);
  assertSameLogs(j.logs, flat, `${label} /api/logs`);
  assertOrder(j.logs, 'desc', `${label} /api/logs`);
  for (const tid of [...new Set(flat.map((c) => c.record.traceId).filter(Boolean))]) {
    const tj = await apiJson(s, `/api/traces/${tid}/logs`, `${label}: GET /api/traces/${tid}/logs`);
    assert.equal(tj.truncated, false, `${label}: truncated must be false for 2 records`);
    assertSameLogs(tj.logs, flat.filter((c) => c.record.traceId === tid), `${label} /api/traces/${tid}/logs`);
    assertOrder(tj.logs, 'asc', `${label} /api/traces/${tid}/logs`);
  }
}

// ================================================================ samples: logs

test('the log samples hold the 3 documented records (sanity check of the test inputs)', () => {
  for (const [name, flat] of [['proto', LOGS_PB_FLAT], ['json', LOGS_JSON_FLAT]]) {
    assert.equal(flat.length, 3, `${name}: records`);
    const [err, info, info2] = flat;
    assert.equal(err.record.severityNumber, 17);
    assert.deepEqual(err.record.attributes.find(([k]) => k === 'order.id')[1], { int: '42' });
    assert.match(err.record.traceId, /^[0-9a-f]{32}$/);
    assert.equal(info.record.traceId, '');
    assert.ok('kvlist' in info.record.body, `${name}: INFO body is a kvlist`);
    assert.equal(info2.record.eventName, 'order.placed');
    assert.equal(info2.record.traceId, err.record.traceId);
  }
});

const logVariants = [
  { label: 'protobuf with Content-Length', kind: 'proto', headers: PROTO, body: () => LOGS_PB },
  { label: 'protobuf gzip chunked', kind: 'proto', headers: { ...PROTO, 'Content-Encoding': 'gzip' }, body: () => gzip(LOGS_PB), chunked: true, chunkSize: 50 },
  { label: 'JSON chunked', kind: 'json', headers: JSONH, body: () => LOGS_JSON, chunked: true, chunkSize: 100 },
  { label: 'JSON gzip with Content-Length', kind: 'json', headers: { ...JSONH, 'Content-Encoding': 'gzip' }, body: () => gzip(LOGS_JSON) },
];

test('log samples round trip: every field of every record via /api/logs and /api/traces/{id}/logs, each way of sending', async (t) => {
  const s = await freshStack('log-samples');
  await s.wrap(async () => {
    for (const v of logVariants) {
      const res = await postLogs(s, { headers: v.headers, body: v.body(), chunked: v.chunked, chunkSize: v.chunkSize });
      assertExportAccepted(res, v.kind, 'logs', `POST /v1/logs (${v.label})`);
      // No sleep: the 200 promises the records are committed. Sending the same sample again
      // in another encoding must not duplicate it (checkSampleLogs counts exactly 3).
      await checkSampleLogs(s, v.kind === 'proto' ? LOGS_PB_FLAT : LOGS_JSON_FLAT, `after ${v.label}`);
    }
    // both samples side by side: each window returns only its own records
    await checkSampleLogs(s, LOGS_PB_FLAT, 'both samples stored, proto window');
    await checkSampleLogs(s, LOGS_JSON_FLAT, 'both samples stored, json window');
  })(t);
});

test('the same log request sent 3 times is stored once (counted through the API)', async (t) => {
  const s = await freshStack('log-idempotence');
  await s.wrap(async () => {
    for (let i = 0; i < 3; i++) assertExportAccepted(await postLogs(s, { headers: PROTO, body: LOGS_PB }), 'proto', 'logs', `POST #${i + 1}`);
    await checkSampleLogs(s, LOGS_PB_FLAT, 'after 3 identical exports');
    const t0 = logTime(LOGS_PB_FLAT[0]);
    const j = await apiJson(s, `/api/logs?start=${nsToUs(t0 - 3600n * 1000n * MS)}&end=${nsToUs(t0 + 3600n * 1000n * MS)}&limit=1000`);
    assert.equal(j.logs.length, 3, `whole database over ±1 h must hold 3 records, got ${j.logs.length}`);
  })(t);
});

test('/api/traces/{id}/logs: unknown trace -> 200 empty list; malformed id -> 400', w(() => stack, async () => {
  const j = await apiJson(stack, `/api/traces/${randomHex(16)}/logs`);
  assert.deepEqual(j.logs, [], 'unknown trace: logs must be []');
  assert.equal(j.truncated, false, 'unknown trace: truncated must be false');
  for (const bad of ['not-hex-at-all', 'zz'.repeat(16), '1'.repeat(33), "abc'%20OR%20'1'='1"]) {
    assertApi400(await stack.apiGet(`/api/traces/${bad}/logs`), `GET /api/traces/${bad}/logs`);
  }
}));

// ================================================================ partial success

function partialLogsDoc(service) {
  const now = BigInt(Date.now()) * MS;
  const tid = randomHex(16), sid = randomHex(8);
  const rec = (i, extra) => ({ timeUnixNano: String(now + BigInt(i) * MS), severityNumber: 9, body: { stringValue: `partial-${service}-${i}` }, ...extra });
  return {
    tid,
    doc: {
      resourceLogs: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeLogs: [{
          scope: { name: 'partial' },
          logRecords: [
            rec(0, { traceId: tid, spanId: sid }), // valid
            rec(1, {}), // valid, no trace context
            rec(2, { traceId: 'abcd', spanId: sid }), // trace id too short
            rec(3, { traceId: tid, spanId: '0102030405' }), // span id too short
            rec(4, { traceId: `${tid}00`, spanId: sid }), // trace id too long
            rec(5, { traceId: '', spanId: '' }), // empty ids are fine
          ],
        }],
      }],
    },
  };
}

for (const kind of ['json', 'proto']) {
  test(`/v1/logs partial success (${kind}): records with a malformed trace/span id are rejected and counted, the rest stored`, w(() => stack, async () => {
    const service = `partial-${kind}-${randomHex(3)}`;
    const { tid, doc } = partialLogsDoc(service);
    const body = kind === 'json' ? JSON.stringify(doc) : pbEncodeOtlp('ExportLogsServiceRequest', logsFromOtlpJson(doc));
    const res = await postLogs(stack, { headers: kind === 'json' ? JSONH : PROTO, body });
    expectStatus(res, 200, `POST /v1/logs with 3 invalid records (${kind})`);
    let rejected, msg;
    if (kind === 'json') {
      assert.match(res.contentType, /^application\/json/, `response content-type: ${res}`);
      const j = res.json();
      rejected = Number(j.partialSuccess?.rejectedLogRecords);
      msg = j.partialSuccess?.errorMessage;
    } else {
      const r = decodeLogsExportResponse(res.body);
      rejected = r.rejected;
      msg = r.errorMessage;
    }
    assert.equal(rejected, 3, `partialSuccess.rejectedLogRecords must be 3: ${res}`);
    assert.ok(typeof msg === 'string' && msg.length > 0, `partialSuccess.errorMessage should say why: ${res}`);
    const now = Date.now() * 1000;
    const j = await apiJson(stack, `/api/logs?service=${service}&start=${now - 600e6}&end=${now + 60e6}`);
    const bodies = j.logs.map((e) => e.record.body?.stringValue).sort();
    assert.deepEqual(bodies, [0, 1, 5].map((i) => `partial-${service}-${i}`), 'exactly the 3 valid records are stored');
    const tj = await apiJson(stack, `/api/traces/${tid}/logs`);
    assert.deepEqual(tj.logs.map((e) => e.record.body?.stringValue), [`partial-${service}-0`], 'the trace has exactly its one valid record');
  }));
}

test('a record with timeUnixNano 0 is filed and found by its observedTimeUnixNano, and echoed as sent', w(() => stack, async () => {
  const service = `notime-${randomHex(3)}`;
  const obs = (BigInt(Date.now()) - 120_000n) * MS;
  const doc = { resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeLogs: [{ scope: { name: 's' }, logRecords: [
    { timeUnixNano: '0', observedTimeUnixNano: String(obs), severityNumber: 13, severityText: 'WARN', body: { stringValue: 'no event time' } },
    { timeUnixNano: String(obs + 5n * MS), severityNumber: 9, body: { stringValue: 'with event time' } },
  ] }] }] };
  assertExportAccepted(await postLogs(stack, { headers: JSONH, body: JSON.stringify(doc) }), 'json', 'logs', 'POST a record without time');
  const j = await apiJson(stack, `/api/logs?service=${service}&start=${nsToUs(obs - 1000n * MS)}&end=${nsToUs(obs + 1000n * MS)}`);
  assertSameLogs(j.logs, flattenLogs(doc), 'record without timeUnixNano');
  assert.deepEqual(j.logs.map((e) => e.record.body.stringValue), ['with event time', 'no event time'], 'newest first, the time-less record by its observed time');
  const outside = await apiJson(stack, `/api/logs?service=${service}&start=${nsToUs(obs + 1000n * MS)}&end=${nsToUs(obs + 60_000n * MS)}`);
  assert.deepEqual(outside.logs, [], 'a window after the observed time finds neither');
}));

// ================================================================ error answers

for (const path of ['/v1/logs', '/v1/metrics']) {
  test(`${path}: 405, 415, 400 (protobuf and JSON Status), 413, and an empty request -> 200`, async (t) => {
    small ??= await freshStack('small-body', { collectorArgs: ['--max-body-size', '64k'] });
    await small.wrap(async () => {
      for (const method of ['GET', 'PUT']) {
        const r = await postTo(small, path, { method, headers: PROTO, body: method === 'GET' ? undefined : Buffer.alloc(0) });
        expectStatus(r, 405, `${method} ${path}`);
      }
      for (const ct of ['text/plain', 'application/xml']) expectStatus(await postTo(small, path, { headers: { 'Content-Type': ct }, body: 'x' }), 415, `${path} Content-Type ${ct}`);
      expectStatus(await postTo(small, path, { headers: { ...PROTO, 'Content-Encoding': 'br' }, body: 'x' }), 415, `${path} Content-Encoding br`);
      for (const [name, body] of [['text', Buffer.from('this is not protobuf at all')], ['overlong varint', Buffer.alloc(16, 0xff)], ['length beyond end', Buffer.from([0x0a, 0xff, 0x01, 0x0a])]]) {
        assertProtoStatus(await postTo(small, path, { headers: PROTO, body }), 400, `${path} garbage protobuf (${name})`);
      }
      const cut = (path === '/v1/logs' ? LOGS_PB : M3_PB).subarray(0, Math.floor((path === '/v1/logs' ? LOGS_PB : M3_PB).length * 0.6));
      assertProtoStatus(await postTo(small, path, { headers: PROTO, body: cut }), 400, `${path} protobuf truncated at 60 %`);
      for (const body of ['{"resourceLogs": [', 'not json', '[1,2,3]', '{"resourceMetrics": {"oops": 1}, "resourceLogs": 7}']) {
        assertJsonStatus(await postTo(small, path, { headers: JSONH, body }), 400, `${path} invalid JSON ${body}`);
      }
      const big = Buffer.concat([Buffer.from([0x0a]), Buffer.alloc(100 * 1024, 0x41)]);
      expectStatus(await postTo(small, path, { headers: PROTO, body: big }), 413, `${path} 100 KiB body with --max-body-size 64k`);
      expectStatus(await postTo(small, path, { headers: { ...PROTO, 'Content-Encoding': 'gzip' }, body: gzip(Buffer.alloc(1024 * 1024, 0)) }), 413, `${path} gzip inflating to 1 MiB`);
      const empty = await postTo(small, path, { headers: PROTO, body: Buffer.alloc(0) });
      assertExportAccepted(empty, 'proto', path === '/v1/logs' ? 'logs' : 'metrics', `${path} empty protobuf request`);
      assertExportAccepted(await postTo(small, path, { headers: JSONH, body: '{}' }), 'json', path === '/v1/logs' ? 'logs' : 'metrics', `${path} empty JSON request {}`);
      // still healthy and serving after all that
      assertExportAccepted(await postTo(small, path, { headers: PROTO, body: path === '/v1/logs' ? LOGS_PB : M3_PB }), 'proto', path === '/v1/logs' ? 'logs' : 'metrics', `${path} a valid sample afterwards`);
    })(t);
  });
}

// ================================================================ samples: metrics

const sampleWindow = (doc) => {
  const ts = [];
  for (const rm of doc.resourceMetrics) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) {
    for (const k of ['sum', 'gauge', 'histogram']) for (const p of m[k]?.dataPoints ?? []) ts.push(BigInt(p.timeUnixNano));
  }
  const lo = ts.reduce((a, b) => (a < b ? a : b)), hi = ts.reduce((a, b) => (a > b ? a : b));
  return { startUs: nsToUs(lo - 60_000n * MS), endUs: nsToUs(hi + 60_000n * MS), lo, hi };
};
const sampleHistogram = (doc) => doc.resourceMetrics[0].scopeMetrics[0].metrics.find((m) => m.name === 'http.server.request.duration').histogram.dataPoints[0];

const isCumulative = (t) => t === 2 || /^cumulative$/i.test(String(t)) || /CUMULATIVE/.test(String(t));

function assertMetricListed(list, { name, kind, unit, monotonic, temporality, series }, label) {
  const m = list.find((x) => x.name === name);
  assert.ok(m, `${label}: /api/metrics must list "${name}"; got ${JSON.stringify(list.map((x) => x.name))}`);
  assert.equal(m.kind, kind, `${label}: ${name} kind`);
  assert.equal(m.unit, unit, `${label}: ${name} unit`);
  if (monotonic !== undefined) assert.equal(m.monotonic, monotonic, `${label}: ${name} monotonic: ${JSON.stringify(m)}`);
  if (temporality === 'cumulative') assert.ok(isCumulative(m.temporality), `${label}: ${name} temporality must be cumulative: ${JSON.stringify(m)}`);
  if (series !== undefined) assert.equal(Number(m.series), series, `${label}: ${name} series count: ${JSON.stringify(m)}`);
  assert.equal(typeof m.description, 'string', `${label}: ${name} description: ${JSON.stringify(m)}`);
  return m;
}

// Every [t, v] pair of a query answer must be [number ms, number|null].
function pairs(list, label) {
  assert.ok(Array.isArray(list), `${label}: must be an array of [unixMs, value]: ${JSON.stringify(list)}`);
  for (const p of list) {
    assert.ok(Array.isArray(p) && p.length === 2 && typeof p[0] === 'number', `${label}: bad pair ${JSON.stringify(p)}`);
    assert.ok(p[1] === null || typeof p[1] === 'number' || (typeof p[1] === 'string' && !Number.isNaN(Number(p[1]))), `${label}: bad value ${JSON.stringify(p)}`);
  }
  return list.filter((p) => p[1] !== null).map(([t, v]) => [t, Number(v)]);
}

async function metricQuery(s, params, label) {
  const qs = new URLSearchParams(params).toString();
  const j = await apiJson(s, `/api/metrics/query?${qs}`, `${label}: GET /api/metrics/query?${qs}`);
  assert.equal(j.name, params.name, `${label}: name`);
  assert.ok(Array.isArray(j.series), `${label}: series must be an array: ${JSON.stringify(j).slice(0, 500)}`);
  assert.equal(typeof j.truncated, 'boolean', `${label}: truncated must be a boolean`);
  assert.equal(typeof j.step, 'number', `${label}: step must be a number of seconds`);
  return j;
}

function assertPercentilesWithin(series, min, max, label) {
  const pc = series.percentiles;
  assert.ok(pc && typeof pc === 'object', `${label}: a histogram series must have "percentiles": ${JSON.stringify(series).slice(0, 500)}`);
  assert.ok('0.5' in pc, `${label}: percentiles must include "0.5": keys ${Object.keys(pc)}`);
  let seen = 0;
  const byQ = {};
  for (const [q, list] of Object.entries(pc)) {
    const vals = pairs(list, `${label} percentile ${q}`);
    byQ[q] = vals;
    for (const [t, v] of vals) {
      seen++;
      assert.ok(v >= min - 1e-9 && v <= max + 1e-9, `${label}: percentile ${q} at ${t} = ${v} must lie within the recorded [min ${min}, max ${max}]`);
    }
  }
  assert.ok(byQ['0.5'].length > 0, `${label}: percentile 0.5 has no value: ${JSON.stringify(pc)}`);
  assert.ok(seen > 0, `${label}: no percentile values`);
  // quantiles are ordered: a higher quantile is never below a lower one at the same time
  const qs = Object.keys(byQ).map(Number).sort((a, b) => a - b);
  for (let i = 1; i < qs.length; i++) {
    const lo = new Map(byQ[String(qs[i - 1])]), hi = byQ[String(qs[i])];
    for (const [t, v] of hi) if (lo.has(t)) assert.ok(v >= lo.get(t) - 1e-9, `${label}: percentile ${qs[i]} (${v}) below percentile ${qs[i - 1]} (${lo.get(t)}) at ${t}`);
  }
}

test('metric samples: /api/metrics lists the 4 instruments with kind/unit/monotonic/temporality; queries give sensible values', async (t) => {
  const s = await freshStack('metric-samples');
  await s.wrap(async () => {
    assertExportAccepted(await postMetrics(s, { headers: PROTO, body: M3_PB, chunked: true }), 'proto', 'metrics', 'POST 003 protobuf');
    assertExportAccepted(await postMetrics(s, { headers: { ...JSONH, 'Content-Encoding': 'gzip' }, body: gzip(M3_JSON) }), 'json', 'metrics', 'POST 003 JSON gzip');
    const { metrics } = await apiJson(s, '/api/metrics');
    assert.ok(Array.isArray(metrics), '/api/metrics: "metrics" must be an array');
    assertMetricListed(metrics, { name: 'orders.processed', kind: 'sum', unit: '{order}', monotonic: true, temporality: 'cumulative', series: 2 }, 'samples');
    assertMetricListed(metrics, { name: 'http.server.request.duration', kind: 'histogram', unit: 's', temporality: 'cumulative', series: 1 }, 'samples');
    assertMetricListed(metrics, { name: 'queue.depth', kind: 'sum', unit: '', monotonic: false, temporality: 'cumulative', series: 1 }, 'samples');
    assertMetricListed(metrics, { name: 'cpu.temp', kind: 'gauge', unit: 'Cel', series: 1 }, 'samples');
    assert.equal(metrics.find((m) => m.name === 'orders.processed').description, 'processed orders', 'description of orders.processed');

    for (const [label, doc] of [['proto', M3_PB_DOC], ['json', M3_JSON_DOC]]) {
      const win = sampleWindow(doc);
      const base = { start: win.startUs, end: win.endUs, step: '60' };
      // histogram: percentiles within [min, max] of the sample point
      const hp = sampleHistogram(doc);
      const h = await metricQuery(s, { name: 'http.server.request.duration', ...base }, `${label} histogram`);
      assert.equal(h.kind, 'histogram', `${label}: kind of the histogram query`);
      assert.equal(h.unit, 's', `${label}: unit of the histogram query`);
      assert.equal(h.series.length, 1, `${label}: one histogram series (http.request.method=GET): ${JSON.stringify(h.series).slice(0, 600)}`);
      assert.equal(h.series[0].service, 'otlp-research', `${label}: histogram series service`);
      assert.equal(h.series[0].attributes?.['http.request.method'], 'GET', `${label}: histogram series attributes ${JSON.stringify(h.series[0].attributes)}`);
      assertPercentilesWithin(h.series[0], hp.min, hp.max, `${label} sample histogram`);
      // gauge: the last value of the step
      const g = await metricQuery(s, { name: 'cpu.temp', ...base }, `${label} gauge`);
      assert.equal(g.kind, 'gauge');
      assert.equal(g.unit, 'Cel');
      assert.equal(g.series.length, 1, `${label}: one gauge series`);
      assert.equal(Number(g.series[0].attributes?.core), 0, `${label}: gauge attribute core=0: ${JSON.stringify(g.series[0].attributes)}`);
      const gv = pairs(g.series[0].values, `${label} gauge values`);
      assert.ok(gv.length >= 1 && gv.every(([, v]) => v === 54.5), `${label}: cpu.temp values must be 54.5: ${JSON.stringify(gv)}`);
      const tMs = Number(win.lo / MS);
      assert.ok(gv.some(([ts]) => Math.abs(ts - tMs) <= 60_000), `${label}: a gauge value must be stamped within one step (60 s) of the point time ${tMs}: ${JSON.stringify(gv)}`);
      // up-down counter: its value
      const qd = await metricQuery(s, { name: 'queue.depth', ...base }, `${label} non-monotonic sum`);
      const qv = pairs(qd.series[0]?.values ?? [], `${label} queue.depth values`);
      assert.ok(qv.length >= 1 && qv.every(([, v]) => v === -3), `${label}: queue.depth (non-monotonic cumulative sum, value -3) must read -3: ${JSON.stringify(qd.series)}`);
      // monotonic counter: a rate, never negative; two series (order.type web/api); attribute filter
      const op = await metricQuery(s, { name: 'orders.processed', ...base }, `${label} counter`);
      assert.equal(op.kind, 'sum');
      assert.deepEqual(op.series.map((x) => x.attributes?.['order.type']).sort(), ['api', 'web'], `${label}: orders.processed series`);
      for (const x of op.series) for (const [, v] of pairs(x.values, `${label} orders.processed values`)) assert.ok(v >= 0, `${label}: a counter rate is never negative: ${v}`);
      const only = await metricQuery(s, { name: 'orders.processed', ...base, 'attr.order.type': 'web' }, `${label} counter attr filter`);
      assert.deepEqual(only.series.map((x) => x.attributes?.['order.type']), ['web'], `${label}: attr.order.type=web selects one series`);
      const none = await metricQuery(s, { name: 'orders.processed', ...base, service: 'no-such-service' }, `${label} counter service filter`);
      assert.deepEqual(none.series, [], `${label}: service=no-such-service selects nothing`);
    }
  })(t);
});

test('metric points stored twice are stored once (same series + time); a re-export with a new time adds points', async (t) => {
  const s = await freshStack('metric-idempotence');
  await s.wrap(async () => {
    const countPoints = async () => Number(await pg.psql('SELECT count(*) FROM metric_points', s.dbUrl.split('/').pop()));
    for (let i = 0; i < 3; i++) assertExportAccepted(await postMetrics(s, { headers: PROTO, body: M3_PB }), 'proto', 'metrics', `POST 003 #${i + 1}`);
    // 2 counter points + 1 histogram + 1 up-down + 1 gauge
    assert.equal(await countPoints(), 5, 'metric_points after 3 identical exports of 5 points');
    const { metrics } = await apiJson(s, '/api/metrics');
    assert.equal(Number(metrics.find((m) => m.name === 'orders.processed')?.series), 2, 'series of orders.processed after 3 exports');
    assert.equal(metrics.filter((m) => m.name === 'orders.processed').length, 1, 'one listing per metric name');
    assertExportAccepted(await postMetrics(s, { headers: PROTO, body: M4_PB }), 'proto', 'metrics', 'POST 004 (same points, later time)');
    assertExportAccepted(await postMetrics(s, { headers: PROTO, body: M4_PB }), 'proto', 'metrics', 'POST 004 again');
    assert.equal(await countPoints(), 10, 'metric_points after 004 (5 new times) sent twice');
    const after = await apiJson(s, '/api/metrics');
    assert.equal(Number(after.metrics.find((m) => m.name === 'orders.processed')?.series), 2, 'series of orders.processed after 004');
    // cumulative counter re-exported unchanged: the rate over the 2 points is 0, never negative
    const win = sampleWindow(M3_PB_DOC);
    const op = await metricQuery(s, { name: 'orders.processed', start: win.startUs, end: win.endUs, step: '60' }, 'counter after 003+004');
    for (const x of op.series) for (const [, v] of pairs(x.values, 'orders.processed')) assert.ok(v >= 0, `rate must be >= 0: ${v}`);
  })(t);
});

test('cumulative counter with known increments and a reset: per-second rate, never negative', w(() => stack, async () => {
  const name = `e2e.rate.${randomHex(3)}`;
  const t0 = (BigInt(Date.now()) - 20n * 60_000n) * MS; // 20 minutes ago
  const start = t0 - 1000n * MS;
  // +100 every 10 s (10/s) for 60 s, then the process restarts (new start time, counter
  // back to 0) and continues at +200 every 10 s (20/s).
  const pts = [];
  for (let i = 0; i <= 6; i++) pts.push({ startTimeUnixNano: String(start), timeUnixNano: String(t0 + BigInt(i) * 10_000n * MS), asDouble: 100 * i });
  const restart = t0 + 65_000n * MS;
  for (let i = 1; i <= 6; i++) pts.push({ startTimeUnixNano: String(restart), timeUnixNano: String(restart + BigInt(i) * 10_000n * MS), asInt: String(200 * i) });
  const doc = {
    resourceMetrics: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'rate-svc' } }] },
      scopeMetrics: [{ scope: { name: 'e2e' }, metrics: [{ name, unit: '{req}', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: pts } }] }],
    }],
  };
  assertExportAccepted(await postMetrics(stack, { headers: JSONH, body: JSON.stringify(doc) }), 'json', 'metrics', 'POST counter with reset');
  const q = await metricQuery(stack, { name, start: nsToUs(t0 - 30_000n * MS), end: nsToUs(t0 + 200_000n * MS), step: '30' }, 'counter rate');
  assert.equal(q.kind, 'sum');
  assert.equal(q.unit, '{req}');
  assert.equal(q.step, 30, 'step echoes the requested 30 s');
  assert.equal(q.series.length, 1);
  const vals = pairs(q.series[0].values, 'rate values');
  assert.ok(vals.length >= 3, `expected several rate values over 3 minutes at a 30 s step: ${JSON.stringify(vals)}`);
  for (const [ts, v] of vals) assert.ok(v >= 0, `a counter rate is never negative (reset at ${Number(restart / MS)}): ${v} at ${ts}`);
  for (const [ts, v] of vals) assert.ok(v <= 40, `rate ${v}/s at ${ts} is far above the real 10-20/s (the reset was read as an increase?)`);
  const before = vals.filter(([ts]) => ts < Number((t0 + 55_000n * MS) / MS) && ts >= Number(t0 / MS));
  const afterR = vals.filter(([ts]) => ts >= Number((restart + 15_000n * MS) / MS));
  assert.ok(before.some(([, v]) => v >= 5 && v <= 15), `before the reset the rate is 10/s: ${JSON.stringify(vals)}`);
  assert.ok(afterR.some(([, v]) => v >= 12 && v <= 30), `after the reset the rate is 20/s: ${JSON.stringify(vals)}`);
  for (const [ts] of vals) assert.equal((ts - vals[0][0]) % 30_000, 0, `timestamps are spaced by the 30 s step: ${JSON.stringify(vals)}`);
}));

test('delta sum, summary and exponential histogram: kinds listed, rate of a delta counter, percentiles', w(() => stack, async () => {
  const tag = randomHex(3);
  const t0 = (BigInt(Date.now()) - 15n * 60_000n) / 60_000n * 60_000n * MS; // a minute boundary 15 min ago
  const ts = (s) => String(t0 + BigInt(s) * 1000n * MS);
  const doc = {
    resourceMetrics: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'kinds-svc' } }] },
      scopeMetrics: [{
        scope: { name: 'e2e' },
        metrics: [
          { name: `e2e.delta.${tag}`, unit: '{req}', sum: { aggregationTemporality: 1, isMonotonic: true,
            dataPoints: [10, 30, 50].map((s) => ({ startTimeUnixNano: ts(s - 20), timeUnixNano: ts(s), asInt: '60' })) } },
          { name: `e2e.summary.${tag}`, unit: 'ms', summary: { dataPoints: [
            { startTimeUnixNano: ts(0), timeUnixNano: ts(20), count: '100', sum: 1500, quantileValues: [{ quantile: 0.5, value: 10 }, { quantile: 0.99, value: 50 }] },
            { startTimeUnixNano: ts(0), timeUnixNano: ts(40), count: '200', sum: 3100, quantileValues: [{ quantile: 0.5, value: 12 }, { quantile: 0.99, value: 55 }] },
          ] } },
          { name: `e2e.exphist.${tag}`, unit: 's', exponentialHistogram: { aggregationTemporality: 1, dataPoints: [
            { startTimeUnixNano: ts(0), timeUnixNano: ts(30), count: '10', sum: 42, scale: 0, zeroCount: '0', positive: { offset: 0, bucketCounts: ['2', '3', '5'] }, min: 1.5, max: 7 },
          ] } },
        ],
      }],
    }],
  };
  assertExportAccepted(await postMetrics(stack, { headers: JSONH, body: JSON.stringify(doc) }), 'json', 'metrics', 'POST delta sum, summary, exponential histogram');
  const { metrics } = await apiJson(stack, '/api/metrics');
  assertMetricListed(metrics, { name: `e2e.delta.${tag}`, kind: 'sum', unit: '{req}', monotonic: true, series: 1 }, 'kinds');
  assert.ok(/delta/i.test(String(metrics.find((m) => m.name === `e2e.delta.${tag}`).temporality)) || metrics.find((m) => m.name === `e2e.delta.${tag}`).temporality === 1, 'delta temporality');
  assertMetricListed(metrics, { name: `e2e.summary.${tag}`, kind: 'summary', unit: 'ms', series: 1 }, 'kinds');
  assertMetricListed(metrics, { name: `e2e.exphist.${tag}`, kind: 'exponential_histogram', unit: 's', series: 1 }, 'kinds');
  const range = { start: nsToUs(BigInt(ts(0))), end: nsToUs(BigInt(ts(59))), step: '60' };
  // delta counter: 3 x 60 in one 60 s step -> 3/s
  const d = await metricQuery(stack, { name: `e2e.delta.${tag}`, ...range }, 'delta sum');
  const dv = pairs(d.series[0]?.values ?? [], 'delta rate');
  assert.deepEqual(dv.map(([, v]) => v), [3], `delta counter: 180 in a 60 s step is 3/s: ${JSON.stringify(dv)}`);
  // summary: the quantiles of the last point of the step
  const sm = await metricQuery(stack, { name: `e2e.summary.${tag}`, ...range }, 'summary');
  assert.equal(sm.kind, 'summary');
  const pc = sm.series[0]?.percentiles ?? {};
  assert.deepEqual(pairs(pc['0.5'] ?? [], 'summary p50').map(([, v]) => v), [12], `summary percentile 0.5 of the last point: ${JSON.stringify(pc)}`);
  assert.deepEqual(pairs(pc['0.99'] ?? [], 'summary p99').map(([, v]) => v), [55], `summary percentile 0.99 of the last point: ${JSON.stringify(pc)}`);
  // exponential histogram: percentiles within [min, max]
  const eh = await metricQuery(stack, { name: `e2e.exphist.${tag}`, ...range }, 'exponential histogram');
  assert.equal(eh.kind, 'exponential_histogram');
  assertPercentilesWithin(eh.series[0] ?? {}, 1.5, 7, 'exponential histogram');
}));

test('/api/metrics/query: missing name and malformed parameters -> 400', w(() => stack, async () => {
  assertApi400(await stack.apiGet('/api/metrics/query'), 'no name');
  assertApi400(await stack.apiGet('/api/metrics/query?start=0&end=1'), 'no name, with a range');
  assertApi400(await stack.apiGet('/api/metrics/query?name=cpu.temp&start=yesterday'), 'start=yesterday');
  assertApi400(await stack.apiGet('/api/metrics/query?name=cpu.temp&step=abc'), 'step=abc');
}));

// ================================================================ JS SDK: logs

class RecordingLogExporter {
  constructor(inner) { this.inner = inner; this.results = []; this.records = []; }
  export(records, cb) { this.records.push(...records); this.inner.export(records, (r) => { this.results.push(r); cb(r); }); }
  shutdown() { return this.inner.shutdown(); }
  forceFlush() { return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve(); }
}

const logConfigs = [
  { label: 'proto batch', Exporter: ProtoLogExporter, processor: 'batch' },
  { label: 'proto+gzip simple', Exporter: ProtoLogExporter, processor: 'simple', compression: 'gzip' },
  { label: 'http/json batch', Exporter: JsonLogExporter, processor: 'batch' },
  { label: 'http/json+gzip simple', Exporter: JsonLogExporter, processor: 'simple', compression: 'gzip' },
];

for (const cfg of logConfigs) {
  test(`JS SDK log exporter ${cfg.label}: every record reads back field by field`, w(() => stack, async () => {
    const service = `sdk-logs-${cfg.label.replace(/\W+/g, '-')}-${randomHex(3)}`;
    const exporter = new RecordingLogExporter(new cfg.Exporter({ url: `${stack.collectorUrl}/v1/logs`, timeoutMillis: 10_000, ...(cfg.compression ? { compression: cfg.compression } : {}) }));
    const processor = cfg.processor === 'batch' ? new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 60_000 }) : new SimpleLogRecordProcessor({ exporter });
    const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': service, 'service.version': '9.9.9', 'host.name': 'e2e-host' }), processors: [processor] });
    const logger = provider.getLogger('e2e-sdk-logger', '3.2.1', { schemaUrl: 'https://opentelemetry.io/schemas/1.27.0' });
    const traceId = randomHex(16), spanId = randomHex(8);
    const inSpan = api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId, spanId, traceFlags: api.TraceFlags.SAMPLED });
    const now = Date.now();
    logger.emit({ severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', body: 'payment failed: card declined ✓ 日本', attributes: { 'order.id': 42, 'http.route': '/pay', ok: false, ratio: 0.25, tags: ['a', 'b'] }, context: inSpan, timestamp: now - 3000 });
    logger.emit({ severityNumber: SeverityNumber.INFO, body: { msg: 'structured', n: 7, nested: { ok: true, list: [1, 2] } }, attributes: { k: 'v' }, timestamp: now - 2000 });
    logger.emit({ severityNumber: SeverityNumber.INFO2, eventName: 'order.placed', body: 'event body', context: inSpan, timestamp: now - 1000, observedTimestamp: now - 500 });
    logger.emit({ severityNumber: SeverityNumber.WARN, severityText: 'WARN', body: 'no explicit timestamp' });
    await provider.forceFlush();
    await provider.shutdown();
    assert.equal(exporter.records.length, 4, 'records handed to the exporter');
    exporter.results.forEach((r, i) => assert.equal(r.code, ExportResultCode.SUCCESS, `export #${i + 1} failed: ${r.error?.stack || r.error}`));

    const expected = flattenLogs(pbDecodeOtlp('ExportLogsServiceRequest', Buffer.from(ProtobufLogsSerializer.serializeRequest(exporter.records))), 'sdk proto');
    const expectedJson = flattenLogs(JSON.parse(Buffer.from(JsonLogsSerializer.serializeRequest(exporter.records)).toString()), 'sdk json');
    assert.deepEqual(expected, expectedJson, 'test sanity: the SDK protobuf and JSON renderings agree');
    assert.equal(expected[0].record.traceId, traceId, 'test sanity: the record emitted in the span carries its trace id');
    assert.ok('kvlist' in expected[1].record.body, 'test sanity: a map body is a kvlist');

    const nowUs = Date.now() * 1000;
    const j = await apiJson(stack, `/api/logs?service=${service}&start=${nowUs - 600e6}&end=${nowUs + 60e6}`);
    assertSameLogs(j.logs, expected, `${cfg.label} /api/logs`);
    assertOrder(j.logs, 'desc', `${cfg.label} /api/logs`);
    const tj = await apiJson(stack, `/api/traces/${traceId}/logs`);
    assertSameLogs(tj.logs, expected.filter((c) => c.record.traceId === traceId), `${cfg.label} /api/traces/{id}/logs`);
    assertOrder(tj.logs, 'asc', `${cfg.label} /api/traces/{id}/logs`);
  }));
}

// ================================================================ JS SDK: metrics

const metricConfigs = [
  { label: 'proto', Exporter: ProtoMetricExporter },
  { label: 'http/json', Exporter: JsonMetricExporter },
];

for (const cfg of metricConfigs) {
  test(`JS SDK metric exporter ${cfg.label}: counter, up-down counter, histogram, observable gauge listed and queried`, w(() => stack, async () => {
    const tag = `${cfg.label.replace(/\W+/g, '')}${randomHex(2)}`;
    const service = `sdk-metrics-${tag}`;
    const exporter = new cfg.Exporter({ url: `${stack.collectorUrl}/v1/metrics`, timeoutMillis: 10_000 });
    const results = [];
    const origExport = exporter.export.bind(exporter);
    exporter.export = (m, cb) => origExport(m, (r) => { results.push(r); cb(r); });
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000, exportTimeoutMillis: 10_000 });
    const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': service }), readers: [reader] });
    const meter = provider.getMeter('e2e-meter', '1.0.0');
    const n = (x) => `e2e.${tag}.${x}`;
    const counter = meter.createCounter(n('requests'), { unit: '{request}', description: 'requests served' });
    const updown = meter.createUpDownCounter(n('inflight'), { unit: '{request}' });
    const hist = meter.createHistogram(n('latency'), { unit: 'ms' });
    const gauge = meter.createObservableGauge(n('temperature'), { unit: 'Cel' });
    gauge.addCallback((r) => r.observe(42.5, { room: 'lab' }));
    const t0 = Date.now();
    const HIST_VALUES = [3, 7, 12, 20, 35, 60, 90, 140];
    for (let step = 0; step < 4; step++) {
      counter.add(100, { route: '/a' });
      updown.add(step === 3 ? -2 : 3);
      for (const v of HIST_VALUES) hist.record(v, { route: '/a' });
      await reader.forceFlush();
      if (step < 3) await sleep(1000);
    }
    await provider.shutdown();
    assert.ok(results.length >= 4, `4 exports expected, got ${results.length}`);
    results.forEach((r, i) => assert.equal(r.code, ExportResultCode.SUCCESS, `export #${i + 1} failed: ${r.error?.stack || r.error}`));

    const { metrics } = await apiJson(stack, '/api/metrics');
    assertMetricListed(metrics, { name: n('requests'), kind: 'sum', unit: '{request}', monotonic: true, temporality: 'cumulative', series: 1 }, cfg.label);
    assertMetricListed(metrics, { name: n('inflight'), kind: 'sum', unit: '{request}', monotonic: false, series: 1 }, cfg.label);
    assertMetricListed(metrics, { name: n('latency'), kind: 'histogram', unit: 'ms', temporality: 'cumulative', series: 1 }, cfg.label);
    assertMetricListed(metrics, { name: n('temperature'), kind: 'gauge', unit: 'Cel', series: 1 }, cfg.label);
    assert.equal(metrics.find((m) => m.name === n('requests')).description, 'requests served');

    const range = { start: String((t0 - 10_000) * 1000), end: String((Date.now() + 10_000) * 1000), service };
    // counter: +100 about every second -> about 100/s
    const c = await metricQuery(stack, { name: n('requests'), ...range, step: '1' }, `${cfg.label} counter`);
    assert.equal(c.series.length, 1);
    assert.equal(c.series[0].service, service);
    assert.equal(c.series[0].attributes?.route, '/a');
    const cv = pairs(c.series[0].values, 'counter rate');
    assert.ok(cv.length >= 1, `counter: rate values expected: ${JSON.stringify(c.series[0])}`);
    for (const [, v] of cv) assert.ok(v >= 0 && v <= 1000, `counter rate ${v}/s: expected about 100/s (+100 per ~1 s)`);
    assert.ok(cv.some(([, v]) => v >= 30 && v <= 300), `counter rate must reach the order of 100/s: ${JSON.stringify(cv)}`);
    // up-down counter: the value (3, 6, 9, then 7)
    const u = await metricQuery(stack, { name: n('inflight'), ...range, step: '60' }, `${cfg.label} up-down counter`);
    const uv = pairs(u.series[0]?.values ?? [], 'up-down values');
    assert.ok(uv.length >= 1 && uv.every(([, v]) => [3, 6, 9, 7].includes(v)), `up-down counter values must be among 3, 6, 9, 7: ${JSON.stringify(uv)}`);
    assert.equal(uv[uv.length - 1][1], 7, `the last up-down value is 7: ${JSON.stringify(uv)}`);
    // histogram: percentiles between the min and max recorded
    const h = await metricQuery(stack, { name: n('latency'), ...range, step: '60' }, `${cfg.label} histogram`);
    assert.equal(h.kind, 'histogram');
    assert.equal(h.series.length, 1);
    assertPercentilesWithin(h.series[0], Math.min(...HIST_VALUES), Math.max(...HIST_VALUES), `${cfg.label} SDK histogram`);
    // observable gauge: 42.5
    const g = await metricQuery(stack, { name: n('temperature'), ...range, step: '60' }, `${cfg.label} gauge`);
    assert.equal(g.series[0]?.attributes?.room, 'lab');
    const gv = pairs(g.series[0].values, 'gauge values');
    assert.ok(gv.length >= 1 && gv.every(([, v]) => v === 42.5), `gauge values must be 42.5: ${JSON.stringify(gv)}`);
  }));
}

// ================================================================ /api/logs filters

// A known data set: 40 records over 3 services, 6 severities, 2 traces, distinct bodies and
// attributes, 5 of them at the same instant (a page boundary may fall among them).
const DS = randomHex(4);
const SERVICES = [`lf-api-${DS}`, `lf-worker-${DS}`, `lf-db-${DS}`];
const SEV = [[1, 'TRACE'], [5, 'DEBUG'], [9, 'INFO'], [13, 'WARN'], [17, 'ERROR'], [21, 'FATAL']];
const T1 = randomHex(16), T2 = randomHex(16);
const BASE_NS = (BigInt(Date.now()) - 20n * 60_000n) * MS; // 20 minutes ago: inside the default hour
const SPECIAL = { 7: 'Payment DECLINED for card', 8: 'payment declined again', 9: '100% done', 11: 'under_score value', 13: "it's O'Reilly; DROP TABLE logs; --" };
const dataset = Array.from({ length: 40 }, (_, i) => {
  const [sev, sevText] = SEV[i % 6];
  const time = BASE_NS + BigInt(i >= 10 && i <= 14 ? 10 : i) * 1000n * MS; // i=10..14 share one instant
  const body = i === 20 ? { kvlistValue: { values: [{ key: 'msg', value: { stringValue: `#20 structured Needle` } }, { key: 'n', value: { intValue: 20 } }] } }
    : { stringValue: `#${i} ${SPECIAL[i] ?? `step ${i} ok`}` };
  return {
    i, service: SERVICES[i % 3], sev, time,
    trace: i % 4 === 0 ? T1 : i % 4 === 1 ? T2 : '',
    bodyText: i === 20 ? '#20 structured Needle' : body.stringValue,
    attrs: { 'http.route': i % 2 ? '/b' : '/a', 'user.id': i % 5, tenant: `t${i % 4}`, dataset: DS, ...(i === 13 ? { note: "x' OR '1'='1" } : {}) },
    record: {
      timeUnixNano: String(time), observedTimeUnixNano: String(time + 5n * MS), severityNumber: sev, severityText: sevText, body,
      attributes: [
        { key: 'http.route', value: { stringValue: i % 2 ? '/b' : '/a' } },
        { key: 'user.id', value: { intValue: i % 5 } },
        { key: 'tenant', value: { stringValue: `t${i % 4}` } },
        { key: 'dataset', value: { stringValue: DS } },
        ...(i === 13 ? [{ key: 'note', value: { stringValue: "x' OR '1'='1" } }] : []),
      ],
      ...(i % 4 <= 1 ? { traceId: i % 4 === 0 ? T1 : T2, spanId: randomHex(8), flags: 1 } : {}),
    },
  };
});
// two records 2 hours old: outside the default range
const OLD = [0, 1].map((k) => ({ timeUnixNano: String((BigInt(Date.now()) - 2n * 3600_000n) * MS + BigInt(k) * MS), severityNumber: 9, body: { stringValue: `old ${k}` }, attributes: [{ key: 'dataset', value: { stringValue: `${DS}-old` } }] }));

let datasetLoaded = false;
async function loadDataset() {
  if (datasetLoaded) return;
  const doc = {
    resourceLogs: SERVICES.map((svc) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
      scopeLogs: [{ scope: { name: 'filters' }, logRecords: dataset.filter((d) => d.service === svc).map((d) => d.record) }],
    })).concat([{ resource: { attributes: [{ key: 'service.name', value: { stringValue: SERVICES[0] } }] }, scopeLogs: [{ scope: { name: 'filters' }, logRecords: OLD }] }]),
  };
  // half as protobuf, half as JSON
  const half = { resourceLogs: doc.resourceLogs.slice(0, 2) }, rest = { resourceLogs: doc.resourceLogs.slice(2) };
  assertExportAccepted(await postLogs(stack, { headers: PROTO, body: pbEncodeOtlp('ExportLogsServiceRequest', logsFromOtlpJson(half)) }), 'proto', 'logs', 'load data set (proto half)');
  assertExportAccepted(await postLogs(stack, { headers: JSONH, body: JSON.stringify(rest) }), 'json', 'logs', 'load data set (json half)');
  datasetLoaded = true;
}

const RANGE = { start: nsToUs(BASE_NS - 60_000n * MS), end: nsToUs(BASE_NS + 120_000n * MS) };
const idOf = (e) => {
  const b = e.record?.body;
  const text = b?.stringValue ?? b?.kvlistValue?.values?.find((kv) => kv.key === 'msg')?.value?.stringValue ?? '';
  const m = /^#(\d+) /.exec(text);
  return m ? Number(m[1]) : `?${JSON.stringify(b)}`;
};

async function logsQuery(params, label) {
  const qs = new URLSearchParams(params).toString();
  const j = await apiJson(stack, `/api/logs?${qs}`, `${label}: GET /api/logs?${qs}`);
  assert.ok(Array.isArray(j.logs), `${label}: logs must be an array`);
  assert.ok('nextCursor' in j, `${label}: nextCursor must be present (null on the last page)`);
  assertOrder(j.logs, 'desc', `${label} (${qs})`);
  return j;
}

async function expectIds(params, pred, label) {
  await loadDataset();
  const j = await logsQuery({ ...RANGE, limit: '1000', ...params }, label);
  const got = j.logs.map(idOf).sort((a, b) => a - b);
  const want = dataset.filter(pred).map((d) => d.i).sort((a, b) => a - b);
  assert.ok(want.length > 0 || label.includes('none'), `test bug: ${label} expects nothing`);
  assert.deepEqual(got, want, `${label}: /api/logs?${new URLSearchParams(params)} returned the wrong records`);
  assert.equal(j.nextCursor, null, `${label}: everything fit in one page`);
  return j;
}

const inDs = (d) => true; // every record of the data set; params always restrict to it (attr.dataset or service)

test('/api/logs filters alone: service, severity (number and name), traceId, q, attr.*, time range', w(() => stack, async () => {
  await loadDataset();
  const ds = { 'attr.dataset': DS };
  await expectIds(ds, inDs, 'attr.dataset only (the whole data set)');
  for (const svc of SERVICES) await expectIds({ service: svc }, (d) => d.service === svc, `service=${svc}`);
  for (const [num, name] of SEV) {
    await expectIds({ ...ds, severity: String(num) }, (d) => d.sev >= num, `severity=${num}`);
    await expectIds({ ...ds, severity: name }, (d) => d.sev >= num, `severity=${name}`);
  }
  await expectIds({ ...ds, severity: '18' }, (d) => d.sev >= 18, 'severity=18 (between ERROR and FATAL)');
  await expectIds({ ...ds, traceId: T1 }, (d) => d.trace === T1, 'traceId=T1');
  await expectIds({ ...ds, traceId: T2.toUpperCase() }, (d) => d.trace === T2, 'traceId=T2 in uppercase');
  await expectIds({ ...ds, q: 'declined' }, (d) => /declined/i.test(d.bodyText), 'q=declined (case-insensitive)');
  await expectIds({ ...ds, q: 'PAYMENT' }, (d) => /payment/i.test(d.bodyText), 'q=PAYMENT');
  await expectIds({ ...ds, q: 'needle' }, (d) => d.i === 20, 'q=needle (inside a structured body)');
  await expectIds({ ...ds, q: '%' }, (d) => d.bodyText.includes('%'), 'q=% is a literal percent sign');
  await expectIds({ ...ds, q: '_' }, (d) => d.bodyText.includes('_'), 'q=_ is a literal underscore');
  await expectIds({ ...ds, q: "O'Reilly; DROP TABLE" }, (d) => d.i === 13, 'q with a quote and SQL');
  await expectIds({ ...ds, 'attr.http.route': '/b' }, (d) => d.attrs['http.route'] === '/b', 'attr.http.route=/b');
  await expectIds({ ...ds, 'attr.user.id': '3' }, (d) => d.attrs['user.id'] === 3, 'attr.user.id=3 (an int attribute as text)');
  await expectIds({ ...ds, 'attr.note': "x' OR '1'='1" }, (d) => d.i === 13, "attr.note=x' OR '1'='1 (a value, not SQL)");
  const lo = BASE_NS + 4500n * MS, hi = BASE_NS + 15_500n * MS;
  await expectIds({ ...ds, start: nsToUs(lo), end: nsToUs(hi) }, (d) => d.time >= lo && d.time <= hi, 'time range in µs');
  const iso = (ns) => new Date(Number(ns / MS)).toISOString();
  await expectIds({ ...ds, start: iso(lo), end: iso(hi) }, (d) => d.time >= lo && d.time <= hi, 'time range in RFC 3339');
}));

test('/api/logs filters combined, and filters that select nothing', w(() => stack, async () => {
  await loadDataset();
  await expectIds({ service: SERVICES[0], severity: 'WARN' }, (d) => d.service === SERVICES[0] && d.sev >= 13, 'service + severity');
  await expectIds({ service: SERVICES[1], traceId: T2, q: 'step' }, (d) => d.service === SERVICES[1] && d.trace === T2 && d.bodyText.includes('step'), 'service + traceId + q');
  await expectIds({ 'attr.dataset': DS, 'attr.http.route': '/a', 'attr.tenant': 't2' }, (d) => d.attrs['http.route'] === '/a' && d.attrs.tenant === 't2', 'two attr filters');
  const lo = BASE_NS + 20_000n * MS;
  await expectIds({ 'attr.dataset': DS, severity: '9', start: nsToUs(lo), 'attr.http.route': '/b', q: 'ok' },
    (d) => d.sev >= 9 && d.time >= lo && d.attrs['http.route'] === '/b' && d.bodyText.includes('ok'), 'severity + start + attr + q');
  for (const [params, label] of [
    [{ service: SERVICES[0], traceId: T2, severity: 'FATAL', q: 'zzz-nothing' }, 'none: impossible combination'],
    [{ 'attr.dataset': DS, 'attr.note': "' OR 1=1 --" }, 'none: SQL-looking attr value'],
    [{ service: "x' OR '1'='1" }, 'none: SQL-looking service'],
    [{ 'attr.dataset': DS, q: "'; DELETE FROM logs; --" }, 'none: SQL-looking q'],
    [{ 'attr.dataset': DS, traceId: randomHex(16) }, 'none: unknown trace'],
  ]) {
    const j = await logsQuery({ ...RANGE, ...params }, label);
    assert.deepEqual(j.logs.map(idOf), [], `${label}: nothing expected`);
  }
  await expectIds({ 'attr.dataset': DS }, inDs, 'the data set is intact after the SQL-looking queries');
}));

test('/api/logs default range is the last hour; explicit start reaches older records', w(() => stack, async () => {
  await loadDataset();
  const j = await logsQuery({ 'attr.dataset': DS, limit: '1000' }, 'no start/end');
  assert.deepEqual(j.logs.map(idOf).sort((a, b) => a - b), dataset.map((d) => d.i), 'the data set (20 minutes old) is inside the default last hour');
  const old = await logsQuery({ 'attr.dataset': `${DS}-old` }, 'old records, default range');
  assert.equal(old.logs.length, 0, `records 2 hours old are outside the default range: ${JSON.stringify(old.logs).slice(0, 300)}`);
  const nowUs = Date.now() * 1000;
  const old2 = await logsQuery({ 'attr.dataset': `${DS}-old`, start: String(nowUs - 3 * 3600e6), end: String(nowUs) }, 'old records, explicit range');
  assert.deepEqual(old2.logs.map((e) => e.record.body.stringValue), ['old 1', 'old 0'], 'the two old records, newest first');
}));

test('/api/logs pagination walks all pages: no duplicate, no gap, newest first across pages', w(() => stack, async () => {
  await loadDataset();
  for (const limit of [7, 5, 1]) {
    const seen = [];
    let cursor = null, pages = 0, prevLast = null;
    do {
      const j = await logsQuery({ ...RANGE, 'attr.dataset': DS, limit: String(limit), ...(cursor ? { cursor } : {}) }, `limit=${limit} page ${pages + 1}`);
      pages++;
      assert.ok(j.logs.length <= limit, `page ${pages} has ${j.logs.length} > limit ${limit} records`);
      if (j.nextCursor !== null) {
        assert.equal(j.logs.length, limit, `limit=${limit}: a page followed by another must be full (page ${pages} has ${j.logs.length})`);
        assert.equal(typeof j.nextCursor, 'string', 'nextCursor is a string');
      }
      const ts = timesOf(j.logs);
      if (prevLast !== null && ts.length) assert.ok(ts[0] <= prevLast, `limit=${limit}: page ${pages} starts after the previous page ended (not newest first across pages)`);
      if (ts.length) prevLast = ts[ts.length - 1];
      seen.push(...j.logs.map(idOf));
      cursor = j.nextCursor;
      assert.ok(pages <= 41 + 1, `limit=${limit}: too many pages (a cursor loop?)`);
    } while (cursor);
    const dup = seen.filter((x, k) => seen.indexOf(x) !== k);
    assert.deepEqual(dup, [], `limit=${limit}: duplicates across pages`);
    assert.deepEqual([...seen].sort((a, b) => a - b), dataset.map((d) => d.i), `limit=${limit}: the pages together are exactly the 40 records (gaps: ${dataset.map((d) => d.i).filter((i) => !seen.includes(i))})`);
    assert.ok(pages >= Math.ceil(40 / limit), `limit=${limit}: ${pages} pages`);
  }
  const def = await logsQuery({ ...RANGE, 'attr.dataset': DS }, 'default limit');
  assert.equal(def.logs.length, 40, 'the default limit (100) fits 40 records');
  assert.equal(def.nextCursor, null);
  const f = await logsQuery({ ...RANGE, 'attr.dataset': DS, limit: '1000' }, 'limit=1000');
  assert.equal(f.logs.length, 40);
}));

test('/api/logs: malformed parameters -> 400 JSON with a message', w(() => stack, async () => {
  const bad = [
    'severity=LOUD', 'severity=0', 'severity=25', 'severity=-1', 'start=yesterday', 'end=not-a-time', 'start=2026-13-45T99:00:00Z',
    'limit=0', 'limit=abc', 'limit=1001', 'limit=-5', 'limit=1.5', 'cursor=garbage', 'cursor=%27%20OR%201%3D1%20--', 'traceId=xyz',
    `traceId=${'a'.repeat(33)}`,
  ];
  for (const qs of bad) assertApi400(await stack.apiGet(`/api/logs?${qs}`), `GET /api/logs?${qs}`);
  // and the good ones next to them are fine
  for (const qs of ['severity=1', 'severity=24', 'severity=FATAL', 'limit=1', 'limit=1000']) {
    expectStatus(await stack.apiGet(`/api/logs?${qs}`), 200, `GET /api/logs?${qs}`);
  }
}));
