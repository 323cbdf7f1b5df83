//! Client-controlled text in log messages: escaped and bounded.

use std::fmt;

/// At most this many bytes of client text go into a log line.
pub(crate) const LOG_MAX: usize = 128;

/// Shows client-controlled bytes safely in a log line: printable ASCII as is (`\` and `"`
/// escaped), every other byte (control characters, line breaks, escape sequences,
/// non-ASCII) as `\xNN`, and at most [`LOG_MAX`] bytes of it, the rest counted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Escaped<'a>(pub(crate) &'a [u8]);

impl<'a> Escaped<'a> {
    /// Escape `text`.
    pub(crate) fn str(text: &'a str) -> Self {
        Self(text.as_bytes())
    }
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        f.write_char('"')?;
        for &b in self.0.iter().take(LOG_MAX) {
            match b {
                b'\\' => f.write_str("\\\\")?,
                b'"' => f.write_str("\\\"")?,
                0x20..=0x7e => f.write_char(b as char)?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        f.write_char('"')?;
        if self.0.len() > LOG_MAX {
            write!(f, "... ({} more bytes)", self.0.len() - LOG_MAX)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_non_ascii_bytes_are_escaped() {
        let shown = Escaped::str("/a\r\nb\x1b[31m\"\\é").to_string();
        assert_eq!(shown, r#""/a\x0d\x0ab\x1b[31m\"\\\xc3\xa9""#);
        assert!(shown.bytes().all(|b| (0x20..0x7f).contains(&b)));
    }

    #[test]
    fn long_text_is_cut() {
        let long = "x".repeat(10_000);
        let shown = Escaped::str(&long).to_string();
        assert!(shown.len() < LOG_MAX + 40, "{}", shown.len());
        assert!(shown.ends_with("... (9872 more bytes)"), "{shown}");
        // Escapes cost at most 4 bytes per input byte: the line stays bounded.
        let nasty = "\n".repeat(10_000);
        assert!(Escaped::str(&nasty).to_string().len() <= 4 * LOG_MAX + 40);
    }
}
