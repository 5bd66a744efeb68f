// The trace waterfall: the span tree as rows with a timeline bar each, collapsible.
// Rows are virtualized: only those in (or near) the viewport exist in the DOM, so a
// trace of 10,000 or 100,000 spans costs the same to scroll as one of 50, and the
// rows of a collapsed subtree are never built at all.
import { el, clear, fmtDuration, serviceColor } from './util.js';

const ROW_H = 24;
const OVERSCAN = 12;

// Builds the tree from a flat list of nodes {id, parentId, startNs, durNs, ...}.
// Spans whose parent is missing (or that sit in a parent cycle) become roots, so
// every span is shown exactly once whatever the data says. Iterative throughout:
// a hostile 10,000-deep chain must not overflow the stack.
export function buildTree(nodes) {
  const byId = new Map();
  for (const n of nodes) {
    n.children = [];
    n.parent = null;
    n.depth = 0;
    n.collapsed = false;
    if (!byId.has(n.id)) byId.set(n.id, n);
  }
  const roots = [];
  for (const n of nodes) {
    const p = n.parentId ? byId.get(n.parentId) : undefined;
    if (p && p !== n) {
      n.parent = p;
      p.children.push(n);
    } else {
      n.orphan = Boolean(n.parentId);
      roots.push(n);
    }
  }
  const byStart = (a, b) => a.startNs - b.startNs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  roots.sort(byStart);
  const seen = new Set();
  const order = [];
  const walk = (start) => {
    const stack = [start];
    while (stack.length) {
      const n = stack.pop();
      if (seen.has(n)) continue;
      seen.add(n);
      order.push(n);
      n.depth = n.parent && seen.has(n.parent) ? n.parent.depth + 1 : 0;
      n.children.sort(byStart);
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
    }
  };
  for (const r of roots) walk(r);
  // Whatever is left is only reachable through a cycle: cut it open at its earliest span.
  const rest = nodes.filter((n) => !seen.has(n)).sort(byStart);
  for (const n of rest) {
    if (seen.has(n)) continue;
    if (n.parent) n.parent.children = n.parent.children.filter((c) => c !== n);
    n.parent = null;
    n.orphan = true;
    roots.push(n);
    walk(n);
  }
  for (const n of order) n.descendants = 0;
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i];
    if (n.parent) n.parent.descendants += n.descendants + 1;
  }
  return { roots, order, byId };
}

