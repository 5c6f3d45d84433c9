'use strict';
// mysql2's pool options, with mysql2's names and defaults, validated here so
// that a wrong option is a clear JS error naming it (mysql2 only warns).
//
// Secrets: the normalized config keeps the password (and a TLS client key)
// in non-enumerable accessors, so cfg.password still reads it while
// util.inspect, console.log, JSON.stringify and spreads never show it; the
// uri (which may carry the password) is not kept at all.
const util = require('node:util');
const { make } = require('./errors');

const CODE = 'ERR_INVALID_POOL_OPTION';

function fail(message) {
  return make(CODE, message, TypeError);
}

// name -> kind; kinds are checked by `coerce`.
const OPTIONS = {
  // connection
  host: 'string',
  port: 'port',
  user: 'string',
  password: 'string',
  database: 'string',
  uri: 'string',
  socketPath: 'string',
  connectTimeout: 'ms',
  charset: 'string',
  timezone: 'timezone',
  multipleStatements: 'bool',
  ssl: 'ssl',
  enableKeepAlive: 'bool',
  keepAliveInitialDelay: 'ms',
  maxPreparedStatements: 'count',
  // results (mysql2 semantics)
  supportBigNumbers: 'bool',
  bigNumberStrings: 'bool',
  decimalNumbers: 'bool',
  dateStrings: 'dateStrings',
  jsonStrings: 'bool',
  typeCast: 'typeCast',
  rowsAsArray: 'bool',
  nestTables: 'nestTables',
  namedPlaceholders: 'bool',
  stringifyObjects: 'bool',
  queryFormat: 'function',
  disableEval: 'bool',
  trace: 'bool',
  debug: 'bool',
  // pool (mysql2)
  connectionLimit: 'count1',
  waitForConnections: 'bool',
  queueLimit: 'count',
  maxIdle: 'count',
  idleTimeout: 'ms',
  resetOnRelease: 'reset',
  // mysql2 ends reaped connections gracefully with it; ours always does.
  // What it also changes (conn.end() closing instead of releasing) is not
  // implemented, so only false is accepted.
  gracefulEnd: 'gracefulEnd',
  // mysql2/promise's promise class: only the built-in one is implemented.
  Promise: 'promise',
  // mysql2 reads `password || password1` (first factor of MFA).
  password1: 'string',
  // pool (napi-mysql-pool)
  reapIdle: 'bool',
  socketTimeout: 'ms',
  acquireTimeout: 'ms',
  minIdle: 'count',
  maxLifetime: 'ms',
  idlePingInterval: 'ms',
  validateAfterIdle: 'ms',
  circuitBreakerThreshold: 'count',
  circuitBreakerReset: 'ms',
  leakDetectionTimeout: 'ms',
  endTimeout: 'ms',
  name: 'string',
  shared: 'bool',
  workerThreads: 'count',
  healthThresholds: 'object',
  initSql: 'stringArray',
  mariadbJsonColumns: 'bool',
};

// mysql2 options this pool does not implement: accepted only at a value
// that means mysql2's default, otherwise refused rather than silently
// ignored. mysql2 reads all of them as `option || default`, so any falsy
// value is its default; the entries list what else is harmless.
const empty = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
const UNSUPPORTED = {
  // client capability flags: only "no change" ('' or [])
  flags: (v) => Array.isArray(v) && v.length === 0,
  compress: null,
  localAddress: null,
  // {} registers no plugin: the built-in ones, as by default
  authPlugins: empty,
  authSwitchHandler: null,
  stream: null,
  infileStreamFactory: null,
  // {} adds nothing to the attributes every client sends
  connectAttributes: empty,
  password2: null,
  password3: null,
  passwordSha1: null,
  isServer: null,
  insecureAuth: null,
  // mysql2's default (UTF8MB4_UNICODE_CI), or ignored because charset is given
  charsetNumber: (v, options) => v === 224 || (options.charset !== undefined && options.charset !== null && options.charset !== ''),
  enableCleartextPlugin: null,
  pool: null,
};

