//! A real browser on the SSE stream: headless Chromium loads a page whose `EventSource`
//! writes every event it receives into the DOM, and the test reads the DOM Chromium dumps.
//!
//! Needs `/usr/bin/chromium` (Debian's `chromium` package, which `.ci/run` installs; set
//! `CHROMIUM` to use another binary). Without it the test says so and passes (fails under
//! `CI=true`: `integration_tests::chromium`). Traffic
//! stays on 127.0.0.1; the browser runs with a fresh profile, is bounded by a timeout and
//! is killed on every path.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::FutureExt;
use h1_server::{Request, Response};
use h1_stream::sse::{self, Event};

use integration_tests::TestServer;
use integration_tests::fixtures::TempDir;

/// How long the browser may take, start to DOM dump.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>SSE browser test</title></head>
<body>
<p id="status">connecting</p>
<ul id="log"></ul>
<script>
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const add = (text) => {
    const li = document.createElement("li");
    li.textContent = text;
    log.append(li);
  };
  const es = new EventSource("/events");
  es.onopen = () => { status.textContent = "open"; };
  es.onmessage = (e) => add("message|" + e.lastEventId + "|" + e.data);
  es.addEventListener("greet", (e) => add("greet|" + e.lastEventId + "|" + e.data));
  es.addEventListener("done", (e) => {
    es.close();
    status.textContent = "done after " + log.children.length + " events";
  });
  es.onerror = () => { status.textContent = "error (readyState " + es.readyState + ")"; };
</script>
</body></html>
"#;

/// What the server saw: the `Accept` header of every `/events` request, and whether the
/// stream's `closed()` resolved (the browser went away).
#[derive(Default)]
struct Seen {
    accept: Mutex<Vec<String>>,
    closed: Mutex<Option<mpsc::Sender<()>>>,
}

fn events(req: &Request, seen: &Arc<Seen>) -> Response {
    seen.accept
        .lock()
        .unwrap()
        .push(req.header("accept").unwrap_or("").to_string());
    let (tx, response) = sse::Options::new().response();
    let closed = seen.closed.lock().unwrap().clone();
    smol::spawn(async move {
        let script = [
            Event::new().data("plain one"),
            Event::new().comment("browsers ignore comments"),
            Event::new().event("greet").id("1").data("hello 1"),
            Event::new().event("greet").id("2").data("hello 2"),
            Event::new()
                .event("greet")
                .id("3")
                .data("first line\nsecond line"),
            Event::new().id("4").data("plain two"),
            Event::new().event("done").data("bye"),
        ];
        for event in &script {
            if tx.send(event).await.is_err() {
                return;
            }
        }
        // The page closes its EventSource on `done`, or the browser exits: either way the
        // stream learns the client is gone.
        let gone = async {
            tx.closed().await;
            true
        }
        .or(async {
            Timer::after(Duration::from_secs(120)).await;
            false
        })
        .await;
        if gone {
            if let Some(closed) = closed {
                let _ = closed.send(());
            }
        }
    })
    .detach();
    response
}

/// The browser process; killed (and reaped) when dropped.
struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs headless Chromium on `url` and returns the DOM it dumps (its stdout) and its
/// stderr, or fails the test after [`BROWSER_TIMEOUT`].
fn dump_dom(chromium: &Path, url: &str) -> (String, String) {
    let profile = TempDir::new("chromium-profile");
    let child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-quic",
            "--mute-audio",
        ])
        .arg(format!("--user-data-dir={}", profile.0.display()))
        // Virtual time: timers run as fast as the page lets them; network fetches in
        // flight hold it. The page closes its EventSource once done, so the budget runs
        // out right after the last event.
        .arg("--virtual-time-budget=10000")
        .arg("--dump-dom")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", chromium.display()));
    let mut browser = Browser(child);
    let read_all = |r: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    };
    let out = read_all(
        browser
            .0
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err = read_all(
        browser
            .0
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    let status = loop {
        if let Some(st) = browser.0.try_wait().expect("wait for chromium") {
            break st;
        }
        if Instant::now() >= deadline {
            drop(browser); // kills it, which ends the pipes
            let (out, err) = (out.join().unwrap(), err.join().unwrap());
            panic!(
                "chromium still running after {BROWSER_TIMEOUT:?}, killed\nstdout:\n{out}\nstderr:\n{err}"
            );
        }
        thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(
        status.success(),
        "chromium failed ({status})\nstdout:\n{out}\nstderr:\n{err}"
    );
    (out, err)
}

#[test]
fn chromium_event_source_receives_the_events() {
    let Some(chromium) = integration_tests::chromium("chromium_event_source_receives_the_events")
    else {
        return;
    };

    let seen = Arc::new(Seen::default());
    let (closed_tx, closed_rx) = mpsc::channel();
    *seen.closed.lock().unwrap() = Some(closed_tx);
    let server = {
        let seen = seen.clone();
        TestServer::start(
            |_| {},
            move |req: Request| {
                let response = match req.path() {
                    "/" => Response::html(200, PAGE),
                    "/events" => events(&req, &seen),
                    _ => Response::text(404, "not found\n"),
                };
                async move { response }
            },
        )
    };
    let url = format!("http://{}/", server.addr);

    let (dom, stderr) = dump_dom(&chromium, &url);
    let context = || format!("DOM:\n{dom}\nchromium stderr:\n{stderr}");

    // Every event, in order, as the page's EventSource delivered it: unnamed events go to
    // `onmessage`, the id carries over to later events, multi-line data comes back joined
    // with '\n', the comment is not an event.
    let items: Vec<String> = dom
        .split("<li>")
        .skip(1)
        .filter_map(|s| s.split("</li>").next())
        .map(str::to_string)
        .collect();
    assert_eq!(
        items,
        [
            "message||plain one",
            "greet|1|hello 1",
            "greet|2|hello 2",
            "greet|3|first line\nsecond line",
            "message|4|plain two",
        ],
        "{}",
        context()
    );
    assert!(
        dom.contains(r#"<p id="status">done after 5 events</p>"#),
        "the page did not see the `done` event\n{}",
        context()
    );

    // One EventSource request (no reconnects), asking for an event stream.
    let accept = seen.accept.lock().unwrap().clone();
    assert_eq!(accept.len(), 1, "/events requests: {accept:?}");
    assert!(
        accept[0].contains("text/event-stream"),
        "Accept of the EventSource request: {:?}",
        accept[0]
    );

    // The browser closed the stream (es.close(), then exit): `closed()` resolved.
    closed_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the stream's closed() did not resolve after the browser went away");
}
