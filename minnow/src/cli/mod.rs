//! The management commands (`bucket`, `user`, `policy`, `heal`, `admin`): each parses
//! its flags, talks to a running server over the S3 and admin APIs through
//! [`crate::client`], and prints a table or `--json`. None opens the drives.

pub mod admin;
pub mod bucket;
pub mod heal;
pub mod policy;
pub mod user;
