//! Copies read their source with the caller's rights: a user who may write bucket A but not
//! read bucket B cannot copy B's objects into A, whether by CopyObject or UploadPartCopy.

use std::sync::OnceLock;

use aws_sdk_s3::error::ProvideErrorMetadata;
use conformance::{unique_bucket, TestServer};

use crate::common::{add_user_with_policy, create_bucket, object_exists, put_bytes, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

fn only_bucket_policy(bucket: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"]}}]}}"#
    )
}

#[tokio::test]
async fn a_user_cannot_copy_from_a_bucket_it_cannot_read() {
    let server = shared_server(&SERVER);
    let root = server.s3_client();
    let mine = unique_bucket("atk-copy-mine");
    let theirs = unique_bucket("atk-copy-theirs");
    create_bucket(&root, &mine).await;
    create_bucket(&root, &theirs).await;
    put_bytes(&root, &theirs, "secret.txt", b"their secret").await;
    put_bytes(&root, &mine, "own.txt", b"mine").await;

    let user = unique_bucket("atk-copy-user");
    let secret = add_user_with_policy(server, &user, &only_bucket_policy(&mine)).await;
    let s3 = server.s3_client_with_credentials(&user, &secret);

    // Within its own bucket the user may copy (the policy works at all).
    s3.copy_object()
        .bucket(&mine)
        .key("own-copy.txt")
        .copy_source(format!("{mine}/own.txt"))
        .send()
        .await
        .expect("copy inside the user's bucket");

    let refused = s3
        .copy_object()
        .bucket(&mine)
        .key("stolen.txt")
        .copy_source(format!("{theirs}/secret.txt"))
        .send()
        .await
        .expect_err("cross-bucket copy must be refused");
    assert_eq!(refused.code(), Some("AccessDenied"), "{refused:?}");
    assert!(!object_exists(&root, &mine, "stolen.txt").await);

    let upload = s3
        .create_multipart_upload()
        .bucket(&mine)
        .key("stolen-parts")
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap();
    let refused = s3
        .upload_part_copy()
        .bucket(&mine)
        .key("stolen-parts")
        .upload_id(upload_id)
        .part_number(1)
        .copy_source(format!("{theirs}/secret.txt"))
        .send()
        .await
        .expect_err("cross-bucket part copy must be refused");
    assert_eq!(refused.code(), Some("AccessDenied"), "{refused:?}");
    let parts = s3
        .list_parts()
        .bucket(&mine)
        .key("stolen-parts")
        .upload_id(upload_id)
        .send()
        .await
        .unwrap();
    assert!(parts.parts().is_empty());
}
