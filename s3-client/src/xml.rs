//! The S3 response documents the tools read, and the one way to read them.
//! Missing optional elements read as empty (a listing without `ETag`, a
//! bucket without `CreationDate`), as other S3 servers may leave them out.

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Reads an XML document (lossy UTF-8, as servers sometimes send Latin-1).
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, quick_xml::DeError> {
    quick_xml::de::from_str(&String::from_utf8_lossy(body))
}

/// `ListObjectsV2`'s answer.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListBucketResult {
    /// The objects of this page.
    #[serde(default)]
    pub contents: Vec<ListedObject>,
    /// The folders of this page (with a delimiter).
    #[serde(default)]
    pub common_prefixes: Vec<CommonPrefix>,
    /// Whether another page follows.
    #[serde(default)]
    pub is_truncated: bool,
    /// Where the next page starts.
    pub next_continuation_token: Option<String>,
}

/// One `<Contents>` of a listing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListedObject {
    /// The key, unescaped.
    pub key: String,
    /// Bytes.
    #[serde(default)]
    pub size: u64,
    /// ISO 8601, as the server sent it.
    #[serde(default)]
    pub last_modified: String,
    /// Quoted, as the server sent it.
    #[serde(rename = "ETag", default)]
    pub etag: String,
}

/// One `<CommonPrefixes>` of a listing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommonPrefix {
    /// The folder, ending with the delimiter.
    pub prefix: String,
}

/// `ListBuckets`' answer.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAllMyBucketsResult {
    /// The buckets (absent when there are none).
    pub buckets: Option<BucketList>,
}

impl ListAllMyBucketsResult {
    /// The listed buckets.
    pub fn into_buckets(self) -> Vec<ListedBucket> {
        self.buckets.map(|b| b.bucket).unwrap_or_default()
    }
}

/// `<Buckets>` of ListBuckets.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketList {
    /// Each `<Bucket>`.
    #[serde(default)]
    pub bucket: Vec<ListedBucket>,
}

/// One `<Bucket>` of ListBuckets.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListedBucket {
    /// The bucket's name.
    pub name: String,
    /// ISO 8601, as the server sent it.
    #[serde(default)]
    pub creation_date: String,
}

/// `DeleteObjects`' answer: the keys that could not be deleted.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteResult {
    /// Each `<Error>`.
    #[serde(default)]
    pub error: Vec<DeleteError>,
}

/// One key `DeleteObjects` could not delete.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteError {
    /// The key.
    #[serde(default)]
    pub key: String,
    /// The S3 error code.
    #[serde(default)]
    pub code: String,
    /// The server's message.
    #[serde(default)]
    pub message: String,
}

/// `CreateMultipartUpload`'s answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InitiateMultipartUploadResult {
    /// The upload's id.
    pub upload_id: String,
}

/// What an error answer says, from S3's `<Error>` XML or an RFC 9457
/// problem document (minnow's admin API); each part may be missing, and
/// the caller falls back on the HTTP status.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ErrorDocument {
    /// The S3 code (`AccessDenied`), or the problem type's last segment
    /// (`urn:minnow:admin:no-such-user` gives `no-such-user`).
    pub code: Option<String>,
    /// `<Message>`, or the problem's `detail` (else its `title`).
    pub message: Option<String>,
    /// `<BucketName>` of an S3 error.
    pub bucket_name: Option<String>,
    /// `<Key>` of an S3 error.
    pub key: Option<String>,
}

#[derive(Deserialize)]
struct ProblemBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    title: Option<String>,
    detail: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename = "Error", rename_all = "PascalCase")]
struct S3ErrorBody {
    code: Option<String>,
    message: Option<String>,
    bucket_name: Option<String>,
    key: Option<String>,
}

/// Reads an error answer: a problem document when `content_type` says
/// JSON, else (or if that fails) S3's `<Error>` XML; `None` when the body
/// is neither (a HEAD answer, a proxy's page).
pub fn read_error(content_type: &str, body: &[u8]) -> Option<ErrorDocument> {
    let non_empty = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    if content_type.contains("json") {
        if let Ok(problem) = serde_json::from_slice::<ProblemBody>(body) {
            return Some(ErrorDocument {
                code: problem
                    .kind
                    .as_deref()
                    .map(|t| t.rsplit([':', '/']).next().unwrap_or(t).to_string()),
                message: non_empty(problem.detail).or(non_empty(problem.title)),
                ..ErrorDocument::default()
            });
        }
    }
    let error: S3ErrorBody = parse(body).ok()?;
    Some(ErrorDocument {
        code: non_empty(error.code),
        message: non_empty(error.message),
        bucket_name: non_empty(error.bucket_name),
        key: non_empty(error.key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_reads_objects_folders_and_the_next_token() {
        let xml = r#"<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated><NextContinuationToken>tok</NextContinuationToken><Contents><Key>a &amp; b</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>"x"</ETag><Size>3</Size></Contents><Contents><Key>c</Key></Contents><CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes></ListBucketResult>"#;
        let doc: ListBucketResult = parse(xml.as_bytes()).unwrap();
        assert!(doc.is_truncated);
        assert_eq!(doc.next_continuation_token.as_deref(), Some("tok"));
        assert_eq!(doc.contents[0].key, "a & b");
        assert_eq!(doc.contents[0].size, 3);
        assert_eq!(doc.contents[0].etag, "\"x\"");
        assert_eq!(
            (doc.contents[1].size, doc.contents[1].etag.as_str()),
            (0, "")
        );
        assert_eq!(doc.common_prefixes[0].prefix, "dir/");
    }

    #[test]
    fn buckets_deletes_and_uploads_read() {
        let xml = r#"<ListAllMyBucketsResult><Owner><ID>1</ID></Owner><Buckets><Bucket><Name>one</Name><CreationDate>2024-01-01T00:00:00.000Z</CreationDate></Bucket><Bucket><Name>two</Name></Bucket></Buckets></ListAllMyBucketsResult>"#;
        let buckets = parse::<ListAllMyBucketsResult>(xml.as_bytes())
            .unwrap()
            .into_buckets();
        assert_eq!(buckets.len(), 2);
        assert_eq!(buckets[1].creation_date, "");
        let none = parse::<ListAllMyBucketsResult>(b"<ListAllMyBucketsResult/>").unwrap();
        assert!(none.into_buckets().is_empty());

        let xml = r#"<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>"#;
        let result: DeleteResult = parse(xml.as_bytes()).unwrap();
        assert_eq!(result.error.len(), 1);
        assert_eq!(result.error[0].code, "AccessDenied");

        let xml = r#"<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>"#;
        let init: InitiateMultipartUploadResult = parse(xml.as_bytes()).unwrap();
        assert_eq!(init.upload_id, "u1");
    }

    #[test]
    fn errors_read_s3_xml_and_problem_json() {
        let xml = b"<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>gone</Message><BucketName>b</BucketName><Key>k</Key></Error>";
        let doc = read_error("application/xml", xml).unwrap();
        assert_eq!(doc.code.as_deref(), Some("NoSuchKey"));
        assert_eq!(doc.message.as_deref(), Some("gone"));
        assert_eq!(
            (doc.bucket_name.as_deref(), doc.key.as_deref()),
            (Some("b"), Some("k"))
        );
        let problem =
            br#"{"type":"urn:minnow:admin:no-such-user","title":"No such user","detail":""}"#;
        let doc = read_error("application/problem+json", problem).unwrap();
        assert_eq!(doc.code.as_deref(), Some("no-such-user"));
        assert_eq!(doc.message.as_deref(), Some("No such user"));
        assert_eq!(read_error("text/plain", b""), None);
    }
}
