//! PutBucketLifecycleConfiguration bodies: what is accepted, how it reads
//! back, and every refusal with the S3 error it maps to.

use lifecycle::*;
use time::macros::datetime;

fn config(rules: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{rules}</LifecycleConfiguration>"#
    )
}

fn parse(rules: &str) -> Result<LifecycleConfiguration, LifecycleError> {
    LifecycleConfiguration::from_xml(config(rules).as_bytes())
}

fn only_rule(rules: &str) -> LifecycleRule {
    let mut parsed = parse(rules).expect("valid configuration");
    assert_eq!(parsed.rules.len(), 1);
    parsed.rules.remove(0)
}

#[test]
fn prefix_filter_with_days_parses() {
    let rule = only_rule(
        "<Rule><ID>temp-cleanup</ID><Filter><Prefix>temp/</Prefix></Filter><Status>Enabled</Status>\
         <Expiration><Days>7</Days></Expiration></Rule>",
    );
    assert_eq!(rule.id, "temp-cleanup");
    assert_eq!(rule.status, RuleStatus::Enabled);
    assert_eq!(rule.filter, RuleFilter::Prefix("temp/".into()));
    assert_eq!(rule.expiration, Some(Expiration::Days(7)));
    assert!(rule.abort_incomplete_multipart_upload.is_none());
}

#[test]
fn every_filter_form_parses() {
    let cases = [
        ("<Prefix>logs/</Prefix>", RuleFilter::LegacyPrefix("logs/".into())),
        ("<Filter></Filter>", RuleFilter::All),
        ("<Filter/>", RuleFilter::All),
        ("<Filter><Prefix></Prefix></Filter>", RuleFilter::Prefix(String::new())),
        (
            "<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>",
            RuleFilter::Tag(Tag { key: "k".into(), value: "v".into() }),
        ),
        (
            "<Filter><ObjectSizeGreaterThan>0</ObjectSizeGreaterThan></Filter>",
            RuleFilter::ObjectSizeGreaterThan(0),
        ),
        (
            "<Filter><ObjectSizeLessThan>1024</ObjectSizeLessThan></Filter>",
            RuleFilter::ObjectSizeLessThan(1024),
        ),
        (
            "<Filter><And><Prefix>a/</Prefix><Tag><Key>k1</Key><Value>v1</Value></Tag>\
             <Tag><Key>k2</Key><Value></Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan>\
             <ObjectSizeLessThan>20</ObjectSizeLessThan></And></Filter>",
            RuleFilter::And(AndFilter {
                prefix: Some("a/".into()),
                tags: vec![
                    Tag { key: "k1".into(), value: "v1".into() },
                    Tag { key: "k2".into(), value: String::new() },
                ],
                object_size_greater_than: Some(10),
                object_size_less_than: Some(20),
            }),
        ),
    ];
    for (filter, expected) in cases {
        let rule = only_rule(&format!(
            "<Rule><ID>r</ID>{filter}<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
        ));
        assert_eq!(rule.filter, expected, "{filter}");
    }
}

#[test]
fn date_expiration_accepts_iso_forms_at_midnight_utc() {
    for date in [
        "2012-12-23T00:00:00.000Z",
        "2012-12-23T00:00:00Z",
        "2012-12-23",
        "2012-12-23T01:00:00+01:00",
    ] {
        let rule = only_rule(&format!(
            "<Rule><ID>d</ID><Filter/><Status>Enabled</Status><Expiration><Date>{date}</Date></Expiration></Rule>"
        ));
        assert_eq!(
            rule.expiration,
            Some(Expiration::Date(datetime!(2012-12-23 0:00 UTC))),
            "{date}"
        );
    }
}

#[test]
fn versioning_only_actions_are_accepted_and_kept() {
    let rule = only_rule(
        "<Rule><ID>nv</ID><Filter/><Status>Enabled</Status>\
         <Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>\
         <NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>\
         <NoncurrentVersionTransition><NoncurrentDays>10</NoncurrentDays><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition>\
         </Rule>",
    );
    assert_eq!(
        rule.expiration,
        Some(Expiration::ExpiredObjectDeleteMarker(true))
    );
    assert_eq!(
        rule.noncurrent_version_expiration,
        Some(NoncurrentVersionExpiration {
            noncurrent_days: Some(30),
            newer_noncurrent_versions: Some(2)
        })
    );
    assert_eq!(rule.noncurrent_version_transitions.len(), 1);
    assert!(!rule.expires_objects());
}

