//! Request helpers on the connection kit (no socket): body as bytes, text and form with
//! limits, query, headers, client IP behind trusted proxies. The peer and local addresses
//! and reading the body from the socket only on demand stay in the loopback suite.

use std::net::{IpAddr, Ipv4Addr};

use futures_lite::future::block_on;
use h1_server::testing::TestConnection;
use h1_server::{Request, Response, ServerConfig};

async fn routes(mut req: Request) -> Response {
    match req.path() {
        "/bytes" => match req.bytes(16).await {
            Ok(b) => Response::bytes(200, b),
            Err(e) => Response::from_error(&e),
        },
        "/text" => match req.text(16).await {
            Ok(t) => Response::text(200, format!("text:{t}")),
            Err(e) => Response::from_error(&e),
        },
        "/form" => match req.form(64).await {
            Ok(f) => {
                let pairs: Vec<String> = f.iter().map(|(n, v)| format!("{n}={v}")).collect();
                Response::text(200, pairs.join("|"))
            }
            Err(e) => Response::from_error(&e),
        },
        "/query" => {
            let q = req.query_pairs();
            Response::text(
                200,
                format!(
                    "raw={:?} x={:?} ys={:?} path={}",
                    req.query(),
                    q.get("x"),
                    q.get_all("y").collect::<Vec<_>>(),
                    req.path()
                ),
            )
        }
        "/headers" => {
            let all: Vec<&str> = req
                .headers()
                .get_all("x-multi")
                .map(|v| std::str::from_utf8(v).unwrap_or("?"))
                .collect();
            Response::text(
                200,
                format!(
                    "one={:?} multi={} method={} target={} version={:?}",
                    req.header("X-ONE"),
                    all.join(","),
                    req.method(),
                    req.target(),
                    req.version()
                ),
            )
        }
        "/ip" => Response::text(200, req.client_ip().to_string()),
        _ => Response::text(404, "no route"),
    }
}

fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn chunked_post(path: &str, chunks: &[&str]) -> String {
    let mut s = format!("POST {path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for c in chunks {
        s += &format!("{:x}\r\n{c}\r\n", c.len());
    }
    s + "0\r\n\r\n"
}

/// `GET <path>` on HTTP/1.1 with a Host header.
fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")
}

fn ip_request(headers: &str) -> String {
    format!("GET /ip HTTP/1.1\r\nHost: t\r\n{headers}\r\n")
}

#[test]
fn body_as_bytes_with_a_limit() {
    block_on(async {
        let config = ServerConfig::new();
        let mut c = TestConnection::new(routes, config.clone());
        assert_eq!(
            c.request(post("/bytes", "0123456789abcdef")).await.body,
            b"0123456789abcdef"
        );
        // Chunked bodies are joined.
        assert_eq!(
            c.request(chunked_post("/bytes", &["ab", "cd", "ef"]))
                .await
                .text(),
            "abcdef"
        );
        // Declared past the limit: 413 before reading.
        let r = c.request(post("/bytes", "0123456789abcdefg")).await;
        assert_eq!(r.status, 413);

        // Chunked past the limit: 413 once the limit is crossed.
        let mut c = TestConnection::new(routes, config.clone());
        let r = c
            .request(chunked_post("/bytes", &["0123456789", "abcdefghij"]))
            .await;
        assert_eq!(r.status, 413);
    });
}

#[test]
fn body_as_text_with_a_limit() {
    block_on(async {
        let config = ServerConfig::new();
        let mut c = TestConnection::new(routes, config.clone());
        assert_eq!(c.request(post("/text", "grüße")).await.text(), "text:grüße");
        let mut c = TestConnection::new(routes, config.clone());
        c.send(b"POST /text HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n\xff\xfe")
            .await;
        let r = c.read_response().await;
        assert_eq!(r.status, 400, "invalid UTF-8");
        let mut c = TestConnection::new(routes, config.clone());
        assert_eq!(c.request(post("/text", &"x".repeat(17))).await.status, 413);
    });
}

