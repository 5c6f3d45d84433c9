'use strict';
// Turns the native columnar batch (see src/convert.rs) into mysql2's
// [rows, fields]. Column metadata and a row builder are made once per
// result shape and cached, like mysql2's parser cache.
const { inspect: utilInspect } = require('node:util');

// Column kinds and cell tags are src/wire.rs's.
const { KIND, TAG } = require('./wire');

// JSON with supportBigNumbers, as mysql2 parses it: where JSON.parse exposes
// the source text (Node >= 21, or --harmony-json-parse-with-source), an
// integer beyond 2^53 keeps its digits as a string.
const jsonSourceAccess = (() => {
  let seen = false;
  JSON.parse('0', (key, value, context) => {
    seen = context !== undefined && typeof context.source === 'string';
    return value;
  });
  return seen;
})();
const SIXTEEN_DIGITS = /\d{16}/;
const INTEGER_SOURCE = /^-?\d+$/;
function keepBigIntegers(key, value, context) {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && context !== undefined && INTEGER_SOURCE.test(context.source)) {
    return context.source;
  }
  return value;
}
function parseJsonBig(text) {
  return jsonSourceAccess && SIXTEEN_DIGITS.test(text) ? JSON.parse(text, keepBigIntegers) : JSON.parse(text);
}

// A MariaDB column found to be JSON by its json_valid check
// (src/json_columns.rs) holds valid JSON, unless a temporary table or a
// derived-table alias shadows the table the lookup read: then its text comes
// back as it is, never a parse error.
function loosely(parse) {
  return (text) => {
    try {
      return parse(text);
    } catch {
      return text;
    }
  };
}
const jsonLoose = loosely(JSON.parse);
const jsonBigLoose = loosely(parseJsonBig);

// mysql2's type names (field.type in typeCast), by protocol type number.
// biome-ignore format: a table, several entries a line
const TYPE_NAMES = {
  0: 'DECIMAL', 1: 'TINY', 2: 'SHORT', 3: 'LONG', 4: 'FLOAT', 5: 'DOUBLE', 6: 'NULL', 7: 'TIMESTAMP',
  8: 'LONGLONG', 9: 'INT24', 10: 'DATE', 11: 'TIME', 12: 'DATETIME', 13: 'YEAR', 14: 'NEWDATE',
  15: 'VARCHAR', 16: 'BIT', 17: 'TIMESTAMP2', 18: 'DATETIME2', 19: 'TIME2', 242: 'VECTOR', 245: 'JSON',
  246: 'NEWDECIMAL', 247: 'ENUM', 248: 'SET', 249: 'TINY_BLOB', 250: 'MEDIUM_BLOB', 251: 'LONG_BLOB',
  252: 'BLOB', 253: 'VAR_STRING', 254: 'STRING', 255: 'GEOMETRY',
};

// Node encodings for the collations a utf8mb4 connection can report.
function encodingOf(charset) {
  if (charset === 63) return 'binary';
  if ([5, 8, 15, 31, 47, 48, 49, 94].includes(charset)) return 'cp1252';
  if (charset === 11 || charset === 65) return 'ascii';
  return 'utf8';
}

// mysql2 names types from its own table, which has no TIMESTAMP2,
// DATETIME2 or TIME2: inspection shows those as undefined, as it does.
const INSPECT_TYPE_NAMES = { ...TYPE_NAMES, 17: undefined, 18: undefined, 19: undefined };
const UNSIGNED_FLAG = 32;
// Column flags shown by util.inspect, in mysql2's order; the others are
// left out there (implied by the type or not a column property).
// biome-ignore format: a table, several entries a line
const INSPECT_FLAGS = [
  [1, 'NOT NULL'], [2, 'PRIMARY KEY'], [4, 'UNIQUE_KEY'], [64, 'ZEROFILL'], [256, 'ENUM'],
  [512, 'AUTO_INCREMENT'], [2048, 'SET'], [8192, 'ON UPDATE CURRENT_TIMESTAMP'], [32768, 'NUM'],
];