#[test]
fn abort_incomplete_multipart_upload_parses() {
    let rule = only_rule(
        "<Rule><ID>mpu</ID><Filter><Prefix>up/</Prefix></Filter><Status>Disabled</Status>\
         <AbortIncompleteMultipartUpload><DaysAfterInitiation>3</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>",
    );
    assert_eq!(rule.status, RuleStatus::Disabled);
    assert_eq!(
        rule.abort_incomplete_multipart_upload,
        Some(AbortIncompleteMultipartUpload {
            days_after_initiation: 3
        })
    );
}

#[test]
fn whitespace_and_element_order_do_not_matter_but_prefix_text_is_verbatim() {
    let rule = only_rule(
        "\n  <Rule>\n    <Status> Enabled </Status>\n    <Expiration>\n      <Days> 5 </Days>\n    </Expiration>\n    \
         <Filter>\n      <Prefix> spaced </Prefix>\n    </Filter>\n    <ID>x</ID>\n  </Rule>\n",
    );
    assert_eq!(rule.filter, RuleFilter::Prefix(" spaced ".into()));
    assert_eq!(rule.expiration, Some(Expiration::Days(5)));
}

#[test]
fn missing_ids_are_generated_unique_and_stable() {
    let rules = "<Rule><Filter><Prefix>a/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>\
                 <Rule><Filter><Prefix>a/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>\
                 <Rule><ID></ID><Filter><Prefix>b/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>";
    let first = parse(rules).unwrap();
    let second = parse(rules).unwrap();
    assert_eq!(first, second, "generated IDs are stable across parses");
    let ids: std::collections::BTreeSet<_> = first.rules.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), 3);
    assert!(first
        .rules
        .iter()
        .all(|r| !r.id.is_empty() && r.id.len() <= MAX_RULE_ID_LEN));
    // Reading back the written document keeps the generated IDs.
    assert_eq!(
        LifecycleConfiguration::from_xml(first.to_xml().as_bytes()).unwrap(),
        first
    );
}

