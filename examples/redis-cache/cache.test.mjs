// The Redis cache example end to end: Drizzle on napi-mysql-pool with
// RedisCache, against a throwaway redis-server started here (own port, no
// persistence, killed afterwards) and the suite's throwaway MariaDB (vitest
// globalSetup, __test__/harness/mariadb.mjs). What reaches MySQL is counted
// with the pool's own counter (stats().counters.queries), what the cache did
// with RedisCache's stats.
//
// The repo's vitest config only collects __test__/**, so this file is run
// through __test__/examples/redis-cache.test.mjs:
//   npx vitest run __test__/examples/redis-cache.test.mjs
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { asc, eq, sql } from 'drizzle-orm';
import { datetime, decimal, int, mysqlTable, serial, varchar } from 'drizzle-orm/mysql-core';
import { drizzle } from 'drizzle-orm/mysql2';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool } from '../../lib/index.js';
import { RedisCache } from './redis-cache.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => fs.existsSync(p));
const srv = inject('mysqlServer');

const items = mysqlTable(`redis_cache_items_${process.pid}`, {
  id: serial('id').primaryKey(),
  name: varchar('name', { length: 50 }).notNull(),
  price: decimal('price', { precision: 10, scale: 2 }).notNull(),
  addedAt: datetime('added_at', { mode: 'date' }).notNull(),
});
const stock = mysqlTable(`redis_cache_stock_${process.pid}`, {
  itemId: int('item_id').primaryKey(),
  count: int('count').notNull(),
});

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

