//! Receive side, table-driven: every row is replayed whole, split at every byte offset,
//! and one byte at a time, and must give the same events each time (issue 2, points 1-3,
//! 6, 10, 11). Rows name the expected transcript; an error row ends in
//! `error <status> <RecvError>`, which checks `RecvError::status()` too.

mod common;

use common::{Opts, Run, answer_ok, every_split, lenient, strict};
use h1_core::{Config, Connection, Next, RecvError};

/// Stop at the first `paused`.
fn stop() -> Opts<'static> {
    Opts::stop()
}

/// Answer every request with 200 `ok`, so pipelined requests go on.
fn serve() -> Opts<'static> {
    Opts::answer(&answer_ok)
}

/// As [`serve`], with EOF after the input.
fn serve_eof() -> Opts<'static> {
    Opts::answer(&answer_ok).with_eof()
}

fn with_limits(f: impl FnOnce(&mut h1_core::Limits)) -> Config {
    let mut c = Config::default();
    f(c.limits_mut());
    c
}

/// Run one row and compare. An error row also checks that the connection is poisoned and
/// that `send_error` writes a closing response with the error's status.
fn check(name: &str, config: Config, opts: Opts<'_>, input: impl AsRef<[u8]>, expected: &[&str]) {
    let input = input.as_ref();
    let run: Run = every_split(&config, input, opts);
    assert_eq!(run.events, expected, "row {name}");
    if let Some(err) = run.error {
        // Replay to the error on a connection we keep, then answer it.
        let mut conn = Connection::new(config.clone());
        conn.receive(input);
        let got = loop {
            match conn.next_event() {
                Err(e) => break e,
                Ok(Next::NeedData | Next::Paused) if opts.answer.is_some() => {
                    // A served row: replay with the common driver instead.
                    let mut c2 = Connection::new(config.clone());
                    let _ = common::run_on(&mut c2, &[input], opts);
                    conn = c2;
                    break conn.error().expect("poisoned");
                }
                Ok(Next::NeedData) => {
                    conn.receive_eof();
                }
                Ok(_) => {}
            }
        };
        assert_eq!(got, err, "row {name}");
        assert_eq!(conn.next_event(), Err(err), "row {name}: poisoned");
        assert!(!conn.keep_alive(), "row {name}");
        let mut out = Vec::new();
        if conn
            .send_error(err.status(), &err.to_string(), &mut out)
            .is_ok()
        {
            let text = String::from_utf8_lossy(&out);
            assert!(
                text.starts_with(&format!("HTTP/1.1 {} ", err.status())),
                "row {name}: {text}"
            );
            assert!(text.contains("\r\nConnection: close\r\n"), "row {name}");
            assert!(text.ends_with(&format!("{err}\n")), "row {name}: {text}");
            assert!(conn.is_closed(), "row {name}");
        }
    }
}

macro_rules! rows {
    ($( $name:ident : $config:expr, $opts:expr, $input:expr => [$($ev:expr),* $(,)?]; )*) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name), $config, $opts, $input, &[$($ev),*]);
            }
        )*
    };
}

const GET: &str = "head GET / HTTP/1.1";
const POST: &str = "head POST / HTTP/1.1";

