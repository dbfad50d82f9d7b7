//! `mc ilm import` / `mc ilm export` JSON, including the zero-valued fields
//! older mc releases print.

use lifecycle::*;
use time::macros::datetime;

fn parse(json: &str) -> Result<LifecycleConfiguration, LifecycleError> {
    LifecycleConfiguration::from_mc_json(json.as_bytes())
}

#[test]
fn temp_cleanup_example_parses() {
    let config = parse(
        r#"{"Rules":[{"ID":"temp-cleanup","Status":"Enabled","Filter":{"Prefix":"temp/"},"Expiration":{"Days":7}}]}"#,
    )
    .unwrap();
    let rule = &config.rules[0];
    assert_eq!(rule.id, "temp-cleanup");
    assert_eq!(rule.filter, RuleFilter::Prefix("temp/".into()));
    assert_eq!(rule.expiration, Some(Expiration::Days(7)));
}

#[test]
fn date_abort_tag_and_and_forms_parse() {
    let config = parse(
        r#"{"Rules":[
          {"ID":"by-date","Status":"Enabled","Filter":{"Prefix":"old/"},"Expiration":{"Date":"2030-06-01T00:00:00Z"}},
          {"ID":"mpu","Status":"Enabled","AbortIncompleteMultipartUpload":{"DaysAfterInitiation":2}},
          {"ID":"tag","Status":"Disabled","Filter":{"Tag":{"Key":"kind","Value":"tmp"}},"Expiration":{"Days":1}},
          {"ID":"and","Status":"Enabled","Filter":{"And":{"Prefix":"a/","Tags":[{"Key":"x","Value":"1"},{"Key":"y","Value":"2"}],"ObjectSizeGreaterThan":5,"ObjectSizeLessThan":500}},"Expiration":{"Days":3}}
        ]}"#,
    )
    .unwrap();
    let [by_date, mpu, tag, and] = config.rules.as_slice() else {
        panic!("four rules expected");
    };
    assert_eq!(
        by_date.expiration,
        Some(Expiration::Date(datetime!(2030-06-01 0:00 UTC)))
    );
    assert_eq!(mpu.filter, RuleFilter::All, "mc omits an empty filter");
    assert_eq!(
        mpu.abort_incomplete_multipart_upload,
        Some(AbortIncompleteMultipartUpload {
            days_after_initiation: 2
        })
    );
    assert_eq!(
        tag.filter,
        RuleFilter::Tag(Tag {
            key: "kind".into(),
            value: "tmp".into()
        })
    );
    assert_eq!(tag.status, RuleStatus::Disabled);
    assert_eq!(
        and.filter,
        RuleFilter::And(AndFilter {
            prefix: Some("a/".into()),
            tags: vec![
                Tag {
                    key: "x".into(),
                    value: "1".into()
                },
                Tag {
                    key: "y".into(),
                    value: "2".into()
                },
            ],
            object_size_greater_than: Some(5),
            object_size_less_than: Some(500),
        })
    );
}

#[test]
fn go_zero_values_from_older_mc_are_treated_as_absent() {
    let config = parse(
        r#"{"Rules":[{"AbortIncompleteMultipartUpload":{},"Expiration":{"Date":"0001-01-01T00:00:00Z","Days":7,"DeleteMarker":false},
           "ID":"old-mc","Filter":{"And":{},"Prefix":"temp/","Tag":{}},"NoncurrentVersionExpiration":{},
           "NoncurrentVersionTransition":{},"Prefix":"","Status":"Enabled",
           "Transition":{"Date":"0001-01-01T00:00:00Z"},"DelMarkerExpiration":{"Days":0}}]}"#,
    )
    .unwrap();
    let rule = &config.rules[0];
    assert_eq!(rule.filter, RuleFilter::Prefix("temp/".into()));
    assert_eq!(rule.expiration, Some(Expiration::Days(7)));
    assert!(rule.abort_incomplete_multipart_upload.is_none());
    assert!(rule.noncurrent_version_expiration.is_none());
}

