//! When objects expire and uploads go stale: S3 day rounding, Date rules,
//! filters, disabled and overlapping rules, and shortened days.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lifecycle::*;
use proptest::prelude::*;
use time::macros::datetime;
use time::OffsetDateTime;

fn at(t: OffsetDateTime) -> SystemTime {
    SystemTime::from(t)
}

fn facts(key: &str, size: u64, tags: &[(&str, &str)], last_modified: SystemTime) -> ObjectFacts {
    ObjectFacts {
        key: key.into(),
        size,
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        last_modified,
    }
}

fn xml(rules: &str) -> LifecycleConfiguration {
    LifecycleConfiguration::from_xml(
        format!("<LifecycleConfiguration>{rules}</LifecycleConfiguration>").as_bytes(),
    )
    .unwrap()
}

fn days_rule(id: &str, filter: &str, days: u32) -> String {
    format!("<Rule><ID>{id}</ID>{filter}<Status>Enabled</Status><Expiration><Days>{days}</Days></Expiration></Rule>")
}

const DAY: DayLength = DayLength::from_secs(86_400);

#[test]
fn days_round_up_to_the_next_midnight_utc() {
    // The example from the S3 documentation.
    let config = xml(&days_rule("r", "<Filter/>", 3));
    let expiry = config
        .expiry(
            &facts("k", 1, &[], at(datetime!(2014-01-15 10:30 UTC))),
            DAY,
        )
        .unwrap();
    assert_eq!(expiry.at, at(datetime!(2014-01-19 0:00 UTC)));
    assert_eq!(expiry.rule_id, "r");
}

#[test]
fn object_created_exactly_at_midnight_expires_at_the_following_midnight() {
    let config = xml(&days_rule("r", "<Filter/>", 1));
    let exact = config.expiry(&facts("k", 1, &[], at(datetime!(2014-01-15 0:00 UTC))), DAY);
    assert_eq!(exact.unwrap().at, at(datetime!(2014-01-17 0:00 UTC)));
    let just_before = config.expiry(
        &facts("k", 1, &[], at(datetime!(2014-01-14 23:59:59 UTC))),
        DAY,
    );
    assert_eq!(just_before.unwrap().at, at(datetime!(2014-01-16 0:00 UTC)));
    let just_after = config.expiry(
        &facts("k", 1, &[], at(datetime!(2014-01-15 0:00:00.001 UTC))),
        DAY,
    );
    assert_eq!(just_after.unwrap().at, at(datetime!(2014-01-17 0:00 UTC)));
}

#[test]
fn date_rule_applies_from_its_date_even_to_newer_objects() {
    let config = xml("<Rule><ID>d</ID><Filter/><Status>Enabled</Status><Expiration><Date>2020-03-01T00:00:00Z</Date></Expiration></Rule>");
    for created in [
        datetime!(2019-01-01 0:00 UTC),
        datetime!(2021-07-04 12:00 UTC),
    ] {
        let expiry = config
            .expiry(&facts("k", 1, &[], at(created)), DAY)
            .unwrap();
        assert_eq!(expiry.at, at(datetime!(2020-03-01 0:00 UTC)));
    }
}

#[test]
fn prefix_tag_and_size_filters_select_objects() {
    let config = xml(&[
        days_rule("prefix", "<Filter><Prefix>temp/</Prefix></Filter>", 1),
        days_rule("tag", "<Filter><Tag><Key>kind</Key><Value>scratch</Value></Tag></Filter>", 2),
        days_rule("big", "<Filter><ObjectSizeGreaterThan>1000</ObjectSizeGreaterThan></Filter>", 3),
        days_rule("small", "<Filter><ObjectSizeLessThan>10</ObjectSizeLessThan></Filter>", 4),
        days_rule(
            "and",
            "<Filter><And><Prefix>logs/</Prefix><Tag><Key>a</Key><Value>1</Value></Tag><ObjectSizeGreaterThan>100</ObjectSizeGreaterThan><ObjectSizeLessThan>200</ObjectSizeLessThan></And></Filter>",
            5,
        ),
    ]
    .concat());
    let t = at(datetime!(2024-05-05 5:00 UTC));
    let rule_of = |f: ObjectFacts| config.expiry(&f, DAY).map(|e| e.rule_id);
    assert_eq!(
        rule_of(facts("temp/x", 500, &[], t)).as_deref(),
        Some("prefix")
    );
    assert_eq!(rule_of(facts("tmp/x", 500, &[], t)), None);
    assert_eq!(
        rule_of(facts("x", 500, &[("kind", "scratch")], t)).as_deref(),
        Some("tag")
    );
    assert_eq!(rule_of(facts("x", 500, &[("kind", "keep")], t)), None);
    assert_eq!(rule_of(facts("x", 1001, &[], t)).as_deref(), Some("big"));
    assert_eq!(
        rule_of(facts("x", 1000, &[], t)),
        None,
        "greater-than is strict"
    );
    assert_eq!(rule_of(facts("x", 9, &[], t)).as_deref(), Some("small"));
    assert_eq!(rule_of(facts("x", 10, &[], t)), None, "less-than is strict");
    assert_eq!(
        rule_of(facts("logs/a", 150, &[("a", "1"), ("b", "2")], t)).as_deref(),
        Some("and")
    );
    assert_eq!(rule_of(facts("logs/a", 150, &[("a", "2")], t)), None);
    assert_eq!(rule_of(facts("logs/a", 250, &[("a", "1")], t)), None);
    assert_eq!(rule_of(facts("other/a", 150, &[("a", "1")], t)), None);
}

