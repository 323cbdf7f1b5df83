//! Client role, property tests: requests the client serializes parse back identically in
//! the server role; responses the server role writes parse back identically in the client
//! (interim responses, HEAD, 204, 304, chunked with trailers, close-delimited, keep-alive
//! and pipelining); arbitrary response bytes in arbitrary splits never panic, never loop,
//! give the same events however they are split, and errors are sticky.

mod common;

use common::client::{ClientRun, run_client, sent};
use common::{lenient, strict};
use h1_core::client::{self, Request};
use h1_core::{Config, Connection, Event, Headers, Next, ResponseHead, Version};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

fn header_name() -> impl Strategy<Value = String> {
    token().prop_filter("framing and routing names are the engine's", |n| {
        let l = n.to_ascii_lowercase();
        !matches!(
            l.as_str(),
            "host"
                | "content-length"
                | "transfer-encoding"
                | "connection"
                | "expect"
                | "trailer"
                | "upgrade"
                | "date"
        )
    })
}

fn header_value() -> impl Strategy<Value = String> {
    // Visible ASCII with inner spaces and tabs; no leading or trailing whitespace.
    "([!-~]([ \t!-~]{0,20}[!-~])?)?"
}

fn fields(max: usize) -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((header_name(), header_value()), 0..max)
}

fn to_headers(fields: &[(String, String)]) -> Headers {
    let mut h = Headers::new();
    for (n, v) in fields {
        h.append(n, v);
    }
    h
}

