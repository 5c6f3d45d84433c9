'use strict';
// mysql2's diagnostics_channel TracingChannels (mysql2 >= 3.20, its
// lib/tracing.js): `mysql2:query`, `mysql2:execute`, `mysql2:pool:connect`
// (and `mysql2:connect`, which this pool cannot publish: connections are
// opened natively, see README "Tracing"). Same names, same context shapes,
// same start/end/asyncStart/asyncEnd/error lifecycle as mysql2's
// traceCallback, so subscribers written for mysql2 work unchanged.
// Nothing is built or published unless someone subscribed.
let dc;
try {
  dc = require('node:diagnostics_channel');
} catch {
  dc = undefined;
}

const hasTracingChannel = typeof dc?.tracingChannel === 'function';
const channel = (name) => (hasTracingChannel ? dc.tracingChannel(name) : undefined);

const queryChannel = channel('mysql2:query');
const executeChannel = channel('mysql2:execute');
const connectChannel = channel('mysql2:connect');
const poolConnectChannel = channel('mysql2:pool:connect');

/** Contexts built so far: stays 0 while nobody subscribes (tested). */
const counters = { contexts: 0 };

/**
 * What this pool adds to mysql2's context, under a symbol so that the
 * context's own keys stay exactly mysql2's: { pool, sql } where `pool` is
 * the pool's name and `sql` the statement as the caller wrote it
 * (placeholders, no values; `query` has a query()'s values formatted in).
 * Read by lib/otel.js; also how a subscriber tells this pool's events from
 * mysql2's on the same channels. Symbol.for: two copies of the package agree.
 */
const POOL_INFO = Symbol.for('napi-mysql-pool.trace');

// Node >= 20 (and 18.19+) have TracingChannel#hasSubscribers; where it is
// missing, any of the five sub-channels counts.
function shouldTrace(ch) {
  if (ch === undefined) return false;
  const h = ch.hasSubscribers;
  if (typeof h === 'boolean') return h;
  return ch.start.hasSubscribers || ch.end.hasSubscribers || ch.asyncStart.hasSubscribers || ch.asyncEnd.hasSubscribers || ch.error.hasSubscribers;
}

// mysql2's getServerContext + database, in mysql2's key order.
function serverContext(cfg, ctx, sql) {
  counters.contexts++;
  ctx[POOL_INFO] = { pool: cfg.name, sql };
  ctx.database = cfg.database || '';
  if (cfg.socketPath) {
    ctx.serverAddress = cfg.socketPath;
    ctx.serverPort = undefined;
  } else {
    ctx.serverAddress = cfg.host || 'localhost';
    ctx.serverPort = cfg.port || 3306;
  }
  return ctx;
}

/**
 * { query, values, database, serverAddress, serverPort } as mysql2 builds it;
 * `sql`: the caller's statement before values were formatted in.
 */
function commandContext(cfg, query, values, sql) {
  return serverContext(cfg, { query, values }, sql);
}

/** { database, serverAddress, serverPort }: mysql2's pool:connect context. */
function poolContext(cfg) {
  return serverContext(cfg, {});
}

function runStores(ch, context, fn) {
  if (typeof ch.runStores === 'function') return ch.runStores(context, fn);
  ch.publish(context);
  return fn();
}

/**
 * Node's traceCallback lifecycle over a promise-returning `fn`: start (with
 * its stores), fn, end; when the promise settles: error (context.error) or
 * context.result = resultOf(value), then asyncStart and asyncEnd. Returns
 * fn's own promise (lib/transport.js keys streams by it).
 */
function trace(ch, context, fn, resultOf) {
  return runStores(ch.start, context, () => {
    let p;
    try {
      p = fn();
    } catch (err) {
      context.error = err;
      ch.error.publish(context);
      throw err;
    } finally {
      ch.end.publish(context);
    }
    const settle = () => runStores(ch.asyncStart, context, () => ch.asyncEnd.publish(context));
    p.then(
      (value) => {
        context.result = resultOf(value);
        settle();
      },
      (err) => {
        context.error = err;
        ch.error.publish(context);
        settle();
      },
    );
    return p;
  });
}

module.exports = {
  dc,
  hasTracingChannel,
  queryChannel,
  executeChannel,
  connectChannel,
  poolConnectChannel,
  counters,
  POOL_INFO,
  shouldTrace,
  commandContext,
  poolContext,
  trace,
};
