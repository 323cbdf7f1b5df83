//! `cargo xtask bench route`: what routing costs. The `routes_bench` example (a
//! `Router` of 100 routes, 75 with parameters) beside the plain `hello` example, both
//! under wrk with the same Lua script spreading requests across the 100 routes (hello
//! answers any path), in alternating rounds. Reports requests/s (median of the rounds)
//! and the ratio routes/hello.
//!
//! Each server runs pinned to core 0 and wrk to core 1 (when there are 2 cores), a fresh
//! process per measure; every answer must be a 2xx.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{cargo_cmd, target_dir, workspace_root};

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
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |name: &str| -> Result<u32, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number\n\n{USAGE}"))
        };
        match a.as_str() {
            "--duration" => opts.duration = num("--duration")?.max(1),
            "--connections" => opts.connections = num("--connections")?.max(1),
            "--rounds" => opts.rounds = num("--rounds")?.max(1),
            "--no-build" => opts.build = false,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown option {other:?}\n\n{USAGE}")),
        }
    }
    let root = workspace_root();
    let work = target_dir(&root).join("bench-route");
    std::fs::create_dir_all(&work).map_err(|e| format!("create {}: {e}", work.display()))?;
    if opts.build {
        eprintln!("building the hello and routes_bench examples (release)...");
        let st = cargo_cmd(&root)
            .args(["build", "--release", "-p", "examples"])
            .args(["--example", "hello", "--example", "routes_bench"])
            .status()
            .map_err(|e| format!("cargo build: {e}"))?;
        if !st.success() {
            return Err(format!("building the examples failed ({st})"));
        }
    }
    // Run from copies: others may rebuild target/ meanwhile.
    let examples = target_dir(&root).join("release").join("examples");
    let snap = |name: &str| -> Result<PathBuf, String> {
        let to = work.join(name);
        let _ = std::fs::remove_file(&to);
        std::fs::copy(examples.join(name), &to)
            .map_err(|e| format!("copy {name} (build it first): {e}"))?;
        Ok(to)
    };
    let servers = [("hello", snap("hello")?), ("routes", snap("routes_bench")?)];
    if Command::new("wrk").arg("--version").output().is_err() {
        return Err(
            "wrk not found (apt-get install -y wrk, or run `cargo xtask bench server` once)".into(),
        );
    }
    let script = work.join("routes.lua");
    std::fs::write(&script, ROUTES_LUA).map_err(|e| format!("write {}: {e}", script.display()))?;
    let pin = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
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
            let m = measure(bin, &script, &opts, pin).map_err(|e| format!("{name}: {e}"))?;
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
    let mut paired: Vec<f64> = results[1]
        .iter()
        .zip(&results[0])
        .map(|(r, h)| r / h)
        .collect();
    let mut paired_cpu: Vec<f64> = cpu[1].iter().zip(&cpu[0]).map(|(r, h)| r / h).collect();
    let (paired, paired_cpu) = (median(&mut paired), median(&mut paired_cpu));
    let hello = median(&mut results[0]);
    let routes = median(&mut results[1]);
    let (hello_cpu, routes_cpu) = (median(&mut cpu[0]), median(&mut cpu[1]));
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

/// One fresh server process, a 1 s warm-up, one measured wrk run.
fn measure(bin: &Path, script: &Path, opts: &Options, pin: bool) -> Result<Sample, String> {
    let addr = free_port()?;
    let mut cmd = pinned(pin, 0, bin);
    cmd.arg(addr.to_string())
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut server = Guard(
        cmd.spawn()
            .map_err(|e| format!("start {}: {e}", bin.display()))?,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline {
            return Err("server did not listen within 10 s".into());
        }
        if let Ok(Some(st)) = server.0.try_wait() {
            return Err(format!("server exited: {st}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("http://{addr}/");
    let conns = opts.connections.to_string();
    wrk(pin, &["-c", &conns, "-d", "1s"], script, &url)?;
    let pid = server.0.id();
    let cpu0 = cpu_ticks(pid);
    let out = wrk(
        pin,
        &["-c", &conns, "-d", &format!("{}s", opts.duration)],
        script,
        &url,
    )?;
    if let Some(line) = out.lines().find(|l| l.contains("Non-2xx")) {
        return Err(format!("answers that are not 2xx: {line}"));
    }
    let rps = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk output:\n{out}"))?;
    let requests: f64 = out
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    let cpu_us = match (cpu0, cpu_ticks(pid)) {
        (Some(a), Some(b)) if requests > 0.0 => (b - a) as f64 * 1e6 / clock_ticks() / requests,
        _ => f64::NAN,
    };
    server.0.kill().ok();
    Ok(Sample { rps, cpu_us })
}

/// utime + stime of a process, in clock ticks (Linux; `None` elsewhere).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 when unknown).
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn wrk(pin: bool, args: &[&str], script: &Path, url: &str) -> Result<String, String> {
    let mut cmd = pinned(pin, 1, Path::new("wrk"));
    cmd.args(["-t1", "--timeout", "5s"])
        .args(args)
        .arg("-s")
        .arg(script)
        .arg(url);
    let out = cmd.output().map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "wrk failed ({}): {text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(text)
}

/// `taskset -c CORE program` when pinning, else `program`.
fn pinned(pin: bool, core: u32, program: &Path) -> Command {
    if pin && crate::util::succeeds("taskset", &["-c", "0", "true"]) {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(core.to_string()).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> Result<SocketAddr, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    l.local_addr().map_err(|e| format!("local_addr: {e}"))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Kills the server if a measure fails half-way.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
