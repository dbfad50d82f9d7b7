//! The client side of the S3 wire that minnow's own tools share (the web
//! console's signing proxy and the CLI): SigV4 signing of requests and
//! presigned URLs ([`sign`]), SigV4 path and query encoding ([`encode`]),
//! the response and error documents they read ([`xml`]) and multipart part sizing
//! ([`parts`]). No HTTP client: each tool keeps its own transport.
#![deny(missing_docs)]

pub mod encode;
pub mod parts;
pub mod sign;
pub mod xml;
