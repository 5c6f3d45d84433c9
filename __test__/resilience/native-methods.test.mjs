// The native pool's own methods (pool._native, the NativePool class) called
// with junk: a JS value reaching native code must come back as a thrown Error
// with a string code or a plain return, never a panic. A panic inside a
// napi-rs method cannot unwind into Node and aborts the process, so this runs
// in a child: an abort fails the test instead of losing the test run.
//  1. every method of a live pool, thousands of random argument lists
//  2. every method with a `this` that is not a native pool
//  3. the constructor with random arguments
//  4. end() with junk grace periods, and the calls after it
import { describe, it, expect, inject, beforeAll } from 'vitest'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { connOpts } from './helpers.mjs'
import { runScenario, childValue } from './child-run.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const SEED = Number(process.env.FUZZ_SEED ?? 20261207)
const CALLS = 4000
const srv = inject('mysqlServer')

// Runs in the child (serialized with toString): plain JS only.
async function scenario({ require, helpers, conn, seed, calls }) {
  const { createPool } = require('./lib/index.js')
  const { NativePool } = require('./lib/native.js')
  const { normalize, nativeConfig } = require('./lib/config.js')
  const { prng } = helpers
  const r = prng(seed)
  class Thrown extends Error {}
  // biome-ignore format: a list of values
  const JUNK = [undefined, null, true, false, 0, -0, 1, -1, 0.5, 7, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -(2 ** 53), 1e308, -1e308, NaN, Infinity, -Infinity,
    '', '1', 'x'.repeat(5000), '\u0000', '\ud800', 1n, -1n, 2n ** 64n, Symbol('s'), {}, [], [1, 'a'], Object.create(null), new Float64Array(8), Buffer.alloc(3),
    new Date(NaN), () => 1, new Map(), Promise.resolve(1),
    { valueOf() { throw new Thrown('valueOf') }, toString() { throw new Thrown('toString') } },
    new Proxy({}, { get() { throw new Thrown('proxy get') }, has() { throw new Thrown('proxy has') }, ownKeys() { throw new Thrown('proxy keys') } })]
  const tally = { returned: 0, coded: 0, user: 0, engine: 0, uncoded: [], panics: [] }
  // engine: V8's own TypeError for a receiver that is no instance of the
  // class ("Illegal invocation"), or for a config that is no object
  // ("Cannot convert undefined or null to object"), raised before our code
  // runs; lib/pool.js never makes either call.
  const call = (label, fn, engine = false) => {
    try {
      fn()
      tally.returned++
    } catch (e) {
      if (e instanceof Thrown)
        tally.user++ // the caller's own exception, passed through
      else if (engine && e instanceof TypeError && /^(Illegal invocation|Cannot convert undefined or null to object)$/.test(e.message)) tally.engine++
      else if (e instanceof Error && typeof e.code === 'string' && e.code !== '') tally.coded++
      else if (tally.uncoded.length < 10) tally.uncoded.push(`${label}: ${e && e.message}`)
      if (/panic/i.test(String(e && e.message)) || (e && e.code === 'ERR_NATIVE_PANIC')) tally.panics.push(`${label}: ${e.message}`)
    }
  }
  const args = () => Array.from({ length: r.int(6) }, () => r.pick(JUNK))

  const pool = createPool({ ...conn, connectionLimit: 4 })
  await pool.query('SELECT 1')
  const native = pool._native
  const proto = Object.getPrototypeOf(native)
  const names = Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor' && typeof proto[n] === 'function')
  // end() stops the pool and getConnection() with a number lends a
  // connection nobody gives back: both are called with junk further down.
  const random = names.filter((n) => n !== 'end' && n !== 'getConnection')
  const perMethod = Object.fromEntries(names.map((n) => [n, 0]))
  for (let i = 0; i < calls; i++) {
    const m = r.pick(random)
    perMethod[m]++
    const a = args()
    call(m, () => native[m](...a))
    // Let answers to random requests come back and be drained meanwhile.
    if (i % 200 === 0) await new Promise((res) => setImmediate(res))
  }
  for (const m of ['getConnection', 'end']) {
    for (const v of JUNK) {
      if (typeof v === 'number') continue
      perMethod[m]++
      call(m, () => native[m](v, v))
    }
  }
  // A `this` that is no native pool.
  const strangers = [{}, null, undefined, pool, Object.create(proto), new Proxy({}, {})]
  for (const m of names) for (const t of strangers) call(`${m} on a stranger`, () => proto[m].call(t, 1, 1), true)
  // The statics and the constructor.
  for (const m of Object.getOwnPropertyNames(NativePool).filter((n) => typeof NativePool[n] === 'function')) {
    for (let k = 0; k < 20; k++) call(`NativePool.${m}`, () => NativePool[m](...args()))
  }
  // A config lib/config.js would send (to a closed port), with 0-3 fields
  // made junk, and junk or plausible other arguments.
  const good = nativeConfig(normalize({ host: '127.0.0.1', port: 1, user: 'u', password: 'p' }))
  const fields = Object.keys(good)
  const made = []
  for (let k = 0; k < 300; k++) {
    const a = args()
    if (r.int(4) > 0) {
      a[0] = { ...good }
      for (let j = r.int(4); j > 0; j--) a[0][r.pick(fields)] = r.pick(JUNK)
    }
    if (r.int(4) > 0) a[1] = () => {}
    if (r.bool()) a[3] = r.pick([undefined, ['junk-share', 'fp'], ['junk-share', 'other fp'], ['a'], ['a', 'b', 'c'], [1, 2]])
    call('new NativePool', () => made.push(new NativePool(...a)), true)
  }
  for (const n of made) call('end a made pool', () => n.end(0, 0))
  // The pool still answers, right after all of it.
  const [[row]] = await pool.query('SELECT ? + 1 AS v', [41])
  // end() with junk grace periods on a second live pool each, then its methods.
  const ended = []
  for (const grace of [NaN, -1, -Infinity, Infinity, 1e308, 2 ** 64, 0.5]) {
    const p = createPool({ ...conn, connectionLimit: 1, endTimeout: 0 })
    await p.query('SELECT 1')
    const n = p._native
    call('end', () => n.end(2 ** 31, grace))
    await new Promise((res) => setTimeout(res, 20))
    for (const m of random) call(`${m} after end`, () => n[m](...args()))
    ended.push(n.counts().total)
  }
  await pool.end()
  return { tally, perMethod, names, answered: row.v, made: made.length, ended }
}

