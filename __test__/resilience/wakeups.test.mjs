// The runtime worker wakes JS once it runs out of work, not per answer
// (src/completions.rs, "wake-ups put off"). A wake-up that never goes out
// leaves a promise unsettled, so every test here counts what settled and
// checks its value: one query at a time (the worker parks after each), bursts
// past the bound of answers held back, and two pools whose answers wait on
// the same worker while it converts a large result.
import { describe, it, expect, beforeAll, afterAll, inject } from 'vitest'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { createPool } = require('../../lib/index.js')

const srv = inject('mysqlServer')
const base = { host: srv.host, port: srv.port, user: srv.user, password: srv.password, database: srv.database }

let a
let b
beforeAll(() => {
  a = createPool({ ...base, connectionLimit: 4 })
  b = createPool({ ...base, connectionLimit: 20 })
})
afterAll(async () => {
  await Promise.all([a.end(), b.end()])
})

describe('JS hears of every answer', () => {
  it('one query at a time: 300 in a row each settle with their own value', async () => {
    for (let i = 0; i < 300; i++) {
      const [rows] = await (i % 2 ? a.query('SELECT ? AS v', [i]) : a.execute('SELECT ? AS v', [i]))
      expect(rows[0].v).toBe(i)
    }
  })

  it('a burst of 500 answers, far past the 32 held back at most, all settle in order of their values', async () => {
    const n = 500
    const got = await Promise.all(Array.from({ length: n }, (_, i) => b.query('SELECT ? AS v', [i]).then(([r]) => r[0].v)))
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i))
    const c = b.stats().counts
    expect(c.waiting).toBe(0)
    expect(c.active).toBe(0)
  })

  it("two pools' answers arrive while the worker converts a 100,000-row result", async () => {
    const big = a.query('SELECT seq, CONCAT("row-", seq) AS s FROM seq_1_to_100000')
    const small = []
    for (let round = 0; round < 10; round++) {
      small.push(...(await Promise.all(Array.from({ length: 30 }, (_, i) => b.execute('SELECT ? + 1 AS v', [round * 30 + i]).then(([r]) => r[0].v)))))
    }
    const [rows] = await big
    expect(rows.length).toBe(100_000)
    expect(rows[99_999]).toEqual({ seq: 100_000, s: 'row-100000' })
    expect(small).toEqual(Array.from({ length: 300 }, (_, i) => i + 1))
  })

  it('a streamed result, paused and resumed, ends while the other pool keeps answering', async () => {
    const conn = await a.getConnection()
    try {
      let count = 0
      let sum = 0
      const done = new Promise((resolve, reject) => {
        const s = conn.connection.query('SELECT seq FROM seq_1_to_20000').stream()
        s.on('data', (row) => {
          count++
          sum += row.seq
          if (count % 5000 === 0) {
            s.pause()
            b.query('SELECT 1 AS one').then(([r]) => {
              expect(r[0].one).toBe(1)
              s.resume()
            }, reject)
          }
        })
        s.on('end', resolve)
        s.on('error', reject)
      })
      await done
      expect(count).toBe(20_000)
      expect(sum).toBe((20_000 * 20_001) / 2)
    } finally {
      conn.release()
    }
  })
})
