// pool.batch() / conn.batch() (lib/batch.js, README "Bulk writes"): one
// parameterised INSERT/REPLACE/UPDATE/DELETE and an array of rows, in few
// round trips. What a batch leaves in a table is compared with what a loop
// of mysql2 execute() leaves; its ResultSetHeader with the mariadb
// connector's batch() on the same data (and with mysql2's header of one
// multi-row INSERT). Round trips are counted with the server's Com_*
// counters.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { createPool, ResultSetHeader } = require('../../lib/index.js')
const mysql2 = require('mysql2/promise')
const mariadb = require('mariadb')

const srv = inject('mysqlServer')
const base = { host: srv.host, port: srv.port, user: srv.user, password: srv.password, database: srv.database }

let ours
let ref // mysql2
let mdb // mariadb

beforeAll(async () => {
  ours = createPool({ ...base, connectionLimit: 4 })
  ref = mysql2.createPool({ ...base, connectionLimit: 2 })
  // Numbers as numbers, as mysql2 gives them.
  mdb = mariadb.createPool({ ...base, connectionLimit: 2, insertIdAsNumber: true, bigIntAsNumber: true })
})

// mariadb 3.5's batch() sums into one OkPacket with fullResult: false; by
// default it returns one OkPacket per bulk sub-command when value types vary.
const mdbBatch = (sql, rows) => mdb.batch({ sql, fullResult: false }, rows)

afterAll(async () => {
  await Promise.allSettled([ours?.end(), ref?.end(), mdb?.end()])
})

const COLUMNS = `id INT AUTO_INCREMENT PRIMARY KEY, n INT NOT NULL, s VARCHAR(255) NULL, d DATETIME(3) NULL,
  b VARBINARY(64) NULL, f DOUBLE NULL, big BIGINT NULL, flag TINYINT NULL, j TEXT NULL`
const INSERT = (t) => `INSERT INTO ${t} (n, s, d, b, f, big, flag, j) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

async function table(name, columns = COLUMNS) {
  await ref.query(`DROP TABLE IF EXISTS ${name}`)
  await ref.query(`CREATE TABLE ${name} (${columns}) DEFAULT CHARSET=utf8mb4`)
  return name
}

// Quotes, backslashes, NUL, newlines, placeholders and comment openers
// inside values, 2-, 3- and 4-byte characters, NULLs, Dates with
// milliseconds, Buffers with quote and backslash bytes, JSON, BigInt.
function row(i) {
  return [
    i,
    i % 11 === 0 ? null : `it's "${i}" \\ back\\slash ? :n -- /* é€😀 */\n\t\0 #${i}`,
    i % 13 === 0 ? null : new Date(2024, i % 12, 1 + (i % 28), i % 24, i % 60, (i * 7) % 60, i % 1000),
    i % 17 === 0 ? null : Buffer.from([i & 255, 0, 39, 92, 34, 255, (i >> 8) & 255]),
    i % 5 === 0 ? i : i / 8,
    BigInt(2 ** 53) + BigInt(i),
    i % 2 === 0,
    i % 19 === 0 ? null : { i, s: `x'y\\${i}`, list: [1, 'two', null] },
  ]
}
const rowsOf = (n) => Array.from({ length: n }, (_, i) => row(i))

/** A loop of mysql2 execute() in one transaction, as a mysql2 user writes a batch. */
async function mysql2Loop(sql, rows) {
  const conn = await ref.getConnection()
  try {
    await conn.beginTransaction()
    const headers = []
    for (const r of rows) headers.push((await conn.execute(sql, r))[0])
    await conn.commit()
    return headers
  } finally {
    conn.release()
  }
}

async function contents(t) {
  const [rows] = await ref.query(`SELECT * FROM ${t} ORDER BY id`)
  return rows
}

async function count(t) {
  const [[r]] = await ref.query(`SELECT COUNT(*) AS c FROM ${t}`)
  return r.c
}

const COUNTERS = ['Com_insert', 'Com_update', 'Com_begin', 'Com_commit', 'Com_rollback', 'Com_stmt_execute', 'Com_do']

