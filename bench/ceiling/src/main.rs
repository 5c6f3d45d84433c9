//! The benchmark's pure-Rust ceiling (bench/README.md): stock mysql_async on
//! a two-worker tokio runtime, pool of 20, running one workload per process
//! the way bench/worker.js does for the JavaScript clients, and answering in
//! the same shape.
//!
//! Protocol (stdin/stdout, one JSON document a line): the parent writes
//! `{"type":"run", workload, spec, sql, consts, opts}`; the child writes
//! `@@bench {"type":"mark","phase":"start"|"end"}` around its measured
//! window and waits for `{"type":"ack"}` each time, then writes
//! `@@bench {"type":"result","stats":{...}}` or `@@bench {"type":"error",...}`.
use std::error::Error;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql_async::prelude::*;
use mysql_async::{from_row_opt, OptsBuilder, Pool, PoolConstraints, PoolOpts, Row, SslOpts, Value};
use serde_json::{json, Value as J};

type R<T> = Result<T, Box<dyn Error + Send + Sync>>;

const CREATED: &str = "2025-01-02 03:04:05";

// ---- protocol -------------------------------------------------------------------

fn send(v: &J) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "@@bench {v}");
    let _ = out.flush();
}

fn read_msg() -> R<J> {
    let mut line = String::new();
    loop {
        line.clear();
        if std::io::stdin().lock().read_line(&mut line)? == 0 {
            return Err("stdin closed by the parent".into());
        }
        if !line.trim().is_empty() {
            return Ok(serde_json::from_str(line.trim())?);
        }
    }
}

/// Tells the parent the measured window starts/ends and waits for its
/// answer (it snapshots the server's counters in between).
fn mark(phase: &str) -> R<()> {
    send(&json!({ "type": "mark", "phase": phase }));
    loop {
        let m = read_msg()?;
        if m["type"] == "ack" {
            return Ok(());
        }
    }
}

// ---- measurement utilities ------------------------------------------------------

/// bench/worker.js's xorshift32, shared by all tasks (ids come out of one
/// sequence, as they do for the JavaScript clients).
struct Rng(AtomicU32);

impl Rng {
    fn new(seed: u64) -> Rng {
        let s = seed as u32;
        Rng(AtomicU32::new(if s == 0 { 0x9e37_79b9 } else { s }))
    }
    fn next(&self) -> u32 {
        let step = |mut x: u32| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            let x = step(cur);
            match self.0.compare_exchange_weak(cur, x, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return x,
                Err(c) => cur = c,
            }
        }
    }
}

