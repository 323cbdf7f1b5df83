//! Request body decoders: Content-Length and chunked (RFC 9112 §6.2, §7.1).

use crate::error::RecvError;
use crate::head::Headers;
use crate::limits::{Config, Limits};
use crate::parse::parse_whole_trailers;

/// One step of decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// `len` body bytes start at `start` (relative to the input slice).
    Data { start: usize, len: usize },
    /// The trailer section is complete in the decoder's trailer buffer.
    Trailers,
    /// The trailer section was whole in the input and is parsed into the trailers
    /// handed to [`Decoder::step`].
    TrailersParsed,
    /// The body is complete.
    End,
    /// All input consumed; more is needed.
    NeedData,
}

/// A request body decoder.
#[derive(Debug, Clone)]
pub(crate) enum Decoder {
    /// Content-Length: bytes still to come.
    Length(u64),
    /// Chunked transfer coding.
    Chunked(Chunked),
}

impl Decoder {
    /// Decode from `input`; returns bytes consumed and what they were. With `trailers`,
    /// a trailer section that is whole in `input` may be parsed straight into them
    /// ([`Step::TrailersParsed`]); otherwise it is gathered in `trailer_raw`
    /// ([`Step::Trailers`]) for the caller to parse.
    #[inline]
    pub(crate) fn step(
        &mut self,
        input: &[u8],
        config: &Config,
        trailer_raw: &mut Vec<u8>,
        trailers: Option<&mut Headers>,
    ) -> Result<(usize, Step), RecvError> {
        match self {
            Self::Length(0) => Ok((0, Step::End)),
            Self::Length(remaining) => {
                if input.is_empty() {
                    return Ok((0, Step::NeedData));
                }
                let n = (*remaining).min(input.len() as u64) as usize;
                *remaining -= n as u64;
                Ok((n, Step::Data { start: 0, len: n }))
            }
            Self::Chunked(c) => c.step(input, config, trailer_raw, trailers),
        }
    }

