//! The object commands (`alias`, `ls`, `stat`, `cat`, `cp`, `rm`) through
//! the real `minnow` binary against real servers: local files ↔ minnow ↔ a
//! second minnow, a recursive tree of 2,000 files, a multipart-sized file,
//! hostile keys (spaces, unicode, `..`), and the failures a script relies
//! on (missing objects, unknown aliases, a server that is down).
//!
//! Every test runs with its own config folder, so aliases never leak
//! between tests or into the user's own `~/.config`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use conformance::{minnow_binary, pattern_bytes, unique_bucket, TestServer};

#[path = "object_cli/attr_progress.rs"]
mod attr_progress;
#[path = "object_cli/changing_file.rs"]
mod changing_file;
#[path = "object_cli/hostile.rs"]
mod hostile;
#[path = "object_cli/mirror.rs"]
mod mirror;

const CLI_TIMEOUT: Duration = Duration::from_secs(300);

fn shared_server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| TestServer::start().expect("starting the minnow server"))
}

fn second_server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| TestServer::start().expect("starting the second server"))
}

/// What one CLI run did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(self) -> Run {
        assert_eq!(
            self.code,
            Some(0),
            "expected success\nstdout: {}\nstderr: {}",
            self.text(),
            self.stderr
        );
        self
    }

    /// A non-zero exit whose last stderr line contains `needle`.
    #[track_caller]
    fn fails_with(self, needle: &str) -> Run {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "expected failure\nstdout: {}\nstderr: {}",
            self.text(),
            self.stderr
        );
        assert!(
            self.stderr.to_lowercase().contains(&needle.to_lowercase()),
            "expected {needle:?} in {:?}",
            self.stderr
        );
        self
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    fn json_lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

