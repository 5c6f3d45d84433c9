// lib/replayable.js: which statements a pipeline may hand back to the queue
// (send a second time) when their connection is lost unanswered. A wrong
// "yes" could run a writing statement twice, so every way of hiding a call
// or a write is tried here.
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'

const require = createRequire(import.meta.url)
const { classify, replayable, plainValues, cacheSize } = require('../../lib/replayable.js')
const { prepare } = require('../../lib/command.js')
const { normalize } = require('../../lib/config.js')
const { FLAG } = require('../../lib/wire.js')

const cfg = (o = {}) => normalize({ host: '127.0.0.1', ...o })

describe('classify()', () => {
  it.each([
    'SELECT 1',
    'select `id`, `name` from `users` where `users`.`id` = ? limit ?',
    '  (SELECT a FROM t) UNION (SELECT b FROM u)',
    "SELECT COUNT(*), coalesce(max(`x`), 0) FROM t WHERE name IN ('a(', 'b') AND (x > 1 OR y < 2)",
    'select json_arrayagg(json_array(`p`.`id`, `p`.`title`)) from `posts` `p` where exists (select 1 from u)',
    "SELECT CAST(x AS DECIMAL(10,2)), DATE_FORMAT(NOW(), '%Y') FROM t ORDER BY FIELD(id, 3, 1)",
    'SELECT * FROM t WHERE a = 1 FOR UPDATE',
    'SELECT \'a -- b\', "x#y" /* myfunc(1) */ FROM t -- writes(1)\n WHERE a = 1',
    'SELECT @a := 1, GET_LOCK', // a session variable and a bare word: no lasting effect
    'SELECT a--1 FROM t',
  ])('yes: %s', (sql) => {
    expect(classify(sql)).toBe(true)
  })

  it.each([
    ['not a SELECT', 'INSERT INTO t VALUES (1)'],
    ['not a SELECT', 'UPDATE t SET a = 1'],
    ['a CTE may lead to a write', 'WITH x AS (SELECT 1) SELECT * FROM x'],
    ['a leading comment is not read past', '/* hi */ SELECT 1'],
    ['a stored function may write', 'SELECT bump_counter(1)'],
    ['a stored function, space before the parenthesis', 'SELECT bump_counter (1)'],
    ['a stored function, comment before the parenthesis', 'SELECT bump/* */(1)'],
    ['a quoted name before a parenthesis', 'SELECT `bump`(1)'],
    ['a qualified name before a parenthesis', 'SELECT db.bump(1)'],
    ['a qualified, quoted name', 'SELECT `db`.`count`(1)'],
    ['a placeholder may name a function', 'SELECT ??(1)'],
    ['SELECT ... INTO OUTFILE', "SELECT * FROM t INTO OUTFILE '/tmp/x'"],
    ['a sequence advances', 'SELECT NEXTVAL(s)'],
    ['a sequence advances', 'SELECT NEXT VALUE FOR s'],
    ['PROCEDURE', 'SELECT * FROM t PROCEDURE ANALYSE()'],
    ['an executable comment runs', 'SELECT 1 /*! , bump(1) */'],
    ['a MariaDB executable comment runs', 'SELECT 1 /*M! , bump(1) */'],
    // With NO_BACKSLASH_ESCAPES the string ends at the backslash and the call is SQL.
    ['a backslash in a string', "SELECT 'a\\', bump(1) -- '"],
    ['a call after a string', "SELECT 'x', bump('y')"],
    ['an unterminated comment hides nothing', 'SELECT 1 /* bump(1)'],
  ])('no (%s): %s', (_why, sql) => {
    expect(classify(sql)).toBe(false)
  })
})

