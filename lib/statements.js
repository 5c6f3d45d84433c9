'use strict';
// mysql2 leaves CLIENT_MULTI_STATEMENTS off unless multipleStatements is set,
// so the server refuses "SELECT 1; DROP TABLE t" (the classic injection
// stack). mysql_async always negotiates multi-statements, so the same guard
// runs here, on the final SQL text: a ';' outside strings, identifiers and
// comments followed by anything but whitespace, ';' or comments means a
// second statement. Compound statements (CREATE PROCEDURE ... BEGIN ...; END,
// BEGIN NOT ATOMIC, IF/CASE/LOOP/WHILE/REPEAT blocks, labels) are one
// statement to the server and are left alone. The tokens come from sql.js.
const { Lexer, TOKEN, DASH_JS_SPACE } = require('./sql');

const COMPOUND = /^(?:create|alter|begin|if|case|loop|while|repeat|declare|[A-Za-z_][\w$]*\s*:)/i;
const { END, SEMICOLON } = TOKEN;

/**
 * -1 when `sql` is one statement with nothing after a top-level ';' but
 * whitespace and comments (or has no such ';'); otherwise where the
 * statement ends: `more` tells whether real SQL follows.
 */
function statementEnd(sql) {
  const lexer = new Lexer(sql, DASH_JS_SPACE);
  let kind = lexer.nextSignificant();
  if (COMPOUND.test(sql.slice(lexer.start, lexer.start + 64))) return { end: -1, more: false };
  if (kind !== SEMICOLON) kind = lexer.nextSemicolon();
  if (kind === END) return { end: -1, more: false };
  const end = lexer.start;
  // Executable comments count as comments here: one after the last ';' is
  // cut off with it (pool.js sends sql.slice(0, end)).
  do kind = lexer.nextSignificant();
  while (kind === SEMICOLON);
  return { end, more: kind !== END };
}

/** True when `sql` holds more than one statement (see above). */
function hasSecondStatement(sql) {
  return statementEnd(sql).more;
}

module.exports = { hasSecondStatement, statementEnd };