/// A CLI with its own config folder and `s` (and `t`) aliases from the
/// environment.
struct Cli {
    config: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Cli {
    fn new() -> Cli {
        Cli {
            config: tempfile::tempdir().expect("config folder"),
            env: Vec::new(),
        }
    }

    /// Defines alias `name` for `server` through `MINNOW_ALIAS_<NAME>`.
    fn with_alias(mut self, name: &str, server: &TestServer) -> Cli {
        let url = server.endpoint().replacen(
            "http://",
            &format!("http://{}:{}@", server.access_key(), server.secret_key()),
            1,
        );
        self.env.push((format!("MINNOW_ALIAS_{name}"), url));
        self
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut command = Command::new(minnow_binary());
        command
            .args(args)
            .env("XDG_CONFIG_HOME", self.config.path())
            .env_remove("MINNOW_ENDPOINT");
        for (name, _) in std::env::vars() {
            if name.starts_with("MINNOW_ALIAS_") {
                command.env_remove(name);
            }
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let finished = conformance::process::run_bounded(command, None, CLI_TIMEOUT);
        Run {
            code: finished.code,
            stdout: finished.stdout,
            stderr: finished.stderr,
        }
    }
}

/// A bucket on `server`, created through the CLI.
fn bucket_on(server: &TestServer, scenario: &str) -> String {
    let bucket = unique_bucket(scenario);
    let run = Command::new(minnow_binary())
        .args(["bucket", "create", &bucket])
        .env("MINNOW_ENDPOINT", server.endpoint())
        .env("MINNOW_ROOT_USER", server.access_key())
        .env("MINNOW_ROOT_PASSWORD", server.secret_key())
        .output()
        .expect("minnow bucket create");
    assert!(run.status.success(), "{run:?}");
    bucket
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

#[test]
fn alias_set_stores_credentials_privately_and_remove_forgets_them() {
    let server = shared_server();
    let cli = Cli::new();
    let bucket = bucket_on(server, "alias");
    cli.run(&[
        "alias",
        "set",
        "prod",
        server.endpoint(),
        server.access_key(),
        server.secret_key(),
    ])
    .ok();
    let file = cli.config.path().join("minnow").join("aliases.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the alias file holds secrets");
    }
    let listed = cli.run(&["alias", "list", "--json"]).ok();
    assert!(
        !listed.text().contains(server.secret_key()),
        "list must not print secrets: {}",
        listed.text()
    );
    assert_eq!(listed.json_lines()[0]["alias"], "prod");
    let buckets = cli.run(&["ls", "prod", "--json"]).ok();
    assert!(buckets
        .json_lines()
        .iter()
        .any(|b| b["key"] == bucket.as_str()));

    cli.run(&["alias", "remove", "prod"]).ok();
    cli.run(&["ls", "prod"]).fails_with("known alias");
    cli.run(&["alias", "remove", "prod"])
        .fails_with("no such alias");
}

#[test]
fn files_with_hostile_names_round_trip_with_their_content_type() {
    let server = shared_server();
    let cli = Cli::new().with_alias("s", server);
    let bucket = bucket_on(server, "hostile");
    let dir = tempfile::tempdir().unwrap();
    let name = "a b ü+&%.txt";
    let source = dir.path().join(name);
    std::fs::write(&source, b"hello, world\n").unwrap();

    cli.run(&["cp", path_str(&source), &format!("s/{bucket}/in dir/")])
        .ok();
    let key = format!("s/{bucket}/in dir/{name}");
    let stat = cli.run(&["stat", "--json", &key]).ok();
    let stat = &stat.json_lines()[0];
    assert_eq!(stat["size"], 13);
    assert_eq!(stat["contentType"], "text/plain", "type from the file name");
    assert_eq!(cli.run(&["cat", &key]).ok().stdout, b"hello, world\n");

    // `..` is a legal key on the server; it round-trips between servers
    // as a key, but is never used as a local path.
    let dotted = format!("s/{bucket}/up/../../escape.txt");
    cli.run(&["cp", path_str(&source), &dotted]).ok();
    assert_eq!(cli.run(&["cat", &dotted]).ok().stdout, b"hello, world\n");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    cli.run(&[
        "cp",
        "--recursive",
        &format!("s/{bucket}/"),
        &format!("{}/", path_str(&out)),
    ])
    .fails_with("refusing to download");
    assert!(!dir.path().join("escape.txt").exists());
    assert!(!dir.path().parent().unwrap().join("escape.txt").exists());
    // The well-named object still arrived.
    assert_eq!(
        std::fs::read(out.join("in dir").join(name)).unwrap(),
        b"hello, world\n"
    );

    let back = dir.path().join("back.txt");
    cli.run(&["cp", &key, path_str(&back)]).ok();
    assert_eq!(std::fs::read(&back).unwrap(), b"hello, world\n");
}

/// An empty file is an object too: `cp` and `mirror` upload it (the PUT
/// states `Content-Length: 0`; without it the server answers 411) and it
/// downloads as an empty file.
#[test]
fn empty_files_upload_with_cp_and_mirror_and_download_empty() {
    let server = shared_server();
    let cli = Cli::new().with_alias("s", server);
    let bucket = bucket_on(server, "empty");
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("tree");
    std::fs::create_dir(&folder).unwrap();
    let empty = folder.join("empty.bin");
    std::fs::write(&empty, b"").unwrap();

    cli.run(&["cp", path_str(&empty), &format!("s/{bucket}/copied.bin")])
        .ok();
    cli.run(&[
        "mirror",
        "-q",
        path_str(&folder),
        &format!("s/{bucket}/mirrored"),
    ])
    .ok();
    for key in ["copied.bin", "mirrored/empty.bin"] {
        let stat = cli
            .run(&["stat", "--json", &format!("s/{bucket}/{key}")])
            .ok();
        assert_eq!(stat.json_lines()[0]["size"], 0, "{key}");
    }
    let back = dir.path().join("back.bin");
    cli.run(&["cp", &format!("s/{bucket}/copied.bin"), path_str(&back)])
        .ok();
    assert_eq!(std::fs::read(&back).unwrap(), b"");
}

#[test]
fn missing_objects_and_unreachable_servers_fail_with_one_clear_line() {
    let server = shared_server();
    let bucket = bucket_on(server, "missing");
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let cli = Cli::new().with_alias("s", server);
    let mut cli = cli;
    cli.env.push((
        "MINNOW_ALIAS_DOWN".into(),
        format!("http://a:b@127.0.0.1:{closed}"),
    ));
    let missing = format!("s/{bucket}/no/such/object");
    for args in [
        vec!["stat", missing.as_str()],
        vec!["cat", missing.as_str()],
        vec!["rm", missing.as_str()],
    ] {
        let run = cli.run(&args).fails_with("object not found");
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    }
    let dir = tempfile::tempdir().unwrap();
    cli.run(&["cp", &missing, path_str(&dir.path().join("x"))])
        .fails_with("object not found");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no partial file"
    );
    cli.run(&["ls", "DOWN"])
        .fails_with("cannot reach the server");
    cli.run(&["ls", "nosuchalias/b"]).fails_with("known alias");
}

#[test]
fn a_tree_of_2000_files_copies_both_ways_and_rm_recursive_force_empties_it() {
    let server = shared_server();
    let cli = Cli::new().with_alias("s", server);
    let bucket = bucket_on(server, "tree");
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    for i in 0..2000 {
        let folder = tree.join(format!("d{}", i % 10));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(format!("f{i}.json")), format!("{{\"n\":{i}}}")).unwrap();
    }
    // No trailing slash: the folder itself is copied, as rsync and mc do.
    cli.run(&[
        "cp",
        "-r",
        "--quiet",
        "--parallel",
        "16",
        path_str(&tree),
        &format!("s/{bucket}/"),
    ])
    .ok();
    let listed = cli
        .run(&["ls", "-r", "--json", &format!("s/{bucket}/tree/")])
        .ok();
    assert_eq!(listed.json_lines().len(), 2000);
    let folders = cli.run(&["ls", "--json", &format!("s/{bucket}/tree")]).ok();
    assert_eq!(folders.json_lines().len(), 10, "one level: d0/ .. d9/");
    assert!(folders.json_lines().iter().all(|l| l["type"] == "folder"));
    let stat = cli
        .run(&["stat", "--json", &format!("s/{bucket}/tree/d7/f7.json")])
        .ok();
    assert_eq!(stat.json_lines()[0]["contentType"], "application/json");

