'use strict';
// Errors as mysql2 shapes them: server errors carry code/errno/sqlState/
// sqlMessage; connection-level ones carry `fatal: true`. Pool errors keep
// mysql2's messages and add stable codes (README: "Error codes").

const POOL_CODES = Object.freeze({
  POOL_CLOSED: 'POOL_CLOSED',
  POOL_QUEUE_LIMIT: 'POOL_QUEUE_LIMIT',
  POOL_NO_CONNECTIONS: 'POOL_NO_CONNECTIONS',
  POOL_ACQUIRE_TIMEOUT: 'POOL_ACQUIRE_TIMEOUT',
  POOL_CIRCUIT_OPEN: 'POOL_CIRCUIT_OPEN',
  ERR_CONNECTION_RELEASED: 'ERR_CONNECTION_RELEASED',
  ERR_INVALID_POOL_OPTION: 'ERR_INVALID_POOL_OPTION',
  ERR_UNSUPPORTED_OPTION: 'ERR_UNSUPPORTED_OPTION',
  ERR_INVALID_QUERY: 'ERR_INVALID_QUERY',
  ERR_INVALID_PARAMETER: 'ERR_INVALID_PARAMETER',
  ERR_NATIVE_PANIC: 'ERR_NATIVE_PANIC',
  ERR_NOT_SUPPORTED: 'ERR_NOT_SUPPORTED',
});

/** [message, code, errno, sqlState, sqlMessage, fatal, handshake] from the native side. */
// A connection attempt's socket error, shaped as the Node net error mysql2
// passes on: `connect ECONNREFUSED host:port` with errno, syscall, address
// and port; `getaddrinfo ENOTFOUND host`; mysql2's own connectTimeout error
// has errorno and syscall.
const GETADDRINFO_ERRNO = { ENOTFOUND: -3008, EAI_AGAIN: -3001 };
function connectShape(err, where, osErrno) {
  const code = err.code;
  if (GETADDRINFO_ERRNO[code] !== undefined) {
    err.message = `getaddrinfo ${code} ${where.host}`;
    err.errno = GETADDRINFO_ERRNO[code];
    err.syscall = 'getaddrinfo';
    err.hostname = where.host;
  } else if (typeof osErrno === 'number') {
    const socket = typeof where.socketPath === 'string' && where.socketPath !== '';
    err.message = `connect ${code} ${socket ? where.socketPath : `${where.host}:${where.port}`}`;
    err.errno = -osErrno;
    err.syscall = 'connect';
    err.address = socket ? where.socketPath : where.host;
    if (!socket) err.port = where.port;
  } else if (code === 'ETIMEDOUT') {
    err.errorno = 'ETIMEDOUT';
    err.syscall = 'connect';
  }
}

/**
 * An error from native code. `where` ({ host, port, socketPath }, the
 * pool's config): the address a failed connection attempt names.
 */
function fromNative(e, sql, where) {
  const err = new Error(e[0]);
  err.code = e[1];
  if (e[2] !== null) err.errno = e[2];
  if (e[3] !== null) err.sqlState = e[3];
  if (e[4] !== null) err.sqlMessage = e[4];
  // mysql2 attaches the SQL to errors the server sent, not to lost connections
  if (sql !== undefined && e[2] !== null && !e[6]) err.sql = sql;
  if (e[5]) err.fatal = true;
  if (e[1] === 'PROTOCOL_SEQUENCE_TIMEOUT' && e[0] === 'Query inactivity timeout') {
    // mysql2's query timeout error carries these two as well.
    err.errorno = 'PROTOCOL_SEQUENCE_TIMEOUT';
    err.syscall = 'query';
  }
  // e[6]: raised while connecting; e[2] null: not a server error; e[7]:
  // the socket error's OS number (src/error.rs os_errno).
  if (e[6] && e[2] === null && where !== undefined && where !== null) connectShape(err, where, e[7]);
  return err;
}

/** mysql2's words for an ended pool (or cluster); the one place they live in JS. */
function closed() {
  return make('POOL_CLOSED', 'Pool is closed.');
}

function make(code, message, Ctor = Error) {
  const err = new Ctor(message);
  err.code = code;
  return err;
}

/**
 * Runs an escape/format call: errors it throws without a code (deep
 * recursion's RangeError, objects whose toString throws) get one, like
 * every other error of this package. The original stays as `cause`.
 */
function coded(fn) {
  try {
    return fn();
  } catch (err) {
    if (err !== null && typeof err === 'object' && typeof err.code === 'string') throw err;
    const msg = err instanceof Error || (err && typeof err.message === 'string') ? err.message : String(err);
    const e = make('ERR_INVALID_PARAMETER', `Cannot escape the value: ${msg}`, TypeError);
    e.cause = err;
    throw e;
  }
}

module.exports = { POOL_CODES, fromNative, make, coded, closed };
