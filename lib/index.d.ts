// Types for napi-mysql-pool. The pool is typed as mysql2's promise Pool plus
// the native extras, so code written for mysql2 (and drizzle(pool) from
// drizzle-orm/mysql2) compiles unchanged. mysql2 is an optional peer: with
// it installed these build on mysql2's own types (a pool is a mysql2 Pool
// wherever one is expected); without it, on self-contained copies of the
// same types (lib/mysql2-types.d.ts picks one or the other).
import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type * as mysql from './mysql2-types.js';
import type { MonitoringRouter, MonitoringRouterOptions, TRPCInstance } from './trpc.js';

export type {
  RowDataPacket,
  ResultSetHeader,
  FieldPacket,
  OkPacket,
  ProcedureCallPacket,
  QueryResult,
  QueryOptions,
  QueryError,
  Mysql2Installed,
} from './mysql2-types.js';
export type { MonitoringRouter, MonitoringRouterOptions, MonitoringRouterRecord, TRPCInstance } from './trpc.js';

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

/** What conn.connection.query()/execute() return: awaitable, with mysql2's events and stream(). */
export interface CoreQuery extends EventEmitter, PromiseLike<[mysql.QueryResult, mysql.FieldPacket[]]> {
  /** The rows as an object-mode stream (Drizzle's iterator reads this). */
  stream(options?: { highWaterMark?: number; objectMode?: true }): Readable;
  on(event: 'error', listener: (err: mysql.QueryError) => any): this;
  on(event: 'fields', listener: (fields: mysql.FieldPacket[] | undefined, index?: number) => any): this;
  on(event: 'result', listener: (result: mysql.RowDataPacket | mysql.ResultSetHeader | any[], index?: number) => any): this;
  on(event: 'end', listener: () => any): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export type CoreQueryCallback = (err: mysql.QueryError | null, result?: any, fields?: mysql.FieldPacket[]) => any;

/**
 * The core (callback) connection behind a lent connection (`conn.connection`)
 * and the one the pool's 'connection' event passes, as far as mysql2's core
 * connection is implemented here.
 */
export interface CoreConnection extends EventEmitter {
  readonly threadId: number;
  readonly config: PoolOptions;
  query(sql: string | mysql.QueryOptions, callback?: CoreQueryCallback): CoreQuery;
  query(sql: string | mysql.QueryOptions, values: any, callback?: CoreQueryCallback): CoreQuery;
  execute(sql: string | mysql.QueryOptions, callback?: CoreQueryCallback): CoreQuery;
  execute(sql: string | mysql.QueryOptions, values: any, callback?: CoreQueryCallback): CoreQuery;
  escape(value: any): string;
  escapeId(value: string): string;
  escapeId(values: string[]): string;
  format(sql: string, values?: any | any[] | { [param: string]: any }): string;
  /** Its promise API: the lent connection it belongs to. */
  promise(): PoolConnection;
  release(): void;
  end(callback?: () => void): void;
  destroy(): void;
  [Symbol.dispose](): void;
}

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
  /**
   * Pool `query()`s and `execute()`s waiting for a connection that one free connection takes at once: it writes
   * them all, then reads their answers in order (default 8; 0 = off; at most 64; off under `resetOnRelease`).
   * Only plain SELECTs ride unless `pipelineWrites`. See README "Pipelining".
   */
  pipelining?: number;
  /**
   * Let every eligible statement ride a pipeline, not only plain SELECTs (default false). A lost connection then
   * fails every command written to it, not only the one it was running.
   */
  pipelineWrites?: boolean;
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
  /** tokio worker threads for the whole process (first pool wins; default 1). */
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
    /** Connections closed because the server answered read-only or shutting down. */
    failoverClosed: number;
    /** pool.query/execute commands run again on a fresh connection (safe retry). */
    retried: number;
    /** pool.query/execute commands written behind others on one connection (the `pipelining` option). */
    pipelined: number;
    leaks: number;
  };
  errors: Record<string, number>;
  latency: { acquireWait: LatencySummary; queryTime: LatencySummary; connectTime: LatencySummary };
  uptimeSeconds: number;
  closed: boolean;
  circuitBreakerOpen: boolean;
  lastConnectError: { code: string; message: string } | null;
  /**
   * Sizes of the bounded caches (result shapes, MariaDB JSON tables, execute() SQL texts kept by
   * number, result templates: process-wide) and their evictions.
   */
  caches: {
    shapes: number;
    shapesCapacity: number;
    shapesEvicted: number;
    jsonTables: number;
    jsonTablesCapacity: number;
    jsonTablesEvicted: number;
    sqlTexts: number;
    sqlTextsCapacity: number;
    templates: number;
    templatesCapacity: number;
    templatesEvicted: number;
  };
  [key: string]: unknown;
}

