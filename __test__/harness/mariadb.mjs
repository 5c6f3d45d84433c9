// Throwaway MariaDB server for tests: own datadir, own port, own TLS material.
// Never touches the system server on :3306.
import { spawn, execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import mysql from 'mysql2/promise'

const DIR_PREFIX = 'nmp-mariadb-'
const READY_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 20_000

const debug = process.env.NMP_HARNESS_DEBUG ? (...a) => console.error('[nmp-harness]', ...a) : () => {}

// /usr/sbin is often not on PATH for non-login shells, so look there explicitly.
function findBinary(name, envVar) {
  if (process.env[envVar]) return process.env[envVar]
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
    const p = path.join(dir, name)
    if (fs.existsSync(p)) return p
  }
  return name
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 << 20, ...opts }, (err, stdout, stderr) => {
      if (err) {
        // err.message already carries the command line and stderr.
        if (stdout) err.message += `\n${stdout}`
        reject(err)
      } else resolve({ stdout, stderr })
    })
  })
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** A loopback port nobody listens on now (for throwaway servers the tests start). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

async function tail(file, lines = 40) {
  try {
    const text = await fsp.readFile(file, 'utf8')
    return text.trimEnd().split('\n').slice(-lines).join('\n')
  } catch (e) {
    return `(no error log: ${e.code || e.message})`
  }
}

// ---------------------------------------------------------------------------
// Process bookkeeping: whatever happens to the test run, no mariadbd outlives it.

const liveChildren = new Set()
const ownedDirs = new Set() // temp dirs to delete if the run ends without stop()
let handlersInstalled = false

function killAllNow() {
  for (const child of liveChildren) {
    try {
      process.kill(child.pid, 'SIGKILL')
    } catch {}
  }
  liveChildren.clear()
  for (const dir of ownedDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true })
    } catch {}
  }
  ownedDirs.clear()
}

function installExitHandlers() {
  if (handlersInstalled) return
  handlersInstalled = true
  process.on('exit', killAllNow)
  // A bare SIGINT/SIGTERM skips 'exit' handlers. Only take over the default
  // behaviour when nobody else (e.g. vitest) handles the signal.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    if (process.listenerCount(sig) > 0) continue
    const onSignal = () => {
      killAllNow()
      process.removeListener(sig, onSignal)
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig)
    }
    process.on(sig, onSignal)
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return e.code === 'EPERM'
  }
}

// A SIGKILLed test runner cannot clean up after itself; do it on the next run.
// Only servers whose owner process is gone, and whose command line names that
// very temp dir, are killed.
async function reapOrphans() {
  const tmp = os.tmpdir()
  let entries
  try {
    entries = await fsp.readdir(tmp)
  } catch {
    return
  }
  for (const name of entries) {
    if (!name.startsWith(DIR_PREFIX)) continue
    const dir = path.join(tmp, name)
    try {
      if (fs.existsSync(path.join(dir, 'KEEP'))) continue
      const owner = Number(await fsp.readFile(path.join(dir, 'owner.pid'), 'utf8'))
      if (!owner || isAlive(owner)) continue
      const pid = Number(await fsp.readFile(path.join(dir, 'mariadbd.pid'), 'utf8').catch(() => '0'))
      if (pid) {
        const cmdline = await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
        if (cmdline.includes(dir)) {
          debug('reaping orphan mariadbd', pid, dir)
          try {
            process.kill(pid, 'SIGKILL')
          } catch {}
        }
      }
      await fsp.rm(dir, { recursive: true, force: true })
    } catch {
      // Not ours or half-written: leave it alone.
    }
  }
}

// ---------------------------------------------------------------------------
// TLS material

function opensslConfig() {
  return `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

# 'openssl ca' is used for signing because, unlike 'x509 -req' in OpenSSL 3.0,
# it accepts explicit -startdate/-enddate, which the expired cert needs.
[ca]
default_ca = nmp_ca
[nmp_ca]
database = ca-db/index.txt
new_certs_dir = ca-db
serial = ca-db/serial
default_md = sha256
policy = nmp_policy
unique_subject = no
copy_extensions = none
email_in_dn = no
[nmp_policy]
commonName = supplied
`
}

