// E2E harness: a private PostgreSQL (scripts/pg-local.sh), the real otelpg daemons on free
// ports, raw HTTP helpers (node:http, full control of headers / chunking) and log capture.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const execFileP = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

export const repoRoot = path.resolve(here, '../..');
export const samplesDir = process.env.OTELPG_SAMPLES_DIR || path.resolve(repoRoot, '../shared/otlp-samples');
export const binDir = process.env.OTELPG_BIN_DIR ? path.resolve(process.env.OTELPG_BIN_DIR) : path.join(repoRoot, 'build/bin');
export const artifactsDir = path.join(here, 'artifacts');
export const COLLECTOR_BIN = path.join(binDir, 'otelpg-collector');
export const API_BIN = path.join(binDir, 'otelpg-api');
const PG_LOCAL = path.join(repoRoot, 'scripts/pg-local.sh');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const gzip = (buf) => zlib.gzipSync(buf);
export const gunzip = (buf) => zlib.gunzipSync(buf);

export function sample(rel) {
  return fs.readFileSync(path.join(samplesDir, rel));
}

// ---------------------------------------------------------------- ports

const handedOut = new Set();
export async function freePort() {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address();
        srv.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) { handedOut.add(port); return port; }
  }
  throw new Error('could not find a free port');
}

// ---------------------------------------------------------------- PostgreSQL

export class Postgres {
  constructor(dir, datadir, port, url) {
    Object.assign(this, { dir, datadir, port, url });
  }

  // Start a fresh private cluster in a new temp dir (always under os.tmpdir(), which the
  // unprivileged postgres user can traverse even when the repo lives under /root).
  static async start(label = 'pg') {
    const base = await fsp.mkdtemp(path.join(os.tmpdir(), `otelpg-e2e-${label}-`));
    await fsp.chmod(base, 0o755);
    const datadir = path.join(base, 'pg');
    let lastErr;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      try {
        const { stdout } = await execFileP('bash', [PG_LOCAL, 'start', datadir, String(port)], { timeout: 120_000 });
        const url = stdout.trim().split('\n').pop();
        if (!/^postgresql:\/\//.test(url)) throw new Error(`pg-local.sh start printed no URL: ${stdout}`);
        return new Postgres(base, datadir, port, url);
      } catch (e) {
        lastErr = e;
        await execFileP('bash', [PG_LOCAL, 'stop', datadir]).catch(() => {});
      }
    }
    throw new Error(`could not start PostgreSQL: ${lastErr?.stderr || lastErr}`);
  }

  urlFor(db) { return `postgresql://postgres@127.0.0.1:${this.port}/${db}`; }

  async psql(sql, db = 'otelpg') {
    const { stdout } = await execFileP('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', this.urlFor(db), '-c', sql]);
    return stdout.trim();
  }

  // A fresh, empty database in the same cluster; returns its URL.
  async createDatabase(name) {
    await this.psql(`CREATE DATABASE "${name}"`, 'postgres');
    return this.urlFor(name);
  }

  async stop({ keep = false } = {}) {
    await execFileP('bash', [PG_LOCAL, 'stop', this.datadir], { timeout: 120_000 }).catch((e) => {
      process.stderr.write(`pg-local.sh stop failed: ${e.stderr || e}\n`);
    });
    if (!keep && !process.env.OTELPG_E2E_KEEP) await fsp.rm(this.dir, { recursive: true, force: true }).catch(() => {});
  }
}

// ---------------------------------------------------------------- HTTP

