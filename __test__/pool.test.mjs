// Foundation: createPool, query/execute, DML headers, errors, config, end().
import { describe, it, expect, beforeAll, afterAll, inject, vi } from 'vitest'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { createPool } = require('../lib/index.js')

const srv = inject('mysqlServer')
const base = { host: srv.host, port: srv.port, user: srv.user, password: srv.password, database: srv.database }

let pool
beforeAll(async () => {
  pool = createPool({ ...base, connectionLimit: 20 })
  await pool.query('DROP TABLE IF EXISTS t_found')
  await pool.query('CREATE TABLE t_found (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE, n INT, note TEXT)')
  const values = Array.from({ length: 300 }, (_, i) => [`name-${i}`, i * 7, `note ${i} ✓`])
  await pool.query('INSERT INTO t_found (name, n, note) VALUES ?', [values])
})
afterAll(async () => {
  await pool.end()
})

describe('concurrency on a pool of 20', () => {
  for (const n of [10, 100, 200]) {
    it(`${n} concurrent queries each get their own correct row`, async () => {
      const ids = Array.from({ length: n }, (_, i) => (i % 300) + 1)
      const results = await Promise.all(
        ids.map((id, i) =>
          i % 2 === 0
            ? pool.query('SELECT id, name, n, note FROM t_found WHERE id = ?', [id])
            : pool.execute('SELECT id, name, n, note FROM t_found WHERE id = ?', [id]),
        ),
      )
      results.forEach(([rows], i) => {
        const id = ids[i]
        expect(rows).toEqual([{ id, name: `name-${id - 1}`, n: (id - 1) * 7, note: `note ${id - 1} ✓` }])
      })
      // The pool never opens more than its limit.
      expect(pool.stats().counts.total).toBeLessThanOrEqual(20)
    })
  }
})

describe('results', () => {
  it('query resolves [rows, fields] with field metadata', async () => {
    const [rows, fields] = await pool.query('SELECT id, name FROM t_found WHERE id IN (?) ORDER BY id', [[1, 2, 3]])
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3])
    expect(fields.map((f) => f.name)).toEqual(['id', 'name'])
    expect(fields[0]).toMatchObject({ table: 't_found', orgTable: 't_found', schema: srv.database, db: srv.database, columnType: 3 })
  })

  it('?? identifiers and object SET ? are formatted client-side', async () => {
    const [rows] = await pool.query('SELECT ?? AS v FROM ?? WHERE id = ?', ['name', 't_found', 5])
    expect(rows).toEqual([{ v: 'name-4' }])
    const [h] = await pool.query('UPDATE t_found SET ? WHERE id = ?', [{ n: 999 }, 5])
    expect(h.affectedRows).toBe(1)
    expect(pool.format('SELECT ? AS a, ?? AS b', ["it's", 'col'])).toBe("SELECT 'it\\'s' AS a, `col` AS b")
  })

  it('DML resolves [ResultSetHeader, undefined]', async () => {
    const [ins, f] = await pool.query("INSERT INTO t_found (name, n) VALUES ('dml-a', 1), ('dml-b', 2)")
    expect(f).toBeUndefined()
    expect(ins.constructor.name).toBe('ResultSetHeader')
    expect(ins.affectedRows).toBe(2)
    expect(typeof ins.insertId).toBe('number')
    expect(ins.insertId).toBeGreaterThan(300)
    expect(ins.info).toMatch(/Records: 2 {2}Duplicates: 0 {2}Warnings: 0/)
    expect(ins.warningStatus).toBe(0)
    // UPDATE counts matched rows (FOUND_ROWS) and reports changed ones apart.
    const [upd] = await pool.query("UPDATE t_found SET n = 1 WHERE name IN ('dml-a', 'dml-b')")
    expect(upd.affectedRows).toBe(2)
    expect(upd.changedRows).toBe(1)
    const [ex] = await pool.execute('DELETE FROM t_found WHERE name LIKE ?', ['dml-%'])
    expect(ex.affectedRows).toBe(2)
    expect(ex.serverStatus & 2).toBe(2) // autocommit
  })

  it('one result shape read as objects, arrays and nested tables in turn keeps each form (cached row builders)', async () => {
    const sql = 'SELECT id, name FROM t_found WHERE id = ?'
    for (let round = 0; round < 3; round++) {
      for (const exec of [false, true]) {
        const run = (o) => (exec ? pool.execute({ sql, ...o }, [7]) : pool.query({ sql, ...o }, [7]))
        expect((await run({}))[0]).toEqual([{ id: 7, name: 'name-6' }])
        expect((await run({ rowsAsArray: true }))[0]).toEqual([[7, 'name-6']])
        expect((await run({ rowsAsArray: 1 }))[0]).toEqual([[7, 'name-6']])
        expect((await run({ nestTables: true }))[0]).toEqual([{ t_found: { id: 7, name: 'name-6' } }])
        expect((await run({ nestTables: '_' }))[0]).toEqual([{ t_found_id: 7, t_found_name: 'name-6' }])
        expect((await run({ rowsAsArray: true, typeCast: (f, next) => next() }))[0]).toEqual([[7, 'name-6']])
        expect((await run({ typeCast: (f, next) => (f.name === 'id' ? -1 : next()) }))[0]).toEqual([{ id: -1, name: 'name-6' }])
      }
    }
  })
})

