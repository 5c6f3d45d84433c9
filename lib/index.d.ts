// Types for napi-mysql-pool. The pool is typed as mysql2's promise Pool plus
// the native extras, so code written for mysql2 (and drizzle(pool) from
// drizzle-orm/mysql2) compiles unchanged. Requires mysql2's types (keep
// mysql2 installed: drizzle-orm/mysql2 imports it anyway).
import type * as mysql from 'mysql2/promise';

export type {
  RowDataPacket,
  ResultSetHeader,
  FieldPacket,
  OkPacket,
  ProcedureCallPacket,
  QueryResult,
  QueryOptions,
} from 'mysql2/promise';

/** A value of one batch row (bound by execute()'s rules: objects and arrays as JSON). */
export type BatchValue = string | number | bigint | boolean | Date | Buffer | Uint8Array | null | { [key: string]: unknown } | unknown[];

/**
 * pool.batch()/conn.batch() rows: arrays of values in placeholder order,
 * objects by name with `namedPlaceholders`, or bare values when the
 * statement has exactly one placeholder.
 */
export type BatchRows = ReadonlyArray<readonly BatchValue[] | { readonly [name: string]: BatchValue } | BatchValue>;

export interface Batchable {
  /**
   * One INSERT/REPLACE/UPDATE/DELETE with `?` placeholders, run for every
   * row in few round trips: INSERT/REPLACE ... VALUES as multi-row
   * statements under max_allowed_packet, other statements one execute()
   * per row. Resolves to one header: summed affectedRows (and changedRows,
   * warningStatus), the first insertId. README: "Bulk writes".
   */
  batch(sql: string | mysql.QueryOptions, rows: BatchRows): Promise<mysql.ResultSetHeader>;
  batch(options: mysql.QueryOptions & { values: BatchRows }): Promise<mysql.ResultSetHeader>;
}

/** mysql2's PoolConnection plus batch(): inside your transaction, commit and rollback stay yours. */
export interface PoolConnection extends mysql.PoolConnection, Batchable {}

export interface SslOptions {
  /** PEM CA certificate(s). Replaces the default (Mozilla) root store when given. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** PEM client certificate chain and key, for `REQUIRE X509` accounts. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Default true: the server certificate must chain to a trusted CA. */
  rejectUnauthorized?: boolean;
  /** Default true (when rejectUnauthorized): the certificate must match the host name. */
  verifyIdentity?: boolean;
  /** Name to verify instead of `host` (e.g. when connecting by IP). */
  servername?: string;
  /** TLS 1.2 and 1.3 are always both offered: a floor at or below TLS 1.2 is met as given;
   * 'TLSv1.3' (one version only) is refused with ERR_UNSUPPORTED_OPTION. */
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2';
  /** 'TLSv1.3' only: a lower ceiling would pin TLS 1.2 or go below it, and is refused. */
  maxVersion?: 'TLSv1.3';
}

export interface HealthThresholds {
  /** Percent of connectionLimit in use at which status becomes 'warning' (default 90). */
  utilizationWarning?: number;
  /** Queued requests at which status becomes 'warning' (default 50). */
  waitingWarning?: number;
}

/** A credential, or a function called for every new connection (rotating tokens). */
export type Credential = string | (() => string | Promise<string>);

