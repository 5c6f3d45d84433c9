// mysql2's public promise types, written out here so that lib/index.d.ts
// compiles when mysql2 is not installed (it is an optional peer). With
// mysql2 installed, lib/mysql2-types.d.ts picks mysql2's own types instead
// and nothing here is used.
//
// The signatures are mysql2 3.24's (same names, same generics, same
// overloads), so code written against mysql2/promise compiles the same way
// against these. Where mysql2's promise Pool/PoolConnection types declare
// members that neither mysql2's promise pool nor this package have at run
// time (connect, changeUser, pause, ...), they are left out. Checked
// against the installed mysql2 by __test__/types/standalone.test.mjs.
import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { Raw, Timezone } from 'sql-escaper';
import type { CoreConnection } from './index.js';

// ---------------------------------------------------------------------------
// Result packets

export interface RowDataPacket {
  constructor: {
    name: 'RowDataPacket';
  };
  [column: string]: any;
  [column: number]: any;
}

export interface ResultSetHeader {
  constructor: {
    name: 'ResultSetHeader';
  };
  affectedRows: number;
  fieldCount: number;
  info: string;
  insertId: number;
  serverStatus: number;
  warningStatus: number;
  /** @deprecated use affectedRows (as mysql2 says) */
  changedRows: number;
}

/** @deprecated mysql2's name for an older header shape; use ResultSetHeader. */
export interface OkPacket {
  constructor: {
    name: 'OkPacket';
  };
  fieldCount: number;
  affectedRows: number;
  /** @deprecated use affectedRows */
  changedRows: number;
  insertId: number;
  serverStatus: number;
  warningCount: number;
  message: string;
  protocol41: boolean;
}

export type ProcedureCallPacket<T = [RowDataPacket[], ResultSetHeader] | ResultSetHeader> = T extends RowDataPacket[]
  ? [T, ResultSetHeader]
  : T extends ResultSetHeader | OkPacket
    ? ResultSetHeader
    : [RowDataPacket[], ResultSetHeader] | ResultSetHeader;

export interface FieldPacket {
  constructor: {
    name: 'FieldPacket';
  };
  catalog: string;
  charsetNr?: number;
  db?: string;
  schema?: string;
  characterSet?: number;
  decimals: number;
  default?: any;
  flags: number | string[];
  length?: number;
  name: string;
  orgName: string;
  orgTable: string;
  protocol41?: boolean;
  table: string;
  type?: number;
  columnType?: number;
  zerofill?: boolean;
  typeName?: string;
  encoding?: string;
  columnLength?: number;
  extendedTypeName?: string;
  extendedFormat?: string;
}

export type QueryResult = OkPacket | ResultSetHeader | ResultSetHeader[] | RowDataPacket[] | RowDataPacket[][] | OkPacket[] | ProcedureCallPacket;

// ---------------------------------------------------------------------------
// typeCast

export type TypeCastGeometry = { x: number; y: number };

export type TypeCastType = {
  type:
    | 'DECIMAL'
    | 'TINY'
    | 'SHORT'
    | 'LONG'
    | 'FLOAT'
    | 'DOUBLE'
    | 'NULL'
    | 'TIMESTAMP'
    | 'TIMESTAMP2'
    | 'LONGLONG'
    | 'INT24'
    | 'DATE'
    | 'TIME'
    | 'TIME2'
    | 'DATETIME'
    | 'DATETIME2'
    | 'YEAR'
    | 'NEWDATE'
    | 'VARCHAR'
    | 'BIT'
    | 'VECTOR'
    | 'JSON'
    | 'NEWDECIMAL'
    | 'ENUM'
    | 'SET'
    | 'TINY_BLOB'
    | 'MEDIUM_BLOB'
    | 'LONG_BLOB'
    | 'BLOB'
    | 'VAR_STRING'
    | 'STRING'
    | 'GEOMETRY';
};

export type TypeCastField = TypeCastType & {
  extendedTypeName?: string;
  extendedFormat?: string;
  length: number;
  db: string;
  table: string;
  name: string;
  string: (encoding?: BufferEncoding | string | undefined) => string | null;
  buffer: () => Buffer | null;
  geometry: () => TypeCastGeometry | TypeCastGeometry[] | null;
};

export type TypeCastNext = () => unknown;

export type TypeCast = ((field: TypeCastField, next: TypeCastNext) => any) | boolean;

// ---------------------------------------------------------------------------
// Queries

export type QueryValues =
  | string
  | number
  | bigint
  | boolean
  | Date
  | null
  | undefined
  | Blob
  | Buffer
  | Uint8Array
  | Raw
  | (NonNullable<unknown> | null | undefined)[] // mysql2's `({} | null | undefined)[]`: any values
  | { [key: string]: QueryValues };

export type ExecuteValues = string | number | bigint | boolean | Date | null | Blob | Buffer | Uint8Array | ExecuteValues[] | { [key: string]: ExecuteValues };

export interface QueryOptions {
  sql: string;
  values?: QueryValues;
  attributes?: Record<string, string | number | boolean | null | Buffer | Date>;
  namedPlaceholders?: boolean;
  timeout?: number;
  nestTables?: any;
  typeCast?: TypeCast;
  rowsAsArray?: boolean;
  infileStreamFactory?: (path: string) => Readable;
  supportBigNumbers?: boolean;
  bigNumberStrings?: boolean;
  dateStrings?: boolean | Array<'TIMESTAMP' | 'DATETIME' | 'DATE'>;
  timezone?: Timezone;
}

