//! Integration tests of tessera-sign: the SDK golden vectors, round trips, the chunked decoder.

mod chunked;
mod props;
mod tidy;
mod vectors;
