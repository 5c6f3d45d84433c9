// Observability: health(), stats(), Prometheus text/JSON, the HTTP handler and
// the tRPC monitoring router. Rendering is checked against fake native
// snapshots (exact numbers), then everything again against a real pool.
import { describe, it, expect, beforeAll, afterAll, inject, vi } from 'vitest'
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import { initTRPC } from '@trpc/server'
import parsePrometheus from 'parse-prometheus-text-format'
import { startMariaDB } from './harness/mariadb.mjs'

const require = createRequire(import.meta.url)
const obs = require('../lib/observability.js')
const { normalize } = require('../lib/config.js')
const { createMonitoringRouter, monitoringProcedures } = require('../lib/trpc.js')
const { histogramBuckets } = require('../index.js')
const { createPool } = require('../lib/index.js')

const BOUNDS = histogramBuckets()
const srv = inject('mysqlServer')

// ---------------------------------------------------------------------------
// Helpers

/** Native histogram layout: [count, sum, b0..b20] from observed seconds. */
function hist(values) {
  const b = new Array(21).fill(0)
  let sum = 0
  for (const v of values) {
    const i = BOUNDS.findIndex((x) => v <= x)
    b[i === -1 ? 20 : i]++
    sum += v
  }
  return [values.length, sum, ...b]
}

// What the native cacheStats() returns for an empty pool (capacities fixed
// in src/shapes.rs and src/json_columns.rs).
const EMPTY_CACHES = { shapes: 0, shapesCapacity: 4096, shapesEvicted: 0, jsonTables: 0, jsonTablesCapacity: 2048, jsonTablesEvicted: 0 }

/** NativePool#counts() (src/snapshot.rs PoolCounts) from [total, active, idle, connecting, waiting, closed, breakerOpen, limit]. */
function countsOf([total, active, idle, connecting, waiting, closed, breakerOpen, limit]) {
  return { total, active, idle, returning: 0, connecting, waiting, closed: closed === 1, breakerOpen: breakerOpen === 1, limit }
}

const histOf = ([count, sumSeconds, ...buckets]) => ({ count, sumSeconds, buckets })

/** NativePool#metrics() (src/snapshot.rs PoolMetrics) from the 11 counters and observed seconds. */
function metricsOf(s, acquire, query, connect) {
  const names = [
    'acquired',
    'released',
    'created',
    'destroyed',
    'timedOut',
    'rejected',
    'queries',
    'connectFailures',
    'validationFailures',
    'resets',
    'uptimeSeconds',
    'failoverClosed',
    'retried',
    'pipelined',
  ]
  // Fixtures of 11 numbers predate the last three counters: those are 0 there.
  const m = Object.fromEntries(names.map((n, i) => [n, s[i] ?? 0]))
  return { ...m, acquireWait: histOf(hist(acquire)), queryTime: histOf(hist(query)), connectTime: histOf(hist(connect)) }
}

const lastOf = (last) => (last ? { message: last[0], code: last[1] } : null)

function fakeNative({
  counts = [0, 0, 0, 0, 0, 0, 0, 10],
  scalars,
  acquire = [],
  query = [],
  connect = [],
  errors = [],
  last = null,
  caches = EMPTY_CACHES,
} = {}) {
  const s = scalars ?? [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
  return {
    counts: () => countsOf(counts),
    metrics: () => metricsOf(s, acquire, query, connect),
    errorCounts: () => errors.map((e) => ({ ...e })),
    lastConnectError: () => lastOf(last),
    cacheStats: () => ({ ...caches }),
  }
}

function fakePool(native, { name = 'default', config = {}, leaks = 0 } = {}) {
  return { _native: native, name, config, _js: { leaks } }
}

function promtool() {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8' })
  return r.status === 0
}
const HAVE_PROMTOOL = promtool()
if (!HAVE_PROMTOOL) console.warn('[observability.test] promtool not installed: skipping `promtool check metrics` (apt-get install prometheus)')

/** Strict syntax check by Prometheus' own parser and linter. */
function promtoolCheck(text) {
  // Exit 0: clean; 3: lint findings only; anything else: parse failure.
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() }
}

/** Families as parse-prometheus-text-format reads them: { name: { type, help, metrics } }. */
function parse(text) {
  const out = {}
  for (const f of parsePrometheus(text)) out[f.name] = f
  return out
}

/**
 * Every series with its labels, by series name. parse-prometheus-text-format
 * folds a histogram's _bucket/_sum/_count into one object and loses the
 * labels when there are any (it expects unlabelled histograms), so parse with
 * the TYPE lines removed: then each series comes back as an untyped sample.
 */
function series(text) {
  const out = {}
  for (const f of parsePrometheus(text.replace(/^# TYPE .*\n/gm, ''))) if (f.metrics.length) out[f.name] = f.metrics
  return out
}

function sample(text, name, labels) {
  const list = series(text)[name]
  if (!list) throw new Error(`no series ${name}`)
  return list.find((x) => Object.keys({ ...labels, ...x.labels }).every((k) => (x.labels || {})[k] === labels[k]))
}

function value(text, name, labels) {
  const m = sample(text, name, labels)
  return m === undefined ? undefined : Number(m.value)
}

// A line grammar for format 0.0.4 that the lenient JS parser does not enforce.
const SAMPLE_LINE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\\\|\\"|\\n|[^"\\\n])*",?)*\})? (NaN|[+-]Inf|-?\d+(\.\d+)?(e[+-]?\d+)?)$/

function checkTextShape(text) {
  expect(text.endsWith('\n')).toBe(true)
  const seenHelp = new Set()
  const seenType = new Set()
  const seenSeries = new Set()
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('# HELP ')) {
      const name = line.split(' ')[2]
      expect(seenHelp.has(name), `HELP ${name} twice`).toBe(false)
      seenHelp.add(name)
    } else if (line.startsWith('# TYPE ')) {
      const name = line.split(' ')[2]
      expect(seenType.has(name), `TYPE ${name} twice`).toBe(false)
      seenType.add(name)
    } else {
      expect(line).toMatch(SAMPLE_LINE)
      const series = line.slice(0, line.lastIndexOf(' '))
      expect(seenSeries.has(series), `duplicate series ${series}`).toBe(false)
      seenSeries.add(series)
    }
  }
  return seenType
}

