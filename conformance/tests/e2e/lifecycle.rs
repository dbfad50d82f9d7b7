//! Bucket lifecycle through the default SDK (which sends the configuration with a CRC32
//! checksum, not Content-MD5): put, get and delete the configuration, then watch a 1-day
//! expiration and a 1-day incomplete-upload abort happen on a server whose day is one second
//! (`MINNOW_LIFECYCLE_DAY_SECONDS=1`).

use std::time::{Duration, Instant};

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
};
use conformance::{expect_s3_error, unique_bucket, ServerOptions, TestServer};

use crate::common::{create_bucket, get_bytes, put_bytes, status_of};

/// A 1-day rule with 1 s days is due within seconds on an idle machine; the
/// slack is for a loaded one.
const EXPIRY_DEADLINE: Duration = Duration::from_secs(60);

fn one_second_day_server() -> Option<TestServer> {
    let server = TestServer::start_with(ServerOptions {
        env: vec![("MINNOW_LIFECYCLE_DAY_SECONDS".to_string(), "1".to_string())],
        ..ServerOptions::default()
    })
    .expect("starting server");
    if server.is_external() {
        eprintln!("external endpoint: its lifecycle day cannot be shortened; skipped");
        return None;
    }
    Some(server)
}

fn rules() -> BucketLifecycleConfiguration {
    let expire_tmp = LifecycleRule::builder()
        .id("expire-tmp")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("tmp/").build())
        .expiration(LifecycleExpiration::builder().days(1).build())
        .build()
        .unwrap();
    let abort_uploads = LifecycleRule::builder()
        .id("abort-uploads")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("uploads/").build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(1)
                .build(),
        )
        .build()
        .unwrap();
    BucketLifecycleConfiguration::builder()
        .rules(expire_tmp)
        .rules(abort_uploads)
        .build()
        .unwrap()
}

#[tokio::test]
async fn lifecycle_configuration_round_trips_and_deletes() {
    let Some(server) = one_second_day_server() else {
        return;
    };
    let client = server.s3_client();
    let bucket = unique_bucket("lifecycle-config");
    create_bucket(&client, &bucket).await;
    expect_s3_error(
        client
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await,
        404,
        "NoSuchLifecycleConfiguration",
    );
    client
        .put_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .lifecycle_configuration(rules())
        .send()
        .await
        .expect("PutBucketLifecycleConfiguration");
    let got = client
        .get_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetBucketLifecycleConfiguration");
    let mut ids: Vec<&str> = got.rules().iter().filter_map(|r| r.id()).collect();
    ids.sort();
    assert_eq!(ids, vec!["abort-uploads", "expire-tmp"]);
    let expire = got
        .rules()
        .iter()
        .find(|r| r.id() == Some("expire-tmp"))
        .unwrap();
    assert_eq!(expire.expiration().and_then(|e| e.days()), Some(1));
    assert_eq!(expire.status(), &ExpirationStatus::Enabled);

    client
        .delete_bucket_lifecycle()
        .bucket(&bucket)
        .send()
        .await
        .expect("DeleteBucketLifecycle");
    expect_s3_error(
        client
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await,
        404,
        "NoSuchLifecycleConfiguration",
    );
}

#[tokio::test]
async fn one_day_rules_expire_objects_and_abort_uploads_on_a_one_second_day() {
    let Some(server) = one_second_day_server() else {
        return;
    };
    let client = server.s3_client();
    let bucket = unique_bucket("lifecycle-expiry");
    create_bucket(&client, &bucket).await;
    client
        .put_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .lifecycle_configuration(rules())
        .send()
        .await
        .expect("PutBucketLifecycleConfiguration");
    put_bytes(&client, &bucket, "tmp/short-lived", b"expires").await;
    put_bytes(&client, &bucket, "keep/long-lived", b"stays").await;
    let upload_id = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key("uploads/abandoned")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_string();

    let started = Instant::now();
    let mut expired = false;
    let mut aborted = false;
    while started.elapsed() < EXPIRY_DEADLINE && !(expired && aborted) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if !expired {
            match client
                .head_object()
                .bucket(&bucket)
                .key("tmp/short-lived")
                .send()
                .await
            {
                Ok(_) => {}
                Err(error) => {
                    assert_eq!(status_of(&error), Some(404), "{error:?}");
                    expired = true;
                }
            }
        }
        if !aborted {
            let uploads = client
                .list_multipart_uploads()
                .bucket(&bucket)
                .send()
                .await
                .unwrap();
            aborted = !uploads
                .uploads()
                .iter()
                .any(|u| u.upload_id() == Some(upload_id.as_str()));
        }
    }
    assert!(
        expired,
        "tmp/short-lived still there {:?} after a 1-day rule with 1 s days",
        EXPIRY_DEADLINE
    );
    assert!(
        aborted,
        "uploads/abandoned still listed {:?} after a 1-day abort rule",
        EXPIRY_DEADLINE
    );
    assert_eq!(
        get_bytes(&client, &bucket, "keep/long-lived").await,
        b"stays"
    );
}

