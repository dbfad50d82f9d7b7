//! Lifecycle at request time: the `x-amz-expiration` header on PUT, GET and
//! HEAD, `NoSuchKey` for objects whose expiry has passed (deleted in the
//! background, so reads never wait for the scanner), and the filter that
//! hides such objects from listings.
//!
//! Parsed configurations are cached per bucket and re-parsed only when the
//! stored bytes change, so the hot path costs a settings lookup (held in
//! memory by the store) and a byte comparison.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use http::HeaderValue;
use lifecycle::{DayLength, Expiry, LifecycleConfiguration, ObjectFacts};
use store::api::{BucketSetting, Catalog, ObjectInfo, ObjectStore, ObjectSummary};

use super::AppState;

/// Parsed lifecycle configurations by bucket, keyed on the stored bytes.
#[derive(Default)]
pub(crate) struct LifecycleCache {
    entries: Mutex<HashMap<String, (Bytes, Arc<LifecycleConfiguration>)>>,
}

impl LifecycleCache {
    /// The bucket's lifecycle configuration, if it has one with an enabled
    /// expiration rule (the only kind that changes what requests see).
    pub async fn expiring_config<S: Catalog>(
        &self,
        store: &S,
        bucket: &str,
    ) -> Option<Arc<LifecycleConfiguration>> {
        let stored = store
            .get_bucket_setting(bucket, BucketSetting::Lifecycle)
            .await
            .ok()??;
        {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((bytes, config)) = entries.get(bucket) {
                if *bytes == stored {
                    return config.has_enabled_expiration().then(|| config.clone());
                }
            }
        }
        let config = match LifecycleConfiguration::from_xml(&stored) {
            Ok(config) => Arc::new(config),
            Err(error) => {
                tracing::warn!(bucket, %error, "stored lifecycle configuration does not parse; ignoring it");
                return None;
            }
        };
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(bucket.to_string(), (stored, config.clone()));
        config.has_enabled_expiration().then_some(config)
    }
}

pub(crate) fn day_length<S>(state: &AppState<S>) -> DayLength {
    DayLength::from_secs(state.config.lifecycle_day.as_secs())
}

/// When (and by which rule) the object expires, if any rule says so.
pub(crate) async fn expiry_of<S: Catalog>(
    state: &AppState<S>,
    bucket: &str,
    info: &ObjectInfo,
) -> Option<Expiry> {
    let config = state
        .lifecycle
        .expiring_config(state.store.as_ref(), bucket)
        .await?;
    config.expiry(&ObjectFacts::from(info), day_length(state))
}

/// The `x-amz-expiration` value for an object, if a rule will expire it.
pub(crate) fn header_value(expiry: &Expiry) -> Option<HeaderValue> {
    HeaderValue::from_str(&expiry.header_value()).ok()
}

/// Adds `x-amz-expiration` to a write's response when a rule matches.
pub(crate) async fn annotate_write<S: Catalog>(
    state: &AppState<S>,
    bucket: &str,
    info: &ObjectInfo,
    headers: &mut http::HeaderMap,
) {
    if let Some(value) = expiry_of(state, bucket, info)
        .await
        .as_ref()
        .and_then(header_value)
    {
        headers.insert("x-amz-expiration", value);
    }
}

/// Deletes an expired object in the background, after checking it is still
/// the same (expired) version: a newer PUT must survive.
pub(crate) fn delete_in_background<S>(state: &AppState<S>, info: &ObjectInfo)
where
    S: ObjectStore + 'static,
{
    let store = state.store.clone();
    let (bucket, key, etag, modified) = (
        info.bucket.clone(),
        info.key.clone(),
        info.etag.clone(),
        info.last_modified,
    );
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        match store.head_object(&bucket, &key).await {
            Ok(current) if current.etag == etag && current.last_modified == modified => {
                if let Err(error) = store.delete_object(&bucket, &key).await {
                    tracing::debug!(%bucket, %key, %error, "deleting an expired object failed; the scanner will retry");
                }
            }
            _ => {}
        }
    });
}

/// Drops listed objects whose expiry has passed. Tags are not listed, so only
/// rules without tag conditions can hide an object here; the scanner deletes
/// the rest.
pub(crate) fn retain_unexpired(
    config: &LifecycleConfiguration,
    day: DayLength,
    now: SystemTime,
    objects: &mut Vec<ObjectSummary>,
) {
    objects.retain(|object| {
        let facts = ObjectFacts {
            key: object.key.clone(),
            size: object.size,
            tags: Default::default(),
            last_modified: object.last_modified,
        };
        config
            .expiry(&facts, day)
            .is_none_or(|expiry| expiry.at > now)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn listing_filter_hides_only_expired_objects() {
        let config = LifecycleConfiguration::from_xml(
            br#"<LifecycleConfiguration><Rule><ID>logs</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"#,
        )
        .unwrap();
        let day = DayLength::from_secs(10);
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        let summary = |key: &str, modified| ObjectSummary {
            key: key.into(),
            size: 1,
            etag: "e".into(),
            last_modified: at(modified),
        };
        let mut objects = vec![
            summary("logs/old", 100),
            summary("logs/new", 195),
            summary("data/old", 100),
        ];
        retain_unexpired(&config, day, at(200), &mut objects);
        let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["logs/new", "data/old"]);
    }
}
