'use strict';
// A connection lent by getConnection(): mysql2's PromisePoolConnection, plus
// `.connection` (mysql2's core connection) whose query().stream() Drizzle's
// iterator uses. Commands on one connection run in order on the native side.
const { EventEmitter } = require('node:events');
const { Readable } = require('node:stream');
const errors = require('./errors');

// Node >= 20 has these; older Node gets the names Node itself uses, which
// is what a transpiled `using` looks up there. Globals stay untouched.
const asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose');
const syncDispose = Symbol.dispose ?? Symbol.for('nodejs.dispose');

// mysql2's words, so code that matches on them keeps working.
const END_DEPRECATED =
  'Calling conn.end() to release a pooled connection is deprecated. In next version calling conn.end() will be restored to default conn.end() behavior. Use conn.release() instead.';

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
      process.emitWarning(
        `napi-mysql-pool: connection ${this.threadId} held for more than ${ms} ms without release; taken at:\n${where}`,
        'ConnectionLeakWarning',
      );
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

  /**
   * pool.batch() on this connection. Inside your transaction (or with
   * autocommit off) commit and rollback are yours; otherwise a batch of
   * more than one statement runs in a transaction of its own.
   */
  batch(sql, rows) {
    return require('./batch').connBatch(this, sql, rows);
  }

  // mysql2 resolves these with the statement's [ResultSetHeader, undefined].
  beginTransaction() {
    return this.query('START TRANSACTION');
  }

  commit() {
    return this.query('COMMIT');
  }

  rollback() {
    return this.query('ROLLBACK');
  }

  ping() {
    if (this._released) return this._send('', undefined, false);
    return this._pool._transport.ping(this._id);
  }

  /**
   * mysql2's conn.prepare(): the statement is prepared now (errors surface
   * here) and cached on this connection; execute(values) runs it.
   */
  prepare(options) {
    const sql = typeof options === 'object' && options !== null ? options.sql : options;
    if (typeof sql !== 'string') return Promise.reject(errors.make('ERR_INVALID_QUERY', 'prepare() needs the SQL text', TypeError));
    if (this._released) return this._send(sql, undefined, true);
    return this._pool._transport.prepareStatement(this._id, sql).then(() => new PreparedStatementInfo(this, sql));
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
    this._pool._transport.release(this._id);
    this._pool.emit('release', this);
  }

  /** `await using conn = await pool.getConnection()` releases it, as mysql2's. */
  async [asyncDispose]() {
    this.release();
  }

  /** Like mysql2: end() on a pooled connection releases it. */
  end() {
    this._end();
    return Promise.resolve();
  }

  /**
   * mysql2's conn.end() on a pooled connection: with gracefulEnd it closes
   * the connection and takes it out of the pool; otherwise it releases it,
   * with mysql2's deprecation warning ('warn' event and console.warn).
   */
  _end() {
    if (this.config.gracefulEnd) return this.destroy();
    if (this._released || this._announced) return undefined;
    const err = new Error(END_DEPRECATED);
    this.connection.emit('warn', err);
    console.warn(err.message);
    return this.release();
  }

  /** Closes the connection instead of returning it. */
  destroy() {
    if (this._announced) return;
    if (this._released) {
      // mysql2 closes a connection destroyed after its release and takes it
      // out of the pool; here it is closed if it is still idle there.
      if (!this._destroyedLate) this._pool._transport.destroyReleased(this.threadId);
      this._destroyedLate = true;
      return;
    }
    this._released = true;
    this._stopLeakTimer();
    this._pool._lent.delete(this);
    this._pool._transport.destroy(this._id);
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

  /** mysql2's promise implementation property. */
  get Promise() {
    return Promise;
  }

  /**
   * mysql2's connect() on a pooled connection: it is connected already, so
   * it resolves with the core connection (rejects once released).
   */
  connect() {
    if (this._released) return this._send('', undefined, false);
    return Promise.resolve(this.connection);
  }

  /** mysql2's close() on a pooled connection is destroy(). */
  close() {
    this.destroy();
  }

  /**
   * mysql2's conn.changeUser(): not supported (README "Known differences").
   * A pooled connection keeps the pool's credentials.
   */
  changeUser() {
    return Promise.reject(notSupported('changeUser()', "a pooled connection keeps the pool's user; use a pool created with the other credentials"));
  }

  /**
   * mysql2's conn.reset(): COM_RESET_CONNECTION. The session is as new
   * (variables, temporary tables, transaction, prepared statements gone),
   * then set up again as when the connection opened: the pool's charset,
   * initSql and what 'connection' listeners ran (mysql2 has only the first).
   */
  reset() {
    if (this._released) return this._send('', undefined, false);
    return this._pool._transport.resetSession(this._id);
  }

  /** mysql2 pauses reading the socket; here JS owns no socket (README "Known differences"). */
  pause() {
    throw notSupported('pause()', 'rows are read on the native side; use query().stream(), which stops reading while the stream is full');
  }

  resume() {
    throw notSupported('resume()', 'rows are read on the native side; use query().stream(), which stops reading while the stream is full');
  }

  createBinlogStream() {
    throw notSupported('createBinlogStream()', 'the replication protocol is not implemented');
  }
}