// ---------------------------------------------------------------------------
// Rendering against fake native snapshots

describe('percentile estimation', () => {
  it('interpolates linearly inside the bucket that holds the rank', () => {
    // 10 observations in (0.001, 0.0025]: p50 is halfway through that bucket.
    const b = new Array(21).fill(0)
    b[5] = 10
    expect(obs.quantile(0.5, b)).toBeCloseTo(0.001 + 0.0015 * 0.5, 12)
    expect(obs.quantile(0.9, b)).toBeCloseTo(0.001 + 0.0015 * 0.9, 12)
    // First bucket interpolates from 0.
    const first = new Array(21).fill(0)
    first[0] = 4
    expect(obs.quantile(0.25, first)).toBeCloseTo(0.0000125, 12)
    // Two buckets: ranks fall on each side of the boundary.
    const two = new Array(21).fill(0)
    two[9] = 5 // (0.025, 0.05]
    two[10] = 5 // (0.05, 0.1]
    expect(obs.quantile(0.5, two)).toBeCloseTo(0.05, 12)
    expect(obs.quantile(0.7, two)).toBeCloseTo(0.05 + 0.05 * (2 / 5), 12)
  })

  it('reports the last bound for the overflow bucket and null without data', () => {
    const b = new Array(21).fill(0)
    b[20] = 3
    expect(obs.quantile(0.99, b)).toBe(30)
    expect(obs.quantile(0.5, new Array(21).fill(0))).toBeNull()
  })
})

describe('health() criteria (seed semantics)', () => {
  const h = (counts, extra = {}, thresholds) => obs.health(fakePool(fakeNative({ counts, ...extra }), extra.pool), thresholds)

  it('healthy with an idle connection, in the seed response shape', () => {
    expect(h([1, 0, 1, 0, 0, 0, 0, 20])).toEqual({
      healthy: true,
      status: 'healthy',
      activeConnections: 0,
      idleConnections: 1,
      totalConnections: 1,
      waitingClients: 0,
      poolUtilization: 0,
      message: 'Connection pool healthy',
      poolType: 'native',
    })
  })

  it('healthy with no idle connection but room to open one', () => {
    expect(h([3, 3, 0, 0, 0, 0, 0, 20])).toMatchObject({ status: 'healthy', healthy: true, poolUtilization: 15 })
    // An empty pool that never failed is fine: it opens on demand.
    expect(h([0, 0, 0, 0, 0, 0, 0, 20]).status).toBe('healthy')
  })

  it('warning (still healthy: true) at >= 90% utilization or >= 50 waiting', () => {
    const u = h([20, 18, 2, 0, 0, 0, 0, 20])
    expect(u).toMatchObject({ healthy: true, status: 'warning', poolUtilization: 90 })
    expect(u.message).toMatch(/utilization 90% >= 90%/)
    const w = h([10, 5, 5, 0, 50, 0, 0, 20])
    expect(w).toMatchObject({ healthy: true, status: 'warning', waitingClients: 50 })
    expect(w.message).toMatch(/50 clients waiting/)
    expect(h([20, 17, 2, 0, 49, 0, 0, 20]).status).toBe('healthy')
  })

  it('warning when nothing is idle and the pool is at its limit', () => {
    // 15 lent, 5 being opened: below both thresholds, yet callers will queue.
    const r = h([20, 15, 0, 5, 0, 0, 0, 20])
    expect(r).toMatchObject({ status: 'warning', healthy: true })
    expect(r.message).toMatch(/no idle connection and no room/)
  })

  it('thresholds come from the argument, then config.healthThresholds, then defaults', () => {
    const counts = [10, 6, 4, 0, 5, 0, 0, 10] // 60%, 5 waiting
    expect(h(counts).status).toBe('healthy')
    expect(h(counts, {}, { utilizationWarning: 50 }).status).toBe('warning')
    expect(h(counts, { pool: { config: { healthThresholds: { waitingWarning: 5 } } } }).status).toBe('warning')
    // The argument wins over the config.
    expect(h(counts, { pool: { config: { healthThresholds: { waitingWarning: 5 } } } }, { waitingWarning: 6 }).status).toBe('healthy')
    expect(obs.DEFAULT_THRESHOLDS).toEqual({ utilizationWarning: 90, waitingWarning: 50 })
  })

  it('unhealthy when closed, breaker open, not initialized or unreadable', () => {
    expect(h([0, 0, 0, 0, 0, 1, 0, 20])).toMatchObject({ healthy: false, status: 'unhealthy', message: 'Connection pool is closed' })
    const br = h([0, 0, 0, 0, 3, 0, 1, 20], { last: ['connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'] })
    expect(br).toMatchObject({ healthy: false, status: 'unhealthy', waitingClients: 3 })
    expect(br.message).toMatch(/Circuit breaker open.*ECONNREFUSED/)
    expect(obs.health(undefined)).toMatchObject({ healthy: false, status: 'unhealthy', message: 'Connection pool not initialized', poolType: 'native' })
    const broken = fakePool({
      counts() {
        throw new Error('boom')
      },
    })
    expect(obs.health(broken)).toMatchObject({ healthy: false, message: 'Unable to retrieve pool statistics: boom' })
  })

  it('unhealthy when nothing is open and the newest connect attempt failed; healthy again after recovery', () => {
    const state = { counts: [1, 0, 0, 1, 2, 0, 0, 20], created: 0, failures: 1, last: ['connect ECONNREFUSED', 'ECONNREFUSED'] }
    const native = {
      counts: () => countsOf(state.counts),
      metrics: () => metricsOf([0, 0, state.created, 0, 0, 0, 0, state.failures, 0, 0, 1], [], [], []),
      errorCounts: () => [],
      lastConnectError: () => lastOf(state.last),
    }
    const pool = fakePool(native)
    const r = obs.health(pool)
    expect(r).toMatchObject({ healthy: false, status: 'unhealthy' })
    expect(r.message).toBe('Cannot reach the database (ECONNREFUSED: connect ECONNREFUSED)')
    // Recovery: a connection was created, no new failure.
    Object.assign(state, { counts: [1, 0, 1, 0, 0, 0, 0, 20], created: 1 })
    expect(obs.health(pool).status).toBe('healthy')
    // Later the idle connection is reaped: the old error is stale, not a reason.
    Object.assign(state, { counts: [0, 0, 0, 0, 0, 0, 0, 20] })
    expect(obs.health(pool).status).toBe('healthy')
    // A new failure with nothing open is unhealthy again.
    Object.assign(state, { failures: 2 })
    expect(obs.health(pool).status).toBe('unhealthy')
  })
})

