//! Restart without losing a request: a client keeps 64 keep-alive connections busy while
//! the server is replaced twice by a new process (this test binary re-run as a server
//! child). Each new process starts on the same listening socket, then the old one gets
//! SIGTERM, stops accepting and drains (`shutdown_on_signals`). No request may fail and no
//! connection may be reset.
//!
//! The load lasts `PROD_RESTART_SECS` seconds (default 3; the README's figure is from a
//! 10-second run: `PROD_RESTART_SECS=10 cargo test -p h1-server --all-features --test
//! restart -- --nocapture`).
#![cfg(all(unix, feature = "listeners", feature = "signals", feature = "smol"))]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_io::Timer;
use h1_server::{Request, Response, Server};
use integration_tests::{CHILD_ENV, ChildServer, env_or, is_child, report};

const CONNECTIONS: usize = 64;
/// Clients opening a new connection for every request, so connections arrive at every
/// moment of a hand-over too (some land in a listener's accept queue as it closes).
const NEWCOMERS: usize = 4;

/// The child: serve on the listener given as stdin (`shared`) or on a fresh
/// `SO_REUSEPORT` socket (`reuseport`) until SIGTERM; report how many requests it served.
fn child() {
    let generation: u32 = env_or("PROD_GENERATION", 0);
    let mode: String = env_or("PROD_MODE", "shared".to_owned());
    smol::block_on(async {
        let server = if mode == "shared" {
            // The supervisor's listening socket, inherited as descriptor 0.
            let fd = std::io::stdin().as_fd().try_clone_to_owned().unwrap();
            Server::from_listeners([TcpListener::from(fd)]).unwrap()
        } else {
            let addr: SocketAddr = env_or("PROD_ADDR", "127.0.0.1:0".to_owned())
                .parse()
                .unwrap();
            Server::bind_reuseport(addr).unwrap()
        };
        let served = Arc::new(AtomicU64::new(0));
        let count = served.clone();
        let handle = server.serve(move |req: Request| {
            let n = count.fetch_add(1, Ordering::Relaxed);
            async move {
                // A little work, so requests are in flight when the signal comes.
                Timer::after(Duration::from_millis(2)).await;
                Response::text(200, format!("gen={generation} n={n} path={}\n", req.path()))
            }
        });
        let signals = handle.shutdown_on_signals(Duration::from_secs(10)).unwrap();
        report("listening", handle.local_addr());
        signals.await;
        report("served", served.load(Ordering::Relaxed));
    });
}

/// What the client saw.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    resets: AtomicU64,
    /// Idle keep-alive connections the old server closed as the client reused them: the
    /// request was sent again on a new connection (as HTTP clients do, RFC 9112 §9.3.1).
    retried: AtomicU64,
    /// Of those, the ones the client saw as a reset rather than a clean close.
    idle_resets: AtomicU64,
    connections: AtomicU64,
}

/// Start server generation `generation`: on `listener` (as its stdin) when given, else
/// binding `addr` with `SO_REUSEPORT` itself.
fn start(
    test: &str,
    generation: u32,
    listener: Option<&TcpListener>,
    addr: SocketAddr,
) -> ChildServer {
    let mode = if listener.is_some() {
        "shared"
    } else {
        "reuseport"
    };
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env("PROD_MODE", mode)
        .env("PROD_GENERATION", generation.to_string())
        .env("PROD_ADDR", addr.to_string())
        .stdout(Stdio::piped());
    match listener {
        Some(l) => cmd.stdin(Stdio::from(OwnedFd::from(l.try_clone().unwrap()))),
        None => cmd.stdin(Stdio::null()),
    };
    ChildServer::adopt(cmd.spawn().unwrap())
}

