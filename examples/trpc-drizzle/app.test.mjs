// End-to-end test of the example app: real HTTP requests against start()
// on the shared throwaway MariaDB (vitest globalSetup), plus the pool ->
// direct-connection fallback and the type check.
//
// The repo's vitest config only collects __test__/**, so this file is run
// through __test__/examples/trpc-drizzle.test.mjs:
//   npx vitest run __test__/examples
import { execFile } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.resolve(HERE, '../..')
const srv = inject('mysqlServer')

// Environment of the app under test; restored afterwards.
const ENV_KEYS = ['DATABASE_URL', 'DB_HOST', 'DB_PORT', 'DB_USER', 'DB_PASSWORD', 'DB_NAME', 'DB_SSL', 'DB_SSL_CA', 'PGBOUNCER_HOST', 'PGBOUNCER_PORT']
const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]))
for (const k of ENV_KEYS) delete process.env[k]
process.env.DATABASE_URL = srv.url

// Imported after the environment is set (db.mjs reads it lazily anyway).
const { closeDb, configFromEnv, configureDb, getDatabase, getPool, openDatabase, POOL_SETTINGS } = await import('./db.mjs')
const { start } = await import('./server.mjs')

/** tsc takes several seconds: start it now, await it in its own test. */
function runTsc() {
  return new Promise((resolve) => {
    execFile(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', path.join(HERE, 'tsconfig.json')], { cwd: ROOT, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` }),
    )
  })
}

/** A port nothing listens on. */
function closedPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (s.address())
      s.close(() => resolve(port))
    })
  })
}

let app
let tsc

// tRPC v11 over HTTP, no transformer: a query's input is JSON in ?input=,
// a mutation's input is the raw JSON body; answers are { result: { data } }
// or { error: { message, code, data: { code, httpStatus, path } } }.
async function query(proc, input) {
  const qs = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`
  const res = await fetch(`${app.url}/api/trpc/${proc}${qs}`)
  return { status: res.status, body: await res.json() }
}

async function mutate(proc, input) {
  const res = await fetch(`${app.url}/api/trpc/${proc}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  })
  return { status: res.status, body: await res.json() }
}

beforeAll(async () => {
  tsc = runTsc()
  // Fresh tables for this run (ensureSchema() in start() recreates them).
  const mysql = (await import('mysql2/promise')).default
  const admin = await mysql.createConnection(srv.url)
  await admin.query('DROP TABLE IF EXISTS trpc_example_posts, trpc_example_users')
  await admin.end()
  app = await start({ port: 0, host: '127.0.0.1' })
})

afterAll(async () => {
  await app?.close()
  await closeDb()
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
})

