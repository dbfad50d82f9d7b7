//! minnow's web console: a page (HTML, CSS and vanilla JS embedded in the
//! binary) and a JSON API that acts as a server-side signing proxy. It has
//! no store or IAM access of its own: sign-in checks an access key and
//! secret with a signed call to the S3 API, keeps them in server memory
//! under a random session id, and performs every action as a SigV4-signed
//! S3 or admin API request with them, so the server decides what each
//! identity may do. The browser never sees a secret.

#![deny(missing_docs)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

mod api;
mod assets;
mod multipart;
mod routes;
mod session;
mod upstream;

pub use assets::embedded_asset_bytes;
use routes::{route, Endpoint};
pub use upstream::UpstreamError;

use session::{Sessions, SignInLimiter};
use upstream::Upstream;

/// The body of every console response.
pub type ConsoleBody = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "minnow_console";
/// Header that carries the session's CSRF token on every state change.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The one policy for every console answer: scripts, styles and fetches
/// only from the console itself, no inline script, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// How the console reaches the S3 API and what it tells browsers.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// `http://host:port` of the local S3 API every action is signed for.
    pub s3_endpoint: String,
    /// Base URL share links point at (`MINIO_SERVER_URL`); the S3 endpoint
    /// when unset.
    pub public_url: Option<String>,
    /// The console's public URL (`MINIO_BROWSER_REDIRECT_URL`); the session
    /// cookie is `Secure` when it is https.
    pub redirect_url: Option<String>,
    /// Base URL of the CDN host (`https://cdn.example.com`), shown as an
    /// object's public address when set.
    pub cdn_url: Option<String>,
    /// How long a session lasts from sign-in.
    pub session_ttl: Duration,
    /// Wrong sign-ins allowed per remote address within `sign_in_window`.
    pub sign_in_failures_allowed: u32,
    /// The window of `sign_in_failures_allowed`.
    pub sign_in_window: Duration,
    /// Uploads this large or larger go to the S3 API as multipart uploads.
    pub multipart_threshold: u64,
    /// Part size of those uploads (grown when 10,000 parts would not do).
    pub part_size: u64,
    /// The server's audit log (`MINNOW_AUDIT_LOG`): every sign-in attempt,
    /// accepted or refused, is a line in it (access key and address, never
    /// the secret).
    pub audit: Option<Arc<s3_api::handlers::audit::AuditSink>>,
}

impl ConsoleConfig {
    /// Defaults for a console in front of `s3_endpoint`: 12-hour sessions
    /// (MinIO's console default), 5 wrong sign-ins per address per minute,
    /// multipart from 64 MiB in 16 MiB parts.
    pub fn new(s3_endpoint: impl Into<String>) -> ConsoleConfig {
        ConsoleConfig {
            s3_endpoint: s3_endpoint.into(),
            public_url: None,
            redirect_url: None,
            cdn_url: None,
            session_ttl: Duration::from_secs(12 * 3600),
            sign_in_failures_allowed: 5,
            sign_in_window: Duration::from_secs(60),
            multipart_threshold: 64 * 1024 * 1024,
            part_size: 16 * 1024 * 1024,
            audit: None,
        }
    }

    fn secure_cookie(&self) -> bool {
        self.redirect_url
            .as_deref()
            .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"))
    }
}

/// Why a console request failed; rendered once, as `{"error", "code"}` JSON.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The configuration cannot work (e.g. the S3 endpoint is no URL).
    #[error("console configuration: {0}")]
    Config(String),
    /// No session cookie, or its session ended (sign-out, expiry).
    #[error("sign in first (or your session has expired)")]
    SignInRequired,
    /// The S3 API refused the access key and secret at sign-in.
    #[error("wrong access key or secret key")]
    BadCredentials,
    /// The address failed to sign in too often; wait this long.
    #[error("too many failed sign-ins from your address; try again in {} s", .0.as_secs().max(1))]
    TooManyAttempts(Duration),
    /// A state change without this session's CSRF token.
    #[error("the request lacks this session's CSRF token; reload the page")]
    CsrfRefused,
    /// The page sent something the console cannot use.
    #[error("{0}")]
    BadRequest(String),
    /// No such page, endpoint or rule.
    #[error("not found")]
    NotFound,
    /// The S3 or admin API refused or failed the action.
    #[error("{}", upstream_message(.0))]
    Upstream(UpstreamError),
}

