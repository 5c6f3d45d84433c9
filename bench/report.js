'use strict';
// Turns raw child results into medians, ratios vs mysql2 and vs the pure-Rust
// ceiling, target verdicts, and the three outputs: markdown, SVG chart,
// stdout table.
const { CLIENTS, CLIENT_LABELS, WORKLOADS, METRIC, TARGETS, clientsFor } = require('./workloads');

const MB = 1024 * 1024;

// ---- numbers ---------------------------------------------------------------------

function median(xs) {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function num(v, digits) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (digits === undefined) digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : Math.abs(v) >= 1 ? 2 : 3;
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const ratioFmt = (r) => (r === null || r === undefined || !Number.isFinite(r) ? '–' : `${r.toFixed(2)}×`);

/** The primary metric's label: 'ops/s', or 'req/s' for the HTTP workloads. */
const metricLabel = (w) => (w.metric === 'ops' && w.rate ? w.rate : METRIC[w.metric].label);

const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
/** a / b, or null when either is missing (null / 3 would be 0 in JavaScript). */
const ratio = (a, b) => (isNum(a) && isNum(b) && b !== 0 ? a / b : null);
/** a / ops * unit, or null. */
const perUnit = (a, ops, unit) => (isNum(a) && isNum(ops) && ops > 0 ? (a / ops) * unit : null);

/** Per-run scalars; medians of these across rounds are what gets reported. */
function derive(w, s, server) {
  const unit = w.unit.ops;
  const d = {
    primary: METRIC[w.metric].primary(s),
    opsPerSec: s.opsPerSec,
    queriesPerSec: s.queriesPerSec,
    p50: s.lat.p50,
    p95: s.lat.p95,
    p99: s.lat.p99,
    max: s.lat.max,
    cpuPerUnit: perUnit(s.cpuMs, s.ops, unit),
    // null where there is no JavaScript main thread (rust) or no ELU (bun)
    mainPerUnit: perUnit(s.eluActiveMs, s.ops, unit),
    elu: s.elu,
    peakRssMB: s.maxRSS / MB,
    windowRssMB: s.rssWindowPeak / MB,
    endMs: s.endMs ?? null,
    ops: s.ops,
  };
  if (server) {
    const st = server.status;
    const q = s.queries;
    d.serverCpuPerUnit = perUnit(server.cpuMs, s.ops, unit);
    d.stmtsPerQuery = (st.Questions || 0) / q;
    d.adminPerQuery = (st.Com_admin_commands || 0) / q;
    d.preparesPer1k = ((st.Com_stmt_prepare || 0) / q) * 1000;
    d.bytesPerQuery = ((st.Bytes_received || 0) + (st.Bytes_sent || 0)) / q;
    d.newConnsPerUnit = ((st.Connections || 0) / s.ops) * unit;
    // Statements beyond the workload's own, per new connection: setup
    // queries at connect (and COM_QUIT at end(), which Questions counts).
    d.setupStmtsPerConn = st.Connections ? ((st.Questions || 0) - q) / st.Connections : null;
  }
  return d;
}

function summarize(results) {
  const out = { workloads: {}, targets: [], soak: null };
  for (const w of WORKLOADS) {
    const runs = results.runs.filter((r) => r.workload === w.name);
    if (runs.length === 0) continue;
    const entry = { title: w.title, metric: w.metric, unit: w.unit.label, clients: {} };
    for (const client of clientsFor(w)) {
      const mine = runs.filter((r) => r.client === client);
      if (mine.length === 0) continue;
      const ok = mine.filter((r) => r.stats);
      const errors = mine.filter((r) => r.error && !r.error.startsWith('skipped')).map((r) => r.error.split('\n')[0]);
      const skipped = mine.filter((r) => r.error?.startsWith('skipped')).map((r) => r.error.split('\n')[0]);
      const c = { rounds: ok.length, errors, skipped };
      if (ok.length > 0) {
        const per = ok.map((r) => derive(w, r.stats, r.server));
        for (const k of Object.keys(per[0])) c[k] = median(per.map((p) => p[k]));
        const prim = per.map((p) => p.primary);
        c.primaryMin = Math.min(...prim);
        c.primaryMax = Math.max(...prim);
      }
      entry.clients[client] = c;
    }
    const vs = (c, base) => ({
      primary: ratio(c.primary, base.primary),
      cpuPerUnit: ratio(c.cpuPerUnit, base.cpuPerUnit),
      mainPerUnit: ratio(c.mainPerUnit, base.mainPerUnit),
      peakRss: ratio(c.peakRssMB, base.peakRssMB),
      p50: ratio(c.p50, base.p50),
    });
    const base = entry.clients.mysql2;
    const ceiling = entry.clients.rust;
    for (const c of Object.values(entry.clients)) {
      if (c.primary == null) continue;
      if (base && base.primary != null) {
        c.vsMysql2 = vs(c, base);
        // Normalised so that higher is better, for the chart.
        c.speedup = METRIC[w.metric].higherIsBetter ? c.vsMysql2.primary : 1 / c.vsMysql2.primary;
      }
      if (ceiling && ceiling.primary != null) {
        c.vsRust = vs(c, ceiling);
        // Higher is better here too: 1 = as fast as the pure-Rust ceiling.
        c.ofCeiling = METRIC[w.metric].higherIsBetter ? c.vsRust.primary : 1 / c.vsRust.primary;
      }
    }
    out.workloads[w.name] = entry;
  }
  out.soak = summarizeSoak(results.soak);
  out.targets = TARGETS.map((t) => evaluate(t, out));
  return out;
}

function summarizeSoak(soak) {
  if (!soak || soak.length === 0) return null;
  const res = {};
  for (const r of soak) {
    if (!r.stats) {
      res[r.client] = { error: r.error.split('\n')[0] };
      continue;
    }
    const smp = r.stats.samples;
    const total = r.stats.ops;
    const inRange = (a, b) => smp.filter((x) => x.ops >= a * total && x.ops <= b * total).map((x) => x.rss);
    const early = inRange(0.2, 0.45);
    const late = inRange(0.75, 1);
    const base = early.length ? Math.max(...early) : smp[0].rss;
    const end = late.length ? Math.max(...late) : smp[smp.length - 1].rss;
    const growthMB = (end - base) / MB;
    res[r.client] = {
      ops: total,
      opsPerSec: r.stats.opsPerSec,
      cpuPer1k: (r.stats.cpuMs / total) * 1000,
      peakRssMB: Math.max(...smp.map((x) => x.rss)) / MB,
      baseRssMB: base / MB,
      endRssMB: end / MB,
      growthMB,
      flat: growthMB <= Math.max((0.05 * base) / MB, 4),
      samples: smp.map((x) => ({
        ops: x.ops,
        rssMB: +(x.rss / MB).toFixed(1),
        heapMB: +(x.heapUsed / MB).toFixed(1),
        externalMB: +(x.external / MB).toFixed(1),
      })),
    };
  }
  return res;
}

function compare(value, cmp, goal) {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  switch (cmp) {
    case '>=':
      return value >= goal;
    case '<=':
      return value <= goal;
    case '<':
      return value < goal;
    default:
      return value > goal;
  }
}

function evaluate(t, s) {
  const r = { id: t.id, label: t.label, short: t.short, goal: null, measured: null, met: null, detail: '' };
  if (t.special === 'rss') {
    r.goal = '≤ 1.00× in every workload';
    const ratios = [];
    for (const [name, w] of Object.entries(s.workloads)) {
      const v = w.clients.ours?.vsMysql2?.peakRss;
      if (v !== undefined && Number.isFinite(v)) ratios.push({ name, v });
    }
    if (ratios.length) {
      const worst = ratios.reduce((a, b) => (b.v > a.v ? b : a));
      const over = ratios.filter((x) => x.v > 1);
      r.measured = worst.v;
      r.met = over.length === 0;
      r.detail = `worst ${ratioFmt(worst.v)} (${worst.name}); above mysql2 in ${over.length}/${ratios.length} workloads`;
    }
    return r;
  }
  if (t.special === 'soak') {
    r.goal = 'growth ≤ max(5%, 4 MB)';
    const o = s.soak?.ours;
    const m = s.soak?.mysql2;
    if (!o || o.error) {
      r.detail = o?.error || 'not measured (run with --soak)';
      return r;
    }
    r.measured = o.growthMB;
    r.met = o.flat && (!m || m.error || o.peakRssMB <= m.peakRssMB);
    r.detail =
      `ours ${num(o.baseRssMB, 0)} → ${num(o.endRssMB, 0)} MB over ${num(o.ops, 0)} queries (peak ${num(o.peakRssMB, 0)} MB)` +
      (m && !m.error ? `; mysql2 ${num(m.baseRssMB, 0)} → ${num(m.endRssMB, 0)} MB (peak ${num(m.peakRssMB, 0)} MB)` : '');
    return r;
  }
  const vs = t.vs || 'mysql2';
  const unitField = (name, w, field) =>
    ({ primary: metricLabel(WORKLOADS.find((x) => x.name === name)), cpuPerUnit: `CPU ms/${w.unit}`, mainPerUnit: `main-thread ms/${w.unit}`, p50: 'ms p50' })[
      field
    ];
  if (t.special === 'info') {
    // Reported for ours, no goal: e.g. main-thread µs per row of the 10k-row result.
    const w = s.workloads[t.workload];
    const v = w?.clients.ours?.[t.field];
    r.goal = 'reported';
    if (v == null) {
      r.detail = 'not measured';
      return r;
    }
    const others = Object.entries(w.clients)
      .filter(([c, x]) => c !== 'ours' && x[t.field] != null)
      .map(([c, x]) => `${CLIENT_LABELS[c]} ${num((x[t.field] / t.perUnit) * 1000, 2)}`);
    r.value = (v / t.perUnit) * 1000;
    r.detail = `ours ${num(r.value, 2)} µs/row${others.length ? ` (${others.join(', ')})` : ''}`;
    r.info = true;
    return r;
  }
  r.goal = `${t.cmp} ${t.ratio.toFixed(2)}× ${vs}`;
  // Several workloads: the worst ratio of them is the one that counts.
  const names = Array.isArray(t.workload) ? t.workload : [t.workload];
  const got = [];
  for (const name of names) {
    const w = s.workloads[name];
    const ours = w?.clients.ours;
    const other = w?.clients[vs];
    const v = ratio(ours?.[t.field], other?.[t.field]);
    if (v !== null) got.push({ name, w, v, ours: ours[t.field], other: other[t.field] });
  }
  if (got.length === 0) {
    r.detail = 'not measured';
    return r;
  }
  const higher = t.cmp === '>=' || t.cmp === '>';
  const worst = got.reduce((a, b) => (higher ? (b.v < a.v ? b : a) : b.v > a.v ? b : a));
  r.measured = worst.v;
  r.met = compare(r.measured, t.cmp, t.ratio);
  r.detail =
    got.length === 1
      ? `${num(worst.ours)} vs ${num(worst.other)} ${unitField(worst.name, worst.w, t.field)}`
      : `worst ${worst.name}: ${num(worst.ours)} vs ${num(worst.other)} ${unitField(worst.name, worst.w, t.field)}; ${got.map((g) => `${g.name} ${ratioFmt(g.v)}`).join(', ')}`;
  // The HTTP app with no driver at all (client 'floor'): where even that
  // misses the goal, no driver can meet it in this app.
  const floors = got.map((g) => ({ name: g.name, v: ratio(g.w.clients.floor?.[t.field], g.other) })).filter((f) => f.v !== null);
  if (floors.length) {
    const best = floors.reduce((a, b) => (higher ? (b.v < a.v ? b : a) : b.v > a.v ? b : a));
    r.floor = best.v;
    r.floorMet = compare(best.v, t.cmp, t.ratio);
    r.detail += `; with no driver at all (in-memory floor): ${floors.map((f) => `${f.name} ${ratioFmt(f.v)}`).join(', ')}`;
  }
  return r;
}

const verdict = (met, t) =>
  t?.info && t.value != null
    ? 'ℹ️ reported'
    : met === null
      ? '– not measured'
      : met
        ? '✅ met'
        : t?.floorMet === false
          ? '❌ not met; out of reach for any driver (the no-driver floor misses it too)'
          : '❌ not met';
const measuredText = (t) =>
  t.id === 'rss-flat'
    ? t.measured == null
      ? '–'
      : `${num(t.measured, 1)} MB`
    : t.info
      ? t.value == null
        ? '–'
        : `${num(t.value, 2)} µs/row`
      : ratioFmt(t.measured);

// ---- markdown ----------------------------------------------------------------------

function primaryText(w, c) {
  if (c.primary == null) return '–';
  if (w.metric === 'ops') return `${num(c.primary, 0)} ${metricLabel(w)}`;
  return `${num(c.primary)} ms`;
}

function headerLines(results) {
  const m = results.meta;
  const mc = m.machine;
  const lines = [];
  lines.push(`- Date: ${m.date}`);
  lines.push(
    `- Machine: ${mc.cpu}, ${mc.cores} cores, ${mc.memGB} GB RAM, ${mc.os}; load average ${mc.loadavgStart.map((x) => x.toFixed(2)).join(' ')} at start, ${mc.loadavgEnd.map((x) => x.toFixed(2)).join(' ')} at end`,
  );
  lines.push(
    `- Node ${mc.node}; ${Object.entries(mc.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  lines.push(`- Server: ${m.server.version} (${m.server.where}); pool of ${m.poolSize} connections for every client`);
  lines.push(
    `- Mode: **${m.mode}**, ${m.rounds} round(s), ${m.warmupMs} ms warm-up + ${m.durationMs} ms measured per run, clients interleaved round-robin, each run in a fresh process; values are medians over rounds${m.only ? `; only: ${m.only.join(', ')}` : ''}; total ${Math.round(m.elapsedMs / 1000)} s`,
  );
  for (const n of m.notes) lines.push(`- ${n}`);
  return lines;
}

const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Clients of a workload to list in the tables: those that ran, and n/a where the workload says why. */
function rowsFor(w, e, results) {
  const ran = results.meta?.clients || CLIENTS;
  return CLIENTS.filter((c) => e.clients[c] || (w.na?.[c] && ran.includes(c)));
}

function markdown(results, s) {
  const L = [];
  L.push('# napi-mysql-pool benchmark: ours vs mysql2, mariadb, Bun.SQL and a pure-Rust ceiling');
  L.push('');
  L.push('Generated by `npm run bench` (bench/run.js). See bench/README.md for what each column means.');
  L.push('');
  L.push(...headerLines(results));
  if (results.meta.mode === 'quick') {
    L.push('');
    L.push('> **Quick mode**: short runs, one round; a smoke test, not numbers to quote.');
  }
  L.push('');
  L.push('![ratio vs mysql2](chart.svg)');
  L.push('');
  L.push('## Targets (issue 14), ours vs mysql2 / the pure-Rust ceiling / mariadb');
  L.push('');
  L.push('| Target | Goal | Measured | Detail | Status |');
  L.push('|---|---|---|---|---|');
  for (const t of s.targets) L.push(`| ${t.label} | ${t.goal ?? ''} | ${measuredText(t)} | ${cell(t.detail)} | ${verdict(t.met, t)} |`);
  L.push('');
  L.push('## Results');
  L.push('');
  L.push('Result: ops/s (higher is better; requests/s for http-*), or ms per burst (p95) / per operation (p50) (lower is better). ');
  L.push(
    'CPU = process CPU (all threads) per unit (http-*: the app server process); main = event-loop active time per unit (– where there is none: the Rust ceiling; or none measured: bun); ELU = event-loop utilization; RSS = peak resident set (kernel high-water mark of the process). ',
  );
  L.push('Ratios are client ÷ mysql2 and client ÷ the pure-Rust ceiling (mysql_async) for the same metric.');
  L.push('');
  L.push(
    '| Workload (unit) | Client | Result | p50 ms | p95 ms | p99 ms | CPU ms/unit | main ms/unit | ELU | peak RSS MB | vs mysql2 | vs rust | CPU vs mysql2 | CPU vs rust | main vs mysql2 | RSS vs mysql2 | Target |',
  );
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  const blank = ' | | | | | | | | | | | | | | |';
  for (const w of WORKLOADS) {
    const e = s.workloads[w.name];
    if (!e) continue;
    let firstRow = true;
    for (const client of rowsFor(w, e, results)) {
      const label = firstRow ? `**${w.name}** (${w.unit.label})<br>${w.title}` : '';
      firstRow = false;
      const c = e.clients[client];
      if (!c) {
        L.push(`| ${label} | ${CLIENT_LABELS[client]} | n/a (${w.na[client]})${blank}`);
        continue;
      }
      if (c.primary == null) {
        const why = c.errors[0] ? `error: ${c.errors[0]}` : c.skipped[0] || 'no result';
        L.push(`| ${label} | ${CLIENT_LABELS[client]} | ${cell(why).slice(0, 160)}${blank}`);
        continue;
      }
      const v = c.vsMysql2 || {};
      const r = c.vsRust || {};
      const targets =
        client === 'ours'
          ? s.targets
              .filter((t) => {
                const wl = TARGETS.find((x) => x.id === t.id).workload;
                return Array.isArray(wl) ? wl.includes(w.name) : wl === w.name;
              })
              .map((t) => `${t.short}: ${verdict(t.met, t)}`)
              .join('<br>')
          : '';
      const m2 = client === 'mysql2';
      const rs = client === 'rust';
      L.push(
        `| ${label} | ${CLIENT_LABELS[client]} | ${primaryText(w, c)} | ${num(c.p50)} | ${num(c.p95)} | ${num(c.p99)} | ${num(c.cpuPerUnit)} | ${num(c.mainPerUnit)} | ${num(c.elu, 2)} | ${num(c.peakRssMB, 0)} | ${m2 ? '1.00×' : ratioFmt(v.primary)} | ${rs ? '1.00×' : ratioFmt(r.primary)} | ${m2 ? '' : ratioFmt(v.cpuPerUnit)} | ${rs ? '' : ratioFmt(r.cpuPerUnit)} | ${m2 ? '' : ratioFmt(v.mainPerUnit)} | ${m2 ? '' : ratioFmt(v.peakRss)} | ${targets} |`,
      );
    }
  }
  const notes = new Set();
  for (const r of results.runs) if (r.stats?.note) notes.add(`${CLIENT_LABELS[r.client]}, ${r.workload}: ${r.stats.note}`);
  if (notes.size) {
    L.push('');
    L.push('What the pure-Rust ceiling does with the rows:');
    L.push('');
    for (const n of notes) L.push(`- ${n}`);
  }
  L.push('');
  L.push('## Server side (diagnostics)');
  L.push('');
  L.push(
    'Counters of the server during each measured window (`SHOW GLOBAL STATUS` and the server process\'s CPU): statements per query > 1 or admin commands (pings, resets) per query show extra round trips; "extra stmts/new conn" counts setup statements run at connect plus the COM_QUIT sent by end().',
  );
  L.push('');
  L.push(
    '| Workload | Client | server CPU ms/unit | statements/query | admin cmds/query | prepares/1k queries | bytes/query | new conns/unit | extra stmts/new conn | pool.end() ms | rounds ok |',
  );
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const w of WORKLOADS) {
    const e = s.workloads[w.name];
    if (!e) continue;
    for (const [client, c] of Object.entries(e.clients)) {
      if (c.rounds === 0 && c.errors.length === 0) continue; // skipped
      L.push(
        `| ${w.name} | ${CLIENT_LABELS[client]} | ${num(c.serverCpuPerUnit)} | ${num(c.stmtsPerQuery, 2)} | ${num(c.adminPerQuery, 3)} | ${num(c.preparesPer1k, 1)} | ${num(c.bytesPerQuery, 0)} | ${num(c.newConnsPerUnit, 1)} | ${num(c.setupStmtsPerConn, 2)} | ${num(c.endMs)} | ${c.rounds}${c.errors.length ? ` (${c.errors.length} failed)` : ''} |`,
      );
    }
  }
  if (s.soak) {
    L.push('');
    L.push('## Soak: RSS over a long run of point selects (200 in flight)');
    L.push('');
    L.push('| Client | queries | ops/s | CPU ms/1k | RSS at 20–45% MB | RSS at 75–100% MB | growth MB | peak MB | flat |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const [client, o] of Object.entries(s.soak)) {
      if (o.error) {
        L.push(`| ${CLIENT_LABELS[client]} | error: ${o.error} | | | | | | | |`);
        continue;
      }
      L.push(
        `| ${CLIENT_LABELS[client]} | ${num(o.ops, 0)} | ${num(o.opsPerSec, 0)} | ${num(o.cpuPer1k)} | ${num(o.baseRssMB, 1)} | ${num(o.endRssMB, 1)} | ${num(o.growthMB, 1)} | ${num(o.peakRssMB, 1)} | ${o.flat ? 'yes' : 'no'} |`,
      );
    }
    L.push('');
    L.push('RSS samples (MB) every ' + num(s.soak[Object.keys(s.soak)[0]]?.samples?.[1]?.ops ?? 0, 0) + ' queries:');
    L.push('');
    for (const [client, o] of Object.entries(s.soak)) {
      if (!o.error)
        L.push(
          `- ${CLIENT_LABELS[client]}: RSS ${o.samples.map((x) => x.rssMB.toFixed(0)).join(' ')}; JS heap used ${o.samples.map((x) => x.heapMB.toFixed(0)).join(' ')}`,
        );
    }
  }
  const skipped = new Map();
  for (const r of results.runs) {
    if (!r.error?.startsWith('skipped')) continue;
    const key = `${r.client}: ${r.error.split('\n')[0]}`;
    if (!skipped.has(key)) skipped.set(key, { r, workloads: new Set() });
    skipped.get(key).workloads.add(r.workload);
  }
  if (skipped.size) {
    L.push('');
    L.push('## Skipped');
    L.push('');
    L.push('Runs that did not happen, and runs that failed under bun (reported here, not counted as failures of the bench):');
    L.push('');
    for (const { r, workloads } of skipped.values()) {
      L.push(`- ${CLIENT_LABELS[r.client]} (${[...workloads].join(', ')}):`);
      L.push('');
      L.push('  ```');
      for (const line of r.error.split('\n').slice(0, 8)) L.push(`  ${line}`);
      L.push('  ```');
    }
  }
  const failed = results.runs.filter((r) => r.error && !r.error.startsWith('skipped'));
  if (failed.length) {
    L.push('');
    L.push('## Errors');
    L.push('');
    for (const r of failed) {
      L.push(`- round ${r.round + 1}, ${r.workload}, ${r.client}:`);
      L.push('');
      L.push('  ```');
      for (const line of r.error.split('\n').slice(0, 12)) L.push(`  ${line}`);
      L.push('  ```');
    }
  }
  L.push('');
  return L.join('\n');
}

