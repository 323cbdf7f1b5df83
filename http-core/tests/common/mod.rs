//! Shared test driver: feed bytes into a [`Connection`], render what comes out as short
//! strings, and check that the outcome does not depend on how the input was split.
//!
//! Rendering:
//! - `head GET /path HTTP/1.1`
//! - `data hello` (consecutive data events are concatenated, bytes escaped as ASCII)
//! - `trailers x-a=1 x-b=2`
//! - `end`, `paused`, `closed`, `upgraded`
//! - `need-data`: only once, when all the input (and EOF, if asked) was fed
//! - `error 400 BadSyntax`: status and `Debug` of the [`RecvError`]; the run stops there.
//!
//! A run stops at the first `paused` unless an [`Answer`] is given; the answer is called
//! after every rendered non-data event and may respond through the send side.
#![allow(dead_code)] // each test file uses a different part of this module

use h1_core::{Config, Connection, Event, Next, RecvError, ResponseHead};

pub(crate) mod client;

/// Called after every rendered event other than data, with that event's string. It may
/// call the send side of the connection, appending to `out`.
pub(crate) type Answer = dyn Fn(&str, &mut Connection, &mut Vec<u8>);

/// What one run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Run {
    /// The rendered events.
    pub(crate) events: Vec<String>,
    /// Everything the send side wrote.
    pub(crate) out: Vec<u8>,
    /// The error that stopped the run, if one did.
    pub(crate) error: Option<RecvError>,
}

impl Run {
    /// The output as text (lossy), for assertions with `contains`.
    pub(crate) fn out_str(&self) -> String {
        String::from_utf8_lossy(&self.out).into_owned()
    }
}

/// How to drive a run.
#[derive(Clone, Copy, Default)]
pub(crate) struct Opts<'a> {
    /// Called after every non-data event; `None`: stop at the first `paused`.
    pub(crate) answer: Option<&'a Answer>,
    /// Call `receive_eof` after the last piece.
    pub(crate) eof: bool,
}

impl<'a> Opts<'a> {
    /// Stop at the first `paused`; no EOF.
    pub(crate) fn stop() -> Self {
        Self::default()
    }

    /// Answer with `answer`.
    pub(crate) fn answer(answer: &'a Answer) -> Self {
        Self {
            answer: Some(answer),
            eof: false,
        }
    }

    /// Also signal EOF after the input.
    pub(crate) fn with_eof(mut self) -> Self {
        self.eof = true;
        self
    }
}

/// An [`Answer`] that replies `200` with body `ok` to every request once it is read whole
/// (at `paused`), so pipelined requests go on.
pub(crate) fn answer_ok(event: &str, conn: &mut Connection, out: &mut Vec<u8>) {
    if event == "paused" {
        respond(conn, out, 200, b"ok");
    }
}

/// Send a complete response with a known length.
pub(crate) fn respond(conn: &mut Connection, out: &mut Vec<u8>, status: u16, body: &[u8]) {
    let mut head = ResponseHead::new(status);
    head.content_length(Some(body.len() as u64));
    conn.send_head(&head, out).expect("send_head");
    if conn.is_upgraded() {
        return; // a 2xx to CONNECT: the engine stepped aside
    }
    conn.send_data(body, out).expect("send_data");
    conn.send_end(None, out).expect("send_end");
}

/// Render the events of `input` fed whole, stopping at the first `paused`.
pub(crate) fn transcript(config: &Config, input: &[u8]) -> Vec<String> {
    run(config, &[input], Opts::stop()).events
}

/// Drive a fresh connection with `pieces`, one `receive` each.
pub(crate) fn run(config: &Config, pieces: &[&[u8]], opts: Opts<'_>) -> Run {
    let mut conn = Connection::new(config.clone());
    run_on(&mut conn, pieces, opts)
}

/// Drive `conn` with `pieces`.
pub(crate) fn run_on(conn: &mut Connection, pieces: &[&[u8]], opts: Opts<'_>) -> Run {
    let mut events: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    // Every call either consumes input, or returns NeedData/Paused/Closed/Upgraded/error,
    // or hands out a head/trailers/end (at most a few per request): this bounds the loop.
    let mut budget = 64 + 8 * total;
    let mut next_piece = 0;
    let mut eof_sent = false;
    loop {
        budget = budget
            .checked_sub(1)
            .expect("event loop does not terminate");
        let rendered = match conn.next_event() {
            Err(e) => {
                events.push(format!("error {} {:?}", e.status(), e));
                return Run {
                    events,
                    out,
                    error: Some(e),
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
            Ok(Next::Event(Event::Head(head))) => format!(
                "head {} {} {}",
                head.method(),
                head.target(),
                head.version()
            ),
            Ok(Next::Event(Event::Trailers(trailers))) => {
                let mut s = String::from("trailers");
                for (name, value) in trailers.iter() {
                    s.push_str(&format!(" {}={}", name, value.escape_ascii()));
                }
                s
            }
            Ok(Next::Event(Event::End)) => "end".to_owned(),
            Ok(Next::Paused) => {
                if opts.answer.is_none() {
                    events.push("paused".to_owned());
                    break;
                }
                "paused".to_owned()
            }
            Ok(Next::Closed) => {
                events.push("closed".to_owned());
                break;
            }
            Ok(Next::Upgraded) => {
                events.push("upgraded".to_owned());
                break;
            }
            Ok(Next::NeedData) => {
                if next_piece < pieces.len() {
                    conn.receive(pieces[next_piece]);
                    next_piece += 1;
                    continue;
                }
                if opts.eof && !eof_sent {
                    conn.receive_eof();
                    eof_sent = true;
                    continue;
                }
                events.push("need-data".to_owned());
                break;
            }
        };
        events.push(rendered);
        if let Some(answer) = opts.answer {
            let paused = events.last().is_some_and(|e| e == "paused");
            let before = out.len();
            answer(events.last().expect("just pushed"), conn, &mut out);
            if paused && out.len() == before && !conn.is_response_done() {
                // The answer did not respond: nothing can move on.
                break;
            }
        }
    }
    Run {
        events,
        out,
        error: None,
    }
}

/// The ways every input is split: whole, at every offset into two pieces, and one byte at
/// a time.
pub(crate) fn splits(input: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut all = vec![vec![input]];
    for k in 1..input.len() {
        all.push(vec![&input[..k], &input[k..]]);
    }
    all.push(input.chunks(1).collect());
    all
}

/// Run `input` at every split (see [`splits`]), assert every run gives the same events
/// and output, and return the run of the whole input.
pub(crate) fn every_split(config: &Config, input: &[u8], opts: Opts<'_>) -> Run {
    let whole = run(config, &[input], opts);
    for pieces in splits(input).into_iter().skip(1) {
        let split = run(config, &pieces, opts);
        assert_eq!(
            split,
            whole,
            "split into {:?} differs from whole input {:?}",
            pieces.iter().map(|p| p.len()).collect::<Vec<_>>(),
            input.escape_ascii().to_string()
        );
    }
    whole
}

/// Shorthand: the events of `input` at every split, stopping at the first `paused`.
pub(crate) fn events(config: &Config, input: &[u8]) -> Vec<String> {
    every_split(config, input, Opts::stop()).events
}

/// A strict default configuration.
pub(crate) fn strict() -> Config {
    Config::default()
}

/// A configuration with bare LF line ends accepted.
pub(crate) fn lenient() -> Config {
    let mut c = Config::default();
    c.allow_bare_lf(true);
    c
}