// ---- 1. heads in any split ----
rows! {
    get_simple: strict(), stop(), "GET /path?q=1 HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["head GET /path?q=1 HTTP/1.1", "end", "paused"];
    get_http10_without_host: strict(), stop(), "GET / HTTP/1.0\r\n\r\n"
        => ["head GET / HTTP/1.0", "end", "paused"];
    get_many_headers: strict(), stop(),
        "GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: x/1\r\nAccept: */*\r\nAccept-Language: en\r\nCookie: a=b; c=d\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n"
        => [GET, "end", "paused"];
    get_obs_text_value: strict(), stop(), &b"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9 \xff\r\n\r\n"[..]
        => [GET, "end", "paused"];
    leading_blank_line_ignored: strict(), stop(), "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [GET, "end", "paused"];
    partial_head_needs_data: strict(), stop(), "GET / HTTP/1.1\r\nHost: a\r\n"
        => ["need-data"];
    partial_head_then_eof: strict(), stop().with_eof(), "GET / HTTP/1.1\r\nHost: a\r\n"
        => ["error 400 UnexpectedEof"];
    eof_between_requests: strict(), serve_eof(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [GET, "end", "paused", "closed"];
    options_asterisk: strict(), stop(), "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["head OPTIONS * HTTP/1.1", "end", "paused"];
    absolute_form: strict(), stop(), "GET http://a.example/x?y HTTP/1.1\r\nHost: a.example\r\n\r\n"
        => ["head GET http://a.example/x?y HTTP/1.1", "end", "paused"];
    connect_authority: strict(), stop(), "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n"
        => ["head CONNECT a.example:443 HTTP/1.1", "end", "paused"];
    extension_method: strict(), stop(), "PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["head PURGE /x HTTP/1.1", "end", "paused"];
    host_forms_accepted: strict(), serve(),
        "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\nGET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET / HTTP/1.1\r\nHost:\r\n\r\n"
        => [GET, "end", "paused", GET, "end", "paused", GET, "end", "paused", "need-data"];
}

// ---- 2. bodies: Content-Length, chunked, none ----
rows! {
    cl_body: strict(), stop(), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
        => [POST, "data hello", "end", "paused"];
    cl_body_partial: strict(), stop(), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello"
        => [POST, "data hello", "need-data"];
    cl_body_eof: strict(), stop().with_eof(), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello"
        => [POST, "data hello", "error 400 UnexpectedEof"];
    cl_zero: strict(), stop(), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
        => [POST, "end", "paused"];
    cl_leading_zeros: strict(), stop(), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0002\r\n\r\nhi"
        => [POST, "data hi", "end", "paused"];
    cl_ows_is_fine: strict(), stop(), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  5 \r\n\r\nhello"
        => [POST, "data hello", "end", "paused"];
    cl_identical_duplicates: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
        => [POST, "data hello", "end", "paused"];
    cl_identical_list: strict(), stop(), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello"
        => [POST, "data hello", "end", "paused"];
    cl_binary_body: strict(), stop(), &b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n\0\r\n\xff"[..]
        => [POST, "data \\x00\\r\\n\\xff", "end", "paused"];
    chunked_body: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        => [POST, "data hello world", "end", "paused"];
    chunked_empty: strict(), stop(), "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        => [POST, "end", "paused"];
    chunked_hex_sizes: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0a\r\nabcdefghij\r\n000\r\n\r\n"
        => [POST, "data 0123456789abcdefghij", "end", "paused"];
    chunked_extensions_ignored: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b;c=\"q;x\"\r\nhello\r\n5 ; ext\r\nworld\r\n0;last\r\n\r\n"
        => [POST, "data helloworld", "end", "paused"];
    chunked_case_insensitive: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n1\r\nx\r\n0\r\n\r\n"
        => [POST, "data x", "end", "paused"];
    chunked_trailers: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-A: 1\r\nx-b:  two words \r\n\r\n"
        => [POST, "data abc", "trailers X-A=1 x-b=two words", "end", "paused"];
    chunked_partial: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"
        => [POST, "data hel", "need-data"];
    chunked_eof: strict(), stop().with_eof(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
        => [POST, "data hello", "error 400 UnexpectedEof"];
    chunked_then_pipelined: strict(), serve(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [POST, "data hi", "end", "paused", GET, "end", "paused", "need-data"];
    trailer_content_length: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n"
        => [POST, "error 400 BadTrailer"];
    trailer_transfer_encoding: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\ntransfer-encoding: chunked\r\n\r\n"
        => [POST, "error 400 BadTrailer"];
    trailer_host: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nHost: b\r\n\r\n"
        => [POST, "error 400 BadTrailer"];
    trailer_malformed: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nno colon here\r\n\r\n"
        => [POST, "error 400 BadTrailer"];
    trailer_bare_lf: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\n\r\n"
        => [POST, "error 400 BareLf"];
}

// ---- 3. pipelining ----
rows! {
    pipelined_waits_for_response: strict(), stop(),
        "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["head GET /1 HTTP/1.1", "end", "paused"];
    pipelined_in_order: strict(), serve(),
        "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["head GET /1 HTTP/1.1", "end", "paused", "head POST /2 HTTP/1.1", "data abc", "end", "paused",
            "head GET /3 HTTP/1.1", "end", "paused", "need-data"];
    pipelined_error_after_good: strict(), serve(),
        "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/2.0\r\nHost: a\r\n\r\n"
        => ["head GET /1 HTTP/1.1", "end", "paused", "error 505 UnsupportedVersion"];
}

// ---- 6. keep-alive ----
rows! {
    keepalive_http11_default: strict(), serve_eof(),
        "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [GET, "end", "paused", GET, "end", "paused", "closed"];
    keepalive_client_close: strict(), serve(),
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [GET, "end", "paused", "closed"];
    keepalive_close_in_token_list: strict(), serve(),
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade-Insecure , CLOSE\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [GET, "end", "paused", "closed"];
    keepalive_close_second_field: strict(), serve(),
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: te\r\nconnection: Close\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [GET, "end", "paused", "closed"];
    keepalive_close_substring_is_not_close: strict(), serve(),
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed, xclose\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [GET, "end", "paused", GET, "end", "paused", "need-data"];
    keepalive_http10_default_close: strict(), serve(),
        "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n"
        => ["head GET / HTTP/1.0", "end", "paused", "closed"];
    keepalive_http10_keep_alive: strict(), serve(),
        "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET / HTTP/1.0\r\n\r\n"
        => ["head GET / HTTP/1.0", "end", "paused", "head GET / HTTP/1.0", "end", "paused", "closed"];
}

// ---- 10. errors ----
rows! {
    err_cl_and_te: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        => ["error 400 ContentLengthWithTransferEncoding"];
    err_te_and_cl: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
        => ["error 400 ContentLengthWithTransferEncoding"];
    err_cl_differing: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"
        => ["error 400 ConflictingContentLength"];
    err_cl_differing_list: strict(), stop(), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n"
        => ["error 400 ConflictingContentLength"];
    err_cl_plus: strict(), stop(), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n"
        => ["error 400 BadContentLength"];
    err_cl_minus: strict(), stop(), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n"
        => ["error 400 BadContentLength"];
    err_cl_inner_space: strict(), stop(), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n"
        => ["error 400 BadContentLength"];
    err_cl_hex: strict(), stop(), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n"
        => ["error 400 BadContentLength"];
    err_cl_empty: strict(), stop(), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"
        => ["error 400 BadContentLength"];
    err_cl_overflow: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n"
        => ["error 400 BadContentLength"];
    err_te_gzip: strict(), stop(), "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"
        => ["error 400 BadTransferEncoding"];
    err_te_chunked_not_last: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
        => ["error 400 BadTransferEncoding"];
    err_te_unknown_then_chunked: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        => ["error 501 UnsupportedTransferCoding"];
    err_te_unknown_then_chunked_fields: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: x-custom\r\nTransfer-Encoding: chunked\r\n\r\n"
        => ["error 501 UnsupportedTransferCoding"];
    err_te_chunked_twice: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"
        => ["error 400 BadTransferEncoding"];
    err_te_chunked_twice_fields: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
        => ["error 400 BadTransferEncoding"];
    err_te_empty_value: strict(), stop(), "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n"
        => ["error 400 BadTransferEncoding"];
    err_te_empty_list_with_cl: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\nContent-Length: 2\r\n\r\nhi"
        => ["error 400 ContentLengthWithTransferEncoding"];
    err_te_in_http10: strict(), stop(), "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
        => ["error 400 TransferEncodingInHttp10"];
    err_obs_fold: strict(), stop(), "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n"
        => ["error 400 ObsFold"];
    err_obs_fold_tab: strict(), stop(), "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n"
        => ["error 400 ObsFold"];
    err_space_before_colon: strict(), stop(), "GET / HTTP/1.1\r\nHost : a\r\n\r\n"
        => ["error 400 BadHeaderName"];
    err_tab_before_colon: strict(), stop(), "GET / HTTP/1.1\r\nHost: a\r\nX-A\t: 1\r\n\r\n"
        => ["error 400 BadHeaderName"];
    err_bad_name_byte: strict(), stop(), "GET / HTTP/1.1\r\nHost: a\r\nX(A): 1\r\n\r\n"
        => ["error 400 BadHeaderName"];
    err_empty_name: strict(), stop(), "GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n"
        => ["error 400 BadHeaderName"];
    err_nul_in_value: strict(), stop(), "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"
        => ["error 400 BadHeaderValue"];
    err_bare_cr_in_value: strict(), stop(), "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"
        => ["error 400 BadHeaderValue"];
    err_bare_lf_in_value: strict(), stop(), "GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n"
        => ["error 400 BareLf"];
    err_missing_host: strict(), stop(), "GET / HTTP/1.1\r\nX: a\r\n\r\n"
        => ["error 400 MissingHost"];
    err_two_hosts: strict(), stop(), "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"
        => ["error 400 DuplicateHost"];
    err_host_space: strict(), stop(), "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"
        => ["error 400 BadHost"];
    err_host_slash: strict(), stop(), "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"
        => ["error 400 BadHost"];
    err_host_userinfo: strict(), stop(), "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"
        => ["error 400 BadHost"];
    err_host_two_ports: strict(), stop(), "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n"
        => ["error 400 BadHost"];
    err_host_port_not_digits: strict(), stop(), "GET / HTTP/1.1\r\nHost: a:http\r\n\r\n"
        => ["error 400 BadHost"];
    err_host_ipv6_unclosed: strict(), stop(), "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"
        => ["error 400 BadHost"];
    err_connect_origin_form: strict(), stop(), "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["error 400 BadTarget"];
    err_connect_no_port: strict(), stop(), "CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["error 400 BadTarget"];
    err_connect_absolute_form: strict(), stop(), "CONNECT http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["error 400 BadTarget"];
    err_asterisk_with_get: strict(), stop(), "GET * HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["error 400 BadTarget"];
    err_authority_with_get: strict(), stop(), "GET a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["error 400 BadTarget"];
    err_relative_target: strict(), stop(), "GET foo HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["error 400 BadTarget"];
    err_chunk_size_overflow: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n"
        => [POST, "error 400 ChunkSizeOverflow"];
    err_chunk_size_not_hex: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nx\r\n"
        => [POST, "error 400 BadChunkLine"];
    err_chunk_size_empty: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\n"
        => [POST, "error 400 BadChunkLine"];
    err_chunk_size_negative: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n"
        => [POST, "error 400 BadChunkLine"];
    err_chunk_line_cr_without_lf: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\rhello"
        => [POST, "error 400 BadChunkLine"];
    err_chunk_ext_control_byte: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a\0\r\nhello\r\n"
        => [POST, "error 400 BadChunkLine"];
    err_chunk_line_bare_lf: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n"
        => [POST, "error 400 BadChunkLine"];
    err_chunk_data_no_crlf: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n"
        => [POST, "data hello", "error 400 MissingChunkCrlf"];
    err_chunk_data_cr_no_lf: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\rX"
        => [POST, "data hello", "error 400 MissingChunkCrlf"];
    err_chunk_data_bare_lf: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n"
        => [POST, "data hello", "error 400 MissingChunkCrlf"];
    err_chunk_line_too_long: strict(), stop(),
        format!("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;{}\r\nx", "e".repeat(1100))
        => [POST, "error 400 ChunkLineTooLong"];
    err_http20: strict(), stop(), "GET / HTTP/2.0\r\nHost: a\r\n\r\n"
        => ["error 505 UnsupportedVersion"];
    err_http09: strict(), stop(), "GET / HTTP/0.9\r\nHost: a\r\n\r\n"
        => ["error 505 UnsupportedVersion"];
    err_version_lowercase: strict(), stop(), "GET / http/1.1\r\nHost: a\r\n\r\n"
        => ["error 400 BadSyntax"];
    err_version_missing: strict(), stop(), "GET /\r\nHost: a\r\n\r\n"
        => ["error 400 BadSyntax"];
    err_request_line_double_space: strict(), stop(), "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["error 400 BadSyntax"];
    err_garbage: strict(), stop(), &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"[..]
        => ["error 400 BadSyntax"];
    err_414: with_limits(|l| { l.max_target_bytes(16); }), stop(),
        format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(16))
        => ["error 414 UriTooLong"];
    ok_target_at_limit: with_limits(|l| { l.max_target_bytes(16); }), stop(),
        format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(15))
        => [&*format!("head GET /{} HTTP/1.1", "a".repeat(15)), "end", "paused"];
    err_414_before_line_ends: with_limits(|l| { l.max_target_bytes(16); }), stop(),
        format!("GET /{}", "a".repeat(20))
        => ["error 414 UriTooLong"];
    err_431_head_too_large: with_limits(|l| { l.max_head_bytes(64); }), stop(),
        format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n", "b".repeat(40))
        => ["error 431 HeadTooLarge"];
    err_431_head_never_ends: with_limits(|l| { l.max_head_bytes(64); }), stop(),
        format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}", "b".repeat(60))
        => ["error 431 HeadTooLarge"];
    ok_head_at_limit: with_limits(|l| { l.max_head_bytes(64); }), stop(),
        format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\nGET", "b".repeat(64 - 32))
        => [GET, "end", "paused"];
    err_431_too_many_headers: with_limits(|l| { l.max_headers(3); }), stop(),
        "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
        => ["error 431 TooManyHeaders"];
    ok_headers_at_limit: with_limits(|l| { l.max_headers(3); }), stop(),
        "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"
        => [GET, "end", "paused"];
}

