// A throwaway primary + replicas topology with real MariaDB replication
// (GTID, row-based binlog), for the cluster suite. Not a test file itself.
import { createRequire } from 'node:module'
import { startMariaDB } from '../harness/mariadb.mjs'

const require = createRequire(import.meta.url)
export const lib = require('../../lib/index.js')

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

export async function waitFor(fn, { timeout = 10_000, interval = 25, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout
  let last
  for (;;) {
    try {
      last = await fn()
    } catch (e) {
      last = undefined
      if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what} (last error: ${e.message})`)
    }
    if (last) return last
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await sleep(interval)
  }
}

/** Pool options for a server handle. */
export function opts(srv, extra = {}) {
  return { host: srv.host, port: srv.port, user: srv.user, password: srv.password, database: srv.database, ...extra }
}

/**
 * startMariaDB, tried twice: mariadb-install-db now and then fails when
 * several run at once on this machine ("Could not remove temporary table
 * '/tmp/#sql-temptable-…'"), a harness-side flake that is not what this
 * suite tests.
 */
async function start(args) {
  try {
    return await startMariaDB({ tls: false, args })
  } catch (e) {
    if (!/mariadb-install-db/.test(String(e && e.message))) throw e
    return startMariaDB({ tls: false, args })
  }
}

export const PRIMARY_ARGS = ['--server-id=1', '--log-bin=mysql-bin', '--binlog-format=ROW']
// Every replica needs its own server id: the primary drops a replica whose id
// another connected replica already uses.
export const replicaArgs = (id) => [`--server-id=${id}`, '--read-only=1']

/**
 * Starts a primary and `replicas` replicas, wires replication and proves it
 * with a row written on the primary and read back on every replica.
 */
export async function startTopology({ replicas = 2 } = {}) {
  const results = await Promise.allSettled([start(PRIMARY_ARGS), ...Array.from({ length: replicas }, (_, i) => start(replicaArgs(i + 2)))])
  const failed = results.find((r) => r.status === 'rejected')
  if (failed) {
    await Promise.allSettled(results.filter((r) => r.status === 'fulfilled').map((r) => r.value.stop()))
    throw failed.reason
  }
  const servers = results.map((r) => r.value)
  const [primary, ...reps] = servers
  try {
    const [logBin] = await primary.exec("SHOW VARIABLES LIKE 'log_bin'")
    if (logBin.Value !== 'ON') throw new Error(`primary started without a binlog (log_bin=${logBin.Value}): the harness args conflict`)
    await primary.exec("CREATE USER 'repl'@'%' IDENTIFIED BY 'replpw'")
    await primary.exec("GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'")
    // The harness's own setup (its users, the test database) is in the binlog
    // too; the replicas ran the same setup, so start them from an empty log.
    await primary.exec('RESET MASTER')
    for (const r of reps) {
      await r.exec(
        `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port}, MASTER_USER='repl', MASTER_PASSWORD='replpw', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1`,
      )
      await r.exec('START SLAVE')
    }
    await primary.exec('CREATE TABLE test.repl_check (id INT PRIMARY KEY, v VARCHAR(20))')
    await primary.exec("INSERT INTO test.repl_check VALUES (1, 'hello')")
    for (const r of reps) {
      await waitFor(async () => (await r.exec('SELECT v FROM test.repl_check WHERE id = 1'))[0]?.v === 'hello', {
        timeout: 15_000,
        what: `replication to port ${r.port}`,
      })
    }
  } catch (e) {
    await Promise.allSettled(servers.map((s) => s.kill()))
    await Promise.allSettled(servers.map((s) => s.stop()))
    throw e
  }
  return { primary, replicas: reps, all: servers }
}

/** Waits until `sql`'s first row's first column equals `want` on every replica. */
export async function replicated(reps, sql, want, timeout = 10_000) {
  for (const r of reps) {
    await waitFor(
      async () => {
        const rows = await r.exec(sql)
        const v = rows[0] && Object.values(rows[0])[0]
        return v === want
      },
      { timeout, what: `${sql} = ${want} on replica ${r.port}` },
    )
  }
}

const macrotask = () => new Promise((r) => setImmediate(r))

/**
 * Keeps `inFlight` calls of `fn()` running until `stop()` (or `maxMs`);
 * returns counts and the error codes seen. Workers yield to the event loop
 * after every failure and every 64 calls: calls that settle at once (a
 * closed pool rejects synchronously) would otherwise starve the timers that
 * end the loop.
 */
export function loadLoop(fn, inFlight = 50, maxMs = 20_000) {
  let running = true
  // maxMs: the slowest call, to catch callers stuck in a dead node's queue.
  const stats = { ok: 0, failed: 0, codes: {}, errors: [], maxMs: 0 }
  let started = 0
  const deadline = Date.now() + maxMs
  const worker = async () => {
    let n = 0
    while (running) {
      if (Date.now() > deadline) {
        running = false
        break
      }
      started++
      const t0 = performance.now()
      try {
        await fn()
        stats.ok++
        stats.maxMs = Math.max(stats.maxMs, performance.now() - t0)
        if (++n % 64 === 0) await macrotask()
      } catch (e) {
        stats.maxMs = Math.max(stats.maxMs, performance.now() - t0)
        stats.failed++
        stats.codes[e.code] = (stats.codes[e.code] || 0) + 1
        if (stats.errors.length < 5) stats.errors.push(e)
        await macrotask()
      }
    }
  }
  const workers = Array.from({ length: inFlight }, worker)
  return {
    stats,
    get started() {
      return started
    },
    async stop() {
      running = false
      await Promise.all(workers)
      return stats
    },
  }
}