// mysql2 (ConnectionConfig) keeps these timezones as given...
const TIMEZONE = /^(?:local|Z|[ +-]\d\d:\d\d)$/;
// ...and turns every other truthy value into 'Z' (UTC) with a console error.
// These spellings mean UTC anyway, so they get no warning here.
const UTC_NAMES = /^(?:utc|gmt|z|etc\/(?:utc|gmt|zulu|universal)|universal|zulu)$/i;
const warnedTimezones = new Set();

function warnTimezone(v) {
  if (UTC_NAMES.test(v) || warnedTimezones.has(v) || warnedTimezones.size >= 20) return;
  warnedTimezones.add(v);
  process.emitWarning(
    `napi-mysql-pool: timezone ${JSON.stringify(v)} is not 'local', 'Z' or '+HH:MM'; it is treated as 'Z' (UTC), as mysql2 does`,
    'TimezoneWarning',
  );
}

const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function decode(part, what) {
  try {
    return decodeURIComponent(part);
  } catch {
    throw fail(`Invalid uri: bad %-escape in the ${what}`);
  }
}

function parseUri(uri) {
  let u;
  try {
    u = new URL(uri);
  } catch {
    throw fail(`Invalid uri: not a URL (mysql://user:password@host:port/database)`);
  }
  if (!/^mysqlx?:$|^mariadb:$/.test(u.protocol)) throw fail(`Invalid uri: protocol must be mysql:, got ${u.protocol}`);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const out = {
    host: decode(host, 'host'),
    database: decode(u.pathname.slice(1), 'database'),
    user: decode(u.username, 'user'),
    password: decode(u.password, 'password'),
  };
  if (u.port) out.port = Number.parseInt(u.port, 10);
  for (const [k, v] of u.searchParams) {
    if (k in out) continue;
    try {
      out[k] = JSON.parse(v);
    } catch {
      out[k] = v;
    }
  }
  return out;
}

function coerce(name, kind, v) {
  const bad = (want) => fail(`Option "${name}" must be ${want}, got ${typeof v === 'string' ? JSON.stringify(v) : typeof v}`);
  switch (kind) {
    case 'string':
      if (typeof v !== 'string') throw bad('a string');
      return v;
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (v === 0 || v === 1) return Boolean(v);
      throw bad('a boolean');
    case 'port':
    case 'ms':
    case 'count':
    case 'count1': {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw bad('a non-negative number');
      if (kind === 'port' && (!Number.isInteger(n) || n > 65535)) throw bad('a port number (0-65535)');
      if ((kind === 'count' || kind === 'count1') && !Number.isInteger(n)) throw bad('a whole number');
      if (kind === 'count1' && n < 1) throw bad('at least 1');
      // A pool is bounded by the server's max_connections (at most 100000).
      if ((kind === 'count' || kind === 'count1') && n > 100000) throw bad('at most 100000');
      return n;
    }
    case 'timezone':
      // mysql2 coerces non-strings too; a non-string zone is a bug here.
      if (typeof v !== 'string') throw bad("a string: 'local', 'Z' or an offset like '+05:30'");
      if (v === '') return 'local';
      // A URI's '+05:30' arrives as ' 05:30' ('+' decodes to a space).
      if (TIMEZONE.test(v)) return v[0] === ' ' ? `+${v.slice(1)}` : v;
      warnTimezone(v);
      return 'Z';
    case 'dateStrings':
      if (typeof v === 'boolean') return v;
      if (Array.isArray(v) && v.every((t) => ['DATE', 'DATETIME', 'TIMESTAMP'].includes(t))) return v;
      throw bad("a boolean or an array of 'DATE' | 'DATETIME' | 'TIMESTAMP'");
    case 'typeCast':
      if (typeof v === 'boolean' || typeof v === 'function') return v;
      throw bad('a boolean or a function(field, next)');
    case 'nestTables':
      if (typeof v === 'boolean' || typeof v === 'string') return v;
      throw bad('a boolean or a separator string');
    case 'function':
      if (typeof v !== 'function') throw bad('a function');
      return v;
    case 'object':
      if (v === null || typeof v !== 'object') throw bad('an object');
      return v;
    case 'stringArray':
      if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw bad('an array of strings');
      return v;
    case 'reset':
      if (v === true || v === false || v === 'auto' || v === 'always' || v === 'never') return v;
      if (v === 0 || v === 1) return Boolean(v);
      throw bad("true, false, 'auto', 'always' or 'never'");
    case 'gracefulEnd':
      // mysql2: conn.end() on a lent connection closes it (COM_QUIT) and
      // takes it out of the pool instead of releasing it (lib/connection.js).
      // Idle connections are always closed with COM_QUIT here.
      if (v === false || v === 0) return false;
      if (v === true || v === 1) return true;
      throw bad('a boolean');
    case 'promise':
      if (v === null || v === Promise) return undefined;
      if (typeof v === 'function') {
        throw make('ERR_UNSUPPORTED_OPTION', 'Option "Promise" is not supported: napi-mysql-pool returns built-in Promises', TypeError);
      }
      throw bad('a Promise class');
    case 'ssl':
      return normalizeSsl(v);
    default:
      return v;
  }
}

