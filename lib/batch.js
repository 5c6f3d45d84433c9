'use strict';
// pool.batch(sql, rows) and conn.batch(sql, rows): one parameterised
// INSERT/REPLACE/UPDATE/DELETE and an array of parameter rows, in few round
// trips (the mariadb connector's batch() API). README: "Bulk writes".
//
// - INSERT/REPLACE ... VALUES (...) [suffix]: the VALUES list is repeated
//   once per row, each row's values escaped client-side, into statements of
//   at most MAX_CHUNK_ROWS rows and min(max_allowed_packet - margin,
//   MAX_CHUNK_BYTES) bytes, sent one after the other. The suffix (ON
//   DUPLICATE KEY UPDATE ..., a row alias) stays once at the end.
// - Anything else (UPDATE, DELETE, INSERT ... SET / SELECT, placeholders
//   outside the VALUES list): one execute() per row on one connection,
//   pipelined.
// - More than one statement runs in a transaction: pool.batch always opens
//   one on its own connection; conn.batch only when the connection is in
//   autocommit mode and not already in a transaction (read from the status
//   flags of a `DO 0`). One statement is atomic on its own and runs alone.
// - Values follow execute()'s rules (Dates in the pool's timezone, objects
//   and arrays as JSON, BigInt as text, undefined refused), written as SQL
//   literals by sql-escaper, the escaper query() uses.
// - Every row is checked and escaped before anything is sent: bad input
//   fails with a code and no round trip.
const util = require('node:util');
const SqlEscaper = require('sql-escaper');
const errors = require('./errors');
const { Lexer, TOKEN } = require('./sql');
const { executeParams } = require('./command');
const { ResultSetHeader } = require('./rows');

const { END, COMMENT, EXEC_COMMENT, WORD, SEMICOLON, OPEN, CLOSE, OTHER } = TOKEN;

/** Rows per multi-row statement at most. */
const MAX_CHUNK_ROWS = 5000;
/** Bytes per statement at most, whatever max_allowed_packet allows. */
const MAX_CHUNK_BYTES = 4 * 1024 * 1024;
/** Kept below max_allowed_packet: the command byte, and room to spare. */
const PACKET_MARGIN = 1024;
/** Per-row executes in flight at once. */
const PIPELINE = 1000;
/** Used if the server's max_allowed_packet cannot be read as a number. */
const FALLBACK_PACKET = 1024 * 1024;

// Server status flags of an OK packet.
const SERVER_STATUS_IN_TRANS = 1;
const SERVER_STATUS_AUTOCOMMIT = 2;

const VERBS = new Set(['INSERT', 'REPLACE', 'UPDATE', 'DELETE']);
// Words at depth 0 before VALUES that mean the rows do not come from a
// VALUES list (INSERT ... SELECT / SET / TABLE, or ON DUPLICATE KEY UPDATE
// reached without one).
const NOT_A_VALUES_INSERT = new Set(['SELECT', 'SET', 'TABLE', 'WITH', 'ON', 'UPDATE', 'DUPLICATE']);

const EMPTY = Object.freeze({});

let namedCompiler = null;
function toPositional(sql, values) {
  if (namedCompiler === null) namedCompiler = require('named-placeholders')();
  return namedCompiler(sql, values);
}

function invalidQuery(message) {
  return errors.make('ERR_INVALID_QUERY', message, TypeError);
}

function invalidParameter(message, cause) {
  const e = errors.make('ERR_INVALID_PARAMETER', message, TypeError);
  if (cause !== undefined) e.cause = cause;
  return e;
}

// ---- parsing ---------------------------------------------------------------

/**
 * What batch() needs to know about a statement with `?` placeholders:
 * `sql` (without a trailing ';'), `verb`, `placeholders` (-1 when an
 * executable comment holds a '?', which only the server can count), and
 * `multi` when rows can be merged: { head, segs, tail, headBytes,
 * tailBytes }, where one row is segs[0] + v0 + segs[1] + ... + segs[n].
 */
