//! minnow benchmarks and the minnow-bench load generator.