function pem(name, v) {
  if (v === undefined || v === null) return undefined;
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => {
    if (Buffer.isBuffer(x)) return x.toString('utf8');
    if (typeof x === 'string') return x;
    throw fail(`Option "ssl.${name}" must be PEM text or a Buffer`);
  });
}

function normalizeSsl(v) {
  if (v === undefined || v === null || v === false) return undefined;
  if (typeof v === 'string') {
    // mysql2's named profiles ship a CA bundle; we do not bundle one.
    throw make(
      'ERR_UNSUPPORTED_OPTION',
      `ssl profile "${v}" is not supported: pass ssl: { ca } with the provider's CA, or {} to use the public root store`,
      TypeError,
    );
  }
  if (v === true) v = {};
  if (typeof v !== 'object') throw fail('Option "ssl" must be an object');
  const known = ['ca', 'cert', 'key', 'passphrase', 'rejectUnauthorized', 'verifyIdentity', 'minVersion', 'maxVersion', 'servername', 'ciphers'];
  for (const k of Object.keys(v)) {
    if (!known.includes(k)) throw fail(`Unknown ssl option "ssl.${k}"`);
  }
  if (v.passphrase !== undefined) {
    throw make('ERR_UNSUPPORTED_OPTION', 'ssl.passphrase is not supported: pass an unencrypted PEM key', TypeError);
  }
  if (v.ciphers !== undefined) {
    throw make('ERR_UNSUPPORTED_OPTION', 'ssl.ciphers is not supported: rustls uses its own safe cipher suites', TypeError);
  }
  for (const k of ['minVersion', 'maxVersion']) {
    if (v[k] !== undefined && !TLS_VERSIONS.includes(v[k])) throw fail(`Option "ssl.${k}" must be one of ${TLS_VERSIONS.join(', ')}`);
  }
  if (v.maxVersion === 'TLSv1' || v.maxVersion === 'TLSv1.1') {
    throw make('ERR_UNSUPPORTED_OPTION', `ssl.maxVersion ${v.maxVersion}: rustls speaks TLS 1.2 and 1.3 only`, TypeError);
  }
  if (v.maxVersion === 'TLSv1.2' || v.minVersion === 'TLSv1.3') {
    throw make('ERR_UNSUPPORTED_OPTION', `ssl.${v.maxVersion ? 'maxVersion' : 'minVersion'} cannot pin one TLS version here: TLS 1.2 and 1.3 are both offered`, TypeError);
  }
  const cert = pem('cert', v.cert);
  const key = pem('key', v.key);
  const ca = pem('ca', v.ca);
  if (ca && ca.some((c) => !c.includes('-----BEGIN CERTIFICATE-----'))) {
    throw fail('Option "ssl.ca" must be PEM certificate text (-----BEGIN CERTIFICATE-----)');
  }
  if (Boolean(cert) !== Boolean(key)) throw fail('ssl.cert and ssl.key must be given together');
  if (key && !key.some((k) => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(k))) {
    throw fail('Option "ssl.key" must be an unencrypted PEM private key');
  }
  const rejectUnauthorized = v.rejectUnauthorized !== false;
  const out = {
    ca,
    cert: cert ? cert.join('\n') : undefined,
    rejectUnauthorized,
    // Stronger than mysql2: the server name is checked unless opted out.
    verifyIdentity: rejectUnauthorized && v.verifyIdentity !== false,
    servername: v.servername,
    minVersion: v.minVersion,
    maxVersion: v.maxVersion,
  };
  return hide(out, 'key', key ? key.join('\n') : undefined);
}

