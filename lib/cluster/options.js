'use strict';
// Options of a PoolCluster and of its nodes, validated up front as the pool
// validates its own: mysql2's meaning for each value, our error code.
const errors = require('../errors');
const { SELECTORS } = require('./selectors');

function invalid(message) {
  return errors.make('ERR_INVALID_POOL_OPTION', message, TypeError);
}

function nonNegative(name, v, dflt) {
  // mysql2 uses `value || default`, so 0 / undefined / null mean the default.
  if (v === undefined || v === null || v === 0) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw invalid(`Option "${name}" must be a non-negative number, got ${typeof v === 'number' ? v : typeof v}`);
  }
  return v;
}

function selectorName(s, dflt) {
  const name = s === undefined || s === null || s === '' ? dflt : String(s).toUpperCase();
  if (!Object.hasOwn(SELECTORS, name)) {
    throw invalid(`Unknown selector ${JSON.stringify(s)}: use 'RR', 'RANDOM' or 'ORDER'`);
  }
  return name;
}

function normalizeClusterOptions(o) {
  if (o !== undefined && o !== null && typeof o !== 'object') throw invalid('PoolCluster options must be an object');
  o = o || {};
  return Object.freeze({
    canRetry: o.canRetry === undefined ? true : !!o.canRetry,
    removeNodeErrorCount: nonNegative('removeNodeErrorCount', o.removeNodeErrorCount, 5),
    restoreNodeTimeout: nonNegative('restoreNodeTimeout', o.restoreNodeTimeout, 0),
    defaultSelector: selectorName(o.defaultSelector, 'RR'),
  });
}

/** Pool options for a node: the node id is the pool name unless one is given. */
function nodePoolOptions(id, config) {
  if (typeof config === 'string') return { uri: config, name: id };
  if (!config || typeof config !== 'object') throw invalid(`Node "${id}": config must be an options object or a URI string`);
  return config.name === undefined ? { ...config, name: id } : config;
}

module.exports = { invalid, selectorName, normalizeClusterOptions, nodePoolOptions };
