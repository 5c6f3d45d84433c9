// PoolCluster and ReadWriteSplit against a real topology: one MariaDB
// primary (binlog, GTID) and two read-only replicas replicating from it, all
// throwaway servers on loopback. Servers are identified by @@server_id:
// primary 1, replicas 2 and 3.
//
// The destructive tests (kill/start) run last and in order.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { createRequire } from 'node:module'
import { drizzle } from 'drizzle-orm/mysql2'
import { sql } from 'drizzle-orm'
import { startTopology, lib, opts, loadLoop, sleep, waitFor, replicated } from './topology.mjs'

const require = createRequire(import.meta.url)
const parsePrometheus = require('parse-prometheus-text-format')
const { isNotSent } = require('../../lib/cluster.js')

let topo
let primary, r1, r2
const closers = []
const track = (x) => (closers.push(x), x)

beforeAll(async () => {
  topo = await startTopology({ replicas: 2 })
  primary = topo.primary
  ;[r1, r2] = topo.replicas
}, 60_000)

afterAll(async () => {
  await Promise.allSettled(closers.map((c) => c.end()))
  if (topo) await Promise.allSettled(topo.all.map((s) => s.stop()))
}, 30_000)

const sid = async (q) => {
  const [[row]] = await q
  return Number(row.s)
}
const SID = 'SELECT @@server_id AS s'

/** The three servers as cluster nodes PRIMARY, REPLICA1, REPLICA2. */
function threeNodeCluster(options, poolExtra = {}) {
  const c = track(lib.createPoolCluster(options))
  c.add('PRIMARY', opts(primary, poolExtra))
  c.add('REPLICA1', opts(r1, poolExtra))
  c.add('REPLICA2', opts(r2, poolExtra))
  return c
}

function events(emitter) {
  const seen = []
  for (const e of ['online', 'offline', 'remove']) emitter.on(e, (id) => seen.push(`${e}:${id}`))
  const warns = []
  emitter.on('warn', (err) => warns.push(err.code))
  return { seen, warns }
}

describe('topology', () => {
  it('primary has a binlog, replicas are read-only and replicating', async () => {
    const [logBin] = await primary.exec("SHOW VARIABLES LIKE 'log_bin'")
    expect(logBin.Value).toBe('ON')
    for (const r of [r1, r2]) {
      const [ro] = await r.exec("SHOW VARIABLES LIKE 'read_only'")
      expect(ro.Value).toBe('ON')
      const [st] = await r.exec('SHOW SLAVE STATUS')
      expect([st.Slave_IO_Running, st.Slave_SQL_Running]).toEqual(['Yes', 'Yes'])
    }
  })
})

