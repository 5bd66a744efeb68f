// Durability across daemon restarts and crashes, concurrent migrations, PostgreSQL going away.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { Postgres, Stack, sample, expectStatus, waitFor, repoRoot, gzip } from './harness.mjs';
import { pbDecode, flattenSpans, simpleTraceDoc } from './otlp.mjs';
import { checkTraceViaApi, assertExportOk } from './checks.mjs';

const execFileP = promisify(execFile);
const SUITE = 'restart';
let pg;
const stacks = [];
const PB = sample('proto/001_v1_traces.pb');
const PB_FLAT = flattenSpans(pbDecode('ExportTraceServiceRequest', PB), 'proto sample');
const PB_TRACES = [...new Set([...PB_FLAT.values()].map((v) => v.span.traceId))];

before(async () => { pg = await Postgres.start('restart'); });
after(async () => {
  for (const s of stacks) await s.stopAll();
  await pg?.stop();
});

function assertCleanExit(ex, name) {
  assert.ok(ex, `${name}: no exit info`);
  assert.equal(ex.killed, false, `${name} did not exit within 5 s of SIGTERM and had to be SIGKILLed: ${JSON.stringify(ex)}`);
  assert.equal(ex.signal, null, `${name} died from signal ${ex.signal} instead of exiting: ${JSON.stringify(ex)}`);
  assert.equal(ex.code, 0, `${name} must exit 0 after SIGTERM: ${JSON.stringify(ex)}`);
}

test('data survives a restart of both daemons (clean SIGTERM exit, same database)', async (t) => {
  const url = await pg.createDatabase('restart_data');
  const stack = await Stack.start({ suite: `${SUITE}/data`, dbUrl: url });
  stacks.push(stack);
  await stack.wrap(async () => {
    assertExportOk(await stack.post({ headers: { 'Content-Type': 'application/x-protobuf' }, body: PB, chunked: true }), 'proto', 'POST proto sample');
    const extra = simpleTraceDoc({ n: 4, service: 'restart-svc' });
    assertExportOk(await stack.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(extra.doc) }), 'json', 'POST json trace');

    const res = await stack.stopDaemons();
    assertCleanExit(res.collector, 'collector');
    assertCleanExit(res.api, 'api');
    assert.ok(res.collector.ms < 5000 && res.api.ms < 5000, `shutdown took collector ${res.collector.ms} ms, api ${res.api.ms} ms`);

    await stack.startDaemons();
    for (const tid of PB_TRACES) await checkTraceViaApi(stack, PB_FLAT, tid, `after restart, proto sample trace ${tid}`);
    await checkTraceViaApi(stack, flattenSpans(extra.doc), extra.traceId, 'after restart, json trace');

    // and it still ingests after the restart (migrations re-run on an existing schema)
    const more = simpleTraceDoc({ n: 2, service: 'after-restart' });
    assertExportOk(await stack.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(more.doc) }), 'json', 'POST after restart');
    await checkTraceViaApi(stack, flattenSpans(more.doc), more.traceId, 'export after restart');
  })(t);
});

// Blocks are compressed with zstd dictionaries the collector makes of its first blocks
// (storage/dicts.h): the API, another process, loads them from block_dicts; after a restart
// neither daemon has them in memory, and the collector makes new ones.
test('blocks compressed with dictionaries read back, before and after a restart', async (t) => {
  const url = await pg.createDatabase('restart_dicts');
  const stack = await Stack.start({ suite: `${SUITE}/dicts`, dbUrl: url });
  stacks.push(stack);
  await stack.wrap(async () => {
    const docs = [];
    for (let i = 0; i < 6; i++) {
      const d = simpleTraceDoc({ n: 40, service: `dict-svc-${i % 2}`, padAttr: 30 });
      docs.push(d);
      assertExportOk(await stack.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(d.doc) }), 'json', `POST trace ${i}`);
    }
    const named = Number(await pg.psql(`SELECT count(*) FROM span_blocks
      WHERE get_byte(payload || coalesce(tail, ''::bytea), 0) = 3
        AND substring(payload || coalesce(tail, ''::bytea) FROM 2 FOR 8) <> '\\x0000000000000000'::bytea`, 'restart_dicts'));
    assert.ok(named >= 5, `blocks after the first use a dictionary (${named} of 6 do)`);
    const dicts = Number(await pg.psql('SELECT count(*) FROM block_dicts', 'restart_dicts'));
    assert.ok(dicts >= 1, 'the dictionary is stored');
    for (const d of docs) await checkTraceViaApi(stack, flattenSpans(d.doc), d.traceId, `trace ${d.traceId}`);

    await stack.stopDaemons();
    await stack.startDaemons();
    for (const d of docs) await checkTraceViaApi(stack, flattenSpans(d.doc), d.traceId, `after restart, trace ${d.traceId}`);
    const more = [];
    for (let i = 0; i < 3; i++) {
      const d = simpleTraceDoc({ n: 40, service: 'dict-after', padAttr: 30 });
      more.push(d);
      assertExportOk(await stack.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(d.doc) }), 'json', `POST after restart ${i}`);
    }
    for (const d of more) await checkTraceViaApi(stack, flattenSpans(d.doc), d.traceId, `exported after restart, trace ${d.traceId}`);
    const after = Number(await pg.psql('SELECT count(*) FROM block_dicts', 'restart_dicts'));
    assert.ok(after > dicts, `the restarted collector made its own dictionary (${dicts} -> ${after})`);
  })(t);
});

