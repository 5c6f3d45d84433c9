// The documentation's code examples compile: every ```ts and ```js block of
// README.md, monitoring/README.md and examples/trpc-drizzle/README.md is
// type-checked in strict mode against the package, imported by its name
// 'napi-mysql-pool' (a throwaway node_modules links it to this checkout).
// TypeScript blocks become .mts files (ESM, top-level await); JavaScript
// blocks .cjs (with require) or .mjs files, checked with checkJs. Every
// module a block imports from the package is also imported from a strict
// TypeScript file, so a deep import without types (TS7016 under strict) fails
// even where the block itself is JavaScript.
//   npx vitest run __test__/types/docs.test.mjs
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { linkPackage, makeProject, ROOT, tscErrors } from './project.mjs'

const DOCS = ['README.md', 'monitoring/README.md', 'examples/trpc-drizzle/README.md']

// Names the examples use as context without declaring them (fragments such
// as `app.get('/metrics', metricsHandler([pool, replicaPool]))`).
const GLOBALS = `import type { createPool as CreatePool, metricsHandler as MetricsHandler, Pool } from 'napi-mysql-pool'
declare global {
  var pool: Pool
  var replicaPool: Pool
  var createPool: typeof CreatePool
  var metricsHandler: typeof MetricsHandler
  var app: { get(path: string, handler: (req: any, res: any) => unknown): unknown }
  var host: string
  var signer: { getAuthToken(): Promise<string> }
  var rows: unknown[][]
}
export {}
`

/** Fenced ts/js blocks of a markdown file: { doc, line, lang, code }. */
function codeBlocks(doc, text = fs.readFileSync(path.join(ROOT, doc), 'utf8')) {
  const blocks = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    // (fences may be indented, inside a list item)
    const open = /^( *)```(ts|typescript|js|javascript|mjs|cjs)\s*$/.exec(lines[i])
    if (!open) continue
    const indent = open[1].length
    const start = i + 1
    let end = start
    while (end < lines.length && !/^ *```\s*$/.test(lines[end])) end++
    const lang = { typescript: 'ts', javascript: 'js' }[open[2]] ?? open[2]
    const code = lines
      .slice(start, end)
      .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
      .join('\n')
    blocks.push({ doc, line: start + 1, lang, code })
    i = end
  }
  return blocks
}

function fileName(block) {
  const stem = `${block.doc.replace(/[/.]/g, '-').toLowerCase()}-L${block.line}`
  if (block.lang === 'ts') return `${stem}.mts`
  if (block.lang === 'cjs' || (block.lang === 'js' && /\brequire\(/.test(block.code))) return `${stem}.cjs`
  return `${stem}.mjs`
}

/** The package's modules a block imports ('napi-mysql-pool', 'napi-mysql-pool/lib/...'), with how. */
function packageImports(block) {
  const found = []
  for (const m of block.code.matchAll(/\brequire\(\s*'(napi-mysql-pool(?:\/[^']*)?)'\s*\)/g)) found.push({ spec: m[1], esm: false })
  for (const m of block.code.matchAll(/\bfrom\s+'(napi-mysql-pool(?:\/[^']*)?)'/g)) found.push({ spec: m[1], esm: true })
  return found
}

function docsProject(blocks) {
  const files = { 'globals.d.ts': GLOBALS }
  const probes = new Map()
  for (const b of blocks) {
    files[fileName(b)] = `${b.code}\n`
    for (const { spec, esm } of packageImports(b)) probes.set(`${spec} ${esm}`, { spec, esm })
  }
  let n = 0
  for (const { spec, esm } of probes.values()) {
    n++
    files[`probe-${n}.${esm ? 'mts' : 'cts'}`] = `import * as m from '${spec}'\nexport const probe: object = m\n`
  }
  return makeProject({
    files,
    compilerOptions: { allowJs: true, checkJs: true, moduleDetection: 'force', skipLibCheck: true, preserveSymlinks: true },
    setup(nodeModules) {
      // the package itself, and what the examples import besides it
      linkPackage(nodeModules, 'napi-mysql-pool', ROOT)
      for (const name of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
        if (name.startsWith('.') || name === 'napi-mysql-pool') continue
        linkPackage(nodeModules, name)
      }
    },
  })
}

/** tsc's errors with each example file named by its document and line. */
function explain(out, blocks) {
  const byFile = new Map(blocks.map((b) => [fileName(b), b]))
  return tscErrors(out)
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const m = /^([^(]+)\((\d+),\d+\)/.exec(l)
      const b = m && byFile.get(m[1])
      return b ? `${b.doc}:${b.line + Number(m[2]) - 1}: ${l}` : l
    })
    .join('\n')
}

describe('documentation examples compile (strict)', () => {
  const blocks = DOCS.flatMap((doc) => codeBlocks(doc))

  it('finds the examples', () => {
    const count = (doc, lang) => blocks.filter((b) => b.doc === doc && (!lang || b.lang === lang)).length
    expect(count('README.md', 'ts')).toBeGreaterThanOrEqual(1)
    expect(count('README.md')).toBeGreaterThanOrEqual(5)
    expect(count('monitoring/README.md')).toBeGreaterThanOrEqual(3)
    expect(count('examples/trpc-drizzle/README.md', 'ts')).toBeGreaterThanOrEqual(1)
    // the deep imports the issue was about are among them
    const specs = blocks.flatMap((b) => packageImports(b).map((i) => i.spec))
    expect(specs).toContain('napi-mysql-pool/lib/observability')
    expect(specs).toContain('napi-mysql-pool')
  })

  it('every example type-checks against the package', async () => {
    const p = docsProject(blocks)
    try {
      const { code, out } = await p.tsc()
      expect(explain(out, blocks), 'tsc errors').toBe('')
      expect(code).toBe(0)
    } finally {
      p.cleanup()
    }
  })

  // Sensitivity: a JavaScript example calling a method that does not exist,
  // and one requiring a module of the package that has no types (what the
  // monitoring README's deep imports were before lib/observability.d.ts and
  // lib/trpc.d.ts), must fail: in the example and in its probe.
  it('fails for a wrong example', async () => {
    const bad = codeBlocks(
      'BAD.md',
      [
        '```js',
        "const { createPool } = require('napi-mysql-pool');",
        "createPool('mysql://localhost/app').helth();",
        '```',
        '```js',
        "const { CorePoolView } = require('napi-mysql-pool/lib/corepool');",
        '```',
      ].join('\n'),
    )
    const p = docsProject(bad)
    try {
      const { code, out } = await p.tsc()
      expect(code).not.toBe(0)
      const errs = explain(out, bad).split('\n').sort()
      expect(errs, errs.join('\n')).toHaveLength(3)
      expect(errs[0]).toMatch(/^BAD\.md:3: bad-md-L2\.cjs\(2,\d+\): error TS2551: Property 'helth' does not exist on type 'Pool'/)
      const untyped = /error TS7016: Could not find a declaration file for module 'napi-mysql-pool\/lib\/corepool'/
      expect(errs[1]).toMatch(/^BAD\.md:6: bad-md-L6\.cjs\(1,\d+\): /)
      expect(errs[1]).toMatch(untyped)
      expect(errs[2]).toMatch(/^probe-\d\.cts\(1,\d+\): /)
      expect(errs[2]).toMatch(untyped)
    } finally {
      p.cleanup()
    }
  })
})
