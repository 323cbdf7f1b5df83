//! Sans-IO `multipart/form-data` parsing (RFC 7578, RFC 2046 §5.1): bytes in, events out.
//!
//! The delimiter is searched with a precomputed [`memchr::memmem::Finder`] over new bytes
//! only; at most `delimiter length - 1` bytes are kept back between inputs (they might be
//! the start of a delimiter), so every byte is examined a bounded number of times whatever
//! the split.

mod error;
mod limits;
mod part;

use memchr::memmem::Finder;

pub use error::MultipartError;
pub use limits::MultipartLimits;
pub use part::{MultipartEvent, PartHead};
use part::{parse_part_head, split_params, unquote};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter.
    Preamble,
    /// Right after a delimiter: `--` (close) or padding then CRLF.
    AfterDelimiter,
    /// Reading a part's header section.
    Headers,
    /// Reading part content.
    Data,
    /// A part's content ended at a delimiter; emit PartEnd next.
    PartEnd,
    /// After the close delimiter: epilogue, ignored.
    Done,
}

/// A `multipart/form-data` parser.
///
/// ```
/// use h1_core::{Multipart, MultipartEvent, MultipartLimits};
///
/// let mut mp = Multipart::new("XyZ", MultipartLimits::default()).unwrap();
/// mp.receive(b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--XyZ--\r\n");
/// let MultipartEvent::PartBegin(head) = mp.next_event().unwrap() else { panic!() };
/// assert_eq!(head.name(), "a");
/// assert_eq!(mp.next_event().unwrap(), MultipartEvent::Data(b"hello"));
/// assert_eq!(mp.next_event().unwrap(), MultipartEvent::PartEnd);
/// assert_eq!(mp.next_event().unwrap(), MultipartEvent::End);
/// ```
#[derive(Debug)]
pub struct Multipart {
    /// `\r\n--boundary`.
    delimiter: Vec<u8>,
    finder: Finder<'static>,
    limits: MultipartLimits,
    state: State,
    buf: Vec<u8>,
    start: usize,
    eof: bool,
    parts: usize,
    part: PartHead,
    part_bytes: u64,
    preamble_seen: usize,
    /// Bytes of the current header section already searched for its end, so a section
    /// fed one byte at a time is searched once, not once per byte.
    header_scanned: usize,
    error: Option<MultipartError>,
}

