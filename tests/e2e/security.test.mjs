// What a hostile or careless network can do: TLS on both listeners, bearer tokens, limits on
// what a client controls, and slow-loris connections that must not stop others being served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { Postgres, Stack, request, sleep } from './harness.mjs';
import { simpleTraceDoc } from './otlp.mjs';

const execFileP = promisify(execFile);
let pg;
const stacks = [];

before(async () => { pg = await Postgres.start('security'); });
after(async () => {
  for (const s of stacks) await s.stopAll();
  await pg?.stop();
});

function httpsRequest(port, ca, { method = 'GET', path: p = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path: p, headers, ca, timeout: 10_000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    if (body) req.write(body);
    req.end();
  });
}

test('TLS on both listeners: HTTPS works with the CA, plain HTTP does not', async (t) => {
  const dir = fs.mkdtempSync(path.join(pg.dir, 'tls-'));
  const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
  await execFileP('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  const tls = ['--tls-cert', cert, '--tls-key', key];
  const url = await pg.createDatabase('tls');
  // the harness polls /health over plain HTTP, so start the daemons by hand here
  const stack = new Stack({ suite: 'security/tls', dbUrl: url, collectorArgs: tls, apiArgs: tls, start: { collector: false, api: false } });
  stacks.push(stack);
  const ca = fs.readFileSync(cert);
  const { freePort, Daemon, COLLECTOR_BIN, API_BIN } = await import('./harness.mjs');
  const cport = await freePort(), aport = await freePort();
  const col = new Daemon('collector', COLLECTOR_BIN, ['--db', url, '--listen', `127.0.0.1:${cport}`, ...tls], { logDir: stack.logDir }).start();
  const api = new Daemon('api', API_BIN, ['--db', url, '--listen', `127.0.0.1:${aport}`, ...tls], { logDir: stack.logDir }).start();
  stack.daemons.push(col, api);
  for (let i = 0; ; i++) {
    try {
      if ((await httpsRequest(cport, ca, { path: '/health' })).status === 200 && (await httpsRequest(aport, ca, { path: '/health' })).status === 200) break;
    } catch (e) { if (i > 100) throw e; }
    await sleep(100);
  }
  const d = simpleTraceDoc({ n: 2, service: 'tls-svc' });
  const r = await httpsRequest(cport, ca, { method: 'POST', path: '/v1/traces', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(d.doc) });
  assert.equal(r.status, 200, `HTTPS export: ${r.text}`);
  const g = await httpsRequest(aport, ca, { path: `/api/v3/traces/${d.traceId}` });
  assert.equal(g.status, 200, `HTTPS read: ${g.text}`);
  assert.equal(JSON.parse(g.text).result.resourceSpans[0].scopeSpans[0].spans.length, 2);
  await assert.rejects(request(cport, { path: '/health', timeout: 3000 }), 'plain HTTP to the TLS listener must fail');
  await assert.rejects(httpsRequest(cport, undefined, { path: '/health' }), /self.signed|certificate/i, 'an untrusted certificate is refused by the client');
});

test('bearer tokens: exports and queries need their own token', async (t) => {
  const url = await pg.createDatabase('tokens');
  const stack = await Stack.start({ suite: 'security/tokens', dbUrl: url, collectorArgs: ['--ingest-token', 'in-tok'], apiArgs: ['--query-token', 'q-tok'] });
  stacks.push(stack);
  await stack.wrap(async () => {
    const d = simpleTraceDoc({ n: 1, service: 'tok' });
    const body = JSON.stringify(d.doc);
    const post = (h) => stack.post({ headers: { 'Content-Type': 'application/json', ...h }, body });
    assert.equal((await post({})).status, 401);
    assert.equal((await post({ Authorization: 'Bearer in-to' })).status, 401, 'a prefix of the token is not the token');
    assert.equal((await post({ Authorization: 'Bearer in-tokk' })).status, 401);
    assert.equal((await post({ Authorization: 'Bearer q-tok' })).status, 401, 'the query token does not open ingest');
    const ok = await post({ Authorization: 'Bearer in-tok' });
    assert.equal(ok.status, 200, `${ok}`);
    const get = (h) => stack.apiGet(`/api/traces/${d.traceId}`, { headers: h });
    const denied = await get({});
    assert.equal(denied.status, 401);
    assert.match(String(denied.headers['www-authenticate']), /Bearer/);
    assert.equal((await get({ Authorization: 'Bearer in-tok' })).status, 401, 'the ingest token does not open queries');
    assert.equal((await get({ Authorization: 'Bearer q-tok' })).status, 200);
    assert.equal((await stack.collectorGet('/health')).status, 200, 'probes stay open');
    assert.equal((await stack.apiGet('/ready')).status, 200, 'probes stay open');
  })(t);
});

test('limits on items per request, attributes per list and value length: 413 with a message', async (t) => {
  const url = await pg.createDatabase('limits');
  const stack = await Stack.start({ suite: 'security/limits', dbUrl: url,
    collectorArgs: ['--max-items', '50', '--max-attributes', '8', '--max-attribute-length', '1k'] });
  stacks.push(stack);
  await stack.wrap(async () => {
    const doc = (nSpans, nAttrs, vlen) => {
      const d = simpleTraceDoc({ n: nSpans, service: 'limits' });
      for (const s of d.doc.resourceSpans[0].scopeSpans[0].spans)
        s.attributes = Array.from({ length: nAttrs }, (_, i) => ({ key: `k${i}`, value: { stringValue: 'v'.repeat(vlen) } }));
      return JSON.stringify(d.doc);
    };
    const post = (b) => stack.post({ headers: { 'Content-Type': 'application/json' }, body: b });
    assert.equal((await post(doc(50, 8, 1024))).status, 200, 'at the limits is fine');
    for (const [what, b, re] of [['items', doc(51, 1, 1), /51 items/], ['attributes', doc(1, 9, 1), /9 entries/], ['length', doc(1, 1, 1025), /longer than/]]) {
      const r = await post(b);
      assert.equal(r.status, 413, `${what}: ${r}`);
      assert.match(r.json().message, re, `${what}: ${r}`);
    }
    const m = (await stack.collectorGet('/metrics')).text;
    assert.match(m, /otelpg_rejected_requests_total\{reason="too_large"\} 3/);
  })(t);
});

test('slow-loris connections do not stop the collector from serving others, and are closed', async (t) => {
  const url = await pg.createDatabase('slowloris');
  const stack = await Stack.start({ suite: 'security/slowloris', dbUrl: url, collectorArgs: ['--connection-timeout', '2s'] });
  stacks.push(stack);
  await stack.wrap(async () => {
    const socks = [];
    const closed = [];
    for (let i = 0; i < 50; i++) {
      const s = net.connect(stack.collector.port, '127.0.0.1');
      s.on('error', () => {});
      const done = new Promise((res) => s.on('close', res));
      closed.push(done);
      s.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\n');
      socks.push(s);
    }
    // trickle one header byte now and then, slower than the idle timeout
    const trickle = setInterval(() => { for (const s of socks) if (!s.destroyed) s.write('X'); }, 2500);
    try {
      const t0 = Date.now();
      for (let i = 0; i < 5; i++) {
        const d = simpleTraceDoc({ n: 2, service: 'loris' });
        const r = await stack.post({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(d.doc) });
        assert.equal(r.status, 200, `an export while 50 slow connections are open: ${r}`);
      }
      assert.ok(Date.now() - t0 < 3000, `the exports took ${Date.now() - t0} ms`);
      const all = Promise.all(closed);
      const res = await Promise.race([all.then(() => 'closed'), sleep(10_000).then(() => 'open')]);
      assert.equal(res, 'closed', 'connections idle past --connection-timeout are closed');
    } finally {
      clearInterval(trickle);
      for (const s of socks) s.destroy();
    }
  })(t);
});
