// Drizzle on our pool (issue 3): `drizzle(pool)` from drizzle-orm/mysql2 must
// work unchanged. Every operation runs on a mysql2 pool and on ours and the
// results must be deep-equal; absolute expectations pin what Drizzle users
// get. While lib/index.js is absent (or NMP_DIFF_SELF=1) both sides are mysql2.
//
// Run: npx vitest run __test__/drizzle
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { and, asc, desc, eq, gt, inArray, isNull, relations, sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/mysql2'
import { migrate } from 'drizzle-orm/mysql2/migrator'
import {
  bigint,
  binary,
  boolean,
  char,
  date,
  datetime,
  decimal,
  double,
  float,
  int,
  json,
  longtext,
  mediumint,
  mediumtext,
  mysqlEnum,
  mysqlTable,
  real,
  serial,
  smallint,
  text,
  time,
  timestamp,
  tinyint,
  varbinary,
  varchar,
  year,
} from 'drizzle-orm/mysql-core'
// @ts-expect-error plain ESM helper without type declarations
import { SUT_NAME, baseOptions, createRefPool, createSutPool, formatPaths, mysql2, pathDiff, snap } from '../compat/diff-helpers.mjs'

const srv = inject('mysqlServer') as { host: string; port: number; user: string; password: string; database: string }
const MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations')

// ---------------------------------------------------------------------------
// Schema: every mysql-core column type

const allTypes = mysqlTable('dz_all_types', {
  id: serial('id').primaryKey(),
  i: int('i'),
  iu: int('iu', { unsigned: true }),
  bigNum: bigint('big_num', { mode: 'number' }),
  bigBig: bigint('big_big', { mode: 'bigint' }),
  bigU: bigint('big_u', { mode: 'bigint', unsigned: true }),
  ti: tinyint('ti'),
  si: smallint('si'),
  mi: mediumint('mi'),
  decS: decimal('dec_s', { precision: 20, scale: 4 }),
  decN: decimal('dec_n', { precision: 10, scale: 3, mode: 'number' }),
  decB: decimal('dec_b', { precision: 30, scale: 0, mode: 'bigint' }),
  dbl: double('dbl'),
  flt: float('flt'),
  rl: real('rl'),
  bool: boolean('bool'),
  ch: char('ch', { length: 5 }),
  vc: varchar('vc', { length: 100 }),
  tx: text('tx'),
  mtx: mediumtext('mtx'),
  ltx: longtext('ltx'),
  bin: binary('bin', { length: 4 }),
  vbin: varbinary('vbin', { length: 10 }),
  d: date('d', { mode: 'date' }),
  dStr: date('d_str', { mode: 'string' }),
  dt: datetime('dt', { mode: 'date' }),
  dtStr: datetime('dt_str', { mode: 'string', fsp: 3 }),
  dt3: datetime('dt3', { mode: 'date', fsp: 3 }),
  ts: timestamp('ts', { fsp: 3 }),
  tsStr: timestamp('ts_str', { mode: 'string' }),
  tm: time('tm'),
  yr: year('yr'),
  en: mysqlEnum('en', ['small', 'medium', 'large']),
})

const jsonDocs = mysqlTable('dz_json', {
  id: serial('id').primaryKey(),
  doc: json('doc').$type<{ a: number; tags: string[]; nested: { ok: boolean } }>(),
})

const users = mysqlTable('dz_users', {
  id: serial('id').primaryKey(),
  name: varchar('name', { length: 50 }).notNull(),
  email: varchar('email', { length: 100 }),
  createdAt: datetime('created_at', { mode: 'date', fsp: 3 }),
})

const posts = mysqlTable('dz_posts', {
  id: serial('id').primaryKey(),
  authorId: bigint('author_id', { mode: 'number', unsigned: true }).notNull(),
  title: varchar('title', { length: 100 }).notNull(),
  views: int('views').notNull().default(0),
})

const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }))
const postsRelations = relations(posts, ({ one }) => ({
  author: one(users, { fields: [posts.authorId], references: [users.id] }),
}))
const schema = { users, posts, usersRelations, postsRelations }

