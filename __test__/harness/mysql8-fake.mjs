// A MySQL 8.0 / TiDB v8 protocol emulator, for tests (no MySQL 8 or TiDB
// server can be installed here). Built beside ./mysql-fake.mjs, whose
// encoders it uses; it answers like the real servers where they differ from
// MariaDB:
//
// - the greeting: version string ('8.0.36', '8.0.11-TiDB-v8.5.1'), the
//   capability flags each server really offers (MySQL 8: SESSION_TRACK,
//   QUERY_ATTRIBUTES, MULTI_FACTOR_AUTHENTICATION...; TiDB: its short list,
//   without PLUGIN_AUTH_LENENC_CLIENT_DATA or SESSION_TRACK), the default
//   collation (255 utf8mb4_0900_ai_ci, 46 utf8mb4_bin) and auth plugin.
// - caching_sha2_password with the real algorithm. MySQL 8
//   (sql/auth/sha2_password.cc): the client's scramble
//   XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)) + nonce)) is checked against
//   the server's cache of SHA256(SHA256(pw)): a hit answers 0x01 0x03 (fast
//   auth success) then OK; a miss (empty cache, or a wrong password) answers
//   0x01 0x04 (perform full authentication), after which the client sends
//   the cleartext password + NUL over TLS, or, over plain TCP, asks for the
//   RSA public key (0x02) and sends RSA-OAEP(XOR(pw + NUL, nonce)). The key
//   (node:crypto, 2048 bits) is served only with `allowPublicKeyRetrieval`;
//   without it the server behaves like a MySQL 8 without RSA keys: it reads
//   the client's packet and answers ER_ACCESS_DENIED_ERROR (the real
//   server's CR_ERROR path; 2061 is a client-side code, never sent by a
//   server), or with `refusePublicKey: 'close'` drops the connection. A
//   successful full authentication fills the cache (flushAuthCache() empties
//   it, like FLUSH PRIVILEGES).
//   TiDB (pkg/server/conn.go): greets with mysql_native_password, switches
//   the connection to the account's plugin (AuthSwitchRequest with the same
//   salt), has no cache and no RSA exchange: it always answers 0x01 0x04 and
//   takes the next packet, NULs trimmed, as the cleartext password. Over
//   plain TCP a client's key request (0x02) is therefore a wrong password:
//   ER_ACCESS_DENIED_ERROR. An empty auth response skips all that (TiDB
//   issue 40831).
//   Accounts may also use mysql_native_password (auth switch the other way
//   on MySQL 8).
// - TLS after the SSLRequest packet (node:tls with the caller's key and
//   certificate), the SSLRequest and the ClientHello possibly in one chunk.
// - The text protocol (COM_QUERY, with the CLIENT_QUERY_ATTRIBUTES prefix
//   when negotiated) and the binary protocol (COM_STMT_PREPARE / EXECUTE /
//   CLOSE / RESET, parameters decoded by type, query-attribute names
//   skipped) over a canned table `t` (INT, VARCHAR, JSON type 245 with
//   charset 63 as MySQL sends it, DATETIME); MySQL 8 describes `id = ?`
//   parameters as BIGINT in the prepare answer, as 8.0.22+ does.
// - OK packets as all three servers send them: the info as string<lenenc>
//   (not string<EOF>, whatever the protocol documentation says), then, under
//   CLIENT_SESSION_TRACK, the session-state changes (MySQL 8's defaults:
//   character_set_* and time_zone system variables, the schema).
// - require_secure_transport (`requireSecureTransport`, as TiDB Cloud):
//   logins over plain TCP get ER_SECURE_TRANSPORT_REQUIRED (3159).
// - The session: user variables, transaction state (SERVER_STATUS_IN_TRANS),
//   prepared statements, the connection collation; COM_RESET_CONNECTION
//   clears all of it (stale statement ids then get ER_UNKNOWN_STMT_HANDLER).
//   COM_CHANGE_USER is refused (ER_UNKNOWN_COM_ERROR), so that a client
//   using it instead of COM_RESET_CONNECTION shows up.
// - Injected errors: inject({ match, error, times }) answers the next
//   matching COM_QUERY or COM_STMT_EXECUTE with an ERR packet; ERRORS below
//   has TiDB's and MySQL's texts and SQLSTATEs for write conflicts (9007),
//   retryable KV errors (8022), deadlocks (1213) and lock wait timeouts
//   (1205). 1213, 9007 and 8022 roll the transaction back, 1205 does not.
//
//   const emu = await startMysql8Fake({ flavour: 'tidb', tls: { key, cert } })
//   emu.conns[i].auth  -> { plugin, switched, path, keyRequested, result }
//   emu.log            -> [{ connId, cmd, sql, params? }] every command
//                         received (params: what COM_STMT_EXECUTE bound)
import net from 'node:net'
import tls from 'node:tls'
import { Duplex } from 'node:stream'
import { constants as cryptoConstants, createHash, generateKeyPairSync, privateDecrypt, randomBytes } from 'node:crypto'
import {
  CAP,
  STATUS,
  lenencInt,
  lenencStr,
  frame,
  errPayload,
  eofPayload,
  nativePasswordToken,
  defaultAnswer,
  parseHandshakeResponse as parseBaseHandshakeResponse,
} from './mysql-fake.mjs'

// ---------------------------------------------------------------------------
// Constants

/** mysql-fake's CAP plus the MySQL 8 flags above bit 24. */
export const CAP8 = Object.freeze({
  ...CAP,
  OPTIONAL_RESULTSET_METADATA: 1 << 25,
  ZSTD_COMPRESSION: 1 << 26,
  QUERY_ATTRIBUTES: 1 << 27,
  MULTI_FACTOR_AUTHENTICATION: 1 << 28,
  SSL_VERIFY_SERVER_CERT: 1 << 30,
  REMEMBER_OPTIONS: 2 ** 31,
})

const SESSION_STATE_CHANGED = 0x4000

// biome-ignore format: a table of type codes
export const T = { TINY: 1, SHORT: 2, LONG: 3, FLOAT: 4, DOUBLE: 5, NULL: 6, TIMESTAMP: 7, LONGLONG: 8, INT24: 9, DATE: 10, TIME: 11, DATETIME: 12, YEAR: 13, VARCHAR: 15, JSON: 245, NEWDECIMAL: 246, BLOB: 252, LONG_BLOB: 251, VAR_STRING: 253, STRING: 254 }
// biome-ignore format: column flags
export const FLAG = { NOT_NULL: 1, PRI_KEY: 2, UNIQUE_KEY: 4, MULTIPLE_KEY: 8, BLOB: 16, UNSIGNED: 32, ZEROFILL: 64, BINARY: 128, AUTO_INCREMENT: 512, PART_KEY: 16384, NUM: 32768 }
// biome-ignore format: a table of command codes
export const COM = { QUIT: 0x01, INIT_DB: 0x02, QUERY: 0x03, FIELD_LIST: 0x04, PING: 0x0e, CHANGE_USER: 0x11, STMT_PREPARE: 0x16, STMT_EXECUTE: 0x17, STMT_SEND_LONG_DATA: 0x18, STMT_CLOSE: 0x19, STMT_RESET: 0x1a, SET_OPTION: 0x1b, RESET_CONNECTION: 0x1f }
const COM_NAME = Object.fromEntries(Object.entries(COM).map(([k, v]) => [v, k]))

