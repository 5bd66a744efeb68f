// Round trip of the real recorded SDK payloads (and a hand-made document using every OTLP
// field) through the collector into PostgreSQL and back out of both API endpoints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Postgres, Stack, sample, gzip, expectStatus } from './harness.mjs';
import { pbDecode, pbEncode, fromOtlpJson, flattenSpans, randomHex } from './otlp.mjs';
import { checkTraceViaApi, assertExportOk, metricsSnapshot, receivedSpans } from './checks.mjs';

const SUITE = 'traces_roundtrip';
let pg;
let main; // shared stack for tests that use unique ids
const stacks = [];
let dbSeq = 0;

const PB = sample('proto/001_v1_traces.pb');
const JSN = sample('json/001_v1_traces.json');
// Expected values come from the files themselves: the .pb decoded by our own reader, the
// .json parsed. (The two recordings hold the same shapes but different ids and timestamps.)
const PB_FLAT = flattenSpans(pbDecode('ExportTraceServiceRequest', PB), 'proto sample');
const JSON_FLAT = flattenSpans(JSON.parse(JSN), 'json sample');
const traceIds = (flat) => [...new Set([...flat.values()].map((v) => v.span.traceId))];

async function freshStack(label) {
  const url = await pg.createDatabase(`rt_${++dbSeq}_${label.replace(/\W+/g, '_').slice(0, 30)}`);
  const s = await Stack.start({ suite: `${SUITE}/${dbSeq}-${label}`, dbUrl: url });
  stacks.push(s);
  return s;
}

before(async () => {
  pg = await Postgres.start('roundtrip');
  main = await Stack.start({ suite: `${SUITE}/main`, dbUrl: pg.url });
  stacks.push(main);
});

after(async () => {
  for (const s of stacks) await s.stopAll();
  await pg?.stop();
});

test('the samples hold 3 spans in 2 traces (sanity check of the test inputs)', () => {
  for (const [name, flat] of [['proto', PB_FLAT], ['json', JSON_FLAT]]) {
    assert.equal(flat.size, 3, `${name} sample: spans`);
    assert.equal(traceIds(flat).length, 2, `${name} sample: traces`);
    const names = [...flat.values()].map((v) => v.span.name).sort();
    assert.deepEqual(names, ['GET /orders/{id}', 'SELECT orders', 'other-trace-span'], `${name} sample: span names`);
  }
});

const variants = [
  { label: 'protobuf with Content-Length', kind: 'proto', ct: 'application/x-protobuf', body: () => PB },
  { label: 'protobuf chunked', kind: 'proto', ct: 'application/x-protobuf', body: () => PB, chunked: true, chunkSize: 97 },
  { label: 'protobuf gzip with Content-Length', kind: 'proto', ct: 'application/x-protobuf', body: () => gzip(PB), enc: 'gzip' },
  { label: 'protobuf gzip chunked, mixed-case content type with parameters', kind: 'proto', ct: 'Application/X-Protobuf; proto=opentelemetry', body: () => gzip(PB), enc: 'gzip', chunked: true, chunkSize: 64 },
  { label: 'JSON with Content-Length', kind: 'json', ct: 'application/json', body: () => JSN },
  { label: 'JSON chunked', kind: 'json', ct: 'application/json', body: () => JSN, chunked: true, chunkSize: 100 },
  { label: 'JSON gzip chunked, application/JSON; charset=utf-8', kind: 'json', ct: 'application/JSON; charset=utf-8', body: () => gzip(JSN), enc: 'gzip', chunked: true, chunkSize: 128 },
  { label: 'JSON gzip with Content-Length', kind: 'json', ct: 'application/json', body: () => gzip(JSN), enc: 'GZIP' },
];

