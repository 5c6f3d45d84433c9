#!/usr/bin/env node
// Which glibc a Linux binary needs: the highest GLIBC_x.y among the symbol
// versions it requires (the ELF .gnu.version_r section, what `objdump -T`
// shows as GLIBC_2.xx), read here without binutils.
//
//   node scripts/check-glibc.js <file.node> [--max 2.17]
//
// prints the versions it needs and exits 1 when the highest is above --max.
'use strict';
const fs = require('node:fs');

const SHT_GNU_VERNEED = 0x6ffffffe;

/** The symbol versions an ELF file requires, per library: [{ file: 'libc.so.6', versions: ['GLIBC_2.2.5', …] }]. */
function versionNeeds(buf) {
  if (buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const addr = (o) => (is64 ? Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o)) : u32(o));
  const shoff = addr(is64 ? 0x28 : 0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const section = (i) => {
    const at = shoff + i * shentsize;
    return {
      type: u32(at + 4),
      offset: addr(at + (is64 ? 0x18 : 0x10)),
      size: addr(at + (is64 ? 0x20 : 0x14)),
      link: u32(at + (is64 ? 0x28 : 0x18)),
      info: u32(at + (is64 ? 0x2c : 0x1c)),
    };
  };
  const cstr = (at) => buf.toString('latin1', at, buf.indexOf(0, at));
  const out = [];
  for (let i = 0; i < shnum; i++) {
    const vr = section(i);
    if (vr.type !== SHT_GNU_VERNEED) continue;
    const strtab = section(vr.link).offset;
    // Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
    // Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
    let at = vr.offset;
    for (let n = 0; n < vr.info; n++) {
      const entry = { file: cstr(strtab + u32(at + 4)), versions: [] };
      let aux = at + u32(at + 8);
      for (let k = 0; k < u16(at + 2); k++) {
        entry.versions.push(cstr(strtab + u32(aux + 8)));
        aux += u32(aux + 12);
      }
      out.push(entry);
      const next = u32(at + 12);
      if (next === 0) break;
      at += next;
    }
  }
  return out;
}

const parse = (v) => v.split('.').map(Number);
function compare(a, b) {
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] || 0) - (y[i] || 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** { max: '2.17' (or null when no GLIBC_ version is needed), versions: ['2.2.5', …] sorted }. */
function glibcNeeds(file) {
  const versions = new Set();
  for (const need of versionNeeds(fs.readFileSync(file))) {
    for (const v of need.versions) if (/^GLIBC_[0-9.]+$/.test(v)) versions.add(v.slice('GLIBC_'.length));
  }
  const sorted = [...versions].sort(compare);
  return { max: sorted.length > 0 ? sorted[sorted.length - 1] : null, versions: sorted };
}

function main(argv) {
  const file = argv.find((a) => !a.startsWith('--'));
  const maxAt = argv.indexOf('--max');
  const limit = maxAt === -1 ? null : argv[maxAt + 1];
  if (!file || (maxAt !== -1 && !limit)) {
    console.error('usage: node scripts/check-glibc.js <file.node> [--max 2.17]');
    return 2;
  }
  const { max, versions } = glibcNeeds(file);
  console.log(`${file}: needs glibc ${max ?? '(none)'} (GLIBC_ versions: ${versions.join(' ') || 'none'})`);
  if (limit && max && compare(max, limit) > 0) {
    console.error(`${file} needs glibc ${max}, above the ${limit} it must run on`);
    return 1;
  }
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
module.exports = { versionNeeds, glibcNeeds, compare };