describe('large results (delivered to JS in chunks while they arrive)', () => {
  // MariaDB's SEQUENCE engine (seq_1_to_N) generates the rows.
  const seq = (n) => `SELECT CAST(seq AS SIGNED) AS i, CONCAT('r', seq, '✓') AS t, CAST(seq AS CHAR) AS c FROM seq_1_to_${n}`

  it('every row arrives once and in order, in both protocols and as arrays', async () => {
    const want = Array.from({ length: 7000 }, (_, k) => ({ i: k + 1, t: `r${k + 1}✓`, c: String(k + 1) }))
    const [a] = await pool.query(`${seq(7000)} ORDER BY seq`)
    expect(a).toEqual(want)
    const [b] = await pool.execute(`${seq(7000)} ORDER BY seq`)
    expect(b).toEqual(want)
    const [c] = await pool.query({ sql: `${seq(7000)} ORDER BY seq`, rowsAsArray: true })
    expect(c).toEqual(want.map((r) => [r.i, r.t, r.c]))
  })

  it('several large result sets keep their own rows', async () => {
    const p = createPool({ ...base, multipleStatements: true, connectionLimit: 1 })
    const [sets] = await p.query(`${seq(5000)}; SELECT 42 AS x; ${seq(3000)}`)
    await p.end()
    expect(sets).toHaveLength(3)
    expect(sets[0]).toHaveLength(5000)
    expect(sets[0][4999]).toEqual({ i: 5000, t: 'r5000✓', c: '5000' })
    expect(sets[1]).toEqual([{ x: 42 }])
    expect(sets[2]).toHaveLength(3000)
    expect(sets[2][0]).toEqual({ i: 1, t: 'r1✓', c: '1' })
  })

  it('an error after some chunks rejects the whole query and the pool stays usable', async () => {
    const p = createPool({ ...base, multipleStatements: true, connectionLimit: 1 })
    const err = await p.query(`${seq(5000)}; SELECT * FROM no_such_table_x`).catch((e) => e)
    expect(err.code).toBe('ER_NO_SUCH_TABLE')
    const [[r]] = await p.query('SELECT 5 AS five')
    expect(r.five).toBe(5)
    await p.end()
  })
})

