// Seeded fuzzing of createPool options, bound values and raw SQL. Every
// call must settle with a result or an Error carrying a string `code`, and
// the pool must still answer afterwards. Reproduce a failure with
// FUZZ_SEED=<seed printed in the failure> npx vitest run __test__/resilience/fuzz.test.mjs
import { describe, it, expect, inject, beforeAll, afterAll } from 'vitest'
import { createRequire } from 'node:module'
import { createPool, prng, connOpts, settled } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { OPTIONS } = require('../../lib/config.js')

const SEED = Number(process.env.FUZZ_SEED ?? 20261122)
const srv = inject('mysqlServer')
const OPTION_CODES = new Set(['ERR_INVALID_POOL_OPTION', 'ERR_UNSUPPORTED_OPTION'])

// ---------------------------------------------------------------------------
// Value generators

function randomString(r, maxLen = 24) {
  const n = r.int(maxLen + 1)
  let s = ''
  // biome-ignore format: one kind of character a line, with its comment
  for (let i = 0; i < n; i++) {
    const k = r.int(10)
    if (k < 4) s += String.fromCharCode(32 + r.int(95)) // printable ASCII
    else if (k === 4) s += r.pick(["'", '"', '`', '\\', '\0', '\n', '\r', '\x1a', '?', '??', ';', '--', '/*', '*/', '#'])
    else if (k === 5) s += String.fromCharCode(0xd800 + r.int(0x800)) // lone surrogate
    else if (k === 6) s += String.fromCodePoint(0x1f300 + r.int(0x300)) // emoji
    else if (k === 7) s += String.fromCharCode(0x80 + r.int(0x700)) // Latin-1 .. Cyrillic
    else if (k === 8) s += String.fromCharCode(0x4e00 + r.int(0x5000)) // CJK
    else s += String.fromCharCode(r.int(32)) // control
  }
  return s
}

// Thrown by a getter in the caller's own object: propagating it unchanged is
// fine (it is the caller's exception, not ours).
class UserGetterError extends Error {}

// biome-ignore format: a list of values
const NUMBERS = [0, -0, 1, -1, 0.5, -2.75, 3, 10, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1e9, 1e21, 1e308, -1e308, 5e-324, Number.EPSILON, NaN, Infinity, -Infinity]

function randomValue(r, depth = 0) {
  // biome-ignore format: a table, one case a line
  switch (r.int(depth > 2 ? 12 : 17)) {
    case 0: return undefined
    case 1: return null
    case 2: return r.bool()
    case 3: return r.pick(NUMBERS)
    case 4: return (r.next() - 0.5) * 10 ** r.int(20)
    case 5: return r.int(2 ** 31) - 2 ** 30
    case 6: return randomString(r)
    case 7: return r.pick(['', ' ', '0', '1', '-1', '1e3', '0x10', ' 5 ', 'true', 'null', 'auto', 'always', 'never', 'local', 'Z', '+05:30', ' 05:30', 'TLSv1.2', 'TLSv1.3', 'utf8mb4', 'latin1', 'UTF8MB4_UNICODE_CI', 'mysql://u:p@127.0.0.1:1/db', 'Amazon RDS', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'])
    case 8: return r.pick([0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n, 12345678901234567890n])
    case 9: return Symbol(randomString(r, 4))
    case 10: return Buffer.from(Array.from({ length: r.int(16) }, () => r.int(256)))
    case 11: return r.bool() ? new Date(r.int(4e12) - 1e12) : new Date(NaN)
    case 12: return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1))
    case 13: {
      const o = {}
      for (let i = r.int(4); i > 0; i--) o[r.bool() ? randomString(r, 6) : r.pick(['ca', 'cert', 'key', 'rejectUnauthorized', 'verifyIdentity', 'minVersion', 'a', 'sql', 'toJSON'])] = randomValue(r, depth + 1)
      return o
    }
    case 14: return r.pick([() => 1, function named() {}, async () => {}, class X {}])
    case 15: return r.pick([new Map([[1, 2]]), new Set([1]), new Uint8Array([1, 2, 3]), new Float64Array([1.5]), Object.create(null), new Error('boom'), /re/g, Promise.resolve(1)])
    default: {
      const a = []
      a.push(a) // cyclic
      return r.bool() ? a : { self: null, get boom() { throw new UserGetterError('getter') } }
    }
  }
}

