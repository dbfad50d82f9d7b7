//! Object tagging: GetObjectTagging, PutObjectTagging, DeleteObjectTagging.
//! Tags live in the object's metadata (`ObjectAttributes::tags`), so the
//! lifecycle scanner's tag filters read the same set these operations
//! write; changing them keeps the object's data and Last-Modified.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body::Body;
use store::api::ObjectStore;

use super::headers::check_tags;
use super::{collect_small_body, empty_response, xml_response, AppState, RequestContext};
use crate::error::ApiError;
use crate::xml::request::Tagging;
use crate::xml::response::{TagResult, TagSetResult, TaggingResult};
use crate::xml::to_xml;
use crate::{BoxError, ResponseBody};

pub(super) async fn get_tagging<S: ObjectStore>(
    state: &AppState<S>,
    bucket: &str,
    key: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let info = state.store.head_object(bucket, key).await?;
    let doc = TaggingResult {
        xmlns: (),
        tag_set: TagSetResult {
            tags: info
                .attributes
                .tags
                .into_iter()
                .map(|(key, value)| TagResult { key, value })
                .collect(),
        },
    };
    Ok(xml_response(to_xml("Tagging", &doc)?))
}

pub(super) async fn put_tagging<S: ObjectStore, B>(
    state: &AppState<S>,
    ctx: &RequestContext,
    body: B,
    bucket: &str,
    key: &str,
) -> Result<Response<ResponseBody>, ApiError>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let body = collect_small_body(ctx, body, state.config.max_xml_body, false).await?;
    let doc = Tagging::parse(&body)?;
    let tags = check_tags(
        doc.tag_set
            .tags
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_str())),
    )?;
    state.store.update_tags(bucket, key, tags).await?;
    Ok(empty_response(StatusCode::OK))
}

pub(super) async fn delete_tagging<S: ObjectStore>(
    state: &AppState<S>,
    bucket: &str,
    key: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    state
        .store
        .update_tags(bucket, key, Default::default())
        .await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}
