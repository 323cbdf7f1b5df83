//! `cargo xtask bench server`: our `hello` example against a hyper 1.x hello server.
//!
//! Builds (release) `examples`' `hello` and the hyper peer in `xtask/peers/hyper-hello`
//! (its own package and lock file, target dir `target/peers`), installs `wrk` if missing,
//! then for every round runs, in order, ours, hyper, and hyper with `pipeline_flush(true)`,
//! each server pinned to core 0 and wrk to core 1, and measures:
//!
//! - requests/s with 64 keep-alive connections, p50/p99 latency (wrk `--latency`), and the
//!   server's CPU time per request (utime+stime from `/proc/PID/stat` over the run, divided
//!   by the requests wrk counted);
//! - requests/s with 16-deep pipelining (`xtask/peers/pipeline.lua`);
//! - connection churn: requests/s and the server's CPU time per request with a new
//!   connection per request (`-c16 -H 'Connection: close'`: accept, registration, close);
//! - resident memory per idle keep-alive connection: a fresh server, VmRSS before and after
//!   5000 connections that each did one request and stay open.
//!
//! It prints every round's numbers, then medians and ours/hyper ratios. Traffic goes to
//! 127.0.0.1 only; every wait is bounded and servers are killed on every exit path.
//!
//! Until the `hello` example exists (or with `--hyper-only`) a second hyper instance stands
//! in for "ours", which makes the run a hyper-vs-hyper noise check.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::bench_idle::{NOFILE, hold_conns_child, idle_memory};
use crate::proc::{self, Launcher, Server};
use crate::util::{self, Args, median};
use crate::wrk;

const USAGE: &str = "\
usage: cargo xtask bench server [options]

  --rounds N         rounds, each running every server once (default 3, minimum 1)
  --duration SECS    length of each wrk run (default 5)
  --connections N    wrk keep-alive connections (default 64)
  --depth N          requests per write in the pipelined run (default 16)
  --idle-conns N     idle connections for the memory measure (default 5000)
  --ours PATH        use this server binary as ours instead of building `hello`
  --hyper-only       run a second hyper instance in place of ours (noise check)
  --no-build         do not run cargo build (binaries must exist)
  --no-nice          do not run the server and wrk at nice -20 in their own sessions
                     (done when root, to keep other work on a shared machine off their
                     cores)
";

const PIPELINE_LUA: &str = include_str!("../peers/pipeline.lua");

