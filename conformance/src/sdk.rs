//! aws-sdk-s3 shortcuts every end-to-end suite needs, so the suites share one
//! copy.

use aws_sdk_s3::Client;

/// Listing pages followed before giving up (the restart scenario lists
/// thousands of keys at 1,000 a page).
const MAX_PAGES: usize = 1000;

/// All keys under `prefix`, following continuation tokens.
pub async fn list_keys(client: &Client, bucket: &str, prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("list {bucket} prefix {prefix:?}: {e:?}"));
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        if page.is_truncated() == Some(true) {
            token = page.next_continuation_token().map(str::to_string);
            assert!(token.is_some(), "truncated page without continuation token");
        } else {
            return keys;
        }
    }
    panic!("listing {bucket} did not finish within {MAX_PAGES} pages");
}
