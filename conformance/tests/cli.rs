//! The `minnow` CLI against a real server: every client subcommand, the
//! shipped `examples/init.sh` (twice), the error paths (wrong credentials,
//! unknown bucket, server down), and users with their policies
//! (policy enforcement, disabled and removed users, identity data across a
//! restart, no secret in plain text on the drives or in the logs), secrets
//! given outside the command line, and https endpoints behind a TLS front.
//!
//! One server is shared by every test here (each test uses its own bucket
//! and user names); the restart test starts its own.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use conformance::{minnow_binary, unique_bucket, TestServer};
use http::Method;
use minnow::client::{object_path, Client, ClientConfig};

const CLI_TIMEOUT: Duration = Duration::from_secs(120);

fn shared_server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| TestServer::start().expect("starting the minnow server"))
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// What one CLI run did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(self) -> Run {
        assert_eq!(
            self.code,
            Some(0),
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts a non-zero exit with a one-line reason containing `needle`.
    #[track_caller]
    fn fails_with(self, needle: &str) -> Run {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "expected failure\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        let reason = self.stderr.trim();
        assert_eq!(
            reason.lines().count(),
            1,
            "expected a one-line reason, got: {reason:?}"
        );
        assert!(
            reason.to_lowercase().contains(&needle.to_lowercase()),
            "expected {needle:?} in {reason:?}"
        );
        self
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// Runs a command with a time bound, feeding `stdin`.
fn run_bounded(command: Command, stdin: Option<&[u8]>) -> Run {
    let finished = conformance::process::run_bounded(command, stdin, CLI_TIMEOUT);
    Run {
        code: finished.code,
        stdout: String::from_utf8_lossy(&finished.stdout).into_owned(),
        stderr: finished.stderr,
    }
}

/// Points a command at `endpoint` with the given credentials, from the
/// environment (like the init container had them).
fn cli_env(command: &mut Command, endpoint: &str, access_key: &str, secret_key: &str) {
    command
        .env("MINNOW_ENDPOINT", endpoint)
        .env("MINNOW_ROOT_USER", access_key)
        .env("MINNOW_ROOT_PASSWORD", secret_key)
        .env_remove("MINIO_ROOT_USER")
        .env_remove("MINIO_ROOT_PASSWORD");
}

/// A `minnow` command pointed at `endpoint`.
fn minnow_command(endpoint: &str, access_key: &str, secret_key: &str) -> Command {
    let mut command = Command::new(minnow_binary());
    cli_env(&mut command, endpoint, access_key, secret_key);
    command
}

fn cli(server: &TestServer, args: &[&str]) -> Run {
    cli_with_stdin(server, args, None)
}

fn cli_with_stdin(server: &TestServer, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut command = minnow_command(server.endpoint(), server.access_key(), server.secret_key());
    command.args(args);
    run_bounded(command, stdin)
}

fn cli_as(server: &TestServer, access_key: &str, secret_key: &str, args: &[&str]) -> Run {
    let mut command = minnow_command(server.endpoint(), access_key, secret_key);
    command.args(args);
    run_bounded(command, None)
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

fn root_client(server: &TestServer) -> Client {
    Client::new(ClientConfig {
        endpoint: server.endpoint().to_string(),
        access_key: server.access_key().to_string(),
        secret_key: server.secret_key().to_string(),
        timeout: Duration::from_secs(60),
        insecure: false,
    })
    .expect("client")
}

async fn put_object(client: &Client, bucket: &str, key: &str, body: &[u8]) -> Result<(), String> {
    client
        .request(
            Method::PUT,
            &object_path(bucket, key),
            "",
            &[],
            Bytes::copy_from_slice(body),
        )
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

async fn get_object(client: &Client, bucket: &str, key: &str) -> Result<Bytes, String> {
    client
        .request(
            Method::GET,
            &object_path(bucket, key),
            "",
            &[],
            Bytes::new(),
        )
        .await
        .map(|r| r.body)
        .map_err(|e| e.to_string())
}

async fn delete_object(client: &Client, bucket: &str, key: &str) -> Result<(), String> {
    client
        .request(
            Method::DELETE,
            &object_path(bucket, key),
            "",
            &[],
            Bytes::new(),
        )
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

/// An unsigned GET/PUT over a raw socket: the status code.
fn anonymous_status(server: &TestServer, method: &str, path: &str) -> u16 {
    let mut stream = TcpStream::connect(server.host_port()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        server.host_port()
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"))
}

/// A user name unique to this test run (access keys: 3+ characters, no `/`).
fn unique_user(scenario: &str) -> String {
    unique_bucket(scenario)
}

/// Every file under `root` whose bytes contain `needle`.
fn files_containing(root: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    let mut visited = 0usize;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            visited += 1;
            assert!(
                visited < 1_000_000,
                "too many files under {}",
                root.display()
            );
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    hits.push(path);
                }
            }
        }
    }
    hits
}

// ---------------------------------------------------------------------------
// Buckets

#[test]
fn bucket_create_list_and_delete_with_ignore_existing_and_force() {
    let server = shared_server();
    let bucket = unique_bucket("cli-bucket");

    let created = cli(server, &["bucket", "create", &bucket]).ok();
    assert!(created.stdout.contains("created"), "{}", created.stdout);
    cli(server, &["bucket", "create", &bucket]).fails_with("BucketAlreadyOwnedByYou");
    let again = cli(server, &["bucket", "create", "--ignore-existing", &bucket]).ok();
    assert!(again.stdout.contains("already exists"), "{}", again.stdout);
    let json = cli(
        server,
        &["bucket", "create", "--ignore-existing", "--json", &bucket],
    )
    .ok()
    .json();
    assert_eq!(json["created"], false);

    let listed = cli(server, &["bucket", "list"]).ok();
    assert!(listed.stdout.lines().any(|l| l.starts_with(&bucket)));
    let listed = cli(server, &["bucket", "list", "--json"]).ok().json();
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["name"] == bucket.as_str()));

    // A bucket with objects and an unfinished upload needs --force.
    let client = root_client(server);
    block_on(async {
        for i in 0..25 {
            put_object(&client, &bucket, &format!("dir/obj-{i}"), b"data")
                .await
                .unwrap();
        }
        client
            .request(
                Method::POST,
                &object_path(&bucket, "pending"),
                "uploads=",
                &[],
                Bytes::new(),
            )
            .await
            .unwrap();
    });
    cli(server, &["bucket", "delete", &bucket]).fails_with("not empty");
    let deleted = cli(server, &["bucket", "delete", "--force", "--json", &bucket])
        .ok()
        .json();
    assert_eq!(deleted["objectsRemoved"], 25);
    assert_eq!(deleted["uploadsAborted"], 1);
    let listed = cli(server, &["bucket", "list", "--json"]).ok().json();
    assert!(!listed
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["name"] == bucket.as_str()));
}

