// Server outages on a private server: SIGKILL under load, queued requests
// riding out a short outage, the circuit breaker, recovery, and no promise
// left hanging.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest'
import { startMariaDB } from '../harness/mariadb.mjs'
import { createPool, sleep, waitFor, rejectionOf, connOpts, settled, fakeServer } from './helpers.mjs'

let srv
let base
const pools = []
function pool(opts) {
  const p = createPool({ ...base, endTimeout: 1000, ...opts })
  pools.push(p)
  return p
}

beforeAll(async () => {
  srv = await startMariaDB({ tls: false })
  base = connOpts(srv)
})
afterAll(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()))
  await srv?.stop()
})
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()))
  if (!srv.running) await srv.start()
})

// Codes a request may fail with when the server dies under it: the query's
// connection is lost, or (for one that was opening a connection) the socket
// is refused/reset.
const LOST = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ECONNABORTED'])

function track() {
  const all = []
  const add = (p) => {
    const t = p.then(
      (v) => ({ ok: true, v }),
      (e) => ({ ok: false, e }),
    )
    all.push(t)
    return t
  }
  return { all, add }
}

describe('server killed under load', () => {
  it('in-flight queries fail fatally, queued ones ride out the outage, the breaker fails fast, and the pool recovers', async () => {
    const LIMIT = 20
    const p = pool({ connectionLimit: LIMIT, acquireTimeout: 15_000, connectTimeout: 2000, circuitBreakerThreshold: 3, circuitBreakerReset: 1000 })
    const { all, add } = track()
    let running = true
    let issued = 0
    const beforeKill = []
    const launch = () => {
      const i = issued++
      const q = i % 3 === 0 ? p.query('SELECT SLEEP(0.05) AS s, ? AS i', [i]) : i % 3 === 1 ? p.execute('SELECT ? AS i', [i]) : p.query('SELECT ? AS i', [i])
      const t = add(q)
      beforeKill.push(t)
      t.then(() => {
        if (running) launch()
      })
    }
    for (let k = 0; k < 200; k++) launch()
    await waitFor(() => p.stats().counts.total === LIMIT && p.stats().counts.waiting > 100, { what: 'load' })
    await sleep(300)

    // Kill: stop issuing load; everything issued so far is either on a
    // connection (fails) or queued (must survive).
    running = false
    await srv.kill()
    const issuedAtKill = issued

    // While the server is down the breaker opens; new requests fail fast.
    await waitFor(() => p.stats().circuitBreakerOpen, { timeout: 5000, what: 'breaker to open' })
    const h = p.health()
    expect(h.healthy).toBe(false)
    expect(h.status).toBe('unhealthy')
    expect(h.message).toMatch(/Circuit breaker open/)
    const fast = []
    for (let k = 0; k < 10; k++) {
      const t0 = Date.now()
      const e = await rejectionOf(k % 3 === 0 ? p.getConnection() : k % 3 === 1 ? p.execute('SELECT 1') : p.query('SELECT 1'))
      fast.push({ code: e.code, ms: Date.now() - t0, msg: e.message })
    }
    for (const f of fast) {
      expect(f.code).toBe('POOL_CIRCUIT_OPEN')
      expect(f.msg).toMatch(/^Circuit breaker open: .*\(active \d+, idle \d+, limit 20, waiting \d+\)$/)
      expect(f.ms).toBeLessThan(100)
    }
    // The requests queued before the kill are still waiting.
    const waitingDuringOutage = p.stats().counts.waiting
    expect(waitingDuringOutage).toBeGreaterThan(0)

    // Back within acquireTimeout: the queue drains by itself.
    await srv.start()
    const t0 = Date.now()
    const results = await Promise.all(beforeKill)
    const drainMs = Date.now() - t0
    expect(issued).toBe(issuedAtKill)
    const failures = results.filter((r) => !r.ok).map((r) => r.e)
    const codes = {}
    for (const e of failures) codes[`${e.code}${e.fatal ? ' (fatal)' : ''}`] = (codes[`${e.code}${e.fatal ? ' (fatal)' : ''}`] || 0) + 1
    console.log(
      `[outage] issued ${issued}, failed ${failures.length}: ${JSON.stringify(codes)}; queue drained ${drainMs} ms after start(); ${waitingDuringOutage} were waiting during the outage`,
    )
    for (const e of failures) {
      expect(LOST.has(e.code), `${e.code}: ${e.message}`).toBe(true)
      expect(e.fatal).toBe(true)
      expect(e).toBeInstanceOf(Error)
    }
    // Each connection can lose at most the one query it was running.
    expect(failures.length).toBeGreaterThan(0)
    expect(failures.length).toBeLessThanOrEqual(LIMIT)
    for (const r of results.filter((r) => r.ok)) expect(r.v[0][0]).toHaveProperty('i')
    expect(drainMs).toBeLessThan(5000)

    // Recovered: queries work and health is back to healthy within 2 s.
    const [rows] = await p.query('SELECT 1 AS one')
    expect(rows).toEqual([{ one: 1 }])
    await settled(p)
    await waitFor(() => p.health().status === 'healthy', { timeout: 2000, what: 'health healthy again' })
    expect(p.stats().circuitBreakerOpen).toBe(false)
    const res = await Promise.all(Array.from({ length: 100 }, (_, i) => p.execute('SELECT ? AS i', [i])))
    expect(res.map(([r]) => r[0].i)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    await Promise.all(all)
  }, 40_000)

  it('a lent connection whose server died reports fatal errors and is not reused', async () => {
    const p = pool({ connectionLimit: 2 })
    const c = await p.getConnection()
    await c.query('SELECT 1')
    await srv.kill()
    const e1 = await rejectionOf(c.query('SELECT 1'))
    expect(LOST.has(e1.code), e1.code).toBe(true)
    expect(e1.fatal).toBe(true)
    const e2 = await rejectionOf(c.query('SELECT 1'))
    expect(e2.code).toBe('PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR')
    expect(e2.fatal).toBe(true)
    c.release()
    await srv.start()
    const c2 = await p.getConnection()
    expect(c2.threadId).not.toBe(c.threadId)
    expect((await c2.query('SELECT 2 AS two'))[0]).toEqual([{ two: 2 }])
    c2.release()
    await settled(p)
    expect(p.stats().counts.total).toBe(1)
  })
})

describe('outage without load', () => {
  it('idle connections killed with the server are replaced after a restart without any error', async () => {
    const p = pool({ connectionLimit: 5 })
    await Promise.all(Array.from({ length: 5 }, () => p.query('SELECT SLEEP(0.05)')))
    await settled(p)
    expect(p.stats().counts.idle).toBe(5)
    await srv.kill()
    await srv.start()
    // Idle longer than validateAfterIdle (500 ms): every one is pinged before use.
    await sleep(600)
    const res = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => p.query('SELECT ? AS i', [i])))
    expect(res.filter((r) => r.status === 'rejected').map((r) => r.reason.code)).toEqual([])
    const st = p.stats()
    expect(st.counters.validationFailures).toBeGreaterThanOrEqual(1)
    expect(st.counters.destroyed).toBeGreaterThanOrEqual(1)
  })

  it('an outage longer than acquireTimeout rejects waiters with POOL_ACQUIRE_TIMEOUT naming the connect error', async () => {
    const p = pool({ connectionLimit: 1, acquireTimeout: 800, circuitBreakerThreshold: 0 })
    const held = await p.getConnection()
    await srv.kill()
    const waiters = [p.query('SELECT 1'), p.query('SELECT 1')]
    await waitFor(() => p.stats().counts.waiting === 2)
    held.destroy() // its slot is refilled in the background, which fails while the server is down
    const errs = await Promise.all(waiters.map(rejectionOf))
    for (const e of errs) {
      expect(e.code).toBe('POOL_ACQUIRE_TIMEOUT')
      expect(e.message).toMatch(/^Timeout acquiring a connection after 800 ms\..*Last connect error: .+/)
    }
    expect(p.stats().counts.waiting).toBe(0)
    await srv.start()
    await waitFor(
      async () => {
        try {
          return (await p.query('SELECT 1 AS one'))[0][0].one === 1
        } catch {
          return false
        }
      },
      { timeout: 3000, what: 'the pool to serve again' },
    )
  })

  it('while the server is down the breaker opens after the threshold and closes once it is back', async () => {
    const p = pool({ connectionLimit: 10, circuitBreakerThreshold: 3, circuitBreakerReset: 600 })
    await srv.kill()
    const first = []
    for (let i = 0; i < 3; i++) first.push((await rejectionOf(p.query('SELECT 1'))).code)
    expect(first).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED'])
    const open = await rejectionOf(p.query('SELECT 1'))
    expect(open.code).toBe('POOL_CIRCUIT_OPEN')
    expect(p.stats().circuitBreakerOpen).toBe(true)
    expect(p.health().status).toBe('unhealthy')
    expect(p.stats().counters.connectFailures).toBe(3)
    await srv.start()
    await sleep(700)
    expect((await p.query('SELECT 1 AS one'))[0]).toEqual([{ one: 1 }])
    expect(p.stats().circuitBreakerOpen).toBe(false)
    await settled(p)
    await waitFor(() => p.health().status === 'healthy', { timeout: 2000, what: 'healthy' })
  })
})

