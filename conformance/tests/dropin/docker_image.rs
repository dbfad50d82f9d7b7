//! The container image as a MinIO deployment runs it: built by
//! `deploy/build-image.sh`, started with the command line of
//! `deploy/docker-compose.yml`'s `minio` service (`--user 1000`, an env
//! file, a read-only root filesystem with a tmpfs on /tmp, four drive
//! folders bind-mounted), probed by the compose healthcheck (`curl -f` inside
//! the container), used over the published port, set up twice by
//! `deploy/minio-init.sh` through the same image's CLI, stopped by
//! `docker stop` within compose's 10 s, and restarted with its data.
//!
//! Drive folders are owned by other UIDs, as a userns-remapped or NFS host
//! presents them: two group-writable through the image user's group (1000),
//! two world-writable and owned by `nobody`. Both work; a folder the user
//! cannot write stops the server with an error naming the folder.
//!
//! Skipped, with a message, only when `docker` cannot reach a daemon
//! (`.ci/run` installs docker.io and debootstrap and starts dockerd).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use conformance::{minnow_binary, TEST_REGION};

const IMAGE: &str = "minnow:conformance";
/// Polls for the container's health use this deadline (a busy 2-core machine).
const HEALTHY_DEADLINE: Duration = Duration::from_secs(60);
/// compose's default stop grace period.
const COMPOSE_STOP_TIMEOUT: Duration = Duration::from_secs(10);
const ROOT_USER: &str = "docker-root";
const ROOT_PASSWORD: &str = "docker-root-password-42";
const APP_USER: &str = "docker-app";
const APP_SECRET: &str = "docker-app-secret-42";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("run docker")
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn docker_ok(args: &[&str]) -> String {
    let output = docker(args);
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        text(&output)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn docker_usable() -> bool {
    matches!(
        Command::new("docker").args(["info", "--format", "{{.ServerVersion}}"]).output(),
        Ok(output) if output.status.success()
    )
}

/// The `minio` service's `command:` line of the compose file, split as
/// compose splits a string command (shell words, quotes removed).
fn compose_command() -> Vec<String> {
    let compose = std::fs::read_to_string(repo_root().join("deploy/docker-compose.yml"))
        .expect("read deploy/docker-compose.yml");
    let line = compose
        .lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix("command: "))
        .expect("the minio service has a command line");
    line.split_whitespace()
        .map(|word| word.trim_matches('"').to_string())
        .collect()
}

/// Removes the containers it names when the test ends, however it ends.
struct Containers(Vec<String>);

impl Drop for Containers {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = docker(&["rm", "-f", "-v", name]);
        }
    }
}

