//! `application/x-www-form-urlencoded` decoding and percent-decoding: the one place the
//! crate decodes `%XX` escapes and splits form pairs. [`Form`] holds the decoded pairs;
//! the layers above the driver (the router's path normalization and static files, the
//! limit-checked form readers and upload file names of `multipart`) use the public
//! functions here: [`Form::encoded_pairs`], [`percent_decode`], [`percent_decode_strict`]
//! and [`percent_decode_escape`].

/// Pairs decoded from `application/x-www-form-urlencoded` text (a form body or a query).
///
/// ```
/// let form = h1_server::Form::parse(b"name=J%C3%B6rg+M&x=1&x=2");
/// assert_eq!(form.get("name"), Some("Jörg M"));
/// assert_eq!(form.get_all("x").collect::<Vec<_>>(), ["1", "2"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Decode `application/x-www-form-urlencoded` bytes: `&`-separated `name=value`
    /// pairs, `+` as space, `%XX` escapes. Lenient like browsers: a malformed escape is
    /// kept as text and invalid UTF-8 becomes U+FFFD.
    pub fn parse(input: &[u8]) -> Self {
        let pairs = Self::encoded_pairs(input)
            .map(|(name, value)| (percent_decode(name), percent_decode(value)))
            .collect();
        Self { pairs }
    }

    /// The still-encoded `(name, value)` pairs of urlencoded `input`, in order, empty
    /// pairs skipped (a pair without `=` has an empty value): to check limits on the text
    /// as sent before decoding it with [`percent_decode`].
    ///
    /// ```
    /// let pairs: Vec<_> = h1_server::Form::encoded_pairs(b"a=1&&b&c=x%3Dy").collect();
    /// assert_eq!(pairs, [(&b"a"[..], &b"1"[..]), (b"b", b""), (b"c", b"x%3Dy")]);
    /// ```
    pub fn encoded_pairs(input: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
        input
            .split(|&b| b == b'&')
            .filter(|p| !p.is_empty())
            .map(|pair| match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            })
    }

    /// Append a decoded pair.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((name.into(), value.into()));
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

impl FromIterator<(String, String)> for Form {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        Self {
            pairs: pairs.into_iter().collect(),
        }
    }
}

/// Decode `+` and `%XX` (urlencoded form rules), leniently: a malformed escape stays as
/// text, invalid UTF-8 becomes U+FFFD.
///
/// ```
/// assert_eq!(h1_server::percent_decode(b"a+b%20c"), "a b c");
/// ```
pub fn percent_decode(input: &[u8]) -> String {
    decode(input, true)
}

/// Percent-decode one path segment (`+` is not a space in paths).
pub(crate) fn decode_path_segment(input: &str) -> String {
    decode(input.as_bytes(), false)
}

/// Decode every `%XX` escape strictly (`+` stays `+`): `None` when an escape is
/// malformed. The bytes are returned as decoded, for the caller to check as UTF-8 or
/// another charset (a static file's path, an RFC 8187 `filename*`).
///
/// ```
/// use h1_server::percent_decode_strict;
///
/// assert_eq!(percent_decode_strict(b"a%2Fb+c").as_deref(), Some(&b"a/b+c"[..]));
/// assert_eq!(percent_decode_strict(b"100%"), None);
/// assert_eq!(percent_decode_strict(b"%zz"), None);
/// ```
pub fn percent_decode_strict(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            out.push(percent_decode_escape(&input[i..])?);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The byte that the `%XX` escape at the start of `input` stands for; `None` when
/// `input` does not start with a well-formed escape.
///
/// ```
/// use h1_server::percent_decode_escape;
///
/// assert_eq!(percent_decode_escape(b"%41BC"), Some(b'A'));
/// assert_eq!(percent_decode_escape(b"%4"), None);
/// assert_eq!(percent_decode_escape(b"A"), None);
/// ```
pub fn percent_decode_escape(input: &[u8]) -> Option<u8> {
    match input {
        [b'%', h, l, ..] => Some(hex(*h)? << 4 | hex(*l)?),
        _ => None,
    }
}

/// Decode `%XX` escapes (and `+` as a space when `plus`); a malformed escape stays as
/// text, invalid UTF-8 becomes U+FFFD.
fn decode(input: &[u8], plus: bool) -> String {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' if plus => out.push(b' '),
            b'%' => match percent_decode_escape(&input[i..]) {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// The value of one hex digit.
fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode(b"a+b%20c"), "a b c");
        assert_eq!(percent_decode(b"100%"), "100%");
        assert_eq!(percent_decode(b"%zz%4"), "%zz%4");
        assert_eq!(percent_decode(b"%41"), "A");
        assert_eq!(percent_decode(b"%ff"), "\u{fffd}");
        assert_eq!(decode_path_segment("a+b%2Fc"), "a+b/c");
    }

    #[test]
    fn form_pairs_keep_order_and_empty_values() {
        let f = Form::parse(b"a=1&&b&c=x%3Dy");
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            [("a", "1"), ("b", ""), ("c", "x=y")]
        );
        assert_eq!(f.len(), 3);
    }
}
