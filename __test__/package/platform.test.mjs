// Platform packages and the error on a platform without a binary: the
// per-platform packages under npm/ match package.json's napi.targets and
// optionalDependencies (also in the packed tarball), and when no binary
// loads, lib/native.js names the platform, the packages that exist and how
// to build from source instead of the generated loader's npm-bug message.
import { describe, it, expect } from 'vitest'
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
const SUFFIX = {
  'x86_64-unknown-linux-gnu': 'linux-x64-gnu',
  'x86_64-unknown-linux-musl': 'linux-x64-musl',
  'aarch64-unknown-linux-gnu': 'linux-arm64-gnu',
  'aarch64-unknown-linux-musl': 'linux-arm64-musl',
  'x86_64-apple-darwin': 'darwin-x64',
  'aarch64-apple-darwin': 'darwin-arm64',
  'x86_64-pc-windows-msvc': 'win32-x64-msvc',
}
const expectedPackages = Object.values(SUFFIX).map((s) => `${pkg.name}-${s}`)

/** Runs `code` in a fresh node (CommonJS, cwd = root) with optional preload and env; returns the error it printed as JSON. */
function loadError(code, { preload, env = {}, cwd = root } = {}) {
  const args = []
  if (preload) {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nmp-preload-')), 'preload.cjs')
    fs.writeFileSync(file, preload)
    args.push('-r', file)
  }
  const script = `try { ${code}; console.log(JSON.stringify({ loaded: true })) } catch (e) {
    console.log(JSON.stringify({ code: e.code, message: e.message, platform: e.platform, arch: e.arch, libc: e.libc, target: e.target, packages: e.packages, hasCause: !!e.cause }))
  }`
  const childEnv = { ...process.env, ...env }
  if (!('NAPI_RS_NATIVE_LIBRARY_PATH' in env)) delete childEnv.NAPI_RS_NATIVE_LIBRARY_PATH
  const out = execFileSync(process.execPath, [...args, '-e', script], { cwd, env: childEnv, encoding: 'utf8' })
  return JSON.parse(out.trim().split('\n').pop())
}

function expectHelpful(err) {
  expect(err.message).toContain(`process.platform=${process.platform}`)
  expect(err.message).toContain(`process.arch=${err.arch}`)
  for (const p of expectedPackages) expect(err.message).toContain(p)
  expect(err.message).toMatch(/install Rust/)
  expect(err.message).toMatch(/npm run build/)
  expect(err.message).not.toMatch(/npm has a bug/)
  expect(err.packages.sort()).toEqual([...expectedPackages].sort())
  expect(err.hasCause).toBe(true)
}

