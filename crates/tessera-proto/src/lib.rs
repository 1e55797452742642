//! Tessera's protocol vocabulary: the words every other Tessera crate speaks.
//!
//! This crate does no I/O, reads no clock and knows nothing of async runtimes or HTTP types:
//! it is values, their validation, and their XML. Time comes in as unix seconds or
//! milliseconds; header values come in as `&str`; bodies come in as `&[u8]`.
//!
//! It owns
//!
//! - [`Dialect`] and its [`DialectSpec`]: everything that differs
//!   between AWS S3, Huawei OBS, Tencent COS, Aliyun OSS and Kingsoft KS3, as data;
//! - validated names — [`BucketName`], [`ObjectKey`], [`UploadId`], [`PartNumber`], [`ETag`],
//!   [`Checksum`] — parsed once at the edge, each failing with the S3 error it answers with
//!   ([`InvalidValue`]);
//! - [`values`]: validated header values, parsed per dialect where the vendors' spellings
//!   differ — storage class, canned ACL, grant lists, tag sets, user metadata, server-side
//!   encryption (SSE-S3, SSE-KMS, SSE-C), OBS's website redirect, HTTP and ISO 8601 dates
//!   ([`Timestamp`](values::Timestamp)), byte ranges;
//! - [`encoding`]: percent-encoding shared by every crate — `encoding-type=url` in a form every
//!   SDK's decoder inverts (the module documents why), RFC 3986 for canonical requests, and
//!   the query-string decoders;
//! - [`xml`]: every XML document the five dialects read or write, written by
//!   [`xml::to_xml`] with the dialect's namespace policy (none for OSS and COS) and read by
//!   [`xml::from_xml`], which bounds the work hostile input can cause and refuses entity
//!   declarations;
//! - the open set of S3 error codes, [`ErrorCode`];
//! - [`ops`]: what a request asks for and what it gets back, free of any wire form — the
//!   contract between `tessera-http` (which parses and renders them) and `tessera-engine`
//!   (which carries them out).
//!
//! Who should use it: anyone who builds or parses S3-family requests in their own stack. To
//! sign or verify requests use `tessera-sign`; to route HTTP requests to operations use
//! `tessera-http`.

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
pub use xml::{XmlDocument, XmlError};
