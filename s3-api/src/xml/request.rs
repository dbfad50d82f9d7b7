//! Request documents: CreateBucketConfiguration, CompleteMultipartUpload,
//! Delete (DeleteObjects) and CORSConfiguration.
//!
//! `Delete` is read with the event reader rather than serde because quick-xml's
//! deserializer trims text, and object keys may begin or end with spaces.

use serde::Deserialize;

use super::{from_xml, malformed};
use crate::error::{ApiError, S3Code};

/// CreateBucket's optional body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CreateBucketConfiguration {
    #[serde(rename = "LocationConstraint", default)]
    pub location_constraint: Option<String>,
}

impl CreateBucketConfiguration {
    pub fn parse(bytes: &[u8]) -> Result<Self, ApiError> {
        from_xml("CreateBucketConfiguration", bytes)
    }
}

/// CompleteMultipartUpload's body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CompleteMultipartUpload {
    #[serde(rename = "Part", default)]
    pub parts: Vec<CompletedPart>,
}

/// One `<Part>`; the per-part checksums are accepted and not needed (the
/// store recorded each part's checksum when it was uploaded).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CompletedPart {
    #[serde(rename = "PartNumber")]
    pub part_number: u32,
    #[serde(rename = "ETag")]
    pub etag: String,
    #[serde(rename = "ChecksumCRC32", default)]
    pub checksum_crc32: Option<String>,
    #[serde(rename = "ChecksumCRC32C", default)]
    pub checksum_crc32c: Option<String>,
    #[serde(rename = "ChecksumCRC64NVME", default)]
    pub checksum_crc64nvme: Option<String>,
    #[serde(rename = "ChecksumSHA1", default)]
    pub checksum_sha1: Option<String>,
    #[serde(rename = "ChecksumSHA256", default)]
    pub checksum_sha256: Option<String>,
}

impl CompleteMultipartUpload {
    pub fn parse(bytes: &[u8]) -> Result<Self, ApiError> {
        let doc: Self = from_xml("CompleteMultipartUpload", bytes)?;
        if doc.parts.is_empty() {
            return Err(ApiError::with_message(
                S3Code::MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema.",
            ));
        }
        Ok(doc)
    }
}

/// DeleteObjects' body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delete {
    pub objects: Vec<ObjectIdentifier>,
    pub quiet: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectIdentifier {
    pub key: String,
    pub version_id: Option<String>,
}

/// S3's limit on keys in one DeleteObjects request.
pub const MAX_DELETE_KEYS: usize = 1000;

impl Delete {
    /// Parses `<Delete><Quiet>..</Quiet><Object><Key>..</Key><VersionId>..</VersionId></Object>..</Delete>`.
    /// Empty lists and more than 1000 keys are `MalformedXML`, as S3 answers.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApiError> {
        use quick_xml::events::Event;
        let text = std::str::from_utf8(bytes).map_err(|_| malformed())?;
        let mut reader = quick_xml::Reader::from_str(text);
        reader.config_mut().check_end_names = true;

