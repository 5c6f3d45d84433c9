'use strict';
// The promise pool: mysql2's API over the native pool. Calls go straight to
// native code with an id; results come back in batches (`_onWake`) and are
// matched to their promise here. This file keeps no pool state of its own
// beyond that table: counts and policy live in the native pool.
const { EventEmitter } = require('node:events');
const util = require('node:util');
const SqlEscaper = require('sql-escaper');
const { NativePool } = require('../index.js');
const { normalize, nativeConfig, shareKey } = require('./config');
const { decodeRows, parseMeta, ResultSetHeader } = require('./rows');
const errors = require('./errors');
const { CorePoolView } = require('./corepool');
const { statementEnd } = require('./statements');

let namedCompiler = null;
function toPositional(sql, values) {
  if (namedCompiler === null) namedCompiler = require('named-placeholders')();
  return namedCompiler(sql, values);
}

// Drizzle's typeCast (DATE/DATETIME/TIMESTAMP as strings, the rest default)
// is the same as dateStrings for those types; recognising it keeps Drizzle
// queries on the compiled fast path instead of a JS call per cell.
const DRIZZLE_TYPECAST = 'function(field,next){if(field.type==="TIMESTAMP"||field.type==="DATETIME"||field.type==="DATE"){returnfield.string();}returnnext();}';
const typeCastKinds = new WeakMap();
function isDateStringsTypeCast(fn) {
  let known = typeCastKinds.get(fn);
  if (known === undefined) {
    const src = Function.prototype.toString.call(fn).replace(/\s+/g, '').replace(/'/g, '"');
    known = src === DRIZZLE_TYPECAST || src === DRIZZLE_TYPECAST.replace('function(', '(').replace('){if', ')=>{if');
    typeCastKinds.set(fn, known);
  }
  return known;
}

// Bit values shared with src/convert.rs `flags`.
const F = {
  SUPPORT_BIG_NUMBERS: 1,
  BIG_NUMBER_STRINGS: 2,
  DECIMAL_NUMBERS: 4,
  JSON_STRINGS: 8,
  RAW: 16,
  ALL_BUFFERS: 32,
  DS_DATE: 64,
  DS_DATETIME: 128,
  DS_TIMESTAMP: 256,
  STREAM: 512,
};

/**
 * Hands rows to a streaming command's consumer. A throwing 'result' listener
 * fails that command (returned), never the rest of the drained batch.
 */
function streamRows(p, set, [rows, fields]) {
  try {
    p.onChunk(set, rows, fields);
    return undefined;
  } catch (err) {
    return err;
  }
}

function dateStringFlags(ds) {
  if (ds === true) return F.DS_DATE | F.DS_DATETIME | F.DS_TIMESTAMP;
  if (!Array.isArray(ds)) return 0;
  let f = 0;
  if (ds.includes('DATE')) f |= F.DS_DATE;
  if (ds.includes('DATETIME')) f |= F.DS_DATETIME;
  if (ds.includes('TIMESTAMP')) f |= F.DS_TIMESTAMP;
  return f;
}

const EMPTY = Object.freeze({});

/**
 * Everything one command needs, from mysql2's call forms:
 * (sql), (sql, values), ({ sql, values, ...options }), ({...}, values).
 */
function prepare(cfg, sql, values, forExecute) {
  let o = EMPTY;
  if (sql !== null && typeof sql === 'object') {
    o = sql;
    sql = o.sql;
    if (values === undefined) values = o.values;
  }
  if (typeof values === 'function') {
    throw errors.make('ERR_INVALID_QUERY', 'Callback function is not available with promise clients.');
  }
  if (typeof sql !== 'string') {
    throw errors.make('ERR_INVALID_QUERY', `The SQL must be a string, got ${sql === null ? 'null' : typeof sql}`, TypeError);
  }
  const named = o.namedPlaceholders !== undefined ? o.namedPlaceholders : cfg.namedPlaceholders;
  if (named && values !== undefined && values !== null && !Array.isArray(values)) {
    [sql, values] = toPositional(sql, values);
  }
  const cast = o.typeCast !== undefined ? o.typeCast : cfg.typeCast;
  let flags = 0;
  const sbn = o.supportBigNumbers || cfg.supportBigNumbers;
  if (sbn) flags |= F.SUPPORT_BIG_NUMBERS;
  if (sbn && (o.bigNumberStrings || cfg.bigNumberStrings)) flags |= F.BIG_NUMBER_STRINGS;
  if (o.decimalNumbers || cfg.decimalNumbers) flags |= F.DECIMAL_NUMBERS;
  if (cfg.jsonStrings) flags |= F.JSON_STRINGS;
  flags |= dateStringFlags(o.dateStrings || cfg.dateStrings);
  let typeCast = cast;
  if (typeof cast === 'function') {
    if (isDateStringsTypeCast(cast)) {
      flags |= F.DS_DATE | F.DS_DATETIME | F.DS_TIMESTAMP;
      typeCast = true;
    } else {
      flags |= F.RAW;
    }
  } else if (cast === false) {
    flags |= F.ALL_BUFFERS;
  }
  const rowsAsArray = o.rowsAsArray !== undefined ? o.rowsAsArray : cfg.rowsAsArray;
  const nestTables = o.nestTables !== undefined ? o.nestTables : cfg.nestTables;
  const shape = rowsAsArray || nestTables !== undefined ? { rowsAsArray, nestTables } : EMPTY;
  let params;
  if (forExecute) {
    params = executeParams(values, cfg.timezone);
  } else if (cfg.queryFormat) {
    sql = cfg.queryFormat.call(null, sql, values, cfg.timezone);
  } else if (values !== undefined) {
    sql = SqlEscaper.format(sql, values, cfg.stringifyObjects, cfg.timezone);
  }
  const cut = !forExecute && !cfg.multipleStatements && sql.indexOf(';') !== -1 ? statementEnd(sql) : null;
  // One statement: drop the trailing ';' and comments, which a
  // multi-statement session would answer with an extra empty result.
  if (cut !== null && !cut.more && cut.end !== -1) sql = sql.slice(0, cut.end);
  if (cut !== null && cut.more) {
    // What the server answers mysql2 here (ER_PARSE_ERROR), said plainly.
    const err = errors.make('ER_PARSE_ERROR', 'You have an error in your SQL syntax: more than one statement, and multipleStatements is off');
    err.errno = 1064;
    err.sqlState = '42000';
    err.sqlMessage = err.message;
    err.sql = sql;
    throw err;
  }
  const timeout = typeof o.timeout === 'number' && o.timeout > 0 ? o.timeout : 0;
  return { sql, params, flags, shape, typeCast, timeout };
}

// mysql2 binds Dates as DATETIME in the configured timezone and objects as
// JSON; the native side takes primitives, so they become strings here.
function executeParams(values, timezone) {
  if (values === undefined || values === null) return [];
  if (!Array.isArray(values)) {
    throw errors.make('ERR_INVALID_PARAMETER', 'Bind parameters must be array if namedPlaceholders parameter is not enabled', TypeError);
  }
  const out = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === undefined) {
      throw errors.make('ERR_INVALID_PARAMETER', 'Bind parameters must not contain undefined. To pass SQL NULL specify JS null', TypeError);
    }
    if (typeof v === 'function') {
      throw errors.make('ERR_INVALID_PARAMETER', 'Bind parameters must not contain function(s). To pass the body of a function as a string call .toString() first', TypeError);
    }
    // Realm-independent: a Date from a vm context or an isolating test runner too.
    if (util.types.isDate(v)) out[i] = wallClock(v, timezone);
    else if (typeof v === 'bigint') out[i] = v.toString(); // mysql2 binds BigInt as text
    else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
      out[i] = ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : JSON.stringify(v);
    } else out[i] = v;
  }
  return out;
}

