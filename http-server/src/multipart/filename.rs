//! Upload file names: the decoded name a client meant ([`decode_filename`]) and a name
//! that is safe to use as one path component ([`sanitize_filename`]).

use std::borrow::Cow;

use h1_core::PartHead;

/// The name [`sanitize_filename`] returns when nothing usable is left of the client's.
pub const FALLBACK_FILENAME: &str = "file";

/// The longest name [`sanitize_filename`] returns, in bytes (file systems allow 255).
pub const MAX_FILENAME_BYTES: usize = 200;

/// The file name of a part as its client meant it, or `None` for a field part.
///
/// - `filename*=UTF-8''na%C3%AFve.txt` (RFC 8187 extended notation, which RFC 7578
///   §4.2 asks senders not to use but some do) wins over `filename=` when it decodes
///   (UTF-8 or ISO-8859-1).
/// - Otherwise the `filename=` value, with the escapes browsers write into it decoded:
///   `%22` (`"`), `%0D` and `%0A` (the HTML form encoding). Any other `%XX` is kept
///   as sent: browsers send `100%25.txt` for a file named that way, so decoding every
///   escape would rename files.
///
/// The result may still hold anything (`../`, `\`, control characters): pass it through
/// [`sanitize_filename`] before it comes near a path.
pub(crate) fn decode_filename(head: &PartHead) -> Option<Cow<'_, str>> {
    let raw = head.filename()?;
    if let Some(extended) = head
        .headers()
        .get_str("content-disposition")
        .and_then(extended_filename)
    {
        return Some(Cow::Owned(extended));
    }
    if !raw.contains('%') {
        return Some(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let escape = rest.get(i..i + 3).unwrap_or("");
        let decoded = match escape.to_ascii_uppercase().as_str() {
            "%22" => Some('"'),
            "%0D" => Some('\r'),
            "%0A" => Some('\n'),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[i + 3..];
            }
            None => {
                out.push('%');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

/// A file name that is safe as one component of a save path, made from what a client
/// sent (decoded or raw).
///
/// - Only the last component is kept: anything up to a `/` or `\` goes (old browsers send
///   `C:\Users\me\cv.pdf`; a hostile client sends `../../etc/passwd`).
/// - Control characters and the characters Windows forbids (`<>:"|?*`) become `_`.
/// - Leading dots and spaces go (no hidden files, no `..`), and so do trailing dots and
///   spaces (Windows drops them).
/// - Windows device names (`CON`, `nul.txt`, `COM1`, ...) get a `_` in front.
/// - At most [`MAX_FILENAME_BYTES`] bytes, cut at a character boundary, keeping a short
///   extension.
/// - [`FALLBACK_FILENAME`] when nothing is left.
///
/// It does not make a name unique: two uploads can both be `report.pdf`.
///
/// # Examples
///
/// ```
/// use h1_server::multipart::sanitize_filename;
///
/// assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
/// assert_eq!(sanitize_filename(r"C:\Users\me\cv.pdf"), "cv.pdf");
/// assert_eq!(sanitize_filename(".bashrc"), "bashrc");
/// assert_eq!(sanitize_filename("a\0b\r\n.txt"), "a_b__.txt");
/// assert_eq!(sanitize_filename(".."), "file");
/// assert_eq!(sanitize_filename("naïve café.txt"), "naïve café.txt");
/// ```
pub fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    if trimmed.is_empty() {
        return FALLBACK_FILENAME.to_owned();
    }
    let mut out = if is_windows_device(trimmed) {
        format!("_{trimmed}")
    } else {
        trimmed.to_owned()
    };
    if out.len() > MAX_FILENAME_BYTES {
        out = shorten(&out);
    }
    out
}

/// `name` cut to [`MAX_FILENAME_BYTES`], keeping an extension of up to 16 bytes.
fn shorten(name: &str) -> String {
    let ext = match name.rfind('.') {
        Some(i) if i > 0 && name.len() - i <= 16 => &name[i..],
        _ => "",
    };
    let mut end = MAX_FILENAME_BYTES - ext.len();
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let stem = name[..end].trim_end_matches(['.', ' ']);
    if stem.is_empty() {
        return FALLBACK_FILENAME.to_owned();
    }
    format!("{stem}{ext}")
}

/// Whether `name` (without or with an extension) is a Windows device name.
fn is_windows_device(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    let upper = stem.to_ascii_uppercase();
    matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || ((upper.starts_with("COM") || upper.starts_with("LPT"))
        && upper.len() == 4
        && upper.as_bytes()[3].is_ascii_digit())
}

/// The decoded `filename*` parameter of a Content-Disposition value, if there is one and
/// it decodes: `charset'language'percent-encoded` (RFC 8187 §3.2).
fn extended_filename(disposition: &str) -> Option<String> {
    let value = split_params(disposition).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("filename*")
            .then_some(v.trim())
    })?;
    let mut fields = value.splitn(3, '\'');
    let (charset, _language, encoded) = (fields.next()?, fields.next()?, fields.next()?);
    let bytes = crate::percent_decode_strict(encoded.as_bytes())?;
    if charset.eq_ignore_ascii_case("utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case("iso-8859-1") {
        Some(bytes.into_iter().map(char::from).collect())
    } else {
        None
    }
}

