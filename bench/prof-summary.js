#!/usr/bin/env node
// node bench/prof-summary.js <file.cpuprofile> [top=25]
// Self time per function from a V8 CPU profile written by `npm run bench -- --prof`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const file = process.argv[2];
const top = Number(process.argv[3] || 25);
if (!file) {
  console.error('usage: node bench/prof-summary.js <file.cpuprofile> [top]');
  process.exit(2);
}
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const dt = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  dt.set(id, (dt.get(id) || 0) + (prof.timeDeltas[i] || 0));
}
const self = new Map();
let total = 0;
for (const [id, us] of dt) {
  const cf = byId.get(id).callFrame;
  const where = cf.url ? `${path.basename(cf.url)}:${cf.lineNumber + 1}` : '';
  const key = `${cf.functionName || '(anonymous)'} ${where}`.trim();
  self.set(key, (self.get(key) || 0) + us);
  total += us;
}
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`${path.basename(file)}: ${(total / 1000).toFixed(0)} ms sampled`);
for (const [k, us] of rows) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`);
