// Pool upkeep on a private server: idle reaping, minIdle, maxLifetime, dead
// idle connections (wait_timeout), reset on release, leak detection, end()
// and process lifetime.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startMariaDB } from '../harness/mariadb.mjs'
import { createPool, sleep, waitFor, rejectionOf, connOpts, settled } from './helpers.mjs'

const THIS_FILE = fileURLToPath(import.meta.url)
const ROOT = path.resolve(path.dirname(THIS_FILE), '../..')

let srv
let base
const pools = []
function pool(opts) {
  const p = createPool({ ...base, endTimeout: 1000, ...opts })
  pools.push(p)
  return p
}

// Client connections the server sees, minus exec()'s own root connection.
async function serverThreads() {
  const rows = await srv.exec("SHOW STATUS LIKE 'Threads_connected'")
  return Number(rows[0].Value) - 1
}
async function expectServerThreads(n, timeout = 3000) {
  let last
  try {
    await waitFor(async () => (last = await serverThreads()) === n, { timeout, interval: 50 })
  } catch {
    expect(last, 'server-side connection count').toBe(n)
  }
}

beforeAll(async () => {
  srv = await startMariaDB({ tls: false })
  base = connOpts(srv)
  await srv.exec('CREATE TABLE test.t_reset (id INT PRIMARY KEY)')
})
afterAll(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()))
  await srv?.stop()
})
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()))
})

const burst = (p, n, sql = 'SELECT SLEEP(0.2) AS s') => Promise.all(Array.from({ length: n }, () => p.query(sql)))

describe('idle reaping', () => {
  it('maxIdle = connectionLimit (default), as mysql2: nothing is reaped, whatever idleTimeout says', async () => {
    await expectServerThreads(0)
    const p = pool({ connectionLimit: 5, idleTimeout: 1000 })
    await burst(p, 5)
    await settled(p)
    expect(p.stats().counts.total).toBe(5)
    await expectServerThreads(5)
    // Three reaper ticks with every connection idle past idleTimeout.
    await sleep(3500)
    const st = p.stats()
    expect(st.counts).toMatchObject({ total: 5, idle: 5, active: 0, connecting: 0 })
    expect(st.counters.destroyed).toBe(0)
    await expectServerThreads(5)
  })

  it('maxIdle = connectionLimit with reapIdle: true: idle connections are closed down to minIdle after idleTimeout', async () => {
    await expectServerThreads(0)
    const p = pool({ connectionLimit: 5, maxIdle: 5, minIdle: 1, idleTimeout: 1500, reapIdle: true })
    await burst(p, 5)
    await settled(p)
    expect(p.stats().counts.total).toBe(5)
    await expectServerThreads(5)
    await sleep(3500)
    const st = p.stats()
    expect(st.counts).toMatchObject({ total: 1, idle: 1, active: 0, connecting: 0 })
    expect(st.counters.destroyed).toBe(4)
    await expectServerThreads(1)
    // The survivor still works.
    const [rows] = await p.query('SELECT 1 AS one')
    expect(rows).toEqual([{ one: 1 }])
  })

  // mysql2 3.24: with maxIdle < connectionLimit the reaper (every second)
  // first trims the free list to maxIdle, then closes every connection idle
  // for longer than idleTimeout, down to zero (minIdle here, 0 by default).
  // idleTimeout 3000 leaves a window of at least 2 s between the trim (first
  // tick, <= 1 s after the burst) and the idleTimeout close (>= 3 s after it).
  it('mysql2 semantics: maxIdle 2 < connectionLimit 5 trims to 2 idle connections, then closes them after idleTimeout', async () => {
    await expectServerThreads(0)
    const p = pool({ connectionLimit: 5, maxIdle: 2, idleTimeout: 3000 })
    await burst(p, 5)
    const burstEnd = Date.now()
    await settled(p)
    expect(p.stats().counts.total).toBe(5)
    // The trim to maxIdle does not wait for idleTimeout.
    await waitFor(() => p.stats().counts.total === 2, { timeout: 2500, interval: 20, what: 'trim to maxIdle 2' })
    expect(Date.now() - burstEnd).toBeLessThan(3000)
    let st = p.stats()
    expect(st.counts).toMatchObject({ total: 2, idle: 2, active: 0, connecting: 0 })
    expect(st.counters.destroyed).toBe(3)
    await expectServerThreads(2, 1000)
    // Then the two left are closed once idle for idleTimeout: none are kept.
    await waitFor(() => p.stats().counts.total === 0, { timeout: 5000, interval: 20, what: 'idle connections closed after idleTimeout' })
    // (A connection is put back a moment after its answer, hence the 100 ms slack.)
    expect(Date.now() - burstEnd).toBeGreaterThanOrEqual(2900)
    st = p.stats()
    expect(st.counts).toMatchObject({ total: 0, idle: 0, active: 0, connecting: 0 })
    expect(st.counters.destroyed).toBe(5)
    expect(st.counters.created).toBe(5)
    await expectServerThreads(0)
    // An emptied pool opens a connection again on demand.
    const [rows] = await p.query('SELECT 1 AS one')
    expect(rows).toEqual([{ one: 1 }])
  })

  it('minIdle 3 opens three connections at start without any query', async () => {
    const p = pool({ connectionLimit: 5, minIdle: 3 })
    await waitFor(() => p.stats().counts.total === 3 && p.stats().counts.idle === 3, { what: '3 warm connections' })
    await sleep(300)
    const st = p.stats()
    expect(st.counts).toMatchObject({ total: 3, idle: 3, active: 0, connecting: 0 })
    expect(st.counters.created).toBe(3)
    expect(st.counters.acquired).toBe(0)
    await expectServerThreads(3)
  })
})

