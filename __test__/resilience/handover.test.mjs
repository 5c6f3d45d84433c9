// release() of a lent connection with all of its answers in hands it straight
// to the oldest waiting getConnection() of the same pool on the same thread
// (lib/transport.js release, src/lib.rs hand_over), as mysql2 gives a
// released connection to its oldest waiter in the same tick. It never hands
// over a connection that may be unusable, that a reset must clean first, or
// that another thread's caller (a shared pool) is next in line for.
import { describe, it, expect, inject } from 'vitest'
import { connOpts, createPool, rejectionOf } from './helpers.mjs'
import { runScenario, childValue } from './child-run.mjs'
import { startFakeMysql } from '../harness/mysql-fake.mjs'

const srv = inject('mysqlServer')
const conn = connOpts(srv)

// Counts the release() calls that native code answered with a hand-over.
function countHandovers(pool) {
  const native = pool._transport.native
  const release = native.release.bind(native)
  const count = { n: 0 }
  native.release = (...args) => {
    const r = release(...args)
    if (r != null) count.n++
    return r
  }
  return count
}

const tick = () => new Promise((r) => setImmediate(r))

// Pool of one: `a` is lent and sets @who, `before(a)` runs, a getConnection()
// waits, `atRelease(a)` runs right before a.release(); check({ a, b, handed })
// sees the waiter's connection and how many releases were hand-overs.
async function releaseToWaiter({ options = {}, before, atRelease, holdMs = 20 }, check) {
  const pool = createPool({ ...conn, connectionLimit: 1, ...options })
  const handed = countHandovers(pool)
  const a = await pool.getConnection()
  await a.query('SET @who = 1')
  if (before) await before(a)
  const next = pool.getConnection()
  await new Promise((r) => setTimeout(r, holdMs))
  if (atRelease) atRelease(a)
  a.release()
  const b = await next
  await check({ a, b, handed: handed.n, pool })
  if (!b._released) b.release()
  await pool.end()
}

// One connection held; a getConnection(), a pool query and a getConnection()
// wait; the holder releases. Returns who was served in which order, which
// server thread the first waiter got, and whether it had it before the
// event loop's next check phase (mysql2: in the same tick).
async function servedAfterRelease(make) {
  const pool = make({ ...conn, connectionLimit: 1 })
  const held = await pool.getConnection()
  const heldThread = held.threadId
  const order = []
  let firstBeforeImmediate = false
  let firstThread = 0
  const g1 = pool.getConnection().then((c) => {
    order.push('get1')
    firstThread = c.threadId
    return c
  })
  const q = pool.query('SELECT 1 AS v').then(() => order.push('query'))
  const g2 = pool.getConnection().then((c) => {
    order.push('get2')
    c.release()
  })
  await new Promise((r) => setTimeout(r, 30))
  held.release()
  await tick()
  firstBeforeImmediate = order.includes('get1')
  const c1 = await g1
  const [[row]] = await c1.query('SELECT CONNECTION_ID() AS t')
  c1.release()
  await Promise.all([q, g2])
  await pool.end()
  return { order, firstBeforeImmediate, sameThread: firstThread === heldThread, sessionIsThatThread: Number(row.t) === firstThread }
}

