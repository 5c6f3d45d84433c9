// Differential proof of "exact mysql2 compatibility" (issue 3): every case runs
// the same operation through mysql2's promise pool and through ours, and the
// two results must be deep-equal (see diff-helpers.mjs for the snapshot form).
//
// Run:  npx vitest run __test__/compat
// Self-check of the test logic (mysql2 on both sides): NMP_DIFF_SELF=1 npx vitest run __test__/compat
//
// Dates are parsed in the process' local time zone by mysql2 (timezone
// 'local'), so the suite runs with a non-UTC zone (see tz.mjs).
import './tz.mjs'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { SELF, SUT_NAME, baseOptions, diff, makePair, mysql2, snap } from './diff-helpers.mjs'

// ACCEPTED DIFFERENCE: JSON computed by expressions on MariaDB.
// On MariaDB JSON is a string column with CHECK (json_valid(col)); that a
// value is JSON is only visible in MariaDB's extended column metadata, which
// mysql2 >= 3.15 negotiates and mysql_async cannot. For table columns ours
// finds the same answer in information_schema (src/json_columns.rs), so
// reads of cmp_types are compared strictly. Expression results
// (JSON_OBJECT(...), JSON_EXTRACT(...)) carry no such check: ours returns the
// server's JSON text, i.e. exactly what mysql2 returns with
// `jsonStrings: true`. So the server-side expressions case is compared with
// mysql2{jsonStrings: true}, and jsonTextAccepted proves that this is the
// only difference from plain mysql2: every value where the two mysql2
// variants disagree is a string whose JSON.parse is plain mysql2's value.
// NMP_DIFF_STRICT_JSON=1 compares with plain mysql2 instead. On MySQL/TiDB
// JSON is type 245 and is compared strictly.
const JSON_AS_TEXT = !SELF && process.env.NMP_DIFF_STRICT_JSON !== '1'
const jsonTextAccepted = {
  check(paths) {
    for (const p of paths) {
      expect(typeof p.sut, `accepted JSON difference at ${p.path}: variant value is JSON text`).toBe('string')
      expect(snap(JSON.parse(p.sut)), `accepted JSON difference at ${p.path}: JSON.parse(text) is mysql2's value`).toEqual(p.ref)
    }
  },
}

const srv = inject('mysqlServer')
let admin

async function adminQuery(sql, values) {
  const [r] = await admin.query(sql, values)
  return r
}

// ---------------------------------------------------------------------------
// Fixtures

const TYPES_DDL = `
CREATE TABLE cmp_types (
  id INT NOT NULL PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, t1 TINYINT(1),
  si SMALLINT, siu SMALLINT UNSIGNED,
  mi MEDIUMINT, miu MEDIUMINT UNSIGNED,
  i INT, iu INT UNSIGNED,
  bi BIGINT, biu BIGINT UNSIGNED,
  dec65 DECIMAL(65,30), dec52 DECIMAL(5,2), dec10u DECIMAL(10,0) UNSIGNED,
  f FLOAT, d DOUBLE, d2 DOUBLE,
  b1 BIT(1), b64 BIT(64),
  dt DATE, dtm0 DATETIME, dtm3 DATETIME(3), dtm6 DATETIME(6), ts6 TIMESTAMP(6) NULL DEFAULT NULL,
  tm6 TIME(6), tm0 TIME,
  y YEAR,
  c CHAR(10), vc VARCHAR(255), tx TEXT,
  bn BINARY(4), vb VARBINARY(255), bl BLOB, lbl LONGBLOB,
  en ENUM('a','b','ç'), st SET('x','y','z'),
  js JSON,
  g GEOMETRY, pt POINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`

// biome-ignore format: a list of column names
const TYPE_COLS = [
  'id', 'ti', 'tiu', 't1', 'si', 'siu', 'mi', 'miu', 'i', 'iu', 'bi', 'biu',
  'dec65', 'dec52', 'dec10u', 'f', 'd', 'd2', 'b1', 'b64',
  'dt', 'dtm0', 'dtm3', 'dtm6', 'ts6', 'tm6', 'tm0', 'y',
  'c', 'vc', 'tx', 'bn', 'vb', 'bl', 'lbl', 'en', 'st', 'js', 'g', 'pt',
]
const geo = (wkt) => `ST_GeomFromText('${wkt}')`
const DEC65_MAX = '99999999999999999999999999999999999.999999999999999999999999999999'

// SQL literals, one array per row, in TYPE_COLS order. Inserted with
// sql_mode='' (zero dates, invalid ENUM) and time_zone='+00:00' (TIMESTAMP).
// biome-ignore format: a table, one row a line
const TYPE_ROWS = [
  // 1: minimum values, empty strings and buffers
  [1, -128, 0, 0, -32768, 0, -8388608, 0, -2147483648, 0, '-9223372036854775808', 0,
    `'-${DEC65_MAX}'`, -999.99, 0, '-3.40282e38', '-1.7976931348623157e308', '2.2250738585072014e-308',
    "b'0'", "b'0'",
    "'1000-01-01'", "'1000-01-01 00:00:00'", "'1000-01-01 00:00:00.000'", "'1000-01-01 00:00:00.000000'", "'1970-01-01 00:00:01.000000'",
    "'-838:59:59.000000'", "'-838:59:59'", 1901,
    "''", "''", "''", "''", "''", "''", "''", "'a'", "''", "'[]'", geo('POINT(0 0)'), geo('POINT(0 0)')],
  // 2: maximum values, utf8mb4
  [2, 127, 255, 1, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, '9223372036854775807', '18446744073709551615',
    `'${DEC65_MAX}'`, 999.99, 9999999999, '3.40282e38', '1.7976931348623157e308', '1e300',
    "b'1'", `b'${'1'.repeat(64)}'`,
    "'9999-12-31'", "'9999-12-31 23:59:59'", "'9999-12-31 23:59:59.999'", "'9999-12-31 23:59:59.999999'", "'2038-01-19 03:14:07.999999'",
    "'838:59:59.000000'", "'838:59:59'", 2155,
    "'ÄÖÜ😀ñ'", "'emoji 😀👍🏽 中文 ∑ ẞ'", "'utf8mb4 text: 𝄞 🎉 ﷽'", '0xDEADBEEF', '0x00FF00FF80', '0x000102FF', '0x00', "'ç'", "'x,y,z'",
    `'{"a":1,"nested":{"b":[1,2.5,"s",null,true,false]},"big":12345678901234567890,"neg":-0.5,"uni":"😀"}'`,
    geo('LINESTRING(0 0,1 1,2 3)'), geo('POINT(-1.5 2.25)')],
  // 3: typical values, unsafe BIGINTs, fractional seconds, DST gap/fold (Europe/Berlin)
  [3, 1, 1, 1, -1, 1, -1, 1, 42, 42, '9007199254740993', '9007199254740993',
    "'0.000000000000000000000000000001'", 1.1, 1, '1.1', '1.1', '0.1',
    "b'1'", '0x0000000000000102',
    "'2024-02-29'", "'2024-03-31 02:30:00'", "'2024-10-27 02:30:00.250'", "'2024-02-29 12:34:56.789012'", "'2024-03-31 02:30:00.123456'",
    "'25:00:00.500000'", "'-00:00:01'", 2024,
    "'abc'", `'quote \\' dq " bs \\\\ nul \\0 tab \\t nl \\n'`, "'日本語テキスト'", "'ab'", '0x8081FEFF', "'blob'", "'lblob'", "'b'", "'x,z'",
    `'{"k":"v","arr":[1,2,3],"f":1.5e300}'`,
    geo('POLYGON((0 0,4 0,4 4,0 4,0 0),(1 1,2 1,2 2,1 2,1 1))'), geo('POINT(1 2)')],
  // 4: zero dates, unsafe negatives, small doubles, invalid ENUM ('' index 0)
  [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, '-9007199254740993', '9223372036854775808',
    "'0'", -0.01, 0, '0.5', '1e-10', '123456789.123456789',
    "b'0'", '0x8000000000000000',
    "'0000-00-00'", "'0000-00-00 00:00:00'", "'0000-00-00 00:00:00.000'", "'0000-00-00 00:00:00.000000'", "'0000-00-00 00:00:00.000000'",
    "'-00:00:00.000001'", "'00:00:00'", 0,
    "' padded'", "'trailing space '", "''", "'a\\0'", "''", "''", "''", "'nope'", "''", "'null'",
    geo('MULTIPOINT((1 1),(2 2))'), 'NULL'],
  // 5: partial zero dates, negative zero, JSON scalar, pre-epoch fraction
  [5, -1, 128, 2, 1, 1, 1, 1, 1, 1, -1, 1,
    "'-0.000000000000000000000000000001'", 0, 1, '-0e0', '-0e0', '1e21',
    "b'1'", '0x00000000000000FF',
    "'2024-00-15'", "'2024-02-00 10:00:00'", "'2024-12-31 23:59:59.999'", "'1969-12-31 23:59:59.999999'", 'NULL',
    "'-00:00:01.500000'", "'100:00:00'", 1970,
    "'ç'", "'multi\\nline'", "REPEAT('x', 10)", '0x00', "''", "''", "''", "'a'", "'y'", `'"a string"'`,
    geo('GEOMETRYCOLLECTION(POINT(1 1),LINESTRING(0 0,1 1))'), geo('POINT(10000000000 -0.0000000001)')],
  // 6: NULL in every column
  [6, ...Array(TYPE_COLS.length - 1).fill('NULL')],
  // 7: large values: 65535-byte BLOB, 1 MB LONGBLOB, long utf8mb4 TEXT and JSON
  [7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "'0'", 0, 0, 0, 0, 0, "b'0'", "b'0'",
    "'2000-01-01'", "'2000-01-01 00:00:00'", "'2000-01-01 00:00:00'", "'2000-01-01 00:00:00'", "'2000-01-01 00:00:00'",
    "'00:00:00'", "'00:00:00'", 2000,
    "REPEAT('z', 10)", "REPEAT('ñ', 255)", "REPEAT('é😀', 8000)", '0x01020304', "REPEAT(UNHEX('00FF'), 127)",
    "REPEAT(UNHEX('A55A'), 32767)", "REPEAT(UNHEX('00FF7F80'), 262144)", "'b'", "'x'",
    "CONCAT('[', REPEAT('1.25,', 999), '\"end\"]')", geo('POINT(3 4)'), geo('POINT(5 6)')],
  // 8: more numeric edges
  [8, -127, 254, -1, -32767, 65534, -8388607, 16777214, -2147483647, 4294967294, '-9223372036854775807', '18446744073709551614',
    "'12345678901234567890123456789012345.123456789012345678901234567890'", 0.5, 123, '-1.17549e-38', '-1.5e-300', '-123.456',
    "b'0'", '0x7FFFFFFFFFFFFFFF',
    "'1970-01-01'", "'1970-01-01 00:00:00'", "'1969-12-31 23:59:59.999'", "'1900-01-01 12:00:00.000001'", "'1970-01-01 00:00:01.000001'",
    "'12:34:56.000001'", "'-12:00:00'", 1999,
    "'🎉'", "'\\\\'", "'\\r\\n\\t'", "'\\0\\0'", '0x5C27', '0xFF', '0x00', "'ç'", "'z,x'", `'{"unsafe":9007199254740993,"neg0":-0,"e":1e400}'`.replace('1e400', '1e308'),
    geo('LINESTRING(-1 -1,1 1)'), geo('POINT(-0 0)')],
]