const migAuthors = mysqlTable('dz_mig_authors', {
  id: serial('id').primaryKey(),
  name: varchar('name', { length: 50 }).notNull(),
  email: varchar('email', { length: 100 }),
})
const migBooks = mysqlTable('dz_mig_books', {
  id: serial('id').primaryKey(),
  authorId: bigint('author_id', { mode: 'number', unsigned: true }).notNull(),
  title: varchar('title', { length: 100 }).notNull(),
  published: date('published', { mode: 'string' }),
})

const DDL = [
  'DROP TABLE IF EXISTS dz_all_types, dz_json, dz_posts, dz_users, dz_mig_books, dz_mig_authors, dz_migrations',
  `CREATE TABLE dz_all_types (
    id SERIAL PRIMARY KEY, i INT, iu INT UNSIGNED, big_num BIGINT, big_big BIGINT, big_u BIGINT UNSIGNED,
    ti TINYINT, si SMALLINT, mi MEDIUMINT, dec_s DECIMAL(20,4), dec_n DECIMAL(10,3), dec_b DECIMAL(30,0),
    dbl DOUBLE, flt FLOAT, rl REAL, bool BOOLEAN, ch CHAR(5), vc VARCHAR(100), tx TEXT, mtx MEDIUMTEXT, ltx LONGTEXT,
    bin BINARY(4), vbin VARBINARY(10), d DATE, d_str DATE, dt DATETIME, dt_str DATETIME(3), dt3 DATETIME(3),
    ts TIMESTAMP(3) NULL DEFAULT NULL, ts_str TIMESTAMP NULL DEFAULT NULL, tm TIME, yr YEAR,
    en ENUM('small','medium','large')
  ) DEFAULT CHARSET=utf8mb4`,
  'CREATE TABLE dz_json (id SERIAL PRIMARY KEY, doc JSON) DEFAULT CHARSET=utf8mb4',
  `CREATE TABLE dz_users (id SERIAL PRIMARY KEY, name VARCHAR(50) NOT NULL, email VARCHAR(100),
    created_at DATETIME(3)) DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE dz_posts (id SERIAL PRIMARY KEY, author_id BIGINT UNSIGNED NOT NULL, title VARCHAR(100) NOT NULL,
    views INT NOT NULL DEFAULT 0) DEFAULT CHARSET=utf8mb4`,
]

// ---------------------------------------------------------------------------
// Two Drizzle instances over two pools with the same options.
// supportBigNumbers: what drizzle itself uses for drizzle(url), and needed
// for exact bigint-mode columns.

const POOL_OPTS = { supportBigNumbers: true, connectionLimit: 3 }
type Side = 'ref' | 'sut'
let admin: any
const pools: Record<Side, any> = {} as any
const dbs: Record<Side, ReturnType<typeof drizzle>> = {} as any
const relDbs: Record<Side, any> = {} as any

async function adminQuery(q: string, values?: unknown[]) {
  const [r] = await admin.query(q, values)
  return r
}

beforeAll(async () => {
  admin = await mysql2.createConnection({
    host: srv.host,
    port: srv.port,
    user: srv.user,
    password: srv.password,
    database: srv.database,
  })
  for (const q of DDL) await admin.query(q)
  pools.ref = createRefPool(baseOptions(srv, POOL_OPTS))
  pools.sut = createSutPool(baseOptions(srv, POOL_OPTS))
  for (const side of ['ref', 'sut'] as Side[]) {
    dbs[side] = drizzle(pools[side])
    relDbs[side] = drizzle({ client: pools[side], schema, mode: 'planetscale' })
  }
})

afterAll(async () => {
  await Promise.allSettled([pools.ref?.end(), pools.sut?.end()])
  await admin?.end()
})

async function capture<T>(fn: () => Promise<T>): Promise<{ ok: T } | { threw: unknown }> {
  try {
    return { ok: await fn() }
  } catch (e) {
    return { threw: e }
  }
}

/**
 * Runs fn on the mysql2-backed db, then on ours (after reset each time),
 * asserts the snapshots are deep-equal and returns both raw results.
 */
