//! Response documents, serialised with quick-xml. Field order follows the
//! S3 API reference; `None` fields are left out.

use serde::Serialize;
use store::api::{Checksum, ChecksumAlgorithm};

use super::NAMESPACE;

fn ns() -> &'static str {
    NAMESPACE
}

/// `<Owner>` / `<Initiator>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "DisplayName")]
    pub display_name: String,
}

/// The `ChecksumXXX` elements; at most one is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChecksumFields {
    #[serde(rename = "ChecksumCRC32", skip_serializing_if = "Option::is_none")]
    pub crc32: Option<String>,
    #[serde(rename = "ChecksumCRC32C", skip_serializing_if = "Option::is_none")]
    pub crc32c: Option<String>,
    #[serde(rename = "ChecksumCRC64NVME", skip_serializing_if = "Option::is_none")]
    pub crc64nvme: Option<String>,
    #[serde(rename = "ChecksumSHA1", skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    #[serde(rename = "ChecksumSHA256", skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl ChecksumFields {
    pub fn from_checksum(checksum: Option<&Checksum>) -> Self {
        let mut fields = Self::default();
        if let Some(checksum) = checksum {
            let value = Some(checksum.value_b64.clone());
            match checksum.algorithm {
                ChecksumAlgorithm::Crc32 => fields.crc32 = value,
                ChecksumAlgorithm::Crc32c => fields.crc32c = value,
                ChecksumAlgorithm::Crc64Nvme => fields.crc64nvme = value,
                ChecksumAlgorithm::Sha1 => fields.sha1 = value,
                ChecksumAlgorithm::Sha256 => fields.sha256 = value,
            }
        }
        fields
    }
}

/// ListBuckets.
#[derive(Debug, Clone, Serialize)]
pub struct ListAllMyBucketsResult {
    #[serde(rename = "@xmlns", serialize_with = "ser_ns")]
    pub xmlns: (),
    #[serde(rename = "Owner")]
    pub owner: Owner,
    #[serde(rename = "Buckets")]
    pub buckets: Buckets,
    /// Where the next page starts, when `max-buckets` cut this one short.
    #[serde(rename = "ContinuationToken", skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    /// The `prefix` the request asked for, echoed.
    #[serde(rename = "Prefix", skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Buckets {
    #[serde(rename = "Bucket", default)]
    pub bucket: Vec<BucketEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BucketEntry {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "CreationDate")]
    pub creation_date: String,
}

fn ser_ns<S: serde::Serializer>(_: &(), serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(ns())
}

/// One `<Contents>` of a listing.
#[derive(Debug, Clone, Serialize)]
pub struct ListEntry {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "LastModified")]
    pub last_modified: String,
    #[serde(rename = "ETag")]
    pub etag: String,
    #[serde(rename = "Size")]
    pub size: u64,
    #[serde(rename = "Owner", skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    #[serde(rename = "StorageClass")]
    pub storage_class: &'static str,
    /// MinIO's `metadata=true` extension: `X-Amz-Meta-*` and `content-type`
    /// of the object, one element each.
    #[serde(rename = "UserMetadata", skip_serializing_if = "Option::is_none")]
    pub user_metadata: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommonPrefix {
    #[serde(rename = "Prefix")]
    pub prefix: String,
}

/// ListObjects (v1).
#[derive(Debug, Clone, Serialize)]
pub struct ListBucketResultV1 {
    #[serde(rename = "@xmlns", serialize_with = "ser_ns")]
    pub xmlns: (),
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Prefix")]
    pub prefix: String,
    #[serde(rename = "Marker")]
    pub marker: String,
    #[serde(rename = "NextMarker", skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    #[serde(rename = "MaxKeys")]
    pub max_keys: usize,
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<String>,
    #[serde(rename = "Contents")]
    pub contents: Vec<ListEntry>,
    #[serde(rename = "CommonPrefixes")]
    pub common_prefixes: Vec<CommonPrefix>,
}

