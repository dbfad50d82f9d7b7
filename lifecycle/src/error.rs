//! `LifecycleError`: why a lifecycle configuration was refused. The variants
//! follow the S3 error codes a PutBucketLifecycleConfiguration answers with;
//! `s3-api/src/error.rs` maps them to codes and statuses.

/// A lifecycle configuration that could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LifecycleError {
    /// Unparsable XML, unknown or duplicated elements, missing required
    /// elements, or elements that exclude each other (S3 `MalformedXML`).
    #[error("malformed lifecycle configuration: {0}")]
    MalformedXml(String),
    /// The mc JSON document is not JSON or not shaped like `{"Rules":[...]}`.
    /// Rule-level problems in JSON use the same variants as XML.
    #[error("malformed lifecycle JSON: {0}")]
    MalformedJson(String),
    /// A value is out of range (S3 `InvalidArgument`).
    #[error("invalid lifecycle argument: {0}")]
    InvalidArgument(String),
    /// The rules are well-formed but contradict each other or S3's rules
    /// (S3 `InvalidRequest`).
    #[error("invalid lifecycle request: {0}")]
    InvalidRequest(String),
}

pub(crate) fn malformed(message: impl Into<String>) -> LifecycleError {
    LifecycleError::MalformedXml(message.into())
}

pub(crate) fn invalid_argument(message: impl Into<String>) -> LifecycleError {
    LifecycleError::InvalidArgument(message.into())
}

pub(crate) fn invalid_request(message: impl Into<String>) -> LifecycleError {
    LifecycleError::InvalidRequest(message.into())
}