export interface PoolOptions extends Omit<mysql.PoolOptions, 'resetOnRelease' | 'ssl' | 'stream' | 'authPlugins' | 'flags' | 'user' | 'password'> {
  ssl?: SslOptions;
  /** As mysql2, or a function called for every new connection (not with `shared`). */
  user?: Credential;
  /** As mysql2, or a function called for every new connection (IAM tokens, Vault leases; not with `shared`). */
  password?: Credential;
  /** false (default, as mysql2): no reset. 'auto': reset getConnection()
   * connections on release and roll back transactions left open by
   * pool.query(); true/'always': reset on every release; 'never' = false. */
  resetOnRelease?: boolean | 'auto' | 'always' | 'never';
  /** Also close connections idle longer than idleTimeout when maxIdle =
   * connectionLimit (mysql2 reaps only when maxIdle < connectionLimit). Default false. */
  reapIdle?: boolean;
  /** Cut a command that gets no packet from the server for this long (ms,
   * default 0 = off): PROTOCOL_SEQUENCE_TIMEOUT, connection closed. */
  socketTimeout?: number;
  /** As mysql2: conn.end() on a lent connection closes it and takes it out of
   * the pool instead of releasing it (default false). */
  gracefulEnd?: boolean;
  /** Max ms to wait for a connection (default 10000; 0 = forever). */
  acquireTimeout?: number;
  /** Connections kept open even when idle (default 0). */
  minIdle?: number;
  /** Close connections this many ms after they opened, minus up to 10% jitter (default 0 = never). */
  maxLifetime?: number;
  /** Ping idle connections this often (ms, default 0 = off). */
  idlePingInterval?: number;
  /** Ping a connection before lending it if it has been idle this long (ms, default 500). */
  validateAfterIdle?: number;
  /** Consecutive connect failures that open the circuit breaker (default 3; 0 = off). */
  circuitBreakerThreshold?: number;
  /** How long the breaker stays open before a retry is allowed (ms, default 1000). */
  circuitBreakerReset?: number;
  /** Warn (event 'leak' + process warning) when a connection is held longer (ms, default 0 = off). */
  leakDetectionTimeout?: number;
  /** Grace period for in-flight work in end() (ms, default 5000). */
  endTimeout?: number;
  /** Label for metrics (default 'default'); with `shared`, the name threads attach by. */
  name?: string;
  /** Share one native pool across worker_threads by `name` (default false). */
  shared?: boolean;
  /** tokio worker threads for the whole process (first pool wins; default 2). */
  workerThreads?: number;
  healthThresholds?: HealthThresholds;
  /** SQL run on every new connection. */
  initSql?: string[];
  /**
   * MariaDB only (default true): parse JSON columns like mysql2 does. MariaDB
   * stores JSON as text with a `CHECK (json_valid(col))`; the pool looks each
   * table's checks up once in information_schema (on a short-lived side
   * connection, cached 60 s, cleared when this pool runs DDL). JSON computed by
   * expressions, views and temporary tables stays text. `false` turns it off.
   */
  mariadbJsonColumns?: boolean;
}

export interface PoolHealth {
  healthy: boolean;
  status: 'healthy' | 'warning' | 'unhealthy';
  activeConnections: number;
  idleConnections: number;
  totalConnections: number;
  waitingClients: number;
  /** Percent of connectionLimit in use. */
  poolUtilization: number;
  message: string;
  poolType: 'native';
}

