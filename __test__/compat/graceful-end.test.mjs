// conn.end() on a lent connection, differential against mysql2: without
// gracefulEnd it releases the connection with mysql2's deprecation warning;
// with gracefulEnd: true it closes the connection and takes it out of the
// pool (and the server thread goes away).
import { describe, expect, inject, it, vi } from 'vitest'
import { baseOptions, createRefPool, createSutPool, mysql2 } from './diff-helpers.mjs'

const srv = inject('mysqlServer')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function threadAlive(id) {
  const c = await mysql2.createConnection(baseOptions(srv))
  try {
    const [rows] = await c.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?', [id])
    return rows[0].n === 1
  } finally {
    await c.end()
  }
}

async function scenario(make, gracefulEnd) {
  const pool = make(baseOptions(srv, { connectionLimit: 2, gracefulEnd }))
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
  try {
    const conn = await pool.getConnection()
    const id = conn.threadId
    const warned = []
    conn.connection.on('warn', (e) => warned.push(e.message))
    await conn.end()
    // mysql2 updates its lists at once; give the close a moment to reach the server.
    const free = pool.pool._freeConnections.length
    let all = pool.pool._allConnections.length
    for (let i = 0; i < 50 && gracefulEnd && (await threadAlive(id)); i++) await sleep(20)
    all = Math.min(all, pool.pool._allConnections.length)
    const [[row]] = await pool.query('SELECT CONNECTION_ID() AS id')
    return {
      free,
      all,
      warned,
      consoleWarned: warn.mock.calls.map((c) => String(c[0])),
      alive: await threadAlive(id),
      reused: row.id === id,
    }
  } finally {
    warn.mockRestore()
    await pool.end()
  }
}

describe('conn.end() on a lent connection (vs mysql2)', () => {
  it.each([false, true])('gracefulEnd: %s', async (gracefulEnd) => {
    const ref = await scenario(createRefPool, gracefulEnd)
    const sut = await scenario(createSutPool, gracefulEnd)
    expect(sut).toEqual(ref)
    if (gracefulEnd) expect(sut).toMatchObject({ all: 0, alive: false, reused: false, warned: [] })
    else expect(sut).toMatchObject({ free: 1, alive: true, reused: true, warned: [expect.stringContaining('deprecated')] })
  })
})
