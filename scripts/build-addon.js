#!/usr/bin/env node
// Builds the native addon: `npm run build` (release), `npm run build:debug`
// (--debug), and scripts/ensure-built.js.
//
// On a glibc Linux host (x64, arm64) it links against glibc 2.17 through
// cargo-zigbuild (`napi build -x --target <triple>.2.17`), so the binary
// also loads on older distributions than the build machine (Debian 10,
// Ubuntu 18.04, Amazon Linux 2, RHEL/CentOS 7). That needs zig and
// cargo-zigbuild (`pip install ziglang cargo-zigbuild`); without them it
// falls back to a plain `cargo build`, which links against this machine's
// glibc, and says so. NMP_ZIG=0 forces the plain build.
//
// Either way it records how the artifact was made in target/addon-build.json
// (__test__/package/glibc.test.mjs reads it).
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const GLIBC = '2.17';
const record = path.join(root, 'target', 'addon-build.json');

const ok = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
};

function isGlibcLinux() {
  if (process.platform !== 'linux') return false;
  try {
    return Boolean(process.report.getReport().header.glibcVersionRuntime);
  } catch {
    return false;
  }
}

/** Why zig can't be used here, or null when it can. */
function zigUnavailable() {
  if (process.env.NMP_ZIG === '0') return 'NMP_ZIG=0';
  if (!ok('cargo-zigbuild', ['--version'])) return 'cargo-zigbuild is not installed (pip install cargo-zigbuild)';
  // cargo-zigbuild finds zig on the PATH or as the ziglang Python package.
  if (!ok('zig', ['version']) && !ok('python3', ['-m', 'ziglang', 'version'])) return 'zig is not installed (pip install ziglang)';
  return null;
}

/** The napi build arguments and what they will make. */
function plan({ debug = false } = {}) {
  const args = ['build', '--platform'];
  if (!debug) args.push('--release');
  const arch = { x64: 'x86_64', arm64: 'aarch64' }[process.arch];
  if (!isGlibcLinux() || !arch) return { args, zig: false, target: null, reason: 'not a glibc Linux x64/arm64 host' };
  const why = zigUnavailable();
  if (why) return { args, zig: false, target: null, reason: why };
  const target = `${arch}-unknown-linux-gnu.${GLIBC}`;
  return { args: [...args, '--cross-compile', '--target', target], zig: true, target, reason: null };
}

function build(opts = {}) {
  require('./patch-mysql-async.js').main();
  const p = plan(opts);
  if (!p.zig && p.reason !== 'not a glibc Linux x64/arm64 host') {
    console.warn(
      `napi-mysql-pool: building WITHOUT zig (${p.reason}): the addon will need this machine's glibc or newer, ` +
        `not glibc ${GLIBC}. Published Linux binaries are built with zig.`,
    );
  }
  // The CLI's own bin (its package exports hide the file path).
  const napi = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'napi.cmd' : 'napi');
  const startedAt = Date.now();
  execFileSync(napi, p.args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  const built = fs
    .readdirSync(root)
    .filter((f) => /^napi-mysql-pool\..*\.node$/.test(f))
    .map((f) => ({ f, at: fs.statSync(path.join(root, f)).mtimeMs }))
    .filter((x) => x.at >= startedAt - 1000)
    .sort((a, b) => b.at - a.at)[0];
  if (!built) throw new Error('napi build finished but no napi-mysql-pool.*.node was written');
  const sha256 = crypto
    .createHash('sha256')
    .update(fs.readFileSync(path.join(root, built.f)))
    .digest('hex');
  fs.mkdirSync(path.dirname(record), { recursive: true });
  fs.writeFileSync(
    record,
    `${JSON.stringify({ artifact: built.f, sha256, zig: p.zig, target: p.target, glibc: p.zig ? GLIBC : null, reason: p.reason, args: p.args }, null, 2)}\n`,
  );
  return built.f;
}

if (require.main === module) build({ debug: process.argv.includes('--debug') });
module.exports = { build, plan, record, GLIBC };
