// Interop with the official OpenTelemetry JS SDK and its two OTLP/HTTP trace exporters.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ExportResultCode, TraceState } from '@opentelemetry/core';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { Postgres, Stack } from './harness.mjs';
import { pbDecode, flattenSpans, randomHex } from './otlp.mjs';
import { checkTraceViaApi, metricsSnapshot, receivedSpans } from './checks.mjs';

const SUITE = 'sdk_interop';
let pg, stack;

// Capture what the SDK itself complains about (e.g. partial success warnings, export errors).
const diagMessages = [];
const record = (level) => (...args) => diagMessages.push(`${level}: ${args.map((a) => (a instanceof Error ? a.stack : typeof a === 'object' ? JSON.stringify(a) : String(a))).join(' ')}`);
api.diag.setLogger({ error: record('error'), warn: record('warn'), info: () => {}, debug: () => {}, verbose: () => {} }, api.DiagLogLevel.WARN);

before(async () => {
  pg = await Postgres.start('sdk');
  stack = await Stack.start({ suite: SUITE, dbUrl: pg.url });
});

after(async () => {
  await stack?.stopAll();
  await pg?.stop();
});

// Wraps the real exporter to record the result handed to the export callback.
class RecordingExporter {
  constructor(inner) { this.inner = inner; this.results = []; this.spans = []; }
  export(spans, cb) {
    this.spans.push(...spans);
    this.inner.export(spans, (r) => { this.results.push(r); cb(r); });
  }
  shutdown() { return this.inner.shutdown(); }
  forceFlush() { return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve(); }
}

const ATTRS = {
  'attr.string': 'héllo wörld ✓',
  'attr.int': 42,
  'attr.negint': -7,
  'attr.double': 3.5,
  'attr.bool': true,
  'attr.false': false,
  'attr.strings': ['a', 'b', 'c'],
  'attr.ints': [1, 2, 3],
  'attr.doubles': [1.5, -2.25],
  'attr.bools': [true, false, true],
};

// Create a small but complete set of spans: a 4-level tree with every span kind, events,
// links (to another trace and inside the trace), an exception, statuses OK/ERROR/UNSET and
// a child of a remote parent carrying a W3C tracestate. 7 spans in 3 traces.
function makeSpans(provider, label) {
  const tracer = provider.getTracer('e2e-sdk-scope', '4.5.6', { schemaUrl: 'https://opentelemetry.io/schemas/1.27.0' });
  const ctxOf = (span) => api.trace.setSpan(api.ROOT_CONTEXT, span);

  const other = tracer.startSpan(`${label} other-trace-span`, { root: true });
  other.end();

  const root = tracer.startSpan(`${label} GET /orders/{id}`, { kind: api.SpanKind.SERVER, attributes: ATTRS, root: true });
  root.addEvent('cache.miss', { 'cache.key': 'orders:42', attempt: 1, 'ev.ratio': 0.5, 'ev.flag': true, 'ev.list': ['x', 'y'] });
  root.addEvent('no-attributes-event');

  const client = tracer.startSpan(`${label} SELECT orders`, {
    kind: api.SpanKind.CLIENT,
    attributes: { 'db.system.name': 'postgresql', 'db.query.text': 'SELECT * FROM orders WHERE id=$1' },
    links: [{ context: other.spanContext(), attributes: { 'link.reason': 'retry-of', 'link.n': 2 } }],
  }, ctxOf(root));
  client.recordException(new Error('connection reset by peer'));
  client.setStatus({ code: api.SpanStatusCode.ERROR, message: 'db call failed' });
  client.end();

  const internal = tracer.startSpan(`${label} internal work`, { kind: api.SpanKind.INTERNAL }, ctxOf(root));
  const producer = tracer.startSpan(`${label} publish`, { kind: api.SpanKind.PRODUCER, attributes: { 'messaging.system': 'kafka' } }, ctxOf(internal));
  producer.end();
  // (a consumer linking to its own parent is covered in traces_roundtrip)
  const consumer = tracer.startSpan(`${label} consume`, { kind: api.SpanKind.CONSUMER, links: [{ context: client.spanContext() }] }, ctxOf(producer));
  consumer.setStatus({ code: api.SpanStatusCode.OK });
  consumer.end();
  internal.end();

  root.setAttribute('http.response.status_code', 200);
  root.setStatus({ code: api.SpanStatusCode.OK });
  root.end();

  const remoteParent = {
    traceId: randomHex(16), spanId: randomHex(8), traceFlags: api.TraceFlags.SAMPLED, isRemote: true,
    traceState: new TraceState('vendor=abc,other=1'),
  };
  const remoteChild = tracer.startSpan(`${label} remote child`, { kind: api.SpanKind.SERVER }, api.trace.setSpanContext(api.ROOT_CONTEXT, remoteParent));
  remoteChild.end();

  return { traceIds: [root.spanContext().traceId, other.spanContext().traceId, remoteParent.traceId] };
}

