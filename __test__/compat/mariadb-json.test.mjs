// MariaDB JSON columns (src/json_columns.rs): MariaDB stores JSON as a string
// column with CHECK (json_valid(col)), and mysql2 parses such columns because
// it negotiates MariaDB's extended metadata. Ours finds the same columns in
// information_schema on a side connection. Each case is compared with mysql2
// on the same server.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createRequire } from 'node:module'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const { createPool } = require('../../lib/index.js')
const mysql2 = require('mysql2/promise')

const srv = inject('mysqlServer')
const base = { host: srv.host, port: srv.port, user: srv.user, password: srv.password, database: srv.database }

let ref // mysql2
let refText // mysql2 with jsonStrings
let ours

const DOC = { a: 1, list: [1, 'two', null], nested: { ok: true, emoji: '😀' } }

beforeAll(async () => {
  ref = mysql2.createPool({ ...base, connectionLimit: 4 })
  refText = mysql2.createPool({ ...base, connectionLimit: 2, jsonStrings: true })
  ours = createPool({ ...base, connectionLimit: 4 })
  await ref.query('DROP VIEW IF EXISTS mj_view')
  await ref.query('DROP TABLE IF EXISTS mj_docs')
  // doc: JSON; v: a VARCHAR with the same column check (MariaDB marks it JSON
  // too); tchk: a table-level check, which MariaDB does not count; plain: TEXT.
  await ref.query(`CREATE TABLE mj_docs (
    id INT PRIMARY KEY, doc JSON, plain TEXT, v VARCHAR(200) CHECK (json_valid(v)),
    tchk LONGTEXT, CONSTRAINT mj_tl CHECK (json_valid(tchk))) DEFAULT CHARSET=utf8mb4`)
  const text = JSON.stringify(DOC)
  await ref.query('INSERT INTO mj_docs VALUES (1, ?, ?, ?, ?), (2, NULL, NULL, NULL, NULL), (3, ?, ?, ?, ?)', [
    text,
    text,
    '[1,2]',
    text,
    '"scalar"',
    '{}',
    'true',
    '12345678901234567890',
  ])
  await ref.query('CREATE VIEW mj_view AS SELECT id, doc FROM mj_docs')
})

afterAll(async () => {
  await Promise.allSettled([ref?.end(), refText?.end(), ours?.end()])
})

const SELECT = 'SELECT id, doc, plain, v, tchk FROM mj_docs WHERE id > ? ORDER BY id'
const ext = (fields) => fields.map((f) => [f.name, f.extendedFormat])

describe('table columns', () => {
  for (const proto of ['query', 'execute']) {
    it(`${proto}: rows and field.extendedFormat equal mysql2's`, async () => {
      const [refRows, refFields] = await ref[proto](SELECT, [0])
      const [rows, fields] = await ours[proto](SELECT, [0])
      expect(rows).toEqual(refRows)
      expect(ext(fields)).toEqual(ext(refFields))
      // anchors: which columns the server calls JSON
      expect(rows[0]).toEqual({ id: 1, doc: DOC, plain: JSON.stringify(DOC), v: [1, 2], tchk: JSON.stringify(DOC) })
      expect(rows[2].doc).toBe('scalar')
      expect(rows[2].v).toBe(true)
      expect(ext(fields)).toEqual([
        ['id', undefined],
        ['doc', 'json'],
        ['plain', undefined],
        ['v', 'json'],
        ['tchk', undefined],
      ])
    })
  }

  it('jsonStrings: text, and extendedFormat is still json (as mysql2)', async () => {
    const p = createPool({ ...base, connectionLimit: 1, jsonStrings: true })
    try {
      const [refRows, refFields] = await refText.query(SELECT, [0])
      const [rows, fields] = await p.query(SELECT, [0])
      expect(rows).toEqual(refRows)
      expect(typeof rows[0].doc).toBe('string')
      expect(ext(fields)).toEqual(ext(refFields))
    } finally {
      await p.end()
    }
  })

  it('a typeCast function sees the column as BLOB and next() parses it', async () => {
    const typeCast = (field, next) => (field.name === 'doc' ? { type: field.type, format: field.extendedFormat, value: next() } : next())
    const [refRows] = await ref.query({ sql: 'SELECT doc FROM mj_docs WHERE id = 1', typeCast })
    const [rows] = await ours.query({ sql: 'SELECT doc FROM mj_docs WHERE id = 1', typeCast })
    expect(rows).toEqual(refRows)
    expect(rows[0].doc).toEqual({ type: 'BLOB', format: 'json', value: DOC })
  })

  it('mariadbJsonColumns: false returns the JSON text (mysql2 with jsonStrings)', async () => {
    const p = createPool({ ...base, connectionLimit: 1, mariadbJsonColumns: false })
    try {
      const [refRows] = await refText.query(SELECT, [0])
      const [rows, fields] = await p.query(SELECT, [0])
      expect(rows).toEqual(refRows)
      expect(ext(fields).every(([, f]) => f === undefined)).toBe(true)
    } finally {
      await p.end()
    }
  })

  it('many queries on many new tables at once', async () => {
    const tables = [0, 1, 2, 3, 4].map((i) => `mj_many_${i}`)
    for (const t of tables) {
      await ref.query(`DROP TABLE IF EXISTS ${t}`)
      await ref.query(`CREATE TABLE ${t} (id INT PRIMARY KEY, j JSON, s TEXT)`)
      await ref.query(`INSERT INTO ${t} VALUES (1, '{"t":"${t}"}', '{"t":"${t}"}')`)
    }
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => ours[i % 2 ? 'query' : 'execute'](`SELECT j, s FROM ${tables[i % 5]}`)))
    results.forEach(([rows], i) => {
      const t = tables[i % 5]
      expect(rows).toEqual([{ j: { t }, s: `{"t":"${t}"}` }])
    })
  })
})

