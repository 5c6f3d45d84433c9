//! Values crossing into JS, built with raw N-API calls so each result set
//! costs a constant number of calls, whatever its size.
use crate::convert::{Header, ResultSet, RowBatch};
use crate::error::ErrInfo;
use crate::ops::{Op, Param};
use crate::shapes::Shapes;
use crate::text::Text;
use crate::wire;
use napi::bindgen_prelude::*;
use napi::sys;
use std::ptr;
use std::sync::Arc;

pub enum Payload {
    Results(Vec<ResultSet>),
    /// Leading rows of result set N of a command still running.
    Chunk(u32, RowBatch),
    Error(ErrInfo),
    Conn {
        conn_id: u32,
        thread_id: u32,
    },
    /// Unrequested (completion id 0): a new connection, lent to JS for its
    /// 'connection' event until JS hands it back.
    NewConn {
        conn_id: u32,
        thread_id: u32,
    },
    /// Unrequested (completion id 0): a new connection needs the user's
    /// credential functions called (see credentials.rs); the request id.
    NeedCredentials(u32),
    /// A traced command's wait for its pooled connection, in µs; its own
    /// completion follows.
    Waited(f64),
    Done,
}

pub struct Completion {
    pub id: u32,
    pub payload: Payload,
}

/// One drain hands JS at most about this many bytes of cells (more waits for
/// the next drain): all text of a drain becomes one JS string, which V8
/// caps near 512 M UTF-16 units. A single result chunk is at most
/// ops::CHUNK_BYTES plus one row.
pub const DRAIN_BYTES: usize = 128 << 20;

impl Completion {
    /// Bytes of text and binary cells this completion carries.
    pub fn bytes(&self) -> usize {
        let rows = |r: &RowBatch| r.text.bytes().len() + r.bin.len();
        match &self.payload {
            Payload::Results(sets) => sets
                .iter()
                .map(|s| match s {
                    ResultSet::Rows(r) => rows(r),
                    ResultSet::Header(h) => h.info.len(),
                })
                .sum(),
            Payload::Chunk(_, r) => rows(r),
            _ => 0,
        }
    }
}

/// A napi_value already built; returned as-is from #[napi] functions.
pub struct Raw(pub sys::napi_value);

impl TypeName for Raw {
    fn type_name() -> &'static str {
        "unknown"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ToNapiValue for Raw {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        Ok(val.0)
    }
}

fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(Status::GenericFailure, format!("N-API call failed: {what}")))
    }
}

/// Everything finished since the last drain, as four JS values whatever the
/// number of completions or rows: a Float64Array directory (ids, kinds,
/// header fields and every numeric cell), one string holding all text cells
/// and DML info, one ArrayBuffer holding cell tags and binary cells, and an
/// array of rare values (new result shapes, errors, huge ids). lib/transport.js
/// (`onWake`) walks the directory with the offsets of src/wire.rs.
///
/// Directory, per completion: id, kind, then
///   kind 0 (results): nsets, then per set
///     rows:   0, shapeId, newShapeExtra|-1, nrows, ncells, textUnits, tagsAt, binAt, binLen, ...ncells numbers
///     header: 1, affectedRows, insertId, warningStatus, serverStatus, infoUnits, bigIdExtra|-1, bigRowsExtra|-1
///   kind 1 (error): extraIndex of [message, code, errno, sqlState, sqlMessage, fatal, handshake, osErrno]
///   kind 2 (connection): connId, threadId
///   kind 3 (done)
///   kind 4 (chunk): setIndex, then one rows set as above (the command's
///     final completion follows; JS puts these rows before that set's rows)
pub struct Batch {
    /// Some cell is a Buffer (or the batch holds binary bytes at all).
    has_bin: bool,
    dir: Vec<f64>,
    text: Text,
    bytes: Vec<u8>,
    extra: Vec<Extra>,
}

enum Extra {
    Str(String),
    Err(ErrInfo),
}

