//! The JSON form MinIO's `mc ilm export` writes and `mc ilm import` reads:
//! `{"Rules":[{"ID":..,"Status":..,"Filter":{..},"Expiration":{..}}]}`.
//!
//! mc is written in Go and older releases print zero values (`"Days":0`,
//! `"Date":"0001-01-01T00:00:00Z"`, `"And":{}`) for absent fields, so the
//! reader treats Go zero values as absent, then validates exactly like XML.

use serde_json::{json, Map, Value};

use crate::decode::{self, Source};
use crate::error::LifecycleError;
use crate::model::*;
use crate::tree::Node;

/// MinIO-only fields with no meaning without versioning or compression.
const IGNORED_KEYS: &[&str] = &[
    "DelMarkerExpiration",
    "AllVersionsExpiration",
    "ExpiredObjectAllVersions",
    "Compression",
    "NoncurrentVersionCompression",
];
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl LifecycleConfiguration {
    /// Parses and validates an `mc ilm export` / `mc ilm import` document.
    /// A rule without `Filter` and `Prefix` applies to every object (mc omits
    /// an empty filter); conditions mc writes side by side in `Filter` are
    /// read as an `And`.
    pub fn from_mc_json(body: &[u8]) -> Result<Self, LifecycleError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| LifecycleError::MalformedJson(e.to_string()))?;
        let Value::Object(top) = value else {
            return Err(LifecycleError::MalformedJson(
                "expected an object with \"Rules\"".into(),
            ));
        };
        let mut root = Node::new("LifecycleConfiguration");
        match top.get("Rules") {
            None | Some(Value::Null) => {}
            Some(Value::Array(rules)) => {
                for rule in rules {
                    if !rule.is_object() {
                        return Err(LifecycleError::MalformedJson(
                            "each entry of \"Rules\" must be an object".into(),
                        ));
                    }
                    let mut node = to_node("Rule", rule).unwrap_or_else(|| Node::new("Rule"));
                    fold_filter_conditions(&mut node);
                    root.children.push(node);
                }
            }
            Some(_) => {
                return Err(LifecycleError::MalformedJson(
                    "\"Rules\" must be an array".into(),
                ))
            }
        }
        decode::configuration(&root, Source::McJson)
    }

    /// The configuration as mc JSON (what `mc ilm export` prints).
    pub fn to_mc_json(&self) -> String {
        let rules: Vec<Value> = self.rules.iter().map(rule_json).collect();
        json!({ "Rules": rules }).to_string()
    }
}

/// Converts a JSON value to an element, or `None` for a Go zero value.
/// Arrays become repeated children named in the singular (`Tags` → `Tag`).
fn to_node(name: &str, value: &Value) -> Option<Node> {
    match value {
        Value::Null | Value::Bool(false) => None,
        Value::Bool(true) => Some(Node::leaf(name, "true")),
        Value::Number(n) if n.as_f64() == Some(0.0) => None,
        Value::Number(n) => Some(Node::leaf(name, n.to_string())),
        Value::String(s) if s.is_empty() || s == GO_ZERO_TIME => None,
        Value::String(s) => Some(Node::leaf(name, s.clone())),
        // A bare array only occurs as an object member, handled below.
        Value::Array(_) => None,
        Value::Object(members) => {
            let mut node = Node::new(name);
            for (key, member) in members {
                if IGNORED_KEYS.contains(&key.as_str()) {
                    continue;
                }
                match member {
                    Value::Array(items) => {
                        let item_name = match key.as_str() {
                            "Tags" => "Tag",
                            "Rules" => "Rule",
                            other => other,
                        };
                        node.children
                            .extend(items.iter().filter_map(|item| to_node(item_name, item)));
                    }
                    _ => node.children.extend(to_node(key, member)),
                }
            }
            (!node.children.is_empty()).then_some(node)
        }
    }
}

/// mc keeps `Prefix`, `Tag` and the size bounds as siblings inside `Filter`;
/// when several are set they all apply, which XML spells `<And>`.
fn fold_filter_conditions(rule: &mut Node) {
    let Some(filter) = rule.children.iter_mut().find(|c| c.name == "Filter") else {
        return;
    };
    if filter.children.len() < 2 {
        return;
    }
    let mut and = Node::new("And");
    for condition in std::mem::take(&mut filter.children) {
        if condition.name == "And" {
            and.children.extend(condition.children);
        } else {
            and.children.push(condition);
        }
    }
    filter.children.push(and);
}