for (const v of variants) {
  test(`sample round trip: ${v.label}`, async (t) => {
    const stack = await freshStack(v.label);
    await stack.wrap(async () => {
      const headers = { 'Content-Type': v.ct };
      if (v.enc) headers['Content-Encoding'] = v.enc;
      const res = await stack.post({ headers, body: v.body(), chunked: v.chunked, chunkSize: v.chunkSize });
      assertExportOk(res, v.kind, `POST /v1/traces (${v.label})`);
      // No sleep: the 200 promises the spans are committed.
      const flat = v.kind === 'proto' ? PB_FLAT : JSON_FLAT;
      for (const tid of traceIds(flat)) await checkTraceViaApi(stack, flat, tid, `${v.label}, trace ${tid}`);
    })(t);
  });
}

test('proto and JSON samples in one database, each trace returns only its own spans; uppercase ids accepted', async (t) => {
  await main.wrap(async () => {
    const before = await metricsSnapshot(main);
    assertExportOk(await main.post({ headers: { 'Content-Type': 'application/x-protobuf' }, body: PB }), 'proto', 'POST proto sample');
    assertExportOk(await main.post({ headers: { 'Content-Type': 'application/json' }, body: JSN }), 'json', 'POST json sample');
    for (const [flat, name] of [[PB_FLAT, 'proto'], [JSON_FLAT, 'json']]) {
      for (const tid of traceIds(flat)) {
        await checkTraceViaApi(main, flat, tid, `${name} sample, trace ${tid}`);
        await checkTraceViaApi(main, flat, tid, `${name} sample, UPPERCASE id ${tid.toUpperCase()}`, { idForUrl: tid.toUpperCase() });
      }
    }
    const after = await metricsSnapshot(main);
    assert.ok(after.samples.some((s) => s.name.startsWith('otelpg_')), `/metrics must expose otelpg_* series:\n${after.text.slice(0, 2000)}`);
    assert.ok(receivedSpans(after) - receivedSpans(before) >= 6,
      `otelpg_received_items_total for traces must grow by at least 6 after exporting 6 spans; before=${receivedSpans(before)} after=${receivedSpans(after)}\n${after.text.slice(0, 3000)}`);
  })(t);
});

