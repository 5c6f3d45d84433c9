// @ts-check
// HTTP server of the example app:
//   /api/trpc/*  the tRPC router (users, posts, monitoring)
//   /metrics     Prometheus text format (?format=json or Accept: application/json for JSON)
//   /health      pool.health() as JSON (503 when unhealthy)
//
//   DATABASE_URL=mysql://user:pass@host:3306/app node examples/trpc-drizzle/server.mjs
import http from 'node:http'
import { pathToFileURL } from 'node:url'
import { createHTTPHandler } from '@trpc/server/adapters/standalone'
import napiMysqlPool from '../../lib/index.js'
import { closeDb, ensureSchema, getDatabase, getPool } from './db.mjs'
import { appRouter } from './router.mjs'

// Default import: `metricsHandler` is a lazy getter on lib/index.js that
// Node's CommonJS named-export detection does not see (see router.mjs).
const { metricsHandler } = napiMysqlPool

const TRPC_PREFIX = '/api/trpc'

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {unknown} body
 */
function sendJson(res, status, body) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

/** @param {http.ServerResponse} res */
async function health(res) {
  const pool = getPool()
  if (pool) {
    const h = pool.health()
    sendJson(res, h.healthy ? 200 : 503, h)
    return
  }
  // No pool: either not opened yet or running on the fallback connection.
  const d = await getDatabase().catch(() => null)
  if (d && d.connection) {
    const alive = await d.connection.ping().then(
      () => true,
      () => false,
    )
    sendJson(res, alive ? 200 : 503, {
      healthy: alive,
      status: alive ? 'warning' : 'unhealthy',
      poolType: 'direct',
      message: alive ? 'Connection pool unavailable; serving from a single direct connection' : 'Direct connection lost',
    })
    return
  }
  sendJson(res, 503, { healthy: false, status: 'unhealthy', message: 'Database not initialized' })
}

/**
 * Starts the app. Opens the database first (the pool, or the fallback
 * connection), as the origin app initialised its pool at server start.
 * @param {{ port?: number, host?: string, ensureTables?: boolean }} [options]
 * @returns {Promise<{ url: string, server: http.Server, close: () => Promise<void> }>}
 */
export async function start({ port = Number(process.env.PORT ?? 3000), host = process.env.HOST, ensureTables = true } = {}) {
  const database = await getDatabase()
  if (ensureTables) await ensureSchema(database.db)

  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: `${TRPC_PREFIX}/`,
    onError({ error, path }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') console.error(`[tRPC] ${path ?? '?'}:`, error.cause ?? error)
    },
  })

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (path === `${TRPC_PREFIX}` || path.startsWith(`${TRPC_PREFIX}/`)) {
      trpc(req, res)
    } else if (path === '/metrics') {
      // Resolved per request: the pool may be replaced after a reconnect.
      const pool = getPool()
      metricsHandler(pool ? [pool] : [])(req, res)
    } else if (path === '/health') {
      health(res).catch((e) => sendJson(res, 500, { healthy: false, message: String(e) }))
    } else {
      sendJson(res, 404, { error: 'Not found' })
    }
  })

  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve(undefined)
    })
  })
  const address = server.address()
  const boundPort = address && typeof address === 'object' ? address.port : port
  const shownHost = !host || host === '0.0.0.0' || host === '::' ? 'localhost' : host

  let closing = null
  /** Stops accepting requests, lets in-flight ones finish, then closes the pool. */
  const close = () => {
    closing ??= (async () => {
      await new Promise((resolve) => {
        server.close(() => resolve(undefined))
        // Keep-alive sockets with no request in flight would hold close() open.
        server.closeIdleConnections()
      })
      await closeDb()
    })()
    return closing
  }

  return { url: `http://${shownHost}:${boundPort}`, server, close }
}

// `node server.mjs`: start, and shut down gracefully on SIGTERM / SIGINT.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await start()
  console.log(`Listening on ${app.url} (tRPC at ${app.url}${TRPC_PREFIX}, metrics at ${app.url}/metrics)`)
  /** @param {NodeJS.Signals} signal */
  const shutdown = (signal) => {
    console.log(`${signal}: closing the server and the database pool`)
    // Give in-flight requests 10 s, then exit regardless.
    setTimeout(() => process.exit(1), 10_000).unref()
    app.close().then(
      () => process.exit(0),
      (e) => {
        console.error(e)
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
}
