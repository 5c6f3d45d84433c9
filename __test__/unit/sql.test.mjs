// lib/sql.js, the one SQL tokenizer, and the checks built on it: the
// multi-statement guard (statementEnd), the read/write split's read
// classifier and isDdl (which must agree with src/json_columns.rs is_ddl).
// Pure functions: no database.
import { describe, it, expect } from 'vitest'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { Lexer, TOKEN, DASH_SERVER, DASH_JS_SPACE, isDdl } = require('../../lib/sql.js')
const { statementEnd, hasSecondStatement } = require('../../lib/statements.js')
const { isReadSql } = require('../../lib/cluster/read-classifier.js')

const NAMES = Object.fromEntries(Object.entries(TOKEN).map(([name, kind]) => [kind, name]))

/** Every token of `sql` as [KIND, text]. */
function tokens(sql, dash) {
  const lexer = new Lexer(sql, dash)
  const out = []
  for (let kind = lexer.next(); kind !== TOKEN.END; kind = lexer.next()) out.push([NAMES[kind], sql.slice(lexer.start, lexer.pos)])
  return out
}

describe('Lexer', () => {
  it('skips whitespace; words take letters, digits, _, $ and non-ASCII', () => {
    expect(tokens(' \t\n\v\f\rSELECT a_1,$b, é名 FROM t1')).toEqual([
      ['WORD', 'SELECT'],
      ['WORD', 'a_1'],
      ['OTHER', ','],
      ['WORD', '$b'],
      ['OTHER', ','],
      ['WORD', 'é名'],
      ['WORD', 'FROM'],
      ['WORD', 't1'],
    ])
    expect(tokens('')).toEqual([])
    expect(tokens('   ')).toEqual([])
  })

  it("';', '(' and ')' have kinds of their own; every other character is one token", () => {
    expect(tokens('f(a.b)=1;')).toEqual([
      ['WORD', 'f'],
      ['OPEN', '('],
      ['WORD', 'a'],
      ['OTHER', '.'],
      ['WORD', 'b'],
      ['CLOSE', ')'],
      ['OTHER', '='],
      ['WORD', '1'],
      ['SEMICOLON', ';'],
    ])
  })

  it('strings: both quote kinds, backslash escapes, doubled quotes; unterminated runs to the end', () => {
    expect(tokens(`'a;b' "c;d"`)).toEqual([
      ['STRING', "'a;b'"],
      ['STRING', '"c;d"'],
    ])
    expect(tokens(String.raw`'it\'s' "say \"hi\"" x`)).toEqual([
      ['STRING', String.raw`'it\'s'`],
      ['STRING', String.raw`"say \"hi\""`],
      ['WORD', 'x'],
    ])
    expect(tokens(String.raw`'a\\' b`)).toEqual([
      ['STRING', String.raw`'a\\'`],
      ['WORD', 'b'],
    ])
    expect(tokens(`'it''s' "a""b"`)).toEqual([
      ['STRING', "'it''s'"],
      ['STRING', '"a""b"'],
    ])
    expect(tokens(`'open; DROP TABLE t`)).toEqual([['STRING', "'open; DROP TABLE t"]])
    expect(tokens(String.raw`'ends with a backslash\'`)).toEqual([['STRING', String.raw`'ends with a backslash\'`]])
    // A quote inside the other kind of string is plain.
    expect(tokens(`"it's" 'say "hi"'`)).toEqual([
      ['STRING', `"it's"`],
      ['STRING', `'say "hi"'`],
    ])
  })

  it('backtick identifiers: doubled backticks only, a backslash is plain', () => {
    expect(tokens('`a;b` `x``y`')).toEqual([
      ['QUOTED_ID', '`a;b`'],
      ['QUOTED_ID', '`x``y`'],
    ])
    expect(tokens('`a\\`;')).toEqual([
      ['QUOTED_ID', '`a\\`'],
      ['SEMICOLON', ';'],
    ])
    expect(tokens('`open')).toEqual([['QUOTED_ID', '`open']])
  })

  it('comments: #, -- + space, /* */; unterminated ones run to the end', () => {
    expect(tokens('a # x; y\nb')).toEqual([
      ['WORD', 'a'],
      ['COMMENT', '# x; y\n'],
      ['WORD', 'b'],
    ])
    expect(tokens('a -- x; y\nb')).toEqual([
      ['WORD', 'a'],
      ['COMMENT', '-- x; y\n'],
      ['WORD', 'b'],
    ])
    expect(tokens('a --\tx\nb')).toEqual([
      ['WORD', 'a'],
      ['COMMENT', '--\tx\n'],
      ['WORD', 'b'],
    ])
    expect(tokens('a --\nb')).toEqual([
      ['WORD', 'a'],
      ['COMMENT', '--\n'],
      ['WORD', 'b'],
    ])
    expect(tokens('a --')).toEqual([
      ['WORD', 'a'],
      ['COMMENT', '--'],
    ])
    expect(tokens('a /* x; */ b /* open')).toEqual([
      ['WORD', 'a'],
      ['COMMENT', '/* x; */'],
      ['WORD', 'b'],
      ['COMMENT', '/* open'],
    ])
    expect(tokens('/*/ x */')).toEqual([['COMMENT', '/*/ x */']])
    // Without the space '--' is two minus signs; '/' alone is division.
    expect(tokens('a--b')).toEqual([
      ['WORD', 'a'],
      ['OTHER', '-'],
      ['OTHER', '-'],
      ['WORD', 'b'],
    ])
    expect(tokens('a---- b')).toEqual([
      ['WORD', 'a'],
      ['OTHER', '-'],
      ['OTHER', '-'],
      ['COMMENT', '-- b'],
    ])
    expect(tokens('a/b')).toEqual([
      ['WORD', 'a'],
      ['OTHER', '/'],
      ['WORD', 'b'],
    ])
    // Comment openers inside strings and identifiers are text.
    expect(tokens('\'-- x\' `#y` "/*z"')).toEqual([
      ['STRING', "'-- x'"],
      ['QUOTED_ID', '`#y`'],
      ['STRING', '"/*z"'],
    ])
  })

  it('executable comments /*! and /*M! are a kind of their own', () => {
    expect(tokens('/*!40101 SET NAMES utf8 */ /*M!100000 x */ /*M x */ /* ! */')).toEqual([
      ['EXEC_COMMENT', '/*!40101 SET NAMES utf8 */'],
      ['EXEC_COMMENT', '/*M!100000 x */'],
      ['COMMENT', '/*M x */'],
      ['COMMENT', '/* ! */'],
    ])
    expect(tokens('/*!')).toEqual([['EXEC_COMMENT', '/*!']])
  })

  it("what opens a '--' comment: the server's rule (default) or JavaScript whitespace (the statement guard's)", () => {
    expect(tokens('--\x01x')).toEqual([['COMMENT', '--\x01x']])
    expect(tokens('--\x01x', DASH_SERVER)).toEqual([['COMMENT', '--\x01x']])
    expect(tokens('--\x01x', DASH_JS_SPACE)).toEqual([
      ['OTHER', '-'],
      ['OTHER', '-'],
      ['OTHER', '\x01'],
      ['WORD', 'x'],
    ])
    expect(tokens('--\u00a0x', DASH_SERVER)).toEqual([
      ['OTHER', '-'],
      ['OTHER', '-'],
      ['WORD', '\u00a0x'],
    ])
    expect(tokens('--\u00a0x', DASH_JS_SPACE)).toEqual([['COMMENT', '--\u00a0x']])
    for (const dash of [DASH_SERVER, DASH_JS_SPACE]) {
      expect(tokens('-- x', dash)).toEqual([['COMMENT', '-- x']])
      expect(tokens('--x', dash)).toEqual([
        ['OTHER', '-'],
        ['OTHER', '-'],
        ['WORD', 'x'],
      ])
    }
  })

  it('nextSignificant() passes over comments of both kinds', () => {
    const lexer = new Lexer('/* a */ # b\n/*! c */ -- d\n x')
    expect(lexer.nextSignificant()).toBe(TOKEN.WORD)
    expect(lexer.start).toBe(lexer.pos - 1)
    expect(lexer.nextSignificant()).toBe(TOKEN.END)
    expect(lexer.start).toBe(lexer.pos)
  })

  it('nextSemicolon() stops where stepping with next() would', () => {
    const samples = [
      'SELECT \'a;b\', `c;d`, "e;f" -- g;\n/* h; */ # i;\n; x',
      String.raw`SELECT 'a\';' ; y`,
      'a--;b;c',
      '/*! ; */ ;',
      'no semicolon here',
      "'open; string",
      ';',
      'é;名',
    ]
    for (const sql of samples) {
      for (const dash of [DASH_SERVER, DASH_JS_SPACE]) {
        const a = new Lexer(sql, dash)
        const b = new Lexer(sql, dash)
        for (;;) {
          let kind
          do kind = a.next()
          while (kind !== TOKEN.SEMICOLON && kind !== TOKEN.END)
          expect([b.nextSemicolon(), b.start, b.pos], sql).toEqual([kind, a.start, a.pos])
          if (kind === TOKEN.END) break
        }
      }
    }
  })
})

