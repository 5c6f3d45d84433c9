//! Running one command on one connection and encoding what comes back.
use crate::convert::{Encoder, Header, ResultSet};
use mysql_async::prelude::{Protocol, Queryable};
use mysql_async::{Conn, Params, QueryResult, Value};

/// A positional parameter for a prepared statement, as JS sent it.
pub enum Param {
    Null,
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
}

impl From<Param> for Value {
    fn from(p: Param) -> Value {
        match p {
            Param::Null => Value::NULL,
            Param::Int(i) => Value::Int(i),
            Param::Double(d) => Value::Double(d),
            Param::Bytes(b) => Value::Bytes(b),
        }
    }
}

const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;

pub async fn query(conn: &mut Conn, sql: &str, fl: u32) -> mysql_async::Result<Vec<ResultSet>> {
    let qr = conn.query_iter(sql).await?;
    let mut out = collect(qr, fl).await?;
    fill_status(conn, &mut out);
    Ok(out)
}

pub async fn execute(conn: &mut Conn, sql: &str, params: Vec<Param>, fl: u32) -> mysql_async::Result<Vec<ResultSet>> {
    let params = if params.is_empty() {
        Params::Empty
    } else {
        Params::Positional(params.into_iter().map(Value::from).collect())
    };
    let qr = conn.exec_iter(sql, params).await?;
    let mut out = collect(qr, fl).await?;
    fill_status(conn, &mut out);
    Ok(out)
}

async fn collect<P: Protocol>(mut qr: QueryResult<'_, 'static, P>, fl: u32) -> mysql_async::Result<Vec<ResultSet>> {
    let mut out = Vec::with_capacity(1);
    loop {
        match qr.columns() {
            Some(cols) if !cols.is_empty() => {
                let mut enc = Encoder::new(&cols, fl);
                qr.for_each(|row| enc.push_row(&row)).await?;
                out.push(ResultSet::Rows(enc.finish()));
            }
            Some(_) => {
                out.push(ResultSet::Header(Header {
                    affected_rows: qr.affected_rows() as f64,
                    insert_id: qr.last_insert_id().unwrap_or(0) as f64,
                    warning_status: qr.warnings() as f64,
                    server_status: 0.0,
                    info: qr.info().into_owned(),
                }));
                qr.for_each(|_| {}).await?;
            }
            None => break,
        }
        if qr.is_empty() {
            break;
        }
    }
    Ok(out)
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
        }
    }
}
