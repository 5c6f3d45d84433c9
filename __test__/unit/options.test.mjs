// lib/config.js's option table (TABLE, SSL_OPTIONS) is the one description
// of every createPool option. These checks fail when something that should
// follow it does not:
//   (a) src/config.rs: PoolConfig / SslConfig fields are exactly the table's
//       native rows (camelCase <-> snake_case), with a Rust type that can
//       take the value (an Option where the value may be unset);
//   (b) lib/index.d.ts: every option is typed in PoolOptions (or in mysql2's
//       PoolOptions / ConnectionOptions it extends), nothing typed there is
//       unknown to the table, SslOptions lists the accepted ssl fields, and
//       a default named in a PoolOptions comment is the table's;
//   (c) README.md: every option is named in the Options section, each of
//       ours is a row of "Added by this pool" with the table's default, and
//       defaults given in the option tables and the mysql2 list agree;
//   (d) normalize({}) is exactly the table's defaults, and nativeConfig()
//       sends exactly PoolConfig's fields (plus RETIRED_NATIVE, which an
//       addon built before their removal still requires).
// Text only (no database, no build): the Rust and TypeScript sources are
// read as text.
import { describe, it, expect } from 'vitest'
import fs from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { TABLE, SSL_OPTIONS, OPTIONS, RETIRED_NATIVE, normalize, nativeConfig } = require('../../lib/config.js')
const { DEFAULT_THRESHOLDS } = require('../../lib/observability.js')

const read = (rel) => fs.readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8')
const own = (o, k) => Object.hasOwn(o, k)

const snake = (camel) => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
const camel = (name) => name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())

const rows = Object.entries(TABLE)
const supported = rows.filter(([, row]) => row.kind !== 'unsupported')
const ours = rows.filter(([, row]) => row.from === 'ours').map(([name]) => name)

/** What the table says an unset option means (what the docs should say). */
function documentedDefault(name) {
  const row = TABLE[name]
  if (row.defaultFrom) return { sameAs: row.defaultFrom }
  return own(row, 'effectiveDefault') ? row.effectiveDefault : row.default
}

// ---------------------------------------------------------------------------
// src/config.rs

/** `pub <field>: <type>,` lines of a Rust struct, as { field: type }. */
function rustStruct(src, name) {
  const m = new RegExp(`pub struct ${name} \\{([\\s\\S]*?)\\n\\}`).exec(src)
  expect(m, `struct ${name} in src/config.rs`).not.toBeNull()
  const fields = {}
  for (const line of m[1].split('\n')) {
    const f = /^\s*pub ([a-z][a-z0-9_]*): (.+),\s*$/.exec(line)
    if (f) fields[f[1]] = f[2].trim()
  }
  return fields
}

// The Rust type each kind arrives as (after toNative).
const RUST_TYPE = {
  string: 'String',
  // a string, or a function called per connection (sent as ''/None then)
  credential: 'String',
  port: 'u32',
  count: 'u32',
  count1: 'u32',
  ms: 'f64',
  bool: 'bool',
  stringArray: 'Vec<String>',
  reset: 'String',
  ssl: 'SslConfig',
}

// PoolConfig fields no table row feeds (computed from several options).
// None today: ssl is the ssl row's, through nativeSsl().
const DERIVED = []

