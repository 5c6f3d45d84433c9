#!/usr/bin/env node
// npm run bench [-- --quick] [--only=name,...] [--clients=a,b] [--rounds=N] [--soak[=N]] [--delay=MS]
//
// Compares napi-mysql-pool, mysql2 and the mariadb connector (under node),
// the pure-Rust ceiling (bench/ceiling: stock mysql_async), Bun's MySQL
// client and this pool under bun, on one server, interleaved round-robin,
// each (client, workload, round) in its own child process (bench/worker.js,
// the ceiling's binary, or an HTTP server driven by autocannon for the http-*
// workloads: bench/http). Writes bench/results/latest.{md,json} and
// bench/results/chart.svg, and prints a summary. See bench/README.md.
'use strict';
const { fork, spawn, spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const mysql = require('mysql2/promise');
const { CLIENTS, RUNTIME, WORKLOADS, SQL, POOL_SIZE, POINT_ROWS, WIDE_ROWS, COLD_QUERIES, clientsFor } = require('./workloads');
const report = require('./report');
const { runHttp, startDelayProxy } = require('./http/drive');

const ROOT = path.join(__dirname, '..');
const RESULTS = path.join(__dirname, 'results');

// ---- options ---------------------------------------------------------------------

function parseArgs(argv) {
  const a = {
    quick: false,
    rounds: null,
    only: null,
    clients: null,
    soak: 0,
    warmupMs: null,
    durationMs: null,
    out: RESULTS,
    prof: false,
    delayMs: 0,
    serverCpus: null,
  };
  for (const arg of argv) {
    const [k, v] = arg.replace(/^--/, '').split(/=(.*)/s);
    switch (k) {
      case 'quick':
        a.quick = true;
        break;
      case 'rounds':
        a.rounds = Math.max(1, Number.parseInt(v, 10));
        break;
      case 'only':
        a.only = v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        break;
      case 'clients':
        a.clients = v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        break;
      case 'soak':
        a.soak = v ? Number(v) : 1_000_000;
        break;
      case 'warmup':
        a.warmupMs = Number(v);
        break;
      case 'duration':
        a.durationMs = Number(v);
        break;
      case 'out':
        a.out = path.resolve(v);
        break;
      case 'prof':
        a.prof = true;
        break;
      case 'delay':
        a.delayMs = Number(v);
        if (!(a.delayMs >= 0)) throw new Error(`--delay=${v}: milliseconds, e.g. --delay=1.5`);
        break;
      case 'server-cpus':
        if (!/^\d+([-,]\d+)*$/.test(v || '')) throw new Error(`--server-cpus=${v}: a CPU list as taskset takes it, e.g. --server-cpus=1`);
        a.serverCpus = v;
        break;
      case 'render':
        a.render = true;
        break;
      case 'help':
      case 'h':
        console.log(fs.readFileSync(path.join(__dirname, 'README.md'), 'utf8').split('\n## ')[1]);
        process.exit(0);
        break;
      default:
        console.error(`unknown option ${arg} (see bench/README.md)`);
        process.exit(2);
    }
  }
  a.rounds ??= a.quick ? 1 : 3;
  a.warmupMs ??= a.quick ? 300 : 500;
  a.durationMs ??= a.quick ? 1000 : 1800;
  for (const c of a.clients || []) if (!CLIENTS.includes(c)) throw new Error(`unknown client ${c}; one of ${CLIENTS.join(', ')}`);
  return a;
}

function selectWorkloads(only) {
  if (!only) return WORKLOADS;
  const picked = WORKLOADS.filter((w) => only.some((o) => w.name === o || w.name.startsWith(o)));
  if (picked.length === 0) throw new Error(`--only=${only.join(',')} matches no workload; names: ${WORKLOADS.map((w) => w.name).join(', ')}`);
  return picked;
}

// ---- server ----------------------------------------------------------------------

async function startServer() {
  if (process.env.MYSQL_URL) {
    const u = new URL(process.env.MYSQL_URL);
    const ca = process.env.MYSQL_CA ? fs.readFileSync(process.env.MYSQL_CA, 'utf8') : null;
    return {
      conn: {
        host: u.hostname,
        port: Number(u.port || 3306),
        user: decodeURIComponent(u.username),
        password: decodeURIComponent(u.password),
        database: decodeURIComponent(u.pathname.slice(1)),
        ca,
      },
      admin: null,
      pid: null,
      throwaway: false,
      stop: async () => {},
    };
  }
  const { startMariaDB } = await import(pathToFileURL(path.join(ROOT, '__test__', 'harness', 'mariadb.mjs')).href);
  const server = await startMariaDB();
  return {
    conn: { host: server.host, port: server.port, user: server.user, password: server.password, database: server.database, ca: server.pem.ca },
    admin: { user: server.rootUser, password: '' },
    pid: server.pid,
    throwaway: true,
    stop: () => server.stop(),
  };
}

// --server-cpus: the throwaway server's threads (and the connection threads
// it starts later, which inherit the mask) run only on those CPUs; clients
// stay free. On a small machine this keeps the server off the cores the
// client's threads settle on, closer to a database on another host.
function confineServer(server, cpus) {
  if (!server.pid) throw new Error('--server-cpus needs the throwaway server (not MYSQL_URL)');
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(server.pid)], { stdio: 'ignore' });
  return `Server confined to CPU ${cpus} (taskset); clients free on all CPUs.`;
}

