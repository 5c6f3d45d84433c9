'use strict';
// One health verdict for several pools: a cluster is healthy while one node
// is, a read/write split only while its primary is.

/** Overall verdict: healthy while one node is; 'warning' when some are not. */
function summarize(nodes, primaryId) {
  const ids = Object.keys(nodes);
  const good = ids.filter((id) => nodes[id].healthy);
  const calm = ids.filter((id) => nodes[id].status === 'healthy');
  let healthy = good.length > 0;
  let status = !healthy ? 'unhealthy' : calm.length === ids.length ? 'healthy' : 'warning';
  let message;
  if (ids.length === 0) message = 'No nodes';
  else message = `${good.length}/${ids.length} nodes healthy`;
  if (primaryId !== null) {
    const p = nodes[primaryId];
    if (!p || !p.healthy) {
      healthy = false;
      status = 'unhealthy';
      message = `Primary unhealthy${p ? `: ${p.message}` : ''}; ${message}`;
    }
  }
  if (ids.length > 0 && good.length < ids.length) {
    const bad = ids.filter((id) => !nodes[id].healthy).map((id) => `${id}: ${nodes[id].message}`);
    message += ` (${bad.join('; ')})`;
  }
  return { healthy, status, message, nodes };
}

module.exports = { summarize };
