//! The Health page's data follows the drives: a drive folder taken away
//! while the console is open shows offline within the probe interval, and
//! online again once it is back (the store probes offline drives every 5 s).
//! Its lifecycle part shows the scanner's last cycle and the next expiries
//! per rule, from the admin API's `GET lifecycle`.

use std::time::{Duration, Instant};

use crate::common::{self, sign_in, start};
use conformance::{ServerOptions, TEST_ROOT_PASSWORD, TEST_ROOT_USER};
use reqwest::Method;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

async fn wait_for_drive(session: &common::ConsoleSession, index: usize, want: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, info) = session.call(Method::GET, "/api/health", None).await;
        assert_eq!(status, 200, "{info}");
        let drive = info["drives"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["index"] == index)
            .cloned()
            .unwrap();
        if drive["state"] == want {
            return info;
        }
        assert!(
            Instant::now() < deadline,
            "drive {index} did not become {want}: {info}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn health_shows_a_removed_drive_offline_and_its_return() {
    let stack = start(ServerOptions::default(), |_| {}).await.unwrap();
    let root = sign_in(&stack.console, TEST_ROOT_USER, TEST_ROOT_PASSWORD)
        .await
        .unwrap();
    let (_, info) = root.call(Method::GET, "/api/health", None).await;
    assert_eq!(info["state"], "online", "{info}");
    assert_eq!(info["layout"], "EC 2+2");

    let drive = stack.server.drives()[2].clone();
    let away = drive.with_extension("away");
    let index = info["drives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"].as_str() == Some(drive.to_str().unwrap()))
        .map(|d| d["index"].as_u64().unwrap() as usize)
        .expect("the drive is listed by path");
    std::fs::rename(&drive, &away).unwrap();
    let info = wait_for_drive(&root, index, "offline").await;
    assert_eq!(info["state"], "degraded", "{info}");

    std::fs::rename(&away, &drive).unwrap();
    let info = wait_for_drive(&root, index, "online").await;
    assert_eq!(info["state"], "online", "{info}");
}

