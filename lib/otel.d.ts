// Types of 'napi-mysql-pool/lib/otel' (lib/otel.js). @opentelemetry/api
// types are referenced structurally so that this file compiles without it.

export interface OtelTracerProviderLike {
  getTracer(name: string, version?: string, options?: unknown): unknown;
}

export interface NapiMysqlPoolInstrumentationConfig {
  /** Subscribe when created (default true). registerInstrumentations() enables it anyway. */
  enabled?: boolean;
  /** Default: the global provider (trace.getTracerProvider()). */
  tracerProvider?: OtelTracerProviderLike;
  /** db.system.name (default 'mysql'; 'mariadb' for a MariaDB server). */
  dbSystemName?: string;
  /**
   * db.query.text: 'auto' (default) records a statement called with values
   * as written (placeholders) and one without values with its literals
   * replaced by `?`; 'sanitized' always replaces literals; 'raw' records the
   * statement as written, never with values formatted in; false omits it.
   */
  queryText?: 'auto' | 'sanitized' | 'raw' | false;
  /** Opt-in: every value as db.query.parameter.<index or name> (default false). */
  captureParameters?: boolean;
  /** Only trace operations that have an active parent span (default false). */
  requireParentSpan?: boolean;
  /**
   * Record error messages in the span status and exception event (default
   * true). Server messages can quote a value (ER_DUP_ENTRY: "Duplicate entry
   * 'x' ..."); false records only error.type and the code.
   */
  errorMessages?: boolean;
  /** A "mysql pool acquire" span for each getConnection() (default true). */
  acquireSpans?: boolean;
}

/** The OpenTelemetry Instrumentation interface (registerInstrumentations, NodeSDK). */
export declare class NapiMysqlPoolInstrumentation {
  constructor(config?: NapiMysqlPoolInstrumentationConfig);
  readonly instrumentationName: 'napi-mysql-pool';
  readonly instrumentationVersion: string;
  /** True while subscribed to the tracing channels. */
  readonly enabled: boolean;
  enable(): void;
  disable(): void;
  setTracerProvider(tracerProvider: OtelTracerProviderLike): void;
  setMeterProvider(meterProvider: unknown): void;
  setLoggerProvider(loggerProvider: unknown): void;
  getConfig(): NapiMysqlPoolInstrumentationConfig;
  setConfig(config: NapiMysqlPoolInstrumentationConfig): void;
}

/** Creates and enables an instrumentation; call .disable() to stop. */
export declare function registerOtel(options?: Omit<NapiMysqlPoolInstrumentationConfig, 'enabled'>): NapiMysqlPoolInstrumentation;

/** The first keyword of `sql` (upper case) when it is a known SQL operation. */
export declare function operationName(sql: string): string | undefined;

/** `sql` with every literal (strings, numbers, hex/bit values) replaced by `?`. */
export declare function sanitize(sql: string): string;

/** db.query.text as recorded under `mode`, for `sql` called with `values`. */
export declare function queryText(mode: 'auto' | 'sanitized' | 'raw', sql: string, values?: unknown): string | undefined;