/**
 * Defines `key` as a non-enumerable accessor over a closure: readable and
 * writable as before, but invisible to inspect/console.log (even with
 * showHidden it shows as [Getter/Setter]), JSON.stringify and spreads.
 */
function hide(obj, key, value) {
  let secret = value;
  Object.defineProperty(obj, key, {
    enumerable: false,
    configurable: true,
    get: () => secret,
    set: (v) => {
      secret = v;
    },
  });
  if (!Object.prototype.hasOwnProperty.call(obj, SECRET_KEYS)) {
    Object.defineProperty(obj, SECRET_KEYS, { value: [], enumerable: false });
    // util.inspect with `getters: true` would run the accessor: show the
    // object through a copy that says a secret is set, never what it is.
    Object.defineProperty(obj, util.inspect.custom, {
      enumerable: false,
      configurable: true,
      value(depth, options, inspect) {
        const view = { ...this };
        for (const k of this[SECRET_KEYS]) if (this[k] !== undefined) view[k] = '[redacted]';
        return inspect(view, { ...options, depth: options.depth === null ? null : depth });
      },
    });
  }
  obj[SECRET_KEYS].push(key);
  return obj;
}
const SECRET_KEYS = Symbol('secretKeys');

function normalize(input) {
  let options = input;
  if (typeof options === 'string') options = { uri: options };
  if (options === null || typeof options !== 'object') throw fail('createPool() takes an options object or a connection URI string');
  options = { ...options };
  if (options.uri !== undefined) {
    if (typeof options.uri !== 'string') throw fail('Option "uri" must be a string');
    const fromUri = parseUri(options.uri);
    // mysql2: an option given with a truthy value wins over the uri's.
    for (const k of Object.keys(fromUri)) if (!options[k]) options[k] = fromUri[k];
  }
  const cfg = {};
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    if (Object.prototype.hasOwnProperty.call(UNSUPPORTED, k)) {
      const harmless = UNSUPPORTED[k];
      if (!v || (harmless !== null && harmless(v, options))) continue;
      throw make('ERR_UNSUPPORTED_OPTION', `Option "${k}" is not supported by napi-mysql-pool`, TypeError);
    }
    const kind = Object.prototype.hasOwnProperty.call(OPTIONS, k) ? OPTIONS[k] : undefined;
    if (!kind) throw fail(`Unknown option "${k}"`);
    if (kind === 'bool' && k === 'debug' && v) {
      throw make('ERR_UNSUPPORTED_OPTION', 'Option "debug" is not supported: use stats() and metrics()', TypeError);
    }
    const value = coerce(k, kind, v);
    if (value !== undefined) cfg[k] = value;
  }
  const d = (k, def) => (cfg[k] === undefined ? def : cfg[k]);
  const connectionLimit = d('connectionLimit', 10);
  const js = {
    host: d('host', 'localhost'),
    // mysql2: `port || 3306`
    port: d('port', 3306) || 3306,
    user: d('user', ''),
    database: cfg.database || undefined,
    socketPath: cfg.socketPath,
    connectTimeout: d('connectTimeout', 10000),
    charset: d('charset', 'UTF8MB4_UNICODE_CI'),
    timezone: d('timezone', 'local'),
    multipleStatements: d('multipleStatements', false),
    ssl: cfg.ssl,
    enableKeepAlive: d('enableKeepAlive', true),
    keepAliveInitialDelay: d('keepAliveInitialDelay', 0),
    maxPreparedStatements: d('maxPreparedStatements', 256),
    supportBigNumbers: d('supportBigNumbers', false),
    bigNumberStrings: d('bigNumberStrings', false),
    decimalNumbers: d('decimalNumbers', false),
    dateStrings: d('dateStrings', false),
    jsonStrings: d('jsonStrings', false),
    typeCast: d('typeCast', true),
    rowsAsArray: d('rowsAsArray', false),
    nestTables: cfg.nestTables,
    namedPlaceholders: d('namedPlaceholders', false),
    stringifyObjects: d('stringifyObjects', false),
    queryFormat: cfg.queryFormat,
    disableEval: d('disableEval', false),
    trace: d('trace', false),
    connectionLimit,
    waitForConnections: d('waitForConnections', true),
    queueLimit: d('queueLimit', 0),
    maxIdle: Math.min(d('maxIdle', connectionLimit), connectionLimit),
    idleTimeout: d('idleTimeout', 60000),
    // mysql2's default: the session is handed on as the borrower left it.
    resetOnRelease: d('resetOnRelease', false),
    gracefulEnd: d('gracefulEnd', false),
    reapIdle: d('reapIdle', false),
    socketTimeout: d('socketTimeout', 0),
    acquireTimeout: d('acquireTimeout', 10000),
    minIdle: Math.min(d('minIdle', 0), connectionLimit),
    maxLifetime: d('maxLifetime', 0),
    idlePingInterval: d('idlePingInterval', 0),
    validateAfterIdle: d('validateAfterIdle', 500),
    circuitBreakerThreshold: d('circuitBreakerThreshold', 3),
    circuitBreakerReset: d('circuitBreakerReset', 1000),
    leakDetectionTimeout: d('leakDetectionTimeout', 0),
    endTimeout: d('endTimeout', 5000),
    name: d('name', 'default'),
    shared: d('shared', false),
    workerThreads: cfg.workerThreads,
    healthThresholds: d('healthThresholds', {}),
    initSql: d('initSql', []),
    mariadbJsonColumns: d('mariadbJsonColumns', true),
  };
  checkCharset(js.charset);
  // mysql2: `password || password1 || undefined`.
  return hide(js, 'password', cfg.password || cfg.password1 || undefined);
}

