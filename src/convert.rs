//! Rows -> a compact columnar batch that JS turns into objects in one pass.
//!
//! Creating JS values through N-API one at a time costs more than mysql2's
//! JIT-compiled parser, so a result set crosses the boundary as a handful of
//! values: all string cells concatenated into one JS string (sliced in JS by
//! UTF-16 lengths), numbers and lengths in one Float64Array, a tag byte per
//! cell, and binary cells in one Buffer. The type mapping (mysql2's) is
//! decided here once per column; lib/rows.js builds a row constructor once
//! per result shape.
use crate::charset::{self, Charset};
use crate::sync::lock;
use crate::text::Text;
use lru::LruCache;
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::{Column, Value};
use once_cell::sync::Lazy;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

/// Conversion switches a command carries (mysql2 options, set by JS; src/wire.rs FLAG_*).
pub mod flags {
    use crate::wire;
    pub const SUPPORT_BIG_NUMBERS: u32 = wire::FLAG_SUPPORT_BIG_NUMBERS;
    pub const BIG_NUMBER_STRINGS: u32 = wire::FLAG_BIG_NUMBER_STRINGS;
    pub const DECIMAL_NUMBERS: u32 = wire::FLAG_DECIMAL_NUMBERS;
    pub const JSON_STRINGS: u32 = wire::FLAG_JSON_STRINGS;
    pub const RAW: u32 = wire::FLAG_RAW;
    pub const ALL_BUFFERS: u32 = wire::FLAG_ALL_BUFFERS;
    pub const DATE_STRINGS_DATE: u32 = wire::FLAG_DATE_STRINGS_DATE;
    pub const DATE_STRINGS_DATETIME: u32 = wire::FLAG_DATE_STRINGS_DATETIME;
    pub const DATE_STRINGS_TIMESTAMP: u32 = wire::FLAG_DATE_STRINGS_TIMESTAMP;
    pub const STREAM: u32 = wire::FLAG_STREAM;
    pub const DDL: u32 = wire::FLAG_DDL;
    pub const POOL_WAIT: u32 = wire::FLAG_POOL_WAIT;
    pub const ALONE: u32 = wire::FLAG_ALONE;
    pub const REPLAYABLE: u32 = wire::FLAG_REPLAYABLE;
}

/// Column kinds (src/wire.rs KIND_*), as bytes.
pub mod kind {
    use crate::wire;
    pub const NUMBER: u8 = wire::KIND_NUMBER as u8;
    pub const STRING: u8 = wire::KIND_STRING as u8;
    pub const BUFFER: u8 = wire::KIND_BUFFER as u8;
    pub const DATE: u8 = wire::KIND_DATE as u8;
    pub const DATETIME: u8 = wire::KIND_DATETIME as u8;
    pub const JSON: u8 = wire::KIND_JSON as u8;
    pub const BIGINT: u8 = wire::KIND_BIGINT as u8;
    pub const GEOMETRY: u8 = wire::KIND_GEOMETRY as u8;
    pub const NULL: u8 = wire::KIND_NULL as u8;
    pub const BIN_DATETIME: u8 = wire::KIND_BIN_DATETIME as u8;
    pub const JSON_BIG: u8 = wire::KIND_JSON_BIG as u8;
}

/// Cell tags.
pub const TAG_NULL: u8 = crate::wire::TAG_NULL as u8;
pub const TAG_VALUE: u8 = crate::wire::TAG_VALUE as u8;
pub const TAG_STRING: u8 = crate::wire::TAG_STRING as u8;
pub const TAG_BUFFER: u8 = crate::wire::TAG_BUFFER as u8;

const BINARY_CHARSET: u16 = 63;
const MAX_SAFE: i128 = 9_007_199_254_740_991;

pub struct RowBatch {
    pub meta: Arc<str>,
    /// Cell text (Latin-1 while every character fits, see text.rs).
    pub text: Text,
    pub nums: Vec<f64>,
    pub tags: Vec<u8>,
    pub bin: Vec<u8>,
    pub nrows: u32,
    /// UTF-16 length of `text`, so JS can find where the next set starts.
    pub text_units: usize,
}

pub struct Header {
    pub affected_rows: u64,
    pub insert_id: u64,
    pub warning_status: f64,
    pub server_status: f64,
    pub info: String,
    /// Session state the server reported in this OK packet (session
    /// tracking), as NUL-separated (tag, key, value) triples; lib/transport.js
    /// turns it into mysql2's `stateChanges`.
    pub state: Option<String>,
}

pub enum ResultSet {
    Rows(RowBatch),
    Header(Header),
}

fn column_kind(col: &Column, fl: u32, binary: bool) -> u8 {
    let k = text_kind(col, fl);
    if binary && (k == kind::DATE || k == kind::DATETIME) {
        kind::BIN_DATETIME
    } else {
        k
    }
}

fn text_kind(col: &Column, fl: u32) -> u8 {
    use ColumnType::*;
    let ty = col.column_type();
    match ty {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_INT24 | MYSQL_TYPE_YEAR
        | MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => kind::NUMBER,
        MYSQL_TYPE_LONGLONG => {
            if fl & flags::SUPPORT_BIG_NUMBERS != 0 {
                if fl & flags::BIG_NUMBER_STRINGS != 0 {
                    kind::STRING
                } else {
                    kind::BIGINT
                }
            } else {
                kind::NUMBER
            }
        }
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
            if fl & flags::DECIMAL_NUMBERS != 0 {
                kind::NUMBER
            } else {
                kind::STRING
            }
        }
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => {
            if fl & flags::DATE_STRINGS_DATE != 0 {
                kind::STRING
            } else {
                kind::DATE
            }
        }
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => {
            if fl & flags::DATE_STRINGS_DATETIME != 0 {
                kind::STRING
            } else {
                kind::DATETIME
            }
        }
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => {
            if fl & flags::DATE_STRINGS_TIMESTAMP != 0 {
                kind::STRING
            } else {
                kind::DATETIME
            }
        }
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => kind::STRING,
        MYSQL_TYPE_GEOMETRY => kind::GEOMETRY,
        MYSQL_TYPE_JSON => json_kind(fl),
        MYSQL_TYPE_NULL => kind::NULL,
        MYSQL_TYPE_BIT => kind::BUFFER,
        _ => {
            if col.character_set() == BINARY_CHARSET {
                kind::BUFFER
            } else {
                kind::STRING
            }
        }
    }
}

