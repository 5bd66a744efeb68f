// Minimal, independent OTLP trace codec for the tests: a protobuf reader/writer for the
// opentelemetry.proto.collector.trace.v1 messages, and a canonical form used to compare
// what was sent with what the API returns (OTLP/JSON or protobuf, defaults made explicit).
import assert from 'node:assert/strict';

// ---------------------------------------------------------------- protobuf wire reader

export class PbReader {
  constructor(buf, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }
  eof() { return this.pos >= this.end; }
  varint() { // returns BigInt
    let result = 0n, shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    throw new Error('varint too long');
  }
  tag() {
    const t = Number(this.varint());
    return { field: t >>> 3, wire: t & 7 };
  }
  bytes() {
    const len = Number(this.varint());
    if (this.pos + len > this.end) throw new Error(`truncated length-delimited field (need ${len} bytes, have ${this.end - this.pos})`);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  fixed64() {
    if (this.pos + 8 > this.end) throw new Error('truncated fixed64');
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  fixed32() {
    if (this.pos + 4 > this.end) throw new Error('truncated fixed32');
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  double() {
    if (this.pos + 8 > this.end) throw new Error('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  skip(wire) {
    switch (wire) {
      case 0: this.varint(); break;
      case 1: this.pos += 8; break;
      case 2: this.bytes(); break;
      case 5: this.pos += 4; break;
      default: throw new Error(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) throw new Error('truncated field');
  }
}

// Generic decode into { fieldNumber: [raw values] } — used for tiny messages (Status, responses).
export function pbFields(buf) {
  const r = new PbReader(Buffer.from(buf));
  const out = {};
  while (!r.eof()) {
    const { field, wire } = r.tag();
    let v;
    if (wire === 0) v = r.varint();
    else if (wire === 2) v = Buffer.from(r.bytes());
    else if (wire === 1) v = r.fixed64();
    else if (wire === 5) v = r.fixed32();
    else throw new Error(`unsupported wire type ${wire}`);
    (out[field] ??= []).push(v);
  }
  return out;
}

const toSigned64 = (u) => BigInt.asIntN(64, u);

// Schemas: field number -> [name, kind, repeated?]. kinds: string, bytes, uint32(varint),
// int64(varint, signed), enum(varint), bool, fixed64, fixed32, double, or a nested schema name.
const S = {
  ExportTraceServiceRequest: { 1: ['resourceSpans', 'ResourceSpans', true] },
  ResourceSpans: { 1: ['resource', 'Resource'], 2: ['scopeSpans', 'ScopeSpans', true], 3: ['schemaUrl', 'string'] },
  Resource: { 1: ['attributes', 'KeyValue', true], 2: ['droppedAttributesCount', 'uint32'] },
  ScopeSpans: { 1: ['scope', 'InstrumentationScope'], 2: ['spans', 'Span', true], 3: ['schemaUrl', 'string'] },
  InstrumentationScope: { 1: ['name', 'string'], 2: ['version', 'string'], 3: ['attributes', 'KeyValue', true], 4: ['droppedAttributesCount', 'uint32'] },
  Span: {
    1: ['traceId', 'bytes'], 2: ['spanId', 'bytes'], 3: ['traceState', 'string'], 4: ['parentSpanId', 'bytes'],
    5: ['name', 'string'], 6: ['kind', 'enum'], 7: ['startTimeUnixNano', 'fixed64'], 8: ['endTimeUnixNano', 'fixed64'],
    9: ['attributes', 'KeyValue', true], 10: ['droppedAttributesCount', 'uint32'], 11: ['events', 'Event', true],
    12: ['droppedEventsCount', 'uint32'], 13: ['links', 'Link', true], 14: ['droppedLinksCount', 'uint32'],
    15: ['status', 'Status'], 16: ['flags', 'fixed32'],
  },
  Event: { 1: ['timeUnixNano', 'fixed64'], 2: ['name', 'string'], 3: ['attributes', 'KeyValue', true], 4: ['droppedAttributesCount', 'uint32'] },
  Link: {
    1: ['traceId', 'bytes'], 2: ['spanId', 'bytes'], 3: ['traceState', 'string'], 4: ['attributes', 'KeyValue', true],
    5: ['droppedAttributesCount', 'uint32'], 6: ['flags', 'fixed32'],
  },
  Status: { 2: ['message', 'string'], 3: ['code', 'enum'] },
  KeyValue: { 1: ['key', 'string'], 2: ['value', 'AnyValue'] },
  AnyValue: {
    1: ['stringValue', 'string'], 2: ['boolValue', 'bool'], 3: ['intValue', 'int64'], 4: ['doubleValue', 'double'],
    5: ['arrayValue', 'ArrayValue'], 6: ['kvlistValue', 'KeyValueList'], 7: ['bytesValue', 'bytes'],
  },
  ArrayValue: { 1: ['values', 'AnyValue', true] },
  KeyValueList: { 1: ['values', 'KeyValue', true] },
  ExportTraceServiceResponse: { 1: ['partialSuccess', 'ExportTracePartialSuccess'] },
  ExportTracePartialSuccess: { 1: ['rejectedSpans', 'int64'], 2: ['errorMessage', 'string'] },
  Status_rpc: { 1: ['code', 'int32'], 2: ['message', 'string'], 3: ['details', 'bytes', true] },
};

const WIRE = { string: 2, bytes: 2, uint32: 0, int64: 0, int32: 0, enum: 0, bool: 0, fixed64: 1, fixed32: 5, double: 1 };

// Decode a protobuf message into a plain object. bytes -> Buffer, 64-bit -> BigInt.
// Throws on malformed input (truncation, wrong wire types). `offsets`, if given, collects
// the byte ranges of every nested message by type (used to cut a body inside a span).
export function pbDecode(type, buf, start = 0, end = undefined, offsets = null) {
  buf = Buffer.isBuffer(buf) ? buf : Buffer.from(buf);
  const schema = S[type];
  if (!schema) throw new Error(`unknown message type ${type}`);
  const r = new PbReader(buf, start, end ?? buf.length);
  const obj = {};
  while (!r.eof()) {
    const { field, wire } = r.tag();
    const def = schema[field];
    if (!def) { r.skip(wire); continue; }
    const [name, kind, repeated] = def;
    let v;
    const nested = S[kind];
    const expectedWire = nested ? 2 : WIRE[kind];
    if (wire !== expectedWire) throw new Error(`${type}.${name}: wire type ${wire}, expected ${expectedWire}`);
    if (nested) {
      const len = Number(r.varint());
      const s = r.pos;
      if (s + len > r.end) throw new Error(`${type}.${name}: truncated (need ${len} bytes, have ${r.end - s})`);
      if (offsets) (offsets[kind] ??= []).push({ start: s, end: s + len });
      v = pbDecode(kind, buf, s, s + len, offsets);
      r.pos = s + len;
    } else {
      switch (kind) {
        case 'string': v = Buffer.from(r.bytes()).toString('utf8'); break;
        case 'bytes': v = Buffer.from(r.bytes()); break;
        case 'uint32': v = Number(r.varint() & 0xffffffffn); break;
        case 'int32': v = Number(BigInt.asIntN(32, r.varint())); break;
        case 'enum': v = Number(BigInt.asIntN(32, r.varint())); break;
        case 'int64': v = toSigned64(r.varint()); break;
        case 'bool': v = r.varint() !== 0n; break;
        case 'fixed64': v = r.fixed64(); break;
        case 'fixed32': v = r.fixed32(); break;
        case 'double': v = r.double(); break;
        default: throw new Error(`bad kind ${kind}`);
      }
    }
    if (repeated) (obj[name] ??= []).push(v);
    else obj[name] = v;
  }
  return obj;
}

// ---------------------------------------------------------------- protobuf writer

function varintBytes(v) {
  let n = BigInt.asUintN(64, BigInt(v));
  const out = [];
  while (n >= 0x80n) { out.push(Number((n & 0x7fn) | 0x80n)); n >>= 7n; }
  out.push(Number(n));
  return Buffer.from(out);
}
function tagBytes(field, wire) { return varintBytes((field << 3) | wire); }
function lenDelim(field, payload) { return Buffer.concat([tagBytes(field, 2), varintBytes(payload.length), payload]); }

// Encode a plain object (as produced by pbDecode / fromOtlpJson) into protobuf bytes.
export function pbEncode(type, obj) {
  const schema = S[type];
  const parts = [];
  for (const [num, [name, kind, repeated]] of Object.entries(schema).sort((a, b) => a[0] - b[0])) {
    const field = Number(num);
    const raw = obj[name];
    if (raw === undefined || raw === null) continue;
    const values = repeated ? raw : [raw];
    for (const v of values) {
      if (S[kind]) { parts.push(lenDelim(field, pbEncode(kind, v))); continue; }
      switch (kind) {
        case 'string': parts.push(lenDelim(field, Buffer.from(v, 'utf8'))); break;
        case 'bytes': parts.push(lenDelim(field, Buffer.from(v))); break;
        case 'uint32': case 'int32': case 'enum': case 'int64':
          parts.push(tagBytes(field, 0), varintBytes(BigInt(v))); break;
        case 'bool': parts.push(tagBytes(field, 0), varintBytes(v ? 1 : 0)); break;
        case 'fixed64': { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(tagBytes(field, 1), b); break; }
        case 'fixed32': { const b = Buffer.alloc(4); b.writeUInt32LE(Number(v) >>> 0); parts.push(tagBytes(field, 5), b); break; }
        case 'double': { const b = Buffer.alloc(8); b.writeDoubleLE(Number(v)); parts.push(tagBytes(field, 1), b); break; }
        default: throw new Error(`bad kind ${kind}`);
      }
    }
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------- OTLP/JSON <-> pb objects

const hexToBuf = (h) => Buffer.from(h ?? '', 'hex');

// Convert an OTLP/JSON request object into the pb-object shape (hex ids -> bytes, etc.).
export function fromOtlpJson(doc) {
  const anyv = (v) => {
    if (!v) return {};
    if ('stringValue' in v) return { stringValue: v.stringValue };
    if ('boolValue' in v) return { boolValue: v.boolValue };
    if ('intValue' in v) return { intValue: BigInt(v.intValue) };
    if ('doubleValue' in v) return { doubleValue: Number(v.doubleValue) };
    if ('arrayValue' in v) return { arrayValue: { values: (v.arrayValue.values ?? []).map(anyv) } };
    if ('kvlistValue' in v) return { kvlistValue: { values: (v.kvlistValue.values ?? []).map(kv) } };
    if ('bytesValue' in v) return { bytesValue: Buffer.from(v.bytesValue, 'base64') };
    return {};
  };
  const kv = (a) => ({ key: a.key, value: anyv(a.value) });
  const kvs = (l) => (l ?? []).map(kv);
  return {
    resourceSpans: (doc.resourceSpans ?? []).map((rs) => ({
      resource: rs.resource && { attributes: kvs(rs.resource.attributes), droppedAttributesCount: rs.resource.droppedAttributesCount },
      schemaUrl: rs.schemaUrl,
      scopeSpans: (rs.scopeSpans ?? []).map((ss) => ({
        scope: ss.scope && { name: ss.scope.name, version: ss.scope.version, attributes: kvs(ss.scope.attributes), droppedAttributesCount: ss.scope.droppedAttributesCount },
        schemaUrl: ss.schemaUrl,
        spans: (ss.spans ?? []).map((s) => ({
          traceId: hexToBuf(s.traceId), spanId: hexToBuf(s.spanId), traceState: s.traceState,
          parentSpanId: s.parentSpanId ? hexToBuf(s.parentSpanId) : undefined,
          name: s.name, kind: s.kind, startTimeUnixNano: s.startTimeUnixNano !== undefined ? BigInt(s.startTimeUnixNano) : undefined,
          endTimeUnixNano: s.endTimeUnixNano !== undefined ? BigInt(s.endTimeUnixNano) : undefined,
          attributes: kvs(s.attributes), droppedAttributesCount: s.droppedAttributesCount,
          events: (s.events ?? []).map((e) => ({ timeUnixNano: e.timeUnixNano !== undefined ? BigInt(e.timeUnixNano) : undefined, name: e.name, attributes: kvs(e.attributes), droppedAttributesCount: e.droppedAttributesCount })),
          droppedEventsCount: s.droppedEventsCount,
          links: (s.links ?? []).map((l) => ({ traceId: hexToBuf(l.traceId), spanId: hexToBuf(l.spanId), traceState: l.traceState, attributes: kvs(l.attributes), droppedAttributesCount: l.droppedAttributesCount, flags: l.flags })),
          droppedLinksCount: s.droppedLinksCount,
          status: s.status && { code: s.status.code, message: s.status.message },
          flags: s.flags,
        })),
      })),
    })),
  };
}

// ---------------------------------------------------------------- canonical form

// Canonical AnyValue: a small tagged object; attributes become arrays sorted by key.
function canonAny(v, where) {
  if (v === undefined || v === null) return { empty: true };
  const keys = Object.keys(v).filter((k) => v[k] !== undefined);
  if (keys.length === 0) return { empty: true };
  assert.equal(keys.length, 1, `${where}: AnyValue must hold exactly one value, got ${JSON.stringify(v, bigintReplacer)}`);
  const k = keys[0];
  const x = v[k];
  switch (k) {
    case 'stringValue': assert.equal(typeof x, 'string', `${where}: stringValue must be a string`); return { string: x };
    case 'boolValue': assert.equal(typeof x, 'boolean', `${where}: boolValue must be a boolean, got ${JSON.stringify(x)}`); return { bool: x };
    case 'intValue': {
      assert.ok(typeof x === 'bigint' || typeof x === 'string' || (typeof x === 'number' && Number.isInteger(x)),
        `${where}: intValue must be an integer (string or number), got ${JSON.stringify(x, bigintReplacer)}`);
      return { int: BigInt(x).toString() };
    }
    case 'doubleValue': {
      const n = typeof x === 'string' ? Number(x) : x;
      assert.equal(typeof n, 'number', `${where}: doubleValue must be a number`);
      return { double: n };
    }
    case 'arrayValue': return { array: (x?.values ?? []).map((e, i) => canonAny(e, `${where}[${i}]`)) };
    case 'kvlistValue': return { kvlist: canonAttrs(x?.values, `${where}.kvlist`) };
    case 'bytesValue': {
      const b = Buffer.isBuffer(x) || x instanceof Uint8Array ? Buffer.from(x) : Buffer.from(x, 'base64');
      return { bytes: b.toString('base64') };
    }
    default: assert.fail(`${where}: unknown AnyValue field ${k}`);
  }
}

export function canonAttrs(list, where = 'attributes') {
  return (list ?? []).map((a, i) => {
    assert.equal(typeof a.key, 'string', `${where}[${i}]: key must be a string`);
    return [a.key, canonAny(a.value, `${where}.${a.key}`)];
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

const idHex = (v, where, len, { strict }) => {
  if (v === undefined || v === null || v === '') return '';
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  assert.equal(typeof v, 'string', `${where}: must be a hex string, got ${JSON.stringify(v)}`);
  if (strict) assert.match(v, new RegExp(`^[0-9a-f]{${len}}$`), `${where}: must be ${len} lowercase hex chars, got ${JSON.stringify(v)}`);
  return v.toLowerCase();
};

const num = (v, where, def = 0) => {
  if (v === undefined || v === null) return def;
  assert.ok(typeof v === 'number' || typeof v === 'bigint' || (typeof v === 'string' && /^-?\d+$/.test(v)),
    `${where}: must be an integer, got ${JSON.stringify(v, bigintReplacer)}`);
  return Number(v);
};
const enumInt = (v, where) => {
  if (v === undefined || v === null) return 0;
  assert.equal(typeof v, 'number', `${where}: enums must be integers in OTLP/JSON, got ${JSON.stringify(v)}`);
  return v;
};
const nanos = (v, where, { strict }) => {
  if (v === undefined || v === null) return '0';
  if (typeof v === 'bigint') return v.toString();
  if (strict) assert.equal(typeof v, 'string', `${where}: 64-bit timestamps must be decimal strings (a JSON number loses precision), got ${JSON.stringify(v)}`);
  assert.match(String(v), /^\d+$/, `${where}: not a decimal integer: ${JSON.stringify(v)}`);
  return BigInt(v).toString();
};
const str = (v) => (v === undefined || v === null ? '' : v);

// Canonical span record: everything a user can observe, defaults filled in.
// strict=true for documents coming back from the API (lowercase hex ids, string timestamps).
export function canonSpan(s, where, opts = { strict: false }) {
  return {
    traceId: idHex(s.traceId, `${where}.traceId`, 32, opts),
    spanId: idHex(s.spanId, `${where}.spanId`, 16, opts),
    parentSpanId: idHex(s.parentSpanId, `${where}.parentSpanId`, 16, opts),
    traceState: str(s.traceState),
    name: str(s.name),
    kind: enumInt(s.kind, `${where}.kind`),
    startTimeUnixNano: nanos(s.startTimeUnixNano, `${where}.startTimeUnixNano`, opts),
    endTimeUnixNano: nanos(s.endTimeUnixNano, `${where}.endTimeUnixNano`, opts),
    attributes: canonAttrs(s.attributes, `${where}.attributes`),
    droppedAttributesCount: num(s.droppedAttributesCount, `${where}.droppedAttributesCount`),
    events: (s.events ?? []).map((e, i) => ({
      timeUnixNano: nanos(e.timeUnixNano, `${where}.events[${i}].timeUnixNano`, opts),
      name: str(e.name),
      attributes: canonAttrs(e.attributes, `${where}.events[${i}].attributes`),
      droppedAttributesCount: num(e.droppedAttributesCount, `${where}.events[${i}].droppedAttributesCount`),
    })),
    droppedEventsCount: num(s.droppedEventsCount, `${where}.droppedEventsCount`),
    links: (s.links ?? []).map((l, i) => ({
      traceId: idHex(l.traceId, `${where}.links[${i}].traceId`, 32, opts),
      spanId: idHex(l.spanId, `${where}.links[${i}].spanId`, 16, opts),
      traceState: str(l.traceState),
      attributes: canonAttrs(l.attributes, `${where}.links[${i}].attributes`),
      droppedAttributesCount: num(l.droppedAttributesCount, `${where}.links[${i}].droppedAttributesCount`),
      flags: num(l.flags, `${where}.links[${i}].flags`),
    })),
    droppedLinksCount: num(s.droppedLinksCount, `${where}.droppedLinksCount`),
    status: { code: enumInt(s.status?.code, `${where}.status.code`), message: str(s.status?.message) },
    flags: num(s.flags, `${where}.flags`),
  };
}

// Flatten a request/response document (pb-object or OTLP/JSON) into a Map "traceId/spanId" ->
// {resource, scope, span}. Each entry carries its full resource + scope context, so the
// grouping of spans into resourceSpans/scopeSpans does not matter.
export function flattenSpans(doc, where = 'doc', opts = { strict: false }) {
  const out = new Map();
  (doc?.resourceSpans ?? []).forEach((rs, ri) => {
    const resource = {
      attributes: canonAttrs(rs.resource?.attributes, `${where}.resourceSpans[${ri}].resource.attributes`),
      droppedAttributesCount: num(rs.resource?.droppedAttributesCount, `${where}.resourceSpans[${ri}].resource.droppedAttributesCount`),
      schemaUrl: str(rs.schemaUrl),
    };
    (rs.scopeSpans ?? []).forEach((ss, si) => {
      const scope = {
        name: str(ss.scope?.name),
        version: str(ss.scope?.version),
        attributes: canonAttrs(ss.scope?.attributes, `${where}.resourceSpans[${ri}].scopeSpans[${si}].scope.attributes`),
        droppedAttributesCount: num(ss.scope?.droppedAttributesCount, `${where}...scope.droppedAttributesCount`),
        schemaUrl: str(ss.schemaUrl),
      };
      (ss.spans ?? []).forEach((sp, pi) => {
        const w = `${where}.resourceSpans[${ri}].scopeSpans[${si}].spans[${pi}]`;
        const span = canonSpan(sp, w, opts);
        const key = `${span.traceId}/${span.spanId}`;
        assert.ok(!out.has(key), `${where}: span ${key} appears more than once`);
        out.set(key, { resource, scope, span });
      });
    });
  });
  return out;
}

export function bigintReplacer(_k, v) { return typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('hex') : v; }

// Compare the spans of one trace: `expectedFlat` filtered by traceId vs the API document.
export function assertSameSpans(actualDoc, expectedFlat, traceId, label) {
  const actual = flattenSpans(actualDoc, `${label} response`, { strict: true });
  const expected = new Map([...expectedFlat].filter(([, v]) => v.span.traceId === traceId.toLowerCase()));
  assert.ok(expected.size > 0, `${label}: test bug, no expected spans for trace ${traceId}`);
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(),
    `${label}: trace ${traceId} must contain exactly the sent spans (by traceId/spanId)`);
  for (const [key, exp] of expected) {
    const got = actual.get(key);
    assert.deepEqual(got.resource, exp.resource, `${label}: resource of span ${key} (${exp.span.name}) differs`);
    assert.deepEqual(got.scope, exp.scope, `${label}: instrumentation scope of span ${key} (${exp.span.name}) differs`);
    for (const field of Object.keys(exp.span)) {
      assert.deepEqual(got.span[field], exp.span[field], `${label}: span ${key} (${exp.span.name}) field "${field}" differs`);
    }
  }
}

// ---------------------------------------------------------------- small helpers

export function decodeRpcStatus(buf) {
  const s = pbDecode('Status_rpc', buf);
  return { code: s.code ?? 0, message: s.message ?? '', details: s.details ?? [] };
}

export function decodeExportResponse(buf) {
  const r = pbDecode('ExportTraceServiceResponse', buf);
  return {
    rejectedSpans: r.partialSuccess?.rejectedSpans !== undefined ? Number(r.partialSuccess.rejectedSpans) : 0,
    errorMessage: r.partialSuccess?.errorMessage ?? '',
    hasPartialSuccess: r.partialSuccess !== undefined,
  };
}

export function randomHex(bytes) {
  let h = '';
  while (h.length < bytes * 2 || /^0+$/.test(h)) h = [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
  return h;
}

// JSON.parse that keeps 64-bit intValue numbers exact (turns them into strings first).
export function parseJsonLossless(text) {
  return JSON.parse(text.replace(/("intValue"\s*:\s*)(-?\d+)(?=\s*[,}\]])/g, '$1"$2"'));
}

// A small valid OTLP/JSON request: one trace, `n` spans (first is the root), unique ids.
export function simpleTraceDoc({ n = 2, service = 'e2e-svc', padAttr = 0 } = {}) {
  const traceId = randomHex(16);
  const ids = Array.from({ length: n }, () => randomHex(8));
  const t0 = 1_750_000_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e9)) * 1000n;
  const spans = ids.map((id, i) => ({
    traceId, spanId: id, parentSpanId: i === 0 ? undefined : ids[0], name: `op-${i}`, kind: i === 0 ? 2 : 1,
    startTimeUnixNano: String(t0 + BigInt(i) * 1000n), endTimeUnixNano: String(t0 + 5_000_000n + BigInt(i)),
    attributes: [{ key: 'i', value: { intValue: String(i) } }, ...(padAttr ? [{ key: 'pad', value: { stringValue: 'x'.repeat(padAttr) } }] : [])],
    status: { code: 1 },
  }));
  return {
    traceId, spanIds: ids,
    doc: { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ scope: { name: 'e2e' }, spans }] }] },
  };
}

// ---------------------------------------------------------------- Jaeger JSON checks

const JAEGER_KIND = { 1: 'internal', 2: 'server', 3: 'client', 4: 'producer', 5: 'consumer' };

function plainOf(cv) {
  if ('string' in cv) return cv.string;
  if ('bool' in cv) return cv.bool;
  if ('int' in cv) return Number(cv.int);
  if ('double' in cv) return cv.double;
  if ('array' in cv) return cv.array.map(plainOf);
  return undefined;
}

// Check one Jaeger tag/field against a canonical OTLP value.
function assertTag(tags, key, cv, where) {
  const matches = (tags ?? []).filter((t) => t.key === key);
  assert.equal(matches.length, 1, `${where}: expected exactly one tag "${key}", got ${JSON.stringify(tags)}`);
  const t = matches[0];
  const w = `${where}: tag "${key}" = ${JSON.stringify(t)}`;
  if ('string' in cv) { assert.equal(t.type, 'string', w); assert.equal(t.value, cv.string, w); }
  else if ('bool' in cv) { assert.equal(t.type, 'bool', w); assert.equal(t.value, cv.bool, w); }
  else if ('int' in cv) { assert.equal(t.type, 'int64', w); assert.equal(Number(t.value), Number(cv.int), w); }
  else if ('double' in cv) { assert.equal(t.type, 'float64', w); assert.equal(Number(t.value), cv.double, w); }
  else if ('array' in cv && cv.array.every((e) => ['string', 'bool', 'int', 'double'].some((k) => k in e))) {
    // Jaeger has no array type: the OpenTelemetry->Jaeger translation renders arrays as a JSON string.
    assert.equal(t.type, 'string', w);
    let parsed;
    assert.doesNotThrow(() => { parsed = JSON.parse(t.value); }, `${w}: array attribute should be a JSON-encoded array string`);
    assert.deepEqual(parsed, plainOf(cv), w);
  } else {
    assert.ok(t.value !== undefined, w); // kvlist/bytes/nested/empty: only presence is specified
  }
}

export function assertJaegerTrace(jdoc, expectedFlat, traceId, label) {
  const tid = traceId.toLowerCase();
  assert.ok(Array.isArray(jdoc?.data), `${label}: "data" must be an array: ${JSON.stringify(jdoc).slice(0, 500)}`);
  assert.ok(jdoc.errors === null || jdoc.errors === undefined || (Array.isArray(jdoc.errors) && jdoc.errors.length === 0),
    `${label}: "errors" must be null/empty, got ${JSON.stringify(jdoc.errors)}`);
  assert.equal(jdoc.data.length, 1, `${label}: exactly one trace expected in data`);
  const tr = jdoc.data[0];
  assert.equal(tr.traceID, tid, `${label}: traceID`);
  const expected = new Map([...expectedFlat].filter(([, v]) => v.span.traceId === tid).map(([, v]) => [v.span.spanId, v]));
  assert.ok(Array.isArray(tr.spans), `${label}: spans must be an array`);
  assert.deepEqual(tr.spans.map((s) => s.spanID).sort(), [...expected.keys()].sort(), `${label}: set of spanIDs`);
  assert.equal(typeof tr.processes, 'object', `${label}: processes must be an object`);
  for (const js of tr.spans) {
    const { span: e, resource } = expected.get(js.spanID);
    const w = `${label}: span ${js.spanID} (${e.name})`;
    assert.equal(js.traceID, tid, `${w}: traceID`);
    assert.equal(js.operationName, e.name, `${w}: operationName`);
    // references
    const refs = js.references ?? [];
    for (const r of refs) {
      assert.match(r.traceID ?? '', /^[0-9a-f]{16,32}$/, `${w}: reference traceID ${JSON.stringify(r)}`);
      assert.match(r.spanID ?? '', /^[0-9a-f]{16}$/, `${w}: reference spanID ${JSON.stringify(r)}`);
      assert.ok(['CHILD_OF', 'FOLLOWS_FROM'].includes(r.refType), `${w}: refType ${JSON.stringify(r)}`);
    }
    const childOf = refs.filter((r) => r.refType === 'CHILD_OF');
    if (e.parentSpanId) {
      assert.deepEqual(childOf.map((r) => [r.traceID, r.spanID]), [[tid, e.parentSpanId]], `${w}: must have exactly one CHILD_OF reference to its parent; references=${JSON.stringify(refs)}`);
    } else {
      assert.deepEqual(childOf, [], `${w}: root span must have no CHILD_OF reference; references=${JSON.stringify(refs)}`);
    }
    const allowed = new Set([`${tid}/${e.parentSpanId}`, ...e.links.map((l) => `${l.traceId}/${l.spanId}`)]);
    for (const r of refs) assert.ok(allowed.has(`${r.traceID}/${r.spanID}`), `${w}: reference to an unknown span ${JSON.stringify(r)}`);
    // times
    const s = BigInt(e.startTimeUnixNano), en = BigInt(e.endTimeUnixNano);
    assert.equal(typeof js.startTime, 'number', `${w}: startTime must be a number (µs)`);
    assert.equal(BigInt(js.startTime), s / 1000n, `${w}: startTime µs (span start ${s} ns)`);
    const dOk = [(en - s) / 1000n, en / 1000n - s / 1000n].map(String);
    assert.ok(dOk.includes(String(js.duration)), `${w}: duration ${js.duration} µs, expected ${dOk.join(' or ')} (span ${s}..${en} ns)`);
    // tags
    for (const [k, cv] of e.attributes) assertTag(js.tags, k, cv, w);
    const tag = (k) => (js.tags ?? []).find((t) => t.key === k);
    if (JAEGER_KIND[e.kind]) assert.equal(tag('span.kind')?.value, JAEGER_KIND[e.kind], `${w}: span.kind tag (OTLP kind ${e.kind}); tags=${JSON.stringify(js.tags)}`);
    if (e.status.code === 1) {
      assert.equal(tag('otel.status_code')?.value, 'OK', `${w}: otel.status_code`);
      assert.ok(!tag('error') || tag('error').value === false, `${w}: OK span must not be tagged error`);
    } else if (e.status.code === 2) {
      assert.equal(tag('otel.status_code')?.value, 'ERROR', `${w}: otel.status_code`);
      assert.equal(tag('error')?.value, true, `${w}: error tag must be true for an ERROR span; tags=${JSON.stringify(js.tags)}`);
    } else {
      assert.ok(!['OK', 'ERROR'].includes(tag('otel.status_code')?.value), `${w}: UNSET span has otel.status_code ${JSON.stringify(tag('otel.status_code'))}`);
      assert.ok(!tag('error') || tag('error').value === false, `${w}: UNSET span must not be tagged error`);
    }
    if (e.status.message) assert.equal(tag('otel.status_description')?.value, e.status.message, `${w}: otel.status_description`);
    // logs (events), compared in time order
    const logs = [...(js.logs ?? [])].sort((a, b) => a.timestamp - b.timestamp);
    const evs = [...e.events].sort((a, b) => (BigInt(a.timeUnixNano) < BigInt(b.timeUnixNano) ? -1 : 1));
    assert.equal(logs.length, evs.length, `${w}: number of logs (events): ${JSON.stringify(js.logs)}`);
    evs.forEach((ev, i) => {
      const lg = logs[i];
      assert.equal(BigInt(lg.timestamp), BigInt(ev.timeUnixNano) / 1000n, `${w}: log[${i}] timestamp µs (event "${ev.name}")`);
      assert.ok((lg.fields ?? []).some((f) => f.value === ev.name), `${w}: log[${i}] must carry the event name "${ev.name}": ${JSON.stringify(lg.fields)}`);
      for (const [k, cv] of ev.attributes) assertTag(lg.fields, k, cv, `${w} log[${i}] (event "${ev.name}")`);
    });
    // process
    assert.ok(js.processID && tr.processes[js.processID], `${w}: processID ${js.processID} must name an entry of processes ${JSON.stringify(tr.processes)}`);
    const proc = tr.processes[js.processID];
    const svc = resource.attributes.find(([k]) => k === 'service.name');
    if (svc) assert.equal(proc.serviceName, svc[1].string, `${w}: process serviceName`);
    for (const [k, cv] of resource.attributes) if (k !== 'service.name') assertTag(proc.tags, k, cv, `${w} process`);
  }
}

// ================================================================ logs and metrics (appended)
// A second, self-contained protobuf codec for the logs and metrics messages (it also knows
// packed repeated fields and sfixed64), and a canonical form of log records for comparisons.

const S2 = {
  ExportLogsServiceRequest: { 1: ['resourceLogs', 'ResourceLogs', true] },
  ResourceLogs: { 1: ['resource', 'Resource'], 2: ['scopeLogs', 'ScopeLogs', true], 3: ['schemaUrl', 'string'] },
  ScopeLogs: { 1: ['scope', 'InstrumentationScope'], 2: ['logRecords', 'LogRecord', true], 3: ['schemaUrl', 'string'] },
  LogRecord: {
    1: ['timeUnixNano', 'fixed64'], 11: ['observedTimeUnixNano', 'fixed64'], 2: ['severityNumber', 'enum'],
    3: ['severityText', 'string'], 5: ['body', 'AnyValue'], 6: ['attributes', 'KeyValue', true],
    7: ['droppedAttributesCount', 'uint32'], 8: ['flags', 'fixed32'], 9: ['traceId', 'bytes'], 10: ['spanId', 'bytes'],
    12: ['eventName', 'string'],
  },
  ExportLogsServiceResponse: { 1: ['partialSuccess', 'ExportLogsPartialSuccess'] },
  ExportLogsPartialSuccess: { 1: ['rejectedLogRecords', 'int64'], 2: ['errorMessage', 'string'] },
  ExportMetricsServiceRequest: { 1: ['resourceMetrics', 'ResourceMetrics', true] },
  ResourceMetrics: { 1: ['resource', 'Resource'], 2: ['scopeMetrics', 'ScopeMetrics', true], 3: ['schemaUrl', 'string'] },
  ScopeMetrics: { 1: ['scope', 'InstrumentationScope'], 2: ['metrics', 'Metric', true], 3: ['schemaUrl', 'string'] },
  Metric: {
    1: ['name', 'string'], 2: ['description', 'string'], 3: ['unit', 'string'], 5: ['gauge', 'Gauge'], 7: ['sum', 'Sum'],
    9: ['histogram', 'Histogram'], 10: ['exponentialHistogram', 'ExponentialHistogram'], 11: ['summary', 'Summary'],
    12: ['metadata', 'KeyValue', true],
  },
  Gauge: { 1: ['dataPoints', 'NumberDataPoint', true] },
  Sum: { 1: ['dataPoints', 'NumberDataPoint', true], 2: ['aggregationTemporality', 'enum'], 3: ['isMonotonic', 'bool'] },
  Histogram: { 1: ['dataPoints', 'HistogramDataPoint', true], 2: ['aggregationTemporality', 'enum'] },
  ExponentialHistogram: { 1: ['dataPoints', 'ExponentialHistogramDataPoint', true], 2: ['aggregationTemporality', 'enum'] },
  Summary: { 1: ['dataPoints', 'SummaryDataPoint', true] },
  NumberDataPoint: {
    7: ['attributes', 'KeyValue', true], 2: ['startTimeUnixNano', 'fixed64'], 3: ['timeUnixNano', 'fixed64'],
    4: ['asDouble', 'double'], 6: ['asInt', 'sfixed64'], 5: ['exemplars', 'Exemplar', true], 8: ['flags', 'uint32'],
  },
  HistogramDataPoint: {
    9: ['attributes', 'KeyValue', true], 2: ['startTimeUnixNano', 'fixed64'], 3: ['timeUnixNano', 'fixed64'],
    4: ['count', 'fixed64'], 5: ['sum', 'double'], 6: ['bucketCounts', 'fixed64', true], 7: ['explicitBounds', 'double', true],
    8: ['exemplars', 'Exemplar', true], 10: ['flags', 'uint32'], 11: ['min', 'double'], 12: ['max', 'double'],
  },
  ExponentialHistogramDataPoint: {
    1: ['attributes', 'KeyValue', true], 2: ['startTimeUnixNano', 'fixed64'], 3: ['timeUnixNano', 'fixed64'],
    4: ['count', 'fixed64'], 5: ['sum', 'double'], 6: ['scale', 'sint32'], 7: ['zeroCount', 'fixed64'],
    8: ['positive', 'Buckets'], 9: ['negative', 'Buckets'], 10: ['flags', 'uint32'], 11: ['exemplars', 'Exemplar', true],
    12: ['min', 'double'], 13: ['max', 'double'], 14: ['zeroThreshold', 'double'],
  },
  Buckets: { 1: ['offset', 'sint32'], 2: ['bucketCounts', 'uint64', true] },
  SummaryDataPoint: {
    7: ['attributes', 'KeyValue', true], 2: ['startTimeUnixNano', 'fixed64'], 3: ['timeUnixNano', 'fixed64'],
    4: ['count', 'fixed64'], 5: ['sum', 'double'], 6: ['quantileValues', 'ValueAtQuantile', true], 8: ['flags', 'uint32'],
  },
  ValueAtQuantile: { 1: ['quantile', 'double'], 2: ['value', 'double'] },
  Exemplar: {
    7: ['filteredAttributes', 'KeyValue', true], 2: ['timeUnixNano', 'fixed64'], 3: ['asDouble', 'double'],
    6: ['asInt', 'sfixed64'], 4: ['spanId', 'bytes'], 5: ['traceId', 'bytes'],
  },
  ExportMetricsServiceResponse: { 1: ['partialSuccess', 'ExportMetricsPartialSuccess'] },
  ExportMetricsPartialSuccess: { 1: ['rejectedDataPoints', 'int64'], 2: ['errorMessage', 'string'] },
  Resource: S.Resource, InstrumentationScope: S.InstrumentationScope, KeyValue: S.KeyValue, AnyValue: S.AnyValue,
  ArrayValue: S.ArrayValue, KeyValueList: S.KeyValueList,
};
const WIRE2 = { ...WIRE, sfixed64: 1, sint32: 0, uint64: 0 };
const SCALAR_SIZE = { fixed64: 8, sfixed64: 8, double: 8, fixed32: 4 };

function readScalar2(r, kind) {
  switch (kind) {
    case 'string': return Buffer.from(r.bytes()).toString('utf8');
    case 'bytes': return Buffer.from(r.bytes());
    case 'uint32': return Number(r.varint() & 0xffffffffn);
    case 'int32': case 'enum': return Number(BigInt.asIntN(32, r.varint()));
    case 'int64': return BigInt.asIntN(64, r.varint());
    case 'uint64': return r.varint();
    case 'sint32': { const u = Number(r.varint() & 0xffffffffn); return (u >>> 1) ^ -(u & 1); }
    case 'bool': return r.varint() !== 0n;
    case 'fixed64': return r.fixed64();
    case 'sfixed64': return BigInt.asIntN(64, r.fixed64());
    case 'fixed32': return r.fixed32();
    case 'double': return r.double();
    default: throw new Error(`bad kind ${kind}`);
  }
}

// Decode a logs/metrics protobuf message (types of S2). Same conventions as pbDecode.
export function pbDecodeOtlp(type, buf, start = 0, end = undefined) {
  buf = Buffer.isBuffer(buf) ? buf : Buffer.from(buf);
  const schema = S2[type];
  if (!schema) throw new Error(`unknown message type ${type}`);
  const r = new PbReader(buf, start, end ?? buf.length);
  const obj = {};
  while (!r.eof()) {
    const { field, wire } = r.tag();
    const def = schema[field];
    if (!def) { r.skip(wire); continue; }
    const [name, kind, repeated] = def;
    if (S2[kind]) {
      if (wire !== 2) throw new Error(`${type}.${name}: wire type ${wire}, expected 2`);
      const len = Number(r.varint());
      const s = r.pos;
      if (s + len > r.end) throw new Error(`${type}.${name}: truncated`);
      const v = pbDecodeOtlp(kind, buf, s, s + len);
      r.pos = s + len;
      if (repeated) (obj[name] ??= []).push(v); else obj[name] = v;
      continue;
    }
    if (repeated && wire === 2 && WIRE2[kind] !== 2) { // packed
      const len = Number(r.varint());
      const sub = new PbReader(buf, r.pos, r.pos + len);
      if (r.pos + len > r.end) throw new Error(`${type}.${name}: truncated packed field`);
      r.pos += len;
      while (!sub.eof()) (obj[name] ??= []).push(readScalar2(sub, kind));
      obj[name] ??= [];
      continue;
    }
    if (wire !== WIRE2[kind]) throw new Error(`${type}.${name}: wire type ${wire}, expected ${WIRE2[kind]}`);
    const v = readScalar2(r, kind);
    if (repeated) (obj[name] ??= []).push(v); else obj[name] = v;
  }
  return obj;
}

// Encode a plain object into a logs/metrics protobuf message (packed repeated scalars).
export function pbEncodeOtlp(type, obj) {
  const schema = S2[type];
  if (!schema) throw new Error(`unknown message type ${type}`);
  const parts = [];
  const scalar = (kind, v) => {
    switch (kind) {
      case 'uint32': case 'int32': case 'enum': case 'int64': case 'uint64': return varintBytes(BigInt(v));
      case 'sint32': { const n = Number(v); return varintBytes(BigInt(((n << 1) ^ (n >> 31)) >>> 0)); }
      case 'bool': return varintBytes(v ? 1 : 0);
      case 'fixed64': case 'sfixed64': { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v))); return b; }
      case 'fixed32': { const b = Buffer.alloc(4); b.writeUInt32LE(Number(v) >>> 0); return b; }
      case 'double': { const b = Buffer.alloc(8); b.writeDoubleLE(Number(v)); return b; }
      default: throw new Error(`bad kind ${kind}`);
    }
  };
  for (const [num, [name, kind, repeated]] of Object.entries(schema).sort((a, b) => a[0] - b[0])) {
    const field = Number(num);
    const raw = obj[name];
    if (raw === undefined || raw === null) continue;
    if (S2[kind]) { for (const v of repeated ? raw : [raw]) parts.push(lenDelim(field, pbEncodeOtlp(kind, v))); continue; }
    if (kind === 'string' || kind === 'bytes') {
      for (const v of repeated ? raw : [raw]) parts.push(lenDelim(field, kind === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v)));
      continue;
    }
    if (repeated) { parts.push(lenDelim(field, Buffer.concat(raw.map((v) => scalar(kind, v))))); continue; }
    parts.push(tagBytes(field, WIRE2[kind]), scalar(kind, raw));
  }
  return Buffer.concat(parts);
}

