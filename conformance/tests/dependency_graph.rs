//! The workspace's arrows point one way. Each crate may depend only on crates
//! below it in [`LAYERS`] (the one place the order is written); `benches` and
//! `conformance` may use anything and nothing may use them. The server library
//! stays free of the command-line stack, which belongs to the binary.
//!
//! Read from `cargo tree` (normal dependencies only, as they are built for this
//! machine): dev-dependencies may point anywhere, since tests are not shipped.

use std::path::Path;
use std::process::Command;

/// Bottom to top: a crate may depend on the ones before it, never after.
const LAYERS: &[&str] = &[
    "erasure",
    "store",
    "lifecycle",
    "iam",
    "s3-api",
    "s3-client",
    "minnow-console",
    "minnow",
];
/// Workspace crates outside the layers: they may use anything, nothing uses them.
const TOOLS: &[&str] = &["minnow-benches", "conformance"];
/// Crates only the binary may pull in (argument parsing, log output, progress
/// bars, catch-all errors), never the server library.
const BINARY_ONLY: &[&str] = &["clap", "anyhow", "indicatif", "tracing-subscriber"];

/// Package names `cargo tree` prints for `package`'s normal dependencies:
/// direct ones with `depth = Some(1)`, the whole tree with `None`.
fn normal_dependencies(package: &str, depth: Option<u32>) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut command = Command::new(cargo);
    command.current_dir(&workspace).args([
        "tree", "-p", package, "-e", "normal", "--prefix", "none", "--format", "{p}",
    ]);
    if let Some(depth) = depth {
        command.args(["--depth", &depth.to_string()]);
    }
    let output = command.output().expect("running cargo tree");
    assert!(
        output.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("cargo tree prints UTF-8")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .filter(|name| name != package)
        .collect()
}

/// Every package of the workspace, from `cargo metadata --no-deps`.
fn workspace_members() -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = Command::new(cargo)
        .current_dir(&workspace)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .expect("running cargo metadata");
    assert!(output.status.success(), "cargo metadata failed");
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|package| package["name"].as_str().expect("name").to_string())
        .collect()
}

#[test]
fn every_workspace_crate_has_a_place_in_the_layers() {
    for member in workspace_members() {
        assert!(
            LAYERS.contains(&member.as_str()) || TOOLS.contains(&member.as_str()),
            "workspace crate {member} is in neither LAYERS nor TOOLS of {}: give it a place",
            file!()
        );
    }
}

#[test]
fn crates_depend_only_on_crates_below_them() {
    for (level, package) in LAYERS.iter().enumerate() {
        for dependency in normal_dependencies(package, Some(1)) {
            assert!(
                !TOOLS.contains(&dependency.as_str()),
                "{package} depends on {dependency}, which only tests and benchmarks may use"
            );
            if let Some(other) = LAYERS.iter().position(|name| *name == dependency) {
                assert!(
                    other < level,
                    "{package} depends on {dependency}, which sits above it in LAYERS {LAYERS:?}"
                );
            }
        }
    }
}

#[test]
fn the_server_library_does_not_pull_in_the_command_line_stack() {
    let tree = normal_dependencies("s3-api", None);
    assert!(tree.iter().any(|name| name == "store"), "sanity: {tree:?}");
    for name in BINARY_ONLY {
        assert!(
            !tree.iter().any(|dependency| dependency == name),
            "s3-api depends (directly or not) on {name}, which belongs to the minnow binary"
        );
    }
}

/// The store's rooms stay small enough to read in one sitting: no source
/// file under `store/src` is longer than this many lines.
const STORE_FILE_LINES: usize = 800;

#[test]
fn no_store_source_file_is_longer_than_the_limit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/src");
    let mut folders = vec![root];
    let mut too_long = Vec::new();
    let mut files = 0;
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("store/src is readable") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files += 1;
                let lines = std::fs::read_to_string(&path)
                    .expect("a source file")
                    .lines()
                    .count();
                if lines > STORE_FILE_LINES {
                    too_long.push(format!("{} ({lines} lines)", path.display()));
                }
            }
        }
    }
    assert!(
        files > 20,
        "found only {files} source files under store/src"
    );
    assert!(
        too_long.is_empty(),
        "store files over {STORE_FILE_LINES} lines: {too_long:?}"
    );
}