export interface QueryError extends NodeJS.ErrnoException {
  code: string;
  sqlStateMarker?: string;
  sqlState?: string;
  fieldCount?: number;
  fatal: boolean;
}

// ---------------------------------------------------------------------------
// Options (mysql2's ConnectionOptions and PoolOptions, without ssl, stream,
// authPlugins, flags, user, password and resetOnRelease, which lib/index.d.ts
// types itself)

export interface ConnectionOptions {
  decimalNumbers?: boolean;
  password1?: string;
  password2?: string;
  password3?: string;
  database?: string;
  charset?: string;
  host?: string;
  port?: number;
  localAddress?: string;
  socketPath?: string;
  timezone?: Timezone;
  connectTimeout?: number;
  stringifyObjects?: boolean;
  insecureAuth?: boolean;
  infileStreamFactory?: (path: string) => Readable;
  typeCast?: TypeCast;
  queryFormat?: (query: string, values: any) => void;
  supportBigNumbers?: boolean;
  bigNumberStrings?: boolean;
  dateStrings?: boolean | Array<'TIMESTAMP' | 'DATETIME' | 'DATE'>;
  debug?: any;
  trace?: boolean;
  multipleStatements?: boolean;
  rowsAsArray?: boolean;
  enableKeepAlive?: boolean;
  keepAliveInitialDelay?: number;
  charsetNumber?: number;
  compress?: boolean;
  authSwitchHandler?: (data: any, callback: () => void) => any;
  connectAttributes?: { [param: string]: any };
  isServer?: boolean;
  maxPreparedStatements?: number;
  namedPlaceholders?: boolean;
  nestTables?: boolean | string;
  passwordSha1?: string;
  pool?: any;
  uri?: string;
  connectionLimit?: number;
  maxIdle?: number;
  idleTimeout?: number;
  Promise?: any;
  queueLimit?: number;
  waitForConnections?: boolean;
  disableEval?: boolean;
  enableCleartextPlugin?: boolean;
  jsonStrings?: boolean;
  gracefulEnd?: boolean;
}

export interface PoolOptions extends ConnectionOptions {
  waitForConnections?: boolean;
  connectionLimit?: number;
  maxIdle?: number;
  idleTimeout?: number;
  queueLimit?: number;
}

// ---------------------------------------------------------------------------
// Connections and pools (promise API)

/** query() and execute(), exactly as mysql2/promise declares them. */
export interface QueryableAndExecutable extends EventEmitter {
  query<T extends QueryResult>(sql: string, values?: QueryValues): Promise<[T, FieldPacket[]]>;
  query<T extends QueryResult>(options: QueryOptions, values?: QueryValues): Promise<[T, FieldPacket[]]>;
  execute<T extends QueryResult>(sql: string, values?: ExecuteValues): Promise<[T, FieldPacket[]]>;
  execute<T extends QueryResult>(options: QueryOptions, values?: ExecuteValues): Promise<[T, FieldPacket[]]>;
}

export interface PreparedStatementInfo {
  close(): Promise<void>;
  execute(
    parameters: any | any[] | { [param: string]: any },
  ): Promise<[RowDataPacket[][] | RowDataPacket[] | OkPacket | OkPacket[] | ResultSetHeader, FieldPacket[]]>;
}

export interface PoolConnection extends QueryableAndExecutable {
  config: ConnectionOptions;
  threadId: number;
  /** The core (callback) connection (lib/index.d.ts). */
  connection: CoreConnection;
  ping(): Promise<void>;
  beginTransaction(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  prepare(options: string | QueryOptions): Promise<PreparedStatementInfo>;
  unprepare(sql: string | QueryOptions): void;
  release(): void;
  end(options?: any): Promise<void>;
  destroy(): void;
  escape(value: any): string;
  escapeId(value: string): string;
  escapeId(values: string[]): string;
  format(sql: string, values?: any | any[] | { [param: string]: any }): string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** `pool.pool`: the parts of mysql2's core pool that monitoring code reads. */
export interface CorePool {
  readonly config: {
    readonly connectionLimit: number;
    readonly queueLimit: number;
    readonly waitForConnections: boolean;
    readonly maxIdle: number;
    readonly idleTimeout: number;
    readonly connectionConfig: {
      readonly host: string;
      readonly port: number;
      readonly user: string | (() => string | Promise<string>);
      readonly database?: string;
    };
  };
  readonly _allConnections: { readonly length: number };
  readonly _freeConnections: { readonly length: number };
  readonly _connectionQueue: { readonly length: number };
  readonly _closed: boolean;
}

export interface Pool extends QueryableAndExecutable {
  config: ConnectionOptions;
  getConnection(): Promise<PoolConnection>;
  releaseConnection(connection: PoolConnection): void;
  end(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  escape(value: any): string;
  escapeId(value: string): string;
  escapeId(values: string[]): string;
  format(sql: string, values?: any | any[] | { [param: string]: any }): string;
  pool: CorePool;
}

export interface PoolNamespace extends QueryableAndExecutable {
  getConnection(): Promise<PoolConnection>;
}
