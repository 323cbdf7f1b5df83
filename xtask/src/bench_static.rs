//! `cargo xtask bench static`: static files and large in-memory bodies, side by side.
//!
//! - Our `static_files` example (the router's `Files` over a temporary directory) against
//!   Debian's nginx (installed with apt-get when missing), run with its own configuration
//!   and prefix in the bench directory: one process (`master_process off`, so the pid
//!   measured is the one serving), `sendfile on`, `tcp_nopush on`, `open_file_cache`,
//!   no access log. Cases: a 4 KiB file, a 1 MiB file, and a 64 KiB `Range` request
//!   into a 100 MiB file.
//! - `/mem`: a 1 MiB `Response::bytes` against the hyper peer's `/mem` (the same bytes).
//!
//! Every server runs pinned to core 0 and wrk to core 1 (when there are 2 cores), at nice
//! -20 in a session of its own when root; a fresh process per measure, 1 s of warm-up,
//! then one measured wrk run. CPU per request is the server's utime+stime from
//! `/proc/PID/stat` over the run divided by the requests wrk counted. Rounds alternate
//! the servers; the report gives medians and ours/peer ratios (req/s: above 1 is better;
//! CPU: below 1 is better). Wall-clock figures on a shared machine are noisy.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::proc::{self, Launcher, Server};
use crate::util::{Args, cargo_cmd, quantile_by, target_dir, workspace_root};
use crate::wrk;

const USAGE: &str = "\
usage: cargo xtask bench static [OPTIONS]

  --duration SECS    length of each wrk run (default 5)
  --rounds N         alternating rounds (default 3)
  --connections N    wrk keep-alive connections for every case (default: 64 for the
                     4 KiB file, 16 for the large bodies)
  --only NAME        run one case: 4k, 1m, range, mem
  --no-build         do not build (binaries must exist)
";

