'use strict';
// Read-only views of a pool's native counters: health(), stats(), Prometheus
// text / JSON, and an HTTP handler. Everything here is computed on demand from
// the native snapshot, so there is no background timer and no cost between
// scrapes. The one piece of state is a tiny per-pool memo in health() (see
// connectFailing) that tells a stale connect error from a current one.
//
// Secrets: pool.config carries the password (and possibly TLS key material).
// Nothing in this file reads config values into output except safeConfig(),
// which drops them; the tests assert the password never appears anywhere.

const PREFIX = 'mysql_pool_';
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const DEFAULT_THRESHOLDS = Object.freeze({ utilizationWarning: 90, waitingWarning: 50 });

let bucketBounds = null;
function bounds() {
  // Loaded lazily so that requiring this file never loads the addon by itself.
  if (!bucketBounds) bucketBounds = Object.freeze(require('./native.js').histogramBuckets());
  return bucketBounds;
}

// ---------------------------------------------------------------------------
// Native snapshot

function histogram(h) {
  return { count: h.count, sum: h.sumSeconds, buckets: h.buckets };
}

/** One consistent-enough read of everything the native side exposes (src/snapshot.rs). */
function snapshot(pool) {
  const native = pool._native;
  const c = native.counts();
  const m = native.metrics();
  const last = native.lastConnectError();
  const errors = {};
  // Sorted so stats() and the exposition are stable between scrapes.
  for (const { code, count } of [...native.errorCounts()].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0))) {
    errors[code] = count;
  }
  return {
    name: poolName(pool),
    counts: { total: c.total, active: c.active, idle: c.idle, connecting: c.connecting, waiting: c.waiting, limit: c.limit },
    // The JS flag too: with a pool shared across worker threads, end() in
    // this thread detaches it while the native pool stays open for others.
    closed: c.closed || pool._closed === true,
    breakerOpen: c.breakerOpen,
    counters: {
      acquired: m.acquired,
      released: m.released,
      created: m.created,
      destroyed: m.destroyed,
      timedOut: m.timedOut,
      rejected: m.rejected,
      queries: m.queries,
      connectFailures: m.connectFailures,
      validationFailures: m.validationFailures,
      resets: m.resets,
      failoverClosed: m.failoverClosed,
      retried: m.retried,
      pipelined: m.pipelined,
      // Leaks are detected on the JS side (a lent connection never released).
      leaks: (pool._js && pool._js.leaks) || 0,
    },
    uptimeSeconds: m.uptimeSeconds,
    hist: { acquireWait: histogram(m.acquireWait), queryTime: histogram(m.queryTime), connectTime: histogram(m.connectTime) },
    errors,
    lastConnectError: last ? { message: last.message, code: last.code } : null,
  };
}

function poolName(pool) {
  const n = pool && (pool.name ?? (pool.config && pool.config.name));
  return n == null || n === '' ? 'default' : String(n);
}

// ---------------------------------------------------------------------------
// Percentiles

/**
 * Estimate quantile q (0..1) from non-cumulative bucket counts, interpolating
 * linearly inside the bucket that holds the rank (as Prometheus'
 * histogram_quantile does). Observations past the last bound report that bound:
 * the overflow bucket has no upper edge to interpolate towards.
 */
function quantile(q, buckets, b = bounds()) {
  let total = 0;
  for (const n of buckets) total += n;
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i];
    if (below + n >= rank && n > 0) {
      if (i >= b.length) return b[b.length - 1];
      const lower = i === 0 ? 0 : b[i - 1];
      return lower + ((b[i] - lower) * (rank - below)) / n;
    }
    below += n;
  }
  return b[b.length - 1];
}

function latency(h) {
  return {
    count: h.count,
    // null, not 0, when nothing was observed: "no data" is not "instant".
    mean: h.count > 0 ? h.sum / h.count : null,
    p50: quantile(0.5, h.buckets),
    p95: quantile(0.95, h.buckets),
    p99: quantile(0.99, h.buckets),
  };
}

// ---------------------------------------------------------------------------
// Config without secrets