describe('maxLifetime', () => {
  it('connections are replaced after maxLifetime, without errors', async () => {
    const p = pool({ connectionLimit: 2, maxLifetime: 1500 })
    const seen = new Map() // threadId -> [first, last] use time
    const errors = []
    const t0 = Date.now()
    while (Date.now() - t0 < 4000) {
      const res = await Promise.allSettled([p.query('SELECT CONNECTION_ID() AS id'), p.execute('SELECT CONNECTION_ID() AS id')])
      const now = Date.now()
      for (const r of res) {
        if (r.status === 'rejected') {
          errors.push(r.reason.code)
          continue
        }
        const id = r.value[0][0].id
        const span = seen.get(id) || [now, now]
        span[1] = now
        seen.set(id, span)
      }
      await sleep(20)
    }
    expect(errors).toEqual([])
    // 4 s of use with a ~1.35-1.5 s lifetime: at least 2 generations of 1-2 connections.
    expect(seen.size).toBeGreaterThanOrEqual(3)
    for (const [id, [first, last]] of seen) {
      expect(last - first, `connection ${id} used for too long`).toBeLessThan(1500 + 300)
    }
    await settled(p)
    const st = p.stats()
    // Every connection opened was used (one opened for a waiter that got
    // another connection first may still be idle).
    expect(st.counters.created).toBeGreaterThanOrEqual(seen.size)
    expect(st.counters.created).toBeLessThanOrEqual(seen.size + 2)
    expect(st.counters.destroyed).toBeGreaterThanOrEqual(st.counters.created - 2)
    expect(st.counts.total).toBeLessThanOrEqual(2)
  })
})

