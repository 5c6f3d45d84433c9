// OpenTelemetry (issue 15): lib/otel.js turns the pool's diagnostics_channel
// events into spans, checked with the real SDK: NodeTracerProvider +
// InMemorySpanExporter + SimpleSpanProcessor + AsyncLocalStorageContextManager,
// and an HTTP server instrumented by @opentelemetry/instrumentation-http
// whose handlers use the pool. Every DB span must be a child of the HTTP
// server span of its request.
import { createRequire } from 'node:module'
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'

const require = createRequire(import.meta.url)
const srv = inject('mysqlServer')
const { createPool } = require('../../lib/index.js')
const tracing = require('../../lib/tracing.js')
const { NapiMysqlPoolInstrumentation, operationName, sanitize, queryText } = require('../../lib/otel.js')

const exporter = new InMemorySpanExporter()
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
provider.register({ contextManager: new AsyncLocalStorageContextManager() })
const instrumentation = new NapiMysqlPoolInstrumentation({ enabled: false })
const unregister = registerInstrumentations({ tracerProvider: provider, instrumentations: [new HttpInstrumentation(), instrumentation] })
// Loaded after the HTTP instrumentation is registered, so it is patched.
const http = require('node:http')

const DB = srv.database
const opts = (extra) => ({ host: srv.host, port: srv.port, user: srv.user, password: srv.password, database: DB, ...extra })
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

let pool // connectionLimit 4
let small // connectionLimit 1: the exhausted pool
let server
let base
// What each handler saw as the active span after its awaits.
const seen = {}

const routes = {
  async '/query'() {
    await pool.query('SELECT ? AS a, ? AS b', [1, 'secret-value'])
    await pool.execute('SELECT ? AS n', [7])
    await pool.query('select 42 AS answer')
  },
  async '/conn'() {
    const conn = await pool.getConnection()
    try {
      await conn.query('SELECT ? AS v', ['z'])
      await conn.execute('UPDATE no_such_table_otel SET a = ?', [1]).catch(() => {})
    } finally {
      conn.release()
    }
  },
  async '/bad'() {
    await pool.query('SELECT * FROM no_such_table_otel')
  },
  async '/wait'() {
    // Two concurrent queries on a one-connection pool, then getConnection()
    // while the first one still holds the connection.
    const slow = small.query('SELECT SLEEP(0.4) AS s')
    const fast = small.query('SELECT 1 AS one')
    while (small.stats().counts.active === 0) await sleep(5)
    const conn = await small.getConnection()
    conn.release()
    await Promise.all([slow, fast])
  },
}

function handler(req, res) {
  const route = routes[req.url]
  if (!route) {
    res.writeHead(404).end()
    return
  }
  route().then(
    () => {
      seen[req.url] = trace.getActiveSpan()?.spanContext().spanId
      res.writeHead(200).end('ok')
    },
    (err) => {
      seen[req.url] = trace.getActiveSpan()?.spanContext().spanId
      res.writeHead(500).end(err.code)
    },
  )
}

async function get(path) {
  const r = await fetch(base + path)
  await r.text()
  return r.status
}

/** The spans of one request: its HTTP server span and the pool's spans. */
async function spansOf(path) {
  // SimpleSpanProcessor exports on end; the server span ends with the response.
  for (let i = 0; i < 100 && !exporter.getFinishedSpans().some((s) => s.kind === SpanKind.SERVER); i++) await sleep(10)
  const all = exporter.getFinishedSpans()
  const serverSpan = all.find((s) => s.kind === SpanKind.SERVER)
  expect(serverSpan, `HTTP server span of ${path}`).toBeDefined()
  const db = all.filter((s) => s.instrumentationScope.name === 'napi-mysql-pool').sort((a, b) => cmpTime(a.startTime, b.startTime))
  return { serverSpan, db, all }
}

