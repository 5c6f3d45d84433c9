'use strict';
// OpenTelemetry spans for this pool, from the diagnostics_channel
// TracingChannels it publishes (lib/tracing.js: mysql2:query,
// mysql2:execute, mysql2:pool:connect). @opentelemetry/instrumentation-mysql2
// (0.70) patches mysql2's Connection.prototype.query/execute and never
// subscribes to these channels, so it sees nothing of this pool: this file is
// the instrumentation instead.
//
//   const { registerOtel } = require('napi-mysql-pool/lib/otel');
//   const otel = registerOtel({ tracerProvider }); // otel.disable() to stop
//
// or, with registerInstrumentations / NodeSDK:
//   instrumentations: [new NapiMysqlPoolInstrumentation()]
//
// Spans follow the stable database semantic conventions (semconv >= 1.33):
// CLIENT spans named "{db.operation.name} {db.namespace}", attributes
// db.system.name, db.namespace, db.operation.name, db.query.text,
// server.address, server.port; on failure error.type, status ERROR, an
// exception event and, for server errors, db.response.status_code (the MySQL
// error number). db.query.text never carries values: a statement called with
// values is recorded as the caller wrote it (placeholders), one without
// values with its literals replaced by `?`; values only as the opt-in
// db.query.parameter.<n>.
//
// Pool wait: getConnection() gets its own span, "mysql pool acquire", whose
// duration is the time from the call until a connection was handed out
// (also as napi_mysql_pool.wait_ms). pool.query()/execute() acquire their
// connection natively, fused with the command: for traced ones the native
// pool reports the wait (src/wire.rs FLAG_POOL_WAIT, DONE_WAIT), shown as
// napi_mysql_pool.wait_ms on the query's span. README "Tracing and metrics
// integrations".
//
// @opentelemetry/api is required when an instrumentation is created, never
// by the package itself: it stays an optional dependency. Nothing is
// subscribed (and no tracing context is built, see lib/tracing.js) until
// enable().

const tracing = require('./tracing');
const errors = require('./errors');

const NAME = 'napi-mysql-pool';
let VERSION = '0.0.0';
try {
  VERSION = require('../package.json').version;
} catch {
  // bundled without its package.json
}

const CHANNELS = ['mysql2:query', 'mysql2:execute', 'mysql2:pool:connect'];
const ACQUIRE = 'mysql2:pool:connect';

let apiModule = null;
function loadApi() {
  if (apiModule === null) {
    try {
      apiModule = require('@opentelemetry/api');
    } catch (err) {
      const e = errors.make('ERR_OTEL_API_MISSING', 'napi-mysql-pool/lib/otel needs @opentelemetry/api: npm install @opentelemetry/api');
      e.cause = err;
      throw e;
    }
  }
  return apiModule;
}

// ---------------------------------------------------------------------------
// SQL: operation name and sanitized text (pure; exported for the tests)

// Statement keywords reported as db.operation.name; anything else (or a
// statement that does not start with a keyword) has none, which keeps the
// span name low-cardinality.
const OPERATIONS = new Set(
  (
    'SELECT INSERT UPDATE DELETE REPLACE UPSERT MERGE CALL WITH VALUES TABLE SET SHOW DESCRIBE DESC EXPLAIN USE DO ' +
    'CREATE ALTER DROP TRUNCATE RENAME GRANT REVOKE ANALYZE OPTIMIZE CHECK CHECKSUM REPAIR FLUSH KILL RESET PURGE ' +
    'BEGIN START COMMIT ROLLBACK SAVEPOINT RELEASE LOCK UNLOCK XA PREPARE EXECUTE DEALLOCATE LOAD HANDLER INSTALL UNINSTALL'
  ).split(' '),
);

