'use strict';
// mysql2's pool options, with mysql2's names and defaults, and this pool's
// own, all described by one table (TABLE below) and validated here so that a
// wrong option is a clear JS error naming it (mysql2 only warns).
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

// The one description of every option. Each row:
//   kind     how a given value is checked and coerced (see `coerce`);
//   default  what normalize() gives when the option is not set (undefined:
//            the key is kept, unset); `defaultFrom` names another option
//            whose normalized value is the default instead;
//   effectiveDefault  what an unset option means where that is decided
//            outside normalize() (documented in the README);
//   resolve  optional (value, normalized so far) -> value, after defaulting;
//   native   the field of PoolConfig (src/config.rs) it feeds, in napi's
//            camelCase spelling; false = read in JS only;
//   toNative optional value -> the value PoolConfig takes;
//   from     'mysql2' (mysql2 3.24's option, its name and default unless the
//            README says otherwise) or 'ours';
//   kept     false = read by normalize() but not kept in its result as such;
//   refuse   ERR_UNSUPPORTED_OPTION message for a truthy value.
// kind 'unsupported' (below): a mysql2 option this pool does not implement,
// accepted only at a value that is `harmless`.
// Rows are in the order of normalize()'s result; connectionLimit comes
// before the options whose value depends on it.
// __test__/unit/options.test.mjs checks this table against PoolConfig,
// lib/index.d.ts and the README's option lists.
const TABLE = {
  // connection (mysql2)
  host: { kind: 'string', default: 'localhost', native: 'host', from: 'mysql2' },
  // mysql2: `port || 3306`
  port: { kind: 'port', default: 3306, resolve: (v) => v || 3306, native: 'port', from: 'mysql2' },
  // user/password may be functions (rotating credentials, ours): called for
  // every new connection (lib/pool.js _supplyCredentials), never sent here.
  user: { kind: 'credential', default: '', native: 'user', toNative: (v) => (typeof v === 'function' ? '' : v), from: 'mysql2' },
  // Kept out of sight (see `hide`): normalize() ends with it.
  password: {
    kind: 'credential',
    default: undefined,
    native: 'password',
    toNative: (v) => (typeof v === 'function' ? undefined : v),
    from: 'mysql2',
    kept: false,
  },
  // mysql2 reads `password || password1` (first factor of MFA).
  password1: { kind: 'string', default: undefined, native: false, from: 'mysql2', kept: false },
  database: { kind: 'string', default: undefined, resolve: (v) => v || undefined, native: 'database', from: 'mysql2' },
  // Read into the other options first; never kept (it may carry the password).
  uri: { kind: 'string', default: undefined, native: false, from: 'mysql2', kept: false },
  socketPath: { kind: 'string', default: undefined, native: 'socketPath', from: 'mysql2' },
  connectTimeout: { kind: 'ms', default: 10000, native: 'connectTimeout', from: 'mysql2' },
  charset: { kind: 'string', default: 'UTF8MB4_UNICODE_CI', native: 'charset', from: 'mysql2' },
  timezone: { kind: 'timezone', default: 'local', native: false, from: 'mysql2' },
  multipleStatements: { kind: 'bool', default: false, native: false, from: 'mysql2' },
  ssl: { kind: 'ssl', default: undefined, native: 'ssl', toNative: nativeSsl, from: 'mysql2' },
  enableKeepAlive: { kind: 'bool', default: true, native: 'enableKeepAlive', from: 'mysql2' },
  // mysql2 reads it as truthy: the password goes as plain text when a server
  // asks for mysql_clear_password (PAM, LDAP, AWS RDS IAM tokens); use TLS.
  enableCleartextPlugin: { kind: 'bool', default: false, native: 'enableCleartextPlugin', from: 'mysql2' },
  keepAliveInitialDelay: { kind: 'ms', default: 0, native: 'keepAliveInitialDelay', from: 'mysql2' },
  // 256 per connection (mysql2: 16000), see the README.
  maxPreparedStatements: { kind: 'count', default: 256, native: 'maxPreparedStatements', from: 'mysql2' },
  // results (mysql2 semantics, applied in JS)
  supportBigNumbers: { kind: 'bool', default: false, native: false, from: 'mysql2' },
  bigNumberStrings: { kind: 'bool', default: false, native: false, from: 'mysql2' },
  decimalNumbers: { kind: 'bool', default: false, native: false, from: 'mysql2' },
  dateStrings: { kind: 'dateStrings', default: false, native: false, from: 'mysql2' },
  jsonStrings: { kind: 'bool', default: false, native: false, from: 'mysql2' },
  typeCast: { kind: 'typeCast', default: true, native: false, from: 'mysql2' },
  rowsAsArray: { kind: 'bool', default: false, native: false, from: 'mysql2' },
  nestTables: { kind: 'nestTables', default: undefined, native: false, from: 'mysql2' },
  namedPlaceholders: { kind: 'bool', default: false, native: false, from: 'mysql2' },
  stringifyObjects: { kind: 'bool', default: false, native: false, from: 'mysql2' },
  queryFormat: { kind: 'function', default: undefined, native: false, from: 'mysql2' },
  disableEval: { kind: 'bool', default: false, native: false, from: 'mysql2' },
  // Accepted, no effect (mysql2 defaults it to true: caller stacks on errors).
  trace: { kind: 'bool', default: false, native: false, from: 'mysql2' },
  // Only a falsy value is accepted (see `refuse`).
  debug: {
    kind: 'bool',
    default: undefined,
    native: false,
    from: 'mysql2',
    kept: false,
    refuse: 'Option "debug" is not supported: use stats() and metrics()',
  },
  // pool (mysql2)
  connectionLimit: { kind: 'count1', default: 10, native: 'connectionLimit', from: 'mysql2' },
  waitForConnections: { kind: 'bool', default: true, native: 'waitForConnections', from: 'mysql2' },
  queueLimit: { kind: 'count', default: 0, native: 'queueLimit', from: 'mysql2' },
  maxIdle: {
    kind: 'count',
    defaultFrom: 'connectionLimit',
    resolve: (v, js) => Math.min(v, js.connectionLimit),
    native: 'maxIdle',
    from: 'mysql2',
  },
  idleTimeout: { kind: 'ms', default: 60000, native: 'idleTimeout', from: 'mysql2' },
  // mysql2's default (false): the session is handed on as the borrower left
  // it. 'auto', 'always', 'never' are ours; native takes the three words.
  resetOnRelease: { kind: 'reset', default: false, native: 'resetOnRelease', toNative: nativeReset, from: 'mysql2' },
  // As mysql2: conn.end() on a lent connection closes it (lib/connection.js).
  gracefulEnd: { kind: 'gracefulEnd', default: false, native: false, from: 'mysql2' },
  // mysql2/promise's promise class: only the built-in one is implemented.
  Promise: { kind: 'promise', default: undefined, native: false, from: 'mysql2', kept: false },
  // pool (napi-mysql-pool)
  reapIdle: { kind: 'bool', default: false, native: 'reapIdle', from: 'ours' },
  socketTimeout: { kind: 'ms', default: 0, native: 'socketTimeout', from: 'ours' },
  acquireTimeout: { kind: 'ms', default: 10000, native: 'acquireTimeout', from: 'ours' },
  minIdle: { kind: 'count', default: 0, resolve: (v, js) => Math.min(v, js.connectionLimit), native: 'minIdle', from: 'ours' },
  maxLifetime: { kind: 'ms', default: 0, native: 'maxLifetime', from: 'ours' },
  idlePingInterval: { kind: 'ms', default: 0, native: 'idlePingInterval', from: 'ours' },
  validateAfterIdle: { kind: 'ms', default: 500, native: 'validateAfterIdle', from: 'ours' },
  // Queued pool query()s and execute()s a free connection takes at once (src/pipeline.rs); 0: off.
  pipelining: { kind: 'count', default: 8, native: 'pipelining', from: 'ours' },
  // Whether statements other than plain SELECTs ride too (lib/replayable.js).
  pipelineWrites: { kind: 'bool', default: false, native: 'pipelineWrites', from: 'ours' },
  circuitBreakerThreshold: { kind: 'count', default: 3, native: 'circuitBreakerThreshold', from: 'ours' },
  circuitBreakerReset: { kind: 'ms', default: 1000, native: 'circuitBreakerReset', from: 'ours' },
  // Leak detection runs in JS (lib/pool.js).
  leakDetectionTimeout: { kind: 'ms', default: 0, native: false, from: 'ours' },
  // Passed to the native end() call, not to PoolConfig.
  endTimeout: { kind: 'ms', default: 5000, native: false, from: 'ours' },
  name: { kind: 'string', default: 'default', native: false, from: 'ours' },
  shared: { kind: 'bool', default: false, native: false, from: 'ours' },
  // An argument of the native constructor, not a PoolConfig field; unset
  // means NAPI_MYSQL_POOL_THREADS or 2 (src/runtime.rs).
  workerThreads: { kind: 'count', default: undefined, effectiveDefault: 1, native: false, from: 'ours' },
  // Missing thresholds are lib/observability.js's DEFAULT_THRESHOLDS.
  healthThresholds: {
    kind: 'object',
    default: {},
    effectiveDefault: { utilizationWarning: 90, waitingWarning: 50 },
    native: false,
    from: 'ours',
  },
  initSql: { kind: 'stringArray', default: [], native: 'initSql', from: 'ours' },
  mariadbJsonColumns: { kind: 'bool', default: true, native: 'mariadbJsonColumns', from: 'ours' },
};