function parse(sql) {
  const lx = new Lexer(sql);
  if (lx.nextSignificant() !== WORD) throw invalidQuery('batch() takes an INSERT, REPLACE, UPDATE or DELETE statement');
  const verb = sql.slice(lx.start, lx.pos).toUpperCase();
  if (!VERBS.has(verb)) throw invalidQuery(`batch() takes an INSERT, REPLACE, UPDATE or DELETE statement, not ${verb}`);
  const inserts = verb === 'INSERT' || verb === 'REPLACE';
  // state, for INSERT/REPLACE: 0 before VALUES, 1 VALUES seen, 2 in a
  // tuple of the list, 3 after a tuple, 4 after a ',' between tuples,
  // 5 in the suffix; -1: not a VALUES insert.
  let state = inserts ? 0 : -1;
  let depth = 0;
  let listStart = -1;
  let listEnd = -1;
  let end = sql.length;
  let hidden = false; // a '?' inside an executable comment
  const marks = []; // placeholder offsets
  for (;;) {
    const kind = lx.next();
    if (kind === END) break;
    const start = lx.start;
    if (kind === COMMENT) continue;
    if (kind === EXEC_COMMENT) {
      const q = sql.indexOf('?', start);
      if (q !== -1 && q < lx.pos) hidden = true;
      continue;
    }
    if (kind === SEMICOLON && depth === 0) {
      let k;
      do k = lx.nextSignificant();
      while (k === SEMICOLON);
      if (k !== END) throw invalidQuery('batch() takes one statement; this SQL holds more than one');
      end = start;
      break;
    }
    if (state === 3) {
      if (kind === OTHER && sql.charCodeAt(start) === 44 /* , */) {
        state = 4;
        continue;
      }
      state = 5;
    } else if (state === 4) {
      state = kind === OPEN ? 2 : -1;
    } else if (state === 1) {
      if (kind === OPEN) {
        listStart = start;
        state = 2;
      } else state = -1;
    }
    if (kind === OPEN) depth++;
    else if (kind === CLOSE) {
      depth--;
      if (depth === 0 && state === 2) {
        state = 3;
        listEnd = lx.pos;
      }
    } else if (kind === OTHER) {
      if (sql.charCodeAt(start) === 63 /* ? */) marks.push(start);
    } else if (kind === WORD && depth === 0) {
      const word = sql.slice(start, lx.pos).toUpperCase();
      if (word === 'RETURNING') throw invalidQuery('batch() returns one ResultSetHeader: RETURNING is not supported');
      if (state === 0) {
        if (word === 'VALUES' || word === 'VALUE') state = 1;
        else if (NOT_A_VALUES_INSERT.has(word)) state = -1;
      }
    }
  }
  // the list may run to the end (or to the ';')
  if (state === 3) state = 5;
  const text = end === sql.length ? sql : sql.slice(0, end);
  const plan = { sql: text, verb, placeholders: hidden ? -1 : marks.length, multi: null };
  if (state !== 5 || hidden || marks.length === 0) return plan;
  // Mergeable only if every placeholder is in the VALUES list: one head and
  // one tail for all rows. (A list without any is not merged: then VALUE
  // may have been a table called `value`.)
  for (const m of marks) if (m < listStart || m >= listEnd) return plan;
  const segs = [];
  let at = listStart;
  for (const m of marks) {
    segs.push(sql.slice(at, m));
    at = m + 1;
  }
  segs.push(sql.slice(at, listEnd));
  const head = sql.slice(0, listStart);
  const tail = sql.slice(listEnd, end);
  plan.multi = { head, segs, tail, headBytes: Buffer.byteLength(head), tailBytes: Buffer.byteLength(tail) };
  return plan;
}

