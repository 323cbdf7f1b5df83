//! The owned head types' own API: method tests, header lists built by hand, equality.

use h1_core::{Connection, Event, Next, RequestHead};

/// Parse one request head (no body) and hand it out.
fn parse(raw: &[u8]) -> RequestHead {
    let mut conn = Connection::new(h1_core::Config::default());
    conn.receive(raw);
    match conn.next_event() {
        Ok(Next::Event(Event::Head(_))) => conn.take_head(),
        other => panic!("expected a head, got {other:?}"),
    }
}

#[test]
fn is_head_matches_the_exact_method() {
    for (method, want) in [
        ("HEAD", true),
        ("GET", false),
        ("head", false),
        ("HEADX", false),
        ("HEA", false),
        ("POST", false),
    ] {
        let head = parse(format!("{method} / HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
        assert_eq!(head.method(), method);
        assert_eq!(head.is_head(), want, "{method}");
    }
}

use h1_core::{Headers, ResponseHead, StaticHeader};

static TEXT: StaticHeader = StaticHeader::new("Content-Type", "text/plain; charset=utf-8");
static ID: StaticHeader = StaticHeader::new("X-Id", "7");
static TABS: StaticHeader = StaticHeader::new("X-Obs", "a\tb~\u{e9}");

#[test]
fn static_header_keeps_name_and_value() {
    assert_eq!(TEXT.name(), "Content-Type");
    assert_eq!(TEXT.value(), "text/plain; charset=utf-8");
    assert_eq!(TABS.value(), "a\tb~\u{e9}");
}

/// `StaticHeader::new` accepts what `Headers::is_valid` accepts, and panics (a compile
/// error in a const) on the rest.
#[test]
fn static_header_checks_like_append() {
    let rows: &[(&'static str, &'static str)] = &[
        ("Content-Type", "text/plain"),
        ("x!#$%&'*+-.^_`|~1", "v"),
        ("X", ""),
        ("", "v"),
        ("Bad Name", "v"),
        ("Bad:Name", "v"),
        ("Bad\u{e9}", "v"),
        ("X", "a\r\nb"),
        ("X", "a\nb"),
        ("X", "a\0b"),
        ("X", "a\x7fb"),
        ("X", " lead"),
        ("X", "trail\t"),
        ("X", "in side"),
    ];
    for &(name, value) in rows {
        let mut h = Headers::new();
        h.append(name, value);
        let built = std::panic::catch_unwind(|| StaticHeader::new(name, value));
        assert_eq!(built.is_ok(), h.is_valid(), "{name:?}: {value:?}");
    }
}

#[test]
fn push_static_fields_are_visible_like_appended_ones() {
    let mut h = Headers::new();
    h.push_static(&TEXT);
    assert_eq!(h.len(), 1);
    assert!(h.is_valid());
    assert_eq!(h.get_str("content-type"), Some("text/plain; charset=utf-8"));
    assert!(h.contains("CONTENT-TYPE"));
    h.append("Set-Cookie", "a=1")
        .push_static(&ID)
        .append("set-cookie", "b=2");
    let fields: Vec<_> = h.iter().collect();
    assert_eq!(
        fields,
        [
            ("Content-Type", &b"text/plain; charset=utf-8"[..]),
            ("Set-Cookie", b"a=1"),
            ("X-Id", b"7"),
            ("set-cookie", b"b=2"),
        ]
    );
    assert_eq!(h.iter().len(), 4);
    assert_eq!(h.get_all("set-cookie").count(), 2);
    assert_eq!(h.get("x-id"), Some(&b"7"[..]));

    // Removing and replacing works on static fields too.
    assert!(h.remove("content-type"));
    assert!(!h.contains("content-type"));
    h.set("X-Id", "8");
    assert_eq!(h.get_all("x-id").collect::<Vec<_>>(), [&b"8"[..]]);
    assert_eq!(h.len(), 3);
    h.clear();
    assert!(h.is_empty());
    h.push_static(&ID);
    assert_eq!(h.iter().collect::<Vec<_>>(), [("X-Id", &b"7"[..])]);
}

#[test]
fn removing_the_invalid_field_restores_validity_next_to_static_ones() {
    let mut h = Headers::new();
    h.push_static(&TEXT).append("X-Bad", "a\r\nb");
    assert!(!h.is_valid());
    h.remove("x-bad");
    assert!(h.is_valid());
    assert_eq!(h.len(), 1);
}

#[test]
fn equality_compares_fields_not_storage() {
    let mut a = Headers::new();
    a.push_static(&TEXT).push_static(&ID);
    let mut b = Headers::new();
    b.append("Content-Type", "text/plain; charset=utf-8")
        .append("X-Id", "7");
    assert_eq!(a, b);
    assert_eq!(a.clone(), b);

    // Storage left behind by a removed field does not count.
    let mut c = Headers::new();
    c.append("X-Gone", "1")
        .append("Content-Type", "text/plain; charset=utf-8")
        .push_static(&ID);
    c.remove("x-gone");
    assert_eq!(c, a);

    // Names compare with their case; order and values count.
    let mut d = Headers::new();
    d.append("content-type", "text/plain; charset=utf-8")
        .push_static(&ID);
    assert_ne!(d, a);
    let mut e = Headers::new();
    e.push_static(&ID).push_static(&TEXT);
    assert_ne!(e, a);
    let mut f = Headers::new();
    f.push_static(&TEXT).append("X-Id", "8");
    assert_ne!(f, a);
    let mut g = Headers::new();
    g.push_static(&TEXT);
    assert_ne!(g, a);
}

#[test]
fn response_heads_with_static_and_appended_fields_are_equal() {
    let mut a = ResponseHead::new(200);
    a.headers_mut().push_static(&TEXT);
    let mut b = ResponseHead::new(200);
    b.header("Content-Type", "text/plain; charset=utf-8");
    assert_eq!(a, b);
    b.set_status(404);
    assert_ne!(a, b);
}

#[test]
fn request_heads_compare_method_and_target() {
    let get = parse(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(get, parse(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n"));
    // Same offsets, other bytes.
    assert_ne!(get, parse(b"PUT /a HTTP/1.1\r\nHost: a\r\n\r\n"));
    assert_ne!(get, parse(b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n"));
    assert_ne!(get, parse(b"GET /a HTTP/1.1\r\nHost: b\r\n\r\n"));
    assert_ne!(get, parse(b"GET /a HTTP/1.0\r\nHost: a\r\n\r\n"));
    // Same fields at other offsets.
    assert_eq!(
        parse(b"\r\nGET /a HTTP/1.1\r\nHost: a\r\n\r\n"),
        parse(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
    );
}

#[test]
fn serialized_static_fields_match_appended_ones() {
    let wire = |head: &ResponseHead| {
        let mut conn = Connection::new(h1_core::Config::default());
        conn.receive(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        while !matches!(conn.next_event(), Ok(Next::Paused)) {}
        let mut out = Vec::new();
        conn.send_head(head, &mut out).unwrap();
        out
    };
    let mut a = ResponseHead::new(200);
    a.headers_mut().push_static(&TEXT).push_static(&ID);
    let mut b = ResponseHead::new(200);
    b.header("Content-Type", "text/plain; charset=utf-8")
        .header("X-Id", "7");
    assert_eq!(wire(&a), wire(&b));
    assert_eq!(
        wire(&a),
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nX-Id: 7\r\nContent-Length: 0\r\n\r\n"
    );
}

/// The head lent out is parsed in place, in the receive buffer: it stays whole while the
/// body is read and the buffer is compacted and grown under it, and what `take_head`,
/// `swap_head` and `clone` hand over owns only the head's bytes.
#[test]
fn the_head_parsed_in_place_survives_body_reads_and_is_copied_out() {
    let mut conn = Connection::new(h1_core::Config::default());
    let head =
        b"POST /up?x=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 100000\r\nX-A: b\r\n\r\n";
    conn.receive(head);
    let Ok(Next::Event(Event::Head(lent))) = conn.next_event() else {
        panic!("expected a head");
    };
    let expect = lent.clone();
    assert_eq!(expect.headers().capacity_hint(), head.len());
    let mut body = 0;
    let mut piece = vec![0u8; 997];
    let mut round = 0u8;
    while body < 100_000 {
        round = round.wrapping_add(1);
        piece.fill(round);
        let n = piece.len().min(100_000 - body);
        // Leave some bytes unread each round, so the buffer fills and is compacted.
        conn.receive(&piece[..n]);
        let read = match conn.next_event().unwrap() {
            Next::Event(Event::Data(d)) => {
                assert!(d.iter().all(|&b| b == round || b == round.wrapping_sub(1)));
                d.len()
            }
            other => panic!("expected data, got {other:?}"),
        };
        body += read;
        assert_eq!(conn.head(), Some(&expect), "after {body} body bytes");
        assert_eq!(conn.head().unwrap().path(), "/up");
        assert_eq!(conn.head().unwrap().headers().get_str("x-a"), Some("b"));
    }
    assert_eq!(conn.next_event().unwrap(), Next::Event(Event::End));
    let mut spare = RequestHead::default();
    conn.swap_head(&mut spare);
    assert_eq!(spare, expect);
    assert_eq!(spare.headers().capacity_hint(), head.len());
    assert_eq!(conn.head(), Some(&RequestHead::default()));
    assert_eq!(conn.take_head(), RequestHead::default());
}
