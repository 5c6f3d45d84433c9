'use strict';
// Whether a statement may be sent a second time when the connection it was
// written to is lost before it answered (src/pipeline.rs hands such a
// command back to the queue instead of failing it). Only a plain SELECT
// qualifies: its one lasting effect could be a stored function that writes,
// so every call must name a built-in function or a keyword. Anything this
// cannot read for sure (a quoted or qualified name before '(', a placeholder
// there, an executable comment, a backslash in a string, which
// NO_BACKSLASH_ESCAPES reads differently) says no: a false "no" only costs
// the command its place in a pipeline. Session effects (user variables,
// GET_LOCK) need no check: they end with the lost connection.

const LEADS = /^[\s(]*select\b/i;
// Statements that write or advance something lasting although they start
// with SELECT: INTO OUTFILE / DUMPFILE, MariaDB sequences, PROCEDURE ANALYSE.
const WRITES = /\b(?:into|nextval|setval|lastval|next|procedure)\b/i;
// A run of name characters (or a placeholder / quoted-name marker) right
// before '(': a call, or a keyword that takes a parenthesis. A match starts
// only where a run starts, so a long run is read once.
const CALL = /(?<![\w$?`.])([\w$?`.]+)\s*\(/g;

// Keywords that may precede '(' in a SELECT, and built-in functions that
// only read. Upper case.
const ALLOWED = new Set(
  `SELECT FROM WHERE AND OR NOT XOR IN EXISTS ANY ALL SOME ON USING JOIN AS BY HAVING OVER
  PARTITION WHEN THEN ELSE CASE IS LIKE BETWEEN DIV MOD INTERVAL DISTINCT UNION EXCEPT INTERSECT
  LATERAL ROW ROWS RANGE LIMIT OFFSET ORDER GROUP WINDOW ESCAPE REGEXP RLIKE BINARY COLLATE
  COUNT SUM AVG MIN MAX GROUP_CONCAT STD STDDEV STDDEV_POP STDDEV_SAMP VARIANCE VAR_POP VAR_SAMP
  BIT_AND BIT_OR BIT_XOR JSON_ARRAYAGG JSON_OBJECTAGG
  ROW_NUMBER RANK DENSE_RANK PERCENT_RANK CUME_DIST NTILE LAG LEAD FIRST_VALUE LAST_VALUE NTH_VALUE
  COALESCE IFNULL NULLIF IF ISNULL CAST CONVERT GREATEST LEAST
  CONCAT CONCAT_WS LOWER UPPER LCASE UCASE LENGTH OCTET_LENGTH CHAR_LENGTH CHARACTER_LENGTH BIT_LENGTH
  SUBSTRING SUBSTR MID SUBSTRING_INDEX TRIM LTRIM RTRIM REPLACE LEFT RIGHT LPAD RPAD LOCATE INSTR
  POSITION REVERSE REPEAT SPACE FIELD FIND_IN_SET ELT FORMAT HEX UNHEX ASCII ORD CHAR QUOTE STRCMP
  SOUNDEX MAKE_SET EXPORT_SET INSERT TO_BASE64 FROM_BASE64 REGEXP_REPLACE REGEXP_SUBSTR REGEXP_INSTR
  REGEXP_LIKE MATCH AGAINST WEIGHT_STRING
  MD5 SHA SHA1 SHA2 CRC32 ABS CEIL CEILING FLOOR ROUND TRUNCATE SIGN SQRT POW POWER EXP LN LOG LOG2
  LOG10 PI RAND SIN COS TAN ASIN ACOS ATAN ATAN2 COT DEGREES RADIANS CONV BIN OCT
  NOW SYSDATE CURDATE CURTIME CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP LOCALTIME LOCALTIMESTAMP
  UTC_DATE UTC_TIME UTC_TIMESTAMP DATE TIME TIMESTAMP YEAR QUARTER MONTH MONTHNAME WEEK WEEKDAY
  WEEKOFYEAR YEARWEEK DAY DAYNAME DAYOFMONTH DAYOFWEEK DAYOFYEAR HOUR MINUTE SECOND MICROSECOND
  DATE_ADD DATE_SUB ADDDATE SUBDATE ADDTIME SUBTIME DATEDIFF TIMEDIFF TIMESTAMPDIFF TIMESTAMPADD
  DATE_FORMAT TIME_FORMAT STR_TO_DATE GET_FORMAT UNIX_TIMESTAMP FROM_UNIXTIME FROM_DAYS TO_DAYS
  TO_SECONDS SEC_TO_TIME TIME_TO_SEC MAKEDATE MAKETIME PERIOD_ADD PERIOD_DIFF EXTRACT LAST_DAY
  CONVERT_TZ
  JSON_OBJECT JSON_ARRAY JSON_EXTRACT JSON_UNQUOTE JSON_QUOTE JSON_CONTAINS JSON_CONTAINS_PATH
  JSON_LENGTH JSON_DEPTH JSON_KEYS JSON_VALUE JSON_QUERY JSON_SEARCH JSON_TYPE JSON_VALID
  JSON_MERGE JSON_MERGE_PRESERVE JSON_MERGE_PATCH JSON_SET JSON_INSERT JSON_REPLACE JSON_REMOVE
  JSON_ARRAY_APPEND JSON_ARRAY_INSERT JSON_TABLE JSON_OVERLAPS JSON_EXISTS JSON_COMPACT
  JSON_DETAILED JSON_LOOSE JSON_PRETTY JSON_SCHEMA_VALID JSON_MEMBEROF MEMBER
  UUID UUID_SHORT DATABASE SCHEMA USER CURRENT_USER SESSION_USER SYSTEM_USER VERSION CONNECTION_ID
  FOUND_ROWS ROW_COUNT LAST_INSERT_ID CHARSET COLLATION COERCIBILITY INET_ATON INET_NTOA INET6_ATON
  INET6_NTOA IS_IPV4 IS_IPV6 BIN_TO_UUID UUID_TO_BIN SLEEP BENCHMARK
  ST_ASTEXT ST_ASWKT ST_ASBINARY ST_ASWKB ST_GEOMFROMTEXT ST_GEOMFROMWKB ST_POINTFROMTEXT ST_X ST_Y
  ST_DISTANCE ST_DISTANCE_SPHERE ST_CONTAINS ST_WITHIN ST_INTERSECTS POINT
  DECIMAL DEC NUMERIC SIGNED UNSIGNED INT INTEGER DOUBLE FLOAT REAL NCHAR VARCHAR DATETIME JSON`.split(/\s+/),
);

// Applications repeat their SQL text; bounded in entries and in characters,
// as arbitrary text must not grow it (texts are keys: 1,024 distinct 64 KB
// statements would keep 64 MB alive). Only texts that start like a SELECT are
// kept: the rest is answered by one anchored test, and a bulk INSERT's text
// is new every time. SQL longer than a pipeline takes (src/pipeline.rs) is
// not read.
const cache = new Map();
const CACHE_MAX = 1024;
const CACHE_CHARS = 256 << 10;
let cachedChars = 0;
const SQL_MAX = 64 << 10;

// The last text asked about with `cached` and its answer: an ORM builds the
// same text anew for every query, and comparing it with the last one costs
// less than hashing it for the Map (Drizzle selects @200: 0.57 µs a query).
let lastSql = '';
let lastYes = false;

/** Whether `sql` (one statement) may be sent again after a lost connection. */
function replayable(sql, cached) {
  if (cached && sql === lastSql) return lastYes;
  if (sql.length > SQL_MAX || !LEADS.test(sql)) return false;
  if (!cached) return classify(sql);
  let yes = cache.get(sql);
  lastSql = sql;
  if (yes === undefined) {
    yes = classify(sql);
    if (cache.size >= CACHE_MAX || cachedChars + sql.length > CACHE_CHARS) {
      cache.clear();
      cachedChars = 0;
    }
    cache.set(sql, yes);
    cachedChars += sql.length;
  }
  lastYes = yes;
  return yes;
}

/** What the cache holds, for tests. */
function cacheSize() {
  return { entries: cache.size, chars: cachedChars };
}

function classify(sql) {
  if (!LEADS.test(sql)) return false;
  const code = strip(sql);
  if (code === null || !LEADS.test(code) || WRITES.test(code)) return false;
  CALL.lastIndex = 0;
  for (let m = CALL.exec(code); m !== null; m = CALL.exec(code)) {
    if (!ALLOWED.has(m[1].toUpperCase())) return false;
  }
  return true;
}

/**
 * `sql` with string literals as `0`, quoted identifiers as a backtick and
 * comments as a space, so that what they hold is not read as SQL; null when
 * unsure: an unterminated one, an executable comment (SQL to the server), a
 * backslash in a string. One pass, each character read once, so no text
 * makes it slow.
 */
function strip(sql) {
  const n = sql.length;
  let out = '';
  let from = 0;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    let end = -1; // index after the piece
    let put = ' ';
    if (c === 39 /* ' */ || c === 34 /* " */) {
      let j = i + 1;
      for (;;) {
        if (j >= n) return null;
        const d = sql.charCodeAt(j);
        if (d === 92 /* \ */) return null;
        if (d === c) {
          if (sql.charCodeAt(j + 1) !== c) break;
          j += 2;
        } else j++;
      }
      end = j + 1;
      put = ' 0 ';
    } else if (c === 96 /* ` */) {
      let j = i + 1;
      for (;;) {
        j = sql.indexOf('`', j);
        if (j === -1) return null;
        if (sql.charCodeAt(j + 1) !== 96) break;
        j += 2;
      }
      end = j + 1;
      put = ' ` ';
    } else if (c === 47 /* / */ && sql.charCodeAt(i + 1) === 42 /* * */) {
      const k = sql.charCodeAt(i + 2);
      if (k === 33 /* ! */ || (k === 77 /* M */ && sql.charCodeAt(i + 3) === 33)) return null;
      const j = sql.indexOf('*/', i + 2);
      if (j === -1) return null;
      end = j + 2;
    } else if (c === 35 /* # */ || (c === 45 /* - */ && sql.charCodeAt(i + 1) === 45 && !(sql.charCodeAt(i + 2) > 32))) {
      const j = sql.indexOf('\n', i);
      end = j === -1 ? n : j;
    }
    if (end === -1) {
      i++;
      continue;
    }
    out += sql.slice(from, i) + put;
    i = from = end;
  }
  return from === 0 ? sql : out + sql.slice(from);
}

/**
 * Whether query() values are all literals that formatting quotes (so the
 * template's reading holds for the formatted SQL): an object with
 * toSqlString() is pasted raw.
 */
function plainValues(values) {
  if (values === undefined || values === null) return true;
  if (!Array.isArray(values)) return plainValue(values);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Array.isArray(v)) {
      for (let j = 0; j < v.length; j++) if (!plainValue(v[j])) return false;
    } else if (!plainValue(v)) return false;
  }
  return true;
}

function plainValue(v) {
  return typeof v !== 'object' || v === null || v instanceof Date || Buffer.isBuffer(v);
}

module.exports = { replayable, classify, plainValues, cacheSize };