describe('replayable()', () => {
  it('reads long SQL as no, and gives a cached answer the same as a fresh one', () => {
    expect(replayable(`SELECT ${'1,'.repeat(40000)}1`, true)).toBe(false)
    for (const sql of ['SELECT 1', 'SELECT bump(1)']) {
      expect(replayable(sql, true)).toBe(classify(sql))
      expect(replayable(sql, true)).toBe(classify(sql))
      expect(replayable(sql, false)).toBe(classify(sql))
    }
  })

  it('stays bounded: 5,000 distinct texts leave at most 1,024 cached, and still answer right', () => {
    for (let i = 0; i < 5000; i++) {
      expect(replayable(i % 2 ? `SELECT ${i}` : `SELECT f${i}(1)`, true)).toBe(i % 2 === 1)
      expect(cacheSize().entries).toBeLessThanOrEqual(1024)
    }
    expect(cacheSize().entries).toBeGreaterThan(0)
  })

  it('stays bounded in characters: 200 distinct 60 KB SELECTs keep at most 256 K characters', () => {
    let most = 0
    for (let i = 0; i < 200; i++) {
      expect(replayable(`SELECT ${i} FROM t WHERE x IN (${'1,'.repeat(30_000)}1)`, true)).toBe(true)
      const { chars } = cacheSize()
      most = Math.max(most, chars)
    }
    expect(most).toBeGreaterThan(100_000)
    expect(most).toBeLessThanOrEqual(256 << 10)
  })

  it('keeps no text that does not start like a SELECT (a bulk INSERT is new every time)', () => {
    const before = cacheSize()
    for (let i = 0; i < 100; i++) {
      expect(replayable(`INSERT INTO t VALUES ${`(${i},'x'),`.repeat(500)}(0,'y')`, true)).toBe(false)
      expect(replayable(`  UPDATE t SET a = ${i}`, true)).toBe(false)
    }
    expect(cacheSize()).toEqual(before)
    expect(replayable('  (SELECT 1)', true)).toBe(true)
  })
})

describe('hostile text', () => {
  // Up to 64 KB built to make a pattern backtrack (unterminated comments and
  // strings, long runs, many openings): read in one pass, so each answers
  // within the test's time limit, and answers no.
  it.each([
    ['unterminated comments', '/*'.repeat(32_000)],
    ['an unterminated string', `'${'a'.repeat(64_000)}`],
    ['strings with backslashes', "'\\\\".repeat(21_000)],
    ['quote pairs', "''".repeat(32_000) + "'"],
    ['backticks', '`'.repeat(63_999)],
    ['a long name and no call', `${'a'.repeat(64_000)} bump(1)`],
    ['calls', 'a('.repeat(32_000)],
    ['comment openings in a string', `'${'/*'.repeat(32_000)}`],
  ])('%s', (_name, body) => {
    for (let i = 0; i < 5; i++) expect(classify(`SELECT ${body}`)).toBe(false)
  })

  it('many comments and strings that close are read as such', () => {
    const sql = `SELECT 1${" /* bump(1) */ , 'bump(2)'".repeat(2_000)}`
    expect(classify(sql)).toBe(true)
    expect(classify(`${sql}, bump(3)`)).toBe(false)
  })
})

describe('plainValues()', () => {
  it('quoted literals are plain; an object (toSqlString or key = value) is not', () => {
    expect(plainValues(undefined)).toBe(true)
    expect(plainValues([1, 'x', null, new Date(0), Buffer.from('a'), [1, 2], true, 1n])).toBe(true)
    expect(plainValues([{ toSqlString: () => 'bump(1)' }])).toBe(false)
    expect(plainValues([[{ toSqlString: () => 'bump(1)' }]])).toBe(false)
    expect(plainValues([{ a: 1 }])).toBe(false)
    expect(plainValues({ a: 1 })).toBe(false)
  })
})

