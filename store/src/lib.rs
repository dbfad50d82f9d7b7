//! minnow's storage engine: a set of drives (directories), objects striped
//! across them with Reed-Solomon erasure coding, buckets, multipart uploads,
//! listing and healing. It knows nothing of HTTP: callers use the traits in
//! [`api`] and get [`api::StoreError`] back.
#![deny(missing_docs)]
#![allow(missing_docs)] // TODO: remove once the engine lands

pub mod api;
mod drive;
mod format;
mod keys;
mod layout;
mod meta;
