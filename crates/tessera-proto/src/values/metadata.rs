//! User metadata (`x-amz-meta-*` and the vendors' equivalents).

use crate::dialect::MAX_USER_METADATA;
use crate::{Dialect, ErrorCode, InvalidValue};

/// User metadata: ordered `(name, value)` pairs, names lower-cased without the vendor prefix,
/// values kept byte-exact (SDKs send UTF-8 and sometimes raw Latin-1 or RFC 2047 words; the
/// store gives back exactly what it got). Names and values together are at most 2 KB.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserMetadata {
    entries: Vec<(String, Vec<u8>)>,
    size: usize,
}

fn too_large() -> InvalidValue {
    InvalidValue::new(ErrorCode::MetadataTooLarge, ErrorCode::MetadataTooLarge.default_message())
}

impl UserMetadata {
    /// No metadata.
    pub fn new() -> Self {
        Self::default()
    }

    /// Collects metadata from a request's headers for `dialect`: every header whose name
    /// starts (case-insensitively) with the dialect's `meta_prefix` contributes one entry.
    /// Repeated names are joined with `,`, as HTTP folds repeated headers.
    pub fn collect<'a>(
        dialect: Dialect,
        headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Self, InvalidValue> {
        Self::collect_with_prefix(dialect.spec().meta_prefix, headers)
    }

    /// As [`collect`](Self::collect) with an explicit prefix (OBS in AWS-V2 mode sends
    /// `x-amz-meta-`).
    pub fn collect_with_prefix<'a>(
        prefix: &str,
        headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Self, InvalidValue> {
        let mut meta = UserMetadata::new();
        for (name, value) in headers {
            let Some(head) = name.get(..prefix.len()) else { continue };
            if head.eq_ignore_ascii_case(prefix) {
                meta.insert(&name[prefix.len()..], value)?;
            }
        }
        Ok(meta)
    }

    /// Adds `value` under `name` (without prefix; lower-cased here). Fails with
    /// `InvalidArgument` for an empty or non-token name, `MetadataTooLarge` past 2 KB.
    pub fn insert(&mut self, name: &str, value: &[u8]) -> Result<(), InvalidValue> {
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(InvalidValue::argument("User metadata names must be non-empty HTTP tokens."));
        }
        let name = name.to_ascii_lowercase();
        if let Some((_, existing)) = self.entries.iter_mut().find(|(n, _)| *n == name) {
            let added = 1 + value.len();
            if self.size + added > MAX_USER_METADATA {
                return Err(too_large());
            }
            existing.push(b',');
            existing.extend_from_slice(value);
            self.size += added;
        } else {
            let added = name.len() + value.len();
            if self.size + added > MAX_USER_METADATA {
                return Err(too_large());
            }
            self.entries.push((name, value.to_vec()));
            self.size += added;
        }
        Ok(())
    }

    /// The value under `name` (any case).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.entries.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    /// The entries in the order they arrived.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The response headers for `dialect`: `(x-cos-meta-name, value)`.
    pub fn headers(&self, dialect: Dialect) -> impl Iterator<Item = (String, &[u8])> {
        let prefix = dialect.spec().meta_prefix;
        self.entries.iter().map(move |(n, v)| (format!("{prefix}{n}"), v.as_slice()))
    }

    /// Bytes counted against the 2 KB limit: names plus values.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no metadata.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn collects_the_dialects_prefix_only() {
        let headers: Vec<(&str, &[u8])> = vec![
            ("x-cos-meta-Author", b"Alice  Smith"),
            ("X-COS-META-note", b"a=1; b,c"),
            ("x-amz-meta-other", b"ignored"),
            ("content-type", b"image/jpeg"),
            ("x-cos-meta-utf8", "ü é 文件".as_bytes()),
            ("x-cos-meta-latin1", b"\xfc"),
        ];
        let meta = UserMetadata::collect(Dialect::Cos, headers).unwrap();
        let names: Vec<&str> = meta.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["author", "note", "utf8", "latin1"]);
        assert_eq!(meta.get("AUTHOR"), Some(&b"Alice  Smith"[..]));
        assert_eq!(meta.get("utf8"), Some("ü é 文件".as_bytes()));
        assert_eq!(meta.get("latin1"), Some(&b"\xfc"[..]));
        let out: Vec<(String, &[u8])> = meta.headers(Dialect::Cos).collect();
        assert_eq!(out[0], ("x-cos-meta-author".to_owned(), &b"Alice  Smith"[..]));
    }

    #[test]
    fn repeated_names_are_joined() {
        let meta =
            UserMetadata::collect(Dialect::Aws, [("x-amz-meta-a", &b"1"[..]), ("x-amz-meta-A", &b"2"[..])]).unwrap();
        assert_eq!(meta.get("a"), Some(&b"1,2"[..]));
        assert_eq!(meta.size(), 4);
    }

    #[test]
    fn two_kilobytes_and_no_more() {
        let value = vec![b'v'; 2048 - 4];
        let meta = UserMetadata::collect(Dialect::Oss, [("x-oss-meta-name", value.as_slice())]).unwrap();
        assert_eq!(meta.size(), 2048);
        let value = vec![b'v'; 2048 - 3];
        let err = UserMetadata::collect(Dialect::Oss, [("x-oss-meta-name", value.as_slice())]).unwrap_err();
        assert_eq!(err.code, ErrorCode::MetadataTooLarge);
    }

    #[test]
    fn bad_names() {
        assert_eq!(
            UserMetadata::collect(Dialect::Aws, [("x-amz-meta-", &b"v"[..])]).unwrap_err().code,
            ErrorCode::InvalidArgument
        );
        assert!(UserMetadata::new().insert("a b", b"v").is_err());
    }

    proptest! {
        #[test]
        fn size_is_names_plus_values(entries in proptest::collection::btree_map("[a-z0-9-]{1,16}", proptest::collection::vec(any::<u8>(), 0..64), 0..20)) {
            let headers: Vec<(String, Vec<u8>)> = entries.iter().map(|(n, v)| (format!("x-kss-meta-{n}"), v.clone())).collect();
            let total: usize = entries.iter().map(|(n, v)| n.len() + v.len()).sum();
            let meta = UserMetadata::collect(Dialect::Ks3, headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()))).unwrap();
            prop_assert_eq!(meta.size(), total);
            for (n, v) in &entries {
                prop_assert_eq!(meta.get(n), Some(v.as_slice()));
            }
        }
    }
}