/// Rule: a rule filtered by tag expires only objects carrying that tag, whether the tag came
/// with the PUT (`x-amz-tagging`) or later from PutObjectTagging; objects without it, or with
/// another value, stay.
#[tokio::test]
async fn tag_filtered_rule_expires_only_tagged_objects() {
    use aws_sdk_s3::types::{LifecycleRuleAndOperator, Tag, Tagging};
    let Some(server) = one_second_day_server() else {
        return;
    };
    let client = server.s3_client();
    let bucket = unique_bucket("lifecycle-tags");
    create_bucket(&client, &bucket).await;
    let expire = Tag::builder().key("expire").value("yes").build().unwrap();
    let rule = LifecycleRule::builder()
        .id("expire-tagged")
        .status(ExpirationStatus::Enabled)
        .filter(
            LifecycleRuleFilter::builder()
                .and(
                    LifecycleRuleAndOperator::builder()
                        .prefix("")
                        .tags(expire.clone())
                        .build(),
                )
                .build(),
        )
        .expiration(LifecycleExpiration::builder().days(1).build())
        .build()
        .unwrap();
    let tag_only = LifecycleRule::builder()
        .id("expire-doomed")
        .status(ExpirationStatus::Enabled)
        .filter(
            LifecycleRuleFilter::builder()
                .tag(Tag::builder().key("doomed").value("1").build().unwrap())
                .build(),
        )
        .expiration(LifecycleExpiration::builder().days(1).build())
        .build()
        .unwrap();
    client
        .put_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(rule)
                .rules(tag_only)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("PutBucketLifecycleConfiguration with tag filters");

    client
        .put_object()
        .bucket(&bucket)
        .key("tagged-at-put")
        .tagging("expire=yes")
        .body(b"a".to_vec().into())
        .send()
        .await
        .unwrap();
    put_bytes(&client, &bucket, "tagged-later", b"b").await;
    client
        .put_object_tagging()
        .bucket(&bucket)
        .key("tagged-later")
        .tagging(Tagging::builder().tag_set(expire).build().unwrap())
        .send()
        .await
        .expect("PutObjectTagging");
    client
        .put_object()
        .bucket(&bucket)
        .key("doomed")
        .tagging("doomed=1")
        .body(b"c".to_vec().into())
        .send()
        .await
        .unwrap();
    put_bytes(&client, &bucket, "untagged", b"stays").await;
    client
        .put_object()
        .bucket(&bucket)
        .key("other-value")
        .tagging("expire=no")
        .body(b"stays too".to_vec().into())
        .send()
        .await
        .unwrap();

    let doomed = ["tagged-at-put", "tagged-later", "doomed"];
    let started = Instant::now();
    let mut gone = Vec::new();
    while started.elapsed() < EXPIRY_DEADLINE && gone.len() < doomed.len() {
        tokio::time::sleep(Duration::from_millis(500)).await;
        for key in doomed {
            if gone.contains(&key) {
                continue;
            }
            if let Err(error) = client.head_object().bucket(&bucket).key(key).send().await {
                assert_eq!(status_of(&error), Some(404), "{key}: {error:?}");
                gone.push(key);
            }
        }
    }
    gone.sort();
    assert_eq!(
        gone,
        vec!["doomed", "tagged-at-put", "tagged-later"],
        "tagged objects still there {EXPIRY_DEADLINE:?} after a 1-day rule with 1 s days"
    );
    assert_eq!(get_bytes(&client, &bucket, "untagged").await, b"stays");
    assert_eq!(
        get_bytes(&client, &bucket, "other-value").await,
        b"stays too"
    );
    // HEAD answers 404 from read-time expiry before the scanner has removed
    // the record, so the listing is polled until the scanner catches up.
    let mut listed = crate::common::list_keys(&client, &bucket, "").await;
    while listed != ["other-value", "untagged"] && started.elapsed() < EXPIRY_DEADLINE * 2 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        listed = crate::common::list_keys(&client, &bucket, "").await;
    }
    assert_eq!(listed, vec!["other-value", "untagged"]);
}

