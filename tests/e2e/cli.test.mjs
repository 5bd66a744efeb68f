// Command line and environment of both binaries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import net from 'node:net';
import { COLLECTOR_BIN, API_BIN, Postgres, Daemon, runOnce, freePort, request, waitFor, expectStatus, artifactsDir } from './harness.mjs';
import { simpleTraceDoc } from './otlp.mjs';

const logDir = path.join(artifactsDir, 'cli');
let pg;
const daemons = [];
before(async () => { pg = await Postgres.start('cli'); });
after(async () => {
  for (const d of daemons) await d.stop().catch(() => {});
  await pg?.stop();
});

const bins = [
  { name: 'otelpg-collector', bin: COLLECTOR_BIN, listenEnv: 'OTELPG_COLLECTOR_LISTEN', extra: ['--max-body-size', 'OTELPG_MAX_BODY_SIZE'] },
  { name: 'otelpg-api', bin: API_BIN, listenEnv: 'OTELPG_API_LISTEN', extra: [] },
];

for (const b of bins) {
  test(`${b.name} --help exits 0 and documents its flags and environment variables`, async () => {
    const r = await runOnce(b.bin, ['--help']);
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 0, `${b.name} --help exit code (signal ${r.signal}); output:\n${out}`);
    for (const word of ['--db', '--listen', 'OTELPG_DB', b.listenEnv, ...b.extra]) {
      assert.ok(out.includes(word), `${b.name} --help must mention ${word}; output:\n${out}`);
    }
  });

  test(`${b.name} with an unknown flag exits 2`, async () => {
    const r = await runOnce(b.bin, ['--no-such-flag'], { env: { OTELPG_DB: pg.url } });
    assert.equal(r.code, 2, `${b.name} --no-such-flag exit code (signal ${r.signal}); output:\n${r.stdout}${r.stderr}`);
    assert.ok((r.stdout + r.stderr).length > 0, `${b.name} must say what is wrong`);
  });

  test(`${b.name} is configured by OTELPG_DB and ${b.listenEnv} alone`, async () => {
    const port = await freePort();
    const d = new Daemon(`${b.name}-env`, b.bin, [], { env: { OTELPG_DB: pg.url, [b.listenEnv]: `127.0.0.1:${port}` }, logDir });
    daemons.push(d);
    d.start();
    await waitFor(async () => {
      if (d.exit) throw new Error(`exited: ${JSON.stringify(d.exit)}\n${d.output}`);
      return (await request(port, { path: '/ready', timeout: 1000 })).status === 200;
    }, { timeout: 15_000, what: `${b.name} /ready on ${b.listenEnv} port ${port}` }).catch((e) => { throw new Error(`${e.message}\n${d.output.slice(-3000)}`); });
    const ex = await d.stop();
    assert.equal(ex.code, 0, `${b.name} exit after SIGTERM: ${JSON.stringify(ex)}\n${d.output.slice(-2000)}`);
  });

  test(`${b.name} fails (non-zero exit, no hang) when its port is already taken`, async () => {
    const port = await freePort();
    const blocker = net.createServer();
    await new Promise((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      const r = await runOnce(b.bin, ['--db', pg.url, '--listen', `127.0.0.1:${port}`], { timeout: 10_000 });
      assert.equal(r.signal, null, `${b.name} ended by signal ${r.signal} (SIGKILL = still running after 10 s with its port taken, and killed by the test); output:\n${r.stdout}${r.stderr}`);
      assert.notEqual(r.code, 0, `${b.name} must exit non-zero when it cannot listen; output:\n${r.stdout}${r.stderr}`);
    } finally {
      blocker.close();
    }
  });
}

test('otelpg-collector honours OTELPG_MAX_BODY_SIZE (64k)', async () => {
  const port = await freePort();
  const d = new Daemon('collector-env-max-body', COLLECTOR_BIN, ['--db', pg.url, '--listen', `127.0.0.1:${port}`], { env: { OTELPG_MAX_BODY_SIZE: '64k' }, logDir });
  daemons.push(d);
  d.start();
  await waitFor(async () => {
    if (d.exit) throw new Error(`exited: ${JSON.stringify(d.exit)}\n${d.output}`);
    return (await request(port, { path: '/health', timeout: 1000 })).status === 200;
  }, { timeout: 15_000, what: 'collector /health' });
  const big = Buffer.from(JSON.stringify(simpleTraceDoc({ n: 1, padAttr: 70 * 1024 }).doc));
  expectStatus(await request(port, { method: 'POST', path: '/v1/traces', headers: { 'Content-Type': 'application/json' }, body: big }), 413, `${big.length}-byte body with OTELPG_MAX_BODY_SIZE=64k`);
  const small = Buffer.from(JSON.stringify(simpleTraceDoc({ n: 1, padAttr: 40 * 1024 }).doc));
  expectStatus(await request(port, { method: 'POST', path: '/v1/traces', headers: { 'Content-Type': 'application/json' }, body: small }), 200, `${small.length}-byte body with OTELPG_MAX_BODY_SIZE=64k`);
  await d.stop();
});

test('otelpg-collector rejects a nonsensical --max-body-size', async () => {
  const r = await runOnce(COLLECTOR_BIN, ['--db', pg.url, '--listen', `127.0.0.1:${await freePort()}`, '--max-body-size', 'lots'], { timeout: 10_000 });
  assert.equal(r.signal, null, `collector ended by signal ${r.signal} with --max-body-size lots (SIGKILL = kept running 10 s); output:\n${r.stdout}${r.stderr}`);
  assert.notEqual(r.code, 0, `collector must refuse --max-body-size lots; output:\n${r.stdout}${r.stderr}`);
});