// OTLP/JSON logs request -> pb-object (for pbEncodeOtlp). Ids: hex -> bytes (kept as given,
// even when the length is wrong, so invalid ids can be sent in protobuf too).
export function logsFromOtlpJson(doc) {
  const anyv = (v) => { // reuse the trace converter's AnyValue conversion through a one-attribute span
    if (!v) return undefined;
    const conv = fromOtlpJson({ resourceSpans: [{ scopeSpans: [{ spans: [{ attributes: [{ key: 'x', value: v }] }] }] }] });
    return conv.resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value;
  };
  const kvs = (l) => (l ?? []).map((a) => ({ key: a.key, value: anyv(a.value) ?? {} }));
  return {
    resourceLogs: (doc.resourceLogs ?? []).map((rl) => ({
      resource: rl.resource && { attributes: kvs(rl.resource.attributes), droppedAttributesCount: rl.resource.droppedAttributesCount },
      schemaUrl: rl.schemaUrl,
      scopeLogs: (rl.scopeLogs ?? []).map((sl) => ({
        scope: sl.scope && { name: sl.scope.name, version: sl.scope.version, attributes: kvs(sl.scope.attributes), droppedAttributesCount: sl.scope.droppedAttributesCount },
        schemaUrl: sl.schemaUrl,
        logRecords: (sl.logRecords ?? []).map((r) => ({
          timeUnixNano: r.timeUnixNano !== undefined ? BigInt(r.timeUnixNano) : undefined,
          observedTimeUnixNano: r.observedTimeUnixNano !== undefined ? BigInt(r.observedTimeUnixNano) : undefined,
          severityNumber: r.severityNumber, severityText: r.severityText, body: anyv(r.body),
          attributes: kvs(r.attributes), droppedAttributesCount: r.droppedAttributesCount, flags: r.flags,
          traceId: r.traceId ? Buffer.from(r.traceId, 'hex') : undefined, spanId: r.spanId ? Buffer.from(r.spanId, 'hex') : undefined,
          eventName: r.eventName,
        })),
      })),
    })),
  };
}

