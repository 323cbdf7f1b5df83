//! `ServerHandle::shutdown_on_signals` in a real process: this test binary re-runs itself
//! as a server child (on smol, tokio or async-executor), the parent sends it signals with
//! kill(1) while a slow response is in flight, and checks the response and the exit status.
#![cfg(all(unix, feature = "signals", feature = "smol"))]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use h1_server::{Request, Response, Server, Spawner};
use integration_tests::{
    ChildServer, Client, SlowBody, env_or, get, is_child, report, wait_refused,
};

/// Run the server in this child process on the runtime named by `PROD_RUNTIME` until a
/// signal stops it.
fn child() {
    let runtime: String = env_or("PROD_RUNTIME", "smol".to_owned());
    match runtime.as_str() {
        "smol" => smol::block_on(serve(h1_server::SmolSpawner)),
        "tokio" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(serve(|fut| {
                tokio::spawn(fut);
            })),
        "async-executor" => {
            let ex = Arc::new(async_executor::Executor::new());
            let spawner = {
                let ex = ex.clone();
                move |fut| ex.spawn(fut).detach()
            };
            futures_lite::future::block_on(ex.run(serve(spawner)));
        }
        other => panic!("unknown runtime {other}"),
    }
}

async fn serve(spawner: impl Spawner) {
    let slow = Duration::from_millis(env_or("PROD_SLOW_MS", 1000));
    let deadline = Duration::from_millis(env_or("PROD_DEADLINE_MS", 10_000));
    let mut server = Server::bind("127.0.0.1:0").await.unwrap();
    server.spawner(spawner);
    let handle = server.serve(move |req: Request| async move {
        match req.path() {
            "/slow" => Response::stream(200, SlowBody::new(slow)),
            _ => Response::text(200, "ok\n"),
        }
    });
    let reloads = Arc::new(AtomicUsize::new(0));
    let on_signals = handle
        .shutdown_on_signals(deadline)
        .unwrap()
        .on_reload(move || report("reload", reloads.fetch_add(1, Ordering::SeqCst) + 1));
    report("listening", handle.local_addr());
    let stopped = on_signals.await;
    report(
        "stopped",
        format!("{:?} immediate={}", stopped.signal, stopped.immediate),
    );
}

/// The slow response in flight when `signal` arrives completes; the listener closes; the
/// process exits with status 0.
fn in_flight_request_completes(test: &str, runtime: &str, signal: &str, name: &str) {
    let mut child = ChildServer::spawn(
        test,
        &[
            ("PROD_RUNTIME", runtime.to_owned()),
            ("PROD_SLOW_MS", "1500".to_owned()),
        ],
    );
    let addr = child.listening();
    let mut conn = Client::connect(addr);
    conn.send(get("/slow"));
    conn.read_until(b"first\n");
    child.signal(signal);
    wait_refused(addr);
    let got = conn.read_to_end();
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("second\n"), "response cut: {text:?}");
    assert!(text.ends_with("0\r\n\r\n"), "no last chunk: {text:?}");
    let status = child.wait();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(child.expect("stopped"), format!("{name} immediate=false"));
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_exits_0_on_smol() {
    if is_child() {
        return child();
    }
    let test = "sigterm_lets_the_request_in_flight_finish_and_exits_0_on_smol";
    in_flight_request_completes(test, "smol", "TERM", "Terminate");
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_exits_0_on_tokio() {
    if is_child() {
        return child();
    }
    let test = "sigterm_lets_the_request_in_flight_finish_and_exits_0_on_tokio";
    in_flight_request_completes(test, "tokio", "TERM", "Terminate");
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_exits_0_on_async_executor() {
    if is_child() {
        return child();
    }
    let test = "sigterm_lets_the_request_in_flight_finish_and_exits_0_on_async_executor";
    in_flight_request_completes(test, "async-executor", "TERM", "Terminate");
}

#[test]
fn sigint_lets_the_request_in_flight_finish_and_exits_0() {
    if is_child() {
        return child();
    }
    let test = "sigint_lets_the_request_in_flight_finish_and_exits_0";
    in_flight_request_completes(test, "smol", "INT", "Interrupt");
}

#[test]
fn second_signal_cuts_the_drain_short_and_exits_0() {
    if is_child() {
        return child();
    }
    // The slow response would take a minute; the drain deadline is longer still.
    let mut child = ChildServer::spawn(
        "second_signal_cuts_the_drain_short_and_exits_0",
        &[
            ("PROD_RUNTIME", "tokio".to_owned()),
            ("PROD_SLOW_MS", "60000".to_owned()),
            ("PROD_DEADLINE_MS", "120000".to_owned()),
        ],
    );
    let addr = child.listening();
    let mut conn = Client::connect(addr);
    conn.send(get("/slow"));
    conn.read_until(b"first\n");
    child.signal("TERM");
    // The listener closed: the first signal started the drain.
    wait_refused(addr);
    child.signal("INT");
    let got = conn.read_to_end();
    let text = String::from_utf8_lossy(&got);
    assert!(
        !text.contains("second\n"),
        "the response was not cut: {text:?}"
    );
    let status = child.wait();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(child.expect("stopped"), "Terminate immediate=true");
}

#[test]
fn sighup_calls_the_reload_hook_and_keeps_serving() {
    if is_child() {
        return child();
    }
    let mut child = ChildServer::spawn(
        "sighup_calls_the_reload_hook_and_keeps_serving",
        &[("PROD_RUNTIME", "async-executor".to_owned())],
    );
    let addr = child.listening();
    child.signal("HUP");
    assert_eq!(child.expect("reload"), "1");
    child.signal("HUP");
    assert_eq!(child.expect("reload"), "2");
    let mut conn = Client::connect(addr);
    conn.send(get("/"));
    conn.read_until(b"ok\n");
    assert!(String::from_utf8_lossy(conn.buffered()).starts_with("HTTP/1.1 200"));
    child.signal("TERM");
    conn.read_to_end();
    let status = child.wait();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(child.expect("stopped"), "Terminate immediate=false");
}
