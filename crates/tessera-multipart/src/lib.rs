//! The multipart upload, as a deterministic state machine: the server's upload table and the
//! client's upload plan.
//!
//! This crate opens no socket, reads no clock, draws no random number, names no async
//! runtime, and never sees a payload byte: time comes in as `now`, upload ids and retry jitter
//! come from the caller, and parts are known by their length and digests only. It decides;
//! its embedder does the I/O and reports back (the shape of `quinn-proto` and `rustls`).
//!
//! - Servers embed an [`UploadTable`]: commands (`create`, `begin_part`/`finish_part`,
//!   `complete`, `abort`), storage [`Action`]s drained with
//!   [`poll_action`](UploadTable::poll_action), outcomes handed back with `handle_*`,
//!   expiry through `poll_timeout`/`handle_timeout`, ListParts and ListMultipartUploads
//!   pages, and [`restore`](UploadTable::restore) from persisted [`UploadRecord`]s.
//! - Clients drive an [`UploadPlan`]: which part to send next, when to retry, when to
//!   complete or abort, and how to resume from a ListParts listing.
//!
//! Who should use which crate: `tessera-engine` embeds the table over any `Store`, and
//! `tessera-server` runs it over HTTP; `tessera-client` drives the plan over HTTP. Use this
//! crate directly to put S3 multipart semantics into another stack — `examples/blocking_server.rs`
//! does it with `std::net` and a directory of files.

mod action;
mod digest;
mod error;
mod limits;
mod listing;
pub mod plan;
mod record;
mod table;
mod time;

pub use action::{
    Action, AssembleFailed, Assembly, AssemblyPart, CompletePart, CompleteRequest, CompletedUpload, Completion,
    PartReceipt, PartTicket,
};
pub use digest::{Crc, CrcCombiner, ObjectChecksum};
pub use error::{ApiMisuse, InvalidPartReason, MultipartError};
pub use limits::Limits;
pub use listing::{ListPartsPage, MAX_PAGE, UploadSummary, UploadsPage, UploadsQuery};
pub use plan::{PlanConfig, UploadPlan};
pub use record::{ChecksumMode, PartRecord, StageRef, UploadRecord};
pub use table::{Config, NewUpload, PartInfo, Upload, UploadState, UploadTable};
pub use time::Timestamp;