async function both<T>(
  fn: (db: any, side: Side) => Promise<T>,
  { reset, rel = false, allow }: { reset?: () => Promise<unknown>; rel?: boolean; allow?: RegExp[] } = {},
): Promise<{ ref: T; sut: T }> {
  const out: Record<Side, any> = {} as any
  for (const side of ['ref', 'sut'] as Side[]) {
    if (reset) await reset()
    out[side] = await capture(() => fn(rel ? relDbs[side] : dbs[side], side))
  }
  const a = snap(out.ref)
  const b = snap(out.sut)
  // `allow`: paths of an explicitly accepted difference; the test then
  // asserts the exact value ours gives there.
  const paths = pathDiff(a, b).filter((p: { path: string }) => !(allow ?? []).some((re) => re.test(p.path)))
  expect(paths, paths.length ? `mysql2 vs ours differ at:\n${formatPaths(paths)}\n` : undefined).toEqual([])
  if ('threw' in out.ref) throw out.ref.threw
  return { ref: out.ref.ok, sut: out.sut.ok }
}

const resetUsers = async () => {
  await adminQuery('TRUNCATE dz_posts')
  await adminQuery('TRUNCATE dz_users')
  await adminQuery(
    `INSERT INTO dz_users (name, email, created_at) VALUES
      ('alice', 'alice@example.com', '2024-01-01 10:00:00.123'), ('bob', NULL, '2024-01-02 11:00:00.000'),
      ('carol', 'carol@example.com', NULL), ('dave', 'dave@example.com', '2024-01-04 12:30:00.500')`,
  )
  await adminQuery(
    `INSERT INTO dz_posts (author_id, title, views) VALUES
      (1, 'a1', 10), (1, 'a2', 20), (2, 'b1', 5), (4, 'd1', 0), (4, 'd2', 7), (4, 'd3', 1)`,
  )
}

const SAMPLE = {
  i: -2147483648,
  iu: 4294967295,
  bigNum: 9007199254740991,
  bigBig: 9223372036854775807n,
  bigU: 18446744073709551615n,
  ti: -128,
  si: 32767,
  mi: -8388608,
  decS: '1234567890123456.1234',
  decN: 1234567.125,
  decB: 123456789012345678901234567890n,
  dbl: 1.7976931348623157e308,
  flt: 1.5,
  rl: 0.1,
  bool: true,
  ch: 'abc',
  vc: "héllo 😀 it's",
  tx: 'text \\ with "quotes"',
  mtx: 'medium'.repeat(100),
  ltx: 'long'.repeat(5000),
  bin: 'ab',
  vbin: 'xyz',
  d: new Date('2024-02-29T00:00:00.000Z'),
  dStr: '2024-02-29',
  dt: new Date('2024-02-29T12:34:56.000Z'),
  dtStr: '2024-02-29 12:34:56.789',
  dt3: new Date('2024-02-29T12:34:56.789Z'),
  ts: new Date('2024-02-29T12:34:56.789Z'),
  tsStr: '2024-02-29 12:34:56',
  tm: '-12:34:56',
  yr: 2024,
  en: 'medium' as const,
}

it(`runs Drizzle on mysql2 and on: ${SUT_NAME}`, () => {
  expect(typeof dbs.sut.select).toBe('function')
})

