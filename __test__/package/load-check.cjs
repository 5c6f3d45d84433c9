// Loads the addon on this platform and runs it once without a server:
// `node __test__/package/load-check.cjs` (also under Bun, in Alpine and old
// glibc containers, on macOS and Windows). The pool must load, fail a
// query to a closed port with mysql2's error fields, and end. Exits 0 when so.
'use strict'
const assert = require('node:assert/strict')
const net = require('node:net')

async function main() {
  const native = require('../../lib/native.js')
  const { createPool } = require('../../lib/index.js')
  const runtime = typeof Bun !== 'undefined' ? `bun ${Bun.version}` : `node ${process.version}`
  const report = process.report?.getReport?.()
  const glibc = report?.header?.glibcVersionRuntime
  console.log(
    `load-check: ${runtime} on ${process.platform}-${process.arch}${glibc ? ` glibc ${glibc}` : ''}: binding ${native.__napiBindingTarget || 'native'}`,
  )

  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const p = srv.address().port
      srv.close(() => resolve(p))
    })
  })
  const pool = createPool({ host: '127.0.0.1', port, user: 'nobody', connectTimeout: 2000, acquireTimeout: 5000 })
  await assert.rejects(pool.query('SELECT 1'), (e) => {
    assert.equal(typeof e.code, 'string')
    assert.equal(e.fatal, true)
    console.log(`load-check: closed port answered ${e.code}`)
    return true
  })
  assert.equal(pool.escape("it's"), "'it\\'s'")
  await pool.end()
  console.log('load-check: ok')
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error('load-check: FAILED', e)
    process.exit(1)
  },
)