const SELECT_TYPES = 'SELECT * FROM cmp_types ORDER BY id'
const SELECT_TYPES_P = 'SELECT * FROM cmp_types WHERE id > ? ORDER BY id'
// Server-side expressions: columns without a table, literal types, CASTs.
const SELECT_EXPR = `SELECT 1 AS one, -1 AS neg, 1.50 AS dec_lit, 1e0 AS dbl, 'x' AS str, NULL AS nul,
  CAST(1 AS UNSIGNED) AS u, 18446744073709551615 AS u64max, -9223372036854775808 AS i64min,
  9007199254740993 AS unsafe, CAST('2024-02-29' AS DATE) AS d, CAST('2024-02-29 01:02:03.5' AS DATETIME(1)) AS dt,
  CAST('-01:02:03' AS TIME) AS t, X'00FF' AS hex, b'101' AS bits, _utf8mb4'😀' AS emoji, _latin1'é' AS latin,
  JSON_EXTRACT('{"a":[1,2]}', '$') AS js, JSON_OBJECT('k', 1) AS jo, 1 = 1 AS truth, COUNT(*) AS cnt, SUM(1) AS sum1,
  AVG(2) AS avg2, CONCAT('a', 1) AS cat, CAST(-0.0 AS DOUBLE) AS negz, 0.1 + 0.2 AS dsum, 1/3 AS div3`
const SELECT_EXPR_P = `${SELECT_EXPR} FROM (SELECT ? AS p) AS x`

// ---------------------------------------------------------------------------
// typeCast functions

/** A custom typeCast: TINY(1) -> boolean, and a mix of the wrapper's readers. */
function recordingTypeCast(log) {
  return function typeCast(field, next) {
    log.push([field.type, field.length, field.db, field.table, field.name])
    if (field.type === 'TINY' && field.length === 1) {
      const v = next()
      return v === null ? null : v === 1
    }
    if (field.type === 'NEWDECIMAL') {
      const s = field.string()
      return s === null ? null : `dec:${s}`
    }
    if (field.type === 'BLOB' && field.name === 'bl') return field.buffer()
    if (field.type === 'GEOMETRY') return field.geometry()
    if (field.type === 'VAR_STRING') {
      const s = field.string()
      return s === null ? null : s.toUpperCase()
    }
    if (field.type === 'DATE' || field.type === 'DATETIME' || field.type === 'TIMESTAMP') return field.string()
    return next()
  }
}

/** Same idea as drizzle-orm's mysql2 session: dates as strings, else default. */
function drizzleTypeCast(field, next) {
  if (field.type === 'TIMESTAMP' || field.type === 'DATETIME' || field.type === 'DATE') return field.string()
  return next()
}

// ---------------------------------------------------------------------------

beforeAll(async () => {
  admin = await mysql2.createConnection({
    host: srv.host,
    port: srv.port,
    user: srv.user,
    password: srv.password,
    database: srv.database,
    multipleStatements: true,
  })
  await admin.query("SET SESSION sql_mode = '', SESSION time_zone = '+00:00'")
  await admin.query(`
    DROP TABLE IF EXISTS cmp_types, cmp_b, cmp_a, cmp_dml, cmp_dml_big, cmp_err_child, cmp_err_parent, cmp_err, cmp_fmt, cmp_lock;
    DROP PROCEDURE IF EXISTS cmp_proc;
    ${TYPES_DDL};
    CREATE TABLE cmp_a (id INT PRIMARY KEY, name VARCHAR(20)) DEFAULT CHARSET=utf8mb4;
    CREATE TABLE cmp_b (id INT PRIMARY KEY, a_id INT, name VARCHAR(20), qty DECIMAL(6,2)) DEFAULT CHARSET=utf8mb4;
    INSERT INTO cmp_a VALUES (1, 'one'), (2, 'two'), (3, NULL), (4, 'o''neil');
    INSERT INTO cmp_b VALUES (10, 1, 'b-ten', 1.5), (11, 1, 'b-eleven', NULL), (12, 2, 'b-twelve', 99.99);
    CREATE TABLE cmp_dml (id INT AUTO_INCREMENT PRIMARY KEY, k VARCHAR(20) NOT NULL UNIQUE, v INT, note VARCHAR(5)) DEFAULT CHARSET=utf8mb4;
    CREATE TABLE cmp_dml_big (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, v INT) AUTO_INCREMENT=9007199254740993;
    CREATE TABLE cmp_err (id INT PRIMARY KEY, s VARCHAR(3)) DEFAULT CHARSET=utf8mb4;
    CREATE TABLE cmp_err_parent (id INT PRIMARY KEY) ENGINE=InnoDB;
    CREATE TABLE cmp_err_child (id INT PRIMARY KEY, parent_id INT NOT NULL,
      CONSTRAINT cmp_fk FOREIGN KEY (parent_id) REFERENCES cmp_err_parent (id)) ENGINE=InnoDB;
    INSERT INTO cmp_err VALUES (1, 'a');
    INSERT INTO cmp_err_parent VALUES (1);
    INSERT INTO cmp_err_child VALUES (1, 1);
    CREATE TABLE cmp_fmt (id INT AUTO_INCREMENT PRIMARY KEY, a INT, b VARCHAR(50)) DEFAULT CHARSET=utf8mb4;
    CREATE TABLE cmp_lock (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
    INSERT INTO cmp_lock VALUES (1, 0), (2, 0);
    CREATE PROCEDURE cmp_proc(IN n INT)
    BEGIN
      SELECT n AS n, n * 2 AS twice;
      SELECT 'second' AS s;
    END;
  `)
  const values = TYPE_ROWS.map((r) => {
    if (r.length !== TYPE_COLS.length) throw new Error(`fixture row ${r[0]} has ${r.length} values`)
    return `(${r.join(', ')})`
  })
  await admin.query(`INSERT INTO cmp_types (${TYPE_COLS.join(', ')}) VALUES ${values.join(',\n')}`)
})

afterAll(async () => {
  await admin?.end()
})

it(`compares mysql2 with: ${SUT_NAME} (TZ=${process.env.TZ})`, async () => {
  expect(new Date(2024, 6, 1).getTimezoneOffset()).toBe(process.env.NMP_DIFF_TZ ? expect.any(Number) : -120)
  // Guard: the fixture is what the cases below assume.
  const [[{ n }]] = await admin.query('SELECT COUNT(*) AS n FROM cmp_types')
  expect(n).toBe(TYPE_ROWS.length)
  if (!SELF) expect(SUT_NAME).toBe('napi-mysql-pool')
})

