//! Bucket lifecycle for minnow: the rule model (S3 XML and MinIO `mc` JSON),
//! pure evaluation (when does an object expire, when is an upload stale), and
//! the background [`Scanner`] that deletes expired objects and aborts stale
//! multipart uploads through the `store::api` traits, and reports its last
//! cycle and the next expiries per rule ([`ScannerReport`]).
//!
//! The HTTP layer parses a PutBucketLifecycleConfiguration body with
//! [`LifecycleConfiguration::from_xml`], stores [`LifecycleConfiguration::to_xml`]
//! in `BucketSetting::Lifecycle`, and answers `x-amz-expiration` with
//! [`LifecycleConfiguration::expiry`] and [`Expiry::header_value`].
//!
//! The binary starts the worker once and stops it with the server:
//!
//! ```no_run
//! use std::sync::Arc;
//! use lifecycle::{DayLength, Scanner, ScannerConfig, ScannerHandle, SystemClock};
//! use store::api::{Catalog, MultipartStore, ObjectStore};
//!
//! fn start<S: ObjectStore + Catalog + MultipartStore + 'static>(
//!     store: Arc<S>,
//!     shutdown: tokio::sync::oneshot::Receiver<()>,
//! ) -> Result<ScannerHandle, lifecycle::LifecycleError> {
//!     let day = DayLength::default(); // the binary may shorten it for tests
//!     let scanner = Scanner::new(store, ScannerConfig::for_day(day), Arc::new(SystemClock));
//!     Ok(scanner.spawn(async move {
//!         let _ = shutdown.await;
//!     }))
//! }
//! ```
//!
//! and a GET/HEAD handler answers `x-amz-expiration`:
//!
//! ```
//! # use std::time::SystemTime;
//! # use lifecycle::{DayLength, LifecycleConfiguration, ObjectFacts};
//! let xml = br#"<LifecycleConfiguration><Rule><ID>temp-cleanup</ID>
//!     <Filter><Prefix>temp/</Prefix></Filter><Status>Enabled</Status>
//!     <Expiration><Days>7</Days></Expiration></Rule></LifecycleConfiguration>"#;
//! let config = LifecycleConfiguration::from_xml(xml).unwrap();
//! let facts = ObjectFacts {
//!     key: "temp/a.txt".into(),
//!     size: 10,
//!     tags: Default::default(),
//!     last_modified: SystemTime::now(),
//! };
//! let expiry = config.expiry(&facts, DayLength::default()).unwrap();
//! assert!(expiry.header_value().ends_with(r#"rule-id="temp-cleanup""#));
//! ```

#![deny(missing_docs)]

mod clock;
mod decode;
mod error;
mod eval;
mod forecast;
mod mc_json;
mod model;
mod scanner;
mod throttle;
mod tree;
mod xml;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::LifecycleError;
pub use eval::{DayLength, Expiry, ObjectFacts};
pub use forecast::{
    CycleTimes, DayCount, RuleForecast, ScannerReport, UpcomingExpiry, FORECAST_DAYS,
    SOONEST_PER_RULE,
};
pub use model::{
    AbortIncompleteMultipartUpload, AndFilter, Expiration, LifecycleConfiguration, LifecycleRule,
    NoncurrentVersionExpiration, NoncurrentVersionTransition, RuleFilter, RuleStatus, Tag,
    MAX_RULES, MAX_RULE_ID_LEN,
};
pub use scanner::{
    cursor_position, CycleSummary, Scanner, ScannerConfig, ScannerError, ScannerHandle,
    ScannerMetricsSnapshot, StepOutcome, CURSOR_BLOB, DEFAULT_MAX_PACE, DEFAULT_PACE_FACTOR,
};