#[test]
fn bucket_policy_lifecycle_and_cors_round_trip() {
    let server = shared_server();
    let bucket = unique_bucket("cli-settings");
    cli(server, &["bucket", "create", &bucket]).ok();

    // Anonymous access.
    let none = cli(server, &["bucket", "policy", "get", &bucket]).ok();
    assert!(none.stdout.contains("`none`"), "{}", none.stdout);
    cli(server, &["bucket", "policy", "set", "download", &bucket]).ok();
    let got = cli(server, &["bucket", "policy", "get", &bucket]).ok();
    assert!(got.stdout.contains("`download`"), "{}", got.stdout);
    let target = format!("{bucket}/public/");
    cli(server, &["bucket", "policy", "set", "public", &target]).ok();
    let got = cli(server, &["bucket", "policy", "get", "--json", &bucket])
        .ok()
        .json();
    assert_eq!(got["access"], "public");
    assert_eq!(got["prefix"], "public/");
    assert_eq!(got["policy"]["Version"], "2012-10-17");
    cli(server, &["bucket", "policy", "set", "none", &bucket]).ok();
    cli(server, &["bucket", "policy", "set", "none", &bucket]).ok();
    let got = cli(server, &["bucket", "policy", "get", "--json", &bucket])
        .ok()
        .json();
    assert_eq!(got["access"], "none");

    // Lifecycle: mc JSON twice, export, S3 XML, remove.
    let rules = br#"{"Rules":[{"ID":"temp-cleanup","Status":"Enabled","Filter":{"Prefix":"temp/"},"Expiration":{"Days":7}}]}"#;
    for _ in 0..2 {
        let imported = cli_with_stdin(
            server,
            &["bucket", "lifecycle", "import", &bucket],
            Some(rules),
        )
        .ok();
        assert!(imported.stdout.contains("1 rules"), "{}", imported.stdout);
    }
    let exported = cli(server, &["bucket", "lifecycle", "export", &bucket])
        .ok()
        .json();
    assert_eq!(exported["Rules"][0]["ID"], "temp-cleanup");
    assert_eq!(exported["Rules"][0]["Expiration"]["Days"], 7);
    let xml = br#"<LifecycleConfiguration><Rule><ID>logs</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter><Expiration><Days>30</Days></Expiration></Rule></LifecycleConfiguration>"#;
    cli_with_stdin(
        server,
        &["bucket", "lifecycle", "import", &bucket],
        Some(xml),
    )
    .ok();
    let exported = cli(server, &["bucket", "lifecycle", "export", &bucket])
        .ok()
        .json();
    assert_eq!(exported["Rules"][0]["ID"], "logs");
    cli_with_stdin(
        server,
        &["bucket", "lifecycle", "import", &bucket],
        Some(b"{not json"),
    )
    .fails_with("lifecycle");
    cli(server, &["bucket", "lifecycle", "remove", &bucket]).ok();
    cli(server, &["bucket", "lifecycle", "export", &bucket]).fails_with("no lifecycle");

    // CORS.
    let cors = br#"<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"#;
    cli_with_stdin(server, &["bucket", "cors", "set", &bucket], Some(cors)).ok();
    let got = cli(server, &["bucket", "cors", "get", &bucket]).ok();
    assert!(
        got.stdout.contains("https://app.example.com"),
        "{}",
        got.stdout
    );
    cli(server, &["bucket", "cors", "remove", &bucket]).ok();
    cli(server, &["bucket", "cors", "get", &bucket]).fails_with("no CORS");

    cli(server, &["bucket", "delete", &bucket]).ok();
}

