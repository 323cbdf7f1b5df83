//! `Accept-Encoding` negotiation (RFC 9110 §12.5.3): q-values, `*` and `identity`.

use std::fmt;

/// A content coding the server can apply to a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coding {
    /// `gzip` (RFC 1952).
    Gzip,
    /// `deflate`: the zlib format (RFC 1950), as HTTP defines it.
    Deflate,
    /// `br`: Brotli (RFC 7932).
    Brotli,
    /// `zstd`: Zstandard (RFC 8878).
    Zstd,
}

impl Coding {
    /// Every coding, in the default order of preference on equal q-values: zstd and
    /// Brotli compress better than gzip at the same speed; deflate comes last.
    pub const ALL: [Self; 4] = [Self::Zstd, Self::Brotli, Self::Gzip, Self::Deflate];

    /// The token in `Accept-Encoding` and `Content-Encoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
            Self::Brotli => "br",
            Self::Zstd => "zstd",
        }
    }

    /// The coding named `token` (case-insensitive; `x-gzip` is `gzip`).
    pub fn from_token(token: &str) -> Option<Self> {
        let t = token.trim();
        [
            ("gzip", Self::Gzip),
            ("x-gzip", Self::Gzip),
            ("deflate", Self::Deflate),
            ("br", Self::Brotli),
            ("zstd", Self::Zstd),
        ]
        .into_iter()
        .find(|(name, _)| t.eq_ignore_ascii_case(name))
        .map(|(_, c)| c)
    }
}

