//! Byte-level helpers shared by every scheme: percent coding, MACs, time formats.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// RFC 3986 unreserved: `A-Z a-z 0-9 - _ . ~`.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Percent-encodes every byte but the unreserved ones (and `/` when `keep_slash`), upper-case hex.
pub(crate) fn uri_encode_into(out: &mut Vec<u8>, input: &[u8], keep_slash: bool) {
    for &b in input {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(b);
        } else {
            out.push(b'%');
            out.push(HEX_UPPER[usize::from(b >> 4)]);
            out.push(HEX_UPPER[usize::from(b & 0x0f)]);
        }
    }
}

/// [`uri_encode_into`] into a fresh buffer.
pub(crate) fn uri_encode(input: &[u8], keep_slash: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + 8);
    uri_encode_into(&mut out, input, keep_slash);
    out
}

/// [`uri_encode`] as a `String` (the output is ASCII by construction).
pub(crate) fn uri_encode_str(input: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(input.len() + 8);
    for &b in input {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
        }
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` once; a `%` not followed by two hex digits stays as it is (as Python's
/// `unquote` does). With `plus_is_space`, `+` becomes a space first (form encoding, §0.4).
pub(crate) fn percent_decode(input: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b == b'%'
            && let (Some(h), Some(l)) =
                (input.get(i + 1).copied().and_then(hex_val), input.get(i + 2).copied().and_then(hex_val))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(if plus_is_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    out
}

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub(crate) fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub(crate) fn sha1_hex(data: &[u8]) -> String {
    hex::encode(<Sha1 as Digest>::digest(data))
}

/// Constant-time equality of two MACs (lengths are public).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Parses exactly `N` bytes of hex (either case).
pub(crate) fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

// ---- time: no clock here, only conversions between Unix seconds and the wire formats.

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `yyyymmddTHHMMSSZ` → Unix seconds.
pub(crate) fn parse_amz_date(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(4..6)?, num(6..8)?, num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(se);
    u64::try_from(secs).ok()
}

/// Unix seconds → `yyyymmddTHHMMSSZ`.
pub(crate) fn format_amz_date(t: u64) -> String {
    let days = i64::try_from(t / 86_400).unwrap_or(i64::MAX / 2);
    let rem = t % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// An HTTP date (RFC 1123, RFC 850 or asctime) → Unix seconds.
pub(crate) fn parse_http_date(s: &str) -> Option<u64> {
    let t = httpdate::parse_http_date(s.trim()).ok()?;
    t.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// Unix seconds → `Thu, 01 May 2025 12:00:00 GMT`.
pub(crate) fn format_http_date(t: u64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t))
}

/// Either date format: vendors put RFC 1123 in `Date`/`x-*-date`, ISO 8601 basic in `x-amz-date`.
pub(crate) fn parse_any_date(s: &str) -> Option<u64> {
    parse_amz_date(s.trim()).or_else(|| parse_http_date(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode() {
        assert_eq!(uri_encode_str(b"a b/c+d%e~", true), "a%20b/c%2Bd%25e~");
        assert_eq!(uri_encode_str(b"a b/c", false), "a%20b%2Fc");
        assert_eq!(percent_decode(b"photos%2F+2025", true), b"photos/ 2025");
        assert_eq!(percent_decode(b"a+b%2B", false), b"a+b+");
        assert_eq!(percent_decode(b"%zz%4", false), b"%zz%4");
        assert_eq!(percent_decode("%E6%96%87".as_bytes(), false), "文".as_bytes());
    }

    #[test]
    fn dates() {
        assert_eq!(parse_amz_date("20250501T120000Z"), Some(1_746_100_800));
        assert_eq!(format_amz_date(1_746_100_800), "20250501T120000Z");
        assert_eq!(parse_http_date("Thu, 01 May 2025 12:00:00 GMT"), Some(1_746_100_800));
        assert_eq!(format_http_date(1_746_100_800), "Thu, 01 May 2025 12:00:00 GMT");
        assert_eq!(parse_amz_date("20251301T120000Z"), None);
        assert_eq!(parse_amz_date("2025050xT120000Z"), None);
        assert_eq!(parse_amz_date("+0250501T120000Z"), None);
        for t in [0u64, 951_782_400, 1_369_353_600, 4_102_444_800] {
            assert_eq!(parse_amz_date(&format_amz_date(t)), Some(t));
        }
    }

    #[test]
    fn constant_time_eq_checks_length() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
