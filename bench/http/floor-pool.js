'use strict';
// The HTTP app's framework floor: a stand-in for a mysql2 pool that answers
// the app's few statements from memory, with no database and no driver work.
// The app server run on it (client 'floor' of the http-* workloads) costs
// what express + tRPC + Drizzle cost per request and nothing else, so its
// CPU per request is the least any driver could reach in this app, and its
// req/s (with the database's CPU freed as well) more than any could.
//
// Only what bench/http/server.js sends is understood: Drizzle's selects from
// bench_points / bench_wide / bench_insert by id or id range, its insert into
// bench_insert, and begin/commit/rollback. Rows are computed with the same
// formulas as bench/run.js setupTables and come back as mysql2 gives them to
// Drizzle (rowsAsArray, DATETIME as text through Drizzle's typeCast, DECIMAL
// as text). Anything else rejects, so a change to the app cannot be measured
// on a floor that silently answers nothing.
const { EventEmitter } = require('node:events');

const pad = (n, w) => String(n).padStart(w, '0');

function pointRecord(id) {
  return {
    id,
    name: `point-${id}`,
    score: id / 3,
    qty: id % 97,
    created: `2024-${pad((id % 12) + 1, 2)}-${pad((id % 28) + 1, 2)} 10:${pad(id % 60, 2)}:00`,
  };
}

function wideRecord(id) {
  return {
    id,
    name: `wide row ${id} ${'é'.repeat(id % 5)}`,
    price: (((id * 37) % 100000) / 100).toFixed(2),
    at: `2024-${pad((id % 12) + 1, 2)}-${pad((id % 28) + 1, 2)} ${pad(id % 24, 2)}:${pad(id % 60, 2)}:${pad((id * 7) % 60, 2)}.${pad(id % 1000, 3)}`,
  };
}

const fail = (sql) => Promise.reject(Object.assign(new Error(`floor pool: statement not understood: ${sql.slice(0, 200)}`), { code: 'ER_PARSE_ERROR' }));

// An answer arrives on a later turn of the event loop, as a driver's does.
const later = (value) => new Promise((resolve) => setImmediate(resolve, value));

class FloorPool extends EventEmitter {
  constructor(rowLimit) {
    super();
    this.rowLimit = rowLimit;
    this.inserted = [];
    this.plans = new Map(); // SQL text -> how to answer it (parsed once)
  }

  plan(sql) {
    let p = this.plans.get(sql);
    if (p) return p;
    const s = sql.trim().toLowerCase();
    const sel = /^select (.+?) from `(bench_points|bench_wide|bench_insert)` where `\2`\.`id` (= \?|between \? and \?)/.exec(s);
    if (s === 'begin' || s === 'commit' || s === 'rollback') p = { kind: 'ok' };
    else if (/^insert into `bench_insert` \(`id`, `k`, `name`, `score`, `created`\) values \(default, \?, \?, \?, \?\)$/.test(s)) p = { kind: 'insert' };
    else if (sel) p = { kind: 'select', table: sel[2], range: sel[3] !== '= ?', cols: sel[1].split(', ').map((c) => c.replace(/^`[a-z_]+`\.|`/g, '')) };
    else p = { kind: 'unknown' };
    if (this.plans.size < 64) this.plans.set(sql, p);
    return p;
  }

  record(table, id) {
    if (!Number.isInteger(id) || id < 1) return null;
    if (table === 'bench_points') return id <= this.rowLimit ? pointRecord(id) : null;
    if (table === 'bench_wide') return id <= this.rowLimit ? wideRecord(id) : null;
    return this.inserted[id - 1] ?? null;
  }

  query(q, params) {
    const sql = typeof q === 'string' ? q : q.sql;
    const values = params ?? (typeof q === 'object' ? q.values : undefined) ?? [];
    const p = this.plan(sql);
    if (p.kind === 'ok') return later([{ affectedRows: 0, insertId: 0, warningStatus: 0 }, undefined]);
    if (p.kind === 'insert') {
      const [k, name, score, created] = values;
      const id = this.inserted.push({ id: this.inserted.length + 1, k, name, score, created: String(created) });
      return later([{ affectedRows: 1, insertId: id, warningStatus: 0 }, undefined]);
    }
    if (p.kind !== 'select') return fail(sql);
    const from = Number(values[0]);
    const to = p.range ? Number(values[1]) : from;
    const rows = [];
    for (let id = from; id <= to && rows.length < 1000; id++) {
      const r = this.record(p.table, id);
      if (r) rows.push(p.cols.map((c) => r[c]));
    }
    return later([rows, []]);
  }

  execute(sql, params) {
    return this.query(sql, params);
  }

  getConnection() {
    const pool = this;
    const conn = {
      query: (q, params) => pool.query(q, params),
      execute: (q, params) => pool.query(q, params),
      release() {},
    };
    return later(conn);
  }

  end() {
    return Promise.resolve();
  }
}

module.exports = { FloorPool };
