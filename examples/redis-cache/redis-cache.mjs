// @ts-check
// A Drizzle query cache on Redis (ioredis): cache-aside for selects,
// invalidated by table when Drizzle runs an insert, update or delete.
//
//   const db = drizzle(pool, { cache: new RedisCache(redis) });
//   await db.select().from(users).where(eq(users.id, 1)).$withCache();
//
// Drizzle (0.45) calls the hooks of its Cache class:
//   get(key, tables, isTag)    before a cached select: the stored result, or undefined (miss)
//   put(key, result, tables, isTag, config)   after a miss, with the driver's result
//   onMutate({ tables, tags }) when an insert/update/delete runs on tables
//                              (and for db.$cache.invalidate())
// `key` is a hash of the SQL and its parameters, or the tag given to
// $withCache({ tag }). `tables` are the tables the select read; they are
// empty when the select opted out of auto-invalidation.
//
// Keys (all under `prefix`):
//   q:<hash>, tag:<tag>  one cached result each (a string, with an expiry)
//   nq:<hash>, ntag:<tag>  the same for selects with autoInvalidate: false
//                        (kept apart, so such a result is never served to
//                        a select that expects invalidation)
//   table:<name>         a set: the keys of the results that read the table
// onMutate deletes every key in the sets of the mutated tables, the sets,
// and the tag entries it is given.
import { Cache } from 'drizzle-orm/cache/core';
import { entityKind, getTableName, is, Table } from 'drizzle-orm';

/** @typedef {import('ioredis').Redis} Redis */
/** @typedef {import('drizzle-orm/cache/core').MutationOption} MutationOption */
/** @typedef {import('drizzle-orm/cache/core/types').CacheConfig} CacheConfig */

/**
 * Stores a result and adds its key to the set of every table it read, all at
 * once. A set lives at least as long as its longest-lived entry.
 * KEYS: entry key, table sets...   ARGV: value, ttl in ms
 */
const PUT = `
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[1])
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return #KEYS - 1
`;

/**
 * Deletes the entries listed in the table sets, the sets, and tag entries.
 * KEYS: table sets..., tag entry keys...   ARGV: number of table sets
 * Returns how many keys it deleted.
 */
const INVALIDATE = `
local sets = tonumber(ARGV[1])
local deleted = 0
for i = 1, sets do
  local members = redis.call('SMEMBERS', KEYS[i])
  for j = 1, #members, 500 do
    deleted = deleted + redis.call('DEL', unpack(members, j, math.min(j + 499, #members)))
  end
  deleted = deleted + redis.call('DEL', KEYS[i])
end
for i = sets + 1, #KEYS do
  deleted = deleted + redis.call('DEL', KEYS[i])
end
return deleted
`;

/**
 * Results hold what the driver returned: arrays of column values (numbers,
 * strings, null; Buffers for binary columns; BigInts with supportBigNumbers
 * off and bigint columns read as such), and the field descriptions. JSON
 * alone would turn Buffers into objects and fail on BigInts, so those (and
 * Dates) are tagged.
 * @param {unknown} value
 */
