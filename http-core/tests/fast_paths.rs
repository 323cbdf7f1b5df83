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
