// execute() SQL texts cross the boundary by number once native code has seen
// them (lib/transport.js _sql, src/boundary.rs SqlTexts; query() texts always
// cross whole, they usually carry their values): repeated statements,
// renumbering when the table is full (also in the middle of one batch),
// texts too long to keep, and a malformed batch must all still run the SQL
// the caller wrote.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { baseOptions, createSutPool } from './diff-helpers.mjs'

const srv = inject('mysqlServer')
const wire = (await import('../../lib/wire.js')).default

describe('SQL texts by number', () => {
  let pool
  beforeAll(() => {
    pool = createSutPool(baseOptions(srv, { connectionLimit: 4 }))
  })
  afterAll(() => pool.end())

  it('uses the limits src/wire.rs defines, and stats() counts the texts kept', async () => {
    expect(wire.SUB.SQL_SLOTS).toBe(512)
    expect(wire.SUB.SQL_KEEP_MAX).toBe(4096)
    expect(wire.SUB.WIDTH).toBe(12)
    // All-number execute() values ride in the row: its slots fit the width.
    expect(wire.SUB.INLINE_MAX).toBe(4)
    expect(wire.SUB.PARAM0 + wire.SUB.INLINE_MAX).toBeLessThanOrEqual(wire.SUB.WIDTH)
    expect(wire.SUB.NPARAMS).toBeLessThan(wire.SUB.PARAM0)
    expect(pool.stats().caches).toMatchObject({ sqlTexts: 0, sqlTextsCapacity: 512 })
    await pool.execute('SELECT ? AS a', [1])
    await pool.execute('SELECT ? AS a', [2])
    await pool.execute('SELECT ? AS b', [3])
    await pool.query('SELECT 4 AS c')
    // Two execute() texts; query() texts are never kept.
    expect(pool.stats().caches.sqlTexts).toBe(2)
  })

  it('renumbers when full, in one batch, and every query runs its own text', async () => {
    const n = wire.SUB.SQL_SLOTS * 2 + 37
    // All in one microtask: one submit() that fills the table twice over;
    // every 7th repeats an earlier text (named by number or renumbered).
    const jobs = []
    for (let i = 0; i < n; i++) {
      const v = i % 7 === 6 ? i - 5 : i
      jobs.push(
        pool.execute(`SELECT ? + ${v} AS v`, [1]).then(([rows]) => [v + 1, rows[0].v]),
        pool.query(`SELECT ${v} AS v`).then(([rows]) => [v, rows[0].v]),
        pool.execute(`SELECT ? - ${v} AS v`, [1]).then(([rows]) => [1 - v, rows[0].v]),
      )
    }
    const got = await Promise.all(jobs)
    expect(got.length).toBe(3 * n)
    expect(got.filter(([want, have]) => want !== have)).toEqual([])
    // Bounded: renumbering reuses the numbers (and drops what they held).
    const kept = pool.stats().caches.sqlTexts
    expect(kept).toBeGreaterThan(0)
    expect(kept).toBeLessThanOrEqual(512)
    // And again, now that the numbers have wrapped.
    for (const v of [0, 1, 511, 512, 1000, n - 1]) {
      const [[row]] = await pool.execute(`SELECT ? + ${v} AS v`, [2])
      expect(row.v).toBe(v + 2)
    }
  })

  it('sends texts longer than the kept limit every time', async () => {
    const pad = ' '.repeat(wire.SUB.SQL_KEEP_MAX + 10)
    for (const v of [1, 2, 3]) {
      const [[row]] = await pool.query(`SELECT ${v} AS v${pad}`)
      expect(row.v).toBe(v)
      const [[row2]] = await pool.execute(`SELECT ? AS v${pad}`, [v])
      expect(row2.v).toBe(v)
    }
  })

  it('a rejected command leaves later statements correct', async () => {
    // prepare() turns every value a caller can pass into one native code
    // reads; a parameter it cannot read reaches submit() only past it.
    const q = { sql: 'SELECT ? AS v', params: [Symbol('x')], flags: 0, shape: {}, typeCast: undefined, timeout: 0, timezone: 'local' }
    const bad = pool._transport.send(0, q, true)
    await expect(bad).rejects.toMatchObject({ code: 'ERR_INVALID_PARAMETER' })
    const [[row]] = await pool.execute('SELECT ? AS v', [7])
    expect(row.v).toBe(7)
  })
})
