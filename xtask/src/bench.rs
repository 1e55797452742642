//! `cargo xtask bench`: the end-to-end benchmark of `tessera serve` (release build, fs
//! backend), printed as one table of figures; `--all` adds every crate's criterion benches.

use crate::{cargo, step};

/// `cargo xtask bench [--all]`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    step(
        "tessera serve end to end (crates/tessera/benches/server.rs)",
        cargo().args(["bench", "-p", "tessera", "--bench", "server"]),
    )?;
    if args.iter().any(|a| a == "--all") {
        step("every crate's criterion benches", cargo().args(["bench", "--workspace", "--exclude", "tessera"]))?;
    }
    Ok(())
}