// Collation ids a SET NAMES may name here.
// biome-ignore format: a table
const COLLATIONS = { utf8mb4_general_ci: 45, utf8mb4_bin: 46, utf8mb4_unicode_ci: 224, utf8mb4_0900_ai_ci: 255, utf8mb3_general_ci: 33, utf8_general_ci: 33, latin1_swedish_ci: 8, binary: 63 }

/** What each server flavour answers with. */
export const FLAVOURS = Object.freeze({
  mysql8: Object.freeze({
    name: 'mysql8',
    serverVersion: '8.0.36',
    greetingPlugin: 'caching_sha2_password',
    // utf8mb4_0900_ai_ci, MySQL 8's default
    collation: 255,
    // Everything but CLIENT_CAPABILITY_EXTENSION (bit 29), as 8.0.36 greets.
    capabilities: 0xdfffffff,
    fastAuthCache: true,
    rsa: true,
    sessionTrack: true,
    // MySQL 8.0.22+ describes `int_col = ?` parameters as BIGINT.
    typedParams: true,
  }),
  tidb: Object.freeze({
    name: 'tidb',
    serverVersion: '8.0.11-TiDB-v8.5.1',
    greetingPlugin: 'mysql_native_password',
    // utf8mb4_bin, TiDB's default
    collation: 46,
    // pkg/server/server.go defaultCapability (+ CLIENT_SSL with TLS).
    capabilities:
      CAP.LONG_PASSWORD |
      CAP.LONG_FLAG |
      CAP.CONNECT_WITH_DB |
      CAP.PROTOCOL_41 |
      CAP.TRANSACTIONS |
      CAP.SECURE_CONNECTION |
      CAP.FOUND_ROWS |
      CAP.MULTI_STATEMENTS |
      CAP.MULTI_RESULTS |
      CAP.LOCAL_FILES |
      CAP.CONNECT_ATTRS |
      CAP.PLUGIN_AUTH |
      CAP.INTERACTIVE |
      CAP.DEPRECATE_EOF |
      CAP.COMPRESS |
      CAP8.ZSTD_COMPRESSION,
    fastAuthCache: false,
    rsa: false,
    sessionTrack: false,
    typedParams: false,
  }),
})

// ---------------------------------------------------------------------------
// Errors as the servers send them

/** { errno, sqlState, message } of TiDB's and MySQL's transaction errors. */
export const ERRORS = Object.freeze({
  /** TiDB ErrWriteConflict (optimistic commit), SQLSTATE HY000 (TiDB's default). */
  writeConflict: ({ startTS = 455678901234567890n, conflictStartTS = 455678901234567891n, conflictCommitTS = 455678901234567892n } = {}) => ({
    errno: 9007,
    sqlState: 'HY000',
    message:
      `Write conflict, txnStartTS=${startTS}, conflictStartTS=${conflictStartTS}, conflictCommitTS=${conflictCommitTS}, ` +
      'key={tableID=112, tableName=app.t, handle=1}, originalKey=7480000000000000705f728000000000000001, ' +
      'primary={tableID=112, tableName=app.t, handle=1}, originalPrimaryKey=7480000000000000705f728000000000000001, ' +
      'reason=optimistic [try again later]',
  }),
  /** TiDB ErrTxnRetryable (a KV error the client may retry), SQLSTATE HY000. */
  retryable: () => ({
    errno: 8022,
    sqlState: 'HY000',
    message:
      'Error: KV error safe to retry Error(Txn(Mvcc(TxnLockNotFound { start_ts: TimeStamp(455678901234567890), ' +
      'commit_ts: TimeStamp(455678901234567893), key: [116, 128, 0, 0, 0, 0, 0, 0, 112, 95, 114, 128, 0, 0, 0, 0, 0, 0, 1] }))) ' +
      '[try again later]',
  }),
  /** ER_LOCK_DEADLOCK: the same text and SQLSTATE 40001 on MySQL and TiDB. */
  deadlock: () => ({ errno: 1213, sqlState: '40001', message: 'Deadlock found when trying to get lock; try restarting transaction' }),
  /** ER_LOCK_WAIT_TIMEOUT: SQLSTATE HY000 on MySQL and TiDB. */
  lockWaitTimeout: () => ({ errno: 1205, sqlState: 'HY000', message: 'Lock wait timeout exceeded; try restarting transaction' }),
})

// Errors after which the server has rolled the transaction back.
const ROLLS_BACK = new Set([1213, 9007, 8022])

// ---------------------------------------------------------------------------
// Small encoders (mysql-fake keeps its u16/u32 to itself)

const u16 = (n) => {
  const b = Buffer.alloc(2)
  b.writeUInt16LE(n & 0xffff)
  return b
}
const u32 = (n) => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}
const nulStr = (s) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])])
const sha256 = (b) => createHash('sha256').update(b).digest()
const xor = (a, b) => Buffer.from(a.map((x, i) => x ^ b[i % b.length]))

function readLenenc(b, off) {
  const f = b[off]
  if (f < 0xfb) return [f, 1]
  if (f === 0xfc) return [b.readUInt16LE(off + 1), 3]
  if (f === 0xfd) return [b.readUIntLE(off + 1, 3), 4]
  if (f === 0xfe) return [Number(b.readBigUInt64LE(off + 1)), 9]
  throw new Error(`bad lenenc 0x${f.toString(16)} at ${off}`)
}

/** caching_sha2_password's scramble: XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)) + nonce)). */
export function cachingSha2Token(password, nonce) {
  if (!password) return Buffer.alloc(0)
  const stage1 = sha256(Buffer.from(password, 'utf8'))
  return xor(stage1, sha256(Buffer.concat([sha256(stage1), nonce])))
}

/** The server side of the fast path: does `token` prove knowledge of the password whose SHA256(SHA256()) is `stage2`? */
function fastAuthenticate(token, nonce, stage2) {
  if (token.length !== 32) return false
  const stage1 = xor(token, sha256(Buffer.concat([stage2, nonce])))
  return sha256(stage1).equals(stage2)
}

/**
 * OK packet. The info is length-encoded; under CLIENT_SESSION_TRACK the
 * session-state changes follow it (SERVER_SESSION_STATE_CHANGED).
 * `changes`: [{ type: 0 (system variable) | 1 (schema), name?, value }].
 */
