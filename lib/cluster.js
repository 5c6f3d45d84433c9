'use strict';
// Several pools behind one object:
//
// - PoolCluster: mysql2's promise PoolCluster (add/remove/of/getConnection,
//   selectors RR/RANDOM/ORDER, glob patterns, error counting that takes a
//   node offline or out, events online/offline/remove/warn), where every node
//   is one of our pools named after its id, so metrics carry a label per node.
// - ReadWriteSplit: a Pool-shaped object that sends reads to replicas and
//   everything else (and every getConnection(), hence transactions) to the
//   primary.
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
// - cluster.query()/execute() work (mysql2's promise cluster forwards them to
//   a method its core cluster does not have).
const { EventEmitter } = require('node:events');
const { performance } = require('node:perf_hooks');
const { Pool } = require('./pool');
const errors = require('./errors');

const SELECTORS = {
  RR() {
    let i = 0;
    return (ids) => {
      const id = ids[i % ids.length];
      i = i >= 0x3fffffff ? 0 : i + 1;
      return id;
    };
  },
  RANDOM() {
    return (ids) => ids[Math.floor(Math.random() * ids.length)];
  },
  ORDER() {
    return (ids) => ids[0];
  },
};

// mysql2's texts (lib/pool_cluster.js), capital N included.
const MSG_NOEXIST = 'Pool does Not exist.';
const MSG_NONEONLINE = 'Pool does Not have online node.';

// Raised before the statement left the client: safe to run on another node.
const NOT_SENT = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'ENOTFOUND', 'EADDRNOTAVAIL',
  'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE',
  'HANDSHAKE_SSL_ERROR', 'HANDSHAKE_NO_SSL_SUPPORT', 'AUTH_SWITCH_PLUGIN_ERROR',
  'ER_CON_COUNT_ERROR',
  'POOL_CIRCUIT_OPEN', 'POOL_CLOSED', 'POOL_ACQUIRE_TIMEOUT', 'POOL_QUEUE_LIMIT', 'POOL_NO_CONNECTIONS',
]);

// The node is (or looks) unreachable: counts towards removeNodeErrorCount.
const NODE_DOWN = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'ENOTFOUND', 'EADDRNOTAVAIL',
  'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE',
  'HANDSHAKE_SSL_ERROR', 'HANDSHAKE_NO_SSL_SUPPORT',
  'PROTOCOL_CONNECTION_LOST', 'POOL_CIRCUIT_OPEN',
  'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED',
]);