// Leading whitespace, comments and opening parentheses, then a word.
const LEADING = /^(?:\s+|\/\*[\s\S]*?\*\/|(?:--(?=\s)|#)[^\n]*(?:\n|$)|\()*([A-Za-z]+)/;

/** The statement's first keyword, upper case, when it is a known SQL operation. */
function operationName(sql) {
  if (typeof sql !== 'string') return undefined;
  const m = LEADING.exec(sql);
  if (m === null) return undefined;
  const op = m[1].toUpperCase();
  return OPERATIONS.has(op) ? op : undefined;
}

// One pass over the text: identifiers in backticks and comments are kept
// (group 1), every literal becomes `?`: quoted strings (either quote, with
// backslash or doubled-quote escapes), X'..' / B'..' / 0x.. / 0b.. and
// numbers that are not part of a name.
const LITERAL =
  /(`(?:[^`]|``)*`|\/\*[\s\S]*?\*\/|(?:--(?=\s)|#)[^\n]*)|'(?:[^'\\]|\\[\s\S]|'')*'|"(?:[^"\\]|\\[\s\S]|"")*"|\b[xXbB]'[0-9a-fA-F]*'|\b0[xX][0-9a-fA-F]+\b|\b0[bB][01]+\b|(?<![\w$.])(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?![\w$])/g;

/** `sql` with every literal replaced by `?` (the semantic conventions' sanitization). */
function sanitize(sql) {
  return sql.replace(LITERAL, (m, kept) => (kept === undefined ? '?' : kept));
}

// Values as query()/execute() take them: an array, named values (an object)
// or, for query(), a single scalar.
function hasValues(v) {
  if (v === undefined || v === null) return false;
  if (Array.isArray(v)) return v.length > 0;
  return typeof v === 'object' && !Buffer.isBuffer(v) && !(v instanceof Date) ? Object.keys(v).length > 0 : true;
}

function eachValue(v, fn) {
  if (Array.isArray(v) || (typeof v === 'object' && !Buffer.isBuffer(v) && !(v instanceof Date))) {
    for (const [k, x] of Object.entries(v)) fn(k, x);
  } else fn('0', v);
}

/** db.query.text under `mode` ('auto' | 'sanitized' | 'raw'), from the caller's SQL. */
function queryText(mode, sql, values) {
  if (typeof sql !== 'string') return undefined;
  if (mode === 'raw') return sql;
  if (mode === 'auto' && hasValues(values)) return sql;
  return sanitize(sql);
}

const MAX_PARAM = 1024;
function paramString(v) {
  let s;
  if (v === null || v === undefined) s = 'NULL';
  else if (typeof v === 'string') s = v;
  else if (Buffer.isBuffer(v)) s = `0x${v.subarray(0, MAX_PARAM / 2).toString('hex')}`;
  else if (v instanceof Date) s = Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  else if (typeof v === 'object') {
    try {
      s = JSON.stringify(v);
    } catch {
      s = String(v);
    }
  } else s = String(v);
  return s.length > MAX_PARAM ? s.slice(0, MAX_PARAM) : s;
}

// ---------------------------------------------------------------------------
// Options

const QUERY_TEXT_MODES = new Set(['auto', 'sanitized', 'raw']);

function normalizeConfig(config) {
  const c = {
    enabled: true,
    dbSystemName: 'mysql',
    queryText: 'auto',
    captureParameters: false,
    requireParentSpan: false,
    errorMessages: true,
    acquireSpans: true,
  };
  if (config === undefined || config === null) return c;
  if (typeof config !== 'object') throw errors.make('ERR_INVALID_OTEL_OPTION', 'registerOtel: options must be an object', TypeError);
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined) continue;
    if (k === 'tracerProvider') {
      if (v === null || typeof v.getTracer !== 'function') {
        throw errors.make('ERR_INVALID_OTEL_OPTION', 'registerOtel: tracerProvider must have getTracer()', TypeError);
      }
      c.tracerProvider = v;
    } else if (k === 'queryText') {
      if (v !== false && !QUERY_TEXT_MODES.has(v)) {
        throw errors.make(
          'ERR_INVALID_OTEL_OPTION',
          `registerOtel: queryText must be 'auto', 'sanitized', 'raw' or false, got ${JSON.stringify(v)}`,
          TypeError,
        );
      }
      c.queryText = v;
    } else if (k === 'dbSystemName') {
      if (typeof v !== 'string' || v === '') throw errors.make('ERR_INVALID_OTEL_OPTION', 'registerOtel: dbSystemName must be a non-empty string', TypeError);
      c.dbSystemName = v;
    } else if (k === 'enabled' || k === 'captureParameters' || k === 'requireParentSpan' || k === 'errorMessages' || k === 'acquireSpans') {
      if (typeof v !== 'boolean') throw errors.make('ERR_INVALID_OTEL_OPTION', `registerOtel: ${k} must be a boolean`, TypeError);
      c[k] = v;
    } else {
      throw errors.make('ERR_INVALID_OTEL_OPTION', `registerOtel: unknown option "${k}"`, TypeError);
    }
  }
  return c;
}

// ---------------------------------------------------------------------------
// The instrumentation

const now = () => performance.now();

/**
 * error.type / db.response.status_code for a failed operation: server errors
 * (an errno) by their MySQL error number, as the MySQL conventions ask;
 * client-side ones by their code (POOL_ACQUIRE_TIMEOUT, ECONNREFUSED...),
 * else the error's class name.
 */
function errorAttributes(err) {
  const out = {};
  if (err !== null && typeof err === 'object') {
    if (typeof err.errno === 'number' && typeof err.sqlState === 'string') {
      out['db.response.status_code'] = String(err.errno);
      out['error.type'] = String(err.errno);
    } else if (typeof err.code === 'string' && err.code !== '') out['error.type'] = err.code;
    else out['error.type'] = (err.constructor && err.constructor.name) || '_OTHER';
  } else out['error.type'] = '_OTHER';
  return out;
}

/**
 * An OpenTelemetry Instrumentation (the interface registerInstrumentations
 * and NodeSDK drive: setTracerProvider, enable, disable, getConfig...),
 * without @opentelemetry/instrumentation: there is no module to patch.
 * Enabled when created unless `enabled: false`.
 */
class NapiMysqlPoolInstrumentation {
  constructor(config) {
    this.instrumentationName = NAME;
    this.instrumentationVersion = VERSION;
    this._api = loadApi();
    this._config = normalizeConfig(config);
    this._tracerProvider = this._config.tracerProvider || null;
    this._tracer = null;
    // Per instance, so that two instrumentations never end each other's spans.
    this._key = Symbol('napi-mysql-pool otel span');
    this._subscribed = null;
    if (this._config.enabled) this.enable();
  }

  setTracerProvider(tracerProvider) {
    this._tracerProvider = tracerProvider;
    this._tracer = null;
  }

  // Spans only; the pool's metrics are served by lib/prometheus.js / pool.metrics().
  setMeterProvider() {}

  setLoggerProvider() {}

  getConfig() {
    return this._config;
  }

  /** Replaces the options (enabled state and, unless given, the tracer provider kept). */
  setConfig(config) {
    const next = normalizeConfig({ ...(config || {}), enabled: this._config.enabled });
    if (next.tracerProvider !== undefined) this.setTracerProvider(next.tracerProvider);
    this._config = next;
  }

  get enabled() {
    return this._subscribed !== null;
  }

  enable() {
    this._config.enabled = true;
    if (this._subscribed !== null) return;
    if (!tracing.hasTracingChannel) {
      this._api.diag.warn(`${NAME}: diagnostics_channel.tracingChannel is missing (Node >= 18.19 needed); no spans`);
      return;
    }
    this._subscribed = CHANNELS.map((name) => {
      const ch = tracing.dc.tracingChannel(name);
      const handlers = this._handlers(name);
      ch.subscribe(handlers);
      return () => ch.unsubscribe(handlers);
    });
  }

  disable() {
    this._config.enabled = false;
    if (this._subscribed === null) return;
    for (const off of this._subscribed) off();
    this._subscribed = null;
  }

  _getTracer() {
    if (this._tracer === null) {
      const provider = this._tracerProvider || this._api.trace.getTracerProvider();
      this._tracer = provider.getTracer(NAME, VERSION);
    }
    return this._tracer;
  }

  _handlers(channel) {
    const acquire = channel === ACQUIRE;
    // A subscriber that throws would surface as an uncaught exception in the
    // app (diagnostics_channel rethrows on nextTick): never let it.
    const guard = (fn) => (ctx) => {
      try {
        fn(ctx);
      } catch (err) {
        this._api.diag.error(`${NAME}: tracing ${channel} failed`, err);
      }
    };
    return {
      start: guard((ctx) => this._start(ctx, acquire)),
      // A synchronous failure: no asyncEnd follows.
      end: guard((ctx) => {
        if (ctx.error !== undefined) this._finish(ctx, acquire);
      }),
      error: guard((ctx) => this._fail(ctx)),
      asyncEnd: guard((ctx) => this._finish(ctx, acquire)),
    };
  }

  _start(ctx, acquire) {
    const info = ctx[tracing.POOL_INFO];
    // mysql2 itself publishes on the same channels: its events are left to
    // its own instrumentation.
    if (info === undefined) return;
    if (acquire && !this._config.acquireSpans) return;
    const api = this._api;
    const parent = api.context.active();
    if (this._config.requireParentSpan && api.trace.getSpan(parent) === undefined) return;
    const c = this._config;
    const attributes = { 'db.system.name': c.dbSystemName };
    if (ctx.database) attributes['db.namespace'] = ctx.database;
    if (ctx.serverAddress !== undefined) attributes['server.address'] = ctx.serverAddress;
    if (ctx.serverPort !== undefined) attributes['server.port'] = ctx.serverPort;
    if (info.pool !== undefined) attributes['db.client.connection.pool.name'] = String(info.pool);
    const target = ctx.database || (ctx.serverPort !== undefined ? `${ctx.serverAddress}:${ctx.serverPort}` : ctx.serverAddress) || c.dbSystemName;
    let name;
    if (acquire) {
      name = `${c.dbSystemName} pool acquire`;
    } else {
      const op = operationName(info.sql);
      if (op !== undefined) attributes['db.operation.name'] = op;
      if (c.queryText !== false) {
        const text = queryText(c.queryText, info.sql, ctx.values);
        if (text !== undefined) attributes['db.query.text'] = text;
      }
      if (c.captureParameters && hasValues(ctx.values)) {
        eachValue(ctx.values, (k, v) => {
          attributes[`db.query.parameter.${k}`] = paramString(v);
        });
      }
      name = op === undefined ? target : `${op} ${target}`;
    }
    const span = this._getTracer().startSpan(name, { kind: api.SpanKind.CLIENT, attributes }, parent);
    ctx[this._key] = { span, t0: now() };
  }

  _fail(ctx) {
    const st = ctx[this._key];
    if (st === undefined) return;
    const err = ctx.error;
    st.span.setAttributes(errorAttributes(err));
    if (err instanceof Error) st.span.recordException(this._config.errorMessages ? err : { name: err.name, code: err.code });
    const status = { code: this._api.SpanStatusCode.ERROR };
    if (this._config.errorMessages && err && typeof err.message === 'string') status.message = err.message;
    st.span.setStatus(status);
  }

  _finish(ctx, acquire) {
    const st = ctx[this._key];
    if (st === undefined) return;
    ctx[this._key] = undefined;
    if (acquire) {
      st.span.setAttribute('napi_mysql_pool.wait_ms', Math.round((now() - st.t0) * 1000) / 1000);
      const threadId = ctx.result && ctx.result.threadId;
      if (typeof threadId === 'number') st.span.setAttribute('napi_mysql_pool.connection.thread_id', threadId);
    } else {
      const info = ctx[tracing.POOL_INFO];
      if (info !== undefined && info.waitMs !== undefined) st.span.setAttribute('napi_mysql_pool.wait_ms', Math.round(info.waitMs * 1000) / 1000);
    }
    st.span.end();
  }
}

/** Creates and enables an instrumentation; `.disable()` unsubscribes it. */
function registerOtel(options) {
  return new NapiMysqlPoolInstrumentation({ ...(options || {}), enabled: true });
}

module.exports = { registerOtel, NapiMysqlPoolInstrumentation, operationName, sanitize, queryText };
