// HTTP and OTLP/JSON details real clients rely on: persistent connections, curl, parallel
// exporters, lenient JSON (numbers or strings for 64-bit fields, unknown keys), big requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Postgres, Stack, samplesDir, expectStatus, gzip, Response, request } from './harness.mjs';
import { flattenSpans, simpleTraceDoc, randomHex, pbDecode } from './otlp.mjs';
import { checkTraceViaApi, assertExportOk } from './checks.mjs';

const execFileP = promisify(execFile);
const SUITE = 'protocol';
let pg, stack;
const JSONH = { 'Content-Type': 'application/json' };

before(async () => {
  pg = await Postgres.start('protocol');
  stack = await Stack.start({ suite: SUITE, dbUrl: pg.url, collectorArgs: ['--max-body-size', '4m'] });
});
after(async () => {
  await stack?.stopAll();
  await pg?.stop();
});
const w = (fn) => (t) => stack.wrap(fn)(t);

// Request through a keep-alive agent (like the OTLP exporters do).
function agentRequest(agent, { method = 'POST', path: p = '/v1/traces', headers = {}, body }) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: stack.collector.port, method, path: p, agent, headers: { ...headers, ...(body ? { 'Content-Length': body.length } : {}) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(Object.assign(new Response(res.statusCode, res.headers, Buffer.concat(chunks), `${method} ${p}`), { socket: req.socket })));
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

test('one keep-alive connection carries good and bad requests in a row', w(async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const docs = [];
    const good = async (label) => {
      const d = simpleTraceDoc({ n: 2, service: 'keepalive' });
      docs.push(d);
      const r = await agentRequest(agent, { headers: JSONH, body: Buffer.from(JSON.stringify(d.doc)) });
      assertExportOk(r, 'json', label);
      return r;
    };
    const first = await good('good #1');
    const second = await good('good #2');
    assert.equal(second.socket, first.socket, 'two good requests in a row should reuse the connection (HTTP/1.1 keep-alive)');
    expectStatus(await agentRequest(agent, { headers: JSONH, body: Buffer.from('{"resourceSpans": [') }), 400, 'bad JSON on the kept-alive connection');
    await good('good #3 after a 400');
    expectStatus(await agentRequest(agent, { headers: { 'Content-Type': 'text/plain' }, body: Buffer.from('hello') }), 415, '415 on the kept-alive connection');
    await good('good #4 after a 415');
    // over the 4m limit once inflated, tiny on the wire
    const big = gzip(Buffer.from(JSON.stringify(simpleTraceDoc({ n: 1, padAttr: 4200 * 1024 }).doc)));
    expectStatus(await agentRequest(agent, { headers: { ...JSONH, 'Content-Encoding': 'gzip' }, body: big }), 413, '413 on the kept-alive connection');
    await good('good #5 after a 413');
    expectStatus(await agentRequest(agent, { method: 'GET', headers: {} }), 405, 'GET /v1/traces on the kept-alive connection');
    await good('good #6 after a 405');
    for (const d of docs) await checkTraceViaApi(stack, flattenSpans(d.doc), d.traceId, 'keep-alive export');
  } finally {
    agent.destroy();
  }
}));

// A client that sends a whole large body with Content-Length and only then reads the answer
// (node's http client does) must get the 413, not a connection reset: the collector should
// drain (or at least half-close and linger) instead of closing with unread input.
test('a 6 MB body over the 4m limit sent with Content-Length: node\'s http client receives the 413', w(async () => {
  const body = Buffer.from(JSON.stringify(simpleTraceDoc({ n: 1, padAttr: 6 * 1024 * 1024 }).doc));
  for (let i = 0; i < 2; i++) {
    let res;
    try {
      res = await request(stack.collector.port, { method: 'POST', path: '/v1/traces', headers: JSONH, body });
    } catch (e) {
      assert.fail(`POST of ${body.length} bytes with Content-Length: the client got ${e.code || e.message} instead of the 413 (the collector closed the connection while the body was still being sent)`);
    }
    expectStatus(res, 413, `POST of ${body.length} bytes with Content-Length`);
  }
}));

