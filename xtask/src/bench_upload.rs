//! `cargo xtask bench upload [--mib N] [--rounds N]`: upload throughput to disk.
//!
//! Builds `--example upload` (release), starts it saving into a fresh temporary
//! directory, creates a 1 GiB source file there, and in each round
//!
//! 1. uploads the file over loopback as one `multipart/form-data` part (a std client
//!    streaming it from disk in 1 MiB writes), timed from connect to the response;
//! 2. copies it with `cat file > <same directory>/copy`, timed the same way
//!    (`sync` before each, so neither pays for the other's dirty pages);
//! 3. uploads it the same way to a tiny std sink writing the body to a file in the same
//!    directory in 1 MiB reads (the ceiling for loopback into a file), and to one that
//!    discards it (the ceiling of the client and loopback alone);
//!
//! then prints the rates (median of the rounds), the ratios upload/cat (the aim: at least
//! 0.95) and upload/raw sink, the server's and the client's CPU time per GiB, and the
//! server's peak resident memory (VmHWM from /proc/PID/status).
//! Every generated file and the directory are deleted afterwards, also on failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::bench_upload_sink::Sink;
use crate::proc::{self, Guard};
use crate::util::{self, Args, cargo_cmd, quantile_by};

const USAGE: &str = "\
usage: cargo xtask bench upload [--mib N] [--rounds N] [--exe PATH]

  --mib N      size of the uploaded file in MiB (default 1024)
  --rounds N   upload and cat rounds, alternating (default 3)
  --exe PATH   run this build of the upload example (say, one of main) instead of
               building it here
";