// SQL-like type text of a column, as mysql2's ColumnDefinition shows it
// (lengths assume utf8mb4, 4 bytes a character, as there).
function inspectTypeName(f) {
  const unsigned = (f.flags & UNSIGNED_FLAG) !== 0;
  const len = f.columnLength;
  const name = INSPECT_TYPE_NAMES[f.columnType];
  let t;
  switch (name) {
    case 'BLOB':
      if (len === 4294967295) t = 'LONGTEXT';
      else if (len === 67108860) t = 'MEDIUMTEXT';
      else if (len === 262140) t = 'TEXT';
      else if (len === 1020) t = 'TINYTEXT';
      else t = `BLOB(${len})`;
      break;
    case 'VAR_STRING':
      t = `VARCHAR(${Math.ceil(len / 4)})`;
      break;
    case 'TINY':
      t = len === (unsigned ? 3 : 4) ? 'TINYINT' : `TINYINT(${len})`;
      break;
    case 'LONGLONG':
      t = len === 20 ? 'BIGINT' : `BIGINT(${len})`;
      break;
    case 'SHORT':
      t = len === (unsigned ? 5 : 6) ? 'SMALLINT' : `SMALLINT(${len})`;
      break;
    case 'LONG':
      t = len === (unsigned ? 10 : 11) ? 'INT' : `INT(${len})`;
      break;
    case 'INT24':
      t = len === (unsigned ? 8 : 9) ? 'MEDIUMINT' : `MEDIUMINT(${len})`;
      break;
    case 'DOUBLE':
      t = len === 22 && f.decimals === 31 ? 'DOUBLE' : `DOUBLE(${len},${f.decimals})`;
      break;
    case 'FLOAT':
      t = len === 12 && f.decimals === 31 ? 'FLOAT' : `FLOAT(${len},${f.decimals})`;
      break;
    case 'NEWDECIMAL':
      if (len === 11 && f.decimals === 0) t = 'DECIMAL';
      else if (f.decimals === 0) t = `DECIMAL(${unsigned ? len : len - 1})`;
      else t = `DECIMAL(${len - 2},${f.decimals})`;
      break;
    default:
      t = `${name}(${len})`;
  }
  return unsigned ? `${t} UNSIGNED` : t;
}

class FieldPacket {
  constructor(c) {
    this.catalog = 'def';
    this.schema = c.schema;
    this.name = c.name;
    this.orgName = c.orgName;
    this.table = c.table;
    this.orgTable = c.orgTable;
    this.characterSet = c.characterSet;
    this.encoding = c.encoding;
    this.columnLength = c.columnLength;
    this.columnType = c.columnType;
    this.type = c.columnType;
    this.flags = c.flags;
    this.decimals = c.decimals;
    if (c.extendedFormat !== undefined) this.extendedFormat = c.extendedFormat;
  }

  get db() {
    return this.schema;
  }

  /** mysql2's ColumnDefinition.inspect(): the plain column description. */
  inspect() {
    return {
      catalog: this.catalog,
      schema: this.schema,
      name: this.name,
      orgName: this.orgName,
      table: this.table,
      orgTable: this.orgTable,
      characterSet: this.characterSet,
      encoding: this.encoding,
      columnLength: this.columnLength,
      type: this.columnType,
      flags: this.flags,
      decimals: this.decimals,
    };
  }

  // util.inspect / console.log: mysql2 shows an object with type and flag
  // names at the top level, and a one-line column definition when nested.
  [utilInspect.custom](depth, options, inspect = utilInspect) {
    const flagNames = [];
    for (const [bit, label] of INSPECT_FLAGS) if (this.flags & bit) flagNames.push(label);
    if (depth > 1) {
      return inspect({ ...this.inspect(), typeName: INSPECT_TYPE_NAMES[this.columnType], flags: flagNames });
    }
    return `\`${this.name}\` ${[inspectTypeName(this), ...flagNames].join(' ')}`;
  }
}
// Like mysql2: MariaDB's extended metadata is an own property only when sent.
FieldPacket.prototype.extendedTypeName = undefined;
FieldPacket.prototype.extendedFormat = undefined;

const shapes = new Map();
const MAX_SHAPES = 2000;

