'use strict';
// Several pools behind one object: PoolCluster (mysql2's, pool-cluster.js and
// namespace.js) and ReadWriteSplit (read-write-split.js). The rest of the
// folder is what both share: options, node selection, failover rules,
// health, metrics and the read classifier.
const { PoolCluster } = require('./pool-cluster');
const { PoolNamespace } = require('./namespace');
const { ReadWriteSplit } = require('./read-write-split');
const { isReadSql } = require('./read-classifier');
const { isNodeError, isNotSent } = require('./failover');

function createPoolCluster(options) {
  return new PoolCluster(options);
}

function createReadWriteSplit(options) {
  return new ReadWriteSplit(options);
}

module.exports = {
  createPoolCluster,
  createReadWriteSplit,
  PoolCluster,
  PoolNamespace,
  ReadWriteSplit,
  isReadSql,
  isNodeError,
  isNotSent,
};
