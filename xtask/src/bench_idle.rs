//! Idle keep-alive connections and what they cost the server: a child process (a copy of
//! the xtask executable) opens and holds them while the parent reads the server's RSS.
//! Shared by the `server` and `c10k` suites.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{ChildStdin, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::proc::{self, Guard, Launcher, Server};

/// fd limit the servers and the idle-connection client ask for (via `ulimit -n`).
pub(crate) const NOFILE: u32 = 20_000;

/// RSS growth per idle keep-alive connection (`n` of them, each after one request, held
/// by `holder`, a copy of this executable), and how many of them the server had closed.
pub(crate) fn idle_memory(
    holder: &Path,
    server: &Server,
    n: usize,
) -> Result<(f64, usize), String> {
    // One request first, so one-time initialisation and the code pages a request touches
    // are already resident in the baseline.
    let mut s = TcpStream::connect_timeout(&server.addr, Duration::from_secs(5))
        .map_err(|e| format!("connect: {e}"))?;
    one_request(&mut s)?;
    drop(s);
    thread::sleep(Duration::from_millis(300));
    let before = proc::rss_bytes(server.pid())?;

    // The connections live in a child with a raised fd limit (std has no setrlimit).
    let launcher = Launcher {
        nofile: Some(NOFILE),
        ..Launcher::default()
    };
    let child = launcher
        .command(0)
        .arg(holder)
        .args(["bench", "server", "__hold-conns"])
        .arg(server.addr.to_string())
        .arg(n.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawn connection holder: {e}"))?;
    let mut holder = Holder::new(Guard(child));

    let ready = holder.line(Duration::from_secs(120))?;
    if ready.trim() != format!("ready {n}") {
        return Err(format!("connection holder said {ready:?}"));
    }
    thread::sleep(Duration::from_secs(1));
    let after = proc::rss_bytes(server.pid())?;

    holder.say("check\n")?;
    let verdict = holder.line(Duration::from_secs(30))?;
    // "open X closed Y"
    let closed = verdict
        .split_whitespace()
        .nth(3)
        .and_then(|v| v.parse::<usize>().ok())
        .ok_or_else(|| format!("connection holder said {verdict:?}"))?;
    holder.finish()?;
    Ok(((after as f64 - before as f64) / n as f64, closed))
}

/// The `__hold-conns` child, its stdout read line by line; killed when dropped.
struct Holder {
    child: Guard,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Holder {
    fn new(mut child: Guard) -> Self {
        let stdin = child.0.stdin.take();
        let (tx, lines) = mpsc::channel();
        if let Some(out) = child.0.stdout.take() {
            thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Self {
            child,
            stdin,
            lines,
        }
    }

    fn line(&mut self, timeout: Duration) -> Result<String, String> {
        self.lines
            .recv_timeout(timeout)
            .map_err(|e| format!("connection holder: no answer ({e})"))
    }

    fn say(&mut self, s: &str) -> Result<(), String> {
        let w = self.stdin.as_mut().ok_or("connection holder: no stdin")?;
        w.write_all(s.as_bytes())
            .and_then(|()| w.flush())
            .map_err(|e| format!("connection holder: {e}"))
    }

    fn finish(&mut self) -> Result<(), String> {
        drop(self.stdin.take());
        let st = proc::wait_child(
            &mut self.child.0,
            Duration::from_secs(30),
            "connection holder",
        )?;
        if st.success() {
            Ok(())
        } else {
            Err(format!("connection holder failed ({st})"))
        }
    }
}

/// `__hold-conns ADDR N`: opens N connections that each do one request and read the whole
/// response, prints `ready N`, waits for a line on stdin, prints `open X closed Y` (how many
/// the server had closed meanwhile) and exits, closing them all.
pub(crate) fn hold_conns_child(args: &[String]) -> Result<(), String> {
    let [addr, n] = args else {
        return Err("usage: __hold-conns ADDR N".into());
    };
    let addr: SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("{addr}: loopback addresses only"));
    }
    let n: usize = n.parse().map_err(|e| format!("{n}: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(100);
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        if Instant::now() >= deadline {
            return Err(format!("only {i} connections after 100 s"));
        }
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connection {i}: connect: {e}"))?;
        one_request(&mut s).map_err(|e| format!("connection {i}: {e}"))?;
        conns.push(s);
    }
    let mut out = std::io::stdout();
    writeln!(out, "ready {}", conns.len())
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    let (mut open, mut closed) = (0usize, 0usize);
    let mut b = [0u8; 1];
    for s in &conns {
        let _ = s.set_nonblocking(true);
        match s.peek(&mut b) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => open += 1,
            Ok(n) if n > 0 => open += 1,
            _ => closed += 1,
        }
    }
    writeln!(out, "open {open} closed {closed}")
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Sends `GET /` and reads the full response (Content-Length or chunked body).
fn one_request(s: &mut TcpStream) -> Result<(), String> {
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let mut head_end = None;
    loop {
        if let Some(end) = head_end {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            if !head.starts_with("http/1.1 200") && !head.starts_with("http/1.0 200") {
                return Err(format!("not a 200 response: {:?}", head.lines().next()));
            }
            let cl = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            let done = match cl {
                Some(len) => buf.len() >= end + len,
                None if head.contains("transfer-encoding: chunked") => {
                    buf[end..].ends_with(b"0\r\n\r\n")
                }
                None => return Err("response has no Content-Length and is not chunked".into()),
            };
            if done {
                return Ok(());
            }
        }
        let n = s.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed before the full response".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if head_end.is_none() {
            head_end = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
        }
    }
}
