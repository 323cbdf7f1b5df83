//! `cargo xtask bench c10k`: our `hello` example against the hyper peer with 10,000
//! concurrent keep-alive connections.
//!
//! For every round, ours then hyper (alternating), each pinned to core 0 (wrk and the
//! connection holder on core 1), with the fd limit raised (`ulimit -n 20000` in the
//! launch script), it measures:
//!
//! - under load, on a fresh server: `wrk -t1 -c10000 --latency` (after a 1-connection
//!   warm-up): requests/s, p50/p99 latency, the server's CPU time per request, and memory
//!   per connection: the server's peak RSS during the run (`VmHWM`) minus its RSS before
//!   it, divided by the connections;
//! - idle, on another fresh server: RSS with 10,000 connections open (each did one
//!   request and stays open, held by a child of ours) minus RSS before, divided by the
//!   connections (the `server` suite's idle-connection measure).
//!
//! Loopback only. It prints every round's numbers, then medians and ours/hyper ratios.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::bench_idle::idle_memory;
use crate::proc::{self, Launcher};
use crate::util::{self, Args, median};
use crate::wrk;

const USAGE: &str = "\
usage: cargo xtask bench c10k [options]

  --rounds N         rounds, each running ours then hyper (default 3)
  --duration SECS    length of each wrk run (default 10)
  --connections N    concurrent keep-alive connections (default 10000, at most 19000)
  --no-build         do not run cargo build (binaries must exist)
  --no-nice          do not run the server and wrk at nice -20 in their own sessions
";

/// fd limit asked for the servers, wrk and the holder (`ulimit -n`, else the hard limit).
const NOFILE: u32 = 20_000;

struct Options {
    rounds: usize,
    duration: u64,
    connections: usize,
    build: bool,
    no_nice: bool,
}

/// One server's numbers in one round.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_us: f64,
    /// Peak RSS growth under load per connection.
    load_bytes: f64,
    /// RSS growth per idle connection.
    idle_bytes: f64,
    /// Idle connections the server had closed before RSS was read.
    idle_closed: usize,
    /// wrk socket errors plus non-2xx/3xx answers.
    errors: u64,
}

