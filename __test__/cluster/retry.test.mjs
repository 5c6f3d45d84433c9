// PoolCluster retries against mysql2's own PoolCluster, one node: mysql2
// retries a failing lone node in the same call until removeNodeErrorCount
// errors take it out (or offline), and so must ours.
//
// Each side gets its own node of the same kind: a fake server that accepts
// and closes every connection, or a counting TCP proxy in front of the test
// MariaDB. The whole timeline is compared: every connection the node saw,
// every cluster event (warn, remove, offline, online) and every call's
// outcome, in order. Our pool's circuit breaker (not in mysql2) would stop
// the retries from connecting after circuitBreakerThreshold failures, so the
// exact comparisons switch it off; the last test shows what it changes.
import { describe, it, expect, afterEach, inject } from 'vitest'
import net from 'node:net'
import { createRequire } from 'node:module'
import mysql from 'mysql2/promise'

const require = createRequire(import.meta.url)
const lib = require('../../lib/index.js')

const srv = inject('mysqlServer')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const toClose = []
afterEach(async () => {
  await Promise.allSettled(toClose.splice(0).map((c) => c.end()))
})

function listen(server) {
  toClose.push({ end: () => new Promise((r) => server.close(() => r())) })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)))
}

/** A node that accepts every connection and closes it before the handshake. */
async function closingNode(log) {
  const server = net.createServer((sock) => {
    log.push('connect')
    sock.destroy()
  })
  return listen(server)
}

/**
 * A counting proxy to the test server; the first `closeFirst` connections
 * are closed at once instead (a node that recovers).
 */
async function proxyNode(log, { closeFirst = 0 } = {}) {
  const sockets = new Set()
  let n = 0
  const server = net.createServer((client) => {
    log.push('connect')
    if (n++ < closeFirst) {
      client.destroy()
      return
    }
    const upstream = net.connect(srv.port, srv.host)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {})
    }
    client.pipe(upstream).pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  const port = await listen(server)
  toClose.push({ end: async () => sockets.forEach((s) => s.destroy()) })
  return port
}

/** A loopback port nobody listens on. */
async function deadPort() {
  const s = net.createServer()
  await new Promise((r) => s.listen(0, '127.0.0.1', r))
  const { port } = s.address()
  await new Promise((r) => s.close(r))
  return port
}

const SIDES = {
  mysql2: (options) => mysql.createPoolCluster(options),
  ours: (options) => lib.createPoolCluster(options),
}

/**
 * Runs `steps(cluster, log)` on a fresh cluster of each kind with one node
 * ('ONLY') made by `makeNode(log)`, and returns both timelines.
 * `ours` holds options only our pools know (mysql2 would warn about them).
 */
async function timelines({ cluster = {}, node = {}, ours = { circuitBreakerThreshold: 0 }, makeNode = closingNode, steps }) {
  const out = {}
  for (const [side, create] of Object.entries(SIDES)) {
    const log = []
    const port = await makeNode(log)
    const c = create(cluster)
    toClose.push(c)
    c.add('ONLY', { host: '127.0.0.1', port, user: srv.user, password: srv.password, database: srv.database, ...node, ...(side === 'ours' ? ours : {}) })
    c.on('warn', (e) => log.push(`warn:${e.code}`))
    for (const ev of ['remove', 'offline', 'online']) c.on(ev, (id) => log.push(`${ev}:${id}`))
    const call = async (what, p) => {
      try {
        const v = await p
        if (v && typeof v.release === 'function') v.release()
        log.push(`${what}:ok`)
      } catch (e) {
        log.push(`${what}:${e.code}`)
        return e
      }
    }
    out[side] = { log, result: await steps(c, call), cluster: c }
  }
  return out
}

const PCL = 'PROTOCOL_CONNECTION_LOST'