/// The same percentiles as worker.js's Samples.summary().
fn summary(mut s: Vec<f64>) -> J {
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    if n == 0 {
        return json!({ "n": 0 });
    }
    let q = |p: f64| s[((p * n as f64).floor() as usize).min(n - 1)];
    let sum: f64 = s.iter().sum();
    json!({ "n": n, "min": s[0], "p50": q(0.5), "p95": q(0.95), "p99": q(0.99), "max": s[n - 1], "mean": sum / n as f64 })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// (user ms, system ms, max RSS bytes) of the whole process, all threads.
fn rusage() -> (f64, f64, u64) {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 * 1000.0 + tv.tv_usec as f64 / 1000.0;
    (t(ru.ru_utime), t(ru.ru_stime), ru.ru_maxrss as u64 * 1024)
}

/// RSS sampled every 50 ms for the whole life of the process, like worker.js.
struct RssSampler {
    peak: AtomicU64,
    window_peak: AtomicU64,
}

static RSS: RssSampler = RssSampler { peak: AtomicU64::new(0), window_peak: AtomicU64::new(0) };

fn sample_rss() {
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    if let Ok(s) = std::fs::read_to_string("/proc/self/statm") {
        if let Some(pages) = s.split_whitespace().nth(1).and_then(|x| x.parse::<u64>().ok()) {
            let v = pages * page;
            RSS.peak.fetch_max(v, Ordering::Relaxed);
            RSS.window_peak.fetch_max(v, Ordering::Relaxed);
        }
    }
}

// ---- configuration --------------------------------------------------------------

struct Ctx {
    host: String,
    port: u16,
    user: String,
    password: String,
    database: String,
    ca: Option<String>,
    pool_size: usize,
    point_rows: u32,
    cold_queries: usize,
    sql_point: String,
    sql_one: String,
    sql_wide: String,
    sql_insert: String,
    rng: Rng,
}

fn make_pool(ctx: &Ctx, tls: bool) -> R<Pool> {
    let pool_opts = PoolOpts::default()
        // A fixed pool of 20 (with inactive_connection_ttl 0, `min` is how
        // many idle connections it keeps).
        .with_constraints(PoolConstraints::new(ctx.pool_size, ctx.pool_size).ok_or("pool constraints")?)
        // mysql2 and ours do not reset a session on release; mysql_async's
        // default (COM_RESET_CONNECTION on every return) would add a round
        // trip per query and drop its statement cache.
        .with_reset_connection(false);
    let mut b = OptsBuilder::default()
        .ip_or_hostname(ctx.host.clone())
        .tcp_port(ctx.port)
        .user(Some(ctx.user.clone()))
        .pass(Some(ctx.password.clone()))
        .db_name(Some(ctx.database.clone()))
        // TCP like the other clients (its default moves to the Unix socket
        // when the server is on the same machine).
        .prefer_socket(false)
        .pool_opts(pool_opts);
    if tls {
        let ca = ctx.ca.as_ref().ok_or("TLS workload without a CA")?;
        b = b.ssl_opts(SslOpts::default().with_root_certs(vec![ca.as_bytes().to_vec().into()]));
    }
    Ok(Pool::new(b))
}

// ---- operations -----------------------------------------------------------------

/// What `query()` does in the JavaScript clients: the values are written
/// into the SQL text, sent with COM_QUERY (text protocol).
enum Lit<'a> {
    Int(i64),
    Float(f64),
    Str(&'a str),
}

fn interpolate(sql: &str, params: &[Lit]) -> String {
    let mut out = String::with_capacity(sql.len() + 32);
    let mut it = params.iter();
    for ch in sql.chars() {
        if ch != '?' {
            out.push(ch);
            continue;
        }
        match it.next() {
            Some(Lit::Int(v)) => out.push_str(&v.to_string()),
            Some(Lit::Float(v)) => out.push_str(&v.to_string()),
            Some(Lit::Str(s)) => {
                out.push('\'');
                for c in s.chars() {
                    if c == '\'' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('\'');
            }
            None => out.push('?'),
        }
    }
    out
}

/// A DATETIME / DATE decoded into its fields, as the JavaScript clients
/// decode it into a Date (mysql_async is built without its chrono/time
/// features: the text protocol gives the value as text, the binary protocol
/// as Value::Date).
#[allow(dead_code)]
#[derive(Debug)]
struct DateTime {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    micros: u32,
}

impl DateTime {
    fn from_value(v: Value) -> R<DateTime> {
        match v {
            Value::Date(year, month, day, hour, minute, second, micros) => {
                Ok(DateTime { year, month, day, hour, minute, second, micros })
            }
            Value::Bytes(b) => {
                DateTime::parse(&b).ok_or_else(|| format!("not a date: {:?}", String::from_utf8_lossy(&b)).into())
            }
            other => Err(format!("not a date: {other:?}").into()),
        }
    }

    /// "YYYY-MM-DD", "YYYY-MM-DD hh:mm:ss" or "YYYY-MM-DD hh:mm:ss.ffffff".
    fn parse(b: &[u8]) -> Option<DateTime> {
        let n = |r: std::ops::Range<usize>| -> Option<u32> {
            let s = b.get(r)?;
            s.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32))
        };
        let mut d = DateTime {
            year: n(0..4)? as u16,
            month: n(5..7)? as u8,
            day: n(8..10)? as u8,
            hour: 0,
            minute: 0,
            second: 0,
            micros: 0,
        };
        if b.len() >= 19 {
            d.hour = n(11..13)? as u8;
            d.minute = n(14..16)? as u8;
            d.second = n(17..19)? as u8;
            if b.len() > 20 {
                let frac = &b[20..];
                d.micros = n(20..b.len())? * 10u32.pow(6u32.saturating_sub(frac.len() as u32));
            }
        }
        Some(d)
    }
}