// mysql2 options this pool does not implement: accepted only at a value
// that means mysql2's default, otherwise refused rather than silently
// ignored. mysql2 reads all of them as `option || default`, so any falsy
// value is its default; `harmless` lists what else is (null: nothing else).
const empty = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
const unsupported = (harmless) => ({ kind: 'unsupported', harmless, default: undefined, native: false, from: 'mysql2', kept: false });
Object.assign(TABLE, {
  // client capability flags: only "no change" ('' or [])
  flags: unsupported((v) => Array.isArray(v) && v.length === 0),
  compress: unsupported(null),
  localAddress: unsupported(null),
  // {} registers no plugin: the built-in ones, as by default
  authPlugins: unsupported(empty),
  authSwitchHandler: unsupported(null),
  stream: unsupported(null),
  infileStreamFactory: unsupported(null),
  // {} adds nothing to the attributes every client sends
  connectAttributes: unsupported(empty),
  password2: unsupported(null),
  password3: unsupported(null),
  passwordSha1: unsupported(null),
  isServer: unsupported(null),
  insecureAuth: unsupported(null),
  // mysql2's default (UTF8MB4_UNICODE_CI), or ignored because charset is given
  charsetNumber: unsupported((v, options) => v === 224 || (options.charset !== undefined && options.charset !== null && options.charset !== '')),
  pool: unsupported(null),
});
for (const row of Object.values(TABLE)) {
  if (row.default !== null && typeof row.default === 'object') Object.freeze(row.default);
  Object.freeze(row);
}
Object.freeze(TABLE);