// A small cache: the same statement is usually batched again and again.
// Texts are keys and plans hold their pieces, so only short texts are kept
// (256 of at most 16 K characters each).
const plans = new Map();
const PLANS_MAX = 256;
const PLAN_SQL_MAX = 16 << 10;
function planFor(sql) {
  let plan = plans.get(sql);
  if (plan === undefined) {
    plan = parse(sql);
    if (sql.length > PLAN_SQL_MAX) return plan;
    if (plans.size >= PLANS_MAX) plans.clear();
    plans.set(sql, plan);
  }
  return plan;
}

/** How many plans the cache holds, and their texts' characters (for tests). */
function plansCached() {
  let chars = 0;
  for (const k of plans.keys()) chars += k.length;
  return { entries: plans.size, chars };
}

// ---- values ----------------------------------------------------------------

/**
 * One bound value as an SQL literal, by execute()'s rules: strings, numbers,
 * booleans, null and Buffers directly; everything else (Dates, BigInt,
 * objects as JSON, typed arrays, and the refused undefined and functions)
 * through command.js's executeParams(), as execute() takes them.
 */
function literal(v, timezone) {
  switch (typeof v) {
    case 'string':
      return SqlEscaper.escape(v);
    case 'number':
      if (!Number.isFinite(v)) throw invalidParameter(`${v} cannot be stored in MySQL`);
      return '' + v;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      if (v === null) return 'NULL';
      if (Buffer.isBuffer(v)) return SqlEscaper.escape(v);
      break;
  }
  const b = executeParams([v], timezone)[0];
  if (typeof b === 'string') return SqlEscaper.escape(b);
  if (Buffer.isBuffer(b)) return SqlEscaper.escape(b);
  // a wall-clock Date: its UTC fields are the time in the pool's timezone
  if (util.types.isDate(b)) return SqlEscaper.escape(b, false, 'Z');
  throw invalidParameter(`a value of type ${typeof v} cannot be bound`);
}

function isNamedRow(r) {
  return r !== null && typeof r === 'object' && !Array.isArray(r) && !Buffer.isBuffer(r) && !ArrayBuffer.isView(r) && !util.types.isDate(r);
}

/** Row i's values as an array of the statement's length (or throws). */
function rowValues(plan, row, i, width) {
  let values = row;
  if (!Array.isArray(row)) {
    // mariadb's shorthand: a statement with one placeholder takes bare values.
    if (plan.placeholders === 1) values = [row];
    else throw invalidParameter(`batch() rows must be arrays of values: row ${i} is ${row === null ? 'null' : typeof row}`);
  }
  if (values.length !== width) {
    throw invalidParameter(
      plan.placeholders === -1
        ? `batch() rows must all have the same length: row ${i} has ${values.length} values, row 0 has ${width}`
        : `batch() row ${i} has ${values.length} values; the statement has ${width} placeholder${width === 1 ? '' : 's'}`,
    );
  }
  return values;
}

function withRow(err, i) {
  if (err !== null && typeof err === 'object' && typeof err.message === 'string') err.message = `batch() row ${i}: ${err.message}`;
  return err;
}

/**
 * Everything about one batch call that needs no server: the parsed
 * statement, the rows as positional arrays, and for a merged insert each
 * row's SQL text and its UTF-8 length. Throws coded errors on bad input.
 */
