//! Durability across process lifecycles: objects acknowledged before a graceful stop (SIGTERM)
//! or a crash (SIGKILL) are all there, byte-exact, after the server restarts on the same drives.

use conformance::{pattern_bytes, unique_bucket, TestServer};

use crate::common::{create_bucket, get_bytes, list_keys, put_bytes};

#[tokio::test]
async fn acknowledged_objects_survive_sigterm_and_sigkill_restarts() {
    let mut server = TestServer::start().expect("starting server");
    if server.is_external() {
        eprintln!("external endpoint: cannot restart it; skipped");
        return;
    }
    let bucket = unique_bucket("durability");
    let mut expected: Vec<(String, Vec<u8>)> = Vec::new();
    {
        let client = server.s3_client();
        create_bucket(&client, &bucket).await;
        for (index, size) in [0usize, 1, 4096, 200 * 1024, 3 * 1024 * 1024 + 1]
            .iter()
            .enumerate()
        {
            let key = format!("before-stop/{index}");
            let data = pattern_bytes(*size, 200 + index as u64);
            put_bytes(&client, &bucket, &key, &data).await;
            expected.push((key, data));
        }
    }

    let status = server.stop().expect("graceful stop");
    assert!(
        status.success(),
        "minnow exited with {status} after SIGTERM"
    );
    server.restart().expect("restart after SIGTERM");
    {
        let client = server.s3_client();
        for (key, data) in &expected {
            assert!(
                get_bytes(&client, &bucket, key).await == *data,
                "{key} after SIGTERM"
            );
        }
        for index in 0..3u64 {
            let key = format!("before-kill/{index}");
            let data = pattern_bytes(100_000 + index as usize, 300 + index);
            put_bytes(&client, &bucket, &key, &data).await;
            expected.push((key, data));
        }
    }

    server.kill9().expect("SIGKILL");
    server.restart().expect("restart after SIGKILL");
    let client = server.s3_client();
    for (key, data) in &expected {
        assert!(
            get_bytes(&client, &bucket, key).await == *data,
            "{key} after SIGKILL"
        );
    }
    let mut listed = list_keys(&client, &bucket, "").await;
    listed.sort();
    let mut keys: Vec<String> = expected.iter().map(|(k, _)| k.clone()).collect();
    keys.sort();
    assert_eq!(listed, keys);
}
