// Smoke test under Bun (or any runtime): `bun __test__/package/bun-smoke.mjs`.
// Loads the addon through lib/index.js, then query, execute, getConnection
// and a transaction (commit and rollback) against MYSQL_URL or a throwaway
// MariaDB it starts itself. Exits 0 only when every result is as expected.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const runtime = typeof Bun !== 'undefined' ? `bun ${Bun.version}` : `node ${process.version}`
const t0 = Date.now()
const step = (what) => console.log(`bun-smoke [${runtime}] ${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`)

let server = null
let pool = null
let failed = false
try {
  const { createPool } = require('../../lib/index.js')
  step('addon loaded')
  let url = process.env.MYSQL_URL
  if (!url) {
    // Bun's os.userInfo().username is $USER, or 'unknown' when that is unset
    // (Node asks the passwd database); the harness runs mariadbd as that user.
    const os = await import('node:os')
    if (os.userInfo().username === 'unknown') throw new Error('os.userInfo().username is "unknown": set USER (USER=$(id -un) bun …)')
    const { startMariaDB } = await import('../harness/mariadb.mjs')
    server = await startMariaDB({ tls: false })
    url = server.url
    step('throwaway MariaDB started')
  }
  pool = createPool({ uri: url, connectionLimit: 4 })

  const [rows, fields] = await pool.query('SELECT 1 + ? AS two, ? AS s', [1, 'héllo ✓'])
  assert.deepEqual(rows, [{ two: 2, s: 'héllo ✓' }])
  assert.deepEqual(
    fields.map((f) => f.name),
    ['two', 's'],
  )
  step('query')

  await pool.query('DROP TABLE IF EXISTS bun_smoke')
  await pool.query('CREATE TABLE bun_smoke (id INT PRIMARY KEY, label VARCHAR(20) NOT NULL, amount DECIMAL(10,2), at DATETIME)')
  const [ins] = await pool.execute('INSERT INTO bun_smoke VALUES (?, ?, ?, ?), (?, ?, ?, ?)', [
    1,
    'one',
    '1.50',
    new Date('2024-01-02T03:04:05Z'),
    2,
    'two',
    null,
    null,
  ])
  assert.equal(ins.affectedRows, 2)
  const [got] = await pool.execute('SELECT id, label, amount FROM bun_smoke WHERE id = ?', [1])
  assert.deepEqual(got, [{ id: 1, label: 'one', amount: '1.50' }])
  const concurrent = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.execute('SELECT ? AS i', [i])))
  assert.deepEqual(
    concurrent.map(([r]) => r[0].i),
    Array.from({ length: 20 }, (_, i) => i),
  )
  step('execute')

  const conn = await pool.getConnection()
  try {
    await conn.beginTransaction()
    await conn.query('UPDATE bun_smoke SET label = ? WHERE id = 1', ['rolled back'])
    await conn.rollback()
    await conn.beginTransaction()
    await conn.execute('UPDATE bun_smoke SET label = ? WHERE id = 2', ['committed'])
    await conn.commit()
    const [[{ cid }]] = await conn.query('SELECT CONNECTION_ID() AS cid')
    assert.equal(typeof cid, 'number')
  } finally {
    conn.release()
  }
  const [after] = await pool.query('SELECT id, label FROM bun_smoke ORDER BY id')
  assert.deepEqual(after, [
    { id: 1, label: 'one' },
    { id: 2, label: 'committed' },
  ])
  step('getConnection + transaction')

  await assert.rejects(pool.query('SELECT * FROM no_such_table_bun'), (e) => e.code === 'ER_NO_SUCH_TABLE' && e.errno === 1146)
  assert.equal(pool.stats().counts.total <= 4, true)
  // Bun's event loop is not libuv: answers wake JS through a threadsafe function (src/wake.rs).
  assert.equal(pool._native.wakeKind(), 'tsfn')
  step('error + stats')

  await pool.query('DROP TABLE bun_smoke')
  await pool.end()
  pool = null
  step('pool ended')
} catch (e) {
  failed = true
  console.error(`bun-smoke [${runtime}] FAILED:`, e)
} finally {
  if (pool) await pool.end().catch(() => {})
  if (server) await server.stop().catch((e) => console.error('bun-smoke: stopping MariaDB:', e))
}
console.log(failed ? 'bun-smoke: FAILED' : 'bun-smoke: ok')
process.exit(failed ? 1 : 0)
