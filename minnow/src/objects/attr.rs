//! `--attr "Name=value;Name2=value2"`: the headers a copy gives its target
//! object, as `mc cp --attr` takes them. A standard object header
//! (`Content-Type`, `Cache-Control`, …) is sent as itself; any other name
//! is user metadata (`x-amz-meta-<name>`, the prefix added unless given).

use anyhow::bail;

/// Headers S3 stores with an object under their own names.
const STANDARD: [&str; 6] = [
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-type",
    "expires",
];

/// The headers `text` names, lower-case, in the order given. Names must be
/// header tokens and values printable text: a CR or LF in a value would
/// let `--attr` add headers of its own to the request.
pub fn parse(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for pair in text.split(';').filter(|p| !p.trim().is_empty()) {
        let Some((name, value)) = pair.split_once('=') else {
            bail!("--attr: {pair:?} is not Name=value");
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            bail!("--attr: {name:?} is not a header name");
        }
        if value.chars().any(|c| c.is_control()) {
            bail!("--attr: the value of {name:?} holds a control character");
        }
        let name = if STANDARD.contains(&name.as_str()) || name.starts_with("x-amz-meta-") {
            name
        } else {
            format!("x-amz-meta-{name}")
        };
        if name == "x-amz-meta-" {
            bail!("--attr: x-amz-meta- needs a name after it");
        }
        headers.retain(|(n, _)| *n != name);
        headers.push((name, value.to_string()));
    }
    Ok(headers)
}

/// `base` (what the source carries) with `attrs` put over it: a name in
/// both takes the value of `attrs`.
pub fn over(base: &[(String, String)], attrs: &[(String, String)]) -> Vec<(String, String)> {
    let mut merged: Vec<(String, String)> = base
        .iter()
        .filter(|(name, _)| !attrs.iter().any(|(a, _)| a == name))
        .cloned()
        .collect();
    merged.extend(attrs.iter().cloned());
    merged
}

/// RFC 9110's `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn standard_names_stay_and_others_become_user_metadata() {
        assert_eq!(
            parse("Cache-Control=max-age=60; owner = ops ;X-Amz-Meta-Team=web;Content-Type=image/webp")
                .unwrap(),
            pairs(&[
                ("cache-control", "max-age=60"),
                ("x-amz-meta-owner", "ops"),
                ("x-amz-meta-team", "web"),
                ("content-type", "image/webp"),
            ])
        );
        assert_eq!(parse("").unwrap(), pairs(&[]));
        assert_eq!(
            parse("a=1;A=2").unwrap(),
            pairs(&[("x-amz-meta-a", "2")]),
            "a name given twice keeps its last value"
        );
    }

    #[test]
    fn values_cannot_smuggle_headers_and_names_must_be_tokens() {
        for bad in [
            "owner=a\r\nx-amz-acl: public-read",
            "owner=a\nb",
            "own er=x",
            "=x",
            "novalue",
            "x-amz-meta-=1",
            "na:me=1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn attrs_override_what_the_source_carries() {
        let base = pairs(&[("content-type", "text/plain"), ("x-amz-meta-a", "1")]);
        let attrs = pairs(&[("content-type", "image/png"), ("x-amz-meta-b", "2")]);
        assert_eq!(
            over(&base, &attrs),
            pairs(&[
                ("x-amz-meta-a", "1"),
                ("content-type", "image/png"),
                ("x-amz-meta-b", "2"),
            ])
        );
    }
}
