'use strict';
// Public entry point: mysql2's promise-pool API (createPool, format, escape...)
// backed by the native pool, plus health/stats/metrics helpers.
const SqlEscaper = require('sql-escaper');
const { Pool } = require('./pool');
const { PoolConnection } = require('./connection');
const { FieldPacket, ResultSetHeader, TYPE_NAMES } = require('./rows');
const { POOL_CODES } = require('./errors');

/** createPool(options | uri) -> Pool (mysql2's promise pool API). */
function createPool(options) {
  return new Pool(options);
}

// mysql2 exports Types as name -> number.
const Types = Object.freeze(Object.fromEntries(Object.entries(TYPE_NAMES).map(([n, name]) => [name, Number(n)])));

/** Adapter for drizzle-orm/mysql-proxy: drizzle(createProxyCallback(pool)). */
function createProxyCallback(pool) {
  const typeCast = function (field, next) {
    if (field.type === 'TIMESTAMP' || field.type === 'DATETIME' || field.type === 'DATE') {
      return field.string();
    }
    return next();
  };
  return async function proxy(sql, params, method) {
    if (method === 'all') {
      const [rows] = await pool.query({ sql, values: params, rowsAsArray: true, typeCast });
      return { rows };
    }
    // Drizzle reads rows[0].insertId / affectedRows: the whole [header, fields].
    const result = await pool.query({ sql, values: params, typeCast });
    return { rows: result };
  };
}

module.exports = {
  createPool,
  Pool,
  PoolConnection,
  FieldPacket,
  ResultSetHeader,
  Types,
  errorCodes: POOL_CODES,
  createProxyCallback,
  format: (sql, values, stringifyObjects, timezone) => SqlEscaper.format(sql, values, stringifyObjects, timezone),
  escape: (value, stringifyObjects, timezone) => SqlEscaper.escape(value, stringifyObjects, timezone),
  escapeId: (value, forbidQualified) => SqlEscaper.escapeId(value, forbidQualified),
  raw: (sql) => SqlEscaper.raw(sql),
  get metricsHandler() {
    return require('./observability').metricsHandler;
  },
  get createMonitoringRouter() {
    return require('./trpc').createMonitoringRouter;
  },
  get createPoolCluster() {
    return require('./cluster').createPoolCluster;
  },
  get createReadWriteSplit() {
    return require('./cluster').createReadWriteSplit;
  },
  get PoolCluster() {
    return require('./cluster').PoolCluster;
  },
  get ReadWriteSplit() {
    return require('./cluster').ReadWriteSplit;
  },
};
