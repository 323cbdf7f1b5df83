//! `cargo xtask bench route`: what routing costs. The `routes_bench` example (a
//! `Router` of 100 routes, 75 with parameters) beside the plain `hello` example, both
//! under wrk with the same Lua script spreading requests across the 100 routes (hello
//! answers any path), in alternating rounds. Reports requests/s (median of the rounds)
//! and the ratio routes/hello.
//!
//! Each server runs pinned to core 0 and wrk to core 1 (when there are 2 cores), a fresh
//! process per measure; every answer must be a 2xx.

use std::path::Path;
use std::time::Duration;

use crate::proc::{self, Launcher, Server};
use crate::util::{Args, cargo_cmd, quantile_by, target_dir, workspace_root};
use crate::wrk;

const USAGE: &str = "\
usage: cargo xtask bench route [OPTIONS]

  --duration SECS    length of each wrk run (default 5)
  --connections N    wrk keep-alive connections (default 64)
  --rounds N         alternating rounds (default 3)
  --no-build         do not build the examples (binaries must exist)
";

/// wrk script: 1000 prepared requests over the 100 routes of `routes_bench`.
const ROUTES_LUA: &str = r#"
local reqs = {}
init = function(args)
  math.randomseed(12345)
  for k = 1, 1000 do
    local i = math.random(0, 24)
    local id = tostring(math.random(1, 99999))
    local kind = math.random(1, 4)
    if kind == 1 then
      reqs[k] = wrk.format("GET", "/api/r" .. i)
    elseif kind == 2 then
      reqs[k] = wrk.format("GET", "/api/r" .. i .. "/" .. id)
    elseif kind == 3 then
      reqs[k] = wrk.format("POST", "/api/r" .. i .. "/" .. id)
    else
      reqs[k] = wrk.format("GET", "/api/r" .. i .. "/" .. id .. "/items/" .. math.random(1, 999))
    end
  end
end
request = function()
  return reqs[math.random(1, 1000)]
end
"#;

struct Options {
    duration: u32,
    connections: u32,
    rounds: u32,
    build: bool,
}

/// Entry point for `cargo xtask bench route ARGS...`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut opts = Options {
        duration: 5,
        connections: 64,
        rounds: 3,
        build: true,
    };
    let mut args = Args::new(args, USAGE);
    while let Some(a) = args.next() {
        match a {
            "--duration" => opts.duration = args.num::<u32>("--duration")?.max(1),
            "--connections" => opts.connections = args.num::<u32>("--connections")?.max(1),
            "--rounds" => opts.rounds = args.num::<u32>("--rounds")?.max(1),
            "--no-build" => opts.build = false,
            other => return Err(args.unknown(other)),
        }
    }
    let root = workspace_root();
    let work = target_dir(&root).join("bench-route");
    std::fs::create_dir_all(&work).map_err(|e| format!("create {}: {e}", work.display()))?;
    if opts.build {
        eprintln!("building the hello and routes_bench examples (release)...");
        let mut cmd = cargo_cmd(&root);
        cmd.args(["build", "--release", "-p", "examples"]).args([
            "--example",
            "hello",
            "--example",
            "routes_bench",
        ]);
        let st = proc::wait_status(&mut cmd, Duration::from_secs(900))?;
        if !st.success() {
            return Err(format!("building the examples failed ({st})"));
        }
    }
    // Run from copies: others may rebuild target/ meanwhile.
    let examples = target_dir(&root).join("release").join("examples");
    let snap = |name: &str| {
        proc::snapshot(&examples.join(name), &work, name)
            .map_err(|e| format!("{e} (build it first)"))
    };
    let servers = [("hello", snap("hello")?), ("routes", snap("routes_bench")?)];
    if !proc::have("wrk") {
        return Err(
            "wrk not found (apt-get install -y wrk, or run `cargo xtask bench server` once)".into(),
        );
    }
    let script = work.join("routes.lua");
    std::fs::write(&script, ROUTES_LUA).map_err(|e| format!("write {}: {e}", script.display()))?;
    let pin = proc::two_cores() && crate::util::succeeds("taskset", &["-c", "0", "true"]);
    let launcher = Launcher {
        pin,
        ..Launcher::default()
    };
    eprintln!(
        "plan: {} rounds x [hello, routes], wrk -t1 -c{} -d{}s -s routes.lua (100 routes), pinning {}",
        opts.rounds,
        opts.connections,
        opts.duration,
        if pin {
            "server->core 0, wrk->core 1"
        } else {
            "off (fewer than 2 cores)"
        }
    );

    let mut results: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut cpu: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 1..=opts.rounds {
        for (i, (name, bin)) in servers.iter().enumerate() {
            let m = measure(bin, &script, &opts, &launcher).map_err(|e| format!("{name}: {e}"))?;
            eprintln!(
                "round {round}: {name:<7} {:>10.0} req/s {:>6.2} µs CPU/request",
                m.rps, m.cpu_us
            );
            results[i].push(m.rps);
            cpu[i].push(m.cpu_us);
        }
    }
    // Rounds alternate servers: the ratio within a round is less sensitive to other load
    // on the machine than the ratio of medians.
    let paired: Vec<f64> = results[1]
        .iter()
        .zip(&results[0])
        .map(|(r, h)| r / h)
        .collect();
    let paired_cpu: Vec<f64> = cpu[1].iter().zip(&cpu[0]).map(|(r, h)| r / h).collect();
    let (paired, paired_cpu) = (median(&paired), median(&paired_cpu));
    let hello = median(&results[0]);
    let routes = median(&results[1]);
    let (hello_cpu, routes_cpu) = (median(&cpu[0]), median(&cpu[1]));
    let ratio = routes / hello;
    println!();
    println!(
        "| server | req/s (median of {}) | server CPU µs/request (median) |",
        opts.rounds
    );
    println!("|---|---|---|");
    println!("| hello (one handler) | {hello:.0} | {hello_cpu:.2} |");
    println!("| routes (Router, 100 routes) | {routes:.0} | {routes_cpu:.2} |");
    println!(
        "\nroutes/hello = {ratio:.3}: routing costs {:.1}% of hello's throughput (aim: < 10%); \
         CPU per request +{:.1}%",
        (1.0 - ratio) * 100.0,
        (routes_cpu / hello_cpu - 1.0) * 100.0
    );
    println!(
        "per-round pairs (median): routes/hello req/s = {paired:.3}, CPU/request = {paired_cpu:.3}"
    );
    println!(
        "command: taskset -c 0 SERVER ADDR; taskset -c 1 wrk -t1 -c{} -d{}s -s routes.lua http://ADDR/",
        opts.connections, opts.duration
    );
    Ok(())
}

