'use strict';
// What the benchmark measures: the workload list (shared by the parent, which
// plans and reports, and the child, which runs one workload on one client),
// the SQL, and the issue-6 targets.

const CLIENTS = ['ours', 'mysql2', 'mariadb'];
const CLIENT_LABELS = { ours: 'napi-mysql-pool', mysql2: 'mysql2', mariadb: 'mariadb' };

const POOL_SIZE = 20;
const POINT_ROWS = 10_000;
const WIDE_ROWS = 10_000;
const COLD_QUERIES = 200;

const SQL = {
  point: 'SELECT id, name, score, qty, created FROM bench_points WHERE id = ?',
  one: 'SELECT 1',
  wide: 'SELECT * FROM bench_wide',
  insert: 'INSERT INTO bench_insert (k, name, score, created) VALUES (?, ?, ?, ?)',
};

// metric:
//   'ops'   primary = operations per second (higher is better); unit = 1000 queries
//   'burst' primary = p95 time for the whole burst (lower is better); unit = 1 burst
//   'time'  primary = median time per operation (lower is better); unit = 1 operation
const K = { label: '1k queries', ops: 1000 };
// biome-ignore format: a table, one workload a line
const WORKLOADS = [
  { name: 'point-query-1', title: 'Point select by PK, query(), 1 in flight', kind: 'loop', op: 'pointQuery', concurrency: 1, metric: 'ops', unit: K },
  { name: 'point-query-200', title: 'Point select by PK, query(), 200 in flight', kind: 'loop', op: 'pointQuery', concurrency: 200, metric: 'ops', unit: K },
  { name: 'point-execute-1', title: 'Point select by PK, execute(), 1 in flight', kind: 'loop', op: 'pointExecute', concurrency: 1, metric: 'ops', unit: K },
  { name: 'point-execute-200', title: 'Point select by PK, execute(), 200 in flight', kind: 'loop', op: 'pointExecute', concurrency: 200, metric: 'ops', unit: K },
  { name: 'burst-10', title: 'Burst of 10 concurrent SELECT 1 (warm pool)', kind: 'burst', size: 10, metric: 'burst', unit: { label: 'burst', ops: 1 } },
  { name: 'burst-100', title: 'Burst of 100 concurrent SELECT 1 (warm pool)', kind: 'burst', size: 100, metric: 'burst', unit: { label: 'burst', ops: 1 } },
  { name: 'burst-200', title: 'Burst of 200 concurrent SELECT 1 (warm pool)', kind: 'burst', size: 200, metric: 'burst', unit: { label: 'burst', ops: 1 } },
  { name: 'select-10k-objects', title: 'SELECT * 10,000 rows x 10 columns, as objects', kind: 'loop', op: 'wideObjects', concurrency: 1, metric: 'time', unit: { label: 'result', ops: 1 }, minOps: 5 },
  { name: 'select-10k-arrays', title: 'SELECT * 10,000 rows x 10 columns, rowsAsArray', kind: 'loop', op: 'wideArrays', concurrency: 1, metric: 'time', unit: { label: 'result', ops: 1 }, minOps: 5 },
  { name: 'insert-200', title: 'INSERT one row, query(), 200 in flight', kind: 'loop', op: 'insert', concurrency: 200, metric: 'ops', unit: K },
  { name: 'cold-start', title: `Cold start: createPool -> first ${COLD_QUERIES} concurrent queries done`, kind: 'cold', tls: false, metric: 'time', unit: { label: 'cold start', ops: 1 }, minOps: 3 },
  { name: 'cold-start-tls', title: `Cold start over TLS: createPool -> first ${COLD_QUERIES} concurrent queries done`, kind: 'cold', tls: true, metric: 'time', unit: { label: 'cold start', ops: 1 }, minOps: 3 },
  { name: 'point-tls-200', title: 'Point select by PK over TLS, query(), 200 in flight', kind: 'loop', op: 'pointQuery', tls: true, concurrency: 200, metric: 'ops', unit: K },
  { name: 'batch-100', title: 'Bulk INSERT of 100 rows: pool.batch() (mysql2: execute() loop in a transaction)', kind: 'loop', op: 'batch', rows: 100, concurrency: 1, metric: 'ops', unit: { label: 'batch', ops: 1 } },
  { name: 'batch-10k', title: 'Bulk INSERT of 10,000 rows: pool.batch() (mysql2: execute() loop in a transaction)', kind: 'loop', op: 'batch', rows: 10_000, concurrency: 1, metric: 'time', unit: { label: 'batch', ops: 1 }, minOps: 3 },
  { name: 'drizzle-200', title: 'Drizzle db.select().from(t).where(eq(t.id, ?)), 200 in flight', kind: 'loop', op: 'drizzle', concurrency: 200, metric: 'ops', unit: K, clients: ['ours', 'mysql2'] },
];

