//! Object and bucket tag sets: the `x-*-tagging` header and the `<Tagging>` document share
//! these limits.

use crate::encoding::{form_decode, uri_encode_component};
use crate::{ErrorCode, InvalidValue};

/// Most tags on one object.
pub const MAX_OBJECT_TAGS: usize = 10;
/// Most tags on one bucket.
pub const MAX_BUCKET_TAGS: usize = 50;
/// Longest tag key, in Unicode characters.
const MAX_KEY_CHARS: usize = 128;
/// Longest tag value, in Unicode characters.
const MAX_VALUE_CHARS: usize = 256;

/// One tag: `<Tag><Key>…</Key><Value>…</Value></Tag>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Tag {
    /// The key, 1 to 128 characters.
    #[serde(rename = "Key")]
    pub key: String,
    /// The value, up to 256 characters (may be empty).
    #[serde(rename = "Value", default)]
    pub value: String,
}

impl Tag {
    /// A tag with `key` and `value` (validated when it joins a [`TagSet`]).
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag { key: key.into(), value: value.into() }
    }
}

/// A validated set of tags: unique keys, S3's length limits, at most 10 tags on an object
/// (50 on a bucket). Order is kept as given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagSet(Vec<Tag>);

fn invalid(message: &'static str) -> InvalidValue {
    InvalidValue::new(ErrorCode::InvalidTag, message)
}

impl TagSet {
    /// Validates an object's tags; fails with `InvalidTag`.
    pub fn new(tags: Vec<Tag>) -> Result<Self, InvalidValue> {
        Self::with_limit(tags, MAX_OBJECT_TAGS)
    }

    /// Validates tags with at most `max` entries ([`MAX_BUCKET_TAGS`] for buckets).
    pub fn with_limit(tags: Vec<Tag>, max: usize) -> Result<Self, InvalidValue> {
        if tags.len() > max {
            return Err(invalid("Object tags cannot be greater than 10"));
        }
        for (i, tag) in tags.iter().enumerate() {
            let key_chars = tag.key.chars().count();
            if key_chars == 0 || key_chars > MAX_KEY_CHARS {
                return Err(invalid("The TagKey you have provided is invalid"));
            }
            if tag.value.chars().count() > MAX_VALUE_CHARS {
                return Err(invalid("The TagValue you have provided is invalid"));
            }
            // Sets are small (≤ 50), so the quadratic check is cheaper than hashing.
            if tags[..i].iter().any(|t| t.key == tag.key) {
                return Err(invalid("Cannot provide multiple Tags with the same key"));
            }
        }
        Ok(TagSet(tags))
    }

    /// Parses the `x-amz-tagging` header: URL-query-encoded `k=v&k2=v2`, `+` meaning space
    /// (as the header is a query string); a pair without `=` has an empty value (OSS, KS3
    /// documents). Fails with `InvalidTag`.
    pub fn parse_header(value: &str) -> Result<Self, InvalidValue> {
        let mut tags = Vec::new();
        for pair in value.split('&').filter(|p| !p.is_empty()) {
            // Bound the work before decoding: more pairs than the limit is already an error.
            if tags.len() == MAX_OBJECT_TAGS {
                return Err(invalid("Object tags cannot be greater than 10"));
            }
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = form_decode(k).map_err(|_| invalid("The TagKey you have provided is invalid"))?;
            let value = form_decode(v).map_err(|_| invalid("The TagValue you have provided is invalid"))?;
            tags.push(Tag { key, value });
        }
        Self::new(tags)
    }

    /// The header form, every byte outside RFC 3986's unreserved set percent-encoded.
    pub fn to_header(&self) -> String {
        let mut out = String::new();
        for (i, tag) in self.0.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(&uri_encode_component(&tag.key));
            out.push('=');
            out.push_str(&uri_encode_component(&tag.value));
        }
        out
    }

    /// The tags, in order.
    pub fn tags(&self) -> &[Tag] {
        &self.0
    }

    /// The value of tag `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }

    /// Number of tags.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no tags.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tags, by value.
    pub fn into_tags(self) -> Vec<Tag> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_as_the_sdks_send_it() {
        // botocore and oss2 send a raw space (`v 2`) in the vectors.
        let set = TagSet::parse_header("k1=v1&k2=v 2").unwrap();
        assert_eq!(set.tags(), &[Tag::new("k1", "v1"), Tag::new("k2", "v 2")]);
        let set = TagSet::parse_header("a%20b=c+d&%E6%96%87=%25&TagA").unwrap();
        assert_eq!(set.get("a b"), Some("c d"));
        assert_eq!(set.get("文"), Some("%"));
        assert_eq!(set.get("TagA"), Some(""));
        assert!(TagSet::parse_header("").unwrap().is_empty());
    }

    #[test]
    fn limits() {
        let bad = |s: &str| TagSet::parse_header(s).unwrap_err().code;
        assert_eq!(bad("a=1&a=2"), ErrorCode::InvalidTag);
        assert_eq!(bad("=v"), ErrorCode::InvalidTag);
        assert_eq!(bad(&format!("{}=v", "k".repeat(129))), ErrorCode::InvalidTag);
        assert_eq!(bad(&format!("k={}", "v".repeat(257))), ErrorCode::InvalidTag);
        assert_eq!(bad(&(0..11).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join("&")), ErrorCode::InvalidTag);
        assert_eq!(bad("k=%FF"), ErrorCode::InvalidTag);
        // Limits count characters, not bytes.
        assert!(TagSet::parse_header(&format!("{}=v", "é".repeat(128))).is_ok());
        assert_eq!(
            TagSet::parse_header(&(0..10).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join("&")).unwrap().len(),
            10
        );
        let many: Vec<Tag> = (0..50).map(|i| Tag::new(format!("k{i}"), "")).collect();
        assert!(TagSet::new(many.clone()).is_err());
        assert_eq!(TagSet::with_limit(many, MAX_BUCKET_TAGS).unwrap().len(), 50);
    }

    proptest! {
        #[test]
        fn header_round_trips(pairs in proptest::collection::btree_map("\\PC{1,20}", "\\PC{0,30}", 0..=10)) {
            let tags: Vec<Tag> = pairs.into_iter().map(|(k, v)| Tag::new(k, v)).collect();
            let set = TagSet::new(tags).unwrap();
            prop_assert_eq!(TagSet::parse_header(&set.to_header()).unwrap(), set);
        }

        #[test]
        fn header_parsing_never_panics(s in "\\PC{0,200}") {
            let _ = TagSet::parse_header(&s);
        }
    }
}
