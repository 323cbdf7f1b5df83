//! `cargo xtask bench stream`: chunks per second pushed through one h1-stream response,
//! and the latency from `send` to the client's read, beside hyper 1.x streaming the same
//! chunks through a channel-backed body.
//!
//! Builds (release) h1-stream's `stream_server` example and the hyper peer in
//! `xtask/peers/hyper-stream` (its own package and lock file, target dir `target/peers`),
//! and this crate (the client), then for every round runs ours, then hyper, each a fresh server process pinned to
//! core 0 (single-threaded: our `ThreadPool::new(0)`, hyper's current-thread tokio
//! runtime), with the client (this executable, `__client`) pinned to core 1. Per server:
//!
//! - throughput: one request per mode; the server pushes `--size`-byte chunks for
//!   `--secs` seconds then ends the body; the client decodes the chunked framing and counts
//!   payload bytes from the first body byte to the terminal chunk. Our modes: `send` in the
//!   default flushing mode (each chunk released at once; the connection writes whatever
//!   is ready whenever it can), `send` + `flush().await` per chunk (one socket write per
//!   chunk), and `dont_flush` with `flush().await` every `--batch` chunks and with the
//!   high-water mark alone. hyper: `StreamBody` over a bounded `tokio::sync::mpsc`
//!   channel, one `Frame::data` per chunk (hyper writes whatever the channel holds);
//! - latency: `--count` chunks, one every `--interval-us`, each carrying its send time
//!   (wall clock, shared by both processes); the client subtracts it from the time its
//!   `read` returned.
//!
//! It prints every round's numbers, then medians and ratios. Traffic goes to 127.0.0.1
//! only; every wait is bounded and servers are killed on every exit path.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::bench_stream_client::client_child;
use crate::proc::{self, Launcher, Server};
use crate::util::{self, Args, median};

const USAGE: &str = "\
usage: cargo xtask bench stream [options]

  --rounds N         rounds, each running ours then hyper (default 3, minimum 1)
  --secs S           length of each throughput run in seconds (default 2)
  --size BYTES       chunk size (default 64, minimum 8)
  --batch N          chunks per flush().await in the dont_flush batched mode (default 64)
  --count N          chunks in the latency run (default 1000)
  --interval-us U    pause between chunks in the latency run (default 1000)
  --no-build         do not run cargo build (binaries must exist)
  --no-nice          do not run servers and client at nice -20 in their own sessions
                     (done when root, to keep other work on a shared machine off their
                     cores)
";