// Any character set or collation name, as mysql2 takes it; whether its text
// can be converted is decided natively (src/charset.rs), in one place.
function checkCharset(cs) {
  if (!/^[a-z0-9_]+$/i.test(cs)) throw fail(`Option "charset" is not a charset or collation name: ${JSON.stringify(cs)}`);
}

/** What must match for worker threads to share one pool by name. */
function shareKey(js) {
  if (!js.shared) return undefined;
  const { host, port, user, database, socketPath, connectionLimit } = js;
  return [js.name, JSON.stringify({ host, port, user, database, socketPath, connectionLimit, tls: Boolean(js.ssl) })];
}

/** The subset the native side needs, in its field names. */
function nativeConfig(js) {
  const reset = js.resetOnRelease === true ? 'always' : js.resetOnRelease === false ? 'never' : js.resetOnRelease;
  return {
    host: js.host,
    port: js.port,
    user: js.user,
    password: js.password,
    database: js.database,
    socketPath: js.socketPath,
    connectionLimit: js.connectionLimit,
    waitForConnections: js.waitForConnections,
    queueLimit: js.queueLimit,
    maxIdle: js.maxIdle,
    minIdle: js.minIdle,
    idleTimeout: js.idleTimeout,
    maxLifetime: js.maxLifetime,
    acquireTimeout: js.acquireTimeout,
    enableKeepAlive: js.enableKeepAlive,
    keepAliveInitialDelay: js.keepAliveInitialDelay,
    idlePingInterval: js.idlePingInterval,
    connectTimeout: js.connectTimeout,
    validateAfterIdle: js.validateAfterIdle,
    resetOnRelease: reset,
    maxPreparedStatements: js.maxPreparedStatements,
    circuitBreakerThreshold: js.circuitBreakerThreshold,
    circuitBreakerReset: js.circuitBreakerReset,
    leakDetectionTimeout: js.leakDetectionTimeout,
    charset: js.charset,
    initSql: js.initSql,
    // A plain copy: the key is not an own enumerable property of js.ssl.
    ssl: js.ssl && { ...js.ssl, key: js.ssl.key },
    mariadbJsonColumns: js.mariadbJsonColumns,
    reapIdle: js.reapIdle,
    socketTimeout: js.socketTimeout,
  };
}

module.exports = { normalize, nativeConfig, shareKey, parseUri, OPTIONS };