export function okPacket(conn, { affectedRows = 0, insertId = 0, warnings = 0, info = '', changes = [] } = {}, marker = 0x00) {
  const track = Boolean(conn.caps & CAP.SESSION_TRACK)
  const stateChanged = track && changes.length > 0
  const status = sessionStatus(conn) | (stateChanged ? SESSION_STATE_CHANGED : 0)
  const parts = [Buffer.from([marker]), lenencInt(affectedRows), lenencInt(insertId), u16(status), u16(warnings)]
  if (track) {
    if (info || stateChanged) parts.push(lenencStr(info))
    if (stateChanged) {
      const entries = changes.map((c) => {
        const data = c.type === 0 ? Buffer.concat([lenencStr(c.name), lenencStr(c.value)]) : lenencStr(c.value)
        return Buffer.concat([Buffer.from([c.type]), lenencStr(data)])
      })
      parts.push(lenencStr(Buffer.concat(entries)))
    }
  } else if (info) {
    // string<lenenc>, not string<EOF> as the protocol documentation says:
    // MySQL's net_send_ok, MariaDB's and TiDB's writeOkWith all send it so.
    parts.push(lenencStr(info))
  }
  return Buffer.concat(parts)
}

function sessionStatus(conn) {
  return STATUS.AUTOCOMMIT | (conn.session?.inTrans ? STATUS.IN_TRANS : 0)
}

/** ColumnDefinition41 from { name, type, charset, length, flags, decimals, schema, table, orgTable, orgName }. */
export function colDef(c) {
  // biome-ignore format: the column definition packet, field by field
  return Buffer.concat([
    lenencStr('def'), lenencStr(c.schema ?? ''), lenencStr(c.table ?? ''), lenencStr(c.orgTable ?? ''),
    lenencStr(c.name), lenencStr(c.orgName ?? ''),
    Buffer.from([0x0c]), u16(c.charset), u32(c.length), Buffer.from([c.type]), u16(c.flags ?? 0), Buffer.from([c.decimals ?? 0]), Buffer.from([0, 0]),
  ])
}

function textRow(values) {
  return Buffer.concat(values.map((v) => (v === null || v === undefined ? Buffer.from([0xfb]) : lenencStr(Buffer.isBuffer(v) ? v : String(v)))))
}

/** 'YYYY-MM-DD[ HH:MM:SS[.ffffff]]' as the binary protocol's DATE/DATETIME. */
function binDate(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?$/.exec(String(s))
  if (!m) throw new Error(`emulator: not a date: ${s}`)
  const [Y, M, D, h, mi, se] = m.slice(1, 7).map((x) => Number(x ?? 0))
  const us = m[7] ? Number(m[7].padEnd(6, '0')) : 0
  if (!Y && !M && !D && !h && !mi && !se && !us) return Buffer.from([0])
  const len = us ? 11 : h || mi || se ? 7 : 4
  const b = Buffer.alloc(1 + len)
  b[0] = len
  b.writeUInt16LE(Y, 1)
  b[3] = M
  b[4] = D
  if (len >= 7) {
    b[5] = h
    b[6] = mi
    b[7] = se
  }
  if (len === 11) b.writeUInt32LE(us, 8)
  return b
}

function binValue(col, v) {
  const unsigned = Boolean(col.flags & FLAG.UNSIGNED)
  switch (col.type) {
    case T.TINY:
      return Buffer.from([Number(v) & 0xff])
    case T.SHORT:
    case T.YEAR: {
      const b = Buffer.alloc(2)
      if (unsigned) b.writeUInt16LE(Number(v))
      else b.writeInt16LE(Number(v))
      return b
    }
    case T.LONG:
    case T.INT24: {
      const b = Buffer.alloc(4)
      if (unsigned) b.writeUInt32LE(Number(v))
      else b.writeInt32LE(Number(v))
      return b
    }
    case T.LONGLONG: {
      const b = Buffer.alloc(8)
      if (unsigned) b.writeBigUInt64LE(BigInt(v))
      else b.writeBigInt64LE(BigInt(v))
      return b
    }
    case T.FLOAT: {
      const b = Buffer.alloc(4)
      b.writeFloatLE(Number(v))
      return b
    }
    case T.DOUBLE: {
      const b = Buffer.alloc(8)
      b.writeDoubleLE(Number(v))
      return b
    }
    case T.DATE:
    case T.DATETIME:
    case T.TIMESTAMP:
      return binDate(v)
    default:
      return lenencStr(Buffer.isBuffer(v) ? v : String(v))
  }
}

function binaryRow(cols, values) {
  const bitmap = Buffer.alloc((cols.length + 7 + 2) >> 3)
  const parts = [Buffer.from([0x00]), bitmap]
  values.forEach((v, i) => {
    if (v === null || v === undefined || cols[i].type === T.NULL) {
      const bit = i + 2
      bitmap[bit >> 3] |= 1 << (bit & 7)
    } else parts.push(binValue(cols[i], v))
  })
  return Buffer.concat(parts)
}

function resultSetPayloads(conn, cols, rows, binary) {
  const out = [lenencInt(cols.length), ...cols.map(colDef)]
  if (!conn.deprecateEof) out.push(eofPayload({ status: sessionStatus(conn) }))
  for (const r of rows) out.push(binary ? binaryRow(cols, r) : textRow(r))
  out.push(conn.deprecateEof ? okPacket(conn, {}, 0xfe) : eofPayload({ status: sessionStatus(conn) }))
  return out
}

// ---------------------------------------------------------------------------
// Binary-protocol parameters

function readParam(b, off, type, unsigned) {
  switch (type) {
    case T.NULL:
      return [null, off]
    case T.TINY:
      return [unsigned ? b.readUInt8(off) : b.readInt8(off), off + 1]
    case T.SHORT:
    case T.YEAR:
      return [unsigned ? b.readUInt16LE(off) : b.readInt16LE(off), off + 2]
    case T.LONG:
    case T.INT24:
      return [unsigned ? b.readUInt32LE(off) : b.readInt32LE(off), off + 4]
    case T.LONGLONG:
      return [unsigned ? b.readBigUInt64LE(off) : b.readBigInt64LE(off), off + 8]
    case T.FLOAT:
      return [b.readFloatLE(off), off + 4]
    case T.DOUBLE:
      return [b.readDoubleLE(off), off + 8]
    case T.DATE:
    case T.DATETIME:
    case T.TIMESTAMP: {
      const len = b[off]
      const p = b.subarray(off + 1, off + 1 + len)
      const pad = (n, w = 2) => String(n).padStart(w, '0')
      let s = len >= 4 ? `${pad(p.readUInt16LE(0), 4)}-${pad(p[2])}-${pad(p[3])}` : '0000-00-00'
      if (len >= 7) s += ` ${pad(p[4])}:${pad(p[5])}:${pad(p[6])}`
      if (len >= 11) s += `.${pad(p.readUInt32LE(7), 6)}`
      return [{ date: s }, off + 1 + len]
    }
    case T.TIME: {
      const len = b[off]
      return [{ time: b.subarray(off + 1, off + 1 + len).toString('hex') }, off + 1 + len]
    }
    default: {
      const [len, n] = readLenenc(b, off)
      return [b.subarray(off + n, off + n + len), off + n + len]
    }
  }
}

/**
 * Parameters after COM_STMT_EXECUTE's iteration count (or COM_QUERY's
 * attribute block): null bitmap, new-params-bound flag, types (with names
 * under CLIENT_QUERY_ATTRIBUTES), values. Returns { values, names, types, end }.
 */
