//! minnow benchmarks: the `minnow-bench` load generator (any S3 endpoint),
//! its baselines (raw disk for writes, nginx as the HTTP floor for reads),
//! the benchmark matrix behind `make bench`, the heal-pacing benchmark
//! (`healpace`), and the in-process engine benchmark (feature `engine`).

#[cfg(feature = "engine")]
pub mod engine;
pub mod healpace;
pub mod load;
pub mod matrix;
pub mod nginx;
pub mod payload;
pub mod procstat;
pub mod rawdisk;
pub mod report;
pub mod s3client;
pub mod server;
pub mod sizes;