impl Batch {
    pub fn build(list: Vec<Completion>, shapes: &mut Shapes) -> Batch {
        // Sized once from the completions: growing three vectors by doubling
        // cost more than the copies themselves (profile of 200 point
        // selects in flight).
        let (mut dir, mut text, mut bytes) = (0, 0, 0);
        let rows =
            |r: &RowBatch| (wire::ROWS_LEN as usize + r.nums.len(), r.text.bytes().len(), r.tags.len() + r.bin.len());
        for c in &list {
            // id, kind and at most two more numbers (DONE_CONN's), before any set.
            dir += 4;
            let mut add = |(d, t, b): (usize, usize, usize)| {
                dir += d;
                text += t;
                bytes += b;
            };
            match &c.payload {
                Payload::Results(sets) => {
                    for rs in sets {
                        match rs {
                            ResultSet::Rows(r) => add(rows(r)),
                            ResultSet::Header(h) => add((wire::HEAD_LEN as usize, h.info.len(), 0)),
                        }
                    }
                }
                Payload::Chunk(_, r) => add(rows(r)),
                _ => {}
            }
        }
        let mut b = Batch {
            has_bin: false,
            dir: Vec::with_capacity(dir),
            text: Text::with_capacity(text),
            bytes: Vec::with_capacity(bytes),
            extra: Vec::new(),
        };
        for c in list {
            b.dir.push(c.id as f64);
            match c.payload {
                Payload::Results(sets) => {
                    b.dir.push(f64::from(wire::DONE_RESULTS));
                    b.dir.push(sets.len() as f64);
                    for rs in sets {
                        match rs {
                            ResultSet::Rows(r) => b.rows(r, shapes),
                            ResultSet::Header(h) => b.header(h),
                        }
                    }
                }
                Payload::Error(e) => {
                    b.dir.push(f64::from(wire::DONE_ERROR));
                    b.dir.push(b.extra.len() as f64);
                    b.extra.push(Extra::Err(e));
                }
                Payload::Conn { conn_id, thread_id } | Payload::NewConn { conn_id, thread_id } => {
                    b.dir.extend_from_slice(&[f64::from(wire::DONE_CONN), conn_id as f64, thread_id as f64]);
                }
                Payload::Done => b.dir.push(f64::from(wire::DONE_OK)),
                Payload::Waited(us) => {
                    b.dir.extend_from_slice(&[f64::from(wire::DONE_WAIT), us]);
                }
                Payload::NeedCredentials(req) => {
                    b.dir.extend_from_slice(&[f64::from(wire::DONE_CREDENTIALS), f64::from(req)]);
                }
                Payload::Chunk(set, rows) => {
                    b.dir.push(f64::from(wire::DONE_CHUNK));
                    b.dir.push(set as f64);
                    b.rows(rows, shapes);
                }
            }
        }
        b
    }

    fn rows(&mut self, r: RowBatch, shapes: &mut Shapes) {
        // A shape crosses once per pool; after that only its number does.
        let (shape, new_at) = match shapes.file(&r.meta) {
            (id, false) => (id, -1.0),
            (id, true) => {
                let at = self.extra.len() as f64;
                self.extra.push(Extra::Str(r.meta.to_string()));
                (id, at)
            }
        };
        let tags_at = self.bytes.len();
        self.bytes.extend_from_slice(&r.tags);
        let bin_at = self.bytes.len();
        self.has_bin |= !r.bin.is_empty();
        self.bytes.extend_from_slice(&r.bin);
        self.text.append(&r.text);
        // Field order: wire::ROWS_* offsets (checked by a unit test below).
        self.dir.extend_from_slice(&[
            f64::from(wire::SET_ROWS),
            shape as f64,
            new_at,
            r.nrows as f64,
            r.nums.len() as f64,
            r.text_units as f64,
            tags_at as f64,
            bin_at as f64,
            r.bin.len() as f64,
        ]);
        self.dir.extend_from_slice(&r.nums);
    }

