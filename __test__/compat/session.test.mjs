// Differential tests of session affinity and pool bookkeeping: the same code
// runs against mysql2 3.24's promise pool and against ours, on the same server,
// and the measured counts must match (mysql2's are also anchored, so a test
// fails if the reference itself behaves unexpectedly).
//
// Why it matters: mysql2 puts a connection back on its free list (synchronously,
// on the query's 'end' event) before the query's promise resolves, and
// getConnection() pops the most recently freed connection (LIFO). So code that
// awaits each pool.query() before the next one always runs on one connection,
// and apps rely on it without knowing: LAST_INSERT_ID(), user variables,
// SET SESSION, temporary tables, FOUND_ROWS(), FOREIGN_KEY_CHECKS = 0 around
// TRUNCATE (drizzle-seed's reset), START TRANSACTION ... ROLLBACK through
// pool.query().
//
// Run:  npx vitest run __test__/compat/session.test.mjs
// Self-check of the test logic (mysql2 on both sides): NMP_DIFF_SELF=1 npx vitest run __test__/compat/session.test.mjs
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { SUT_NAME, baseOptions, createRefPool, createSutPool, mysql2 } from './diff-helpers.mjs'

const srv = inject('mysqlServer')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
let admin

const SIDES = [
  ['mysql2', createRefPool],
  ['ours', createSutPool],
]

/** Runs fn(pool, side) on a fresh mysql2 pool, then on a fresh pool of ours (sequentially). */
async function bothSequential(opts, fn) {
  const out = {}
  for (const [side, create] of SIDES) {
    const pool = create(baseOptions(srv, opts))
    try {
      out[side] = await fn(pool, side)
    } finally {
      await pool.end()
    }
  }
  console.log(`[session] ${expect.getState().currentTestName}\n  mysql2: ${JSON.stringify(out.mysql2)}\n  ours:   ${JSON.stringify(out.ours)}  (${SUT_NAME})`)
  return out
}

/** Same, but both pools at once (for tests that mostly wait on timers). */
async function bothConcurrent(opts, fn) {
  const pools = SIDES.map(([side, create]) => [side, create(baseOptions(srv, opts))])
  try {
    const results = await Promise.all(pools.map(([side, pool]) => fn(pool, side)))
    const out = { mysql2: results[0], ours: results[1] }
    console.log(`[session] ${expect.getState().currentTestName}\n  mysql2: ${JSON.stringify(out.mysql2)}\n  ours:   ${JSON.stringify(out.ours)}  (${SUT_NAME})`)
    return out
  } finally {
    await Promise.allSettled(pools.map(([, pool]) => pool.end()))
  }
}

const counts = (pool) => ({ all: pool.pool._allConnections.length, free: pool.pool._freeConnections.length })

async function threadAlive(id) {
  const [rows] = await admin.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?', [id])
  return Number(rows[0].n) > 0
}

async function threadsAlive(ids) {
  let n = 0
  for (const id of ids) if (await threadAlive(id)) n++
  return n
}

/** Polls until pred() holds or the deadline passes; returns whether it held. */
async function waitFor(pred, ms, every = 50) {
  const end = Date.now() + ms
  for (;;) {
    if (await pred()) return true
    if (Date.now() >= end) return false
    await sleep(every)
  }
}

beforeAll(async () => {
  const { connectionLimit, ...conn } = baseOptions(srv)
  admin = await mysql2.createConnection(conn)
  await admin.query('DROP TABLE IF EXISTS sess_child, sess_parent, sess_ai, sess_fr, sess_tx')
  await admin.query('CREATE TABLE sess_ai (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB')
  await admin.query('CREATE TABLE sess_fr (id INT PRIMARY KEY) ENGINE=InnoDB')
  await admin.query('INSERT INTO sess_fr (id) VALUES ?', [Array.from({ length: 50 }, (_, i) => [i + 1])])
  await admin.query('CREATE TABLE sess_parent (id INT PRIMARY KEY) ENGINE=InnoDB')
  await admin.query('CREATE TABLE sess_child (id INT PRIMARY KEY, parent_id INT NOT NULL, FOREIGN KEY (parent_id) REFERENCES sess_parent (id)) ENGINE=InnoDB')
  await admin.query('CREATE TABLE sess_tx (id INT AUTO_INCREMENT PRIMARY KEY, side VARCHAR(10), v INT) ENGINE=InnoDB')
  // Counts rows of open (uncommitted) transactions too: a transaction left
  // open on another pooled connection must not hide an INSERT.
  await admin.query('SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED')
})

