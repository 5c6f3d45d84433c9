//! Running one command on one connection and encoding what comes back.
use crate::charset::Charset;
use crate::convert::{Encoder, Header, ResultSet, RowBatch};
use crate::json_columns::JsonColumns;
use mysql_async::prelude::{Protocol, Queryable};
use mysql_async::{Conn, Params, QueryResult, Value};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// A positional parameter for a prepared statement, as JS sent it.
#[derive(Clone)]
pub enum Param {
    Null,
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    /// A JS string: goes out in the connection's character set.
    Text(String),
    /// Wall-clock DATETIME components (the JS layer applied the timezone).
    Date(u16, u8, u8, u8, u8, u8, u32),
}

impl From<Param> for Value {
    fn from(p: Param) -> Value {
        match p {
            Param::Null => Value::NULL,
            Param::Int(i) => Value::Int(i),
            Param::Double(d) => Value::Double(d),
            Param::Bytes(b) => Value::Bytes(b),
            Param::Text(t) => Value::Bytes(t.into_bytes()),
            Param::Date(y, mo, d, h, mi, s, us) => Value::Date(y, mo, d, h, mi, s, us),
        }
    }
}

impl Param {
    /// Bytes its value takes in COM_STMT_EXECUTE, at least.
    fn wire_bytes(&self) -> usize {
        match self {
            Param::Bytes(b) => b.len(),
            Param::Text(t) => t.len(),
            _ => 0,
        }
    }
}

/// ER_NET_PACKET_TOO_LARGE, as the server words it.
const PACKET_TOO_LARGE: u16 = 1153;

/// Commands up to this size are sent without a look at max_allowed_packet
/// (no server allows less than 64 KiB by default; the minimum is 1 KiB).
const PACKET_CHECK_FROM: usize = 64 << 10;

/// A packet over the session's max_allowed_packet makes the server answer
/// ER_NET_PACKET_TOO_LARGE and close the connection (mysql2 then reports
/// that error, or the reset, and keeps the dead connection). Refused here
/// with the server's error before anything is written, so the connection
/// stays usable. The session's value is read once per connection, by the
/// first command that needs it (`known`), unless that command reads what
/// the reading would reset: the previous statement's FOUND_ROWS(),
/// ROW_COUNT(), warnings or diagnostics (then it goes unchecked, as before).
pub async fn fits_packet(conn: &mut Conn, known: &mut u32, payload: usize, sql: &[u8]) -> mysql_async::Result<()> {
    if payload <= PACKET_CHECK_FROM {
        return Ok(());
    }
    if *known == 0 {
        if reads_diagnostics(sql) {
            return Ok(());
        }
        *known = read_max_packet(conn).await?;
    }
    if payload > *known as usize {
        return Err(mysql_async::Error::Server(mysql_async::ServerError {
            code: PACKET_TOO_LARGE,
            message: "Got a packet bigger than 'max_allowed_packet' bytes".to_string(),
            state: "08S01".to_string(),
        }));
    }
    Ok(())
}

/// The session's max_allowed_packet, or u32::MAX (no check) when the
/// server's answer is not one positive number: a proxy or a fake server may
/// answer NULL, text, no row, several columns or an error. The row is read
/// untyped: mysql_async's typed reads panic on a value that does not convert.
/// Only a lost connection fails the command.
async fn read_max_packet(conn: &mut Conn) -> mysql_async::Result<u32> {
    use mysql_async::prelude::Queryable;
    let row: Option<mysql_async::Row> = match conn.query_first("SELECT @@max_allowed_packet").await {
        Ok(row) => row,
        Err(mysql_async::Error::Server(_)) => None,
        Err(e) => return Err(e),
    };
    let value = row.filter(|r| r.len() == 1).and_then(|mut r| r.take_opt::<Value, usize>(0)).and_then(Result::ok);
    let n = match value {
        Some(Value::Int(v)) => u64::try_from(v).ok(),
        Some(Value::UInt(v)) => Some(v),
        Some(Value::Bytes(b)) => std::str::from_utf8(&b).ok().and_then(|t| t.trim().parse::<u64>().ok()),
        _ => None,
    };
    Ok(match n {
        Some(v) if v > 0 => u32::try_from(v).unwrap_or(u32::MAX),
        _ => u32::MAX,
    })
}

