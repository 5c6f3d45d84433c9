// The borrow queue: waitForConnections=false, queueLimit, acquireTimeout,
// FIFO order of waiters, exact acquire/release counters, no password in errors.
import { describe, it, expect, inject, afterEach } from 'vitest'
import { createPool, sleep, waitFor, rejectionOf, connOpts, settled, fakeServer } from './helpers.mjs'

const srv = inject('mysqlServer')
const base = connOpts(srv)

const pools = []
function pool(opts) {
  // Short end() grace: a release racing end() can make end() wait it out
  // (covered in health.test.mjs); it must not slow this file down.
  const p = createPool({ ...base, endTimeout: 1000, ...opts })
  pools.push(p)
  return p
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()))
})

const countsRe = (c) => `(active ${c.active}, idle ${c.idle}, limit ${c.limit}, waiting ${c.waiting})`

describe('waitForConnections: false', () => {
  it('rejects at once with POOL_NO_CONNECTIONS while every connection is busy', async () => {
    const p = pool({ connectionLimit: 2, waitForConnections: false })
    const busy = [p.query('SELECT SLEEP(0.5) AS s'), p.query('SELECT SLEEP(0.5) AS s')]
    await waitFor(() => p.stats().counts.active === 2, { what: 'two busy connections' })

    const t0 = Date.now()
    const e = await rejectionOf(p.query('SELECT 1'))
    const elapsed = Date.now() - t0
    expect(e).toBeInstanceOf(Error)
    expect(e.code).toBe('POOL_NO_CONNECTIONS')
    expect(e.message).toBe('No connections available. (active 2, idle 0, limit 2, waiting 0)')
    // Rejected while the sleeps still run, i.e. nothing waited for a connection.
    expect(elapsed).toBeLessThan(300)
    expect(p.stats().counts.active).toBe(2)

    const e2 = await rejectionOf(p.getConnection())
    expect(e2.code).toBe('POOL_NO_CONNECTIONS')
    const e3 = await rejectionOf(p.execute('SELECT ? AS v', [1]))
    expect(e3.code).toBe('POOL_NO_CONNECTIONS')

    const done = await Promise.all(busy)
    expect(done.map(([rows]) => rows[0].s)).toEqual([0, 0])
    await settled(p)
    const [rows] = await p.query('SELECT 1 AS one')
    expect(rows).toEqual([{ one: 1 }])
    const st = p.stats()
    expect(st.counters.rejected).toBe(3)
    expect(st.counts.waiting).toBe(0)
  })
})

describe('queueLimit', () => {
  it('rejects the request past the limit with POOL_QUEUE_LIMIT and the counts; queued ones still run', async () => {
    const p = pool({ connectionLimit: 1, queueLimit: 2 })
    const held = await p.getConnection()
    const queued = [p.query('SELECT 1 AS a'), p.query('SELECT 2 AS a')]
    await waitFor(() => p.stats().counts.waiting === 2, { what: 'two waiters' })

    const e = await rejectionOf(p.query('SELECT 3 AS a'))
    expect(e.code).toBe('POOL_QUEUE_LIMIT')
    expect(e.message.startsWith('Queue limit reached.')).toBe(true)
    expect(e.message).toBe(`Queue limit reached. ${countsRe({ active: 1, idle: 0, limit: 1, waiting: 2 })}`)
    const e2 = await rejectionOf(p.getConnection())
    expect(e2.code).toBe('POOL_QUEUE_LIMIT')
    // The rejected requests did not join the queue.
    expect(p.stats().counts.waiting).toBe(2)

    held.release()
    const res = await Promise.all(queued)
    expect(res.map(([rows]) => rows[0].a)).toEqual([1, 2])
    await settled(p)
    expect(p.stats().counters.rejected).toBe(2)
  })
})

