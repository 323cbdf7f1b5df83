//! Property tests (issue 2): arbitrary bytes in arbitrary splits never panic and never
//! make the engine loop, and give the same events however they are split (so do chunked
//! bodies built from valid and broken chunks and trailer lines, under small limits, which
//! pit the decoder's whole-line fast paths against its byte-by-byte path); a random valid
//! request serialized and parsed back gives the same head and body; a random response
//! serialized by the engine parses back (with httparse) to the same status, headers and
//! body.

mod common;

use common::{Opts, Run, answer_ok, lenient, run, strict};
use h1_core::{Config, Connection, Event, Headers, Next, ResponseHead, Version};
use proptest::prelude::*;

/// Byte strings that look like HTTP often enough to reach deep states.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec![
            &b"GET / HTTP/1.1\r\n"[..], b"POST /x HTTP/1.1\r\n", b"GET / HTTP/1.0\r\n",
            b"CONNECT a:1 HTTP/1.1\r\n", b"HEAD / HTTP/1.1\r\n", b"OPTIONS * HTTP/1.1\r\n",
            b"Host: a\r\n", b"Content-Length: 3\r\n", b"Content-Length: 0\r\n",
            b"Transfer-Encoding: chunked\r\n", b"Connection: close\r\n",
            b"Connection: keep-alive\r\n", b"Expect: 100-continue\r\n", b"\r\n", b"\n", b"\r",
            b"3\r\nabc\r\n", b"0\r\n\r\n", b"0\r\nX: 1\r\n\r\n", b"ffffffffffffffffff\r\n",
            b" ", b":", b";", b"\t", b"\0", b"HTTP/2.0", b"abc",
        ]).prop_map(<[u8]>::to_vec),
        1 => prop::collection::vec(any::<u8>(), 0..16),
    ]
}

fn http_ish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(fragment(), 0..24).prop_map(|v| v.concat())
}

/// Cut `input` at the given (unsorted, possibly repeated) points.
fn cut(input: &[u8], points: &[usize]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = points.iter().map(|p| p % (input.len() + 1)).collect();
    at.sort_unstable();
    at.dedup();
    let mut pieces = Vec::new();
    let mut from = 0;
    for p in at {
        pieces.push(input[from..p].to_vec());
        from = p;
    }
    pieces.push(input[from..].to_vec());
    pieces
}

fn drive(config: &Config, pieces: &[Vec<u8>]) -> Run {
    let refs: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
    // The driver bounds its own loop: each next_event call consumes bytes or returns
    // NeedData/Paused/Closed/Upgraded/an error; it panics past that bound.
    run(config, &refs, Opts::answer(&answer_ok).with_eof())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_or_loop(
        input in prop::collection::vec(any::<u8>(), 0..512),
        points in prop::collection::vec(any::<usize>(), 0..8),
        bare_lf in any::<bool>(),
    ) {
        let config = if bare_lf { lenient() } else { strict() };
        let _ = drive(&config, &cut(&input, &points));
    }

    #[test]
    fn http_ish_bytes_are_split_independent(
        input in http_ish(),
        points in prop::collection::vec(any::<usize>(), 0..8),
        bare_lf in any::<bool>(),
    ) {
        let config = if bare_lf { lenient() } else { strict() };
        let whole = drive(&config, std::slice::from_ref(&input));
        let split = drive(&config, &cut(&input, &points));
        prop_assert_eq!(&split, &whole);
        let bytewise: Vec<Vec<u8>> = input.chunks(1).map(<[u8]>::to_vec).collect();
        prop_assert_eq!(&drive(&config, &bytewise), &whole);
    }
}

// ---- chunked bodies: the decoder's fast paths against its byte-by-byte path ----

/// Mostly `usual`, now and then one of `others`.
fn mostly(usual: &'static str, others: Vec<&'static str>) -> impl Strategy<Value = &'static str> {
    prop_oneof![3 => Just(usual), 1 => prop::sample::select(others)]
}