    fn header(&mut self, h: Header) {
        // Beyond 2^53 the exact decimal goes along (mysql2 returns a string
        // there); insertId is read signed, as mysql2 does.
        const EXACT: u64 = 1 << 53;
        let mut big = |v: Option<String>| match v {
            Some(s) => {
                self.extra.push(Extra::Str(s));
                (self.extra.len() - 1) as f64
            }
            None => -1.0,
        };
        let big_id = big((h.insert_id >= EXACT).then(|| (h.insert_id as i64).to_string()));
        let big_rows = big((h.affected_rows >= EXACT).then(|| h.affected_rows.to_string()));
        let state = big(h.state);
        let units = self.text.push_utf8(h.info.as_bytes());
        // Field order: wire::HEAD_* offsets (checked by a unit test below).
        self.dir.extend_from_slice(&[
            f64::from(wire::SET_HEADER),
            h.affected_rows as f64,
            h.insert_id as i64 as f64,
            h.warning_status,
            h.server_status,
            units as f64,
            big_id,
            big_rows,
            state,
        ]);
    }

    /// The text alone, with the directory and tags written into JS's scratch
    /// Float64Array (layout: wire::DRAIN_*), when they fit and nothing else
    /// is needed: no new values but one string for the common drain.
    /// Otherwise `into_js`.
    ///
    /// # Safety
    /// `scratch` is a value of the current call.
    pub unsafe fn into_js_scratch(self, env: sys::napi_env, scratch: sys::napi_value) -> Result<sys::napi_value> {
        if !self.extra.is_empty() || self.has_bin {
            return self.into_js(env);
        }
        let dir_cap = wire::DRAIN_DIR_CAP as usize;
        let tags_cap = wire::DRAIN_TAGS_CAP as usize;
        let nums = match f64_elements(env, scratch) {
            Some((nums, len))
                if len.saturating_mul(8) >= dir_cap * 8 + tags_cap
                    && self.dir.len() < dir_cap
                    && self.bytes.len() <= tags_cap =>
            {
                nums
            }
            _ => return self.into_js(env),
        };
        let data = nums.cast::<u8>();
        *nums = self.dir.len() as f64;
        ptr::copy_nonoverlapping(self.dir.as_ptr(), nums.add(1), self.dir.len());
        if !self.bytes.is_empty() {
            ptr::copy_nonoverlapping(self.bytes.as_ptr(), data.add(dir_cap * 8), self.bytes.len());
        }
        Js { env }.text(&self.text)
    }

    /// [dir, text, bytes|null, extra]
    pub fn into_js(self, env: sys::napi_env) -> Result<sys::napi_value> {
        let js = Js { env };
        let out = js.array(4)?;
        js.set(out, 0, js.f64_array(&self.dir)?)?;
        js.set(out, 1, js.text(&self.text)?)?;
        js.set(out, 2, if self.bytes.is_empty() { js.null()? } else { js.array_buffer(&self.bytes)? })?;
        let extra = js.array(self.extra.len())?;
        for (i, x) in self.extra.iter().enumerate() {
            let v = match x {
                Extra::Str(s) => js.str(s)?,
                Extra::Err(e) => js.error(e)?,
            };
            js.set(extra, i as u32, v)?;
        }
        js.set(out, 3, extra)?;
        Ok(out)
    }
}

struct Js {
    env: sys::napi_env,
}

impl Js {
    fn array(&self, len: usize) -> Result<sys::napi_value> {
        let mut v = ptr::null_mut();
        check(unsafe { sys::napi_create_array_with_length(self.env, len, &mut v) }, "array")?;
        Ok(v)
    }

    fn set(&self, arr: sys::napi_value, i: u32, v: sys::napi_value) -> Result<()> {
        check(unsafe { sys::napi_set_element(self.env, arr, i, v) }, "set_element")
    }

    fn num(&self, n: f64) -> Result<sys::napi_value> {
        let mut v = ptr::null_mut();
        check(unsafe { sys::napi_create_double(self.env, n, &mut v) }, "double")?;
        Ok(v)
    }

    fn null(&self) -> Result<sys::napi_value> {
        let mut v = ptr::null_mut();
        check(unsafe { sys::napi_get_null(self.env, &mut v) }, "null")?;
        Ok(v)
    }

    fn boolean(&self, b: bool) -> Result<sys::napi_value> {
        let mut v = ptr::null_mut();
        check(unsafe { sys::napi_get_boolean(self.env, b, &mut v) }, "bool")?;
        Ok(v)
    }

    fn str(&self, s: &str) -> Result<sys::napi_value> {
        let mut v = ptr::null_mut();
        check(
            unsafe { sys::napi_create_string_utf8(self.env, s.as_ptr().cast(), s.len() as isize, &mut v) },
            "string",
        )?;
        Ok(v)
    }

