//! The POST policy document of browser-form uploads: base64 JSON with an
//! `expiration` and `conditions` (`{"field": "value"}` exact matches,
//! `["eq", "$field", v]`, `["starts-with", "$field", prefix]`,
//! `["content-length-range", min, max]`), and its check against a form:
//! not expired, every condition met, and every form field named by a
//! condition (S3's rule; the signature, policy, file and `x-ignore-*`
//! fields excepted). Pure: no HTTP, no store.

use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Why a POST form upload was refused; `crate::error` maps each variant to
/// its S3 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostPolicyError {
    /// 400 InvalidPolicyDocument: not base64, not JSON, or not a policy.
    #[error("Invalid Policy: {0}")]
    InvalidPolicyDocument(String),
    /// 403 AccessDenied "Invalid according to Policy: Policy expired."
    #[error("Invalid according to Policy: Policy expired.")]
    Expired,
    /// 403 AccessDenied: a condition the form does not meet.
    #[error("Invalid according to Policy: Policy Condition failed: {0}")]
    ConditionFailed(String),
    /// 403 AccessDenied: a form field no condition names.
    #[error("Invalid according to Policy: Extra input fields: {0}")]
    ExtraField(String),
    /// 400 EntityTooLarge: the file is over `content-length-range` or the
    /// server's object size limit.
    #[error("Your proposed upload exceeds the maximum allowed size")]
    TooLarge { max: u64 },
    /// 400 EntityTooSmall: the file is under `content-length-range`.
    #[error("Your proposed upload is smaller than the minimum allowed size")]
    TooSmall { min: u64 },
    /// 400 MalformedPOSTRequest: not multipart/form-data S3 can read.
    #[error("The body of your POST request is not well-formed multipart/form-data. {0}")]
    Malformed(String),
    /// 400 InvalidArgument: a required field is missing or unusable.
    #[error("{0}")]
    InvalidArgument(String),
    /// 400 MaxPostPreDataLengthExceededError: the fields before the file
    /// are over the limit.
    #[error("Your POST request fields preceding the upload file were too large.")]
    FieldsTooLarge,
    /// 412 PreconditionFailed: not `multipart/form-data` at all.
    #[error("Bucket POST must be of the enclosure-type multipart/form-data")]
    NotMultipart,
}

/// One condition of a policy; field names are lower-case, without `$`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The field's value equals this (exact-match objects and `eq`).
    Eq { field: String, value: String },
    /// The field's value starts with this (`""`: any value).
    StartsWith { field: String, prefix: String },
}

impl Condition {
    fn field(&self) -> &str {
        match self {
            Self::Eq { field, .. } | Self::StartsWith { field, .. } => field,
        }
    }
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPolicy {
    pub expiration: OffsetDateTime,
    pub conditions: Vec<Condition>,
    /// `content-length-range`: the file's size, inclusive bounds.
    pub length_range: Option<(u64, u64)>,
}

/// Form fields that need no condition: the signature and the policy itself,
/// the file, and (Signature Version 2) the access key id that goes with
/// the signature. `x-ignore-*` fields are exempt too.
const EXEMPT_FIELDS: &[&str] = &[
    "x-amz-signature",
    "signature",
    "awsaccesskeyid",
    "file",
    "policy",
];

fn invalid(message: impl Into<String>) -> PostPolicyError {
    PostPolicyError::InvalidPolicyDocument(message.into())
}

/// A condition's string operand; numbers are accepted as their text
/// (`{"success_action_status": 201}`).
fn text(value: &Value, what: &str) -> Result<String, PostPolicyError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(invalid(format!("{what} must be a string"))),
    }
}

fn length_bound(value: &Value) -> Result<u64, PostPolicyError> {
    let parsed = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| invalid("content-length-range bounds must be non-negative integers"))
}

fn field_name(value: &Value) -> Result<String, PostPolicyError> {
    let name = text(value, "a condition's field")?;
    let name = name
        .strip_prefix('$')
        .ok_or_else(|| invalid(format!("the field {name:?} must start with '$'")))?;
    Ok(name.to_ascii_lowercase())
}