describe('release() hands a connection straight to a waiting getConnection()', () => {
  it('the oldest waiter gets the released connection before the next check phase, in mysql2 order (differential)', async () => {
    const ours = await servedAfterRelease(createPool)
    const mysql2 = await servedAfterRelease((await import('mysql2/promise')).createPool)
    expect(mysql2).toEqual({ order: ['get1', 'query', 'get2'], firstBeforeImmediate: true, sameThread: true, sessionIsThatThread: true })
    expect(ours).toEqual(mysql2)
  })

  it('many transactions on a small pool: every answer right, counts balanced, the process exits by itself', async () => {
    const r = await runScenario(
      async ({ require, conn }) => {
        const { createPool } = require('./lib/index.js')
        const pool = createPool({ ...conn, connectionLimit: 2 })
        const native = pool._transport.native
        const release = native.release.bind(native)
        let handed = 0
        native.release = (...args) => {
          const r = release(...args)
          if (r != null) handed++
          return r
        }
        const acquired = []
        pool.on('acquire', (c) => acquired.push(c.threadId))
        let released = 0
        pool.on('release', () => released++)
        const ok = await Promise.all(
          Array.from({ length: 60 }, async (_, i) => {
            const c = await pool.getConnection()
            await c.query('BEGIN')
            const [[row]] = await c.query('SELECT ? AS v, CONNECTION_ID() AS t', [i])
            await c.query('COMMIT')
            const mine = Number(row.t) === c.threadId && row.v === i
            c.release()
            return mine
          }),
        )
        // The last releases found nobody waiting: those go back through the
        // runtime (counted active until they are back).
        for (let i = 0; i < 100 && pool.stats().counts.active > 0; i++) await new Promise((r) => setTimeout(r, 10))
        const counts = pool.stats().counts
        const counters = pool.stats().counters
        // Not ended: an idle pool must not keep the process alive, so a
        // hand-over that left a call counted in flight shows as a hang.
        return { ok: ok.every(Boolean), handed, acquired: acquired.length, threads: new Set(acquired).size, released, counts, counters }
      },
      { args: { conn }, exit: false, timeoutMs: 20_000 },
    )
    const v = childValue(r)
    expect(r.code).toBe(0)
    expect(v.ok).toBe(true)
    // 60 callers on 2 connections: all but the first two wait, and nearly
    // every release finds one of them next in line.
    expect(v.handed).toBeGreaterThanOrEqual(50)
    expect(v.acquired).toBe(60)
    expect(v.threads).toBe(2)
    expect(v.released).toBe(60)
    expect(v.counts).toMatchObject({ total: 2, active: 0, idle: 2, waiting: 0 })
    expect(v.counters).toMatchObject({ acquired: 60, released: 60, created: 2, destroyed: 0 })
  })

  it('the released object refuses commands; the new holder has the session', async () => {
    await releaseToWaiter({}, async ({ a, b, handed }) => {
      expect(handed).toBe(1)
      expect(b.threadId).toBe(a.threadId)
      expect((await rejectionOf(a.query('SELECT 1'))).code).toBe('ERR_CONNECTION_RELEASED')
      // No reset by default, as mysql2: the session goes on.
      expect((await b.query('SELECT @who AS w'))[0][0].w).toBe(1)
    })
  })

  it('not handed over: a command still unanswered at release, a broken connection, a reset due, an expired lifetime', async () => {
    // A command still unanswered at release takes the normal way back (it
    // could still break the connection), then goes to the waiter.
    let slow
    await releaseToWaiter({ atRelease: (a) => (slow = a.query('SELECT SLEEP(0.05) AS s')) }, async ({ a, b, handed }) => {
      expect(handed).toBe(0)
      expect((await slow)[0][0].s).toBe(0)
      expect(b.threadId).toBe(a.threadId)
      expect((await b.query('SELECT 1 AS v'))[0][0].v).toBe(1)
    })
    // Broken (a fatal error seen) before release.
    const broken = async (a) => {
      expect((await rejectionOf(a.query(`KILL ${a.threadId}`))).code).toBe('ER_CONNECTION_KILLED')
      expect((await rejectionOf(a.query('SELECT 1'))).fatal).toBe(true)
    }
    await releaseToWaiter({ before: broken }, async ({ a, b, handed }) => {
      expect(handed).toBe(0)
      expect((await b.query('SELECT 2 AS v'))[0][0].v).toBe(2)
      expect(b.threadId).not.toBe(a.threadId)
    })
    // resetOnRelease: the reset runs first, so the waiter gets a clean session.
    await releaseToWaiter({ options: { resetOnRelease: true } }, async ({ b, handed }) => {
      expect(handed).toBe(0)
      expect((await b.query('SELECT @who AS w'))[0][0].w).toBe(null)
    })
    // Past maxLifetime: closed and replaced, not handed on.
    await releaseToWaiter({ options: { maxLifetime: 150 }, holdMs: 250 }, async ({ a, b, handed }) => {
      expect(handed).toBe(0)
      expect(b.threadId).not.toBe(a.threadId)
    })
  })

  it('destroy() after a release that was handed over: the new holder keeps a working connection, closed when it releases it', async () => {
    await releaseToWaiter({ atRelease: (a) => setImmediate(() => a.destroy()) }, async ({ a, b, handed, pool }) => {
      expect(handed).toBe(1)
      await new Promise((r) => setTimeout(r, 10))
      expect(b.threadId).toBe(a.threadId)
      // mysql2 closes it under the new holder; here the holder's session goes on.
      expect((await b.query('SELECT @who AS w'))[0][0].w).toBe(1)
      // With a caller waiting, its release is not handed over either.
      const waiting = pool.getConnection()
      await new Promise((r) => setTimeout(r, 10))
      b.release()
      const c = await waiting
      expect(c.threadId).not.toBe(a.threadId)
      expect(pool.stats().counters.destroyed).toBe(1)
      c.release()
    })
  })

  it('a shared pool: a waiter of another attachment is served through the pool, not by this thread', async () => {
    const name = `handover-${process.pid}`
    const one = createPool({ ...conn, connectionLimit: 1, shared: true, name })
    const two = createPool({ ...conn, connectionLimit: 1, shared: true, name })
    const handedOne = countHandovers(one)
    const a = await one.getConnection()
    const next = two.getConnection()
    await new Promise((r) => setTimeout(r, 20))
    a.release()
    const b = await next
    expect(handedOne.n).toBe(0)
    expect(b.threadId).toBe(a.threadId)
    expect((await b.query('SELECT 3 AS v'))[0][0].v).toBe(3)
    b.release()
    await two.end()
    await one.end()
  })
})

// A connection destroy()ed after its release was handed over is closed by
// its new holder's destroy(), not at a release: its thread id must not stay
// marked, or a new connection of a restarted server (which counts thread ids
// from 1 again) would be closed at its first release.
it('after a server restart, a new connection with a destroyed one’s thread id is kept', async () => {
  let fake = await startFakeMysql()
  const { port } = fake
  const pool = createPool({ host: fake.host, port, user: 'u', password: '', connectionLimit: 1, validateAfterIdle: 0 })
  try {
    const a = await pool.getConnection()
    const next = pool.getConnection()
    await new Promise((r) => setTimeout(r, 20))
    a.release()
    const b = await next
    a.destroy()
    expect(b.threadId).toBe(a.threadId)
    b.destroy()
    await new Promise((r) => setTimeout(r, 50))
    // The server restarts on the same port; thread ids start over.
    await fake.close()
    fake = await startFakeMysql({ port })
    const c = await pool.getConnection()
    expect(c.threadId).toBe(a.threadId)
    const created = pool.stats().counters.created
    c.release()
    await new Promise((r) => setTimeout(r, 50))
    // Kept: the next caller gets it back, nothing new is opened.
    const d = await pool.getConnection()
    expect(d.threadId).toBe(c.threadId)
    expect(pool.stats().counters.created).toBe(created)
    expect(pool.stats().counters.destroyed).toBe(1)
    d.release()
  } finally {
    await pool.end()
    await fake.close()
  }
})
