'use strict';
// Turns raw child results into medians, ratios vs mysql2, target verdicts,
// and the three outputs: markdown, SVG chart, stdout table.
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
    cpuPerUnit: (s.cpuMs / s.ops) * unit,
    mainPerUnit: (s.eluActiveMs / s.ops) * unit,
    elu: s.elu,
    peakRssMB: s.maxRSS / MB,
    windowRssMB: s.rssWindowPeak / MB,
    endMs: s.endMs ?? null,
    ops: s.ops,
  };
  if (server) {
    const st = server.status;
    const q = s.queries;
    d.serverCpuPerUnit = server.cpuMs === null ? null : (server.cpuMs / s.ops) * unit;
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
      const errors = mine.filter((r) => r.error).map((r) => r.error.split('\n')[0]);
      const c = { rounds: ok.length, errors };
      if (ok.length > 0) {
        const per = ok.map((r) => derive(w, r.stats, r.server));
        for (const k of Object.keys(per[0])) c[k] = median(per.map((p) => p[k]));
        const prim = per.map((p) => p.primary);
        c.primaryMin = Math.min(...prim);
        c.primaryMax = Math.max(...prim);
      }
      entry.clients[client] = c;
    }
    const base = entry.clients.mysql2;
    for (const c of Object.values(entry.clients)) {
      if (!base || base.primary == null || c.primary == null) continue;
      c.vsMysql2 = {
        primary: c.primary / base.primary,
        cpuPerUnit: c.cpuPerUnit / base.cpuPerUnit,
        mainPerUnit: c.mainPerUnit / base.mainPerUnit,
        peakRss: c.peakRssMB / base.peakRssMB,
      };
      // Normalised so that higher is better, for the chart.
      c.speedup = METRIC[w.metric].higherIsBetter ? c.vsMysql2.primary : 1 / c.vsMysql2.primary;
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
  const w = s.workloads[t.workload];
  const vs = t.vs || 'mysql2';
  r.goal = `${t.cmp} ${t.ratio.toFixed(2)}× ${vs}`;
  const ours = w?.clients.ours;
  const other = w?.clients[vs];
  if (!ours || !other || ours[t.field] == null || other[t.field] == null) {
    r.detail = 'not measured';
    return r;
  }
  r.measured = ours[t.field] / other[t.field];
  r.met = compare(r.measured, t.cmp, t.ratio);
  const unitField = { primary: METRIC[w.metric].label, cpuPerUnit: `CPU ms/${w.unit}`, mainPerUnit: `main-thread ms/${w.unit}` }[t.field];
  r.detail = `${num(ours[t.field])} vs ${num(other[t.field])} ${unitField}`;
  return r;
}

const verdict = (met) => (met === null ? '– not measured' : met ? '✅ met' : '❌ not met');

// ---- markdown ----------------------------------------------------------------------

