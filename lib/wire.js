'use strict';
// The numbers JS and Rust exchange, read from the addon (src/wire.rs owns
// them) once at load. A name missing on either side fails here, at require
// time, instead of shifting every field silently.
const native = require('./native.js');

function group(prefix, names) {
  const out = {};
  for (const name of names) {
    const v = native[`${prefix}_${name}`];
    if (typeof v !== 'number') throw new Error(`napi-mysql-pool: the addon does not define ${prefix}_${name} (rebuild it: npm run build)`);
    out[name] = v;
  }
  return Object.freeze(out);
}

module.exports = Object.freeze({
  SUB: group('SUB', ['OP', 'ID', 'CONN', 'FLAGS', 'TIMEOUT', 'SQL', 'SQL_NEW', 'NPARAMS', 'PARAM0', 'INLINE_MAX', 'WIDTH', 'SQL_SLOTS', 'SQL_KEEP_MAX']),
  DRAIN: group('DRAIN', ['DIR_CAP', 'TAGS_CAP']),
  OP: group('OP', ['QUERY', 'EXECUTE', 'PING', 'HAND_BACK', 'PREPARE', 'RESET']),
  DONE: group('DONE', ['RESULTS', 'ERROR', 'CONN', 'OK', 'CHUNK', 'CREDENTIALS', 'WAIT']),
  SET: group('SET', ['ROWS', 'HEADER']),
  ROWS: group('ROWS', ['SHAPE', 'NEW_SHAPE_AT', 'COUNT', 'CELLS', 'TEXT_UNITS', 'TAGS_AT', 'BIN_AT', 'BIN_LEN', 'LEN']),
  HEAD: group('HEAD', ['AFFECTED', 'INSERT_ID', 'WARNINGS', 'STATUS', 'INFO_UNITS', 'BIG_ID_AT', 'BIG_ROWS_AT', 'STATE_AT', 'LEN']),
  FLAG: group('FLAG', [
    'SUPPORT_BIG_NUMBERS',
    'BIG_NUMBER_STRINGS',
    'DECIMAL_NUMBERS',
    'JSON_STRINGS',
    'RAW',
    'ALL_BUFFERS',
    'DATE_STRINGS_DATE',
    'DATE_STRINGS_DATETIME',
    'DATE_STRINGS_TIMESTAMP',
    'STREAM',
    'DDL',
    'POOL_WAIT',
    'ALONE',
    'REPLAYABLE',
  ]),
  KIND: group('KIND', ['NUMBER', 'STRING', 'BUFFER', 'DATE', 'DATETIME', 'JSON', 'BIGINT', 'GEOMETRY', 'NULL', 'BIN_DATETIME', 'JSON_BIG', 'EXTENDED_JSON']),
  TAG: group('TAG', ['NULL', 'VALUE', 'STRING', 'BUFFER']),
});
