// lib/mysql2-standalone.d.ts (the types used when mysql2 is not installed)
// against the installed mysql2's own types: the same packets, options and
// query()/execute() signatures, and no member mysql2 does not have. When a
// mysql2 upgrade changes its types, this fails and the copies get updated.
// Only type-checked (tsc.test.mjs).
import type * as mysql2 from 'mysql2/promise'
import type * as own from '../../lib/mysql2-standalone.js'
import type { Mysql2Installed } from '../../lib/mysql2-types.js'

type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false
type Expect<T extends true> = T
/** Each assignable to the other. */
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false

/** The options lib/index.d.ts types itself (PoolOptions extends Omit<mysql.PoolOptions, these>). */
type OwnTyped = 'resetOnRelease' | 'ssl' | 'stream' | 'authPlugins' | 'flags' | 'user' | 'password'
type PoolDiffers = 'pool' | 'config' | 'getConnection' | 'releaseConnection' | keyof NodeJS.EventEmitter

export type Checks = [
  Expect<Equal<Mysql2Installed, true>>,
  Expect<Equal<own.RowDataPacket, mysql2.RowDataPacket>>,
  Expect<Equal<own.ResultSetHeader, mysql2.ResultSetHeader>>,
  Expect<Equal<own.OkPacket, mysql2.OkPacket>>,
  Expect<Equal<own.FieldPacket, mysql2.FieldPacket>>,
  Expect<Mutual<own.ProcedureCallPacket, mysql2.ProcedureCallPacket>>,
  Expect<Mutual<own.ProcedureCallPacket<own.RowDataPacket[]>, mysql2.ProcedureCallPacket<mysql2.RowDataPacket[]>>>,
  Expect<Mutual<own.QueryResult, mysql2.QueryResult>>,
  Expect<Mutual<own.QueryOptions, mysql2.QueryOptions>>,
  Expect<Equal<keyof own.QueryOptions, keyof mysql2.QueryOptions>>,
  Expect<Mutual<own.TypeCast, mysql2.TypeCast>>,
  Expect<Mutual<own.QueryError, mysql2.QueryError>>,
  // options: the same names with the same types
  Expect<Equal<keyof own.PoolOptions, Exclude<keyof mysql2.PoolOptions, OwnTyped>>>,
  Expect<Mutual<own.PoolOptions, Omit<mysql2.PoolOptions, OwnTyped>>>,
  // query() and execute(): mysql2's overloads
  Expect<Mutual<own.Pool['query'], mysql2.Pool['query']>>,
  Expect<Mutual<own.Pool['execute'], mysql2.Pool['execute']>>,
  Expect<Mutual<own.PoolConnection['query'], mysql2.PoolConnection['query']>>,
  Expect<Mutual<own.PoolNamespace['execute'], mysql2.PoolNamespace['execute']>>,
  // nothing mysql2's promise types lack (pool.pool and conn.connection are
  // typed as what this package has, not as mysql2's core pool/connection)
  Expect<Equal<Exclude<keyof own.Pool, keyof mysql2.Pool>, never>>,
  Expect<Equal<Exclude<keyof own.PoolConnection, keyof mysql2.PoolConnection>, never>>,
  // (getConnection/releaseConnection differ only by conn.connection, checked below)
  Expect<Mutual<Omit<own.Pool, PoolDiffers>, Pick<mysql2.Pool, Exclude<keyof own.Pool, PoolDiffers>>>>,
  Expect<
    Mutual<
      Omit<own.PoolConnection, 'connection' | 'config' | keyof NodeJS.EventEmitter>,
      Pick<mysql2.PoolConnection, Exclude<keyof own.PoolConnection, 'connection' | 'config' | keyof NodeJS.EventEmitter>>
    >
  >,
]