function prepareBatch(cfg, sql, rows) {
  let o = EMPTY;
  if (sql !== null && typeof sql === 'object') {
    o = sql;
    sql = o.sql;
    if (rows === undefined) rows = o.values;
  }
  if (typeof sql !== 'string') {
    throw invalidQuery(`The SQL must be a string, got ${sql === null ? 'null' : typeof sql}`);
  }
  if (!Array.isArray(rows)) {
    throw invalidParameter(`batch() needs an array of parameter rows, got ${rows === null ? 'null' : typeof rows}`);
  }
  let values = rows;
  let text = sql;
  const named = o.namedPlaceholders !== undefined ? o.namedPlaceholders : cfg.namedPlaceholders;
  if (named && rows.length > 0 && isNamedRow(rows[0])) {
    text = toPositional(sql, rows[0])[0];
    values = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      if (!isNamedRow(rows[i])) throw invalidParameter(`batch() with named placeholders: row ${i} is not an object like row 0`);
      values[i] = toPositional(sql, rows[i])[1];
    }
  }
  const plan = planFor(text);
  const n = values.length;
  const width = plan.placeholders !== -1 ? plan.placeholders : n > 0 && Array.isArray(values[0]) ? values[0].length : 0;
  const positional = new Array(n);
  for (let i = 0; i < n; i++) positional[i] = rowValues(plan, values[i], i, width);
  const job = { plan, template: sql, rows: positional, count: n, options: queryOptions(o), texts: null, chars: 0 };
  const tz = cfg.timezone;
  if (plan.multi !== null) {
    const segs = plan.multi.segs;
    const texts = new Array(n);
    let chars = 0;
    // Each row's pieces joined into one flat string: a row built with +=
    // stays a tree of small strings while the batch runs (peak memory).
    const parts = new Array(2 * width + 1);
    parts[0] = segs[0];
    for (let i = 0; i < n; i++) {
      const row = positional[i];
      try {
        for (let k = 0; k < width; k++) {
          parts[2 * k + 1] = literal(row[k], tz);
          parts[2 * k + 2] = segs[k + 1];
        }
      } catch (err) {
        throw withRow(codedError(err), i);
      }
      const s = parts.join('');
      texts[i] = s;
      chars += s.length;
    }
    job.texts = texts;
    job.chars = chars;
    // The texts say it all now; nothing keeps the caller's rows alive.
    job.rows = null;
  } else {
    // execute() binds them; checked here so that no row fails half-way.
    for (let i = 0; i < n; i++) {
      const row = positional[i];
      try {
        for (let k = 0; k < row.length; k++) literal(row[k], tz);
      } catch (err) {
        throw withRow(codedError(err), i);
      }
    }
  }
  return job;
}

function codedError(err) {
  if (err !== null && typeof err === 'object' && typeof err.code === 'string') return err;
  return invalidParameter(`Cannot encode the batch values: ${err && err.message ? err.message : String(err)}`, err);
}

/** The caller's per-statement options (timeout, ...) without the batch's own. */
function queryOptions(o) {
  if (o === EMPTY) return EMPTY;
  const { sql, values, namedPlaceholders, ...rest } = o;
  return Object.keys(rest).length === 0 ? EMPTY : rest;
}

function withSql(options, sql) {
  return options === EMPTY ? sql : { ...options, sql };
}

// ---- chunks ----------------------------------------------------------------

/** [start, end) row ranges, each one statement under the packet budget. */
function chunkRanges(job, maxPacket) {
  const budget = Math.max(1, Math.min(maxPacket - Math.min(PACKET_MARGIN, maxPacket >> 2), MAX_CHUNK_BYTES));
  const fixed = job.plan.multi.headBytes + job.plan.multi.tailBytes;
  const n = job.count;
  const ranges = [];
  // A UTF-16 unit is at most 3 UTF-8 bytes: if that bound fits, only the
  // row cap splits, into equal parts, and no byte is counted.
  if (fixed + 3 * job.chars + n <= budget) {
    const parts = Math.ceil(n / MAX_CHUNK_ROWS);
    for (let p = 0; p < parts; p++) ranges.push([Math.floor((p * n) / parts), Math.floor(((p + 1) * n) / parts)]);
    return ranges;
  }
  const texts = job.texts;
  let start = 0;
  let size = fixed + Buffer.byteLength(texts[0]);
  for (let i = 1; i < n; i++) {
    const b = Buffer.byteLength(texts[i]) + 1; // and a ','
    if (size + b > budget || i - start >= MAX_CHUNK_ROWS) {
      ranges.push([start, i]);
      start = i;
      size = fixed + b - 1;
    } else size += b;
  }
  ranges.push([start, n]);
  return ranges;
}

function statement(job, [start, end]) {
  const m = job.plan.multi;
  // join() writes one flat string; += would build a tree of 2n cons
  // strings first (peak memory of a 10,000-row batch).
  const texts = job.texts;
  const list = start === 0 && end === texts.length ? texts.join(',') : texts.slice(start, end).join(',');
  return m.head + list + m.tail;
}