const cmpTime = (a, b) => a[0] - b[0] || a[1] - b[1]
const ms = (hr) => hr[0] * 1e3 + hr[1] / 1e6
const parentId = (s) => s.parentSpanContext?.spanId

function expectChildOf(spans, serverSpan) {
  for (const s of spans) {
    expect(parentId(s), s.name).toBe(serverSpan.spanContext().spanId)
    expect(s.spanContext().traceId).toBe(serverSpan.spanContext().traceId)
  }
}

const common = (pool) => ({
  'db.system.name': 'mysql',
  'db.namespace': DB,
  'server.address': srv.host,
  'server.port': srv.port,
  'db.client.connection.pool.name': pool,
})

beforeAll(async () => {
  pool = createPool(opts({ connectionLimit: 4, name: 'otel-main' }))
  small = createPool(opts({ connectionLimit: 1, name: 'otel-small' }))
  // Open the connections before anything is traced: no connect time below.
  const conns = await Promise.all([pool.getConnection(), pool.getConnection()])
  for (const c of conns) c.release()
  await small.query('SELECT 1')
  server = http.createServer(handler)
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${server.address().port}`
  instrumentation.enable()
})

afterAll(async () => {
  instrumentation.disable()
  unregister()
  await new Promise((r) => (server ? server.close(r) : r()))
  await Promise.all([pool?.end(), small?.end()])
  await provider.shutdown()
})

beforeEach(() => {
  instrumentation.setConfig({})
  exporter.reset()
})

describe('spans under an instrumented HTTP server', () => {
  it('pool.query / pool.execute: CLIENT spans with the stable DB conventions, children of the HTTP span', async () => {
    expect(await get('/query')).toBe(200)
    const { serverSpan, db } = await spansOf('/query')
    expect(db.map((s) => s.name)).toEqual([`SELECT ${DB}`, `SELECT ${DB}`, `SELECT ${DB}`])
    expect(db.map((s) => s.kind)).toEqual([SpanKind.CLIENT, SpanKind.CLIENT, SpanKind.CLIENT])
    expectChildOf(db, serverSpan)
    // The native pool's wait for a connection (pool.query/execute only).
    const attrs = db.map((s) => {
      const { 'napi_mysql_pool.wait_ms': wait, ...rest } = s.attributes
      expect(typeof wait).toBe('number')
      expect(wait).toBeGreaterThanOrEqual(0)
      expect(wait).toBeLessThanOrEqual(ms(s.duration) + 1)
      return rest
    })
    // Placeholders as written, never the values; no values: literals masked.
    expect(attrs[0]).toEqual({ ...common('otel-main'), 'db.operation.name': 'SELECT', 'db.query.text': 'SELECT ? AS a, ? AS b' })
    expect(attrs[1]).toEqual({ ...common('otel-main'), 'db.operation.name': 'SELECT', 'db.query.text': 'SELECT ? AS n' })
    expect(attrs[2]).toEqual({ ...common('otel-main'), 'db.operation.name': 'SELECT', 'db.query.text': 'select ? AS answer' })
    for (const s of db) expect(s.status.code).toBe(SpanStatusCode.UNSET)
    expect(JSON.stringify(db.map((s) => [s.attributes, s.events]))).not.toContain('secret-value')
    // The handler's continuation still runs in the HTTP span's context.
    expect(seen['/query']).toBe(serverSpan.spanContext().spanId)
  })

  it('getConnection: a "mysql pool acquire" span with the wait, then the lent connection\'s commands', async () => {
    expect(await get('/conn')).toBe(200)
    const { serverSpan, db } = await spansOf('/conn')
    expect(db.map((s) => s.name)).toEqual(['mysql pool acquire', `SELECT ${DB}`, `UPDATE ${DB}`])
    expectChildOf(db, serverSpan)
    const [acquire, select, update] = db
    const { 'napi_mysql_pool.wait_ms': wait, 'napi_mysql_pool.connection.thread_id': threadId, ...rest } = acquire.attributes
    expect(rest).toEqual(common('otel-main'))
    expect(typeof wait).toBe('number')
    expect(wait).toBeGreaterThanOrEqual(0)
    expect(wait).toBeLessThanOrEqual(ms(acquire.duration) + 1)
    expect(Number.isInteger(threadId) && threadId > 0).toBe(true)
    expect(select.attributes['db.query.text']).toBe('SELECT ? AS v')
    // A lent connection's commands wait for nothing: the acquire span has it.
    expect(select.attributes['napi_mysql_pool.wait_ms']).toBeUndefined()
    expect(update.attributes).toMatchObject({ 'db.operation.name': 'UPDATE', 'db.query.text': 'UPDATE no_such_table_otel SET a = ?', 'error.type': '1146' })
    expect(update.status.code).toBe(SpanStatusCode.ERROR)
    expect(seen['/conn']).toBe(serverSpan.spanContext().spanId)
  })

  it('a failing statement: status ERROR, error.type and db.response.status_code = MySQL error number, exception event', async () => {
    expect(await get('/bad')).toBe(500)
    const { serverSpan, db } = await spansOf('/bad')
    expect(db).toHaveLength(1)
    const [s] = db
    expect(s.name).toBe(`SELECT ${DB}`)
    expect(parentId(s)).toBe(serverSpan.spanContext().spanId)
    const { 'napi_mysql_pool.wait_ms': wait, ...attrs } = s.attributes
    expect(wait).toBeGreaterThanOrEqual(0)
    expect(attrs).toEqual({
      ...common('otel-main'),
      'db.operation.name': 'SELECT',
      'db.query.text': 'SELECT * FROM no_such_table_otel',
      'error.type': '1146',
      'db.response.status_code': '1146',
    })
    expect(s.status).toEqual({ code: SpanStatusCode.ERROR, message: `Table '${DB}.no_such_table_otel' doesn't exist` })
    expect(s.events.map((e) => e.name)).toEqual(['exception'])
    expect(s.events[0].attributes['exception.type']).toBe('ER_NO_SUCH_TABLE')
    expect(s.events[0].attributes['exception.message']).toBe(`Table '${DB}.no_such_table_otel' doesn't exist`)
    expect(seen['/bad']).toBe(serverSpan.spanContext().spanId)
  })

  it('exhausted pool (connectionLimit 1): the acquire span and the pool.query spans show the wait', async () => {
    expect(await get('/wait')).toBe(200)
    const { serverSpan, db } = await spansOf('/wait')
    expectChildOf(db, serverSpan)
    const acquire = db.find((s) => s.name === 'mysql pool acquire')
    // Asked while SLEEP(0.4) held the only connection (and `fast` was queued
    // first): waited for both.
    expect(acquire.attributes['db.client.connection.pool.name']).toBe('otel-small')
    expect(acquire.attributes['napi_mysql_pool.wait_ms']).toBeGreaterThan(250)
    expect(acquire.attributes['napi_mysql_pool.wait_ms']).toBeLessThan(5000)
    expect(Math.abs(acquire.attributes['napi_mysql_pool.wait_ms'] - ms(acquire.duration))).toBeLessThan(20)
    const queries = db.filter((s) => s.name === `SELECT ${DB}`)
    expect(queries.map((s) => s.attributes['db.query.text'])).toEqual(['SELECT SLEEP(?) AS s', 'SELECT ? AS one'])
    // `fast` waited for the connection SLEEP held: its span covers that wait,
    // and the native pool reports it (SLEEP got the idle connection at once).
    expect(ms(queries[1].duration)).toBeGreaterThan(300)
    const waits = queries.map((s) => s.attributes['napi_mysql_pool.wait_ms'])
    expect(waits[0]).toBeGreaterThanOrEqual(0)
    expect(waits[0]).toBeLessThan(100)
    expect(waits[1]).toBeGreaterThan(300)
    expect(waits[1]).toBeLessThanOrEqual(ms(queries[1].duration) + 1)
  })
})

