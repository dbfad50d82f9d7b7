//! TestServer helper for minnow end-to-end tests.