test('curl --data-binary with Expect: 100-continue works without stalling', w(async () => {
  const file = path.join(samplesDir, 'proto/001_v1_traces.pb');
  const t0 = Date.now();
  const { stdout } = await execFileP('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', '-H', 'Content-Type: application/x-protobuf',
    '-H', 'Expect: 100-continue', '--expect100-timeout', '3', '--data-binary', `@${file}`, `${stack.collectorUrl}/v1/traces`]);
  const ms = Date.now() - t0;
  const [code, secs] = stdout.trim().split(' ');
  assert.equal(code, '200', `curl POST of the proto sample: HTTP ${code}`);
  assert.ok(Number(secs) < 2.5, `curl needed ${secs} s (${ms} ms): the collector does not answer "Expect: 100-continue" with "100 Continue", so curl waits for its timeout before sending the body`);
  const flat = flattenSpans(pbDecode('ExportTraceServiceRequest', fs.readFileSync(file)));
  for (const tid of new Set([...flat.values()].map((v) => v.span.traceId))) await checkTraceViaApi(stack, flat, tid, `curl export, trace ${tid}`);
}));

test('40 parallel exports: every one is readable right after its 200', w(async () => {
  const n = 40;
  const results = await Promise.all(Array.from({ length: n }, async (_, i) => {
    const d = simpleTraceDoc({ n: 10, service: `parallel-${i % 4}` });
    const body = Buffer.from(JSON.stringify(d.doc));
    const res = await stack.post({ headers: i % 2 ? { ...JSONH, 'Content-Encoding': 'gzip' } : JSONH, body: i % 2 ? gzip(body) : body, chunked: i % 3 === 0 });
    assertExportOk(res, 'json', `parallel export #${i}`);
    // read immediately after this request's 200, while other writes are still in flight
    const r = expectStatus(await stack.apiGet(`/api/v3/traces/${d.traceId}`), 200, `read of parallel export #${i} right after its 200`);
    const got = flattenSpans(JSON.parse(r.text).result, 'read', { strict: true });
    assert.equal(got.size, 10, `parallel export #${i}: spans visible right after the 200`);
    return d;
  }));
  for (const d of results.slice(0, 5)) await checkTraceViaApi(stack, flattenSpans(d.doc), d.traceId, 'parallel export');
}));

test('OTLP/JSON: 64-bit fields as numbers or strings, unknown keys ignored, uppercase hex ids', w(async () => {
  const tid = randomHex(16), a = randomHex(8), b = randomHex(8);
  const text = `{
    "resourceSpans": [{
      "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "lenient"}}], "droppedAttributesCount": 0, "futureField": {"x": [1, 2]}},
      "unknownTopLevel": "ignored",
      "scopeSpans": [{
        "scope": {"name": "s", "version": "1", "somethingNew": true},
        "spans": [
          {"traceId": "${tid}", "spanId": "${a}", "name": "numbers", "kind": 2,
           "startTimeUnixNano": 1700000000000000001, "endTimeUnixNano": 1700000000500000007,
           "attributes": [{"key": "n", "value": {"intValue": 12345}}, {"key": "s", "value": {"intValue": "-12345"}}, {"key": "d", "value": {"doubleValue": 2}}],
           "events": [{"timeUnixNano": 1700000000100000003, "name": "e", "attributes": [], "newEventField": null}],
           "droppedAttributesCount": "0", "flags": 1, "extra": {"nested": {"deep": [null, 1, "x"]}}},
          {"traceId": "${tid.toUpperCase()}", "spanId": "${b.toUpperCase()}", "parentSpanId": "${a.toUpperCase()}", "name": "uppercase hex ids", "kind": 1,
           "startTimeUnixNano": "1700000000100000000", "endTimeUnixNano": "1700000000200000000", "status": {"code": 2, "message": "m", "unknown": 1}}
        ]
      }]
    }]
  }`;
  assertExportOk(await stack.post({ headers: JSONH, body: text }), 'json', 'lenient JSON');
  // expected values with the timestamps kept exact (JSON.parse would round these numbers)
  const expected = JSON.parse(text.replace(/("\w*UnixNano"\s*:\s*)(\d+)/g, '$1"$2"'));
  assert.equal(expected.resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano, '1700000000000000001');
  await checkTraceViaApi(stack, flattenSpans(expected), tid, 'lenient JSON (timestamps beyond 2^53 sent as JSON numbers must stay exact)');
}));

test('a request with 3000 spans is stored completely', w(async () => {
  const d = simpleTraceDoc({ n: 3000, service: 'big' });
  const body = gzip(Buffer.from(JSON.stringify(d.doc)));
  assert.ok(body.length < 4 * 1024 * 1024);
  assertExportOk(await stack.post({ headers: { ...JSONH, 'Content-Encoding': 'gzip' }, body, chunked: true, chunkSize: 16384 }), 'json', '3000 spans in one request');
  await checkTraceViaApi(stack, flattenSpans(d.doc), d.traceId, '3000-span trace');
}));