describe('per-platform packages', () => {
  it('package.json declares the seven targets, one version-locked optional dependency each, and npm/ has their packages', () => {
    expect([...pkg.napi.targets].sort()).toEqual(Object.keys(SUFFIX).sort())
    expect(pkg.optionalDependencies).toEqual(Object.fromEntries(expectedPackages.map((p) => [p, pkg.version])))
    for (const [triple, suffix] of Object.entries(SUFFIX)) {
      const sub = JSON.parse(fs.readFileSync(path.join(root, 'npm', suffix, 'package.json'), 'utf8'))
      const [platform, arch, abi] = suffix.split('-')
      expect(sub, triple).toMatchObject({
        name: `${pkg.name}-${suffix}`,
        version: pkg.version,
        main: `${pkg.napi.binaryName}.${suffix}.node`,
        files: [`${pkg.napi.binaryName}.${suffix}.node`],
        os: [platform],
        cpu: [arch],
      })
      if (platform === 'linux') expect(sub.libc, triple).toEqual([abi === 'musl' ? 'musl' : 'glibc'])
      else expect(sub.libc, triple).toBeUndefined()
    }
  })

  it('the packed package.json carries the optionalDependencies', { timeout: 120_000 }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nmp-packjson-'))
    try {
      const [packed] = JSON.parse(
        execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
      )
      const files = packed.files.map((f) => f.path)
      expect(files).toContain('lib/native.js')
      expect(files.some((f) => f.startsWith('npm/'))).toBe(false)
      const manifest = JSON.parse(execFileSync('tar', ['-xzOf', path.join(dir, packed.filename), 'package/package.json'], { encoding: 'utf8' }))
      expect(manifest.optionalDependencies).toEqual(Object.fromEntries(expectedPackages.map((p) => [p, pkg.version])))
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('no binary for this platform', () => {
  it('an architecture without a package: ERR_UNSUPPORTED_PLATFORM names it, lists the packages and says how to build', () => {
    const err = loadError("require('./lib/index.js')", { preload: "Object.defineProperty(process, 'arch', { value: 'riscv64' })" })
    expect(err.code).toBe('ERR_UNSUPPORTED_PLATFORM')
    expect(err.arch).toBe('riscv64')
    expect(err.message).toContain('no prebuilt binary for this platform')
    expect(err.message).toContain(`${process.platform}-riscv64`)
    if (process.platform === 'linux') {
      expect(err.libc).toMatch(/^(glibc [0-9.]+|musl)$/)
      expect(err.message).toContain(`libc=${err.libc}`)
    }
    expectHelpful(err)
  })

  it('an operating system without a package (FreeBSD)', () => {
    const err = loadError("require('./lib/native.js')", { preload: "Object.defineProperty(process, 'platform', { value: 'freebsd' })" })
    expect(err.code).toBe('ERR_UNSUPPORTED_PLATFORM')
    expect(err.target).toBe(`freebsd-${process.arch}`)
    expect(err.libc).toBe(null)
    expect(err.message).toContain('process.platform=freebsd')
  })

  it('NAPI_RS_NATIVE_LIBRARY_PATH pointing at a missing file: the override is named', () => {
    const missing = path.join(os.tmpdir(), 'nmp-no-such-dir', 'napi-mysql-pool.node')
    const err = loadError("require('./lib/index.js')", { env: { NAPI_RS_NATIVE_LIBRARY_PATH: missing } })
    expect(err.code).toBe('ERR_NATIVE_BINDING_LOAD')
    expect(err.message).toContain(`NAPI_RS_NATIVE_LIBRARY_PATH=${missing}`)
    expect(err.message).toContain(missing)
    expect(err.arch).toBe(process.arch)
    expectHelpful(err)
  })

  it('a supported platform whose package is missing (installed with --omit=optional): says which package to install', () => {
    // The loader, lib/native.js and package.json alone, with no .node beside them and no node_modules.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nmp-nobinary-'))
    try {
      fs.mkdirSync(path.join(dir, 'lib'))
      for (const f of ['index.js', 'package.json', 'lib/native.js']) fs.copyFileSync(path.join(root, f), path.join(dir, f))
      const err = loadError("require('./lib/native.js')", { cwd: dir })
      const here = expectedPackages.find((p) => p === `${pkg.name}-${err.target}`)
      if (!here) {
        expect(err.code).toBe('ERR_UNSUPPORTED_PLATFORM')
        return
      }
      expect(err.code).toBe('ERR_NATIVE_BINDING_LOAD')
      expect(err.message).toContain(`the prebuilt binary for ${err.target} (${here}@${pkg.version}) did not load`)
      expect(err.message).toContain(`npm install ${here}@${pkg.version}`)
      expectHelpful(err)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  const localGnu = fs.readdirSync(root).some((f) => /^napi-mysql-pool\.linux-[a-z0-9]+-gnu\.node$/.test(f))
  it.runIf(process.platform === 'linux' && localGnu)("a binary that needs a newer glibc than the system's: says so", () => {
    // What dlopen reports on an old distribution, e.g. Debian 11 with a binary linked against glibc 2.34.
    const preload = `require.extensions['.node'] = (m, file) => {
      throw new Error(\`/lib/x86_64-linux-gnu/libc.so.6: version \\\`GLIBC_2.34' not found (required by \${file})\`)
    }`
    const err = loadError("require('./lib/index.js')", { preload })
    expect(err.code).toBe('ERR_NATIVE_BINDING_LOAD')
    expect(err.message).toMatch(/older than the binary needs/)
    expect(err.message).toContain("GLIBC_2.34' not found")
    expectHelpful(err)
  })

  it('a loaded binding is the loader’s own exports, untouched', () => {
    const r = spawnSync(
      process.execPath,
      ['-e', "const n = require('./lib/native.js'); process.stdout.write(String(n === require('./index.js') && typeof n.NativePool === 'function'))"],
      {
        cwd: root,
        encoding: 'utf8',
      },
    )
    expect(r.stdout).toBe('true')
  })
})
