//! The HTTP/1.1 server: accepts TCP connections, serves each with hyper
//! (keep-alive, bounded request heads) and hands every request to
//! [`handlers::handle`]. On shutdown it stops accepting, lets requests in
//! flight finish (for at most [`SHUTDOWN_GRACE`]) and returns.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use store::api::{Catalog, Maintenance, MultipartStore, ObjectStore};
use tokio::net::TcpListener;

use crate::handlers::{self, AppState};

/// How long in-flight requests may run on after shutdown was asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// Upper bound of a connection's read buffer; a request head (line and
/// headers) must fit. S3 allows 8 KiB of headers; this leaves ample room
/// while keeping large body reads efficient.
const MAX_READ_BUFFER: usize = 256 * 1024;
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
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .keep_alive(true)
        .max_buf_size(MAX_READ_BUFFER)
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
        let service = service_fn(move |request| {
            let state = Arc::clone(&state);
            async move { Ok::<_, Infallible>(handlers::handle(state, request).await) }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }

    drop(listener);
    let open = graceful.count();
    tracing::info!(
        connections = open,
        "stopped accepting; waiting for requests in flight"
    );
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "requests still running after the grace period; closing");
        }
    }
}