function parseMeta(meta) {
  let shape = shapes.get(meta);
  if (shape) return shape;
  const parts = meta.split('\0');
  const cols = [];
  for (let i = 1; i + 11 <= parts.length; i += 11) {
    const characterSet = Number(parts[i + 6]);
    // kind + 100: MariaDB marks the column JSON (src/convert.rs EXTENDED_JSON)
    const k = Number(parts[i]);
    cols.push({
      kind: k >= KIND.EXTENDED_JSON ? k - KIND.EXTENDED_JSON : k,
      extendedFormat: k >= KIND.EXTENDED_JSON ? 'json' : undefined,
      name: parts[i + 1],
      orgName: parts[i + 2],
      table: parts[i + 3],
      orgTable: parts[i + 4],
      schema: parts[i + 5],
      characterSet,
      encoding: encodingOf(characterSet),
      columnLength: Number(parts[i + 7]),
      columnType: Number(parts[i + 8]),
      flags: Number(parts[i + 9]),
      decimals: Number(parts[i + 10]),
    });
  }
  shape = { raw: parts[0] === 'r', cols, builders: new Map(), plain: null, plainTz: null, arrays: null, arraysTz: null };
  if (shapes.size >= MAX_SHAPES) shapes.clear();
  shapes.set(meta, shape);
  return shape;
}

// ---- dates, with mysql2's rules -------------------------------------------