#[test]
fn body_as_form_with_a_limit() {
    block_on(async {
        let config = ServerConfig::new();
        let mut c = TestConnection::new(routes, config.clone());
        let r = c
            .request(post("/form", "name=J%C3%B6rg+M&x=1&x=2&empty="))
            .await;
        assert_eq!(r.text(), "name=Jörg M|x=1|x=2|empty=");
        let mut c = TestConnection::new(routes, config.clone());
        assert_eq!(
            c.request(post("/form", &"a=1&".repeat(20))).await.status,
            413
        );
    });
}

#[test]
fn query_and_path_are_split_and_decoded() {
    block_on(async {
        let config = ServerConfig::new();
        let r = TestConnection::new(routes, config.clone())
            .request(get("/query?x=a%20b&y=1&y=2+3"))
            .await;
        assert_eq!(
            r.text(),
            r#"raw=Some("x=a%20b&y=1&y=2+3") x=Some("a b") ys=["1", "2 3"] path=/query"#
        );
        let r = TestConnection::new(routes, config.clone())
            .request(get("/query"))
            .await;
        assert_eq!(r.text(), r#"raw=None x=None ys=[] path=/query"#);
    });
}

#[test]
fn headers_are_case_insensitive_and_repeatable() {
    block_on(async {
        let config = ServerConfig::new();
        let mut c = TestConnection::new(routes, config.clone());
        let r = c.request(
            "GET /headers?q HTTP/1.1\r\nHost: t\r\nx-one: 1\r\nX-Multi: a\r\nx-multi: b\r\n\r\n",
        ).await;
        assert_eq!(
            r.text(),
            r#"one=Some("1") multi=a,b method=GET target=/headers?q version=Http11"#
        );
    });
}

#[test]
fn client_ip_ignores_forwarding_headers_by_default() {
    block_on(async {
        let config = ServerConfig::new();
        let mut c = TestConnection::new(routes, config.clone());
        let r = c
            .request(ip_request(
                "X-Forwarded-For: 203.0.113.7\r\nX-Real-IP: 198.51.100.2\r\n",
            ))
            .await;
        assert_eq!(r.text(), "127.0.0.1");
    });
}

#[test]
fn client_ip_ignores_forwarding_headers_from_untrusted_peers() {
    block_on(async {
        let mut config = ServerConfig::new();
        config.trusted_proxies([IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))]);
        let mut c = TestConnection::new(routes, config.clone());
        let r = c
            .request(ip_request("X-Forwarded-For: 203.0.113.7\r\n"))
            .await;
        assert_eq!(r.text(), "127.0.0.1");
    });
}

#[test]
fn client_ip_believes_trusted_proxies() {
    block_on(async {
        let mut config = ServerConfig::new();
        config.trusted_proxies([
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        ]);
        let mut c = TestConnection::new(routes, config.clone());
        let mut ip = async |h: &str| c.request(ip_request(h)).await.text().to_owned();
        assert_eq!(ip("X-Forwarded-For: 203.0.113.7\r\n").await, "203.0.113.7");
        assert_eq!(ip("X-Real-IP: 198.51.100.2\r\n").await, "198.51.100.2");
        // The rightmost address that is not a trusted proxy (earlier ones may be forged).
        assert_eq!(
            ip("X-Forwarded-For: 192.0.2.66, 203.0.113.7, 10.0.0.1\r\n").await,
            "203.0.113.7"
        );
        assert_eq!(
            ip("X-Forwarded-For: 192.0.2.66\r\nX-Forwarded-For: 203.0.113.8\r\n").await,
            "203.0.113.8"
        );
        // X-Forwarded-For takes precedence over X-Real-IP.
        assert_eq!(
            ip("X-Real-IP: 198.51.100.2\r\nX-Forwarded-For: 203.0.113.7\r\n").await,
            "203.0.113.7"
        );
        // Garbage falls back to the peer.
        assert_eq!(ip("X-Forwarded-For: not-an-ip\r\n").await, "127.0.0.1");
        assert_eq!(ip("").await, "127.0.0.1");
    });
}
