//! Bucket lifecycle for minnow: the rule model (S3 XML and MinIO `mc` JSON),
//! pure evaluation (when does an object expire, when is an upload stale), and
//! the background [`Scanner`] that deletes expired objects and aborts stale
//! multipart uploads through the `store::api` traits.
//!
//! The HTTP layer parses a PutBucketLifecycleConfiguration body with
//! [`LifecycleConfiguration::from_xml`], stores [`LifecycleConfiguration::to_xml`]
//! in `BucketSetting::Lifecycle`, and answers `x-amz-expiration` with
//! [`LifecycleConfiguration::expiry`] and [`Expiry::header_value`].

#![deny(missing_docs)]

mod clock;
mod decode;
mod error;
mod eval;
mod mc_json;
mod model;
mod scanner;
mod throttle;
mod tree;
mod xml;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::LifecycleError;
pub use eval::{DayLength, Expiry, ObjectFacts};
pub use model::{
    AbortIncompleteMultipartUpload, AndFilter, Expiration, LifecycleConfiguration, LifecycleRule,
    NoncurrentVersionExpiration, NoncurrentVersionTransition, RuleFilter, RuleStatus, Tag,
    MAX_RULES, MAX_RULE_ID_LEN,
};
pub use scanner::{
    cursor_position, CycleSummary, Scanner, ScannerConfig, ScannerError, ScannerHandle,
    ScannerMetricsSnapshot, StepOutcome, CURSOR_BLOB,
};
