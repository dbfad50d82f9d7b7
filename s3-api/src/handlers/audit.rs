//! The audit log: one JSON line per security-relevant request (every admin
//! action, every authentication failure, every authorization denial, and
//! every request at all when asked) to a file or to stderr. A file is
//! reopened on SIGHUP (see `server::serve`), so `logrotate` can move it.
//!
//! A record names the caller by access key only: secrets, signatures and
//! request bodies never reach it.

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

/// The peer of a connection, put into each request's extensions by the
/// server so handlers can record who called.
#[derive(Debug, Clone, Copy)]
pub struct RemoteAddr(pub SocketAddr);

/// Why a request was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditEvent {
    /// A call to the admin API (any outcome).
    Admin,
    /// The request's signature or credentials did not verify.
    AuthenticationFailure,
    /// A verified (or anonymous) caller was not allowed the operation.
    AuthorizationDenied,
    /// Any other request (only with `MINNOW_AUDIT_LOG_ALL`).
    Request,
    /// A sign-in to the web console, accepted or refused (written by the
    /// console through [`AuditSink::write`]; never the secret).
    ConsoleSignIn,
}

/// One audit line.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord<'a> {
    /// RFC 3339, UTC.
    pub time: String,
    pub event: AuditEvent,
    pub request_id: &'a str,
    pub remote_address: Option<String>,
    /// The verified access key, or for a failed authentication the one the
    /// request claimed; `None` for anonymous requests.
    pub access_key: Option<&'a str>,
    pub operation: &'a str,
    pub bucket: Option<&'a str>,
    pub key: Option<&'a str>,
    pub status: u16,
    pub error_code: Option<&'a str>,
}

/// Where audit lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditDestination {
    Stderr,
    File(PathBuf),
}

impl std::fmt::Display for AuditDestination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditDestination::Stderr => f.write_str("stderr"),
            AuditDestination::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The open audit log.
pub struct AuditSink {
    destination: AuditDestination,
    /// Whether every request is recorded.
    all_requests: bool,
    /// The open file (`None` for stderr, or after a failed reopen).
    file: Mutex<Option<File>>,
}

impl std::fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSink")
            .field("destination", &self.destination)
            .field("all_requests", &self.all_requests)
            .finish()
    }
}

impl AuditSink {
    /// Audit lines to stderr.
    pub fn stderr(all_requests: bool) -> Self {
        Self {
            destination: AuditDestination::Stderr,
            all_requests,
            file: Mutex::new(None),
        }
    }

    /// Audit lines appended to `path` (created 0600: it names users and
    /// addresses).
    pub fn file(path: impl Into<PathBuf>, all_requests: bool) -> std::io::Result<Self> {
        let path = path.into();
        let file = open_append(&path)?;
        Ok(Self {
            destination: AuditDestination::File(path),
            all_requests,
            file: Mutex::new(Some(file)),
        })
    }

    pub fn destination(&self) -> &AuditDestination {
        &self.destination
    }

    /// Whether requests that are none of the security events are recorded.
    pub fn records_all_requests(&self) -> bool {
        self.all_requests
    }

    /// Reopens the file (after a rotation moved it away); stderr: nothing.
    pub fn reopen(&self) -> std::io::Result<()> {
        let AuditDestination::File(path) = &self.destination else {
            return Ok(());
        };
        let mut file = self.lock();
        match open_append(path) {
            Ok(reopened) => {
                *file = Some(reopened);
                Ok(())
            }
            Err(error) => {
                // Keep writing to the old file rather than losing records.
                Err(error)
            }
        }
    }

    /// Appends one record as a JSON line. Failures are logged, never
    /// returned: an unwritable audit log must not fail the request.
    pub fn write(&self, record: &AuditRecord<'_>) {
        let mut line = match serde_json::to_vec(record) {
            Ok(line) => line,
            Err(error) => {
                tracing::warn!(%error, "audit record not serialisable");
                return;
            }
        };
        line.push(b'\n');
        let written = match &self.destination {
            AuditDestination::Stderr => std::io::stderr().lock().write_all(&line),
            AuditDestination::File(_) => match self.lock().as_mut() {
                // One write of the whole line to an O_APPEND file: lines
                // from concurrent requests never interleave.
                Some(file) => file.write_all(&line),
                None => Ok(()),
            },
        };
        if let Err(error) = written {
            tracing::warn!(%error, destination = %self.destination, "audit record not written");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<File>> {
        // A panicking writer leaves at worst a partial line.
        self.file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// The current time as RFC 3339 (UTC, milliseconds).
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The access key a request claims (Authorization `Credential=` or a
/// presigned `X-Amz-Credential`), whether or not it verified: who tried is
/// what an audit of failures needs. Only the key id is taken, never the
/// signature.
pub(crate) fn claimed_access_key(parts: &http::request::Parts) -> Option<String> {
    let credential = if let Some(value) = parts.headers.get(http::header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let start = value.find("Credential=")? + "Credential=".len();
        let rest = &value[start..];
        rest[..rest.find(',').unwrap_or(rest.len())]
            .trim()
            .to_string()
    } else {
        let query = parts.uri.query()?;
        let raw = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("X-Amz-Credential="))?;
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned()
    };
    // `<key>/<date>/<region>/<service>/aws4_request`, split from the right.
    let key = match credential.rsplitn(5, '/').nth(4) {
        Some(key) => key,
        None => credential.as_str(),
    };
    let key: String = key.chars().take(128).collect();
    (!key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed_access_key_comes_from_either_signature_form_without_the_rest() {
        let header = http::Request::get("/b/k")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260921/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc",
            )
            .body(())
            .unwrap()
            .into_parts()
            .0;
        assert_eq!(claimed_access_key(&header).as_deref(), Some("AKIDEXAMPLE"));
        let presigned = http::Request::get(
            "/b/k?X-Amz-Credential=AK%2Fwith%2Fslash%2F20260921%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=00",
        )
        .body(())
        .unwrap()
        .into_parts()
        .0;
        assert_eq!(
            claimed_access_key(&presigned).as_deref(),
            Some("AK/with/slash")
        );
        let anonymous = http::Request::get("/b/k").body(()).unwrap().into_parts().0;
        assert_eq!(claimed_access_key(&anonymous), None);
    }

    #[test]
    fn records_are_appended_as_json_lines_and_the_file_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let sink = AuditSink::file(&path, false).unwrap();
        let record = AuditRecord {
            time: now_rfc3339(),
            event: AuditEvent::AuthorizationDenied,
            request_id: "R1",
            remote_address: Some("127.0.0.1:5000".into()),
            access_key: Some("alice"),
            operation: "GetObject",
            bucket: Some("b"),
            key: Some("k"),
            status: 403,
            error_code: Some("AccessDenied"),
        };
        sink.write(&record);
        std::fs::rename(&path, dir.path().join("audit.log.1")).unwrap();
        sink.reopen().unwrap();
        sink.write(&record);
        for file in [dir.path().join("audit.log.1"), path] {
            let text = std::fs::read_to_string(&file).unwrap();
            assert_eq!(text.lines().count(), 1, "{text}");
            let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
            assert_eq!(line["event"], "authorization_denied");
            assert_eq!(line["accessKey"], "alice");
            assert_eq!(line["errorCode"], "AccessDenied");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&file).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600);
            }
        }
    }
}
