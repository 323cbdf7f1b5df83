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
//! - resident memory per idle keep-alive connection: a fresh server, VmRSS before and after
//!   5000 connections that each did one request and stay open.
//!
//! It prints every round's numbers, then medians and ours/hyper ratios. Traffic goes to
//! 127.0.0.1 only; every wait is bounded and servers are killed on every exit path.
//!
//! Until the `hello` example exists (or with `--hyper-only`) a second hyper instance stands
//! in for "ours", which makes the run a hyper-vs-hyper noise check.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

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

/// fd limit the servers and the idle-connection client ask for (via `ulimit -n`).
const NOFILE: u32 = 20_000;

/// Entry point for `cargo xtask bench server ARGS...`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("__hold-conns") {
        return hold_conns_child(&args[1..]);
    }
    let opts = Options::parse(args)?;
    let root = workspace_root();
    let work_dir = target_dir(&root).join("bench-server");
    std::fs::create_dir_all(&work_dir)
        .map_err(|e| format!("create {}: {e}", work_dir.display()))?;

    let (hyper_bin, ours) = build(&root, &opts)?;
    // Run from snapshots: others may rebuild target/ while the bench runs, and a binary
    // replaced mid-run would mix versions (or vanish while a server is being started).
    let snap = |bin: &Path, name: &str| -> Result<PathBuf, String> {
        let to = work_dir.join(name);
        let _ = std::fs::remove_file(&to);
        std::fs::copy(bin, &to)
            .map_err(|e| format!("copy {} to {}: {e}", bin.display(), to.display()))?;
        Ok(to)
    };
    let hyper_bin = snap(&hyper_bin, "hyper-hello")?;
    let ours = ours.map(|b| snap(&b, "ours-server")).transpose()?;
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let holder = snap(&exe, "xtask-conn-holder")?;
    ensure_wrk()?;
    let lua = work_dir.join("pipeline.lua");
    std::fs::write(&lua, PIPELINE_LUA).map_err(|e| format!("write {}: {e}", lua.display()))?;

    let pin = match thread::available_parallelism() {
        Ok(n) if n.get() >= 2 => true,
        _ => {
            eprintln!("warning: fewer than 2 cores: running without taskset pinning");
            false
        }
    };
    let clk_tck = clock_ticks();
    let nice = !opts.no_nice && can_raise_priority();
    if !opts.no_nice && !nice {
        eprintln!("note: cannot raise priority (not root?): server and wrk run at normal priority");
    }

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
    eprintln!("wrk: {}", wrk_version());
    eprintln!(
        "plan: {} rounds x [{}], wrk -t1 -c{} -d{}s (+{}-deep pipelined), {} idle connections, pinning {}",
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
        pin,
        clk_tck,
        lua: &lua,
        work_dir: &work_dir,
        holder: &holder,
        nice,
    };
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); servers.len()];
    let started = Instant::now();
    for round in 1..=opts.rounds {
        for (i, (name, spec)) in servers.iter().enumerate() {
            eprint!("round {round}/{} {name:<8} ", opts.rounds);
            let s = measure(&ctx, name, spec)?;
            eprintln!(
                "{:>9.0} req/s  {:>6.2} us/req CPU  pipelined {:>9.0} req/s  {:>7.0} B/idle conn  waited {:.1}%/{:.1}%",
                s.rps, s.cpu_us, s.pipe_rps, s.idle_bytes, s.srv_wait_pct, s.wrk_wait_pct
            );
            samples[i].push(s);
        }
    }
    eprintln!("measured in {:.0} s", started.elapsed().as_secs_f64());
    println!(
        "server: {n}taskset -c 0 (fresh process per measure); client: {n}taskset -c 1 wrk -t1 -c{c} \
         -d{d}s --latency | -s pipeline.lua -- {p}; loadavg at end: {l}",
        n = if nice {
            "setsid+autogroup -20, nice -n -20 "
        } else {
            ""
        },
        c = opts.connections,
        d = opts.duration,
        p = opts.depth,
        l = std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
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
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = |name: &str| {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
            };
            fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String> {
                v.parse()
                    .map_err(|_| format!("{name}: not a number: {v:?}\n{USAGE}"))
            }
            match a.as_str() {
                "--rounds" => o.rounds = num("--rounds", val("--rounds")?)?,
                "--duration" => o.duration = num("--duration", val("--duration")?)?,
                "--connections" => o.connections = num("--connections", val("--connections")?)?,
                "--depth" => o.depth = num("--depth", val("--depth")?)?,
                "--idle-conns" => o.idle_conns = num("--idle-conns", val("--idle-conns")?)?,
                "--ours" => o.ours = Some(PathBuf::from(val("--ours")?)),
                "--hyper-only" => o.hyper_only = true,
                "--no-build" => o.no_build = true,
                "--no-nice" => o.no_nice = true,
                "-h" | "--help" => {
                    print!("{USAGE}");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
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
    pin: bool,
    clk_tck: f64,
    lua: &'a Path,
    work_dir: &'a Path,
    /// Copy of this executable, run as the `__hold-conns` child.
    holder: &'a Path,
    /// Run the server and wrk at nice -20 (root only), so that other work on the machine
    /// steals less of their cores.
    nice: bool,
}

impl Ctx<'_> {
    /// A command that runs the program given as its next argument pinned to `core`, with a
    /// raised fd limit, and, with `nice`, at nice -20 in a session (so an autogroup) of its
    /// own set to nice -20: with autogroups, nice only counts within a session, and other
    /// sessions' builds would otherwise share the core evenly with the server. Every step
    /// `exec`s, so the child's pid is the program's own.
    fn launch(&self, core: usize) -> Command {
        let mut script = String::new();
        if self.nice {
            script.push_str("echo -20 > /proc/self/autogroup 2>/dev/null; ");
        }
        let _ = write!(
            script,
            "ulimit -n {NOFILE} 2>/dev/null || ulimit -n \"$(ulimit -Hn)\"; exec "
        );
        if self.nice {
            script.push_str("nice -n -20 ");
        }
        if self.pin {
            let _ = write!(script, "taskset -c {core} ");
        }
        script.push_str("\"$@\"");
        let mut c = if self.nice {
            // Not a process group leader (std spawns into our group): setsid does not fork.
            let mut c = Command::new("setsid");
            c.arg("bash");
            c
        } else {
            Command::new("bash")
        };
        c.args(["-c", &script, "bench-launch"]);
        c
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

fn workspace_root() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_path_buf()
}

fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() { d } else { root.join(d) }
        }
        None => root.join("target"),
    }
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Builds the hyper peer and (unless told otherwise) our hello example; returns the hyper
/// binary and ours (`None`: no hello example, hyper stands in).
fn build(root: &Path, opts: &Options) -> Result<(PathBuf, Option<PathBuf>), String> {
    let target = target_dir(root);
    let peer_target = target.join("peers");
    let hyper_bin = peer_target.join("release").join("hyper-hello");
    if !opts.no_build {
        eprintln!("building hyper peer (release)...");
        let mut cmd = Command::new(cargo());
        cmd.current_dir(root)
            .args(["build", "--release", "--locked", "--manifest-path"])
            .arg(root.join("xtask/peers/hyper-hello/Cargo.toml"))
            .arg("--target-dir")
            .arg(&peer_target);
        let st = wait_status(&mut cmd, Duration::from_secs(900))?;
        if !st.success() {
            return Err(format!("building the hyper peer failed ({st})"));
        }
    }
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
        let mut cmd = Command::new(cargo());
        cmd.current_dir(root)
            .args(["build", "--release", "-p", "examples", "--example", "hello"]);
        let (st, _, err) = run_bounded(&mut cmd, Duration::from_secs(900))?;
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

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn ensure_wrk() -> Result<(), String> {
    if have("wrk") {
        return Ok(());
    }
    eprintln!("wrk missing: apt-get install -y wrk");
    let install = || {
        let mut c = Command::new("apt-get");
        c.args(["install", "-y", "wrk"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        wait_status(&mut c, Duration::from_secs(600))
    };
    if !install()?.success() {
        eprintln!("apt-get install failed: apt-get update, then retrying");
        let mut c = Command::new("apt-get");
        c.arg("update").env("DEBIAN_FRONTEND", "noninteractive");
        wait_status(&mut c, Duration::from_secs(600))?;
        if !install()?.success() {
            return Err("could not install wrk (apt-get install -y wrk)".into());
        }
    }
    if have("wrk") {
        Ok(())
    } else {
        Err("wrk still not found after installing it".into())
    }
}

/// Whether `nice -n -20` works here (it needs root or CAP_SYS_NICE), and setsid is there.
fn can_raise_priority() -> bool {
    if !have("setsid") {
        return false;
    }
    let mut c = Command::new("nice");
    c.args(["-n", "-20", "nice"]);
    matches!(run_bounded(&mut c, Duration::from_secs(10)),
        Ok((st, out, err)) if st.success() && err.is_empty() && out.trim() == "-20")
}

fn wrk_version() -> String {
    let mut c = Command::new("wrk");
    c.arg("-v");
    match run_bounded(&mut c, Duration::from_secs(10)) {
        Ok((_, out, err)) => format!("{out}{err}")
            .lines()
            .next()
            .unwrap_or("?")
            .trim()
            .to_string(),
        Err(e) => e,
    }
}

fn clock_ticks() -> f64 {
    let mut c = Command::new("getconf");
    c.arg("CLK_TCK");
    run_bounded(&mut c, Duration::from_secs(10))
        .ok()
        .and_then(|(_, out, _)| out.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

// ---------------------------------------------------------------------------------------
// Processes with bounded waits

/// Waits for `child` at most `timeout`; kills it when the time is up.
fn wait_child(child: &mut Child, timeout: Duration, what: &str) -> Result<ExitStatus, String> {
    wait_child_with(child, timeout, what, &mut |_| {})
}

/// [`wait_child`], calling `on_poll(pid)` every 20 ms while the child runs.
fn wait_child_with(
    child: &mut Child,
    timeout: Duration,
    what: &str,
    on_poll: &mut dyn FnMut(u32),
) -> Result<ExitStatus, String> {
    let deadline = Instant::now() + timeout;
    loop {
        on_poll(child.id());
        match child.try_wait() {
            Ok(Some(st)) => return Ok(st),
            Ok(None) => {}
            Err(e) => return Err(format!("{what}: wait: {e}")),
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what}: still running after {timeout:?}, killed"));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `cmd` with its output sent to our stderr (stdout is the report), bounded by `timeout`.
fn wait_status(cmd: &mut Command, timeout: Duration) -> Result<ExitStatus, String> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .spawn()
        .map_err(|e| format!("{what}: {e}"))?;
    wait_child(&mut child, timeout, &what)
}

/// Runs `cmd` capturing its stdout and stderr, bounded by `timeout`.
fn run_bounded(
    cmd: &mut Command,
    timeout: Duration,
) -> Result<(ExitStatus, String, String), String> {
    run_bounded_with(cmd, timeout, &mut |_| {})
}

/// [`run_bounded`], calling `on_poll(pid)` every 20 ms while the child runs.
fn run_bounded_with(
    cmd: &mut Command,
    timeout: Duration,
    on_poll: &mut dyn FnMut(u32),
) -> Result<(ExitStatus, String, String), String> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: {e}"))?;
    let drain = |r: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let st = wait_child_with(&mut child, timeout, &what, on_poll)?;
    Ok((
        st,
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    ))
}

/// A server process; killed (and reaped) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    watchdog: Option<Child>,
}

impl Server {
    fn start(ctx: &Ctx<'_>, name: &str, spec: &ServerSpec) -> Result<Self, String> {
        let addr = free_port()?;
        let log = ctx.work_dir.join(format!("{name}.log"));
        let log_file =
            std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let log_err = log_file.try_clone().map_err(|e| e.to_string())?;
        let child = ctx
            .launch(0)
            .arg(&spec.bin)
            .arg(addr.to_string())
            .args(&spec.extra)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("start {}: {e}", spec.bin.display()))?;
        // In a session of its own, the server would outlive a Ctrl-C of ours: a watchdog
        // (also in its own session, so Ctrl-C leaves it alone) kills it when we are gone,
        // and after 30 minutes in any case.
        let watchdog = if ctx.nice {
            let script = "trap '' INT TERM HUP; i=0; \
                 while [ $i -lt 3600 ] && kill -0 \"$0\" 2>/dev/null && kill -0 \"$1\" 2>/dev/null; \
                 do sleep 0.5; i=$((i+1)); done; kill -9 \"$1\" 2>/dev/null";
            Command::new("setsid")
                .args(["bash", "-c", script])
                .arg(std::process::id().to_string())
                .arg(child.id().to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()
        } else {
            None
        };
        let mut server = Self {
            child,
            addr,
            log,
            watchdog,
        };
        server.wait_ready(name)?;
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_ready(&mut self, name: &str) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Err(format!(
                    "{name} exited at start ({st}): {}",
                    self.log_tail()
                ));
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{name} not listening on {} after 10 s: {}",
                    self.addr,
                    self.log_tail()
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn check_alive(&mut self, name: &str) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(st)) => Err(format!("{name} died ({st}): {}", self.log_tail())),
            Err(e) => Err(format!("{name}: {e}")),
        }
    }

    fn log_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        let tail = lines[lines.len().saturating_sub(10)..].join("\n");
        format!("(log {}):\n{tail}", self.log.display())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(w) = &mut self.watchdog {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

fn free_port() -> Result<SocketAddr, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
    l.local_addr().map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------
// /proc

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/stat");
    let s = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // Field 2 (comm) is parenthesised and may contain spaces: split after the last ')'.
    let rest = s
        .rfind(')')
        .map(|i| &s[i + 1..])
        .ok_or_else(|| format!("{path}: no ')'"))?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3; utime and stime are fields 14 and 15.
    let field = |n: usize| -> Result<u64, String> {
        f.get(n - 3)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{path}: bad field {n}"))
    };
    Ok(field(14)? + field(15)?)
}

/// Nanoseconds the threads of `pid` spent runnable but waiting for a CPU (run-queue
/// delay, field 2 of `/proc/PID/task/*/schedstat`); `None` once the process is gone.
fn run_queue_wait_ns(pid: u32) -> Option<u64> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut sum = 0;
    let mut any = false;
    for task in dir.flatten() {
        let Ok(st) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        if let Some(v) = st
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<u64>().ok())
        {
            sum += v;
            any = true;
        }
    }
    any.then_some(sum)
}

/// VmRSS of `pid`, in bytes.
fn rss_bytes(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let s = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| format!("{path}: no VmRSS"))
}

