//! The pool's configuration as the JS layer hands it over: already validated
//! and defaulted there (lib/config.js owns mysql2's option names and error
//! messages); here it becomes mysql_async options and pool settings.
//! Every PoolConfig field is fed by a row of lib/config.js's option table
//! (its `native` name, camelCase of the field); __test__/unit/options.test.mjs
//! checks the two against each other. A field added here must be an Option
//! unless every JS that can load this addon already sends it.
use crate::charset::{self, Charset};
use crate::error::ErrInfo;
use crate::tls;
use mysql_async::{Opts, OptsBuilder};
use std::time::Duration;

#[napi(object)]
#[derive(Clone)]
pub struct SslConfig {
    /// PEM text of one or more trusted CAs; none = the Mozilla root store.
    pub ca: Option<Vec<String>>,
    /// PEM client certificate chain and key, for `REQUIRE X509` users.
    pub cert: Option<String>,
    pub key: Option<String>,
    pub reject_unauthorized: bool,
    pub verify_identity: bool,
    pub servername: Option<String>,
    // ssl.minVersion / maxVersion stop in lib/config.js: rustls here always
    // offers TLS 1.2 and 1.3, so what it accepts is met without a setting.
}

#[napi(object)]
#[derive(Clone)]
pub struct PoolConfig {
    pub host: String,
    pub port: u32,
    pub user: String,
    pub password: Option<String>,
    pub database: Option<String>,
    pub socket_path: Option<String>,
    pub connection_limit: u32,
    pub wait_for_connections: bool,
    pub queue_limit: u32,
    pub max_idle: u32,
    pub min_idle: u32,
    pub idle_timeout: f64,
    pub max_lifetime: f64,
    pub acquire_timeout: f64,
    pub enable_keep_alive: bool,
    /// mysql2's `enableCleartextPlugin`: answer a switch to mysql_clear_password.
    pub enable_cleartext_plugin: bool,
    pub keep_alive_initial_delay: f64,
    pub idle_ping_interval: f64,
    pub connect_timeout: f64,
    pub validate_after_idle: f64,
    /// Queued pool commands a free connection takes at once (pipeline.rs); 0: off.
    pub pipelining: Option<u32>,
    /// Whether commands other than plain SELECTs ride too (then a lost
    /// connection fails every command written to it).
    pub pipeline_writes: Option<bool>,
    /// "always" | "never" | "auto"
    pub reset_on_release: String,
    pub max_prepared_statements: u32,
    pub circuit_breaker_threshold: u32,
    pub circuit_breaker_reset: f64,
    pub charset: Option<String>,
    pub init_sql: Vec<String>,
    pub ssl: Option<SslConfig>,
    /// Look up which MariaDB columns are JSON (see json_columns.rs).
    pub mariadb_json_columns: bool,
    /// Close connections idle longer than idleTimeout even when maxIdle =
    /// connectionLimit (mysql2 reaps only below connectionLimit).
    pub reap_idle: Option<bool>,
    /// Longest wait for the server's next packet during a command (ms, 0 = none).
    pub socket_timeout: Option<f64>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ResetPolicy {
    Always,
    Never,
    Auto,
}

/// Pool policy, in the units the pool works with.
#[derive(Clone, Debug)]
pub struct Settings {
    pub limit: usize,
    pub wait_for_connections: bool,
    pub queue_limit: usize,
    pub max_idle: usize,
    pub min_idle: usize,
    pub idle_timeout: Option<Duration>,
    pub max_lifetime: Option<Duration>,
    pub acquire_timeout: Option<Duration>,
    pub idle_ping_interval: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub validate_after_idle: Duration,
    /// At most this many queued commands ride one connection (0: none, and
    /// always 0 with a reset on release).
    pub pipeline_depth: usize,
    pub pipeline_writes: bool,
    pub reset: ResetPolicy,
    pub breaker_threshold: u32,
    pub breaker_reset: Duration,
    pub mariadb_json_columns: bool,
    pub reap_idle: bool,
    pub socket_timeout: Option<Duration>,
    /// The `charset` option's character set: SQL and string parameters go
    /// out in it, column names come back in it.
    pub charset: Charset,
}

/// The `pipelining` option's default and bound (see pipeline.rs). On by
/// default: only plain SELECTs ride unless `pipelineWrites`, and those go
/// back to the queue when a connection is lost, so an outage fails as many
/// commands as in mysql2.
const PIPELINE_DEPTH: usize = 8;
const PIPELINE_DEPTH_MAX: u32 = 64;

fn ms(v: f64) -> Option<Duration> {
    if v.is_finite() && v > 0.0 {
        Some(Duration::from_micros((v * 1000.0) as u64))
    } else {
        None
    }
}

impl PoolConfig {
    pub fn settings(&self) -> Settings {
        let limit = self.connection_limit.max(1) as usize;
        Settings {
            limit,
            wait_for_connections: self.wait_for_connections,
            queue_limit: self.queue_limit as usize,
            max_idle: (self.max_idle as usize).min(limit),
            min_idle: (self.min_idle as usize).min(limit),
            // 0 is a real value for mysql2's reaper: every idle connection goes.
            idle_timeout: (self.idle_timeout.is_finite() && self.idle_timeout >= 0.0)
                .then(|| Duration::from_micros((self.idle_timeout * 1000.0) as u64)),
            max_lifetime: ms(self.max_lifetime),
            acquire_timeout: ms(self.acquire_timeout),
            idle_ping_interval: ms(self.idle_ping_interval),
            connect_timeout: ms(self.connect_timeout),
            validate_after_idle: ms(self.validate_after_idle).unwrap_or(Duration::ZERO),
            // With a reset on release each pool command must find a clean
            // session, and a pipeline writes the next before it sees what the
            // last left: no pipelining then.
            pipeline_depth: match self.reset_on_release.as_str() {
                "never" => self.pipelining.map_or(PIPELINE_DEPTH, |d| d.min(PIPELINE_DEPTH_MAX) as usize),
                _ => 0,
            },
            pipeline_writes: self.pipeline_writes.unwrap_or(false),
            reset: match self.reset_on_release.as_str() {
                "always" => ResetPolicy::Always,
                "never" => ResetPolicy::Never,
                _ => ResetPolicy::Auto,
            },
            breaker_threshold: self.circuit_breaker_threshold,
            breaker_reset: ms(self.circuit_breaker_reset).unwrap_or(Duration::from_secs(1)),
            mariadb_json_columns: self.mariadb_json_columns,
            reap_idle: self.reap_idle.unwrap_or(false),
            socket_timeout: ms(self.socket_timeout.unwrap_or(0.0)),
            charset: self
                .charset
                .as_deref()
                .and_then(|cs| charset_name(cs).ok())
                .map(|(set, _)| charset::of_name(&set))
                .unwrap_or(Charset::Utf8),
        }
    }