fn pairs(h: &Headers) -> Vec<(String, String)> {
    h.iter()
        .map(|(n, v)| (n.to_owned(), String::from_utf8_lossy(v).into_owned()))
        .collect()
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

// ---- requests: client → server ----

/// How the body length is given.
#[derive(Debug, Clone, Copy)]
enum Length {
    /// `content_length(Some(n))`.
    Known,
    /// `content_length(None)`: chunked.
    Chunked,
    /// Not set: no body.
    Unset,
}

#[derive(Debug, Clone)]
struct Req {
    method: String,
    target: String,
    http10: bool,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    length: Length,
    trailers: Vec<(String, String)>,
    pieces: Vec<usize>,
}

fn request() -> impl Strategy<Value = Req> {
    (
        prop_oneof![
            prop::sample::select(vec![
                "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"
            ])
            .prop_map(str::to_owned),
            "[A-Z]{1,10}".prop_filter("CONNECT needs an authority target", |m| m != "CONNECT"),
        ],
        "(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,10}){1,4}(\\?[A-Za-z0-9=&/?-]{0,12})?",
        any::<bool>(),
        fields(10),
        prop::collection::vec(any::<u8>(), 0..300),
        prop::sample::select(vec![Length::Known, Length::Chunked, Length::Unset]),
        fields(3),
        prop::collection::vec(any::<usize>(), 0..5),
    )
        .prop_map(
            |(method, target, http10, headers, body, length, trailers, pieces)| {
                let length = match length {
                    Length::Chunked if http10 => Length::Known,
                    other => other,
                };
                Req {
                    method,
                    target,
                    http10,
                    headers,
                    body: if matches!(length, Length::Unset) {
                        Vec::new()
                    } else {
                        body
                    },
                    trailers: if matches!(length, Length::Chunked) {
                        trailers
                    } else {
                        Vec::new()
                    },
                    length,
                    pieces,
                }
            },
        )
}

/// The client's bytes for `r`, followed by a pipelined `GET /after` when the connection
/// stays open.
fn client_wire(r: &Req) -> Vec<u8> {
    let mut conn = client::Connection::new(Config::default());
    let mut req = Request::new(&r.method, &r.target);
    if r.http10 {
        req.set_version(Version::Http10);
    }
    req.header("Host", "example.com");
    for (n, v) in &r.headers {
        req.header(n, v);
    }
    match r.length {
        Length::Known => {
            req.content_length(Some(r.body.len() as u64));
        }
        Length::Chunked => {
            req.content_length(None);
        }
        Length::Unset => {}
    }
    let mut out = Vec::new();
    conn.send_head(&req, &mut out).expect("valid request");
    for piece in cut(&r.body, &r.pieces) {
        conn.send_data(&piece, &mut out).expect("send_data");
    }
    conn.send_end(Some(&to_headers(&r.trailers)), &mut out)
        .expect("send_end");
    assert_eq!(conn.keep_alive(), !r.http10);
    if conn.keep_alive() {
        let mut after = Request::new("GET", "/after");
        after.header("Host", "a");
        conn.send_head(&after, &mut out).unwrap();
        conn.send_end(None, &mut out).unwrap();
        assert_eq!(conn.outstanding(), 2);
    }
    out
}

/// What the server role read of one request: method, target, version, headers, body,
/// trailers, and the next head's target if a pipelined request follows.
struct ServerSaw {
    method: String,
    target: String,
    version: Version,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    trailers: Vec<(String, String)>,
    next: Option<String>,
}

/// What the server role makes of `pieces`.
fn server_reads(pieces: &[Vec<u8>]) -> ServerSaw {
    let mut conn = Connection::new(Config::default());
    for p in pieces {
        conn.receive(p);
    }
    conn.receive_eof();
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
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(conn.next_event(), Ok(Next::Paused));
    let mut out = Vec::new();
    conn.send_head(&ResponseHead::new(204), &mut out).unwrap();
    conn.send_end(None, &mut out).unwrap();
    let next = match conn.next_event().expect("valid request") {
        Next::Event(Event::Head(h)) => Some(h.target().to_owned()),
        Next::Closed => None,
        other => panic!("{other:?}"),
    };
    let (method, target, version, headers) = head.expect("head");
    ServerSaw {
        method,
        target,
        version,
        headers,
        body,
        trailers,
        next,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn requests_parse_back_identically_in_the_server_role(
        r in request(),
        points in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let wire = client_wire(&r);
        let ServerSaw { method, target, version, headers, body, trailers, next } =
            server_reads(&cut(&wire, &points));
        prop_assert_eq!(method, r.method.clone());
        prop_assert_eq!(target, r.target.clone());
        prop_assert_eq!(version, if r.http10 { Version::Http10 } else { Version::Http11 });
        let mut expected = vec![("Host".to_owned(), "example.com".to_owned())];
        expected.extend(r.headers.iter().cloned());
        let anticipated = matches!(r.method.as_str(), "POST" | "PUT" | "PATCH");
        match r.length {
            Length::Known => {
                expected.push(("Content-Length".to_owned(), r.body.len().to_string()));
            }
            Length::Chunked => {
                expected.push(("Transfer-Encoding".to_owned(), "chunked".to_owned()));
            }
            Length::Unset if anticipated => {
                expected.push(("Content-Length".to_owned(), "0".to_owned()));
            }
            Length::Unset => {}
        }
        prop_assert_eq!(headers, expected);
        prop_assert_eq!(body, r.body.clone());
        prop_assert_eq!(trailers, r.trailers.clone());
        prop_assert_eq!(next, (!r.http10).then(|| "/after".to_owned()));
    }
}

// ---- responses: server → client ----

#[derive(Debug, Clone)]
struct Exchange {
    head_request: bool,
    close_request: bool,
    interim: Vec<(u16, Vec<(String, String)>)>,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    known_length: bool,
    trailers: Vec<(String, String)>,
    pieces: Vec<usize>,
}

fn exchange() -> impl Strategy<Value = Exchange> {
    (
        (any::<bool>(), prop::bool::weighted(0.1)),
        prop::collection::vec(
            (prop::sample::select(vec![100u16, 102, 103]), fields(3)),
            0..3,
        ),
        prop_oneof![200u16..=599, Just(204), Just(304)],
        fields(8),
        prop::collection::vec(any::<u8>(), 0..200),
        any::<bool>(),
        fields(3),
        prop::collection::vec(any::<usize>(), 0..4),
    )
        .prop_map(
            |(
                (head_request, close_request),
                interim,
                status,
                headers,
                body,
                known_length,
                trailers,
                pieces,
            )| {
                Exchange {
                    head_request,
                    close_request,
                    interim,
                    status,
                    headers,
                    body,
                    known_length,
                    trailers,
                    pieces,
                }
            },
        )
}

/// What the client saw of one response.
#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    interim: Vec<(u16, Vec<(String, String)>)>,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    trailers: Vec<(String, String)>,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn responses_parse_back_identically_in_the_client(
        exchanges in prop::collection::vec(exchange(), 1..4),
        http10 in prop::bool::weighted(0.2),
        points in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        // The client sends every request (pipelined); the server role reads them.
        let mut client = client::Connection::new(Config::default());
        let mut server = Connection::new(Config::default());
        let mut wire = Vec::new();
        let mut sent = 0;
        for x in &exchanges {
            let mut req = Request::new(if x.head_request { "HEAD" } else { "GET" }, "/");
            req.header("Host", "a");
            if http10 {
                req.set_version(Version::Http10);
            }
            if x.close_request {
                req.header("Connection", "close");
            }
            client.send_head(&req, &mut wire).unwrap();
            client.send_end(None, &mut wire).unwrap();
            sent += 1;
            if !client.keep_alive() {
                break;
            }
        }
        server.receive(&wire);

        // The server role answers each request it reads.
        let mut out = Vec::new();
        let mut answered = 0;
        for x in &exchanges[..sent] {
            loop {
                match server.next_event().expect("valid request") {
                    Next::Paused => break,
                    Next::Event(_) => {}
                    other => panic!("{other:?}"),
                }
            }
            for (status, fields) in &x.interim {
                let mut h = ResponseHead::new(*status);
                for (n, v) in fields {
                    h.header(n, v);
                }
                server.send_interim(&h, &mut out).unwrap();
            }
            let mut head = ResponseHead::new(x.status);
            for (n, v) in &x.headers {
                head.header(n, v);
            }
            head.content_length(x.known_length.then_some(x.body.len() as u64));
            server.send_head(&head, &mut out).unwrap();
            for piece in cut(&x.body, &x.pieces) {
                server.send_data(&piece, &mut out).unwrap();
            }
            server.send_end(Some(&to_headers(&x.trailers)), &mut out).unwrap();
            answered += 1;
            if !server.keep_alive() {
                break;
            }
        }
        let server_closes = !server.keep_alive();

        // The client reads the responses, split anywhere; EOF when the server closes.
        let mut seen: Vec<Seen> = Vec::new();
        let mut current = Seen::default();
        let mut pieces = cut(&out, &points).into_iter();
        let mut eof = false;
        let mut ended = 0;
        let mut steps = 0;
        let closed = loop {
            steps += 1;
            prop_assert!(steps < 10 * out.len() + 100, "no progress");
            match client.next_event().expect("valid response") {
                client::Next::Event(client::Event::Interim(h)) => {
                    current.interim.push((h.status(), pairs(h.headers())));
                }
                client::Next::Event(client::Event::Head(h)) => {
                    current.status = h.status();
                    current.headers = pairs(h.headers());
                }
                client::Next::Event(client::Event::Data(d)) => current.body.extend_from_slice(d),
                client::Next::Event(client::Event::Trailers(t)) => current.trailers = pairs(t),
                client::Next::Event(client::Event::End) => {
                    seen.push(std::mem::take(&mut current));
                    ended += 1;
                }
                client::Next::NeedData => match pieces.next() {
                    Some(p) => client.receive(&p),
                    None if server_closes && !eof => {
                        client.receive_eof();
                        eof = true;
                    }
                    None => break false,
                },
                client::Next::Closed => break true,
                client::Next::Upgraded => panic!("no upgrade was offered"),
            }
        };
        prop_assert_eq!(ended, answered);
        prop_assert_eq!(closed, server_closes);
        prop_assert_eq!(client.keep_alive(), !server_closes);
        for (x, got) in exchanges.iter().zip(&seen) {
            // HTTP/1.0 requests get no interim responses.
            let interim: Vec<_> = if http10 { Vec::new() } else { x.interim.clone() };
            prop_assert_eq!(&got.interim, &interim);
            prop_assert_eq!(got.status, x.status);
            // The server's headers come first, in order and case; the engine adds framing.
            prop_assert!(got.headers.len() >= x.headers.len());
            prop_assert_eq!(&got.headers[..x.headers.len()], &x.headers[..]);
            let no_body = x.head_request || x.status == 204 || x.status == 304;
            prop_assert_eq!(&got.body, if no_body { &[][..] } else { &x.body[..] });
            let chunked = !no_body && !x.known_length && !http10;
            let trailers: Vec<_> = if chunked { x.trailers.clone() } else { Vec::new() };
            prop_assert_eq!(&got.trailers, &trailers);
        }
    }
}