afterAll(async () => {
  if (!admin) return
  await admin.query('DROP TABLE IF EXISTS sess_child, sess_parent, sess_ai, sess_fr, sess_tx').catch(() => {})
  await admin.end()
})

// ---------------------------------------------------------------------------
// 1. Session affinity of strictly sequential pool.query() calls

// Each kind runs one "pair" of dependent statements through pool.query() and
// says whether the second saw the first's session state (ok) and which server
// connections answered (cids, from CONNECTION_ID() added to the reading
// statement, which does not change what it reads).
const KINDS = {
  lastInsertId: {
    n: 400,
    async pair(pool, i) {
      const [h] = await pool.query('INSERT INTO sess_ai (v) VALUES (?)', [i])
      const [[r]] = await pool.query('SELECT LAST_INSERT_ID() AS id, CONNECTION_ID() AS cid')
      return { ok: Number(r.id) === h.insertId, cids: [r.cid] }
    },
  },
  userVariable: {
    n: 400,
    async pair(pool, i) {
      await pool.query(`SET @v = ${i + 1}`)
      const [[r]] = await pool.query('SELECT @v AS v, CONNECTION_ID() AS cid')
      return { ok: Number(r.v) === i + 1, cids: [r.cid] }
    },
  },
  sessionVariable: {
    n: 300,
    async pair(pool, i) {
      await pool.query(`SET SESSION sql_select_limit = ${1000 + i}`)
      const [[r]] = await pool.query('SELECT @@SESSION.sql_select_limit AS v, CONNECTION_ID() AS cid')
      return { ok: Number(r.v) === 1000 + i, cids: [r.cid] }
    },
  },
  temporaryTable: {
    n: 200,
    async pair(pool, i) {
      await pool.query(`CREATE TEMPORARY TABLE sess_tmp_x SELECT ${i + 1} AS a`)
      const [[r]] = await pool.query('SELECT a, CONNECTION_ID() AS cid FROM sess_tmp_x')
      await pool.query('DROP TEMPORARY TABLE sess_tmp_x')
      return { ok: Number(r.a) === i + 1, cids: [r.cid] }
    },
  },
  foundRows: {
    n: 300,
    async pair(pool, i) {
      const k = 1 + (i % 50)
      await pool.query(`SELECT SQL_CALC_FOUND_ROWS id FROM sess_fr WHERE id <= ${k} LIMIT 1`)
      const [[r]] = await pool.query('SELECT FOUND_ROWS() AS n, CONNECTION_ID() AS cid')
      return { ok: Number(r.n) === k, cids: [r.cid] }
    },
  },
  connectionId: {
    n: 400,
    async pair(pool) {
      const [[a]] = await pool.query('SELECT CONNECTION_ID() AS cid')
      const [[b]] = await pool.query('SELECT CONNECTION_ID() AS cid')
      return { ok: a.cid === b.cid, cids: [a.cid, b.cid] }
    },
  },
}

/**
 * Runs `n` pairs of `kind` strictly sequentially. mismatches: pairs whose
 * second statement did not see the first's session state (an error in a pair
 * counts as a mismatch, its code is tallied in errors); switches: how often
 * consecutive CONNECTION_ID() readings differ; distinct: server connections
 * seen; all: pool.pool._allConnections.length at the end.
 */
async function runPairs(pool, kind, n) {
  let mismatches = 0
  const errors = {}
  const cids = []
  for (let i = 0; i < n; i++) {
    try {
      const r = await KINDS[kind].pair(pool, i)
      if (!r.ok) mismatches++
      cids.push(...r.cids)
    } catch (e) {
      mismatches++
      errors[e.code ?? e.message] = (errors[e.code ?? e.message] ?? 0) + 1
      if (kind === 'temporaryTable') await pool.query('DROP TEMPORARY TABLE IF EXISTS sess_tmp_x').catch(() => {})
    }
  }
  let switches = 0
  for (let i = 1; i < cids.length; i++) if (cids[i] !== cids[i - 1]) switches++
  return { pairs: n, mismatches, switches, distinct: new Set(cids).size, all: pool.pool._allConnections.length, errors }
}

