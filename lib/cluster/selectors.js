'use strict';
// How a call picks among the online nodes: the id patterns of of() (globs or
// RegExps, as mysql2) and the selectors RR, RANDOM and ORDER.

const SELECTORS = {
  RR() {
    let i = 0;
    return (ids) => {
      const id = ids[i % ids.length];
      i = i >= 0x3fffffff ? 0 : i + 1;
      return id;
    };
  },
  RANDOM() {
    return (ids) => ids[Math.floor(Math.random() * ids.length)];
  },
  ORDER() {
    return (ids) => ids[0];
  },
};

function patternRegExp(pattern) {
  // A /g or /y RegExp keeps state between test() calls: use a plain copy.
  if (pattern instanceof RegExp) return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  const source = String(pattern)
    .replace(/[.+?^=!:${}()|[\]/\\]/g, '\\$&')
    .replace(/\*/g, '.*');
  return new RegExp(`^${source}$`);
}

module.exports = { SELECTORS, patternRegExp };
