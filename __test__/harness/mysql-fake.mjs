// A small, deliberately hostile fake MySQL server (Node `net`), for tests.
//
// It speaks enough of the real client/server protocol for mysql_async (the
// pool's native side) and mysql2 to connect and run text queries:
// HandshakeV10 with mysql_native_password, any HandshakeResponse41 accepted
// (or the scramble checked against `password`), OK/ERR/EOF packets, text
// result sets with or without CLIENT_DEPRECATE_EOF, COM_PING, COM_QUIT,
// COM_INIT_DB, COM_RESET_CONNECTION. What a COM_QUERY gets is decided by
// `onQuery(sql, conn)`; the builders below make both correct and hostile
// answers (huge column counts, trailing result sets, wrong sequence ids,
// truncated packets, garbage...).
//
//   const fake = await startFakeMysql({ onQuery: (sql, conn) => ... })
//   createPool({ host: fake.host, port: fake.port, user: 'u', password: '' })
//
// A reply returned by onQuery (or a promise of one, or a function
// `(conn) => reply`) is one of:
//   undefined                        the built-in answer (see defaultAnswer)
//   { columns, rows }                a correct text result set; columns are
//                                    names or { name, type: 'longlong' |
//                                    'var_string' | 'double' | 'null' }
//   { ok: { affectedRows, insertId, info, warnings } }  (or { ok: true })
//   { error: { errno, sqlState, message } }
//   { raw: Buffer | Buffer[] | (conn) => Buffer, after }  bytes written as-is
//   'stall' | 'close' | 'reset' | 'end'  no answer: keep silent / FIN+close /
//                                    RST / half-close (FIN, keep reading)
// Any reply may carry `after: 'stall' | 'close' | 'reset' | 'end'`, and
// `delayMs` (wait before answering) and `split` (write the bytes in
// chunks of that many bytes, 1 ms apart).
import net from 'node:net'
import { createHash, randomBytes } from 'node:crypto'

// ---------------------------------------------------------------------------
// Protocol constants

export const CAP = {
  LONG_PASSWORD: 1,
  FOUND_ROWS: 2,
  LONG_FLAG: 4,
  CONNECT_WITH_DB: 8,
  NO_SCHEMA: 16,
  COMPRESS: 32,
  ODBC: 64,
  LOCAL_FILES: 128,
  IGNORE_SPACE: 256,
  PROTOCOL_41: 512,
  INTERACTIVE: 1024,
  SSL: 2048,
  IGNORE_SIGPIPE: 4096,
  TRANSACTIONS: 8192,
  RESERVED: 16384,
  SECURE_CONNECTION: 32768,
  MULTI_STATEMENTS: 1 << 16,
  MULTI_RESULTS: 1 << 17,
  PS_MULTI_RESULTS: 1 << 18,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 1 << 21,
  CAN_HANDLE_EXPIRED_PASSWORDS: 1 << 22,
  SESSION_TRACK: 1 << 23,
  DEPRECATE_EOF: 1 << 24,
}

export const STATUS = { IN_TRANS: 0x0001, AUTOCOMMIT: 0x0002, MORE_RESULTS_EXISTS: 0x0008 }

export const TYPE = { DOUBLE: 0x05, NULL: 0x06, LONGLONG: 0x08, VAR_STRING: 0xfd, BLOB: 0xfc }

// biome-ignore format: a table of command codes
const COM = { QUIT: 0x01, INIT_DB: 0x02, QUERY: 0x03, FIELD_LIST: 0x04, PING: 0x0e, CHANGE_USER: 0x11, STMT_PREPARE: 0x16, STMT_EXECUTE: 0x17, STMT_CLOSE: 0x19, STMT_RESET: 0x1a, SET_OPTION: 0x1b, RESET_CONNECTION: 0x1f }

const MAX_PAYLOAD = 0xffffff

// ---------------------------------------------------------------------------
// Encoders (exported: tests compose hostile byte streams from them)

/** Length-encoded integer; `n` may be a number or a bigint up to 2^64-1. */
export function lenencInt(n) {
  const v = BigInt(n)
  if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`lenenc int out of range: ${n}`)
  if (v < 251n) return Buffer.from([Number(v)])
  if (v < 0x10000n) {
    const b = Buffer.alloc(3)
    b[0] = 0xfc
    b.writeUInt16LE(Number(v), 1)
    return b
  }
  if (v < 0x1000000n) {
    const b = Buffer.alloc(4)
    b[0] = 0xfd
    b.writeUIntLE(Number(v), 1, 3)
    return b
  }
  const b = Buffer.alloc(9)
  b[0] = 0xfe
  b.writeBigUInt64LE(v, 1)
  return b
}