    /// Bytes the body still declares, if known.
    pub(crate) fn remaining(&self) -> Option<u64> {
        match self {
            Self::Length(n) => Some(*n),
            Self::Chunked(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading hex digits of the chunk size; `any` once at least one was read.
    Size {
        any: bool,
    },
    /// Whitespace after the size, before `;` or CR.
    SizeWs,
    /// Inside chunk extensions, ignored (RFC 9112 §7.1.1).
    Ext,
    /// Saw CR ending the chunk-size line.
    SizeLf,
    /// Chunk data: bytes left in this chunk.
    Data(u64),
    /// Expect CR after chunk data.
    DataCr,
    /// Expect LF after chunk data.
    DataLf,
    /// In the trailer section; `line_len` bytes on the current line so far.
    Trailer {
        line_len: usize,
    },
    Done,
}

/// Chunked decoder state (RFC 9112 §7.1).
#[derive(Debug, Clone)]
pub(crate) struct Chunked {
    state: State,
    size: u64,
    line_len: usize,
    received: u64,
    /// Chunk-extension bytes (from `;` to the line end) over the whole body.
    ext_bytes: usize,
}

impl Chunked {
    pub(crate) fn new() -> Self {
        Self {
            state: State::Size { any: false },
            size: 0,
            line_len: 0,
            received: 0,
            ext_bytes: 0,
        }
    }

    /// The usual steps straight through: chunk data, the CRLF after it and a whole
    /// chunk-size line, then the data that follows or a whole trailer section; anything
    /// else (a line or section split across inputs, whitespace, bare LFs, errors) goes
    /// on in [`Self::step_from`], from where this left off, with the same outcome.
    #[inline]
    fn step(
        &mut self,
        input: &[u8],
        config: &Config,
        trailer_raw: &mut Vec<u8>,
        trailers: Option<&mut Headers>,
    ) -> Result<(usize, Step), RecvError> {
        let limits = &config.limits;
        let at = match self.state {
            State::Data(left) if !input.is_empty() => {
                return self.data(input, 0, left, limits.body_bytes());
            }
            State::DataCr if input.starts_with(b"\r\n") => {
                self.state = self.next_line();
                2
            }
            State::Size { any: false } if self.line_len == 0 => 0,
            State::Done => return Ok((0, Step::End)),
            _ => return self.step_from(0, input, config, trailer_raw, trailers),
        };
        let ext_left = limits.chunk_ext_bytes.saturating_sub(self.ext_bytes);
        let Some((used, size, ext)) = plain_size_line(&input[at..], limits, ext_left) else {
            return self.step_from(at, input, config, trailer_raw, trailers);
        };
        self.ext_bytes += ext;
        self.size = size;
        self.state = self.after_size_line(trailer_raw);
        let i = at + used;
        match self.state {
            State::Data(left) if i < input.len() => self.data(input, i, left, limits.body_bytes()),
            State::Trailer { .. } => match self.whole_section(input, i, config, trailers) {
                Some(done) => done,
                // Tried once: the lines are gathered for the caller to parse.
                None => self.step_from(i, input, config, trailer_raw, None),
            },
            _ => self.step_from(i, input, config, trailer_raw, trailers),
        }
    }

    /// The start of the trailer section at `input[i]`: the usual sections, whole, at
    /// once, with the outcome the lines in [`Self::step_from`] would give. `None` for
    /// anything else (`trailers` were not touched then).
    #[inline]
    fn whole_section(
        &mut self,
        input: &[u8],
        i: usize,
        config: &Config,
        trailers: Option<&mut Headers>,
    ) -> Option<Result<(usize, Step), RecvError>> {
        let rest = &input[i..];
        if rest.starts_with(b"\r\n") {
            if config.limits.trailer_bytes < 2 {
                return Some(Err(RecvError::TrailersTooLarge));
            }
            self.state = State::Done;
            return Some(Ok((i + 2, Step::End)));
        }
        let len = parse_whole_trailers(rest, config, trailers?)?;
        self.state = State::Done;
        Some(Ok((i + len, Step::TrailersParsed)))
    }

    /// `left` bytes of chunk data declared, and some of `input` from `i` on.
    #[inline]
    fn data(
        &mut self,
        input: &[u8],
        i: usize,
        left: u64,
        limit: u64,
    ) -> Result<(usize, Step), RecvError> {
        // The chunk-size line declared `left` more bytes: refuse a chunk that would pass
        // the limit before handing out any of it, so the outcome does not depend on how
        // the chunk was split.
        if self.received.saturating_add(left) > limit {
            return Err(RecvError::BodyTooLarge);
        }
        let n = left.min((input.len() - i) as u64) as usize;
        self.received += n as u64;
        self.state = if left == n as u64 {
            State::DataCr
        } else {
            State::Data(left - n as u64)
        };
        Ok((i + n, Step::Data { start: i, len: n }))
    }

    /// The state machine, from `input[i]` on.
    #[inline(never)]
    fn step_from(
        &mut self,
        mut i: usize,
        input: &[u8],
        config: &Config,
        trailer_raw: &mut Vec<u8>,
        mut trailers: Option<&mut Headers>,
    ) -> Result<(usize, Step), RecvError> {
        let limits = &config.limits;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Data(left) => return self.data(input, i, left, limits.body_bytes()),
                State::DataCr => {
                    if input[i..].starts_with(b"\r\n") {
                        // The usual line end at hand: both bytes at once.
                        self.state = self.next_line();
                        i += 2;
                        continue;
                    }
                    self.state = match b {
                        b'\r' => State::DataLf,
                        b'\n' if config.allow_bare_lf => self.next_line(),
                        _ => return Err(RecvError::MissingChunkCrlf),
                    };
                }
                State::DataLf => {
                    if b != b'\n' {
                        return Err(RecvError::MissingChunkCrlf);
                    }
                    self.state = self.next_line();
                }
                State::Size { any } => {
                    if !any && self.line_len == 0 {
                        // A whole plain line at hand (the usual case) is read at once, with
                        // the outcome byte by byte would give; anything else goes on below.
                        let ext_left = limits.chunk_ext_bytes.saturating_sub(self.ext_bytes);
                        if let Some((used, size, ext)) =
                            plain_size_line(&input[i..], limits, ext_left)
                        {
                            self.ext_bytes += ext;
                            self.size = size;
                            self.state = self.after_size_line(trailer_raw);
                            i += used;
                            continue;
                        }
                    }
                    self.count_line_byte(limits.chunk_line_bytes)?;
                    if let Some(d) = hex(b) {
                        // RFC 9112 §7.1: chunk-size = 1*HEXDIG; refuse what u64 cannot hold.
                        self.size = self
                            .size
                            .checked_mul(16)
                            .and_then(|s| s.checked_add(u64::from(d)))
                            .ok_or(RecvError::ChunkSizeOverflow)?;
                        self.state = State::Size { any: true };
                    } else if !any {
                        return Err(RecvError::BadChunkLine);
                    } else {
                        self.state = match b {
                            b' ' | b'\t' => State::SizeWs,
                            b';' => self.start_ext(limits.chunk_ext_bytes)?,
                            b'\r' => State::SizeLf,
                            b'\n' if config.allow_bare_lf => self.after_size_line(trailer_raw),
                            _ => return Err(RecvError::BadChunkLine),
                        };
                    }
                }
                State::SizeWs => {
                    self.count_line_byte(limits.chunk_line_bytes)?;
                    self.state = match b {
                        b' ' | b'\t' => State::SizeWs,
                        b';' => self.start_ext(limits.chunk_ext_bytes)?,
                        // RFC 9112 §7.1: whitespace (BWS) may only come before a `;`
                        // extension; after a bare size it is refused unless allowed.
                        b'\r' | b'\n' if !config.allow_chunk_size_whitespace => {
                            return Err(RecvError::BadChunkLine);
                        }
                        b'\r' => State::SizeLf,
                        b'\n' if config.allow_bare_lf => self.after_size_line(trailer_raw),
                        _ => return Err(RecvError::BadChunkLine),
                    };
                }
                State::Ext => {
                    self.count_line_byte(limits.chunk_line_bytes)?;
                    self.state = match b {
                        b'\r' => State::SizeLf,
                        b'\n' if config.allow_bare_lf => self.after_size_line(trailer_raw),
                        b'\t' => self.start_ext(limits.chunk_ext_bytes)?,
                        0..=0x1f | 0x7f => return Err(RecvError::BadChunkLine),
                        _ => self.start_ext(limits.chunk_ext_bytes)?,
                    };
                }
                State::SizeLf => {
                    if b != b'\n' {
                        return Err(RecvError::BadChunkLine);
                    }
                    self.state = self.after_size_line(trailer_raw);
                }
                State::Trailer { mut line_len } => {
                    if line_len == 0 && trailer_raw.is_empty() {
                        if let Some(done) = self.whole_section(input, i, config, trailers.take()) {
                            return done;
                        }
                    }
                    let rest = &input[i..];
                    // Whole lines at once, up to and including their LF: the same verdicts,
                    // in the same order, as byte by byte (the limit is checked before each
                    // byte is kept, the line end once it is there).
                    let mut from = 0;
                    for lf in memchr::memchr_iter(b'\n', rest) {
                        if trailer_raw.len() + (lf + 1 - from) > limits.trailer_bytes {
                            return Err(RecvError::TrailersTooLarge);
                        }
                        trailer_raw.extend_from_slice(&rest[from..=lf]);
                        line_len += lf - from;
                        from = lf + 1;
                        let has_cr = line_len > 0 && trailer_raw[trailer_raw.len() - 2] == b'\r';
                        if !has_cr && !config.allow_bare_lf {
                            return Err(RecvError::BareLf);
                        }
                        if line_len == usize::from(has_cr) {
                            self.state = State::Done;
                            let step = if trailer_raw.len() <= 2 {
                                Step::End
                            } else {
                                Step::Trailers
                            };
                            return Ok((i + from, step));
                        }
                        line_len = 0;
                    }
                    // A partial line: keep it and wait for the rest.
                    let tail = rest.len() - from;
                    if trailer_raw.len() + tail > limits.trailer_bytes {
                        return Err(RecvError::TrailersTooLarge);
                    }
                    trailer_raw.extend_from_slice(&rest[from..]);
                    self.state = State::Trailer {
                        line_len: line_len + tail,
                    };
                    i = input.len();
                    continue;
                }
                State::Done => return Ok((i, Step::End)),
            }
            i += 1;
        }
        if self.state == State::Done {
            return Ok((i, Step::End));
        }
        Ok((i, Step::NeedData))
    }

    fn count_line_byte(&mut self, max: usize) -> Result<(), RecvError> {
        self.line_len += 1;
        if self.line_len > max {
            Err(RecvError::ChunkLineTooLong)
        } else {
            Ok(())
        }
    }

    /// One more byte of chunk extensions (RFC 9112 §7.1.1: from the `;` to the line end),
    /// counted against [`Limits::max_chunk_ext_bytes`](crate::Limits::max_chunk_ext_bytes)
    /// over the whole body.
    fn start_ext(&mut self, max: usize) -> Result<State, RecvError> {
        self.ext_bytes += 1;
        if self.ext_bytes > max {
            Err(RecvError::ChunkExtensionsTooLarge)
        } else {
            Ok(State::Ext)
        }
    }

    fn next_line(&mut self) -> State {
        self.size = 0;
        self.line_len = 0;
        State::Size { any: false }
    }

    fn after_size_line(&mut self, trailer_raw: &mut Vec<u8>) -> State {
        if self.size == 0 {
            trailer_raw.clear();
            State::Trailer { line_len: 0 }
        } else {
            State::Data(self.size)
        }
    }

    /// Whether the terminal chunk and trailers were read.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }
}

/// A whole chunk-size line at the start of `input`: hex digits, then either the CRLF or
/// extensions (`;` and bytes other than controls but HTAB) and the CRLF, within the line
/// limit and the extension budget left (`ext_left` bytes). Returns the line's length,
/// the size and the extension bytes. `None` for anything else (whitespace after the size,
/// a partial line, any error), which the byte-by-byte path then reads or refuses as it
/// comes, so the outcome is the same.
#[inline]
fn plain_size_line(input: &[u8], limits: &Limits, ext_left: usize) -> Option<(usize, u64, usize)> {
    let mut size: u64 = 0;
    let mut digits = 0;
    loop {
        let d = HEX_VALUE[usize::from(*input.get(digits)?)];
        if d > 15 {
            break;
        }
        // At most 16 digits, so the size cannot overflow.
        if digits == 16 {
            return None;
        }
        size = size << 4 | u64::from(d);
        digits += 1;
    }
    if digits == 0 {
        return None;
    }
    // The line's end: right after the digits, or after the extensions.
    let cr = match input[digits] {
        b'\r' => digits,
        b';' => {
            let mut end = digits + 1;
            while EXT_BYTE[usize::from(*input.get(end)?)] {
                end += 1;
            }
            if input[end] != b'\r' || end - digits > ext_left {
                return None;
            }
            end
        }
        _ => return None,
    };
    // The digits, the extensions and the CR count against the line limit.
    if input.get(cr + 1) != Some(&b'\n') || cr >= limits.chunk_line_bytes {
        return None;
    }
    Some((cr + 2, size, cr - digits))
}

/// Each byte's value as a hex digit; 16 and up for other bytes.
const HEX_VALUE: [u8; 256] = {
    let mut t = [0xff; 256];
    let mut i = 0;
    while i < 256 {
        if let Some(d) = hex(i as u8) {
            t[i] = d;
        }
        i += 1;
    }
    t
};

/// The bytes a chunk extension may hold after its `;` on the fast path: anything but
/// controls (HTAB is allowed) and DEL, so the scan stops at the CR.
const EXT_BYTE: [bool; 256] = {
    let mut t = [true; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = i == 0x09;
        i += 1;
    }
    t[0x7f] = false;
    t
};

const fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