// ---------------------------------------------------------------------------------------
// Measuring

fn measure(ctx: &Ctx<'_>, name: &str, spec: &ServerSpec) -> Result<Sample, String> {
    let mut s = Sample::default();

    // Memory per idle connection, on a fresh server.
    {
        let mut server = Server::start(ctx, name, spec)?;
        let (bytes, closed) =
            idle_memory(ctx, &server).map_err(|e| format!("{name}: idle connections: {e}"))?;
        server.check_alive(name)?;
        s.idle_bytes = bytes;
        s.idle_closed = closed;
    }

    // Throughput, CPU, latency, pipelining on another fresh server.
    let mut server = Server::start(ctx, name, spec)?;
    let url = format!("http://{}/", server.addr);
    let conns = ctx.opts.connections.to_string();
    // Short warm-up, not recorded.
    wrk(ctx, &["-c", &conns, "-d", "1s", &url])?;
    server.check_alive(name)?;

    let dur = format!("{}s", ctx.opts.duration);
    let before = cpu_ticks(server.pid())?;
    let wait_before = run_queue_wait_ns(server.pid()).unwrap_or(0);
    let t0 = Instant::now();
    let r = wrk(ctx, &["-c", &conns, "-d", &dur, "--latency", &url])?;
    let after = cpu_ticks(server.pid())?;
    let wait_after = run_queue_wait_ns(server.pid()).unwrap_or(0);
    let wall_ns = t0.elapsed().as_nanos().max(1) as f64;
    s.srv_wait_pct = wait_after.saturating_sub(wait_before) as f64 * 100.0 / wall_ns;
    s.wrk_wait_pct = r.wait_ns as f64 * 100.0 / wall_ns;
    server.check_alive(name)?;
    if r.requests == 0 {
        return Err(format!("{name}: wrk completed no request:\n{}", r.raw));
    }
    s.rps = r.rps;
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
    server.check_alive(name)?;
    if p.requests == 0 {
        return Err(format!(
            "{name}: pipelined wrk completed no request:\n{}",
            p.raw
        ));
    }
    s.pipe_rps = p.rps;
    s.pipe_errors = p.errors;
    Ok(s)
}

