//! `minnow mirror`, `du`, `find` and `import` through the real binary:
//! local ↔ minnow ↔ a second minnow with 2,000 small files and a 200 MiB
//! file, `--remove` and `--dry-run`, runs killed with SIGKILL and re-run,
//! and a migration from moto (another S3 server) with its bucket settings.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng as _, SeedableRng as _};

use super::{bucket_on, path_str, second_server, shared_server, walk_count, Cli, Run};
use conformance::{minnow_binary, pattern_bytes};

/// Every file under `dir` by relative path, with its bytes.
fn tree_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, rel)) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if entry.file_type().unwrap().is_dir() {
                pending.push((entry.path(), child));
            } else {
                all.insert(child, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    all
}

fn statuses(run: &Run) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in run.json_lines() {
        *counts
            .entry(line["status"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    counts
}

fn count(run: &Run, status: &str) -> usize {
    statuses(run).get(status).copied().unwrap_or(0)
}

fn small_tree(root: &Path, files: usize) {
    for i in 0..files {
        let folder = root.join(format!("d{}", i % 10));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(format!("f{i}.json")), format!("{{\"n\":{i}}}")).unwrap();
    }
}

/// S3's ETag of an object uploaded in `part`-sized parts: the MD5 of the
/// parts' MD5s, a dash, the number of parts.
fn multipart_etag(bytes: &[u8], part: usize) -> String {
    use md5::{Digest as _, Md5};
    let mut all = Md5::new();
    let chunks = bytes.chunks(part);
    let count = chunks.len();
    for chunk in chunks {
        all.update(Md5::digest(chunk));
    }
    format!("{}-{count}", hex::encode(all.finalize()))
}

pub(super) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

#[test]
fn mirror_moves_a_tree_and_a_200_mib_file_local_to_server_to_server_to_local() {
    let (s, t) = (shared_server(), second_server());
    let cli = Cli::new().with_alias("s", s).with_alias("t", t);
    let (sb, tb) = (bucket_on(s, "mirror-src"), bucket_on(t, "mirror-dst"));
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    small_tree(&tree, 2000);
    std::fs::write(tree.join("big.bin"), pattern_bytes(200 * 1024 * 1024, 11)).unwrap();

    let up = cli
        .run(&[
            "mirror",
            "--json",
            "--parallel",
            "16",
            path_str(&tree),
            &format!("s/{sb}/m"),
        ])
        .ok();
    assert_eq!(count(&up, "copied"), 2001, "{:?}", statuses(&up));
    // A file uploaded in parts is read once, so no whole-body MD5 can go
    // with the upload's start: its ETag is the file's multipart ETag at
    // 16 MiB parts, which the next run compares the file by.
    let stat = cli
        .run(&["stat", "--json", &format!("s/{sb}/m/big.bin")])
        .ok();
    let stat = &stat.json_lines()[0];
    assert_eq!(
        stat["etag"].as_str().unwrap().trim_matches('"'),
        multipart_etag(&std::fs::read(tree.join("big.bin")).unwrap(), 16 << 20),
        "{stat}"
    );
    assert!(
        stat["carried"].get("x-amz-meta-minnow-md5").is_none(),
        "{stat}"
    );
    // Its 13 parts went with their CRC32C, which the server checked and
    // keeps as the object's composite checksum.
    let head = runtime().block_on(async {
        s.s3_client()
            .head_object()
            .bucket(&sb)
            .key("m/big.bin")
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
            .send()
            .await
            .unwrap()
    });
    assert!(
        head.checksum_crc32_c().is_some_and(|c| c.ends_with("-13")),
        "{head:?}"
    );

    let across = cli
        .run(&[
            "mirror",
            "--json",
            "--parallel",
            "16",
            &format!("s/{sb}/m"),
            &format!("t/{tb}"),
        ])
        .ok();
    assert_eq!(count(&across, "copied"), 2001);
    let stat = cli
        .run(&["stat", "--json", &format!("t/{tb}/d3/f3.json")])
        .ok();
    assert_eq!(stat.json_lines()[0]["contentType"], "application/json");

    let back = dir.path().join("back");
    let down = cli
        .run(&["mirror", "--json", &format!("t/{tb}"), path_str(&back)])
        .ok();
    assert_eq!(count(&down, "copied"), 2001);
    assert!(
        tree_of(&back) == tree_of(&tree),
        "bytes differ after local → s → t → local"
    );

    // Nothing differs now: every leg copies nothing.
    for (from, to) in [
        (path_str(&tree).to_string(), format!("s/{sb}/m")),
        (format!("s/{sb}/m"), format!("t/{tb}")),
        (format!("t/{tb}"), path_str(&back).to_string()),
    ] {
        let again = cli.run(&["mirror", "--json", &from, &to]).ok();
        assert_eq!(
            count(&again, "copied"),
            0,
            "{from} -> {to}: {:?}",
            statuses(&again)
        );
        assert_eq!(count(&again, "unchanged"), 2001);
    }
}

#[test]
fn mirror_within_one_server_copies_server_side_and_a_second_run_copies_nothing() {
    let s = shared_server();
    let cli = Cli::new().with_alias("s", s);
    let (from, to) = (bucket_on(s, "same-from"), bucket_on(s, "same-to"));
    let dir = tempfile::tempdir().unwrap();
    let bytes = pattern_bytes(20 * 1024 * 1024, 5);
    std::fs::write(dir.path().join("f.bin"), &bytes).unwrap();
    cli.run(&["mirror", "-q", path_str(dir.path()), &format!("s/{from}")])
        .ok();
    let source = cli
        .run(&["stat", "--json", &format!("s/{from}/f.bin")])
        .ok();
    assert!(source.json_lines()[0]["etag"]
        .as_str()
        .unwrap()
        .ends_with("-2\""));

    let copy = cli
        .run(&["mirror", "--json", &format!("s/{from}"), &format!("s/{to}")])
        .ok();
    assert_eq!(count(&copy, "copied"), 1, "{:?}", statuses(&copy));
    // Streamed through the CLI it would be a 2-part upload ("…-2"); copied
    // by the server (CopyObject) it is one object whose ETag is its MD5.
    let stat = cli.run(&["stat", "--json", &format!("s/{to}/f.bin")]).ok();
    assert_eq!(
        stat.json_lines()[0]["etag"]
            .as_str()
            .unwrap()
            .trim_matches('"'),
        hex::encode(<md5::Md5 as md5::Digest>::digest(&bytes))
    );
    assert!(cli.run(&["cat", &format!("s/{to}/f.bin")]).ok().stdout == bytes);
    let again = cli
        .run(&["mirror", "--json", &format!("s/{from}"), &format!("s/{to}")])
        .ok();
    assert_eq!(count(&again, "unchanged"), 1, "{:?}", statuses(&again));
}

#[test]
fn mirror_carries_metadata_and_remove_and_dry_run_do_what_they_say() {
    let (s, t) = (shared_server(), second_server());
    let cli = Cli::new().with_alias("s", s).with_alias("t", t);
    let (sb, tb) = (bucket_on(s, "meta-src"), bucket_on(t, "meta-dst"));
    runtime().block_on(async {
        let client = s.s3_client();
        for (key, body) in [
            ("a.txt", "one"),
            ("sub/b.txt", "two"),
            ("sub/c.txt", "three"),
        ] {
            client
                .put_object()
                .bucket(&sb)
                .key(key)
                .body(body.as_bytes().to_vec().into())
                .content_type("text/x-special")
                .cache_control("max-age=60")
                .content_disposition("attachment; filename=\"x.txt\"")
                .metadata("owner", "ada")
                .send()
                .await
                .unwrap();
        }
    });
    cli.run(&["mirror", "-q", &format!("s/{sb}"), &format!("t/{tb}")])
        .ok();
    let stat = cli
        .run(&["stat", "--json", &format!("t/{tb}/sub/b.txt")])
        .ok();
    let stat = &stat.json_lines()[0];
    assert_eq!(stat["contentType"], "text/x-special");
    assert_eq!(stat["carried"]["cache-control"], "max-age=60");
    assert_eq!(
        stat["carried"]["content-disposition"],
        "attachment; filename=\"x.txt\""
    );
    assert_eq!(stat["carried"]["x-amz-meta-owner"], "ada");

    // An extra on the target and a changed source object.
    cli.run(&["cp", &format!("s/{sb}/a.txt"), &format!("t/{tb}/extra.txt")])
        .ok();
    let dir = tempfile::tempdir().unwrap();
    let changed = dir.path().join("c.txt");
    std::fs::write(&changed, "THREE, longer").unwrap();
    cli.run(&["cp", path_str(&changed), &format!("s/{sb}/sub/c.txt")])
        .ok();

    let dry = cli
        .run(&[
            "mirror",
            "--json",
            "--remove",
            "--dry-run",
            &format!("s/{sb}"),
            &format!("t/{tb}"),
        ])
        .ok();
    assert_eq!(count(&dry, "would-copy"), 1, "{:?}", statuses(&dry));
    assert_eq!(count(&dry, "would-remove"), 1);
    assert_eq!(
        cli.run(&["cat", &format!("t/{tb}/sub/c.txt")]).ok().stdout,
        b"three",
        "a dry run changes nothing"
    );
    cli.run(&["stat", &format!("t/{tb}/extra.txt")]).ok();

    // Without --remove the extra stays.
    let plain = cli
        .run(&["mirror", "--json", &format!("s/{sb}"), &format!("t/{tb}")])
        .ok();
    assert_eq!(count(&plain, "copied"), 1);
    assert_eq!(count(&plain, "removed"), 0);
    cli.run(&["stat", &format!("t/{tb}/extra.txt")]).ok();
    assert_eq!(
        cli.run(&["cat", &format!("t/{tb}/sub/c.txt")]).ok().stdout,
        b"THREE, longer"
    );

    let removing = cli
        .run(&[
            "mirror",
            "--json",
            "--remove",
            &format!("s/{sb}"),
            &format!("t/{tb}"),
        ])
        .ok();
    assert_eq!(count(&removing, "removed"), 1);
    assert_eq!(count(&removing, "copied"), 0);
    cli.run(&["stat", &format!("t/{tb}/extra.txt")])
        .fails_with("object not found");

    // Local target: --remove deletes the extra file.
    let local = dir.path().join("local");
    cli.run(&["mirror", "-q", &format!("s/{sb}"), path_str(&local)])
        .ok();
    std::fs::write(local.join("stray.txt"), "x").unwrap();
    cli.run(&[
        "mirror",
        "-q",
        "--remove",
        &format!("s/{sb}"),
        path_str(&local),
    ])
    .ok();
    assert!(!local.join("stray.txt").exists());
    assert_eq!(walk_count(&local), 3);
}

/// Starts a mirror, kills it with SIGKILL after `after`.
fn killed_mirror(cli: &Cli, from: &str, to: &str, after: Duration) {
    let mut command = Command::new(minnow_binary());
    command
        .args(["mirror", "-q", "--parallel", "4", from, to])
        .env("XDG_CONFIG_HOME", cli.config.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, value) in &cli.env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
}

#[test]
fn mirror_killed_at_random_points_resumes_and_ends_identical_without_leftovers() {
    let s = shared_server();
    let cli = Cli::new().with_alias("s", s);
    let sb = bucket_on(s, "resume");
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    small_tree(&tree, 300);
    for i in 0..3 {
        std::fs::write(
            tree.join(format!("big{i}.bin")),
            pattern_bytes(40 * 1024 * 1024 + i, 20 + i as u64),
        )
        .unwrap();
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6d69_7272);
    let target = format!("s/{sb}/r");
    let back = dir.path().join("back");
    for (from, to) in [
        (path_str(&tree).to_string(), target.clone()),
        (target.clone(), path_str(&back).to_string()),
    ] {
        for _round in 0..3 {
            let after = Duration::from_millis(rng.gen_range(200..2500));
            killed_mirror(&cli, &from, &to, after);
        }
        let last = cli.run(&["mirror", "--json", &from, &to]).ok();
        assert_eq!(count(&last, "failed"), 0);
        let again = cli.run(&["mirror", "--json", &from, &to]).ok();
        assert_eq!(count(&again, "copied"), 0, "{:?}", statuses(&again));
        assert_eq!(count(&again, "unchanged"), 303);
    }
    assert!(tree_of(&back) == tree_of(&tree), "resumed copies differ");
    // No temporary downloads and no abandoned multipart uploads.
    assert_eq!(walk_count(&back), 303);
    let uploads = runtime().block_on(async {
        s.s3_client()
            .list_multipart_uploads()
            .bucket(&sb)
            .send()
            .await
            .unwrap()
    });
    assert!(uploads.uploads().is_empty(), "{uploads:?}");
}

#[test]
fn du_and_find_report_sizes_names_and_ages() {
    let s = shared_server();
    let cli = Cli::new().with_alias("s", s);
    let sb = bucket_on(s, "du");
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("t");
    std::fs::create_dir_all(tree.join("photos/2024")).unwrap();
    std::fs::create_dir_all(tree.join("docs")).unwrap();
    std::fs::write(tree.join("photos/2024/a.jpg"), vec![1u8; 3000]).unwrap();
    std::fs::write(tree.join("photos/2024/b.jpg"), vec![2u8; 5000]).unwrap();
    std::fs::write(tree.join("photos/c.png"), vec![3u8; 100]).unwrap();
    std::fs::write(tree.join("docs/d.txt"), vec![4u8; 20]).unwrap();
    cli.run(&["mirror", "-q", path_str(&tree), &format!("s/{sb}")])
        .ok();

    let total = cli.run(&["du", "--json", &format!("s/{sb}")]).ok();
    let total = total.json_lines();
    assert_eq!(total.len(), 1);
    assert_eq!(total[0]["size"], 8120);
    assert_eq!(total[0]["objects"], 4);
    let deep = cli
        .run(&["du", "--json", "--depth", "1", &format!("s/{sb}/photos")])
        .ok();
    let deep: Vec<(String, u64, u64)> = deep
        .json_lines()
        .iter()
        .map(|l| {
            (
                l["prefix"].as_str().unwrap().to_string(),
                l["size"].as_u64().unwrap(),
                l["objects"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        deep,
        vec![
            (format!("s/{sb}/photos/2024/"), 8000, 2),
            (format!("s/{sb}/photos/"), 8100, 3),
        ]
    );

    let found = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["find", "--json"];
        all.extend_from_slice(args);
        let run = cli.run(&all).ok();
        let mut keys: Vec<String> = run
            .json_lines()
            .iter()
            .map(|l| l["key"].as_str().unwrap().to_string())
            .collect();
        keys.sort();
        keys
    };
    let bucket = format!("s/{sb}");
    assert_eq!(
        found(&[&bucket, "--name", "*.jpg"]),
        vec![
            format!("{bucket}/photos/2024/a.jpg"),
            format!("{bucket}/photos/2024/b.jpg")
        ]
    );
    assert_eq!(
        found(&[&bucket, "--larger", "1KiB", "--smaller", "4KiB"]),
        vec![format!("{bucket}/photos/2024/a.jpg")]
    );
    assert_eq!(found(&[&bucket, "--newer-than", "1h"]).len(), 4);
    assert!(found(&[&bucket, "--older-than", "1h"]).is_empty());
    cli.run(&["find", &bucket, "--larger", "ten"])
        .fails_with("not a size");
}

#[test]
fn mirror_from_an_unreachable_server_exits_2_with_one_line() {
    let s = shared_server();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut cli = Cli::new().with_alias("s", s);
    cli.env.push((
        "MINNOW_ALIAS_DOWN".into(),
        format!("http://a:b@127.0.0.1:{closed}"),
    ));
    let sb = bucket_on(s, "down");
    let run = cli.run(&["mirror", "DOWN/b", &format!("s/{sb}")]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("cannot reach"), "{}", run.stderr);
    let mut wrong = Cli::new();
    wrong.env.push((
        "MINNOW_ALIAS_WRONG".into(),
        s.endpoint()
            .replacen("http://", "http://nobody:badsecret@", 1),
    ));
    let run = wrong.run(&[
        "mirror",
        &format!("WRONG/{sb}"),
        "/tmp/minnow-never-written",
    ]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(!Path::new("/tmp/minnow-never-written").exists());
}

/// A moto S3 server on loopback, installed from PyPI if missing; killed on drop.
pub(super) struct Moto {
    child: std::process::Child,
    pub(super) url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn start_moto() -> Moto {
    let has = || {
        Command::new("python3")
            .args(["-c", "import moto.server, flask, boto3"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has() {
        let installed = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--user",
                "--break-system-packages",
            ])
            .arg("moto[server]")
            .arg("boto3")
            .status()
            .expect("run pip");
        assert!(installed.success(), "pip install moto[server] failed");
    }
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting moto");
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not start within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

fn moto_script(mode: &str, moto: &Moto, server: &conformance::TestServer, buckets: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/object_cli/moto_seed.py");
    let out = Command::new("python3")
        .arg(script)
        .args([
            mode,
            &moto.url,
            server.endpoint(),
            server.access_key(),
            server.secret_key(),
        ])
        .args(buckets)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{mode}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn import_from_moto_copies_buckets_settings_and_objects_and_a_second_run_copies_nothing() {
    let s = shared_server();
    let moto = start_moto();
    let (first, second) = (
        conformance::unique_bucket("import-a"),
        conformance::unique_bucket("import-b"),
    );
    moto_script("seed", &moto, s, &[&first, &second]);
    let mut cli = Cli::new().with_alias("local", s);
    cli.env.push((
        "MINNOW_ALIAS_OLD".into(),
        moto.url.replacen("http://", "http://x:x@", 1),
    ));
    let run = cli
        .run(&["import", "OLD", &first, &second, "--to", "local", "--json"])
        .ok();
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["bucketsCreated"], 2, "{report}");
    assert_eq!(report["objectsCopied"], 52, "{report}");
    // moto has no MinIO admin API: the report says why no users are named.
    assert!(
        report["usersUnlisted"]
            .as_str()
            .is_some_and(|r| r.contains("no MinIO admin API")),
        "{report}"
    );
    assert_eq!(report["skipped"].as_array().unwrap().len(), 0, "{report}");
    assert_eq!(
        report["configsCopied"].as_array().unwrap().len(),
        3,
        "{report}"
    );
    moto_script("check", &moto, s, &[&first, &second]);

    let again = cli
        .run(&["import", "OLD", &first, &second, "--to", "local", "--json"])
        .ok();
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report["objectsCopied"], 0, "{report}");
    assert_eq!(report["objectsUnchanged"], 52, "{report}");

    // The human report names what cannot be copied and how to recreate users.
    let text = cli
        .run(&["import", "OLD", &first, "--to", "local"])
        .ok()
        .text();
    assert!(text.contains("minnow user add"), "{text}");
    assert!(text.contains("Users not listed"), "{text}");
    // A bucket the source lacks is reported, and the run says so by its exit code.
    let missing = cli.run(&["import", "OLD", "no-such-bucket-here", "--to", "local"]);
    assert_eq!(missing.code, Some(1));
    assert!(missing
        .text()
        .contains("no-such-bucket-here: the source has no such bucket"));
}

#[test]
fn import_reports_a_refused_bucket_name_and_an_unstorable_key_and_copies_the_rest() {
    let s = shared_server();
    let moto = start_moto();
    let good = conformance::unique_bucket("import-bad");
    // moto, like AWS's legacy us-east-1, takes upper case and `_`; minnow does not.
    let refused = format!("Bad_Name_{}", good.replace('-', "_"));
    let long_key = "k".repeat(1100);
    let seed = format!(
        "import boto3\nfrom botocore.config import Config\n\
         c = boto3.client('s3', endpoint_url='{}', aws_access_key_id='x', aws_secret_access_key='x', \
         region_name='us-east-1', config=Config(s3={{'addressing_style': 'path'}}))\n\
         c.create_bucket(Bucket='{refused}')\nc.put_object(Bucket='{refused}', Key='a', Body=b'a')\n\
         c.create_bucket(Bucket='{good}')\nc.put_object(Bucket='{good}', Key='ok.txt', Body=b'fine')\n\
         c.put_object(Bucket='{good}', Key='{long_key}', Body=b'too long a name')\n",
        moto.url
    );
    let out = Command::new("python3")
        .args(["-c", &seed])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut cli = Cli::new().with_alias("local", s);
    cli.env.push((
        "MINNOW_ALIAS_OLD".into(),
        moto.url.replacen("http://", "http://x:x@", 1),
    ));
    let run = cli.run(&["import", "OLD", &refused, &good, "--to", "local", "--json"]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.text(), run.stderr);
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let skipped: Vec<&str> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(skipped.len(), 2, "{report}");
    assert!(
        skipped
            .iter()
            .any(|l| l.starts_with(&format!("bucket {refused}:"))),
        "{skipped:?}"
    );
    assert!(
        skipped
            .iter()
            .any(|l| l.contains(&long_key) && !l.contains('\n')),
        "{skipped:?}"
    );
    assert_eq!(report["objectsCopied"], 1, "{report}");
    assert_eq!(
        cli.run(&["cat", &format!("local/{good}/ok.txt")])
            .ok()
            .stdout,
        b"fine"
    );
    let listed = cli
        .run(&["ls", "-r", "--json", &format!("local/{good}")])
        .ok();
    assert_eq!(
        listed.json_lines().len(),
        1,
        "no partial object for the refused key"
    );
}

#[test]
fn a_source_rewritten_during_the_mirror_never_leaves_a_mixed_copy() {
    let (s, t) = (shared_server(), second_server());
    let cli = Cli::new().with_alias("s", s).with_alias("t", t);
    let (sb, tb) = (bucket_on(s, "changing-src"), bucket_on(t, "changing-dst"));
    let size = 48 * 1024 * 1024;
    let versions = [pattern_bytes(size, 1), pattern_bytes(size, 2)];
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("src");
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join("moving.bin");
    std::fs::write(&file, &versions[0]).unwrap();

    // A local file rewritten over and over while it is uploaded.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, file, versions) = (stop.clone(), file.clone(), versions.clone());
        std::thread::spawn(move || {
            let mut i = 1;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::fs::write(&file, &versions[i % 2]).unwrap();
                i += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let run = cli.run(&["mirror", "-q", path_str(&folder), &format!("s/{sb}")]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    let stored = cli.run(&["cat", &format!("s/{sb}/moving.bin")]);
    eprintln!("local source: exit {:?}: {}", run.code, run.stderr.trim());
    if run.code == Some(0) {
        // `fs::write` truncates before it writes, so the file is really
        // empty for a moment; a copy of that moment is whole, not mixed.
        assert!(
            versions.contains(&stored.stdout) || stored.stdout.is_empty(),
            "a mix of two versions was stored"
        );
    } else {
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        assert!(run.stderr.contains("changed"), "{}", run.stderr);
        assert_ne!(stored.code, Some(0), "a failed copy left an object behind");
    }

    // A server object overwritten while it is copied to another server.
    std::fs::write(&file, &versions[0]).unwrap();
    cli.run(&["cp", path_str(&file), &format!("s/{sb}/moving.bin")])
        .ok();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let versions = versions.clone();
        let bucket = sb.clone();
        std::thread::spawn(move || {
            runtime().block_on(async {
                let client = s.s3_client();
                let mut i = 1;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = client
                        .put_object()
                        .bucket(&bucket)
                        .key("moving.bin")
                        .body(versions[i % 2].clone().into())
                        .send()
                        .await;
                    i += 1;
                }
            })
        })
    };
    let run = cli.run(&["mirror", "-q", &format!("s/{sb}"), &format!("t/{tb}")]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    let stored = cli.run(&["cat", &format!("t/{tb}/moving.bin")]);
    eprintln!("server source: exit {:?}: {}", run.code, run.stderr.trim());
    if run.code == Some(0) {
        assert!(
            versions.contains(&stored.stdout),
            "a mix of two versions was stored"
        );
    } else {
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        assert!(run.stderr.contains("changed"), "{}", run.stderr);
        assert_ne!(stored.code, Some(0), "a failed copy left an object behind");
    }
}

/// The multipart uploads open in `bucket`, as `(key, upload id)`.
pub(super) fn open_uploads(s: &conformance::TestServer, bucket: &str) -> Vec<(String, String)> {
    runtime().block_on(async {
        let listed = s
            .s3_client()
            .list_multipart_uploads()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        listed
            .uploads()
            .iter()
            .map(|u| {
                (
                    u.key().unwrap_or_default().to_string(),
                    u.upload_id().unwrap_or_default().to_string(),
                )
            })
            .collect()
    })
}

/// The upload records the CLI keeps in its config folder.
fn upload_records(cli: &Cli) -> usize {
    std::fs::read_dir(cli.config.path().join("minnow").join("uploads"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0)
}

/// Guards the rule that mirror aborts only the multipart uploads it
/// started itself: another client's open upload under the same prefix
/// survives, while the upload of a mirror killed mid-file is aborted by
/// the next run.
#[test]
fn mirror_aborts_its_own_killed_upload_but_not_another_clients() {
    let s = shared_server();
    let cli = Cli::new().with_alias("s", s);
    let sb = bucket_on(s, "own-uploads");
    let theirs = runtime().block_on(async {
        s.s3_client()
            .create_multipart_upload()
            .bucket(&sb)
            .key("m/theirs.bin")
            .send()
            .await
            .unwrap()
            .upload_id()
            .unwrap()
            .to_string()
    });
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("big.bin"), pattern_bytes(96 * 1024 * 1024, 7)).unwrap();

    // Kill the mirror once its upload is open and recorded.
    let mut command = Command::new(minnow_binary());
    command
        .args(["mirror", "-q", path_str(&tree), &format!("s/{sb}/m")])
        .env("XDG_CONFIG_HOME", cli.config.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, value) in &cli.env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let ours = loop {
        let open = open_uploads(s, &sb);
        if let Some((_, id)) = open.iter().find(|(k, _)| k == "m/big.bin") {
            if upload_records(&cli) == 1 {
                break id.clone();
            }
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the mirror finished before its upload was seen open"
        );
        assert!(Instant::now() < deadline, "no upload opened in 120 s");
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let open = open_uploads(s, &sb);
    assert!(
        open.contains(&("m/big.bin".into(), ours.clone())),
        "{open:?}"
    );

    let rerun = cli
        .run(&["mirror", "--json", path_str(&tree), &format!("s/{sb}/m")])
        .ok();
    assert_eq!(count(&rerun, "copied"), 1, "{:?}", statuses(&rerun));
    let open = open_uploads(s, &sb);
    assert_eq!(
        open,
        vec![("m/theirs.bin".to_string(), theirs)],
        "only the killed mirror's upload is aborted"
    );
    assert_eq!(
        upload_records(&cli),
        0,
        "the records of finished uploads stay"
    );
    assert_eq!(
        cli.run(&["cat", &format!("s/{sb}/m/big.bin")]).ok().stdout,
        pattern_bytes(96 * 1024 * 1024, 7)
    );
}

/// Guards that a mirror killed after the server created its upload but
/// before the upload id reached its record still gets that upload
/// aborted by the next run: the record is written before the request,
/// and a pending one claims its key's uploads from the request time on
/// that no record names, never an older upload of the same key.
#[test]
fn mirror_aborts_an_upload_whose_id_its_killed_run_never_recorded() {
    let s = shared_server();
    let cli = Cli::new().with_alias("s", s);
    let sb = bucket_on(s, "pending-upload");
    let create = |key: &str| {
        runtime().block_on(async {
            s.s3_client()
                .create_multipart_upload()
                .bucket(&sb)
                .key(key)
                .send()
                .await
                .unwrap()
                .upload_id()
                .unwrap()
                .to_string()
        })
    };
    // Another client's upload of the very key, opened before the killed
    // run's request. `Initiated` has whole seconds in the listing, and a
    // pending record allows 2 s of clock slack, so keep 4 s between.
    let older = create("m/big.bin");
    std::thread::sleep(Duration::from_secs(4));
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("big.bin"), pattern_bytes(24 * 1024 * 1024, 9)).unwrap();

    // What a run killed right after its request leaves: the server has the
    // upload, the record has no id yet and names a process that is gone.
    let requested_at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let ours = create("m/big.bin");
    let mut gone = Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let records = cli.config.path().join("minnow").join("uploads");
    std::fs::create_dir_all(&records).unwrap();
    let endpoint = s.endpoint().to_string();
    std::fs::write(
        records.join("killed-before-the-answer.json"),
        serde_json::json!({
            "endpoint": endpoint,
            "bucket": sb,
            "key": "m/big.bin",
            "upload_id": "",
            "pid": dead_pid,
            "requested_at_ms": requested_at_ms,
        })
        .to_string(),
    )
    .unwrap();

    let rerun = cli
        .run(&["mirror", "--json", path_str(&tree), &format!("s/{sb}/m")])
        .ok();
    assert_eq!(count(&rerun, "copied"), 1, "{:?}", statuses(&rerun));
    let open = open_uploads(s, &sb);
    assert!(
        !open.iter().any(|(_, id)| *id == ours),
        "the killed run's upload is still open: {open:?}"
    );
    assert_eq!(
        open,
        vec![("m/big.bin".to_string(), older)],
        "the older upload of the same key is another client's"
    );
    assert_eq!(upload_records(&cli), 0, "the pending record stays");
}

/// Guards that tags come along from a minnow source (GetObjectTagging),
/// for a single-PUT object and one copied in parts, through `mirror` and
/// `import`, and that an untagged object stays untagged.
#[test]
fn mirror_and_import_carry_object_tags_from_a_minnow_source() {
    let (s, t) = (shared_server(), second_server());
    let cli = Cli::new().with_alias("s", s).with_alias("t", t);
    let sb = bucket_on(s, "tags-src");
    let tb = bucket_on(t, "tags-dst");
    let large = 20 * 1024 * 1024;
    runtime().block_on(async {
        let client = s.s3_client();
        for (key, body, tags) in [
            (
                "small.txt",
                b"tagged".to_vec(),
                Some("team=blue&stage=a%20b"),
            ),
            ("large.bin", pattern_bytes(large, 3), Some("size=large")),
            ("plain.txt", b"no tags".to_vec(), None),
        ] {
            let mut put = client.put_object().bucket(&sb).key(key).body(body.into());
            if let Some(tags) = tags {
                put = put.tagging(tags);
            }
            put.send().await.unwrap();
        }
    });
    let tags_on = |server: &conformance::TestServer, bucket: &str, key: &str| {
        runtime().block_on(async {
            let mut pairs: Vec<(String, String)> = server
                .s3_client()
                .get_object_tagging()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap()
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            pairs.sort();
            pairs
        })
    };
    let expected = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };

    let run = cli
        .run(&["mirror", "--json", &format!("s/{sb}"), &format!("t/{tb}")])
        .ok();
    assert_eq!(count(&run, "copied"), 3, "{:?}", statuses(&run));
    assert_eq!(
        tags_on(t, &tb, "small.txt"),
        expected(&[("stage", "a b"), ("team", "blue")])
    );
    assert_eq!(tags_on(t, &tb, "large.bin"), expected(&[("size", "large")]));
    assert!(tags_on(t, &tb, "plain.txt").is_empty());

    // import creates the bucket on the target and brings the tags too.
    let run = cli.run(&["import", "s", &sb, "--to", "t", "--json"]).ok();
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["objectsCopied"], 3, "{report}");
    assert_eq!(
        tags_on(t, &sb, "small.txt"),
        expected(&[("stage", "a b"), ("team", "blue")])
    );
    assert_eq!(tags_on(t, &sb, "large.bin"), expected(&[("size", "large")]));
    assert!(tags_on(t, &sb, "plain.txt").is_empty());
}

/// Guards that `import` lists a MinIO-protocol source's users through
/// MinIO's admin API (`/minio/admin/v3/list-users`, madmin-encrypted
/// with the caller's secret key), here served by a real minnow.
#[test]
fn import_lists_the_users_of_a_minio_protocol_source() {
    let (s, t) = (shared_server(), second_server());
    let cli = Cli::new().with_alias("s", s).with_alias("t", t);
    let sb = bucket_on(s, "users-src");
    let user = format!("importee{}", std::process::id());
    runtime().block_on(async {
        let admin = minnow::client::Client::new(minnow::client::ClientConfig {
            endpoint: s.endpoint().to_string(),
            access_key: s.access_key().to_string(),
            secret_key: s.secret_key().to_string(),
            timeout: Duration::from_secs(60),
            insecure: false,
        })
        .unwrap();
        admin.add_user(&user, "importee-secret-123").await.unwrap();
    });
    let run = cli.run(&["import", "s", &sb, "--to", "t", "--json"]).ok();
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let users: Vec<&str> = report["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u.as_str())
        .collect();
    assert!(users.contains(&user.as_str()), "{report}");
    assert!(report["usersUnlisted"].is_null(), "{report}");
    let text = cli.run(&["import", "s", &sb, "--to", "t"]).ok().text();
    assert!(
        text.contains(&format!("minnow user add {user} --secret-stdin")),
        "{text}"
    );
}
