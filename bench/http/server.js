'use strict';
// An HTTP server shaped like the origin app of issue 14: express + tRPC
// (@trpc/server's express adapter) + Drizzle (drizzle-orm/mysql2, mode
// 'default') on a pool of 20, TLS to the database. One process per
// (client, round), started by bench/http/drive.js, which drives it with
// autocannon.
//
// Configuration: BENCH_HTTP (JSON: client 'ours' | 'mysql2' | 'floor', conn,
// poolSize). 'floor' answers from memory (bench/http/floor-pool.js): the
// app's own cost per request, with no driver and no database.
// Prints '@@bench {"type":"ready","port":N}' once listening. GET /__bench
// answers the process's CPU time (all threads), event-loop utilization and
// memory, and how many procedures are running / have run, for the parent's
// per-request numbers; SIGTERM ends the pool and exits.
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const express = require('express');
const { initTRPC } = require('@trpc/server');
const { createExpressMiddleware } = require('@trpc/server/adapters/express');
const { drizzle } = require('drizzle-orm/mysql2');
const { eq, between, asc } = require('drizzle-orm');
const { mysqlTable, int, varchar, double, datetime, decimal } = require('drizzle-orm/mysql-core');

const cfg = JSON.parse(process.env.BENCH_HTTP || '{}');
const { conn } = cfg;

const poolOptions = {
  host: conn.host,
  port: conn.port,
  user: conn.user,
  password: conn.password,
  database: conn.database,
  connectionLimit: cfg.poolSize || 20,
  ...(conn.ca ? { ssl: { ca: conn.ca } } : {}),
};
const pool =
  cfg.client === 'ours'
    ? require(path.join(__dirname, '..', '..', 'lib', 'index.js')).createPool(poolOptions)
    : cfg.client === 'floor'
      ? new (require('./floor-pool').FloorPool)(require('../workloads').POINT_ROWS)
      : require('mysql2/promise').createPool(poolOptions);
const db = drizzle(pool, { mode: 'default' });

const points = mysqlTable('bench_points', {
  id: int('id').primaryKey(),
  name: varchar('name', { length: 40 }).notNull(),
  score: double('score').notNull(),
  qty: int('qty').notNull(),
  created: datetime('created').notNull(),
});
const wide = mysqlTable('bench_wide', {
  id: int('id').primaryKey(),
  name: varchar('name', { length: 50 }).notNull(),
  price: decimal('price', { precision: 10, scale: 2 }).notNull(),
  at: datetime('at', { fsp: 3 }).notNull(),
});
const inserts = mysqlTable('bench_insert', {
  id: int('id').primaryKey().autoincrement(),
  k: int('k').notNull(),
  name: varchar('name', { length: 40 }).notNull(),
  score: double('score').notNull(),
  created: datetime('created').notNull(),
});

const positiveInt = (key) => (v) => {
  const n = v?.[key];
  if (!Number.isInteger(n) || n < 1) throw new Error(`${key}: a positive integer`);
  return { [key]: n };
};
const CREATED = new Date('2025-01-02T03:04:05Z');

const t = initTRPC.create();
// Procedures running now and procedures finished, for the parent: it waits for
// the server to be idle before and after its measured window (autocannon drops
// what is in flight when it stops; the server still finishes that work), and
// divides the CPU time by the procedures really handled.
let inflight = 0;
let handled = 0;
const procedure = t.procedure.use(async ({ next }) => {
  inflight++;
  try {
    return await next();
  } finally {
    inflight--;
    handled++;
  }
});
const router = t.router({
  // One point select.
  point: procedure.input(positiveInt('id')).query(async ({ input }) => {
    const [row] = await db.select().from(points).where(eq(points.id, input.id));
    return row ?? null;
  }),
  // Three selects one after another, as a page that loads an entity, a
  // related one, and a short list.
  three: procedure.input(positiveInt('id')).query(async ({ input }) => {
    const { id } = input;
    const [point] = await db.select().from(points).where(eq(points.id, id));
    const [w] = await db.select({ id: wide.id, name: wide.name, price: wide.price, at: wide.at }).from(wide).where(eq(wide.id, id));
    const near = await db
      .select({ id: points.id, name: points.name })
      .from(points)
      .where(between(points.id, id, id + 9))
      .orderBy(asc(points.id));
    return { point: point ?? null, wide: w ?? null, near };
  }),
  // An insert and a read-back in one transaction: BEGIN, INSERT, SELECT, COMMIT.
  tx: procedure.input(positiveInt('k')).mutation(({ input }) =>
    db.transaction(async (tx) => {
      const { k } = input;
      const [h] = await tx.insert(inserts).values({ k, name: `http-${k}`, score: k / 7, created: CREATED });
      const [row] = await tx.select().from(inserts).where(eq(inserts.id, h.insertId));
      return { insertId: h.insertId, row: row ?? null };
    }),
  ),
});

const app = express();
app.disable('x-powered-by');
app.get('/__bench', (_req, res) => {
  const elu = performance.eventLoopUtilization();
  res.json({
    inflight,
    handled,
    cpu: process.cpuUsage(),
    elu: { active: elu.active, idle: elu.idle },
    rss: process.memoryUsage.rss(),
    maxRSS: process.resourceUsage().maxRSS * 1024,
  });
});
let firstError = true;
app.use(
  '/trpc',
  createExpressMiddleware({
    router,
    onError: ({ error, path: p }) => {
      if (firstError) console.error(`tRPC error in ${p}: ${error.cause?.stack || error.stack}`);
      firstError = false;
    },
  }),
);

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`@@bench ${JSON.stringify({ type: 'ready', port: server.address().port })}\n`);
});
server.keepAliveTimeout = 60_000;

let stopping = false;
process.on('SIGTERM', async () => {
  if (stopping) return;
  stopping = true;
  server.closeAllConnections?.();
  server.close();
  const t0 = performance.now();
  try {
    await pool.end();
  } catch (e) {
    console.error(`pool.end(): ${e.message}`);
  }
  process.stdout.write(`@@bench ${JSON.stringify({ type: 'ended', endMs: performance.now() - t0 })}\n`, () => process.exit(0));
});