describe('errors', () => {
  it('server errors carry mysql2 fields', async () => {
    const err = await pool.query("INSERT INTO t_found (name) VALUES ('name-1')").catch((e) => e)
    expect(err).toBeInstanceOf(Error)
    expect(err.code).toBe('ER_DUP_ENTRY')
    expect(err.errno).toBe(1062)
    expect(err.sqlState).toBe('23000')
    expect(err.sqlMessage).toBe("Duplicate entry 'name-1' for key 'name'")
    expect(err.message).toBe(err.sqlMessage)
    expect(err.sql).toBe("INSERT INTO t_found (name) VALUES ('name-1')")
    expect(err.fatal).toBeUndefined()
  })

  it('syntax errors and unknown tables, in both protocols', async () => {
    const a = await pool.query('SELEC 1').catch((e) => e)
    expect([a.code, a.errno, a.sqlState]).toEqual(['ER_PARSE_ERROR', 1064, '42000'])
    const b = await pool.execute('SELECT * FROM no_such_table WHERE id = ?', [1]).catch((e) => e)
    expect([b.code, b.errno, b.sqlState]).toEqual(['ER_NO_SUCH_TABLE', 1146, '42S02'])
    // The pool stays usable after errors.
    const [[row]] = await pool.query('SELECT 41 + 1 AS x')
    expect(row.x).toBe(42)
  })

  it('a wrong password is a fatal ER_ACCESS_DENIED_ERROR, without sql (as mysql2) or the password in it', async () => {
    const p = createPool({ ...base, password: 'wrong-secret-xyz', connectionLimit: 1 })
    const err = await p.query('SELECT 1').catch((e) => e)
    await p.end()
    expect(err.code).toBe('ER_ACCESS_DENIED_ERROR')
    expect(err.errno).toBe(1045)
    // fatal: a known difference (mysql2 leaves it unset); no sql, as mysql2.
    expect(err.fatal).toBe(true)
    expect(err.sql).toBeUndefined()
    expect(JSON.stringify({ ...err, m: err.message })).not.toContain('wrong-secret-xyz')
  })

  it('bad parameters reject with a code instead of crashing', async () => {
    await expect(pool.execute('SELECT ?', [undefined])).rejects.toMatchObject({ code: 'ERR_INVALID_PARAMETER' })
    await expect(pool.execute('SELECT ?', [() => 1])).rejects.toMatchObject({ code: 'ERR_INVALID_PARAMETER' })
    await expect(pool.execute('SELECT ?', [new Date(NaN)])).rejects.toMatchObject({ code: 'ERR_INVALID_PARAMETER' })
    await expect(pool.execute('SELECT ?', [new Map([[1, 2]])])).rejects.toMatchObject({ code: 'ERR_INVALID_PARAMETER', name: 'TypeError' })
    // mysql2 binds a Symbol as its toString()
    expect((await pool.execute('SELECT ? AS s', [Symbol('s')]))[0]).toEqual([{ s: 'Symbol(s)' }])
    await expect(pool.query(42)).rejects.toMatchObject({ code: 'ERR_INVALID_QUERY' })
    // Like mysql2: BigInt travels as its exact decimal text, numbers as DOUBLE.
    const [[r]] = await pool.execute('SELECT ? AS a, ? AS b, ? AS c, ? + 0 AS d', [2n ** 70n, true, null, 2.5])
    expect(r).toEqual({ a: '1180591620717411303424', b: 1, c: null, d: 2.5 })
  })
})

