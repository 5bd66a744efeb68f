// otelpg web page: search, trace view (waterfall + span details + logs), correlation
// lookup, service map and alerts. Plain ES modules, no build step, nothing loaded from
// anywhere but this origin. Telemetry is untrusted: it only ever reaches the DOM as text.
import {
  el, svg, clear, getJson, ApiError, fmtDuration, fmtTime, fmtAgo, nsBig, nsToMs, anyText, attrValue,
  serviceColor, kvTable, attrsTable, SPAN_KINDS, STATUS, severityClass, severityName,
} from './util.js';
import { buildTree, Waterfall } from './waterfall.js';

const $ = (id) => document.getElementById(id);
const perf = { trace: null };
window.otelpg = { perf };

// ------------------------------------------------------------------ routing

const views = ['search', 'trace', 'correlation', 'map', 'alerts'];
let generation = 0; // a newer navigation makes older answers stale

function show(view) {
  for (const v of views) $(`view-${v}`).hidden = v !== view;
  for (const a of document.querySelectorAll('.tabs a')) a.classList.toggle('active', a.dataset.view === view);
}

function safeDecode(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

function route() {
  const gen = ++generation;
  const h = location.hash.replace(/^#/, '') || '/';
  const q = h.indexOf('?');
  const path = q < 0 ? h : h.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
  const parts = path.split('/').filter(Boolean).map(safeDecode);
  switch (parts[0]) {
    case 'trace':
      show('trace');
      return showTrace(parts[1] || '', params.get('span'), gen);
    case 'correlation':
      show('correlation');
      $('corr-id').value = parts[1] || '';
      return showCorrelation(parts[1] || '', gen);
    case 'map':
      show('map');
      return showMap(gen);
    case 'alerts':
      show('alerts');
      return loadAlerts($('alerts-body'), false);
    default:
      show('search');
      document.title = 'otelpg';
      if (parts[0] === 'search') return runSearchFromParams(params, gen);
      return undefined;
  }
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

const traceHash = (id, spanId) => `#/trace/${encodeURIComponent(id)}${spanId ? `?span=${encodeURIComponent(spanId)}` : ''}`;

function errorBox(err) {
  return el('p.msg.error', { role: 'alert', text: err instanceof Error ? err.message : String(err) });
}

// ------------------------------------------------------------------ search

const RANGES = { '15m': 15 * 60e3, '1h': 3600e3, '6h': 6 * 3600e3, '24h': 24 * 3600e3 };
let servicesLoaded = false;

async function loadServices() {
  const sel = $('f-service');
  try {
    const j = await getJson('/api/services');
    const names = [...new Set((j.data || []).map(String))].sort();
    const keep = sel.value;
    sel.replaceChildren(el('option', { value: '', text: '(any)' }), ...names.map((n) => el('option', { value: n, text: n })));
    if (names.includes(keep)) sel.value = keep;
    servicesLoaded = true;
  } catch (e) {
    $('search-msg').textContent = e.status === 404 || e.status === 501 ? 'Search is not available from this API yet.' : e.message;
  }
}

async function loadOperations(service, keep) {
  const sel = $('f-operation');
  sel.replaceChildren(el('option', { value: '', text: '(all)' }));
  if (!service) return;
  try {
    const j = await getJson(`/api/services/${encodeURIComponent(service)}/operations`);
    const names = [...new Set((j.data || []).map((o) => (typeof o === 'string' ? o : o?.name ?? '')))].filter(Boolean).sort();
    sel.append(...names.map((n) => el('option', { value: n, text: n })));
    if (keep && !names.includes(keep)) sel.append(el('option', { value: keep, text: keep }));
    if (keep) sel.value = keep;
  } catch { /* the operation list is a convenience */ }
}

// "k=v k2="with space" k3=3" -> {k: 'v', k2: 'with space', k3: '3'}; throws on anything else.
export function parseTags(text) {
  const out = {};
  const re = /\s*([^\s="]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s"]*)\s*/y;
  let pos = 0;
  text = text.trim();
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new Error(`Attributes: expected key=value at "${text.slice(pos, pos + 20)}"`);
    out[m[1]] = m[2].startsWith('"') ? JSON.parse(m[2]) : m[2];
    pos = re.lastIndex;
  }
  return out;
}

function toLocalInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
  return d.toISOString().slice(0, 19);
}

function formToParams() {
  const p = new URLSearchParams();
  const v = (id) => $(id).value.trim();
  if (v('f-service')) p.set('service', v('f-service'));
  if (v('f-operation')) p.set('operation', v('f-operation'));
  if (v('f-tags')) p.set('tags', v('f-tags'));
  if (v('f-min')) p.set('minDuration', v('f-min').replace(/\s+/g, ''));
  if (v('f-max')) p.set('maxDuration', v('f-max').replace(/\s+/g, ''));
  p.set('range', v('f-range'));
  if (v('f-range') === 'custom') {
    const from = Date.parse(v('f-from')), to = Date.parse(v('f-to'));
    if (Number.isFinite(from)) p.set('from', String(from));
    if (Number.isFinite(to)) p.set('to', String(to));
  }
  if ($('f-errors').checked) p.set('errors', '1');
  if (v('f-limit')) p.set('limit', v('f-limit'));
  return p;
}

async function runSearchFromParams(params, gen) {
  if (!servicesLoaded) await loadServices();
  const service = params.get('service') || '';
  if (service && ![...$('f-service').options].some((o) => o.value === service)) {
    $('f-service').append(el('option', { value: service, text: service }));
  }
  $('f-service').value = service;
  await loadOperations(service, params.get('operation') || '');
  $('f-tags').value = params.get('tags') || '';
  $('f-min').value = params.get('minDuration') || '';
  $('f-max').value = params.get('maxDuration') || '';
  const range = params.get('range') || '1h';
  $('f-range').value = RANGES[range] || range === 'custom' ? range : '1h';
  $('f-custom').hidden = $('f-range').value !== 'custom';
  $('f-errors').checked = params.get('errors') === '1';
  $('f-limit').value = params.get('limit') || '20';

  let start, end;
  if ($('f-range').value === 'custom') {
    end = Number(params.get('to')) || Date.now();
    start = Number(params.get('from')) || end - 3600e3;
    $('f-from').value = toLocalInput(start);
    $('f-to').value = toLocalInput(end);
  } else {
    end = Date.now();
    start = end - RANGES[$('f-range').value];
  }
  const msg = $('search-msg');
  const list = clear($('results'));
  let tags;
  try {
    tags = parseTags(params.get('tags') || '');
  } catch (e) {
    msg.textContent = e.message;
    return;
  }
  if ($('f-errors').checked) tags.error = 'true';
  const q = new URLSearchParams();
  if (service) q.set('service', service);
  if (params.get('operation')) q.set('operation', params.get('operation'));
  if (Object.keys(tags).length) q.set('tags', JSON.stringify(tags));
  if (params.get('minDuration')) q.set('minDuration', params.get('minDuration'));
  if (params.get('maxDuration')) q.set('maxDuration', params.get('maxDuration'));
  q.set('start', String(Math.floor(start * 1000)));
  q.set('end', String(Math.ceil(end * 1000)));
  q.set('limit', $('f-limit').value || '20');
  msg.textContent = 'Searching…';
  $('results-title').textContent = 'Traces';
  let j;
  try {
    j = await getJson(`/api/traces?${q}`);
  } catch (e) {
    if (gen !== generation) return;
    msg.textContent = '';
    list.append(el('li.result-empty', null, errorBox(e)));
    return;
  }
  if (gen !== generation) return;
  msg.textContent = '';
  lastResults = (j.data || []).filter((t) => t && Array.isArray(t.spans)).map(summarizeJaeger);
  renderResults();
}

let lastResults = [];

function isJaegerError(s) {
  return (s.tags || []).some((t) => (t.key === 'error' && (t.value === true || t.value === 'true')) ||
    (t.key === 'otel.status_code' && t.value === 'ERROR'));
}

function summarizeJaeger(t) {
  const spans = t.spans;
  const ids = new Set(spans.map((s) => s.spanID));
  const procs = t.processes || {};
  const svcOf = (s) => String(procs[s.processID]?.serviceName ?? s.process?.serviceName ?? '?');
  let start = Infinity, end = -Infinity, root = null, errors = 0;
  const services = new Map();
  for (const s of spans) {
    const st = Number(s.startTime), du = Number(s.duration) || 0;
    if (st < start) start = st;
    if (st + du > end) end = st + du;
    const hasParent = (s.references || []).some((r) => r.refType === 'CHILD_OF' && ids.has(r.spanID) && r.spanID !== s.spanID);
    if (!hasParent && (!root || st < Number(root.startTime))) root = s;
    const err = isJaegerError(s);
    if (err) errors++;
    const name = svcOf(s);
    const e = services.get(name) || { count: 0, errors: 0 };
    e.count++;
    if (err) e.errors++;
    services.set(name, e);
  }
  return {
    traceID: t.traceID || spans[0]?.traceID || '',
    rootService: root ? svcOf(root) : '?',
    rootName: root ? String(root.operationName ?? '') : '(no spans)',
    startMs: start / 1000,
    durNs: (end - start) * 1000,
    spanCount: spans.length,
    errorCount: errors,
    services,
  };
}

function renderResults() {
  const list = clear($('results'));
  const sort = $('f-sort').value;
  const rs = [...lastResults];
  const cmp = {
    recent: (a, b) => b.startMs - a.startMs,
    longest: (a, b) => b.durNs - a.durNs,
    spans: (a, b) => b.spanCount - a.spanCount,
    errors: (a, b) => b.errorCount - a.errorCount || b.startMs - a.startMs,
  }[sort];
  rs.sort(cmp);
  $('results-title').textContent = `${rs.length} trace${rs.length === 1 ? '' : 's'}`;
  if (!rs.length) {
    list.append(el('li.result-empty', { text: 'No traces match. Widen the time range or remove filters.' }));
    return;
  }
  const maxDur = Math.max(...rs.map((r) => r.durNs), 1);
  for (const r of rs) {
    const bar = el('div.res-bar');
    bar.style.width = `${Math.max(0.5, (r.durNs / maxDur) * 100)}%`;
    const chips = [...r.services].sort((a, b) => b[1].count - a[1].count).map(([name, s]) => {
      const c = el('span.svc-chip', null, el('span.dot'), `${name} (${s.count})`);
      c.firstChild.style.backgroundColor = serviceColor(name);
      if (s.errors) c.classList.add('has-error');
      return c;
    });
    list.append(el('li.result', { dataset: { traceId: r.traceID } },
      el('a.result-link', { href: traceHash(r.traceID) },
        el('div.res-top', null,
          el('span.res-root', null, el('b', { text: r.rootService }), ': ', el('span.res-op', { text: r.rootName })),
          el('span.res-id.mono', { text: r.traceID.slice(0, 12) }),
          el('span.res-dur', { text: fmtDuration(r.durNs) })),
        el('div.res-bar-wrap', null, bar),
        el('div.res-meta', null,
          el('span.res-spans', { text: `${r.spanCount} span${r.spanCount === 1 ? '' : 's'}` }),
          r.errorCount ? el('span.badge.err.res-errors', { text: `${r.errorCount} error${r.errorCount === 1 ? '' : 's'}` }) : el('span.res-errors.muted', { text: '0 errors' }),
          el('span.chips', null, chips),
          el('span.res-time', { title: fmtAgo(r.startMs), text: `${fmtTime(r.startMs)} · ${fmtAgo(r.startMs)}` })))));
  }
}

function initSearch() {
  $('f-service').addEventListener('change', () => loadOperations($('f-service').value, ''));
  $('f-range').addEventListener('change', () => {
    const custom = $('f-range').value === 'custom';
    $('f-custom').hidden = !custom;
    if (custom && !$('f-from').value) {
      $('f-to').value = toLocalInput(Date.now());
      $('f-from').value = toLocalInput(Date.now() - 3600e3);
    }
  });
  $('f-sort').addEventListener('change', renderResults);
  $('search-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    try {
      parseTags($('f-tags').value);
    } catch (e) {
      $('search-msg').textContent = e.message;
      return;
    }
    go(`#/search?${formToParams()}`);
  });
}

