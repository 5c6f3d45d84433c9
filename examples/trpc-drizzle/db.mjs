// @ts-check
// The origin app's server/db.ts, on napi-mysql-pool.
//
// getDb() lazily opens ONE connection pool (the seed's configuration, with
// the production settings the main README recommends) and
// returns a Drizzle database on it. If the pool cannot start - createPool()
// throws, or the first `SELECT 1` through it fails - it falls back, as the
// seed did, to a single direct mysql2 connection and logs a warning.
//
// The only line that differs from the mysql2 version is the createPool import
// (an app writes `import { createPool } from 'napi-mysql-pool'`; inside this
// repository the package is imported by path).
import fs from 'node:fs'
import { sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/mysql2'
import mysql from 'mysql2/promise'
import { createPool } from '../../lib/index.js'
import * as schema from './schema.mjs'

/** @typedef {import('../../lib/index.js').Pool} Pool */
/** @typedef {import('../../lib/index.js').PoolOptions} PoolOptions */
/** @typedef {import('mysql2/promise').ConnectionOptions} ConnectionOptions */
/** @typedef {import('drizzle-orm/mysql2').MySql2Database<typeof schema>} Db */

/**
 * @typedef {object} DbConfig
 * @property {PoolOptions} pool options for createPool()
 * @property {ConnectionOptions} direct options for the fallback mysql2 connection
 */

/**
 * @typedef {object} Database
 * @property {Db} db Drizzle, on the pool or on the fallback connection
 * @property {'pool' | 'direct'} mode
 * @property {Pool | null} pool null in direct mode
 * @property {import('mysql2/promise').Connection | null} connection the fallback connection, null in pool mode
 * @property {unknown} fallbackReason why the pool was abandoned (null in pool mode)
 * @property {() => Promise<void>} close
 */

/**
 * The seed's pool settings (server/_core/connectionPool.ts), changed where
 * the main README's "Production settings" recommend it.
 */
export const POOL_SETTINGS = Object.freeze({
  connectionLimit: 20,
  waitForConnections: true,
  // The seed had 0 (unbounded): past 200 waiting requests, fail fast with
  // POOL_QUEUE_LIMIT instead of queueing without end.
  queueLimit: 200,
  // Explicit (it is the default): a request waiting this long for a
  // connection fails with POOL_ACQUIRE_TIMEOUT while its client still waits.
  acquireTimeout: 10_000,
  // The seed's. Below connectionLimit, it also turns idle reaping on
  // (mysql2's rule), so reapIdle is not needed here.
  maxIdle: 10,
  // The seed had 600_000: at most 300 s, so idle connections close before
  // cloud load balancers drop idle flows.
  idleTimeout: 300_000,
  // TiDB Cloud may cut connections open for more than 30 minutes; PingCAP
  // recommends starting at 5 minutes.
  maxLifetime: 300_000,
  // A borrower never inherits another's session state (variables,
  // temporary tables, an open transaction). Transactions go through
  // getConnection() (Drizzle's db.transaction() does).
  resetOnRelease: 'auto',
})

/** Connection settings shared by the pool and the fallback connection. */
export const CONNECTION_SETTINGS = Object.freeze({
  enableKeepAlive: true,
  keepAliveInitialDelay: 10_000,
  connectTimeout: 10_000,
})

/**
 * Reads DATABASE_URL, or DB_HOST / DB_PORT / DB_USER / DB_PASSWORD / DB_NAME.
 * TLS: DB_SSL_CA=<path to a PEM CA> (for a private CA), or DB_SSL=true to
 * verify against the public roots (TiDB Cloud). Both verify the certificate.
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {DbConfig}
 */
export function configFromEnv(env = process.env) {
  /** @type {{ uri: string } | { host: string, port: number, user: string, password: string, database?: string }} */
  let target
  if (env.DATABASE_URL) {
    target = { uri: env.DATABASE_URL }
  } else if (env.DB_HOST) {
    target = {
      host: env.DB_HOST,
      port: env.DB_PORT ? Number(env.DB_PORT) : 3306,
      user: env.DB_USER ?? 'root',
      password: env.DB_PASSWORD ?? '',
      ...(env.DB_NAME ? { database: env.DB_NAME } : {}),
    }
  } else {
    throw new Error('Set DATABASE_URL (mysql://user:password@host:port/database) or DB_HOST / DB_USER / DB_PASSWORD / DB_NAME')
  }

  /** @type {{ ssl?: { ca?: string, rejectUnauthorized: boolean } }} */
  let tls = {}
  if (env.DB_SSL_CA) tls = { ssl: { ca: fs.readFileSync(env.DB_SSL_CA, 'utf8'), rejectUnauthorized: true } }
  else if (env.DB_SSL === 'true' || env.DB_SSL === '1') tls = { ssl: { rejectUnauthorized: true } }

  const connection = { ...target, ...CONNECTION_SETTINGS, ...tls }
  return { pool: { ...connection, ...POOL_SETTINGS }, direct: connection }
}

/** @param {unknown} e */
function describeError(e) {
  if (e && typeof e === 'object') {
    const { code, message } = /** @type {{ code?: unknown, message?: unknown }} */ (e)
    return [code, message].filter((x) => x != null && x !== '').join(': ') || String(e)
  }
  return String(e)
}

/**
 * Opens the pool, checks it with `SELECT 1`, and falls back to a direct
 * mysql2 connection if either step fails. Rejects only if the fallback
 * connection fails too.
 * @param {DbConfig} config
 * @param {{ warn?: (message: string) => void }} [options]
 * @returns {Promise<Database>}
 */
export async function openDatabase(config, { warn = console.warn } = {}) {
  /** @type {Pool | null} */
  let pool = null
  let fallbackReason
  try {
    pool = createPool(config.pool)
    await pool.query('SELECT 1')
    const p = pool
    return {
      db: drizzle(p, { schema, mode: 'planetscale' }),
      mode: 'pool',
      pool: p,
      connection: null,
      fallbackReason: null,
      close: () => p.end(),
    }
  } catch (e) {
    fallbackReason = e
    if (pool) await pool.end().catch(() => {})
    warn(`[Database] Connection pool unavailable (${describeError(e)}); falling back to a direct connection`)
  }

  const connection = await mysql.createConnection(config.direct)
  return {
    db: drizzle(connection, { schema, mode: 'planetscale' }),
    mode: 'direct',
    pool: null,
    connection,
    fallbackReason,
    close: () => connection.end(),
  }
}

/** @type {DbConfig | null} */
let configOverride = null

/**
 * Use this configuration instead of the environment from the next open on
 * (e.g. one built from a secrets store); null goes back to the environment.
 * @param {DbConfig | null} config
 */
export function configureDb(config) {
  configOverride = config
}

/** @type {Promise<Database> | null} */
let opening = null
/** @type {Database | null} */
let current = null
/** @type {object | null} */
let owner = null

/**
 * The process-wide database (opened on first use; concurrent first calls
 * share one open). A failed open is not cached: the next call retries.
 * @returns {Promise<Database>}
 */
export function getDatabase() {
  if (opening) return opening
  // `token` identifies this attempt, so that a late callback from an old
  // database never clears a newer one.
  const token = {}
  const attempt = (async () => {
    const d = await openDatabase(configOverride ?? configFromEnv())
    if (d.connection) {
      // A single connection does not come back after a network error; forget
      // it so that the next getDb() opens again (the pool first).
      d.connection.on('error', (/** @type {unknown} */ e) => {
        console.warn(`[Database] Direct connection lost (${describeError(e)})`)
        if (owner === token) forget()
      })
    }
    if (owner === token) current = d
    return d
  })()
  opening = attempt
  owner = token
  attempt.catch(() => {
    if (owner === token) forget()
  })
  return attempt
}

function forget() {
  opening = null
  current = null
  owner = null
}

/** Drizzle on the shared pool (or the fallback connection). */
export async function getDb() {
  return (await getDatabase()).db
}

/** The shared pool once getDb() has opened it; undefined before, and in fallback mode. */
export function getPool() {
  return current?.pool ?? undefined
}

/** Closes the pool (or the fallback connection); getDb() opens a new one afterwards. */
export async function closeDb() {
  const pending = opening
  forget()
  if (!pending) return
  const d = await pending.catch(() => null)
  if (d) await d.close()
}

/**
 * Creates the example's tables if they are missing (what `drizzle-kit push`
 * would do for schema.mjs).
 * @param {Db} db
 */
export async function ensureSchema(db) {
  await db.execute(sql`
    CREATE TABLE IF NOT EXISTS trpc_example_users (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      name VARCHAR(100) NOT NULL,
      email VARCHAR(255) NOT NULL,
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      CONSTRAINT trpc_example_users_email_unique UNIQUE (email)
    )`)
  await db.execute(sql`
    CREATE TABLE IF NOT EXISTS trpc_example_posts (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      author_id BIGINT UNSIGNED NOT NULL,
      title VARCHAR(200) NOT NULL,
      body TEXT,
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      CONSTRAINT trpc_example_posts_author_id_fk FOREIGN KEY (author_id)
        REFERENCES trpc_example_users (id) ON DELETE CASCADE
    )`)
}
