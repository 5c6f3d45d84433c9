'use strict';
// Public entry point: mysql2's promise-pool API (createPool, format, escape...)
// backed by the native pool, plus health/stats/metrics helpers.
const SqlEscaper = require('sql-escaper');
const { Pool } = require('./pool');
const { PoolConnection } = require('./connection');
const { FieldPacket, ResultSetHeader, TYPE_NAMES } = require('./rows');
const { POOL_CODES, coded } = require('./errors');

/** createPool(options | uri) -> Pool (mysql2's promise pool API). */
function createPool(options) {
  return new Pool(options);
}

// mysql2 exports Types as name -> number.
const Types = Object.freeze(Object.fromEntries(Object.entries(TYPE_NAMES).map(([n, name]) => [name, Number(n)])));

/** Adapter for drizzle-orm/mysql-proxy: drizzle(createProxyCallback(pool)). */
function createProxyCallback(pool) {
  const typeCast = (field, next) => {
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

// Plain named exports (exports.x = x) so that Node's ESM loader can see every
// name: `import { metricsHandler } from 'napi-mysql-pool'` must work.
function format(sql, values, stringifyObjects, timezone) {
  return coded(() => SqlEscaper.format(sql, values, stringifyObjects, timezone));
}
// biome-ignore lint/suspicious/noShadowRestrictedNames: mysql2's API name
function escape(value, stringifyObjects, timezone) {
  return coded(() => SqlEscaper.escape(value, stringifyObjects, timezone));
}
function escapeId(value, forbidQualified) {
  return coded(() => SqlEscaper.escapeId(value, forbidQualified));
}
function raw(sql) {
  try {
    return SqlEscaper.raw(sql);
  } catch (err) {
    // mysql2's TypeError and message ('argument sql must be a string'), with a code.
    if (err !== null && typeof err === 'object' && err.code === undefined) err.code = 'ERR_INVALID_PARAMETER';
    throw err;
  }
}

const observability = require('./observability');
const trpc = require('./trpc');
const cluster = require('./cluster/index');

exports.createPool = createPool;
exports.Pool = Pool;
exports.PoolConnection = PoolConnection;
exports.FieldPacket = FieldPacket;
exports.ResultSetHeader = ResultSetHeader;
exports.Types = Types;
exports.errorCodes = POOL_CODES;
exports.createProxyCallback = createProxyCallback;
exports.format = format;
exports.escape = escape;
exports.escapeId = escapeId;
exports.raw = raw;
exports.metricsHandler = observability.metricsHandler;
exports.metricsText = observability.metricsText;
exports.createMonitoringRouter = trpc.createMonitoringRouter;
exports.monitoringProcedures = trpc.monitoringProcedures;
exports.pgbouncerStatus = trpc.pgbouncerStatus;
exports.createPoolCluster = cluster.createPoolCluster;
exports.createReadWriteSplit = cluster.createReadWriteSplit;
exports.PoolCluster = cluster.PoolCluster;
exports.ReadWriteSplit = cluster.ReadWriteSplit;