impl Multipart {
    /// A parser for `boundary` (the Content-Type's `boundary` parameter).
    ///
    /// # Errors
    ///
    /// [`MultipartError::BadBoundary`] for an empty boundary, one over 70 bytes, or with
    /// bytes outside RFC 2046 §5.1.1's `bchars`.
    pub fn new(boundary: &str, limits: MultipartLimits) -> Result<Self, MultipartError> {
        let b = boundary.as_bytes();
        let bchar = |c: u8| c.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&c);
        if b.is_empty() || b.len() > 70 || !b.iter().all(|&c| bchar(c)) || b.ends_with(b" ") {
            return Err(MultipartError::BadBoundary);
        }
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(b);
        let finder = Finder::new(&delimiter).into_owned();
        // The body starts at a line start: a virtual CRLF lets the first delimiter match
        // like every later one.
        let buf = b"\r\n".to_vec();
        Ok(Self {
            delimiter,
            finder,
            limits,
            state: State::Preamble,
            buf,
            start: 0,
            eof: false,
            parts: 0,
            part: PartHead::default(),
            part_bytes: 0,
            preamble_seen: 0,
            header_scanned: 0,
            error: None,
        })
    }

    /// The boundary parameter of a `multipart/form-data` Content-Type value, unquoted.
    ///
    /// ```
    /// let ct = b"multipart/form-data; boundary=\"a b\"";
    /// assert_eq!(h1_core::Multipart::boundary_from_content_type(ct).as_deref(), Some("a b"));
    /// ```
    pub fn boundary_from_content_type(content_type: &[u8]) -> Option<String> {
        let text = std::str::from_utf8(content_type).ok()?;
        let mut params = split_params(text);
        let mime = params.next()?.trim();
        if !mime.eq_ignore_ascii_case("multipart/form-data") {
            return None;
        }
        params.find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("boundary")
                .then(|| unquote(v.trim()))
        })
    }

    /// Append received body bytes.
    pub fn receive(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 4096 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The fast path for part content, without a copy: when the parser is in a part's
    /// content with nothing held back, how many leading bytes of `input` are content for
    /// sure (before a delimiter, or what could start one). They count as handed out: use
    /// `input[..n]` as the part's next content, then pass `input[n..]` to
    /// [`receive`](Self::receive). 0 when the fast path does not apply (then pass all of
    /// `input` to `receive`); the events are the same either way.
    ///
    /// ```
    /// use h1_core::{Multipart, MultipartEvent, MultipartLimits};
    ///
    /// let mut mp = Multipart::new("XyZ", MultipartLimits::default()).unwrap();
    /// mp.receive(b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n");
    /// assert!(matches!(mp.next_event().unwrap(), MultipartEvent::PartBegin(_)));
    /// assert_eq!(mp.next_event().unwrap(), MultipartEvent::NeedData);
    /// let input = b"content\r\n--XyZ--\r\n";
    /// let n = mp.take_content(input);
    /// assert_eq!(&input[..n], b"content");
    /// mp.receive(&input[n..]);
    /// assert_eq!(mp.next_event().unwrap(), MultipartEvent::PartEnd);
    /// assert_eq!(mp.next_event().unwrap(), MultipartEvent::End);
    /// ```
    pub fn take_content(&mut self, input: &[u8]) -> usize {
        if self.error.is_some()
            || self.state != State::Data
            || self.eof
            || self.start < self.buf.len()
        {
            return 0;
        }
        let n = match self.finder.find(input) {
            Some(i) => i,
            None => input.len() - partial_suffix(input, &self.delimiter),
        };
        let part_bytes = self.part_bytes + n as u64;
        if !self.part.is_file() && part_bytes > self.limits.field_bytes {
            // The usual path reports the limit.
            return 0;
        }
        self.part_bytes = part_bytes;
        self.buf.clear();
        self.start = 0;
        n
    }

    /// The body ended.
    pub fn receive_eof(&mut self) {
        self.eof = true;
    }

    /// The next event.
    ///
    /// # Errors
    ///
    /// A [`MultipartError`]; after one, every later call returns it again.
    pub fn next_event(&mut self) -> Result<MultipartEvent<'_>, MultipartError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match self.step() {
            Ok(Step::Begin) => Ok(MultipartEvent::PartBegin(&self.part)),
            Ok(Step::Data(a, b)) => Ok(MultipartEvent::Data(&self.buf[a..b])),
            Ok(Step::PartEnd) => Ok(MultipartEvent::PartEnd),
            Ok(Step::End) => Ok(MultipartEvent::End),
            Ok(Step::NeedData) => Ok(MultipartEvent::NeedData),
            Err(e) => {
                self.error = Some(e);
                Err(e)
            }
        }
    }

    fn step(&mut self) -> Result<Step, MultipartError> {
        loop {
            let avail = &self.buf[self.start..];
            match self.state {
                State::Preamble => match self.finder.find(avail) {
                    Some(i) => {
                        // The same limit whatever the split: a long preamble fails even
                        // when its delimiter arrived with it.
                        if self.preamble_seen + i > self.limits.preamble_bytes {
                            return Err(MultipartError::BadDelimiter);
                        }
                        self.start += i + self.delimiter.len();
                        self.state = State::AfterDelimiter;
                    }
                    None => {
                        let keep = avail.len().min(self.delimiter.len() - 1);
                        let skip = avail.len() - keep;
                        self.preamble_seen += skip;
                        self.start += skip;
                        if self.preamble_seen > self.limits.preamble_bytes {
                            return Err(MultipartError::BadDelimiter);
                        }
                        return self.need_data();
                    }
                },
                State::AfterDelimiter => {
                    // "--" closes; otherwise optional LWSP padding then CRLF (RFC 2046 §5.1.1).
                    if avail.starts_with(b"--") {
                        self.start += 2;
                        self.state = State::Done;
                        return Ok(Step::End);
                    }
                    let pad = avail
                        .iter()
                        .take_while(|&&b| b == b' ' || b == b'\t')
                        .count();
                    if pad > 64 {
                        return Err(MultipartError::BadDelimiter);
                    }
                    match &avail[pad..] {
                        [b'\r', b'\n', ..] => {
                            self.start += pad + 2;
                            self.parts += 1;
                            if self.parts > self.limits.parts {
                                return Err(MultipartError::TooManyParts);
                            }
                            self.state = State::Headers;
                            self.header_scanned = 0;
                        }
                        [] | [b'\r'] => return self.need_data(),
                        [b'-'] if pad == 0 => return self.need_data(),
                        _ => return Err(MultipartError::BadDelimiter),
                    }
                }
                State::Headers => {
                    // An empty header section is just CRLF.
                    // Resume the search where the last one stopped (less 3 bytes: the
                    // terminator may straddle the old end), so each byte is searched once.
                    let from = self.header_scanned.saturating_sub(3);
                    let end = if avail.starts_with(b"\r\n") {
                        Some(2)
                    } else {
                        memchr::memmem::find(&avail[from..], b"\r\n\r\n").map(|i| from + i + 4)
                    };
                    let Some(end) = end else {
                        if avail.len() > self.limits.header_bytes {
                            return Err(MultipartError::HeaderTooLarge);
                        }
                        self.header_scanned = avail.len();
                        return self.need_data();
                    };
                    if end > self.limits.header_bytes {
                        return Err(MultipartError::HeaderTooLarge);
                    }
                    let raw = &self.buf[self.start..self.start + end];
                    parse_part_head(raw, &self.limits, &mut self.part)?;
                    self.start += end;
                    self.part_bytes = 0;
                    self.state = State::Data;
                    return Ok(Step::Begin);
                }
                State::Data => {
                    let (data_end, found) = match self.finder.find(avail) {
                        Some(i) => (i, true),
                        None => {
                            // Keep back what could start a delimiter.
                            let keep = partial_suffix(avail, &self.delimiter);
                            (avail.len() - keep, false)
                        }
                    };
                    if data_end > 0 {
                        self.part_bytes += data_end as u64;
                        if !self.part.is_file() && self.part_bytes > self.limits.field_bytes {
                            return Err(MultipartError::FieldTooLarge);
                        }
                        let a = self.start;
                        self.start += data_end;
                        return Ok(Step::Data(a, a + data_end));
                    }
                    if found {
                        self.start += self.delimiter.len();
                        self.state = State::PartEnd;
                        continue;
                    }
                    return self.need_data();
                }
                State::PartEnd => {
                    self.state = State::AfterDelimiter;
                    return Ok(Step::PartEnd);
                }
                State::Done => {
                    // The epilogue is ignored (RFC 2046 §5.1.1).
                    self.start = self.buf.len();
                    return Ok(Step::End);
                }
            }
        }
    }

    fn need_data(&self) -> Result<Step, MultipartError> {
        if self.eof {
            Err(MultipartError::UnexpectedEof)
        } else {
            Ok(Step::NeedData)
        }
    }
}

