//! Who signed a browser-form POST upload. The form carries the signature
//! of its `policy` field: SigV4 (`x-amz-algorithm`, `x-amz-credential`,
//! `x-amz-date`, `x-amz-signature`: hex HMAC-SHA256 of the base64 policy
//! under the scope's signing key) or V2 (`AWSAccessKeyId`, `signature`:
//! base64 HMAC-SHA1 of the base64 policy). A form with neither is
//! anonymous. The policy's expiry and conditions are checked by
//! `handlers::post_policy`; here only the signature.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use super::sigv4::{
    hmac_sha256, parse_amz_date, parse_credential, parse_signature, signatures_equal,
    SigningKeyCache,
};
use super::{AuthError, Identity, SecretLookup};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Verifies the signature fields of a POST form (`fields`: lower-case
/// names). `Ok(Anonymous)` when the form carries no signature fields.
pub(crate) fn verify_post_form(
    fields: &[(String, String)],
    secrets: &dyn SecretLookup,
    keys: &SigningKeyCache,
) -> Result<Identity, AuthError> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    };
    let policy = field("policy");
    if let Some(signature) = field("x-amz-signature") {
        let missing = |name: &str| {
            AuthError::InvalidArgument(format!("Bucket POST must contain a field named '{name}'."))
        };
        let policy = policy.ok_or_else(|| missing("policy"))?;
        let algorithm = field("x-amz-algorithm").ok_or_else(|| missing("x-amz-algorithm"))?;
        if algorithm != ALGORITHM {
            return Err(AuthError::InvalidArgument(format!(
                "Unsupported x-amz-algorithm: {algorithm}"
            )));
        }
        let credential = field("x-amz-credential").ok_or_else(|| missing("x-amz-credential"))?;
        let credential = parse_credential(credential).map_err(AuthError::InvalidArgument)?;
        let date = field("x-amz-date").ok_or_else(|| missing("x-amz-date"))?;
        if parse_amz_date(date).is_none() {
            return Err(AuthError::InvalidArgument(format!(
                "x-amz-date is not a valid date: {date}"
            )));
        }
        // A day's signing key signs only that day's requests.
        if !date.starts_with(credential.date) {
            return Err(AuthError::InvalidArgument(
                "Invalid credential date. Date is not the same as X-Amz-Date.".into(),
            ));
        }
        let secret = secrets
            .secret_key(credential.access_key)
            .ok_or(AuthError::InvalidAccessKeyId)?;
        let given = parse_signature(signature).ok_or(AuthError::SignatureDoesNotMatch)?;
        let signing_key = keys.signing_key(&secret, &credential);
        if !signatures_equal(&hmac_sha256(&signing_key, policy.as_bytes()), &given) {
            return Err(AuthError::SignatureDoesNotMatch);
        }
        keys.remember(&secret, &credential, signing_key);
        return Ok(Identity::AccessKey(credential.access_key.to_string()));
    }
    if let Some(access_key) = field("awsaccesskeyid") {
        let signature = field("signature").ok_or_else(|| {
            AuthError::InvalidArgument("Bucket POST must contain a field named 'signature'.".into())
        })?;
        let policy = policy.ok_or_else(|| {
            AuthError::InvalidArgument("Bucket POST must contain a field named 'policy'.".into())
        })?;
        let secret = secrets
            .secret_key(access_key)
            .ok_or(AuthError::InvalidAccessKeyId)?;
        let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
        mac.update(policy.as_bytes());
        let expected = mac.finalize().into_bytes();
        let given = STANDARD
            .decode(signature.trim())
            .map_err(|_| AuthError::SignatureDoesNotMatch)?;
        if given.len() != expected.len() || !bool::from(given.as_slice().ct_eq(&expected[..])) {
            return Err(AuthError::SignatureDoesNotMatch);
        }
        return Ok(Identity::AccessKey(access_key.to_string()));
    }
    Ok(Identity::Anonymous)
}
