// Types of 'napi-mysql-pool/lib/prometheus' (lib/prometheus.js). prom-client
// types are referenced structurally so that this file compiles without it.

/** What registerPoolMetrics needs of a prom-client Registry. */
export interface PromRegistryLike {
  registerMetric(metric: unknown): void;
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
}

/** A pool from createPool(), a PoolCluster or a ReadWriteSplit (anything with metrics('json')). */
export type PoolMetricsSource = object;

export interface RegisterPoolMetricsOptions {
  /** The registry to add to (e.g. prom-client's `register` or a `new Registry()`). */
  register?: PromRegistryLike;
  /** require('prom-client'): its default `register` is used when `register` is not given. */
  client?: { register: PromRegistryLike };
}

export interface PoolMetricsRegistration {
  /** The family names added (mysql_pool_*). */
  readonly names: string[];
  /** Removes them from the registry. */
  unregister(): void;
}

/**
 * Adds the pool families (mysql_pool_*: gauges, counters, histograms, all
 * labelled `pool`) to a prom-client registry; values are read at each
 * scrape. `source` may be a function, called at every scrape. An ended pool
 * keeps reporting mysql_pool_up 0 and its last counters while the source
 * returns it. Throws an error with code ERR_METRIC_ALREADY_REGISTERED (and
 * registers nothing) when one of the names is already in the registry.
 */
export declare function registerPoolMetrics(
  source: PoolMetricsSource | PoolMetricsSource[] | (() => PoolMetricsSource | PoolMetricsSource[] | null | undefined),
  options: RegisterPoolMetricsOptions,
): PoolMetricsRegistration;
