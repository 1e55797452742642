//! `cargo xtask`: every piece of automation a contributor runs, in Rust, with no extra tools.
//!
//! - `cargo xtask test`: everything a change must pass — formatting, clippy with warnings
//!   denied, every test of the workspace (the tidy checks among them), the fuzz targets' build
//!   and a short run of each, and the interop suite of official SDKs.
//! - `cargo xtask tidy`: only the tidy checks.
//! - `cargo xtask interop [pytest args…]`: the official SDKs against `tessera serve`.
//! - `cargo xtask fuzz [TARGET] [-- libFuzzer args…]`: build the fuzz targets and run them.
//! - `cargo xtask bench`: the benchmarks, as a table of figures.
//! - `cargo xtask faults [CYCLES]`: the filesystem backend's SIGKILL fault-injection test with
//!   more cycles than the regular run's 50 (default 500).

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod bench;
mod fuzz;
mod interop;
mod tidy;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "test" => test(),
        "tidy" => tidy::check_all(&workspace_root()).map_err(|e| e.to_string()),
        "interop" => interop::run(rest),
        "fuzz" => fuzz::run(rest),
        "bench" => bench::run(rest),
        "faults" => faults(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n  test      fmt, clippy, all tests, fuzz smoke, interop\n  tidy      \
                 architecture checks\n  interop   official SDKs against tessera serve\n  fuzz      build and run \
                 fuzz targets\n  bench     benchmarks\n  faults    \
                 SIGKILL fault injection of the fs backend, more cycles"
            );
            return if task == "help" { ExitCode::SUCCESS } else { ExitCode::from(2) };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {task}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// The workspace's target directory (honours `CARGO_TARGET_DIR`).
pub(crate) fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// `cargo`, as the one that runs us, in the workspace root.
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

/// Runs `cmd`, failing with `what` if it does not succeed.
pub(crate) fn step(what: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("==> {what}");
    let status = cmd.status().map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{what} failed ({status})")) }
}

/// `cargo xtask faults [CYCLES]`.
fn faults(args: &[String]) -> Result<(), String> {
    let cycles = match args.first() {
        None => 500,
        Some(n) => n.parse::<u64>().map_err(|_| format!("{n:?} is not a number of cycles"))?,
    };
    step(
        &format!("fault injection, {cycles} SIGKILL cycles"),
        cargo().env("TESSERA_FAULT_CYCLES", cycles.to_string()).args([
            "test",
            "--release",
            "-p",
            "tessera-store-fs",
            "--test",
            "it",
            "--",
            "crash::",
            "--nocapture",
        ]),
    )
}

fn test() -> Result<(), String> {
    step("cargo fmt --check", cargo().args(["fmt", "--all", "--", "--check"]))?;
    step("cargo clippy", cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    step("cargo test", cargo().args(["test", "--workspace"]))?;
    fuzz::smoke()?;
    interop::run(&[])?;
    Ok(())
}
