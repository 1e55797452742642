//! One error type for every command, each variant answering with one S3 error code.

use std::borrow::Cow;
use std::fmt;

use tessera_proto::{ChecksumAlgorithm, ErrorCode};

/// Why a command was refused. Each variant maps to the S3 error the client should see
/// ([`MultipartError::code`]); [`MultipartError::ApiMisuse`] is the embedder's bug, never the
/// client's.
///
/// A refused command has no side effect, except that a refused [`finish_part`] queues the
/// discard of the staged bytes it was handed.
///
/// [`finish_part`]: crate::UploadTable::finish_part
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MultipartError {
    /// The upload does not exist: never created, aborted, expired, or completed (and not
    /// retried with the same part list).
    NoSuchUpload,
    /// The upload is being completed: no part may be added and no second, different
    /// completion may start until the assembly's outcome is known. Answers `OperationAborted`
    /// (409), which clients may retry.
    Completing,
    /// A part number above the upload's limit.
    PartNumberTooHigh {
        /// The number asked for.
        number: u32,
        /// The highest allowed.
        max: u32,
    },
    /// A part larger than the maximum part size.
    PartTooLarge {
        /// Its size.
        size: u64,
        /// The maximum.
        max: u64,
    },
    /// The upload was created with a checksum algorithm and the part carries no value of it.
    PartChecksumMissing {
        /// The upload's algorithm.
        expected: ChecksumAlgorithm,
    },
    /// The part's checksum is of another algorithm than the upload's.
    PartChecksumMismatch {
        /// The upload's algorithm.
        expected: ChecksumAlgorithm,
        /// The part's.
        got: ChecksumAlgorithm,
    },
    /// A checksum type without an algorithm, or one the algorithm does not allow
    /// (CRC64NVME is FULL_OBJECT only, the SHAs are COMPOSITE only).
    InvalidChecksumType,
    /// Complete named no part.
    EmptyPartList,
    /// Complete's part numbers are not strictly ascending.
    InvalidPartOrder {
        /// The first number that is not above its predecessor.
        number: u32,
    },
    /// A listed part was not uploaded, or its ETag or checksum does not match.
    InvalidPart {
        /// The part.
        number: u32,
        /// What did not match.
        reason: InvalidPartReason,
    },
    /// A part other than the last is below the minimum part size.
    EntityTooSmall {
        /// The part.
        number: u32,
        /// Its size.
        size: u64,
        /// The minimum.
        min: u64,
    },
    /// The assembled object would exceed the maximum object size.
    ObjectTooLarge {
        /// Its size.
        size: u64,
        /// The maximum.
        max: u64,
    },
    /// Complete declared a full-object checksum that the parts do not combine to.
    ObjectChecksumMismatch,
    /// Complete declared an object size (`x-amz-mp-object-size`) the parts do not add up to.
    ObjectSizeMismatch {
        /// The declared size.
        declared: u64,
        /// The parts' total.
        actual: u64,
    },
    /// A persisted record handed to [`restore`](crate::UploadTable::restore) is inconsistent.
    CorruptRecord {
        /// What is wrong with it.
        reason: Cow<'static, str>,
    },
    /// The embedder called the machine out of order: a bug in the embedder, not the client.
    ApiMisuse(ApiMisuse),
}

/// What did not match for [`MultipartError::InvalidPart`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidPartReason {
    /// No part with that number was uploaded.
    Missing,
    /// The ETag given is not the part's.
    ETagMismatch,
    /// The checksum given is not the part's.
    ChecksumMismatch,
}

/// Call-order bugs of the embedder (rustls's `ApiMisuse`): never caused by client input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiMisuse {
    /// A ticket this table did not issue, or already finished or abandoned (for instance one
    /// issued before a restart).
    UnknownTicket,
    /// `create` with an upload id that is already in the table.
    DuplicateUploadId,
    /// `handle_assembled` for an upload that is not waiting for its assembly.
    NotAssembling,
}