describe('example app: tRPC + Drizzle on napi-mysql-pool', () => {
  const ids = {}

  it('starts on the pool, with the seed configuration', async () => {
    const d = await getDatabase()
    expect(d.mode).toBe('pool')
    expect(getPool()).toBe(d.pool)
    expect(d.pool.config).toMatchObject({ ...POOL_SETTINGS, enableKeepAlive: true, keepAliveInitialDelay: 10_000, connectTimeout: 10_000 })
  })

  it('users.create (mutation) inserts and returns the row', async () => {
    const a = await mutate('users.create', { name: 'Ada', email: 'ada@example.com' })
    const b = await mutate('users.create', { name: ' Grace ', email: 'grace@example.com' })
    expect(a.status).toBe(200)
    expect(a.body.result.data).toMatchObject({ id: expect.any(Number), name: 'Ada', email: 'ada@example.com' })
    expect(Number.isFinite(Date.parse(a.body.result.data.createdAt))).toBe(true)
    expect(b.body.result.data).toMatchObject({ name: 'Grace', email: 'grace@example.com' })
    ids.ada = a.body.result.data.id
    ids.grace = b.body.result.data.id
    expect(ids.grace).toBeGreaterThan(ids.ada)
  })

  it('users.create maps errors: invalid input -> 400, duplicate email (ER_DUP_ENTRY) -> 409', async () => {
    const bad = await mutate('users.create', { name: 'X', email: 'not-an-email' })
    expect(bad.status).toBe(400)
    expect(bad.body.error.data.code).toBe('BAD_REQUEST')
    expect(bad.body.error.message).toMatch(/email/)

    const dup = await mutate('users.create', { name: 'Ada again', email: 'ada@example.com' })
    expect(dup.status).toBe(409)
    expect(dup.body.error.data.code).toBe('CONFLICT')
  })

  it('users.list and users.byId (queries, input in ?input=)', async () => {
    const list = await query('users.list')
    expect(list.status).toBe(200)
    expect(list.body.result.data.map((u) => u.name)).toEqual(['Ada', 'Grace'])

    const one = await query('users.byId', { userId: ids.grace })
    expect(one.body.result.data).toMatchObject({ id: ids.grace, email: 'grace@example.com' })

    const missing = await query('users.byId', { userId: 999_999 })
    expect(missing.status).toBe(404)
    expect(missing.body.error.data.code).toBe('NOT_FOUND')
  })

  it('posts.create and the relational posts.byUser', async () => {
    for (const title of ['First', 'Second', 'Third']) {
      const r = await mutate('posts.create', { authorId: ids.ada, title, body: `${title} body` })
      expect(r.status).toBe(200)
    }
    const orphan = await mutate('posts.create', { authorId: 999_999, title: 'nobody' })
    expect(orphan.status).toBe(404) // foreign key (ER_NO_REFERENCED_ROW_2)

    const ada = await query('posts.byUser', { userId: ids.ada })
    expect(ada.status).toBe(200)
    expect(ada.body.result.data).toMatchObject({ id: ids.ada, name: 'Ada' })
    expect(ada.body.result.data.posts.map((p) => [p.title, p.body])).toEqual([
      ['First', 'First body'],
      ['Second', 'Second body'],
      ['Third', 'Third body'],
    ])
    expect(ada.body.result.data).not.toHaveProperty('email') // columns: { id, name }

    const grace = await query('posts.byUser', { userId: ids.grace })
    expect(grace.body.result.data.posts).toEqual([])
  })

  it('serves concurrent requests within connectionLimit (20)', async () => {
    const results = await Promise.all(Array.from({ length: 60 }, () => query('users.list')))
    expect(results.every((r) => r.status === 200 && r.body.result.data.length === 2)).toBe(true)
    const { counts } = getPool().stats()
    expect(counts.limit).toBe(20)
    expect(counts.total).toBeLessThanOrEqual(20)
  })

  it('monitoring.connectionPoolHealth', async () => {
    const { status, body } = await query('monitoring.connectionPoolHealth')
    expect(status).toBe(200)
    expect(body.result.data).toMatchObject({
      healthy: true,
      status: 'healthy',
      poolType: 'native',
      waitingClients: 0,
      message: 'Connection pool healthy',
    })
    expect(body.result.data.idleConnections).toBeGreaterThanOrEqual(1)
  })

  it('monitoring.connectionPoolStats (no password in it)', async () => {
    const res = await fetch(`${app.url}/api/trpc/monitoring.connectionPoolStats`)
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(text).not.toContain(srv.password)
    const stats = JSON.parse(text).result.data
    expect(stats.counters.queries).toBeGreaterThan(0)
    expect(stats.counters.acquired).toBeGreaterThan(0)
    expect(stats.counters.created).toBeGreaterThan(0)
    expect(stats.counts.limit).toBe(20)
    expect(stats.config).toMatchObject({
      connectionLimit: 20,
      queueLimit: 200,
      maxIdle: 10,
      idleTimeout: 300_000,
      maxLifetime: 300_000,
      resetOnRelease: 'auto',
    })
    expect(stats.latency.queryTime.count).toBeGreaterThan(0)
  })

  it('monitoring.connectionPoolMetrics', async () => {
    const { body } = await query('monitoring.connectionPoolMetrics')
    expect(body.result.data.contentType).toMatch(/^text\/plain; version=0\.0\.4/)
    const m = /^mysql_pool_queries_total\{pool="default"\} (\d+)$/m.exec(body.result.data.body)
    expect(m).not.toBeNull()
    expect(Number(m[1])).toBeGreaterThan(0)
  })

  it('monitoring.pgbouncerAvailable (not configured: the pool replaces it)', async () => {
    const { body } = await query('monitoring.pgbouncerAvailable')
    expect(body.result.data).toMatchObject({ available: false, configured: false })
  })

  it('/metrics serves Prometheus text (and JSON on request)', async () => {
    const res = await fetch(`${app.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await res.text()
    expect(text).toMatch(/^mysql_pool_queries_total\{pool="default"\} [1-9]\d*$/m)
    expect(text).toMatch(/^mysql_pool_connections_max\{pool="default"\} 20$/m)
    expect(text).toMatch(/^mysql_pool_up\{pool="default"\} 1$/m)

    const json = await fetch(`${app.url}/metrics?format=json`)
    expect(json.headers.get('content-type')).toMatch(/^application\/json/)
    expect((await json.json()).map((f) => f.name)).toContain('mysql_pool_queries_total')
  })

  it('/health returns pool.health() as JSON; unknown paths 404', async () => {
    const res = await fetch(`${app.url}/health`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toMatchObject({ healthy: true, status: 'healthy', poolType: 'native' })
    expect((await fetch(`${app.url}/nope`)).status).toBe(404)
  })

  it('close() stops the server and ends the pool', async () => {
    const pool = getPool()
    await app.close()
    await expect(fetch(`${app.url}/health`)).rejects.toThrow()
    expect(getPool()).toBeUndefined()
    expect(pool.health()).toMatchObject({ healthy: false, message: 'Connection pool is closed' })
    app = null
  })
})

describe('getDb() fallback to a direct mysql2 connection', () => {
  const target = { host: srv.host, port: srv.port, user: srv.user, password: srv.password, database: srv.database }

  async function check(d) {
    const { users } = await import('./schema.mjs')
    const rows = await d.db.select().from(users)
    expect(rows.map((u) => u.name).sort()).toEqual(['Ada', 'Grace'])
    // The relational API works on the fallback connection too.
    const withPosts = await d.db.query.users.findMany({ with: { posts: true } })
    expect(withPosts.find((u) => u.name === 'Ada').posts).toHaveLength(3)
  }

  it('when the pool cannot reach the server (first SELECT 1 fails)', async () => {
    const warnings = []
    const d = await openDatabase(
      { pool: { ...target, port: await closedPort(), ...POOL_SETTINGS, connectTimeout: 2000 }, direct: target },
      { warn: (m) => warnings.push(m) },
    )
    try {
      expect(d.mode).toBe('direct')
      expect(d.pool).toBeNull()
      expect(d.fallbackReason).toMatchObject({ code: 'ECONNREFUSED' })
      expect(warnings).toEqual([expect.stringMatching(/Connection pool unavailable \(ECONNREFUSED.*falling back to a direct connection/)])
      await check(d)
    } finally {
      await d.close()
    }
  })

  it('when createPool() throws', async () => {
    const warnings = []
    const d = await openDatabase({ pool: { ...target, ...POOL_SETTINGS, connectionLimit: -1 }, direct: target }, { warn: (m) => warnings.push(m) })
    try {
      expect(d.mode).toBe('direct')
      expect(d.fallbackReason).toMatchObject({ code: 'ERR_INVALID_POOL_OPTION' })
      expect(warnings[0]).toMatch(/ERR_INVALID_POOL_OPTION/)
      await check(d)
    } finally {
      await d.close()
    }
  })

  it('the server keeps serving on the fallback connection', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    configureDb({ pool: { ...target, ...POOL_SETTINGS, port: await closedPort(), connectTimeout: 2000 }, direct: target })
    const fallback = await start({ port: 0, host: '127.0.0.1' })
    try {
      expect((await getDatabase()).mode).toBe('direct')
      expect(getPool()).toBeUndefined()
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/falling back to a direct connection/))

      const list = await fetch(`${fallback.url}/api/trpc/users.list`).then((r) => r.json())
      expect(list.result.data.map((u) => u.name)).toEqual(['Ada', 'Grace'])

      const health = await fetch(`${fallback.url}/health`)
      expect(health.status).toBe(200)
      expect(await health.json()).toMatchObject({ healthy: true, status: 'warning', poolType: 'direct' })

      // The monitoring endpoints say there is no pool rather than failing.
      const ph = await fetch(`${fallback.url}/api/trpc/monitoring.connectionPoolHealth`).then((r) => r.json())
      expect(ph.result.data).toMatchObject({ healthy: false, message: 'Connection pool not initialized' })
      const metrics = await fetch(`${fallback.url}/metrics`)
      expect(metrics.status).toBe(200)
      expect(await metrics.text()).not.toMatch(/^mysql_pool_queries_total\{/m)
    } finally {
      await fallback.close()
      configureDb(null)
      warn.mockRestore()
    }
    expect((await getDatabase().catch((e) => e)).mode).toBe('pool') // back to the environment
    await closeDb()
  })

  it('rejects when the direct connection fails too', async () => {
    const port = await closedPort()
    await expect(openDatabase({ pool: { ...target, port, connectTimeout: 2000 }, direct: { ...target, port } }, { warn: () => {} })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    })
  })
})

describe('configuration from the environment', () => {
  it('DATABASE_URL, or DB_HOST / DB_PORT / DB_USER / DB_PASSWORD / DB_NAME', () => {
    expect(configFromEnv({ DATABASE_URL: 'mysql://u:p@db:3307/app' }).pool).toEqual({
      uri: 'mysql://u:p@db:3307/app',
      connectionLimit: 20,
      waitForConnections: true,
      queueLimit: 200,
      acquireTimeout: 10_000,
      enableKeepAlive: true,
      keepAliveInitialDelay: 10_000,
      connectTimeout: 10_000,
      idleTimeout: 300_000,
      maxIdle: 10,
      maxLifetime: 300_000,
      resetOnRelease: 'auto',
    })
    const c = configFromEnv({ DB_HOST: 'db', DB_PORT: '4000', DB_USER: 'u', DB_PASSWORD: 'p', DB_NAME: 'app', DB_SSL: 'true' })
    expect(c.pool).toMatchObject({ host: 'db', port: 4000, user: 'u', password: 'p', database: 'app', ssl: { rejectUnauthorized: true } })
    // The direct connection gets the connection settings, not the pool ones.
    expect(c.direct).not.toHaveProperty('connectionLimit')
    expect(c.direct).toMatchObject({ host: 'db', port: 4000, ssl: { rejectUnauthorized: true }, enableKeepAlive: true })
    expect(() => configFromEnv({})).toThrow(/DATABASE_URL/)
  })

  it.skipIf(!srv.certs)('DB_SSL_CA: TLS verified against the given CA, on the pool and on the fallback', async () => {
    const config = configFromEnv({ DATABASE_URL: srv.url, DB_SSL_CA: srv.certs.ca })
    expect(config.pool.ssl).toMatchObject({ ca: expect.stringContaining('BEGIN CERTIFICATE'), rejectUnauthorized: true })
    const { sql } = await import('drizzle-orm')
    const cipher = async (d) => {
      const [rows] = await d.db.execute(sql`SHOW SESSION STATUS LIKE 'Ssl_version'`)
      return rows[0].Value
    }
    const pooled = await openDatabase(config)
    try {
      expect(pooled.mode).toBe('pool')
      expect(await cipher(pooled)).toMatch(/^TLSv1\.[23]$/)
    } finally {
      await pooled.close()
    }
    const direct = await openDatabase({ ...config, pool: { ...config.pool, port: await closedPort(), connectTimeout: 2000 } }, { warn: () => {} })
    try {
      expect(direct.mode).toBe('direct')
      expect(await cipher(direct)).toMatch(/^TLSv1\.[23]$/)
    } finally {
      await direct.close()
    }
  })
})

describe('types', () => {
  it('tsc -p examples/trpc-drizzle/tsconfig.json passes (strict, checkJs)', async () => {
    const { code, out } = await tsc
    expect(
      out
        .split('\n')
        .filter((l) => /error TS\d+/.test(l))
        .join('\n'),
    ).toBe('')
    expect(code).toBe(0)
  })
})
