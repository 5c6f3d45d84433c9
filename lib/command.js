'use strict';
// What one mysql2-style call becomes before it crosses to native code: the
// SQL (formatted client-side for query(), as mysql2 does), the conversion
// flags, the result shape options, and execute()'s parameters. Pure: no
// pool, no I/O, so it is unit-tested on its own.
const util = require('node:util');
const SqlEscaper = require('sql-escaper');
const errors = require('./errors');
const { statementEnd } = require('./statements');
const { isDdl } = require('./sql');
const { replayable, plainValues } = require('./replayable');
const { normalTimezone } = require('./config');

// LOAD DATA LOCAL makes the server read the next bytes as file content; a
// character-set change alters how the commands behind it are encoded.
const ALONE_WORDS = /\b(?:LOAD|NAMES|CHARSET|CHARACTER)\b/i;
const { FLAG } = require('./wire');

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
// Drizzle makes a new typeCast closure per query, so the WeakMap misses;
// its source text repeats, and a Map lookup costs less than normalising it
// again (two regex passes were 4% of a Drizzle select's CPU). Bounded:
// arbitrary user functions must not grow it.
const typeCastSources = new Map();
const TYPECAST_SOURCES_MAX = 64;
// The last source read and its answer: Drizzle's closures share one text,
// and comparing it with the last one is ~7x cheaper than the WeakMap miss
// plus hashing the new text for the Map (0.43 against 0.06 µs a query;
// 1.8% of a Drizzle select's main thread).
let lastSource = null;
let lastKnown = false;
function isDateStringsTypeCast(fn) {
  const raw = Function.prototype.toString.call(fn);
  if (raw === lastSource) return lastKnown;
  let known = typeCastKinds.get(fn);
  if (known === undefined) {
    known = typeCastSources.get(raw);
    if (known === undefined) {
      const src = raw.replace(/\s+/g, '').replace(/'/g, '"');
      known = src === DRIZZLE_TYPECAST || src === DRIZZLE_TYPECAST.replace('function(', '(').replace('){if', ')=>{if');
      if (typeCastSources.size >= TYPECAST_SOURCES_MAX) typeCastSources.clear();
      typeCastSources.set(raw, known);
    }
    typeCastKinds.set(fn, known);
  }
  lastSource = raw;
  lastKnown = known;
  return known;
}

// mysql2 (helpers.typeMatch): an array names the types, any other truthy
// value (true, 1, 'DATE') means all three.
function dateStringFlags(ds) {
  if (!Array.isArray(ds)) return ds ? FLAG.DATE_STRINGS_DATE | FLAG.DATE_STRINGS_DATETIME | FLAG.DATE_STRINGS_TIMESTAMP : 0;
  let f = 0;
  if (ds.includes('DATE')) f |= FLAG.DATE_STRINGS_DATE;
  if (ds.includes('DATETIME')) f |= FLAG.DATE_STRINGS_DATETIME;
  if (ds.includes('TIMESTAMP')) f |= FLAG.DATE_STRINGS_TIMESTAMP;
  return f;
}

const EMPTY = Object.freeze({});
// Drizzle asks every select for arrays: one shared options object.
const AS_ARRAYS = Object.freeze({ rowsAsArray: true, nestTables: undefined });

/**
 * Everything one command needs, from mysql2's call forms:
 * (sql), (sql, values), ({ sql, values, ...options }), ({...}, values).
 */
function prepare(cfg, sql, values, forExecute) {
  let o = EMPTY;
  if (sql !== null && typeof sql === 'object') {
    o = sql;
    sql = o.sql;
    // mysql2: query()'s second argument wins over options.values;
    // execute() takes options.values when it is set (`options.values || values`).
    if (forExecute) values = o.values || values;
    else if (values === undefined) values = o.values;
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
  // As mysql2's parsers read them: a query's timezone, dateStrings and
  // big-number options add to the pool's (`||`); jsonStrings is the pool's
  // alone. A query's own typeCast and decimalNumbers count here; mysql2's
  // answer for those depends on its parser cache (README "Known differences").
  const cast = o.typeCast !== undefined ? o.typeCast : cfg.typeCast;
  let flags = 0;
  const sbn = o.supportBigNumbers || cfg.supportBigNumbers;
  if (sbn) flags |= FLAG.SUPPORT_BIG_NUMBERS;
  if (sbn && (o.bigNumberStrings || cfg.bigNumberStrings)) flags |= FLAG.BIG_NUMBER_STRINGS;
  if (o.decimalNumbers || cfg.decimalNumbers) flags |= FLAG.DECIMAL_NUMBERS;
  let timezone = cfg.timezone;
  if (o.timezone) {
    timezone = normalTimezone(o.timezone);
    if (timezone === null) {
      throw errors.make(
        'ERR_INVALID_QUERY',
        `The query's timezone must be a string ('local', 'Z' or an offset like '+05:30'), got ${typeof o.timezone}`,
        TypeError,
      );
    }
  }
  if (cfg.jsonStrings) flags |= FLAG.JSON_STRINGS;
  flags |= dateStringFlags(o.dateStrings || cfg.dateStrings);
  let typeCast = cast;
  if (typeof cast === 'function') {
    if (isDateStringsTypeCast(cast)) {
      flags |= FLAG.DATE_STRINGS_DATE | FLAG.DATE_STRINGS_DATETIME | FLAG.DATE_STRINGS_TIMESTAMP;
      typeCast = true;
    } else {
      flags |= FLAG.RAW;
    }
  } else if (cast === false) {
    flags |= FLAG.ALL_BUFFERS;
  }
  // Any truthy value means arrays, as in mysql2 (the row builder cache
  // keys on exactly true).
  const rowsAsArray = Boolean(o.rowsAsArray !== undefined ? o.rowsAsArray : cfg.rowsAsArray);
  let nestTables = o.nestTables !== undefined ? o.nestTables : cfg.nestTables;
  // mysql2's parsers nest for exactly true and prefix for a string; any other
  // value gives plain rows (and is never turned into text here: a Symbol or a
  // null-prototype object threw an uncoded TypeError from the cache key).
  if (nestTables !== undefined && typeof nestTables !== 'string' && typeof nestTables !== 'boolean') {
    if (typeof nestTables === 'symbol') throw errors.make('ERR_INVALID_QUERY', 'nestTables must be true, false or a separator string, got a symbol', TypeError);
    nestTables = false;
  }
  const shape = nestTables === undefined ? (rowsAsArray ? AS_ARRAYS : EMPTY) : { rowsAsArray, nestTables };
  // What the server will run is read from the template when formatting
  // only adds quoted literals: applications repeat templates, so the
  // reading is cached. Only pipelines read the flag.
  const piped = cfg.pipelining > 0;
  const again = !piped ? false : forExecute || (!cfg.queryFormat && plainValues(values)) ? replayable(sql, true) : null;
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
  // DDL may change which MariaDB columns are JSON (src/json_columns.rs).
  if (isDdl(sql)) flags |= FLAG.DDL;
  // Never pipelined (src/pipeline.rs): a word anywhere, strings included,
  // is enough; a false match only costs the pipeline.
  if ((!forExecute && cfg.multipleStatements) || (typeof sql === 'string' && ALONE_WORDS.test(sql))) flags |= FLAG.ALONE;
  // May be sent again if its connection is lost unanswered (src/pipeline.rs).
  if (again ?? (typeof sql === 'string' && replayable(sql, false))) flags |= FLAG.REPLAYABLE;
  return { sql, params, flags, shape, typeCast, timeout, timezone };
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
      throw errors.make(
        'ERR_INVALID_PARAMETER',
        'Bind parameters must not contain function(s). To pass the body of a function as a string call .toString() first',
        TypeError,
      );
    }
    // Realm-independent: a Date from a vm context or an isolating test runner too.
    if (util.types.isDate(v)) out[i] = wallClock(v, timezone);
    else if (typeof v === 'bigint')
      out[i] = v.toString(); // mysql2 binds BigInt as text
    else if (typeof v === 'symbol')
      out[i] = String(v); // mysql2: value.toString()
    else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) out[i] = objectParam(v, i);
    else out[i] = v;
  }
  return out;
}