// A value that is valid (or nearly) for an option kind of lib/config.js, so
// that a fair share of configs construct and reach the native side.
function plausible(r, kind) {
  // biome-ignore format: a table, one case a line
  switch (kind) {
    case 'string': return r.bool() ? randomString(r, 12) : r.pick(['127.0.0.1', 'localhost', 'test', 'napi', ''])
    case 'bool': return r.pick([true, false, 0, 1])
    case 'port': return r.pick([1, 3306, 65535, 0, '1'])
    case 'ms': return r.pick([0, 1, 50, 500, 1000, 60000, 2 ** 31, 1e15, 0.5, '100'])
    case 'count': return r.pick([0, 1, 2, 10, 1000, 2 ** 31, '3'])
    case 'count1': return r.pick([1, 2, 10, 1000, 2 ** 31, '5'])
    case 'timezone': return r.pick(['local', 'Z', '+05:30', '-08:00', ' 01:00', '+14:00'])
    case 'dateStrings': return r.pick([true, false, ['DATE'], ['DATETIME', 'TIMESTAMP'], []])
    case 'typeCast': return r.pick([true, false, (f, next) => next()])
    case 'nestTables': return r.pick([true, false, '_', ''])
    case 'function': return (sql) => sql
    case 'object': return r.pick([{}, { utilizationWarning: 50 }, { waitingWarning: -1 }])
    case 'stringArray': return r.pick([[], ['SET @a = 1'], [randomString(r, 10)]])
    case 'reset': return r.pick([true, false, 'auto', 'always', 'never'])
    case 'ssl': return r.pick([undefined, null, false, true, {}, { rejectUnauthorized: false }, { ca: [] }, { minVersion: 'TLSv1.2' }, { maxVersion: 'TLSv1.3' }, { servername: 'x' }])
    default: return randomValue(r)
  }
}

// biome-ignore format: a list of keys
const GARBAGE_KEYS = ['foo', '', ' ', 'Host', 'HOST', 'connection_limit', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'sslMode', 'pool', 'flags', 'compress', 'localAddress', 'authPlugins', 'stream', 'connectAttributes', 'insecureAuth', 'enableCleartextPlugin', 'passwordSha1', '__proto__']

function describeValue(v, depth = 0) {
  if (typeof v === 'bigint') return `${v}n`
  if (typeof v === 'symbol' || typeof v === 'function') return String(v).slice(0, 40)
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v)
  if (v instanceof Date) return `Date(${v.getTime()})`
  if (Buffer.isBuffer(v)) return `Buffer(${v.toString('hex')})`
  if (v && typeof v === 'object') {
    if (depth > 2) return '{…}'
    try {
      if (Array.isArray(v)) return `[${v.map((x) => (x === v ? '<cycle>' : describeValue(x, depth + 1))).join(', ')}]`
      return `{${Object.keys(v)
        .map((k) => `${JSON.stringify(k)}: ${describeValue(Object.getOwnPropertyDescriptor(v, k).value, depth + 1)}`)
        .join(', ')}}`
    } catch {
      return '<object>'
    }
  }
  return JSON.stringify(v)
}

// ---------------------------------------------------------------------------