describe('acquireTimeout', () => {
  it('rejects a waiter with POOL_ACQUIRE_TIMEOUT after the deadline and removes it from the queue', async () => {
    const p = pool({ connectionLimit: 1, acquireTimeout: 400 })
    const held = await p.getConnection()
    const t0 = Date.now()
    const pending = [p.query('SELECT 1'), p.getConnection(), p.execute('SELECT ? AS v', [1])]
    await waitFor(() => p.stats().counts.waiting === 3, { what: 'three waiters' })
    const errs = await Promise.all(pending.map(rejectionOf))
    const elapsed = Date.now() - t0
    for (const e of errs) {
      expect(e.code).toBe('POOL_ACQUIRE_TIMEOUT')
      expect(e.message).toMatch(/^Timeout acquiring a connection after 400 ms\. \(active 1, idle 0, limit 1, waiting \d\)$/)
    }
    // Not before the deadline; well before "hung".
    expect(elapsed).toBeGreaterThanOrEqual(380)
    expect(elapsed).toBeLessThan(3000)

    const st = p.stats()
    expect(st.counts.waiting).toBe(0)
    expect(st.counters.timedOut).toBe(3)
    expect(st.counts.active).toBe(1)

    // The connection released later goes to idle, not to a ghost waiter.
    held.release()
    await settled(p)
    expect(p.stats().counts).toMatchObject({ total: 1, idle: 1, active: 0, waiting: 0 })
    const [rows] = await p.query('SELECT 42 AS v')
    expect(rows).toEqual([{ v: 42 }])
    const c = await p.getConnection()
    expect(c.threadId).toBe(held.threadId)
    c.release()
  })

  it('a waiter that is served before its deadline does not time out later', async () => {
    const p = pool({ connectionLimit: 1, acquireTimeout: 600 })
    const held = await p.getConnection()
    const q = p.query('SELECT SLEEP(0.8) AS s')
    await waitFor(() => p.stats().counts.waiting === 1)
    await sleep(100)
    held.release()
    // The query itself runs longer than acquireTimeout: only the wait counts.
    const [rows] = await q
    expect(rows).toEqual([{ s: 0 }])
    expect(p.stats().counters.timedOut).toBe(0)
  })

  it('many waiters timing out while connections come and go leave the counts consistent', async () => {
    const p = pool({ connectionLimit: 2, acquireTimeout: 150 })
    const work = []
    for (let i = 0; i < 60; i++) work.push(p.query('SELECT SLEEP(0.05) AS s'))
    const res = await Promise.allSettled(work)
    const ok = res.filter((r) => r.status === 'fulfilled').length
    const codes = new Set(res.filter((r) => r.status === 'rejected').map((r) => r.reason.code))
    expect([...codes].every((c) => c === 'POOL_ACQUIRE_TIMEOUT')).toBe(true)
    expect(ok).toBeGreaterThan(0)
    expect(ok).toBeLessThan(60)
    await settled(p)
    const st = p.stats()
    expect(st.counters.timedOut).toBe(60 - ok)
    expect(st.counters.acquired).toBe(ok)
    expect(st.counters.released).toBe(ok)
    expect(st.counts).toMatchObject({ active: 0, waiting: 0, connecting: 0 })
    expect(st.counts.total).toBe(st.counts.idle)
    expect(st.counts.total).toBeLessThanOrEqual(2)
  })
})

