// Hostile servers and networks: a fake MySQL server that answers with huge
// column counts, trailing result sets, wrong sequence ids, truncated packets
// and garbage (../harness/mysql-fake.mjs), and a fault-injecting proxy in
// front of the suite's MariaDB (../harness/fault-proxy.mjs) that blackholes,
// delays and corrupts. Every scenario runs in a child process, so an abort
// of the native side (SIGABRT) or a hang shows up as a failed test with its
// exit signal instead of taking vitest down; every wait is bounded.
import { describe, it, expect, inject, beforeAll, afterAll } from 'vitest'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import mysql from 'mysql2/promise'
import { startFakeMysql } from '../harness/mysql-fake.mjs'
import { startFaultProxy } from '../harness/fault-proxy.mjs'
import { connOpts, createPool } from './helpers.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const url = (p) => pathToFileURL(path.resolve(HERE, p)).href
const SEED = Number(process.env.FUZZ_SEED ?? 20261123)
const srv = inject('mysqlServer')

// ---------------------------------------------------------------------------
// Child processes

// Helpers handed to every scenario (stringified into the child).
function bounded(p, ms, what) {
  let t
  const timer = new Promise((_, reject) => {
    t = setTimeout(() => {
      const e = new Error(`${what}: still pending after ${ms} ms`)
      e.boundedTimeout = true
      reject(e)
    }, ms)
  })
  return Promise.race([p, timer]).finally(() => clearTimeout(t))
}

async function capture(p) {
  try {
    return { ok: true, value: await p }
  } catch (e) {
    return { ok: false, code: e?.code, errno: e?.errno, fatal: e?.fatal, message: String(e?.message ?? e).slice(0, 300), hung: Boolean(e?.boundedTimeout) }
  }
}

// In a scenario: a pool of one connection to `fake` (database db) runs
// `sql` twice and ends; the two outcomes, as capture() gives them.
async function askTwice(createPool, fake, sql) {
  const pool = createPool({
    host: fake.host,
    port: fake.port,
    user: 'u',
    password: '',
    database: 'db',
    connectionLimit: 1,
    acquireTimeout: 3000,
    endTimeout: 300,
  })
  const first = await capture(bounded(pool.query(sql), 4000, 'first query'))
  const second = await capture(bounded(pool.query(sql), 4000, 'second query'))
  await capture(bounded(pool.end(), 3000, 'pool.end()'))
  return [first, second]
}

function ask(msg) {
  return new Promise((resolve) => {
    let buf = ''
    const onData = (d) => {
      buf += d
      const i = buf.indexOf('\n')
      if (i < 0) return
      process.stdin.off('data', onData)
      process.stdin.pause()
      process.stdin.unref() // a paused stdin pipe would keep the child alive
      resolve(JSON.parse(buf.slice(0, i)))
    }
    process.stdin.setEncoding('utf8')
    process.stdin.on('data', onData)
    process.stdin.ref()
    process.stdin.resume()
    process.stdout.write('\nASK ' + JSON.stringify(msg) + '\n')
  })
}

// In a fake server's onQuery: n from 'SELECT n AS v' and which such SELECT
// this is on the connection (1, 2, ...); null for any other SQL.
function numbered(sql, conn) {
  const m = /^SELECT (-?\d+) AS v$/.exec(sql)
  if (!m) return null
  conn.data.selects = (conn.data.selects ?? 0) + 1
  return { n: Number(m[1]), nth: conn.data.selects }
}

// In a scenario: runs query(n) for n = 1..200, `wave` at a time, and sorts
// the outcomes: right (answered with v = n), wrong, failed; the first ten
// of each kind, counts, and the failures neither PROTOCOL_* nor fatal.
async function tally(query, wave, boundMs) {
  let right = 0
  const wrong = []
  const failures = []
  const one = async (n) => {
    const r = await capture(bounded(query(n), boundMs, `query ${n}`))
    if (r.ok) {
      const v = r.value[0]?.[0]?.v
      if (v === n) right++
      else wrong.push({ n, got: r.value[0] })
    } else failures.push({ n, code: r.code, fatal: r.fatal, message: r.message, hung: r.hung })
  }
  for (let n = 1; n <= 200; n += wave) await Promise.all(Array.from({ length: wave }, (_, i) => one(n + i)))
  return {
    right,
    wrong: wrong.slice(0, 10),
    wrongCount: wrong.length,
    failures: failures.slice(0, 10),
    failureCount: failures.length,
    badFailures: failures.filter((f) => !(String(f.code).startsWith('PROTOCOL_') || f.fatal === true)).slice(0, 10),
  }
}

function childSource(scenario) {
  return `
import * as fake from ${JSON.stringify(url('../harness/mysql-fake.mjs'))}
import * as helpers from ${JSON.stringify(url('./helpers.mjs'))}
const bounded = ${bounded.toString()}
const capture = ${capture.toString()}
const tally = ${tally.toString()}
const numbered = ${numbered.toString()}
const ask = ${ask.toString()}
const askTwice = ${askTwice.toString()}
const args = JSON.parse(process.env.NMP_HOSTILE_ARGS || '{}')
const scenario = (${scenario.toString()})
const ctx = { ...fake, ...helpers, bounded, capture, tally, numbered, ask, args }
let out
try {
  out = { ok: true, value: await scenario(ctx) }
} catch (e) {
  out = { ok: false, error: String(e && e.stack || e) }
}
process.stdout.write('\\nRESULT ' + JSON.stringify(out, (k, v) => typeof v === 'bigint' ? String(v) : v) + '\\n')
// What still keeps the process alive, should it not exit by itself.
setTimeout(() => process.stderr.write('ACTIVE ' + JSON.stringify(process.getActiveResourcesInfo()) + '\\n'), 1500).unref()
if (!args.naturalExit) process.exit(0)
`
}

/**
 * Runs `scenario(ctx)` in a fresh node process. Resolves with { result,
 * code, signal, timedOut, exitAfterResultMs, stderr }. `onAsk(msg)` answers
 * the child's ask(); `timeout` kills it (SIGKILL) if it is still running.
 */
function runChild(scenario, { args = {}, timeout = 20_000, onAsk = async () => ({}) } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', childSource(scenario)], {
      cwd: path.resolve(HERE, '../..'),
      env: { ...process.env, NMP_HOSTILE_ARGS: JSON.stringify(args) },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let result
    let resultAt = 0
    let timedOut = false
    const killer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeout)
    child.stdin.on('error', () => {})
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    let pending = ''
    child.stdout.on('data', (d) => {
      stdout += d
      pending += d
      let i
      while ((i = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, i)
        pending = pending.slice(i + 1)
        if (line.startsWith('RESULT ')) {
          result = JSON.parse(line.slice(7))
          resultAt = Date.now()
        } else if (line.startsWith('ASK ')) {
          Promise.resolve(onAsk(JSON.parse(line.slice(4)))).then((reply) => child.stdin.write(JSON.stringify(reply ?? {}) + '\n'))
        }
      }
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    // close, not exit: stdout can still hold the RESULT line when exit fires
    // (seen under load in CI: "exited with code 0 and no result").
    child.on('close', (code, signal) => {
      clearTimeout(killer)
      resolve({
        result,
        code,
        signal,
        timedOut,
        exitAfterResultMs: resultAt ? Date.now() - resultAt : null,
        stdout: stdout.slice(-2000),
        stderr: stderr.slice(-3000),
      })
    })
  })
}