/** Length-encoded string (Buffer or UTF-8 text). */
export function lenencStr(s) {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(String(s), 'utf8')
  return Buffer.concat([lenencInt(b.length), b])
}

export const u16 = (n) => {
  const b = Buffer.alloc(2)
  b.writeUInt16LE(n & 0xffff)
  return b
}
export const u32 = (n) => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}
const nulStr = (s) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])])

/**
 * Frames payloads as packets with consecutive sequence ids from `seq`.
 * A payload of 2^24-1 bytes or more is split as the protocol requires.
 */
export function frame(payloads, seq = 1) {
  const out = []
  for (const p of Array.isArray(payloads) ? payloads : [payloads]) {
    let off = 0
    for (;;) {
      const n = Math.min(MAX_PAYLOAD, p.length - off)
      const h = Buffer.alloc(4)
      h.writeUIntLE(n, 0, 3)
      h[3] = seq++ & 0xff
      out.push(h, p.subarray(off, off + n))
      off += n
      if (n < MAX_PAYLOAD) break
    }
  }
  return Buffer.concat(out)
}

/** A packet header claiming `length` bytes (for truncated/overlong packets). */
export function header(length, seq) {
  const h = Buffer.alloc(4)
  h.writeUIntLE(length, 0, 3)
  h[3] = seq & 0xff
  return h
}

/** HandshakeV10: what a server says first (scramble: 20 bytes). */
export function greetingPayload({
  serverVersion = '10.11.0-MariaDB-fake',
  connId = 1,
  scramble = Buffer.alloc(20, 0x41),
  caps,
  plugin = 'mysql_native_password',
}) {
  // biome-ignore format: the greeting packet, field by field
  return Buffer.concat([
    Buffer.from([10]), nulStr(serverVersion), u32(connId), scramble.subarray(0, 8), Buffer.from([0]),
    u16(caps & 0xffff), Buffer.from([45]), u16(STATUS.AUTOCOMMIT), u16(caps >>> 16), Buffer.from([21]),
    Buffer.alloc(10), scramble.subarray(8), Buffer.from([0]), nulStr(plugin),
  ])
}

export function okPayload({ affectedRows = 0, insertId = 0, status = STATUS.AUTOCOMMIT, warnings = 0, info = '' } = {}, marker = 0x00) {
  return Buffer.concat([Buffer.from([marker]), lenencInt(affectedRows), lenencInt(insertId), u16(status), u16(warnings), Buffer.from(info, 'utf8')])
}

export function errPayload({ errno = 1064, sqlState = '42000', message = 'fake error' } = {}) {
  return Buffer.concat([Buffer.from([0xff]), u16(errno), Buffer.from('#' + sqlState.padEnd(5, '0').slice(0, 5), 'ascii'), Buffer.from(message, 'utf8')])
}

export function eofPayload({ warnings = 0, status = STATUS.AUTOCOMMIT } = {}) {
  return Buffer.concat([Buffer.from([0xfe]), u16(warnings), u16(status)])
}

function normColumn(c, values) {
  const col = typeof c === 'string' ? { name: c } : { ...c }
  if (!col.type) {
    const nonNull = values.filter((v) => v !== null && v !== undefined)
    col.type = nonNull.length && nonNull.every((v) => typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))) ? 'longlong' : 'var_string'
  }
  return col
}

/** ColumnDefinition41 payload. */
export function columnDefPayload(c) {
  const col = typeof c === 'string' ? { name: c, type: 'var_string' } : c
  const numeric = col.type === 'longlong' || col.type === 'double'
  const type = { longlong: TYPE.LONGLONG, double: TYPE.DOUBLE, null: TYPE.NULL, blob: TYPE.BLOB }[col.type] ?? TYPE.VAR_STRING
  const charset = numeric || col.type === 'null' || col.type === 'blob' ? 63 : 45
  const length = col.length ?? (numeric ? 21 : 1020)
  // NOT_NULL 1, BINARY 128, NUM 32768
  const flags = col.flags ?? (numeric ? 1 | 128 | 32768 : 0)
  const decimals = col.decimals ?? (col.type === 'double' ? 31 : col.type === 'longlong' ? 0 : 39)
  // biome-ignore format: the column definition packet, field by field
  return Buffer.concat([
    lenencStr('def'), lenencStr(col.schema ?? ''), lenencStr(col.table ?? ''), lenencStr(col.orgTable ?? ''),
    lenencStr(col.name), lenencStr(col.orgName ?? ''),
    Buffer.from([0x0c]), u16(charset), u32(length), Buffer.from([type]), u16(flags), Buffer.from([decimals]), Buffer.from([0, 0]),
  ])
}