// ------------------------------------------------------------------ trace view

let current = null; // {id, wf, nodes, byId, logs, ...}

async function showTrace(id, spanId, gen) {
  if (current && current.id === id.toLowerCase() && current.wf) {
    if (spanId) selectSpanById(spanId, true);
    return;
  }
  current?.wf?.destroy();
  current = null;
  const head = clear($('trace-head'));
  clear($('waterfall'));
  clear($('span-detail'));
  clear($('trace-logs'));
  $('logs-count').textContent = '';
  $('wf-stats').textContent = '';
  document.title = `trace ${id} · otelpg`;
  head.append(el('h2', { text: `Trace ${id}` }), el('p.muted', { text: 'Loading…' }));
  const t0 = performance.now();
  let traceJson, logsJson;
  const logsP = getJson(`/api/traces/${encodeURIComponent(id)}/logs`).catch((e) => ({ error: e }));
  try {
    traceJson = await getJson(`/api/v3/traces/${encodeURIComponent(id)}`);
  } catch (e) {
    if (gen !== generation) return;
    clear(head).append(el('h2', { text: `Trace ${id}` }),
      errorBox(e.status === 404 ? new Error(`Trace ${id} was not found.`) : e));
    return;
  }
  const tFetched = performance.now();
  if (gen !== generation) return;
  const model = traceModel(traceJson);
  const tModel = performance.now();
  current = { id: id.toLowerCase(), ...model, logs: [] };
  renderTraceHead(head, id, model, traceJson);
  $('wf-stats').textContent = `${model.nodes.length} spans · depth ${model.maxDepth + 1}`;
  current.wf = new Waterfall($('waterfall'), model.tree, {
    totalNs: model.totalNs,
    onSelect: (n) => { showSpanDetail(n); markLogsOf(n); },
  });
  const tRendered = performance.now();
  if (!model.nodes.length) $('span-detail').append(el('p.muted', { text: 'This trace has no spans.' }));
  else if (spanId) selectSpanById(spanId, true);
  else $('span-detail').append(el('p.muted.hint', { text: 'Click a span to see its attributes, events, links and resource.' }));
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const tPainted = performance.now();
  perf.trace = {
    id, spans: model.nodes.length,
    fetchMs: tFetched - t0, modelMs: tModel - tFetched, renderMs: tRendered - tModel,
    paintedMs: tPainted - tModel, totalMs: tPainted - t0,
  };
  $('waterfall').dataset.renderMs = perf.trace.renderMs.toFixed(1);

  const logs = await logsP;
  if (gen !== generation || !current) return;
  renderTraceLogs(logs, spanId);
}