/// A measured case: name, path, extra wrk header, connections, peer.
struct Case {
    name: &'static str,
    path: &'static str,
    header: Option<&'static str>,
    conns: u32,
    peer: Peer,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Peer {
    Nginx,
    Hyper,
}

const CASES: &[Case] = &[
    Case {
        name: "4k",
        path: "/files/4k.bin",
        header: None,
        conns: 64,
        peer: Peer::Nginx,
    },
    Case {
        name: "1m",
        path: "/files/1m.bin",
        header: None,
        conns: 16,
        peer: Peer::Nginx,
    },
    Case {
        name: "range",
        path: "/files/100m.bin",
        header: Some("Range: bytes=52428800-52494335"),
        conns: 16,
        peer: Peer::Nginx,
    },
    Case {
        name: "mem",
        path: "/mem",
        header: None,
        conns: 16,
        peer: Peer::Hyper,
    },
];

struct Options {
    duration: u32,
    rounds: u32,
    connections: Option<u32>,
    only: Option<String>,
    build: bool,
}

/// What one server needs to start.
struct Bins {
    ours: PathBuf,
    hyper: PathBuf,
    nginx: PathBuf,
    www: PathBuf,
    work: PathBuf,
}

/// Entry point for `cargo xtask bench static ARGS...`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut opts = Options {
        duration: 5,
        rounds: 3,
        connections: None,
        only: None,
        build: true,
    };
    let mut args = Args::new(args, USAGE);
    while let Some(a) = args.next() {
        match a {
            "--duration" => opts.duration = args.num::<u32>("--duration")?.max(1),
            "--rounds" => opts.rounds = args.num::<u32>("--rounds")?.max(1),
            "--connections" => opts.connections = Some(args.num::<u32>("--connections")?.max(1)),
            "--only" => opts.only = Some(args.value("--only")?),
            "--no-build" => opts.build = false,
            other => return Err(args.unknown(other)),
        }
    }
    let root = workspace_root();
    let work = target_dir(&root).join("bench-static");
    std::fs::create_dir_all(&work).map_err(|e| format!("create {}: {e}", work.display()))?;
    let hyper = if opts.build {
        eprintln!("building the static_files example (release)...");
        let mut cmd = cargo_cmd(&root);
        cmd.args([
            "build",
            "--release",
            "-p",
            "examples",
            "--example",
            "static_files",
        ]);
        let st = proc::wait_status(&mut cmd, Duration::from_secs(900))?;
        if !st.success() {
            return Err(format!("building static_files failed ({st})"));
        }
        crate::util::build_peer(&root, "hyper-hello", "hyper")?
    } else {
        target_dir(&root).join("peers/release/hyper-hello")
    };
    let examples = target_dir(&root).join("release").join("examples");
    let bins = Bins {
        ours: proc::snapshot(&examples.join("static_files"), &work, "static_files")?,
        hyper: proc::snapshot(&hyper, &work, "hyper-hello")?,
        nginx: ensure_nginx()?,
        www: make_files(&work)?,
        work: work.clone(),
    };
    wrk::ensure()?;
    let pin = proc::two_cores() && crate::util::succeeds("taskset", &["-c", "0", "true"]);
    let nice = proc::can_raise_priority();
    let launcher = Launcher {
        pin,
        nice,
        nofile: Some(20_000),
    };
    let cases: Vec<&Case> = CASES
        .iter()
        .filter(|c| opts.only.as_deref().is_none_or(|o| o == c.name))
        .collect();
    if cases.is_empty() {
        return Err(format!("no case named {:?}\n{USAGE}", opts.only));
    }
    eprintln!(
        "wrk: {}; nginx: {}",
        wrk::version(),
        nginx_version(&bins.nginx)
    );
    eprintln!(
        "plan: {} rounds x [ours, peer] per case, wrk -t1 -d{}s, pinning {}, nice {}",
        opts.rounds,
        opts.duration,
        if pin {
            "server->core 0, wrk->core 1"
        } else {
            "off"
        },
        if nice { "-20" } else { "off (not root)" },
    );

    let mut rows = Vec::new();
    for case in cases {
        let conns = opts.connections.unwrap_or(case.conns);
        let mut ours = Vec::new();
        let mut peer = Vec::new();
        for round in 1..=opts.rounds {
            for is_ours in [true, false] {
                let name = if is_ours {
                    "ours"
                } else {
                    peer_name(case.peer)
                };
                let s = measure(&bins, case, is_ours, conns, &opts, &launcher)
                    .map_err(|e| format!("{} {name}: {e}", case.name))?;
                eprintln!(
                    "round {round} {:<5} {name:<5} {:>9.0} req/s {:>8.2} µs CPU/request {:>8.1} MB/s",
                    case.name, s.rps, s.cpu_us, s.mb_s
                );
                if is_ours { &mut ours } else { &mut peer }.push(s);
            }
        }
        rows.push((case, conns, ours, peer));
    }

    println!();
    println!(
        "| case | peer | ours req/s | peer req/s | req/s ratio | ours CPU µs/req | peer CPU µs/req | CPU ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (case, conns, ours, peer) in &rows {
        let med =
            |v: &[Sample], f: fn(&Sample) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
        let paired = |f: fn(&Sample) -> f64| {
            median(
                &ours
                    .iter()
                    .zip(peer)
                    .map(|(o, p)| f(o) / f(p))
                    .collect::<Vec<_>>(),
            )
        };
        println!(
            "| {} (-c{conns}) | {} | {:.0} | {:.0} | {:.2}x | {:.2} | {:.2} | {:.2}x |",
            case.name,
            peer_name(case.peer),
            med(ours, |s| s.rps),
            med(peer, |s| s.rps),
            paired(|s| s.rps),
            med(ours, |s| s.cpu_us),
            med(peer, |s| s.cpu_us),
            paired(|s| s.cpu_us),
        );
    }
    println!(
        "\nmedians of {} rounds; ratios are medians of the per-round ours/peer ratios. \
         command: taskset -c 0 SERVER; taskset -c 1 wrk -t1 -cN -d{}s [-H RANGE] URL; loadavg at end: {}",
        opts.rounds,
        opts.duration,
        proc::loadavg()
    );
    Ok(())
}

fn peer_name(p: Peer) -> &'static str {
    match p {
        Peer::Nginx => "nginx",
        Peer::Hyper => "hyper",
    }
}

/// One measure.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rps: f64,
    cpu_us: f64,
    mb_s: f64,
}

fn measure(
    bins: &Bins,
    case: &Case,
    ours: bool,
    conns: u32,
    opts: &Options,
    launcher: &Launcher,
) -> Result<Sample, String> {
    let name = if ours { "ours" } else { peer_name(case.peer) };
    let log = bins.work.join(format!("{}-{name}.log", case.name));
    let watchdog = launcher.nice.then_some(Duration::from_secs(30 * 60));
    let server = Server::start(name, log, watchdog, |addr| {
        let mut c = launcher.command(0);
        match (ours, case.peer) {
            (true, _) => {
                c.arg(&bins.ours).arg(addr.to_string()).arg(&bins.www);
            }
            (false, Peer::Hyper) => {
                c.arg(&bins.hyper).arg(addr.to_string());
            }
            (false, Peer::Nginx) => {
                let prefix = bins.work.join("nginx");
                let conf = nginx_conf(&prefix, &bins.www, &addr.to_string());
                let path = prefix.join("nginx.conf");
                let _ = std::fs::create_dir_all(prefix.join("tmp"));
                let _ = std::fs::write(&path, conf);
                c.arg(&bins.nginx)
                    .arg("-p")
                    .arg(&prefix)
                    .arg("-c")
                    .arg(&path);
            }
        }
        c.env("RUST_LOG", "off");
        c
    })?;
    let url = format!("http://{}{}", server.addr, case.path);
    let conns = conns.to_string();
    let bound = Duration::from_secs(u64::from(opts.duration) + 30);
    let wrk = |dur: &str| {
        let mut a = vec!["-c", &conns, "-d", dur];
        if let Some(h) = case.header {
            a.extend(["-H", h]);
        }
        a.push(&url);
        wrk::run(launcher, &a, bound)
    };
    wrk("1s")?;
    let pid = server.pid();
    let cpu0 = proc::cpu_ticks(pid)?;
    let out = wrk(&format!("{}s", opts.duration))?;
    let cpu1 = proc::cpu_ticks(pid)?;
    if out.errors > 0 {
        return Err(format!("errors or non-2xx answers:\n{}", out.raw));
    }
    if out.requests == 0 {
        return Err(format!("no request completed:\n{}", out.raw));
    }
    let rps = out
        .rps
        .ok_or_else(|| format!("no Requests/sec in wrk output:\n{}", out.raw))?;
    let mb_s = out
        .raw
        .lines()
        .find_map(|l| l.trim().strip_prefix("Transfer/sec:"))
        .and_then(parse_size)
        .unwrap_or(f64::NAN)
        / 1e6;
    let cpu_us = (cpu1 - cpu0) as f64 * 1e6 / proc::clock_ticks() / out.requests as f64;
    Ok(Sample { rps, cpu_us, mb_s })
}

