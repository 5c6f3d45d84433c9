'use strict';
// Which errors let a cluster call move on to another node, and which count
// against the node (towards removeNodeErrorCount). Shared by the cluster's
// retry loop (namespace.js) and the read/write split's fallback to the
// primary (read-write-split.js).

// Raised before the statement left the client: safe to run on another node.
// biome-ignore format: codes grouped a kind a line
const NOT_SENT = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'ENOTFOUND', 'EADDRNOTAVAIL',
  'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE', 'ENOENT', 'EACCES',
  'HANDSHAKE_SSL_ERROR', 'HANDSHAKE_NO_SSL_SUPPORT', 'AUTH_SWITCH_PLUGIN_ERROR',
  'ER_CON_COUNT_ERROR',
  'POOL_CIRCUIT_OPEN', 'POOL_CLOSED', 'POOL_ACQUIRE_TIMEOUT', 'POOL_QUEUE_LIMIT', 'POOL_NO_CONNECTIONS',
]);

// The node is (or looks) unreachable: counts towards removeNodeErrorCount.
// biome-ignore format: codes grouped a kind a line
const NODE_DOWN = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'ENOTFOUND', 'EADDRNOTAVAIL',
  'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE', 'ENOENT', 'EACCES',
  'HANDSHAKE_SSL_ERROR', 'HANDSHAKE_NO_SSL_SUPPORT',
  'PROTOCOL_CONNECTION_LOST', 'POOL_CIRCUIT_OPEN',
  'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED',
]);

/**
 * A server error during the handshake (access denied, unknown database...).
 * Server errnos are positive; a socket error's (Node's) are negative.
 */
function handshakeError(err) {
  return err.fatal === true && typeof err.errno === 'number' && err.errno > 0 && err.code !== 'PROTOCOL_SEQUENCE_TIMEOUT';
}

/** True if `err` means the node could not be used (counts against it). */
function isNodeError(err) {
  return !!err && (NODE_DOWN.has(err.code) || handshakeError(err));
}

/** True if the statement cannot have reached the server. */
function isNotSent(err) {
  return !!err && (NOT_SENT.has(err.code) || handshakeError(err));
}

/** The server answered (success or its own error): the node is reachable. */
function serverAnswered(err) {
  return !err || (err.sqlState != null && !isNodeError(err));
}

module.exports = { isNodeError, isNotSent, serverAnswered };