// Keys whose values are credentials wherever they appear.
const SECRET_KEY = /pass(word|phrase)|secret|token|credential|^pfx$|^key$|private.?key/i;

function redactUrl(s) {
  try {
    const u = new URL(s);
    if (!u.password && ![...u.searchParams.keys()].some((k) => SECRET_KEY.test(k))) return s;
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (SECRET_KEY.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    // Not a URL: still hide anything shaped like user:pass@ to be safe.
    return s.replace(/(\/\/[^/:@\s]*):[^@/\s]*@/g, '$1:***@');
  }
}

function summarizeSsl(ssl) {
  if (ssl == null || ssl === false) return { enabled: false };
  // mysql2 accepts a profile name; report the name, never its contents.
  if (typeof ssl === 'string') return { enabled: true, rejectUnauthorized: true, verifyIdentity: true, ca: 'custom', profile: ssl };
  if (typeof ssl !== 'object') return { enabled: !!ssl, rejectUnauthorized: true, verifyIdentity: true, ca: 'default' };
  const rejectUnauthorized = ssl.rejectUnauthorized !== false;
  const ca = Array.isArray(ssl.ca) ? ssl.ca.length > 0 : ssl.ca != null && ssl.ca !== '';
  return {
    enabled: true,
    rejectUnauthorized,
    // lib/config.js resolves this already; default like it does for raw input.
    verifyIdentity: ssl.verifyIdentity === undefined ? rejectUnauthorized : !!ssl.verifyIdentity,
    ca: ca ? 'custom' : 'default',
  };
}

function plain(v, depth) {
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || v === undefined) return v;
  if (typeof v === 'string') return /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? redactUrl(v) : v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'function') return '[Function]';
  if (Buffer.isBuffer(v)) return '[Buffer]';
  if (require('node:util').types.isDate(v)) return v.toISOString();
  if (depth > 4) return '[Object]';
  if (Array.isArray(v)) return v.map((x) => plain(x, depth + 1));
  if (typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      if (SECRET_KEY.test(k)) continue;
      out[k] = plain(x, depth + 1);
    }
    return out;
  }
  return String(v);
}

/** pool.config minus credentials, with TLS reduced to a summary. */
function safeConfig(config) {
  if (!config || typeof config !== 'object') return {};
  const out = {};
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined || SECRET_KEY.test(k)) continue;
    out[k] = k === 'ssl' ? summarizeSsl(v) : plain(v, 0);
  }
  if (!('ssl' in out)) out.ssl = { enabled: false };
  return out;
}

// ---------------------------------------------------------------------------
// health()

// Per native pool: the created / connectFailures counters seen last time and
// whether the newest connect attempt we know of failed.
const connectMemo = new WeakMap();

/**
 * lastConnectError() is never cleared by the native side, so on its own it
 * cannot say whether the server is unreachable *now*. Compare the counters
 * with the previous health() call: only failures since then -> failing; only
 * successes -> recovered; both (or first look) -> failing iff nothing is open.
 */
function connectFailing(native, s, open) {
  const prev = connectMemo.get(native) || { created: 0, failures: 0, failing: false };
  const created = s.counters.created;
  const failures = s.counters.connectFailures;
  const newFail = failures > prev.failures;
  const newOk = created > prev.created;
  let failing = prev.failing;
  if (newFail && !newOk) failing = true;
  else if (newOk && !newFail) failing = false;
  else if (newFail && newOk) failing = open === 0;
  connectMemo.set(native, { created, failures, failing });
  return failing && s.lastConnectError != null;
}

function resolveThresholds(pool, override) {
  const t = { ...DEFAULT_THRESHOLDS };
  for (const src of [pool && pool.config && pool.config.healthThresholds, override]) {
    if (!src || typeof src !== 'object') continue;
    for (const k of Object.keys(DEFAULT_THRESHOLDS)) {
      const v = src[k];
      if (typeof v === 'number' && Number.isFinite(v) && v >= 0) t[k] = v;
    }
  }
  return t;
}