/// Whether `sql` may read the previous statement's diagnostics, which any
/// statement run before it would reset (a false yes only skips a check).
fn reads_diagnostics(sql: &[u8]) -> bool {
    const WORDS: [&[u8]; 5] = [b"found_rows", b"row_count", b"warning", b"error", b"diagnostics"];
    WORDS.iter().any(|w| sql.windows(w.len()).any(|win| win.eq_ignore_ascii_case(w)))
}

/// One command for a connection.
impl Op {
    /// Its conversion flags (query and execute only).
    pub fn flags(&self) -> u32 {
        match self {
            Op::Query(_, fl) | Op::Execute(_, _, fl) => *fl,
            _ => 0,
        }
    }

    /// (sql, params) to run again after a session reset; None for other ops.
    pub fn replay(&self) -> Option<(String, Vec<Value>)> {
        match self {
            Op::Query(sql, _) => Some((sql.to_string(), Vec::new())),
            Op::Execute(sql, params, _) => Some((sql.to_string(), params.iter().cloned().map(Value::from).collect())),
            _ => None,
        }
    }
}

pub enum Op {
    /// SQL texts are shared with the table of kept texts (boundary::SqlTexts).
    Query(Arc<str>, u32),
    Execute(Arc<str>, Vec<Param>, u32),
    Ping,
    /// conn.prepare(sql): prepares (and caches) the statement now, so its
    /// errors surface here, as in mysql2; execute(sql) then reuses it.
    Prepare(Arc<str>),
    /// JS is done with a new connection it was shown ('connection' event):
    /// it goes to the command that was waiting for it.
    HandBack,
    /// conn.reset(): COM_RESET_CONNECTION, then the connection's setup again.
    Reset,
}

const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;
/// Status flag on the rows set that carries a CALL's OUT parameters.
const SERVER_PS_OUT_PARAMS: u16 = 0x1000;

/// Large results go to JS in chunks of this many rows while the rest is
/// still arriving, so building JS rows overlaps with the network.
pub const CHUNK_ROWS: u32 = 2048;

/// ... or of this many bytes of cells: a JS string holds at most ~512 M
/// UTF-16 units, so a drain must never gather more text than that (see
/// `boundary::DRAIN_BYTES`).
pub const CHUNK_BYTES: usize = 32 << 20;

/// Receives (result set index, rows) for each chunk of a large result.
pub type ChunkSink<'a> = &'a mut (dyn FnMut(usize, RowBatch) + Send);

/// When the server last sent something for the running command (at row
/// granularity), for the socket inactivity limit (`socketTimeout`).
pub struct Activity {
    start: Instant,
    last_us: AtomicU64,
    /// Off without socketTimeout: then a row costs no clock read.
    on: bool,
}

impl Activity {
    pub fn new(on: bool) -> Self {
        Activity { start: Instant::now(), last_us: AtomicU64::new(0), on }
    }

    pub fn touch(&self) {
        if self.on {
            self.last_us.store(self.start.elapsed().as_micros() as u64, Relaxed);
        }
    }

    pub fn last(&self) -> Instant {
        self.start + Duration::from_micros(self.last_us.load(Relaxed))
    }
}

/// How a command's results are read and encoded, the same for both protocols.
pub struct Reading<'a, 's> {
    /// Conversion switches (convert::flags).
    pub flags: u32,
    /// MariaDB JSON columns (see json_columns.rs).
    pub json: &'a JsonColumns,
    /// Set for a streaming command: after each chunk, wait for a permit.
    pub gate: Option<&'a Semaphore>,
    pub sink: ChunkSink<'s>,
    pub activity: &'a Activity,
    /// The connection's character set (the `charset` option).
    pub charset: Charset,
}