describe('PoolCluster canRetry with a single node (mysql2 retries the same node)', () => {
  it('getConnection(): retried in the same call until removeNodeErrorCount (5) removes the node; then POOL_NOEXIST', async () => {
    const t = await timelines({
      steps: async (c, call) => {
        await call('get1', c.getConnection())
        await call('get2', c.getConnection())
        await call('get3', c.getConnection('ONLY'))
      },
    })
    expect(t.ours.log).toEqual(t.mysql2.log)
    expect(t.mysql2.log).toEqual([
      'connect',
      `warn:${PCL}`,
      'connect',
      `warn:${PCL}`,
      'connect',
      `warn:${PCL}`,
      'connect',
      `warn:${PCL}`,
      'connect',
      'remove:ONLY',
      `get1:${PCL}`,
      'get2:POOL_NOEXIST',
      'get3:POOL_NOEXIST',
    ])
  })

  it('namespace query() and execute() retry the same way (mysql2 runs them through getConnection)', async () => {
    const t = await timelines({
      cluster: { removeNodeErrorCount: 3 },
      node: { password: 'wrong-password' },
      makeNode: (log) => proxyNode(log),
      steps: async (c, call) => {
        await call('query', c.of('*').query('SELECT 1'))
        await call('execute', c.of('ONLY').execute('SELECT ?', [1]))
      },
    })
    expect(t.ours.log).toEqual(t.mysql2.log)
    const denied = 'ER_ACCESS_DENIED_ERROR'
    expect(t.mysql2.log).toEqual([
      'connect',
      `warn:${denied}`,
      'connect',
      `warn:${denied}`,
      'connect',
      'remove:ONLY',
      `query:${denied}`,
      'execute:POOL_NOEXIST',
    ])
  })

  it('restoreNodeTimeout: offline after the counted errors, POOL_NONEONLINE meanwhile, one probe per call after the timeout', async () => {
    const t = await timelines({
      cluster: { removeNodeErrorCount: 3, restoreNodeTimeout: 300 },
      steps: async (c, call) => {
        await call('get1', c.getConnection())
        await call('get2', c.getConnection())
        await sleep(400)
        // errorCount is still at the limit: one failure puts it offline again.
        await call('get3', c.getConnection())
        await call('get4', c.getConnection())
      },
    })
    expect(t.ours.log).toEqual(t.mysql2.log)
    expect(t.mysql2.log).toEqual([
      'connect',
      `warn:${PCL}`,
      'connect',
      `warn:${PCL}`,
      'connect',
      'offline:ONLY',
      `get1:${PCL}`,
      'get2:POOL_NONEONLINE',
      'connect',
      'offline:ONLY',
      `get3:${PCL}`,
      'get4:POOL_NONEONLINE',
    ])
  })

  it('canRetry: false: one connection per call, removed at the removeNodeErrorCount-th call', async () => {
    const t = await timelines({
      cluster: { canRetry: false, removeNodeErrorCount: 3 },
      steps: async (c, call) => {
        for (let i = 1; i <= 4; i++) await call(`get${i}`, c.getConnection())
      },
    })
    expect(t.ours.log).toEqual(t.mysql2.log)
    expect(t.mysql2.log).toEqual(['connect', `get1:${PCL}`, 'connect', `get2:${PCL}`, 'connect', 'remove:ONLY', `get3:${PCL}`, 'get4:POOL_NOEXIST'])
  })

  it('a server that refuses the login (access denied) is retried the same way, with the same error', async () => {
    const t = await timelines({
      cluster: { removeNodeErrorCount: 2 },
      node: { password: 'wrong-password' },
      makeNode: (log) => proxyNode(log),
      steps: async (c, call) => {
        const e = await call('get', c.getConnection())
        return { code: e.code, errno: e.errno, sqlState: e.sqlState, message: e.message }
      },
    })
    expect(t.ours.log).toEqual(t.mysql2.log)
    expect(t.mysql2.log).toEqual(['connect', 'warn:ER_ACCESS_DENIED_ERROR', 'connect', 'remove:ONLY', 'get:ER_ACCESS_DENIED_ERROR'])
    expect(t.ours.result).toEqual(t.mysql2.result)
  })

  it('a node that recovers: the same call succeeds on a retry, and the error count is what mysql2 keeps', async () => {
    const t = await timelines({
      makeNode: (log) => proxyNode(log, { closeFirst: 2 }),
      steps: async (c, call) => {
        await call('get', c.getConnection())
        await call('query', c.of('*').query('SELECT 1'))
      },
    })
    expect(t.ours.log).toEqual(t.mysql2.log)
    expect(t.mysql2.log).toEqual(['connect', `warn:${PCL}`, 'connect', `warn:${PCL}`, 'connect', 'get:ok', 'query:ok'])
    // Two errors, then two successes, each taking one off.
    expect(t.mysql2.cluster.poolCluster._nodes.ONLY.errorCount).toBe(0)
    expect(t.ours.cluster.stats().nodes.ONLY.errorCount).toBe(0)
  })

  it('nothing listening (ECONNREFUSED): same events and error', async () => {
    const t = await timelines({
      makeNode: () => deadPort(),
      steps: async (c, call) => {
        await call('get1', c.getConnection())
        await call('get2', c.getConnection())
      },
    })
    expect(t.ours.log).toEqual(t.mysql2.log)
    expect(t.mysql2.log).toEqual([...Array(4).fill('warn:ECONNREFUSED'), 'remove:ONLY', 'get1:ECONNREFUSED', 'get2:POOL_NOEXIST'])
  })
})