/// ListObjectsV2.
#[derive(Debug, Clone, Serialize)]
pub struct ListBucketResultV2 {
    #[serde(rename = "@xmlns", serialize_with = "ser_ns")]
    pub xmlns: (),
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Prefix")]
    pub prefix: String,
    #[serde(rename = "KeyCount")]
    pub key_count: usize,
    #[serde(rename = "MaxKeys")]
    pub max_keys: usize,
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "ContinuationToken", skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    #[serde(
        rename = "NextContinuationToken",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_continuation_token: Option<String>,
    #[serde(rename = "StartAfter", skip_serializing_if = "Option::is_none")]
    pub start_after: Option<String>,
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<String>,
    #[serde(rename = "Contents")]
    pub contents: Vec<ListEntry>,
    #[serde(rename = "CommonPrefixes")]
    pub common_prefixes: Vec<CommonPrefix>,
}

/// DeleteObjects.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeleteResult {
    #[serde(rename = "@xmlns", serialize_with = "ser_ns")]
    pub xmlns: (),
    #[serde(rename = "Deleted")]
    pub deleted: Vec<DeletedEntry>,
    #[serde(rename = "Error")]
    pub errors: Vec<DeleteErrorEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeletedEntry {
    #[serde(rename = "Key")]
    pub key: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeleteErrorEntry {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Code")]
    pub code: String,
    #[serde(rename = "Message")]
    pub message: String,
}

/// CopyObject.
#[derive(Debug, Clone, Serialize)]
pub struct CopyObjectResult {
    #[serde(rename = "@xmlns", serialize_with = "ser_ns")]
    pub xmlns: (),
    #[serde(rename = "ETag")]
    pub etag: String,
    #[serde(rename = "LastModified")]
    pub last_modified: String,
    #[serde(flatten)]
    pub checksum: ChecksumFields,
}

/// POST Object with `success_action_status=201` (S3 sends it without a namespace).
#[derive(Debug, Clone, Serialize)]
pub struct PostResponse {
    #[serde(rename = "Location")]
    pub location: String,
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "ETag")]
    pub etag: String,
}

/// UploadPartCopy.
#[derive(Debug, Clone, Serialize)]
pub struct CopyPartResult {
    #[serde(rename = "@xmlns", serialize_with = "ser_ns")]
    pub xmlns: (),
    #[serde(rename = "ETag")]
    pub etag: String,
    #[serde(rename = "LastModified")]
    pub last_modified: String,
    #[serde(flatten)]
    pub checksum: ChecksumFields,
}

/// CreateMultipartUpload.
#[derive(Debug, Clone, Serialize)]
pub struct InitiateMultipartUploadResult {
    #[serde(rename = "@xmlns", serialize_with = "ser_ns")]
    pub xmlns: (),
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "UploadId")]
    pub upload_id: String,
}

/// CompleteMultipartUpload.
#[derive(Debug, Clone, Serialize)]
pub struct CompleteMultipartUploadResult {
    #[serde(rename = "@xmlns", serialize_with = "ser_ns")]
    pub xmlns: (),
    #[serde(rename = "Location")]
    pub location: String,
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "ETag")]
    pub etag: String,
    #[serde(flatten)]
    pub checksum: ChecksumFields,
    /// COMPOSITE or FULL_OBJECT, when the object has a checksum.
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<&'static str>,
}