/// Entry point for `cargo xtask bench stream ARGS...`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("__client") {
        return client_child(&args[1..]);
    }
    let opts = Options::parse(args)?;
    let root = util::workspace_root();
    let work_dir = util::target_dir(&root).join("bench-stream");
    std::fs::create_dir_all(&work_dir)
        .map_err(|e| format!("create {}: {e}", work_dir.display()))?;

    let (ours_bin, hyper_bin, client_bin) = build(&root, &opts)?;
    // Run from snapshots: others may rebuild target/ while the bench runs.
    let snap = |bin: &Path, name: &str| proc::snapshot(bin, &work_dir, name);
    let ours_bin = snap(&ours_bin, "stream_server")?;
    let hyper_bin = snap(&hyper_bin, "hyper-stream")?;
    // The client decodes millions of chunks a second: a release build of this crate.
    let client = snap(&client_bin, "xtask-stream-client")?;

    let pin = proc::two_cores() && proc::have("taskset");
    if !pin {
        eprintln!("warning: fewer than 2 cores or no taskset: running without pinning");
    }
    let nice = !opts.no_nice && proc::can_raise_priority();
    if !opts.no_nice && !nice {
        eprintln!("note: cannot raise priority (not root?): servers and client at normal priority");
    }
    let launcher = Launcher {
        pin,
        nice,
        nofile: None,
    };
    let ctx = Ctx {
        opts: &opts,
        launcher,
        client: &client,
    };
    let servers: [(&str, &Path, &[Mode]); 2] = [
        ("ours", &ours_bin, OUR_MODES),
        ("hyper", &hyper_bin, HYPER_MODES),
    ];
    eprintln!(
        "plan: {} rounds x [ours: {} modes + latency, hyper: {} mode + latency], {}s x {}-byte chunks, \
         latency {} chunks every {} us, pinning {}",
        opts.rounds,
        OUR_MODES.len(),
        HYPER_MODES.len(),
        opts.secs,
        opts.size,
        opts.count,
        opts.interval_us,
        if pin {
            "server->core 0, client->core 1"
        } else {
            "off"
        }
    );

    let started = Instant::now();
    // rounds[r] = (throughput samples in MODES order, latency per server)
    let mut tput: Vec<Vec<Tput>> = Vec::new();
    let mut lat: Vec<Vec<Latency>> = Vec::new();
    for round in 1..=opts.rounds {
        let mut t_round = Vec::new();
        let mut l_round = Vec::new();
        for (name, bin, modes) in &servers {
            let max_life = Duration::from_secs(10 * 60);
            let mut server = launcher.server(name, &work_dir, bin, &[], max_life)?;
            for mode in *modes {
                let target = format!(
                    "/?mode={}&secs={}&size={}&batch={}",
                    mode.query, opts.secs, opts.size, opts.batch
                );
                let t = measure_tput(&ctx, &mut server, &target)?;
                eprintln!(
                    "round {round}/{} {:<44} {:>11.0} chunks/s {:>8.1} MB/s  srv.w {:>4.1}%",
                    opts.rounds,
                    mode.label(opts.batch),
                    t.chunks_per_sec,
                    t.mb_per_sec,
                    t.srv_wait_pct
                );
                t_round.push(t);
            }
            let target = format!(
                "/?mode=paced&count={}&interval_us={}&size={}",
                opts.count, opts.interval_us, opts.size
            );
            let l = measure_latency(&ctx, &mut server, &target)?;
            eprintln!(
                "round {round}/{} {name:<5} latency send->read p50 {:>7.1} us  p99 {:>7.1} us  max {:>7.1} us",
                opts.rounds, l.p50_us, l.p99_us, l.max_us
            );
            l_round.push(l);
        }
        tput.push(t_round);
        lat.push(l_round);
    }
    eprintln!("measured in {:.0} s", started.elapsed().as_secs_f64());
    println!(
        "servers: {n}taskset -c 0, single-threaded (ours: ThreadPool::new(0); hyper: current-thread \
         tokio), fresh process per round; client: {n}taskset -c 1, std TcpStream decoding chunked \
         framing; loadavg at end: {l}",
        n = launcher.prefix(),
        l = proc::loadavg()
    );
    print!("{}", report(&opts, &tput, &lat));
    Ok(())
}

/// One throughput mode: its query (`mode=...`) and how the table names it.
#[derive(Debug)]
struct Mode {
    server: &'static str,
    query: &'static str,
    label: &'static str,
}

impl Mode {
    fn label(&self, batch: usize) -> String {
        format!(
            "{:<5} {}",
            self.server,
            self.label.replace("{batch}", &batch.to_string())
        )
    }
}

/// Indices into the concatenation of [`OUR_MODES`] and [`HYPER_MODES`].
const SEND: usize = 0;
const AWAIT: usize = 1;
const BATCH: usize = 2;
const HIGH_WATER: usize = 3;
const HYPER: usize = 4;

const OUR_MODES: &[Mode] = &[
    Mode {
        server: "ours",
        query: "send",
        label: "send (flushing mode, no wait)",
    },
    Mode {
        server: "ours",
        query: "await",
        label: "send + flush().await per chunk",
    },
    Mode {
        server: "ours",
        query: "batch",
        label: "dont_flush + flush().await every {batch}",
    },
    Mode {
        server: "ours",
        query: "batch&batch=0",
        label: "dont_flush, high-water mark only",
    },
];

const HYPER_MODES: &[Mode] = &[Mode {
    server: "hyper",
    query: "send",
    label: "StreamBody over mpsc, 1 frame per chunk",
}];

#[derive(Debug)]
struct Options {
    rounds: usize,
    secs: f64,
    size: usize,
    batch: usize,
    count: usize,
    interval_us: u64,
    no_build: bool,
    no_nice: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut o = Self {
            rounds: 3,
            secs: 2.0,
            size: 64,
            batch: 64,
            count: 1000,
            interval_us: 1000,
            no_build: false,
            no_nice: false,
        };
        let mut args = Args::new(args, USAGE);
        while let Some(a) = args.next() {
            match a {
                "--rounds" => o.rounds = args.num("--rounds")?,
                "--secs" => o.secs = args.num("--secs")?,
                "--size" => o.size = args.num("--size")?,
                "--batch" => o.batch = args.num("--batch")?,
                "--count" => o.count = args.num("--count")?,
                "--interval-us" => o.interval_us = args.num("--interval-us")?,
                "--no-build" => o.no_build = true,
                "--no-nice" => o.no_nice = true,
                other => return Err(args.unknown(other)),
            }
        }
        if o.rounds == 0 || o.batch == 0 || o.count == 0 || !(o.secs > 0.0 && o.secs <= 60.0) {
            return Err(format!(
                "rounds, batch and count must be > 0, secs in (0, 60]\n{USAGE}"
            ));
        }
        if o.size < 8 {
            return Err(format!(
                "--size must be at least 8 (the latency run's timestamp)\n{USAGE}"
            ));
        }
        Ok(o)
    }
}