async function setupTables(db) {
  await db.query('DROP TABLE IF EXISTS bench_points, bench_wide, bench_insert');
  await db.query(`CREATE TABLE bench_points (
    id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, score DOUBLE NOT NULL, qty INT NOT NULL, created DATETIME NOT NULL
  ) ENGINE=InnoDB`);
  await db.query(`CREATE TABLE bench_wide (
    id INT PRIMARY KEY, big BIGINT NOT NULL, name VARCHAR(50) NOT NULL, body TEXT NULL,
    price DECIMAL(10,2) NOT NULL, ratio DOUBLE NOT NULL, at DATETIME(3) NOT NULL, day DATE NOT NULL,
    flag TINYINT NOT NULL, tag VARBINARY(16) NULL
  ) ENGINE=InnoDB`);
  await db.query(`CREATE TABLE bench_insert (
    id INT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, name VARCHAR(40) NOT NULL, score DOUBLE NOT NULL, created DATETIME NOT NULL
  ) ENGINE=InnoDB`);
  const pad = (n, w) => String(n).padStart(w, '0');
  for (let start = 1; start <= POINT_ROWS; start += 1000) {
    const rows = [];
    for (let id = start; id < start + 1000 && id <= POINT_ROWS; id++) {
      rows.push([id, `point-${id}`, id / 3, id % 97, `2024-${pad((id % 12) + 1, 2)}-${pad((id % 28) + 1, 2)} 10:${pad(id % 60, 2)}:00`]);
    }
    await db.query('INSERT INTO bench_points VALUES ?', [rows]);
  }
  for (let start = 1; start <= WIDE_ROWS; start += 1000) {
    const rows = [];
    for (let id = start; id < start + 1000 && id <= WIDE_ROWS; id++) {
      rows.push([
        id,
        id * 1_000_003 + 2 ** 40,
        `wide row ${id} ${'é'.repeat(id % 5)}`,
        id % 10 === 0 ? null : `body ${id} `.repeat(8 + (id % 8)),
        ((id * 37) % 100000) / 100,
        id / 7,
        `2024-${pad((id % 12) + 1, 2)}-${pad((id % 28) + 1, 2)} ${pad(id % 24, 2)}:${pad(id % 60, 2)}:${pad((id * 7) % 60, 2)}.${pad(id % 1000, 3)}`,
        `2023-${pad((id % 12) + 1, 2)}-${pad((id % 28) + 1, 2)}`,
        id % 2,
        id % 10 === 5 ? null : Buffer.from(pad(id.toString(16), 16), 'hex'),
      ]);
    }
    await db.query('INSERT INTO bench_wide VALUES ?', [rows]);
  }
  await db.query('ANALYZE TABLE bench_points, bench_wide');
}