describe(`the native pool's methods called with junk (seed ${SEED})`, () => {
  let result
  beforeAll(async () => {
    result = await runScenario(scenario, {
      imports: { helpers: path.join(HERE, 'helpers.mjs') },
      args: { conn: connOpts(srv), seed: SEED, calls: CALLS },
      timeoutMs: 60_000,
    })
  }, 70_000)

  it('every call returns or throws an Error with a string code; no panic, no abort, and the pool still answers', () => {
    const v = childValue(result)
    // A panic napi-rs caught (catch_unwind) still prints; none may happen.
    expect(result.panicked, result.stderr).toBe(false)
    expect(v.tally.panics).toEqual([])
    expect(v.tally.uncoded).toEqual([])
    expect(v.answered).toBe(42)
    // Both outcomes were exercised, and every method was called.
    expect(v.tally.returned).toBeGreaterThan(100)
    expect(v.made).toBeGreaterThan(20)
    expect(v.tally.coded).toBeGreaterThan(100)
    expect(v.names).toEqual(expect.arrayContaining(['getConnection', 'release', 'destroy', 'end', 'streamAck', 'counts', 'cacheStats']))
    for (const n of v.names) expect(v.perMethod[n], n).toBeGreaterThan(0)
  })

  it('end() with a NaN, negative or huge grace period closes the pool, whose methods then still answer', () => {
    const v = childValue(result)
    expect(v.ended).toEqual([0, 0, 0, 0, 0, 0, 0])
  })
})
