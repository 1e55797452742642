//! Percent-encoding, shared by every crate: `encoding-type=url` in listings, RFC 3986
//! encoding for canonical requests and headers, and the decoders for query strings.
//!
//! # `encoding-type=url`: which encoding, and why
//!
//! When a listing request carries `encoding-type=url`, the response encodes keys, prefixes,
//! markers and delimiters, and says so with `<EncodingType>url</EncodingType>`. The SDKs
//! decode those fields with two different functions:
//!
//! - botocore (`unquote_str`) uses Python's `unquote_plus`: `+` becomes a space, then `%XX`;
//! - cos-python-sdk-v5 (`decode_result`), oss2 and alibabacloud-oss-v2 use `unquote`:
//!   `%XX` only, a `+` stays a `+`.
//!
//! S3 itself writes a space as `+`, which only `unquote_plus` undoes: COS and OSS clients
//! would see `a+b` for the key `a b`. So Tessera writes a form both decoders invert: every
//! byte of the UTF-8 key except the RFC 3986 unreserved characters (`A-Z a-z 0-9 - _ . ~`)
//! and `/` becomes `%XX` (upper-case hex). In particular a space is `%20`, `+` is `%2B`, `%`
//! is `%25`, and no bare `+` ever appears, so `unquote` and `unquote_plus` agree on every
//! output. `/` stays literal as in S3 (both decoders leave it alone, and prefixes stay
//! readable). The property tests below check the round trip against models of both decoders.

use std::borrow::Cow;
use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::InvalidValue;

/// Every byte except RFC 3986's unreserved characters `A-Z a-z 0-9 - _ . ~`.
pub const RFC3986_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// As [`RFC3986_COMPONENT`], keeping `/` (paths, and `encoding-type=url`).
pub const RFC3986_PATH: &AsciiSet = &RFC3986_COMPONENT.remove(b'/');

/// Encodes `s` for a response that carries `<EncodingType>url</EncodingType>` (see the
/// module documentation for the choice of characters).
pub fn url_encode(s: &str) -> Cow<'_, str> {
    utf8_percent_encode(s, RFC3986_PATH).into()
}

/// Decodes a field of a response that carries `<EncodingType>url</EncodingType>`: `+` as a
/// space (as S3 writes it), then `%XX`. Inverts [`url_encode`] and S3's own encoding.
pub fn url_decode(s: &str) -> Result<String, InvalidValue> {
    form_decode(s)
}

/// RFC 3986 encoding of a query component or header value: everything but the unreserved
/// characters, `/` included, as `%XX` with upper-case hex (SigV4, COS, OSS V4 canonical forms).
pub fn uri_encode_component(s: &str) -> Cow<'_, str> {
    utf8_percent_encode(s, RFC3986_COMPONENT).into()
}

/// RFC 3986 encoding that keeps `/` (canonical URIs).
pub fn uri_encode_path(s: &str) -> Cow<'_, str> {
    utf8_percent_encode(s, RFC3986_PATH).into()
}

/// RFC 3986 encoding of raw bytes (a path that was percent-decoded to bytes that need not be
/// UTF-8), keeping `/` when `keep_slash`.
pub fn uri_encode_bytes(bytes: &[u8], keep_slash: bool) -> String {
    let set = if keep_slash { RFC3986_PATH } else { RFC3986_COMPONENT };
    percent_encoding::percent_encode(bytes, set).to_string()
}

fn not_utf8() -> InvalidValue {
    InvalidValue::argument("The percent-decoded value is not valid UTF-8.")
}

/// Decodes `%XX` sequences (a `+` stays a `+`: paths, DIALECTS.md §0.4 rule 3). A `%` not
/// followed by two hex digits is kept literally, as every SDK's decoder does. Fails with
/// `InvalidArgument` when the bytes are not UTF-8.
pub fn percent_decode(s: &str) -> Result<String, InvalidValue> {
    percent_decode_str(s).decode_utf8().map(Cow::into_owned).map_err(|_| not_utf8())
}

/// Decodes `%XX` sequences to raw bytes (paths may name non-UTF-8 keys before validation).
pub fn percent_decode_bytes(s: &str) -> Cow<'_, [u8]> {
    percent_decode_str(s).into()
}

/// Decodes a query-string component: `+` is a space, then `%XX` (DIALECTS.md §0.4 rule 1:
/// `requests` form-encodes COS and oss2 parameters). Fails with `InvalidArgument` when the
/// bytes are not UTF-8.
pub fn form_decode(s: &str) -> Result<String, InvalidValue> {
    if s.contains('+') { percent_decode(&s.replace('+', " ")) } else { percent_decode(s) }
}

