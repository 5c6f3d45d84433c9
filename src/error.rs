//! Errors as JavaScript sees them: mysql2's fields (`code`, `errno`, `sqlState`,
//! `sqlMessage`, `fatal`) plus the pool's own stable codes.
use crate::errcodes::ERROR_NAMES;
use mysql_async::{DriverError, Error as MyError};

/// A failure on its way to JS. The JS layer turns it into an `Error` object.
#[derive(Debug, Clone)]
pub struct ErrInfo {
    pub message: String,
    pub code: String,
    pub errno: Option<u32>,
    pub sql_state: Option<String>,
    pub sql_message: Option<String>,
    /// The connection is unusable after this error (mysql2's `fatal`).
    pub fatal: bool,
    /// The command was never written (see dispatch::retry_safe).
    pub never_sent: bool,
    /// Raised while connecting: mysql2 attaches no `sql` to these.
    pub handshake: bool,
    /// The OS error number of a socket error while connecting (JS gives it
    /// as Node's negative `errno`, lib/errors.js).
    pub os_errno: Option<i32>,
}

impl ErrInfo {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrInfo {
            message: message.into(),
            code: code.to_string(),
            errno: None,
            sql_state: None,
            sql_message: None,
            fatal: false,
            never_sent: false,
            handshake: false,
            os_errno: None,
        }
    }

    /// mysql2's words for a pool that was ended; the one place they live.
    pub fn closed() -> Self {
        ErrInfo::new(CLOSED_CODE, CLOSED_MESSAGE)
    }

    pub fn fatal(mut self) -> Self {
        self.fatal = true;
        self
    }

    /// Pool-level failures: plain mysql2 messages plus the pool's counts.
    pub fn pool(code: &str, message: &str, counts: &str) -> Self {
        ErrInfo::new(code, format!("{message} ({counts})"))
    }
}

pub fn error_name(errno: u16) -> Option<&'static str> {
    ERROR_NAMES.binary_search_by_key(&errno, |(n, _)| *n).ok().map(|i| ERROR_NAMES[i].1)
}

fn io_code(kind: std::io::ErrorKind) -> &'static str {
    use std::io::ErrorKind::*;
    match kind {
        ConnectionRefused => "ECONNREFUSED",
        ConnectionReset => "ECONNRESET",
        ConnectionAborted => "ECONNABORTED",
        TimedOut => "ETIMEDOUT",
        NotFound => "ENOTFOUND",
        AddrNotAvailable => "EADDRNOTAVAIL",
        BrokenPipe => "EPIPE",
        UnexpectedEof => "PROTOCOL_CONNECTION_LOST",
        _ => "PROTOCOL_CONNECTION_LOST",
    }
}

/// A socket error while connecting, by the name Node's net module gives it
/// (mysql2 passes those errors on): a socket path that does not exist is
/// ENOENT, a host name that does not resolve ENOTFOUND (EAI_AGAIN when the
/// resolver said to try again).
fn connect_code(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "ECONNREFUSED",
        HostUnreachable => "EHOSTUNREACH",
        NetworkUnreachable => "ENETUNREACH",
        NotFound => "ENOENT",
        PermissionDenied => "EACCES",
        kind => {
            let text = e.to_string();
            if text.contains("failed to lookup address") {
                if text.contains("Temporary failure") {
                    "EAI_AGAIN"
                } else {
                    "ENOTFOUND"
                }
            } else {
                io_code(kind)
            }
        }
    }
}

