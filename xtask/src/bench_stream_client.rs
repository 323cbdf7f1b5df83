//! The `stream` suite's client, run as a child process (`__client`): one `GET` on a fresh
//! connection, its chunked body decoded as it arrives, throughput or per-record latency
//! printed for the parent.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::util::percentile;

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// `__client tput|lat ADDR TARGET SIZE` (ADDR first, as the parent passes it): one
/// `GET TARGET` on a fresh connection, its chunked body decoded to the end. Prints
/// `BYTES SECS` (payload bytes, seconds from the first body byte to the terminal chunk)
/// for `tput`, `N P50_NS P99_NS MAX_NS` (send-to-read latency of each SIZE-byte record,
/// whose first 8 bytes are the send time) for `lat`.
pub(crate) fn client_child(args: &[String]) -> Result<(), String> {
    let [addr, kind, target, size] = args else {
        return Err("usage: __client ADDR tput|lat TARGET SIZE".into());
    };
    let addr: SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("{addr}: loopback addresses only"));
    }
    let size: usize = size.parse().map_err(|e| format!("{size}: {e}"))?;
    let latency = match kind.as_str() {
        "tput" => false,
        "lat" => true,
        other => return Err(format!("unknown client kind {other:?}")),
    };
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    s.write_all(format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut head = Vec::new();
    let mut dec = Dechunk::new(latency.then_some(size));
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut first: Option<Instant> = None;
    loop {
        if Instant::now() >= deadline {
            return Err("response not finished after 120 s".into());
        }
        let n = s.read(&mut buf).map_err(|e| format!("read: {e}"))?;
        let now = Instant::now();
        let now_ns = if latency { now_nanos() } else { 0 };
        if n == 0 {
            return Err("connection closed before the terminal chunk".into());
        }
        let mut data = &buf[..n];
        if !dec.in_body {
            head.extend_from_slice(data);
            let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                if head.len() > 64 * 1024 {
                    return Err("response head over 64 KiB".into());
                }
                continue;
            };
            let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
            if !text.starts_with("http/1.1 200") {
                return Err(format!("not a 200 response: {:?}", text.lines().next()));
            }
            if !text.contains("transfer-encoding: chunked") {
                return Err(format!("response not chunked:\n{text}"));
            }
            dec.in_body = true;
            let body_at = end + 4 - (head.len() - n);
            data = &buf[body_at..n];
        }
        let before = dec.payload;
        dec.feed(data, now_ns)?;
        if first.is_none() && dec.payload > before {
            first = Some(now);
        }
        if dec.done {
            break;
        }
    }
    let end = Instant::now();
    if latency {
        let mut l = dec.latencies;
        l.sort_unstable();
        println!(
            "{} {} {} {}",
            l.len(),
            percentile(&l, 0.5).unwrap_or(0),
            percentile(&l, 0.99).unwrap_or(0),
            l.last().copied().unwrap_or(0)
        );
    } else {
        let secs = first.map_or(0.0, |f| (end - f).as_secs_f64());
        println!("{} {secs}", dec.payload);
    }
    Ok(())
}

/// Chunked-body decoder (RFC 9112 §7.1) that counts payload bytes and, with a record
/// size, timestamps every record of the payload stream.
#[derive(Debug)]
pub(crate) struct Dechunk {
    in_body: bool,
    state: State,
    size: u64,
    payload: u64,
    done: bool,
    record: Option<usize>,
    /// Bytes of the current record seen so far, and its first 8 bytes.
    rec_fill: usize,
    rec_head: [u8; 8],
    latencies: Vec<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    Ext,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    /// In a trailer line (or at the start of one when the count is 0).
    Trailer(usize),
    TrailerLf(usize),
}

impl Dechunk {
    fn new(record: Option<usize>) -> Self {
        Self {
            in_body: false,
            state: State::Size,
            size: 0,
            payload: 0,
            done: false,
            record,
            rec_fill: 0,
            rec_head: [0; 8],
            latencies: Vec::new(),
        }
    }