describe('statementEnd (the multi-statement guard)', () => {
  const cases = [
    // one statement, no top-level ';'
    ['SELECT 1', -1, false],
    ["SELECT ';' AS a", -1, false],
    ['SELECT ";"', -1, false],
    ['SELECT 1 AS `a;b`', -1, false],
    ['SELECT 1 -- ;\n', -1, false],
    ['SELECT 1 # ;', -1, false],
    ['SELECT /* ; */ 1', -1, false],
    ['SELECT /*! ; */ 1', -1, false],
    ["SELECT 'unterminated; x", -1, false],
    // one statement and a trailing ';' (cut at `end` by pool.js)
    ['SELECT 1;', 8, false],
    ['SELECT 1; ', 8, false],
    ['SELECT 1;;  ;', 8, false],
    ['SELECT 1; -- done', 8, false],
    ['SELECT 1; # done\n', 8, false],
    ['SELECT 1; /* done */', 8, false],
    ['SELECT 1; /*!50000 DROP TABLE t */', 8, false],
    ['SELECT 1; --', 8, false],
    [';', 0, false],
    // a second statement
    ['SELECT 1; SELECT 2', 8, true],
    ['SELECT 1;SELECT 2', 8, true],
    ['; SELECT 1', 0, true],
    [String.raw`SELECT 'it\'s;' ; x`, 16, true],
    ["SELECT 'a'';' AS x; DROP TABLE t", 18, true],
    ['SELECT `a\\`; x', 11, true],
    ['SELECT 1; --x', 8, true],
    // compound statements are one statement to the server
    ['CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END', -1, false],
    ['/* c */ begin not atomic select 1; select 2; end', -1, false],
    ['lbl: LOOP SELECT 1; END LOOP lbl', -1, false],
    ['DECLARE x INT; SET x = 1', -1, false],
    ['IF @a THEN SELECT 1; END IF', -1, false],
    // '--' + JavaScript whitespace (this guard's rule, not the server's)
    ['SELECT 1; --\u00a0DROP TABLE t', 8, false],
    ['SELECT 1; --\x01 x', 8, true],
  ]
  it.each(cases.map(([sql, end, more]) => [JSON.stringify(sql), sql, end, more]))('%s', (_, sql, end, more) => {
    expect(statementEnd(sql)).toEqual({ end, more })
    expect(hasSecondStatement(sql)).toBe(more)
  })
})