/** A mysql2 method this pool does not have: a coded error that says what to do instead. */
function notSupported(what, instead) {
  return errors.make('ERR_NOT_SUPPORTED', `${what} is not supported by napi-mysql-pool: ${instead}.`);
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

/** A multi-statement result ([sets of rows, sets of fields]) rather than one set. */
function isMultiResult(fields) {
  return Array.isArray(fields) && fields.length > 0 && (fields[0] === undefined || Array.isArray(fields[0]));
}

/**
 * The pending command object mysql2's core connection returns, with its
 * events: per result set 'fields' (undefined for an OK packet), then
 * 'result' per row (row, set index) unless a callback takes the rows, or
 * 'result' with the OK packet; then 'end'. A failure is 'error' (or the
 * callback) then 'end'. The callback comes after 'end' on success.
 */
class Query extends EventEmitter {
  constructor(promise, pool, callback, isExecute = false) {
    super();
    this._promise = promise;
    this._pool = pool;
    this._cb = callback;
    this._isExecute = isExecute;
    this._ctl = null; // rows stream from the native side (see stream())
    this._free = false; // streaming without waiting for acks any more
    this._paused = false; // a stream's buffer is full (mysql2 pauses the socket)
    this._held = false; // the last chunk's ack waits for the stream to read
    this._set = -1; // the result set the last streamed chunk belonged to
    this._streams = new Set();
    this._outcome = null; // { value } or { error } once finished
    promise.then(
      (value) => this._succeed(value),
      (error) => this._fail(error),
    );
  }

  _succeed(value) {
    const [rows, fields] = value;
    // a stream already emitted every row as it arrived
    if (this._ctl === null) {
      try {
        if (isMultiResult(fields)) for (let i = 0; i < rows.length; i++) this._emitSet(i, rows[i], fields[i], true);
        else this._emitSet(0, rows, fields, true);
      } catch (err) {
        this._failStreams(err);
        throw err;
      }
    }
    this._outcome = { value };
    // queued before 'end', as mysql2 does, so it runs before a stream ends
    const cb = this._cb;
    if (cb) process.nextTick(() => (fields !== undefined ? cb(null, rows, fields) : cb(null, rows)));
    this.emit('end');
  }

  _fail(error) {
    this._outcome = { error };
    if (this._cb) this._cb(error);
    // mysql2 throws on an unhandled 'error'; here a failed command nobody
    // listens to (e.g. setup SQL in a 'connection' handler) stays quiet.
    else if (this.listenerCount('error') > 0) this.emit('error', error);
    this.emit('end');
  }

  /** One result set (or a streamed chunk of one): its events. */
  _emitSet(set, rows, fields, first) {
    if (!Array.isArray(rows)) {
      // an OK packet: as mysql2, 'fields' without fields, then the header
      this.emit('fields', undefined);
      this.emit('result', rows);
      return;
    }
    if (first) {
      if (this._isExecute) this.emit('fields', fields, set);
      else this.emit('fields', fields);
    }
    // with a callback, mysql2 collects the rows for it instead
    if (this._cb === undefined) for (const row of rows) this.emit('result', row, set);
  }

  /** Rows of a streamed command as they arrive (see Transport.beginStream). */
  _chunk(set, rows, fields) {
    try {
      this._emitSet(set, rows, fields, set !== this._set);
      this._set = set;
    } catch (err) {
      // A throwing listener: stop pausing (the rest is read and dropped)
      // and fail the streams and the command with its error.
      this._stopPausing();
      this._failStreams(err);
      throw err;
    }
    if (this._free) return;
    if (this._paused) this._held = true;
    else this._ctl.ack();
  }

  _failStreams(err) {
    for (const s of this._streams) s.destroy(err);
  }

  _pause() {
    this._paused = true;
  }

  _resume() {
    this._paused = false;
    if (this._held) {
      this._held = false;
      if (!this._free) this._ctl.ack();
    }
  }

  _stopPausing() {
    if (this._ctl === null || this._free) return;
    this._free = true;
    this._held = false;
    if (this._outcome === null) this._ctl.done();
  }

  /**
   * Rows as an object-mode stream fed by this command's events, as mysql2's
   * query().stream(): it re-emits 'fields' and 'result', ends on 'end',
   * fails on 'error', and emits 'end' on close even when it did not end.
   * Called in the same tick as query() (as Drizzle's iterator does), rows
   * flow as they arrive and reading pauses while the stream is full, so a
   * large result never sits in memory whole; the command's own promise then
   * holds only the last rows. Called later, the result is buffered first;
   * called after the command finished (mysql2's stream then never ends),
   * it replays the result.
   */
  stream(options) {
    const s = new Readable({
      highWaterMark: 16,
      ...options,
      objectMode: true,
      emitClose: true,
      autoDestroy: true,
      read: () => this._resume(),
    });
    // Registered first, so 'end' comes before the consumer's 'close'.
    s.once('close', () => {
      if (!s.readableEnded) s.emit('end');
    });
    const onResult = (row, index) => {
      if (s.destroyed) return;
      if (!s.push(row)) this._pause();
      s.emit('result', row, index);
    };
    const onFields = (fields) => {
      if (!s.destroyed) s.emit('fields', fields);
    };
    const onEnd = () => {
      if (!s.destroyed) s.push(null);
    };
    const onError = (err) => s.destroy(err);
    s._destroy = (err, cb) => {
      this.removeListener('result', onResult);
      this.removeListener('fields', onFields);
      this.removeListener('end', onEnd);
      this.removeListener('error', onError);
      this._streams.delete(s);
      // nobody reads any more: the rest is read and dropped
      if (this._streams.size === 0) this._stopPausing();
      else this._resume();
      cb(err);
    };
    if (this._outcome !== null) {
      const outcome = this._outcome;
      process.nextTick(() => {
        if (outcome.error !== undefined) return s.destroy(outcome.error);
        const [rows, fields] = outcome.value;
        const sets = isMultiResult(fields) ? rows : [rows];
        sets.forEach((set, i) => {
          if (!Array.isArray(set)) {
            onFields(undefined);
            onResult(set, undefined);
            return;
          }
          onFields(isMultiResult(fields) ? fields[i] : fields);
          for (const row of set) onResult(row, i);
        });
        onEnd();
      });
      return s;
    }
    this.on('result', onResult);
    this.on('fields', onFields);
    this.on('end', onEnd);
    this.on('error', onError);
    this._streams.add(s);
    // Rows come to the callback when there is one, so only then buffer.
    if (this._ctl === null && this._cb === undefined && this._pool) {
      this._ctl = this._pool._transport.beginStream(this._promise, (set, rows, fields) => this._chunk(set, rows, fields));
    }
    return s;
  }

  // biome-ignore lint/suspicious/noThenProperty: a query is a thenable on purpose (mysql2's awaitable Query)
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
    return new Query(p, this._owner._pool, cb);
  }

  execute(sql, values, cb) {
    if (typeof values === 'function') {
      cb = values;
      values = undefined;
    }
    const p = this._owner.execute(sql, values);
    return new Query(p, this._owner._pool, cb, true);
  }

  // mysql2's transaction helpers: the statement as a query, callback (err, result, fields).
  beginTransaction(cb) {
    return this.query('START TRANSACTION', cb);
  }

  commit(cb) {
    return this.query('COMMIT', cb);
  }

  rollback(cb) {
    return this.query('ROLLBACK', cb);
  }

  /** mysql2: cb() once answered, cb(err) if not, in a later tick. */
  ping(cb) {
    const done = typeof cb === 'function' ? cb : () => {};
    this._owner.ping().then(
      () => process.nextTick(done),
      (err) => process.nextTick(done, err),
    );
  }

  release() {
    this._owner.release();
  }

  end(cb) {
    this._owner._end();
    if (typeof cb === 'function') cb();
  }

  /** `using`: mysql2's core pool connection releases itself too. */
  [syncDispose]() {
    this._owner.release();
  }

  destroy() {
    this._owner.destroy();
  }
}

module.exports = { PoolConnection, CoreConnection, Query };