/** The scenario's return value, or a failure that says how the child ended. */
// biome-ignore lint/suspicious/noShadowRestrictedNames: module-local helper, never used as Object.prototype.valueOf
function valueOf(run, what) {
  if (process.env.NMP_HOSTILE_DEBUG) console.error(what, JSON.stringify(run, null, 1))
  const tail = `\n--- stderr ---\n${run.stderr}`
  if (run.signal && !run.timedOut) throw new Error(`${what}: child process killed by ${run.signal} (native crash)${tail}`)
  if (run.timedOut && !run.result) throw new Error(`${what}: child process hung (killed after its time limit)${tail}`)
  if (!run.result) throw new Error(`${what}: child exited with code ${run.code} and no result${tail}`)
  if (!run.result.ok) throw new Error(`${what}: scenario threw: ${run.result.error}${tail}`)
  if (run.code !== 0 && !run.timedOut) throw new Error(`${what}: child exited with code ${run.code}${tail}`)
  return run.result.value
}

// Children run a few at a time, all started before the first test; each test
// awaits its own.
const CONCURRENCY = 3
const jobs = new Map()
const queue = []
let running = 0
function pump() {
  while (running < CONCURRENCY && queue.length) {
    const { fn, resolve } = queue.shift()
    running++
    fn()
      .then(resolve, (e) => resolve({ harnessError: e }))
      .finally(() => {
        running--
        pump()
      })
  }
}
function job(name, fn) {
  jobs.set(
    name,
    () =>
      new Promise((resolve) => {
        queue.push({ fn, resolve })
        pump()
      }),
  )
}
const started = new Map()
function result(name) {
  if (!started.has(name)) started.set(name, jobs.get(name)())
  return started.get(name).then((r) => {
    if (r?.harnessError) throw r.harnessError
    return r
  })
}

// Codes a broken stream may legitimately end a query with.
const STREAM_CODE = /^(PROTOCOL_|ER_|E[A-Z]+$|HANDSHAKE_|POOL_)/

function expectCoded(r, what) {
  expect(r.ok, `${what}: expected a rejection, got ${JSON.stringify(r.value)?.slice(0, 200)}`).toBe(false)
  expect(r.hung, `${what}: hung (${r.message})`).toBe(false)
  expect(typeof r.code, `${what}: error without a string code: ${r.message}`).toBe('string')
  expect(r.code, `${what}: ${r.message}`).not.toBe('ERR_NATIVE_PANIC')
}

// ---------------------------------------------------------------------------
// Scenarios (run in the child: only `ctx` is in scope)

async function hugeColumnsScenario({ createPool, startFakeMysql, hostile, settled, bounded, capture, args }) {
  const fake = await startFakeMysql({
    onQuery: (sql) => (sql.includes('/*hostile*/') ? hostile.hugeColumnCount(BigInt(args.count), { defs: args.defs, after: args.after }) : undefined),
  })
  const pool = createPool({
    host: fake.host,
    port: fake.port,
    user: 'u',
    password: '',
    connectionLimit: 1,
    acquireTimeout: 3000,
    connectTimeout: 2000,
    endTimeout: 300,
  })
  const first = await capture(bounded(pool.query({ sql: 'SELECT 1 AS v /*hostile*/', timeout: 1500 }), 5000, 'hostile query'))
  const second = await capture(bounded(pool.query('SELECT 2 AS v'), 5000, 'follow-up query'))
  const settle = await capture(settled(pool, 3000))
  const counts = pool.stats().counts
  await capture(bounded(pool.end(), 3000, 'pool.end()'))
  await fake.close()
  return { first, second, settled: settle.ok, counts, connections: fake.connections }
}

async function trailingScenario({ createPool, startFakeMysql, hostile, sleep, settled, bounded, capture, tally, numbered, args }) {
  const poisoned = []
  const fake = await startFakeMysql({
    onQuery: (sql, conn) => {
      const q = numbered(sql, conn)
      if (!q) return undefined
      const { n } = q
      if (q.nth > 1) return { columns: ['v'], rows: [[n]] }
      // The first answer on each connection is right, followed in the same
      // write by a complete bogus result set numbered as the next answer.
      poisoned.push(conn.id)
      return hostile.trailingResultSet(['v'], [[n]], ['v'], [[n + 1_000_000]], { extraSeq: 1 })
    },
  })
  const pool = createPool({
    host: fake.host,
    port: fake.port,
    user: 'u',
    password: '',
    connectionLimit: 2,
    acquireTimeout: 3000,
    connectTimeout: 2000,
    endTimeout: 300,
    // pipelined: waves of 20 queries ride pipelines; a pipeline whose
    // connection turns out poisoned before its first write hands them back.
    pipelining: args.pipelined ? 8 : 0,
  })
  const query = (n) => (args.pipelined ? pool.query('SELECT ? AS v', [n]) : pool.query({ sql: 'SELECT ? AS v', timeout: 1000 }, [n]))
  const outcomes = await tally(query, args.pipelined ? 20 : 1, 3000)
  await capture(settled(pool, 2000))
  await sleep(300)
  const stillOpen = fake.conns.filter((c) => poisoned.includes(c.id) && !c.closed).map((c) => c.id)
  // The newest connection: its trailing bytes can only be seen when the
  // next command is about to be written on it, and none was.
  const newest = fake.conns.length > 0 ? fake.conns[fake.conns.length - 1].id : null
  const usedAfterPoison = fake.conns.filter((c) => poisoned.includes(c.id) && (c.data.selects ?? 0) > 1).map((c) => c.id)
  await capture(bounded(pool.end(), 3000, 'pool.end()'))
  await fake.close()
  return {
    ...outcomes,
    poisoned: poisoned.length,
    stillOpen,
    newest,
    retried: pool.stats().counters.retried,
    pipelined: pool.stats().counters.pipelined,
    usedAfterPoison,
    connections: fake.connections,
  }
}

// A connection lost, or answering out of sequence, in the middle of a
// pipeline (the default pipelining of SELECTs): each connection's third
// SELECT gets no answer (the server closes) or a result with a wrong
// sequence id, with more SELECTs written behind it. The one that got it is
// the only command to fail on that connection; the ones behind it go back
// to the queue and are answered right on a new connection.
async function midPipelineScenario({ createPool, startFakeMysql, hostile, settled, bounded, capture, tally, numbered, args }) {
  const poisoned = []
  const fake = await startFakeMysql({
    onQuery: (sql, conn) => {
      const q = numbered(sql, conn)
      if (!q) return undefined
      const { n } = q
      if (q.nth !== 3) return { columns: ['v'], rows: [[n]], delayMs: 2 }
      poisoned.push(conn.id)
      return args.mode === 'close' ? 'close' : hostile.wrongSeq(['v'], [[n]], { seq: 5, after: 'close' })
    },
  })
  const pool = createPool({
    host: fake.host,
    port: fake.port,
    user: 'u',
    password: '',
    connectionLimit: 2,
    acquireTimeout: 5000,
    connectTimeout: 2000,
    endTimeout: 300,
  })
  const outcomes = await tally((n) => pool.query('SELECT ? AS v', [n]), 20, 5000)
  await capture(settled(pool, 2000))
  const { counters } = pool.stats()
  await capture(bounded(pool.end(), 3000, 'pool.end()'))
  await fake.close()
  return {
    ...outcomes,
    poisoned: poisoned.length,
    retried: counters.retried,
    pipelined: counters.pipelined,
    acquired: counters.acquired,
    released: counters.released,
  }
}

