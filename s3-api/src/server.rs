//! The HTTP/1.1 server: accepts TCP connections, serves each with hyper
//! (keep-alive, bounded request heads) and hands every request to
//! [`handlers::handle`] with its peer address attached (for the audit log).
//! On SIGHUP it reopens the audit log file. On shutdown it stops accepting,
//! lets requests in flight finish (for at most [`SHUTDOWN_GRACE`]) and
//! returns.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt as _;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use store::api::{Catalog, Maintenance, MultipartStore, ObjectStore};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::handlers::audit::{AuditDestination, AuditSink, RemoteAddr};
use crate::handlers::{self, AppState};

/// How long in-flight requests may run on after shutdown was asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// Largest request head (request line and headers) accepted; larger ones
/// get 431. S3 itself allows 8 KiB of headers (2 KiB of user metadata); this
/// leaves room for long presigned URLs. hyper's read buffer keeps its default
/// size, which large body reads benefit from.
const MAX_REQUEST_HEAD: usize = 64 * 1024;
/// At most this many request headers.
const MAX_HEADERS: usize = 200;
/// A client must send a complete request head within this time (slow-loris
/// protection; also closes idle keep-alive connections).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Back-off after a failed accept (e.g. out of file descriptors).
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `state` on `listener` until `shutdown` completes, then drains
/// in-flight requests (bounded by [`SHUTDOWN_GRACE`]) and returns.
pub async fn serve<S>(
    listener: TcpListener,
    state: Arc<AppState<S>>,
    shutdown: impl Future<Output = ()>,
) where
    S: ObjectStore + Catalog + MultipartStore + Maintenance + 'static,
{
    serve_with(listener, state, shutdown, ServeOptions::default()).await;
}

/// How [`serve_with`] admits requests and drains them at shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// How long requests in flight may run on after shutdown was asked for
    /// (the binary's `--shutdown-timeout`, so a container stops before its
    /// manager's kill).
    pub shutdown_grace: Duration,
    /// At most this many S3 requests at once (MinIO's
    /// `MINIO_API_REQUESTS_MAX`); `None` admits every request. A request
    /// holds its slot until its response body is sent. Health, metrics and
    /// admin endpoints (`/minio/…`, `/minnow/…`) never wait for one.
    pub max_requests: Option<usize>,
    /// How long a request waits for a slot before it is answered 503
    /// `SlowDown` (MinIO's `MINIO_API_REQUESTS_DEADLINE`, 10 s).
    pub requests_deadline: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            shutdown_grace: SHUTDOWN_GRACE,
            max_requests: None,
            requests_deadline: Duration::from_secs(10),
        }
    }
}

/// Whether a request is exempt from the request limit: MinIO limits only
/// the S3 API, so probes and scrapes answer while clients queue.
fn bypasses_request_limit(path: &str) -> bool {
    path.starts_with("/minio/") || path.starts_with("/minnow/") || path == "/metrics"
}

/// The answer to a request that found no slot within the deadline.
fn too_many_requests(is_head: bool) -> http::Response<crate::ResponseBody> {
    let request_id = format!(
        "{:016X}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default()
    );
    crate::error::ApiError::with_message(
        crate::error::S3Code::SlowDown,
        "Deadline exceeded while waiting in incoming queue, please reduce your request rate",
    )
    .to_response(&request_id, "", !is_head)
}