// Canonical log record (every field a user can observe, defaults explicit). strict=true for
// documents from the API: lowercase hex ids, decimal-string timestamps.
export function canonLogRecord(r, where, opts = { strict: false }) {
  return {
    timeUnixNano: nanos(r.timeUnixNano, `${where}.timeUnixNano`, opts),
    observedTimeUnixNano: nanos(r.observedTimeUnixNano, `${where}.observedTimeUnixNano`, opts),
    severityNumber: enumInt(r.severityNumber, `${where}.severityNumber`),
    severityText: str(r.severityText),
    body: canonAny(r.body, `${where}.body`),
    attributes: canonAttrs(r.attributes, `${where}.attributes`),
    droppedAttributesCount: num(r.droppedAttributesCount, `${where}.droppedAttributesCount`),
    flags: num(r.flags, `${where}.flags`),
    traceId: idHex(r.traceId, `${where}.traceId`, 32, opts),
    spanId: idHex(r.spanId, `${where}.spanId`, 16, opts),
    eventName: str(r.eventName),
  };
}

function canonResource(res, where) {
  return {
    attributes: canonAttrs(res?.attributes, `${where}.attributes`),
    droppedAttributesCount: num(res?.droppedAttributesCount, `${where}.droppedAttributesCount`),
  };
}
function canonScope(sc, where) {
  return {
    name: str(sc?.name), version: str(sc?.version),
    attributes: canonAttrs(sc?.attributes, `${where}.attributes`),
    droppedAttributesCount: num(sc?.droppedAttributesCount, `${where}.droppedAttributesCount`),
  };
}

