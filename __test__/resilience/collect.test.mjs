// An ended pool is garbage, as a mysql2 pool is: its JS objects, buffers and
// native state are freed once the program drops it. The native wake-up
// function (a threadsafe function Node holds from a GC root) used to close
// over the pool and kept every pool ever created alive, ~200 KB each. And
// once pools were really freed, a boundary call naming a freed pool's
// handle must be refused, never read freed memory.
//  1. pools that were used and ended are collected (child with --expose-gc)
//  2. the boundary calls refuse handles of collected pools, also in the same
//     tick as the collection (finalizers not yet run)
//  3. after end(), a command that reaches the transport is refused at once
import { describe, it, expect, inject, beforeAll } from 'vitest'
import { createPool, connOpts, rejectionOf } from './helpers.mjs'
import { runScenario, childValue } from './child-run.mjs'

const srv = inject('mysqlServer')
const base = connOpts(srv)
const N = 24

// Runs in the child (serialized with toString): plain JS only.
async function scenario({ require, conn, N }) {
  const { createPool } = require('./lib/index.js')
  const mysql = require('mysql2/promise')
  const FAST = require('./lib/native.js').NativePool.fastCalls()
  const tick = () => new Promise((r) => setImmediate(r))
  const handles = []
  const refs = []
  for (let i = 0; i < N; i++) {
    const pool = createPool({ ...conn, connectionLimit: 1 })
    const [[row]] = await pool.query('SELECT ? AS v', [i])
    if (row.v !== i) throw new Error(`pool ${i} answered ${row.v}`)
    handles.push(pool._native.fastHandle())
    refs.push({ pool: new WeakRef(pool), native: new WeakRef(pool._native) })
    await pool.end()
  }
  await new Promise((r) => setTimeout(r, 50))
  const drainAll = () => {
    let refused = 0
    const other = []
    for (const h of handles) {
      try {
        FAST.drain(h, new Float64Array(64))
      } catch (e) {
        if (/no live pool has the handle/.test(e.message) && typeof e.code === 'string') refused++
        else other.push(String(e.message))
      }
    }
    return { refused, other }
  }
  // Collected in this tick, finalizers queued but not run: refused already.
  globalThis.gc()
  const sameTick = drainAll()
  for (let k = 0; k < 6; k++) {
    await tick()
    globalThis.gc()
  }
  await new Promise((r) => setTimeout(r, 50))
  const later = drainAll()
  const pools = refs.filter((r) => r.pool.deref() === undefined).length
  const natives = refs.filter((r) => r.native.deref() === undefined).length
  // The reference: mysql2's pools, used and ended the same way.
  const refs2 = []
  for (let i = 0; i < N; i++) {
    const pool = mysql.createPool({ ...conn, connectionLimit: 1 })
    await pool.query('SELECT 1')
    refs2.push(new WeakRef(pool))
    await pool.end()
  }
  await new Promise((r) => setTimeout(r, 50))
  for (let k = 0; k < 6; k++) {
    await tick()
    globalThis.gc()
  }
  const mysql2Pools = refs2.filter((r) => r.deref() === undefined).length
  // The process goes on: a new pool works.
  const pool = createPool({ ...conn, connectionLimit: 1 })
  const [[row]] = await pool.query('SELECT 42 AS v')
  await pool.end()
  return { pools, natives, sameTick, later, after: row.v, mysql2Pools }
}