/// Four drive folders: 1-2 owned by 2000:1000 mode 0770 (the image user's
/// group may write), 3-4 owned by nobody mode 0777 (anyone may write).
fn drive_folders(root: &Path) -> Vec<PathBuf> {
    (1..=4)
        .map(|i| {
            let dir = root.join(format!("data{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            let (owner, mode) = if i <= 2 {
                ((2000, 1000), 0o770)
            } else {
                ((65534, 65534), 0o777)
            };
            std::os::unix::fs::chown(&dir, Some(owner.0), Some(owner.1))
                .expect("chown a drive folder (the test runs as root, as dockerd does)");
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
            dir
        })
        .collect()
}

/// `docker run` arguments shared by every run of the server container.
fn server_run_args(name: &str, env_file: &Path, drives: &[PathBuf]) -> Vec<String> {
    let mut args: Vec<String> = [
        "run",
        "--name",
        name,
        "--user",
        "1000",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--env-file",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(env_file.display().to_string());
    for (i, drive) in drives.iter().enumerate() {
        args.push("-v".into());
        args.push(format!("{}:/data{}", drive.display(), i + 1));
    }
    args
}

/// Polls the compose healthcheck inside the container until it passes.
fn wait_healthy(name: &str) {
    let deadline = Instant::now() + HEALTHY_DEADLINE;
    loop {
        let probe = docker(&[
            "exec",
            name,
            "curl",
            "-f",
            "http://localhost:9000/minio/health/live",
        ]);
        if probe.status.success() {
            return;
        }
        if Instant::now() > deadline {
            let logs = docker(&["logs", name]);
            panic!(
                "{name} not healthy after {HEALTHY_DEADLINE:?}: {}\nlogs: {}",
                text(&probe),
                text(&logs)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn s3_client(endpoint: &str, access_key: &str, secret_key: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .force_path_style(true)
        .region(Region::new(TEST_REGION))
        .credentials_provider(Credentials::new(
            access_key, secret_key, None, None, "docker",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

async fn get_body(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let object = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {bucket}/{key}: {e:?}"));
    object.body.collect().await.unwrap().into_bytes().to_vec()
}

#[test]
fn image_runs_as_the_compose_service_does_and_keeps_data_across_restart() {
    if !docker_usable() {
        eprintln!("docker is not usable here (no daemon); skipping the container image test");
        return;
    }
    let build = Command::new(repo_root().join("deploy/build-image.sh"))
        .env("MINNOW_BINARY", minnow_binary())
        .env("MINNOW_IMAGE", IMAGE)
        .output()
        .expect("run deploy/build-image.sh");
    assert!(build.status.success(), "build-image.sh: {}", text(&build));

    let work = tempfile::Builder::new()
        .prefix("minnow-docker-")
        .tempdir()
        .unwrap();
    let env_file = work.path().join("minio.env");
    std::fs::write(
        &env_file,
        format!(
            "MINIO_ROOT_USER={ROOT_USER}\nMINIO_ROOT_PASSWORD={ROOT_PASSWORD}\n\
             APP_ACCESS_KEY={APP_USER}\nAPP_SECRET_KEY={APP_SECRET}\n"
        ),
    )
    .unwrap();
    let suffix = std::process::id();
    let server = format!("minnow-conformance-{suffix}");
    let refused = format!("minnow-conformance-refused-{suffix}");
    let _containers = Containers(vec![server.clone(), refused.clone()]);
    let command = compose_command();
    assert_eq!(
        command,
        ["server", "/data{1...4}", "--console-address", ":9001"],
        "MinIO's command line"
    );

    // A drive folder the user cannot write: the server stops at once and
    // says which folder.
    let locked = drive_folders(&work.path().join("locked"));
    std::fs::set_permissions(&locked[2], std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut args = server_run_args(&refused, &env_file, &locked);
    args.push(IMAGE.into());
    args.extend(command.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = docker(&args);
    assert!(!output.status.success(), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("drive folder /data3 is not writable by 1000:1000"),
        "{}",
        text(&output)
    );

    // The compose service, detached, its API port published on loopback.
    let drives = drive_folders(&work.path().join("drives"));
    let mut args = server_run_args(&server, &env_file, &drives);
    args.splice(1..1, ["-d".to_string()]);
    args.extend(["-p".into(), "127.0.0.1::9000".into(), IMAGE.into()]);
    args.extend(command.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    docker_ok(&args);
    wait_healthy(&server);
    let healthcheck = docker(&["exec", &server, "minnow", "healthcheck"]);
    assert!(healthcheck.status.success(), "{}", text(&healthcheck));
    let port = docker_ok(&["port", &server, "9000/tcp"]);
    let endpoint = format!(
        "http://{}",
        port.lines().next().expect("published port").trim()
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let root = s3_client(&endpoint, ROOT_USER, ROOT_PASSWORD);
    let body = conformance::pattern_bytes(300_000, 7);
    runtime.block_on(async {
        root.create_bucket()
            .bucket("from-host")
            .send()
            .await
            .unwrap();
        root.put_object()
            .bucket("from-host")
            .key("dir/object.bin")
            .body(body.clone().into())
            .send()
            .await
            .unwrap();
        assert_eq!(get_body(&root, "from-host", "dir/object.bin").await, body);
    });

    // The init service's steps, twice: the second run must succeed too.
    let deploy = repo_root().join("deploy");
    for run in 1..=2 {
        let init = docker(&[
            "run",
            "--rm",
            "--network",
            &format!("container:{server}"),
            "--user",
            "1000",
            "--read-only",
            "--tmpfs",
            "/tmp",
            "--env-file",
            &env_file.display().to_string(),
            "-e",
            "MINNOW_ENDPOINT=http://localhost:9000",
            "-v",
            &format!("{}:/deploy:ro", deploy.display()),
            "--entrypoint",
            "/bin/sh",
            IMAGE,
            "/deploy/minio-init.sh",
        ]);
        assert!(init.status.success(), "init run {run}: {}", text(&init));
        assert!(
            String::from_utf8_lossy(&init.stdout).contains("minio-init: done"),
            "init run {run}: {}",
            text(&init)
        );
    }
    let app = s3_client(&endpoint, APP_USER, APP_SECRET);
    runtime.block_on(async {
        app.put_object()
            .bucket("app-data")
            .key("tmp/report.txt")
            .body(b"written by the app user".to_vec().into())
            .send()
            .await
            .expect("the readwrite policy lets the app user write");
        let rules = root
            .get_bucket_lifecycle_configuration()
            .bucket("app-data")
            .send()
            .await
            .expect("the init script imported the lifecycle rules");
        let ids: Vec<_> = rules.rules().iter().filter_map(|r| r.id()).collect();
        assert_eq!(ids, ["expire-tmp"]);
    });

    // `docker stop` sends SIGTERM; the server drains and exits 0 well
    // within compose's grace period (docker would SIGKILL it after 10 s).
    let started = Instant::now();
    let grace = COMPOSE_STOP_TIMEOUT.as_secs().to_string();
    docker_ok(&["stop", "--time", &grace, &server]);
    let took = started.elapsed();
    assert!(
        took < COMPOSE_STOP_TIMEOUT,
        "docker stop took {took:?}: {}",
        text(&docker(&["logs", &server]))
    );
    let exit = docker_ok(&["inspect", "--format", "{{.State.ExitCode}}", &server]);
    assert_eq!(exit, "0", "{}", text(&docker(&["logs", &server])));

    docker_ok(&["start", &server]);
    wait_healthy(&server);
    let port = docker_ok(&["port", &server, "9000/tcp"]);
    let endpoint = format!(
        "http://{}",
        port.lines().next().expect("published port").trim()
    );
    let root = s3_client(&endpoint, ROOT_USER, ROOT_PASSWORD);
    let app = s3_client(&endpoint, APP_USER, APP_SECRET);
    runtime.block_on(async {
        assert_eq!(get_body(&root, "from-host", "dir/object.bin").await, body);
        assert_eq!(
            get_body(&app, "app-data", "tmp/report.txt").await,
            b"written by the app user"
        );
    });
}
