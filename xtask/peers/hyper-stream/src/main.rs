//! hyper 1.x streaming server: the peer `cargo xtask bench stream` compares against.
//!
//! Usage: `hyper-stream ADDR`
//!
//! Every request gets a chunked `200` whose body is an `http_body_util::StreamBody` over a
//! bounded `tokio::sync::mpsc` channel, one `Frame::data` per chunk, fed by a task of its
//! own on the same single-threaded tokio runtime (the bench pins the server to one core).
//! The query string says what the producer does (the same protocol as h1-stream's
//! `stream_server` example):
//!
//! - `mode=send&secs=S&size=N`: send N-byte chunks as fast as the channel takes them for
//!   S seconds, then end the body;
//! - `mode=paced&count=C&interval_us=U&size=N`: C chunks, one every U microseconds, each
//!   starting with the send time (u64 little-endian nanoseconds since the Unix epoch), so
//!   the client can tell the latency from send to its read.
//!
//! The channel holds `capacity` chunks (query `capacity`, default 1024: 64 KiB of 64-byte
//! chunks, the queue bound of h1-stream's default config).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::StreamBody;
use hyper::body::Frame;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

type Item = Result<Frame<Bytes>, Infallible>;

/// A `Stream` over the channel's receiver (what `tokio_stream::wrappers::ReceiverStream`
/// does), for `StreamBody`.
struct Chunks(mpsc::Receiver<Item>);

impl futures_core::Stream for Chunks {
    type Item = Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        self.0.poll_recv(cx)
    }
}

#[derive(Debug)]
struct Params {
    mode: String,
    secs: f64,
    size: usize,
    count: usize,
    interval_us: u64,
    capacity: usize,
}

fn params(query: Option<&str>) -> Params {
    let mut p = Params {
        mode: "send".into(),
        secs: 2.0,
        size: 64,
        count: 1000,
        interval_us: 1000,
        capacity: 1024,
    };
    for kv in query.unwrap_or("").split('&') {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "mode" => p.mode = v.to_string(),
            "secs" => p.secs = v.parse().unwrap_or(p.secs),
            "size" => p.size = v.parse().unwrap_or(p.size),
            "count" => p.count = v.parse().unwrap_or(p.count),
            "interval_us" => p.interval_us = v.parse().unwrap_or(p.interval_us),
            "capacity" => p.capacity = v.parse().unwrap_or(p.capacity),
            _ => {}
        }
    }
    p.size = p.size.max(8);
    p.capacity = p.capacity.max(1);
    p
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

async fn produce(p: Params, tx: mpsc::Sender<Item>) {
    match p.mode.as_str() {
        "paced" => {
            let mut chunk = vec![b'x'; p.size];
            for _ in 0..p.count {
                tokio::time::sleep(Duration::from_micros(p.interval_us)).await;
                chunk[..8].copy_from_slice(&now_nanos().to_le_bytes());
                let data = Bytes::copy_from_slice(&chunk);
                if tx.send(Ok(Frame::data(data))).await.is_err() {
                    return;
                }
            }
        }
        _ => {
            let chunk = Bytes::from(vec![b'x'; p.size]);
            let until = Instant::now() + Duration::from_secs_f64(p.secs);
            loop {
                for _ in 0..256 {
                    if tx.send(Ok(Frame::data(chunk.clone()))).await.is_err() {
                        return;
                    }
                }
                if Instant::now() >= until {
                    return;
                }
            }
        }
    }
    // Dropping `tx` ends the body: hyper writes the terminal chunk.
}

async fn handle(
    req: Request<hyper::body::Incoming>,
) -> Result<Response<StreamBody<Chunks>>, Infallible> {
    let p = params(req.uri().query());
    let (tx, rx) = mpsc::channel(p.capacity);
    tokio::spawn(produce(p, tx));
    let mut resp = Response::new(StreamBody::new(Chunks(rx)));
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/octet-stream"),
    );
    Ok(resp)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = match args.next() {
        Some(a) => a.parse().unwrap_or_else(|e| {
            eprintln!("bad listen address {a:?}: {e}");
            std::process::exit(2);
        }),
        None => SocketAddr::from(([127, 0, 0, 1], 8080)),
    };
    if let Some(extra) = args.next() {
        eprintln!("unexpected argument {extra:?}\nusage: hyper-stream ADDR");
        std::process::exit(2);
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let listener = TcpListener::bind(addr).await.expect("bind");
        println!(
            "hyper-stream listening on http://{}",
            listener.local_addr().expect("local_addr")
        );
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("accept: {e}");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            tokio::task::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(handle))
                    .await;
            });
        }
    });
}