// A Date whose UTC fields are the wall-clock fields in `timezone`, which is
// how the native side reads Date parameters (mysql2 binds DATETIME that way).
function wallClock(d, timezone) {
  const t = d.getTime();
  if (Number.isNaN(t)) {
    throw errors.make('ERR_INVALID_PARAMETER', 'Invalid Date parameter', TypeError);
  }
  if (!timezone || timezone === 'local') {
    // From the local fields, not getTimezoneOffset(): historic offsets
    // (e.g. LMT) are not whole minutes.
    const w = new Date(Date.UTC(2000, 0, 1, d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()));
    w.setUTCFullYear(d.getFullYear(), d.getMonth(), d.getDate());
    return w;
  }
  if (timezone === 'Z') return d;
  const m = /^([+-])(\d\d):(\d\d)$/.exec(timezone);
  return m ? new Date(t + (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60000) : d;
}

class Pool extends EventEmitter {
  constructor(options) {
    super();
    const cfg = normalize(options);
    this.config = cfg;
    this.name = cfg.name;
    this._pending = new Map();
    // Promises of commands on lent connections -> id, for query().stream().
    this._streamable = new WeakMap();
    this._nextId = 0;
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
    // Commands wait here until the end of the current microtask queue, then
    // cross to native code in one call (one runtime wake-up per batch).
    this._outbox = [];
    this._flushScheduled = false;
    this._flush = () => this._flushNow();
    // Result shapes by the number native code gives them (sent once each).
    this._shapes = [];
    try {
      this._native = new NativePool(nativeConfig(cfg), () => this._onWake(), cfg.workerThreads, shareKey(cfg));
    } catch (err) {
      // Native setup errors arrive as "CODE: message".
      const m = /^([A-Z_]+): ([\s\S]*)$/.exec(err.message);
      throw m ? errors.make(m[1], m[2], TypeError) : err;
    }
  }

  _id() {
    this._nextId = this._nextId >= 0x7fffffff ? 1 : this._nextId + 1;
    return this._nextId;
  }

  _flushNow() {
    this._flushScheduled = false;
    const batch = this._outbox;
    if (batch.length === 0) return;
    this._outbox = [];
    try {
      this._native.submit(batch);
    } catch (err) {
      // Only a malformed entry can get here; fail that batch, not the process.
      for (const entry of batch) {
        const p = this._pending.get(entry[1]);
        this._pending.delete(entry[1]);
        if (p) p.reject(errors.make('ERR_INVALID_PARAMETER', err.message, TypeError));
      }
    }
  }

  _enqueue(entry) {
    this._outbox.push(entry);
    if (!this._flushScheduled) {
      this._flushScheduled = true;
      queueMicrotask(this._flush);
    }
  }

  /**
   * Walks one drained batch (layout: src/boundary.rs, `Batch`). Offsets are
   * advanced from the directory alone, so a completion that fails to decode
   * (or whose promise is gone) never shifts the ones after it.
   */
  _onWake() {
    const [dir, text, bytes, extra] = this._native.drain();
    const tags = bytes === null ? null : new Uint8Array(bytes);
    const bin = bytes === null ? null : Buffer.from(bytes);
    const n = dir.length;
    let k = 0;
    let tp = 0;
    while (k < n) {
      const id = dir[k];
      const kind = dir[k + 1];
      k += 2;
      const p = this._pending.get(id);
      if (kind === 4) {
        // Leading rows of a large result: decode now, while the rest arrives.
        const set = dir[k++];
        const rows = this._rowsSet(p, dir, k, text, tp, tags, bin, extra);
        k = rows.next;
        tp = rows.textNext;
        if (p !== undefined) {
          if (rows.error !== null) p.failure = rows.error;
          else if (p.onChunk !== undefined) {
            if (p.failure === undefined) p.failure = streamRows(p, set, rows.value);
          }
          else if (p.q !== null && p.failure === undefined) (p.chunks || (p.chunks = [])).push([set, rows.value[0]]);
        }
        continue;
      }
      if (p !== undefined) this._pending.delete(id);
      if (kind === 0) {
        const nsets = dir[k++];
        const sets = nsets === 1 ? null : [];
        let one;
        let failure = p !== undefined && p.failure !== undefined ? p.failure : null;
        for (let s = 0; s < nsets; s++) {
          let item;
          if (dir[k] === 0) {
            const rows = this._rowsSet(failure === null ? p : undefined, dir, k, text, tp, tags, bin, extra);
            k = rows.next;
            tp = rows.textNext;
            if (rows.error !== null) failure = rows.error;
            item = rows.value;
            if (item !== undefined && p.chunks !== undefined) {
              const before = p.chunks.filter((c) => c[0] === s).map((c) => c[1]);
              if (before.length > 0) item = [before.concat([item[0]]).flat(), item[1]];
            }
          } else {
            const infoUnits = dir[k + 5];
            const info = text.slice(tp, tp + infoUnits);
            tp += infoUnits;
            item = [new ResultSetHeader(dir[k + 1], dir[k + 2], dir[k + 3], dir[k + 4], info, dir[k + 6] >= 0 ? extra[dir[k + 6]] : null, dir[k + 7] >= 0 ? extra[dir[k + 7]] : null, this.config.bigNumberStrings), undefined];
            k += 8;
          }
          if (p !== undefined && p.onChunk !== undefined && failure === null && item !== undefined) {
            failure = streamRows(p, s, item) ?? null;
          }
          if (sets === null) one = item;
          else sets.push(item);
        }
        if (p === undefined) continue;
        if (p.q === null) p.resolve(true);
        else if (failure !== null) p.reject(failure);
        else if (sets === null) p.resolve(one);
        else p.resolve([sets.map((x) => x[0]), sets.map((x) => x[1])]);
      } else if (kind === 1) {
        const e = extra[dir[k++]];
        if (p !== undefined) p.reject(errors.fromNative(e, p.q ? p.q.sql : p.sql));
      } else if (kind === 2) {
        const connId = dir[k];
        const threadId = dir[k + 1];
        k += 2;
        if (p !== undefined) {
          try {
            p.resolve([id, 2, connId, threadId]);
          } catch (err) {
            p.reject(err);
          }
        } else if (id === 0) {
          this._announce(connId, threadId);
        }
      } else if (p !== undefined) {
        p.resolve();
      }
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
      this._enqueue([3, 0, connId, '', 0, 0, undefined]);
    }
  }

  /**
   * One rows set at dir[k] (it starts with 0): registers a new shape, and
   * decodes the rows when `p` wants them. Returns where the next item and
   * the next text start, whatever happened.
   */
  _rowsSet(p, dir, k, text, tp, tags, bin, extra) {
    const shapeId = dir[k + 1];
    const newAt = dir[k + 2];
    const nrows = dir[k + 3];
    const ncells = dir[k + 4];
    const units = dir[k + 5];
    const tagsAt = dir[k + 6];
    const binAt = dir[k + 7];
    const numsAt = k + 9;
    if (newAt >= 0) this._shapes[shapeId] = parseMeta(extra[newAt]);
    let value;
    let error = null;
    if (p !== undefined && p.q !== null) {
      try {
        const q = p.q;
        value = decodeRows(this._shapes[shapeId], q.shape, q.typeCast, this.config, dir, numsAt, tags, tagsAt, text, tp, bin, binAt, nrows);
      } catch (err) {
        error = err;
      }
    }
    return { value, error, next: numsAt + ncells, textNext: tp + units };
  }

  _closedError() {
    return errors.make('POOL_CLOSED', 'Pool is closed.');
  }

  /** Sends one command; connId 0 = any pooled connection. */
  _send(connId, sql, values, forExecute) {
    // During end()'s grace period a lent connection may still finish its work.
    if (this._closed && (connId === 0 || this._ended)) return Promise.reject(this._closedError());
    let q;
    try {
      q = prepare(this.config, sql, values, forExecute);
    } catch (err) {
      if (typeof err.code === 'string') return Promise.reject(err);
      // Values that cannot be encoded (cyclic objects, BigInt inside JSON,
      // null-prototype objects): a clear error with a code, never a crash.
      const e = errors.make('ERR_INVALID_PARAMETER', `Cannot encode the query values: ${err.message}`, TypeError);
      e.cause = err;
      return Promise.reject(e);
    }
    if (connId === 0 && this.listenerCount('enqueue') > 0) {
      // A throwing listener fails this call (as in mysql2), nothing is queued.
      try {
        this._maybeEmitEnqueue();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    let id;
    const promise = new Promise((resolve, reject) => {
      id = this._id();
      const entry = [forExecute ? 1 : 0, id, connId, q.sql, q.flags, q.timeout, q.params];
      this._pending.set(id, { resolve, reject, q, entry });
      this._enqueue(entry);
    });
    if (connId !== 0) this._streamable.set(promise, id);
    return promise;
  }

  /**
   * Turns a command on a lent connection, not yet sent, into a streaming one:
   * its rows go to onChunk(set, rows, fields) as they arrive, and the native
   * side pauses after each chunk until ack(). Returns null when the command
   * was already sent (the caller then buffers).
   */
  _beginStream(promise, onChunk) {
    const id = this._streamable.get(promise);
    const p = id === undefined ? undefined : this._pending.get(id);
    if (p === undefined || !this._outbox.includes(p.entry)) return null;
    p.entry[4] |= F.STREAM;
    p.onChunk = onChunk;
    return {
      ack: () => this._native.streamAck(id, false),
      done: () => this._native.streamAck(id, true),
    };
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

  /** A dedicated connection; call release() when done. */
  getConnection() {
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
    return new Promise((resolve, reject) => {
      const id = this._id();
      this._pending.set(id, {
        resolve: (c) => {
          const { PoolConnection } = require('./connection');
          const conn = new PoolConnection(this, c[2], c[3], takenAt);
          this._lent.add(conn);
          try {
            this.emit('acquire', conn);
          } catch (err) {
            // A throwing 'acquire' listener fails this getConnection(); the
            // connection goes back instead of leaking.
            conn.release();
            reject(err);
            return;
          }
          resolve(conn);
        },
        reject,
        q: null,
      });
      this._flushNow();
      this._native.getConnection(id);
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
    this._flushNow();
    for (const conn of this._lent) conn._stopLeakTimer();
    this._ending = new Promise((resolve) => {
      const id = this._id();
      const done = () => {
        this._ended = true;
        resolve();
      };
      this._pending.set(id, { resolve: done, reject: done, q: null });
      this._native.end(id, this.config.endTimeout);
    });
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

module.exports = { Pool, prepare, F };