        let mut path: Vec<String> = Vec::new();
        let mut doc = Delete::default();
        let mut current: Option<ObjectIdentifier> = None;
        let mut text_buf = String::new();
        let mut saw_root = false;
        loop {
            match reader.read_event().map_err(|_| malformed())? {
                Event::Start(start) => {
                    let name = super::local_name(start.name().as_ref());
                    match (path.len(), name.as_str()) {
                        (0, "Delete") if !saw_root => saw_root = true,
                        (0, _) => return Err(malformed()),
                        (1, "Object") => {
                            current = Some(ObjectIdentifier {
                                key: String::new(),
                                version_id: None,
                            })
                        }
                        _ => {}
                    }
                    path.push(name);
                    text_buf.clear();
                }
                Event::Empty(start) => {
                    let name = super::local_name(start.name().as_ref());
                    match (path.len(), name.as_str()) {
                        (0, "Delete") if !saw_root => saw_root = true,
                        (0, _) => return Err(malformed()),
                        // `<Key/>`: an empty key, refused below like S3 does.
                        (2, "Key") if current.is_some() => {}
                        (1, "Object") => return Err(malformed()),
                        _ => {}
                    }
                }
                Event::Text(t) => {
                    let unescaped = t.unescape().map_err(|_| malformed())?;
                    text_buf.push_str(&unescaped);
                }
                Event::CData(c) => {
                    text_buf.push_str(std::str::from_utf8(&c).map_err(|_| malformed())?);
                }
                Event::End(_) => {
                    let name = path.pop().ok_or_else(malformed)?;
                    match (path.len(), name.as_str()) {
                        (1, "Quiet") => {
                            doc.quiet = match text_buf.trim() {
                                "true" => true,
                                "false" => false,
                                _ => return Err(malformed()),
                            }
                        }
                        (1, "Object") => {
                            let object = current.take().ok_or_else(malformed)?;
                            if object.key.is_empty() {
                                return Err(ApiError::with_message(
                                    S3Code::MalformedXML,
                                    "The XML you provided was not well-formed or did not validate against our published schema.",
                                ));
                            }
                            doc.objects.push(object);
                            if doc.objects.len() > MAX_DELETE_KEYS {
                                return Err(malformed());
                            }
                        }
                        (2, "Key") => {
                            if let Some(object) = current.as_mut() {
                                object.key = std::mem::take(&mut text_buf);
                            }
                        }
                        (2, "VersionId") => {
                            if let Some(object) = current.as_mut() {
                                object.version_id = Some(text_buf.trim().to_string());
                            }
                        }
                        _ => {}
                    }
                    text_buf.clear();
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if !saw_root || !path.is_empty() || doc.objects.is_empty() {
            return Err(malformed());
        }
        Ok(doc)
    }
}

/// PutBucketCors' body. Kept only to validate: the bytes are stored as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CorsConfiguration {
    #[serde(rename = "CORSRule", default)]
    pub rules: Vec<CorsRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CorsRule {
    #[serde(rename = "ID", default)]
    pub id: Option<String>,
    #[serde(rename = "AllowedMethod", default)]
    pub allowed_methods: Vec<String>,
    #[serde(rename = "AllowedOrigin", default)]
    pub allowed_origins: Vec<String>,
    #[serde(rename = "AllowedHeader", default)]
    pub allowed_headers: Vec<String>,
    #[serde(rename = "ExposeHeader", default)]
    pub expose_headers: Vec<String>,
    #[serde(rename = "MaxAgeSeconds", default)]
    pub max_age_seconds: Option<i64>,
}

/// S3's limit on CORS rules per bucket.
pub const MAX_CORS_RULES: usize = 100;

impl CorsConfiguration {
    /// Parses and validates like S3: 1..=100 rules, each with at least one
    /// origin and one of GET/PUT/HEAD/POST/DELETE.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApiError> {
        let doc: Self = from_xml("CORSConfiguration", bytes)?;
        if doc.rules.is_empty() || doc.rules.len() > MAX_CORS_RULES {
            return Err(malformed());
        }
        for rule in &doc.rules {
            if rule.allowed_methods.is_empty() || rule.allowed_origins.is_empty() {
                return Err(malformed());
            }
            if let Some(method) = rule
                .allowed_methods
                .iter()
                .find(|m| !matches!(m.as_str(), "GET" | "PUT" | "HEAD" | "POST" | "DELETE"))
            {
                return Err(ApiError::with_message(
                    S3Code::InvalidRequest,
                    format!("Found unsupported HTTP method in CORS config. Unsupported method is {method}"),
                ));
            }
            for origin in &rule.allowed_origins {
                if origin.matches('*').count() > 1 {
                    return Err(ApiError::with_message(
                        S3Code::InvalidRequest,
                        format!("AllowedOrigin \"{origin}\" can not have more than one wildcard."),
                    ));
                }
            }
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_delete_objects_document_parses_keys_verbatim() {
        // As aws-sdk-s3 sends it (namespace, no declaration).
        let body = br#"<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a &amp; b.txt</Key></Object><Object><Key>  spaced  </Key><VersionId>null</VersionId></Object><Quiet>true</Quiet></Delete>"#;
        let doc = Delete::parse(body).unwrap();
        assert!(doc.quiet);
        assert_eq!(doc.objects[0].key, "a & b.txt");
        assert_eq!(doc.objects[1].key, "  spaced  ");
        assert_eq!(doc.objects[1].version_id.as_deref(), Some("null"));
    }

    #[test]
    fn delete_document_quiet_defaults_to_false_and_allows_declaration() {
        let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Delete>\n  <Object>\n    <Key>k</Key>\n  </Object>\n</Delete>\n";
        let doc = Delete::parse(body).unwrap();
        assert!(!doc.quiet);
        assert_eq!(doc.objects.len(), 1);
        assert_eq!(doc.objects[0].key, "k");
    }

    #[test]
    fn malformed_delete_documents_are_refused() {
        let too_many = format!(
            "<Delete>{}</Delete>",
            "<Object><Key>k</Key></Object>".repeat(MAX_DELETE_KEYS + 1)
        );
        for body in [
            &b""[..],
            b"<Delete></Delete>",
            b"<Delete><Object><Key>k</Key></Object>",
            b"<Remove><Object><Key>k</Key></Object></Remove>",
            b"<Delete><Object><Key></Key></Object></Delete>",
            b"<Delete><Object/></Delete>",
            b"<Delete><Object><Key>k</Key></Object><Quiet>yes</Quiet></Delete>",
            too_many.as_bytes(),
        ] {
            let err = Delete::parse(body).unwrap_err();
            assert_eq!(
                err.code,
                S3Code::MalformedXML,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let exactly_max = format!(
            "<Delete>{}</Delete>",
            "<Object><Key>k</Key></Object>".repeat(MAX_DELETE_KEYS)
        );
        assert_eq!(
            Delete::parse(exactly_max.as_bytes()).unwrap().objects.len(),
            MAX_DELETE_KEYS
        );
    }

    #[test]
    fn sdk_complete_multipart_document_with_part_checksums_parses() {
        let body = br#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ChecksumCRC32>3FHn6Q==</ChecksumCRC32><ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag><PartNumber>1</PartNumber></Part><Part><ETag>&quot;acbd18db4cc2f85cedef654fccc4a4d8&quot;</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>"#;
        let doc = CompleteMultipartUpload::parse(body).unwrap();
        assert_eq!(doc.parts.len(), 2);
        assert_eq!(doc.parts[0].part_number, 1);
        assert_eq!(doc.parts[0].etag, "\"0c78aef83f66abc1fa1e8477f296d394\"");
        assert_eq!(doc.parts[0].checksum_crc32.as_deref(), Some("3FHn6Q=="));
        assert_eq!(doc.parts[1].etag, "\"acbd18db4cc2f85cedef654fccc4a4d8\"");
    }

    #[test]
    fn malformed_complete_documents_are_refused() {
        for body in [
            &b"<CompleteMultipartUpload></CompleteMultipartUpload>"[..],
            b"<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>",
            b"<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>",
            b"<Complete><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></Complete>",
            b"garbage",
        ] {
            let err = CompleteMultipartUpload::parse(body).unwrap_err();
            assert_eq!(err.code, S3Code::MalformedXML, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn create_bucket_configuration_parses_location() {
        let body = br#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"#;
        let doc = CreateBucketConfiguration::parse(body).unwrap();
        assert_eq!(doc.location_constraint.as_deref(), Some("eu-west-1"));
        assert!(CreateBucketConfiguration::parse(b"<Nope/>").is_err());
    }

    #[test]
    fn cors_configuration_validates_methods_and_origins() {
        let ok = br#"<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><CORSRule><AllowedHeader>*</AllowedHeader><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedOrigin>https://www.example.com</AllowedOrigin><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>"#;
        let doc = CorsConfiguration::parse(ok).unwrap();
        assert_eq!(doc.rules[0].allowed_methods, ["PUT", "GET"]);
        assert_eq!(doc.rules[0].max_age_seconds, Some(3000));

        let bad_method = br#"<CORSConfiguration><CORSRule><AllowedMethod>PATCH</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>"#;
        assert_eq!(
            CorsConfiguration::parse(bad_method).unwrap_err().code,
            S3Code::InvalidRequest
        );
        let no_origin = br#"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"#;
        assert_eq!(
            CorsConfiguration::parse(no_origin).unwrap_err().code,
            S3Code::MalformedXML
        );
        assert_eq!(
            CorsConfiguration::parse(b"<CORSConfiguration/>")
                .unwrap_err()
                .code,
            S3Code::MalformedXML
        );
    }
}

/// PutObjectTagging's body: `<Tagging><TagSet><Tag><Key/><Value/></Tag>...`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Tagging {
    #[serde(rename = "TagSet")]
    pub tag_set: TagSet,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TagSet {
    #[serde(rename = "Tag", default)]
    pub tags: Vec<TagEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TagEntry {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value", default)]
    pub value: String,
}

impl Tagging {
    /// A document that does not parse, or a `<Tag>` without `<Key>`, is
    /// `MalformedXML`; the tag limits are checked by the caller.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApiError> {
        from_xml("Tagging", bytes)
    }
}