/// mysql2's parseJson: text with jsonStrings, big-number aware with supportBigNumbers.
fn json_kind(fl: u32) -> u8 {
    if fl & flags::JSON_STRINGS != 0 {
        kind::STRING
    } else if fl & flags::SUPPORT_BIG_NUMBERS != 0 {
        kind::JSON_BIG
    } else {
        kind::JSON
    }
}

fn push_meta_str(meta: &mut String, s: &str) {
    // NUL separates fields; identifiers cannot contain it.
    meta.push_str(s);
    meta.push('\0');
}

/// Added to a column's kind in the meta when MariaDB would mark the column
/// as JSON (field.extendedFormat 'json' in mysql2), whatever its kind.
const EXTENDED_JSON: u8 = crate::wire::KIND_EXTENDED_JSON as u8;

fn build_meta(cols: &[Column], kinds: &[u8], fl: u32, json: Option<&[bool]>, names: Charset) -> String {
    let mut meta = String::with_capacity(cols.len() * 48);
    // Raw mode changes how cells travel, so it is part of the shape.
    meta.push(if fl & (flags::RAW | flags::ALL_BUFFERS) != 0 { 'r' } else { 'n' });
    meta.push('\0');
    for (i, (c, k)) in cols.iter().zip(kinds).enumerate() {
        let ext = if json.is_some_and(|m| m.get(i) == Some(&true)) { EXTENDED_JSON } else { 0 };
        push_meta_str(&mut meta, &(k + ext).to_string());
        // Names are in the connection's character set (mysql2 decodes them so).
        push_meta_str(&mut meta, &names.decode(c.name_ref()));
        push_meta_str(&mut meta, &names.decode(c.org_name_ref()));
        push_meta_str(&mut meta, &names.decode(c.table_ref()));
        push_meta_str(&mut meta, &names.decode(c.org_table_ref()));
        push_meta_str(&mut meta, &names.decode(c.schema_ref()));
        push_meta_str(&mut meta, &c.character_set().to_string());
        push_meta_str(&mut meta, &c.column_length().to_string());
        push_meta_str(&mut meta, &(c.column_type() as u8).to_string());
        push_meta_str(&mut meta, &c.flags().bits().to_string());
        push_meta_str(&mut meta, &c.decimals().to_string());
    }
    meta
}

/// What a result set's columns decide once: each column's kind, character
/// set and decimals, and the shape's metadata for JS. Built once per distinct
/// column list and reused (see `TEMPLATES`): building it decodes six strings
/// and formats five numbers per column, which showed in the profile of every
/// point select.
struct Template {
    kinds: Vec<u8>,
    /// Per column: the character set its text arrives in.
    charsets: Vec<Charset>,
    decimals: Vec<u8>,
    /// DATETIME/TIMESTAMP columns: mysql2 pads a bare binary date with 00:00:00.
    timestamps: Vec<bool>,
    raw: bool,
    all_buffers: bool,
    meta: Arc<str>,
}

/// Templates by the raw bytes of their column definitions (plus the flags,
/// protocol, JSON mask and names charset that also decide them). Bounded:
/// a process that sees many distinct shapes only rebuilds more often.
const TEMPLATES_CAPACITY: usize = 1024;
static TEMPLATES: Lazy<Mutex<LruCache<Vec<u8>, Arc<Template>>>> =
    Lazy::new(|| Mutex::new(LruCache::new(NonZeroUsize::new(TEMPLATES_CAPACITY).unwrap_or(NonZeroUsize::MIN))));

fn push_key_bytes(key: &mut Vec<u8>, b: &[u8]) {
    key.extend_from_slice(&(b.len() as u32).to_le_bytes());
    key.extend_from_slice(b);
}

fn names_tag(names: Charset) -> usize {
    match names {
        Charset::Utf8 => 0,
        Charset::Utf32 => 1,
        Charset::Cesu8 => 2,
        Charset::Latin1 => 3,
        Charset::Unsupported(_) => 4,
        Charset::Other(e) => e as *const _ as usize,
    }
}

/// Templates of recent column lists, found by identity.
/// mysql_async hands out the same `Arc<[Column]>` for byte-identical
/// definitions (its shared column cache, and a prepared statement's cached
/// metadata), so a pointer comparison finds the template without building
/// and hashing the byte key (~2k instructions a result). Each entry holds its
/// Arc, so no other list can reuse that address while the entry is here.
struct Recent {
    cols: Arc<[Column]>,
    fl: u32,
    binary: bool,
    json: Option<Vec<bool>>,
    names: usize,
    t: Arc<Template>,
}

/// Keyed by the list's address (one entry per list).
const RECENT_CAPACITY: usize = 256;
static RECENT: Lazy<Mutex<LruCache<usize, Recent>>> =
    Lazy::new(|| Mutex::new(LruCache::new(NonZeroUsize::new(RECENT_CAPACITY).unwrap_or(NonZeroUsize::MIN))));