/// The Health page's lifecycle scanner status: a rule added through the
/// console expires objects, and the console's metrics show the scanner's
/// completed cycles and the objects it expired.
#[tokio::test]
async fn scanner_status_counts_cycles_and_expired_objects() {
    let options = ServerOptions {
        env: vec![("MINNOW_LIFECYCLE_DAY_SECONDS".into(), "1".into())],
        ..ServerOptions::default()
    };
    let stack = start(options, |_| {}).await.unwrap();
    let root = sign_in(&stack.console, TEST_ROOT_USER, TEST_ROOT_PASSWORD)
        .await
        .unwrap();
    let bucket = "scanner-status";
    let (status, body) = root
        .call(
            Method::POST,
            "/api/buckets",
            Some(serde_json::json!({ "name": bucket })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = root
        .call(
            Method::POST,
            &format!("/api/buckets/{bucket}/lifecycle"),
            Some(serde_json::json!({ "prefix": "tmp/", "days": 1 })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let s3 = stack.server.s3_client();
    for i in 0..3 {
        s3.put_object()
            .bucket(bucket)
            .key(format!("tmp/{i}"))
            .body(b"short-lived".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, metrics) = root.call(Method::GET, "/api/metrics", None).await;
        assert_eq!(status, 200, "{metrics}");
        let scanner = &metrics["lifecycle"];
        // The cycle that expires them completes after it expired them.
        if scanner["objectsExpired"].as_f64() >= Some(3.0)
            && scanner["cycles"].as_f64() >= Some(1.0)
        {
            assert!(scanner["objectsScanned"].as_f64() >= Some(3.0), "{scanner}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the scanner status never showed a cycle and 3 expired objects: {scanner}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Asks the admin API (signed as root) for the scanner's report.
async fn lifecycle_report(server: &conformance::TestServer) -> Value {
    let response = conformance::raw_http::send_signed(
        server,
        "GET",
        "/minnow/admin/v1/lifecycle",
        &[],
        Vec::new(),
        conformance::signing::PayloadSigning::Sha256,
    )
    .await
    .unwrap();
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    serde_json::from_slice(&response.body).unwrap()
}

fn rfc3339(text: &Value) -> time::OffsetDateTime {
    let text = text.as_str().unwrap_or_else(|| panic!("a date: {text}"));
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// After a scanner cycle over a bucket with a 7-day `temp/` rule, the admin
/// API names that rule with the objects' expiry: the first midnight UTC
/// after last-modified + 7 days (S3's rounding), counted on that day; keys
/// outside the rule are not in it. The console serves the same report.
#[tokio::test]
async fn next_expiries_name_the_rule_and_the_midnight_seven_days_on() {
    // A real day (so the date is S3's), cycles a short pause apart.
    let options = ServerOptions {
        env: vec![("MINNOW_LIFECYCLE_SCAN_PAUSE".into(), "0.2".into())],
        ..ServerOptions::default()
    };
    let stack = start(options, |_| {}).await.unwrap();
    let root = sign_in(&stack.console, TEST_ROOT_USER, TEST_ROOT_PASSWORD)
        .await
        .unwrap();
    let bucket = "next-expiries";
    let (status, body) = root
        .call(
            Method::POST,
            "/api/buckets",
            Some(serde_json::json!({ "name": bucket })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = root
        .call(
            Method::POST,
            &format!("/api/buckets/{bucket}/lifecycle"),
            Some(serde_json::json!({ "prefix": "temp/", "days": 7 })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rule_id = body["rules"][0]["id"].as_str().unwrap().to_string();
    let s3 = stack.server.s3_client();
    let mut modified = Vec::new();
    for key in ["temp/a.txt", "temp/b.txt", "keep/c.txt"] {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(b"due in a week".to_vec().into())
            .send()
            .await
            .unwrap();
        let head = s3
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        modified.push(head.last_modified().unwrap().secs());
    }

    let deadline = Instant::now() + WAIT;
    let report = loop {
        let report = lifecycle_report(&stack.server).await;
        let ours = report["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["bucket"] == bucket && r["objects"] == 2);
        if ours {
            break report;
        }
        assert!(
            Instant::now() < deadline,
            "no scanner cycle reported the 7-day rule's objects: {report}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(report["running"], true, "{report}");
    let cycle = &report["lastCycle"];
    assert!(
        rfc3339(&cycle["ended"]) >= rfc3339(&cycle["started"]),
        "{cycle}"
    );
    assert!(cycle["durationMs"].is_u64(), "{cycle}");
    let rules: Vec<&Value> = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["bucket"] == bucket)
        .collect();
    assert_eq!(
        rules.len(),
        1,
        "only the temp/ rule has objects due: {report}"
    );
    let rule = rules[0];
    assert_eq!(rule["ruleId"], rule_id.as_str(), "{rule}");
    let soonest = rule["soonest"].as_array().unwrap();
    let keys: Vec<&str> = soonest.iter().map(|e| e["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["temp/a.txt", "temp/b.txt"], "{rule}");
    const DAY: i64 = 86_400;
    for (entry, mtime) in soonest.iter().zip(&modified) {
        let expires = rfc3339(&entry["expires"]);
        let want = ((mtime + 7 * DAY) / DAY + 1) * DAY;
        assert_eq!(
            expires.unix_timestamp(),
            want,
            "{entry}: midnight after mtime + 7 days"
        );
        assert_eq!(
            (expires.hour(), expires.minute(), expires.second()),
            (0, 0, 0),
            "{entry}"
        );
    }
    // Counted by day: objects written today under a 7-day rule fall due at
    // the eighth midnight from the cycle, the last one counted.
    let per_day = rule["perDay"].as_array().unwrap();
    assert_eq!(per_day.len(), 8, "{rule}");
    assert_eq!(rule["later"], 0, "{rule}");
    for entry in soonest {
        let due = rfc3339(&entry["expires"]);
        let same_day = soonest
            .iter()
            .filter(|e| rfc3339(&e["expires"]) == due)
            .count();
        let day = per_day
            .iter()
            .find(|d| rfc3339(&d["dueBy"]) == due)
            .unwrap_or_else(|| panic!("{entry} is not among the days counted: {rule}"));
        assert_eq!(day["objects"], same_day, "{rule}");
    }

    // The console's Health page reads the same report.
    let (status, through_console) = root.call(Method::GET, "/api/health/lifecycle", None).await;
    assert_eq!(status, 200, "{through_console}");
    assert!(
        through_console["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["bucket"] == bucket && r["ruleId"] == rule_id.as_str()),
        "{through_console}"
    );
}
