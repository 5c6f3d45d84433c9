// The published shape: `npm pack` yields a tarball with no tests or build
// junk that installs with pnpm into a fresh TypeScript app, where a Drizzle
// query runs against the test server.
import { it, expect, inject } from 'vitest'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '..', '..')
const srv = inject('mysqlServer')
const run = (cmd, args, cwd, env = {}) => execFileSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })

it('npm pack ships only the runtime files and installs into a fresh TypeScript app', { timeout: 240_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nmp-pack-'))
  try {
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dir], root))
    const files = packed[0].files.map((f) => f.path)
    expect(files).toContain('lib/index.js')
    expect(files).toContain('lib/index.d.ts')
    expect(files).toContain('index.js')
    expect(files.some((f) => /^napi-mysql-pool\..+\.node$/.test(f))).toBe(true)
    const junk = files.filter((f) => /^(__test__|src|target|bench|scripts|examples|npm|\.ci)\/|Cargo|\.test\.|\.tgz$/.test(f))
    expect(junk).toEqual([])
    const tgz = path.join(dir, packed[0].filename)

    const app = path.join(dir, 'app')
    fs.mkdirSync(app)
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'nmp-app', private: true, type: 'module' }))
    const versions = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')).packages
    const v = (name) => versions[`node_modules/${name}`].version
    run(
      'npx',
      [
        '--yes',
        'pnpm@9',
        'add',
        tgz,
        `drizzle-orm@${v('drizzle-orm')}`,
        `mysql2@${v('mysql2')}`,
        `typescript@${v('typescript')}`,
        `@types/node@${v('@types/node')}`,
      ],
      app,
    )
    fs.writeFileSync(
      path.join(app, 'main.ts'),
      [
        "import { createPool } from 'napi-mysql-pool';",
        "import { drizzle } from 'drizzle-orm/mysql2';",
        "import { mysqlTable, int, varchar } from 'drizzle-orm/mysql-core';",
        "import { eq, sql } from 'drizzle-orm';",
        "const items = mysqlTable('pack_items', { id: int('id').primaryKey(), label: varchar('label', { length: 20 }).notNull() });",
        'const pool = createPool(process.env.DB_URL as string);',
        'const db = drizzle(pool);',
        'await db.execute(sql`CREATE TABLE IF NOT EXISTS pack_items (id INT PRIMARY KEY, label VARCHAR(20) NOT NULL)`);',
        "await db.insert(items).values({ id: 1, label: 'from-tarball' }).onDuplicateKeyUpdate({ set: { label: 'from-tarball' } });",
        'const rows: { id: number; label: string }[] = await db.select().from(items).where(eq(items.id, 1));',
        'console.log(JSON.stringify(rows));',
        'await pool.end();',
      ].join('\n'),
    )
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          skipLibCheck: true,
          outDir: 'dist',
          types: ['node'],
        },
        files: ['main.ts'],
      }),
    )
    run(path.join(app, 'node_modules', '.bin', 'tsc'), ['-p', '.'], app)
    const out = run(process.execPath, ['dist/main.js'], app, { DB_URL: srv.url })
    expect(JSON.parse(out.trim())).toEqual([{ id: 1, label: 'from-tarball' }])
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
