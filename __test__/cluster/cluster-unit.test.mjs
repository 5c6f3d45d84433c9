// PoolCluster / ReadWriteSplit behaviour that needs no live server: options,
// patterns, error codes and texts (against mysql2's own), node removal and
// offline/online bookkeeping on a refused port, and read detection.
import { describe, it, expect, afterEach, inject } from 'vitest'
import net from 'node:net'
import { createRequire } from 'node:module'
import mysql from 'mysql2/promise'

const require = createRequire(import.meta.url)
const lib = require('../../lib/index.js')
const { isReadSql, isNotSent, isNodeError } = require('../../lib/cluster.js')

const toClose = []
afterEach(async () => {
  await Promise.allSettled(toClose.splice(0).map((c) => c.end()))
})

function cluster(options) {
  const c = lib.createPoolCluster(options)
  toClose.push(c)
  return c
}

/** A loopback port nobody listens on: connects are refused at once. */
async function deadPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

const dead = (port, extra = {}) => ({ host: '127.0.0.1', port, user: 'nobody', password: 'x', circuitBreakerThreshold: 0, ...extra })

async function rejection(p) {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected a rejection')
}

describe('PoolCluster API', () => {
  it('exports, defaults and option validation', () => {
    const c = cluster()
    expect(c).toBeInstanceOf(lib.PoolCluster)
    expect(c.config).toEqual({ canRetry: true, removeNodeErrorCount: 5, restoreNodeTimeout: 0, defaultSelector: 'RR' })
    expect(cluster({ defaultSelector: 'order', canRetry: false }).config).toMatchObject({ defaultSelector: 'ORDER', canRetry: false })
    // mysql2 reads `x || default`: 0 means the default.
    expect(cluster({ removeNodeErrorCount: 0 }).config.removeNodeErrorCount).toBe(5)
    expect(() => lib.createPoolCluster({ defaultSelector: 'LEAST' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_POOL_OPTION' }))
    expect(() => lib.createPoolCluster({ restoreNodeTimeout: -1 })).toThrow(/restoreNodeTimeout/)
    expect(() => c.of('*', 'NOPE')).toThrow(/Unknown selector/)
  })

  it('add(config) numbers nodes CLUSTER::N, names each pool after its id, keeps the first of a duplicate id', async () => {
    const port = await deadPort()
    const c = cluster()
    c.add(dead(port))
    c.add(dead(port))
    c.add('MAIN', `mysql://u:p@127.0.0.1:${port}/db`)
    c.add('MAIN', dead(port, { database: 'other' }))
    c.add('NAMED', dead(port, { name: 'mine' }))
    expect(Object.keys(c.nodes)).toEqual(['CLUSTER::1', 'CLUSTER::2', 'MAIN', 'NAMED'])
    expect(c.nodes['CLUSTER::2'].name).toBe('CLUSTER::2')
    expect(c.nodes.MAIN.config.database).toBe('db')
    expect(c.nodes.NAMED.name).toBe('mine')
    expect(() => c.add('', dead(port))).toThrow(/id/)
    expect(() => c.add('X', 42)).toThrow(/config/)
  })

  it('of() is cached per pattern and selector; remove() ends matching nodes without a remove event', async () => {
    const port = await deadPort()
    const c = cluster()
    expect(c.of('A*')).toBe(c.of('A*', 'RR'))
    expect(c.of('A*', 'ORDER')).not.toBe(c.of('A*'))
    expect(c.of()).toBe(c.of('*'))
    for (const id of ['A1', 'A2', 'B1']) c.add(id, dead(port))
    const pools = c.nodes
    const events = []
    c.on('remove', (id) => events.push(id))
    c.remove('A*')
    expect(Object.keys(c.nodes)).toEqual(['B1'])
    expect(events).toEqual([])
    expect(pools.A1._closed).toBe(true)
    expect((await rejection(c.of('A*').query('SELECT 1'))).code).toBe('POOL_NOEXIST')
    // RegExp patterns work too (as in mysql2), /g included.
    expect(c._findIds(/^B\d$/g, true)).toEqual(['B1'])
    expect(c._findIds(/^B\d$/g, true)).toEqual(['B1'])
  })

  it('POOL_NOEXIST / POOL_NONEONLINE carry mysql2 codes and texts', async () => {
    const theirs = mysql.createPoolCluster()
    const theirErr = await rejection(theirs.getConnection('NOPE'))
    await theirs.end()
    const c = cluster()
    const ours = await rejection(c.getConnection('NOPE'))
    expect({ code: ours.code, message: ours.message }).toEqual({ code: theirErr.code, message: theirErr.message })
    expect(ours).toMatchObject({ code: 'POOL_NOEXIST', message: 'Pool does Not exist.' })
    for (const call of [() => c.query('SELECT 1'), () => c.execute('SELECT 1'), () => c.of('X*').query('SELECT 1')]) {
      expect((await rejection(call())).code).toBe('POOL_NOEXIST')
    }
  })

  it('restoreNodeTimeout: a refused node goes offline (POOL_NONEONLINE), is probed after the timeout, offline again', async () => {
    const port = await deadPort()
    const c = cluster({ removeNodeErrorCount: 2, restoreNodeTimeout: 300 })
    c.add('DB', dead(port))
    const events = []
    for (const e of ['online', 'offline', 'remove']) c.on(e, (id) => events.push(`${e}:${id}`))
    const warns = []
    c.on('warn', (e) => warns.push(e.code))
    // Single node: as in mysql2 the lone node is retried in the same call
    // (one 'warn' per retry) until removeNodeErrorCount (2) errors take it
    // offline; then the last connect error itself surfaces.
    expect((await rejection(c.query('SELECT 1'))).code).toBe('ECONNREFUSED')
    expect(warns).toEqual(['ECONNREFUSED'])
    expect(events).toEqual(['offline:DB'])
    const none = await rejection(c.query('SELECT 1'))
    expect(none).toMatchObject({ code: 'POOL_NONEONLINE', message: 'Pool does Not have online node.' })
    expect((await rejection(c.getConnection())).code).toBe('POOL_NONEONLINE')
    const h = c.health()
    expect(h).toMatchObject({ healthy: false, status: 'unhealthy' })
    expect(h.nodes.DB).toMatchObject({ state: 'offline', healthy: false, errorCount: 2 })
    expect(c.stats().nodes.DB.offlineForMs).toBeGreaterThan(0)
    expect(c.metrics()).toContain('mysql_pool_cluster_node_online{pool="DB",node="DB"} 0')
    await new Promise((r) => setTimeout(r, 350))
    // Probed again: still refused, so offline again (one error is enough now,
    // and with no node left online there is no retry).
    expect((await rejection(c.query('SELECT 1'))).code).toBe('ECONNREFUSED')
    expect(events).toEqual(['offline:DB', 'offline:DB'])
    expect(warns).toEqual(['ECONNREFUSED'])
  })

  it('restoreNodeTimeout 0: removed for good after removeNodeErrorCount errors, then POOL_NOEXIST', async () => {
    const port = await deadPort()
    const c = cluster({ removeNodeErrorCount: 3 })
    c.add('DB', dead(port))
    const pool = c.nodes.DB
    const removed = []
    c.on('remove', (id) => removed.push(id))
    const warns = []
    c.on('warn', (e) => warns.push(e.code))
    // The lone node is retried within the first call (as mysql2 does) until
    // its third error removes it: one ECONNREFUSED after two retries.
    expect((await rejection(c.getConnection())).code).toBe('ECONNREFUSED')
    expect(warns).toEqual(['ECONNREFUSED', 'ECONNREFUSED'])
    expect(removed).toEqual(['DB'])
    expect(Object.keys(c.nodes)).toEqual([])
    expect((await rejection(c.getConnection())).code).toBe('POOL_NOEXIST')
    expect(pool._closed).toBe(true)
    expect((await rejection(c.query('SELECT 1'))).code).toBe('POOL_NOEXIST')
  })

  it('canRetry: false returns the first error; true tries each other node once and emits warn', async () => {
    const port = await deadPort()
    const port2 = await deadPort()
    const c = cluster({ canRetry: false })
    c.add('A', dead(port))
    c.add('B', dead(port2))
    const warns = []
    c.on('warn', (e) => warns.push(e.code))
    expect((await rejection(c.query('SELECT 1'))).code).toBe('ECONNREFUSED')
    expect(warns).toEqual([])
    const r = cluster()
    r.add('A', dead(port))
    r.add('B', dead(port2))
    r.on('warn', (e) => warns.push(e.code))
    expect((await rejection(r.query('SELECT 1'))).code).toBe('ECONNREFUSED')
    expect(warns).toEqual(['ECONNREFUSED'])
    expect(Object.values(r.stats().nodes).map((n) => n.errorCount)).toEqual([1, 1])
  })

  it('a call queued in a node that is removed meanwhile rejects in cluster terms (POOL_NOEXIST), not "Pool is closed."', async () => {
    const c = cluster()
    c.add('ONLY', { uri: inject('mysqlUrl'), connectionLimit: 1 })
    const held = await c.getConnection()
    const queued = c.query('SELECT 1')
    await new Promise((r) => setTimeout(r, 50))
    c.remove('*')
    const err = await rejection(queued)
    held.release()
    expect(err).toMatchObject({ code: 'POOL_NOEXIST', message: 'Pool does Not exist.' })
  })

  it('end() is idempotent, ends every node, and later calls reject POOL_CLOSED', async () => {
    const port = await deadPort()
    const c = cluster()
    c.add('A', dead(port))
    const pool = c.nodes.A
    const p = c.end()
    expect(c.end()).toBe(p)
    await p
    expect(pool._closed).toBe(true)
    expect((await rejection(c.query('SELECT 1'))).code).toBe('POOL_CLOSED')
    expect(() => c.add('B', dead(port))).toThrow(expect.objectContaining({ code: 'POOL_CLOSED' }))
  })
})

describe('error classification', () => {
  it('connect-phase errors are retryable; a connection lost mid-statement counts but is not retried', () => {
    const e = (code, extra = {}) => Object.assign(new Error(code), { code, ...extra })
    for (const code of ['ECONNREFUSED', 'ETIMEDOUT', 'POOL_CIRCUIT_OPEN']) {
      expect([isNotSent(e(code)), isNodeError(e(code))]).toEqual([true, true])
    }
    expect([isNotSent(e('PROTOCOL_CONNECTION_LOST', { fatal: true })), isNodeError(e('PROTOCOL_CONNECTION_LOST'))]).toEqual([false, true])
    // Saturation: retried elsewhere, not held against the node.
    expect([isNotSent(e('POOL_ACQUIRE_TIMEOUT')), isNodeError(e('POOL_ACQUIRE_TIMEOUT'))]).toEqual([true, false])
    // Handshake server errors (fatal with an errno) happen before any statement.
    const denied = e('ER_ACCESS_DENIED_ERROR', { errno: 1045, sqlState: '28000', fatal: true })
    expect([isNotSent(denied), isNodeError(denied)]).toEqual([true, true])
    const parse = e('ER_PARSE_ERROR', { errno: 1064, sqlState: '42000' })
    expect([isNotSent(parse), isNodeError(parse)]).toEqual([false, false])
    const timeout = e('PROTOCOL_SEQUENCE_TIMEOUT', { fatal: true })
    expect([isNotSent(timeout), isNodeError(timeout)]).toEqual([false, false])
  })
})

describe('read detection (what a ReadWriteSplit sends to replicas)', () => {
  const reads = [
    'SELECT 1',
    '  select * from t where id = ?',
    '/* app:list */ SELECT * FROM t',
    '-- note\nSELECT 1',
    '# note\nSELECT 1',
    'select*from t',
    'SHOW TABLES',
    'DESCRIBE t',
    'DESC t',
    'EXPLAIN SELECT * FROM t',
    'EXPLAIN UPDATE t SET a = 1',
    'WITH x AS (SELECT 1 AS a) SELECT * FROM x',
    'WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT * FROM n',
    '(SELECT 1) UNION (SELECT 2)',
    'SELECT \'FOR UPDATE\', "; DELETE FROM t", `for` FROM t',
    "SELECT REPLACE(a, 'x', 'y'), INSERT(b, 1, 1, 'z') FROM t",
    'SELECT 1 /* FOR UPDATE */',
    'SELECT 1;',
    'SELECT 1; -- done',
    'SELECT * FROM t FOR SYSTEM_TIME ALL',
    { sql: 'SELECT 1' },
  ]
  const writes = [
    'INSERT INTO t VALUES (1)',
    'UPDATE t SET a = 1',
    'DELETE FROM t',
    'REPLACE INTO t VALUES (1)',
    'CREATE TABLE t (a INT)',
    'SET @a = 1',
    'CALL p()',
    'START TRANSACTION',
    'INSERT INTO t SELECT * FROM u',
    'SELECT * FROM t FOR UPDATE',
    'SELECT * FROM t WHERE id = ? FOR UPDATE SKIP LOCKED',
    'select * from t for share',
    'SELECT * FROM t LOCK IN SHARE MODE',
    'SELECT * FROM (SELECT * FROM t FOR UPDATE) x',
    'WITH x AS (SELECT 1) UPDATE t JOIN x SET t.a = 1',
    'WITH x AS (SELECT 1) DELETE FROM t',
    'WITH x AS (SELECT * FROM t FOR UPDATE) SELECT * FROM x',
    "WITH x AS (SELECT GET_LOCK('a', 1) AS l) SELECT * FROM x",
    'EXPLAIN ANALYZE DELETE FROM t',
    'ANALYZE SELECT 1',
    'SELECT 1 INTO @x',
    "SELECT GET_LOCK('job', 1)",
    'SELECT NEXTVAL(seq)',
    'SELECT NEXT VALUE FOR seq',
    'SELECT LAST_INSERT_ID()',
    'SELECT 1; DELETE FROM t',
    '/*!40101 SET NAMES utf8 */',
    'SELECT /*!50000 SLEEP(1), */ 1',
    '--x\nSELECT 1', // not a comment without the space: "- -x"
    '',
    { sql: 'SELECT 1', usePrimary: true },
    42,
  ]
  it.each(reads.map((q) => [JSON.stringify(q), q]))('read: %s', (_, q) => {
    expect(isReadSql(q)).toBe(true)
  })
  it.each(writes.map((q) => [JSON.stringify(q), q]))('primary: %s', (_, q) => {
    expect(isReadSql(q)).toBe(false)
  })
})

describe('createReadWriteSplit options', () => {
  it('validates and exposes the Pool surface', async () => {
    expect(() => lib.createReadWriteSplit()).toThrow(/options/)
    expect(() => lib.createReadWriteSplit({ replicas: [] })).toThrow(/primary/)
    expect(() => lib.createReadWriteSplit({ primary: {}, replicas: {} })).toThrow(/replicas/)
    const port = await deadPort()
    const s = lib.createReadWriteSplit({ primary: dead(port), replicas: [dead(port), dead(port)] })
    toClose.push(s)
    expect(s).toBeInstanceOf(require('node:events').EventEmitter)
    for (const m of ['query', 'execute', 'getConnection', 'end', 'health', 'stats', 'metrics', 'escape', 'escapeId', 'format']) {
      expect(typeof s[m]).toBe('function')
    }
    expect(s.primary.name).toBe('PRIMARY')
    expect(s.replicas.map((p) => p.name)).toEqual(['REPLICA1', 'REPLICA2'])
    expect(s.format('SELECT ?', ["it's"])).toBe("SELECT 'it\\'s'")
    expect(s.escape(1)).toBe('1')
    expect(s._replicaCluster.config.restoreNodeTimeout).toBe(5000)
  })
})