function traceModel(j) {
  const nodes = [];
  let minStart = null, maxEnd = null;
  for (const rs of j?.result?.resourceSpans || []) {
    const res = rs?.resource || {};
    const service = attrValue(res.attributes, 'service.name') ?? 'unknown_service';
    for (const ss of rs?.scopeSpans || []) {
      for (const sp of ss?.spans || []) {
        if (!sp) continue;
        const s = nsBig(sp.startTimeUnixNano), e = nsBig(sp.endTimeUnixNano);
        if (minStart === null || s < minStart) minStart = s;
        const end = e > s ? e : s;
        if (maxEnd === null || end > maxEnd) maxEnd = end;
        nodes.push({
          id: String(sp.spanId || ''), parentId: String(sp.parentSpanId || ''), name: String(sp.name ?? ''),
          service, span: sp, rs, scope: ss.scope || {}, scopeSchemaUrl: ss.schemaUrl, startBig: s,
          durNs: e > s ? Number(e - s) : 0, error: sp.status?.code === 2,
        });
      }
    }
  }
  for (const n of nodes) n.startNs = Number(n.startBig - minStart);
  const tree = buildTree(nodes);
  let maxDepth = 0, errors = 0;
  const services = new Set();
  for (const n of nodes) {
    if (n.depth > maxDepth) maxDepth = n.depth;
    if (n.error) errors++;
    services.add(n.service);
  }
  return {
    nodes, tree, byId: tree.byId, maxDepth, errors, services,
    startBig: minStart ?? 0n, totalNs: minStart === null ? 1 : Number(maxEnd - minStart),
    warnings: j?.warnings || [],
  };
}

