'use strict';
// The JS half of the boundary, one per pool: ids, the table of pending
// promises, the batch of unsent commands (one native submit() per
// microtask, or per event-loop turn while answers are due: _enqueue), and
// the decoder of each drained batch of completions (layout: src/wire.rs,
// built in src/boundary.rs). The mysql2-shaped API
// (lib/pool.js, lib/connection.js) talks only to this.
// Direction: `_unsent` goes JS -> native; completions come native -> JS.
const errors = require('./errors');
const { decodeRows, parseMeta, ResultSetHeader, wireEncoding } = require('./rows');
const { SUB, OP, DONE, SET, ROWS, HEAD, FLAG, DRAIN } = require('./wire');
// submit() and drain() as plain functions taking the pool's handle: cheaper
// per call than methods (src/fast_calls.rs says why).
const FAST = require('./native.js').NativePool.fastCalls();

// Taken when this module loads, so that fake timers a test installs later
// (sinon's, vitest's and jest's replace the global and node:timers' export)
// cannot hold commands back; fakes installed before are recognised (their
// `clock` / `_isMockFunction` marks) and turn-batching is off then.
const realSetImmediate = require('node:timers').setImmediate;
const IMMEDIATE_IS_REAL = typeof realSetImmediate === 'function' && realSetImmediate.clock === undefined && realSetImmediate._isMockFunction !== true;
// NAPI_MYSQL_POOL_FLUSH=microtask: every microtask checkpoint's commands cross at once (no turn-batching).
const TURN_BATCHING = IMMEDIATE_IS_REAL && process.env.NAPI_MYSQL_POOL_FLUSH !== 'microtask';
// A turn-batched flush not run after this long when an answer arrives
// (setImmediate faked in a way not recognised above, or one very long
// turn) is run then (see the end of onWake).
const IMMEDIATE_OVERDUE_MS = 20;
const now = performance.now.bind(performance);

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

/**
 * mysql2's `stateChanges` from the session-state records of an OK packet
 * (src/ops.rs session_state: NUL-separated tag, key, value triples).
 */
function stateChanges(records) {
  const out = { systemVariables: {}, schema: null, gtids: [], trackStateChange: null };
  const p = records.split('\0');
  for (let i = 0; i + 2 < p.length; i += 3) {
    const [tag, a, b] = [p[i], p[i + 1], p[i + 2]];
    if (tag === 'v') out.systemVariables[a] = b;
    else if (tag === 's') out.schema = a;
    else if (tag === 't') out.trackStateChange = a;
    else if (tag === 'g') out.gtids = a.split(',');
  }
  return out;
}

/** A command waiting for the next submit(). */
function entry(op, id, connId, sql, flags, timeout, params) {
  return { op, id, connId, sql, flags, timeout, params };
}

const WIDTH = SUB.WIDTH;
// A getConnection() waiting in _unsent (JS only: it crosses as its own call).
const LEND = -1;
const PARAM0 = SUB.PARAM0;
const INLINE_MAX = SUB.INLINE_MAX;
const NO_EXTRA = Object.freeze([]);
// Buffer cells of a scratch drain are empty (native code sends no bytes then).
const NO_BIN = Buffer.alloc(0);