pub async fn query(
    conn: &mut Conn,
    max_packet: &mut u32,
    sql: &str,
    r: Reading<'_, '_>,
) -> mysql_async::Result<Vec<ResultSet>> {
    let version = conn.server_version();
    let sql = r.charset.encode(sql);
    fits_packet(conn, max_packet, 1 + sql.len(), &sql).await?;
    let qr = conn.query_iter(sql.as_ref()).await?;
    let mut out = collect(qr, false, version, r).await?;
    fill_status(conn, &mut out);
    Ok(out)
}

pub async fn execute(
    conn: &mut Conn,
    max_packet: &mut u32,
    sql: &str,
    params: &[Param],
    r: Reading<'_, '_>,
) -> mysql_async::Result<Vec<ResultSet>> {
    let version = conn.server_version();
    let text = r.charset.encode(sql);
    fits_packet(conn, max_packet, 1 + text.len(), &text).await?;
    // A lower bound of COM_STMT_EXECUTE's size: its header and the bytes of
    // the text values.
    fits_packet(conn, max_packet, 10 + params.iter().map(Param::wire_bytes).sum::<usize>(), &text).await?;
    // From the connection's statement cache after the first time.
    let stmt = conn.prep(text.as_ref()).await?;
    r.activity.touch();
    let params = bind(params, stmt.num_params(), r.charset);
    let qr = conn.exec_iter(&stmt, params).await?;
    let mut out = collect(qr, true, version, r).await?;
    fill_status(conn, &mut out);
    Ok(out)
}

/// execute()'s values: as many as the statement has placeholders (mysql2
/// binds no more; extra values are not an error there), in the
/// connection's character set.
fn bind(params: &[Param], placeholders: u16, cs: Charset) -> Params {
    let params = &params[..params.len().min(usize::from(placeholders))];
    if params.is_empty() {
        return Params::Empty;
    }
    Params::Positional(
        params
            .iter()
            .map(|p| match p {
                Param::Text(t) if !cs.is_utf8() => Value::Bytes(cs.encode(t).into_owned()),
                p => Value::from(p.clone()),
            })
            .collect(),
    )
}

/// One command of a pipeline: its SQL, its values (None: a query()) and
/// its conversion flags.
pub struct Piped<'a> {
    pub sql: &'a str,
    pub params: Option<&'a [Param]>,
    pub flags: u32,
}

/// Where a pipeline's answers go: `answer(i, result)` once per command that
/// was answered (in order), `chunk(i, set, rows)` for the leading rows of a
/// large result.
pub struct PipeOut<'s> {
    pub answer: &'s mut (dyn FnMut(usize, mysql_async::Result<Vec<ResultSet>>) + Send),
    pub chunk: &'s mut (dyn FnMut(usize, usize, RowBatch) + Send),
}

/// Why a pipeline stopped before every command had its answer; the
/// connection is unusable after either.
pub enum PipeStop {
    /// Nothing of the pipeline reached the server: the unanswered commands
    /// may run elsewhere.
    Unwritten,
    /// Commands were written: the unanswered ones get this error.
    Lost(mysql_async::Error),
}