/** Com_* counters of one session (a lent connection) or of the server (a pool). */
async function counters(via, scope) {
  const [rows] = await via.query(`SHOW ${scope} STATUS WHERE Variable_name IN (${COUNTERS.map((c) => `'${c}'`).join(', ')})`)
  return Object.fromEntries(rows.map((r) => [r.Variable_name, Number(r.Value)]))
}
const delta = (a, b) => Object.fromEntries(COUNTERS.map((c) => [c, b[c] - a[c]]))

describe('INSERT batches: same rows as a mysql2 execute() loop, same header as mariadb batch()', () => {
  for (const n of [100, 10_000]) {
    it(`${n.toLocaleString('en-US')} rows`, async () => {
      const rows = rowsOf(n)
      const [t1, t2, t3, t4] = await Promise.all(['bt_ours', 'bt_loop', 'bt_mdb', 'bt_multi'].map((t) => table(`${t}_${n}`)))
      const header = await ours.batch(INSERT(t1), rows)
      const loop = await mysql2Loop(INSERT(t2), rows)
      const theirs = await mdbBatch(INSERT(t3), rows)

      expect(await contents(t1)).toEqual(await contents(t2))
      expect(await count(t1)).toBe(n)
      // mariadb: summed affectedRows, the first insertId, warnings
      expect({ affectedRows: header.affectedRows, insertId: header.insertId, warningStatus: header.warningStatus }).toEqual({
        affectedRows: theirs.affectedRows,
        insertId: theirs.insertId,
        warningStatus: theirs.warningStatus,
      })
      expect(header.affectedRows).toBe(n)
      expect(header.insertId).toBe(loop[0].insertId)
      // the shape of one multi-row INSERT's header (mysql2 sending all rows in one statement)
      const [single] = await ref.query(`INSERT INTO ${t4} (n, s, d, b, f, big, flag, j) VALUES ?`, [rows.map((r) => r.map(jsonLike))])
      expect(header).toBeInstanceOf(ResultSetHeader)
      expect(Object.keys(header)).toEqual(Object.keys(single))
      expect({ ...header }).toEqual({ ...single })
      expect(header.info).toBe(`Records: ${n}  Duplicates: 0  Warnings: 0`)
    })
  }

  it('the same through conn.batch() and with named placeholders', async () => {
    const rows = rowsOf(300)
    const [t1, t2] = await Promise.all([table('bt_conn'), table('bt_named')])
    const conn = await ours.getConnection()
    try {
      const h = await conn.batch(INSERT(t1), rows)
      expect(h.affectedRows).toBe(300)
    } finally {
      conn.release()
    }
    const names = ['n', 's', 'd', 'b', 'f', 'big', 'flag', 'j']
    const named = rows.map((r) => Object.fromEntries(names.map((k, i) => [k, r[i]])))
    const h = await ours.batch(
      { sql: `INSERT INTO ${t2} (n, s, d, b, f, big, flag, j) VALUES (:n, :s, :d, :b, :f, :big, :flag, :j)`, namedPlaceholders: true },
      named,
    )
    expect(h.affectedRows).toBe(300)
    const a = await contents(t1)
    expect(await contents(t2)).toEqual(a)
    expect(a[1].s).toBe(rows[1][1])
    expect(a[1].b).toEqual(rows[1][3])
    expect(a[1].d).toEqual(rows[1][2])
    expect(JSON.parse(a[1].j)).toEqual(rows[1][7])
  })

  it('ON DUPLICATE KEY UPDATE stays once at the end; counts equal mariadb batch()', async () => {
    const cols = 'id INT PRIMARY KEY, n INT NOT NULL, s VARCHAR(50)'
    const [t1, t2, t3] = await Promise.all([table('bt_odku_ours', cols), table('bt_odku_loop', cols), table('bt_odku_mdb', cols)])
    for (const t of [t1, t2, t3]) await ref.query(`INSERT INTO ${t} VALUES (2, 0, 'old'), (5, 0, 'old'), (7, 7, 'same')`)
    const sql = (t) => `INSERT INTO ${t} (id, n, s) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE n = VALUES(n) + 1000, s = CONCAT(s, '+')`
    const rows = Array.from({ length: 10 }, (_, i) => [i, i, `new ${i}`])
    rows.push([7, -993, 'x']) // id 7 again: n stays 7, s changes
    const h = await ours.batch(sql(t1), rows)
    await mysql2Loop(sql(t2), rows)
    const theirs = await mdbBatch(sql(t3), rows)
    expect(await contents(t1)).toEqual(await contents(t2))
    expect(h.affectedRows).toBe(theirs.affectedRows)
    expect(h.affectedRows).toBe(7 + 2 * 4) // 7 inserted, 4 updates (2 each)
  })
})

