// A fault-injecting TCP proxy for tests: client <-> proxy <-> real server.
//
//   const proxy = await startFaultProxy({ targetHost, targetPort })
//   createPool({ host: '127.0.0.1', port: proxy.port, ... })
//   proxy.set('blackhole')
//
// Modes (switchable at any time with set(mode, arg); they apply to existing
// and new connections):
//   'pass'       forward both ways (default)
//   'blackhole'  forward nothing either way and keep every socket open (no
//                FIN, no RST); new connections are accepted and held the same
//                way (no upstream connect). What arrives meanwhile is held and
//                delivered when the mode ends, as TCP retransmission would
//                after a network path recovers; set('blackhole', { drop: true })
//                discards it instead (the stream is then broken for good)
//   'cut'        reset every connection (RST, resetAndDestroy) on both sides,
//                and reset new ones at once for as long as the mode lasts
//   'delay'      hold each chunk `arg` ms (order kept) before forwarding
//   'corrupt'    forward, flipping one random bit in a byte with probability
//                `rate`, from a seeded PRNG: arg = { rate = 0.001, seed = 1,
//                direction = 'down' | 'up' | 'both' }; 'down' (the default)
//                is server -> client only, so the server never runs altered SQL
// cutIdle(idleMs = 1000) silently drops connections that have carried no
// byte for idleMs: the upstream socket is closed, the client's is kept open
// without a FIN; whatever the client sends afterwards is answered with a RST
// (what a NAT or proxy that forgot the flow does). Returns how many.
import net from 'node:net'

