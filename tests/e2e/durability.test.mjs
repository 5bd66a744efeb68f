// Durability with the on-disk spool, under load: the collector is killed with SIGKILL at
// random moments (several rounds), PostgreSQL is stopped and restarted, and the collector is
// killed once more while PostgreSQL is down. Then every span the load generator saw
// acknowledged must be stored, exactly once: zero missing, zero duplicated.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { Postgres, Stack, sleep, waitFor, repoRoot, request } from './harness.mjs';
import { randomHex } from './otlp.mjs';

const execFileP = promisify(execFile);
const pgLocal = path.join(repoRoot, 'scripts/pg-local.sh');
let pg;
let stack;
let spoolDir;

before(async () => {
  pg = await Postgres.start('durability');
  spoolDir = path.join(pg.dir, 'spool');
});
after(async () => {
  await stack?.stopAll();
  await pg?.stop();
});

function traceDoc(nSpans) {
  const traceId = randomHex(16);
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const spanIds = Array.from({ length: nSpans }, () => randomHex(8));
  const spans = spanIds.map((id, i) => ({
    traceId, spanId: id, parentSpanId: i ? spanIds[0] : undefined, name: `op-${i % 3}`, kind: i ? 3 : 2,
    startTimeUnixNano: String(t0 + BigInt(i) * 1000n), endTimeUnixNano: String(t0 + BigInt(i) * 1000n + 500_000n),
    attributes: [{ key: 'correlation.id', value: { stringValue: `dur-${traceId.slice(0, 8)}` } }],
  }));
  return {
    traceId, spanIds,
    body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'durability' } }] }, scopeSpans: [{ spans }] }] }),
  };
}

// A load loop: posts traces one after another to whichever collector is current, and
// records the spans of every 200. Errors and refused connections are simply not acknowledged.
async function loadLoop(state, acked) {
  while (!state.stop) {
    const d = traceDoc(20);
    const port = stack.collector?.port;
    try {
      const r = await request(port, { method: 'POST', path: '/v1/traces', headers: { 'Content-Type': 'application/json' }, body: d.body, timeout: 5000 });
      if (r.status === 200) {
        for (const s of d.spanIds) acked.add(`${d.traceId}:${s}`);
        state.ok++;
      } else {
        state.refused++;
      }
    } catch {
      state.failed++;
      await sleep(20);
    }
  }
}

async function killCollector() {
  stack.collector.proc.kill('SIGKILL');
  await stack.collector.exited;
}

async function restartCollector() {
  stack.collector = await stack.startCollector();
}

test('SIGKILL rounds and a PostgreSQL restart under load: every acknowledged span stored exactly once', async (t) => {
  const url = await pg.createDatabase('durability');
  stack = await Stack.start({ suite: 'durability', dbUrl: url, collectorArgs: ['--spool-dir', spoolDir], start: { collector: true, api: false } });
  await stack.wrap(async () => {
    const acked = new Set();
    const state = { stop: false, ok: 0, refused: 0, failed: 0 };
    const loops = Array.from({ length: 4 }, () => loadLoop(state, acked));
    try {
      for (let round = 0; round < 3; round++) {
        await sleep(300 + Math.floor(Math.random() * 900));
        await killCollector();
        await restartCollector();
      }
      // PostgreSQL goes away under load; the spool keeps acknowledging.
      await execFileP('bash', [pgLocal, 'stop', pg.datadir]);
      const okBefore = state.ok;
      await sleep(1500);
      assert.ok(state.ok > okBefore, `the collector must keep acknowledging (into the spool) while PostgreSQL is down: ${JSON.stringify(state)}`);
      // ...and the collector dies while PostgreSQL is down, with data only in its spool.
      await killCollector();
      await execFileP('bash', [pgLocal, 'start', pg.datadir, String(pg.port)]);
      await restartCollector();
      await sleep(1000);
    } finally {
      state.stop = true;
      await Promise.all(loops);
    }
    assert.ok(acked.size > 1000, `load too small to mean anything: ${JSON.stringify(state)}`);

    // Wait until the spool has handed everything to PostgreSQL.
    await waitFor(async () => {
      const r = await request(stack.collector.port, { path: '/ready' });
      return r.status === 200 && /all in PostgreSQL/.test(r.text);
    }, { timeout: 60_000, interval: 200, what: 'spool caught up' });

    // Each request is one trace of 20 spans, stored as one block: an acknowledged trace must
    // have exactly 20 spans in its parts (fewer: lost; more: stored twice).
    const { stdout } = await execFileP('psql', ['-X', '-q', '-At', pg.urlFor('durability'), '-c',
      `SELECT encode(trace_id, 'hex') || ':' || sum(span_count) FROM trace_parts GROUP BY trace_id`], { maxBuffer: 512 << 20 });
    const stored = new Map(stdout.split('\n').filter(Boolean).map((l) => l.split(':')));
    const ackedTraces = new Set([...acked].map((k) => k.split(':')[0]));
    const missing = [...ackedTraces].filter((id) => !stored.has(id));
    assert.equal(missing.length, 0, `${missing.length} of ${ackedTraces.size} acknowledged traces are missing, e.g. ${missing.slice(0, 3)}; load ${JSON.stringify(state)}`);
    const wrong = [...stored].filter(([, n]) => n !== '20');
    assert.equal(wrong.length, 0, `traces stored with other than their 20 spans (duplicated or cut): ${wrong.slice(0, 3)}`);
    const rows = [...stored.values()].reduce((a, n) => a + Number(n), 0);
    const inBlocks = Number(await pg.psql(`SELECT sum(span_count) FROM span_blocks`, 'durability'));
    assert.equal(inBlocks, rows, 'the blocks hold each stored span once, as their parts say');
    const spoolFiles = fs.readdirSync(spoolDir).filter((f) => f.endsWith('.seg'));
    assert.ok(spoolFiles.length <= 1, `committed segments are deleted, left: ${spoolFiles}`);
    t.diagnostic(`acknowledged ${acked.size} spans (${state.ok} requests; ${state.refused} refused, ${state.failed} failed while down); stored ${rows.length}`);
  })(t);
});

