//! `cargo xtask bench`: the benchmarks, run in release mode, printed as figures.
//!
//! For now this runs every crate's criterion benchmarks; the end-to-end server benchmark
//! joins it with the server.

use crate::{cargo, step};

/// `cargo xtask bench [cargo bench args…]`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    step("cargo bench", cargo().args(["bench", "--workspace"]).args(args))
}