// ---- arbitrary bytes ----

/// Byte strings that look like responses often enough to reach deep states.
fn response_ish() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        4 => prop::sample::select(vec![
            &b"HTTP/1.1 200 OK\r\n"[..], b"HTTP/1.0 200 OK\r\n", b"HTTP/1.1 100 Continue\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\n", b"HTTP/1.1 204 No Content\r\n",
            b"HTTP/1.1 304 Not Modified\r\n", b"HTTP/2.0 200 OK\r\n",
            b"Content-Length: 3\r\n", b"Content-Length: 0\r\n",
            b"Transfer-Encoding: chunked\r\n", b"Connection: close\r\n",
            b"Connection: keep-alive\r\n", b"\r\n", b"\n", b"\r",
            b"3\r\nabc\r\n", b"0\r\n\r\n", b"0\r\nX: 1\r\n\r\n", b"ffffffffffffffffff\r\n",
            b" ", b":", b";", b"\t", b"\0", b"abc", b"HTTP/1.1 200 OK\r\n\r\n",
            b"0123456789abcdef", b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n",
        ]).prop_map(<[u8]>::to_vec),
        1 => prop::collection::vec(any::<u8>(), 0..16),
    ];
    prop::collection::vec(fragment, 0..24).prop_map(|v| v.concat())
}

