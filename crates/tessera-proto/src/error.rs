//! The open set of S3 error codes, each with its HTTP status.

use std::borrow::Cow;
use std::fmt;

macro_rules! error_codes {
    (@code $name:ident) => { stringify!($name) };
    (@code $name:ident $code:literal) => { $code };
    ($( $(#[$doc:meta])* $name:ident $(as $code:literal)? => $status:literal, $msg:literal; )*) => {
        /// An S3 error code. The set is open: codes Tessera does not name travel as
        /// [`ErrorCode::Custom`] with their own status.
        ///
        /// Every dialect uses these names in its `<Error><Code>` element; what differs per
        /// dialect is the rest of the body (see [`crate::dialect::ErrorExtras`]).
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $name, )*
            /// A code not named above, with its HTTP status.
            Custom {
                /// The code as it appears in `<Code>`.
                code: Cow<'static, str>,
                /// The HTTP status it answers with.
                status: u16,
            },
        }

        impl ErrorCode {
            /// Every named code (not [`ErrorCode::Custom`]).
            pub const NAMED: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The code as written in `<Code>`.
            pub fn as_str(&self) -> &str {
                match self {
                    $( ErrorCode::$name => error_codes!(@code $name $($code)?), )*
                    ErrorCode::Custom { code, .. } => code,
                }
            }

            /// The HTTP status this code answers with.
            pub fn status(&self) -> u16 {
                match self {
                    $( ErrorCode::$name => $status, )*
                    ErrorCode::Custom { status, .. } => *status,
                }
            }

            /// The message S3 gives with this code when nothing more specific is known.
            pub fn default_message(&self) -> &'static str {
                match self {
                    $( ErrorCode::$name => $msg, )*
                    ErrorCode::Custom { .. } => "The request could not be completed.",
                }
            }

            /// The named code spelt `s`, or a [`ErrorCode::Custom`] with status 400.
            pub fn from_code(s: &str) -> ErrorCode {
                match s {
                    $( error_codes!(@code $name $($code)?) => ErrorCode::$name, )*
                    other => ErrorCode::Custom { code: Cow::Owned(other.to_owned()), status: 400 },
                }
            }
        }
    };
}

