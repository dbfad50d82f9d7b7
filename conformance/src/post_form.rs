//! Browser-form (POST Object) uploads for tests: policy documents signed
//! as AWS documents them (SigV4: hex HMAC-SHA256 of the base64 policy
//! under the scope's signing key; V2: base64 HMAC-SHA1 of it), and the
//! multipart/form-data body with the file as the last field.

use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

use crate::TEST_REGION;

/// The fields of a form, in order (the file is added by [`form_body`]).
#[derive(Debug, Clone, Default)]
pub struct PostForm {
    pub fields: Vec<(String, String)>,
}

fn hmac_sha256(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// `(2030-01-01T00:00:00Z, 20300101T000000Z, 20300101)` of `at`, UTC.
pub fn date_parts(at: SystemTime) -> (String, String, String) {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    (
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z"),
        format!("{year:04}{month:02}{day:02}T{h:02}{m:02}{s:02}Z"),
        format!("{year:04}{month:02}{day:02}"),
    )
}

/// The SigV4 signature of a base64 policy for `day` (`yyyymmdd`).
pub fn sign_policy_v4(secret_key: &str, day: &str, policy_base64: &str) -> String {
    let key = hmac_sha256(format!("AWS4{secret_key}").as_bytes(), day);
    let key = hmac_sha256(&key, TEST_REGION);
    let key = hmac_sha256(&key, "s3");
    let key = hmac_sha256(&key, "aws4_request");
    hex::encode(hmac_sha256(&key, policy_base64))
}

fn expiration(expires_in: i64) -> String {
    let now = SystemTime::now();
    let at = if expires_in >= 0 {
        now + Duration::from_secs(expires_in as u64)
    } else {
        now - Duration::from_secs(expires_in.unsigned_abs())
    };
    date_parts(at).0
}

fn to_fields(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl PostForm {
    /// `fields` plus SigV4 signature fields, under a policy of
    /// `conditions` (JSON array items) and the signature fields' own,
    /// expiring `expires_in` seconds from now (negative: already expired).
    pub fn v4(
        access_key: &str,
        secret_key: &str,
        expires_in: i64,
        conditions: &[String],
        fields: &[(&str, &str)],
    ) -> Self {
        let (_, amz_date, day) = date_parts(SystemTime::now());
        let credential = format!("{access_key}/{day}/{TEST_REGION}/s3/aws4_request");
        let mut all = conditions.to_vec();
        all.push(r#"{"x-amz-algorithm":"AWS4-HMAC-SHA256"}"#.to_string());
        all.push(format!(r#"{{"x-amz-credential":"{credential}"}}"#));
        all.push(format!(r#"{{"x-amz-date":"{amz_date}"}}"#));
        let policy = STANDARD.encode(format!(
            r#"{{"expiration":"{}","conditions":[{}]}}"#,
            expiration(expires_in),
            all.join(",")
        ));
        let signature = sign_policy_v4(secret_key, &day, &policy);
        let mut out = to_fields(fields);
        out.push(("x-amz-algorithm".into(), "AWS4-HMAC-SHA256".into()));
        out.push(("x-amz-credential".into(), credential));
        out.push(("x-amz-date".into(), amz_date));
        out.push(("policy".into(), policy));
        out.push(("x-amz-signature".into(), signature));
        Self { fields: out }
    }

    /// `fields` plus Signature Version 2 fields (`AWSAccessKeyId`,
    /// `policy`, `signature`) under a policy of `conditions`, valid 10 min.
    pub fn v2(
        access_key: &str,
        secret_key: &str,
        conditions: &[String],
        fields: &[(&str, &str)],
    ) -> Self {
        let policy = STANDARD.encode(format!(
            r#"{{"expiration":"{}","conditions":[{}]}}"#,
            expiration(600),
            conditions.join(",")
        ));
        let mut mac = Hmac::<Sha1>::new_from_slice(secret_key.as_bytes()).expect("any key");
        mac.update(policy.as_bytes());
        let signature = STANDARD.encode(mac.finalize().into_bytes());
        let mut out = to_fields(fields);
        out.push(("AWSAccessKeyId".into(), access_key.into()));
        out.push(("policy".into(), policy));
        out.push(("signature".into(), signature));
        Self { fields: out }
    }

    /// Replaces (or adds) a field.
    pub fn set(mut self, name: &str, value: &str) -> Self {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value.to_string(),
            None => self.fields.push((name.to_string(), value.to_string())),
        }
        self
    }

    /// The value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The multipart/form-data body of `fields` then the file: its
/// Content-Type header value and bytes.
pub fn form_body(fields: &[(String, String)], filename: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----minnowFormBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_parts_are_utc_calendar_dates() {
        for (secs, iso) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_451_606_399, "2015-12-31T23:59:59Z"),
            (1_369_353_600, "2013-05-24T00:00:00Z"),
        ] {
            let (got, amz, day) = date_parts(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
            assert_eq!(got, iso);
            assert_eq!(amz, iso.replace(['-', ':'], ""));
            assert_eq!(day, iso[..10].replace('-', ""));
        }
    }
}
