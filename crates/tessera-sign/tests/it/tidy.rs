//! The crate stays runtime-free: no async runtime, HTTP stack or async machinery in its
//! normal dependencies (the workspace-wide graph check lives in xtask; this one is local).

#[test]
fn no_runtime_dependencies() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).expect("Cargo.toml");
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .expect("a [dependencies] table")
        .split("\n[")
        .next()
        .unwrap_or_default();
    for forbidden in ["tokio", "hyper", "async-std", "smol", "mio", "futures", "async-trait"] {
        assert!(
            !deps.lines().any(|l| l.trim_start().starts_with(forbidden)),
            "tessera-sign must not depend on {forbidden}"
        );
    }
    let src = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src")).expect("src");
    for entry in src {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("source");
        assert!(!text.contains("async fn"), "{} has an async fn", path.display());
        assert!(
            !text.contains("SystemTime::now") && !text.contains("Instant::now"),
            "{} reads the clock",
            path.display()
        );
    }
}