/// [`serve`] with `options` instead of the defaults.
pub async fn serve_with<S>(
    listener: TcpListener,
    state: Arc<AppState<S>>,
    shutdown: impl Future<Output = ()>,
    options: ServeOptions,
) where
    S: ObjectStore + Catalog + MultipartStore + Maintenance + 'static,
{
    let grace = options.shutdown_grace;
    let limiter = options
        .max_requests
        .map(|max| (Arc::new(Semaphore::new(max)), options.requests_deadline));
    let reopen_audit_log = state.config.audit.clone().and_then(reopen_on_sighup);
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .keep_alive(true)
        .max_header_size(MAX_REQUEST_HEAD)
        .max_headers(MAX_HEADERS)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    tokio::pin!(shutdown);

    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, %peer, "TCP_NODELAY not set");
        }
        let state = Arc::clone(&state);
        let limiter = limiter.clone();
        let service = service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
            let state = Arc::clone(&state);
            let limiter = limiter.clone();
            request.extensions_mut().insert(RemoteAddr(peer));
            async move {
                let permit = match limiter {
                    Some((slots, deadline)) if !bypasses_request_limit(request.uri().path()) => {
                        match tokio::time::timeout(deadline, slots.acquire_owned()).await {
                            Ok(Ok(permit)) => Some(permit),
                            _ => {
                                let is_head = request.method() == http::Method::HEAD;
                                return Ok::<_, Infallible>(too_many_requests(is_head));
                            }
                        }
                    }
                    _ => None,
                };
                let response = handlers::handle(state, request).await;
                Ok(match permit {
                    None => response,
                    // The slot is held until the body is sent (or dropped).
                    Some(permit) => response.map(|body| {
                        body.map_frame(move |frame| {
                            let _held = &permit;
                            frame
                        })
                        .boxed()
                    }),
                })
            }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }

    drop(listener);
    if let Some(task) = reopen_audit_log {
        task.abort();
    }
    let open = graceful.count();
    tracing::info!(
        connections = open,
        "stopped accepting; waiting for requests in flight"
    );
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(grace) => {
            tracing::warn!(?grace, "requests still running after the grace period; closing");
        }
    }
}

/// Reopens the audit log file on every SIGHUP, so a rotation that moved it
/// away takes effect (the usual `logrotate` `postrotate` signal). The
/// handler is installed before this returns, so a SIGHUP after start-up
/// never takes the default action (ending the process).
fn reopen_on_sighup(sink: Arc<AuditSink>) -> Option<tokio::task::JoinHandle<()>> {
    if !matches!(sink.destination(), AuditDestination::File(_)) {
        return None;
    }
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(%error, "cannot watch SIGHUP; the audit log will not be reopened");
                return None;
            }
        };
        Some(tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                match sink.reopen() {
                    Ok(()) => {
                        tracing::info!(destination = %sink.destination(), "audit log reopened")
                    }
                    Err(error) => tracing::warn!(
                        %error,
                        destination = %sink.destination(),
                        "audit log not reopened; still writing to the old file"
                    ),
                }
            }
        }))
    }
    #[cfg(not(unix))]
    None
}

#[cfg(test)]
mod tests {
    //! Serving scenarios over real TCP against a real store in temp folders.

    use std::net::SocketAddr;
    use std::time::SystemTime;

    use conformance::signing::{PayloadSigning, RequestSigner};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;

    use super::*;
    use crate::handlers::ApiConfig;

    const ACCESS_KEY: &str = "serveradmin";
    const SECRET_KEY: &str = "serveradmin-secret";
    const STEP: Duration = Duration::from_secs(10);

    struct Running {
        address: SocketAddr,
        stop: Option<oneshot::Sender<()>>,
        task: JoinHandle<()>,
        _dir: tempfile::TempDir,
    }

