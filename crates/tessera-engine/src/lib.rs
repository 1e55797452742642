//! S3 semantics over any Tessera [`Store`](tessera_store::Store): the multipart table,
//! listings, conditional requests, copies, tagging, ACLs and bucket configuration.
//!
//! What this crate does **not** do: it opens no socket, reads no clock, draws no random
//! number and names no async runtime. Time comes in with each request (`now`), upload ids
//! from an injected [`IdSource`], bytes as [`ByteStream`](tessera_store::ByteStream)s that
//! the caller produces and consumes; requests arrive already parsed and authenticated
//! ([`Operation`](tessera_proto::ops::Operation) and [`Principal`](tessera_proto::ops::Principal)
//! from `tessera-http` and `tessera-sign`), and answers leave as
//! [`Output`](tessera_proto::ops::Output)s or [`S3Error`](tessera_proto::ops::S3Error)s for
//! `tessera-http` to render in the request's dialect.
//!
//! # Encryption at rest
//!
//! With an [`Encryption`] in its [`EngineConfig`], the engine encrypts every object written
//! with SSE-S3, SSE-KMS or SSE-C (asked for by the request or by the bucket's default
//! encryption) as it streams into the store: AES-256-CTR under a fresh random data key per
//! object, and per staged part of a multipart upload, wrapped by a master key of the
//! [`KeyRing`] (SSE-S3, KMS) or derived from the customer's key (SSE-C), whose salted HMAC
//! ([`CustomerKeyCheck`]) is all that is kept of it. Reads decrypt from any offset, part by
//! part ([`segmented_stream`]). SSE-C reads, copies and parts must present the right key.
//!
//! Who should use it: `tessera-server` drives it over HTTP; embedders that want S3 behaviour
//! over their own storage or transport use it with any `Store` and a runtime of their choice.
//! For multipart rules alone, without storage, use `tessera-multipart`.
//!
//! # Shape
//!
//! - [`Engine::open`] restores the upload table from the store's upload records and discards
//!   staged parts nothing references.
//! - [`Engine::execute`] carries out one [`EngineRequest`] and answers an [`EngineResponse`]
//!   (object data for GET rides beside the output as a stream).
//! - [`Engine::poll_timeout`] / [`Engine::handle_timeout`] drive upload expiry (the default
//!   expiry and lifecycle AbortIncompleteMultipartUpload rules) from the front-end's timer.
//!
//! Multipart requests go through `tessera-multipart`'s `UploadTable`, behind one mutex that
//! is never held across an await; the storage work the table asks for is performed by the
//! requests waiting for it, each upload's work in queue order (different uploads
//! concurrently), so an upload's records are written in the order their snapshots were
//! taken. A completed object appears atomically (one `Store::assemble` that also deletes
//! the upload record); a failed completion leaves the upload retryable; a retried
//! completion of a finished upload answers the same success.
//!
//! # Authorization
//!
//! The bucket owner may do everything. Bucket ACL grants: READ lists the bucket and reads
//! objects that have no ACL of their own (or `default`), WRITE adds and deletes objects.
//! Object ACL grants READ, READ_ACP, WRITE_ACP on the object. An upload id is usable only by
//! the principal that created it while it may still write the bucket (the bucket owner may
//! also abort it and list its parts).

mod buckets;
mod config;
mod crypto;
mod digest;
mod engine;
mod error;
mod listing;
mod meta;
mod multipart;
mod objects;
mod request;
mod sse;

pub use config::EngineConfig;
pub use crypto::{
    CipherSegment, CryptoError, CustomerKeyCheck, DATA_ALGORITHM, DataKeyError, DataKeyRecord, Encryption, IV_LEN,
    KEY_LEN, KeyFileError, KeyMaterial, KeyRing, Keystream, PartSlice, RandomSource, SSE_S3_KEY_ID, SecretKey,
    SharedRandom, WRAP_ALGORITHM, WrappedKey, ctr_stream, opaque_etag, segmented_stream, split_range,
};
pub use engine::Engine;
pub use request::{
    CounterIds, EngineRequest, EngineResponse, IdSource, Payload, PayloadSummary, RequestBody, SummarySource,
};