describe('PoolCluster routing', () => {
  it('RR alternates over every node; ORDER picks the first; RANDOM reaches all', async () => {
    const c = threeNodeCluster()
    const rr = []
    for (let i = 0; i < 6; i++) rr.push(await sid(c.query(SID)))
    expect(rr).toEqual([1, 2, 3, 1, 2, 3])
    const order = []
    for (let i = 0; i < 4; i++) order.push(await sid(c.of('*', 'ORDER').query(SID)))
    expect(order).toEqual([1, 1, 1, 1])
    expect(await sid(c.of('REPLICA*', 'ORDER').query(SID))).toBe(2)
    const random = new Set()
    for (let i = 0; i < 200 && random.size < 3; i++) random.add(await sid(c.of('*', 'RANDOM').execute(SID)))
    expect([...random].sort()).toEqual([1, 2, 3])
  })

  it('patterns select nodes; getConnection(pattern, selector) lends from the chosen node', async () => {
    const c = threeNodeCluster({ defaultSelector: 'ORDER' })
    const replicas = c.of('REPLICA*', 'RR')
    const got = []
    for (let i = 0; i < 4; i++) got.push(await sid(replicas.query(SID)))
    expect(got).toEqual([2, 3, 2, 3])
    // execute with parameters on a namespace
    const [[row]] = await replicas.execute('SELECT ? + ? AS n, @@server_id AS s', [2, 3])
    expect(row.n).toBe(5)
    const conn = await c.getConnection('REPLICA2')
    try {
      expect(conn._clusterId).toBe('REPLICA2')
      expect(await sid(conn.query(SID))).toBe(3)
    } finally {
      conn.release()
    }
    // defaultSelector ORDER for getConnection() without arguments
    const first = await c.getConnection()
    expect(first._clusterId).toBe('PRIMARY')
    first.release()
    const e = await c
      .of('NOPE*')
      .query(SID)
      .catch((x) => x)
    expect(e).toMatchObject({ code: 'POOL_NOEXIST', message: 'Pool does Not exist.' })
    expect((await c.getConnection('REPLICA3').catch((x) => x)).code).toBe('POOL_NOEXIST')
  })

  it('server errors are not retried nor counted against a node', async () => {
    const c = threeNodeCluster()
    const ev = events(c)
    const err = await c
      .of('REPLICA1')
      .query('SELECT * FROM no_such_table')
      .catch((x) => x)
    expect(err.code).toBe('ER_NO_SUCH_TABLE')
    expect(ev.warns).toEqual([])
    expect(c.stats().nodes.REPLICA1.errorCount).toBe(0)
  })

  it('add(config)/remove(pattern) at runtime', async () => {
    const c = threeNodeCluster()
    c.add(opts(r1))
    c.add(opts(r2))
    expect(Object.keys(c.nodes)).toEqual(['PRIMARY', 'REPLICA1', 'REPLICA2', 'CLUSTER::1', 'CLUSTER::2'])
    expect(await sid(c.of('CLUSTER::2').query(SID))).toBe(3)
    c.remove('CLUSTER::*')
    expect(Object.keys(c.nodes)).toEqual(['PRIMARY', 'REPLICA1', 'REPLICA2'])
    expect(
      (
        await c
          .of('CLUSTER::*')
          .query(SID)
          .catch((x) => x)
      ).code,
    ).toBe('POOL_NOEXIST')
  })

  it('health(), stats() and metrics() per node (labels pool and node)', async () => {
    const c = threeNodeCluster()
    for (let i = 0; i < 3; i++) await c.query(SID)
    const h = c.health()
    expect(h).toMatchObject({ healthy: true, status: 'healthy' })
    expect(Object.keys(h.nodes)).toEqual(['PRIMARY', 'REPLICA1', 'REPLICA2'])
    expect(h.nodes.REPLICA1).toMatchObject({ healthy: true, state: 'online', errorCount: 0, poolType: 'native' })
    const s = c.stats()
    expect(s.nodes.REPLICA2).toMatchObject({ name: 'REPLICA2', state: 'online', offlineForMs: 0 })
    expect(s.nodes.REPLICA2.counters.queries).toBe(1)
    expect(JSON.stringify(s)).not.toContain(primary.password)
    const text = c.metrics()
    expect(text).toContain('mysql_pool_queries_total{pool="REPLICA1",node="REPLICA1"} 1')
    expect(text).toContain('mysql_pool_cluster_node_online{pool="PRIMARY",node="PRIMARY"} 1')
    expect(text).not.toContain(primary.password)
    // Valid exposition: parses, and every series is unique.
    const fams = parsePrometheus(text)
    const up = fams.find((f) => f.name === 'mysql_pool_up')
    expect(up.metrics.map((m) => m.labels.node)).toEqual(['PRIMARY', 'REPLICA1', 'REPLICA2'])
    const series = text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.slice(0, l.lastIndexOf(' ')))
    expect(new Set(series).size).toBe(series.length)
    const json = c.metrics('json')
    expect(json.find((f) => f.name === 'mysql_pool_queries_total').values.map((v) => v.labels.node)).toEqual(['PRIMARY', 'REPLICA1', 'REPLICA2'])
  })
})

