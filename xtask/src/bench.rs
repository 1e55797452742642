//! `cargo xtask bench`: the end-to-end benchmark of `tessera serve` (release build, fs
//! backend) printed as one table, then `tessera cp` against `aws s3 cp` on the same file and
//! server; `--all` adds every crate's criterion benches. Figures, never pass/fail.

use std::process::Command;

use crate::{cargo, step, target_dir, workspace_root};

/// `cargo xtask bench [--all]`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    step(
        "tessera serve end to end (crates/tessera/benches/server.rs)",
        cargo().args(["bench", "-p", "tessera", "--bench", "server"]),
    )?;
    let venv = crate::interop::ensure_venv()?;
    step("build tessera (release)", cargo().args(["build", "--release", "-p", "tessera"]))?;
    step(
        "tessera cp vs aws s3 cp, 1 GiB (crates/tessera-client/benches/cp_vs_aws.sh)",
        Command::new("bash")
            .current_dir(workspace_root())
            .arg("crates/tessera-client/benches/cp_vs_aws.sh")
            .env("TESSERA_BIN", target_dir().join("release").join("tessera"))
            .env("AWS_CLI", venv.join("bin").join("aws")),
    )?;
    if args.iter().any(|a| a == "--all") {
        step("every crate's criterion benches", cargo().args(["bench", "--workspace", "--exclude", "tessera"]))?;
    }
    Ok(())
}