const BOUNDARY: &str = "xtask-bench-upload-boundary";

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut mib: u64 = 1024;
    let mut rounds: usize = 3;
    let mut exe: Option<PathBuf> = None;
    let mut args = Args::new(args, USAGE);
    while let Some(a) = args.next() {
        match a {
            "--mib" => mib = args.num::<u64>("--mib")?.max(1),
            "--rounds" => rounds = args.num::<usize>("--rounds")?.max(1),
            "--exe" => exe = Some(PathBuf::from(args.value("--exe")?)),
            other => return Err(args.unknown(other)),
        }
    }
    let exe = match exe {
        Some(exe) => exe,
        None => {
            let root = util::workspace_root();
            let mut build = cargo_cmd(&root);
            build.args([
                "build",
                "--release",
                "-p",
                "examples",
                "--example",
                "upload",
            ]);
            util::run("building the upload example", &mut build)?;
            util::target_dir(&root).join("release/examples/upload")
        }
    };

    let dir = std::env::temp_dir().join(format!("xtask-bench-upload-{}", std::process::id()));
    let _cleanup = RemoveDir(dir.clone());
    let saved = dir.join("saved");
    std::fs::create_dir_all(&saved).map_err(|e| format!("create {}: {e}", saved.display()))?;
    let source = dir.join("source.bin");
    let size = mib << 20;
    eprintln!("==> writing a {mib} MiB source file in {}", dir.display());
    write_source(&source, size).map_err(|e| format!("write {}: {e}", source.display()))?;

    let server = Server::start(&exe, &saved)?;
    let sink = Sink::start(Some(&saved))?;
    let discard = Sink::start(None)?;
    let ticks = proc::clock_ticks();
    let mut rows: [Vec<Duration>; 4] = Default::default();
    let (mut server_cpu, mut client_cpu, mut sink_cpu) = (Vec::new(), Vec::new(), Vec::new());
    let mut switches = Vec::new();
    for round in 1..=rounds {
        // Flush earlier rounds' dirty pages first: neither side pays for the other's.
        sync();
        let pid = server.child.0.id();
        let (cpu0, cs0) = (proc::cpu_ticks(pid)?, proc::context_switches(pid));
        let up = upload(server.addr, &source, size, size)?;
        // After the temporary file's removal, which the server's CPU time includes.
        wait_empty(&saved);
        let (cpu1, cs1) = (proc::cpu_ticks(pid)?, proc::context_switches(pid));
        server_cpu.push((cpu1 - cpu0) as f64 / ticks);
        switches.push((cs1.0.saturating_sub(cs0.0), cs1.1.saturating_sub(cs0.1)));
        client_cpu.push(up.client_cpu / ticks);
        sync();
        let raw = upload(sink.addr, &source, size, body_length(size))?;
        sink_cpu.push(sink.take_cpu() as f64 / ticks);
        wait_empty(&saved);
        sync();
        let nothing = upload(discard.addr, &source, size, body_length(size))?;
        let cat = cat_copy(&source, &saved.join("cat-copy.bin"))?;
        let _ = std::fs::remove_file(saved.join("cat-copy.bin"));
        eprintln!(
            "    round {round}: upload {:.0} MB/s (server CPU {:.2} s, {}+{} context switches, \
             client CPU {:.2} s), \
             raw sink {:.0} MB/s (CPU {:.2} s), discard {:.0} MB/s, cat {:.0} MB/s",
            rate(size, up.time),
            server_cpu[round - 1],
            switches[round - 1].0,
            switches[round - 1].1,
            client_cpu[round - 1],
            rate(size, raw.time),
            sink_cpu[round - 1],
            rate(size, nothing.time),
            rate(size, cat),
        );
        for (row, t) in rows.iter_mut().zip([up.time, raw.time, nothing.time, cat]) {
            row.push(t);
        }
    }
    let hwm = proc::status_kib(server.child.0.id(), "VmHWM").ok();
    drop(server);
    let [up, raw, nothing, cat] = rows.each_ref().map(|r| median(r));
    println!(
        "\nupload of {mib} MiB over loopback to {} (median of {rounds})",
        saved.display()
    );
    let names = [
        "h1-server save_uploads",
        "raw std sink (1 MiB reads -> file)",
        "raw std sink, discarding (no file)",
        "cat file > same directory",
    ];
    for ((name, t), row) in names.into_iter().zip([up, raw, nothing, cat]).zip(&rows) {
        let best = row.iter().min().copied().unwrap_or_default();
        println!(
            "  {name:<36} {:>8.0} MB/s  ({:.2} s; best round {:.0} MB/s)",
            rate(size, t),
            t.as_secs_f64(),
            rate(size, best)
        );
    }
    // The median and the least of the rounds, per GiB.
    let per_gib = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        let scale = (1u64 << 30) as f64 / size as f64;
        (v[v.len() / 2] * scale, v[0] * scale)
    };
    let (s, k, c) = (
        per_gib(&server_cpu),
        per_gib(&sink_cpu),
        per_gib(&client_cpu),
    );
    println!(
        "  CPU per GiB (median, least): server {:.2}, {:.2} s; raw sink {:.2}, {:.2} s; \
         bench client {:.2}, {:.2} s",
        s.0, s.1, k.0, k.1, c.0, c.1
    );
    println!(
        "  ratio upload/cat: {:.2} (aim >= 0.95); upload/raw sink: {:.2}",
        cat.as_secs_f64() / up.as_secs_f64(),
        raw.as_secs_f64() / up.as_secs_f64()
    );
    match hwm {
        Some(kib) => println!("  server peak RSS (VmHWM): {:.1} MiB", kib as f64 / 1024.0),
        None => println!("  server peak RSS: unavailable (no /proc)"),
    }
    Ok(())
}

fn sync() {
    let _ = Command::new("sync").status();
}

fn rate(bytes: u64, t: Duration) -> f64 {
    bytes as f64 / 1e6 / t.as_secs_f64().max(1e-9)
}

/// The upper median (the middle value, or the upper of the middle two).
fn median(v: &[Duration]) -> Duration {
    quantile_by(v, 0.5, Duration::cmp).unwrap_or_default()
}

