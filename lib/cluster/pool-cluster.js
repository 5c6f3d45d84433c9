'use strict';
// mysql2's promise PoolCluster (add/remove/of/getConnection, selectors
// RR/RANDOM/ORDER, glob patterns, error counting that takes a node offline or
// out, events online/offline/remove/warn), where every node is one of our
// pools named after its id, so metrics carry a label per node. The node
// bookkeeping lives here; the per-call retry loop in namespace.js.
// cluster.query()/execute() work (mysql2's promise cluster forwards them to a
// method its core cluster does not have).
const { EventEmitter } = require('node:events');
const { performance } = require('node:perf_hooks');
const { Pool } = require('../pool');
const errors = require('../errors');
const { patternRegExp } = require('./selectors');
const { invalid, selectorName, normalizeClusterOptions, nodePoolOptions } = require('./options');
const { PoolNamespace } = require('./namespace');
const { summarize } = require('./health');
const { clusterFamilies, renderText } = require('./metrics');

// mysql2's texts (lib/pool_cluster.js), capital N included.
const MSG_NOEXIST = 'Pool does Not exist.';
const MSG_NONEONLINE = 'Pool does Not have online node.';

const now = () => performance.now();

class PoolCluster extends EventEmitter {
  constructor(options) {
    super();
    this.config = normalizeClusterOptions(options);
    this._nodes = new Map();
    this._namespaces = new Map();
    this._findCache = new Map();
    this._lastId = 0;
    this._closed = false;
    this._ending = null;
    // Set by ReadWriteSplit: its primary answers reads no replica can take.
    this._handOff = false;
  }

  /** add(id, config) or add(config) (id `CLUSTER::N`); an existing id is left as it is, like mysql2. */
  add(id, config) {
    if (id !== null && typeof id === 'object') {
      config = id;
      id = `CLUSTER::${++this._lastId}`;
    }
    if (typeof id !== 'string' || id === '') throw invalid('PoolCluster.add(id, config): id must be a non-empty string');
    if (this._closed) throw errors.closed();
    if (this._nodes.has(id)) return;
    const options = nodePoolOptions(id, config);
    const pool = new Pool(options);
    const node = { id, pool, errorCount: 0, offlineUntil: 0, epoch: 0, probing: false };
    // The caller's options (password, uri) stay out of util.inspect(cluster).
    Object.defineProperty(node, 'options', { get: () => options, enumerable: false });
    this._nodes.set(id, node);
    this._findCache.clear();
  }

  /** Removes (and ends) every node matching the pattern, online or not. No 'remove' event (as mysql2). */
  remove(pattern) {
    for (const id of this._findIds(pattern, true)) {
      const node = this._nodes.get(id);
      if (node) this._removeNode(node);
    }
  }

  of(pattern, selector) {
    pattern = pattern || '*';
    const name = selectorName(selector, this.config.defaultSelector);
    const key = `${pattern instanceof RegExp ? `/${pattern.source}/${pattern.flags}` : `'${pattern}`}\u0000${name}`;
    let ns = this._namespaces.get(key);
    if (ns === undefined) {
      ns = new PoolNamespace(this, pattern, name);
      this._namespaces.set(key, ns);
    }
    return ns;
  }

  getConnection(pattern, selector) {
    let ns;
    try {
      ns = this.of(pattern, selector);
    } catch (err) {
      return Promise.reject(err);
    }
    return ns.getConnection();
  }

  query(sql, values) {
    return this.of().query(sql, values);
  }

  execute(sql, values) {
    return this.of().execute(sql, values);
  }

  /** Ends every node's pool. Safe to call more than once. */
  end() {
    if (this._ending) return this._ending;
    this._closed = true;
    const pools = [...this._nodes.values()].map((n) => n.pool);
    this._ending = Promise.all(pools.map((p) => p.end())).then(() => undefined);
    return this._ending;
  }

  async [Symbol.asyncDispose]() {
    await this.end();
  }

  /** The node pools by id (a snapshot). */
  get nodes() {
    const out = {};
    for (const [id, n] of this._nodes) out[id] = n.pool;
    return out;
  }

  _online(node, t) {
    return node.offlineUntil === 0 || node.offlineUntil <= t;
  }

  _findIds(pattern, includeOffline) {
    const key = pattern instanceof RegExp ? pattern : String(pattern);
    let ids = this._findCache.get(key);
    if (ids === undefined) {
      const re = patternRegExp(pattern);
      ids = [];
      for (const id of this._nodes.keys()) if (re.test(id)) ids.push(id);
      this._findCache.set(key, ids);
    }
    if (includeOffline) return ids;
    let t = 0;
    return ids.filter((id) => {
      const n = this._nodes.get(id);
      if (n.offlineUntil === 0) return true;
      if (n.probing) return false;
      if (t === 0) t = now();
      return n.offlineUntil <= t;
    });
  }

  _noNodeError(pattern) {
    if (this._closed) return errors.closed();
    if (this._findIds(pattern, true).length > 0) return errors.make('POOL_NONEONLINE', MSG_NONEONLINE);
    return errors.make('POOL_NOEXIST', MSG_NOEXIST);
  }