function readParams(b, off, count, { withNames, prevTypes } = {}) {
  const values = []
  const names = []
  if (count === 0) return { values, names, types: [], end: off }
  const bitmap = b.subarray(off, off + ((count + 7) >> 3))
  off += bitmap.length
  const bound = b[off++]
  let types = prevTypes
  if (bound === 1) {
    types = []
    for (let i = 0; i < count; i++) {
      types.push({ type: b[off], unsigned: Boolean(b[off + 1] & 0x80) })
      off += 2
      if (withNames) {
        const [len, n] = readLenenc(b, off)
        names.push(b.toString('utf8', off + n, off + n + len))
        off += n + len
      }
    }
  }
  if (!types) throw new Error('emulator: parameters sent without their types, and none bound before')
  for (let i = 0; i < count; i++) {
    if (bitmap[i >> 3] & (1 << (i & 7))) {
      values.push(null)
      continue
    }
    const [v, next] = readParam(b, off, types[i].type, types[i].unsigned)
    values.push(v)
    off = next
  }
  return { values, names, types, end: off }
}

/** A parameter as an SQL literal, for substitution into the statement text. */
function sqlLiteral(v) {
  if (v === null || v === undefined) return 'NULL'
  if (typeof v === 'number' || typeof v === 'bigint') return String(v)
  if (typeof v === 'object' && v.date) return `'${v.date}'`
  if (typeof v === 'object' && v.time) return `'${v.time}'`
  const s = Buffer.isBuffer(v) ? v.toString('utf8') : String(v)
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

/** Positions of the `?` placeholders outside quotes and comments. */
function placeholders(sql) {
  const at = []
  let quote = null
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i]
    if (quote) {
      if (ch === '\\') i++
      else if (ch === quote) quote = null
    } else if (ch === "'" || ch === '"' || ch === '`') quote = ch
    else if (ch === '?') at.push(i)
  }
  return at
}

function substitute(sql, values) {
  const at = placeholders(sql)
  let out = ''
  let last = 0
  at.forEach((pos, i) => {
    out += sql.slice(last, pos) + sqlLiteral(values[i])
    last = pos + 1
  })
  return out + sql.slice(last)
}

function unquote(lit) {
  const q = lit[0]
  let out = ''
  for (let i = 1; i < lit.length - 1; i++) {
    const ch = lit[i]
    if (ch === '\\') out += { 0: '\0', n: '\n', r: '\r', t: '\t', Z: '\x1a', b: '\b' }[lit[++i]] ?? lit[i]
    else if (ch === q && lit[i + 1] === q) {
      out += q
      i++
    } else out += ch
  }
  return out
}