class Transport {
  /**
   * `config`: the pool's normalized config (row decoding reads it).
   * `onNewConnection(connId, threadId)`: a new connection shown to JS before
   * its first use ('connection' listeners); the callee hands it back.
   * `onCredentials(requestId)`: a new connection needs the credential
   * functions called (src/credentials.rs); the callee answers the native pool.
   */
  constructor(config, onNewConnection, onCredentials) {
    this.config = config;
    this.native = null;
    // The native pool's number for FAST (set with `native`, see attach).
    this.handle = 0;
    this._onNewConnection = onNewConnection;
    this._onCredentials = onCredentials;
    this._pending = new Map();
    // Promises of commands on lent connections -> id, for query().stream().
    this._streamable = new WeakMap();
    this._nextId = 0;
    // Commands wait here until the end of the current microtask queue (or
    // of the event-loop turn, see _enqueue), then cross to native code in
    // one call (one runtime wake-up per batch).
    this._unsent = [];
    this._flushScheduled = false;
    // Unanswered commands per lent connection (connId -> count): release()
    // hands over only a connection with none (see release).
    this._lentOut = new Map();
    this._flush = () => this.flush();
    // See _enqueue: on under Node's libuv wake-up (attach), where the
    // answer's wake-up does not depend on the flush being on time.
    this._turnBatching = false;
    this._immediateAt = -1;
    // submit()'s numbers, reused (SUB.WIDTH per command), and the execute()
    // SQL texts native code keeps by number: a repeated statement crosses
    // as a number.
    this._subNums = new Float64Array(64 * WIDTH);
    this._sqlSlots = new Map();
    // drain() writes the common batch here instead of making new arrays
    // (layout: src/wire.rs DRAIN_*); read before onWake returns, never kept.
    this._scratch = new Float64Array(DRAIN.DIR_CAP + DRAIN.TAGS_CAP / 8);
    this._scratchTags = new Uint8Array(this._scratch.buffer, DRAIN.DIR_CAP * 8, DRAIN.TAGS_CAP);
    // Result shapes by the number native code files them under (each crosses
    // once; native code reuses numbers past its bounded cache, src/shapes.rs).
    this.shapes = [];
    // How the connections send text (typeCast's field.string(encoding)).
    this._wire = wireEncoding(config.charset);
    // See wakeCallback(); _ended: end() is done.
    this._cutLink = null;
    this._ended = false;
  }

  /**
   * The function the native pool calls to have JS drain it. Node holds it
   * from a GC root for as long as the native pool's wake-up (a threadsafe
   * function) lives, which is as long as the native pool: a callback closing
   * over this transport would keep the pool, its buffers and its native
   * state alive forever, ended or not. It reaches the transport through a
   * link that is cut once end() is done and nothing is pending (_letGo).
   */
  wakeCallback() {
    let t = this;
    // A function, not the link itself: JSON.stringify(pool) stays acyclic.
    this._cutLink = () => {
      t = null;
    };
    return () => {
      if (t !== null) t.onWake();
    };
  }

  /** After end(): with nothing pending, no answer can come; let go of the pool. */
  _letGo() {
    if (this._cutLink === null || this._pending.size !== 0 || this._unsent.length !== 0) return;
    this._cutLink();
    this._cutLink = null;
  }

  /** end() is done: the native pool has stopped. */
  get ended() {
    return this._ended;
  }

  /** The NativePool this transport drives. */
  attach(native) {
    this.native = native;
    this.handle = native.fastHandle();
    this._turnBatching = TURN_BATCHING && native.wakeKind() === 'uv';
  }

  nextId() {
    this._nextId = this._nextId >= 0x7fffffff ? 1 : this._nextId + 1;
    return this._nextId;
  }

  /** Sends what is waiting now (release/destroy must follow their commands). */
  flush() {
    this._flushScheduled = false;
    const batch = this._unsent;
    const n = batch.length;
    if (n === 0) return;
    this._unsent = [];
    if (this._ended) {
      // The pool has stopped (and JS may have let go of it): nothing sent
      // now would be answered.
      for (const e of batch) {
        const p = this._pending.get(e.id);
        this._pending.delete(e.id);
        if (p) p.reject(errors.closed());
      }
      this._letGo();
      return;
    }
    // A getConnection() in the queue splits it: what came before crosses
    // first, so the pool serves callers in call order.
    let from = 0;
    for (let i = 0; i < n; i++) {
      if (batch[i].op !== LEND) continue;
      if (i > from) this._submit(batch, from, i);
      const id = batch[i].id;
      try {
        this.native.getConnection(id);
      } catch (err) {
        // Thrown here it would be uncaught (flush runs from the event loop): fail that call only.
        const p = this._pending.get(id);
        this._pending.delete(id);
        if (p) p.reject(err);
      }
      from = i + 1;
    }
    if (n > from) this._submit(batch, from, n);
  }

