// prom-client integration (issue 15): lib/prometheus.js adds the pool's
// families to the app's own registry, next to its default metrics, so one
// /metrics serves both. Checked against the text the pool renders itself,
// then end to end with a real Prometheus server (Debian package
// `prometheus`) scraping that registry every second: values, types
// (histogram_quantile over the buckets), and mysql_pool_up going to 0 with
// the counters kept after pool.end().
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import parsePrometheus from 'parse-prometheus-text-format'
import { freePort } from '../harness/mariadb.mjs'

const require = createRequire(import.meta.url)
const client = require('prom-client')
const srv = inject('mysqlServer')
const { createPool } = require('../../lib/index.js')
const { registerPoolMetrics } = require('../../lib/prometheus.js')

const opts = (extra) => ({ host: srv.host, port: srv.port, user: srv.user, password: srv.password, database: srv.database, ...extra })
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const poolLines = (text) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('mysql_pool_') || l.startsWith('# HELP mysql_pool_') || l.startsWith('# TYPE mysql_pool_'))
    .sort()
const jsonValue = (pool, name) => pool.metrics('json').find((f) => f.name === name).values[0].value

function findPrometheus() {
  // PROMETHEUS_BIN overrides the search (a path that does not exist: skip).
  if (process.env.PROMETHEUS_BIN) return fs.existsSync(process.env.PROMETHEUS_BIN) ? process.env.PROMETHEUS_BIN : null
  for (const p of ['/usr/bin/prometheus', '/usr/local/bin/prometheus']) if (fs.existsSync(p)) return p
  const r = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' })
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null
}
const PROMETHEUS = findPrometheus()
if (!PROMETHEUS) console.warn('prometheus.test.mjs: the real-Prometheus test is SKIPPED: no prometheus binary (apt-get install prometheus)')

