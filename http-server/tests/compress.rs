//! `compress::Compress` over loopback: curl `--compressed` on a 10 MB body in every
//! coding, a gzip-compressed Server-Sent Events stream whose events arrive when sent
//! (decoded incrementally here); and negotiation outcomes on the wire, on the connection
//! kit (no socket).
#![cfg(all(feature = "compression", feature = "smol"))]

use std::io::Write;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::future::block_on;
use h1_server::compress::Compress;
use h1_server::testing::TestConnection;
use h1_server::{Handler, Request, Response, ServerConfig};
use integration_tests::{Client, TestServer};

const WAIT: Duration = Duration::from_secs(20);

/// 10 MB of text, compressible but not trivially (a counter and pseudo-random words).
fn big_body() -> &'static [u8] {
    static BODY: OnceLock<Vec<u8>> = OnceLock::new();
    BODY.get_or_init(|| {
        let words = [
            "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
        ];
        let mut x: u32 = 2463534242;
        let mut out = Vec::with_capacity(10 << 20);
        let mut i = 0u64;
        while out.len() < 10 << 20 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let w = words[(x % 8) as usize];
            out.extend_from_slice(format!("{i:08} {w} {:x}\n", x >> 20).as_bytes());
            i += 1;
        }
        out.truncate(10 << 20);
        out
    })
}

fn serve(handler: impl Handler) -> (TestServer, SocketAddr) {
    let server = TestServer::start(|_| {}, handler);
    let addr = server.addr;
    (server, addr)
}

/// curl `url` with `--compressed` and `accept` as `Accept-Encoding`: the headers, the
/// decoded body, the bytes on the wire and the time taken.
fn curl(url: &str, accept: Option<&str>) -> (String, Vec<u8>, u64, Duration) {
    let dir = std::env::temp_dir();
    let id = format!("{}-{}", std::process::id(), accept.unwrap_or("none"));
    let (head, body) = (
        dir.join(format!("cz-{id}.head")),
        dir.join(format!("cz-{id}.body")),
    );
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "60", "-w", "%{size_download}", "-D"])
        .arg(&head)
        .arg("-o")
        .arg(&body);
    if let Some(accept) = accept {
        cmd.args(["--compressed", "-H", &format!("Accept-Encoding: {accept}")]);
    }
    let started = Instant::now();
    let out = cmd.arg(url).output().expect("run curl");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wire: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let headers = std::fs::read_to_string(&head).unwrap().to_ascii_lowercase();
    let decoded = std::fs::read(&body).unwrap();
    let _ = (std::fs::remove_file(head), std::fs::remove_file(body));
    (headers, decoded, wire, took)
}

#[test]
fn curl_compressed_10_mb_body_matches_in_every_coding() {
    if !integration_tests::has_tool("curl", "curl_compressed_10_mb_body_matches_in_every_coding") {
        return;
    }
    let app = |_req: Request| async {
        Response::bytes(200, big_body()).header("Content-Type", "text/plain")
    };
    let (_handle, addr) = serve(Compress::new(app));
    let url = format!("http://{addr}/big");
    let (headers, body, wire, took) = curl(&url, None);
    assert!(!headers.contains("content-encoding"), "{headers}");
    assert!(headers.contains("vary: accept-encoding"), "{headers}");
    assert!(body == big_body(), "identity body differs");
    println!("identity: {wire} bytes in {took:?}");
    for coding in ["gzip", "deflate", "br", "zstd"] {
        let (headers, body, wire, took) = curl(&url, Some(coding));
        assert!(
            headers.contains(&format!("content-encoding: {coding}")),
            "{headers}"
        );
        assert!(headers.contains("transfer-encoding: chunked"), "{headers}");
        assert_eq!(body.len(), big_body().len(), "{coding}");
        assert!(body == big_body(), "{coding}: decoded body differs");
        assert!(
            wire < big_body().len() as u64 / 2,
            "{coding}: {wire} bytes on the wire"
        );
        println!("{coding}: {wire} bytes in {took:?}");
    }
}

