// Trace search end to end: Jaeger's HTTP API (v1, as Grafana's Jaeger data source and Jaeger
// UI call it) and API v3 (OTLP JSON, trace summaries), over a GENERATED data set whose
// answers are computed here from what was sent: every filter alone and combined, the time
// window, limits and their order, the whole-trace duration (ours), the service dependency
// graph, the exact JSON shapes (including empty answers), bad parameters (400 with a
// message), unknown traces (404), the candidate bound (a warning), and a 10,000-span trace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Postgres, Stack, expectStatus, request } from './harness.mjs';

const SUITE = 'search';
let pg, stack;

// ---------------------------------------------------------------- the data set

// A small seeded PRNG (mulberry32), so that a failure can be replayed.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const SEED = Number(process.env.OTELPG_E2E_SEED || 20261121);
const rand = rng(SEED);
const pick = (a) => a[Math.floor(rand() * a.length)];
const hex = (n) => Array.from({ length: n }, () => Math.floor(rand() * 256).toString(16).padStart(2, '0')).join('');
const MS = 1_000_000n;
const NOW_NS = BigInt(Date.now()) * MS;

const spans = []; // every generated span: {traceId, spanId, parent, service, env, name, kind, start, dur, attrs, status}
const traces = new Map(); // traceId -> [span]

function addSpan(s) {
  spans.push(s);
  if (!traces.has(s.traceId)) traces.set(s.traceId, []);
  traces.get(s.traceId).push(s);
  return s;
}

function genTrace(start) {
  const traceId = hex(16);
  const sp = (parent, service, name, kind, offMs, durMs, attrs = {}, status = 0, env = 'prod') => addSpan({
    traceId, spanId: hex(8), parent: parent?.spanId, service, env, name, kind,
    start: start + BigInt(offMs) * MS, dur: BigInt(durMs) * MS, attrs, status,
  });
  const checkout = rand() < 0.6;
  const rootDur = 50 + Math.floor(rand() * 900);
  const root = sp(null, 'frontend', checkout ? 'GET /checkout' : 'GET /home', 2, 0, rootDur, {
    'http.method': 'GET', 'http.status_code': rand() < 0.2 ? 500 : 200, 'customer.tier': pick(['gold', 'silver']),
  });
  if (!checkout) {
    sp(root, 'frontend', 'render', 1, 1, 1 + Math.floor(rand() * 40), { cached: rand() < 0.5 });
    return;
  }
  const call = sp(root, 'frontend', 'POST checkout', 3, 2, rootDur - 4, { 'peer.service': 'checkout' });
  const server = sp(call, 'checkout', 'POST /checkout', 2, 3, rootDur - 6, { 'http.status_code': 200 });
  const charge = sp(server, 'checkout', 'charge', 3, 4, 5 + Math.floor(rand() * 300));
  const failed = rand() < 0.3;
  sp(charge, 'payment', 'Charge', 2, 5, Number(charge.dur / MS) - 2, {
    'payment.method': pick(['card', 'paypal']), retry: rand() < 0.3, amount: pick([9.99, 25.5, 100]),
  }, failed ? 2 : 1, rand() < 0.3 ? 'staging' : 'prod');
  if (rand() < 0.5) sp(server, 'inventory', 'Reserve', 2, 6, 1 + Math.floor(rand() * 50), { 'items': 1 + Math.floor(rand() * 5) }, rand() < 0.1 ? 2 : 0);
}

// 60 traces in the last 30 minutes (29 s apart), 10 three hours ago (outside the default window).
for (let i = 0; i < 60; i++) genTrace(NOW_NS - 30n * 60_000n * MS + BigInt(i) * 29_000n * MS);
const OLD_START = NOW_NS - 3n * 3600_000n * MS;
for (let i = 0; i < 10; i++) genTrace(OLD_START + BigInt(i) * 1000n * MS);