describe('acquireTimeout against a stalled server', () => {
  // A server that accepts TCP but never sends its handshake (overloaded
  // server, half-dead proxy): opening a connection is part of acquiring one,
  // so the caller must get POOL_ACQUIRE_TIMEOUT at acquireTimeout, not wait
  // for connectTimeout.
  let server
  afterEach(async () => {
    await server?.close()
    server = null
  })

  it('a request whose connection is still being opened times out at acquireTimeout', async () => {
    server = await fakeServer()
    const { port } = server
    const p = createPool({ ...base, port, connectionLimit: 2, acquireTimeout: 300, connectTimeout: 4000, endTimeout: 200 })
    pools.push(p)
    const t0 = Date.now()
    const res = await Promise.allSettled([p.query('SELECT 1'), p.query('SELECT 1'), p.query('SELECT 1')])
    const elapsed = Date.now() - t0
    const codes = res.map((r) => r.status === 'rejected' && r.reason.code)
    // The third one queued behind the two opening connections.
    expect(codes).toEqual(['POOL_ACQUIRE_TIMEOUT', 'POOL_ACQUIRE_TIMEOUT', 'POOL_ACQUIRE_TIMEOUT'])
    expect(elapsed).toBeLessThan(2500)
  }, 15_000)
})

describe('FIFO fairness', () => {
  // Waiters asked for in one tick must be served in call order, like mysql2's
  // queue. Several rounds: an ordering race shows up only now and then.
  it('getConnection waiters are served in the order they asked', async () => {
    const p = pool({ connectionLimit: 1, acquireTimeout: 0 })
    const rounds = []
    for (let round = 0; round < 6; round++) {
      let current = await p.getConnection()
      const thread = current.threadId
      const order = []
      const conns = []
      for (let i = 0; i < 10; i++) {
        p.getConnection().then((c) => {
          order.push(i)
          conns.push(c)
        })
      }
      await waitFor(() => p.stats().counts.waiting === 10, { what: 'ten waiters' })
      for (let i = 0; i < 10; i++) {
        current.release()
        await waitFor(() => order.length === i + 1, { interval: 2, what: `waiter #${i + 1} to be served` })
        current = conns[i]
        expect(current.threadId).toBe(thread)
      }
      // Exactly one served per release: nobody is left and nobody got two.
      expect(p.stats().counts).toMatchObject({ waiting: 0, active: 1, total: 1 })
      current.release()
      await settled(p)
      rounds.push(order.join(','))
    }
    expect(rounds).toEqual(Array(6).fill('0,1,2,3,4,5,6,7,8,9'))
    const st = p.stats()
    expect(st.counters.acquired).toBe(66)
    expect(st.counters.released).toBe(66)
  })

  it('pool.query calls made in one tick run in call order', async () => {
    const p = pool({ connectionLimit: 1, acquireTimeout: 0 })
    const rounds = []
    for (let round = 0; round < 6; round++) {
      const held = await p.getConnection()
      const order = []
      const qs = []
      for (let i = 0; i < 10; i++) qs.push(p.query('SELECT ? AS i', [i]).then(([rows]) => order.push(rows[0].i)))
      await waitFor(() => p.stats().counts.waiting === 10)
      held.release()
      await Promise.all(qs)
      rounds.push(order.join(','))
    }
    expect(rounds).toEqual(Array(6).fill('0,1,2,3,4,5,6,7,8,9'))
  })

  it('pool.query waiters queued one at a time run in order', async () => {
    const p = pool({ connectionLimit: 1, acquireTimeout: 0 })
    const held = await p.getConnection()
    const order = []
    const qs = []
    for (let i = 0; i < 10; i++) {
      qs.push(p.query('SELECT ? AS i', [i]).then(([rows]) => order.push(rows[0].i)))
      await waitFor(() => p.stats().counts.waiting === i + 1)
    }
    held.release()
    await Promise.all(qs)
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })
})