describe('ReadWriteSplit', () => {
  let split
  beforeAll(async () => {
    split = track(lib.createReadWriteSplit({ primary: opts(primary), replicas: [opts(r1), opts(r2)] }))
    await split.query('CREATE TABLE IF NOT EXISTS rw (id INT PRIMARY KEY, v VARCHAR(20))')
  })

  it('writes land on the primary and reach the replicas; reads go to the replicas in turn', async () => {
    const [header] = await split.query("INSERT INTO rw VALUES (1, 'one')")
    expect(header.affectedRows).toBe(1)
    expect((await primary.exec('SELECT v FROM test.rw WHERE id = 1'))[0].v).toBe('one')
    await replicated([r1, r2], 'SELECT v FROM test.rw WHERE id = 1', 'one')
    const ids = []
    for (let i = 0; i < 4; i++) ids.push(await sid(split.query(SID)))
    expect(ids).toEqual([2, 3, 2, 3])
    const [[row]] = await split.execute('SELECT v, @@server_id AS s FROM rw WHERE id = ?', [1])
    expect(row.v).toBe('one')
    expect([2, 3]).toContain(Number(row.s))
    await split.execute('UPDATE rw SET v = ? WHERE id = ?', ['uno', 1])
    expect((await primary.exec('SELECT v FROM test.rw WHERE id = 1'))[0].v).toBe('uno')
  })

  it('locking reads, usePrimary and getConnection() go to the primary', async () => {
    expect(await sid(split.query(`${SID} FOR UPDATE`))).toBe(1)
    expect(await sid(split.query({ sql: SID, usePrimary: true }))).toBe(1)
    expect(await sid(split.execute({ sql: SID, usePrimary: true }))).toBe(1)
    const conn = await split.getConnection()
    try {
      expect(await sid(conn.query(SID))).toBe(1)
      await conn.beginTransaction()
      await conn.query("INSERT INTO rw VALUES (2, 'two')")
      // Read-your-writes inside the transaction (same primary connection).
      const [[row]] = await conn.query('SELECT v FROM rw WHERE id = 2')
      expect(row.v).toBe('two')
      await conn.commit()
    } finally {
      conn.release()
    }
    await replicated([r1, r2], 'SELECT v FROM test.rw WHERE id = 2', 'two')
    const conn2 = await split.getConnection()
    await conn2.beginTransaction()
    await conn2.query("INSERT INTO rw VALUES (3, 'never')")
    await conn2.rollback()
    conn2.release()
    expect(await primary.exec('SELECT * FROM test.rw WHERE id = 3')).toEqual([])
  })

  it('drizzle(split): queries route by statement, transactions run on the primary', async () => {
    const db = drizzle(split)
    const [rows] = await db.execute(sql`SELECT @@server_id AS s`)
    expect([2, 3]).toContain(Number(rows[0].s))
    const inTx = await db.transaction(async (tx) => {
      await tx.execute(sql`INSERT INTO rw VALUES (4, 'drizzle')`)
      const [r] = await tx.execute(sql`SELECT @@server_id AS s, (SELECT v FROM rw WHERE id = 4) AS v`)
      return r[0]
    })
    expect({ s: Number(inTx.s), v: inTx.v }).toEqual({ s: 1, v: 'drizzle' })
  })

  it('routing counters, health and metrics name every node', async () => {
    const st = split.stats()
    expect(Object.keys(st.nodes)).toEqual(['PRIMARY', 'REPLICA1', 'REPLICA2'])
    expect(st.routing.replica).toBeGreaterThan(0)
    expect(st.routing.primary).toBeGreaterThan(0)
    expect(split.health()).toMatchObject({ healthy: true, status: 'healthy' })
    const text = split.metrics()
    expect(text).toMatch(/mysql_pool_split_statements_total\{split="PRIMARY",route="replica"\} \d+/)
    expect(text).toContain('node="REPLICA2"')
    expect(parsePrometheus(text).length).toBeGreaterThan(10)
  })
})

// ---------------------------------------------------------------------------
// Failover. Calls fail only if their statement was on a connection to the
// server at the moment it died (PROTOCOL_CONNECTION_LOST: it may have run, so
// it is never retried); every other call is retried on another node.

const IN_FLIGHT_LOSS = ['PROTOCOL_CONNECTION_LOST']
const debug = process.env.NMP_CLUSTER_DEBUG ? (...a) => console.error('[cluster]', ...a) : () => {}