describe('round trips', () => {
  it('100 rows through pool.batch: one INSERT statement, no transaction', async () => {
    const t = await table('bt_rt100')
    await ours.batch(INSERT(t), rowsOf(1)) // reads max_allowed_packet once per pool
    const a = await counters(ref, 'GLOBAL')
    await ours.batch(INSERT(t), rowsOf(100))
    const d = delta(a, await counters(ref, 'GLOBAL'))
    expect(d).toMatchObject({ Com_insert: 1, Com_begin: 0, Com_commit: 0, Com_stmt_execute: 0 })
  })

  it('10,000 rows through pool.batch: 2 INSERT statements in one transaction', async () => {
    const t = await table('bt_rt10k')
    const a = await counters(ref, 'GLOBAL')
    await ours.batch(INSERT(t), rowsOf(10_000))
    const d = delta(a, await counters(ref, 'GLOBAL'))
    expect(d).toMatchObject({ Com_insert: 2, Com_begin: 1, Com_commit: 1, Com_rollback: 0 })
    expect(await count(t)).toBe(10_000)
  })

  it('10,000 rows through conn.batch on one session: 2 INSERTs, its own transaction', async () => {
    const t = await table('bt_rt10k_conn')
    const conn = await ours.getConnection()
    try {
      const a = await counters(conn, 'SESSION')
      const h = await conn.batch(INSERT(t), rowsOf(10_000))
      const d = delta(a, await counters(conn, 'SESSION'))
      // DO 0 asks whether the session is in a transaction (its status flags)
      expect(d).toEqual({ Com_insert: 2, Com_update: 0, Com_begin: 1, Com_commit: 1, Com_rollback: 0, Com_stmt_execute: 0, Com_do: 1 })
      expect(h.affectedRows).toBe(10_000)
      expect(h.serverStatus & 1).toBe(0) // committed
    } finally {
      conn.release()
    }
  })

  describe('chunks stay under max_allowed_packet (lowered to 1 MiB for a new pool)', () => {
    const LIMIT = 1024 * 1024
    let original
    let small
    beforeAll(async () => {
      const [[r]] = await ref.query('SELECT @@global.max_allowed_packet AS m')
      original = Number(r.m)
      await ref.query(`SET GLOBAL max_allowed_packet = ${LIMIT}`)
      // connections opened from now on get the lower limit
      small = createPool({ ...base, connectionLimit: 1 })
      const [[m]] = await small.query('SELECT @@max_allowed_packet AS m')
      expect(Number(m.m)).toBe(LIMIT)
    })
    afterAll(async () => {
      await small?.end()
      if (original !== undefined) await ref.query(`SET GLOBAL max_allowed_packet = ${original}`)
    })

    it('200 rows of 100 KB: 20-odd statements, every byte arrives', async () => {
      const t = await table('bt_big', 'id INT AUTO_INCREMENT PRIMARY KEY, n INT NOT NULL, body MEDIUMTEXT NOT NULL')
      const rows = Array.from({ length: 200 }, (_, i) => [i, `${i}:${"it's \\ é ".repeat(10)}${'x'.repeat(100_000 - 120)}`])
      const bytes = rows.reduce((s, r) => s + Buffer.byteLength(r[1]), 0)
      const conn = await small.getConnection()
      try {
        const a = await counters(conn, 'SESSION')
        const h = await conn.batch(`INSERT INTO ${t} (n, body) VALUES (?, ?)`, rows)
        const d = delta(a, await counters(conn, 'SESSION'))
        expect(h.affectedRows).toBe(200)
        expect(d.Com_insert).toBeGreaterThanOrEqual(Math.ceil(bytes / LIMIT))
        expect(d.Com_insert).toBeLessThanOrEqual(Math.ceil(bytes / LIMIT) + 3)
        expect(d).toMatchObject({ Com_begin: 1, Com_commit: 1 })
      } finally {
        conn.release()
      }
      const sha = (s) => createHash('sha256').update(s).digest('hex')
      const [got] = await ref.query(`SELECT n, SHA2(body, 256) AS h FROM ${t} ORDER BY id`)
      expect(got).toEqual(rows.map(([n, body]) => ({ n, h: sha(body) })))
    })

    it('a row larger than max_allowed_packet fails the batch; nothing is left, the pool carries on', async () => {
      const t = await table('bt_toobig', 'id INT AUTO_INCREMENT PRIMARY KEY, body LONGTEXT NOT NULL')
      const rows = [['a'], ['b'], ['x'.repeat(2 * LIMIT)], ['c']]
      const err = await small.batch(`INSERT INTO ${t} (body) VALUES (?)`, rows).then(
        () => null,
        (e) => e,
      )
      expect(err).toBeInstanceOf(Error)
      expect(typeof err.code).toBe('string')
      expect(err.sql === undefined || err.sql.length < 100).toBe(true)
      expect(await count(t)).toBe(0)
      const [[one]] = await small.query('SELECT 1 AS one')
      expect(one.one).toBe(1)
    })
  })
})

