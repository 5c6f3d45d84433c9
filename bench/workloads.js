'use strict';
// What the benchmark measures: the workload list (shared by the parent, which
// plans and reports, and the child, which runs one workload on one client),
// the SQL, and the issue-14 targets.

// ours, mysql2 and mariadb run under node (bench/worker.js); rust is the
// pure-Rust ceiling (bench/ceiling, stock mysql_async); bun is Bun's built-in
// MySQL client (Bun.SQL) and ours-bun this pool, both under the bun binary
// (bench/worker.js again). Where commands queue for connections, two more
// runs of this pool: ours-nopipe with `pipelining: 0` (mysql2's timing; what
// the default pipelining of SELECTs buys) and ours-writes with
// `pipelineWrites: true` (writes ride too). See bench/README.md.
const CLIENTS = ['ours', 'ours-nopipe', 'ours-writes', 'mysql2', 'mariadb', 'rust', 'bun', 'ours-bun', 'floor'];
const CLIENT_LABELS = {
  ours: 'napi-mysql-pool',
  'ours-nopipe': 'napi-mysql-pool (pipelining: 0)',
  'ours-writes': 'napi-mysql-pool (pipelineWrites)',
  mysql2: 'mysql2',
  mariadb: 'mariadb',
  rust: 'mysql_async (pure Rust)',
  bun: 'Bun.SQL (bun)',
  'ours-bun': 'napi-mysql-pool (bun)',
  floor: 'no driver (in-memory floor)',
};
const RUNTIME = {
  ours: 'node',
  'ours-nopipe': 'node',
  'ours-writes': 'node',
  mysql2: 'node',
  mariadb: 'node',
  rust: 'rust',
  bun: 'bun',
  'ours-bun': 'bun',
  floor: 'node',
};

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
const KR = { label: '1k requests', ops: 1000 };