test('re-sending the same request (a client retry) does not duplicate spans', async (t) => {
  const stack = await freshStack('idempotence');
  await stack.wrap(async () => {
    for (let i = 0; i < 2; i++) {
      assertExportOk(await stack.post({ headers: { 'Content-Type': 'application/x-protobuf' }, body: PB }), 'proto', `POST proto sample #${i + 1}`);
    }
    assertExportOk(await stack.post({ headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' }, body: gzip(PB), chunked: true }), 'proto', 'POST proto sample #3 (gzip, chunked)');
    for (const tid of traceIds(PB_FLAT)) await checkTraceViaApi(stack, PB_FLAT, tid, `after 3 identical exports, trace ${tid}`);

    // RED counts each server and consumer span once: the retries went through the
    // careful statement, which adds nothing for a block stored already. Pending RED
    // rows are read with the folded ones (red_all) and folded within a second or two.
    const db = `rt_${dbSeq}_idempotence`;
    const want = [...PB_FLAT.values()].filter((v) => v.span.kind === 2 || v.span.kind === 5).length;
    assert.ok(want > 0, 'the sample has a server or consumer span');
    assert.equal(await pg.psql('SELECT sum(calls) FROM red_all', db), String(want), 'RED calls after 3 identical exports');
    const m = (await stack.collectorGet('/metrics')).body.toString();
    assert.match(m, /^otelpg_write_careful_total 2$/m, 'the two retries took the careful statement');
    const deadline = Date.now() + 10_000;
    while ((await pg.psql('SELECT count(*) FROM red_pending', db)) !== '0' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal(await pg.psql('SELECT count(*) FROM red_pending', db), '0', 'pending RED rows folded');
    assert.equal(await pg.psql('SELECT sum(calls) FROM red', db), String(want), 'RED calls once folded');
  })(t);
});

// A hand-made request that sets every field of the trace model to a non-default value,
// including the ones the JS SDK never sends (traceState, kvlist, bytes, scope attributes,
// dropped counts, resource schemaUrl, int64 beyond 2^53, doubles needing 17 digits).
function craftedDoc() {
  const tid = randomHex(16);
  const root = randomHex(8), child = randomHex(8), other = randomHex(8), remoteTid = randomHex(16), remoteSid = randomHex(8);
  const s = (v) => ({ stringValue: v });
  const doc = {
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: s('crafted-svc') },
            { key: 'host.name', value: s('host-1') },
            { key: 'res.int', value: { intValue: '-42' } },
            { key: 'res.kv', value: { kvlistValue: { values: [{ key: 'a', value: s('b') }] } } },
          ],
          droppedAttributesCount: 3,
        },
        schemaUrl: 'https://opentelemetry.io/schemas/1.24.0',
        scopeSpans: [{
          scope: { name: 'crafted-scope', version: '9.8.7', attributes: [{ key: 'scope.attr', value: s('x') }, { key: 'scope.n', value: { intValue: '7' } }], droppedAttributesCount: 1 },
          schemaUrl: 'https://opentelemetry.io/schemas/1.25.0',
          spans: [
            {
              traceId: tid, spanId: root, traceState: 'vendor1=a,vendor2=b', name: 'publish', kind: 4,
              startTimeUnixNano: '1700000000123456789', endTimeUnixNano: '1700000001987654321',
              attributes: [{ key: 'messaging.system', value: s('kafka') }],
              status: { code: 1 }, flags: 1,
            },
            {
              traceId: tid, spanId: child, parentSpanId: root, traceState: 'vendor1=a', name: 'consume ✓ 日本語 "quoted" \\ back\nslash', kind: 5,
              startTimeUnixNano: '1700000000200000001', endTimeUnixNano: '1700000000300000999',
              attributes: [
                { key: 'str', value: s('héllo ✓ 日本 tab\tquote" backslash\\ </script>') },
                { key: 'empty.str', value: s('') },
                { key: 'int.big', value: { intValue: '9007199254740993' } },
                { key: 'int.min', value: { intValue: '-9223372036854775808' } },
                { key: 'int.max', value: { intValue: '9223372036854775807' } },
                { key: 'int.neg', value: { intValue: -7 } },
                { key: 'dbl.precise', value: { doubleValue: 0.1 + 0.2 } },
                { key: 'dbl.tiny', value: { doubleValue: -1.5e-300 } },
                { key: 'dbl.huge', value: { doubleValue: 1.7976931348623157e308 } },
                { key: 'dbl.int', value: { doubleValue: 3 } },
                { key: 'bool.t', value: { boolValue: true } },
                { key: 'bool.f', value: { boolValue: false } },
                { key: 'arr.mixed', value: { arrayValue: { values: [s('a'), { intValue: '1' }, { doubleValue: 2.5 }, { boolValue: true }] } } },
                { key: 'arr.nested', value: { arrayValue: { values: [{ arrayValue: { values: [s('x'), s('y')] } }, { kvlistValue: { values: [{ key: 'k', value: s('v') }] } }] } } },
                { key: 'arr.empty', value: { arrayValue: { values: [] } } },
                { key: 'kv', value: { kvlistValue: { values: [{ key: 'inner.s', value: s('v') }, { key: 'inner.i', value: { intValue: '5' } }, { key: 'inner.kv', value: { kvlistValue: { values: [{ key: 'deep', value: { boolValue: false } }] } } }] } } },
                { key: 'bytes', value: { bytesValue: Buffer.from([0, 1, 2, 250, 255, 10]).toString('base64') } },
              ],
              droppedAttributesCount: 5,
              events: [
                { timeUnixNano: '1700000000250000000', name: 'first', attributes: [{ key: 'e.i', value: { intValue: '1' } }, { key: 'e.d', value: { doubleValue: 1.25 } }], droppedAttributesCount: 2 },
                { timeUnixNano: '1700000000260000123', name: 'second', attributes: [] },
              ],
              droppedEventsCount: 4,
              links: [
                { traceId: remoteTid, spanId: remoteSid, traceState: 'rojo=00f067aa0ba902b7', attributes: [{ key: 'link.kind', value: s('remote') }], droppedAttributesCount: 1, flags: 0x301 },
                { traceId: tid, spanId: other, attributes: [], flags: 0x101 }, // a sibling (a link to the parent is tested separately)
              ],
              droppedLinksCount: 6,
              status: { code: 2, message: 'échec: "db" down' },
              flags: 0x301,
            },
            {
              traceId: tid, spanId: other, parentSpanId: root, name: 'unspecified-kind', kind: 0,
              startTimeUnixNano: '1700000000400000000', endTimeUnixNano: '1700000000400000000',
              status: { code: 0, message: '' },
            },
          ],
        }],
      },
      {
        resource: { attributes: [{ key: 'service.name', value: s('crafted-svc-2') }, { key: 'k8s.pod.name', value: s('pod-7') }] },
        scopeSpans: [{
          scope: { name: 'second-scope' },
          spans: [{
            traceId: tid, spanId: randomHex(8), parentSpanId: child, name: 'downstream', kind: 2,
            startTimeUnixNano: '1700000000210000000', endTimeUnixNano: '1700000000290000000', status: { code: 1 },
            attributes: [{ key: 'http.response.status_code', value: { intValue: 503 } }],
          }],
        }],
      },
    ],
  };
  return { doc, tid };
}