describe('circuit breaker half-open', () => {
  // A server that accepts and then drops the socket after 150 ms: connect
  // attempts fail slowly, so concurrent callers overlap with the trial.
  let server
  afterEach(async () => {
    await server?.close()
    server = null
  })

  it('after circuitBreakerReset one trial connect is let through; the others still fail fast', async () => {
    server = await fakeServer((s) => setTimeout(() => s.destroy(), 150))
    const p = pool({ port: server.port, connectionLimit: 10, circuitBreakerThreshold: 3, circuitBreakerReset: 500 })
    const first = []
    for (let i = 0; i < 3; i++) {
      const e = await rejectionOf(p.query('SELECT 1'))
      expect(e.fatal).toBe(true)
      first.push(e.code)
    }
    expect(first).not.toContain('POOL_CIRCUIT_OPEN')
    expect((await rejectionOf(p.query('SELECT 1'))).code).toBe('POOL_CIRCUIT_OPEN')
    await sleep(600)
    const t0 = Date.now()
    const settledAt = []
    const errs = await Promise.all(Array.from({ length: 8 }, () => rejectionOf(p.query('SELECT 1')).then((e) => (settledAt.push(Date.now() - t0), e))))
    const tally = errs.reduce(
      (m, e) => ((m[e.code === 'POOL_CIRCUIT_OPEN' ? 'open' : 'trial'] = (m[e.code === 'POOL_CIRCUIT_OPEN' ? 'open' : 'trial'] || 0) + 1), m),
      {},
    )
    expect(tally).toEqual({ trial: 1, open: 7 })
    expect(p.stats().counters.connectFailures).toBe(4)
  })
})
