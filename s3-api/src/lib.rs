//! minnow's S3 HTTP API: routing, SigV4, aws-chunked bodies, XML, handlers,
//! and the server plumbing the `minnow` binary starts.
//!
//! Request flow: `server` accepts a connection and hands each request to
//! [`handlers::handle`], which sends CDN host names to `cdn` and the admin
//! APIs to `admin` (MinIO's `/minio/admin/v3/` to `admin::minio_v3`), else
//! authenticates it (`auth`), routes it (`router`),
//! authorizes it (the `iam` crate), runs the handler against the storage
//! traits, and renders any failure through `error` — the only place store
//! and auth errors become S3 error codes.

pub mod admin;
pub mod auth;
pub mod cdn;
pub mod error;
pub mod handlers;
pub mod health;
pub mod metrics;
pub mod router;
pub mod server;
pub mod xml;

/// The identity crate, re-exported so the binary and tests reach users and
/// policies through the server library they start.
pub use iam;

/// Request signatures are checked against the secrets the identity crate
/// unsealed (root and enabled users).
impl<C: store::api::Catalog + 'static> auth::SecretLookup for iam::Iam<C> {
    fn secret_key(&self, access_key: &str) -> Option<String> {
        iam::Iam::secret_key(self, access_key)
    }
}

/// The body type of every response minnow sends.
pub type ResponseBody = http_body_util::combinators::BoxBody<bytes::Bytes, BoxError>;

/// A boxed error for response bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[cfg(test)]
mod fuzz_tests;