impl PostPolicy {
    /// Parses the base64 `policy` form field.
    pub fn parse(policy_base64: &str) -> Result<Self, PostPolicyError> {
        let compact: String = policy_base64.split_whitespace().collect();
        let json = STANDARD
            .decode(compact.as_bytes())
            .map_err(|_| invalid("the policy is not valid base64"))?;
        let document: Value = serde_json::from_slice(&json)
            .map_err(|e| invalid(format!("the policy is not valid JSON: {e}")))?;
        let object = document
            .as_object()
            .ok_or_else(|| invalid("the policy must be a JSON object"))?;
        let expiration = object
            .get("expiration")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("Policy missing expiration"))?;
        let expiration = OffsetDateTime::parse(expiration, &Rfc3339).map_err(|_| {
            invalid(format!(
                "Invalid Policy: Invalid 'expiration' value: '{expiration}'"
            ))
        })?;
        let list = object
            .get("conditions")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("Policy missing conditions"))?;
        let mut conditions = Vec::new();
        let mut length_range = None;
        for entry in list {
            match entry {
                Value::Object(pairs) => {
                    for (field, value) in pairs {
                        conditions.push(Condition::Eq {
                            field: field.trim_start_matches('$').to_ascii_lowercase(),
                            value: text(value, "an exact-match value")?,
                        });
                    }
                }
                Value::Array(items) => {
                    let operator = items
                        .first()
                        .and_then(Value::as_str)
                        .map(str::to_ascii_lowercase)
                        .ok_or_else(|| invalid("a condition must start with its operator"))?;
                    if items.len() != 3 {
                        return Err(invalid(format!(
                            "the condition {entry} must have three elements"
                        )));
                    }
                    match operator.as_str() {
                        "eq" => conditions.push(Condition::Eq {
                            field: field_name(&items[1])?,
                            value: text(&items[2], "an eq value")?,
                        }),
                        "starts-with" => conditions.push(Condition::StartsWith {
                            field: field_name(&items[1])?,
                            prefix: text(&items[2], "a starts-with prefix")?,
                        }),
                        "content-length-range" => {
                            let (min, max) = (length_bound(&items[1])?, length_bound(&items[2])?);
                            if min > max {
                                return Err(invalid(
                                    "content-length-range minimum is above its maximum",
                                ));
                            }
                            length_range = Some((min, max));
                        }
                        other => {
                            return Err(invalid(format!("Unknown condition operator: {other}")))
                        }
                    }
                }
                _ => return Err(invalid(format!("the condition {entry} is not understood"))),
            }
        }
        Ok(Self {
            expiration,
            conditions,
            length_range,
        })
    }

    /// Checks `fields` (lower-case name, value; the bucket of the URL and
    /// the key with `${filename}` already expanded) against the policy at
    /// `now`. The file's size is checked while it streams.
    pub fn check(
        &self,
        fields: &[(String, String)],
        now: SystemTime,
    ) -> Result<(), PostPolicyError> {
        if OffsetDateTime::from(now) > self.expiration {
            return Err(PostPolicyError::Expired);
        }
        let value_of = |name: &str| {
            fields
                .iter()
                .find(|(field, _)| field == name)
                .map(|(_, value)| value.as_str())
        };
        for condition in &self.conditions {
            let actual = value_of(condition.field());
            let met = match (condition, actual) {
                (Condition::Eq { value, .. }, Some(actual)) => actual == value,
                (Condition::StartsWith { prefix, .. }, Some(actual)) => actual.starts_with(prefix),
                (_, None) => false,
            };
            if !met {
                return Err(PostPolicyError::ConditionFailed(describe(condition)));
            }
        }
        for (name, _) in fields {
            let exempt = EXEMPT_FIELDS.contains(&name.as_str()) || name.starts_with("x-ignore-");
            // The URL names the bucket; a `bucket` field is checked only
            // when the policy names it.
            if exempt || name == "bucket" {
                continue;
            }
            if !self.conditions.iter().any(|c| c.field() == name) {
                return Err(PostPolicyError::ExtraField(name.clone()));
            }
        }
        Ok(())
    }
}