/** A server error during the handshake (access denied, unknown database...). */
function handshakeError(err) {
  return err.fatal === true && err.errno != null && err.code !== 'PROTOCOL_SEQUENCE_TIMEOUT';
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

function invalid(message) {
  return errors.make('ERR_INVALID_POOL_OPTION', message, TypeError);
}

function patternRegExp(pattern) {
  // A /g or /y RegExp keeps state between test() calls: use a plain copy.
  if (pattern instanceof RegExp) return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  const source = String(pattern).replace(/[.+?^=!:${}()|[\]/\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${source}$`);
}

function nonNegative(name, v, dflt) {
  // mysql2 uses `value || default`, so 0 / undefined / null mean the default.
  if (v === undefined || v === null || v === 0) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw invalid(`Option "${name}" must be a non-negative number, got ${typeof v === 'number' ? v : typeof v}`);
  }
  return v;
}

function selectorName(s, dflt) {
  const name = s === undefined || s === null || s === '' ? dflt : String(s).toUpperCase();
  if (!Object.prototype.hasOwnProperty.call(SELECTORS, name)) {
    throw invalid(`Unknown selector ${JSON.stringify(s)}: use 'RR', 'RANDOM' or 'ORDER'`);
  }
  return name;
}

function normalizeClusterOptions(o) {
  if (o !== undefined && o !== null && typeof o !== 'object') throw invalid('PoolCluster options must be an object');
  o = o || {};
  return Object.freeze({
    canRetry: o.canRetry === undefined ? true : !!o.canRetry,
    removeNodeErrorCount: nonNegative('removeNodeErrorCount', o.removeNodeErrorCount, 5),
    restoreNodeTimeout: nonNegative('restoreNodeTimeout', o.restoreNodeTimeout, 0),
    defaultSelector: selectorName(o.defaultSelector, 'RR'),
  });
}

/** Pool options for a node: the node id is the pool name unless one is given. */
function nodePoolOptions(id, config) {
  if (typeof config === 'string') return { uri: config, name: id };
  if (!config || typeof config !== 'object') throw invalid(`Node "${id}": config must be an options object or a URI string`);
  return config.name === undefined ? { ...config, name: id } : config;
}

const now = () => performance.now();

// ---------------------------------------------------------------------------

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
    if (cluster._closed) throw errors.make('POOL_CLOSED', 'Pool is closed.');
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
    if (this._closed) throw errors.make('POOL_CLOSED', 'Pool is closed.');
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
    if (this._closed) return errors.make('POOL_CLOSED', 'Pool is closed.');
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
      waiting = old._native.counts()[4];
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

/** Overall verdict: healthy while one node is; 'warning' when some are not. */
function summarize(nodes, primaryId) {
  const ids = Object.keys(nodes);
  const good = ids.filter((id) => nodes[id].healthy);
  const calm = ids.filter((id) => nodes[id].status === 'healthy');
  let healthy = good.length > 0;
  let status = !healthy ? 'unhealthy' : calm.length === ids.length ? 'healthy' : 'warning';
  let message;
  if (ids.length === 0) message = 'No nodes';
  else message = `${good.length}/${ids.length} nodes healthy`;
  if (primaryId !== null) {
    const p = nodes[primaryId];
    if (!p || !p.healthy) {
      healthy = false;
      status = 'unhealthy';
      message = `Primary unhealthy${p ? `: ${p.message}` : ''}; ${message}`;
    }
  }
  if (ids.length > 0 && good.length < ids.length) {
    const bad = ids.filter((id) => !nodes[id].healthy).map((id) => `${id}: ${nodes[id].message}`);
    message += ` (${bad.join('; ')})`;
  }
  return { healthy, status, message, nodes };
}

// ---------------------------------------------------------------------------
// Metrics: the per-pool families from observability.js, one series per node
// with a `node` label, plus the cluster's own view of each node.

const PREFIX = 'mysql_pool_';

function clusterFamilies(entries, extra = []) {
  const { metricsJSON } = require('./observability');
  const byName = new Map();
  const out = [];
  for (const e of entries) {
    let fams;
    try {
      fams = metricsJSON(e.pool);
    } catch {
      continue;
    }
    for (const f of fams) {
      let fam = byName.get(f.name);
      if (fam === undefined) {
        fam = { name: f.name, type: f.type, help: f.help, values: [] };
        byName.set(f.name, fam);
        out.push(fam);
      }
      for (const v of f.values) {
        const labels = { pool: v.labels.pool, node: e.id, ...v.labels };
        fam.values.push(v.metricName ? { metricName: v.metricName, labels, value: v.value } : { labels, value: v.value });
      }
    }
  }
  const labelsOf = (e) => ({ pool: e.pool.name == null ? 'default' : String(e.pool.name), node: e.id });
  out.push({
    name: `${PREFIX}cluster_node_online`,
    type: 'gauge',
    help: '1 while the cluster routes to the node, 0 while it is offline.',
    values: entries.map((e) => ({ labels: labelsOf(e), value: e.online ? 1 : 0 })),
  });
  out.push({
    name: `${PREFIX}cluster_node_error_count`,
    type: 'gauge',
    help: 'Connection errors counted against the node (offline/removed at removeNodeErrorCount).',
    values: entries.map((e) => ({ labels: labelsOf(e), value: e.errorCount })),
  });
  return out.concat(extra);
}

function renderText(fams) {
  return require('./observability').renderFamilies(fams);
}

// ---------------------------------------------------------------------------
// Read detection

const READ_START = new Set(['SELECT', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'WITH']);
const WRITE_VERBS = new Set(['UPDATE', 'DELETE', 'INSERT', 'REPLACE']);
// Functions that change state or only make sense on the session that set
// something up (named locks, sequences, last insert id).
const SIDE_EFFECT_FUNCTIONS = new Set([
  'GET_LOCK', 'RELEASE_LOCK', 'RELEASE_ALL_LOCKS', 'IS_FREE_LOCK', 'IS_USED_LOCK',
  'NEXTVAL', 'SETVAL', 'LASTVAL', 'LAST_INSERT_ID',
]);

/**
 * Words of a statement outside strings, quoted identifiers and comments:
 * [{ w: UPPERCASE word, d: paren depth, call: followed by '(' }]. `more` is
 * set when a second statement follows a ';'. `exec` when the statement holds
 * a MySQL executable comment, which could hide anything.
 */
function scan(sql, firstOnly) {
  const words = [];
  let depth = 0;
  let i = 0;
  const n = sql.length;
  let more = false;
  let exec = false;
  let afterSemicolon = false;
  while (i < n) {
    const c = sql.charCodeAt(i);
    // whitespace
    if (c === 32 || (c >= 9 && c <= 13)) {
      i++;
      continue;
    }
    // comments: '-- ', '#', '/* */' (executable '/*!', '/*M!' are statements in disguise)
    if (c === 45 /* - */ && sql.charCodeAt(i + 1) === 45 && (i + 2 >= n || sql.charCodeAt(i + 2) <= 32)) {
      const e = sql.indexOf('\n', i);
      i = e === -1 ? n : e + 1;
      continue;
    }
    if (c === 35 /* # */) {
      const e = sql.indexOf('\n', i);
      i = e === -1 ? n : e + 1;
      continue;
    }
    if (c === 47 /* / */ && sql.charCodeAt(i + 1) === 42 /* * */) {
      const c2 = sql[i + 2];
      if (c2 === '!' || (c2 === 'M' && sql[i + 3] === '!')) exec = true;
      const e = sql.indexOf('*/', i + 2);
      i = e === -1 ? n : e + 2;
      continue;
    }
    if (afterSemicolon) {
      more = true;
      break;
    }
    // quoted: strings and identifiers (backslash escapes in strings; doubled quotes everywhere)
    if (c === 39 || c === 34 || c === 96) {
      const q = sql[i];
      i++;
      while (i < n) {
        const ch = sql[i];
        if (ch === '\\' && q !== '`') {
          i += 2;
          continue;
        }
        if (ch === q) {
          if (sql[i + 1] === q) {
            i += 2;
            continue;
          }
          break;
        }
        i++;
      }
      i++;
      // A statement cannot start with a quoted token; whatever it is, it is no read.
      if (firstOnly) return { words: [{ w: '', d: depth, call: false }], more, exec };
      continue;
    }
    if (c === 40 /* ( */) {
      depth++;
      i++;
      continue;
    }
    if (c === 41 /* ) */) {
      if (depth > 0) depth--;
      i++;
      continue;
    }
    if (c === 59 /* ; */) {
      afterSemicolon = true;
      i++;
      continue;
    }
    // words: letters, digits, _, $ and non-ASCII
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36 || (c >= 48 && c <= 57) || c > 127) {
      let j = i + 1;
      while (j < n) {
        const d = sql.charCodeAt(j);
        if ((d >= 65 && d <= 90) || (d >= 97 && d <= 122) || d === 95 || d === 36 || (d >= 48 && d <= 57) || d > 127) j++;
        else break;
      }
      const w = sql.slice(i, j).toUpperCase();
      let k = j;
      while (k < n && sql.charCodeAt(k) <= 32) k++;
      words.push({ w, d: depth, call: sql.charCodeAt(k) === 40 });
      i = j;
      if (firstOnly) return { words, more, exec };
      continue;
    }
    i++;
  }
  return { words, more, exec };
}