test('every OTLP trace field survives the round trip (hand-made request, JSON)', async (t) => {
  await main.wrap(async () => {
    const { doc, tid } = craftedDoc();
    const flat = flattenSpans(doc, 'crafted');
    assertExportOk(await main.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(doc) }), 'json', 'POST crafted JSON');
    await checkTraceViaApi(main, flat, tid, 'crafted JSON');
  })(t);
});

test('every OTLP trace field survives the round trip (hand-made request, protobuf)', async (t) => {
  await main.wrap(async () => {
    const { doc, tid } = craftedDoc();
    const flat = flattenSpans(doc, 'crafted');
    const body = pbEncode('ExportTraceServiceRequest', fromOtlpJson(doc));
    // self-check of our encoder before blaming the daemon
    assert.deepEqual(flattenSpans(pbDecode('ExportTraceServiceRequest', body)), flat, 'test bug: protobuf encoder round trip');
    assertExportOk(await main.post({ headers: { 'Content-Type': 'application/x-protobuf' }, body }), 'proto', 'POST crafted protobuf');
    await checkTraceViaApi(main, flat, tid, 'crafted protobuf');
  })(t);
});

test('Jaeger: a span that also links to its own parent keeps its CHILD_OF reference', async (t) => {
  await main.wrap(async () => {
    const tid = randomHex(16), root = randomHex(8), child = randomHex(8);
    const doc = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'link-to-parent' } }] }, scopeSpans: [{ scope: { name: 's' }, spans: [
      { traceId: tid, spanId: root, name: 'root', kind: 2, startTimeUnixNano: '1795280642640000000', endTimeUnixNano: '1795280642650000000' },
      { traceId: tid, spanId: child, parentSpanId: root, name: 'child', kind: 3, startTimeUnixNano: '1795280642641000000', endTimeUnixNano: '1795280642642000000',
        links: [{ traceId: tid, spanId: root, attributes: [{ key: 'why', value: { stringValue: 'batch' } }] }] },
    ] }] }] };
    assertExportOk(await main.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(doc) }), 'json', 'POST');
    // Without CHILD_OF the Jaeger UI shows the child as a second root of the trace.
    await checkTraceViaApi(main, flattenSpans(doc), tid, 'child linking to its parent');
  })(t);
});