/** Text-protocol row payload: NULL as 0xfb, the rest as lenenc strings. */
export function rowPayload(cells) {
  return Buffer.concat(cells.map((v) => (v === null || v === undefined ? Buffer.from([0xfb]) : lenencStr(Buffer.isBuffer(v) ? v : String(v)))))
}

/**
 * Payloads of a complete text result set (without framing): column count,
 * column definitions, [EOF], rows, EOF or (DEPRECATE_EOF) 0xfe-OK.
 */
export function resultSetPayloads(columns, rows, { deprecateEof = true, status = STATUS.AUTOCOMMIT, warnings = 0 } = {}) {
  const cols = columns.map((c, i) =>
    normColumn(
      c,
      rows.map((r) => r[i]),
    ),
  )
  const out = [lenencInt(cols.length), ...cols.map(columnDefPayload)]
  if (!deprecateEof) out.push(eofPayload({ status }))
  for (const r of rows) out.push(rowPayload(r))
  out.push(deprecateEof ? okPayload({ status, warnings }, 0xfe) : eofPayload({ status, warnings }))
  return out
}

/** A correct, framed result set answering a command (sequence ids from 1). */
export function resultSet(columns, rows, opts = {}) {
  return frame(resultSetPayloads(columns, rows, opts), opts.seq ?? 1)
}

// The prepared-statement protocol, for tests that answer COM_STMT_PREPARE and
// COM_STMT_EXECUTE themselves (onCommand): the fake has no statements of its
// own. Column definitions are payloads (columnDefPayload or hand-made).

/** COM_STMT_PREPARE_OK with `params` parameter and `columns` column definitions, framed. */
export function prepareOk(conn, { id = 1, params = [], columns = [] } = {}) {
  const eof = conn.deprecateEof ? [] : [eofPayload()]
  const head = Buffer.concat([Buffer.from([0]), u32(id), u16(columns.length), u16(params.length), Buffer.from([0]), u16(0)])
  return frame([head, ...params, ...(params.length ? eof : []), ...columns, ...(columns.length ? eof : [])], 1)
}

/**
 * A binary-protocol result set, framed: `rows` are arrays of cells, each the
 * value's bytes as the protocol writes them, or null (set in the bitmap).
 */
export function binaryResultSet(conn, columns, rows) {
  const n = columns.length
  const packets = rows.map((cells) => {
    const bitmap = Buffer.alloc((n + 9) >> 3)
    const values = []
    cells.forEach((c, i) => {
      if (c === null) bitmap[(i + 2) >> 3] |= 1 << ((i + 2) & 7)
      else values.push(c)
    })
    return Buffer.concat([Buffer.from([0]), bitmap, ...values])
  })
  const eof = conn.deprecateEof ? [] : [eofPayload()]
  return frame([lenencInt(n), ...columns, ...eof, ...packets, conn.deprecateEof ? okPayload({}, 0xfe) : eofPayload()], 1)
}

// ---------------------------------------------------------------------------
// Hostile replies. Each returns a reply for onQuery; `(conn) => ...` forms
// see the connection's negotiated DEPRECATE_EOF.