/// query()s and execute()s pipelined on one connection (see pipeline.rs):
/// each execute()'s statement is prepared (from the connection's cache after
/// the first time), all are written, then the answers are read in order.
/// The server's own error answers one command and the rest go on, as they
/// would one by one; so does a value refused before it was written. Any
/// other error stops the pipeline (the commands not answered by then get it
/// from the caller, or run elsewhere when nothing was written).
pub async fn run_pipelined(
    conn: &mut Conn,
    jobs: &[Piped<'_>],
    json: &JsonColumns,
    activity: &Activity,
    charset: Charset,
    out: PipeOut<'_>,
) -> Option<PipeStop> {
    use mysql_async::Error as E;
    let version = conn.server_version();
    let PipeOut { answer, chunk } = out;
    // Statements first: a miss costs a round trip, which must not fall
    // between written commands and their answers.
    // Statements first: a miss costs a round trip, which must not fall
    // between written commands and their answers.
    let mut stmts = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        if job.params.is_none() {
            stmts.push(None);
            continue;
        }
        match conn.prep(charset.encode(job.sql).as_ref()).await {
            Ok(stmt) => stmts.push(Some(stmt)),
            Err(e @ E::Server(_)) => {
                answer(i, Err(e));
                stmts.push(None);
            }
            // The client refused the statement (named and positional
            // placeholders mixed...), or its prepare broke: its answer, as one
            // by one; the connection is not trusted after it (as run_op does),
            // and nothing was written yet.
            Err(e @ E::Driver(_)) => {
                answer(i, Err(e));
                return Some(PipeStop::Unwritten);
            }
            Err(_) => return Some(PipeStop::Unwritten),
        }
    }
    activity.touch();
    let mut sent = Vec::with_capacity(jobs.len());
    for (i, (job, stmt)) in jobs.iter().zip(&stmts).enumerate() {
        let first = sent.is_empty();
        let res = match (job.params, stmt) {
            (None, _) => conn.pipeline_send_query(charset.encode(job.sql).as_ref(), first).await,
            (Some(params), Some(stmt)) => {
                conn.pipeline_send(stmt, bind(params, stmt.num_params(), charset), first).await
            }
            // Its prepare failed: already answered.
            (Some(_), None) => continue,
        };
        match res {
            Ok(()) => sent.push(i),
            // Refused before a byte was written (values that do not fit the
            // statement): that command's answer; the stream is untouched.
            Err(e @ E::Driver(_)) => answer(i, Err(e)),
            Err(_) if sent.is_empty() => return Some(PipeStop::Unwritten),
            Err(error) => return Some(PipeStop::Lost(error)),
        }
    }
    for i in sent {
        let (Some(job), Some(stmt)) = (jobs.get(i), stmts.get(i)) else { continue };
        let mut sink = |set: usize, rows: RowBatch| chunk(i, set, rows);
        let r = Reading { flags: job.flags, json, gate: None, sink: &mut sink, activity, charset };
        let got = match stmt {
            Some(stmt) => match conn.pipeline_read(stmt).await {
                Ok(qr) => collect(qr, true, version, r).await,
                Err(e) => Err(e),
            },
            None => match conn.pipeline_read_query().await {
                Ok(qr) => collect(qr, false, version, r).await,
                Err(e) => Err(e),
            },
        };
        match got {
            Ok(mut sets) => {
                fill_status(conn, &mut sets);
                answer(i, Ok(sets));
            }
            Err(e @ E::Server(_)) => answer(i, Err(e)),
            Err(error) => return Some(PipeStop::Lost(error)),
        }
    }
    None
}