fn days_rule(id: &str, days: i32) -> LifecycleRule {
    LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .expiration(LifecycleExpiration::builder().days(days).build())
        .build()
        .unwrap()
}

/// Rule: refused configurations answer S3's codes — a repeated rule ID and `Days` of 0 are
/// `InvalidArgument`, a `Status` other than Enabled/Disabled is `MalformedXML` — and nothing
/// is stored.
#[tokio::test]
async fn invalid_lifecycle_configurations_answer_s3_codes() {
    let Some(server) = one_second_day_server() else {
        return;
    };
    let client = server.s3_client();
    let bucket = unique_bucket("lifecycle-invalid");
    create_bucket(&client, &bucket).await;
    let put = |rules: Vec<LifecycleRule>| {
        let client = client.clone();
        let bucket = bucket.clone();
        async move {
            client
                .put_bucket_lifecycle_configuration()
                .bucket(&bucket)
                .lifecycle_configuration(
                    BucketLifecycleConfiguration::builder()
                        .set_rules(Some(rules))
                        .build()
                        .unwrap(),
                )
                .send()
                .await
        }
    };
    expect_s3_error(
        put(vec![days_rule("same", 1), days_rule("same", 2)]).await,
        400,
        "InvalidArgument",
    );
    expect_s3_error(
        put(vec![days_rule("zero", 0)]).await,
        400,
        "InvalidArgument",
    );
    let lower_case_status = LifecycleRule::builder()
        .id("status")
        .status(ExpirationStatus::from("enabled"))
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .expiration(LifecycleExpiration::builder().days(1).build())
        .build()
        .unwrap();
    expect_s3_error(put(vec![lower_case_status]).await, 400, "MalformedXML");
    expect_s3_error(
        client
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await,
        404,
        "NoSuchLifecycleConfiguration",
    );
}

/// Rule: a `<Date>` rule expires what it selects at that midnight (UTC): a past date at once,
/// a future one announced as `x-amz-expiration: expiry-date="<RFC 1123 GMT>", rule-id="<id>"`
/// on PUT, GET and HEAD, exactly in that form.
#[tokio::test]
async fn date_rules_expire_at_midnight_and_announce_it_in_x_amz_expiration() {
    let Some(server) = one_second_day_server() else {
        return;
    };
    let client = server.s3_client();
    let bucket = unique_bucket("lifecycle-date");
    create_bucket(&client, &bucket).await;
    let date_rule = |id: &str, prefix: &str, secs: i64| {
        LifecycleRule::builder()
            .id(id)
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
            .expiration(
                LifecycleExpiration::builder()
                    .date(aws_smithy_types::DateTime::from_secs(secs))
                    .build(),
            )
            .build()
            .unwrap()
    };
    const JAN_1_2020: i64 = 1_577_836_800;
    const JAN_1_2099: i64 = 4_070_908_800;
    client
        .put_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(date_rule("past", "old/", JAN_1_2020))
                .rules(date_rule("far-future", "new/", JAN_1_2099))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("PutBucketLifecycleConfiguration with <Date> rules");

    let expected = r#"expiry-date="Thu, 01 Jan 2099 00:00:00 GMT", rule-id="far-future""#;
    let put = client
        .put_object()
        .bucket(&bucket)
        .key("new/doc")
        .body(b"until 2099".to_vec().into())
        .send()
        .await
        .unwrap();
    assert_eq!(put.expiration(), Some(expected), "PUT");
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("new/doc")
        .send()
        .await
        .unwrap();
    assert_eq!(head.expiration(), Some(expected), "HEAD");
    let get = client
        .get_object()
        .bucket(&bucket)
        .key("new/doc")
        .send()
        .await
        .unwrap();
    assert_eq!(get.expiration(), Some(expected), "GET");

    // A date already past: expired at once, and the object goes.
    put_bytes(&client, &bucket, "old/doc", b"expired").await;
    put_bytes(&client, &bucket, "keep/doc", b"stays").await;
    let started = Instant::now();
    let mut gone = false;
    while started.elapsed() < EXPIRY_DEADLINE && !gone {
        gone = match client
            .head_object()
            .bucket(&bucket)
            .key("old/doc")
            .send()
            .await
        {
            Ok(_) => false,
            Err(error) => {
                assert_eq!(status_of(&error), Some(404), "{error:?}");
                true
            }
        };
        if !gone {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    assert!(gone, "old/doc is past its rule's date but still there");
    let listed = crate::common::list_keys(&client, &bucket, "").await;
    assert_eq!(listed, vec!["keep/doc", "new/doc"]);
    assert_eq!(get_bytes(&client, &bucket, "keep/doc").await, b"stays");
}
