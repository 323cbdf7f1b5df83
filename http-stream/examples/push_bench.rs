//! Push-stream throughput and latency over loopback: chunks per second through one stream
//! flushing every chunk (without and with awaiting each write) and with `dont_flush`
//! batching, and the time from `send` to the
//! client's read. A hook for `cargo xtask bench`; prints one `name value unit` per line.
//!
//! Run with: `cargo run --release -p h1-stream --example push_bench [chunks] [chunk_bytes]`

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use futures_lite::future::block_on;
use h1_server::{Request, Server, ThreadPool};
use h1_stream::{Config, Sender};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let chunks: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let size: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);

    let (tx, rx) = mpsc::channel::<Sender>();
    let tx = Arc::new(Mutex::new(tx));
    let mut server = block_on(Server::bind("127.0.0.1:0"))?;
    server.spawner(ThreadPool::new(1));
    server.config_mut().access_log(false);
    let handle = server.serve(move |req: Request| {
        let mut config = Config::new();
        config
            .dont_flush(req.path() == "/batched")
            .capacity(256 * 1024);
        let (sender, response) = h1_stream::response(200, config);
        let _ = tx.lock().unwrap().send(sender);
        async move { response }
    });
    let addr = handle.local_addr();
    let chunk = bytes::Bytes::from(vec![b'x'; size]);

    // flushed: `send` per chunk (written as soon as the connection can: chunks that pile
    // up during a write go out together); awaited: `send` + `flush().await` per chunk (one
    // socket write per chunk); batched: `dont_flush`, written at the high-water mark.
    for path in ["/flushed", "/awaited", "/batched"] {
        let mut client = TcpStream::connect(addr)?;
        client.set_nodelay(true)?;
        client.set_read_timeout(Some(Duration::from_secs(30)))?;
        client.write_all(format!("GET {path} HTTP/1.1\r\nHost: b\r\n\r\n").as_bytes())?;
        let sender = rx.recv_timeout(Duration::from_secs(10)).expect("stream");
        let reader = std::thread::spawn(move || drain_until_end(client));
        let t0 = Instant::now();
        block_on(async {
            for _ in 0..chunks {
                sender.send(chunk.clone()).await.expect("send");
                if path == "/awaited" {
                    sender.flush().await.expect("flush");
                }
            }
            sender.close().expect("close");
        });
        let bytes = reader.join().expect("reader");
        let secs = t0.elapsed().as_secs_f64();
        let name = path.trim_start_matches('/');
        println!(
            "stream_{name}_chunks_per_sec {:.0} chunks/s",
            chunks as f64 / secs
        );
        println!("stream_{name}_wire_bytes {bytes} B");
    }

    // Latency: one chunk at a time, send to the client's read.
    let mut client = TcpStream::connect(addr)?;
    client.set_nodelay(true)?;
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    client.write_all(b"GET /flushed HTTP/1.1\r\nHost: b\r\n\r\n")?;
    let sender = rx.recv_timeout(Duration::from_secs(10)).expect("stream");
    let mut buf = vec![0u8; 64 * 1024];
    let _ = client.read(&mut buf)?; // the head
    let mut samples = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let t0 = Instant::now();
        block_on(sender.send(chunk.clone())).expect("send");
        // One chunk on the wire: hex size, CRLF, data, CRLF.
        let wire = format!("{size:x}").len() + 4 + size;
        let mut got = 0;
        while got < wire {
            let n = client.read(&mut buf)?;
            assert!(n > 0, "connection closed");
            got += n;
        }
        samples.push(t0.elapsed());
    }
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "stream_send_to_read_p50 {:.1} us",
        us(samples[samples.len() / 2])
    );
    println!(
        "stream_send_to_read_p99 {:.1} us",
        us(samples[samples.len() * 99 / 100])
    );
    Ok(())
}

/// Read a chunked body to its terminal chunk; the bytes read.
fn drain_until_end(mut client: TcpStream) -> usize {
    let mut buf = vec![0u8; 256 * 1024];
    let mut tail = Vec::new();
    let mut total = 0;
    loop {
        let n = client.read(&mut buf).expect("read");
        assert!(n > 0, "connection closed before the end");
        total += n;
        tail.extend_from_slice(&buf[..n]);
        if tail.ends_with(b"\r\n0\r\n\r\n") {
            return total;
        }
        let keep = tail.len().saturating_sub(8);
        tail.drain(..keep);
    }
}