test('/health and /ready answer JSON on both daemons', async (t) => {
  await main.wrap(async () => {
    for (const [name, get] of [['collector', (p) => main.collectorGet(p)], ['api', (p) => main.apiGet(p)]]) {
      const h = expectStatus(await get('/health'), 200, `${name} GET /health`);
      assert.equal(h.json().status, 'ok', `${name} /health body: ${h}`);
      const r = expectStatus(await get('/ready'), 200, `${name} GET /ready`);
      r.json();
    }
  })(t);
});

// A request whose 4,096 spans are the same 2,048 twice is cut into two identical blocks
// (2,048 spans at most each) in one statement: the block is stored once, and so are its
// trace part and its RED row, not once per copy.
test('two identical blocks in one statement store their parts and RED once', async () => {
  const s = await freshStack('identical blocks');
  const db = `rt_${dbSeq}_identical_blocks`;
  const traceId = randomHex(16);
  const root = randomHex(8);
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const spans = Array.from({ length: 2048 }, (_, i) => ({
    traceId, spanId: i === 0 ? root : randomHex(8), parentSpanId: i === 0 ? '' : root,
    name: i === 0 ? 'GET /twice' : `step-${i}`, kind: i === 0 ? 2 : 1,
    startTimeUnixNano: String(t0 + BigInt(i)), endTimeUnixNano: String(t0 + 5_000_000n),
  }));
  const doc = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'twice' } }] },
    scopeSpans: [{ spans: [...spans, ...spans] }] }] };
  assertExportOk(await s.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(doc) }), 'json', 'the doubled request');
  assert.equal(await pg.psql('SELECT count(*) || \' \' || sum(span_count) FROM span_blocks', db), '1 2048', 'one block of 2,048 spans');
  assert.equal(await pg.psql('SELECT count(*) || \' \' || sum(span_count) FROM trace_parts', db), '1 2048', 'one part of 2,048 spans');
  assert.equal(await pg.psql('SELECT sum(calls) FROM red_all', db), '1', 'the server span counted once');
  assert.match((await s.collectorGet('/metrics')).body.toString(), /^otelpg_write_careful_total 1$/m, 'the fast statement gave way');
  assert.equal((await s.apiGet(`/api/v3/traces/${traceId}`)).status, 200);
});

// Blocks are deduplicated by a 64-bit hash of their bytes. A different block that happens to
// have the ID of a stored one (a hash collision, made here by overwriting the stored block)
// must still be stored — under a second ID — and its spans found; a replay of it must not
// store it a third time.
test('a block whose 64-bit ID collides with a different stored block is stored, once', async () => {
  const s = await freshStack('block collision');
  const dbName = `rt_${dbSeq}_block_collision`;
  const post = () => s.post({ headers: { 'Content-Type': 'application/x-protobuf' }, body: PB });
  assertExportOk(await post(), 'proto', 'first export');
  assert.equal(await pg.psql('SELECT count(*) FROM span_blocks', dbName), '1');
  // the stored block becomes "another block with the same ID", and its parts go away
  await pg.psql("UPDATE span_blocks SET payload = '\\x01deadbeef', tail = NULL; DELETE FROM trace_parts", dbName);
  assertExportOk(await post(), 'proto', 'export colliding with the stored block');
  assertExportOk(await post(), 'proto', 'replay of it');
  assert.equal(await pg.psql('SELECT count(*) FROM span_blocks', dbName), '2', 'the colliding block stored once, beside the other');
  assert.equal(await pg.psql('SELECT sum(span_count) FROM trace_parts', dbName), '3', 'its parts written once');
  for (const id of traceIds(PB_FLAT)) {
    const r = await s.apiGet(`/api/v3/traces/${id}`);
    assert.equal(r.status, 200, `trace ${id}: ${r}`);
  }
});