// A logs request (pb-object or OTLP/JSON) -> [{service, resource, scope, record}] canonical.
export function flattenLogs(doc, where = 'logs doc') {
  const out = [];
  (doc?.resourceLogs ?? []).forEach((rl, ri) => {
    const resource = canonResource(rl.resource, `${where}.resourceLogs[${ri}].resource`);
    const svc = resource.attributes.find(([k]) => k === 'service.name');
    (rl.scopeLogs ?? []).forEach((sl, si) => {
      const scope = canonScope(sl.scope, `${where}.resourceLogs[${ri}].scopeLogs[${si}].scope`);
      (sl.logRecords ?? []).forEach((lr, li) => {
        out.push({ service: svc && 'string' in svc[1] ? svc[1].string : '', resource, scope, record: canonLogRecord(lr, `${where}...logRecords[${li}]`) });
      });
    });
  });
  return out;
}

// One entry of the log API ({service, resource, scope, record}) -> canonical (strict).
export function canonLogEntry(e, where = 'log entry') {
  assert.equal(typeof e, 'object', `${where}: must be an object`);
  assert.equal(typeof e.service, 'string', `${where}: "service" must be a string: ${JSON.stringify(e).slice(0, 400)}`);
  assert.equal(typeof e.record, 'object', `${where}: "record" must be an object: ${JSON.stringify(e).slice(0, 400)}`);
  return {
    service: e.service,
    resource: canonResource(e.resource, `${where}.resource`),
    scope: canonScope(e.scope, `${where}.scope`),
    record: canonLogRecord(e.record, `${where}.record`, { strict: true }),
  };
}