    async fn start() -> Running {
        let dir = tempfile::tempdir().unwrap();
        let drives = (1..=4).map(|i| dir.path().join(format!("d{i}"))).collect();
        let store = Arc::new(
            store::Store::open(store::StoreConfig::new(drives))
                .await
                .unwrap(),
        );
        let root = crate::iam::RootCredentials {
            access_key: ACCESS_KEY.to_string(),
            secret_key: SECRET_KEY.to_string(),
        };
        let iam = Arc::new(
            crate::iam::Iam::load(store.clone(), root, None)
                .await
                .unwrap(),
        );
        let state = Arc::new(AppState::new(store, ApiConfig::default(), iam));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state, async {
            let _ = stopped.await;
        }));
        Running {
            address,
            stop: Some(stop),
            task,
            _dir: dir,
        }
    }

    /// The head of a SigV4-signed request with an unsigned payload.
    fn signed_head(method: &str, path: &str, address: SocketAddr, content_length: usize) -> String {
        let signer = RequestSigner::new(&format!("http://{address}"), ACCESS_KEY, SECRET_KEY);
        let headers = [("content-length".to_string(), content_length.to_string())];
        let signed = signer.sign_headers(
            method,
            path,
            &headers,
            b"",
            &PayloadSigning::Unsigned,
            SystemTime::now(),
        );
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {address}\r\n");
        for (name, value) in &signed.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head
    }

    /// Reads one response (head and a Content-Length body); returns the status.
    async fn read_response(stream: &mut TcpStream) -> u16 {
        read_full_response(stream).await.0
    }

    /// Reads one response; returns the status, the lower-cased head and the body.
    async fn read_full_response(stream: &mut TcpStream) -> (u16, String, Vec<u8>) {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = tokio::time::timeout(STEP, stream.read(&mut chunk))
                .await
                .expect("response in time")
                .unwrap();
            assert!(n > 0, "connection closed before a response");
            buffer.extend_from_slice(&chunk[..n]);
            let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                let body = buffer[end + 4..end + 4 + length].to_vec();
                return (head[9..12].parse().unwrap(), head, body);
            }
        }
    }

    async fn request(stream: &mut TcpStream, method: &str, path: &str, address: SocketAddr) -> u16 {
        let head = signed_head(method, path, address, 0);
        stream.write_all(head.as_bytes()).await.unwrap();
        read_response(stream).await
    }

    #[tokio::test]
    async fn keep_alive_connection_serves_several_requests() {
        let mut server = start().await;
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        assert_eq!(
            request(&mut stream, "PUT", "/keepalive", server.address).await,
            200
        );
        assert_eq!(request(&mut stream, "GET", "/", server.address).await, 200);
        assert_eq!(
            request(&mut stream, "HEAD", "/keepalive", server.address).await,
            200
        );
        server.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(STEP, server.task)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn shutdown_lets_the_request_in_flight_finish_and_refuses_new_ones() {
        let mut server = start().await;
        let mut setup = TcpStream::connect(server.address).await.unwrap();
        assert_eq!(
            request(&mut setup, "PUT", "/drain", server.address).await,
            200
        );
        drop(setup);

        let mut upload = TcpStream::connect(server.address).await.unwrap();
        let head = signed_head("PUT", "/drain/object", server.address, 10);
        upload.write_all(head.as_bytes()).await.unwrap();
        upload.write_all(b"01234").await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;

        server.stop.take().unwrap().send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !server.task.is_finished(),
            "serve returned with a request in flight"
        );
        assert!(
            TcpStream::connect(server.address).await.is_err(),
            "still accepting after shutdown"
        );

        upload.write_all(b"56789").await.unwrap();
        assert_eq!(read_response(&mut upload).await, 200);
        tokio::time::timeout(STEP, server.task)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn idle_keep_alive_connection_does_not_delay_shutdown() {
        let mut server = start().await;
        let mut idle = TcpStream::connect(server.address).await.unwrap();
        assert_eq!(request(&mut idle, "GET", "/", server.address).await, 200);
        server.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(3), server.task)
            .await
            .expect("shutdown not delayed by an idle connection")
            .unwrap();
    }

    const SLOW_BODY: usize = 2 * 1024 * 1024;
    const SLOW_PIECE: usize = 64 * 1024;

    /// Sends `head`, then `SLOW_BODY` bytes in pieces a few milliseconds
    /// apart, as an SDK streaming a file does; every write must succeed.
    async fn send_slowly(stream: &mut TcpStream, head: &str) {
        stream.write_all(head.as_bytes()).await.unwrap();
        let piece = vec![b'x'; SLOW_PIECE];
        for _ in 0..SLOW_BODY / SLOW_PIECE {
            tokio::time::sleep(Duration::from_millis(5)).await;
            tokio::time::timeout(STEP, stream.write_all(&piece))
                .await
                .expect("body written in time")
                .expect("server still reading the body");
        }
    }

    async fn stop(mut server: Running) {
        server.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(STEP, server.task)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn put_to_missing_bucket_answers_after_the_slow_body_and_keeps_the_connection() {
        let server = start().await;
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        let head = signed_head("PUT", "/no-such-bucket/key", server.address, SLOW_BODY);
        send_slowly(&mut stream, &head).await;
        let (status, head, body) = read_full_response(&mut stream).await;
        assert_eq!(status, 404);
        assert!(!head.contains("connection: close"), "{head}");
        assert!(String::from_utf8_lossy(&body).contains("<Code>NoSuchBucket</Code>"));
        assert_eq!(request(&mut stream, "GET", "/", server.address).await, 200);
        stop(server).await;
    }

    #[tokio::test]
    async fn anonymous_put_is_denied_after_the_slow_body() {
        let server = start().await;
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        assert_eq!(
            request(&mut stream, "PUT", "/private", server.address).await,
            200
        );
        let head = format!(
            "PUT /private/key HTTP/1.1\r\nhost: {}\r\ncontent-length: {SLOW_BODY}\r\n\r\n",
            server.address
        );
        send_slowly(&mut stream, &head).await;
        let (status, _, body) = read_full_response(&mut stream).await;
        assert_eq!(status, 403);
        assert!(String::from_utf8_lossy(&body).contains("<Code>AccessDenied</Code>"));
        assert_eq!(request(&mut stream, "GET", "/", server.address).await, 200);
        stop(server).await;
    }

    #[tokio::test]
    async fn early_error_with_a_body_over_the_drain_limit_closes_the_connection() {
        let server = start().await;
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        let length = crate::handlers::DRAIN_LIMIT as usize * 4;
        let head = signed_head("PUT", "/no-such-bucket/big", server.address, length);
        stream.write_all(head.as_bytes()).await.unwrap();
        let (status, head, body) = read_full_response(&mut stream).await;
        assert_eq!(status, 404);
        assert!(head.contains("connection: close"), "{head}");
        assert!(String::from_utf8_lossy(&body).contains("<Code>NoSuchBucket</Code>"));
        stop(server).await;
    }

    #[tokio::test]
    async fn early_error_with_a_stalled_body_closes_the_connection() {
        let server = start().await;
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        let head = signed_head("PUT", "/no-such-bucket/stalled", server.address, SLOW_BODY);
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&[b'x'; 1000]).await.unwrap();
        let started = std::time::Instant::now();
        let (status, head, _) = read_full_response(&mut stream).await;
        assert_eq!(status, 404);
        assert!(head.contains("connection: close"), "{head}");
        assert!(started.elapsed() < crate::handlers::DRAIN_IDLE * 3);
        let mut rest = [0u8; 16];
        let closed = tokio::time::timeout(STEP, stream.read(&mut rest)).await;
        assert!(
            matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
            "connection left open"
        );
        stop(server).await;
    }

    #[tokio::test]
    async fn early_error_to_a_client_awaiting_100_continue_closes_without_inviting_the_body() {
        let server = start().await;
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        let head = signed_head("PUT", "/no-such-bucket/expect", server.address, SLOW_BODY);
        let head = head.replacen("\r\n\r\n", "\r\nexpect: 100-continue\r\n\r\n", 1);
        stream.write_all(head.as_bytes()).await.unwrap();
        let started = std::time::Instant::now();
        let (status, head, body) = read_full_response(&mut stream).await;
        assert_eq!(status, 404, "{head}");
        assert!(head.contains("connection: close"), "{head}");
        assert!(String::from_utf8_lossy(&body).contains("<Code>NoSuchBucket</Code>"));
        assert!(started.elapsed() < crate::handlers::DRAIN_IDLE);
        stop(server).await;
    }

    #[tokio::test]
    async fn oversized_request_head_is_refused() {
        let mut server = start().await;
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        let huge = "a".repeat(MAX_REQUEST_HEAD + 1024);
        let head = format!("GET / HTTP/1.1\r\nhost: x\r\nx-big: {huge}\r\n\r\n");
        let _ = stream.write_all(head.as_bytes()).await;
        let status = read_response(&mut stream).await;
        assert_eq!(status, 431);
        server.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(STEP, server.task)
            .await
            .unwrap()
            .unwrap();
    }
}