/// A point row decoded into a struct, as a Rust application would.
#[allow(dead_code)]
struct Point {
    id: i32,
    name: String,
    score: f64,
    qty: i32,
    created: DateTime,
}

/// A bench_wide row decoded into a struct (DECIMAL as its text, as mysql2
/// gives it).
#[allow(dead_code)]
struct Wide {
    id: i32,
    big: i64,
    name: String,
    body: Option<String>,
    price: String,
    ratio: f64,
    at: DateTime,
    day: DateTime,
    flag: i8,
    tag: Option<Vec<u8>>,
}

fn to_points(rows: Vec<Row>) -> R<Vec<Point>> {
    rows.into_iter()
        .map(|r| {
            let (id, name, score, qty, created) = from_row_opt::<(i32, String, f64, i32, Value)>(r)?;
            Ok(Point { id, name, score, qty, created: DateTime::from_value(created)? })
        })
        .collect()
}

fn check(cond: bool, what: &str) -> R<()> {
    if cond {
        Ok(())
    } else {
        Err(format!("result check failed: {what}").into())
    }
}

fn check_point(rows: &[Point], k: u32) -> R<()> {
    check(
        rows.len() == 1 && rows[0].id == k as i32 && rows[0].name == format!("point-{k}"),
        &format!("point row {k}"),
    )?;
    check(rows[0].created.year == 2024 && rows[0].created.minute as u32 == k % 60, "DATETIME decoded")
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    PointQuery,
    PointExecute,
    WideObjects,
    WideArrays,
    Insert,
}

impl Op {
    fn parse(s: &str) -> R<Op> {
        Ok(match s {
            "pointQuery" => Op::PointQuery,
            "pointExecute" => Op::PointExecute,
            "wideObjects" => Op::WideObjects,
            "wideArrays" => Op::WideArrays,
            "insert" => Op::Insert,
            other => return Err(format!("op {other} is not implemented by the Rust ceiling").into()),
        })
    }
}

async fn run_op(op: Op, pool: &Pool, ctx: &Ctx, verify: bool) -> R<()> {
    let id = || ctx.rng.next() % ctx.point_rows + 1;
    let mut conn = pool.get_conn().await?;
    match op {
        Op::PointQuery => {
            let k = id();
            let rows = to_points(conn.query::<Row, _>(interpolate(&ctx.sql_point, &[Lit::Int(k as i64)])).await?)?;
            if verify {
                check_point(&rows, k)?;
            }
        }
        Op::PointExecute => {
            let k = id();
            let rows = to_points(conn.exec::<Row, _, _>(ctx.sql_point.as_str(), (k,)).await?)?;
            if verify {
                check_point(&rows, k)?;
            }
        }
        Op::WideObjects => {
            let rows = conn.query::<Row, _>(ctx.sql_wide.as_str()).await?;
            let rows = rows
                .into_iter()
                .map(|r| {
                    let (id, big, name, body, price, ratio, at, day, flag, tag) =
                        from_row_opt::<(_, _, _, _, _, _, Value, Value, _, _)>(r)?;
                    let (at, day) = (DateTime::from_value(at)?, DateTime::from_value(day)?);
                    Ok(Wide { id, big, name, body, price, ratio, at, day, flag, tag })
                })
                .collect::<R<Vec<Wide>>>()?;
            check(rows.len() == 10_000, &format!("10k rows, got {}", rows.len()))?;
            if verify {
                let r = rows.iter().find(|x| x.id == 7).ok_or("row 7")?;
                check(
                    r.big == 7 * 1_000_003 + (1 << 40)
                        && r.price == "2.59"
                        && r.at.micros == 7000
                        && r.day.year == 2023
                        && r.tag.as_deref() == Some(&[0, 0, 0, 0, 0, 0, 0, 7][..]),
                    "wide types",
                )?;
            }
        }
        Op::WideArrays => {
            let rows = conn.query::<Row, _>(ctx.sql_wide.as_str()).await?;
            check(rows.len() == 10_000, &format!("10k rows, got {}", rows.len()))?;
            if verify {
                check(rows[0].len() == 10, "rows of ten values")?;
            }
        }
        Op::Insert => {
            let k = id();
            let name = format!("insert-{k}");
            let sql = interpolate(
                &ctx.sql_insert,
                &[Lit::Int(k as i64), Lit::Str(&name), Lit::Float(k as f64 / 7.0), Lit::Str(CREATED)],
            );
            conn.query_drop(sql).await?;
            if verify {
                check(conn.affected_rows() == 1 && conn.last_insert_id().unwrap_or(0) > 0, "insert header")?;
            }
        }
    }
    Ok(())
}

