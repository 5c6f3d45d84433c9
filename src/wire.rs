//! Every number that crosses between JS and Rust, defined once, here, and
//! exported through napi: lib/wire.js reads them when it loads and checks
//! that each one exists, so the two sides cannot drift. Adding a flag, a
//! column kind or a directory field means one edit here and one use there.

// A submitted command: SUB_WIDTH numbers of submit()'s Float64Array.
#[napi]
pub const SUB_OP: u32 = 0;
#[napi]
pub const SUB_ID: u32 = 1;
#[napi]
pub const SUB_CONN: u32 = 2;
#[napi]
pub const SUB_FLAGS: u32 = 3;
#[napi]
pub const SUB_TIMEOUT: u32 = 4;
/// The SQL text's number (kept per pool and thread, see boundary::SqlTexts),
/// or -1 for a text not kept (too long to keep).
#[napi]
pub const SUB_SQL: u32 = 5;
/// 1: this command's SQL text is the next string of submit()'s `texts`
/// (and becomes the text of number SUB_SQL); 0: number SUB_SQL as before.
#[napi]
pub const SUB_SQL_NEW: u32 = 6;
/// execute()'s values: -1 when they are the next array of submit()'s
/// `params`; 0..=SUB_INLINE_MAX when they are all JS numbers, carried here
/// at SUB_PARAM0.. (reading a JS array element through N-API cost ~600
/// instructions, two or more per point execute).
#[napi]
pub const SUB_NPARAMS: u32 = 7;
#[napi]
pub const SUB_PARAM0: u32 = 8;
#[napi]
pub const SUB_INLINE_MAX: u32 = 4;
#[napi]
pub const SUB_WIDTH: u32 = 12;
/// SQL texts kept by number; JS starts numbering again when full.
#[napi]
pub const SUB_SQL_SLOTS: u32 = 512;
/// Longer SQL texts cross every time (a bulk INSERT's text is used once).
#[napi]
pub const SUB_SQL_KEEP_MAX: u32 = 4096;

// drain()'s scratch Float64Array, reused: [dirLen, ...directory] in its
// first DRAIN_DIR_CAP numbers, then the cell tags (bytes). Used when a drain
// fits and carries no binary cells and no rare values; otherwise drain()
// returns [dir, text, bytes, extra] as new values.
#[napi]
pub const DRAIN_DIR_CAP: u32 = 16_384;
#[napi]
pub const DRAIN_TAGS_CAP: u32 = 65_536;

// Ops (SUB_OP).
#[napi]
pub const OP_QUERY: u32 = 0;
#[napi]
pub const OP_EXECUTE: u32 = 1;
#[napi]
pub const OP_PING: u32 = 2;
/// JS is done with a new connection shown to a 'connection' listener.
#[napi]
pub const OP_HAND_BACK: u32 = 3;
#[napi]
pub const OP_PREPARE: u32 = 4;
/// conn.reset(): COM_RESET_CONNECTION on a lent connection.
#[napi]
pub const OP_RESET: u32 = 5;

// Completion kinds in a drain's directory: [id, kind, ...].
#[napi]
pub const DONE_RESULTS: u32 = 0;
#[napi]
pub const DONE_ERROR: u32 = 1;
#[napi]
pub const DONE_CONN: u32 = 2;
#[napi]
pub const DONE_OK: u32 = 3;
#[napi]
pub const DONE_CHUNK: u32 = 4;
/// The pool needs credentials for a new connection: [0, kind, requestId].
#[napi]
pub const DONE_CREDENTIALS: u32 = 5;
/// How long a traced pool.query()/execute() waited for its connection:
/// [id, kind, microseconds], before the command's own completion.
#[napi]
pub const DONE_WAIT: u32 = 6;

// One result set in the directory starts with its kind.
#[napi]
pub const SET_ROWS: u32 = 0;
#[napi]
pub const SET_HEADER: u32 = 1;

// A rows set: offsets from its SET_ROWS marker; the cells' numbers follow.
#[napi]
pub const ROWS_SHAPE: u32 = 1;
#[napi]
pub const ROWS_NEW_SHAPE_AT: u32 = 2;
#[napi]
pub const ROWS_COUNT: u32 = 3;
#[napi]
pub const ROWS_CELLS: u32 = 4;
#[napi]
pub const ROWS_TEXT_UNITS: u32 = 5;
#[napi]
pub const ROWS_TAGS_AT: u32 = 6;
#[napi]
pub const ROWS_BIN_AT: u32 = 7;
#[napi]
pub const ROWS_BIN_LEN: u32 = 8;
#[napi]
pub const ROWS_LEN: u32 = 9;

