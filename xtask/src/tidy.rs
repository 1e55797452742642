//! Tidy checks: properties of the code base that no compiler checks, run as `#[test]`s.

use std::path::Path;
use std::process::Command;

/// Crates that must stay free of any async runtime and HTTP server or client stack.
pub(crate) const PURE_CRATES: &[&str] =
    &["tessera-proto", "tessera-sign", "tessera-multipart", "tessera-http", "tessera-store", "tessera-engine"];

/// Packages a pure crate must never depend on, directly or through another crate.
pub(crate) const FORBIDDEN: &[&str] = &["tokio", "hyper", "hyper-util", "async-std", "smol", "mio"];

/// Runs every tidy check.
pub(crate) fn check_all(root: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let metadata = cargo_metadata(root)?;
    let violations = runtime_violations(&metadata, PURE_CRATES, FORBIDDEN);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(format!("pure crates reach runtime crates:\n  {}", violations.join("\n  ")).into())
    }
}

fn cargo_metadata(root: &Path) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .output()
        .or_else(|_| Command::new("cargo").current_dir(root).args(["metadata", "--format-version", "1"]).output())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// For each pure crate, every forbidden package reachable through normal (non-dev, non-build)
/// dependencies, as `crate -> a -> b -> forbidden` chains.
pub(crate) fn runtime_violations(metadata: &serde_json::Value, pure: &[&str], forbidden: &[&str]) -> Vec<String> {
    use std::collections::{HashMap, VecDeque};

    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let name_of: HashMap<&str, &str> =
        packages.iter().filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?))).collect();
    let nodes = metadata["resolve"]["nodes"].as_array().cloned().unwrap_or_default();
    // Normal-kind edges only: a dev-dependency on tokio (for tests) is fine.
    let mut edges: HashMap<String, Vec<String>> = HashMap::new();
    for node in &nodes {
        let id = node["id"].as_str().unwrap_or_default().to_owned();
        let deps = node["deps"].as_array().cloned().unwrap_or_default();
        let normal = deps
            .iter()
            .filter(|d| d["dep_kinds"].as_array().is_some_and(|kinds| kinds.iter().any(|k| k["kind"].is_null())))
            .filter_map(|d| d["pkg"].as_str().map(str::to_owned))
            .collect();
        edges.insert(id, normal);
    }

    let mut violations = Vec::new();
    for &krate in pure {
        let Some(start) = name_of.iter().find(|(_, n)| **n == krate).map(|(id, _)| id.to_string()) else {
            continue;
        };
        let mut parent: HashMap<String, String> = HashMap::new();
        let mut queue = VecDeque::from([start.clone()]);
        while let Some(id) = queue.pop_front() {
            for dep in edges.get(&id).into_iter().flatten() {
                if dep == &start || parent.contains_key(dep) {
                    continue;
                }
                parent.insert(dep.clone(), id.clone());
                let name = name_of.get(dep.as_str()).copied().unwrap_or_default();
                if forbidden.contains(&name) {
                    let mut chain = vec![name.to_owned()];
                    let mut cur = id.clone();
                    while cur != start {
                        chain.push(name_of.get(cur.as_str()).copied().unwrap_or_default().to_owned());
                        cur = parent[&cur].clone();
                    }
                    chain.push(krate.to_owned());
                    chain.reverse();
                    violations.push(chain.join(" -> "));
                } else {
                    queue.push_back(dep.clone());
                }
            }
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pure_crates_depend_on_no_runtime() {
        let root = crate::workspace_root();
        check_all(&root).unwrap();
    }

    /// The checker itself must be able to fail: feed it a graph where a pure crate reaches
    /// tokio through an intermediate crate, and one where tokio is only a dev-dependency.
    #[test]
    fn checker_finds_an_indirect_runtime_dependency() {
        let normal = serde_json::json!([{ "kind": null }]);
        let dev = serde_json::json!([{ "kind": "dev" }]);
        let metadata = serde_json::json!({
            "packages": [
                { "id": "p", "name": "tessera-proto" },
                { "id": "m", "name": "middle" },
                { "id": "t", "name": "tokio" },
                { "id": "s", "name": "tessera-sign" },
            ],
            "resolve": { "nodes": [
                { "id": "p", "deps": [ { "pkg": "m", "dep_kinds": normal } ] },
                { "id": "m", "deps": [ { "pkg": "t", "dep_kinds": normal } ] },
                { "id": "s", "deps": [ { "pkg": "t", "dep_kinds": dev } ] },
                { "id": "t", "deps": [] },
            ]},
        });
        let found = runtime_violations(&metadata, &["tessera-proto", "tessera-sign"], FORBIDDEN);
        assert_eq!(found, vec!["tessera-proto -> middle -> tokio".to_owned()]);
    }
}