// Raw request with exact control: body is sent with Content-Length unless chunked:true
// (then Transfer-Encoding: chunked, body written in `chunkSize` pieces).
export function request(port, { method = 'GET', path: p = '/', headers = {}, body, chunked = false, chunkSize = 1000, timeout = 30_000, host = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    const buf = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    if (buf !== undefined) {
      if (chunked) h['Transfer-Encoding'] = 'chunked';
      else if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-length')) h['Content-Length'] = String(buf.length);
    }
    const req = http.request({ host, port, method, path: p, headers: h, agent: false, timeout, setHost: true });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeout} ms: ${method} ${p}`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        resolve(new Response(res.statusCode, res.headers, b, `${method} ${p}`));
      });
    });
    if (buf !== undefined) {
      if (chunked) {
        for (let i = 0; i < buf.length; i += chunkSize) req.write(buf.subarray(i, i + chunkSize));
        req.end();
      } else req.end(buf);
    } else req.end();
  });
}

export class Response {
  constructor(status, headers, body, what) {
    Object.assign(this, { status, headers, body, what });
  }
  get text() { return this.body.toString('utf8'); }
  get contentType() { return (this.headers['content-type'] || '').toLowerCase(); }
  json() {
    try { return JSON.parse(this.text); } catch (e) {
      throw new Error(`${this.what}: response is not JSON (status ${this.status}, content-type ${this.headers['content-type']}): ${this.describeBody()}`);
    }
  }
  describeBody(max = 2000) {
    if (this.body.length === 0) return '<empty body>';
    const printable = /^[\x09\x0a\x0d\x20-\x7e\u00a0-\uffff]*$/.test(this.text);
    const s = printable ? this.text : `hex:${this.body.toString('hex')}`;
    return s.length > max ? `${s.slice(0, max)}... (${this.body.length} bytes)` : s;
  }
  toString() { return `${this.what} -> ${this.status} [${this.headers['content-type'] || 'no content-type'}] ${this.describeBody()}`; }
}

export async function waitFor(fn, { timeout = 15_000, interval = 50, what = 'condition' } = {}) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < timeout) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    await sleep(interval);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

// ---------------------------------------------------------------- daemons

let logSeq = 0;
function safeName(s) { return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80); }
const cleanedLogDirs = new Set();

// Fresh logs for each run of a test file: clear artifacts/<first dir> once per process.
// Only ever inside artifactsDir; log dirs elsewhere are left alone.
function prepareLogDir(logDir) {
  const rel = path.relative(artifactsDir, path.resolve(logDir));
  const first = rel.split(path.sep)[0];
  if (rel && !rel.startsWith('..') && !path.isAbsolute(rel) && first && first !== '..' && first !== '.') {
    const top = path.join(artifactsDir, first);
    if (!cleanedLogDirs.has(top)) {
      cleanedLogDirs.add(top);
      fs.rmSync(top, { recursive: true, force: true });
    }
  }
  fs.mkdirSync(logDir, { recursive: true });
}

// The daemons get a hermetic environment: no OTELPG_* variables leak in from the caller's
// shell (they would silently change defaults); OTELPG_E2E_LOG_LEVEL=debug turns on debug logs.
function daemonEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTELPG_')) env[k] = v;
  if (process.env.OTELPG_E2E_LOG_LEVEL) env.OTELPG_LOG_LEVEL = process.env.OTELPG_E2E_LOG_LEVEL;
  return { ...env, ...extra };
}

export class Daemon {
  constructor(name, bin, args, { env = {}, logDir = path.join(artifactsDir, 'misc') } = {}) {
    this.name = name;
    this.bin = bin;
    this.args = args;
    this.env = env;
    prepareLogDir(logDir);
    this.logFile = path.join(logDir, `${String(++logSeq).padStart(2, '0')}-${safeName(name)}.log`);
    this.output = '';
    this.exit = null;
  }

  start() {
    if (!fs.existsSync(this.bin)) throw new Error(`${this.bin} does not exist: build the daemons first (cmake -S . -B build && cmake --build build -j2) or set OTELPG_BIN_DIR`);
    const header = `### ${new Date().toISOString()} ${this.bin} ${this.args.join(' ')}\n`;
    fs.appendFileSync(this.logFile, header);
    this.output += header;
    // The collector's OTLP/gRPC listener defaults to the fixed port 4317: off unless a test
    // asks for it, so that daemons running side by side do not collide.
    const env = this.bin === COLLECTOR_BIN ? { OTELPG_COLLECTOR_LISTEN_GRPC: '', ...this.env } : this.env;
    this.proc = spawn(this.bin, this.args, { env: daemonEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.proc.pid;
    const onData = (stream) => (d) => {
      const s = d.toString();
      this.output += s;
      if (this.output.length > 4_000_000) this.output = this.output.slice(-2_000_000);
      fs.appendFileSync(this.logFile, stream === 'stdout' ? s.replace(/^/gm, '[stdout] ') : s);
    };
    this.proc.stdout.on('data', onData('stdout'));
    this.proc.stderr.on('data', onData('stderr'));
    this.exited = new Promise((resolve) => {
      this.proc.on('error', (e) => { this.exit = { code: null, signal: null, error: e }; resolve(this.exit); });
      this.proc.on('exit', (code, signal) => {
        this.exit = { code, signal, at: Date.now() };
        const line = `### exited code=${code} signal=${signal}\n`;
        fs.appendFileSync(this.logFile, line);
        this.output += line;
        resolve(this.exit);
      });
    });
    return this;
  }

  get running() { return this.proc && this.exit === null; }

  mark(text) {
    const line = `\n===== ${text} =====\n`;
    try { fs.appendFileSync(this.logFile, line); } catch { /* ignore */ }
    this.output += line;
    return this.output.length;
  }

  since(offset) { return this.output.slice(offset); }

  // SIGTERM, then SIGKILL after graceMs. Returns { code, signal, ms, killed }.
  async stop(graceMs = 5000) {
    if (!this.proc) return null;
    if (this.exit) return { ...this.exit, ms: 0, killed: false };
    const t0 = Date.now();
    this.proc.kill('SIGTERM');
    let killed = false;
    const timer = setTimeout(() => { killed = true; this.proc.kill('SIGKILL'); }, graceMs);
    const ex = await this.exited;
    clearTimeout(timer);
    return { ...ex, ms: Date.now() - t0, killed };
  }

  // Peak resident set size (VmHWM) and current RSS in kB, from /proc.
  memory() {
    try {
      const s = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const get = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) || [])[1]);
      return { hwmKb: get('VmHWM'), rssKb: get('VmRSS') };
    } catch { return null; }
  }
}

