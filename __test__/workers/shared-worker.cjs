// Worker body for shared.test.mjs: attaches to the shared pool by name and
// runs point queries, then reports what it saw.
const { parentPort, workerData } = require('node:worker_threads')
const { createPool } = require('../../lib/index.js')

;(async () => {
  const pool = createPool({ ...workerData.options, shared: true, name: workerData.name })
  const threadIds = new Set()
  let ok = 0
  for (let round = 0; round < 10; round++) {
    const res = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.query('SELECT ? AS w, ? AS i, CONNECTION_ID() AS tid', [workerData.index, i])))
    res.forEach(([rows], i) => {
      if (rows[0].w === workerData.index && rows[0].i === i) ok++
      threadIds.add(rows[0].tid)
    })
  }
  const stats = pool.stats()
  await pool.end()
  parentPort.postMessage({ ok, threadIds: [...threadIds], total: stats.counts.total, limit: stats.counts.limit, pipelined: stats.counters.pipelined })
})().catch((err) => parentPort.postMessage({ error: `${err.code}: ${err.message}` }))
