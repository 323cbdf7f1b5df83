//! Socket activation in a real process: Debian's `systemd-socket-activate` binds a TCP
//! and a Unix socket and starts this test binary (re-run as a server child) with them;
//! curl talks to it over both; SIGTERM stops it with status 0. Skips, with a message,
//! when `systemd-socket-activate` or curl is missing (CI installs both).
#![cfg(all(unix, feature = "listeners", feature = "signals", feature = "smol"))]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use h1_server::listeners::{Inherited, systemd_listeners};
use h1_server::{Request, Response, Server};
use integration_tests::{CHILD_ENV, CHILD_WAIT, ChildServer, curl, has_tool, is_child, report};

const ACTIVATE: &str = "systemd-socket-activate";

/// The child: serve on the activated sockets until SIGTERM.
fn child() {
    smol::block_on(async {
        let activated = systemd_listeners().unwrap();
        let names: Vec<&str> = activated.iter().map(|a| a.name.as_str()).collect();
        report("names", names.join(","));
        let kinds: Vec<&str> = activated
            .iter()
            .map(|a| match a.listener {
                Inherited::Tcp(_) => "tcp",
                Inherited::Unix(_) => "unix",
            })
            .collect();
        report("kinds", kinds.join(","));
        report(
            "env",
            format!("LISTEN_FDS={:?}", std::env::var("LISTEN_FDS").ok()),
        );
        if activated.is_empty() {
            report(
                "from_systemd",
                format!("{:?}", Server::from_systemd().unwrap().is_some()),
            );
            return;
        }
        let server = Server::from_listeners(activated.into_iter().map(|a| a.listener)).unwrap();
        let pid = std::process::id();
        let handle = server.serve(move |req: Request| async move {
            Response::text(200, format!("activated pid={pid} path={}\n", req.path()))
        });
        let signals = handle.shutdown_on_signals(Duration::from_secs(5)).unwrap();
        report("listening", handle.local_addr());
        let stopped = signals.await;
        report("stopped", format!("{:?}", stopped.signal));
    });
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn serves_on_sockets_from_systemd_socket_activate() {
    if is_child() {
        return child();
    }
    let test = "serves_on_sockets_from_systemd_socket_activate";
    if !has_tool(ACTIVATE, test) || !has_tool("curl", test) {
        return;
    }
    let port = free_port();
    let sock: PathBuf =
        std::env::temp_dir().join(format!("activation-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    let tcp = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(ACTIVATE);
    cmd.args(["-l", &tcp, "-l"])
        .arg(&sock)
        .args(["--fdname=web:admin", "-E", CHILD_ENV])
        .arg(std::env::current_exe().unwrap())
        .args([
            "serves_on_sockets_from_systemd_socket_activate",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ]);
    let mut child = ChildServer::spawn_command(cmd, &[]);
    // systemd-socket-activate starts the server on the first connection: curl's.
    let body = integration_tests::curl_when_bound(&format!("http://{tcp}/hello"), CHILD_WAIT);
    assert_eq!(child.expect("names"), "web,admin");
    assert_eq!(child.expect("kinds"), "tcp,unix");
    // Taken once: a process started by the server does not see them.
    assert_eq!(child.expect("env"), "LISTEN_FDS=None");
    assert_eq!(child.listening().port(), port);
    let pid = child.pid();
    assert_eq!(body, format!("activated pid={pid} path=/hello\n"));
    let sock_str = sock.to_str().unwrap();
    let body = curl(&["--unix-socket", sock_str, "http://localhost/unix"]);
    assert_eq!(body, format!("activated pid={pid} path=/unix\n"));
    child.signal("TERM");
    let status = child.wait();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(child.expect("stopped"), "Terminate");
    let _ = std::fs::remove_file(&sock);
}

#[test]
fn descriptors_meant_for_another_process_are_not_taken() {
    if is_child() {
        return child();
    }
    // LISTEN_PID names another process (pid 1): nothing is taken.
    let mut child = ChildServer::spawn(
        "descriptors_meant_for_another_process_are_not_taken",
        &[
            ("LISTEN_PID", "1".to_owned()),
            ("LISTEN_FDS", "1".to_owned()),
        ],
    );
    assert_eq!(child.expect("names"), "");
    assert_eq!(child.expect("env"), "LISTEN_FDS=Some(\"1\")");
    assert_eq!(child.expect("from_systemd"), "false");
    assert!(child.wait().success());
}
