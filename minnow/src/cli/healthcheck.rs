//! `minnow healthcheck`: exits 0 when the server's liveness endpoint
//! (`/minio/health/live`) answers 200, else 1 — a container healthcheck for
//! images without curl. Plain HTTP over std, so it needs no runtime.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::process::ExitCode;
use std::time::Duration;

/// The liveness endpoint MinIO's healthchecks call.
const LIVE_PATH: &str = "/minio/health/live";

/// Arguments of `minnow healthcheck`.
#[derive(Debug, clap::Args)]
pub struct HealthcheckArgs {
    /// Server URL (plain HTTP).
    #[arg(long, env = "MINNOW_ENDPOINT", default_value = "http://localhost:9000")]
    pub endpoint: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
}

pub fn run(args: HealthcheckArgs) -> ExitCode {
    match check(&args.endpoint, Duration::from_secs(args.timeout.max(1))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("minnow healthcheck: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `host:port` of an `http://` URL (port 80 when none is given).
fn authority(endpoint: &str) -> Result<String, String> {
    let rest = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("{endpoint}: only http:// endpoints are supported"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("{endpoint}: no host"));
    }
    let has_port = host
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    Ok(if has_port {
        host.to_string()
    } else {
        format!("{host}:80")
    })
}

fn check(endpoint: &str, timeout: Duration) -> Result<(), String> {
    let authority = authority(endpoint)?;
    let address = authority
        .to_socket_addrs()
        .map_err(|e| format!("{authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority} resolves to nothing"))?;
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {LIVE_PATH} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("{authority}: {e}"))?;
    // The status line is all that matters; read until it is complete.
    let mut head = Vec::new();
    let mut chunk = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < 8192 {
        let n = stream
            .read(&mut chunk)
            .map_err(|e| format!("{authority}: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let status = line.lines().next().unwrap_or_default();
    match status.split_whitespace().nth(1) {
        Some("200") => Ok(()),
        _ => Err(format!("{endpoint}{LIVE_PATH} answered {status:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_takes_host_and_port_of_an_http_url() {
        assert_eq!(
            authority("http://localhost:9000").unwrap(),
            "localhost:9000"
        );
        assert_eq!(authority("http://minio:9000/").unwrap(), "minio:9000");
        assert_eq!(authority("http://[::1]:9000").unwrap(), "[::1]:9000");
        assert_eq!(authority("http://example.com").unwrap(), "example.com:80");
        assert!(authority("https://example.com").is_err());
    }
}