// ---------------------------------------------------------------------------
// Users, admin info, heal, init.sh

#[test]
fn user_commands_manage_users_and_policies() {
    let server = shared_server();
    let user = unique_user("cli-user");
    let secret = "cli-user-secret-1";

    cli(server, &["user", "add", &user, secret]).ok();
    cli(server, &["user", "add", &user, secret]).ok();
    for _ in 0..2 {
        cli(
            server,
            &["user", "policy", "attach", "readwrite", "--user", &user],
        )
        .ok();
    }
    let info = cli(server, &["user", "info", "--json", &user]).ok().json();
    assert_eq!(info["accessKey"], user.as_str());
    assert_eq!(info["enabled"], true);
    assert_eq!(info["policies"], serde_json::json!(["readwrite"]));
    let human = cli(server, &["user", "info", &user]).ok();
    assert!(human.stdout.contains("readwrite"), "{}", human.stdout);
    assert!(!human.stdout.contains(secret));

    let list = cli(server, &["user", "list"]).ok();
    assert!(list.stdout.contains(&user), "{}", list.stdout);
    assert!(!list.stdout.contains(secret));

    cli(server, &["user", "disable", &user]).ok();
    let info = cli(server, &["user", "info", "--json", &user]).ok().json();
    assert_eq!(info["enabled"], false);
    cli(server, &["user", "enable", &user]).ok();
    cli(
        server,
        &["user", "policy", "detach", "readwrite", "--user", &user],
    )
    .ok();
    let info = cli(server, &["user", "info", "--json", &user]).ok().json();
    assert_eq!(info["policies"], serde_json::json!([]));
    cli(
        server,
        &[
            "user",
            "policy",
            "attach",
            "no-such-policy",
            "--user",
            &user,
        ],
    )
    .fails_with("policy");

    cli(server, &["user", "remove", &user]).ok();
    cli(server, &["user", "info", &user]).fails_with("does not exist");
    cli(server, &["user", "remove", &user]).fails_with("does not exist");
    cli(server, &["user", "add", "ab", secret]).fails_with("access key");
}