#[test]
fn gzip_sse_stream_delivers_each_event_when_sent() {
    const EVENTS: usize = 8;
    let epoch = Arc::new(Instant::now());
    let server_epoch = epoch.clone();
    let app = move |_req: Request| {
        let epoch = server_epoch.clone();
        async move {
            let mut options = h1_stream::sse::Options::new();
            options.keep_alive(None);
            let (tx, response) = options.response();
            smol::spawn(async move {
                for i in 0..EVENTS {
                    Timer::after(Duration::from_millis(100)).await;
                    // The send time, in microseconds since the test's epoch.
                    let sent = epoch.elapsed().as_micros();
                    let event = h1_stream::sse::Event::new().data(format!("{i} {sent}"));
                    if tx.send(&event).await.is_err() {
                        return;
                    }
                }
                let _ = tx.close();
            })
            .detach();
            response
        }
    };
    let (_handle, addr) = serve(Compress::new(app));
    let mut reader = Client::connect(addr);
    reader.send(b"GET /events HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
    let head = reader.head().to_ascii_lowercase();
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    let mut decoder = flate2::write::GzDecoder::new(Vec::new());
    let mut decoded_upto = 0;
    let mut seen = 0;
    let mut worst = Duration::ZERO;
    while let Some(data) = reader.chunk(WAIT).expect("a chunk in time") {
        decoder.write_all(&data).unwrap();
        decoder.flush().unwrap();
        let now = epoch.elapsed();
        let text = String::from_utf8_lossy(&decoder.get_ref()[decoded_upto..]).to_string();
        // Complete events only.
        let Some(last) = text.rfind("\n\n") else {
            continue;
        };
        decoded_upto += last + 2;
        for event in text[..last].split("\n\n") {
            let payload = event.strip_prefix("data: ").expect("a data line");
            let (i, sent) = payload.split_once(' ').unwrap();
            assert_eq!(i.parse::<usize>().unwrap(), seen);
            let sent = Duration::from_micros(sent.parse().unwrap());
            let delay = now.saturating_sub(sent);
            worst = worst.max(delay);
            assert!(
                delay < Duration::from_millis(50),
                "event {i} arrived {delay:?} after it was sent"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, EVENTS);
    let all = decoder.finish().unwrap();
    assert_eq!(all.len(), decoded_upto, "bytes after the last event");
    println!("{EVENTS} gzip events, worst delay {worst:?}");
}

#[test]
fn negotiation_on_the_wire() {
    let app = |req: Request| async move {
        match req.path() {
            "/png" => Response::bytes(200, vec![0u8; 4096]).header("Content-Type", "image/png"),
            "/small" => Response::text(200, "tiny"),
            _ => Response::text(200, "x".repeat(4096)),
        }
    };
    let app = Compress::new(app);
    // One request on a new kit connection; the response head (lowercase).
    let raw_head = |request: &str, head_request: bool| {
        let mut c = TestConnection::new(app.clone(), ServerConfig::new());
        let r = block_on(async {
            c.send(request).await;
            if head_request {
                c.read_head_response().await
            } else {
                c.read_response().await
            }
        });
        r.head.to_ascii_lowercase()
    };
    let get = |path: &str, accept: &str| {
        raw_head(
            &format!(
                "GET {path} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: {accept}\r\nConnection: close\r\n\r\n"
            ),
            false,
        )
    };
    let head = get("/", "gzip;q=0.5, br;q=0.9");
    assert!(head.contains("content-encoding: br"), "{head}");
    assert!(head.contains("vary: accept-encoding"), "{head}");
    let head = get("/", "identity;q=0, compress");
    assert!(head.starts_with("http/1.1 406"), "{head}");
    let head = get("/png", "gzip");
    assert!(!head.contains("content-encoding"), "{head}");
    let head = get("/small", "gzip");
    assert!(
        !head.contains("content-encoding") && head.contains("content-length: 4"),
        "{head}"
    );
    let head = raw_head(
        "HEAD / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
        true,
    );
    assert!(
        !head.contains("content-encoding") && head.contains("content-length: 4096"),
        "{head}"
    );
}