fn template_key(cols: &[Column], fl: u32, binary: bool, json: Option<&[bool]>, names: Charset) -> Vec<u8> {
    let mut key = Vec::with_capacity(16 + cols.len() * 64);
    key.extend_from_slice(&fl.to_le_bytes());
    key.push(binary as u8);
    key.extend_from_slice(&names_tag(names).to_le_bytes());
    match json {
        Some(m) => {
            key.push(1);
            key.extend(m.iter().map(|&b| b as u8));
        }
        None => key.push(0),
    }
    key.extend_from_slice(&(cols.len() as u32).to_le_bytes());
    for c in cols {
        key.push(c.column_type() as u8);
        key.extend_from_slice(&c.flags().bits().to_le_bytes());
        key.extend_from_slice(&c.character_set().to_le_bytes());
        key.extend_from_slice(&c.column_length().to_le_bytes());
        key.push(c.decimals());
        push_key_bytes(&mut key, c.name_ref());
        push_key_bytes(&mut key, c.org_name_ref());
        push_key_bytes(&mut key, c.table_ref());
        push_key_bytes(&mut key, c.org_table_ref());
        push_key_bytes(&mut key, c.schema_ref());
    }
    key
}

impl Template {
    fn build(cols: &[Column], fl: u32, binary: bool, json: Option<&[bool]>, names: Charset) -> Result<Self, String> {
        let kinds: Vec<u8> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| match json.and_then(|m| m.get(i)) {
                // mysql2 parses these like the JSON type
                Some(true) => json_kind(fl),
                _ => column_kind(c, fl, binary),
            })
            .collect();
        let charsets: Vec<Charset> = cols.iter().map(|c| charset::of_collation(c.character_set())).collect();
        if fl & flags::ALL_BUFFERS == 0 {
            for ((c, k), cs) in cols.iter().zip(&kinds).zip(&charsets) {
                if let (Charset::Unsupported(name), false) = (cs, matches!(*k, kind::BUFFER | kind::GEOMETRY)) {
                    return Err(format!(
                        "ERR_UNSUPPORTED_CHARSET: column `{}` is in character set {name}, which napi-mysql-pool cannot decode; \
                         convert it in SQL (CONVERT(col USING utf8mb4)) or read it as bytes (typeCast: false)",
                        names.decode(c.name_ref())
                    ));
                }
            }
        }
        let meta: Arc<str> = build_meta(cols, &kinds, fl, json, names).into();
        Ok(Template {
            charsets,
            timestamps: cols.iter().map(is_datetime_or_timestamp).collect(),
            decimals: cols.iter().map(|c| if is_date_only(c) { DATE_ONLY } else { c.decimals() }).collect(),
            kinds,
            raw: fl & flags::RAW != 0,
            all_buffers: fl & flags::ALL_BUFFERS != 0,
            meta,
        })
    }
}

static TEMPLATES_EVICTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// (kept, capacity, evicted so far) of the process-wide template cache, for stats().caches.
pub fn template_sizes() -> (usize, usize, u64) {
    let kept = lock(&TEMPLATES).len();
    (kept, TEMPLATES_CAPACITY, TEMPLATES_EVICTED.load(std::sync::atomic::Ordering::Relaxed))
}

/// Number of templates kept, for tests.
#[cfg(test)]
fn templates_len() -> usize {
    lock(&TEMPLATES).len()
}

/// Builds one result set's batch, row by row, as rows arrive.
pub struct Encoder {
    t: Arc<Template>,
    batch: RowBatch,
}

fn empty_batch(meta: Arc<str>) -> RowBatch {
    RowBatch { meta, text: Text::new(), nums: Vec::new(), tags: Vec::new(), bin: Vec::new(), nrows: 0, text_units: 0 }
}

impl Encoder {
    /// `json`: per column, whether MariaDB marks it JSON (see json_columns.rs).
    /// `names`: the connection's character set, which column names arrive in.
    /// Err: a text column in a character set this build cannot decode.
    /// As `new`, first looking the list up by identity (see `Recent`).
    pub fn for_columns(
        cols: &Arc<[Column]>,
        fl: u32,
        binary: bool,
        json: Option<&[bool]>,
        names: Charset,
    ) -> Result<Self, String> {
        let tag = names_tag(names);
        let same = |r: &Recent| {
            Arc::ptr_eq(&r.cols, cols)
                && r.fl == fl
                && r.binary == binary
                && r.names == tag
                && r.json.as_deref() == json
        };
        let addr = cols.as_ptr() as usize;
        let found = lock(&RECENT).get(&addr).filter(|r| same(r)).map(|r| r.t.clone());
        let t = match found {
            Some(t) => t,
            None => {
                let t = Self::template(cols, fl, binary, json, names)?;
                let entry = Recent {
                    cols: cols.clone(),
                    fl,
                    binary,
                    json: json.map(<[bool]>::to_vec),
                    names: tag,
                    t: t.clone(),
                };
                lock(&RECENT).put(addr, entry);
                t
            }
        };
        Ok(Self::with_template(t))
    }

    #[cfg(test)]
    pub fn new(cols: &[Column], fl: u32, binary: bool, json: Option<&[bool]>, names: Charset) -> Result<Self, String> {
        Ok(Self::with_template(Self::template(cols, fl, binary, json, names)?))
    }