/// Entry point for `cargo xtask bench server ARGS...`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("__hold-conns") {
        return hold_conns_child(&args[1..]);
    }
    let opts = Options::parse(args)?;
    let root = util::workspace_root();
    let work_dir = util::target_dir(&root).join("bench-server");
    std::fs::create_dir_all(&work_dir)
        .map_err(|e| format!("create {}: {e}", work_dir.display()))?;

    let (hyper_bin, ours) = build(&root, &opts)?;
    // Run from snapshots: others may rebuild target/ while the bench runs.
    let snap = |bin: &Path, name: &str| proc::snapshot(bin, &work_dir, name);
    let hyper_bin = snap(&hyper_bin, "hyper-hello")?;
    let ours = ours.map(|b| snap(&b, "ours-server")).transpose()?;
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let holder = snap(&exe, "xtask-conn-holder")?;
    wrk::ensure()?;
    let lua = work_dir.join("pipeline.lua");
    std::fs::write(&lua, PIPELINE_LUA).map_err(|e| format!("write {}: {e}", lua.display()))?;

    let pin = proc::two_cores();
    if !pin {
        eprintln!("warning: fewer than 2 cores: running without taskset pinning");
    }
    let clk_tck = proc::clock_ticks();
    let nice = !opts.no_nice && proc::can_raise_priority();
    if !opts.no_nice && !nice {
        eprintln!("note: cannot raise priority (not root?): server and wrk run at normal priority");
    }
    let launcher = Launcher {
        pin,
        nice,
        nofile: Some(NOFILE),
    };

    let (ours_name, ours_spec) = match ours {
        Some(bin) => ("ours", ServerSpec { bin, extra: vec![] }),
        None => (
            "hyper#2",
            ServerSpec {
                bin: hyper_bin.clone(),
                extra: vec![],
            },
        ),
    };
    let servers = [
        (ours_name, ours_spec),
        (
            "hyper",
            ServerSpec {
                bin: hyper_bin.clone(),
                extra: vec![],
            },
        ),
        (
            "hyper-pf",
            ServerSpec {
                bin: hyper_bin,
                extra: vec!["--pipeline-flush".into()],
            },
        ),
    ];
    if ours_name != "ours" {
        eprintln!(
            "note: no `hello` example: \"{ours_name}\" (a second hyper with defaults) stands in for ours"
        );
    }
    eprintln!("wrk: {}", wrk::version());
    eprintln!(
        "plan: {} rounds x [{}], wrk -t1 -c{} -d{}s (+{}-deep pipelined, + -c16 Connection: close), {} idle connections, pinning {}",
        opts.rounds,
        servers.iter().map(|s| s.0).collect::<Vec<_>>().join(", "),
        opts.connections,
        opts.duration,
        opts.depth,
        opts.idle_conns,
        if pin {
            "server->core 0, wrk->core 1"
        } else {
            "off"
        },
    );

    let ctx = Ctx {
        opts: &opts,
        launcher,
        clk_tck,
        lua: &lua,
        work_dir: &work_dir,
        holder: &holder,
    };
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); servers.len()];
    let started = Instant::now();
    for round in 1..=opts.rounds {
        for (i, (name, spec)) in servers.iter().enumerate() {
            eprint!("round {round}/{} {name:<8} ", opts.rounds);
            let s = measure(&ctx, name, spec)?;
            eprintln!(
                "{:>9.0} req/s  {:>6.2} us/req CPU  pipelined {:>9.0} req/s  close {:>7.0} req/s {:>6.2} us/req CPU  {:>7.0} B/idle conn  waited {:.1}%/{:.1}%",
                s.rps,
                s.cpu_us,
                s.pipe_rps,
                s.churn_rps,
                s.churn_cpu_us,
                s.idle_bytes,
                s.srv_wait_pct,
                s.wrk_wait_pct
            );
            samples[i].push(s);
        }
    }
    eprintln!("measured in {:.0} s", started.elapsed().as_secs_f64());
    println!(
        "server: {n}taskset -c 0 (fresh process per measure); client: {n}taskset -c 1 wrk -t1 -c{c} \
         -d{d}s --latency | -s pipeline.lua -- {p} | -c16 -H 'Connection: close'; loadavg at end: {l}",
        n = launcher.prefix(),
        c = opts.connections,
        d = opts.duration,
        p = opts.depth,
        l = proc::loadavg()
    );

    let names: Vec<&str> = servers.iter().map(|s| s.0).collect();
    print!("{}", report(&names, &samples, &opts));
    Ok(())
}

#[derive(Debug)]
struct Options {
    rounds: usize,
    duration: u64,
    connections: usize,
    depth: usize,
    idle_conns: usize,
    ours: Option<PathBuf>,
    hyper_only: bool,
    no_build: bool,
    no_nice: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut o = Self {
            rounds: 3,
            duration: 5,
            connections: 64,
            depth: 16,
            idle_conns: 5000,
            ours: None,
            hyper_only: false,
            no_build: false,
            no_nice: false,
        };
        let mut args = Args::new(args, USAGE);
        while let Some(a) = args.next() {
            match a {
                "--rounds" => o.rounds = args.num("--rounds")?,
                "--duration" => o.duration = args.num("--duration")?,
                "--connections" => o.connections = args.num("--connections")?,
                "--depth" => o.depth = args.num("--depth")?,
                "--idle-conns" => o.idle_conns = args.num("--idle-conns")?,
                "--ours" => o.ours = Some(PathBuf::from(args.value("--ours")?)),
                "--hyper-only" => o.hyper_only = true,
                "--no-build" => o.no_build = true,
                "--no-nice" => o.no_nice = true,
                other => return Err(args.unknown(other)),
            }
        }
        if o.rounds == 0 || o.duration == 0 || o.connections == 0 || o.depth == 0 {
            return Err(format!(
                "rounds, duration, connections and depth must be > 0\n{USAGE}"
            ));
        }
        if o.idle_conns + 100 > NOFILE as usize {
            return Err(format!("--idle-conns must be below {}", NOFILE - 100));
        }
        Ok(o)
    }
}

struct Ctx<'a> {
    opts: &'a Options,
    /// Pinning (server on core 0, wrk on core 1), nice -20 (root only), fd limit.
    launcher: Launcher,
    clk_tck: f64,
    lua: &'a Path,
    work_dir: &'a Path,
    /// Copy of this executable, run as the `__hold-conns` child.
    holder: &'a Path,
}

