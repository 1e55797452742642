//! The one error type of this crate, each variant answering with an S3 error code.

use std::fmt;

use tessera_proto::{ChecksumAlgorithm, ErrorCode};

/// Why a request's signature, timestamps or body were refused.
///
/// Every variant maps to the S3 error code the server answers with ([`SignError::code`]); the
/// five dialects use the same code names. Messages never contain a secret, a signature or a
/// string to sign.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignError {
    /// The signature does not match the one computed from the request and the secret.
    SignatureDoesNotMatch,
    /// A presigned URL (or a COS signature window) has expired.
    Expired,
    /// A presigned URL or COS signature window is not valid yet.
    NotYetValid,
    /// No usable `Date` / `x-amz-date` (or vendor date) header.
    MissingDate,
    /// The request time is more than 15 minutes away from the server's, in either direction.
    RequestTimeTooSkewed {
        /// The request's time, Unix seconds.
        request_time: u64,
        /// The server's time, Unix seconds.
        server_time: u64,
    },
    /// The access key is unknown. This crate never decides that: the caller, which owns the
    /// key table, returns [`SignError::invalid_access_key`].
    InvalidAccessKeyId,
    /// The `Authorization` header cannot be parsed.
    AuthorizationHeaderMalformed(&'static str),
    /// The presigned query parameters are missing or malformed.
    AuthorizationQueryParametersError(&'static str),
    /// `x-amz-content-sha256` / `x-oss-content-sha256` is neither a known literal nor a hex digest.
    InvalidContentSha256,
    /// The body's SHA-256 differs from the signed `x-amz-content-sha256`.
    XAmzContentSha256Mismatch,
    /// The body differs from a declared digest (Content-MD5, `x-amz-checksum-*`, a vendor CRC64
    /// header, a trailer checksum). The field names the digest.
    BadDigest(&'static str),
    /// `Content-MD5` is not the base64 of 16 bytes, or a vendor CRC64 header is not a decimal `u64`.
    InvalidDigest(&'static str),
    /// An `x-amz-checksum-*` header (or trailer) value is not valid base64 of the right length.
    InvalidChecksum(ChecksumAlgorithm),
    /// The aws-chunked body ended early, or decoded to a length other than
    /// `x-amz-decoded-content-length`.
    IncompleteBody,
    /// The aws-chunked framing is broken (bad size line, missing CRLF, oversize line, bad trailer).
    MalformedChunk(&'static str),
    /// One aws-chunked chunk is larger than the decoder's limit.
    ChunkTooLarge,
    /// The caller used the API out of order (a bug in the caller, never the client's fault).
    ApiMisuse(&'static str),
}

impl SignError {
    /// The error for an access key the caller's key table does not know.
    pub fn invalid_access_key() -> SignError {
        SignError::InvalidAccessKeyId
    }

    /// The S3 error code to answer with.
    pub fn code(&self) -> ErrorCode {
        match self {
            SignError::SignatureDoesNotMatch => ErrorCode::SignatureDoesNotMatch,
            SignError::Expired | SignError::NotYetValid | SignError::MissingDate => ErrorCode::AccessDenied,
            SignError::RequestTimeTooSkewed { .. } => ErrorCode::RequestTimeTooSkewed,
            SignError::InvalidAccessKeyId => ErrorCode::InvalidAccessKeyId,
            SignError::AuthorizationHeaderMalformed(_) => ErrorCode::AuthorizationHeaderMalformed,
            SignError::AuthorizationQueryParametersError(_) => ErrorCode::AuthorizationQueryParametersError,
            SignError::InvalidContentSha256 => ErrorCode::InvalidArgument,
            SignError::XAmzContentSha256Mismatch => ErrorCode::XAmzContentSHA256Mismatch,
            SignError::BadDigest(_) => ErrorCode::BadDigest,
            SignError::InvalidDigest(_) => ErrorCode::InvalidDigest,
            SignError::InvalidChecksum(_) => ErrorCode::InvalidRequest,
            SignError::IncompleteBody | SignError::MalformedChunk(_) => ErrorCode::IncompleteBody,
            SignError::ChunkTooLarge => ErrorCode::EntityTooLarge,
            SignError::ApiMisuse(_) => ErrorCode::InternalError,
        }
    }
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::SignatureDoesNotMatch => f.write_str(ErrorCode::SignatureDoesNotMatch.default_message()),
            SignError::Expired => f.write_str("Request has expired"),
            SignError::NotYetValid => f.write_str("Request is not valid yet"),
            SignError::MissingDate => f.write_str("AWS authentication requires a valid Date or x-amz-date header"),
            SignError::RequestTimeTooSkewed { request_time, server_time } => write!(
                f,
                "The difference between the request time ({request_time}) and the server's time ({server_time}) is too large."
            ),
            SignError::InvalidAccessKeyId => f.write_str(ErrorCode::InvalidAccessKeyId.default_message()),
            SignError::AuthorizationHeaderMalformed(why) => write!(f, "The authorization header is malformed; {why}"),
            SignError::AuthorizationQueryParametersError(why) => {
                write!(f, "Query-string authentication parameters are malformed; {why}")
            }
            SignError::InvalidContentSha256 => f.write_str(
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* literal, or a valid sha256 value.",
            ),
            SignError::XAmzContentSha256Mismatch => f.write_str(ErrorCode::XAmzContentSHA256Mismatch.default_message()),
            SignError::BadDigest(what) => write!(f, "The {what} you specified did not match the calculated value."),
            SignError::InvalidDigest(what) => write!(f, "The {what} you specified is not valid."),
            SignError::InvalidChecksum(alg) => write!(f, "Value for {} is invalid.", alg.header_name()),
            SignError::IncompleteBody => f.write_str(ErrorCode::IncompleteBody.default_message()),
            SignError::MalformedChunk(why) => write!(f, "Malformed aws-chunked body: {why}"),
            SignError::ChunkTooLarge => f.write_str("An aws-chunked chunk exceeds the size limit."),
            SignError::ApiMisuse(why) => write!(f, "tessera-sign API misuse: {why}"),
        }
    }
}

impl std::error::Error for SignError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses() {
        assert_eq!(SignError::Expired.code(), ErrorCode::AccessDenied);
        assert_eq!(SignError::invalid_access_key().code().status(), 403);
        assert_eq!(SignError::RequestTimeTooSkewed { request_time: 0, server_time: 1000 }.code().status(), 403);
        assert_eq!(SignError::AuthorizationHeaderMalformed("x").code().status(), 400);
        assert_eq!(SignError::XAmzContentSha256Mismatch.code().as_str(), "XAmzContentSHA256Mismatch");
        assert_eq!(SignError::InvalidDigest("Content-MD5").code(), ErrorCode::InvalidDigest);
        assert!(SignError::BadDigest("Content-MD5").to_string().contains("Content-MD5"));
    }
}