enum Step {
    Begin,
    Data(usize, usize),
    PartEnd,
    End,
    NeedData,
}

/// Length of the longest suffix of `hay` that is a proper prefix of `needle`.
fn partial_suffix(hay: &[u8], needle: &[u8]) -> usize {
    let max = hay.len().min(needle.len() - 1);
    // Candidates start at a CR (the delimiter starts with CR): few, found by memrchr.
    let tail_start = hay.len() - max;
    let tail = &hay[tail_start..];
    for i in memchr::memchr_iter(b'\r', tail) {
        let cand = &tail[i..];
        if needle.starts_with(cand) {
            return cand.len();
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(
        boundary: &str,
        input: &[u8],
        pieces: &[usize],
    ) -> Result<Vec<String>, MultipartError> {
        let mut mp = Multipart::new(boundary, MultipartLimits::default()).unwrap();
        let mut out: Vec<String> = Vec::new();
        let mut at = 0;
        let mut cuts: Vec<usize> = pieces.to_vec();
        cuts.push(input.len());
        for cut in cuts {
            mp.receive(&input[at..cut]);
            at = cut;
            if at == input.len() {
                mp.receive_eof();
            }
            loop {
                match mp.next_event()? {
                    MultipartEvent::PartBegin(h) => {
                        out.push(format!("begin {} {:?}", h.name(), h.filename()))
                    }
                    MultipartEvent::Data(d) => {
                        let d = String::from_utf8_lossy(d).into_owned();
                        match out.last_mut() {
                            Some(last) if last.starts_with("data ") => last.push_str(&d),
                            _ => out.push(format!("data {d}")),
                        }
                    }
                    MultipartEvent::PartEnd => out.push("end-part".into()),
                    MultipartEvent::End => {
                        out.push("end".into());
                        return Ok(out);
                    }
                    MultipartEvent::NeedData => break,
                }
            }
        }
        Ok(out)
    }

    const BODY: &[u8] =
        b"preamble\r\n--b0\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv1\r\n\
        --b0\r\nContent-Disposition: form-data; name=\"up\"; filename=\"a;b.txt\"\r\n\
        Content-Type: text/plain\r\n\r\nline\r\n--b\r\n-\r\n--\r\n--b0--\r\nepilogue";

    #[test]
    fn parses_fields_and_files_at_every_split() {
        let whole = events("b0", BODY, &[]).unwrap();
        assert_eq!(
            whole,
            [
                "begin f None",
                "data v1",
                "end-part",
                "begin up Some(\"a;b.txt\")",
                "data line\r\n--b\r\n-\r\n--",
                "end-part",
                "end"
            ]
        );
        for i in 0..=BODY.len() {
            assert_eq!(events("b0", BODY, &[i]).unwrap(), whole, "split at {i}");
        }
        let bytes: Vec<usize> = (1..BODY.len()).collect();
        assert_eq!(events("b0", BODY, &bytes).unwrap(), whole);
    }

    /// Like [`events`], but every input goes through [`Multipart::take_content`] first.
    fn events_taken(boundary: &str, input: &[u8], pieces: &[usize]) -> Vec<String> {
        let mut mp = Multipart::new(boundary, MultipartLimits::default()).unwrap();
        let mut out: Vec<String> = Vec::new();
        let data = |out: &mut Vec<String>, d: &[u8]| {
            let d = String::from_utf8_lossy(d).into_owned();
            match out.last_mut() {
                Some(last) if last.starts_with("data ") => last.push_str(&d),
                _ => out.push(format!("data {d}")),
            }
        };
        let mut at = 0;
        let mut cuts: Vec<usize> = pieces.to_vec();
        cuts.push(input.len());
        for cut in cuts {
            let piece = &input[at..cut];
            at = cut;
            let n = mp.take_content(piece);
            if n > 0 {
                data(&mut out, &piece[..n]);
            }
            mp.receive(&piece[n..]);
            if at == input.len() {
                mp.receive_eof();
            }
            loop {
                match mp.next_event().unwrap() {
                    MultipartEvent::PartBegin(h) => {
                        out.push(format!("begin {} {:?}", h.name(), h.filename()))
                    }
                    MultipartEvent::Data(d) => data(&mut out, d),
                    MultipartEvent::PartEnd => out.push("end-part".into()),
                    MultipartEvent::End => {
                        out.push("end".into());
                        return out;
                    }
                    MultipartEvent::NeedData => break,
                }
            }
        }
        out
    }

    #[test]
    fn take_content_gives_the_same_parts_at_every_split() {
        let whole = events("b0", BODY, &[]).unwrap();
        assert_eq!(events_taken("b0", BODY, &[]), whole);
        for i in 0..=BODY.len() {
            assert_eq!(events_taken("b0", BODY, &[i]), whole, "split at {i}");
            for j in i..=BODY.len() {
                assert_eq!(
                    events_taken("b0", BODY, &[i, j]),
                    whole,
                    "split at {i}, {j}"
                );
            }
        }
        let bytes: Vec<usize> = (1..BODY.len()).collect();
        assert_eq!(events_taken("b0", BODY, &bytes), whole);
    }

    #[test]
    fn take_content_only_in_content_and_within_limits() {
        let mut mp = Multipart::new("b", MultipartLimits::default()).unwrap();
        // Before any part: nothing is content.
        assert_eq!(mp.take_content(b"--b\r\n"), 0);
        mp.receive(b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n");
        assert!(matches!(mp.next_event(), Ok(MultipartEvent::PartBegin(_))));
        // A field past its limit goes the usual way, which reports it.
        let big = vec![b'a'; 60_000];
        assert_eq!(mp.take_content(&big), 0);
        mp.receive(&big);
        assert_eq!(mp.next_event(), Err(MultipartError::FieldTooLarge));
        assert_eq!(mp.take_content(b"more"), 0);
    }

    #[test]
    fn limits_and_errors() {
        let big = [
            b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n".as_slice(),
            &[b'a'; 60_000],
            b"\r\n--b--",
        ]
        .concat();
        assert_eq!(events("b", &big, &[]), Err(MultipartError::FieldTooLarge));
        assert_eq!(MultipartError::FieldTooLarge.status(), 413);
        assert_eq!(
            events("b", b"--b\r\n\r\nx\r\n--b--", &[]),
            Err(MultipartError::MissingName)
        );
        assert_eq!(
            events(
                "b",
                b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx",
                &[]
            ),
            Err(MultipartError::UnexpectedEof)
        );
        assert_eq!(
            events("b", b"--bxyz", &[]),
            Err(MultipartError::BadDelimiter)
        );
        assert!(Multipart::new("", MultipartLimits::default()).is_err());
        assert!(Multipart::new(&"a".repeat(71), MultipartLimits::default()).is_err());
    }
}
