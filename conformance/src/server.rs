//! `TestServer`: owns one `minnow server` process over four temporary drive folders (or a handle
//! on an external endpoint), its lifecycle (restart, SIGTERM, SIGKILL) and the clients that talk
//! to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use aws_credential_types::Credentials;
use aws_sdk_s3::config::{BehaviorVersion, Region};

use crate::signing::RequestSigner;
use crate::TEST_REGION;

/// Root access key the spawned server is started with.
pub const TEST_ROOT_USER: &str = "minnow-conformance";
/// Root secret key the spawned server is started with.
pub const TEST_ROOT_PASSWORD: &str = "minnow-conformance-secret-0123456789";

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const GRACEFUL_STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Extra settings for a spawned server.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Extra environment variables (e.g. `MINNOW_LIFECYCLE_DAY_SECONDS=1`).
    pub env: Vec<(String, String)>,
    /// Extra command-line arguments appended after the drives.
    pub args: Vec<String>,
    /// Number of drive folders (minnow's default layout is 4, EC 2+2).
    pub drive_count: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            env: Vec::new(),
            args: Vec::new(),
            drive_count: 4,
        }
    }
}

/// A running minnow server (spawned) or an external endpoint (`MINNOW_TEST_ENDPOINT`).
/// A spawned server is killed when this is dropped.
pub struct TestServer {
    endpoint: String,
    access_key: String,
    secret_key: String,
    local: Option<LocalServer>,
}

struct LocalServer {
    binary: PathBuf,
    // Kept for its Drop: removes the drive folders.
    root: tempfile::TempDir,
    drives: Vec<PathBuf>,
    options: ServerOptions,
    /// host:port after the first start, reused by restarts so clients keep working.
    address: Option<String>,
    running: Option<RunningProcess>,
    generation: u32,
}

struct RunningProcess {
    child: Child,
    /// `sh` that SIGKILLs the server when our end of its stdin closes, i.e. when the test
    /// process exits without running destructors (statics, panics in other threads, abort).
    watchdog: Child,
    _watchdog_stdin: ChildStdin,
}

impl TestServer {
    /// Starts a server with default options, or attaches to `MINNOW_TEST_ENDPOINT`.
    pub fn start() -> anyhow::Result<TestServer> {
        Self::start_with(ServerOptions::default())
    }

    /// Starts a server with `options`, or attaches to `MINNOW_TEST_ENDPOINT` (options ignored).
    pub fn start_with(options: ServerOptions) -> anyhow::Result<TestServer> {
        if let Ok(endpoint) = std::env::var("MINNOW_TEST_ENDPOINT") {
            if !endpoint.is_empty() {
                let access_key = std::env::var("MINNOW_TEST_ACCESS_KEY")
                    .unwrap_or_else(|_| "minioadmin".to_string());
                let secret_key = std::env::var("MINNOW_TEST_SECRET_KEY")
                    .unwrap_or_else(|_| "minioadmin".to_string());
                return Ok(TestServer {
                    endpoint: endpoint.trim_end_matches('/').to_string(),
                    access_key,
                    secret_key,
                    local: None,
                });
            }
        }
        Self::spawn(options)
    }

    /// Always spawns the minnow binary, even when `MINNOW_TEST_ENDPOINT` is set.
    pub fn spawn(options: ServerOptions) -> anyhow::Result<TestServer> {
        Self::spawn_binary(minnow_binary(), options)
    }

    /// Spawns `binary` (a build of minnow such as `minnow-faulty`) as the server.
    pub fn spawn_binary(binary: PathBuf, options: ServerOptions) -> anyhow::Result<TestServer> {
        if !binary.exists() {
            bail!(
                "minnow binary not found at {} (run `cargo build -p minnow --bin minnow` or set MINNOW_BIN)",
                binary.display()
            );
        }
        let root = tempfile::Builder::new()
            .prefix("minnow-conformance-")
            .tempdir()
            .context("creating drive root")?;
        let mut drives = Vec::new();
        for index in 1..=options.drive_count {
            let drive = root.path().join(format!("drive{index}"));
            std::fs::create_dir_all(&drive)?;
            drives.push(drive);
        }
        let mut local = LocalServer {
            binary,
            root,
            drives,
            options,
            address: None,
            running: None,
            generation: 0,
        };
        let endpoint = local.launch()?;
        Ok(TestServer {
            endpoint,
            access_key: TEST_ROOT_USER.to_string(),
            secret_key: TEST_ROOT_PASSWORD.to_string(),
            local: Some(local),
        })
    }

    /// `http://host:port` of the server.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// True when the tests run against `MINNOW_TEST_ENDPOINT` rather than a spawned binary.
    pub fn is_external(&self) -> bool {
        self.local.is_none()
    }

