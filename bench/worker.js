'use strict';
// Child process: runs ONE workload on ONE client and reports its numbers to
// the parent (bench/run.js). A fresh process per run keeps one client's heap,
// JIT state and threads from affecting another's numbers.
//
// Protocol: parent sends {type:'run', ...}; the child sends {type:'mark'}
// right before and right after its measured window (the parent snapshots
// the server's counters and CPU then, and answers {type:'ack'}), and
// finally {type:'result', stats} or {type:'error', message}.
// Transport: node's IPC under node (fork); under bun (BENCH_STDIO=1) one JSON
// document a line, the child's lines on stdout prefixed with '@@bench ' (the
// same as the Rust ceiling, bench/ceiling).
const { performance } = require('node:perf_hooks');
const { makeClient } = require('./clients');
const { WORKLOADS, SQL, POINT_ROWS, POOL_SIZE, COLD_QUERIES, xorshift } = require('./workloads');

const now = () => performance.now();
const IS_BUN = typeof globalThis.Bun !== 'undefined';
const STDIO = process.env.BENCH_STDIO === '1';

function send(m, cb) {
  if (STDIO) process.stdout.write(`@@bench ${JSON.stringify(m)}\n`, cb);
  else process.send(m, cb);
}

function onMessage(handler) {
  if (!STDIO) {
    process.on('disconnect', () => process.exit(1));
    process.on('message', handler);
    return;
  }
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) handler(JSON.parse(line));
    }
  });
  process.stdin.on('end', () => process.exit(1));
}

// Bun has no event-loop utilization (its perf_hooks returns zeros): main-thread
// time and ELU are then reported as not measured.
const HAS_ELU = !IS_BUN && typeof performance.eventLoopUtilization === 'function';
const elu = (prev) => (HAS_ELU ? performance.eventLoopUtilization(prev) : null);
const fullGc = () => (IS_BUN ? globalThis.Bun.gc(true) : global.gc?.());

// ---- small utilities --------------------------------------------------------

// Latencies: every op counts in n, min, max and mean; percentiles come from a
// uniform sample of at most CAP of them (reservoir sampling), so the buffer is
// the same 512 KB for every client: a growing array of every op's latency
// made a faster client's peak RSS larger by the measurement itself.
class Samples {
  static CAP = 1 << 16;
  constructor() {
    this.a = new Float64Array(Samples.CAP);
    this.n = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.sum = 0;
    this.rand = xorshift(0x5eed);
  }
  push(v) {
    const i = this.n++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (i < Samples.CAP) this.a[i] = v;
    else {
      const j = Math.floor((this.rand() / 2 ** 32) * (i + 1));
      if (j < Samples.CAP) this.a[j] = v;
    }
  }
  summary() {
    const s = this.a.slice(0, Math.min(this.n, Samples.CAP)).sort();
    const q = (p) => (s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(p * s.length))]);
    const n = this.n;
    return { n, min: n ? this.min : undefined, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: n ? this.max : undefined, mean: this.sum / n };
  }
}

// RSS sampled every 50 ms for the whole life of the child.
const rss = { peak: 0, windowPeak: 0 };
function sampleRss() {
  const v = process.memoryUsage.rss();
  if (v > rss.peak) rss.peak = v;
  if (v > rss.windowPeak) rss.windowPeak = v;
}
setInterval(sampleRss, 50).unref();