export const hostile = {
  /**
   * A column-count packet announcing `count` columns (number or bigint, e.g.
   * 2n ** 64n - 1n), followed by `defs` column definitions, then `after`
   * ('stall' by default: nothing more ever comes).
   */
  hugeColumnCount(count, { defs = 0, after = 'stall' } = {}) {
    const payloads = [lenencInt(count)]
    for (let i = 0; i < defs; i++) payloads.push(columnDefPayload({ name: `c${i}`, type: 'var_string' }))
    return { raw: frame(payloads, 1), after }
  },

  /**
   * A correct result set, then in the same write a complete bogus one whose
   * sequence ids start at `extraSeq` (1 = it looks like the answer to the
   * next command).
   */
  trailingResultSet(columns, rows, extraColumns, extraRows, { extraSeq = 1, after } = {}) {
    return {
      after,
      raw: (conn) =>
        Buffer.concat([
          resultSet(columns, rows, { deprecateEof: conn.deprecateEof }),
          frame(resultSetPayloads(extraColumns, extraRows, { deprecateEof: conn.deprecateEof }), extraSeq),
        ]),
    }
  },

  /** Arbitrary bytes after a correct result set (a stray OK, garbage...). */
  trailingBytes(columns, rows, extra, { after } = {}) {
    return { after, raw: (conn) => Buffer.concat([resultSet(columns, rows, { deprecateEof: conn.deprecateEof }), extra]) }
  },

  /** A correct result set whose sequence ids start at `seq` instead of 1. */
  wrongSeq(columns, rows, { seq = 5, after } = {}) {
    return { after, raw: (conn) => resultSet(columns, rows, { deprecateEof: conn.deprecateEof, seq }) }
  },

  /** The sequence id jumps (skips `skip`) from the `at`-th packet on. */
  seqGap(columns, rows, { at = 2, skip = 3, after } = {}) {
    return {
      after,
      raw: (conn) => {
        const p = resultSetPayloads(columns, rows, { deprecateEof: conn.deprecateEof })
        return Buffer.concat([frame(p.slice(0, at), 1), frame(p.slice(at), 1 + at + skip)])
      },
    }
  },

  /** A packet header claiming `declared` bytes followed by only `actual`. */
  truncatedPacket({ declared = 100, actual = 10, seq = 1, after = 'stall' } = {}) {
    const body = Buffer.alloc(actual, 0x41)
    body[0] = 0x01 // looks like a column count of 1
    return { raw: Buffer.concat([header(declared, seq), body]), after }
  },

  /** `length` bytes from a seeded PRNG (deterministic garbage). */
  garbage(seed = 1, length = 64, { after = 'stall' } = {}) {
    return { raw: prngBytes(seed, length), after }
  },

  /** Rows whose cell counts do not match the column count (`rows` as given). */
  raggedRows(columns, rows, { after } = {}) {
    return {
      after,
      raw: (conn) => {
        const cols = columns.map((c) => (typeof c === 'string' ? { name: c, type: 'var_string' } : c))
        const p = [lenencInt(cols.length), ...cols.map(columnDefPayload)]
        if (!conn.deprecateEof) p.push(eofPayload())
        for (const r of rows) p.push(rowPayload(r))
        p.push(conn.deprecateEof ? okPayload({}, 0xfe) : eofPayload())
        return frame(p, 1)
      },
    }
  },

  /** One row whose single cell declares `declared` bytes but has `actual`. */
  lenencOverrun({ declared = 1000, actual = 3, after } = {}) {
    return {
      after,
      raw: (conn) => {
        const p = [lenencInt(1), columnDefPayload({ name: 'v', type: 'var_string' })]
        if (!conn.deprecateEof) p.push(eofPayload())
        p.push(Buffer.concat([lenencInt(declared), Buffer.alloc(actual, 0x61)]))
        p.push(conn.deprecateEof ? okPayload({}, 0xfe) : eofPayload())
        return frame(p, 1)
      },
    }
  },

  /** `before` correct rows, then an ERR packet instead of the next row. */
  errMidRows(columns, rows, { before = 1, error = { errno: 1317, sqlState: '70100', message: 'Query execution was interrupted' }, after } = {}) {
    return {
      after,
      raw: (conn) => {
        const all = resultSetPayloads(columns, rows, { deprecateEof: conn.deprecateEof })
        const head = 1 + columns.length + (conn.deprecateEof ? 0 : 1)
        return frame([...all.slice(0, head + before), errPayload(error)], 1)
      },
    }
  },
}

/** Deterministic bytes (mulberry32). */
export function prngBytes(seed, length) {
  let a = seed >>> 0
  const b = Buffer.alloc(length)
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    b[i] = (t ^ (t >>> 14)) & 0xff
  }
  return b
}

// ---------------------------------------------------------------------------
// The built-in answers to what clients send on their own

const sha1 = (b) => createHash('sha1').update(b).digest()

/** mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))). */
export function nativePasswordToken(password, scramble) {
  if (!password) return Buffer.alloc(0)
  const h1 = sha1(Buffer.from(password, 'utf8'))
  const h2 = sha1(Buffer.concat([scramble, sha1(h1)]))
  for (let i = 0; i < h1.length; i++) h1[i] ^= h2[i]
  return h1
}