function round2(x) {
  return Math.round(x * 100) / 100;
}

/**
 * Pool health with the seed app's criteria.
 * `healthy` is false only for status 'unhealthy': a pool under pressure
 * ('warning') still serves queries, and the seed's endpoint kept healthy:true
 * alongside its warning message. Never throws.
 */
function health(pool, thresholds) {
  const base = {
    healthy: false,
    status: 'unhealthy',
    activeConnections: 0,
    idleConnections: 0,
    totalConnections: 0,
    waitingClients: 0,
    poolUtilization: 0,
    message: '',
    poolType: 'native',
  };
  if (!pool || !pool._native) return { ...base, message: 'Connection pool not initialized' };
  let s;
  try {
    s = snapshot(pool);
  } catch (e) {
    return { ...base, message: `Unable to retrieve pool statistics: ${(e && e.message) || e}` };
  }
  const { total, active, idle, connecting, waiting, limit } = s.counts;
  const t = resolveThresholds(pool, thresholds);
  const utilization = limit > 0 ? round2((active / limit) * 100) : 0;
  const open = total - connecting;
  const r = {
    ...base,
    activeConnections: active,
    idleConnections: idle,
    totalConnections: total,
    waitingClients: waiting,
    poolUtilization: utilization,
  };
  const failing = connectFailing(pool._native, s, open);
  const unhealthy = (message) => ({ ...r, healthy: false, status: 'unhealthy', message });
  const errText = (e) => `${e.code}${e.message && e.message !== e.code ? `: ${e.message}` : ''}`;

  if (s.closed) return unhealthy('Connection pool is closed');
  if (s.breakerOpen) {
    return unhealthy(`Circuit breaker open${s.lastConnectError ? ` after connection failures (${errText(s.lastConnectError)})` : ''}`);
  }
  if (open === 0 && failing) return unhealthy(`Cannot reach the database (${errText(s.lastConnectError)})`);

  const pressure = [];
  if (utilization >= t.utilizationWarning) pressure.push(`utilization ${utilization}% >= ${t.utilizationWarning}%`);
  if (waiting >= t.waitingWarning) pressure.push(`${waiting} clients waiting >= ${t.waitingWarning}`);
  // Outside both seed lists (below the thresholds yet nothing to hand out):
  // callers will queue, so report it as a warning rather than call it healthy.
  if (!pressure.length && idle < 1 && total >= limit) pressure.push('no idle connection and no room to open one');
  if (pressure.length) return { ...r, healthy: true, status: 'warning', message: `Connection pool under pressure: ${pressure.join('; ')}` };
  return { ...r, healthy: true, status: 'healthy', message: 'Connection pool healthy' };
}

// ---------------------------------------------------------------------------
// stats()

function stats(pool) {
  const s = snapshot(pool);
  return {
    name: s.name,
    counts: s.counts,
    config: safeConfig(pool.config),
    counters: s.counters,
    errors: s.errors,
    latency: {
      acquireWait: latency(s.hist.acquireWait),
      queryTime: latency(s.hist.queryTime),
      connectTime: latency(s.hist.connectTime),
    },
    uptimeSeconds: s.uptimeSeconds,
    closed: s.closed,
    circuitBreakerOpen: s.breakerOpen,
    lastConnectError: s.lastConnectError,
    // Bounded caches (sizes fixed; see README "Reliability"): evictions
    // show a workload with more distinct result shapes or tables than fit.
    caches: pool._native.cacheStats(),
  };
}

// ---------------------------------------------------------------------------
// Metric families: one model rendered both as text and as JSON.

const GAUGES = [
  ['connections_open', 'Open connections (idle + in use), excluding ones being opened.', (s) => s.counts.total - s.counts.connecting],
  ['connections_active', 'Connections currently lent out.', (s) => s.counts.active],
  ['connections_idle', 'Open connections waiting in the pool.', (s) => s.counts.idle],
  ['connections_pending', 'Connections being opened.', (s) => s.counts.connecting],
  ['connections_max', 'Configured connectionLimit.', (s) => s.counts.limit],
  ['requests_waiting', 'Callers queued for a connection.', (s) => s.counts.waiting],
  ['circuit_breaker_open', '1 while the circuit breaker refuses new connections.', (s) => (s.breakerOpen ? 1 : 0)],
];