describe('reset on release', () => {
  it("'auto': a getConnection() connection comes back without user variables, temp tables or an open transaction", async () => {
    const p = pool({ connectionLimit: 1, resetOnRelease: 'auto' })
    const c1 = await p.getConnection()
    await c1.query('SET @x = 5')
    await c1.query('CREATE TEMPORARY TABLE tmp_reset (a INT)')
    await c1.query('START TRANSACTION')
    await c1.query('INSERT INTO t_reset VALUES (1)')
    const [[inTx]] = await c1.query('SELECT @@in_transaction AS t, @x AS x')
    expect(inTx).toEqual({ t: 1, x: 5 })
    const thread = c1.threadId
    c1.release()

    const c2 = await p.getConnection()
    expect(c2.threadId).toBe(thread) // same physical connection
    const [[row]] = await c2.query('SELECT CONNECTION_ID() AS id, @x AS x, @@in_transaction AS t')
    expect(row).toEqual({ id: thread, x: null, t: 0 })
    const e = await rejectionOf(c2.query('SELECT * FROM tmp_reset'))
    expect(e.code).toBe('ER_NO_SUCH_TABLE')
    const [rows] = await c2.query('SELECT COUNT(*) AS n FROM t_reset')
    expect(rows).toEqual([{ n: 0 }])
    c2.release()
    expect((await p.query('SELECT COUNT(*) AS n FROM t_reset'))[0]).toEqual([{ n: 0 }])
  })

  it.each([
    ['resetOnRelease false', { resetOnRelease: false }],
    ['the default (mysql2: no reset)', {}],
  ])('%s keeps the session (so the test above does look at the same session)', async (_, opts) => {
    const p = pool({ connectionLimit: 1, ...opts })
    const c1 = await p.getConnection()
    await c1.query('SET @x = 5')
    c1.release()
    const c2 = await p.getConnection()
    expect(c2.threadId).toBe(c1.threadId)
    expect((await c2.query('SELECT @x AS x'))[0]).toEqual([{ x: 5 }])
    c2.release()
    await settled(p)
    expect(p.stats().counters.resets).toBe(0)
  })

  // pool.query('BEGIN') followed by pool.query('INSERT ...') cannot be one
  // transaction (README: the connection is rolled back when a statement left
  // a transaction open): the BEGIN is undone on release and the INSERT runs
  // in autocommit. What must hold is that no transaction outlives its call.
  it("'auto': pool.query('BEGIN') leaves no transaction open for the next pool.query", async () => {
    const p = pool({ connectionLimit: 1, resetOnRelease: 'auto' })
    const [b] = await p.query('BEGIN')
    expect(b.serverStatus & 1).toBe(1) // SERVER_STATUS_IN_TRANS right after BEGIN
    const [h] = await p.query('INSERT INTO t_reset VALUES (2)')
    expect(h.affectedRows).toBe(1)
    expect(h.serverStatus & 1).toBe(0) // the INSERT did not run inside the BEGIN
    expect((await p.query('SELECT @@in_transaction AS t'))[0]).toEqual([{ t: 0 }])
    await settled(p)
    expect(p.stats().counters.resets).toBe(1)
    const other = pool({ connectionLimit: 1 })
    expect((await other.query('SELECT COUNT(*) AS n FROM t_reset WHERE id = 2'))[0]).toEqual([{ n: 1 }])
    await other.query('DELETE FROM t_reset')
  })

  it("'auto': an INSERT inside a transaction a single pool.query left open is rolled back on release", async () => {
    const p = pool({ connectionLimit: 1, multipleStatements: true, resetOnRelease: 'auto' })
    const other = pool({ connectionLimit: 1 })
    for (const sql of [
      'BEGIN; INSERT INTO t_reset VALUES (3)',
      'START TRANSACTION; INSERT INTO t_reset VALUES (4); SELECT 1 AS one',
      'SET autocommit = 0; INSERT INTO t_reset VALUES (5)',
    ]) {
      await p.query(sql)
      await settled(p)
      expect((await other.query('SELECT COUNT(*) AS n FROM t_reset'))[0], sql).toEqual([{ n: 0 }])
      expect((await p.query('SELECT @@in_transaction AS t'))[0], sql).toEqual([{ t: 0 }])
    }
    await p.query('SET autocommit = 1')
  })

  it("'auto': pool.query keeps session variables (no reset cost when no transaction is open)", async () => {
    const p = pool({ connectionLimit: 1, resetOnRelease: 'auto' })
    await p.query('SET @y = 7')
    expect((await p.query('SELECT @y AS y'))[0]).toEqual([{ y: 7 }])
    await settled(p)
    expect(p.stats().counters.resets).toBe(0)
  })

  it('resetOnRelease true resets after pool.query too', async () => {
    const p = pool({ connectionLimit: 1, resetOnRelease: true })
    await p.query('SET @y = 7')
    expect((await p.query('SELECT @y AS y'))[0]).toEqual([{ y: null }])
  })

  it("the reset keeps the pool's own session setup (charset/collation and initSql)", async () => {
    const p = pool({ connectionLimit: 1, resetOnRelease: 'auto', charset: 'UTF8MB4_UNICODE_CI', initSql: ["SET time_zone = '+03:00'"] })
    const q = 'SELECT CONNECTION_ID() AS id, @@collation_connection AS coll, @@character_set_client AS cs, @@time_zone AS tz'
    const c1 = await p.getConnection()
    const [[before]] = await c1.query(q)
    expect(before).toMatchObject({ coll: 'utf8mb4_unicode_ci', cs: 'utf8mb4', tz: '+03:00' })
    c1.release()
    const c2 = await p.getConnection()
    const [[after]] = await c2.query(q)
    c2.release()
    expect(after.id).toBe(before.id)
    expect(after).toEqual(before)
    // Both releases did reset the session. A released connection counts as
    // idle at once (as mysql2's free list), while the reset's round trip may
    // still be on its way: wait for the counter, then check it stays exact.
    await settled(p)
    await waitFor(() => p.stats().counters.resets >= 2, { what: 'two resets' })
    await new Promise((r) => setTimeout(r, 50))
    expect(p.stats().counters.resets).toBe(2)
  })

  it('initSql statements run in the order given', async () => {
    const p = pool({ connectionLimit: 1, resetOnRelease: false, initSql: ["SET @seq = 'a'", "SET @seq = CONCAT(@seq, 'b')", "SET @seq = CONCAT(@seq, 'c')"] })
    expect((await p.query('SELECT @seq AS seq'))[0]).toEqual([{ seq: 'abc' }])
  })
})

