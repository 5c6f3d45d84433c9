'use strict';
// A connection lent by getConnection(): mysql2's PromisePoolConnection, plus
// `.connection` (mysql2's core connection) whose query().stream() Drizzle's
// iterator uses. Commands on one connection run in order on the native side.
const { EventEmitter } = require('node:events');
const { Readable } = require('node:stream');
const errors = require('./errors');

class PoolConnection extends EventEmitter {
  /** `announced`: shown to a 'connection' listener; the pool takes it back. */
  constructor(pool, connId, threadId, takenAt = null, announced = false) {
    super();
    this._pool = pool;
    this._id = connId;
    this._released = false;
    this._announced = announced;
    this.threadId = threadId;
    this.connection = new CoreConnection(this);
    this._leakTimer = null;
    const leakMs = pool.config.leakDetectionTimeout;
    if (leakMs > 0 && !announced) this._watchLeak(leakMs, takenAt);
  }

  get config() {
    return this._pool.config;
  }

  _watchLeak(ms, takenAt) {
    // Where the connection was taken is what makes a leak report useful.
    const where = takenAt || new Error('Connection leak').stack.split('\n').slice(2).join('\n');
    this._leakTimer = setTimeout(() => {
      this._pool._js.leaks++;
      const info = { threadId: this.threadId, heldForMs: ms, stack: where };
      this._pool.emit('leak', info);
      process.emitWarning(`napi-mysql-pool: connection ${this.threadId} held for more than ${ms} ms without release; taken at:\n${where}`, 'ConnectionLeakWarning');
    }, ms);
    this._leakTimer.unref();
  }

  _stopLeakTimer() {
    if (this._leakTimer) clearTimeout(this._leakTimer);
    this._leakTimer = null;
  }

  _send(sql, values, forExecute) {
    if (this._released) {
      return Promise.reject(errors.make('ERR_CONNECTION_RELEASED', 'Connection was released to the pool; get a new one with getConnection().'));
    }
    return this._pool._send(this._id, sql, values, forExecute);
  }

  query(sql, values) {
    return this._send(sql, values, false);
  }

  execute(sql, values) {
    return this._send(sql, values, true);
  }

  beginTransaction() {
    return this.query('START TRANSACTION').then(() => undefined);
  }

  commit() {
    return this.query('COMMIT').then(() => undefined);
  }

  rollback() {
    return this.query('ROLLBACK').then(() => undefined);
  }

  ping() {
    if (this._released) return this._send('', undefined, false);
    return new Promise((resolve, reject) => {
      const id = this._pool._id();
      this._pool._pending.set(id, { resolve: () => resolve(true), reject, q: null });
      this._pool._enqueue([2, id, this._id, '', 0, 0, undefined]);
    });
  }

  /**
   * mysql2's conn.prepare(): the statement is prepared now (errors surface
   * here) and cached on this connection; execute(values) runs it.
   */
  prepare(options) {
    const sql = typeof options === 'object' && options !== null ? options.sql : options;
    if (typeof sql !== 'string') return Promise.reject(errors.make('ERR_INVALID_QUERY', 'prepare() needs the SQL text', TypeError));
    if (this._released) return this._send(sql, undefined, true);
    return new Promise((resolve, reject) => {
      const id = this._pool._id();
      this._pool._pending.set(id, { resolve: () => resolve(new PreparedStatementInfo(this, sql)), reject, q: null, sql });
      this._pool._enqueue([4, id, this._id, sql, 0, 0, undefined]);
    });
  }

  /** Statements stay in the connection's cache (maxPreparedStatements); nothing to do. */
  unprepare() {}

  /** Back to the pool (session state is reset there, see resetOnRelease). */
  release() {
    if (this._released || this._announced) return;
    this._released = true;
    this._stopLeakTimer();
    this._pool._lent.delete(this);
    // Commands already queued in JS go first; release follows them.
    this._pool._flushNow();
    this._pool._native.release(this._id);
    this._pool.emit('release', this);
  }

  /** Like mysql2: end() on a pooled connection releases it. */
  end() {
    this.release();
    return Promise.resolve();
  }

  /** Closes the connection instead of returning it. */
  destroy() {
    if (this._released || this._announced) return;
    this._released = true;
    this._stopLeakTimer();
    this._pool._lent.delete(this);
    this._pool._flushNow();
    this._pool._native.destroy(this._id);
  }

  escape(v) {
    return this._pool.escape(v);
  }

  escapeId(v) {
    return this._pool.escapeId(v);
  }

