// The typings are part of the drop-in promise: a strict TypeScript app using
// createPool() from lib/index.js with drizzle-orm/mysql2 must compile.
//   npx vitest run __test__/types
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

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
})