describe('single-node retries: where ours differs on purpose', () => {
  it("default circuit breaker: a call stops connecting after circuitBreakerThreshold failures; the error is still the server's and the node goes at the same count", async () => {
    const t = await timelines({
      ours: {}, // circuitBreakerThreshold 3 (default)
      steps: async (c, call) => {
        await call('get1', c.getConnection())
        await call('get2', c.getConnection())
      },
    })
    expect(t.mysql2.log).toEqual([
      'connect',
      `warn:${PCL}`,
      'connect',
      `warn:${PCL}`,
      'connect',
      `warn:${PCL}`,
      'connect',
      `warn:${PCL}`,
      'connect',
      'remove:ONLY',
      `get1:${PCL}`,
      'get2:POOL_NOEXIST',
    ])
    // Three connections, then two fast failures (the breaker is open); five
    // counted errors remove the node, and the call reports the server's error.
    expect(t.ours.log).toEqual([
      'connect',
      `warn:${PCL}`,
      'connect',
      `warn:${PCL}`,
      'connect',
      `warn:${PCL}`,
      'warn:POOL_CIRCUIT_OPEN',
      'remove:ONLY',
      `get1:${PCL}`,
      'get2:POOL_NOEXIST',
    ])
  })

  it('saturation is not retried on a lone node nor held against it (mysql2 retries it and removes the busy node)', async () => {
    const t = await timelines({
      node: { connectionLimit: 1, waitForConnections: false },
      makeNode: (log) => proxyNode(log),
      steps: async (c, call) => {
        const held = await c.getConnection()
        await call('busy', c.getConnection())
        held.release()
        await call('after', c.getConnection())
      },
    })
    expect(t.mysql2.log).toEqual([
      'connect',
      'warn:undefined',
      'warn:undefined',
      'warn:undefined',
      'warn:undefined',
      'remove:ONLY',
      'busy:undefined',
      'after:POOL_NOEXIST',
    ])
    expect(t.ours.log).toEqual(['connect', 'busy:POOL_NO_CONNECTIONS', 'after:ok'])
    expect(t.ours.cluster.stats().nodes.ONLY.errorCount).toBe(0)
  })

  // query()/execute() go to the node's pool in one call, so a connection
  // closed by the server cannot be told apart from one lost under the
  // statement (the error has no connect-phase mark): never retried, as
  // docs/scaling.md says. mysql2 connects first, so it retries it.
  it('query(): a connection closed by the server is not retried (it may have carried the statement)', async () => {
    const t = await timelines({
      steps: async (c, call) => {
        await call('query', c.of('*').query('SELECT 1'))
      },
    })
    expect(t.mysql2.log).toEqual([
      'connect',
      `warn:${PCL}`,
      'connect',
      `warn:${PCL}`,
      'connect',
      `warn:${PCL}`,
      'connect',
      `warn:${PCL}`,
      'connect',
      'remove:ONLY',
      `query:${PCL}`,
    ])
    expect(t.ours.log).toEqual(['connect', `query:${PCL}`])
  })

  it('a read/write split with one replica does not retry it: the primary answers the read', async () => {
    const log = []
    const port = await proxyNode(log)
    const primary = { host: srv.host, port: srv.port, user: srv.user, password: srv.password, database: srv.database }
    const split = lib.createReadWriteSplit({
      primary,
      replicas: [{ host: '127.0.0.1', port, user: srv.user, password: 'wrong-password', circuitBreakerThreshold: 0 }],
    })
    toClose.push(split)
    const warns = []
    split.on('warn', (e) => warns.push(e.code))
    const [[row]] = await split.query('SELECT 1 AS one')
    expect(row).toEqual({ one: 1 })
    expect(log).toEqual(['connect'])
    expect(warns).toEqual([])
    expect(split.stats().routing).toEqual({ primary: 0, replica: 0, fallback: 1 })
  })
})