describe('stats() and config redaction', () => {
  const secret = 'S3cr3t-pa55-\u00e9'
  const keyPem = '-----BEGIN PRIVATE KEY-----\nMIIBFAKEKEYMATERIAL\n-----END PRIVATE KEY-----'
  const config = {
    host: 'db.example',
    port: 4000,
    user: 'app',
    password: secret,
    password1: secret,
    passwordSha1: 'abcdef',
    uri: `mysql://app:${encodeURIComponent(secret)}@db.example:4000/app?sslPassphrase=${secret}`,
    ssl: {
      ca: ['-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----'],
      cert: 'CERT',
      key: keyPem,
      passphrase: secret,
      rejectUnauthorized: true,
      verifyIdentity: false,
    },
    connectionLimit: 20,
    typeCast: () => true,
    healthThresholds: { utilizationWarning: 80 },
  }
  const native = fakeNative({
    counts: [6, 2, 3, 1, 4, 0, 0, 20],
    scalars: [30, 28, 7, 1, 2, 3, 25, 4, 5, 6, 42.5, 8, 9, 10],
    acquire: [0.0003, 0.0003, 0.004, 0.2],
    query: [0.001, 0.001, 0.002, 0.002],
    errors: [
      { code: 'POOL_ACQUIRE_TIMEOUT', count: 2 },
      { code: 'ER_DUP_ENTRY', count: 3 },
    ],
    caches: { shapes: 11, shapesCapacity: 4096, shapesEvicted: 12, jsonTables: 13, jsonTablesCapacity: 2048, jsonTablesEvicted: 14 },
  })
  const pool = fakePool(native, { name: 'main', config, leaks: 2 })

  it('maps every native number to its field', () => {
    const s = obs.stats(pool)
    expect(s.name).toBe('main')
    expect(s.counts).toEqual({ total: 6, active: 2, idle: 3, connecting: 1, waiting: 4, limit: 20 })
    expect(s.counters).toEqual({
      acquired: 30,
      released: 28,
      created: 7,
      destroyed: 1,
      timedOut: 2,
      rejected: 3,
      queries: 25,
      connectFailures: 4,
      validationFailures: 5,
      resets: 6,
      failoverClosed: 8,
      retried: 9,
      pipelined: 10,
      leaks: 2,
    })
    expect(s.errors).toEqual({ ER_DUP_ENTRY: 3, POOL_ACQUIRE_TIMEOUT: 2 })
    expect(Object.keys(s.errors)).toEqual(['ER_DUP_ENTRY', 'POOL_ACQUIRE_TIMEOUT'])
    expect(s.uptimeSeconds).toBe(42.5)
    expect(s.closed).toBe(false)
    expect(s.circuitBreakerOpen).toBe(false)
    expect(s.latency.acquireWait.count).toBe(4)
    expect(s.latency.acquireWait.mean).toBeCloseTo((0.0003 * 2 + 0.004 + 0.2) / 4, 12)
    // Two of four in (0.00025, 0.0005]: p50 at that bucket's top.
    expect(s.latency.acquireWait.p50).toBeCloseTo(0.0005, 12)
    // p99 rank 3.96 is inside (0.1, 0.25] which holds the 4th observation.
    expect(s.latency.acquireWait.p99).toBeCloseTo(0.1 + 0.15 * 0.96, 12)
    expect(s.latency.queryTime).toMatchObject({ count: 4, p50: 0.001 })
    expect(s.latency.queryTime.p95).toBeCloseTo(0.001 + 0.0015 * (1.8 / 2), 12)
    expect(s.latency.connectTime).toEqual({ count: 0, mean: null, p50: null, p95: null, p99: null })
    // The native cacheStats() object, field for field.
    expect(s.caches).toEqual({ shapes: 11, shapesCapacity: 4096, shapesEvicted: 12, jsonTables: 13, jsonTablesCapacity: 2048, jsonTablesEvicted: 14 })
    expect(Object.keys(s)).toEqual([
      'name',
      'counts',
      'config',
      'counters',
      'errors',
      'latency',
      'uptimeSeconds',
      'closed',
      'circuitBreakerOpen',
      'lastConnectError',
      'caches',
    ])
  })

  it('drops the password and TLS secrets, summarizes ssl, keeps the rest', () => {
    const s = obs.stats(pool)
    const json = JSON.stringify(s)
    expect(json).not.toContain(secret)
    expect(json).not.toContain(encodeURIComponent(secret))
    expect(json).not.toContain('MIIBFAKEKEYMATERIAL')
    expect(json).not.toContain('abcdef')
    expect(s.config).not.toHaveProperty('password')
    expect(s.config).not.toHaveProperty('password1')
    expect(s.config).not.toHaveProperty('passwordSha1')
    expect(s.config.ssl).toEqual({ enabled: true, rejectUnauthorized: true, verifyIdentity: false, ca: 'custom' })
    expect(s.config.uri).toBe('mysql://app:***@db.example:4000/app?sslPassphrase=***')
    expect(s.config).toMatchObject({ host: 'db.example', port: 4000, user: 'app', connectionLimit: 20, typeCast: '[Function]' })
    expect(s.config.healthThresholds).toEqual({ utilizationWarning: 80 })
    expect(obs.safeConfig({ ssl: {} }).ssl).toEqual({ enabled: true, rejectUnauthorized: true, verifyIdentity: true, ca: 'default' })
    expect(obs.safeConfig({}).ssl).toEqual({ enabled: false })
    expect(obs.safeConfig({ ssl: { rejectUnauthorized: false } }).ssl).toMatchObject({ rejectUnauthorized: false, verifyIdentity: false })
  })

  // What a real pool holds: lib/config.js's normalized config, where the
  // password and ssl.key are non-enumerable accessors and the uri is not kept.
  it('a normalized pool.config: password and ssl.key readable but never in stats().config', () => {
    const cfg = normalize({
      host: 'db.example',
      port: 4000,
      user: 'app',
      password: secret,
      uri: `mysql://app:${encodeURIComponent(secret)}@db.example:4000/app`,
      ssl: { ca: config.ssl.ca, cert: 'CERT', key: keyPem, rejectUnauthorized: true, verifyIdentity: false },
      connectionLimit: 20,
      typeCast: config.typeCast,
      healthThresholds: { utilizationWarning: 80 },
    })
    // The accessors still serve the native config...
    expect(cfg.password).toBe(secret)
    expect(cfg.ssl.key).toBe(keyPem)
    expect(Object.keys(cfg)).not.toContain('password')
    expect(Object.keys(cfg)).not.toContain('uri')
    expect(Object.keys(cfg.ssl)).not.toContain('key')
    // ...and stats().config is every enumerable option, ssl summarized.
    const s = obs.stats(fakePool(native, { name: 'main', config: cfg }))
    const json = JSON.stringify(s)
    expect(json).not.toContain(secret)
    expect(json).not.toContain(encodeURIComponent(secret))
    expect(json).not.toContain('MIIBFAKEKEYMATERIAL')
    // (Options left undefined, such as socketPath, are not listed.)
    const defined = Object.keys(cfg).filter((k) => cfg[k] !== undefined)
    expect(defined).toContain('resetOnRelease')
    expect(Object.keys(s.config)).toEqual(defined)
    for (const k of defined) {
      if (k === 'ssl') expect(s.config.ssl).toEqual({ enabled: true, rejectUnauthorized: true, verifyIdentity: false, ca: 'custom' })
      else if (k === 'typeCast') expect(s.config.typeCast).toBe('[Function]')
      else expect(s.config[k], k).toEqual(cfg[k])
    }
    // The uri's database was taken; nothing of the uri itself is reported.
    expect(s.config).toMatchObject({
      host: 'db.example',
      port: 4000,
      user: 'app',
      database: 'app',
      connectionLimit: 20,
      resetOnRelease: false,
      reapIdle: false,
    })
    expect(s.config).not.toHaveProperty('uri')
    expect(s.config).not.toHaveProperty('password')
  })

  it('the password never appears in health, text or JSON metrics', () => {
    for (const out of [JSON.stringify(obs.health(pool)), obs.metricsText(pool), JSON.stringify(obs.metricsJSON(pool))]) {
      expect(out).not.toContain(secret)
      expect(out).not.toContain('MIIBFAKEKEYMATERIAL')
    }
  })
})