// Splits a select list on top-level commas, outside quotes and parentheses.
function splitList(s) {
  const parts = []
  let depth = 0
  let quote = null
  let cur = ''
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]
    if (quote) {
      cur += ch
      if (ch === '\\') cur += s[++i] ?? ''
      else if (ch === quote) {
        if (s[i + 1] === quote) cur += s[++i]
        else quote = null
      }
      continue
    }
    if (ch === "'" || ch === '"' || ch === '`') quote = ch
    else if (ch === '(') depth++
    else if (ch === ')') depth--
    else if (ch === ',' && depth === 0) {
      parts.push(cur.trim())
      cur = ''
      continue
    }
    cur += ch
  }
  if (cur.trim()) parts.push(cur.trim())
  return parts
}

function unquote(lit) {
  const q = lit[0]
  let out = ''
  for (let i = 1; i < lit.length - 1; i++) {
    const ch = lit[i]
    if (ch === '\\') {
      const n = lit[++i]
      out += { 0: '\0', n: '\n', r: '\r', t: '\t', Z: '\x1a', b: '\b' }[n] ?? n
    } else if (ch === q && lit[i + 1] === q) {
      out += q
      i++
    } else out += ch
  }
  return out
}

// The value of a literal select expression, or undefined if not a literal.
function literal(expr, conn) {
  const server = conn.server
  const e = expr.trim()
  if (/^-?\d+$/.test(e)) return BigInt(e) >= -(2n ** 63n) && BigInt(e) < 2n ** 63n ? e : undefined
  if (/^-?(\d+\.\d*|\.\d+)(e[+-]?\d+)?$/i.test(e)) return e
  if (/^NULL$/i.test(e)) return null
  if (/^'(?:[^'\\]|\\.|'')*'$/s.test(e) || /^"(?:[^"\\]|\\.|"")*"$/s.test(e)) return unquote(e)
  const v = /^@@(?:(?:session|global)\.)?(\w+)$/i.exec(e)
  if (v) return server.variables[v[1].toLowerCase()] ?? null
  if (/^(VERSION|DATABASE|CONNECTION_ID)\(\)$/i.test(e))
    return { version: server.serverVersion, database: conn.database || null, connection_id: String(conn.id) }[e.slice(0, -2).toLowerCase()]
  return undefined
}

/**
 * What the fake answers when onQuery returns undefined: OK for SET, USE,
 * transaction control and DO; a result set for SELECTs of literals, @@vars,
 * VERSION(); an empty SHOW WARNINGS; ER_PARSE_ERROR for anything else.
 */