/** A redis-server of our own: no persistence, gone with its directory when stopped. */
async function startRedis() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nmp-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'];
  const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {}); // refused until the server listens
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return { port, stop };
    } catch {
      // not listening yet
    } finally {
      probe.disconnect();
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not start on port ${port}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!REDIS_SERVER)(
  `Drizzle cache on Redis (${REDIS_SERVER ? 'redis-server found' : 'skipped: no redis-server binary in /usr/bin or /usr/local/bin'})`,
  () => {
    let redisServer;
    let redis;
    let pool;
    /** The pool's count of statements sent to MySQL. */
    const queries = () => pool.stats().counters.queries;

    beforeAll(async () => {
      redisServer = await startRedis();
      redis = new Redis({ host: '127.0.0.1', port: redisServer.port, maxRetriesPerRequest: 1 });
      pool = createPool({ uri: srv.url, connectionLimit: 2, name: 'redis-cache-example' });
      const db = drizzle(pool);
      await db.execute(sql`DROP TABLE IF EXISTS ${items}, ${stock}`);
      await db.execute(sql`CREATE TABLE ${items} (id SERIAL PRIMARY KEY, name VARCHAR(50) NOT NULL, price DECIMAL(10,2) NOT NULL, added_at DATETIME NOT NULL)`);
      await db.execute(sql`CREATE TABLE ${stock} (item_id INT PRIMARY KEY, count INT NOT NULL)`);
      await db.insert(items).values([
        { name: 'apple', price: '1.20', addedAt: new Date('2025-01-02T03:04:05Z') },
        { name: 'pear', price: '2.50', addedAt: new Date('2025-02-03T04:05:06Z') },
      ]);
      await db.insert(stock).values([
        { itemId: 1, count: 10 },
        { itemId: 2, count: 0 },
      ]);
    });

    afterAll(async () => {
      if (pool) {
        await drizzle(pool).execute(sql`DROP TABLE IF EXISTS ${items}, ${stock}`);
        await pool.end();
      }
      redis?.disconnect();
      await redisServer?.stop();
    });

    /** A fresh cache under its own prefix, and Drizzle using it. */
    function setup(options = {}) {
      const cache = new RedisCache(redis, { prefix: `t${Math.random().toString(36).slice(2, 8)}:`, ...options });
      return { cache, db: drizzle(pool, { cache }) };
    }

    it('cache-aside: miss -> one MySQL query, hit -> none; an insert invalidates; the next select sees the new row', async () => {
      const { cache, db } = setup();
      const list = () => db.select().from(items).orderBy(asc(items.id)).$withCache();

      let before = queries();
      const first = await list();
      expect(queries() - before).toBe(1);
      expect(cache.stats).toMatchObject({ hits: 0, misses: 1, puts: 1 });
      expect(first).toEqual([
        { id: 1, name: 'apple', price: '1.20', addedAt: new Date('2025-01-02T03:04:05Z') },
        { id: 2, name: 'pear', price: '2.50', addedAt: new Date('2025-02-03T04:05:06Z') },
      ]);
      // what Redis holds: the entry and the table's set naming it
      const entries = await redis.keys(`${cache.prefix}q:*`);
      expect(entries).toHaveLength(1);
      expect(await redis.smembers(cache.tableKey(`redis_cache_items_${process.pid}`))).toEqual(entries);
      expect(await redis.pttl(entries[0])).toBeGreaterThan(50_000);

      before = queries();
      const second = await list();
      expect(queries() - before).toBe(0);
      expect(cache.stats).toMatchObject({ hits: 1, misses: 1, puts: 1 });
      expect(second).toEqual(first);
      expect(second[0].addedAt).toBeInstanceOf(Date);

      before = queries();
      await db.insert(items).values({ name: 'plum', price: '0.90', addedAt: new Date('2025-03-04T05:06:07Z') });
      expect(queries() - before).toBe(1);
      expect(cache.stats.invalidations).toBe(1);
      expect(await redis.exists(entries[0])).toBe(0);

      before = queries();
      const third = await list();
      expect(queries() - before).toBe(1);
      expect(cache.stats).toMatchObject({ hits: 1, misses: 2, puts: 2 });
      expect(third.map((r) => r.name)).toEqual(['apple', 'pear', 'plum']);

      // and cached again
      before = queries();
      expect(await list()).toEqual(third);
      expect(queries() - before).toBe(0);
      expect(cache.stats.hits).toBe(2);
    });

    it('different parameters are different entries; selects without $withCache() bypass the cache (explicit strategy)', async () => {
      const { cache, db } = setup();
      const byId = (id) => db.select({ name: items.name }).from(items).where(eq(items.id, id)).$withCache();
      const before = queries();
      expect(await byId(1)).toEqual([{ name: 'apple' }]);
      expect(await byId(2)).toEqual([{ name: 'pear' }]);
      expect(await byId(1)).toEqual([{ name: 'apple' }]);
      expect(await db.select({ name: items.name }).from(items).where(eq(items.id, 1))).toEqual([{ name: 'apple' }]);
      expect(queries() - before).toBe(3);
      expect(cache.stats).toMatchObject({ hits: 1, misses: 2, puts: 2 });
    });

    it('a join is invalidated by a write to either table', async () => {
      const { cache, db } = setup();
      const inStock = () =>
        db.select({ name: items.name, count: stock.count }).from(items).innerJoin(stock, eq(stock.itemId, items.id)).orderBy(asc(items.id)).$withCache();
      expect(await inStock()).toEqual([
        { name: 'apple', count: 10 },
        { name: 'pear', count: 0 },
      ]);
      const before = queries();
      await inStock();
      expect(queries() - before).toBe(0);

      await db.update(stock).set({ count: 7 }).where(eq(stock.itemId, 2));
      const after = queries();
      expect((await inStock())[1]).toEqual({ name: 'pear', count: 7 });
      expect(queries() - after).toBe(1);
      expect(cache.stats).toMatchObject({ hits: 1, misses: 2, puts: 2, invalidations: 1 });
    });

    it('tags: $withCache({ tag }) and db.$cache.invalidate({ tags })', async () => {
      const { cache, db } = setup();
      const cheapest = () => db.select({ name: items.name }).from(items).orderBy(asc(items.price)).limit(1).$withCache({ tag: 'cheapest' });
      expect(await cheapest()).toEqual([{ name: 'plum' }]);
      expect(await redis.exists(`${cache.prefix}tag:cheapest`)).toBe(1);
      const before = queries();
      expect(await cheapest()).toEqual([{ name: 'plum' }]);
      expect(queries() - before).toBe(0);

      await db.$cache.invalidate({ tags: 'cheapest' });
      expect(await redis.exists(`${cache.prefix}tag:cheapest`)).toBe(0);
      expect(await cheapest()).toEqual([{ name: 'plum' }]);
      expect(queries() - before).toBe(1);
      expect(cache.stats).toMatchObject({ hits: 1, misses: 2, puts: 2 });
    });

    it('autoInvalidate: false survives writes until its TTL; config.px sets the TTL', async () => {
      const { cache, db } = setup();
      const count = () =>
        db
          .select({ n: sql`COUNT(*)`.mapWith(Number) })
          .from(items)
          .$withCache({ autoInvalidate: false, config: { px: 400 } });
      const [{ n }] = await count();
      const entries = await redis.keys(`${cache.prefix}nq:*`);
      expect(entries).toHaveLength(1);
      const ttl = await redis.pttl(entries[0]);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(400);

      await db.insert(items).values({ name: 'fig', price: '3.10', addedAt: new Date('2025-04-05T06:07:08Z') });
      expect(await count()).toEqual([{ n }]); // stale on purpose: not invalidated by writes
      expect(cache.stats).toMatchObject({ hits: 1, misses: 1 });

      await new Promise((r) => setTimeout(r, 500));
      const before = queries();
      expect(await count()).toEqual([{ n: n + 1 }]);
      expect(queries() - before).toBe(1);
      expect(cache.stats).toMatchObject({ hits: 1, misses: 2, puts: 2 });
    });

    it('global strategy: every select is cached, $withCache(false) opts out, a delete invalidates', async () => {
      const { cache, db } = setup({ global: true });
      const names = () => db.select({ name: items.name }).from(items).orderBy(asc(items.id));
      let before = queries();
      const all = await names();
      await names();
      expect(queries() - before).toBe(1);
      expect(cache.stats).toMatchObject({ hits: 1, misses: 1 });

      before = queries();
      await names().$withCache(false);
      expect(queries() - before).toBe(1);
      expect(cache.stats).toMatchObject({ hits: 1, misses: 1 });

      await db.delete(items).where(eq(items.name, 'fig'));
      before = queries();
      expect(await names()).toEqual(all.filter((r) => r.name !== 'fig'));
      expect(queries() - before).toBe(1);
      expect(cache.stats).toMatchObject({ hits: 1, misses: 2, invalidations: 1 });
    });

    it('values JSON cannot carry come back as they were (BigInt, Buffer, Date)', async () => {
      const { cache } = setup();
      const value = [[[1n, Buffer.from([0, 255, 7]), new Date('2025-05-06T07:08:09.010Z'), null, 'x', { $t: 'plain' }]], []];
      await cache.put('k', value, ['t'], false);
      expect(await cache.get('k', ['t'], false, true)).toEqual(value);
    });

    it('the example type-checks (tsc, strict, checkJs)', async () => {
      const out = await new Promise((resolve) => {
        execFile(
          process.execPath,
          [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(HERE, 'tsconfig.json')],
          { cwd: ROOT },
          (err, stdout, stderr) => resolve({ code: err ? err.code : 0, text: `${stdout}${stderr}` }),
        );
      });
      expect(out.text).toBe('');
      expect(out.code).toBe(0);
    });
  },
);