// ---------------------------------------------------------------------------
// Type matrix: every column type under every result-shaping option, on both
// protocols; rows and FieldPackets must match.

const MODES = [
  { name: 'default' },
  { name: 'supportBigNumbers', pool: { supportBigNumbers: true } },
  { name: 'supportBigNumbers+bigNumberStrings', pool: { supportBigNumbers: true, bigNumberStrings: true } },
  { name: 'bigNumberStrings alone (no effect)', pool: { bigNumberStrings: true } },
  { name: 'dateStrings: true', pool: { dateStrings: true } },
  { name: "dateStrings: ['DATE']", pool: { dateStrings: ['DATE'] } },
  { name: 'decimalNumbers', pool: { decimalNumbers: true } },
  { name: "timezone: 'Z'", pool: { timezone: 'Z' } },
  { name: "timezone: '+05:30'", pool: { timezone: '+05:30' } },
  { name: 'jsonStrings', pool: { jsonStrings: true } },
  { name: 'rowsAsArray (per query)', q: () => ({ rowsAsArray: true }) },
  { name: 'rowsAsArray (pool option)', pool: { rowsAsArray: true } },
  { name: 'nestTables: true (per query)', q: () => ({ nestTables: true }) },
  { name: "nestTables: '_' (per query)", q: () => ({ nestTables: '_' }) },
  { name: 'nestTables: true (pool option)', pool: { nestTables: true } },
  // typeCast on the pool: one recording log per side, compared after each run
  { name: 'custom typeCast (pool option)', pool: (side) => ({ typeCast: recordingTypeCast(poolLogs[side]) }), poolLog: true },
  { name: 'custom typeCast (per query)', q: (log) => ({ typeCast: recordingTypeCast(log) }) },
  {
    name: 'custom typeCast + rowsAsArray + supportBigNumbers',
    pool: { supportBigNumbers: true },
    q: (log) => ({ typeCast: recordingTypeCast(log), rowsAsArray: true }),
  },
  { name: 'drizzle typeCast (per query, rowsAsArray)', q: () => ({ rowsAsArray: true, typeCast: drizzleTypeCast }) },
  { name: 'drizzle typeCast + dateStrings + timezone Z', pool: { dateStrings: true, timezone: 'Z' }, q: () => ({ typeCast: drizzleTypeCast }) },
  // typeCast:false on execute is excluded: mysql2 then reads binary-protocol
  // fixed-width values as length-coded buffers (garbage), nothing to be
  // compatible with.
  { name: 'typeCast: false (pool option)', pool: { typeCast: false }, protocols: ['query'] },
  { name: 'typeCast: false (per query)', q: () => ({ typeCast: false }), protocols: ['query'] },
  // Per-query options, read as mysql2's parsers read them: timezone,
  // dateStrings and the big-number options add to the pool's (a truthy
  // dateStrings that is not an array means every date type). Left out: a
  // query's decimalNumbers, and its typeCast true/false on a pool with a
  // typeCast function: mysql2's answer there depends on what its parser
  // cache already holds (README "Known differences").
  { name: 'dateStrings: true (per query)', q: () => ({ dateStrings: true }) },
  { name: 'dateStrings: 1 (per query)', q: () => ({ dateStrings: 1 }) },
  { name: "dateStrings: 'DATE' (per query)", q: () => ({ dateStrings: 'DATE' }) },
  { name: "dateStrings: ['DATETIME'] (per query)", q: () => ({ dateStrings: ['DATETIME'] }) },
  { name: "timezone: 'Z' (per query)", q: () => ({ timezone: 'Z' }) },
  { name: "timezone: '+05:30' (per query, on a 'Z' pool)", pool: { timezone: 'Z' }, q: () => ({ timezone: '+05:30' }) },
  { name: 'supportBigNumbers+bigNumberStrings (per query)', q: () => ({ supportBigNumbers: true, bigNumberStrings: true }) },
]
const poolLogs = { ref: [], sut: [], alt: [] }

for (const mode of MODES) {
  describe(`types / ${mode.name}`, () => {
    let pair
    // the JSON-as-text accepted difference (see JSON_AS_TEXT) needs a jsonStrings reference
    const jsonAlt = JSON_AS_TEXT && !mode.name.startsWith('jsonStrings') && !mode.name.startsWith('typeCast: false')
    const accepted = jsonAlt ? jsonTextAccepted : undefined
    beforeAll(() => {
      pair = makePair(srv, mode.pool, jsonAlt ? { alt: { jsonStrings: true } } : {})
    })
    afterAll(() => pair?.end())

    for (const proto of mode.protocols ?? ['query', 'execute']) {
      const run = (sqlText, sqlParam) => async (pool, side) => {
        const log = []
        if (mode.poolLog) poolLogs[side].length = 0
        const q = { sql: proto === 'query' ? sqlText : sqlParam, ...(mode.q ? mode.q(log) : {}) }
        const res = proto === 'query' ? await pool.query(q) : await pool.execute(q, [0])
        return { res, log: mode.poolLog ? [...poolLogs[side]] : log }
      }

      it(`${proto}: all column types`, async () => {
        const ref = await diff(pair, run(SELECT_TYPES, SELECT_TYPES_P))
        // anchors: the reference really returned the fixture
        expect(ref.ok.res).toHaveLength(2)
        expect(ref.ok.res[0]).toHaveLength(TYPE_ROWS.length)
        expect(ref.ok.res[1]).toHaveLength(TYPE_COLS.length)
        // the recording typeCast is called once per column of every row, NULLs included
        if (mode.name.startsWith('custom typeCast')) expect(ref.ok.log).toHaveLength(TYPE_ROWS.length * TYPE_COLS.length)
      })

      it(`${proto}: server-side expressions`, async () => {
        const ref = await diff(
          pair,
          async (pool, side) => {
            const log = []
            if (mode.poolLog) poolLogs[side].length = 0
            const q = { sql: proto === 'query' ? SELECT_EXPR : SELECT_EXPR_P, ...(mode.q ? mode.q(log) : {}) }
            const res = proto === 'query' ? await pool.query(q) : await pool.execute(q, [1])
            return { res, log: mode.poolLog ? [...poolLogs[side]] : log }
          },
          { accepted },
        )
        expect(ref.ok.res[0]).toHaveLength(1)
      })

      it(`${proto}: join with duplicate column names`, async () => {
        const ref = await diff(pair, async (pool, side) => {
          const log = []
          if (mode.poolLog) poolLogs[side].length = 0
          const sql = 'SELECT a.*, b.*, a.id + 100 AS calc FROM cmp_a a LEFT JOIN cmp_b b ON b.a_id = a.id WHERE a.id > ? ORDER BY a.id, b.id'
          const q = { sql, ...(mode.q ? mode.q(log) : {}) }
          const res = proto === 'query' ? await pool.query(q, [0]) : await pool.execute(q, [0])
          return { res, log: mode.poolLog ? [...poolLogs[side]] : log }
        })
        expect(ref.ok.res[0]).toHaveLength(5)
      })
    }
  })
}

describe('types / anchors on the reference', () => {
  // A few absolute values, so that a broken fixture or a mysql2 upgrade that
  // changes behaviour shows up here rather than as a silent no-op diff.
  let pair
  beforeAll(() => {
    pair = makePair(srv, { supportBigNumbers: true })
  })
  afterAll(() => pair?.end())

  it('mysql2 returns the documented shapes', async () => {
    const [rows] = await pair.ref.query('SELECT bi, biu, dec52, f, js, tm6, b1 FROM cmp_types WHERE id IN (2, 3) ORDER BY id')
    expect(rows[0].biu).toBe('18446744073709551615')
    expect(rows[1].bi).toBe('9007199254740993')
    expect(rows[1].dec52).toBe('1.10')
    expect(rows[1].f).toBe(1.1)
    expect(rows[1].tm6).toBe('25:00:00.500000')
    expect(rows[1].b1).toEqual(Buffer.from([1]))
    // mysql2 >= 3.15 negotiates MariaDB extended metadata and parses JSON
    expect(rows[1].js).toEqual({ k: 'v', arr: [1, 2, 3], f: 1.5e300 })
    const [erows] = await pair.ref.execute('SELECT f FROM cmp_types WHERE id = ?', [3])
    expect(erows[0].f).toBe(Math.fround(1.1))
  })
})