describe('session affinity: strictly sequential pool.query() stays on one connection (mysql2: LIFO, freed before the promise resolves)', () => {
  // N = 2000 pairs per driver across these cases.
  for (const kind of Object.keys(KINDS)) {
    it(`${kind}: ${KINDS[kind].n} sequential pairs, connectionLimit 10`, async () => {
      const r = await bothSequential({ connectionLimit: 10 }, (pool) => runPairs(pool, kind, KINDS[kind].n))
      // The reference: one connection, never a switch, never a mismatch.
      expect(r.mysql2).toEqual({ pairs: KINDS[kind].n, mismatches: 0, switches: 0, distinct: 1, all: 1, errors: {} })
      expect(r.ours, 'ours vs mysql2 (mismatches, switches, distinct connections, _allConnections)').toEqual(r.mysql2)
    })
  }

  // With other work in flight on the same pool, a split pair is possible in
  // principle (the pool is shared), so rates are compared rather than
  // required to be 0. In mysql2 it does not happen here, though, and the
  // reason is deterministic: the query's connection goes back on the free
  // list synchronously inside the socket callback that delivers the result,
  // and the caller's continuation (a microtask, which Node runs before any
  // other socket's callback) pops it right back (LIFO) in pool.query() ->
  // getConnection(). A background query can only take it when it is released
  // to a queued waiter (pool saturated), or when the caller awaits something
  // else between the two queries. With connectionLimit 10 and 4 users neither
  // happens, so mysql2 measures 0 splits. Ours may not split pairs more often
  // than mysql2 by more than 1 percentage point (7 of 750 pairs), a small
  // allowance for a pool whose bookkeeping lives on another thread. Temporary
  // tables are left out: one split leaks a table on a connection and makes
  // later unrelated pairs fail, which measures the cascade, not the pool.
  it('under background load (3 queries kept in flight on the same pool): pair split rate not worse than mysql2', async () => {
    const BG_KINDS = ['lastInsertId', 'userVariable', 'sessionVariable', 'foundRows', 'connectionId']
    const PER_KIND = 150
    const r = await bothSequential({ connectionLimit: 10 }, async (pool) => {
      let stop = false
      let background = 0
      const workers = Array.from({ length: 3 }, async () => {
        while (!stop) {
          await pool.query('SELECT SLEEP(0.001)')
          background++
        }
      })
      const out = { pairs: 0, mismatches: 0, switches: 0, byKind: {} }
      try {
        await waitFor(() => background >= 6, 5000, 5)
        for (const kind of BG_KINDS) {
          const k = await runPairs(pool, kind, PER_KIND)
          out.pairs += k.pairs
          out.mismatches += k.mismatches
          out.switches += k.switches
          out.byKind[kind] = k.mismatches
        }
      } finally {
        stop = true
        await Promise.all(workers)
      }
      out.rate = out.mismatches / out.pairs
      out.background = background
      out.all = pool.pool._allConnections.length
      return out
    })
    for (const side of ['mysql2', 'ours']) {
      expect(r[side].pairs).toBe(BG_KINDS.length * PER_KIND)
      expect(r[side].background, `${side}: the background load actually ran`).toBeGreaterThan(100)
    }
    expect(r.ours.rate, `pair split rate: mysql2 ${r.mysql2.mismatches}/${r.mysql2.pairs}, ours ${r.ours.mismatches}/${r.ours.pairs}`).toBeLessThanOrEqual(
      r.mysql2.rate + 0.01,
    )
  })

  it("drizzle-seed's reset: SET FOREIGN_KEY_CHECKS = 0, TRUNCATE child and parent, SET FOREIGN_KEY_CHECKS = 1, 100 times", async () => {
    const r = await bothSequential({ connectionLimit: 10 }, async (pool) => {
      const errors = {}
      let truncateIllegalFk = 0
      for (let i = 0; i < 100; i++) {
        try {
          await pool.query('SET FOREIGN_KEY_CHECKS = 0')
          await pool.query('TRUNCATE TABLE sess_child')
          await pool.query('TRUNCATE TABLE sess_parent')
          await pool.query('SET FOREIGN_KEY_CHECKS = 1')
          await pool.query('INSERT INTO sess_parent (id) VALUES (?)', [i + 1])
          await pool.query('INSERT INTO sess_child (id, parent_id) VALUES (?, ?)', [i + 1, i + 1])
        } catch (e) {
          if (e.code === 'ER_TRUNCATE_ILLEGAL_FK') truncateIllegalFk++
          errors[e.code ?? e.message] = (errors[e.code ?? e.message] ?? 0) + 1
          await pool.query('SET FOREIGN_KEY_CHECKS = 1').catch(() => {})
        }
      }
      return { truncateIllegalFk, errors, all: pool.pool._allConnections.length }
    })
    expect(r.mysql2).toEqual({ truncateIllegalFk: 0, errors: {}, all: 1 })
    expect(r.ours).toEqual(r.mysql2)
  })
})

