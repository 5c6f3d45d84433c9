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
      // Taken before any fake: counts event-loop turns (below).
      const realImmediate = timers.setImmediate
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
      // Ten timers due together: usually one timers phase, each callback
      // with its own microtask checkpoint. Under load Node may start them in
      // different milliseconds and run them in two turns, so the turns they
      // ran in are counted (a check-phase ticker) and the bounds use them.
      const tenFromTimers = () =>
        new Promise((resolve) => {
          const ps = []
          const turns = new Set()
          let turn = 0
          let ticking = true
          const tick = () => {
            turn++
            if (ticking) realImmediate(tick)
          }
          realImmediate(tick)
          for (let i = 0; i < 10; i++) {
            setTimeout(() => {
              turns.add(turn)
              ps.push(pool.query('SELECT ? AS v', [i]))
              if (ps.length === 10) {
                ticking = false
                resolve(Promise.all(ps).then((rows) => ({ values: rows.map(([[r]]) => r.v), turns: turns.size })))
              }
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
      const busy = await tenFromTimers()
      out.busy = busy.values
      out.busyTurns = busy.turns
      out.busyBeforeSlow = !slowDone
      out.busySubmits = submits - n0
      await slow
      // 2. From idle: the first at once, the rest with it or in one more.
      n0 = submits
      const idle = await tenFromTimers()
      out.idle = idle.values
      out.idleTurns = idle.turns
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

// The ten timers ran in a few turns, far fewer than ten: the bounds above
// them would otherwise allow one submit per command.
function expectFewTurns(v) {
  expect(v.busyTurns).toBeLessThanOrEqual(4)
  expect(v.idleTurns).toBeLessThanOrEqual(4)
}

describe('commands cross once per event-loop turn while answers are due', () => {
  it('ten callbacks of one turn share one submit(); idle and one-at-a-time commands are not held', async () => {
    const v = childValue(await scenario(null, null))
    expectAllAnswered(v)
    // Microtask flushing alone would make 10 of each: here one submit per
    // turn the callbacks ran in (nearly always one turn; a loaded machine
    // may split them), and from idle one more for the first command.
    expectFewTurns(v)
    expect(v.busySubmits).toBeLessThanOrEqual(v.busyTurns)
    expect(v.busyBeforeSlow).toBe(true)
    expect(v.idleSubmits).toBeLessThanOrEqual(v.idleTurns + 1)
    expect(v.sequentialSubmits).toBe(20)
  })

  it('fake timers installed after the pool loads do not hold commands (setImmediate was taken at load)', async () => {
    const v = childValue(await scenario('dead', 'after'))
    expectAllAnswered(v)
    expectFewTurns(v)
    expect(v.busySubmits).toBeLessThanOrEqual(v.busyTurns)
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