describe('types / MariaDB extended metadata', () => {
  let pair
  beforeAll(() => {
    pair = makePair(srv)
  })
  afterAll(() => pair?.end())

  const extended = async (pool, proto) => {
    const [, fields] = await pool[proto]('SELECT js, pt, g, id FROM cmp_types WHERE id = 1')
    return fields.map((f) => ({ name: f.name, extendedFormat: f.extendedFormat, extendedTypeName: f.extendedTypeName }))
  }
  const MYSQL2_EXTENDED = [
    { name: 'js', extendedFormat: 'json', extendedTypeName: undefined },
    { name: 'pt', extendedFormat: undefined, extendedTypeName: 'point' },
    { name: 'g', extendedFormat: undefined, extendedTypeName: undefined },
    { name: 'id', extendedFormat: undefined, extendedTypeName: undefined },
  ]

  // ACCEPTED DIFFERENCE: extendedTypeName ('point', 'uuid', 'inet4'...) is
  // only in MariaDB's extended metadata; ours leaves it undefined.
  // extendedFormat 'json' of table columns is compared strictly.
  for (const proto of ['query', 'execute']) {
    it(`${proto}: field.extendedFormat equal, extendedTypeName (accepted: absent in ours)`, async () => {
      const ref = await diff(pair, (pool) => extended(pool, proto), {
        allow: SELF ? undefined : [{ path: /^\$\.ok\.1\.extendedTypeName$/, why: 'no extended metadata', sut: (v) => v?.$undefined === true }],
      })
      expect(ref.ok[0].extendedFormat).toBe('json')
      expect(await extended(pair.ref, proto)).toEqual(MYSQL2_EXTENDED)
    })
  }
})

// ---------------------------------------------------------------------------
// DML result headers

describe('DML: ResultSetHeader', () => {
  let pair
  let bigPair
  beforeAll(() => {
    pair = makePair(srv)
    bigPair = makePair(srv, { supportBigNumbers: true })
  })
  afterAll(async () => {
    await pair?.end()
    await bigPair?.end()
  })
  const reset = async () => {
    await adminQuery('TRUNCATE cmp_dml')
  }

  for (const proto of ['query', 'execute']) {
    it(`${proto}: insert / update / delete / upsert sequence`, async () => {
      const ref = await diff(
        pair,
        async (pool) => {
          const run = async (sql, values) => await pool[proto](sql, values)
          const out = []
          out.push(await run('INSERT INTO cmp_dml (k, v) VALUES (?, ?)', ['a', 1]))
          out.push(await run('INSERT INTO cmp_dml (k, v) VALUES (?, ?), (?, ?), (?, ?)', ['b', 2, 'c', 3, 'd', 4]))
          out.push(await run('INSERT INTO cmp_dml (id, k, v) VALUES (?, ?, ?)', [100, 'e', 5]))
          out.push(await run('INSERT INTO cmp_dml (k, v) VALUES (?, ?)', ['f', 6]))
          // matched but unchanged: affectedRows counts matched rows (CLIENT_FOUND_ROWS), changedRows 0
          out.push(await run("UPDATE cmp_dml SET v = v WHERE k IN ('a', 'b')", []))
          out.push(await run('UPDATE cmp_dml SET v = v + 1 WHERE k = ?', ['a']))
          out.push(await run('UPDATE cmp_dml SET v = 0 WHERE k = ?', ['zzz']))
          out.push(await run('DELETE FROM cmp_dml WHERE k IN (?, ?)', ['c', 'd']))
          // upserts: insert, update-with-change (2), update-without-change
          out.push(await run('INSERT INTO cmp_dml (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)', ['g', 7]))
          out.push(await run('INSERT INTO cmp_dml (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)', ['a', 70]))
          out.push(await run('INSERT INTO cmp_dml (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)', ['a', 70]))
          out.push(await run('INSERT INTO cmp_dml (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), v = 71', ['b', 0]))
          // warnings, IGNORE, REPLACE
          out.push(await run('INSERT IGNORE INTO cmp_dml (k, v) VALUES (?, ?)', ['a', 1]))
          out.push(await run("INSERT IGNORE INTO cmp_dml (k, v, note) VALUES ('h', 8, 'toolongvalue')", []))
          out.push(await run('REPLACE INTO cmp_dml (id, k, v) VALUES (?, ?, ?)', [100, 'e', 50]))
          out.push(await run('DELETE FROM cmp_dml WHERE 1 = 0', []))
          out.push(await run('SELECT * FROM cmp_dml ORDER BY id', []))
          return out
        },
        { reset },
      )
      expect(ref.ok[0][0]).toMatchObject({ $header: true, affectedRows: 1, insertId: 1, insertIdType: 'number' })
      expect(ref.ok[4][0]).toMatchObject({ affectedRows: 2, changedRows: 0 })
    })

    it(`${proto}: insertId beyond 2^53 (default and supportBigNumbers)`, async () => {
      for (const p of [pair, bigPair]) {
        const ref = await diff(
          p,
          async (pool) => [await pool[proto]('INSERT INTO cmp_dml_big (v) VALUES (?)', [1]), await pool[proto]('SELECT id FROM cmp_dml_big ORDER BY id', [])],
          { reset: () => adminQuery('TRUNCATE cmp_dml_big').then(() => adminQuery('ALTER TABLE cmp_dml_big AUTO_INCREMENT = 9007199254740993')) },
        )
        expect(ref.ok[0][0].affectedRows).toBe(1)
      }
    })

    it(`${proto}: insertId is a number`, async () => {
      await reset()
      const [h] = await pair.sut[proto]('INSERT INTO cmp_dml (k, v) VALUES (?, ?)', ['num', 1])
      expect(typeof h.insertId).toBe('number')
      expect(h.insertId).toBe(1)
      expect(h.affectedRows).toBe(1)
    })
  }

  it('DDL and session statements', async () => {
    await diff(pair, async (pool) => [
      await pool.query('SET @cmp_x = 1'),
      await pool.query('DO 1'),
      await pool.query('CREATE TEMPORARY TABLE IF NOT EXISTS cmp_tmp (id INT)'),
      await pool.query('SELECT * FROM cmp_dml WHERE 1 = 0'),
      await pool.execute('SELECT * FROM cmp_dml WHERE 1 = 0'),
      await pool.execute('DO ?', [1]),
    ])
  })
})

describe('a result after its columns change', () => {
  // Column definitions are parsed once per distinct byte sequence and
  // shared (scripts/patch-mysql-async.js); a changed definition must never
  // be answered from an earlier one.
  let pair
  beforeAll(() => {
    pair = makePair(srv)
  })
  const reset = async () => {
    await adminQuery('DROP TABLE IF EXISTS cmp_alter')
    await adminQuery('CREATE TABLE cmp_alter (id INT PRIMARY KEY, v INT)')
    await adminQuery('INSERT INTO cmp_alter VALUES (1, 42)')
  }
  afterAll(async () => {
    await pair?.end()
    await adminQuery('DROP TABLE IF EXISTS cmp_alter')
  })

  it('the same SELECT before and after ALTER TABLE: values and fields follow the new type', async () => {
    const ref = await diff(
      pair,
      async (pool) => {
        const out = []
        for (const type of [null, 'VARCHAR(10)', 'DECIMAL(6,2)', 'DOUBLE']) {
          if (type) await pool.query(`ALTER TABLE cmp_alter MODIFY v ${type}`)
          for (let i = 0; i < 2; i++) {
            for (const proto of ['query', 'execute']) {
              const [rows, fields] = await pool[proto]('SELECT v FROM cmp_alter WHERE id = ?', [1])
              out.push([rows, fields.map((f) => [f.name, f.columnType, f.decimals])])
            }
          }
        }
        return out
      },
      { reset },
    )
    expect(ref.ok.map(([rows]) => rows[0].v)).toEqual([42, 42, 42, 42, '42', '42', '42', '42', '42.00', '42.00', '42.00', '42.00', 42, 42, 42, 42])
    expect(new Set(ref.ok.map(([, f]) => f[0][1])).size).toBe(4)
  })
})

describe('dates read in place in the drained text', () => {
  // The compiled row builders parse DATE and DATETIME cells at their offset
  // in the drain's text (lib/rows.js dateAt/datetimeAt); years below 100,
  // zero parts and fractions take the other branches.
  const SQL = `SELECT CAST('0099-03-04 05:06:07' AS DATETIME) AS y99, CAST('0001-01-01' AS DATE) AS d1,
      CAST('2024-02-29 23:59:59.999999' AS DATETIME(6)) AS f6, CAST('2024-10-27 02:30:00.5' AS DATETIME(1)) AS f1,
      CAST('1970-01-01 00:00:00' AS DATETIME) AS epoch, CAST('9999-12-31' AS DATE) AS dmax, ? AS p`
  for (const timezone of ['local', 'Z', '+05:30', '-08:00']) {
    it(`query and execute, timezone ${timezone}`, async () => {
      const pair = makePair(srv, { timezone })
      try {
        const ref = await diff(pair, async (pool) => [(await pool.query(SQL, [1]))[0], (await pool.execute(SQL, [1]))[0]])
        // mysql2 hands a year below 100 to new Date(), which reads it as 19xx.
        expect(ref.ok[0][0].y99.$date).toMatch(/^1999-03-0[34]T/)
        expect(ref.ok[1][0].f6.$date).toMatch(/^2024-0[23]-/)
      } finally {
        await pair.end()
      }
    })
  }
})