/// One chunk: its size line (hex in either case, extensions, whitespace, line ends),
/// its data and the line end after it, mostly valid.
fn chunk() -> impl Strategy<Value = Vec<u8>> {
    let ext = mostly(
        "",
        vec![
            ";a=b",
            ";",
            ";\u{80}\t",
            " ;e",
            ";\u{7f}",
            ";aaaaaaaaaa",
            " ",
        ],
    );
    let eol = || mostly("\r\n", vec!["\n", "\r", "\r\r\n", ""]);
    (1usize..24, any::<bool>(), ext, eol(), eol()).prop_map(|(n, upper, ext, eol, end)| {
        let size = if upper {
            format!("{n:X}")
        } else {
            format!("{n:x}")
        };
        let data: String = (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        format!("{size}{ext}{eol}{data}{end}").into_bytes()
    })
}

/// A chunked body: chunks, the last chunk, trailer lines (plain, with whitespace, empty,
/// bare LF, folded, framing, bad names) and the blank line, with now and then a few
/// bytes put in anywhere.
fn chunked_body() -> impl Strategy<Value = Vec<u8>> {
    let last = mostly("0\r\n", vec!["0;e\r\n", "0\n", "00\r\n", "0 \r\n"]);
    let field = mostly(
        "X-A: 1\r\n",
        vec![
            "X-B:  2 \r\n",
            "X-C:\r\n",
            "x-d: 1\n",
            " folded\r\n",
            "Content-Length: 1\r\n",
            "X E: 1\r\n",
            "X-F: \u{e9}\r\n",
        ],
    );
    let blank = mostly("\r\n", vec!["\n", "", "\r"]);
    let stray = prop::option::weighted(
        0.1,
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..4)),
    );
    (
        prop::collection::vec(chunk(), 0..4),
        last,
        prop::collection::vec(field, 0..4),
        blank,
        stray,
    )
        .prop_map(|(chunks, last, fields, blank, stray)| {
            let mut body = chunks.concat();
            body.extend_from_slice(last.as_bytes());
            body.extend(fields.concat().bytes());
            body.extend_from_slice(blank.as_bytes());
            if let Some((at, bytes)) = stray {
                let at = at % (body.len() + 1);
                body.splice(at..at, bytes);
            }
            body
        })
}