    /// Root access key.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// Root secret key.
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// Drive folders of a spawned server (empty for an external endpoint).
    pub fn drives(&self) -> &[PathBuf] {
        self.local.as_ref().map(|l| &l.drives[..]).unwrap_or(&[])
    }

    /// The temporary directory holding the drive folders (None for an external endpoint).
    pub fn drive_root(&self) -> Option<&Path> {
        self.local.as_ref().map(|l| l.root.path())
    }

    /// Process id of the spawned server while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.local
            .as_ref()
            .and_then(|l| l.running.as_ref())
            .map(|r| r.child.id())
    }

    /// Resident set size of the spawned server in bytes (from /proc/<pid>/status VmRSS).
    pub fn rss_bytes(&self) -> Option<u64> {
        self.pid().and_then(rss_of_pid)
    }

    /// Path of the server's combined stdout/stderr log.
    pub fn log_path(&self) -> Option<PathBuf> {
        self.local.as_ref().map(|l| l.log_path())
    }

    /// Last `max_bytes` of the server log, for failure messages.
    pub fn log_tail(&self, max_bytes: usize) -> String {
        self.log_path()
            .map(|p| tail_of_file(&p, max_bytes))
            .unwrap_or_default()
    }

    /// Stops the server (gracefully if running) and starts it again on the same drives, on the
    /// same port when it is still free. Make clients after this call.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        let local = self
            .local
            .as_mut()
            .ok_or_else(|| anyhow!("cannot restart an external endpoint"))?;
        if local.running.is_some() {
            local.stop_gracefully()?;
        }
        self.endpoint = local.launch()?;
        Ok(())
    }

    /// SIGKILL: simulates a crash. `restart()` brings it back.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        let local = self
            .local
            .as_mut()
            .ok_or_else(|| anyhow!("cannot kill an external endpoint"))?;
        local.kill_now();
        Ok(())
    }

    /// SIGTERM and wait for the process to exit (SIGKILL after a timeout). Returns its status.
    pub fn stop(&mut self) -> anyhow::Result<ExitStatus> {
        let local = self
            .local
            .as_mut()
            .ok_or_else(|| anyhow!("cannot stop an external endpoint"))?;
        local.stop_gracefully()
    }

    /// An aws-sdk-s3 client in its default configuration, except for what a local plain-HTTP
    /// endpoint needs: endpoint URL, path-style addressing, region, static root credentials
    /// and a plain-HTTP connector. Checksums, aws-chunked and retries stay at their defaults.
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        self.s3_client_with_credentials(&self.access_key, &self.secret_key)
    }

    /// Same as [`TestServer::s3_client`] with other credentials (for authentication failures).
    pub fn s3_client_with_credentials(
        &self,
        access_key: &str,
        secret_key: &str,
    ) -> aws_sdk_s3::Client {
        let credentials = Credentials::new(access_key, secret_key, None, None, "conformance");
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .region(Region::new(TEST_REGION))
            .credentials_provider(credentials)
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// A plain-HTTP reqwest client for raw requests.
    pub fn http_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("reqwest client")
    }

    /// A SigV4 signer for raw requests, with the root credentials.
    pub fn signer(&self) -> RequestSigner {
        RequestSigner::new(&self.endpoint, &self.access_key, &self.secret_key)
    }

    /// host:port of the server, for raw TCP requests.
    pub fn host_port(&self) -> &str {
        self.endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(local) = self.local.as_mut() {
            local.kill_now();
        }
    }
}

impl LocalServer {
    fn log_path(&self) -> PathBuf {
        self.root.path().join("server.log")
    }