  /** One native submit() of batch[from, to). */
  _submit(batch, from, to) {
    const n = to - from;
    let nums = this._subNums;
    if (nums.length < n * WIDTH) {
      nums = new Float64Array(Math.max(n * WIDTH, nums.length * 2));
      this._subNums = nums;
    }
    const texts = [];
    const params = [];
    for (let i = 0; i < n; i++) {
      const e = batch[from + i];
      const b = i * WIDTH;
      nums[b + SUB.OP] = e.op;
      nums[b + SUB.ID] = e.id;
      nums[b + SUB.CONN] = e.connId;
      nums[b + SUB.FLAGS] = e.flags;
      nums[b + SUB.TIMEOUT] = e.timeout;
      nums[b + SUB.SQL_NEW] = 0;
      // query() texts usually carry their values (formatted in JS), so they
      // rarely repeat: keeping them would only churn the table.
      if (e.op === OP.EXECUTE || e.op === OP.PREPARE) this._sql(e.sql, true, nums, b, texts);
      else if (e.op === OP.QUERY) this._sql(e.sql, false, nums, b, texts);
      if (e.op === OP.EXECUTE) {
        // All-number values (the usual point select) ride in the row; any
        // other list crosses as its own array, read value by value.
        const p = e.params;
        let inline = -1;
        if (Array.isArray(p) && p.length <= INLINE_MAX) {
          inline = p.length;
          for (let k = 0; k < inline; k++) {
            const v = p[k];
            if (typeof v !== 'number') {
              inline = -1;
              break;
            }
            nums[b + PARAM0 + k] = v;
          }
        }
        nums[b + SUB.NPARAMS] = inline;
        if (inline < 0) params.push(p);
      }
    }
    try {
      FAST.submit(this.handle, nums, n, texts, params);
    } catch (err) {
      // Only a malformed entry can get here; fail that batch, not the process.
      // Native code may not have kept this batch's texts: number them afresh.
      this._sqlSlots.clear();
      for (let i = from; i < to; i++) {
        const p = this._pending.get(batch[i].id);
        this._pending.delete(batch[i].id);
        if (p) p.reject(errors.make('ERR_INVALID_PARAMETER', err.message, TypeError));
      }
    }
  }

  /** Names `sql` by number when `keep`; its text crosses only when new or not kept. */
  _sql(sql, keep, nums, b, texts) {
    const slots = this._sqlSlots;
    let slot = keep ? slots.get(sql) : undefined;
    if (slot === undefined) {
      if (keep && typeof sql === 'string' && sql.length <= SUB.SQL_KEEP_MAX) {
        // Full: number again from 0; each reused number carries its new text.
        if (slots.size >= SUB.SQL_SLOTS) slots.clear();
        slot = slots.size;
        slots.set(sql, slot);
      } else {
        slot = -1;
      }
      nums[b + SUB.SQL_NEW] = 1;
      texts.push(sql);
    }
    nums[b + SUB.SQL] = slot;
  }

  _enqueue(e) {
    this._unsent.push(e);
    // A command on a lent connection goes at once, with whatever waits: its
    // caller holds that connection (a transaction), and each turn it waited
    // would be a turn nobody could use the connection. In the HTTP
    // transaction workload, holding them for the turn cost ~10% of req/s.
    const lent = e.connId !== 0;
    if (this._flushScheduled) {
      if (lent && this._immediateAt >= 0) {
        this._immediateAt = -1;
        queueMicrotask(this._flush);
      }
      return;
    }
    this._flushScheduled = true;
    // While answers are still to come, what the rest of this event-loop turn
    // submits (other sockets' callbacks, as an HTTP server's requests) joins
    // the same submit(): one native call and at most one wake-up of the
    // runtime's worker per turn instead of one per callback. With nothing in
    // flight (one query at a time, the first of a burst), at once.
    if (this._turnBatching && !lent && this._pending.size > this._unsent.length) {
      this._immediateAt = now();
      realSetImmediate(this._flush);
    } else {
      this._immediateAt = -1;
      queueMicrotask(this._flush);
    }
  }