describe('(a) the native side: src/config.rs', () => {
  const src = read('src/config.rs')
  const pool = rustStruct(src, 'PoolConfig')
  const ssl = rustStruct(src, 'SslConfig')
  const nativeRows = supported.filter(([, row]) => row.native)

  it('every native row is a PoolConfig field, under its snake_case name', () => {
    expect(Object.keys(pool).length).toBeGreaterThan(20)
    const missing = nativeRows.filter(([, row]) => !own(pool, snake(row.native))).map(([name, row]) => `${name} -> ${snake(row.native)}`)
    expect(missing).toEqual([])
  })

  it('every PoolConfig field is fed by a row (or listed as derived)', () => {
    const fed = new Set(nativeRows.map(([, row]) => row.native))
    const unfed = Object.keys(pool).filter((f) => !fed.has(camel(f)) && !DERIVED.includes(f))
    expect(unfed).toEqual([])
  })

  it("each field's type takes the value: the kind's type, and an Option when it may be unset", () => {
    const wrong = []
    for (const [name, row] of nativeRows) {
      const type = pool[snake(row.native)]
      const inner = /^Option<(.+)>$/.exec(type)?.[1] ?? type
      if (inner !== RUST_TYPE[row.kind]) wrong.push(`${name}: ${row.kind} as ${type}`)
      const mayBeUnset = !row.defaultFrom && row.default === undefined
      if (mayBeUnset && inner === type) wrong.push(`${name}: unset by default, so ${type} must be an Option`)
    }
    expect(wrong).toEqual([])
  })

  it('SslConfig has exactly the native ssl fields (minVersion/maxVersion stay in JS)', () => {
    const nativeSsl = Object.values(SSL_OPTIONS)
      .filter((row) => row.native)
      .map((row) => snake(row.native))
    expect(Object.keys(ssl).sort()).toEqual([...nativeSsl].sort())
    expect(SSL_OPTIONS.minVersion.native).toBe(false)
    expect(SSL_OPTIONS.maxVersion.native).toBe(false)
  })

  it('leak detection is not a native field (it runs in JS)', () => {
    expect(TABLE.leakDetectionTimeout.native).toBe(false)
    expect(src).not.toMatch(/leak_detection/)
  })

  it('retired fields (still sent for older builds) are no longer in src/', () => {
    const rust = fs
      .readdirSync(new URL('../../src/', import.meta.url))
      .filter((f) => f.endsWith('.rs'))
      .map((f) => read(`src/${f}`))
      .join('\n')
    for (const name of Object.keys(RETIRED_NATIVE)) {
      expect(own(pool, snake(name)), name).toBe(false)
      expect(rust.includes(snake(name)), name).toBe(false)
    }
  })

  it('workerThreads unset means 1 natively (src/runtime.rs), as the table documents', () => {
    const m = /\.or_else\(\|\| std::env::var\("NAPI_MYSQL_POOL_THREADS"\)[^\n]*\n\s*\.unwrap_or\((\d+)\)/.exec(read('src/runtime.rs'))
    expect(m, 'the default in src/runtime.rs').not.toBeNull()
    expect(Number(m[1])).toBe(TABLE.workerThreads.effectiveDefault)
  })
})

// ---------------------------------------------------------------------------
// lib/index.d.ts and mysql2's typings

function stripComments(src) {
  return src.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/\/\/[^\n]*/g, '')
}

/** The body of `interface <name> ... { ... }` (comments kept), and what follows `interface <name>` up to its brace. */
function tsInterface(src, name) {
  const start = new RegExp(`interface ${name}\\b`).exec(src)
  expect(start, `interface ${name}`).not.toBeNull()
  const open = src.indexOf('{', start.index)
  let depth = 0
  for (let i = open; i < src.length; i++) {
    if (src[i] === '{') depth++
    else if (src[i] === '}' && --depth === 0) return { head: src.slice(start.index, open), body: src.slice(open + 1, i) }
  }
  throw new Error(`unclosed interface ${name}`)
}

/** Top-level member names of an interface body. */
function tsMembers(body) {
  const names = []
  let depth = 0
  for (const line of stripComments(body).split('\n')) {
    if (depth === 0) {
      const m = /^\s*([A-Za-z_$][\w$]*)\??\s*:/.exec(line)
      if (m) names.push(m[1])
    }
    for (const c of line) {
      if ('{(['.includes(c)) depth++
      else if ('})]'.includes(c)) depth--
    }
  }
  return names
}

