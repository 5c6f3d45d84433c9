// @ts-check
// The app's tRPC router: users and posts on Drizzle, plus the origin app's
// monitoring endpoints from napi-mysql-pool's createMonitoringRouter().
import { initTRPC, TRPCError } from '@trpc/server'
import { asc, eq } from 'drizzle-orm'
import napiMysqlPool from '../../lib/index.js'
import { getDb, getPool } from './db.mjs'
import { posts, users } from './schema.mjs'

// ---------------------------------------------------------------------------
// Input parsers. tRPC accepts any function (input: unknown) => T as a
// validator; what it throws becomes a BAD_REQUEST. (zod would do the same.)

/**
 * @param {unknown} input
 * @returns {Record<string, unknown>}
 */
function object(input) {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new Error('input must be an object')
  return /** @type {Record<string, unknown>} */ (input)
}

/**
 * @param {Record<string, unknown>} o
 * @param {string} key
 * @param {number} max
 */
function text(o, key, max) {
  const v = o[key]
  if (typeof v !== 'string' || v.trim() === '') throw new Error(`${key} must be a non-empty string`)
  if (v.length > max) throw new Error(`${key} must be at most ${max} characters`)
  return v.trim()
}

/**
 * @param {Record<string, unknown>} o
 * @param {string} key
 */
function id(o, key) {
  const v = o[key]
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new Error(`${key} must be a positive integer`)
  return v
}

/** @param {unknown} input */
export function parseNewUser(input) {
  const o = object(input)
  const email = text(o, 'email', 255)
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new Error('email must be an email address')
  return { name: text(o, 'name', 100), email }
}

/** @param {unknown} input */
export function parseNewPost(input) {
  const o = object(input)
  const body = o.body
  if (body !== undefined && body !== null && typeof body !== 'string') throw new Error('body must be a string')
  return { authorId: id(o, 'authorId'), title: text(o, 'title', 200), body: body ?? null }
}

/** @param {unknown} input */
export function parseUserId(input) {
  return { userId: id(object(input), 'userId') }
}

// ---------------------------------------------------------------------------

/**
 * The MySQL error code behind a failed Drizzle query (Drizzle wraps driver
 * errors in DrizzleQueryError; the pool's error is its `cause`).
 * @param {unknown} e
 * @returns {string | undefined}
 */
function sqlCode(e) {
  for (let x = e, depth = 0; x && typeof x === 'object' && depth < 3; x = /** @type {{ cause?: unknown }} */ (x).cause, depth++) {
    const code = /** @type {{ code?: unknown }} */ (x).code
    if (typeof code === 'string') return code
  }
  return undefined
}

// A default import, not `import { createMonitoringRouter }`: lib/index.js
// defines it as a lazy getter, which Node's CommonJS named-export detection
// cannot see, so the named import fails at runtime under plain Node ESM.
const { createMonitoringRouter } = napiMysqlPool

const t = initTRPC.create()

/** Procedures that need the database get it in their context. */
const dbProcedure = t.procedure.use(async ({ next }) => next({ ctx: { db: await getDb() } }))

const usersRouter = t.router({
  list: dbProcedure.query(({ ctx }) => ctx.db.select().from(users).orderBy(asc(users.id))),

  byId: dbProcedure.input(parseUserId).query(async ({ ctx, input }) => {
    const user = await ctx.db.query.users.findFirst({ where: eq(users.id, input.userId) })
    if (!user) throw new TRPCError({ code: 'NOT_FOUND', message: `No user ${input.userId}` })
    return user
  }),

  create: dbProcedure.input(parseNewUser).mutation(async ({ ctx, input }) => {
    try {
      const [row] = await ctx.db.insert(users).values(input).$returningId()
      if (!row) throw new Error('insert returned no id')
      const user = await ctx.db.query.users.findFirst({ where: eq(users.id, row.id) })
      if (!user) throw new Error(`user ${row.id} vanished after insert`)
      return user
    } catch (e) {
      if (sqlCode(e) === 'ER_DUP_ENTRY') {
        throw new TRPCError({ code: 'CONFLICT', message: `A user with email ${input.email} already exists`, cause: e })
      }
      throw e
    }
  }),
})

const postsRouter = t.router({
  create: dbProcedure.input(parseNewPost).mutation(async ({ ctx, input }) => {
    try {
      const [row] = await ctx.db.insert(posts).values(input).$returningId()
      if (!row) throw new Error('insert returned no id')
      return { id: row.id, ...input }
    } catch (e) {
      if (sqlCode(e) === 'ER_NO_REFERENCED_ROW_2') {
        throw new TRPCError({ code: 'NOT_FOUND', message: `No user ${input.authorId}`, cause: e })
      }
      throw e
    }
  }),

  // A relational query: the user with their posts, in one statement.
  // (On MariaDB keep to plain many() relations: drizzle's SQL for one()
  // relations and for orderBy/limit inside `with` is MySQL-only; hence the
  // sort in JS.)
  byUser: dbProcedure.input(parseUserId).query(async ({ ctx, input }) => {
    const user = await ctx.db.query.users.findFirst({
      where: eq(users.id, input.userId),
      columns: { id: true, name: true },
      with: { posts: { columns: { id: true, title: true, body: true, createdAt: true } } },
    })
    if (!user) throw new TRPCError({ code: 'NOT_FOUND', message: `No user ${input.userId}` })
    return { ...user, posts: [...user.posts].sort((a, b) => a.id - b.id) }
  }),
})

export const appRouter = t.router({
  users: usersRouter,
  posts: postsRouter,
  // monitoring.connectionPoolHealth / connectionPoolStats /
  // connectionPoolMetrics / pgbouncerAvailable, as in the origin app.
  // getPool is passed as a function: the pool only exists once getDb() ran.
  // (createMonitoringRouter accepts a pool or a function returning one, but
  // lib/index.d.ts declares `pool: Pool` only, hence the cast.)
  monitoring: createMonitoringRouter({ t, pool: /** @type {any} */ (getPool) }),
})

/** @typedef {typeof appRouter} AppRouter */
