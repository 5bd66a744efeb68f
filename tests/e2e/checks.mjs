// Shared assertions that talk to the daemons.
import assert from 'node:assert/strict';
import { expectStatus, parseProm } from './harness.mjs';
import { assertSameSpans, assertJaegerTrace, decodeExportResponse, parseJsonLossless } from './otlp.mjs';

// Read one trace through both API endpoints and compare every field with `expectedFlat`.
export async function checkTraceViaApi(stack, expectedFlat, traceId, label, { idForUrl = traceId } = {}) {
  const v3 = expectStatus(await stack.apiGet(`/api/v3/traces/${idForUrl}`), 200, `${label}: GET /api/v3/traces/${idForUrl}`);
  assert.match(v3.contentType, /application\/json/, `${label}: v3 content-type: ${v3}`);
  let doc;
  try { doc = parseJsonLossless(v3.text); } catch { assert.fail(`${label}: v3 body is not JSON: ${v3}`); }
  assert.ok(doc.result && Array.isArray(doc.result.resourceSpans), `${label}: v3 body must be {"result":{"resourceSpans":[...]}}: ${v3.describeBody()}`);
  assertSameSpans(doc.result, expectedFlat, traceId.toLowerCase(), `${label} /api/v3/traces`);

  const jg = expectStatus(await stack.apiGet(`/api/traces/${idForUrl}`), 200, `${label}: GET /api/traces/${idForUrl}`);
  assert.match(jg.contentType, /application\/json/, `${label}: jaeger content-type: ${jg}`);
  assertJaegerTrace(jg.json(), expectedFlat, traceId.toLowerCase(), `${label} /api/traces`);
  return { v3: doc, jaeger: jg.json() };
}

// Assert a 200 export answer with no rejected spans, in the request's content type.
export function assertExportOk(res, kind, label) {
  expectStatus(res, 200, label);
  if (kind === 'proto') {
    assert.match(res.contentType, /^application\/x-protobuf/, `${label}: response content-type must be application/x-protobuf: ${res}`);
    let r;
    assert.doesNotThrow(() => { r = decodeExportResponse(res.body); }, `${label}: response must be an ExportTraceServiceResponse: ${res}`);
    assert.equal(r.rejectedSpans, 0, `${label}: rejected spans in ${res}`);
    return r;
  }
  assert.match(res.contentType, /^application\/json/, `${label}: response content-type must be application/json: ${res}`);
  const j = res.json();
  assert.equal(typeof j, 'object', `${label}: ${res}`);
  assert.equal(Number(j.partialSuccess?.rejectedSpans ?? 0), 0, `${label}: rejected spans in ${res}`);
  return j;
}

export async function metricsSnapshot(stack) {
  const r = expectStatus(await stack.collectorGet('/metrics'), 200, 'GET /metrics');
  return { text: r.text, samples: parseProm(r.text) };
}

// Sum of otelpg_received_items_total samples that concern traces/spans.
export function receivedSpans(snap) {
  return snap.samples
    .filter((s) => s.name.startsWith('otelpg_received_items_total') && /trace|span/i.test(s.line))
    .reduce((a, s) => a + s.value, 0);
}

export function rejectedRequests(snap) {
  return snap.samples.filter((s) => s.name.startsWith('otelpg_rejected_requests_total')).reduce((a, s) => a + s.value, 0);
}