#[test]
fn to_xml_round_trips_every_form() {
    let rules = "<Rule><ID>a&amp;b &lt;c&gt; \"q\"</ID><Prefix>legacy/</Prefix><Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>\
        <Rule><ID>all</ID><Filter/><Status>Disabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule>\
        <Rule><ID>tag</ID><Filter><Tag><Key>kind</Key><Value>tmp &amp; junk</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>\
        <Rule><ID>and</ID><Filter><And><Prefix>x/</Prefix><Tag><Key>a</Key><Value>1</Value></Tag><ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>\
        <Rule><ID>gt</ID><Filter><ObjectSizeGreaterThan>100</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><Expiration><Days>4</Days></Expiration>\
        <AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>\
        <Rule><ID>lt</ID><Filter><ObjectSizeLessThan>100</ObjectSizeLessThan></Filter><Status>Enabled</Status>\
        <NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>\
        <NoncurrentVersionTransition><NoncurrentDays>2</NoncurrentDays></NoncurrentVersionTransition>\
        <NoncurrentVersionTransition><StorageClass>X</StorageClass><NoncurrentDays>3</NoncurrentDays></NoncurrentVersionTransition></Rule>\
        <Rule><ID>dm</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration></Rule>";
    let parsed = parse(rules).unwrap();
    assert_eq!(parsed.rules.len(), 7);
    let written = parsed.to_xml();
    assert!(written.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#));
    assert!(
        written.contains("<Date>2030-01-01T00:00:00.000Z</Date>"),
        "{written}"
    );
    assert_eq!(
        LifecycleConfiguration::from_xml(written.as_bytes()).unwrap(),
        parsed
    );
}

#[test]
fn a_thousand_rules_are_accepted() {
    let rules: String = (0..MAX_RULES)
        .map(|i| format!("<Rule><ID>r{i}</ID><Filter><Prefix>p{i}/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"))
        .collect();
    assert_eq!(parse(&rules).unwrap().rules.len(), MAX_RULES);
}

const OK_ACTION: &str = "<Expiration><Days>1</Days></Expiration>";

fn rule_with(body: &str) -> String {
    format!("<Rule>{body}</Rule>")
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Malformed,
    Argument,
    Request,
}

fn kind(error: &LifecycleError) -> Kind {
    match error {
        LifecycleError::MalformedXml(_) => Kind::Malformed,
        LifecycleError::InvalidArgument(_) => Kind::Argument,
        LifecycleError::InvalidRequest(_) => Kind::Request,
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn every_refusal_maps_to_the_s3_error() {
    let f = "<Filter/>";
    let on = "<Status>Enabled</Status>";
    let cases: Vec<(&str, String, Kind)> = vec![
        ("unparsable", "<Rule><ID>x</Rule>".into(), Kind::Malformed),
        ("no rules", String::new(), Kind::Malformed),
        ("unknown rule element", rule_with(&format!("{f}{on}{OK_ACTION}<Color>red</Color>")), Kind::Malformed),
        ("unknown filter element", rule_with(&format!("<Filter><Suffix>x</Suffix></Filter>{on}{OK_ACTION}")), Kind::Malformed),
        ("filter and prefix", rule_with(&format!("{f}<Prefix>a</Prefix>{on}{OK_ACTION}")), Kind::Malformed),
        ("neither filter nor prefix", rule_with(&format!("{on}{OK_ACTION}")), Kind::Malformed),
        ("missing status", rule_with(&format!("{f}{OK_ACTION}")), Kind::Malformed),
        ("two statuses", rule_with(&format!("{f}{on}{on}{OK_ACTION}")), Kind::Malformed),
        ("days and date", rule_with(&format!("{f}{on}<Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>")), Kind::Malformed),
        ("empty expiration", rule_with(&format!("{f}{on}<Expiration></Expiration>")), Kind::Malformed),
        ("delete marker with days", rule_with(&format!("{f}{on}<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>")), Kind::Malformed),
        ("delete marker not a bool", rule_with(&format!("{f}{on}<Expiration><ExpiredObjectDeleteMarker>yes</ExpiredObjectDeleteMarker></Expiration>")), Kind::Malformed),
        ("days not a number", rule_with(&format!("{f}{on}<Expiration><Days>seven</Days></Expiration>")), Kind::Malformed),
        ("date not a date", rule_with(&format!("{f}{on}<Expiration><Date>soon</Date></Expiration>")), Kind::Malformed),
        ("two filter conditions", rule_with(&format!("<Filter><Prefix>a</Prefix><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter>{on}{OK_ACTION}")), Kind::Malformed),
        ("empty and", rule_with(&format!("<Filter><And></And></Filter>{on}{OK_ACTION}")), Kind::Malformed),
        ("tag without value", rule_with(&format!("<Filter><Tag><Key>k</Key></Tag></Filter>{on}{OK_ACTION}")), Kind::Malformed),
        ("abort without days", rule_with(&format!("{f}{on}<AbortIncompleteMultipartUpload></AbortIncompleteMultipartUpload>")), Kind::Malformed),
        ("days zero", rule_with(&format!("{f}{on}<Expiration><Days>0</Days></Expiration>")), Kind::Argument),
        ("days negative", rule_with(&format!("{f}{on}<Expiration><Days>-3</Days></Expiration>")), Kind::Argument),
        ("date not midnight", rule_with(&format!("{f}{on}<Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration>")), Kind::Argument),
        ("id too long", rule_with(&format!("<ID>{}</ID>{f}{on}{OK_ACTION}", "x".repeat(256))), Kind::Argument),
        ("status lower case", rule_with(&format!("{f}<Status>enabled</Status>{OK_ACTION}")), Kind::Malformed),
        ("abort after zero days", rule_with(&format!("{f}{on}<AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload>")), Kind::Argument),
        ("size less than zero", rule_with(&format!("<Filter><ObjectSizeLessThan>0</ObjectSizeLessThan></Filter>{on}{OK_ACTION}")), Kind::Argument),
        ("size negative", rule_with(&format!("<Filter><ObjectSizeGreaterThan>-1</ObjectSizeGreaterThan></Filter>{on}{OK_ACTION}")), Kind::Argument),
        ("size bounds crossed", rule_with(&format!("<Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter>{on}{OK_ACTION}")), Kind::Argument),
        ("empty tag key", rule_with(&format!("<Filter><Tag><Key></Key><Value>v</Value></Tag></Filter>{on}{OK_ACTION}")), Kind::Argument),
        ("duplicate ids", format!("{0}{0}", rule_with(&format!("<ID>same</ID>{f}{on}{OK_ACTION}"))), Kind::Argument),
        ("no action", rule_with(&format!("{f}{on}")), Kind::Request),
        ("duplicate tag keys", rule_with(&format!("<Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></And></Filter>{on}{OK_ACTION}")), Kind::Request),
        ("abort with tag filter", rule_with(&format!("<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>{on}<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>")), Kind::Request),
        ("transition", rule_with(&format!("{f}{on}{OK_ACTION}<Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition>")), Kind::Request),
        (
            "too many rules",
            (0..=MAX_RULES).map(|i| rule_with(&format!("<ID>r{i}</ID>{f}{on}{OK_ACTION}"))).collect(),
            Kind::Request,
        ),
    ];
    for (name, rules, expected) in cases {
        let error = parse(&rules).expect_err(name);
        assert_eq!(kind(&error), expected, "{name}: {error}");
    }
}

#[test]
fn wrong_root_and_garbage_are_malformed() {
    for body in [
        &b"<Lifecycle><Rule/></Lifecycle>"[..],
        b"not xml at all",
        b"",
        b"<LifecycleConfiguration>",
    ] {
        assert!(matches!(
            LifecycleConfiguration::from_xml(body),
            Err(LifecycleError::MalformedXml(_))
        ));
    }
}

mod round_trip_properties {
    use lifecycle::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        // Printable text including XML specials, spaces and non-ASCII.
        "[a-z0-9 /<>&'\"é_.-]{0,12}"
    }

    fn tag() -> impl Strategy<Value = Tag> {
        ("[a-z<&]{1,6}", text()).prop_map(|(key, value)| Tag { key, value })
    }

    fn filter() -> impl Strategy<Value = RuleFilter> {
        prop_oneof![
            text().prop_map(RuleFilter::LegacyPrefix),
            Just(RuleFilter::All),
            text().prop_map(RuleFilter::Prefix),
            tag().prop_map(RuleFilter::Tag),
            (0u64..u64::MAX).prop_map(RuleFilter::ObjectSizeGreaterThan),
            (1u64..1_000_000).prop_map(RuleFilter::ObjectSizeLessThan),
            (
                proptest::option::of(text()),
                proptest::collection::btree_map("[a-z]{1,4}", text(), 0..3),
                proptest::option::of(0u64..100)
            )
                .prop_map(|(prefix, tags, greater)| {
                    let tags: Vec<Tag> = tags
                        .into_iter()
                        .map(|(key, value)| Tag { key, value })
                        .collect();
                    let empty = prefix.is_none() && tags.is_empty() && greater.is_none();
                    RuleFilter::And(AndFilter {
                        prefix: if empty { Some(String::new()) } else { prefix },
                        tags,
                        object_size_greater_than: greater,
                        object_size_less_than: greater.map(|g| g + 1),
                    })
                }),
        ]
    }

    fn expiration() -> impl Strategy<Value = Option<Expiration>> {
        proptest::option::of(prop_oneof![
            (1u32..100_000).prop_map(Expiration::Days),
            (0i64..20_000).prop_map(|d| Expiration::Date(
                time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(d)
            )),
            any::<bool>().prop_map(Expiration::ExpiredObjectDeleteMarker),
        ])
    }

    fn rule() -> impl Strategy<Value = LifecycleRule> {
        (
            "[a-zA-Z0-9 <&>-]{1,20}",
            any::<bool>(),
            filter(),
            expiration(),
            proptest::option::of(1u32..1000),
        )
            .prop_map(|(id, enabled, filter, expiration, abort)| {
                let abort = abort.filter(|_| !filter.has_tag_conditions());
                let expiration = if expiration.is_none() && abort.is_none() {
                    Some(Expiration::Days(1))
                } else {
                    expiration
                };
                LifecycleRule {
                    id,
                    status: if enabled {
                        RuleStatus::Enabled
                    } else {
                        RuleStatus::Disabled
                    },
                    filter,
                    expiration,
                    abort_incomplete_multipart_upload: abort.map(|days_after_initiation| {
                        AbortIncompleteMultipartUpload {
                            days_after_initiation,
                        }
                    }),
                    noncurrent_version_expiration: None,
                    noncurrent_version_transitions: Vec::new(),
                }
            })
    }

    proptest! {
        #[test]
        fn to_xml_then_from_xml_is_identity(rules in proptest::collection::vec(rule(), 1..6)) {
            let mut rules = rules;
            for (i, rule) in rules.iter_mut().enumerate() {
                rule.id = format!("{i}-{}", rule.id);
            }
            let config = LifecycleConfiguration { rules };
            let written = config.to_xml();
            prop_assert_eq!(LifecycleConfiguration::from_xml(written.as_bytes()).unwrap(), config);
        }
    }
}
