//! Shared test driver for the client role: send requests described in one line each, feed
//! response bytes, render the events as short strings, and check that the outcome does not
//! depend on how the input was split.
//!
//! Request lines: `METHOD target [flag...]`, flags `1.0` (HTTP/1.0), `close`
//! (`Connection: close`), `keep-alive`, `upgrade` (`Upgrade: websocket`), `continue`
//! (`Expect: 100-continue`). `Host: a` is always sent.
//!
//! Rendering:
//! - `interim 103`, `head 200 HTTP/1.1`
//! - `data hello` (consecutive data events are concatenated, bytes escaped as ASCII)
//! - `trailers x-a=1`, `end`, `closed`, `upgraded`
//! - `need-data`: only once, when all the input (and EOF, if asked) was fed
//! - `error UnexpectedEof`: `Debug` of the [`ResponseError`]; the run stops there.

use h1_core::client::{Connection, Event, Next, Request, RequestError, ResponseError};
use h1_core::{Config, Version};

/// What one run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientRun {
    /// The rendered events.
    pub(crate) events: Vec<String>,
    /// The error that stopped the run, if one did.
    pub(crate) error: Option<ResponseError>,
    /// How many bytes were not handed out when the run stopped (after an upgrade: the new
    /// protocol's first bytes).
    pub(crate) leftover: usize,
}

/// Build the request a line describes.
pub(crate) fn request(line: &str) -> Request {
    let mut words = line.split_whitespace();
    let method = words.next().expect("method");
    let target = words.next().expect("target");
    let mut req = Request::new(method, target);
    req.header("Host", "a");
    for flag in words {
        match flag {
            "1.0" => {
                req.set_version(Version::Http10);
            }
            "close" => {
                req.header("Connection", "close");
            }
            "keep-alive" => {
                req.header("Connection", "keep-alive");
            }
            "upgrade" => {
                req.header("Connection", "upgrade")
                    .header("Upgrade", "websocket");
            }
            "continue" => {
                req.header("Expect", "100-continue");
            }
            other => panic!("unknown request flag {other}"),
        }
    }
    req
}

/// A connection that has sent the requests `lines` describe (heads and empty bodies).
pub(crate) fn sent(config: &Config, lines: &[&str]) -> Connection {
    let mut conn = Connection::new(config.clone());
    let mut out = Vec::new();
    for line in lines {
        conn.send_head(&request(line), &mut out).expect("send_head");
        conn.send_end(None, &mut out).expect("send_end");
    }
    conn
}

/// Drive `conn` with `pieces` (then EOF if `eof`).
pub(crate) fn run_client(conn: &mut Connection, pieces: &[&[u8]], eof: bool) -> ClientRun {
    let mut events: Vec<String> = Vec::new();
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    // Every call consumes input, hands out a head or end (a response takes a few bytes at
    // least), or stops the run: this bounds the loop.
    let mut budget = 64 + 8 * total;
    let mut next_piece = 0;
    let mut eof_sent = false;
    loop {
        budget = budget
            .checked_sub(1)
            .expect("event loop does not terminate");
        let rendered = match conn.next_event() {
            Err(e) => {
                events.push(format!("error {e:?}"));
                assert_eq!(conn.next_event(), Err(e), "error is sticky");
                assert_eq!(conn.error(), Some(e));
                assert!(conn.is_closed() && !conn.keep_alive());
                let mut out = Vec::new();
                let get = request("GET /");
                assert_eq!(conn.send_head(&get, &mut out), Err(RequestError::Poisoned));
                assert!(out.is_empty());
                return ClientRun {
                    events,
                    error: Some(e),
                    leftover: 0,
                };
            }
            Ok(Next::Event(Event::Data(bytes))) => {
                assert!(!bytes.is_empty(), "empty data event");
                let text = bytes.escape_ascii().to_string();
                match events.last_mut() {
                    Some(last) if last.starts_with("data ") => last.push_str(&text),
                    _ => events.push(format!("data {text}")),
                }
                continue;
            }
            Ok(Next::Event(Event::Interim(head))) => format!("interim {}", head.status()),
            Ok(Next::Event(Event::Head(head))) => {
                format!("head {} {}", head.status(), head.version())
            }
            Ok(Next::Event(Event::Trailers(trailers))) => {
                let mut s = String::from("trailers");
                for (name, value) in trailers.iter() {
                    s.push_str(&format!(" {}={}", name, value.escape_ascii()));
                }
                s
            }
            Ok(Next::Event(Event::End)) => "end".to_owned(),
            Ok(Next::Closed) => {
                events.push("closed".to_owned());
                assert_eq!(conn.next_event(), Ok(Next::Closed), "closed is final");
                break;
            }
            Ok(Next::Upgraded) => {
                events.push("upgraded".to_owned());
                assert!(conn.is_upgraded());
                break;
            }
            Ok(Next::NeedData) => {
                if next_piece < pieces.len() {
                    conn.receive(pieces[next_piece]);
                    next_piece += 1;
                    continue;
                }
                if eof && !eof_sent {
                    conn.receive_eof();
                    eof_sent = true;
                    continue;
                }
                events.push("need-data".to_owned());
                break;
            }
        };
        events.push(rendered);
    }
    // Bytes not handed out: buffered in the engine, or not fed yet (a driver's socket
    // would still hold them).
    let unfed: usize = pieces[next_piece..].iter().map(|p| p.len()).sum();
    ClientRun {
        events,
        error: None,
        leftover: conn.buffered_len() + unfed,
    }
}

/// Send `lines`, then feed `input` at every split (whole, at every offset into two pieces,
/// one byte at a time); every run must give the same events. Returns the whole-input run.
pub(crate) fn client_every_split(
    config: &Config,
    lines: &[&str],
    input: &[u8],
    eof: bool,
) -> ClientRun {
    let whole = run_client(&mut sent(config, lines), &[input], eof);
    for pieces in super::splits(input).into_iter().skip(1) {
        let split = run_client(&mut sent(config, lines), &pieces, eof);
        assert_eq!(
            split.events,
            whole.events,
            "split into {:?} differs from whole input {:?}",
            pieces.iter().map(|p| p.len()).collect::<Vec<_>>(),
            input.escape_ascii().to_string()
        );
        assert_eq!(split.error, whole.error);
        assert_eq!(split.leftover, whole.leftover);
    }
    whole
}
