// Authentication plugins a server can switch a login to. MariaDB's ed25519
// works here (mysql2 has no client side for it: AUTH_SWITCH_PLUGIN_ERROR,
// README "Known differences"); PARSEC and the rest are unknown plugins, with
// mysql2's code. Before, a switch to either plugin panicked inside
// mysql_async, and the panic skipped the pool's count of connections being
// opened: with connectionLimit 1 the next query waited for ever.
import crypto from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startFakeMysql } from '../harness/mysql-fake.mjs'
import { createPool, rejectionOf } from '../resilience/helpers.mjs'
import { mysql2 } from './diff-helpers.mjs'

const srv = inject('mysqlServer')
const pick = (e) => ({ code: e.code, errno: e.errno, fatal: e.fatal })
// A query that neither answers nor fails within this long is a hang.
const within = (p, ms = 4000) => Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))])

describe('a server that switches the login to another plugin (fake server)', () => {
  for (const [plugin, data] of [
    ['parsec', Buffer.alloc(32, 0x43)],
    ['auth_gssapi_client', Buffer.from('principal\0')],
    ['dialog', Buffer.from('\x04Password: ')],
  ]) {
    it(`${plugin}: mysql2's code, every time, and the pool goes on`, async () => {
      const fake = await startFakeMysql({ authSwitch: { plugin, data }, password: 'p' })
      const opts = { host: fake.host, port: fake.port, user: 'u', password: 'p', connectionLimit: 1, connectTimeout: 2000 }
      const ours = createPool(opts)
      const ref = mysql2.createPool(opts)
      try {
        for (let i = 0; i < 3; i++) {
          const a = pick(await within(rejectionOf(ours.query('SELECT 1'))))
          const b = pick(await within(rejectionOf(ref.query('SELECT 1'))))
          expect(a).toEqual({ ...b, fatal: true })
          expect(a.code).toBe('AUTH_SWITCH_PLUGIN_ERROR')
        }
        // Nothing left counted as opening or open.
        expect(ours.stats().counts).toMatchObject({ total: 0, connecting: 0, active: 0 })
      } finally {
        await Promise.allSettled([ours.end(), ref.end()])
        await fake.close()
      }
    })
  }

  it('client_ed25519: the client signs the challenge, and a refusal is the server error', async () => {
    const fake = await startFakeMysql({ authSwitch: { plugin: 'client_ed25519', data: Buffer.alloc(32, 0x42) }, password: 'p' })
    const ours = createPool({ host: fake.host, port: fake.port, user: 'u', password: 'p', connectionLimit: 1, connectTimeout: 2000 })
    try {
      for (let i = 0; i < 2; i++) {
        const e = await within(rejectionOf(ours.query('SELECT 1')))
        expect(pick(e)).toEqual({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045, fatal: true })
      }
      // An Ed25519 signature: 64 bytes.
      expect(fake.conns.map((c) => c.authSwitchReply?.length)).toEqual([64, 64])
    } finally {
      await ours.end()
      await fake.close()
    }
  })
})