describe(`createPool option fuzz (seed ${SEED})`, () => {
  it('every config constructs or throws a TypeError with an option code', async () => {
    const r = prng(SEED)
    const keys = [...Object.keys(OPTIONS), ...GARBAGE_KEYS]
    const violations = new Map() // "code|name|message head" -> example
    let constructed = 0
    let refused = 0
    const made = []
    const N = 5000
    for (let i = 0; i < N; i++) {
      let input
      const shape = r.int(20)
      if (shape === 0)
        input = randomValue(r) // not an object at all
      else if (shape === 1) input = `mysql://${randomString(r, 8)}@127.0.0.1:1/${randomString(r, 6)}?${randomString(r, 10)}`
      else {
        // Nothing listens on port 1: a pool that starts connecting fails fast.
        input = { host: '127.0.0.1', port: 1, connectTimeout: 500 }
        for (let k = r.int(6); k >= 0; k--) {
          const key = r.next() < 0.85 ? r.pick(keys) : randomString(r, 8)
          const value = OPTIONS[key] && r.next() < 0.75 ? plausible(r, OPTIONS[key]) : randomValue(r)
          Object.defineProperty(input, key, { value, enumerable: true, configurable: true, writable: true })
        }
        // Keeps the run bounded: minIdle opens that many connections at once
        // (a huge minIdle with a huge connectionLimit is tried separately).
        if (typeof input.minIdle === 'number' && input.minIdle > 50) input.minIdle = 50
        if (typeof input.minIdle === 'string' && Number(input.minIdle) > 50) input.minIdle = 50
      }
      let pool
      try {
        pool = createPool(input)
      } catch (e) {
        refused++
        // A shared: true pool whose name is taken by an open pool with other
        // settings is a conflict with that pool, not a bad option.
        const conflict = e instanceof TypeError && e.code === 'ERR_SHARED_POOL_MISMATCH'
        const ok = (e instanceof TypeError && OPTION_CODES.has(e.code)) || conflict || e instanceof UserGetterError
        if (!ok) {
          const k = `${e?.code}|${e?.constructor?.name}`
          if (!violations.has(k))
            violations.set(k, {
              i,
              code: e?.code,
              type: e?.constructor?.name,
              message: String(e?.message).slice(0, 160),
              input: describeValue(input).slice(0, 300),
            })
        }
        continue
      }
      constructed++
      made.push(pool)
      if (made.length >= 50) await Promise.all(made.splice(0).map((p) => p.end()))
    }
    await Promise.all(made.splice(0).map((p) => p.end()))
    console.log(`[fuzz] options: ${constructed} constructed, ${refused} refused, ${violations.size} kinds of unexpected error`)
    expect(constructed).toBeGreaterThan(100)
    expect(refused).toBeGreaterThan(100)
    expect([...violations.values()]).toEqual([])
  }, 60_000)

  it('option errors found outside the option table (native side, URI decoding) carry the documented option codes', () => {
    const codeOf = (opts) => {
      try {
        createPool(typeof opts === 'string' ? opts : { host: '127.0.0.1', port: 1, ...opts }).end()
        return 'constructed'
      } catch (e) {
        return `${e.constructor.name} ${e.code}`
      }
    }
    const want = 'TypeError ERR_INVALID_POOL_OPTION'
    // A real charset whose text cannot be converted is ERR_UNSUPPORTED_OPTION;
    // one MySQL does not know is an invalid option (src/charset.rs).
    expect({
      badCharset: codeOf({ charset: 'utf8; DROP' }),
      unknownCharset: codeOf({ charset: 'napi' }),
      convertible: codeOf({ charset: 'latin1' }),
      otherCharset: codeOf({ charset: 'dec8' }),
      notPem: codeOf({ ssl: { ca: 'junk' } }),
      certWithoutKey: codeOf({ ssl: { cert: 'x' } }),
      malformedUriEscape: codeOf('mysql://user:p%ZZ@127.0.0.1:1/db'),
      malformedUriEscapeInOption: codeOf({ uri: 'mysql://u@127.0.0.1:1/%' }),
    }).toEqual({
      badCharset: want,
      unknownCharset: want,
      convertible: 'constructed',
      otherCharset: 'TypeError ERR_UNSUPPORTED_OPTION',
      notPem: want,
      certWithoutKey: want,
      malformedUriEscape: want,
      malformedUriEscapeInOption: want,
    })
  })
})