/// One measure: requests/s and server CPU time per request (µs).
#[derive(Debug, Clone, Copy)]
struct Sample {
    rps: f64,
    cpu_us: f64,
}

/// One fresh server process (its log beside the binary), a 1 s warm-up, one measured wrk
/// run.
fn measure(
    bin: &Path,
    script: &Path,
    opts: &Options,
    launcher: &Launcher,
) -> Result<Sample, String> {
    let name = bin.file_name().unwrap_or_default().to_string_lossy();
    let server = Server::start(&name, bin.with_extension("log"), None, |addr| {
        let mut c = launcher.command(0);
        c.arg(bin).arg(addr.to_string()).env("RUST_LOG", "off");
        c
    })?;
    let url = format!("http://{}/", server.addr);
    let conns = opts.connections.to_string();
    let script = script.to_string_lossy();
    let bound = Duration::from_secs(u64::from(opts.duration) + 30);
    let wrk = |dur: &str| {
        wrk::run(
            launcher,
            &["-c", &conns, "-d", dur, "-s", &script, &url],
            bound,
        )
    };
    wrk("1s")?;
    let pid = server.pid();
    let cpu0 = proc::cpu_ticks(pid).ok();
    let out = wrk(&format!("{}s", opts.duration))?;
    if let Some(line) = out.raw.lines().find(|l| l.contains("Non-2xx")) {
        return Err(format!("answers that are not 2xx: {line}"));
    }
    let rps = out
        .rps
        .ok_or_else(|| format!("no Requests/sec in wrk output:\n{}", out.raw))?;
    let requests = out.requests as f64;
    let cpu_us = match (cpu0, proc::cpu_ticks(pid).ok()) {
        (Some(a), Some(b)) if requests > 0.0 => {
            (b - a) as f64 * 1e6 / proc::clock_ticks() / requests
        }
        _ => f64::NAN,
    };
    Ok(Sample { rps, cpu_us })
}

/// The upper median (the middle value, or the upper of the middle two).
fn median(v: &[f64]) -> f64 {
    quantile_by(v, 0.5, f64::total_cmp).unwrap_or(f64::NAN)
}