// OTLP/JSON request for a list of spans, grouped by resource (service + environment).
function otlpDoc(list) {
  const groups = new Map();
  for (const s of list) {
    const k = `${s.service}|${s.env}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(s);
  }
  const val = (v) => typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v }
    : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return {
    resourceSpans: [...groups.values()].map((g) => ({
      resource: { attributes: [
        { key: 'service.name', value: { stringValue: g[0].service } },
        { key: 'deployment.environment', value: { stringValue: g[0].env } },
      ] },
      scopeSpans: [{ scope: { name: 'e2e-search', version: '1.0' }, spans: g.map((s) => ({
        traceId: s.traceId, spanId: s.spanId, ...(s.parent ? { parentSpanId: s.parent } : {}), name: s.name, kind: s.kind,
        startTimeUnixNano: String(s.start), endTimeUnixNano: String(s.start + s.dur),
        attributes: Object.entries(s.attrs).map(([key, v]) => ({ key, value: val(v) })),
        ...(s.status ? { status: { code: s.status } } : {}),
      })) }],
    })),
  };
}

async function post(list) {
  const res = await stack.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(otlpDoc(list)) });
  expectStatus(res, 200, 'POST /v1/traces');
  assert.ok(!res.json().partialSuccess?.rejectedSpans, `nothing may be rejected: ${res}`);
}

// ---------------------------------------------------------------- the expected answers

// Jaeger's semantics: a trace matches when one of its spans matches every condition; tags
// are matched against the span's attributes and its resource's, as text; "error" means the
// span's status.
function tagMatches(s, key, want) {
  if (key === 'error') return (s.status === 2) === (want === 'true');
  if (key === 'span.kind') return ['', 'internal', 'server', 'client', 'producer', 'consumer'][s.kind] === want;
  const res = { 'service.name': s.service, 'deployment.environment': s.env };
  for (const v of [s.attrs[key], res[key]]) {
    if (v === undefined) continue;
    if (typeof v === 'number' ? Number(want) === v : String(v) === want) return true;
  }
  return false;
}

function traceDuration(id) {
  const l = traces.get(id);
  const min = l.reduce((m, s) => (s.start < m ? s.start : m), l[0].start);
  const max = l.reduce((m, s) => (s.start + s.dur > m ? s.start + s.dur : m), 0n);
  return max - min;
}

// Trace IDs that match f, newest first (by the newest matching span), at most f.limit.
function expected(f) {
  const startMin = f.start ?? NOW_NS - 3600_000n * MS;
  const startMax = f.end ?? NOW_NS + 60_000n * MS;
  const best = new Map();
  for (const s of spans) {
    if (f.service && s.service !== f.service) continue;
    if (f.operation && s.name !== f.operation) continue;
    if (s.start < startMin || s.start > startMax) continue;
    if (f.minDur !== undefined && s.dur < f.minDur) continue;
    if (f.maxDur !== undefined && s.dur > f.maxDur) continue;
    if (!Object.entries(f.tags || {}).every(([k, v]) => tagMatches(s, k, v))) continue;
    if (f.minTraceDur !== undefined && traceDuration(s.traceId) < f.minTraceDur) continue;
    if (f.maxTraceDur !== undefined && traceDuration(s.traceId) > f.maxTraceDur) continue;
    if (!best.has(s.traceId) || best.get(s.traceId) < s.start) best.set(s.traceId, s.start);
  }
  return [...best.entries()].sort((a, b) => (a[1] < b[1] ? 1 : a[1] > b[1] ? -1 : 0)).map((e) => e[0]).slice(0, f.limit ?? 1500);
}

// The filters as v1 and v3 query strings.
const US = (ns) => String(ns / 1000n);
const iso = (ns) => new Date(Number(ns / MS)).toISOString();
const durStr = (ns) => `${ns / 1000n}us`;
function v1Query(f) {
  const q = new URLSearchParams();
  if (f.service) q.set('service', f.service);
  if (f.operation) q.set('operation', f.operation);
  if (f.tags) q.set('tags', JSON.stringify(f.tags));
  if (f.start !== undefined) q.set('start', US(f.start));
  if (f.end !== undefined) q.set('end', US(f.end));
  if (f.minDur !== undefined) q.set('minDuration', durStr(f.minDur));
  if (f.maxDur !== undefined) q.set('maxDuration', durStr(f.maxDur));
  if (f.minTraceDur !== undefined) q.set('minTraceDuration', durStr(f.minTraceDur));
  if (f.maxTraceDur !== undefined) q.set('maxTraceDuration', durStr(f.maxTraceDur));
  q.set('limit', String(f.limit ?? 1500));
  return `/api/traces?${q}`;
}
function v3Query(f, route = 'traces', snake = false) {
  const n = (camel, sn) => (snake ? sn : camel);
  const q = new URLSearchParams();
  if (f.service) q.set(n('query.serviceName', 'query.service_name'), f.service);
  if (f.operation) q.set(n('query.operationName', 'query.operation_name'), f.operation);
  if (f.tags) q.set('query.attributes', JSON.stringify(f.tags));
  q.set(n('query.startTimeMin', 'query.start_time_min'), iso(f.start ?? NOW_NS - 3600_000n * MS));
  q.set(n('query.startTimeMax', 'query.start_time_max'), iso(f.end ?? NOW_NS + 60_000n * MS));
  if (f.minDur !== undefined) q.set(n('query.durationMin', 'query.duration_min'), durStr(f.minDur));
  if (f.maxDur !== undefined) q.set(n('query.durationMax', 'query.duration_max'), durStr(f.maxDur));
  if (f.minTraceDur !== undefined) q.set(n('query.traceDurationMin', 'query.trace_duration_min'), durStr(f.minTraceDur));
  if (f.maxTraceDur !== undefined) q.set(n('query.traceDurationMax', 'query.trace_duration_max'), durStr(f.maxTraceDur));
  q.set(n('query.searchDepth', 'query.search_depth'), String(f.limit ?? 1500));
  return `/api/v3/${route}?${q}`;
}

async function getJson(path, status = 200) {
  const r = expectStatus(await stack.apiGet(path), status, `GET ${path}`);
  assert.match(r.contentType, /application\/json/, `GET ${path}: content-type`);
  return r.json();
}

function assertV1Envelope(j, path) {
  for (const k of ['data', 'total', 'limit', 'offset', 'errors']) assert.ok(k in j, `${path}: "${k}" missing: ${JSON.stringify(j).slice(0, 300)}`);
  assert.equal(j.limit, 0, path);
  assert.equal(j.offset, 0, path);
  assert.equal(j.errors, null, path);
}

async function v1Search(f) {
  const path = v1Query(f);
  const j = await getJson(path);
  assertV1Envelope(j, path);
  assert.ok(Array.isArray(j.data), `${path}: data must be an array`);
  for (const t of j.data) {
    assert.match(t.traceID, /^[0-9a-f]{32}$/, path);
    const sent = traces.get(t.traceID);
    assert.ok(sent, `${path}: unknown trace ${t.traceID} returned`);
    assert.equal(t.spans.length, sent.length, `${path}: trace ${t.traceID} must come back whole`);
    for (const s of t.spans) assert.ok(t.processes[s.processID], `${path}: span ${s.spanID} names a missing process`);
  }
  return { ids: j.data.map((t) => t.traceID), j };
}

async function v3Search(f, snake = false) {
  const path = v3Query(f, 'traces', snake);
  const want = expected(f);
  const r = await stack.apiGet(path);
  if (!want.length) {
    expectStatus(r, 404, `GET ${path}`);
    assert.deepEqual(r.json(), { error: { httpCode: 404, message: 'No traces found' } }, path);
    return [];
  }
  const j = expectStatus(r, 200, `GET ${path}`).json();
  assert.ok(Array.isArray(j.result?.resourceSpans), `${path}: result.resourceSpans`);
  const ids = new Set();
  let n = 0;
  for (const rs of j.result.resourceSpans) {
    assert.ok(rs.resource.attributes.some((a) => a.key === 'service.name'), path);
    for (const ss of rs.scopeSpans) for (const s of ss.spans) { ids.add(s.traceId); n++; }
  }
  const total = [...ids].reduce((a, id) => a + traces.get(id).length, 0);
  assert.equal(n, total, `${path}: every span of every trace found`);
  return [...ids];
}

// Each case: a name and filters; the answer must be exactly the computed one.
const FIVE_MIN_AGO = NOW_NS - 5n * 60_000n * MS;
const CASES = [
  ['service alone', { service: 'frontend' }],
  ['service, old window', { service: 'frontend', start: OLD_START - 60_000n * MS, end: OLD_START + 3600_000n * MS }],
  ['service, last 5 minutes', { service: 'frontend', start: FIVE_MIN_AGO }],
  ['operation', { service: 'payment', operation: 'Charge' }],
  ['span tag (int)', { service: 'frontend', tags: { 'http.status_code': '500' } }],
  ['span tag (string)', { service: 'frontend', tags: { 'customer.tier': 'gold' } }],
  ['span tag (bool)', { service: 'payment', tags: { retry: 'true' } }],
  ['span tag (double)', { service: 'payment', tags: { amount: '25.5' } }],
  ['resource tag', { service: 'payment', tags: { 'deployment.environment': 'staging' } }],
  ['error=true', { service: 'payment', tags: { error: 'true' } }],
  ['error=false', { service: 'payment', tags: { error: 'false' } }],
  ['span.kind', { service: 'frontend', tags: { 'span.kind': 'client' } }],
  ['minDuration', { service: 'payment', minDur: 150n * MS }],
  ['maxDuration', { service: 'payment', maxDur: 60n * MS }],
  ['min and max duration', { service: 'checkout', operation: 'charge', minDur: 50n * MS, maxDur: 200n * MS }],
  ['minTraceDuration', { service: 'frontend', minTraceDur: 500n * MS }],
  ['maxTraceDuration', { service: 'frontend', maxTraceDur: 300n * MS }],
  ['no service', {}],
  ['no service, operation', { operation: 'Reserve' }],
  ['no service, tag', { tags: { 'payment.method': 'paypal' } }],
  ['no service, error', { tags: { error: 'true' } }],
  ['combined: op + tags + duration', { service: 'payment', operation: 'Charge', tags: { 'payment.method': 'card', error: 'true' }, minDur: 20n * MS }],
  ['combined: resource + span tag', { service: 'payment', tags: { 'deployment.environment': 'prod', retry: 'false', amount: '100' } }],
  ['combined: tag + trace duration', { service: 'frontend', tags: { 'customer.tier': 'silver' }, minTraceDur: 200n * MS, maxTraceDur: 800n * MS }],
  ['two tags on different spans never match', { service: 'payment', tags: { 'payment.method': 'card', 'customer.tier': 'gold' } }],
  ['nothing matches', { service: 'payment', operation: 'no-such-op' }],
  ['unknown service', { service: 'no-such-service' }],
  ['limit keeps the newest', { service: 'frontend', limit: 7 }],
  ['limit with tags', { service: 'payment', tags: { error: 'true' }, limit: 3 }],
];

// ---------------------------------------------------------------- the big trace

const BIG = { traceId: '', n: 10_000 };

before(async () => {
  pg = await Postgres.start('search');
  stack = await Stack.start({ suite: `${SUITE}/main`, dbUrl: pg.url });
  // One request per trace group keeps requests small; order does not matter.
  const ids = [...traces.keys()];
  for (let i = 0; i < ids.length; i += 10) await post(ids.slice(i, i + 10).flatMap((id) => traces.get(id)));
  // A 10,000-span trace of one service (so it adds no dependency edge), in five requests.
  BIG.traceId = hex(16);
  const t0 = NOW_NS - 10n * 60_000n * MS;
  const rootId = hex(8);
  const big = [];
  for (let i = 0; i < BIG.n; i++) {
    big.push({ traceId: BIG.traceId, spanId: i === 0 ? rootId : hex(8), parent: i === 0 ? undefined : rootId, service: 'bulk', env: 'prod',
      name: `step-${i % 50}`, kind: i === 0 ? 2 : 1, start: t0 + BigInt(i) * 1000n, dur: 2n * MS, attrs: { i, 'bulk.key': `k${i}` }, status: 0 });
  }
  for (const s of big) addSpan(s); // part of the data set: searches without a service find it
  for (let i = 0; i < big.length; i += 2000) {
    const res = await stack.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(otlpDoc(big.slice(i, i + 2000))) });
    expectStatus(res, 200, 'POST big trace');
  }
});

after(async () => {
  await stack?.stopAll();
  await pg?.stop();
});

const w = (fn) => (t) => stack.wrap(fn)(t);

// ---------------------------------------------------------------- shapes and listings

test('GET /api/services and /api/v3/services list every service, sorted', w(async () => {
  const want = ['bulk', 'checkout', 'frontend', 'inventory', 'payment'];
  const j = await getJson('/api/services');
  assertV1Envelope(j, '/api/services');
  assert.deepEqual(j.data, want);
  assert.equal(j.total, want.length);
  assert.deepEqual(await getJson('/api/v3/services'), { services: want });
}));

test('operations: legacy, v1 with spanKind, v3 with span_kind / spanKind', w(async () => {
  let j = await getJson('/api/services/frontend/operations');
  assertV1Envelope(j, 'legacy operations');
  assert.deepEqual(j.data, ['GET /checkout', 'GET /home', 'POST checkout', 'render']);
  assert.equal(j.total, 4);
  j = await getJson('/api/operations?service=frontend');
  assert.deepEqual(j.data, [
    { name: 'GET /checkout', spanKind: 'server' }, { name: 'GET /home', spanKind: 'server' },
    { name: 'POST checkout', spanKind: 'client' }, { name: 'render', spanKind: 'internal' },
  ]);
  assert.equal(j.total, 4);
  j = await getJson('/api/operations?service=frontend&spanKind=server');
  assert.deepEqual(j.data.map((o) => o.name), ['GET /checkout', 'GET /home']);
  assert.deepEqual(await getJson('/api/v3/operations?service=checkout&span_kind=client'), { operations: [{ name: 'charge', spanKind: 'client' }] });
  assert.deepEqual(await getJson('/api/v3/operations?service=checkout&spanKind=server'), { operations: [{ name: 'POST /checkout', spanKind: 'server' }] });
  assert.deepEqual(await getJson('/api/v3/operations?service=nobody'), { operations: [] });
  j = await getJson('/api/operations?service=nobody');
  assert.deepEqual(j.data, []);
  assert.equal(j.total, 0);
}));

test('empty answers keep their shapes', w(async () => {
  const j = await getJson('/api/traces?service=nobody');
  assert.deepEqual(j, { data: [], total: 0, limit: 0, offset: 0, errors: null });
  const r = await stack.apiGet('/api/v3/traces?query.serviceName=nobody&query.startTimeMin=2020-01-01T00:00:00Z&query.startTimeMax=2020-01-02T00:00:00Z');
  expectStatus(r, 404, 'v3 empty search');
  assert.deepEqual(r.json(), { error: { httpCode: 404, message: 'No traces found' } });
  assert.deepEqual(await getJson('/api/v3/trace-summaries?query.serviceName=nobody'), { summaries: [] });
  assert.deepEqual(await getJson('/api/dependencies?endTs=1000000&lookback=1000'), { data: [], total: 0, limit: 0, offset: 0, errors: null });
}));

test('bad parameters: 400 with a message, in each API\'s error shape', w(async () => {
  const v1 = [
    '/api/traces?service=frontend&minDuration=fast', '/api/traces?service=frontend&maxDuration=1parsec',
    '/api/traces?service=frontend&start=yesterday', '/api/traces?service=frontend&end=-5',
    '/api/traces?service=frontend&tags=notjson', '/api/traces?service=frontend&tags=%5B1%2C2%5D',
    '/api/traces?service=frontend&tags=%7B%22a%22%3A%7B%7D%7D', '/api/traces?service=frontend&tag=nocolon',
    '/api/traces?service=frontend&limit=-1', '/api/traces?service=frontend&limit=ten',
    '/api/traces?service=frontend&minDuration=2s&maxDuration=1s', '/api/traces?service=frontend&start=2000&end=1000',
    '/api/traces?service=frontend&minTraceDuration=x', '/api/traces?service=frontend&tags=%7B%22span.kind%22%3A%22sideways%22%7D',
    '/api/operations', '/api/operations?service=frontend&spanKind=sideways',
    '/api/dependencies?endTs=now', '/api/dependencies?endTs=1&lookback=-3',
  ];
  for (const p of v1) {
    const r = expectStatus(await stack.apiGet(p), 400, `GET ${p}`);
    const j = r.json();
    assert.equal(j.data, null, p);
    assert.equal(j.errors?.length, 1, `${p}: ${r.text}`);
    assert.equal(j.errors[0].code, 400, p);
    assert.ok(j.errors[0].msg.length > 5, `${p}: a message: ${r.text}`);
  }
  const v3 = [
    '/api/v3/traces?query.serviceName=frontend&query.startTimeMin=notatime',
    '/api/v3/traces?query.service_name=frontend&query.duration_min=slow',
    '/api/v3/traces?query.serviceName=frontend&query.attributes=%7Bbad',
    '/api/v3/traces?query.serviceName=frontend&query.searchDepth=many',
    '/api/v3/trace-summaries?query.serviceName=frontend&query.start_time_max=13:00',
    '/api/v3/operations?service=frontend&span_kind=upwards',
  ];
  for (const p of v3) {
    const r = expectStatus(await stack.apiGet(p), 400, `GET ${p}`);
    const j = r.json();
    assert.equal(j.error?.httpCode, 400, `${p}: ${r.text}`);
    assert.ok(j.error.message.length > 5, p);
  }
  expectStatus(await stack.apiGet('/health'), 200, 'still healthy');
}));

test('unknown traces: 404', w(async () => {
  const id = hex(16);
  expectStatus(await stack.apiGet(`/api/traces/${id}`), 404, 'v1 unknown trace');
  expectStatus(await stack.apiGet(`/api/v3/traces/${id}`), 404, 'v3 unknown trace');
}));

// ---------------------------------------------------------------- search correctness

test('every filter alone and combined finds exactly the traces it should (v1)', w(async () => {
  for (const [name, f] of CASES) {
    const want = expected(f);
    const { ids } = await v1Search(f);
    if (f.limit) assert.deepEqual(ids, want, `${name}: the ${f.limit} newest, newest first`);
    else assert.deepEqual([...ids].sort(), [...want].sort(), `${name}: ${v1Query(f)}`);
  }
  // the data set must make the cases meaningful: most match something, some do not
  const sizes = CASES.map(([, f]) => expected(f).length);
  assert.ok(sizes.filter((n) => n > 0).length >= CASES.length - 4, `cases too empty: ${sizes}`);
  assert.ok(sizes.some((n) => n > 0 && n < 20), `some cases must be selective: ${sizes}`);
}));

test('tag=key:value (Jaeger\'s repeated form) and tags JSON together', w(async () => {
  const f = { service: 'payment', tags: { 'payment.method': 'paypal', error: 'true' } };
  const p = `/api/traces?service=payment&tag=payment.method:paypal&tags=${encodeURIComponent('{"error":"true"}')}&limit=100`;
  const j = await getJson(p);
  assert.deepEqual(j.data.map((t) => t.traceID).sort(), expected(f).sort(), p);
}));

test('v3 search: camelCase and snake_case names, same answers', w(async () => {
  for (const [name, f] of CASES.filter(([, f]) => !f.limit)) {
    const want = expected(f).sort();
    assert.deepEqual((await v3Search(f)).sort(), want, `${name}: ${v3Query(f)}`);
    assert.deepEqual((await v3Search(f, true)).sort(), want, `${name} (snake_case): ${v3Query(f, 'traces', true)}`);
  }
}));

test('v3 trace summaries: counts, errors, services, root', w(async () => {
  const f = { service: 'payment', tags: { error: 'true' } };
  const j = await getJson(v3Query(f, 'trace-summaries'));
  assert.deepEqual(j.summaries.map((s) => s.traceId).sort(), expected(f).sort());
  for (const s of j.summaries) {
    const l = traces.get(s.traceId);
    const root = l.find((x) => !x.parent);
    assert.equal(s.rootServiceName, root.service);
    assert.equal(s.rootOperationName, root.name);
    assert.equal(s.spanCount, l.length);
    assert.equal(s.errorSpanCount, l.filter((x) => x.status === 2).length);
    assert.equal(s.orphanSpanCount, 0);
    const min = l.reduce((m, x) => (x.start < m ? x.start : m), l[0].start);
    assert.equal(s.minStartTimeUnixNano, String(min));
    assert.equal(BigInt(s.maxEndTimeUnixNano) - BigInt(s.minStartTimeUnixNano), traceDuration(s.traceId));
    const svc = {};
    for (const x of l) {
      svc[x.service] ??= { name: x.service, spanCount: 0, errorSpanCount: 0 };
      svc[x.service].spanCount++;
      if (x.status === 2) svc[x.service].errorSpanCount++;
    }
    assert.deepEqual(s.services, Object.values(svc).sort((a, b) => (a.name < b.name ? -1 : 1)));
  }
}));

test('dependencies: caller -> callee with call and error counts, from stored spans', w(async () => {
  const byId = new Map(spans.map((s) => [`${s.traceId}/${s.spanId}`, s]));
  const edges = new Map();
  for (const s of spans) {
    const p = s.parent && byId.get(`${s.traceId}/${s.parent}`);
    if (!p || p.service === s.service) continue;
    const k = `${p.service}->${s.service}`;
    if (!edges.has(k)) edges.set(k, { parent: p.service, child: s.service, callCount: 0, errorCount: 0 });
    edges.get(k).callCount++;
    if (s.status === 2) edges.get(k).errorCount++;
  }
  const want = [...edges.values()].sort((a, b) => (`${a.parent}>${a.child}` < `${b.parent}>${b.child}` ? -1 : 1));
  const endTs = Number(NOW_NS / MS) + 60_000;
  let j = await getJson(`/api/dependencies?endTs=${endTs}&lookback=${6 * 3600_000}`);
  assertV1Envelope(j, 'dependencies');
  assert.deepEqual(j.data, want);
  // the last hour only: the old traces drop out
  const recent = new Map();
  for (const s of spans) {
    const p = s.parent && byId.get(`${s.traceId}/${s.parent}`);
    if (!p || p.service === s.service || s.start < NOW_NS - 3600_000n * MS) continue;
    const k = `${p.service}->${s.service}`;
    recent.set(k, (recent.get(k) || 0) + 1);
  }
  j = await getJson(`/api/dependencies?endTs=${endTs}&lookback=3600000`);
  assert.deepEqual(Object.fromEntries(j.data.map((e) => [`${e.parent}->${e.child}`, e.callCount])), Object.fromEntries(recent));
  j = await getJson(`/api/dependencies?endTs=${endTs}&lookback=${6 * 3600_000}&service=inventory`);
  assert.deepEqual(j.data, want.filter((e) => e.parent === 'inventory' || e.child === 'inventory'));
}));

// ---------------------------------------------------------------- bounds and size

test('a search that reaches its candidate bound says so', w(async () => {
  const small = await stack.startApi(['--search-max-spans', '100'], 'api-small-bound');
  try {
    const p = `/api/traces?service=bulk&tags=${encodeURIComponent('{"bulk.key":"nope"}')}`;
    const r = expectStatus(await (await import('./harness.mjs')).request(small.port, { path: p }), 200, p);
    const j = r.json();
    assert.deepEqual(j.data, []);
    assert.ok(Array.isArray(j.warnings) && /search-max-spans/.test(j.warnings[0]), `a warning: ${r.text}`);
    // without the bound being reached there is no warning
    const j2 = await getJson(`/api/traces?service=bulk&tags=${encodeURIComponent('{"bulk.key":"k9999"}')}`);
    assert.equal(j2.data.length, 1);
    assert.equal(j2.warnings, undefined);
  } finally {
    await small.stop();
  }
}));

test('a 10,000-span trace comes back whole and fast, by ID and by search', w(async () => {
  let t0 = Date.now();
  let j = await getJson(`/api/traces/${BIG.traceId}`);
  const byId = Date.now() - t0;
  assert.equal(j.data[0].spans.length, BIG.n);
  t0 = Date.now();
  j = await getJson(`/api/traces?service=bulk&tags=${encodeURIComponent('{"bulk.key":"k1234"}')}&limit=5`);
  const bySearch = Date.now() - t0;
  assert.equal(j.data.length, 1);
  assert.equal(j.data[0].traceID, BIG.traceId);
  assert.equal(j.data[0].spans.length, BIG.n);
  t0 = Date.now();
  const v3 = await getJson(`/api/v3/traces?query.serviceName=bulk&query.operationName=step-7`);
  const byV3 = Date.now() - t0;
  assert.equal(v3.result.resourceSpans.reduce((a, rs) => a + rs.scopeSpans.reduce((b, ss) => b + ss.spans.length, 0), 0), BIG.n);
  process.stderr.write(`10,000-span trace: by ID ${byId} ms, v1 search with a tag ${bySearch} ms, v3 search ${byV3} ms\n`);
  for (const ms of [byId, bySearch, byV3]) assert.ok(ms < 5000, `too slow: ${ms} ms`);
}));