describe('MariaDB ed25519 accounts (real server)', () => {
  let admin
  let ready = false
  beforeAll(async () => {
    // Granting needs the throwaway server's root (the test user has no
    // GRANT OPTION); another server skips this part.
    admin = mysql2.createPool({ host: srv.host, port: srv.port, user: 'root', password: '', connectionLimit: 1 })
    if (
      srv.external ||
      !(await admin.query('SELECT 1').then(
        () => true,
        () => false,
      ))
    )
      return
    const [plugins] = await admin.query("SELECT PLUGIN_STATUS s FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'ed25519'")
    if (plugins.length === 0) {
      // Not loaded: it ships with MariaDB (auth_ed25519.so); a server
      // without it, or a user who may not load it, skips this part.
      await admin.query("INSTALL SONAME 'auth_ed25519'").catch(() => {})
    }
    const [after] = await admin.query("SELECT PLUGIN_STATUS s FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'ed25519'")
    if (after[0]?.s !== 'ACTIVE') return
    await admin.query("DROP USER IF EXISTS 'nmp_ed'@'%'")
    await admin.query("CREATE USER 'nmp_ed'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('ed-secret é')")
    await admin.query(`GRANT SELECT ON \`${srv.database}\`.* TO 'nmp_ed'@'%'`)
    ready = true
  })
  afterAll(async () => {
    if (ready) await admin.query("DROP USER IF EXISTS 'nmp_ed'@'%'")
    await admin?.end()
  })

  it('logs in with the right password and is refused with a wrong one', async (ctx) => {
    if (!ready) ctx.skip()
    const base = { host: srv.host, port: srv.port, user: 'nmp_ed', database: srv.database, connectionLimit: 1 }
    const ours = createPool({ ...base, password: 'ed-secret é' })
    const wrong = createPool({ ...base, password: 'ed-secret e' })
    const ref = mysql2.createPool({ ...base, password: 'ed-secret é' })
    try {
      const [rows] = await ours.query('SELECT CURRENT_USER() AS u')
      expect(rows).toEqual([{ u: 'nmp_ed@%' }])
      const e = await rejectionOf(wrong.query('SELECT 1'))
      expect(pick(e)).toEqual({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045, fatal: true })
      // mysql2 has no client side for the plugin (README "Known differences").
      expect((await rejectionOf(ref.query('SELECT 1'))).code).toBe('AUTH_SWITCH_PLUGIN_ERROR')
    } finally {
      await Promise.allSettled([ours.end(), wrong.end(), ref.end()])
    }
  })
})

describe('mysql_clear_password (PAM, LDAP, AWS RDS IAM logins)', () => {
  it("without enableCleartextPlugin: mysql2's code, and the password is never sent", async () => {
    const fake = await startFakeMysql({ authSwitch: { plugin: 'mysql_clear_password' }, password: 'p' })
    const opts = { host: fake.host, port: fake.port, user: 'u', password: 'p', connectionLimit: 1, connectTimeout: 2000 }
    const ours = createPool(opts)
    const ref = mysql2.createPool(opts)
    try {
      const a = pick(await within(rejectionOf(ours.query('SELECT 1'))))
      const b = pick(await within(rejectionOf(ref.query('SELECT 1'))))
      expect(a).toEqual({ ...b, fatal: true })
      expect(a.code).toBe('MYSQL_CLEAR_PASSWORD_NOT_ENABLED')
      expect(fake.conns.map((c) => c.authSwitchReply)).toEqual([undefined, undefined])
    } finally {
      await Promise.allSettled([ours.end(), ref.end()])
      await fake.close()
    }
  })

  it('with enableCleartextPlugin: true the password goes as mysql2 sends it', async () => {
    const fake = await startFakeMysql({ authSwitch: { plugin: 'mysql_clear_password' }, password: 'p' })
    const opts = { host: fake.host, port: fake.port, user: 'u', password: 'tok-é', connectionLimit: 1, connectTimeout: 2000, enableCleartextPlugin: true }
    const ours = createPool(opts)
    const ref = mysql2.createPool(opts)
    try {
      // The fake then checks a native-password token, which this is not: refused.
      expect(pick(await within(rejectionOf(ours.query('SELECT 1')))).code).toBe('ER_ACCESS_DENIED_ERROR')
      expect(pick(await within(rejectionOf(ref.query('SELECT 1')))).code).toBe('ER_ACCESS_DENIED_ERROR')
      const [sut, refReply] = fake.conns.map((c) => c.authSwitchReply)
      expect(sut).toEqual(refReply)
      expect(sut.toString('utf8')).toBe('tok-é\0')
    } finally {
      await Promise.allSettled([ours.end(), ref.end()])
      await fake.close()
    }
  })
})