#[derive(Debug, Default)]
struct WrkResult {
    rps: f64,
    requests: u64,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
    errors: u64,
    /// wrk's run-queue delay (sampled every 20 ms while it ran).
    wait_ns: u64,
    raw: String,
}

fn wrk(ctx: &Ctx<'_>, args: &[&str]) -> Result<WrkResult, String> {
    let mut cmd = ctx.launch(1);
    cmd.arg("wrk").args(["-t1", "--timeout", "5s"]).args(args);
    let bound = Duration::from_secs(ctx.opts.duration + 30);
    let mut wait_ns = 0;
    let (st, out, err) = run_bounded_with(&mut cmd, bound, &mut |pid| {
        if let Some(w) = run_queue_wait_ns(pid) {
            wait_ns = w;
        }
    })?;
    if !st.success() {
        return Err(format!("{cmd:?} failed ({st}):\n{out}{err}"));
    }
    Ok(WrkResult {
        wait_ns,
        ..parse_wrk(&out)
    })
}

fn parse_wrk(out: &str) -> WrkResult {
    let mut r = WrkResult {
        raw: out.to_string(),
        ..WrkResult::default()
    };
    let mut in_dist = false;
    for line in out.lines() {
        let t = line.trim();
        if t.starts_with("Latency Distribution") {
            in_dist = true;
            continue;
        }
        if in_dist {
            let mut w = t.split_whitespace();
            match (w.next(), w.next()) {
                (Some("50%"), Some(v)) => r.p50_us = parse_duration_us(v),
                (Some("99%"), Some(v)) => r.p99_us = parse_duration_us(v),
                (Some(p), Some(_)) if p.ends_with('%') => {}
                _ => in_dist = false,
            }
        }
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            r.rps = v.trim().parse().unwrap_or(0.0);
        } else if t.contains(" requests in ") {
            r.requests = t
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        } else if let Some(v) = t.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            r.errors += v
                .split(',')
                .filter_map(|kv| kv.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        } else if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            r.errors += v.trim().parse::<u64>().unwrap_or(0);
        }
    }
    r
}

