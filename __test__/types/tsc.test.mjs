// The typings are part of the drop-in promise: a strict TypeScript app using
// createPool() from lib/index.js with drizzle-orm/mysql2 must compile.
//   npx vitest run __test__/types
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { linkPackage, makeProject } from './project.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.resolve(HERE, '../..')

function npxTsc(args) {
  return new Promise((resolve) => {
    execFile('npx', ['tsc', ...args], { cwd: ROOT, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` })
    })
  })
}

const tscErrors = (out) =>
  out
    .split('\n')
    .filter((l) => /error TS\d+/.test(l))
    .join('\n')

describe('TypeScript typings', () => {
  it('lib/index.d.ts exists', () => {
    expect(fs.existsSync(path.join(ROOT, 'lib/index.d.ts'))).toBe(true)
  })

  it('the strict typed app compiles: npx tsc -p __test__/types/tsconfig.json --noEmit', async () => {
    const { code, out } = await npxTsc(['-p', '__test__/types/tsconfig.json', '--noEmit'])
    expect(tscErrors(out), 'tsc errors').toBe('')
    expect(code).toBe(0)
  })

  it('tsconfig.json covers the app, the tRPC router checks and the mysql2 drift checks', () => {
    const base = JSON.parse(fs.readFileSync(path.join(HERE, 'tsconfig.json'), 'utf8').replace(/^\s*\/\/.*$/gm, ''))
    expect(base.files).toEqual(['app.ts', 'trpc.ts', 'mysql2-drift.ts'])
  })

  it('lib/index.d.ts itself type-checks (strict, no skipLibCheck)', async () => {
    const { code, out } = await npxTsc([
      '--noEmit',
      '--strict',
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--target',
      'ES2022',
      '--types',
      'node',
      'lib/index.d.ts',
      'lib/trpc.d.ts',
      'lib/observability.d.ts',
      'lib/mysql2-types.d.ts',
      'lib/mysql2-standalone.d.ts',
    ])
    expect(tscErrors(out), 'tsc errors').toBe('')
    expect(code).toBe(0)
  })

  // Sensitivity: the same app with one precision guard removed must fail.
  // If this passes while the app compiles, the typings are not `any`.
  it('fails when the types are violated (insertId assigned to a string)', async () => {
    const app = fs.readFileSync(path.join(HERE, 'app.ts'), 'utf8')
    const guard = '  // @ts-expect-error insertId is a number\n'
    expect(app).toContain(guard)
    const broken = path.join(HERE, `broken-${process.pid}.tmp.ts`)
    const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nmp-tsc-'))
    const tsconfig = path.join(tmpDir, 'tsconfig.json')
    const base = JSON.parse(fs.readFileSync(path.join(HERE, 'tsconfig.json'), 'utf8').replace(/^\s*\/\/.*$/gm, ''))
    fs.writeFileSync(broken, app.replace(guard, ''))
    const compilerOptions = { ...base.compilerOptions, typeRoots: [path.join(ROOT, 'node_modules/@types')] }
    fs.writeFileSync(tsconfig, JSON.stringify({ ...base, compilerOptions, files: [broken] }))
    try {
      const { code, out } = await npxTsc(['-p', tsconfig, '--noEmit'])
      expect(code).not.toBe(0)
      const errs = tscErrors(out)
      expect(errs).toMatch(/broken-\d+\.tmp\.ts\(\d+,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/)
      // and nothing else broke
      expect(errs.split('\n')).toHaveLength(1)
    } finally {
      fs.rmSync(broken, { force: true })
      fs.rmSync(tmpDir, { recursive: true, force: true })
    }
  })

  // Sensitivity of trpc.ts: with createMonitoringRouter typed `any` again
  // (as before issue 15), the router checks must fail, not pass silently.
  it('a monitoring router typed any fails trpc.ts', async () => {
    const files = { '__test__/types/trpc.ts': fs.readFileSync(path.join(HERE, 'trpc.ts'), 'utf8') }
    const libDir = path.join(ROOT, 'lib')
    for (const f of fs.readdirSync(libDir).filter((f) => f.endsWith('.d.ts'))) files[`lib/${f}`] = fs.readFileSync(path.join(libDir, f), 'utf8')
    const typed = /^export type MonitoringRouter<TT extends TRPCInstance> = .*$/m
    expect(files['lib/trpc.d.ts']).toMatch(typed)
    files['lib/trpc.d.ts'] = files['lib/trpc.d.ts'].replace(typed, 'export type MonitoringRouter<TT extends TRPCInstance> = any;')
    const p = makeProject({
      files,
      include: ['__test__/types/trpc.ts'],
      compilerOptions: { skipLibCheck: true },
      setup(nm) {
        for (const name of ['@types/node', '@trpc/server', 'mysql2', 'sql-escaper']) linkPackage(nm, name)
      },
    })
    try {
      const { code, out } = await p.tsc()
      expect(code).not.toBe(0)
      const errs = tscErrors(out).split('\n')
      // every Expect<> on the router's outputs reports, starting with the IsAny guard
      const notTrue = errs.filter((l) => /trpc\.ts\(\d+,\d+\): error TS2344: Type 'false' does not satisfy the constraint 'true'/.test(l))
      expect(notTrue.length).toBeGreaterThanOrEqual(15)
      const firstCheck = fs
        .readFileSync(path.join(HERE, 'trpc.ts'), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('Expect<Equal<IsAny<typeof monitoring>, false>>'))
      expect(notTrue[0]).toContain(`trpc.ts(${firstCheck + 1},`)
    } finally {
      p.cleanup()
    }
  })
})