/** The value of an SQL literal: string, integer (bigint), decimal (number), NULL (null); undefined if none. */
function literalValue(e) {
  const s = e.trim()
  if (/^NULL$/i.test(s)) return null
  if (/^-?\d+$/.test(s)) return BigInt(s)
  if (/^-?(\d+\.\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return Number(s)
  if (/^'(?:[^'\\]|\\.|'')*'$/s.test(s) || /^"(?:[^"\\]|\\.|"")*"$/s.test(s)) return unquote(s)
  return undefined
}

// ---------------------------------------------------------------------------
// The canned table

/** Rows of `app.t` as MySQL stores them (JSON as MySQL prints it). */
export const TABLE_ROWS = Object.freeze([
  [1, 'alpha', '{"a": 1, "tags": ["x", "y"]}', '2024-01-02 03:04:05'],
  [2, 'βeta ✓ 😀', '{"big": 12345678901234567890, "nested": {"k": null, "n": 1.5, "s": "ünï"}}', '2024-02-29 23:59:59'],
  [3, 'gamma', null, '1999-12-31 00:00:00'],
  [4, null, '[1, "two", true, false, null, {"x": []}]', '2038-01-19 03:14:07'],
  [5, 'eps', 'null', '2000-01-01 12:00:00'],
  [6, 'zeta', '"just a string"', '1970-01-01 00:00:01'],
  [7, 'eta', '-0.5', '2024-06-30 12:34:56'],
])

function tableColumns(flavour) {
  const base = { schema: 'app', table: 't', orgTable: 't' }
  const textCollation = flavour.collation
  return {
    id: {
      ...base,
      name: 'id',
      orgName: 'id',
      type: T.LONG,
      charset: 63,
      length: 11,
      decimals: 0,
      flags: FLAG.NOT_NULL | FLAG.PRI_KEY | FLAG.AUTO_INCREMENT | FLAG.PART_KEY | FLAG.NUM,
    },
    name: { ...base, name: 'name', orgName: 'name', type: T.VAR_STRING, charset: textCollation, length: 256, decimals: 0, flags: 0 },
    doc: { ...base, name: 'doc', orgName: 'doc', type: T.JSON, charset: 63, length: 4294967295, decimals: 0, flags: FLAG.BLOB | FLAG.BINARY },
    created: { ...base, name: 'created', orgName: 'created', type: T.DATETIME, charset: 63, length: 19, decimals: 0, flags: FLAG.BINARY },
  }
}
const COLUMN_ORDER = ['id', 'name', 'doc', 'created']

// A number, a quoted number or NULL, as the id compared with.
const NUM = "-?\\d+(?:\\.\\d+)?|'-?\\d+(?:\\.\\d+)?'|NULL"
const idValue = (s) => (/^NULL$/i.test(s) ? null : Number(s.replace(/'/g, '')))
// SELECT <cols> FROM t [WHERE id <op> <n>] [ORDER BY id [ASC|DESC]] [LIMIT n] [FOR UPDATE]
const SELECT_T = new RegExp(
  '^SELECT\\s+(\\*|[`\\w\\s,]+?)\\s+FROM\\s+(?:`?app`?\\.)?`?t`?' +
    `(?:\\s+WHERE\\s+\`?id\`?\\s*(=|>=|<=|<>|!=|>|<)\\s*(${NUM}))?` +
    '(?:\\s+ORDER\\s+BY\\s+`?id`?(?:\\s+(ASC|DESC))?)?(?:\\s+LIMIT\\s+(\\d+))?(\\s+FOR\\s+UPDATE)?$',
  'i',
)
// UPDATE t SET name = <literal> WHERE id = <n>
const UPDATE_T = new RegExp(`^UPDATE\\s+(?:\`?app\`?\\.)?\`?t\`?\\s+SET\\s+\`?name\`?\\s*=\\s*(.+?)\\s+WHERE\\s+\`?id\`?\\s*=\\s*(${NUM})$`, 'is')

function compare(a, op, b) {
  if (b === null) return false
  switch (op) {
    case '=':
      return a === b
    case '>':
      return a > b
    case '<':
      return a < b
    case '>=':
      return a >= b
    case '<=':
      return a <= b
    default:
      return a !== b
  }
}

// ---------------------------------------------------------------------------
// The server

let rsaKeys = null
/** One RSA key pair per process (2048 bits, as MySQL's auto-generated ones). */
function rsaKeyPair() {
  rsaKeys ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  return rsaKeys
}

/**
 * Starts the emulator.
 * opts: flavour ('mysql8' | 'tidb'), serverVersion (override), host, port,
 *   tls ({ key, cert }: offer CLIENT_SSL), users ({ name: { password,
 *   plugin: 'caching_sha2_password' | 'mysql_native_password' } }),
 *   allowPublicKeyRetrieval (MySQL 8: serve the RSA key over plain TCP),
 *   refusePublicKey ('access-denied' | 'close', when not allowed),
 *   requireSecureTransport (refuse plain TCP logins with 3159, as
 *   require_secure_transport=ON / TiDB Cloud).
 * Returns { host, port, flavour, serverVersion, publicKey, conns, log,
 *   inject(fault), flushAuthCache(), authCache, resets(connId?), close() }.
 */
export async function startMysql8Fake(opts = {}) {
  const flavour = FLAVOURS[opts.flavour ?? 'mysql8']
  if (!flavour) throw new Error(`unknown flavour ${opts.flavour}`)
  const serverVersion = opts.serverVersion ?? flavour.serverVersion
  let caps = flavour.capabilities >>> 0
  if (opts.tls) caps = (caps | CAP.SSL) >>> 0
  else caps = (caps & ~CAP.SSL) >>> 0
  const users = opts.users ?? { app: { password: 'app-secret', plugin: 'caching_sha2_password' } }
  const keys = flavour.rsa && opts.allowPublicKeyRetrieval ? rsaKeyPair() : null
  const secureContext = opts.tls ? tls.createSecureContext({ key: opts.tls.key, cert: opts.tls.cert }) : null
  const columns = tableColumns(flavour)
  const server = {
    serverVersion,
    variables: {
      max_allowed_packet: '67108864',
      wait_timeout: '28800',
      version: serverVersion,
      version_comment: flavour.name === 'tidb' ? 'TiDB Server (Apache License 2.0) Community Edition, MySQL 8.0 compatible' : 'MySQL Community Server - GPL',
      autocommit: '1',
      transaction_isolation: 'REPEATABLE-READ',
      tidb_txn_mode: flavour.name === 'tidb' ? 'pessimistic' : null,
      default_authentication_plugin: flavour.greetingPlugin,
    },
  }
  const conns = []
  const log = []
  const faults = []
  const authCache = new Map() // user -> SHA256(SHA256(password))
  const sockets = new Set()
  let nextId = 1

  const srv = net.createServer((socket) => {
    const conn = {
      id: nextId++,
      socket,
      out: socket,
      secure: false,
      closed: false,
      caps: 0,
      deprecateEof: false,
      user: null,
      database: null,
      clientPlugin: null,
      auth: { plugin: null, switched: false, path: null, keyRequested: false, result: null },
      resets: 0,
      session: null,
    }
    conns.push(conn)
    sockets.add(socket)
    socket.setNoDelay(true)
    socket.on('error', () => {})
    socket.on('close', () => {
      conn.closed = true
      sockets.delete(socket)
    })
    serve(conn).catch((e) => {
      conn.failure = String(e?.stack ?? e)
      socket.destroy()
    })
  })

  function newSession(conn, collation) {
    conn.session = { vars: new Map(), stmts: new Map(), inTrans: false, collation, timeZone: 'SYSTEM' }
  }

  function send(conn, payloads, seq) {
    if (!conn.out.destroyed && !conn.out.writableEnded) conn.out.write(frame(payloads, seq))
  }

  function accessDenied(conn, usedPassword) {
    const host = String(conn.socket.remoteAddress ?? 'localhost').replace(/^::ffff:/, '')
    return errPayload({
      errno: 1045,
      sqlState: '28000',
      message: `Access denied for user '${conn.user}'@'${host}' (using password: ${usedPassword ? 'YES' : 'NO'})`,
    })
  }

  async function serve(conn) {
    let reader = packetReader(conn.socket)
    const scramble = Buffer.from(randomBytes(20).map((b) => (b % 94) + 33)) // printable, no NUL
    // biome-ignore format: the greeting packet, field by field
    const greeting = Buffer.concat([
      Buffer.from([10]), nulStr(serverVersion), u32(conn.id), scramble.subarray(0, 8), Buffer.from([0]),
      u16(caps & 0xffff), Buffer.from([flavour.collation]), u16(STATUS.AUTOCOMMIT), u16(caps >>> 16), Buffer.from([21]),
      Buffer.alloc(10), scramble.subarray(8), Buffer.from([0]), nulStr(flavour.greetingPlugin),
    ])
    send(conn, greeting, 0)
    let pkt = await reader.next()
    if (!pkt) return
    if (pkt.payload.length === 32 && pkt.payload.readUInt32LE(0) & CAP.SSL) {
      // SSLRequest: the rest of the conversation is TLS.
      if (!secureContext) return conn.socket.destroy()
      reader = upgradeToTls(conn, reader)
      pkt = await reader.next()
      if (!pkt) return
    }
    parseHandshakeResponse(conn, pkt.payload)
    conn.caps = (conn.clientCaps & caps) >>> 0
    conn.deprecateEof = Boolean(conn.caps & CAP.DEPRECATE_EOF)
    newSession(conn, conn.clientCollation || flavour.collation)
    let seq = pkt.seq + 1
    const next = async () => {
      const p = await reader.next()
      if (p) seq = p.seq + 1
      return p
    }

    // --- authentication
    const account = Object.hasOwn(users, conn.user) ? users[conn.user] : null
    const deny = (used) => {
      conn.auth.result = 'denied'
      send(conn, accessDenied(conn, used), seq)
      conn.out.end()
    }
    if (!account) return deny(conn.authData.length > 0)
    const plugin = account.plugin ?? 'caching_sha2_password'
    conn.auth.plugin = plugin
    let authData = conn.authData
    if (conn.clientPlugin !== plugin) {
      // Both servers switch to the account's plugin, with the same nonce.
      conn.auth.switched = true
      send(conn, Buffer.concat([Buffer.from([0xfe]), nulStr(plugin), scramble, Buffer.from([0])]), seq)
      const sw = await next()
      if (!sw) return
      authData = sw.payload
    }
    if (opts.requireSecureTransport && !conn.secure) {
      conn.auth.result = 'denied'
      send(
        conn,
        errPayload({ errno: 3159, sqlState: 'HY000', message: 'Connections using insecure transport are prohibited while --require_secure_transport=ON.' }),
        seq,
      )
      return conn.out.end()
    }
    const password = account.password ?? ''
    let ok
    if (plugin === 'mysql_native_password') {
      conn.auth.path = 'native'
      ok = nativePasswordToken(password, scramble).equals(authData)
    } else if (authData.length === 0 || (authData.length === 1 && authData[0] === 0)) {
      conn.auth.path = 'empty'
      ok = password === ''
    } else {
      const cached = flavour.fastAuthCache ? authCache.get(conn.user) : undefined
      if (cached && fastAuthenticate(authData, scramble, cached)) {
        conn.auth.path = 'fast'
        send(conn, Buffer.from([0x01, 0x03]), seq++)
        ok = true
      } else {
        // MySQL: not cached, or a scramble that does not match: full
        // authentication. TiDB: always.
        send(conn, Buffer.from([0x01, 0x04]), seq)
        const p = await next()
        if (!p) return
        let clear
        if (conn.secure) {
          conn.auth.path = 'full-tls'
          clear =
            flavour.name === 'tidb'
              ? trimNul(p.payload)
              : p.payload.subarray(0, Math.max(0, p.payload.indexOf(0) < 0 ? p.payload.length : p.payload.indexOf(0)))
        } else if (flavour.name === 'tidb') {
          // No RSA exchange: the packet is taken as the password.
          conn.auth.path = 'full-plain'
          conn.auth.keyRequested = p.payload.length === 1 && p.payload[0] === 0x02
          clear = trimNul(p.payload)
        } else {
          conn.auth.path = 'full-rsa'
          conn.auth.keyRequested = p.payload.length === 1 && p.payload[0] === 0x02
          if (!keys) {
            // A MySQL 8 without RSA keys (or one not allowed to hand them out).
            if (opts.refusePublicKey === 'close') {
              conn.auth.result = 'closed'
              return conn.socket.destroy()
            }
            return deny(true)
          }
          let cipher = p.payload
          if (conn.auth.keyRequested) {
            send(conn, Buffer.concat([Buffer.from([0x01]), Buffer.from(keys.publicKey, 'ascii')]), seq)
            const c = await next()
            if (!c) return
            cipher = c.payload
          }
          if (cipher.length !== 256) return deny(true)
          let plain
          try {
            plain = privateDecrypt({ key: keys.privateKey, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, cipher)
          } catch {
            return deny(true)
          }
          const x = xor(plain, scramble)
          const nul = x.indexOf(0)
          clear = x.subarray(0, nul < 0 ? x.length : nul)
        }
        ok = clear.toString('utf8') === password
        if (ok && flavour.fastAuthCache) authCache.set(conn.user, sha256(sha256(Buffer.from(password, 'utf8'))))
      }
    }
    if (!ok) return deny(true)
    conn.auth.result = 'ok'
    send(conn, okPacket(conn), seq)

    // --- commands
    for (;;) {
      const p = await reader.next()
      if (!p) return
      await command(conn, p.payload)
      if (conn.quit) return
    }
  }

  function upgradeToTls(conn, plainReader) {
    const raw = conn.socket
    // Whatever already arrived after the SSLRequest (the ClientHello may
    // share its TCP segment) goes into the TLS layer first.
    const leftover = plainReader.detach()
    const duplex = new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        if (raw.destroyed) return cb()
        raw.write(chunk, () => cb())
      },
      final(cb) {
        raw.end()
        cb()
      },
      destroy(err, cb) {
        raw.destroy()
        cb(err)
      },
    })
    if (leftover.length) duplex.push(leftover)
    raw.on('data', (d) => duplex.push(d))
    raw.on('end', () => duplex.push(null))
    const secure = new tls.TLSSocket(duplex, { isServer: true, secureContext })
    secure.on('error', () => raw.destroy())
    raw.on('close', () => secure.destroy())
    conn.out = secure
    conn.secure = true
    return packetReader(secure)
  }

  function record(conn, cmd, sql) {
    log.push({ connId: conn.id, cmd: COM_NAME[cmd] ?? `0x${cmd.toString(16)}`, sql })
  }

  function takeFault(sql) {
    const i = faults.findIndex((f) => (typeof f.match === 'function' ? f.match(sql) : f.match instanceof RegExp ? f.match.test(sql) : f.match === sql))
    if (i < 0) return null
    const f = faults[i]
    if (--f.times <= 0) faults.splice(i, 1)
    return f.error
  }

  async function command(conn, payload) {
    const cmd = payload[0]
    const body = payload.subarray(1)
    switch (cmd) {
      case COM.QUIT:
        record(conn, cmd)
        conn.quit = true
        conn.out.end()
        return
      case COM.PING:
      case COM.STMT_RESET:
        record(conn, cmd)
        return send(conn, okPacket(conn), 1)
      case COM.SET_OPTION:
        record(conn, cmd)
        return send(conn, conn.deprecateEof ? okPacket(conn, {}, 0xfe) : eofPayload({ status: sessionStatus(conn) }), 1)
      case COM.INIT_DB: {
        const db = body.toString('utf8')
        record(conn, cmd, db)
        conn.database = db
        return send(conn, okPacket(conn, { changes: flavour.sessionTrack ? [{ type: 1, value: db }] : [] }), 1)
      }
      case COM.RESET_CONNECTION:
        record(conn, cmd)
        conn.resets++
        newSession(conn, conn.clientCollation || flavour.collation)
        return send(conn, okPacket(conn), 1)
      case COM.CHANGE_USER:
        record(conn, cmd)
        return send(conn, errPayload({ errno: 1047, sqlState: '08S01', message: 'Unknown command (COM_CHANGE_USER is not emulated)' }), 1)
      case COM.QUERY: {
        const sql = queryText(conn, body)
        record(conn, cmd, sql)
        const fault = takeFault(sql)
        const res = fault ? { error: fault } : run(conn, sql)
        return reply(conn, res, false)
      }
      case COM.STMT_PREPARE: {
        const sql = body.toString('utf8')
        record(conn, cmd, sql)
        return prepare(conn, sql)
      }
      case COM.STMT_EXECUTE: {
        const id = body.readUInt32LE(0)
        const stmt = conn.session.stmts.get(id)
        record(conn, cmd, stmt?.sql)
        if (!stmt) {
          return send(
            conn,
            errPayload({ errno: 1243, sqlState: 'HY000', message: `Unknown prepared statement handler (${id}) given to mysqld_stmt_execute` }),
            1,
          )
        }
        const flags = body[4]
        let off = 9
        let count = stmt.params
        const qa = Boolean(conn.caps & CAP8.QUERY_ATTRIBUTES)
        if (qa && (count > 0 || flags & 0x08)) {
          const [n, len] = readLenenc(body, off)
          count = n
          off += len
        }
        const params = readParams(body, off, count, { withNames: qa, prevTypes: stmt.types })
        if (params.types.length) stmt.types = params.types
        // Query attributes come after the statement's own parameters.
        const values = params.values.slice(0, stmt.params)
        const entry = log[log.length - 1]
        entry.params = values.map(plainParam)
        entry.paramTypes = params.types.slice(0, stmt.params).map((t) => t.type)
        entry.attributes = Object.fromEntries(params.names.slice(stmt.params).map((n, i) => [n, plainParam(params.values[stmt.params + i])]))
        const sql = substitute(stmt.sql, values)
        const fault = takeFault(stmt.sql)
        const res = fault ? { error: fault } : run(conn, sql)
        return reply(conn, res, true)
      }
      case COM.STMT_CLOSE:
        record(conn, cmd)
        conn.session.stmts.delete(body.readUInt32LE(0))
        return // no answer, by protocol
      case COM.STMT_SEND_LONG_DATA:
        record(conn, cmd)
        return
      default:
        record(conn, cmd)
        return send(conn, errPayload({ errno: 1047, sqlState: '08S01', message: 'Unknown command' }), 1)
    }
  }

  /** COM_QUERY's text, after the query-attribute block when negotiated. */
  function queryText(conn, body) {
    if (!(conn.caps & CAP8.QUERY_ATTRIBUTES)) return body.toString('utf8')
    let off = 0
    const [count, n1] = readLenenc(body, off)
    off += n1
    const [, n2] = readLenenc(body, off) // parameter_set_count, always 1
    off += n2
    if (count > 0) {
      const attrs = readParams(body, off, count, { withNames: true })
      conn.lastQueryAttributes = Object.fromEntries(attrs.names.map((n, i) => [n, attrs.values[i]]))
      off = attrs.end
    }
    return body.toString('utf8', off)
  }

  function reply(conn, res, binary) {
    if (res.error) {
      if (ROLLS_BACK.has(res.error.errno)) conn.session.inTrans = false
      return send(conn, errPayload(res.error), 1)
    }
    if (res.columns) return send(conn, resultSetPayloads(conn, res.columns, res.rows, binary), 1)
    return send(conn, okPacket(conn, res.ok), 1)
  }

  function prepare(conn, sql) {
    const n = placeholders(sql).length
    // The result's shape, from a run with placeholder values (no effects:
    // only SELECTs have columns, and those change nothing).
    const shapeSql = substitute(sql, Array(n).fill(0))
    let shape
    if (/^\s*SELECT\b/i.test(shapeSql)) {
      shape = run(conn, shapeSql, { dryRun: true })
      if (shape.error) return send(conn, errPayload(shape.error), 1)
    } else if (/^\s*(UPDATE|SET|DO|BEGIN|START|COMMIT|ROLLBACK|INSERT|DELETE)\b/i.test(shapeSql)) {
      shape = { ok: {} }
    } else {
      return send(conn, errPayload({ errno: 1064, sqlState: '42000', message: `emulator cannot prepare: ${sql.slice(0, 80)}` }), 1)
    }
    const id = (conn.nextStmt = (conn.nextStmt ?? 0) + 1)
    const cols = shape.columns ?? []
    conn.session.stmts.set(id, { id, sql, params: n, types: null })
    const paramDefs = paramDefinitions(conn, sql)
    const payloads = [Buffer.concat([Buffer.from([0x00]), u32(id), u16(cols.length), u16(n), Buffer.from([0]), u16(0)])]
    if (n > 0) {
      payloads.push(...paramDefs.map(colDef))
      if (!conn.deprecateEof) payloads.push(eofPayload({ status: sessionStatus(conn) }))
    }
    if (cols.length > 0) {
      payloads.push(...cols.map(colDef))
      if (!conn.deprecateEof) payloads.push(eofPayload({ status: sessionStatus(conn) }))
    }
    send(conn, payloads, 1)
  }

  /** Parameter definitions of a prepare answer: MySQL 8 types `id = ?` as BIGINT, the rest as strings. */
  function paramDefinitions(conn, sql) {
    return placeholders(sql).map((pos) => {
      const before = sql.slice(0, pos)
      const isId = /`?id`?\s*(=|>=|<=|<>|!=|>|<)\s*$/i.test(before)
      if (flavour.typedParams && isId) return { name: '?', type: T.LONGLONG, charset: 63, length: 21, flags: FLAG.BINARY, decimals: 0 }
      return {
        name: '?',
        type: T.VAR_STRING,
        charset: flavour.typedParams ? conn.session.collation : 63,
        length: 0,
        flags: flavour.typedParams ? 0 : FLAG.BINARY,
        decimals: 0,
      }
    })
  }

  /**
   * Runs one statement: { columns, rows } | { ok } | { error }. `dryRun`
   * (prepare) changes nothing.
   */
  function run(conn, rawSql, { dryRun = false } = {}) {
    const sql = rawSql.trim().replace(/;\s*$/, '').replace(/\s+/g, ' ')
    const s = conn.session
    let m
    if (/^(BEGIN|START TRANSACTION)\b/i.test(sql)) {
      if (!dryRun) s.inTrans = true
      return { ok: {} }
    }
    if (/^(COMMIT|ROLLBACK)$/i.test(sql)) {
      if (!dryRun) s.inTrans = false
      return { ok: {} }
    }
    if ((m = /^SET NAMES '?(\w+)'?(?: COLLATE '?(\w+)'?)?$/i.exec(sql))) {
      const set = m[1].toLowerCase()
      const coll = (m[2] ?? (set === 'utf8mb4' ? (flavour.name === 'tidb' ? 'utf8mb4_bin' : 'utf8mb4_0900_ai_ci') : `${set}_general_ci`)).toLowerCase()
      if (!(coll in COLLATIONS)) return { error: { errno: 1273, sqlState: 'HY000', message: `Unknown collation: '${coll}'` } }
      if (!dryRun) s.collation = COLLATIONS[coll]
      const changes = flavour.sessionTrack
        ? ['character_set_client', 'character_set_connection', 'character_set_results'].map((name) => ({ type: 0, name, value: set }))
        : []
      return { ok: { changes } }
    }
    if ((m = /^SET (?:SESSION |@@SESSION\.|@@)?time_zone ?= ?'([^']*)'$/i.exec(sql))) {
      if (!dryRun) s.timeZone = m[1]
      return { ok: { changes: flavour.sessionTrack ? [{ type: 0, name: 'time_zone', value: m[1] }] : [] } }
    }
    if ((m = /^SET (@\w+ ?:?= ?.+)$/is.exec(sql))) {
      for (const part of m[1].split(/,(?=\s*@)/)) {
        const a = /^\s*@(\w+) ?:?= ?(.+?)\s*$/s.exec(part)
        const v = a ? literalValue(a[2]) : undefined
        if (v === undefined) return { error: { errno: 1064, sqlState: '42000', message: `emulator cannot evaluate: ${part.slice(0, 80)}` } }
        if (!dryRun) s.vars.set(a[1].toLowerCase(), v)
      }
      return { ok: {} }
    }
    if ((m = /^USE `?(\w+)`?$/i.exec(sql))) {
      if (!dryRun) conn.database = m[1]
      return { ok: { changes: flavour.sessionTrack ? [{ type: 1, value: m[1] }] : [] } }
    }
    if ((m = /^SELECT (@\w+(?: AS `?\w+`?)?(?: ?, ?@\w+(?: AS `?\w+`?)?)*)$/i.exec(sql))) {
      const cols = []
      const row = []
      for (const part of m[1].split(/\s*,\s*/)) {
        const a = /^@(\w+)(?: AS `?(\w+)`?)?$/i.exec(part)
        const v = s.vars.has(a[1].toLowerCase()) ? s.vars.get(a[1].toLowerCase()) : null
        const name = a[2] ?? `@${a[1]}`
        if (typeof v === 'bigint') cols.push({ name, type: T.LONGLONG, charset: 63, length: 21, flags: FLAG.BINARY, decimals: 0 })
        else if (typeof v === 'number') cols.push({ name, type: T.NEWDECIMAL, charset: 63, length: 67, flags: FLAG.BINARY, decimals: 30 })
        else
          cols.push({ name, type: T.LONG_BLOB, charset: v === null ? 63 : s.collation, length: 4294967295, flags: v === null ? FLAG.BINARY : 0, decimals: 31 })
        row.push(v === null ? null : String(v))
      }
      return { columns: cols, rows: [row] }
    }
    if ((m = SELECT_T.exec(sql))) {
      const names = m[1].trim() === '*' ? COLUMN_ORDER : m[1].split(',').map((c) => c.trim().replace(/`/g, '').toLowerCase())
      if (!names.every((n) => n in columns)) return { error: { errno: 1054, sqlState: '42S22', message: `Unknown column in 'field list'` } }
      const bound = m[3] === undefined ? undefined : idValue(m[3])
      let rows = TABLE_ROWS.filter((r) => bound === undefined || compare(r[0], m[2], bound))
      if (m[4]?.toUpperCase() === 'DESC') rows = [...rows].reverse()
      if (m[5] !== undefined) rows = rows.slice(0, Number(m[5]))
      return { columns: names.map((n) => columns[n]), rows: rows.map((r) => names.map((n) => r[COLUMN_ORDER.indexOf(n)])) }
    }
    if ((m = UPDATE_T.exec(sql))) {
      if (literalValue(m[1]) === undefined) return { error: { errno: 1064, sqlState: '42000', message: 'emulator cannot evaluate the new value' } }
      const id = idValue(m[2])
      const n = TABLE_ROWS.filter((r) => r[0] === id).length
      return { ok: { affectedRows: n, info: `Rows matched: ${n}  Changed: ${n}  Warnings: 0` } }
    }
    // Literals, @@variables, VERSION(), DATABASE(), CONNECTION_ID(), SHOW WARNINGS, DO...
    const d = defaultAnswer(sql, { server, database: conn.database, id: conn.id }, server)
    if (d.error || d.ok) return d.ok ? { ok: {} } : d
    return { columns: d.columns.map((c, i) => literalColumn(conn, c, d.rows[0]?.[i])), rows: d.rows }
  }

  /** Column metadata MySQL gives a literal select expression. */
  function literalColumn(conn, c, v) {
    switch (c.type) {
      case 'longlong':
        return {
          name: c.name,
          type: T.LONGLONG,
          charset: 63,
          length: Math.max(1, String(v ?? '').length),
          flags: FLAG.NOT_NULL | FLAG.BINARY | FLAG.NUM,
          decimals: 0,
        }
      case 'double': {
        const frac = String(v).split('.')[1]?.length ?? 0
        return { name: c.name, type: T.NEWDECIMAL, charset: 63, length: String(v).length, flags: FLAG.NOT_NULL | FLAG.BINARY | FLAG.NUM, decimals: frac }
      }
      case 'null':
        return { name: c.name, type: T.NULL, charset: 63, length: 0, flags: FLAG.BINARY, decimals: 0 }
      default:
        return {
          name: c.name,
          type: T.VAR_STRING,
          charset: conn.session.collation,
          length: Math.max(1, [...String(v ?? '')].length) * 4,
          flags: v === null ? 0 : FLAG.NOT_NULL,
          decimals: 31,
        }
    }
  }

  await new Promise((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve)
  })
  const addr = srv.address()
  return {
    host: addr.address,
    port: addr.port,
    flavour: flavour.name,
    serverVersion,
    publicKey: keys?.publicKey ?? null,
    conns,
    log,
    authCache,
    /** Answers the next `times` (1) COM_QUERY / COM_STMT_EXECUTE whose SQL matches with `error`. */
    inject({ match, error, times = 1 }) {
      faults.push({ match, error, times })
    },
    /** Faults armed but not yet used. */
    get pendingFaults() {
      return faults.length
    },
    /** Empties the caching_sha2_password cache (FLUSH PRIVILEGES). */
    flushAuthCache() {
      authCache.clear()
    },
    /** Fills the cache for `user` as a successful full authentication (over TLS, say) would. */
    cachePassword(user) {
      authCache.set(user, sha256(sha256(Buffer.from(users[user].password ?? '', 'utf8'))))
    },
    /** Connections accepted from `since` (an index into conns) on. */
    connsSince(since) {
      return conns.slice(since)
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise((r) => srv.close(() => r()))
    },
  }
}

/** A decoded parameter as plain data for the log: text for strings and blobs. */
function plainParam(v) {
  if (Buffer.isBuffer(v)) return v.toString('utf8')
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v)
  if (v && typeof v === 'object') return v.date ?? v.time
  return v
}

function trimNul(b) {
  let s = 0
  let e = b.length
  while (s < e && b[s] === 0) s++
  while (e > s && b[e - 1] === 0) e--
  return b.subarray(s, e)
}

function parseHandshakeResponse(conn, p) {
  // The common fields as mysql-fake.mjs reads them; then the attributes.
  const off = parseBaseHandshakeResponse(conn, p)
  if (conn.clientCaps & CAP.CONNECT_ATTRS && off < p.length) {
    try {
      const [total, n] = readLenenc(p, off)
      let o = off + n
      const end = o + total
      conn.attrs = {}
      while (o < end) {
        const [kl, kn] = readLenenc(p, o)
        const k = p.toString('utf8', o + kn, o + kn + kl)
        o += kn + kl
        const [vl, vn] = readLenenc(p, o)
        conn.attrs[k] = p.toString('utf8', o + vn, o + vn + vl)
        o += vn + vl
      }
    } catch {
      conn.attrs = null
    }
  }
}

// Async packet reader over a stream. detach() stops it and hands back what
// it had buffered but not parsed.
function packetReader(stream) {
  let buf = Buffer.alloc(0)
  let ended = false
  let wake = null
  let detached = false
  const onData = (d) => {
    if (detached) return
    buf = buf.length ? Buffer.concat([buf, d]) : d
    wake?.()
  }
  const done = () => {
    ended = true
    wake?.()
  }
  stream.on('data', onData)
  stream.on('end', done)
  stream.on('close', done)
  const take = () => {
    if (buf.length < 4) return null
    const len = buf.readUIntLE(0, 3)
    if (buf.length < 4 + len) return null
    const p = { seq: buf[3], payload: buf.subarray(4, 4 + len) }
    buf = buf.subarray(4 + len)
    return p
  }
  return {
    async next() {
      for (;;) {
        const p = take()
        if (p) return p
        if (ended || detached) return null
        await new Promise((r) => (wake = r))
        wake = null
      }
    },
    detach() {
      detached = true
      stream.off('data', onData)
      stream.off('end', done)
      stream.off('close', done)
      const rest = buf
      buf = Buffer.alloc(0)
      return rest
    },
  }
}
