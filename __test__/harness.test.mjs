import fs from 'node:fs'
import { X509Certificate } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import mysql from 'mysql2/promise'
import { startMariaDB } from './harness/mariadb.mjs'

async function query(opts, sql) {
  const conn = await mysql.createConnection({ connectTimeout: 5000, ...opts })
  try {
    const [rows] = await conn.query(sql)
    return rows
  } finally {
    await conn.end()
  }
}

describe('globally provided server', () => {
  const server = inject('mysqlServer')

  it('answers SELECT 1 as napi with the password', async () => {
    expect(inject('mysqlUrl')).toBe(server.url)
    expect(process.env.NMP_TEST_MYSQL_URL).toBe(server.url)
    const { host, port, user, password, database } = server
    const rows = await query({ host, port, user, password, database }, 'SELECT 1 AS one, CURRENT_USER() AS me')
    expect(rows).toEqual([{ one: 1, me: server.external ? expect.any(String) : 'napi@%' }])
  })

  it.skipIf(server.external)('rejects a wrong password', async () => {
    const { host, port, user } = server
    await expect(query({ host, port, user, password: 'nope' }, 'SELECT 1')).rejects.toMatchObject({
      code: 'ER_ACCESS_DENIED_ERROR',
    })
  })
})

describe('private server lifecycle', () => {
  let srv

  beforeAll(async () => {
    srv = await startMariaDB({ args: ['--wait-timeout=7'] })
  })
  afterAll(async () => {
    await srv?.stop()
  })

  const napi = () => ({ host: srv.host, port: srv.port, user: srv.user, password: srv.password, database: srv.database })

  it('applies extra args and the setup', async () => {
    expect(srv.url).toBe(`mysql://napi:napi-secret@127.0.0.1:${srv.port}/test`)
    expect(srv.port).not.toBe(3306)
    const [row] = await srv.exec('SELECT @@GLOBAL.wait_timeout AS wt, @@GLOBAL.max_connections AS mc, @@port AS port')
    expect(row).toEqual({ wt: 7, mc: 500, port: srv.port })
    const [sess] = await query(napi(), 'SELECT @@SESSION.wait_timeout AS wt, DATABASE() AS db')
    expect(sess).toEqual({ wt: 7, db: 'test' })
  })

  it('generates usable TLS material', () => {
    const ca = new X509Certificate(srv.pem.ca)
    const server = new X509Certificate(srv.pem.serverCert)
    const expired = new X509Certificate(srv.pem.expiredServerCert)
    expect(ca.ca).toBe(true)
    expect(server.ca).toBe(false)
    expect(server.checkIssued(ca)).toBe(true)
    expect(server.verify(ca.publicKey)).toBe(true)
    expect(server.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1')
    expect(new X509Certificate(srv.pem.clientCert).verify(ca.publicKey)).toBe(true)
    expect(server.verify(new X509Certificate(srv.pem.otherCa).publicKey)).toBe(false)
    expect(expired.verify(ca.publicKey)).toBe(true)
    expect(new Date(expired.validTo).getTime()).toBeLessThan(Date.now())
    for (const [k, file] of Object.entries(srv.certs)) expect(fs.readFileSync(file, 'utf8')).toBe(srv.pem[k])
  })

  it('serves TLS verified against the generated CA', async () => {
    const [ssl] = await srv.exec("SHOW VARIABLES LIKE 'have_ssl'")
    expect(ssl.Value).toBe('YES')
    const rows = await query({ ...napi(), ssl: { ca: srv.pem.ca, rejectUnauthorized: true } }, "SHOW STATUS LIKE 'Ssl_cipher'")
    expect(rows).toHaveLength(1)
    expect(rows[0].Value).toMatch(/\w/)
  })

  it('fails TLS verification with an unrelated CA', async () => {
    // mysql2 reports every TLS failure as HANDSHAKE_SSL_ERROR; the message tells them apart.
    // The server sends its CA along, hence "self-signed ... in chain" rather than "unable to get issuer".
    await expect(query({ ...napi(), ssl: { ca: srv.pem.otherCa } }, 'SELECT 1')).rejects.toMatchObject({
      code: 'HANDSHAKE_SSL_ERROR',
      message: expect.stringMatching(/self-signed certificate in certificate chain|unable to get local issuer/),
    })
  })

  it('requires a client certificate for x509user', async () => {
    const base = { host: srv.host, port: srv.port, user: 'x509user', database: 'test' }
    await expect(query({ ...base, ssl: { ca: srv.pem.ca } }, 'SELECT 1')).rejects.toMatchObject({
      code: 'ER_ACCESS_DENIED_ERROR',
    })
    const rows = await query({ ...base, ssl: { ca: srv.pem.ca, cert: srv.pem.clientCert, key: srv.pem.clientKey } }, 'SELECT CURRENT_USER() AS me')
    expect(rows).toEqual([{ me: 'x509user@%' }])
  })

  it('keeps data across kill() and start() on the same port', async () => {
    const port = srv.port
    await srv.exec('CREATE TABLE test.survivor (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB')
    await srv.exec("INSERT INTO test.survivor VALUES (1, 'still here')")

    await srv.kill()
    expect(srv.running).toBe(false)
    await expect(query(napi(), 'SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' })

    await srv.start()
    expect(srv.port).toBe(port)
    expect(await query(napi(), 'SELECT id, v FROM survivor')).toEqual([{ id: 1, v: 'still here' }])
    const [row] = await srv.exec('SELECT @@GLOBAL.wait_timeout AS wt')
    expect(row.wt).toBe(7)
  })

  it('restart() with new args keeps the data', async () => {
    await srv.restart({ args: ['--wait-timeout=9'] })
    const [row] = await srv.exec('SELECT @@GLOBAL.wait_timeout AS wt, (SELECT COUNT(*) FROM test.survivor) AS n')
    expect(row).toEqual({ wt: 9, n: 1 })
  })

  it('stop() shuts down and removes the temp dir', async () => {
    const { dir, port } = srv
    expect(fs.existsSync(dir)).toBe(true)
    await srv.stop()
    expect(srv.running).toBe(false)
    expect(fs.existsSync(dir)).toBe(false)
    await expect(query({ ...napi(), port }, 'SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })
})

describe('server variants', () => {
  it('serverCert: expired is rejected by a verifying client', async () => {
    const srv = await startMariaDB({ serverCert: 'expired' })
    try {
      const opts = { host: srv.host, port: srv.port, user: srv.user, password: srv.password }
      await expect(query({ ...opts, ssl: { ca: srv.pem.ca } }, 'SELECT 1')).rejects.toMatchObject({
        code: 'HANDSHAKE_SSL_ERROR',
        message: 'certificate has expired',
      })
      expect(await query(opts, 'SELECT 1 AS one')).toEqual([{ one: 1 }])
    } finally {
      await srv.stop()
    }
  })

  it('tls: false starts without TLS material', async () => {
    const srv = await startMariaDB({ tls: false })
    try {
      expect(srv.certs).toBeNull()
      expect(fs.existsSync(`${srv.dir}/certs`)).toBe(false)
      const [row] = await srv.exec("SHOW VARIABLES LIKE 'have_ssl'")
      expect(row.Value).toBe('DISABLED')
    } finally {
      await srv.stop()
    }
  })
})