fn replay(config: &Config, requests: &[&str], pieces: &[Vec<u8>]) -> ClientRun {
    let refs: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
    // The driver bounds its loop and checks that errors are sticky.
    run_client(&mut sent(config, requests), &refs, true)
}

const REQUESTS: [&[&str]; 4] = [
    &["GET /", "GET /", "GET /"],
    &["HEAD /", "GET /"],
    &["GET / upgrade", "CONNECT a:1"],
    &["GET / 1.0"],
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_or_loop(
        input in prop::collection::vec(any::<u8>(), 0..512),
        which in 0..REQUESTS.len(),
        points in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        replay(&strict(), REQUESTS[which], &cut(&input, &points));
    }

    #[test]
    fn response_ish_bytes_are_split_independent(
        input in response_ish(),
        which in 0..REQUESTS.len(),
        bare_lf in any::<bool>(),
        small_limits in any::<bool>(),
        points in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut config = if bare_lf { lenient() } else { strict() };
        if small_limits {
            config
                .limits_mut()
                .max_head_bytes(64)
                .max_headers(4)
                .max_chunk_line_bytes(8)
                .max_trailer_bytes(16)
                .max_body_bytes(8);
        }
        let whole = replay(&config, REQUESTS[which], std::slice::from_ref(&input));
        let split = replay(&config, REQUESTS[which], &cut(&input, &points));
        prop_assert_eq!(&split.events, &whole.events);
        prop_assert_eq!(split.error, whole.error);
        let bytewise: Vec<Vec<u8>> = input.chunks(1).map(<[u8]>::to_vec).collect();
        prop_assert_eq!(replay(&config, REQUESTS[which], &bytewise).events, whole.events);
    }
}
