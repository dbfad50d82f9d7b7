//! minnow's identities and access decisions: the root credentials, users with
//! their attached policies and secrets sealed at rest (`iam.json`, a system
//! blob over the `store::api` traits), and the AWS policy model with its
//! evaluation (`policy`, pure: no I/O, tested without HTTP). It knows nothing
//! of requests; `s3-api` authenticates a request, then asks [`Iam`] to decide.

#![deny(missing_docs)]

pub mod policy;
mod users;

pub use users::*;