async function brokenStreamScenario({ createPool, startFakeMysql, hostile, settled, bounded, capture, args }) {
  const cols = ['v']
  const make = {
    'wrong sequence id': () => hostile.wrongSeq(cols, [[1]], { seq: 5 }),
    'sequence id gap': () => hostile.seqGap(cols, [[1]], { at: 2, skip: 3 }),
    'packet longer than what follows (then silence)': () => hostile.truncatedPacket({ declared: 100, actual: 10, after: 'stall' }),
    'packet longer than what follows (then FIN)': () => hostile.truncatedPacket({ declared: 100, actual: 10, after: 'close' }),
    'random garbage': () => hostile.garbage(args.seed, 64, { after: 'stall' }),
    'row with fewer cells than columns': () => hostile.raggedRows(['a', 'b', 'c'], [['1']]),
    'row with more cells than columns': () => hostile.raggedRows(['a'], [['1', '2', '3']]),
    'empty packet where a row belongs': () => hostile.raggedRows(['a'], [[]]),
    'lenenc string longer than its packet': () => hostile.lenencOverrun({ declared: 1000, actual: 3 }),
    'stray OK packet after the result set': () => hostile.trailingBytes(cols, [[1]], Buffer.from([7, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0])),
    'ERR packet mid-rows': () => hostile.errMidRows(cols, [[1], [2], [3]], { before: 1 }),
  }[args.variant]
  const fake = await startFakeMysql({ onQuery: (sql) => (sql.includes('/*hostile*/') ? make() : undefined) })
  // A stream that stops mid-packet can only be cut by the inactivity limit
  // (a query `timeout` rejects but, as in mysql2, lets the command go on).
  const opts = { host: fake.host, port: fake.port, user: 'u', password: '', connectionLimit: 1, acquireTimeout: 3000, connectTimeout: 2000, endTimeout: 300 }
  let pool
  try {
    pool = createPool(args.stalls ? { ...opts, socketTimeout: 500 } : opts)
  } catch (e) {
    await fake.close()
    return { created: false, code: e.code, message: e.message }
  }
  const warm = await capture(bounded(pool.query('SELECT 0 AS v'), 3000, 'warm-up query'))
  const first = await capture(
    bounded(pool.query(args.stalls ? 'SELECT 1 AS v /*hostile*/' : { sql: 'SELECT 1 AS v /*hostile*/', timeout: 1000 }), 4000, 'hostile query'),
  )
  const hostileConn = fake.queries.find((q) => q.sql.includes('/*hostile*/'))?.connId
  const second = await capture(bounded(pool.query('SELECT 2 AS v'), 4000, 'next query'))
  const secondConn = fake.queries.filter((q) => q.sql === 'SELECT 2 AS v').at(-1)?.connId
  const third = await capture(bounded(pool.query('SELECT 3 AS v'), 4000, 'third query'))
  const closed = await capture(fake.waitClosed(hostileConn, 2000))
  await capture(settled(pool, 2000))
  const counts = pool.stats().counts
  await capture(bounded(pool.end(), 3000, 'pool.end()'))
  await fake.close()
  return { created: true, warm, first, second, third, hostileConn, secondConn, hostileClosed: closed.ok, counts }
}

async function connectPhaseScenario({ createPool, startFakeMysql, bounded, capture, args }) {
  const state = { mode: args.mode }
  const fake = await startFakeMysql({ mode: () => state.mode })
  const pool = createPool({
    host: fake.host,
    port: fake.port,
    user: 'u',
    password: '',
    connectionLimit: 1,
    acquireTimeout: 2500,
    connectTimeout: 800,
    endTimeout: 300,
    circuitBreakerThreshold: 0,
  })
  const t0 = Date.now()
  const first = await capture(bounded(pool.query({ sql: 'SELECT 1 AS v', timeout: 1000 }), 5000, 'query against a hostile connect'))
  const ms = Date.now() - t0
  state.mode = 'normal'
  const second = await capture(bounded(pool.query('SELECT 2 AS v'), 5000, 'query after the server behaves'))
  await capture(bounded(pool.end(), 3000, 'pool.end()'))
  await fake.close()
  return { first, second, ms }
}

// The first command over 64 KB on a connection reads the session's
// max_allowed_packet (src/ops.rs). A server (or proxy) answering that with
// something other than one positive number must cost no check and no error:
// mysql_async's typed read panicked on NULL, text, a negative number or two
// columns.
async function maxPacketScenario({ createPool, startFakeMysql, bounded, capture, args }) {
  const answers = {
    NULL: { columns: [{ name: '@@max_allowed_packet', type: 'null' }], rows: [[null]] },
    text: { columns: ['@@max_allowed_packet'], rows: [['lots']] },
    'a negative number': { columns: [{ name: '@@max_allowed_packet', type: 'longlong' }], rows: [[-5]] },
    'no row': { columns: [{ name: '@@max_allowed_packet', type: 'longlong' }], rows: [] },
    'two columns': {
      columns: [
        { name: 'a', type: 'longlong' },
        { name: 'b', type: 'longlong' },
      ],
      rows: [[1, 2]],
    },
    'an error': { error: { errno: 1193, sqlState: 'HY000', message: 'Unknown system variable' } },
    'a small number': { columns: [{ name: '@@max_allowed_packet', type: 'longlong' }], rows: [[70000]] },
  }
  const out = {}
  for (const [name, answer] of Object.entries(answers)) {
    const fake = await startFakeMysql({
      onQuery: (sql) => (/max_allowed_packet/i.test(sql) ? answer : sql.startsWith("SELECT 'big") ? { columns: ['v'], rows: [['big']] } : undefined),
    })
    const pool = createPool({ host: fake.host, port: fake.port, user: 'u', password: '', connectionLimit: 1, acquireTimeout: 3000, endTimeout: 300 })
    const big = await capture(bounded(pool.query(`SELECT 'big${'y'.repeat(args.size)}' AS v`), 4000, 'large query'))
    const next = await capture(bounded(pool.query('SELECT 2 AS v'), 4000, 'next query'))
    out[name] = { big, next, asked: fake.queries.filter((q) => /max_allowed_packet/i.test(q.sql)).length, conns: fake.conns.length }
    await capture(bounded(pool.end(), 3000, 'pool.end()'))
    await fake.close()
  }
  return out
}

// A result with a text column read from a table makes the pool ask the
// server (on a side connection) whether it is MariaDB, to find JSON columns
// (src/json_columns.rs). An odd answer to SELECT VERSION() must leave the
// results as they are: mysql_async's typed read panicked on NULL, a number
// or bytes that are not UTF-8, and every such query failed.
async function versionScenario({ createPool, startFakeMysql, bounded, capture }) {
  const answers = {
    NULL: { columns: [{ name: 'VERSION()', type: 'null' }], rows: [[null]] },
    'a number': { columns: [{ name: 'VERSION()', type: 'longlong' }], rows: [[5]] },
    'bytes that are not UTF-8': { columns: [{ name: 'VERSION()', type: 'blob' }], rows: [[Buffer.from([0xff, 0xfe, 0x41])]] },
  }
  const doc = { name: 'doc', orgName: 'doc', table: 't', orgTable: 't', schema: 'db' }
  const out = {}
  for (const [name, answer] of Object.entries(answers)) {
    const fake = await startFakeMysql({
      onQuery: (sql) => (/VERSION\(\)/i.test(sql) ? answer : /FROM t\b/.test(sql) ? { columns: [doc], rows: [['{"a":1}']] } : undefined),
    })
    const [first, second] = await askTwice(createPool, fake, 'SELECT doc FROM t')
    out[name] = { first, second, asked: fake.queries.filter((q) => /VERSION\(\)/i.test(q.sql)).length }
    await fake.close()
  }
  return out
}