describe('typeCast field objects', () => {
  let pair
  beforeAll(() => {
    pair = makePair(srv)
  })
  afterAll(() => pair?.end())

  it('query(): one field object per column of a result, reading the current cell', async () => {
    const ref = await diff(pair, async (pool) => {
      const seen = []
      // (mysql2 reads its packet in both readers: calling string() and then
      // next() for one cell reads past it there, so each cell uses one.)
      const typeCast = (field, next) => {
        seen.push(field)
        return field.name === 'b' ? `s:${field.string()}` : next()
      }
      const sql = 'SELECT seq AS a, seq * 2 AS b FROM seq_1_to_3'
      const [rows] = await pool.query({ sql, typeCast })
      const [again] = await pool.query({ sql, typeCast })
      return { rows, again, calls: seen.length, fieldsPerResult: new Set(seen.slice(0, 6)).size, newPerResult: seen[0] !== seen[6] }
    })
    const rows = [
      { a: 1, b: 's:2' },
      { a: 2, b: 's:4' },
      { a: 3, b: 's:6' },
    ]
    expect(ref.ok).toMatchObject({ rows, again: rows, calls: 12, fieldsPerResult: 2, newPerResult: true })
  })
})

describe('text in Latin-1 and UTF-8 within one result and one drain', () => {
  // Cell text crosses as Latin-1 while every character fits in a byte and
  // switches to UTF-8 at the first one that does not (src/text.rs), inside a
  // chunk, between chunks of one result and between results drained
  // together. The characters sit on both sides of U+00FF.
  let pair
  beforeAll(() => {
    pair = makePair(srv, { connectionLimit: 6 })
  })
  afterAll(() => pair?.end())
  const TEXTS = ['plain', 'é', 'ÿ\u0080', '\u00a0x', 'Ā', '€', '😀', '', 'ñü after']

  it('a 5,000-row result (three chunks; the second turns UTF-8 midway), query and execute', async () => {
    const sql = `SELECT seq AS id,
        CASE WHEN seq = 3000 THEN CONCAT('€', seq) WHEN seq % 3 = 0 THEN CONCAT('é', seq, 'ÿ') ELSE CONCAT('a', seq) END AS s,
        CASE WHEN seq % 5 = 0 THEN NULL ELSE CONCAT(seq, ' ñ') END AS t
      FROM seq_1_to_5000 WHERE seq > ?`
    const ref = await diff(pair, async (pool) => [(await pool.query(sql, [0]))[0], (await pool.execute(sql, [0]))[0]])
    expect(ref.ok[0].length).toBe(5000)
    expect(ref.ok[0][2999].s).toBe('€3000')
    expect(ref.ok[1][2].s).toBe('é3ÿ')
  })

  it('many small results answered together, each in its own encoding', async () => {
    const ref = await diff(pair, async (pool) => {
      const calls = []
      for (let i = 0; i < 60; i++) {
        const v = TEXTS[i % TEXTS.length]
        calls.push(i % 2 ? pool.execute('SELECT ? AS s, CHAR_LENGTH(?) AS n', [v, v]) : pool.query('SELECT ? AS s, CHAR_LENGTH(?) AS n', [v, v]))
      }
      return (await Promise.all(calls)).map(([rows]) => rows[0])
    })
    expect(ref.ok.map((r) => r.s)).toEqual(Array.from({ length: 60 }, (_, i) => TEXTS[i % TEXTS.length]))
  })
})

// ---------------------------------------------------------------------------
// Parameter formatting (client-side, pool.query) and escaping helpers

const FORMAT_CASES = [
  ['string specials', 'SELECT ? AS s', ['it\'s "quoted" \\ back\\slash \0 nul \n\r\t \x1a ctrl 😀 emoji ñ']],
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: a sample value to format, not an approximation of Math.PI
  ['numbers', 'SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e, ? AS f', [42, -7, 3.14159, 1e21, -0, 0.1 + 0.2]],
  ['NaN', 'SELECT ? AS a', [NaN]],
  ['Infinity', 'SELECT ? AS a', [-Infinity]],
  ['BigInt', 'SELECT ? AS a, ? AS b, ? AS c', [9007199254740993n, -9223372036854775808n, 18446744073709551615n]],
  ['Buffer', 'SELECT ? AS b, ? AS e', [Buffer.from([0, 1, 0xfe, 0xff, 0x27, 0x5c]), Buffer.alloc(0)]],
  ['null / undefined', 'SELECT ? AS a, ? AS b', [null, undefined]],
  ['booleans', 'SELECT ? AS t, ? AS f', [true, false]],
  ['IN (?) numbers', 'SELECT id FROM cmp_a WHERE id IN (?) ORDER BY id', [[1, 2, 3]]],
  ['IN (?) strings', 'SELECT id FROM cmp_a WHERE name IN (?) ORDER BY id', [['one', "o'neil", 'x']]],
  ['empty array', 'SELECT id FROM cmp_a WHERE id IN (?)', [[]]],
  ['object as value', 'SELECT ? AS o', [{ a: 1, b: 'x' }]],
  ['?? identifier', 'SELECT ?? FROM ?? WHERE ?? = ?', ['name', 'cmp_a', 'cmp_a.id', 1]],
  ['?? identifier array', 'SELECT ?? FROM cmp_a ORDER BY id', [['id', 'name']]],
  ['?? with backtick', 'SELECT 1 AS ??', ['we`ird']],
  ['toSqlString', 'SELECT ? AS n', [{ toSqlString: () => '1 + 1' }]],
  ['too few values', 'SELECT ? AS a, ? AS b', [1]],
  ['extra values', 'SELECT ? AS a', [1, 2]],
  ['scalar instead of array', 'SELECT ? AS a', 5],
  ['string scalar instead of array', 'SELECT ? AS a', 'str'],
  ['? inside a string literal', "SELECT '?' AS q, ? AS a", [1]],
  ['question marks in values', 'SELECT ? AS a, ? AS b', ['?', '??']],
  ['no values', 'SELECT 1 AS a', undefined],
  ['empty values array', 'SELECT 1 AS a', []],
  [
    'nested array as value',
    'SELECT ? AS a',
    [
      [
        [1, 2],
        [3, 4],
      ],
    ],
  ],
]

describe('parameter formatting: pool.query(sql, values) and pool.format', () => {
  let pair
  beforeAll(() => {
    pair = makePair(srv)
  })
  afterAll(() => pair?.end())

  for (const [name, sql, values] of FORMAT_CASES) {
    it(name, async () => {
      await diff(pair, async (pool) => ({
        formatted: pool.format(sql, values),
        result: await pool.query(sql, values).catch((e) => e),
      }))
    })
  }

  it('query({ sql, values }) object form', async () => {
    await diff(pair, (pool) => pool.query({ sql: 'SELECT ? AS a, ? AS b', values: ['x', 2] }))
  })

  it('values in both the options object and the argument', async () => {
    await diff(pair, (pool) => pool.query({ sql: 'SELECT ? AS a', values: ['options'] }, ['argument']))
  })

  it('bulk VALUES ? with nested arrays, SET ? with an object', async () => {
    const ref = await diff(
      pair,
      async (pool) => [
        pool.format('INSERT INTO cmp_fmt (a, b) VALUES ?', [
          [
            [1, 'x'],
            [2, null],
            [3, "q'"],
          ],
        ]),
        await pool.query('INSERT INTO cmp_fmt (a, b) VALUES ?', [
          [
            [1, 'x'],
            [2, null],
            [3, "q'"],
          ],
        ]),
        pool.format('INSERT INTO cmp_fmt SET ?', [{ a: 5, b: 'obj', id: undefined }]),
        await pool.query('INSERT INTO cmp_fmt SET ?', [{ a: 5, b: 'obj' }]),
        await pool.query('UPDATE cmp_fmt SET ? WHERE ?? = ?', [{ b: 'upd' }, 'a', 5]),
        await pool.query('SELECT * FROM cmp_fmt ORDER BY id'),
      ],
      { reset: () => adminQuery('TRUNCATE cmp_fmt') },
    )
    expect(ref.ok[1][0].affectedRows).toBe(3)
  })

  it('pool.escape', async () => {
    // biome-ignore format: a list of values
    const inputs = [
      "it's", 'back\\slash', '\0\n\r\b\t\x1a"', 42, -0, 1.5, NaN, 9007199254740993n, true, false, null, undefined,
      new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789)), new Date(NaN), Buffer.from('ab'), [1, 'a', null], [[1, 2], [3]],
      { a: 1, b: 'x' }, { toSqlString: () => 'RAW()' }, '😀',
    ]
    await diff(pair, (pool) => inputs.map((v) => pool.escape(v)))
  })

  it('pool.escapeId', async () => {
    await diff(pair, (pool) => [
      pool.escapeId('col'),
      pool.escapeId('t.col'),
      pool.escapeId('we`ird'),
      pool.escapeId('t.*'),
      pool.escapeId(['a', 'b.c']),
      pool.escapeId('t.col', true),
      pool.escapeId(''),
    ])
  })

  it('pool.format without values and with an object', async () => {
    await diff(pair, (pool) => [
      pool.format('SELECT 1'),
      pool.format('SELECT ?'),
      pool.format('SELECT ? AS a', { a: 1 }),
      pool.format('SELECT ?, ??', ['v', 'id']),
    ])
  })
})

