// Runs a scenario in a child Node process (not a test file itself): a
// native crash or a hang there shows as a failed test, not a lost test run.
// Children import helpers.mjs, which therefore must not import vitest; this
// file is for the test files.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'vitest'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/**
 * Runs `node <args>` (a scenario that prints one `RESULT <json>` line) and
 * resolves with how it ended: { code, signal, timedOut, panicked, stderr, out }. A
 * native crash or a hang shows as a signal or timedOut, never a lost test run.
 */
export function runChild(args, { cwd, env, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    const killer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    // close, not exit: stdout can still hold the RESULT line when exit fires.
    child.on('close', (code, signal) => {
      clearTimeout(killer)
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '))
      // A Rust panic prints this line even when it is caught and thrown to JS.
      const panicked = /panicked at/.test(stderr)
      resolve({ code, signal, timedOut, panicked, stderr: stderr.slice(-3000), out: line ? JSON.parse(line.slice(7)) : null })
    })
  })
}

/**
 * Runs `fn` (an async function, serialized with toString: plain JS only) in
 * a child Node: fn({ require, root, ...modules, ...args }) where `require`
 * resolves from the package root ('./lib/index.js', 'mysql2/promise') and
 * `imports` ({ name: absolute path }) are ES modules loaded for it (an
 * import() inside fn would be rewritten by the test runner's transform). Its value comes
 * back as runChild()'s `out`. `exit: false` lets the child end by itself, so
 * a test can see whether anything kept its event loop alive.
 */
export function runScenario(fn, { args = {}, imports = {}, execArgv = [], env = {}, timeoutMs, exit = true } = {}) {
  const src = `
const { createRequire } = require('node:module')
const rootRequire = createRequire(${JSON.stringify(path.join(ROOT, 'package.json'))})
const scenario = (${fn.toString()})
const report = (out) => {
  process.stdout.write('\\nRESULT ' + JSON.stringify(out) + '\\n')
  if (${exit}) process.exit(0)
}
const imports = async () => {
  const out = {}
  for (const [name, file] of Object.entries(${JSON.stringify(imports)})) out[name] = await import(file)
  return out
}
imports().then((modules) => scenario({ require: rootRequire, root: ${JSON.stringify(ROOT)}, ...modules, ...JSON.parse(process.env.NMP_SCENARIO_ARGS) })).then(
  (value) => report({ ok: true, value }),
  (e) => report({ ok: false, error: String((e && e.stack) || e) }),
)
`
  return runChild([...execArgv, '-e', src], { cwd: ROOT, env: { ...env, NMP_SCENARIO_ARGS: JSON.stringify(args) }, timeoutMs })
}

/** The scenario's value from runChild()'s result; fails the test on a hang, a crash or a throw. */
export function childValue(result) {
  const tail = `\n--- stderr ---\n${result.stderr}`
  expect(result.timedOut, `child hung (killed)${tail}`).toBe(false)
  expect(result.signal, `child killed by ${result.signal}${tail}`).toBe(null)
  expect(result.out, `child exited with code ${result.code} and no result${tail}`).not.toBe(null)
  expect(result.out.ok, `scenario threw: ${result.out.error}`).toBe(true)
  return result.out.value
}
