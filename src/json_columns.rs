//! Which columns of a MariaDB result hold JSON.
//!
//! MariaDB has no JSON column type: `JSON` is a string column with a
//! column-level `CHECK (json_valid(col))`, and only MariaDB's extended column
//! metadata marks such columns as JSON. mysql2 negotiates that metadata and
//! parses them; mysql_async cannot negotiate it. So for table columns we ask
//! information_schema which columns carry exactly that check (the server's own
//! rule), once per table, and cache the answer. The lookup runs on a side
//! connection so the caller's session (its warnings, FOUND_ROWS(), ROW_COUNT())
//! is untouched. Expressions (JSON_OBJECT(...)), views and temporary tables
//! have no such check to find and stay text.
use crate::metrics::Metrics;
use crate::sync::lock;
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{Column, Conn, Opts};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a table's answer is trusted when this pool saw no DDL.
const TTL: Duration = Duration::from_secs(60);
/// After a failed lookup, retry this much later (the columns stay text).
const RETRY: Duration = Duration::from_secs(5);
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// The side connection closes after this long unused.
const SIDE_IDLE: Duration = Duration::from_secs(10);

/// (cache key, schema, table) of a table whose answer is wanted.
type Wanted = (u64, String, String);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Server {
    Unknown,
    MariaDb,
    /// MySQL or TiDB: JSON has its own column type there.
    Other,
}

struct Table {
    schema: String,
    table: String,
    /// Names of the JSON columns.
    json: Vec<String>,
    until: Instant,
}

/// Tables whose answer is kept; past this the answer that expires first
/// goes (a schema with more tables than this looks some up again).
pub const CAPACITY: usize = 2048;

struct State {
    server: Server,
    tables: HashMap<u64, Table>,
    evicted: u64,
}

struct Side {
    conn: Option<Conn>,
    last_used: Instant,
}

pub struct JsonColumns {
    enabled: bool,
    opts: Opts,
    /// A failed lookup is counted as error ERR_JSON_LOOKUP (stats, metrics).
    metrics: Arc<Metrics>,
    state: Mutex<State>,
    side: tokio::sync::Mutex<Side>,
    closed: std::sync::atomic::AtomicBool,
}

fn is_string_type(c: &Column) -> bool {
    use ColumnType::*;
    matches!(
        c.column_type(),
        MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_STRING
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_BLOB
    )
}

/// A table column that could carry the check: a string type read straight
/// from a named table.
fn candidate(c: &Column) -> bool {
    is_string_type(c) && !c.schema_ref().is_empty() && !c.org_table_ref().is_empty() && !c.org_name_ref().is_empty()
}

fn key(schema: &[u8], table: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    schema.hash(&mut h);
    table.hash(&mut h);
    h.finish()
}

impl Table {
    fn is(&self, schema: &[u8], table: &[u8]) -> bool {
        self.schema.as_bytes() == schema && self.table.as_bytes() == table
    }

    /// Column names are case-insensitive in MariaDB.
    fn has(&self, column: &[u8]) -> bool {
        self.json.iter().any(|j| j.as_bytes().eq_ignore_ascii_case(column))
    }
}

/// `json_valid(`name`)` -> name, as information_schema prints the check.
fn json_valid_column(clause: &str) -> Option<String> {
    let inner = clause.strip_prefix("json_valid(`")?.strip_suffix("`)")?;
    Some(inner.replace("``", "`"))
}

impl JsonColumns {
    pub fn new(enabled: bool, opts: Opts, metrics: Arc<Metrics>) -> Self {
        JsonColumns {
            enabled,
            opts,
            metrics,
            state: Mutex::new(State { server: Server::Unknown, tables: HashMap::new(), evicted: 0 }),
            side: tokio::sync::Mutex::new(Side { conn: None, last_used: Instant::now() }),
            closed: false.into(),
        }
    }