// Fire `n` exports in parallel; returns [{ d, res | err }].
async function parallelExports(stack, n, spans = 50) {
  return Promise.all(Array.from({ length: n }, async (_, i) => {
    const d = simpleTraceDoc({ n: spans, service: `inflight-${i}` });
    try {
      const res = await stack.post({ headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body: gzip(Buffer.from(JSON.stringify(d.doc))), chunked: i % 2 === 0, timeout: 20_000 });
      return { d, res };
    } catch (err) { return { d, err }; }
  }));
}

// Races shutdown against request handling, so it is repeated a few times.
test('SIGTERM with exports in flight: clean exit, and every export answered 200 is in the database', async (t) => {
  const url = await pg.createDatabase('restart_inflight');
  const stack = await Stack.start({ suite: `${SUITE}/inflight`, dbUrl: url });
  stacks.push(stack);
  await stack.wrap(async () => {
    for (let round = 1; round <= 6; round++) {
      const collector = stack.collector;
      const pending = parallelExports(stack, 30);
      await new Promise((r) => setTimeout(r, [0, 15, 5, 30, 0, 10][round - 1]));
      collector.proc.kill('SIGTERM');
      const results = await pending;
      const timer = setTimeout(() => collector.proc.kill('SIGKILL'), 20_000);
      const ex = await collector.exited;
      clearTimeout(timer);
      assert.equal(ex.signal, null, `round ${round}: collector must exit by itself after SIGTERM (within its shutdown timeout), got ${JSON.stringify(ex)}; last output:\n${collector.output.slice(-1500)}`);
      assert.equal(ex.code, 0, `round ${round}: collector exit code after SIGTERM: ${JSON.stringify(ex)}`);
      const ok = results.filter((r) => r.res?.status === 200);
      const other = results.filter((r) => !r.res || r.res.status !== 200).map((r) => (r.err ? r.err.code || r.err.message : r.res.status));
      assert.ok(other.every((o) => o !== 500), `round ${round}: no export may get a 500 during shutdown: ${JSON.stringify(other)}`);
      for (const r of results.filter((x) => x.res?.status === 503)) {
        assert.match(r.res.headers['retry-after'] || '', /^\d+$/, `a 503 must carry Retry-After (seconds): ${r.res} headers=${JSON.stringify(r.res.headers)}`);
      }
      stack.collector = await stack.startCollector();
      for (const { d } of ok) await checkTraceViaApi(stack, flattenSpans(d.doc), d.traceId, `round ${round}: export acknowledged during shutdown`);
    }
  })(t);
});

test('SIGKILL right after the 200s: nothing acknowledged is lost', async (t) => {
  const url = await pg.createDatabase('restart_sigkill');
  const stack = await Stack.start({ suite: `${SUITE}/sigkill`, dbUrl: url });
  stacks.push(stack);
  await stack.wrap(async () => {
    const results = await parallelExports(stack, 20);
    stack.collector.proc.kill('SIGKILL');
    await stack.collector.exited;
    const bad = results.filter((r) => r.res?.status !== 200).map((r) => r.err?.message || String(r.res));
    assert.deepEqual(bad, [], 'all exports were sent before the kill and must have succeeded');
    await stack.stopDaemons();
    await stack.startDaemons();
    for (const { d } of results) await checkTraceViaApi(stack, flattenSpans(d.doc), d.traceId, 'export acknowledged before SIGKILL');
  })(t);
});