describe('counters', () => {
  it('acquired == released == queries after N concurrent queries on a small pool (hand-over to waiters included)', async () => {
    const p = pool({ connectionLimit: 3 })
    const N = 300
    const res = await Promise.all(Array.from({ length: N }, (_, i) => (i % 2 ? p.query('SELECT ? AS i', [i]) : p.execute('SELECT ? AS i', [i]))))
    res.forEach(([rows], i) => expect(rows[0].i).toBe(i))
    await settled(p)
    const st = p.stats()
    expect(st.counters.acquired).toBe(N)
    expect(st.counters.released).toBe(N)
    expect(st.counters.queries).toBe(N)
    expect(st.counters.rejected).toBe(0)
    expect(st.counters.timedOut).toBe(0)
    expect(st.counters.created).toBe(st.counts.total)
    expect(st.counts).toMatchObject({ active: 0, waiting: 0, connecting: 0, limit: 3 })
    expect(st.counts.idle).toBe(st.counts.total)
    expect(st.counts.total).toBeLessThanOrEqual(3)
  })

  it('released connections handed straight to getConnection waiters are counted once each way', async () => {
    // 'auto' (opt-in) so that every getConnection() release also resets.
    const p = pool({ connectionLimit: 2, resetOnRelease: 'auto' })
    const M = 40
    const work = Array.from({ length: M }, async (_, i) => {
      const c = await p.getConnection()
      try {
        const [rows] = await c.query('SELECT ? AS i', [i])
        return rows[0].i
      } finally {
        c.release()
      }
    })
    const queries = Array.from({ length: 40 }, (_, i) => p.query('SELECT ? AS j', [i]))
    const got = await Promise.all(work)
    await Promise.all(queries)
    expect(got).toEqual(Array.from({ length: M }, (_, i) => i))
    await settled(p)
    const st = p.stats()
    expect(st.counters.acquired).toBe(M + 40)
    expect(st.counters.released).toBe(M + 40)
    expect(st.counters.queries).toBe(M + 40)
    // Every getConnection() release resets the session (resetOnRelease
    // 'auto'); no pool.query left a transaction open, so those never reset.
    expect(st.counters.resets).toBe(M)
    expect(st.counts).toMatchObject({ active: 0, waiting: 0 })
    expect(st.counters.created).toBeLessThanOrEqual(2)
  })

  it('destroy() and query errors keep acquired == released', async () => {
    const p = pool({ connectionLimit: 2 })
    const c = await p.getConnection()
    c.destroy()
    const e = await rejectionOf(p.query('SELECT * FROM no_such_table_xyz'))
    expect(e.code).toBe('ER_NO_SUCH_TABLE')
    // A query timeout as in mysql2: the promise rejects at the deadline, with
    // no fatal flag, while SLEEP(2) keeps running on its connection, which
    // stays lent (active) until the server answers and is then released.
    const t0 = Date.now()
    const e2 = await rejectionOf(p.query({ sql: 'SELECT SLEEP(2)', timeout: 100 }))
    expect(Date.now() - t0).toBeLessThan(1500)
    expect(e2.code).toBe('PROTOCOL_SEQUENCE_TIMEOUT')
    expect(e2.message).toBe('Query inactivity timeout')
    expect(e2.fatal).toBeUndefined()
    expect(p.stats().counts.active).toBe(1)
    // Meanwhile the other connection slot serves a query.
    expect((await p.query('SELECT 1 AS one'))[0]).toEqual([{ one: 1 }])
    // Wait for the sleep to end and its connection to come back: it was held
    // for the whole SLEEP(2), not given up at the timeout.
    await waitFor(() => p.stats().counts.active === 0, { timeout: 5000, what: 'the timed-out SLEEP(2) to finish' })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900)
    await settled(p)
    const st = p.stats()
    // 4 acquisitions: getConnection(), the failing query, the timed-out
    // query and SELECT 1. 3 releases: destroy() is not a release, the two
    // pool.query errors and SELECT 1 are (the timed-out one once its SLEEP
    // ended). 1 destroyed: only c; neither a query error nor a query timeout
    // closes the connection. 3 created: c's, then exactly the 2 the limit
    // allows, since SELECT 1 ran while the sleep held one and none closed.
    expect(st.counters.acquired).toBe(4)
    expect(st.counters.released).toBe(3)
    expect(st.counters.released).toBe(st.counters.acquired - 1) // destroy() is not a release
    expect(st.counters.destroyed).toBe(1)
    expect(st.counters.created).toBe(3)
    expect(st.counts).toMatchObject({ total: 2, idle: 2, active: 0, connecting: 0 })
    // The timed-out connection is usable again: two concurrent queries are
    // served by the two open connections, none opened or closed.
    const both = await Promise.all([p.query('SELECT SLEEP(0.2) AS s'), p.query('SELECT SLEEP(0.2) AS s')])
    expect(both.map(([rows]) => rows)).toEqual([[{ s: 0 }], [{ s: 0 }]])
    await settled(p)
    const after = p.stats()
    expect(after.counters).toMatchObject({ acquired: 6, released: 5, destroyed: 1, created: 3 })
    expect(after.counts).toMatchObject({ total: 2, idle: 2, active: 0 })
  })
})

