//! Validated names: checked once at the edge, carried inward with their guarantee.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use crate::dialect::MAX_PARTS;
use crate::{ErrorCode, InvalidValue};

/// A bucket name: 3 to 63 characters of lower-case letters, digits, `.` and `-`, beginning
/// and ending with a letter or digit, with no `..`, `.-` or `-.`, and not shaped like an IPv4
/// address — the rules S3, OBS, COS, OSS and KS3 share. COS's `name-appid` form passes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketName(Box<str>);

impl BucketName {
    /// Validates `name`; fails with `InvalidBucketName`.
    pub fn new(name: &str) -> Result<Self, InvalidValue> {
        let bad = |why: &'static str| Err(InvalidValue::new(ErrorCode::InvalidBucketName, why));
        let bytes = name.as_bytes();
        if !(3..=63).contains(&bytes.len()) {
            return bad("Bucket names must be between 3 and 63 characters long.");
        }
        if !bytes.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-') {
            return bad("Bucket names may contain only lower-case letters, digits, dots and hyphens.");
        }
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
            return bad("Bucket names must begin and end with a letter or digit.");
        }
        if name.contains("..") || name.contains(".-") || name.contains("-.") {
            return bad("Bucket names must not contain two adjacent periods or a period next to a hyphen.");
        }
        if name.parse::<std::net::Ipv4Addr>().is_ok() {
            return bad("Bucket names must not be formatted as an IP address.");
        }
        Ok(BucketName(name.into()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An object key: 1 to 1024 bytes of UTF-8. Any character is allowed, including `..`
/// segments, a leading or trailing `/` and control characters: keys are names, never paths.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(Box<str>);

/// Longest key, in bytes of UTF-8.
pub const MAX_KEY_LEN: usize = 1024;

impl ObjectKey {
    /// Validates `key`; fails with `KeyTooLongError` or `InvalidArgument` (empty).
    pub fn new(key: &str) -> Result<Self, InvalidValue> {
        if key.is_empty() {
            return Err(InvalidValue::argument("The object key must not be empty."));
        }
        if key.len() > MAX_KEY_LEN {
            return Err(InvalidValue::new(ErrorCode::KeyTooLongError, "Your key is too long."));
        }
        Ok(ObjectKey(key.into()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An upload id: 1 to 256 unreserved characters (`A-Z a-z 0-9 - _ . ~`).
///
/// KS3's SDK puts upload ids in query strings without encoding them, so an id that needed
/// encoding would be signed, sent and decoded differently. Ids Tessera mints are unreserved,
/// and anything else a client sends cannot name an upload: it fails with `NoSuchUpload`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UploadId(Box<str>);

impl UploadId {
    /// Longest id accepted.
    pub const MAX_LEN: usize = 256;

    /// Validates `id`; fails with `NoSuchUpload`.
    pub fn new(id: &str) -> Result<Self, InvalidValue> {
        let ok = !id.is_empty()
            && id.len() <= Self::MAX_LEN
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
        if ok {
            Ok(UploadId(id.into()))
        } else {
            Err(InvalidValue::new(ErrorCode::NoSuchUpload, ErrorCode::NoSuchUpload.default_message()))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A part number, 1 to 10 000.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartNumber(u16);

impl PartNumber {
    /// The first part number.
    pub const MIN: PartNumber = PartNumber(1);
    /// The last part number.
    pub const MAX: PartNumber = PartNumber(MAX_PARTS as u16);

    /// Validates `n`; fails with `InvalidArgument`.
    pub fn new(n: u32) -> Result<Self, InvalidValue> {
        if (1..=MAX_PARTS).contains(&n) { Ok(PartNumber(n as u16)) } else { Err(Self::out_of_range()) }
    }

    /// The number.
    pub fn get(self) -> u32 {
        u32::from(self.0)
    }

    fn out_of_range() -> InvalidValue {
        InvalidValue::argument("Part number must be an integer between 1 and 10000, inclusive")
    }
}

impl FromStr for PartNumber {
    type Err = InvalidValue;

    /// Parses a decimal part number as sent in `partNumber=`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.trim();
        if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Self::out_of_range());
        }
        PartNumber::new(digits.parse().map_err(|_| Self::out_of_range())?)
    }
}

impl fmt::Display for PartNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

macro_rules! string_newtype {
    ($($t:ident),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $t {
            type Err = InvalidValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $t::new(s)
            }
        }

        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $t {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $t {
            type Error = InvalidValue;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                $t::new(&s)
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0.into()
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                $t::new(&s).map_err(serde::de::Error::custom)
            }
        }
    )*};
}

string_newtype!(BucketName, ObjectKey, UploadId);

impl serde::Serialize for PartNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.get())
    }
}

impl<'de> serde::Deserialize<'de> for PartNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // XML hands numbers over as text; accept both.
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bucket_names() {
        for ok in ["abc", "examplebucket-1250000000", "a.b-c", "my.bucket.name", &"a".repeat(63)] {
            assert!(BucketName::new(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "Abc", "a_b", "-ab", "ab-", "a..b", "a.-b", "192.168.1.1", &"a".repeat(64), "a b"] {
            assert_eq!(BucketName::new(bad).unwrap_err().code, ErrorCode::InvalidBucketName, "{bad}");
        }
    }

    #[test]
    fn keys_are_names_not_paths() {
        for ok in ["..", "/leading", "trailing/", "a//b", "../../etc/passwd", "文件/ファイル/ü é.txt", "\u{1}"]
        {
            assert_eq!(ObjectKey::new(ok).unwrap().as_str(), ok);
        }
        assert_eq!(ObjectKey::new("").unwrap_err().code, ErrorCode::InvalidArgument);
        assert!(ObjectKey::new(&"é".repeat(512)).is_ok());
        assert_eq!(ObjectKey::new(&"a".repeat(1025)).unwrap_err().code, ErrorCode::KeyTooLongError);
    }

    #[test]
    fn upload_ids_are_unreserved() {
        assert!(UploadId::new("UPLOADID0123456789abcdef.-_~").is_ok());
        for bad in ["", "a b", "a/b", "a%20", "a+b", &"a".repeat(257)] {
            assert_eq!(UploadId::new(bad).unwrap_err().code, ErrorCode::NoSuchUpload, "{bad:?}");
        }
    }

    #[test]
    fn part_numbers() {
        assert_eq!("1".parse::<PartNumber>().unwrap().get(), 1);
        assert_eq!("10000".parse::<PartNumber>().unwrap(), PartNumber::MAX);
        for bad in ["0", "10001", "-1", "", "1.5", "abc", "99999999999999999999", "+1"] {
            assert_eq!(bad.parse::<PartNumber>().unwrap_err().code, ErrorCode::InvalidArgument, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn part_number_round_trips(n in 1u32..=10_000) {
            let p = PartNumber::new(n).unwrap();
            prop_assert_eq!(p.to_string().parse::<PartNumber>().unwrap(), p);
        }

        #[test]
        fn part_number_rejects_out_of_range(n in prop_oneof![Just(0u32), 10_001u32..]) {
            prop_assert!(PartNumber::new(n).is_err());
        }

        #[test]
        fn key_round_trips(k in "\\PC{1,200}") {
            let key = ObjectKey::new(&k).unwrap();
            prop_assert_eq!(key.to_string().parse::<ObjectKey>().unwrap(), key);
        }

        #[test]
        fn bucket_validation_never_panics(s in "\\PC{0,80}") {
            if let Ok(b) = BucketName::new(&s) {
                prop_assert_eq!(b.as_str(), s.as_str());
            }
        }

        #[test]
        fn upload_id_round_trips(s in "[A-Za-z0-9._~-]{1,256}") {
            let id = UploadId::new(&s).unwrap();
            prop_assert_eq!(id.as_str(), s.as_str());
        }
    }
}
