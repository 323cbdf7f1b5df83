//! The owned head types' own API: method tests, header lists built by hand, equality.

use http_core::{Connection, Event, Next, RequestHead};

/// Parse one request head (no body) and hand it out.
fn parse(raw: &[u8]) -> RequestHead {
    let mut conn = Connection::new(Default::default());
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