describe('supportBigNumbers: integers beyond 2^53 inside JSON', () => {
  // mysql2 keeps such integers as strings where JSON.parse exposes the source
  // text (Node >= 21). Node 20 has it behind a V8 flag, so the comparison
  // runs in a child process with that flag.
  const script = `
    const mysql2 = require('mysql2/promise')
    const { createPool } = require('./lib/index.js')
    const o = JSON.parse(process.env.MJ_OPTS)
    ;(async () => {
      const out = {}
      for (const [name, pool] of [['ref', mysql2.createPool(o)], ['sut', createPool(o)]]) {
        const [rows] = await pool.query('SELECT j FROM mj_big ORDER BY id')
        const [erows] = await pool.execute('SELECT j FROM mj_big ORDER BY id')
        out[name] = { rows, erows }
        await pool.end()
      }
      process.stdout.write(JSON.stringify(out))
    })().catch((e) => { console.error(e); process.exit(1) })`
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const run = (opts, flags) =>
    JSON.parse(
      execFileSync(process.execPath, [...flags, '-e', script], {
        cwd: root,
        env: { ...process.env, MJ_OPTS: JSON.stringify({ ...base, connectionLimit: 1, ...opts }) },
      }).toString(),
    )

  beforeAll(async () => {
    await ref.query('DROP TABLE IF EXISTS mj_big')
    await ref.query('CREATE TABLE mj_big (id INT PRIMARY KEY, j JSON)')
    await ref.query(
      `INSERT INTO mj_big VALUES (1, '{"big": 12345678901234567890, "neg": -9007199254740993, "ok": 42, "f": 1.5e300}'), (2, '[9007199254740993]')`,
    )
  })

  it('with source access: equal to mysql2, big integers as strings', () => {
    const out = run({ supportBigNumbers: true }, ['--harmony-json-parse-with-source'])
    expect(out.sut).toEqual(out.ref)
    // anchor: the flag took effect in mysql2
    expect(out.ref.rows[0].j).toEqual({ big: '12345678901234567890', neg: '-9007199254740993', ok: 42, f: 1.5e300 })
    expect(out.ref.rows[1].j).toEqual(['9007199254740993'])
  })

  it('without supportBigNumbers: plain numbers, equal to mysql2', () => {
    const out = run({}, ['--harmony-json-parse-with-source'])
    expect(out.sut).toEqual(out.ref)
    expect(typeof out.ref.rows[0].j.big).toBe('number')
  })
})

