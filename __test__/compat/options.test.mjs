// createPool options against mysql2 3.24 (node_modules/mysql2): defaults,
// every option name mysql2 accepts, what `timezone` values mean (with a
// differential write/read of DATETIME and TIMESTAMP under timezone 'utc'),
// uri precedence, and that pool.config never shows the password (mysql2's
// does; ours deliberately not).
//
// Run: npx vitest run __test__/compat/options.test.mjs
import './tz.mjs'
import fs from 'node:fs'
import util from 'node:util'
import { Console } from 'node:console'
import { Writable } from 'node:stream'
import { createRequire } from 'node:module'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { diff, makePair, mysql2, snap } from './diff-helpers.mjs'

const require = createRequire(import.meta.url)
const lib = require('../../lib/index.js')
const { normalize, nativeConfig } = require('../../lib/config.js')

const srv = inject('mysqlServer')

const toEnd = []
afterEach(async () => {
  await Promise.allSettled(toEnd.splice(0).map((p) => p.end()))
})
const track = (p) => (toEnd.push(p), p)

/** mysql2's pool, with its console warnings (invalid option/timezone) captured. */
function theirPool(options) {
  const spy = vi.spyOn(console, 'error').mockImplementation(() => {})
  try {
    const pool = track(mysql2.createPool(options))
    return { pool, warnings: spy.mock.calls.map((c) => String(c[0])) }
  } finally {
    spy.mockRestore()
  }
}

function codeOf(fn) {
  try {
    fn()
  } catch (e) {
    return `${e.name} ${e.code}`
  }
  return 'accepted'
}

// ---------------------------------------------------------------------------

describe('defaults', () => {
  it("equal mysql2's: resetOnRelease false, pool sizes, timeouts and result flags", () => {
    const { pool } = theirPool({})
    const t = pool.pool.config
    const c = t.connectionConfig
    const ours = normalize({})
    const pick = (o, keys) => Object.fromEntries(keys.map((k) => [k, o[k]]))
    expect(pick(ours, ['connectionLimit', 'maxIdle', 'idleTimeout', 'queueLimit', 'waitForConnections', 'resetOnRelease'])).toEqual(
      pick(t, ['connectionLimit', 'maxIdle', 'idleTimeout', 'queueLimit', 'waitForConnections', 'resetOnRelease']),
    )
    const conn = [
      'host',
      'port',
      'connectTimeout',
      'timezone',
      'multipleStatements',
      'supportBigNumbers',
      'bigNumberStrings',
      'decimalNumbers',
      'dateStrings',
      'jsonStrings',
      'typeCast',
      'rowsAsArray',
      'nestTables',
      'namedPlaceholders',
      'stringifyObjects',
      'disableEval',
      'enableKeepAlive',
      'gracefulEnd',
      'queryFormat',
      'socketPath',
      'database',
      'password',
    ]
    expect(pick(ours, conn)).toEqual(pick(c, conn))
    expect(t.resetOnRelease).toBe(false)
    expect(ours.reapIdle).toBe(false)
  })

  it('nativeConfig: resetOnRelease false is "never", opt-ins kept; reapIdle passed as a boolean', () => {
    const reset = (v) => nativeConfig(normalize(v === undefined ? {} : { resetOnRelease: v })).resetOnRelease
    expect([reset(), reset(false), reset(true), reset('auto'), reset('always'), reset('never'), reset(0), reset(1)]).toEqual([
      'never',
      'never',
      'always',
      'auto',
      'always',
      'never',
      'never',
      'always',
    ])
    expect(nativeConfig(normalize({})).reapIdle).toBe(false)
    expect(nativeConfig(normalize({ reapIdle: true })).reapIdle).toBe(true)
    expect(normalize({ reapIdle: true }).reapIdle).toBe(true)
    expect(codeOf(() => normalize({ reapIdle: 'yes' }))).toBe('TypeError ERR_INVALID_POOL_OPTION')
    expect(codeOf(() => normalize({ resetOnRelease: 'sometimes' }))).toBe('TypeError ERR_INVALID_POOL_OPTION')
  })

  it('by default a getConnection() session is handed on as left, as in mysql2 (no reset on release)', async () => {
    const pair = makePair(srv, { connectionLimit: 1 })
    try {
      await diff(pair, async (pool) => {
        const c1 = await pool.getConnection()
        await c1.query("SET @left_by = 'first borrower'")
        const id = c1.threadId
        c1.release()
        const c2 = await pool.getConnection()
        try {
          const [[row]] = await c2.query('SELECT @left_by AS v')
          return { same: c2.threadId === id, v: row.v }
        } finally {
          c2.release()
        }
      })
    } finally {
      await pair.end()
    }
    // 'auto' stays available as an opt-in.
    const p = track(lib.createPool({ host: srv.host, port: srv.port, user: srv.user, password: srv.password, connectionLimit: 1, resetOnRelease: 'auto' }))
    const c1 = await p.getConnection()
    await c1.query('SET @left_by = 1')
    c1.release()
    const c2 = await p.getConnection()
    expect((await c2.query('SELECT @left_by AS v'))[0]).toEqual([{ v: null }])
    c2.release()
  })
})