export interface LeakInfo {
  threadId: number;
  heldForMs: number;
  stack: string;
}

/**
 * The pool's events and what their listeners get (lib/pool.js emits them).
 * `pool.on('connection', (conn) => ...)` types `conn` from here.
 */
export interface PoolEvents {
  /**
   * A new connection, before its first use: the core (callback) connection,
   * as mysql2's promise pool passes it. What a listener runs on it
   * (`conn.query("SET time_zone = '+00:00'")`) runs before any command of
   * yours; `conn.promise()` is its promise API.
   */
  connection: [connection: CoreConnection];
  /** getConnection() lends this connection (a plain pool.query() emits neither acquire nor release). */
  acquire: [connection: PoolConnection];
  /** A lent connection was given back with release(). */
  release: [connection: PoolConnection];
  /** A caller has to wait: no idle connection and no room to open one. */
  enqueue: [];
  /** A lent connection was held longer than leakDetectionTimeout. */
  leak: [info: LeakInfo];
}

/** A listener for one of the pool's events. */
export type PoolListener<E extends keyof PoolEvents> = (...args: PoolEvents[E]) => void;

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
  metrics(format: 'json'): MetricFamily[];
  on<E extends keyof PoolEvents>(event: E, listener: PoolListener<E>): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once<E extends keyof PoolEvents>(event: E, listener: PoolListener<E>): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
  addListener<E extends keyof PoolEvents>(event: E, listener: PoolListener<E>): this;
  addListener(event: string | symbol, listener: (...args: any[]) => void): this;
  prependListener<E extends keyof PoolEvents>(event: E, listener: PoolListener<E>): this;
  prependListener(event: string | symbol, listener: (...args: any[]) => void): this;
  prependOnceListener<E extends keyof PoolEvents>(event: E, listener: PoolListener<E>): this;
  prependOnceListener(event: string | symbol, listener: (...args: any[]) => void): this;
  off<E extends keyof PoolEvents>(event: E, listener: PoolListener<E>): this;
  off(event: string | symbol, listener: (...args: any[]) => void): this;
  removeListener<E extends keyof PoolEvents>(event: E, listener: PoolListener<E>): this;
  removeListener(event: string | symbol, listener: (...args: any[]) => void): this;
  emit<E extends keyof PoolEvents>(event: E, ...args: PoolEvents[E]): boolean;
  emit(event: string | symbol, ...args: any[]): boolean;
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
  ERR_NOT_SUPPORTED: 'ERR_NOT_SUPPORTED';
}>;

/** For drizzle-orm/mysql-proxy: `drizzle(createProxyCallback(pool))`. */
export declare function createProxyCallback(pool: Pool): (sql: string, params: unknown[], method: 'all' | 'execute') => Promise<{ rows: any }>;

/** One metric family of pool.metrics('json') / metricsJSON(): the JSON twin of the text exposition. */
export interface MetricFamily {
  /** e.g. 'mysql_pool_connections_active' */
  name: string;
  type: 'gauge' | 'counter' | 'histogram';
  help: string;
  values: Array<{ labels: Record<string, string>; value: number; metricName?: string }>;
}

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

/**
 * tRPC router with the seed app's monitoring endpoints, built on your own
 * tRPC instance: `t.router({ monitoring: createMonitoringRouter({ t, pool }) })`.
 * With @trpc/server v11 its procedures are typed (a client sees PoolHealth,
 * PoolStats, ...; see lib/trpc.d.ts); with v10 the router is `any`.
 */
export declare function createMonitoringRouter<TT extends TRPCInstance>(options: MonitoringRouterOptions<TT>): MonitoringRouter<TT>;

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
  getConnection(): Promise<PoolConnection>;
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

export interface PoolCluster extends Omit<EventEmitter, 'on'>, ClusterObservable {
  readonly config: Required<PoolClusterOptions>;
  add(config: PoolOptions | string): void;
  add(id: string, config: PoolOptions | string): void;
  remove(pattern: string | RegExp): void;
  of(pattern?: string | RegExp, selector?: PoolClusterSelector | string): PoolNamespace;
  getConnection(pattern?: string | RegExp, selector?: PoolClusterSelector | string): Promise<PoolConnection>;
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
  metrics(format: 'json'): MetricFamily[];
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