    fn feed(&mut self, mut data: &[u8], now_ns: u64) -> Result<(), String> {
        while !data.is_empty() {
            if self.done {
                return Err("bytes after the end of the body".into());
            }
            if self.state == State::Data {
                let n = (self.size as usize).min(data.len());
                self.records(&data[..n], now_ns);
                self.payload += n as u64;
                self.size -= n as u64;
                data = &data[n..];
                if self.size == 0 {
                    self.state = State::DataCr;
                }
                continue;
            }
            let b = data[0];
            data = &data[1..];
            self.state = match (self.state, b) {
                (State::Size, b'\r') => State::SizeLf,
                (State::Size, b';' | b' ' | b'\t') => State::Ext,
                (State::Size, b) => {
                    let d = (b as char)
                        .to_digit(16)
                        .ok_or_else(|| format!("bad chunk size byte {b:#04x}"))?;
                    self.size =
                        self.size.checked_mul(16).ok_or("chunk size overflow")? + u64::from(d);
                    State::Size
                }
                (State::Ext, b'\r') => State::SizeLf,
                (State::Ext, _) => State::Ext,
                (State::SizeLf, b'\n') if self.size == 0 => State::Trailer(0),
                (State::SizeLf, b'\n') => State::Data,
                (State::DataCr, b'\r') => State::DataLf,
                (State::DataLf, b'\n') => State::Size,
                (State::Trailer(n), b'\r') => State::TrailerLf(n),
                (State::Trailer(n), _) => State::Trailer(n + 1),
                (State::TrailerLf(0), b'\n') => {
                    self.done = true;
                    State::Trailer(0)
                }
                (State::TrailerLf(_), b'\n') => State::Trailer(0),
                (s, b) => return Err(format!("bad chunked framing: {b:#04x} in {s:?}")),
            };
        }
        Ok(())
    }

    /// Cuts the payload into records; each completed one yields `now - its timestamp`.
    fn records(&mut self, mut data: &[u8], now_ns: u64) {
        let Some(rec) = self.record else { return };
        while !data.is_empty() {
            if self.rec_fill < 8 {
                let n = (8 - self.rec_fill).min(data.len());
                self.rec_head[self.rec_fill..self.rec_fill + n].copy_from_slice(&data[..n]);
                self.rec_fill += n;
                data = &data[n..];
            } else {
                let n = (rec - self.rec_fill).min(data.len());
                self.rec_fill += n;
                data = &data[n..];
            }
            if self.rec_fill == rec {
                let sent = u64::from_le_bytes(self.rec_head);
                self.latencies.push(now_ns.saturating_sub(sent));
                self.rec_fill = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_chunked_bytewise_and_whole() {
        let body = b"4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nX-T: 1\r\n\r\n";
        let mut whole = Dechunk::new(None);
        whole.feed(body, 0).unwrap();
        assert!(whole.done);
        assert_eq!(whole.payload, 7);
        let mut bytewise = Dechunk::new(None);
        for b in body {
            assert!(!bytewise.done);
            bytewise.feed(&[*b], 0).unwrap();
        }
        assert!(bytewise.done);
        assert_eq!(bytewise.payload, 7);
    }

    #[test]
    fn rejects_bad_framing() {
        assert!(Dechunk::new(None).feed(b"zz\r\n", 0).is_err());
        assert!(Dechunk::new(None).feed(b"1\r\nab\r\n", 0).is_err());
        let mut d = Dechunk::new(None);
        d.feed(b"0\r\n\r\n", 0).unwrap();
        assert!(d.feed(b"x", 0).is_err());
    }

    #[test]
    fn timestamps_records_across_chunks() {
        // Two 10-byte records split over chunks of 3, 12 and 5 bytes.
        let mut payload = Vec::new();
        for t in [100u64, 250] {
            payload.extend_from_slice(&t.to_le_bytes());
            payload.extend_from_slice(b"xx");
        }
        let mut body = Vec::new();
        for part in [&payload[..3], &payload[3..15], &payload[15..]] {
            body.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            body.extend_from_slice(part);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"0\r\n\r\n");
        let mut d = Dechunk::new(Some(10));
        d.feed(&body, 1000).unwrap();
        assert!(d.done);
        assert_eq!(d.latencies, vec![900, 750]);
    }
}