describe('multipleStatements', () => {
  it('off (the default): a second statement is refused before it reaches the server', async () => {
    await pool.query('CREATE TABLE IF NOT EXISTS t_stack (id INT)')
    const err = await pool.query('SELECT 1; DROP TABLE t_stack').catch((e) => e)
    expect([err.code, err.errno, err.sqlState]).toEqual(['ER_PARSE_ERROR', 1064, '42000'])
    // Injection through a value stays inside its string literal.
    const [[row]] = await pool.query('SELECT ? AS v', ["x'; DROP TABLE t_stack; -- "])
    expect(row.v).toBe("x'; DROP TABLE t_stack; -- ")
    const [[still]] = await pool.query("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = 't_stack'")
    expect(still.n).toBe(1)
    // One statement with trailing ';' or comments, and compound statements, pass.
    expect((await pool.query('SELECT 1 AS a; -- done'))[0]).toEqual([{ a: 1 }])
    const [sets] = await pool.query('BEGIN NOT ATOMIC SELECT 1 AS a; SELECT 2 AS b; END')
    expect(sets.slice(0, 2)).toEqual([[{ a: 1 }], [{ b: 2 }]])
  })

  it('on: several statements give an array of results', async () => {
    const p = createPool({ ...base, multipleStatements: true, connectionLimit: 1 })
    const [rows] = await p.query('SELECT 1 AS a; SELECT 2 AS b')
    expect(rows).toEqual([[{ a: 1 }], [{ b: 2 }]])
    await p.end()
  })
})

describe('configuration', () => {
  it('accepts a URI and mysql2 defaults', async () => {
    const p = createPool(srv.url)
    expect(p.config).toMatchObject({ connectionLimit: 10, waitForConnections: true, queueLimit: 0, idleTimeout: 60000, connectTimeout: 10000, maxIdle: 10 })
    const [[r]] = await p.query('SELECT DATABASE() AS db')
    expect(r.db).toBe(srv.database)
    await p.end()
  })

  it.each([
    [{ connectionLimt: 5 }, /Unknown option "connectionLimt"/],
    [{ connectionLimit: 'many' }, /"connectionLimit" must be a non-negative number/],
    [{ connectionLimit: 0 }, /"connectionLimit" must be at least 1/],
    [{ port: 70000 }, /"port" must be a port number/],
    [{ waitForConnections: 'yes' }, /"waitForConnections" must be a boolean/],
    // Any string is a timezone to mysql2 (see below); a non-string is refused.
    [{ timezone: 5 }, /"timezone" must be a string: 'local', 'Z' or an offset like '\+05:30', got number/],
    [{ ssl: { foo: 1 } }, /Unknown ssl option "ssl.foo"/],
    [{ typeCast: 3 }, /"typeCast" must be/],
  ])('rejects %j with a clear error', (opts, msg) => {
    let err
    try {
      createPool({ ...base, ...opts })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(TypeError)
    expect(err.code).toBe('ERR_INVALID_POOL_OPTION')
    expect(err.message).toMatch(msg)
  })

  it("accepts any timezone string as mysql2 does: 'Europe/Paris' becomes 'Z' with a TimezoneWarning", async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    let p
    try {
      p = createPool({ ...base, timezone: 'Europe/Paris' })
      expect(p.config.timezone).toBe('Z')
      expect(warn).toHaveBeenCalledTimes(1)
      expect(warn.mock.calls[0][0]).toBe(`napi-mysql-pool: timezone "Europe/Paris" is not 'local', 'Z' or '+HH:MM'; it is treated as 'Z' (UTC), as mysql2 does`)
      expect(warn.mock.calls[0][1]).toBe('TimezoneWarning')
    } finally {
      warn.mockRestore()
      await p?.end()
    }
  })

  it('refuses mysql2 options it does not implement instead of ignoring them', () => {
    expect(() => createPool({ ...base, compress: true })).toThrow(/Option "compress" is not supported/)
    expect(() => createPool({ ...base, ssl: 'Amazon RDS' })).toThrow(/ssl profile "Amazon RDS" is not supported/)
    expect(() => createPool(12)).toThrow(/options object or a connection URI/)
  })
})

describe('end()', () => {
  it('rejects later queries with a clear error, and is safe twice', async () => {
    const p = createPool({ ...base, connectionLimit: 2 })
    await p.query('SELECT 1')
    await p.end()
    await p.end()
    const err = await p.query('SELECT 1').catch((e) => e)
    expect(err.message).toBe('Pool is closed.')
    expect(err.code).toBe('POOL_CLOSED')
    await expect(p.getConnection()).rejects.toMatchObject({ code: 'POOL_CLOSED' })
  })
})
