// A strict app using the mysql2-style API of 'napi-mysql-pool' without
// Drizzle. standalone.test.mjs compiles it in a throwaway project where the
// package is installed types-only, once WITHOUT mysql2 (lib/index.d.ts must
// stand alone on lib/mysql2-standalone.d.ts) and once with mysql2 (it must
// build on mysql2's types). ./mode.ts, written by the test, says which.
// Only type-checked, never run. The @ts-expect-error lines and the IsAny
// checks fail the compile if a type degrades to `any`.
import {
  type CoreConnection,
  createPool,
  createPoolCluster,
  createReadWriteSplit,
  errorCodes,
  // biome-ignore lint/suspicious/noShadowRestrictedNames: the package's (mysql2's) API name
  escape,
  type FieldPacket,
  format,
  type LeakInfo,
  type Mysql2Installed,
  type Pool,
  type PoolConnection,
  type PoolOptions,
  type QueryOptions,
  type ResultSetHeader,
  type RowDataPacket,
} from 'napi-mysql-pool'
import type { ExpectedMysql2Installed } from './mode.js'

type IsAny<T> = 0 extends 1 & T ? true : false
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false
type Expect<T extends true> = T
/** exactly<T>()(v) compiles only if v's type is T (not any, not a sub- or supertype). */
declare function exactly<T>(): <U>(value: U & (Equal<T, U> extends true ? unknown : never)) => void

export type Mode = Expect<Equal<Mysql2Installed, ExpectedMysql2Installed>>
export type NotAny = [
  Expect<Equal<IsAny<Pool>, false>>,
  Expect<Equal<IsAny<PoolConnection>, false>>,
  Expect<Equal<IsAny<RowDataPacket>, false>>,
  Expect<Equal<IsAny<ResultSetHeader>, false>>,
  Expect<Equal<IsAny<FieldPacket>, false>>,
  Expect<Equal<IsAny<QueryOptions>, false>>,
  Expect<Equal<IsAny<CoreConnection>, false>>,
  Expect<Equal<IsAny<Pool['query']>, false>>,
  Expect<Equal<IsAny<Pool['execute']>, false>>,
  Expect<Equal<IsAny<PoolConnection['beginTransaction']>, false>>,
]

interface UserRow extends RowDataPacket {
  id: number
  name: string
}

const options: PoolOptions = {
  host: '127.0.0.1',
  port: 3306,
  user: 'app',
  password: async () => 'rotated-token',
  database: 'app',
  connectionLimit: 5,
  waitForConnections: true,
  queueLimit: 100,
  supportBigNumbers: true,
  dateStrings: ['DATE'],
  timezone: 'Z',
  typeCast: (field, next) => (field.type === 'TINY' && field.length === 1 ? field.string() === '1' : next()),
  ssl: { rejectUnauthorized: true },
  acquireTimeout: 2_000,
  resetOnRelease: 'auto',
}

export async function main(): Promise<void> {
  const pool: Pool = createPool(options)
  const fromUrl = createPool('mysql://app:secret@127.0.0.1:3306/app')

  // query / execute
  const [rows, fields] = await pool.query<UserRow[]>('SELECT id, name FROM users WHERE id = ?', [1])
  const name: string | undefined = rows[0]?.name
  const columns: string[] = fields.map((f: FieldPacket) => f.name)
  const [header] = await pool.execute<ResultSetHeader>('UPDATE users SET name = ? WHERE id = ?', ['Ada', 1])
  const affected: number = header.affectedRows
  const [asArrays] = await pool.query<RowDataPacket[][]>({ sql: 'SELECT ?, ?', values: [1, 2], rowsAsArray: true, timeout: 1_000 })
  const [named] = await fromUrl.execute<RowDataPacket[]>({ sql: 'SELECT :id AS id', namedPlaceholders: true }, { id: 1 })

  // a transaction on a lent connection
  const conn: PoolConnection = await pool.getConnection()
  try {
    await conn.beginTransaction()
    await conn.query('INSERT INTO audit SET ?', { userId: 1, action: 'rename' })
    const [inserted] = await conn.execute<ResultSetHeader>('INSERT INTO posts (title) VALUES (?)', ['t'])
    const insertId: number = inserted.insertId
    const batched = await conn.batch('INSERT INTO posts (title) VALUES (?)', [['a'], ['b']])
    const batchedRows: number = batched.affectedRows
    const prepared = await conn.prepare('SELECT ? AS v')
    await prepared.execute([1])
    await prepared.close()
    void [insertId, batchedRows]
    await conn.commit()
  } catch (err) {
    await conn.rollback()
    throw err
  } finally {
    conn.release()
  }
  // events: each listener's parameter has the type lib/pool.js emits
  pool.on('connection', (c) => {
    exactly<CoreConnection>()(c)
    const threadId: number = c.threadId
    c.query("SET SESSION time_zone = '+00:00'")
    c.promise()
    void threadId
  })
  pool.on('acquire', (c) => exactly<PoolConnection>()(c))
  pool.once('release', (c) => exactly<PoolConnection>()(c))
  pool.on('enqueue', (...args) => exactly<[]>()(args))
  pool.on('leak', (info) => {
    exactly<LeakInfo>()(info)
    const heldFor: number = info.heldForMs
    const stack: string = info.stack
    void [heldFor, stack]
  })

  // helpers and the native extras
  const sql: string = format('SELECT ?', [1]) + escape('x') + pool.escape(1) + pool.escapeId('a.b') + pool.format('?', [2])
  const code: 'POOL_CLOSED' = errorCodes.POOL_CLOSED
  const status: 'healthy' | 'warning' | 'unhealthy' = pool.health().status
  const waiting: number = pool.stats().counts.waiting
  const text: string = pool.metrics()

  // clusters and read/write splitting
  const cluster = createPoolCluster({ defaultSelector: 'RR' })
  cluster.add('primary', options)
  cluster.on('offline', (nodeId) => void nodeId.toUpperCase())
  const [clusterRows] = await cluster.of('primary').query<UserRow[]>('SELECT 1 AS id, "x" AS name')
  const split = createReadWriteSplit({ primary: options, replicas: ['mysql://ro@replica/app'] })
  const [splitRows] = await split.query<UserRow[]>('SELECT id, name FROM users')
  const firstName: string | undefined = splitRows[0]?.name

  // precision: each of these must be a type error
  // @ts-expect-error insertId is a number
  const wrongId: string = header.insertId
  // @ts-expect-error query() resolves to [rows, fields], not rows
  const wrongRows: UserRow[] = await pool.query<UserRow[]>('SELECT 1')
  // @ts-expect-error unknown pool option
  createPool({ host: 'h', connectionLimt: 3 })
  // @ts-expect-error no such method
  pool.queryRows('SELECT 1')
  // @ts-expect-error the 'connection' listener gets the core connection, not a lent one
  pool.on('connection', (c) => exactly<PoolConnection>()(c))
  // @ts-expect-error a leak report has no such field
  pool.on('leak', (info: LeakInfo) => info.connection)
  // @ts-expect-error typeCast's field.type is one of mysql2's type names
  createPool({ typeCast: (field, next) => (field.type === 'TINYINT' ? 1 : next()) })

  void [name, columns, affected, asArrays, named, sql, code, status, waiting, text, clusterRows, firstName, wrongId, wrongRows]
  await Promise.all([pool.end(), fromUrl.end(), cluster.end(), split.end()])
}