// Dates as parameters depend on the timezone option (and on TZ for 'local').
describe('parameter formatting: Dates under timezone options', () => {
  const dates = [
    new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789)),
    new Date(Date.UTC(2024, 2, 31, 1, 30, 0, 0)), // DST switch in Europe/Berlin
    new Date(Date.UTC(1000, 0, 1, 0, 0, 0, 0)),
    new Date(-1), // pre-epoch millisecond
    new Date(NaN),
  ]
  for (const timezone of [undefined, 'local', 'Z', '+05:30', '-08:00']) {
    describe(`timezone ${timezone ?? '(default)'}`, () => {
      let pair
      beforeAll(() => {
        pair = makePair(srv, timezone === undefined ? {} : { timezone })
      })
      afterAll(() => pair?.end())

      it('format, query and execute round trip', async () => {
        await diff(pair, async (pool) => [
          dates.map((d) => pool.format('SELECT ?', [d])),
          await pool.query('SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e', dates),
          await pool.query('SELECT CAST(? AS DATETIME(3)) AS a', [dates[0]]),
          await pool.execute('SELECT ? AS a, ? AS b, ? AS c, ? AS d', dates.slice(0, 4)),
          await pool.execute('SELECT CAST(? AS DATETIME(3)) AS a', [dates[0]]),
        ])
      })
    })
  }
})

// Parameters of the binary protocol: their wire type shows in the result type.
describe('execute: parameter types', () => {
  let pair
  beforeAll(() => {
    pair = makePair(srv)
  })
  afterAll(() => pair?.end())

  const cases = [
    ['integers', [0, 1, -1, 2147483647, -2147483648, 4294967296, 9007199254740991]],
    ['floats', [1.5, -0, 1e-10, 1e300, 0.1 + 0.2]],
    ['BigInt', [9007199254740993n, -9223372036854775808n, 18446744073709551615n]],
    ['strings', ['', 'x', "it's", '😀', 'a\0b']],
    ['booleans', [true, false]],
    ['null', [null]],
    ['Buffer', [Buffer.from([0, 255, 128]), Buffer.alloc(0)]],
    ['Date', [new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789))]],
    ['object and array', [{ a: 1 }, [1, 2]]],
  ]
  // ACCEPTED DIFFERENCES (README "Known differences"): mysql_async binds a
  // parameter as LONGLONG/DOUBLE/VAR_STRING/DATETIME only; it has no TINY or
  // BLOB parameter type. So `SELECT ?` echoes a boolean as a LONGLONG column
  // (same value 1/0) and a Buffer as text (stored into BLOB/BINARY columns it
  // is byte-exact: see 'Buffer into a BLOB column' below).
  const ALLOW = {
    booleans: [{ path: /^\$\.ok\.1\.\d+\.\$field\.(columnLength|columnType|type)$/, why: 'LONGLONG instead of TINY' }],
    Buffer: [
      { path: /^\$\.ok\.0\.0\.p\d$/, why: 'VAR_STRING echo', sut: (v) => typeof v === 'string' },
      { path: /^\$\.ok\.1\.\d+\.\$field\.(characterSet|encoding|columnLength|flags|columnType|type)$/, why: 'VAR_STRING column' },
    ],
  }
  for (const [name, values] of cases) {
    it(name, async () => {
      const sql = `SELECT ${values.map((_, i) => `? AS p${i}`).join(', ')}`
      await diff(pair, (pool) => pool.execute(sql, values), { allow: ALLOW[name] })
    })
  }

  // Up to SUB_INLINE_MAX all-number values cross inside submit()'s
  // Float64Array rather than as an array (lib/transport.js): the same
  // values either way, at every count on both sides of that bound.
  it('all-number values, in the submit row and not: every count from 0 to 6', async () => {
    const numbers = [-0, 1.5, 9007199254740991, -2147483648, 1e300, 0.1 + 0.2]
    const ref = await diff(pair, async (pool) => {
      const out = []
      for (let n = 0; n <= numbers.length; n++) {
        const values = numbers.slice(0, n)
        const sql = n === 0 ? 'SELECT 1 AS none' : `SELECT ${values.map((_, i) => `? AS p${i}`).join(', ')}`
        out.push(await pool.execute(sql, values))
      }
      // Not all numbers: the array path.
      out.push(await pool.execute('SELECT ? AS a, ? AS b', [1, 'x']))
      out.push(await pool.execute('SELECT ? AS a, ? AS b', [2, null]))
      return out
    })
    expect(ref.ok.map(([rows]) => rows[0].$keys.length)).toEqual([1, 1, 2, 3, 4, 5, 6, 2, 2])
    expect(ref.ok[6][0][0].p5).toBeCloseTo(0.3, 12)
  })

  it('Buffer into a BLOB column is byte-exact', async () => {
    const bytes = Buffer.from([0, 255, 128, 0xc3, 0x28, 0x27, 0x5c])
    await diff(pair, async (pool) => {
      const conn = await pool.getConnection()
      try {
        await conn.query('CREATE TEMPORARY TABLE tmp_blob (b BLOB, vb VARBINARY(16))')
        await conn.execute('INSERT INTO tmp_blob VALUES (?, ?)', [bytes, bytes])
        return await conn.execute('SELECT b, vb, b = ? AS same FROM tmp_blob', [bytes])
      } finally {
        conn.release()
      }
    })
  })

  // ACCEPTED DIFFERENCE: bad bind values are the same TypeError with the same
  // message, and ours adds a `code` (every error of ours has one).
  const codeAdded = [{ path: /^\$\.threw\.\$error\.code$/, why: 'code added', sut: (v) => v === 'ERR_INVALID_PARAMETER' }]

  it('undefined is rejected', async () => {
    const ref = await diff(pair, (pool) => pool.execute('SELECT ? AS a', [undefined]), { allow: codeAdded })
    expect(ref.threw.$error.name).toBe('TypeError')
  })

  it('numbers compared against columns', async () => {
    await diff(pair, (pool) => pool.execute('SELECT id, name FROM cmp_a WHERE id = ? OR name = ? OR id = ? ORDER BY id', [1, 'two', 4n]))
  })
})

describe('namedPlaceholders', () => {
  let pair
  let plain
  beforeAll(() => {
    pair = makePair(srv, { namedPlaceholders: true })
    plain = makePair(srv)
  })
  afterAll(async () => {
    await pair?.end()
    await plain?.end()
  })

  for (const proto of ['query', 'execute']) {
    it(`${proto}: :name placeholders (repeated, mixed types)`, async () => {
      await diff(pair, (pool) => pool[proto]('SELECT :a AS a, :b AS b, :a AS a2, :c AS c', { a: 1, b: "x'y", c: null }))
    })
    it(`${proto}: missing name`, async () => {
      // execute: same TypeError as mysql2, plus our `code` (accepted, see above).
      const allow = proto === 'execute' ? [{ path: /^\$\.threw\.\$error\.code$/, why: 'code added', sut: (v) => v === 'ERR_INVALID_PARAMETER' }] : undefined
      await diff(pair, (pool) => pool[proto]('SELECT :a AS a, :b AS b', { a: 1 }), { allow })
    })
    it(`${proto}: positional ? still works`, async () => {
      await diff(pair, (pool) => pool[proto]('SELECT ? AS a', [1]))
    })
    it(`${proto}: per-query namedPlaceholders on a plain pool`, async () => {
      await diff(plain, (pool) => pool[proto]({ sql: 'SELECT :v AS v, :w AS w', namedPlaceholders: true }, { v: 'named', w: 2 }))
    })
  }

  it('query: ::name identifiers', async () => {
    await diff(pair, (pool) => pool.query('SELECT ::col FROM cmp_a WHERE id = :id', { col: 'name', id: 2 }))
  })

  it('query: IN (:list)', async () => {
    await diff(pair, (pool) => pool.query('SELECT id FROM cmp_a WHERE id IN (:ids) ORDER BY id', { ids: [1, 3] }))
  })

  it('pool.format with an object', async () => {
    await diff(pair, (pool) => pool.format('SELECT :a AS a, :b AS b', { a: 1, b: 'x' }))
  })
})

// ---------------------------------------------------------------------------
// Errors

