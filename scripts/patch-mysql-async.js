#!/usr/bin/env node
// Builds the copy of mysql_async that Cargo.toml's [patch.crates-io] points
// at (target/patched/mysql_async): the crates.io release, unpacked from
// cargo's own cache, with the small edits below. Nothing of mysql_async is
// committed here; only these edits are ours.
//
// Why: mysql_async 0.37.1 (the latest release) sizes an allocation from the
// column count a server announces (a hostile or corrupted stream could ask
// for 2^40 entries: an allocation failure aborts the process, which no
// catch_unwind can stop), and it writes a new command on a socket that still
// holds bytes of an earlier answer (trailing data is then read as the next
// command's result: wrong rows). Both are fixed where the bytes are read.
// One edit is for speed (handle_packet: no failed parses per row packet).
'use strict';
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const VERSION = '0.37.1';
const root = path.join(__dirname, '..');
const dest = path.join(root, 'target', 'patched', 'mysql_async');

// [file, unique anchor text, replacement]. Each anchor must occur exactly
// once, so a different upstream text fails loudly instead of half-patching.
const EDITS = [
  [
    'src/conn/mod.rs',
    'let mut packets = Vec::with_capacity(n);',
    // The count comes from the wire: grow as packets really arrive.
    'let mut packets = Vec::with_capacity(n.min(64));',
  ],
  [
    'src/conn/routines/helpers.rs',
    'let column_count = packet.read_lenenc_int()?;',
    `let column_count = packet.read_lenenc_int()?;
        // napi-mysql-pool: a result has at most 65535 columns (the protocol's
        // own limit for prepared statements; servers cap tables at 4096).
        if column_count == 0 || column_count > 65_535 {
            return Err(crate::error::IoError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("napi-mysql-pool: protocol violation: result set announces {column_count} columns"),
            ))
            .into());
        }`,
  ],
  [
    'src/conn/mod.rs',
    `    pub(crate) async fn write_command<T: MySerialize>(&mut self, cmd: &T) -> Result<()> {
        self.clean_dirty().await?;`,
    `    pub(crate) async fn write_command<T: MySerialize>(&mut self, cmd: &T) -> Result<()> {
        self.clean_dirty().await?;
        self.check_unread()?;`,
  ],
  [
    'src/conn/mod.rs',
    `    pub(crate) async fn write_command_raw(&mut self, body: PooledBuf) -> Result<()> {
        debug_assert!(!body.is_empty());
        self.clean_dirty().await?;`,
    `    /// napi-mysql-pool: before a command is written, nothing may be waiting
    /// to be read. Bytes there answer no command (trailing data, a desynced
    /// stream): reading them as the next answer would return wrong rows. A
    /// peer that already closed is reported before anything is written.
    fn check_unread(&mut self) -> Result<()> {
        let res = match self.inner.stream.as_mut() {
            Some(stream) => stream.unread(),
            None => return Ok(()),
        };
        let err = match res {
            Ok(false) => return Ok(()),
            Ok(true) => std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "napi-mysql-pool: protocol violation: the server sent data that no command asked for",
            ),
            Err(e) => e,
        };
        self.inner.stream.take();
        self.inner.disconnected = true;
        Err(crate::error::IoError::Io(err).into())
    }

    pub(crate) async fn write_command_raw(&mut self, body: PooledBuf) -> Result<()> {
        debug_assert!(!body.is_empty());
        self.clean_dirty().await?;
        self.check_unread()?;`,
  ],
  [
    'src/io/mod.rs',
    `    /// Checks, that connection is alive.
    pub(crate) async fn check(&mut self) -> std::result::Result<(), IoError> {
        if let Some(codec) = self.codec.as_mut() {`,
    `    /// napi-mysql-pool: whether bytes are waiting that no command asked for
    /// (the framed buffer, then, on plain TCP, the socket: one MSG_PEEK; TLS
    /// sockets carry records such as session tickets, so only the decoded
    /// buffer counts there). Err(BrokenPipe) when the peer has closed.
    pub(crate) fn unread(&mut self) -> io::Result<bool> {
        let Some(codec) = self.codec.as_mut() else {
            return Ok(false);
        };
        if !codec.read_buffer().is_empty() {
            return Ok(true);
        }
        if let Endpoint::Plain(Some(stream)) = codec.get_ref() {
            let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); 1];
            return match socket2::SockRef::from(stream).peek(&mut probe) {
                Ok(0) => Err(io::Error::new(
                    BrokenPipe,
                    "napi-mysql-pool: the server closed the connection before the command was sent",
                )),
                Ok(_) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
                Err(e) => Err(e),
            };
        }
        Ok(false)
    }

    /// Checks, that connection is alive.
    pub(crate) async fn check(&mut self) -> std::result::Result<(), IoError> {
        if let Some(codec) = self.codec.as_mut() {`,
  ],
  // A row packet must end with its last cell: bytes after it mean the
  // stream is out of step with the columns (or hostile), never "ignore".
  ...['Text', 'Binary'].map((proto) => [
    'src/queryable/mod.rs',
    `        ParseBuf(packet)
            .parse::<RowDeserializer<ServerSide, ${proto}>>(columns)
            .map(Into::into)
            .map_err(Into::into)`,
    `        let mut buf = ParseBuf(packet);
        let row = buf.parse::<RowDeserializer<ServerSide, ${proto}>>(columns)?;
        if !buf.is_empty() {
            return Err(crate::error::IoError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("napi-mysql-pool: protocol violation: {} bytes after a row's last cell", buf.0.len()),
            ))
            .into());
        }
        Ok(row.into())`,
  ]),
  // Speed, not safety: every row and column packet went through an OK parse
  // and an ERR parse that could not match (their first byte says so), and
  // each failure built a boxed io::Error: three allocations per point
  // select (callgrind). Skip the parses whose header byte does not match;
  // what they accept is unchanged.
  [
    'src/conn/mod.rs',
    `    fn handle_packet(&mut self, packet: &PooledBuf) -> Result<bool> {
        let ok_packet = if self.has_pending_result() {`,
    `    fn handle_packet(&mut self, packet: &PooledBuf) -> Result<bool> {
        let first = packet.first().copied();
        let ok_header = if self.has_pending_result() { 0xFE } else { 0x00 };
        if first != Some(ok_header) && first != Some(0xFF) {
            return Ok(false);
        }
        let ok_packet = if first != Some(ok_header) {
            Err(std::io::Error::from(std::io::ErrorKind::InvalidData))
        } else if self.has_pending_result() {`,
  ],
  // Speed: every execute() scanned its SQL for named parameters (the
  // parser's state machine, ~1,200 instructions for a point select) before
  // the statement-cache lookup. Without a ':' there is none to find, and
  // the parser would hand back the text unchanged with no names; that case
  // now skips it.
  [
    'src/queryable/stmt.rs',
    `        let query = stmt.as_query();
        let parsed = ParsedNamedParams::parse(query.as_ref())?;`,
    `        let query = stmt.as_query();
        if !query.as_ref().contains(&b':') {
            let inner_stmt = match conn.get_cached_stmt(query.as_ref()) {
                Some(inner_stmt) => inner_stmt,
                None => conn.prepare_statement(Cow::Borrowed(query.as_ref())).await?,
            };
            return Ok(Statement::new(inner_stmt, Vec::new()));
        }
        let parsed = ParsedNamedParams::parse(query.as_ref())?;`,
  ],
  // Speed: a text-protocol result (and a binary one whose metadata the
  // server does not skip) parsed its column definitions anew every time:
  // six allocations per column (an Arc and five owned names), 30 of a
  // five-column point select's 57. Parsing is a pure function of the
  // packets' bytes, so byte-identical definitions (the same query's next
  // result) now share the columns parsed the first time. Bounded: 256
  // lists of at most 8 KB each.
  [
    'src/conn/routines/helpers.rs',
    `            let columns = self.read_column_defs(column_count as usize).await?;
            // Statement must have latest version of the metadata.
            if let Some(stmt) = stmt {
                stmt.update_columns_metadata(columns.clone());
            }
            P::result_set_meta(Arc::from(columns.into_boxed_slice()))`,
    `            let columns = self.read_column_defs_shared(column_count as usize).await?;
            // Statement must have latest version of the metadata.
            if let Some(stmt) = stmt {
                stmt.update_columns_metadata(columns.to_vec());
            }
            P::result_set_meta(columns)`,
  ],
  [
    'src/queryable/stmt.rs',
    `    /// Helper, that retrieves \`Statement\` from \`StatementLike\`.`,
    `    /// napi-mysql-pool: as read_column_defs, shared with earlier results
    /// whose definition packets were byte-identical (see shared_columns).
    pub(crate) async fn read_column_defs_shared(&mut self, num: usize) -> Result<Arc<[Column]>> {
        debug_assert!(num > 0);
        let packets = self.read_packets(num).await?;
        let defs = shared_columns::get_or_parse(&packets).map_err(Error::from)?;
        if !self.has_capabilities(CapabilityFlags::CLIENT_DEPRECATE_EOF) {
            self.read_packet().await?;
        }
        Ok(defs)
    }

    /// Helper, that retrieves \`Statement\` from \`StatementLike\`.`,
  ],
  [
    'src/queryable/stmt.rs',
    `fn to_statement_move<'a, T: AsQuery + 'a>(`,
    `/// napi-mysql-pool: parsed column definitions by the bytes of their
/// packets, process-wide (the parse depends on nothing else).
mod shared_columns {
    use crate::{buffer_pool::PooledBuf, Column};
    use mysql_common::io::ParseBuf;
    use std::hash::{Hash, Hasher};
    use std::sync::{Arc, Mutex};

    const ENTRIES: usize = 256;
    /// Longer lists are parsed every time, never kept.
    const MAX_BYTES: usize = 8 * 1024;

    struct Entry {
        key: Box<[u8]>,
        columns: Arc<[Column]>,
    }

    static CACHE: Mutex<Option<lru::LruCache<u64, Entry>>> = Mutex::new(None);

    /// Each packet as its length (4 bytes, little-endian) and its bytes.
    fn key_len(packets: &[PooledBuf]) -> usize {
        packets.iter().map(|p| 4 + p.len()).sum()
    }

    // xxHash (mysql_async's own statement-cache hash), not SipHash: a hit is
    // checked byte for byte anyway, so the hash only has to spread well; it
    // was ~1.6k of a point query()'s ~75k instructions.
    fn hash(packets: &[PooledBuf]) -> u64 {
        let mut h = twox_hash::XxHash64::with_seed(0);
        for p in packets {
            (p.len() as u32).hash(&mut h);
            h.write(p);
        }
        h.finish()
    }

    fn matches(key: &[u8], packets: &[PooledBuf]) -> bool {
        let mut rest = key;
        for p in packets {
            let len = (p.len() as u32).to_le_bytes();
            let Some((head, tail)) = rest.split_at_checked(4) else { return false };
            if head != len {
                return false;
            }
            let Some((body, tail)) = tail.split_at_checked(p.len()) else { return false };
            if body != &p[..] {
                return false;
            }
            rest = tail;
        }
        rest.is_empty()
    }

    fn parse(packets: &[PooledBuf]) -> std::io::Result<Arc<[Column]>> {
        packets
            .iter()
            .map(|x| ParseBuf(x).parse(()))
            .collect::<std::io::Result<Vec<Column>>>()
            .map(Arc::from)
    }

    pub(crate) fn get_or_parse(packets: &[PooledBuf]) -> std::io::Result<Arc<[Column]>> {
        if key_len(packets) > MAX_BYTES {
            return parse(packets);
        }
        let h = hash(packets);
        {
            let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = cache.as_mut().and_then(|c| c.get(&h)) {
                if matches(&e.key, packets) {
                    return Ok(e.columns.clone());
                }
            }
        }
        let columns = parse(packets)?;
        let mut key = Vec::with_capacity(key_len(packets));
        for p in packets {
            key.extend_from_slice(&(p.len() as u32).to_le_bytes());
            key.extend_from_slice(p);
        }
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        let cache = cache.get_or_insert_with(|| {
            lru::LruCache::new(std::num::NonZeroUsize::new(ENTRIES).unwrap_or(std::num::NonZeroUsize::MIN))
        });
        cache.put(h, Entry { key: key.into_boxed_slice(), columns: columns.clone() });
        Ok(columns)
    }
}

fn to_statement_move<'a, T: AsQuery + 'a>(`,
  ],
  // The same for a prepared statement's result columns: every connection
  // that prepares a statement then holds the one shared list, which lets
  // src/convert.rs find its result template by identity.
  [
    'src/conn/routines/prepare.rs',
    `                let columns = conn.read_column_defs(inner_stmt.num_columns()).await?;
                inner_stmt = inner_stmt.with_columns(columns);`,
    `                let columns = conn.read_column_defs_shared(usize::from(inner_stmt.num_columns())).await?;
                inner_stmt = inner_stmt.with_shared_columns(columns);`,
  ],
  [
    'src/queryable/stmt.rs',
    `    pub(crate) fn with_columns(mut self, columns: Vec<Column>) -> Self {`,
    `    /// napi-mysql-pool: as with_columns, keeping a shared list.
    pub(crate) fn with_shared_columns(mut self, columns: Arc<[Column]>) -> Self {
        self.columns = if columns.is_empty() { None } else { Some(columns) };
        self
    }

    #[allow(dead_code)] // napi-mysql-pool: prepare uses with_shared_columns
    pub(crate) fn with_columns(mut self, columns: Vec<Column>) -> Self {`,
  ],
  // Safety: the terminator check indexed a row packet's first byte, and an
  // empty packet where a row belongs (a hostile or broken server) panicked
  // there. An empty packet is not a terminator; the row reader rejects it.
  ...['packet[0] == 0xFE && packet.len() < MAX_PAYLOAD_LEN', 'packet[0] == 0xFE && packet.len() < 8'].map((check) => [
    'src/queryable/mod.rs',
    check,
    check.replace('packet[0] == 0xFE', 'packet.first() == Some(&0xFE)'),
  ]),
  // Speed: a text-protocol row was parsed into a Row of owned Values (one
  // heap allocation per cell, freed right after src/convert.rs copied the
  // bytes: ~25% of the worker's time on a 10,000-row result). next_raw
  // hands over the row's packet instead; src/convert.rs reads its cells
  // (Encoder::push_text_row) with the checks mysql_common made.
  [
    'src/queryable/query_result/mod.rs',
    `    #[doc(hidden)]
    pub async fn next(&mut self) -> Result<Option<Row>> {`,
    `    /// napi-mysql-pool: as next_row_or_next_set2, with the row unparsed.
    async fn next_raw_or_next_set(&mut self, columns: Arc<[Column]>) -> Result<Option<RawRow>> {
        if columns.is_empty() {
            // Empty, but not yet consumed result set.
            self.conn.as_mut().set_pending_result(None)?;
        } else {
            let packet = match self.conn.as_mut().read_packet().await {
                Ok(packet) => packet,
                Err(err) => {
                    // Next row contained an error. No more data will follow.
                    self.conn.as_mut().set_pending_result(None)?;
                    return Err(err);
                }
            };
            if !P::is_last_result_set_packet(self.conn.capabilities(), &packet) {
                return Ok(Some(RawRow(packet)));
            }
            // \`packet\` is a result set terminator.
            self.conn.as_mut().set_pending_result(None)?;
        }
        self.next_set().await?;
        Ok(None)
    }

    /// napi-mysql-pool: as next, but hands over each row's packet as it
    /// came (its cells are for the caller to read).
    #[doc(hidden)]
    pub async fn next_raw(&mut self) -> Result<Option<RawRow>> {
        loop {
            match self.conn.as_mut().use_pending_result()?.cloned() {
                Some(PendingResult::Pending(meta)) => return self.next_raw_or_next_set(meta.columns().clone()).await,
                Some(PendingResult::Taken(meta)) => self.skip_taken(meta).await?,
                None => return Ok(None),
            }
        }
    }

    #[doc(hidden)]
    pub async fn next(&mut self) -> Result<Option<Row>> {`,
  ],
  [
    'src/queryable/query_result/mod.rs',
    `/// Result set metadata.`,
    `/// napi-mysql-pool: one row's packet, unparsed (see QueryResult::next_raw).
pub struct RawRow(crate::buffer_pool::PooledBuf);

impl std::ops::Deref for RawRow {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// Result set metadata.`,
  ],
  [
    'src/lib.rs',
    `pub use mysql_common::row::Row;`,
    `pub use mysql_common::row::Row;

/// napi-mysql-pool: see QueryResult::next_raw.
pub use self::queryable::query_result::RawRow;`,
  ],
  // Session tracking, as mysql2 asks for it: the server then reports
  // character_set_client changes (SET NAMES inside a session), which decide
  // how SQL text and string parameters are encoded (src/lib.rs run_op).
  [
    'src/opts/mod.rs',
    `            | CapabilityFlags::CLIENT_DEPRECATE_EOF
            | CapabilityFlags::CLIENT_PLUGIN_AUTH;`,
    `            | CapabilityFlags::CLIENT_DEPRECATE_EOF
            | CapabilityFlags::CLIENT_PLUGIN_AUTH
            | CapabilityFlags::CLIENT_SESSION_TRACK;`,
  ],
  [
    'src/conn/routines/exec.rs',
    '/// A routine that executes `COM_STMT_EXECUTE`.',
    `/// napi-mysql-pool: pipelining. \`pipeline_send\` writes one COM_STMT_EXECUTE
/// without reading its answer; \`pipeline_read\` reads the oldest unread
/// answer. Only the first send of a pipeline checks that nothing waits
/// unread (later ones would see the earlier answers arriving).
impl Conn {
    pub async fn pipeline_send(
        &mut self,
        stmt: &Statement,
        params: Params,
        first: bool,
    ) -> crate::Result<()> {
        let params = params
            .into_values(Some(stmt.named_params.as_slice()).filter(|x| !x.is_empty()))?;
        if params.len() > MAX_STATEMENT_PARAMS {
            Err(DriverError::StmtParamsNumberExceedsLimit {
                supplied: params.len(),
            })?
        }
        if stmt.num_params() as usize != params.len() {
            Err(DriverError::StmtParamsMismatch {
                required: stmt.num_params(),
                supplied: params.len(),
            })?
        }
        let (body, as_long_data) = ComStmtExecuteRequestBuilder::new(stmt.id()).build(&params);
        if as_long_data {
            // Long data goes as commands of their own: never pipelined.
            Err(DriverError::PacketTooLarge)?
        }
        if first {
            self.clean_dirty().await?;
            self.check_unread()?;
        }
        self.reset_seq_id();
        self.write_struct(&body).await
    }

    pub async fn pipeline_read<'a>(
        &'a mut self,
        stmt: &Statement,
    ) -> crate::Result<QueryResult<'a, 'static, BinaryProtocol>> {
        if let Some(stream) = self.inner.stream.as_mut() {
            stream.expect_answer();
        }
        self.read_result_set::<BinaryProtocol>(true, Some(stmt)).await?;
        Ok(QueryResult::new(self))
    }

    /// A COM_QUERY of a pipeline (see pipeline_send).
    pub async fn pipeline_send_query(&mut self, sql: &[u8], first: bool) -> crate::Result<()> {
        if first {
            self.clean_dirty().await?;
            self.check_unread()?;
        }
        let mut buf = crate::buffer_pool().get();
        let body = buf.as_mut();
        body.push(mysql_common::constants::Command::COM_QUERY as u8);
        body.extend_from_slice(sql);
        self.reset_seq_id();
        self.write_packet(buf).await
    }

    /// The answer of a pipelined COM_QUERY (see pipeline_read).
    pub async fn pipeline_read_query<'a>(
        &'a mut self,
    ) -> crate::Result<QueryResult<'a, 'static, crate::TextProtocol>> {
        if let Some(stream) = self.inner.stream.as_mut() {
            stream.expect_answer();
        }
        self.read_result_set::<crate::TextProtocol>(true, None).await?;
        Ok(QueryResult::new(self))
    }
}

/// A routine that executes \`COM_STMT_EXECUTE\`.`,
  ],
  [
    'src/io/mod.rs',
    `    pub(crate) fn sync_seq_id(&mut self) {`,
    `    /// napi-mysql-pool: pipelining. Sets the sequence id an answer starts
    /// with (1), as writing its command would have: an empty packet is
    /// encoded into a scratch buffer that goes nowhere.
    pub(crate) fn expect_answer(&mut self) {
        if let Some(codec) = self.codec.as_mut() {
            let codec = codec.codec_mut();
            codec.inner.reset_seq_id();
            let mut scratch = BytesMut::new();
            let _ = codec.inner.encode(&mut &[][..], &mut scratch);
        }
    }

    pub(crate) fn sync_seq_id(&mut self) {`,
  ],
  // The status flags that ended the last rows set, kept apart from the
  // connection's current status (the next set's header overwrites that):
  // ops.rs drops the rows set a CALL's OUT parameters come in
  // (SERVER_PS_OUT_PARAMS), which mysql2 never receives.
  [
    'src/conn/mod.rs',
    "    last_ok_packet: Option<OkPacket<'static>>,",
    `    last_ok_packet: Option<OkPacket<'static>>,
    /// napi-mysql-pool: the status that ended the last rows set.
    napi_set_end_status: u16,`,
  ],
  ['src/conn/mod.rs', '            last_ok_packet: None,', '            last_ok_packet: None,\n            napi_set_end_status: 0,'],
  [
    'src/conn/mod.rs',
    `    /// Returns current status flags.
    pub(crate) fn status(&self) -> StatusFlags {`,
    `    /// napi-mysql-pool: a rows set's terminator was just read.
    pub(crate) fn napi_mark_set_end(&mut self) {
        self.inner.napi_set_end_status = self.inner.status.bits();
    }

    /// napi-mysql-pool: the status flags that ended the last rows set.
    pub(crate) fn napi_set_end_status(&self) -> u16 {
        self.inner.napi_set_end_status
    }

    /// Returns current status flags.
    pub(crate) fn status(&self) -> StatusFlags {`,
  ],
  [
    'src/queryable/query_result/mod.rs',
    `            if P::is_last_result_set_packet(self.conn.capabilities(), &packet) {
                // \`packet\` is a result set terminator.
                self.conn.as_mut().set_pending_result(None)?;`,
    `            if P::is_last_result_set_packet(self.conn.capabilities(), &packet) {
                // \`packet\` is a result set terminator.
                self.conn.as_mut().napi_mark_set_end();
                self.conn.as_mut().set_pending_result(None)?;`,
  ],
  [
    'src/queryable/query_result/mod.rs',
    `            // \`packet\` is a result set terminator.
            self.conn.as_mut().set_pending_result(None)?;`,
    `            // \`packet\` is a result set terminator.
            self.conn.as_mut().napi_mark_set_end();
            self.conn.as_mut().set_pending_result(None)?;`,
  ],
  [
    'src/queryable/query_result/mod.rs',
    `    /// Number of warnings as reported by the server, or \`0\`.
    pub fn warnings(&self) -> u16 {`,
    `    /// napi-mysql-pool: the server status flags that ended the last rows set.
    #[doc(hidden)]
    pub fn set_end_status(&self) -> u16 {
        self.conn.napi_set_end_status()
    }

    /// Number of warnings as reported by the server, or \`0\`.
    pub fn warnings(&self) -> u16 {`,
  ],
  // An ERR packet's '#' and SQL state are read when the marker is there and
  // only then, as mysql2 does. Before the handshake (Too many connections,
  // Host blocked) mysql_async read without protocol-4.1 capabilities, so a
  // state the server sent stayed in the message ('#08004Too many
  // connections'); after it, an ERR without the marker (a non-conforming
  // server or proxy) did not parse and the connection was reported lost.
  [
    'src/conn/mod.rs',
    `            let capabilities = if self.inner.handshake_complete {
                self.capabilities()
            } else {`,
    `            let capabilities = if self.inner.handshake_complete {
                let mut capabilities = self.capabilities();
                if packet.get(3) != Some(&b'#') {
                    capabilities.remove(CapabilityFlags::CLIENT_PROTOCOL_41);
                }
                capabilities
            } else if packet.get(3) == Some(&b'#') {
                CapabilityFlags::CLIENT_PROTOCOL_41
            } else {`,
  ],
  // A server that closes or resets the connection during the TLS handshake
  // surfaced as a plain end of stream or reset, indistinguishable from one
  // lost under a command (src/error.rs called it PROTOCOL_CONNECTION_LOST or
  // ECONNRESET by timing). Marked here, where the handshake runs, so it is
  // reported as the TLS failure it is, as mysql2 reports it.
  [
    'src/conn/mod.rs',
    `            conn.stream_mut()?
                .make_secure(domain, &tls_connector)
                .await?;`,
    `            conn.stream_mut()?
                .make_secure(domain, &tls_connector)
                .await
                .map_err(|e| match e {
                    Error::Io(IoError::Io(io))
                        if matches!(
                            io.kind(),
                            std::io::ErrorKind::UnexpectedEof
                                | std::io::ErrorKind::ConnectionReset
                                | std::io::ErrorKind::ConnectionAborted
                                | std::io::ErrorKind::BrokenPipe
                        ) =>
                    {
                        Error::Io(IoError::Io(std::io::Error::new(
                            io.kind(),
                            "napi-mysql-pool: TLS handshake: the server closed the connection",
                        )))
                    }
                    e => e,
                })?;`,
  ],
  // MariaDB's PARSEC plugin is not built in (its client_parsec feature would
  // let a server pick up to 2^30 PBKDF2 rounds, computed on the runtime's
  // worker, which every connection shares); without it mysql_async panicked
  // when a server switched to it. An unknown plugin, as in mysql2.
  [
    'src/conn/mod.rs',
    `                _x @ AuthPlugin::MariadbParsec { .. } => None,`,
    `                AuthPlugin::MariadbParsec { .. } => {
                    return Err(DriverError::UnknownAuthPlugin {
                        name: "parsec".to_owned(),
                    }
                    .into())
                }`,
  ],
  // caching_sha2_password without TLS encrypts the password with the
  // server's RSA key. mysql_common's reader panics on a key that does not
  // parse and on a password too long for the key, an empty key packet or an
  // empty scramble panicked here (an index, a modulo by zero), and any size
  // of modulus and exponent was computed with: a hostile server could hold
  // the runtime's worker, which every connection shares, for minutes. The
  // key is checked first and refused as a protocol violation.
  [
    'src/conn/mod.rs',
    `                            self.inner.server_key = Some(packet[1..].to_vec());
                        }
                        for (i, byte) in pass.as_mut().iter_mut().enumerate() {
                            *byte ^= self.inner.nonce[i % self.inner.nonce.len()];
                        }
                        let encrypted_pass = crypto::encrypt(
                            &pass,
                            self.inner.server_key.as_deref().expect("unreachable"),
                        );`,
    `                            self.inner.server_key =
                                Some(packet.get(1..).unwrap_or_default().to_vec());
                        }
                        if self.inner.nonce.is_empty() {
                            return Err(Self::napi_bad_key("came with an empty scramble"));
                        }
                        for (i, byte) in pass.as_mut().iter_mut().enumerate() {
                            *byte ^= self.inner.nonce[i % self.inner.nonce.len()];
                        }
                        let encrypted_pass = Self::napi_encrypt_pass(
                            &pass,
                            self.inner.server_key.as_deref().unwrap_or_default(),
                        )?;`,
  ],
  // (mysql_common's encrypt() is no longer called there.)
  [
    'src/conn/mod.rs',
    `    crypto,
    io::ParseBuf,`,
    `    io::ParseBuf,`,
  ],
  [
    'src/conn/mod.rs',
    `    async fn continue_caching_sha2_password_auth(&mut self) -> Result<()> {`,
    `    /// napi-mysql-pool: the password encrypted with the server's RSA public
    /// key, which is checked before use (see scripts/patch-mysql-async.js).
    fn napi_encrypt_pass(pass: &[u8], key: &[u8]) -> Result<Vec<u8>> {
        use mysql_common::crypto::rsa::{GetRandom, Pkcs1OaepPadding, PublicKey};
        // A 16384-bit key's PEM is about 3 KB.
        if key.len() > 8192 {
            return Err(Self::napi_bad_key("is too large"));
        }
        // mysql_common's reader panics where this check says no; the catch
        // stays as a backstop.
        Self::napi_key_parses(key).ok_or_else(|| Self::napi_bad_key("does not parse"))?;
        let key = std::panic::catch_unwind(|| PublicKey::from_pem(key))
            .map_err(|_| Self::napi_bad_key("does not parse"))?;
        if key.modulus().bits() > 16384 || key.exponent().bits() > 64 {
            return Err(Self::napi_bad_key("is out of bounds"));
        }
        // RSA-OAEP with SHA-1 takes at most k - 42 bytes.
        if pass.len() + 42 > key.num_octets() {
            return Err(Self::napi_bad_key("is too small for the password"));
        }
        Ok(key.encrypt_block(pass, Pkcs1OaepPadding::new(GetRandom)))
    }

    /// Some(()) when mysql_common's PEM and DER readers take \`pem\` without
    /// panicking: the block its regexes would find first (RSA PUBLIC KEY,
    /// else PUBLIC KEY), canonical base64, and each DER element it walks
    /// with its length inside its bounds. Stricter than they are, never
    /// looser.
    fn napi_key_parses(pem: &[u8]) -> Option<()> {
        let (body, pkcs1) = match Self::napi_pem_body(pem, b"RSA PUBLIC KEY") {
            Some(body) => (body, true),
            None => (Self::napi_pem_body(pem, b"PUBLIC KEY")?, false),
        };
        let der = Self::napi_base64(body)?;
        if pkcs1 {
            return Self::napi_pkcs1(&der);
        }
        let (outer, _) = Self::napi_tlv(&der, 0x30)?;
        let (_, rest) = Self::napi_tlv(outer, 0x30)?;
        let (bits, _) = Self::napi_tlv(rest, 0x03)?;
        let (&unused, key) = bits.split_first()?;
        if unused != 0 {
            return None;
        }
        Self::napi_pkcs1(key)
    }

    fn napi_pkcs1(der: &[u8]) -> Option<()> {
        let (fields, _) = Self::napi_tlv(der, 0x30)?;
        let (_, rest) = Self::napi_tlv(fields, 0x02)?;
        Self::napi_tlv(rest, 0x02).map(|_| ())
    }

    /// One DER element tagged \`tag\`: (its contents, what follows it).
    fn napi_tlv(der: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (&t, rest) = der.split_first()?;
        if t != tag {
            return None;
        }
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first & 0x80 == 0 {
            (first as usize, rest)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let (bytes, rest) = rest.split_at(n);
            (bytes.iter().fold(0usize, |a, &b| (a << 8) | b as usize), rest)
        };
        if len > rest.len() {
            return None;
        }
        Some(rest.split_at(len))
    }

    /// What \`-----BEGIN {label}-----([^-]*)-----END {label}-----\` captures
    /// first, as mysql_common's regex finds it.
    fn napi_pem_body<'a>(pem: &'a [u8], label: &[u8]) -> Option<&'a [u8]> {
        let begin = [b"-----BEGIN ".as_slice(), label, b"-----"].concat();
        let end = [b"-----END ".as_slice(), label, b"-----"].concat();
        let mut from = 0;
        loop {
            let rest = pem.get(from..)?;
            let at = rest.windows(begin.len()).position(|w| w == begin.as_slice())?;
            let body_and_after = rest.get(at + begin.len()..)?;
            let body_len = body_and_after.iter().position(|&b| b == b'-').unwrap_or(body_and_after.len());
            let (body, after) = body_and_after.split_at(body_len);
            if after.starts_with(&end) {
                return Some(body);
            }
            from += at + 1;
        }
    }

    /// Canonical standard base64 (padded, unused bits zero), skipping the
    /// whitespace mysql_common skips.
    fn napi_base64(body: &[u8]) -> Option<Vec<u8>> {
        let s: Vec<u8> = body.iter().copied().filter(|b| !b" \\n\\t\\r\\x0b\\x0c".contains(b)).collect();
        if s.len() % 4 != 0 {
            return None;
        }
        let val = |c: u8| -> Option<u32> {
            match c {
                b'A'..=b'Z' => Some(u32::from(c - b'A')),
                b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
                b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
                b'+' => Some(62),
                b'/' => Some(63),
                _ => None,
            }
        };
        let quanta = s.len() / 4;
        let mut out = Vec::with_capacity(quanta * 3);
        for (i, q) in s.chunks_exact(4).enumerate() {
            let pad = if i + 1 == quanta { q.iter().rev().take_while(|&&c| c == b'=').count() } else { 0 };
            if pad > 2 {
                return None;
            }
            let mut acc = 0u32;
            for &c in q.get(..4 - pad)? {
                acc = (acc << 6) | val(c)?;
            }
            acc <<= 6 * pad as u32;
            if pad > 0 && acc & ((1u32 << (8 * pad)) - 1) != 0 {
                return None;
            }
            let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
            out.extend_from_slice(bytes.get(..3 - pad)?);
        }
        Some(out)
    }

    fn napi_bad_key(why: &str) -> Error {
        Error::Io(IoError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("napi-mysql-pool: protocol violation: the server's RSA public key {why}"),
        )))
    }

    async fn continue_caching_sha2_password_auth(&mut self) -> Result<()> {`,
  ],
  // A server's request for a local file (LOAD DATA LOCAL INFILE, or a
  // hostile server unprompted) with no handler was refused with nothing
  // sent back, so the server kept waiting for the file and the connection
  // had to be closed. No file is read: the server gets an empty one, as
  // mysql2 sends without a streamFactory, its answer is read, and the
  // command fails with the file's name (src/error.rs) on a connection that
  // stays in step.
  [
    'src/conn/routines/helpers.rs',
    `        } else {
            return Err(LocalInfileError::NoHandler.into());
        };`,
    `        } else {
            let name = String::from_utf8_lossy(local_infile.file_name_ref()).into_owned();
            self.write_bytes(&[]).await?;
            // An ERR answer surfaces here; anything but an OK is out of step
            // and the connection is not kept (src/error.rs).
            let answer = self.read_packet().await?;
            if answer.first() != Some(&0x00) {
                return Err(crate::error::IoError::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "napi-mysql-pool: protocol violation: no OK after the empty LOCAL INFILE file",
                ))
                .into());
            }
            return Err(LocalInfileError::PathIsNotInTheWhiteList(name).into());
        };`,
  ],
  // (The refusal above leaves the connection in step: kept, as after a
  // server's error, instead of closed as after other client-side errors.)
  [
    'src/conn/mod.rs',
    `            result @ Ok(_) | result @ Err(crate::Error::Server(_)) => {`,
    `            result @ Ok(_)
            | result @ Err(crate::Error::Server(_))
            | result @ Err(crate::Error::Driver(DriverError::LocalInfile(
                LocalInfileError::PathIsNotInTheWhiteList(_),
            ))) => {`,
  ],
  // A server error without a SQL state has the state '' (mysql2's), not the
  // general 'HY000' mysql_async filled in.
  ['src/error/mod.rs', `                .unwrap_or_else(|| "HY000".to_owned()),`, `                .unwrap_or_default(),`],
  // An answer that starts with 0x00 is taken as an OK packet whether or not
  // handle_packet could parse it; one that does not parse (an info length
  // past the packet's end) left the previous statement's OK in place, and its
  // affected rows, insert id and info were reported for this one. The
  // previous OK is forgotten first, and an OK that did not parse is a
  // protocol violation (the connection is closed, src/error.rs).
  [
    'src/conn/routines/helpers.rs',
    `        let packet = match self.read_packet().await {`,
    `        self.inner.last_ok_packet = None;
        let packet = match self.read_packet().await {`,
  ],
  [
    'src/conn/routines/helpers.rs',
    `            Some(0x00) => {`,
    `            Some(0x00) if self.inner.last_ok_packet.is_none() => {
                return Err(crate::error::IoError::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "napi-mysql-pool: protocol violation: an OK packet that does not parse",
                ))
                .into());
            }
            Some(0x00) => {`,
  ],
];

