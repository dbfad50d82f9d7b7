//! The HTTP floor: nginx serving the same objects as plain files on a free
//! loopback port (access_log off, sendfile on, keep-alive), with a config this
//! module writes. A GET through minnow is compared with a GET of the same
//! bytes from nginx by the same client.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::payload::Payload;

#[derive(Debug, thiserror::Error)]
pub enum NginxError {
    #[error("nginx is not installed (apt-get install -y nginx-light): {0}")]
    NotInstalled(String),
    #[error("nginx did not start: {0}")]
    Start(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// A running nginx; stopped (SIGQUIT, then SIGKILL) on drop.
pub struct Nginx {
    child: Child,
    pub port: u16,
    pub root: PathBuf,
    _dir: tempfile::TempDir,
}

/// The nginx binary: `$NGINX`, or the first of the usual install paths.
pub fn nginx_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("NGINX") {
        return Some(PathBuf::from(p));
    }
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

impl Nginx {
    /// Starts nginx serving `root` (files are at `root/<bucket>/<key>`).
    pub fn start(root: &Path) -> Result<Self, NginxError> {
        let binary = nginx_binary().ok_or_else(|| NginxError::NotInstalled("not found".into()))?;
        let dir = tempfile::Builder::new().prefix("minnow-nginx").tempdir()?;
        for sub in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            std::fs::create_dir_all(dir.path().join(sub))?;
        }
        make_world_readable(root)?;
        let mut last_error = String::new();
        // The free port may be taken between probing and binding: retry.
        for _ in 0..5 {
            let port = free_port()?;
            let conf = dir.path().join("nginx.conf");
            std::fs::write(&conf, config_text(dir.path(), root, port))?;
            let mut child = Command::new(&binary)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| NginxError::NotInstalled(e.to_string()))?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Ok(Self {
                        child,
                        port,
                        root: root.to_path_buf(),
                        _dir: dir,
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            last_error = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
        }
        Err(NginxError::Start(last_error))
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGQUIT);
        let deadline = Instant::now() + Duration::from_secs(5);
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

fn config_text(prefix: &Path, root: &Path, port: u16) -> String {
    let p = prefix.display();
    let user = if running_as_root() {
        "user root;\n"
    } else {
        ""
    };
    format!(
        "{user}worker_processes auto;
daemon off;
master_process on;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 10000000;
    default_type application/octet-stream;
    client_body_temp_path {p}/client_body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
",
        root = root.display()
    )
}

/// nginx workers may run as another user: the served tree must be readable.
fn make_world_readable(root: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut p = Some(root);
    while let Some(dir) = p {
        if dir.as_os_str().is_empty() || dir == Path::new("/") {
            break;
        }
        let meta = std::fs::metadata(dir)?;
        let mode = meta.permissions().mode();
        if mode & 0o005 != 0o005 {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o755));
        }
        p = dir.parent();
    }
    Ok(())
}

/// Writes objects `keys` of `size` bytes as files under `root/bucket/`.
pub fn write_objects(
    root: &Path,
    bucket: &str,
    keys: &[String],
    size: u64,
    payload: &Payload,
) -> std::io::Result<()> {
    for (i, key) in keys.iter().enumerate() {
        let path = root.join(bucket).join(key);
        std::fs::create_dir_all(path.parent().expect("key path has a parent"))?;
        let mut f = std::fs::File::create(&path)?;
        for chunk in payload.chunks(i as u64, size) {
            f.write_all(&chunk)?;
        }
    }
    Ok(())
}
