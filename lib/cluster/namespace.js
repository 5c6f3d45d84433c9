'use strict';
// The retry loop of a PoolCluster call: of(pattern, selector) returns a
// PoolNamespace, whose query()/execute()/getConnection() pick an online node,
// run the call there and decide, from the error, whether to try another.
//
// Differences from mysql2, all deliberate:
// - query()/execute() call the node pool directly (one native round trip)
//   instead of getConnection() + query + release, so errors are classified by
//   code: only failures that happen before the statement is sent (connect
//   errors, open circuit breaker, acquire timeout...) are retried elsewhere.
//   A connection lost mid-statement is counted against the node but never
//   retried: the statement may have run.
// - A retry goes to a node not yet tried by the same call, so with several
//   online nodes a call tries each at most once. When the node that just
//   failed is the only online one, it is retried as mysql2 does, but only
//   after an error that counted against it, so the retries end when it goes
//   offline or is removed (removeNodeErrorCount).
// - Saturation errors (acquire timeout, queue limit) are retried on another
//   node but do not count against the node: a busy node is not a dead one.
const errors = require('../errors');
const { SELECTORS } = require('./selectors');
const { isNodeError, isNotSent, serverAnswered } = require('./failover');

class PoolNamespace {
  constructor(cluster, pattern, selector) {
    this._cluster = cluster;
    this._pattern = pattern;
    this._selectorName = selector;
    this._select = SELECTORS[selector]();
  }

  get pattern() {
    return this._pattern;
  }

  get selector() {
    return this._selectorName;
  }

  getConnection() {
    return this._run((pool) => pool.getConnection(), true);
  }

  query(sql, values) {
    return this._run((pool) => pool.query(sql, values), false);
  }

  execute(sql, values) {
    return this._run((pool) => pool.execute(sql, values), false);
  }

  /** Picks an online node not yet tried by this call; null if none is left. */
  _pick(tried) {
    let ids = this._cluster._findIds(this._pattern, false);
    if (tried.size > 0) ids = ids.filter((id) => !tried.has(id));
    if (ids.length === 0) return null;
    return this._cluster._nodes.get(ids.length === 1 ? ids[0] : this._select(ids)) || null;
  }

  async _run(op, lending) {
    const cluster = this._cluster;
    if (cluster._closed) throw errors.closed();
    const tried = new Set();
    // The last connection error from the node being retried, for when its
    // circuit breaker opens under these retries (see below).
    let connectErr = null;
    for (;;) {
      const node = this._pick(tried);
      if (node === null) throw cluster._noNodeError(this._pattern);
      tried.add(node.id);
      const epoch = node.epoch;
      // A node back from offline takes one call (a probe) until it proves itself.
      const probe = node.offlineUntil !== 0;
      if (probe) node.probing = true;
      let result;
      try {
        result = await op(node.pool);
      } catch (err) {
        if (probe) node.probing = false;
        const counted = isNodeError(err);
        if (counted) cluster._failed(node, epoch);
        else if (serverAnswered(err)) cluster._succeeded(node, epoch);
        if (connectErr !== null && connectErr.node !== node) connectErr = null;
        if (counted && err.code !== 'POOL_CIRCUIT_OPEN') connectErr = { node, err };
        // getConnection() errors all happen before any statement is sent.
        const retry = cluster.config.canRetry && !cluster._closed && (isNotSent(err) || (lending && counted));
        const online = retry ? cluster._findIds(this._pattern, false) : [];
        if (online.some((id) => !tried.has(id))) {
          cluster.emit('warn', err);
          continue;
        }
        // mysql2 retries while any matching node is online, so a lone node is
        // tried again until it goes offline or is removed. Only an error
        // counted against it brings that closer: saturation (acquire timeout,
        // queue limit) would loop, so it is not retried on the same node. A
        // read/write split does not do this: its primary takes the read.
        if (counted && !cluster._handOff && online.length === 1 && online[0] === node.id) {
          tried.delete(node.id);
          cluster.emit('warn', err);
          continue;
        }
        // The node's pool was ended under us (removed, or went offline with
        // callers queued): say so in cluster terms, not "Pool is closed.".
        if (err && err.code === 'POOL_CLOSED' && !cluster._closed) throw cluster._noNodeError(this._pattern);
        // The retries above opened the node's circuit breaker, so the last
        // tries failed fast without connecting: report what the server did,
        // as mysql2 (which has no breaker) would.
        if (err && err.code === 'POOL_CIRCUIT_OPEN' && connectErr !== null) throw connectErr.err;
        throw err;
      }
      if (probe) node.probing = false;
      cluster._succeeded(node, epoch);
      if (lending && result) result._clusterId = node.id;
      return result;
    }
  }
}

module.exports = { PoolNamespace };
