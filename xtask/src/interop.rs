//! The interop suite: each vendor's official Python SDK against a real `tessera serve`.
//!
//! Creates a virtual environment under the target directory, installs the pinned SDKs from
//! `tests/interop/requirements.txt` (once per change of that file), builds the `tessera`
//! binary and runs pytest over `tests/interop/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, step, target_dir, workspace_root};

fn venv_dir() -> PathBuf {
    target_dir().join("interop-venv")
}

fn python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// Makes the virtual environment and installs the requirements unless already done for this
/// exact requirements file.
pub(crate) fn ensure_venv() -> Result<PathBuf, String> {
    let venv = venv_dir();
    let requirements = workspace_root().join("tests/interop/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).map_err(|e| format!("{}: {e}", requirements.display()))?;
    let stamp = venv.join("tessera-requirements.txt");
    if python(&venv).exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(venv);
    }
    let py = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    step("create the interop virtual environment", Command::new(py).args(["-m", "venv", "--clear"]).arg(&venv))?;
    step(
        "install the SDKs (tests/interop/requirements.txt)",
        Command::new(python(&venv))
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements),
    )?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(venv)
}

/// `cargo xtask interop [pytest args…]`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let venv = ensure_venv()?;
    step("build tessera", cargo().args(["build", "--package", "tessera", "--bin", "tessera"]))?;
    let bin = target_dir().join("debug").join("tessera");
    step(
        "interop suite (pytest tests/interop)",
        Command::new(python(&venv))
            .current_dir(workspace_root())
            .env("TESSERA_BIN", bin)
            .args(["-m", "pytest", "tests/interop", "-q", "-p", "no:cacheprovider"])
            .args(args),
    )
}
