//! The management commands (`bucket`, `user`, `policy`, `heal`, `admin`): each parses
//! its flags, talks to a running server over the S3 and admin APIs through
//! [`crate::client`], and prints a table or `--json`. None opens the drives.
//! `healthcheck` is the container probe (liveness over plain HTTP).

pub mod admin;
pub mod bucket;
pub mod heal;
pub mod healthcheck;
pub mod policy;
pub mod user;
