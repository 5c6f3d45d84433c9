'use strict';
// The one SQL tokenizer of the client. Two checks read SQL text before it is
// sent: the multi-statement guard (statements.js) and the read/write split's
// read classifier (cluster/read-classifier.js). Both need the same answer to
// "is this ';' or this word inside a string, an identifier or a comment?", so
// they share this lexer and differ only in what they do with its tokens.
// isDdl() (below) is the statement-kind flag the native side needs.
//
// Rules (MySQL's lexer, as far as these checks need it):
// - whitespace: space, \t, \n, \v, \f, \r; skipped, never a token;
// - 'strings' and "strings" with backslash escapes and doubled quotes;
//   `identifiers` with doubled backticks only (a backslash is plain there);
//   an unterminated one runs to the end of the text;
// - comments: '#' and '--' + space to the end of the line (see DASH_*), and
//   '/* */' (unterminated: to the end); '/*!' and '/*M!' are executable
//   comments, which the server runs as SQL, so they are a kind of their own;
// - words: runs of letters, digits, '_', '$' and any non-ASCII character;
// - ';' (the statement boundary), '(' , ')' and every other character: one
//   token each.

/** Token kinds returned by Lexer#next(). */
const END = 0;
const COMMENT = 1;
const EXEC_COMMENT = 2;
const STRING = 3;
const QUOTED_ID = 4;
const WORD = 5;
const SEMICOLON = 6;
const OPEN = 7;
const CLOSE = 8;
const OTHER = 9;
const TOKEN = Object.freeze({ END, COMMENT, EXEC_COMMENT, STRING, QUOTED_ID, WORD, SEMICOLON, OPEN, CLOSE, OTHER });

// What may follow '--' for it to open a comment (the end of the text always
// may). The server takes a space or a control character (code <= 32); the
// multi-statement guard has always taken JavaScript whitespace (\s). They
// differ only for control characters and non-ASCII spaces; each check keeps
// its own rule so that neither changes behaviour.
const DASH_SERVER = (c) => c <= 32;
const DASH_JS_SPACE = (c) => /\s/.test(String.fromCharCode(c));

// Character classes of the ASCII codes (any code above 127 is a word
// character): one table load per character on the query path.
const SPACE = 1;
const WORD_CHAR = 2;
const OPENER = 3; // may open a comment or a quoted token: # - / ' " `
const ASCII = new Uint8Array(128);
for (const c of [9, 10, 11, 12, 13, 32]) ASCII[c] = SPACE;
for (const c of '#-/\'"`') ASCII[c.charCodeAt(0)] = OPENER;
for (let c = 0; c < 128; c++) {
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 36) ASCII[c] = WORD_CHAR;
}

/** End (exclusive) of the quoted token opening at `i` with quote code `q`. */
function quotedEnd(sql, i, q) {
  const n = sql.length;
  i++;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 92 /* \ */ && q !== 96 /* ` */) {
      i += 2;
      continue;
    }
    if (c === q) {
      if (sql.charCodeAt(i + 1) !== q) return i + 1;
      i += 2;
      continue;
    }
    i++;
  }
  return n;
}

/**
 * A cursor over `sql`: next() moves to the next token and returns its kind;
 * the token is sql.slice(start, pos). One object per scan, no other
 * allocation: both checks sit on the query path.
 */
class Lexer {
  constructor(sql, dashComment = DASH_SERVER) {
    this.sql = sql;
    this.dashComment = dashComment;
    this.start = 0;
    this.pos = 0;
    this.kind = END;
  }

  next() {
    const sql = this.sql;
    const n = sql.length;
    let i = this.pos;
    let c = 0;
    while (i < n) {
      c = sql.charCodeAt(i);
      if (c > 127 || ASCII[c] !== SPACE) break;
      i++;
    }
    this.start = i;
    if (i >= n) {
      this.pos = n;
      return (this.kind = END);
    }
    if (c > 127 || ASCII[c] === WORD_CHAR) {
      i++;
      while (i < n) {
        const d = sql.charCodeAt(i);
        if (d < 128 && ASCII[d] !== WORD_CHAR) break;
        i++;
      }
      this.pos = i;
      return (this.kind = WORD);
    }
    const e = this.commentOrQuoted(i, c);
    if (e !== -1) {
      this.pos = e;
      return this.kind;
    }
    this.pos = i + 1;
    return (this.kind = c === 59 /* ; */ ? SEMICOLON : c === 40 /* ( */ ? OPEN : c === 41 /* ) */ ? CLOSE : OTHER);
  }