// Run a binary to completion (for --help / bad flags). Returns { code, signal, stdout, stderr }.
export function runOnce(bin, args, { timeout = 10_000, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    if (!fs.existsSync(bin)) return reject(new Error(`${bin} does not exist (build first or set OTELPG_BIN_DIR)`));
    const p = spawn(bin, args, { env: daemonEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeout);
    p.on('error', reject);
    p.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

async function waitHealthy(daemon, port) {
  const t0 = Date.now();
  let last = 'no answer';
  while (Date.now() - t0 < 20_000) {
    if (daemon.exit) {
      throw new Error(`${daemon.name} exited during startup (code=${daemon.exit.code} signal=${daemon.exit.signal}${daemon.exit.error ? ` ${daemon.exit.error.message}` : ''}); output:\n${daemon.output.slice(-4000)}`);
    }
    try {
      const r = await request(port, { path: '/health', timeout: 2000 });
      if (r.status === 200) return;
      last = r.toString();
    } catch (e) { last = e.message; }
    await sleep(50);
  }
  throw new Error(`${daemon.name} not healthy after 20 s (last: ${last}); output:\n${daemon.output.slice(-4000)}`);
}

// ---------------------------------------------------------------- the stack

// Collector + API on one database. `suite` names the artifacts subdirectory ("a/b" nests).
export class Stack {
  constructor({ suite, dbUrl, collectorArgs = [], apiArgs = [], env = {}, start = { collector: true, api: true } }) {
    this.suite = suite;
    this.dbUrl = dbUrl;
    this.collectorArgs = collectorArgs;
    this.apiArgs = apiArgs;
    this.env = env;
    this.want = start;
    this.logDir = path.join(artifactsDir, ...suite.split('/').map(safeName));
    this.daemons = [];
  }

  static async start(opts) {
    const s = new Stack(opts);
    await s.startDaemons();
    return s;
  }

  // Start a daemon on a free port; if another process grabbed the port between our probe
  // and the daemon's bind (parallel ctest runs), try again on a new port.
  async startDaemon(name, bin, extraArgs) {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      // every stack's collector also serves OTLP/gRPC, on a port of its own (d.grpcPort)
      const grpcPort = bin === COLLECTOR_BIN ? await freePort() : 0;
      const grpcArgs = grpcPort ? ['--listen-grpc', `127.0.0.1:${grpcPort}`] : [];
      const d = new Daemon(name, bin, ['--db', this.dbUrl, '--listen', `127.0.0.1:${port}`, ...grpcArgs, ...extraArgs], { env: this.env, logDir: this.logDir });
      d.port = port;
      d.grpcPort = grpcPort;
      d.start();
      this.daemons.push(d);
      try {
        await waitHealthy(d, port);
        return d;
      } catch (e) {
        if (attempt < 3 && d.exit && /address already in use|EADDRINUSE/i.test(d.output)) continue;
        throw e;
      }
    }
  }

  startCollector(extraArgs = this.collectorArgs, name = 'collector') { return this.startDaemon(name, COLLECTOR_BIN, extraArgs); }

  startApi(extraArgs = this.apiArgs, name = 'api') { return this.startDaemon(name, API_BIN, extraArgs); }

  // Collector first (it applies the migrations), then the API.
  async startDaemons() {
    if (this.want.collector !== false) this.collector = await this.startCollector();
    if (this.want.api !== false) this.api = await this.startApi();
  }

  // Stop both daemons (SIGTERM, SIGKILL after 5 s). Returns the exit info of each.
  async stopDaemons() {
    const res = {};
    for (const [k, d] of [['collector', this.collector], ['api', this.api]]) if (d) res[k] = await d.stop();
    return res;
  }

  async restartDaemons() {
    const res = await this.stopDaemons();
    await this.startDaemons();
    return res;
  }

  async stopAll() {
    await Promise.all(this.daemons.map((d) => d.stop().catch(() => {})));
  }

  // ---- convenience wrappers
  post(opts) { return request(this.collector.port, { method: 'POST', path: '/v1/traces', ...opts }); }
  collectorGet(p, opts = {}) { return request(this.collector.port, { path: p, ...opts }); }
  apiGet(p, opts = {}) { return request(this.api.port, { path: p, ...opts }); }
  get collectorUrl() { return `http://127.0.0.1:${this.collector.port}`; }
  get apiUrl() { return `http://127.0.0.1:${this.api.port}`; }

  // Mark each daemon log at test start; on failure print the daemon output of this test.
  wrap(fn) {
    return async (t) => {
      const marks = this.daemons.filter((d) => d.running).map((d) => [d, d.mark(`test: ${t.name}`)]);
      const fresh = this.daemons.length;
      try {
        return await fn(t);
      } catch (err) {
        const parts = [];
        for (const [d, off] of marks) parts.push(`--- ${d.name} (pid ${d.pid}, ${d.logFile}) output during this test:\n${d.since(off).slice(-6000) || '<nothing>'}`);
        for (const d of this.daemons.slice(fresh)) parts.push(`--- ${d.name} (pid ${d.pid}, started in this test, ${d.logFile}):\n${d.output.slice(-6000)}`);
        process.stderr.write(`\n##### FAILED: ${t.name}\n${parts.join('\n')}\n#####\n`);
        throw err;
      }
    };
  }
}

// ---------------------------------------------------------------- assertions helpers

export function expectStatus(res, status, hint = '') {
  if (res.status !== status) {
    const err = new Error(`${hint ? `${hint}: ` : ''}expected HTTP ${status}, got ${res}`);
    err.response = res;
    throw err;
  }
  return res;
}

// Parse the Prometheus text exposition into [{name, labels: {..}, value}].
export function parseProm(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const lm of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    out.push({ name: m[1], labels, value: Number(m[4]), line });
  }
  return out;
}