fn tag_json(tag: &Tag) -> Value {
    json!({ "Key": tag.key, "Value": tag.value })
}

fn rule_json(rule: &LifecycleRule) -> Value {
    let mut out = Map::new();
    out.insert("ID".into(), json!(rule.id));
    out.insert("Status".into(), json!(rule.status.as_str()));
    let filter = match &rule.filter {
        RuleFilter::LegacyPrefix(prefix) => {
            out.insert("Prefix".into(), json!(prefix));
            None
        }
        RuleFilter::All => None,
        RuleFilter::Prefix(prefix) => Some(json!({ "Prefix": prefix })),
        RuleFilter::Tag(tag) => Some(json!({ "Tag": tag_json(tag) })),
        RuleFilter::ObjectSizeGreaterThan(n) => Some(json!({ "ObjectSizeGreaterThan": n })),
        RuleFilter::ObjectSizeLessThan(n) => Some(json!({ "ObjectSizeLessThan": n })),
        RuleFilter::And(and) => {
            let mut members = Map::new();
            if let Some(prefix) = &and.prefix {
                members.insert("Prefix".into(), json!(prefix));
            }
            if !and.tags.is_empty() {
                members.insert(
                    "Tags".into(),
                    Value::Array(and.tags.iter().map(tag_json).collect()),
                );
            }
            if let Some(n) = and.object_size_greater_than {
                members.insert("ObjectSizeGreaterThan".into(), json!(n));
            }
            if let Some(n) = and.object_size_less_than {
                members.insert("ObjectSizeLessThan".into(), json!(n));
            }
            Some(json!({ "And": members }))
        }
    };
    if let Some(filter) = filter {
        out.insert("Filter".into(), filter);
    }
    if let Some(expiration) = &rule.expiration {
        let value = match expiration {
            Expiration::Days(days) => json!({ "Days": days }),
            Expiration::Date(date) => json!({ "Date": rfc3339(*date) }),
            Expiration::ExpiredObjectDeleteMarker(marker) => {
                json!({ "ExpiredObjectDeleteMarker": marker })
            }
        };
        out.insert("Expiration".into(), value);
    }
    if let Some(abort) = &rule.abort_incomplete_multipart_upload {
        out.insert(
            "AbortIncompleteMultipartUpload".into(),
            json!({ "DaysAfterInitiation": abort.days_after_initiation }),
        );
    }
    if let Some(nve) = &rule.noncurrent_version_expiration {
        let mut members = Map::new();
        if let Some(days) = nve.noncurrent_days {
            members.insert("NoncurrentDays".into(), json!(days));
        }
        if let Some(versions) = nve.newer_noncurrent_versions {
            members.insert("NewerNoncurrentVersions".into(), json!(versions));
        }
        out.insert("NoncurrentVersionExpiration".into(), Value::Object(members));
    }
    let transitions: Vec<Value> = rule
        .noncurrent_version_transitions
        .iter()
        .map(|nvt| {
            let mut members = Map::new();
            if let Some(days) = nvt.noncurrent_days {
                members.insert("NoncurrentDays".into(), json!(days));
            }
            if let Some(class) = &nvt.storage_class {
                members.insert("StorageClass".into(), json!(class));
            }
            if let Some(versions) = nvt.newer_noncurrent_versions {
                members.insert("NewerNoncurrentVersions".into(), json!(versions));
            }
            Value::Object(members)
        })
        .collect();
    match transitions.len() {
        0 => {}
        1 => {
            out.insert(
                "NoncurrentVersionTransition".into(),
                transitions.into_iter().next().unwrap_or_default(),
            );
        }
        _ => {
            out.insert(
                "NoncurrentVersionTransition".into(),
                Value::Array(transitions),
            );
        }
    }
    Value::Object(out)
}

/// Go's `time.RFC3339` form, which mc writes: `2025-01-01T00:00:00Z`.
fn rfc3339(date: time::OffsetDateTime) -> String {
    date.to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default()
}
