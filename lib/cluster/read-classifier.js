'use strict';
// Which statements a ReadWriteSplit may send to a replica: plain reads with
// no side effect, decided from the words of the SQL text (tokens from
// lib/sql.js) and cached per text.
const { Lexer, TOKEN } = require('../sql');

const { END, COMMENT, EXEC_COMMENT, STRING, QUOTED_ID, WORD, SEMICOLON, OPEN, CLOSE } = TOKEN;

const READ_START = new Set(['SELECT', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'WITH']);
const WRITE_VERBS = new Set(['UPDATE', 'DELETE', 'INSERT', 'REPLACE']);
// Functions that change state or only make sense on the session that set
// something up (named locks, sequences, last insert id).
const SIDE_EFFECT_FUNCTIONS = new Set([
  'GET_LOCK',
  'RELEASE_LOCK',
  'RELEASE_ALL_LOCKS',
  'IS_FREE_LOCK',
  'IS_USED_LOCK',
  'NEXTVAL',
  'SETVAL',
  'LASTVAL',
  'LAST_INSERT_ID',
]);

/**
 * Words of a statement outside strings, quoted identifiers and comments:
 * [{ w: UPPERCASE word, d: paren depth, call: followed by '(' }]. `more` is
 * set when a second statement follows a ';' (another ';' included). `exec`
 * when the statement holds a MySQL executable comment, which could hide
 * anything.
 */
function scan(sql, firstOnly) {
  const lexer = new Lexer(sql);
  const words = [];
  let depth = 0;
  let more = false;
  let exec = false;
  let afterSemicolon = false;
  for (let kind = lexer.next(); kind !== END; kind = lexer.next()) {
    if (kind === COMMENT) continue;
    if (kind === EXEC_COMMENT) {
      exec = true;
      continue;
    }
    if (afterSemicolon) {
      more = true;
      break;
    }
    switch (kind) {
      case STRING:
      case QUOTED_ID:
        // A statement cannot start with a quoted token; whatever it is, it is no read.
        if (firstOnly) return { words: [{ w: '', d: depth, call: false }], more, exec };
        break;
      case OPEN:
        depth++;
        break;
      case CLOSE:
        if (depth > 0) depth--;
        break;
      case SEMICOLON:
        afterSemicolon = true;
        break;
      case WORD: {
        // A call only when '(' follows, spaces and control characters aside.
        let k = lexer.pos;
        while (k < sql.length && sql.charCodeAt(k) <= 32) k++;
        words.push({ w: sql.slice(lexer.start, lexer.pos).toUpperCase(), d: depth, call: sql.charCodeAt(k) === 40 });
        if (firstOnly) return { words, more, exec };
        break;
      }
    }
  }
  return { words, more, exec };
}

/** A SELECT that locks, writes a file/variable, or calls a session/locking function. */
function selectHasEffects(words) {
  for (let i = 0; i < words.length; i++) {
    const w = words[i].w;
    if (w === 'FOR' && i + 1 < words.length) {
      const nx = words[i + 1].w;
      if (nx === 'UPDATE' || nx === 'SHARE') return true;
    }
    if (w === 'LOCK' && words[i + 1] && words[i + 1].w === 'IN') return true;
    if (w === 'INTO') return true;
    if (w === 'VALUE' && words[i + 1] && words[i + 1].w === 'FOR' && i > 0 && (words[i - 1].w === 'NEXT' || words[i - 1].w === 'PREVIOUS')) return true;
    if (words[i].call && SIDE_EFFECT_FUNCTIONS.has(w)) return true;
  }
  return false;
}

/** EXPLAIN/DESCRIBE: plan-only is a read; EXPLAIN ANALYZE of a write runs the write. */
function explainIsRead(words) {
  let analyze = false;
  for (let i = 1; i < words.length; i++) {
    const w = words[i].w;
    if (w === 'ANALYZE') analyze = true;
    // (REPLACE( and INSERT( are also string functions.)
    else if (WRITE_VERBS.has(w) && words[i].d === 0 && !words[i].call) return !analyze;
    if (w === 'SELECT' || w === 'WITH' || w === 'TABLE') return !selectHasEffects(words.slice(i));
  }
  return true;
}

/** The statement after a WITH clause: SELECT, or UPDATE/DELETE (MySQL 8). */
function withIsRead(words) {
  for (let i = 1; i < words.length; i++) {
    const { w, d } = words[i];
    if (d !== 0) continue;
    // Locks and side effects count inside the CTE bodies too.
    if (w === 'SELECT' || w === 'TABLE' || w === 'VALUES') return !selectHasEffects(words);
    if (WRITE_VERBS.has(w) && !words[i].call) return false;
  }
  // WITH ... (SELECT ...): the main query in parentheses.
  return words.some((x) => x.w === 'SELECT') && !selectHasEffects(words);
}

const readCache = new Map();
const READ_CACHE_MAX = 1000;
const READ_CACHE_SQL_MAX = 2048;

/**
 * True if `sql` is a plain read that a replica can answer: SELECT (without
 * FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE / INTO / locking and sequence
 * functions), SHOW, DESCRIBE, EXPLAIN (not EXPLAIN ANALYZE of a write) and
 * WITH ... SELECT, after leading comments and whitespace. Anything else,
 * several statements, or an executable comment: not a read.
 */
function isReadSql(sql) {
  if (sql !== null && typeof sql === 'object') {
    if (sql.usePrimary) return false;
    sql = sql.sql;
  }
  if (typeof sql !== 'string') return false;
  const cacheable = sql.length <= READ_CACHE_SQL_MAX;
  if (cacheable) {
    const hit = readCache.get(sql);
    if (hit !== undefined) return hit;
  }
  const r = classify(sql);
  if (cacheable) {
    if (readCache.size >= READ_CACHE_MAX) readCache.clear();
    readCache.set(sql, r);
  }
  return r;
}

function classify(sql) {
  // Cheap first look: writes (the bulk of large statements) stop here.
  const head = scan(sql, true);
  if (head.words.length === 0 || !READ_START.has(head.words[0].w)) return false;
  const { words, more, exec } = scan(sql, false);
  if (more || exec || words.length === 0) return false;
  switch (words[0].w) {
    case 'SELECT':
      return !selectHasEffects(words);
    case 'SHOW':
      return true;
    case 'DESCRIBE':
    case 'DESC':
    case 'EXPLAIN':
      return explainIsRead(words);
    case 'WITH':
      return withIsRead(words);
    default:
      return false;
  }
}

module.exports = { isReadSql };
