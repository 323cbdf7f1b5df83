//! The engine's fast paths (whole chunk-size lines, whole trailer sections, whole header
//! values compared at once, the head parsed with few header slots first) give the same
//! outcome as the byte-by-byte path: every row runs whole, split at every offset and one
//! byte at a time (which takes the slow paths), and must give the same events each time,
//! right at each limit and one byte past it.

mod common;

use common::{Opts, every_split, strict};
use h1_core::Config;

const CHUNKED: &str = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
const POST: &str = "head POST / HTTP/1.1";

fn with_limits(f: impl FnOnce(&mut h1_core::Limits)) -> Config {
    let mut c = Config::default();
    f(c.limits_mut());
    c
}

fn check(config: &Config, input: impl AsRef<[u8]>, expected: &[&str]) {
    let input = input.as_ref();
    let run = every_split(config, input, Opts::stop());
    assert_eq!(run.events, expected, "{}", input.escape_ascii());
}

#[test]
fn chunk_size_digits_up_to_sixteen() {
    // 16 hex digits fit a u64; the 17th (a leading zero) is read by the slow path.
    check(
        &strict(),
        format!("{CHUNKED}0000000000000001\r\nx\r\n0\r\n\r\n"),
        &[POST, "data x", "end", "paused"],
    );
    check(
        &strict(),
        format!("{CHUNKED}00000000000000001\r\nx\r\n0\r\n\r\n"),
        &[POST, "data x", "end", "paused"],
    );
    check(
        &strict(),
        format!("{CHUNKED}10000000000000000\r\nx\r\n"),
        &[POST, "error 400 ChunkSizeOverflow"],
    );
}

#[test]
fn chunk_line_limit_with_and_without_extensions() {
    // The digits, the extensions and the CR count: 4 bytes here.
    let limit = |n| {
        with_limits(|l| {
            l.max_chunk_line_bytes(n);
        })
    };
    for (line, len) in [("001", 4), ("1;ab", 5), ("1;a\tb", 6)] {
        let input = format!("{CHUNKED}{line}\r\nx\r\n0\r\n\r\n");
        check(&limit(len), &input, &[POST, "data x", "end", "paused"]);
        check(
            &limit(len - 1),
            &input,
            &[POST, "error 400 ChunkLineTooLong"],
        );
    }
}

#[test]
fn chunk_extension_budget_exactly_and_one_past() {
    let budget = |n| {
        with_limits(|l| {
            l.max_chunk_ext_bytes(n);
        })
    };
    // `;ab` and `;c` are 5 bytes of extensions over the body.
    let input = format!("{CHUNKED}1;ab\r\nx\r\n1;c\r\ny\r\n0\r\n\r\n");
    check(&budget(5), &input, &[POST, "data xy", "end", "paused"]);
    check(
        &budget(4),
        &input,
        &[POST, "data x", "error 400 ChunkExtensionsTooLarge"],
    );
}

#[test]
fn chunk_extension_control_bytes_are_refused() {
    for ext in ["1;a\x01b", "1;a\x7fb", "1;a\nb"] {
        check(
            &strict(),
            format!("{CHUNKED}{ext}\r\nx\r\n0\r\n\r\n"),
            &[POST, "error 400 BadChunkLine"],
        );
    }
}

#[test]
fn trailer_section_limit_exactly_and_one_past() {
    // "X-A: 1\r\nX-B: 22\r\n\r\n" is 19 bytes.
    let input = format!("{CHUNKED}1\r\nx\r\n0\r\nX-A: 1\r\nX-B: 22\r\n\r\n");
    let limit = |n| {
        with_limits(|l| {
            l.max_trailer_bytes(n);
        })
    };
    check(
        &limit(19),
        &input,
        &[POST, "data x", "trailers X-A=1 X-B=22", "end", "paused"],
    );
    check(
        &limit(18),
        &input,
        &[POST, "data x", "error 431 TrailersTooLarge"],
    );
    check(
        &strict(),
        format!("{CHUNKED}1\r\nx\r\n0\r\nX-A: 1\nX-B: 22\r\n\r\n"),
        &[POST, "data x", "error 400 BareLf"],
    );
}

#[test]
fn trailer_sections_past_eight_fields_use_the_larger_slots() {
    let fields: String = (0..12).map(|i| format!("X-{i}: {i}\r\n")).collect();
    let input = format!("{CHUNKED}1\r\nx\r\n0\r\n{fields}\r\n");
    let run = every_split(&strict(), input.as_bytes(), Opts::stop());
    let trailers = run.events.iter().find(|e| e.starts_with("trailers"));
    assert_eq!(
        trailers.map(|t| t.matches('=').count()),
        Some(12),
        "{run:?}"
    );
    let few = with_limits(|l| {
        l.max_headers(11);
    });
    check(
        &few,
        &input,
        &[POST, "data x", "error 431 TrailersTooLarge"],
    );
}

