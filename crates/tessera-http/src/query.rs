//! Query strings, decoded the way every SDK's encoder needs (DIALECTS.md §0.4).
//!
//! COS and oss2 form-encode with `requests` (a space arrives as `+`, a real plus as `%2B`);
//! botocore, OBS, KS3 and alibabacloud-oss-v2 send `%20` and `%2B`. Decoding `+` as a space
//! is therefore right for all of them. Valueless parameters (`?uploads`, `?uploads=`) are kept
//! with a flag, because some signature schemes sign the two spellings differently.

use crate::HttpError;

/// One decoded query parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// The decoded name, case kept.
    pub name: String,
    /// The decoded value (empty for a valueless parameter).
    pub value: String,
    /// Whether the wire form had an `=` (`uploads=` rather than `uploads`).
    pub has_eq: bool,
}

/// A decoded query string, in wire order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    params: Vec<Param>,
}

/// Most parameters a query may carry before it is refused.
pub const MAX_PARAMS: usize = 256;

impl Query {
    /// Decodes a raw query string (without the `?`).
    pub fn parse(raw: &str) -> Result<Query, HttpError> {
        let mut params = Vec::new();
        for piece in raw.split('&').filter(|p| !p.is_empty()) {
            if params.len() == MAX_PARAMS {
                return Err(HttpError::bad_request("Too many query parameters."));
            }
            let (name, value, has_eq) = match piece.split_once('=') {
                Some((n, v)) => (n, v, true),
                None => (piece, "", false),
            };
            params.push(Param { name: form_decode(name)?, value: form_decode(value)?, has_eq });
        }
        Ok(Query { params })
    }

    /// Every parameter, in wire order.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The value of the first parameter named `name` (exact case), if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|p| p.name == name).map(|p| p.value.as_str())
    }

    /// Whether a parameter named `name` is present (with or without a value).
    pub fn has(&self, name: &str) -> bool {
        self.params.iter().any(|p| p.name == name)
    }

    /// The value of `name`, compared without regard to ASCII case (COS and OBS lower-case
    /// some names when signing; a few clients send `partnumber`).
    pub fn get_ignore_case(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|p| p.name.eq_ignore_ascii_case(name)).map(|p| p.value.as_str())
    }

    /// Whether this query carries presigned-URL authentication of any dialect.
    pub fn is_presigned(&self) -> bool {
        const MARKERS: [&str; 7] = [
            "X-Amz-Signature",
            "Signature",
            "q-signature",
            "x-oss-signature",
            "AWSAccessKeyId",
            "AccessKeyId",
            "KSSAccessKeyId",
        ];
        MARKERS.iter().any(|m| self.has(m))
    }
}

/// Decodes `+` as a space, then `%XX` as a byte, then the bytes as UTF-8.
pub fn form_decode(s: &str) -> Result<String, HttpError> {
    if !s.bytes().any(|b| b == b'+' || b == b'%') {
        return Ok(s.to_owned());
    }
    let spaced = s.replace('+', " ");
    percent_decode_utf8(&spaced)
}

/// Decodes `%XX` escapes (a `+` stays a `+`), then the bytes as UTF-8. A `%` not followed by
/// two hex digits is an error, as S3 answers for malformed URIs.
pub fn percent_decode_utf8(s: &str) -> Result<String, HttpError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                _ => return Err(HttpError::invalid_uri("A percent escape in the URI is malformed.")),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| HttpError::invalid_uri("The URI does not decode to UTF-8."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plus_is_a_space_in_queries() {
        let q = Query::parse("prefix=photos%2F+2025&max-uploads=10&encoding-type=url").unwrap();
        assert_eq!(q.get("prefix"), Some("photos/ 2025"));
        assert_eq!(q.get("max-uploads"), Some("10"));
        let q = Query::parse("prefix=a%2Bb").unwrap();
        assert_eq!(q.get("prefix"), Some("a+b"));
    }

    #[test]
    fn valueless_spellings_are_equivalent_for_routing() {
        for raw in ["uploads", "uploads=", "uploads&x=", "x=&uploads"] {
            let q = Query::parse(raw).unwrap();
            assert!(q.has("uploads"), "{raw}");
            assert_eq!(q.get("uploads"), Some(""));
        }
        assert!(!Query::parse("uploads").unwrap().params()[0].has_eq);
        assert!(Query::parse("uploads=").unwrap().params()[0].has_eq);
    }

    #[test]
    fn unencoded_slashes_and_raw_upload_ids() {
        let q = Query::parse("prefix=photos/%202025&partNumber=1&uploadId=UPLOADID0123456789abcdef.-_~").unwrap();
        assert_eq!(q.get("prefix"), Some("photos/ 2025"));
        assert_eq!(q.get("uploadId"), Some("UPLOADID0123456789abcdef.-_~"));
        assert_eq!(q.get_ignore_case("partnumber"), Some("1"));
    }

    #[test]
    fn malformed_escapes_are_errors() {
        for raw in ["a=%", "a=%4", "a=%zz", "a=%ff%fe"] {
            assert!(Query::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn presign_markers() {
        assert!(Query::parse("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab").unwrap().is_presigned());
        assert!(Query::parse("q-sign-algorithm=sha1&q-signature=ab").unwrap().is_presigned());
        assert!(!Query::parse("uploads").unwrap().is_presigned());
    }

    #[test]
    fn too_many_params() {
        let raw = vec!["a=1"; MAX_PARAMS + 1].join("&");
        assert!(Query::parse(&raw).is_err());
    }

    proptest! {
        #[test]
        fn form_encoding_round_trips(s in "\\PC{0,40}") {
            // What `requests` does: quote_plus.
            let encoded: String = s.bytes().map(|b| match b {
                b' ' => "+".to_owned(),
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            }).collect();
            prop_assert_eq!(form_decode(&encoded).unwrap(), s);
        }

        #[test]
        fn parse_never_panics(raw in "[ -~]{0,100}") {
            let _ = Query::parse(&raw);
        }
    }
}