/// Small limits, so that the chunk-line, extension, trailer, field and body limits are
/// reached; `trailer_bytes` for the trailer section.
fn small_limits(bare_lf: bool, trailer_bytes: u64) -> Config {
    let mut c = if bare_lf { lenient() } else { strict() };
    c.limits_mut()
        .max_chunk_line_bytes(8)
        .max_chunk_ext_bytes(12)
        .max_trailer_bytes(trailer_bytes)
        .max_headers(2)
        .max_body_bytes(40);
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn chunked_bodies_are_split_independent(
        body in chunked_body(),
        points in prop::collection::vec(any::<usize>(), 0..8),
        bare_lf in any::<bool>(),
        small in any::<bool>(),
        trailer_bytes in 1u64..32,
    ) {
        let config = match (small, bare_lf) {
            (true, _) => small_limits(bare_lf, trailer_bytes),
            (false, true) => lenient(),
            (false, false) => strict(),
        };
        let mut input = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        input.extend(body);
        input.extend_from_slice(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        let whole = drive(&config, std::slice::from_ref(&input));
        let split = drive(&config, &cut(&input, &points));
        prop_assert_eq!(&split, &whole);
        let bytewise: Vec<Vec<u8>> = input.chunks(1).map(<[u8]>::to_vec).collect();
        prop_assert_eq!(&drive(&config, &bytewise), &whole);
    }
}

// ---- round trip: request ----

#[derive(Debug, Clone)]
struct Req {
    method: String,
    target: String,
    http10: bool,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Chunk sizes for a chunked body (HTTP/1.1 only); `None`: Content-Length.
    chunks: Option<Vec<usize>>,
    trailers: Vec<(String, String)>,
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

fn header_name() -> impl Strategy<Value = String> {
    token().prop_filter("framing and routing names are the engine's", |n| {
        let l = n.to_ascii_lowercase();
        !matches!(
            l.as_str(),
            "host" | "content-length" | "transfer-encoding" | "connection" | "expect" | "trailer"
        )
    })
}

fn header_value() -> impl Strategy<Value = String> {
    // Visible ASCII with inner spaces and tabs; no leading or trailing whitespace.
    "([!-~]([ \t!-~]{0,20}[!-~])?)?"
}

fn request() -> impl Strategy<Value = Req> {
    (
        prop_oneof![
            prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
                .prop_map(str::to_owned),
            "[A-Z]{1,10}",
        ],
        "(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,10}){1,4}(\\?[A-Za-z0-9=&/?-]{0,12})?",
        any::<bool>(),
        prop::collection::vec((header_name(), header_value()), 0..12),
        prop::collection::vec(any::<u8>(), 0..300),
        prop::option::of(prop::collection::vec(1usize..64, 1..10)),
        prop::collection::vec((header_name(), header_value()), 0..3),
        prop::collection::vec(any::<usize>(), 0..6),
    )
        .prop_map(
            |(method, target, http10, headers, body, chunks, trailers, _)| {
                let chunks = if http10 { None } else { chunks };
                let trailers = if chunks.is_some() {
                    trailers
                } else {
                    Vec::new()
                };
                Req {
                    method,
                    target,
                    http10,
                    headers,
                    body,
                    chunks,
                    trailers,
                }
            },
        )
        .prop_filter("CONNECT needs an authority target", |r| {
            r.method != "CONNECT"
        })
}

fn serialize(r: &Req) -> Vec<u8> {
    let mut w = format!(
        "{} {} HTTP/1.{}\r\nHost: example.com\r\n",
        r.method,
        r.target,
        if r.http10 { 0 } else { 1 }
    );
    for (n, v) in &r.headers {
        w.push_str(&format!("{n}: {v}\r\n"));
    }
    let mut bytes = match &r.chunks {
        None => {
            w.push_str(&format!("Content-Length: {}\r\n\r\n", r.body.len()));
            let mut b = w.into_bytes();
            b.extend_from_slice(&r.body);
            b
        }
        Some(sizes) => {
            w.push_str("Transfer-Encoding: chunked\r\n\r\n");
            let mut b = w.into_bytes();
            let mut rest = &r.body[..];
            let mut i = 0;
            while !rest.is_empty() {
                let n = sizes[i % sizes.len()].min(rest.len());
                b.extend_from_slice(format!("{n:X};i={i}\r\n").as_bytes());
                b.extend_from_slice(&rest[..n]);
                b.extend_from_slice(b"\r\n");
                rest = &rest[n..];
                i += 1;
            }
            b.extend_from_slice(b"0\r\n");
            for (n, v) in &r.trailers {
                b.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
            }
            b.extend_from_slice(b"\r\n");
            b
        }
    };
    bytes.extend_from_slice(b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
    bytes
}

type Parsed = (
    String,
    String,
    Version,
    Vec<(String, String)>,
    Vec<u8>,
    Vec<(String, String)>,
);

fn pairs(h: &Headers) -> Vec<(String, String)> {
    h.iter()
        .map(|(n, v)| (n.to_owned(), String::from_utf8(v.to_vec()).unwrap()))
        .collect()
}

fn parse_back(pieces: &[Vec<u8>]) -> Parsed {
    let mut conn = Connection::new(Config::default());
    let mut pieces = pieces.iter();
    let mut head = None;
    let mut body = Vec::new();
    let mut trailers = Vec::new();
    loop {
        match conn.next_event().expect("valid request") {
            Next::Event(Event::Head(h)) => {
                head = Some((
                    h.method().to_owned(),
                    h.target().to_owned(),
                    h.version(),
                    pairs(h.headers()),
                ));
            }
            Next::Event(Event::Data(d)) => body.extend_from_slice(d),
            Next::Event(Event::Trailers(t)) => trailers = pairs(t),
            Next::Event(Event::End) => break,
            Next::NeedData => conn.receive(pieces.next().expect("request complete")),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(conn.next_event(), Ok(Next::Paused));
    let (m, t, v, h) = head.expect("head");
    // The pipelined request after it is intact.
    let mut out = Vec::new();
    conn.send_head(&ResponseHead::new(204), &mut out).unwrap();
    conn.send_end(None, &mut out).unwrap();
    for p in pieces {
        conn.receive(p);
    }
    if v == Version::Http11 {
        assert!(
            matches!(conn.next_event(), Ok(Next::Event(Event::Head(h))) if h.target() == "/after")
        );
    } else {
        assert_eq!(conn.next_event(), Ok(Next::Closed));
    }
    (m, t, v, h, body, trailers)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn request_round_trip(req in request(), points in prop::collection::vec(any::<usize>(), 0..6)) {
        let wire = serialize(&req);
        let (method, target, version, headers, body, trailers) = parse_back(&cut(&wire, &points));
        prop_assert_eq!(method, req.method.clone());
        prop_assert_eq!(target, req.target.clone());
        prop_assert_eq!(version, if req.http10 { Version::Http10 } else { Version::Http11 });
        let mut expected = vec![("Host".to_owned(), "example.com".to_owned())];
        expected.extend(req.headers.iter().cloned());
        expected.push(match req.chunks {
            None => ("Content-Length".to_owned(), req.body.len().to_string()),
            Some(_) => ("Transfer-Encoding".to_owned(), "chunked".to_owned()),
        });
        prop_assert_eq!(headers, expected);
        prop_assert_eq!(body, req.body.clone());
        prop_assert_eq!(trailers, req.trailers.clone());
    }
}

// ---- round trip: response ----

/// Parse a response written by the engine with httparse and decode its body.
fn parse_response(wire: &[u8], head_request: bool) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut slots);
    let httparse::Status::Complete(len) = resp.parse(wire).expect("valid response") else {
        panic!("partial response head");
    };
    let headers: Vec<(String, String)> = resp
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8(h.value.to_vec()).unwrap(),
            )
        })
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let rest = &wire[len..];
    let body = if head_request {
        assert!(rest.is_empty());
        Vec::new()
    } else if let Some(cl) = find("content-length") {
        let n: usize = cl.parse().unwrap();
        assert_eq!(rest.len(), n);
        rest.to_vec()
    } else if find("transfer-encoding").is_some() {
        let mut body = Vec::new();
        let mut rest = rest;
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16).unwrap();
            rest = &rest[line_end + 2..];
            if n == 0 {
                break;
            }
            body.extend_from_slice(&rest[..n]);
            assert_eq!(&rest[n..n + 2], b"\r\n");
            rest = &rest[n + 2..];
        }
        // Trailers are checked by the caller; the wire ends with the blank line.
        assert!(rest.ends_with(b"\r\n"));
        body
    } else {
        rest.to_vec() // close-delimited
    };
    (resp.code.unwrap(), headers, body)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn response_round_trip(
        status in prop_oneof![200u16..=599, Just(204), Just(304)],
        headers in prop::collection::vec((header_name(), header_value()), 0..10),
        body in prop::collection::vec(any::<u8>(), 0..200),
        pieces in prop::collection::vec(any::<usize>(), 0..5),
        known_length in any::<bool>(),
        http10 in any::<bool>(),
        head_request in any::<bool>(),
    ) {
        let req: &[u8] = match (http10, head_request) {
            (false, false) => b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            (false, true) => b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
            (true, false) => b"GET / HTTP/1.0\r\n\r\n",
            (true, true) => b"HEAD / HTTP/1.0\r\n\r\n",
        };
        let mut conn = Connection::new(Config::default());
        conn.receive(req);
        while !matches!(conn.next_event().unwrap(), Next::Paused) {}
        let mut head = ResponseHead::new(status);
        for (n, v) in &headers {
            head.header(n, v);
        }
        head.content_length(known_length.then_some(body.len() as u64));
        let mut out = Vec::new();
        conn.send_head(&head, &mut out).unwrap();
        for piece in cut(&body, &pieces) {
            conn.send_data(&piece, &mut out).unwrap();
        }
        conn.send_end(None, &mut out).unwrap();

        let no_body = head_request || status == 204 || status == 304;
        let (code, got_headers, got_body) = parse_response(&out, no_body);
        prop_assert_eq!(code, status);
        // The caller's headers come first, in order and case; the engine adds framing.
        prop_assert_eq!(&got_headers[..headers.len()], &headers[..]);
        prop_assert_eq!(got_body, if no_body { Vec::new() } else { body.clone() });
        // HTTP/1.1 persists (known length or chunked); HTTP/1.0 without keep-alive closes.
        prop_assert_eq!(conn.keep_alive(), !http10);
    }
}