const stamp = crypto.createHash('sha256').update(VERSION).update(JSON.stringify(EDITS)).digest('hex').slice(0, 16);
const marker = path.join(dest, '.napi-mysql-pool-patch');

function cargoHome() {
  return process.env.CARGO_HOME || path.join(os.homedir(), '.cargo');
}

function findCrate() {
  const cache = path.join(cargoHome(), 'registry', 'cache');
  if (!fs.existsSync(cache)) return null;
  for (const reg of fs.readdirSync(cache)) {
    const f = path.join(cache, reg, `mysql_async-${VERSION}.crate`);
    if (fs.existsSync(f)) return f;
  }
  return null;
}

/** Has cargo download the release into its cache (a manifest of its own, outside ours). */
function fetchCrate() {
  const dir = path.join(root, 'target', 'upstream-fetch');
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'Cargo.toml'),
    `[package]\nname = "upstream-fetch"\nversion = "0.0.0"\nedition = "2021"\n\n[workspace]\n\n[dependencies]\nmysql_async = { version = "=${VERSION}", default-features = false }\n`,
  );
  fs.writeFileSync(path.join(dir, 'src', 'lib.rs'), '');
  execFileSync('cargo', ['fetch', '--manifest-path', path.join(dir, 'Cargo.toml')], { stdio: 'inherit' });
}

function main() {
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === stamp) return;
  let crate = findCrate();
  if (crate === null) {
    fetchCrate();
    crate = findCrate();
  }
  if (crate === null) throw new Error(`mysql_async ${VERSION} not found in cargo's cache after cargo fetch`);
  const tmp = `${dest}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['-xzf', crate, '-C', tmp, '--strip-components=1']);
  for (const [file, anchor, replacement] of EDITS) {
    const p = path.join(tmp, file);
    const text = fs.readFileSync(p, 'utf8');
    const at = text.indexOf(anchor);
    if (at === -1 || text.indexOf(anchor, at + 1) !== -1) {
      throw new Error(`patch-mysql-async: anchor not found exactly once in ${file}: ${anchor.split('\n')[0]}`);
    }
    fs.writeFileSync(p, text.slice(0, at) + replacement + text.slice(at + anchor.length));
  }
  fs.writeFileSync(path.join(tmp, '.napi-mysql-pool-patch'), stamp);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.renameSync(tmp, dest);
  console.log(`napi-mysql-pool: patched mysql_async ${VERSION} into target/patched/mysql_async`);
}

if (require.main === module) main();
module.exports = { main, dest };