/** A SELECT that locks, writes a file/variable, or calls a session/locking function. */
function selectHasEffects(words) {
  for (let i = 0; i < words.length; i++) {
    const w = words[i].w;
    if (w === 'FOR' && i + 1 < words.length) {
      const nx = words[i + 1].w;
      if (nx === 'UPDATE' || nx === 'SHARE') return true;
    }
    if (w === 'LOCK' && words[i + 1] && words[i + 1].w === 'IN') return true;
    if (w === 'INTO') return true;
    if (w === 'VALUE' && words[i + 1] && words[i + 1].w === 'FOR' && i > 0 && (words[i - 1].w === 'NEXT' || words[i - 1].w === 'PREVIOUS')) return true;
    if (words[i].call && SIDE_EFFECT_FUNCTIONS.has(w)) return true;
  }
  return false;
}

/** EXPLAIN/DESCRIBE: plan-only is a read; EXPLAIN ANALYZE of a write runs the write. */
function explainIsRead(words) {
  let analyze = false;
  for (let i = 1; i < words.length; i++) {
    const w = words[i].w;
    if (w === 'ANALYZE') analyze = true;
    // (REPLACE( and INSERT( are also string functions.)
    else if (WRITE_VERBS.has(w) && words[i].d === 0 && !words[i].call) return !analyze;
    if (w === 'SELECT' || w === 'WITH' || w === 'TABLE') return !selectHasEffects(words.slice(i));
  }
  return true;
}