/// Custom policies from the CLI, as `mc admin policy create/list/info/remove`
/// were: a policy created from a file, attached to a user, grants exactly
/// what it says; removing it takes the grant away.
#[test]
fn policy_commands_create_list_info_attach_and_remove_custom_policies() {
    let server = shared_server();
    let bucket = unique_bucket("cli-policy");
    let other = unique_bucket("cli-policy-other");
    cli(server, &["bucket", "create", &bucket]).ok();
    cli(server, &["bucket", "create", &other]).ok();
    let policy = unique_user("cli-policy-doc");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.json");
    std::fs::write(
        &file,
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::{bucket}/*"]}}]}}"#
        ),
    )
    .unwrap();
    let file_arg = file.to_str().unwrap();
    cli(server, &["policy", "create", &policy, file_arg]).ok();

    let list = cli(server, &["policy", "list", "--json"]).ok().json();
    let entries = list["policies"].as_array().unwrap();
    assert!(entries
        .iter()
        .any(|e| e["name"] == policy.as_str() && e["canned"] == false));
    assert!(entries
        .iter()
        .any(|e| e["name"] == "consoleAdmin" && e["canned"] == true));
    let human = cli(server, &["policy", "list"]).ok();
    assert!(human.stdout.contains(&policy), "{}", human.stdout);
    let info = cli(server, &["policy", "info", &policy, "--json"])
        .ok()
        .json();
    assert_eq!(
        info["Statement"][0]["Resource"][0],
        format!("arn:aws:s3:::{bucket}/*")
    );

    let user = unique_user("cli-policy-user");
    let secret = "cli-policy-secret-1";
    cli(server, &["user", "add", &user, secret]).ok();
    cli(
        server,
        &["user", "policy", "attach", &policy, "--user", &user],
    )
    .ok();
    let as_user = root_client(server).with_credentials(&user, secret);
    block_on(async {
        put_object(&as_user, &bucket, "k", b"granted")
            .await
            .unwrap();
        assert_eq!(
            get_object(&as_user, &bucket, "k").await.unwrap(),
            &b"granted"[..]
        );
        let refused = put_object(&as_user, &other, "k", b"not granted")
            .await
            .unwrap_err();
        assert!(refused.contains("AccessDenied"), "{refused}");
    });

    // A document with a wrongly-cased element is refused, not stored wider.
    std::fs::write(
        &file,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","condition":{}}]}"#,
    )
    .unwrap();
    let bad = unique_user("cli-policy-bad");
    cli(server, &["policy", "create", &bad, file_arg]).fails_with("condition");
    cli(server, &["policy", "info", &bad]).fails_with("does not exist");
    cli(server, &["policy", "remove", "readwrite"]).fails_with("canned");

    cli(server, &["policy", "remove", &policy]).ok();
    cli(server, &["policy", "info", &policy]).fails_with("does not exist");
    let info = cli(server, &["user", "info", "--json", &user]).ok().json();
    assert_eq!(info["policies"], serde_json::json!([]));
    block_on(async {
        let refused = get_object(&as_user, &bucket, "k").await.unwrap_err();
        assert!(refused.contains("AccessDenied"), "{refused}");
    });
}

#[test]
fn admin_info_reports_layout_drives_and_counts() {
    let server = shared_server();
    let bucket = unique_bucket("cli-info");
    cli(server, &["bucket", "create", &bucket]).ok();
    let client = root_client(server);
    block_on(put_object(&client, &bucket, "one", b"1")).unwrap();

    let info = cli(server, &["admin", "info", "--json"]).ok().json();
    assert_eq!(info["layout"], "EC 2+2");
    assert_eq!(info["state"], "online");
    assert_eq!(info["drives"].as_array().unwrap().len(), 4);
    assert!(info["buckets"].as_u64().unwrap() >= 1);
    assert!(info["objects"].as_u64().unwrap() >= 1);
    let human = cli(server, &["admin", "info"]).ok();
    assert!(human.stdout.contains("EC 2+2"), "{}", human.stdout);
    assert!(human.stdout.contains("Uptime"), "{}", human.stdout);
    cli(server, &["bucket", "delete", "--force", &bucket]).ok();
}

/// `minnow admin info` says where the audit log goes and what it records:
/// stderr by default, the `MINNOW_AUDIT_LOG` file when set, and whether
/// `MINNOW_AUDIT_LOG_ALL` records every request.
#[test]
fn admin_info_says_where_the_audit_log_goes() {
    let server = shared_server();
    if server.is_external() {
        return;
    }
    let info = cli(server, &["admin", "info", "--json"]).ok().json();
    assert_eq!(info["audit"]["destination"], "stderr", "{info}");
    assert_eq!(info["audit"]["allRequests"], false, "{info}");
    let human = cli(server, &["admin", "info"]).ok();
    assert!(
        human
            .stdout
            .contains("Audit:    stderr (admin calls, authentication failures and denials)"),
        "{}",
        human.stdout
    );

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let logged = TestServer::spawn(conformance::ServerOptions {
        env: vec![
            ("MINNOW_AUDIT_LOG".to_string(), log.display().to_string()),
            ("MINNOW_AUDIT_LOG_ALL".to_string(), "on".to_string()),
        ],
        ..conformance::ServerOptions::default()
    })
    .expect("starting a server with an audit log");
    let info = cli(&logged, &["admin", "info", "--json"]).ok().json();
    assert_eq!(info["audit"]["destination"], "file", "{info}");
    assert_eq!(info["audit"]["path"], log.display().to_string(), "{info}");
    assert_eq!(info["audit"]["allRequests"], true, "{info}");
    let human = cli(&logged, &["admin", "info"]).ok();
    let expected = format!("Audit:    {} (every request)", log.display());
    assert!(human.stdout.contains(&expected), "{}", human.stdout);
}

#[test]
fn heal_rebuilds_a_wiped_drive_folder() {
    let server = shared_server();
    if server.is_external() {
        return;
    }
    let bucket = unique_bucket("cli-heal");
    cli(server, &["bucket", "create", &bucket]).ok();
    let client = root_client(server);
    let big = conformance::pattern_bytes(300 * 1024, 7);
    block_on(async {
        put_object(&client, &bucket, "small", b"tiny")
            .await
            .unwrap();
        put_object(&client, &bucket, "dir/big", &big).await.unwrap();
    });
    let wiped = server.drives()[0].join(&bucket);
    assert!(wiped.exists(), "expected {} on the drive", wiped.display());
    std::fs::remove_dir_all(&wiped).unwrap();

    let summary = cli(server, &["heal", "--json", &bucket]).ok().json();
    assert_eq!(summary["objectsScanned"], 2, "{summary}");
    assert_eq!(summary["objectsHealed"], 2, "{summary}");
    assert_eq!(summary["objectsFailed"], 0, "{summary}");
    assert!(wiped.exists());
    // Whole again: nothing left to do, and the data reads back.
    let again = cli(server, &["heal", &bucket]).ok();
    assert!(again.stdout.contains("0 healed"), "{}", again.stdout);
    assert_eq!(
        block_on(get_object(&client, &bucket, "dir/big")).unwrap(),
        big
    );
    let prefix = format!("{bucket}/dir/");
    let summary = cli(server, &["heal", "--json", &prefix]).ok().json();
    assert_eq!(summary["objectsScanned"], 1);
    cli(server, &["heal", "no-such-bucket-here"]).fails_with("NoSuchBucket");
    cli(server, &["heal"]).ok();
    cli(server, &["bucket", "delete", "--force", &bucket]).ok();
}

/// Files named `name` anywhere under `dir`.
fn files_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == name) {
                found.push(path);
            }
        }
    }
    found
}

/// `minnow heal BUCKET` reaches keys no listing shows: an object whose
/// `obj.meta` is left on one drive (below read quorum, so unlisted) beside a
/// listed one is visited by the server's walk and its leftovers removed from
/// every drive (a heal of the listed keys alone never saw it).
#[test]
fn heal_reaches_keys_no_listing_shows() {
    let server = shared_server();
    if server.is_external() {
        return;
    }
    let bucket = unique_bucket("cli-heal-unlisted");
    cli(server, &["bucket", "create", &bucket]).ok();
    let client = root_client(server);
    let data = conformance::pattern_bytes(300 * 1024, 3);
    block_on(async {
        put_object(&client, &bucket, "orphan", &data).await.unwrap();
    });
    for drive in &server.drives()[1..] {
        for meta in files_named(&drive.join(&bucket), "obj.meta") {
            std::fs::remove_file(meta).unwrap();
        }
    }
    block_on(async {
        put_object(&client, &bucket, "listed", &data).await.unwrap();
    });

    let summary = cli(server, &["heal", "--json", &bucket]).ok().json();
    assert_eq!(summary["objectsScanned"], 2, "{summary}");
    assert_eq!(summary["objectsFailed"], 0, "{summary}");
    for drive in server.drives() {
        let metas = files_named(&drive.join(&bucket), "obj.meta");
        assert_eq!(
            metas.len(),
            1,
            "only the listed key's record stays: {metas:?}"
        );
        let shards = files_named(&drive.join(&bucket), "part.1");
        assert_eq!(shards.len(), 1, "the orphan's shards are gone: {shards:?}");
    }
    assert_eq!(
        block_on(get_object(&client, &bucket, "listed")).unwrap(),
        data
    );
    cli(server, &["bucket", "delete", "--force", &bucket]).ok();
}

/// `minnow heal` exits 0 only when every drive is whole: the walk rebuilds
/// onto online drives only, so with a drive offline it fails and names it
/// (a caller that took exit 0 as "whole" would let other drives be lost).
#[test]
fn heal_fails_while_a_drive_is_offline() {
    // Its own server: a drive goes missing here.
    let server = &TestServer::start().expect("starting the minnow server");
    let bucket = unique_bucket("cli-heal-offline");
    cli(server, &["bucket", "create", &bucket]).ok();
    let drive = server.drives()[3].clone();
    let aside = drive.with_extension("aside");
    std::fs::rename(&drive, &aside).unwrap();
    let run = cli(server, &["heal", &bucket]).fails_with("offline");
    assert!(
        run.stderr.contains(&*drive.to_string_lossy()),
        "{}",
        run.stderr
    );
    std::fs::rename(&aside, &drive).unwrap();
    // The drive answers again (the info request probes it): whole.
    cli(server, &["heal", &bucket]).ok();
}

#[test]
fn heal_of_everything_skips_buckets_deleted_while_it_runs() {
    // Its own server: heals of everything here would heal the other tests'
    // damage before they measure it.
    let server = &TestServer::start().expect("starting the minnow server");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Four threads create and delete buckets as fast as the CLI can.
    let churn: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop.clone();
            let (endpoint, access, secret) = (
                server.endpoint().to_string(),
                server.access_key().to_string(),
                server.secret_key().to_string(),
            );
            std::thread::spawn(move || {
                let mut rounds = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let bucket = unique_bucket("cli-churn");
                    for args in [
                        &["bucket", "create"][..],
                        &["bucket", "delete", "--force"][..],
                    ] {
                        let mut command = Command::new(minnow_binary());
                        cli_env(&mut command, &endpoint, &access, &secret);
                        command.args(args).arg(&bucket);
                        run_bounded(command, None).ok();
                    }
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    // Each run lists the buckets and then visits them one by one: a bucket
    // deleted in between must be skipped, not fail the heal.
    for _ in 0..40 {
        cli(server, &["heal", "--json"]).ok();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let rounds: usize = churn.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(rounds > 0);
    // A heal of one named bucket that does not exist still says so.
    cli(server, &["heal", "no-such-bucket-here"]).fails_with("NoSuchBucket");
}

#[test]
fn init_script_is_idempotent() {
    let server = shared_server();
    let bucket = unique_bucket("banatie");
    let service = unique_user("svc");
    let secret = "service-secret-key-1234";
    for _ in 0..2 {
        let mut bash = Command::new("bash");
        cli_env(
            &mut bash,
            server.endpoint(),
            server.access_key(),
            server.secret_key(),
        );
        bash.arg(repo_root().join("examples/init.sh"))
            .env("MINNOW", minnow_binary())
            .env("BUCKET", &bucket)
            .env("SERVICE_ACCESS_KEY", &service)
            .env("SERVICE_SECRET_KEY", secret);
        let run = run_bounded(bash, None).ok();
        assert!(!run.stdout.contains(secret), "{}", run.stdout);
    }
    let info = cli(server, &["user", "info", "--json", &service])
        .ok()
        .json();
    assert_eq!(info["policies"], serde_json::json!(["readwrite"]));
    let rules = cli(server, &["bucket", "lifecycle", "export", &bucket])
        .ok()
        .json();
    assert_eq!(rules["Rules"][0]["ID"], "temp-cleanup");
    assert_eq!(rules["Rules"][0]["Filter"]["Prefix"], "temp/");

    // The service user works with its own credentials.
    let client = root_client(server).with_credentials(&service, secret);
    block_on(async {
        put_object(&client, &bucket, "temp/x", b"x").await.unwrap();
        assert_eq!(get_object(&client, &bucket, "temp/x").await.unwrap(), "x");
    });
    cli(server, &["bucket", "delete", "--force", &bucket]).ok();
    cli(server, &["user", "remove", &service]).ok();
}

// ---------------------------------------------------------------------------
// Error paths

#[test]
fn wrong_credentials_unknown_bucket_and_server_down_fail_with_one_line() {
    let server = shared_server();
    cli_as(
        server,
        server.access_key(),
        "definitely-not-the-secret",
        &["bucket", "list"],
    )
    .fails_with("refused the credentials");
    cli_as(
        server,
        "nobody-here",
        "whatever-secret",
        &["bucket", "list"],
    )
    .fails_with("refused the credentials");
    cli(server, &["bucket", "delete", "no-such-bucket-anywhere"]).fails_with("NoSuchBucket");
    cli(
        server,
        &["bucket", "policy", "get", "no-such-bucket-anywhere"],
    )
    .fails_with("NoSuchBucket");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    for args in [
        &["bucket", "list"][..],
        &["user", "list"][..],
        &["admin", "info"][..],
        &["heal"][..],
    ] {
        let mut command = minnow_command(&closed, "minioadmin", "minioadmin");
        command.args(args);
        run_bounded(command, None).fails_with(&format!("cannot reach the server at {closed}"));
    }
    // The flag wins over the environment.
    let mut command = minnow_command(&closed, server.access_key(), server.secret_key());
    command.args(["bucket", "list", "--endpoint", server.endpoint()]);
    run_bounded(command, None).ok();
}

// ---------------------------------------------------------------------------
// Policy enforcement: a user may do what its policies allow and nothing
// else (needs the server's per-request IAM checks)

#[test]
fn readwrite_user_can_read_and_write_but_not_administer() {
    let server = shared_server();
    let bucket = unique_bucket("cli-rw");
    let user = unique_user("rw");
    let secret = "readwrite-secret-1";
    cli(server, &["bucket", "create", &bucket]).ok();
    cli(server, &["user", "add", &user, secret]).ok();
    cli(
        server,
        &["user", "policy", "attach", "readwrite", "--user", &user],
    )
    .ok();

    let client = root_client(server).with_credentials(&user, secret);
    block_on(async {
        put_object(&client, &bucket, "k", b"v").await.unwrap();
        assert_eq!(get_object(&client, &bucket, "k").await.unwrap(), "v");
        let page = client.list_objects(&bucket, "", None, 100).await.unwrap();
        assert_eq!(page.objects.len(), 1);
        delete_object(&client, &bucket, "k").await.unwrap();
    });
    cli_as(server, &user, secret, &["admin", "info"]).fails_with("access");
    cli_as(server, &user, secret, &["user", "list"]).fails_with("access");
    cli_as(
        server,
        &user,
        secret,
        &["user", "add", "sneaky", "sneaky-secret"],
    )
    .fails_with("access");
    cli(server, &["bucket", "delete", "--force", &bucket]).ok();
    cli(server, &["user", "remove", &user]).ok();
}

#[test]
fn readonly_user_cannot_put() {
    let server = shared_server();
    let bucket = unique_bucket("cli-ro");
    let user = unique_user("ro");
    let secret = "readonly-secret-1";
    cli(server, &["bucket", "create", &bucket]).ok();
    cli(server, &["user", "add", &user, secret]).ok();
    cli(
        server,
        &["user", "policy", "attach", "readonly", "--user", &user],
    )
    .ok();
    let root = root_client(server);
    let reader = root.with_credentials(&user, secret);
    block_on(async {
        put_object(&root, &bucket, "k", b"v").await.unwrap();
        assert_eq!(get_object(&reader, &bucket, "k").await.unwrap(), "v");
        let refused = put_object(&reader, &bucket, "other", b"v")
            .await
            .unwrap_err();
        assert!(refused.contains("AccessDenied"), "{refused}");
        let refused = delete_object(&reader, &bucket, "k").await.unwrap_err();
        assert!(refused.contains("AccessDenied"), "{refused}");
    });
    cli(server, &["bucket", "delete", "--force", &bucket]).ok();
    cli(server, &["user", "remove", &user]).ok();
}

#[test]
fn disabled_and_removed_users_are_refused() {
    let server = shared_server();
    let bucket = unique_bucket("cli-disabled");
    let user = unique_user("dis");
    let secret = "disabled-secret-1";
    cli(server, &["bucket", "create", &bucket]).ok();
    cli(server, &["user", "add", &user, secret]).ok();
    cli(
        server,
        &["user", "policy", "attach", "readwrite", "--user", &user],
    )
    .ok();
    let client = root_client(server).with_credentials(&user, secret);
    block_on(put_object(&client, &bucket, "a", b"1")).unwrap();

    cli(server, &["user", "disable", &user]).ok();
    let refused = block_on(put_object(&client, &bucket, "b", b"2")).unwrap_err();
    assert!(refused.contains("HTTP 403"), "{refused}");
    cli_as(server, &user, secret, &["bucket", "list"]).fails_with("refused the credentials");

    cli(server, &["user", "enable", &user]).ok();
    block_on(put_object(&client, &bucket, "b", b"2")).unwrap();

    cli(server, &["user", "remove", &user]).ok();
    let refused = block_on(get_object(&client, &bucket, "a")).unwrap_err();
    assert!(refused.contains("HTTP 403"), "{refused}");
    cli(server, &["bucket", "delete", "--force", &bucket]).ok();
}

#[test]
fn anonymous_download_policy_allows_get_but_not_list_or_put() {
    let server = shared_server();
    let bucket = unique_bucket("cli-anon");
    cli(server, &["bucket", "create", &bucket]).ok();
    let root = root_client(server);
    block_on(put_object(&root, &bucket, "img/a.png", b"png")).unwrap();
    let object = format!("/{bucket}/img/a.png");
    assert_eq!(anonymous_status(server, "GET", &object), 403);

    cli(server, &["bucket", "policy", "set", "download", &bucket]).ok();
    assert_eq!(anonymous_status(server, "GET", &object), 200);
    assert_eq!(anonymous_status(server, "GET", &format!("/{bucket}")), 403);
    assert_eq!(
        anonymous_status(server, "PUT", &format!("/{bucket}/img/b.png")),
        403
    );
    assert_eq!(anonymous_status(server, "DELETE", &object), 403);

    cli(server, &["bucket", "policy", "set", "none", &bucket]).ok();
    assert_eq!(anonymous_status(server, "GET", &object), 403);
    cli(server, &["bucket", "delete", "--force", &bucket]).ok();
}

#[test]
fn identity_survives_restart_and_secrets_stay_sealed() {
    let mut server = match TestServer::start() {
        Ok(server) if !server.is_external() => server,
        Ok(_) => return,
        Err(e) => panic!("starting the server: {e}"),
    };
    let user = unique_user("sealed");
    let secret = "sealed-secret-value-9f8e7d";
    let bucket = unique_bucket("cli-sealed");
    cli(&server, &["bucket", "create", &bucket]).ok();
    cli(&server, &["user", "add", &user, secret]).ok();
    cli(
        &server,
        &["user", "policy", "attach", "readwrite", "--user", &user],
    )
    .ok();
    cli(&server, &["user", "disable", &user]).ok();
    cli(&server, &["user", "enable", &user]).ok();

    server.restart().expect("restart");
    let info = cli(&server, &["user", "info", "--json", &user]).ok().json();
    assert_eq!(info["policies"], serde_json::json!(["readwrite"]));
    assert_eq!(info["enabled"], true);
    assert_eq!(info["usable"], true);
    let client = root_client(&server).with_credentials(&user, secret);
    block_on(put_object(&client, &bucket, "after-restart", b"ok")).unwrap();

    for drive in server.drives() {
        let hits = files_containing(drive, secret.as_bytes());
        assert!(hits.is_empty(), "secret in plain text in {hits:?}");
        let hits = files_containing(drive, server.secret_key().as_bytes());
        assert!(hits.is_empty(), "root secret in plain text in {hits:?}");
    }
    let log = std::fs::read(server.log_path().expect("log path")).unwrap_or_default();
    assert!(!log.is_empty(), "the server log is empty");
    assert!(
        !log.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "secret in the server log"
    );
    assert!(
        !log.windows(server.secret_key().len())
            .any(|w| w == server.secret_key().as_bytes()),
        "root secret in the server log"
    );
}

/// `minnow user add` takes the secret from standard input or from
/// `MINNOW_USER_SECRET`, so it need not appear in the process list; the
/// user then signs with exactly that secret (no trailing newline kept).
#[test]
fn user_add_takes_the_secret_from_stdin_or_the_environment() {
    let server = shared_server();
    let from_stdin = unique_user("cli-stdin");
    let stdin_secret = "stdin-secret-0001";
    let line = format!("{stdin_secret}\n");
    cli_with_stdin(
        server,
        &["user", "add", &from_stdin, "--secret-stdin"],
        Some(line.as_bytes()),
    )
    .ok();

    let from_env = unique_user("cli-env");
    let env_secret = "env-secret-00001";
    let mut command = minnow_command(server.endpoint(), server.access_key(), server.secret_key());
    command
        .env("MINNOW_USER_SECRET", env_secret)
        .args(["user", "add", &from_env]);
    run_bounded(command, None).ok();

    for (user, secret) in [(&from_stdin, stdin_secret), (&from_env, env_secret)] {
        cli(
            server,
            &["user", "policy", "attach", "readwrite", "--user", user],
        )
        .ok();
        cli_as(server, user, secret, &["bucket", "list"]).ok();
        cli_as(server, user, &format!("{secret}\n"), &["bucket", "list"]).fails_with("credentials");
        cli(server, &["user", "remove", user]).ok();
    }

    let nothing = unique_user("cli-nosecret");
    let mut command = minnow_command(server.endpoint(), server.access_key(), server.secret_key());
    command
        .env_remove("MINNOW_USER_SECRET")
        .args(["user", "add", &nothing]);
    run_bounded(command, None).fails_with("no secret given");
    cli_with_stdin(
        server,
        &["user", "add", &nothing, "--secret-stdin"],
        Some(b""),
    )
    .fails_with("no secret");
    cli(server, &["user", "info", &nothing]).fails_with("does not exist");
}

/// A TLS-terminating proxy on loopback in front of a plain-HTTP server,
/// with a fresh self-signed certificate for `127.0.0.1`.
struct TlsFront {
    endpoint: String,
    certificate_pem: String,
    _runtime: tokio::runtime::Runtime,
}

fn tls_front(backend: &str) -> TlsFront {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("self-signed certificate");
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    // The test front uses the same provider as the CLI's client.
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key.into())
        .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("binding the TLS front");
    let port = listener.local_addr().expect("local address").port();
    let backend = backend.trim_start_matches("http://").to_string();
    runtime.spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let backend = backend.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    TlsFront {
        endpoint: format!("https://127.0.0.1:{port}"),
        certificate_pem: certified.cert.pem(),
        _runtime: runtime,
    }
}

/// https endpoints: a self-signed certificate is refused with a one-line
/// reason naming the certificate unless `--insecure` (a flag, or an alias
/// option) accepts it, or the certificate is trusted through
/// `SSL_CERT_FILE`; what the CLI does over TLS reaches the same server.
#[test]
fn https_endpoints_verify_the_certificate_unless_insecure() {
    let server = shared_server();
    let front = tls_front(server.endpoint());
    let bucket = unique_bucket("cli-tls");
    let config = tempfile::tempdir().expect("config folder");
    let over_tls = |args: &[&str], extra_env: &[(&str, &str)]| {
        let mut command = minnow_command(&front.endpoint, server.access_key(), server.secret_key());
        command
            .env("XDG_CONFIG_HOME", config.path())
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR");
        for (name, value) in extra_env {
            command.env(name, value);
        }
        command.args(args);
        run_bounded(command, None)
    };

    over_tls(&["bucket", "create", &bucket], &[]).fails_with("certificate of https://127.0.0.1");
    over_tls(&["bucket", "create", &bucket, "--insecure"], &[]).ok();
    let listed = cli(server, &["bucket", "list"]).ok();
    assert!(listed.stdout.contains(&bucket), "{}", listed.stdout);

    let trusted = config.path().join("front.pem");
    std::fs::write(&trusted, &front.certificate_pem).expect("writing the certificate");
    let trusted = trusted.to_str().expect("utf-8 path");
    let listed = over_tls(&["bucket", "list"], &[("SSL_CERT_FILE", trusted)]).ok();
    assert!(listed.stdout.contains(&bucket), "{}", listed.stdout);

    let (ak, sk) = (server.access_key(), server.secret_key());
    over_tls(&["alias", "set", "strict", &front.endpoint, ak, sk], &[]).ok();
    over_tls(
        &["alias", "set", "lax", &front.endpoint, ak, sk, "--insecure"],
        &[],
    )
    .ok();
    let body = config.path().join("hello.txt");
    std::fs::write(&body, b"over tls").expect("writing a local file");
    let body = body.to_str().expect("utf-8 path");
    over_tls(&["cp", body, &format!("strict/{bucket}/hello.txt")], &[]).fails_with("certificate");
    over_tls(&["cp", body, &format!("lax/{bucket}/hello.txt")], &[]).ok();
    let cat = over_tls(&["cat", &format!("lax/{bucket}/hello.txt")], &[]).ok();
    assert_eq!(cat.stdout, "over tls");

    cli(server, &["bucket", "delete", &bucket, "--force"]).ok();
}
