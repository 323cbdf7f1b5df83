//! A real client: curl against the server (skipped, saying so, when curl is absent; the CI
//! script installs it).

use std::io::Write;
use std::process::{Command, Output, Stdio};

use futures_lite::stream;
use h1_server::{Bytes, Request, Response, StreamBody};
use integration_tests::{Hooks, TestServer, WAIT, has_tool, in_thread};

async fn routes(mut req: Request) -> Response {
    match req.path() {
        "/hello" => Response::text(200, "Hello, World!\n"),
        "/echo" => match req.bytes(8 << 20).await {
            Ok(b) => {
                let n = b.len().to_string();
                Response::bytes(200, b).header("X-Received", n)
            }
            Err(e) => Response::from_error(&e),
        },
        "/form" => match req.form(1024).await {
            Ok(f) => Response::text(200, format!("name={}", f.get("name").unwrap_or("-"))),
            Err(e) => Response::from_error(&e),
        },
        "/stream" => Response::stream(
            200,
            StreamBody::new(stream::iter(
                (0..100).map(|i| Ok(Bytes::from(format!("line {i}\n")))),
            )),
        ),
        _ => Response::text(404, "not found\n"),
    }
}

/// Run curl with `args` (direct to 127.0.0.1, never through a proxy, bounded in time),
/// feeding it `stdin`.
fn curl(args: &[&str], stdin: Option<Vec<u8>>) -> Output {
    let mut child = Command::new("curl")
        .args(["--silent", "--show-error", "--http1.1", "--noproxy", "*"])
        .args(["--max-time", &WAIT.as_secs().to_string()])
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn curl");
    let feeder = stdin.map(|data| {
        let mut pipe = child.stdin.take().unwrap();
        in_thread(move || pipe.write_all(&data))
    });
    let out = child.wait_with_output().expect("curl output");
    if let Some(feeder) = feeder {
        feeder.recv().unwrap().expect("feed curl");
    }
    assert!(
        out.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn curl_gets_posts_streams_and_reuses_the_connection() {
    if !has_tool("curl", "curl") {
        return;
    }
    let hooks = Hooks::default();
    let server = TestServer::start(|c| hooks.install(c), routes);

    let out = curl(&["--include", &server.url("/hello")], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("Content-Length: 14\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nHello, World!\n"), "{text}");

    // HEAD.
    let out = curl(&["--head", &server.url("/hello")], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Content-Length: 14\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "{text}");

    // A 3 MB upload from stdin (curl sends Expect: 100-continue for large bodies).
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let out = curl(
        &[
            "--data-binary",
            "@-",
            "-H",
            "Content-Type: application/octet-stream",
            "-H",
            "Expect: 100-continue",
            "--dump-header",
            "/dev/stderr",
            &server.url("/echo"),
        ],
        Some(body.clone()),
    );
    assert!(
        out.stdout == body,
        "echo differs ({} bytes)",
        out.stdout.len()
    );
    let headers = String::from_utf8_lossy(&out.stderr);
    assert!(headers.contains("HTTP/1.1 100 Continue"), "{headers}");
    assert!(headers.contains("X-Received: 3000000"), "{headers}");

    // A form, and a chunked stream.
    let out = curl(&["--data", "name=J%C3%B6rg+M", &server.url("/form")], None);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "name=Jörg M");
    let out = curl(&[&server.url("/stream")], None);
    let want: String = (0..100).map(|i| format!("line {i}\n")).collect();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want);

    // Three URLs in one run share one keep-alive connection.
    let before = hooks.opened().len();
    let out = curl(
        &[
            &server.url("/hello"),
            &server.url("/missing"),
            &server.url("/hello"),
        ],
        None,
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "Hello, World!\nnot found\nHello, World!\n"
    );
    assert_eq!(hooks.opened().len(), before + 1);
}