// Which clients run which workload (edit here to widen a run; each client
// added to a workload costs ~2.5 s per round). The Rust ceiling runs what it
// can do; Bun.SQL a few anchors; ours-bun only checks that the addon behaves
// under bun where it matters most. A full run has 30 more runs per round
// than before (~+3.5 min: 12 rust, 6 bun, 4 ours-bun, 8 HTTP).
const NODE3 = ['ours', 'mysql2', 'mariadb'];
const ALL = [...NODE3, 'rust', 'bun', 'ours-bun'];
// Where SELECTs queue for the pool's connections (pipelining's case).
const ALL_PIPE = [...ALL, 'ours-nopipe'];
const WITH_RUST = [...NODE3, 'rust'];
const WITH_RUST_BUN = [...NODE3, 'rust', 'bun'];
// floor: the HTTP app with an in-memory stand-in for the pool (no driver,
// no database; bench/http/floor-pool.js), the least CPU per request any
// driver could reach there.
const HTTP = ['ours', 'mysql2', 'floor'];
// biome-ignore format: a table, one workload a line
const WORKLOADS = [
  { name: 'point-query-1', title: 'Point select by PK, query(), 1 in flight', kind: 'loop', op: 'pointQuery', concurrency: 1, metric: 'ops', unit: K, clients: WITH_RUST_BUN },
  { name: 'point-query-200', title: 'Point select by PK, query(), 200 in flight', kind: 'loop', op: 'pointQuery', concurrency: 200, metric: 'ops', unit: K, clients: ALL_PIPE },
  { name: 'point-execute-1', title: 'Point select by PK, execute(), 1 in flight', kind: 'loop', op: 'pointExecute', concurrency: 1, metric: 'ops', unit: K, clients: WITH_RUST },
  { name: 'point-execute-200', title: 'Point select by PK, execute(), 200 in flight', kind: 'loop', op: 'pointExecute', concurrency: 200, metric: 'ops', unit: K, clients: ALL_PIPE },
  { name: 'burst-10', title: 'Burst of 10 concurrent SELECT 1 (warm pool)', kind: 'burst', size: 10, metric: 'burst', unit: { label: 'burst', ops: 1 }, clients: WITH_RUST },
  { name: 'burst-100', title: 'Burst of 100 concurrent SELECT 1 (warm pool)', kind: 'burst', size: 100, metric: 'burst', unit: { label: 'burst', ops: 1 }, clients: WITH_RUST },
  { name: 'burst-200', title: 'Burst of 200 concurrent SELECT 1 (warm pool)', kind: 'burst', size: 200, metric: 'burst', unit: { label: 'burst', ops: 1 }, clients: WITH_RUST },
  { name: 'select-10k-objects', title: 'SELECT * 10,000 rows x 10 columns, as objects', kind: 'loop', op: 'wideObjects', concurrency: 1, metric: 'time', unit: { label: 'result', ops: 1 }, minOps: 5, clients: ALL },
  { name: 'select-10k-arrays', title: 'SELECT * 10,000 rows x 10 columns, rowsAsArray', kind: 'loop', op: 'wideArrays', concurrency: 1, metric: 'time', unit: { label: 'result', ops: 1 }, minOps: 5, clients: WITH_RUST },
  { name: 'insert-200', title: 'INSERT one row, query(), 200 in flight', kind: 'loop', op: 'insert', concurrency: 200, metric: 'ops', unit: K, clients: [...WITH_RUST_BUN, 'ours-writes'] },
  { name: 'cold-start', title: `Cold start: createPool -> first ${COLD_QUERIES} concurrent queries done`, kind: 'cold', tls: false, metric: 'time', unit: { label: 'cold start', ops: 1 }, minOps: 3, clients: WITH_RUST },
  { name: 'cold-start-tls', title: `Cold start over TLS: createPool -> first ${COLD_QUERIES} concurrent queries done`, kind: 'cold', tls: true, metric: 'time', unit: { label: 'cold start', ops: 1 }, minOps: 3, clients: WITH_RUST_BUN },
  { name: 'point-tls-200', title: 'Point select by PK over TLS, query(), 200 in flight', kind: 'loop', op: 'pointQuery', tls: true, concurrency: 200, metric: 'ops', unit: K, clients: NODE3 },
  { name: 'batch-100', title: 'Bulk INSERT of 100 rows: pool.batch() (mysql2: execute() loop in a transaction)', kind: 'loop', op: 'batch', rows: 100, concurrency: 1, metric: 'ops', unit: { label: 'batch', ops: 1 }, clients: NODE3 },
  { name: 'batch-10k', title: 'Bulk INSERT of 10,000 rows: pool.batch() (mysql2: execute() loop in a transaction)', kind: 'loop', op: 'batch', rows: 10_000, concurrency: 1, metric: 'time', unit: { label: 'batch', ops: 1 }, minOps: 3, clients: NODE3 },
  { name: 'drizzle-200', title: 'Drizzle db.select().from(t).where(eq(t.id, ?)), 200 in flight', kind: 'loop', op: 'drizzle', concurrency: 200, metric: 'ops', unit: K, clients: ['ours', 'ours-nopipe', 'mysql2', 'ours-bun'], na: { mariadb: 'no Drizzle driver', bun: 'no Drizzle driver for Bun.SQL MySQL' } },
  { name: 'http-point-50', title: 'HTTP origin app (express + tRPC + Drizzle, TLS to the db): point select, 50 connections', kind: 'http', proc: 'point', connections: 50, queriesPerRequest: 1, metric: 'ops', rate: 'req/s', unit: KR, clients: HTTP },
  { name: 'http-point-200', title: 'HTTP origin app: point select, 200 connections', kind: 'http', proc: 'point', connections: 200, queriesPerRequest: 1, metric: 'ops', rate: 'req/s', unit: KR, clients: HTTP },
  { name: 'http-three-200', title: 'HTTP origin app: three selects per request, 200 connections', kind: 'http', proc: 'three', connections: 200, queriesPerRequest: 3, metric: 'ops', rate: 'req/s', unit: KR, clients: HTTP },
  { name: 'http-tx-200', title: 'HTTP origin app: INSERT + SELECT in db.transaction(), 200 connections', kind: 'http', proc: 'tx', connections: 200, queriesPerRequest: 4, metric: 'ops', rate: 'req/s', unit: KR, clients: HTTP },
];

const METRIC = {
  ops: { label: 'ops/s', higherIsBetter: true, primary: (s) => s.opsPerSec },
  burst: { label: 'p95 ms/burst', higherIsBetter: false, primary: (s) => s.lat.p95 },
  time: { label: 'p50 ms/op', higherIsBetter: false, primary: (s) => s.lat.p50 },
};