function renderTraceHead(head, id, m, j) {
  const root = m.tree.roots[0];
  const startMs = nsToMs(m.startBig);
  clear(head).append(
    el('h2', null, root ? el('span', null, el('b', { text: root.service }), ': ', el('span', { text: root.name })) : `Trace ${id}`),
    el('div.trace-facts', null,
      el('span', null, 'Trace ', el('span.mono#trace-id', { text: id.toLowerCase() })),
      el('span', { text: `Start ${fmtTime(startMs)}` }),
      el('span', { text: `Duration ${fmtDuration(m.totalNs)}` }),
      el('span#trace-span-count', { text: `${m.nodes.length} spans` }),
      el('span', { text: `${m.services.size} service${m.services.size === 1 ? '' : 's'}` }),
      m.errors ? el('span.badge.err', { text: `${m.errors} error${m.errors === 1 ? '' : 's'}` }) : el('span.muted', { text: 'no errors' }),
      el('a', { href: `/api/v3/traces/${encodeURIComponent(id)}`, target: '_blank', rel: 'noopener', text: 'OTLP JSON' }),
      el('a', { href: `#/correlation/${encodeURIComponent(id.toLowerCase())}`, text: 'Everything about this trace' })),
    ...(m.warnings || []).map((w) => el('p.msg.warn', { text: String(w) })));
}

function selectSpanById(spanId, scroll) {
  if (!current) return;
  const n = current.byId.get(String(spanId).toLowerCase());
  if (!n) return;
  current.wf.select(n, { scroll, notify: true });
}

function section(title, count, ...body) {
  return el('section.detail-sec', null, el('h4', null, title, count === undefined ? '' : el('span.muted', { text: ` (${count})` })), ...body);
}

function showSpanDetail(n) {
  const d = clear($('span-detail'));
  const sp = n.span;
  const startMs = nsToMs(n.startBig);
  const status = sp.status || {};
  const facts = [
    ['Span ID', n.id],
    ['Parent span ID', n.parentId ? `${n.parentId}${n.orphan ? ' (not in this trace)' : ''}` : '(root)'],
    ['Kind', SPAN_KINDS[sp.kind || 0] ?? String(sp.kind)],
    ['Start', `${fmtTime(startMs)} (+${fmtDuration(n.startNs)})`],
    ['Duration', fmtDuration(n.durNs)],
    ['Status', `${STATUS[status.code || 0] ?? status.code}${status.message ? `: ${status.message}` : ''}`],
  ];
  if (sp.traceState) facts.push(['Trace state', sp.traceState]);
  if (sp.flags) facts.push(['Flags', String(sp.flags)]);
  for (const k of ['droppedAttributesCount', 'droppedEventsCount', 'droppedLinksCount']) if (sp[k]) facts.push([k, String(sp[k])]);

  const events = (sp.events || []).map((ev) => el('li.event', null,
    el('div.ev-head', null, el('span.mono', { text: `+${fmtDuration(Number(nsBig(ev.timeUnixNano) - current.startBig))}` }), ' ', el('b', { text: ev.name ?? '' })),
    ev.attributes?.length ? attrsTable(ev.attributes) : null,
    ev.droppedAttributesCount ? el('p.muted', { text: `${ev.droppedAttributesCount} attributes dropped` }) : null));

  const links = (sp.links || []).map((l) => {
    const tid = String(l.traceId || '').toLowerCase(), sid = String(l.spanId || '').toLowerCase();
    const same = current && tid === current.id;
    return el('li.link', null,
      el('div', null, el('span.mono', { text: `${tid} / ${sid}` }), ' ',
        el('a.link-open', { href: traceHash(tid, sid), text: same ? 'go to span' : 'open linked trace' })),
      l.traceState ? el('p.muted', { text: `trace state: ${l.traceState}` }) : null,
      l.attributes?.length ? attrsTable(l.attributes) : null);
  });

  const scope = n.scope || {};
  const res = n.rs?.resource || {};
  const logCount = current.logs.filter((l) => l.spanId === n.id).length;
  d.append(
    el('h3', null, el('span.wf-chip'), el('b', { text: n.service }), ' · ', el('span', { text: n.name }), n.error ? el('span.badge.err', { text: 'error' }) : null),
    kvTable(facts, 'kv facts'),
    section('Attributes', (sp.attributes || []).length, attrsTable(sp.attributes)),
    section('Events', events.length, events.length ? el('ol.events', null, events) : el('p.muted', { text: 'none' })),
    section('Links', links.length, links.length ? el('ol.links', null, links) : el('p.muted', { text: 'none' })),
    section('Resource', (res.attributes || []).length, attrsTable(res.attributes),
      n.rs?.schemaUrl ? el('p.muted', { text: `schema: ${n.rs.schemaUrl}` }) : null),
    section('Scope', undefined, kvTable([['name', scope.name ?? ''], ['version', scope.version ?? ''],
      ...(scope.attributes || []).map((a) => [a.key, anyText(a.value)])])),
    logCount ? el('p.muted', { text: logCount === 1 ? 'Its log record is highlighted in the log list.' : `Its ${logCount} log records are highlighted in the log list.` }) : null);
  d.querySelector('h3 .wf-chip').style.backgroundColor = serviceColor(n.service);
}

function logTimeBig(rec) {
  const t = nsBig(rec.timeUnixNano);
  return t ? t : nsBig(rec.observedTimeUnixNano);
}

const LOG_PAGE = 300;