export function defaultAnswer(sql, conn, server) {
  const s = sql.trim().replace(/;\s*$/, '')
  if (/^(SET|USE|BEGIN|START\s+TRANSACTION|COMMIT|ROLLBACK|DO|SAVEPOINT|RELEASE)\b/i.test(s)) return { ok: true }
  if (/^SHOW\s+WARNINGS/i.test(s)) return { columns: ['Level', 'Code', 'Message'], rows: [] }
  const m = /^SELECT\s+(.*)$/is.exec(s)
  if (m && !/\bFROM\b/i.test(m[1].replace(/'(?:[^'\\]|\\.|'')*'/g, "''"))) {
    const columns = []
    const row = []
    for (const part of splitList(m[1])) {
      const a = /^(.*?)\s+(?:AS\s+)?(`(?:[^`]|``)+`|\w+)$/is.exec(part)
      let expr = part
      let name = part
      if (a && literal(a[1], conn) !== undefined) {
        expr = a[1]
        name = a[2].startsWith('`') ? a[2].slice(1, -1).replace(/``/g, '`') : a[2]
      }
      const v = literal(expr, conn)
      if (v === undefined) return { error: { errno: 1064, sqlState: '42000', message: `fake server cannot evaluate: ${part.slice(0, 80)}` } }
      const numeric = typeof v === 'string' && /^-?\d+$/.test(expr.trim())
      columns.push({ name, type: v === null ? 'null' : numeric ? 'longlong' : /^-?[\d.]+(e[+-]?\d+)?$/i.test(expr.trim()) ? 'double' : 'var_string' })
      row.push(v)
    }
    return { columns, rows: [row] }
  }
  return { error: { errno: 1064, sqlState: '42000', message: `fake server does not understand: ${s.slice(0, 80)}` } }
}

// ---------------------------------------------------------------------------
// The server

/**
 * Starts the fake server.
 * opts: host ('127.0.0.1'), port (0), serverVersion ('10.11.0-MariaDB-fake'),
 *   deprecateEof (true: offer CLIENT_DEPRECATE_EOF), capabilities (extra
 *   flags to OR in), password (undefined: accept any; a string: check the
 *   mysql_native_password token), mode ('normal' | 'stall' |
 *   'close-on-accept' | 'close-after-greeting' | 'close-after-handshake' |
 *   'half-close', or a function (conn) => mode), onQuery(sql, conn),
 *   onCommand(cmd, payload, conn) (return a reply to override any command),
 *   variables ({ name: value } for SELECT @@name), authSwitch ({ plugin,
 *   data }: an AuthSwitchRequest to that plugin after the handshake response;
 *   the client's answer is conn.authSwitchReply), authExchange (payloads
 *   sent one by one after that, each answer kept in conn.authReplies).
 * Returns { host, port, close(), connections (count accepted), conns (state
 *   of each: id, closed, queries, deprecateEof, user, database, socket),
 *   queries ([{ sql, connId }]), open (count not yet closed), waitClosed(id, ms) }.
 */
export async function startFakeMysql(opts = {}) {
  const serverVersion = opts.serverVersion ?? '10.11.0-MariaDB-fake'
  let caps =
    CAP.LONG_PASSWORD |
    CAP.FOUND_ROWS |
    CAP.LONG_FLAG |
    CAP.CONNECT_WITH_DB |
    CAP.PROTOCOL_41 |
    CAP.TRANSACTIONS |
    CAP.SECURE_CONNECTION |
    CAP.MULTI_STATEMENTS |
    CAP.MULTI_RESULTS |
    CAP.PS_MULTI_RESULTS |
    CAP.PLUGIN_AUTH |
    CAP.CONNECT_ATTRS |
    CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA
  if (opts.deprecateEof ?? true) caps |= CAP.DEPRECATE_EOF
  caps = (caps | (opts.capabilities ?? 0)) >>> 0
  const server = {
    serverVersion,
    variables: {
      max_allowed_packet: '67108864',
      wait_timeout: '28800',
      socket: null,
      version: serverVersion,
      version_comment: 'fake',
      autocommit: '1',
      tx_isolation: 'REPEATABLE-READ',
      transaction_isolation: 'REPEATABLE-READ',
      ...opts.variables,
    },
  }
  const conns = []
  const queries = []
  const sockets = new Set()
  let nextId = 1

  const srv = net.createServer({ allowHalfOpen: true }, (socket) => {
    const conn = {
      id: nextId++,
      socket,
      server,
      closed: false,
      queries: 0,
      deprecateEof: false,
      caps: 0,
      user: null,
      database: null,
      authenticated: false,
      data: {}, // free for handlers
    }
    conns.push(conn)
    sockets.add(socket)
    socket.setNoDelay(true)
    socket.on('error', () => {})
    // The client's FIN: answered with ours, as a server does (the fake keeps
    // allowHalfOpen only so that 'half-close' can go on reading).
    socket.on('end', () => {
      conn.clientEnded = true
      if (!socket.writableEnded) socket.end()
    })
    socket.on('close', () => {
      conn.closed = true
      conn.closedAt = Date.now()
      sockets.delete(socket)
    })
    const mode = typeof opts.mode === 'function' ? opts.mode(conn) : (opts.mode ?? 'normal')
    conn.mode = mode
    if (mode === 'close-on-accept') return socket.destroy()
    if (mode === 'stall') return // accepted, never a byte
    serve(conn, mode).catch(() => socket.destroy())
  })

  async function serve(conn, mode) {
    const { socket } = conn
    const reader = packetReader(socket)
    const scramble = Buffer.from(randomBytes(20).map((b) => (b % 94) + 33)) // printable, no NUL
    write(conn, frame(greetingPayload({ serverVersion, connId: conn.id, scramble, caps }), 0))
    if (mode === 'close-after-greeting') return socket.end()
    const resp = await reader.next()
    if (!resp) return
    parseHandshakeResponse(conn, resp.payload)
    conn.caps = conn.clientCaps & caps
    conn.deprecateEof = Boolean(conn.caps & CAP.DEPRECATE_EOF)
    let seq = resp.seq + 1
    if (opts.authSwitch) {
      // A switch to the plugin the test names (a hostile or unsupported one):
      // the client's answer, if any, is kept and the login goes on from it.
      write(conn, frame(Buffer.concat([Buffer.from([0xfe]), nulStr(opts.authSwitch.plugin), opts.authSwitch.data ?? Buffer.alloc(0)]), seq))
      const sw = await reader.next()
      if (!sw) return
      conn.authSwitchReply = sw.payload
      conn.authData = sw.payload
      seq = sw.seq + 1
    }
    // More of the login, as the test scripts it (AuthMoreData packets: a
    // caching_sha2_password full authentication, a public key...): each
    // payload is sent and the client's answer kept in conn.authReplies.
    for (const step of opts.authExchange ?? []) {
      write(conn, frame(typeof step === 'function' ? step(conn) : step, seq))
      const r = await reader.next()
      if (!r) return
      conn.authReplies = [...(conn.authReplies ?? []), r.payload]
      conn.authData = r.payload
      seq = r.seq + 1
    }
    const scripted = Boolean(opts.authSwitch || opts.authExchange)
    if (!scripted && conn.clientPlugin && conn.clientPlugin !== 'mysql_native_password') {
      // Ask for mysql_native_password with the same scramble.
      write(conn, frame(Buffer.concat([Buffer.from([0xfe]), nulStr('mysql_native_password'), scramble, Buffer.from([0])]), seq))
      const sw = await reader.next()
      if (!sw) return
      conn.authData = sw.payload
      seq = sw.seq + 1
    }
    if (typeof opts.password === 'string' && !nativePasswordToken(opts.password, scramble).equals(conn.authData)) {
      write(
        conn,
        frame(
          errPayload({
            errno: 1045,
            sqlState: '28000',
            message: `Access denied for user '${conn.user}'@'localhost' (using password: ${conn.authData.length ? 'YES' : 'NO'})`,
          }),
          seq,
        ),
      )
      return socket.end()
    }
    write(conn, frame(okPayload(), seq))
    conn.authenticated = true
    if (mode === 'close-after-handshake') return socket.end()
    if (mode === 'half-close') socket.end() // FIN; go on reading (and ignoring)
    for (;;) {
      const pkt = await reader.next()
      if (!pkt) return
      if (conn.closed || socket.writableEnded) continue
      const cmd = pkt.payload[0]
      const body = pkt.payload.subarray(1)
      let reply
      if (opts.onCommand) reply = await opts.onCommand(cmd, body, conn)
      if (reply === undefined) {
        switch (cmd) {
          case COM.QUIT:
            return socket.end()
          case COM.QUERY: {
            const sql = body.toString('utf8')
            conn.queries++
            queries.push({ sql, connId: conn.id })
            if (opts.onQuery) reply = await opts.onQuery(sql, conn)
            if (typeof reply === 'function') reply = await reply(conn)
            if (reply === undefined) reply = defaultAnswer(sql, conn, server)
            break
          }
          case COM.PING:
          case COM.INIT_DB:
          case COM.RESET_CONNECTION:
          case COM.CHANGE_USER:
          case COM.STMT_RESET:
          case COM.SET_OPTION:
            reply = { ok: true }
            break
          case COM.STMT_CLOSE:
            continue // no answer, by protocol
          case COM.STMT_PREPARE:
            reply = { error: { errno: 1295, sqlState: 'HY000', message: 'This command is not supported in the prepared statement protocol yet (fake server)' } }
            break
          default:
            reply = { error: { errno: 1047, sqlState: '08S01', message: `Unknown command ${cmd} (fake server)` } }
        }
      }
      if (typeof reply === 'function') reply = await reply(conn)
      await answer(conn, reply)
    }
  }

  async function answer(conn, reply) {
    const { socket } = conn
    if (typeof reply === 'string') reply = { after: reply }
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs))
    let bytes = null
    if (reply.raw !== undefined) {
      const raw = typeof reply.raw === 'function' ? reply.raw(conn) : reply.raw
      bytes = Array.isArray(raw) ? Buffer.concat(raw) : raw
    } else if (reply.columns) {
      bytes = resultSet(reply.columns, reply.rows ?? [], { deprecateEof: conn.deprecateEof, status: reply.status ?? STATUS.AUTOCOMMIT })
    } else if (reply.error) {
      bytes = frame(errPayload(reply.error), 1)
    } else if (reply.ok) {
      bytes = frame(okPayload(reply.ok === true ? {} : reply.ok), 1)
    }
    if (bytes) {
      if (reply.split) {
        for (let i = 0; i < bytes.length && !conn.closed; i += reply.split) {
          write(conn, bytes.subarray(i, i + reply.split))
          await new Promise((r) => setTimeout(r, 1))
        }
      } else write(conn, bytes)
    }
    if (reply.after === 'close') {
      socket.end()
      socket.once('finish', () => socket.destroy())
    } else if (reply.after === 'reset') {
      socket.resetAndDestroy()
    } else if (reply.after === 'end') {
      socket.end()
    } else if (reply.after === 'stall') {
      conn.stalled = true
    }
    // A stalled connection reads on (and ignores) whatever comes next.
    if (conn.stalled) await new Promise((r) => socket.once('close', r))
  }

  function write(conn, bytes) {
    if (!conn.socket.destroyed && !conn.socket.writableEnded) conn.socket.write(bytes)
  }

  await new Promise((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve)
  })
  const addr = srv.address()
  return {
    host: addr.address,
    port: addr.port,
    conns,
    queries,
    get connections() {
      return conns.length
    },
    get open() {
      return conns.filter((c) => !c.closed).length
    },
    /** Resolves when connection `id` is closed; rejects after `ms`. */
    waitClosed(id, ms = 3000) {
      const c = conns.find((x) => x.id === id)
      if (!c) return Promise.reject(new Error(`no connection ${id}`))
      if (c.closed) return Promise.resolve(c)
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`fake connection ${id} still open after ${ms} ms`)), ms)
        c.socket.once('close', () => {
          clearTimeout(t)
          resolve(c)
        })
      })
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise((r) => srv.close(() => r()))
    },
  }
}

/**
 * Reads a HandshakeResponse41 into conn (clientCaps, clientCollation, user,
 * authData, database, clientPlugin); returns the offset after what it read
 * (connection attributes, if any, start there). Shared with mysql8-fake.mjs.
 */
export function parseHandshakeResponse(conn, p) {
  conn.clientCaps = p.readUInt32LE(0)
  conn.clientCollation = p[8]
  let off = 4 + 4 + 1 + 23
  const nul = (o) => {
    const e = p.indexOf(0, o)
    return e < 0 ? p.length : e
  }
  let e = nul(off)
  conn.user = p.toString('utf8', off, e)
  off = e + 1
  if (conn.clientCaps & CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA) {
    const [len, n] = readLenenc(p, off)
    conn.authData = p.subarray(off + n, off + n + Number(len))
    off += n + Number(len)
  } else if (conn.clientCaps & CAP.SECURE_CONNECTION) {
    const len = p[off] ?? 0
    conn.authData = p.subarray(off + 1, off + 1 + len)
    off += 1 + len
  } else {
    e = nul(off)
    conn.authData = p.subarray(off, e)
    off = e + 1
  }
  if (conn.clientCaps & CAP.CONNECT_WITH_DB && off < p.length) {
    e = nul(off)
    conn.database = p.toString('utf8', off, e)
    off = e + 1
  }
  if (conn.clientCaps & CAP.PLUGIN_AUTH && off < p.length) {
    e = nul(off)
    conn.clientPlugin = p.toString('utf8', off, e)
    off = e + 1
  }
  return off
}

function readLenenc(b, off) {
  const f = b[off]
  if (f < 0xfb) return [BigInt(f), 1]
  if (f === 0xfc) return [BigInt(b.readUInt16LE(off + 1)), 3]
  if (f === 0xfd) return [BigInt(b.readUIntLE(off + 1, 3)), 4]
  return [b.readBigUInt64LE(off + 1), 9]
}

// Async packet reader over a socket (joins 2^24-1 continuation packets).
function packetReader(socket) {
  let buf = Buffer.alloc(0)
  let ended = false
  let wake = null
  socket.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d
    wake?.()
  })
  const done = () => {
    ended = true
    wake?.()
  }
  socket.on('end', done)
  socket.on('close', done)
  const take = () => {
    const parts = []
    let off = 0
    let seq
    for (;;) {
      if (buf.length - off < 4) return null
      const len = buf.readUIntLE(off, 3)
      if (buf.length - off < 4 + len) return null
      seq = buf[off + 3]
      parts.push(buf.subarray(off + 4, off + 4 + len))
      off += 4 + len
      if (len < MAX_PAYLOAD) break
    }
    buf = buf.subarray(off)
    return { seq, payload: parts.length === 1 ? parts[0] : Buffer.concat(parts) }
  }
  return {
    async next() {
      for (;;) {
        const p = take()
        if (p) return p
        if (ended) return null
        await new Promise((r) => (wake = r))
        wake = null
      }
    },
  }
}