describe('atomicity', () => {
  it('a failing row rolls back the whole pool.batch (rows in an earlier statement too)', async () => {
    const t = await table('bt_fail', 'id INT PRIMARY KEY, s VARCHAR(20)')
    const rows = Array.from({ length: 10_000 }, (_, i) => [i, `r${i}`])
    rows[9000] = [5, 'dup'] // the second statement repeats a key of the first
    const conns = ours.stats().counts.total
    const err = await ours.batch(`INSERT INTO ${t} (id, s) VALUES (?, ?)`, rows).then(
      () => null,
      (e) => e,
    )
    expect(err?.code).toBe('ER_DUP_ENTRY')
    expect(err.errno).toBe(1062)
    // the caller's statement, not the 100 KB one that failed
    expect(err.sql).toBe(`INSERT INTO ${t} (id, s) VALUES (?, ?)`)
    expect(await count(t)).toBe(0)
    // the connection went back to the pool
    await expect.poll(() => ours.stats().counts.active).toBe(0)
    expect(ours.stats().counts.total).toBeLessThanOrEqual(Math.max(conns, 4))
  })

  it('a failing row of a per-row batch (UPDATE) rolls back every row', async () => {
    const t = await table('bt_upd_fail', 'id INT PRIMARY KEY, u INT UNIQUE, s VARCHAR(20)')
    await ref.query(`INSERT INTO ${t} VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, 'c')`)
    const before = await contents(t)
    const err = await ours
      .batch(`UPDATE ${t} SET s = ?, u = ? WHERE id = ?`, [
        ['x', 10, 1],
        ['y', 10, 2], // duplicate u
        ['z', 30, 3],
      ])
      .then(
        () => null,
        (e) => e,
      )
    expect(err?.code).toBe('ER_DUP_ENTRY')
    expect(await contents(t)).toEqual(before)
  })

  it("conn.batch inside the caller's transaction, then ROLLBACK, leaves nothing", async () => {
    const t = await table('bt_callertx')
    await ref.query(`INSERT INTO ${t} (n) VALUES (1), (2), (3)`)
    const conn = await ours.getConnection()
    try {
      await conn.beginTransaction()
      const a = await counters(conn, 'SESSION')
      const ins = await conn.batch(INSERT(t), rowsOf(10_000)) // several statements
      const upd = await conn.batch(`UPDATE ${t} SET n = ? WHERE n = ?`, [
        [100, 1],
        [200, 2],
      ])
      const d = delta(a, await counters(conn, 'SESSION'))
      expect(d).toMatchObject({ Com_begin: 0, Com_commit: 0, Com_rollback: 0, Com_insert: 2 })
      expect(ins.affectedRows).toBe(10_000)
      expect(upd.affectedRows).toBe(2 + 2) // rows 1, 2 of rowsOf() too
      await conn.rollback()
    } finally {
      conn.release()
    }
    expect((await contents(t)).map((r) => r.n)).toEqual([1, 2, 3])
  })

  it('conn.batch with autocommit off opens no transaction of its own: the caller commits or rolls back', async () => {
    const t = await table('bt_autocommit_off')
    const conn = await ours.getConnection()
    try {
      await conn.query('SET autocommit = 0')
      const a = await counters(conn, 'SESSION')
      const h = await conn.batch(INSERT(t), rowsOf(10_000))
      const d = delta(a, await counters(conn, 'SESSION'))
      expect(d).toMatchObject({ Com_begin: 0, Com_commit: 0, Com_insert: 2 })
      expect(h.affectedRows).toBe(10_000)
      expect(h.serverStatus & 1).toBe(1) // still in the implicit transaction
      await conn.rollback()
      await conn.query('SET autocommit = 1')
    } finally {
      conn.release()
    }
    expect(await count(t)).toBe(0)
  })

  it('conn.batch outside a transaction rolls back its own transaction on failure', async () => {
    const t = await table('bt_conn_fail', 'id INT PRIMARY KEY')
    const rows = Array.from({ length: 12_000 }, (_, i) => [i])
    rows[11_000] = [1]
    const conn = await ours.getConnection()
    try {
      const err = await conn.batch(`INSERT INTO ${t} (id) VALUES (?)`, rows).then(
        () => null,
        (e) => e,
      )
      expect(err?.code).toBe('ER_DUP_ENTRY')
      const [[st]] = await conn.query('SELECT @@in_transaction AS t')
      expect(st.t).toBe(0)
    } finally {
      conn.release()
    }
    expect(await count(t)).toBe(0)
  })
})