// ---- SVG chart ------------------------------------------------------------------------

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const METRIC_NOTE = { ops: 'ops/s', burst: 'p95 burst time', time: 'median time' };

function svg(results, s) {
  const allSeries = [
    { client: 'ours', label: 'napi-mysql-pool', color: '#2563eb' },
    { client: 'ours-nopipe', label: 'napi-mysql-pool (pipelining: 0)', color: '#0ea5e9' },
    { client: 'mariadb', label: 'mariadb', color: '#f59e0b' },
    { client: 'rust', label: 'mysql_async (pure Rust)', color: '#7c3aed' },
    { client: 'bun', label: 'Bun.SQL (bun)', color: '#10b981' },
  ];
  const rows = WORKLOADS.filter((w) => s.workloads[w.name]);
  // Only the clients this run had.
  const ran = results.meta?.clients || CLIENTS;
  const series = allSeries.filter((se) => ran.includes(se.client) && rows.some((w) => s.workloads[w.name].clients[se.client]));
  if (series.length === 0) series.push(allSeries[0]);
  const width = 920;
  const left = 300;
  const right = 70;
  const top = 78;
  const barH = 11;
  const groupH = series.length * (barH + 2) + 12;
  const plotW = width - left - right;
  const height = top + rows.length * groupH + 46;
  let maxV = 1;
  for (const w of rows) for (const { client } of series) maxV = Math.max(maxV, s.workloads[w.name].clients[client]?.speedup || 0);
  const xmax = Math.min(6, Math.max(2, Math.ceil((maxV + 0.2) * 2) / 2));
  const step = xmax <= 3 ? 0.5 : 1;
  const x = (v) => left + (Math.min(v, xmax) / xmax) * plotW;
  const m = results.meta;
  const o = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12">`,
  );
  o.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  o.push(`<text x="20" y="22" font-size="15" font-weight="600" fill="#111827">Relative to mysql2 (mysql2 = 1×, higher is better)</text>`);
  o.push(
    `<text x="20" y="40" fill="#6b7280">${esc(`${m.machine.cpu}, ${m.machine.cores} cores · Node ${m.machine.node} · ${m.server.version} · ${m.date.slice(0, 10)} · ${m.mode} mode`)}</text>`,
  );
  series.forEach((se, i) => {
    const lx = 20 + i * 200;
    o.push(`<rect x="${lx}" y="52" width="12" height="12" fill="${se.color}"/><text x="${lx + 18}" y="62" fill="#111827">${esc(se.label)}</text>`);
  });
  // grid + axis
  for (let v = 0; v <= xmax + 1e-9; v += step) {
    const gx = x(v).toFixed(1);
    o.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${top + rows.length * groupH}" stroke="#e5e7eb"/>`);
    o.push(`<text x="${gx}" y="${top + rows.length * groupH + 16}" text-anchor="middle" fill="#6b7280">${v % 1 === 0 ? v.toFixed(0) : v.toFixed(1)}×</text>`);
  }
  rows.forEach((w, i) => {
    if (i % 2 === 1) o.push(`<rect x="0" y="${top + i * groupH - 4}" width="${width}" height="${groupH}" fill="#f3f4f6" opacity="0.6"/>`);
  });
  const lx = x(1).toFixed(1);
  o.push(`<line x1="${lx}" y1="${top - 10}" x2="${lx}" y2="${top + rows.length * groupH}" stroke="#dc2626" stroke-width="1.5" stroke-dasharray="5 3"/>`);
  o.push(`<text x="${lx}" y="${top + rows.length * groupH + 32}" text-anchor="middle" fill="#dc2626">mysql2</text>`);
  rows.forEach((w, i) => {
    const gy = top + i * groupH;
    const mid = gy + (series.length * (barH + 2)) / 2;
    o.push(`<text x="${left - 10}" y="${mid - 1}" text-anchor="end" fill="#111827">${esc(w.name)}</text>`);
    o.push(`<text x="${left - 10}" y="${mid + 11}" text-anchor="end" fill="#9ca3af" font-size="10">${esc(w.rate || METRIC_NOTE[w.metric])}</text>`);
    series.forEach((se, k) => {
      const by = gy + k * (barH + 2);
      const c = s.workloads[w.name].clients[se.client];
      if (!clientsFor(w).includes(se.client)) {
        o.push(`<text x="${left + 4}" y="${by + barH - 2}" fill="#9ca3af" font-size="10">n/a</text>`);
        return;
      }
      if (!c || c.speedup == null) {
        const why = !c ? 'not run' : c.errors.length ? 'error' : c.skipped.length ? 'skipped' : 'no mysql2 result';
        o.push(`<text x="${left + 4}" y="${by + barH - 2}" fill="${why === 'error' ? '#b91c1c' : '#9ca3af'}" font-size="10">${why}</text>`);
        return;
      }
      const bw = Math.max(1, x(c.speedup) - left);
      o.push(
        `<rect x="${left}" y="${by}" width="${bw.toFixed(1)}" height="${barH}" fill="${se.color}"><title>${esc(`${se.label} ${w.name}: ${c.speedup.toFixed(2)}× mysql2`)}</title></rect>`,
      );
      const label = `${c.speedup.toFixed(2)}×${c.speedup > xmax ? ' ›' : ''}`;
      o.push(
        `<text x="${(left + bw + 4).toFixed(1)}" y="${by + barH - 2}" fill="#374151" font-size="10" stroke="#ffffff" stroke-width="3" paint-order="stroke">${label}</text>`,
      );
    });
  });
  o.push('</svg>');
  return o.join('\n') + '\n';
}

