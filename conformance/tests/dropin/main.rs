//! MinIO drop-in: what clients written for MinIO send, against the real
//! `minnow` binary. Signature Version 2 (hand-signed, and from boto3 and
//! AWS CLI v1 in `conformance/clients/`), and MinIO's S3 extensions
//! (force-delete of a prefix, listings with metadata, listen requests that
//! must answer 501 rather than another operation's body); MinIO's admin API
//! as minio-py's `MinioAdmin` drives it; the container image run as a MinIO
//! compose service, MinIO's environment variables, and minio-js; browser-form
//! uploads (POST Object) from boto3, minio-js and a real browser.

mod docker_image;
mod graceful_stop;
mod minio_admin;
mod minio_environment;
mod minio_extensions;
mod minio_js;
mod post_forms;
mod python_clients;
mod sigv2;
