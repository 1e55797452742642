//! Every signature scheme of the five object-storage dialects, both directions, sans-IO.
//!
//! **What this crate does not do:** no I/O, no sockets, no clock, no async, no key store.
//! Time comes in as `now` (Unix seconds); the secret comes in from the caller after it has
//! looked the access key up. The HTTP server front-end (`tessera-server`) and client
//! (`tessera-client`) drive this crate; routing (which bucket a request names) belongs to
//! `tessera-http`, which passes its decision in as a [`ResourceView`].
//!
//! **Who should use it:** a server that must accept requests signed by the AWS, Huawei OBS,
//! Tencent COS, Aliyun OSS and Kingsoft KS3 SDKs, or a client that must sign like them.
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

pub use auth::{Authorization, MAX_SKEW_SECS, Scheme, Verified, parse, verify};
pub use body::{BodyCheck, ChunkSigner, Payload};
pub use chunked::{ChunkLimits, ChunkedDecoder, ChunkedEncoder, ChunkedSummary};
pub use digest::{BodyDigests, DigestSet, Digests};
pub use error::SignError;
pub use head::{RequestHead, ResourceView};
pub use secret::Secret;
pub use sign::{Sdk, Signed, Signer, SigningScheme};