  /** A prepared query()/execute() (lib/command.js) on connId (0 = any pooled one). */
  send(connId, q, forExecute) {
    let id;
    const promise = new Promise((resolve, reject) => {
      id = this.nextId();
      const e = entry(forExecute ? OP.EXECUTE : OP.QUERY, id, connId, q.sql, q.flags, q.timeout, q.params);
      if (connId !== 0) [resolve, reject] = this._countLent(connId, resolve, reject);
      this._pending.set(id, { resolve, reject, q, entry: e });
      this._enqueue(e);
    });
    if (connId !== 0) this._streamable.set(promise, id);
    return promise;
  }

  /**
   * A command on a lent connection that returns no rows: resolves `value`.
   * `sql` (prepare only) goes into the command and onto a server error.
   */
  _lentCommand(op, connId, sql, value) {
    return new Promise((resolve, reject) => {
      const id = this.nextId();
      [resolve, reject] = this._countLent(connId, resolve, reject);
      this._pending.set(id, { resolve: () => resolve(value), reject, q: null, sql });
      this._enqueue(entry(op, id, connId, sql === undefined ? '' : sql, 0, 0, undefined));
    });
  }

  /** COM_PING on a lent connection: resolves true. */
  ping(connId) {
    return this._lentCommand(OP.PING, connId, undefined, true);
  }

  /** COM_RESET_CONNECTION on a lent connection (conn.reset()): resolves undefined. */
  resetSession(connId) {
    return this._lentCommand(OP.RESET, connId, undefined, undefined);
  }

  /** Prepares `sql` on a lent connection (errors surface now): resolves undefined. */
  prepareStatement(connId, sql) {
    return this._lentCommand(OP.PREPARE, connId, sql, undefined);
  }

  /** Ends JS's use of a connection shown to 'connection' listeners, behind what they sent. */
  handBack(connId) {
    this._enqueue(entry(OP.HAND_BACK, 0, connId, '', 0, 0, undefined));
  }

  /** Lends a connection: resolves [connId, threadId]. */
  lend() {
    if (this._ended) return Promise.reject(errors.closed());
    return new Promise((resolve, reject) => {
      const id = this.nextId();
      this._pending.set(id, { resolve, reject, q: null });
      // Queued with the commands (flush keeps call order), so requests of
      // one event-loop turn wake the runtime once between them.
      this._enqueue(entry(LEND, id, 0, '', 0, 0, undefined));
    });
  }

  /** Counts a command on lent connection connId until it settles. */
  _countLent(connId, resolve, reject) {
    const out = this._lentOut;
    out.set(connId, (out.get(connId) || 0) + 1);
    const settled = () => {
      const n = out.get(connId) - 1;
      if (n > 0) out.set(connId, n);
      else out.delete(connId);
    };
    return [
      (v) => {
        settled();
        resolve(v);
      },
      (err) => {
        settled();
        reject(err);
      },
    ];
  }

  /**
   * release() of a lent connection: after the commands JS sent before it.
   * With all of its answers in, native code may hand it straight to the
   * oldest waiting getConnection() of this pool (as mysql2 does in the same
   * tick); that call is settled here with it, under a new id.
   */
  release(connId) {
    this.flush();
    const idle = !this._ended && !this._lentOut.has(connId);
    this._lentOut.delete(connId);
    const handed = this.native.release(connId, idle);
    if (handed == null) return;
    const [id, newConnId, threadId] = handed;
    const p = this._pending.get(id);
    this._pending.delete(id);
    if (p !== undefined) p.resolve([newConnId, threadId]);
    // Nobody waits for it any more: back to the pool, not lost.
    else this.native.release(newConnId, false);
  }

  destroy(connId) {
    this.flush();
    this.native.destroy(connId);
  }