describe('schema changes', () => {
  it('DDL run through this pool is seen by the next query', async () => {
    const read = async (pool) => (await pool.query('SELECT * FROM mj_ddl'))[0]
    await ref.query('DROP TABLE IF EXISTS mj_ddl')
    await ref.query("CREATE TABLE mj_ddl (id INT PRIMARY KEY, extra TEXT) SELECT 1 AS id, '[1]' AS extra")
    expect(await read(ours)).toEqual([{ id: 1, extra: '[1]' }])
    // now a JSON column, changed through ours
    await ours.query('ALTER TABLE mj_ddl MODIFY extra JSON')
    expect(await read(ours)).toEqual(await read(ref))
    expect((await read(ours))[0].extra).toEqual([1])
    // and back to TEXT: the check is gone with the old definition
    await ours.query('ALTER TABLE mj_ddl MODIFY extra TEXT')
    expect(await read(ours)).toEqual(await read(ref))
    expect((await read(ours))[0].extra).toBe('[1]')
    // DDL through execute() counts too (Drizzle's migrator sends it that way)
    await ours.execute('ALTER TABLE mj_ddl MODIFY extra JSON', [])
    expect((await read(ours))[0].extra).toEqual([1])
  })
})

describe('the caller session is untouched', () => {
  // The first read of a table triggers the lookup; it must not run on the
  // caller's connection, or FOUND_ROWS() and SHOW WARNINGS would change.
  const fresh = async (name) => {
    await ref.query(`DROP TABLE IF EXISTS ${name}`)
    await ref.query(`CREATE TABLE ${name} (id INT PRIMARY KEY, doc JSON)`)
    await ref.query(`INSERT INTO ${name} VALUES (1, '{"n":1}'), (2, '{"n":2}'), (3, '{"n":3}')`)
  }
  const session = async (conn, table) => {
    const [rows] = await conn.query(`SELECT SQL_CALC_FOUND_ROWS doc, 1/0 AS z FROM ${table} ORDER BY id LIMIT 1`)
    const [warnings] = await conn.query('SHOW WARNINGS')
    const [[found]] = await conn.query('SELECT FOUND_ROWS() AS n')
    return { rows, warnings, found }
  }

  it("FOUND_ROWS() and SHOW WARNINGS after a first read equal mysql2's", async () => {
    await fresh('mj_sess_a')
    await fresh('mj_sess_b')
    const refConn = await ref.getConnection()
    const conn = await ours.getConnection()
    try {
      const expected = await session(refConn, 'mj_sess_a')
      const got = await session(conn, 'mj_sess_b')
      expect(got).toEqual(expected)
      expect(got.rows).toEqual([{ doc: { n: 1 }, z: null }])
      expect(got.found).toEqual({ n: 3 })
      expect(got.warnings).toHaveLength(1)
      expect(got.warnings[0].Code).toBe(1365)
    } finally {
      refConn.release()
      conn.release()
    }
  })
})