    /// Latin-1 text is copied as it is; only UTF-8 is decoded by V8.
    fn text(&self, text: &Text) -> Result<sys::napi_value> {
        let bytes = text.bytes();
        let mut v = ptr::null_mut();
        let status = unsafe {
            if text.is_latin1() {
                sys::napi_create_string_latin1(self.env, bytes.as_ptr().cast(), bytes.len() as isize, &mut v)
            } else {
                sys::napi_create_string_utf8(self.env, bytes.as_ptr().cast(), bytes.len() as isize, &mut v)
            }
        };
        check(status, "text")?;
        Ok(v)
    }

    /// A JS-owned copy: cheaper than an external buffer's finalizer for the
    /// small batches that dominate, and nothing native outlives the call.
    fn array_buffer(&self, bytes: &[u8]) -> Result<sys::napi_value> {
        let mut data: *mut std::ffi::c_void = ptr::null_mut();
        let mut ab = ptr::null_mut();
        check(unsafe { sys::napi_create_arraybuffer(self.env, bytes.len(), &mut data, &mut ab) }, "arraybuffer")?;
        if !bytes.is_empty() && !data.is_null() {
            unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), data.cast::<u8>(), bytes.len()) };
        }
        Ok(ab)
    }

    fn f64_array(&self, nums: &[f64]) -> Result<sys::napi_value> {
        let bytes = unsafe { std::slice::from_raw_parts(nums.as_ptr().cast::<u8>(), std::mem::size_of_val(nums)) };
        let ab = self.array_buffer(bytes)?;
        let mut v = ptr::null_mut();
        check(
            unsafe {
                sys::napi_create_typedarray(self.env, sys::TypedarrayType::float64_array, nums.len(), ab, 0, &mut v)
            },
            "float64array",
        )?;
        Ok(v)
    }

    /// [message, code, errno|null, sqlState|null, sqlMessage|null, fatal, handshake, osErrno|null]
    fn error(&self, e: &ErrInfo) -> Result<sys::napi_value> {
        let arr = self.array(7)?;
        self.set(arr, 0, self.str(&e.message)?)?;
        self.set(arr, 1, self.str(&e.code)?)?;
        self.set(
            arr,
            2,
            match e.errno {
                Some(n) => self.num(n as f64)?,
                None => self.null()?,
            },
        )?;
        let opt = |s: &Option<String>| match s {
            Some(s) => self.str(s),
            None => self.null(),
        };
        self.set(arr, 3, opt(&e.sql_state)?)?;
        self.set(arr, 4, opt(&e.sql_message)?)?;
        self.set(arr, 5, self.boolean(e.fatal)?)?;
        self.set(arr, 6, self.boolean(e.handshake)?)?;
        self.set(
            arr,
            7,
            match e.os_errno {
                Some(n) => self.num(f64::from(n))?,
                None => self.null()?,
            },
        )?;
        Ok(arr)
    }
}

/// Reads execute() parameters. The JS layer has already turned Dates and
/// objects into strings, so only primitives and Buffers arrive here.
pub struct ParamIn(pub Param);