describe('drizzle(pool): CRUD over every column type', () => {
  const resetTypes = () => adminQuery('TRUNCATE dz_all_types')

  it('insert then select all types', async () => {
    const { sut } = await both(
      async (db) => {
        const ins = await db.insert(allTypes).values([SAMPLE, { bool: false, en: 'small' }])
        const rows = await db.select().from(allTypes).orderBy(allTypes.id)
        return { ins, rows }
      },
      { reset: resetTypes },
    )
    expect(sut.ins[0].affectedRows).toBe(2)
    expect(sut.ins[0].insertId).toBe(1)
    const [row, sparse] = sut.rows
    expect(row).toEqual({
      ...SAMPLE,
      id: 1,
      flt: 1.5,
      bin: 'ab\u0000\u0000', // BINARY(4) pads with NULs
    })
    expect(sparse).toMatchObject({ id: 2, i: null, bigBig: null, d: null, ts: null, bool: false, en: 'small' })
  })

  it('partial select, where, orderBy, limit, offset', async () => {
    const { sut } = await both(
      async (db) => {
        await db.insert(allTypes).values([
          { i: 3, vc: 'c', bigBig: 3n },
          { i: 1, vc: 'a', bigBig: 9007199254740993n },
          { i: 2, vc: 'b', bigBig: -1n },
          { i: 5, vc: 'e' },
          { i: 4, vc: null },
        ])
        return {
          page: await db.select({ i: allTypes.i, vc: allTypes.vc }).from(allTypes).where(gt(allTypes.i, 1)).orderBy(desc(allTypes.i)).limit(2).offset(1),
          isNull: await db.select({ i: allTypes.i }).from(allTypes).where(isNull(allTypes.vc)),
          inList: await db
            .select({ i: allTypes.i, b: allTypes.bigBig })
            .from(allTypes)
            .where(inArray(allTypes.vc, ['a', 'c']))
            .orderBy(asc(allTypes.i)),
          byBig: await db.select({ i: allTypes.i }).from(allTypes).where(eq(allTypes.bigBig, 9007199254740993n)),
          expr: await db.select({ n: sql<number>`count(*)`.mapWith(Number), mx: sql<number>`max(${allTypes.i})` }).from(allTypes),
        }
      },
      { reset: resetTypes },
    )
    expect(sut.page).toEqual([
      { i: 4, vc: null },
      { i: 3, vc: 'c' },
    ])
    expect(sut.isNull).toEqual([{ i: 4 }])
    expect(sut.inList).toEqual([
      { i: 1, b: 9007199254740993n },
      { i: 3, b: 3n },
    ])
    expect(sut.byBig).toEqual([{ i: 1 }])
    expect(sut.expr).toEqual([{ n: 5, mx: 5 }])
  })

  it('update (matched but unchanged rows count as affected) and delete', async () => {
    const { sut } = await both(
      async (db) => {
        await db.insert(allTypes).values([
          { i: 1, vc: 'x' },
          { i: 2, vc: 'x' },
          { i: 3, vc: 'y' },
        ])
        const upd = await db.update(allTypes).set({ vc: 'x' }).where(eq(allTypes.vc, 'x'))
        const upd2 = await db
          .update(allTypes)
          .set({ vc: 'z', dt: new Date('2020-01-01T00:00:00Z') })
          .where(eq(allTypes.i, 3))
        const del = await db.delete(allTypes).where(inArray(allTypes.i, [1, 2]))
        const rest = await db.select({ i: allTypes.i, vc: allTypes.vc, dt: allTypes.dt }).from(allTypes)
        return { upd: upd[0], upd2: upd2[0], del: del[0], rest }
      },
      { reset: resetTypes },
    )
    expect(sut.upd).toMatchObject({ affectedRows: 2, changedRows: 0 })
    expect(sut.upd2).toMatchObject({ affectedRows: 1, changedRows: 1 })
    expect(sut.del).toMatchObject({ affectedRows: 2 })
    expect(sut.rest).toEqual([{ i: 3, vc: 'z', dt: new Date('2020-01-01T00:00:00Z') }])
  })

  it('$returningId()', async () => {
    const { sut } = await both(
      async (db) => ({
        one: await db.insert(allTypes).values({ i: 1 }).$returningId(),
        many: await db
          .insert(allTypes)
          .values([{ i: 2 }, { i: 3 }, { i: 4 }])
          .$returningId(),
      }),
      { reset: resetTypes },
    )
    expect(sut.one).toEqual([{ id: 1 }])
    expect(sut.many).toEqual([{ id: 2 }, { id: 3 }, { id: 4 }])
  })

  it('upsert with onDuplicateKeyUpdate', async () => {
    const { sut } = await both(
      async (db) => {
        await db.insert(users).values({ id: 1, name: 'first' })
        const up = await db
          .insert(users)
          .values({ id: 1, name: 'second' })
          .onDuplicateKeyUpdate({ set: { name: sql`values(${users.name})` } })
        return { up: up[0], rows: await db.select({ id: users.id, name: users.name }).from(users) }
      },
      { reset: () => adminQuery('TRUNCATE dz_users') },
    )
    expect(sut.up.affectedRows).toBe(2)
    expect(sut.rows).toEqual([{ id: 1, name: 'second' }])
  })

  it('prepared statement with placeholders, reused', async () => {
    const { sut } = await both(
      async (db) => {
        const q = db
          .select({ id: users.id, name: users.name })
          .from(users)
          .where(eq(users.id, sql.placeholder('id')))
          .prepare()
        return [await q.execute({ id: 1 }), await q.execute({ id: 3 }), await q.execute({ id: 99 })]
      },
      { reset: resetUsers },
    )
    expect(sut).toEqual([[{ id: 1, name: 'alice' }], [{ id: 3, name: 'carol' }], []])
  })

  it('db.execute(sql``) raw', async () => {
    const { sut } = await both(async (db) => {
      const [rows] = await db.execute(sql`select ${1} as one, ${'x'} as s, cast(${'2024-02-29'} as date) as d`)
      return rows
    })
    // raw execute goes through drizzle's typeCast: DATE arrives as a string
    expect(sut).toEqual([{ one: 1, s: 'x', d: '2024-02-29' }])
  })

  it('json() column: the value is the typed object, on insert and select', async () => {
    const doc = { a: 1, tags: ['x', 'y'], nested: { ok: true } }
    const { sut } = await both(
      async (db) => {
        await db.insert(jsonDocs).values({ doc })
        return db.select().from(jsonDocs)
      },
      { reset: () => adminQuery('TRUNCATE dz_json') },
    )
    // drizzle's json() has no mapFromDriverValue: the driver's value is what
    // the app gets. On MariaDB a JSON column is LONGTEXT on the wire; mysql2
    // parses it via MariaDB's extended metadata, ours via the column's
    // json_valid check (src/json_columns.rs): the same object either way.
    expect(sut).toEqual([{ id: 1, doc }])
  })

  it('driver errors surface through drizzle with the mysql2 error as cause', async () => {
    await both(
      async (db) => {
        await db.insert(users).values({ id: 1, name: 'x' })
        return db.insert(users).values({ id: 1, name: 'dup' })
      },
      { reset: () => adminQuery('TRUNCATE dz_users') },
    ).then(
      () => expect.unreachable('duplicate insert must fail'),
      (e: any) => {
        expect(e.cause?.code ?? e.code).toBe('ER_DUP_ENTRY')
      },
    )
  })
})