  /** destroy() after release(): closes that connection if it is idle in the pool. */
  destroyReleased(threadId) {
    this.native.destroyReleased(threadId);
  }

  /** end(): resolves (never rejects) once the native pool has stopped. */
  end(graceMs) {
    this.flush();
    return new Promise((resolve) => {
      const id = this.nextId();
      const done = () => {
        this._ended = true;
        resolve();
        this._letGo();
      };
      this._pending.set(id, { resolve: done, reject: done, q: null });
      this.native.end(id, graceMs);
    });
  }

  /**
   * Turns a command on a lent connection, not yet sent, into a streaming one:
   * its rows go to onChunk(set, rows, fields) as they arrive, and the native
   * side pauses after each chunk until ack(). Returns null when the command
   * was already sent (the caller then buffers).
   */
  beginStream(promise, onChunk) {
    const id = this._streamable.get(promise);
    const p = id === undefined ? undefined : this._pending.get(id);
    if (p === undefined || !this._unsent.includes(p.entry)) return null;
    p.entry.flags |= FLAG.STREAM;
    p.onChunk = onChunk;
    return {
      ack: () => this.native.streamAck(id, false),
      done: () => this.native.streamAck(id, true),
    };
  }

  /**
   * Walks one drained batch. Offsets are advanced from the directory alone,
   * so a completion that fails to decode (or whose promise is gone) never
   * shifts the ones after it.
   */
  onWake() {
    const r = FAST.drain(this.handle, this._scratch);
    let dir, text, tags, bin, extra, k, n;
    if (typeof r === 'string') {
      dir = this._scratch;
      text = r;
      tags = this._scratchTags;
      bin = NO_BIN;
      extra = NO_EXTRA;
      k = 1;
      n = 1 + dir[0];
    } else {
      const bytes = r[2];
      dir = r[0];
      text = r[1];
      tags = bytes === null ? null : new Uint8Array(bytes);
      bin = bytes === null ? null : Buffer.from(bytes);
      extra = r[3];
      k = 0;
      n = dir.length;
    }
    let tp = 0;
    while (k < n) {
      const id = dir[k];
      const kind = dir[k + 1];
      k += 2;
      const p = this._pending.get(id);
      if (kind === DONE.WAIT) {
        // A traced command's wait for its connection (lib/otel.js reads it).
        const info = p !== undefined && p.q !== null ? p.q.traceInfo : undefined;
        if (info !== undefined) info.waitMs = dir[k] / 1000;
        k++;
        continue;
      }
      if (kind === DONE.CREDENTIALS) {
        this._onCredentials(dir[k++]);
        continue;
      }
      if (kind === DONE.CHUNK) {
        // Leading rows of a large result: decode now, while the rest arrives.
        const set = dir[k++];
        const rows = this._rowsSet(p, dir, k, text, tp, tags, bin, extra);
        k = rows.next;
        tp = rows.textNext;
        if (p !== undefined) {
          if (rows.error !== null) p.failure = rows.error;
          else if (p.onChunk !== undefined) {
            if (p.failure === undefined) p.failure = streamRows(p, set, rows.value);
          } else if (p.q !== null && p.failure === undefined) (p.chunks || (p.chunks = [])).push([set, rows.value[0]]);
        }
        continue;
      }
      if (p !== undefined) this._pending.delete(id);
      if (kind === DONE.RESULTS) {
        const nsets = dir[k++];
        const sets = nsets === 1 ? null : [];
        let one;
        let failure = p !== undefined && p.failure !== undefined ? p.failure : null;
        for (let s = 0; s < nsets; s++) {
          let item;
          if (dir[k] === SET.ROWS) {
            const rows = this._rowsSet(failure === null ? p : undefined, dir, k, text, tp, tags, bin, extra);
            k = rows.next;
            tp = rows.textNext;
            if (rows.error !== null) failure = rows.error;
            item = rows.value;
            if (item !== undefined && p.chunks !== undefined) {
              const before = p.chunks.filter((c) => c[0] === s).map((c) => c[1]);
              if (before.length > 0) {
                before.push(item[0]);
                item = [joinRows(before), item[1]];
              }
            }
          } else {
            item = [this._header(dir, k, text, tp, extra), undefined];
            tp += dir[k + HEAD.INFO_UNITS];
            k += HEAD.LEN;
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
      } else if (kind === DONE.ERROR) {
        const e = extra[dir[k++]];
        if (p !== undefined) p.reject(errors.fromNative(e, p.q ? p.q.sql : p.sql, this.config));
      } else if (kind === DONE.CONN) {
        const connId = dir[k];
        const threadId = dir[k + 1];
        k += 2;
        if (p !== undefined) {
          try {
            p.resolve([connId, threadId]);
          } catch (err) {
            p.reject(err);
          }
        } else if (id === 0) {
          this._onNewConnection(connId, threadId);
        }
      } else if (p !== undefined) {
        p.resolve();
      }
    }
    // A turn-batched flush still waiting (_enqueue) goes now when it is
    // overdue, or when nothing sent is left to answer: then no later
    // wake-up would come to look again.
    if (this._flushScheduled && this._immediateAt >= 0 && (this._pending.size <= this._unsent.length || now() - this._immediateAt > IMMEDIATE_OVERDUE_MS)) {
      this.flush();
    }
    if (this._ended) this._letGo();
  }

  _header(dir, k, text, tp, extra) {
    const info = text.slice(tp, tp + dir[k + HEAD.INFO_UNITS]);
    const bigId = dir[k + HEAD.BIG_ID_AT];
    const bigRows = dir[k + HEAD.BIG_ROWS_AT];
    const stateAt = dir[k + HEAD.STATE_AT];
    const header = new ResultSetHeader(
      dir[k + HEAD.AFFECTED],
      dir[k + HEAD.INSERT_ID],
      dir[k + HEAD.WARNINGS],
      dir[k + HEAD.STATUS],
      info,
      bigId >= 0 ? extra[bigId] : null,
      bigRows >= 0 ? extra[bigRows] : null,
      this.config.bigNumberStrings,
    );
    if (stateAt >= 0) header.stateChanges = stateChanges(extra[stateAt]);
    return header;
  }

  /**
   * One rows set at dir[k] (it starts with SET.ROWS): registers a new shape,
   * and decodes the rows when `p` wants them. Returns where the next item
   * and the next text start, whatever happened.
   */
  _rowsSet(p, dir, k, text, tp, tags, bin, extra) {
    const shapeId = dir[k + ROWS.SHAPE];
    const newAt = dir[k + ROWS.NEW_SHAPE_AT];
    const nrows = dir[k + ROWS.COUNT];
    const ncells = dir[k + ROWS.CELLS];
    const units = dir[k + ROWS.TEXT_UNITS];
    const tagsAt = dir[k + ROWS.TAGS_AT];
    const binAt = dir[k + ROWS.BIN_AT];
    const numsAt = k + ROWS.LEN;
    if (newAt >= 0) this.shapes[shapeId] = parseMeta(extra[newAt]);
    let value;
    let error = null;
    if (p !== undefined && p.q !== null) {
      try {
        const q = p.q;
        value = decodeRows(
          this.shapes[shapeId],
          q.shape,
          q.typeCast,
          q.timezone,
          this.config.disableEval,
          this._wire,
          dir,
          numsAt,
          tags,
          tagsAt,
          text,
          tp,
          bin,
          binAt,
          nrows,
        );
      } catch (err) {
        error = err;
      }
    }
    return { value, error, next: numsAt + ncells, textNext: tp + units };
  }
}

/**
 * One array of the rows of several chunks. Sized once: Array#flat grows
 * its result an element at a time through the engine's slow path (6% of
 * the JS thread on a 10,000-row result).
 */
function joinRows(parts) {
  let n = 0;
  for (const part of parts) n += part.length;
  const out = new Array(n);
  let at = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) out[at++] = part[i];
  }
  return out;
}

module.exports = { Transport };