/// One client connection's loop: requests until `stop`, a new connection after a
/// `Connection: close` or a closed idle connection.
fn client(addr: SocketAddr, id: usize, stop: &AtomicBool, tally: &Tally, one_shot: bool) {
    let mut conn: Option<(TcpStream, u64)> = None;
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let (stream, used) = match conn.take() {
            Some(c) => c,
            None => match TcpStream::connect(addr) {
                Ok(s) => {
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    tally.connections.fetch_add(1, Ordering::Relaxed);
                    (s, 0)
                }
                Err(e) => {
                    eprintln!("client {id}: connect: {e}");
                    tally.failed.fetch_add(1, Ordering::Relaxed);
                    if e.kind() == ErrorKind::ConnectionReset {
                        tally.resets.fetch_add(1, Ordering::Relaxed);
                    }
                    continue;
                }
            },
        };
        seq += 1;
        let path = format!("/c{id}/{seq}");
        match exchange(&stream, &path) {
            Ok(close) => {
                tally.ok.fetch_add(1, Ordering::Relaxed);
                if !close && !one_shot {
                    conn = Some((stream, used + 1));
                }
            }
            Err((0, e)) if used > 0 => {
                // Nothing of a response arrived on a reused connection: it was closed
                // as idle. Send again on a new one.
                if e.kind() == ErrorKind::ConnectionReset {
                    tally.idle_resets.fetch_add(1, Ordering::Relaxed);
                }
                tally.retried.fetch_add(1, Ordering::Relaxed);
                seq -= 1;
            }
            Err((got, e)) => {
                eprintln!("client {id}: {path}: {e} after {got} bytes");
                tally.failed.fetch_add(1, Ordering::Relaxed);
                if e.kind() == ErrorKind::ConnectionReset {
                    tally.resets.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// Send one request and read its response; `Ok(close)` when it was complete and right.
/// On error, how many response bytes had arrived.
fn exchange(mut stream: &TcpStream, path: &str) -> Result<bool, (usize, std::io::Error)> {
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
    stream.write_all(req.as_bytes()).map_err(|e| (0, e))?;
    let mut got = Vec::new();
    let mut buf = [0; 1024];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| (got.len(), std::io::Error::other("no content-length")))?;
            if got.len() >= end + 4 + length {
                let body = String::from_utf8_lossy(&got[end + 4..end + 4 + length]);
                let good = head.starts_with("http/1.1 200")
                    && body.starts_with("gen=")
                    && body.ends_with(&format!(" path={path}\n"));
                if !good {
                    return Err((got.len(), std::io::Error::other(format!("bad: {body:?}"))));
                }
                return Ok(head.contains("connection: close"));
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => return Err((got.len(), ErrorKind::UnexpectedEof.into())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return Err((got.len(), e)),
        }
    }
}

/// Serve, restart twice under load, and check the tally.
fn restart_under_load(test: &str, mode: &str) {
    let secs: f64 = env_or("PROD_RESTART_SECS", 3.0);
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    // Shared: this process holds the listening socket (as systemd does with a socket
    // unit) and every generation inherits it. Reuseport: each binds its own.
    let listener = (mode == "shared").then_some(probe);
    let listener = listener.as_ref();
    let mut current = start(test, 0, listener, addr);
    assert_eq!(current.listening().port(), addr.port());
    let stop = AtomicBool::new(false);
    let tally = Tally::default();
    let began = Instant::now();
    let mut old_children = Vec::new();
    std::thread::scope(|s| {
        for id in 0..CONNECTIONS {
            let (stop, tally) = (&stop, &tally);
            s.spawn(move || client(addr, id, stop, tally, false));
        }
        for id in CONNECTIONS..CONNECTIONS + NEWCOMERS {
            let (stop, tally) = (&stop, &tally);
            s.spawn(move || client(addr, id, stop, tally, true));
        }
        for generation in 1..=2 {
            std::thread::sleep(Duration::from_secs_f64(secs / 3.0));
            let mut next = start(test, generation, listener, addr);
            assert_eq!(next.listening().port(), addr.port());
            current.signal("TERM");
            old_children.push(std::mem::replace(&mut current, next));
        }
        std::thread::sleep(Duration::from_secs_f64(secs / 3.0));
        stop.store(true, Ordering::Relaxed);
    });
    let elapsed = began.elapsed();
    current.signal("TERM");
    old_children.push(current);
    let mut served = Vec::new();
    for child in &mut old_children {
        assert!(child.wait().success());
        served.push(child.expect("served").parse::<u64>().unwrap());
    }
    let ok = tally.ok.load(Ordering::Relaxed);
    let failed = tally.failed.load(Ordering::Relaxed);
    let resets = tally.resets.load(Ordering::Relaxed);
    let retried = tally.retried.load(Ordering::Relaxed);
    let connections = tally.connections.load(Ordering::Relaxed);
    let idle_resets = tally.idle_resets.load(Ordering::Relaxed);
    println!(
        "restart ({mode}): {CONNECTIONS} connections for {elapsed:.1?}, 2 restarts: {ok} \
         requests ok, {failed} failed, {resets} reset, {retried} resent after an idle \
         keep-alive close ({idle_resets} of them reset), {connections} connections opened; served per process {served:?}"
    );
    assert_eq!(failed, 0, "failed requests");
    assert_eq!(resets, 0, "reset connections");
    assert!(
        served.iter().all(|&n| n > 0),
        "every process served: {served:?}"
    );
    // Every request answered was counted by exactly one process (resent ones only once).
    assert_eq!(served.iter().sum::<u64>(), ok, "{served:?}");
}

#[test]
fn restart_on_a_shared_listening_socket_loses_no_request() {
    if is_child() {
        return child();
    }
    restart_under_load(
        "restart_on_a_shared_listening_socket_loses_no_request",
        "shared",
    );
}

#[test]
fn restart_with_reuseport_loses_no_request() {
    if is_child() {
        return child();
    }
    restart_under_load("restart_with_reuseport_loses_no_request", "reuseport");
}
