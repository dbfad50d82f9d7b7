//! Access policies: the AWS policy JSON model (identity policies and bucket
//! policies), MinIO's canned policies, and their evaluation.
//!
//! Evaluation follows AWS: an explicit `Deny` wins, else any `Allow` allows,
//! else the request is denied. `Condition` blocks are refused with
//! `NotImplemented` when a policy is stored, and unknown or wrongly-cased
//! elements (`"condition"`, `"NotAction"`...) with `MalformedPolicy`, so a
//! stored policy never grants more than it says. Admin actions (`admin:*`)
//! are a namespace of their own: `*` and `s3:*` never match them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Why a policy document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// 400 MalformedPolicy.
    #[error("policy is malformed: {0}")]
    Malformed(String),
    /// 501 NotImplemented (e.g. `Condition`).
    #[error("policy uses an unsupported element: {0}")]
    Unsupported(String),
}

/// One or many strings: AWS allows both forms for Action, Resource, Principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single string.
    One(String),
    /// A list of strings.
    Many(Vec<String>),
}

impl OneOrMany {
    fn iter(&self) -> impl Iterator<Item = &str> {
        let slice: &[String] = match self {
            OneOrMany::One(s) => std::slice::from_ref(s),
            OneOrMany::Many(v) => v,
        };
        slice.iter().map(String::as_str)
    }
}

/// `Principal`: `"*"` or `{"AWS": "*" | [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Principal {
    /// A bare string: `"*"` (everybody) or an access key.
    Wildcard(String),
    /// `{"AWS": ...}`: `"*"`, access keys or `arn:aws:iam:::user/<key>`.
    Aws {
        /// The names listed under `AWS`.
        #[serde(rename = "AWS")]
        aws: OneOrMany,
    },
}

impl Principal {
    /// Whether the principal names everybody (the only form bucket policies
    /// need: anonymous access). Named principals match access keys.
    fn matches(&self, who: &Requester<'_>) -> bool {
        let names: Vec<&str> = match self {
            Principal::Wildcard(s) => vec![s.as_str()],
            Principal::Aws { aws } => aws.iter().collect(),
        };
        names.iter().any(|n| {
            *n == "*"
                || matches!(who, Requester::User(ak) if *n == *ak
                    || n.strip_prefix("arn:aws:iam:::user/") == Some(*ak))
        })
    }
}

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// The statement grants what it matches.
    Allow,
    /// The statement refuses what it matches, whatever else allows it.
    Deny,
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// Optional statement ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// Who the statement is about (bucket policies only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// Actions, e.g. `s3:GetObject` or `s3:*`.
    pub action: OneOrMany,
    /// Resource ARNs, e.g. `arn:aws:s3:::bucket/prefix/*`.
    pub resource: OneOrMany,
    /// Kept only so a stored policy with conditions is refused, never
    /// silently widened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<serde_json::Value>,
    /// Elements this model does not know (wrong case included). Kept, not
    /// dropped, so `validate` refuses them and evaluation of an old stored
    /// document fails closed.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown: BTreeMap<String, serde_json::Value>,
}

impl Statement {
    /// Whether the statement says exactly what this model reads: no
    /// condition and no unknown element. An unsound `Allow` grants nothing;
    /// an unsound `Deny` still denies (it could only be narrower).
    fn is_sound(&self) -> bool {
        self.condition.is_none() && self.unknown.is_empty()
    }
}

/// A policy document (`{"Version": "2012-10-17", "Statement": [...]}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    /// The policy language version (`2012-10-17`).
    #[serde(default = "default_version")]
    pub version: String,
    /// Optional policy ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The statements, evaluated together.
    pub statement: Vec<Statement>,
    /// Unknown top-level elements, refused by `validate` (see
    /// [`Statement::unknown`]).
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown: BTreeMap<String, serde_json::Value>,
}

fn default_version() -> String {
    "2012-10-17".to_string()
}

impl Default for PolicyDocument {
    /// An empty `2012-10-17` document (invalid until it has a statement).
    fn default() -> Self {
        PolicyDocument {
            version: default_version(),
            id: None,
            statement: Vec::new(),
            unknown: BTreeMap::new(),
        }
    }
}

