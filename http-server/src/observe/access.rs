//! The access log: one line per request at info level (target `h1_server::access`), in
//! the [`AccessLogFormat`] the configuration chose. Text the client sent is escaped.

use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::time::Duration;

use h1_core::{HttpDate, RequestHead};

/// The format of the access log's lines ([`ServerConfig::access_log_format`]).
///
/// [`ServerConfig::access_log_format`]: crate::ServerConfig::access_log_format
///
/// ```
/// use h1_server::{AccessLogFormat, ServerConfig};
///
/// let mut config = ServerConfig::new();
/// config.access_log_format(AccessLogFormat::Combined);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AccessLogFormat {
    /// `127.0.0.1 GET /path 200 14 1.2ms`: peer, method, target, status, body bytes and
    /// duration (the default).
    #[default]
    Short,
    /// The Common Log Format of NCSA and Apache:
    /// `127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /path HTTP/1.1" 200 14`
    /// (`-` for a body of no bytes).
    Common,
    /// The Combined Log Format: Common with the quoted `Referer` and `User-Agent`.
    Combined,
}

/// What the access log needs of a request, taken before the handler gets it.
pub(crate) struct LogLine {
    method: String,
    target: String,
    version: &'static str,
    referer: Option<String>,
    user_agent: Option<String>,
}

impl LogLine {
    pub(crate) fn new(head: &RequestHead, format: AccessLogFormat) -> Self {
        let combined = format == AccessLogFormat::Combined;
        let field = |name| {
            combined
                .then(|| head.headers().get(name))
                .flatten()
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        Self {
            method: head.method().to_owned(),
            target: head.target().to_owned(),
            version: head.version().as_str(),
            referer: field("referer"),
            user_agent: field("user-agent"),
        }
    }

    /// Write the line (at info level, target `h1_server::access`).
    pub(crate) fn write(&self, format: AccessLogFormat, entry: &Entry) {
        log::info!(target: "h1_server::access", "{}", Formatted { line: self, format, entry });
    }
}

/// What the response gave the line.
pub(crate) struct Entry {
    pub(crate) peer: IpAddr,
    pub(crate) status: u16,
    pub(crate) bytes: u64,
    pub(crate) duration: Duration,
    /// Seconds since the Unix epoch, for Common and Combined.
    pub(crate) unix_secs: u64,
}

/// A line, formatted when the logger writes it.
pub(crate) struct Formatted<'a> {
    pub(crate) line: &'a LogLine,
    pub(crate) format: AccessLogFormat,
    pub(crate) entry: &'a Entry,
}

impl fmt::Display for Formatted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (line, e) = (self.line, self.entry);
        match self.format {
            AccessLogFormat::Short => write!(
                f,
                "{} {} {} {} {} {:?}",
                e.peer,
                Escaped(&line.method),
                Escaped(&line.target),
                e.status,
                e.bytes,
                e.duration
            ),
            AccessLogFormat::Common | AccessLogFormat::Combined => {
                write!(
                    f,
                    "{} - - [{}] \"{} {} {}\" {} ",
                    e.peer,
                    ClfDate(e.unix_secs),
                    Escaped(&line.method),
                    Escaped(&line.target),
                    line.version,
                    e.status
                )?;
                match e.bytes {
                    0 => f.write_char('-')?,
                    n => write!(f, "{n}")?,
                }
                if self.format == AccessLogFormat::Combined {
                    fn field(v: &Option<String>) -> &str {
                        v.as_deref().unwrap_or("-")
                    }
                    write!(
                        f,
                        " \"{}\" \"{}\"",
                        Escaped(field(&line.referer)),
                        Escaped(field(&line.user_agent))
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// A date as the Common Log Format writes it: `10/Oct/2000:13:55:36 +0000` (UTC).
struct ClfDate(u64);

impl fmt::Display for ClfDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // From `Sun, 06 Nov 1994 08:49:37 GMT` (always ASCII, fixed positions).
        let date = HttpDate::from_unix_secs(self.0);
        let d = date.as_str();
        write!(
            f,
            "{}/{}/{}:{} +0000",
            &d[5..7],
            &d[8..11],
            &d[12..16],
            &d[17..25]
        )
    }
}

/// Client-supplied text in a log line: `"` and `\` escaped with a backslash, control
/// bytes and bytes past ASCII as `\xHH` (as nginx does), so a line cannot be split or
/// forged.
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0.as_bytes();
        // Runs of plain ASCII bytes are written as they are (always valid UTF-8).
        fn plain(run: &[u8]) -> &str {
            std::str::from_utf8(run).unwrap_or_default()
        }
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
                continue;
            }
            if start < i {
                f.write_str(plain(&bytes[start..i]))?;
            }
            match b {
                b'"' => f.write_str("\\\"")?,
                b'\\' => f.write_str("\\\\")?,
                _ => write!(f, "\\x{b:02X}")?,
            }
            start = i + 1;
        }
        f.write_str(plain(&bytes[start..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &[u8]) -> RequestHead {
        let mut conn = h1_core::Connection::new(h1_core::Config::default());
        conn.receive(raw);
        match conn.next_event() {
            Ok(h1_core::Next::Event(h1_core::Event::Head(_))) => conn.take_head(),
            other => panic!("{other:?}"),
        }
    }

    fn entry(bytes: u64) -> Entry {
        Entry {
            peer: "192.0.2.7".parse().unwrap(),
            status: 200,
            bytes,
            duration: Duration::from_micros(1500),
            // 2000-10-10T13:55:36Z
            unix_secs: 971_186_136,
        }
    }

    fn line(raw: &[u8], format: AccessLogFormat, bytes: u64) -> String {
        let l = LogLine::new(&head(raw), format);
        Formatted {
            line: &l,
            format,
            entry: &entry(bytes),
        }
        .to_string()
    }

    const REQ: &[u8] =
        b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nReferer: http://x/\r\nUser-Agent: curl/8 \"q\"\r\n\r\n";

    #[test]
    fn short_is_the_old_line() {
        assert_eq!(
            line(REQ, AccessLogFormat::Short, 14),
            "192.0.2.7 GET /a?b=c 200 14 1.5ms"
        );
    }

    #[test]
    fn common_log_format() {
        assert_eq!(
            line(REQ, AccessLogFormat::Common, 14),
            r#"192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] "GET /a?b=c HTTP/1.1" 200 14"#
        );
        assert_eq!(
            line(b"HEAD / HTTP/1.0\r\n\r\n", AccessLogFormat::Common, 0),
            r#"192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] "HEAD / HTTP/1.0" 200 -"#
        );
    }

    #[test]
    fn combined_log_format_escapes_quotes() {
        assert_eq!(
            line(REQ, AccessLogFormat::Combined, 14),
            r#"192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] "GET /a?b=c HTTP/1.1" 200 14 "http://x/" "curl/8 \"q\"""#
        );
        assert_eq!(
            line(
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                AccessLogFormat::Combined,
                0
            ),
            r#"192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 - "-" "-""#
        );
    }

    #[test]
    fn escapes_control_bytes_backslashes_and_non_ascii() {
        assert_eq!(Escaped("a\"b\\c").to_string(), r#"a\"b\\c"#);
        assert_eq!(Escaped("x\ny\tz\u{7f}").to_string(), r"x\x0Ay\x09z\x7F");
        assert_eq!(Escaped("é").to_string(), r"\xC3\xA9");
        assert_eq!(Escaped("plain").to_string(), "plain");
    }
}
