//! Pure rule evaluation: when does an object expire, when is a multipart
//! upload abandoned. No I/O and no clock: the caller passes the facts and the
//! day length, and compares the answer with its own "now".

use std::collections::BTreeMap;
use std::num::NonZeroU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::macros::format_description;
use time::OffsetDateTime;

use crate::model::*;

/// The length of a lifecycle "day". S3 counts in days of 86,400 s and rounds
/// to midnight UTC; tests shrink the day (the binary reads
/// `MINNOW_LIFECYCLE_DAY_SECONDS`) so that "Days: 1" passes in a second. "Midnight" is then the next multiple of
/// the day length since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DayLength(NonZeroU64);

impl Default for DayLength {
    fn default() -> Self {
        Self::from_secs(86_400)
    }
}

impl DayLength {
    /// A day of `secs` seconds; 0 is taken as 1.
    pub const fn from_secs(secs: u64) -> Self {
        match NonZeroU64::new(secs) {
            Some(secs) => Self(secs),
            None => Self(NonZeroU64::MIN),
        }
    }

    /// The day in seconds.
    pub fn as_secs(self) -> u64 {
        self.0.get()
    }

    /// The day as a `Duration`.
    pub fn as_duration(self) -> Duration {
        Duration::from_secs(self.as_secs())
    }

    /// The first "midnight" strictly after `start + days` days: S3 (and
    /// MinIO) round the expiry up to the next day boundary, so an object
    /// created exactly at midnight still gets `days` full days and expires at
    /// the following midnight. `None` if that lies beyond what can be
    /// represented (it never comes).
    pub fn boundary_after(self, start: SystemTime, days: u32) -> Option<SystemTime> {
        let day = self.as_secs();
        let start_secs = start
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let deadline = start_secs.checked_add(u64::from(days).checked_mul(day)?)?;
        let boundary = (deadline / day).checked_add(1)?.checked_mul(day)?;
        UNIX_EPOCH.checked_add(Duration::from_secs(boundary))
    }
}

/// What evaluation needs to know about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFacts {
    /// The object key.
    pub key: String,
    /// The object size in bytes.
    pub size: u64,
    /// The object's tags.
    pub tags: BTreeMap<String, String>,
    /// When the object was last written (its creation, for S3).
    pub last_modified: SystemTime,
}

impl From<&store::api::ObjectInfo> for ObjectFacts {
    fn from(info: &store::api::ObjectInfo) -> Self {
        Self {
            key: info.key.clone(),
            size: info.size,
            tags: info.attributes.tags.clone(),
            last_modified: info.last_modified,
        }
    }
}

/// When an object expires and which rule says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    /// When the object expires.
    pub at: SystemTime,
    /// The ID of the rule that expires it.
    pub rule_id: String,
}

impl Expiry {
    /// The `x-amz-expiration` header value, e.g.
    /// `expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"`.
    pub fn header_value(&self) -> String {
        let date = OffsetDateTime::from(self.at)
            .format(format_description!(
                "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
            ))
            .unwrap_or_default();
        format!("expiry-date=\"{date}\", rule-id=\"{}\"", self.rule_id)
    }
}

impl RuleFilter {
    /// Whether an object with this key, size and tags is selected.
    pub fn matches_object(&self, key: &str, size: u64, tags: &BTreeMap<String, String>) -> bool {
        let has_tag = |tag: &Tag| tags.get(&tag.key) == Some(&tag.value);
        match self {
            Self::All => true,
            Self::LegacyPrefix(prefix) | Self::Prefix(prefix) => key.starts_with(prefix.as_str()),
            Self::Tag(tag) => has_tag(tag),
            Self::ObjectSizeGreaterThan(n) => size > *n,
            Self::ObjectSizeLessThan(n) => size < *n,
            Self::And(and) => {
                and.prefix.as_deref().is_none_or(|p| key.starts_with(p))
                    && and.tags.iter().all(has_tag)
                    && and.object_size_greater_than.is_none_or(|n| size > n)
                    && and.object_size_less_than.is_none_or(|n| size < n)
            }
        }
    }

