'use strict';
// Runs one HTTP workload (bench/workloads.js, kind 'http') on one client:
// starts bench/http/server.js in a child process, checks its answers, warms
// it up and measures it with autocannon (from this, the parent, process), and
// returns numbers in the shape bench/worker.js returns, so that the report
// treats them alike. The CPU, main-thread time and RSS are the server
// process's; ops are HTTP requests.
const { spawn } = require('node:child_process');
const path = require('node:path');
const autocannon = require('autocannon');
const { POINT_ROWS, POOL_SIZE, xorshift } = require('../workloads');

/** Starts a child whose stdout speaks '@@bench {json}' lines; resolves on its 'ready'. */
function startChild(cmd, args, env, what, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let buf = '';
    const listeners = [];
    child.messages = [];
    child.output = () => output;
    child.onMessage = (fn) => listeners.push(fn);
    child.stdout.on('data', (d) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith('@@bench ')) {
          const m = JSON.parse(line.slice(8));
          child.messages.push(m);
          for (const fn of listeners) fn(m);
        } else output = (output + line + '\n').slice(-4000);
      }
    });
    child.stderr.on('data', (d) => {
      output = (output + d).slice(-4000);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} not ready after ${timeoutMs} ms\n${output}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      child.exitInfo = { code, signal };
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? signal}) before it was ready\n${output}`));
    });
    child.onMessage((m) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolve(child);
      }
    });
  });
}

/** The delay proxy of --delay (bench/http/delay-proxy.js); resolves { port, stop }. */
async function startDelayProxy(conn, delayMs) {
  const child = await startChild(process.execPath, [path.join(__dirname, 'delay-proxy.js'), conn.host, String(conn.port), String(delayMs)], {}, 'delay proxy');
  const { port } = child.messages.find((m) => m.type === 'ready');
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitInfo) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

const trpcGet = (proc, input) => `/trpc/${proc}?input=${encodeURIComponent(JSON.stringify(input))}`;

/** One request of the workload's procedure, as autocannon's request shape and as a check. */
function requestFor(w, rng) {
  const k = (rng() % POINT_ROWS) + 1;
  if (w.proc === 'tx') {
    return { k, method: 'POST', path: '/trpc/tx', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ k }) };
  }
  return { k, method: 'GET', path: trpcGet(w.proc, { id: Math.min(k, POINT_ROWS - 9) }) };
}

async function check(base, w, rng) {
  for (let i = 0; i < 3; i++) {
    const r = requestFor(w, rng);
    const res = await fetch(base + r.path, { method: r.method, headers: r.headers, body: r.body, signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`result check failed: ${w.proc} answered ${res.status}: ${text.slice(0, 300)}`);
    const data = JSON.parse(text).result?.data;
    const id = Math.min(r.k, POINT_ROWS - 9);
    const ok =
      w.proc === 'point'
        ? data?.id === id && data.name === `point-${id}`
        : w.proc === 'three'
          ? data?.point?.id === id && data.wide?.id === id && typeof data.wide.price === 'string' && data.near?.length === 10
          : data?.insertId > 0 && data.row?.id === data.insertId && data.row.k === r.k;
    if (!ok) throw new Error(`result check failed: ${w.proc}: ${text.slice(0, 300)}`);
  }
}

async function serverStats(base) {
  const res = await fetch(`${base}/__bench`, { signal: AbortSignal.timeout(30_000) });
  return res.json();
}

/** Waits until no procedure runs (twice in a row), and answers the server's stats then. */
async function idleStats(base, timeoutMs = 60_000) {
  const deadline = performance.now() + timeoutMs;
  let zeros = 0;
  for (;;) {
    const st = await serverStats(base);
    zeros = st.inflight === 0 ? zeros + 1 : 0;
    if (zeros >= 2) return st;
    if (performance.now() > deadline) throw new Error(`the server still had ${st.inflight} requests in flight ${timeoutMs} ms after the load stopped`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function cannon(base, w, rng, durationMs) {
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url: base,
        connections: w.connections,
        duration: durationMs / 1000,
        timeout: 30,
        requests: [
          {
            setupRequest: (req) => {
              const r = requestFor(w, rng);
              req.method = r.method;
              req.path = r.path;
              if (r.body) {
                req.body = r.body;
                req.headers = r.headers;
              }
              return req;
            },
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    inst.on('error', reject);
  });
}

/**
 * Runs workload w on client ('ours' | 'mysql2'). opts: { conn (database, with
 * CA: TLS), warmupMs, durationMs, seed }. snapshot(phase) is the parent's
 * server-counter snapshot around the window. Resolves { stats } or { error }.
 */
async function runHttp(w, client, opts, snapshot) {
  let server = null;
  try {
    server = await startChild(
      process.execPath,
      [path.join(__dirname, 'server.js')],
      { BENCH_HTTP: JSON.stringify({ client, conn: opts.conn, poolSize: POOL_SIZE }) },
      'HTTP server',
    );
    const { port } = server.messages.find((m) => m.type === 'ready');
    const base = `http://127.0.0.1:${port}`;
    const rng = xorshift(opts.seed);
    await check(base, w, rng);
    await cannon(base, w, rng, opts.warmupMs);
    const s0 = await idleStats(base);
    await snapshot('start');
    const t0 = performance.now();
    const r = await cannon(base, w, rng, opts.durationMs);
    const wallMs = performance.now() - t0;
    // What autocannon dropped at its deadline still runs on the server: its
    // CPU counts, and so do those requests (handled, below).
    const s1 = await idleStats(base);
    await snapshot('end');
    await check(base, w, rng);
    const bad = r.non2xx + r.errors + r.timeouts;
    if (bad > 0) throw new Error(`${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts of ${r.requests.total} requests\n${server.output()}`);
    const answered = r['2xx'];
    if (answered === 0) throw new Error(`no request was answered in the ${opts.durationMs} ms window`);
    // Requests the server handled in the window (the unit of CPU and main-thread time).
    const ops = s1.handled - s0.handled;
    const cpuMs = (s1.cpu.user - s0.cpu.user + (s1.cpu.system - s0.cpu.system)) / 1000;
    const active = s1.elu.active - s0.elu.active;
    const elapsed = active + (s1.elu.idle - s0.elu.idle);
    const ended = new Promise((resolve) => server.onMessage((m) => m.type === 'ended' && resolve(m.endMs)));
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    const endMs = await Promise.race([ended, new Promise((resolve) => setTimeout(() => resolve(null), 15_000))]);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    const L = r.latency;
    return {
      stats: {
        ops,
        answered,
        queries: ops * w.queriesPerRequest,
        wallMs,
        // Requests answered by autocannon's clock (it stops at the deadline
        // and drops what is in flight).
        opsPerSec: answered / r.duration,
        queriesPerSec: (answered * w.queriesPerRequest) / r.duration,
        cpuMs,
        cpuUserMs: (s1.cpu.user - s0.cpu.user) / 1000,
        cpuSysMs: (s1.cpu.system - s0.cpu.system) / 1000,
        eluActiveMs: active,
        elu: elapsed > 0 ? active / elapsed : null,
        // autocannon's percentiles (ms); it has no p95.
        lat: { n: answered, min: L.min, p50: L.p50, p90: L.p90, p95: null, p97_5: L.p97_5, p99: L.p99, max: L.max, mean: L.average },
        rssWindowPeak: s1.rss,
        maxRSS: s1.maxRSS,
        endMs,
        connections: w.connections,
        runtime: `server: node ${process.version}, express + tRPC + drizzle-orm/mysql2; load: autocannon in the bench's parent process`,
      },
    };
  } catch (e) {
    if (server && !server.exitInfo) server.kill('SIGKILL');
    return { error: `${e.stack || e}${server ? `\n${server.output()}` : ''}`.trim() };
  }
}

module.exports = { runHttp, startDelayProxy };
