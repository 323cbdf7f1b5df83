//! `cargo xtask bench tls`: our server over TLS (the `hello_tls` example: h1-server's
//! `tls` feature, futures-rustls with the ring provider) against hyper + tokio-rustls
//! (the peer in `xtask/peers/hyper-hello` with `--tls`, the same rustls version and
//! provider), under wrk over https.
//!
//! A self-signed ECDSA P-256 certificate is made at bench time with `openssl req`. For
//! every round, ours then hyper (alternating), each on a fresh server pinned to core 0 and
//! wrk to core 1, it measures requests/s and the server's CPU time per request for:
//!
//! - `handshake`: a new connection (and full TLS handshake) per request (`Connection:
//!   close`);
//! - `keep-alive`: keep-alive `GET /` over TLS;
//! - `1 MiB`: keep-alive `GET /1m`, a 1 MiB in-memory body (the same bytes from both).
//!
//! It prints every round's numbers, then medians and ours/hyper ratios.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::proc::{self, Launcher, Server};
use crate::util::{self, Args, median};
use crate::wrk;

const USAGE: &str = "\
usage: cargo xtask bench tls [options]

  --rounds N         rounds, each running ours then hyper (default 3)
  --duration SECS    length of each wrk run (default 5)
  --connections N    wrk connections for the handshake and keep-alive runs (default 64)
  --big-connections N  wrk connections for the 1 MiB run (default 16)
  --no-build         do not run cargo build (binaries must exist)
  --no-nice          do not run the server and wrk at nice -20 in their own sessions
";

struct Options {
    rounds: usize,
    duration: u64,
    connections: usize,
    big_connections: usize,
    build: bool,
    no_nice: bool,
}

/// The workloads: (label, path, extra wrk arguments).
const WORKLOADS: [(&str, &str, &[&str]); 3] = [
    ("handshake", "/", &["-H", "Connection: close"]),
    ("keep-alive", "/", &[]),
    ("1 MiB", "/1m", &[]),
];

/// One wrk run's figures.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    rps: f64,
    cpu_us: f64,
    errors: u64,
}

/// Entry point for `cargo xtask bench tls ARGS...`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut o = Options {
        rounds: 3,
        duration: 5,
        connections: 64,
        big_connections: 16,
        build: true,
        no_nice: false,
    };
    let mut args = Args::new(args, USAGE);
    while let Some(a) = args.next() {
        match a {
            "--rounds" => o.rounds = args.num::<usize>("--rounds")?.max(1),
            "--duration" => o.duration = args.num::<u64>("--duration")?.max(1),
            "--connections" => o.connections = args.num::<usize>("--connections")?.max(1),
            "--big-connections" => {
                o.big_connections = args.num::<usize>("--big-connections")?.max(1)
            }
            "--no-build" => o.build = false,
            "--no-nice" => o.no_nice = true,
            other => return Err(args.unknown(other)),
        }
    }
    let root = util::workspace_root();
    let work = util::target_dir(&root).join("bench-tls");
    std::fs::create_dir_all(&work).map_err(|e| format!("create {}: {e}", work.display()))?;

    let hyper = if o.build {
        util::build_peer(&root, "hyper-hello", "hyper")?
    } else {
        util::target_dir(&root).join("peers/release/hyper-hello")
    };
    let ours = util::build_example(&root, "hello_tls", o.build)?;
    let hyper = proc::snapshot(&hyper, &work, "hyper-hello")?;
    let ours = proc::snapshot(&ours, &work, "ours-hello-tls")?;
    wrk::ensure()?;
    let (cert, key) = self_signed(&work)?;

    let pin = proc::two_cores();
    let nice = !o.no_nice && proc::can_raise_priority();
    let launcher = Launcher {
        pin,
        nice,
        nofile: Some(20_000),
    };
    let c = |p: &Path| p.to_string_lossy().into_owned();
    let servers: [(&str, PathBuf, Vec<String>); 2] = [
        ("ours", ours, vec![c(&cert), c(&key)]),
        ("hyper", hyper, vec!["--tls".into(), c(&cert), c(&key)]),
    ];
    eprintln!("wrk: {}", wrk::version());
    eprintln!(
        "plan: {} rounds x [ours, hyper] x [handshake -c{n}, keep-alive -c{n}, 1 MiB -c{b}], \
         wrk -t1 -d{d}s over https, pinning {}",
        o.rounds,
        if pin {
            "server->core 0, wrk->core 1"
        } else {
            "off"
        },
        n = o.connections,
        b = o.big_connections,
        d = o.duration,
    );

    let clk_tck = proc::clock_ticks();
    // samples[server][workload][round]
    let mut samples = vec![vec![Vec::<Run>::new(); WORKLOADS.len()]; servers.len()];
    for round in 1..=o.rounds {
        for (si, (name, bin, extra)) in servers.iter().enumerate() {
            eprint!("round {round}/{} {name:<6}", o.rounds);
            let mut server = launcher.server(name, &work, bin, extra, Duration::from_secs(1800))?;
            let base = format!("https://{}", server.addr);
            // Warm-up, not recorded.
            wrk_cpu(
                &launcher,
                &server,
                &o,
                &["-c", "16", "-d", "1s", &format!("{base}/")],
                clk_tck,
            )?;
            for (wi, (label, path, extra)) in WORKLOADS.iter().enumerate() {
                let conns = if *path == "/1m" {
                    o.big_connections
                } else {
                    o.connections
                };
                let conns = conns.to_string();
                let dur = format!("{}s", o.duration);
                let url = format!("{base}{path}");
                let mut a = vec!["-c", &conns, "-d", &dur];
                a.extend_from_slice(extra);
                a.push(&url);
                let r = wrk_cpu(&launcher, &server, &o, &a, clk_tck)
                    .map_err(|e| format!("{name} {label}: {e}"))?;
                server.check_alive()?;
                eprint!("  {label} {:.0} req/s {:.1} us", r.rps, r.cpu_us);
                samples[si][wi].push(r);
            }
            eprintln!();
        }
    }
    println!(
        "server: {}taskset -c 0 (fresh process per round); client: {}taskset -c 1 wrk -t1 \
         --timeout 5s -d{}s https://127.0.0.1:PORT/ -c{} [-H 'Connection: close'] | /1m -c{}; \
         cert: openssl ECDSA P-256 self-signed; loadavg at end: {}",
        launcher.prefix(),
        launcher.prefix(),
        o.duration,
        o.connections,
        o.big_connections,
        proc::loadavg()
    );
    print!("{}", report(&samples, o.rounds));
    Ok(())
}