/// wrk durations: `812.00us`, `1.23ms`, `2.00s`, `1.50m`, `1.00h`.
fn parse_duration_us(v: &str) -> Option<f64> {
    let split = v.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().ok()?;
    let mult = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => return None,
    };
    Some(n * mult)
}

/// RSS growth per idle keep-alive connection, and how many of them the server had closed.
fn idle_memory(ctx: &Ctx<'_>, server: &Server) -> Result<(f64, usize), String> {
    let n = ctx.opts.idle_conns;
    // One request first, so one-time initialisation and the code pages a request touches
    // are already resident in the baseline.
    let mut s = TcpStream::connect_timeout(&server.addr, Duration::from_secs(5))
        .map_err(|e| format!("connect: {e}"))?;
    one_request(&mut s)?;
    drop(s);
    thread::sleep(Duration::from_millis(300));
    let before = rss_bytes(server.pid())?;

    // The connections live in a child with a raised fd limit (std has no setrlimit).
    let script =
        format!("ulimit -n {NOFILE} 2>/dev/null || ulimit -n \"$(ulimit -Hn)\"; exec \"$@\"");
    let child = Command::new("bash")
        .args(["-c", &script, "hold-conns"])
        .arg(ctx.holder)
        .args(["bench", "server", "__hold-conns"])
        .arg(server.addr.to_string())
        .arg(n.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawn connection holder: {e}"))?;
    let mut holder = Holder::new(child);

    let ready = holder.line(Duration::from_secs(120))?;
    if ready.trim() != format!("ready {n}") {
        return Err(format!("connection holder said {ready:?}"));
    }
    thread::sleep(Duration::from_secs(1));
    let after = rss_bytes(server.pid())?;

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
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Holder {
    fn new(mut child: Child) -> Self {
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
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
        let st = wait_child(
            &mut self.child,
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

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `__hold-conns ADDR N`: opens N connections that each do one request and read the whole
/// response, prints `ready N`, waits for a line on stdin, prints `open X closed Y` (how many
/// the server had closed meanwhile) and exits, closing them all.
fn hold_conns_child(args: &[String]) -> Result<(), String> {
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

// ---------------------------------------------------------------------------------------
// Report

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

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
    let rows: [(&str, Get, usize, Bar); 6] = [
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

#[cfg(test)]
mod tests {
    use super::*;

    const WRK_OUT: &str = "\
Running 5s test @ http://127.0.0.1:40000/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   394.21us  120.11us   4.00ms   90.00%
    Req/Sec   160.00k     3.00k  170.00k    70.00%
  Latency Distribution
     50%  376.00us
     75%  420.00us
     90%  480.00us
     99%    1.02ms
  801234 requests in 5.00s, 98.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec: 160246.80
Transfer/sec:     19.60MB
";

    #[test]
    fn parses_wrk_output() {
        let r = parse_wrk(WRK_OUT);
        assert_eq!(r.requests, 801_234);
        assert!((r.rps - 160_246.8).abs() < 1e-6);
        assert_eq!(r.p50_us, Some(376.0));
        assert_eq!(r.p99_us, Some(1020.0));
        assert_eq!(r.errors, 7);
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration_us("812.00us"), Some(812.0));
        assert_eq!(parse_duration_us("2.00s"), Some(2e6));
        assert_eq!(parse_duration_us("1.5m"), Some(90e6));
        assert_eq!(parse_duration_us("abc"), None);
    }

    #[test]
    fn median_odd_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn reads_own_proc_stat() {
        let pid = std::process::id();
        assert!(rss_bytes(pid).unwrap() > 0);
        // Burn a little CPU so the counter is not trivially zero on a fresh process.
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(cpu_ticks(pid).unwrap() > 0);
    }
}
