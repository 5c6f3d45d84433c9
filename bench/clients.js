'use strict';
// One tiny adapter per client so every workload runs the same logic on all
// of them. Each returns plain rows (no [rows, fields] tuple). (The Rust
// ceiling is not here: it is its own program, bench/ceiling.)
const path = require('node:path');
const { POOL_SIZE } = require('./workloads');

const first = (r) => r[0];

function baseOptions(conn, tls) {
  return {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: conn.database,
    connectionLimit: POOL_SIZE,
    ...(tls ? { ssl: { ca: conn.ca } } : {}),
  };
}

// What a mysql2 user writes for a bulk insert without batch(): one
// connection, one transaction, one execute() per row.
async function executeLoop(pool, sql, rows) {
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    let affectedRows = 0;
    let insertId = 0;
    for (let i = 0; i < rows.length; i++) {
      const [h] = await conn.execute(sql, rows[i]);
      affectedRows += h.affectedRows;
      if (i === 0) insertId = h.insertId;
    }
    await conn.commit();
    return { affectedRows, insertId };
  } catch (err) {
    await conn.rollback().catch(() => {});
    throw err;
  } finally {
    conn.release();
  }
}

// ours and mysql2 share mysql2's promise API.
function mysql2Like(createPool, batch) {
  return {
    create: (conn, { tls } = {}) => createPool(baseOptions(conn, tls)),
    query: (pool, sql, params) => pool.query(sql, params).then(first),
    execute: (pool, sql, params) => pool.execute(sql, params).then(first),
    queryArrays: (pool, sql) => pool.query({ sql, rowsAsArray: true }).then(first),
    end: (pool) => pool.end(),
    drizzle: (pool) => require('drizzle-orm/mysql2').drizzle(pool),
    // (pool, sql, rows) -> Promise<{ affectedRows, insertId }>
    batch,
  };
}

// BENCH_OURS_OPTIONS='{"mariadbJsonColumns":false}' adds pool options to
// ours only, for A/B runs of one setting.
const oursExtra = process.env.BENCH_OURS_OPTIONS ? JSON.parse(process.env.BENCH_OURS_OPTIONS) : {};

const ADAPTERS = {
  ours: () => {
    const { createPool } = require(path.join(__dirname, '..', 'lib', 'index.js'));
    return mysql2Like(
      (opts) => createPool({ ...opts, ...oursExtra }),
      (pool, sql, rows) => pool.batch(sql, rows),
    );
  },
  mysql2: () => mysql2Like(require('mysql2/promise').createPool, executeLoop),
  mariadb: () => {
    const mariadb = require('mariadb');
    return {
      // Options that make its results the same types as mysql2's defaults.
      create: (conn, { tls } = {}) =>
        mariadb.createPool({
          ...baseOptions(conn, tls),
          bigIntAsNumber: true,
          insertIdAsNumber: true,
          decimalAsNumber: false,
          dateStrings: false,
        }),
      query: (pool, sql, params) => pool.query(sql, params),
      execute: (pool, sql, params) => pool.execute(sql, params),
      queryArrays: (pool, sql) => pool.query({ sql, rowsAsArray: true }),
      end: (pool) => pool.end(),
      drizzle: null, // drizzle-orm has no driver for this connector
      // fullResult: false: one summed OkPacket, as ours (3.5 may otherwise give one per bulk sub-command)
      batch: (pool, sql, rows) => pool.batch({ sql, fullResult: false }, rows),
    };
  },
  // Bun's built-in MySQL client, under bun (bench/worker.js run by the bun binary).
  bun: () => {
    const { SQL } = require('bun');
    const { format } = require('sql-escaper');
    return {
      create: (conn, { tls } = {}) =>
        new SQL({
          adapter: 'mysql',
          hostname: conn.host,
          port: conn.port,
          username: conn.user,
          password: conn.password,
          database: conn.database,
          max: POOL_SIZE,
          ...(tls ? { tls: { ca: conn.ca } } : {}),
        }),
      // query() as mysql2's: values escaped into the text client-side and sent
      // as one COM_QUERY (sql.unsafe without parameters), no prepared statement.
      query: (sql, text, params) => sql.unsafe(params ? format(text, params) : text),
      // execute(): parameters bound by Bun (prepared statement, binary protocol).
      execute: (sql, text, params) => sql.unsafe(text, params),
      queryArrays: (sql, text) => sql.unsafe(text).values(),
      end: (sql) => sql.close(),
      // Bun's result array carries the OK packet's fields.
      header: (r) => ({ affectedRows: r.affectedRows, insertId: Number(r.lastInsertRowid) }),
      // A BIGINT outside the int32 range comes back as a string (bigint: false, its default).
      types: { big: 'string' },
      drizzle: null, // drizzle-orm's bun-sql driver is PostgreSQL only
      batch: null,
    };
  },
};
// This pool under bun: the same adapter; the bun binary is the difference.
ADAPTERS['ours-bun'] = ADAPTERS.ours;
// The same pool without pipelining, and with writes riding too (README
// "Pipelining").
const oursWith = (extra) => () => {
  const { createPool } = require(path.join(__dirname, '..', 'lib', 'index.js'));
  return mysql2Like(
    (opts) => createPool({ ...opts, ...extra, ...oursExtra }),
    (pool, sql, rows) => pool.batch(sql, rows),
  );
};
ADAPTERS['ours-nopipe'] = oursWith({ pipelining: 0 });
ADAPTERS['ours-writes'] = oursWith({ pipelineWrites: true });

function makeClient(name) {
  const make = ADAPTERS[name];
  if (!make) throw new Error(`unknown client ${name}`);
  return make();
}

module.exports = { makeClient };