describe('leak detection', () => {
  it("emits 'leak' with the stack of the getConnection() call and a process warning", async () => {
    const p = pool({ connectionLimit: 2, leakDetectionTimeout: 300 })
    const leaks = []
    const warnings = []
    const onWarning = (w) => warnings.push(w)
    process.on('warning', onWarning)
    p.on('leak', (info) => leaks.push(info))
    try {
      const c = await p.getConnection()
      await sleep(600)
      expect(leaks.length).toBe(1)
      expect(leaks[0].threadId).toBe(c.threadId)
      expect(leaks[0].heldForMs).toBe(300)
      expect(typeof leaks[0].stack).toBe('string')
      // Where the connection was taken: this test file, not pool internals.
      expect(leaks[0].stack).toContain(path.basename(THIS_FILE))
      await waitFor(() => warnings.some((w) => w.name === 'ConnectionLeakWarning'), { timeout: 1000, what: 'leak warning' })
      expect(p.stats().counters.leaks).toBe(1)
      c.release()
      // A connection released in time is not reported.
      const c2 = await p.getConnection()
      await sleep(100)
      c2.release()
      await sleep(400)
      expect(leaks.length).toBe(1)
    } finally {
      process.off('warning', onWarning)
    }
  })
})

describe('end()', () => {
  it('rejects waiters with POOL_CLOSED, lets the in-flight query finish, and can be called twice', async () => {
    const p = pool({ connectionLimit: 1, endTimeout: 5000 })
    const inflight = p.query('SELECT SLEEP(0.3) AS s')
    await waitFor(() => p.stats().counts.active === 1)
    const waiters = [p.query('SELECT 1'), p.execute('SELECT 2'), p.getConnection()]
    await waitFor(() => p.stats().counts.waiting === 3)
    const t0 = Date.now()
    const end1 = p.end()
    const end2 = p.end()
    const errs = await Promise.all(waiters.map(rejectionOf))
    for (const e of errs) {
      expect(e.code).toBe('POOL_CLOSED')
      expect(e.message.startsWith('Pool is closed.')).toBe(true)
    }
    const [rows] = await inflight
    expect(rows).toEqual([{ s: 0 }])
    await Promise.all([end1, end2])
    // end() waited for the query, not for its grace period.
    expect(Date.now() - t0).toBeLessThan(2500)
    await p.end()
    const after = await rejectionOf(p.query('SELECT 1'))
    expect(after.code).toBe('POOL_CLOSED')
    expect((await rejectionOf(p.getConnection())).code).toBe('POOL_CLOSED')
    expect(p.stats().closed).toBe(true)
    expect(p.health()).toMatchObject({ healthy: false, status: 'unhealthy' })
    await expectServerThreads(0)
  })

  it('end() right after release() does not wait for endTimeout', async () => {
    const times = []
    for (let i = 0; i < 6; i++) {
      const p = createPool({ ...base, connectionLimit: 1, endTimeout: 2000 })
      const c = await p.getConnection()
      await c.query('SELECT 1')
      c.release()
      const t0 = Date.now()
      await p.end()
      times.push(Date.now() - t0)
      if (times.at(-1) >= 1500) break
    }
    // Nothing is lent once release() returned: end() has nothing to wait for.
    expect(times.filter((t) => t >= 1500)).toEqual([])
    await expectServerThreads(0)
  })

  it('a connection never released is closed after endTimeout', async () => {
    const p = pool({ connectionLimit: 1, endTimeout: 300 })
    const c = await p.getConnection()
    const t0 = Date.now()
    await p.end()
    const elapsed = Date.now() - t0
    expect(elapsed).toBeGreaterThanOrEqual(250)
    expect(elapsed).toBeLessThan(2000)
    expect((await rejectionOf(c.query('SELECT 1'))).code).toBe('POOL_CLOSED')
    await expectServerThreads(0)
  })
})