/// Who is asking, for principal matching in bucket policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester<'a> {
    /// An unsigned request.
    Anonymous,
    /// A signed request by this access key.
    User(&'a str),
}

/// The outcome of evaluating one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An `Allow` statement applies and no `Deny` does.
    Allow,
    /// A `Deny` statement applies.
    Deny,
    /// No statement applies.
    NotApplicable,
}

/// What a request wants to do, in policy terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest<'a> {
    /// e.g. `s3:GetObject`.
    pub action: &'a str,
    /// The bucket, if any (`None` for ListBuckets).
    pub bucket: Option<&'a str>,
    /// The key, for object-level actions.
    pub key: Option<&'a str>,
}

impl AccessRequest<'_> {
    /// `arn:aws:s3:::bucket`, `arn:aws:s3:::bucket/key` or `arn:aws:s3:::*`.
    pub fn resource_arn(&self) -> String {
        match (self.bucket, self.key) {
            (Some(b), Some(k)) => format!("arn:aws:s3:::{b}/{k}"),
            (Some(b), None) => format!("arn:aws:s3:::{b}"),
            _ => "arn:aws:s3:::*".to_string(),
        }
    }
}

impl PolicyDocument {
    /// Parses and validates a policy JSON document.
    pub fn parse(bytes: &[u8]) -> Result<Self, PolicyError> {
        let doc: PolicyDocument =
            serde_json::from_slice(bytes).map_err(|e| PolicyError::Malformed(e.to_string()))?;
        doc.validate()?;
        Ok(doc)
    }

