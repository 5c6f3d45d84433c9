'use strict';
// A TCP proxy that adds a fixed delay to every chunk, in each direction,
// keeping order: a stand-in for a database one network hop away (bench/run.js
// --delay=MS puts it between the HTTP workload's app server and the
// database). TLS passes through untouched.
//
//   node bench/http/delay-proxy.js <target host> <target port> <delay ms>
//
// Prints '@@bench {"type":"ready","port":N}' once listening on 127.0.0.1.
// Chunks that arrive together (one packet burst) leave together, delay ms
// later; a chunk is never sent before an earlier one of the same direction.
const net = require('node:net');

const [host, portArg, delayArg] = process.argv.slice(2);
const targetPort = Number(portArg);
const delayMs = Number(delayArg);
if (!host || !Number.isInteger(targetPort) || !(delayMs >= 0)) {
  console.error('usage: delay-proxy.js <host> <port> <delay ms>');
  process.exit(2);
}

/** Forwards src -> dst, each chunk delayMs after it arrived. */
function delayed(src, dst) {
  const queue = []; // [due, chunk]
  let timer = null;
  const flush = () => {
    timer = null;
    const t = performance.now();
    while (queue.length && queue[0][0] <= t + 0.2) dst.write(queue.shift()[1]);
    if (queue.length) timer = setTimeout(flush, Math.max(0, queue[0][0] - t));
  };
  src.on('data', (chunk) => {
    queue.push([performance.now() + delayMs, chunk]);
    if (!timer) timer = setTimeout(flush, delayMs);
  });
  src.on('end', () => {
    const endWhenDrained = () => (queue.length ? setTimeout(endWhenDrained, delayMs) : dst.end());
    endWhenDrained();
  });
}

const server = net.createServer((client) => {
  client.setNoDelay(true);
  const upstream = net.connect({ host, port: targetPort });
  upstream.setNoDelay(true);
  const destroy = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', destroy);
  upstream.on('error', destroy);
  // Let what is still queued for the other side go out first.
  client.on('close', () => setTimeout(() => upstream.destroy(), delayMs + 50));
  upstream.on('close', () => setTimeout(() => client.destroy(), delayMs + 50));
  delayed(client, upstream);
  delayed(upstream, client);
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`@@bench ${JSON.stringify({ type: 'ready', port: server.address().port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
