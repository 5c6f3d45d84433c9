// The typings without the optional peers: a strict app (standalone-app.ts)
// must compile against the package installed types-only with neither mysql2
// nor @trpc/server present, and the same app must compile with mysql2
// present (then the types are mysql2's own). No skipLibCheck: our .d.ts
// files are checked too.
//   npx vitest run __test__/types/standalone.test.mjs
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { installTypesOnly, linkPackage, makeProject, ROOT, tscErrors } from './project.mjs'

const HERE = path.join(ROOT, '__test__/types')
const app = fs.readFileSync(path.join(HERE, 'standalone-app.ts'), 'utf8')

function project({ withMysql2, withTrpc = false, appText = app }) {
  return makeProject({
    files: {
      'app.ts': appText,
      'mode.ts': `export type ExpectedMysql2Installed = ${withMysql2}\n`,
      // 'napi-mysql-pool' and the tRPC entry point import by name
      'trpc-app.ts': [
        "import { createMonitoringRouter, createPool } from 'napi-mysql-pool'",
        "import { createMonitoringRouter as deep } from 'napi-mysql-pool/lib/trpc.js'",
        "import { health, metricsText } from 'napi-mysql-pool/lib/observability.js'",
        'const pool = createPool({ host: "h" })',
        'export const status: string = health(pool).status + metricsText(pool)',
        'export const same: typeof createMonitoringRouter = deep',
        '',
      ].join('\n'),
    },
    setup(nodeModules) {
      installTypesOnly(nodeModules)
      linkPackage(nodeModules, '@types/node')
      // the package's own runtime dependency, whose types mysql2's use too
      linkPackage(nodeModules, 'sql-escaper')
      if (withMysql2) linkPackage(nodeModules, 'mysql2')
      if (withTrpc) linkPackage(nodeModules, '@trpc/server')
    },
  })
}

describe('typings without mysql2 (optional peer)', () => {
  it('the package ships the self-contained types', () => {
    const p = project({ withMysql2: false })
    try {
      const lib = fs.readdirSync(path.join(p.dir, 'node_modules/napi-mysql-pool/lib'))
      expect(lib).toEqual(expect.arrayContaining(['index.d.ts', 'mysql2-types.d.ts', 'mysql2-standalone.d.ts', 'trpc.d.ts', 'observability.d.ts']))
      expect(fs.existsSync(path.join(p.dir, 'node_modules/mysql2'))).toBe(false)
      expect(fs.existsSync(path.join(p.dir, 'node_modules/@trpc'))).toBe(false)
    } finally {
      p.cleanup()
    }
  })

  it('a strict app compiles with neither mysql2 nor @trpc/server installed', async () => {
    const p = project({ withMysql2: false })
    try {
      const { code, out } = await p.tsc()
      expect(tscErrors(out), 'tsc errors').toBe('')
      expect(code).toBe(0)
    } finally {
      p.cleanup()
    }
  })

  it('the same app compiles with mysql2 (and @trpc/server) installed, on mysql2’s types', async () => {
    const p = project({ withMysql2: true, withTrpc: true })
    try {
      const { code, out } = await p.tsc()
      expect(tscErrors(out), 'tsc errors').toBe('')
      expect(code).toBe(0)
    } finally {
      p.cleanup()
    }
  })

  // Sensitivity: the mode check and the precision guards really run. A
  // wrong expectation about which types are in use, and a removed
  // @ts-expect-error guard, must each be reported.
  it('fails when the app is wrong (mode mismatch, guard removed)', async () => {
    const guard = '  // @ts-expect-error insertId is a number\n'
    expect(app).toContain(guard)
    const p = project({ withMysql2: true, appText: app.replace(guard, '') })
    fs.writeFileSync(path.join(p.dir, 'mode.ts'), 'export type ExpectedMysql2Installed = false\n')
    try {
      const { code, out } = await p.tsc()
      expect(code).not.toBe(0)
      const errs = tscErrors(out).split('\n').sort()
      expect(errs).toHaveLength(2)
      expect(errs[0]).toMatch(/^app\.ts\(\d+,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/)
      expect(errs[1]).toMatch(/^app\.ts\(\d+,\d+\): error TS2344: Type 'false' does not satisfy the constraint 'true'/)
    } finally {
      p.cleanup()
    }
  })
})
