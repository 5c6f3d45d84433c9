'use strict';
// The pool's metric families (lib/observability.js metricsJSON) in the app's
// own prom-client registry, so one /metrics serves the app's metrics and the
// pool's:
//
//   const client = require('prom-client');
//   const { registerPoolMetrics } = require('napi-mysql-pool/lib/prometheus');
//   client.collectDefaultMetrics();
//   registerPoolMetrics(pool, { register: client.register });
//   app.get('/metrics', async (req, res) => {
//     res.set('Content-Type', client.register.contentType).end(await client.register.metrics());
//   });
//
// prom-client is never required here: a registry is anything with
// registerMetric(metric) where metric.get() returns { name, help, type,
// values, aggregator } (prom-client 13-15). Each family is one such object;
// its values are read from the native counters at scrape time, once per
// scrape for all families (nothing runs between scrapes).

const { metricsJSON } = require('./observability');
const errors = require('./errors');

const HISTOGRAM_SAMPLES = ['_bucket', '_sum', '_count'];

/** The list a source stands for now: a pool, a cluster/split, an array, or a function returning one of those. */
function resolve(source) {
  const v = typeof source === 'function' ? source() : source;
  const list = v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
  const pools = [];
  const groups = [];
  for (const x of list) {
    if (x === undefined || x === null) continue;
    if (x._native !== undefined) pools.push(x);
    // PoolCluster / ReadWriteSplit: their own families (labels pool and node).
    else if (typeof x.metrics === 'function') groups.push(x);
    else throw errors.make('ERR_INVALID_METRICS_SOURCE', 'registerPoolMetrics: expected pools (createPool), a PoolCluster or a ReadWriteSplit', TypeError);
  }
  return { pools, groups };
}

/** name -> family, merged over every pool and cluster of the source. */
function collect(source) {
  const { pools, groups } = resolve(source);
  const byName = new Map();
  const add = (fams) => {
    for (const f of fams) {
      const have = byName.get(f.name);
      if (have === undefined) byName.set(f.name, { name: f.name, type: f.type, help: f.help, values: f.values.slice() });
      else for (const v of f.values) have.values.push(v);
    }
  };
  add(metricsJSON(pools));
  for (const g of groups) add(g.metrics('json'));
  return byName;
}

/**
 * One family as prom-client sees a metric. `name` may be rewritten by the
 * registry (OpenMetrics drops a counter's `_total` and adds it back per
 * sample), so the family is looked up by `family`, never by `name`.
 */
class PoolFamily {
  constructor(family, type, help, read) {
    this.name = family;
    this.family = family;
    this.type = type;
    this.help = help;
    // prom-client's AggregatorRegistry (cluster mode): one pool per worker,
    // summed like prom-client's own metrics.
    this.aggregator = 'sum';
    this._read = read;
  }

  get() {
    const f = this._read().get(this.family);
    return { name: this.name, help: this.help, type: this.type, values: f === undefined ? [] : f.values, aggregator: this.aggregator };
  }

  // register.resetMetrics(): these mirror native counters; nothing to reset.
  reset() {}
}

function registryOf(options) {
  const o = options || {};
  const register = o.register || (o.client && o.client.register);
  if (!register || typeof register.registerMetric !== 'function' || typeof register.getSingleMetric !== 'function') {
    throw errors.make(
      'ERR_INVALID_METRICS_OPTION',
      "registerPoolMetrics: pass { register } (a prom-client Registry) or { client } (require('prom-client'))",
      TypeError,
    );
  }
  return register;
}

/**
 * Adds the pool's families (mysql_pool_*) to a prom-client registry.
 * `source`: a pool, a PoolCluster / ReadWriteSplit, an array of those, or a
 * function returning one (called at every scrape, so pools created later
 * appear). An ended pool stays, with mysql_pool_up 0 and its last counters,
 * for as long as the source returns it. Pass every pool in one call: each
 * family is one registry entry. Throws ERR_METRIC_ALREADY_REGISTERED (and
 * registers nothing) if a name is taken. Returns { names, unregister() }.
 */
function registerPoolMetrics(source, options) {
  const register = registryOf(options);
  if (source === undefined || source === null) {
    throw errors.make('ERR_INVALID_METRICS_SOURCE', 'registerPoolMetrics: pass a pool, pools, or a function returning them', TypeError);
  }
  // Family names and types: the pool families (fixed), plus whatever the
  // clusters in the source add (their node and routing families).
  const templates = new Map();
  for (const f of metricsJSON([])) templates.set(f.name, f);
  for (const f of collect(source).values()) if (!templates.has(f.name)) templates.set(f.name, f);

  const taken = [];
  for (const f of templates.values()) {
    const names = f.type === 'histogram' ? [f.name, ...HISTOGRAM_SAMPLES.map((s) => f.name + s)] : [f.name];
    for (const n of names) if (register.getSingleMetric(n) !== undefined) taken.push(n);
  }
  if (taken.length > 0) {
    throw errors.make(
      'ERR_METRIC_ALREADY_REGISTERED',
      `registerPoolMetrics: ${taken.join(', ')} already registered in this registry (register all pools in one call, or unregister() the previous one)`,
    );
  }

  // One read per scrape: the registry calls every get() in one synchronous
  // pass (metrics() and getMetricsAsJSON()), so the snapshot is kept until
  // the current microtask queue drains. Every family of a scrape then comes
  // from the same reading.
  let cached = null;
  const read = () => {
    if (cached === null) {
      cached = collect(source);
      queueMicrotask(() => {
        cached = null;
      });
    }
    return cached;
  };

  const metrics = [...templates.values()].map((f) => new PoolFamily(f.name, f.type, f.help, read));
  for (const m of metrics) register.registerMetric(m);
  return {
    names: metrics.map((m) => m.family),
    /** Removes these families from the registry (those still ours). */
    unregister() {
      for (const m of metrics) {
        if (register.getSingleMetric(m.family) === m) register.removeSingleMetric(m.family);
      }
    },
  };
}

module.exports = { registerPoolMetrics };