// Server-side counters around each measured window: statements and bytes per
// query show extra round trips (pings, resets, prepares), CPU shows cost.
function serverCpuMs(pid) {
  if (!pid) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime+stime, CLK_TCK=100
  } catch {
    return null;
  }
}

async function snapshot(db, pid) {
  const [rows] = await db.query(
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions','Connections','Bytes_received','Bytes_sent') OR Variable_name LIKE 'Com\\_%'",
  );
  const status = {};
  for (const r of rows) {
    const v = Number(r.Value);
    if (Number.isFinite(v)) status[r.Variable_name] = v;
  }
  return { status, cpuMs: serverCpuMs(pid) };
}

function serverDelta(a, b) {
  if (!a || !b) return null;
  const d = {};
  for (const k of Object.keys(b.status)) {
    const v = b.status[k] - (a.status[k] || 0);
    if (v !== 0) d[k] = v;
  }
  // The snapshot itself is one SHOW STATUS statement.
  if (d.Questions) d.Questions -= 1;
  if (d.Com_show_status) d.Com_show_status -= 1;
  return { status: d, cpuMs: a.cpuMs !== null && b.cpuMs !== null ? b.cpuMs - a.cpuMs : null };
}

// ---- children ----------------------------------------------------------------------

const MAX_CHILD_RSS_MB = Number(process.env.BENCH_MAX_RSS_MB || 2048);

function rssMB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

