'use strict';
// A Pool-shaped object that sends reads (read-classifier.js) to replicas and
// everything else, every getConnection() and hence every transaction, to the
// primary. The replicas are a PoolCluster, so they fail over as its nodes do;
// reads no replica can take go to the primary.
const { EventEmitter } = require('node:events');
const { Pool } = require('../pool');
const { PoolCluster } = require('./pool-cluster');
const { invalid, selectorName, nodePoolOptions } = require('./options');
const { isNotSent } = require('./failover');
const { isReadSql } = require('./read-classifier');
const { summarize } = require('./health');
const { PREFIX, clusterFamilies, renderText } = require('./metrics');

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

module.exports = { ReadWriteSplit };