describe('(b) the typings: lib/index.d.ts', () => {
  const dts = read('lib/index.d.ts')
  const poolOptions = tsInterface(dts, 'PoolOptions')
  const ownTyped = tsMembers(poolOptions.body)
  const omitted = [...(/Omit<mysql\.PoolOptions,([^>]*)>/.exec(poolOptions.head)?.[1] ?? '').matchAll(/'(\w+)'/g)].map((m) => m[1])
  const mysql2Typed = [
    ...tsMembers(tsInterface(read('node_modules/mysql2/typings/mysql/lib/Pool.d.ts'), 'PoolOptions').body),
    ...tsMembers(tsInterface(read('node_modules/mysql2/typings/mysql/lib/Connection.d.ts'), 'ConnectionOptions').body),
  ].filter((n) => !omitted.includes(n))
  const typed = new Set([...ownTyped, ...mysql2Typed])

  it('reads the interfaces', () => {
    expect(omitted).toContain('ssl')
    expect(ownTyped).toContain('acquireTimeout')
    expect(mysql2Typed).toContain('connectionLimit')
    expect(mysql2Typed).toContain('host')
  })

  it('every supported option is typed in PoolOptions or the mysql2 options it extends', () => {
    expect(supported.map(([name]) => name).filter((n) => !typed.has(n))).toEqual([])
  })

  it('no option typed there is unknown to the table', () => {
    expect([...typed].filter((n) => !own(TABLE, n))).toEqual([])
  })

  it('options of ours are typed in PoolOptions itself', () => {
    expect(ours.filter((n) => !ownTyped.includes(n))).toEqual([])
  })

  it('SslOptions lists the accepted ssl fields', () => {
    const accepted = Object.keys(SSL_OPTIONS).filter((k) => !SSL_OPTIONS[k].refuse)
    expect(tsMembers(tsInterface(dts, 'SslOptions').body).sort()).toEqual(accepted.sort())
  })

  it('SslOptions types minVersion/maxVersion as the values normalize() accepts', () => {
    const body = tsInterface(dts, 'SslOptions').body
    const values = (k) => [...(new RegExp(`${k}\\?: ([^;]+);`).exec(body)?.[1] ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1])
    const accepts = (k, v) => {
      try {
        normalize({ ssl: { [k]: v } })
        return true
      } catch {
        return false
      }
    }
    const all = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']
    for (const k of ['minVersion', 'maxVersion']) expect(values(k), k).toEqual(all.filter((v) => accepts(k, v)))
  })

  it('a default named in a PoolOptions comment is the table’s', () => {
    const wrong = []
    let checked = 0
    for (const m of poolOptions.body.matchAll(/\/\*\*([\s\S]*?)\*\/\s*([A-Za-z_$][\w$]*)\??:/g)) {
      const [, doc, name] = m
      const d = /\bdefault:?\s+([^\s;),]+)/i.exec(doc)
      if (!d) continue
      checked++
      const said = parseValue(d[1].replace(/\.$/, ''))
      if (!own(TABLE, name)) wrong.push(`${name}: not an option`)
      else if (!sameValue(said, documentedDefault(name))) wrong.push(`${name}: says ${d[1]}`)
    }
    expect(checked).toBeGreaterThan(10)
    expect(wrong).toEqual([])
  })
})

// ---------------------------------------------------------------------------
// README.md

/** A default as the docs write it: 0, `false`, 'default', [], {a: 1}, = `x`, (none). */
function parseValue(text) {
  const s = text.replace(/`/g, '').trim()
  if (s === '(none)') return undefined
  const same = /^=\s*(\w+)$/.exec(s)
  if (same) return { sameAs: same[1] }
  if (/^-?\d+$/.test(s)) return Number(s)
  if (s === 'true' || s === 'false') return s === 'true'
  if (/^'.*'$/.test(s)) return s.slice(1, -1)
  if (/^[[{].*[\]}]$/.test(s)) return JSON.parse(s.replace(/([A-Za-z_]\w*)\s*:/g, '"$1":').replace(/'/g, '"'))
  return { unparsed: s }
}

const sameValue = (a, b) => JSON.stringify(a) === JSON.stringify(b)

/** From `## <title>` to the next `## ` heading. */
function section(md, title) {
  const start = md.indexOf(`\n## ${title}\n`)
  expect(start, `README section ${title}`).toBeGreaterThan(-1)
  const end = md.indexOf('\n## ', start + 1)
  return md.slice(start, end === -1 ? undefined : end)
}

/** Markdown tables of a text: each as a list of { column: cell }. */
function tables(text) {
  const out = []
  const lines = text.split('\n')
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i].startsWith('|') || !/^\|[-| ]+\|$/.test(lines[i + 1])) continue
    const cells = (line) =>
      line
        .slice(1, -1)
        .split(' | ')
        .map((c) => c.trim())
    const head = cells(lines[i])
    const body = []
    for (i += 2; i < lines.length && lines[i].startsWith('|'); i++) body.push(Object.fromEntries(cells(lines[i]).map((c, k) => [head[k], c])))
    out.push(body)
  }
  return out
}