/// ListParts.
#[derive(Debug, Clone, Serialize)]
pub struct ListPartsResult {
    #[serde(rename = "@xmlns", serialize_with = "ser_ns")]
    pub xmlns: (),
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "UploadId")]
    pub upload_id: String,
    #[serde(rename = "Initiator")]
    pub initiator: Owner,
    #[serde(rename = "Owner")]
    pub owner: Owner,
    #[serde(rename = "StorageClass")]
    pub storage_class: &'static str,
    #[serde(rename = "PartNumberMarker")]
    pub part_number_marker: u32,
    #[serde(rename = "NextPartNumberMarker")]
    pub next_part_number_marker: u32,
    #[serde(rename = "MaxParts")]
    pub max_parts: usize,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "Part")]
    pub parts: Vec<PartEntry>,
    #[serde(rename = "ChecksumAlgorithm", skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartEntry {
    #[serde(rename = "PartNumber")]
    pub part_number: u32,
    #[serde(rename = "LastModified")]
    pub last_modified: String,
    #[serde(rename = "ETag")]
    pub etag: String,
    #[serde(rename = "Size")]
    pub size: u64,
    #[serde(flatten)]
    pub checksum: ChecksumFields,
}

/// ListMultipartUploads.
#[derive(Debug, Clone, Serialize)]
pub struct ListMultipartUploadsResult {
    #[serde(rename = "@xmlns", serialize_with = "ser_ns")]
    pub xmlns: (),
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "KeyMarker")]
    pub key_marker: String,
    #[serde(rename = "UploadIdMarker")]
    pub upload_id_marker: String,
    #[serde(rename = "NextKeyMarker")]
    pub next_key_marker: String,
    #[serde(rename = "NextUploadIdMarker")]
    pub next_upload_id_marker: String,
    #[serde(rename = "Prefix")]
    pub prefix: String,
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(rename = "MaxUploads")]
    pub max_uploads: usize,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<String>,
    #[serde(rename = "Upload")]
    pub uploads: Vec<UploadEntry>,
    #[serde(rename = "CommonPrefixes")]
    pub common_prefixes: Vec<CommonPrefix>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UploadEntry {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "UploadId")]
    pub upload_id: String,
    #[serde(rename = "Initiator")]
    pub initiator: Owner,
    #[serde(rename = "Owner")]
    pub owner: Owner,
    #[serde(rename = "StorageClass")]
    pub storage_class: &'static str,
    #[serde(rename = "Initiated")]
    pub initiated: String,
    #[serde(rename = "ChecksumAlgorithm", skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<&'static str>,
}

/// GetBucketLocation: empty for us-east-1, as S3 answers.
#[derive(Debug, Clone, Serialize)]
pub struct LocationConstraint {
    #[serde(rename = "@xmlns", serialize_with = "ser_ns")]
    pub xmlns: (),
    #[serde(rename = "$text")]
    pub region: String,
}

/// GetBucketVersioning of a bucket that never had versioning.
#[derive(Debug, Clone, Serialize)]
pub struct VersioningConfiguration {
    #[serde(rename = "@xmlns", serialize_with = "ser_ns")]
    pub xmlns: (),
}

