//! Send side (issue 2, points 4-9): status lines, headers, Date, default headers, framing,
//! HEAD/204/304/1xx, chunked trailers, keep-alive, 100-continue and discarding, interim
//! responses, upgrades and CONNECT, error responses and `SendError`s.

mod common;

use common::{Opts, every_split, strict};
use h1_core::{
    Config, Connection, DateCache, Event, Headers, HttpDate, Next, RecvError, ResponseHead,
    SendError, reason_phrase,
};

/// Drain events until `Paused`, `NeedData` (returned) or anything terminal (panics).
fn drain(conn: &mut Connection) -> &'static str {
    loop {
        match conn.next_event().expect("no error") {
            Next::Paused => return "paused",
            Next::NeedData => return "need-data",
            Next::Closed => return "closed",
            Next::Upgraded => return "upgraded",
            Next::Event(_) => {}
        }
    }
}

/// A connection that received `req` and drained it.
fn ready(config: Config, req: &[u8]) -> Connection {
    let mut conn = Connection::new(config);
    conn.receive(req);
    drain(&mut conn);
    conn
}

fn get11() -> Connection {
    ready(strict(), b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// Send `head`, `body` and the end; return everything written.
fn respond(conn: &mut Connection, head: &ResponseHead, body: &[u8]) -> String {
    let mut out = Vec::new();
    conn.send_head(head, &mut out).expect("send_head");
    conn.send_data(body, &mut out).expect("send_data");
    conn.send_end(None, &mut out).expect("send_end");
    text(&out)
}

// ---- 7. status line ----

/// Every registered code (RFC 9110 §15, the IANA registry) and 418.
const REASONS: &[(u16, &str)] = &[
    (100, "Continue"),
    (101, "Switching Protocols"),
    (102, "Processing"),
    (103, "Early Hints"),
    (200, "OK"),
    (201, "Created"),
    (202, "Accepted"),
    (203, "Non-Authoritative Information"),
    (204, "No Content"),
    (205, "Reset Content"),
    (206, "Partial Content"),
    (207, "Multi-Status"),
    (208, "Already Reported"),
    (226, "IM Used"),
    (300, "Multiple Choices"),
    (301, "Moved Permanently"),
    (302, "Found"),
    (303, "See Other"),
    (304, "Not Modified"),
    (305, "Use Proxy"),
    (307, "Temporary Redirect"),
    (308, "Permanent Redirect"),
    (400, "Bad Request"),
    (401, "Unauthorized"),
    (402, "Payment Required"),
    (403, "Forbidden"),
    (404, "Not Found"),
    (405, "Method Not Allowed"),
    (406, "Not Acceptable"),
    (407, "Proxy Authentication Required"),
    (408, "Request Timeout"),
    (409, "Conflict"),
    (410, "Gone"),
    (411, "Length Required"),
    (412, "Precondition Failed"),
    (413, "Content Too Large"),
    (414, "URI Too Long"),
    (415, "Unsupported Media Type"),
    (416, "Range Not Satisfiable"),
    (417, "Expectation Failed"),
    (418, "I'm a teapot"),
    (421, "Misdirected Request"),
    (422, "Unprocessable Content"),
    (423, "Locked"),
    (424, "Failed Dependency"),
    (425, "Too Early"),
    (426, "Upgrade Required"),
    (428, "Precondition Required"),
    (429, "Too Many Requests"),
    (431, "Request Header Fields Too Large"),
    (451, "Unavailable For Legal Reasons"),
    (500, "Internal Server Error"),
    (501, "Not Implemented"),
    (502, "Bad Gateway"),
    (503, "Service Unavailable"),
    (504, "Gateway Timeout"),
    (505, "HTTP Version Not Supported"),
    (506, "Variant Also Negotiates"),
    (507, "Insufficient Storage"),
    (508, "Loop Detected"),
    (510, "Not Extended"),
    (511, "Network Authentication Required"),
];

#[test]
fn status_line_has_the_registered_reason_of_every_code() {
    for &(code, reason) in REASONS {
        assert_eq!(reason_phrase(code), Some(reason), "{code}");
        let mut conn = get11();
        let mut out = Vec::new();
        let head = ResponseHead::new(code);
        match code {
            101 => conn.send_head(&head, &mut out).expect("101"),
            100..=199 => conn.send_interim(&head, &mut out).expect("1xx"),
            _ => conn.send_head(&head, &mut out).expect("final"),
        }
        let expected = format!("HTTP/1.1 {code} {reason}\r\n");
        assert!(text(&out).starts_with(&expected), "{code}: {}", text(&out));
    }
}

#[test]
fn unregistered_code_has_an_empty_reason() {
    assert_eq!(reason_phrase(299), None);
    let mut conn = get11();
    let out = respond(&mut conn, &ResponseHead::new(299), b"");
    assert_eq!(out, "HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n");
}

#[test]
fn custom_reason_replaces_the_registered_one() {
    let mut conn = get11();
    let mut head = ResponseHead::new(200);
    head.reason("Fine, Thanks");
    let out = respond(&mut conn, &head, b"");
    assert_eq!(
        out,
        "HTTP/1.1 200 Fine, Thanks\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn custom_reason_with_line_break_falls_back() {
    let mut conn = get11();
    let mut head = ResponseHead::new(404);
    head.reason("x\r\nSet-Cookie: evil=1");
    let out = respond(&mut conn, &head, b"");
    assert_eq!(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
}

#[test]
fn invalid_status_codes_are_refused() {
    for code in [0, 99, 1000, u16::MAX] {
        let mut conn = get11();
        let mut out = Vec::new();
        assert_eq!(
            conn.send_head(&ResponseHead::new(code), &mut out),
            Err(SendError::InvalidStatus),
            "{code}"
        );
        assert!(out.is_empty());
    }
}

// ---- 7. headers ----

#[test]
fn headers_keep_insertion_order_and_case() {
    let mut conn = get11();
    let mut head = ResponseHead::new(200);
    head.header("X-Zeta", "1")
        .header("content-type", "text/plain")
        .header("SET-COOKIE", "a=1")
        .header("X-alpha", "")
        .header("set-cookie", "b=2");
    head.content_length(Some(2));
    let out = respond(&mut conn, &head, b"hi");
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nX-Zeta: 1\r\ncontent-type: text/plain\r\nSET-COOKIE: a=1\r\n\
         X-alpha: \r\nset-cookie: b=2\r\nContent-Length: 2\r\n\r\nhi"
    );
}

#[test]
fn invalid_headers_are_refused_and_nothing_is_written() {
    for (name, value) in [
        ("Bad Name", "x"),
        ("", "x"),
        ("X", "a\r\nInjected: 1"),
        ("X", "a\nb"),
        ("X", "a\0b"),
        ("X:", "a"),
    ] {
        let mut conn = get11();
        let mut head = ResponseHead::new(200);
        head.header(name, value);
        let mut out = b"before".to_vec();
        assert_eq!(
            conn.send_head(&head, &mut out),
            Err(SendError::InvalidHeader),
            "{name:?}: {value:?}"
        );
        assert_eq!(out, b"before");
        // The request is still waiting for a valid head.
        let out = respond(&mut conn, &ResponseHead::new(200), b"");
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"));
    }
}

#[test]
fn framing_headers_from_the_caller_are_not_copied() {
    let mut conn = get11();
    let mut head = ResponseHead::new(200);
    head.header("Transfer-Encoding", "gzip")
        .header("Content-Length", "99")
        .header("X", "y");
    head.content_length(Some(2));
    let out = respond(&mut conn, &head, b"hi");
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nX: y\r\nContent-Length: 2\r\n\r\nhi"
    );
}

#[test]
fn content_length_header_sets_an_unknown_length() {
    let mut conn = get11();
    let mut head = ResponseHead::new(200);
    head.content_length(None).header("Content-Length", "3");
    let out = respond(&mut conn, &head, b"abc");
    assert_eq!(out, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
}

#[test]
fn date_header_from_set_date() {
    let date = HttpDate::from_unix_secs(784_111_777);
    assert_eq!(date.as_str(), "Sun, 06 Nov 1994 08:49:37 GMT");
    let mut conn = get11();
    conn.set_date(&date);
    let out = respond(&mut conn, &ResponseHead::new(200), b"");
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn date_from_the_caller_wins() {
    let mut conn = get11();
    conn.set_date(&HttpDate::from_unix_secs(0));
    let mut head = ResponseHead::new(200);
    head.header("date", "Mon, 01 Jan 2001 00:00:00 GMT");
    let out = respond(&mut conn, &head, b"");
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\ndate: Mon, 01 Jan 2001 00:00:00 GMT\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn no_date_without_set_date() {
    let mut conn = get11();
    let out = respond(&mut conn, &ResponseHead::new(200), b"");
    assert!(!out.to_ascii_lowercase().contains("date:"), "{out}");
}

#[test]
fn date_cache_reformats_once_per_second() {
    let mut cache = DateCache::new();
    let a = *cache.get(1_700_000_000);
    assert_eq!(a.as_str(), "Tue, 14 Nov 2023 22:13:20 GMT");
    assert_eq!(*cache.get(1_700_000_000), a);
    assert_eq!(
        cache.get(1_700_000_001).as_str(),
        "Tue, 14 Nov 2023 22:13:21 GMT"
    );
    assert_eq!(
        HttpDate::from_unix_secs(951_868_800).as_str(),
        "Wed, 01 Mar 2000 00:00:00 GMT"
    );
}

#[test]
fn default_headers_are_added_and_user_overrides_them() {
    let mut config = Config::default();
    config
        .default_header("Server", "core/1")
        .default_header("X-Frame-Options", "DENY")
        .default_header("Bad Name", "ignored")
        .default_header("X-Bad-Value", "a\r\nb");
    assert_eq!(config.default_headers().len(), 2);

    let mut conn = ready(config.clone(), b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let out = respond(&mut conn, &ResponseHead::new(200), b"");
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nServer: core/1\r\nX-Frame-Options: DENY\r\nContent-Length: 0\r\n\r\n"
    );

    let mut conn = ready(config, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let mut head = ResponseHead::new(200);
    head.header("server", "mine");
    let out = respond(&mut conn, &head, b"");
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nserver: mine\r\nX-Frame-Options: DENY\r\nContent-Length: 0\r\n\r\n"
    );

    // Names of other lengths than the defaults' (the one-copy path), a name as long as a
    // default's but another, and long names that share the "63 or more" length class.
    let long_a = format!("X-{}", "a".repeat(70));
    let long_b = format!("X-{}", "b".repeat(64));
    let mut config = config_with_defaults();
    config.default_header(&long_a, "1");
    for (user, want) in [
        (
            vec![("Content-Type", "text/plain")],
            vec!["Server", "X-Frame-Options", &long_a],
        ),
        (
            vec![("X-Test", "1")],
            vec!["Server", "X-Frame-Options", &long_a],
        ),
        (
            vec![("X-Test", "1"), ("SERVER", "2")],
            vec!["X-Frame-Options", &long_a],
        ),
        (
            vec![(long_b.as_str(), "2")],
            vec!["Server", "X-Frame-Options", &long_a],
        ),
        (
            vec![(long_a.to_uppercase().as_str(), "2")],
            vec!["Server", "X-Frame-Options"],
        ),
    ] {
        let mut conn = ready(config.clone(), b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        let mut head = ResponseHead::new(200);
        let mut expected = String::from("HTTP/1.1 200 OK\r\n");
        for (n, v) in &user {
            head.header(n, v);
            expected += &format!("{n}: {v}\r\n");
        }
        for n in &want {
            let v = config.default_headers().get_str(n).unwrap();
            expected += &format!("{n}: {v}\r\n");
        }
        expected += "Content-Length: 0\r\n\r\n";
        assert_eq!(respond(&mut conn, &head, b""), expected, "{user:?}");
    }
}

fn config_with_defaults() -> Config {
    let mut config = Config::default();
    config
        .default_header("Server", "core/1")
        .default_header("X-Frame-Options", "DENY");
    config
}

// ---- 7. framing ----

#[test]
fn unknown_length_on_http11_is_chunked() {
    let mut conn = get11();
    let mut head = ResponseHead::new(200);
    head.content_length(None);
    let mut out = Vec::new();
    conn.send_head(&head, &mut out).unwrap();
    conn.send_data(b"hello", &mut out).unwrap();
    conn.send_data(b"", &mut out).unwrap(); // empty data writes nothing (no early 0 chunk)
    conn.send_data(&[b'x'; 26], &mut out).unwrap();
    conn.send_end(None, &mut out).unwrap();
    assert_eq!(
        text(&out),
        format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1a\r\n{}\r\n0\r\n\r\n",
            "x".repeat(26)
        )
    );
    assert!(conn.keep_alive());
    assert_eq!(drain(&mut conn), "need-data");
}

#[test]
fn chunked_response_with_trailers() {
    let mut conn = get11();
    let mut head = ResponseHead::new(200);
    head.content_length(None).header("Trailer", "X-Checksum");
    let mut trailers = Headers::new();
    trailers.append("X-Checksum", "abc").append("x-more", "1");
    let mut out = Vec::new();
    conn.send_head(&head, &mut out).unwrap();
    conn.send_data(b"hi", &mut out).unwrap();
    conn.send_end(Some(&trailers), &mut out).unwrap();
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\nTrailer: X-Checksum\r\nTransfer-Encoding: chunked\r\n\r\n\
         2\r\nhi\r\n0\r\nX-Checksum: abc\r\nx-more: 1\r\n\r\n"
    );
}

#[test]
fn invalid_trailer_is_refused() {
    let mut conn = get11();
    let mut head = ResponseHead::new(200);
    head.content_length(None);
    let mut trailers = Headers::new();
    trailers.append("X", "a\r\nb");
    let mut out = Vec::new();
    conn.send_head(&head, &mut out).unwrap();
    let len = out.len();
    assert_eq!(
        conn.send_end(Some(&trailers), &mut out),
        Err(SendError::InvalidHeader)
    );
    assert_eq!(out.len(), len);
}

#[test]
fn trailers_on_a_length_response_are_dropped() {
    let mut conn = get11();
    let mut trailers = Headers::new();
    trailers.append("X", "1");
    let mut out = Vec::new();
    conn.send_head(&ResponseHead::new(200), &mut out).unwrap();
    conn.send_end(Some(&trailers), &mut out).unwrap();
    assert_eq!(text(&out), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
}

#[test]
fn unknown_length_on_http10_is_close_delimited() {
    let mut conn = ready(
        strict(),
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n",
    );
    let mut head = ResponseHead::new(200);
    head.content_length(None);
    let out = respond(&mut conn, &head, b"streamed body");
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nstreamed body"
    );
    assert!(!conn.keep_alive());
    assert!(conn.is_closed());
    assert_eq!(conn.next_event(), Ok(Next::Closed));
}

#[test]
fn head_gets_the_headers_get_would_get_and_no_body() {
    for length in [Some(5), None] {
        let mut head = ResponseHead::new(200);
        head.header("Content-Type", "text/plain")
            .content_length(length);
        let mut get = get11();
        let get_out = respond(&mut get, &head, b"hello");
        let mut head_req = ready(strict(), b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
        let head_out = respond(&mut head_req, &head, b"hello");
        let get_head_part = &get_out[..get_out.find("\r\n\r\n").unwrap() + 4];
        assert_eq!(head_out, get_head_part, "{length:?}");
        assert!(head_req.keep_alive());
        assert_eq!(drain(&mut head_req), "need-data");
    }
}

#[test]
fn head_on_http10_with_unknown_length_closes_like_get() {
    let mut conn = ready(
        strict(),
        b"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    let mut head = ResponseHead::new(200);
    head.content_length(None);
    let out = respond(&mut conn, &head, b"ignored");
    assert_eq!(out, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
}

#[test]
fn no_body_for_204_and_304() {
    let mut conn = get11();
    let mut head = ResponseHead::new(204);
    head.content_length(Some(5));
    let out = respond(&mut conn, &head, b"hello");
    assert_eq!(out, "HTTP/1.1 204 No Content\r\n\r\n");
    assert_eq!(drain(&mut conn), "need-data");

    let mut conn = get11();
    let mut head = ResponseHead::new(304);
    head.header("ETag", "\"x\"").content_length(None);
    let out = respond(&mut conn, &head, b"hello");
    assert_eq!(out, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");

    // A 304 may say the length the 200 would have had (RFC 9110 §8.6).
    let mut conn = get11();
    let mut head = ResponseHead::new(304);
    head.content_length(Some(10));
    let out = respond(&mut conn, &head, b"");
    assert_eq!(
        out,
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"
    );
    assert!(conn.keep_alive());
}

// ---- 6. keep-alive in responses ----

#[test]
fn client_close_gives_connection_close_and_closes() {
    let mut conn = ready(
        strict(),
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert!(!conn.keep_alive());
    let out = respond(&mut conn, &ResponseHead::new(200), b"");
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert!(conn.is_closed());
    assert_eq!(conn.next_event(), Ok(Next::Closed));
}

#[test]
fn server_close_closes() {
    let mut conn = ready(
        strict(),
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert!(conn.keep_alive());
    let mut head = ResponseHead::new(200);
    head.header("Connection", "close");
    let out = respond(&mut conn, &head, b"");
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    assert!(!conn.keep_alive());
    assert_eq!(conn.next_event(), Ok(Next::Closed));
}

#[test]
fn close_after_response_says_close() {
    let mut conn = ready(
        strict(),
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    conn.close_after_response();
    let out = respond(&mut conn, &ResponseHead::new(200), b"");
    assert!(out.ends_with("Connection: close\r\n\r\n"), "{out}");
    assert_eq!(conn.next_event(), Ok(Next::Closed));
}

#[test]
fn http10_keep_alive_is_echoed() {
    let mut conn = ready(
        strict(),
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
    );
    assert!(conn.keep_alive());
    let mut head = ResponseHead::new(200);
    head.header("Connection", "keep-alive"); // the engine writes it once itself
    head.content_length(Some(2));
    let out = respond(&mut conn, &head, b"ok");
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"
    );
    // The second request has no keep-alive: the connection closes after it.
    assert!(matches!(conn.next_event(), Ok(Next::Event(Event::Head(h))) if h.target() == "/2"));
    assert_eq!(drain(&mut conn), "paused");
    assert!(!conn.keep_alive());
    let out = respond(&mut conn, &ResponseHead::new(200), b"");
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(conn.next_event(), Ok(Next::Closed));
}

#[test]
fn http11_persists_by_default() {
    let mut conn = get11();
    assert!(conn.keep_alive());
    let out = respond(&mut conn, &ResponseHead::new(200), b"");
    assert!(!out.contains("Connection"), "{out}");
    assert!(conn.is_idle());
    assert!(!conn.is_closed());
}

// ---- 4, 5. Expect: 100-continue and unread bodies ----

const EXPECT: &[u8] =
    b"PUT /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";

#[test]
fn continue_then_body_then_response_keeps_the_connection() {
    let mut conn = Connection::new(strict());
    conn.receive(EXPECT);
    assert!(matches!(conn.next_event(), Ok(Next::Event(Event::Head(_)))));
    assert_eq!(conn.next_event(), Ok(Next::NeedData));
    assert!(conn.expects_continue());
    assert!(conn.wants_continue());
    let mut out = Vec::new();
    conn.send_continue(&mut out).unwrap();
    assert_eq!(out, b"HTTP/1.1 100 Continue\r\n\r\n");
    assert!(!conn.wants_continue());
    conn.send_continue(&mut out).unwrap(); // only once
    assert_eq!(out, b"HTTP/1.1 100 Continue\r\n\r\n");
    conn.receive(b"helloGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(conn.next_event(), Ok(Next::Event(Event::Data(b"hello"))));
    assert_eq!(conn.next_event(), Ok(Next::Event(Event::End)));
    assert_eq!(conn.next_event(), Ok(Next::Paused));
    out.clear();
    let text = respond(&mut conn, &ResponseHead::new(201), b"");
    assert_eq!(text, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(conn.next_event(), Ok(Next::Event(Event::Head(h))) if h.method() == "GET"));
}

#[test]
fn continue_at_every_split() {
    // The driver answers 100 as soon as the head is out, then 200 once the body is read.
    let answer = |event: &str, conn: &mut Connection, out: &mut Vec<u8>| {
        if event.starts_with("head PUT") {
            assert!(conn.wants_continue());
            conn.send_continue(out).unwrap();
        } else if event == "paused" {
            common::respond(conn, out, 200, b"ok");
        }
    };
    let mut input = EXPECT.to_vec();
    input.extend_from_slice(b"helloGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let run = every_split(&strict(), &input, Opts::answer(&answer));
    assert_eq!(
        run.events,
        [
            "head PUT /up HTTP/1.1",
            "data hello",
            "end",
            "paused",
            "head GET / HTTP/1.1",
            "end",
            "paused",
            "need-data"
        ]
    );
    assert_eq!(
        run.out_str(),
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\
         HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    );
}

#[test]
fn final_answer_without_continue_closes() {
    let mut conn = Connection::new(strict());
    conn.receive(EXPECT);
    assert!(matches!(conn.next_event(), Ok(Next::Event(Event::Head(_)))));
    assert!(conn.wants_continue());
    let out = respond(&mut conn, &ResponseHead::new(417), b"");
    assert_eq!(
        out,
        "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert!(!conn.wants_continue());
    assert!(conn.is_closed());
    // Whatever comes next (maybe the body after all) is never parsed as a request.
    conn.receive(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(conn.next_event(), Ok(Next::Closed));
}

#[test]
fn continue_on_http10_is_ignored() {
    let mut conn = Connection::new(strict());
    conn.receive(b"PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    assert!(matches!(conn.next_event(), Ok(Next::Event(Event::Head(_)))));
    assert!(!conn.wants_continue());
    let mut out = Vec::new();
    conn.send_continue(&mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn continue_before_any_request_is_refused() {
    let mut conn = Connection::new(strict());
    let mut out = Vec::new();
    assert_eq!(conn.send_continue(&mut out), Err(SendError::NoRequest));
}

/// After 100 Continue the client sends the body; an early final answer leaves the body
/// to be discarded within `max_discard_bytes`, then the next request is served.
fn early_answer(discard: u64, body: &[u8], chunked: bool) -> (Connection, String) {
    let mut config = Config::default();
    config.limits_mut().max_discard_bytes(discard);
    let mut conn = Connection::new(config);
    let head = if chunked {
        "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_owned()
    } else {
        format!(
            "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
    };
    conn.receive(head.as_bytes());
    assert!(matches!(conn.next_event(), Ok(Next::Event(Event::Head(_)))));
    let mut out = Vec::new();
    conn.send_continue(&mut out).unwrap();
    let mut head = ResponseHead::new(413);
    head.content_length(Some(0));
    conn.send_head(&head, &mut out).unwrap();
    conn.send_end(None, &mut out).unwrap();
    if chunked {
        let mut wire = format!("{:x}\r\n", body.len()).into_bytes();
        wire.extend_from_slice(body);
        wire.extend_from_slice(b"\r\n0\r\n\r\n");
        conn.receive(&wire);
    } else {
        conn.receive(body);
    }
    conn.receive(b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
    (conn, text(&out))
}

#[test]
fn unread_body_within_the_discard_limit_is_skipped() {
    for chunked in [false, true] {
        let (mut conn, out) = early_answer(100, &[b'z'; 100], chunked);
        assert_eq!(
            out,
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n"
        );
        let next = conn.next_event();
        assert!(
            matches!(next, Ok(Next::Event(Event::Head(h))) if h.target() == "/next"),
            "chunked={chunked}"
        );
    }
}

#[test]
fn unread_body_past_the_discard_limit_closes() {
    for chunked in [false, true] {
        let (mut conn, _) = early_answer(99, &[b'z'; 100], chunked);
        assert_eq!(conn.next_event(), Ok(Next::Closed), "chunked={chunked}");
        assert!(conn.is_closed());
    }
}

#[test]
fn declared_length_past_the_discard_limit_says_close_up_front() {
    let mut config = Config::default();
    config.limits_mut().max_discard_bytes(10);
    let mut conn = Connection::new(config);
    conn.receive(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nabc");
    assert!(matches!(conn.next_event(), Ok(Next::Event(Event::Head(_)))));
    assert_eq!(conn.body_length(), Some(1000));
    let out = respond(&mut conn, &ResponseHead::new(413), b"");
    assert!(
        out.starts_with("HTTP/1.1 413 Content Too Large\r\n"),
        "{out}"
    );
    assert!(conn.is_closed());
    assert_eq!(conn.next_event(), Ok(Next::Closed));
}

#[test]
fn partly_read_body_is_discarded_before_the_next_request() {
    let mut conn = Connection::new(strict());
    conn.receive(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234");
    assert!(matches!(conn.next_event(), Ok(Next::Event(Event::Head(_)))));
    assert_eq!(conn.next_event(), Ok(Next::Event(Event::Data(b"01234"))));
    assert_eq!(conn.body_received(), 5);
    let out = respond(&mut conn, &ResponseHead::new(200), b"");
    assert_eq!(out, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert!(conn.is_reading_body());
    assert_eq!(conn.next_event(), Ok(Next::NeedData));
    conn.receive(b"567");
    assert_eq!(conn.next_event(), Ok(Next::NeedData));
    conn.receive(b"89GET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(matches!(conn.next_event(), Ok(Next::Event(Event::Head(h))) if h.target() == "/2"));
}

// ---- 8. interim responses ----

#[test]
fn early_hints_before_the_final_head() {
    let mut conn = get11();
    let mut out = Vec::new();
    let mut hints = ResponseHead::new(103);
    hints.header("Link", "</style.css>; rel=preload; as=style");
    conn.send_interim(&hints, &mut out).unwrap();
    let mut hints2 = ResponseHead::new(103);
    hints2.header("Link", "</app.js>; rel=preload; as=script");
    conn.send_interim(&hints2, &mut out).unwrap();
    conn.send_continue(&mut out).unwrap();
    conn.send_head(&ResponseHead::new(200), &mut out).unwrap();
    conn.send_end(None, &mut out).unwrap();
    assert_eq!(
        text(&out),
        "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n\
         HTTP/1.1 103 Early Hints\r\nLink: </app.js>; rel=preload; as=script\r\n\r\n\
         HTTP/1.1 100 Continue\r\n\r\n\
         HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(drain(&mut conn), "need-data");
}

#[test]
fn interim_status_class_is_checked() {
    let mut conn = get11();
    let mut out = Vec::new();
    for code in [101, 200, 99, 204] {
        assert_eq!(
            conn.send_interim(&ResponseHead::new(code), &mut out),
            Err(SendError::WrongStatusClass),
            "{code}"
        );
    }
    for code in [100, 102, 103, 199] {
        assert_eq!(
            conn.send_head(&ResponseHead::new(code), &mut out),
            Err(SendError::WrongStatusClass),
            "{code}"
        );
    }
    assert!(out.is_empty());
}

#[test]
fn interim_after_the_final_head_is_refused() {
    let mut conn = get11();
    let mut out = Vec::new();
    conn.send_head(&ResponseHead::new(200), &mut out).unwrap();
    assert_eq!(
        conn.send_interim(&ResponseHead::new(103), &mut out),
        Err(SendError::NoRequest)
    );
}

#[test]
fn interim_to_http10_is_not_sent() {
    let mut conn = ready(strict(), b"GET / HTTP/1.0\r\n\r\n");
    let mut out = Vec::new();
    conn.send_interim(&ResponseHead::new(103), &mut out)
        .unwrap();
    assert!(out.is_empty());
}

// ---- 9. upgrade and CONNECT ----

#[test]
fn switching_protocols_hands_back_the_buffered_bytes() {
    let mut conn = Connection::new(strict());
    conn.receive(
        b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello\x88",
    );
    assert_eq!(drain(&mut conn), "paused");
    let mut head = ResponseHead::new(101);
    head.header("Upgrade", "websocket")
        .header("Connection", "Upgrade");
    let mut out = Vec::new();
    conn.send_head(&head, &mut out).unwrap();
    assert_eq!(
        text(&out),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    );
    assert!(conn.is_upgraded());
    assert_eq!(conn.next_event(), Ok(Next::Upgraded));
    assert_eq!(conn.send_data(b"x", &mut out), Err(SendError::Closed));
    let parts = conn.into_parts();
    assert_eq!(parts.buffered, b"\x81\x05hello\x88");
    assert_eq!(parts.head.target(), "/chat");
}

#[test]
fn connect_2xx_hands_back_the_tunnel_bytes() {
    let mut conn = Connection::new(strict());
    conn.receive(b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n\x16\x03\x01tls");
    assert_eq!(drain(&mut conn), "paused");
    let mut out = Vec::new();
    let mut head = ResponseHead::new(200);
    head.content_length(Some(123)); // a 2xx to CONNECT has no Content-Length
    conn.send_head(&head, &mut out).unwrap();
    assert_eq!(text(&out), "HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!(conn.next_event(), Ok(Next::Upgraded));
    assert_eq!(conn.into_parts().buffered, b"\x16\x03\x01tls");
}

#[test]
fn connect_refused_is_an_ordinary_response() {
    let mut conn = ready(
        strict(),
        b"CONNECT a.example:443 HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    let out = respond(&mut conn, &ResponseHead::new(407), b"");
    assert_eq!(
        out,
        "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
    );
    assert!(!conn.is_upgraded());
    assert!(matches!(conn.next_event(), Ok(Next::Event(Event::Head(h))) if h.method() == "GET"));
}

#[test]
fn upgrade_at_every_split() {
    let answer = |event: &str, conn: &mut Connection, out: &mut Vec<u8>| {
        if event.starts_with("head ") {
            let mut head = ResponseHead::new(101);
            head.header("Upgrade", "x");
            conn.send_head(&head, out).unwrap();
        }
    };
    let input = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\nRAW";
    let run = every_split(&strict(), input, Opts::answer(&answer));
    assert_eq!(run.events, ["head GET / HTTP/1.1", "upgraded"]);
    // The bytes after the head that were received by the time of the upgrade are handed
    // back; the driver feeds no more pieces after `upgraded`.
    for pieces in common::splits(input) {
        let mut conn = Connection::new(strict());
        let _ = common::run_on(&mut conn, &pieces, Opts::answer(&answer));
        let buffered = conn.into_parts().buffered;
        assert!(b"RAW".starts_with(&buffered), "{buffered:?}");
    }
    let mut conn = Connection::new(strict());
    let _ = common::run_on(&mut conn, &[input], Opts::answer(&answer));
    assert_eq!(conn.into_parts().buffered, b"RAW");
}

// ---- 10. error responses ----

#[test]
fn send_error_writes_a_closing_response() {
    let mut config = Config::default();
    config.default_header("Server", "core");
    let mut conn = Connection::new(config);
    conn.set_date(&HttpDate::from_unix_secs(0));
    conn.receive(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n");
    let err = conn.next_event().unwrap_err();
    assert_eq!(err, RecvError::UnsupportedVersion);
    assert_eq!(conn.error(), Some(err));
    let mut out = Vec::new();
    conn.send_error(err.status(), "HTTP version not supported", &mut out)
        .unwrap();
    assert_eq!(
        text(&out),
        "HTTP/1.1 505 HTTP Version Not Supported\r\nServer: core\r\n\
         Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: 27\r\nConnection: close\r\n\r\nHTTP version not supported\n"
    );
    assert!(conn.is_closed());
    assert_eq!(
        conn.send_head(&ResponseHead::new(200), &mut out),
        Err(SendError::Poisoned)
    );
}

#[test]
fn send_error_before_any_request() {
    let mut conn = Connection::new(strict());
    conn.receive(b"GET / HT");
    assert_eq!(conn.next_event(), Ok(Next::NeedData));
    assert!(conn.is_reading_head());
    let mut out = Vec::new();
    conn.send_error(408, "timeout", &mut out).unwrap();
    assert!(text(&out).starts_with("HTTP/1.1 408 Request Timeout\r\n"));
    assert!(text(&out).ends_with("Connection: close\r\n\r\ntimeout\n"));
    assert!(conn.is_closed());
    assert_eq!(conn.next_event(), Ok(Next::Closed));
}

#[test]
fn send_error_to_head_has_no_body() {
    let mut conn = ready(strict(), b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    let mut out = Vec::new();
    conn.send_error(500, "oops", &mut out).unwrap();
    assert!(
        text(&out).ends_with("Content-Length: 5\r\nConnection: close\r\n\r\n"),
        "{}",
        text(&out)
    );
}

#[test]
fn send_error_after_the_final_head_is_refused_and_closes() {
    let mut conn = get11();
    let mut out = Vec::new();
    let mut head = ResponseHead::new(200);
    head.content_length(Some(10));
    conn.send_head(&head, &mut out).unwrap();
    let len = out.len();
    assert_eq!(
        conn.send_error(500, "x", &mut out),
        Err(SendError::AlreadyFinished)
    );
    assert_eq!(out.len(), len);
    assert!(conn.is_closed());
}

// ---- SendError cases ----

#[test]
fn send_before_any_request() {
    let mut conn = Connection::new(strict());
    let mut out = Vec::new();
    assert_eq!(
        conn.send_head(&ResponseHead::new(200), &mut out),
        Err(SendError::NoRequest)
    );
    assert_eq!(conn.send_data(b"x", &mut out), Err(SendError::NoRequest));
    assert_eq!(conn.send_end(None, &mut out), Err(SendError::NoRequest));
    assert!(out.is_empty());
}

#[test]
fn send_data_or_end_before_head() {
    let mut conn = get11();
    let mut out = Vec::new();
    assert_eq!(conn.send_data(b"x", &mut out), Err(SendError::HeadNotSent));
    assert_eq!(conn.send_end(None, &mut out), Err(SendError::HeadNotSent));
    assert!(out.is_empty());
}

#[test]
fn second_head_is_refused() {
    let mut conn = get11();
    let mut out = Vec::new();
    conn.send_head(&ResponseHead::new(200), &mut out).unwrap();
    let len = out.len();
    assert_eq!(
        conn.send_head(&ResponseHead::new(200), &mut out),
        Err(SendError::NoRequest)
    );
    assert_eq!(out.len(), len);
}

#[test]
fn body_too_long_writes_nothing() {
    let mut conn = get11();
    let mut out = Vec::new();
    let mut head = ResponseHead::new(200);
    head.content_length(Some(3));
    conn.send_head(&head, &mut out).unwrap();
    conn.send_data(b"ab", &mut out).unwrap();
    let len = out.len();
    assert_eq!(conn.send_data(b"cd", &mut out), Err(SendError::BodyTooLong));
    assert_eq!(out.len(), len);
    conn.send_data(b"c", &mut out).unwrap();
    conn.send_end(None, &mut out).unwrap();
    assert!(text(&out).ends_with("\r\n\r\nabc"));
    assert!(conn.keep_alive());
}

#[test]
fn body_too_short_closes() {
    let mut conn = ready(
        strict(),
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    let mut out = Vec::new();
    let mut head = ResponseHead::new(200);
    head.content_length(Some(3));
    conn.send_head(&head, &mut out).unwrap();
    conn.send_data(b"ab", &mut out).unwrap();
    assert_eq!(conn.send_end(None, &mut out), Err(SendError::BodyTooShort));
    assert!(!conn.keep_alive());
    assert!(conn.is_closed());
    assert_eq!(conn.next_event(), Ok(Next::Closed));
}

#[test]
fn double_end_is_refused() {
    // Body still unread: the exchange is not over yet.
    let mut conn = Connection::new(strict());
    conn.receive(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n");
    assert!(matches!(conn.next_event(), Ok(Next::Event(Event::Head(_)))));
    let mut out = Vec::new();
    conn.send_head(&ResponseHead::new(200), &mut out).unwrap();
    conn.send_end(None, &mut out).unwrap();
    let len = out.len();
    assert_eq!(
        conn.send_end(None, &mut out),
        Err(SendError::AlreadyFinished)
    );
    assert_eq!(
        conn.send_data(b"x", &mut out),
        Err(SendError::AlreadyFinished)
    );
    assert_eq!(out.len(), len);

    // Request read whole: the exchange is over, nothing is waiting for a response.
    let mut conn = get11();
    let mut out = Vec::new();
    conn.send_head(&ResponseHead::new(200), &mut out).unwrap();
    conn.send_end(None, &mut out).unwrap();
    let len = out.len();
    assert_eq!(conn.send_end(None, &mut out), Err(SendError::NoRequest));
    assert_eq!(conn.send_data(b"x", &mut out), Err(SendError::NoRequest));
    assert_eq!(out.len(), len);
}

#[test]
fn send_data_framing_matches_send_data() {
    for length in [Some(5), None] {
        let mut a = get11();
        let mut b = get11();
        let mut head = ResponseHead::new(200);
        head.content_length(length);
        let (mut out_a, mut out_b) = (Vec::new(), Vec::new());
        a.send_head(&head, &mut out_a).unwrap();
        b.send_head(&head, &mut out_b).unwrap();
        a.send_data(b"hello", &mut out_a).unwrap();
        let suffix = b.send_data_framing(5, &mut out_b).unwrap().unwrap();
        out_b.extend_from_slice(b"hello");
        out_b.extend_from_slice(suffix);
        a.send_end(None, &mut out_a).unwrap();
        b.send_end(None, &mut out_b).unwrap();
        assert_eq!(text(&out_a), text(&out_b));
    }
}

#[test]
fn content_length_header_counts_when_no_length_was_set() {
    let mut conn = get11();
    let mut head = ResponseHead::new(200);
    head.header("Content-Length", "3");
    let out = respond(&mut conn, &head, b"abc");
    assert_eq!(out, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
}

#[test]
fn explicit_length_wins_over_a_content_length_header() {
    let mut conn = get11();
    let mut head = ResponseHead::new(200);
    head.header("Content-Length", "99").content_length(Some(3));
    let out = respond(&mut conn, &head, b"abc");
    assert_eq!(out, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
}

#[test]
fn switching_protocols_to_http10_is_refused() {
    let mut conn = Connection::new(Config::default());
    conn.receive(b"GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
    while !matches!(conn.next_event().unwrap(), Next::Paused) {}
    let mut out = Vec::new();
    assert_eq!(
        conn.send_head(&ResponseHead::new(101), &mut out),
        Err(SendError::WrongStatusClass)
    );
    assert!(out.is_empty());
}
