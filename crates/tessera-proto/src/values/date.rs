//! Dates as the protocols write them: HTTP dates (RFC 1123, RFC 850, asctime), ISO 8601
//! basic (`20250501T120000Z`, SigV4 and OSS V4) and extended with milliseconds
//! (`2025-05-01T12:00:00.000Z`, every XML document). Pure conversions to and from unix time:
//! nothing here reads a clock.

use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use crate::{ErrorCode, InvalidValue};

/// First second of year 10000: dates are four-digit years, 1970 to 9999.
const END_SECS: u64 = 253_402_300_800;

fn invalid_date() -> InvalidValue {
    InvalidValue::new(ErrorCode::InvalidDate, "The date could not be parsed.")
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Seconds since the epoch of a validated civil date and time.
fn to_secs(year: i64, month: u32, day: u32, hour: u32, min: u32, sec: u32) -> Option<u64> {
    let valid = (1970..=9999).contains(&year)
        && (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && hour < 24
        && min < 60
        && sec < 60;
    if !valid {
        return None;
    }
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    Some(days * 86_400 + u64::from(hour) * 3600 + u64::from(min) * 60 + u64::from(sec))
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses an HTTP date (RFC 1123 `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850, asctime) into
/// unix seconds. A one-digit day (`Mon, 1 Nov 2010 …`, as in vendor samples) is accepted.
/// Fails with `InvalidDate`.
pub fn parse_http_date(value: &str) -> Result<u64, InvalidValue> {
    let value = value.trim();
    if value.len() > 64 {
        return Err(invalid_date());
    }
    let parsed = httpdate::parse_http_date(value).or_else(|_| {
        // RFC 1123 with a one-digit day: pad it and try again.
        let padded = match value.as_bytes() {
            [_, _, _, b',', b' ', d, b' ', ..] if d.is_ascii_digit() => {
                format!("{} 0{}", &value[..4], &value[5..])
            }
            _ => String::new(),
        };
        httpdate::parse_http_date(&padded)
    });
    let time = parsed.map_err(|_| invalid_date())?;
    time.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).map_err(|_| invalid_date())
}

/// Formats unix seconds as an RFC 1123 HTTP date (`Thu, 01 May 2025 12:00:00 GMT`).
/// Times past year 9999 are clamped to its last second.
pub fn format_http_date(secs: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs.min(END_SECS - 1)))
}

/// Parses ISO 8601 basic format `yyyymmddTHHMMSSZ` (`x-amz-date`, `x-oss-date`) into unix
/// seconds. Fails with `InvalidDate`.
pub fn parse_iso8601_basic(value: &str) -> Result<u64, InvalidValue> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return Err(invalid_date());
    }
    let field = |r: std::ops::Range<usize>| value.get(r).and_then(digits);
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) =
        (field(0..4), field(4..6), field(6..8), field(9..11), field(11..13), field(13..15))
    else {
        return Err(invalid_date());
    };
    to_secs(i64::from(y), mo, d, h, mi, s).ok_or_else(invalid_date)
}

/// Formats unix milliseconds as ISO 8601 with milliseconds (`2025-05-01T12:00:00.000Z`).
pub fn format_iso8601(millis: u64) -> String {
    Timestamp::from_millis(millis).to_string()
}

/// A point in time, in milliseconds since the unix epoch, between 1970 and 9999.
///
/// Written as ISO 8601 with milliseconds (`2025-05-01T12:00:00.000Z`), the form every XML
/// document uses; read from that form with any number of fraction digits (or none), a `Z` or
/// `+00:00` zone, or the basic form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The last representable millisecond (9999-12-31T23:59:59.999Z).
    pub const MAX: Timestamp = Timestamp(END_SECS * 1000 - 1);

    /// A timestamp `millis` after the epoch, clamped to [`Timestamp::MAX`].
    pub fn from_millis(millis: u64) -> Self {
        Timestamp(millis.min(Self::MAX.0))
    }

    /// A timestamp `secs` after the epoch, clamped to [`Timestamp::MAX`].
    pub fn from_secs(secs: u64) -> Self {
        Self::from_millis(secs.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// Whole seconds since the epoch.
    pub fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// The RFC 1123 form, for `Last-Modified` headers (second precision).
    pub fn to_http_date(self) -> String {
        format_http_date(self.as_secs())
    }

    /// Parses ISO 8601: extended (`2025-05-01T12:00:00Z`, `…:00.123Z`, `…+00:00`) or basic
    /// (`20250501T120000Z`). Fails with `InvalidDate`.
    pub fn parse_iso8601(value: &str) -> Result<Self, InvalidValue> {
        let value = value.trim();
        if value.len() == 16 {
            return parse_iso8601_basic(value).map(Self::from_secs);
        }
        let (body, zone_ok) = if let Some(b) = value.strip_suffix('Z').or_else(|| value.strip_suffix('z')) {
            (b, true)
        } else if let Some(b) = value.strip_suffix("+00:00").or_else(|| value.strip_suffix("-00:00")) {
            (b, true)
        } else {
            (value, false)
        };
        let b = body.as_bytes();
        if !zone_ok
            || b.len() < 19
            || b.len() > 29
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(invalid_date());
        }
        let field = |r: std::ops::Range<usize>| body.get(r).and_then(digits);
        let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) =
            (field(0..4), field(5..7), field(8..10), field(11..13), field(14..16), field(17..19))
        else {
            return Err(invalid_date());
        };
        let millis = match body.get(19..) {
            Some("") | None => 0,
            Some(frac) => {
                let frac = frac.strip_prefix('.').ok_or_else(invalid_date)?;
                if frac.is_empty() || !frac.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(invalid_date());
                }
                // Keep milliseconds; finer digits are dropped, as S3 does.
                let ms = frac.get(..3).unwrap_or(frac);
                let scale = 10u64.pow(3 - ms.len() as u32);
                ms.parse::<u64>().map_err(|_| invalid_date())? * scale
            }
        };
        let secs = to_secs(i64::from(y), mo, d, h, mi, s).ok_or_else(invalid_date)?;
        Ok(Timestamp(secs * 1000 + millis))
    }
}

impl fmt::Display for Timestamp {
    /// Writes `2025-05-01T12:00:00.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / 1000;
        let ms = self.0 % 1000;
        let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
        let rem = secs % 86_400;
        write!(f, "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z", rem / 3600, rem / 60 % 60, rem % 60)
    }
}

impl std::str::FromStr for Timestamp {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_iso8601(s)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Timestamp::parse_iso8601(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The vectors' frozen time.
    const FROZEN: u64 = 1_746_100_800;

    #[test]
    fn http_dates() {
        assert_eq!(parse_http_date("Thu, 01 May 2025 12:00:00 GMT").unwrap(), FROZEN);
        assert_eq!(parse_http_date("Thursday, 01-May-25 12:00:00 GMT").unwrap(), FROZEN);
        assert_eq!(parse_http_date("Thu May  1 12:00:00 2025").unwrap(), FROZEN);
        // The KS3 and OBS samples' one-digit day.
        assert_eq!(parse_http_date("Mon, 1 Nov 2010 20:34:56 GMT").unwrap(), 1_288_643_696);
        assert_eq!(format_http_date(FROZEN), "Thu, 01 May 2025 12:00:00 GMT");
        for bad in ["", "yesterday", "Thu, 32 May 2025 12:00:00 GMT", "Thu, 01 May 2025 25:00:00 GMT", "Thu, 1"] {
            assert_eq!(parse_http_date(bad).unwrap_err().code, ErrorCode::InvalidDate, "{bad}");
        }
    }

    #[test]
    fn iso8601() {
        assert_eq!(parse_iso8601_basic("20250501T120000Z").unwrap(), FROZEN);
        for bad in ["20250501T120000", "2025050XT120000Z", "20251301T120000Z", "20250230T120000Z", "20250501 120000Z"] {
            assert!(parse_iso8601_basic(bad).is_err(), "{bad}");
        }
        let t = Timestamp::from_secs(FROZEN);
        assert_eq!(t.to_string(), "2025-05-01T12:00:00.000Z");
        assert_eq!(format_iso8601(FROZEN * 1000 + 7), "2025-05-01T12:00:00.007Z");
        for (s, ms) in [
            ("2025-05-01T12:00:00.000Z", 0),
            ("2025-05-01T12:00:00Z", 0),
            ("2025-05-01T12:00:00.5Z", 500),
            ("2025-05-01T12:00:00.123456Z", 123),
            ("2025-05-01T12:00:00.123+00:00", 123),
            ("20250501T120000Z", 0),
        ] {
            assert_eq!(Timestamp::parse_iso8601(s).unwrap().as_millis(), FROZEN * 1000 + ms, "{s}");
        }
        for bad in [
            "2025-05-01T12:00:00",
            "2025-05-01T12:00:00.Z",
            "2025-05-01 12:00:00Z",
            "2025-02-29T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2025-05-01T12:00:00+08:00",
        ] {
            assert!(Timestamp::parse_iso8601(bad).is_err(), "{bad}");
        }
        assert_eq!(Timestamp::from_secs(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59.999Z");
        assert_eq!(Timestamp::from_millis(u64::MAX), Timestamp::MAX);
        assert_eq!(Timestamp::parse_iso8601("2024-02-29T00:00:00Z").unwrap().to_string(), "2024-02-29T00:00:00.000Z");
    }

    proptest! {
        #[test]
        fn iso8601_round_trips(ms in 0..=Timestamp::MAX.as_millis()) {
            let t = Timestamp::from_millis(ms);
            prop_assert_eq!(Timestamp::parse_iso8601(&t.to_string()).unwrap(), t);
        }

        #[test]
        fn http_date_round_trips(secs in 0..END_SECS) {
            prop_assert_eq!(parse_http_date(&format_http_date(secs)).unwrap(), secs);
        }

        #[test]
        fn basic_form_agrees_with_extended(secs in 0..END_SECS) {
            let ext = Timestamp::from_secs(secs).to_string();
            let basic = format!("{}{}{}T{}{}{}Z", &ext[0..4], &ext[5..7], &ext[8..10], &ext[11..13], &ext[14..16], &ext[17..19]);
            prop_assert_eq!(parse_iso8601_basic(&basic).unwrap(), secs);
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = parse_http_date(&s);
            let _ = parse_iso8601_basic(&s);
            let _ = Timestamp::parse_iso8601(&s);
        }
    }
}