const ERROR_CASES = [
  ['duplicate key', 'INSERT INTO cmp_err (id, s) VALUES (?, ?)', [1, 'a']],
  ['syntax error', 'SELEC ? AS a', [1]],
  ['unknown table', 'SELECT * FROM cmp_nope WHERE id = ?', [1]],
  ['unknown column', 'SELECT nope FROM cmp_err WHERE id = ?', [1]],
  ['data too long (strict mode)', 'INSERT INTO cmp_err (id, s) VALUES (?, ?)', [2, 'toolong']],
  ['FK violation on insert', 'INSERT INTO cmp_err_child (id, parent_id) VALUES (?, ?)', [2, 999]],
  ['FK violation on delete', 'DELETE FROM cmp_err_parent WHERE id = ?', [1]],
  ['SIGNAL with custom SQLSTATE and utf8 message', "SIGNAL SQLSTATE '45001' SET MESSAGE_TEXT = 'custom 😀 ç', MYSQL_ERRNO = 3999", []],
  ['division by zero in strict insert', 'INSERT INTO cmp_err (id, s) VALUES (1 / ?, ?)', [0, 'x']],
  ['out of range value', 'INSERT INTO cmp_err (id, s) VALUES (?, ?)', [99999999999, 'x']],
  ['unknown function', 'SELECT cmp_no_such_fn(?)', [1]],
]

// "then still usable" checks after each error: with one connection per pool
// the follow-up query runs on the very connection that saw the error.
const usableAfter = async (pool, proto, fn) => {
  const result = await fn().then(
    (r) => r,
    (e) => e,
  )
  const after = await pool[proto]('SELECT ? AS ok', [1]).then(
    ([rows]) => rows,
    (e) => e,
  )
  return { result, after }
}

describe('errors', () => {
  let pair
  let bigPair
  beforeAll(() => {
    pair = makePair(srv, { connectionLimit: 1 })
    bigPair = makePair(srv, { connectionLimit: 4 })
  })
  afterAll(async () => {
    await pair?.end()
    await bigPair?.end()
  })

  for (const proto of ['query', 'execute']) {
    for (const [name, sql, values] of ERROR_CASES) {
      it(`${proto}: ${name}`, async () => {
        const ref = await diff(pair, async (pool) => {
          const err = await pool[proto](sql, values).then(
            () => null,
            (e) => e,
          )
          // the pool stays usable after the error
          const [after] = await pool[proto]('SELECT ? AS ok', [1])
          return { err, after }
        })
        expect(ref.ok.err.$error.code).toEqual(expect.any(String))
        expect(ref.ok.after).toEqual([{ $keys: ['ok'], ok: 1 }])
      })
    }
  }

  // Every errno either client could name, raised by the real server with
  // SIGNAL, so the whole name table is compared, not just a corpus.
  // ACCEPTED DIFFERENCE (ERRNO_DRIFT): mysql2's list is MySQL 8.0.33's; ours
  // is generated from MySQL 8.4 LTS (scripts/gen-errcodes.mjs). These numbers
  // were retired or renamed since 8.0.33, and ours then uses MariaDB's name
  // for the number (or MySQL's new one). No server sends the 8.0.33 meaning of
  // any of them any more.
  const ERRNO_DRIFT = [
    1120, 1150, 1151, 1165, 1185, 1487, 1547, 1548, 1557, 1561, 1608, 1669, 1749, 1768, 1787, 1834, 1852, 1858, 3597, 3600, 4018, 4038, 4093, 4103, 4104, 4113,
  ]
  it("every errno 1..4299: code, errno, sqlState and message equal mysql2's", async () => {
    const raise = async (pool, n) => {
      const err = await pool.query(`SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'e${n}', MYSQL_ERRNO = ${n}`).then(
        () => null,
        (e) => e,
      )
      return { code: err?.code, errno: err?.errno, sqlState: err?.sqlState, sqlMessage: err?.sqlMessage }
    }
    const differ = []
    const unnamedByMysql2 = []
    for (let start = 1; start < 4300; start += 100) {
      const batch = Array.from({ length: 100 }, (_, i) => start + i)
      const [ref, sut] = await Promise.all([Promise.all(batch.map((n) => raise(bigPair.ref, n))), Promise.all(batch.map((n) => raise(bigPair.sut, n)))])
      batch.forEach((n, i) => {
        expect(sut[i].errno, `errno ${n}`).toBe(n)
        expect({ ...sut[i], code: undefined }, `errno ${n}`).toEqual({ ...ref[i], code: undefined })
        // a server error always carries a symbolic code in ours
        expect(sut[i].code, `errno ${n}`).toMatch(/^[A-Z][A-Z0-9_]+$/)
        if (ref[i].code === undefined) unnamedByMysql2.push([n, sut[i].code])
        else if (ref[i].code !== sut[i].code) differ.push(n)
      })
    }
    expect(differ).toEqual(SELF ? [] : ERRNO_DRIFT)
    if (!SELF) {
      // numbers only MariaDB names get MariaDB's name (mysql2: undefined)
      expect(unnamedByMysql2).toContainEqual([4192, 'ER_SLAVE_STATEMENT_TIMEOUT'])
      // and a number nobody defines gets mysqljs' placeholder name
      expect(unnamedByMysql2).toContainEqual([999, 'UNKNOWN_CODE_PLEASE_REPORT'])
    }
  })

  it('execute: wrong number of parameters', async () => {
    const ref = await diff(pair, (pool) => usableAfter(pool, 'execute', () => pool.execute('SELECT ? AS a, ? AS b', [1])))
    expect(ref.ok.result.$error.errno).toBe(1210)
    expect(ref.ok.after).toEqual([{ $keys: ['ok'], ok: 1 }])
  })

  // ACCEPTED DIFFERENCE: mysql_async always negotiates multi-statements, so
  // ours refuses the second statement client-side (lib/statements.js) with
  // the server's code/errno/sqlState; only the message text differs.
  it('query: two statements without multipleStatements', async () => {
    const ref = await diff(pair, (pool) => usableAfter(pool, 'query', () => pool.query('SELECT 1; SELECT 2')), {
      allow: [{ path: /^\$\.ok\.result\.\$error\.(message|sqlMessage)$/, why: 'client-side wording', sut: (v) => /more than one statement/.test(v) }],
    })
    expect(ref.ok.result.$error.code).toBe('ER_PARSE_ERROR')
    expect(ref.ok.after).toEqual([{ $keys: ['ok'], ok: 1 }])
  })

  it('lock wait timeout and deadlock on two lent connections', async () => {
    const ref = await diff(
      bigPair,
      async (pool) => {
        const c1 = await pool.getConnection()
        const c2 = await pool.getConnection()
        try {
          await c1.query('SET SESSION innodb_lock_wait_timeout = 1')
          await c2.query('SET SESSION innodb_lock_wait_timeout = 1')
          await c1.beginTransaction()
          await c2.beginTransaction()
          await c1.query('SELECT * FROM cmp_lock WHERE id = 1 FOR UPDATE')
          // lock wait timeout on c2, which stays in its transaction
          const timeout = await c2.execute('SELECT * FROM cmp_lock WHERE id = ? FOR UPDATE', [1]).then(
            () => null,
            (e) => e,
          )
          await c2.query('SELECT * FROM cmp_lock WHERE id = 2 FOR UPDATE')
          // opposite order: one of the two is chosen as the deadlock victim
          const p1 = c1.query('UPDATE cmp_lock SET v = v + 1 WHERE id = 2')
          await new Promise((r) => setTimeout(r, 150))
          const p2 = c2.query('UPDATE cmp_lock SET v = v + 1 WHERE id = 1')
          const settled = await Promise.allSettled([p1, p2])
          const failures = settled.filter((s) => s.status === 'rejected').map((s) => s.reason)
          await c1.rollback()
          await c2.rollback()
          const [after] = await c1.query('SELECT * FROM cmp_lock ORDER BY id')
          return { timeout, failures, after }
        } finally {
          c1.release()
          c2.release()
        }
      },
      { reset: () => adminQuery('UPDATE cmp_lock SET v = 0') },
    )
    expect(ref.ok.timeout.$error.code).toBe('ER_LOCK_WAIT_TIMEOUT')
    expect(ref.ok.failures).toHaveLength(1)
    expect(ref.ok.failures[0].$error.code).toBe('ER_LOCK_DEADLOCK')
  })

  it('conn.prepare(): execute the statement, errors at prepare time', async () => {
    const ref = await diff(bigPair, async (pool) => {
      const conn = await pool.getConnection()
      try {
        const stmt = await conn.prepare('SELECT ? + 1 AS n, ? AS s')
        const a = await stmt.execute([1, 'x'])
        const b = await stmt.execute([41, 'y'])
        await stmt.close()
        const bad = await conn.prepare('SELEC nothing').then(
          () => null,
          (e) => e,
        )
        const [after] = await conn.query('SELECT 1 AS ok')
        return { sql: stmt.statement.query, a, b, bad, after }
      } finally {
        conn.release()
      }
    })
    expect(ref.ok.bad.$error.code).toBe('ER_PARSE_ERROR')
    expect(ref.ok.sql).toBe('SELECT ? + 1 AS n, ? AS s')
  })

  it('commands sent just before release() still run, in order (not awaited)', async () => {
    const ref = await diff(bigPair, async (pool) => {
      const out = []
      for (let i = 0; i < 50; i++) {
        const conn = await pool.getConnection()
        const a = conn.query('SELECT ? AS i', [i])
        const b = conn.execute('SELECT ? + 1 AS j', [i])
        conn.release()
        const [[ra], [rb]] = await Promise.all([a, b])
        out.push([ra, rb])
      }
      return out
    })
    expect(ref.ok).toHaveLength(50)
  })

  it('connection killed under a query: same error, and the pool replaces the connection', async () => {
    const ref = await diff(bigPair, async (pool) => {
      const conn = await pool.getConnection()
      const pending = conn.query('SELECT SLEEP(5) AS s').then(
        () => null,
        (e) => e,
      )
      await new Promise((r) => setTimeout(r, 200))
      await adminQuery(`KILL ${conn.threadId}`)
      const err = await pending
      conn.release()
      const [after] = await pool.query('SELECT ? AS ok', [1])
      return { err, after }
    })
    expect(ref.ok.err.$error.code).toBe('PROTOCOL_CONNECTION_LOST')
    expect(ref.ok.err.$error.message).toBe('Connection lost: The server closed the connection.')
    expect(ref.ok.after).toEqual([{ $keys: ['ok'], ok: 1 }])
  })

  it('KILL QUERY: ER_QUERY_INTERRUPTED, and the connection stays usable', async () => {
    const ref = await diff(bigPair, async (pool) => {
      const conn = await pool.getConnection()
      try {
        const pending = conn.query('SELECT SLEEP(5) AS s').then(
          (r) => r,
          (e) => e,
        )
        await new Promise((r) => setTimeout(r, 200))
        await adminQuery(`KILL QUERY ${conn.threadId}`)
        const res = await pending
        const [after] = await conn.query('SELECT ? AS ok', [1])
        return { res, after }
      } finally {
        conn.release()
      }
    })
    expect(ref.ok.after).toEqual([{ $keys: ['ok'], ok: 1 }])
  })

  it('KILL of its own connection: same error, and the next borrower gets a live connection', async () => {
    // One connection, so the next getConnection() would get the killed one
    // back if the pool kept it (MariaDB answers 1927 and then hangs up).
    const one = makePair(srv, { connectionLimit: 1 })
    try {
      const ref = await diff(one, async (pool) => {
        const conn = await pool.getConnection()
        // Not the whole error: its `sql` names the thread id, and mysql2 has
        // no name for MariaDB's 1927 (README "Known differences", error names).
        const err = await conn.query(`KILL ${conn.threadId}`).then(
          () => null,
          (e) => ({ errno: e.errno, sqlState: e.sqlState, message: e.message, fatal: e.fatal }),
        )
        const killed = conn.threadId
        conn.release()
        // mysql2 drops an idle connection when its socket ends (a later tick).
        await new Promise((r) => setTimeout(r, 50))
        const next = await pool.getConnection()
        try {
          const [after] = await next.query('SELECT ? AS ok', [1])
          return { err, after, same: next.threadId === killed }
        } finally {
          next.release()
        }
      })
      expect(ref.ok.err.errno).toBe(1927)
      expect(ref.ok.after).toEqual([{ $keys: ['ok'], ok: 1 }])
      expect(ref.ok.same).toBe(false)
    } finally {
      await one.end()
    }
  })

  it('errors on a lent connection, then commit/rollback still work', async () => {
    await diff(
      pair,
      async (pool) => {
        const conn = await pool.getConnection()
        try {
          await conn.beginTransaction()
          const e1 = await conn.query('INSERT INTO cmp_fmt (a, b) VALUES (?, ?)', [1, 'x'.repeat(51)]).catch((e) => e)
          const ok = await conn.execute('INSERT INTO cmp_fmt (a, b) VALUES (?, ?)', [2, 'kept'])
          await conn.commit()
          await conn.beginTransaction()
          await conn.query('INSERT INTO cmp_fmt (a, b) VALUES (3, ?)', ['rolled back'])
          await conn.rollback()
          const [rows] = await conn.query('SELECT a, b FROM cmp_fmt ORDER BY id')
          return { e1, ok, rows }
        } finally {
          conn.release()
        }
      },
      { reset: () => adminQuery('TRUNCATE cmp_fmt') },
    )
  })
})

