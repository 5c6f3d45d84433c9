// Beyond mysql2: a connection whose server answers read-only or shutting
// down is closed instead of returned (a failover behind the same endpoint),
// and a pool.query/execute whose idle connection the peer had already closed
// is run once more on a fresh connection, because it was certainly never
// sent. Against the suite's MariaDB, through a small proxy that can close
// client sockets the way a load balancer does at its idle limit (FIN).
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { connOpts, createPool, rejectionOf, settled } from './helpers.mjs'

const srv = inject('mysqlServer')
let admin

beforeAll(async () => {
  admin = createPool(connOpts(srv, { connectionLimit: 1 }))
  await admin.query('DROP TABLE IF EXISTS fo_t')
  await admin.query('CREATE TABLE fo_t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)')
})

afterAll(async () => {
  await admin.query('DROP TABLE IF EXISTS fo_t')
  await admin.end()
})

describe('failover-aware connections', () => {
  it('a read-only transaction refusing a write (1792, as on a demoted primary) closes that connection', async () => {
    const p = createPool(connOpts(srv, { connectionLimit: 1 }))
    try {
      await p.query('SET SESSION TRANSACTION READ ONLY')
      const [[first]] = await p.query('SELECT CONNECTION_ID() AS id')
      const e = await rejectionOf(p.query('INSERT INTO fo_t (v) VALUES (1)'))
      expect(e.errno).toBe(1792)
      await settled(p)
      expect(p.stats().counters.failoverClosed).toBe(1)
      // A new connection, with a fresh session (not read-only): the write works.
      const [[second]] = await p.query('SELECT CONNECTION_ID() AS id')
      expect(second.id).not.toBe(first.id)
      const [ok] = await p.query('INSERT INTO fo_t (v) VALUES (2)')
      expect(ok.affectedRows).toBe(1)
      // An ordinary server error keeps the connection.
      await rejectionOf(p.query('SELECT * FROM fo_no_such_table'))
      const [[third]] = await p.query('SELECT CONNECTION_ID() AS id')
      expect(third.id).toBe(second.id)
      expect(p.stats().counters.failoverClosed).toBe(1)
      expect(p.metrics()).toMatch(/mysql_pool_connections_failover_closed_total\{pool="default"\} 1/)
    } finally {
      await p.end()
    }
  })

  it.each([
    [1290, 'ER_OPTION_PREVENTS_STATEMENT'],
    [1836, 'ER_READ_ONLY_MODE'],
    [1053, 'ER_SERVER_SHUTDOWN'],
  ])('errno %i (%s) closes the connection too', async (errno, code) => {
    const p = createPool(connOpts(srv, { connectionLimit: 1 }))
    try {
      const [[first]] = await p.query('SELECT CONNECTION_ID() AS id')
      const e = await rejectionOf(p.query(`SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = ${errno}, MESSAGE_TEXT = 'gone read-only'`))
      expect([e.errno, e.code]).toEqual([errno, code])
      await settled(p)
      const [[second]] = await p.query('SELECT CONNECTION_ID() AS id')
      expect(second.id).not.toBe(first.id)
      expect(p.stats().counters.failoverClosed).toBe(1)
    } finally {
      await p.end()
    }
  })
})

/** A TCP proxy to the server whose client sockets can be closed (FIN) at will. */
async function finProxy() {
  const clients = new Set()
  const server = net.createServer((c) => {
    const up = net.connect(srv.port, srv.host)
    clients.add(c)
    c.pipe(up)
    up.pipe(c)
    const done = () => {
      clients.delete(c)
      c.destroy()
      up.destroy()
    }
    c.on('error', done)
    up.on('error', done)
    c.on('close', done)
    up.on('close', done)
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: server.address().port,
    /** What a load balancer does to idle flows: a FIN to the client, the upstream dropped. */
    closeClients() {
      for (const c of clients) c.end()
    },
    async close() {
      for (const c of clients) c.destroy()
      await new Promise((r) => server.close(r))
    },
  }
}

describe('safe retry of a command that was never sent', () => {
  it('pool.query and pool.execute succeed on a fresh connection when the idle one was closed by the peer', async () => {
    const proxy = await finProxy()
    // No ping before lending (validateAfterIdle far away), so the dead
    // connection is the one the command is written to.
    const p = createPool(connOpts(srv, { host: '127.0.0.1', port: proxy.port, connectionLimit: 2, validateAfterIdle: 600000 }))
    try {
      const [[a]] = await p.query('SELECT CONNECTION_ID() AS id')
      proxy.closeClients()
      await new Promise((r) => setTimeout(r, 50))
      const [[b]] = await p.query('SELECT CONNECTION_ID() AS id, 1 AS one')
      expect(b.one).toBe(1)
      expect(b.id).not.toBe(a.id)
      expect(p.stats().counters.retried).toBe(1)
      proxy.closeClients()
      await new Promise((r) => setTimeout(r, 50))
      const [[c]] = await p.execute('SELECT ? AS v', [7])
      expect(c.v).toBe(7)
      expect(p.stats().counters.retried).toBe(2)
      // Exactly one INSERT ran for one call, even though its first
      // connection was dead: the command had not been sent.
      proxy.closeClients()
      await new Promise((r) => setTimeout(r, 50))
      const [before] = await admin.query('SELECT COUNT(*) AS n FROM fo_t')
      const [hdr] = await p.query('INSERT INTO fo_t (v) VALUES (3)')
      expect(hdr.affectedRows).toBe(1)
      const [after] = await admin.query('SELECT COUNT(*) AS n FROM fo_t')
      expect(after[0].n - before[0].n).toBe(1)
      expect(p.stats().counters.retried).toBe(3)
    } finally {
      await p.end()
      await proxy.close()
    }
  })

  it('a lent connection is never retried: the command fails with a code', async () => {
    const proxy = await finProxy()
    const p = createPool(connOpts(srv, { host: '127.0.0.1', port: proxy.port, connectionLimit: 1, validateAfterIdle: 600000 }))
    try {
      const conn = await p.getConnection()
      await conn.query('SELECT 1')
      proxy.closeClients()
      await new Promise((r) => setTimeout(r, 50))
      const e = await rejectionOf(conn.query('SELECT 2'))
      expect(e.code).toBe('PROTOCOL_CONNECTION_LOST')
      expect(e.fatal).toBe(true)
      conn.release()
      expect(p.stats().counters.retried).toBe(0)
      // The pool itself carries on with a new connection.
      const [[r]] = await p.query('SELECT 3 AS x')
      expect(r.x).toBe(3)
    } finally {
      await p.end()
      await proxy.close()
    }
  })
})
