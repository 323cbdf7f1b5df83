//! Client role, receive side, table-driven: every row sends its requests, then replays the
//! response bytes whole, split at every byte offset, and one byte at a time; every replay
//! must give the same events. Rows cover each framing rule of RFC 9112 §6.3, keep-alive,
//! pipelining, limits and the typed errors.

mod common;

use common::client::{client_every_split, request, sent};
use common::{lenient, strict};
use h1_core::client::{Event, Next, RequestError, ResponseError};
use h1_core::{Config, Limits};

fn with_limits(f: impl FnOnce(&mut Limits)) -> Config {
    let mut c = Config::default();
    f(c.limits_mut());
    c
}

/// Run one row and compare; an error row also checks the error is sticky (the driver does).
fn check(
    name: &str,
    config: Config,
    requests: &[&str],
    input: &[u8],
    eof: bool,
    expected: &[&str],
) {
    let run = client_every_split(&config, requests, input, eof);
    assert_eq!(run.events, expected, "row {name}");
}

macro_rules! rows {
    ($( $name:ident : $config:expr, [$($req:expr),* $(,)?], $input:expr, $eof:expr => [$($ev:expr),* $(,)?]; )*) => {
        $(
            #[test]
            fn $name() {
                let input = $input;
                check(stringify!($name), $config, &[$($req),*], input.as_ref(), $eof, &[$($ev),*]);
            }
        )*
    };
}

const OK: &str = "head 200 HTTP/1.1";
const OK10: &str = "head 200 HTTP/1.0";
const EOF: bool = true;
const OPEN: bool = false;

// ---- Content-Length, chunked, close-delimited (RFC 9112 §6.3 items 4-8) ----
rows! {
    content_length_body: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", OPEN
        => [OK, "data hello", "end", "need-data"];
    content_length_zero: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", OPEN => [OK, "end", "need-data"];
    content_length_partial_waits: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", OPEN
        => [OK, "data hello", "need-data"];
    content_length_cut_by_eof: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", EOF
        => [OK, "data hello", "error UnexpectedEof"];
    content_length_identical_duplicates: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\nhi", OPEN
        => [OK, "data hi", "end", "need-data"];
    content_length_then_eof_closes: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", EOF
        => [OK, "data hi", "end", "closed"];
    chunked_body: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n", OPEN
        => [OK, "data hello world", "end", "need-data"];
    chunked_with_trailers: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-B: 2\r\n\r\n", OPEN
        => [OK, "data abc", "trailers X-Sum=1 X-B=2", "end", "need-data"];
    chunked_case_insensitive: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", OPEN
        => [OK, "data 0123456789", "end", "need-data"];
    chunked_cut_by_eof: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", EOF
        => [OK, "data hel", "error UnexpectedEof"];
    close_delimited_ends_at_eof: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\n\r\nuntil the end", EOF
        => [OK, "data until the end", "end", "closed"];
    close_delimited_waits_for_eof: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\n\r\nmore", OPEN => [OK, "data more", "need-data"];
    close_delimited_empty: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\n\r\n", EOF => [OK, "end", "closed"];
}