// A header (OK packet): offsets from its SET_HEADER marker.
#[napi]
pub const HEAD_AFFECTED: u32 = 1;
#[napi]
pub const HEAD_INSERT_ID: u32 = 2;
#[napi]
pub const HEAD_WARNINGS: u32 = 3;
#[napi]
pub const HEAD_STATUS: u32 = 4;
#[napi]
pub const HEAD_INFO_UNITS: u32 = 5;
#[napi]
pub const HEAD_BIG_ID_AT: u32 = 6;
#[napi]
pub const HEAD_BIG_ROWS_AT: u32 = 7;
/// Extra index of the session-state records (convert::Header::state), or -1.
#[napi]
pub const HEAD_STATE_AT: u32 = 8;
#[napi]
pub const HEAD_LEN: u32 = 9;

// Conversion flags (SUB_FLAGS).
#[napi]
pub const FLAG_SUPPORT_BIG_NUMBERS: u32 = 1;
#[napi]
pub const FLAG_BIG_NUMBER_STRINGS: u32 = 2;
#[napi]
pub const FLAG_DECIMAL_NUMBERS: u32 = 4;
#[napi]
pub const FLAG_JSON_STRINGS: u32 = 8;
/// A JS typeCast function runs per cell: every cell travels as text/bytes.
#[napi]
pub const FLAG_RAW: u32 = 16;
/// typeCast === false: every cell is a Buffer.
#[napi]
pub const FLAG_ALL_BUFFERS: u32 = 32;
#[napi]
pub const FLAG_DATE_STRINGS_DATE: u32 = 64;
#[napi]
pub const FLAG_DATE_STRINGS_DATETIME: u32 = 128;
#[napi]
pub const FLAG_DATE_STRINGS_TIMESTAMP: u32 = 256;
/// Rows go to a JS stream: pause after each chunk until it asks for more.
#[napi]
pub const FLAG_STREAM: u32 = 512;
/// The statement may change which columns are JSON (DDL), decided by JS's
/// one SQL tokenizer (lib/sql.js isDdl).
#[napi]
pub const FLAG_DDL: u32 = 1024;
/// Report the wait for a pooled connection (DONE_WAIT): set only on traced
/// commands (lib/otel.js shows it as an attribute).
#[napi]
pub const FLAG_POOL_WAIT: u32 = 2048;
/// The command must run on a connection of its own, never in a pipeline
/// (src/pipeline.rs): JS saw LOAD (LOAD DATA LOCAL makes the server read the
/// next bytes as file content), a character-set change (the commands behind
/// it are encoded before its answer), or several statements.
#[napi]
pub const FLAG_ALONE: u32 = 4096;
/// A plain SELECT calling only built-in functions (lib/replayable.js): if
/// the connection a pipeline wrote it to is lost before it answered, it goes
/// back to the queue instead of failing (src/pipeline.rs).
#[napi]
pub const FLAG_REPLAYABLE: u32 = 8192;

// Column kinds, in each shape's metadata.
#[napi]
pub const KIND_NUMBER: u32 = 0;
#[napi]
pub const KIND_STRING: u32 = 1;
#[napi]
pub const KIND_BUFFER: u32 = 2;
#[napi]
pub const KIND_DATE: u32 = 3;
#[napi]
pub const KIND_DATETIME: u32 = 4;
#[napi]
pub const KIND_JSON: u32 = 5;
/// BIGINT with supportBigNumbers: number when safe, else string.
#[napi]
pub const KIND_BIGINT: u32 = 6;
#[napi]
pub const KIND_GEOMETRY: u32 = 7;
#[napi]
pub const KIND_NULL: u32 = 8;
/// Binary-protocol DATE/DATETIME/TIMESTAMP as mysql2's binary date text.
#[napi]
pub const KIND_BIN_DATETIME: u32 = 9;
/// JSON with supportBigNumbers (unsafe integers kept as strings).
#[napi]
pub const KIND_JSON_BIG: u32 = 10;
/// Added to a kind when MariaDB would mark the column JSON (extendedFormat).
#[napi]
pub const KIND_EXTENDED_JSON: u32 = 100;

// Cell tags, one byte per cell.
#[napi]
pub const TAG_NULL: u32 = 0;
#[napi]
pub const TAG_VALUE: u32 = 1;
#[napi]
pub const TAG_STRING: u32 = 2;
#[napi]
pub const TAG_BUFFER: u32 = 3;