impl Ctx<'_> {
    /// A fresh `spec` server pinned to core 0 (with a 30-minute watchdog when it runs in a
    /// session of its own).
    fn start(&self, name: &str, spec: &ServerSpec) -> Result<Server, String> {
        let max_life = Duration::from_secs(30 * 60);
        (self.launcher).server(name, self.work_dir, &spec.bin, &spec.extra, max_life)
    }
}

#[derive(Debug)]
struct ServerSpec {
    bin: PathBuf,
    /// Arguments after the listen address.
    extra: Vec<String>,
}

/// One server's numbers in one round.
#[derive(Debug, Clone, Default)]
struct Sample {
    rps: f64,
    cpu_us: f64,
    p50_us: f64,
    p99_us: f64,
    pipe_rps: f64,
    idle_bytes: f64,
    /// Socket errors plus non-2xx/3xx responses, keep-alive run.
    errors: u64,
    /// Same, pipelined run.
    pipe_errors: u64,
    /// Requests/s and CPU µs per request with `Connection: close` (a connection each).
    churn_rps: f64,
    churn_cpu_us: f64,
    /// Idle connections the server had closed by the time RSS was read.
    idle_closed: usize,
    /// Percent of the keep-alive run the server's threads spent runnable but waiting for
    /// the CPU (other processes on the machine took it): high values mean a noisy sample.
    srv_wait_pct: f64,
    /// Same for wrk: wrk is usually the bottleneck, so this one hits req/s directly.
    wrk_wait_pct: f64,
}

// ---------------------------------------------------------------------------------------
// Building and tools

/// Builds the hyper peer and (unless told otherwise) our hello example; returns the hyper
/// binary and ours (`None`: no hello example, hyper stands in).
fn build(root: &Path, opts: &Options) -> Result<(PathBuf, Option<PathBuf>), String> {
    let target = util::target_dir(root);
    let hyper_bin = if opts.no_build {
        target.join("peers").join("release").join("hyper-hello")
    } else {
        util::build_peer(root, "hyper-hello", "hyper")?
    };
    if !hyper_bin.is_file() {
        return Err(format!("{} missing", hyper_bin.display()));
    }

    if opts.hyper_only {
        return Ok((hyper_bin, None));
    }
    if let Some(p) = &opts.ours {
        if !p.is_file() {
            return Err(format!("--ours {}: no such file", p.display()));
        }
        return Ok((hyper_bin, Some(p.clone())));
    }
    let ours = target.join("release").join("examples").join("hello");
    if !opts.no_build {
        eprintln!("building our hello example (release)...");
        let mut cmd = util::cargo_cmd(root);
        cmd.args(["build", "--release", "-p", "examples", "--example", "hello"]);
        let (st, _, err) = proc::run_bounded(&mut cmd, Duration::from_secs(900))?;
        if !st.success() {
            // A missing package/example is expected until it lands; anything else is an error.
            let missing = err.contains("did not match any packages")
                || err.contains("no example target named")
                || err.contains("package(s) `examples` not found");
            if missing {
                eprintln!("note: the `hello` example does not exist yet");
                return Ok((hyper_bin, None));
            }
            return Err(format!("building hello failed ({st}):\n{err}"));
        }
    }
    if ours.is_file() {
        Ok((hyper_bin, Some(ours)))
    } else if opts.no_build {
        eprintln!("note: {} missing", ours.display());
        Ok((hyper_bin, None))
    } else {
        Err(format!("{} missing after build", ours.display()))
    }
}

// ---------------------------------------------------------------------------------------
// Measuring