#[test]
fn disabled_rules_and_delete_marker_rules_never_expire_anything() {
    let config = xml("<Rule><ID>off</ID><Filter/><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule>\
        <Rule><ID>dm</ID><Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>");
    assert_eq!(config.expiry(&facts("k", 1, &[], UNIX_EPOCH), DAY), None);
    assert!(!config.has_enabled_expiration());
}

#[test]
fn overlapping_rules_the_earliest_expiry_wins_and_ties_go_to_the_first() {
    let config = xml(&[
        days_rule("thirty", "<Filter/>", 30),
        days_rule("seven", "<Filter><Prefix>a/</Prefix></Filter>", 7),
        days_rule("seven-too", "<Filter><Prefix>a/b</Prefix></Filter>", 7),
        "<Rule><ID>dated</ID><Filter><Prefix>a/b/c</Prefix></Filter><Status>Enabled</Status><Expiration><Date>2000-01-01T00:00:00Z</Date></Expiration></Rule>".into(),
    ]
    .concat());
    let t = at(datetime!(2024-01-01 12:00 UTC));
    let rule_of = |key: &str| config.expiry(&facts(key, 1, &[], t), DAY).unwrap().rule_id;
    assert_eq!(rule_of("z"), "thirty");
    assert_eq!(rule_of("a/x"), "seven");
    assert_eq!(rule_of("a/bx"), "seven");
    assert_eq!(rule_of("a/b/c/d"), "dated");
}

#[test]
fn a_shortened_day_scales_days_and_rounds_to_its_own_multiples() {
    let config = xml(&days_rule("r", "<Filter/>", 2));
    let day = DayLength::from_secs(10);
    let created = UNIX_EPOCH + Duration::from_secs(1_000_005);
    let expiry = config.expiry(&facts("k", 1, &[], created), day).unwrap();
    assert_eq!(expiry.at, UNIX_EPOCH + Duration::from_secs(1_000_030));
    let on_boundary = UNIX_EPOCH + Duration::from_secs(1_000_000);
    let expiry = config
        .expiry(&facts("k", 1, &[], on_boundary), day)
        .unwrap();
    assert_eq!(expiry.at, UNIX_EPOCH + Duration::from_secs(1_000_030));
    assert_eq!(DayLength::from_secs(0).as_secs(), 1);
    assert_eq!(DayLength::default().as_secs(), 86_400);
}

#[test]
fn expiry_header_names_date_and_rule() {
    let expiry = Expiry {
        at: at(datetime!(2012-12-23 0:00 UTC)),
        rule_id: "picture-deletion-rule".into(),
    };
    assert_eq!(
        expiry.header_value(),
        r#"expiry-date="Sun, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule""#
    );
    let expiry = Expiry {
        at: at(datetime!(2012-12-21 0:00 UTC)),
        rule_id: "r".into(),
    };
    assert_eq!(
        expiry.header_value(),
        r#"expiry-date="Fri, 21 Dec 2012 00:00:00 GMT", rule-id="r""#
    );
}

#[test]
fn stale_uploads_follow_prefix_rules_but_not_size_filters_or_disabled_rules() {
    let abort = |id: &str, filter: &str, status: &str, days: u32| {
        format!("<Rule><ID>{id}</ID>{filter}<Status>{status}</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>{days}</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>")
    };
    let config = xml(&[
        abort(
            "uploads",
            "<Filter><Prefix>up/</Prefix></Filter>",
            "Enabled",
            2,
        ),
        abort(
            "sized",
            "<Filter><ObjectSizeGreaterThan>1</ObjectSizeGreaterThan></Filter>",
            "Enabled",
            1,
        ),
        abort("off", "<Filter/>", "Disabled", 1),
        abort("legacy", "<Prefix>up/fast/</Prefix>", "Enabled", 1),
    ]
    .concat());
    let started = at(datetime!(2024-02-10 8:00 UTC));
    assert_eq!(
        config.abort_upload_at("up/file", started, DAY),
        Some((at(datetime!(2024-02-13 0:00 UTC)), "uploads".to_string()))
    );
    assert_eq!(
        config.abort_upload_at("up/fast/file", started, DAY),
        Some((at(datetime!(2024-02-12 0:00 UTC)), "legacy".to_string()))
    );
    assert_eq!(config.abort_upload_at("elsewhere", started, DAY), None);
    assert!(config.has_enabled_upload_abort());
}