    /// Starts the once-a-second task that closes the side connection when
    /// unused (it ends with close(), or when the cache is dropped).
    pub fn start(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        crate::runtime::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                match weak.upgrade() {
                    Some(j) if !j.closed.load(std::sync::atomic::Ordering::Relaxed) => j.reap(),
                    _ => return,
                }
            }
        });
    }

    /// Per column: true where MariaDB would mark it JSON. None when no
    /// column is. With every table cached this takes one lock and one hash
    /// per table, and allocates only when a JSON column is found.
    pub async fn mask(&self, conn_version: (u16, u16, u16), cols: &[Column]) -> Option<Vec<bool>> {
        // MariaDB reports 10.x and later; MySQL 5.x to 9.x and TiDB 8.0.11
        // have a real JSON type, so they never need this.
        if !self.enabled || conn_version.0 < 10 {
            return None;
        }
        match self.cached(cols) {
            Ok(mask) => mask,
            Err(missing) => {
                self.refresh(missing).await;
                // A failed lookup left entries that say "no JSON" for a while.
                self.cached(cols).unwrap_or(None)
            }
        }
    }

    /// The mask from the cache, or the (schema, table) pairs it lacks.
    fn cached(&self, cols: &[Column]) -> Result<Option<Vec<bool>>, Vec<Wanted>> {
        let st = lock(&self.state);
        if st.server == Server::Other {
            return Ok(None);
        }
        let now = Instant::now();
        let mut mask: Option<Vec<bool>> = None;
        let mut missing: Vec<Wanted> = Vec::new();
        // Columns of one table usually come together: hash each table once.
        let mut last: Option<(&[u8], &[u8], u64)> = None;
        for (i, c) in cols.iter().enumerate() {
            if !candidate(c) {
                continue;
            }
            let (schema, table) = (c.schema_ref(), c.org_table_ref());
            let k = match last {
                Some((s, t, k)) if s == schema && t == table => k,
                _ => key(schema, table),
            };
            last = Some((schema, table, k));
            match st.tables.get(&k) {
                Some(t) if t.is(schema, table) && t.until > now => {
                    if t.has(c.org_name_ref()) {
                        mask.get_or_insert_with(|| vec![false; cols.len()])[i] = true;
                    }
                }
                _ => {
                    if !missing.iter().any(|(m, _, _)| *m == k) {
                        missing.push((k, c.schema_str().into_owned(), c.org_table_str().into_owned()));
                    }
                }
            }
        }
        if missing.is_empty() {
            Ok(mask)
        } else {
            Err(missing)
        }
    }

    async fn refresh(&self, wanted: Vec<Wanted>) {
        let mut side = self.side.lock().await;
        // Another task may have answered while this one waited.
        let now = Instant::now();
        let wanted: Vec<Wanted> = {
            let st = lock(&self.state);
            wanted
                .into_iter()
                .filter(|(k, s, t)| !st.tables.get(k).is_some_and(|e| e.schema == *s && e.table == *t && e.until > now))
                .collect()
        };
        if wanted.is_empty() {
            return;
        }
        let reused = side.conn.is_some();
        let mut res = tokio::time::timeout(LOOKUP_TIMEOUT, self.lookup(&mut side, &wanted)).await;
        if reused && !matches!(res, Ok(Ok(_))) {
            // The kept connection may have been closed by the server
            // (wait_timeout, KILL): try once more on a new one.
            side.conn = None;
            res = tokio::time::timeout(LOOKUP_TIMEOUT, self.lookup(&mut side, &wanted)).await;
        }
        side.last_used = Instant::now();
        let found = match res {
            Ok(Ok(found)) => Some(found),
            _ => {
                // Unknown state: start over with a new connection next time.
                side.conn = None;
                self.metrics.error("ERR_JSON_LOOKUP");
                None
            }
        };
        let mut st = lock(&self.state);
        let until = Instant::now() + if found.is_some() { TTL } else { RETRY };
        for (k, schema, table) in wanted {
            let json = found
                .as_ref()
                .map(|f| f.iter().filter(|(s, t, _)| *s == schema && *t == table).map(|(_, _, c)| c.clone()).collect())
                .unwrap_or_default();
            st.tables.insert(k, Table { schema, table, json, until });
        }
        let over = st.tables.len().saturating_sub(CAPACITY);
        if over > 0 {
            let mut by_expiry: Vec<(Instant, u64)> = st.tables.iter().map(|(k, t)| (t.until, *k)).collect();
            by_expiry.sort_unstable();
            for (_, k) in by_expiry.into_iter().take(over) {
                st.tables.remove(&k);
            }
            st.evicted += over as u64;
        }
    }

    /// (tables cached, answers evicted so far), for stats().
    pub fn sizes(&self) -> (usize, u64) {
        let st = lock(&self.state);
        (st.tables.len(), st.evicted)
    }

    /// (schema, table, column) of every JSON column of `wanted`.
    async fn lookup(&self, side: &mut Side, wanted: &[Wanted]) -> mysql_async::Result<Vec<(String, String, String)>> {
        let conn = match side.conn.as_mut() {
            Some(c) => c,
            None => side.conn.insert(Conn::new(self.opts.clone()).await?),
        };
        let server = lock(&self.state).server;
        if server == Server::Unknown {
            // Read untyped: mysql_async's typed reads panic on a value that
            // does not convert (a proxy or fake server may send anything).
            let row: Option<mysql_async::Row> = conn.query_first("SELECT VERSION()").await?;
            let version = row.and_then(|mut r| r.take_opt::<mysql_async::Value, usize>(0)).and_then(Result::ok);
            let kind = if matches!(version, Some(mysql_async::Value::Bytes(b)) if String::from_utf8_lossy(&b).to_ascii_lowercase().contains("mariadb"))
            {
                Server::MariaDb
            } else {
                Server::Other
            };
            lock(&self.state).server = kind;
        }
        if lock(&self.state).server == Server::Other {
            if let Some(c) = side.conn.take() {
                let _ = c.disconnect().await;
            }
            return Ok(Vec::new());
        }
        let Some(conn) = side.conn.as_mut() else {
            return Ok(Vec::new());
        };
        let mut schemas: Vec<&str> = wanted.iter().map(|(_, s, _)| s.as_str()).collect();
        schemas.sort_unstable();
        schemas.dedup();
        let mut out = Vec::new();
        for schema in schemas {
            let tables: Vec<&str> = wanted.iter().filter(|(_, s, _)| s == schema).map(|(_, _, t)| t.as_str()).collect();
            let marks = vec!["?"; tables.len()].join(",");
            let sql = format!(
                "SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
                 WHERE CONSTRAINT_SCHEMA = ? AND LEVEL = 'Column' AND TABLE_NAME IN ({marks})"
            );
            let mut params: Vec<mysql_async::Value> = vec![schema.into()];
            params.extend(tables.iter().map(|t| mysql_async::Value::from(*t)));
            let rows: Vec<mysql_async::Row> = conn.exec(sql, params).await?;
            for mut row in rows {
                // A row that is not two texts is skipped, not a panic.
                let (Some(Ok(table)), Some(Ok(clause))) =
                    (row.take_opt::<String, usize>(0), row.take_opt::<String, usize>(1))
                else {
                    continue;
                };
                if let Some(col) = json_valid_column(&clause) {
                    out.push((schema.to_string(), table, col));
                }
            }
        }
        Ok(out)
    }

    /// This pool ran DDL: tables may have gained or lost JSON columns.
    pub fn invalidate(&self) {
        lock(&self.state).tables.clear();
    }

    /// Closes the side connection once it has been unused for a while.
    pub fn reap(&self) {
        if let Ok(mut side) = self.side.try_lock() {
            if side.conn.is_some() && side.last_used.elapsed() >= SIDE_IDLE {
                if let Some(c) = side.conn.take() {
                    crate::runtime::spawn_here(async move {
                        let _ = c.disconnect().await;
                    });
                }
            }
        }
    }

    pub async fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::Relaxed);
        let conn = self.side.lock().await.conn.take();
        if let Some(c) = conn {
            let _ = c.disconnect().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn clause() {
        assert_eq!(json_valid_column("json_valid(`doc`)"), Some("doc".into()));
        assert_eq!(json_valid_column("json_valid(`a``b`)"), Some("a`b".into()));
        assert_eq!(json_valid_column("json_valid(`b`) and `b` is not null"), None);
    }
}