fn measure(ctx: &Ctx<'_>, name: &str, spec: &ServerSpec) -> Result<Sample, String> {
    let mut s = Sample::default();

    // Memory per idle connection, on a fresh server.
    {
        let mut server = ctx.start(name, spec)?;
        let (bytes, closed) = idle_memory(ctx.holder, &server, ctx.opts.idle_conns)
            .map_err(|e| format!("{name}: idle connections: {e}"))?;
        server.check_alive()?;
        s.idle_bytes = bytes;
        s.idle_closed = closed;
    }

    // Throughput, CPU, latency, pipelining on another fresh server.
    let mut server = ctx.start(name, spec)?;
    let url = format!("http://{}/", server.addr);
    let conns = ctx.opts.connections.to_string();
    // Short warm-up, not recorded.
    wrk(ctx, &["-c", &conns, "-d", "1s", &url])?;
    server.check_alive()?;

    let dur = format!("{}s", ctx.opts.duration);
    let before = proc::cpu_ticks(server.pid())?;
    let wait_before = proc::run_queue_wait_ns(server.pid()).unwrap_or(0);
    let t0 = Instant::now();
    let r = wrk(ctx, &["-c", &conns, "-d", &dur, "--latency", &url])?;
    let after = proc::cpu_ticks(server.pid())?;
    let wait_after = proc::run_queue_wait_ns(server.pid()).unwrap_or(0);
    let wall_ns = t0.elapsed().as_nanos().max(1) as f64;
    s.srv_wait_pct = wait_after.saturating_sub(wait_before) as f64 * 100.0 / wall_ns;
    s.wrk_wait_pct = r.wait_ns as f64 * 100.0 / wall_ns;
    server.check_alive()?;
    if r.requests == 0 {
        return Err(format!("{name}: wrk completed no request:\n{}", r.raw));
    }
    s.rps = r.rps.unwrap_or(0.0);
    s.cpu_us = (after - before) as f64 / ctx.clk_tck * 1e6 / r.requests as f64;
    s.p50_us = r
        .p50_us
        .ok_or_else(|| format!("{name}: no p50 in wrk output:\n{}", r.raw))?;
    s.p99_us = r
        .p99_us
        .ok_or_else(|| format!("{name}: no p99 in wrk output:\n{}", r.raw))?;
    s.errors = r.errors;

    let lua = ctx.lua.to_string_lossy();
    let depth = ctx.opts.depth.to_string();
    let p = wrk(
        ctx,
        &["-c", &conns, "-d", &dur, "-s", &lua, &url, "--", &depth],
    )?;
    server.check_alive()?;
    if p.requests == 0 {
        return Err(format!(
            "{name}: pipelined wrk completed no request:\n{}",
            p.raw
        ));
    }
    s.pipe_rps = p.rps.unwrap_or(0.0);
    s.pipe_errors = p.errors;

    // Connection churn: a new connection per request.
    let before = proc::cpu_ticks(server.pid())?;
    let c = wrk(
        ctx,
        &["-c", "16", "-d", &dur, "-H", "Connection: close", &url],
    )?;
    let after = proc::cpu_ticks(server.pid())?;
    server.check_alive()?;
    if c.requests == 0 {
        return Err(format!(
            "{name}: churn wrk completed no request:\n{}",
            c.raw
        ));
    }
    s.churn_rps = c.rps.unwrap_or(0.0);
    s.churn_cpu_us = (after - before) as f64 / ctx.clk_tck * 1e6 / c.requests as f64;
    Ok(s)
}

fn wrk(ctx: &Ctx<'_>, args: &[&str]) -> Result<wrk::WrkResult, String> {
    let bound = Duration::from_secs(ctx.opts.duration + 30);
    wrk::run(&ctx.launcher, args, bound)
}

// ---------------------------------------------------------------------------------------
// Report