describe('drizzle(pool): joins, $count, iterator', () => {
  it('inner and left joins', async () => {
    const { sut } = await both(
      async (db) => ({
        inner: await db.select({ user: users.name, title: posts.title }).from(users).innerJoin(posts, eq(posts.authorId, users.id)).orderBy(users.id, posts.id),
        left: await db
          .select()
          .from(users)
          .leftJoin(posts, eq(posts.authorId, users.id))
          .where(inArray(users.id, [2, 3]))
          .orderBy(users.id, posts.id),
        grouped: await db
          .select({ id: users.id, n: sql<number>`count(${posts.id})`.mapWith(Number) })
          .from(users)
          .leftJoin(posts, eq(posts.authorId, users.id))
          .groupBy(users.id)
          .orderBy(users.id),
      }),
      { reset: resetUsers },
    )
    expect(sut.inner.map((r: any) => `${r.user}:${r.title}`)).toEqual(['alice:a1', 'alice:a2', 'bob:b1', 'dave:d1', 'dave:d2', 'dave:d3'])
    expect(sut.left).toEqual([
      {
        dz_users: { id: 2, name: 'bob', email: null, createdAt: new Date('2024-01-02T11:00:00.000Z') },
        dz_posts: { id: 3, authorId: 2, title: 'b1', views: 5 },
      },
      { dz_users: { id: 3, name: 'carol', email: 'carol@example.com', createdAt: null }, dz_posts: null },
    ])
    expect(sut.grouped.map((r: any) => r.n)).toEqual([2, 1, 0, 3])
  })

  it('db.$count', async () => {
    const { sut } = await both(
      async (db) => ({
        all: await db.$count(posts),
        filtered: await db.$count(posts, gt(posts.views, 5)),
        inSelect: await db
          .select({ id: users.id, postCount: db.$count(posts, eq(posts.authorId, users.id)) })
          .from(users)
          .orderBy(users.id),
      }),
      { reset: resetUsers },
    )
    expect(sut.all).toBe(6)
    expect(sut.filtered).toBe(3)
    expect(sut.inSelect).toEqual([
      { id: 1, postCount: 2 },
      { id: 2, postCount: 1 },
      { id: 3, postCount: 0 },
      { id: 4, postCount: 3 },
    ])
  })

  it('iterator()', async () => {
    const { sut } = await both(
      async (db) => {
        const rows: unknown[] = []
        for await (const row of db.select({ id: posts.id, title: posts.title }).from(posts).orderBy(posts.id).iterator()) rows.push(row)
        // the lent connection went back: the pool still answers
        const after = await db.select({ n: sql<number>`1` }).from(users).limit(1)
        return { rows, after }
      },
      { reset: resetUsers },
    )
    expect(sut.rows).toHaveLength(6)
    expect(sut.rows[0]).toEqual({ id: 1, title: 'a1' })
    expect(sut.after).toEqual([{ n: 1 }])
  })
})