// ---------------------------------------------------------------------------

// Every name in mysql2's validOptions, with a value that means mysql2's
// default (or is plainly supported) and, for options whose other values
// change behaviour this pool does not implement, one such value.
const Bluebirdish = class extends Promise {}
const OPTION_TABLE = {
  authPlugins: [{}, { mysql_clear_password: () => () => Buffer.alloc(0) }],
  authSwitchHandler: [null, () => {}],
  bigNumberStrings: [true],
  charset: ['UTF8MB4_GENERAL_CI'],
  charsetNumber: [224, 8],
  compress: [false, true],
  connectAttributes: [{}, { program_name: 'x' }],
  connectTimeout: [5000],
  database: ['test'],
  dateStrings: [true],
  debug: [false, true],
  decimalNumbers: [true],
  enableKeepAlive: [false],
  flags: ['', '-FOUND_ROWS'],
  host: ['db.example'],
  insecureAuth: [false, true],
  infileStreamFactory: [undefined, () => null],
  isServer: [false, true],
  keepAliveInitialDelay: [1000],
  localAddress: [null, '127.0.0.1'],
  maxPreparedStatements: [100],
  multipleStatements: [true],
  namedPlaceholders: [true],
  nestTables: ['_'],
  password: ['pw'],
  password1: ['pw'],
  password2: ['', 'second factor'],
  password3: ['', 'third factor'],
  passwordSha1: ['', 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3'],
  pool: [null, {}],
  port: [3307],
  queryFormat: [(sql) => sql],
  rowsAsArray: [true],
  socketPath: ['/tmp/mysql.sock'],
  ssl: [{}, 'Amazon RDS'],
  stream: [null, () => null],
  stringifyObjects: [true],
  supportBigNumbers: [true],
  timezone: ['utc'],
  trace: [false],
  typeCast: [false],
  uri: ['mysql://u:p@db.example:3307/app'],
  user: ['u'],
  disableEval: [true],
  enableCleartextPlugin: [true],
  connectionLimit: [5],
  maxIdle: [2],
  idleTimeout: [1000],
  Promise: [Promise, Bluebirdish],
  queueLimit: [3],
  resetOnRelease: [true],
  waitForConnections: [false],
  jsonStrings: [true],
  gracefulEnd: [true],
}

function mysql2ValidOptions() {
  const src = fs.readFileSync(new URL('../../node_modules/mysql2/lib/connection_config.js', import.meta.url), 'utf8')
  const block = /const validOptions = \{([\s\S]*?)\n\};/.exec(src)
  expect(block, "mysql2's validOptions list").not.toBeNull()
  return [...block[1].matchAll(/^\s*([A-Za-z0-9_]+): 1,/gm)].map((m) => m[1])
}

describe('every option mysql2 accepts', () => {
  const names = mysql2ValidOptions()

  it('is listed here (the list is read from mysql2 itself)', () => {
    expect(names.length).toBeGreaterThan(50)
    expect(names.filter((n) => !(n in OPTION_TABLE))).toEqual([])
  })

  it('is accepted at its default; the unimplemented ones are refused with ERR_UNSUPPORTED_OPTION otherwise', () => {
    const accepted = {}
    const refused = {}
    for (const name of names) {
      const [harmless, ...changing] = OPTION_TABLE[name]
      accepted[name] = codeOf(() => normalize({ [name]: harmless }))
      for (const v of changing) refused[name] = codeOf(() => normalize({ [name]: v }))
    }
    expect(Object.entries(accepted).filter(([, r]) => r !== 'accepted')).toEqual([])
    expect(Object.entries(refused).filter(([, r]) => r !== 'TypeError ERR_UNSUPPORTED_OPTION')).toEqual([])
    // Harmless in another form: charsetNumber is ignored (by mysql2 too) when charset is given.
    expect(codeOf(() => normalize({ charset: 'UTF8MB4_BIN', charsetNumber: 8 }))).toBe('accepted')
    // Unknown names stay errors (mysql2 only warns).
    expect(codeOf(() => normalize({ connectionLimt: 5 }))).toBe('TypeError ERR_INVALID_POOL_OPTION')
    expect(codeOf(() => normalize({ constructor: 5 }))).toBe('TypeError ERR_INVALID_POOL_OPTION')
  })

  it('password1 is the password when password is not given (mysql2: password || password1)', () => {
    expect(normalize({ password1: 'first' }).password).toBe('first')
    expect(normalize({ password: 'main', password1: 'first' }).password).toBe('main')
    expect(normalize({}).password).toBe(undefined)
  })

  it('all the harmless values at once: ours answers as mysql2 does', async () => {
    const all = {}
    for (const name of names) all[name] = OPTION_TABLE[name][0]
    // The server's address and account, plain TCP, no custom formatter.
    Object.assign(all, { host: srv.host, port: srv.port, user: srv.user, password: srv.password, database: srv.database })
    for (const k of ['uri', 'socketPath', 'queryFormat', 'ssl']) delete all[k]
    // Not about options: rowsAsArray together with nestTables, and execute()
    // with typeCast false, hit mysql2 result-shape quirks that ours does not
    // reproduce (mysql2's own results differ between its parsers there).
    for (const k of ['rowsAsArray', 'nestTables', 'typeCast']) delete all[k]
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {})
    const pair = { ref: mysql2.createPool({ ...all }), sut: lib.createPool({ ...all }) }
    spy.mockRestore()
    pair.end = () => Promise.allSettled([pair.ref.end(), pair.sut.end()])
    try {
      await diff(pair, async (pool) => [
        await pool.query('SELECT 1 AS one, 9007199254740993 AS big, CAST(? AS DATETIME) AS d', [new Date(Date.UTC(2024, 0, 2, 3, 4, 5))]),
        await pool.execute('SELECT ? AS p', [7]),
      ])
    } finally {
      await pair.end()
    }
  })
})

