// Imported first by differential.test.mjs, so that the zone is in place
// before mysql2 or lib/index.js are loaded (ESM evaluates imports in order).
// mysql2 parses dates in the process' local zone (timezone 'local'); a zone
// with DST and, for year-1000 dates, a non-whole-minute LMT offset makes
// local-time handling observable. Override with NMP_DIFF_TZ.
process.env.TZ = process.env.NMP_DIFF_TZ || 'Europe/Berlin'