// Issue 14 targets: ratios of ours to mysql2, or to `vs` (the Rust ceiling,
// mariadb). field: 'primary' (the workload's metric) | 'cpuPerUnit' |
// 'mainPerUnit' | 'p50'. `workload` may list several: the worst of them counts.
// special: 'rss' (every workload), 'soak' (--soak), 'info' (reported, no goal).
const HTTP_WORKLOADS = ['http-point-50', 'http-point-200', 'http-three-200', 'http-tx-200'];
// biome-ignore format: a table, one target a line
const TARGETS = [
  { id: 'point-query-200-vs-rust', short: 'ops/s ≥ 0.90× rust', label: 'Point select @200 in flight, ops/s (query), vs the pure-Rust ceiling', workload: 'point-query-200', field: 'primary', cmp: '>=', ratio: 0.9, vs: 'rust' },
  { id: 'point-execute-200-vs-rust', short: 'ops/s ≥ 0.90× rust', label: 'Point select @200 in flight, ops/s (execute), vs the pure-Rust ceiling', workload: 'point-execute-200', field: 'primary', cmp: '>=', ratio: 0.9, vs: 'rust' },
  { id: 'cpu-per-query', short: 'CPU ≤ 0.70×', label: 'Client CPU per query (point select @200, query)', workload: 'point-query-200', field: 'cpuPerUnit', cmp: '<=', ratio: 0.7 },
  { id: 'point-query-1-ops', short: 'ops/s ≥ 1.0×', label: 'One in flight, ops/s (query)', workload: 'point-query-1', field: 'primary', cmp: '>=', ratio: 1 },
  { id: 'point-query-1-p50', short: 'p50 ≤ 1.0×', label: 'One in flight, p50 latency (query)', workload: 'point-query-1', field: 'p50', cmp: '<=', ratio: 1 },
  { id: 'point-execute-1-ops', short: 'ops/s ≥ 1.0×', label: 'One in flight, ops/s (execute)', workload: 'point-execute-1', field: 'primary', cmp: '>=', ratio: 1 },
  { id: 'point-execute-1-p50', short: 'p50 ≤ 1.0×', label: 'One in flight, p50 latency (execute)', workload: 'point-execute-1', field: 'p50', cmp: '<=', ratio: 1 },
  { id: 'rows-10k-vs-mariadb', short: 'time ≤ 0.85× mariadb', label: '10k-row SELECT as objects, time, vs mariadb', workload: 'select-10k-objects', field: 'primary', cmp: '<=', ratio: 0.85, vs: 'mariadb' },
  { id: 'rows-10k-main-per-row', short: 'main µs/row reported', label: '10k-row SELECT as objects, main-thread time per row (ours)', workload: 'select-10k-objects', field: 'mainPerUnit', special: 'info', perUnit: 10_000 },
  { id: 'drizzle-200', short: 'ops/s ≥ 2.0×', label: 'Drizzle select @200 in flight, ops/s', workload: 'drizzle-200', field: 'primary', cmp: '>=', ratio: 2 },
  { id: 'http-req', short: 'req/s ≥ 2.0×', label: 'HTTP origin app (express + tRPC + Drizzle), req/s (worst workload)', workload: HTTP_WORKLOADS, field: 'primary', cmp: '>=', ratio: 2 },
  { id: 'http-cpu', short: 'server CPU/req ≤ 0.5×', label: 'HTTP origin app, server CPU per request (worst workload)', workload: HTTP_WORKLOADS, field: 'cpuPerUnit', cmp: '<=', ratio: 0.5 },
  { id: 'peak-rss', short: 'RSS ≤ mysql2', label: 'Peak RSS <= mysql2 (every workload)', special: 'rss' },
  { id: 'rss-flat', short: 'RSS flat', label: 'RSS flat over 1M queries (--soak; from issue 6)', special: 'soak' },
];

function clientsFor(w) {
  return w.clients || CLIENTS;
}

/** The seeded id generator every client shares (bench/ceiling ports it): same ids for all. */
function xorshift(seed) {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

module.exports = { xorshift, CLIENTS, CLIENT_LABELS, RUNTIME, POOL_SIZE, POINT_ROWS, WIDE_ROWS, COLD_QUERIES, SQL, WORKLOADS, METRIC, TARGETS, clientsFor };
