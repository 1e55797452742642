//! The one error type of every store operation.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use tessera_proto::ErrorCode;

/// Why a store operation failed.
///
/// Each variant maps to the S3 error the server answers with ([`StoreError::code`]). A failed
/// operation changed nothing: no variant means "half done".
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The bucket does not exist.
    NoSuchBucket,
    /// `create_bucket` found the name taken. The engine tells `BucketAlreadyOwnedByYou` from
    /// `BucketAlreadyExists` by comparing owners; [`StoreError::code`] says the latter.
    BucketExists,
    /// `delete_bucket` found an object, a staged part or an upload record left in the bucket.
    BucketNotEmpty,
    /// The key holds no object, or no longer holds the generation a read asked for.
    NoSuchKey,
    /// The upload record does not exist.
    NoSuchUpload,
    /// The staged part does not exist in this bucket: never staged, discarded, or consumed by
    /// an assemble.
    NoSuchStage,
    /// A [`Precondition`](crate::Precondition) did not hold.
    PreconditionFailed,
    /// A read range lies outside the object (the engine resolves ranges; this is its bug).
    InvalidRange,
    /// The disk or quota is full (ENOSPC, EDQUOT). Nothing was written.
    InsufficientStorage,
    /// The data directory is locked by another process.
    Locked,
    /// An I/O error from the backend.
    Io(io::Error),
    /// Stored data or metadata is not what the backend wrote.
    Corrupt(String),
    /// The input stream failed (a body that failed a digest check, a client that went away):
    /// the error it yielded, passed through unchanged with the code the producer chose.
    Input {
        /// The S3 error to answer with, e.g. `BadDigest` or `IncompleteBody`.
        code: ErrorCode,
        /// What went wrong.
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl StoreError {
    /// The S3 error code the server answers with.
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::NoSuchBucket => ErrorCode::NoSuchBucket,
            StoreError::BucketExists => ErrorCode::BucketAlreadyExists,
            StoreError::BucketNotEmpty => ErrorCode::BucketNotEmpty,
            StoreError::NoSuchKey => ErrorCode::NoSuchKey,
            StoreError::NoSuchUpload => ErrorCode::NoSuchUpload,
            // A staged part the engine named but the store lacks is the engine's or the
            // disk's fault, never the client's.
            StoreError::NoSuchStage => ErrorCode::InternalError,
            StoreError::PreconditionFailed => ErrorCode::PreconditionFailed,
            StoreError::InvalidRange => ErrorCode::InvalidRange,
            StoreError::InsufficientStorage => ErrorCode::InsufficientStorage,
            StoreError::Locked | StoreError::Io(_) | StoreError::Corrupt(_) => ErrorCode::InternalError,
            StoreError::Input { code, .. } => code.clone(),
        }
    }

    /// An input-stream error with `code`, for producers of [`ByteStream`](crate::ByteStream)s.
    pub fn input(code: ErrorCode, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        StoreError::Input { code, source: source.into() }
    }

    /// Maps an I/O error, recognising a full disk or quota.
    pub fn from_io(e: io::Error) -> Self {
        const ENOSPC: i32 = 28;
        const EDQUOT: i32 = 122;
        if e.kind() == io::ErrorKind::StorageFull
            || e.kind() == io::ErrorKind::QuotaExceeded
            || matches!(e.raw_os_error(), Some(ENOSPC | EDQUOT))
        {
            StoreError::InsufficientStorage
        } else {
            StoreError::Io(e)
        }
    }
}

impl From<io::Error> for StoreError {
    fn from(e: io::Error) -> Self {
        StoreError::from_io(e)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NoSuchBucket => f.write_str("no such bucket"),
            StoreError::BucketExists => f.write_str("bucket exists"),
            StoreError::BucketNotEmpty => f.write_str("bucket not empty"),
            StoreError::NoSuchKey => f.write_str("no such key"),
            StoreError::NoSuchUpload => f.write_str("no such upload"),
            StoreError::NoSuchStage => f.write_str("no such staged part"),
            StoreError::PreconditionFailed => f.write_str("precondition failed"),
            StoreError::InvalidRange => f.write_str("range outside the object"),
            StoreError::InsufficientStorage => f.write_str("insufficient storage"),
            StoreError::Locked => f.write_str("data directory is locked by another process"),
            StoreError::Io(e) => write!(f, "I/O error: {e}"),
            StoreError::Corrupt(what) => write!(f, "corrupt store: {what}"),
            StoreError::Input { code, source } => write!(f, "input failed ({code}): {source}"),
        }
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            StoreError::Io(e) => Some(e),
            StoreError::Input { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_disk_and_quota_are_insufficient_storage() {
        for errno in [28, 122] {
            let e = StoreError::from(io::Error::from_raw_os_error(errno));
            assert!(matches!(e, StoreError::InsufficientStorage), "{errno}: {e:?}");
            assert_eq!(e.code().status(), 507);
        }
        let other = StoreError::from(io::Error::from_raw_os_error(5));
        assert!(matches!(other, StoreError::Io(_)));
        assert_eq!(other.code(), ErrorCode::InternalError);
    }

    #[test]
    fn input_errors_keep_their_code() {
        let e = StoreError::input(ErrorCode::BadDigest, "md5 mismatch");
        assert_eq!(e.code(), ErrorCode::BadDigest);
        assert!(e.to_string().contains("md5 mismatch"));
    }
}