/** Arrays, plain objects and objects with toJSON() (mysql2's isJSON), any realm. */
function isJsonParam(v) {
  if (Array.isArray(v) || v.constructor === Object || typeof v.toJSON === 'function') return true;
  const proto = Object.getPrototypeOf(v);
  return proto !== null && Object.getPrototypeOf(proto) === null && typeof proto.constructor === 'function' && proto.constructor.name === 'Object';
}

/**
 * An object parameter as mysql2 binds it: JSON text for isJSON values; the
 * bytes of an ArrayBuffer and the text of a String object (its Buffer.from
 * fallback). Typed arrays and DataViews bind their bytes (mysql2 copies each
 * element into one byte; README "Known differences"). Anything else (a Map, a
 * Set, a class instance without toJSON, a Number object) is refused, as
 * mysql2's Buffer.from refuses it, before any of its code runs.
 */
function objectParam(v, i) {
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (util.types.isDate(v)) return v;
  if (isJsonParam(v)) return JSON.stringify(v);
  if (util.types.isAnyArrayBuffer(v)) return Buffer.from(v);
  if (util.types.isStringObject(v)) return String.prototype.valueOf.call(v);
  const tag = Object.prototype.toString.call(v).slice(8, -1);
  throw errors.make(
    'ERR_INVALID_PARAMETER',
    `Bind parameter ${i + 1} (${tag === 'Object' ? 'an object that is not a plain object' : `a ${tag}`}) cannot be sent: pass an array, a plain object or an object with toJSON() (sent as JSON), a Date, a Buffer, a typed array, an ArrayBuffer or a primitive`,
    TypeError,
  );
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

module.exports = { prepare, executeParams, wallClock, isDateStringsTypeCast };
