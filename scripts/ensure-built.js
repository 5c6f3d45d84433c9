#!/usr/bin/env node
// Builds the native addon (release) when it is missing or older than the
// Rust sources, so `npm test`, `npm run demo` and `npm run bench` work on a
// fresh clone with one command.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const addon = fs.readdirSync(root).find((f) => /^napi-mysql-pool\..*\.node$/.test(f));

function newest(dir) {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

// mysql_async is built from a patched copy (see patch-mysql-async.js); it
// must exist before cargo reads Cargo.toml's [patch] section.
require('./patch-mysql-async.js').main();

const sourcesAt = Math.max(
  newest(path.join(root, 'src')),
  fs.statSync(path.join(__dirname, 'patch-mysql-async.js')).mtimeMs,
  fs.statSync(path.join(root, 'Cargo.toml')).mtimeMs,
  fs.statSync(path.join(root, 'build.rs')).mtimeMs,
);
if (addon && fs.statSync(path.join(root, addon)).mtimeMs >= sourcesAt && !process.env.NMP_FORCE_BUILD) {
  process.exit(0);
}
console.log(
  addon
    ? 'napi-mysql-pool: Rust sources changed, rebuilding the addon…'
    : 'napi-mysql-pool: building the native addon (release, first time takes a few minutes)…',
);
// Links against glibc 2.17 with zig when it is installed (see build-addon.js).
require('./build-addon.js').build();
