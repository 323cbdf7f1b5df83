//! The engine beside bare `httparse` on the same bytes, in the same run.
//!
//! Groups (each id is `group/function`; `cargo xtask bench core` turns the results into
//! engine/httparse ratios):
//!
//! - `browser_get`: a 564-byte Chrome GET with 10 headers. `httparse` parses the head;
//!   `engine` receives it, takes `Head` and `End`, and writes a small 200 response
//!   (`send_head` with Content-Length, `send_data`, `send_end`) into a reused `Vec`, on
//!   one keep-alive connection, as a server does (with `Date` and `Server` headers).
//! - `pipelined_16`: 16 such requests in one `receive`; `httparse` parses them one after
//!   another.
//! - `chunked_post`: a POST with three chunks and trailers; `httparse` parses the head,
//!   then each chunk-size line with `httparse::parse_chunk_size` and skips the data.
//! - `head_split`: a 16 KiB head fed whole and one byte at a time (plus an 8 KiB head fed
//!   one byte at a time): the cost must stay linear in the bytes received.
//!
//! Run with: `cargo bench -p h1-core` (or `cargo xtask bench core` for the ratio table).
//!
//! Instruction counts, which do not depend on the machine's load: with
//! `PARSE_LOOP=<group>/<function>:<iterations>` the binary runs that one case a fixed
//! number of times instead of criterion, so `valgrind --tool=callgrind` counts it (run
//! it twice with different iteration counts and divide the difference):
//!
//! ```text
//! cargo bench -p h1-core --bench parse --no-run
//! PARSE_LOOP=browser_get/engine:10000 valgrind --tool=callgrind target/release/deps/parse-*
//! ```
//!
//! Callgrind counts every byte a `rep movsb` copies as one instruction, and glibc's
//! `memcpy` uses one for copies of several KiB: the engine's `receive` of the 9 KiB
//! `pipelined_16` batch counts about 9000 instructions per batch (570 per request) that
//! take the CPU far fewer cycles.
//!
//! With `PARSE_MIN=<rounds>` it times short batches of each case, engine and httparse
//! alternating, and prints the fastest batch of each and their ratio: on a shared,
//! loaded machine the fastest batch is the one nothing preempted.

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use h1_core::{Config, Connection, Event, HttpDate, Next, ResponseHead};

const BROWSER_GET: &[u8] = b"GET /articles/2024/sans-io-http?utm_source=newsletter&page=2 HTTP/1.1\r\n\
Host: www.example.com\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
\r\n";

const CHUNKED_HEAD: &[u8] = b"POST /api/upload HTTP/1.1\r\n\
Host: api.example.com\r\n\
User-Agent: curl/8.5.0\r\n\
Accept: */*\r\n\
Content-Type: application/json\r\n\
Transfer-Encoding: chunked\r\n\
Trailer: X-Checksum\r\n\
\r\n";

const CHUNKS: [&str; 3] = [
    "{\"name\":\"sensor-7\",\"unit\":",
    "\"celsius\",\"values\":[21.5,21.7,2",
    "2.0,22.4,22.9,23.1]}\n",
];

