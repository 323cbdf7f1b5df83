//! Pipelining (issue 2, point 3) and long heads fed one byte at a time (point 1).

mod common;

use common::{Opts, answer_ok, every_split, strict};
use h1_core::{Config, Connection, Event, Next, ResponseHead};

/// 16 requests of mixed kinds, as one client would pipeline them.
fn batch() -> Vec<u8> {
    let mut all = Vec::new();
    for i in 0..16 {
        let req = match i % 4 {
            0 => format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n"),
            1 => format!(
                "POST /{i} HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nbody{}",
                i % 10
            ),
            2 => format!(
                "PUT /{i} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-I: {i}\r\n\r\n"
            ),
            _ => format!("HEAD /{i} HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n"),
        };
        all.extend_from_slice(req.as_bytes());
    }
    all
}

#[test]
fn sixteen_pipelined_requests_come_out_in_order_one_at_a_time() {
    let mut conn = Connection::new(strict());
    conn.receive(&batch());
    let mut out = Vec::new();
    for i in 0..16 {
        match conn.next_event() {
            Ok(Next::Event(Event::Head(head))) => assert_eq!(head.target(), format!("/{i}")),
            other => panic!("request {i}: expected its head, got {other:?}"),
        }
        let mut body = Vec::new();
        loop {
            match conn.next_event().unwrap() {
                Next::Event(Event::Data(d)) => body.extend_from_slice(d),
                Next::Event(Event::Trailers(t)) => {
                    assert_eq!(t.get_str("x-i"), Some(&*i.to_string()));
                }
                Next::Event(Event::End) => break,
                other => panic!("request {i}: {other:?}"),
            }
        }
        match i % 4 {
            1 => assert_eq!(body, format!("body{}", i % 10).as_bytes()),
            2 => assert_eq!(body, b"abc"),
            _ => assert!(body.is_empty()),
        }
        // The next request is held back until this response is finished.
        assert_eq!(conn.next_event(), Ok(Next::Paused));
        assert_eq!(conn.next_event(), Ok(Next::Paused));
        let mut head = ResponseHead::new(200);
        head.content_length(Some(2));
        conn.send_head(&head, &mut out).unwrap();
        assert_eq!(conn.next_event(), Ok(Next::Paused));
        conn.send_data(b"ok", &mut out).unwrap();
        assert_eq!(conn.next_event(), Ok(Next::Paused));
        conn.send_end(None, &mut out).unwrap();
    }
    assert_eq!(conn.next_event(), Ok(Next::NeedData));
    assert_eq!(conn.buffered_len(), 0);
    assert!(conn.is_idle());
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("HTTP/1.1 200 OK\r\n").count(), 16);
    // Four HEAD responses carry no body.
    assert_eq!(text.matches("\r\n\r\nok").count(), 12);
}

#[test]
fn sixteen_pipelined_requests_at_every_split() {
    let input = batch();
    let run = every_split(&strict(), &input, Opts::answer(&answer_ok));
    let heads: Vec<&String> = run
        .events
        .iter()
        .filter(|e| e.starts_with("head"))
        .collect();
    assert_eq!(heads.len(), 16);
    for (i, head) in heads.iter().enumerate() {
        assert!(head.contains(&format!(" /{i} ")), "{head}");
    }
    assert_eq!(run.events.iter().filter(|e| *e == "paused").count(), 16);
    assert_eq!(run.events.last().map(String::as_str), Some("need-data"));
}

#[test]
fn pipelined_bytes_after_close_are_not_served() {
    let input = b"GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
    let run = every_split(&strict(), input, Opts::answer(&answer_ok));
    assert_eq!(
        run.events,
        ["head GET /1 HTTP/1.1", "end", "paused", "closed"]
    );
}