function renderTraceLogs(logs, spanId) {
  const list = clear($('trace-logs'));
  if (logs.error) {
    list.append(el('li', null, errorBox(logs.error)));
    return;
  }
  const entries = (logs.logs || []).filter(Boolean).map((e) => {
    const rec = e.record || {};
    return { e, rec, t: logTimeBig(rec), spanId: String(rec.spanId || '').toLowerCase() };
  });
  entries.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
  current.logs = entries;
  $('logs-count').textContent = `(${entries.length}${logs.truncated ? ', truncated: the newest are shown' : ''})`;
  if (!entries.length) {
    list.append(el('li.muted.log-empty', { text: 'No log records carry this trace.' }));
    return;
  }
  const more = el('button.more', { type: 'button' });
  let shown = 0;
  const page = () => {
    const frag = document.createDocumentFragment();
    const end = Math.min(entries.length, shown + LOG_PAGE);
    for (; shown < end; shown++) frag.append(logItem(entries[shown]));
    more.remove();
    list.append(frag);
    if (shown < entries.length) {
      more.textContent = `Show ${Math.min(LOG_PAGE, entries.length - shown)} more (${entries.length - shown} left)`;
      list.append(more);
    }
  };
  more.addEventListener('click', page);
  page();
  list.onclick = (ev) => {
    const li = ev.target.closest('li.log');
    if (!li || !li.dataset.spanId) return;
    for (const x of list.querySelectorAll('li.log.active')) x.classList.remove('active');
    li.classList.add('active');
    selectSpanById(li.dataset.spanId, true);
  };
  if (spanId) markLogsOf(current.byId.get(String(spanId).toLowerCase()));
}

function logItem({ e, rec, t, spanId }) {
  const sevN = rec.severityNumber || 0;
  const offset = current ? Number(t - current.startBig) : 0;
  const inTrace = spanId && current?.byId.has(spanId);
  const body = anyText(rec.body);
  const li = el('li.log', { dataset: { spanId: inTrace ? spanId : '' }, title: inTrace ? 'show its span' : undefined },
    el('div.log-head', null,
      el(`span.sev.${severityClass(sevN)}`, { text: severityName(rec) }),
      el('span.mono.log-time', { title: fmtTime(nsToMs(t)), text: `${offset >= 0 ? '+' : '-'}${fmtDuration(Math.abs(offset))}` }),
      el('span.log-svc', { text: String(e.service ?? '') }),
      spanId ? el('span.mono.muted.log-span', { text: spanId.slice(0, 8) }) : null),
    el('div.log-body', { text: body || '(no body)' }),
    rec.attributes?.length ? el('div.log-attrs', null, rec.attributes.map((a) => el('span.attr', null, el('span.k', { text: a.key }), '=', el('span.v', { text: anyText(a.value) })))) : null);
  if (inTrace) li.classList.add('clickable');
  return li;
}

function markLogsOf(n) {
  const list = $('trace-logs');
  for (const li of list.querySelectorAll('li.log')) li.classList.toggle('of-selected', Boolean(n) && li.dataset.spanId === n.id);
}

function initTrace() {
  $('wf-expand').addEventListener('click', () => current?.wf?.setAll(false));
  $('wf-collapse').addEventListener('click', () => current?.wf?.setAll(true));
}

// ------------------------------------------------------------------ correlation