#[test]
fn side_by_side_filter_conditions_become_an_and() {
    let config = parse(
        r#"{"Rules":[{"ID":"big-temp","Status":"Enabled","Filter":{"Prefix":"temp/","ObjectSizeGreaterThan":1048576},"Expiration":{"Days":1}}]}"#,
    )
    .unwrap();
    assert_eq!(
        config.rules[0].filter,
        RuleFilter::And(AndFilter {
            prefix: Some("temp/".into()),
            object_size_greater_than: Some(1_048_576),
            ..AndFilter::default()
        })
    );
}

#[test]
fn legacy_top_level_prefix_is_kept() {
    let config = parse(
        r#"{"Rules":[{"ID":"l","Status":"Enabled","Prefix":"logs/","Expiration":{"Days":9}}]}"#,
    )
    .unwrap();
    assert_eq!(
        config.rules[0].filter,
        RuleFilter::LegacyPrefix("logs/".into())
    );
}

#[test]
fn export_then_import_gives_the_same_configuration() {
    let xml = r#"<LifecycleConfiguration>
      <Rule><ID>temp-cleanup</ID><Filter><Prefix>temp/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>7</Days></Expiration></Rule>
      <Rule><ID>dated</ID><Filter/><Status>Disabled</Status><Expiration><Date>2031-02-03T00:00:00Z</Date></Expiration></Rule>
      <Rule><ID>legacy</ID><Prefix>l/</Prefix><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>4</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
      <Rule><ID>tagged</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>
      <Rule><ID>sized</ID><Filter><ObjectSizeLessThan>10</ObjectSizeLessThan></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>
      <Rule><ID>and</ID><Filter><And><Prefix>p/</Prefix><Tag><Key>a</Key><Value>b</Value></Tag><ObjectSizeGreaterThan>1</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>
      <Rule><ID>nv</ID><Filter><Prefix>n/</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>5</NoncurrentDays></NoncurrentVersionExpiration></Rule>
    </LifecycleConfiguration>"#;
    let config = LifecycleConfiguration::from_xml(xml.as_bytes()).unwrap();
    let json = config.to_mc_json();
    assert!(json.contains(r#""Date":"2031-02-03T00:00:00Z""#), "{json}");
    assert_eq!(parse(&json).unwrap(), config, "{json}");
}

type ErrorCheck = fn(&LifecycleError) -> bool;

#[test]
fn json_refusals() {
    let cases: Vec<(&str, &str, ErrorCheck)> = vec![
        ("not json", "{", |e| {
            matches!(e, LifecycleError::MalformedJson(_))
        }),
        ("not an object", "[1]", |e| {
            matches!(e, LifecycleError::MalformedJson(_))
        }),
        ("rules not an array", r#"{"Rules":{}}"#, |e| {
            matches!(e, LifecycleError::MalformedJson(_))
        }),
        ("rule not an object", r#"{"Rules":[3]}"#, |e| {
            matches!(e, LifecycleError::MalformedJson(_))
        }),
        ("no rules", r#"{"Rules":[]}"#, |e| {
            matches!(e, LifecycleError::MalformedXml(_))
        }),
        (
            "missing status",
            r#"{"Rules":[{"ID":"a","Expiration":{"Days":1}}]}"#,
            |e| matches!(e, LifecycleError::MalformedXml(_)),
        ),
        (
            "negative days",
            r#"{"Rules":[{"ID":"a","Status":"Enabled","Expiration":{"Days":-1}}]}"#,
            |e| matches!(e, LifecycleError::InvalidArgument(_)),
        ),
        (
            "zero days is no action",
            r#"{"Rules":[{"ID":"a","Status":"Enabled","Expiration":{"Days":0}}]}"#,
            |e| matches!(e, LifecycleError::InvalidRequest(_)),
        ),
        (
            "days and date",
            r#"{"Rules":[{"ID":"a","Status":"Enabled","Expiration":{"Days":1,"Date":"2030-01-01T00:00:00Z"}}]}"#,
            |e| matches!(e, LifecycleError::MalformedXml(_)),
        ),
        (
            "duplicate ids",
            r#"{"Rules":[{"ID":"a","Status":"Enabled","Expiration":{"Days":1}},{"ID":"a","Status":"Enabled","Expiration":{"Days":2}}]}"#,
            |e| matches!(e, LifecycleError::InvalidArgument(_)),
        ),
    ];
    for (name, json, expected) in cases {
        let error = parse(json).expect_err(name);
        assert!(expected(&error), "{name}: {error:?}");
    }
}