  format(sql, values) {
    return this._pool.format(sql, values);
  }
}

/** What conn.prepare() resolves to, as mysql2's PromisePreparedStatementInfo. */
class PreparedStatementInfo {
  constructor(conn, sql) {
    this._conn = conn;
    this.statement = { query: sql };
  }

  execute(parameters) {
    return this._conn.execute(this.statement.query, parameters);
  }

  close() {
    return Promise.resolve();
  }
}

/** The pending command object mysql2's core connection returns. */
class Query extends EventEmitter {
  constructor(promise, pool) {
    super();
    this._promise = promise;
    this._pool = pool;
    this._streaming = false;
    promise.then(
      ([rows, fields]) => {
        // a stream already emitted every row as it arrived
        if (!this._streaming) {
          if (Array.isArray(rows)) {
            if (fields) this.emit('fields', fields);
            for (const row of rows) this.emit('result', row);
          } else this.emit('result', rows);
        }
        this.emit('end');
      },
      (err) => {
        if (this.listenerCount('error') > 0) this.emit('error', err);
        this.emit('end');
      },
    );
  }

  /**
   * Rows as an object-mode stream. Called in the same tick as query() (as
   * Drizzle's iterator does), rows flow as they arrive and reading pauses
   * while the stream is full, so a large result never sits in memory whole;
   * the query's own promise then holds only the last rows. Called later, the
   * result is buffered first.
   */
  stream(options) {
    let wantAck = false;
    let ctl = null;
    let fieldsSent = false;
    const s = new Readable({
      objectMode: true,
      highWaterMark: 16,
      ...options,
      read() {
        if (wantAck) {
          wantAck = false;
          ctl.ack();
        }
      },
      destroy(err, cb) {
        if (ctl !== null) ctl.done();
        cb(err);
      },
    });
    const onChunk = (set, rows, fields) => {
      if (s.destroyed) return ctl.done();
      let more = true;
      try {
        if (fields && !fieldsSent) {
          fieldsSent = true;
          this.emit('fields', fields);
        }
        for (const row of Array.isArray(rows) ? rows : [rows]) {
          this.emit('result', row);
          more = s.push(row);
        }
      } catch (err) {
        // A throwing listener: stop pausing (the rest is read and dropped)
        // and fail the stream and the command with its error.
        ctl.done();
        s.destroy(err);
        throw err;
      }
      if (more) ctl.ack();
      else wantAck = true;
    };
    ctl = this._pool ? this._pool._beginStream(this._promise, onChunk) : null;
    if (ctl !== null) {
      this._streaming = true;
      this._promise.then(
        () => s.push(null),
        (err) => s.destroy(err),
      );
      return s;
    }
    this._promise.then(
      ([rows]) => {
        if (Array.isArray(rows)) for (const r of rows) s.push(r);
        else s.push(rows);
        s.push(null);
      },
      (err) => s.destroy(err),
    );
    return s;
  }

  then(onOk, onErr) {
    return this._promise.then(onOk, onErr);
  }
}

/** mysql2's core (callback) connection, as far as Drizzle and tools use it. */
class CoreConnection extends EventEmitter {
  constructor(owner) {
    super();
    this._owner = owner;
  }

  get threadId() {
    return this._owner.threadId;
  }

  get config() {
    return this._owner.config;
  }

  /** mysql2's core connection.promise(): the promise API of the same connection. */
  promise() {
    return this._owner;
  }

  escape(v) {
    return this._owner.escape(v);
  }

  escapeId(v) {
    return this._owner.escapeId(v);
  }

  format(sql, values) {
    return this._owner.format(sql, values);
  }

  query(sql, values, cb) {
    if (typeof values === 'function') {
      cb = values;
      values = undefined;
    }
    const p = this._owner.query(sql, values);
    p.catch(() => {});
    if (cb) p.then(([r, f]) => cb(null, r, f), (e) => cb(e));
    return new Query(p, this._owner._pool);
  }

  execute(sql, values, cb) {
    if (typeof values === 'function') {
      cb = values;
      values = undefined;
    }
    const p = this._owner.execute(sql, values);
    p.catch(() => {});
    if (cb) p.then(([r, f]) => cb(null, r, f), (e) => cb(e));
    return new Query(p, this._owner._pool);
  }

  release() {
    this._owner.release();
  }

  end() {
    this._owner.release();
  }

  destroy() {
    this._owner.destroy();
  }
}

module.exports = { PoolConnection, CoreConnection, Query };