// ---- 10. the bare-LF switch (RFC 9112 §2.2) ----
rows! {
    strict_bare_lf_head: strict(), stop(), "GET / HTTP/1.1\nHost: a\n\n"
        => ["error 400 BareLf"];
    strict_bare_lf_last_line: strict(), stop(), "GET / HTTP/1.1\r\nHost: a\r\n\n"
        => ["error 400 BareLf"];
    lenient_bare_lf_head: lenient(), stop(), "GET / HTTP/1.1\nHost: a\n\n"
        => [GET, "end", "paused"];
    lenient_mixed_line_ends: lenient(), stop(), "GET / HTTP/1.1\r\nHost: a\n\r\n"
        => [GET, "end", "paused"];
    lenient_bare_lf_chunked: lenient(), stop(),
        "POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n5\nhello\n0\nX-T: 1\n\n"
        => [POST, "data hello", "trailers X-T=1", "end", "paused"];
    lenient_still_rejects_bare_cr: lenient(), stop(), "GET / HTTP/1.1\rHost: a\r\n\r\n"
        => ["error 400 BadSyntax"];
    strict_bare_lf_after_trailing_whitespace: strict(), stop(),
        "GET / HTTP/1.1\r\nHost: a\r\nX: b \t\nY: c\r\n\r\n"
        => ["error 400 BareLf"];
    strict_crlf_after_trailing_whitespace: strict(), stop(),
        "GET / HTTP/1.1\r\nX: b \t\r\nHost: a\r\n\r\n"
        => [GET, "end", "paused"];
}