// ---------------------------------------------------------------------------
// 2. A transaction through pool.query() alone

describe('START TRANSACTION / INSERT / ROLLBACK through pool.query() (no getConnection)', () => {
  it('leaves no row, as in mysql2 (all three run on the same connection)', async () => {
    const ROUNDS = 20
    const r = await bothSequential({ connectionLimit: 10 }, async (pool, side) => {
      const errors = {}
      for (let i = 0; i < ROUNDS; i++) {
        try {
          await pool.query('START TRANSACTION')
          await pool.query('INSERT INTO sess_tx (side, v) VALUES (?, ?)', [side, i])
          await pool.query('ROLLBACK')
        } catch (e) {
          errors[e.code ?? e.message] = (errors[e.code ?? e.message] ?? 0) + 1
        }
      }
      // admin reads READ UNCOMMITTED: rows of a transaction left open on
      // another connection are counted as well.
      const [[{ n }]] = await admin.query('SELECT COUNT(*) AS n FROM sess_tx WHERE side = ?', [side])
      return { rowsLeft: Number(n), errors }
    })
    expect(r.mysql2).toEqual({ rowsLeft: 0, errors: {} })
    expect(r.ours).toEqual(r.mysql2)
  })
})

// ---------------------------------------------------------------------------
// 3. Default resetOnRelease

describe('default resetOnRelease (mysql2: none)', () => {
  it('session state set on a released getConnection() connection is seen by the next pool.query()', async () => {
    const r = await bothSequential({ connectionLimit: 10 }, async (pool) => {
      const conn = await pool.getConnection()
      await conn.query('SET @x = 42')
      const [[{ cid }]] = await conn.query('SELECT CONNECTION_ID() AS cid')
      conn.release()
      const [[row]] = await pool.query('SELECT @x AS x, CONNECTION_ID() AS cid')
      return { x: row.x, sameConnection: row.cid === cid }
    })
    expect(r.mysql2).toEqual({ x: 42, sameConnection: true })
    expect(r.ours).toEqual(r.mysql2)
  })
})

// ---------------------------------------------------------------------------
// 4. Idle reaping as mysql2 3.24 does it
//
// mysql2 starts a 1 s timer when maxIdle < connectionLimit; each tick closes
// free connections while there are more than maxIdle, or while the oldest free
// one has been idle longer than idleTimeout. So with maxIdle 1 the pool goes
// 4 -> 1 within about a second and the last one goes once it has been idle
// idleTimeout (+ up to a tick). With maxIdle = connectionLimit there is no
// timer at all: idle connections are never closed. Only deadlines are checked,
// not exact timings.

/** Opens 4 connections at once; returns their server thread ids. */
async function openFour(pool) {
  const res = await Promise.all(Array.from({ length: 4 }, () => pool.query('SELECT CONNECTION_ID() AS cid, SLEEP(0.2) AS s')))
  return res.map(([[r]]) => r.cid)
}