impl MultipartError {
    /// The S3 error code the client should receive.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NoSuchUpload => ErrorCode::NoSuchUpload,
            Self::Completing => ErrorCode::Custom { code: Cow::Borrowed("OperationAborted"), status: 409 },
            Self::PartNumberTooHigh { .. } => ErrorCode::InvalidArgument,
            Self::PartTooLarge { .. } | Self::ObjectTooLarge { .. } => ErrorCode::EntityTooLarge,
            Self::PartChecksumMissing { .. }
            | Self::PartChecksumMismatch { .. }
            | Self::InvalidChecksumType
            | Self::ObjectSizeMismatch { .. } => ErrorCode::InvalidRequest,
            Self::EmptyPartList => ErrorCode::MalformedXML,
            Self::InvalidPartOrder { .. } => ErrorCode::InvalidPartOrder,
            Self::InvalidPart { .. } => ErrorCode::InvalidPart,
            Self::EntityTooSmall { .. } => ErrorCode::EntityTooSmall,
            Self::ObjectChecksumMismatch => ErrorCode::BadDigest,
            Self::CorruptRecord { .. } | Self::ApiMisuse(_) => ErrorCode::InternalError,
        }
    }
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuchUpload => f.write_str(ErrorCode::NoSuchUpload.default_message()),
            Self::Completing => f.write_str("The upload is being completed; try again."),
            Self::PartNumberTooHigh { number, max } => {
                write!(f, "Part number {number} is above the maximum of {max}.")
            }
            Self::PartTooLarge { size, max } => write!(f, "The part is {size} bytes; the maximum is {max}."),
            Self::PartChecksumMissing { expected } => {
                write!(f, "The upload was created with a {expected} checksum; the part must carry one.")
            }
            Self::PartChecksumMismatch { expected, got } => {
                write!(f, "Checksum type mismatch: expected {expected}, got {got}.")
            }
            Self::InvalidChecksumType => f.write_str("The checksum type is not valid for the checksum algorithm."),
            Self::EmptyPartList => f.write_str("The part list must name at least one part."),
            Self::InvalidPartOrder { number } => {
                write!(f, "{} (part {number})", ErrorCode::InvalidPartOrder.default_message())
            }
            Self::InvalidPart { number, reason } => {
                let why = match reason {
                    InvalidPartReason::Missing => "was not uploaded",
                    InvalidPartReason::ETagMismatch => "has another ETag",
                    InvalidPartReason::ChecksumMismatch => "has another checksum",
                };
                write!(f, "Part {number} {why}.")
            }
            Self::EntityTooSmall { number, size, min } => {
                write!(f, "Part {number} is {size} bytes; every part but the last must be at least {min}.")
            }
            Self::ObjectTooLarge { size, max } => write!(f, "The object would be {size} bytes; the maximum is {max}."),
            Self::ObjectChecksumMismatch => f.write_str("The declared checksum does not match the parts."),
            Self::ObjectSizeMismatch { declared, actual } => {
                write!(f, "The declared object size {declared} is not the parts' total {actual}.")
            }
            Self::CorruptRecord { reason } => write!(f, "corrupt upload record: {reason}"),
            Self::ApiMisuse(m) => write!(f, "multipart API misuse: {m:?}"),
        }
    }
}

impl std::error::Error for MultipartError {}

impl From<ApiMisuse> for MultipartError {
    fn from(m: ApiMisuse) -> Self {
        MultipartError::ApiMisuse(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses() {
        let cases = [
            (MultipartError::NoSuchUpload, "NoSuchUpload", 404),
            (MultipartError::Completing, "OperationAborted", 409),
            (MultipartError::EmptyPartList, "MalformedXML", 400),
            (MultipartError::InvalidPartOrder { number: 2 }, "InvalidPartOrder", 400),
            (MultipartError::InvalidPart { number: 1, reason: InvalidPartReason::Missing }, "InvalidPart", 400),
            (MultipartError::EntityTooSmall { number: 1, size: 1, min: 2 }, "EntityTooSmall", 400),
            (MultipartError::PartTooLarge { size: 2, max: 1 }, "EntityTooLarge", 400),
            (MultipartError::PartNumberTooHigh { number: 9, max: 8 }, "InvalidArgument", 400),
            (MultipartError::ObjectChecksumMismatch, "BadDigest", 400),
            (ApiMisuse::UnknownTicket.into(), "InternalError", 500),
        ];
        for (err, code, status) in cases {
            assert_eq!(err.code().as_str(), code, "{err:?}");
            assert_eq!(err.code().status(), status, "{err:?}");
            assert!(!err.to_string().is_empty());
        }
    }
}
