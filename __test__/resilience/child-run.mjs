// Runs a scenario in a child Node process (not a test file itself): a
// native crash or a hang there shows as a failed test, not a lost test run.
// Children import helpers.mjs, which therefore must not import vitest; this
// file is for the test files.
import { spawn } from 'node:child_process'
import { expect } from 'vitest'

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

/** The scenario's value from runChild()'s result; fails the test on a hang, a crash or a throw. */
export function childValue(result) {
  const tail = `\n--- stderr ---\n${result.stderr}`
  expect(result.timedOut, `child hung (killed)${tail}`).toBe(false)
  expect(result.signal, `child killed by ${result.signal}${tail}`).toBe(null)
  expect(result.out, `child exited with code ${result.code} and no result${tail}`).not.toBe(null)
  expect(result.out.ok, `scenario threw: ${result.out.error}`).toBe(true)
  return result.out.value
}
