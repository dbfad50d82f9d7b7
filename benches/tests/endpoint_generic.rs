//! `minnow-bench --endpoint` works against any S3 endpoint, not only one it
//! started itself: start a second minnow on its own port, run a short PUT and
//! GET bench against it with explicit credentials, and parse the JSON.
//! Also runs `minnow-bench matrix --smoke` (one tiny cell of what `make
//! bench` runs) against the debug server, so a broken matrix fails `make
//! test` rather than the next person who benchmarks.
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

/// `make bench` / `make bench-quick` run `minnow-bench matrix`: its smoke
/// plan must start the server itself, measure a PUT and a GET cell without
/// errors and write the report.
#[test]
fn matrix_smoke_cell_runs_against_the_debug_server() {
    let Some(bin) = minnow_binary() else {
        eprintln!(
            "note: target/debug/minnow not built; skipping (cargo build -p minnow --bin minnow)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("matrix.json");
    let out = Command::new(env!("CARGO_BIN_EXE_minnow-bench"))
        .args(["matrix", "--smoke", "--cell-secs", "1"])
        .arg("--server-bin")
        .arg(&bin)
        .arg("--work-dir")
        .arg(dir.path())
        .arg("--json")
        .arg(&json)
        .output()
        .expect("minnow-bench runs");
    assert!(
        out.status.success(),
        "minnow-bench matrix --smoke failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&json).expect("matrix report written");
    let v: serde_json::Value = serde_json::from_str(&text).expect("report is JSON");
    assert_eq!(v["kind"], "smoke", "{v:#}");
    let rows = v["rows"].as_array().expect("rows");
    let modes: Vec<&str> = rows
        .iter()
        .map(|r| r["run"]["mode"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(modes, ["put", "get"], "{v:#}");
    for r in rows {
        let run = &r["run"];
        assert_eq!(run["target"], "minnow", "{v:#}");
        assert_eq!(run["errors"], 0, "{v:#}");
        assert!(run["ok_ops"].as_u64().unwrap() > 0, "{v:#}");
    }
    // The PUT cell is compared with the raw-disk baseline of the same sitting.
    assert_eq!(rows[0]["baseline"]["target"], "raw-disk", "{v:#}");
}

/// `minnow-bench heal-pacing` (the heal-pacing figure in BENCHMARKS.md) in
/// miniature: a few hundred objects, two rounds of a wiped drive and the
/// background heal after the restart, between idle phases. The bench must
/// see each heal finish, and the wiped drive must hold every object again,
/// with GETs answered in every phase.
#[test]
fn heal_pacing_smoke_run_sees_a_wiped_drive_refilled() {
    let Some(bin) = minnow_binary() else {
        eprintln!(
            "note: target/debug/minnow not built; skipping (cargo build -p minnow --bin minnow)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("heal-pacing.json");
    let out = Command::new(env!("CARGO_BIN_EXE_minnow-bench"))
        .args(["heal-pacing", "--objects", "150", "--large-objects", "2"])
        .args(["--large-size", "256KiB", "--rate", "40", "-c", "2"])
        .args(["--idle-secs", "1", "--rounds", "2", "--heal-timeout", "120"])
        .arg("--server-bin")
        .arg(&bin)
        .arg("--work-dir")
        .arg(dir.path())
        .arg("--json")
        .arg(&json)
        .output()
        .expect("minnow-bench runs");
    assert!(
        out.status.success(),
        "minnow-bench heal-pacing failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&json).expect("results written");
    let v: serde_json::Value = serde_json::from_str(&text).expect("results are JSON");
    assert_eq!(v["heal_finished"], true, "{v:#}");
    assert_eq!(v["objects"], 152, "{v:#}");
    assert_eq!(v["wiped_drive_objects"], 152, "{v:#}");
    assert!(v["idle"]["ok"].as_u64().unwrap() > 0, "{v:#}");
    assert_eq!(v["idle"]["errors"], 0, "{v:#}");
    assert!(v["during_heal"]["ok"].as_u64().is_some(), "{v:#}");
    // idle, heal, idle, heal, idle: each heal between two idle phases.
    assert_eq!(v["idle_phases"].as_array().unwrap().len(), 3, "{v:#}");
    let rounds = v["heal_rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 2, "{v:#}");
    for round in rounds {
        assert_eq!(round["heal_finished"], true, "{v:#}");
        assert_eq!(round["wiped_drive_objects"], 152, "{v:#}");
    }
    assert!(v["server_peak_rss_bytes"].as_u64().unwrap() > 0, "{v:#}");
}