describe('read classifier (what a ReadWriteSplit sends to replicas)', () => {
  // From __test__/cluster/cluster-unit.test.mjs, plus tokenizer edge cases.
  const reads = [
    'SELECT 1',
    '  select * from t where id = ?',
    '/* app:list */ SELECT * FROM t',
    '-- note\nSELECT 1',
    '# note\nSELECT 1',
    'select*from t',
    'SHOW TABLES',
    'DESCRIBE t',
    'DESC t',
    'EXPLAIN SELECT * FROM t',
    'EXPLAIN UPDATE t SET a = 1',
    'EXPLAIN FORMAT=JSON SELECT 1',
    'EXPLAIN ANALYZE SELECT * FROM t',
    'WITH x AS (SELECT 1 AS a) SELECT * FROM x',
    'WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT * FROM n',
    'WITH x AS (SELECT 1) (SELECT * FROM x)',
    '(SELECT 1) UNION (SELECT 2)',
    'SELECT \'FOR UPDATE\', "; DELETE FROM t", `for` FROM t',
    "SELECT REPLACE(a, 'x', 'y'), INSERT(b, 1, 1, 'z') FROM t",
    'SELECT 1 /* FOR UPDATE */',
    'SELECT 1;',
    'SELECT 1; ',
    'SELECT 1; -- done',
    'SELECT 1 # ; DELETE FROM t',
    'SELECT * FROM t FOR SYSTEM_TIME ALL',
    '/*M SELECT */ SELECT 1',
    'SELECT `a\\` FROM t',
    String.raw`SELECT 'a\'; DELETE' FROM t`,
    // '--' + a control character is a comment to the server, so here too.
    'SELECT 1 --\x01; DELETE FROM t',
    { sql: 'SELECT 1' },
  ]
  const writes = [
    'INSERT INTO t VALUES (1)',
    'UPDATE t SET a = 1',
    'DELETE FROM t',
    'REPLACE INTO t VALUES (1)',
    'CREATE TABLE t (a INT)',
    'SET @a = 1',
    'CALL p()',
    'START TRANSACTION',
    'INSERT INTO t SELECT * FROM u',
    'SELECT * FROM t FOR UPDATE',
    'SELECT * FROM t WHERE id = ? FOR UPDATE SKIP LOCKED',
    'select * from t for share',
    'SELECT * FROM t LOCK IN SHARE MODE',
    'SELECT a FROM t WHERE b = "x" FOR UPDATE',
    'SELECT * FROM (SELECT * FROM t FOR UPDATE) x',
    'WITH x AS (SELECT 1) UPDATE t JOIN x SET t.a = 1',
    'WITH x AS (SELECT 1) DELETE FROM t',
    'WITH x AS (SELECT * FROM t FOR UPDATE) SELECT * FROM x',
    "WITH x AS (SELECT GET_LOCK('a', 1) AS l) SELECT * FROM x",
    'EXPLAIN ANALYZE DELETE FROM t',
    'ANALYZE SELECT 1',
    'SELECT 1 INTO @x',
    "SELECT GET_LOCK('job', 1)",
    'SELECT NEXTVAL(seq)',
    'SELECT NEXT VALUE FOR seq',
    'SELECT LAST_INSERT_ID()',
    'SELECT 1; DELETE FROM t',
    'SELECT * FROM t; SELECT 2',
    // A second ';' is another (empty) statement to this check.
    'SELECT 1;;',
    '/*!40101 SET NAMES utf8 */',
    'SELECT /*!50000 SLEEP(1), */ 1',
    'SELECT 1; /*!50000 x */',
    'SELECT * FROM t /*M!100000 FOR UPDATE */',
    '--x\nSELECT 1', // not a comment without the space: "- -x"
    'SELECT 1 --\u00a0; DELETE FROM t', // a non-ASCII space does not open a comment for the server
    '`t`',
    "'SELECT 1'",
    '',
    { sql: 'SELECT 1', usePrimary: true },
    42,
  ]
  it.each(reads.map((q) => [JSON.stringify(q), q]))('read: %s', (_, q) => {
    expect(isReadSql(q)).toBe(true)
  })
  it.each(writes.map((q) => [JSON.stringify(q), q]))('primary: %s', (_, q) => {
    expect(isReadSql(q)).toBe(false)
  })
})

