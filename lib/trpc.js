'use strict';
// The seed app's tRPC monitoring endpoints, built on the caller's own tRPC
// instance. @trpc/server is deliberately never required here: the user's
// `t` (initTRPC.create()) brings it, so tRPC stays an optional peer and its
// version is whatever the app already uses.

const net = require('node:net');
const { health, stats, metricsText, PROMETHEUS_CONTENT_TYPE } = require('./observability.js');

const PGBOUNCER_DEFAULT_PORT = 6432;
const PROBE_TIMEOUT_MS = 1000;

// `pool` may be a pool or a function returning one (or nothing yet), so the
// router can be built before the pool exists, as in the seed app where the
// pool is created at server start-up.
function resolvePool(pool) {
  return typeof pool === 'function' ? pool() : pool;
}

function pgbouncerTarget(pgbouncer) {
  const env = process.env;
  const host = (pgbouncer && pgbouncer.host) || env.PGBOUNCER_HOST || null;
  const rawPort = (pgbouncer && pgbouncer.port) ?? env.PGBOUNCER_PORT;
  if (!host && rawPort == null) return { configured: false, host: null, port: null };
  const port = rawPort == null || rawPort === '' ? PGBOUNCER_DEFAULT_PORT : Number(rawPort);
  return { configured: true, host: host || '127.0.0.1', port };
}

function probe(host, port, timeoutMs) {
  return new Promise((resolve) => {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      resolve({ ok: false, error: `invalid port ${port}` });
      return;
    }
    const socket = net.connect({ host, port });
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    socket.once('connect', () => finish({ ok: true }));
    socket.once('error', (e) => finish({ ok: false, error: e.code || e.message }));
  });
}

/**
 * Kept for compatibility with the seed's `pgbouncerAvailable` endpoint. This
 * package replaces PgBouncer, so "not configured" is the normal answer; when
 * one is configured we only check that something accepts TCP on its port.
 */
async function pgbouncerStatus(pgbouncer, timeoutMs = PROBE_TIMEOUT_MS) {
  const { configured, host, port } = pgbouncerTarget(pgbouncer);
  if (!configured) {
    return {
      available: false,
      configured: false,
      host: null,
      port: null,
      message: 'PgBouncer not configured; using the native application-level pool',
    };
  }
  const r = await probe(host, port, timeoutMs);
  return {
    available: r.ok,
    configured: true,
    host,
    port,
    message: r.ok ? `PgBouncer reachable at ${host}:${port}` : `PgBouncer not reachable at ${host}:${port} (${r.error})`,
  };
}

/**
 * Plain async functions behind each endpoint, for apps without tRPC.
 * connectionPoolMetrics returns { contentType, body } rather than a bare
 * string so an HTTP layer can serve it to Prometheus with the right header.
 */
function monitoringProcedures(pool, options = {}) {
  const current = () => resolvePool(pool);
  return {
    connectionPoolHealth: async () => health(current()),
    connectionPoolStats: async () => {
      const p = current();
      if (!p) throw new Error('Connection pool not initialized');
      return stats(p);
    },
    connectionPoolMetrics: async () => {
      const p = current();
      return { contentType: PROMETHEUS_CONTENT_TYPE, body: metricsText(p ? [p] : []) };
    },
    pgbouncerAvailable: async () => pgbouncerStatus(options.pgbouncer),
  };
}

/**
 * t.router({ connectionPoolHealth, connectionPoolStats, connectionPoolMetrics,
 * pgbouncerAvailable }), all queries without input. Mount it where the seed
 * mounted its monitoring router, e.g. appRouter = t.router({ monitoring }).
 */
function createMonitoringRouter({ t, pool, pgbouncer } = {}) {
  if (!t || typeof t.router !== 'function' || !t.procedure) {
    throw new TypeError('createMonitoringRouter: pass { t } where t = initTRPC.create()');
  }
  const p = monitoringProcedures(pool, { pgbouncer });
  return t.router({
    connectionPoolHealth: t.procedure.query(() => p.connectionPoolHealth()),
    connectionPoolStats: t.procedure.query(() => p.connectionPoolStats()),
    connectionPoolMetrics: t.procedure.query(() => p.connectionPoolMetrics()),
    pgbouncerAvailable: t.procedure.query(() => p.pgbouncerAvailable()),
  });
}

module.exports = { createMonitoringRouter, monitoringProcedures, pgbouncerStatus };