fn describe(condition: &Condition) -> String {
    match condition {
        Condition::Eq { field, value } => format!("[\"eq\", \"${field}\", \"{value}\"]"),
        Condition::StartsWith { field, prefix } => {
            format!("[\"starts-with\", \"${field}\", \"{prefix}\"]")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn encode(json: &str) -> String {
        STANDARD.encode(json)
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const BEFORE_EXPIRY: Duration = Duration::from_secs(1_800_000_000);

    fn at(secs: Duration) -> SystemTime {
        SystemTime::UNIX_EPOCH + secs
    }

    #[test]
    fn every_condition_kind_parses() {
        let policy = PostPolicy::parse(&encode(
            r#"{"expiration":"2030-01-01T00:00:00.000Z","conditions":[
                {"bucket":"photos"},["starts-with","$Key","user/"],
                ["eq","$Content-Type","image/png"],["content-length-range","1",10],
                {"success_action_status":201}]}"#,
        ))
        .unwrap();
        assert_eq!(policy.length_range, Some((1, 10)));
        assert_eq!(
            policy.conditions,
            vec![
                Condition::Eq {
                    field: "bucket".into(),
                    value: "photos".into()
                },
                Condition::StartsWith {
                    field: "key".into(),
                    prefix: "user/".into()
                },
                Condition::Eq {
                    field: "content-type".into(),
                    value: "image/png".into()
                },
                Condition::Eq {
                    field: "success_action_status".into(),
                    value: "201".into()
                },
            ]
        );
    }

    #[test]
    fn malformed_documents_are_invalid_policy_documents() {
        for bad in [
            "not base64 !!".to_string(),
            encode("not json"),
            encode(r#"{"conditions":[]}"#),
            encode(r#"{"expiration":"tomorrow","conditions":[]}"#),
            encode(r#"{"expiration":"2030-01-01T00:00:00Z"}"#),
            encode(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["in","$key","a"]]}"#),
            encode(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","key","a"]]}"#),
            encode(
                r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",5,1]]}"#,
            ),
        ] {
            assert!(
                matches!(
                    PostPolicy::parse(&bad),
                    Err(PostPolicyError::InvalidPolicyDocument(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn conditions_expiry_and_coverage_are_checked() {
        let policy = PostPolicy::parse(&encode(
            r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[
                {"bucket":"photos"},["starts-with","$key","user/"]]}"#,
        ))
        .unwrap();
        let good = fields(&[
            ("bucket", "photos"),
            ("key", "user/a.png"),
            ("policy", "..."),
            ("x-amz-signature", "..."),
            ("x-ignore-note", "anything"),
        ]);
        policy.check(&good, at(BEFORE_EXPIRY)).unwrap();
        assert_eq!(
            policy.check(&good, at(Duration::from_secs(1_900_000_000 * 2))),
            Err(PostPolicyError::Expired)
        );
        let wrong_prefix = fields(&[("bucket", "photos"), ("key", "other/a.png")]);
        assert!(matches!(
            policy.check(&wrong_prefix, at(BEFORE_EXPIRY)),
            Err(PostPolicyError::ConditionFailed(_))
        ));
        let missing_field = fields(&[("bucket", "photos")]);
        assert!(matches!(
            policy.check(&missing_field, at(BEFORE_EXPIRY)),
            Err(PostPolicyError::ConditionFailed(_))
        ));
        let extra = fields(&[
            ("bucket", "photos"),
            ("key", "user/a"),
            ("x-amz-meta-owner", "eve"),
        ]);
        assert_eq!(
            policy.check(&extra, at(BEFORE_EXPIRY)),
            Err(PostPolicyError::ExtraField("x-amz-meta-owner".into()))
        );
    }
}