async function showCorrelation(id, gen) {
  const body = clear($('corr-body'));
  document.title = `${id} · otelpg`;
  body.append(el('h2', null, 'Everything about ', el('span.mono', { text: id })), el('p.muted', { text: 'Loading…' }));
  if (!id) return;
  let j;
  try {
    j = await getJson(`/api/correlations/${encodeURIComponent(id)}`);
  } catch (e) {
    if (gen !== generation) return;
    clear(body).append(el('h2', null, 'Everything about ', el('span.mono', { text: id })), errorBox(e));
    return;
  }
  if (gen !== generation) return;
  const traces = j.traces || [], logs = j.logs || [], metrics = j.metrics || [];
  clear(body).append(
    el('h2', null, 'Everything about ', el('span.mono#corr-title', { text: String(j.id ?? id) })),
    el('p.trace-facts', null,
      el('span', { text: `${traces.length} trace${traces.length === 1 ? '' : 's'}${j.tracesTruncated ? ' (more exist: the newest are shown)' : ''}` }),
      el('span', { text: `${logs.length} log record${logs.length === 1 ? '' : 's'}${j.logsTruncated ? ' (truncated)' : ''}` }),
      el('span', { text: `${metrics.length} metric exemplar${metrics.length === 1 ? '' : 's'}${j.metricsTruncated ? ' (truncated)' : ''}` })));
  if (!traces.length && !logs.length && !metrics.length) {
    body.append(el('p.msg', { text: 'Nothing carries this ID. Correlation IDs are taken from the attribute keys the collector is configured with (--correlation-keys).' }));
    return;
  }

  const tt = el('table.grid#corr-traces', null, el('thead', null, el('tr', null,
    ['Root', 'Start', 'Duration', 'Spans', 'Errors', 'Services', 'Trace ID'].map((h) => el('th', { text: h })))));
  const tb = el('tbody');
  for (const t of traces) {
    const s = nsBig(t.startTimeUnixNano), e = nsBig(t.endTimeUnixNano);
    const services = new Set();
    for (const rs of t.resourceSpans || []) services.add(attrValue(rs?.resource?.attributes, 'service.name') ?? '?');
    const tid = String(t.traceID || '').toLowerCase();
    tb.append(el('tr', { dataset: { traceId: tid } },
      el('td', null, el('a', { href: traceHash(tid) }, el('b', { text: t.rootService || '?' }), ': ', el('span', { text: t.rootName || '(root not received)' }))),
      el('td', { text: fmtTime(nsToMs(s)) }),
      el('td', { text: e > s ? fmtDuration(Number(e - s)) : '—' }),
      el('td', { text: `${t.spanCount ?? '?'}${t.spansTruncated ? '+' : ''}` }),
      el('td', null, t.errorCount ? el('span.badge.err', { text: String(t.errorCount) }) : '0'),
      el('td', { text: [...services].join(', ') }),
      el('td', null, el('a.mono', { href: traceHash(tid), text: tid }))));
  }
  tt.append(tb);
  body.append(el('section.corr-sec', null, el('h3', { text: 'Traces' }), traces.length ? tt : el('p.muted', { text: 'none' })));

  const ll = el('ol.log-list.corr-logs');
  for (const e of logs) {
    if (!e) continue;
    const rec = e.record || {};
    const tid = String(rec.traceId || '').toLowerCase(), sid = String(rec.spanId || '').toLowerCase();
    ll.append(el('li.log', null,
      el('div.log-head', null,
        el(`span.sev.${severityClass(rec.severityNumber || 0)}`, { text: severityName(rec) }),
        el('span.mono.log-time', { text: fmtTime(nsToMs(logTimeBig(rec))) }),
        el('span.log-svc', { text: String(e.service ?? '') }),
        tid ? el('a.mono', { href: traceHash(tid, sid), text: `trace ${tid.slice(0, 8)}${sid ? ` / ${sid.slice(0, 8)}` : ''}` }) : el('span.muted', { text: 'no trace' })),
      el('div.log-body', { text: anyText(rec.body) || '(no body)' }),
      rec.attributes?.length ? el('div.log-attrs', null, rec.attributes.map((a) => el('span.attr', null, el('span.k', { text: a.key }), '=', el('span.v', { text: anyText(a.value) })))) : null));
  }
  body.append(el('section.corr-sec', null, el('h3', { text: 'Logs' }), logs.length ? ll : el('p.muted', { text: 'none' })));

  const mt = el('table.grid#corr-metrics', null, el('thead', null, el('tr', null,
    ['Metric', 'Service', 'Attributes', 'Exemplar value', 'Time', 'Trace'].map((h) => el('th', { text: h })))));
  const mb = el('tbody');
  for (const m of metrics) {
    if (!m) continue;
    const ex = m.exemplar || {};
    const tid = String(ex.traceId || '').toLowerCase(), sid = String(ex.spanId || '').toLowerCase();
    const attrs = m.attributes && typeof m.attributes === 'object' ? Object.entries(m.attributes).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') : '';
    mb.append(el('tr', null,
      el('td', null, el('b', { text: String(m.name ?? '') }), el('span.muted', { text: ` ${m.kind ?? ''}${m.unit ? ` [${m.unit}]` : ''}` })),
      el('td', { text: String(m.service ?? '') }),
      el('td.mono', { text: attrs }),
      el('td', { text: String(ex.value ?? '') }),
      el('td', { text: fmtTime(nsToMs(ex.timeUnixNano)) }),
      el('td', null, tid ? el('a.mono', { href: traceHash(tid, sid), text: tid.slice(0, 16) }) : '')));
  }
  mt.append(mb);
  body.append(el('section.corr-sec', null, el('h3', { text: 'Metric exemplars' }), metrics.length ? mt : el('p.muted', { text: 'none' })));
}

function initCorrelation() {
  $('corr-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = $('corr-id').value.trim();
    if (id) go(`#/correlation/${encodeURIComponent(id)}`);
  });
}

// ------------------------------------------------------------------ service map

async function showMap(gen) {
  showRed(gen);
  const body = clear($('map-body'));
  body.append(el('p.muted', { text: 'Loading…' }));
  const lookback = Number($('map-lookback').value);
  let deps;
  try {
    const j = await getJson(`/api/dependencies?endTs=${Date.now()}&lookback=${lookback}`);
    deps = Array.isArray(j) ? j : j.data || [];
  } catch (e) {
    if (gen !== generation) return;
    clear(body).append(e.status === 404 || e.status === 501
      ? el('p.msg', { text: 'The service map is not available from this API yet.' })
      : errorBox(e));
    return;
  }
  if (gen !== generation) return;
  clear(body);
  deps = deps.filter((d) => d && d.parent !== undefined && d.child !== undefined)
    .map((d) => ({ parent: String(d.parent), child: String(d.child), calls: Number(d.callCount) || 0, errors: Number(d.errorCount) || 0 }));
  if (!deps.length) {
    body.append(el('p.msg', { text: 'No calls between services in this period.' }));
    return;
  }
  const services = new Set(deps.flatMap((d) => [d.parent, d.child])).size;
  if (services <= 60) body.append(mapGraph(deps));
  else body.append(el('p.muted', { text: `${services} services: too many to draw; the calls between them:` }));
  const t = el('table.grid#map-table', null, el('thead', null, el('tr', null,
    ['Caller', '', 'Callee', 'Calls', 'Errors', 'Error rate'].map((h) => el('th', { text: h })))));
  const tb = el('tbody');
  for (const d of [...deps].sort((a, b) => b.calls - a.calls)) {
    tb.append(el('tr', null, el('td', { text: d.parent }), el('td', { text: '→' }), el('td', { text: d.child }),
      el('td.num', { text: String(d.calls) }),
      el('td.num', null, d.errors ? el('span.badge.err', { text: String(d.errors) }) : '0'),
      el('td.num', { text: d.calls ? `${((100 * d.errors) / d.calls).toFixed(1)}%` : '—' })));
  }
  t.append(tb);
  body.append(t);
}