const logKey = (c) => JSON.stringify([c.service, c.record.timeUnixNano, c.record.severityNumber, c.record.eventName, c.record.body, c.record.spanId]);

// The API entries must be exactly the expected records (as a multiset), every field equal.
export function assertSameLogs(entries, expected, label) {
  assert.ok(Array.isArray(entries), `${label}: "logs" must be an array, got ${JSON.stringify(entries)?.slice(0, 300)}`);
  const got = entries.map((e, i) => canonLogEntry(e, `${label} logs[${i}]`));
  const show = (l) => l.map((c) => `${c.service} t=${c.record.timeUnixNano} sev=${c.record.severityNumber} body=${JSON.stringify(c.record.body)}`).join('\n  ');
  assert.equal(got.length, expected.length, `${label}: expected ${expected.length} log records, got ${got.length}:\n  ${show(got)}\nexpected:\n  ${show(expected)}`);
  const pool = new Map();
  for (const g of got) { const k = logKey(g); (pool.get(k) ?? pool.set(k, []).get(k)).push(g); }
  for (const exp of expected) {
    const k = logKey(exp);
    const cands = pool.get(k);
    assert.ok(cands && cands.length, `${label}: expected record not returned: ${show([exp])}\nreturned:\n  ${show(got)}`);
    const g = cands.shift();
    const w = `${label}: record ${show([exp])}`;
    assert.equal(g.service, exp.service, `${w}: service`);
    assert.deepEqual(g.resource, exp.resource, `${w}: resource`);
    assert.deepEqual(g.scope, exp.scope, `${w}: scope`);
    for (const f of Object.keys(exp.record)) assert.deepEqual(g.record[f], exp.record[f], `${w}: field "${f}"`);
  }
  return got;
}

export function decodeLogsExportResponse(buf) {
  const r = pbDecodeOtlp('ExportLogsServiceResponse', buf);
  return { rejected: Number(r.partialSuccess?.rejectedLogRecords ?? 0), errorMessage: r.partialSuccess?.errorMessage ?? '', hasPartialSuccess: r.partialSuccess !== undefined };
}

export function decodeMetricsExportResponse(buf) {
  const r = pbDecodeOtlp('ExportMetricsServiceResponse', buf);
  return { rejected: Number(r.partialSuccess?.rejectedDataPoints ?? 0), errorMessage: r.partialSuccess?.errorMessage ?? '', hasPartialSuccess: r.partialSuccess !== undefined };
}
