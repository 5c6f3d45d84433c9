// Types for lib/observability.js (`require('napi-mysql-pool/lib/observability')`,
// as monitoring/README.md shows). pool.health(), pool.stats() and
// pool.metrics() are the same functions; metricsText and metricsHandler are
// also exported by the package itself.
import type { HealthThresholds, MetricFamily, Pool, PoolHealth, PoolStats } from './index.js';

export type { HealthThresholds, MetricFamily, PoolHealth, PoolStats } from './index.js';
export { metricsHandler, metricsText } from './index.js';

/** Health summary; a missing pool (null/undefined) reads as unhealthy, "Connection pool not initialized". */
export declare function health(pool: Pool | null | undefined, thresholds?: HealthThresholds): PoolHealth;
/** Counts, limits, config (no secrets, TLS summarized), counters, errors by code, latency percentiles. */
export declare function stats(pool: Pool): PoolStats;
/** The metric families of one pool or several, as JSON (what metricsHandler serves for Accept: application/json). */
export declare function metricsJSON(pools: Pool | Pool[]): MetricFamily[];
/** Metric families (metricsJSON's shape) as Prometheus text. */
export declare function renderFamilies(families: MetricFamily[]): string;
/** Estimate quantile q (0..1) from non-cumulative histogram bucket counts; null when empty. */
export declare function quantile(q: number, buckets: ArrayLike<number>, bounds?: ArrayLike<number>): number | null;
/** A pool config without credentials, TLS reduced to a summary. */
export declare function safeConfig(config: unknown): Record<string, unknown>;
/** 'text/plain; version=0.0.4; charset=utf-8' */
export declare const PROMETHEUS_CONTENT_TYPE: string;
/** The default health thresholds. */
export declare const DEFAULT_THRESHOLDS: Readonly<Required<HealthThresholds>>;