describe('UPDATE and DELETE batches (one execute() per row)', () => {
  it('summed affectedRows and changedRows, equal to mariadb batch()', async () => {
    const [t1, t2, t3] = await Promise.all([table('bt_upd_ours'), table('bt_upd_loop'), table('bt_upd_mdb')])
    const rows = rowsOf(500)
    for (const t of [t1, t2, t3]) await ours.batch(INSERT(t), rows)
    const upd = (t) => `UPDATE ${t} SET s = ?, f = f + 1 WHERE n % 10 = ?`
    // 10 updates of 50 rows each, one matching nothing, one changing nothing new
    const params = Array.from({ length: 10 }, (_, k) => [`upd ${k}`, k])
    params.push(['none', 99])
    const h = await ours.batch(upd(t1), params)
    const loop = await mysql2Loop(upd(t2), params)
    const theirs = await mdbBatch(upd(t3), params)
    expect(await contents(t1)).toEqual(await contents(t2))
    expect(h.affectedRows).toBe(500)
    expect(h.affectedRows).toBe(theirs.affectedRows)
    expect(h.affectedRows).toBe(loop.reduce((s, x) => s + x.affectedRows, 0))
    expect(h.changedRows).toBe(loop.reduce((s, x) => s + x.changedRows, 0))
    expect(h.info).toBe('Rows matched: 500  Changed: 500  Warnings: 0')
    expect(h.insertId).toBe(0)

    const del = await ours.batch(`DELETE FROM ${t1} WHERE n = ?`, [1, 2, 3, 100_000]) // one placeholder: bare values
    expect(del.affectedRows).toBe(3)
    expect(await count(t1)).toBe(497)
  })
})

