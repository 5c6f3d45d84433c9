// Shared helpers for the resilience and TLS suites (not a test file itself).
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
export const { createPool } = require('../../lib/index.js')

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Polls `fn` until it returns a truthy value; throws with `what` on timeout. */
export async function waitFor(fn, { timeout = 5000, interval = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout
  let last
  for (;;) {
    last = await fn()
    if (last) return last
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await sleep(interval)
  }
}

/** Resolves with the rejection reason, or fails if the promise resolves. */
export async function rejectionOf(p) {
  try {
    const v = await p
    throw new Error(`expected a rejection, got ${JSON.stringify(v)?.slice(0, 200)}`)
  } catch (e) {
    if (e && e.message && e.message.startsWith('expected a rejection')) throw e
    return e
  }
}

/** Connection options for a server handle (shared or private). */
export function connOpts(srv, extra = {}) {
  return { host: srv.host, port: srv.port, user: srv.user, password: srv.password, database: srv.database, ...extra }
}

/** Waits until no connection is lent (release runs after a query's answer). */
export function settled(pool, timeout = 5000) {
  return waitFor(
    () => {
      const c = pool.stats().counts
      return c.active === 0 && c.connecting === 0 && c.waiting === 0
    },
    { timeout, what: 'pool to settle (active 0)' },
  )
}

/** Small deterministic PRNG (mulberry32) so fuzz failures can be replayed. */
export function prng(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n) => Math.floor(next() * n)
  const pick = (arr) => arr[int(arr.length)]
  return { next, int, pick, bool: () => next() < 0.5 }
}

/**
 * A local TCP server that never speaks MySQL (`onSocket` decides what the
 * socket does: stall, drop it...). close() destroys its sockets too.
 */
export async function fakeServer(onSocket = () => {}) {
  const { default: net } = await import('node:net')
  const sockets = new Set()
  const server = net.createServer((s) => {
    sockets.add(s)
    onSocket(s)
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: server.address().port,
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise((r) => server.close(r))
    },
  }
}