describe('Prometheus exposition (fake pools)', () => {
  const tricky = 'we\\ird "pool"\nname'
  const a = fakePool(
    fakeNative({
      counts: [6, 2, 3, 1, 4, 0, 1, 20],
      scalars: [30, 28, 7, 1, 2, 3, 25, 4, 5, 6, 42.5],
      acquire: [0.0003, 0.0003, 0.004, 99],
      errors: [
        { code: 'ER_DUP_ENTRY', count: 3 },
        { code: 'POOL_CIRCUIT_OPEN', count: 1 },
      ],
    }),
    { name: tricky, leaks: 2 },
  )
  const b = fakePool(fakeNative({ counts: [1, 0, 1, 0, 0, 1, 0, 5], scalars: [1, 1, 1, 1, 0, 0, 9, 0, 0, 0, 3] }), { name: 'b' })

  it('parses, with HELP/TYPE once per family across pools and every series labelled', () => {
    const text = obs.metricsText([a, b])
    const types = checkTextShape(text)
    const fams = parse(text)
    const expected = {
      mysql_pool_connections_open: 'GAUGE',
      mysql_pool_connections_active: 'GAUGE',
      mysql_pool_connections_idle: 'GAUGE',
      mysql_pool_connections_pending: 'GAUGE',
      mysql_pool_connections_max: 'GAUGE',
      mysql_pool_requests_waiting: 'GAUGE',
      mysql_pool_circuit_breaker_open: 'GAUGE',
      mysql_pool_up: 'GAUGE',
      mysql_pool_acquired_total: 'COUNTER',
      mysql_pool_released_total: 'COUNTER',
      mysql_pool_connections_created_total: 'COUNTER',
      mysql_pool_connections_closed_total: 'COUNTER',
      mysql_pool_acquire_timeouts_total: 'COUNTER',
      mysql_pool_requests_rejected_total: 'COUNTER',
      mysql_pool_queries_total: 'COUNTER',
      mysql_pool_connect_failures_total: 'COUNTER',
      mysql_pool_validation_failures_total: 'COUNTER',
      mysql_pool_connection_resets_total: 'COUNTER',
      mysql_pool_connections_failover_closed_total: 'COUNTER',
      mysql_pool_queries_retried_total: 'COUNTER',
      mysql_pool_queries_pipelined_total: 'COUNTER',
      mysql_pool_connection_leaks_total: 'COUNTER',
      mysql_pool_errors_total: 'COUNTER',
      mysql_pool_acquire_wait_seconds: 'HISTOGRAM',
      mysql_pool_query_seconds: 'HISTOGRAM',
      mysql_pool_connect_seconds: 'HISTOGRAM',
    }
    expect(Object.fromEntries(Object.entries(fams).map(([k, f]) => [k, f.type]))).toEqual(expected)
    expect([...types].sort()).toEqual(Object.keys(expected).sort())
    const all = series(text)
    expect(Object.keys(all).length).toBe(23 + 3 * 3) // 23 plain families + _bucket/_sum/_count x 3
    for (const list of Object.values(all)) {
      for (const m of list) expect([tricky, 'b']).toContain(m.labels.pool)
    }
  })

  it('escapes label values so they round-trip', () => {
    const text = obs.metricsText(a)
    expect(text).toContain('pool="we\\\\ird \\"pool\\"\\nname"')
    expect(value(text, 'mysql_pool_connections_max', { pool: tricky })).toBe(20)
  })

  it('renders the exact gauge and counter values', () => {
    const f = obs.metricsText([a, b])
    const A = { pool: tricky }
    expect(value(f, 'mysql_pool_connections_open', A)).toBe(5) // total - connecting
    expect(value(f, 'mysql_pool_connections_active', A)).toBe(2)
    expect(value(f, 'mysql_pool_connections_idle', A)).toBe(3)
    expect(value(f, 'mysql_pool_connections_pending', A)).toBe(1)
    expect(value(f, 'mysql_pool_connections_max', A)).toBe(20)
    expect(value(f, 'mysql_pool_requests_waiting', A)).toBe(4)
    expect(value(f, 'mysql_pool_circuit_breaker_open', A)).toBe(1)
    expect(value(f, 'mysql_pool_up', A)).toBe(1)
    expect(value(f, 'mysql_pool_up', { pool: 'b' })).toBe(0) // closed
    expect(value(f, 'mysql_pool_acquired_total', A)).toBe(30)
    expect(value(f, 'mysql_pool_released_total', A)).toBe(28)
    expect(value(f, 'mysql_pool_connections_created_total', A)).toBe(7)
    expect(value(f, 'mysql_pool_connections_closed_total', A)).toBe(1)
    expect(value(f, 'mysql_pool_acquire_timeouts_total', A)).toBe(2)
    expect(value(f, 'mysql_pool_requests_rejected_total', A)).toBe(3)
    expect(value(f, 'mysql_pool_queries_total', A)).toBe(25)
    expect(value(f, 'mysql_pool_queries_total', { pool: 'b' })).toBe(9)
    expect(value(f, 'mysql_pool_connect_failures_total', A)).toBe(4)
    expect(value(f, 'mysql_pool_validation_failures_total', A)).toBe(5)
    expect(value(f, 'mysql_pool_connection_resets_total', A)).toBe(6)
    expect(value(f, 'mysql_pool_connection_leaks_total', A)).toBe(2)
    expect(value(f, 'mysql_pool_errors_total', { ...A, code: 'ER_DUP_ENTRY' })).toBe(3)
    expect(value(f, 'mysql_pool_errors_total', { ...A, code: 'POOL_CIRCUIT_OPEN' })).toBe(1)
    expect(series(f).mysql_pool_errors_total).toHaveLength(2)
  })

  it('histograms are cumulative with le labels, +Inf == _count, and _sum', () => {
    const text = obs.metricsText(a)
    const lines = text.split('\n').filter((l) => l.startsWith('mysql_pool_acquire_wait_seconds_bucket'))
    expect(lines).toHaveLength(21)
    const les = lines.map((l) => l.match(/le="([^"]+)"/)[1])
    expect(les).toEqual([...BOUNDS.map(String), '+Inf'])
    expect(les.slice(0, 3)).toEqual(['0.00005', '0.0001', '0.00025'])
    const counts = lines.map((l) => Number(l.split(' ').pop()))
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1])
    expect(counts[2]).toBe(0) // <= 0.00025
    expect(counts[3]).toBe(2) // <= 0.0005
    expect(counts[6]).toBe(3) // <= 0.005
    expect(counts[19]).toBe(3) // <= 30
    expect(counts[20]).toBe(4) // +Inf holds the 99 s outlier
    const A = { pool: tricky }
    expect(value(text, 'mysql_pool_acquire_wait_seconds_count', A)).toBe(4)
    expect(value(text, 'mysql_pool_acquire_wait_seconds_sum', A)).toBeCloseTo(0.0006 + 0.004 + 99, 9)
    expect(value(text, 'mysql_pool_acquire_wait_seconds_bucket', { ...A, le: '+Inf' })).toBe(4)
    expect(value(text, 'mysql_pool_acquire_wait_seconds_bucket', { ...A, le: '0.0005' })).toBe(2)
  })

  it('keeps series unique when pools share a name or a pool is passed twice', () => {
    const c = fakePool(fakeNative(), { name: 'b' })
    const text = obs.metricsText([a, b, b, c])
    checkTextShape(text)
    const up = parse(text).mysql_pool_up.metrics.map((m) => m.labels.pool)
    expect(up).toEqual([tricky, 'b', 'b-2'])
  })

  it('reports an unreadable pool as down instead of failing the scrape', () => {
    const broken = fakePool(
      {
        counts() {
          throw new Error('gone')
        },
      },
      { name: 'broken' },
    )
    const f = obs.metricsText([b, broken])
    expect(value(f, 'mysql_pool_up', { pool: 'broken' })).toBe(0)
    expect(sample(f, 'mysql_pool_queries_total', { pool: 'broken' })).toBeUndefined()
  })

  it.skipIf(!HAVE_PROMTOOL)('passes `promtool check metrics`', () => {
    const r = promtoolCheck(obs.metricsText([a, b]))
    expect(r.out).toBe('')
    expect(r.status).toBe(0)
  })

  it('metricsJSON carries the same families and values as the text', () => {
    const json = obs.metricsJSON([a, b])
    const text = parse(obs.metricsText([a, b]))
    expect(json.map((f) => f.name)).toEqual(Object.keys(text))
    for (const f of json) {
      expect(f).toEqual({
        name: expect.any(String),
        type: expect.stringMatching(/^(gauge|counter|histogram)$/),
        help: expect.any(String),
        values: expect.any(Array),
      })
      expect(f.type.toUpperCase()).toBe(text[f.name].type)
      expect(f.help).toBe(text[f.name].help)
    }
    const q = json.find((f) => f.name === 'mysql_pool_queries_total')
    expect(q.values).toEqual([
      { labels: { pool: tricky }, value: 25 },
      { labels: { pool: 'b' }, value: 9 },
    ])
    const h = json.find((f) => f.name === 'mysql_pool_acquire_wait_seconds')
    expect(h.values.filter((v) => v.labels.pool === tricky)).toHaveLength(23)
    expect(h.values).toContainEqual({ metricName: 'mysql_pool_acquire_wait_seconds_bucket', labels: { pool: tricky, le: '+Inf' }, value: 4 })
    expect(h.values).toContainEqual({ metricName: 'mysql_pool_acquire_wait_seconds_count', labels: { pool: tricky }, value: 4 })
    expect(JSON.parse(JSON.stringify(json))).toEqual(json)
  })
})

