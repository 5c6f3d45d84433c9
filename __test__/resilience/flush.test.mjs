// When commands cross to native code (lib/transport.js _enqueue): while
// answers are still due, what one event-loop turn submits from separate
// callbacks (an HTTP server's requests) crosses in one submit(); with
// nothing in flight, at once. Fake timers must never hold a command back:
// setImmediate is taken when the module loads, known fakes installed before
// switch the batching off, and an answer's wake-up sends what an unknown
// fake holds. Commands on a lent connection are never held for the turn.
// Each scenario runs in a child (globals are replaced there).
import { describe, it, expect, inject } from 'vitest'
import { connOpts } from './helpers.mjs'
import { runScenario, childValue } from './child-run.mjs'

const srv = inject('mysqlServer')

// Counts native submit() calls (flushes with commands to send), then runs
// the scenario; `fake` replaces setImmediate before ('before') or after
// ('after') the pool's modules load: 'known' carries sinon's `clock` mark,
// 'dead' is unknown and never runs its callback.
const scenario = (fake, when) =>
  runScenario(
    async ({ require, conn, fake, when }) => {
      const timers = require('node:timers')
      const install = () => {
        const f = fake === 'known' ? Object.assign(() => ({}), { clock: {} }) : () => ({})
        globalThis.setImmediate = f
        timers.setImmediate = f
      }
      if (fake && when === 'before') install()
      const { createPool } = require('./lib/index.js')
      if (fake && when === 'after') install()
      const pool = createPool({ ...conn, connectionLimit: 4 })
      // Each flush that has commands to send is one native submit().
      let submits = 0
      const t = pool._transport
      const flush = t.flush
      t.flush = function () {
        if (this._unsent.length > 0) submits++
        return flush.call(this)
      }
      await pool.query('SELECT 1')
      // Ten timers due together: one timers phase, each callback with its own microtask checkpoint.
      const tenFromTimers = () =>
        new Promise((resolve) => {
          const ps = []
          for (let i = 0; i < 10; i++) {
            setTimeout(() => {
              ps.push(pool.query('SELECT ? AS v', [i]))
              if (ps.length === 10) resolve(Promise.all(ps))
            }, 2)
          }
        })
      const out = {}
      // 1. With an answer due (SLEEP in flight).
      const slow = pool.query('SELECT SLEEP(0.15) AS s')
      let slowDone = false
      slow.then(() => (slowDone = true))
      // Its own flush done (in this turn, or the next one's check phase).
      await new Promise((r) => setTimeout(r, 5))
      let n0 = submits
      out.busy = (await tenFromTimers()).map(([[r]]) => r.v)
      out.busyBeforeSlow = !slowDone
      out.busySubmits = submits - n0
      await slow
      // 2. From idle: the first at once, the rest with it or in one more.
      n0 = submits
      out.idle = (await tenFromTimers()).map(([[r]]) => r.v)
      out.idleSubmits = submits - n0
      // 3. One at a time: each crosses by itself, none is lost.
      n0 = submits
      let sum = 0
      for (let i = 0; i < 20; i++) sum += (await pool.query('SELECT ? AS v', [i]))[0][0].v
      out.sequentialSum = sum
      out.sequentialSubmits = submits - n0
      // 4. A lent connection: commands and release() in order behind an answer still due.
      const c = await pool.getConnection()
      const due = pool.query('SELECT SLEEP(0.05)')
      await new Promise((r) => setTimeout(r, 1))
      // They cross in this turn's microtasks, not the next check phase: the
      // caller holds the connection while they wait. A pool command queued
      // before them (held for the turn) goes with them.
      n0 = submits
      const pooled = pool.query('SELECT 3 AS v')
      const a = c.query('SET @flush_order = 41')
      const b = c.query('SELECT @flush_order + 1 AS v')
      for (let i = 0; i < 3; i++) await null
      out.lentSubmitsInTurn = submits - n0
      c.release()
      await a
      out.lent = (await b)[0][0].v
      out.pooled = (await pooled)[0][0].v
      await due
      // 5. getConnection() queued among commands keeps call order: with one
      // connection held, the waiters are served query, getConnection, query,
      // here and in mysql2 on the same server.
      const servedOrder = async (make) => {
        const one = make({ ...conn, connectionLimit: 1 })
        await one.query('SELECT 1')
        const held = one.query('SELECT SLEEP(0.1)')
        await new Promise((r) => setTimeout(r, 5))
        const order = []
        const q1 = one.query('SELECT 1').then(() => order.push('q1'))
        const g = one.getConnection().then((lent) => {
          order.push('get')
          setTimeout(() => lent.release(), 30)
        })
        const q2 = one.query('SELECT 2').then(() => order.push('q2'))
        await Promise.all([held, q1, g, q2])
        await one.end()
        return order
      }
      out.order = await servedOrder(createPool)
      out.mysql2Order = await servedOrder(require('mysql2/promise').createPool)
      await pool.end()
      return out
    },
    { args: { conn: connOpts(srv), fake, when }, timeoutMs: 20_000 },
  )

const ten = Array.from({ length: 10 }, (_, i) => i)

// What every mode must give: all answers, in order, and call order for lends as mysql2's.
function expectAllAnswered(v) {
  expect(v.busy).toEqual(ten)
  expect(v.idle).toEqual(ten)
  expect(v.sequentialSum).toBe(190)
  expect(v.lent).toBe(42)
  // One submit for both, before the turn ends (holding them for the turn makes 0).
  expect(v.lentSubmitsInTurn).toBe(1)
  expect(v.pooled).toBe(3)
  expect(v.mysql2Order).toEqual(['q1', 'get', 'q2'])
  expect(v.order).toEqual(v.mysql2Order)
}

describe('commands cross once per event-loop turn while answers are due', () => {
  it('ten callbacks of one turn share one submit(); idle and one-at-a-time commands are not held', async () => {
    const v = childValue(await scenario(null, null))
    expectAllAnswered(v)
    // Microtask flushing alone would make 10 of each. One expected; two
    // allowed: on a loaded CI machine the timers seldom split across turns.
    expect(v.busySubmits).toBeLessThanOrEqual(2)
    expect(v.busyBeforeSlow).toBe(true)
    expect(v.idleSubmits).toBeLessThanOrEqual(2)
    expect(v.sequentialSubmits).toBe(20)
  })

  it('fake timers installed after the pool loads do not hold commands (setImmediate was taken at load)', async () => {
    const v = childValue(await scenario('dead', 'after'))
    expectAllAnswered(v)
    expect(v.busySubmits).toBeLessThanOrEqual(2)
    // Sent in their own turn, not when the SLEEP's answer came.
    expect(v.busyBeforeSlow).toBe(true)
  })

  it("known fake timers installed before (sinon's / vitest's / jest's mark): batching is off, every command crosses at once", async () => {
    const v = childValue(await scenario('known', 'before'))
    expectAllAnswered(v)
    expect(v.busySubmits).toBe(10)
  })

  it('an unknown setImmediate that never runs: the next answer sends what it holds', async () => {
    const v = childValue(await scenario('dead', 'before'))
    expectAllAnswered(v)
  })
})