// ---------------------------------------------------------------------------

describe('timezone: the values mysql2 accepts, with its meaning', () => {
  // mysql2 (ConnectionConfig) keeps 'local', 'Z' and '±HH:MM' (' HH:MM' from
  // a URI becomes '+HH:MM'), turns a falsy value into 'local', and any other
  // value into 'Z' with a console error; its parsers and writers then only
  // ever see 'Z'.
  const VALUES = ['local', 'Z', '+05:30', '-08:00', ' 05:30', '+25:99', '', 'utc', 'UTC', 'Etc/UTC', 'GMT', 'Europe/Berlin', '+0530', 'z', 'local ']

  it('normalizes every string exactly as mysql2 does', () => {
    const rows = VALUES.map((tz) => {
      const { pool, warnings } = theirPool({ timezone: tz })
      return { tz, mysql2: pool.pool.config.connectionConfig.timezone, ours: normalize({ timezone: tz }).timezone, mysql2Warned: warnings.length > 0 }
    })
    for (const r of rows) expect(r.ours, JSON.stringify(r.tz)).toBe(r.mysql2)
    // 'utc' is not an alias in mysql2: it is an invalid zone, replaced by 'Z'.
    expect(rows.find((r) => r.tz === 'utc')).toEqual({ tz: 'utc', mysql2: 'Z', ours: 'Z', mysql2Warned: true })
    expect(rows.find((r) => r.tz === 'Europe/Berlin')).toMatchObject({ mysql2: 'Z', ours: 'Z' })
    expect(rows.find((r) => r.tz === '')).toMatchObject({ mysql2: 'local', ours: 'local' })
  })

  it('from a URI too (?timezone=utc, ?timezone=+05:30 whose + decodes to a space)', () => {
    for (const q of ['utc', '+05:30', 'Z', 'local']) {
      const uri = `mysql://u:p@db.example/app?timezone=${q}`
      const { pool } = theirPool(uri)
      expect(normalize(uri).timezone, q).toBe(pool.pool.config.connectionConfig.timezone)
    }
  })

  it('warns (process warning) when a zone name is read as UTC, not for UTC spellings; a non-string is refused', async () => {
    const seen = []
    const onWarning = (w) => seen.push(w)
    process.on('warning', onWarning)
    try {
      normalize({ timezone: 'Mars/Olympus_Mons' })
      normalize({ timezone: 'UTC' })
      await new Promise((r) => setImmediate(r))
    } finally {
      process.off('warning', onWarning)
    }
    const mine = seen.filter((w) => /Mars|"UTC"/.test(w.message))
    expect(mine.map((w) => [w.name, w.message])).toEqual([
      ['TimezoneWarning', `napi-mysql-pool: timezone "Mars/Olympus_Mons" is not 'local', 'Z' or '+HH:MM'; it is treated as 'Z' (UTC), as mysql2 does`],
    ])
    // mysql2 coerces these (true -> 'Z', 0 -> 'local'); a non-string zone is a bug here.
    for (const v of [true, 0, 330]) expect(codeOf(() => normalize({ timezone: v }))).toBe('TypeError ERR_INVALID_POOL_OPTION')
  })

  describe("timezone 'utc': DATETIME and TIMESTAMP written and read with query() and execute()", () => {
    const dates = [
      new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789)),
      new Date(Date.UTC(2024, 2, 31, 1, 30, 0, 0)), // Europe/Berlin DST switch: local time would shift
      new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 999)),
      new Date(Date.UTC(2038, 0, 1, 0, 0, 0, 1)),
    ]
    // The same steps on either pool, in a temporary table of its own session.
    async function roundTrip(pool) {
      const conn = await pool.getConnection()
      try {
        await conn.query("SET time_zone = '+00:00'")
        await conn.query('DROP TEMPORARY TABLE IF EXISTS tz_utc')
        await conn.query('CREATE TEMPORARY TABLE tz_utc (id INT PRIMARY KEY, dt DATETIME(3), ts TIMESTAMP(3) NULL, d DATE)')
        for (const [i, d] of dates.entries()) {
          if (i % 2 === 0) await conn.query('INSERT INTO tz_utc VALUES (?, ?, ?, ?)', [i, d, d, d])
          else await conn.execute('INSERT INTO tz_utc VALUES (?, ?, ?, ?)', [i, d, d, d])
        }
        await conn.query("INSERT INTO tz_utc VALUES (9, '2024-06-01 08:00:00.123', '2024-06-01 08:00:00.123', '2024-06-01')")
        return [
          // what reached the server (wall-clock text)
          await conn.query('SELECT id, CAST(dt AS CHAR) AS dt, CAST(ts AS CHAR) AS ts, CAST(d AS CHAR) AS d FROM tz_utc ORDER BY id'),
          // what comes back as Dates
          await conn.query('SELECT * FROM tz_utc ORDER BY id'),
          await conn.execute('SELECT * FROM tz_utc WHERE id >= ? ORDER BY id', [0]),
          // parameters echoed, and formatting
          await conn.execute('SELECT ? AS p, CAST(? AS DATETIME(3)) AS c', [dates[1], dates[1]]),
          await conn.query('SELECT ? AS p, CAST(? AS DATETIME(3)) AS c', [dates[1], dates[1]]),
          dates.map((d) => pool.format('SELECT ?', [d])),
        ]
      } finally {
        conn.release()
      }
    }

    let pair
    beforeAll(() => {
      const spy = vi.spyOn(console, 'error').mockImplementation(() => {})
      try {
        pair = makePair(srv, { timezone: 'utc' }, { alt: { timezone: 'Z' } })
      } finally {
        spy.mockRestore()
      }
    })
    afterAll(() => pair?.end())

    it("ours equals mysql2's, and mysql2's 'utc' equals its 'Z'", async () => {
      const ref = await diff(pair, roundTrip)
      // mysql2 with 'utc' behaves exactly as with 'Z'...
      expect(snap(await roundTrip(pair.alt))).toEqual(ref.ok)
      // ...which stores and reads UTC wall clocks, not local (Europe/Berlin) ones.
      const [[stored]] = ref.ok
      expect(stored[0]).toMatchObject({ id: 0, dt: '2024-02-29 12:34:56.789', ts: '2024-02-29 12:34:56.789', d: '2024-02-29' })
      expect(stored[1]).toMatchObject({ id: 1, dt: '2024-03-31 01:30:00.000' })
      expect(pair.sut.config.timezone).toBe('Z')
    })
  })
})