/// Closed loop: `concurrency` tasks, each starting a new op as soon as its
/// previous one finishes, until the deadline (and at least min_ops).
async fn closed_loop(
    op: Op,
    pool: &Pool,
    ctx: &Arc<Ctx>,
    concurrency: usize,
    dur: Duration,
    min_ops: u64,
    record: bool,
) -> R<(u64, Vec<f64>)> {
    let deadline = Instant::now() + dur;
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (pool, ctx, done, stop) = (pool.clone(), ctx.clone(), done.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                run_op(op, &pool, &ctx, false).await?;
                let t1 = Instant::now();
                if record {
                    lat.push(ms(t1 - t0));
                }
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if t1 >= deadline && n >= min_ops {
                    stop.store(true, Ordering::Relaxed);
                }
            }
            R::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((done.load(Ordering::Relaxed), all))
}

async fn burst(pool: &Pool, sql: &Arc<str>, size: usize) -> R<()> {
    let mut tasks = Vec::with_capacity(size);
    for _ in 0..size {
        let (pool, sql) = (pool.clone(), sql.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = pool.get_conn().await?;
            let rows = conn.query::<Row, _>(&*sql).await?;
            check(rows.len() == 1, "SELECT 1")
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

struct Measured {
    stats: serde_json::Map<String, J>,
}

/// Runs `body` between the two marks and adds wall time, CPU (getrusage of
/// the whole process) and the window's RSS peak to what it returns.
async fn measured<Fut>(body: Fut) -> R<Measured>
where
    Fut: std::future::Future<Output = R<(u64, u64)>>,
{
    mark("start")?;
    RSS.window_peak.store(0, Ordering::Relaxed);
    sample_rss();
    let (u0, s0, _) = rusage();
    let t0 = Instant::now();
    let (ops, queries) = body.await?; // futures are lazy: nothing ran before the mark
    let wall = ms(t0.elapsed());
    let (u1, s1, _) = rusage();
    sample_rss();
    mark("end")?;
    let mut stats = serde_json::Map::new();
    stats.insert("ops".into(), json!(ops));
    stats.insert("queries".into(), json!(queries));
    stats.insert("wallMs".into(), json!(wall));
    stats.insert("cpuUserMs".into(), json!(u1 - u0));
    stats.insert("cpuSysMs".into(), json!(s1 - s0));
    stats.insert("cpuMs".into(), json!((u1 - u0) + (s1 - s0)));
    // No JavaScript thread: main-thread time and ELU do not apply.
    stats.insert("eluActiveMs".into(), J::Null);
    stats.insert("elu".into(), J::Null);
    stats.insert("rssWindowPeak".into(), json!(RSS.window_peak.load(Ordering::Relaxed)));
    Ok(Measured { stats })
}

// ---- workload kinds -------------------------------------------------------------

fn spec_u64(spec: &J, k: &str, dflt: u64) -> u64 {
    spec[k].as_u64().unwrap_or(dflt)
}

async fn run_loop(spec: &J, ctx: &Arc<Ctx>, warmup: Duration, dur: Duration) -> R<(Measured, Option<Pool>)> {
    let op = Op::parse(spec["op"].as_str().unwrap_or(""))?;
    let concurrency = spec_u64(spec, "concurrency", 1) as usize;
    let pool = make_pool(ctx, spec["tls"].as_bool().unwrap_or(false))?;
    let one: Arc<str> = ctx.sql_one.as_str().into();
    burst(&pool, &one, ctx.pool_size * 10).await?; // opens every pooled connection
    for _ in 0..3 {
        run_op(op, &pool, ctx, true).await?;
    }
    closed_loop(op, &pool, ctx, concurrency, warmup, 1, false).await?;
    if op == Op::Insert {
        pool.get_conn().await?.query_drop("TRUNCATE TABLE bench_insert").await?;
    }
    let min_ops = spec_u64(spec, "minOps", 1);
    let mut lat = Vec::new();
    let mut m = measured(async {
        let (ops, l) = closed_loop(op, &pool, ctx, concurrency, dur, min_ops, true).await?;
        lat = l;
        Ok((ops, ops))
    })
    .await?;
    for _ in 0..3 {
        run_op(op, &pool, ctx, true).await?;
    }
    m.stats.insert("lat".into(), summary(lat));
    m.stats.insert(
        "note".into(),
        json!(match op {
            Op::WideArrays => "rows collected as Vec<Row> (mysql_async Values)",
            Op::PointQuery | Op::PointExecute => "rows decoded into a struct (DATETIME into its fields)",
            Op::WideObjects => "rows decoded into a struct (DECIMAL as String, DATETIME/DATE into their fields)",
            Op::Insert => "affected rows and insert id read from the OK packet",
        }),
    );
    Ok((m, Some(pool)))
}

async fn run_burst(spec: &J, ctx: &Arc<Ctx>, warmup: Duration, dur: Duration) -> R<(Measured, Option<Pool>)> {
    let size = spec_u64(spec, "size", 10) as usize;
    let pool = make_pool(ctx, false)?;
    let one: Arc<str> = ctx.sql_one.as_str().into();
    burst(&pool, &one, ctx.pool_size * 10).await?;
    let warm_end = Instant::now() + warmup;
    while Instant::now() < warm_end {
        burst(&pool, &one, size).await?;
    }
    let mut lat = Vec::new();
    let mut m = measured(async {
        let deadline = Instant::now() + dur;
        let mut n = 0u64;
        while Instant::now() < deadline || n < 20 {
            let t0 = Instant::now();
            burst(&pool, &one, size).await?;
            lat.push(ms(t0.elapsed()));
            n += 1;
        }
        Ok((n, n * size as u64))
    })
    .await?;
    m.stats.insert("lat".into(), summary(lat));
    Ok((m, Some(pool)))
}

async fn cold_once(ctx: &Arc<Ctx>, tls: bool, lat: Option<&mut Vec<f64>>) -> R<()> {
    let t0 = Instant::now();
    let pool = make_pool(ctx, tls)?;
    let mut tasks = Vec::with_capacity(ctx.cold_queries);
    for _ in 0..ctx.cold_queries {
        let (pool, ctx) = (pool.clone(), ctx.clone());
        tasks.push(tokio::spawn(async move {
            let k = ctx.rng.next() % ctx.point_rows + 1;
            let mut conn = pool.get_conn().await?;
            let rows = to_points(conn.query::<Row, _>(interpolate(&ctx.sql_point, &[Lit::Int(k as i64)])).await?)?;
            R::Ok(rows.len())
        }));
    }
    let mut ok = true;
    for t in tasks {
        ok &= t.await?? == 1;
    }
    if let Some(lat) = lat {
        lat.push(ms(t0.elapsed()));
    }
    check(ok, "cold-start rows")?;
    tokio::time::timeout(Duration::from_secs(15), pool.disconnect())
        .await
        .map_err(|_| "pool.disconnect() did not finish in 15000 ms")??;
    Ok(())
}

async fn run_cold(spec: &J, ctx: &Arc<Ctx>, dur: Duration) -> R<(Measured, Option<Pool>)> {
    let tls = spec["tls"].as_bool().unwrap_or(false);
    let min_ops = spec_u64(spec, "minOps", 1);
    cold_once(ctx, tls, None).await?; // loads the TLS and driver code paths once
    let mut lat = Vec::new();
    let mut m = measured(async {
        let deadline = Instant::now() + dur;
        let mut n = 0u64;
        while (Instant::now() < deadline || n < min_ops) && n < 60 {
            cold_once(ctx, tls, Some(&mut lat)).await?;
            n += 1;
        }
        Ok((n, n * ctx.cold_queries as u64))
    })
    .await?;
    m.stats.insert("lat".into(), summary(lat));
    Ok((m, None))
}

// ---- entry ----------------------------------------------------------------------

async fn run(msg: J) -> R<J> {
    let opts = &msg["opts"];
    let conn = &opts["conn"];
    let consts = &msg["consts"];
    let sql = &msg["sql"];
    let s = |v: &J| v.as_str().map(str::to_owned).ok_or("missing string in the run message");
    let ctx = Arc::new(Ctx {
        host: s(&conn["host"])?,
        port: conn["port"].as_u64().ok_or("port")? as u16,
        user: s(&conn["user"])?,
        password: s(&conn["password"])?,
        database: s(&conn["database"])?,
        ca: conn["ca"].as_str().map(str::to_owned),
        pool_size: consts["POOL_SIZE"].as_u64().unwrap_or(20) as usize,
        point_rows: consts["POINT_ROWS"].as_u64().unwrap_or(10_000) as u32,
        cold_queries: consts["COLD_QUERIES"].as_u64().unwrap_or(200) as usize,
        sql_point: s(&sql["point"])?,
        sql_one: s(&sql["one"])?,
        sql_wide: s(&sql["wide"])?,
        sql_insert: s(&sql["insert"])?,
        rng: Rng::new(opts["seed"].as_u64().unwrap_or(1)),
    });
    let warmup = Duration::from_secs_f64(opts["warmupMs"].as_f64().unwrap_or(500.0) / 1000.0);
    let dur = Duration::from_secs_f64(opts["durationMs"].as_f64().unwrap_or(1800.0) / 1000.0);
    let spec = &msg["spec"];
    let (m, pool) = match spec["kind"].as_str().unwrap_or("") {
        "loop" => run_loop(spec, &ctx, warmup, dur).await?,
        "burst" => run_burst(spec, &ctx, warmup, dur).await?,
        "cold" => run_cold(spec, &ctx, dur).await?,
        other => return Err(format!("workload kind {other} is not implemented by the Rust ceiling").into()),
    };
    let mut stats = m.stats;
    if let Some(pool) = pool {
        let t0 = Instant::now();
        tokio::time::timeout(Duration::from_secs(15), pool.disconnect())
            .await
            .map_err(|_| "pool.disconnect() did not finish in 15000 ms")??;
        stats.insert("endMs".into(), json!(ms(t0.elapsed())));
    }
    let wall = stats["wallMs"].as_f64().unwrap_or(f64::NAN);
    let ops = stats["ops"].as_f64().unwrap_or(0.0);
    let queries = stats["queries"].as_f64().unwrap_or(0.0);
    stats.insert("opsPerSec".into(), json!(ops / (wall / 1000.0)));
    stats.insert("queriesPerSec".into(), json!(queries / (wall / 1000.0)));
    sample_rss();
    stats.insert("rssPeakSampled".into(), json!(RSS.peak.load(Ordering::Relaxed)));
    stats.insert("maxRSS".into(), json!(rusage().2)); // kernel high-water mark
    stats.insert("runtime".into(), json!("mysql_async 0.37 (crates.io, no patches), tokio multi-thread 2 workers"));
    Ok(J::Object(stats))
}

fn main() {
    std::thread::spawn(|| loop {
        sample_rss();
        std::thread::sleep(Duration::from_millis(50));
    });
    let msg = match read_msg() {
        Ok(m) => m,
        Err(e) => {
            send(&json!({ "type": "error", "message": format!("reading the run message: {e}") }));
            return;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            send(&json!({ "type": "error", "message": format!("tokio runtime: {e}") }));
            return;
        }
    };
    match rt.block_on(run(msg)) {
        Ok(stats) => send(&json!({ "type": "result", "stats": stats })),
        Err(e) => send(&json!({ "type": "error", "message": e.to_string() })),
    }
    // Do not wait for the runtime's idle threads.
    rt.shutdown_timeout(Duration::from_millis(100));
}
