'use strict';
// The promise pool: mysql2's API over the native pool. A call is prepared
// (lib/command.js), sent through this pool's transport (lib/transport.js,
// which owns ids, pending promises, batching and decoding) and answered
// there. This file keeps no pool state beyond that: counts and policy live
// in the native pool.
const { EventEmitter } = require('node:events');
const util = require('node:util');
const SqlEscaper = require('sql-escaper');
const { NativePool } = require('./native.js');
const { normalize, nativeConfig, shareKey } = require('./config');
const errors = require('./errors');
const { CorePoolView } = require('./corepool');
const { prepare } = require('./command');
const { Transport } = require('./transport');
const batch = require('./batch');
const tracing = require('./tracing');
const { FLAG } = require('./wire');

// Wake JS through a libuv async handle (src/wake.rs) under Node, where
// libuv is the event loop; Bun and Deno get the threadsafe function.
// NAPI_MYSQL_POOL_WAKE=tsfn forces the latter (a comparison, a workaround).
const UV_WAKE = !process.versions.bun && !process.versions.deno && process.env.NAPI_MYSQL_POOL_WAKE !== 'tsfn';

const rowsOf = (r) => r[0];
const coreOf = (conn) => conn.connection;
// A command refused before it was sent (still traced when traced).
const failed = (err, traced) => (traced ? traced(null, () => Promise.reject(err)) : Promise.reject(err));

class Pool extends EventEmitter {
  constructor(options) {
    super();
    const cfg = normalize(options);
    this.config = cfg;
    this.name = cfg.name;
    this._closed = false;
    this._ending = null;
    this._js = { leaks: 0 };
    this._lent = new Set();
    // A 'connection' listener makes the native pool show each new connection
    // to JS before its first use (see _announce).
    this.on('newListener', (event) => {
      if (event === 'connection' && this.listenerCount('connection') === 0) this._native.setConnectionHook(true);
    });
    this.on('removeListener', (event) => {
      if (event === 'connection' && this.listenerCount('connection') === 0) this._native.setConnectionHook(false);
    });
    this._transport = new Transport(
      cfg,
      (connId, threadId) => this._announce(connId, threadId),
      (request) => this._supplyCredentials(request),
    );
    // user/password as functions: called for every new connection.
    const dynamic = typeof cfg.user === 'function' || typeof cfg.password === 'function';
    const transport = this._transport;
    try {
      this._native = new NativePool(nativeConfig(cfg), transport.wakeCallback(), cfg.workerThreads, shareKey(cfg), dynamic, UV_WAKE);
      transport.attach(this._native);
    } catch (err) {
      // Native setup errors arrive as "CODE: message".
      const m = /^([A-Z_]+): ([\s\S]*)$/.exec(err.message);
      throw m ? errors.make(m[1], m[2], TypeError) : err;
    }
  }

  /**
   * A new connection before its first use, lent to the 'connection' event
   * as mysql2 does: what the handlers send on it runs first, then it goes to
   * the command that was waiting for it (op 3, queued behind their commands).
   */
  _announce(connId, threadId) {
    const { PoolConnection } = require('./connection');
    const conn = new PoolConnection(this, connId, threadId, null, true);
    try {
      // mysql2's promise pool passes its core connection (callback API).
      this.emit('connection', conn.connection);
    } catch (err) {
      // Thrown as from a listener in mysql2, but after this batch is done.
      process.nextTick(() => {
        throw err;
      });
    } finally {
      conn._released = true;
      this._transport.handBack(connId);
    }
  }

  /**
   * Calls the user/password functions for one new connection (they may
   * return promises) and hands the values to the native pool for that
   * handshake only. A failure reaches the caller waiting for the connection
   * as ERR_CREDENTIALS; the values never appear in errors or stats.
   */
  async _supplyCredentials(request) {
    try {
      const { user, password } = this.config;
      const u = typeof user === 'function' ? await user() : undefined;
      const p = typeof password === 'function' ? await password() : undefined;
      if (u !== undefined && typeof u !== 'string') throw new TypeError('the user function must return a string');
      if (p !== undefined && p !== null && typeof p !== 'string') throw new TypeError('the password function must return a string');
      this._native.provideCredentials(request, u ?? null, p ?? null);
    } catch (err) {
      const why = err && typeof err.message === 'string' ? err.message : String(err);
      try {
        this._native.failCredentials(request, `The credentials function failed: ${why}`);
      } catch {
        // the pool is gone; nobody waits
      }
    }
  }

  /** mysql2's promise pool property: its promise implementation (here always the built-in one). */
  get Promise() {
    return Promise;
  }

  _closedError() {
    return errors.closed();
  }

  /**
   * Sends one command; connId 0 = any pooled connection. Every query and
   * execute (pool, lent connection, core connection) passes here, so this
   * is where mysql2:query / mysql2:execute are published (lib/tracing.js).
   */
  _send(connId, sql, values, forExecute) {
    const ch = forExecute ? tracing.executeChannel : tracing.queryChannel;
    if (!tracing.shouldTrace(ch)) return this._sendNow(connId, sql, values, forExecute, null);
    // mysql2's context: `query` is the SQL as sent (a query's values
    // formatted in), `values` what the caller passed.
    const given = values === undefined && sql !== null && typeof sql === 'object' ? sql.values : values;
    const text = sql !== null && typeof sql === 'object' ? sql.sql : sql;
    return this._sendNow(connId, sql, values, forExecute, (q, go) => {
      const ctx = tracing.commandContext(this.config, q ? q.sql : text, given, text);
      if (q && connId === 0) {
        // The native pool reports this command's wait for a connection.
        q.flags |= FLAG.POOL_WAIT;
        q.traceInfo = ctx[tracing.POOL_INFO];
      }
      return tracing.trace(ch, ctx, go, rowsOf);
    });
  }

