//! Processes for the benches: launching pinned and at raised priority, bounded waits, a
//! server process guard, free loopback ports, and readers of `/proc`.

use std::fmt::Write as _;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How often bounded waits poll the child.
const POLL: Duration = Duration::from_millis(20);

/// Whether `cmd` is on the `PATH`.
pub(crate) fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether there are at least 2 cores to pin a server and its client apart.
pub(crate) fn two_cores() -> bool {
    thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
}

/// Whether `nice -n -20` works here (it needs root or CAP_SYS_NICE), and setsid is there.
pub(crate) fn can_raise_priority() -> bool {
    if !have("setsid") {
        return false;
    }
    let mut c = Command::new("nice");
    c.args(["-n", "-20", "nice"]);
    matches!(run_bounded(&mut c, Duration::from_secs(10)),
        Ok((st, out, err)) if st.success() && err.is_empty() && out.trim() == "-20")
}

/// How bench processes are started: pinned to a core, at nice -20, with a raised fd limit.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Launcher {
    /// Pin with `taskset -c CORE`.
    pub(crate) pin: bool,
    /// Run at nice -20 in a session (so an autogroup) of its own set to -20 (root only),
    /// so that other work on the machine steals less of the core.
    pub(crate) nice: bool,
    /// Ask for this fd limit (`ulimit -n`, the hard limit when it is lower).
    pub(crate) nofile: Option<u32>,
}

impl Launcher {
    /// A command that runs the program given as its next argument pinned to `core`, with
    /// the fd limit, and, with `nice`, at nice -20 in a session (so an autogroup) of its
    /// own set to nice -20: with autogroups, nice only counts within a session, and other
    /// sessions' builds would otherwise share the core evenly with the server. Every step
    /// `exec`s, so the child's pid is the program's own.
    pub(crate) fn command(&self, core: usize) -> Command {
        let mut script = String::new();
        if self.nice {
            script.push_str("echo -20 > /proc/self/autogroup 2>/dev/null; ");
        }
        if let Some(n) = self.nofile {
            let _ = write!(
                script,
                "ulimit -n {n} 2>/dev/null || ulimit -n \"$(ulimit -Hn)\"; "
            );
        }
        script.push_str("exec ");
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

    /// Starts `bin ADDR ARGS...` on core 0 as a [`Server`] named `name`, its log
    /// `dir/NAME.log`; when it runs in a session of its own (`nice`), a watchdog kills it
    /// once we are gone, and after `max_life` in any case.
    pub(crate) fn server(
        &self,
        name: &str,
        dir: &Path,
        bin: &Path,
        args: &[String],
        max_life: Duration,
    ) -> Result<Server, String> {
        let log = dir.join(format!("{name}.log"));
        Server::start(name, log, self.nice.then_some(max_life), |addr| {
            let mut c = self.command(0);
            c.arg(bin).arg(addr.to_string()).args(args);
            c
        })
    }

    /// How the command line of the report names the launch: `setsid+autogroup -20, nice
    /// -n -20 ` with `nice`, else nothing.
    pub(crate) fn prefix(&self) -> &'static str {
        if self.nice {
            "setsid+autogroup -20, nice -n -20 "
        } else {
            ""
        }
    }
}

// ---------------------------------------------------------------------------------------
// Bounded waits

/// Waits for `child` at most `timeout`; kills it when the time is up.
pub(crate) fn wait_child(
    child: &mut Child,
    timeout: Duration,
    what: &str,
) -> Result<ExitStatus, String> {
    wait_child_with(child, timeout, what, &mut |_| {})
}

/// [`wait_child`], calling `on_poll(pid)` every 20 ms while the child runs.
pub(crate) fn wait_child_with(
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
        thread::sleep(POLL);
    }
}