const names = (cell) => [...cell.matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((m) => m[1])

describe('(c) the README: its Options section', () => {
  const md = read('README.md')
  const options = section(md, 'Options')
  const [added, production] = tables(options)

  it('finds the two option tables', () => {
    expect(added.length).toBeGreaterThan(10)
    expect(Object.keys(added[0])).toEqual(['option', 'default', 'meaning'])
    expect(Object.keys(production[0])).toContain('our default')
  })

  it('every option, supported or refused, is named there', () => {
    const named = new Set(names(options))
    expect(rows.map(([name]) => name).filter((n) => !named.has(n))).toEqual([])
  })

  it('every option of ours is a row of "Added by this pool", with the table’s default', () => {
    const byName = Object.fromEntries(added.map((r) => [names(r.option)[0], r]))
    const wrong = []
    for (const name of ours) {
      if (!byName[name]) wrong.push(`${name}: no row`)
      else if (!sameValue(parseValue(byName[name].default.replace(/\s*\((off|never)\)$/, '')), documentedDefault(name))) {
        wrong.push(`${name}: README ${byName[name].default}, table ${JSON.stringify(documentedDefault(name))}`)
      }
    }
    expect(wrong).toEqual([])
  })

  it("every row of the option tables is an option, with the table's default", () => {
    const wrong = []
    for (const [table, column] of [
      [added, 'default'],
      [production, 'our default'],
    ]) {
      for (const r of table) {
        const ns = names(r.option)
        const values = r[column].split(' / ')
        expect(values.length, r.option).toBe(ns.length)
        ns.forEach((name, k) => {
          const said = values[k].replace(/\s*\((off|never)\)$/, '')
          if (!own(TABLE, name)) wrong.push(`${name}: not an option`)
          else if (!sameValue(parseValue(said), documentedDefault(name)))
            wrong.push(`${name}: README ${values[k]} (${column}), table ${JSON.stringify(documentedDefault(name))}`)
        })
      }
    }
    expect(wrong).toEqual([])
  })

  it("defaults in the mysql2 option list, `name` (default …), are the table's", () => {
    const para = options.slice(options.indexOf("All of mysql2 3.24's pool options"), options.indexOf('\n\n', options.indexOf("All of mysql2 3.24's")))
    const wrong = []
    let checked = 0
    for (const m of para.matchAll(/`([A-Za-z_$][\w$]*)`(?: \(([^)]*)\))?/g)) {
      const [, name, paren] = m
      if (!own(TABLE, name)) wrong.push(`${name}: not an option`)
      if (paren === undefined || !own(TABLE, name)) continue
      let said = paren.split(/[;,]/)[0].trim()
      if (!said.startsWith('=')) said = said.split(/\s/)[0]
      const value = parseValue(said)
      const expected = documentedDefault(name)
      // A bare word is a default only for a string option (charset): else prose.
      if (value && value.unparsed !== undefined && typeof expected !== 'string') continue
      checked++
      const got = value && value.unparsed !== undefined ? value.unparsed : value
      if (!sameValue(got, expected)) wrong.push(`${name}: README (${paren}), table ${JSON.stringify(expected)}`)
    }
    expect(checked).toBeGreaterThan(8)
    expect(wrong).toEqual([])
  })

  it('the TLS section names every ssl field', () => {
    const tls = names(section(md, 'TLS'))
    expect(Object.keys(SSL_OPTIONS).filter((k) => !tls.includes(k))).toEqual([])
  })

  it("healthThresholds' documented default is lib/observability.js's", () => {
    expect(TABLE.healthThresholds.effectiveDefault).toEqual({ ...DEFAULT_THRESHOLDS })
  })
})