describe('drizzle(pool): transactions', () => {
  const names = (db: any) => db.select({ name: users.name }).from(users).orderBy(users.id)

  it('commit', async () => {
    const { sut } = await both(
      async (db) => {
        const r = await db.transaction(async (tx: any) => {
          await tx.insert(users).values({ name: 'in-tx' })
          const seen = await tx.select({ name: users.name }).from(users)
          return seen.length
        })
        return { r, rows: await names(db) }
      },
      { reset: () => adminQuery('TRUNCATE dz_users') },
    )
    expect(sut).toEqual({ r: 1, rows: [{ name: 'in-tx' }] })
  })

  it('tx.rollback() and throwing both roll back', async () => {
    const { sut } = await both(
      async (db) => {
        const e1 = await db
          .transaction(async (tx: any) => {
            await tx.insert(users).values({ name: 'rolled-1' })
            tx.rollback()
          })
          .catch((e: Error) => e.constructor.name)
        const e2 = await db
          .transaction(async (tx: any) => {
            await tx.insert(users).values({ name: 'rolled-2' })
            throw new Error('boom')
          })
          .catch((e: Error) => e.message)
        return { e1, e2, rows: await names(db) }
      },
      { reset: () => adminQuery('TRUNCATE dz_users') },
    )
    expect(sut).toEqual({ e1: 'TransactionRollbackError', e2: 'boom', rows: [] })
  })

  it('nested transactions: inner rollback (savepoint) keeps the outer', async () => {
    const { sut } = await both(
      async (db) => {
        await db.transaction(async (tx: any) => {
          await tx.insert(users).values({ name: 'outer' })
          await tx
            .transaction(async (tx2: any) => {
              await tx2.insert(users).values({ name: 'inner-rolled-back' })
              tx2.rollback()
            })
            .catch(() => {})
          await tx.transaction(async (tx2: any) => {
            await tx2.insert(users).values({ name: 'inner-kept' })
          })
        })
        return names(db)
      },
      { reset: () => adminQuery('TRUNCATE dz_users') },
    )
    expect(sut).toEqual([{ name: 'outer' }, { name: 'inner-kept' }])
  })

  it('isolation level config and concurrent transactions on the pool', async () => {
    const { sut } = await both(
      async (db) => {
        const results = await Promise.all(
          [1, 2, 3].map((n) =>
            db.transaction(
              async (tx: any) => {
                await tx.insert(users).values({ name: `tx${n}` })
                return n
              },
              { isolationLevel: 'read committed' },
            ),
          ),
        )
        const rows = await db.select({ name: users.name }).from(users).orderBy(users.name)
        return { results, rows }
      },
      { reset: () => adminQuery('TRUNCATE dz_users') },
    )
    expect(sut).toEqual({ results: [1, 2, 3], rows: [{ name: 'tx1' }, { name: 'tx2' }, { name: 'tx3' }] })
  })
})

