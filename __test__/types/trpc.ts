// Type-level checks of createMonitoringRouter (lib/trpc.d.ts): what a tRPC
// v11 client infers for the monitoring procedures must be the concrete
// types, never `any`. Only type-checked (tsc.test.mjs), never run. Each
// `Expect<...>` line is a compile error when its check fails; IsAny guards
// make a regression of the router to `any` fail instead of passing silently.
import { initTRPC, type inferRouterInputs, type inferRouterOutputs } from '@trpc/server'
import { createMonitoringRouter, createPool, monitoringProcedures, type PgbouncerStatus, type Pool, type PoolHealth, type PoolStats } from '../../lib/index.js'
import type { createMonitoringRouter as fromDeepImport } from '../../lib/trpc.js'

type IsAny<T> = 0 extends 1 & T ? true : false
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false
type Expect<T extends true> = T

const pool = createPool('mysql://app:secret@127.0.0.1:3306/app')

// The plain case: t = initTRPC.create()
const t = initTRPC.create()
const monitoring = createMonitoringRouter({ t, pool })
export const appRouter = t.router({ monitoring, ping: t.procedure.query(() => 'pong' as const) })
type Out = inferRouterOutputs<typeof appRouter>
type In = inferRouterInputs<typeof appRouter>
type Health = Out['monitoring']['connectionPoolHealth']
type Stats = Out['monitoring']['connectionPoolStats']

export type Checks = [
  Expect<Equal<IsAny<typeof monitoring>, false>>,
  Expect<Equal<IsAny<Out['monitoring']>, false>>,
  Expect<Equal<IsAny<Health>, false>>,
  Expect<Equal<Health['status'], 'healthy' | 'warning' | 'unhealthy'>>,
  Expect<Equal<Health['healthy'], boolean>>,
  Expect<Equal<Health['poolType'], 'native'>>,
  Expect<Equal<Health['poolUtilization'], number>>,
  Expect<Equal<IsAny<Stats>, false>>,
  Expect<Equal<Stats['counts']['active'], number>>,
  Expect<Equal<Stats['latency']['queryTime']['p95'], number | null>>,
  Expect<Equal<Stats['lastConnectError'], { code: string; message: string } | null>>,
  Expect<Equal<Out['monitoring']['connectionPoolMetrics'], { contentType: string; body: string }>>,
  Expect<Equal<Out['monitoring']['pgbouncerAvailable']['port'], number | null>>,
  Expect<Equal<Out['ping'], 'pong'>>,
  // queries without input
  Expect<Equal<In['monitoring']['connectionPoolHealth'], void>>,
]

// The same router written by hand in the app has exactly the same type.
const handwritten = t.router({
  connectionPoolHealth: t.procedure.query(async (): Promise<PoolHealth> => pool.health()),
  connectionPoolStats: t.procedure.query(async (): Promise<PoolStats> => pool.stats()),
  connectionPoolMetrics: t.procedure.query(async () => ({ contentType: 'text/plain', body: pool.metrics() })),
  pgbouncerAvailable: t.procedure.query(async (): Promise<PgbouncerStatus> => monitoringProcedures(pool).pgbouncerAvailable()),
})
export type SameAsHandwritten = Expect<Equal<typeof monitoring, typeof handwritten>>

// A t with its own context and meta, and the pool passed as a function.
interface Ctx {
  userId: string | null
}
const t2 = initTRPC.context<Ctx>().meta<{ requiresAuth: boolean }>().create()
const getPool = (): Pool | undefined => pool
const monitoring2 = createMonitoringRouter({ t: t2, pool: getPool, pgbouncer: { host: 'pgbouncer', port: 6432 } })
const router2 = t2.router({ monitoring: monitoring2 })
const handwritten2 = t2.router({
  connectionPoolHealth: t2.procedure.query(async (): Promise<PoolHealth> => pool.health()),
  connectionPoolStats: t2.procedure.query(async (): Promise<PoolStats> => pool.stats()),
  connectionPoolMetrics: t2.procedure.query(async () => ({ contentType: 'text/plain', body: pool.metrics() })),
  pgbouncerAvailable: t2.procedure.query(async (): Promise<PgbouncerStatus> => monitoringProcedures(pool).pgbouncerAvailable()),
})
export type Checks2 = [
  Expect<Equal<typeof monitoring2, typeof handwritten2>>,
  Expect<Equal<inferRouterOutputs<typeof router2>['monitoring']['connectionPoolHealth'], Health>>,
]

// Server-side callers are typed too.
export async function callIt(): Promise<void> {
  const caller = t2.createCallerFactory(router2)({ userId: null })
  const h: PoolHealth = await caller.monitoring.connectionPoolHealth()
  const s: number = (await caller.monitoring.connectionPoolStats()).counters.queries
  // @ts-expect-error the status is one of three strings
  const n: number = h.status
  // @ts-expect-error no such procedure
  await caller.monitoring.connectionPoolHealthz()
  void [s, n]
}

// The deep import is the same function.
export type SameFunction = Expect<Equal<typeof fromDeepImport, typeof createMonitoringRouter>>

// createMonitoringRouter needs a tRPC instance.
// @ts-expect-error t is required
createMonitoringRouter({ pool })
