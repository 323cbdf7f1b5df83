//! Child processes: a test binary re-run as a server (signals, socket activation,
//! restarts), or any program whose output the test waits for.
//!
//! A child started by [`ChildServer::spawn`] prints `@@<word> <text>` lines on stdout
//! ([`report`]); the parent waits for them with a deadline. Every wait is bounded; a child
//! still running when its handle drops is killed.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// The longest any single wait on a child may take (children build and start slowly).
pub const CHILD_WAIT: Duration = Duration::from_secs(20);

/// Set in a child's environment: run the server instead of the test.
pub const CHILD_ENV: &str = "HTTP_SERVER_PROD_CHILD";

/// Whether this process is a child started by [`ChildServer`].
pub fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// An environment variable of the child, parsed.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Print a line the parent waits for.
pub fn report(word: &str, text: impl std::fmt::Display) {
    println!("\n@@{word} {text}");
}

/// A child process running one test of this binary in child mode.
#[derive(Debug)]
pub struct ChildServer {
    child: Child,
    /// Every line of the child's stdout, with when it arrived.
    lines: Receiver<(Instant, String)>,
    /// Every `@@` line seen so far, for failure messages.
    pub seen: Vec<String>,
}

impl ChildServer {
    /// Run `test` (its exact name) of this binary in a child with `env` set.
    pub fn spawn(test: &str, env: &[(&str, String)]) -> Self {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([test, "--exact", "--nocapture", "--test-threads=1"]);
        Self::spawn_command(cmd, env)
    }

    /// Run `cmd` (which ends up running a child-mode test) with `env` set.
    pub fn spawn_command(mut cmd: Command, env: &[(&str, String)]) -> Self {
        cmd.env(CHILD_ENV, "1")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        Self::adopt(cmd.spawn().expect("spawn the child"))
    }

    /// Watch an already spawned child (its stdout piped).
    pub fn adopt(mut child: Child) -> Self {
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send((Instant::now(), line)).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Run any program (stdout piped, stderr discarded) and watch its output with
    /// [`expect_line`](Self::expect_line).
    pub fn watch(mut cmd: Command) -> Self {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        Self::adopt(child)
    }

    /// The next line of output that contains `needle`, within `wait`, with when it
    /// arrived (earlier lines are passed over).
    pub fn expect_line(&mut self, needle: &str, wait: Duration) -> (Instant, String) {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) if line.contains(needle) => return (at, line),
                Ok(_) => {}
                Err(e) => panic!("no line with {needle:?} within {wait:?}: {e}"),
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait for the next `@@word text` line and return `text`.
    pub fn expect(&mut self, word: &str) -> String {
        let deadline = Instant::now() + CHILD_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((_, line)) => {
                    let Some(at) = line.find("@@") else { continue };
                    let line = line[at + 2..].to_owned();
                    self.seen.push(line.clone());
                    if let Some(text) = line.strip_prefix(word) {
                        if let Some(text) = text.strip_prefix(' ') {
                            return text.to_owned();
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no @@{word} from the child in {CHILD_WAIT:?}; saw {:?}",
                        self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the child ended without @@{word}; saw {:?}", self.seen)
                }
            }
        }
    }

    /// The address the child listens on (its `@@listening ADDR` line).
    pub fn listening(&mut self) -> SocketAddr {
        self.expect("listening").trim().parse().expect("an address")
    }

    /// Send `signal` (`TERM`, `INT`, `HUP`) with kill(1).
    pub fn signal(&self, signal: &str) {
        send_signal(self.pid(), signal);
    }

    /// Wait (bounded) for the child to exit.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + CHILD_WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "the child did not exit in {CHILD_WAIT:?}; saw {:?}",
                    self.seen
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Send `signal` to `pid` with kill(1).
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -s {signal} {pid} failed");
}

/// Wait (bounded) until connecting to `addr` is refused: the listener closed.
pub fn wait_refused(addr: SocketAddr) {
    let deadline = Instant::now() + CHILD_WAIT;
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
            _ if Instant::now() > deadline => panic!("{addr} still accepts after {CHILD_WAIT:?}"),
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}