  /** `traced(q, go)`, when tracing: runs go() (the send) inside the trace. */
  _sendNow(connId, sql, values, forExecute, traced) {
    // During end()'s grace period a lent connection may still finish its work.
    if (this._closed && (connId === 0 || this._transport.ended)) return failed(this._closedError(), traced);
    let q;
    try {
      q = prepare(this.config, sql, values, forExecute);
    } catch (err) {
      if (typeof err.code === 'string') return failed(err, traced);
      // Values that cannot be encoded (cyclic objects, BigInt inside JSON,
      // null-prototype objects): a clear error with a code, never a crash.
      const e = errors.make('ERR_INVALID_PARAMETER', `Cannot encode the query values: ${err.message}`, TypeError);
      e.cause = err;
      return failed(e, traced);
    }
    if (connId === 0 && this.listenerCount('enqueue') > 0) {
      // A throwing listener fails this call (as in mysql2), nothing is queued.
      try {
        this._maybeEmitEnqueue();
      } catch (err) {
        return failed(err, traced);
      }
    }
    if (traced) return traced(q, () => this._transport.send(connId, q, forExecute));
    return this._transport.send(connId, q, forExecute);
  }

  _maybeEmitEnqueue() {
    const c = this._native.counts();
    if (c.idle + c.returning === 0 && c.total >= c.limit) this.emit('enqueue');
  }

  /** Simple command on any pooled connection: Promise<[rows, fields]>. */
  query(sql, values) {
    return this._send(0, sql, values, false);
  }

  /** Prepared statement (cached per connection): Promise<[rows, fields]>. */
  execute(sql, values) {
    return this._send(0, sql, values, true);
  }

  /**
   * One INSERT/REPLACE/UPDATE/DELETE with `?` placeholders, run for every
   * row of `rows` in few round trips, atomically: Promise<ResultSetHeader>
   * with the summed counts (lib/batch.js; README "Bulk writes").
   */
  batch(sql, rows) {
    return batch.poolBatch(this, sql, rows);
  }

  /**
   * A dedicated connection; call release() when done. Published as
   * mysql2:pool:connect (result: the core connection, as in mysql2).
   */
  getConnection() {
    if (!tracing.shouldTrace(tracing.poolConnectChannel)) return this._getConnection();
    return tracing.trace(tracing.poolConnectChannel, tracing.poolContext(this.config), () => this._getConnection(), coreOf);
  }

  _getConnection() {
    if (this._closed) return Promise.reject(this._closedError());
    if (this.listenerCount('enqueue') > 0) {
      try {
        this._maybeEmitEnqueue();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    // The caller's stack, for leak reports (only when leak detection is on).
    const takenAt = this.config.leakDetectionTimeout > 0 ? new Error('Connection leak').stack.split('\n').slice(2).join('\n') : null;
    return this._transport.lend().then(([connId, threadId]) => {
      const { PoolConnection } = require('./connection');
      const conn = new PoolConnection(this, connId, threadId, takenAt);
      this._lent.add(conn);
      try {
        this.emit('acquire', conn);
      } catch (err) {
        // A throwing 'acquire' listener fails this getConnection(); the
        // connection goes back instead of leaking.
        conn.release();
        throw err;
      }
      return conn;
    });
  }

  releaseConnection(conn) {
    if (conn && typeof conn.release === 'function') conn.release();
  }

  /**
   * Stops the pool: waiters are rejected, idle connections closed, lent and
   * in-flight ones get `endTimeout` ms (default 5000) to finish. Safe to call
   * more than once.
   */
  end() {
    if (this._ending) return this._ending;
    this._closed = true;
    for (const conn of this._lent) conn._stopLeakTimer();
    this._ending = this._transport.end(this.config.endTimeout);
    return this._ending;
  }

  async [Symbol.asyncDispose]() {
    await this.end();
  }

  escape(value) {
    return errors.coded(() => SqlEscaper.escape(value, false, this.config.timezone));
  }

  escapeId(value) {
    return errors.coded(() => SqlEscaper.escapeId(value, false));
  }

  format(sql, values) {
    return errors.coded(() => SqlEscaper.format(sql, values, this.config.stringifyObjects, this.config.timezone));
  }

  /** What util.inspect / console.log show: no secrets, no native handles. */
  [util.inspect.custom](depth, options, inspect) {
    const view = { name: this.name, closed: this._closed, config: this.config };
    try {
      view.counts = require('./observability').stats(this).counts;
    } catch {
      // a pool being torn down: the rest still says what it is
    }
    return `Pool ${inspect(view, { ...options, depth: options.depth === null ? null : Math.max(0, options.depth - 1) })}`;
  }

  /** mysql2's `pool.pool`, as far as monitoring code reads it (lib/corepool.js). */
  get pool() {
    if (this._corePool === undefined) this._corePool = new CorePoolView(this);
    return this._corePool;
  }

  health(thresholds) {
    return require('./observability').health(this, thresholds);
  }

  stats() {
    return require('./observability').stats(this);
  }

  metrics(format) {
    const o = require('./observability');
    return format === 'json' ? o.metricsJSON(this) : o.metricsText(this);
  }
}

module.exports = { Pool };
