//! Fuzz drivers for `h1-core`.
//!
//! Each target is a plain `fn(&[u8])` that panics when an invariant breaks. The cargo-fuzz
//! binaries under `fuzz_targets/` call them from `fuzz_target!`; `src/bin/stable-loop.rs`
//! calls the very same functions in a mutate-and-run loop on the stable toolchain, so the
//! checks are identical whichever way they run (`cargo xtask fuzz` picks one).
//!
//! To add a target `name`: write `pub fn name(data: &[u8])` here and list it in
//! [`TARGETS`]; add `fuzz_targets/name.rs` calling it and a `[[bin]]` for it in
//! `Cargo.toml` (copy `connection`'s, with `required-features = ["libfuzzer"]`); put seed
//! inputs in `corpus/name/`. `cargo xtask fuzz` and `cargo xtask ci` find it from there.

mod client;
mod multipart;

pub use client::client;
pub use multipart::multipart;

use h1_core::{
    Config, Connection, Event, Headers, Next, RecvError, ResponseHead, SendError, Version,
};

/// A fuzz target: panics when an invariant breaks.
pub type Target = fn(&[u8]);

/// Every fuzz target by name, for the stable fallback loop.
pub const TARGETS: &[(&str, Target)] = &[
    ("client", client),
    ("connection", connection),
    ("multipart", multipart),
];

/// A small deterministic PRNG (xorshift64*): the input seeds it, so a crash replays.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The `connection` target: feed arbitrary bytes to a [`Connection`] in arbitrary splits
/// and answer every request in one of several ways.
///
/// Input layout: byte 0 holds config switches (bare LF, small limits, small body limit,
/// small discard budget, a default header, `read_buf` instead of `receive`, whitespace
/// after chunk sizes), byte 1 the
/// split mode, bytes 2..4 seed the PRNG that picks split sizes and responses; the rest is
/// the byte stream from the peer.
///
/// Invariants checked: no panic; every loop iteration makes progress (bounded iteration
/// count, no empty data events, no `NeedData` after EOF with all input fed, no `Paused`
/// after the response ended); after a [`RecvError`] every later `next_event` returns the
/// same error; every response head the engine writes parses back with the status sent.
pub fn connection(data: &[u8]) {
    let Some((ctl, input)) = data.split_first_chunk::<4>() else {
        return;
    };
    let flags = ctl[0];
    let mut config = Config::default();
    config.allow_bare_lf(flags & 1 != 0);
    config.allow_chunk_size_whitespace(flags & 64 != 0);
    if flags & 2 != 0 {
        config
            .limits_mut()
            .max_head_bytes(256)
            .max_headers(8)
            .max_target_bytes(64)
            .max_chunk_line_bytes(16)
            .max_chunk_ext_bytes(32)
            .max_trailer_bytes(64);
    }
    if flags & 4 != 0 {
        config.limits_mut().max_body_bytes(32);
    }
    if flags & 8 != 0 {
        config.limits_mut().max_discard_bytes(8);
    }
    if flags & 16 != 0 {
        config.default_header("Server", "fuzz/1.0");
    }
    let mut driver = Driver {
        conn: Connection::new(config),
        out: Vec::new(),
        rng: Rng::new(u64::from(u16::from_le_bytes([ctl[2], ctl[3]]))),
        input,
        pos: 0,
        split: ctl[1] % 4,
        use_read_buf: flags & 32 != 0,
        eof_sent: false,
        current: None,
        responded: false,
    };
    driver.run();
}

struct Driver<'a> {
    conn: Connection,
    out: Vec<u8>,
    rng: Rng,
    input: &'a [u8],
    pos: usize,
    /// 0: whole input at once; 1: one byte at a time; 2: 1..=16 bytes; 3: 1..=256 bytes.
    split: u8,
    use_read_buf: bool,
    eof_sent: bool,
    /// Facts about the request being answered.
    current: Option<Req>,
    /// Whether the final response to `current` was sent (or an error ended it).
    responded: bool,
}

#[derive(Debug, Clone, Copy)]
struct Req {
    version: Version,
    connect: bool,
    upgrade: bool,
    head: bool,
}

/// What one loop iteration ended with.
enum Step {
    Go,
    Stop,
}