// max_allowed_packet, read once per pool.
const packets = new WeakMap();
const PACKET_SQL = { sql: 'SELECT @@max_allowed_packet', rowsAsArray: true, typeCast: true };

function firstValue(row) {
  let v = row;
  while (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) v = Array.isArray(v) ? v[0] : Object.values(v)[0];
  return v;
}

function maxPacket(pool, via) {
  let p = packets.get(pool);
  if (p === undefined) {
    p = via.query(PACKET_SQL).then(([rows]) => {
      const v = Number(firstValue(rows[0]));
      return Number.isFinite(v) && v > 0 ? v : FALLBACK_PACKET;
    });
    packets.set(pool, p);
    p.catch(() => {
      if (packets.get(pool) === p) packets.delete(pool);
    });
  }
  return p;
}

// ---- results ---------------------------------------------------------------

const INFO_NUMBERS = /\d+/g;

/** Infos of the same form ("Records: 3  Duplicates: 0  Warnings: 0") summed; '' otherwise. */
function sumInfo(headers) {
  const first = headers[0].info;
  if (typeof first !== 'string' || first === '') return '';
  const form = first.replace(INFO_NUMBERS, '#');
  const sums = first.match(INFO_NUMBERS).map(Number);
  for (let i = 1; i < headers.length; i++) {
    const info = headers[i].info;
    if (typeof info !== 'string' || info.replace(INFO_NUMBERS, '#') !== form) return '';
    const nums = info.match(INFO_NUMBERS);
    for (let k = 0; k < sums.length; k++) sums[k] += Number(nums[k]);
  }
  let k = 0;
  return first.replace(INFO_NUMBERS, () => String(sums[k++]));
}

/** One header for the batch: summed counts, the first insertId, the last status. */
function summed(headers, cfg, serverStatus) {
  let affected = 0;
  let warnings = 0;
  let changed = 0;
  for (const h of headers) {
    affected += Number(h.affectedRows);
    warnings += h.warningStatus;
    changed += h.changedRows;
  }
  const last = headers[headers.length - 1];
  const out = new ResultSetHeader(
    affected,
    0,
    warnings,
    serverStatus === undefined ? last.serverStatus : serverStatus,
    sumInfo(headers),
    null,
    null,
    cfg.bigNumberStrings,
  );
  out.insertId = headers[0].insertId;
  out.changedRows = changed;
  return out;
}

function emptyHeader(cfg) {
  return new ResultSetHeader(0, 0, 0, 0, '', null, null, cfg.bigNumberStrings);
}

/** The header of one statement's [result, fields]. */
function headerOf(result, job) {
  const h = result[0];
  if (h === null || typeof h !== 'object' || Array.isArray(h)) {
    throw invalidQuery(`batch() expects statements that return no rows: ${job.plan.verb} returned a result set`);
  }
  return h;
}

// ---- running -----------------------------------------------------------------

/** A merged statement's error names the caller's SQL, not megabytes of values. */
function tagged(err, job) {
  if (job.plan.multi !== null && err !== null && typeof err === 'object' && typeof err.sql === 'string') err.sql = job.template;
  return err;
}

/** Headers of every statement of the batch, on `conn`, in order. */
async function runStatements(conn, job, ranges) {
  const headers = [];
  if (ranges !== null) {
    for (const r of ranges) headers.push(headerOf(await conn.query(withSql(job.options, statement(job, r))), job));
    return headers;
  }
  // One execute() per row, PIPELINE at a time; the first failure in row
  // order is the batch's error (rows already sent after it may have run).
  const sql = withSql(job.options, job.plan.sql);
  for (let i = 0; i < job.count; i += PIPELINE) {
    const end = Math.min(job.count, i + PIPELINE);
    const calls = [];
    for (let j = i; j < end; j++) calls.push(conn.execute(sql, job.rows[j]));
    const settled = await Promise.allSettled(calls);
    for (const s of settled) {
      if (s.status === 'rejected') throw s.reason;
      headers.push(headerOf(s.value, job));
    }
  }
  return headers;
}

