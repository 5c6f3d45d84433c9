'use strict';
// The native addon, loaded through the loader that `napi build` generates
// (../index.js, never edited by hand). When no binary loads, that loader
// says only "Cannot find native binding" and blames an npm bug; this file
// turns it into an error that says which platform this is, which platforms
// have a prebuilt package, and how to build one from source.
const fs = require('node:fs');

const pkg = require('../package.json');

/** 'glibc 2.36', 'musl', or null off Linux (and 'unknown' when neither shows). */
function hostLibc() {
  if (process.platform !== 'linux') return null;
  try {
    const report = process.report?.getReport?.();
    const header = typeof report === 'string' ? JSON.parse(report).header : report?.header;
    if (header?.glibcVersionRuntime) return `glibc ${header.glibcVersionRuntime}`;
  } catch {}
  try {
    if (fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl')) return 'musl';
  } catch {}
  try {
    if (fs.readdirSync('/lib').some((f) => f.startsWith('ld-musl-'))) return 'musl';
  } catch {}
  return 'unknown';
}

/** The package suffix napi-rs gives this host: linux-x64-gnu, darwin-arm64, win32-x64-msvc… */
function hostTarget(libc) {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform === 'linux') return `${base}-${libc === 'musl' ? 'musl' : 'gnu'}`;
  if (process.platform === 'win32') return `${base}-msvc`;
  return base;
}

/** The per-platform packages this version is published with (napi pre-publish keeps them in step). */
function platformPackages() {
  const prefix = `${pkg.name}-`;
  const names = Object.keys(pkg.optionalDependencies || {}).filter((n) => n.startsWith(prefix));
  if (names.length > 0) return names;
  return (pkg.napi?.targets || []).map((t) => `${pkg.name} (${t})`);
}

/** The loader's attempts, first one first (its error chain holds the last one outermost). */
function causes(err) {
  const out = [];
  for (let e = err?.cause; e && out.length < 20; e = e.cause) out.unshift(String(e.message || e).split('\n')[0]);
  return out;
}

function explain(loaderError) {
  const libc = hostLibc();
  const target = hostTarget(libc);
  const wanted = `${pkg.name}-${target}`;
  const packages = platformPackages();
  const host = `process.platform=${process.platform}, process.arch=${process.arch}${libc ? `, libc=${libc}` : ''}`;
  const why = causes(loaderError);
  const fromSource = [
    'To build from source: install Rust (https://rustup.rs), clone the napi-mysql-pool repository,',
    'run `npm install && npm run build` there, and install that folder (`npm install /path/to/clone`)',
    'or point NAPI_RS_NATIVE_LIBRARY_PATH at the napi-mysql-pool.*.node it built.',
  ].join(' ');
  const lines = [];
  let code;
  const override = process.env.NAPI_RS_NATIVE_LIBRARY_PATH;
  if (override) {
    code = 'ERR_NATIVE_BINDING_LOAD';
    lines.push(`napi-mysql-pool: NAPI_RS_NATIVE_LIBRARY_PATH=${override} could not be loaded (${host}).`);
  } else if (!packages.includes(wanted)) {
    code = 'ERR_UNSUPPORTED_PLATFORM';
    lines.push(`napi-mysql-pool: no prebuilt binary for this platform, ${target} (${host}).`);
  } else {
    code = 'ERR_NATIVE_BINDING_LOAD';
    lines.push(`napi-mysql-pool: the prebuilt binary for ${target} (${wanted}@${pkg.version}) did not load (${host}).`);
    const glibcTooOld = why.some((m) => /GLIBC_[0-9.]+' not found/.test(m));
    lines.push(
      glibcTooOld
        ? "This system's C library is older than the binary needs (GLIBC_x.y not found, below); the published linux-gnu binaries need glibc 2.17 or later."
        : `If ${wanted} is missing from node_modules (installed with --omit=optional or --no-optional, or from a lockfile made on another platform), install it: npm install ${wanted}@${pkg.version}.`,
    );
  }
  lines.push(`Prebuilt packages: ${packages.join(', ')}.`);
  lines.push(fromSource);
  if (why.length > 0) lines.push(`Caused by:\n  ${why.join('\n  ')}`);
  const error = new Error(lines.join('\n'));
  error.code = code;
  error.platform = process.platform;
  error.arch = process.arch;
  error.libc = libc;
  error.target = target;
  error.packages = packages;
  error.cause = loaderError;
  return error;
}

function load() {
  try {
    return require('../index.js');
  } catch (err) {
    const msg = String(err?.message);
    if (msg.startsWith('Cannot find native binding') || msg.startsWith('Failed to load native binding')) throw explain(err);
    throw err;
  }
}

module.exports = load();