error_codes! {
    /// 403: the principal may not do this, or a presigned URL has expired.
    AccessDenied => 403, "Access Denied";
    /// 400: an argument is invalid.
    InvalidArgument => 400, "Invalid Argument";
    /// 400: the request is not valid with the current state of the resource.
    InvalidRequest => 400, "Invalid Request";
    /// 404: the bucket does not exist.
    NoSuchBucket => 404, "The specified bucket does not exist.";
    /// 404: the key does not exist.
    NoSuchKey => 404, "The specified key does not exist.";
    /// 404: the upload id does not exist, or the upload was aborted or completed.
    NoSuchUpload => 404, "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.";
    /// 404: the bucket has no such configuration.
    NoSuchLifecycleConfiguration => 404, "The lifecycle configuration does not exist.";
    /// 404: the bucket has no default-encryption configuration.
    ServerSideEncryptionConfigurationNotFoundError => 404, "The server side encryption configuration was not found.";
    /// 404: the object has no tag set (some vendors).
    NoSuchTagSet => 404, "There is no tag set associated with the object.";
    /// 400: the encryption algorithm is not one the vendor supports.
    InvalidEncryptionAlgorithmError => 400, "The encryption request you specified is not valid. The valid value is AES256.";
    /// 403: KMS encryption was asked for but no KMS is configured.
    KmsServiceNotEnabled => 403, "KMS service is not enabled for this account.";
    /// 400: the KMS key id does not name a configured key.
    KMSNotFoundException as "KMS.NotFoundException" => 400, "The specified KMS key does not exist.";
    /// 409: the object exists and overwriting was forbidden (OSS `x-oss-forbid-overwrite`).
    FileAlreadyExists => 409, "The object you specified already exists and can not be overwritten.";
    /// 400: a listed part was not found or its ETag does not match.
    InvalidPart => 400, "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.";
    /// 400: the part list is not in ascending order.
    InvalidPartOrder => 400, "The list of parts was not in ascending order. Parts must be ordered by part number.";
    /// 400: a part other than the last is below the minimum size.
    EntityTooSmall => 400, "Your proposed upload is smaller than the minimum allowed object size.";
    /// 400: the body exceeds the maximum size.
    EntityTooLarge => 400, "Your proposed upload exceeds the maximum allowed object size.";
    /// 400: the body does not match the declared digest.
    BadDigest => 400, "The Content-MD5 you specified did not match what we received.";
    /// 400: the declared digest is not a valid digest.
    InvalidDigest => 400, "The Content-MD5 you specified is not valid.";
    /// 400: the body does not match `x-amz-content-sha256`.
    XAmzContentSHA256Mismatch => 400, "The provided 'x-amz-content-sha256' header does not match what was computed.";
    /// 400: the XML body is not well formed or does not match the schema.
    MalformedXML => 400, "The XML you provided was not well-formed or did not validate against our published schema.";
    /// 400: user metadata is larger than 2 KB.
    MetadataTooLarge => 400, "Your metadata headers exceed the maximum allowed metadata size.";
    /// 400: the storage class is not one the vendor knows.
    InvalidStorageClass => 400, "The storage class you specified is not valid.";
    /// 416: the range cannot be satisfied.
    InvalidRange => 416, "The requested range is not satisfiable.";
    /// 412: a precondition header failed.
    PreconditionFailed => 412, "At least one of the pre-conditions you specified did not hold.";
    /// 304: a conditional GET found nothing new (answered without a body).
    NotModified => 304, "Not Modified";
    /// 403: the signature does not match.
    SignatureDoesNotMatch => 403, "The request signature we calculated does not match the signature you provided. Check your key and signing method.";
    /// 403: the request time is too far from the server's.
    RequestTimeTooSkewed => 403, "The difference between the request time and the current time is too large.";
    /// 403: the access key is not known.
    InvalidAccessKeyId => 403, "The access key Id you provided does not exist in our records.";
    /// 400: the Authorization header cannot be parsed.
    AuthorizationHeaderMalformed => 400, "The authorization header is malformed.";
    /// 400: a presigned query is missing parameters or malformed.
    AuthorizationQueryParametersError => 400, "Query-string authentication parameters are malformed.";
    /// 411: a body was sent without Content-Length.
    MissingContentLength => 411, "You must provide the Content-Length HTTP header.";
    /// 400: the request has a body where none is allowed, or a required header is missing.
    MissingSecurityHeader => 400, "Your request is missing a required header.";
    /// 400: the request is not signed the way the server requires.
    InvalidSecurity => 403, "The provided security credentials are not valid.";
    /// 409: the bucket is not empty.
    BucketNotEmpty => 409, "The bucket you tried to delete is not empty.";
    /// 409: the caller already owns the bucket.
    BucketAlreadyOwnedByYou => 409, "Your previous request to create the named bucket succeeded and you already own it.";
    /// 409: another principal owns the bucket.
    BucketAlreadyExists => 409, "The requested bucket name is not available.";
    /// 400: the bucket name is invalid.
    InvalidBucketName => 400, "The specified bucket is not valid.";
    /// 400: the key is longer than 1024 bytes.
    KeyTooLongError => 400, "Your key is too long.";
    /// 400: the tag set is invalid.
    InvalidTag => 400, "The tag provided was not a valid tag.";
    /// 400: the location constraint is not valid.
    InvalidLocationConstraint => 400, "The specified location constraint is not valid.";
    /// 400: the copy source is the destination without a change of metadata.
    InvalidCopySource => 400, "The copy source is not valid.";
    /// 400: a date header could not be parsed.
    InvalidDate => 400, "The date could not be parsed.";
    /// 400: the request was not well formed.
    BadRequest => 400, "Bad Request";
    /// 400: the client took too long to send the body.
    RequestTimeout => 400, "Your socket connection to the server was not read from or written to within the timeout period.";
    /// 400: the body was shorter than Content-Length said.
    IncompleteBody => 400, "You did not provide the number of bytes specified by the Content-Length HTTP header.";
    /// 405: the method is not allowed on this resource.
    MethodNotAllowed => 405, "The specified method is not allowed against this resource.";
    /// 501: the operation is not implemented.
    NotImplemented => 501, "A header you provided implies functionality that is not implemented.";
    /// 500: the server failed; never the client's fault.
    InternalError => 500, "We encountered an internal error. Please try again.";
    /// 503: the server is busy; retry.
    SlowDown => 503, "Please reduce your request rate.";
    /// 503: the server is shutting down or unavailable.
    ServiceUnavailable => 503, "The service is unavailable. Please retry.";
    /// 507: the storage is full.
    InsufficientStorage => 507, "The server has insufficient storage to complete the request.";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value from a request that failed validation, with the S3 error it answers with.
///
/// Every newtype in this crate returns one from its parser, so the edge that parses a
/// request can answer the client without a second lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidValue {
    /// The S3 error code to answer with.
    pub code: ErrorCode,
    /// A message for the client.
    pub message: Cow<'static, str>,
}

impl InvalidValue {
    /// An invalid value answering with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        InvalidValue { code, message: message.into() }
    }

    /// An `InvalidArgument` with `message`.
    pub fn argument(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for InvalidValue {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_code_round_trips_and_has_a_status() {
        for code in ErrorCode::NAMED {
            assert_eq!(&ErrorCode::from_code(code.as_str()), code);
            assert!((300..600).contains(&code.status()), "{code}");
            assert!(!code.default_message().is_empty());
        }
    }

    #[test]
    fn seed_errors_have_their_documented_status() {
        assert_eq!(ErrorCode::AccessDenied.status(), 403);
        assert_eq!(ErrorCode::NoSuchUpload.status(), 404);
        assert_eq!(ErrorCode::KmsServiceNotEnabled.status(), 403);
        assert_eq!(ErrorCode::KMSNotFoundException.as_str(), "KMS.NotFoundException");
        assert_eq!(ErrorCode::from_code("KMS.NotFoundException"), ErrorCode::KMSNotFoundException);
        assert_eq!(ErrorCode::FileAlreadyExists.status(), 409);
        assert_eq!(ErrorCode::InvalidEncryptionAlgorithmError.status(), 400);
        assert_eq!(ErrorCode::MissingContentLength.status(), 411);
        assert_eq!(ErrorCode::InvalidRange.status(), 416);
    }

    #[test]
    fn unknown_codes_are_kept() {
        let c = ErrorCode::from_code("SomethingNew");
        assert_eq!(c.as_str(), "SomethingNew");
        assert_eq!(c.status(), 400);
    }
}