const COUNTERS = [
  ['acquired_total', 'Connections handed out.', 'acquired'],
  ['released_total', 'Connections given back.', 'released'],
  ['connections_created_total', 'Connections opened.', 'created'],
  ['connections_closed_total', 'Connections closed.', 'destroyed'],
  ['acquire_timeouts_total', 'Acquisitions that gave up after acquireTimeout.', 'timedOut'],
  ['requests_rejected_total', 'Acquisitions refused (queue limit, closed pool, open breaker).', 'rejected'],
  ['queries_total', 'Statements run.', 'queries'],
  ['connect_failures_total', 'Failed attempts to open a connection.', 'connectFailures'],
  ['validation_failures_total', 'Idle connections found dead when validated.', 'validationFailures'],
  ['connection_resets_total', 'Session resets on release.', 'resets'],
  ['connections_failover_closed_total', 'Connections closed because the server answered read-only or shutting down.', 'failoverClosed'],
  ['queries_retried_total', 'pool.query/execute commands run again because their connection failed before the command was sent.', 'retried'],
  ['queries_pipelined_total', 'pool.query/execute commands written behind others on a connection that was free (pipelining).', 'pipelined'],
  ['connection_leaks_total', 'Lent connections not released within leakDetectionTimeout.', 'leaks'],
];

const HISTOGRAM_FAMILIES = [
  ['acquire_wait_seconds', 'Time spent waiting for a connection.', 'acquireWait'],
  ['query_seconds', 'Statement round-trip time.', 'queryTime'],
  ['connect_seconds', 'Time to open a connection.', 'connectTime'],
];

function toList(poolOrPools) {
  const list = Array.isArray(poolOrPools) ? poolOrPools : poolOrPools ? [poolOrPools] : [];
  // The same pool passed twice would emit duplicate series.
  return [...new Set(list.filter(Boolean))];
}

/**
 * Reads every pool once and assigns each a unique `pool` label: two pools
 * with the same name would otherwise produce duplicate series, which
 * Prometheus rejects for the whole scrape, so later ones get "-2", "-3"...
 */
function readAll(poolOrPools) {
  const seen = new Map();
  return toList(poolOrPools).map((pool) => {
    let label = poolName(pool);
    const n = (seen.get(label) || 0) + 1;
    seen.set(label, n);
    if (n > 1) label = `${label}-${n}`;
    let s = null;
    try {
      s = snapshot(pool);
    } catch {
      // An unreadable pool is reported as down rather than failing the scrape.
    }
    return { label, s };
  });
}

function leLabel(bound) {
  return bound === Infinity ? '+Inf' : formatValue(bound);
}

