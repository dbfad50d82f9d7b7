//! ListObjects (v1) and ListObjectsV2: query parameters → `ListParams`,
//! `ListPage` → ListBucketResult, `encoding-type=url`, and the opaque v2
//! continuation token (URL-safe base64 of the last key or prefix returned).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::Response;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::collections::BTreeMap;
use std::time::SystemTime;

use store::api::{Catalog, ListPage, ListParams, ObjectStore};

use super::{expiry, query_number, xml_response, AccessCheck, AppState, RequestContext};
use crate::error::ApiError;
use crate::router::Query;
use crate::xml::response::{CommonPrefix, ListBucketResultV1, ListBucketResultV2, ListEntry};
use crate::xml::{quote_etag, timestamp, to_xml};
use crate::ResponseBody;

/// S3's page size limit and default.
pub const MAX_KEYS: usize = 1000;

/// Characters left as-is by `encoding-type=url`: unreserved ones and `/`.
const URL_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Encodes a key the way `encoding-type=url` asks. A space is `%20`, never
/// `+`: every URL decoder reads `%20` as a space, while `+` is a space only
/// to form decoders (a client that path-decodes would see `a+b` for `a b`).
pub fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, URL_ENCODE_SET).to_string()
}

/// Whether `encoding-type=url` was asked; other values are refused as S3 does.
pub(super) fn encoding_type(query: &Query) -> Result<bool, ApiError> {
    match query.get("encoding-type") {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("url") => Ok(true),
        Some(v) => Err(ApiError::invalid_argument(
            "Invalid Encoding Method specified in Request",
            "encoding-type",
            v,
        )),
    }
}

pub fn encode_continuation_token(marker: &str) -> String {
    URL_SAFE_NO_PAD.encode(marker.as_bytes())
}

pub fn decode_continuation_token(token: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            ApiError::invalid_argument(
                "The continuation token provided is incorrect",
                "continuation-token",
                token,
            )
        })
}

fn max_keys(query: &Query) -> Result<usize, ApiError> {
    let raw = query.get("max-keys").unwrap_or("");
    if raw.trim().starts_with('-') {
        return Err(ApiError::invalid_argument(
            "Argument maxKeys must be an integer between 0 and 2147483647",
            "maxKeys",
            raw,
        ));
    }
    Ok(query_number(query, "max-keys", MAX_KEYS)?.min(MAX_KEYS))
}