/// Runs wrk against `server`; its requests/s and the server's CPU time per request.
fn wrk_cpu(
    launcher: &Launcher,
    server: &Server,
    o: &Options,
    args: &[&str],
    clk_tck: f64,
) -> Result<Run, String> {
    let before = proc::cpu_ticks(server.pid())?;
    let r = wrk::run(launcher, args, Duration::from_secs(o.duration + 30))?;
    let after = proc::cpu_ticks(server.pid())?;
    if r.requests == 0 {
        return Err(format!("wrk completed no request:\n{}", r.raw));
    }
    Ok(Run {
        rps: r.rps.unwrap_or(0.0),
        cpu_us: (after - before) as f64 / clk_tck * 1e6 / r.requests as f64,
        errors: r.errors,
    })
}

/// A self-signed ECDSA P-256 certificate for `localhost` (valid 30 days) and its key, in
/// `dir`, made with `openssl req`.
fn self_signed(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if !proc::have("openssl") {
        return Err(
            "openssl not found (apt-get install -y openssl): it makes the bench's \
                    self-signed certificate"
                .into(),
        );
    }
    let mut c = Command::new("openssl");
    c.args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ])
    .args(["-nodes", "-days", "30", "-subj", "/CN=localhost"])
    .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
    .arg("-keyout")
    .arg(&key)
    .arg("-out")
    .arg(&cert);
    let (st, _, err) = proc::run_bounded(&mut c, Duration::from_secs(60))?;
    if !st.success() {
        return Err(format!("openssl req failed ({st}): {err}"));
    }
    Ok((cert, key))
}

fn report(samples: &[Vec<Vec<Run>>], rounds: usize) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "\nraw (per round):");
    let _ = writeln!(
        o,
        "{:<6} {:<7} {:<11} {:>10} {:>11} {:>7}",
        "round", "server", "workload", "req/s", "CPU us/req", "errors"
    );
    for round in 0..rounds {
        for (name, ss) in ["ours", "hyper"].iter().zip(samples) {
            for ((label, _, _), runs) in WORKLOADS.iter().zip(ss) {
                let r = runs[round];
                let _ = writeln!(
                    o,
                    "{:<6} {:<7} {:<11} {:>10.0} {:>11.2} {:>7}",
                    round + 1,
                    name,
                    label,
                    r.rps,
                    r.cpu_us,
                    r.errors
                );
            }
        }
    }
    let _ = writeln!(o, "\nmedians of {rounds} rounds, ours/hyper:");
    let _ = writeln!(
        o,
        "{:<11} {:>10} {:>10} {:>7} {:>11} {:>11} {:>7}  bar (req/s >= 1.0x)",
        "workload", "ours req/s", "hyper", "ratio", "ours CPU us", "hyper", "ratio"
    );
    for (wi, (label, _, _)) in WORKLOADS.iter().enumerate() {
        let med = |si: usize, f: fn(&Run) -> f64| {
            median(&samples[si][wi].iter().map(f).collect::<Vec<_>>())
        };
        let (ro, rh) = (med(0, |r| r.rps), med(1, |r| r.rps));
        let (co, ch) = (med(0, |r| r.cpu_us), med(1, |r| r.cpu_us));
        let _ = writeln!(
            o,
            "{label:<11} {ro:>10.0} {rh:>10.0} {:>6.2}x {co:>11.2} {ch:>11.2} {:>6.2}x  {}",
            ro / rh,
            co / ch,
            if ro / rh >= 1.0 { "met" } else { "NOT met" }
        );
    }
    let errors: u64 = samples.iter().flatten().flatten().map(|r| r.errors).sum();
    if errors > 0 {
        let _ = writeln!(
            o,
            "warning: wrk reported {errors} errors in total (see raw table)"
        );
    }
    o
}
