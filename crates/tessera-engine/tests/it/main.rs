//! The engine's integration tests: every case runs over the memory store and the filesystem
//! store (`both!`).

mod buckets;
mod cancel;
mod malformed;
mod multipart;
mod objects;
mod restore;
mod sse;
mod util;
