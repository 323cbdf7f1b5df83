//! The reference rows of `cargo xtask bench upload`: a tiny std HTTP sink on a thread of
//! its own that reads a request's body in 1 MiB reads and writes it straight into a file
//! (the ceiling for moving bytes from loopback into a file on this machine), or throws it
//! away (the ceiling of the client and loopback alone).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::proc;

/// No CPU time stored yet.
const NONE: u64 = u64::MAX;

/// Read size of the sink, and its only buffer.
const READ: usize = 1 << 20;

/// A running sink: it answers every request with `<td>{body size}</td>`, like the
/// upload page, and removes what it wrote once answered. The thread lives as long as
/// the bench.
pub(crate) struct Sink {
    pub(crate) addr: SocketAddr,
    /// The CPU time of the last request served, in clock ticks ([`NONE`] once taken).
    cpu: Arc<AtomicU64>,
}

impl Sink {
    /// Start a sink writing each body to a file in `dir`, or discarding it (`None`).
    pub(crate) fn start(dir: Option<&Path>) -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("sink: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("sink: {e}"))?;
        let path = dir.map(|d| d.join("sink.bin"));
        let cpu = Arc::new(AtomicU64::new(NONE));
        let last = Arc::clone(&cpu);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let cpu0 = proc::thread_cpu_ticks().unwrap_or(0);
                if let Err(e) = serve(stream, path.as_deref()) {
                    eprintln!("    sink: {e}");
                }
                if let Some(p) = &path {
                    let _ = std::fs::remove_file(p);
                }
                let used = proc::thread_cpu_ticks().unwrap_or(0).saturating_sub(cpu0);
                last.store(used, Ordering::Release);
            }
        });
        Ok(Self { addr, cpu })
    }

    /// The CPU time of the request just served (its file removed too), in clock ticks;
    /// waits (bounded) for the sink to finish it.
    pub(crate) fn take_cpu(&self) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = self.cpu.swap(NONE, Ordering::AcqRel);
            if v != NONE || Instant::now() > deadline {
                return if v == NONE { 0 } else { v };
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// One request: its head, its Content-Length of body bytes into `path` (or nowhere),
/// and a small answer.
fn serve(mut s: TcpStream, path: Option<&Path>) -> std::io::Result<()> {
    let mut buf = vec![0u8; READ];
    let mut have = 0;
    let end = loop {
        let n = s.read(&mut buf[have..])?;
        if n == 0 {
            return Err(std::io::Error::other("closed in the head"));
        }
        have += n;
        if let Some(i) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if have == buf.len() {
            return Err(std::io::Error::other("head too large"));
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let length: u64 = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| std::io::Error::other("no content-length"))?;
    let mut file = path.map(std::fs::File::create).transpose()?;
    let first = (have - end).min(usize::try_from(length).unwrap_or(usize::MAX));
    if let Some(f) = &mut file {
        f.write_all(&buf[end..end + first])?;
    }
    let mut left = length - first as u64;
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let n = s.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::Error::other("closed in the body"));
        }
        if let Some(f) = &mut file {
            f.write_all(&buf[..n])?;
        }
        left -= n as u64;
    }
    drop(file);
    let page = format!("<td>{length}</td>");
    write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
        page.len()
    )
}
