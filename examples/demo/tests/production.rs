//! The built demo binary, from outside: `/metrics` in the Prometheus text format, the
//! SSE clock gzip-compressed with each event arriving within about a second of the last
//! (curl `--compressed`), SIGTERM during a `/slow` stream (the stream finishes, exit
//! status 0), and the same under `systemd-socket-activate`. Skips, with a message, when
//! curl or systemd-socket-activate is missing (a failure under `CI=true`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::{Duration, Instant};

use integration_tests::{WAIT, curl, has_tool};

const DEMO: &str = env!("CARGO_BIN_EXE_demo");
const ACTIVATE: &str = "systemd-socket-activate";

/// A child process whose stdout lines arrive on a channel, with when each arrived; killed
/// when dropped.
struct Lines {
    child: Child,
    lines: Receiver<(Instant, String)>,
}

impl Lines {
    fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let out = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if tx.send((Instant::now(), line)).is_err() {
                    return;
                }
            }
        });
        Self { child, lines }
    }

    /// The next line that contains `needle`, within `wait`.
    fn expect(&self, needle: &str, wait: Duration) -> (Instant, String) {
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

    /// Wait (bounded) for the process to exit.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "process did not exit");
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-s", name, &pid])
            .status()
            .unwrap();
        assert!(ok.success(), "kill -s {name} {pid}");
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in the demo's `demo listening on http://ADDR/` line.
fn listening(demo: &Lines) -> String {
    let (_, line) = demo.expect("demo listening on http://", WAIT);
    line.trim_start_matches("demo listening on http://")
        .trim_end_matches('/')
        .to_owned()
}

/// `/slow` in flight, then SIGTERM: the stream finishes and the demo exits with 0.
fn sigterm_finishes_slow(mut demo: Lines, addr: &str) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sSN", "--max-time", "20", &format!("http://{addr}/slow")]);
    let mut slow = Lines::spawn(cmd);
    slow.expect("tick 1", WAIT);
    demo.signal("TERM");
    let (_, last) = slow.expect("tick 10", WAIT);
    assert_eq!(last, "tick 10");
    assert!(slow.wait().success(), "curl /slow failed");
    let status = demo.wait();
    assert!(status.success(), "demo exit status {status:?}");
}

#[test]
fn metrics_a_gzip_clock_and_sigterm_during_a_slow_stream() {
    if !has_tool(
        "curl",
        "metrics_a_gzip_clock_and_sigterm_during_a_slow_stream",
    ) {
        return;
    }
    let mut cmd = Command::new(DEMO);
    cmd.arg("127.0.0.1:0").env("RUST_LOG", "warn");
    let demo = Lines::spawn(cmd);
    let addr = listening(&demo);

    assert_eq!(curl(&[&format!("http://{addr}/hello")]), "Hello, World!\n");
    let metrics = curl(&[&format!("http://{addr}/metrics")]);
    for expected in [
        "# TYPE http_server_requests_total counter",
        "http_server_requests_total{method=\"GET\",status=\"2xx\"} 1",
        "http_server_connections_accepted_total 2",
        "# TYPE http_server_connections_open gauge",
        "# TYPE http_server_request_duration_seconds summary",
    ] {
        assert!(
            metrics.contains(expected),
            "{expected:?} not in:\n{metrics}"
        );
    }

    // The clock through gzip: headers first (-i), then one event a second.
    let mut cmd = Command::new("curl");
    cmd.args(["-sSNi", "--compressed", "--max-time", "20"])
        .arg(format!("http://{addr}/clock/events"));
    let clock = Lines::spawn(cmd);
    clock.expect("Content-Encoding: gzip", WAIT);
    let (mut last, _) = clock.expect("data: ", WAIT);
    for _ in 0..3 {
        let (at, _) = clock.expect("data: ", Duration::from_secs(3));
        let gap = at - last;
        assert!(
            gap < Duration::from_millis(1500),
            "an event came {gap:?} after the previous one"
        );
        last = at;
    }
    drop(clock);

    sigterm_finishes_slow(demo, &addr);
}

#[test]
fn serves_on_the_listener_of_systemd_socket_activate() {
    let test = "serves_on_the_listener_of_systemd_socket_activate";
    if !has_tool("curl", test) || !has_tool(ACTIVATE, test) {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(ACTIVATE);
    // The demo's own argument names another port: the inherited listener wins.
    cmd.args(["-l", &addr, DEMO, "127.0.0.1:1"]);
    let demo = Lines::spawn(cmd);
    // The socket is bound by systemd-socket-activate before it starts the demo.
    let deadline = Instant::now() + WAIT;
    let body = loop {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "10", &format!("http://{addr}/hello")])
            .output()
            .unwrap();
        if out.status.success() {
            break String::from_utf8(out.stdout).unwrap();
        }
        assert!(
            out.status.code() == Some(7) && Instant::now() < deadline,
            "curl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(body, "Hello, World!\n");
    assert_eq!(listening(&demo), addr);
    sigterm_finishes_slow(demo, &addr);
}