fn report(names: &[&str], samples: &[Vec<Sample>], opts: &Options) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "\nraw (per round):");
    let _ = writeln!(
        o,
        "{:<6} {:<9} {:>10} {:>10} {:>9} {:>9} {:>12} {:>10} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "round",
        "server",
        "req/s",
        "CPU us/req",
        "p50 us",
        "p99 us",
        "pipe req/s",
        "B/idle",
        "errors",
        "p.err",
        "closed",
        "srv.w%",
        "wrk.w%"
    );
    for round in 0..opts.rounds {
        for (name, ss) in names.iter().zip(samples) {
            let s = &ss[round];
            let _ = writeln!(
                o,
                "{:<6} {:<9} {:>10.0} {:>10.3} {:>9.0} {:>9.0} {:>12.0} {:>10.0} {:>7} {:>7} {:>7} {:>7.1} {:>7.1}",
                round + 1,
                name,
                s.rps,
                s.cpu_us,
                s.p50_us,
                s.p99_us,
                s.pipe_rps,
                s.idle_bytes,
                s.errors,
                s.pipe_errors,
                s.idle_closed,
                s.srv_wait_pct,
                s.wrk_wait_pct
            );
        }
    }

    type Get = fn(&Sample) -> f64;
    // (label, getter, decimals, bar: ratio column index (0 = vs hyper, 1 = vs hyper-pf) and
    // predicate on the ratio, or an absolute predicate on ours)
    enum Bar {
        None,
        Ratio(usize, &'static str, fn(f64) -> bool),
        Abs(&'static str, fn(f64) -> bool),
    }
    let rows: [(&str, Get, usize, Bar); 8] = [
        (
            "req/s (keep-alive)",
            |s| s.rps,
            0,
            Bar::Ratio(0, ">= 1.0x hyper", |r| r >= 1.0),
        ),
        (
            "CPU us/request",
            |s| s.cpu_us,
            3,
            Bar::Ratio(0, "<= 0.9x hyper", |r| r <= 0.9),
        ),
        (
            "req/s (pipelined)",
            |s| s.pipe_rps,
            0,
            Bar::Ratio(1, ">= 1.2x hyper-pf", |r| r >= 1.2),
        ),
        ("req/s (close)", |s| s.churn_rps, 0, Bar::None),
        (
            "CPU us/req (close)",
            |s| s.churn_cpu_us,
            3,
            Bar::Ratio(0, "<= 1.0x hyper", |r| r <= 1.0),
        ),
        ("p50 latency us", |s| s.p50_us, 0, Bar::None),
        (
            "p99 latency us",
            |s| s.p99_us,
            0,
            Bar::Ratio(0, "<= 1.0x hyper", |r| r <= 1.0),
        ),
        (
            "bytes/idle conn",
            |s| s.idle_bytes,
            0,
            Bar::Abs("< 4096 B", |v| v < 4096.0),
        ),
    ];
    let _ = writeln!(
        o,
        "\nmedians of {} rounds ({}s wrk runs, -c{}, pipeline depth {}, {} idle conns):",
        opts.rounds, opts.duration, opts.connections, opts.depth, opts.idle_conns
    );
    let ours = names[0];
    let _ = writeln!(
        o,
        "{:<20} {:>10} {:>10} {:>10} {:>11} {:>14}  bar",
        "metric",
        ours,
        names[1],
        names[2],
        format!("{ours}/{}", names[1]),
        format!("{ours}/{}", names[2]),
    );
    for (label, get, dec, bar) in rows {
        let m: Vec<f64> = samples
            .iter()
            .map(|ss| median(&ss.iter().map(get).collect::<Vec<_>>()))
            .collect();
        let ratios = [m[0] / m[1], m[0] / m[2]];
        let verdict = match bar {
            Bar::None => String::new(),
            Bar::Ratio(i, text, ok) => {
                format!("{text}: {}", if ok(ratios[i]) { "met" } else { "NOT met" })
            }
            Bar::Abs(text, ok) => format!("{text}: {}", if ok(m[0]) { "met" } else { "NOT met" }),
        };
        let _ = writeln!(
            o,
            "{:<20} {:>10.dec$} {:>10.dec$} {:>10.dec$} {:>11.3} {:>14.3}  {}",
            label, m[0], m[1], m[2], ratios[0], ratios[1], verdict
        );
    }
    let errors: u64 = samples
        .iter()
        .flatten()
        .map(|s| s.errors + s.pipe_errors)
        .sum();
    let closed: usize = samples.iter().flatten().map(|s| s.idle_closed).sum();
    if errors > 0 {
        let _ = writeln!(
            o,
            "warning: wrk reported {errors} errors in total (see raw table)"
        );
    }
    let noisy = samples
        .iter()
        .flatten()
        .filter(|s| s.srv_wait_pct > 5.0 || s.wrk_wait_pct > 5.0)
        .count();
    if noisy > 0 {
        let _ = writeln!(
            o,
            "warning: in {noisy} keep-alive runs the server or wrk waited >5% of the time for a CPU \
             (srv.w%/wrk.w%: other load on the machine): req/s and latency are unreliable there; \
             CPU us/request is the sturdier number"
        );
    }
    if closed > 0 {
        let _ = writeln!(
            o,
            "warning: servers closed {closed} idle connections before RSS was read: bytes/idle conn undercounts"
        );
    }
    if ours != "ours" {
        let _ = writeln!(
            o,
            "note: {ours} is a second hyper (defaults) standing in for our hello"
        );
    }
    o
}
