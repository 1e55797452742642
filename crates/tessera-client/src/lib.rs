//! Tessera's client front-end: talk to any of the five object-storage dialects (AWS S3,
//! Huawei OBS, Tencent COS, Aliyun OSS, Kingsoft KS3) from Rust, with parallel, resumable,
//! checked multipart transfers.
//!
//! **Who should use it:** a Rust program that stores objects in Tessera or in any of the five
//! clouds and wants one client for all of them; the `tessera cp`/`ls`/`mb`/`rb`/`rm`/`uploads`
//! commands are built on it. To sign requests inside another HTTP stack use `tessera-sign`;
//! to drive uploads with your own I/O use `tessera-multipart`'s `UploadPlan`.
//!
//! **What it does:**
//! - [`Client`]: one signed request per S3 operation — buckets (create, delete, head, list),
//!   objects (put, get with ranges, head, delete, copy, ListObjectsV2 with paging), every
//!   multipart operation (create, upload part, upload part copy, list parts, complete,
//!   abort, list uploads) and presigned URLs. It signs with `tessera-sign` in the dialect's
//!   usual scheme ([`config::default_scheme`]: SigV4, OBS, COS, OSS V4, KSS), addresses
//!   buckets path style or as virtual hosts (no DNS needed: the connection always goes to
//!   the endpoint), reads answers with `tessera-proto`'s XML, and turns errors into a typed
//!   [`ClientError`] carrying the S3 code, message, status and request id. Single requests
//!   are retried with backoff on 5xx, `SlowDown` and network failures.
//! - [`Uploader`]: a file (positional reads, never the whole file in memory) or any
//!   `AsyncRead` of known length, in parallel parts; part size and concurrency configurable,
//!   automatic by default. `tessera-multipart`'s plan decides what to send, when to retry
//!   and when to abort; the uploader performs. It resumes an interrupted upload from
//!   ListParts (parts whose size and MD5 match are not sent again), checks every part as it
//!   is stored (its CRCs against the service's, or its MD5 against the ETag when checksums
//!   are off), and checks the object end to end with the vendors' CRC-64/ECMA and/or a
//!   full-object CRC-32C against the service's.
//! - [`Downloader`]: parallel ranged GETs into a file with positional writes, verified by
//!   size and CRC (or MD5) before the file takes its name.
//! - [`Transport`]: the seam under all of it — [`HyperTransport`] (hyper 1, pooled
//!   keep-alive connections, rustls with the Web PKI roots, an extra CA file or, for local
//!   test servers, no verification) or [`InProcess`] (a server in the same process over an
//!   in-memory pipe, for tests), or any wrapper of your own.
//!
//! **What it does not do:** no credential discovery (environment, profile files: that is
//! the `tessera` binary's job), no SigV4a or STS tokens, no server-side encryption keys, no
//! HTTP/2, no uploads of unknown length; SHA checksums are not computed (the CRCs are).
//! Request building lives here rather than in `tessera-http`, which so far only binds the
//! server direction.

mod client;
pub mod config;
mod download;
mod error;
pub mod transport;
mod upload;

pub use client::{
    Client, CompleteOutput, CopySource, GetObjectOutput, ObjectInfo, ObjectOptions, UploadChecksum, WriteOutput,
};
pub use config::{Addressing, ClientConfig, Credentials, Timeouts, TlsOptions};
pub use download::{DownloadOptions, DownloadOutput, Downloader};
pub use error::{ClientError, ServiceError};
pub use tessera_multipart::Limits;
pub use tessera_multipart::plan::{PartSize, RetryPolicy};
pub use transport::{HyperTransport, InProcess, Transport};
pub use upload::{Checksums, Progress, Resume, UploadOptions, UploadOutput, Uploader};