/** The statement after a WITH clause: SELECT, or UPDATE/DELETE (MySQL 8). */
function withIsRead(words) {
  for (let i = 1; i < words.length; i++) {
    const { w, d } = words[i];
    if (d !== 0) continue;
    // Locks and side effects count inside the CTE bodies too.
    if (w === 'SELECT' || w === 'TABLE' || w === 'VALUES') return !selectHasEffects(words);
    if (WRITE_VERBS.has(w) && !words[i].call) return false;
  }
  // WITH ... (SELECT ...): the main query in parentheses.
  return words.some((x) => x.w === 'SELECT') && !selectHasEffects(words);
}

const readCache = new Map();
const READ_CACHE_MAX = 1000;
const READ_CACHE_SQL_MAX = 2048;

/**
 * True if `sql` is a plain read that a replica can answer: SELECT (without
 * FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE / INTO / locking and sequence
 * functions), SHOW, DESCRIBE, EXPLAIN (not EXPLAIN ANALYZE of a write) and
 * WITH ... SELECT, after leading comments and whitespace. Anything else,
 * several statements, or an executable comment: not a read.
 */
function isReadSql(sql) {
  if (sql !== null && typeof sql === 'object') {
    if (sql.usePrimary) return false;
    sql = sql.sql;
  }
  if (typeof sql !== 'string') return false;
  const cacheable = sql.length <= READ_CACHE_SQL_MAX;
  if (cacheable) {
    const hit = readCache.get(sql);
    if (hit !== undefined) return hit;
  }
  const r = classify(sql);
  if (cacheable) {
    if (readCache.size >= READ_CACHE_MAX) readCache.clear();
    readCache.set(sql, r);
  }
  return r;
}