function tzOffsetMinutes(tz) {
  const m = /^([+-])(\d\d):(\d\d)$/.exec(tz);
  if (!m) return null;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

function pad(n, w) {
  return String(n).padStart(w, '0');
}

function digits(s, from, len) {
  let n = 0;
  for (let k = from; k < from + len; k++) n = n * 10 + (s.charCodeAt(k) - 48);
  return n;
}

function makeDateConverters(timezone) {
  const local = !timezone || timezone === 'local';
  const offset = local || timezone === 'Z' ? null : tzOffsetMinutes(timezone);
  // The compiled row builders read dates in place in the drain's text (at
  // p, n units long): no substring per cell. Unusual texts take the same
  // string paths as before.
  function dateAt(t, p, n) {
    if (n !== 10) return new Date(NaN);
    const y = digits(t, p, 4);
    const m = digits(t, p + 5, 2);
    const d = digits(t, p + 8, 2);
    if (local) return new Date(y, m - 1, d, 0, 0, 0, 0);
    if (timezone === 'Z') return new Date(Date.UTC(y, m - 1, d));
    return new Date(`${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T00:00:00${timezone}`);
  }
  function datetimeAt(t, p, n) {
    if (n >= 19 && t.charCodeAt(p + 4) === 45 && t.charCodeAt(p + 7) === 45 && t.charCodeAt(p + 13) === 58 && t.charCodeAt(p + 16) === 58) {
      const y = digits(t, p, 4);
      const mo = digits(t, p + 5, 2);
      const d = digits(t, p + 8, 2);
      if (mo === 0 || d === 0 || mo > 12 || d > 31) return new Date(NaN);
      if (y < 100) return parsed(t.slice(p, p + n));
      const h = digits(t, p + 11, 2);
      const mi = digits(t, p + 14, 2);
      const se = digits(t, p + 17, 2);
      let ms = 0;
      if (n > 20) {
        let scale = 100;
        for (let k = 20; k < n && scale >= 1; k++) {
          ms += (t.charCodeAt(p + k) - 48) * scale;
          scale /= 10;
        }
      }
      if (local) return new Date(y, mo - 1, d, h, mi, se, ms);
      const utc = Date.UTC(y, mo - 1, d, h, mi, se, ms);
      if (timezone === 'Z') return new Date(utc);
      if (offset !== null) return new Date(utc - offset * 60000);
      return new Date(t.slice(p, p + n) + timezone);
    }
    return parsed(t.slice(p, p + n));
  }
  // What the engine makes of the text (mysql2 hands these to new Date too).
  function parsed(s) {
    return local ? new Date(s) : new Date(s + timezone);
  }
  const date = (s) => dateAt(s, 0, s.length);
  const datetime = (s) => datetimeAt(s, 0, s.length);
  // Binary protocol (execute): mysql2's binary date text ("YYYY-MM-DD",
  // "... HH:MM:SS", "... .fff"); mysql2 builds the Date from the parts and
  // treats the all-zero value as an invalid date.
  function binDatetime(s) {
    const n = s.length;
    const y = digits(s, 0, 4);
    const mo = digits(s, 5, 2);
    const d = digits(s, 8, 2);
    const h = n >= 19 ? digits(s, 11, 2) : 0;
    const mi = n >= 19 ? digits(s, 14, 2) : 0;
    const se = n >= 19 ? digits(s, 17, 2) : 0;
    let us = 0;
    if (n > 20) {
      const f = s.slice(20, 26);
      us = Number(f) * 10 ** (6 - f.length);
    }
    if (y + mo + d + h + mi + se + us === 0) return new Date(NaN);
    if (local) return new Date(y, mo - 1, d, h, mi, se, us / 1000);
    if (timezone === 'Z') return new Date(Date.UTC(y, mo - 1, d, h, mi, se, us / 1000));
    let str = n >= 19 ? `${s.slice(0, 10)}T${s.slice(11, 19)}` : `${s.slice(0, 10)}T00:00:00`;
    if (us !== 0) str += `.${String(us).padStart(6, '0')}`;
    return new Date(str + timezone);
  }
  return { date, datetime, dateAt, datetimeAt, binDatetime };
}

const dateConverterCache = new Map();
function dateConverters(timezone) {
  let c = dateConverterCache.get(timezone);
  if (!c) {
    // Bounded: a query may name its own timezone.
    if (dateConverterCache.size >= 64) dateConverterCache.clear();
    c = makeDateConverters(timezone);
    dateConverterCache.set(timezone, c);
  }
  return c;
}

// ---- geometry (WKB after a 4-byte SRID), mysql2's output shapes -----------

function parseGeometry(buf) {
  if (buf === null || buf.length === 0) return null;
  let off = 4;
  function read() {
    if (off + 5 > buf.length) return null;
    const le = buf[off] === 1;
    off += 1;
    const u32 = () => {
      const v = le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
      off += 4;
      return v;
    };
    const f64 = () => {
      const v = le ? buf.readDoubleLE(off) : buf.readDoubleBE(off);
      off += 8;
      return v;
    };
    const point = () => ({ x: f64(), y: f64() });
    const wkbType = u32();
    switch (wkbType) {
      case 1:
        return point();
      case 2: {
        const n = u32();
        const line = [];
        for (let i = 0; i < n; i++) line.push(point());
        return line;
      }
      case 3: {
        const rings = u32();
        const poly = [];
        for (let i = 0; i < rings; i++) {
          const n = u32();
          const ring = [];
          for (let j = 0; j < n; j++) ring.push(point());
          poly.push(ring);
        }
        return poly;
      }
      case 4:
      case 5:
      case 6:
      case 7: {
        const n = u32();
        const out = [];
        for (let i = 0; i < n; i++) out.push(read());
        return out;
      }
      default:
        return null;
    }
  }
  return read();
}

// ---- default conversion of one raw cell (typeCast's next()) ---------------

function parseIntLike(s) {
  // mysql2 parses small integers digit by digit; Number() agrees for them.
  return Number(s);
}

function defaultFromRaw(col, raw, opts, conv) {
  if (raw === null) return null;
  switch (col.kind) {
    case KIND.NUMBER:
      return typeof raw === 'string' ? (raw.length === 0 ? 0 : mysqlFloat(raw)) : raw;
    case KIND.BIGINT: {
      const n = Number(raw);
      return Number.isSafeInteger(n) ? n : raw;
    }
    case KIND.DATE:
      return conv.date(raw);
    case KIND.DATETIME:
      return conv.datetime(raw);
    case KIND.BIN_DATETIME:
      return conv.binDatetime(raw);
    case KIND.JSON:
      return col.extendedFormat === 'json' ? jsonLoose(raw) : JSON.parse(raw);
    case KIND.JSON_BIG:
      return col.extendedFormat === 'json' ? jsonBigLoose(raw) : parseJsonBig(raw);
    case KIND.GEOMETRY:
      return parseGeometry(raw);
    case KIND.NULL:
      return null;
    default:
      return raw;
  }
}

// mysql2's float parse: a digit loop for short inputs (its rounding differs
// from parseFloat in rare cases), parseFloat for long ones and exponents.
function mysqlFloat(s) {
  const n = s.length;
  if (n > 17 || s.indexOf('e') !== -1 || s.indexOf('E') !== -1) return Number.parseFloat(s);
  let k = 0;
  let factor = 1;
  if (s.charCodeAt(0) === 45) {
    factor = -1;
    k = 1;
  }
  if (s.charCodeAt(k) === 43) k++;
  let result = 0;
  let pastDot = false;
  for (; k < n; k++) {
    const c = s.charCodeAt(k);
    if (c === 46) {
      pastDot = true;
      continue;
    }
    result = result * 10 + (c - 48);
    if (pastDot) factor *= 10;
  }
  return result / factor;
}

// ---- row builders ----------------------------------------------------------

function placeOf(col, i, opts) {
  if (typeof opts.nestTables === 'string') return { flat: col.table + opts.nestTables + col.name };
  if (opts.nestTables === true) return { table: col.table, name: col.name };
  if (opts.rowsAsArray) return { index: i };
  return { flat: col.name };
}

// Generated per shape: straight-line code reading the batch, as mysql2 does
// for its packet parsers. JSON.stringify makes names safe as literals.
function compile(shape, opts) {
  const cols = shape.cols;
  const L = JSON.stringify;
  const src = [];
  src.push('return function build(nums, i, tags, g, text, p, bin, b, nrows) {');
  src.push('const rows = new Array(nrows); let l = 0, t = 0;');
  src.push('for (let r = 0; r < nrows; r++) {');
  cols.forEach((c, k) => {
    const v = `v${k}`;
    src.push(`let ${v};`);
    switch (c.kind) {
      case KIND.NUMBER:
        src.push(`${v} = tags[g++] === 0 ? null : nums[i]; i++;`);
        break;
      case KIND.BIGINT:
        src.push(`t = tags[g++]; if (t === 0) ${v} = null; else if (t === 2) { l = nums[i]; ${v} = text.slice(p, p + l); p += l; } else ${v} = nums[i]; i++;`);
        break;
      case KIND.BUFFER:
        src.push(`if (tags[g++] === 0) ${v} = null; else { l = nums[i]; ${v} = bin.subarray(b, b + l); b += l; } i++;`);
        break;
      case KIND.GEOMETRY:
        src.push(`if (tags[g++] === 0) ${v} = null; else { l = nums[i]; ${v} = geometry(bin.subarray(b, b + l)); b += l; } i++;`);
        break;
      case KIND.NULL:
        src.push(`${v} = null; i++; g++;`);
        break;
      default: {
        const loose = c.extendedFormat === 'json';
        const at = { [KIND.DATE]: 'dateAt', [KIND.DATETIME]: 'datetimeAt' }[c.kind];
        if (at !== undefined) {
          src.push(`if (tags[g++] === 0) ${v} = null; else { l = nums[i]; ${v} = ${at}(text, p, l); p += l; } i++;`);
          break;
        }
        const wrap = {
          [KIND.BIN_DATETIME]: 'binDatetime',
          [KIND.JSON]: loose ? 'jsonLoose' : 'JSON.parse',
          [KIND.JSON_BIG]: loose ? 'jsonBigLoose' : 'jsonBig',
        }[c.kind];
        const read = wrap ? `${wrap}(text.slice(p, p + l))` : 'text.slice(p, p + l)';
        src.push(`if (tags[g++] === 0) ${v} = null; else { l = nums[i]; ${v} = ${read}; p += l; } i++;`);
      }
    }
  });
  if (opts.rowsAsArray) {
    src.push(`rows[r] = [${cols.map((_, k) => `v${k}`).join(', ')}];`);
  } else if (opts.nestTables === true) {
    src.push('const o = {};');
    const tables = [...new Set(cols.map((c) => c.table))];
    tables.forEach((tb) => src.push(`o[${L(tb)}] = {};`));
    cols.forEach((c, k) => src.push(`o[${L(c.table)}][${L(c.name)}] = v${k};`));
    src.push('rows[r] = o;');
  } else {
    src.push('const o = {};');
    cols.forEach((c, k) => src.push(`o[${L(placeOf(c, k, opts).flat)}] = v${k};`));
    src.push('rows[r] = o;');
  }
  src.push('}');
  src.push('return rows; };');
  // eslint-disable-next-line no-new-func
  return new Function('dateAt', 'datetimeAt', 'binDatetime', 'geometry', 'jsonBig', 'jsonLoose', 'jsonBigLoose', src.join('\n'));
}

// The same reading, interpreted: for typeCast functions and disableEval.
function interpret(shape, opts, typeCast, conv, wire) {
  const cols = shape.cols;
  const withFn = typeof typeCast === 'function';
  const places = cols.map((c, k) => placeOf(c, k, opts));
  return function build(nums, i, tags, g, text, p, bin, b, nrows) {
    const rows = new Array(nrows);
    // As in mysql2, typeCast gets one field wrapper per column of a result
    // and a next() that read the cell being converted: made once here, not
    // per cell (an object and four closures a cell before).
    const current = withFn ? new Array(cols.length).fill(null) : null;
    const wraps = withFn ? cols.map((c, k) => wrapField(c, current, k, wire)) : null;
    const nexts = withFn ? cols.map((c, k) => () => defaultFromRaw(c, current[k], opts, conv)) : null;
    for (let r = 0; r < nrows; r++) {
      const o = opts.rowsAsArray ? new Array(cols.length) : {};
      if (opts.nestTables === true && !opts.rowsAsArray) for (const c of cols) o[c.table] = o[c.table] || {};
      for (let k = 0; k < cols.length; k++) {
        const c = cols[k];
        const tag = tags[g++];
        let raw;
        if (tag === TAG.NULL) raw = null;
        else if (tag === TAG.BUFFER) {
          raw = bin.subarray(b, b + nums[i]);
          b += nums[i];
        } else if (tag === TAG.STRING) {
          raw = text.slice(p, p + nums[i]);
          p += nums[i];
        } else raw = nums[i];
        i++;
        let value;
        if (typeCast === false) value = raw === null || Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
        else if (wraps !== null) {
          current[k] = raw;
          value = typeCast(wraps[k], nexts[k]);
        } else value = defaultFromRaw(c, raw, opts, conv);
        const place = places[k];
        if (place.index !== undefined) o[place.index] = value;
        else if (place.table !== undefined) o[place.table][place.name] = value;
        else o[place.flat] = value;
      }
      rows[r] = o;
    }
    return rows;
  };
}

/**
 * The encoding a pool's connection sends text in (its charset option), or
 * null when Buffer has no name for it.
 */
function wireEncoding(charset) {
  const cs = String(charset || 'utf8mb4').toLowerCase();
  if (cs.startsWith('utf8')) return 'utf8';
  if (cs.startsWith('latin1')) return 'latin1';
  if (cs.startsWith('ascii')) return 'ascii';
  return null;
}

/**
 * mysql2's typeCast field: its readers see the cell `current[k]` holds.
 * `wire`: wireEncoding() of the pool, for string(encoding).
 */
function wrapField(col, current, k, wire) {
  return {
    type: TYPE_NAMES[col.columnType],
    extendedTypeName: undefined,
    extendedFormat: col.extendedFormat,
    length: col.columnLength,
    db: col.schema,
    table: col.table,
    name: col.name,
    string(encoding) {
      const raw = current[k];
      if (raw === null) return null;
      if (Buffer.isBuffer(raw)) return raw.toString(encoding && encoding !== 'binary' ? encoding : 'latin1');
      // mysql2 decodes the cell's bytes with `encoding`; the text here is
      // decoded already, so it is first encoded back as the connection sent it.
      if (encoding && wire !== null && encoding !== wire && Buffer.isEncoding(encoding)) return Buffer.from(String(raw), wire).toString(encoding);
      return String(raw);
    },
    buffer() {
      const raw = current[k];
      if (raw === null) return null;
      return Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
    },
    geometry() {
      const raw = current[k];
      return parseGeometry(raw === null ? null : Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)));
    },
  };
}

