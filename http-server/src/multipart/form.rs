//! `application/x-www-form-urlencoded` bodies and query strings, parsed with limits.

use super::error::{Limit, UploadError};
use crate::{Form, Request, percent_decode};

/// Limits for urlencoded text: a form body or a query string. Lengths are of the text
/// as sent (encoded), which bounds the decoded text too.
///
/// Two presets: [`FormLimits::body`] (the default:
/// 4 KiB names, 50 KiB values, 1 MiB in all) and [`FormLimits::query`] (4 KiB names and
/// values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormLimits {
    max_pairs: usize,
    max_key_bytes: usize,
    max_value_bytes: usize,
    max_bytes: u64,
}

impl Default for FormLimits {
    fn default() -> Self {
        Self::body()
    }
}

impl FormLimits {
    /// For form bodies: 1000 pairs, 4 KiB names, 50 KiB values, 1 MiB in all.
    pub fn body() -> Self {
        Self {
            max_pairs: 1000,
            max_key_bytes: 4 * 1024,
            max_value_bytes: 50 * 1024,
            max_bytes: 1024 * 1024,
        }
    }

    /// For query strings: 1000 pairs, 4 KiB names and values.
    pub fn query() -> Self {
        Self {
            max_value_bytes: 4 * 1024,
            ..Self::body()
        }
    }

    /// Most `name=value` pairs.
    pub fn max_pairs(&mut self, count: usize) -> &mut Self {
        self.max_pairs = count;
        self
    }

    /// Longest name, in encoded bytes.
    pub fn max_key_bytes(&mut self, bytes: u64) -> &mut Self {
        self.max_key_bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        self
    }

    /// Longest value, in encoded bytes.
    pub fn max_value_bytes(&mut self, bytes: u64) -> &mut Self {
        self.max_value_bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        self
    }

    /// Largest body [`read_form`] reads, in bytes (413 past it).
    pub fn max_bytes(&mut self, bytes: u64) -> &mut Self {
        self.max_bytes = bytes;
        self
    }
}

/// Decode urlencoded `input` (as [`Form::parse`]) after checking it against `limits`.
///
/// ```
/// use h1_server::multipart::{FormLimits, parse_form};
///
/// let form = parse_form(b"a=1&b=x+y", &FormLimits::query()).unwrap();
/// assert_eq!(form.get("b"), Some("x y"));
/// let mut one = FormLimits::query();
/// one.max_pairs(1);
/// assert_eq!(parse_form(b"a=1&b=2", &one).unwrap_err().status(), 413);
/// ```
///
/// # Errors
///
/// [`UploadError::TooLarge`] (413) with [`Limit::FormPairs`], [`Limit::FormKeyBytes`] or
/// [`Limit::FormValueBytes`].
pub fn parse_form(input: &[u8], limits: &FormLimits) -> Result<Form, UploadError> {
    let too_large = |limit, max: usize| UploadError::TooLarge {
        limit,
        max: max as u64,
    };
    let mut form = Form::default();
    for (count, (key, value)) in Form::encoded_pairs(input).enumerate() {
        if count >= limits.max_pairs {
            return Err(too_large(Limit::FormPairs, limits.max_pairs));
        }
        if key.len() > limits.max_key_bytes {
            return Err(too_large(Limit::FormKeyBytes, limits.max_key_bytes));
        }
        if value.len() > limits.max_value_bytes {
            return Err(too_large(Limit::FormValueBytes, limits.max_value_bytes));
        }
        form.push(percent_decode(key), percent_decode(value));
    }
    Ok(form)
}

/// Read `req`'s body as an `application/x-www-form-urlencoded` form within `limits`.
///
/// # Errors
///
/// [`UploadError::NotForm`] (400) for another Content-Type, [`UploadError::Body`] for a
/// body over [`FormLimits::max_bytes`] (413) or a failed read, and as [`parse_form`].
pub async fn read_form(req: &mut Request, limits: &FormLimits) -> Result<Form, UploadError> {
    let urlencoded = req.header("content-type").is_some_and(|ct| {
        ct.split(';').next().is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    if !urlencoded {
        return Err(UploadError::NotForm);
    }
    let body = req.bytes(limits.max_bytes).await?;
    parse_form(&body, limits)
}

/// `req`'s query string decoded within `limits` (empty without a query).
///
/// # Errors
///
/// As [`parse_form`].
pub fn query_form(req: &Request, limits: &FormLimits) -> Result<Form, UploadError> {
    parse_form(req.query().unwrap_or("").as_bytes(), limits)
}

/// A [`Form`] holding exactly `pairs`.
pub(crate) fn form_from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Form {
    pairs
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_encoded_bytes_and_pairs() {
        let mut l = FormLimits::query();
        l.max_pairs(2).max_key_bytes(3).max_value_bytes(4);
        assert!(parse_form(b"abc=1234&&x=", &l).is_ok());
        let err = |input: &[u8]| match parse_form(input, &l) {
            Err(UploadError::TooLarge { limit, .. }) => limit,
            other => panic!("{other:?}"),
        };
        assert_eq!(err(b"a&b&c"), Limit::FormPairs);
        assert_eq!(err(b"abcd=1"), Limit::FormKeyBytes);
        assert_eq!(err(b"abcd"), Limit::FormKeyBytes);
        assert_eq!(err(b"a=12345"), Limit::FormValueBytes);
        assert_eq!(err(b"a=%41%41"), Limit::FormValueBytes);
    }

    #[test]
    fn pairs_round_trip_through_encoding() {
        let pairs = [("a b&c=d", "x+y%z\u{e9}\n"), ("", ""), ("k", "")];
        let form = form_from_pairs(pairs);
        assert_eq!(form.iter().collect::<Vec<_>>(), pairs);
    }
}

settings_from_ref!(FormLimits);
