// OTLP/gRPC: the official JS SDK gRPC exporters (traces, logs, metrics; plain and gzip) into the
// collector's gRPC port and back out of the API field by field; gRPC status codes for bad
// input (undecodable, too large, unknown method, malformed framing, compressed flag without
// grpc-encoding); 50 concurrent calls on one connection; a client vanishing mid-message; and
// the daemon still serving after all of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import zlib from 'node:zlib';
import * as api from '@opentelemetry/api';
import * as grpc from '@grpc/grpc-js';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ExportResultCode } from '@opentelemetry/core';
import { ProtobufTraceSerializer, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { Postgres, Stack, expectStatus, sleep, waitFor } from './harness.mjs';
import { pbDecode, pbEncode, pbDecodeOtlp, fromOtlpJson, flattenSpans, flattenLogs, assertSameLogs, simpleTraceDoc, randomHex, parseJsonLossless, decodeExportResponse } from './otlp.mjs';
import { checkTraceViaApi, metricsSnapshot } from './checks.mjs';

const SUITE = 'grpc';
const TRACE_METHOD = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
let pg, stack;

before(async () => {
  pg = await Postgres.start('grpc');
  stack = await Stack.start({ suite: SUITE, dbUrl: pg.url, collectorArgs: ['--max-body-size', '64k'] });
});

after(async () => {
  await stack?.stopAll();
  await pg?.stop();
});

const grpcUrl = () => `http://127.0.0.1:${stack.collector.grpcPort}`;

// A raw unary call with bytes in and bytes out: resolves { code, details, metadata, body }.
function rawCall(client, method, body, { metadata = new grpc.Metadata(), deadline = 20_000 } = {}) {
  return new Promise((resolve) => {
    let trailers;
    const call = client.makeUnaryRequest(method, (b) => b, (b) => b, body, metadata, { deadline: Date.now() + deadline }, (err, resp) => {
      if (err) resolve({ code: err.code, details: err.details, metadata: err.metadata, body: null });
      else resolve({ code: 0, details: '', metadata: trailers, body: resp });
    });
    call.on('status', (s) => { trailers = s.metadata; });
  });
}

function newRawClient() {
  return new grpc.Client(`127.0.0.1:${stack.collector.grpcPort}`, grpc.credentials.createInsecure());
}

// One gRPC call over node:http2 with exact control of the bytes; resolves the headers,
// trailers and body.
function h2Call(session, { path = TRACE_METHOD, headers = {}, data, end = true }) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let hdrs = {}, trailers = {};
    const chunks = [];
    req.on('response', (h) => { hdrs = h; });
    req.on('trailers', (t) => { trailers = t; });
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve({ headers: hdrs, trailers, body: Buffer.concat(chunks), status: trailers['grpc-status'] ?? hdrs['grpc-status'], message: trailers['grpc-message'] ?? hdrs['grpc-message'] }));
    req.on('error', reject);
    if (data) req.write(data);
    if (end) req.end();
  });
}

const frame = (msg, { compressed = false, length = msg.length } = {}) => {
  const h = Buffer.alloc(5);
  h[0] = compressed ? 1 : 0;
  h.writeUInt32BE(length, 1);
  return Buffer.concat([h, msg]);
};

async function traceStored(traceId) {
  const r = await stack.apiGet(`/api/v3/traces/${traceId}`);
  return r.status === 200;
}

async function assertStillServing(label) {
  expectStatus(await stack.collectorGet('/health'), 200, `${label}: /health`);
  const { traceId, doc } = simpleTraceDoc({ n: 2, service: 'grpc-after' });
  const client = newRawClient();
  const r = await rawCall(client, TRACE_METHOD, pbEncode('ExportTraceServiceRequest', fromOtlpJson(doc)));
  client.close();
  assert.equal(r.code, 0, `${label}: a good export after it must be OK: ${r.details}`);
  await checkTraceViaApi(stack, flattenSpans(doc, 'after'), traceId, `${label}: good export`);
}

function grpcSeries(snap, name, signal) {
  return snap.samples.filter((s) => s.name === name && s.labels.transport === 'grpc' && (!signal || s.labels.signal === signal)).reduce((a, s) => a + s.value, 0);
}