// Twice: 500 commands at a time on 8 connections queue, so with pipelining
// most of them ride pipelines (src/pipeline.rs; pipelineWrites, so not only
// plain SELECTs), junk SQL and errors included.
// Each command's outcome (ok, or its error code) must be the same both times.
const outcomes = { 0: new Map(), 8: new Map() }
for (const pipelining of [0, 8])
  describe(`bound values and raw SQL fuzz (seed ${SEED}, pipelining ${pipelining})`, () => {
    let pool
    beforeAll(() => {
      pool = createPool({ ...connOpts(srv), connectionLimit: 8, endTimeout: 1000, pipelining, pipelineWrites: true })
    })
    afterAll(async () => {
      await pool?.end()
    })

    // Settles, and a rejection is an Error with a string code.
    async function outcome(p) {
      try {
        return { ok: true, v: await p }
      } catch (e) {
        return { ok: false, e }
      }
    }
    function badRejection(e) {
      if (e instanceof UserGetterError) return false
      return !(e instanceof Error) || typeof e.code !== 'string' || e.code === ''
    }

    it('random parameter values through query() and execute() settle with rows or coded errors, and round-trip', async () => {
      const r = prng(SEED + 1)
      const violations = new Map()
      const mismatches = []
      const tally = { ok: 0, err: 0 }
      const N = 4000
      for (let start = 0; start < N; start += 250) {
        const batch = []
        for (let i = start; i < Math.min(N, start + 250); i++) {
          const x = r.int(4) === 0 ? randomString(r, r.bool() ? 2000 : 40) : randomValue(r)
          for (const method of ['query', 'execute']) {
            batch.push(
              (async () => {
                let p
                try {
                  p = pool[method]('SELECT ? AS v', [x])
                } catch (e) {
                  return { i, method, x, res: { ok: false, e, sync: true } }
                }
                return { i, method, x, res: await outcome(p) }
              })(),
            )
          }
        }
        for (const { i, method, x, res } of await Promise.all(batch)) {
          outcomes[pipelining].set(`v${i}${method}`, res.ok ? 'ok' : res.e?.code)
          if (res.sync) {
            violations.set(`sync throw ${method}`, { i, message: String(res.e?.message) })
            continue
          }
          if (res.ok) {
            tally.ok++
            const rows = res.v[0]
            if (!Array.isArray(rows) && method === 'execute') continue
            // Round trips that must be exact, both protocols.
            if (typeof x === 'string' && Array.isArray(rows) && rows.length === 1) {
              if (rows[0].v !== x.toWellFormed()) mismatches.push({ i, method, x: describeValue(x).slice(0, 80), got: describeValue(rows[0].v).slice(0, 80) })
            } else if (Number.isSafeInteger(x) && !Object.is(x, -0) && Array.isArray(rows) && rows.length === 1) {
              if (rows[0].v !== x) mismatches.push({ i, method, x, got: describeValue(rows[0].v) })
            } else if (Buffer.isBuffer(x) && method === 'query' && Array.isArray(rows) && rows.length === 1) {
              if (!Buffer.isBuffer(rows[0].v) || !rows[0].v.equals(x)) mismatches.push({ i, method, x: describeValue(x), got: describeValue(rows[0].v) })
            }
          } else {
            tally.err++
            if (badRejection(res.e)) {
              const k = `${method}|${res.e?.constructor?.name}|${res.e?.code}|${String(res.e?.message).slice(0, 30)}`
              if (!violations.has(k))
                violations.set(k, {
                  i,
                  method,
                  type: res.e?.constructor?.name,
                  code: res.e?.code,
                  message: String(res.e?.message).slice(0, 120),
                  x: describeValue(x).slice(0, 200),
                })
            }
          }
        }
      }
      console.log(
        `[fuzz] values: ${tally.ok} resolved, ${tally.err} rejected, ${violations.size} kinds of uncoded rejection, ${mismatches.length} round-trip mismatches`,
      )
      expect(tally.ok).toBeGreaterThan(1000)
      expect(mismatches.slice(0, 10)).toEqual([])
      expect([...violations.values()]).toEqual([])
      await settled(pool)
      expect((await pool.query('SELECT 1 AS one'))[0]).toEqual([{ one: 1 }])
    }, 60_000)

    // ACCEPTED DIFFERENCE (README "Known differences"): mysql_async can only
    // bind bytes as VAR_STRING (no BLOB parameter type), so an execute() Buffer
    // is a string in the connection charset on the server. Stored into binary
    // columns it is byte-exact; echoed back by `SELECT ?` it is text.
    it('Buffers bound with execute() are byte-exact in binary columns (echo is text: accepted difference)', async () => {
      const buf = Buffer.from([0x00, 0xff, 0xc3, 0x28, 0x80])
      const conn = await pool.getConnection()
      try {
        await conn.query('CREATE TEMPORARY TABLE fz_bin (b BLOB, vb VARBINARY(8))')
        await conn.execute('INSERT INTO fz_bin VALUES (?, ?)', [buf, buf])
        const [[row]] = await conn.execute('SELECT b, vb, b = ? AS same, CHARSET(?) AS cs FROM fz_bin', [buf, buf])
        expect(row.b.equals(buf)).toBe(true)
        expect(row.vb.equals(buf)).toBe(true)
        expect(row.same).toBe(1)
        expect(row.cs).toBe('utf8mb4')
      } finally {
        conn.release()
      }
    })

    it('a result whose only binary cells are empty decodes (empty Buffer, not a crash)', async () => {
      const got = {}
      for (const method of ['query', 'execute']) {
        for (const [name, sql, values] of [
          ['literal', "SELECT X'' AS v", undefined],
          ['param', 'SELECT ? AS v', [Buffer.alloc(0)]],
          ['cast', "SELECT CAST('' AS BINARY) AS v", undefined],
        ]) {
          // execute() with a Buffer parameter is the Buffer test above.
          if (method === 'execute' && name === 'param') continue
          try {
            const [rows] = await pool[method](sql, values)
            got[`${method} ${name}`] = Buffer.isBuffer(rows[0].v) ? `Buffer(${rows[0].v.length})` : typeof rows[0].v
          } catch (e) {
            got[`${method} ${name}`] = `${e.code}: ${e.message}`
          }
        }
      }
      expect(got).toEqual({
        'query literal': 'Buffer(0)',
        'query param': 'Buffer(0)',
        'query cast': 'Buffer(0)',
        'execute literal': 'Buffer(0)',
        'execute cast': 'Buffer(0)',
      })
    })

    it('values the formatter cannot encode reject with ERR_INVALID_PARAMETER', async () => {
      const cyclic = []
      cyclic.push(cyclic)
      const cases = {
        'execute object with BigInt': pool.execute('SELECT ? AS v', [{ a: 1n }]),
        'execute cyclic array': pool.execute('SELECT ? AS v', [cyclic]),
        'query null-prototype object': pool.query('SELECT ? AS v', [Object.create(null)]),
        'query cyclic array': pool.query('SELECT ? AS v', [cyclic]),
      }
      const got = {}
      for (const [k, p] of Object.entries(cases)) {
        const res = await outcome(p)
        got[k] = res.ok ? 'resolved' : `${res.e instanceof Error ? 'Error' : typeof res.e} ${res.e.code}`
      }
      expect(got).toEqual({
        'execute object with BigInt': 'Error ERR_INVALID_PARAMETER',
        'execute cyclic array': 'Error ERR_INVALID_PARAMETER',
        'query null-prototype object': 'Error ERR_INVALID_PARAMETER',
        'query cyclic array': 'Error ERR_INVALID_PARAMETER',
      })
    })

    it('random SQL text settles with rows or a coded error; the pool keeps answering', async () => {
      const r = prng(SEED + 2)
      // biome-ignore format: a list of fragments
      const FRAGMENTS = ['SELECT', 'select', ' ', '  ', '1', '0x1F', "'", '"', '`', '\\', "''", '""', '(', ')', ',', ';', '--', '-- x\n', '/*', '*/', '/*!', '#', '\n', '+', '*', 'NULL', 'AS', 'v', 'FROM', 'DUAL', 'WHERE', 'AND', 'OR', 'CONCAT(', 'CHAR(', 'X\'', "_utf8mb4'", 'N\'', '?', '??', '\0', '😀', 'é', '\uD800', 'λ', '数据', '1e309', '-', '9'.repeat(70), '@', '@@', 'version', '.', ':=']
      const violations = new Map()
      const tally = { ok: 0, err: 0 }
      const N = 2500
      for (let start = 0; start < N; start += 250) {
        const batch = []
        for (let i = start; i < Math.min(N, start + 250); i++) {
          let sql
          const k = r.int(10)
          if (k < 6) sql = Array.from({ length: 1 + r.int(12) }, () => r.pick(FRAGMENTS)).join(r.bool() ? ' ' : '')
          else if (k < 8) sql = `SELECT ${randomString(r, 30)}`
          else if (k === 8) sql = randomString(r, 60)
          else sql = `SELECT '${randomString(r, 5000)}`
          const method = r.int(4) === 0 ? 'execute' : 'query'
          batch.push(outcome(pool[method](sql)).then((res) => ({ i, sql, method, res })))
        }
        for (const { i, sql, method, res } of await Promise.all(batch)) {
          outcomes[pipelining].set(`s${i}`, res.ok ? 'ok' : res.e?.code)
          if (res.ok) tally.ok++
          else {
            tally.err++
            if (badRejection(res.e)) {
              const key = `${method}|${res.e?.code}|${String(res.e?.message).slice(0, 30)}`
              if (!violations.has(key))
                violations.set(key, { i, method, code: res.e?.code, message: String(res.e?.message).slice(0, 120), sql: JSON.stringify(sql.slice(0, 120)) })
            }
          }
        }
      }
      console.log(`[fuzz] sql: ${tally.ok} resolved, ${tally.err} rejected, ${violations.size} kinds of uncoded rejection`)
      expect(tally.err).toBeGreaterThan(100)
      expect(tally.ok).toBeGreaterThan(10)
      expect([...violations.values()]).toEqual([])
      await settled(pool)
      const st = pool.stats()
      expect(st.counts).toMatchObject({ active: 0, waiting: 0 })
      expect(st.counters.acquired).toBe(st.counters.released)
      expect((await pool.query('SELECT 1 AS one'))[0]).toEqual([{ one: 1 }])
      expect((await pool.execute('SELECT ? AS two', [2]))[0]).toEqual([{ two: 2 }])
      if (pipelining > 0) {
        expect(st.counters.pipelined).toBeGreaterThan(500)
        // Same outcome, command by command, as without pipelining (the run above).
        const differ = [...outcomes[0]].filter(([k, v]) => outcomes[pipelining].get(k) !== v)
        expect(outcomes[0].size).toBeGreaterThanOrEqual(2500)
        expect(differ.slice(0, 10)).toEqual([])
      } else expect(st.counters.pipelined).toBe(0)
    }, 60_000)
  })