describe("drizzle({ client, schema, mode: 'planetscale' }): relational queries", () => {
  it('findMany with posts', async () => {
    const { sut } = await both(
      (db) =>
        db.query.users
          .findMany({ with: { posts: true }, orderBy: (u: any, { asc }: any) => [asc(u.id)] })
          // JSON_ARRAYAGG has no guaranteed order without an ORDER BY
          .then((us: any[]) => us.map((u) => ({ ...u, posts: [...u.posts].sort((a: any, b: any) => a.id - b.id) }))),
      { reset: resetUsers, rel: true },
    )
    expect(sut).toHaveLength(4)
    expect(sut[0]).toEqual({
      id: 1,
      name: 'alice',
      email: 'alice@example.com',
      createdAt: new Date('2024-01-01T10:00:00.123Z'),
      posts: [
        { id: 1, authorId: 1, title: 'a1', views: 10 },
        { id: 2, authorId: 1, title: 'a2', views: 20 },
      ],
    })
    expect(sut[2].posts).toEqual([])
  })

  // MariaDB cannot reference outer columns inside a derived table, which is
  // what drizzle generates for one() relations and for relations with
  // orderBy/limit (in both modes); so only plain many() relations are used.
  it('findFirst with where, columns and nested relation columns', async () => {
    const { sut } = await both(
      (db) =>
        db.query.users.findFirst({
          where: (u: any, { eq }: any) => eq(u.name, 'dave'),
          columns: { id: true, name: true, createdAt: true },
          with: { posts: { columns: { title: true, views: true } } },
        }),
      { reset: resetUsers, rel: true },
    )
    expect(sut).toMatchObject({ id: 4, name: 'dave', createdAt: new Date('2024-01-04T12:30:00.500Z') })
    expect([...sut.posts].sort((a: any, b: any) => a.title.localeCompare(b.title))).toEqual([
      { title: 'd1', views: 0 },
      { title: 'd2', views: 7 },
      { title: 'd3', views: 1 },
    ])
  })
})

describe('drizzle migrator', () => {
  const resetMigrations = async () => {
    await adminQuery('DROP TABLE IF EXISTS dz_mig_books, dz_mig_authors, dz_migrations')
  }

  it('applies a drizzle-kit migrations folder, is idempotent, and the schema works', async () => {
    const { sut } = await both(
      async (db) => {
        await migrate(db, { migrationsFolder: MIGRATIONS, migrationsTable: 'dz_migrations' })
        await migrate(db, { migrationsFolder: MIGRATIONS, migrationsTable: 'dz_migrations' })
        const applied = await db.execute(sql`select id, hash, created_at from dz_migrations order by id`)
        const [cols] = await db.execute(
          sql`select table_name as t, column_name as c, column_type as ty from information_schema.columns
              where table_schema = database() and table_name in ('dz_mig_authors', 'dz_mig_books') order by table_name, ordinal_position`,
        )
        const [author] = await db.insert(migAuthors).values({ name: 'new', email: 'n@example.com' }).$returningId()
        await db.insert(migBooks).values({ authorId: author.id, title: 'book', published: '2024-02-29' })
        const joined = await db
          .select({ name: migAuthors.name, title: migBooks.title, published: migBooks.published })
          .from(migBooks)
          .innerJoin(migAuthors, eq(migAuthors.id, migBooks.authorId))
        const seeded = await db
          .select()
          .from(migAuthors)
          .where(and(eq(migAuthors.id, 1)))
        return { applied: applied[0], cols, joined, seeded }
      },
      { reset: resetMigrations },
    )
    expect(sut.applied).toHaveLength(2)
    expect(sut.applied.map((r: any) => Number(r.created_at))).toEqual([1732300000000, 1732300060000])
    expect(sut.cols.map((c: any) => `${c.t ?? c.T}.${c.c ?? c.C}`)).toContain('dz_mig_authors.email')
    expect(sut.joined).toEqual([{ name: 'new', title: 'book', published: '2024-02-29' }])
    expect(sut.seeded).toEqual([{ id: 1, name: 'seeded by migration', email: 'seed@example.com' }])
  })
})