  /** A connection error on `node` from a call that picked it at `epoch`. */
  _failed(node, epoch) {
    if (this._nodes.get(node.id) !== node) return; // removed meanwhile
    node.errorCount++;
    if (node.errorCount < this.config.removeNodeErrorCount) return;
    if (this.config.restoreNodeTimeout > 0) {
      const t = now();
      // Failures of calls already in flight when it went offline add nothing.
      if (!this._online(node, t) || epoch !== node.epoch) return;
      node.offlineUntil = t + this.config.restoreNodeTimeout;
      node.epoch++;
      this._releaseWaiters(node);
      this.emit('offline', node.id);
      return;
    }
    this._removeNode(node);
    this.emit('remove', node.id);
  }

  /** The node answered. A call started before the node went offline proves nothing about now. */
  _succeeded(node, epoch) {
    if (epoch !== node.epoch || this._nodes.get(node.id) !== node) return;
    let c = Math.min(node.errorCount, this.config.removeNodeErrorCount);
    if (c < 1) c = 1;
    node.errorCount = c - 1;
    if (node.offlineUntil !== 0) {
      node.offlineUntil = 0;
      this.emit('online', node.id);
    }
  }

  /**
   * Callers already queued in an offline node's pool would wait there for
   * acquireTimeout (the native pool keeps them queued while it retries the
   * server), though other nodes could serve them now. Ending that pool hands
   * them POOL_CLOSED, which _run() retries elsewhere; a fresh pool with the
   * same options takes its place for when the node is tried again.
   */
  _releaseWaiters(node, recheck = [50, 500]) {
    const old = node.pool;
    // A shared (cross-thread) pool would come back attached to the same queue.
    if (old.config.shared || this._closed) return;
    // With no other node to take them (and no fallback behind the cluster,
    // as a ReadWriteSplit's primary), queued callers are better off riding
    // out the outage in the pool's queue, as with a single pool.
    if (!this._handOff && ![...this._nodes.values()].some((n) => n !== node && n.offlineUntil === 0)) return;
    let waiting = 0;
    try {
      waiting = old._native.counts().waiting;
    } catch {
      return;
    }
    if (waiting === 0) {
      // Calls that picked the node just before it went offline reach the
      // native queue a moment later: look again.
      if (recheck.length > 0) {
        const epoch = node.epoch;
        const timer = setTimeout(() => {
          if (node.epoch === epoch && node.pool === old && !this._online(node, now())) this._releaseWaiters(node, recheck.slice(1));
        }, recheck[0]);
        timer.unref();
      }
      return;
    }
    try {
      node.pool = new Pool(node.options);
    } catch {
      return;
    }
    old.end().catch(() => {});
  }

  _removeNode(node) {
    if (this._nodes.get(node.id) !== node) return;
    this._nodes.delete(node.id);
    this._findCache.clear();
    node.pool.end().catch(() => {});
  }

  /** 'online' once a call succeeded after an offline spell, not merely when the spell ran out. */
  _nodeState(node) {
    return node.offlineUntil === 0 ? 'online' : 'offline';
  }

  /** { healthy, status, message, nodes: { id: PoolHealth + state, errorCount } } */
  health(thresholds) {
    return summarize(this._nodeHealth(thresholds), null);
  }

  _nodeHealth(thresholds) {
    const t = now();
    const nodes = {};
    for (const [id, n] of this._nodes) {
      const h = n.pool.health(thresholds);
      const state = this._nodeState(n);
      const extra = { state, errorCount: n.errorCount };
      if (state === 'offline') {
        const ms = Math.max(0, Math.ceil(n.offlineUntil - t));
        const next = ms > 0 ? `retried in ${ms} ms` : n.probing ? 'being retried' : 'retried by the next call';
        nodes[id] = { ...h, healthy: false, status: 'unhealthy', message: `Node offline after ${n.errorCount} connection errors; ${next}`, ...extra };
      } else nodes[id] = { ...h, ...extra };
    }
    return nodes;
  }

  /** { nodes: { id: PoolStats + state, errorCount, offlineForMs } } */
  stats() {
    const t = now();
    const nodes = {};
    for (const [id, n] of this._nodes) {
      nodes[id] = {
        ...n.pool.stats(),
        state: this._nodeState(n),
        errorCount: n.errorCount,
        offlineForMs: n.offlineUntil === 0 ? 0 : Math.max(0, Math.ceil(n.offlineUntil - t)),
      };
    }
    return { nodes };
  }

  _metricEntries() {
    return [...this._nodes.values()].map((n) => ({ id: n.id, pool: n.pool, online: n.offlineUntil === 0, errorCount: n.errorCount }));
  }

  /** Prometheus text for every node (labels pool and node), or the same families as JSON. */
  metrics(format) {
    const fams = clusterFamilies(this._metricEntries());
    return format === 'json' ? fams : renderText(fams);
  }
}

module.exports = { PoolCluster };