describe('process lifetime', () => {
  function runChild(body, timeoutMs = 5000) {
    const script = `
      const { createPool } = require(${JSON.stringify(path.join(ROOT, 'lib/index.js'))});
      const pool = createPool(${JSON.stringify(base)});
      (async () => { ${body} })().catch((e) => { console.error('child error', e); process.exit(3); });
    `
    return new Promise((resolve) => {
      const t0 = Date.now()
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      child.stdout.on('data', (d) => (out += d))
      child.stderr.on('data', (d) => (err += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      // close, not exit: stdout can still be unread when exit fires.
      child.on('close', (code, signal) => {
        clearTimeout(timer)
        resolve({ code, signal, out, err, ms: Date.now() - t0 })
      })
    })
  }

  it('a script that queries and calls end() exits by itself with code 0', async () => {
    const r = await runChild(`
      const [rows] = await pool.query('SELECT 1 AS one');
      console.log(JSON.stringify(rows));
      await pool.end();
    `)
    expect(r.err).toBe('')
    expect(r.out.trim()).toBe('[{"one":1}]')
    expect(r.signal).toBe(null)
    expect(r.code).toBe(0)
    expect(r.ms).toBeLessThan(5000)
  })

  it('a script that queries and does NOT call end() exits by itself (idle pool does not hold the process)', async () => {
    const r = await runChild(`
      const [rows] = await pool.query('SELECT 2 AS two');
      console.log(JSON.stringify(rows));
    `)
    expect(r.err).toBe('')
    expect(r.out.trim()).toBe('[{"two":2}]')
    expect(r.signal).toBe(null)
    expect(r.code).toBe(0)
    expect(r.ms).toBeLessThan(5000)
  })

  it('an in-flight query keeps the process alive until it completes', async () => {
    const r = await runChild(`
      pool.query('SELECT SLEEP(0.5) AS s').then(([rows]) => console.log('done', JSON.stringify(rows)));
    `)
    expect(r.out.trim()).toBe('done [{"s":0}]')
    expect(r.code).toBe(0)
  })
})

// Last: restarts the server with a short wait_timeout.
describe('server closes idle connections (wait_timeout)', () => {
  it('connections the server dropped while idle are replaced, never handed out', async () => {
    await srv.restart({ args: ['--wait-timeout=1'] })
    const p = pool({ connectionLimit: 10 })
    await burst(p, 10, 'SELECT SLEEP(0.1) AS s')
    await settled(p)
    expect(p.stats().counts.total).toBe(10)
    await sleep(2000)
    await expectServerThreads(0)
    const res = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => (i % 2 ? p.query('SELECT ? AS i', [i]) : p.execute('SELECT ? AS i', [i]))))
    const errors = res.filter((r) => r.status === 'rejected').map((r) => `${r.reason.code}: ${r.reason.message}`)
    expect(errors).toEqual([])
    res.forEach((r, i) => expect(r.value[0][0].i).toBe(i))
    const st = p.stats()
    expect(st.counters.validationFailures).toBeGreaterThanOrEqual(1)
  })
})

describe('keep-alive pings (idlePingInterval)', () => {
  it('idle connections pinged more often than wait_timeout stay open and are reused', async () => {
    await srv.restart({ args: ['--wait-timeout=2'] })
    const p = pool({ connectionLimit: 3, idlePingInterval: 500, validateAfterIdle: 60000 })
    const first = await Promise.all([0, 1, 2].map(() => p.query('SELECT CONNECTION_ID() AS id, SLEEP(0.1) AS s')))
    const before = new Set(first.map(([rows]) => rows[0].id))
    expect(before.size).toBe(3)
    await settled(p)
    // Idle for twice the server's wait_timeout: only the pings keep them alive.
    await sleep(4500)
    await expectServerThreads(3)
    const again = await Promise.all([0, 1, 2].map(() => p.query('SELECT CONNECTION_ID() AS id, SLEEP(0.1) AS s')))
    const after = new Set(again.map(([rows]) => rows[0].id))
    expect([...after].sort()).toEqual([...before].sort())
    const st = p.stats()
    expect(st.counters.validationFailures).toBe(0)
    expect(st.counters.destroyed).toBe(0)
    expect(st.counters.created).toBe(3)
  })

  it('without pings the same idle connections are lost (so the test above can fail)', async () => {
    const p = pool({ connectionLimit: 3, validateAfterIdle: 500 })
    await Promise.all([0, 1, 2].map(() => p.query('SELECT SLEEP(0.1) AS s')))
    await settled(p)
    await sleep(4500)
    await expectServerThreads(0)
    const [[row]] = await p.query('SELECT 1 AS one')
    expect(row.one).toBe(1)
    expect(p.stats().counters.validationFailures).toBeGreaterThanOrEqual(1)
  })
})
