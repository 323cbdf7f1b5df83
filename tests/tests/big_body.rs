//! A 1 GiB request body streamed through the server and echoed back, while the process's
//! memory stays flat. Alone in its binary so no other test's allocations blur the RSS.

use std::io::{Read, Write};
use std::time::Instant;

use h1_server::{Request, Response};
use integration_tests::{Client, TestServer, in_thread};

const GIB: u64 = 1 << 30;
/// The client writes and reads in pieces of this size (a multiple of the pattern's
/// period, so every piece written is the same).
const PIECE: usize = 251 * 1024;
/// How much the resident set may grow while 1 GiB flows through.
const MAX_GROWTH_KIB: u64 = 64 * 1024;

/// A `kB` field of `/proc/self/status` (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// The body repeats `0, 1, ..., 250`: a pattern that catches reordering and loss. Returns
/// `len` bytes of it from phase 0.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn a_1_gib_streamed_body_is_echoed_with_flat_memory() {
    // Echo: the request body is the response body, streamed with its Content-Length.
    let server = TestServer::start(
        |_| {},
        |req: Request| async move { Response::stream(200, req.into_body()) },
    );
    let mut c = server.connect();
    // Warm up (allocator arenas, thread stacks, buffers) before measuring.
    c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nwarm!");
    assert_eq!(c.read_response().text(), "warm!");
    let rss_before = status_kib("VmRSS");
    let t0 = Instant::now();

    c.send(format!(
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {GIB}\r\n\r\n"
    ));
    let mut writer = c.stream().try_clone().unwrap();
    let written = in_thread(move || {
        let piece = pattern(PIECE);
        let mut offset = 0u64;
        while offset < GIB {
            let n = PIECE.min((GIB - offset) as usize);
            writer.write_all(&piece[..n]).expect("write the body");
            offset += n as u64;
        }
        offset
    });

    // Read the echo concurrently: the head, then exactly 1 GiB.
    let mut reader = c.stream().try_clone().unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(reader.read(&mut byte).expect("read the head"), 1);
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-length: {GIB}\r\n")),
        "{head}"
    );
    let expected = pattern(PIECE + 251);
    let mut buf = vec![0u8; PIECE];
    let mut received = 0u64;
    let mut peak_rss = rss_before;
    while received < GIB {
        let n = reader.read(&mut buf).expect("read the echo");
        assert!(n > 0, "closed after {received} bytes");
        let phase = (received % 251) as usize;
        assert!(
            buf[..n] == expected[phase..phase + n],
            "bytes {received}..{} differ",
            received + n as u64
        );
        received += n as u64;
        if received % (64 << 20) < n as u64 {
            peak_rss = peak_rss.max(status_kib("VmRSS"));
        }
    }
    assert_eq!(written.recv().unwrap(), GIB);
    let elapsed = t0.elapsed();
    let rss_after = status_kib("VmRSS");
    peak_rss = peak_rss.max(rss_after);
    eprintln!(
        "1 GiB echoed in {elapsed:?} ({:.0} MiB/s); RSS {rss_before} kB before, \
         {peak_rss} kB peak, {rss_after} kB after",
        1024.0 / elapsed.as_secs_f64()
    );
    assert!(
        peak_rss.saturating_sub(rss_before) < MAX_GROWTH_KIB,
        "RSS grew from {rss_before} kB to {peak_rss} kB"
    );

    // The connection is still good for another request.
    let mut c = Client::from_stream(reader);
    c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nend");
    assert_eq!(c.read_response().text(), "end");
}