    /// The template for this column list, from the byte-keyed cache or built.
    fn template(
        cols: &[Column],
        fl: u32,
        binary: bool,
        json: Option<&[bool]>,
        names: Charset,
    ) -> Result<Arc<Template>, String> {
        let key = template_key(cols, fl, binary, json, names);
        let cached = lock(&TEMPLATES).get(&key).cloned();
        let t = match cached {
            Some(t) => t,
            None => {
                let t = Arc::new(Template::build(cols, fl, binary, json, names)?);
                let mut cache = lock(&TEMPLATES);
                if cache.len() >= TEMPLATES_CAPACITY && !cache.contains(&key) {
                    TEMPLATES_EVICTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                cache.put(key, t.clone());
                t
            }
        };
        Ok(t)
    }

    fn with_template(t: Arc<Template>) -> Self {
        // Sized for one row (most results are short): growing each vector
        // from empty cost several reallocations per result.
        let n = t.kinds.len();
        let mut batch = empty_batch(t.meta.clone());
        batch.tags.reserve(n);
        batch.nums.reserve(n);
        batch.text.reserve(16 * n);
        Encoder { t, batch }
    }

    pub fn finish(self) -> RowBatch {
        self.batch
    }

    pub fn rows(&self) -> u32 {
        self.batch.nrows
    }

    /// Bytes of text and binary cells held so far.
    pub fn bytes(&self) -> usize {
        self.batch.text.bytes().len() + self.batch.bin.len()
    }

    /// Hands over the rows so far and starts an empty batch of the same shape.
    pub fn take_chunk(&mut self) -> RowBatch {
        let meta = self.batch.meta.clone();
        std::mem::replace(&mut self.batch, empty_batch(meta))
    }

    pub fn push_row(&mut self, row: &mysql_async::Row) {
        for i in 0..row.len() {
            self.push_cell(i, row.as_ref(i).unwrap_or(&Value::NULL));
        }
        self.batch.nrows += 1;
    }

    fn null(&mut self) {
        self.batch.tags.push(TAG_NULL);
        self.batch.nums.push(0.0);
    }

    /// Text of column `i`, in that column's character set.
    fn text_at(&mut self, i: usize, bytes: &[u8]) {
        match self.t.charsets.get(i) {
            Some(cs) if !cs.is_utf8() => {
                let utf8 = cs.decode(bytes).into_owned();
                self.string(utf8.as_bytes())
            }
            _ => self.string(bytes),
        }
    }

    /// Text known to be ASCII (a date's digits): no UTF-8 check or scan.
    fn ascii(&mut self, bytes: &[u8]) {
        let b = &mut self.batch;
        b.text.push_ascii(bytes);
        b.text_units += bytes.len();
        b.tags.push(TAG_STRING);
        b.nums.push(bytes.len() as f64);
    }

    fn string(&mut self, bytes: &[u8]) {
        let b = &mut self.batch;
        let units = match std::str::from_utf8(bytes) {
            Ok(_) => b.text.push_utf8(bytes),
            // Only reachable with a non-UTF-8 column charset; never drop the cell.
            Err(_) => b.text.push_utf8(String::from_utf8_lossy(bytes).as_bytes()),
        };
        b.text_units += units;
        b.tags.push(TAG_STRING);
        b.nums.push(units as f64);
    }

    fn buffer(&mut self, bytes: &[u8]) {
        let b = &mut self.batch;
        b.bin.extend_from_slice(bytes);
        b.tags.push(TAG_BUFFER);
        b.nums.push(bytes.len() as f64);
    }

    fn number(&mut self, n: f64) {
        self.batch.tags.push(TAG_VALUE);
        self.batch.nums.push(n);
    }

    /// One text-protocol row, straight from its packet: per column a NULL
    /// marker (0xFB) or a length-encoded string, and nothing after the last.
    /// The same cells as mysql_common's Row (whose per-cell allocations
    /// this skips), and the same refusals; Err: the packet breaks the
    /// protocol (the connection is then closed by the caller).
    pub fn push_text_row(&mut self, packet: &[u8]) -> Result<(), String> {
        let mut rest = packet;
        for i in 0..self.t.kinds.len() {
            let Some((&first, after)) = rest.split_first() else {
                return Err(format!("row ends after {i} of {} cells", self.t.kinds.len()));
            };
            if first == 0xFB {
                self.null();
                rest = after;
                continue;
            }
            let (len, after) = lenenc_len(first, after).ok_or("a cell's length is malformed or cut short")?;
            if len > after.len() as u64 {
                return Err(format!("a cell declares {len} bytes, {} remain in the row", after.len()));
            }
            let (cell, tail) = after.split_at(len as usize);
            let k = self.t.kinds.get(i).copied().unwrap_or(kind::STRING);
            self.push_bytes(i, k, cell);
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(format!("{} bytes after a row's last cell", rest.len()));
        }
        self.batch.nrows += 1;
        Ok(())
    }

    fn push_cell(&mut self, i: usize, v: &Value) {
        let k = self.t.kinds.get(i).copied().unwrap_or(kind::STRING);
        let v = match v {
            Value::NULL => return self.null(),
            Value::Bytes(b) => return self.push_bytes(i, k, b),
            other => other,
        };
        if let Value::Date(y, mo, d, h, mi, s, us) = *v {
            // One text serves field.string() (mysql2's binary date text) and,
            // for BIN_DATETIME, the Date built from it in JS.
            let pad = self.t.timestamps.get(i).copied().unwrap_or(false);
            let t = binary_date_text(y, mo, d, h, mi, s, us, self.t.decimals.get(i).copied().unwrap_or(0), pad);
            return if self.t.all_buffers || k == kind::BUFFER {
                self.buffer(t.as_bytes())
            } else {
                self.ascii(t.as_bytes())
            };
        }
        let decimals = self.t.decimals.get(i).copied().unwrap_or(0);
        if self.t.all_buffers {
            return self.buffer(&text_of(v, decimals));
        }
        if self.t.raw || matches!(k, kind::STRING | kind::DATE | kind::DATETIME | kind::JSON | kind::JSON_BIG) {
            let t = text_of(v, decimals);
            return if k == kind::BUFFER || k == kind::GEOMETRY { self.buffer(&t) } else { self.string(&t) };
        }
        match k {
            kind::BUFFER | kind::GEOMETRY => self.buffer(&text_of(v, 0)),
            kind::NULL => self.null(),
            kind::NUMBER => match v {
                Value::Int(n) => self.number(*n as f64),
                Value::UInt(n) => self.number(*n as f64),
                Value::Float(f) => self.number(*f as f64),
                Value::Double(f) => self.number(*f),
                other => {
                    let t = text_of(other, 0);
                    self.number(text_number(&t))
                }
            },
            kind::BIGINT => match v {
                Value::Int(n) => self.bigint(i128::from(*n)),
                Value::UInt(n) => self.bigint(i128::from(*n)),
                other => {
                    let t = text_of(other, 0);
                    self.string(&t)
                }
            },
            _ => {
                let t = text_of(v, 0);
                self.string(&t)
            }
        }
    }

    /// A cell that arrived as bytes: every text-protocol cell, and the
    /// binary protocol's strings, decimals and blobs.
    fn push_bytes(&mut self, i: usize, k: u8, b: &[u8]) {
        if self.t.all_buffers {
            return self.buffer(b);
        }
        if self.t.raw || matches!(k, kind::STRING | kind::DATE | kind::DATETIME | kind::JSON | kind::JSON_BIG) {
            return if k == kind::BUFFER || k == kind::GEOMETRY { self.buffer(b) } else { self.text_at(i, b) };
        }
        match k {
            kind::BUFFER | kind::GEOMETRY => self.buffer(b),
            kind::NULL => self.null(),
            kind::NUMBER => self.number(text_number(b)),
            kind::BIGINT => match std::str::from_utf8(b).ok().and_then(|s| s.parse::<i128>().ok()) {
                Some(n) => self.bigint(n),
                None => self.string(b),
            },
            _ => self.string(b),
        }
    }

    /// An integer: a number while exact in JS, else its digits.
    fn bigint(&mut self, n: i128) {
        if (-MAX_SAFE..=MAX_SAFE).contains(&n) {
            self.number(n as f64)
        } else {
            self.string(n.to_string().as_bytes())
        }
    }
}

/// A length-encoded integer whose first byte is `first` (not the NULL
/// marker): (value, bytes after it). None: 0xFF, or cut short.
fn lenenc_len(first: u8, after: &[u8]) -> Option<(u64, &[u8])> {
    let width = match first {
        0..=0xFA => return Some((u64::from(first), after)),
        0xFC => 2,
        0xFD => 3,
        0xFE => 8,
        _ => return None,
    };
    let (digits, rest) = after.split_at_checked(width)?;
    let mut le = [0u8; 8];
    le.get_mut(..width)?.copy_from_slice(digits);
    Some((u64::from_le_bytes(le), rest))
}

/// Number parsing with mysql2's results: short decimals by its digit loop
/// (whose rounding can differ from a correctly rounded parse), long ones and
/// exponents by the standard parser (correctly rounded, like JS parseFloat).
pub fn text_number(b: &[u8]) -> f64 {
    if b.is_empty() {
        return 0.0;
    }
    if b.len() > 17 || b.iter().any(|&c| c == b'e' || c == b'E') {
        return std::str::from_utf8(b).ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(f64::NAN);
    }
    let mut i = 0;
    let mut factor = 1.0f64;
    if b[0] == b'-' {
        factor = -1.0;
        i = 1;
    }
    if i < b.len() && b[i] == b'+' {
        i += 1;
    }
    let mut result = 0.0f64;
    let mut past_dot = false;
    for &c in &b[i..] {
        if c == b'.' {
            past_dot = true;
            continue;
        }
        result = result * 10.0 + (c as f64 - 48.0);
        if past_dot {
            factor *= 10.0;
        }
    }
    result / factor
}

/// `decimals` value that marks a DATE column (no time part in its text).
pub const DATE_ONLY: u8 = 255;

/// The text protocol's rendering of a binary-protocol value, so that both
/// protocols feed the same JS conversions.
pub fn text_of(v: &Value, decimals: u8) -> Vec<u8> {
    match v {
        Value::NULL => Vec::new(),
        Value::Bytes(b) => b.clone(),
        Value::Int(n) => n.to_string().into_bytes(),
        Value::UInt(n) => n.to_string().into_bytes(),
        Value::Float(f) => format_float(*f as f64).into_bytes(),
        Value::Double(f) => format_float(*f).into_bytes(),
        Value::Date(y, mo, d, h, mi, s, us) => {
            let mut out = format!("{y:04}-{mo:02}-{d:02}");
            if decimals != DATE_ONLY {
                out.push_str(&format!(" {h:02}:{mi:02}:{s:02}"));
                push_fraction(&mut out, *us, decimals);
            }
            out.into_bytes()
        }
        Value::Time(neg, days, h, mi, s, us) => {
            // mysql2's binary TIME text: fraction only when non-zero, trailing zeros cut.
            let hours = *days as u64 * 24 + *h as u64;
            let mut out = format!("{}{hours:02}:{mi:02}:{s:02}", if *neg { "-" } else { "" });
            if *us != 0 {
                let frac = format!("{us:06}");
                out.push('.');
                out.push_str(frac.trim_end_matches('0'));
            }
            out.into_bytes()
        }
    }
}

/// mysql2's text for a binary-protocol date (dateStrings, typeCast): the
/// parts the server sent (it omits zero time / zero fraction), the fraction
/// cut to the column's decimals, DATETIME/TIMESTAMP padded with 00:00:00.
/// Written into a fixed buffer: one of these per date cell was a `format!`
/// and a few heap allocations (1.5k instructions of a point select's ~48k).
#[allow(clippy::too_many_arguments)]
fn binary_date_text(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, us: u32, decimals: u8, pad_time: bool) -> DateText {
    let has_date = y != 0 || mo != 0 || d != 0 || h != 0 || mi != 0 || s != 0 || us != 0;
    let has_time = h != 0 || mi != 0 || s != 0 || us != 0;
    let mut out = DateText::default();
    if has_date {
        out.num(u32::from(y), 4);
        out.byte(b'-');
        out.num(u32::from(mo), 2);
        out.byte(b'-');
        out.num(u32::from(d), 2);
    } else {
        out.bytes(b"0000-00-00");
    }
    if has_time {
        out.byte(b' ');
        out.num(u32::from(h), 2);
        out.byte(b':');
        out.num(u32::from(mi), 2);
        out.byte(b':');
        out.num(u32::from(s), 2);
    } else if pad_time {
        out.bytes(b" 00:00:00");
    }
    if us != 0 {
        out.byte(b'.');
        if decimals > 0 && decimals != DATE_ONLY {
            // The first `decimals` (at most 6) digits of the zero-padded microseconds.
            let mut frac = DateText::default();
            frac.num(us, 6);
            out.bytes(&frac.as_bytes()[..(decimals as usize).min(6)]);
        } else {
            out.num(us, 1);
        }
    }
    out
}

/// A date's text on the stack. The longest possible (every part at its
/// type's maximum, as a hostile server could send) is 38 bytes.
struct DateText {
    buf: [u8; 48],
    len: usize,
}

impl Default for DateText {
    fn default() -> Self {
        DateText { buf: [0; 48], len: 0 }
    }
}

impl DateText {
    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn bytes(&mut self, bs: &[u8]) {
        for &b in bs {
            self.byte(b);
        }
    }

