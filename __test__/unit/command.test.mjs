// lib/command.js without a database: what a mysql2-style call becomes
// before it crosses to native code (flags from src/wire.rs, SQL, params).
import { createRequire } from 'node:module'
import util from 'node:util'
import vm from 'node:vm'
import { describe, expect, it } from 'vitest'

const require = createRequire(import.meta.url)
const { prepare, executeParams, wallClock } = require('../../lib/command.js')
const { normalize } = require('../../lib/config.js')
const { FLAG } = require('../../lib/wire.js')

const cfg = (o = {}) => normalize({ host: '127.0.0.1', ...o })

describe('prepare()', () => {
  it('formats query() values client-side and leaves execute() parameters apart', () => {
    const q = prepare(cfg(), 'SELECT ? AS a, ? AS b', [1, 'x'], false)
    expect(q.sql).toBe("SELECT 1 AS a, 'x' AS b")
    expect(q.params).toBeUndefined()
    const e = prepare(cfg(), 'SELECT ? AS a', [1], true)
    expect(e.sql).toBe('SELECT ? AS a')
    expect(e.params).toEqual([1])
  })

  it('sets the conversion flags from pool and per-call options', () => {
    const q = prepare(
      cfg({ supportBigNumbers: true, bigNumberStrings: true, dateStrings: ['DATE'] }),
      { sql: 'SELECT 1', decimalNumbers: true },
      undefined,
      false,
    )
    expect(q.flags & ~FLAG.REPLAYABLE).toBe(FLAG.SUPPORT_BIG_NUMBERS | FLAG.BIG_NUMBER_STRINGS | FLAG.DECIMAL_NUMBERS | FLAG.DATE_STRINGS_DATE)
    // Any truthy dateStrings other than an array means all three types (mysql2's typeMatch).
    const allDates = FLAG.DATE_STRINGS_DATE | FLAG.DATE_STRINGS_DATETIME | FLAG.DATE_STRINGS_TIMESTAMP
    for (const ds of [true, 1, 'DATE']) expect(prepare(cfg(), { sql: 'SELECT 1', dateStrings: ds }, undefined, false).flags & allDates).toBe(allDates)
    expect(prepare(cfg(), { sql: 'SELECT 1', dateStrings: ['DATETIME'] }, undefined, false).flags & allDates).toBe(FLAG.DATE_STRINGS_DATETIME)
    expect(prepare(cfg(), { sql: 'SELECT 1', dateStrings: 0 }, undefined, false).flags & allDates).toBe(0)
    expect(prepare(cfg(), { sql: 'SELECT 1', typeCast: false }, undefined, false).flags & ~FLAG.REPLAYABLE).toBe(FLAG.ALL_BUFFERS)
    expect(prepare(cfg(), { sql: 'SELECT 1', typeCast: (f, next) => next() }, undefined, false).flags & ~FLAG.REPLAYABLE).toBe(FLAG.RAW)
  })

  it("takes a query's timezone over the pool's (normalised as the pool option is), and refuses one that is not a string", () => {
    expect(prepare(cfg(), 'SELECT 1', undefined, false).timezone).toBe('local')
    expect(prepare(cfg({ timezone: 'Z' }), { sql: 'SELECT 1', timezone: '+05:30' }, undefined, false).timezone).toBe('+05:30')
    expect(prepare(cfg({ timezone: 'Z' }), { sql: 'SELECT 1', timezone: '' }, undefined, false).timezone).toBe('Z')
    expect(prepare(cfg(), { sql: 'SELECT 1', timezone: 'UTC' }, undefined, true).timezone).toBe('Z')
    let err
    try {
      prepare(cfg(), { sql: 'SELECT 1', timezone: 5 }, undefined, false)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(TypeError)
    expect(err.code).toBe('ERR_INVALID_QUERY')
  })

  it("takes a query's own typeCast over the pool's function", () => {
    const fn = (f, next) => next()
    expect(prepare(cfg({ typeCast: fn }), 'SELECT 1', undefined, false).typeCast).toBe(fn)
    expect(prepare(cfg({ typeCast: fn }), { sql: 'SELECT 1', typeCast: false }, undefined, false).flags & (FLAG.RAW | FLAG.ALL_BUFFERS)).toBe(FLAG.ALL_BUFFERS)
    const own = prepare(cfg({ typeCast: fn }), { sql: 'SELECT 1', typeCast: true }, undefined, false)
    expect([own.typeCast, own.flags & (FLAG.RAW | FLAG.ALL_BUFFERS)]).toEqual([true, 0])
  })

  it("recognises Drizzle's typeCast as dateStrings (the fast path)", () => {
    // Drizzle's own source text (compiled here, so no transform touches it).
    const drizzle = vm.runInThisContext(
      "(function(field, next) { if (field.type === 'TIMESTAMP' || field.type === 'DATETIME' || field.type === 'DATE') { return field.string(); } return next(); })",
    )
    const q = prepare(cfg(), { sql: 'SELECT 1', typeCast: drizzle }, undefined, false)
    expect(q.flags & ~FLAG.REPLAYABLE).toBe(FLAG.DATE_STRINGS_DATE | FLAG.DATE_STRINGS_DATETIME | FLAG.DATE_STRINGS_TIMESTAMP)
    expect(q.typeCast).toBe(true)
  })

  it("recognises each new closure of Drizzle's typeCast, and no other function, past the bounded source cache", () => {
    // Drizzle builds a new closure per query: the same source, a new function.
    const make = vm.runInThisContext(
      "(() => function(field, next) { if (field.type === 'TIMESTAMP' || field.type === 'DATETIME' || field.type === 'DATE') { return field.string(); } return next(); })",
    )
    const DS = FLAG.DATE_STRINGS_DATE | FLAG.DATE_STRINGS_DATETIME | FLAG.DATE_STRINGS_TIMESTAMP
    for (let i = 0; i < 200; i++) {
      // 200 distinct other sources between Drizzle's (more than the cache holds).
      const other = vm.runInThisContext(`(function(field, next) { return field.type === 'DATE${i}' ? field.string() : next(); })`)
      expect(prepare(cfg(), { sql: 'SELECT 1', typeCast: other }, undefined, false).flags & ~FLAG.REPLAYABLE).toBe(FLAG.RAW)
      const q = prepare(cfg(), { sql: 'SELECT 1', typeCast: make() }, undefined, false)
      expect(q.flags & ~FLAG.REPLAYABLE).toBe(DS)
      expect(q.typeCast).toBe(true)
    }
  })

  it('flags DDL (the JSON-column cache is cleared natively) and nothing else', () => {
    expect(prepare(cfg(), 'ALTER TABLE t ADD j JSON', undefined, false).flags & FLAG.DDL).toBe(FLAG.DDL)
    expect(prepare(cfg(), '  create table x (a int)', undefined, true).flags & FLAG.DDL).toBe(FLAG.DDL)
    expect(prepare(cfg(), 'SELECT 1', undefined, false).flags & FLAG.DDL).toBe(0)
    expect(prepare(cfg(), 'CREATED', undefined, false).flags & FLAG.DDL).toBe(0)
  })

  it('refuses a second statement without multipleStatements, with mysql2-like fields', () => {
    expect(() => prepare(cfg(), 'SELECT 1; SELECT 2', undefined, false)).toThrow(
      expect.objectContaining({ code: 'ER_PARSE_ERROR', errno: 1064, sqlState: '42000' }),
    )
    expect(prepare(cfg(), 'SELECT 1;  -- done', undefined, false).sql).toBe('SELECT 1')
    expect(prepare(cfg({ multipleStatements: true }), 'SELECT 1; SELECT 2', undefined, false).sql).toBe('SELECT 1; SELECT 2')
  })

  it('per-call timeout, shape options and errors with codes', () => {
    const q = prepare(cfg(), { sql: 'SELECT 1', timeout: 250, rowsAsArray: true }, undefined, false)
    expect(q.timeout).toBe(250)
    expect(q.shape).toEqual({ rowsAsArray: true, nestTables: undefined })
    expect(() => prepare(cfg(), 42, undefined, false)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_QUERY' }))
    expect(() => prepare(cfg(), 'SELECT 1', () => {}, false)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_QUERY' }))
  })
})

describe('executeParams()', () => {
  it('binds as mysql2: Dates by wall clock, BigInt as text, objects as JSON, typed arrays as bytes', () => {
    const out = executeParams([new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), 10n, { a: 1 }, new Uint8Array([1, 2]), null, 'x'], 'Z')
    expect(out[0].toISOString()).toBe('2024-01-02T03:04:05.000Z')
    expect(out.slice(1, 3)).toEqual(['10', '{"a":1}'])
    expect(Buffer.isBuffer(out[3]) && [...out[3]]).toEqual([1, 2])
    expect(out.slice(4)).toEqual([null, 'x'])
  })

  it('treats a Date from another realm as a Date', () => {
    const foreign = vm.runInNewContext('new Date(Date.UTC(2024, 0, 2, 3, 4, 5))')
    expect(foreign instanceof Date).toBe(false)
    const [bound] = executeParams([foreign], 'Z')
    // Bound as a Date (not JSON text), with its time.
    expect(util.types.isDate(bound)).toBe(true)
    expect(bound.getTime()).toBe(Date.UTC(2024, 0, 2, 3, 4, 5))
    expect(executeParams([foreign], '+01:00')[0].getTime()).toBe(Date.UTC(2024, 0, 2, 4, 4, 5))
  })

  it('refuses undefined, functions and invalid Dates with codes (mysql2 wording)', () => {
    expect(() => executeParams([undefined], 'Z')).toThrow('Bind parameters must not contain undefined. To pass SQL NULL specify JS null')
    expect(() => executeParams([() => 1], 'Z')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_PARAMETER' }))
    expect(() => executeParams([new Date(NaN)], 'Z')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_PARAMETER' }))
    expect(() => executeParams({ a: 1 }, 'Z')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_PARAMETER' }))
  })
})

describe('wallClock()', () => {
  const d = new Date(Date.UTC(2024, 5, 1, 12, 0, 0))
  it('shifts a Date so its UTC fields are the wall clock in the timezone', () => {
    expect(wallClock(d, 'Z').toISOString()).toBe('2024-06-01T12:00:00.000Z')
    expect(wallClock(d, '+05:30').toISOString()).toBe('2024-06-01T17:30:00.000Z')
    expect(wallClock(d, '-02:00').toISOString()).toBe('2024-06-01T10:00:00.000Z')
    const local = wallClock(d, 'local')
    expect([local.getUTCHours(), local.getUTCMinutes()]).toEqual([d.getHours(), d.getMinutes()])
  })
})