// `ssl`'s fields (mysql2's SslOptions names): `native` is the field of
// SslConfig (src/config.rs) it feeds, false = checked here only; `refuse`
// is the ERR_UNSUPPORTED_OPTION message for any value.
const SSL_OPTIONS = Object.freeze({
  ca: { native: 'ca' },
  cert: { native: 'cert' },
  // Kept out of sight in the normalized config (see `hide`).
  key: { native: 'key' },
  rejectUnauthorized: { native: 'rejectUnauthorized' },
  verifyIdentity: { native: 'verifyIdentity' },
  servername: { native: 'servername' },
  // rustls here always offers TLS 1.2 and 1.3: checked by checkTlsVersions.
  minVersion: { native: false },
  maxVersion: { native: false },
  passphrase: { native: false, refuse: 'ssl.passphrase is not supported: pass an unencrypted PEM key' },
  ciphers: { native: false, refuse: 'ssl.ciphers is not supported: rustls uses its own safe cipher suites' },
});
for (const row of Object.values(SSL_OPTIONS)) Object.freeze(row);

/** name -> kind, for every option that is not refused outright. */
const OPTIONS = Object.freeze(
  Object.fromEntries(
    Object.entries(TABLE)
      .filter(([, row]) => row.kind !== 'unsupported')
      .map(([name, row]) => [name, row.kind]),
  ),
);

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

/**
 * A timezone as pools keep it ('local', 'Z' or '+HH:MM'), or null when it is
 * not a string. Also read for a query's own `timezone` (lib/command.js), so
 * the zones row decoding caches converters for stay few.
 */
function normalTimezone(v) {
  if (typeof v !== 'string') return null;
  if (v === '') return 'local';
  // A URI's '+05:30' arrives as ' 05:30' ('+' decodes to a space).
  if (TIMEZONE.test(v)) return v[0] === ' ' ? `+${v.slice(1)}` : v;
  warnTimezone(v);
  return 'Z';
}

const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function unsupportedOption(message) {
  return make('ERR_UNSUPPORTED_OPTION', message, TypeError);
}

/**
 * ssl.minVersion / ssl.maxVersion (Node's names). rustls here offers TLS 1.2
 * and 1.3, always both: a floor at or below TLS 1.2 and a ceiling of TLS 1.3
 * are met as asked and need nothing natively. Anything that would take one
 * version pinned, or a version below 1.2, is refused.
 */
