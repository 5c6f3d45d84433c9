'use strict';
// mysql2 leaves CLIENT_MULTI_STATEMENTS off unless multipleStatements is set,
// so the server refuses "SELECT 1; DROP TABLE t" (the classic injection
// stack). mysql_async always negotiates multi-statements, so the same guard
// runs here, on the final SQL text: a ';' outside strings, identifiers and
// comments followed by anything but whitespace, ';' or comments means a
// second statement. Compound statements (CREATE PROCEDURE ... BEGIN ...; END,
// BEGIN NOT ATOMIC, IF/CASE/LOOP/WHILE/REPEAT blocks, labels) are one
// statement to the server and are left alone.

const COMPOUND = /^(?:create|alter|begin|if|case|loop|while|repeat|declare|[A-Za-z_][\w$]*\s*:)/i;

function skipSpaceAndComments(sql, i) {
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') i++;
    else if (c === '#' || (c === '-' && sql[i + 1] === '-' && (i + 2 >= n || /\s/.test(sql[i + 2])))) {
      const e = sql.indexOf('\n', i);
      i = e === -1 ? n : e + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const e = sql.indexOf('*/', i + 2);
      i = e === -1 ? n : e + 2;
    } else break;
  }
  return i;
}

/**
 * -1 when `sql` is one statement with nothing after a top-level ';' but
 * whitespace and comments (or has no such ';'); otherwise where the
 * statement ends: `more` tells whether real SQL follows.
 */
function statementEnd(sql) {
  const n = sql.length;
  let i = skipSpaceAndComments(sql, 0);
  if (COMPOUND.test(sql.slice(i, i + 64))) return { end: -1, more: false };
  while (i < n) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`') {
      i++;
      while (i < n && sql[i] !== c) i += c !== '`' && sql[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '#' || (c === '-' && sql[i + 1] === '-') || (c === '/' && sql[i + 1] === '*')) {
      const j = skipSpaceAndComments(sql, i);
      i = j > i ? j : i + 1;
    } else if (c === ';') {
      let j = i + 1;
      for (;;) {
        j = skipSpaceAndComments(sql, j);
        if (sql[j] === ';') j++;
        else break;
      }
      return { end: i, more: j < n };
    } else i++;
  }
  return { end: -1, more: false };
}

/** True when `sql` holds more than one statement (see above). */
function hasSecondStatement(sql) {
  return statementEnd(sql).more;
}

module.exports = { hasSecondStatement, statementEnd };