// ---- bodyless responses (RFC 9112 §6.3 item 1) and interim responses ----
rows! {
    head_response_has_no_body: strict(), ["HEAD /"],
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", OPEN => [OK, "end", "need-data"];
    head_response_chunked_has_no_body: strict(), ["HEAD /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", OPEN => [OK, "end", "need-data"];
    head_response_without_length_keeps_alive: strict(), ["HEAD /", "GET /"],
        "HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", OPEN
        => [OK, "end", OK, "data x", "end", "need-data"];
    no_content_204: strict(), ["DELETE /x"],
        "HTTP/1.1 204 No Content\r\n\r\n", OPEN => ["head 204 HTTP/1.1", "end", "need-data"];
    not_modified_304_with_length: strict(), ["GET /", "GET /"],
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", OPEN
        => ["head 304 HTTP/1.1", "end", OK, "data x", "end", "need-data"];
    continue_then_final: strict(), ["POST /up continue"],
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", OPEN
        => ["interim 100", "head 201 HTTP/1.1", "end", "need-data"];
    early_hints_then_final: strict(), ["GET /"],
        "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", OPEN
        => ["interim 103", "interim 103", OK, "data ok", "end", "need-data"];
    interim_to_head_request: strict(), ["HEAD /"],
        "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", OPEN
        => ["interim 102", OK, "end", "need-data"];
    leading_blank_lines_ignored: strict(), ["GET /"],
        "\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", OPEN => [OK, "end", "need-data"];
    status_without_reason: strict(), ["GET /"],
        "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", OPEN => [OK, "end", "need-data"];
    status_above_599: strict(), ["GET /"],
        "HTTP/1.1 999 Custom\r\nContent-Length: 0\r\n\r\n", OPEN => ["head 999 HTTP/1.1", "end", "need-data"];
}

// ---- upgrades and CONNECT (RFC 9112 §6.3 item 2, RFC 9110 §15.2.2) ----
rows! {
    switching_protocols: strict(), ["GET /chat upgrade"],
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\x81\x05hello", OPEN
        => ["head 101 HTTP/1.1", "upgraded"];
    unrequested_upgrade: strict(), ["GET /"],
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", OPEN
        => ["error UnrequestedUpgrade"];
    upgrade_declined: strict(), ["GET /chat upgrade"],
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno", OPEN => [OK, "data no", "end", "need-data"];
    connect_tunnel: strict(), ["CONNECT a.example:443"],
        "HTTP/1.1 200 Connection Established\r\nContent-Length: 50\r\n\r\n\x16\x03\x01", OPEN
        => [OK, "upgraded"];
    connect_refused_has_body: strict(), ["CONNECT a.example:443"],
        "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\ndeny", OPEN
        => ["head 407 HTTP/1.1", "data deny", "end", "need-data"];
}

// ---- keep-alive, HTTP/1.0, pipelining (RFC 9112 §9.3) ----
rows! {
    connection_close_response: strict(), ["GET /", "GET /"],
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n\r\n", OPEN
        => [OK, "data x", "end", "closed"];
    connection_close_request: strict(), ["GET / close"],
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", OPEN => [OK, "data x", "end", "closed"];
    http10_response_closes: strict(), ["GET /"],
        "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", OPEN => [OK10, "data hi", "end", "closed"];
    http10_response_keep_alive: strict(), ["GET /", "GET /"],
        "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhiHTTP/1.0 200 OK\r\n\r\nbye", EOF
        => [OK10, "data hi", "end", OK10, "data bye", "end", "closed"];
    http10_request_closes: strict(), ["GET / 1.0"],
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", OPEN => [OK, "data hi", "end", "closed"];
    http10_request_keep_alive: strict(), ["GET / 1.0 keep-alive", "GET / 1.0"],
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", OPEN
        => [OK, "data hi", "end", OK, "end", "closed"];
    pipelined_three: strict(), ["GET /1", "HEAD /2", "GET /3"],
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nc\r\n0\r\n\r\n", OPEN
        => [OK, "data a", "end", OK, "end", OK, "data c", "end", "need-data"];
    pipelined_eof_after_first: strict(), ["GET /1", "GET /2"],
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", EOF
        => [OK, "data a", "end", "error NoResponse"];
    eof_while_idle_closes: strict(), [], "", EOF => ["closed"];
    idle_needs_data: strict(), [], "", OPEN => ["need-data"];
}

// ---- malformed responses ----
rows! {
    bad_status_code_letters: strict(), ["GET /"], "HTTP/1.1 abc OK\r\n\r\n", OPEN
        => ["error BadStatusLine"];
    bad_status_code_four_digits: strict(), ["GET /"], "HTTP/1.1 2000 OK\r\n\r\n", OPEN
        => ["error BadStatusLine"];
    bad_status_code_below_100: strict(), ["GET /"], "HTTP/1.1 099 Low\r\n\r\n", OPEN
        => ["error BadStatusLine"];
    bad_status_line_garbage: strict(), ["GET /"], "hello world\r\n\r\n", OPEN
        => ["error BadStatusLine"];
    unsupported_version: strict(), ["GET /"], "HTTP/2.0 200 OK\r\n\r\n", OPEN
        => ["error UnsupportedVersion"];
    bad_header_name: strict(), ["GET /"], "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", OPEN
        => ["error BadHeaderName"];
    bad_header_value: strict(), ["GET /"], "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", OPEN
        => ["error BadHeaderValue"];
    obs_fold: strict(), ["GET /"], "HTTP/1.1 200 OK\r\nX: a\r\n  b\r\n\r\n", OPEN
        => ["error ObsFold"];
    bare_lf_strict: strict(), ["GET /"], "HTTP/1.1 200 OK\nContent-Length: 0\n\n", OPEN
        => ["error BareLf"];
    bare_lf_lenient: lenient(), ["GET /"], "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", OPEN
        => [OK, "data x", "end", "need-data"];
    conflicting_content_length: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy", OPEN
        => ["error ConflictingContentLength"];
    conflicting_content_length_list: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nxy", OPEN
        => ["error ConflictingContentLength"];
    content_length_plus_sign: strict(), ["GET /"], "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx", OPEN
        => ["error BadContentLength"];
    content_length_overflow: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", OPEN
        => ["error BadContentLength"];
    content_length_with_chunked: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", OPEN
        => ["error ContentLengthWithTransferEncoding"];
    gzip_coding_unsupported: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", OPEN
        => ["error UnsupportedTransferCoding"];
    chunked_twice: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", OPEN
        => ["error BadTransferEncoding"];
    empty_transfer_encoding: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n\r\n", OPEN => ["error BadTransferEncoding"];
    transfer_encoding_in_http10: strict(), ["GET /"],
        "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", OPEN
        => ["error TransferEncodingInHttp10"];
    bad_chunk_size: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", OPEN
        => [OK, "error BadChunkLine"];
    negative_chunk_size: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", OPEN
        => [OK, "error BadChunkLine"];
    chunk_size_overflow: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", OPEN
        => [OK, "error ChunkSizeOverflow"];
    chunk_missing_crlf: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", OPEN
        => [OK, "data ab", "error MissingChunkCrlf"];
    forbidden_trailer: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n", OPEN
        => [OK, "error BadTrailer"];
    unsolicited_response: strict(), [], "HTTP/1.1 408 Request Timeout\r\n\r\n", OPEN
        => ["error UnsolicitedResponse"];
    extra_response: strict(), ["GET /"],
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", OPEN
        => [OK, "end", "error UnsolicitedResponse"];
    no_response: strict(), ["GET /"], "", EOF => ["error NoResponse"];
    eof_after_interim: strict(), ["POST / continue"], "HTTP/1.1 100 Continue\r\n\r\n", EOF
        => ["interim 100", "error UnexpectedEof"];
    eof_in_head: strict(), ["GET /"], "HTTP/1.1 200 OK\r\nContent-", EOF => ["error UnexpectedEof"];
}

// ---- limits ----
rows! {
    head_too_large: with_limits(|l| { l.max_head_bytes(64); }), ["GET /"],
        format!("HTTP/1.1 200 OK\r\nX-Long: {}\r\n\r\n", "a".repeat(100)), OPEN
        => ["error HeadTooLarge"];
    head_at_limit_fits: with_limits(|l| { l.max_head_bytes(40); }), ["GET /"],
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", OPEN => [OK, "end", "need-data"];
    head_too_large_without_line_end: with_limits(|l| { l.max_head_bytes(32); }), ["GET /"],
        "HTTP/1.1 200 OKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", OPEN => ["error HeadTooLarge"];
    too_many_headers: with_limits(|l| { l.max_headers(2); }), ["GET /"],
        "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", OPEN => ["error TooManyHeaders"];
    chunk_line_too_long: with_limits(|l| { l.max_chunk_line_bytes(8); }), ["GET /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=long-extension\r\nx\r\n0\r\n\r\n", OPEN
        => [OK, "error ChunkLineTooLong"];
    trailers_too_large: with_limits(|l| { l.max_trailer_bytes(8); }), ["GET /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Long: 123456789\r\n\r\n", OPEN
        => [OK, "error TrailersTooLarge"];
    declared_body_too_large: with_limits(|l| { l.max_body_bytes(4); }), ["GET /"],
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", OPEN => [OK, "error BodyTooLarge"];
    close_delimited_body_too_large: with_limits(|l| { l.max_body_bytes(4); }), ["GET /"],
        "HTTP/1.1 200 OK\r\n\r\nhello", EOF => [OK, "data hell", "error BodyTooLarge"];
    close_delimited_body_at_limit: with_limits(|l| { l.max_body_bytes(5); }), ["GET /"],
        "HTTP/1.1 200 OK\r\n\r\nhello", EOF => [OK, "data hello", "end", "closed"];
    chunked_body_too_large: with_limits(|l| { l.max_body_bytes(4); }), ["GET /"],
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", OPEN
        => [OK, "data abc", "error BodyTooLarge"];
}

#[test]
fn upgrade_hands_over_the_bytes_after_the_head() {
    let input = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello";
    for pieces in common::splits(input) {
        let mut conn = sent(&strict(), &["GET /chat upgrade"]);
        let run = common::client::run_client(&mut conn, &pieces, false);
        assert_eq!(run.events, ["head 101 HTTP/1.1", "upgraded"]);
        // Bytes the engine did not take in yet are still the caller's.
        let unfed = run.leftover - conn.buffered_len();
        let parts = conn.into_parts();
        assert_eq!(parts.response.status(), 101);
        assert_eq!(parts.buffered.len() + unfed, 7);
        assert!(b"\x81\x05hello".starts_with(&parts.buffered));
    }
    let mut conn = sent(&strict(), &["GET /chat upgrade"]);
    conn.receive(input);
    assert!(matches!(conn.next_event(), Ok(Next::Event(Event::Head(h))) if h.status() == 101));
    assert_eq!(conn.next_event(), Ok(Next::Upgraded));
    assert!(conn.is_upgraded() && !conn.keep_alive());
    let mut out = Vec::new();
    assert_eq!(
        conn.send_head(&request("GET /"), &mut out),
        Err(RequestError::Closed)
    );
    assert_eq!(conn.into_parts().buffered, b"\x81\x05hello");
}

#[test]
fn response_head_exposes_status_reason_and_headers() {
    let mut conn = sent(&strict(), &["GET /"]);
    conn.receive(b"HTTP/1.0 404 Not \xffFound\r\nX-A: 1\r\nx-a:  2 \r\n\r\n");
    let Ok(Next::Event(Event::Head(head))) = conn.next_event() else {
        panic!("expected a head");
    };
    assert_eq!(head.status(), 404);
    assert_eq!(head.version(), h1_core::Version::Http10);
    assert_eq!(head.reason_bytes(), b"Not \xffFound");
    assert_eq!(head.reason(), "", "not UTF-8");
    assert_eq!(
        head.headers().get_all("x-a").collect::<Vec<_>>(),
        [&b"1"[..], b"2"]
    );
    assert!(!head.is_interim());
}

#[test]
fn a_response_error_poisons_both_sides() {
    let mut conn = sent(&strict(), &["GET /"]);
    conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n");
    let err = ResponseError::BadContentLength;
    assert_eq!(conn.next_event(), Err(err));
    conn.receive(b"HTTP/1.1 200 OK\r\n\r\n");
    conn.receive_eof();
    assert_eq!(conn.next_event(), Err(err));
    let mut out = Vec::new();
    assert_eq!(conn.send_data(b"x", &mut out), Err(RequestError::Poisoned));
    assert_eq!(conn.send_end(None, &mut out), Err(RequestError::Poisoned));
    assert!(out.is_empty());
    assert_eq!(err.to_string(), "invalid Content-Length");
}

#[test]
fn read_buf_gives_the_same_events_as_receive() {
    let input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    let expected =
        common::client::run_client(&mut sent(&strict(), &["GET /", "GET /"]), &[input], false);
    for size in [1, 2, 7, 4096] {
        let mut conn = sent(&strict(), &["GET /", "GET /"]);
        assert_eq!(conn.outstanding(), 2);
        let mut events = Vec::new();
        let mut fed = 0;
        loop {
            match conn.next_event().expect("valid response") {
                Next::NeedData if fed < input.len() => {
                    let n = size.min(input.len() - fed);
                    conn.read_buf(n)[..n].copy_from_slice(&input[fed..fed + n]);
                    conn.commit_read(n);
                    fed += n;
                }
                Next::NeedData => break,
                Next::Event(Event::Head(h)) => {
                    events.push(format!("head {} {}", h.status(), h.version()))
                }
                Next::Event(Event::Data(d)) => match events.last_mut() {
                    Some(last) if last.starts_with("data ") => {
                        last.push_str(&d.escape_ascii().to_string())
                    }
                    _ => events.push(format!("data {}", d.escape_ascii())),
                },
                Next::Event(Event::End) => events.push("end".to_owned()),
                other => panic!("{other:?}"),
            }
        }
        events.push("need-data".to_owned());
        assert_eq!(events, expected.events, "pieces of {size}");
        assert!(conn.is_idle() && conn.outstanding() == 0 && conn.keep_alive());
    }
}