    /// mysql_async connection options tuned for a pool we manage ourselves.
    pub fn mysql_opts(&self) -> Result<Opts, ErrInfo> {
        let mut b = OptsBuilder::default()
            .ip_or_hostname(self.host.clone())
            .tcp_port(self.port.min(65535) as u16)
            .user(Some(self.user.clone()))
            .pass(self.password.clone())
            .db_name(self.database.clone())
            // 127.0.0.1 must stay TCP (and TLS) as configured, like mysql2.
            .prefer_socket(false)
            .socket(self.socket_path.clone())
            // mysql2 always sends CLIENT_FOUND_ROWS: UPDATE counts matched rows.
            .client_found_rows(true)
            .tcp_nodelay(true)
            .enable_cleartext_plugin(self.enable_cleartext_plugin)
            .stmt_cache_size(self.max_prepared_statements as usize)
            .tcp_keepalive(if self.enable_keep_alive {
                // The OS counts idle time before the first probe in whole seconds.
                Some(Duration::from_millis(self.keep_alive_initial_delay.clamp(1000.0, 86_400_000.0) as u64))
            } else {
                None
            });
        // `setup` (not `init`) also runs after COM_RESET_CONNECTION, which
        // would otherwise put the session back to the handshake collation.
        let mut setup = Vec::new();
        if let Some(cs) = &self.charset {
            setup.push(format!("SET NAMES {}", charset_name(cs)?.1));
        }
        setup.extend(self.init_sql.iter().cloned());
        // mysql_async runs the setup list from its end; keep the user's order.
        setup.reverse();
        if !setup.is_empty() {
            b = b.setup(setup);
        }
        // Known up front, so mysql_async skips its `SELECT @@max_allowed_packet,
        // @@wait_timeout` round trip per new connection (the client-side
        // wait_timeout only feeds mysql_async's own pool, unused here).
        b = b.max_allowed_packet(Some(1 << 30)).wait_timeout(Some(28800));
        if let Some(ssl) = &self.ssl {
            b = b.ssl_opts(Some(tls::ssl_opts(ssl)?));
        }
        Ok(Opts::from(b))
    }
}

/// mysql2 accepts collation names (UTF8MB4_UNICODE_CI) and character set
/// names (cp1251) as `charset`; the server wants a character set for SET
/// NAMES, with the collation apart. Returns (set, SET NAMES argument).
fn charset_name(cs: &str) -> Result<(String, String), ErrInfo> {
    let lower = cs.to_ascii_lowercase();
    if !lower.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || lower.is_empty() {
        return Err(ErrInfo::new("ERR_INVALID_CHARSET", format!("Invalid charset: {cs}")));
    }
    let set = lower.split('_').next().unwrap_or("utf8mb4").to_string();
    match charset::of_name(&set) {
        Charset::Unsupported("unknown") => {
            return Err(ErrInfo::new(
                "ERR_INVALID_POOL_OPTION",
                format!("Option \"charset\" is not a character set or collation MySQL knows: {cs}"),
            ));
        }
        // Text in it could not be converted: refuse rather than garble.
        Charset::Unsupported(_) => {
            return Err(ErrInfo::new(
                "ERR_UNSUPPORTED_OPTION",
                format!("Option \"charset\" {cs}: napi-mysql-pool cannot convert text in {set}"),
            ));
        }
        _ => {}
    }
    let names = if lower.contains('_') && lower != set { format!("{set} COLLATE {lower}") } else { set.clone() };
    Ok((set, names))
}