function encode(value) {
  return JSON.stringify(value, function replace(key, v) {
    const raw = this[key];
    if (typeof raw === 'bigint') return { $t: 'bigint', v: raw.toString() };
    if (raw instanceof Uint8Array) return { $t: 'bytes', v: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
    if (raw instanceof Date) return { $t: 'date', v: Number.isNaN(raw.getTime()) ? null : raw.toISOString() };
    return v;
  });
}

/** @param {string} text */
function decode(text) {
  return JSON.parse(text, (_key, v) => {
    if (v === null || typeof v !== 'object' || typeof v.$t !== 'string' || !('v' in v)) return v;
    if (v.$t === 'bigint') return BigInt(v.v);
    if (v.$t === 'bytes') return Buffer.from(v.v, 'base64');
    if (v.$t === 'date') return v.v === null ? new Date(Number.NaN) : new Date(v.v);
    return v;
  });
}

export class RedisCache extends Cache {
  static [entityKind] = 'RedisCache';

  /**
   * @param {Redis} redis  an ioredis client (this cache never closes it)
   * @param {object} [options]
   * @param {string} [options.prefix]  prefix of every key (default 'drizzle:')
   * @param {number} [options.ttlMs]  default lifetime of an entry (default 60000); $withCache({ config: { ex | px } }) overrides it
   * @param {boolean} [options.global]  cache every select ('all') instead of only those with .$withCache() ('explicit', the default)
   */
  constructor(redis, { prefix = 'drizzle:', ttlMs = 60_000, global = false } = {}) {
    super();
    if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new TypeError('ttlMs must be a positive integer');
    this.redis = redis;
    this.prefix = prefix;
    this.ttlMs = ttlMs;
    this.global = global;
    /** What this cache saw: hits and misses of get(), results stored, invalidations and keys they deleted. */
    this.stats = { hits: 0, misses: 0, puts: 0, invalidations: 0, deleted: 0 };
  }

  /** @returns {'explicit' | 'all'} */
  strategy() {
    return this.global ? 'all' : 'explicit';
  }

  /**
   * @param {string} key
   * @param {boolean} isTag
   * @param {boolean} [autoInvalidate]
   */
  entryKey(key, isTag, autoInvalidate = true) {
    return `${this.prefix}${autoInvalidate ? '' : 'n'}${isTag ? 'tag' : 'q'}:${key}`;
  }

  /** @param {string} table */
  tableKey(table) {
    return `${this.prefix}table:${table}`;
  }

  /**
   * @param {string} key
   * @param {string[]} _tables
   * @param {boolean} isTag
   * @param {boolean} [isAutoInvalidate]
   * @returns {Promise<any[] | undefined>}
   */
  async get(key, _tables, isTag = false, isAutoInvalidate = true) {
    const text = await this.redis.get(this.entryKey(key, isTag, isAutoInvalidate));
    if (text === null) {
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    return decode(text);
  }

  /**
   * @param {string} key
   * @param {any} response
   * @param {string[]} tables  empty when the select opted out of auto-invalidation
   * @param {boolean} isTag
   * @param {CacheConfig} [config]
   */
  async put(key, response, tables, isTag = false, config) {
    const ttl = ttlOf(config, this.ttlMs);
    if (ttl <= 0) return; // already expired (exat/pxat in the past)
    // Drizzle passes no tables exactly when the select opted out of auto-invalidation.
    const keys = [this.entryKey(key, isTag, tables.length > 0), ...[...new Set(tables)].map((t) => this.tableKey(t))];
    await this.redis.eval(PUT, keys.length, ...keys, encode(response), String(ttl));
    this.stats.puts++;
  }

  /** @param {MutationOption} params */
  async onMutate(params) {
    const tables = params.tables === undefined ? [] : Array.isArray(params.tables) ? params.tables : [params.tables];
    const tags = params.tags === undefined ? [] : Array.isArray(params.tags) ? params.tags : [params.tags];
    const names = tables.map((t) => (is(t, Table) ? getTableName(t) : String(t)));
    const keys = [...new Set(names)].map((n) => this.tableKey(n));
    const tagKeys = [...new Set(tags)].flatMap((tag) => [this.entryKey(tag, true, true), this.entryKey(tag, true, false)]);
    if (keys.length + tagKeys.length === 0) return;
    const deleted = await this.redis.eval(INVALIDATE, keys.length + tagKeys.length, ...keys, ...tagKeys, String(keys.length));
    this.stats.invalidations++;
    this.stats.deleted += Number(deleted);
  }
}

/**
 * An entry's lifetime in ms from Drizzle's CacheConfig (Redis SET options).
 * @param {CacheConfig | undefined} config
 * @param {number} fallback
 */
function ttlOf(config, fallback) {
  if (!config) return fallback;
  if (config.px !== undefined) return Math.floor(config.px);
  if (config.ex !== undefined) return Math.floor(config.ex * 1000);
  if (config.pxat !== undefined) return Math.floor(config.pxat - Date.now());
  if (config.exat !== undefined) return Math.floor(config.exat * 1000 - Date.now());
  return fallback;
}
