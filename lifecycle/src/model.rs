//! The lifecycle configuration model: what PutBucketLifecycleConfiguration
//! carries, after validation. Parsing lives in `decode` (shared by XML and
//! JSON), writing in `xml` and `mc_json`, evaluation in `eval`.

use time::OffsetDateTime;

/// Most rules S3 accepts in one configuration.
pub const MAX_RULES: usize = 1000;
/// Longest rule ID S3 accepts, in characters.
pub const MAX_RULE_ID_LEN: usize = 255;

/// A bucket's lifecycle configuration: one or more rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleConfiguration {
    /// The rules in document order (1 to [`MAX_RULES`]).
    pub rules: Vec<LifecycleRule>,
}

/// One `<Rule>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleRule {
    /// Unique within the configuration; generated when the client sent none.
    pub id: String,
    /// `Enabled` or `Disabled`.
    pub status: RuleStatus,
    /// Which objects the rule selects.
    pub filter: RuleFilter,
    /// `<Expiration>`: when selected objects are deleted.
    pub expiration: Option<Expiration>,
    /// `<AbortIncompleteMultipartUpload>`: when uploads are abandoned.
    pub abort_incomplete_multipart_upload: Option<AbortIncompleteMultipartUpload>,
    /// Kept so the configuration reads back as written; minnow has no
    /// versioning, so it never acts.
    pub noncurrent_version_expiration: Option<NoncurrentVersionExpiration>,
    /// Kept so the configuration reads back as written; never acts.
    pub noncurrent_version_transitions: Vec<NoncurrentVersionTransition>,
}

/// `<Status>`: only enabled rules act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleStatus {
    /// The rule acts.
    Enabled,
    /// The rule is kept but does nothing.
    Disabled,
}

impl RuleStatus {
    /// The XML/JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "Enabled",
            Self::Disabled => "Disabled",
        }
    }
}

/// Which objects a rule applies to. Each form is kept as written so that
/// `to_xml` gives back the same document shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleFilter {
    /// The legacy `<Prefix>` directly under `<Rule>`.
    LegacyPrefix(String),
    /// `<Filter></Filter>`: every object.
    All,
    /// `<Filter><Prefix>..</Prefix></Filter>`.
    Prefix(String),
    /// `<Filter><Tag>..</Tag></Filter>`.
    Tag(Tag),
    /// `<Filter><ObjectSizeGreaterThan>..</ObjectSizeGreaterThan></Filter>`: size > n.
    ObjectSizeGreaterThan(u64),
    /// `<Filter><ObjectSizeLessThan>..</ObjectSizeLessThan></Filter>`: size < n.
    ObjectSizeLessThan(u64),
    /// `<Filter><And>..</And></Filter>`: every listed condition holds.
    And(AndFilter),
}

/// An object tag condition: the object has tag `key` with exactly `value`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag {
    /// The tag key (1 to 128 characters).
    pub key: String,
    /// The exact value the tag must have.
    pub value: String,
}

/// `<And>`: a conjunction of conditions (at least one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AndFilter {
    /// Keys must start with this.
    pub prefix: Option<String>,
    /// Every listed tag must be on the object.
    pub tags: Vec<Tag>,
    /// The object must be strictly larger.
    pub object_size_greater_than: Option<u64>,
    /// The object must be strictly smaller.
    pub object_size_less_than: Option<u64>,
}

/// `<Expiration>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiration {
    /// Expire this many days after creation, rounded up to the next midnight.
    Days(u32),
    /// Expire every matching object from this midnight (UTC) on.
    Date(OffsetDateTime),
    /// Only meaningful with versioning; accepted, kept, never acts.
    ExpiredObjectDeleteMarker(bool),
}

/// `<AbortIncompleteMultipartUpload>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortIncompleteMultipartUpload {
    /// Days after initiation, rounded up to the next midnight like expiry.
    pub days_after_initiation: u32,
}

/// `<NoncurrentVersionExpiration>` (accepted and ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoncurrentVersionExpiration {
    /// `<NoncurrentDays>`.
    pub noncurrent_days: Option<u32>,
    /// `<NewerNoncurrentVersions>`.
    pub newer_noncurrent_versions: Option<u32>,
}

/// `<NoncurrentVersionTransition>` (accepted and ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoncurrentVersionTransition {
    /// `<NoncurrentDays>`.
    pub noncurrent_days: Option<u32>,
    /// `<StorageClass>`.
    pub storage_class: Option<String>,
    /// `<NewerNoncurrentVersions>`.
    pub newer_noncurrent_versions: Option<u32>,
}

impl LifecycleRule {
    /// Whether the rule acts (`Status` is `Enabled`).
    pub fn is_enabled(&self) -> bool {
        self.status == RuleStatus::Enabled
    }

    /// Whether the rule deletes current objects (Days or Date expiration).
    pub fn expires_objects(&self) -> bool {
        matches!(
            self.expiration,
            Some(Expiration::Days(_) | Expiration::Date(_))
        )
    }
}

impl RuleFilter {
    /// The key prefix every matching object has (`""` when none).
    pub fn prefix(&self) -> &str {
        match self {
            Self::LegacyPrefix(p) | Self::Prefix(p) => p,
            Self::And(and) => and.prefix.as_deref().unwrap_or(""),
            Self::All
            | Self::Tag(_)
            | Self::ObjectSizeGreaterThan(_)
            | Self::ObjectSizeLessThan(_) => "",
        }
    }

    /// Whether matching needs the object's tags.
    pub fn has_tag_conditions(&self) -> bool {
        match self {
            Self::Tag(_) => true,
            Self::And(and) => !and.tags.is_empty(),
            _ => false,
        }
    }

    /// Whether matching needs the object's size.
    pub fn has_size_conditions(&self) -> bool {
        match self {
            Self::ObjectSizeGreaterThan(_) | Self::ObjectSizeLessThan(_) => true,
            Self::And(and) => {
                and.object_size_greater_than.is_some() || and.object_size_less_than.is_some()
            }
            _ => false,
        }
    }
}
