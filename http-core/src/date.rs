//! HTTP-date formatting (RFC 9110 §5.6.7) from a Unix time the caller supplies, and a
//! once-per-second cache. No clock is read here.

use std::fmt;

/// An IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`: always 29 ASCII bytes.
///
/// ```
/// let d = h1_core::HttpDate::from_unix_secs(784_111_777);
/// assert_eq!(d.as_str(), "Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HttpDate([u8; 29]);

impl HttpDate {
    /// Format seconds since 1970-01-01T00:00:00Z.
    pub fn from_unix_secs(secs: u64) -> Self {
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (hh, mm, ss) = (rem / 3600, (rem % 3600) / 60, rem % 60);
        // 1970-01-01 was a Thursday.
        let weekday = ((days + 4) % 7) as usize;
        let (year, month, day) = civil_from_days(days);
        const WD: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
        const MO: [&[u8; 3]; 12] = [
            b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
            b"Dec",
        ];
        let mut b = *b"Thu, 01 Jan 1970 00:00:00 GMT";
        b[0..3].copy_from_slice(WD[weekday]);
        two(&mut b[5..7], day as u64);
        b[8..11].copy_from_slice(MO[(month - 1) as usize]);
        let y = (year.clamp(0, 9999)) as u64;
        two(&mut b[12..14], y / 100);
        two(&mut b[14..16], y % 100);
        two(&mut b[17..19], hh);
        two(&mut b[20..22], mm);
        two(&mut b[23..25], ss);
        Self(b)
    }

    /// The date as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever written into the array.
        std::str::from_utf8(&self.0).unwrap_or("Thu, 01 Jan 1970 00:00:00 GMT")
    }

    /// The date as bytes.
    pub fn as_bytes(&self) -> &[u8; 29] {
        &self.0
    }
}

impl fmt::Debug for HttpDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpDate({})", self.as_str())
    }
}

impl fmt::Display for HttpDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Formats an [`HttpDate`] at most once per second: the caller passes the current Unix
/// time; the string is rebuilt only when the second changed.
///
/// ```
/// let mut cache = h1_core::DateCache::new();
/// let a = *cache.get(784_111_777);
/// assert_eq!(cache.get(784_111_777), &a);
/// assert_ne!(cache.get(784_111_778), &a);
/// ```
#[derive(Debug, Clone)]
pub struct DateCache {
    secs: u64,
    date: HttpDate,
}

impl DateCache {
    /// An empty cache (it formats on first use).
    pub fn new() -> Self {
        Self {
            secs: 0,
            date: HttpDate::from_unix_secs(0),
        }
    }

    /// The date for `unix_secs`, reformatted only if the second changed.
    pub fn get(&mut self, unix_secs: u64) -> &HttpDate {
        if unix_secs != self.secs {
            self.secs = unix_secs;
            self.date = HttpDate::from_unix_secs(unix_secs);
        }
        &self.date
    }
}

impl Default for DateCache {
    fn default() -> Self {
        Self::new()
    }
}

fn two(dst: &mut [u8], n: u64) {
    dst[0] = b'0' + (n / 10 % 10) as u8;
    dst[1] = b'0' + (n % 10) as u8;
}

/// Howard Hinnant's days-to-civil: (year, month 1..=12, day 1..=31).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates_format() {
        assert_eq!(
            HttpDate::from_unix_secs(0).as_str(),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(
            HttpDate::from_unix_secs(951_782_400).as_str(),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
        assert_eq!(
            HttpDate::from_unix_secs(1_795_305_599).as_str(),
            "Sat, 21 Nov 2026 23:59:59 GMT"
        );
    }
}