/// wrk's `12.34MB` into bytes.
fn parse_size(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().ok()?;
    let scale = match unit {
        "B" => 1.0,
        "KB" => 1024.0,
        "MB" => 1024.0 * 1024.0,
        "GB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(n * scale)
}

/// nginx's configuration: one process serving `www` under `/files/` on `addr`.
fn nginx_conf(prefix: &Path, www: &Path, addr: &str) -> String {
    let p = prefix.display();
    let w = www.display();
    format!(
        "worker_processes 1;\n\
         master_process off;\n\
         daemon off;\n\
         error_log {p}/error.log warn;\n\
         pid {p}/nginx.pid;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n\
         \x20 access_log off;\n\
         \x20 sendfile on;\n\
         \x20 tcp_nopush on;\n\
         \x20 keepalive_requests 10000000;\n\
         \x20 open_file_cache max=1000 inactive=20s;\n\
         \x20 default_type application/octet-stream;\n\
         \x20 client_body_temp_path {p}/tmp;\n\
         \x20 server {{\n\
         \x20   listen {addr};\n\
         \x20   location /files/ {{ alias {w}/; }}\n\
         \x20 }}\n\
         }}\n"
    )
}

/// nginx, installed with apt-get (Debian's `nginx-light`) when missing.
fn ensure_nginx() -> Result<PathBuf, String> {
    let find = || {
        ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
    };
    if let Some(p) = find() {
        return Ok(p);
    }
    eprintln!("nginx missing: apt-get install -y nginx-light");
    let install = || {
        let mut c = Command::new("apt-get");
        c.args(["install", "-y", "nginx-light"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        proc::wait_status(&mut c, Duration::from_secs(600))
    };
    if !install()?.success() {
        let mut c = Command::new("apt-get");
        c.arg("update").env("DEBIAN_FRONTEND", "noninteractive");
        proc::wait_status(&mut c, Duration::from_secs(600))?;
        install()?;
    }
    find().ok_or_else(|| "could not install nginx (apt-get install -y nginx-light)".into())
}

fn nginx_version(bin: &Path) -> String {
    let mut c = Command::new(bin);
    c.arg("-v");
    match proc::run_bounded(&mut c, Duration::from_secs(10)) {
        Ok((_, out, err)) => format!("{out}{err}").trim().to_string(),
        Err(e) => e,
    }
}

/// The served directory: `4k.bin`, `1m.bin` and `100m.bin` of pseudo-random bytes (made
/// once, kept between runs).
fn make_files(work: &Path) -> Result<PathBuf, String> {
    let www = work.join("www");
    std::fs::create_dir_all(&www).map_err(|e| format!("create {}: {e}", www.display()))?;
    for (name, len) in [
        ("4k.bin", 4096usize),
        ("1m.bin", 1 << 20),
        ("100m.bin", 100 << 20),
    ] {
        let path = www.join(name);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == len as u64) {
            continue;
        }
        let mut x: u32 = 0x9e37_79b9;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        std::fs::write(&path, data).map_err(|e| format!("write {}: {e}", path.display()))?;
    }
    Ok(www)
}

/// The upper median.
fn median(v: &[f64]) -> f64 {
    quantile_by(v, 0.5, f64::total_cmp).unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_config() {
        assert_eq!(parse_size("1.50MB"), Some(1.5 * 1024.0 * 1024.0));
        assert_eq!(parse_size("10B"), Some(10.0));
        assert_eq!(parse_size("x"), None);
        let conf = nginx_conf(Path::new("/p"), Path::new("/w"), "127.0.0.1:1");
        assert!(conf.contains("sendfile on;") && conf.contains("listen 127.0.0.1:1;"));
        assert!(conf.contains("alias /w/;") && conf.contains("worker_processes 1;"));
    }
}