describe('ended pools are collected, and their handles refused', () => {
  let result
  beforeAll(async () => {
    result = await runScenario(scenario, { args: { conn: base, N }, execArgv: ['--expose-gc'] })
  }, 40_000)

  const value = () => childValue(result)

  it(`${N} pools used and ended: their JS pools and native pools are collected, as ${N} mysql2 pools are`, () => {
    const v = value()
    // V8 may keep the last one a while longer (a register, a stack slot).
    expect(v.pools).toBeGreaterThanOrEqual(N - 1)
    expect(v.natives).toBeGreaterThanOrEqual(N - 1)
    // As mysql2's, ended the same way in the same process.
    expect(v.mysql2Pools).toBeGreaterThanOrEqual(N - 1)
  })

  it("submit()/drain() refuse a collected pool's handle with a coded error, in the tick of the collection and after", () => {
    const v = value()
    expect(v.sameTick.other).toEqual([])
    expect(v.later.other).toEqual([])
    // Every collected native pool's handle is refused; none reads freed memory.
    expect(v.sameTick.refused).toBeGreaterThanOrEqual(N - 1)
    expect(v.later.refused).toBe(v.natives)
    expect(v.after).toBe(42)
  })
})

describe('after end(), nothing waits for an answer that cannot come', () => {
  it('a command that reaches the transport after end() rejects with POOL_CLOSED at once', async () => {
    const pool = createPool({ ...base, connectionLimit: 1, endTimeout: 50 })
    const conn = await pool.getConnection()
    await pool.end()
    // Lent connections' own checks come first in the API; the transport is
    // the last line, for whatever gets past them.
    const t0 = Date.now()
    const err = await rejectionOf(pool._transport.ping(conn._id))
    expect(err.code).toBe('POOL_CLOSED')
    expect(Date.now() - t0).toBeLessThan(1000)
    const lendErr = await rejectionOf(pool._transport.lend())
    expect(lendErr.code).toBe('POOL_CLOSED')
  })
})

// Runs in the child: a pool.batch() waiting on a table lock holds neither
// the caller's row arrays nor anything built per row, so back-to-back
// batches keep one statement's text alive, not its rows twice over.
async function batchScenario({ require, conn }) {
  const { createPool } = require('./lib/index.js')
  const pool = createPool({ ...conn, connectionLimit: 2 })
  await pool.query('CREATE TABLE IF NOT EXISTS collect_batch (k INT, name VARCHAR(40), at DATETIME)')
  await pool.query('TRUNCATE collect_batch')
  const holder = await pool.getConnection()
  await holder.query('LOCK TABLES collect_batch WRITE')
  const refs = []
  const start = () => {
    const rows = []
    for (let i = 0; i < 100; i++) rows.push([i, `row-${i}`, new Date(Date.UTC(2024, 0, 1, 0, 0, i))])
    for (let i = 0; i < 100; i += 10) refs.push(new WeakRef(rows[i]))
    return pool.batch('INSERT INTO collect_batch (k, name, at) VALUES (?, ?, ?)', rows)
  }
  const running = start()
  // The INSERT is on the server, waiting for the lock.
  let waiting = 0
  for (let k = 0; k < 100 && waiting === 0; k++) {
    await new Promise((r) => setTimeout(r, 20))
    const [list] = await holder.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'INSERT INTO collect_batch%'")
    waiting = Number(list[0].n)
  }
  for (let k = 0; k < 6; k++) {
    await new Promise((r) => setImmediate(r))
    globalThis.gc()
  }
  const collected = refs.filter((r) => r.deref() === undefined).length
  await holder.query('UNLOCK TABLES')
  holder.release()
  const header = await running
  const [[{ n }]] = await pool.query('SELECT COUNT(*) AS n FROM collect_batch')
  await pool.query('DROP TABLE collect_batch')
  await pool.end()
  return { waiting, collected, refs: refs.length, affected: header.affectedRows, n }
}

describe('a running pool.batch() keeps no rows alive', () => {
  it("while its INSERT waits on a lock, the caller's row arrays are collected; then every row is in", async () => {
    const v = childValue(await runScenario(batchScenario, { args: { conn: base }, execArgv: ['--expose-gc'] }))
    expect(v.waiting).toBe(1)
    // V8 may keep one a while longer (a register, a stack slot).
    expect(v.collected).toBeGreaterThanOrEqual(v.refs - 1)
    expect(v.refs).toBe(10)
    expect(v.affected).toBe(100)
    expect(v.n).toBe(100)
  }, 30_000)
})