describe('input', () => {
  // A pool that can never connect: bad input and empty batches must not need a server.
  let offline
  beforeAll(() => {
    offline = createPool({ ...base, port: 1, connectionLimit: 1, acquireTimeout: 2000 })
  })
  afterAll(() => offline.end())

  const codeOf = (p) =>
    p.then(
      () => 'resolved',
      (e) => e.code,
    )

  it('empty rows: a header with 0 affected, no round trip', async () => {
    const h = await offline.batch('INSERT INTO t (a) VALUES (?)', [])
    expect(h).toBeInstanceOf(ResultSetHeader)
    expect({ ...h }).toMatchObject({ fieldCount: 0, affectedRows: 0, insertId: 0, warningStatus: 0, changedRows: 0 })
  })

  it('bad input fails with a code before any round trip', async () => {
    const sql = 'INSERT INTO t (a, b) VALUES (?, ?)'
    expect(await codeOf(offline.batch(sql, 'rows'))).toBe('ERR_INVALID_PARAMETER')
    expect(await codeOf(offline.batch(sql, [[1, 2], [3]]))).toBe('ERR_INVALID_PARAMETER') // different lengths
    expect(await codeOf(offline.batch(sql, [[1, 2], 3]))).toBe('ERR_INVALID_PARAMETER')
    expect(
      await codeOf(
        offline.batch(sql, [
          [1, 2],
          [3, undefined],
        ]),
      ),
    ).toBe('ERR_INVALID_PARAMETER')
    expect(await codeOf(offline.batch(sql, [[1, () => 2]]))).toBe('ERR_INVALID_PARAMETER')
    expect(await codeOf(offline.batch(sql, [[1, new Date(Number.NaN)]]))).toBe('ERR_INVALID_PARAMETER')
    expect(await codeOf(offline.batch(sql, [[1, Number.NaN]]))).toBe('ERR_INVALID_PARAMETER')
    expect(await codeOf(offline.batch(42, [[1, 2]]))).toBe('ERR_INVALID_QUERY')
    expect(await codeOf(offline.batch('SELECT ?', [[1]]))).toBe('ERR_INVALID_QUERY')
    expect(await codeOf(offline.batch('INSERT INTO t (a) VALUES (?); DROP TABLE t', [[1]]))).toBe('ERR_INVALID_QUERY')
    expect(await codeOf(offline.batch('INSERT INTO t (a) VALUES (?) RETURNING id', [[1]]))).toBe('ERR_INVALID_QUERY')
    const err = await offline.batch(sql, [[1, 2], [3]]).catch((e) => e)
    expect(err.message).toMatch(/row 1 has 1 values; the statement has 2 placeholders/)
    expect(offline.stats().counters.created).toBe(0)
  })

  it("a row that grows while it is read writes only the statement's values", async () => {
    const t = await table('bt_grow', 'a INT, b VARCHAR(8)')
    const row = [0, 'x']
    // Reading value 0 appends to the row: its length was checked before.
    Object.defineProperty(row, 0, { enumerable: true, get: () => (row.push(99), 7) })
    const h = await ours.batch(`INSERT INTO ${t} (a, b) VALUES (?, ?)`, [row, [8, 'y']])
    expect(h.affectedRows).toBe(2)
    const [rows] = await ours.query(`SELECT a, b FROM ${t} ORDER BY a`)
    expect(rows).toEqual([
      { a: 7, b: 'x' },
      { a: 8, b: 'y' },
    ])
  })

  it('a released connection and a closed pool', async () => {
    const p = createPool({ ...base, connectionLimit: 1 })
    const conn = await p.getConnection()
    conn.release()
    expect(await codeOf(conn.batch('INSERT INTO t (a) VALUES (?)', [[1]]))).toBe('ERR_CONNECTION_RELEASED')
    await p.end()
    expect(await codeOf(p.batch('INSERT INTO t (a) VALUES (?)', [[1]]))).toBe('POOL_CLOSED')
  })

  it('a trailing semicolon and comments are fine; placeholders outside VALUES run per row', async () => {
    const t = await table('bt_forms', 'id INT PRIMARY KEY, n INT NOT NULL')
    const h1 = await ours.batch(`INSERT INTO ${t} (id, n) VALUES (?, /* ? */ ?) -- note\n;`, [
      [1, 1],
      [2, 2],
    ])
    expect(h1.affectedRows).toBe(2)
    // a placeholder in the suffix: one execute() per row
    const h2 = await ours.batch(`INSERT INTO ${t} (id, n) VALUES (?, ?) ON DUPLICATE KEY UPDATE n = n + ?`, [
      [1, 0, 10],
      [3, 3, 0],
    ])
    expect(h2.affectedRows).toBe(2 + 1)
    expect((await contents(t)).map((r) => [r.id, r.n])).toEqual([
      [1, 11],
      [2, 2],
      [3, 3],
    ])
  })
})

// mysql2's query() formats objects as `key = value` lists; the table written
// by execute() holds them as JSON, so the single-INSERT reference gets JSON.
function jsonLike(v) {
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v) || v instanceof Date) return v
  return JSON.stringify(v)
}