/** Seconds; null until something was observed. */
export interface LatencySummary {
  count: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface PoolStats {
  name: string;
  counts: { total: number; active: number; idle: number; connecting: number; waiting: number; limit: number };
  config: Record<string, unknown>;
  counters: {
    acquired: number;
    released: number;
    created: number;
    destroyed: number;
    timedOut: number;
    rejected: number;
    queries: number;
    connectFailures: number;
    validationFailures: number;
    resets: number;
    leaks: number;
  };
  errors: Record<string, number>;
  latency: { acquireWait: LatencySummary; queryTime: LatencySummary; connectTime: LatencySummary };
  uptimeSeconds: number;
  closed: boolean;
  circuitBreakerOpen: boolean;
  lastConnectError: { code: string; message: string } | null;
  [key: string]: unknown;
}

export interface LeakInfo {
  threadId: number;
  heldForMs: number;
  stack: string;
}

export interface Pool extends mysql.Pool, Batchable {
  readonly name: string;
  getConnection(): Promise<PoolConnection>;
  /** Seed-compatible health summary. */
  health(thresholds?: HealthThresholds): PoolHealth;
  /** Counts, limits, config (no password), counters and latency percentiles. */
  stats(): PoolStats;
  /** Prometheus text exposition (default) or the same data as JSON. */
  metrics(): string;
  metrics(format: 'text'): string;
  metrics(format: 'json'): unknown[];
  on(event: 'leak', listener: (info: LeakInfo) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export declare const Pool: { new (options: PoolOptions | string): Pool; prototype: Pool };

/** mysql2-compatible: createPool(options | 'mysql://user:pass@host:port/db'). */
export declare function createPool(options: PoolOptions | string): Pool;

export declare function format(sql: string, values?: unknown, stringifyObjects?: boolean, timezone?: string): string;
// biome-ignore lint/suspicious/noShadowRestrictedNames: mysql2's API name
export declare function escape(value: unknown, stringifyObjects?: boolean, timezone?: string): string;
export declare function escapeId(value: string | string[], forbidQualified?: boolean): string;
export declare function raw(sql: string): { toSqlString(): string };

export declare const Types: Readonly<Record<string, number>>;

export declare const errorCodes: Readonly<{
  POOL_CLOSED: 'POOL_CLOSED';
  POOL_QUEUE_LIMIT: 'POOL_QUEUE_LIMIT';
  POOL_NO_CONNECTIONS: 'POOL_NO_CONNECTIONS';
  POOL_ACQUIRE_TIMEOUT: 'POOL_ACQUIRE_TIMEOUT';
  POOL_CIRCUIT_OPEN: 'POOL_CIRCUIT_OPEN';
  ERR_CONNECTION_RELEASED: 'ERR_CONNECTION_RELEASED';
  ERR_INVALID_POOL_OPTION: 'ERR_INVALID_POOL_OPTION';
  ERR_UNSUPPORTED_OPTION: 'ERR_UNSUPPORTED_OPTION';
  ERR_INVALID_QUERY: 'ERR_INVALID_QUERY';
  ERR_INVALID_PARAMETER: 'ERR_INVALID_PARAMETER';
  ERR_NATIVE_PANIC: 'ERR_NATIVE_PANIC';
}>;

/** For drizzle-orm/mysql-proxy: `drizzle(createProxyCallback(pool))`. */
export declare function createProxyCallback(pool: Pool): (sql: string, params: unknown[], method: 'all' | 'execute') => Promise<{ rows: any }>;

/** An http/express/fastify handler serving Prometheus metrics for one or more pools. */
export declare function metricsHandler(pools: Pool | Pool[]): (req: any, res: any) => void;
/** Prometheus text exposition for one or more pools. */
export declare function metricsText(pools: Pool | Pool[]): string;

export interface PgbouncerTarget {
  host?: string;
  port?: number | string;
}
export interface PgbouncerStatus {
  available: boolean;
  configured: boolean;
  host: string | null;
  port: number | null;
  message: string;
}
export type PoolRef = Pool | (() => Pool | null | undefined);
export interface MonitoringProcedures {
  connectionPoolHealth(): Promise<PoolHealth>;
  connectionPoolStats(): Promise<PoolStats>;
  connectionPoolMetrics(): Promise<{ contentType: string; body: string }>;
  pgbouncerAvailable(): Promise<PgbouncerStatus>;
}
/** The monitoring endpoints as plain async functions (no tRPC needed). */
export declare function monitoringProcedures(pool: PoolRef, options?: { pgbouncer?: PgbouncerTarget }): MonitoringProcedures;
/** Whether an external pooler (PgBouncer/ProxySQL) answers on host:port within 1 s. */
export declare function pgbouncerStatus(pgbouncer?: PgbouncerTarget, timeoutMs?: number): Promise<PgbouncerStatus>;

/** tRPC router with the seed app's monitoring endpoints (tRPC is an optional peer). */
/**
 * tRPC router with the seed app's monitoring endpoints (tRPC is an optional
 * peer). Typed loosely because @trpc/server's types are not a dependency;
 * `monitoringProcedures` gives the typed functions behind it.
 */
export declare function createMonitoringRouter(options: { t: any; pool: PoolRef; pgbouncer?: PgbouncerTarget }): any;

// ---------------------------------------------------------------------------
// Pool clusters (mysql2's PoolCluster) and read/write splitting.

export type PoolClusterSelector = 'RR' | 'RANDOM' | 'ORDER';

export interface PoolClusterOptions {
  /** Retry a call on another node after a connection error (default true). */
  canRetry?: boolean;
  /** Connection errors after which a node is taken out (default 5). */
  removeNodeErrorCount?: number;
  /** ms a failing node stays offline before it is tried again; 0 (default) removes it for good. */
  restoreNodeTimeout?: number;
  /** Selector for of()/getConnection() without one (default 'RR'). */
  defaultSelector?: PoolClusterSelector;
}

export interface PoolNamespace extends mysql.PoolNamespace {
  getConnection(): Promise<mysql.PoolConnection>;
}

export interface ClusterNodeHealth extends PoolHealth {
  state: 'online' | 'offline';
  errorCount: number;
}

export interface ClusterHealth {
  /** True while at least one online node is healthy. */
  healthy: boolean;
  status: 'healthy' | 'warning' | 'unhealthy';
  message: string;
  nodes: Record<string, ClusterNodeHealth>;
}

export interface ClusterNodeStats extends PoolStats {
  state: 'online' | 'offline';
  errorCount: number;
  /** ms until an offline node is tried again (0 when online, or when the next call will try it). */
  offlineForMs: number;
}

export interface ClusterStats {
  nodes: Record<string, ClusterNodeStats>;
}

export interface PoolCluster extends Omit<NodeJS.EventEmitter, 'on'>, ClusterObservable {
  readonly config: Required<PoolClusterOptions>;
  add(config: PoolOptions | string): void;
  add(id: string, config: PoolOptions | string): void;
  remove(pattern: string | RegExp): void;
  of(pattern?: string | RegExp, selector?: PoolClusterSelector | string): PoolNamespace;
  getConnection(pattern?: string | RegExp, selector?: PoolClusterSelector | string): Promise<mysql.PoolConnection>;
  query: mysql.Pool['query'];
  execute: mysql.Pool['execute'];
  end(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  /** The node pools by id. */
  readonly nodes: Readonly<Record<string, Pool>>;
}

/** Health, stats, metrics and node events shared by PoolCluster and ReadWriteSplit. */
export interface ClusterObservable {
  health(thresholds?: HealthThresholds): ClusterHealth;
  stats(): ClusterStats;
  /** Prometheus text for every node (labels `pool` and `node`), or the same as JSON. */
  metrics(): string;
  metrics(format: 'text'): string;
  metrics(format: 'json'): unknown[];
  on(event: 'online' | 'offline' | 'remove', listener: (nodeId: string) => void): this;
  on(event: 'warn', listener: (err: Error) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export declare const PoolCluster: { new (options?: PoolClusterOptions): PoolCluster; prototype: PoolCluster };

/** mysql2-compatible promise PoolCluster; every node is one of our pools, named by its id. */
export declare function createPoolCluster(options?: PoolClusterOptions): PoolCluster;

export interface ReadWriteSplitOptions {
  primary: PoolOptions | string;
  replicas?: Array<PoolOptions | string>;
  /** How reads pick a replica (default 'RR'). */
  selector?: PoolClusterSelector;
  /** ms an unreachable replica stays out of rotation (default 5000). */
  restoreNodeTimeout?: number;
  /** Connection errors after which a replica goes offline (default 5). */
  removeNodeErrorCount?: number;
  /** Retry a read on another replica / the primary after a connection error (default true). */
  canRetry?: boolean;
}

export interface ReadWriteSplit extends Omit<mysql.Pool, 'on'>, ClusterObservable {
  readonly name: string;
  readonly primary: Pool;
  readonly replicas: Pool[];
  /** True if the SQL would be sent to a replica. */
  isRead(sql: string | { sql: string; usePrimary?: boolean }): boolean;
}

/**
 * Writes, getConnection() and transactions go to the primary; reads
 * (SELECT/SHOW/DESCRIBE/EXPLAIN/WITH...SELECT, not locking reads) to the
 * replicas, falling back to the primary. `{ sql, usePrimary: true }` forces the primary.
 */
export declare function createReadWriteSplit(options: ReadWriteSplitOptions): ReadWriteSplit;
