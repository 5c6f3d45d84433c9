// How answers wake the JS thread (src/wake.rs): a libuv async handle under
// Node, a threadsafe function where libuv cannot be used (Bun, or forced
// with NAPI_MYSQL_POOL_WAKE=tsfn). Both must behave the same to a program:
//  1. queries answer, one at a time and many at once;
//  2. an idle pool, never ended, does not keep the process alive, and a
//     query in flight does (the wake-up is referenced only while needed);
//  3. a throw from the wake callback is an uncaught exception, reported
//     and survivable, not a crash;
//  4. pools made and ended in a worker thread that exits leave nothing behind,
//     nor does a pool whose construction failed there.
// Each scenario runs in a child: a native crash fails a test, never the run.
import { describe, it, expect, inject } from 'vitest'
import { connOpts } from './helpers.mjs'
import { runScenario, childValue } from './child-run.mjs'

const srv = inject('mysqlServer')

// `body` in a child that ends by itself (no process.exit): whether it exits
// says whether anything kept its event loop alive.
const scenario = (body, env = {}) => runScenario(body, { args: { conn: connOpts(srv) }, env, exit: false, timeoutMs: 30_000 })

for (const [mode, env, kind] of [
  ['Node default', {}, 'uv'],
  ['NAPI_MYSQL_POOL_WAKE=tsfn', { NAPI_MYSQL_POOL_WAKE: 'tsfn' }, 'tsfn'],
]) {
  describe(`wake-ups: ${mode}`, () => {
    it(`uses the ${kind} wake-up; answers one and 300 queries; an idle pool never ended lets the process exit`, async () => {
      const r = await scenario(async ({ require, conn }) => {
        const { createPool } = require('./lib/index.js')
        const pool = createPool({ ...conn, connectionLimit: 4 })
        const [[one]] = await pool.query('SELECT ? AS v', [7])
        const many = await Promise.all(Array.from({ length: 300 }, (_, i) => pool.execute('SELECT ? + 1 AS v', [i])))
        const sum = many.reduce((s, [[row]]) => s + row.v, 0)
        // Not ended: its idle connections must not hold the process.
        return { kind: pool._native.wakeKind(), one: one.v, sum }
      }, env)
      const v = childValue(r)
      expect(r.code).toBe(0)
      expect(r.panicked).toBe(false)
      expect(v).toEqual({ kind, one: 7, sum: (300 * 301) / 2 })
    })

    it('a query in flight keeps the process alive until it answers (no timer or socket of JS holds it)', async () => {
      const r = await scenario(async ({ require, conn }) => {
        const { createPool } = require('./lib/index.js')
        const pool = createPool({ ...conn, connectionLimit: 1 })
        await pool.query('SELECT 1')
        // Nothing else is pending in JS: only the wake-up's reference can
        // keep the loop running until SLEEP answers.
        const t0 = Date.now()
        const [[row]] = await pool.query('SELECT SLEEP(0.3) AS s, 5 AS v')
        return { v: row.v, ms: Date.now() - t0 }
      }, env)
      const v = childValue(r)
      expect(r.code).toBe(0)
      expect(v.v).toBe(5)
      expect(v.ms).toBeGreaterThanOrEqual(250)
    })

    it("a throw from the wake callback is reported as 'uncaughtException' and the process goes on", async () => {
      const r = await scenario(async ({ require, conn }) => {
        const { createPool } = require('./lib/index.js')
        const pool = createPool({ ...conn, connectionLimit: 1 })
        await pool.query('SELECT 1')
        const seen = []
        process.on('uncaughtException', (e) => seen.push(e.message))
        const t = pool._transport
        const real = t.onWake
        let thrown = 0
        // Throws after draining, as a bug in code it calls would (the
        // transport's own listeners are guarded; this is the last line).
        t.onWake = function () {
          real.call(this)
          if (thrown++ === 0) throw new Error('wake boom')
        }
        const [[a]] = await pool.query('SELECT 1 AS a')
        await new Promise((res) => setTimeout(res, 50))
        const [[b]] = await pool.query('SELECT 2 AS b')
        await pool.end()
        return { seen, a: a.a, b: b.b, thrown }
      }, env)
      const v = childValue(r)
      expect(r.panicked).toBe(false)
      expect(v.seen).toEqual(['wake boom'])
      expect([v.a, v.b]).toEqual([1, 2])
      expect(v.thrown).toBeGreaterThanOrEqual(2)
    })

    it('pools used and left in a worker thread that exits: the worker ends cleanly, the process goes on', async () => {
      const r = await scenario(async ({ require, conn }) => {
        const { Worker } = require('node:worker_threads')
        const lib = require.resolve('./lib/index.js')
        const code = `
          const { parentPort, workerData } = require('node:worker_threads')
          const { createPool } = require(workerData.lib)
          ;(async () => {
            const pools = Array.from({ length: 5 }, () => createPool({ ...workerData.conn, connectionLimit: 1 }))
            const got = await Promise.all(pools.map((p, i) => p.query('SELECT ? AS v', [i])))
            await pools[0].end()
            // A constructor that fails after its wake-up was made (a shared
            // pool's settings differ) must not leave that handle open.
            const shared = createPool({ ...workerData.conn, shared: true, name: 'wake-shared' })
            let refused = null
            try {
              createPool({ ...workerData.conn, connectionLimit: 9, shared: true, name: 'wake-shared' })
            } catch (e) {
              refused = e.code
            }
            await shared.end()
            parentPort.postMessage({ values: got.map(([[row]]) => row.v), refused })
          })()`
        const results = []
        for (let k = 0; k < 3; k++) {
          const w = new Worker(code, { eval: true, workerData: { lib, conn } })
          // Listened for before the message: a worker that exits right after
          // posting has its message and its 'exit' emitted in one tick, before
          // code awaiting the message could start listening.
          const exited = new Promise((res) => w.once('exit', res))
          const got = await new Promise((res, rej) => {
            w.once('message', res)
            w.once('error', rej)
          })
          const exit = await exited
          results.push({ got, exit })
        }
        return results
      }, env)
      const v = childValue(r)
      expect(r.code).toBe(0)
      expect(r.panicked).toBe(false)
      for (const w of v) expect(w).toEqual({ got: { values: [0, 1, 2, 3, 4], refused: 'ERR_SHARED_POOL_MISMATCH' }, exit: 0 })
    })
  })
}
