//! Starting a release `minnow server` on temporary drives for the matrix and
//! the tests: parses the `API: http://ADDR` line, keeps the pid for CPU and
//! RSS readings, stops it with SIGTERM on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

pub const ROOT_USER: &str = "minnowbench";
pub const ROOT_PASSWORD: &str = "minnowbench-secret";

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "server binary {0} does not exist (build it: cargo build --release -p minnow --bin minnow)"
    )]
    Missing(PathBuf),
    #[error("server did not print its API address within {0:?}; stderr tail:\n{1}")]
    NoAddress(Duration, String),
    #[error("server exited with {0} before printing its API address; stderr tail:\n{1}")]
    ExitedEarly(std::process::ExitStatus, String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// A running minnow server process.
pub struct MinnowServer {
    child: Child,
    pub endpoint: String,
    pub drives: Vec<PathBuf>,
    stderr_log: PathBuf,
}

/// `minnow` next to the running executable (target/<profile>/minnow).
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("minnow")))
        .unwrap_or_else(|| PathBuf::from("target/release/minnow"))
}

impl MinnowServer {
    /// Starts `binary server --address 127.0.0.1:0 <dir>/d1..d4`.
    pub fn start(binary: &Path, dir: &Path) -> Result<Self, ServerError> {
        Self::start_with_env(binary, dir, &[])
    }

    /// Like [`MinnowServer::start`], with extra environment variables (a
    /// restart on the same `dir` reuses its drives).
    pub fn start_with_env(
        binary: &Path,
        dir: &Path,
        env: &[(&str, String)],
    ) -> Result<Self, ServerError> {
        if !binary.exists() {
            return Err(ServerError::Missing(binary.to_path_buf()));
        }
        let drives: Vec<PathBuf> = (1..=4).map(|i| dir.join(format!("d{i}"))).collect();
        for d in &drives {
            std::fs::create_dir_all(d)?;
        }
        let stderr_log = dir.join("server-stderr.log");
        let mut child = Command::new(binary)
            .arg("server")
            .arg("--address")
            .arg("127.0.0.1:0")
            .args(&drives)
            .env("MINIO_ROOT_USER", ROOT_USER)
            .env("MINIO_ROOT_PASSWORD", ROOT_PASSWORD)
            .env_remove("MINNOW_ROOT_USER")
            .env_remove("MINNOW_ROOT_PASSWORD")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&stderr_log)?,
            )
            .spawn()?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        // Keep draining stdout for the server's lifetime so it never blocks.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.trim().strip_prefix("API: ") {
                    if let Some(tx) = tx.take() {
                        let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                        let _ = tx.send(addr);
                    }
                }
            }
        });
        let wait = Duration::from_secs(30);
        let deadline = Instant::now() + wait;
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(endpoint) => {
                    return Ok(Self {
                        child,
                        endpoint,
                        drives,
                        stderr_log,
                    })
                }
                Err(_) if Instant::now() < deadline => {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        let exited = child.try_wait().ok().flatten();
        let _ = child.kill();
        let _ = child.wait();
        let tail = std::fs::read_to_string(&stderr_log).unwrap_or_default();
        let tail: String = tail
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        match exited {
            Some(status) => Err(ServerError::ExitedEarly(status, tail)),
            None => Err(ServerError::NoAddress(wait, tail)),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr_log(&self) -> &Path {
        &self.stderr_log
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for MinnowServer {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