describe('isDdl (as src/json_columns.rs is_ddl)', () => {
  it('the Rust unit test cases', () => {
    expect(isDdl('  alter table t add j json')).toBe(true)
    expect(isDdl('CREATE TABLE x (a int)')).toBe(true)
    expect(isDdl('SELECT 1')).toBe(false)
    expect(isDdl('created')).toBe(false)
  })

  it('CREATE, ALTER, DROP, RENAME in any ASCII case, as a whole first word', () => {
    for (const sql of ['create table t (a int)', 'Alter TABLE t', 'DROP TABLE t', 'rename table a to b', 'DROP', 'drop\ttable t', 'CREATE(', 'DROP;']) {
      expect(isDdl(sql), sql).toBe(true)
    }
    for (const sql of ['', '   ', 'DROPPED', 'drop_x', 'CREATE1', 'TRUNCATE t', 'INSERT INTO t VALUES (1)', 'SELECT 1; DROP TABLE t', 'DRO']) {
      expect(isDdl(sql), sql).toBe(false)
    }
  })

  it('the same edges as Rust: Unicode whitespace skipped, comments not, word ends at anything but [A-Za-z0-9_]', () => {
    // str::trim_start skips Unicode White_Space (NBSP, NEL, ideographic space), not a BOM.
    expect(isDdl('\u00a0\u0085\u3000\u2028 CREATE TABLE t')).toBe(true)
    expect(isDdl('\ufeffCREATE TABLE t')).toBe(false)
    expect(isDdl('/* x */ CREATE TABLE t')).toBe(false)
    expect(isDdl('-- x\nDROP TABLE t')).toBe(false)
    // Only '_' and ASCII letters and digits continue the word (Rust looks at one byte).
    expect(isDdl('CREATE$x')).toBe(true)
    expect(isDdl('DROPé')).toBe(true)
    expect(isDdl('DROP-x')).toBe(true)
    // eq_ignore_ascii_case folds ASCII only.
    expect(isDdl('ALTER'.replace('A', '\u0430'))).toBe(false)
    expect(isDdl('RENAM\u0435')).toBe(false)
  })
})