/// The chunked POST: head, three chunks (one with an extension), trailers.
fn chunked_post_bytes() -> Vec<u8> {
    let mut bytes = CHUNKED_HEAD.to_vec();
    for (i, chunk) in CHUNKS.iter().enumerate() {
        let ext = if i == 1 { ";part=2" } else { "" };
        bytes.extend_from_slice(format!("{:x}{ext}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    bytes.extend_from_slice(
        b"0\r\nX-Checksum: sha256=4b3f9c\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n",
    );
    bytes
}

const BODY: &[u8] = b"Hello, World!";

fn config() -> Config {
    let mut config = Config::default();
    config.default_header("Server", "http-core-bench");
    config
}

fn connection() -> Connection {
    let mut conn = Connection::new(config());
    conn.set_date(&HttpDate::from_unix_secs(1_700_000_000));
    conn
}

fn response() -> ResponseHead {
    let mut head = ResponseHead::new(200);
    head.header("Content-Type", "text/plain; charset=utf-8")
        .content_length(Some(BODY.len() as u64));
    head
}

/// Drive `conn` over everything buffered, answering each request with `res`; returns how
/// many requests were answered.
fn serve(conn: &mut Connection, res: &ResponseHead, out: &mut Vec<u8>) -> usize {
    let mut answered = 0;
    loop {
        match conn.next_event().expect("valid request") {
            Next::Event(Event::Head(head)) => {
                black_box(head);
            }
            Next::Event(Event::Data(data)) => {
                black_box(data);
            }
            Next::Event(Event::Trailers(trailers)) => {
                black_box(trailers);
            }
            Next::Event(Event::End) => {}
            Next::Paused => {
                conn.send_head(res, out).expect("send_head");
                conn.send_data(BODY, out).expect("send_data");
                conn.send_end(None, out).expect("send_end");
                answered += 1;
            }
            Next::NeedData => return answered,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The requests in `bytes`, one after another, with bare httparse: returns how many.
fn httparse_all(bytes: &[u8]) -> usize {
    let mut at = 0;
    let mut n = 0;
    while at < bytes.len() {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&bytes[at..]) {
            Ok(httparse::Status::Complete(len)) => {
                black_box(&req);
                at += len;
                n += 1;
            }
            other => panic!("httparse: {other:?}"),
        }
    }
    n
}

/// Checks that one pass answers `expect` requests, so the timed loop measures real work.
fn check(bytes: &[u8], expect: usize) {
    let mut conn = connection();
    let mut out = Vec::new();
    conn.receive(bytes);
    assert_eq!(serve(&mut conn, &response(), &mut out), expect);
    assert!(conn.is_idle(), "bytes left over");
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
}

fn browser_get(c: &mut Criterion) {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    assert!(req.parse(BROWSER_GET).is_ok_and(|s| s.is_complete()));
    assert_eq!(req.headers.len(), 10);
    assert!(
        (450..=600).contains(&BROWSER_GET.len()),
        "{}",
        BROWSER_GET.len()
    );
    check(BROWSER_GET, 1);
    assert_eq!(httparse_all(BROWSER_GET), 1);
    let mut group = c.benchmark_group("browser_get");
    group.throughput(criterion::Throughput::Bytes(BROWSER_GET.len() as u64));
    group.bench_function("httparse", |b| {
        b.iter(|| httparse_all(black_box(BROWSER_GET)))
    });
    let (mut conn, res, mut out) = (connection(), response(), Vec::with_capacity(4096));
    group.bench_function("engine", |b| {
        b.iter(|| {
            out.clear();
            conn.receive(black_box(BROWSER_GET));
            serve(&mut conn, &res, &mut out)
        })
    });
    group.finish();
}

fn pipelined_16(c: &mut Criterion) {
    let batch: Vec<u8> = BROWSER_GET.repeat(16);
    check(&batch, 16);
    assert_eq!(httparse_all(&batch), 16);
    let mut group = c.benchmark_group("pipelined_16");
    group.throughput(criterion::Throughput::Bytes(batch.len() as u64));
    group.bench_function("httparse", |b| b.iter(|| httparse_all(black_box(&batch))));
    let (mut conn, res, mut out) = (connection(), response(), Vec::with_capacity(16 * 4096));
    group.bench_function("engine", |b| {
        b.iter(|| {
            out.clear();
            conn.receive(black_box(&batch));
            serve(&mut conn, &res, &mut out)
        })
    });
    group.finish();
}

/// The chunked POST with bare httparse: the head, then every chunk-size line.
fn httparse_chunked(bytes: &[u8]) -> usize {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(mut at) = req.parse(bytes).expect("head") else {
        panic!("partial head");
    };
    black_box(&req);
    let mut total = 0;
    loop {
        let httparse::Status::Complete((used, size)) =
            httparse::parse_chunk_size(&bytes[at..]).expect("chunk line")
        else {
            panic!("partial chunk line");
        };
        at += used;
        if size == 0 {
            break;
        }
        at += size as usize + 2;
        total += size as usize;
    }
    // The trailer section has the same syntax as a header section.
    let mut trailers = [httparse::EMPTY_HEADER; 8];
    let parsed = httparse::parse_headers(&bytes[at..], &mut trailers).expect("trailers");
    black_box(parsed);
    total
}

fn chunked_post(c: &mut Criterion) {
    let post = chunked_post_bytes();
    check(&post, 1);
    let body: usize = CHUNKS.iter().map(|c| c.len()).sum();
    assert_eq!(httparse_chunked(&post), body);
    let mut group = c.benchmark_group("chunked_post");
    group.throughput(criterion::Throughput::Bytes(post.len() as u64));
    group.bench_function("httparse", |b| {
        b.iter(|| httparse_chunked(black_box(&post)))
    });
    let (mut conn, res, mut out) = (connection(), response(), Vec::with_capacity(4096));
    group.bench_function("engine", |b| {
        b.iter(|| {
            out.clear();
            conn.receive(black_box(&post));
            serve(&mut conn, &res, &mut out)
        })
    });
    group.finish();
}

/// A request head of about `size` bytes: 16 cookie-like headers of equal length.
fn big_head(size: usize) -> Vec<u8> {
    let mut head = b"GET /big HTTP/1.1\r\nHost: www.example.com\r\n".to_vec();
    let per = (size - head.len() - 2) / 16;
    for i in 0..16 {
        let name = format!("X-Filler-{i:02}: ");
        let fill = per - name.len() - 2;
        head.extend_from_slice(name.as_bytes());
        head.extend((0..fill).map(|j| b'a' + (j % 26) as u8));
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

fn feed_bytewise(conn: &mut Connection, res: &ResponseHead, out: &mut Vec<u8>, head: &[u8]) {
    for byte in head.chunks(1) {
        conn.receive(byte);
        if serve(conn, res, out) == 1 {
            return;
        }
    }
    panic!("head not complete");
}

fn head_split(c: &mut Criterion) {
    let head16 = big_head(16 * 1024);
    let head8 = big_head(8 * 1024);
    assert!(head16.len() <= 16 * 1024 && head16.len() > 16 * 1024 - 64);
    check(&head16, 1);
    assert_eq!(httparse_all(&head16), 1);
    let mut group = c.benchmark_group("head_split");
    group.throughput(criterion::Throughput::Bytes(head16.len() as u64));
    group.bench_function("httparse_16k", |b| {
        b.iter(|| httparse_all(black_box(&head16)))
    });
    let (mut conn, res, mut out) = (connection(), response(), Vec::with_capacity(4096));
    group.bench_function("whole_16k", |b| {
        b.iter(|| {
            out.clear();
            conn.receive(black_box(&head16));
            serve(&mut conn, &res, &mut out)
        })
    });
    group.bench_function("one_byte_16k", |b| {
        b.iter(|| {
            out.clear();
            feed_bytewise(&mut conn, &res, &mut out, black_box(&head16));
        })
    });
    group.bench_function("one_byte_8k", |b| {
        b.iter(|| {
            out.clear();
            feed_bytewise(&mut conn, &res, &mut out, black_box(&head8));
        })
    });
    group.finish();
}

fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args()
}

/// Run one case `iters` times (see the module docs): `case` is `group/function`. Returns
/// the time the loop took, after one untimed pass to warm up.
fn run_loop(case: &str, iters: u64) -> Duration {
    let batch: Vec<u8> = BROWSER_GET.repeat(16);
    let post = chunked_post_bytes();
    let head16 = big_head(16 * 1024);
    let (mut conn, res, mut out) = (connection(), response(), Vec::with_capacity(16 * 4096));
    let (bytes, engine) = match case {
        "head_split/httparse_16k" => (&head16[..], false),
        "head_split/whole_16k" => (&head16[..], true),
        "browser_get/httparse" => (BROWSER_GET, false),
        "browser_get/engine" => (BROWSER_GET, true),
        "pipelined_16/httparse" => (&batch[..], false),
        "pipelined_16/engine" => (&batch[..], true),
        "chunked_post/httparse" => (&post[..], false),
        "chunked_post/engine" => (&post[..], true),
        other => panic!("PARSE_LOOP: unknown case {other}"),
    };
    let chunked = case.starts_with("chunked_post");
    let mut one = || match (engine, chunked) {
        (true, _) => {
            out.clear();
            conn.receive(black_box(bytes));
            serve(&mut conn, &res, &mut out)
        }
        (false, false) => httparse_all(black_box(bytes)),
        (false, true) => httparse_chunked(black_box(bytes)),
    };
    let mut answered = one();
    let start = std::time::Instant::now();
    for _ in 0..iters {
        answered += one();
    }
    let took = start.elapsed();
    black_box(answered);
    took
}

/// The fastest of many short batches of engine and httparse, alternating, for each case
/// (see the module docs): on a loaded machine the minimum is the run nothing preempted.
fn min_of_batches(rounds: u32) {
    const BATCH: u64 = 500;
    println!("case                     httparse     engine   ratio  (fastest of {rounds} batches)");
    for (case, label) in [
        ("browser_get", "browser GET"),
        ("pipelined_16", "16 pipelined GETs"),
        ("chunked_post", "chunked POST"),
    ] {
        let mut best = [f64::MAX; 2];
        for _ in 0..rounds {
            for (i, side) in ["httparse", "engine"].into_iter().enumerate() {
                let took = run_loop(&format!("{case}/{side}"), BATCH);
                let ns = took.as_nanos() as f64 / BATCH as f64;
                best[i] = best[i].min(ns);
            }
        }
        println!(
            "{label:<22} {:>8.0} ns {:>7.0} ns  {:>5.2}x",
            best[0],
            best[1],
            best[1] / best[0]
        );
    }
}

fn main() {
    if let Ok(rounds) = std::env::var("PARSE_MIN") {
        min_of_batches(rounds.parse().expect("PARSE_MIN=<rounds>"));
        return;
    }
    if let Ok(spec) = std::env::var("PARSE_LOOP") {
        let (case, iters) = spec
            .split_once(':')
            .expect("PARSE_LOOP=<case>:<iterations>");
        let _ = run_loop(case, iters.parse().expect("iterations"));
        return;
    }
    // What `criterion_group!`/`criterion_main!` expand to, minus an undocumented `pub fn`.
    let mut c = criterion();
    browser_get(&mut c);
    pipelined_16(&mut c);
    chunked_post(&mut c);
    head_split(&mut c);
    c.final_summary();
}
