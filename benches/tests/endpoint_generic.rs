//! `minnow-bench --endpoint` works against any S3 endpoint, not only one it
//! started itself: start a second minnow on its own port, run a short PUT and
//! GET bench against it with explicit credentials, and parse the JSON.
//! Skips (with a note) when target/debug/minnow has not been built or is
//! still a placeholder that exits at once.

use std::path::PathBuf;
use std::process::Command;

use minnow_benches::server::{MinnowServer, ServerError, ROOT_PASSWORD, ROOT_USER};

/// `$MINNOW_BIN`, else target/debug/minnow.
fn minnow_binary() -> Option<PathBuf> {
    let bin = std::env::var_os("MINNOW_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/minnow")
        });
    bin.exists().then_some(bin)
}

fn run_bench(mode: &str, endpoint: &str, json: &std::path::Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_minnow-bench"))
        .args([mode, "--endpoint", endpoint])
        .args(["--access-key", ROOT_USER, "--secret-key", ROOT_PASSWORD])
        .args(["--bucket", "generic-endpoint", "--size", "64KiB", "-c", "4"])
        .args(["--ops", "40", "--duration", "20", "--objects", "8"])
        .arg("--no-baseline")
        .arg("--json")
        .arg(json)
        .output()
        .expect("minnow-bench runs");
    assert!(
        out.status.success(),
        "minnow-bench {mode} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(json).expect("JSON results written");
    serde_json::from_str(&text).expect("results are JSON")
}

#[test]
fn bench_runs_against_a_separately_started_server() {
    let Some(bin) = minnow_binary() else {
        eprintln!(
            "note: target/debug/minnow not built; skipping (cargo build -p minnow --bin minnow)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = match MinnowServer::start(&bin, dir.path()) {
        Ok(s) => s,
        // A placeholder binary that exits at once with success is not a server yet.
        Err(ServerError::ExitedEarly(status, _)) if status.success() => {
            eprintln!(
                "note: {} exits at once (not a server yet); skipping",
                bin.display()
            );
            return;
        }
        Err(e) => panic!("second minnow did not start: {e}"),
    };
    for mode in ["put", "get"] {
        let json = dir.path().join(format!("{mode}.json"));
        let v = run_bench(mode, &server.endpoint, &json);
        let run = &v["run"];
        assert_eq!(run["errors"], 0, "{mode}: {v:#}");
        assert_eq!(run["ok_ops"], 40, "{mode}: {v:#}");
        assert_eq!(run["bytes"], 40 * 64 * 1024, "{mode}: {v:#}");
        assert!(run["ops"][0]["p50_ms"].as_f64().unwrap() > 0.0);
        assert!(run["client_cpu_secs"].as_f64().is_some());
    }
}
