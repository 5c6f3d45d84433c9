// conn.connection.query(...).stream(): the path Drizzle's iterator takes.
// Rows must equal mysql2's, arrive while the query still runs, and reading
// must pause (server-side too) while the consumer does not read.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createRequire } from 'node:module'
import { createHash } from 'node:crypto'

const require = createRequire(import.meta.url)
const { createPool } = require('../../lib/index.js')
const mysql2 = require('mysql2/promise')

const srv = inject('mysqlServer')
const base = { host: srv.host, port: srv.port, user: srv.user, password: srv.password, database: srv.database }
const ROWS = 30000
const PAD = 1000 // bytes per row: 30 MB in all, more than socket buffers hold

let ref
let ours

beforeAll(async () => {
  ref = mysql2.createPool({ ...base, connectionLimit: 2 })
  ours = createPool({ ...base, connectionLimit: 2 })
  await ref.query('DROP TABLE IF EXISTS st_big')
  await ref.query('CREATE TABLE st_big (id INT PRIMARY KEY, n BIGINT, pad VARCHAR(1000), at DATETIME)')
  await ref.query(`INSERT INTO st_big SELECT seq, seq * 1000003, REPEAT(CHAR(65 + seq % 26), ${PAD}), '2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_${ROWS}`)
})

afterAll(async () => {
  await Promise.allSettled([ref?.end(), ours?.end()])
})

const SQL = 'SELECT * FROM st_big ORDER BY id'

/** Streams SQL on a lent connection; `each(row, i)` may return a promise. */
async function streamRows(pool, each = () => {}) {
  const conn = await pool.getConnection()
  try {
    let i = 0
    for await (const row of conn.connection.query(SQL).stream()) {
      const r = each(row, i++)
      if (r === false) break
      if (r && typeof r.then === 'function') await r
    }
    return i
  } finally {
    conn.release()
  }
}

const digest = async (pool) => {
  const h = createHash('sha256')
  const n = await streamRows(pool, (row) => {
    h.update(JSON.stringify(row))
  })
  return { n, hash: h.digest('hex') }
}

describe('stream()', () => {
  it('yields the same rows as mysql2, in order', async () => {
    const [a, b] = [await digest(ref), await digest(ours)]
    expect(b).toEqual(a)
    expect(a.n).toBe(ROWS)
  })

  it('rows arrive while the query still runs, and the server waits while the consumer pauses', async () => {
    const states = []
    const threadOf = async () => {
      const [rows] = await ref.query('SELECT ID AS id, COMMAND AS cmd FROM information_schema.PROCESSLIST WHERE INFO = ?', [SQL])
      return rows
    }
    const n = await streamRows(ours, async (row, i) => {
      if (i === 0 || i === 5000) {
        // the consumer stalls; a buffered result would be complete by now
        await new Promise((r) => setTimeout(r, 300))
        states.push((await threadOf()).length)
      }
    })
    expect(n).toBe(ROWS)
    // the statement was still executing on the server at both pauses
    expect(states).toEqual([1, 1])
    // and it is gone once the stream ended
    expect(await threadOf()).toEqual([])
  })

  it('breaking out early: the rest is drained, the connection is clean and reusable', async () => {
    const n = await streamRows(ours, (row, i) => (i === 10 ? false : undefined))
    expect(n).toBe(11)
    // every connection of the pool answers correctly afterwards
    const results = await Promise.all([1, 2, 3, 4].map((k) => ours.query('SELECT ? AS k', [k])))
    expect(results.map(([rows]) => rows[0].k)).toEqual([1, 2, 3, 4])
    const conn = await ours.getConnection()
    try {
      const [[row]] = await conn.query('SELECT COUNT(*) AS c FROM st_big')
      expect(row.c).toBe(ROWS)
    } finally {
      conn.release()
    }
  })

  it("'fields', 'result' and 'end' events, like mysql2's core query", async () => {
    const events = async (pool) => {
      const conn = await pool.getConnection()
      try {
        return await new Promise((resolve, reject) => {
          const seen = { fields: 0, result: 0, names: null }
          const q = conn.connection.query('SELECT id, n FROM st_big WHERE id <= 5000 ORDER BY id')
          q.on('fields', (f) => {
            seen.fields++
            seen.names = f.map((x) => x.name)
          })
          q.on('result', () => seen.result++)
          q.on('error', reject)
          q.on('end', () => resolve(seen))
          q.stream().resume()
        })
      } finally {
        conn.release()
      }
    }
    const [a, b] = [await events(ref), await events(ours)]
    expect(b).toEqual(a)
    expect(a).toEqual({ fields: 1, result: 5000, names: ['id', 'n'] })
  })

  it('a server error ends the stream with that error', async () => {
    const fail = async (pool) => {
      const conn = await pool.getConnection()
      try {
        const rows = []
        for await (const row of conn.connection.query('SELECT * FROM st_no_such_table').stream()) rows.push(row)
        return rows
      } catch (e) {
        return { code: e.code, errno: e.errno }
      } finally {
        conn.release()
      }
    }
    const [a, b] = [await fail(ref), await fail(ours)]
    expect(b).toEqual(a)
    expect(a.code).toBe('ER_NO_SUCH_TABLE')
  })

  it("a throwing 'result' listener fails the stream and the query, and the connection stays usable", async () => {
    const conn = await ours.getConnection()
    try {
      const q = conn.connection.query(SQL)
      let seen = 0
      q.on('result', () => {
        if (++seen === 3000) throw new Error('listener failed')
      })
      const s = q.stream()
      const streamErr = await new Promise((resolve) => {
        s.on('error', resolve)
        s.resume()
      })
      expect(streamErr.message).toBe('listener failed')
      await expect(q.then(() => null)).rejects.toThrow('listener failed')
      const [[row]] = await conn.query('SELECT COUNT(*) AS c FROM st_big')
      expect(row.c).toBe(ROWS)
    } finally {
      conn.release()
    }
  })

  // end() stops pausing the stream: within endTimeout the rest is read (the
  // stream then ends whole once resumed); past it the command is cut off and
  // the stream fails with POOL_CLOSED. Which one happens depends on the
  // machine's speed, so both are accepted, each checked in full; the stream
  // must settle either way and never end short.
  it('end() while a stream is paused does not hang: the stream ends whole or fails with POOL_CLOSED', async () => {
    const p = createPool({ ...base, connectionLimit: 1, endTimeout: 200 })
    const conn = await p.getConnection()
    const s = conn.connection.query(SQL).stream()
    let n = 0
    let last = 0
    let outOfOrder = 0
    const first = new Promise((resolve) =>
      s.on('data', (row) => {
        n++
        if (row.id !== last + 1) outOfOrder++
        last = row.id
        if (n === 1) {
          s.pause()
          resolve()
        }
      }),
    )
    const settled = new Promise((resolve) => {
      s.once('error', (err) => resolve({ err }))
      s.once('end', () => resolve({ err: null }))
    })
    await first
    await p.end()
    s.resume()
    const { err } = await settled
    expect(outOfOrder).toBe(0)
    if (err === null) expect(n).toBe(ROWS)
    else {
      expect(err.code).toBe('POOL_CLOSED')
      expect(n).toBeLessThan(ROWS)
    }
  })
})