// ---------------------------------------------------------------------------

describe('uri: which value wins, as in mysql2', () => {
  it('a truthy option beats the uri, a falsy one does not; an absent password is undefined', () => {
    const cases = [
      { uri: 'mysql://u:p@h1:1234/db1', host: 'h2' },
      { uri: 'mysql://u:p@h1:1234/db1', host: 'h2', port: 5, user: 'x', password: 'y', database: 'd' },
      { uri: 'mysql://u:p@h1/db1', password: '', database: '', port: 0 },
      { uri: 'mysql://u@h1/db1?connectionLimit=3&multipleStatements=true', multipleStatements: false },
    ]
    for (const c of cases) {
      const { pool } = theirPool({ ...c })
      const t = pool.pool.config
      const o = normalize({ ...c })
      const view = (x, cc) => [cc.host, cc.port, cc.user, cc.password, cc.database, cc.multipleStatements, x.connectionLimit]
      expect(view(o, o), JSON.stringify(c)).toEqual(view(t, t.connectionConfig))
    }
  })
})

// ---------------------------------------------------------------------------

describe('password privacy', () => {
  const secret = 'S3cr3t-pa55/w0rd@é:#?'
  const user = 'nmp_private'
  let admin

  beforeAll(async () => {
    admin = await mysql2.createConnection({ host: srv.host, port: srv.port, user: srv.user, password: srv.password })
    await admin.query(`DROP USER IF EXISTS '${user}'@'%'`)
    await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY ?`, [secret])
  })
  afterAll(async () => {
    if (!admin) return
    await admin.query(`DROP USER IF EXISTS '${user}'@'%'`)
    await admin.end()
  })

  /** Everything a user could print of a value. */
  function printed(value) {
    let logged = ''
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logged += chunk
        cb()
      },
    })
    new Console({ stdout: sink, stderr: sink }).log(value)
    return [
      util.inspect(value),
      util.inspect(value, { depth: 10 }),
      util.inspect(value, { depth: 10, showHidden: true }),
      JSON.stringify(value, (k, v) => (typeof v === 'bigint' ? String(v) : v)) ?? '',
      logged,
    ].join('\n')
  }

  function expectNoSecret(text) {
    expect(text).not.toContain(secret)
    expect(text).not.toContain(encodeURIComponent(secret))
    expect(text).not.toContain('S3cr3t')
  }

  const who = async (p) => (await p.query('SELECT CURRENT_USER() AS u'))[0][0].u

  it('pool.config never shows it; cfg.password still reads it and the user authenticates', async () => {
    const p = track(lib.createPool({ host: srv.host, port: srv.port, user, password: secret, connectionLimit: 1 }))
    expect(await who(p)).toBe(`${user}@%`)
    expect(p.config.password).toBe(secret)
    expect(Object.keys(p.config)).not.toContain('password')
    expectNoSecret(printed(p.config))
    expectNoSecret(printed(p.pool.config))
    expectNoSecret(JSON.stringify(p.stats()))
    // mysql2, for contrast, prints it.
    const { pool: theirs } = theirPool({ host: srv.host, port: srv.port, user, password: secret })
    expect(util.inspect(theirs.pool.config, { depth: 10 })).toContain(secret)
  })

  it('a password inside the uri survives nowhere: no cfg.uri, nothing printed, and it still authenticates', async () => {
    const uri = `mysql://${user}:${encodeURIComponent(secret)}@${srv.host}:${srv.port}/`
    for (const input of [uri, { uri, connectionLimit: 1 }]) {
      const p = track(lib.createPool(input))
      expect(await who(p)).toBe(`${user}@%`)
      expect(p.config.password).toBe(secret)
      expect(p.config).not.toHaveProperty('uri')
      expectNoSecret(printed(p.config))
      expectNoSecret(printed(p))
    }
  })

  it('password1 authenticates and stays hidden too', async () => {
    const p = track(lib.createPool({ host: srv.host, port: srv.port, user, password1: secret, connectionLimit: 1 }))
    expect(await who(p)).toBe(`${user}@%`)
    expectNoSecret(printed(p.config))
  })

  it('clusters and read/write splits keep node options out of sight', async () => {
    const node = { host: srv.host, port: srv.port, user, password: secret, connectionLimit: 1 }
    const c = track(lib.createPoolCluster())
    c.add('A', node)
    c.add('B', `mysql://${user}:${encodeURIComponent(secret)}@${srv.host}:${srv.port}/`)
    expect(await who(c.of('A'))).toBe(`${user}@%`)
    expect(await who(c.of('B'))).toBe(`${user}@%`)
    expectNoSecret(printed(c))
    const s = track(lib.createReadWriteSplit({ primary: node, replicas: [node] }))
    expect(await who(s)).toBe(`${user}@%`)
    expectNoSecret(printed(s))
  })

  it('a TLS client key is hidden the same way and still reaches the native config', () => {
    const key = '-----BEGIN PRIVATE KEY-----\nS3cr3tKEYMATERIAL\n-----END PRIVATE KEY-----'
    const cert = '-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----'
    const cfg = normalize({ password: secret, ssl: { cert, key } })
    expect(cfg.ssl.key).toBe(key)
    expect(nativeConfig(cfg).ssl.key).toBe(key)
    expect(nativeConfig(cfg).password).toBe(secret)
    const text = printed(cfg)
    expectNoSecret(text)
    expect(text).not.toContain('KEYMATERIAL')
  })
})