// ================================================================ the SDK exporters

for (const compression of ['none', 'gzip']) {
  test(`JS SDK gRPC trace exporter (compression ${compression}): spans read back field by field`, async (t) => {
    await stack.wrap(async () => {
      const m0 = await metricsSnapshot(stack);
      const exported = [];
      const results = [];
      const inner = new OTLPTraceExporter({ url: grpcUrl(), compression, timeoutMillis: 10_000 });
      const exporter = {
        export: (spans, cb) => { exported.push(...spans); inner.export(spans, (r) => { results.push(r); cb(r); }); },
        shutdown: () => inner.shutdown(),
        forceFlush: () => inner.forceFlush(),
      };
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': `grpc-sdk-${compression}`, 'e2e.compression': compression }),
        spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 60_000 })],
      });
      const tracer = provider.getTracer('e2e-grpc-scope', '1.2.3');
      const root = tracer.startSpan('GET /grpc', { kind: api.SpanKind.SERVER, attributes: { 'attr.int': 42, 'attr.s': 'héllo ✓', 'attr.list': ['a', 'b'], 'attr.d': 2.5, 'attr.b': true } });
      const child = tracer.startSpan('SELECT 1', { kind: api.SpanKind.CLIENT }, api.trace.setSpan(api.ROOT_CONTEXT, root));
      child.addEvent('ev', { n: 1 });
      child.setStatus({ code: api.SpanStatusCode.ERROR, message: 'boom' });
      child.end();
      root.setStatus({ code: api.SpanStatusCode.OK });
      root.end();
      await provider.forceFlush();
      await provider.shutdown();
      assert.equal(exported.length, 2);
      results.forEach((r, i) => assert.equal(r.code, ExportResultCode.SUCCESS, `export #${i + 1}: ${r.error?.stack || r.error}`));
      const expected = flattenSpans(pbDecode('ExportTraceServiceRequest', Buffer.from(ProtobufTraceSerializer.serializeRequest(exported))), 'sdk proto');
      await checkTraceViaApi(stack, expected, root.spanContext().traceId, `grpc ${compression}`);
      const m1 = await metricsSnapshot(stack);
      assert.ok(grpcSeries(m1, 'otelpg_received_items_total', 'traces') - grpcSeries(m0, 'otelpg_received_items_total', 'traces') >= 2, 'transport="grpc" items counter grows');
      assert.ok(grpcSeries(m1, 'otelpg_received_requests_total', 'traces') > grpcSeries(m0, 'otelpg_received_requests_total', 'traces'), 'transport="grpc" requests counter grows');
    })(t);
  });

  test(`JS SDK gRPC log exporter (compression ${compression}): records read back field by field`, async (t) => {
    await stack.wrap(async () => {
      const service = `grpc-logs-${compression}-${randomHex(3)}`;
      const records = [];
      const results = [];
      const inner = new OTLPLogExporter({ url: grpcUrl(), compression, timeoutMillis: 10_000 });
      const exporter = {
        export: (recs, cb) => { records.push(...recs); inner.export(recs, (r) => { results.push(r); cb(r); }); },
        shutdown: () => inner.shutdown(),
        forceFlush: () => inner.forceFlush(),
      };
      const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': service }), processors: [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 60_000 })] });
      const logger = provider.getLogger('e2e-grpc-logger', '3.2.1');
      const traceId = randomHex(16), spanId = randomHex(8);
      const inSpan = api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId, spanId, traceFlags: api.TraceFlags.SAMPLED });
      const now = Date.now();
      logger.emit({ severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', body: 'payment failed ✓ 日本', attributes: { 'order.id': 42, ok: false, tags: ['a', 'b'] }, context: inSpan, timestamp: now - 2000 });
      logger.emit({ severityNumber: SeverityNumber.INFO, body: { msg: 'structured', n: 7 }, attributes: { k: 'v' }, timestamp: now - 1000 });
      await provider.forceFlush();
      await provider.shutdown();
      assert.equal(records.length, 2);
      results.forEach((r, i) => assert.equal(r.code, ExportResultCode.SUCCESS, `export #${i + 1}: ${r.error?.stack || r.error}`));
      const expected = flattenLogs(pbDecodeOtlp('ExportLogsServiceRequest', Buffer.from(ProtobufLogsSerializer.serializeRequest(records))), 'sdk proto');
      const nowUs = Date.now() * 1000;
      const r = expectStatus(await stack.apiGet(`/api/logs?service=${service}&start=${nowUs - 600e6}&end=${nowUs + 60e6}`), 200, 'GET /api/logs');
      assertSameLogs(parseJsonLossless(r.text).logs, expected, `grpc logs ${compression}`);
    })(t);
  });

  test(`JS SDK gRPC metric exporter (compression ${compression}): counter and gauge listed and queried`, async (t) => {
    await stack.wrap(async () => {
      const tag = `${compression}${randomHex(2)}`;
      const service = `grpc-metrics-${tag}`;
      const exporter = new OTLPMetricExporter({ url: grpcUrl(), compression, timeoutMillis: 10_000 });
      const results = [];
      const orig = exporter.export.bind(exporter);
      exporter.export = (m, cb) => orig(m, (r) => { results.push(r); cb(r); });
      const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000, exportTimeoutMillis: 10_000 });
      const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': service }), readers: [reader] });
      const meter = provider.getMeter('e2e-grpc-meter', '1.0.0');
      const counter = meter.createCounter(`e2e.grpc.${tag}.requests`, { unit: '{request}', description: 'requests served' });
      const gauge = meter.createObservableGauge(`e2e.grpc.${tag}.temperature`, { unit: 'Cel' });
      gauge.addCallback((r) => r.observe(42.5, { room: 'lab' }));
      const t0 = Date.now();
      counter.add(100, { route: '/a' });
      await reader.forceFlush();
      await provider.shutdown();
      assert.ok(results.length >= 1);
      results.forEach((r, i) => assert.equal(r.code, ExportResultCode.SUCCESS, `export #${i + 1}: ${r.error?.stack || r.error}`));
      const list = parseJsonLossless(expectStatus(await stack.apiGet('/api/metrics'), 200, '/api/metrics').text).metrics;
      const c = list.find((m) => m.name === `e2e.grpc.${tag}.requests`);
      assert.ok(c, `counter listed: ${JSON.stringify(list.map((m) => m.name))}`);
      assert.equal(c.kind, 'sum');
      assert.equal(c.unit, '{request}');
      assert.equal(c.monotonic, true);
      assert.equal(c.description, 'requests served');
      const g = list.find((m) => m.name === `e2e.grpc.${tag}.temperature`);
      assert.ok(g, 'gauge listed');
      assert.equal(g.kind, 'gauge');
      assert.equal(g.unit, 'Cel');
      const qs = new URLSearchParams({ name: `e2e.grpc.${tag}.temperature`, service, start: String((t0 - 10_000) * 1000), end: String((Date.now() + 10_000) * 1000), step: '60' });
      const q = parseJsonLossless(expectStatus(await stack.apiGet(`/api/metrics/query?${qs}`), 200, 'query').text);
      assert.equal(q.series[0]?.attributes?.room, 'lab', JSON.stringify(q));
      const vals = q.series[0].values.filter((p) => p[1] !== null).map((p) => Number(p[1]));
      assert.ok(vals.length >= 1 && vals.every((v) => v === 42.5), `gauge values 42.5: ${JSON.stringify(q.series[0].values)}`);
    })(t);
  });
}