/// A 16 KiB head: request line and 100 headers of about 170 bytes.
fn big_head() -> Vec<u8> {
    let mut head = b"GET /big HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..99 {
        head.extend_from_slice(format!("X-Header-{i:02}: {}\r\n", "v".repeat(155)).as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    assert!(head.len() >= 16 * 1024, "{}", head.len());
    head
}

#[test]
fn sixteen_kib_head_one_byte_at_a_time() {
    let head = big_head();
    let mut conn = Connection::new(Config::default());
    let mut calls = 0usize;
    for (i, byte) in head.iter().enumerate() {
        conn.receive(std::slice::from_ref(byte));
        calls += 1;
        match conn.next_event().unwrap() {
            Next::NeedData => assert!(i + 1 < head.len(), "head complete but NeedData"),
            Next::Event(Event::Head(h)) => {
                assert_eq!(i + 1, head.len(), "head handed out early");
                assert_eq!(h.target(), "/big");
                assert_eq!(h.headers().len(), 100);
                assert_eq!(h.headers().get("x-header-98").map(<[u8]>::len), Some(155));
            }
            other => panic!("byte {i}: {other:?}"),
        }
    }
    assert_eq!(calls, head.len());
    assert_eq!(conn.next_event(), Ok(Next::Event(Event::End)));
    assert_eq!(conn.next_event(), Ok(Next::Paused));
}

#[test]
fn sixteen_kib_head_in_every_small_piece_size() {
    let head = big_head();
    let whole = common::run(&Config::default(), &[&head], Opts::stop());
    for size in [2, 3, 7, 64, 1000, 4095, 4096, 4097] {
        let pieces: Vec<&[u8]> = head.chunks(size).collect();
        assert_eq!(
            common::run(&Config::default(), &pieces, Opts::stop()),
            whole
        );
    }
    assert_eq!(whole.events, ["head GET /big HTTP/1.1", "end", "paused"]);
}

#[test]
fn over_long_head_fed_bytewise_fails_at_the_limit() {
    let mut config = Config::default();
    config.limits_mut().max_head_bytes(8 * 1024);
    let head = big_head();
    let mut conn = Connection::new(config);
    for (i, byte) in head.iter().enumerate() {
        conn.receive(std::slice::from_ref(byte));
        match conn.next_event() {
            Ok(Next::NeedData) => assert!(i + 1 < 8 * 1024),
            Err(e) => {
                assert_eq!(e.status(), 431);
                assert_eq!(i + 1, 8 * 1024, "431 as soon as the limit is reached");
                return;
            }
            other => panic!("{other:?}"),
        }
    }
    panic!("no 431");
}

#[test]
fn read_buf_and_commit_read_match_receive() {
    let input = batch();
    let whole = common::run(&Config::default(), &[&input], Opts::answer(&answer_ok));
    for size in [1, 5, 100, 4096] {
        let mut conn = Connection::new(Config::default());
        let mut events = Vec::new();
        let mut fed = 0;
        let mut out = Vec::new();
        loop {
            let ev = match conn.next_event().unwrap() {
                Next::NeedData if fed < input.len() => {
                    let n = size.min(input.len() - fed);
                    conn.read_buf(n)[..n].copy_from_slice(&input[fed..fed + n]);
                    conn.commit_read(n);
                    fed += n;
                    continue;
                }
                Next::NeedData => break,
                Next::Paused => {
                    common::respond(&mut conn, &mut out, 200, b"ok");
                    "paused"
                }
                Next::Event(Event::Head(_)) => "head",
                Next::Event(_) => continue,
                other => panic!("{other:?}"),
            };
            events.push(ev);
        }
        assert_eq!(events.iter().filter(|e| **e == "head").count(), 16);
        assert_eq!(out, whole.out, "size {size}");
    }
}

#[test]
fn released_buffers_come_back_when_bytes_arrive() {
    let mut conn = Connection::new(Config::default());
    let req: &[u8] = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n";
    for _ in 0..3 {
        let run = common::run_on(&mut conn, &[req], Opts::answer(&answer_ok));
        assert_eq!(
            run.events,
            ["head GET /a HTTP/1.1", "end", "paused", "need-data"]
        );
        assert!(conn.is_idle());
        conn.release_buffers();
        assert_eq!(conn.buffered_len(), 0);
    }
}

/// A fresh connection's receive buffer is 1 KiB (nginx's `client_header_buffer_size`):
/// a busy server holds one per connection, and most heads fit. A larger head makes it
/// grow (doubling), and is parsed the same.
#[test]
fn the_receive_buffer_starts_at_one_kib_and_grows_for_a_larger_head() {
    let mut conn = Connection::new(Config::default());
    assert_eq!(conn.read_buf(1).len(), 1024);

    let cookie = "c".repeat(3000);
    let head = format!("GET / HTTP/1.1\r\nHost: a\r\nCookie: {cookie}\r\n\r\n");
    let mut fed = 0;
    let mut reads = 0;
    let got = loop {
        match conn.next_event().unwrap() {
            Next::NeedData => {
                // As a socket read: as much as the offered space takes.
                let buf = conn.read_buf(1);
                let n = buf.len().min(head.len() - fed);
                buf[..n].copy_from_slice(&head.as_bytes()[fed..fed + n]);
                conn.commit_read(n);
                fed += n;
                reads += 1;
            }
            Next::Event(Event::Head(h)) => break h.headers().get("cookie").map(<[u8]>::len),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(got, Some(3000));
    // 1 KiB, then the buffer doubles: 3 reads for a 3 KiB head, not one per KiB.
    assert!(reads <= 3, "{reads} reads");
}
