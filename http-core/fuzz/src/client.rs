//! The `client` target: arbitrary server bytes through the client role, with requests
//! (pipelined, HEAD, CONNECT, upgrades, HTTP/1.0, bodies) sent between the pieces.

use h1_core::Config;
use h1_core::client::{Connection, Event, Next, Request, RequestError, ResponseError};

use crate::Rng;

/// The `client` target: send requests from a [`Connection`] in the client role and feed it
/// arbitrary bytes as the server's, in arbitrary splits.
///
/// Input layout: byte 0 holds config switches (bare LF, small limits, small body limit,
/// `read_buf` instead of `receive`, compare with the whole input), byte 1 the split mode, bytes 2..4 seed the PRNG that
/// picks split sizes and requests; the rest is the byte stream from the server.
///
/// Invariants checked: no panic; every loop iteration makes progress (bounded iteration
/// count, no empty data events, no `NeedData` after EOF with all input fed, `Closed`
/// final); heads and ends only for outstanding requests, body data only inside a response;
/// after a [`ResponseError`] every later `next_event` returns the same error and the send
/// side is poisoned; every request head the engine writes parses back with httparse; with
/// all requests sent up front, the events do not depend on how the input was split.
pub fn client(data: &[u8]) {
    let Some((ctl, input)) = data.split_first_chunk::<4>() else {
        return;
    };
    let flags = ctl[0];
    let mut config = Config::default();
    config.allow_bare_lf(flags & 1 != 0);
    if flags & 2 != 0 {
        config
            .limits_mut()
            .max_head_bytes(256)
            .max_headers(8)
            .max_chunk_line_bytes(16)
            .max_trailer_bytes(64);
    }
    if flags & 4 != 0 {
        config.limits_mut().max_body_bytes(32);
    }
    // With bit 4 set, every request goes out up front, so the events can be compared with
    // a run that gets the whole input at once: they must not depend on the split.
    let compare = flags & 16 != 0;
    let mut driver = Driver::new(config.clone(), ctl, input, compare);
    driver.run();
    if compare && driver.split != 0 {
        let mut whole = Driver::new(config, ctl, input, compare);
        whole.split = 0;
        whole.run();
        assert_eq!(driver.events, whole.events, "events depend on the split");
    }
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
    /// Between a final head and its end.
    in_body: bool,
    /// Whether requests may also be sent between pieces (else only up front).
    pipeline_midway: bool,
    /// What happened, as short strings (data concatenated), to compare runs.
    events: Vec<String>,
}

enum Step {
    Go,
    Stop,
}

impl<'a> Driver<'a> {
    fn new(config: Config, ctl: &[u8; 4], input: &'a [u8], up_front: bool) -> Self {
        Self {
            conn: Connection::new(config),
            out: Vec::new(),
            rng: Rng::new(u64::from(u16::from_le_bytes([ctl[2], ctl[3]]))),
            input,
            pos: 0,
            split: ctl[1] % 4,
            use_read_buf: ctl[0] & 8 != 0,
            eof_sent: false,
            in_body: false,
            pipeline_midway: !up_front,
            events: Vec::new(),
        }
    }