// ---- stdout ------------------------------------------------------------------------------

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows
    .map(
      (r, ri) =>
        r.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ') +
        (ri === 0 ? `\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : ''),
    )
    .join('\n');
}

function stdoutTable(results, s) {
  const shown = WORKLOADS.filter((w) => s.workloads[w.name]);
  const present = CLIENTS.filter((c) => shown.some((w) => s.workloads[w.name].clients[c]));
  const val = (w, c) => {
    const x = s.workloads[w.name].clients[c];
    if (!clientsFor(w).includes(c)) return 'n/a';
    if (!x) return '';
    if (x.primary == null) return x.errors.length ? 'error' : 'skipped';
    return w.metric === 'ops' ? num(x.primary, 0) : num(x.primary);
  };
  const rows = [['workload', 'metric', ...present]];
  for (const w of shown) rows.push([w.name, metricLabel(w), ...present.map((c) => val(w, c))]);
  // Ratios: each client ÷ mysql2 and ÷ the Rust ceiling (primary metric), and ours' CPU / main / RSS ÷ mysql2.
  const others = present.filter((c) => c !== 'mysql2');
  const rr = [['workload', ...others.map((c) => (c === 'rust' ? 'rust /m2' : `${c} /m2 /rust`)), 'CPU o/m', 'CPU o/rust', 'main o/m', 'RSS o/m']];
  for (const w of shown) {
    const e = s.workloads[w.name];
    const o = e.clients.ours || {};
    rr.push([
      w.name,
      ...others.map((c) => {
        const x = e.clients[c];
        if (!x) return '';
        const a = ratioFmt(x.vsMysql2?.primary);
        return c === 'rust' ? a : `${a} ${ratioFmt(x.vsRust?.primary)}`;
      }),
      ratioFmt(o.vsMysql2?.cpuPerUnit),
      ratioFmt(o.vsRust?.cpuPerUnit),
      ratioFmt(o.vsMysql2?.mainPerUnit),
      ratioFmt(o.vsMysql2?.peakRss),
    ]);
  }
  const t = [['target', 'goal', 'measured', 'status']];
  for (const x of s.targets) t.push([x.label, x.goal ?? '', measuredText(x), verdict(x.met, x)]);
  return `\n${headerLines(results).join('\n')}\n\n${table(rows)}\n\nRatios (primary metric: client ÷ mysql2, then ÷ the pure-Rust ceiling; time metrics: lower is better):\n\n${table(rr)}\n\n${table(t)}`;
}

function progressLine(w, st) {
  const p = METRIC[w.metric].primary(st);
  const main = w.metric === 'ops' ? `${num(p, 0)} ${metricLabel(w)}` : `${METRIC[w.metric].label.split(' ')[0]} ${num(p)} ms`;
  return `${main.padStart(16)}  p50 ${num(st.lat.p50)} p99 ${num(st.lat.p99)} ms  cpu ${num(perUnit(st.cpuMs, st.ops, w.unit.ops))} ms/${w.unit.label}  elu ${num(st.elu, 2)}  rss ${num(st.maxRSS / MB, 0)} MB`;
}

module.exports = { summarize, markdown, svg, stdoutTable, progressLine, median };