/// Entry point for `cargo xtask bench c10k ARGS...`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut o = Options {
        rounds: 3,
        duration: 10,
        connections: 10_000,
        build: true,
        no_nice: false,
    };
    let mut args = Args::new(args, USAGE);
    while let Some(a) = args.next() {
        match a {
            "--rounds" => o.rounds = args.num::<usize>("--rounds")?.max(1),
            "--duration" => o.duration = args.num::<u64>("--duration")?.max(1),
            "--connections" => o.connections = args.num::<usize>("--connections")?.max(1),
            "--no-build" => o.build = false,
            "--no-nice" => o.no_nice = true,
            other => return Err(args.unknown(other)),
        }
    }
    if o.connections + 1000 > NOFILE as usize {
        return Err(format!("--connections must be at most {}", NOFILE - 1000));
    }
    let root = util::workspace_root();
    let work = util::target_dir(&root).join("bench-c10k");
    std::fs::create_dir_all(&work).map_err(|e| format!("create {}: {e}", work.display()))?;
    let hyper = if o.build {
        util::build_peer(&root, "hyper-hello", "hyper")?
    } else {
        util::target_dir(&root).join("peers/release/hyper-hello")
    };
    let ours = util::build_example(&root, "hello", o.build)?;
    let hyper = proc::snapshot(&hyper, &work, "hyper-hello")?;
    let ours = proc::snapshot(&ours, &work, "ours-hello")?;
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let holder = proc::snapshot(&exe, &work, "xtask-conn-holder")?;
    wrk::ensure()?;
    let hard = hard_nofile();
    if hard.is_some_and(|h| h < o.connections as u64 + 100) {
        return Err(format!(
            "the hard fd limit ({}) is below {} connections: raise it (ulimit -Hn, as root)",
            hard.unwrap_or(0),
            o.connections
        ));
    }

    let pin = proc::two_cores();
    let nice = !o.no_nice && proc::can_raise_priority();
    let launcher = Launcher {
        pin,
        nice,
        nofile: Some(NOFILE),
    };
    let servers: [(&str, PathBuf); 2] = [("ours", ours), ("hyper", hyper)];
    eprintln!("wrk: {}", wrk::version());
    eprintln!(
        "plan: {} rounds x [ours, hyper], wrk -t1 -c{} -d{}s --latency, {} idle connections, \
         pinning {}",
        o.rounds,
        o.connections,
        o.duration,
        o.connections,
        if pin {
            "server->core 0, wrk->core 1"
        } else {
            "off"
        },
    );
    let clk_tck = proc::clock_ticks();
    let mut samples = vec![Vec::<Sample>::new(); servers.len()];
    for round in 1..=o.rounds {
        for (si, (name, bin)) in servers.iter().enumerate() {
            eprint!("round {round}/{} {name:<6}", o.rounds);
            let s = measure(&launcher, &work, name, bin, &holder, &o, clk_tck)
                .map_err(|e| format!("{name}: {e}"))?;
            eprintln!(
                " {:>8.0} req/s  p99 {:>8.0} us  {:>6.2} us/req CPU  {:>6.0} B/conn loaded  \
                 {:>6.0} B/conn idle  errors {}",
                s.rps, s.p99_us, s.cpu_us, s.load_bytes, s.idle_bytes, s.errors
            );
            samples[si].push(s);
        }
    }
    println!(
        "server: {p}taskset -c 0, ulimit -n {NOFILE} (fresh process per measure); client: \
         {p}taskset -c 1 wrk -t1 --timeout 5s -c{c} -d{d}s --latency http://127.0.0.1:PORT/; \
         loadavg at end: {l}",
        p = launcher.prefix(),
        c = o.connections,
        d = o.duration,
        l = proc::loadavg()
    );
    print!("{}", report(&samples, &o));
    Ok(())
}

/// The soft limit can be raised up to this (`ulimit -Hn`), when known.
fn hard_nofile() -> Option<u64> {
    let mut c = std::process::Command::new("sh");
    c.args(["-c", "ulimit -Hn"]);
    let (_, out, _) = proc::run_bounded(&mut c, Duration::from_secs(10)).ok()?;
    out.trim().parse().ok()
}

fn measure(
    launcher: &Launcher,
    work: &std::path::Path,
    name: &str,
    bin: &std::path::Path,
    holder: &std::path::Path,
    o: &Options,
    clk_tck: f64,
) -> Result<Sample, String> {
    let life = Duration::from_secs(1800);
    let mut s = Sample::default();

    // Idle connections, on a fresh server.
    {
        let mut server = launcher.server(name, work, bin, &[], life)?;
        let (bytes, closed) = idle_memory(holder, &server, o.connections)
            .map_err(|e| format!("idle connections: {e}"))?;
        server.check_alive()?;
        s.idle_bytes = bytes;
        s.idle_closed = closed;
    }

    // Under load, on another fresh server.
    let mut server = launcher.server(name, work, bin, &[], life)?;
    let url = format!("http://{}/", server.addr);
    wrk(launcher, o, &["-c", "1", "-d", "1s", &url])?;
    std::thread::sleep(Duration::from_millis(300));
    let rss_before = proc::rss_bytes(server.pid())?;
    let conns = o.connections.to_string();
    let dur = format!("{}s", o.duration);
    let cpu_before = proc::cpu_ticks(server.pid())?;
    let r = wrk(launcher, o, &["-c", &conns, "-d", &dur, "--latency", &url])?;
    let cpu_after = proc::cpu_ticks(server.pid())?;
    let hwm = proc::status_kib(server.pid(), "VmHWM")? * 1024;
    server.check_alive()?;
    if r.requests == 0 {
        return Err(format!("wrk completed no request:\n{}", r.raw));
    }
    s.rps = r.rps.unwrap_or(0.0);
    s.p50_us = r
        .p50_us
        .ok_or_else(|| format!("no p50 in wrk output:\n{}", r.raw))?;
    s.p99_us = r
        .p99_us
        .ok_or_else(|| format!("no p99 in wrk output:\n{}", r.raw))?;
    s.cpu_us = (cpu_after - cpu_before) as f64 / clk_tck * 1e6 / r.requests as f64;
    s.load_bytes = hwm.saturating_sub(rss_before) as f64 / o.connections as f64;
    s.errors = r.errors;
    Ok(s)
}