// ---- 11. limits: body and trailers ----
rows! {
    err_413_declared: with_limits(|l| { l.max_body_bytes(4); }), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
        => [POST, "error 413 BodyTooLarge"];
    ok_body_at_limit: with_limits(|l| { l.max_body_bytes(5); }), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
        => [POST, "data hello", "end", "paused"];
    err_413_chunked: with_limits(|l| { l.max_body_bytes(4); }), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"
        => [POST, "data ab", "error 413 BodyTooLarge"];
    ok_chunked_at_limit: with_limits(|l| { l.max_body_bytes(5); }), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"
        => [POST, "data abcde", "end", "paused"];
    err_431_trailers: with_limits(|l| { l.max_trailer_bytes(16); }), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Long: 0123456789\r\n\r\n"
        => [POST, "error 431 TrailersTooLarge"];
    ok_trailers_within_limit: with_limits(|l| { l.max_trailer_bytes(16); }), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-S: 0123\r\n\r\n"
        => [POST, "trailers X-S=0123", "end", "paused"];
    err_chunk_line_limit: with_limits(|l| { l.max_chunk_line_bytes(8); }), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;abcdefgh\r\nhello"
        => [POST, "error 400 ChunkLineTooLong"];
}

#[test]
fn every_status_is_one_of_the_documented_ones() {
    let all = [
        RecvError::BadSyntax,
        RecvError::BadHeaderName,
        RecvError::BadHeaderValue,
        RecvError::BareLf,
        RecvError::ObsFold,
        RecvError::UnsupportedVersion,
        RecvError::UriTooLong,
        RecvError::HeadTooLarge,
        RecvError::TooManyHeaders,
        RecvError::BadTarget,
        RecvError::MissingHost,
        RecvError::DuplicateHost,
        RecvError::BadHost,
        RecvError::BadContentLength,
        RecvError::ConflictingContentLength,
        RecvError::ContentLengthWithTransferEncoding,
        RecvError::BadTransferEncoding,
        RecvError::UnsupportedTransferCoding,
        RecvError::TransferEncodingInHttp10,
        RecvError::BadChunkLine,
        RecvError::ChunkSizeOverflow,
        RecvError::ChunkLineTooLong,
        RecvError::MissingChunkCrlf,
        RecvError::BadTrailer,
        RecvError::TrailersTooLarge,
        RecvError::BodyTooLarge,
        RecvError::UnexpectedEof,
        RecvError::TooManyEmptyLines,
        RecvError::ExpectationFailed,
        RecvError::ChunkExtensionsTooLarge,
    ];
    for e in all {
        let expected = match e {
            RecvError::UnsupportedVersion => 505,
            RecvError::UriTooLong => 414,
            RecvError::HeadTooLarge | RecvError::TooManyHeaders | RecvError::TrailersTooLarge => {
                431
            }
            RecvError::UnsupportedTransferCoding => 501,
            RecvError::BodyTooLarge => 413,
            RecvError::ExpectationFailed => 417,
            _ => 400,
        };
        assert_eq!(e.status(), expected, "{e:?}");
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn limits_have_documented_defaults_and_setters() {
    let l = h1_core::Limits::default();
    assert_eq!(l.head_bytes(), 32 * 1024);
    assert_eq!(l.headers(), 100);
    assert_eq!(l.target_bytes(), 8 * 1024);
    assert_eq!(l.chunk_line_bytes(), 1024);
    assert_eq!(l.chunk_ext_bytes(), 16 * 1024);
    assert_eq!(l.trailer_bytes(), 8 * 1024);
    assert_eq!(l.body_bytes(), u64::MAX);
    assert_eq!(l.discard_bytes(), 256 * 1024);
    let mut l = l;
    l.max_head_bytes(1000)
        .max_headers(5000)
        .max_target_bytes(10)
        .max_chunk_line_bytes(20)
        .max_chunk_ext_bytes(25)
        .max_trailer_bytes(30)
        .max_body_bytes(40)
        .max_discard_bytes(50);
    assert_eq!(
        (
            l.head_bytes(),
            l.headers(),
            l.target_bytes(),
            l.chunk_line_bytes()
        ),
        (1000, h1_core::MAX_HEADERS_CAP, 10, 20)
    );
    assert_eq!(
        (l.trailer_bytes(), l.body_bytes(), l.discard_bytes()),
        (30, 40, 50)
    );
    assert_eq!(l.chunk_ext_bytes(), 25);
    let mut c = Config::default();
    c.set_limits(l.clone());
    assert_eq!(c.limits(), &l);
}

#[test]
fn body_lengths_are_reported_for_413_decisions() {
    let mut conn = Connection::new(Config::default());
    conn.receive(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\nabc");
    assert!(matches!(conn.next_event(), Ok(Next::Event(_))));
    assert_eq!(conn.body_length(), Some(7));
    assert_eq!(conn.body_received(), 0);
    assert!(matches!(conn.next_event(), Ok(Next::Event(_))));
    assert_eq!(conn.body_received(), 3);

    let mut conn = Connection::new(Config::default());
    conn.receive(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n2\r\nef",
    );
    while let Ok(Next::Event(_)) = conn.next_event() {}
    assert_eq!(conn.body_length(), None);
    assert_eq!(conn.body_received(), 6);
}

// ---- issue 12: stricter framing, garbage cut at once, versions, Expect, targets ----

fn chunk_ws_lenient() -> Config {
    let mut c = Config::default();
    c.allow_chunk_size_whitespace(true);
    c
}

const CHUNKED: &str = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

// Item 2: parameters on chunked (RFC 9112 §7.1, §6.1); whitespace after a chunk size.
rows! {
    err_te_chunked_with_parameter: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;param=x\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        => ["error 400 BadTransferEncoding"];
    err_te_chunked_with_spaced_parameter: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked ; q=1\r\n\r\n"
        => ["error 400 BadTransferEncoding"];
    err_te_chunked_with_empty_parameter: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked;\r\n\r\n"
        => ["error 400 BadTransferEncoding"];
    err_te_parameter_on_other_coding_is_still_501: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip;q=1, chunked\r\n\r\n"
        => ["error 501 UnsupportedTransferCoding"];
    err_chunk_size_trailing_space: strict(), stop(),
        format!("{CHUNKED}5 \r\nhello\r\n0\r\n\r\n")
        => [POST, "error 400 BadChunkLine"];
    err_chunk_size_trailing_tab: strict(), stop(),
        format!("{CHUNKED}5\t\t\r\nhello\r\n0\r\n\r\n")
        => [POST, "error 400 BadChunkLine"];
    err_last_chunk_trailing_space: strict(), stop(),
        format!("{CHUNKED}5\r\nhello\r\n0 \r\n\r\n")
        => [POST, "data hello", "error 400 BadChunkLine"];
    chunk_size_space_before_extension_is_fine: strict(), stop(),
        format!("{CHUNKED}5 ;a=b\r\nhello\r\n0\t; c\r\n\r\n")
        => [POST, "data hello", "end", "paused"];
    lenient_chunk_size_trailing_whitespace: chunk_ws_lenient(), stop(),
        format!("{CHUNKED}5 \r\nhello\r\n0\t \r\n\r\n")
        => [POST, "data hello", "end", "paused"];
    lenient_chunk_size_whitespace_still_needs_crlf: chunk_ws_lenient(), stop(),
        format!("{CHUNKED}5 \nhello\r\n0\r\n\r\n")
        => [POST, "error 400 BadChunkLine"];
}

// Item 3: a request line is refused at its first impossible byte (RFC 9112 §3), without
// a line end, so these inputs end in `error`, never `need-data`.
rows! {
    err_nul_bytes_without_line_end: strict(), stop(), &[0u8; 1024][..]
        => ["error 400 BadSyntax"];
    err_tls_client_hello_without_line_end: strict(), stop(),
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xaa\xbb"[..]
        => ["error 400 BadSyntax"];
    err_non_token_byte_in_method: strict(), stop(), "GE(T / HTTP/1.1"
        => ["error 400 BadSyntax"];
    err_space_before_method: strict(), stop(), " GET / HTTP/1.1"
        => ["error 400 BadSyntax"];
    err_high_byte_in_method: strict(), stop(), &b"G\xc3\xa9T / HTTP/1.1"[..]
        => ["error 400 BadSyntax"];
    err_control_byte_in_target: strict(), stop(), "GET /a\x01b"
        => ["error 400 BadSyntax"];
    err_tab_in_target: strict(), stop(), "GET /a\tb HTTP/1.1"
        => ["error 400 BadSyntax"];
    err_del_in_target: strict(), stop(), "GET /a\x7fb HTTP/1.1"
        => ["error 400 BadSyntax"];
    err_cr_inside_request_line: strict(), stop(), "GET /a\rb HTTP/1.1"
        => ["error 400 BadSyntax"];
    err_nul_in_version: strict(), stop(), "GET / HTTP/1.1\0"
        => ["error 400 BadSyntax"];
    partial_request_line_waits: strict(), stop(), "PROPFIND /caf\u{e9}?a=b&c=%20 HTTP/1"
        => ["need-data"];
    lowercase_method_is_a_token: strict(), stop(), "get / HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["head get / HTTP/1.1", "end", "paused"];
    high_bytes_in_target_are_accepted: strict(), stop(),
        &b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"[..]
        => ["head GET /caf\u{e9} HTTP/1.1", "end", "paused"];
}

// Item 4: a few empty lines before a request line are ignored (RFC 9112 §2.2); more are
// 400, never 431, and they do not count towards the head limit.
rows! {
    four_empty_lines_are_ignored: strict(), stop(),
        "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [GET, "end", "paused"];
    err_five_empty_lines: strict(), stop(),
        "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["error 400 TooManyEmptyLines"];
    err_empty_line_flood_is_400_not_431: with_limits(|l| { l.max_head_bytes(16); }), stop(),
        "\r\n".repeat(100)
        => ["error 400 TooManyEmptyLines"];
    // The head is exactly 32 bytes.
    empty_lines_do_not_count_towards_the_head_limit: with_limits(|l| { l.max_head_bytes(32); }), stop(),
        "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: abcdef\r\n\r\n"
        => [GET, "end", "paused"];
    empty_lines_between_pipelined_requests: strict(), serve(),
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [POST, "data hi", "end", "paused", GET, "end", "paused", "need-data"];
    empty_lines_are_counted_per_request: strict(), serve(),
        "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [GET, "end", "paused", GET, "end", "paused", "need-data"];
    empty_lines_then_eof_close: strict(), serve_eof(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n\r\n"
        => [GET, "end", "paused", "closed"];
    err_cr_then_not_lf_before_request_line: strict(), stop(), "\rGET / HTTP/1.1\r\n"
        => ["error 400 BadSyntax"];
    err_lone_cr_then_eof: strict(), stop().with_eof(), "\r"
        => ["error 400 UnexpectedEof"];
    err_bare_lf_empty_line_strict: strict(), stop(), "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["error 400 BareLf"];
    lenient_bare_lf_empty_lines: lenient(), stop(), "\n\r\n\nGET / HTTP/1.1\nHost: a\n\n"
        => [GET, "end", "paused"];
}

// Item 5: a higher minor version of HTTP/1 is HTTP/1.1 (RFC 9110 §2.5); other majors 505.
rows! {
    http12_is_read_as_http11: strict(), stop(), "GET / HTTP/1.2\r\nHost: a\r\n\r\n"
        => [GET, "end", "paused"];
    http19_is_read_as_http11: strict(), stop(),
        "POST / HTTP/1.9\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
        => [POST, "data x", "end", "paused"];
    err_http12_needs_host_like_http11: strict(), stop(), "GET / HTTP/1.2\r\n\r\n"
        => ["error 400 MissingHost"];
    http12_pipelined_after_http11: strict(), serve(),
        "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.2\r\nHost: a\r\n\r\n"
        => [GET, "end", "paused", GET, "end", "paused", "need-data"];
    lenient_http12_bare_lf: lenient(), stop(), "GET / HTTP/1.2\nHost: a\n\n"
        => [GET, "end", "paused"];
    err_http30: strict(), stop(), "GET / HTTP/3.0\r\nHost: a\r\n\r\n"
        => ["error 505 UnsupportedVersion"];
    err_two_digit_minor: strict(), stop(), "GET / HTTP/1.10\r\nHost: a\r\n\r\n"
        => ["error 400 BadSyntax"];
}

// Item 6: Expect is a list (RFC 9110 §10.1.1); an unknown expectation is 417.
rows! {
    expect_continue_in_a_list: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nExpect: , 100-Continue ,\r\nContent-Length: 2\r\n\r\nhi"
        => [POST, "data hi", "end", "paused"];
    expect_empty_is_no_expectation: strict(), stop(), "GET / HTTP/1.1\r\nHost: a\r\nExpect:\r\n\r\n"
        => [GET, "end", "paused"];
    err_expect_unknown: strict(), stop(), "GET / HTTP/1.1\r\nHost: a\r\nExpect: fly\r\n\r\n"
        => ["error 417 ExpectationFailed"];
    err_expect_continue_among_unknown: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, x-y=1\r\nContent-Length: 2\r\n\r\nhi"
        => ["error 417 ExpectationFailed"];
    err_expect_unknown_in_second_field: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nExpect: other\r\nContent-Length: 2\r\n\r\nhi"
        => ["error 417 ExpectationFailed"];
    err_expect_continue_with_value: strict(), stop(),
        "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue=1\r\nContent-Length: 2\r\n\r\nhi"
        => ["error 417 ExpectationFailed"];
    err_expect_unknown_in_http10: strict(), stop(), "GET / HTTP/1.0\r\nExpect: fly\r\n\r\n"
        => ["error 417 ExpectationFailed"];
}

// Item 7: no fragment in a target (RFC 9112 §3.2), no userinfo (RFC 9110 §4.2.4).
rows! {
    err_fragment_in_origin_form: strict(), stop(), "GET /a?b#frag HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["error 400 BadTarget"];
    err_empty_fragment: strict(), stop(), "GET /# HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["error 400 BadTarget"];
    err_fragment_in_absolute_form: strict(), stop(), "GET http://a/x#y HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["error 400 BadTarget"];
    err_userinfo_in_absolute_form: strict(), stop(),
        "GET http://user:pw@a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n"
        => ["error 400 BadTarget"];
    err_user_without_password: strict(), stop(), "GET https://user@a.example HTTP/1.1\r\nHost: a.example\r\n\r\n"
        => ["error 400 BadTarget"];
    at_sign_in_path_is_fine: strict(), stop(),
        "GET http://a.example/@me?to=x@y HTTP/1.1\r\nHost: a.example\r\n\r\n"
        => ["head GET http://a.example/@me?to=x@y HTTP/1.1", "end", "paused"];
    at_sign_in_origin_form_is_fine: strict(), stop(), "GET /@me HTTP/1.1\r\nHost: a\r\n\r\n"
        => ["head GET /@me HTTP/1.1", "end", "paused"];
}

// Item 11: chunk extensions are bounded per body.
rows! {
    err_chunk_extensions_past_the_limit: with_limits(|l| { l.max_chunk_ext_bytes(16); }), stop(),
        format!("{CHUNKED}1;aaaaaaa\r\nx\r\n1;bbbbbbb\r\ny\r\n1;c\r\nz\r\n0\r\n\r\n")
        => [POST, "data xy", "error 400 ChunkExtensionsTooLarge"];
    chunk_extensions_at_the_limit: with_limits(|l| { l.max_chunk_ext_bytes(16); }), stop(),
        format!("{CHUNKED}1;aaaaaaa\r\nx\r\n1;bbbbbbb\r\ny\r\n0\r\n\r\n")
        => [POST, "data xy", "end", "paused"];
    err_extensions_on_the_last_chunk_count: with_limits(|l| { l.max_chunk_ext_bytes(4); }), stop(),
        format!("{CHUNKED}1;a\r\nx\r\n0;bc\r\n\r\n")
        => [POST, "data x", "error 400 ChunkExtensionsTooLarge"];
    chunk_extension_limit_is_per_body: with_limits(|l| { l.max_chunk_ext_bytes(4); }), serve(),
        format!("{CHUNKED}1;abc\r\nx\r\n0\r\n\r\n{CHUNKED}1;abc\r\ny\r\n0\r\n\r\n")
        => [POST, "data x", "end", "paused", POST, "data y", "end", "paused", "need-data"];
}

/// Item 3: fed one byte at a time, garbage is refused at the first byte that cannot start
/// a request line, not at a line end or a timeout.
#[test]
fn garbage_is_refused_at_its_first_bad_byte() {
    for (input, bad_at) in [
        (&b"\x16\x03\x01\x02\x00"[..], 0),
        (b"\0\0\0\0", 0),
        (b"GET\0 / HTTP/1.1", 3),
        (b"GET /x\x01 HTTP/1.1", 6),
        (b"GET /x HTTP/1.1\x1b", 15),
    ] {
        let mut conn = Connection::new(Config::default());
        for (i, &b) in input.iter().enumerate() {
            conn.receive(&[b]);
            let got = conn.next_event();
            if i < bad_at {
                assert_eq!(got, Ok(Next::NeedData), "{input:?} byte {i}");
            } else {
                assert_eq!(got, Err(RecvError::BadSyntax), "{input:?} byte {i}");
                break;
            }
        }
    }
}

/// Item 6: `100-continue` anywhere in the list (or in any Expect field) is seen.
#[test]
fn expect_continue_is_found_in_any_list_position() {
    for value in [
        "100-continue",
        "100-CONTINUE",
        " , 100-continue",
        "100-continue ,,",
    ] {
        let mut conn = Connection::new(Config::default());
        conn.receive(
            format!("POST / HTTP/1.1\r\nHost: a\r\nExpect: {value}\r\nContent-Length: 1\r\n\r\n")
                .as_bytes(),
        );
        assert!(matches!(conn.next_event(), Ok(Next::Event(_))), "{value}");
        assert!(conn.expects_continue(), "{value}");
        assert!(conn.wants_continue(), "{value}");
    }
    let mut conn = Connection::new(Config::default());
    conn.receive(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    assert!(matches!(conn.next_event(), Ok(Next::Event(_))));
    assert!(!conn.expects_continue(), "HTTP/1.0 ignores 100-continue");
}

/// Item 5: the answer to an HTTP/1.2 request is an HTTP/1.1 response on a persistent
/// connection, and the head reports HTTP/1.1.
#[test]
fn http12_is_answered_as_http11() {
    let run = every_split(&strict(), b"GET /v HTTP/1.2\r\nHost: a\r\n\r\n", serve());
    assert_eq!(
        run.events,
        ["head GET /v HTTP/1.1", "end", "paused", "need-data"]
    );
    assert!(
        run.out_str().starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        run.out_str()
    );
    assert!(!run.out_str().contains("Connection: close"));
}

/// Item 11 at the default bound: a 1000-byte extension on every 1-byte chunk stops after
/// 16 KiB of extensions.
#[test]
fn default_chunk_extension_bound_stops_an_endless_stream() {
    let mut conn = Connection::new(Config::default());
    conn.receive(CHUNKED.as_bytes());
    assert!(matches!(conn.next_event(), Ok(Next::Event(_))));
    let chunk = format!("1;{}\r\nx\r\n", "e".repeat(999));
    let mut data = 0;
    for _ in 0..100 {
        conn.receive(chunk.as_bytes());
        loop {
            match conn.next_event() {
                Ok(Next::Event(_)) => data += 1,
                Ok(Next::NeedData) => break,
                Err(e) => {
                    assert_eq!(e, RecvError::ChunkExtensionsTooLarge);
                    // 16 chunks of 1000 extension bytes fit in 16 KiB (16384); the 17th not.
                    assert_eq!(data, 16);
                    return;
                }
                other => panic!("{other:?}"),
            }
        }
    }
    panic!("extensions were never bounded");
}

/// Item 1 (engine side): the error responses the engine writes itself carry the `Date`
/// the driver set, also before any request arrived, and the latest one set.
#[test]
fn engine_written_errors_carry_the_date_set_by_the_driver() {
    use h1_core::HttpDate;
    let mut conn = Connection::new(Config::default());
    conn.set_date(&HttpDate::from_unix_secs(0));
    conn.set_date(&HttpDate::from_unix_secs(86_400));
    let mut out = Vec::new();
    conn.send_error(408, "timeout", &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("\r\nDate: Fri, 02 Jan 1970 00:00:00 GMT\r\n"),
        "{text}"
    );

    let mut conn = Connection::new(Config::default());
    conn.set_date(&HttpDate::from_unix_secs(0));
    conn.receive(b"\x16\x03\x01");
    let err = conn.next_event().unwrap_err();
    let mut out = Vec::new();
    conn.send_error(err.status(), &err.to_string(), &mut out)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    assert!(
        text.contains("\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n"),
        "{text}"
    );
}
