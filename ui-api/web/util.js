// Small helpers shared by the page's views. Everything the page shows comes from
// telemetry, which anyone able to send OTLP controls: text is only ever set with
// textContent (el() below), never parsed as HTML.

// el('div.a.b#id', {title: 'x', onclick: f}, child, 'text', ...) -> HTMLElement.
export function el(tag, props, ...children) {
  const hash = tag.indexOf('#');
  const id = hash < 0 ? '' : tag.slice(hash + 1);
  const [name, ...classes] = (hash < 0 ? tag : tag.slice(0, hash)).split('.');
  const e = document.createElement(name || 'div');
  if (classes.length) e.className = classes.join(' ');
  if (id) e.id = id;
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'text') e.textContent = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k in e && typeof v !== 'string') e[k] = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(e, children);
  return e;
}

function append(parent, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  append(e, children);
  return e;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

// ------------------------------------------------------------------ API

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// GET a JSON endpoint of this origin. Throws ApiError with the server's message.
// The API's bearer token (otelpg-api --query-token), asked for once when the
// API answers 401, and kept for this browser tab only.
const TOKEN_KEY = 'otelpg.queryToken';

export async function getJson(path, { signal } = {}) {
  let res;
  for (let attempt = 0; ; attempt++) {
    const used = sessionStorage.getItem(TOKEN_KEY);
    try {
      res = await fetch(path, { signal, headers: { Accept: 'application/json', ...(used ? { Authorization: `Bearer ${used}` } : {}) }, credentials: 'same-origin' });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, `cannot reach otelpg-api: ${e.message}`);
    }
    if (res.status !== 401 || attempt > 1) break;
    // Several requests may be refused at once: only the first asks; the others
    // find the new token and retry with it.
    if (sessionStorage.getItem(TOKEN_KEY) !== used) continue;
    const token = window.prompt('This otelpg-api needs its query token (--query-token):');
    if (!token) break;
    sessionStorage.setItem(TOKEN_KEY, token.trim());
  }
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) {
    const msg = body?.error?.message || body?.errors?.[0]?.msg || text.slice(0, 300) || res.statusText;
    throw new ApiError(res.status, `${path.split('?')[0]}: HTTP ${res.status}: ${msg}`);
  }
  if (body === null) throw new ApiError(res.status, `${path.split('?')[0]}: the answer is not JSON`);
  return body;
}

// ------------------------------------------------------------------ formatting

// A duration in nanoseconds, as a short human text: 812ns, 12.3µs, 4.56ms, 1.23s, 2m 3s.
export function fmtDuration(ns) {
  if (!Number.isFinite(ns)) return '?';
  const a = Math.abs(ns);
  if (a < 1e3) return `${Math.round(ns)}ns`;
  if (a < 1e6) return `${trim(ns / 1e3)}µs`;
  if (a < 1e9) return `${trim(ns / 1e6)}ms`;
  if (a < 60e9) return `${trim(ns / 1e9)}s`;
  if (a < 3600e9) return `${Math.floor(ns / 60e9)}m ${Math.round((ns % 60e9) / 1e9)}s`;
  return `${Math.floor(ns / 3600e9)}h ${Math.round((ns % 3600e9) / 60e9)}m`;
}

function trim(x) {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// Unix milliseconds -> "2026-05-01 12:34:56.789" in local time.
export function fmtTime(ms) {
  if (!Number.isFinite(ms)) return '?';
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '?';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function fmtAgo(ms) {
  const s = (Date.now() - ms) / 1000;
  if (s < 0) return 'in the future';
  if (s < 60) return `${Math.round(s)}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h ago`;
  return `${(s / 86400).toFixed(1)} d ago`;
}

// OTLP/JSON nanosecond strings -> BigInt (0n when absent or malformed).
export function nsBig(v) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v));
  if (typeof v === 'string' && /^-?\d{1,25}$/.test(v)) return BigInt(v);
  return 0n;
}

export const nsToMs = (v) => Number(nsBig(v) / 1000n) / 1000;

// An OTLP/JSON AnyValue as display text.
export function anyText(v, depth = 0) {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'object') return String(v);
  if (depth > 8) return '…';
  if ('stringValue' in v) return String(v.stringValue);
  if ('intValue' in v) return String(v.intValue);
  if ('doubleValue' in v) return String(v.doubleValue);
  if ('boolValue' in v) return String(v.boolValue);
  if ('bytesValue' in v) return `base64:${v.bytesValue}`;
  if ('arrayValue' in v) return `[${(v.arrayValue?.values || []).map((x) => anyText(x, depth + 1)).join(', ')}]`;
  if ('kvlistValue' in v) return `{${(v.kvlistValue?.values || []).map((kv) => `${kv.key}: ${anyText(kv.value, depth + 1)}`).join(', ')}}`;
  return '';
}

export function attrValue(attrs, key) {
  const a = (attrs || []).find((x) => x && x.key === key);
  return a ? anyText(a.value) : undefined;
}

// A stable color for a service name, from a palette of well-separated hues.
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f',
  '#ff9da7', '#5b5fc7', '#8cd17d', '#d37295', '#a0cbe8', '#86bcb6', '#b6992d'];
const colors = new Map();
export function serviceColor(name) {
  let c = colors.get(name);
  if (c) return c;
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  c = PALETTE[(h >>> 0) % PALETTE.length];
  if (colors.size < 10000) colors.set(name, c);
  return c;
}

// A table of key/value pairs (attributes).
export function kvTable(pairs, cls = 'kv') {
  const t = el(`table.${cls}`);
  for (const [k, v] of pairs) t.append(el('tr', null, el('th', { text: k }), el('td', { text: v })));
  return t;
}

export function attrsTable(attrs) {
  if (!attrs || !attrs.length) return el('p.muted', { text: 'none' });
  return kvTable(attrs.map((a) => [a?.key ?? '', anyText(a?.value)]));
}

export const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
export const STATUS = ['unset', 'ok', 'error'];

export function severityClass(n) {
  if (n >= 17) return 'sev-error';
  if (n >= 13) return 'sev-warn';
  if (n >= 9) return 'sev-info';
  return 'sev-debug';
}

export function severityName(rec) {
  if (rec.severityText) return rec.severityText;
  const n = rec.severityNumber || 0;
  if (!n) return '—';
  return ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'][Math.min(5, Math.floor((n - 1) / 4))];
}