// ================================================================ raw calls and statuses

test('raw call: OK carries an ExportTraceServiceResponse and grpc-status 0; application/grpc+proto accepted', async (t) => {
  await stack.wrap(async () => {
    const { traceId, doc } = simpleTraceDoc({ n: 3, service: 'grpc-raw' });
    const session = http2.connect(grpcUrl());
    try {
      const r = await h2Call(session, { headers: { 'content-type': 'application/grpc+proto' }, data: frame(pbEncode('ExportTraceServiceRequest', fromOtlpJson(doc))) });
      assert.equal(r.headers[':status'], 200);
      assert.match(r.headers['content-type'], /^application\/grpc/);
      assert.equal(r.status, '0', `grpc-status: ${JSON.stringify(r.trailers)}`);
      assert.ok(r.body.length >= 5 && r.body[0] === 0 && r.body.readUInt32BE(1) === r.body.length - 5, `one framed message: ${r.body.toString('hex')}`);
      assert.equal(decodeExportResponse(r.body.subarray(5)).rejectedSpans, 0);
    } finally { session.close(); }
    await checkTraceViaApi(stack, flattenSpans(doc, 'raw'), traceId, 'raw grpc+proto');
  })(t);
});

test('an undecodable message -> INVALID_ARGUMENT', async (t) => {
  await stack.wrap(async () => {
    const m0 = await metricsSnapshot(stack);
    const client = newRawClient();
    const r = await rawCall(client, TRACE_METHOD, Buffer.from([0x0a, 0xff, 0xff, 0x01, 0x02]));
    client.close();
    assert.equal(r.code, grpc.status.INVALID_ARGUMENT, `${r.code} ${r.details}`);
    assert.ok(r.details.length > 0, 'grpc-message explains');
    const m1 = await metricsSnapshot(stack);
    assert.ok(grpcSeries(m1, 'otelpg_rejected_requests_total') > grpcSeries(m0, 'otelpg_rejected_requests_total'), 'rejected transport="grpc" grows');
  })(t);
});

