//! Bucket lifecycle: rule model (S3 XML and mc JSON), evaluation, and the
//! background expiry scanner.
