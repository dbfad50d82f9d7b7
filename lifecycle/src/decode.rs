//! Turns an element tree (from XML or mc JSON) into a validated
//! `LifecycleConfiguration`, refusing what S3 refuses with the error S3 gives.

use std::collections::{BTreeSet, HashSet};

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, Time, UtcOffset};

use crate::error::{invalid_argument, invalid_request, malformed, LifecycleError};
use crate::model::*;
use crate::tree::Node;

/// Where the tree came from: mc JSON omits an empty filter, XML must say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Xml,
    McJson,
}

const RULE_CHILDREN: &[&str] = &[
    "ID",
    "Status",
    "Filter",
    "Prefix",
    "Expiration",
    "Transition",
    "NoncurrentVersionExpiration",
    "NoncurrentVersionTransition",
    "AbortIncompleteMultipartUpload",
];
const FILTER_CHILDREN: &[&str] = &[
    "Prefix",
    "Tag",
    "And",
    "ObjectSizeGreaterThan",
    "ObjectSizeLessThan",
];
const AND_CHILDREN: &[&str] = &[
    "Prefix",
    "Tag",
    "ObjectSizeGreaterThan",
    "ObjectSizeLessThan",
];

pub(crate) fn configuration(
    root: &Node,
    source: Source,
) -> Result<LifecycleConfiguration, LifecycleError> {
    if root.name != "LifecycleConfiguration" {
        return Err(malformed(format!(
            "the root element must be <LifecycleConfiguration>, not <{}>",
            root.name
        )));
    }
    root.expect_only(&["Rule"])?;
    let rule_nodes: Vec<&Node> = root.all("Rule").collect();
    if rule_nodes.is_empty() {
        return Err(malformed(
            "a lifecycle configuration needs at least one <Rule>",
        ));
    }
    if rule_nodes.len() > MAX_RULES {
        return Err(invalid_request(format!(
            "a lifecycle configuration has at most {MAX_RULES} rules, this one has {}",
            rule_nodes.len()
        )));
    }
    let mut rules = rule_nodes
        .into_iter()
        .map(|node| rule(node, source))
        .collect::<Result<Vec<_>, _>>()?;
    assign_ids(&mut rules)?;
    Ok(LifecycleConfiguration { rules })
}