// ---------------------------------------------------------------------------
// Multiple statements and multiple result sets

describe('multiple statements and CALL', () => {
  let multi
  let plain
  beforeAll(() => {
    multi = makePair(srv, { multipleStatements: true, connectionLimit: 1 })
    plain = makePair(srv, { connectionLimit: 1 })
  })
  afterAll(async () => {
    await multi?.end()
    await plain?.end()
  })

  it('two SELECTs', async () => {
    const ref = await diff(multi, (pool) => pool.query('SELECT 1 AS a; SELECT "x" AS b, 2 AS c'))
    expect(ref.ok[0]).toHaveLength(2)
  })

  it('SELECT, UPDATE, SET, SELECT with values', async () => {
    await diff(multi, (pool) => pool.query('SELECT ? AS a; UPDATE cmp_a SET name = name WHERE id = ?; SET @v = ?; SELECT @v AS v, ? AS w', [1, 1, 'var', 'w']))
  })

  it('a failing statement in the middle, then the connection is in sync', async () => {
    const ref = await diff(multi, (pool) => usableAfter(pool, 'query', () => pool.query('SELECT 1 AS a; SELECT * FROM cmp_nope; SELECT 3 AS c')))
    expect(ref.ok.result.$error.code).toBe('ER_NO_SUCH_TABLE')
    expect(ref.ok.after).toEqual([{ $keys: ['ok'], ok: 1 }])
  })

  it('an empty result set among others', async () => {
    await diff(multi, (pool) => pool.query('SELECT * FROM cmp_a WHERE 1 = 0; SELECT id FROM cmp_a ORDER BY id'))
  })

  it('trailing semicolon', async () => {
    await diff(multi, (pool) => pool.query('SELECT 1 AS a;'))
  })

  for (const proto of ['query', 'execute']) {
    it(`${proto}: CALL with two result sets (no multipleStatements needed)`, async () => {
      const ref = await diff(plain, (pool) => usableAfter(pool, proto, () => pool[proto]('CALL cmp_proc(?)', [21])))
      expect(ref.ok.result[0]).toHaveLength(3)
      expect(ref.ok.after).toEqual([{ $keys: ['ok'], ok: 1 }])
    })
  }
})

// ---------------------------------------------------------------------------
// Small API-shape checks that drizzle and ordinary code rely on

describe('API shape', () => {
  let pair
  beforeAll(() => {
    pair = makePair(srv)
  })
  afterAll(() => pair?.end())

  it('query/execute resolve to [rows, fields]; DML to [header, undefined]', async () => {
    await diff(pair, async (pool) => {
      const sel = await pool.query('SELECT 1 AS a')
      const dml = await pool.query('UPDATE cmp_a SET name = name WHERE id = 0')
      const esel = await pool.execute('SELECT 1 AS a')
      const edml = await pool.execute('UPDATE cmp_a SET name = name WHERE id = 0')
      return [sel.length, Array.isArray(sel[0]), sel[1].length, dml.length, dml[1], esel.length, edml.length, edml[1]]
    })
  })

  it('row objects are plain objects, rowsAsArray rows are arrays', async () => {
    const ref = await diff(pair, async (pool) => {
      const [[row]] = await pool.query('SELECT 1 AS a')
      const [[arr]] = await pool.query({ sql: 'SELECT 1 AS a', rowsAsArray: true })
      return [Object.getPrototypeOf(row) === Object.prototype, Array.isArray(arr), JSON.stringify(row), JSON.stringify(arr)]
    })
    expect(ref.ok[0]).toBe(true)
  })

  it('getConnection: query, execute, ping, release', async () => {
    await diff(pair, async (pool) => {
      const conn = await pool.getConnection()
      try {
        const a = await conn.query('SELECT ? AS q', ['x'])
        const b = await conn.execute('SELECT ? AS e', ['y'])
        const ping = await conn.ping().then(
          (r) => ({ resolved: r }),
          (e) => e,
        )
        const c = await conn.query('SELECT 1 AS after_ping').catch((e) => e)
        return [a, b, ping, c, typeof conn.release, typeof conn.threadId]
      } finally {
        conn.release()
      }
    })
  })

  it('snapshot sanity: -0, NaN, Invalid Date and BigInt are distinguished', () => {
    expect(snap(-0)).not.toEqual(snap(0))
    expect(snap(new Date(NaN))).toEqual({ $date: 'Invalid Date' })
    expect(snap(1n)).not.toEqual(snap(1))
    expect(snap({ a: undefined })).not.toEqual(snap({}))
    expect(snap({ a: 1, b: 2 })).not.toEqual(snap({ b: 2, a: 1 }))
    expect(baseOptions(srv).host).toBe(srv.host)
  })
})
