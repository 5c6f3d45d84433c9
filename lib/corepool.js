'use strict';
// mysql2's promise pool exposes its core pool as `.pool`, and pool-monitoring
// code written for mysql2 commonly reads that pool's private queues
// (`_allConnections.length`, `_freeConnections.length`,
// `_connectionQueue.length`) and its `config`. This view answers those reads
// live from the native pool, so such code keeps working after the switch.
// Nothing else of mysql2's core pool is here: use the pool itself.

const lengthOf = (n) => Object.freeze({ length: n });

class CorePoolView {
  constructor(pool) {
    this._pool = pool;
    const c = pool.config;
    this.config = Object.freeze({
      connectionLimit: c.connectionLimit,
      queueLimit: c.queueLimit,
      waitForConnections: c.waitForConnections,
      maxIdle: c.maxIdle,
      idleTimeout: c.idleTimeout,
      connectionConfig: Object.freeze({ host: c.host, port: c.port, user: c.user, database: c.database }),
    });
  }

  /** Open and opening connections. */
  get _allConnections() {
    return lengthOf(this._pool._native.counts().total);
  }

  /** Idle connections, and released ones on their way back (mysql2 frees at release()). */
  get _freeConnections() {
    const c = this._pool._native.counts();
    return lengthOf(c.idle + c.returning);
  }

  /** Callers waiting for a connection. */
  get _connectionQueue() {
    return lengthOf(this._pool._native.counts().waiting);
  }

  get _closed() {
    return this._pool._closed;
  }
}

module.exports = { CorePoolView };
