//! The access log: one info line per request (target `h1_server::access`) with method,
//! path, status, body bytes and duration, captured by a test logger, on the connection kit
//! (no socket): a line is there as soon as its response was read.

use std::sync::Mutex;
use std::time::Duration;

use futures_lite::future::block_on;
use h1_server::testing::TestConnection;
use h1_server::{Request, Response, ServerConfig};

/// Every record logged in this test binary: level, target, message.
static RECORDS: Mutex<Vec<(log::Level, String, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        RECORDS.lock().unwrap().push((
            record.level(),
            record.target().to_owned(),
            record.args().to_string(),
        ));
    }

    fn flush(&self) {}
}

fn install() {
    static LOGGER: Capture = Capture;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}

/// Access-log messages mentioning `needle`.
fn access_lines(needle: &str) -> Vec<String> {
    RECORDS
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, target, msg)| target == "h1_server::access" && msg.contains(needle))
        .inspect(|(level, _, msg)| assert_eq!(*level, log::Level::Info, "{msg}"))
        .map(|(_, _, msg)| msg.clone())
        .collect()
}

async fn routes(mut req: Request) -> Response {
    let _ = req.bytes(1 << 20).await;
    match req.path() {
        p if p.ends_with("/hello") => Response::text(200, "hello"),
        _ => Response::text(404, "nope"),
    }
}

/// Split a line into `peer method target status bytes duration`.
fn fields(line: &str) -> (String, String, String, u16, u64, Duration) {
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(f.len(), 6, "{line:?}");
    let d = f[5];
    let (num, unit) = d.split_at(d.find(|c: char| c.is_alphabetic() || c == 'µ').unwrap());
    let num: f64 = num
        .parse()
        .unwrap_or_else(|_| panic!("duration in {line:?}"));
    let secs = match unit {
        "s" => num,
        "ms" => num / 1e3,
        "µs" | "us" => num / 1e6,
        "ns" => num / 1e9,
        _ => panic!("duration unit in {line:?}"),
    };
    (
        f[0].to_owned(),
        f[1].to_owned(),
        f[2].to_owned(),
        f[3].parse().unwrap(),
        f[4].parse().unwrap(),
        Duration::from_secs_f64(secs),
    )
}

/// `GET <path>` on HTTP/1.1 with a Host header.
fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")
}

fn conn() -> TestConnection {
    TestConnection::new(routes, ServerConfig::new())
}

#[test]
fn one_info_line_per_request_with_method_path_status_bytes_and_duration() {
    install();
    block_on(async {
        let mut c = conn();
        assert_eq!(c.request(get("/log-a/hello?x=1")).await.status, 200);
        c.send("POST /log-a/missing HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
            .await;
        assert_eq!(c.read_response().await.status, 404);
        assert_eq!(c.request(get("/log-a/hello")).await.status, 200);
        c.settle().await;

        let lines = access_lines("/log-a/");
        assert_eq!(lines.len(), 3, "{lines:#?}");
        let parsed: Vec<_> = lines.iter().map(|l| fields(l)).collect();
        let summary: Vec<(&str, &str, &str, u16, u64)> = parsed
            .iter()
            .map(|(ip, m, t, s, b, _)| (ip.as_str(), m.as_str(), t.as_str(), *s, *b))
            .collect();
        assert_eq!(
            summary,
            [
                ("127.0.0.1", "GET", "/log-a/hello?x=1", 200, 5),
                ("127.0.0.1", "POST", "/log-a/missing", 404, 4),
                ("127.0.0.1", "GET", "/log-a/hello", 200, 5),
            ]
        );
        for (.., took) in &parsed {
            assert!(*took < Duration::from_secs(10), "{took:?}");
        }
    });
}

#[test]
fn a_head_request_logs_no_body_bytes() {
    install();
    block_on(async {
        let mut c = conn();
        c.send("HEAD /log-head/hello HTTP/1.1\r\nHost: t\r\n\r\n")
            .await;
        let r = c.read_head_response().await;
        assert_eq!(r.header("content-length"), Some("5"));
        c.settle().await;
        let lines = access_lines("/log-head/");
        assert_eq!(lines.len(), 1, "{lines:#?}");
        let (_, method, _, status, bytes, _) = fields(&lines[0]);
        assert_eq!(
            (method.as_str(), status, bytes),
            ("HEAD", 200, 0),
            "{lines:?}"
        );
    });
}

#[test]
fn the_access_log_can_be_turned_off() {
    install();
    block_on(async {
        let mut config = ServerConfig::new();
        config.access_log(false);
        let mut c = TestConnection::new(routes, config);
        assert_eq!(c.request(get("/log-off/hello")).await.status, 200);
        // A marker request on a logging connection, after the first one: its line is
        // there, so the first one would have been too.
        assert_eq!(
            conn().request(get("/log-off-marker/hello")).await.status,
            200
        );
        assert_eq!(access_lines("/log-off-marker/").len(), 1);
        assert_eq!(access_lines("/log-off/"), Vec::<String>::new());
    });
}

/// The Common Log Format date of `secs` (UTC), from the HTTP-date the engine writes.
fn clf_date(secs: u64) -> String {
    let d = h1_core::HttpDate::from_unix_secs(secs);
    let d = d.as_str();
    format!(
        "{}/{}/{}:{} +0000",
        &d[5..7],
        &d[8..11],
        &d[12..16],
        &d[17..25]
    )
}

/// `line` with its `[date]` replaced by `[DATE]`, after checking the date is within the
/// last ten seconds.
fn undated(line: &str) -> String {
    let (open, close) = (line.find('[').unwrap(), line.find(']').unwrap());
    let date = &line[open + 1..close];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (now - 10..=now).any(|s| clf_date(s) == date),
        "{date:?} is not a recent CLF date ({})",
        clf_date(now)
    );
    format!("{}[DATE]{}", &line[..open], &line[close + 1..])
}