async fn collect<P: Protocol>(
    mut qr: QueryResult<'_, 'static, P>,
    binary: bool,
    version: (u16, u16, u16),
    Reading { flags: fl, json, gate, sink, activity, charset }: Reading<'_, '_>,
) -> mysql_async::Result<Vec<ResultSet>> {
    let mut out = Vec::with_capacity(1);
    loop {
        activity.touch();
        match qr.columns() {
            Some(cols) if !cols.is_empty() => {
                // Decided before the first row is read; the rows wait in the socket.
                let mask = json.mask(version, &cols).await;
                let mut enc = Encoder::for_columns(&cols, fl, binary, mask.as_deref(), charset)
                    .map_err(|msg| mysql_async::Error::Other(msg.into()))?;
                // next() yields this set's rows, then None once it has moved
                // on to the following set (if any). Text rows are read from
                // their packets (see Encoder::push_text_row).
                loop {
                    if binary {
                        let Some(row) = qr.next().await? else { break };
                        enc.push_row(&row);
                    } else {
                        let Some(raw) = qr.next_raw().await? else { break };
                        enc.push_text_row(&raw).map_err(protocol_violation)?;
                    }
                    activity.touch();
                    if enc.rows() >= CHUNK_ROWS || enc.bytes() >= CHUNK_BYTES {
                        sink(out.len(), enc.take_chunk());
                        // A stream that has not asked for more pauses reading
                        // here, so the server waits instead of our memory
                        // filling up (a closed gate means: no more pausing).
                        if let Some(gate) = gate {
                            if let Ok(permit) = gate.acquire().await {
                                permit.forget();
                            }
                        }
                    }
                }
                let rows = enc.finish();
                // A CALL's OUT parameters come as one more rows set, because
                // mysql_async announces CLIENT_PS_MULTI_RESULTS; mysql2 does
                // not, so the server never sends it that set.
                if binary && qr.set_end_status() & SERVER_PS_OUT_PARAMS != 0 {
                    continue;
                }
                out.push(ResultSet::Rows(rows));
            }
            Some(_) => {
                // An OK packet: a DML statement, or the status that ends a CALL.
                out.push(ResultSet::Header(Header {
                    affected_rows: qr.affected_rows(),
                    insert_id: qr.last_insert_id().unwrap_or(0),
                    warning_status: qr.warnings() as f64,
                    server_status: 0.0,
                    info: qr.info().into_owned(),
                    state: None,
                }));
                // Consumes the OK packet's pending result and moves to the
                // next set (for_each would skip it as "empty" and loop forever).
                qr.next().await?;
            }
            None => {
                // Either everything was read, or a later statement failed and
                // its error is pending: reading once more surfaces it, so the
                // connection is never left with an unread packet.
                qr.next().await?;
                break;
            }
        }
    }
    Ok(out)
}

/// A row that breaks the protocol: the same class of error as mysql_async's
/// own refusals, so the connection is closed (src/error.rs).
fn protocol_violation(why: String) -> mysql_async::Error {
    let e = std::io::Error::new(std::io::ErrorKind::InvalidData, format!("napi-mysql-pool: protocol violation: {why}"));
    mysql_async::Error::Io(mysql_async::IoError::Io(e))
}

/// The server status is only kept for the last OK packet; earlier result
/// sets of a multi-statement query carry it with MORE_RESULTS set.
fn fill_status(conn: &Conn, out: &mut [ResultSet]) {
    let status = conn.last_ok_packet().map(|ok| ok.status_flags().bits()).unwrap_or(0);
    let n = out.len();
    for (i, rs) in out.iter_mut().enumerate() {
        if let ResultSet::Header(h) = rs {
            let s = if i + 1 == n { status } else { status | SERVER_MORE_RESULTS_EXISTS };
            h.server_status = s as f64;
            if i + 1 == n {
                h.state = conn.last_ok_packet().and_then(session_state);
            }
        }
    }
}

/// The session-state records of an OK packet, as mysql2 reports them
/// (`stateChanges`): 'v' name value / 's' schema / 't' tracked / 'g' gtids.
fn session_state(ok: &mysql_async::OkPacket<'_>) -> Option<String> {
    use mysql_async::SessionStateChange as C;
    ok.session_state_info_ref()?;
    let infos = ok.session_state_info().ok()?;
    let mut out = String::new();
    let mut put = |tag: &str, a: &str, b: &str| {
        for part in [tag, a, b] {
            out.push_str(part);
            out.push('\0');
        }
    };
    for info in &infos {
        match info.decode() {
            Ok(C::SystemVariables(vars)) => {
                for v in vars {
                    put("v", &String::from_utf8_lossy(v.name_bytes()), &String::from_utf8_lossy(v.value_bytes()));
                }
            }
            Ok(C::Schema(s)) => put("s", &s.as_str(), ""),
            Ok(C::IsTracked(t)) => put("t", if t { "1" } else { "0" }, ""),
            Ok(C::Gtids(g)) => put("g", &g.as_str(), ""),
            _ => put("x", "", ""),
        }
    }
    Some(out)
}