function mulberry32(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const MODES = new Set(['pass', 'blackhole', 'cut', 'delay', 'corrupt'])

/**
 * Starts the proxy. Returns { host, port, mode, set(mode, arg), cutIdle(idleMs),
 * close(), stats, pairs }. stats: accepted, open, bytesUp, bytesDown,
 * held (bytes held by blackhole), dropped (bytes discarded: blackhole with
 * drop, cut), corrupted (bytes altered),
 * resets (sockets reset), idleCut (connections cut by cutIdle).
 */
export async function startFaultProxy({ targetHost = '127.0.0.1', targetPort, host = '127.0.0.1', port = 0 } = {}) {
  if (!targetPort) throw new TypeError('startFaultProxy: targetPort is required')
  let mode = 'pass'
  let delayMs = 0
  let dropHeld = false
  let corrupt = { rate: 0.001, direction: 'down' }
  let rand = mulberry32(1)
  const stats = { accepted: 0, open: 0, bytesUp: 0, bytesDown: 0, held: 0, dropped: 0, corrupted: 0, resets: 0, idleCut: 0 }
  const pairs = new Set()

  const reset = (s) => {
    if (!s || s.destroyed) return
    stats.resets++
    try {
      s.resetAndDestroy()
    } catch {
      s.destroy()
    }
  }

  function resetPair(p) {
    reset(p.client)
    reset(p.upstream)
  }

  function maybeCorrupt(chunk, dir) {
    if (mode !== 'corrupt' || corrupt.rate <= 0) return chunk
    if (corrupt.direction !== 'both' && corrupt.direction !== dir) return chunk
    let out = chunk
    for (let i = 0; i < chunk.length; i++) {
      if (rand() < corrupt.rate) {
        if (out === chunk) out = Buffer.from(chunk)
        out[i] ^= 1 << Math.floor(rand() * 8)
        stats.corrupted++
      }
    }
    return out
  }

  // Forwards `chunk` from one side to `dst` according to the current mode.
  function forward(p, chunk, dir, replay = false) {
    p.lastActivity = Date.now()
    if (!replay) {
      if (dir === 'up') stats.bytesUp += chunk.length
      else stats.bytesDown += chunk.length
    }
    if (mode === 'cut' || (mode === 'blackhole' && dropHeld)) {
      stats.dropped += chunk.length
      return
    }
    if (mode === 'blackhole') {
      stats.held += chunk.length
      p.held.push([chunk, dir])
      return
    }
    const dst = dir === 'up' ? p.upstream : p.client
    if (!dst || dst.destroyed) {
      stats.dropped += chunk.length
      return
    }
    const data = maybeCorrupt(chunk, dir)
    if (mode === 'delay' && delayMs > 0) {
      // Keep order: each chunk waits for the later of its due time and the
      // previous chunk of the same direction.
      const due = Math.max(Date.now() + delayMs, p.due[dir])
      p.due[dir] = due
      const t = setTimeout(() => {
        p.timers.delete(t)
        if (!dst.destroyed) dst.write(data)
      }, due - Date.now())
      p.timers.add(t)
      return
    }
    dst.write(data)
  }

  function connectUpstream(p) {
    const up = net.connect({ host: targetHost, port: targetPort })
    up.setNoDelay(true)
    p.upstream = up
    up.on('error', () => {})
    up.on('data', (d) => forward(p, d, 'down'))
    // A server-side close is passed on as is, unless the flow is blackholed
    // (then nothing at all reaches the client).
    up.on('end', () => {
      if (mode !== 'blackhole' && !p.silent) p.client.end()
    })
    up.on('close', (hadError) => {
      if (mode === 'blackhole' || p.silent) return
      if (hadError) reset(p.client)
      else p.client.end()
    })
    for (const c of p.pending.splice(0)) forward(p, c, 'up')
  }

  const srv = net.createServer({ allowHalfOpen: true }, (client) => {
    stats.accepted++
    stats.open++
    client.setNoDelay(true)
    const p = { client, upstream: null, lastActivity: Date.now(), due: { up: 0, down: 0 }, timers: new Set(), pending: [], held: [], silent: false }
    pairs.add(p)
    client.on('error', () => {})
    client.on('close', () => {
      stats.open--
      pairs.delete(p)
      for (const t of p.timers) clearTimeout(t)
      if (p.upstream && !p.upstream.destroyed) {
        if (mode === 'blackhole') p.upstream.destroy()
        else p.upstream.end()
      }
    })
    client.on('end', () => {
      if (mode !== 'blackhole' && p.upstream && !p.silent) p.upstream.end()
    })
    client.on('data', (d) => {
      if (p.silent) {
        // The flow was forgotten (cutIdle): answer with a RST.
        reset(client)
        return
      }
      if (!p.upstream) {
        p.lastActivity = Date.now()
        if (mode === 'blackhole' && dropHeld) stats.dropped += d.length
        else p.pending.push(d)
        return
      }
      forward(p, d, 'up')
    })
    if (mode === 'cut') return resetPair(p)
    // In blackhole mode the upstream is not even opened until the mode ends.
    if (mode !== 'blackhole') connectUpstream(p)
  })

  await new Promise((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(port, host, resolve)
  })

  return {
    host,
    port: srv.address().port,
    stats,
    pairs,
    get mode() {
      return mode
    },
    set(next, arg) {
      if (!MODES.has(next)) throw new TypeError(`unknown proxy mode ${next}`)
      mode = next
      if (next === 'delay') delayMs = Number(arg ?? 100)
      if (next === 'corrupt') {
        const o = typeof arg === 'number' ? { rate: arg } : (arg ?? {})
        corrupt = { rate: o.rate ?? 0.001, direction: o.direction ?? 'down' }
        rand = mulberry32(o.seed ?? 1)
      }
      if (next === 'blackhole') dropHeld = Boolean(arg?.drop)
      if (next === 'cut') {
        for (const p of [...pairs]) {
          p.held = []
          resetPair(p)
        }
      }
      if (next !== 'blackhole' && next !== 'cut') {
        // Flows accepted during a blackhole get their upstream now, and what
        // was held goes on in order.
        for (const p of pairs) {
          if (!p.upstream && !p.silent) connectUpstream(p)
          for (const [chunk, dir] of p.held.splice(0)) forward(p, chunk, dir, true)
          // The server went away while the flow was blackholed.
          if (p.upstream?.destroyed && !p.silent) p.client.end()
        }
      }
      return this
    },
    cutIdle(idleMs = 1000) {
      const now = Date.now()
      let n = 0
      for (const p of pairs) {
        if (p.silent || now - p.lastActivity < idleMs) continue
        p.silent = true
        p.upstream?.destroy()
        n++
      }
      stats.idleCut += n
      return n
    },
    async close() {
      for (const p of [...pairs]) {
        for (const t of p.timers) clearTimeout(t)
        p.client.destroy()
        p.upstream?.destroy()
      }
      await new Promise((r) => srv.close(() => r()))
    },
  }
}