/// Maps a mysql_async error. `connecting` tells apart a failed handshake
/// (mysql2 reports the socket error code) from a lost connection mid-query.
pub fn from_mysql(err: &MyError, connecting: bool) -> ErrInfo {
    match err {
        MyError::Server(se) => {
            let code = error_name(se.code).unwrap_or("UNKNOWN_CODE_PLEASE_REPORT");
            ErrInfo {
                message: se.message.clone(),
                code: code.to_string(),
                errno: Some(se.code as u32),
                sql_state: Some(se.state.clone()),
                sql_message: Some(se.message.clone()),
                // A refused login ends the connection attempt (mysql2 leaves
                // `fatal` unset there; README "Known differences").
                fatal: connecting,
                never_sent: false,
                handshake: connecting,
                os_errno: None,
            }
        }
        MyError::Io(io) => {
            let text = io.to_string();
            // Detected before writing (scripts/patch-mysql-async.js): the
            // peer had closed, or unread bytes were waiting.
            let never_sent = text.contains("before the command was sent") || text.contains("no command asked for");
            let (code, message) = match io {
                mysql_async::IoError::Io(e) if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
                    // rustls reports certificate failures through an io::Error;
                    // its own words, without mysql_async's "Input/output error: ".
                    ("HANDSHAKE_SSL_ERROR", e.get_ref().map_or(text, |inner| inner.to_string()))
                }
                // A stream that broke the protocol (see scripts/patch-mysql-async.js
                // and mysql_common's codec): never "connection lost", the
                // connection is closed because nothing on it can be trusted.
                mysql_async::IoError::Io(e) if is_protocol_violation(e) => {
                    let code = if text.contains("out of sync") {
                        "PROTOCOL_PACKETS_OUT_OF_ORDER"
                    } else {
                        "PROTOCOL_UNEXPECTED_PACKET"
                    };
                    (code, text)
                }
                // Closed or reset during the TLS handshake (marked by a
                // scripts/patch-mysql-async.js edit): Node's words, as mysql2
                // passes them on.
                mysql_async::IoError::Io(e) if e.to_string().starts_with(TLS_CLOSED) => {
                    ("HANDSHAKE_SSL_ERROR", TLS_CLOSED_MESSAGE.to_string())
                }
                // A server that closed during the handshake: mysql2's words.
                mysql_async::IoError::Io(e) if connecting && e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    ("PROTOCOL_CONNECTION_LOST", CONNECTION_LOST.to_string())
                }
                mysql_async::IoError::Io(e) if connecting => (connect_code(e), text),
                mysql_async::IoError::Io(e) => {
                    let code = lost_code(e.kind());
                    // mysql2's wording for a connection that closed under a command
                    let msg = if code == "PROTOCOL_CONNECTION_LOST" { CONNECTION_LOST.to_string() } else { text };
                    (code, msg)
                }
                mysql_async::IoError::Tls(_) => ("HANDSHAKE_SSL_ERROR", text),
            };
            let mut info = ErrInfo::new(code, message).fatal();
            info.never_sent = never_sent;
            // JS names the address a connect error was about (lib/errors.js).
            info.handshake = connecting;
            if let (true, mysql_async::IoError::Io(e)) = (connecting, io) {
                info.os_errno = e.raw_os_error();
            }
            info
        }
        MyError::Driver(d) => driver(d, connecting),
        MyError::Url(u) => ErrInfo::new("ERR_INVALID_URL", u.to_string()),
        MyError::Other(e) => {
            let text = e.to_string();
            // A result this build cannot decode (see convert::Encoder::new):
            // the rest of it is drained by mysql_async, the connection is fine.
            if let Some(msg) = text.strip_prefix("ERR_UNSUPPORTED_CHARSET: ") {
                return ErrInfo::new("ERR_UNSUPPORTED_CHARSET", msg);
            }
            // Timeouts from mysql_async's own connect deadline arrive as `Other`.
            let code = if text.to_ascii_lowercase().contains("timed out") { "ETIMEDOUT" } else { "PROTOCOL_ERROR" };
            ErrInfo::new(code, text).fatal()
        }
    }
}

pub const CLOSED_CODE: &str = "POOL_CLOSED";
pub const CLOSED_MESSAGE: &str = "Pool is closed.";

fn is_protocol_violation(e: &std::io::Error) -> bool {
    let text = e.to_string();
    e.kind() == std::io::ErrorKind::InvalidData
        || text.contains("protocol violation")
        || text.contains("Packets out of sync")
        || text.contains("Invalid packet")
}

/// Server errors that say this connection's server can no longer take
/// writes or is going away: --read-only / super_read_only (1290, 1836),
/// a read-only transaction on a demoted primary (1792), shutdown in
/// progress (1053: also TiDB's graceful drain).
pub fn means_failover(errno: u32) -> bool {
    matches!(errno, 1290 | 1792 | 1836 | 1053)
}

/// Server errors after which the server closes this connection itself:
/// MariaDB's ER_CONNECTION_KILLED (1927), the answer to a `KILL` of the
/// connection's own id. Reused, the connection would fail its next borrower.
pub fn ends_connection(errno: u32) -> bool {
    errno == 1927
}

