// One pool shared by several worker_threads: one set of connections, one
// queue, one set of counters (mysql2 needs a pool per thread).
import { it, expect, inject } from 'vitest'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

const require = createRequire(import.meta.url)
const { createPool } = require('../../lib/index.js')
const srv = inject('mysqlServer')
const options = { host: srv.host, port: srv.port, user: srv.user, password: srv.password, database: srv.database, connectionLimit: 4 }

function runWorker(index, opts = options, name = 'shared-w') {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./shared-worker.cjs', import.meta.url), { workerData: { index, options: opts, name } })
    w.once('message', resolve)
    w.once('error', reject)
  })
}

// With pipelining, a connection takes only its own thread's waiting
// commands: another thread's answers would go where nobody waits for them.
it.each([0, 8])('worker threads attach to one pool by name and share its connections and counters (pipelining %i)', async (pipelining) => {
  const opts = { ...options, pipelining }
  const name = `shared-w-${pipelining}`
  const main = createPool({ ...opts, shared: true, name })
  const before = main.stats().counters.queries
  const results = await Promise.all([1, 2, 3, 4].map((i) => runWorker(i, opts, name)))
  for (const r of results) {
    expect(r.error).toBeUndefined()
    expect(r.ok).toBe(200)
    expect(r.limit).toBe(4)
    expect(r.total).toBeLessThanOrEqual(4)
  }
  // Four threads x 200 queries went through the one pool the main thread sees...
  expect(main.stats().counters.queries - before).toBe(800)
  // ...riding pipelines when they are on (80 callers, 4 connections).
  if (pipelining > 0) expect(main.stats().counters.pipelined).toBeGreaterThan(0)
  else expect(main.stats().counters.pipelined).toBe(0)
  // ...over at most connectionLimit physical connections in total.
  const allThreads = new Set(results.flatMap((r) => r.threadIds))
  expect(allThreads.size).toBeLessThanOrEqual(4)
  expect(main.stats().counts.total).toBeLessThanOrEqual(4)
  // Workers ended their attachments; the pool stays open for the main thread.
  const [[row]] = await main.query('SELECT 7 AS x')
  expect(row.x).toBe(7)
  await main.end()
  await expect(main.query('SELECT 1')).rejects.toMatchObject({ code: 'POOL_CLOSED' })
})

it('attaching with different connection settings is refused', async () => {
  const a = createPool({ ...options, shared: true, name: 'shared-x' })
  expect(() => createPool({ ...options, connectionLimit: 9, shared: true, name: 'shared-x' })).toThrow(
    expect.objectContaining({ code: 'ERR_SHARED_POOL_MISMATCH' }),
  )
  // An unshared pool with the same name is independent.
  const b = createPool({ ...options, name: 'shared-x' })
  await b.query('SELECT 1')
  expect(a.stats().counters.queries).toBe(0)
  await a.end()
  await b.end()
})

it('a terminated worker gives back its lent connections and queries at once; the others never stall', async () => {
  const name = 'shared-terminated'
  const opts = { ...options, connectionLimit: 6, acquireTimeout: 10000 }
  const main = createPool({ ...opts, shared: true, name })
  let done = 0
  let worst = 0
  let running = true
  const loop = async () => {
    while (running) {
      const t = Date.now()
      const [[row]] = await main.query('SELECT 1 AS one')
      expect(row.one).toBe(1)
      worst = Math.max(worst, Date.now() - t)
      done++
    }
  }
  const loops = [loop(), loop()]
  const reclaim = []
  for (let i = 0; i < 12; i++) {
    const w = new Worker(new URL('./terminated-worker.cjs', import.meta.url), { workerData: { options: opts, name } })
    await new Promise((resolve, reject) => {
      w.once('message', resolve)
      w.once('error', reject)
    })
    // Let it hold connections and queue work, then kill it mid-flight.
    await new Promise((r) => setTimeout(r, 40))
    await w.terminate()
    const t = Date.now()
    // Only the main thread's two loops may still hold connections.
    while (main.stats().counts.active > 2 || main.stats().counts.waiting > 0) {
      if (Date.now() - t > 3000) break
      await new Promise((r) => setTimeout(r, 5))
    }
    reclaim.push(Date.now() - t)
  }
  running = false
  await Promise.all(loops)
  // Reclaimed within a fraction of a second each time (not after the
  // seconds an acquire timeout or a GC would take), and the main thread
  // kept going throughout.
  expect(Math.max(...reclaim)).toBeLessThan(1000)
  expect(worst).toBeLessThan(1000)
  expect(done).toBeGreaterThan(200)
  expect(main.stats().counts.total).toBeLessThanOrEqual(6)
  await main.end()
})
