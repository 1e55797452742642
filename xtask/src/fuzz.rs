//! Fuzz targets: built with libFuzzer's coverage instrumentation on stable Rust (the
//! sanitizer-coverage passes are stable flags; only the address sanitizer needs nightly).

use std::path::PathBuf;
use std::process::Command;

use crate::{step, target_dir, workspace_root};

/// Flags cargo-fuzz passes for coverage-guided fuzzing, minus the nightly-only sanitizer.
const RUSTFLAGS: &str = "-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
     -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
     -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks";

/// Inputs each target runs in the smoke run of `cargo xtask test`.
const SMOKE_RUNS: &str = "20000";

fn fuzz_dir() -> PathBuf {
    workspace_root().join("fuzz")
}

fn out_dir() -> PathBuf {
    target_dir().join("fuzz")
}

/// The targets declared in fuzz/Cargo.toml.
fn targets() -> Result<Vec<String>, String> {
    let manifest =
        std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).map_err(|e| format!("fuzz/Cargo.toml: {e}"))?;
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin && let Some(value) = line.strip_prefix("name") {
            let name = value.trim_start().trim_start_matches('=').trim().trim_matches('"');
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// The host's target triple. Building with an explicit `--target` keeps RUSTFLAGS (the
/// coverage passes) off build scripts and proc-macros, which cannot link them, as cargo-fuzz
/// does.
fn host_triple() -> Result<String, String> {
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .map_err(|e| format!("rustc -vV: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| "rustc -vV printed no host triple".to_owned())
}

fn build() -> Result<PathBuf, String> {
    let triple = host_triple()?;
    step(
        "build fuzz targets",
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(fuzz_dir())
            .env("CARGO_TARGET_DIR", out_dir())
            .env("RUSTFLAGS", RUSTFLAGS)
            .args(["build", "--release", "--bins", "--target", &triple]),
    )?;
    Ok(out_dir().join(triple).join("release"))
}

fn run_target(bins: &std::path::Path, name: &str, extra: &[String]) -> Result<(), String> {
    let corpus = out_dir().join("corpus").join(name);
    std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let mut cmd = Command::new(bins.join(name));
    cmd.arg(&corpus);
    let seeds = fuzz_dir().join("seeds").join(name);
    if seeds.is_dir() {
        cmd.arg(seeds);
    }
    cmd.args(extra);
    step(&format!("fuzz {name}"), &mut cmd)
}

/// Builds every target and runs each for a bounded number of inputs.
pub(crate) fn smoke() -> Result<(), String> {
    let bins = build()?;
    let args = [format!("-runs={SMOKE_RUNS}"), "-max_len=8192".to_owned(), "-seed=1".to_owned()];
    for name in targets()? {
        run_target(&bins, &name, &args)?;
    }
    Ok(())
}

/// `cargo xtask fuzz`: build, then run one target (all of them briefly if none is named).
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    match args.split_first() {
        None => smoke(),
        Some((name, rest)) => {
            if !targets()?.contains(name) {
                return Err(format!("no fuzz target {name:?}; targets: {}", targets()?.join(", ")));
            }
            let bins = build()?;
            let rest: Vec<String> = rest.iter().filter(|a| *a != "--").cloned().collect();
            run_target(&bins, name, &rest)
        }
    }
}
