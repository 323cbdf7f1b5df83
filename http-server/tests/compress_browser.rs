//! Chromium's `EventSource` on a compressed event stream: headless Chromium loads a page
//! whose `EventSource` writes each event into the DOM and closes on the last one; the
//! stream goes through `compress::Compress` (Chromium accepts gzip, deflate, br and zstd),
//! one event every 200 ms. The test reads the DOM Chromium dumps.
//!
//! Needs `/usr/bin/chromium` (Debian's `chromium`, which `.ci/run` installs; `CHROMIUM`
//! names another binary); without it the test says SKIPPED and passes (fails under
//! `CI=true`: `integration_tests::chromium`). The browser runs
//! with a fresh profile, bounded by a timeout, and is killed on every path.
#![cfg(all(feature = "compression", feature = "smol"))]

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_io::Timer;
use h1_server::compress::{Coding, Compress, Compression};
use h1_server::{Handler, Request, Response, Server, ThreadPool};
use h1_stream::sse::{Event, Options};

const EVENTS: usize = 5;

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>compressed SSE</title></head>
<body><p id="status">connecting</p><ul id="log"></ul>
<script>
  const log = document.getElementById("log");
  const es = new EventSource("/events");
  es.addEventListener("tick", (e) => {
    const li = document.createElement("li");
    li.textContent = "tick|" + e.data;
    log.append(li);
  });
  es.addEventListener("done", () => {
    es.close();
    document.getElementById("status").textContent = "done after " + log.children.length;
  });
</script></body></html>
"#;

async fn app(req: Request) -> Response {
    if req.path() != "/events" {
        return Response::html(200, PAGE);
    }
    let mut options = Options::new();
    options.keep_alive(None);
    let (tx, response) = options.response();
    smol::spawn(async move {
        for i in 0..EVENTS {
            Timer::after(Duration::from_millis(200)).await;
            if tx
                .send(&Event::new().event("tick").data(i.to_string()))
                .await
                .is_err()
            {
                return;
            }
        }
        let _ = tx.send(&Event::new().event("done").data("bye")).await;
        let _ = tx.close();
    })
    .detach();
    response
}

#[test]
fn chromium_event_source_reads_a_zstd_stream() {
    chromium_reads_events(Compression::new(), "zstd");
}

#[test]
fn chromium_event_source_reads_a_gzip_stream() {
    let mut policy = Compression::new();
    policy.codings(&[Coding::Gzip]);
    chromium_reads_events(policy, "gzip");
}

/// Chromium reads every event of the stream, compressed with `expected`.
fn chromium_reads_events(policy: Compression, expected: &str) {
    let test = format!("chromium_event_source_reads_a_{expected}_stream");
    let Some(chromium) = integration_tests::chromium(&test) else {
        return;
    };
    let compress = Arc::new(Compress::with_policy(app, policy));
    let codings = Arc::new(Mutex::new(Vec::new()));
    let seen = codings.clone();
    let recorder = move |req: Request| {
        let (compress, seen) = (compress.clone(), seen.clone());
        async move {
            let events = req.path() == "/events";
            let response = compress.call(req).await;
            if events {
                let coding = response
                    .headers()
                    .get_str("content-encoding")
                    .unwrap_or("none");
                seen.lock().unwrap().push(coding.to_owned());
            }
            response
        }
    };
    let mut server = futures_lite::future::block_on(Server::bind("127.0.0.1:0")).unwrap();
    server.spawner(ThreadPool::new(1));
    let handle = server.serve(recorder);
    let profile = std::env::temp_dir().join(format!(
        "compress-chromium-{expected}-{}",
        std::process::id()
    ));
    let mut child = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-extensions",
            "--no-first-run",
            "--disable-quic",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("http://{}/", handle.local_addr()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut dom = String::new();
        let _ = stdout.read_to_string(&mut dom);
        dom
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&profile);
            panic!("chromium did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let dom = reader.join().unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    let codings = codings.lock().unwrap().clone();
    assert!(
        !codings.is_empty()
            && codings
                .iter()
                .all(|c| ["zstd", "br", "gzip", "deflate"].contains(&c.as_str())),
        "the stream was not compressed: {codings:?}"
    );
    for i in 0..EVENTS {
        assert!(
            dom.contains(&format!("<li>tick|{i}</li>")),
            "event {i} missing: {dom}"
        );
    }
    assert!(dom.contains(&format!("done after {EVENTS}")), "{dom}");
    println!("Chromium read {EVENTS} events over {codings:?}");
}
