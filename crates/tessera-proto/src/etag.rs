//! Entity tags: the part form `"<md5 hex>"` and the multipart form `"<md5 hex>-N"`.

use std::fmt;
use std::str::FromStr;

use md5::{Digest, Md5};

use crate::InvalidValue;

/// An entity tag, held without its quotes.
///
/// Tessera mints lower-case hex MD5s (`"9b2cf5…"`) and multipart tags (`"…-3"`). Tags that
/// come from clients are parsed leniently — quotes optional, any case, a weak `W/` prefix
/// dropped — and compared case-insensitively, since SDKs send back what they were given in
/// whatever case they stored it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ETag(Box<str>);

impl ETag {
    /// The tag of a body whose MD5 is `md5`.
    pub fn from_md5(md5: &[u8; 16]) -> Self {
        ETag(hex::encode(md5).into())
    }

    /// The tag of a multipart object: MD5 of the concatenated binary part MD5s, then `-N`.
    pub fn multipart<'a>(part_md5s: impl IntoIterator<Item = &'a [u8; 16]>) -> Self {
        let mut hasher = Md5::new();
        let mut count = 0u32;
        for md5 in part_md5s {
            hasher.update(md5);
            count += 1;
        }
        let digest: [u8; 16] = hasher.finalize().into();
        ETag(format!("{}-{count}", hex::encode(digest)).into())
    }

    /// A tag that is not an MD5 (for objects whose ETag S3 says is opaque, such as SSE-C).
    /// `value` must be printable ASCII without `"`.
    pub fn opaque(value: &str) -> Result<Self, InvalidValue> {
        Self::parse(value)
    }

    /// Parses a tag as a client sends it: optional quotes, optional `W/`, any case.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let s = s.trim();
        let s = s.strip_prefix("W/").unwrap_or(s);
        // oss2 quotes ETags that are already quoted (`""…""` in its Complete bodies): drop
        // every surrounding quote, not just one pair.
        let s = if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') { s.trim_matches('"') } else { s };
        // Some clients XML-escape the quotes themselves; accept the entity form too.
        let s = s.strip_prefix("&quot;").and_then(|t| t.strip_suffix("&quot;")).unwrap_or(s);
        if s.is_empty() || s.len() > 256 || !s.bytes().all(|b| b.is_ascii_graphic() && b != b'"') {
            return Err(InvalidValue::argument("The ETag is not valid."));
        }
        Ok(ETag(s.into()))
    }

    /// The tag without quotes.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tag with quotes, as it goes in an `ETag` header or `<ETag>` element.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }

    /// The MD5 this tag is, when it is a plain 32-hex-digit tag.
    pub fn md5(&self) -> Option<[u8; 16]> {
        let mut out = [0u8; 16];
        hex::decode_to_slice(self.0.as_bytes(), &mut out).ok()?;
        Some(out)
    }

    /// The part count of a multipart tag (`…-N`).
    pub fn part_count(&self) -> Option<u32> {
        let (digest, n) = self.0.rsplit_once('-')?;
        (digest.len() == 32 && digest.bytes().all(|b| b.is_ascii_hexdigit())).then_some(())?;
        n.parse().ok()
    }

    /// Whether two tags name the same entity (case-insensitive, quotes already dropped).
    pub fn matches(&self, other: &ETag) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl fmt::Display for ETag {
    /// Writes the quoted form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

impl FromStr for ETag {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ETag::parse(s)
    }
}

impl serde::Serialize for ETag {
    /// Serialises the quoted form, as S3 writes `<ETag>"…"</ETag>`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ETag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        ETag::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn md5_of_empty_body() {
        let md5: [u8; 16] = Md5::digest(b"").into();
        let tag = ETag::from_md5(&md5);
        assert_eq!(tag.quoted(), "\"d41d8cd98f00b204e9800998ecf8427e\"");
        assert_eq!(tag.md5(), Some(md5));
        assert_eq!(tag.part_count(), None);
    }

    #[test]
    fn multipart_form() {
        // Two parts whose MD5s are those of "a" and "b".
        let a: [u8; 16] = Md5::digest(b"a").into();
        let b: [u8; 16] = Md5::digest(b"b").into();
        let tag = ETag::multipart([&a, &b]);
        let mut cat = Vec::new();
        cat.extend_from_slice(&a);
        cat.extend_from_slice(&b);
        let expect = format!("{}-2", hex::encode(Md5::digest(&cat)));
        assert_eq!(tag.as_str(), expect);
        assert_eq!(tag.part_count(), Some(2));
        assert_eq!(tag.md5(), None);
    }

    #[test]
    fn lenient_parsing_and_matching() {
        let canonical = ETag::parse("\"9B2CF535F27731C974343645A3985328\"").unwrap();
        for s in [
            "9b2cf535f27731c974343645a3985328",
            "W/\"9b2cf535f27731c974343645a3985328\"",
            "&quot;9b2cf535f27731c974343645a3985328&quot;",
            "\"\"9b2cf535f27731c974343645a3985328\"\"",
        ] {
            assert!(ETag::parse(s).unwrap().matches(&canonical), "{s}");
        }
        for bad in ["", "\"\"", "a\"b", "tab\tinside"] {
            assert!(ETag::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn quoted_round_trips(md5 in any::<[u8; 16]>()) {
            let tag = ETag::from_md5(&md5);
            prop_assert_eq!(ETag::parse(&tag.quoted()).unwrap(), tag.clone());
            prop_assert_eq!(tag.md5(), Some(md5));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,64}") {
            let _ = ETag::parse(&s);
        }
    }
}