struct Ctx<'a> {
    opts: &'a Options,
    /// Pinning (servers on core 0, the client on core 1) and nice -20 (root only).
    launcher: Launcher,
    /// Copy of this executable, run as the `__client` child.
    client: &'a Path,
}

// ---------------------------------------------------------------------------------------
// Building and tools

/// Builds (release) our example, the hyper peer and this crate (the client); their paths.
fn build(root: &Path, opts: &Options) -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let target = util::target_dir(root);
    let mut hyper_bin = target.join("peers").join("release").join("hyper-stream");
    let ours = target
        .join("release")
        .join("examples")
        .join("stream_server");
    let client = target.join("release").join("xtask");
    if !opts.no_build {
        hyper_bin = util::build_peer(root, "hyper-stream", "hyper-stream")?;
        eprintln!("building our stream_server example (release)...");
        let mut cmd = util::cargo_cmd(root);
        cmd.args([
            "build",
            "--release",
            "-p",
            "h1-stream",
            "--example",
            "stream_server",
            "-p",
            "xtask",
            "--bin",
            "xtask",
        ]);
        let st = proc::wait_status(&mut cmd, Duration::from_secs(900))?;
        if !st.success() {
            return Err(format!(
                "building stream_server and the client failed ({st})"
            ));
        }
    }
    for bin in [&ours, &hyper_bin, &client] {
        if !bin.is_file() {
            return Err(format!("{} missing", bin.display()));
        }
    }
    Ok((ours, hyper_bin, client))
}

// ---------------------------------------------------------------------------------------
// Measuring

/// One throughput run.
#[derive(Debug, Clone, Default)]
struct Tput {
    chunks_per_sec: f64,
    mb_per_sec: f64,
    /// Percent of the run the server waited for a CPU (other load: a noisy sample).
    srv_wait_pct: f64,
}

/// One latency run, microseconds.
#[derive(Debug, Clone, Default)]
struct Latency {
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
}

/// Runs the `__client` child pinned to core 1; returns its one-line answer's fields.
fn client(ctx: &Ctx<'_>, server: &mut Server, args: &[String]) -> Result<Vec<f64>, String> {
    let mut cmd = ctx.launcher.command(1);
    cmd.arg(ctx.client)
        .args(["bench", "stream", "__client"])
        .arg(server.addr.to_string())
        .args(args);
    let bound = Duration::from_secs_f64(
        ctx.opts.secs + ctx.opts.count as f64 * ctx.opts.interval_us as f64 * 3e-6 + 30.0,
    );
    let (st, out, err) = proc::run_bounded(&mut cmd, bound)?;
    server.check_alive()?;
    if !st.success() {
        return Err(format!("client failed ({st}): {out}{err}"));
    }
    out.split_whitespace()
        .map(|v| {
            v.parse::<f64>()
                .map_err(|_| format!("client said {out:?}{err}"))
        })
        .collect()
}

fn measure_tput(ctx: &Ctx<'_>, server: &mut Server, target: &str) -> Result<Tput, String> {
    let pid = server.pid();
    let w0 = proc::run_queue_wait_ns(pid).unwrap_or(0);
    let t0 = Instant::now();
    let v = client(
        ctx,
        server,
        &["tput".into(), target.into(), ctx.opts.size.to_string()],
    )?;
    let wall_ns = t0.elapsed().as_nanos().max(1) as f64;
    let w1 = proc::run_queue_wait_ns(pid).unwrap_or(0);
    let [bytes, secs] = v[..] else {
        return Err(format!("client answer {v:?}"));
    };
    if bytes <= 0.0 || secs <= 0.0 {
        return Err(format!("{}: no payload for {target}", server.name()));
    }
    Ok(Tput {
        chunks_per_sec: bytes / ctx.opts.size as f64 / secs,
        mb_per_sec: bytes / secs / 1e6,
        srv_wait_pct: w1.saturating_sub(w0) as f64 * 100.0 / wall_ns,
    })
}

fn measure_latency(ctx: &Ctx<'_>, server: &mut Server, target: &str) -> Result<Latency, String> {
    let v = client(
        ctx,
        server,
        &["lat".into(), target.into(), ctx.opts.size.to_string()],
    )?;
    let [n, p50, p99, max] = v[..] else {
        return Err(format!("client answer {v:?}"));
    };
    if n as usize != ctx.opts.count {
        return Err(format!(
            "{}: {n} latency samples, expected {}",
            server.name(),
            ctx.opts.count
        ));
    }
    Ok(Latency {
        p50_us: p50 / 1e3,
        p99_us: p99 / 1e3,
        max_us: max / 1e3,
    })
}

