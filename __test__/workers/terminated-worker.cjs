// Worker body for shared.test.mjs: keeps pool.query calls and lent
// connections (one inside a transaction) in flight on the shared pool until
// it is terminated.
const { parentPort, workerData } = require('node:worker_threads')
const { createPool } = require('../../lib/index.js')

const pool = createPool({ ...workerData.options, shared: true, name: workerData.name })
async function lender(tx) {
  for (;;) {
    const c = await pool.getConnection()
    if (tx) await c.query('START TRANSACTION')
    await c.query('SELECT SLEEP(0.005)')
    await c.query('SELECT 1')
    c.release()
  }
}
async function querier() {
  for (;;) await pool.query('SELECT SLEEP(0.002)')
}
for (let i = 0; i < 8; i++) querier()
lender(false)
lender(true)
parentPort.postMessage('up')
