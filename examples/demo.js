#!/usr/bin/env node
// The README's main command (`npm run demo`): starts a throwaway MariaDB with
// TLS, opens a pool configured like the origin app (20 TLS connections,
// unlimited queue, keep-alive), replays its validation load (10/100/200
// concurrent queries, then a sustained mix), and prints health(), stats()
// and the Prometheus output.
'use strict';
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { createPool } = require('../lib/index.js');

const harnessUrl = pathToFileURL(path.join(__dirname, '..', '__test__', 'harness', 'mariadb.mjs')).href;
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

async function main() {
  let server = null;
  let target = process.env.MYSQL_URL;
  let ssl;
  if (!target) {
    process.stdout.write('Starting a throwaway MariaDB (TLS on)… ');
    const { startMariaDB } = await import(harnessUrl);
    server = await startMariaDB();
    target = server.url;
    ssl = { ca: server.pem.ca, rejectUnauthorized: true };
    console.log(`up on 127.0.0.1:${server.port}`);
  }
  // The seed's configuration (server/_core/connectionPool.ts), TLS included.
  const pool = createPool({
    uri: target,
    connectionLimit: 20,
    waitForConnections: true,
    queueLimit: 0,
    enableKeepAlive: true,
    keepAliveInitialDelay: 10000,
    connectTimeout: 10000,
    idleTimeout: 600000,
    maxIdle: 10,
    ssl,
    name: 'demo',
  });
  try {
    await pool.query('CREATE TABLE IF NOT EXISTS demo_users (id INT PRIMARY KEY, email VARCHAR(100), score DOUBLE, created DATETIME(3))');
    await pool.query('DELETE FROM demo_users');
    const rows = Array.from({ length: 1000 }, (_, i) => [i + 1, `user${i + 1}@example.com`, i / 7, new Date(Date.UTC(2025, 10, 14, 12, 0, 0, i))]);
    await pool.query('INSERT INTO demo_users VALUES ?', [rows]);
    const [[tls]] = await pool.query("SHOW SESSION STATUS LIKE 'Ssl_version'");
    console.log(`TLS: ${tls.Value || 'off'}`);

    console.log('\nSeed validation load (point selects by primary key):');
    console.log('  concurrent  duration   all rows correct');
    for (const n of [10, 100, 200]) {
      const t0 = process.hrtime.bigint();
      const results = await Promise.all(Array.from({ length: n }, (_, i) => pool.query('SELECT id, email FROM demo_users WHERE id = ?', [(i % 1000) + 1])));
      const ok = results.every(([r], i) => r.length === 1 && r[0].id === (i % 1000) + 1 && r[0].email === `user${(i % 1000) + 1}@example.com`);
      console.log(`  ${String(n).padStart(10)}  ${ms(t0).toFixed(1).padStart(6)} ms  ${ok ? 'yes' : 'NO'}`);
      if (!ok) process.exitCode = 1;
    }

    const seconds = Number(process.env.DEMO_SECONDS || 5);
    console.log(`\nSustained load for ${seconds} s, 200 in flight (query + execute + transactions):`);
    const end = Date.now() + seconds * 1000;
    let done = 0;
    let failed = 0;
    let nextReport = Date.now() + 1000;
    const worker = async (w) => {
      while (Date.now() < end) {
        const id = ((done + w) % 1000) + 1;
        try {
          if (w % 10 === 0) {
            const conn = await pool.getConnection();
            try {
              await conn.beginTransaction();
              await conn.execute('UPDATE demo_users SET score = score + 1 WHERE id = ?', [id]);
              await conn.commit();
            } finally {
              conn.release();
            }
          } else if (w % 2 === 0) await pool.execute('SELECT * FROM demo_users WHERE id = ?', [id]);
          else await pool.query('SELECT * FROM demo_users WHERE id = ?', [id]);
          done++;
        } catch (err) {
          failed++;
          if (failed < 5) console.error('  error:', err.code, err.message);
        }
        if (Date.now() >= nextReport) {
          nextReport += 1000;
          const h = pool.health();
          console.log(`  ${done} ops, ${failed} errors, utilization ${h.poolUtilization}%, waiting ${h.waitingClients}`);
        }
      }
    };
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: 200 }, (_, w) => worker(w)));
    console.log(`  total: ${done} ops in ${(ms(t0) / 1000).toFixed(1)} s = ${Math.round(done / (ms(t0) / 1000))} ops/s, ${failed} errors`);
    if (failed) process.exitCode = 1;

    console.log('\nhealth():');
    console.log(JSON.stringify(pool.health(), null, 2));
    const stats = pool.stats();
    console.log('\nstats():');
    console.log(JSON.stringify(stats, null, 2));
    console.log('\nPrometheus (first lines of pool.metrics()):');
    console.log(
      pool
        .metrics()
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .slice(0, 24)
        .join('\n'),
    );
  } finally {
    await pool.end();
    if (server) await server.stop();
  }
}

main().catch((err) => {
  console.error('demo failed:', err);
  process.exit(1);
});