describe(`the boundary functions called with junk (seed ${SEED})`, () => {
  // lib/transport.js calls these two per batch (src/fast_calls.rs); any JS
  // code can reach them through the addon, so they must refuse what is not
  // a live pool's handle and well-formed arguments, with a coded error.
  const FAST = require('../../lib/native.js').NativePool.fastCalls()

  it('random argument lists throw Errors with a string code or return, and the pool keeps answering', async () => {
    const pool = createPool({ ...connOpts(srv), connectionLimit: 2 })
    try {
      expect((await pool.query('SELECT 1 AS v'))[0][0].v).toBe(1)
      const handle = pool._native.fastHandle()
      expect(pool._native.fastHandle()).toBe(handle)
      const r = prng(SEED ^ 0xb0d)
      const bad = []
      let thrown = 0
      for (let i = 0; i < 400; i++) {
        const args = Array.from({ length: r.int(6) }, () => randomValue(r))
        // Half the calls name the live pool: then the rest is what is junk.
        if (args.length > 0 && r.bool()) args[0] = handle
        const name = r.bool() ? 'submit' : 'drain'
        try {
          FAST[name](...args)
        } catch (e) {
          thrown++
          if (!(e instanceof Error) || typeof e.code !== 'string' || e.code === '') {
            bad.push({ name, args: args.map((a) => describeValue(a).slice(0, 60)), e: String(e) })
          }
        }
      }
      expect(bad).toEqual([])
      // Every submit() here is malformed (no Float64Array of commands), and so
      // is every drain() that names no live pool: most calls throw.
      expect(thrown).toBeGreaterThan(250)
      const [rows] = await pool.query('SELECT 2 AS v')
      expect(rows[0].v).toBe(2)
      const [rows2] = await pool.execute('SELECT ? + 1 AS v', [2])
      expect(rows2[0].v).toBe(3)
    } finally {
      await pool.end()
    }
  }, 20000)

  it('a call made by JS that runs inside submit() (a Proxy as the texts) is refused with a code, not a panic', async () => {
    const { SUB, OP } = require('../../lib/wire.js')
    const pool = createPool({ ...connOpts(srv), connectionLimit: 1 })
    try {
      const handle = pool._native.fastHandle()
      const nums = new Float64Array(SUB.WIDTH)
      nums[SUB.OP] = OP.QUERY
      nums[SUB.ID] = 0x7ffffff0 // no promise waits on it: its answer is dropped
      nums[SUB.SQL] = -1
      nums[SUB.SQL_NEW] = 1
      const inner = []
      const texts = new Proxy(['SELECT 1'], {
        get(target, key) {
          if (key === '0') {
            for (const call of [() => FAST.submit(handle, new Float64Array(SUB.WIDTH), 0, [], []), () => pool._native.cacheStats()]) {
              try {
                inner.push({ ok: typeof call() })
              } catch (e) {
                inner.push({ code: e.code, message: e.message })
              }
            }
          }
          return target[key]
        },
      })
      FAST.submit(handle, nums, 1, texts, [])
      expect(inner).toHaveLength(2)
      expect(inner[0].message).toMatch(/^ERR_REENTRANT: /)
      expect(inner[0].code).toEqual(expect.any(String))
      expect(inner[1]).toEqual({ ok: 'object' })
      // The pool goes on: the next submit and queries work.
      expect((await pool.query('SELECT 5 AS v'))[0][0].v).toBe(5)
      expect((await pool.execute('SELECT ? AS v', [6]))[0][0].v).toBe(6)
    } finally {
      await pool.end()
    }
  }, 20000)

  it('a handle that names no live pool is refused, even while another pool is live', async () => {
    const pool = createPool({ ...connOpts(srv), connectionLimit: 1 })
    try {
      const handle = pool._native.fastHandle()
      for (const h of [0, handle + 1000, 2 ** 32 - 1]) {
        expect(() => FAST.drain(h, new Float64Array(8))).toThrow(/no live pool has the handle/)
        expect(() => FAST.submit(h, new Float64Array(16), 0, [], [])).toThrow(/no live pool has the handle/)
      }
      // The live handle works: an empty batch is accepted.
      expect(FAST.submit(handle, new Float64Array(16), 0, [], [])).toBeUndefined()
      expect(() => FAST.submit()).toThrow(expect.objectContaining({ code: expect.any(String) }))
      expect((await pool.query('SELECT 3 AS v'))[0][0].v).toBe(3)
    } finally {
      await pool.end()
    }
  }, 20000)
})