/// A file of `size` bytes with CRLFs and dashes in it (work for the delimiter search).
fn write_source(path: &Path, size: u64) -> std::io::Result<()> {
    let mut chunk = vec![0u8; 1 << 20];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for (i, b) in chunk.iter_mut().enumerate() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = if i % 997 == 0 { b'\r' } else { x as u8 };
    }
    let mut f = std::fs::File::create(path)?;
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    f.sync_all()
}

/// The multipart head before the file's bytes.
fn part_head() -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"source.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
}

/// The multipart tail after the file's bytes.
fn part_tail() -> String {
    format!("\r\n--{BOUNDARY}--\r\n")
}

/// The request body's length for a file of `size` bytes.
fn body_length(size: u64) -> u64 {
    part_head().len() as u64 + size + part_tail().len() as u64
}

/// One upload: the time from connect to the whole response, and the client thread's CPU
/// time in clock ticks.
struct Upload {
    time: Duration,
    client_cpu: f64,
}

/// Upload `source` as one file part; the answer must list `expect` as the size.
fn upload(addr: SocketAddr, source: &Path, size: u64, expect: u64) -> Result<Upload, String> {
    let head = part_head();
    let tail = part_tail();
    let length = body_length(size);
    let cpu0 = proc::thread_cpu_ticks().unwrap_or(0);
    let start = Instant::now();
    let io = |e: std::io::Error| format!("upload: {e}");
    let mut s = TcpStream::connect(addr).map_err(io)?;
    s.set_read_timeout(Some(Duration::from_secs(300)))
        .map_err(io)?;
    write!(
        s,
        "POST /upload?hash=0 HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n{head}"
    )
    .map_err(io)?;
    let mut file = std::fs::File::open(source).map_err(io)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        s.write_all(&buf[..n]).map_err(io)?;
    }
    s.write_all(tail.as_bytes()).map_err(io)?;
    let mut response = Vec::new();
    s.read_to_end(&mut response).map_err(io)?;
    let time = start.elapsed();
    let client_cpu = proc::thread_cpu_ticks().unwrap_or(0).saturating_sub(cpu0) as f64;
    let text = String::from_utf8_lossy(&response);
    if !text.starts_with("HTTP/1.1 200") || !text.contains(&format!("<td>{expect}</td>")) {
        return Err(format!(
            "upload failed: {}",
            text.chars().take(500).collect::<String>()
        ));
    }
    Ok(Upload { time, client_cpu })
}

fn cat_copy(source: &Path, to: &Path) -> Result<Duration, String> {
    let start = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg("cat \"$1\" > \"$2\"")
        .arg("sh")
        .arg(source)
        .arg(to)
        .status()
        .map_err(|e| format!("cat: {e}"))?;
    let elapsed = start.elapsed();
    if !status.success() {
        return Err(format!("cat failed: {status}"));
    }
    Ok(elapsed)
}

/// Wait (bounded) for the server to remove its temporary file.
fn wait_empty(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The upload example; killed (and reaped) when dropped.
struct Server {
    child: Guard,
    addr: SocketAddr,
}

impl Server {
    fn start(exe: &Path, dir: &Path) -> Result<Self, String> {
        let mut child = Guard(
            Command::new(exe)
                .arg("127.0.0.1:0")
                .arg(dir)
                .env("RUST_LOG", "off")
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("start {}: {e}", exe.display()))?,
        );
        let mut line = String::new();
        let stdout = child.0.stdout.take().ok_or("no stdout")?;
        let read = BufReader::new(stdout).read_line(&mut line);
        let addr = read
            .ok()
            .and_then(|_| line.split("http://").nth(1))
            .and_then(|a| a.trim().trim_end_matches('/').parse().ok());
        match addr {
            Some(addr) => Ok(Self { child, addr }),
            None => Err(format!("upload example printed no address: {line:?}")),
        }
    }
}

/// Removes the bench directory (source, copies, uploads) when dropped.
struct RemoveDir(PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
