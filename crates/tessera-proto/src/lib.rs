//! Tessera's protocol vocabulary: the words every other Tessera crate speaks.
//!
//! This crate does no I/O, reads no clock and knows nothing of async runtimes: it is values,
//! their validation, and their XML. It owns
//!
//! - [`Dialect`] and its [`DialectSpec`](dialect::DialectSpec): everything that differs
//!   between AWS S3, Huawei OBS, Tencent COS, Aliyun OSS and Kingsoft KS3, as data;
//! - validated newtypes — [`BucketName`], [`ObjectKey`], [`UploadId`], [`PartNumber`],
//!   [`ETag`] and the header values of module `values` — parsed once at the edge, each failing with
//!   the S3 error it answers with ([`InvalidValue`]);
//! - the open set of S3 error codes, [`ErrorCode`];
//! - every XML document the five dialects read or write (module `xml`, arriving next).
//!
//! Who should use it: anyone who builds or parses S3-family requests in their own stack. To
//! sign requests use `tessera-sign`; to route HTTP requests to operations use `tessera-http`.

pub mod checksum;
pub mod dialect;
pub mod encoding;
pub mod error;
pub mod etag;
pub mod names;
pub mod ops;
pub mod values;
pub mod xml;

pub use checksum::{Checksum, ChecksumAlgorithm, ChecksumType};
pub use dialect::{Dialect, DialectSpec};
pub use error::{ErrorCode, InvalidValue};
pub use etag::ETag;
pub use names::{BucketName, ObjectKey, PartNumber, UploadId};