const configs = [
  { label: 'proto', Exporter: ProtoExporter, processor: 'batch' },
  { label: 'proto+gzip', Exporter: ProtoExporter, processor: 'batch', compression: 'gzip' },
  { label: 'json', Exporter: JsonExporter, processor: 'batch' },
  { label: 'json+gzip', Exporter: JsonExporter, processor: 'batch', compression: 'gzip' },
  { label: 'proto simple-processor', Exporter: ProtoExporter, processor: 'simple' },
  { label: 'json+gzip simple-processor', Exporter: JsonExporter, processor: 'simple', compression: 'gzip' },
];

for (const cfg of configs) {
  test(`JS SDK ${cfg.label} exporter: export succeeds and every span reads back field by field`, async (t) => {
    await stack.wrap(async () => {
      const inner = new cfg.Exporter({ url: `${stack.collectorUrl}/v1/traces`, timeoutMillis: 10_000, ...(cfg.compression ? { compression: cfg.compression } : {}) });
      const exporter = new RecordingExporter(inner);
      const processor = cfg.processor === 'batch'
        ? new BatchSpanProcessor(exporter, { maxExportBatchSize: 512, scheduledDelayMillis: 60_000 })
        : new SimpleSpanProcessor(exporter);
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'otlp-research', 'service.version': '0.1.0', 'deployment.environment.name': 'test', 'e2e.config': cfg.label }),
        spanProcessors: [processor],
      });
      diagMessages.length = 0;
      const m0 = await metricsSnapshot(stack);
      const { traceIds } = makeSpans(provider, cfg.label);
      await provider.forceFlush();
      await provider.shutdown();

      assert.equal(exporter.spans.length, 7, 'spans handed to the exporter');
      assert.ok(exporter.results.length >= 1, 'the exporter callback was called');
      exporter.results.forEach((r, i) => assert.equal(r.code, ExportResultCode.SUCCESS,
        `export #${i + 1} reported ${r.code === ExportResultCode.FAILED ? 'FAILED' : r.code}: ${r.error?.stack || r.error}`));
      const complaints = diagMessages.filter((m) => /partial|reject|export|fail/i.test(m));
      assert.deepEqual(complaints, [], 'the SDK logged export warnings/errors');

      // The expected document is the SDK's own OTLP rendering of the exported spans.
      const expectedJson = flattenSpans(JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(exporter.spans)).toString()), 'sdk json');
      const expectedPb = flattenSpans(pbDecode('ExportTraceServiceRequest', Buffer.from(ProtobufTraceSerializer.serializeRequest(exporter.spans))), 'sdk proto');
      assert.deepEqual(expectedPb, expectedJson, 'test sanity: the SDK JSON and protobuf renderings agree');

      // Hand checks that the expected document says what we meant (guards the comparison itself).
      const byName = new Map([...expectedJson.values()].map((v) => [v.span.name.replace(`${cfg.label} `, ''), v]));
      const rootE = byName.get('GET /orders/{id}').span;
      const attr = (s, k) => s.attributes.find(([key]) => key === k)?.[1];
      assert.deepEqual(attr(rootE, 'attr.int'), { int: '42' });
      assert.deepEqual(attr(rootE, 'attr.double'), { double: 3.5 });
      assert.deepEqual(attr(rootE, 'attr.bools'), { array: [{ bool: true }, { bool: false }, { bool: true }] });
      assert.equal(rootE.kind, 2);
      assert.equal(byName.get('SELECT orders').span.status.message, 'db call failed');
      assert.equal(byName.get('remote child').span.traceState, 'vendor=abc,other=1');
      assert.equal(byName.get('consume').span.kind, 5);

      for (const tid of traceIds) await checkTraceViaApi(stack, expectedJson, tid, `${cfg.label} trace ${tid}`);

      const m1 = await metricsSnapshot(stack);
      assert.ok(receivedSpans(m1) - receivedSpans(m0) >= 7,
        `received spans counter must grow by 7: before=${receivedSpans(m0)} after=${receivedSpans(m1)}`);
    })(t);
  });
}