let ackResolve = null;
function mark(phase) {
  return new Promise((resolve) => {
    ackResolve = resolve;
    send({ type: 'mark', phase });
  });
}

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} did not finish in ${ms} ms`)), ms);
    }),
  ]);
}

// ---- operations ---------------------------------------------------------------

const CREATED = '2025-01-02 03:04:05';

function check(cond, what) {
  if (!cond) throw new Error(`result check failed: ${what}`);
}

function drizzleTable() {
  const { mysqlTable, int, varchar, double, datetime } = require('drizzle-orm/mysql-core');
  return mysqlTable('bench_points', {
    id: int('id').primaryKey(),
    name: varchar('name', { length: 40 }).notNull(),
    score: double('score').notNull(),
    qty: int('qty').notNull(),
    created: datetime('created').notNull(),
  });
}

/** op(verify) -> Promise; verify=true checks the result's content. */
function makeOp(w, c, pool, rng) {
  const id = () => (rng() % POINT_ROWS) + 1;
  switch (w.op) {
    case 'pointQuery':
    case 'pointExecute': {
      const call = w.op === 'pointQuery' ? c.query : c.execute;
      return (verify) => {
        const k = id();
        const p = call(pool, SQL.point, [k]);
        return verify
          ? p.then((rows) => {
              check(rows.length === 1 && rows[0].id === k && rows[0].name === `point-${k}`, `point row ${k}`);
              check(Object.keys(rows[0]).length === 5, 'five columns');
              check(rows[0].created instanceof Date, 'DATETIME as Date');
            })
          : p;
      };
    }
    case 'wideObjects':
      return (verify) =>
        c.query(pool, SQL.wide).then((rows) => {
          check(rows.length === 10_000, `10k rows, got ${rows.length}`);
          if (verify) {
            const r = rows.find((x) => x.id === 7);
            check(Object.keys(r).length === 10, 'ten columns');
            // (Bun.SQL returns a BIGINT outside the int32 range as a string: c.types)
            const bigType = typeof r.big;
            check(bigType === (c.types?.big || 'number') && typeof r.price === 'string' && r.at instanceof Date && Buffer.isBuffer(r.tag), 'wide types');
          }
        });
    case 'wideArrays':
      return (verify) =>
        c.queryArrays(pool, SQL.wide).then((rows) => {
          check(rows.length === 10_000, `10k rows, got ${rows.length}`);
          if (verify) check(Array.isArray(rows[0]) && rows[0].length === 10, 'rows as arrays of ten');
        });
    case 'insert':
      return (verify) => {
        const k = id();
        const p = c.query(pool, SQL.insert, [k, `insert-${k}`, k / 7, CREATED]);
        return verify
          ? p.then((res) => {
              const r = c.header ? c.header(res) : res;
              check(r.affectedRows === 1 && typeof r.insertId === 'number' && r.insertId > 0, 'insert header');
            })
          : p;
      };
    case 'batch': {
      if (!c.batch) throw new Error('no batch API for this client');
      // w.rows rows of bench_insert per call: pool.batch() for ours and
      // mariadb, an execute() loop in a transaction for mysql2 (clients.js).
      const n = w.rows;
      return (verify) => {
        const rows = new Array(n);
        for (let i = 0; i < n; i++) {
          const k = id();
          rows[i] = [k, `batch-${k}`, k + 0.25, CREATED];
        }
        const p = c.batch(pool, SQL.insert, rows);
        return verify ? p.then((r) => check(r.affectedRows === n && typeof r.insertId === 'number' && r.insertId > 0, 'batch header')) : p;
      };
    }
    case 'drizzle': {
      if (!c.drizzle) throw new Error('no drizzle driver for this client');
      const { eq } = require('drizzle-orm');
      const t = drizzleTable();
      const db = c.drizzle(pool);
      return (verify) => {
        const k = id();
        const p = db.select().from(t).where(eq(t.id, k));
        return verify ? p.then((rows) => check(rows.length === 1 && rows[0].id === k && rows[0].name === `point-${k}`, `drizzle row ${k}`)) : p;
      };
    }
    default:
      throw new Error(`unknown op ${w.op}`);
  }
}

// Closed loop: `concurrency` workers, each starting a new op as soon as its
// previous one finishes, until the deadline (and at least minOps).
async function loop(op, concurrency, ms, minOps, lat) {
  const deadline = now() + ms;
  let done = 0;
  let stop = false;
  async function worker() {
    while (!stop) {
      const t0 = now();
      await op(false);
      const t1 = now();
      if (lat) lat.push(t1 - t0);
      done++;
      if (t1 >= deadline && done >= minOps) stop = true;
    }
  }
  const workers = [];
  for (let i = 0; i < concurrency; i++) workers.push(worker());
  await Promise.all(workers);
  return done;
}

async function burst(c, pool, size) {
  const all = new Array(size);
  for (let i = 0; i < size; i++) all[i] = c.query(pool, SQL.one);
  await Promise.all(all);
}

// Opens every pooled connection before anything is timed.
async function prime(c, pool) {
  await burst(c, pool, POOL_SIZE * 10);
}

async function measured(body) {
  fullGc();
  await mark('start');
  rss.windowPeak = 0;
  sampleRss();
  const cpu0 = process.cpuUsage();
  const elu0 = elu();
  const t0 = now();
  const r = await body();
  const wallMs = now() - t0;
  const e = elu0 && elu(elu0);
  const cpu = process.cpuUsage(cpu0);
  sampleRss();
  await mark('end');
  return {
    ...r,
    wallMs,
    cpuUserMs: cpu.user / 1000,
    cpuSysMs: cpu.system / 1000,
    cpuMs: (cpu.user + cpu.system) / 1000,
    eluActiveMs: e ? e.active : null,
    elu: e ? e.utilization : null,
    rssWindowPeak: rss.windowPeak,
  };
}

// ---- workload kinds -------------------------------------------------------------

async function runLoop(w, c, opts, rng) {
  const pool = c.create(opts.conn, { tls: w.tls });
  const op = makeOp(w, c, pool, rng);
  await prime(c, pool);
  for (let i = 0; i < 3; i++) await op(true);
  await loop(op, w.concurrency, opts.warmupMs, 1, null);
  if (w.op === 'insert' || w.op === 'batch') await c.query(pool, 'TRUNCATE TABLE bench_insert');
  const lat = new Samples();
  const stats = await measured(async () => {
    const ops = await loop(op, w.concurrency, opts.durationMs, w.minOps || 1, lat);
    return { ops, queries: ops };
  });
  for (let i = 0; i < 3; i++) await op(true);
  return { stats: { ...stats, lat: lat.summary() }, pool };
}

async function runBurst(w, c, opts) {
  const pool = c.create(opts.conn, {});
  await prime(c, pool);
  const warmEnd = now() + opts.warmupMs;
  while (now() < warmEnd) await burst(c, pool, w.size);
  const lat = new Samples();
  const minBursts = 20;
  const stats = await measured(async () => {
    const deadline = now() + opts.durationMs;
    let n = 0;
    while (now() < deadline || n < minBursts) {
      const t0 = now();
      await burst(c, pool, w.size);
      lat.push(now() - t0);
      n++;
    }
    return { ops: n, queries: n * w.size };
  });
  return { stats: { ...stats, lat: lat.summary() }, pool };
}

async function runCold(w, c, opts, rng) {
  const id = () => (rng() % POINT_ROWS) + 1;
  const once = async (lat) => {
    const t0 = now();
    const pool = c.create(opts.conn, { tls: w.tls });
    const all = new Array(COLD_QUERIES);
    for (let i = 0; i < COLD_QUERIES; i++) all[i] = c.query(pool, SQL.point, [id()]);
    const results = await Promise.all(all);
    if (lat) lat.push(now() - t0);
    check(
      results.every((rows) => rows.length === 1),
      'cold-start rows',
    );
    await withTimeout(c.end(pool), 15000, 'pool.end()');
  };
  await once(null); // loads TLS and driver code paths once
  const lat = new Samples();
  const maxOps = 60;
  const stats = await measured(async () => {
    const deadline = now() + opts.durationMs;
    let n = 0;
    while ((now() < deadline || n < w.minOps) && n < maxOps) {
      await once(lat);
      n++;
    }
    return { ops: n, queries: n * COLD_QUERIES };
  });
  return { stats: { ...stats, lat: lat.summary() }, pool: null };
}

// One million point selects (by default), RSS sampled every `every` queries.
async function runSoak(c, opts, rng) {
  const w = { op: 'pointQuery' };
  const pool = c.create(opts.conn, {});
  const op = makeOp(w, c, pool, rng);
  await prime(c, pool);
  const total = opts.soakOps;
  const every = opts.soakEvery;
  const samples = [];
  const t0 = now();
  let started = 0;
  let done = 0;
  const cpu0 = process.cpuUsage();
  const sample = () => {
    const m = process.memoryUsage();
    samples.push({ ops: done, rss: m.rss, heapUsed: m.heapUsed, external: m.external, ms: now() - t0 });
  };
  sample();
  async function worker() {
    while (started < total) {
      started++;
      await op(false);
      done++;
      if (done % every === 0) sample();
    }
  }
  const workers = [];
  for (let i = 0; i < 200; i++) workers.push(worker());
  await Promise.all(workers);
  const wallMs = now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    stats: { ops: done, wallMs, opsPerSec: done / (wallMs / 1000), cpuMs: (cpu.user + cpu.system) / 1000, samples },
    pool,
  };
}

// ---- entry --------------------------------------------------------------------------

async function run(msg) {
  const c = makeClient(msg.client);
  const rng = xorshift(msg.opts.seed);
  let out;
  if (msg.workload === 'soak') {
    out = await runSoak(c, msg.opts, rng);
  } else {
    const w = WORKLOADS.find((x) => x.name === msg.workload);
    if (!w) throw new Error(`unknown workload ${msg.workload}`);
    if (w.kind === 'loop') out = await runLoop(w, c, msg.opts, rng);
    else if (w.kind === 'burst') out = await runBurst(w, c, msg.opts);
    else if (w.kind === 'cold') out = await runCold(w, c, msg.opts, rng);
    else throw new Error(`unknown kind ${w.kind}`);
  }
  const stats = out.stats;
  if (out.pool) {
    const t0 = now();
    await withTimeout(c.end(out.pool), 15000, 'pool.end()');
    stats.endMs = now() - t0;
  }
  if (stats.wallMs && stats.opsPerSec === undefined) stats.opsPerSec = stats.ops / (stats.wallMs / 1000);
  if (stats.queries !== undefined) stats.queriesPerSec = stats.queries / (stats.wallMs / 1000);
  sampleRss();
  stats.rssPeakSampled = rss.peak;
  stats.maxRSS = process.resourceUsage().maxRSS * 1024; // kernel high-water mark, KiB -> bytes
  stats.runtime = IS_BUN ? `bun ${globalThis.Bun.version}` : `node ${process.version}`;
  return stats;
}

onMessage((msg) => {
  if (msg.type === 'ack') {
    const r = ackResolve;
    ackResolve = null;
    if (r) r();
    return;
  }
  if (msg.type !== 'run') return;
  run(msg).then(
    (stats) => send({ type: 'result', stats }, () => process.exit(0)),
    (err) => send({ type: 'error', message: String((err && err.stack) || err) }, () => process.exit(0)),
  );
});