/// Runs `cmd` with its output sent to our stderr (stdout is the report), bounded by `timeout`.
pub(crate) fn wait_status(cmd: &mut Command, timeout: Duration) -> Result<ExitStatus, String> {
    let what = display(cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .spawn()
        .map_err(|e| format!("{what}: {e}"))?;
    wait_child(&mut child, timeout, &what)
}

/// Runs `cmd` capturing its stdout and stderr, bounded by `timeout`.
pub(crate) fn run_bounded(
    cmd: &mut Command,
    timeout: Duration,
) -> Result<(ExitStatus, String, String), String> {
    run_bounded_with(cmd, timeout, &mut |_| {})
}

/// [`run_bounded`], calling `on_poll(pid)` every 20 ms while the child runs.
pub(crate) fn run_bounded_with(
    cmd: &mut Command,
    timeout: Duration,
    on_poll: &mut dyn FnMut(u32),
) -> Result<(ExitStatus, String, String), String> {
    let what = display(cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: {e}"))?;
    fn drain(r: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
        thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    }
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let st = wait_child_with(&mut child, timeout, &what, on_poll)?;
    Ok((
        st,
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    ))
}

// ---------------------------------------------------------------------------------------
// Child processes that do not outlive us

/// A child process; killed (and reaped) when dropped.
#[derive(Debug)]
pub(crate) struct Guard(pub(crate) Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback address with a port free at the time of the call.
pub(crate) fn free_port() -> Result<SocketAddr, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
    l.local_addr().map_err(|e| e.to_string())
}

/// A server process listening on a loopback port, its output in a log file; killed (and
/// reaped) when dropped.
#[derive(Debug)]
pub(crate) struct Server {
    name: String,
    child: Guard,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    log: PathBuf,
    /// Held to be killed with the server.
    _watchdog: Option<Guard>,
}

impl Server {
    /// Starts the command `cmd` makes for a free loopback address, its stdout and stderr
    /// in `log`, and waits (10 s at most) until it accepts connections.
    ///
    /// A server in a session of its own (see [`Launcher::nice`]) would outlive a Ctrl-C of
    /// ours: with `watchdog`, a watchdog process (also in its own session, so Ctrl-C leaves
    /// it alone) kills it when we are gone, and after `watchdog` in any case.
    pub(crate) fn start(
        name: &str,
        log: PathBuf,
        watchdog: Option<Duration>,
        cmd: impl FnOnce(SocketAddr) -> Command,
    ) -> Result<Self, String> {
        let addr = free_port()?;
        let log_file =
            std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let log_err = log_file.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = cmd(addr);
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("start {}: {e}", display(&cmd)))?;
        let watchdog = watchdog.and_then(|limit| {
            let script = format!(
                "trap '' INT TERM HUP; i=0; \
                 while [ $i -lt {} ] && kill -0 \"$0\" 2>/dev/null && kill -0 \"$1\" 2>/dev/null; \
                 do sleep 0.5; i=$((i+1)); done; kill -9 \"$1\" 2>/dev/null",
                limit.as_secs() * 2
            );
            Command::new("setsid")
                .args(["bash", "-c", &script])
                .arg(std::process::id().to_string())
                .arg(child.id().to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()
                .map(Guard)
        });
        let mut server = Self {
            name: name.to_string(),
            child: Guard(child),
            addr,
            log,
            _watchdog: watchdog,
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// The name it was started with.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(st)) = self.child.0.try_wait() {
                return Err(format!(
                    "{} exited at start ({st}): {}",
                    self.name,
                    self.log_tail()
                ));
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} not listening on {} after 10 s: {}",
                    self.name,
                    self.addr,
                    self.log_tail()
                ));
            }
            thread::sleep(POLL);
        }
    }

    /// An error (with the end of its log) when the server is no longer running.
    pub(crate) fn check_alive(&mut self) -> Result<(), String> {
        match self.child.0.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(st)) => Err(format!("{} died ({st}): {}", self.name, self.log_tail())),
            Err(e) => Err(format!("{}: {e}", self.name)),
        }
    }

    fn log_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        let tail = lines[lines.len().saturating_sub(10)..].join("\n");
        format!("(log {}):\n{tail}", self.log.display())
    }
}

/// A copy of `bin` in `dir` named `name`: benches run from snapshots, as others may
/// rebuild target/ while a bench runs, and a binary replaced mid-run would mix versions
/// (or vanish while a server is being started).
pub(crate) fn snapshot(bin: &Path, dir: &Path, name: &str) -> Result<PathBuf, String> {
    let to = dir.join(name);
    let _ = std::fs::remove_file(&to);
    std::fs::copy(bin, &to)
        .map_err(|e| format!("copy {} to {}: {e}", bin.display(), to.display()))?;
    Ok(to)
}

// ---------------------------------------------------------------------------------------
// /proc

