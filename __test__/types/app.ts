// A tiny typed application written against napi-mysql-pool exactly as one
// would write it against mysql2/promise + drizzle-orm/mysql2. It is only
// type-checked (tsc.test.mjs), never run. Lines marked @ts-expect-error prove
// the typings are precise (not `any`): if a type degrades to any, the
// expected error disappears and tsc fails.
import { relations, eq, sql } from 'drizzle-orm'
import { drizzle, type MySql2Database } from 'drizzle-orm/mysql2'
import { datetime, int, json, mysqlEnum, mysqlTable, serial, varchar, bigint } from 'drizzle-orm/mysql-core'
import {
  type CoreConnection,
  createPool,
  // biome-ignore lint/suspicious/noShadowRestrictedNames: the package's (mysql2's) API name
  escape,
  escapeId,
  format,
  type FieldPacket,
  type LeakInfo,
  type Pool,
  type PoolConnection,
  type PoolOptions,
  type ResultSetHeader,
  type RowDataPacket,
} from '../../lib/index.js'

export const users = mysqlTable('app_users', {
  id: serial('id').primaryKey(),
  name: varchar('name', { length: 50 }).notNull(),
  age: int('age'),
  role: mysqlEnum('role', ['admin', 'member']).notNull().default('member'),
  prefs: json('prefs').$type<{ theme: 'dark' | 'light' }>(),
  createdAt: datetime('created_at', { mode: 'date', fsp: 3 }),
})

export const posts = mysqlTable('app_posts', {
  id: serial('id').primaryKey(),
  authorId: bigint('author_id', { mode: 'number', unsigned: true }).notNull(),
  title: varchar('title', { length: 100 }).notNull(),
})

export const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }))
export const postsRelations = relations(posts, ({ one }) => ({
  author: one(users, { fields: [posts.authorId], references: [users.id] }),
}))
const schema = { users, posts, usersRelations, postsRelations }

const options: PoolOptions = {
  host: '127.0.0.1',
  port: 3306,
  user: 'app',
  password: 'secret',
  database: 'app',
  connectionLimit: 10,
  supportBigNumbers: true,
  dateStrings: ['DATE'],
  acquireTimeout: 2_000,
  ssl: { rejectUnauthorized: true },
}

export function openDb(pool: Pool): MySql2Database<typeof schema> {
  return drizzle(pool, { schema, mode: 'default' })
}

type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false
/** exactly<T>()(v) compiles only if v's type is T (in particular, not any). */
declare function exactly<T>(): <U>(value: U & (Equal<T, U> extends true ? unknown : never)) => void

interface UserRow extends RowDataPacket {
  id: number
  name: string
}

export async function main(): Promise<void> {
  const pool = createPool(options)
  const fromUrl: Pool = createPool('mysql://app:secret@127.0.0.1:3306/app')
  const db = drizzle(pool, { schema, mode: 'default' })
  const plain = drizzle(pool)
  const db2 = openDb(pool)

  // Drizzle: typed selects, inserts, updates, relational queries, transactions
  const rows: { id: number; name: string; age: number | null }[] = await db
    .select({ id: users.id, name: users.name, age: users.age })
    .from(users)
    .where(eq(users.role, 'admin'))
    .orderBy(users.id)
    .limit(10)
  const ids: { id: number }[] = await plain
    .insert(users)
    .values({ name: 'new', prefs: { theme: 'dark' } })
    .$returningId()
  const withPosts = await db2.query.users.findMany({ with: { posts: true } })
  const firstTitle: string | undefined = withPosts[0]?.posts[0]?.title
  const theme: 'dark' | 'light' | undefined = withPosts[0]?.prefs?.theme
  const count: number = await db.$count(posts, eq(posts.authorId, 1))
  await db.transaction(async (tx) => {
    await tx
      .update(users)
      .set({ age: sql`${users.age} + 1` })
      .where(eq(users.id, ids[0]?.id ?? 0))
    await tx.transaction(async (inner) => {
      await inner.delete(posts).where(eq(posts.authorId, 0))
    })
  })
  for await (const p of plain.select().from(posts).iterator()) {
    const title: string = p.title
    void title
  }

  // mysql2-style API
  const [raw, fields] = await pool.query<RowDataPacket[]>('SELECT 1 AS one')
  const one: unknown = raw[0]?.one
  const fieldNames: string[] = fields.map((f: FieldPacket) => f.name)
  const [typed] = await pool.query<UserRow[]>({ sql: 'SELECT id, name FROM app_users WHERE id IN (?)', values: [[1, 2]] })
  const name: string | undefined = typed[0]?.name
  const [header] = await pool.execute<ResultSetHeader>('UPDATE app_users SET name = ? WHERE id = ?', ['x', 1])
  const affected: number = header.affectedRows
  const insertId: number = header.insertId
  const [asArrays] = await pool.query<RowDataPacket[][]>({ sql: 'SELECT 1, 2', rowsAsArray: true })

  const conn = await pool.getConnection()
  try {
    await conn.beginTransaction()
    await conn.execute<ResultSetHeader>('INSERT INTO app_posts (author_id, title) VALUES (?, ?)', [1, 't'])
    await conn.commit()
  } catch (e) {
    await conn.rollback()
    throw e
  } finally {
    conn.release()
  }

  const q: string = pool.format('SELECT ?? FROM t WHERE id = ?', ['col', 1]) + format('?', [1]) + escape('x') + escapeId('a.b') + pool.escape(1)

  // events: each listener gets what lib/pool.js emits
  pool.on('connection', (c) => {
    exactly<CoreConnection>()(c)
    c.query("SET SESSION time_zone = '+00:00'")
  })
  pool.on('acquire', (c) => exactly<PoolConnection>()(c))
  pool.on('release', (c) => exactly<PoolConnection>()(c))
  pool.on('enqueue', (...args) => exactly<[]>()(args))
  pool.on('leak', (info) => exactly<LeakInfo>()(info))
  pool.once('connection', (c) => exactly<CoreConnection>()(c))

  // the native extras
  const health = pool.health()
  const status: 'healthy' | 'warning' | 'unhealthy' = health.status
  const active: number = pool.stats().counts.active
  const text: string = pool.metrics()

  // precision checks: each line must be a type error
  // @ts-expect-error insertId is a number
  const wrongId: string = header.insertId
  // @ts-expect-error query() resolves to [rows, fields], not rows
  const wrongRows: RowDataPacket[] = await pool.query<RowDataPacket[]>('SELECT 1')
  // @ts-expect-error no such method on the pool
  pool.queryRows('SELECT 1')
  // @ts-expect-error unknown pool option
  createPool({ host: 'h', connectionLimt: 3 })
  // @ts-expect-error drizzle keeps column types: name is a string
  const wrongName: number = rows[0]?.name ?? 0
  // @ts-expect-error the 'connection' event passes the core connection, not a lent one
  pool.on('connection', (c) => exactly<PoolConnection>()(c))
  // @ts-expect-error enum values are checked
  await db.insert(users).values({ name: 'x', role: 'owner' })

  void [one, fieldNames, name, affected, insertId, asArrays, firstTitle, theme, count, q, status, active, text, fromUrl]
  void [wrongId, wrongRows, wrongName]
  await pool.end()
}