// RED numbers per service from /api/metrics/{calls,errors,latencies} (Jaeger's SPM shape).
const RED_MAX_SERVICES = 50;

function redByService(j) {
  const out = new Map();
  for (const m of Array.isArray(j?.metrics) ? j.metrics : []) {
    const name = (m.labels || []).find((l) => l.name === 'service_name')?.value;
    const pts = (m.metricPoints || []).map((p) => Number(p?.gaugeValue?.doubleValue)).filter(Number.isFinite);
    if (name !== undefined) out.set(String(name), pts);
  }
  return out;
}

function sparkline(values) {
  const W = 120, H = 24, max = Math.max(...values, 1e-9);
  const pts = values.map((v, i) => `${values.length > 1 ? (i * W) / (values.length - 1) : 0},${H - (v / max) * (H - 2) - 1}`).join(' ');
  return svg('svg', { class: 'spark', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': 'requests per second' },
    svg('polyline', { points: pts }));
}

async function showRed(gen) {
  const body = clear($('map-red'));
  const lookback = Number($('map-lookback').value);
  const step = Math.max(10e3, Math.ceil(lookback / 60 / 10e3) * 10e3);
  let services;
  try {
    const j = await getJson('/api/services');
    services = (Array.isArray(j) ? j : j.data || []).map(String).slice(0, RED_MAX_SERVICES);
  } catch (e) {
    if (gen === generation) body.append(errorBox(e));
    return;
  }
  if (!services.length) {
    if (gen === generation) body.append(el('p.muted', { text: 'No services yet.' }));
    return;
  }
  const q = `${services.map((s) => `service=${encodeURIComponent(s)}`).join('&')}&spanKind=server&spanKind=consumer&endTs=${Date.now()}&lookback=${lookback}&step=${step}`;
  let calls, errors, lat;
  try {
    [calls, errors, lat] = await Promise.all([
      getJson(`/api/metrics/calls?${q}`), getJson(`/api/metrics/errors?${q}`), getJson(`/api/metrics/latencies?${q}&quantile=0.95`)]);
  } catch (e) {
    if (gen !== generation) return;
    body.append(e.status === 404 || e.status === 501 ? el('p.muted', { text: 'RED metrics are not available from this API.' }) : errorBox(e));
    return;
  }
  if (gen !== generation) return;
  const c = redByService(calls), er = redByService(errors), l = redByService(lat);
  const avg = (a) => (a && a.length ? a.reduce((x, y) => x + y, 0) / a.length : NaN);
  const t = el('table.grid#red-table', null, el('thead', null, el('tr', null,
    ['Service', 'Requests/s', '', 'Error rate', 'p95 latency'].map((h) => el('th', { text: h })))));
  const tb = el('tbody');
  for (const s of services.filter((x) => c.has(x)).sort((a, b) => avg(c.get(b)) - avg(c.get(a)))) {
    const rate = avg(c.get(s)), err = avg(er.get(s)), p95 = Math.max(...(l.get(s) || [NaN]));
    tb.append(el('tr', null,
      el('td', null, el('a', { href: `#/search?service=${encodeURIComponent(s)}`, text: s })),
      el('td.num', { text: rate.toFixed(2) }),
      el('td', null, sparkline(c.get(s))),
      el('td.num', null, err > 0 ? el('span.badge.err', { text: `${(100 * err).toFixed(1)}%` }) : '0%'),
      el('td.num', { text: Number.isFinite(p95) ? fmtDuration(p95 * 1e6) : '—' })));
  }
  if (!tb.children.length) {
    body.append(el('p.muted', { text: 'No server or consumer spans in this period.' }));
    return;
  }
  t.append(tb);
  body.append(t);
}

// Layered layout: each service one column right of its nearest caller, counted from the
// services nobody calls (in a cycle without such a service, from the biggest caller).
function mapGraph(deps) {
  const names = [...new Set(deps.flatMap((d) => [d.parent, d.child]))].sort();
  const out = new Map(names.map((n) => [n, []]));
  const inCalls = new Map(names.map((n) => [n, 0]));
  const outCalls = new Map(names.map((n) => [n, 0]));
  for (const d of deps) {
    if (d.parent === d.child) continue;
    out.get(d.parent).push(d.child);
    inCalls.set(d.child, inCalls.get(d.child) + d.calls);
    outCalls.set(d.parent, outCalls.get(d.parent) + d.calls);
  }
  const layer = new Map();
  const bfs = (seeds) => {
    const queue = [...seeds];
    for (const s of seeds) layer.set(s, 0);
    while (queue.length) {
      const n = queue.shift();
      for (const c of out.get(n)) if (!layer.has(c)) { layer.set(c, layer.get(n) + 1); queue.push(c); }
    }
  };
  bfs(names.filter((n) => inCalls.get(n) === 0));
  for (;;) {
    const rest = names.filter((n) => !layer.has(n));
    if (!rest.length) break;
    rest.sort((a, b) => (outCalls.get(b) - inCalls.get(b)) - (outCalls.get(a) - inCalls.get(a)) || (a < b ? -1 : 1));
    bfs([rest[0]]);
  }
  const cols = new Map();
  for (const n of names) {
    const l = layer.get(n);
    if (!cols.has(l)) cols.set(l, []);
    cols.get(l).push(n);
  }
  const NW = 170, NH = 34, GX = 110, GY = 34, PAD = 20;
  const pos = new Map();
  let maxRows = 0;
  for (const [l, ns] of cols) {
    maxRows = Math.max(maxRows, ns.length);
    ns.forEach((n, i) => pos.set(n, { x: PAD + l * (NW + GX), y: PAD + i * (NH + GY) }));
  }
  const W = PAD * 2 + (Math.max(...cols.keys()) + 1) * (NW + GX);
  const H = PAD * 2 + maxRows * (NH + GY) - GY + 60;
  const root = svg('svg', { class: 'map', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': 'service dependency graph' },
    svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }))));
  for (const d of deps) {
    if (d.parent === d.child) continue;
    const a = pos.get(d.parent), b = pos.get(d.child);
    const x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x, y2 = b.y + NH / 2;
    let path, lx, ly;
    if (b.x > a.x) {
      path = `M${x1},${y1} C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}`;
      [lx, ly] = [(x1 + x2) / 2, (y1 + y2) / 2 - 5];
    } else if (b.x === a.x) { // same column: an arc out to the right
      const bulge = a.x + NW + 30 + Math.abs(y2 - y1) * 0.25;
      path = `M${x1},${y1} C${bulge},${y1} ${bulge},${y2} ${x1},${y2}`;
      [lx, ly] = [bulge - 4, (y1 + y2) / 2 + 4];
    } else { // backwards: under the nodes
      path = `M${a.x + NW / 2},${a.y + NH} C${a.x + NW / 2},${a.y + NH + 60} ${b.x + NW / 2},${b.y + NH + 60} ${b.x + NW / 2},${b.y + NH}`;
      [lx, ly] = [(a.x + b.x + NW) / 2, Math.max(a.y, b.y) + NH + 40];
    }
    const g = svg('g', { class: d.errors ? 'edge edge-err' : 'edge' },
      svg('path', { d: path, 'marker-end': 'url(#arrow)' }),
      svg('title', {}, `${d.parent} → ${d.child}: ${d.calls} calls, ${d.errors} errors`));
    g.append(svg('text', { x: lx, y: ly, 'text-anchor': b.x === a.x ? 'start' : 'middle', class: 'edge-label' }, `${d.calls}${d.errors ? ` (${d.errors} err)` : ''}`));
    root.append(g);
  }
  for (const n of names) {
    const p = pos.get(n);
    const label = n.length > 22 ? `${n.slice(0, 21)}…` : n;
    const rect = svg('rect', { x: p.x, y: p.y, width: NW, height: NH, rx: 6 });
    const dot = svg('circle', { cx: p.x + 14, cy: p.y + NH / 2, r: 5 });
    dot.style.fill = serviceColor(n);
    root.append(svg('g', { class: 'node' }, rect, dot,
      svg('text', { x: p.x + 26, y: p.y + NH / 2 + 4 }, label), svg('title', {}, n)));
  }
  return el('div.map-wrap', null, root);
}

