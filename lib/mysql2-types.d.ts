// The mysql2 types lib/index.d.ts builds on: mysql2's own (mysql2/promise)
// when mysql2 is installed, so that a pool is a mysql2 Pool wherever one is
// expected (drizzle-orm/mysql2's drizzle(pool), your own helpers), and
// otherwise the self-contained copies in lib/mysql2-standalone.d.ts, so
// that a strict TypeScript app compiles without mysql2 (an optional peer).

// @ts-ignore -- mysql2 is optional: without it this import resolves to nothing, and the check below picks the copies.
import type * as mysql2 from 'mysql2/promise';
import type * as standalone from './mysql2-standalone.js';

/**
 * true when mysql2's types are installed. An unresolved import is an error
 * type, to which anything is assignable: `[unknown]` is assignable to
 * `[mysql2.Pool]` only then.
 */
export type Mysql2Installed = [unknown] extends [mysql2.Pool] ? false : true;

type Pick2<Installed, Standalone> = Mysql2Installed extends true ? Installed : Standalone;

export type RowDataPacket = Pick2<mysql2.RowDataPacket, standalone.RowDataPacket>;
export type ResultSetHeader = Pick2<mysql2.ResultSetHeader, standalone.ResultSetHeader>;
export type OkPacket = Pick2<mysql2.OkPacket, standalone.OkPacket>;
export type FieldPacket = Pick2<mysql2.FieldPacket, standalone.FieldPacket>;
export type ProcedureCallPacket<T = [RowDataPacket[], ResultSetHeader] | ResultSetHeader> = Pick2<
  mysql2.ProcedureCallPacket<T>,
  standalone.ProcedureCallPacket<T>
>;
export type QueryResult = Pick2<mysql2.QueryResult, standalone.QueryResult>;
export type QueryOptions = Pick2<mysql2.QueryOptions, standalone.QueryOptions>;
export type PoolOptions = Pick2<mysql2.PoolOptions, standalone.PoolOptions>;
export type Pool = Pick2<mysql2.Pool, standalone.Pool>;
export type PoolConnection = Pick2<mysql2.PoolConnection, standalone.PoolConnection>;
export type PoolNamespace = Pick2<mysql2.PoolNamespace, standalone.PoolNamespace>;
export type QueryError = Pick2<mysql2.QueryError, standalone.QueryError>;
