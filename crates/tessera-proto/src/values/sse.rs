//! Server-side-encryption requests: SSE-S3 (`AES256`), SSE-KMS (each vendor's spelling) and
//! SSE-C (customer key sent with every request).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use md5::{Digest, Md5};

use crate::{Dialect, ErrorCode, InvalidValue};

/// The names of the encryption headers in one dialect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseHeaderNames {
    /// `x-amz-server-side-encryption`.
    pub algorithm: String,
    /// The KMS key id header (`x-amz-server-side-encryption-aws-kms-key-id`, OSS `…-key-id`).
    pub kms_key_id: String,
    /// `…-server-side-encryption-customer-algorithm`.
    pub customer_algorithm: String,
    /// `…-server-side-encryption-customer-key`.
    pub customer_key: String,
    /// `…-server-side-encryption-customer-key-MD5` (compare case-insensitively).
    pub customer_key_md5: String,
}

impl SseHeaderNames {
    /// The header names `dialect` uses, lower case except the `MD5` vendors spell so.
    pub fn for_dialect(dialect: Dialect) -> Self {
        SseHeaderNames {
            algorithm: dialect.header("server-side-encryption"),
            kms_key_id: dialect.spec().kms_key_id_header.to_owned(),
            customer_algorithm: dialect.header("server-side-encryption-customer-algorithm"),
            customer_key: dialect.header("server-side-encryption-customer-key"),
            customer_key_md5: dialect.header("server-side-encryption-customer-key-MD5"),
        }
    }
}

/// The encryption header values of one request, as found (absent headers are `None`).
#[derive(Clone, Copy, Default)]
pub struct SseHeaders<'a> {
    /// The server-side-encryption header.
    pub algorithm: Option<&'a str>,
    /// The KMS key id header.
    pub kms_key_id: Option<&'a str>,
    /// The SSE-C algorithm header.
    pub customer_algorithm: Option<&'a str>,
    /// The SSE-C key header (base64).
    pub customer_key: Option<&'a str>,
    /// The SSE-C key-MD5 header (base64).
    pub customer_key_md5: Option<&'a str>,
}

impl fmt::Debug for SseHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseHeaders")
            .field("algorithm", &self.algorithm)
            .field("kms_key_id", &self.kms_key_id)
            .field("customer_algorithm", &self.customer_algorithm)
            .field("customer_key", &self.customer_key.map(|_| "<redacted>"))
            .field("customer_key_md5", &self.customer_key_md5)
            .finish()
    }
}

/// An SSE-C key: 256 bits and their MD5, checked to match. Debug output never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct CustomerKey {
    key: [u8; 32],
    key_md5: [u8; 16],
}

impl CustomerKey {
    /// Parses the algorithm, base64 key and base64 key-MD5 headers. The algorithm must be
    /// `AES256` (else `InvalidEncryptionAlgorithmError`); the key must be 32 bytes and its MD5
    /// must match (else `InvalidArgument`).
    pub fn parse(algorithm: &str, key_b64: &str, key_md5_b64: &str) -> Result<Self, InvalidValue> {
        if algorithm.trim() != "AES256" {
            return Err(InvalidValue::new(
                ErrorCode::InvalidEncryptionAlgorithmError,
                "The encryption request you specified is not valid. The valid value is AES256.",
            ));
        }
        let key: [u8; 32] = B64
            .decode(key_b64.trim())
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| InvalidValue::argument("The secret key was invalid for the specified algorithm."))?;
        let key_md5: [u8; 16] =
            B64.decode(key_md5_b64.trim()).ok().and_then(|k| k.try_into().ok()).ok_or_else(|| {
                InvalidValue::argument("The calculated MD5 hash of the key did not match the hash that was provided.")
            })?;
        let actual: [u8; 16] = Md5::digest(key).into();
        if actual != key_md5 {
            return Err(InvalidValue::argument(
                "The calculated MD5 hash of the key did not match the hash that was provided.",
            ));
        }
        Ok(CustomerKey { key, key_md5 })
    }

    /// A key given as bytes (its MD5 is computed).
    pub fn from_key(key: [u8; 32]) -> Self {
        CustomerKey { key, key_md5: Md5::digest(key).into() }
    }

    /// The 256-bit key.
    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }

    /// The key's MD5.
    pub fn key_md5(&self) -> &[u8; 16] {
        &self.key_md5
    }

    /// The key's MD5 in base64, as echoed in `…-customer-key-MD5` response headers.
    pub fn key_md5_base64(&self) -> String {
        B64.encode(self.key_md5)
    }
}