// ------------------------------------------------------------------ alerts

async function loadAlerts(target, mini) {
  clear(target).append(el('p.muted', { text: 'Loading…' }));
  let j;
  try {
    j = await getJson('/api/alerts');
  } catch (e) {
    clear(target).append(e.status === 404 || e.status === 501
      ? el('p.muted.alerts-none', { text: 'no alerting configured' })
      : errorBox(e));
    return;
  }
  const alerts = Array.isArray(j) ? j : Array.isArray(j.alerts) ? j.alerts : Array.isArray(j.data) ? j.data : [];
  const firing = alerts.filter((a) => /firing|active|alerting/i.test(String(a?.state ?? a?.status ?? '')));
  const badge = $('alert-badge');
  badge.hidden = !firing.length;
  badge.textContent = String(firing.length);
  clear(target);
  if (!alerts.length) {
    target.append(el('p.muted.alerts-none', { text: 'No alerts.' }));
    return;
  }
  const list = el('ul.alert-list');
  for (const a of mini ? alerts.slice(0, 5) : alerts) {
    if (!a || typeof a !== 'object') continue;
    const state = String(a.state ?? a.status ?? '');
    const name = String(a.name ?? a.alertname ?? a.rule ?? a.id ?? '(unnamed)');
    const summary = a.summary ?? a.description ?? a.message ?? a.annotations?.summary;
    const since = a.activeAt ?? a.since ?? a.startsAt ?? a.firedAt;
    list.append(el(`li.alert.state-${state.toLowerCase().replace(/[^a-z]/g, '') || 'unknown'}`, null,
      el('div', null, el('span.sev', { text: state || '?' }), ' ', el('b', { text: name }),
        a.severity ? el('span.muted', { text: ` ${a.severity}` }) : null,
        since ? el('span.muted', { text: ` since ${String(since)}` }) : null),
      summary ? el('div', { text: String(summary) }) : null,
      mini ? null : el('details', null, el('summary', { text: 'details' }), el('pre', { text: JSON.stringify(a, null, 2) }))));
  }
  target.append(list);
  if (mini && alerts.length > 5) target.append(el('a', { href: '#/alerts', text: `all ${alerts.length} alerts` }));
}

// ------------------------------------------------------------------ start

function init() {
  initSearch();
  initTrace();
  initCorrelation();
  $('map-lookback').addEventListener('change', () => showMap(++generation));
  window.addEventListener('hashchange', route);
  loadServices();
  loadAlerts($('alerts-mini'), true);
  route();
}

init();