/// A query parameter's value, unless absent or empty.
pub(super) fn non_empty_param(query: &Query, name: &str) -> Option<String> {
    query
        .get(name)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The parameters every listing (objects v1/v2, multipart uploads) shares.
pub(super) struct ListingQuery {
    /// `encoding-type=url` was asked.
    pub encode: bool,
    pub prefix: String,
    pub delimiter: Option<String>,
}

impl ListingQuery {
    pub(super) fn parse(query: &Query) -> Result<Self, ApiError> {
        Ok(Self {
            encode: encoding_type(query)?,
            prefix: query.get("prefix").unwrap_or("").to_string(),
            delimiter: non_empty_param(query, "delimiter"),
        })
    }

    /// A key or prefix as the answer shows it (URL-encoded when asked).
    pub(super) fn name(&self, s: &str) -> String {
        if self.encode {
            url_encode(s)
        } else {
            s.to_string()
        }
    }

    /// `<EncodingType>` of the answer.
    pub(super) fn encoding_type(&self) -> Option<String> {
        self.encode.then(|| "url".to_string())
    }
}

async fn fetch_page<S: ObjectStore + Catalog>(
    state: &AppState<S>,
    bucket: &str,
    params: ListParams,
) -> Result<ListPage, ApiError> {
    if params.max_keys == 0 {
        // Still answer NoSuchBucket for a missing bucket.
        let mut probe = params.clone();
        probe.max_keys = 1;
        state.store.list_objects(bucket, probe).await?;
        return Ok(ListPage::default());
    }
    let mut page = state.store.list_objects(bucket, params).await?;
    if let Some(config) = state
        .lifecycle
        .expiring_config(state.store.as_ref(), bucket)
        .await
    {
        expiry::retain_unexpired(
            &config,
            expiry::day_length(state),
            SystemTime::now(),
            &mut page.objects,
        );
    }
    Ok(page)
}

fn entries(
    page: &ListPage,
    listing: &ListingQuery,
    owner: Option<&crate::xml::response::Owner>,
) -> (Vec<ListEntry>, Vec<CommonPrefix>) {
    let name = |s: &str| listing.name(s);
    let contents = page
        .objects
        .iter()
        .map(|o| ListEntry {
            key: name(&o.key),
            last_modified: timestamp(o.last_modified),
            etag: quote_etag(&o.etag),
            size: o.size,
            owner: owner.cloned(),
            storage_class: "STANDARD",
            user_metadata: None,
        })
        .collect();
    let prefixes = page
        .common_prefixes
        .iter()
        .map(|p| CommonPrefix { prefix: name(p) })
        .collect();
    (contents, prefixes)
}

/// MinIO's ListObjectsV2 `metadata=true` extension (minio-js
/// `listObjectsV2WithMetadata`): each listed object carries `<UserMetadata>`
/// with its `X-Amz-Meta-*` entries and `content-type`. The listing holds no
/// metadata, so each object is read with a HEAD. Metadata is what a GET
/// would reveal, so objects the caller may not `s3:GetObject` are listed
/// without it rather than failing the listing.
async fn add_user_metadata<S: ObjectStore + Catalog + 'static>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
    page: &ListPage,
    contents: &mut [ListEntry],
) -> Result<(), ApiError> {
    let access = AccessCheck::new(&state.iam, &ctx.auth.identity, Some(bucket)).await?;
    for (object, entry) in page.objects.iter().zip(contents.iter_mut()) {
        if !access.allows("s3:GetObject", Some(bucket), Some(&object.key)) {
            continue;
        }
        // Deleted since it was listed: listed without metadata.
        let Ok(info) = state.store.head_object(bucket, &object.key).await else {
            continue;
        };
        let attributes = &info.attributes;
        let mut metadata: BTreeMap<String, String> = attributes
            .user_metadata
            .iter()
            .map(|(name, value)| {
                (
                    format!("X-Amz-Meta-{}", canonical_name(name)),
                    value.clone(),
                )
            })
            // Element names must be XML names; an HTTP token may hold more.
            .filter(|(name, _)| {
                name.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            })
            .collect();
        if let Some(content_type) = &attributes.content_type {
            metadata.insert("content-type".into(), content_type.clone());
        }
        entry.user_metadata = Some(metadata);
    }
    Ok(())
}

/// `foo-bar` → `Foo-Bar`, the header spelling MinIO (Go's
/// `http.CanonicalHeaderKey`) reports metadata names in.
fn canonical_name(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

pub(super) async fn list_objects_v2<S: ObjectStore + Catalog + 'static>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let query = &ctx.query;
    let listing = ListingQuery::parse(query)?;
    let max_keys = max_keys(query)?;
    let start_after = non_empty_param(query, "start-after");
    // An empty token is no token (S3, MinIO); with a token, `start-after`
    // is ignored (it only names where the first page starts).
    let continuation_token = non_empty_param(query, "continuation-token");
    let token_marker = continuation_token
        .as_deref()
        .map(decode_continuation_token)
        .transpose()?;
    let fetch_owner = query
        .get("fetch-owner")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let marker = token_marker.or_else(|| start_after.clone());
    let page = fetch_page(
        state,
        bucket,
        ListParams {
            prefix: listing.prefix.clone(),
            delimiter: listing.delimiter.clone(),
            start_after: marker,
            max_keys,
        },
    )
    .await?;
    let owner = fetch_owner.then(|| state.owner());
    let (mut contents, common_prefixes) = entries(&page, &listing, owner.as_ref());
    if query.get("metadata") == Some("true") {
        add_user_metadata(state, ctx, bucket, &page, &mut contents).await?;
    }
    let doc = ListBucketResultV2 {
        xmlns: (),
        name: bucket.to_string(),
        prefix: listing.name(&listing.prefix),
        key_count: contents.len() + common_prefixes.len(),
        max_keys,
        delimiter: listing.delimiter.as_deref().map(|d| listing.name(d)),
        is_truncated: page.is_truncated,
        continuation_token,
        next_continuation_token: if page.is_truncated {
            page.next_marker.as_deref().map(encode_continuation_token)
        } else {
            None
        },
        start_after: start_after.as_deref().map(|s| listing.name(s)),
        encoding_type: listing.encoding_type(),
        contents,
        common_prefixes,
    };
    Ok(xml_response(to_xml("ListBucketResult", &doc)?))
}

