'use strict';
// A connection lent by getConnection(): mysql2's PromisePoolConnection, plus
// `.connection` (mysql2's core connection) whose query().stream() Drizzle's
// iterator uses. Commands on one connection run in order on the native side.
const { EventEmitter } = require('node:events');
const { Readable } = require('node:stream');
const errors = require('./errors');

class PoolConnection extends EventEmitter {
  constructor(pool, connId, threadId, takenAt = null) {
    super();
    this._pool = pool;
    this._id = connId;
    this._released = false;
    this.threadId = threadId;
    this.connection = new CoreConnection(this);
    this._leakTimer = null;
    const leakMs = pool.config.leakDetectionTimeout;
    if (leakMs > 0) this._watchLeak(leakMs, takenAt);
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

  /** Back to the pool (session state is reset there, see resetOnRelease). */
  release() {
    if (this._released) return;
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
    if (this._released) return;
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

/** The pending command object mysql2's core connection returns. */
class Query extends EventEmitter {
  constructor(promise) {
    super();
    this._promise = promise;
    promise.then(
      ([rows, fields]) => {
        if (Array.isArray(rows)) {
          if (fields) this.emit('fields', fields);
          for (const row of rows) this.emit('result', row);
        } else this.emit('result', rows);
        this.emit('end');
      },
      (err) => {
        if (this.listenerCount('error') > 0) this.emit('error', err);
        this.emit('end');
      },
    );
  }

  /** Rows as an object-mode stream (buffered: the whole result arrives first). */
  stream(options) {
    const p = this._promise;
    const s = new Readable({ objectMode: true, highWaterMark: 16, ...options, read() {} });
    p.then(
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

  query(sql, values, cb) {
    if (typeof values === 'function') {
      cb = values;
      values = undefined;
    }
    const p = this._owner.query(sql, values);
    p.catch(() => {});
    if (cb) p.then(([r, f]) => cb(null, r, f), (e) => cb(e));
    return new Query(p);
  }

  execute(sql, values, cb) {
    if (typeof values === 'function') {
      cb = values;
      values = undefined;
    }
    const p = this._owner.execute(sql, values);
    p.catch(() => {});
    if (cb) p.then(([r, f]) => cb(null, r, f), (e) => cb(e));
    return new Query(p);
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