/// The `encoding-type` request parameter. Only `url` exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EncodingType {
    /// `url`: keys and prefixes in the response are percent-encoded ([`url_encode`]).
    Url,
}

impl EncodingType {
    /// Parses the parameter (ASCII case-insensitive); fails with `InvalidArgument`, the code
    /// S3 answers with for `encoding-type=base64`.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        if value.trim().eq_ignore_ascii_case("url") {
            Ok(EncodingType::Url)
        } else {
            Err(InvalidValue::argument("Invalid Encoding Method specified in Request"))
        }
    }

    /// `url`.
    pub fn as_str(self) -> &'static str {
        "url"
    }
}

impl fmt::Display for EncodingType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for EncodingType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for EncodingType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        EncodingType::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Python's `urllib.parse.unquote` (cos-python-sdk-v5, oss2, alibabacloud-oss-v2):
    /// `%XX` with two hex digits becomes a byte, anything else is kept, then UTF-8 with
    /// replacement characters.
    fn python_unquote(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if b[i] == b'%'
                && i + 2 < b.len()
                && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
            {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Python's `urllib.parse.unquote_plus` (botocore's `unquote_str`).
    fn python_unquote_plus(s: &str) -> String {
        python_unquote(&s.replace('+', " "))
    }

    #[test]
    fn the_vectors_awkward_keys() {
        assert_eq!(url_encode("a b/c+d%e"), "a%20b/c%2Bd%25e");
        assert_eq!(url_encode("文件/ü é.txt"), "%E6%96%87%E4%BB%B6/%C3%BC%20%C3%A9.txt");
        assert_eq!(
            url_encode("odd/!$&'()*,;=:@~[]^\\`{}|.bin"),
            "odd/%21%24%26%27%28%29%2A%2C%3B%3D%3A%40~%5B%5D%5E%5C%60%7B%7D%7C.bin"
        );
        assert_eq!(url_encode("\u{1}<&>"), "%01%3C%26%3E");
        assert_eq!(uri_encode_component("a/b c"), "a%2Fb%20c");
        assert_eq!(uri_encode_path("a/b c"), "a/b%20c");
        assert_eq!(uri_encode_bytes(b"a/\xff", true), "a/%FF");
    }

    #[test]
    fn decoders() {
        assert_eq!(form_decode("photos%2F+2025").unwrap(), "photos/ 2025");
        assert_eq!(form_decode("a%2Bb").unwrap(), "a+b");
        assert_eq!(percent_decode("a+b%20c").unwrap(), "a+b c");
        assert_eq!(percent_decode("100%").unwrap(), "100%");
        assert_eq!(percent_decode("%zz%4").unwrap(), "%zz%4");
        assert!(percent_decode("%FF").is_err());
        assert_eq!(&*percent_decode_bytes("%FF"), b"\xff");
        assert_eq!(url_decode("a+b%2B").unwrap(), "a b+");
    }

    #[test]
    fn encoding_type_parameter() {
        assert_eq!(EncodingType::parse("url").unwrap(), EncodingType::Url);
        assert_eq!(EncodingType::parse("URL").unwrap(), EncodingType::Url);
        assert_eq!(EncodingType::parse("base64").unwrap_err().code, crate::ErrorCode::InvalidArgument);
    }

    proptest! {
        #[test]
        fn every_sdk_decodes_the_url_encoding(key in "\\PC{0,64}|[ +%/a-z~*]{0,32}|\\PC*[\\x00-\\x1f]\\PC*") {
            let encoded = url_encode(&key);
            prop_assert!(!encoded.contains('+') && !encoded.contains(' '));
            prop_assert_eq!(python_unquote(&encoded), key.clone(), "unquote");
            prop_assert_eq!(python_unquote_plus(&encoded), key.clone(), "unquote_plus");
            prop_assert_eq!(url_decode(&encoded).unwrap(), key.clone());
            prop_assert_eq!(percent_decode(&encoded).unwrap(), key);
        }

        #[test]
        fn rfc3986_round_trips(s in "\\PC{0,64}") {
            let encoded = uri_encode_component(&s);
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)));
            prop_assert_eq!(percent_decode(&encoded).unwrap(), s.clone());
            prop_assert_eq!(form_decode(&encoded).unwrap(), s);
        }

        #[test]
        fn decoders_never_panic(s in "\\PC{0,64}") {
            let _ = form_decode(&s);
            let _ = percent_decode(&s);
        }
    }
}
