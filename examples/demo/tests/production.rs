//! The built demo binary, from outside: `/metrics` in the Prometheus text format, the
//! SSE clock gzip-compressed with each event arriving within about a second of the last
//! (curl `--compressed`), SIGTERM during a `/slow` stream (the stream finishes, exit
//! status 0), and the same under `systemd-socket-activate`. Skips, with a message, when
//! curl or systemd-socket-activate is missing (a failure under `CI=true`).

use std::process::Command;
use std::time::Duration;

use integration_tests::{ChildServer, WAIT, curl, curl_when_bound, has_tool};

const DEMO: &str = env!("CARGO_BIN_EXE_demo");
const ACTIVATE: &str = "systemd-socket-activate";

/// The address in the demo's `demo listening on http://ADDR/` line.
fn listening(demo: &mut ChildServer) -> String {
    let (_, line) = demo.expect_line("demo listening on http://", WAIT);
    line.trim_start_matches("demo listening on http://")
        .trim_end_matches('/')
        .to_owned()
}

/// `/slow` in flight, then SIGTERM: the stream finishes and the demo exits with 0.
fn sigterm_finishes_slow(mut demo: ChildServer, addr: &str) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sSN", "--max-time", "20", &format!("http://{addr}/slow")]);
    let mut slow = ChildServer::watch(cmd);
    slow.expect_line("tick 1", WAIT);
    demo.signal("TERM");
    let (_, last) = slow.expect_line("tick 10", WAIT);
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
    let mut demo = ChildServer::watch(cmd);
    let addr = listening(&mut demo);

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
    let mut clock = ChildServer::watch(cmd);
    clock.expect_line("Content-Encoding: gzip", WAIT);
    let (mut last, _) = clock.expect_line("data: ", WAIT);
    for _ in 0..3 {
        let (at, _) = clock.expect_line("data: ", Duration::from_secs(3));
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
    let mut demo = ChildServer::watch(cmd);
    // The socket is bound by systemd-socket-activate before it starts the demo.
    let body = curl_when_bound(&format!("http://{addr}/hello"), WAIT);
    assert_eq!(body, "Hello, World!\n");
    assert_eq!(listening(&mut demo), addr);
    sigterm_finishes_slow(demo, &addr);
}