test('a message over --max-body-size (64k) -> RESOURCE_EXHAUSTED, plain and gzip', async (t) => {
  await stack.wrap(async () => {
    const { doc } = simpleTraceDoc({ n: 1, padAttr: 100_000 });
    const big = pbEncode('ExportTraceServiceRequest', fromOtlpJson(doc));
    const client = newRawClient();
    const r = await rawCall(client, TRACE_METHOD, big);
    assert.equal(r.code, grpc.status.RESOURCE_EXHAUSTED, `${r.code} ${r.details}`);
    client.close();
    // gzip: small on the wire, over the limit once inflated
    const session = http2.connect(grpcUrl());
    try {
      const z = await h2Call(session, { headers: { 'grpc-encoding': 'gzip' }, data: frame(zlib.gzipSync(big), { compressed: true }) });
      assert.equal(z.status, String(grpc.status.RESOURCE_EXHAUSTED), JSON.stringify(z.trailers));
      assert.match(decodeURIComponent(z.message), /after decompression/);
    } finally { session.close(); }
  })(t);
});

test('an unknown method -> UNIMPLEMENTED', async (t) => {
  await stack.wrap(async () => {
    const client = newRawClient();
    const r = await rawCall(client, '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export', Buffer.alloc(0));
    const r2 = await rawCall(client, '/no.such.Service/Method', Buffer.from('x'));
    client.close();
    assert.equal(r.code, grpc.status.UNIMPLEMENTED, `${r.code} ${r.details}`);
    assert.equal(r2.code, grpc.status.UNIMPLEMENTED, `${r2.code} ${r2.details}`);
  })(t);
});

test('malformed framing -> an error status; the connection keeps serving', async (t) => {
  await stack.wrap(async () => {
    const { doc } = simpleTraceDoc({ n: 1 });
    const msg = pbEncode('ExportTraceServiceRequest', fromOtlpJson(doc));
    const session = http2.connect(grpcUrl());
    try {
      const cases = [
        ['length prefix larger than the data', { data: frame(msg, { length: msg.length + 100 }) }],
        ['length prefix smaller than the data', { data: frame(msg, { length: 3 }) }],
        ['fewer than 5 bytes', { data: Buffer.from([0, 0]) }],
        ['no message at all', {}],
        ['compressed flag without grpc-encoding', { data: frame(zlib.gzipSync(msg), { compressed: true }) }],
        ['corrupt gzip', { headers: { 'grpc-encoding': 'gzip' }, data: frame(Buffer.from('not gzip at all'), { compressed: true }) }],
        ['unsupported grpc-encoding', { headers: { 'grpc-encoding': 'snappy' }, data: frame(msg, { compressed: true }) }],
      ];
      for (const [label, opts] of cases) {
        const r = await h2Call(session, opts);
        assert.ok(r.status !== undefined && r.status !== '0', `${label}: expected an error grpc-status, got ${JSON.stringify({ h: r.headers, t: r.trailers })}`);
        assert.ok(r.message !== undefined, `${label}: grpc-message present`);
      }
      // same connection, a good call
      const ok = await h2Call(session, { data: frame(msg) });
      assert.equal(ok.status, '0', JSON.stringify(ok.trailers));
    } finally { session.close(); }
  })(t);
});