    let back = dir.path().join("back");
    cli.run(&[
        "cp",
        "-r",
        "--quiet",
        &format!("s/{bucket}/tree/"),
        path_str(&back),
    ])
    .ok();
    for i in (0..2000).step_by(97) {
        let rel = format!("d{}/f{i}.json", i % 10);
        assert_eq!(
            std::fs::read(back.join(&rel)).unwrap(),
            std::fs::read(tree.join(&rel)).unwrap(),
            "{rel}"
        );
    }
    let count = walk_count(&back);
    assert_eq!(count, 2000, "no extra or temporary files");

    cli.run(&["rm", "-r", &format!("s/{bucket}/tree")])
        .fails_with("--force");
    let removed = cli
        .run(&["rm", "-r", "--force", "--json", &format!("s/{bucket}/tree")])
        .ok();
    assert_eq!(removed.json_lines().len(), 2000);
    let left = cli
        .run(&["ls", "-r", "--json", &format!("s/{bucket}")])
        .ok();
    assert!(left.json_lines().is_empty(), "{}", left.text());
}

fn walk_count(dir: &PathBuf) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            count += walk_count(&entry.path());
        } else {
            count += 1;
        }
    }
    count
}

#[test]
fn a_large_file_goes_multipart_and_copies_server_side_and_between_servers() {
    let server = shared_server();
    let other = second_server();
    let cli = Cli::new().with_alias("s", server).with_alias("t", other);
    let bucket = bucket_on(server, "large");
    let remote_bucket = bucket_on(other, "large-dst");
    let dir = tempfile::tempdir().unwrap();
    let size = 40 * 1024 * 1024 + 123;
    let content = pattern_bytes(size, 7);
    let source = dir.path().join("big.bin");
    std::fs::write(&source, &content).unwrap();

    cli.run(&["cp", path_str(&source), &format!("s/{bucket}/big.bin")])
        .ok();
    let stat = cli
        .run(&["stat", "--json", &format!("s/{bucket}/big.bin")])
        .ok();
    let etag = stat.json_lines()[0]["etag"].as_str().unwrap().to_string();
    assert!(
        etag.ends_with("-3\""),
        "16 MiB parts: three of them, got {etag}"
    );

    // Same alias: CopyObject on the server.
    cli.run(&[
        "cp",
        &format!("s/{bucket}/big.bin"),
        &format!("s/{bucket}/copy.bin"),
    ])
    .ok();
    // Another server: streamed through ranged reads and a multipart upload.
    cli.run(&[
        "cp",
        &format!("s/{bucket}/copy.bin"),
        &format!("t/{remote_bucket}/"),
    ])
    .ok();
    let down = dir.path().join("down.bin");
    cli.run(&[
        "cp",
        &format!("t/{remote_bucket}/copy.bin"),
        path_str(&down),
    ])
    .ok();
    assert!(
        std::fs::read(&down).unwrap() == content,
        "bytes differ after s → s → t → local"
    );
    let piped = cli.run(&["cat", &format!("s/{bucket}/copy.bin")]).ok();
    assert!(piped.stdout == content, "cat differs");
}