    fn run(&mut self) {
        // Every iteration takes an event (each consumes input or ends a response, and a
        // response takes a few bytes), feeds bytes or EOF, or sends a request (at most a
        // few per piece fed). So the count is linear in the input.
        // A first request, then up to three pipelined behind it.
        self.send_request();
        for _ in 0..self.rng.below(4) {
            self.send_request();
        }
        let bound = 16 * self.input.len() + 64;
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
        let outstanding = self.conn.outstanding();
        let next = match self.conn.next_event() {
            Ok(next) => next,
            Err(e) => {
                self.events.push(format!("error {e:?}"));
                return self.on_error(e);
            }
        };
        match &next {
            Next::Event(Event::Data(bytes)) => {
                let text = bytes.escape_ascii().to_string();
                match self.events.last_mut() {
                    Some(last) if last.starts_with("data ") => last.push_str(&text),
                    _ => self.events.push(format!("data {text}")),
                }
            }
            Next::NeedData => {}
            other => self.events.push(format!("{other:?}")),
        }
        match next {
            Next::Event(Event::Interim(head)) => {
                assert!(outstanding > 0, "interim response with no request");
                assert!(!self.in_body, "interim response inside a body");
                assert!((100..200).contains(&head.status()) && head.status() != 101);
            }
            Next::Event(Event::Head(head)) => {
                assert!(outstanding > 0, "response head with no request");
                assert!(!self.in_body, "response head inside a body");
                assert!(head.status() >= 100);
                self.in_body = !self.conn.is_upgraded();
            }
            Next::Event(Event::Data(bytes)) => {
                assert!(!bytes.is_empty(), "empty data event");
                assert!(self.in_body, "body data outside a response");
            }
            Next::Event(Event::Trailers(trailers)) => {
                assert!(self.in_body, "trailers outside a response");
                for (name, _) in trailers {
                    assert!(!name.is_empty(), "empty trailer name");
                }
            }
            Next::Event(Event::End) => {
                assert!(self.in_body, "end outside a response");
                assert_eq!(self.conn.outstanding() + 1, outstanding, "end did not pop");
                self.in_body = false;
            }
            Next::NeedData => self.feed(),
            Next::Closed => {
                assert!(!self.in_body, "closed inside a body");
                assert_eq!(
                    self.conn.next_event(),
                    Ok(Next::Closed),
                    "closed is not final"
                );
                assert!(self.conn.is_closed() && !self.conn.keep_alive());
                return Step::Stop;
            }
            Next::Upgraded => {
                assert!(self.conn.is_upgraded(), "upgraded event without an upgrade");
                let mut out = Vec::new();
                let get = get();
                assert_eq!(
                    self.conn.send_head(&get, &mut out),
                    Err(RequestError::Closed)
                );
                let conn = std::mem::replace(&mut self.conn, Connection::new(Config::default()));
                let parts = conn.into_parts();
                assert!(parts.buffered.len() <= self.input.len());
                return Step::Stop;
            }
        }
        Step::Go
    }

    fn on_error(&mut self, e: ResponseError) -> Step {
        assert!(!e.to_string().is_empty());
        assert_eq!(self.conn.next_event(), Err(e), "error not sticky");
        assert_eq!(self.conn.error(), Some(e));
        assert!(!self.conn.keep_alive(), "keep-alive after an error");
        assert!(self.conn.is_closed(), "not closed after an error");
        self.conn
            .receive(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        self.conn.receive_eof();
        assert_eq!(
            self.conn.next_event(),
            Err(e),
            "error not sticky after more input"
        );
        let mut out = Vec::new();
        assert_eq!(
            self.conn.send_head(&get(), &mut out),
            Err(RequestError::Poisoned)
        );
        assert_eq!(
            self.conn.send_data(b"x", &mut out),
            Err(RequestError::Poisoned)
        );
        assert!(out.is_empty(), "bytes written after an error");
        Step::Stop
    }

    fn feed(&mut self) {
        // Sometimes pipeline another request before reading on.
        if self.pipeline_midway
            && self.rng.below(4) == 0
            && self.conn.is_ready()
            && self.conn.outstanding() < 8
        {
            self.send_request();
        }
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

    /// Send one request from a small menu, with its whole body, if the send side is ready.
    fn send_request(&mut self) {
        if !self.conn.is_ready() {
            return;
        }
        let mut req = match self.rng.below(8) {
            0 => Request::new("HEAD", "/"),
            1 => Request::new("CONNECT", "example.com:443"),
            2 => {
                let mut r = Request::new("GET", "/chat");
                r.header("Connection", "upgrade")
                    .header("Upgrade", "websocket");
                r
            }
            3 => {
                let mut r = Request::new("POST", "/up");
                r.header("Expect", "100-continue").content_length(Some(5));
                r
            }
            4 => {
                let mut r = Request::new("PUT", "/s");
                r.content_length(None);
                r
            }
            5 => {
                let mut r = Request::new("GET", "/old");
                r.set_version(h1_core::Version::Http10);
                r
            }
            6 => {
                let mut r = Request::new("GET", "/last");
                r.header("Connection", "close");
                r
            }
            _ => Request::new("GET", "/"),
        };
        req.header("Host", "example.com");
        let start = self.out.len();
        let before = self.conn.outstanding();
        self.conn.send_head(&req, &mut self.out).expect("send_head");
        assert_eq!(self.conn.outstanding(), before + 1);
        check_request(&self.out[start..], req.method());
        if req.length() != Some(0) {
            self.conn
                .send_data(b"hello", &mut self.out)
                .expect("send_data");
        }
        self.conn.send_end(None, &mut self.out).expect("send_end");
    }
}

fn get() -> Request {
    let mut r = Request::new("GET", "/");
    r.header("Host", "a");
    r
}

/// `bytes` must start with a complete request head for `method`.
fn check_request(bytes: &[u8], method: &str) {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => assert_eq!(req.method, Some(method)),
        other => panic!(
            "request head does not parse ({other:?}): {:?}",
            String::from_utf8_lossy(bytes)
        ),
    }
}
