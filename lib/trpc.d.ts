// Types for lib/trpc.js: the monitoring endpoints as a tRPC router built on
// the caller's own tRPC instance, typed so that a tRPC client sees what each
// procedure returns (inferRouterOutputs<typeof router> gives PoolHealth,
// PoolStats, ...), exactly as if the router had been written with
// t.router({ ...: t.procedure.query(...) }) in the app.
//
// @trpc/server is an optional peer. These are tRPC v11's types; without
// @trpc/server, or with v10 (which has none of these names), the router is
// typed `any`, as before, and nothing here fails to compile.

// @ts-ignore -- optional peer (v11 names): unresolved, these are error types and MonitoringRouter is any.
import type { AnyTRPCRootTypes, TRPCBuiltRouter, TRPCQueryProcedure } from '@trpc/server';
import type { PgbouncerStatus, PgbouncerTarget, PoolHealth, PoolRef, PoolStats } from './index.js';

export type { MonitoringProcedures, PgbouncerStatus, PgbouncerTarget, PoolRef } from './index.js';
export { createMonitoringRouter, monitoringProcedures, pgbouncerStatus } from './index.js';

/** What createMonitoringRouter needs of `t = initTRPC.create()` (or `initTRPC.context<Ctx>().meta<Meta>().create()`). */
export interface TRPCInstance {
  router: (...args: any[]) => unknown;
  procedure: object;
}

export interface MonitoringRouterOptions<TT extends TRPCInstance = TRPCInstance> {
  /** Your tRPC instance: the router shares its context, meta and error shape. */
  t: TT;
  /** The pool, or a function returning it (or nothing yet) for routers built before the pool exists. */
  pool: PoolRef;
  /** Only for `pgbouncerAvailable` (default: PGBOUNCER_HOST / PGBOUNCER_PORT, else "not configured"). */
  pgbouncer?: PgbouncerTarget;
}

/** The root types (ctx, meta, errorShape, transformer) of a tRPC v11 instance. */
export type RootTypesOf<TT> = TT extends { _config: { $types: infer R extends AnyTRPCRootTypes } } ? R : AnyTRPCRootTypes;

type MonitoringQuery<TRoot extends AnyTRPCRootTypes, TOutput> = TRPCQueryProcedure<{
  // biome-ignore lint/suspicious/noConfusingVoidType: what tRPC gives a procedure without input
  input: void;
  output: TOutput;
  meta: TRoot['meta'];
  errorShape: TRoot['errorShape'];
}>;

/** The router's procedures: queries without input. (A type, not an interface: tRPC's RouterRecord needs an implicit index signature.) */
export type MonitoringRouterRecord<TRoot extends AnyTRPCRootTypes> = {
  connectionPoolHealth: MonitoringQuery<TRoot, PoolHealth>;
  connectionPoolStats: MonitoringQuery<TRoot, PoolStats>;
  /** Prometheus text exposition and the content type to serve it with. */
  connectionPoolMetrics: MonitoringQuery<TRoot, { contentType: string; body: string }>;
  pgbouncerAvailable: MonitoringQuery<TRoot, PgbouncerStatus>;
};

/** What createMonitoringRouter({ t }) returns: `t.router({...})` of the four procedures. */
export type MonitoringRouter<TT extends TRPCInstance> = TRPCBuiltRouter<RootTypesOf<TT>, MonitoringRouterRecord<RootTypesOf<TT>>>;