function builderFor(shape, opts, typeCast, timezone, disableEval, wire) {
  const usesFn = typeof typeCast === 'function' || typeCast === false;
  // The common case (no per-query shape options) skips building a key.
  const plain = !usesFn && opts.rowsAsArray !== true && opts.nestTables === undefined;
  if (plain && shape.plain !== null && shape.plainTz === timezone) return shape.plain;
  // rowsAsArray alone (every Drizzle select) skips the key too.
  const arrays = !usesFn && opts.rowsAsArray === true && opts.nestTables === undefined;
  if (arrays && shape.arrays !== null && shape.arraysTz === timezone) return shape.arrays;
  const key = `${opts.rowsAsArray ? 1 : 0}|${typeof opts.nestTables}|${opts.nestTables}|${timezone}|${typeof typeCast}`;
  let build = usesFn ? null : shape.builders.get(key);
  if (build) return build;
  const conv = dateConverters(timezone);
  if (usesFn || shape.raw || disableEval) {
    build = interpret(shape, opts, typeCast, conv, wire);
  } else {
    build = compile(shape, opts)(conv.dateAt, conv.datetimeAt, conv.binDatetime, parseGeometry, parseJsonBig, jsonLoose, jsonBigLoose);
  }
  if (!usesFn) {
    // Bounded: the key holds the query's timezone.
    if (shape.builders.size >= 64) shape.builders.clear();
    shape.builders.set(key, build);
  }
  if (plain) {
    shape.plain = build;
    shape.plainTz = timezone;
  } else if (arrays) {
    shape.arrays = build;
    shape.arraysTz = timezone;
  }
  return build;
}

