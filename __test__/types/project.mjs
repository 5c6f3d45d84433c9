// Throwaway TypeScript projects for the typing tests: a temp directory with
// its own node_modules, compiled with the repository's TypeScript
// (node_modules/typescript/bin/tsc). Not a test file itself.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc')

/** The `error TSxxxx` lines of tsc's output, one per line ('' when none). */
export const tscErrors = (out) =>
  out
    .split('\n')
    .filter((l) => /error TS\d+/.test(l))
    .join('\n')

export function runTsc(args, cwd = ROOT) {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, ...args], { cwd, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` })
    })
  })
}

/** Strict settings every throwaway project starts from; no skipLibCheck, so our .d.ts files are checked too. */
export const STRICT = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  noEmit: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  esModuleInterop: true,
  skipLibCheck: false,
  types: ['node'],
}

/**
 * The package as npm would install it, types only: package.json plus
 * lib/*.d.ts, copied (a symlink would let lib/mysql2-types.d.ts find the
 * repository's node_modules/mysql2 through its real path).
 */
export function installTypesOnly(nodeModules) {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  const dest = path.join(nodeModules, 'napi-mysql-pool')
  fs.mkdirSync(path.join(dest, 'lib'), { recursive: true })
  const { name, version, main, types } = pkg
  fs.writeFileSync(path.join(dest, 'package.json'), JSON.stringify({ name, version, main, types }, null, 2))
  const copied = []
  for (const f of fs.readdirSync(path.join(ROOT, 'lib'))) {
    if (!f.endsWith('.d.ts')) continue
    fs.copyFileSync(path.join(ROOT, 'lib', f), path.join(dest, 'lib', f))
    copied.push(f)
  }
  return copied
}

/** node_modules/<name> -> the repository's copy (scoped names too). */
export function linkPackage(nodeModules, name, target = path.join(ROOT, 'node_modules', name)) {
  const at = path.join(nodeModules, name)
  fs.mkdirSync(path.dirname(at), { recursive: true })
  fs.symlinkSync(target, at, 'dir')
}

/**
 * A temp project: `files` (relative path -> text) and a tsconfig.json made
 * of STRICT plus `compilerOptions`. `setup(nodeModules)` fills node_modules.
 * Returns { dir, tsc(), cleanup() }.
 */
export function makeProject({ files, compilerOptions = {}, include, setup }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nmp-types-'))
  const nodeModules = path.join(dir, 'node_modules')
  fs.mkdirSync(nodeModules)
  if (setup) setup(nodeModules)
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    fs.writeFileSync(path.join(dir, rel), text)
  }
  const tsconfig = { compilerOptions: { ...STRICT, ...compilerOptions }, include: include ?? Object.keys(files) }
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2))
  return {
    dir,
    tsc: () => runTsc(['-p', path.join(dir, 'tsconfig.json')], dir),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  }
}