/**
 * Statements on `conn`, in a transaction when `wrap`: resolves to the summed
 * header. `broken` is called when a ROLLBACK after a failure failed too.
 */
async function runWrapped(conn, job, ranges, wrap, broken) {
  if (!wrap) return summed(await runStatements(conn, job, ranges), conn.config);
  await conn.query('START TRANSACTION');
  try {
    const headers = await runStatements(conn, job, ranges);
    const [done] = await conn.query('COMMIT');
    return summed(headers, conn.config, done.serverStatus);
  } catch (err) {
    try {
      await conn.query('ROLLBACK');
    } catch {
      broken();
    }
    throw err;
  }
}

/** The merged statements' ranges, or null for one execute() per row. */
async function rangesFor(pool, via, job) {
  if (job.plan.multi === null) return null;
  return chunkRanges(job, await maxPacket(pool, via));
}

/** pool.batch(): one connection, one transaction (unless it is one statement). */
function poolBatch(pool, sql, rows) {
  if (pool._closed) return Promise.reject(errors.closed());
  let job;
  try {
    job = prepareBatch(pool.config, sql, rows);
  } catch (err) {
    return Promise.reject(err);
  }
  if (job.count === 0) return Promise.resolve(emptyHeader(pool.config));
  return runPoolBatch(pool, job).catch((err) => {
    throw tagged(err, job);
  });
}

async function runPoolBatch(pool, job) {
  const ranges = await rangesFor(pool, pool, job);
  // One statement is atomic by itself: any pooled connection, no transaction.
  if (ranges !== null && ranges.length === 1) {
    const text = statement(job, ranges[0]);
    // Not kept alive while the statement runs (a batch's texts are as large
    // as the statement; peak memory of back-to-back batches).
    job.texts = null;
    return summed([headerOf(await pool.query(withSql(job.options, text)), job)], pool.config);
  }
  if (ranges === null && job.count === 1) {
    return summed([headerOf(await pool.execute(withSql(job.options, job.plan.sql), job.rows[0]), job)], pool.config);
  }
  const conn = await pool.getConnection();
  // A connection whose ROLLBACK failed is in an unknown state: closed.
  let unsafe = false;
  try {
    return await runWrapped(conn, job, ranges, true, () => {
      unsafe = true;
    });
  } finally {
    if (unsafe) conn.destroy();
    else conn.release();
  }
}

/**
 * conn.batch(): on the lent connection. In the caller's transaction (or with
 * autocommit off) the caller owns commit and rollback; otherwise a batch of
 * more than one statement runs in a transaction of its own.
 */
function connBatch(conn, sql, rows) {
  if (conn._released) return conn._send('', undefined, false);
  let job;
  try {
    job = prepareBatch(conn.config, sql, rows);
  } catch (err) {
    return Promise.reject(err);
  }
  if (job.count === 0) return Promise.resolve(emptyHeader(conn.config));
  return runConnBatch(conn, job).catch((err) => {
    throw tagged(err, job);
  });
}

async function runConnBatch(conn, job) {
  const ranges = await rangesFor(conn._pool, conn, job);
  const statements = ranges !== null ? ranges.length : job.count;
  let wrap = false;
  if (statements > 1) {
    const [probe] = await conn.query('DO 0');
    const status = probe.serverStatus;
    wrap = (status & SERVER_STATUS_IN_TRANS) === 0 && (status & SERVER_STATUS_AUTOCOMMIT) !== 0;
  }
  // A failed ROLLBACK leaves the connection to its owner, who sees the error.
  return runWrapped(conn, job, ranges, wrap, () => {});
}

module.exports = { poolBatch, connBatch, parse, prepareBatch, chunkRanges, statement, sumInfo, plansCached, MAX_CHUNK_ROWS, MAX_CHUNK_BYTES };
