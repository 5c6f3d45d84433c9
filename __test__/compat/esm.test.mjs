// Every name index.d.ts declares must be importable by name from real Node
// ESM (vitest's own loader would hide a CommonJS export Node cannot see).
import { it, expect } from 'vitest'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'

it('named ESM imports of every declared export work in plain Node', () => {
  const root = path.resolve(import.meta.dirname, '..', '..')
  const dts = readFileSync(path.join(root, 'lib', 'index.d.ts'), 'utf8')
  const names = [...dts.matchAll(/^export declare (?:const|function|class) (\w+)/gm)].map((m) => m[1])
  expect(names.length).toBeGreaterThan(10)
  const src = `import { ${names.join(', ')} } from ${JSON.stringify(path.join(root, 'lib', 'index.js'))};\nconsole.log(JSON.stringify([${names.map((n) => `typeof ${n}`).join(', ')}]));`
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8' })
  const types = JSON.parse(out)
  names.forEach((n, i) => expect([n, types[i]]).not.toEqual([n, 'undefined']))
})