test('a torn record at the end of a spool segment is counted and skipped; what was acknowledged is stored', async (t) => {
  const url = await pg.createDatabase('torn');
  const dir = path.join(pg.dir, 'spool-torn');
  const s = await Stack.start({ suite: 'durability/torn', dbUrl: url, collectorArgs: ['--spool-dir', dir], start: { collector: true, api: false } });
  const prev = stack;
  stack = s;
  try {
    await s.wrap(async () => {
      await execFileP('bash', [pgLocal, 'stop', pg.datadir]);
      const docs = [traceDoc(10), traceDoc(10), traceDoc(10)];
      try {
        for (const d of docs) {
          const r = await request(s.collector.port, { method: 'POST', path: '/v1/traces', headers: { 'Content-Type': 'application/json' }, body: d.body });
          assert.equal(r.status, 200, `spooled while PostgreSQL is down: ${r}`);
        }
        await killCollector();
        // a crash in the middle of the next write: a header that promises more than follows
        const seg = fs.readdirSync(dir).filter((f) => f.endsWith('.seg')).sort().pop();
        const torn = Buffer.concat([Buffer.from('OPGS'), Buffer.from([0x88, 0x13, 0, 0]), Buffer.alloc(4), Buffer.alloc(100, 0x78)]);
        fs.appendFileSync(path.join(dir, seg), torn);
      } finally {
        await execFileP('bash', [pgLocal, 'start', pg.datadir, String(pg.port)]);
      }
      await restartCollector();
      await waitFor(async () => {
        const r = await request(s.collector.port, { path: '/ready' });
        return r.status === 200 && /all in PostgreSQL/.test(r.text);
      }, { timeout: 30_000, interval: 200, what: 'spool caught up after the torn segment' });
      const n = Number(await pg.psql(`SELECT sum(span_count) FROM span_blocks`, 'torn'));
      assert.equal(n, 30, 'the three acknowledged requests are stored');
      const m = (await request(s.collector.port, { path: '/metrics' })).text;
      assert.match(m, /^otelpg_spool_torn_records_total 1$/m, 'the torn record is counted');
      assert.ok(s.collector.running, 'the replay did not crash');
    })(t);
  } finally {
    stack = prev;
    await s.stopAll();
  }
});

test('retention drops whole day partitions older than --retention', async (t) => {
  const url = await pg.createDatabase('retention');
  const s = await Stack.start({ suite: 'durability/retention', dbUrl: url, collectorArgs: ['--accept-past', '60d', '--retention', '60d'], start: { collector: true, api: false } });
  try {
    await s.wrap(async () => {
      const tenDaysAgo = BigInt(Date.now() - 10 * 86400_000) * 1_000_000n;
      const doc = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: randomHex(16), spanId: randomHex(8), name: 'old', startTimeUnixNano: String(tenDaysAgo), endTimeUnixNano: String(tenDaysAgo + 1000n) }] }] }] };
      const r = await request(s.collector.port, { method: 'POST', path: '/v1/traces', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(doc) });
      assert.equal(r.status, 200, `${r}`);
      const day = new Date(Date.now() - 10 * 86400_000).toISOString().slice(0, 10).replaceAll('-', '');
      assert.equal(await pg.psql(`SELECT count(*) FROM pg_class WHERE relname = 'spans_${day}'`, 'retention'), '1', 'the old day got its partition');
      // a collector with the default 7-day retention drops it at its first maintenance pass
      await s.stopDaemons();
      s.collectorArgs = ['--maintenance-interval', '1s'];
      s.collector = await s.startCollector();
      await waitFor(async () => (await pg.psql(`SELECT count(*) FROM pg_class WHERE relname = 'spans_${day}'`, 'retention')) === '0',
        { timeout: 15_000, what: 'the 10-day-old partition dropped' });
      // the pass counts what it dropped once the database answered: a moment after the drop
      let m = '';
      await waitFor(async () => /^otelpg_retention_dropped_partitions_total [1-9]/m.test(
        m = (await request(s.collector.port, { path: '/metrics' })).text),
        { timeout: 15_000, what: 'the drop counted in /metrics' });
      assert.match(m, /^otelpg_retention_dropped_partitions_total [1-9]/m);
      assert.match(m, /^otelpg_database_bytes [1-9]/m, 'the database size is reported');
    })(t);
  } finally {
    await s.stopAll();
  }
});
