// Pipelining (src/pipeline.rs): when every connection is busy, a connection
// that comes free takes up to `pipelining` waiting pool query()s and
// execute()s, writes them all and reads their answers in order. Each answer must still be its
// own command's, a server error must answer only its command, a connection
// lost mid-pipeline must settle every command on it, and the queue's order
// (a getConnection() waiting among them) must hold, as without pipelining.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { connOpts, createPool, prng, rejectionOf, settled } from './helpers.mjs'

const srv = inject('mysqlServer')
const conn = connOpts(srv)
const require = (await import('node:module')).createRequire(import.meta.url)
const mysql2 = require('mysql2/promise')

let admin
beforeAll(async () => {
  admin = createPool({ ...conn, connectionLimit: 1, pipelining: 0 })
  await admin.query('CREATE TABLE IF NOT EXISTS pipe_rows (id INT PRIMARY KEY, v VARCHAR(20))')
  // A stored function: the client cannot tell whether it writes.
  await admin.query('CREATE FUNCTION IF NOT EXISTS pipe_echo(x INT) RETURNS INT DETERMINISTIC RETURN x')
  await admin.query('TRUNCATE pipe_rows')
  const rows = Array.from({ length: 500 }, (_, i) => [i + 1, `v${i + 1}`])
  await admin.query('INSERT INTO pipe_rows VALUES ?', [rows])
})
afterAll(() => admin?.end())

// 100 callers x 60 commands on 3 connections: rows through execute() and
// query(), a prepare-time error, an execution-time error, a syntax error
// through query() and an insert, in a seeded order.
async function mixed(pool) {
  const rnd = prng(20261207)
  const plan = Array.from({ length: 100 }, () => Array.from({ length: 60 }, () => [rnd.int(10), 1 + rnd.int(500)]))
  const tally = { rows: 0, textRows: 0, noTable: 0, subquery: 0, syntax: 0, inserts: 0, wrong: [] }
  await Promise.all(
    plan.map(async (steps) => {
      for (const [kind, k] of steps) {
        if (kind === 0) {
          const err = await rejectionOf(pool.execute('SELECT v FROM pipe_no_such_table WHERE id = ?', [k]))
          if (err.code === 'ER_NO_SUCH_TABLE') tally.noTable++
          else tally.wrong.push(['noTable', k, err.code])
        } else if (kind === 1) {
          // Prepares fine, fails while it runs.
          const sql = 'SELECT v FROM pipe_rows WHERE id = (SELECT id FROM pipe_rows WHERE id IN (?, ?))'
          const err = await rejectionOf(pool.execute(sql, [k, (k % 500) + 1]))
          if (err.code === 'ER_SUBQUERY_NO_1_ROW') tally.subquery++
          else tally.wrong.push(['subquery', k, err.code])
        } else if (kind === 2) {
          const [h] = await pool.execute('INSERT INTO pipe_log (k) VALUES (?)', [k])
          const [[row]] = await pool.execute('SELECT k FROM pipe_log WHERE id = ?', [h.insertId])
          if (h.affectedRows === 1 && row?.k === k) tally.inserts++
          else tally.wrong.push(['insert', k, h, row])
        } else if (kind === 3) {
          const err = await rejectionOf(pool.query('SELEC v FROM pipe_rows WHERE id = ?', [k]))
          if (err.code === 'ER_PARSE_ERROR') tally.syntax++
          else tally.wrong.push(['syntax', k, err.code])
        } else if (kind < 7) {
          const [rows] = await pool.query('SELECT id, v, ? AS echo FROM pipe_rows WHERE id = ?', [`e${k}`, k])
          if (rows.length === 1 && rows[0].id === k && rows[0].v === `v${k}` && rows[0].echo === `e${k}`) tally.textRows++
          else tally.wrong.push(['text row', k, rows])
        } else {
          const [rows] = await pool.execute('SELECT id, v, ? AS echo FROM pipe_rows WHERE id = ?', [`e${k}`, k])
          if (rows.length === 1 && rows[0].id === k && rows[0].v === `v${k}` && rows[0].echo === `e${k}`) tally.rows++
          else tally.wrong.push(['row', k, rows])
        }
      }
    }),
  )
  return tally
}