  /**
   * Moves to the next ';' token, or the end. The same as calling next()
   * until then, without stopping at every word on the way: the
   * multi-statement guard runs on the query path.
   */
  nextSemicolon() {
    const sql = this.sql;
    const n = sql.length;
    let i = this.pos;
    while (i < n) {
      const c = sql.charCodeAt(i);
      if (c === 59 /* ; */) {
        this.start = i;
        this.pos = i + 1;
        return (this.kind = SEMICOLON);
      }
      // Words, spaces and other characters never hide the start of a
      // comment or a quoted token, so stepping over them one by one is safe.
      const e = c < 128 && ASCII[c] === OPENER ? this.commentOrQuoted(i, c) : -1;
      i = e === -1 ? i + 1 : e;
    }
    this.start = n;
    this.pos = n;
    return (this.kind = END);
  }

  /** End of the comment or quoted token opening at `i` (code `c`), its kind in `kind`; -1 if none opens there. */
  commentOrQuoted(i, c) {
    const sql = this.sql;
    const n = sql.length;
    if (c === 35 /* # */ || (c === 45 /* - */ && sql.charCodeAt(i + 1) === 45 && (i + 2 >= n || this.dashComment(sql.charCodeAt(i + 2))))) {
      this.kind = COMMENT;
      const e = sql.indexOf('\n', i);
      return e === -1 ? n : e + 1;
    }
    if (c === 47 /* / */ && sql.charCodeAt(i + 1) === 42 /* * */) {
      const c2 = sql.charCodeAt(i + 2);
      this.kind = c2 === 33 /* ! */ || (c2 === 77 /* M */ && sql.charCodeAt(i + 3) === 33) ? EXEC_COMMENT : COMMENT;
      const e = sql.indexOf('*/', i + 2);
      return e === -1 ? n : e + 2;
    }
    if (c === 39 /* ' */ || c === 34 /* " */ || c === 96 /* ` */) {
      this.kind = c === 96 ? QUOTED_ID : STRING;
      return quotedEnd(sql, i, c);
    }
    return -1;
  }

  /** next(), passing over comments (executable ones included). */
  nextSignificant() {
    let kind;
    do kind = this.next();
    while (kind === COMMENT || kind === EXEC_COMMENT);
    return kind;
  }
}

// Rust's char::is_whitespace (Unicode White_Space), which str::trim_start uses.
function isRustWhitespace(c) {
  return (
    (c >= 9 && c <= 13) ||
    c === 32 ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

const DDL_WORDS = ['CREATE', 'ALTER', 'DROP', 'RENAME'];

/**
 * True if the statement starts with CREATE, ALTER, DROP or RENAME: DDL that
 * may change which columns are JSON (the native MariaDB JSON-column cache is
 * dropped after one). This is src/json_columns.rs `is_ddl` to the letter, so
 * that the native side can take it as a flag without a change of behaviour:
 * leading Unicode whitespace is skipped but comments are not, and the word
 * ends at anything but an ASCII letter, digit or '_'.
 */
function isDdl(sql) {
  if (typeof sql !== 'string') return false;
  const n = sql.length;
  let i = 0;
  while (i < n && isRustWhitespace(sql.charCodeAt(i))) i++;
  for (const w of DDL_WORDS) {
    const e = i + w.length;
    if (e > n || !asciiUpperIs(sql, i, w)) continue;
    const c = sql.charCodeAt(e);
    if (e === n || !((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95)) return true;
  }
  return false;
}

// ASCII-only case folding, as Rust's eq_ignore_ascii_case (toUpperCase()
// would also fold letters such as the dotless i).
function asciiUpperIs(sql, i, word) {
  for (let j = 0; j < word.length; j++) {
    let c = sql.charCodeAt(i + j);
    if (c >= 97 && c <= 122) c -= 32;
    if (c !== word.charCodeAt(j)) return false;
  }
  return true;
}

module.exports = { Lexer, TOKEN, DASH_SERVER, DASH_JS_SPACE, isDdl };
