//! [`StaticHeader`]: a header field checked at compile time.

/// A header field checked when it is built, for
/// [`Headers::push_static`](crate::Headers::push_static): adding it to a
/// list copies and checks nothing.
///
/// Build it in a `const` or `static`: [`StaticHeader::new`] then checks the name and
/// value at compile time.
///
/// ```
/// use h1_core::{Headers, StaticHeader};
///
/// static SERVER: StaticHeader = StaticHeader::new("Server", "example/1.0");
///
/// let mut h = Headers::new();
/// h.push_static(&SERVER);
/// assert_eq!(h.get_str("server"), Some("example/1.0"));
/// ```
///
/// An invalid field does not compile:
///
/// ```compile_fail
/// static BAD: h1_core::StaticHeader = h1_core::StaticHeader::new("Bad", "a\r\nb");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StaticHeader {
    name: &'static str,
    value: &'static str,
}

impl StaticHeader {
    /// A field named `name` with `value`.
    ///
    /// # Panics
    ///
    /// If `name` is not a token or `value` has CR, LF, NUL, other controls, or leading or
    /// trailing whitespace (RFC 9110 §5.1, §5.5); in a `const` or `static`, that is a
    /// compile error.
    pub const fn new(name: &'static str, value: &'static str) -> Self {
        assert!(
            const_valid_name(name.as_bytes()),
            "StaticHeader: the name is not a token"
        );
        assert!(
            const_valid_value(value.as_bytes()),
            "StaticHeader: the value has a control byte or surrounding whitespace"
        );
        Self { name, value }
    }

    /// The name, as given.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The value.
    pub const fn value(&self) -> &'static str {
        self.value
    }
}

/// [`is_valid_name`], usable in a `const`.
const fn const_valid_name(name: &[u8]) -> bool {
    if name.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < name.len() {
        let b = name[i];
        let tchar = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        if !tchar {
            return false;
        }
        i += 1;
    }
    true
}

/// [`is_valid_value`], usable in a `const`.
const fn const_valid_value(value: &[u8]) -> bool {
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if (b < 0x20 && b != b'\t') || b == 0x7f {
            return false;
        }
        i += 1;
    }
    !matches!(
        (value.first(), value.last()),
        (Some(b' ' | b'\t'), _) | (_, Some(b' ' | b'\t'))
    )
}