#[test]
fn heads_past_sixty_four_fields_use_the_larger_slots() {
    let fields = |n: usize| -> String { (0..n).map(|i| format!("X-{i}: {i}\r\n")).collect() };
    let head = |n| format!("GET / HTTP/1.1\r\nHost: a\r\n{}\r\n", fields(n));
    let ok = ["head GET / HTTP/1.1", "end", "paused"];
    check(&strict(), head(99), &ok);
    check(&strict(), head(100), &["error 431 TooManyHeaders"]);
    let many = with_limits(|l| {
        l.max_headers(200);
    });
    check(&many, head(150), &ok);
    let few = with_limits(|l| {
        l.max_headers(10);
    });
    check(&few, head(9), &ok);
    check(&few, head(10), &["error 431 TooManyHeaders"]);
}

#[test]
fn whole_values_read_as_the_lists_they_are() {
    // Transfer-Encoding: chunked twice is chunked applied twice.
    check(
        &strict(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        &["error 400 BadTransferEncoding"],
    );
    // An unknown coding, then chunked in a second field.
    check(
        &strict(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        &["error 501 UnsupportedTransferCoding"],
    );
}

/// The chunked body `body` after a POST head, then a GET: the events at every split,
/// answering each request once it is read (and at `answer_at`, if given).
fn chunked_then_get(config: &Config, body: &str, answer_at: &'static str) -> Vec<String> {
    let input = format!("{CHUNKED}{body}GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
    let answer = move |event: &str, conn: &mut h1_core::Connection, out: &mut Vec<u8>| {
        if (event == "paused" || event.starts_with(answer_at)) && !conn.is_response_done() {
            common::respond(conn, out, 200, b"ok");
        }
    };
    every_split(config, input.as_bytes(), Opts::answer(&answer)).events
}

#[test]
fn chunk_lines_and_data_whole_or_split() {
    let ok = |data: &str| {
        vec![
            POST.to_owned(),
            format!("data {data}"),
            "end".into(),
            "paused".into(),
        ]
    };
    // Hex digits in both cases; the CRLF after data, the next line and its data together.
    for (body, data) in [
        (
            "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
            "abcdefghijklmnopqrstuvwxyz",
        ),
        (
            "a\r\n0123456789\r\nB\r\n0123456789a\r\n0\r\n\r\n",
            "01234567890123456789a",
        ),
        ("3\r\nabc\r\n1\r\nd\r\n2\r\nef\r\n0\r\n\r\n", "abcdef"),
        // Extensions: empty, quoted with a space, HTAB, obs-text.
        ("1;\r\nx\r\n0\r\n\r\n", "x"),
        ("1;a=\"b c\"\r\nx\r\n0;z\r\n\r\n", "x"),
        ("1;a\tb\r\nx\r\n0\r\n\r\n", "x"),
        ("1;\u{80}\u{ff}\r\nx\r\n0\r\n\r\n", "x"),
        // Whitespace before an extension takes the byte-by-byte path.
        ("1 \t;a\r\nx\r\n0\r\n\r\n", "x"),
    ] {
        check(
            &strict(),
            format!("{CHUNKED}{body}"),
            &ok(data).iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }
    for (body, events) in [
        (
            "1 \r\nx\r\n0\r\n\r\n",
            &[POST, "error 400 BadChunkLine"][..],
        ),
        ("1\nx\r\n0\r\n\r\n", &[POST, "error 400 BadChunkLine"]),
        (
            "1\r\nx\n0\r\n\r\n",
            &[POST, "data x", "error 400 MissingChunkCrlf"],
        ),
        (
            "1\r\nxy\r\n0\r\n\r\n",
            &[POST, "data x", "error 400 MissingChunkCrlf"],
        ),
        (
            "1\r\nx\r0\r\n\r\n",
            &[POST, "data x", "error 400 MissingChunkCrlf"],
        ),
        ("1;a\r0\r\n", &[POST, "error 400 BadChunkLine"]),
        ("1;a\r\r\n", &[POST, "error 400 BadChunkLine"]),
        ("g\r\n", &[POST, "error 400 BadChunkLine"]),
        ("\r\n", &[POST, "error 400 BadChunkLine"]),
    ] {
        check(&strict(), format!("{CHUNKED}{body}"), events);
    }
    // Bare LFs where they are allowed.
    let mut lenient = strict();
    lenient.allow_bare_lf(true);
    check(
        &lenient,
        format!("{CHUNKED}1\nx\n2;e\nyz\n0\n\n"),
        &[POST, "data xyz", "end", "paused"],
    );
}

#[test]
fn chunk_past_the_body_limit_is_refused_before_any_of_it() {
    let limit = with_limits(|l| {
        l.max_body_bytes(3);
    });
    let input = |body: &str| format!("{CHUNKED}{body}");
    check(
        &limit,
        input("4\r\nabcd\r\n0\r\n\r\n"),
        &[POST, "error 413 BodyTooLarge"],
    );
    check(
        &limit,
        input("3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n"),
        &[POST, "data abc", "error 413 BodyTooLarge"],
    );
    check(
        &limit,
        input("2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"),
        &[POST, "data abc", "end", "paused"],
    );
    // Declared past the limit, with no data yet: the error comes with the first byte.
    check(&limit, input("4\r\n"), &[POST, "need-data"]);
    check(&limit, input("4\r\na"), &[POST, "error 413 BodyTooLarge"]);
}

#[test]
fn trailer_sections_whole_or_split_give_the_same_fields() {
    let body = |section: &str| format!("{CHUNKED}1\r\nx\r\n0\r\n{section}");
    for (section, trailers) in [
        ("X-A: 1\r\n\r\n", "trailers X-A=1"),
        // Whitespace around values (the line's end is not right after the value).
        ("X-A:  1 \r\nX-B:\t2\t\r\n\r\n", "trailers X-A=1 X-B=2"),
        ("X-A:\r\nX-B: \r\n\r\n", "trailers X-A= X-B="),
        ("x-a: \u{e9}\r\n\r\n", "trailers x-a=\\xc3\\xa9"),
    ] {
        check(
            &strict(),
            body(section),
            &[POST, "data x", trailers, "end", "paused"],
        );
    }
    // No trailers: the section is its blank line, within the limit or not.
    let limit = |n| {
        with_limits(|l| {
            l.max_trailer_bytes(n);
        })
    };
    check(&limit(2), body("\r\n"), &[POST, "data x", "end", "paused"]);
    check(
        &limit(1),
        body("\r\n"),
        &[POST, "data x", "error 431 TrailersTooLarge"],
    );
    // Framing fields, bad syntax, too many fields.
    for section in [
        "X-A: 1\r\nContent-Length: 1\r\n\r\n",
        "transfer-encoding: chunked\r\n\r\n",
        "Host: a\r\n\r\n",
        "Trailer: X-A\r\n\r\n",
        "Connection: close\r\n\r\n",
        "X A: 1\r\n\r\n",
        "X-A: 1\r\n 2\r\n\r\n",
        "X-A: 1\r2\r\n\r\n",
        "X-A\r\n\r\n",
    ] {
        check(
            &strict(),
            body(section),
            &[POST, "data x", "error 400 BadTrailer"],
        );
    }
    let few = with_limits(|l| {
        l.max_headers(2);
    });
    check(
        &few,
        body("A: 1\r\nB: 2\r\n\r\n"),
        &[POST, "data x", "trailers A=1 B=2", "end", "paused"],
    );
    check(
        &few,
        body("A: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
        &[POST, "data x", "error 431 TrailersTooLarge"],
    );
}

#[test]
fn trailer_line_ends_whole_or_split() {
    let body = |section: &str| format!("{CHUNKED}1\r\nx\r\n0\r\n{section}");
    for section in [
        "X-A: 1\r\n\n",
        "X-A: 1\n\r\n",
        "X-A:\n\r\n",
        "X-A: 1 \n\r\n",
        "\n",
        // Only a field line in the middle ends in a bare LF.
        "X-A: 1\nX-B: 2\r\n\r\n",
        "X-A:\nX-B: 2\r\n\r\n",
    ] {
        check(
            &strict(),
            body(section),
            &[POST, "data x", "error 400 BareLf"],
        );
    }
    let mut lenient = strict();
    lenient.allow_bare_lf(true);
    for (section, trailers) in [
        ("X-A: 1\nX-B: 2\n\n", "trailers X-A=1 X-B=2"),
        ("X-A: 1\r\n\n", "trailers X-A=1"),
        ("X-A:\n\r\n", "trailers X-A="),
    ] {
        check(
            &lenient,
            body(section),
            &[POST, "data x", trailers, "end", "paused"],
        );
    }
    check(&lenient, body("\n"), &[POST, "data x", "end", "paused"]);
}

#[test]
fn answering_before_the_end_or_the_body_discards_the_rest() {
    let next = ["head GET /next HTTP/1.1", "end", "paused", "need-data"];
    // Answered at the trailers: only the body's end is left.
    let events = chunked_then_get(&strict(), "1\r\nx\r\n0\r\nX-A: 1\r\n\r\n", "trailers");
    assert_eq!(events[..3], [POST, "data x", "trailers X-A=1"]);
    assert_eq!(events[3..], next);
    // Answered at the head: the body is skipped, its trailers are not checked.
    let events = chunked_then_get(
        &strict(),
        "1\r\nx\r\n0\r\nContent-Length: 1\r\n\r\n",
        "head POST",
    );
    assert_eq!(events[..1], [POST]);
    assert_eq!(events[1..], next);
}
