//! The S3 XML form: `LifecycleConfiguration::from_xml` and `to_xml`.

use std::fmt::Write as _;

use quick_xml::escape::escape;
use time::macros::format_description;

use crate::decode::{self, Source};
use crate::error::LifecycleError;
use crate::model::*;
use crate::tree;

const S3_NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

impl LifecycleConfiguration {
    /// Parses and validates a PutBucketLifecycleConfiguration body. Rules
    /// without an ID get one derived from their content (stable across
    /// parses of the same document).
    pub fn from_xml(body: &[u8]) -> Result<Self, LifecycleError> {
        let root = tree::parse_xml(body)?;
        decode::configuration(&root, Source::Xml)
    }

    /// The configuration as S3 XML (what GetBucketLifecycleConfiguration
    /// returns). `from_xml(to_xml())` gives back an equal configuration.
    pub fn to_xml(&self) -> String {
        let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        let _ = write!(out, r#"<LifecycleConfiguration xmlns="{S3_NAMESPACE}">"#);
        for rule in &self.rules {
            out.push_str(&rule_xml(rule));
        }
        out.push_str("</LifecycleConfiguration>");
        out
    }
}

/// Formats a lifecycle date the way S3 shows it: `2012-12-23T00:00:00.000Z`.
pub(crate) fn format_date(date: time::OffsetDateTime) -> String {
    date.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .unwrap_or_default()
}

fn element(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>{}</{name}>", escape(text));
}

fn tag_xml(out: &mut String, tag: &Tag) {
    out.push_str("<Tag>");
    element(out, "Key", &tag.key);
    element(out, "Value", &tag.value);
    out.push_str("</Tag>");
}

/// One `<Rule>` element (an empty ID is left out).
pub(crate) fn rule_xml(rule: &LifecycleRule) -> String {
    let mut out = String::from("<Rule>");
    if !rule.id.is_empty() {
        element(&mut out, "ID", &rule.id);
    }
    match &rule.filter {
        RuleFilter::LegacyPrefix(prefix) => element(&mut out, "Prefix", prefix),
        filter => {
            out.push_str("<Filter>");
            match filter {
                RuleFilter::LegacyPrefix(_) | RuleFilter::All => {}
                RuleFilter::Prefix(prefix) => element(&mut out, "Prefix", prefix),
                RuleFilter::Tag(tag) => tag_xml(&mut out, tag),
                RuleFilter::ObjectSizeGreaterThan(n) => {
                    element(&mut out, "ObjectSizeGreaterThan", &n.to_string())
                }
                RuleFilter::ObjectSizeLessThan(n) => {
                    element(&mut out, "ObjectSizeLessThan", &n.to_string())
                }
                RuleFilter::And(and) => {
                    out.push_str("<And>");
                    if let Some(prefix) = &and.prefix {
                        element(&mut out, "Prefix", prefix);
                    }
                    for tag in &and.tags {
                        tag_xml(&mut out, tag);
                    }
                    if let Some(n) = and.object_size_greater_than {
                        element(&mut out, "ObjectSizeGreaterThan", &n.to_string());
                    }
                    if let Some(n) = and.object_size_less_than {
                        element(&mut out, "ObjectSizeLessThan", &n.to_string());
                    }
                    out.push_str("</And>");
                }
            }
            out.push_str("</Filter>");
        }
    }
    element(&mut out, "Status", rule.status.as_str());
    if let Some(expiration) = &rule.expiration {
        out.push_str("<Expiration>");
        match expiration {
            Expiration::Days(days) => element(&mut out, "Days", &days.to_string()),
            Expiration::Date(date) => element(&mut out, "Date", &format_date(*date)),
            Expiration::ExpiredObjectDeleteMarker(marker) => {
                element(&mut out, "ExpiredObjectDeleteMarker", &marker.to_string())
            }
        }
        out.push_str("</Expiration>");
    }
    if let Some(nve) = &rule.noncurrent_version_expiration {
        out.push_str("<NoncurrentVersionExpiration>");
        if let Some(days) = nve.noncurrent_days {
            element(&mut out, "NoncurrentDays", &days.to_string());
        }
        if let Some(versions) = nve.newer_noncurrent_versions {
            element(&mut out, "NewerNoncurrentVersions", &versions.to_string());
        }
        out.push_str("</NoncurrentVersionExpiration>");
    }
    for nvt in &rule.noncurrent_version_transitions {
        out.push_str("<NoncurrentVersionTransition>");
        if let Some(days) = nvt.noncurrent_days {
            element(&mut out, "NoncurrentDays", &days.to_string());
        }
        if let Some(class) = &nvt.storage_class {
            element(&mut out, "StorageClass", class);
        }
        if let Some(versions) = nvt.newer_noncurrent_versions {
            element(&mut out, "NewerNoncurrentVersions", &versions.to_string());
        }
        out.push_str("</NoncurrentVersionTransition>");
    }
    if let Some(abort) = &rule.abort_incomplete_multipart_upload {
        out.push_str("<AbortIncompleteMultipartUpload>");
        element(
            &mut out,
            "DaysAfterInitiation",
            &abort.days_after_initiation.to_string(),
        );
        out.push_str("</AbortIncompleteMultipartUpload>");
    }
    out.push_str("</Rule>");
    out
}