export class Waterfall {
  // tree: from buildTree; span nodes carry name, service, startNs (relative to the
  // trace start), durNs, error. onSelect(node) is called on a click on a row.
  constructor(container, tree, { totalNs, onSelect }) {
    this.tree = tree;
    this.totalNs = Math.max(1, totalNs);
    this.onSelect = onSelect;
    this.selected = null;
    this.marked = new Set();
    this.rows = [];
    this.renderedRange = [-1, -1];

    this.head = el('div.wf-head', null,
      el('div.wf-head-name', { text: 'Service · operation' }),
      this.ticks = el('div.wf-head-time'));
    this.canvas = el('div.wf-canvas');
    this.scroller = el('div.wf-scroll', { tabindex: '0', role: 'tree', 'aria-label': 'span tree' }, this.canvas);
    clear(container).append(this.head, this.scroller);
    for (let i = 0; i <= 4; i++) {
      const t = el('span.wf-tick', { text: fmtDuration((this.totalNs * i) / 4) });
      t.style.left = `${i * 25}%`;
      if (i === 4) t.classList.add('wf-tick-last');
      this.ticks.append(t);
    }

    let pending = false;
    this.scroller.addEventListener('scroll', () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; this.renderWindow(); });
    }, { passive: true });
    this.canvas.addEventListener('click', (ev) => this.onClick(ev));
    this.scroller.addEventListener('keydown', (ev) => this.onKey(ev));
    this.resizeObserver = new ResizeObserver(() => this.renderWindow(true));
    this.resizeObserver.observe(this.scroller);
    this.relayout();
  }

  destroy() {
    this.resizeObserver.disconnect();
  }

  // Recomputes the visible rows (after a collapse or expand) and redraws.
  relayout() {
    const rows = [];
    const stack = [];
    for (let i = this.tree.roots.length - 1; i >= 0; i--) stack.push(this.tree.roots[i]);
    while (stack.length) {
      const n = stack.pop();
      rows.push(n);
      if (!n.collapsed) for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
    }
    this.rows = rows;
    this.rowIndex = new Map();
    rows.forEach((n, i) => this.rowIndex.set(n, i));
    this.canvas.style.height = `${rows.length * ROW_H}px`;
    this.renderWindow(true);
  }

  renderWindow(force = false) {
    const top = this.scroller.scrollTop;
    const h = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((top + h) / ROW_H) + OVERSCAN);
    if (!force && first === this.renderedRange[0] && last === this.renderedRange[1]) return;
    this.renderedRange = [first, last];
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) frag.append(this.renderRow(this.rows[i], i));
    this.canvas.replaceChildren(frag);
  }

  renderRow(n, i) {
    const row = document.createElement('div');
    row.className = 'wf-row';
    if (n === this.selected) row.classList.add('selected');
    if (this.marked.has(n)) row.classList.add('marked');
    if (n.error) row.classList.add('error');
    row.style.top = `${i * ROW_H}px`;
    row.dataset.index = String(i);
    row.dataset.spanId = n.id;
    row.setAttribute('role', 'treeitem');
    row.setAttribute('aria-level', String(n.depth + 1));
    if (n.children.length) row.setAttribute('aria-expanded', String(!n.collapsed));

    const name = document.createElement('div');
    name.className = 'wf-name';
    name.style.paddingLeft = `${4 + Math.min(n.depth, 40) * 14}px`;
    if (n.children.length) {
      const t = document.createElement('button');
      t.className = 'wf-toggle';
      t.type = 'button';
      t.textContent = n.collapsed ? '▸' : '▾';
      t.title = n.collapsed ? `expand (${n.descendants} spans)` : 'collapse';
      t.setAttribute('aria-label', n.collapsed ? 'expand' : 'collapse');
      name.append(t);
    } else {
      const t = document.createElement('span');
      t.className = 'wf-toggle-none';
      name.append(t);
    }
    const chip = document.createElement('span');
    chip.className = 'wf-chip';
    chip.style.backgroundColor = serviceColor(n.service);
    name.append(chip);
    const svc = document.createElement('span');
    svc.className = 'wf-svc';
    svc.textContent = n.service;
    const op = document.createElement('span');
    op.className = 'wf-op';
    op.textContent = n.name;
    name.append(svc, op);
    if (n.collapsed && n.descendants) {
      const more = document.createElement('span');
      more.className = 'wf-more';
      more.textContent = `+${n.descendants}`;
      name.append(more);
    }
    if (n.error) {
      const e = document.createElement('span');
      e.className = 'wf-err';
      e.textContent = '!';
      e.title = 'error';
      name.append(e);
    }
    name.title = `${n.service}: ${n.name}`;

    const lane = document.createElement('div');
    lane.className = 'wf-lane';
    const bar = document.createElement('div');
    bar.className = 'wf-bar';
    const left = (Math.max(0, n.startNs) / this.totalNs) * 100;
    const width = Math.max((n.durNs / this.totalNs) * 100, 0.15);
    bar.style.left = `${Math.min(left, 99.85)}%`;
    bar.style.width = `${Math.min(width, 100 - Math.min(left, 99.85))}%`;
    bar.style.backgroundColor = n.error ? '' : serviceColor(n.service);
    const label = document.createElement('span');
    label.className = 'wf-dur';
    label.textContent = fmtDuration(n.durNs);
    if (left > 70) {
      label.classList.add('wf-dur-left');
      label.style.right = `${100 - left}%`;
    } else {
      label.style.left = `${left + width}%`;
    }
    lane.append(bar, label);
    row.append(name, lane);
    return row;
  }

  onClick(ev) {
    const row = ev.target.closest('.wf-row');
    if (!row) return;
    const n = this.rows[Number(row.dataset.index)];
    if (!n) return;
    if (ev.target.closest('.wf-toggle')) this.toggle(n);
    else this.select(n, { scroll: false, notify: true });
  }

  onKey(ev) {
    const n = this.selected;
    if (!n) return;
    let i = this.rowIndex.get(n);
    if (i === undefined) return;
    if (ev.key === 'ArrowDown') i = Math.min(this.rows.length - 1, i + 1);
    else if (ev.key === 'ArrowUp') i = Math.max(0, i - 1);
    else if (ev.key === 'ArrowLeft' && n.children.length && !n.collapsed) { this.toggle(n); ev.preventDefault(); return; }
    else if (ev.key === 'ArrowRight' && n.collapsed) { this.toggle(n); ev.preventDefault(); return; }
    else return;
    ev.preventDefault();
    this.select(this.rows[i], { scroll: true, notify: true });
  }

  toggle(n) {
    n.collapsed = !n.collapsed;
    this.relayout();
  }

  setAll(collapsed) {
    for (const n of this.tree.order) if (n.children.length) n.collapsed = collapsed;
    this.relayout();
  }

  // Selects a span: expands its ancestors, scrolls it into view, highlights it.
  select(n, { scroll = true, notify = false } = {}) {
    if (!n) return;
    let changed = false;
    for (let p = n.parent; p; p = p.parent) if (p.collapsed) { p.collapsed = false; changed = true; }
    this.selected = n;
    if (changed) this.relayout();
    if (scroll) {
      const i = this.rowIndex.get(n);
      const top = i * ROW_H, h = this.scroller.clientHeight;
      if (top < this.scroller.scrollTop || top + ROW_H > this.scroller.scrollTop + h) {
        this.scroller.scrollTop = Math.max(0, top - h / 3);
      }
    }
    this.renderWindow(true);
    if (notify && this.onSelect) this.onSelect(n);
  }

  // Marks rows (e.g. the spans of the selected log); no scrolling.
  mark(nodes) {
    this.marked = new Set(nodes);
    this.renderWindow(true);
  }
}