/// Checks explicit IDs are unique, then gives ID-less rules an ID derived
/// from their content: parsing the same document twice gives the same IDs,
/// so a stored document keeps naming its rules the same way.
fn assign_ids(rules: &mut [LifecycleRule]) -> Result<(), LifecycleError> {
    let mut taken = HashSet::new();
    for rule in rules.iter().filter(|r| !r.id.is_empty()) {
        // S3 answers InvalidArgument for a repeated ID.
        if !taken.insert(rule.id.clone()) {
            return Err(invalid_argument(format!(
                "rule ID must be unique, found {:?} more than once",
                rule.id
            )));
        }
    }
    for rule in rules.iter_mut().filter(|r| r.id.is_empty()) {
        let base = format!("{:016x}", fnv1a(crate::xml::rule_xml(rule).as_bytes()));
        let mut candidate = base.clone();
        let mut n = 2;
        while taken.contains(&candidate) {
            candidate = format!("{base}-{n}");
            n += 1;
        }
        taken.insert(candidate.clone());
        rule.id = candidate;
    }
    Ok(())
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn rule(node: &Node, source: Source) -> Result<LifecycleRule, LifecycleError> {
    node.expect_only(RULE_CHILDREN)?;

    let id = node.child_text("ID")?.unwrap_or("").to_owned();
    if id.chars().count() > MAX_RULE_ID_LEN {
        return Err(invalid_argument(format!(
            "rule ID is longer than {MAX_RULE_ID_LEN} characters"
        )));
    }

    let status = match node.required_text("Status")?.trim() {
        "Enabled" => RuleStatus::Enabled,
        "Disabled" => RuleStatus::Disabled,
        // A value outside the schema's enumeration: MalformedXML, as S3.
        other => {
            return Err(malformed(format!(
                "rule status must be Enabled or Disabled, not {other:?}"
            )))
        }
    };

    let filter = match (node.single("Filter")?, node.single("Prefix")?) {
        (Some(_), Some(_)) => {
            return Err(malformed("a rule cannot have both <Filter> and <Prefix>"))
        }
        (None, Some(prefix)) => RuleFilter::LegacyPrefix(prefix.leaf_text()?.to_owned()),
        (Some(filter_node), None) => filter(filter_node)?,
        (None, None) if source == Source::McJson => RuleFilter::All,
        (None, None) => return Err(malformed("a rule needs a <Filter> or a <Prefix>")),
    };

    let expiration = node.single("Expiration")?.map(expiration).transpose()?;
    let abort_incomplete_multipart_upload = node
        .single("AbortIncompleteMultipartUpload")?
        .map(|abort| {
            abort.expect_only(&["DaysAfterInitiation"])?;
            let days = positive_days(
                "DaysAfterInitiation",
                abort.required_text("DaysAfterInitiation")?,
            )?;
            Ok::<_, LifecycleError>(AbortIncompleteMultipartUpload {
                days_after_initiation: days,
            })
        })
        .transpose()?;
    let noncurrent_version_expiration = node
        .single("NoncurrentVersionExpiration")?
        .map(|n| {
            n.expect_only(&["NoncurrentDays", "NewerNoncurrentVersions"])?;
            Ok::<_, LifecycleError>(NoncurrentVersionExpiration {
                noncurrent_days: optional_days(n, "NoncurrentDays")?,
                newer_noncurrent_versions: optional_days(n, "NewerNoncurrentVersions")?,
            })
        })
        .transpose()?;
    let noncurrent_version_transitions = node
        .all("NoncurrentVersionTransition")
        .map(|n| {
            n.expect_only(&["NoncurrentDays", "StorageClass", "NewerNoncurrentVersions"])?;
            Ok(NoncurrentVersionTransition {
                noncurrent_days: optional_days(n, "NoncurrentDays")?,
                storage_class: n.child_text("StorageClass")?.map(str::to_owned),
                newer_noncurrent_versions: optional_days(n, "NewerNoncurrentVersions")?,
            })
        })
        .collect::<Result<Vec<_>, LifecycleError>>()?;

    if node.single("Transition")?.is_some() {
        return Err(invalid_request(
            "Transition is not supported: minnow has a single storage class",
        ));
    }
    if expiration.is_none()
        && abort_incomplete_multipart_upload.is_none()
        && noncurrent_version_expiration.is_none()
        && noncurrent_version_transitions.is_empty()
    {
        return Err(invalid_request(
            "at least one action needs to be specified in a rule",
        ));
    }
    if abort_incomplete_multipart_upload.is_some() && filter.has_tag_conditions() {
        return Err(invalid_request(
            "a tag-based filter cannot be used with the AbortIncompleteMultipartUpload action",
        ));
    }

    Ok(LifecycleRule {
        id,
        status,
        filter,
        expiration,
        abort_incomplete_multipart_upload,
        noncurrent_version_expiration,
        noncurrent_version_transitions,
    })
}

fn filter(node: &Node) -> Result<RuleFilter, LifecycleError> {
    node.expect_only(FILTER_CHILDREN)?;
    let condition = match node.children.as_slice() {
        [] => return Ok(RuleFilter::All),
        [one] => one,
        _ => {
            return Err(malformed(
                "<Filter> takes exactly one of Prefix, Tag, And, ObjectSizeGreaterThan, ObjectSizeLessThan",
            ))
        }
    };
    Ok(match condition.name.as_str() {
        "Prefix" => RuleFilter::Prefix(condition.leaf_text()?.to_owned()),
        "Tag" => RuleFilter::Tag(tag(condition)?),
        "ObjectSizeGreaterThan" => RuleFilter::ObjectSizeGreaterThan(size(condition)?),
        "ObjectSizeLessThan" => RuleFilter::ObjectSizeLessThan(size_upper_bound(condition)?),
        _ => RuleFilter::And(and(condition)?),
    })
}

fn and(node: &Node) -> Result<AndFilter, LifecycleError> {
    node.expect_only(AND_CHILDREN)?;
    let and = AndFilter {
        prefix: node.child_text("Prefix")?.map(str::to_owned),
        tags: node.all("Tag").map(tag).collect::<Result<_, _>>()?,
        object_size_greater_than: node
            .single("ObjectSizeGreaterThan")?
            .map(size)
            .transpose()?,
        object_size_less_than: node
            .single("ObjectSizeLessThan")?
            .map(size_upper_bound)
            .transpose()?,
    };
    if and.prefix.is_none()
        && and.tags.is_empty()
        && and.object_size_greater_than.is_none()
        && and.object_size_less_than.is_none()
    {
        return Err(malformed("<And> needs at least one condition"));
    }
    let mut keys = BTreeSet::new();
    if let Some(duplicate) = and.tags.iter().find(|t| !keys.insert(t.key.as_str())) {
        return Err(invalid_request(format!(
            "duplicate tag keys are not allowed: {:?}",
            duplicate.key
        )));
    }
    if let (Some(greater), Some(less)) = (and.object_size_greater_than, and.object_size_less_than) {
        if greater >= less {
            return Err(invalid_argument(
                "ObjectSizeLessThan must be greater than ObjectSizeGreaterThan",
            ));
        }
    }
    Ok(and)
}

fn tag(node: &Node) -> Result<Tag, LifecycleError> {
    node.expect_only(&["Key", "Value"])?;
    let key = node.required_text("Key")?;
    let value = node.required_text("Value")?;
    if key.is_empty() || key.chars().count() > 128 {
        return Err(invalid_argument("a tag key must be 1 to 128 characters"));
    }
    if value.chars().count() > 256 {
        return Err(invalid_argument(
            "a tag value must be at most 256 characters",
        ));
    }
    Ok(Tag {
        key: key.to_owned(),
        value: value.to_owned(),
    })
}

fn integer(name: &str, text: &str) -> Result<i64, LifecycleError> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| malformed(format!("<{name}> must be an integer, not {text:?}")))
}