    /// Whether an in-progress upload of `key` is selected. An upload has no
    /// size or tags yet, so filters with size conditions never select one
    /// (tag filters are refused with AbortIncompleteMultipartUpload).
    pub fn matches_upload(&self, key: &str) -> bool {
        !self.has_tag_conditions() && !self.has_size_conditions() && key.starts_with(self.prefix())
    }
}

impl LifecycleRule {
    /// When this rule expires the object, ignoring status.
    pub fn object_expiry_time(&self, facts: &ObjectFacts, day: DayLength) -> Option<SystemTime> {
        let at = match self.expiration? {
            Expiration::Days(days) => day.boundary_after(facts.last_modified, days)?,
            Expiration::Date(date) => SystemTime::from(date),
            Expiration::ExpiredObjectDeleteMarker(_) => return None,
        };
        self.filter
            .matches_object(&facts.key, facts.size, &facts.tags)
            .then_some(at)
    }
}

impl LifecycleConfiguration {
    /// When the object expires under the enabled rules: the earliest expiry
    /// of all rules that match (the first such rule on a tie). Whether that
    /// moment has come is the caller's comparison.
    pub fn expiry(&self, facts: &ObjectFacts, day: DayLength) -> Option<Expiry> {
        let mut earliest: Option<Expiry> = None;
        for rule in self.rules.iter().filter(|r| r.is_enabled()) {
            if let Some(at) = rule.object_expiry_time(facts, day) {
                if earliest.as_ref().is_none_or(|e| at < e.at) {
                    earliest = Some(Expiry {
                        at,
                        rule_id: rule.id.clone(),
                    });
                }
            }
        }
        earliest
    }

    /// When an upload of `key` started at `initiated` should be aborted, and
    /// the rule that says so (earliest wins, as for expiry).
    pub fn abort_upload_at(
        &self,
        key: &str,
        initiated: SystemTime,
        day: DayLength,
    ) -> Option<(SystemTime, String)> {
        let mut earliest: Option<(SystemTime, String)> = None;
        for rule in self.rules.iter().filter(|r| r.is_enabled()) {
            let Some(abort) = rule.abort_incomplete_multipart_upload else {
                continue;
            };
            if !rule.filter.matches_upload(key) {
                continue;
            }
            let Some(at) = day.boundary_after(initiated, abort.days_after_initiation) else {
                continue;
            };
            if earliest.as_ref().is_none_or(|(e, _)| at < *e) {
                earliest = Some((at, rule.id.clone()));
            }
        }
        earliest
    }

    /// Whether any enabled rule can delete objects.
    pub fn has_enabled_expiration(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.is_enabled() && r.expires_objects())
    }

    /// Whether any enabled rule can abort multipart uploads.
    pub fn has_enabled_upload_abort(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.is_enabled() && r.abort_incomplete_multipart_upload.is_some())
    }

    /// The key prefixes an expiring rule can select, sorted, with any prefix
    /// covered by a shorter one removed (`[""]` when some rule has none).
    /// Keys outside them can never expire, so the scanner lists only these.
    pub fn expiration_prefixes(&self) -> Vec<String> {
        let mut prefixes: Vec<&str> = self
            .rules
            .iter()
            .filter(|r| r.is_enabled() && r.expires_objects())
            .map(|r| r.filter.prefix())
            .collect();
        prefixes.sort_unstable();
        let mut minimal: Vec<String> = Vec::new();
        for prefix in prefixes {
            // In sorted order, a prefix covered by a kept one comes right
            // after it (or after others it also covers).
            if minimal
                .last()
                .is_none_or(|kept| !prefix.starts_with(kept.as_str()))
            {
                minimal.push(prefix.to_owned());
            }
        }
        minimal
    }

    /// Whether deciding on `key` needs its tags: some enabled expiring rule
    /// has a tag condition and a prefix `key` matches. Listings carry no tags,
    /// so the scanner reads them only when this says so.
    pub fn expiry_needs_tags(&self, key: &str) -> bool {
        self.rules.iter().any(|r| {
            r.is_enabled()
                && r.expires_objects()
                && r.filter.has_tag_conditions()
                && key.starts_with(r.filter.prefix())
        })
    }
}