function classify(sql) {
  // Cheap first look: writes (the bulk of large statements) stop here.
  const head = scan(sql, true);
  if (head.words.length === 0 || !READ_START.has(head.words[0].w)) return false;
  const { words, more, exec } = scan(sql, false);
  if (more || exec || words.length === 0) return false;
  switch (words[0].w) {
    case 'SELECT':
      return !selectHasEffects(words);
    case 'SHOW':
      return true;
    case 'DESCRIBE':
    case 'DESC':
    case 'EXPLAIN':
      return explainIsRead(words);
    case 'WITH':
      return withIsRead(words);
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------
// Read/write split

const PRIMARY_ID = 'PRIMARY';

class ReadWriteSplit extends EventEmitter {
  constructor(options) {
    super();
    if (!options || typeof options !== 'object') throw invalid('createReadWriteSplit({ primary, replicas }): options object required');
    if (options.primary === undefined || options.primary === null) throw invalid('createReadWriteSplit: "primary" (pool options or URI) is required');
    const replicas = options.replicas === undefined || options.replicas === null ? [] : options.replicas;
    if (!Array.isArray(replicas)) throw invalid('createReadWriteSplit: "replicas" must be an array of pool options or URIs');
    const selector = selectorName(options.selector, 'RR');
    this._replicaCluster = new PoolCluster({
      canRetry: options.canRetry,
      removeNodeErrorCount: options.removeNodeErrorCount,
      restoreNodeTimeout: options.restoreNodeTimeout === undefined ? 5000 : options.restoreNodeTimeout,
      defaultSelector: selector,
    });
    this._replicaCluster._handOff = true;
    this._primary = new Pool(nodePoolOptions(PRIMARY_ID, options.primary));
    try {
      replicas.forEach((cfg, i) => this._replicaCluster.add(`REPLICA${i + 1}`, cfg));
    } catch (err) {
      this._primary.end().catch(() => {});
      this._replicaCluster.end().catch(() => {});
      throw err;
    }
    // The primary's config stands for the split's (timezone, flags...), as Drizzle and tools read pool.config.
    this.config = this._primary.config;
    this.name = options.name === undefined ? this._primary.name : String(options.name);
    this._reads = this._replicaCluster.of('REPLICA*', selector);
    this._routed = { primary: 0, replica: 0, fallback: 0 };
    for (const ev of ['online', 'offline', 'remove', 'warn']) {
      this._replicaCluster.on(ev, (x) => this.emit(ev, x));
    }
    this._closed = false;
  }

  get primary() {
    return this._primary;
  }

  get replicas() {
    return Object.values(this._replicaCluster.nodes);
  }

  /** True if `sql` would go to a replica (a read without `usePrimary`). */
  isRead(sql) {
    return isReadSql(sql);
  }

  _route(sql, values, forExecute) {
    const method = forExecute ? 'execute' : 'query';
    if (this._closed || this._replicaCluster._nodes.size === 0 || !isReadSql(sql)) {
      this._routed.primary++;
      return this._primary[method](sql, values);
    }
    this._routed.replica++;
    return this._reads[method](sql, values).catch((err) => {
      // No replica online, or every one refused before the statement went
      // out: the primary answers. A connection lost mid-read is not retried.
      const none = err && (err.code === 'POOL_NONEONLINE' || err.code === 'POOL_NOEXIST');
      if (this._closed || !(none || (this._replicaCluster.config.canRetry && isNotSent(err)))) throw err;
      this._routed.replica--;
      this._routed.fallback++;
      return this._primary[method](sql, values);
    });
  }

  query(sql, values) {
    return this._route(sql, values, false);
  }

  execute(sql, values) {
    return this._route(sql, values, true);
  }

  /** A primary connection: transactions and read-your-writes sessions. */
  getConnection() {
    return this._primary.getConnection();
  }

  releaseConnection(conn) {
    if (conn && typeof conn.release === 'function') conn.release();
  }

  end() {
    if (this._ending) return this._ending;
    this._closed = true;
    this._ending = Promise.all([this._primary.end(), this._replicaCluster.end()]).then(() => undefined);
    return this._ending;
  }

  async [Symbol.asyncDispose]() {
    await this.end();
  }

  escape(value) {
    return this._primary.escape(value);
  }

  escapeId(value) {
    return this._primary.escapeId(value);
  }

  format(sql, values) {
    return this._primary.format(sql, values);
  }

  _allHealth(thresholds) {
    const p = this._primary.health(thresholds);
    return { [PRIMARY_ID]: { ...p, state: 'online', errorCount: 0 }, ...this._replicaCluster._nodeHealth(thresholds) };
  }

  /** Unhealthy when the primary is; 'warning' while a replica is down. */
  health(thresholds) {
    return summarize(this._allHealth(thresholds), PRIMARY_ID);
  }

  stats() {
    const p = { ...this._primary.stats(), state: 'online', errorCount: 0, offlineForMs: 0 };
    return { nodes: { [PRIMARY_ID]: p, ...this._replicaCluster.stats().nodes }, routing: { ...this._routed } };
  }

  metrics(format) {
    const entries = [{ id: PRIMARY_ID, pool: this._primary, online: true, errorCount: 0 }, ...this._replicaCluster._metricEntries()];
    const routed = {
      name: `${PREFIX}split_statements_total`,
      type: 'counter',
      help: 'Statements routed by the read/write split: primary (writes, usePrimary), replica (reads), fallback (reads the primary answered because no replica could).',
      values: Object.entries(this._routed).map(([route, value]) => ({ labels: { split: this.name, route }, value })),
    };
    const fams = clusterFamilies(entries, [routed]);
    return format === 'json' ? fams : renderText(fams);
  }
}

function createPoolCluster(options) {
  return new PoolCluster(options);
}

function createReadWriteSplit(options) {
  return new ReadWriteSplit(options);
}

module.exports = {
  createPoolCluster,
  createReadWriteSplit,
  PoolCluster,
  PoolNamespace,
  ReadWriteSplit,
  isReadSql,
  isNodeError,
  isNotSent,
};