fn upstream_message(error: &UpstreamError) -> String {
    match error {
        UpstreamError::Api { code, message, .. }
            if code == "AccessDenied" || code.contains("access-denied") || code == "forbidden" =>
        {
            format!("Access denied: the server refused this for your identity ({message})")
        }
        UpstreamError::Api { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

impl From<UpstreamError> for ConsoleError {
    fn from(error: UpstreamError) -> Self {
        ConsoleError::Upstream(error)
    }
}

impl ConsoleError {
    fn status(&self) -> StatusCode {
        match self {
            ConsoleError::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ConsoleError::SignInRequired | ConsoleError::BadCredentials => StatusCode::UNAUTHORIZED,
            ConsoleError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::CsrfRefused => StatusCode::FORBIDDEN,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::Upstream(UpstreamError::Api { status, .. }) => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            ConsoleError::Upstream(_) => StatusCode::BAD_GATEWAY,
        }
    }

    fn code(&self) -> String {
        match self {
            ConsoleError::Config(_) => "ConsoleConfig".into(),
            ConsoleError::SignInRequired => "SignInRequired".into(),
            ConsoleError::BadCredentials => "BadCredentials".into(),
            ConsoleError::TooManyAttempts(_) => "TooManyAttempts".into(),
            ConsoleError::CsrfRefused => "CsrfRefused".into(),
            ConsoleError::BadRequest(_) => "BadRequest".into(),
            ConsoleError::NotFound => "NotFound".into(),
            ConsoleError::Upstream(UpstreamError::Api { code, .. }) => code.clone(),
            ConsoleError::Upstream(_) => "Unreachable".into(),
        }
    }

    fn to_response(&self) -> Response<ConsoleBody> {
        let body = serde_json::json!({ "error": self.to_string(), "code": self.code() });
        let mut response = json_response(self.status(), &body);
        if let ConsoleError::TooManyAttempts(wait) = self {
            let seconds = wait.as_secs().max(1).to_string();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&seconds).expect("digits"),
            );
        }
        response
    }
}

/// What every request handler shares.
pub(crate) struct ConsoleState {
    config: ConsoleConfig,
    upstream: Upstream,
    sessions: Sessions,
    limiter: SignInLimiter,
}

/// Serves the console on `listener` until `shutdown` completes, then lets
/// requests in flight finish (at most 30 s).
pub async fn serve(
    listener: TcpListener,
    config: ConsoleConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ConsoleError> {
    let upstream = Upstream::new(&config.s3_endpoint, config.public_url.as_deref())
        .map_err(|e| ConsoleError::Config(e.to_string()))?;
    let state = Arc::new(ConsoleState {
        sessions: Sessions::new(config.session_ttl),
        limiter: SignInLimiter::new(config.sign_in_failures_allowed, config.sign_in_window),
        upstream,
        config,
    });
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "console accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let state = Arc::clone(&state);
        let service = service_fn(move |request| {
            let state = Arc::clone(&state);
            async move { Ok::<_, Infallible>(handle(&state, request, peer).await) }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "console connection ended with an error");
            }
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => {}
    }
    Ok(())
}

async fn handle(
    state: &ConsoleState,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Response<ConsoleBody> {
    let endpoint = route(request.method(), request.uri().path());
    let mut response = match respond(state, endpoint, request, peer).await {
        Ok(response) => response,
        Err(error) => {
            if error.status().is_server_error() {
                tracing::warn!(%error, "console request failed");
            }
            error.to_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn respond(
    state: &ConsoleState,
    endpoint: Endpoint,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<ConsoleBody>, ConsoleError> {
    match endpoint {
        Endpoint::Asset(path) => return assets::serve(&path, request.method()),
        Endpoint::NotFound => return Err(ConsoleError::NotFound),
        Endpoint::SignIn => return api::sign_in(state, request, peer).await,
        _ => {}
    }
    let session_id = cookie(&request, SESSION_COOKIE).ok_or(ConsoleError::SignInRequired)?;
    let session = state
        .sessions
        .get(&session_id)
        .ok_or(ConsoleError::SignInRequired)?;
    if endpoint.changes_state(request.method()) {
        let token = request
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !session.csrf_matches(token) {
            return Err(ConsoleError::CsrfRefused);
        }
    }
    api::dispatch(state, &session_id, &session, endpoint, request).await
}

/// The value of cookie `name` in the request.
fn cookie(request: &Request<Incoming>, name: &str) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub(crate) fn json_response(
    status: StatusCode,
    value: &serde_json::Value,
) -> Response<ConsoleBody> {
    let mut response = Response::new(full(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn full(bytes: Bytes) -> ConsoleBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}
