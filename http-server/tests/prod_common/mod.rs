//! Helpers for the production tests: this test binary re-run as a server child process
//! (signals, socket activation, restarts), and a slow streamed response.
//!
//! A child prints `@@<word> <text>` lines on stdout; the parent waits for them with a
//! deadline. Every wait is bounded; a child still running when its handle drops is killed.
#![allow(dead_code)] // Each test file uses a different part.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::FutureExt;
use h1_server::{Body, Frame};

/// The longest any single wait may take.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// Set in a child's environment: run the server instead of the test.
pub(crate) const CHILD_ENV: &str = "HTTP_SERVER_PROD_CHILD";

/// Whether this process is a child started by [`ChildServer`].
pub(crate) fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// An environment variable of the child, parsed.
pub(crate) fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Print a line the parent waits for.
pub(crate) fn report(word: &str, text: impl std::fmt::Display) {
    println!("\n@@{word} {text}");
}

/// A child process running one test of this binary in child mode.
pub(crate) struct ChildServer {
    child: Child,
    lines: Receiver<String>,
    /// Every `@@` line seen so far, for failure messages.
    pub(crate) seen: Vec<String>,
}

impl ChildServer {
    /// Run `test` (its exact name) of this binary in a child with `env` set.
    pub(crate) fn spawn(test: &str, env: &[(&str, String)]) -> Self {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([test, "--exact", "--nocapture", "--test-threads=1"]);
        Self::spawn_command(cmd, env)
    }

    /// Run `cmd` (which ends up running a child-mode test) with `env` set.
    pub(crate) fn spawn_command(mut cmd: Command, env: &[(&str, String)]) -> Self {
        cmd.env(CHILD_ENV, "1")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        Self::adopt(cmd.spawn().expect("spawn the child"))
    }

    /// Watch an already spawned child (its stdout piped).
    pub(crate) fn adopt(mut child: Child) -> Self {
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(at) = line.find("@@") {
                    if tx.send(line[at + 2..].to_owned()).is_err() {
                        return;
                    }
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait for the next `@@word text` line and return `text`.
    pub(crate) fn expect(&mut self, word: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Some(text) = line.strip_prefix(word) {
                        if let Some(text) = text.strip_prefix(' ') {
                            return text.to_owned();
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no @@{word} from the child in {WAIT:?}; saw {:?}",
                        self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the child ended without @@{word}; saw {:?}", self.seen)
                }
            }
        }
    }

    /// The address the child listens on (its `@@listening ADDR` line).
    pub(crate) fn listening(&mut self) -> SocketAddr {
        self.expect("listening").trim().parse().expect("an address")
    }

    /// Send `signal` (`TERM`, `INT`, `HUP`) with kill(1).
    pub(crate) fn signal(&self, signal: &str) {
        send_signal(self.pid(), signal);
    }

    /// Wait (bounded) for the child to exit.
    pub(crate) fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the child did not exit in {WAIT:?}; saw {:?}", self.seen);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Send `signal` to `pid` with kill(1).
pub(crate) fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -s {signal} {pid} failed");
}

/// Wait (bounded) until connecting to `addr` is refused: the listener closed.
pub(crate) fn wait_refused(addr: SocketAddr) {
    let deadline = Instant::now() + WAIT;
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
            _ if Instant::now() > deadline => panic!("{addr} still accepts after {WAIT:?}"),
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// A connection that sent `GET path` and has read the response until `marker` arrived.
pub(crate) fn request_until(addr: SocketAddr, path: &str, marker: &str) -> (TcpStream, Vec<u8>) {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(WAIT)).unwrap();
    write!(conn, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    while !String::from_utf8_lossy(&got).contains(marker) {
        let n = conn.read(&mut buf).expect("read the response");
        assert!(
            n > 0,
            "closed before {marker:?}: {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    (conn, got)
}

/// Read the rest of a response until the server closes (bounded by the read timeout);
/// a reset counts as the end.
pub(crate) fn read_to_close(conn: &mut TcpStream, got: &mut Vec<u8>) {
    let mut buf = [0; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("read: {e}: {:?}", String::from_utf8_lossy(got)),
        }
    }
}

/// A streamed body: `first\n` (flushed), then after `delay` `second\n`, then the end.
pub(crate) struct SlowBody {
    step: u8,
    timer: Timer,
}

impl SlowBody {
    /// Wait `delay` between the two lines.
    pub(crate) fn new(delay: Duration) -> Self {
        Self {
            step: 0,
            timer: Timer::after(delay),
        }
    }
}

impl Body for SlowBody {
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::io::Result<Frame>>> {
        self.step += 1;
        match self.step {
            1 => Poll::Ready(Some(Ok(Frame::Data("first\n".into())))),
            2 => Poll::Ready(Some(Ok(Frame::Flush))),
            3 => match self.timer.poll(cx) {
                Poll::Ready(_) => Poll::Ready(Some(Ok(Frame::Data("second\n".into())))),
                Poll::Pending => {
                    self.step = 2;
                    Poll::Pending
                }
            },
            _ => Poll::Ready(None),
        }
    }
}
