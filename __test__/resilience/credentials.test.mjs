// Rotating credentials (beyond mysql2): user/password given as functions are
// called for every new connection (a token that changes, a Vault lease);
// their failures reach the waiting caller with a code; the values appear in
// no error, stats(), metrics() or inspect output.
import util from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { connOpts, createPool, rejectionOf } from './helpers.mjs'

const srv = inject('mysqlServer')
const USER = 'rot_user'
let admin

beforeAll(async () => {
  admin = createPool(connOpts(srv, { connectionLimit: 1 }))
  for (const host of ['%', 'localhost']) {
    await admin.query(`DROP USER IF EXISTS '${USER}'@'${host}'`)
    await admin.query(`CREATE USER '${USER}'@'${host}' IDENTIFIED BY 'token-1'`)
  }
})

afterAll(async () => {
  for (const host of ['%', 'localhost']) await admin.query(`DROP USER IF EXISTS '${USER}'@'${host}'`)
  await admin.end()
})

const base = () => ({ host: srv.host, port: srv.port, database: undefined, connectionLimit: 2 })

describe('user/password functions', () => {
  it('are called for every new connection and follow a rotation', async () => {
    let token = 'token-1'
    let calls = 0
    const p = createPool({
      ...base(),
      user: () => USER,
      password: async () => {
        calls++
        await new Promise((r) => setTimeout(r, 5))
        return token
      },
    })
    try {
      const [[a]] = await p.query('SELECT CURRENT_USER() AS u, CONNECTION_ID() AS id')
      expect(a.u).toMatch(/^rot_user@/)
      expect(calls).toBe(1)
      // Rotate: the server now wants token-2; existing connections stay valid.
      token = 'token-2'
      for (const host of ['%', 'localhost']) await admin.query(`ALTER USER '${USER}'@'${host}' IDENTIFIED BY 'token-2'`)
      const conn = await p.getConnection()
      expect(conn.threadId).toBe(a.id)
      // A second connection (the first is lent) is opened with the new token.
      const [[b]] = await p.query('SELECT CURRENT_USER() AS u, CONNECTION_ID() AS id')
      conn.release()
      expect(b.id).not.toBe(a.id)
      expect(calls).toBe(2)
      // Nothing of it in stats, metrics, inspect or JSON.
      const seen = [JSON.stringify(p.stats()), p.metrics(), util.inspect(p, { depth: 10, showHidden: true, getters: true }), JSON.stringify(p.config)].join(
        '\n',
      )
      expect(seen).not.toContain('token-')
    } finally {
      await p.end()
    }
  })

  it('a throwing or rejecting function fails the waiting caller with ERR_CREDENTIALS; the next call works again', async () => {
    let fail = 'throw'
    const p = createPool({
      ...base(),
      connectionLimit: 1,
      circuitBreakerThreshold: 0,
      user: USER,
      password: () => {
        if (fail === 'throw') throw new Error('vault unreachable')
        if (fail === 'reject') return Promise.reject(new Error('lease expired'))
        if (fail === 'number') return 42
        return 'token-2'
      },
    })
    try {
      const e1 = await rejectionOf(p.query('SELECT 1'))
      expect(e1.code).toBe('ERR_CREDENTIALS')
      expect(e1.message).toContain('vault unreachable')
      fail = 'reject'
      const e2 = await rejectionOf(p.getConnection())
      expect([e2.code, e2.message.includes('lease expired')]).toEqual(['ERR_CREDENTIALS', true])
      fail = 'number'
      const e3 = await rejectionOf(p.query('SELECT 1'))
      expect(e3.code).toBe('ERR_CREDENTIALS')
      fail = 'ok'
      const [[r]] = await p.query('SELECT 7 AS x')
      expect(r.x).toBe(7)
      expect(p.stats().errors.ERR_CREDENTIALS).toBe(3)
    } finally {
      await p.end()
    }
  })

  it('a wrong token is the server refusing, as with a static password', async () => {
    const p = createPool({ ...base(), user: USER, password: () => 'not-the-token', circuitBreakerThreshold: 0 })
    try {
      const e = await rejectionOf(p.query('SELECT 1'))
      expect(e.code).toBe('ER_ACCESS_DENIED_ERROR')
      expect(e.message).not.toContain('not-the-token')
    } finally {
      await p.end()
    }
  })

  it('functions cannot be combined with shared: true, and must be strings or functions', () => {
    expect(() => createPool({ ...base(), user: USER, password: () => 'x', shared: true, name: 'cred-shared' })).toThrow(
      expect.objectContaining({ code: 'ERR_UNSUPPORTED_OPTION' }),
    )
    expect(() => createPool({ ...base(), password: 42 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_POOL_OPTION' }))
  })
})
