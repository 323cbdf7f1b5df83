//! A push-stream server for `cargo xtask bench stream`: every request gets a chunked `200`
//! fed by a producer task, everything on one thread (a `ThreadPool` with no background
//! threads; the bench pins the process to one core).
//!
//! Run with: `cargo run --release -p h1-stream --example stream_server -- 127.0.0.1:8080`
//! (the first argument is the listen address), then for example
//! `curl -s 'http://127.0.0.1:8080/?mode=batch&batch=64&secs=1' | wc -c`.
//!
//! The query string says what the producer does (the same protocol as the hyper peer in
//! `xtask/peers/hyper-stream`):
//!
//! - `mode=send`: `send` in the default (flushing) mode: each chunk is released to the
//!   connection at once, which writes whatever is ready whenever it can;
//! - `mode=await`: `send` + `flush().await` per chunk: one socket write per chunk;
//! - `mode=batch&batch=N`: `dont_flush` mode, `flush().await` every N chunks (N = 0: never;
//!   only the high-water mark releases chunks);
//! - `secs=S&size=B`: those three send B-byte chunks for S seconds, then close;
//! - `mode=paced&count=C&interval_us=U&size=B`: C flushing sends, one every U
//!   microseconds, each chunk starting with its send time (u64 little-endian nanoseconds
//!   since the Unix epoch), so the client can tell the latency from `send` to its read;
//! - `capacity=BYTES`, `high_water=BYTES`: the stream's [`Config`] (defaults 64 KiB, 16 KiB).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_io::Timer;
use bytes::Bytes;
use h1_server::{Request, Server, Spawner, ThreadPool};
use h1_stream::{Config, Sender};

/// What the producer of one stream does, from the query string.
#[derive(Debug, Clone)]
struct Params {
    mode: String,
    secs: f64,
    size: usize,
    batch: usize,
    count: usize,
    interval_us: u64,
    capacity: u64,
    high_water: u64,
}

impl Params {
    fn parse(req: &Request) -> Self {
        let mut p = Self {
            mode: "send".into(),
            secs: 2.0,
            size: 64,
            batch: 64,
            count: 1000,
            interval_us: 1000,
            capacity: 64 * 1024,
            high_water: 16 * 1024,
        };
        for kv in req.query().unwrap_or("").split('&') {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            match k {
                "mode" => p.mode = v.to_string(),
                "secs" => p.secs = v.parse().unwrap_or(p.secs),
                "size" => p.size = v.parse().unwrap_or(p.size),
                "batch" => p.batch = v.parse().unwrap_or(p.batch),
                "count" => p.count = v.parse().unwrap_or(p.count),
                "interval_us" => p.interval_us = v.parse().unwrap_or(p.interval_us),
                "capacity" => p.capacity = v.parse().unwrap_or(p.capacity),
                "high_water" => p.high_water = v.parse().unwrap_or(p.high_water),
                _ => {}
            }
        }
        p.size = p.size.max(8);
        p
    }
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Push chunks as `p` says, then close. Returns early when the client goes away.
async fn produce(p: Params, tx: Sender) {
    let until = Instant::now() + Duration::from_secs_f64(p.secs);
    let chunk = Bytes::from(vec![b'x'; p.size]);
    match p.mode.as_str() {
        "paced" => {
            let mut buf = vec![b'x'; p.size];
            for _ in 0..p.count {
                Timer::after(Duration::from_micros(p.interval_us)).await;
                buf[..8].copy_from_slice(&now_nanos().to_le_bytes());
                if tx.send(Bytes::copy_from_slice(&buf)).await.is_err() {
                    return;
                }
            }
        }
        "await" => loop {
            for _ in 0..256 {
                if tx.send(chunk.clone()).await.is_err() || tx.flush().await.is_err() {
                    return;
                }
            }
            if Instant::now() >= until {
                break;
            }
        },
        "batch" => {
            let mut n = 0usize;
            loop {
                for _ in 0..256 {
                    if tx.send(chunk.clone()).await.is_err() {
                        return;
                    }
                    n += 1;
                    if p.batch > 0 && n % p.batch == 0 && tx.flush().await.is_err() {
                        return;
                    }
                }
                if Instant::now() >= until {
                    break;
                }
            }
        }
        _ => loop {
            for _ in 0..256 {
                if tx.send(chunk.clone()).await.is_err() {
                    return;
                }
            }
            if Instant::now() >= until {
                break;
            }
        },
    }
    let _ = tx.close();
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let pool = ThreadPool::new(0);
    pool.block_on(async {
        let mut server = Server::bind(addr.as_str()).await?;
        server.spawner(pool.clone());
        server.config_mut().access_log(false);
        let spawner = pool.clone();
        let handle = server.serve(move |req: Request| {
            let p = Params::parse(&req);
            let mut config = Config::new();
            config
                .capacity(p.capacity)
                .high_water(p.high_water)
                .dont_flush(p.mode == "batch");
            let (tx, response) = h1_stream::response(200, config);
            spawner.spawn(Box::pin(produce(p, tx)));
            async move { response.header("Content-Type", "application/octet-stream") }
        });
        println!("stream_server listening on http://{}", handle.local_addr());
        std::future::pending::<std::io::Result<()>>().await
    })
}