describe('idle reaping (maxIdle, idleTimeout)', () => {
  it('maxIdle 1, idleTimeout 1500: free connections drop to 1, then to 0 after idleTimeout', async () => {
    const IDLE = 1500
    const r = await bothConcurrent({ connectionLimit: 4, maxIdle: 1, idleTimeout: IDLE }, async (pool) => {
      const ids = await openFour(pool)
      const t0 = Date.now()
      const out = { distinctIds: new Set(ids).size, afterOpen: counts(pool) }
      // Phase 1: down to maxIdle, within ~1.5 s (deadline 2.5 s).
      out.reachedMaxIdle = await waitFor(() => {
        const c = counts(pool)
        return c.all === 1 && c.free === 1
      }, 2500)
      out.atMaxIdle = counts(pool)
      // Phase 2: the last idle one goes after idleTimeout (deadline +2.5 s).
      out.reachedZero = await waitFor(() => counts(pool).all === 0, IDLE + 2500 - (Date.now() - t0))
      const tZero = Date.now() - t0
      out.zero = counts(pool)
      // never before it has been idle idleTimeout (200 ms of slack)
      out.zeroNotBeforeIdleTimeout = tZero >= IDLE - 200
      // and the server threads really are gone
      out.serverThreadsLeft = (await waitFor(async () => (await threadsAlive(ids)) === 0, 2000)) ? 0 : await threadsAlive(ids)
      return out
    })
    expect(r.mysql2).toEqual({
      distinctIds: 4,
      afterOpen: { all: 4, free: 4 },
      reachedMaxIdle: true,
      atMaxIdle: { all: 1, free: 1 },
      reachedZero: true,
      zero: { all: 0, free: 0 },
      zeroNotBeforeIdleTimeout: true,
      serverThreadsLeft: 0,
    })
    expect(r.ours).toEqual(r.mysql2)
  })

  it('maxIdle = connectionLimit (default): idle connections are never closed', async () => {
    const IDLE = 1500
    const r = await bothConcurrent({ connectionLimit: 4, idleTimeout: IDLE }, async (pool) => {
      const ids = await openFour(pool)
      const out = { distinctIds: new Set(ids).size, afterOpen: counts(pool) }
      await sleep(IDLE + 2500)
      out.later = counts(pool)
      out.serverThreadsAlive = await threadsAlive(ids)
      // and the pool reuses them rather than opening new ones
      const again = await openFour(pool)
      out.reused = again.filter((id) => ids.includes(id)).length
      return out
    })
    expect(r.mysql2).toEqual({ distinctIds: 4, afterOpen: { all: 4, free: 4 }, later: { all: 4, free: 4 }, serverThreadsAlive: 4, reused: 4 })
    expect(r.ours).toEqual(r.mysql2)
  })
})

// ---------------------------------------------------------------------------
// 5. Synchronous bookkeeping

describe('pool.pool counts are updated synchronously', () => {
  it('_freeConnections / _allConnections right after release(), in the same tick', async () => {
    const r = await bothSequential({ connectionLimit: 10 }, async (pool) => {
      const seen = {}
      await pool.query('SELECT 1')
      seen.afterQueryResolved = counts(pool)
      const c1 = await pool.getConnection()
      const c2 = await pool.getConnection()
      seen.twoLent = counts(pool)
      c1.release()
      seen.afterFirstRelease = counts(pool)
      c2.release()
      seen.afterSecondRelease = counts(pool)
      const c3 = await pool.getConnection()
      seen.oneLent = counts(pool)
      c3.release()
      seen.afterThirdRelease = counts(pool)
      return seen
    })
    expect(r.mysql2).toEqual({
      afterQueryResolved: { all: 1, free: 1 },
      twoLent: { all: 2, free: 0 },
      afterFirstRelease: { all: 2, free: 1 },
      afterSecondRelease: { all: 2, free: 2 },
      oneLent: { all: 2, free: 1 },
      afterThirdRelease: { all: 2, free: 2 },
    })
    expect(r.ours).toEqual(r.mysql2)
  })
})

// ---------------------------------------------------------------------------
// 6. destroy() after release()

describe('conn.destroy() after conn.release()', () => {
  it('removes the connection from the pool, as mysql2 does; its thread id is never seen again', async () => {
    const r = await bothSequential({ connectionLimit: 10 }, async (pool) => {
      const conn = await pool.getConnection()
      const [[{ cid }]] = await conn.query('SELECT CONNECTION_ID() AS cid')
      const out = { threadIdMatches: conn.threadId === cid }
      conn.release()
      conn.destroy()
      await sleep(200)
      out.afterDestroy = counts(pool)
      const seen = new Set()
      for (let i = 0; i < 20; i++) {
        const [[row]] = await pool.query('SELECT CONNECTION_ID() AS cid')
        seen.add(row.cid)
      }
      const parallel = await Promise.all(Array.from({ length: 10 }, () => pool.query('SELECT CONNECTION_ID() AS cid, SLEEP(0.05) AS s')))
      for (const [[row]] of parallel) seen.add(row.cid)
      out.destroyedSeenAgain = seen.has(cid)
      out.serverThreadGone = await waitFor(async () => !(await threadAlive(cid)), 2000)
      return out
    })
    expect(r.mysql2).toEqual({ threadIdMatches: true, afterDestroy: { all: 0, free: 0 }, destroyedSeenAgain: false, serverThreadGone: true })
    expect(r.ours).toEqual(r.mysql2)
  })
})
