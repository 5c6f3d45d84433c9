'use strict';
// Metrics of a cluster or a read/write split: the per-pool families from
// observability.js, one series per node with a `node` label, plus the
// cluster's own view of each node (online, error count).

const PREFIX = 'mysql_pool_';

function clusterFamilies(entries, extra = []) {
  const { metricsJSON } = require('../observability');
  const byName = new Map();
  const out = [];
  for (const e of entries) {
    let fams;
    try {
      fams = metricsJSON(e.pool);
    } catch {
      continue;
    }
    for (const f of fams) {
      let fam = byName.get(f.name);
      if (fam === undefined) {
        fam = { name: f.name, type: f.type, help: f.help, values: [] };
        byName.set(f.name, fam);
        out.push(fam);
      }
      for (const v of f.values) {
        const labels = { pool: v.labels.pool, node: e.id, ...v.labels };
        fam.values.push(v.metricName ? { metricName: v.metricName, labels, value: v.value } : { labels, value: v.value });
      }
    }
  }
  const labelsOf = (e) => ({ pool: e.pool.name == null ? 'default' : String(e.pool.name), node: e.id });
  out.push({
    name: `${PREFIX}cluster_node_online`,
    type: 'gauge',
    help: '1 while the cluster routes to the node, 0 while it is offline.',
    values: entries.map((e) => ({ labels: labelsOf(e), value: e.online ? 1 : 0 })),
  });
  out.push({
    name: `${PREFIX}cluster_node_error_count`,
    type: 'gauge',
    help: 'Connection errors counted against the node (offline/removed at removeNodeErrorCount).',
    values: entries.map((e) => ({ labels: labelsOf(e), value: e.errorCount })),
  });
  return out.concat(extra);
}

function renderText(fams) {
  return require('../observability').renderFamilies(fams);
}

module.exports = { PREFIX, clusterFamilies, renderText };