const CONNECTION_LOST: &str = "Connection lost: The server closed the connection.";

/// A refused LOCAL INFILE request: the command failed, the connection is fine.
pub const LOCAL_INFILE_CODE: &str = "ERR_LOCAL_INFILE_NOT_SUPPORTED";

/// The message scripts/patch-mysql-async.js gives a TLS handshake the server broke off.
const TLS_CLOSED: &str = "napi-mysql-pool: TLS handshake: the server closed the connection";
const TLS_CLOSED_MESSAGE: &str = "Client network socket disconnected before secure TLS connection was established";

fn lost_code(kind: std::io::ErrorKind) -> &'static str {
    match kind {
        std::io::ErrorKind::TimedOut => "ETIMEDOUT",
        _ => "PROTOCOL_CONNECTION_LOST",
    }
}

fn driver(d: &DriverError, _connecting: bool) -> ErrInfo {
    let text = d.to_string();
    match d {
        // mysql2's words, during the handshake too.
        DriverError::ConnectionClosed => ErrInfo::new("PROTOCOL_CONNECTION_LOST", CONNECTION_LOST).fatal(),
        // mysql2 sends the statement and gets the server's error 1210 back.
        DriverError::StmtParamsMismatch { .. } => ErrInfo {
            message: "Incorrect arguments to mysqld_stmt_execute".to_string(),
            code: "ER_WRONG_ARGUMENTS".to_string(),
            errno: Some(1210),
            sql_state: Some("HY000".to_string()),
            sql_message: Some("Incorrect arguments to mysqld_stmt_execute".to_string()),
            fatal: false,
            never_sent: false,
            handshake: false,
            os_errno: None,
        },
        DriverError::StmtParamsNumberExceedsLimit { .. } => ErrInfo::new("ER_PS_MANY_PARAM", text),
        DriverError::PacketTooLarge => ErrInfo::new("ER_NET_PACKET_TOO_LARGE", text).fatal(),
        DriverError::NoClientSslFlagFromServer => {
            ErrInfo::new("HANDSHAKE_NO_SSL_SUPPORT", "Server does not support secure connection").fatal()
        }
        DriverError::UnknownAuthPlugin { .. } => ErrInfo::new("AUTH_SWITCH_PLUGIN_ERROR", text).fatal(),
        // A server's request for a local file, answered with an empty one (a
        // scripts/patch-mysql-async.js edit): the connection is in step.
        DriverError::LocalInfile(mysql_async::LocalInfileError::PathIsNotInTheWhiteList(name)) => ErrInfo::new(
            LOCAL_INFILE_CODE,
            format!(
                "As a result of LOCAL INFILE command server wants to read {name} file; this pool reads no local files (mysql2's infileStreamFactory is not supported), so the server got an empty one."
            ),
        ),
        // mysql2's code and words for a server asking for the password in
        // plain text without `enableCleartextPlugin`.
        DriverError::CleartextPluginDisabled => ErrInfo::new(
            "MYSQL_CLEAR_PASSWORD_NOT_ENABLED",
            "Server requested authentication using mysql_clear_password, which sends the password in plaintext over the network and is disabled by default. To enable it, set the `enableCleartextPlugin` option to `true` in your connection configuration. Only use this over a secure connection (TLS/SSL).",
        )
        .fatal(),
        // mysql2 has no client side for it either: an unknown plugin there.
        DriverError::MysqlOldPasswordDisabled => ErrInfo::new("AUTH_SWITCH_PLUGIN_ERROR", text).fatal(),
        _ => ErrInfo::new("PROTOCOL_ERROR", text).fatal(),
    }
}

/// Turns a panic payload into an error instead of letting it unwind into Node.
pub fn from_panic(payload: Box<dyn std::any::Any + Send>) -> ErrInfo {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    ErrInfo::new("ERR_NATIVE_PANIC", format!("internal error in napi-mysql-pool: {msg}")).fatal()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn names() {
        assert_eq!(error_name(1062), Some("ER_DUP_ENTRY"));
        assert_eq!(error_name(1064), Some("ER_PARSE_ERROR"));
        assert_eq!(error_name(1), Some("EE_CANTCREATEFILE"));
        assert_eq!(error_name(999), None);
    }
}