#[test]
fn common_log_format_lines() {
    install();
    let mut config = ServerConfig::new();
    config.access_log_format(h1_server::AccessLogFormat::Common);
    block_on(async {
        let mut c = TestConnection::new(routes, config);
        assert_eq!(c.request(get("/log-clf/hello?x=1")).await.status, 200);
        c.send("POST /log-clf/missing HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
            .await;
        assert_eq!(c.read_response().await.status, 404);
        c.send("HEAD /log-clf/hello HTTP/1.0\r\n\r\n").await;
        let _ = c.read_head_response().await;
        c.settle().await;
    });
    let lines: Vec<String> = access_lines("/log-clf/")
        .iter()
        .map(|l| undated(l))
        .collect();
    assert_eq!(
        lines,
        [
            r#"127.0.0.1 - - [DATE] "GET /log-clf/hello?x=1 HTTP/1.1" 200 5"#,
            r#"127.0.0.1 - - [DATE] "POST /log-clf/missing HTTP/1.1" 404 4"#,
            r#"127.0.0.1 - - [DATE] "HEAD /log-clf/hello HTTP/1.0" 200 -"#,
        ]
    );
}

#[test]
fn combined_log_format_lines_escape_what_the_client_sent() {
    install();
    let mut config = ServerConfig::new();
    config.access_log_format(h1_server::AccessLogFormat::Combined);
    block_on(async {
        let mut c = TestConnection::new(routes, config);
        c.send(
            "GET /log-combined/hello HTTP/1.1\r\nHost: t\r\nReferer: http://r.example/a?b\r\n\
             User-Agent: evil \"agent\" \\ caf\u{e9}\r\n\r\n",
        )
        .await;
        assert_eq!(c.read_response().await.status, 200);
        c.send("GET /log-combined/none HTTP/1.1\r\nHost: t\r\n\r\n")
            .await;
        assert_eq!(c.read_response().await.status, 404);
        c.settle().await;
    });
    let lines: Vec<String> = access_lines("/log-combined/")
        .iter()
        .map(|l| undated(l))
        .collect();
    assert_eq!(
        lines,
        [
            r#"127.0.0.1 - - [DATE] "GET /log-combined/hello HTTP/1.1" 200 5 "http://r.example/a?b" "evil \"agent\" \\ caf\xC3\xA9""#,
            r#"127.0.0.1 - - [DATE] "GET /log-combined/none HTTP/1.1" 404 4 "-" "-""#,
        ]
    );
}