impl fmt::Debug for CustomerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerKey").field("key", &"<redacted>").field("key_md5", &self.key_md5_base64()).finish()
    }
}

/// What a request asks the server to do about encryption at rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SseRequest {
    /// Server-managed keys (`AES256`).
    S3,
    /// KMS-managed keys, optionally naming the master key.
    Kms {
        /// The key id header's value, when sent.
        key_id: Option<String>,
    },
    /// A customer-provided key (SSE-C).
    Customer(CustomerKey),
}

impl SseRequest {
    /// Reads a request's encryption headers for `dialect`. `Ok(None)` when none was sent.
    ///
    /// Fails with `InvalidEncryptionAlgorithmError` for an algorithm the dialect does not
    /// spell, and `InvalidArgument` for a KMS key id without KMS, an incomplete or mismatched
    /// SSE-C set, or SSE-C combined with another mode.
    pub fn from_headers(dialect: Dialect, headers: &SseHeaders<'_>) -> Result<Option<Self>, InvalidValue> {
        let customer = [headers.customer_algorithm, headers.customer_key, headers.customer_key_md5];
        if customer.iter().any(Option::is_some) {
            if headers.algorithm.is_some() || headers.kms_key_id.is_some() {
                return Err(InvalidValue::argument(
                    "Server-side encryption with customer keys cannot be combined with another mode.",
                ));
            }
            let [Some(algorithm), Some(key), Some(md5)] = customer else {
                return Err(InvalidValue::argument(
                    "Requests specifying Server Side Encryption with Customer provided keys must provide the algorithm, the key and its MD5.",
                ));
            };
            return CustomerKey::parse(algorithm, key, md5).map(|k| Some(SseRequest::Customer(k)));
        }
        let Some(algorithm) = headers.algorithm.map(str::trim) else {
            if headers.kms_key_id.is_some() {
                return Err(InvalidValue::argument(
                    "The KMS key id may only be given with KMS server-side encryption.",
                ));
            }
            return Ok(None);
        };
        if algorithm == "AES256" {
            if headers.kms_key_id.is_some() {
                return Err(InvalidValue::argument(
                    "The KMS key id may only be given with KMS server-side encryption.",
                ));
            }
            return Ok(Some(SseRequest::S3));
        }
        if dialect.spec().kms_algorithms.contains(&algorithm) {
            let key_id = headers.kms_key_id.map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned);
            return Ok(Some(SseRequest::Kms { key_id }));
        }
        Err(InvalidValue::new(
            ErrorCode::InvalidEncryptionAlgorithmError,
            ErrorCode::InvalidEncryptionAlgorithmError.default_message(),
        ))
    }

    /// The value of the server-side-encryption response header in `dialect` (`AES256`,
    /// `aws:kms`, `cos/kms`, …); `None` for SSE-C, which echoes the customer headers instead.
    pub fn algorithm_header_value(&self, dialect: Dialect) -> Option<&'static str> {
        match self {
            SseRequest::S3 => Some("AES256"),
            SseRequest::Kms { .. } => dialect.spec().kms_algorithms.first().copied(),
            SseRequest::Customer(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn headers(algorithm: Option<&str>) -> SseHeaders<'_> {
        SseHeaders { algorithm, ..SseHeaders::default() }
    }

    #[test]
    fn algorithms_per_dialect() {
        assert_eq!(SseRequest::from_headers(Dialect::Aws, &headers(None)).unwrap(), None);
        assert_eq!(SseRequest::from_headers(Dialect::Oss, &headers(Some("AES256"))).unwrap(), Some(SseRequest::S3));
        let kms = |d, a| SseRequest::from_headers(d, &headers(Some(a)));
        assert_eq!(kms(Dialect::Aws, "aws:kms").unwrap(), Some(SseRequest::Kms { key_id: None }));
        assert_eq!(kms(Dialect::Cos, "cos/kms").unwrap(), Some(SseRequest::Kms { key_id: None }));
        assert_eq!(kms(Dialect::Oss, "KMS").unwrap(), Some(SseRequest::Kms { key_id: None }));
        assert_eq!(kms(Dialect::Obs, "kms").unwrap(), Some(SseRequest::Kms { key_id: None }));
        for (d, a) in
            [(Dialect::Aws, "kms"), (Dialect::Oss, "aws:kms"), (Dialect::Cos, "SM4"), (Dialect::Aws, "aes256")]
        {
            assert_eq!(kms(d, a).unwrap_err().code, ErrorCode::InvalidEncryptionAlgorithmError, "{d} {a}");
        }
        let with_key = SseHeaders { algorithm: Some("KMS"), kms_key_id: Some("key-1"), ..SseHeaders::default() };
        assert_eq!(
            SseRequest::from_headers(Dialect::Oss, &with_key).unwrap(),
            Some(SseRequest::Kms { key_id: Some("key-1".into()) })
        );
        assert_eq!(SseRequest::Kms { key_id: None }.algorithm_header_value(Dialect::Cos), Some("cos/kms"));
        let stray = SseHeaders { kms_key_id: Some("k"), ..SseHeaders::default() };
        assert_eq!(SseRequest::from_headers(Dialect::Aws, &stray).unwrap_err().code, ErrorCode::InvalidArgument);
    }

    #[test]
    fn customer_keys() {
        let key = [7u8; 32];
        let key_b64 = B64.encode(key);
        let md5_b64 = B64.encode(Md5::digest(key));
        let h = SseHeaders {
            customer_algorithm: Some("AES256"),
            customer_key: Some(&key_b64),
            customer_key_md5: Some(&md5_b64),
            ..SseHeaders::default()
        };
        let Some(SseRequest::Customer(ck)) = SseRequest::from_headers(Dialect::Ks3, &h).unwrap() else {
            panic!("expected SSE-C");
        };
        assert_eq!(ck.key(), &key);
        assert_eq!(ck.key_md5_base64(), md5_b64);
        assert_eq!(ck, CustomerKey::from_key(key));

        let wrong_md5 = B64.encode([0u8; 16]);
        let bad = SseHeaders { customer_key_md5: Some(&wrong_md5), ..h };
        assert_eq!(SseRequest::from_headers(Dialect::Aws, &bad).unwrap_err().code, ErrorCode::InvalidArgument);
        let short = B64.encode([1u8; 16]);
        let bad = SseHeaders { customer_key: Some(&short), ..h };
        assert_eq!(SseRequest::from_headers(Dialect::Aws, &bad).unwrap_err().code, ErrorCode::InvalidArgument);
        let bad = SseHeaders { customer_algorithm: Some("AES128"), ..h };
        assert_eq!(
            SseRequest::from_headers(Dialect::Aws, &bad).unwrap_err().code,
            ErrorCode::InvalidEncryptionAlgorithmError
        );
        let bad = SseHeaders { customer_key_md5: None, ..h };
        assert_eq!(SseRequest::from_headers(Dialect::Aws, &bad).unwrap_err().code, ErrorCode::InvalidArgument);
        let bad = SseHeaders { algorithm: Some("AES256"), ..h };
        assert_eq!(SseRequest::from_headers(Dialect::Aws, &bad).unwrap_err().code, ErrorCode::InvalidArgument);
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = [0xABu8; 32];
        let shown = format!("{:?}", SseRequest::Customer(CustomerKey::from_key(key)));
        assert!(!shown.contains("171"), "{shown}");
        assert!(!shown.to_lowercase().contains("abab"), "{shown}");
        assert!(!shown.contains(&B64.encode(key)), "{shown}");
        assert!(shown.contains("redacted"));
        let key_b64 = B64.encode(key);
        let h = SseHeaders { customer_key: Some(&key_b64), ..SseHeaders::default() };
        assert!(!format!("{h:?}").contains(&key_b64));
    }

    #[test]
    fn header_names() {
        let names = SseHeaderNames::for_dialect(Dialect::Cos);
        assert_eq!(names.algorithm, "x-cos-server-side-encryption");
        assert_eq!(names.kms_key_id, "x-cos-server-side-encryption-cos-kms-key-id");
        assert_eq!(names.customer_key_md5, "x-cos-server-side-encryption-customer-key-MD5");
    }

    proptest! {
        #[test]
        fn customer_key_round_trips(key in any::<[u8; 32]>()) {
            let ck = CustomerKey::from_key(key);
            let parsed = CustomerKey::parse("AES256", &B64.encode(key), &ck.key_md5_base64()).unwrap();
            prop_assert_eq!(parsed, ck);
        }
    }
}