// ---- result sets -------------------------------------------------------------

// An OK packet's insertId from the native side: a number below 2^53,
// else `big`, the exact signed 64-bit decimal. mysql2 reads those high
// values as a signed Long and returns a number when it is a safe integer
// (e.g. -5, or -1 for 2^64-1), unless bigNumberStrings asks for strings.
function okInsertId(insertId, big, bigNumberStrings) {
  if (big === null) return insertId;
  if (bigNumberStrings) return big;
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big;
}

class ResultSetHeader {
  /** `bigNumberStrings`: the pool's option (the caller passes config.bigNumberStrings). */
  constructor(affectedRows, insertId, warningStatus, serverStatus, info, bigInsertId, bigAffectedRows, bigNumberStrings = false) {
    this.fieldCount = 0;
    // Beyond 2^53 mysql2 gives the exact (unsigned) decimal as a string.
    this.affectedRows = bigAffectedRows !== null ? bigAffectedRows : affectedRows;
    this.insertId = okInsertId(insertId, bigInsertId, bigNumberStrings === true);
    this.info = info;
    this.serverStatus = serverStatus;
    this.warningStatus = warningStatus;
    const m = /\schanged:\s*(\d+)/i.exec(info);
    this.changedRows = m ? Number(m[1]) : 0;
  }
}

/** One row set of a drained batch -> [rows, fields]. */
/**
 * `timezone`: the query's (its own option, else the pool's); `wire`: the
 * pool's wireEncoding().
 */
function decodeRows(shape, opts, typeCast, timezone, disableEval, wire, nums, numsAt, tags, tagsAt, text, textAt, bin, binAt, nrows) {
  const build = builderFor(shape, opts, typeCast, timezone, disableEval, wire);
  const rows = build(nums, numsAt, tags, tagsAt, text, textAt, bin, binAt, nrows);
  const cols = shape.cols;
  const fields = new Array(cols.length);
  for (let k = 0; k < cols.length; k++) fields[k] = new FieldPacket(cols[k]);
  return [rows, fields];
}

module.exports = {
  KIND,
  TYPE_NAMES,
  FieldPacket,
  ResultSetHeader,
  decodeRows,
  wireEncoding,
  parseMeta,
  dateConverters,
  parseGeometry,
  mysqlFloat,
  parseIntLike,
};
