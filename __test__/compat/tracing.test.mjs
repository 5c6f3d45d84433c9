// diagnostics_channel tracing (issue 15): the TracingChannels mysql2 >= 3.20
// publishes (node_modules/mysql2/lib/tracing.js) are published by our pool
// with the same context shapes, in the same order, for the same operations.
// Both pools run against the same server with all four channels subscribed;
// the recorded sequences must be equal except for these documented
// differences (README "Tracing"):
//  - mysql2:connect: our connections are opened by the native pool, not
//    observable from JS, so we never publish it (mysql2 does for each new
//    connection). Both pools are warmed up first and ref's connect events
//    are dropped.
//  - mysql2:pool:connect around pool.query / pool.execute: mysql2 acquires
//    a connection through getConnection() inside every pool.query; ours
//    acquires natively, fused with the command, so only getConnection()
//    publishes pool:connect. Those events are dropped from ref's sequence
//    for pool-level commands (getConnection() keeps them and is compared).
//  - `result` of pool:connect is each driver's own core connection object:
//    compared by shape (has query/execute/release, numeric threadId).
import { createRequire } from 'node:module'
import dc from 'node:diagnostics_channel'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { SELF, makePair } from './diff-helpers.mjs'

const require = createRequire(import.meta.url)
const srv = inject('mysqlServer')
const CHANNELS = ['mysql2:query', 'mysql2:execute', 'mysql2:connect', 'mysql2:pool:connect']
const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error']

function shape(r) {
  if (r === undefined) return undefined
  if (Array.isArray(r)) return { rows: r.length, first: r[0] === undefined ? null : JSON.parse(JSON.stringify(r[0])) }
  if (r && typeof r.query === 'function') {
    return { conn: typeof r.execute === 'function' && typeof r.release === 'function', threadId: typeof r.threadId }
  }
  return { type: typeof r, affectedRows: r?.affectedRows }
}

/** One event: channel, event name and a snapshot of the context then. */
function record(log, name, ev, ctx) {
  log.push({
    ch: name,
    ev,
    keys: Object.keys(ctx).filter((k) => k !== 'error' && k !== 'result'),
    query: ctx.query,
    values: ctx.values,
    database: ctx.database,
    serverAddress: ctx.serverAddress,
    serverPort: ctx.serverPort,
    error: ctx.error ? { code: ctx.error.code, errno: ctx.error.errno, message: ctx.error.message } : undefined,
    result: shape(ctx.result),
  })
}

/** Subscribes to all four channels; returns the log and an unsubscribe. */
function subscribeAll() {
  const log = []
  const subs = CHANNELS.map((name) => {
    const tc = dc.tracingChannel(name)
    const handlers = Object.fromEntries(EVENTS.map((ev) => [ev, (ctx) => record(log, name, ev, ctx)]))
    tc.subscribe(handlers)
    return () => tc.unsubscribe(handlers)
  })
  return { log, off: () => subs.forEach((u) => u()) }
}

async function run(pool, op) {
  const t = subscribeAll()
  try {
    await op(pool).catch(() => {})
    // asyncEnd of the last command is published before the caller resumes;
    // one more tick for anything late.
    await new Promise((r) => setImmediate(r))
  } finally {
    t.off()
  }
  return t.log
}

const OPS = {
  'pool.query with values': { pool: true, op: (p) => p.query('SELECT ? AS a, ? AS b', [1, 'x']) },
  'pool.query without values': { pool: true, op: (p) => p.query('SELECT 42 AS answer') },
  'pool.execute with values': { pool: true, op: (p) => p.execute('SELECT ? AS a, ? AS b', [7, 'y']) },
  'failing pool.query (no such table)': { pool: true, op: (p) => p.query('SELECT * FROM no_such_table_tracing') },
  'failing pool.execute (no such table)': { pool: true, op: (p) => p.execute('SELECT * FROM no_such_table_tracing WHERE a = ?', [1]) },
  'getConnection + conn.query + conn.execute': {
    pool: false,
    op: async (p) => {
      const conn = await p.getConnection()
      try {
        await conn.query('SELECT ? AS v', ['z'])
        await conn.execute('SELECT ? AS w', [3])
        await conn.query('SELECT * FROM no_such_table_tracing').catch(() => {})
      } finally {
        conn.release()
      }
    },
  },
}

describe.skipIf(SELF)('diagnostics_channel tracing: same events as mysql2', () => {
  let pair
  beforeAll(async () => {
    pair = makePair(srv)
    // Open both connections of each pool before anything is recorded.
    for (const pool of [pair.ref, pair.sut]) {
      const conns = await Promise.all([pool.getConnection(), pool.getConnection()])
      for (const c of conns) c.release()
    }
  })
  afterAll(() => pair?.end())

  for (const [name, { pool: poolLevel, op }] of Object.entries(OPS)) {
    it(name, async () => {
      const refLog = (await run(pair.ref, op)).filter((e) => e.ch !== 'mysql2:connect' && !(poolLevel && e.ch === 'mysql2:pool:connect'))
      const sutLog = await run(pair.sut, op)
      expect(refLog.length).toBeGreaterThan(0)
      if (process.env.TRACE_DUMP) console.log(name, JSON.stringify(sutLog.map((e) => [e.ch, e.ev, e.query, e.error?.code, e.result])))
      expect(sutLog).toEqual(refLog)
    })
  }

  it('builds no context while nobody subscribes (zero cost)', async () => {
    const tracing = require('../../lib/tracing.js')
    for (const n of CHANNELS) expect(tracing.shouldTrace(dc.tracingChannel(n))).toBe(false)
    const before = tracing.counters.contexts
    await pair.sut.query('SELECT ? AS a', [1])
    await pair.sut.execute('SELECT ? AS a', [1])
    const conn = await pair.sut.getConnection()
    await conn.query('SELECT 1')
    await conn.execute('SELECT 1')
    await conn.connection.promise().query('SELECT 1')
    conn.release()
    expect(tracing.counters.contexts).toBe(before)
    // ...and one per traced operation once someone listens (a lone
    // asyncEnd subscriber counts: Node's hasSubscribers covers all five).
    const h = () => {}
    dc.tracingChannel('mysql2:query').subscribe({ asyncEnd: h })
    try {
      await pair.sut.query('SELECT 1')
    } finally {
      dc.tracingChannel('mysql2:query').unsubscribe({ asyncEnd: h })
    }
    expect(tracing.counters.contexts).toBe(before + 1)
  })

  it('start stores reach the caller (AsyncLocalStorage bound to start)', async () => {
    const { AsyncLocalStorage } = await import('node:async_hooks')
    const als = new AsyncLocalStorage()
    const tc = dc.tracingChannel('mysql2:query')
    tc.start.bindStore(als, (ctx) => ({ query: ctx.query }))
    let inAsyncEnd
    const handlers = { asyncEnd: () => (inAsyncEnd = als.getStore()) }
    tc.subscribe(handlers)
    try {
      await pair.sut.query('SELECT 5 AS five')
    } finally {
      tc.unsubscribe(handlers)
      tc.start.unbindStore(als)
    }
    expect(inAsyncEnd).toEqual({ query: 'SELECT 5 AS five' })
  })
})