    /// `n` in decimal, zero-padded to at least `width` digits (as `{n:0width$}`).
    fn num(&mut self, mut n: u32, width: usize) {
        let mut digits = [b'0'; 10];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 || i == 0 {
                break;
            }
        }
        let start = i.min(digits.len().saturating_sub(width));
        self.bytes(&digits[start..]);
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len.min(self.buf.len())]
    }
}

fn push_fraction(out: &mut String, us: u32, decimals: u8) {
    let d = if decimals > 6 { 0 } else { decimals as usize };
    if d > 0 {
        let frac = format!("{us:06}");
        out.push('.');
        out.push_str(&frac[..d]);
    }
}

fn format_float(f: f64) -> String {
    // Shortest round-trip digits, as the server prints them.
    f.to_string()
}

fn is_datetime_or_timestamp(col: &Column) -> bool {
    use ColumnType::*;
    matches!(
        col.column_type(),
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 | MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2
    )
}

/// Marks whether the column's value fits the DATE type (no time part).
pub fn is_date_only(col: &Column) -> bool {
    matches!(col.column_type(), ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE)
}

#[allow(dead_code)]
pub fn is_unsigned(col: &Column) -> bool {
    col.flags().contains(ColumnFlags::UNSIGNED_FLAG)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn numbers() {
        assert_eq!(text_number(b"1.5"), 1.5);
        assert_eq!(text_number(b"-12"), -12.0);
        assert_eq!(text_number(b"1e3"), 1000.0);
        assert_eq!(text_number(b"123456789012345678901"), 123456789012345678901.0);
    }

    /// Equal column lists share one template; a differing byte anywhere in
    /// the definitions (here a column name) gets its own.
    #[test]
    fn templates_are_shared_by_identical_columns_only() {
        let cols = |name: &[u8]| {
            vec![
                Column::new(ColumnType::MYSQL_TYPE_LONG).with_name(b"id").with_table(b"t").with_character_set(63),
                Column::new(ColumnType::MYSQL_TYPE_VAR_STRING).with_name(name).with_table(b"t").with_character_set(45),
            ]
        };
        let a = Encoder::new(&cols(b"name"), 0, false, None, Charset::Utf8).map_err(|e| e.to_string());
        let b = Encoder::new(&cols(b"name"), 0, false, None, Charset::Utf8).map_err(|e| e.to_string());
        let c = Encoder::new(&cols(b"nbme"), 0, false, None, Charset::Utf8).map_err(|e| e.to_string());
        let binary = Encoder::new(&cols(b"name"), 0, true, None, Charset::Utf8).map_err(|e| e.to_string());
        let (Ok(a), Ok(b), Ok(c), Ok(binary)) = (a, b, c, binary) else { panic!("encoders") };
        assert!(Arc::ptr_eq(&a.t, &b.t));
        assert!(!Arc::ptr_eq(&a.t, &c.t));
        assert!(!Arc::ptr_eq(&a.t, &binary.t));
        assert_ne!(a.t.meta, c.t.meta);
        assert!(templates_len() >= 3);
    }

    /// mysql_async's own reading of a text row (the reference for push_text_row).
    fn reference_row<P: mysql_async::prelude::Protocol>(
        packet: &[u8],
        cols: Arc<[Column]>,
    ) -> mysql_async::Result<mysql_async::Row> {
        P::read_result_set_row(packet, cols)
    }

    fn lenenc(out: &mut Vec<u8>, cell: &[u8]) {
        let n = cell.len() as u64;
        match n {
            0..=250 => out.push(n as u8),
            251..=0xFFFF => {
                out.push(0xFC);
                out.extend_from_slice(&(n as u16).to_le_bytes());
            }
            0x1_0000..=0xFF_FFFF => {
                out.push(0xFD);
                out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
            }
            _ => {
                out.push(0xFE);
                out.extend_from_slice(&n.to_le_bytes());
            }
        }
        out.extend_from_slice(cell);
    }

    /// Reading a text row from its packet gives the batch that reading it
    /// through mysql_common's Row gave, for every column kind and every
    /// length-encoding width; and a packet one refuses, the other refuses
    /// (but for 0xFF as a length, which mysql_common reads as an empty cell
    /// and mysql2 as an error: refused here).
    #[test]
    fn text_rows_from_packets_match_mysql_common() {
        let cols: Arc<[Column]> = Arc::from(vec![
            Column::new(ColumnType::MYSQL_TYPE_LONG).with_name(b"i").with_character_set(63),
            Column::new(ColumnType::MYSQL_TYPE_LONGLONG).with_name(b"big").with_character_set(63),
            Column::new(ColumnType::MYSQL_TYPE_VAR_STRING).with_name(b"s").with_character_set(45),
            Column::new(ColumnType::MYSQL_TYPE_BLOB).with_name(b"b").with_character_set(63),
            Column::new(ColumnType::MYSQL_TYPE_NEWDECIMAL).with_name(b"d").with_character_set(63),
            Column::new(ColumnType::MYSQL_TYPE_DOUBLE).with_name(b"f").with_character_set(63),
            Column::new(ColumnType::MYSQL_TYPE_DATETIME).with_name(b"at").with_character_set(63),
            Column::new(ColumnType::MYSQL_TYPE_DATE).with_name(b"day").with_character_set(63),
            Column::new(ColumnType::MYSQL_TYPE_NULL).with_name(b"n").with_character_set(63),
            Column::new(ColumnType::MYSQL_TYPE_VAR_STRING).with_name(b"l1").with_character_set(8),
        ]);
        let long = "é".repeat(40_000);
        let rows: Vec<Vec<Option<Vec<u8>>>> = vec![
            vec![
                Some(b"1".to_vec()),
                Some(b"9007199254740993".to_vec()),
                Some("héllo😀".into()),
                Some(vec![0, 255, 7]),
                Some(b"12.50".to_vec()),
                Some(b"142.85714285714286".to_vec()),
                Some(b"2024-01-02 03:04:05".to_vec()),
                Some(b"2023-12-31".to_vec()),
                None,
                Some(vec![0xE9, 0x41]),
            ],
            vec![None, None, None, None, None, None, None, None, None, None],
            vec![
                Some(b"-7".to_vec()),
                Some(b"-12".to_vec()),
                Some(vec![b'x'; 251]),
                Some(vec![1; 70_000]),
                Some(b"0.00".to_vec()),
                Some(b"1e300".to_vec()),
                Some(b"0000-00-00 00:00:00".to_vec()),
                Some(Vec::new()),
                Some(b"zz".to_vec()),
                Some(long.as_bytes().to_vec()),
            ],
        ];
        for flags in [0, flags::RAW, flags::ALL_BUFFERS] {
            let made = (
                Encoder::new(&cols, flags, false, None, Charset::Utf8),
                Encoder::new(&cols, flags, false, None, Charset::Utf8),
            );
            let (Ok(mut ours), Ok(mut theirs)) = made else { panic!("encoders") };
            for row in &rows {
                let mut packet = Vec::new();
                for cell in row {
                    match cell {
                        None => packet.push(0xFB),
                        Some(c) => lenenc(&mut packet, c),
                    }
                }
                assert_eq!(ours.push_text_row(&packet), Ok(()));
                let Ok(reference) = reference_row::<mysql_async::TextProtocol>(&packet, cols.clone()) else {
                    panic!("mysql_common refused a well-formed row")
                };
                theirs.push_row(&reference);
            }
            let (a, b) = (ours.finish(), theirs.finish());
            assert_eq!(a.nrows, 3);
            assert_eq!((a.nrows, a.text_units), (b.nrows, b.text_units));
            assert_eq!(a.tags, b.tags);
            assert_eq!(a.text, b.text);
            assert_eq!(a.bin, b.bin);
            assert_eq!(a.nums.len(), b.nums.len());
            for (x, y) in a.nums.iter().zip(&b.nums) {
                assert!(x == y || (x.is_nan() && y.is_nan()), "{x} vs {y}");
            }
        }

        // Broken packets for a two-column row.
        let two: Arc<[Column]> = Arc::from(vec![
            Column::new(ColumnType::MYSQL_TYPE_VAR_STRING).with_name(b"a").with_character_set(45),
            Column::new(ColumnType::MYSQL_TYPE_LONG).with_name(b"b").with_character_set(63),
        ]);
        let broken: [&[u8]; 9] = [
            b"",
            &[1, b'a'],
            &[1, b'a', 1, b'1', 0],
            &[5, b'a', 1, b'1'],
            &[0xFC, 3],
            &[0xFD, 1, 0],
            &[0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, b'a'],
            &[0xFB, 0xFB, 0xFB],
            &[0xFC, 2, 0, b'a'],
        ];
        for packet in broken {
            let Ok(mut ours) = Encoder::new(&two, 0, false, None, Charset::Utf8) else { panic!("encoder") };
            assert!(ours.push_text_row(packet).is_err(), "accepted {packet:?}");
            assert_eq!(ours.rows(), 0);
            let reference = reference_row::<mysql_async::TextProtocol>(packet, two.clone());
            assert!(reference.is_err(), "mysql_common accepted {packet:?}");
        }
        let Ok(mut ours) = Encoder::new(&two, 0, false, None, Charset::Utf8) else { panic!("encoder") };
        assert!(ours.push_text_row(&[0xFF, 1, b'1']).is_err());
    }

    /// Random packets (a fixed-seed generator, biased towards length bytes):
    /// push_text_row never panics, accepts exactly what mysql_common accepts
    /// (0xFF as a length aside, refused here), and an accepted row reads
    /// back the same cells.
    #[test]
    fn random_text_rows_agree_with_mysql_common() {
        let cols: Arc<[Column]> = Arc::from(vec![
            Column::new(ColumnType::MYSQL_TYPE_VAR_STRING).with_name(b"a").with_character_set(45),
            Column::new(ColumnType::MYSQL_TYPE_LONG).with_name(b"b").with_character_set(63),
            Column::new(ColumnType::MYSQL_TYPE_BLOB).with_name(b"c").with_character_set(63),
        ]);
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..20_000 {
            // Three cells (NULL, or a string of 0-5 random bytes under a
            // 1-, 3- or 9-byte length), then up to two random edits.
            let mut packet = Vec::new();
            for _ in 0..3 {
                if next() % 4 == 0 {
                    packet.push(0xFB);
                    continue;
                }
                let cell: Vec<u8> = (0..next() % 6).map(|_| next() as u8).collect();
                match next() % 3 {
                    0 => packet.push(cell.len() as u8),
                    1 => packet.extend_from_slice(&[0xFC, cell.len() as u8, 0]),
                    _ => {
                        packet.push(0xFE);
                        packet.extend_from_slice(&(cell.len() as u64).to_le_bytes());
                    }
                }
                packet.extend_from_slice(&cell);
            }
            for _ in 0..next() % 3 {
                let at = (next() as usize) % (packet.len() + 1);
                match next() % 3 {
                    0 if at < packet.len() => {
                        packet[at] = [0xFB, 0xFC, 0xFD, 0xFE, 0xFF, 0, 1, 9][(next() % 8) as usize]
                    }
                    1 => packet.truncate(at),
                    _ => packet.insert(at, next() as u8),
                }
            }
            let Ok(mut ours) = Encoder::new(&cols, 0, false, None, Charset::Utf8) else { panic!("encoder") };
            let Ok(mut theirs) = Encoder::new(&cols, 0, false, None, Charset::Utf8) else { panic!("encoder") };
            let mine = ours.push_text_row(&packet);
            let reference = reference_row::<mysql_async::TextProtocol>(&packet, cols.clone());
            match (&mine, reference) {
                (Ok(()), Ok(row)) => {
                    theirs.push_row(&row);
                    let (a, b) = (ours.finish(), theirs.finish());
                    assert_eq!((&a.tags, &a.text, &a.bin), (&b.tags, &b.text, &b.bin), "{packet:?}");
                    accepted += 1;
                }
                (Err(_), Err(_)) => refused += 1,
                (Err(_), Ok(_)) => assert!(packet.contains(&0xFF), "refused what mysql_common reads: {packet:?}"),
                (Ok(()), Err(_)) => panic!("accepted what mysql_common refuses: {packet:?}"),
            }
        }
        assert!(accepted > 100 && refused > 100, "accepted {accepted}, refused {refused}");
    }

    /// The format!-based text this file used before DateText (the reference).
    #[allow(clippy::too_many_arguments)]
    fn reference_date_text(
        y: u16,
        mo: u8,
        d: u8,
        h: u8,
        mi: u8,
        s: u8,
        us: u32,
        decimals: u8,
        pad_time: bool,
    ) -> String {
        let has_date = y != 0 || mo != 0 || d != 0 || h != 0 || mi != 0 || s != 0 || us != 0;
        let has_time = h != 0 || mi != 0 || s != 0 || us != 0;
        let mut out = if has_date { format!("{y:04}-{mo:02}-{d:02}") } else { "0000-00-00".to_string() };
        if has_time {
            out.push_str(&format!(" {h:02}:{mi:02}:{s:02}"));
        } else if pad_time {
            out.push_str(" 00:00:00");
        }
        if us != 0 {
            out.push('.');
            if decimals > 0 && decimals != DATE_ONLY {
                let frac = format!("{us:06}");
                out.push_str(&frac[..(decimals as usize).min(6)]);
            } else {
                out.push_str(&us.to_string());
            }
        }
        out
    }

    /// The stack-buffer date text equals the format!-based one for every
    /// part at its edges, including values only a hostile server sends.
    #[test]
    fn binary_date_text_matches_format() {
        let years = [0u16, 1, 9, 10, 999, 1000, 2024, 9999, 10000, 65535];
        let small = [0u8, 1, 9, 10, 59, 99, 100, 255];
        let micros = [0u32, 1, 5, 10, 120, 999_999, 1_000_000, 123_456, u32::MAX];
        let decimals = [0u8, 1, 3, 6, 7, 31, DATE_ONLY];
        let mut n = 0;
        for &y in &years {
            for &a in &small {
                for &b in &small {
                    for &us in &micros {
                        for &dec in &decimals {
                            for pad in [false, true] {
                                let got = binary_date_text(y, a, b, b, a, b, us, dec, pad);
                                let want = reference_date_text(y, a, b, b, a, b, us, dec, pad);
                                assert_eq!(got.as_bytes(), want.as_bytes(), "{y} {a} {b} {us} {dec} {pad}");
                                n += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(n, years.len() * small.len() * small.len() * micros.len() * decimals.len() * 2);
    }

    /// The identity lookup returns what the byte-keyed cache would: the same
    /// list (the same Arc) finds its template; a copy of it finds the same
    /// template through the byte key; a different JSON mask, flag or
    /// protocol never shares one.
    #[test]
    fn templates_by_identity_match_the_byte_keyed_ones() {
        let cols: Arc<[Column]> = Arc::from(vec![
            Column::new(ColumnType::MYSQL_TYPE_LONG).with_name(b"id").with_table(b"ident").with_character_set(63),
            Column::new(ColumnType::MYSQL_TYPE_BLOB).with_name(b"doc").with_table(b"ident").with_character_set(45),
        ]);
        let copy: Arc<[Column]> = Arc::from(cols.to_vec());
        let enc = |c: &Arc<[Column]>, fl: u32, binary: bool, json: Option<&[bool]>| {
            Encoder::for_columns(c, fl, binary, json, Charset::Utf8).map(|e| e.t).map_err(|e| e.to_string())
        };
        let (Ok(a), Ok(a2), Ok(b), Ok(j), Ok(j2), Ok(f), Ok(bin)) = (
            enc(&cols, 0, false, None),
            enc(&cols, 0, false, None),
            enc(&copy, 0, false, None),
            enc(&cols, 0, false, Some(&[false, true])),
            enc(&cols, 0, false, Some(&[false, true])),
            enc(&cols, flags::STREAM, false, None),
            enc(&cols, 0, true, None),
        ) else {
            panic!("encoders")
        };
        assert!(Arc::ptr_eq(&a, &a2));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(&j, &j2));
        assert!(!Arc::ptr_eq(&a, &j));
        assert_ne!(a.kinds, j.kinds);
        assert!(!Arc::ptr_eq(&a, &bin));
        let direct =
            Encoder::new(&cols, flags::STREAM, false, None, Charset::Utf8).map(|e| e.t).map_err(|e| e.to_string());
        let Ok(direct) = direct else { panic!("encoder") };
        assert!(Arc::ptr_eq(&f, &direct));
        // More distinct lists than the identity list holds: each still
        // gets the template its bytes decide.
        for i in 0..(RECENT_CAPACITY * 2) {
            let name = format!("c{i}");
            let other: Arc<[Column]> = Arc::from(vec![Column::new(ColumnType::MYSQL_TYPE_LONG)
                .with_name(name.as_bytes())
                .with_table(b"ident")
                .with_character_set(63)]);
            let Ok(t) = enc(&other, 0, false, None) else { panic!("encoder") };
            assert!(t.meta.contains(&name));
        }
        let Ok(again) = enc(&cols, 0, false, None) else { panic!("encoder") };
        assert!(Arc::ptr_eq(&again, &a));
    }
}