const METRIC = {
  ops: { label: 'ops/s', higherIsBetter: true, primary: (s) => s.opsPerSec },
  burst: { label: 'p95 ms/burst', higherIsBetter: false, primary: (s) => s.lat.p95 },
  time: { label: 'p50 ms/op', higherIsBetter: false, primary: (s) => s.lat.p50 },
};

// Issue 6 targets, as ratios of ours to mysql2 (or to `vs`).
// field: 'primary' (the workload's metric) | 'cpuPerUnit' | 'mainPerUnit'.
const TARGETS = [
  {
    id: 'point-query-200',
    short: 'ops/s ≥ 1.3×',
    label: 'Point select @200 in flight, ops/s (query)',
    workload: 'point-query-200',
    field: 'primary',
    cmp: '>=',
    ratio: 1.3,
  },
  {
    id: 'point-execute-200',
    short: 'ops/s ≥ 1.3×',
    label: 'Point select @200 in flight, ops/s (execute)',
    workload: 'point-execute-200',
    field: 'primary',
    cmp: '>=',
    ratio: 1.3,
  },
  {
    id: 'cpu-per-query',
    short: 'CPU ≤ 0.7×',
    label: 'Client CPU per query (point select @200, query)',
    workload: 'point-query-200',
    field: 'cpuPerUnit',
    cmp: '<=',
    ratio: 0.7,
  },
  {
    id: 'main-per-query',
    short: 'main thread ≤ 0.35×',
    label: 'Main-thread time per query (point select @200, query)',
    workload: 'point-query-200',
    field: 'mainPerUnit',
    cmp: '<=',
    ratio: 0.35,
  },
  { id: 'burst-200-p95', short: 'p95 ≤ 0.35×', label: 'Burst of 200, p95 completion time', workload: 'burst-200', field: 'primary', cmp: '<=', ratio: 0.35 },
  {
    id: 'rows-10k-objects',
    short: 'time ≤ 0.5×',
    label: '10k-row SELECT as objects, time',
    workload: 'select-10k-objects',
    field: 'primary',
    cmp: '<=',
    ratio: 0.5,
  },
  {
    id: 'rows-10k-vs-mariadb',
    short: 'faster than mariadb',
    label: '10k-row SELECT as objects, faster than mariadb',
    workload: 'select-10k-objects',
    field: 'primary',
    cmp: '<',
    ratio: 1,
    vs: 'mariadb',
  },
  { id: 'cold-start-tls', short: 'time ≤ 0.4×', label: 'Cold start over TLS, time', workload: 'cold-start-tls', field: 'primary', cmp: '<=', ratio: 0.4 },
  { id: 'drizzle-200', short: 'ops/s ≥ 1.3×', label: 'Drizzle select @200 in flight, ops/s', workload: 'drizzle-200', field: 'primary', cmp: '>=', ratio: 1.3 },
  { id: 'peak-rss', short: 'RSS ≤ mysql2', label: 'Peak RSS <= mysql2 (every workload)', special: 'rss' },
  { id: 'rss-flat', short: 'RSS flat', label: 'RSS flat over 1M queries (--soak)', special: 'soak' },
];

function clientsFor(w) {
  return w.clients || CLIENTS;
}

module.exports = { CLIENTS, CLIENT_LABELS, POOL_SIZE, POINT_ROWS, WIDE_ROWS, COLD_QUERIES, SQL, WORKLOADS, METRIC, TARGETS, clientsFor };