describe('prepare() sets REPLAYABLE', () => {
  const r = (...args) => (prepare(...args).flags & FLAG.REPLAYABLE) !== 0
  it('from the template for query() values and execute(), from the formatted SQL otherwise', () => {
    expect(r(cfg(), 'SELECT * FROM t WHERE id = ?', [1], false)).toBe(true)
    expect(r(cfg(), 'SELECT * FROM t WHERE id = ?', [1], true)).toBe(true)
    expect(r(cfg(), 'SELECT * FROM t WHERE id = ?', ["x', bump(1), '"], false)).toBe(true)
    // A raw value pastes a call into the SQL.
    expect(r(cfg(), 'SELECT * FROM t WHERE id = ?', [{ toSqlString: () => 'bump(1)' }], false)).toBe(false)
    expect(r(cfg(), 'SELECT * FROM t WHERE id = ?', [{ toSqlString: () => '1' }], false)).toBe(true)
    expect(r(cfg(), 'SELECT ??(1)', ['bump'], false)).toBe(false)
    expect(r(cfg(), 'INSERT INTO t VALUES (?)', [1], false)).toBe(false)
    const queryFormat = (sql) => sql.replace('$f', 'bump')
    expect(r(cfg({ queryFormat }), 'SELECT $f(1)', [], false)).toBe(false)
    expect(r(cfg({ queryFormat }), 'SELECT 1', [], false)).toBe(true)
    // Without pipelining nothing reads the flag, so it is not worked out.
    expect(r(cfg({ pipelining: 0 }), 'SELECT 1', [], false)).toBe(false)
    expect(r(cfg({ pipelining: 0 }), 'SELECT ?', [1], true)).toBe(false)
  })
})

describe('what Drizzle sends', () => {
  // The origin app's reads must ride: the SQL Drizzle builds for selects,
  // relational queries (planetscale mode), aggregates and joins reads yes;
  // its insert no.
  it('selects, relational queries, aggregates and joins read yes; an insert no', async () => {
    const { drizzle } = require('drizzle-orm/mysql2')
    const { mysqlTable, bigint, varchar, datetime, json } = require('drizzle-orm/mysql-core')
    const { relations, eq, sql, count, sum, desc, and, inArray, like } = require('drizzle-orm')
    const users = mysqlTable('u', {
      id: bigint('id', { mode: 'number' }).primaryKey(),
      name: varchar('name', { length: 20 }),
      createdAt: datetime('created_at', { mode: 'date', fsp: 3 }),
      doc: json('doc'),
    })
    const posts = mysqlTable('p', {
      id: bigint('id', { mode: 'number' }).primaryKey(),
      authorId: bigint('author_id', { mode: 'number' }),
      title: varchar('title', { length: 20 }),
    })
    const ur = relations(users, ({ many }) => ({ posts: many(posts) }))
    const pr = relations(posts, ({ one }) => ({ author: one(users, { fields: [posts.authorId], references: [users.id] }) }))
    // Only builds SQL: the client is never asked to run anything.
    const client = { query() {}, execute() {}, getConnection() {} }
    const db = drizzle(client, { schema: { users, posts, ur, pr }, mode: 'planetscale' })
    const reads = [
      db.query.users.findMany({ with: { posts: true } }),
      db.query.users.findFirst({ where: eq(users.id, 1), with: { posts: { limit: 3, orderBy: desc(posts.id) } } }),
      db.query.posts.findMany({ with: { author: true } }),
      db.select({ n: count() }).from(users),
      db
        .select({ s: sum(posts.id) })
        .from(posts)
        .groupBy(posts.authorId),
      db
        .select()
        .from(users)
        .where(and(inArray(users.id, [1, 2]), like(users.name, 'a%'))),
      db.select().from(users).leftJoin(posts, eq(posts.authorId, users.id)).limit(10).offset(5),
      db.select({ x: sql`lower(${users.name})` }).from(users),
    ]
    for (const q of reads) expect(classify(q.toSQL().sql), q.toSQL().sql).toBe(true)
    expect(classify(db.insert(users).values({ id: 1 }).toSQL().sql)).toBe(false)
    expect(
      classify(
        db
          .select({ x: sql`my_func(${users.name})` })
          .from(users)
          .toSQL().sql,
      ),
    ).toBe(false)
  })
})