fn wrk(launcher: &Launcher, o: &Options, args: &[&str]) -> Result<wrk::WrkResult, String> {
    wrk::run(launcher, args, Duration::from_secs(o.duration + 60))
}

fn report(samples: &[Vec<Sample>], o: &Options) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\nraw (per round):");
    let _ = writeln!(
        out,
        "{:<6} {:<7} {:>9} {:>9} {:>9} {:>10} {:>12} {:>10} {:>7} {:>7}",
        "round",
        "server",
        "req/s",
        "p50 us",
        "p99 us",
        "CPU us/req",
        "B/conn load",
        "B/idle",
        "closed",
        "errors"
    );
    for round in 0..o.rounds {
        for (name, ss) in ["ours", "hyper"].iter().zip(samples) {
            let s = ss[round];
            let _ = writeln!(
                out,
                "{:<6} {:<7} {:>9.0} {:>9.0} {:>9.0} {:>10.2} {:>12.0} {:>10.0} {:>7} {:>7}",
                round + 1,
                name,
                s.rps,
                s.p50_us,
                s.p99_us,
                s.cpu_us,
                s.load_bytes,
                s.idle_bytes,
                s.idle_closed,
                s.errors
            );
        }
    }
    type Get = fn(&Sample) -> f64;
    let rows: [(&str, Get, usize, &str); 6] = [
        ("req/s", |s| s.rps, 0, ""),
        ("p50 latency us", |s| s.p50_us, 0, ""),
        ("p99 latency us", |s| s.p99_us, 0, "ratio <= 1.0"),
        ("CPU us/request", |s| s.cpu_us, 2, ""),
        ("B/conn under load", |s| s.load_bytes, 0, "ours < 4096"),
        ("B/conn idle", |s| s.idle_bytes, 0, "ours < 4096"),
    ];
    let _ = writeln!(
        out,
        "\nmedians of {} rounds ({} connections, {}s wrk runs):",
        o.rounds, o.connections, o.duration
    );
    let _ = writeln!(
        out,
        "{:<18} {:>10} {:>10} {:>11}  bar",
        "metric", "ours", "hyper", "ours/hyper"
    );
    for (label, get, dec, bar) in rows {
        let m: Vec<f64> = samples
            .iter()
            .map(|ss| median(&ss.iter().map(get).collect::<Vec<_>>()))
            .collect();
        let ratio = m[0] / m[1];
        let verdict = match bar {
            "" => String::new(),
            "ratio <= 1.0" => format!("{bar}: {}", if ratio <= 1.0 { "met" } else { "NOT met" }),
            _ => format!("{bar}: {}", if m[0] < 4096.0 { "met" } else { "NOT met" }),
        };
        let _ = writeln!(
            out,
            "{label:<18} {:>10.dec$} {:>10.dec$} {ratio:>10.3}x  {verdict}",
            m[0], m[1]
        );
    }
    let errors: u64 = samples.iter().flatten().map(|s| s.errors).sum();
    if errors > 0 {
        let _ = writeln!(
            out,
            "warning: wrk reported {errors} errors in total (socket errors include connects \
             refused or timed out while 10,000 connections open at once)"
        );
    }
    let closed: usize = samples.iter().flatten().map(|s| s.idle_closed).sum();
    if closed > 0 {
        let _ = writeln!(
            out,
            "warning: servers closed {closed} idle connections before RSS was read: B/idle \
             undercounts"
        );
    }
    out
}