// ---------------------------------------------------------------------------------------
// Report

fn report(opts: &Options, tput: &[Vec<Tput>], lat: &[Vec<Latency>]) -> String {
    let modes: Vec<&Mode> = OUR_MODES.iter().chain(HYPER_MODES).collect();
    let med = |i: usize| median(&tput.iter().map(|r| r[i].chunks_per_sec).collect::<Vec<_>>());
    let med_mb = |i: usize| median(&tput.iter().map(|r| r[i].mb_per_sec).collect::<Vec<_>>());
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\nchunks/s through one stream, {}-byte chunks, {} s per run, median of {} rounds:",
        opts.size, opts.secs, opts.rounds
    );
    let _ = writeln!(
        o,
        "{:<50} {:>12} {:>9} {:>10}   per round",
        "server / mode", "chunks/s", "MB/s", "vs hyper"
    );
    let hyper = med(HYPER);
    for (i, m) in modes.iter().enumerate() {
        let rounds: Vec<String> = tput
            .iter()
            .map(|r| format!("{:.0}", r[i].chunks_per_sec))
            .collect();
        let _ = writeln!(
            o,
            "{:<50} {:>12.0} {:>9.1} {:>9.2}x   {}",
            m.label(opts.batch),
            med(i),
            med_mb(i),
            med(i) / hyper,
            rounds.join(" ")
        );
    }
    let bar = |ok: bool| if ok { "met" } else { "NOT met" };
    let r_batch_await = med(BATCH) / med(AWAIT);
    let r_hw_await = med(HIGH_WATER) / med(AWAIT);
    let r_batch_send = med(BATCH) / med(SEND);
    let r_send_hyper = med(SEND) / hyper;
    let r_await_hyper = med(AWAIT) / hyper;
    let _ = writeln!(o, "\nratios (medians):");
    let _ = writeln!(
        o,
        "  dont_flush (flush every {b}) / send + flush().await per chunk  {r_batch_await:>7.2}x  (aim >= 5x: {})",
        bar(r_batch_await >= 5.0),
        b = opts.batch,
    );
    let _ = writeln!(
        o,
        "  dont_flush (high-water only) / send + flush().await per chunk {r_hw_await:>7.2}x  (aim >= 5x: {})",
        bar(r_hw_await >= 5.0)
    );
    let _ = writeln!(
        o,
        "  dont_flush (flush every {}) / send (flushing mode, no wait)    {r_batch_send:>7.2}x  (info: `send` already coalesces under load)",
        opts.batch
    );
    let _ = writeln!(
        o,
        "  ours send (flushing mode) / hyper                          {r_send_hyper:>7.2}x  (aim >= 1.0x: {})",
        bar(r_send_hyper >= 1.0)
    );
    let _ = writeln!(
        o,
        "  ours send + flush().await per chunk / hyper                {r_await_hyper:>7.2}x  (info: hyper never waits per chunk)"
    );
    let _ = writeln!(
        o,
        "\nlatency from send to the client's read, {} chunks one every {} us (median over rounds of each round's percentile):",
        opts.count, opts.interval_us
    );
    let _ = writeln!(
        o,
        "{:<6} {:>9} {:>9} {:>9}   per round p50/p99",
        "server", "p50 us", "p99 us", "max us"
    );
    for (i, name) in ["ours", "hyper"].iter().enumerate() {
        let get =
            |f: fn(&Latency) -> f64| median(&lat.iter().map(|r| f(&r[i])).collect::<Vec<_>>());
        let rounds: Vec<String> = lat
            .iter()
            .map(|r| format!("{:.0}/{:.0}", r[i].p50_us, r[i].p99_us))
            .collect();
        let _ = writeln!(
            o,
            "{:<6} {:>9.1} {:>9.1} {:>9.1}   {}",
            name,
            get(|l| l.p50_us),
            get(|l| l.p99_us),
            get(|l| l.max_us),
            rounds.join(" ")
        );
    }
    let noisy = tput
        .iter()
        .flatten()
        .filter(|t| t.srv_wait_pct > 5.0)
        .count();
    if noisy > 0 {
        let _ = writeln!(
            o,
            "warning: in {noisy} throughput runs the server waited >5% of the time for a CPU \
             (other load on the machine): those numbers are low"
        );
    }
    o
}
