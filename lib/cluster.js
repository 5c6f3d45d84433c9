'use strict';
// The cluster code lives in lib/cluster/ (one file per job); this path stays
// for code and tests that require lib/cluster.js by name.
module.exports = require('./cluster/index');