pub(super) async fn list_objects_v1<S: ObjectStore + Catalog>(
    state: &AppState<S>,
    ctx: &RequestContext,
    bucket: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let query = &ctx.query;
    let listing = ListingQuery::parse(query)?;
    let max_keys = max_keys(query)?;
    let marker = query.get("marker").unwrap_or("").to_string();
    let page = fetch_page(
        state,
        bucket,
        ListParams {
            prefix: listing.prefix.clone(),
            delimiter: listing.delimiter.clone(),
            start_after: (!marker.is_empty()).then(|| marker.clone()),
            max_keys,
        },
    )
    .await?;
    let owner = state.owner();
    let (contents, common_prefixes) = entries(&page, &listing, Some(&owner));
    // S3 sends NextMarker only with a delimiter; without one clients use the last key.
    let next_marker = if page.is_truncated && listing.delimiter.is_some() {
        page.next_marker.as_deref().map(|m| listing.name(m))
    } else {
        None
    };
    let doc = ListBucketResultV1 {
        xmlns: (),
        name: bucket.to_string(),
        prefix: listing.name(&listing.prefix),
        marker: listing.name(&marker),
        next_marker,
        max_keys,
        delimiter: listing.delimiter.as_deref().map(|d| listing.name(d)),
        is_truncated: page.is_truncated,
        encoding_type: listing.encoding_type(),
        contents,
        common_prefixes,
    };
    Ok(xml_response(to_xml("ListBucketResult", &doc)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_keeps_slashes_and_encodes_spaces_as_percent_20() {
        assert_eq!(url_encode("a b/c&d.txt"), "a%20b/c%26d.txt");
        assert_eq!(url_encode("a+b"), "a%2Bb");
        assert_eq!(url_encode("é"), "%C3%A9");
        assert_eq!(url_encode("\u{1}"), "%01");
    }

    #[test]
    fn continuation_token_round_trips_and_rejects_garbage() {
        for marker in ["a", "dir/with space/é", ""] {
            assert_eq!(
                decode_continuation_token(&encode_continuation_token(marker)).unwrap(),
                marker
            );
        }
        assert!(decode_continuation_token("!!!").is_err());
    }

    #[test]
    fn max_keys_parsing() {
        let q = |s: &str| Query::parse(Some(s)).unwrap();
        assert_eq!(max_keys(&q("")).unwrap(), 1000);
        assert_eq!(max_keys(&q("max-keys=5")).unwrap(), 5);
        assert_eq!(max_keys(&q("max-keys=5000")).unwrap(), 1000);
        assert_eq!(max_keys(&q("max-keys=0")).unwrap(), 0);
        assert!(max_keys(&q("max-keys=-1")).is_err());
        assert!(max_keys(&q("max-keys=abc")).is_err());
    }

    #[test]
    fn encoding_type_must_be_url() {
        let q = |s: &str| Query::parse(Some(s)).unwrap();
        assert!(!encoding_type(&q("")).unwrap());
        assert!(encoding_type(&q("encoding-type=url")).unwrap());
        assert!(encoding_type(&q("encoding-type=base64")).is_err());
    }
}