describe('metricsHandler()', () => {
  const pool = fakePool(fakeNative({ counts: [2, 1, 1, 0, 0, 0, 0, 10], scalars: [5, 4, 2, 0, 0, 0, 12, 0, 0, 0, 7] }), { name: 'h' })
  let server
  let base
  beforeAll(async () => {
    server = http.createServer(obs.metricsHandler(pool))
    await new Promise((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${server.address().port}`
  })
  afterAll(async () => {
    await new Promise((r) => server.close(r))
  })

  it('serves Prometheus text to a plain http server', async () => {
    const res = await fetch(`${base}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const body = await res.text()
    expect(body).toBe(obs.metricsText(pool))
    expect(value(body, 'mysql_pool_queries_total', { pool: 'h' })).toBe(12)
  })

  it('serves JSON for Accept: application/json and for ?format=json', async () => {
    for (const [url, headers] of [
      [`${base}/metrics`, { accept: 'application/json' }],
      [`${base}/metrics?format=json`, {}],
    ]) {
      const res = await fetch(url, { headers })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await res.json()).toEqual(obs.metricsJSON(pool))
    }
  })

  it('keeps text for a Prometheus-style Accept header', async () => {
    const res = await fetch(`${base}/metrics`, {
      headers: { accept: 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1' },
    })
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  })

  it('writes through a fastify-style reply (header/send, no writeHead)', () => {
    const calls = []
    const reply = {
      code(c) {
        calls.push(['code', c])
        return this
      },
      header(k, v) {
        calls.push(['header', k, v])
        return this
      },
      send(body) {
        calls.push(['send', body])
        return this
      },
    }
    obs.metricsHandler([pool])({ headers: {}, url: '/metrics' }, reply)
    expect(calls.slice(0, 2)).toEqual([
      ['code', 200],
      ['header', 'Content-Type', obs.PROMETHEUS_CONTENT_TYPE],
    ])
    expect(calls[2][0]).toBe('send')
    expect(calls[2][1]).toBe(obs.metricsText(pool))
    calls.length = 0
    obs.metricsHandler(pool)({ headers: { accept: 'application/json' }, url: '/metrics' }, reply)
    expect(calls[1][2]).toMatch(/^application\/json/)
    expect(JSON.parse(calls[2][1])).toEqual(obs.metricsJSON(pool))
  })
})

// ---------------------------------------------------------------------------
// A real pool against the real server

describe('real pool', () => {
  const password = srv.password
  let pool
  const opts = () => {
    const o = { host: srv.host, port: srv.port, user: srv.user, password, database: srv.database, connectionLimit: 4, name: 'obs-real' }
    // Offer TLS with a client key when the harness made one, to prove the
    // key stays out of stats() as well.
    if (srv.pem) o.ssl = { ca: srv.pem.ca, cert: srv.pem.clientCert, key: srv.pem.clientKey }
    return o
  }
  const keyBody = () => (srv.pem ? srv.pem.clientKey.split('\n')[1] : null)

  beforeAll(async () => {
    pool = createPool(opts())
    await pool.query('SELECT 1')
  })
  afterAll(async () => {
    await pool?.end()
  })

  it('counters move by exact amounts', async () => {
    const before = obs.stats(pool).counters
    for (let i = 0; i < 25; i++) await pool.query('SELECT ? AS i', [i])
    // The native side answers a query before it puts the connection back, so
    // `released` can trail the last answer by a moment: wait until idle.
    await vi.waitFor(() => expect(obs.stats(pool).counts.active).toBe(0))
    const after = obs.stats(pool).counters
    expect(after.queries - before.queries).toBe(25)
    expect(after.acquired - before.acquired).toBe(25)
    expect(after.released - before.released).toBe(25)
    // Idle: everything handed out came back. A query may still open a second
    // connection when it arrives before the previous one is returned.
    expect(after.acquired).toBe(after.released)
    expect(after.created).toBeLessThanOrEqual(4)

    const text = obs.metricsText(pool)
    expect(value(text, 'mysql_pool_queries_total', { pool: 'obs-real' })).toBe(after.queries)
    expect(value(text, 'mysql_pool_acquired_total', { pool: 'obs-real' })).toBe(after.acquired)
    expect(value(text, 'mysql_pool_query_seconds_count', { pool: 'obs-real' })).toBe(after.queries)
    expect(value(text, 'mysql_pool_query_seconds_bucket', { pool: 'obs-real', le: '+Inf' })).toBe(after.queries)
    expect(value(text, 'mysql_pool_query_seconds_sum', { pool: 'obs-real' })).toBeGreaterThan(0)
    const s = obs.stats(pool)
    expect(s.latency.queryTime.count).toBe(after.queries)
    expect(s.latency.queryTime.p50).toBeGreaterThan(0)
    expect(s.latency.queryTime.p50).toBeLessThanOrEqual(s.latency.queryTime.p99)
    expect(s.latency.connectTime.count).toBe(after.created)
  })

  it('errors are counted by code', async () => {
    const before = obs.stats(pool).errors.ER_PARSE_ERROR || 0
    await expect(pool.query('SELEC nonsense')).rejects.toMatchObject({ code: 'ER_PARSE_ERROR' })
    await expect(pool.query('SELEC more nonsense')).rejects.toMatchObject({ code: 'ER_PARSE_ERROR' })
    expect(obs.stats(pool).errors.ER_PARSE_ERROR).toBe(before + 2)
    expect(value(obs.metricsText(pool), 'mysql_pool_errors_total', { pool: 'obs-real', code: 'ER_PARSE_ERROR' })).toBe(before + 2)
  })

  it('health() is healthy with an idle connection and tracks a lent one', async () => {
    // A query answers before its connection is back in the pool: let the
    // previous test's connections settle first.
    await vi.waitFor(() => expect(obs.health(pool).activeConnections).toBe(0))
    expect(obs.health(pool)).toMatchObject({
      healthy: true,
      status: 'healthy',
      activeConnections: 0,
      waitingClients: 0,
      poolUtilization: 0,
      poolType: 'native',
    })
    expect(obs.health(pool).idleConnections).toBeGreaterThanOrEqual(1)
    const conn = await pool.getConnection()
    try {
      expect(obs.health(pool)).toMatchObject({ status: 'healthy', activeConnections: 1, poolUtilization: 25 })
      expect(obs.stats(pool).counts.active).toBe(1)
      expect(value(obs.metricsText(pool), 'mysql_pool_connections_active', { pool: 'obs-real' })).toBe(1)
      // A threshold below 25% turns the same state into a warning.
      expect(obs.health(pool, { utilizationWarning: 20 })).toMatchObject({ status: 'warning', healthy: true })
    } finally {
      conn.release()
    }
    // release() hands the connection back asynchronously (after its queued commands).
    await vi.waitFor(() => expect(obs.health(pool).activeConnections).toBe(0))
  })

  it('stats() reports the config without secrets', () => {
    const s = obs.stats(pool)
    expect(s.config).toMatchObject({ host: srv.host, port: srv.port, user: srv.user, connectionLimit: 4, name: 'obs-real' })
    expect(s.config).not.toHaveProperty('password')
    if (srv.pem) expect(s.config.ssl).toEqual({ enabled: true, rejectUnauthorized: true, verifyIdentity: true, ca: 'custom' })
    expect(s.closed).toBe(false)
    // The bounded caches of the native pool: the capacities are fixed, and
    // the few statements above cannot have evicted anything.
    expect(s.caches).toMatchObject({
      shapesCapacity: 4096,
      shapesEvicted: 0,
      jsonTablesCapacity: 2048,
      jsonTablesEvicted: 0,
      sqlTextsCapacity: 512,
      templatesCapacity: 1024,
    })
    expect(Object.keys(s.caches).sort()).toEqual([
      'jsonTables',
      'jsonTablesCapacity',
      'jsonTablesEvicted',
      'shapes',
      'shapesCapacity',
      'shapesEvicted',
      'sqlTexts',
      'sqlTextsCapacity',
      'templates',
      'templatesCapacity',
      'templatesEvicted',
    ])
    expect(s.caches.templates).toBeGreaterThanOrEqual(1)
    expect(s.caches.shapes).toBeGreaterThanOrEqual(1)
    expect(s.uptimeSeconds).toBeGreaterThan(0)
  })

  it('the password (and TLS key) never appear in any output', () => {
    const outputs = [
      JSON.stringify(obs.stats(pool)),
      JSON.stringify(obs.health(pool)),
      obs.metricsText(pool),
      JSON.stringify(obs.metricsJSON(pool)),
      JSON.stringify(pool.stats()),
      JSON.stringify(pool.health()),
    ]
    for (const out of outputs) {
      expect(out).not.toContain(password)
      if (keyBody()) expect(out).not.toContain(keyBody())
    }
  })

  it.skipIf(!HAVE_PROMTOOL)('real output passes `promtool check metrics`', () => {
    const r = promtoolCheck(obs.metricsText(pool))
    expect(r.out).toBe('')
    expect(r.status).toBe(0)
  })

  it('the tRPC router answers all four endpoints', async () => {
    const t = initTRPC.create()
    const listener = net.createServer((s) => s.end())
    await new Promise((r) => listener.listen(0, '127.0.0.1', r))
    try {
      const monitoring = createMonitoringRouter({ t, pool, pgbouncer: { host: '127.0.0.1', port: listener.address().port } })
      const appRouter = t.router({ monitoring })
      const caller = t.createCallerFactory(appRouter)({})

      const h = await caller.monitoring.connectionPoolHealth()
      expect(h).toMatchObject({ healthy: true, status: 'healthy', activeConnections: 0, waitingClients: 0, poolType: 'native' })
      expect(h.idleConnections).toBeGreaterThanOrEqual(1)

      const before = (await caller.monitoring.connectionPoolStats()).counters.queries
      await pool.query('SELECT 1')
      const s = await caller.monitoring.connectionPoolStats()
      expect(s.counters.queries).toBe(before + 1)
      expect(s.name).toBe('obs-real')
      expect(JSON.stringify(s)).not.toContain(password)

      const m = await caller.monitoring.connectionPoolMetrics()
      expect(m.contentType).toBe('text/plain; version=0.0.4; charset=utf-8')
      expect(value(m.body, 'mysql_pool_queries_total', { pool: 'obs-real' })).toBe(before + 1)

      const pg = await caller.monitoring.pgbouncerAvailable()
      expect(pg).toMatchObject({ available: true, configured: true, host: '127.0.0.1', port: listener.address().port })
    } finally {
      await new Promise((r) => listener.close(r))
    }
  })

  it('pgbouncerAvailable: unconfigured, env-configured, and unreachable', async () => {
    const t = initTRPC.create()
    const saved = { host: process.env.PGBOUNCER_HOST, port: process.env.PGBOUNCER_PORT }
    delete process.env.PGBOUNCER_HOST
    delete process.env.PGBOUNCER_PORT
    try {
      const caller = t.createCallerFactory(createMonitoringRouter({ t, pool }))({})
      expect(await caller.pgbouncerAvailable()).toMatchObject({ available: false, configured: false, host: null, port: null })

      // A port nobody listens on: grab a free one, then close it.
      const tmp = net.createServer()
      await new Promise((r) => tmp.listen(0, '127.0.0.1', r))
      const deadPort = tmp.address().port
      await new Promise((r) => tmp.close(r))
      process.env.PGBOUNCER_HOST = '127.0.0.1'
      process.env.PGBOUNCER_PORT = String(deadPort)
      const r = await monitoringProcedures(pool).pgbouncerAvailable()
      expect(r).toMatchObject({ available: false, configured: true, host: '127.0.0.1', port: deadPort })
      expect(r.message).toMatch(/not reachable.*ECONNREFUSED/)
    } finally {
      for (const [k, v] of [
        ['PGBOUNCER_HOST', saved.host],
        ['PGBOUNCER_PORT', saved.port],
      ]) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  })

  it('monitoringProcedures works without tRPC and before the pool exists', async () => {
    let current = null
    const p = monitoringProcedures(() => current)
    expect(await p.connectionPoolHealth()).toMatchObject({ healthy: false, message: 'Connection pool not initialized' })
    current = pool
    expect(await p.connectionPoolHealth()).toMatchObject({ healthy: true })
    expect((await p.connectionPoolStats()).name).toBe('obs-real')
  })

  it('after end(): unhealthy, up 0, still renderable', async () => {
    const p = createPool({ ...opts(), name: 'obs-ended' })
    await p.query('SELECT 1')
    expect(obs.health(p).status).toBe('healthy')
    await p.end()
    expect(obs.health(p)).toMatchObject({ healthy: false, status: 'unhealthy', message: 'Connection pool is closed' })
    const text = obs.metricsText([pool, p])
    checkTextShape(text)
    const f = text
    expect(value(f, 'mysql_pool_up', { pool: 'obs-ended' })).toBe(0)
    expect(value(f, 'mysql_pool_up', { pool: 'obs-real' })).toBe(1)
    expect(value(f, 'mysql_pool_queries_total', { pool: 'obs-ended' })).toBe(1)
    expect(obs.stats(p).closed).toBe(true)
    for (const out of [text, JSON.stringify(obs.stats(p)), JSON.stringify(obs.health(p))]) expect(out).not.toContain(password)
  })
})

describe('unreachable server (private MariaDB)', () => {
  let db
  let pool
  beforeAll(async () => {
    db = await startMariaDB({ tls: false })
  })
  afterAll(async () => {
    await pool?.end()
    await db?.stop()
  })

  it('unhealthy while the server is down, healthy again once it is back', async () => {
    pool = createPool({
      host: db.host,
      port: db.port,
      user: db.user,
      password: db.password,
      database: db.database,
      connectionLimit: 2,
      name: 'obs-down',
      acquireTimeout: 2000,
      connectTimeout: 1000,
      circuitBreakerThreshold: 0,
    })
    await pool.query('SELECT 1')
    expect(obs.health(pool).status).toBe('healthy')

    await db.kill()
    // The idle connection dies with the server; the next query finds out,
    // and reopening fails.
    for (let i = 0; i < 3; i++) await pool.query('SELECT 1').catch(() => {})
    const down = obs.health(pool)
    expect(down).toMatchObject({ healthy: false, status: 'unhealthy' })
    expect(down.message).toMatch(/^Cannot reach the database \(ECONNREFUSED/)
    const s = obs.stats(pool)
    expect(s.counters.connectFailures).toBeGreaterThan(0)
    expect(s.errors.ECONNREFUSED).toBeGreaterThan(0)
    expect(s.lastConnectError).toMatchObject({ code: 'ECONNREFUSED' })
    expect(JSON.stringify(s)).not.toContain(db.password)

    // With a breaker, repeated failures open it: unhealthy, and the gauge says so.
    const br = createPool({
      host: db.host,
      port: db.port,
      user: db.user,
      password: db.password,
      connectionLimit: 1,
      name: 'obs-breaker',
      acquireTimeout: 2000,
      connectTimeout: 1000,
      circuitBreakerThreshold: 1,
      circuitBreakerReset: 60000,
    })
    try {
      await expect(br.query('SELECT 1')).rejects.toBeTruthy()
      await vi.waitFor(() => expect(obs.stats(br).circuitBreakerOpen).toBe(true))
      const h = obs.health(br)
      expect(h).toMatchObject({ healthy: false, status: 'unhealthy' })
      expect(h.message).toMatch(/^Circuit breaker open after connection failures \(ECONNREFUSED/)
      expect(value(obs.metricsText(br), 'mysql_pool_circuit_breaker_open', { pool: 'obs-breaker' })).toBe(1)
    } finally {
      await br.end()
    }

    await db.start()
    await pool.query('SELECT 1')
    expect(obs.health(pool)).toMatchObject({ healthy: true, status: 'healthy' })
  })
})
