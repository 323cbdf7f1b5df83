//! The accept loop survives running out of file descriptors (EMFILE): it backs off,
//! retries, and accepts the waiting connection once descriptors are free again.
//!
//! The test re-runs itself in a child process whose soft limit on open files is low
//! (`ulimit -Sn`), so exhausting the descriptor table is quick and touches nothing else.

use std::fs::File;
use std::io;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use h1_server::{Request, Response};
use integration_tests::{Client, TestServer, WAIT, get, wait_until};

const CHILD_ENV: &str = "INTEGRATION_TESTS_EMFILE_CHILD";
const TEST_NAME: &str = "accept_loop_survives_running_out_of_file_descriptors";

static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            WARNINGS.lock().unwrap().push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

#[test]
fn accept_loop_survives_running_out_of_file_descriptors() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
    } else {
        parent();
    }
}

/// Run this test again in a child process with at most 64 open files.
fn parent() {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -Sn 64 && exec "$0" "$@""#)
        .arg(exe)
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sh");
    let deadline = Instant::now() + WAIT * 3;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child test did not finish in {:?}", WAIT * 3);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child did not run the test:\n{stdout}"
    );
}

fn child() {
    static LOGGER: Capture = Capture;
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Warn);

    let server = TestServer::start(
        |_| {},
        |req: Request| async move { Response::text(200, req.path().to_owned()) },
    );
    let mut first = server.connect();
    assert_eq!(first.request(&get("/first")).text(), "/first");

    // Use up every descriptor, then free exactly one for the next client socket.
    let mut hog = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(f) => hog.push(f),
            Err(e) if e.raw_os_error() == Some(24) => break,
            Err(e) => panic!("unexpected error while using up descriptors: {e}"),
        }
        assert!(hog.len() < 10_000, "the soft limit was not lowered");
    }
    hog.pop();
    let mut waiting = Client::connect(server.addr);
    waiting.send(get("/waiting"));
    // The kernel queued the connection, but the server cannot accept it (no descriptor).
    assert!(
        waiting.is_quiet_for(Duration::from_millis(300)),
        "served without a free descriptor?"
    );
    wait_until("an accept failure warning", WAIT, || {
        WARNINGS
            .lock()
            .unwrap()
            .iter()
            .any(|w| w.contains("accept failed"))
    });
    // An open connection keeps working meanwhile.
    assert_eq!(first.request(&get("/still")).text(), "/still");

    // Descriptors come back: the accept loop retries and serves the waiting client.
    drop(hog);
    assert_eq!(waiting.read_response().text(), "/waiting");
    let mut later = Client::connect(server.addr);
    assert_eq!(later.request(&get("/later")).text(), "/later");
    let warnings = WARNINGS.lock().unwrap().clone();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&io::Error::from_raw_os_error(24).to_string())),
        "{warnings:?}"
    );
}