test('50 concurrent calls on one connection: all OK and all stored', async (t) => {
  await stack.wrap(async () => {
    const client = newRawClient();
    const docs = Array.from({ length: 50 }, () => simpleTraceDoc({ n: 2, service: 'grpc-concurrent' }));
    const res = await Promise.all(docs.map(({ doc }) => rawCall(client, TRACE_METHOD, pbEncode('ExportTraceServiceRequest', fromOtlpJson(doc)))));
    client.close();
    res.forEach((r, i) => assert.equal(r.code, 0, `call ${i}: ${r.code} ${r.details}`));
    for (const { traceId } of docs) assert.ok(await traceStored(traceId), `trace ${traceId} stored`);
    await checkTraceViaApi(stack, flattenSpans(docs[17].doc, 'c17'), docs[17].traceId, 'concurrent #17');
  })(t);
});

test('a client that disconnects mid-message, or resets its stream, does not hurt the daemon', async (t) => {
  await stack.wrap(async () => {
    const { doc } = simpleTraceDoc({ n: 1 });
    const msg = pbEncode('ExportTraceServiceRequest', fromOtlpJson(doc));
    for (let i = 0; i < 5; i++) {
      const session = http2.connect(grpcUrl());
      await new Promise((resolve) => session.on('connect', resolve));
      const req = session.request({ ':method': 'POST', ':path': TRACE_METHOD, 'content-type': 'application/grpc' });
      req.on('error', () => {});
      req.write(frame(msg).subarray(0, 20));
      await sleep(20);
      if (i % 2) req.close(http2.constants.NGHTTP2_CANCEL);
      session.destroy();
    }
    // a raw socket that sends half a preface and goes away
    const net = await import('node:net');
    await new Promise((resolve) => {
      const s = net.connect(stack.collector.grpcPort, '127.0.0.1', () => { s.write('PRI * HTTP/2.0\r\n'); s.destroy(); resolve(); });
      s.on('error', resolve);
    });
    // a client that is not HTTP/2 at all
    await new Promise((resolve) => {
      const s = net.connect(stack.collector.grpcPort, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.on('data', () => {});
      s.on('close', resolve);
      s.on('error', resolve);
      setTimeout(() => { s.destroy(); resolve(); }, 3000);
    });
    await sleep(100);
    assert.ok(stack.collector.running, 'collector still running');
  })(t);
});

test('after all of this the daemon keeps serving: /health and a good gRPC export', async (t) => {
  await stack.wrap(async () => {
    await assertStillServing('final');
    assert.ok(stack.collector.running);
    const snap = await metricsSnapshot(stack);
    assert.ok(grpcSeries(snap, 'otelpg_received_bytes_total') > 0, 'received bytes with transport="grpc"');
  })(t);
});

test('SIGTERM: the collector stops cleanly with gRPC connections open', async (t) => {
  await stack.wrap(async () => {
    const client = newRawClient();
    const { doc } = simpleTraceDoc({ n: 1 });
    const r = await rawCall(client, TRACE_METHOD, pbEncode('ExportTraceServiceRequest', fromOtlpJson(doc)));
    assert.equal(r.code, 0);
    const res = await stack.collector.stop(15_000);
    client.close();
    assert.equal(res.killed, false, 'stopped before SIGKILL');
    assert.equal(res.code, 0, `exit code: ${JSON.stringify(res)}`);
    await waitFor(() => !stack.collector.running, { what: 'collector exit' });
  })(t);
});