/// Split `a; b="x;y"; c` at the semicolons outside quotes.
fn split_params(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        let (mut quoted, mut escaped) = (false, false);
        for (i, c) in s.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                ';' if !quoted => {
                    rest = Some(&s[i + 1..]);
                    return Some(&s[..i]);
                }
                _ => {}
            }
        }
        rest = None;
        Some(s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_one_safe_component() {
        let cases = [
            ("../../etc/passwd", "passwd"),
            ("..\\..\\windows\\win.ini", "win.ini"),
            ("/absolute/path.txt", "path.txt"),
            ("dir/", "file"),
            ("..", "file"),
            (".", "file"),
            ("", "file"),
            ("...", "file"),
            ("  . hidden", "hidden"),
            (".htaccess", "htaccess"),
            ("trailing. . ", "trailing"),
            ("a\0b", "a_b"),
            ("bell\x07\x1b[31mred", "bell__[31mred"),
            ("del\x7f", "del_"),
            ("next\u{85}line", "next_line"),
            ("new\r\nline.txt", "new__line.txt"),
            ("a<b>c:d\"e|f?g*h.txt", "a_b_c_d_e_f_g_h.txt"),
            ("CON", "_CON"),
            ("nul.txt", "_nul.txt"),
            ("com1.tar.gz", "_com1.tar.gz"),
            ("console.txt", "console.txt"),
            ("COM10", "COM10"),
            ("résumé 2024.pdf", "résumé 2024.pdf"),
            ("файл.txt", "файл.txt"),
        ];
        for (hostile, want) in cases {
            assert_eq!(sanitize_filename(hostile), want, "{hostile:?}");
        }
    }

    #[test]
    fn long_names_are_cut_at_a_char_boundary_keeping_the_extension() {
        let long = format!("{}.pdf", "é".repeat(300));
        let short = sanitize_filename(&long);
        assert!(short.len() <= MAX_FILENAME_BYTES, "{}", short.len());
        assert!(short.ends_with("é.pdf"), "{short}");
        let no_ext = "x".repeat(1000);
        assert_eq!(sanitize_filename(&no_ext), "x".repeat(MAX_FILENAME_BYTES));
        let long_ext = format!("a.{}", "e".repeat(400));
        assert!(sanitize_filename(&long_ext).len() <= MAX_FILENAME_BYTES);
    }

    #[test]
    fn every_output_is_one_plain_component() {
        let alphabet = ['a', '.', '/', '\\', ' ', '\0', '\n', 'é', ':', '%'];
        // Every name of up to four characters over a hostile alphabet.
        let mut names = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = names
                .iter()
                .flat_map(|n| alphabet.iter().map(move |c| format!("{n}{c}")))
                .collect();
            names.extend(longer);
        }
        for name in names {
            let safe = sanitize_filename(&name);
            assert!(!safe.is_empty(), "{name:?}");
            assert!(!safe.starts_with('.'), "{name:?} -> {safe:?}");
            assert!(!safe.contains(['/', '\\']), "{name:?} -> {safe:?}");
            assert!(!safe.chars().any(char::is_control), "{name:?} -> {safe:?}");
            assert_ne!(safe, "..");
        }
    }

    #[test]
    fn extended_notation_decodes() {
        let d = "form-data; name=\"f\"; filename=\"x.txt\"; filename*=UTF-8''na%C3%AFve%20%E2%82%AC.txt";
        assert_eq!(extended_filename(d).as_deref(), Some("naïve €.txt"));
        let latin = "form-data; filename*=iso-8859-1'en'caf%E9.txt";
        assert_eq!(extended_filename(latin).as_deref(), Some("café.txt"));
        // Bad escapes, bad UTF-8, unknown charsets: not used (filename= is).
        for bad in [
            "form-data; filename*=UTF-8''a%2",
            "form-data; filename*=UTF-8''a%zz",
            "form-data; filename*=UTF-8''%FF",
            "form-data; filename*=koi8-r''a",
            "form-data; filename*=no-quotes",
            "form-data; filename=\"a\"",
            // Inside a quoted value it is text, not a parameter.
            "form-data; filename=\"x; filename*=UTF-8''evil\"",
        ] {
            assert_eq!(extended_filename(bad), None, "{bad}");
        }
    }
}