describe('statement forms and chunking (no server)', () => {
  const { parse, prepareBatch, chunkRanges, statement, plansCached, MAX_CHUNK_ROWS } = require('../../lib/batch.js')
  const merged = (sql) => parse(sql).multi !== null

  it('keeps at most 256 statement plans, and none for a text over 16 K characters', () => {
    const cfg = { timezone: 'local', namedPlaceholders: false }
    for (let i = 0; i < 300; i++) prepareBatch(cfg, `INSERT INTO t${i} (a) VALUES (?)`, [[i]])
    const short = plansCached()
    expect(short.entries).toBeGreaterThan(0)
    expect(short.entries).toBeLessThanOrEqual(256)
    for (let i = 0; i < 50; i++) {
      const job = prepareBatch(cfg, `INSERT INTO t (a) VALUES (?) /* ${String(i).padEnd(20_000, '.')} */`, [[i]])
      expect(job.count).toBe(1)
    }
    expect(plansCached()).toEqual(short)
  })

  it('finds the VALUES list with the tokenizer', () => {
    expect(merged('INSERT INTO t (a, b) VALUES (?, ?)')).toBe(true)
    expect(merged('insert ignore into `values` (a) value (?)')).toBe(true)
    expect(merged("REPLACE INTO t VALUES (?, 'a ? in a string', ?) /* ? */")).toBe(true)
    expect(merged('INSERT INTO t (a) VALUES (?), (?) AS new ON DUPLICATE KEY UPDATE a = new.a')).toBe(true)
    expect(parse('INSERT INTO t (a) VALUES (?), (?) AS new ON DUPLICATE KEY UPDATE a = new.a').multi.tail).toBe(' AS new ON DUPLICATE KEY UPDATE a = new.a')
    // one execute() per row
    expect(merged('INSERT INTO t SET a = ?')).toBe(false)
    expect(merged('INSERT INTO t (a) SELECT ? FROM dual ON DUPLICATE KEY UPDATE a = VALUES(a)')).toBe(false)
    expect(merged('INSERT INTO t (a) VALUES (?) ON DUPLICATE KEY UPDATE a = a + ?')).toBe(false)
    expect(merged('INSERT INTO t (a) VALUES (?) /*!50000 , (?) */')).toBe(false) // the server counts those
    expect(merged('INSERT INTO value (a) VALUES (1)')).toBe(false) // no placeholder in the list
    expect(merged('UPDATE t SET a = ? WHERE id = ?')).toBe(false)
    expect(parse('UPDATE t SET a = ? WHERE id = ? -- ?').placeholders).toBe(2)
  })

  it('counts UTF-8 bytes: no statement over the budget, every row once, in order', () => {
    const rows = Array.from({ length: 300 }, (_, i) => [i, `${i} ${'é😀€'.repeat(200)}`])
    const job = prepareBatch({ timezone: 'local' }, 'INSERT INTO t (a, b) VALUES (?, ?)', rows)
    const limit = 64 * 1024
    const ranges = chunkRanges(job, limit)
    // 9 bytes in 4 UTF-16 units per 'é😀€': counting units would give half as many
    const bytes = job.texts.reduce((n, x) => n + Buffer.byteLength(x) + 1, 0)
    expect(ranges.length).toBeGreaterThanOrEqual(Math.ceil(bytes / (limit - 1024)))
    let next = 0
    for (const r of ranges) {
      expect(r[0]).toBe(next)
      next = r[1]
      expect(Buffer.byteLength(statement(job, r))).toBeLessThanOrEqual(limit - 1024)
    }
    expect(next).toBe(300)
    // ASCII rows far under the budget: split by the row cap only, in equal parts
    const small = prepareBatch(
      { timezone: 'local' },
      'INSERT INTO t (a) VALUES (?)',
      Array.from({ length: MAX_CHUNK_ROWS + 1 }, (_, i) => i),
    )
    expect(chunkRanges(small, 16 << 20)).toEqual([
      [0, 2500],
      [2500, MAX_CHUNK_ROWS + 1],
    ])
  })

  it('a template with two tuples takes rows of both', async () => {
    const t = await table('bt_two', 'id INT AUTO_INCREMENT PRIMARY KEY, a INT')
    const h = await ours.batch(`INSERT INTO ${t} (a) VALUES (?), (?)`, [
      [1, 2],
      [3, 4],
    ])
    expect(h.affectedRows).toBe(4)
    expect((await contents(t)).map((r) => r.a)).toEqual([1, 2, 3, 4])
  })
})