function families(poolOrPools) {
  const pools = readAll(poolOrPools);
  const ok = pools.filter((p) => p.s);
  const out = [];
  const fam = (name, type, help, values) => out.push({ name: PREFIX + name, type, help, values });

  for (const [name, help, get] of GAUGES) {
    fam(
      name,
      'gauge',
      help,
      ok.map(({ label, s }) => ({ labels: { pool: label }, value: get(s) })),
    );
  }
  fam(
    'up',
    'gauge',
    '1 while the pool is open and readable, 0 once closed.',
    pools.map(({ label, s }) => ({
      labels: { pool: label },
      value: s && !s.closed ? 1 : 0,
    })),
  );
  for (const [name, help, key] of COUNTERS) {
    fam(
      name,
      'counter',
      help,
      ok.map(({ label, s }) => ({ labels: { pool: label }, value: s.counters[key] })),
    );
  }
  const errValues = [];
  for (const { label, s } of ok) {
    for (const [code, count] of Object.entries(s.errors)) errValues.push({ labels: { pool: label, code }, value: count });
  }
  fam('errors_total', 'counter', 'Errors by code (server errors and pool errors).', errValues);

  const b = bounds();
  for (const [name, help, key] of HISTOGRAM_FAMILIES) {
    const values = [];
    for (const { label, s } of ok) {
      const h = s.hist[key];
      let cum = 0;
      for (let i = 0; i < h.buckets.length; i++) {
        cum += h.buckets[i];
        values.push({
          metricName: `${PREFIX}${name}_bucket`,
          labels: { pool: label, le: leLabel(i < b.length ? b[i] : Infinity) },
          value: cum,
        });
      }
      values.push({ metricName: `${PREFIX}${name}_sum`, labels: { pool: label }, value: h.sum });
      // The buckets are read one by one, not atomically with `count`; use
      // their total so _count always equals the +Inf bucket, as required.
      values.push({ metricName: `${PREFIX}${name}_count`, labels: { pool: label }, value: cum });
    }
    fam(name, 'histogram', help, values);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Text exposition format 0.0.4

function formatValue(v) {
  if (typeof v !== 'number') v = Number(v);
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function escapeLabel(v) {
  return String(v).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v) {
  return String(v).replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function renderLabels(labels) {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** Prometheus text format 0.0.4 for one pool or an array of pools. */
function metricsText(poolOrPools) {
  return renderFamilies(families(poolOrPools));
}

/** Families (metricsJSON's shape) as exposition text. */
function renderFamilies(fams) {
  const lines = [];
  for (const f of fams) {
    // HELP/TYPE once per family, series of every pool below it.
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const v of f.values) lines.push(`${v.metricName || f.name}${renderLabels(v.labels)} ${formatValue(v.value)}`);
  }
  return lines.join('\n') + '\n';
}

/** The same families as plain JSON: [{ name, type, help, values: [{ labels, value, metricName? }] }]. */
function metricsJSON(poolOrPools) {
  return families(poolOrPools);
}

// ---------------------------------------------------------------------------
// HTTP handler

function header(req, name) {
  const h = req && req.headers;
  if (!h) return '';
  const v = typeof h.get === 'function' ? h.get(name) : h[name];
  return Array.isArray(v) ? v.join(',') : v || '';
}

function wantsJson(req) {
  if (/application\/json/i.test(header(req, 'accept'))) return true;
  const url = (req && (req.originalUrl || req.url)) || '';
  const q = url.indexOf('?');
  if (q === -1) return false;
  return new URLSearchParams(url.slice(q + 1)).get('format') === 'json';
}

/**
 * (req, res) handler for http.createServer, express and fastify. A Node
 * ServerResponse (also what express passes) is written with writeHead/end;
 * a fastify reply has no writeHead but has header()/send().
 */
function metricsHandler(poolOrPools) {
  return function handleMetrics(req, res) {
    let status = 200;
    let type;
    let body;
    try {
      if (wantsJson(req)) {
        type = JSON_CONTENT_TYPE;
        body = JSON.stringify(metricsJSON(poolOrPools));
      } else {
        type = PROMETHEUS_CONTENT_TYPE;
        body = metricsText(poolOrPools);
      }
    } catch (e) {
      status = 500;
      type = 'text/plain; charset=utf-8';
      body = `metrics unavailable: ${(e && e.message) || e}\n`;
    }
    const head = req && req.method === 'HEAD';
    if (res && typeof res.writeHead === 'function') {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(head ? undefined : body);
      return;
    }
    if (res && typeof res.send === 'function') {
      if (typeof res.code === 'function') res.code(status);
      else if (typeof res.status === 'function') res.status(status);
      if (typeof res.header === 'function') res.header('Content-Type', type);
      else if (typeof res.type === 'function') res.type(type);
      res.send(body);
      return;
    }
    throw new TypeError('metricsHandler: response object has neither writeHead() nor send()');
  };
}

module.exports = {
  health,
  stats,
  metricsText,
  metricsJSON,
  metricsHandler,
  PROMETHEUS_CONTENT_TYPE,
  DEFAULT_THRESHOLDS,
  // Exposed for tests and for callers rendering their own views.
  renderFamilies,
  quantile,
  safeConfig,
};