/// Clock ticks per second (`getconf CLK_TCK`, 100 when unknown).
pub(crate) fn clock_ticks() -> f64 {
    let mut c = Command::new("getconf");
    c.arg("CLK_TCK");
    run_bounded(&mut c, Duration::from_secs(10))
        .ok()
        .and_then(|(_, out, _)| out.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// utime + stime of `pid`, in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> Result<u64, String> {
    stat_cpu_ticks(&format!("/proc/{pid}/stat"))
}

/// utime + stime of the calling thread, in clock ticks.
pub(crate) fn thread_cpu_ticks() -> Result<u64, String> {
    stat_cpu_ticks("/proc/thread-self/stat")
}

/// utime + stime from a `/proc/.../stat` file, in clock ticks.
fn stat_cpu_ticks(path: &str) -> Result<u64, String> {
    let s = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
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
pub(crate) fn run_queue_wait_ns(pid: u32) -> Option<u64> {
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

/// Context switches of all threads of `pid` so far: (voluntary, involuntary), summed
/// over `/proc/PID/task/*/status` (threads gone meanwhile are not counted).
pub(crate) fn context_switches(pid: u32) -> (u64, u64) {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return (0, 0);
    };
    let mut sum = (0, 0);
    for task in dir.flatten() {
        let Ok(st) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        let field = |key: &str| {
            st.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        sum.0 += field("voluntary_ctxt_switches:");
        sum.1 += field("nonvoluntary_ctxt_switches:");
    }
    sum
}

/// A `kB` line of `/proc/PID/status` (`VmRSS`, `VmHWM`, ...), in KiB.
pub(crate) fn status_kib(pid: u32, key: &str) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let s = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .ok_or_else(|| format!("{path}: no {key}"))
}

/// VmRSS of `pid`, in bytes.
pub(crate) fn rss_bytes(pid: u32) -> Result<u64, String> {
    status_kib(pid, "VmRSS").map(|kb| kb * 1024)
}

/// `/proc/loadavg`, trimmed (empty when unreadable).
pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// How a command is shown to the user: `cargo test --workspace`.
pub(crate) fn display(cmd: &Command) -> String {
    let mut s = Path::new(cmd.get_program())
        .file_name()
        .map_or_else(
            || cmd.get_program().to_string_lossy(),
            |n| n.to_string_lossy(),
        )
        .into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_proc_stat() {
        let pid = std::process::id();
        assert!(rss_bytes(pid).unwrap() > 0);
        assert!(status_kib(pid, "VmHWM").unwrap() > 0);
        assert!(status_kib(pid, "NoSuchKey").is_err());
        // Burn CPU until the counter (in clock ticks, 10 ms) moves: on a loaded machine
        // 50 ms of wall time may not be one tick of CPU time. Bounded at 10 s.
        let t = Instant::now();
        let mut x = 0u64;
        while cpu_ticks(pid).unwrap() == 0 && t.elapsed() < Duration::from_secs(10) {
            for _ in 0..1_000_000 {
                x = x.wrapping_add(std::hint::black_box(1));
            }
        }
        assert!(x > 0);
        assert!(cpu_ticks(pid).unwrap() > 0);
    }

    #[test]
    fn launcher_scripts() {
        let script = |l: Launcher| {
            let c = l.command(1);
            let args: Vec<String> = c
                .get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            (c.get_program().to_string_lossy().into_owned(), args)
        };
        let (prog, args) = script(Launcher::default());
        assert_eq!(prog, "bash");
        assert_eq!(args, ["-c", "exec \"$@\"", "bench-launch"]);
        let (prog, args) = script(Launcher {
            pin: true,
            nice: true,
            nofile: Some(20_000),
        });
        assert_eq!(prog, "setsid");
        assert_eq!(
            args[2],
            "echo -20 > /proc/self/autogroup 2>/dev/null; \
             ulimit -n 20000 2>/dev/null || ulimit -n \"$(ulimit -Hn)\"; \
             exec nice -n -20 taskset -c 1 \"$@\""
        );
    }

    #[test]
    fn bounded_wait_kills() {
        let mut c = Command::new("sleep");
        c.arg("5");
        let t = Instant::now();
        let e = run_bounded(&mut c, Duration::from_millis(100)).unwrap_err();
        assert!(e.contains("killed"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(4));
        let mut c = Command::new("echo");
        c.arg("hi");
        let (st, out, _) = run_bounded(&mut c, Duration::from_secs(10)).unwrap();
        assert!(st.success());
        assert_eq!(out, "hi\n");
    }
}
