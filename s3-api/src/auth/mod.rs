//! Request authentication (being written).

/// Why a request failed authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// 403 AccessDenied.
    #[error("access denied: {0}")]
    AccessDenied(String),
}