describe('pipelining', () => {
  beforeAll(async () => {
    await admin.query('CREATE TABLE IF NOT EXISTS pipe_log (id INT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL)')
  })

  it('every answer is its own command’s, errors included; with pipelining off or reads only, the same answers', async () => {
    const configs = { writes: { pipelining: 8, pipelineWrites: true }, reads: {}, off: { pipelining: 0 } }
    const results = {}
    for (const [name, opts] of Object.entries(configs)) {
      const pool = createPool({ ...conn, connectionLimit: 3, ...opts })
      try {
        const tally = await mixed(pool)
        await settled(pool)
        const { counters, counts } = pool.stats()
        results[name] = { tally, counters, counts }
      } finally {
        await pool.end()
      }
    }
    const { writes, reads, off } = results
    for (const r of [writes, reads, off]) expect(r.tally.wrong).toEqual([])
    // The same seeded plan: the same outcomes.
    expect(writes.tally).toEqual(off.tally)
    expect(reads.tally).toEqual(off.tally)
    const t = writes.tally
    expect(t.rows + t.textRows + t.noTable + t.subquery + t.syntax + t.inserts).toBe(6000)
    for (const n of [t.noTable, t.subquery, t.syntax, t.inserts]) expect(n).toBeGreaterThan(400)
    expect(t.textRows).toBeGreaterThan(1500)
    // Commands really rode (100 callers on 3 connections), and none without it;
    // by default only the SELECTs (about 70% of the plan), so fewer.
    expect(writes.counters.pipelined).toBeGreaterThan(1000)
    expect(reads.counters.pipelined).toBeGreaterThan(500)
    expect(reads.counters.pipelined).toBeLessThan(writes.counters.pipelined)
    expect(off.counters.pipelined).toBe(0)
    for (const r of [writes, reads, off]) {
      expect(r.counters.acquired).toBe(r.counters.released)
      expect(r.counts).toMatchObject({ active: 0, waiting: 0, total: 3 })
    }
  })

  // One connection: 12 execute()s queue behind a held one, each taking
  // 100 ms on the server; the connection is killed right after the first
  // queued one answers. Resolves to each queued command's outcome.
  const killedMidway = async (pool, adminQuery, sql = 'SELECT SLEEP(0.1) AS s, ? AS i') => {
    const [[{ id }]] = await pool.execute('SELECT CONNECTION_ID() AS id')
    const held = pool.execute('SELECT SLEEP(0.05) AS s')
    await new Promise((r) => setTimeout(r, 20))
    const queued = Array.from({ length: 12 }, (_, i) =>
      pool.execute(sql, [i]).then(
        ([[row]]) => ({ ok: row.i }),
        (e) => ({ code: e.code, fatal: e.fatal }),
      ),
    )
    // With pipelining: inside the first pipeline, right after its first
    // answer, with seven more (~700 ms of them) written behind it.
    await queued[0]
    await adminQuery(`KILL ${id}`)
    const outcomes = await Promise.all(queued)
    await held
    return outcomes
  }

  it('a connection killed mid-pipeline (pipelineWrites): every command on it settles, the rest run, the pool goes on', async () => {
    const pool = createPool({ ...conn, connectionLimit: 1, pipelining: 8, pipelineWrites: true })
    try {
      // A stored function may write: what was written with it is not run again.
      const outcomes = await killedMidway(pool, (sql) => admin.query(sql), 'SELECT SLEEP(0.1) AS s, pipe_echo(?) AS i')
      const ok = outcomes.filter((o) => 'ok' in o)
      const lost = outcomes.filter((o) => 'code' in o)
      // Answers that came before the kill are right; the rest fail as lost.
      for (const o of ok) expect(typeof o.ok).toBe('number')
      expect(ok.length).toBeGreaterThan(0)
      expect(lost.length).toBeGreaterThan(1)
      for (const o of lost) expect(o).toEqual({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true })
      // A pipeline answers in order: every command after the first lost one is lost.
      const firstLost = outcomes.findIndex((o) => 'code' in o)
      expect(outcomes.slice(firstLost).every((o) => 'code' in o || o.ok >= 8)).toBe(true)
      expect((await pool.execute('SELECT 7 AS n'))[0][0].n).toBe(7)
      await settled(pool)
      const { counters } = pool.stats()
      expect(counters.acquired).toBe(counters.released)
      expect(counters.pipelined).toBeGreaterThan(0)
    } finally {
      await pool.end()
    }
  })

  it('a connection killed mid-pipeline (the default): only the SELECT it was running fails, as in mysql2; the ones behind it run again', async () => {
    const pool = createPool({ ...conn, connectionLimit: 1 })
    let ours
    let counters
    try {
      ours = await killedMidway(pool, (sql) => admin.query(sql))
      expect((await pool.execute('SELECT 7 AS n'))[0][0].n).toBe(7)
      await settled(pool)
      counters = pool.stats().counters
    } finally {
      await pool.end()
    }
    const theirs = mysql2.createPool({ ...conn, connectionLimit: 1 })
    let mysql2Outcomes
    try {
      mysql2Outcomes = await killedMidway(theirs, (sql) => admin.query(sql))
    } finally {
      await theirs.end()
    }
    // The second queued command was running when the kill came: it alone
    // fails; the six written behind it go back to the queue and answer.
    const expected = Array.from({ length: 12 }, (_, i) => (i === 1 ? 'lost' : i))
    expect(ours.map((o) => ('ok' in o ? o.ok : 'lost'))).toEqual(expected)
    expect(mysql2Outcomes.map((o) => ('ok' in o ? o.ok : 'lost'))).toEqual(expected)
    expect(ours[1]).toEqual({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true })
    expect(counters.pipelined).toBeGreaterThan(6)
    expect(counters.retried).toBe(6)
    expect(counters.acquired).toBe(counters.released)
  })

  // One connection held; queued: execute A, getConnection G, execute B.
  // Order served: A, G, B (B does not ride ahead of G), as mysql2 serves them.
  const servedOrder = async (make) => {
    const one = make({ ...conn, connectionLimit: 1 })
    try {
      await one.execute('SELECT 1')
      const held = one.execute('SELECT SLEEP(0.1)')
      await new Promise((r) => setTimeout(r, 10))
      const order = []
      const a = one.execute('SELECT 1').then(() => order.push('A'))
      const g = one.getConnection().then((lent) => {
        order.push('G')
        setTimeout(() => lent.release(), 30)
      })
      const b = one.execute('SELECT 2').then(() => order.push('B'))
      await Promise.all([held, a, g, b])
      return order
    } finally {
      await one.end()
    }
  }

  it('a getConnection() queued among execute()s keeps its place, as in mysql2', async () => {
    const ours = await servedOrder((o) => createPool({ ...o, pipelining: 8 }))
    const theirs = await servedOrder(mysql2.createPool)
    expect(ours).toEqual(['A', 'G', 'B'])
    expect(ours).toEqual(theirs)
  })

  it('commands that need a connection of their own never ride', async () => {
    const riders = async (opts, make) => {
      const pool = createPool({ ...conn, connectionLimit: 1, pipelining: 8, ...opts })
      try {
        const held = pool.execute('SELECT SLEEP(0.1)')
        await new Promise((r) => setTimeout(r, 10))
        const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => make(pool, i)))
        await held
        return { values: answers.map(([rows]) => (Array.isArray(rows[0]) ? rows[0][0] : rows[0])), pipelined: pool.stats().counters.pipelined }
      } finally {
        await pool.end()
      }
    }
    const i6 = [0, 1, 2, 3, 4, 5]
    const cases = {
      // The control: these do ride.
      plain: await riders({}, (p, i) => p.query('SELECT ? AS i', [i])),
      storedFunctionWrites: await riders({ pipelineWrites: true }, (p, i) => p.query('SELECT pipe_echo(?) AS i', [i])),
      storedFunction: await riders({}, (p, i) => p.query('SELECT pipe_echo(?) AS i', [i])),
      insert: await riders({}, (p, i) => p.query('INSERT INTO pipe_log (k) VALUES (?)', [i]).then(() => [[{ i }]])),
      timeout: await riders({}, (p, i) => p.execute({ sql: 'SELECT ? AS i', timeout: 5000 }, [i])),
      bigValue: await riders({}, (p, i) => p.execute('SELECT ? AS i, ? AS big', [i, 'x'.repeat(70_000)])),
      loadWord: await riders({}, (p, i) => p.query("SELECT ? AS i, 'load' AS w", [i])),
      charsetWord: await riders({}, (p, i) => p.execute('SELECT ? AS i /* SET NAMES */', [i])),
      multi: await riders({ multipleStatements: true }, (p, i) => p.query('SELECT ? AS i', [i])),
      resetAuto: await riders({ resetOnRelease: 'auto' }, (p, i) => p.query('SELECT ? AS i', [i])),
    }
    for (const [name, c] of Object.entries(cases)) {
      expect(
        c.values.map((r) => r.i),
        name,
      ).toEqual(i6)
      if (name === 'plain' || name === 'storedFunctionWrites') expect(c.pipelined, name).toBeGreaterThan(0)
      else expect(c.pipelined, name).toBe(0)
    }
    expect(cases.bigValue.values[0].big).toHaveLength(70_000)
  })
})