describe('failover', () => {
  it('a node killed under load (50 in flight) is removed; only its in-flight statements fail', async () => {
    const c = threeNodeCluster({ removeNodeErrorCount: 3 }, { connectionLimit: 10 })
    const ev = events(c)
    const seen = new Set()
    const loop = loadLoop(async () => {
      const [[row]] = await c.of('*').query('SELECT @@server_id AS s, SLEEP(0.002) AS z')
      seen.add(Number(row.s))
    }, 50)
    await waitFor(() => seen.size === 3, { what: 'all three nodes used' })
    await r2.kill()
    await waitFor(() => ev.seen.length > 0, { what: 'remove event' })
    seen.clear()
    const okBefore = loop.stats.ok
    await sleep(400)
    const st = await loop.stop()
    debug('kill/remove', { maxMs: st.maxMs, ok: st.ok, failed: st.failed, codes: st.codes, warns: ev.warns.length, events: ev.seen })
    expect(loop.started).toBe(st.ok + st.failed)
    expect(ev.seen).toEqual(['remove:REPLICA2'])
    expect(Object.keys(c.nodes)).toEqual(['PRIMARY', 'REPLICA1'])
    expect([...seen].sort()).toEqual([1, 2])
    expect(st.ok - okBefore).toBeGreaterThan(50)
    for (const code of Object.keys(st.codes)) expect(IN_FLIGHT_LOSS).toContain(code)
    // At most one statement per connection the dead node had open.
    expect(st.failed).toBeLessThanOrEqual(10)
    // Callers queued on the dead node were handed on, not left to acquireTimeout (10 s).
    expect(st.maxMs).toBeLessThan(3000)
    for (const code of ev.warns) expect(isNotSent({ code })).toBe(true)
  }, 30_000)

  it('restoreNodeTimeout: the dead node goes offline, no call fails, and after start() it is back online', async () => {
    const c = track(lib.createPoolCluster({ restoreNodeTimeout: 300 }))
    c.add('REPLICA1', opts(r1))
    c.add('REPLICA2', opts(r2)) // still dead from the previous test
    const ev = events(c)
    const seen = new Set()
    const loop = loadLoop(async () => {
      const [[row]] = await c.query(SID)
      seen.add(Number(row.s))
    }, 50)
    await waitFor(() => ev.seen.includes('offline:REPLICA2'), { what: 'offline event' })
    expect(c.health()).toMatchObject({ healthy: true, status: 'warning' })
    expect(c.health().nodes.REPLICA2.state).toBe('offline')
    await sleep(400) // at least one failed probe after the restore timeout
    await r2.start()
    await waitFor(() => ev.seen.includes('online:REPLICA2'), { what: 'online event', timeout: 10_000 })
    seen.clear()
    await waitFor(() => seen.has(3), { what: 'REPLICA2 serving again' })
    const st = await loop.stop()
    debug('restore', { maxMs: st.maxMs, ok: st.ok, failed: st.failed, warns: ev.warns.length, events: ev.seen })
    expect(loop.started).toBe(st.ok + st.failed)
    expect(st.codes).toEqual({})
    expect(st.maxMs).toBeLessThan(3000)
    expect(ev.seen.filter((e) => !e.startsWith('offline:REPLICA2'))).toEqual(['online:REPLICA2'])
    expect(ev.warns.length).toBeGreaterThan(0)
    for (const code of new Set(ev.warns)) expect(isNotSent({ code })).toBe(true)
    expect(c.health().nodes.REPLICA2).toMatchObject({ state: 'online', healthy: true })
  }, 30_000)

  it('ReadWriteSplit: reads fall back to the primary while the replicas are down, and return after', async () => {
    const split = track(lib.createReadWriteSplit({ primary: opts(primary), replicas: [opts(r1), opts(r2)], restoreNodeTimeout: 300 }))
    // The restarted replica catches up (replication resumed by itself).
    const t0 = Date.now()
    await split.query("INSERT INTO rw VALUES (10, 'before')")
    await replicated([r1, r2], 'SELECT v FROM test.rw WHERE id = 10', 'before', 15_000)
    debug('caught up after', Date.now() - t0, 'ms')
    const ev = events(split)
    const readers = new Set()
    const loop = loadLoop(async () => {
      readers.add(await sid(split.query(SID)))
    }, 50)
    await waitFor(() => readers.has(2) && readers.has(3), { what: 'both replicas reading' })
    await Promise.all([r1.kill(), r2.kill()])
    await waitFor(() => ev.seen.includes('offline:REPLICA1') && ev.seen.includes('offline:REPLICA2'), { what: 'replicas offline' })
    readers.clear()
    await sleep(300)
    expect([...readers]).toEqual([1])
    expect(split.health()).toMatchObject({ healthy: true, status: 'warning' })
    // Writes are unaffected; they wait in the primary's binlog.
    await split.query("INSERT INTO rw VALUES (11, 'during')")
    const during = await loop.stop()
    debug('outage load stopped after', Date.now() - t0, 'ms')
    debug('split outage', { maxMs: during.maxMs, ok: during.ok, failed: during.failed, codes: during.codes, routing: split.stats().routing })
    expect(loop.started).toBe(during.ok + during.failed)
    for (const code of Object.keys(during.codes)) expect(IN_FLIGHT_LOSS).toContain(code)
    expect(during.failed).toBeLessThanOrEqual(20)
    expect(during.maxMs).toBeLessThan(3000)
    expect(split.stats().routing.fallback).toBeGreaterThan(0)

    await Promise.all([r1.start(), r2.start()])
    const after = new Set()
    const loop2 = loadLoop(async () => {
      after.add(await sid(split.query(SID)))
    }, 10)
    await waitFor(() => after.has(2) && after.has(3), { what: 'reads back on the replicas', timeout: 10_000 })
    await waitFor(() => ev.seen.includes('online:REPLICA1') && ev.seen.includes('online:REPLICA2'), { what: 'online events' })
    const st2 = await loop2.stop()
    debug('replicas serving again after', Date.now() - t0, 'ms')
    expect(st2.codes).toEqual({})
    // The write made during the outage reached both replicas once they were back.
    await replicated([r1, r2], 'SELECT v FROM test.rw WHERE id = 11', 'during', 15_000)
    debug('outage write replicated after', Date.now() - t0, 'ms')
  }, 45_000)
})
