//! A 1 GiB upload over loopback (issue 6): streamed by the client from one reused
//! buffer, saved by the in-process server to a temporary file, with this process's
//! resident memory growing by less than 64 MiB. Alone in its test binary so no other
//! test's memory counts.
#![cfg(feature = "smol")]

mod upload_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use h1_server::multipart::UploadOptions;
use integration_tests::Client;
use integration_tests::fixtures::TempDir;
use upload_common::Upload;

/// This process's resident set, in KiB, from /proc/self/status.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn one_gib_upload_in_bounded_memory() {
    if rss_kib().is_none() {
        integration_tests::skip("one_gib_upload_in_bounded_memory", "no /proc/self/status");
        return;
    }
    const SIZE: u64 = 1 << 30;
    const B: &str = "large-upload-boundary";
    let tmp = TempDir::new("large");
    let dir = tmp.path().to_path_buf();
    let server = Upload::start(move || UploadOptions::new(&dir), false);

    let baseline = rss_kib().unwrap();
    let peak = Arc::new(AtomicU64::new(baseline));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(now) = rss_kib() {
                    peak.fetch_max(now, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };

    let start = Instant::now();
    let head = format!(
        "--{B}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nbig one\r\n\
         --{B}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"big.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{B}--\r\n");
    let length = head.len() as u64 + SIZE + tail.len() as u64;
    let mut s = Client::connect(server.addr());
    s.send(format!(
        "POST /save HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary={B}\r\nContent-Length: {length}\r\n\r\n{head}"
    ));
    // Content with CRLFs and dashes so the delimiter search has work to do.
    let mut chunk = vec![b'x'; 1 << 20];
    for (i, b) in chunk.iter_mut().enumerate() {
        *b = match i % 1000 {
            0 => b'\r',
            1 => b'\n',
            2 | 3 => b'-',
            _ => b'a' + (i % 26) as u8,
        };
    }
    for _ in 0..SIZE / chunk.len() as u64 {
        s.send(&chunk);
    }
    s.send(tail.as_bytes());
    let response = s.read_response();
    let (status, text) = (response.status, response.text());
    let elapsed = start.elapsed();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();

    assert_eq!(status, 200, "{text}");
    assert!(
        text.starts_with(&format!("file f big.bin {SIZE} ")),
        "{text}"
    );
    assert!(text.contains("field title=big one"), "{text}");
    let growth_mib = (peak.load(Ordering::Relaxed) - baseline) as f64 / 1024.0;
    eprintln!(
        "1 GiB upload: {:.2} s ({:.0} MB/s), resident memory growth {growth_mib:.1} MiB",
        elapsed.as_secs_f64(),
        SIZE as f64 / 1e6 / elapsed.as_secs_f64()
    );
    assert!(
        growth_mib < 64.0,
        "resident memory grew by {growth_mib:.1} MiB"
    );
    let events = server.events();
    assert_eq!(
        events.last().map(String::as_str),
        Some(&*format!("finished 1 {SIZE}"))
    );
    // The response is out and the Uploads value dropped: the 1 GiB file is gone.
    TempDir::wait_empty(tmp.path());
}
