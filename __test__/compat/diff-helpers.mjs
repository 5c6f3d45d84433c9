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
export function makePair(srv, opts = {}, { alt } = {}) {
  const o = (side) => baseOptions(srv, typeof opts === 'function' ? opts(side) : opts)
  const pair = { ref: createRefPool(o('ref')), sut: createSutPool(o('sut')) }
  // alt: a second mysql2 pool with extra options, the reference for an
  // accepted, documented difference (see diff's `accepted`).
  if (alt) pair.alt = createRefPool({ ...o('alt'), ...alt })
  pair.end = async () => {
    await Promise.allSettled([pair.ref.end(), pair.sut.end(), pair.alt?.end()])
  }
  return pair
}

// ---------------------------------------------------------------------------
// Snapshots: a type-preserving, comparable picture of whatever a driver call
// returned. toEqual does not tell -0 from 0, ignores undefined properties,
// key order and BigInt-vs-number subtleties in some positions, and cannot
// compare two Invalid Dates; the tagged form below makes all of those explicit.

const FIELD_PROPS = [
  'catalog',
  'schema',
  'db',
  'name',
  'orgName',
  'table',
  'orgTable',
  'characterSet',
  'encoding',
  'columnLength',
  'columnType',
  'type',
  'flags',
  'decimals',
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
      return v.length > 20000 ? { $str: `len=${v.length} sha=${hash(v)}` } : v
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
      // drizzle wraps driver errors (DrizzleQueryError) and keeps the driver's as cause
      ...(e.cause instanceof Error ? { cause: snapError(e.cause) } : {}),
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
//
// accepted: { check(paths, ref, alt) } — an accepted difference. The SUT is
// then compared with pair.alt (mysql2 with the options that produce the
// accepted behaviour) instead of pair.ref, and check() must prove that
// ref and alt differ only in the documented way (paths = pathDiff(ref, alt)).
/**
 * `allow`: explicit accepted differences, each { path: RegExp, why: string,
 * sut?: (value) => boolean }. Only paths matching one are tolerated (and
 * only with a `sut` value the predicate accepts); everything else must match.
 */
export async function diff(pair, fn, { reset, accepted, allow } = {}) {
  if (reset) await reset()
  const ref = await settle(() => fn(pair.ref, 'ref'))
  let expected = ref
  let label = 'mysql2'
  if (accepted) {
    if (!pair.alt) throw new Error('accepted difference needs pair.alt')
    if (reset) await reset()
    expected = await settle(() => fn(pair.alt, 'alt'))
    label = 'mysql2 (accepted variant)'
    accepted.check(pathDiff(ref, expected), ref, expected)
  }
  if (reset) await reset()
  const sut = await settle(() => fn(pair.sut, 'sut'))
  const paths = pathDiff(expected, sut)
  if (allow) {
    const unexplained = paths.filter((p) => !allow.some((a) => a.path.test(p.path) && (!a.sut || a.sut(p.sut))))
    expect(unexplained, unexplained.length ? `${label} vs ours differ at:\n${formatPaths(unexplained)}\n` : undefined).toEqual([])
    expect(paths.length, 'an allowed difference is expected here; if it is gone, remove the allowance').toBeGreaterThan(0)
    return ref
  }
  expect(sut, paths.length ? `${label} vs ours differ at:\n${formatPaths(paths)}\n` : undefined).toEqual(expected)
  return ref
}

const short = (v) => {
  const s = JSON.stringify(v)
  return s === undefined ? 'undefined' : s.length > 160 ? `${s.slice(0, 157)}...` : s
}

export function formatPaths(paths, max = 40) {
  const lines = paths.slice(0, max).map((p) => `  ${p.path}: mysql2=${short(p.ref)} ours=${short(p.sut)}`)
  if (paths.length > max) lines.push(`  ... and ${paths.length - max} more`)
  return lines.join('\n')
}

/** Leaf-level differences between two snapshots, as { path, ref, sut }. */
export function pathDiff(a, b, path = '$', out = []) {
  if (Object.is(a, b)) return out
  const bothObjects = a && b && typeof a === 'object' && typeof b === 'object'
  if (!bothObjects || Array.isArray(a) !== Array.isArray(b)) {
    out.push({ path, ref: a, sut: b })
    return out
  }
  if (Array.isArray(a) && a.length !== b.length) out.push({ path: `${path}.length`, ref: a.length, sut: b.length })
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  for (const k of keys) {
    if (k === '$keys' && Array.isArray(a[k]) && Array.isArray(b[k])) {
      if (a[k].join() !== b[k].join()) out.push({ path: `${path}.$keys`, ref: a[k], sut: b[k] })
      continue
    }
    if (!(k in a) || !(k in b)) out.push({ path: `${path}.${k}`, ref: a[k], sut: b[k] })
    else pathDiff(a[k], b[k], `${path}.${k}`, out)
  }
  return out
}