describe('no password in errors', () => {
  const secret = 'Pw-9f3Kq-Very-Secret'
  const check = (e, where) => {
    const texts = [e.message, e.stack, e.sqlMessage, JSON.stringify(e), String(e), JSON.stringify(Object.entries(e))]
    for (const t of texts) expect(t ?? '', where).not.toContain(secret)
  }

  it('connect, pool and timeout errors never contain the password', async () => {
    // Wrong password: access denied.
    const wrong = pool({ password: secret, connectionLimit: 1, circuitBreakerThreshold: 0 })
    const e1 = await rejectionOf(wrong.query('SELECT 1'))
    expect(e1.code).toBe('ER_ACCESS_DENIED_ERROR')
    expect(e1.fatal).toBe(true)
    check(e1, 'access denied')
    for (const t of [JSON.stringify(wrong.stats()), JSON.stringify(wrong.health()), wrong.metrics(), JSON.stringify(wrong.metrics('json'))]) {
      expect(t).not.toContain(secret)
    }

    // Nothing listening (port 1), from options and from a URI.
    const refused = pool({ ...base, port: 1, password: secret, connectionLimit: 1, acquireTimeout: 300 })
    const e2 = await rejectionOf(refused.query('SELECT 1'))
    expect(e2.code).toBe('ECONNREFUSED')
    check(e2, 'refused')
    const byUri = createPool(`mysql://napi:${secret}@127.0.0.1:1/test?connectionLimit=1`)
    pools.push(byUri)
    const e3 = await rejectionOf(byUri.query('SELECT 1'))
    expect(e3.fatal).toBe(true)
    check(e3, 'uri')
    // Two more failures open the breaker (threshold 3); then it fails fast.
    const e4 = [e2]
    for (let i = 0; i < 3; i++) e4.push(await rejectionOf(refused.query('SELECT 1')))
    for (const e of e4) check(e, 'breaker')
    expect(e4.map((e) => e.code)).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED', 'POOL_CIRCUIT_OPEN'])
    expect(JSON.stringify(refused.stats())).not.toContain(secret)
    expect(JSON.stringify(refused.health())).not.toContain(secret)

    // Pool errors with the right password (which the shared server has).
    const p = pool({ connectionLimit: 1, queueLimit: 1, acquireTimeout: 200 })
    const held = await p.getConnection()
    const q1 = p.query('SELECT 1')
    await waitFor(() => p.stats().counts.waiting === 1)
    const e5 = await rejectionOf(p.query('SELECT 1'))
    expect(e5.code).toBe('POOL_QUEUE_LIMIT')
    const e6 = await rejectionOf(q1)
    expect(e6.code).toBe('POOL_ACQUIRE_TIMEOUT')
    for (const e of [e5, e6]) {
      for (const t of [e.message, e.stack, JSON.stringify(e)]) expect(t).not.toContain(srv.password)
    }
    held.release()
    await p.end()
    const e7 = await rejectionOf(p.query('SELECT 1'))
    expect(e7.code).toBe('POOL_CLOSED')
    expect(e7.message).toBe('Pool is closed.')
    expect(e7.stack).not.toContain(srv.password)
  })
})