/// GetBucketAcl / GetObjectAcl: the owner has FULL_CONTROL, as MinIO answers.
#[derive(Debug, Clone, Serialize)]
pub struct AccessControlPolicy {
    #[serde(rename = "@xmlns", serialize_with = "ser_ns")]
    pub xmlns: (),
    #[serde(rename = "Owner")]
    pub owner: Owner,
    #[serde(rename = "AccessControlList")]
    pub access_control_list: AccessControlList,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccessControlList {
    #[serde(rename = "Grant")]
    pub grants: Vec<Grant>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    #[serde(rename = "Grantee")]
    pub grantee: Grantee,
    #[serde(rename = "Permission")]
    pub permission: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Grantee {
    #[serde(rename = "@xmlns:xsi")]
    pub xmlns_xsi: &'static str,
    #[serde(rename = "@xsi:type")]
    pub xsi_type: &'static str,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "DisplayName")]
    pub display_name: String,
}

impl AccessControlPolicy {
    pub fn owner_full_control(owner: Owner) -> Self {
        Self {
            xmlns: (),
            access_control_list: AccessControlList {
                grants: vec![Grant {
                    grantee: Grantee {
                        xmlns_xsi: "http://www.w3.org/2001/XMLSchema-instance",
                        xsi_type: "CanonicalUser",
                        id: owner.id.clone(),
                        display_name: owner.display_name.clone(),
                    },
                    permission: "FULL_CONTROL",
                }],
            },
            owner,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::to_xml;

    fn owner() -> Owner {
        Owner {
            id: "id1".into(),
            display_name: "minnow".into(),
        }
    }

    #[test]
    fn list_buckets_document() {
        let doc = ListAllMyBucketsResult {
            xmlns: (),
            owner: owner(),
            buckets: Buckets {
                bucket: vec![BucketEntry {
                    name: "photos".into(),
                    creation_date: "2006-02-03T16:45:09.000Z".into(),
                }],
            },
            continuation_token: None,
            prefix: None,
        };
        assert_eq!(
            to_xml("ListAllMyBucketsResult", &doc).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <Owner><ID>id1</ID><DisplayName>minnow</DisplayName></Owner><Buckets><Bucket><Name>photos</Name>\
             <CreationDate>2006-02-03T16:45:09.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>"
        );
        let empty = ListAllMyBucketsResult {
            xmlns: (),
            owner: owner(),
            buckets: Buckets { bucket: vec![] },
            continuation_token: None,
            prefix: None,
        };
        assert!(to_xml("ListAllMyBucketsResult", &empty)
            .unwrap()
            .contains("<Buckets/>"));
    }

    #[test]
    fn list_v2_document_skips_absent_fields_and_repeats_lists() {
        let doc = ListBucketResultV2 {
            xmlns: (),
            name: "b".into(),
            prefix: "".into(),
            key_count: 2,
            max_keys: 1000,
            delimiter: Some("/".into()),
            is_truncated: false,
            continuation_token: None,
            next_continuation_token: None,
            start_after: None,
            encoding_type: None,
            contents: vec![ListEntry {
                key: "a&b".into(),
                last_modified: "2006-02-03T16:45:09.000Z".into(),
                etag: "\"e\"".into(),
                size: 3,
                owner: None,
                storage_class: "STANDARD",
                user_metadata: None,
            }],
            common_prefixes: vec![
                CommonPrefix {
                    prefix: "d/".into(),
                },
                CommonPrefix {
                    prefix: "e/".into(),
                },
            ],
        };
        let xml = to_xml("ListBucketResult", &doc).unwrap();
        assert!(xml.contains("<Name>b</Name><Prefix/><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>false</IsTruncated><Contents>"), "{xml}");
        assert!(xml.contains("<Key>a&amp;b</Key>"), "{xml}");
        assert!(
            xml.contains("<ETag>&quot;e&quot;</ETag>") || xml.contains("<ETag>\"e\"</ETag>"),
            "{xml}"
        );
        assert!(xml.contains("<CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>e/</Prefix></CommonPrefixes>"), "{xml}");
        assert!(!xml.contains("ContinuationToken"), "{xml}");
    }

    #[test]
    fn complete_result_flattens_the_checksum() {
        let doc = CompleteMultipartUploadResult {
            xmlns: (),
            location: "http://h/b/k".into(),
            bucket: "b".into(),
            key: "k".into(),
            etag: "\"abc-2\"".into(),
            checksum: ChecksumFields::from_checksum(Some(&Checksum {
                algorithm: ChecksumAlgorithm::Crc32,
                value_b64: "AAAAAA==-2".into(),
            })),
            checksum_type: Some("COMPOSITE"),
        };
        let xml = to_xml("CompleteMultipartUploadResult", &doc).unwrap();
        assert!(xml.contains("<Key>k</Key><ETag>"), "{xml}");
        assert!(
            xml.ends_with(
                "<ChecksumCRC32>AAAAAA==-2</ChecksumCRC32><ChecksumType>COMPOSITE</ChecksumType></CompleteMultipartUploadResult>"
            ),
            "{xml}"
        );
    }

    #[test]
    fn location_constraint_is_empty_for_us_east_1() {
        let xml = to_xml(
            "LocationConstraint",
            &LocationConstraint {
                xmlns: (),
                region: String::new(),
            },
        )
        .unwrap();
        assert!(
            xml.ends_with(
                "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"
            ),
            "{xml}"
        );
        let xml = to_xml(
            "LocationConstraint",
            &LocationConstraint {
                xmlns: (),
                region: "eu-west-1".into(),
            },
        )
        .unwrap();
        assert!(xml.ends_with(">eu-west-1</LocationConstraint>"), "{xml}");
    }

    #[test]
    fn delete_result_lists_deleted_and_errors() {
        let doc = DeleteResult {
            xmlns: (),
            deleted: vec![DeletedEntry { key: "a".into() }],
            errors: vec![DeleteErrorEntry {
                key: "b".into(),
                code: "AccessDenied".into(),
                message: "no".into(),
            }],
        };
        let xml = to_xml("DeleteResult", &doc).unwrap();
        assert!(xml.contains("<Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code><Message>no</Message></Error>"), "{xml}");
        let quiet = DeleteResult::default();
        assert!(to_xml("DeleteResult", &quiet)
            .unwrap()
            .ends_with("<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"));
    }

    #[test]
    fn acl_document_has_xsi_type_grantee() {
        let xml = to_xml(
            "AccessControlPolicy",
            &AccessControlPolicy::owner_full_control(owner()),
        )
        .unwrap();
        assert!(xml.contains("<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\"><ID>id1</ID>"), "{xml}");
        assert!(
            xml.contains("<Permission>FULL_CONTROL</Permission>"),
            "{xml}"
        );
    }
}

/// GetObjectTagging.
#[derive(Debug, Clone, Serialize)]
pub struct TaggingResult {
    #[serde(rename = "@xmlns", serialize_with = "ser_ns")]
    pub xmlns: (),
    #[serde(rename = "TagSet")]
    pub tag_set: TagSetResult,
}

#[derive(Debug, Clone, Serialize)]
pub struct TagSetResult {
    #[serde(rename = "Tag", default)]
    pub tags: Vec<TagResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TagResult {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value")]
    pub value: String,
}

/// GetObjectAttributes; elements not asked for are left out (`TotalPartsCount` is sent as
/// `<PartsCount>`, the element name in S3's model). The ETag is
/// unquoted here, as S3 answers it.
#[derive(Debug, Clone, Serialize)]
pub struct GetObjectAttributesResponse {
    #[serde(rename = "@xmlns", serialize_with = "ser_ns")]
    pub xmlns: (),
    #[serde(rename = "ETag", skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(rename = "Checksum", skip_serializing_if = "Option::is_none")]
    pub checksum: Option<ObjectChecksum>,
    #[serde(rename = "ObjectParts", skip_serializing_if = "Option::is_none")]
    pub object_parts: Option<ObjectParts>,
    #[serde(rename = "StorageClass", skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<&'static str>,
    #[serde(rename = "ObjectSize", skip_serializing_if = "Option::is_none")]
    pub object_size: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectChecksum {
    #[serde(flatten)]
    pub fields: ChecksumFields,
    #[serde(rename = "ChecksumType")]
    pub checksum_type: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectParts {
    #[serde(rename = "PartsCount")]
    pub total_parts_count: u32,
    #[serde(rename = "PartNumberMarker")]
    pub part_number_marker: usize,
    #[serde(rename = "NextPartNumberMarker")]
    pub next_part_number_marker: usize,
    #[serde(rename = "MaxParts")]
    pub max_parts: usize,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "Part", default)]
    pub parts: Vec<ObjectPartEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectPartEntry {
    #[serde(rename = "PartNumber")]
    pub part_number: u32,
    #[serde(rename = "Size")]
    pub size: u64,
    #[serde(flatten)]
    pub checksum: ChecksumFields,
}