// ---------------------------------------------------------------------------
// normalize() and nativeConfig()

describe('(d) normalize() and nativeConfig() follow the table', () => {
  it('normalize({}) yields exactly the table’s defaults', () => {
    const expected = {}
    for (const [name, row] of supported) {
      if (row.kept === false) continue
      expected[name] = row.defaultFrom ? expected[row.defaultFrom] : row.default
    }
    const got = normalize({})
    expect(Object.keys(got)).toEqual(Object.keys(expected))
    expect({ ...got }).toStrictEqual(expected)
    expect(got.password).toBe(undefined)
  })

  it('object defaults are new for each pool', () => {
    const a = normalize({})
    const b = normalize({})
    expect(a.initSql).not.toBe(b.initSql)
    expect(a.healthThresholds).not.toBe(b.healthThresholds)
    a.initSql.push('SET @x = 1')
    expect(normalize({}).initSql).toEqual([])
  })

  it('options not kept are the ones normalize() consumes', () => {
    const notKept = rows.filter(([, row]) => row.kept === false).map(([name]) => name)
    expect(notKept.filter((n) => TABLE[n].kind !== 'unsupported').sort()).toEqual(['Promise', 'debug', 'password', 'password1', 'uri'])
  })

  it('nativeConfig() sends exactly the PoolConfig fields (and the retired ones), and ssl exactly the SslConfig fields', () => {
    const src = read('src/config.rs')
    const pool = Object.keys(rustStruct(src, 'PoolConfig')).map(camel)
    const ssl = Object.keys(rustStruct(src, 'SslConfig')).map(camel)
    const sent = nativeConfig(normalize({ password: 'pw', ssl: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' } }))
    expect(Object.keys(sent).sort()).toEqual([...pool, ...Object.keys(RETIRED_NATIVE)].sort())
    expect(Object.keys(sent.ssl).sort()).toEqual([...ssl].sort())
    expect(sent.password).toBe('pw')
    expect(sent.resetOnRelease).toBe('never')
    expect(nativeConfig(normalize({})).ssl).toBe(undefined)
  })

  it('OPTIONS is name -> kind for every supported row', () => {
    expect(OPTIONS).toEqual(Object.fromEntries(supported.map(([name, row]) => [name, row.kind])))
  })

  it('ssl versions: a floor at or below TLS 1.2 and a ceiling of TLS 1.3 are met; pinning or going below 1.2 is refused', () => {
    const codeOf = (ssl) => {
      try {
        normalize({ ssl })
        return 'accepted'
      } catch (e) {
        return e.code
      }
    }
    for (const v of ['TLSv1', 'TLSv1.1', 'TLSv1.2']) expect(codeOf({ minVersion: v }), v).toBe('accepted')
    expect(codeOf({ maxVersion: 'TLSv1.3' })).toBe('accepted')
    expect(codeOf({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' })).toBe('accepted')
    for (const ssl of [{ minVersion: 'TLSv1.3' }, { maxVersion: 'TLSv1.2' }, { maxVersion: 'TLSv1.1' }, { maxVersion: 'TLSv1' }]) {
      expect(codeOf(ssl), JSON.stringify(ssl)).toBe('ERR_UNSUPPORTED_OPTION')
    }
    expect(codeOf({ minVersion: 'TLSv1.4' })).toBe('ERR_INVALID_POOL_OPTION')
    // The message names the option that pins.
    expect(() => normalize({ ssl: { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } })).toThrow(/ssl\.minVersion cannot pin/)
  })
})
