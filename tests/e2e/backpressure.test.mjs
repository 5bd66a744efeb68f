// Backpressure while PostgreSQL is down: a full write queue is refused at once with
// 503 + Retry-After, a queued export is answered 503 once it has waited --ack-timeout,
// and what was queued is written when PostgreSQL is back, once, even after the client's retry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { Postgres, Stack, waitFor, repoRoot } from './harness.mjs';
import { randomHex } from './otlp.mjs';
import { assertExportOk } from './checks.mjs';

const execFileP = promisify(execFile);
let pg;
let stack;

before(async () => { pg = await Postgres.start('backpressure'); });
after(async () => {
  await stack?.stopAll();
  await pg?.stop();
});

// One trace of n spans whose attributes do not compress away, so that a few requests
// fill a 1 MiB queue.
function bulkyTrace(n) {
  const traceId = randomHex(16);
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const spans = Array.from({ length: n }, (_, i) => ({
    traceId, spanId: randomHex(8), name: `bulk-${i}`, kind: 1,
    startTimeUnixNano: String(t0 + BigInt(i)), endTimeUnixNano: String(t0 + BigInt(i) + 1000n),
    attributes: [{ key: 'noise', value: { stringValue: randomHex(256) } }],
  }));
  const doc = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bulk' } }] }, scopeSpans: [{ spans }] }] };
  return { traceId, n, body: JSON.stringify(doc) };
}

test('PostgreSQL down: queue full -> 503 at once, waiting -> 503 after --ack-timeout; nothing lost, nothing doubled', async (t) => {
  const url = await pg.createDatabase('backpressure');
  stack = await Stack.start({ suite: 'backpressure', dbUrl: url, collectorArgs: ['--queue-size', '1m', '--ack-timeout', '1s'] });
  await stack.wrap(async () => {
    const pgLocal = path.join(repoRoot, 'scripts/pg-local.sh');
    await execFileP('bash', [pgLocal, 'stop', pg.datadir]);
    const traces = Array.from({ length: 12 }, () => bulkyTrace(400));
    let answers;
    try {
      const t0 = Date.now();
      answers = await Promise.all(traces.map(async (tr) => {
        const res = await stack.post({ headers: { 'Content-Type': 'application/json' }, body: tr.body, timeout: 10_000 });
        return { res, ms: Date.now() - t0 };
      }));
    } finally {
      await execFileP('bash', [pgLocal, 'start', pg.datadir, String(pg.port)]);
    }
    for (const { res } of answers) {
      assert.equal(res.status, 503, `an export while PostgreSQL is down must be answered 503, got ${res}`);
      assert.match(String(res.headers['retry-after'] ?? ''), /^\d+$/, `503 must carry Retry-After: ${JSON.stringify(res.headers)}`);
      assert.equal(res.json().code, 14, `google.rpc.Status code UNAVAILABLE expected: ${res}`);
    }
    const full = answers.filter((a) => /queue is full/.test(a.res.json().message));
    const waited = answers.filter((a) => /slow or unavailable/.test(a.res.json().message));
    assert.ok(full.length >= 1, `with a 1 MiB queue some of 12 bulky exports must be refused as queue-full; messages: ${answers.map((a) => a.res.json().message)}`);
    assert.ok(waited.length >= 1, 'some exports must have been queued and answered after the ack timeout');
    assert.equal(full.length + waited.length, answers.length, 'every 503 says why');
    for (const a of full) assert.ok(a.ms < 900, `a queue-full refusal must come at once, took ${a.ms} ms`);
    for (const a of waited) assert.ok(a.ms >= 900 && a.ms < 5000, `an ack-timeout answer must come after ~1 s, took ${a.ms} ms`);

    // The queued exports reach PostgreSQL once it is back, without any client action.
    const queued = answers.map((a, i) => [a, traces[i]]).filter(([a]) => waited.includes(a)).map(([, tr]) => tr);
    for (const tr of queued) {
      await waitFor(async () => (await stack.apiGet(`/api/v3/traces/${tr.traceId}`)).status === 200, { timeout: 30_000, what: `queued trace ${tr.traceId} written after recovery` });
    }
    // Clients retry everything they were refused; each span is still stored once.
    for (const tr of traces) {
      assertExportOk(await stack.post({ headers: { 'Content-Type': 'application/json' }, body: tr.body }), 'json', `retry of ${tr.traceId}`);
    }
    for (const tr of traces) {
      const r = await stack.apiGet(`/api/v3/traces/${tr.traceId}`);
      assert.equal(r.status, 200, `trace ${tr.traceId} after retry: ${r}`);
      const n = r.json().result.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)).length;
      assert.equal(n, tr.n, `trace ${tr.traceId}: ${tr.n} spans sent (some twice), ${n} returned`);
    }
    // A retried request makes the same block, stored once: the blocks hold each span once,
    // and so do the trace parts that index them.
    const total = Number(await pg.psql('SELECT sum(span_count) FROM span_blocks', 'backpressure'));
    assert.equal(total, traces.length * 400, `spans stored in blocks: ${total}`);
    const perTrace = await pg.psql("SELECT encode(trace_id, 'hex') || ':' || sum(span_count) FROM trace_parts GROUP BY trace_id", 'backpressure');
    const counts = new Map(perTrace.split('\n').filter(Boolean).map((l) => l.split(':')));
    for (const tr of traces) assert.equal(counts.get(tr.traceId), String(tr.n), `trace ${tr.traceId}: parts count ${counts.get(tr.traceId)} spans`);
  })(t);
});
