//! The one support library of the loopback tests, the ones where the socket is the point
//! (listener and lifecycle, readiness, runtimes, descriptors, TLS, Unix sockets, curl,
//! nginx, Chromium, WebSocket, signals, restarts, streamed responses): used by this
//! package's tests and, as a dev-dependency, by h1-server's, h1-stream's and the demo's.
//!
//! - [`TestServer`] starts a server on `127.0.0.1:0` with an executor thread of its own;
//!   [`stream_server`] hands each request's stream sender to the test.
//! - [`Client`] talks raw HTTP over a `std::net::TcpStream` and reads whole responses as
//!   [`Response`] (h1-server's `WireResponse`, parsed by h1-core's client role) or piece
//!   by piece (a head, one chunk, so many bytes).
//! - [`ChildServer`] re-runs a test binary as a server child process (signals, socket
//!   activation, restarts) or watches any child's output.
//! - [`has_tool`]/[`skip`] for tests that need an outside program: under `CI=true` a
//!   missing tool fails the test.
//! - [`fixtures`]: temporary directories, a running hash, multipart bodies.
//!
//! Everything else is tested without a socket on `h1_server::testing` (handler and
//! connection kits), in the crate that owns it.
//!
//! This library builds against h1-server's driver alone (no default features), so that
//! being a dev-dependency of h1-server does not turn on features its own tests gate on.
//!
//! Every wait is bounded: clients have read and write timeouts ([`WAIT`]), and
//! [`wait_until`] polls a condition up to a deadline. Traffic goes to 127.0.0.1 only.
#![forbid(unsafe_code)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::FutureExt;
use futures_lite::future::block_on;

mod child;
mod client;
pub mod fixtures;
mod server;

pub use child::{
    CHILD_ENV, CHILD_WAIT, ChildServer, env_or, is_child, report, send_signal, wait_refused,
};
pub use client::{Client, Response, get};
pub use server::{Hooks, SlowBody, TestServer, bind, next_sender, one_thread, stream_server};

/// Whether `program --version` runs and exits 0. When it does not, `test` is skipped
/// through [`skip`].
pub fn has_tool(program: &str, test: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        skip(test, &format!("{program} is not installed"));
    }
    found
}

/// Report that `test` cannot run (`why`): a notice on stderr, and the caller returns.
/// Under `CI=true` this panics instead: CI installs every tool the tests use, so a skip
/// there is a failure, not a pass that hides a missing install step.
pub fn skip(test: &str, why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: {why}, and CI=true does not allow skipping (.ci/run installs it)");
    }
    eprintln!("SKIPPED {test}: {why} (.ci/run installs it)");
}

/// The Chromium binary (`$CHROMIUM`, else `/usr/bin/chromium`), or `None` after
/// [`skip`]ping `test` when it is not there.
pub fn chromium(test: &str) -> Option<std::path::PathBuf> {
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| "/usr/bin/chromium".into(), std::path::PathBuf::from);
    if chromium.is_file() {
        return Some(chromium);
    }
    let why = format!(
        "{} not found (apt-get install chromium, or set CHROMIUM)",
        chromium.display()
    );
    skip(test, &why);
    None
}

/// The longest any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// Poll `cond` every few milliseconds until it holds; panic naming `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Run `f` on a new thread; the returned receiver yields its result.
pub fn in_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> std::sync::mpsc::Receiver<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx
}

/// Run `fut` to completion, failing the test after `limit`.
pub fn run_within<T>(limit: Duration, fut: impl Future<Output = T>) -> T {
    block_on(fut.or(async {
        Timer::after(limit).await;
        panic!("a future did not finish within {limit:?}");
    }))
}

/// Run `fut` to completion, failing the test after [`WAIT`].
pub fn run<T>(fut: impl Future<Output = T>) -> T {
    run_within(WAIT, fut)
}

/// Whether `fut` finishes within `within` (its output if it does).
pub fn finishes_within<T>(within: Duration, fut: impl Future<Output = T>) -> Option<T> {
    block_on(async { Some(fut.await) }.or(async {
        Timer::after(within).await;
        None
    }))
}

/// The resident set size of this process, in bytes (Linux; 0 elsewhere).
pub fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Run `curl -sS --max-time 10 <args>` and return its output; panics with curl's error
/// when it fails. Check [`has_tool`] first.
pub fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// [`curl`] `url`, again while the port is not bound yet (curl's exit status 7), up to
/// `limit`.
pub fn curl_when_bound(url: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "10", url])
            .output()
            .expect("run curl");
        if out.status.success() {
            return String::from_utf8(out.stdout).unwrap();
        }
        assert!(
            out.status.code() == Some(7) && Instant::now() < deadline,
            "curl {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