// Prepared statements against a fake server that answers COM_STMT_PREPARE
// and COM_STMT_EXECUTE itself: binary rows of every known column type with
// random charsets, flags and decimals, cells mostly well formed for their
// type (dates and times of every length, lenenc text) and sometimes random
// bytes, and NULLs. Every execute() settles with rows or a coded error (or
// the SyntaxError mysql2 also gives for invalid JSON), nothing panics, and
// the pool answers afterwards.
async function binaryRowsScenario({ createPool, startFakeMysql, prepareOk, binaryResultSet, lenencInt, lenencStr, u16, u32, bounded, args }) {
  let seed = args.seed
  const int = (n) => Math.floor(((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * n)
  const bytes = (n) => Buffer.from(Array.from({ length: n }, () => int(256)))
  const coldef = ([type, charset, flags, decimals]) =>
    Buffer.concat([
      lenencStr('def'),
      lenencStr('db'),
      lenencStr('t'),
      lenencStr('t'),
      lenencStr('c'),
      lenencStr('c'),
      Buffer.from([0x0c]),
      u16(charset),
      u32(int(2 ** 32)),
      Buffer.from([type]),
      u16(flags),
      Buffer.from([decimals, 0, 0]),
    ])
  const SIZE = { 1: 1, 2: 2, 13: 2, 3: 4, 9: 4, 4: 4, 8: 8, 5: 8, 6: 0 }
  const cell = (type) => {
    if (int(8) === 0) return bytes(int(12))
    if (SIZE[type] !== undefined) return bytes(SIZE[type])
    if ([7, 10, 12, 17, 18].includes(type)) {
      const n = [0, 4, 7, 11][int(4)]
      return Buffer.concat([Buffer.from([n]), bytes(n)])
    }
    if (type === 11 || type === 19) {
      const n = [0, 8, 12][int(3)]
      return Buffer.concat([Buffer.from([n]), bytes(n)])
    }
    const t = int(2)
      ? bytes(int(3) === 0 ? int(300) : int(20))
      : Buffer.from(['1.5', '-0', '99999999999999999999.99', '{"a":1}', 'abc', '2024-01-01', ''][int(7)])
    return Buffer.concat([lenencInt(t.length), t])
  }
  const KNOWN = [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 15, 16, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255]
  const CHARSETS = [8, 33, 45, 63, 83, 255, 1000]
  let cur = null
  const fake = await startFakeMysql({
    onCommand: (cmd, body, conn) => {
      if (cmd === 0x16) return { raw: prepareOk(conn, { columns: [coldef(cur.cols[0])] }) }
      if (cmd === 0x17) return { raw: binaryResultSet(conn, cur.cols.map(coldef), cur.rows) }
      return undefined
    },
  })
  const pool = createPool({
    host: fake.host,
    port: fake.port,
    user: 'u',
    password: '',
    database: 'db',
    connectionLimit: 2,
    acquireTimeout: 3000,
    endTimeout: 300,
  })
  const OPTIONS = [
    {},
    { rowsAsArray: true },
    { typeCast: false },
    { dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, decimalNumbers: true },
    { typeCast: (f, next) => (f.string(), f.buffer(), next()) },
  ]
  let ok = 0
  let rejected = 0
  const bad = []
  for (let i = 0; i < args.count; i++) {
    const cols = Array.from({ length: 1 + int(3) }, () => [KNOWN[int(KNOWN.length)], CHARSETS[int(CHARSETS.length)], int(65536), [0, 2, 6, 31, 39][int(5)]])
    cur = { cols, rows: Array.from({ length: 1 + int(3) }, () => cols.map((c) => (int(6) === 0 ? null : cell(c[0])))) }
    for (const opts of OPTIONS) {
      try {
        await bounded(pool.execute({ sql: 'SELECT c FROM t', ...opts }), 4000, 'execute')
        ok++
      } catch (e) {
        rejected++
        const coded = e instanceof Error && typeof e.code === 'string' && e.code !== 'ERR_NATIVE_PANIC'
        if (!coded && !(e instanceof SyntaxError)) bad.push({ i, code: e?.code, message: String(e?.message).slice(0, 120), cols })
      }
    }
  }
  const after = await bounded(pool.query('SELECT 1 AS one'), 4000, 'query after')
  await bounded(pool.end(), 3000, 'pool.end()')
  await fake.close()
  return { ok, rejected, bad: bad.slice(0, 5), after: after[0] }
}

// The MariaDB JSON-column lookup (src/json_columns.rs) reads
// information_schema.CHECK_CONSTRAINTS with a prepared statement on its side
// connection; the fake answers COM_STMT_PREPARE/EXECUTE itself. A row whose
// clause is NULL or not UTF-8 is skipped, the good row still makes `doc` a
// JSON column: mysql_async's typed read of (String, String) panicked on it.
async function checkConstraintsScenario({ createPool, startFakeMysql, prepareOk, binaryResultSet, lenencInt, columnDefPayload, bounded, capture }) {
  const cell = (c) => {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c)
    return Buffer.concat([lenencInt(b.length), b])
  }
  const variants = {
    'a good row': [['t', 'json_valid(`doc`)']],
    'a NULL clause': [
      ['t', null],
      ['t', 'json_valid(`doc`)'],
    ],
    'a clause that is not UTF-8': [
      ['t', Buffer.from([0xff, 0xfe])],
      ['t', 'json_valid(`doc`)'],
    ],
  }
  const cols = [
    { name: 'TABLE_NAME', type: 'var_string' },
    { name: 'CHECK_CLAUSE', type: 'var_string' },
  ]
  const out = {}
  for (const [name, rows] of Object.entries(variants)) {
    const fake = await startFakeMysql({
      onQuery: (sql) =>
        /VERSION\(\)/i.test(sql)
          ? { columns: ['v'], rows: [['10.11.0-MariaDB-fake']] }
          : /FROM t\b/.test(sql)
            ? { columns: [{ name: 'doc', orgName: 'doc', table: 't', orgTable: 't', schema: 'db' }], rows: [['{"a":1}']] }
            : undefined,
      onCommand: (cmd, body, conn) => {
        if (cmd === 0x16) {
          const n = (body.toString().match(/\?/g) || []).length
          const params = Array.from({ length: n }, () => columnDefPayload({ name: '?', type: 'var_string' }))
          return { raw: prepareOk(conn, { params, columns: cols.map(columnDefPayload) }) }
        }
        if (cmd !== 0x17) return undefined
        return {
          raw: binaryResultSet(
            conn,
            cols.map(columnDefPayload),
            rows.map((cells) => cells.map((c) => (c === null ? null : cell(c)))),
          ),
        }
      },
    })
    const [first, second] = await askTwice(createPool, fake, 'SELECT doc FROM t')
    out[name] = { first, second }
    await fake.close()
  }
  return out
}

// An OK packet whose info length runs past the packet's end does not parse;
// mysql_async took the answer as an OK anyway and reported the previous
// statement's OK (its insert id, affected rows and info) for this one.
async function malformedOkScenario({ createPool, startFakeMysql, frame, okPayload, lenencInt, u16, bounded, capture }) {
  // affected 7, insert id 0, status AUTOCOMMIT, no warnings, then an info
  // whose length byte (0x40 = 64) promises more than the packet holds.
  const bad = Buffer.concat([Buffer.from([0]), lenencInt(7), lenencInt(0), u16(2), u16(0), Buffer.from([0x40]), Buffer.from('short')])
  const fake = await startFakeMysql({
    onQuery: (sql) =>
      sql.startsWith('INSERT')
        ? { raw: frame([okPayload({ affectedRows: 1, insertId: 5 })], 1) }
        : sql.startsWith('UPDATE')
          ? { raw: frame([bad], 1) }
          : undefined,
  })
  const pool = createPool({ host: fake.host, port: fake.port, user: 'u', password: '', connectionLimit: 1, acquireTimeout: 3000, endTimeout: 300 })
  const insert = await capture(bounded(pool.query('INSERT INTO t VALUES (1)'), 4000, 'insert'))
  const update = await capture(bounded(pool.query('UPDATE t SET a = 2'), 4000, 'update'))
  const next = await capture(bounded(pool.query('SELECT 3 AS v'), 4000, 'next query'))
  await capture(bounded(pool.end(), 3000, 'pool.end()'))
  await fake.close()
  return { insert, update, next, conns: fake.conns.length }
}

async function blackholeEndScenario({ createPool, bounded, capture, ask, sleep, waitFor, args }) {
  const pool = createPool({ ...args.conn, connectionLimit: 20, acquireTimeout: 3000, connectTimeout: 2000, endTimeout: 500 })
  await bounded(Promise.all(Array.from({ length: 20 }, () => pool.query('SELECT 1'))), 5000, 'warm-up')
  const settledAt = new Array(20).fill(null)
  const t0 = Date.now()
  const qs = Array.from({ length: 20 }, (_, i) =>
    pool
      .query('SELECT SLEEP(0.2) AS s, ? AS i', [i])
      .then(
        () => ({ ok: true }),
        (e) => ({ ok: false, code: e.code, fatal: e.fatal, message: String(e.message).slice(0, 200) }),
      )
      .finally(() => {
        settledAt[i] = Date.now() - tEnd
      }),
  )
  let tEnd = 0
  await waitFor(() => pool.stats().counts.active === 20, { timeout: 3000, what: '20 queries in flight' })
  await sleep(40)
  await ask({ proxy: 'blackhole' })
  tEnd = Date.now()
  const end = pool.end().then(
    () => ({ ok: true, ms: Date.now() - tEnd }),
    (e) => ({ ok: false, code: e.code, ms: Date.now() - tEnd }),
  )
  const all = await capture(bounded(Promise.all([end, ...qs]), 2500, 'end() and the 20 in-flight queries'))
  const endResult = await Promise.race([end, new Promise((r) => setTimeout(() => r({ pending: true }), 0))])
  const results = all.ok ? all.value.slice(1) : null
  return {
    inflightSentMs: tEnd - t0,
    all: all.ok ? null : all.message,
    end: endResult,
    results,
    settledAt,
    unsettled: settledAt.filter((x) => x === null).length,
  }
}

async function socketTimeoutScenario({ createPool, bounded, capture, ask, args }) {
  let pool
  try {
    pool = createPool({ ...args.conn, connectionLimit: 1, acquireTimeout: 2000, connectTimeout: 2000, endTimeout: 300, socketTimeout: 300 })
  } catch (e) {
    return { created: false, code: e.code, message: e.message }
  }
  const warm = await capture(bounded(pool.query('SELECT 1 AS v'), 3000, 'warm-up query'))
  await ask({ proxy: 'blackhole' })
  const t0 = Date.now()
  const r = await capture(bounded(pool.query('SELECT 2 AS v'), 4000, 'query through a blackhole'))
  const ms = Date.now() - t0
  await ask({ proxy: 'pass' })
  const after = await capture(bounded(pool.query('SELECT 3 AS v'), 4000, 'query after the blackhole ends'))
  await capture(bounded(pool.end(), 2000, 'pool.end()'))
  return { created: true, warm, r, ms, after }
}

async function queryTimeoutScenario({ createPool, bounded, capture, ask, args }) {
  const pool = createPool({ ...args.conn, connectionLimit: 1, acquireTimeout: 2000, connectTimeout: 2000, endTimeout: 300 })
  const warm = await capture(bounded(pool.query('SELECT 1 AS v'), 3000, 'warm-up query'))
  await ask({ proxy: 'blackhole' })
  const t0 = Date.now()
  const r = await capture(bounded(pool.query({ sql: 'SELECT 2 AS v', timeout: 300 }), 4000, 'query through a blackhole'))
  const ms = Date.now() - t0
  const countsInBlackhole = pool.stats().counts
  await ask({ proxy: 'pass' })
  const after = await capture(bounded(pool.query('SELECT 3 AS v'), 4000, 'query after the blackhole ends'))
  await capture(bounded(pool.end(), 2000, 'pool.end()'))
  return { warm, r, ms, countsInBlackhole, after }
}

async function corruptScenario({ createPool, bounded, capture, ask, args }) {
  // A flipped length byte leaves a connection waiting for bytes that never
  // come: socketTimeout cuts it where supported; without it each one keeps
  // its slot, hence a few connections.
  const opts = { ...args.conn, connectionLimit: 4, acquireTimeout: 2000, connectTimeout: 1000, endTimeout: 300, circuitBreakerReset: 200 }
  let pool
  let socketTimeout = true
  try {
    pool = createPool({ ...opts, socketTimeout: 1000 })
  } catch {
    socketTimeout = false
    pool = createPool(opts)
  }
  await bounded(pool.query('SELECT 1'), 3000, 'warm-up')
  await ask({ proxy: 'corrupt' })
  const tok = (n) => `k${(n * 7919).toString(36)}z`
  const out = {
    right: 0,
    garbled: 0,
    wrong: [],
    failures: 0,
    codes: {},
    uncoded: [],
    panics: 0,
    hung: 0,
    garbledExamples: [],
    firstFailures: [],
    done: 0,
    stoppedEarly: null,
    socketTimeout,
  }
  const t0 = Date.now()
  let streak = 0
  for (let n = 1; n <= 500; n++) {
    // Bounded as a whole: a pool that stops answering ends the run early.
    if (Date.now() - t0 > args.budgetMs) {
      out.stoppedEarly = `time budget of ${args.budgetMs} ms spent after ${n - 1} queries`
      break
    }
    if (streak >= 5) {
      out.stoppedEarly = `${streak} failures in a row after ${n - 1} queries (last: ${out.firstFailures.at(-1)?.code})`
      break
    }
    const q0 = Date.now()
    const r = await capture(bounded(pool.query({ sql: 'SELECT ? AS v, ? AS t', timeout: 500 }, [n, tok(n)]), 3000, `query ${n}`))
    out.done = n
    streak = r.ok ? 0 : streak + 1
    if (!r.ok && out.firstFailures.length < 8) out.firstFailures.push({ n, code: r.code, message: r.message, ms: Date.now() - q0 })
    if (r.ok) {
      const row = r.value[0]?.[0]
      if (row?.v === n && row?.t === tok(n)) out.right++
      else if (row && typeof row.v === 'number' && row.v !== n && row.t === tok(row.v))
        out.wrong.push({ n, row }) // another query's answer
      else {
        // Altered in place (a flipped bit inside a value): the protocol has
        // no checksum, so no client can tell. Counted, not failed.
        out.garbled++
        if (out.garbledExamples.length < 5) out.garbledExamples.push({ n, row })
      }
    } else {
      out.failures++
      if (r.hung) out.hung++
      if (typeof r.code !== 'string') out.uncoded.push(r.message)
      if (r.code === 'ERR_NATIVE_PANIC') out.panics++
      out.codes[r.code] = (out.codes[r.code] ?? 0) + 1
    }
  }
  const stats = await ask({ proxy: 'pass' })
  out.proxy = stats
  const after = await capture(bounded(pool.query('SELECT 42 AS v'), 4000, 'query after corruption stops'))
  out.after = after.ok ? after.value[0] : after
  await capture(bounded(pool.end(), 2000, 'pool.end()'))
  return out
}

// ---------------------------------------------------------------------------
// Jobs

const realConn = () => connOpts(srv)

async function withProxy(fn, { corrupt } = {}) {
  const proxy = await startFaultProxy({ targetHost: srv.host, targetPort: srv.port })
  try {
    return await fn(proxy, async (msg) => {
      if (msg.proxy === 'corrupt') proxy.set('corrupt', corrupt)
      else if (msg.proxy) proxy.set(msg.proxy)
      return { ...proxy.stats }
    })
  } finally {
    await proxy.close()
  }
}

job('blackhole end', () =>
  withProxy((proxy, onAsk) =>
    runChild(blackholeEndScenario, {
      args: { conn: { ...realConn(), host: '127.0.0.1', port: proxy.port }, naturalExit: true },
      timeout: 12_000,
      onAsk,
    }),
  ),
)
job('socketTimeout', () =>
  withProxy((proxy, onAsk) =>
    runChild(socketTimeoutScenario, { args: { conn: { ...realConn(), host: '127.0.0.1', port: proxy.port } }, timeout: 15_000, onAsk }),
  ),
)
job('query timeout', () =>
  withProxy((proxy, onAsk) =>
    runChild(queryTimeoutScenario, { args: { conn: { ...realConn(), host: '127.0.0.1', port: proxy.port } }, timeout: 15_000, onAsk }),
  ),
)

const HUGE = [
  { name: '2^24-1', count: String(2 ** 24 - 1), defs: 0, after: 'stall' },
  { name: '2^30', count: String(2 ** 30), defs: 2, after: 'stall' },
  { name: '2^40', count: String(2 ** 40), defs: 0, after: 'close' },
  { name: '2^64-1', count: String(2n ** 64n - 1n), defs: 1, after: 'stall' },
]
for (const h of HUGE) job(`huge ${h.name}`, () => runChild(hugeColumnsScenario, { args: h, timeout: 15_000 }))

const BROKEN = [
  'wrong sequence id',
  'sequence id gap',
  'packet longer than what follows (then silence)',
  'packet longer than what follows (then FIN)',
  'random garbage',
  'row with fewer cells than columns',
  'row with more cells than columns',
  'empty packet where a row belongs',
  'lenenc string longer than its packet',
  'stray OK packet after the result set',
]
// These leave the client waiting for bytes that never come.
const STALLS = new Set(['packet longer than what follows (then silence)', 'random garbage'])
for (const variant of [...BROKEN, 'ERR packet mid-rows'])
  job(`broken ${variant}`, () => runChild(brokenStreamScenario, { args: { variant, seed: SEED, stalls: STALLS.has(variant) }, timeout: 15_000 }))

const CONNECT_MODES = ['stall', 'close-on-accept', 'close-after-greeting', 'close-after-handshake', 'half-close']
for (const mode of CONNECT_MODES) job(`connect ${mode}`, () => runChild(connectPhaseScenario, { args: { mode }, timeout: 15_000 }))

job('max packet', () => runChild(maxPacketScenario, { args: { size: 70_000 }, timeout: 30_000 }))
job('version', () => runChild(versionScenario, { timeout: 30_000 }))
job('binary rows', () => runChild(binaryRowsScenario, { args: { seed: SEED, count: 300 }, timeout: 60_000 }))
job('check constraints', () => runChild(checkConstraintsScenario, { timeout: 30_000 }))
job('malformed ok', () => runChild(malformedOkScenario, { timeout: 30_000 }))
job('trailing', () => runChild(trailingScenario, { timeout: 30_000 }))
job('trailing pipelined', () => runChild(trailingScenario, { args: { pipelined: true }, timeout: 30_000 }))
for (const mode of ['close', 'wrong sequence']) job(`mid-pipeline ${mode}`, () => runChild(midPipelineScenario, { args: { mode }, timeout: 30_000 }))
job('corrupt', () =>
  withProxy(
    (proxy, onAsk) =>
      runChild(corruptScenario, { args: { conn: { ...realConn(), host: '127.0.0.1', port: proxy.port }, budgetMs: 15_000 }, timeout: 30_000, onAsk }),
    { corrupt: { rate: 3e-4, seed: SEED, direction: 'down' } },
  ),
)

// Start every child now; each test awaits its own.
// NMP_HOSTILE_ONLY=<regex> starts only matching jobs up front (with -t).
beforeAll(() => {
  const only = process.env.NMP_HOSTILE_ONLY ? new RegExp(process.env.NMP_HOSTILE_ONLY) : null
  for (const name of jobs.keys()) if (!only || only.test(name)) result(name).catch(() => {})
})

// ---------------------------------------------------------------------------
// Harness self-tests (in process)

describe('harness self-test', () => {
  let fake
  afterAll(() => fake?.close())

  it('mysql2 talks to the fake server (handshake, password check, result sets, ERR)', async () => {
    for (const deprecateEof of [true, false]) {
      fake = await startFakeMysql({
        deprecateEof,
        password: 'secret',
        onQuery: (sql) =>
          sql === 'SELECT * FROM missing' ? { error: { errno: 1146, sqlState: '42S02', message: "Table 'db.missing' doesn't exist" } } : undefined,
      })
      const c = await mysql.createConnection({ host: fake.host, port: fake.port, user: 'u', password: 'secret', database: 'db' })
      try {
        const [rows, fields] = await c.query("SELECT 7 AS n, 'it''s' AS s, NULL AS z, ? AS p", ['ä€😀'])
        expect(rows).toEqual([{ n: 7, s: "it's", z: null, p: 'ä€😀' }])
        expect(fields.map((f) => f.name)).toEqual(['n', 's', 'z', 'p'])
        const err = await c.query('SELECT * FROM missing').catch((e) => e)
        expect(err.code).toBe('ER_NO_SUCH_TABLE')
        expect(err.errno).toBe(1146)
        await c.ping()
      } finally {
        await c.end()
      }
      const denied = await mysql.createConnection({ host: fake.host, port: fake.port, user: 'u', password: 'wrong' }).catch((e) => e)
      expect(denied.code).toBe('ER_ACCESS_DENIED_ERROR')
      expect(fake.conns[0].deprecateEof).toBe(false) // mysql2 never asks for it
      expect(fake.conns[0].database).toBe('db')
      await fake.close()
      fake = null
    }
  })

  it('the pool (mysql_async) talks to the fake server, with and without CLIENT_DEPRECATE_EOF', async () => {
    for (const deprecateEof of [true, false]) {
      fake = await startFakeMysql({ deprecateEof, password: 'pw' })
      const pool = createPool({
        host: fake.host,
        port: fake.port,
        user: 'u',
        password: 'pw',
        database: 'db',
        connectionLimit: 1,
        acquireTimeout: 3000,
        connectTimeout: 2000,
        endTimeout: 300,
      })
      try {
        const [rows] = await pool.query('SELECT ? AS n, ? AS s, NULL AS z', [5, 'ä€😀'])
        expect(rows).toEqual([{ n: 5, s: 'ä€😀', z: null }])
        expect(fake.conns[0].deprecateEof).toBe(deprecateEof)
        expect(fake.queries.map((q) => q.sql)).toContain("SELECT 5 AS n, 'ä€😀' AS s, NULL AS z")
      } finally {
        await pool.end()
      }
      await fake.close()
      fake = null
    }
  })

  it('the fault proxy forwards, delays, cuts and drops idle flows (mysql2 to MariaDB)', async () => {
    const proxy = await startFaultProxy({ targetHost: srv.host, targetPort: srv.port })
    const open = () => mysql.createConnection({ ...connOpts(srv), host: '127.0.0.1', port: proxy.port, connectTimeout: 2000 })
    const conns = []
    try {
      const a = await open()
      conns.push(a)
      expect((await a.query('SELECT 1 AS v'))[0]).toEqual([{ v: 1 }])
      proxy.set('delay', 150)
      const t0 = Date.now()
      await a.query('SELECT 2')
      expect(Date.now() - t0).toBeGreaterThanOrEqual(280) // 150 each way
      proxy.set('pass')
      proxy.set('cut')
      expect(proxy.stats.resets).toBeGreaterThan(0)
      expect((await a.query('SELECT 3').catch((e) => e)).code).toMatch(/ECONNRESET|PROTOCOL_CONNECTION_LOST|EPIPE/)
      expect(await open().catch((e) => e)).toBeInstanceOf(Error)
      proxy.set('pass')
      const b = await open()
      conns.push(b)
      await new Promise((r) => setTimeout(r, 150))
      expect(proxy.cutIdle(100)).toBe(1)
      expect((await b.query('SELECT 4').catch((e) => e)).code).toMatch(/ECONNRESET|PROTOCOL_CONNECTION_LOST|EPIPE/)
      expect(proxy.stats.idleCut).toBe(1)
    } finally {
      for (const c of conns) c.destroy()
      await proxy.close()
    }
  })
})

// ---------------------------------------------------------------------------

describe('huge column counts from a hostile server', () => {
  for (const h of HUGE) {
    it(`a column count of ${h.name} (${h.defs} column definitions, then ${h.after}) rejects with a code; the slot comes back`, async () => {
      const v = valueOf(await result(`huge ${h.name}`), `column count ${h.name}`)
      expectCoded(v.first, 'hostile query')
      expect(v.first.code).toMatch(/^(PROTOCOL_|ER_)/)
      expect(v.second.ok, `follow-up query failed: ${v.second.code} ${v.second.message}`).toBe(true)
      expect(v.second.value[0]).toEqual([{ v: 2 }])
      expect(v.settled, `pool did not settle: ${JSON.stringify(v.counts)}`).toBe(true)
      expect(v.counts.total).toBeLessThanOrEqual(1)
      expect(v.counts.active).toBe(0)
    })
  }
})

describe('trailing bytes after a result set', () => {
  it("200 distinct queries, each connection's first answer followed by a bogus result set: no wrong answer, poisoned connections closed", async () => {
    const v = valueOf(await result('trailing'), 'trailing result sets')
    expect(v.wrongCount, `wrong answers (first ones): ${JSON.stringify(v.wrong)}`).toBe(0)
    expect(v.badFailures, 'failures must be PROTOCOL_* or fatal').toEqual([])
    expect(v.usedAfterPoison, 'connections that got trailing bytes and were used again').toEqual([])
    // A poisoned connection is closed when a command is about to be written
    // on it; that command never went out, so it is run again on a fresh
    // connection (safe retry) and answers correctly. Only the newest
    // connection, never used after its poisoned answer, may still be open.
    expect(
      v.stillOpen.filter((id) => id !== v.newest),
      'connections that got trailing bytes and are still open',
    ).toEqual([])
    expect(v.right + v.failureCount).toBe(200)
    expect(v.right, 'every query answered right (retried when its connection was poisoned)').toBe(200)
    expect(v.retried).toBe(199)
  })

  it('the same in waves of 20 with pipelining: poisoned connections are found before a write, never a wrong answer', async () => {
    const v = valueOf(await result('trailing pipelined'), 'trailing result sets, pipelined')
    expect(v.wrongCount, `wrong answers (first ones): ${JSON.stringify(v.wrong)}`).toBe(0)
    expect(v.usedAfterPoison, 'connections that got trailing bytes and were used again').toEqual([])
    expect(v.pipelined, 'commands rode pipelines').toBeGreaterThan(0)
    // A pipeline that finds its connection poisoned before its first write
    // hands its commands back to the front of the queue (counted as
    // retried). A command that finds it on its own is run again only with a
    // connection at hand (the pool's retry rule); with the pool saturated it
    // fails, coded and fatal: at most one such failure per poisoned connection.
    expect(v.retried).toBeGreaterThan(0)
    for (const f of v.failures) expect(f).toMatchObject({ code: 'PROTOCOL_UNEXPECTED_PACKET', fatal: true, hung: false })
    expect(v.failureCount).toBeLessThanOrEqual(v.poisoned)
    expect(v.right + v.failureCount).toBe(200)
    expect(v.right).toBeGreaterThan(100)
  })
})

describe('a pipeline broken in the middle', () => {
  // The server closes right after the bad packet, so now and then the
  // client sees the close first: a wrong sequence id may also fail as lost.
  for (const [mode, codes] of [
    ['close', ['PROTOCOL_CONNECTION_LOST']],
    ['wrong sequence', ['PROTOCOL_PACKETS_OUT_OF_ORDER', 'PROTOCOL_CONNECTION_LOST']],
  ])
    it(`${mode}: only the SELECT that got it fails; those written behind it are answered right on a new connection`, async () => {
      const v = valueOf(await result(`mid-pipeline ${mode}`), `mid-pipeline ${mode}`)
      expect(v.wrongCount, `wrong answers: ${JSON.stringify(v.wrong)}`).toBe(0)
      expect(v.pipelined, 'commands rode pipelines').toBeGreaterThan(0)
      expect(v.poisoned).toBeGreaterThan(0)
      // One failure per poisoned connection: the command it was answering.
      expect(v.failureCount).toBe(v.poisoned)
      for (const f of v.failures) {
        expect(codes).toContain(f.code)
        expect(f).toMatchObject({ fatal: true, hung: false })
      }
      expect(v.failures.filter((f) => f.code === codes[0]).length, 'failures with the anomaly’s own code').toBeGreaterThan(5)
      expect(v.right + v.failureCount).toBe(200)
      // Written behind it, handed back to the queue.
      expect(v.retried).toBeGreaterThan(0)
      expect(v.acquired).toBe(v.released)
    })
})

describe('broken result streams', () => {
  for (const variant of BROKEN) {
    const how = STALLS.has(variant) ? ' (socketTimeout: 500)' : ''
    it(`${variant}${how}: rejects with a code, the connection is destroyed, the next query works on a new one`, async () => {
      const v = valueOf(await result(`broken ${variant}`), variant)
      expect(v.created, `createPool refused socketTimeout: ${v.code} ${v.message}`).toBe(true)
      expect(v.warm.ok, `warm-up failed: ${v.warm.message}`).toBe(true)
      if (variant === 'stray OK packet after the result set') {
        // The answer itself is complete and right. The stray packet must not
        // be taken for the next answer: that one may fail (PROTOCOL_*), as
        // the stray bytes can arrive after the connection went back to the
        // pool, but never resolve with it; the one after works.
        if (v.first.ok) expect(v.first.value[0]).toEqual([{ v: 1 }])
        else expectCoded(v.first, 'hostile query')
        if (v.second.ok) expect(v.second.value[0]).toEqual([{ v: 2 }])
        else expect(v.second.code).toMatch(/^PROTOCOL_/)
      } else {
        expectCoded(v.first, 'hostile query')
        expect(v.second.ok, `next query failed: ${v.second.code} ${v.second.message}`).toBe(true)
        expect(v.second.value[0]).toEqual([{ v: 2 }])
        expect(v.secondConn).not.toBe(v.hostileConn)
      }
      expect(v.hostileClosed, 'the connection that got the broken stream is still open').toBe(true)
      expect(v.third.ok, `third query failed: ${v.third.code} ${v.third.message}`).toBe(true)
      expect(v.third.value[0]).toEqual([{ v: 3 }])
      expect(v.counts.active).toBe(0)
    })
  }

  it("an ERR packet mid-rows rejects with the server's code, and the pool goes on", async () => {
    const v = valueOf(await result('broken ERR packet mid-rows'), 'ERR mid-rows')
    expectCoded(v.first, 'query with an ERR mid-rows')
    expect(v.first.code).toBe('ER_QUERY_INTERRUPTED')
    expect(v.first.errno).toBe(1317)
    expect(v.second.ok, `next query failed: ${v.second.code} ${v.second.message}`).toBe(true)
    expect(v.second.value[0]).toEqual([{ v: 2 }])
  })
})

describe("a hostile answer to the session's max_allowed_packet", () => {
  it('NULL, text, a negative number, no row, two columns or an error: the large query runs unchecked, nothing panics', async () => {
    const run = await result('max packet')
    const v = valueOf(run, 'max_allowed_packet answers')
    expect(run.stderr).not.toMatch(/panicked at/)
    for (const name of ['NULL', 'text', 'a negative number', 'no row', 'two columns', 'an error']) {
      expect(v[name].big.ok, `${name}: ${v[name].big.code} ${v[name].big.message}`).toBe(true)
      expect(v[name].big.value[0], name).toEqual([{ v: 'big' }])
      expect(v[name].next.value[0], name).toEqual([{ v: 2 }])
      expect(v[name].asked, name).toBe(1)
      expect(v[name].conns, name).toBe(1)
    }
    // A number is used: 70,000 bytes of SQL do not fit 70,000, refused before sending.
    expect(v['a small number'].big).toMatchObject({ ok: false, code: 'ER_NET_PACKET_TOO_LARGE', errno: 1153 })
    expect(v['a small number'].next.value[0]).toEqual([{ v: 2 }])
  })
})

describe('a hostile answer to SELECT VERSION() on the JSON-column side connection', () => {
  it('NULL, a number, bytes that are not UTF-8: both queries answer with their text, asked once, nothing panics', async () => {
    const run = await result('version')
    const v = valueOf(run, 'VERSION() answers')
    expect(run.stderr).not.toMatch(/panicked at/)
    for (const name of ['NULL', 'a number', 'bytes that are not UTF-8']) {
      for (const q of [v[name].first, v[name].second]) {
        expect(q.ok, `${name}: ${q.code} ${q.message}`).toBe(true)
        expect(q.value[0], name).toEqual([{ doc: '{"a":1}' }])
      }
      expect(v[name].asked, name).toBe(1)
    }
  })
})

describe(`binary rows from a hostile server (seed ${SEED})`, () => {
  it('300 prepared-statement results of random types, lengths and bytes, five option sets each: rows or coded errors, no panic, the pool answers', async () => {
    const run = await result('binary rows')
    const v = valueOf(run, 'binary rows')
    expect(run.stderr).not.toMatch(/panicked at/)
    expect(v.bad).toEqual([])
    expect(v.ok + v.rejected).toBe(1500)
    // Most cells are well formed for their type: most results decode.
    expect(v.ok).toBeGreaterThan(600)
    expect(v.after).toEqual([{ one: 1 }])
  })
})

describe('hostile CHECK_CONSTRAINTS rows on the JSON-column side connection', () => {
  it('a NULL clause or one that is not UTF-8 is skipped; the good row still makes the column JSON; nothing panics', async () => {
    const run = await result('check constraints')
    const v = valueOf(run, 'CHECK_CONSTRAINTS rows')
    expect(run.stderr).not.toMatch(/panicked at/)
    for (const name of ['a good row', 'a NULL clause', 'a clause that is not UTF-8']) {
      for (const q of [v[name].first, v[name].second]) {
        expect(q.ok, `${name}: ${q.code} ${q.message}`).toBe(true)
        expect(q.value[0], name).toEqual([{ doc: { a: 1 } }])
      }
    }
  })
})

describe('an OK packet that does not parse', () => {
  it("fails the command with PROTOCOL_UNEXPECTED_PACKET instead of reporting the previous statement's OK; the next query gets a new connection", async () => {
    const v = valueOf(await result('malformed ok'), 'malformed OK')
    expect(v.insert.ok).toBe(true)
    expect(v.insert.value[0]).toMatchObject({ affectedRows: 1, insertId: 5 })
    expectCoded(v.update, 'malformed OK')
    expect(v.update).toMatchObject({ code: 'PROTOCOL_UNEXPECTED_PACKET', fatal: true })
    expect(v.next.ok).toBe(true)
    expect(v.next.value[0]).toEqual([{ v: 3 }])
    expect(v.conns).toBe(2)
  })
})

describe('hostile connection setup', () => {
  for (const mode of CONNECT_MODES) {
    it(`server ${mode}: the query rejects with a code in bounded time, and the pool recovers`, async () => {
      const v = valueOf(await result(`connect ${mode}`), mode)
      expectCoded(v.first, `query against "${mode}"`)
      expect(v.first.code).toMatch(STREAM_CODE)
      expect(v.ms).toBeLessThan(3000)
      expect(v.second.ok, `query after recovery failed: ${v.second.code} ${v.second.message}`).toBe(true)
      expect(v.second.value[0]).toEqual([{ v: 2 }])
    })
  }
})

describe('blackholed network (fault proxy in front of MariaDB)', () => {
  it('end() with endTimeout 500 resolves and all 20 in-flight queries settle with a code within 2.5 s; then the process exits by itself', async () => {
    const run = await result('blackhole end')
    const v = valueOf(run, 'blackhole end()')
    expect(v.all, `not everything settled: end ${JSON.stringify(v.end)}, unsettled queries ${v.unsettled}`).toBe(null)
    expect(v.end.ok, `end() rejected: ${v.end.code}`).toBe(true)
    expect(v.end.ms).toBeLessThan(2500)
    for (const r of v.results) {
      expect(r.ok, 'an in-flight query resolved although its answer was blackholed').toBe(false)
      expect(typeof r.code, `in-flight query rejected without a code: ${r.message}`).toBe('string')
    }
    expect(Math.max(...v.settledAt)).toBeLessThan(2500)
    expect(run.timedOut, `the child did not exit by itself after the pool ended (still alive ${run.exitAfterResultMs} ms later)\n${run.stderr}`).toBe(false)
    expect(run.exitAfterResultMs).toBeLessThan(4000)
  })

  it('socketTimeout: 300 fails a query through a blackhole with PROTOCOL_SEQUENCE_TIMEOUT within ~2 s', async () => {
    const v = valueOf(await result('socketTimeout'), 'socketTimeout')
    expect(v.created, `createPool refused socketTimeout: ${v.code} ${v.message}`).toBe(true)
    expect(v.warm.ok, `warm-up failed: ${v.warm.message}`).toBe(true)
    expectCoded(v.r, 'query through a blackhole')
    expect(v.r.code).toBe('PROTOCOL_SEQUENCE_TIMEOUT')
    expect(v.ms).toBeLessThan(2000)
    expect(v.after.ok, `query after the blackhole failed: ${v.after.code} ${v.after.message}`).toBe(true)
  })

  // A query `timeout` rejects but lets the command finish (mysql2): once the
  // path recovers (the proxy then delivers what it held, as TCP would), the
  // connection is usable again.
  it('a per-query timeout: 300 fails a query through a blackhole with PROTOCOL_SEQUENCE_TIMEOUT, and after the path recovers the next query works', async () => {
    const v = valueOf(await result('query timeout'), 'query timeout')
    expect(v.warm.ok, `warm-up failed: ${v.warm.message}`).toBe(true)
    expectCoded(v.r, 'query through a blackhole')
    expect(v.r.code).toBe('PROTOCOL_SEQUENCE_TIMEOUT')
    expect(v.ms).toBeLessThan(2000)
    expect(v.after.ok, `query after the blackhole failed: ${v.after.code} ${v.after.message}`).toBe(true)
    expect(v.after.value[0]).toEqual([{ v: 3 }])
  })
})

describe(`corrupted stream (fault proxy, seed ${SEED})`, () => {
  it("500 distinct queries with bits flipped server->client: never another query's answer, every failure coded, no crash", async () => {
    const v = valueOf(await result('corrupt'), 'corruption')
    expect(v.stoppedEarly, `the pool stopped answering; first failures: ${JSON.stringify(v.firstFailures)}`).toBe(null)
    expect(v.proxy.corrupted, 'the proxy flipped no bit at all').toBeGreaterThan(0)
    expect(v.wrong, 'answers that belong to another query').toEqual([])
    expect(v.uncoded, 'rejections without a code').toEqual([])
    expect(v.panics, 'ERR_NATIVE_PANIC rejections').toBe(0)
    expect(v.hung, 'queries still pending after 3 s despite timeout: 500').toBe(0)
    expect(v.right + v.garbled + v.failures).toBe(500)
    expect(v.after, 'the pool does not answer after corruption stops').toEqual([{ v: 42 }])
  })
})