function checkTlsVersions(v) {
  for (const k of ['minVersion', 'maxVersion']) {
    if (v[k] !== undefined && !TLS_VERSIONS.includes(v[k])) throw fail(`Option "ssl.${k}" must be one of ${TLS_VERSIONS.join(', ')}`);
  }
  if (v.maxVersion === 'TLSv1' || v.maxVersion === 'TLSv1.1') {
    throw unsupportedOption(`ssl.maxVersion ${v.maxVersion}: rustls speaks TLS 1.2 and 1.3 only`);
  }
  for (const [k, pin] of [
    ['minVersion', 'TLSv1.3'],
    ['maxVersion', 'TLSv1.2'],
  ]) {
    if (v[k] === pin) throw unsupportedOption(`ssl.${k} cannot pin one TLS version here: TLS 1.2 and 1.3 are both offered`);
  }
}

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
    case 'credential':
      if (typeof v !== 'string' && typeof v !== 'function') throw bad('a string or a function returning one (or a promise of one)');
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
    case 'timezone': {
      // mysql2 coerces non-strings too; a non-string zone is a bug here.
      const tz = normalTimezone(v);
      if (tz === null) throw bad("a string: 'local', 'Z' or an offset like '+05:30'");
      return tz;
    }
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
        throw unsupportedOption('Option "Promise" is not supported: napi-mysql-pool returns built-in Promises');
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
    throw unsupportedOption(`ssl profile "${v}" is not supported: pass ssl: { ca } with the provider's CA, or {} to use the public root store`);
  }
  if (v === true) v = {};
  if (typeof v !== 'object') throw fail('Option "ssl" must be an object');
  for (const k of Object.keys(v)) {
    if (!Object.hasOwn(SSL_OPTIONS, k)) throw fail(`Unknown ssl option "ssl.${k}"`);
  }
  for (const [k, row] of Object.entries(SSL_OPTIONS)) {
    if (row.refuse && v[k] !== undefined) throw unsupportedOption(row.refuse);
  }
  checkTlsVersions(v);
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
    // As asked (met without native help, see checkTlsVersions); not sent natively.
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
  if (!Object.hasOwn(obj, SECRET_KEYS)) {
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
    const row = Object.hasOwn(TABLE, k) ? TABLE[k] : undefined;
    if (!row) throw fail(`Unknown option "${k}"`);
    if (row.kind === 'unsupported') {
      if (!v || (row.harmless !== null && row.harmless(v, options))) continue;
      throw unsupportedOption(`Option "${k}" is not supported by napi-mysql-pool`);
    }
    if (row.refuse && v) throw unsupportedOption(row.refuse);
    const value = coerce(k, row.kind, v);
    if (value !== undefined) cfg[k] = value;
  }
  const js = {};
  for (const [k, row] of Object.entries(TABLE)) {
    if (row.kept === false) continue;
    let value = cfg[k];
    if (value === undefined) value = row.defaultFrom ? js[row.defaultFrom] : fresh(row.default);
    js[k] = row.resolve ? row.resolve(value, js) : value;
  }
  checkCharset(js.charset);
  const dynamic = typeof js.user === 'function' || typeof cfg.password === 'function';
  if (dynamic && js.shared) {
    // The functions live in one thread; a shared pool connects for all of them.
    throw make('ERR_UNSUPPORTED_OPTION', 'user/password functions cannot be used with shared: true', TypeError);
  }
  // mysql2: `password || password1 || undefined`.
  return hide(js, 'password', cfg.password || cfg.password1 || undefined);
}

/** A default that is an object or array, new for each pool. */
function fresh(value) {
  return value !== null && typeof value === 'object' ? structuredClone(value) : value;
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

// Fields src/config.rs no longer has but an addon built before their
// removal still requires (napi refuses an object without a required field):
// sent with a value nothing reads, so that this JS runs with either build.
// Drop an entry once no such build is in use.
const RETIRED_NATIVE = Object.freeze({});

/** PoolConfig (src/config.rs) from a normalized config: the table's native rows. */
function nativeConfig(js) {
  const out = { ...RETIRED_NATIVE };
  for (const [k, row] of Object.entries(TABLE)) {
    if (row.native) out[row.native] = row.toNative ? row.toNative(js[k]) : js[k];
  }
  return out;
}

/** mysql2's resetOnRelease booleans as the native side's words. */
function nativeReset(v) {
  return v === true ? 'always' : v === false ? 'never' : v;
}

/** SslConfig from a normalized ssl: a plain copy of its native fields (the key included). */
function nativeSsl(ssl) {
  if (!ssl) return undefined;
  const out = {};
  for (const [k, row] of Object.entries(SSL_OPTIONS)) if (row.native) out[row.native] = ssl[k];
  return out;
}

module.exports = { normalize, normalTimezone, nativeConfig, shareKey, parseUri, OPTIONS, TABLE, SSL_OPTIONS, RETIRED_NATIVE };
