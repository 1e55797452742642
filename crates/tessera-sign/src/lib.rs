//! **What this crate does not do:** no I/O, no sockets, no clock, no async, no key store, no
//! routing. Time comes in as `now` (Unix seconds); the secret comes in from the caller after it
//! has looked the access key up; which bucket a request names is `tessera-http`'s decision,
//! passed in as a [`ResourceView`]. Servers should use `tessera-server` (which drives this
//! crate with key lookup and body streaming) and clients `tessera-client`; use this crate
//! directly to verify or sign S3-family requests inside another stack.
//!
//! What it does: every signature scheme of the five object-storage dialects (AWS SigV4 and
//! SigV2, Huawei OBS, Tencent COS, Aliyun OSS V1 and V4, Kingsoft KS3), both directions, checked
//! against the requests the vendors' own SDKs signed; the aws-chunked decoder; one-pass body
//! digests checked against the values a request declared.
//!
//! Server side, in order:
//! 1. [`parse`] the [`RequestHead`] → `None` (anonymous) or an [`Authorization`] naming the
//!    [`Scheme`], the dialect and the access key;
//! 2. look the secret up ([`SignError::invalid_access_key`] if unknown) and [`verify`] →
//!    [`Verified`] with a [`BodyCheck`]: how the payload was signed and the digests the
//!    request declared;
//! 3. stream the body: through [`BodyCheck::chunked_decoder`] if it is aws-chunked (a
//!    [`ChunkedDecoder`] that checks every chunk signature and the trailer), and through
//!    [`BodyDigests`] built from [`BodyCheck::digests_needed`] (one pass, only what is needed);
//! 4. [`BodyCheck::check`] the [`Digests`] before committing anything.
//!
//! Client side: a [`Signer`] signs a request or presigns a URL byte for byte as the vendor's
//! SDK does ([`Sdk`] picks the layout where SDKs differ); [`ChunkedEncoder`] frames and signs an
//! aws-chunked body.
//!
//! Every comparison of a MAC or digest is constant-time; [`Secret`] never prints.

mod auth;
mod body;
mod chunked;
mod cos;
mod digest;
mod error;
mod head;
mod oss4;
mod secret;
mod sign;
mod sigv4;
mod util;
mod v2;

/// The `http` crate this API speaks (`HeaderMap`, `request::Parts`), re-exported so callers match its version.
pub use http;

pub use auth::{Authorization, MAX_SKEW_SECS, Scheme, Verified, parse, verify};
pub use body::{BodyCheck, ChunkSigner, Payload};
pub use chunked::{ChunkLimits, ChunkedDecoder, ChunkedEncoder, ChunkedSummary};
pub use digest::{BodyDigests, DigestSet, Digests};
pub use error::SignError;
pub use head::{RequestHead, ResourceView};
pub use secret::Secret;
pub use sign::{Sdk, Signed, Signer, SigningScheme};