test('two collectors started at the same time on a fresh database both come up (concurrent migrations)', async (t) => {
  for (let round = 1; round <= 3; round++) {
    const url = await pg.createDatabase(`concurrent_${round}`);
    const stack = new Stack({ suite: `${SUITE}/concurrent-${round}`, dbUrl: url });
    stacks.push(stack);
    await stack.wrap(async () => {
      const results = await Promise.allSettled([stack.startCollector(undefined, 'collector-a'), stack.startCollector(undefined, 'collector-b')]);
      const failures = results.filter((r) => r.status === 'rejected').map((r) => r.reason.message);
      assert.deepEqual(failures, [], `round ${round}: both collectors must start healthy on the same fresh database`);
      const [a, b] = results.map((r) => r.value);
      stack.collector = a;
      stack.api = await stack.startApi();
      for (const c of [a, b]) {
        stack.collector = c;
        expectStatus(await stack.collectorGet('/ready'), 200, `${c.name} /ready`);
        const doc = simpleTraceDoc({ n: 2, service: c.name });
        assertExportOk(await stack.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(doc.doc) }), 'json', `export via ${c.name}`);
        await checkTraceViaApi(stack, flattenSpans(doc.doc), doc.traceId, `round ${round}, span exported via ${c.name}`);
      }
      for (const d of [a, b, stack.api]) assertCleanExit(await d.stop(), d.name);
    })(t);
  }
});

test('PostgreSQL going away: /ready -> 503 JSON while /health stays 200, then recovery', async (t) => {
  const url = await pg.createDatabase('pg_outage');
  const stack = await Stack.start({ suite: `${SUITE}/outage`, dbUrl: url });
  stacks.push(stack);
  await stack.wrap(async () => {
    const before = simpleTraceDoc({ n: 2, service: 'before-outage' });
    assertExportOk(await stack.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(before.doc) }), 'json', 'export before outage');

    await execFileP('bash', [path.join(repoRoot, 'scripts/pg-local.sh'), 'stop', pg.datadir]);
    try {
      for (const [name, get] of [['collector', (p) => stack.collectorGet(p)], ['api', (p) => stack.apiGet(p)]]) {
        // readiness reflects a lost connection; allow the daemon a moment to notice
        const r = await waitFor(async () => { const x = await get('/ready'); return x.status === 503 ? x : null; }, { timeout: 10_000, what: `${name} /ready -> 503` });
        const j = r.json();
        assert.equal(j.status, 'unavailable', `${name} /ready body: ${r}`);
        assert.ok(typeof j.reason === 'string' && j.reason.length > 0, `${name} /ready must give a reason: ${r}`);
        expectStatus(await get('/health'), 200, `${name} /health while PostgreSQL is down`);
      }
      // The 200 means "committed": while PostgreSQL is down the collector must answer an error
      // (e.g. 503 + Retry-After) or hold the request; it must never answer 200.
      let during = null;
      try {
        during = await stack.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(simpleTraceDoc({ n: 1 }).doc), timeout: 6_000 });
      } catch (e) {
        if (!/timeout/.test(e.message)) throw e;
        process.stderr.write(`note: export while PostgreSQL is down got no answer within 6 s (${e.message})\n`);
      }
      if (during) assert.ok(during.status >= 500 || during.status === 429, `an export while PostgreSQL is down must not claim success (the 200 means committed): ${during}`);
      assert.ok(stack.collector.running && stack.api.running, 'daemons must survive the outage');
    } finally {
      await execFileP('bash', [path.join(repoRoot, 'scripts/pg-local.sh'), 'start', pg.datadir, String(pg.port)]);
    }
    for (const [name, get] of [['collector', (p) => stack.collectorGet(p)], ['api', (p) => stack.apiGet(p)]]) {
      await waitFor(async () => (await get('/ready')).status === 200, { timeout: 15_000, what: `${name} /ready -> 200 after PostgreSQL is back` });
    }
    const afterDoc = simpleTraceDoc({ n: 2, service: 'after-outage' });
    assertExportOk(await stack.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(afterDoc.doc) }), 'json', 'export after PostgreSQL came back');
    await checkTraceViaApi(stack, flattenSpans(afterDoc.doc), afterDoc.traceId, 'after outage, new trace');
    await checkTraceViaApi(stack, flattenSpans(before.doc), before.traceId, 'after outage, old trace');
  })(t);
});