impl Driver<'_> {
    fn run(&mut self) {
        // Every iteration either takes an event (each consumes input or finishes a request,
        // and a request consumes at least a few bytes), feeds bytes or EOF, or answers. So
        // the count is linear in the input; far past that the engine is spinning.
        let bound = 8 * self.input.len() + 64;
        for _ in 0..bound {
            if let Step::Stop = self.step() {
                return;
            }
            if self.out.len() > 1 << 20 {
                self.out.clear();
            }
        }
        panic!("no progress: more than {bound} iterations");
    }

    fn step(&mut self) -> Step {
        let next = match self.conn.next_event() {
            Ok(next) => next,
            Err(e) => return self.on_error(e),
        };
        match next {
            Next::Event(Event::Head(head)) => {
                assert!(
                    self.current.is_none() || self.responded,
                    "a new head before the previous response ended"
                );
                let req = Req {
                    version: head.version(),
                    connect: head.method() == "CONNECT",
                    upgrade: head.headers().contains("upgrade"),
                    head: head.is_head(),
                };
                assert!(!head.method().is_empty(), "empty method");
                self.current = Some(req);
                self.responded = false;
                self.on_head(req);
            }
            Next::Event(Event::Data(bytes)) => {
                assert!(!bytes.is_empty(), "empty data event");
                assert!(!self.responded, "body data after the response ended");
            }
            Next::Event(Event::Trailers(trailers)) => {
                for (name, _) in trailers {
                    assert!(!name.is_empty(), "empty trailer name");
                }
            }
            Next::Event(Event::End) => assert!(self.current.is_some(), "end without a head"),
            Next::NeedData => self.feed(),
            Next::Paused => {
                assert!(!self.responded, "paused after the response ended");
                let req = self.current.expect("paused without a request");
                self.respond(req);
            }
            Next::Closed => {
                assert!(
                    self.conn.next_event() == Ok(Next::Closed),
                    "closed is not final"
                );
                return Step::Stop;
            }
            Next::Upgraded => {
                assert!(self.conn.is_upgraded(), "upgraded event without an upgrade");
                let conn = std::mem::replace(&mut self.conn, Connection::new(Config::default()));
                let parts = conn.into_parts();
                assert!(parts.buffered.len() <= self.input.len());
                return Step::Stop;
            }
        }
        Step::Go
    }

    fn on_error(&mut self, e: RecvError) -> Step {
        assert!(
            matches!(e.status(), 400 | 413 | 414 | 417 | 431 | 501 | 505),
            "unexpected status {} for {e:?}",
            e.status()
        );
        assert!(!e.to_string().is_empty());
        assert_eq!(self.conn.next_event(), Err(e), "error not sticky");
        assert_eq!(self.conn.error(), Some(e));
        assert!(!self.conn.keep_alive(), "keep-alive after an error");
        // A driver answers with the error's status unless a final head already went out.
        let start = self.out.len();
        match self
            .conn
            .send_error(e.status(), &e.to_string(), &mut self.out)
        {
            Ok(()) => check_head(&self.out[start..], e.status()),
            Err(SendError::AlreadyFinished) => assert!(self.responded),
            Err(other) => panic!("send_error after {e:?}: {other:?}"),
        }
        self.conn.receive(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        self.conn.receive_eof();
        assert_eq!(
            self.conn.next_event(),
            Err(e),
            "error not sticky after send_error"
        );
        assert!(self.conn.is_closed(), "not closed after an error response");
        assert_eq!(
            self.conn.send_data(b"x", &mut self.out),
            Err(SendError::Poisoned)
        );
        Step::Stop
    }

    fn on_head(&mut self, req: Req) {
        match self.rng.below(8) {
            0 => self.respond(req),
            1 if self.conn.wants_continue() => {
                let start = self.out.len();
                self.conn
                    .send_continue(&mut self.out)
                    .expect("send_continue");
                if req.version == Version::Http11 {
                    check_head(&self.out[start..], 100);
                }
                assert!(
                    !self.conn.wants_continue(),
                    "still wants 100 after sending it"
                );
            }
            2 => {
                let mut hints = ResponseHead::new(103);
                hints.header("Link", "</style.css>; rel=preload; as=style");
                let start = self.out.len();
                self.conn
                    .send_interim(&hints, &mut self.out)
                    .expect("send_interim");
                if req.version == Version::Http11 {
                    check_head(&self.out[start..], 103);
                }
            }
            _ => {}
        }
    }

    fn respond(&mut self, req: Req) {
        assert!(!self.responded, "responding twice");
        self.responded = true;
        let start = self.out.len();
        // A 2xx to CONNECT always upgrades, so CONNECT gets 405 on the ordinary paths.
        let ok = if req.connect { 405 } else { 200 };
        let mut head = ResponseHead::new(ok);
        match self.rng.below(10) {
            0 => {
                self.conn
                    .send_error(500, "fuzz says no", &mut self.out)
                    .expect("send_error before any head");
                check_head(&self.out[start..], 500);
                assert!(self.conn.is_closed(), "open after send_error");
                return;
            }
            1 if req.upgrade && req.version == Version::Http11 && !req.connect => {
                head.set_status(101)
                    .header("Connection", "upgrade")
                    .header("Upgrade", "websocket");
                self.conn.send_head(&head, &mut self.out).expect("101");
                check_head(&self.out[start..], 101);
                assert!(self.conn.is_upgraded(), "101 did not upgrade");
                return;
            }
            1..=4 if req.connect => {
                head.set_status(200);
                self.conn
                    .send_head(&head, &mut self.out)
                    .expect("2xx to CONNECT");
                check_head(&self.out[start..], 200);
                assert!(self.conn.is_upgraded(), "2xx to CONNECT did not upgrade");
                return;
            }
            3 => {
                // Unknown length: chunked on 1.1 (with trailers), close-delimited on 1.0.
                head.content_length(None)
                    .header("Content-Type", "text/plain");
                self.conn.send_head(&head, &mut self.out).expect("head");
                check_head(&self.out[start..], ok);
                self.conn
                    .send_data(b"hello, ", &mut self.out)
                    .expect("data");
                self.conn.send_data(b"world", &mut self.out).expect("data");
                let mut trailers = Headers::new();
                trailers.append("X-Checksum", "abc123");
                self.conn
                    .send_end(Some(&trailers), &mut self.out)
                    .expect("end");
            }
            4 => {
                let status = if self.rng.below(2) == 0 { 204 } else { 304 };
                head.set_status(status);
                self.conn.send_head(&head, &mut self.out).expect("head");
                check_head(&self.out[start..], status);
                // Dropped: these statuses carry no body.
                self.conn
                    .send_data(b"ignored", &mut self.out)
                    .expect("data");
                self.conn.send_end(None, &mut self.out).expect("end");
            }
            5 => {
                // A broken handler: promises 10 bytes, sends 3.
                head.content_length(Some(10));
                self.conn.send_head(&head, &mut self.out).expect("head");
                check_head(&self.out[start..], ok);
                self.conn.send_data(b"abc", &mut self.out).expect("data");
                match self.conn.send_end(None, &mut self.out) {
                    Ok(()) => {}
                    Err(SendError::BodyTooShort) => {
                        assert!(self.conn.is_closed(), "open after a short body");
                    }
                    Err(e) => panic!("send_end: {e:?}"),
                }
            }
            _ => {
                head.content_length(Some(5))
                    .header("Content-Type", "text/plain")
                    .header("X-Request", "fuzz");
                self.conn.send_head(&head, &mut self.out).expect("head");
                check_head(&self.out[start..], ok);
                // Past the declared length is refused (HEAD drops the body: no error).
                let too_long = self.conn.send_data(b"hello!", &mut self.out);
                if !req.head {
                    assert_eq!(too_long, Err(SendError::BodyTooLong));
                }
                self.conn.send_data(b"hello", &mut self.out).expect("data");
                self.conn.send_end(None, &mut self.out).expect("end");
            }
        }
        assert!(self.conn.is_response_done() || self.conn.is_closed());
        if self.rng.below(4) == 0 {
            self.conn.release_buffers();
        }
    }

    fn feed(&mut self) {
        if self.pos < self.input.len() {
            let left = self.input.len() - self.pos;
            let n = match self.split {
                0 => left,
                1 => 1,
                2 => 1 + self.rng.below(16) as usize,
                _ => 1 + self.rng.below(256) as usize,
            }
            .min(left);
            let bytes = &self.input[self.pos..self.pos + n];
            if self.use_read_buf {
                self.conn.read_buf(n)[..n].copy_from_slice(bytes);
                self.conn.commit_read(n);
            } else {
                self.conn.receive(bytes);
            }
            self.pos += n;
        } else {
            assert!(!self.eof_sent, "NeedData after EOF with all input fed");
            self.conn.receive_eof();
            self.eof_sent = true;
        }
    }
}

/// `bytes` must start with a complete response head with `status`.
fn check_head(bytes: &[u8], status: u16) {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut res = httparse::Response::new(&mut headers);
    match res.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => assert_eq!(res.code, Some(status)),
        other => panic!(
            "response head does not parse ({other:?}): {:?}",
            String::from_utf8_lossy(bytes)
        ),
    }
}
