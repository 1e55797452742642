//! Validated header values: parsed once at the edge, per dialect where the vendors' spellings
//! differ, each failing with the error the vendor answers with ([`InvalidValue`](crate::InvalidValue)).
//!
//! Nothing here reads a header map: callers hand over the value (or, for metadata, the
//! `(name, value)` pairs), so the module works with any HTTP stack.

mod acl;
mod date;
mod metadata;
mod range;
mod sse;
mod storage;
mod tags;

pub use acl::{CannedAcl, Grantee, MAX_GRANTS, Permission, parse_grants};
pub use date::{Timestamp, format_http_date, format_iso8601, parse_http_date, parse_iso8601_basic};
pub use metadata::UserMetadata;
pub use range::{ByteRange, ResolvedRange};
pub use sse::{CustomerKey, SseHeaderNames, SseHeaders, SseRequest};
pub use storage::{StorageClass, WebsiteRedirectLocation};
pub use tags::{MAX_BUCKET_TAGS, MAX_OBJECT_TAGS, Tag, TagSet};