describe('options and isolation', () => {
  it('captureParameters: values as db.query.parameter.<n> (opt-in); queryText modes', async () => {
    instrumentation.setConfig({ captureParameters: true, queryText: 'sanitized' })
    await pool.query("SELECT ? AS a, 'lit' AS b, 10 AS c", ['v1'])
    await pool.execute('SELECT ? AS a, ? AS b, ? AS c', [null, 2, Buffer.from([1, 255])])
    instrumentation.setConfig({ queryText: 'raw' })
    await pool.query("SELECT 'kept' AS k")
    instrumentation.setConfig({ queryText: false })
    await pool.query('SELECT 1')
    const s = exporter.getFinishedSpans()
    expect(s).toHaveLength(4)
    expect(s[0].attributes).toMatchObject({ 'db.query.text': 'SELECT ? AS a, ? AS b, ? AS c', 'db.query.parameter.0': 'v1' })
    expect(s[1].attributes).toMatchObject({ 'db.query.parameter.0': 'NULL', 'db.query.parameter.1': '2', 'db.query.parameter.2': '0x01ff' })
    expect(s[2].attributes['db.query.text']).toBe("SELECT 'kept' AS k")
    expect(s[2].attributes['db.query.parameter.0']).toBeUndefined()
    expect(s[3].attributes['db.query.text']).toBeUndefined()
    expect(s[3].attributes['db.operation.name']).toBe('SELECT')
    // No parent here (outside any request): root spans.
    for (const x of s) expect(parentId(x)).toBeUndefined()
  })

  it('requireParentSpan: nothing outside a traced context; a span inside one', async () => {
    instrumentation.setConfig({ requireParentSpan: true })
    await pool.query('SELECT 1')
    expect(exporter.getFinishedSpans()).toHaveLength(0)
    const tracer = provider.getTracer('test')
    await tracer.startActiveSpan('outer', async (outer) => {
      await pool.query('SELECT 2')
      outer.end()
    })
    const s = exporter.getFinishedSpans()
    expect(s.map((x) => x.name)).toEqual([`SELECT ${DB}`, 'outer'])
    expect(parentId(s[0])).toBe(s[1].spanContext().spanId)
  })

  it('errorMessages: false keeps error.type and the code, drops server messages (they can quote values)', async () => {
    instrumentation.setConfig({ errorMessages: false })
    await pool.query('INSERT INTO no_such_table_otel VALUES (?)', ['secret-value']).catch(() => {})
    const [s] = exporter.getFinishedSpans()
    expect(s.status).toEqual({ code: SpanStatusCode.ERROR })
    expect(s.attributes['error.type']).toBe('1146')
    expect(s.events[0].attributes).toEqual({ 'exception.type': 'ER_NO_SUCH_TABLE' })
  })

  it('pool errors (no errno): error.type is the pool error code', async () => {
    const closed = createPool(opts({ name: 'otel-closed' }))
    await closed.end()
    await expect(closed.query('SELECT 1')).rejects.toMatchObject({ code: 'POOL_CLOSED' })
    await expect(closed.getConnection()).rejects.toMatchObject({ code: 'POOL_CLOSED' })
    const s = exporter.getFinishedSpans()
    expect(s.map((x) => [x.name, x.attributes['error.type'], x.attributes['db.response.status_code'], x.status.code])).toEqual([
      [`SELECT ${DB}`, 'POOL_CLOSED', undefined, SpanStatusCode.ERROR],
      ['mysql pool acquire', 'POOL_CLOSED', undefined, SpanStatusCode.ERROR],
    ])
    expect(s[1].attributes['napi_mysql_pool.wait_ms']).toBeGreaterThanOrEqual(0)
  })

  it("mysql2's own events on the same channels are left to mysql2's instrumentation", async () => {
    const mysql = require('mysql2/promise')
    const ref = mysql.createPool(opts({ connectionLimit: 1 }))
    try {
      await ref.query('SELECT 1')
      const c = await ref.getConnection()
      c.release()
    } finally {
      await ref.end()
    }
    expect(exporter.getFinishedSpans()).toHaveLength(0)
  })

  it('never records the password', async () => {
    await get('/query')
    await get('/bad')
    await get('/conn')
    const dump = JSON.stringify(exporter.getFinishedSpans().map((s) => [s.name, s.attributes, s.events, s.status]))
    expect(dump.length).toBeGreaterThan(100)
    expect(dump).not.toContain(srv.password)
  })

  it('disabled: no span and no tracing context built (zero cost); enabled again: spans again', async () => {
    instrumentation.disable()
    try {
      expect(instrumentation.enabled).toBe(false)
      for (const n of ['mysql2:query', 'mysql2:execute', 'mysql2:pool:connect']) {
        expect(tracing.shouldTrace(tracing.dc.tracingChannel(n))).toBe(false)
      }
      const before = tracing.counters.contexts
      await pool.query('SELECT ? AS a', [1])
      await pool.execute('SELECT 1')
      const c = await pool.getConnection()
      c.release()
      expect(tracing.counters.contexts).toBe(before)
      expect(exporter.getFinishedSpans()).toHaveLength(0)
    } finally {
      instrumentation.enable()
    }
    await pool.query('SELECT 1')
    expect(exporter.getFinishedSpans()).toHaveLength(1)
  })

  it('registerInstrumentations drives it like any instrumentation', () => {
    expect(instrumentation.instrumentationName).toBe('napi-mysql-pool')
    expect(instrumentation.instrumentationVersion).toBe(require('../../package.json').version)
    expect(instrumentation.getConfig().enabled).toBe(true)
    expect(() => new NapiMysqlPoolInstrumentation({ queryText: 'all', enabled: false })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OTEL_OPTION' }))
    expect(() => new NapiMysqlPoolInstrumentation({ nope: 1, enabled: false })).toThrow(/unknown option "nope"/)
  })
})

describe('SQL helpers', () => {
  it('operationName: first keyword past comments and parentheses, known operations only', () => {
    expect(operationName('  /* hint */ (select 1)')).toBe('SELECT')
    expect(operationName('-- c\nINSERT INTO t VALUES (1)')).toBe('INSERT')
    expect(operationName('# c\n  call p()')).toBe('CALL')
    expect(operationName('WITH x AS (SELECT 1) SELECT * FROM x')).toBe('WITH')
    expect(operationName('frobnicate 1')).toBeUndefined()
    expect(operationName('')).toBeUndefined()
  })

  it('sanitize: every literal becomes ?, identifiers and placeholders stay', () => {
    expect(sanitize("SELECT * FROM `t1` WHERE a = 'x''y' AND b = \"it\\\"s\" AND c IN (1, 2.5, -3e2) AND d = 0x1F AND e = X'ab' AND f = ?")).toBe(
      'SELECT * FROM `t1` WHERE a = ? AND b = ? AND c IN (?, ?, -?) AND d = ? AND e = ? AND f = ?',
    )
    expect(sanitize('SELECT col2, t3.c4 FROM t3 LIMIT 10')).toBe('SELECT col2, t3.c4 FROM t3 LIMIT ?')
    expect(queryText('auto', 'SELECT ? + 1', [5])).toBe('SELECT ? + 1')
    expect(queryText('auto', 'SELECT 5 + 1', undefined)).toBe('SELECT ? + ?')
    expect(queryText('auto', 'SELECT :id + 1', { id: 5 })).toBe('SELECT :id + 1')
    expect(queryText('raw', "SELECT 'a'", undefined)).toBe("SELECT 'a'")
  })
})