async function generateCerts(certDir) {
  await fsp.mkdir(path.join(certDir, 'ca-db'), { recursive: true })
  const cnf = path.join(certDir, 'openssl.cnf')
  await fsp.writeFile(cnf, opensslConfig())
  await fsp.writeFile(path.join(certDir, 'ca-db', 'index.txt'), '')
  // Random first serial: every run has a fresh CA, but identical issuer+serial
  // pairs across runs upset some TLS stacks' caches.
  await fsp.writeFile(path.join(certDir, 'ca-db', 'serial'), '10' + randomBytes(7).toString('hex') + '\n')

  const tag = randomBytes(4).toString('hex')
  const ossl = (...args) => run('openssl', args, { cwd: certDir })
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  const selfSignedCa = (name, cn) =>
    ossl(
      'req',
      '-config',
      cnf,
      '-x509',
      ...ecKey,
      '-keyout',
      `${name}-key.pem`,
      '-out',
      `${name}.pem`,
      '-days',
      '3650',
      '-subj',
      `/CN=${cn}`,
      '-extensions',
      'ca_ext',
    )
  const csr = (name, cn) => ossl('req', '-config', cnf, '-new', ...ecKey, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`)

  await Promise.all([
    selfSignedCa('ca', `napi-mysql-pool test CA ${tag}`),
    selfSignedCa('other-ca', `napi-mysql-pool unrelated CA ${tag}`),
    csr('server', 'localhost'),
    csr('client', 'x509user'),
    csr('expired-server', 'localhost'),
  ])
  // 'openssl ca' rewrites its index/serial files, so signatures must be sequential.
  const sign = (name, ext, dates) =>
    ossl(
      'ca',
      '-batch',
      '-notext',
      '-config',
      cnf,
      '-cert',
      'ca.pem',
      '-keyfile',
      'ca-key.pem',
      '-in',
      `${name}.csr`,
      '-out',
      `${name}-cert.pem`,
      '-extensions',
      ext,
      ...dates,
    )
  await sign('server', 'server_ext', ['-days', '3650'])
  await sign('client', 'client_ext', ['-days', '3650'])
  await sign('expired-server', 'server_ext', ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z'])

  const certs = {
    ca: path.join(certDir, 'ca.pem'),
    serverCert: path.join(certDir, 'server-cert.pem'),
    serverKey: path.join(certDir, 'server-key.pem'),
    clientCert: path.join(certDir, 'client-cert.pem'),
    clientKey: path.join(certDir, 'client-key.pem'),
    otherCa: path.join(certDir, 'other-ca.pem'),
    expiredServerCert: path.join(certDir, 'expired-server-cert.pem'),
    expiredServerKey: path.join(certDir, 'expired-server-key.pem'),
  }
  const pem = {}
  for (const [k, file] of Object.entries(certs)) pem[k] = await fsp.readFile(file, 'utf8')
  return { certs, pem }
}

// ---------------------------------------------------------------------------

/**
 * Start a private MariaDB server.
 * options: { port?, tls? = true, serverCert?: 'valid' | 'expired', args?: string[], keep?: boolean }
 */
export async function startMariaDB(options = {}) {
  installExitHandlers()
  await reapOrphans()

  const mariadbd = findBinary('mariadbd', 'NMP_MARIADBD')
  const installDb = findBinary('mariadb-install-db', 'NMP_MARIADB_INSTALL_DB')
  const tls = options.tls !== false
  if (options.serverCert === 'expired' && !tls) throw new Error("serverCert: 'expired' needs tls")
  const runAs = os.userInfo().username

  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), DIR_PREFIX))
  await fsp.writeFile(path.join(dir, 'owner.pid'), String(process.pid))
  if (options.keep) await fsp.writeFile(path.join(dir, 'KEEP'), '')
  else ownedDirs.add(dir)
  const dataDir = path.join(dir, 'data')
  const socketPath = path.join(dir, 'mysqld.sock')
  const pidFile = path.join(dir, 'mariadbd.pid')
  const errorLog = path.join(dir, 'error.log')

  // Same InnoDB sizes for install and run, else the first start resizes the redo log.
  // A private tmpdir: servers bootstrapping side by side must not share /tmp.
  const tmpDir = path.join(dir, 'tmp')
  await fsp.mkdir(tmpDir)
  const innodbArgs = ['--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M', `--tmpdir=${tmpDir}`]

  let certs = null
  let pem = null
  try {
    const t0 = Date.now()
    // allSettled: on failure the other job must finish before the dir is removed.
    const results = await Promise.allSettled([
      run(installDb, [
        '--no-defaults',
        '--auth-root-authentication-method=normal',
        `--datadir=${dataDir}`,
        `--user=${runAs}`,
        '--skip-test-db',
        '--skip-name-resolve',
        ...innodbArgs,
      ]),
      tls ? generateCerts(path.join(dir, 'certs')) : null,
    ])
    for (const r of results) if (r.status === 'rejected') throw r.reason
    if (tls) ({ certs, pem } = results[1].value)
    debug(`install-db + certs in ${Date.now() - t0} ms`)
  } catch (e) {
    if (!options.keep) await fsp.rm(dir, { recursive: true, force: true })
    throw e
  }

  let port = options.port ?? (await freePort())
  let extraArgs = [...(options.args ?? [])]
  let child = null
  let stopped = false

  const serverArgs = () => {
    const args = [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${socketPath}`,
      `--pid-file=${pidFile}`,
      `--log-error=${errorLog}`,
      `--user=${runAs}`,
      '--skip-name-resolve',
      ...innodbArgs,
      '--max-connections=500',
      '--skip-log-bin',
      // Like a modern MySQL/TiDB default: emoji and other 4-byte text must round-trip.
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
    ]
    if (tls) {
      const expired = options.serverCert === 'expired'
      args.push(
        `--ssl-ca=${certs.ca}`,
        `--ssl-cert=${expired ? certs.expiredServerCert : certs.serverCert}`,
        `--ssl-key=${expired ? certs.expiredServerKey : certs.serverKey}`,
      )
    }
    return [...args, ...extraArgs]
  }

  const rootConn = () => mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password: '', connectTimeout: 3000 })

  function spawnServer() {
    const c = spawn(mariadbd, serverArgs(), { detached: true, stdio: 'ignore' })
    // The exit handler, not a ref'd child, decides the server's lifetime.
    c.unref()
    liveChildren.add(c)
    c.exited = new Promise((resolve) => {
      const done = (code, signal) => {
        liveChildren.delete(c)
        c.exitInfo = { code, signal }
        resolve(c.exitInfo)
      }
      c.once('exit', done)
      c.once('error', (err) => done(null, String(err)))
    })
    debug('spawned mariadbd pid', c.pid, 'port', port)
    return c
  }

  async function waitReady(c) {
    const deadline = Date.now() + READY_TIMEOUT_MS
    let lastErr
    while (Date.now() < deadline) {
      if (c.exitInfo) {
        const log = await tail(errorLog)
        const err = new Error(`mariadbd exited during startup (${JSON.stringify(c.exitInfo)}); error log tail:\n${log}`)
        err.bindFailure = /Bind on TCP\/IP port|Address already in use/.test(log)
        throw err
      }
      try {
        const conn = await rootConn()
        await conn.end()
        return
      } catch (e) {
        lastErr = e
      }
      await sleep(100)
    }
    throw new Error(
      `mariadbd not ready after ${READY_TIMEOUT_MS} ms on port ${port} (last: ${lastErr?.code || lastErr?.message}); error log tail:\n${await tail(errorLog)}`,
    )
  }

  async function startOnce() {
    child = spawnServer()
    try {
      await waitReady(child)
    } catch (e) {
      await killChild()
      throw e
    }
  }

  // Resolves true if the child exited in time. The child is unref'd, so the
  // ref'd timer is what keeps Node alive until its 'exit' event arrives.
  async function waitExit(c, ms) {
    let timer
    const exited = await Promise.race([c.exited.then(() => true), new Promise((r) => (timer = setTimeout(() => r(false), ms)))])
    clearTimeout(timer)
    return exited
  }

  async function killChild() {
    if (!child || child.exitInfo) return
    try {
      process.kill(child.pid, 'SIGKILL')
    } catch {}
    if (!(await waitExit(child, STOP_TIMEOUT_MS))) throw new Error(`mariadbd pid ${child.pid} survived SIGKILL`)
  }

  async function gracefulStop() {
    if (!child || child.exitInfo) return
    try {
      process.kill(child.pid, 'SIGTERM')
    } catch {}
    if (!(await waitExit(child, STOP_TIMEOUT_MS))) {
      debug('graceful shutdown timed out; SIGKILL')
      await killChild()
    }
  }

  try {
    // The OS-chosen port can be grabbed by someone else before mariadbd binds it.
    for (let attempt = 0; ; attempt++) {
      try {
        await startOnce()
        break
      } catch (e) {
        if (!e.bindFailure || options.port != null || attempt >= 2) throw e
        port = await freePort()
        debug('port taken, retrying on', port)
      }
    }

    const setup = await rootConn()
    try {
      for (const sql of [
        'SET GLOBAL max_connections=500',
        'CREATE DATABASE IF NOT EXISTS test',
        "CREATE USER 'napi'@'%' IDENTIFIED BY 'napi-secret'",
        "CREATE USER 'napi'@'localhost' IDENTIFIED BY 'napi-secret'",
        "GRANT ALL ON *.* TO 'napi'@'%'",
        "GRANT ALL ON *.* TO 'napi'@'localhost'",
        "CREATE USER 'x509user'@'%' REQUIRE X509",
        "CREATE USER 'x509user'@'localhost' REQUIRE X509",
        "GRANT ALL ON test.* TO 'x509user'@'%'",
        "GRANT ALL ON test.* TO 'x509user'@'localhost'",
      ]) {
        await setup.query(sql)
      }
    } finally {
      await setup.end()
    }
  } catch (e) {
    await killChild()
    if (!options.keep) await fsp.rm(dir, { recursive: true, force: true })
    throw e
  }

  const server = {
    host: '127.0.0.1',
    get port() {
      return port
    },
    user: 'napi',
    password: 'napi-secret',
    database: 'test',
    rootUser: 'root',
    x509User: 'x509user',
    get url() {
      return `mysql://napi:napi-secret@127.0.0.1:${port}/test`
    },
    dir,
    socketPath,
    errorLog,
    certs,
    pem,
    get pid() {
      return child && !child.exitInfo ? child.pid : null
    },
    get running() {
      return !!child && !child.exitInfo
    },

    async stop() {
      if (stopped) return
      stopped = true
      await gracefulStop()
      if (!options.keep) await fsp.rm(dir, { recursive: true, force: true })
      ownedDirs.delete(dir)
    },

    async kill() {
      await killChild()
    },

    async start(startOptions = {}) {
      if (stopped) throw new Error('server was stop()ped; its datadir is gone')
      if (server.running) throw new Error('server is already running')
      if (startOptions.args) extraArgs = [...startOptions.args]
      await startOnce()
    },

    async restart(startOptions = {}) {
      await gracefulStop()
      await server.start(startOptions)
    },

    async exec(sql, params) {
      const conn = await rootConn()
      try {
        const [rows] = await conn.query(sql, params)
        return rows
      } finally {
        await conn.end().catch(() => conn.destroy())
      }
    },
  }
  return server
}