describe('the side connection', () => {
  const USER = 'mj_side'
  const PASS = 'mj-side-pw'
  const side = { ...base, user: USER, password: PASS }
  const sessions = async () => (await ref.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ? ORDER BY ID', [USER]))[0].map((r) => r.id)
  const until = async (cond) => {
    for (let i = 0; i < 100 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 50))
    return cond()
  }

  // granting needs the harness' root account (the test user has no GRANT OPTION)
  const asRoot = async (sql) => {
    const root = await mysql2.createConnection({ host: base.host, port: base.port, user: 'root', password: '' })
    try {
      await root.query(sql)
    } finally {
      await root.end()
    }
  }
  beforeAll(async () => {
    await asRoot(`DROP USER IF EXISTS ${USER}`)
    await asRoot(`CREATE USER ${USER} IDENTIFIED BY '${PASS}'`)
    await asRoot(`GRANT ALL ON \`${base.database}\`.* TO ${USER}`)
  })
  afterAll(async () => {
    await asRoot(`DROP USER IF EXISTS ${USER}`)
  })

  it('is one extra connection, opened for a lookup and closed by end()', async () => {
    const p = createPool({ ...side, connectionLimit: 1 })
    try {
      await p.query('SELECT 1') // no table columns: no lookup
      expect(await sessions()).toHaveLength(1)
      const [rows] = await p.query('SELECT doc FROM mj_docs WHERE id = 1')
      expect(rows).toEqual([{ doc: DOC }])
      expect(await sessions()).toHaveLength(2)
    } finally {
      await p.end()
    }
    expect(await until(async () => (await sessions()).length === 0)).toBe(true)
  })

  it('a lookup that cannot connect leaves the columns as text and counts ERR_JSON_LOOKUP', async () => {
    const ONE = 'mj_one'
    await asRoot(`DROP USER IF EXISTS ${ONE}`)
    await asRoot(`CREATE USER ${ONE} IDENTIFIED BY '${PASS}' WITH MAX_USER_CONNECTIONS 1`)
    await asRoot(`GRANT ALL ON \`${base.database}\`.* TO ${ONE}`)
    const p = createPool({ ...base, user: ONE, password: PASS, connectionLimit: 1 })
    try {
      // the pool's one connection is the user's only one: the side connection is refused
      const [rows] = await p.query('SELECT doc FROM mj_docs WHERE id = 1')
      expect(rows).toEqual([{ doc: JSON.stringify(DOC) }])
      expect(p.stats().errors).toMatchObject({ ERR_JSON_LOOKUP: 1 })
      // and the query itself, and the pool, are fine
      const [[again]] = await p.query('SELECT 1 AS one')
      expect(again.one).toBe(1)
    } finally {
      await p.end()
      await asRoot(`DROP USER IF EXISTS ${ONE}`)
    }
  })

  it('a killed side connection is replaced on the next lookup', async () => {
    const p = createPool({ ...side, connectionLimit: 1 })
    try {
      await p.query('SELECT doc FROM mj_docs WHERE id = 1')
      const conn = await p.getConnection()
      const mine = conn.threadId
      conn.release()
      const others = (await sessions()).filter((id) => id !== mine)
      expect(others).toHaveLength(1)
      await ref.query(`KILL ${others[0]}`)
      // DDL through the pool drops the cache, so the next read looks up again
      await p.query('DROP TABLE IF EXISTS mj_kill')
      await p.query("CREATE TABLE mj_kill (j JSON) SELECT '[3]' AS j")
      const [rows] = await p.query('SELECT j FROM mj_kill')
      expect(rows).toEqual([{ j: [3] }])
    } finally {
      await p.end()
    }
  })
})

describe('a temporary table shadowing a table with JSON columns', () => {
  // The lookup reads the real table (a side connection cannot see the
  // temporary one), so it calls the column JSON; the text that is not JSON
  // comes back as text, as mysql2 returns it, instead of failing the query.
  const run = async (pool) => {
    const conn = await pool.getConnection()
    try {
      await conn.query('CREATE TEMPORARY TABLE mj_shadow (doc TEXT)')
      await conn.query("INSERT INTO mj_shadow VALUES ('not json'), ('[1]')")
      const [rows] = await conn.query('SELECT doc FROM mj_shadow')
      await conn.query('DROP TEMPORARY TABLE mj_shadow')
      return rows
    } finally {
      conn.release()
    }
  }
  beforeAll(async () => {
    await ref.query('DROP TABLE IF EXISTS mj_shadow')
    await ref.query('CREATE TABLE mj_shadow (doc JSON)')
  })

  it('non-JSON text is returned as text, not a parse error', async () => {
    const [a, b] = [await run(ref), await run(ours)]
    expect(a).toEqual([{ doc: 'not json' }, { doc: '[1]' }])
    // ours: the JSON-looking value is parsed (the shadowed table's rule)
    expect(b).toEqual([{ doc: 'not json' }, { doc: [1] }])
  })
})

// ACCEPTED DIFFERENCE: JSON produced by expressions, views and temporary
// tables has no json_valid check to find; mysql2 parses it (extended
// metadata), ours returns the server's JSON text. Pinned exactly here.
describe('accepted: expressions and views stay text', () => {
  for (const [name, sql] of [
    ['JSON_OBJECT()', "SELECT JSON_OBJECT('a', 1, 'b', JSON_ARRAY(1, 2)) AS j"],
    ['a view over a JSON column', 'SELECT doc AS j FROM mj_view WHERE id = 1'],
  ]) {
    it(name, async () => {
      const [[refRow]] = await ref.query(sql)
      const [[row]] = await ours.query(sql)
      expect(typeof refRow.j).toBe('object')
      expect(typeof row.j).toBe('string')
      expect(JSON.parse(row.j)).toEqual(refRow.j)
    })
  }
})
