// Differential fidelity of lent connections and result metadata: the same
// operation on a mysql2 promise pool and on ours, same server, same checks.
//  1. `await using` / Symbol.asyncDispose / Symbol.dispose release a lent connection
//  2. core query()/execute() event sequences, and their .stream()'s, on
//     success and failure (a failing query's stream must emit 'end')
//  3. util.inspect(field) and field.inspect() as mysql2's ColumnDefinition
//  4. insertId of OK packets read as mysql2 reads it (signed 64-bit)
//  5. realm-independent value classification (a Date from another realm)
//  6. transaction helpers and ping: what the promise API resolves, and the
//     core API's callbacks
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import util from 'node:util'
import vm from 'node:vm'
import { pathToFileURL } from 'node:url'
import { createRequire } from 'node:module'
import { makePair, snap, diff } from './diff-helpers.mjs'

const require = createRequire(import.meta.url)
const srv = inject('mysqlServer')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Runs fn on mysql2's pool, then on ours, and expects equal results. */
async function both(pair, fn) {
  const ref = await fn(pair.ref, 'ref')
  const sut = await fn(pair.sut, 'sut')
  expect(sut).toEqual(ref)
  return ref
}

// ---------------------------------------------------------------------------
describe('1. disposing a lent connection releases it, as in mysql2', () => {
  let pair
  beforeAll(() => {
    pair = makePair(srv, { connectionLimit: 2 })
  })
  afterAll(() => pair.end())

  // mysql2 reads its core pool synchronously; ours answers from the native
  // pool, which learns of a release a moment later.
  const free = async (pool) => {
    await sleep(50)
    return pool.pool._freeConnections.length
  }

  it('the dispose methods exist where mysql2 has them', async () => {
    const shape = await both(pair, async (pool) => {
      const conn = await pool.getConnection()
      try {
        return {
          promiseAsync: typeof conn[Symbol.asyncDispose],
          promiseSync: typeof conn[Symbol.dispose],
          coreSync: typeof conn.connection[Symbol.dispose],
          coreAsync: typeof conn.connection[Symbol.asyncDispose],
        }
      } finally {
        conn.release()
      }
    })
    expect(shape).toEqual({ promiseAsync: 'function', promiseSync: 'undefined', coreSync: 'function', coreAsync: 'undefined' })
  })

  it('conn[Symbol.asyncDispose]() releases the connection (and again is harmless)', async () => {
    const seen = await both(pair, async (pool) => {
      const conn = await pool.getConnection()
      const [[row]] = await conn.query('SELECT 1 AS one')
      const before = await free(pool)
      const p = conn[Symbol.asyncDispose]()
      const isPromise = util.types.isPromise(p)
      const value = await p
      const after = await free(pool)
      await conn[Symbol.asyncDispose]()
      const again = await free(pool)
      return { row, before, isPromise, value: snap(value), after, again, all: pool.pool._allConnections.length }
    })
    expect(seen).toMatchObject({ before: 0, isPromise: true, after: 1, again: 1, all: 1 })
  })

  it('conn.connection[Symbol.dispose]() releases the core connection', async () => {
    const seen = await both(pair, async (pool) => {
      const conn = await pool.getConnection()
      const before = await free(pool)
      const value = conn.connection[Symbol.dispose]()
      const after = await free(pool)
      return { before, value: snap(value), after }
    })
    expect(seen).toEqual({ before: 0, value: { $undefined: true }, after: 1 })
  })

  it('`await using` (as TypeScript/esbuild compile it for Node 20) releases, also when the block throws', async () => {
    // Node 20 cannot parse `await using`; esbuild lowers it to the
    // Symbol.asyncDispose lookups that failed with "Object not disposable".
    const { transform } = await import('esbuild')
    const src = `
      export async function ok(pool) {
        let threadId
        {
          await using conn = await pool.getConnection()
          const [[r]] = await conn.query('SELECT CONNECTION_ID() AS id')
          threadId = r.id
        }
        return threadId
      }
      export async function fails(pool) {
        try {
          await using conn = await pool.getConnection()
          await conn.query('SELECT * FROM fidelity_no_such_table')
        } catch (e) {
          return e.code
        }
      }`
    const { code } = await transform(src, { target: 'node20', format: 'esm', loader: 'js' })
    expect(code).not.toMatch(/await using/)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nmp-using-'))
    const file = path.join(dir, 'using.mjs')
    fs.writeFileSync(file, code)
    try {
      const mod = await import(pathToFileURL(file).href)
      const seen = await both(pair, async (pool) => {
        const threadId = await mod.ok(pool)
        const afterOk = await free(pool)
        const code = await mod.fails(pool)
        const afterFail = await free(pool)
        return { threadId: typeof threadId, afterOk, code, afterFail }
      })
      expect(seen).toEqual({ threadId: 'number', afterOk: 1, code: 'ER_NO_SUCH_TABLE', afterFail: 1 })
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

// ---------------------------------------------------------------------------
describe('2. core query()/execute() and .stream(): the same events in the same order', () => {
  let pair
  beforeAll(async () => {
    pair = makePair(srv, { connectionLimit: 1, multipleStatements: true })
  })
  afterAll(() => pair.end())

  // One line per event: emitter (q = command, s = stream), name, and the
  // arguments' shape (mysql2 passes the result set index to some of them).
  const describeArgs = (name, args) => {
    if (name === 'error') return `(${args[0]?.code})`
    if (name === 'fields') return `(${args[0] === undefined ? 'none' : args[0].map((f) => f.name).join('|')};${args.length};${args[1]})`
    if (name === 'result') return `(${JSON.stringify(Array.isArray(args[0]) ? args[0] : snap(args[0]))};${args.length};${args[1]})`
    if (name === 'data') return `(${JSON.stringify(args[0])})`
    return ''
  }
  const record = (log, tag, em, names) => {
    for (const n of names) em.on(n, (...args) => log.push(`${tag}:${n}${describeArgs(n, args)}`))
  }
  const Q = ['error', 'fields', 'result', 'end']
  const S = ['error', 'fields', 'result', 'data', 'end', 'close']

  /**
   * Runs scenario(core, log) on a lent connection of each pool. It resolves
   * when the scenario is over; a pause after it catches late events.
   */
  const events = (scenario) => async (pool) => {
    const conn = await pool.getConnection()
    const log = []
    try {
      await scenario(conn.connection, log).catch((e) => log.push(`timeout: ${e.message}`))
      await sleep(50)
      return log
    } finally {
      conn.release()
    }
  }
  // Bounded, so a missing event shows up in the log instead of a hang.
  const ended = (em, name = 'end') =>
    Promise.race([
      new Promise((r) => em.once(name, r)),
      sleep(3000).then(() => {
        throw new Error(`no '${name}' within 3 s`)
      }),
    ])

  it("a failing query's stream emits 'error', 'end', 'close' (consumers awaiting 'end' do not hang)", async () => {
    const log = await both(
      pair,
      events(async (core, log) => {
        const q = core.query('SELECT * FROM fidelity_no_such_table')
        record(log, 'q', q, Q)
        const s = q.stream()
        record(log, 's', s, S)
        await ended(s)
      }),
    )
    expect(log).toEqual(['q:error(ER_NO_SUCH_TABLE)', 'q:end', 's:error(ER_NO_SUCH_TABLE)', 's:end', 's:close'])
  })

  it("a consumer that only awaits the stream's 'end' gets it on failure", async () => {
    const got = await both(pair, async (pool) => {
      const conn = await pool.getConnection()
      try {
        const s = conn.connection.query('SELECT * FROM fidelity_no_such_table').stream()
        let error = null
        s.on('error', (e) => {
          error = e.code
        })
        const outcome = await ended(s).then(
          () => 'end',
          () => 'hung',
        )
        return { outcome, error }
      } finally {
        conn.release()
      }
    })
    expect(got).toEqual({ outcome: 'end', error: 'ER_NO_SUCH_TABLE' })
  })

  it('a failing query without a stream: error, end', async () => {
    const log = await both(
      pair,
      events(async (core, log) => {
        const q = core.query('SELECT * FROM fidelity_no_such_table')
        record(log, 'q', q, Q)
        await ended(q)
      }),
    )
    expect(log).toEqual(['q:error(ER_NO_SUCH_TABLE)', 'q:end'])
  })

  it('a succeeding query and its stream: fields and results re-emitted by the stream, then end, close', async () => {
    const log = await both(
      pair,
      events(async (core, log) => {
        const q = core.query('SELECT 1 AS a UNION SELECT 2')
        record(log, 'q', q, Q)
        const s = q.stream()
        record(log, 's', s, S)
        await ended(s, 'close')
      }),
    )
    expect(log).toContain('s:result([object Object];2;0)'.replace('[object Object]', JSON.stringify({ $keys: ['a'], a: 1 })))
    expect(log.slice(-3)).toEqual(['q:end', 's:end', 's:close'])
  })

  it('a paused stream (no data listener) until resumed', async () => {
    await both(
      pair,
      events(async (core, log) => {
        const q = core.query('SELECT 1 AS a UNION SELECT 2')
        record(log, 'q', q, Q)
        const s = q.stream()
        record(log, 's', s, ['error', 'fields', 'result', 'end', 'close'])
        await sleep(30)
        log.push('resume')
        s.resume()
        await ended(s, 'close')
      }),
    )
  })

  it('an OK packet: fields (none), result (the header), end', async () => {
    const log = await both(
      pair,
      events(async (core, log) => {
        const q = core.query('DO 1')
        record(log, 'q', q, Q)
        const s = q.stream()
        record(log, 's', s, S)
        await ended(s, 'close')
      }),
    )
    expect(log[0]).toBe('q:fields(none;1;undefined)')
  })

  it('multiple statements: per result set fields and results with the set index', async () => {
    const log = await both(
      pair,
      events(async (core, log) => {
        const q = core.query('SELECT 1 AS a; DO 1; SELECT 2 AS b, 3 AS c')
        record(log, 'q', q, Q)
        const s = q.stream()
        record(log, 's', s, S)
        await ended(s, 'close')
      }),
    )
    expect(log.filter((l) => l.startsWith('q:fields'))).toHaveLength(3)
  })

  it('multiple statements without a stream', async () => {
    await both(
      pair,
      events(async (core, log) => {
        const q = core.query('SELECT 1 AS a; DO 1; SELECT 2 AS b, 3 AS c')
        record(log, 'q', q, Q)
        await ended(q)
      }),
    )
  })

  it('a stream whose query fails after an earlier statement succeeded: error, end, close', async () => {
    // mysql2 delivers the first statement's rows before the error; the
    // native side fails the whole command, so rows are left out here.
    const log = await both(pair, async (pool) =>
      (
        await events(async (core, log) => {
          const q = core.query('SELECT 1 AS a; SELECT * FROM fidelity_no_such_table')
          record(log, 'q', q, ['error', 'end'])
          const s = q.stream()
          record(log, 's', s, ['error', 'data', 'end', 'close'])
          await ended(s, 'close')
        })(pool)
      ).filter((l) => !l.startsWith('s:data')),
    )
    expect(log).toEqual(['q:error(ER_NO_SUCH_TABLE)', 'q:end', 's:error(ER_NO_SUCH_TABLE)', 's:end', 's:close'])
  })

  it('callbacks: failure before end; success after end, with (err, rows[, fields]); rows not emitted', async () => {
    const cb =
      (log) =>
      (...args) =>
        log.push(`cb(${args[0]?.code ?? args[0]};${args.length};${Array.isArray(args[1]) ? args[1].length : typeof args[1]})`)
    const log = await both(
      pair,
      events(async (core, log) => {
        for (const sql of ['SELECT * FROM fidelity_no_such_table', 'SELECT 1 AS a UNION SELECT 2', 'DO 1', 'SELECT 1 AS a; DO 1']) {
          const q = core.query(sql, cb(log))
          record(log, 'q', q, Q)
          await ended(q)
          await sleep(10)
        }
        const q = core.query('SELECT ? AS v', [7], cb(log))
        record(log, 'q', q, Q)
        const s = q.stream()
        record(log, 's', s, S)
        await ended(s, 'close')
      }),
    )
    expect(log.slice(0, 2)).toEqual(['cb(ER_NO_SUCH_TABLE;1;undefined)', 'q:end'])
  })

  it("execute(): 'fields' carries the set index; its stream fails and ends like query()'s", async () => {
    const log = await both(
      pair,
      events(async (core, log) => {
        const q = core.execute('SELECT ? AS v UNION SELECT 2', [1])
        record(log, 'q', q, Q)
        const s = q.stream()
        record(log, 's', s, S)
        await ended(s, 'close')
        // mysql2 emits the command's 'end' twice when preparing fails, so
        // only the stream is compared here
        const s2 = core.execute('SELECT * FROM fidelity_no_such_table').stream()
        record(log, 's2', s2, S)
        await ended(s2, 'close')
      }),
    )
    expect(log.slice(-3)).toEqual(['s2:error(ER_NO_SUCH_TABLE)', 's2:end', 's2:close'])
  })

  it("a stream destroyed early still emits 'end' before 'close', and the command completes", async () => {
    // Where the command's own end falls relative to the stream's close
    // depends on when the rest arrives, so each emitter is compared alone.
    const split = (log) => ({ q: log.filter((l) => l.startsWith('q:')), s: log.filter((l) => !l.startsWith('q:')) })
    for (const err of [false, true]) {
      const seen = await both(pair, async (pool) =>
        split(
          await events(async (core, log) => {
            const q = core.query('SELECT seq FROM seq_1_to_2000')
            record(log, 'q', q, ['error', 'fields', 'end'])
            const s = q.stream()
            record(log, 's', s, ['error', 'fields', 'end', 'close'])
            let n = 0
            s.on('data', () => {
              if (++n === 3) {
                log.push('destroy')
                s.destroy(err ? Object.assign(new Error('stop'), { code: 'STOP' }) : undefined)
              }
            })
            await Promise.all([ended(q), ended(s, 'close')])
          })(pool),
        ),
      )
      expect(seen.s).toEqual(['s:fields(seq;1;undefined)', 'destroy', ...(err ? ['s:error(STOP)'] : []), 's:end', 's:close'])
      expect(seen.q).toEqual(['q:fields(seq;1;undefined)', 'q:end'])
    }
  })

  it('streamed rows equal the rows of the promise API (many rows, small buffer, slow consumer)', async () => {
    await both(pair, async (pool) => {
      const conn = await pool.getConnection()
      try {
        const rows = []
        const s = conn.connection.query('SELECT seq, CONCAT("r", seq) AS label FROM seq_1_to_5000').stream({ highWaterMark: 4 })
        for await (const row of s) {
          rows.push(row)
          if (rows.length % 1000 === 0) await sleep(5)
        }
        const [all] = await conn.query('SELECT seq, CONCAT("r", seq) AS label FROM seq_1_to_5000')
        expect(rows).toEqual(all)
        return rows.length
      } finally {
        conn.release()
      }
    })
  })
})

// ---------------------------------------------------------------------------
describe('3. column definitions print as mysql2 prints them', () => {
  let pair
  beforeAll(async () => {
    pair = makePair(srv)
    await pair.ref.query('DROP TABLE IF EXISTS fidelity_cols')
    await pair.ref.query(`CREATE TABLE fidelity_cols (
      id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, i INT, ti TINYINT NOT NULL DEFAULT 0, tu TINYINT UNSIGNED,
      si SMALLINT, su SMALLINT UNSIGNED, mi MEDIUMINT, mu MEDIUMINT UNSIGNED, bi BIGINT UNIQUE,
      bu BIGINT(10) UNSIGNED ZEROFILL, d DOUBLE, d2 DOUBLE(10,3), f FLOAT, f2 FLOAT(7,2), dec1 DECIMAL,
      dec2 DECIMAL(13), dec3 DECIMAL(13,9), decu DECIMAL(8) UNSIGNED, v VARCHAR(20), vb VARBINARY(16),
      c CHAR(3), t TEXT, tt TINYTEXT, mt MEDIUMTEXT, lt LONGTEXT, b BLOB, e ENUM('a','b'), st SET('x','y'),
      dt DATE, dtt DATETIME(3), ts TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
      tm TIME, y YEAR, bit1 BIT(3), j JSON, g POINT, KEY (i))`)
  })
  afterAll(async () => {
    await pair.ref.query('DROP TABLE IF EXISTS fidelity_cols')
    await pair.end()
  })

  const SQL = 'SELECT *, 1 AS one, 1.5 AS onef, NULL AS n, NOW() AS now, _binary"x" AS bx FROM fidelity_cols LIMIT 0'

  it('util.inspect(field), field.inspect(), nested and shallow, for query() and execute()', async () => {
    const printed = await both(pair, async (pool) => {
      const [, fields] = await pool.query(SQL)
      const [, efields] = await pool.execute('SELECT id, v, d, dec3, CAST(1 AS SIGNED) AS x FROM fidelity_cols LIMIT 0')
      return {
        top: fields.map((f) => util.inspect(f)),
        method: fields.map((f) => f.inspect()),
        methodPrinted: fields.map((f) => util.inspect(f.inspect())),
        shallow: fields.map((f) => util.inspect(f, { depth: 0 })),
        list: util.inspect(fields),
        deep: util.inspect({ a: { b: fields[0] } }, { depth: 5 }),
        colors: util.inspect(fields[2], { colors: true }),
        execute: util.inspect(efields),
      }
    })
    expect(printed.list).toContain('`id` INT UNSIGNED NOT NULL PRIMARY KEY AUTO_INCREMENT')
    expect(printed.list).toContain('`bu` BIGINT(10) UNSIGNED ZEROFILL')
    expect(printed.top[0]).toContain("typeName: 'LONG'")
    expect(Object.keys(printed.method[0])).toEqual([
      'catalog',
      'schema',
      'name',
      'orgName',
      'table',
      'orgTable',
      'characterSet',
      'encoding',
      'columnLength',
      'type',
      'flags',
      'decimals',
    ])
  })
})

// ---------------------------------------------------------------------------
describe('4. insertId as mysql2 reads it: signed 64-bit, a number when safe', () => {
  const STATEMENTS = [
    'INSERT INTO fidelity_sid (id) VALUES (-5)',
    'INSERT INTO fidelity_sid (x) VALUES (1)',
    'INSERT INTO fidelity_sid (id) VALUES (-9007199254740991)',
    'INSERT INTO fidelity_sid (id) VALUES (-9007199254740992)',
    'INSERT INTO fidelity_sid (id) VALUES (-9007199254740993)',
    'INSERT INTO fidelity_sid (id) VALUES (9007199254740991)',
    'INSERT INTO fidelity_sid (id) VALUES (9007199254740993)',
    'INSERT INTO fidelity_sid (id) VALUES (-9223372036854775808)',
    'INSERT INTO fidelity_sid (id) VALUES (9223372036854775807)',
    'INSERT INTO fidelity_uid (id) VALUES (4294967296)',
    'INSERT INTO fidelity_uid (id) VALUES (9007199254740992)',
    'INSERT INTO fidelity_uid (id) VALUES (18014398509481984)',
    'INSERT INTO fidelity_uid (id) VALUES (9223372036854775808)',
    'INSERT INTO fidelity_uid (id) VALUES (18446744073709551614)',
    'INSERT INTO fidelity_uid (id) VALUES (18446744073709551615)',
    'SELECT LAST_INSERT_ID(-1) AS lii',
    'DO 1',
    'UPDATE fidelity_sid SET x = LAST_INSERT_ID(-3) WHERE id = -5',
    'UPDATE fidelity_sid SET x = LAST_INSERT_ID(18446744073709551615) WHERE id = -5',
    'UPDATE fidelity_sid SET x = LAST_INSERT_ID(9007199254740993) WHERE id = -5',
  ]
  const reset = (pool) => async () => {
    await pool.query('DROP TABLE IF EXISTS fidelity_sid, fidelity_uid')
    await pool.query('CREATE TABLE fidelity_sid (id BIGINT AUTO_INCREMENT PRIMARY KEY, x BIGINT UNSIGNED)')
    await pool.query('CREATE TABLE fidelity_uid (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY)')
  }
  // On one lent connection, so LAST_INSERT_ID() carries from one statement
  // to the next; execute() runs the INSERTs again on fresh tables.
  const run = async (pool) => {
    const conn = await pool.getConnection()
    try {
      const out = []
      for (const sql of STATEMENTS) {
        const [res] = await conn.query(sql)
        out.push([sql, snap(res)])
      }
      // (TRUNCATE also restarts AUTO_INCREMENT, which the big ids used up)
      await conn.query('TRUNCATE TABLE fidelity_sid')
      await conn.query('TRUNCATE TABLE fidelity_uid')
      for (const sql of STATEMENTS.filter((s) => s.startsWith('INSERT'))) {
        const [res] = await conn.execute(sql)
        out.push([`execute: ${sql}`, snap(res.insertId), typeof res.insertId])
      }
      return out
    } finally {
      conn.release()
    }
  }

  const variants = [
    ['default options', {}],
    ['supportBigNumbers', { supportBigNumbers: true }],
  ]
  for (const [label, opts] of variants) {
    it(`${label}: every header equals mysql2's`, async () => {
      const pair = makePair(srv, opts)
      try {
        const { ok: ref } = await diff(pair, run, { reset: reset(pair.ref) })
        expect(ref, 'mysql2 ran every statement').toBeDefined()
        const byId = Object.fromEntries(ref.filter((r) => r.length === 2 && r[1].$header).map(([sql, h]) => [sql, h.insertId]))
        // anchors: what mysql2 itself answers
        expect(byId['INSERT INTO fidelity_sid (id) VALUES (-5)']).toBe(-5)
        expect(byId['INSERT INTO fidelity_uid (id) VALUES (18446744073709551615)']).toBe(-1)
        expect(byId['INSERT INTO fidelity_sid (id) VALUES (-9007199254740993)']).toBe('-9007199254740993')
        expect(byId['UPDATE fidelity_sid SET x = LAST_INSERT_ID(-3) WHERE id = -5']).toBe(-3)
      } finally {
        await pair.end()
      }
    })
  }

  // mysql2 reads insertId with its connection's bigNumberStrings: every
  // value beyond 53 bits (so every negative one) stays a string. Ours needs
  // lib/pool.js to pass config.bigNumberStrings to ResultSetHeader (its 8th
  // argument); until it does these differ, so they are expected to fail.
  for (const [label, opts] of [
    ['supportBigNumbers + bigNumberStrings', { supportBigNumbers: true, bigNumberStrings: true }],
    ['bigNumberStrings alone', { bigNumberStrings: true }],
  ]) {
    it(`${label}: every header equals mysql2's`, async () => {
      const pair = makePair(srv, opts)
      try {
        const { ok } = await diff(pair, run, { reset: reset(pair.ref) })
        // not a pass by both failing alike
        expect(ok).toBeDefined()
      } finally {
        await pair.end()
      }
    })
  }

  it('ResultSetHeader given bigNumberStrings answers what mysql2 answers with it', async () => {
    const { ResultSetHeader } = require('../../lib/index.js')
    const pair = makePair(srv, { bigNumberStrings: true })
    try {
      await reset(pair.ref)()
      const conn = await pair.ref.getConnection()
      const cases = []
      try {
        for (const sql of STATEMENTS.filter((s) => s.startsWith('INSERT') || s.startsWith('UPDATE'))) {
          const [h] = await conn.query(sql)
          cases.push(h.insertId)
        }
      } finally {
        conn.release()
      }
      // The native side's form: a number below 2^53, else the signed
      // decimal along with it (src/boundary.rs, header()).
      const ours = cases.map((id) => {
        const u = BigInt.asUintN(64, BigInt(id))
        const big = u >= 2n ** 53n ? BigInt.asIntN(64, u).toString() : null
        const num = Number(BigInt.asIntN(64, u))
        return {
          flag: new ResultSetHeader(1, num, 0, 2, '', big, null, true).insertId,
          noFlag: new ResultSetHeader(1, num, 0, 2, '', big, null, false).insertId,
        }
      })
      expect(ours.map((o) => o.flag)).toEqual(cases)
      expect(cases).toContain('-5')
      expect(ours.find((o) => o.flag === '-5').noFlag).toBe(-5)
    } finally {
      await pair.end()
    }
  })
})

// ---------------------------------------------------------------------------
describe('5. values from another realm are classified as in this one', () => {
  let pair
  beforeAll(() => {
    pair = makePair(srv)
  })
  afterAll(() => pair.end())

  const foreign = () => vm.runInNewContext('({ d: new Date(Date.UTC(2024, 1, 29, 12, 34, 56)), a: [1, 2, 3], u: new Uint8Array([1, 2, 255]) })')

  it('a Date, an array and a typed array made in a vm context, as query() values (promise and core API)', async () => {
    const f = foreign()
    expect(f.d instanceof Date).toBe(false)
    await both(pair, async (pool) => {
      const conn = await pool.getConnection()
      try {
        const [rows] = await conn.query('SELECT ? AS d, ? AS a, HEX(?) AS u', [f.d, f.a, f.u])
        const core = await new Promise((resolve, reject) => {
          conn.connection.query('SELECT ? AS d, ? AS a', [f.d, f.a], (err, r) => (err ? reject(err) : resolve(r)))
        })
        return snap([rows, core])
      } finally {
        conn.release()
      }
    })
  })

  // execute() binds a Date as DATETIME; mysql2 tells a Date by its tag, so
  // one from any realm (lib/pool.js executeParams() must do the same).
  it('a Date made in a vm context, as an execute() value', async () => {
    const f = foreign()
    const got = await both(pair, async (pool) => {
      const conn = await pool.getConnection()
      try {
        const [rows] = await conn.execute('SELECT ? AS d, ? AS a', [f.d, f.a])
        return snap(rows)
      } finally {
        conn.release()
      }
    })
    expect(got[0].d).toEqual({ $date: '2024-02-29T12:34:56.000Z' })
  })
})

// ---------------------------------------------------------------------------
describe('6. transaction helpers and ping resolve and call back as in mysql2', () => {
  let pair
  beforeAll(() => {
    pair = makePair(srv)
  })
  afterAll(() => pair?.end())

  it('beginTransaction(), commit() and rollback() resolve [ResultSetHeader, undefined]; ping() true', async () => {
    const ref = await diff(pair, async (pool) => {
      const conn = await pool.getConnection()
      try {
        const out = [await conn.beginTransaction(), await conn.query('SELECT 1 AS a'), await conn.commit(), await conn.rollback(), await conn.ping()]
        return out.map((r) => (Array.isArray(r) ? [r[0].constructor.name, r[0].serverStatus & 1, r[1] === undefined ? 'no fields' : r[1].length] : r))
      } finally {
        conn.release()
      }
    })
    expect(ref.ok[0]).toEqual(['ResultSetHeader', 1, 'no fields'])
    expect(ref.ok[2]).toEqual(['ResultSetHeader', 0, 'no fields'])
  })

  it("the core connection's beginTransaction(cb), commit(cb), rollback(cb) and ping(cb)", async () => {
    const ref = await diff(pair, async (pool) => {
      const conn = await pool.getConnection()
      const core = conn.connection
      const call = (name, ...args) =>
        new Promise((resolve) => {
          core[name](...args, (...cbArgs) => resolve(cbArgs.map((a) => (a === undefined ? 'undefined' : a === null ? null : a.constructor.name))))
        })
      try {
        return [await call('beginTransaction'), await call('query', 'SELECT 1 AS a'), await call('commit'), await call('rollback'), await call('ping')]
      } finally {
        conn.release()
      }
    })
    expect(ref.ok[0]).toEqual([null, 'ResultSetHeader'])
    expect(ref.ok[4]).toEqual([])
  })
})