describe("caching_sha2_password without TLS: the server's RSA key (fake server)", () => {
  const nonce = Buffer.alloc(20, 0x41)
  const pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pemOf = (key) => key.export({ type: 'spki', format: 'pem' })
  const derLen = (n) => (n < 128 ? Buffer.from([n]) : n < 256 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 255]))
  const tlv = (tag, body) => Buffer.concat([Buffer.from([tag]), derLen(body.length), body])
  const bigInt = (bytes) => tlv(0x02, Buffer.concat([Buffer.from([0]), Buffer.alloc(bytes, 0xff)]))
  const armour = (label, der) => `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${label}-----\n`
  const keyPacket = (pem) => Buffer.concat([Buffer.from([1]), Buffer.from(pem)])
  // Switch to caching_sha2_password, ask for full authentication (0x01
  // 0x04), then answer the client's key request with `key`.
  const login = (key, switchData = nonce) => ({
    authSwitch: { plugin: 'caching_sha2_password', data: Buffer.concat([switchData, switchData.length ? Buffer.from([0]) : Buffer.alloc(0)]) },
    authExchange: [Buffer.from([1, 4]), key],
    password: 'p',
  })

  it('a good key: the password arrives encrypted with it (RSA-OAEP), XORed with the scramble', async () => {
    const fake = await startFakeMysql(login(keyPacket(pemOf(pair.publicKey))))
    const ours = createPool({ host: fake.host, port: fake.port, user: 'u', password: 'pässword', connectionLimit: 1, connectTimeout: 2000 })
    try {
      expect(pick(await within(rejectionOf(ours.query('SELECT 1'))))).toEqual({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045, fatal: true })
      const [askKey, encrypted] = fake.conns[0].authReplies
      expect([...askKey]).toEqual([2])
      const plain = crypto.privateDecrypt({ key: pair.privateKey, oaepHash: 'sha1' }, encrypted)
      const expected = Buffer.from('pässword\0')
      for (let i = 0; i < expected.length; i++) expected[i] ^= nonce[i % nonce.length]
      expect(plain).toEqual(expected)
    } finally {
      await ours.end()
      await fake.close()
    }
  })

  it('a good key in PKCS #1 form works as well', async () => {
    const fake = await startFakeMysql(login(keyPacket(pair.publicKey.export({ type: 'pkcs1', format: 'pem' }))))
    const ours = createPool({ host: fake.host, port: fake.port, user: 'u', password: 'p', connectionLimit: 1, connectTimeout: 2000 })
    try {
      expect(pick(await within(rejectionOf(ours.query('SELECT 1')))).code).toBe('ER_ACCESS_DENIED_ERROR')
      const plain = crypto.privateDecrypt({ key: pair.privateKey, oaepHash: 'sha1' }, fake.conns[0].authReplies[1])
      expect(plain).toEqual(Buffer.from([0x70 ^ 0x41, 0 ^ 0x41]))
    } finally {
      await ours.end()
      await fake.close()
    }
  })

  it('300 mangled keys: each refused or used, never a panic (stderr of a child process)', async () => {
    // In a child, so that what a panic prints can be read: the PEM and DER
    // readers behind the key panic on bad input unless the check before
    // them says no first.
    const { execFile } = await import('node:child_process')
    const script = `
      const crypto = require('node:crypto')
      const { startFakeMysql } = await import(${JSON.stringify(new URL('../harness/mysql-fake.mjs', import.meta.url).href)})
      const { createPool } = require(${JSON.stringify(new URL('../../lib/index.js', import.meta.url).pathname)})
      const good = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey
      const pems = [good.export({ type: 'spki', format: 'pem' }), good.export({ type: 'pkcs1', format: 'pem' })]
      let seed = 7
      const rnd = (n) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n }
      const mangle = (pem) => {
        const b = [...Buffer.from(pem)]
        for (let k = 1 + rnd(3); k > 0; k--) {
          const at = rnd(b.length)
          const what = rnd(4)
          if (what === 0) b[at] ^= 1 << rnd(8)
          else if (what === 1) b.splice(at, 1 + rnd(8))
          else if (what === 2) b.splice(at, 0, ...[45, 61, 65, 47, 43, 32, 10].slice(rnd(7)))
          else b[at] = rnd(256)
        }
        return Buffer.from(b)
      }
      const counts = {}
      for (let i = 0; i < 300; i++) {
        const key = Buffer.concat([Buffer.from([1]), mangle(pems[i % 2])])
        const fake = await startFakeMysql({
          authSwitch: { plugin: 'caching_sha2_password', data: Buffer.concat([Buffer.alloc(20, 0x41), Buffer.from([0])]) },
          authExchange: [Buffer.from([1, 4]), key],
          password: 'p',
        })
        const pool = createPool({ host: fake.host, port: fake.port, user: 'u', password: 'p', connectionLimit: 1, connectTimeout: 2000 })
        const e = await pool.query('SELECT 1').then(() => ({ code: 'ok' }), (err) => err)
        counts[e.code] = (counts[e.code] || 0) + 1
        await pool.end()
        await fake.close()
      }
      console.log(JSON.stringify(counts))
    `
    const { stdout, stderr } = await new Promise((resolve, reject) =>
      execFile(
        process.execPath,
        ['--input-type=module', '-e', `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); ${script}`],
        { timeout: 60_000 },
        (err, out, errOut) => (err ? reject(Object.assign(err, { stderr: errOut })) : resolve({ stdout: out, stderr: errOut })),
      ),
    )
    expect(stderr).not.toMatch(/panic/i)
    const counts = JSON.parse(stdout)
    expect(Object.keys(counts).sort()).toEqual(expect.arrayContaining(['PROTOCOL_UNEXPECTED_PACKET']))
    expect(Object.keys(counts).filter((c) => c !== 'PROTOCOL_UNEXPECTED_PACKET' && c !== 'ER_ACCESS_DENIED_ERROR')).toEqual([])
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(300)
  }, 90_000)

  const hostile = {
    'an empty key packet': [Buffer.alloc(0)],
    'text that is no key': [keyPacket('not a key at all')],
    'a PEM that is not base64': [keyPacket('-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n')],
    'base64 that is no DER key': [keyPacket(armour('PUBLIC KEY', Buffer.from([5, 0, 1])))],
    // ~4 KB of PEM, under the size cap: refused by its numbers, before any arithmetic.
    'a modulus and exponent of 12,000 bits': [keyPacket(armour('RSA PUBLIC KEY', tlv(0x30, Buffer.concat([bigInt(1500), bigInt(1500)]))))],
    'a 40,000-byte key': [keyPacket(armour('RSA PUBLIC KEY', tlv(0x30, Buffer.concat([bigInt(15000), bigInt(15000)]))))],
    'a key too small for the password': [
      keyPacket(pemOf(crypto.generateKeyPairSync('rsa', { modulusLength: 512 }).publicKey)),
      'a password longer than a 512-bit key can carry',
    ],
    'an empty scramble': [keyPacket(pemOf(pair.publicKey)), 'p', Buffer.alloc(0)],
  }
  for (const [what, [key, password = 'p', switchData]] of Object.entries(hostile)) {
    it(`${what}: a protocol error at once, every time, and the pool goes on`, async () => {
      const fake = await startFakeMysql(login(key, switchData))
      const ours = createPool({ host: fake.host, port: fake.port, user: 'u', password, connectionLimit: 1, connectTimeout: 3000 })
      try {
        for (let i = 0; i < 2; i++) {
          const t0 = Date.now()
          const e = await within(rejectionOf(ours.query('SELECT 1')))
          expect(pick(e)).toEqual({ code: 'PROTOCOL_UNEXPECTED_PACKET', errno: undefined, fatal: true })
          expect(e.message).toMatch(/RSA public key/)
          expect(Date.now() - t0).toBeLessThan(1500)
        }
        expect(ours.stats().counts).toMatchObject({ total: 0, connecting: 0 })
      } finally {
        await ours.end()
        await fake.close()
      }
    })
  }
})