fn size(node: &Node) -> Result<u64, LifecycleError> {
    let text = node.leaf_text()?;
    if let Ok(size) = text.trim().parse::<u64>() {
        return Ok(size);
    }
    integer(&node.name, text)?;
    Err(invalid_argument(format!(
        "{} must not be negative",
        node.name
    )))
}

fn size_upper_bound(node: &Node) -> Result<u64, LifecycleError> {
    match size(node)? {
        0 => Err(invalid_argument(format!(
            "{} must be greater than 0",
            node.name
        ))),
        n => Ok(n),
    }
}

fn positive_days(name: &str, text: &str) -> Result<u32, LifecycleError> {
    let value = integer(name, text)?;
    if value <= 0 {
        return Err(invalid_argument(format!(
            "'{name}' must be a positive integer, not {value}"
        )));
    }
    u32::try_from(value).map_err(|_| invalid_argument(format!("'{name}' is too large: {value}")))
}

fn optional_days(node: &Node, name: &str) -> Result<Option<u32>, LifecycleError> {
    node.child_text(name)?
        .map(|text| positive_days(name, text))
        .transpose()
}

fn expiration(node: &Node) -> Result<Expiration, LifecycleError> {
    node.expect_only(&["Days", "Date", "ExpiredObjectDeleteMarker"])?;
    let days = node.child_text("Days")?;
    let date = node.child_text("Date")?;
    let marker = node.child_text("ExpiredObjectDeleteMarker")?;
    match (days, date, marker) {
        (Some(_), Some(_), _) => Err(malformed("<Expiration> cannot have both <Days> and <Date>")),
        (Some(_), None, Some(_)) | (None, Some(_), Some(_)) => Err(malformed(
            "<ExpiredObjectDeleteMarker> cannot be specified with <Days> or <Date>",
        )),
        (Some(days), None, None) => Ok(Expiration::Days(positive_days("Days", days)?)),
        (None, Some(date), None) => Ok(Expiration::Date(midnight_date(date)?)),
        (None, None, Some(marker)) => match marker.trim() {
            "true" => Ok(Expiration::ExpiredObjectDeleteMarker(true)),
            "false" => Ok(Expiration::ExpiredObjectDeleteMarker(false)),
            other => Err(malformed(format!(
                "<ExpiredObjectDeleteMarker> must be true or false, not {other:?}"
            ))),
        },
        (None, None, None) => Err(malformed(
            "<Expiration> needs <Days>, <Date> or <ExpiredObjectDeleteMarker>",
        )),
    }
}

/// Parses an ISO 8601 date-time (or a plain date) that must be midnight UTC.
fn midnight_date(text: &str) -> Result<OffsetDateTime, LifecycleError> {
    let text = text.trim();
    let parsed = OffsetDateTime::parse(text, &Rfc3339).or_else(|_| {
        time::Date::parse(text, format_description!("[year]-[month]-[day]"))
            .map(|date| date.with_time(Time::MIDNIGHT).assume_utc())
    });
    let date = parsed
        .map_err(|_| malformed(format!("<Date> is not an ISO 8601 date: {text:?}")))?
        .to_offset(UtcOffset::UTC);
    if date.time() != Time::MIDNIGHT {
        return Err(invalid_argument("'Date' must be at midnight GMT"));
    }
    Ok(date)
}