    /// Starts the process and waits for its `API: http://` line. Returns the endpoint.
    fn launch(&mut self) -> anyhow::Result<String> {
        // A restart on a fixed port can race the old socket's release; retry briefly.
        let attempts = if self.address.is_some() { 5 } else { 1 };
        let mut last_error = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(500));
            }
            match self.launch_once() {
                Ok(endpoint) => return Ok(endpoint),
                Err(error) => last_error = Some(error),
            }
        }
        if self.address.is_some() {
            // The old port may have been taken by another process meanwhile: a fresh port
            // beats a failed test (clients made after the restart use the new endpoint).
            self.address = None;
            if let Ok(endpoint) = self.launch_once() {
                return Ok(endpoint);
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow!("server did not start")))
    }

    fn launch_once(&mut self) -> anyhow::Result<String> {
        self.generation += 1;
        let address = self
            .address
            .clone()
            .unwrap_or_else(|| "127.0.0.1:0".to_string());
        let log_path = self.log_path();
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        writeln!(
            log,
            "=== conformance: start #{} on {address} ===",
            self.generation
        )?;
        let mut command = Command::new(&self.binary);
        command
            .arg("server")
            .arg("--address")
            .arg(&address)
            .args(&self.drives)
            .args(&self.options.args)
            .env_remove("MINNOW_ROOT_USER")
            .env_remove("MINNOW_ROOT_PASSWORD")
            .env("MINIO_ROOT_USER", TEST_ROOT_USER)
            .env("MINIO_ROOT_PASSWORD", TEST_ROOT_PASSWORD)
            .envs(self.options.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log.try_clone()?));
        let mut child = command
            .spawn()
            .with_context(|| format!("spawning {}", self.binary.display()))?;
        let watchdog = spawn_watchdog(child.id(), self.root.path());
        let stdout = child.stdout.take().expect("piped stdout");

        // Forward stdout to the log (so the pipe never fills) and report the API line.
        let (api_sender, api_receiver) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(log, "{line}");
                if !sent {
                    if let Some(rest) = line.trim().strip_prefix("API: ") {
                        if let Some(url) = rest.split_whitespace().next() {
                            if url.starts_with("http://") {
                                let _ = api_sender.send(url.to_string());
                                sent = true;
                            }
                        }
                    }
                }
            }
        });

        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let endpoint = loop {
            match api_receiver.recv_timeout(Duration::from_millis(100)) {
                Ok(url) => break url.trim_end_matches('/').to_string(),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // stdout closed without an API line; fall through to the exit check.
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            if let Some(status) = child.try_wait()? {
                let (mut watchdog, _stdin) = watchdog;
                let _ = watchdog.kill();
                let _ = watchdog.wait();
                bail!(
                    "minnow exited with {status} before printing `API: http://`; log:\n{}",
                    tail_of_file(&log_path, 4000)
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let (mut watchdog, _stdin) = watchdog;
                let _ = watchdog.kill();
                let _ = watchdog.wait();
                bail!(
                    "minnow did not print `API: http://` within {:?}; log:\n{}",
                    STARTUP_TIMEOUT,
                    tail_of_file(&log_path, 4000)
                );
            }
        };
        self.address = Some(endpoint.trim_start_matches("http://").to_string());
        let (watchdog, watchdog_stdin) = watchdog;
        self.running = Some(RunningProcess {
            child,
            watchdog,
            _watchdog_stdin: watchdog_stdin,
        });
        Ok(endpoint)
    }

    fn kill_now(&mut self) {
        if let Some(mut running) = self.running.take() {
            let _ = running.child.kill();
            let _ = running.child.wait();
            let _ = running.watchdog.kill();
            let _ = running.watchdog.wait();
        }
    }

    fn stop_gracefully(&mut self) -> anyhow::Result<ExitStatus> {
        let mut running = self
            .running
            .take()
            .ok_or_else(|| anyhow!("server is not running"))?;
        // `kill -TERM` instead of libc::kill keeps the crate free of unsafe code.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(running.child.id().to_string())
            .status();
        let deadline = Instant::now() + GRACEFUL_STOP_TIMEOUT;
        let status = loop {
            if let Some(status) = running.child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = running.child.kill();
                let status = running.child.wait()?;
                let _ = running.watchdog.kill();
                let _ = running.watchdog.wait();
                bail!(
                    "minnow did not exit within {:?} of SIGTERM (killed: {status})",
                    GRACEFUL_STOP_TIMEOUT
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let _ = running.watchdog.kill();
        let _ = running.watchdog.wait();
        Ok(status)
    }
}

/// The watchdog also removes the drive folders: a server kept in a `static` is never dropped,
/// so its `TempDir` would otherwise stay behind.
fn spawn_watchdog(pid: u32, root: &Path) -> (Child, ChildStdin) {
    let root = root.display().to_string().replace('\'', "");
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cat >/dev/null; kill -9 {pid} 2>/dev/null; sleep 0.5; rm -rf '{root}'"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning watchdog shell");
    let stdin = watchdog.stdin.take().expect("watchdog stdin");
    (watchdog, stdin)
}

/// The `minnow` binary the suite runs: `MINNOW_BIN` when set, else the
/// workspace's `target/debug/minnow` (`make test` builds it first).
pub fn minnow_binary() -> PathBuf {
    if let Ok(path) = std::env::var("MINNOW_BIN") {
        if !path.is_empty() {
            return PathBuf::from(path);
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/minnow")
}

/// VmRSS of a process in bytes.
pub fn rss_of_pid(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn tail_of_file(path: &Path, max_bytes: usize) -> String {
    let mut content = Vec::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_end(&mut content);
    }
    let start = content.len().saturating_sub(max_bytes);
    String::from_utf8_lossy(&content[start..]).into_owned()
}