describe('registerPoolMetrics with a prom-client registry', () => {
  let pool
  let register
  beforeAll(async () => {
    pool = createPool(opts({ connectionLimit: 3, name: 'reg-test' }))
    await pool.query('SELECT 1')
    register = new client.Registry()
    client.collectDefaultMetrics({ register })
    new client.Counter({ name: 'app_requests_total', help: 'Requests.', registers: [register] }).inc(3)
  })
  afterAll(() => pool?.end())

  it('one /metrics: the app metrics and every pool family, with the same series pool.metrics() renders', async () => {
    const reg = registerPoolMetrics(pool, { register })
    try {
      const text = await register.metrics()
      expect(poolLines(text)).toEqual(poolLines(pool.metrics()))
      const fams = parsePrometheus(text)
      const names = fams.map((f) => f.name)
      expect(new Set(names).size).toBe(names.length)
      expect(names).toContain('process_cpu_user_seconds_total')
      expect(fams.find((f) => f.name === 'app_requests_total').metrics[0].value).toBe('3')
      const byName = Object.fromEntries(fams.map((f) => [f.name, f]))
      expect(byName.mysql_pool_up).toMatchObject({ type: 'GAUGE', metrics: [{ labels: { pool: 'reg-test' }, value: '1' }] })
      expect(byName.mysql_pool_connections_max.metrics[0].value).toBe('3')
      expect(byName.mysql_pool_queries_total).toMatchObject({ type: 'COUNTER', metrics: [{ labels: { pool: 'reg-test' } }] })
      expect(Number(byName.mysql_pool_queries_total.metrics[0].value)).toBe(jsonValue(pool, 'mysql_pool_queries_total'))
      const h = byName.mysql_pool_query_seconds
      expect(h.type).toBe('HISTOGRAM')
      // (the parser drops a histogram's labels; the text has them)
      expect(text).toMatch(/^mysql_pool_query_seconds_bucket\{pool="reg-test",le="\+Inf"\} \d+$/m)
      expect(Object.keys(h.metrics[0].buckets)).toHaveLength(require('../../index.js').histogramBuckets().length + 1)
      const count = /^mysql_pool_query_seconds_count\{pool="reg-test"\} (\d+)$/m.exec(text)[1]
      expect(Number(count)).toBeGreaterThan(0)
      expect(h.metrics[0].buckets['+Inf']).toBe(count)
      expect(reg.names).toEqual(pool.metrics('json').map((f) => f.name))
      // getMetricsAsJSON (what AggregatorRegistry uses) sees them too.
      const json = await register.getMetricsAsJSON()
      expect(json.find((m) => m.name === 'mysql_pool_up')).toMatchObject({
        type: 'gauge',
        aggregator: 'sum',
        values: [{ labels: { pool: 'reg-test' }, value: 1 }],
      })
    } finally {
      reg.unregister()
    }
    expect(register.getSingleMetric('mysql_pool_up')).toBeUndefined()
    expect(register.getSingleMetric('app_requests_total')).toBeDefined()
  })

  it('a name already in the registry: ERR_METRIC_ALREADY_REGISTERED, and nothing registered', () => {
    const reg = registerPoolMetrics(pool, { register })
    try {
      expect(() => registerPoolMetrics(pool, { register })).toThrow(expect.objectContaining({ code: 'ERR_METRIC_ALREADY_REGISTERED' }))
    } finally {
      reg.unregister()
    }
    for (const taken of ['mysql_pool_up', 'mysql_pool_query_seconds_count']) {
      const r = new client.Registry()
      new client.Gauge({ name: taken, help: 'app metric of the same name', registers: [r] })
      let err
      try {
        registerPoolMetrics(pool, { register: r })
      } catch (e) {
        err = e
      }
      expect(err).toMatchObject({ code: 'ERR_METRIC_ALREADY_REGISTERED' })
      expect(err.message).toContain(taken)
      expect(r.getMetricsAsArray()).toHaveLength(1)
    }
  })

  it('bad arguments have codes', () => {
    expect(() => registerPoolMetrics(pool, {})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_METRICS_OPTION' }))
    expect(() => registerPoolMetrics(null, { register: new client.Registry() })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_METRICS_SOURCE' }))
    expect(() => registerPoolMetrics({}, { register: new client.Registry() })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_METRICS_SOURCE' }))
  })

  it('{ client }: its default registry; OpenMetrics registries too', async () => {
    const reg = registerPoolMetrics(pool, { client })
    try {
      expect(await client.register.metrics()).toContain('mysql_pool_up{pool="reg-test"} 1')
    } finally {
      reg.unregister()
    }
    const om = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE)
    registerPoolMetrics(pool, { register: om })
    const text = await om.metrics()
    const q = jsonValue(pool, 'mysql_pool_queries_total')
    expect(text).toContain('# TYPE mysql_pool_queries counter\n')
    expect(text).toContain(`mysql_pool_queries_total{pool="reg-test"} ${q}\n`)
    expect(text).not.toContain('_total_total')
    expect(text.endsWith('# EOF\n')).toBe(true)
  })

  it('a function source: pools added later appear; an ended pool stays with up 0 and its counters', async () => {
    const pools = []
    const r = new client.Registry()
    registerPoolMetrics(() => pools, { register: r })
    expect(poolLines(await r.metrics()).filter((l) => !l.startsWith('#'))).toEqual([])
    const p = createPool(opts({ name: 'reg-later' }))
    pools.push(p)
    await p.query('SELECT 1')
    await p.query('SELECT 2')
    expect(await r.metrics()).toContain('mysql_pool_up{pool="reg-later"} 1')
    await p.end()
    const text = await r.metrics()
    expect(text).toContain('mysql_pool_up{pool="reg-later"} 0')
    expect(text).toContain('mysql_pool_queries_total{pool="reg-later"} 2')
    expect(p.metrics()).toContain('mysql_pool_up{pool="reg-later"} 0')
    expect(p.metrics()).toContain('mysql_pool_queries_total{pool="reg-later"} 2')
    expect(text).not.toContain(srv.password)
  })

  it('a PoolCluster: its per-node families (labels pool and node) and node families', async () => {
    const { createPoolCluster } = require('../../lib/index.js')
    const cluster = createPoolCluster()
    cluster.add('n1', opts({ connectionLimit: 1 }))
    try {
      await cluster.of('n1').query('SELECT 1')
      const r = new client.Registry()
      const reg = registerPoolMetrics(cluster, { register: r })
      expect(reg.names).toContain('mysql_pool_cluster_node_online')
      const fams = Object.fromEntries(parsePrometheus(await r.metrics()).map((f) => [f.name, f]))
      expect(fams.mysql_pool_cluster_node_online.metrics).toEqual([{ labels: { pool: 'n1', node: 'n1' }, value: '1' }])
      expect(fams.mysql_pool_queries_total.metrics).toEqual([{ labels: { pool: 'n1', node: 'n1' }, value: '1' }])
    } finally {
      await cluster.end()
    }
  })
})

describe.skipIf(!PROMETHEUS)(
  PROMETHEUS ? 'a real Prometheus scraping the app registry' : 'a real Prometheus (SKIPPED: no prometheus binary; apt-get install prometheus)',
  () => {
    let pool
    let register
    let server
    let prom
    let promLog = ''
    let dir
    let api

    async function query(q) {
      const r = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`)
      const body = await r.json()
      if (body.status !== 'success') throw new Error(`${q}: ${JSON.stringify(body)}`)
      return body.data.result
    }

    /** The single value of `q` once `ok(value)` holds (Prometheus scrapes every second). */
    async function waitFor(q, ok, timeoutMs = 8000) {
      const until = Date.now() + timeoutMs
      let last
      while (Date.now() < until) {
        const res = await query(q)
        last = res.length === 1 ? Number(res[0].value[1]) : res
        if (res.length === 1 && ok(last)) return last
        await sleep(200)
      }
      throw new Error(`${q}: last ${JSON.stringify(last)}\nprometheus log:\n${promLog.slice(-2000)}`)
    }

    beforeAll(async () => {
      pool = createPool(opts({ connectionLimit: 4, name: 'prom-test' }))
      register = new client.Registry()
      client.collectDefaultMetrics({ register })
      const scrapes = new client.Counter({ name: 'app_scrapes_total', help: 'Scrapes served.', registers: [register] })
      registerPoolMetrics(() => [pool], { register })
      server = http.createServer(async (req, res) => {
        scrapes.inc()
        const body = await register.metrics()
        res.writeHead(200, { 'Content-Type': register.contentType }).end(body)
      })
      await new Promise((r) => server.listen(0, '127.0.0.1', r))
      const target = `127.0.0.1:${server.address().port}`
      const promPort = await freePort()
      api = `http://127.0.0.1:${promPort}`
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nmp-prom-'))
      fs.writeFileSync(
        path.join(dir, 'prometheus.yml'),
        `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: napi\n    static_configs:\n      - targets: ['${target}']\n`,
      )
      prom = spawn(
        PROMETHEUS,
        [
          `--config.file=${path.join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${path.join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
          '--log.level=warn',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      )
      prom.stderr.on('data', (d) => (promLog += d))
      const until = Date.now() + 15000
      for (;;) {
        if (prom.exitCode !== null) throw new Error(`prometheus exited ${prom.exitCode}:\n${promLog}`)
        const ok = await fetch(`${api}/-/ready`).then(
          (r) => r.ok,
          () => false,
        )
        if (ok) break
        if (Date.now() > until) throw new Error(`prometheus not ready in 15 s:\n${promLog}`)
        await sleep(100)
      }
    })

    afterAll(async () => {
      if (prom && prom.exitCode === null) {
        const exited = new Promise((r) => prom.once('exit', r))
        prom.kill('SIGTERM')
        await Promise.race([exited, sleep(5000)])
        if (prom.exitCode === null) prom.kill('SIGKILL')
      }
      await new Promise((r) => (server ? server.close(r) : r()))
      await pool?.end()
      if (dir) fs.rmSync(dir, { recursive: true, force: true })
    })

    it('scrapes the pool next to the app metrics: gauges, counters, histogram buckets; up 0 after end()', async () => {
      // Three connections open, then idle.
      const conns = await Promise.all([pool.getConnection(), pool.getConnection(), pool.getConnection()])
      for (const c of conns) c.release()
      for (let i = 0; i < 5; i++) await pool.query('SELECT ?', [i])
      const queries = jsonValue(pool, 'mysql_pool_queries_total')
      expect(queries).toBe(5)
      const open = pool.pool._allConnections.length
      expect(open).toBe(3)

      expect(await waitFor('up{job="napi"}', (v) => v === 1)).toBe(1)
      expect(await waitFor('mysql_pool_up{pool="prom-test"}', (v) => v === 1)).toBe(1)
      expect(await waitFor('mysql_pool_queries_total{pool="prom-test"}', (v) => v === queries)).toBe(5)
      expect((await query('mysql_pool_connections_open{pool="prom-test"}'))[0].value[1]).toBe(String(open))
      expect((await query('mysql_pool_connections_max{pool="prom-test"}'))[0].value[1]).toBe('4')
      expect((await query('mysql_pool_connections_created_total{pool="prom-test"}'))[0].value[1]).toBe('3')
      // Histogram: Prometheus sees the buckets (le) and computes a quantile.
      expect((await query('mysql_pool_query_seconds_count{pool="prom-test"}'))[0].value[1]).toBe('5')
      expect((await query('mysql_pool_query_seconds_bucket{pool="prom-test",le="+Inf"}'))[0].value[1]).toBe('5')
      const q50 = Number((await query('histogram_quantile(0.5, mysql_pool_query_seconds_bucket{pool="prom-test"})'))[0].value[1])
      expect(q50).toBeGreaterThan(0)
      expect(q50).toBeLessThan(1)
      // The app's own metrics came from the same scrape.
      expect(Number((await query('app_scrapes_total{job="napi"}'))[0].value[1])).toBeGreaterThan(0)
      expect(await query('process_cpu_user_seconds_total{job="napi"}')).toHaveLength(1)
      // The scrape parsed cleanly.
      const targets = await (await fetch(`${api}/api/v1/targets`)).json()
      expect(targets.data.activeTargets.map((t) => [t.health, t.lastError])).toEqual([['up', '']])

      // A counter that moves.
      for (let i = 0; i < 3; i++) await pool.execute('SELECT ?', [i])
      expect(await waitFor('mysql_pool_queries_total{pool="prom-test"}', (v) => v === 8)).toBe(8)

      await pool.end()
      expect(await waitFor('mysql_pool_up{pool="prom-test"}', (v) => v === 0)).toBe(0)
      expect((await query('mysql_pool_queries_total{pool="prom-test"}'))[0].value[1]).toBe('8')
      expect((await query('mysql_pool_connections_open{pool="prom-test"}'))[0].value[1]).toBe('0')
    }, 30_000)
  },
)