// Node clients: bench/worker.js under node, over IPC. Bun clients: the same
// worker under the bun binary, and the Rust ceiling: its binary; both speak
// one JSON document a line on stdin/stdout ('@@bench ' before the child's).
function spawnChild(msg, tools, profDir) {
  const runtime = RUNTIME[msg.client];
  if (runtime === 'node') {
    const execArgv = ['--expose-gc'];
    if (profDir) {
      const name = `${msg.workload}-${msg.client}-${msg.opts.seed.toString(16)}.cpuprofile`;
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${name}`);
    }
    const child = fork(path.join(__dirname, 'worker.js'), [], { execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    return { child, ipc: true, send: (m) => child.send(m) };
  }
  const [cmd, args] = runtime === 'bun' ? [tools.bun.bin, [path.join(__dirname, 'worker.js')]] : [tools.rust.bin, []];
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, BENCH_STDIO: '1' } });
  child.stdin.on('error', () => {}); // a child that died is reported by 'close'
  return { child, ipc: false, send: (m) => child.stdin.write(`${JSON.stringify(m)}\n`) };
}

function runChild(msg, db, pid, timeoutMs, profDir, tools) {
  return new Promise((resolve) => {
    const { child, ipc, send } = spawnChild(msg, tools, profDir);
    let output = '';
    const keep = (d) => {
      output = (output + d).slice(-4000);
    };
    let lineBuf = '';
    child.stdout.on(
      'data',
      ipc
        ? keep
        : (d) => {
            lineBuf += d;
            for (let i = lineBuf.indexOf('\n'); i >= 0; i = lineBuf.indexOf('\n')) {
              const line = lineBuf.slice(0, i);
              lineBuf = lineBuf.slice(i + 1);
              if (!line.startsWith('@@bench ')) keep(`${line}\n`);
              else {
                let m;
                try {
                  m = JSON.parse(line.slice(8));
                } catch (e) {
                  keep(`(bad protocol line: ${e.message})\n`);
                  continue;
                }
                onMessage(m);
              }
            }
          },
    );
    child.stderr.on('data', keep);
    let settled = false;
    let before = null;
    let server = null;
    const finish = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(guard);
      resolve({ ...r, server });
    };
    const kill = (why) => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {}
      finish({ error: `${why}\n${output}` });
    };
    const timer = setTimeout(() => kill(`timed out after ${timeoutMs} ms`), timeoutMs);
    // A runaway child must not take the machine (and other people's work) down with it.
    let peakMB = 0;
    const guard = setInterval(() => {
      const mb = rssMB(child.pid);
      peakMB = Math.max(peakMB, mb);
      if (mb > MAX_CHILD_RSS_MB) kill(`killed by the bench: RSS ${mb} MB > ${MAX_CHILD_RSS_MB} MB (runaway memory)`);
    }, 100);
    async function onMessage(m) {
      if (m.type === 'mark') {
        try {
          const snap = await snapshot(db, pid);
          if (m.phase === 'start') before = snap;
          else server = serverDelta(before, snap);
        } catch (e) {
          output += `\n(snapshot failed: ${e.message})`;
        }
        send({ type: 'ack' });
      } else if (m.type === 'result') {
        finish({ stats: m.stats });
      } else if (m.type === 'error') {
        finish({ error: `${m.message}\n${output}`.trim() });
      }
    }
    if (ipc) child.on('message', onMessage);
    child.on('error', (e) => finish({ error: `could not start the child: ${e.message}` }));
    // 'close' (stdio drained), not 'exit': the last protocol line may still be in the pipe.
    child.on('close', (code, signal) =>
      finish({
        error: `child exited (${code ?? signal}) without a result; its RSS was last seen at ${peakMB} MB${signal === 'SIGKILL' ? ' (SIGKILL from outside the bench: OOM killer?)' : ''}\n${output}`,
      }),
    );
    const w = WORKLOADS.find((x) => x.name === msg.workload);
    // The ceiling has no copy of workloads.js: it gets the workload, the SQL and the constants.
    send(RUNTIME[msg.client] === 'rust' ? { ...msg, spec: w, sql: SQL, consts: { POOL_SIZE, POINT_ROWS, COLD_QUERIES } } : msg);
  });
}

// ---- tools: the Rust ceiling's binary and the bun binary, built / installed on demand ----

const CEILING_TARGET = path.join(ROOT, 'target', 'bench-ceiling');

function lastLines(text, n = 12) {
  return String(text || '')
    .trimEnd()
    .split('\n')
    .slice(-n)
    .join('\n');
}

/** cargo build of bench/ceiling (a no-op when up to date); { bin } or { error }. */
function buildCeiling() {
  const args = ['build', '--release', '--manifest-path', path.join(__dirname, 'ceiling', 'Cargo.toml')];
  const env = { ...process.env, CARGO_TARGET_DIR: CEILING_TARGET };
  // nice: a first build takes minutes on a small machine; let other work go first.
  let r = spawnSync('nice', ['-n', '10', 'cargo', ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 30 * 60_000 });
  if (r.error?.code === 'ENOENT' && /nice/.test(r.error.path || '')) r = spawnSync('cargo', args, { cwd: ROOT, env, encoding: 'utf8', timeout: 30 * 60_000 });
  if (r.error) return { error: `cargo could not run (${r.error.code || r.error.message})` };
  if (r.status !== 0) {
    const why = r.status === 127 ? 'cargo not found' : lastLines(r.stderr, 1);
    return { error: `cargo build of bench/ceiling failed (exit ${r.status}): ${why}\n${lastLines(r.stderr)}` };
  }
  const bin = path.join(CEILING_TARGET, 'release', process.platform === 'win32' ? 'bench-ceiling.exe' : 'bench-ceiling');
  if (!fs.existsSync(bin)) return { error: `cargo build succeeded but ${path.relative(ROOT, bin)} is missing` };
  return { bin, version: 'mysql_async 0.37 (crates.io), tokio 2 workers' };
}

const BUN_TOOLS = path.join(ROOT, 'target', 'bench-tools');

function bunCandidates() {
  const nm = path.join(BUN_TOOLS, 'node_modules');
  const c = [];
  if (process.env.BUN_BIN) c.push(process.env.BUN_BIN);
  c.push('bun');
  // The npm package 'bun' puts the binary in bin/bun.exe (its postinstall), or
  // it is still in the platform package @oven/bun-<os>-<arch>[-variant].
  c.push(path.join(nm, 'bun', 'bin', 'bun.exe'));
  try {
    for (const d of fs.readdirSync(path.join(nm, '@oven'))) c.push(path.join(nm, '@oven', d, 'bin', 'bun'));
  } catch {}
  return c;
}

function probeBun() {
  for (const bin of bunCandidates()) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000 });
    if (!r.error && r.status === 0 && /^\d+\.\d+/.test(r.stdout.trim())) return { bin, version: r.stdout.trim() };
  }
  return null;
}

/** The bun binary: BUN_BIN, on PATH, or installed into target/bench-tools (npm, not a devDependency). */
function findBun() {
  const found = probeBun();
  if (found) return found;
  process.stderr.write('Installing bun into target/bench-tools (npm install --no-save bun)… ');
  fs.mkdirSync(BUN_TOOLS, { recursive: true });
  const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--prefix', BUN_TOOLS, 'bun'], {
    encoding: 'utf8',
    timeout: 5 * 60_000,
  });
  const after = probeBun();
  process.stderr.write(after ? `bun ${after.version}\n` : 'failed\n');
  if (after) return after;
  return {
    error: `bun is not installed and 'npm install bun' did not give a working binary (${r.error ? r.error.message : `npm exit ${r.status}`}): ${lastLines(r.stderr, 4)}`,
  };
}

function prepareTools(clients) {
  const tools = {};
  if (clients.some((c) => RUNTIME[c] === 'rust')) {
    process.stderr.write('Building the Rust ceiling (bench/ceiling, cargo build --release)… ');
    tools.rust = buildCeiling();
    process.stderr.write(tools.rust.error ? `failed: the rust client is skipped\n${tools.rust.error}\n` : 'ok\n');
  }
  if (clients.some((c) => RUNTIME[c] === 'bun')) {
    tools.bun = findBun();
    if (tools.bun.error) process.stderr.write(`${tools.bun.error}\nThe bun clients are skipped.\n`);
  }
  return tools;
}

function toolError(tools, client) {
  const rt = RUNTIME[client];
  if (rt === 'rust') return tools.rust?.error ? `skipped: the Rust ceiling could not be built: ${tools.rust.error}` : null;
  if (rt === 'bun') return tools.bun?.error ? `skipped: ${tools.bun.error}` : null;
  return null;
}

// ---- machine --------------------------------------------------------------------

function pkgVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

function gitRev() {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'lib', 'Cargo.toml'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${rev} + uncommitted changes in src/ or lib/` : rev;
  } catch {
    return '?';
  }
}

function machine() {
  let cpu = os.cpus()[0]?.model || '?';
  try {
    const m = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {}
  return {
    cpu,
    cores: os.cpus().length,
    memGB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    versions: {
      'napi-mysql-pool': `${require(path.join(ROOT, 'package.json')).version} (${gitRev()})`,
      mysql2: pkgVersion('mysql2'),
      mariadb: pkgVersion('mariadb'),
      'drizzle-orm': pkgVersion('drizzle-orm'),
      express: pkgVersion('express'),
      '@trpc/server': pkgVersion('@trpc/server'),
      autocannon: pkgVersion('autocannon'),
    },
  };
}

// ---- main ------------------------------------------------------------------------

const fmtS = (ms) => `${(ms / 1000).toFixed(0)} s`;

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.render) {
    // Re-render the outputs from the raw runs in latest.json (after editing report.js).
    const { meta, runs, soak } = JSON.parse(fs.readFileSync(path.join(args.out, 'latest.json'), 'utf8'));
    writeOutputs(args.out, { meta, runs, soak });
    return;
  }
  const workloads = selectWorkloads(args.only);
  const clients = args.clients || CLIENTS;
  const t0 = Date.now();
  const loadavgStart = os.loadavg();

  process.stderr.write(process.env.MYSQL_URL ? 'Using MYSQL_URL… ' : 'Starting a throwaway MariaDB… ');
  const server = await startServer();
  process.stderr.write(`up on ${server.conn.host}:${server.conn.port}\n`);
  let db = null;
  let delayProxy = null;
  const versionsExtra = {};
  const results = { meta: null, runs: [], soak: [] };
  try {
    db = await mysql.createConnection({
      host: server.conn.host,
      port: server.conn.port,
      user: server.admin ? server.admin.user : server.conn.user,
      password: server.admin ? server.admin.password : server.conn.password,
      database: server.conn.database,
    });
    const notes = [];
    if (server.throwaway) {
      // Commits need no fsync: the insert workload then measures the clients,
      // not the disk. Same setting for every client.
      await db.query('SET GLOBAL innodb_flush_log_at_trx_commit = 2');
      notes.push('innodb_flush_log_at_trx_commit = 2 on the throwaway server (inserts measure clients, not fsync).');
    }
    if (args.serverCpus) notes.push(confineServer(server, args.serverCpus));
    const [[{ v: serverVersion }]] = await db.query('SELECT VERSION() AS v');
    process.stderr.write('Creating bench tables… ');
    await setupTables(db);
    process.stderr.write('done\n');

    const tlsAvailable = Boolean(server.conn.ca);
    const plan = [];
    for (let round = 0; round < args.rounds; round++) {
      workloads.forEach((w, wi) => {
        const cs = clientsFor(w).filter((c) => clients.includes(c));
        const shift = (round + wi) % cs.length;
        for (const client of [...cs.slice(shift), ...cs.slice(0, shift)]) plan.push({ round, w, client });
      });
    }
    if (!tlsAvailable) notes.push('No CA for MYSQL_URL (set MYSQL_CA=path): TLS workloads skipped.');

    const tools = prepareTools([...new Set(plan.map((p) => p.client))]);
    if (tools.rust?.error) notes.push(`rust (the pure-Rust ceiling) skipped: ${tools.rust.error.split('\n')[0]}`);
    if (tools.rust?.bin) versionsExtra.rust = tools.rust.version;
    if (tools.bun?.error) notes.push(`bun and ours-bun skipped: ${tools.bun.error.split('\n')[0]}`);
    if (tools.bun?.bin) versionsExtra.bun = tools.bun.version;

    const opts = { conn: server.conn, warmupMs: args.warmupMs, durationMs: args.durationMs };
    // The HTTP workloads' app servers reach the database through the delay proxy (--delay).
    let httpConn = server.conn;
    if (args.delayMs > 0 && plan.some((p) => p.w.kind === 'http')) {
      delayProxy = await startDelayProxy(server.conn, args.delayMs);
      httpConn = { ...server.conn, host: '127.0.0.1', port: delayProxy.port };
      notes.push(
        `--delay=${args.delayMs}: the HTTP workloads reach the database through bench/http/delay-proxy.js, +${args.delayMs} ms each way per packet burst.`,
      );
    }
    const profDir = args.prof ? path.join(args.out, 'prof') : null;
    if (profDir)
      notes.push(`--prof: V8 CPU profiles of every child in ${path.relative(ROOT, profDir)} (profiling slows every client; do not compare these numbers).`);
    let i = 0;
    for (const { round, w, client } of plan) {
      i++;
      const tag = `[${String(i).padStart(3)}/${plan.length}] r${round + 1} ${w.name.padEnd(19)} ${client.padEnd(8)}`;
      if ((w.tls || w.kind === 'http') && !tlsAvailable) {
        results.runs.push({ round, workload: w.name, client, error: 'skipped: no TLS CA' });
        continue;
      }
      const skip = toolError(tools, client);
      if (skip) {
        results.runs.push({ round, workload: w.name, client, error: skip });
        process.stderr.write(`${tag} ${skip.split('\n')[0]}\n`);
        continue;
      }
      const seed = 0x5eed + round * 7919 + WORKLOADS.indexOf(w) * 104729;
      let r;
      if (w.kind === 'http') {
        let before = null;
        let serverStats = null;
        const mark = async (phase) => {
          const snap = await snapshot(db, server.pid);
          if (phase === 'start') before = snap;
          else serverStats = serverDelta(before, snap);
        };
        r = await runHttp(w, client, { ...opts, conn: { ...httpConn, ca: server.conn.ca }, seed }, mark);
        r.server = serverStats;
      } else {
        r = await runChild(
          { type: 'run', client, workload: w.name, opts: { ...opts, seed } },
          db,
          server.pid,
          args.warmupMs + args.durationMs * 4 + 60_000,
          profDir,
          tools,
        );
      }
      // A workload that fails under bun is reported, not counted as a failure of the bench.
      if (r.error && RUNTIME[client] === 'bun') r.error = `skipped: failed under bun: ${r.error}`;
      results.runs.push({ round, workload: w.name, client, ...r });
      process.stderr.write(
        `${tag} ${r.error ? `${r.error.startsWith('skipped') ? '' : 'ERROR '}${r.error.split('\n')[0]}` : report.progressLine(w, r.stats)}\n`,
      );
    }

    if (args.soak > 0) {
      const every = Math.max(1000, Math.round(args.soak / 20));
      for (const client of ['ours', 'mysql2'].filter((c) => clients.includes(c))) {
        process.stderr.write(`soak: ${args.soak.toLocaleString('en-US')} point selects on ${client}… `);
        const r = await runChild(
          { type: 'run', client, workload: 'soak', opts: { ...opts, seed: 0x50a4, soakOps: args.soak, soakEvery: every } },
          db,
          server.pid,
          30 * 60_000,
        );
        results.soak.push({ client, ...r });
        process.stderr.write(r.error ? `ERROR ${r.error.split('\n')[0]}\n` : `${Math.round(r.stats.opsPerSec).toLocaleString('en-US')} ops/s\n`);
      }
    }

    results.meta = {
      date: new Date().toISOString(),
      mode: args.quick ? 'quick' : 'full',
      rounds: args.rounds,
      warmupMs: args.warmupMs,
      durationMs: args.durationMs,
      only: args.only,
      clients,
      poolSize: 20,
      server: {
        version: serverVersion,
        where: server.throwaway ? 'throwaway MariaDB from __test__/harness (same machine)' : `MYSQL_URL ${server.conn.host}:${server.conn.port}`,
      },
      delayMs: args.delayMs,
      machine: (() => {
        const m = machine();
        return { ...m, versions: { ...m.versions, ...versionsExtra }, loadavgStart, loadavgEnd: os.loadavg() };
      })(),
      elapsedMs: Date.now() - t0,
      notes,
    };
  } finally {
    if (delayProxy) await delayProxy.stop();
    if (db) await db.end().catch(() => {});
    await server.stop();
  }

  writeOutputs(args.out, results);
  if (results.runs.some((r) => r.error && !r.error.startsWith('skipped'))) process.exitCode = 1;
}

function writeOutputs(out, results) {
  fs.mkdirSync(out, { recursive: true });
  const summary = report.summarize(results);
  fs.writeFileSync(path.join(out, 'latest.json'), JSON.stringify({ ...results, summary }, null, 2) + '\n');
  fs.writeFileSync(path.join(out, 'latest.md'), report.markdown(results, summary));
  fs.writeFileSync(path.join(out, 'chart.svg'), report.svg(results, summary));
  console.log(report.stdoutTable(results, summary));
  console.log(`\nWrote ${path.relative(process.cwd(), path.join(out, 'latest.md'))}, latest.json, chart.svg (run took ${fmtS(results.meta.elapsedMs)}).`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

module.exports = { startServer, setupTables };
