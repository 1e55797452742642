//! The `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`) and `x-amz-copy-source-range`.

use crate::{ErrorCode, InvalidValue};

/// One byte range as a client asked for it, before the object's length is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteRange {
    /// `bytes=first-last`, both inclusive, `first <= last`.
    FromTo(u64, u64),
    /// `bytes=first-`: from `first` to the end.
    From(u64),
    /// `bytes=-n`: the last `n` bytes.
    Suffix(u64),
}

/// A range resolved against an object's length: `first..=last`, never empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResolvedRange {
    /// First byte, inclusive.
    pub first: u64,
    /// Last byte, inclusive.
    pub last: u64,
}

impl ResolvedRange {
    /// Number of bytes in the range.
    pub fn len(self) -> u64 {
        self.last - self.first + 1
    }

    /// Always false: a resolved range holds at least one byte.
    pub fn is_empty(self) -> bool {
        false
    }

    /// The `Content-Range` value for an object of `total` bytes: `bytes 0-9/100`.
    pub fn content_range(self, total: u64) -> String {
        format!("bytes {}-{}/{total}", self.first, self.last)
    }
}

fn number(s: &str) -> Option<u64> {
    // Twenty digits overflow u64 at most once; anything longer is not a position we serve.
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn unsatisfiable() -> InvalidValue {
    InvalidValue::new(ErrorCode::InvalidRange, ErrorCode::InvalidRange.default_message())
}

impl ByteRange {
    /// Parses a `Range` header. `None` when it is not a single syntactically valid byte
    /// range (other units, several ranges, `a-b` with `a > b`, garbage): S3 then ignores the
    /// header and serves the whole object, and so should the caller.
    pub fn parse(value: &str) -> Option<Self> {
        let spec = value.trim().strip_prefix("bytes=")?.trim();
        if spec.contains(',') {
            return None;
        }
        let (first, last) = spec.split_once('-')?;
        let (first, last) = (first.trim(), last.trim());
        match (first.is_empty(), last.is_empty()) {
            (true, true) => None,
            (true, false) => number(last).map(ByteRange::Suffix),
            (false, true) => number(first).map(ByteRange::From),
            (false, false) => {
                let (a, b) = (number(first)?, number(last)?);
                (a <= b).then_some(ByteRange::FromTo(a, b))
            }
        }
    }

    /// Parses `x-amz-copy-source-range`, which S3 reads strictly: exactly `bytes=first-last`.
    /// Fails with `InvalidArgument`.
    pub fn parse_copy_source(value: &str) -> Result<Self, InvalidValue> {
        match Self::parse(value) {
            Some(r @ ByteRange::FromTo(..)) => Ok(r),
            _ => Err(InvalidValue::argument(
                "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
            )),
        }
    }

    /// Resolves against an object of `len` bytes. A range starting at or past the end, a
    /// zero-length suffix, or any range on an empty object fails with `InvalidRange`; a last
    /// byte past the end is clamped, as HTTP requires.
    pub fn resolve(self, len: u64) -> Result<ResolvedRange, InvalidValue> {
        if len == 0 {
            return Err(unsatisfiable());
        }
        let (first, last) = match self {
            ByteRange::FromTo(a, b) => (a, b.min(len - 1)),
            ByteRange::From(a) => (a, len - 1),
            ByteRange::Suffix(0) => return Err(unsatisfiable()),
            ByteRange::Suffix(n) => (len.saturating_sub(n), len - 1),
        };
        if first >= len {
            return Err(unsatisfiable());
        }
        Ok(ResolvedRange { first, last })
    }

    /// The header form (`bytes=0-9`).
    pub fn to_header(self) -> String {
        match self {
            ByteRange::FromTo(a, b) => format!("bytes={a}-{b}"),
            ByteRange::From(a) => format!("bytes={a}-"),
            ByteRange::Suffix(n) => format!("bytes=-{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parsing() {
        assert_eq!(ByteRange::parse("bytes=0-9"), Some(ByteRange::FromTo(0, 9)));
        assert_eq!(ByteRange::parse("bytes=5-"), Some(ByteRange::From(5)));
        assert_eq!(ByteRange::parse("bytes=-5"), Some(ByteRange::Suffix(5)));
        assert_eq!(ByteRange::parse(" bytes= 1 - 2 "), Some(ByteRange::FromTo(1, 2)));
        for ignored in [
            "",
            "bytes=",
            "bytes=-",
            "bytes=9-0",
            "bytes=a-b",
            "items=0-1",
            "bytes=0-1,3-4",
            "bytes=1-2-3",
            "bytes=99999999999999999999999-",
        ] {
            assert_eq!(ByteRange::parse(ignored), None, "{ignored}");
        }
    }

    #[test]
    fn resolving() {
        let r = |s: &str, len| ByteRange::parse(s).unwrap().resolve(len);
        assert_eq!(r("bytes=0-9", 100).unwrap(), ResolvedRange { first: 0, last: 9 });
        assert_eq!(r("bytes=90-200", 100).unwrap(), ResolvedRange { first: 90, last: 99 });
        assert_eq!(r("bytes=10-", 100).unwrap().len(), 90);
        assert_eq!(r("bytes=-10", 100).unwrap(), ResolvedRange { first: 90, last: 99 });
        assert_eq!(r("bytes=-1000", 100).unwrap(), ResolvedRange { first: 0, last: 99 });
        assert_eq!(r("bytes=0-0", 1).unwrap().content_range(1), "bytes 0-0/1");
        for (s, len) in
            [("bytes=100-", 100), ("bytes=100-200", 100), ("bytes=-0", 100), ("bytes=0-1", 0), ("bytes=-5", 0)]
        {
            assert_eq!(r(s, len).unwrap_err().code, ErrorCode::InvalidRange, "{s} {len}");
        }
    }

    #[test]
    fn copy_source_ranges_are_strict() {
        assert_eq!(ByteRange::parse_copy_source("bytes=0-9").unwrap(), ByteRange::FromTo(0, 9));
        for bad in ["bytes=0-", "bytes=-9", "0-9", "bytes=9-0"] {
            assert_eq!(ByteRange::parse_copy_source(bad).unwrap_err().code, ErrorCode::InvalidArgument, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn header_round_trips(a in any::<u64>(), b in any::<u64>(), kind in 0..3u8) {
            let range = match kind {
                0 => ByteRange::FromTo(a.min(b), a.max(b)),
                1 => ByteRange::From(a),
                _ => ByteRange::Suffix(a),
            };
            prop_assert_eq!(ByteRange::parse(&range.to_header()), Some(range));
        }

        #[test]
        fn resolved_ranges_lie_inside_the_object(a in 0..1000u64, b in 0..1000u64, kind in 0..3u8, len in 0..1000u64) {
            let range = match kind {
                0 => ByteRange::FromTo(a.min(b), a.max(b)),
                1 => ByteRange::From(a),
                _ => ByteRange::Suffix(a),
            };
            if let Ok(r) = range.resolve(len) {
                prop_assert!(r.first <= r.last && r.last < len);
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = ByteRange::parse(&s);
        }
    }
}
