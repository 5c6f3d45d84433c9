//! Values crossing into JS, built with raw N-API calls so each result set
//! costs a constant number of calls, whatever its size.
use crate::convert::{ResultSet, RowBatch};
use crate::error::ErrInfo;
use crate::ops::Param;
use napi::bindgen_prelude::*;
use napi::sys;
use std::ptr;

pub enum Payload {
    Results(Vec<ResultSet>),
    Error(ErrInfo),
    Conn { conn_id: u32, thread_id: u32 },
    Done,
}

pub struct Completion {
    pub id: u32,
    pub payload: Payload,
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

pub struct Builder {
    env: sys::napi_env,
}

impl Builder {
    pub fn new(env: sys::napi_env) -> Self {
        Builder { env }
    }

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

    /// Pure-ASCII text is copied as Latin-1 (no UTF-8 decoding in V8).
    fn text(&self, bytes: &[u8], ascii: bool) -> Result<sys::napi_value> {
        let mut v = ptr::null_mut();
        let status = unsafe {
            if ascii {
                sys::napi_create_string_latin1(self.env, bytes.as_ptr().cast(), bytes.len() as isize, &mut v)
            } else {
                sys::napi_create_string_utf8(self.env, bytes.as_ptr().cast(), bytes.len() as isize, &mut v)
            }
        };
        check(status, "text")?;
        Ok(v)
    }

    fn opt_str(&self, s: &Option<String>) -> Result<sys::napi_value> {
        match s {
            Some(s) => self.str(s),
            None => self.null(),
        }
    }

    pub fn completions(&self, list: Vec<Completion>) -> Result<sys::napi_value> {
        let arr = self.array(list.len())?;
        for (i, c) in list.into_iter().enumerate() {
            let v = self.completion(c)?;
            self.set(arr, i as u32, v)?;
        }
        Ok(arr)
    }

    /// [id, 0, results] | [id, 1, error] | [id, 2, connId, threadId] | [id, 3]
    fn completion(&self, c: Completion) -> Result<sys::napi_value> {
        let arr = self.array(4)?;
        self.set(arr, 0, self.num(c.id as f64)?)?;
        match c.payload {
            Payload::Results(sets) => {
                self.set(arr, 1, self.num(0.0)?)?;
                let list = self.array(sets.len())?;
                for (i, rs) in sets.into_iter().enumerate() {
                    let v = self.result_set(rs)?;
                    self.set(list, i as u32, v)?;
                }
                self.set(arr, 2, list)?;
            }
            Payload::Error(e) => {
                self.set(arr, 1, self.num(1.0)?)?;
                self.set(arr, 2, self.error(&e)?)?;
            }
            Payload::Conn { conn_id, thread_id } => {
                self.set(arr, 1, self.num(2.0)?)?;
                self.set(arr, 2, self.num(conn_id as f64)?)?;
                self.set(arr, 3, self.num(thread_id as f64)?)?;
            }
            Payload::Done => {
                self.set(arr, 1, self.num(3.0)?)?;
            }
        }
        Ok(arr)
    }

    /// [message, code, errno|null, sqlState|null, sqlMessage|null, fatal]
    pub fn error(&self, e: &ErrInfo) -> Result<sys::napi_value> {
        let arr = self.array(6)?;
        self.set(arr, 0, self.str(&e.message)?)?;
        self.set(arr, 1, self.str(&e.code)?)?;
        self.set(arr, 2, match e.errno {
            Some(n) => self.num(n as f64)?,
            None => self.null()?,
        })?;
        self.set(arr, 3, self.opt_str(&e.sql_state)?)?;
        self.set(arr, 4, self.opt_str(&e.sql_message)?)?;
        self.set(arr, 5, self.boolean(e.fatal)?)?;
        Ok(arr)
    }

    /// Rows: [meta, text, nums, tags, bin|null, nrows]; DML: [affectedRows,
    /// insertId, warningStatus, serverStatus, info, insertIdText|null,
    /// affectedRowsText|null].
    fn result_set(&self, rs: ResultSet) -> Result<sys::napi_value> {
        match rs {
            ResultSet::Header(h) => {
                // Beyond 2^53 the exact decimal goes along (mysql2 returns a
                // string there); insertId is read signed, as mysql2 does.
                const EXACT: u64 = 1 << 53;
                let arr = self.array(7)?;
                self.set(arr, 0, self.num(h.affected_rows as f64)?)?;
                self.set(arr, 1, self.num(h.insert_id as i64 as f64)?)?;
                self.set(arr, 2, self.num(h.warning_status)?)?;
                self.set(arr, 3, self.num(h.server_status)?)?;
                self.set(arr, 4, self.str(&h.info)?)?;
                let big_id = if h.insert_id >= EXACT { Some((h.insert_id as i64).to_string()) } else { None };
                self.set(arr, 5, self.opt_str(&big_id)?)?;
                let big_rows = if h.affected_rows >= EXACT { Some(h.affected_rows.to_string()) } else { None };
                self.set(arr, 6, self.opt_str(&big_rows)?)?;
                Ok(arr)
            }
            ResultSet::Rows(b) => self.rows(b),
        }
    }

    fn rows(&self, b: RowBatch) -> Result<sys::napi_value> {
        let arr = self.array(6)?;
        self.set(arr, 0, self.str(&b.meta)?)?;
        self.set(arr, 1, self.text(&b.text, b.ascii)?)?;
        let nums = unsafe { Float64Array::to_napi_value(self.env, Float64Array::new(b.nums))? };
        self.set(arr, 2, nums)?;
        let tags = unsafe { Uint8Array::to_napi_value(self.env, Uint8Array::new(b.tags))? };
        self.set(arr, 3, tags)?;
        let bin = if b.bin.is_empty() {
            self.null()?
        } else {
            unsafe { Buffer::to_napi_value(self.env, Buffer::from(b.bin))? }
        };
        self.set(arr, 4, bin)?;
        self.set(arr, 5, self.num(b.nrows as f64)?)?;
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
            sys::ValueType::napi_string => Param::Bytes(String::from_napi_value(env, v)?.into_bytes()),
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