    /// Checks what serde cannot: versions, actions, resources, no conditions.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.version != "2012-10-17" && self.version != "2008-10-17" {
            return Err(PolicyError::Malformed(format!(
                "unknown policy version {:?}",
                self.version
            )));
        }
        if let Some(name) = self.unknown.keys().next() {
            return Err(PolicyError::Malformed(format!(
                "unknown policy element {name:?}"
            )));
        }
        if self.statement.is_empty() {
            return Err(PolicyError::Malformed("policy has no statement".into()));
        }
        for st in &self.statement {
            if let Some(name) = st.unknown.keys().next() {
                return Err(PolicyError::Malformed(format!(
                    "unknown statement element {name:?} (elements are case-sensitive; \
                     NotAction, NotResource and NotPrincipal are not supported)"
                )));
            }
            if st.condition.is_some() {
                return Err(PolicyError::Unsupported("Condition".into()));
            }
            for a in st.action.iter() {
                if !(a == "*" || a.starts_with("s3:") || a.starts_with("admin:")) {
                    return Err(PolicyError::Malformed(format!("invalid action {a:?}")));
                }
            }
            for r in st.resource.iter() {
                if !(r == "*" || r.starts_with("arn:aws:s3:::")) {
                    return Err(PolicyError::Malformed(format!("invalid resource {r:?}")));
                }
            }
        }
        Ok(())
    }

    /// Validates a bucket policy: every statement has a principal and every
    /// resource names this bucket (as S3 requires).
    pub fn validate_for_bucket(&self, bucket: &str) -> Result<(), PolicyError> {
        self.validate()?;
        let own = format!("arn:aws:s3:::{bucket}");
        for st in &self.statement {
            if st.principal.is_none() {
                return Err(PolicyError::Malformed("statement has no Principal".into()));
            }
            for r in st.resource.iter() {
                if r != own && !r.starts_with(&format!("{own}/")) {
                    return Err(PolicyError::Malformed(format!(
                        "policy has invalid resource {r:?}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Evaluates the document for `request`. `requester` is matched against
    /// `Principal` when a statement has one (bucket policies); identity
    /// policies have none and apply to their holder.
    pub fn evaluate(&self, requester: Requester<'_>, request: &AccessRequest<'_>) -> Decision {
        let arn = request.resource_arn();
        let mut allowed = false;
        let sound_document = self.unknown.is_empty();
        for st in &self.statement {
            if st.effect == Effect::Allow && !(sound_document && st.is_sound()) {
                continue;
            }
            if let Some(p) = &st.principal {
                if !p.matches(&requester) {
                    continue;
                }
            }
            let action_hit = st.action.iter().any(|a| action_matches(a, request.action));
            let resource_hit = st.resource.iter().any(|r| resource_matches(r, &arn));
            if action_hit && resource_hit {
                match st.effect {
                    Effect::Deny => return Decision::Deny,
                    Effect::Allow => allowed = true,
                }
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::NotApplicable
        }
    }

    /// Serialises to compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("policy documents always serialise")
    }
}

/// The prefix of admin API actions.
const ADMIN_PREFIX: &str = "admin:";

fn action_matches(pattern: &str, action: &str) -> bool {
    // Admin actions only match patterns written in their own namespace
    // (`admin:*`, `admin:CreateUser`), as in MinIO: `*` or `s3:*` on
    // `arn:aws:s3:::*` is full data access, never the admin API.
    let is_admin = |s: &str| {
        s.get(..ADMIN_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(ADMIN_PREFIX))
    };
    if is_admin(action) != is_admin(pattern) {
        return false;
    }
    if pattern == "*" {
        return true;
    }
    // Actions are case-insensitive in AWS.
    wildcard_match(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
        || implied_by(pattern, action)
}

/// Some actions imply others as MinIO and S3 treat them: multipart parts are
/// covered by `s3:PutObject`, HEAD by `s3:GetObject`.
fn implied_by(pattern: &str, action: &str) -> bool {
    matches!(
        (pattern, action),
        ("s3:PutObject", "s3:UploadPart")
            | ("s3:PutObject", "s3:CreateMultipartUpload")
            | ("s3:PutObject", "s3:CompleteMultipartUpload")
    )
}

fn resource_matches(pattern: &str, arn: &str) -> bool {
    pattern == "*" || wildcard_match(pattern, arn)
}

/// `*` matches any run of characters, `?` any one character.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Names of the canned identity policies (MinIO's).
pub const CANNED_POLICIES: [&str; 5] = [
    "readwrite",
    "readonly",
    "writeonly",
    "consoleAdmin",
    "diagnostics",
];

/// MinIO's canned identity policies. `consoleAdmin` is the admin policy: all
/// S3 actions and the admin API.
pub fn canned_policy(name: &str) -> Option<PolicyDocument> {
    let (actions, resource): (&[&str], &str) = match name {
        "readwrite" => (&["s3:*"], "arn:aws:s3:::*"),
        "readonly" => (&["s3:GetBucketLocation", "s3:GetObject"], "arn:aws:s3:::*"),
        "writeonly" => (&["s3:PutObject"], "arn:aws:s3:::*"),
        "consoleAdmin" => (&["admin:*", "s3:*"], "arn:aws:s3:::*"),
        "diagnostics" => (&["admin:ServerInfo", "admin:Heal"], "arn:aws:s3:::*"),
        _ => return None,
    };
    Some(PolicyDocument {
        version: default_version(),
        statement: vec![Statement {
            sid: None,
            effect: Effect::Allow,
            principal: None,
            action: OneOrMany::Many(actions.iter().map(|s| s.to_string()).collect()),
            resource: OneOrMany::One(resource.to_string()),
            condition: None,
            unknown: BTreeMap::new(),
        }],
        ..PolicyDocument::default()
    })
}

/// The canned anonymous bucket policies of `minnow bucket policy set`
/// (`mc anonymous set`): `download` grants GetObject only — a public image
/// bucket must not become listable; `upload` grants uploads; `public` grants
/// reading, listing and uploading. `prefix` may be empty.
pub fn canned_bucket_policy(kind: &str, bucket: &str, prefix: &str) -> Option<PolicyDocument> {
    let objects = format!("arn:aws:s3:::{bucket}/{prefix}*");
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let allow = |actions: &[&str], resource: &str| Statement {
        sid: None,
        effect: Effect::Allow,
        principal: Some(Principal::Aws {
            aws: OneOrMany::Many(vec!["*".into()]),
        }),
        action: OneOrMany::Many(actions.iter().map(|s| s.to_string()).collect()),
        resource: OneOrMany::Many(vec![resource.to_string()]),
        condition: None,
        unknown: BTreeMap::new(),
    };
    let statement = match kind {
        "download" => vec![allow(&["s3:GetObject"], &objects)],
        "upload" => vec![
            allow(
                &["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                &bucket_arn,
            ),
            allow(
                &[
                    "s3:PutObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                &objects,
            ),
        ],
        "public" => vec![
            allow(
                &[
                    "s3:GetBucketLocation",
                    "s3:ListBucket",
                    "s3:ListBucketMultipartUploads",
                ],
                &bucket_arn,
            ),
            allow(
                &[
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                &objects,
            ),
        ],
        _ => return None,
    };
    Some(PolicyDocument {
        statement,
        ..PolicyDocument::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(action: &'a str, bucket: &'a str, key: Option<&'a str>) -> AccessRequest<'a> {
        AccessRequest {
            action,
            bucket: Some(bucket),
            key,
        }
    }

    #[test]
    fn wildcards_match_like_aws() {
        assert!(wildcard_match("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y"));
        assert!(wildcard_match(
            "arn:aws:s3:::b/img?.png",
            "arn:aws:s3:::b/img1.png"
        ));
        assert!(!wildcard_match("arn:aws:s3:::b/*", "arn:aws:s3:::bb/x"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
    }

    #[test]
    fn download_policy_grants_get_but_not_list_or_put() {
        let p = canned_bucket_policy("download", "img", "").unwrap();
        p.validate_for_bucket("img").unwrap();
        let anon = Requester::Anonymous;
        assert_eq!(
            p.evaluate(anon, &req("s3:GetObject", "img", Some("a/b.png"))),
            Decision::Allow
        );
        assert_eq!(
            p.evaluate(anon, &req("s3:ListBucket", "img", None)),
            Decision::NotApplicable
        );
        assert_eq!(
            p.evaluate(anon, &req("s3:PutObject", "img", Some("x"))),
            Decision::NotApplicable
        );
        assert_eq!(
            p.evaluate(anon, &req("s3:GetObject", "other", Some("x"))),
            Decision::NotApplicable
        );
    }

    #[test]
    fn prefix_policy_covers_only_its_prefix() {
        let p = canned_bucket_policy("download", "b", "public/").unwrap();
        let anon = Requester::Anonymous;
        assert_eq!(
            p.evaluate(anon, &req("s3:GetObject", "b", Some("public/x"))),
            Decision::Allow
        );
        assert_eq!(
            p.evaluate(anon, &req("s3:GetObject", "b", Some("private/x"))),
            Decision::NotApplicable
        );
    }

    #[test]
    fn explicit_deny_wins() {
        let doc = br#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"},
            {"Effect":"Deny","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/secret/*"]}]}"#;
        let p = PolicyDocument::parse(doc).unwrap();
        p.validate_for_bucket("b").unwrap();
        let anon = Requester::Anonymous;
        assert_eq!(
            p.evaluate(anon, &req("s3:GetObject", "b", Some("secret/k"))),
            Decision::Deny
        );
        assert_eq!(
            p.evaluate(anon, &req("s3:GetObject", "b", Some("open/k"))),
            Decision::Allow
        );
    }

    #[test]
    fn conditions_are_not_implemented_and_garbage_is_malformed() {
        let doc = br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"1.2.3.4"}}}]}"#;
        assert!(matches!(
            PolicyDocument::parse(doc),
            Err(PolicyError::Unsupported(_))
        ));
        assert!(matches!(
            PolicyDocument::parse(b"{not json"),
            Err(PolicyError::Malformed(_))
        ));
        let other_bucket = br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}"#;
        let p = PolicyDocument::parse(other_bucket).unwrap();
        assert!(p.validate_for_bucket("b").is_err());
    }

    #[test]
    fn canned_identity_policies() {
        let rw = canned_policy("readwrite").unwrap();
        let ro = canned_policy("readonly").unwrap();
        let wo = canned_policy("writeonly").unwrap();
        let me = Requester::User("svc");
        let put = req("s3:PutObject", "b", Some("k"));
        let get = req("s3:GetObject", "b", Some("k"));
        assert_eq!(rw.evaluate(me, &put), Decision::Allow);
        assert_eq!(ro.evaluate(me, &put), Decision::NotApplicable);
        assert_eq!(ro.evaluate(me, &get), Decision::Allow);
        assert_eq!(wo.evaluate(me, &get), Decision::NotApplicable);
        assert_eq!(
            wo.evaluate(me, &req("s3:UploadPart", "b", Some("k"))),
            Decision::Allow
        );
        assert_eq!(
            rw.evaluate(
                me,
                &AccessRequest {
                    action: "admin:CreateUser",
                    bucket: None,
                    key: None
                }
            ),
            Decision::NotApplicable
        );
        let admin = canned_policy("consoleAdmin").unwrap();
        assert_eq!(
            admin.evaluate(
                me,
                &AccessRequest {
                    action: "admin:CreateUser",
                    bucket: None,
                    key: None
                }
            ),
            Decision::Allow
        );
    }

    /// Unknown or wrongly-cased elements are refused, so a stored policy
    /// never grants more than it says.
    #[test]
    fn unknown_or_wrongly_cased_elements_are_malformed() {
        for doc in [
            // A lower-case condition used to be dropped: the Allow then
            // applied from every address.
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","condition":{"IpAddress":{"aws:SourceIp":"10.0.0.1"}}}]}"#,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"s3:DeleteObject","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}"#,
            r#"{"Version":"2012-10-17","statement":[],"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}"#,
        ] {
            let err = PolicyDocument::parse(doc.as_bytes()).unwrap_err();
            assert!(matches!(err, PolicyError::Malformed(_)), "{doc}: {err}");
        }
        for doc in [
            r#"{"Version":"2012-10-17","Statement":[{"effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"s3:*","Resource":"*"}]}"#,
        ] {
            assert!(PolicyDocument::parse(doc.as_bytes()).is_err(), "{doc}");
        }
        // `Id` and `Sid` are known elements.
        let ok = r#"{"Version":"2012-10-17","Id":"p1","Statement":[{"Sid":"s","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let p = PolicyDocument::parse(ok.as_bytes()).unwrap();
        assert_eq!(PolicyDocument::parse(p.to_json().as_bytes()).unwrap(), p);
    }

    /// A document stored before unknown elements were refused still
    /// evaluates fail-closed: its unsound Allow grants nothing, its Deny
    /// still denies.
    #[test]
    fn stored_documents_with_unknown_elements_fail_closed() {
        let doc = br#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","condition":{}},
            {"Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/*","Sid2":"x"}]}"#;
        let p: PolicyDocument = serde_json::from_slice(doc).unwrap();
        assert!(p.validate().is_err());
        let me = Requester::User("svc");
        assert_eq!(
            p.evaluate(me, &req("s3:GetObject", "b", Some("k"))),
            Decision::NotApplicable
        );
        assert_eq!(
            p.evaluate(me, &req("s3:DeleteObject", "b", Some("k"))),
            Decision::Deny
        );
    }

    /// Admin actions are their own namespace: full S3 access (`*`, `s3:*`)
    /// never reaches the admin API; only `admin:` patterns do.
    #[test]
    fn s3_wildcards_never_grant_admin_actions() {
        let admin = AccessRequest {
            action: "admin:CreateUser",
            bucket: None,
            key: None,
        };
        for action in [r#""*""#, r#""s3:*""#, r#"["s3:*","*"]"#] {
            let doc = format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":{action},"Resource":"arn:aws:s3:::*"}}]}}"#
            );
            let p = PolicyDocument::parse(doc.as_bytes()).unwrap();
            assert_eq!(
                p.evaluate(Requester::User("svc"), &admin),
                Decision::NotApplicable,
                "{action}"
            );
        }
        let star = PolicyDocument::parse(
            br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::*"}]}"#,
        )
        .unwrap();
        assert_eq!(
            star.evaluate(Requester::User("svc"), &req("s3:PutObject", "b", Some("k"))),
            Decision::Allow
        );
        let admin_only = PolicyDocument::parse(
            br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"admin:*","Resource":"arn:aws:s3:::*"}]}"#,
        )
        .unwrap();
        assert_eq!(
            admin_only.evaluate(Requester::User("svc"), &admin),
            Decision::Allow
        );
        assert_eq!(
            admin_only.evaluate(Requester::User("svc"), &req("s3:GetObject", "b", Some("k"))),
            Decision::NotApplicable
        );
    }

    #[test]
    fn policy_json_round_trips() {
        let p = canned_bucket_policy("public", "b", "x/").unwrap();
        let again = PolicyDocument::parse(p.to_json().as_bytes()).unwrap();
        assert_eq!(p, again);
    }
}