function primaryText(w, c) {
  if (c.primary == null) return '–';
  if (w.metric === 'ops') return `${num(c.primary, 0)} ops/s`;
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

function markdown(results, s) {
  const L = [];
  L.push('# napi-mysql-pool benchmark: ours vs mysql2 vs mariadb');
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
  L.push('## Targets (issue 6), ours vs mysql2');
  L.push('');
  L.push('| Target | Goal | Measured | Detail | Status |');
  L.push('|---|---|---|---|---|');
  for (const t of s.targets) {
    const measured = t.id === 'rss-flat' ? (t.measured == null ? '–' : `${num(t.measured, 1)} MB`) : ratioFmt(t.measured);
    L.push(`| ${t.label} | ${t.goal ?? ''} | ${measured} | ${t.detail} | ${verdict(t.met)} |`);
  }
  L.push('');
  L.push('## Results');
  L.push('');
  L.push('Result: ops/s (higher is better), or ms per burst (p95) / per operation (p50) (lower is better). ');
  L.push(
    'CPU = process CPU (all threads) per unit; main = event-loop active time per unit; ELU = event-loop utilization; RSS = peak resident set (kernel high-water mark of the child process). ',
  );
  L.push('Ratios are client ÷ mysql2 for the same metric.');
  L.push('');
  L.push(
    '| Workload (unit) | Client | Result | p50 ms | p95 ms | p99 ms | CPU ms/unit | main ms/unit | ELU | peak RSS MB | vs mysql2 | CPU vs mysql2 | main vs mysql2 | RSS vs mysql2 | Target |',
  );
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const w of WORKLOADS) {
    const e = s.workloads[w.name];
    if (!e) continue;
    let firstRow = true;
    for (const client of CLIENTS) {
      const label = firstRow ? `**${w.name}** (${w.unit.label})<br>${w.title}` : '';
      if (!clientsFor(w).includes(client)) {
        L.push(`| ${label} | ${CLIENT_LABELS[client]} | n/a (no Drizzle driver) | | | | | | | | | | | | |`);
        firstRow = false;
        continue;
      }
      const c = e.clients[client];
      if (!c) continue;
      firstRow = false;
      if (c.primary == null) {
        L.push(`| ${label} | ${CLIENT_LABELS[client]} | error: ${(c.errors[0] || '').replace(/\|/g, '\\|').slice(0, 120)} | | | | | | | | | | | | |`);
        continue;
      }
      const v = c.vsMysql2 || {};
      const targets =
        client === 'ours'
          ? s.targets
              .filter((t) => TARGETS.find((x) => x.id === t.id).workload === w.name)
              .map((t) => `${t.short}: ${verdict(t.met)}`)
              .join('<br>')
          : '';
      L.push(
        `| ${label} | ${CLIENT_LABELS[client]} | ${primaryText(w, c)} | ${num(c.p50)} | ${num(c.p95)} | ${num(c.p99)} | ${num(c.cpuPerUnit)} | ${num(c.mainPerUnit)} | ${num(c.elu, 2)} | ${num(c.peakRssMB, 0)} | ${client === 'mysql2' ? '1.00×' : ratioFmt(v.primary)} | ${client === 'mysql2' ? '' : ratioFmt(v.cpuPerUnit)} | ${client === 'mysql2' ? '' : ratioFmt(v.mainPerUnit)} | ${client === 'mysql2' ? '' : ratioFmt(v.peakRss)} | ${targets} |`,
      );
    }
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
  const series = [
    { client: 'ours', label: 'napi-mysql-pool', color: '#2563eb' },
    { client: 'mariadb', label: 'mariadb', color: '#f59e0b' },
  ];
  const rows = WORKLOADS.filter((w) => s.workloads[w.name]);
  const width = 920;
  const left = 300;
  const right = 70;
  const top = 78;
  const barH = 11;
  const groupH = 2 * barH + 14;
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
  o.push(
    `<text x="20" y="22" font-size="15" font-weight="600" fill="#111827">napi-mysql-pool and mariadb relative to mysql2 (mysql2 = 1×, higher is better)</text>`,
  );
  o.push(
    `<text x="20" y="40" fill="#6b7280">${esc(`${m.machine.cpu}, ${m.machine.cores} cores · Node ${m.machine.node} · ${m.server.version} · ${m.date.slice(0, 10)} · ${m.mode} mode`)}</text>`,
  );
  series.forEach((se, i) => {
    const lx = 20 + i * 170;
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
    o.push(`<text x="${left - 10}" y="${gy + barH + 2}" text-anchor="end" fill="#111827">${esc(w.name)}</text>`);
    o.push(`<text x="${left - 10}" y="${gy + 2 * barH + 5}" text-anchor="end" fill="#9ca3af" font-size="10">${esc(METRIC_NOTE[w.metric])}</text>`);
    series.forEach((se, k) => {
      const by = gy + k * (barH + 2);
      const c = s.workloads[w.name].clients[se.client];
      if (!clientsFor(w).includes(se.client)) {
        o.push(`<text x="${left + 4}" y="${by + barH - 2}" fill="#9ca3af" font-size="10">n/a</text>`);
        return;
      }
      if (!c || c.speedup == null) {
        o.push(`<text x="${left + 4}" y="${by + barH - 2}" fill="#b91c1c" font-size="10">${c ? 'error' : 'not run'}</text>`);
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
  const rows = [['workload', 'metric', 'ours', 'mysql2', 'mariadb', 'ours/mysql2', 'mariadb/mysql2', 'CPU o/m', 'main o/m', 'RSS o/m']];
  for (const w of WORKLOADS) {
    const e = s.workloads[w.name];
    if (!e) continue;
    const val = (c) => {
      const x = e.clients[c];
      if (!clientsFor(w).includes(c)) return 'n/a';
      if (!x) return '';
      return x.primary == null ? 'error' : w.metric === 'ops' ? num(x.primary, 0) : num(x.primary);
    };
    const o = e.clients.ours?.vsMysql2 || {};
    rows.push([
      w.name,
      METRIC[w.metric].label,
      val('ours'),
      val('mysql2'),
      val('mariadb'),
      ratioFmt(o.primary),
      ratioFmt(e.clients.mariadb?.vsMysql2?.primary),
      ratioFmt(o.cpuPerUnit),
      ratioFmt(o.mainPerUnit),
      ratioFmt(o.peakRss),
    ]);
  }
  const t = [['target', 'goal', 'measured', 'status']];
  for (const x of s.targets)
    t.push([x.label, x.goal ?? '', x.id === 'rss-flat' ? (x.measured == null ? '–' : `${num(x.measured, 1)} MB`) : ratioFmt(x.measured), verdict(x.met)]);
  return `\n${headerLines(results).join('\n')}\n\n${table(rows)}\n\n${table(t)}`;
}

function progressLine(w, st) {
  const p = METRIC[w.metric].primary(st);
  const main = w.metric === 'ops' ? `${num(p, 0)} ops/s` : `${METRIC[w.metric].label.split(' ')[0]} ${num(p)} ms`;
  return `${main.padStart(16)}  p50 ${num(st.lat.p50)} p99 ${num(st.lat.p99)} ms  cpu ${num((st.cpuMs / st.ops) * w.unit.ops)} ms/${w.unit.label}  elu ${num(st.elu, 2)}  rss ${num(st.maxRSS / MB, 0)} MB`;
}

module.exports = { summarize, markdown, svg, stdoutTable, progressLine, median };