impl TypeName for ParamIn {
    fn type_name() -> &'static str {
        "null | number | string | bigint | boolean | Buffer"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl FromNapiValue for ParamIn {
    unsafe fn from_napi_value(env: sys::napi_env, v: sys::napi_value) -> Result<Self> {
        let mut t = 0;
        check(sys::napi_typeof(env, v, &mut t), "typeof")?;
        let p = match t {
            sys::ValueType::napi_null | sys::ValueType::napi_undefined => Param::Null,
            sys::ValueType::napi_number => {
                let mut d = 0f64;
                check(sys::napi_get_value_double(env, v, &mut d), "number")?;
                // As mysql2: every JS number is bound as DOUBLE.
                Param::Double(d)
            }
            sys::ValueType::napi_boolean => {
                let mut b = false;
                check(sys::napi_get_value_bool(env, v, &mut b), "bool")?;
                Param::Int(b as i64)
            }
            sys::ValueType::napi_string => Param::Text(String::from_napi_value(env, v)?),
            sys::ValueType::napi_bigint => {
                let mut i = 0i64;
                let mut lossless = false;
                check(sys::napi_get_value_bigint_int64(env, v, &mut i, &mut lossless), "bigint")?;
                if lossless {
                    Param::Int(i)
                } else {
                    return Err(Error::new(Status::InvalidArg, "BigInt parameter out of 64-bit range"));
                }
            }
            sys::ValueType::napi_object => {
                let mut is_date = false;
                check(sys::napi_is_date(env, v, &mut is_date), "is_date")?;
                if is_date {
                    // The JS layer shifted the Date so its UTC fields are the
                    // wall-clock fields wanted in the pool's timezone.
                    let mut ms = 0f64;
                    check(sys::napi_get_date_value(env, v, &mut ms), "date")?;
                    return date_param(ms).map(ParamIn);
                }
                let mut is_buf = false;
                check(sys::napi_is_buffer(env, v, &mut is_buf), "is_buffer")?;
                if !is_buf {
                    return Err(Error::new(Status::InvalidArg, "unsupported parameter object"));
                }
                let buf = BufferSlice::from_napi_value(env, v)?;
                Param::Bytes(buf.to_vec())
            }
            _ => return Err(Error::new(Status::InvalidArg, "unsupported parameter type")),
        };
        Ok(ParamIn(p))
    }
}

/// Civil date-time from milliseconds since the epoch (proleptic Gregorian).
fn date_param(ms: f64) -> Result<Param> {
    if !ms.is_finite() {
        return Err(Error::new(Status::InvalidArg, "Invalid Date parameter"));
    }
    let total_ms = ms.floor() as i64;
    let days = total_ms.div_euclid(86_400_000);
    let in_day = total_ms.rem_euclid(86_400_000);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    if !(0..=9999).contains(&y) {
        return Err(Error::new(Status::InvalidArg, "Date parameter out of range (years 0-9999)"));
    }
    let ms_of_day = in_day as u32;
    Ok(Param::Date(
        y as u16,
        m as u8,
        d as u8,
        (ms_of_day / 3_600_000) as u8,
        (ms_of_day / 60_000 % 60) as u8,
        (ms_of_day / 1000 % 60) as u8,
        (ms_of_day % 1000) * 1000,
    ))
}

/// One command of `submit()`. A bad entry becomes an error for that id
/// alone, never for the batch.
pub struct Submission {
    pub id: u32,
    pub conn_id: u32,
    pub op: Op,
    pub timeout_ms: f64,
    pub error: Option<ErrInfo>,
}

impl FromNapiValue for Raw {
    unsafe fn from_napi_value(_env: sys::napi_env, v: sys::napi_value) -> Result<Self> {
        Ok(Raw(v))
    }
}

unsafe fn element(env: sys::napi_env, arr: sys::napi_value, i: u32) -> Result<sys::napi_value> {
    let mut v = ptr::null_mut();
    check(sys::napi_get_element(env, arr, i, &mut v), "get_element")?;
    Ok(v)
}

/// A Float64Array's first element and length; None for anything else.
/// (napi_get_typedarray_info's data already points at the first element.)
///
/// # Safety
/// `v` is a value of the current call.
unsafe fn f64_elements(env: sys::napi_env, v: sys::napi_value) -> Option<(*mut f64, usize)> {
    let mut kind = sys::TypedarrayType::int8_array;
    let mut len = 0usize;
    let mut data: *mut std::ffi::c_void = ptr::null_mut();
    let mut ab = ptr::null_mut();
    let mut offset = 0usize;
    let status = sys::napi_get_typedarray_info(env, v, &mut kind, &mut len, &mut data, &mut ab, &mut offset);
    (status == sys::Status::napi_ok && kind == sys::TypedarrayType::float64_array && !data.is_null())
        .then_some((data.cast::<f64>(), len))
}

/// SQL texts by the number JS gave them (wire::SUB_SQL): a repeated
/// statement crosses as one number instead of a string converted each time.
/// JS decides the numbers (lib/transport.js) and reuses them when full;
/// submit() runs on the JS thread, so both sides see the same order.
#[derive(Default)]
pub struct SqlTexts(Vec<Option<Arc<str>>>);

impl SqlTexts {
    /// Texts kept now.
    pub fn len(&self) -> usize {
        self.0.iter().filter(|t| t.is_some()).count()
    }

