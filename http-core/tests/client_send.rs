//! Client role, send side: the exact bytes of each request shape, the framing headers the
//! engine owns, every refused request and out-of-order call, and `Expect: 100-continue`.

mod common;

use common::client::request;
use common::strict;
use h1_core::Headers;
use h1_core::Version;
use h1_core::client::{Connection, Event, Next, Request, RequestError};

fn conn() -> Connection {
    Connection::new(strict())
}

/// Send `req` with `body` in one piece (and `trailers`); the bytes written.
fn wire(req: &Request, body: &[u8], trailers: Option<&Headers>) -> Vec<u8> {
    let mut c = conn();
    let mut out = Vec::new();
    c.send_head(req, &mut out).expect("send_head");
    c.send_data(body, &mut out).expect("send_data");
    c.send_end(trailers, &mut out).expect("send_end");
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn get_has_no_framing_headers() {
    let mut req = Request::new("GET", "/a?b=1");
    req.header("Host", "example.com").header("Accept", "*/*");
    assert_eq!(
        text(&wire(&req, b"", None)),
        "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"
    );
}

#[test]
fn empty_post_says_content_length_zero() {
    let mut req = Request::new("POST", "/");
    req.header("Host", "a");
    assert_eq!(
        text(&wire(&req, b"", None)),
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
    );
    let mut get = Request::new("GET", "/");
    get.header("Host", "a").content_length(Some(0));
    assert!(text(&wire(&get, b"", None)).ends_with("Content-Length: 0\r\n\r\n"));
}

#[test]
fn known_length_body() {
    let mut req = Request::new("PUT", "/f");
    req.header("Host", "a").content_length(Some(5));
    assert_eq!(
        text(&wire(&req, b"hello", None)),
        "PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
    );
}

#[test]
fn unknown_length_is_chunked_with_trailers() {
    let mut req = Request::new("POST", "/s");
    req.header("Host", "a").content_length(None);
    let mut c = conn();
    let mut out = Vec::new();
    c.send_head(&req, &mut out).unwrap();
    c.send_data(b"hello", &mut out).unwrap();
    c.send_data(b"", &mut out).unwrap();
    c.send_data(&[b'x'; 26], &mut out).unwrap();
    let mut trailers = Headers::new();
    trailers.append("X-Sum", "7");
    c.send_end(Some(&trailers), &mut out).unwrap();
    assert_eq!(
        text(&out),
        format!(
            "POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1a\r\n{}\r\n0\r\nX-Sum: 7\r\n\r\n",
            "x".repeat(26)
        )
    );
}

#[test]
fn framing_headers_in_the_request_are_the_engines() {
    let mut req = Request::new("POST", "/");
    req.header("Host", "a")
        .header("Content-Length", "3")
        .header("Transfer-Encoding", "gzip");
    // A Content-Length header sets the length when none was set; Transfer-Encoding is
    // dropped.
    assert_eq!(
        text(&wire(&req, b"abc", None)),
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
    );
    req.content_length(None);
    assert!(text(&wire(&req, b"abc", None)).contains("Transfer-Encoding: chunked\r\n\r\n3\r\nabc"));
}

#[test]
fn http10_request() {
    let mut req = Request::new("GET", "/");
    req.set_version(Version::Http10);
    assert_eq!(text(&wire(&req, b"", None)), "GET / HTTP/1.0\r\n\r\n");
    req.content_length(None);
    let mut out = Vec::new();
    assert_eq!(
        conn().send_head(&req, &mut out),
        Err(RequestError::LengthRequired)
    );
    assert!(out.is_empty());
}

#[test]
fn refused_requests_write_nothing() {
    let cases: &[(Request, RequestError)] = &[
        (Request::new("GET", "/"), RequestError::MissingHost),
        (
            request("GET /").header("Host", "b").clone(),
            RequestError::InvalidHost,
        ),
        (
            Request::new("GET", "/").header("Host", "a b").clone(),
            RequestError::InvalidHost,
        ),
        (
            Request::new("GE T", "/").header("Host", "a").clone(),
            RequestError::InvalidMethod,
        ),
        (
            Request::new("", "/").header("Host", "a").clone(),
            RequestError::InvalidMethod,
        ),
        (
            Request::new("GET", "").header("Host", "a").clone(),
            RequestError::InvalidTarget,
        ),
        (
            Request::new("GET", "/a b").header("Host", "a").clone(),
            RequestError::InvalidTarget,
        ),
        (
            Request::new("GET", "a/b").header("Host", "a").clone(),
            RequestError::InvalidTarget,
        ),
        (
            Request::new("GET", "*").header("Host", "a").clone(),
            RequestError::InvalidTarget,
        ),
        (
            Request::new("CONNECT", "/").header("Host", "a").clone(),
            RequestError::InvalidTarget,
        ),
        (
            Request::new("GET", "/")
                .header("Host", "a")
                .header("X", "a\r\nb")
                .clone(),
            RequestError::InvalidHeader,
        ),
        (
            Request::new("GET", "/")
                .header("Host", "a")
                .header("Bad Name", "v")
                .clone(),
            RequestError::InvalidHeader,
        ),
    ];
    for (req, expected) in cases {
        let mut c = conn();
        let mut out = b"kept".to_vec();
        assert_eq!(c.send_head(req, &mut out), Err(*expected), "{req:?}");
        assert_eq!(out, b"kept", "{req:?}");
        // Still usable: a refused request is not sent.
        assert!(c.is_ready() && c.outstanding() == 0);
        c.send_head(&request("GET /"), &mut out).unwrap();
    }
}

#[test]
fn accepted_targets() {
    for (method, target) in [
        ("OPTIONS", "*"),
        ("GET", "http://a.example/x?y"),
        ("CONNECT", "a.example:443"),
        ("CONNECT", "[::1]:8080"),
        ("DELETE", "/"),
    ] {
        let mut out = Vec::new();
        let mut req = Request::new(method, target);
        req.header("Host", "a");
        conn().send_head(&req, &mut out).unwrap();
        assert!(text(&out).starts_with(&format!("{method} {target} HTTP/1.1\r\n")));
    }
}

#[test]
fn body_length_is_enforced() {
    let mut req = request("POST /");
    req.content_length(Some(3));
    let mut c = conn();
    let mut out = Vec::new();
    c.send_head(&req, &mut out).unwrap();
    let mark = out.len();
    assert_eq!(
        c.send_data(b"abcd", &mut out),
        Err(RequestError::BodyTooLong)
    );
    assert_eq!(out.len(), mark);
    c.send_data(b"ab", &mut out).unwrap();
    assert_eq!(c.send_end(None, &mut out), Err(RequestError::BodyTooShort));
    assert!(!c.keep_alive());
    assert_eq!(
        c.send_head(&request("GET /"), &mut out),
        Err(RequestError::Closed)
    );
}

#[test]
fn calls_out_of_order() {
    let mut c = conn();
    let mut out = Vec::new();
    assert_eq!(c.send_data(b"x", &mut out), Err(RequestError::HeadNotSent));
    assert_eq!(c.send_end(None, &mut out), Err(RequestError::HeadNotSent));
    let mut post = request("POST /");
    post.content_length(Some(1));
    c.send_head(&post, &mut out).unwrap();
    assert_eq!(
        c.send_head(&request("GET /"), &mut out),
        Err(RequestError::BodyInProgress)
    );
    c.send_data(b"x", &mut out).unwrap();
    c.send_end(None, &mut out).unwrap();
    assert_eq!(c.send_end(None, &mut out), Err(RequestError::HeadNotSent));
    // Pipelining: the next head may go out before the first response.
    c.send_head(&request("GET /"), &mut out).unwrap();
    c.send_end(None, &mut out).unwrap();
    assert_eq!(c.outstanding(), 2);
}

#[test]
fn connection_close_ends_the_sending() {
    let mut c = conn();
    let mut out = Vec::new();
    c.send_head(&request("GET / close"), &mut out).unwrap();
    assert!(!c.keep_alive());
    c.send_end(None, &mut out).unwrap();
    assert_eq!(
        c.send_head(&request("GET /"), &mut out),
        Err(RequestError::Closed)
    );
    // HTTP/1.0 without keep-alive closes too.
    let mut c = conn();
    c.send_head(&request("GET / 1.0"), &mut out).unwrap();
    c.send_end(None, &mut out).unwrap();
    assert!(!c.keep_alive() && !c.is_ready());
}

#[test]
fn a_closing_response_stops_further_requests() {
    let mut c = conn();
    let mut out = Vec::new();
    c.send_head(&request("GET /"), &mut out).unwrap();
    c.send_end(None, &mut out).unwrap();
    c.receive(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(c.next_event(), Ok(Next::Event(Event::Head(_)))));
    assert!(!c.keep_alive());
    assert_eq!(
        c.send_head(&request("GET /"), &mut out),
        Err(RequestError::Closed)
    );
    assert_eq!(c.next_event(), Ok(Next::Event(Event::End)));
    assert_eq!(c.next_event(), Ok(Next::Closed));
    assert!(c.is_closed());
}

#[test]
fn zero_copy_framing() {
    let mut req = request("POST /");
    req.content_length(None);
    let mut c = conn();
    let mut out = Vec::new();
    c.send_head(&req, &mut out).unwrap();
    out.clear();
    assert_eq!(c.send_data_framing(0, &mut out), Ok(None));
    let suffix = c.send_data_framing(300, &mut out).unwrap();
    assert_eq!((&out[..], suffix), (&b"12c\r\n"[..], Some(&b"\r\n"[..])));
}

#[test]
fn expect_continue_holds_the_body_until_100() {
    let mut req = request("POST /up continue");
    req.content_length(Some(4));
    let mut c = conn();
    let mut out = Vec::new();
    c.send_head(&req, &mut out).unwrap();
    assert!(text(&out).contains("\r\nExpect: 100-continue\r\n"));
    assert!(c.wants_continue());
    c.receive(b"HTTP/1.1 100 Continue\r\n\r\n");
    assert!(c.wants_continue(), "nothing read yet");
    assert!(matches!(c.next_event(), Ok(Next::Event(Event::Interim(h))) if h.status() == 100));
    assert!(!c.wants_continue());
    c.send_data(b"data", &mut out).unwrap();
    c.send_end(None, &mut out).unwrap();
    c.receive(b"HTTP/1.1 204 No Content\r\n\r\n");
    assert!(matches!(c.next_event(), Ok(Next::Event(Event::Head(h))) if h.status() == 204));
    assert_eq!(c.next_event(), Ok(Next::Event(Event::End)));
    assert!(c.is_idle() && c.keep_alive());
}

#[test]
fn expect_continue_ends_on_a_final_answer_or_on_data() {
    let mut req = request("POST /up continue");
    req.content_length(None);
    // A final answer instead of 100: the body is not wanted; a chunked one ends at once.
    let mut c = conn();
    let mut out = Vec::new();
    c.send_head(&req, &mut out).unwrap();
    c.receive(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(c.next_event(), Ok(Next::Event(Event::Head(h))) if h.status() == 417));
    assert!(!c.wants_continue());
    assert_eq!(c.next_event(), Ok(Next::Event(Event::End)));
    c.send_end(None, &mut out).unwrap();
    assert!(c.is_idle() && c.keep_alive());
    // The driver gave up waiting: sending data ends the wait.
    let mut c = conn();
    c.send_head(&req, &mut out).unwrap();
    assert!(c.wants_continue());
    c.send_data(b"x", &mut out).unwrap();
    assert!(!c.wants_continue());
    // HTTP/1.0 has no 100-continue.
    let mut c = conn();
    let mut old = request("POST / 1.0 continue");
    old.content_length(Some(1));
    c.send_head(&old, &mut out).unwrap();
    assert!(!c.wants_continue());
}

#[test]
fn an_earlier_response_does_not_end_a_later_requests_wait() {
    let mut c = conn();
    let mut out = Vec::new();
    c.send_head(&request("GET /1"), &mut out).unwrap();
    c.send_end(None, &mut out).unwrap();
    let mut req = request("POST /2 continue");
    req.content_length(Some(1));
    c.send_head(&req, &mut out).unwrap();
    c.receive(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(c.next_event(), Ok(Next::Event(Event::Interim(_)))));
    assert!(c.wants_continue(), "that 100 answered the first request");
    assert!(matches!(c.next_event(), Ok(Next::Event(Event::Head(_)))));
    assert_eq!(c.next_event(), Ok(Next::Event(Event::End)));
    assert!(c.wants_continue());
    c.receive(b"HTTP/1.1 100 Continue\r\n\r\n");
    assert!(matches!(c.next_event(), Ok(Next::Event(Event::Interim(_)))));
    assert!(!c.wants_continue());
}

#[test]
fn early_final_response_while_sending_the_body() {
    let mut req = request("POST /");
    req.content_length(Some(6));
    let mut c = conn();
    let mut out = Vec::new();
    c.send_head(&req, &mut out).unwrap();
    c.send_data(b"abc", &mut out).unwrap();
    c.receive(b"HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(c.next_event(), Ok(Next::Event(Event::Head(h))) if h.status() == 413));
    assert_eq!(c.next_event(), Ok(Next::Event(Event::End)));
    assert_eq!(c.next_event(), Ok(Next::Closed));
    assert!(c.is_closed() && !c.keep_alive());
    // The body may still be finished (nothing forbids it), but nothing may follow.
    c.send_data(b"def", &mut out).unwrap();
    c.send_end(None, &mut out).unwrap();
    assert_eq!(
        c.send_head(&request("GET /"), &mut out),
        Err(RequestError::Closed)
    );
}

#[test]
fn eof_while_idle_closes_the_send_side() {
    let mut c = conn();
    c.receive_eof();
    assert_eq!(c.next_event(), Ok(Next::Closed));
    let mut out = Vec::new();
    assert_eq!(
        c.send_head(&request("GET /"), &mut out),
        Err(RequestError::Closed)
    );
    assert!(out.is_empty());
}

#[test]
fn error_messages_are_lowercase_without_period() {
    for e in [
        RequestError::MissingHost,
        RequestError::BodyTooShort,
        RequestError::Closed,
    ] {
        let s = e.to_string();
        assert!(!s.ends_with('.') && !s.is_empty(), "{s}");
    }
    assert_eq!(
        RequestError::InvalidMethod.to_string(),
        "method is not a token"
    );
}