impl fmt::Display for Coding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of [`negotiate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiated {
    /// Send the body as it is.
    Identity,
    /// Encode the body with this coding.
    Encode(Coding),
    /// The client refuses `identity` (`identity;q=0`, or `*;q=0` without `identity`) and
    /// accepts none of the server's codings: answer `406 Not Acceptable`.
    NotAcceptable,
}

/// Choose a coding for a response from the request's `Accept-Encoding` value (`None` when
/// the request has no such field) among `supported`, listed in the server's order of
/// preference.
///
/// The highest q-value wins; on equal q-values the server's order decides. `*` stands for
/// every coding not named; `q=0` refuses one. Without the field, or with an empty one,
/// the body is sent as it is. `identity` is acceptable unless refused, and is chosen over a
/// coding with a lower q-value. Malformed elements are ignored.
///
/// ```
/// use h1_server::compress::{Coding, Negotiated, negotiate};
///
/// let all = &Coding::ALL;
/// assert_eq!(negotiate(Some("gzip, br;q=0.5"), all), Negotiated::Encode(Coding::Gzip));
/// assert_eq!(negotiate(Some("gzip;q=0, identity"), all), Negotiated::Identity);
/// assert_eq!(negotiate(Some("compress, identity;q=0"), all), Negotiated::NotAcceptable);
/// assert_eq!(negotiate(None, all), Negotiated::Identity);
/// ```
pub fn negotiate(accept_encoding: Option<&str>, supported: &[Coding]) -> Negotiated {
    let Some(value) = accept_encoding else {
        return Negotiated::Identity;
    };
    // q-values in thousandths: exact comparisons, no floats.
    let mut star: Option<u16> = None;
    let mut identity: Option<u16> = None;
    let mut named: Vec<(Coding, u16)> = Vec::new();
    for element in value.split(',') {
        let mut parts = element.split(';');
        let token = parts.next().unwrap_or("").trim();
        if token.is_empty() {
            continue;
        }
        let mut q = Some(1000);
        for param in parts {
            let Some((name, v)) = param.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("q") {
                q = parse_q(v.trim());
            }
        }
        let Some(q) = q else { continue };
        if token == "*" {
            star = Some(star.map_or(q, |s| s.max(q)));
        } else if token.eq_ignore_ascii_case("identity") {
            identity = Some(identity.map_or(q, |s| s.max(q)));
        } else if let Some(coding) = Coding::from_token(token) {
            match named.iter_mut().find(|(c, _)| *c == coding) {
                Some((_, old)) => *old = (*old).max(q),
                None => named.push((coding, q)),
            }
        }
    }
    let weight = |coding: Coding| {
        named
            .iter()
            .find(|(c, _)| *c == coding)
            .map(|&(_, q)| q)
            .or(star)
            .unwrap_or(0)
    };
    let mut best: Option<(Coding, u16)> = None;
    for &coding in supported {
        let q = weight(coding);
        if q > 0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((coding, q));
        }
    }
    // identity: acceptable unless refused by name, or by `*;q=0` when not named.
    let identity_q = identity.unwrap_or(match star {
        Some(0) => 0,
        _ => 1,
    });
    match best {
        Some((coding, q)) if q >= identity_q => Negotiated::Encode(coding),
        _ if identity_q > 0 => Negotiated::Identity,
        _ => Negotiated::NotAcceptable,
    }
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[Coding] = &Coding::ALL;

    fn pick(v: &str) -> Negotiated {
        negotiate(Some(v), ALL)
    }

    #[test]
    fn highest_q_value_wins() {
        assert_eq!(
            pick("gzip;q=0.5, br;q=0.8"),
            Negotiated::Encode(Coding::Brotli)
        );
        assert_eq!(
            pick("deflate;q=1, gzip;q=0.999"),
            Negotiated::Encode(Coding::Deflate)
        );
        assert_eq!(pick("GZIP"), Negotiated::Encode(Coding::Gzip));
        assert_eq!(pick("x-gzip"), Negotiated::Encode(Coding::Gzip));
    }

    #[test]
    fn server_order_breaks_ties() {
        assert_eq!(
            pick("gzip, deflate, br, zstd"),
            Negotiated::Encode(Coding::Zstd)
        );
        assert_eq!(
            pick("gzip, deflate, br"),
            Negotiated::Encode(Coding::Brotli)
        );
        assert_eq!(
            negotiate(Some("br, gzip"), &[Coding::Gzip, Coding::Brotli]),
            Negotiated::Encode(Coding::Gzip)
        );
    }

    #[test]
    fn star_covers_codings_not_named() {
        assert_eq!(pick("*"), Negotiated::Encode(Coding::Zstd));
        assert_eq!(
            pick("zstd;q=0, br;q=0, *"),
            Negotiated::Encode(Coding::Gzip)
        );
        assert_eq!(
            pick("*;q=0.1, deflate"),
            Negotiated::Encode(Coding::Deflate)
        );
    }

    #[test]
    fn refused_codings_are_never_chosen() {
        assert_eq!(pick("gzip;q=0"), Negotiated::Identity);
        assert_eq!(pick("gzip;q=0.000"), Negotiated::Identity);
        assert_eq!(
            negotiate(Some("gzip;q=0, br"), &[Coding::Gzip]),
            Negotiated::Identity
        );
    }

    #[test]
    fn identity_refused_and_nothing_else_is_not_acceptable() {
        assert_eq!(pick("identity;q=0"), Negotiated::NotAcceptable);
        assert_eq!(pick("*;q=0"), Negotiated::NotAcceptable);
        assert_eq!(pick("compress, identity;q=0"), Negotiated::NotAcceptable);
        assert_eq!(pick("*;q=0, identity"), Negotiated::Identity);
        assert_eq!(pick("gzip, identity;q=0"), Negotiated::Encode(Coding::Gzip));
        assert_eq!(
            negotiate(Some("br, identity;q=0"), &[Coding::Gzip]),
            Negotiated::NotAcceptable
        );
    }

    #[test]
    fn identity_preferred_over_a_lower_q_value() {
        assert_eq!(pick("gzip;q=0.5, identity"), Negotiated::Identity);
        assert_eq!(
            pick("gzip;q=0.5, identity;q=0.4"),
            Negotiated::Encode(Coding::Gzip)
        );
    }

    #[test]
    fn absent_or_empty_field_means_identity() {
        assert_eq!(negotiate(None, ALL), Negotiated::Identity);
        assert_eq!(pick(""), Negotiated::Identity);
        assert_eq!(pick(" , ,"), Negotiated::Identity);
    }

    #[test]
    fn malformed_elements_are_ignored() {
        assert_eq!(pick("gzip;q=2, br"), Negotiated::Encode(Coding::Brotli));
        assert_eq!(pick("gzip;q=0.1234, br;q=x"), Negotiated::Identity);
        assert_eq!(
            pick("gzip;q, zstd;q=1.000"),
            Negotiated::Encode(Coding::Zstd)
        );
        assert_eq!(pick("gzip;q=1.5"), Negotiated::Identity);
    }

    #[test]
    fn q_values_parse_in_thousandths() {
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("0.001"), Some(1));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("1.001"), None);
        assert_eq!(parse_q(".5"), None);
        assert_eq!(parse_q("0.5x"), None);
    }
}
