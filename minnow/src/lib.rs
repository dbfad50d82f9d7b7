//! The reusable half of the `minnow` binary: the SigV4-signing HTTP client
//! its management commands use to reach a running server (S3 bucket calls,
//! the admin API) and their shared connection flags. It is a library so
//! end-to-end tests drive a server exactly as the CLI does; the server lives
//! in `s3-api`, and server settings are read in the binary's `config`.

pub mod client;