    fn text(&self, slot: f64) -> Option<Arc<str>> {
        if slot >= 0.0 && slot < f64::from(wire::SUB_SQL_SLOTS) {
            self.0.get(slot as usize).cloned().flatten()
        } else {
            None
        }
    }

    fn keep(&mut self, slot: f64, text: &Arc<str>) {
        // JS numbers only texts of at most SUB_SQL_KEEP_MAX UTF-16 units (3
        // UTF-8 bytes each at most): the table's memory stays bounded.
        let short = text.len() <= 3 * wire::SUB_SQL_KEEP_MAX as usize;
        if short && slot >= 0.0 && slot < f64::from(wire::SUB_SQL_SLOTS) {
            let i = slot as usize;
            if self.0.len() <= i {
                self.0.resize(i + 1, None);
            }
            self.0[i] = Some(text.clone());
        }
    }
}

/// Reads one `submit(nums, count, texts, params)`: `count` commands of
/// wire::SUB_WIDTH numbers each in the Float64Array `nums`; `texts`, the SQL
/// texts that cross this time, in command order; `params`, one array per
/// execute, in command order.
///
/// # Safety
/// `env` and the values are the current call's.
pub unsafe fn read_submissions(
    env: sys::napi_env,
    nums: sys::napi_value,
    count: u32,
    texts: sys::napi_value,
    params: sys::napi_value,
    sql: &mut SqlTexts,
) -> Result<Vec<Submission>> {
    let width = wire::SUB_WIDTH as usize;
    let n = count as usize;
    let nums = match f64_elements(env, nums) {
        Some((data, len)) if n.checked_mul(width).is_some_and(|need| need <= len) => {
            std::slice::from_raw_parts(data, n * width)
        }
        _ => return Err(Error::new(Status::InvalidArg, "malformed submit() batch")),
    };
    let (mut next_text, mut next_params) = (0u32, 0u32);
    let mut out = Vec::with_capacity(n);
    for e in nums.chunks_exact(width) {
        let at = |i: u32| e.get(i as usize).copied().unwrap_or(0.0);
        let op = at(wire::SUB_OP) as u32;
        let mut sub = Submission {
            id: at(wire::SUB_ID) as u32,
            conn_id: at(wire::SUB_CONN) as u32,
            op: Op::Ping,
            timeout_ms: at(wire::SUB_TIMEOUT),
            error: None,
        };
        match op {
            wire::OP_PING => {
                out.push(sub);
                continue;
            }
            wire::OP_HAND_BACK => {
                sub.op = Op::HandBack;
                out.push(sub);
                continue;
            }
            wire::OP_RESET => {
                sub.op = Op::Reset;
                out.push(sub);
                continue;
            }
            wire::OP_QUERY | wire::OP_EXECUTE | wire::OP_PREPARE => {}
            other => return Err(Error::new(Status::InvalidArg, format!("unknown op {other}"))),
        }
        let slot = at(wire::SUB_SQL);
        let text = if at(wire::SUB_SQL_NEW) == 1.0 {
            let t: Arc<str> = String::from_napi_value(env, element(env, texts, next_text)?)?.into();
            next_text += 1;
            sql.keep(slot, &t);
            t
        } else {
            match sql.text(slot) {
                Some(t) => t,
                None => return Err(Error::new(Status::InvalidArg, "submit() names an SQL text it never sent")),
            }
        };
        let flags = at(wire::SUB_FLAGS) as u32;
        sub.op = match op {
            wire::OP_QUERY => Op::Query(text, flags),
            wire::OP_PREPARE => Op::Prepare(text),
            // All-number values came in the row itself; as mysql2 (and
            // ParamIn), every JS number binds as DOUBLE.
            _ if at(wire::SUB_NPARAMS) >= 0.0 => {
                let k = (at(wire::SUB_NPARAMS) as u32).min(wire::SUB_INLINE_MAX);
                Op::Execute(text, (0..k).map(|j| Param::Double(at(wire::SUB_PARAM0 + j))).collect(), flags)
            }
            _ => {
                let params_v = element(env, params, next_params)?;
                next_params += 1;
                match read_params(env, params_v) {
                    Ok(p) => Op::Execute(text, p, flags),
                    Err(e) => {
                        sub.error = Some(e);
                        Op::Ping
                    }
                }
            }
        };
        out.push(sub);
    }
    Ok(out)
}

/// execute()'s values; an unsupported one is that command's error.
unsafe fn read_params(env: sys::napi_env, params_v: sys::napi_value) -> std::result::Result<Vec<Param>, ErrInfo> {
    let mut len = 0u32;
    if sys::napi_get_array_length(env, params_v, &mut len) != sys::Status::napi_ok {
        len = 0;
    }
    let mut params = Vec::with_capacity(len.min(65_535) as usize);
    for i in 0..len {
        let p = element(env, params_v, i).and_then(|v| ParamIn::from_napi_value(env, v));
        match p {
            Ok(p) => params.push(p.0),
            Err(e) => {
                return Err(ErrInfo::new("ERR_INVALID_PARAMETER", format!("Bind parameter {}: {}", i + 1, e.reason)));
            }
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::{Header, ResultSet, RowBatch};

    /// The directory a drain builds puts every field where wire.rs says, so
    /// lib/wire.js reads the same layout.
    #[test]
    fn directory_layout_follows_wire() {
        let rows = RowBatch {
            meta: "m".into(),
            text: {
                let mut t = Text::new();
                t.push_ascii(b"ab");
                t
            },
            nums: vec![2.0],
            tags: vec![crate::convert::TAG_STRING],
            bin: Vec::new(),
            nrows: 1,
            text_units: 2,
        };
        let header = Header {
            affected_rows: 3,
            insert_id: 4,
            warning_status: 5.0,
            server_status: 6.0,
            info: "i".into(),
            state: None,
        };
        let list = vec![Completion {
            id: 9,
            payload: Payload::Results(vec![ResultSet::Rows(rows), ResultSet::Header(header)]),
        }];
        let b = Batch::build(list, &mut Shapes::default());
        let d = &b.dir;
        assert_eq!(d[0], 9.0);
        assert_eq!(d[1], f64::from(wire::DONE_RESULTS));
        assert_eq!(d[2], 2.0); // sets
        let r = 3;
        assert_eq!(d[r], f64::from(wire::SET_ROWS));
        assert_eq!(d[r + wire::ROWS_SHAPE as usize], 0.0);
        assert_eq!(d[r + wire::ROWS_NEW_SHAPE_AT as usize], 0.0);
        assert_eq!(d[r + wire::ROWS_COUNT as usize], 1.0);
        assert_eq!(d[r + wire::ROWS_CELLS as usize], 1.0);
        assert_eq!(d[r + wire::ROWS_TEXT_UNITS as usize], 2.0);
        assert_eq!(d[r + wire::ROWS_TAGS_AT as usize], 0.0);
        assert_eq!(d[r + wire::ROWS_BIN_AT as usize], 1.0); // after the one tag byte
        assert_eq!(d[r + wire::ROWS_BIN_LEN as usize], 0.0);
        assert_eq!(d[r + wire::ROWS_LEN as usize], 2.0); // the first cell's number
        let h = r + wire::ROWS_LEN as usize + 1;
        assert_eq!(d[h], f64::from(wire::SET_HEADER));
        assert_eq!(d[h + wire::HEAD_AFFECTED as usize], 3.0);
        assert_eq!(d[h + wire::HEAD_INSERT_ID as usize], 4.0);
        assert_eq!(d[h + wire::HEAD_WARNINGS as usize], 5.0);
        assert_eq!(d[h + wire::HEAD_STATUS as usize], 6.0);
        assert_eq!(d[h + wire::HEAD_INFO_UNITS as usize], 1.0);
        assert_eq!(d[h + wire::HEAD_BIG_ID_AT as usize], -1.0);
        assert_eq!(d[h + wire::HEAD_BIG_ROWS_AT as usize], -1.0);
        assert_eq!(d[h + wire::HEAD_STATE_AT as usize], -1.0);
        assert_eq!(d.len(), h + wire::HEAD_LEN as usize);
    }
}
