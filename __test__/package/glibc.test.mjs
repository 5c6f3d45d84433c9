// The linux-gnu addon must load on old distributions (Debian 10, Ubuntu 18.04,
// Amazon Linux 2, RHEL 7): the highest GLIBC_x.y symbol version it needs,
// read from its ELF version-needs section, is at most 2.28 (2.17 when built
// with zig, as scripts/build-addon.js does whenever zig is installed).
import { describe, it, expect } from 'vitest'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const root = fileURLToPath(new URL('../..', import.meta.url))
const { glibcNeeds, versionNeeds, compare } = require('../../scripts/check-glibc.js')
const { record } = require('../../scripts/build-addon.js')

const artifacts = fs.readdirSync(root).filter((f) => /^napi-mysql-pool\.linux-[a-z0-9]+-gnu\.node$/.test(f))

/** How the artifact was built, from target/addon-build.json, when that record is about this very file. */
function buildRecord(file) {
  let rec
  try {
    rec = JSON.parse(fs.readFileSync(record, 'utf8'))
  } catch {
    return null
  }
  const sha256 = crypto
    .createHash('sha256')
    .update(fs.readFileSync(path.join(root, file)))
    .digest('hex')
  return rec.artifact === file && rec.sha256 === sha256 ? rec : null
}

describe.runIf(process.platform === 'linux' && artifacts.length > 0)('glibc the linux-gnu addon needs', () => {
  for (const file of artifacts) {
    const rec = buildRecord(file)
    const zig = rec?.zig === true
    const why = rec
      ? `it was built without zig (${rec.reason})`
      : `${path.basename(record)} does not describe it (built by hand, not by scripts/build-addon.js)`
    if (!zig)
      console.warn(`glibc.test: skipping the glibc ceiling for ${file}: ${why}. Install zig (pip install ziglang cargo-zigbuild) and run npm run build.`)

    it.runIf(zig)(`${file} needs glibc ≤ 2.28 (built for ${rec?.glibc ?? '?'})`, () => {
      const { max, versions } = glibcNeeds(path.join(root, file))
      console.log(`${file}: highest GLIBC symbol version needed: ${max} (all: ${versions.join(' ')})`)
      expect(max).not.toBe(null)
      expect(compare(max, '2.28')).toBeLessThanOrEqual(0)
      expect(compare(max, rec.glibc)).toBeLessThanOrEqual(0)
    })

    it(`${file}: the ELF reader agrees with the file's own structure`, () => {
      const needs = versionNeeds(fs.readFileSync(path.join(root, file)))
      const libc = needs.find((n) => n.file === 'libc.so.6')
      expect(libc, 'a glibc addon links libc.so.6').toBeDefined()
      expect(libc.versions.every((v) => /^GLIBC_[0-9.]+$/.test(v) || /^GLIBC_PRIVATE$/.test(v))).toBe(true)
      // Every Linux x86-64/arm64 glibc binary needs the baseline version of its arch.
      expect(libc.versions.some((v) => v === 'GLIBC_2.2.5' || v === 'GLIBC_2.17')).toBe(true)
    })
  }
})
