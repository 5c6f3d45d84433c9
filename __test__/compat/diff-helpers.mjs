// Shared machinery for the differential (mysql2 vs napi-mysql-pool) suites.
//
// The system under test (SUT) is lib/index.js. While it does not exist yet, or
// when NMP_DIFF_SELF=1, the SUT is mysql2 itself: then every comparison must
// trivially hold, which validates the test logic (not the library).
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import { expect } from 'vitest'

const require = createRequire(import.meta.url)
export const mysql2 = require('mysql2/promise')

const LIB = new URL('../../lib/index.js', import.meta.url)
export const SELF = process.env.NMP_DIFF_SELF === '1' || !fs.existsSync(LIB)
// When lib/index.js exists it must load: a broken module fails the suite, it
// does not silently fall back to mysql2.
export const ours = SELF ? null : require('../../lib/index.js')
export const SUT_NAME = SELF ? 'mysql2 (self-check: lib/index.js absent or NMP_DIFF_SELF=1)' : 'napi-mysql-pool'

export const createRefPool = (opts) => mysql2.createPool(opts)
export const createSutPool = SELF ? createRefPool : (opts) => ours.createPool(opts)

/** Connection options for the shared test server. */
export function baseOptions(srv, extra = {}) {
  return {
    host: srv.host,
    port: srv.port,
    user: srv.user,
    password: srv.password,
    database: srv.database,
    connectionLimit: 2,
    ...extra,
  }
}

/**
 * A pair of pools created with the same options. `opts` may be a function of
 * the side ('ref' | 'sut') so that each side can get its own typeCast log.
 */
export function makePair(srv, opts = {}) {
  const o = (side) => baseOptions(srv, typeof opts === 'function' ? opts(side) : opts)
  const pair = { ref: createRefPool(o('ref')), sut: createSutPool(o('sut')) }
  pair.end = async () => {
    await Promise.allSettled([pair.ref.end(), pair.sut.end()])
  }
  return pair
}

// ---------------------------------------------------------------------------
// Snapshots: a type-preserving, comparable picture of whatever a driver call
// returned. toEqual does not tell -0 from 0, ignores undefined properties,
// key order and BigInt-vs-number subtleties in some positions, and cannot
// compare two Invalid Dates; the tagged form below makes all of those explicit.

const FIELD_PROPS = [
  'catalog', 'schema', 'db', 'name', 'orgName', 'table', 'orgTable',
  'characterSet', 'encoding', 'columnLength', 'columnType', 'type', 'flags', 'decimals',
]
const HEADER_PROPS = ['fieldCount', 'affectedRows', 'insertId', 'info', 'serverStatus', 'warningStatus', 'changedRows']

const hash = (b) => createHash('sha256').update(b).digest('hex').slice(0, 16)

export function isFieldPacket(v) {
  return v && typeof v === 'object' && 'columnType' in v && 'characterSet' in v && 'orgName' in v
}
export function isHeader(v) {
  return v && typeof v === 'object' && !Array.isArray(v) && 'affectedRows' in v && 'fieldCount' in v
}

export function snapField(f) {
  const out = {}
  for (const k of FIELD_PROPS) out[k] = snap(f[k])
  return out
}

export function snapHeader(h) {
  const out = { $header: true }
  for (const k of HEADER_PROPS) out[k] = snap(h[k])
  // the brief of issue 3: insertId is a plain number
  out.insertIdType = typeof h.insertId
  return out
}

export function snap(v, depth = 0) {
  if (depth > 20) return { $deep: true }
  if (v === undefined) return { $undefined: true }
  if (v === null) return null
  switch (typeof v) {
    case 'number':
      if (Object.is(v, -0)) return { $num: '-0' }
      if (Number.isNaN(v)) return { $num: 'NaN' }
      if (!Number.isFinite(v)) return { $num: String(v) }
      return v
    case 'bigint':
      return { $bigint: v.toString() }
    case 'string':
      return v.length > 2000 ? { $str: `len=${v.length} sha=${hash(v)}` } : v
    case 'boolean':
      return v
    case 'function':
      return { $function: v.name }
    case 'symbol':
      return { $symbol: String(v) }
  }
  if (v instanceof Date) return { $date: Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString() }
  if (Buffer.isBuffer(v)) return v.length > 256 ? { $buf: `len=${v.length} sha=${hash(v)}` } : { $buf: v.toString('hex') }
  if (v instanceof Error) return snapError(v)
  if (isFieldPacket(v)) return { $field: snapField(v) }
  if (isHeader(v)) return snapHeader(v)
  if (Array.isArray(v)) return v.map((x) => snap(x, depth + 1))
  const out = {}
  const proto = Object.getPrototypeOf(v)
  if (proto !== Object.prototype) out.$proto = proto === null ? null : proto.constructor?.name
  // key order is observable (Object.keys, JSON, spread) so it is compared too
  out.$keys = Object.keys(v)
  for (const k of Object.keys(v)) out[k] = snap(v[k], depth + 1)
  return out
}

export function snapError(e) {
  return {
    $error: {
      name: e.name,
      message: e.message,
      code: snap(e.code),
      errno: snap(e.errno),
      sqlState: snap(e.sqlState),
      sqlMessage: snap(e.sqlMessage),
      fatal: snap(e.fatal),
      sql: snap(e.sql),
    },
  }
}

/** Runs fn and returns its snapshot, or the snapshot of what it threw. */
export async function settle(fn) {
  try {
    return { ok: snap(await fn()) }
  } catch (e) {
    return { threw: e instanceof Error ? snapError(e) : snap(e) }
  }
}

/**
 * Runs fn(pool, side) on mysql2, then on the SUT (sequentially, so that state
 * changing cases see the same database), optionally after reset(). Asserts
 * deep equality and returns the mysql2 snapshot so callers can anchor it.
 */
export async function diff(pair, fn, { reset } = {}) {
  if (reset) await reset()
  const ref = await settle(() => fn(pair.ref, 'ref'))
  if (reset) await reset()
  const sut = await settle(() => fn(pair.sut, 'sut'))
  expect(sut).toEqual(ref)
  return ref
}