#[test]
fn expiration_prefixes_are_minimal_sorted_and_ignore_inactive_rules() {
    let config = xml(&[
        days_rule("t", "<Filter><Prefix>temp/</Prefix></Filter>", 1),
        days_rule("l", "<Prefix>logs/</Prefix>", 1),
        days_rule("lo", "<Filter><And><Prefix>logs/old/</Prefix><Tag><Key>a</Key><Value>b</Value></Tag></And></Filter>", 1),
        days_rule("a", "<Filter><Prefix>a</Prefix></Filter>", 1),
        days_rule("ab", "<Filter><Prefix>ab</Prefix></Filter>", 1),
        "<Rule><ID>off</ID><Filter><Prefix>b</Prefix></Filter><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule>".into(),
        "<Rule><ID>mpu</ID><Filter><Prefix>c</Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>".into(),
    ]
    .concat());
    assert_eq!(config.expiration_prefixes(), vec!["a", "logs/", "temp/"]);
    let everything = xml(&[
        days_rule("t", "<Filter><Prefix>temp/</Prefix></Filter>", 1),
        days_rule(
            "tag",
            "<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>",
            1,
        ),
    ]
    .concat());
    assert_eq!(everything.expiration_prefixes(), vec![""]);
}

proptest! {
    #[test]
    fn days_expiry_is_the_first_day_boundary_after_creation_plus_days(
        created_secs in 0u64..4_000_000_000,
        nanos in 0u32..1_000_000_000,
        days in 1u32..3650,
        day_secs in prop_oneof![Just(86_400u64), 1u64..100_000],
    ) {
        let day = DayLength::from_secs(day_secs);
        let created = UNIX_EPOCH + Duration::new(created_secs, nanos);
        let config = xml(&days_rule("r", "<Filter/>", days));
        let expiry = config.expiry(&facts("k", 0, &[], created), day).unwrap();
        let at_secs = expiry.at.duration_since(UNIX_EPOCH).unwrap();
        prop_assert_eq!(at_secs.subsec_nanos(), 0);
        let at_secs = at_secs.as_secs();
        let deadline = created_secs + u64::from(days) * day_secs;
        prop_assert_eq!(at_secs % day_secs, 0);
        prop_assert!(at_secs > deadline);
        prop_assert!(at_secs <= deadline + day_secs);
    }

    #[test]
    fn the_earliest_of_overlapping_rules_wins(
        rules in proptest::collection::vec((1u32..400, any::<bool>(), 0usize..3), 1..8),
        created_secs in 0u64..3_000_000_000,
    ) {
        let prefixes = ["", "a/", "a/b/"];
        let xml_rules: String = rules
            .iter()
            .enumerate()
            .map(|(i, (days, enabled, p))| format!(
                "<Rule><ID>r{i}</ID><Filter><Prefix>{}</Prefix></Filter><Status>{}</Status><Expiration><Days>{days}</Days></Expiration></Rule>",
                prefixes[*p],
                if *enabled { "Enabled" } else { "Disabled" },
            ))
            .collect();
        let config = xml(&xml_rules);
        let created = UNIX_EPOCH + Duration::from_secs(created_secs);
        for key in ["a/b/c", "a/x", "z"] {
            let expected = rules
                .iter()
                .enumerate()
                .filter(|(_, (_, enabled, p))| *enabled && key.starts_with(prefixes[*p]))
                .min_by_key(|(i, (days, _, _))| (*days, *i))
                .map(|(i, _)| format!("r{i}"));
            let got = config.expiry(&facts(key, 0, &[], created), DAY).map(|e| e.rule_id);
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn filters_agree_with_their_definition(
        key in "[a-c/]{0,6}",
        prefix in "[a-c/]{0,3}",
        size in 0u64..50,
        bound in 0u64..50,
        tag_value in "[xy]",
        has_tag in any::<bool>(),
    ) {
        let tags: BTreeMap<String, String> = if has_tag {
            [("t".to_string(), tag_value.clone())].into()
        } else {
            BTreeMap::new()
        };
        let tag = Tag { key: "t".into(), value: "x".into() };
        prop_assert_eq!(RuleFilter::Prefix(prefix.clone()).matches_object(&key, size, &tags), key.starts_with(&prefix));
        prop_assert_eq!(RuleFilter::ObjectSizeGreaterThan(bound).matches_object(&key, size, &tags), size > bound);
        prop_assert_eq!(RuleFilter::ObjectSizeLessThan(bound).matches_object(&key, size, &tags), size < bound);
        prop_assert_eq!(RuleFilter::Tag(tag.clone()).matches_object(&key, size, &tags), has_tag && tag_value == "x");
        let and = RuleFilter::And(AndFilter {
            prefix: Some(prefix.clone()),
            tags: vec![tag],
            object_size_greater_than: Some(bound),
            object_size_less_than: None,
        });
        prop_assert_eq!(
            and.matches_object(&key, size, &tags),
            key.starts_with(&prefix) && has_tag && tag_value == "x" && size > bound
        );
    }
}
