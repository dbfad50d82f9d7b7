//! Identities: the root credentials, users with their attached policies, and
//! the access decision that combines identity policies with bucket policies.
//!
//! Users live in one system blob (`iam.json`) stored with quorum by the
//! store. Secret keys are sealed at rest with ChaCha20-Poly1305 under a key
//! derived once at start from the root credentials with Argon2id (memory-hard,
//! so a copy of the drives does not open to a fast password search) and a
//! random per-deployment salt kept in `iam.json`; each sealed secret is bound
//! to its user name (AEAD associated data), so a sealed value moved to
//! another user does not open. Secrets are unsealed into memory at start.
//! Rotating the root password: start once with the old credentials in
//! `MINNOW_ROOT_USER_OLD` / `MINNOW_ROOT_PASSWORD_OLD` (or MinIO's
//! `MINIO_ROOT_USER_OLD` / `MINIO_ROOT_PASSWORD_OLD`) and every secret is
//! re-sealed under the new key; without them, users whose secret cannot be
//! unsealed are kept but cannot sign requests until they are added again.
//!
//! `iam.json` carries a `format` version (2); a newer one is refused at
//! start. Format 1 sealed under an unsalted HMAC of the root credentials,
//! without the user name; it still loads and is re-sealed as format 2 at
//! once. The test fixtures `iam/fixtures/iam-v1.json` and `iam-v2.json` were
//! written by formats 1 and 2 with the root `fixture-root` /
//! `fixture-root-secret-v1`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use bytes::Bytes;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use store::api::{Catalog, StoreError};

use crate::policy::{canned_policy, AccessRequest, Decision, PolicyDocument, Requester};

/// The system blob holding users and custom policies.
pub const IAM_BLOB: &str = "iam.json";
const IAM_FORMAT: u32 = 2;
/// Argon2id cost of the sealing key: OWASP's 19 MiB, 2 passes, 1 lane
/// (tens of milliseconds once per start; a guess costs the same).
const SEAL_KDF_MEMORY_KIB: u32 = 19 * 1024;
const SEAL_KDF_PASSES: u32 = 2;
const SEAL_SALT_LEN: usize = 16;

/// Errors of identity management.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    /// The root credentials break MinIO's minimum lengths or characters.
    #[error("root credentials are too weak: {0}")]
    WeakRootCredentials(String),
    /// No user has this access key.
    #[error("the user does not exist: {0}")]
    NoSuchUser(String),
    /// No canned or custom policy has this name.
    #[error("the policy does not exist: {0}")]
    NoSuchPolicy(String),
    /// A new user's access or secret key breaks the rules.
    #[error("invalid access key or secret key: {0}")]
    InvalidCredentials(String),
    /// A custom policy document was refused.
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),
    /// `iam.json` cannot be read (or is of a newer format).
    #[error("identity data is corrupt: {0}")]
    Corrupt(String),
    /// The store failed reading or writing `iam.json`.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Root credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct RootCredentials {
    /// The root access key.
    pub access_key: String,
    /// The root secret key; also what user secrets are sealed under.
    pub secret_key: String,
}

impl std::fmt::Debug for RootCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootCredentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl RootCredentials {
    /// Checks MinIO's minimums: access key ≥ 3 characters, secret ≥ 8.
    pub fn validate(&self) -> Result<(), IamError> {
        validate_keys(&self.access_key, &self.secret_key).map_err(IamError::WeakRootCredentials)
    }

    /// Format 2's sealing key: Argon2id over the access and secret key with
    /// the deployment's salt.
    fn sealing_key(&self, salt: &[u8]) -> [u8; 32] {
        let params = argon2::Params::new(SEAL_KDF_MEMORY_KIB, SEAL_KDF_PASSES, 1, Some(32))
            .expect("constant Argon2 parameters are valid");
        let kdf = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut password = Vec::with_capacity(self.access_key.len() + 1 + self.secret_key.len());
        password.extend_from_slice(self.access_key.as_bytes());
        password.push(0);
        password.extend_from_slice(self.secret_key.as_bytes());
        let mut key = [0u8; 32];
        kdf.hash_password_into(&password, salt, &mut key)
            .expect("salt and output lengths are within Argon2's limits");
        key
    }

    /// Format 1's sealing key (unsalted HMAC): read only, to migrate.
    fn legacy_sealing_key(&self) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.secret_key.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(b"minnow iam seal v1\0");
        mac.update(self.access_key.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// MinIO's rules for access and secret keys.
pub fn validate_keys(access_key: &str, secret_key: &str) -> Result<(), String> {
    if access_key.chars().count() < 3 {
        return Err("the access key must be at least 3 characters".into());
    }
    if secret_key.chars().count() < 8 {
        return Err("the secret key must be at least 8 characters".into());
    }
    if access_key.contains([':', '/', ',', '=']) || access_key.chars().any(char::is_whitespace) {
        return Err("the access key may not contain ':', '/', ',', '=' or spaces".into());
    }
    Ok(())
}

/// What `user info` shows about a user (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The user's access key (its name).
    pub access_key: String,
    /// Whether the user may sign requests.
    pub enabled: bool,
    /// Names of the attached policies.
    pub policies: Vec<String>,
    /// False when the secret was sealed under other root credentials.
    pub usable: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StoredIam {
    format: u32,
    /// base64 of the random per-deployment Argon2id salt (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seal_salt: Option<String>,
    users: BTreeMap<String, StoredUser>,
    #[serde(default)]
    policies: BTreeMap<String, PolicyDocument>,
}

/// The field every version of `iam.json` keeps.
#[derive(Deserialize)]
struct StoredIamFormat {
    format: u32,
}

/// Reads `iam.json`. The format is checked before the rest, so a newer file
/// is refused for its version rather than for a field it reshaped.
fn decode_stored_iam(bytes: &[u8]) -> Result<StoredIam, IamError> {
    let StoredIamFormat { format } =
        serde_json::from_slice(bytes).map_err(|e| IamError::Corrupt(e.to_string()))?;
    if format > IAM_FORMAT {
        return Err(IamError::Corrupt(format!(
            "identity data format {format} is newer than this minnow understands ({IAM_FORMAT})"
        )));
    }
    serde_json::from_slice(bytes).map_err(|e| IamError::Corrupt(e.to_string()))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredUser {
    /// base64(nonce ‖ ciphertext+tag); format 2 binds it to the user name.
    sealed_secret: String,
    /// Still sealed the format 1 way (unsalted, not bound to the name):
    /// its root was not at hand when the data was migrated.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    hmac_sealed: bool,
    enabled: bool,
    policies: Vec<String>,
}

#[derive(Default, Clone)]
struct State {
    stored: StoredIam,
    /// Unsealed secrets of users that can sign.
    secrets: HashMap<String, String>,
}

/// Users, policies and access decisions. Cheap to share (`Arc`).
pub struct Iam<C> {
    catalog: Arc<C>,
    root: RootCredentials,
    /// Seals new secrets (format 2, under the key derived at start).
    cipher: Sealer,
    state: RwLock<State>,
    /// Serialises read-modify-persist: without it a slower persist of an
    /// older snapshot could land after a newer one and lose a change.
    update_lock: tokio::sync::Mutex<()>,
    /// Parsed bucket policies, keyed by bucket, with the bytes they came from.
    bucket_policies: RwLock<HashMap<String, (Bytes, Arc<PolicyDocument>)>>,
}

impl<C: Catalog + 'static> Iam<C> {
    /// Loads identity data from the store, re-sealing it when `old_root`
    /// opens secrets the current root cannot.
    pub async fn load(
        catalog: Arc<C>,
        root: RootCredentials,
        old_root: Option<RootCredentials>,
    ) -> Result<Self, IamError> {
        root.validate()?;
        let mut stored = match catalog.get_system_blob(IAM_BLOB).await? {
            Some(bytes) => decode_stored_iam(&bytes)?,
            None => StoredIam {
                format: IAM_FORMAT,
                ..Default::default()
            },
        };
        let stored_format = stored.format;
        let salt = match stored.seal_salt.as_deref() {
            Some(salt) if stored_format >= IAM_FORMAT => base64::engine::general_purpose::STANDARD
                .decode(salt)
                .map_err(|e| IamError::Corrupt(format!("the sealing salt: {e}")))?,
            None if stored_format >= IAM_FORMAT && !stored.users.is_empty() => {
                return Err(IamError::Corrupt(
                    "sealed secrets without their sealing salt".into(),
                ))
            }
            _ => {
                let salt: [u8; SEAL_SALT_LEN] = rand::random();
                stored.seal_salt = Some(base64::engine::general_purpose::STANDARD.encode(salt));
                salt.to_vec()
            }
        };
        if stored_format < IAM_FORMAT {
            // Format 1 secrets open only under the unsalted keys they were
            // sealed with; each is re-sealed below once it opens (one that
            // does not stays marked until a start with the right root).
            for user in stored.users.values_mut() {
                user.hmac_sealed = true;
            }
        }
        stored.format = IAM_FORMAT;
        let cipher = Sealer::new(&root, &salt);
        let old_cipher = old_root.as_ref().map(|r| Sealer::new(r, &salt));
        let legacy = Sealer::legacy(&root);
        let old_legacy = old_root.as_ref().map(Sealer::legacy);
        let iam = Iam {
            catalog,
            root,
            cipher,
            state: RwLock::new(State::default()),
            update_lock: tokio::sync::Mutex::new(()),
            bucket_policies: RwLock::new(HashMap::new()),
        };
        let mut state = State {
            stored,
            secrets: HashMap::new(),
        };
        let mut resealed = stored_format < IAM_FORMAT;
        for (ak, user) in state.stored.users.iter_mut() {
            let (current, old) = if user.hmac_sealed {
                (&legacy, old_legacy.as_ref())
            } else {
                (&iam.cipher, old_cipher.as_ref())
            };
            let opened = current.unseal(ak, &user.sealed_secret).map(|s| (s, false));
            let opened = opened.or_else(|| {
                old.and_then(|c| c.unseal(ak, &user.sealed_secret))
                    .map(|s| (s, true))
            });
            if let Some((secret, by_old_root)) = opened {
                if by_old_root || user.hmac_sealed {
                    user.sealed_secret = iam.cipher.seal(ak, &secret);
                    user.hmac_sealed = false;
                    resealed = true;
                }
                state.secrets.insert(ak.clone(), secret);
            } else {
                tracing::warn!(
                    user = %ak,
                    "the secret of this user was sealed under other root credentials; add the user again"
                );
            }
        }
        *iam.state.write().expect("iam lock") = state;
        if resealed {
            iam.persist().await?;
        }
        Ok(iam)
    }

    /// The root access key.
    pub fn root_access_key(&self) -> &str {
        &self.root.access_key
    }

    /// Whether `access_key` is the root user.
    pub fn is_root(&self, access_key: &str) -> bool {
        access_key == self.root.access_key
    }

    async fn persist(&self) -> Result<(), IamError> {
        let json = {
            let state = self.state.read().expect("iam lock");
            serde_json::to_vec(&state.stored).map_err(|e| IamError::Corrupt(e.to_string()))?
        };
        self.catalog
            .put_system_blob(IAM_BLOB, Some(Bytes::from(json)))
            .await?;
        Ok(())
    }

    /// Applies `change` and persists the result; on a failed write the
    /// in-memory state is put back, so memory never claims what the drives
    /// do not hold.
    async fn update(
        &self,
        change: impl FnOnce(&mut State) -> Result<(), IamError>,
    ) -> Result<(), IamError> {
        let _serialised = self.update_lock.lock().await;
        let (previous, json) = {
            let mut state = self.state.write().expect("iam lock");
            let previous = state.clone();
            change(&mut state)?;
            let json =
                serde_json::to_vec(&state.stored).map_err(|e| IamError::Corrupt(e.to_string()))?;
            (previous, json)
        };
        if let Err(error) = self
            .catalog
            .put_system_blob(IAM_BLOB, Some(Bytes::from(json)))
            .await
        {
            *self.state.write().expect("iam lock") = previous;
            return Err(error.into());
        }
        Ok(())
    }

    /// Adds a user or changes its secret (idempotent, like `mc admin user add`).
    pub async fn add_user(&self, access_key: &str, secret_key: &str) -> Result<(), IamError> {
        validate_keys(access_key, secret_key).map_err(IamError::InvalidCredentials)?;
        if self.is_root(access_key) {
            return Err(IamError::InvalidCredentials(
                "the access key is the root user's".into(),
            ));
        }
        let sealed = self.cipher.seal(access_key, secret_key);
        self.update(|state| {
            let user = state
                .stored
                .users
                .entry(access_key.to_string())
                .or_insert_with(|| StoredUser {
                    sealed_secret: String::new(),
                    hmac_sealed: false,
                    enabled: true,
                    policies: Vec::new(),
                });
            user.sealed_secret = sealed;
            user.hmac_sealed = false;
            state
                .secrets
                .insert(access_key.to_string(), secret_key.to_string());
            Ok(())
        })
        .await
    }

    /// Removes a user.
    pub async fn remove_user(&self, access_key: &str) -> Result<(), IamError> {
        self.update(|state| {
            if state.stored.users.remove(access_key).is_none() {
                return Err(IamError::NoSuchUser(access_key.into()));
            }
            state.secrets.remove(access_key);
            Ok(())
        })
        .await
    }

    /// Enables or disables a user.
    pub async fn set_enabled(&self, access_key: &str, enabled: bool) -> Result<(), IamError> {
        self.update(|state| {
            let user = state
                .stored
                .users
                .get_mut(access_key)
                .ok_or_else(|| IamError::NoSuchUser(access_key.into()))?;
            user.enabled = enabled;
            Ok(())
        })
        .await
    }

    /// Attaches (or detaches) a canned or custom policy.
    pub async fn set_policy(
        &self,
        access_key: &str,
        policy: &str,
        attach: bool,
    ) -> Result<(), IamError> {
        self.update(|state| {
            if canned_policy(policy).is_none() && !state.stored.policies.contains_key(policy) {
                return Err(IamError::NoSuchPolicy(policy.into()));
            }
            let user = state
                .stored
                .users
                .get_mut(access_key)
                .ok_or_else(|| IamError::NoSuchUser(access_key.into()))?;
            let has = user.policies.iter().any(|p| p == policy);
            if attach && !has {
                user.policies.push(policy.to_string());
            } else if !attach {
                user.policies.retain(|p| p != policy);
            }
            Ok(())
        })
        .await
    }

    /// Stores a custom policy under `name`.
    pub async fn put_policy(&self, name: &str, doc: PolicyDocument) -> Result<(), IamError> {
        doc.validate()
            .map_err(|e| IamError::InvalidPolicy(e.to_string()))?;
        self.update(|state| {
            state.stored.policies.insert(name.to_string(), doc);
            Ok(())
        })
        .await
    }

    /// Removes a custom policy (detaching it from every user).
    pub async fn remove_policy(&self, name: &str) -> Result<(), IamError> {
        self.update(|state| {
            if state.stored.policies.remove(name).is_none() {
                return Err(IamError::NoSuchPolicy(name.into()));
            }
            for user in state.stored.users.values_mut() {
                user.policies.retain(|p| p != name);
            }
            Ok(())
        })
        .await
    }

    /// Policy names: canned ones first, then custom.
    pub fn list_policies(&self) -> Vec<String> {
        let state = self.state.read().expect("iam lock");
        crate::policy::CANNED_POLICIES
            .iter()
            .map(|s| s.to_string())
            .chain(state.stored.policies.keys().cloned())
            .collect()
    }

    /// One policy document by name.
    pub fn get_policy(&self, name: &str) -> Option<PolicyDocument> {
        canned_policy(name).or_else(|| {
            self.state
                .read()
                .expect("iam lock")
                .stored
                .policies
                .get(name)
                .cloned()
        })
    }

    /// All users (never their secrets).
    pub fn list_users(&self) -> Vec<UserInfo> {
        let state = self.state.read().expect("iam lock");
        state
            .stored
            .users
            .iter()
            .map(|(ak, u)| UserInfo {
                access_key: ak.clone(),
                enabled: u.enabled,
                policies: u.policies.clone(),
                usable: state.secrets.contains_key(ak),
            })
            .collect()
    }

    /// One user.
    pub fn user_info(&self, access_key: &str) -> Option<UserInfo> {
        self.list_users()
            .into_iter()
            .find(|u| u.access_key == access_key)
    }

    /// Whether a signed user (or root) may do `request`, given the bucket's
    /// policy if it has one. Anonymous callers pass `None` as `access_key`.
    ///
    /// As in AWS, an explicit `Deny` anywhere (bucket policy or any of the
    /// user's policies) wins over every `Allow`; then an `Allow` in either
    /// grants; else the request is denied.
    pub fn is_allowed(
        &self,
        access_key: Option<&str>,
        bucket_policy: Option<&PolicyDocument>,
        request: &AccessRequest<'_>,
    ) -> bool {
        let requester = match access_key {
            Some(ak) if self.is_root(ak) => return true,
            Some(ak) => Requester::User(ak),
            None => Requester::Anonymous,
        };
        let bucket_decision = bucket_policy
            .map(|p| p.evaluate(requester, request))
            .unwrap_or(Decision::NotApplicable);
        if bucket_decision == Decision::Deny {
            return false;
        }
        let identity_decision = match requester {
            Requester::User(ak) => self.identity_decision(ak, request),
            Requester::Anonymous => Decision::NotApplicable,
        };
        match identity_decision {
            Decision::Deny => false,
            Decision::Allow => true,
            Decision::NotApplicable => bucket_decision == Decision::Allow,
        }
    }

    /// What the policies attached to `access_key` say about `request`; a
    /// missing or disabled user is denied outright.
    fn identity_decision(&self, access_key: &str, request: &AccessRequest<'_>) -> Decision {
        let state = self.state.read().expect("iam lock");
        let Some(user) = state.stored.users.get(access_key) else {
            return Decision::Deny;
        };
        if !user.enabled {
            return Decision::Deny;
        }
        let requester = Requester::User(access_key);
        let mut decision = Decision::NotApplicable;
        for name in &user.policies {
            let doc = canned_policy(name).or_else(|| state.stored.policies.get(name).cloned());
            match doc.map(|d| d.evaluate(requester, request)) {
                Some(Decision::Deny) => return Decision::Deny,
                Some(Decision::Allow) => decision = Decision::Allow,
                _ => {}
            }
        }
        decision
    }

    /// The parsed policy of `bucket`, from the store's cached setting bytes.
    /// A policy that fails to parse counts as no policy (it was validated on
    /// the way in, so this only happens with hand-edited drives).
    pub async fn bucket_policy(
        &self,
        bucket: &str,
    ) -> Result<Option<Arc<PolicyDocument>>, StoreError> {
        let bytes = self
            .catalog
            .get_bucket_setting(bucket, store::api::BucketSetting::Policy)
            .await?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        if let Some((cached, doc)) = self
            .bucket_policies
            .read()
            .expect("policy cache lock")
            .get(bucket)
        {
            if *cached == bytes {
                return Ok(Some(doc.clone()));
            }
        }
        let Ok(doc) = PolicyDocument::parse(&bytes) else {
            return Ok(None);
        };
        let doc = Arc::new(doc);
        self.bucket_policies
            .write()
            .expect("policy cache lock")
            .insert(bucket.to_string(), (bytes, doc.clone()));
        Ok(Some(doc))
    }

    /// The secret key of `access_key` (root or an enabled user whose secret
    /// unsealed), or `None`: what the request signer looks up.
    pub fn secret_key(&self, access_key: &str) -> Option<String> {
        if access_key == self.root.access_key {
            return Some(self.root.secret_key.clone());
        }
        let state = self.state.read().expect("iam lock");
        let user = state.stored.users.get(access_key)?;
        if !user.enabled {
            return None;
        }
        state.secrets.get(access_key).cloned()
    }
}

/// The AEAD that seals user secrets, and whether it binds them to their
/// user name (format 2) or not (format 1, read only).
#[derive(Clone)]
struct Sealer {
    cipher: ChaCha20Poly1305,
    bind_user: bool,
}

impl Sealer {
    fn new(root: &RootCredentials, salt: &[u8]) -> Self {
        Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&root.sealing_key(salt))),
            bind_user: true,
        }
    }

    fn legacy(root: &RootCredentials) -> Self {
        Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&root.legacy_sealing_key())),
            bind_user: false,
        }
    }

    fn associated_data(&self, access_key: &str) -> Vec<u8> {
        if self.bind_user {
            [b"minnow iam user\0".as_slice(), access_key.as_bytes()].concat()
        } else {
            Vec::new()
        }
    }

    fn seal(&self, access_key: &str, secret: &str) -> String {
        let nonce_bytes: [u8; 12] = rand::random();
        let aad = self.associated_data(access_key);
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce_bytes),
                Payload {
                    msg: secret.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("in-memory encryption cannot fail");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&ct);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    fn unseal(&self, access_key: &str, sealed: &str) -> Option<String> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .ok()?;
        if raw.len() < 12 {
            return None;
        }
        let (nonce, ct) = raw.split_at(12);
        let aad = self.associated_data(access_key);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IAM_V1_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/iam-v1.json");
    const IAM_V2_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/iam-v2.json");
    const PHOTOS_READ_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::photos/*"]}]}"#;

    /// The root credentials the v1 fixture's secrets are sealed under.
    fn fixture_root() -> RootCredentials {
        RootCredentials {
            access_key: "fixture-root".into(),
            secret_key: "fixture-root-secret-v1".into(),
        }
    }

    async fn four_drive_store(dir: &std::path::Path) -> Arc<store::Store> {
        let drives: Vec<_> = (1..=4).map(|i| dir.join(format!("d{i}"))).collect();
        Arc::new(
            store::Store::open(store::StoreConfig::new(drives))
                .await
                .unwrap(),
        )
    }

    /// A store whose `iam.json` is the committed v1 fixture.
    async fn store_with_iam_fixture(dir: &std::path::Path) -> Arc<store::Store> {
        let store = four_drive_store(dir).await;
        let bytes = std::fs::read(IAM_V1_FIXTURE).expect("fixture present");
        store
            .put_system_blob(IAM_BLOB, Some(Bytes::from(bytes)))
            .await
            .unwrap();
        store
    }

    #[tokio::test]
    async fn iam_format_v1_fixture_still_decodes() {
        let bytes = std::fs::read(IAM_V1_FIXTURE).expect("fixture present");
        let stored = decode_stored_iam(&bytes).unwrap();
        assert_eq!(stored.format, 1);

        let dir = tempfile::tempdir().unwrap();
        let store = store_with_iam_fixture(dir.path()).await;
        let iam = Iam::load(store, fixture_root(), None).await.unwrap();
        assert_eq!(
            iam.list_users(),
            vec![
                UserInfo {
                    access_key: "alice".into(),
                    enabled: true,
                    policies: vec!["readwrite".into()],
                    usable: true,
                },
                UserInfo {
                    access_key: "bob".into(),
                    enabled: false,
                    policies: vec!["photos-read".into()],
                    usable: true,
                },
            ]
        );
        // Sealed secrets open under the fixed root they were written with.
        assert_eq!(
            iam.secret_key("alice").as_deref(),
            Some("alice-secret-key-1")
        );
        assert_eq!(
            iam.state
                .read()
                .unwrap()
                .secrets
                .get("bob")
                .map(String::as_str),
            Some("bob-secret-key-2")
        );
        assert_eq!(iam.secret_key("bob"), None, "bob is disabled");
        assert_eq!(
            iam.get_policy("photos-read"),
            Some(PolicyDocument::parse(PHOTOS_READ_POLICY.as_bytes()).unwrap())
        );
        assert!(iam.list_policies().contains(&"photos-read".to_string()));
    }

    /// Format 1 sealed under an unsalted HMAC of the root password; loading
    /// it re-seals every secret at once under the salted Argon2id key, bound
    /// to its user name, and the result is format 2.
    #[tokio::test]
    async fn iam_v1_fixture_is_resealed_as_format_2_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_iam_fixture(dir.path()).await;
        let v1: StoredIam =
            serde_json::from_slice(&std::fs::read(IAM_V1_FIXTURE).unwrap()).unwrap();
        Iam::load(store.clone(), fixture_root(), None)
            .await
            .unwrap();

        let bytes = store.get_system_blob(IAM_BLOB).await.unwrap().unwrap();
        let v2 = decode_stored_iam(&bytes).unwrap();
        assert_eq!(v2.format, 2);
        let salt = base64::engine::general_purpose::STANDARD
            .decode(v2.seal_salt.as_deref().expect("a salt is stored"))
            .unwrap();
        assert_eq!(salt.len(), SEAL_SALT_LEN);
        let sealer = Sealer::new(&fixture_root(), &salt);
        let legacy = Sealer::legacy(&fixture_root());
        for (name, secret) in [("alice", "alice-secret-key-1"), ("bob", "bob-secret-key-2")] {
            let user = &v2.users[name];
            assert!(!user.hmac_sealed);
            assert_ne!(user.sealed_secret, v1.users[name].sealed_secret);
            assert_eq!(legacy.unseal(name, &user.sealed_secret), None);
            assert_eq!(
                sealer.unseal(name, &user.sealed_secret).as_deref(),
                Some(secret)
            );
        }
        assert_eq!(v2.users["bob"].policies, vec!["photos-read".to_string()]);
        assert!(v2.policies.contains_key("photos-read"));

        // The migrated data loads again under the same root and salt.
        let iam = Iam::load(store.clone(), fixture_root(), None)
            .await
            .unwrap();
        assert_eq!(
            iam.secret_key("alice").as_deref(),
            Some("alice-secret-key-1")
        );
        let again =
            decode_stored_iam(&store.get_system_blob(IAM_BLOB).await.unwrap().unwrap()).unwrap();
        assert_eq!(again.seal_salt, v2.seal_salt, "the salt is kept");
    }

    /// Format 2 as written by its first version (salted Argon2id, sealed
    /// secrets bound to their user names) keeps loading, and is not
    /// rewritten by a load.
    #[tokio::test]
    async fn iam_format_v2_fixture_still_decodes() {
        let bytes = std::fs::read(IAM_V2_FIXTURE).expect("fixture present");
        let dir = tempfile::tempdir().unwrap();
        let store = four_drive_store(dir.path()).await;
        store
            .put_system_blob(IAM_BLOB, Some(Bytes::from(bytes.clone())))
            .await
            .unwrap();
        let iam = Iam::load(store.clone(), fixture_root(), None)
            .await
            .unwrap();
        assert_eq!(
            iam.secret_key("alice").as_deref(),
            Some("alice-secret-key-1")
        );
        assert_eq!(
            iam.user_info("bob")
                .map(|u| (u.enabled, u.usable, u.policies)),
            Some((false, true, vec!["photos-read".to_string()]))
        );
        assert!(iam.get_policy("photos-read").is_some());
        let stored = store.get_system_blob(IAM_BLOB).await.unwrap().unwrap();
        assert_eq!(stored.as_ref(), bytes.as_slice(), "a load rewrites nothing");
    }

    /// Two deployments with the same root password get different sealing
    /// keys (the salt is per deployment), and key derivation at start stays
    /// well under a second.
    #[tokio::test]
    async fn each_deployment_seals_under_its_own_salt() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (
            four_drive_store(&dir.path().join("a")).await,
            four_drive_store(&dir.path().join("b")).await,
        );
        for store in [&a, &b] {
            let iam = Iam::load(store.clone(), fixture_root(), None)
                .await
                .unwrap();
            iam.add_user("alice", "alice-secret-key-1").await.unwrap();
        }
        let read = |bytes: Bytes| decode_stored_iam(&bytes).unwrap();
        let sa = read(a.get_system_blob(IAM_BLOB).await.unwrap().unwrap());
        let sb = read(b.get_system_blob(IAM_BLOB).await.unwrap().unwrap());
        assert_ne!(sa.seal_salt, sb.seal_salt);
        let started = std::time::Instant::now();
        let salt = [1u8; SEAL_SALT_LEN];
        fixture_root().sealing_key(&salt);
        let took = started.elapsed();
        eprintln!("sealing key derivation took {took:?}");
        assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    }

    #[tokio::test]
    async fn iam_v1_fixture_needs_its_root_and_reseals_under_a_rotated_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_iam_fixture(dir.path()).await;
        let rotated = RootCredentials {
            access_key: "fixture-root".into(),
            secret_key: "rotated-root-secret".into(),
        };
        let iam = Iam::load(store.clone(), rotated.clone(), None)
            .await
            .unwrap();
        assert!(iam.list_users().iter().all(|u| !u.usable));
        assert_eq!(iam.secret_key("alice"), None);

        let iam = Iam::load(store.clone(), rotated.clone(), Some(fixture_root()))
            .await
            .unwrap();
        assert_eq!(
            iam.secret_key("alice").as_deref(),
            Some("alice-secret-key-1")
        );
        let iam = Iam::load(store, rotated, None).await.unwrap();
        assert!(iam.list_users().iter().all(|u| u.usable));
    }

    /// Writes the fixture through the current code; run once by hand when a
    /// new format version is introduced (never overwrite an old version's
    /// fixture).
    #[tokio::test]
    #[ignore]
    async fn write_iam_fixture_of_the_current_format() {
        let dir = tempfile::tempdir().unwrap();
        let store = four_drive_store(dir.path()).await;
        let iam = Iam::load(store.clone(), fixture_root(), None)
            .await
            .unwrap();
        iam.put_policy(
            "photos-read",
            PolicyDocument::parse(PHOTOS_READ_POLICY.as_bytes()).unwrap(),
        )
        .await
        .unwrap();
        iam.add_user("alice", "alice-secret-key-1").await.unwrap();
        iam.set_policy("alice", "readwrite", true).await.unwrap();
        iam.add_user("bob", "bob-secret-key-2").await.unwrap();
        iam.set_policy("bob", "photos-read", true).await.unwrap();
        iam.set_enabled("bob", false).await.unwrap();
        let bytes = store.get_system_blob(IAM_BLOB).await.unwrap().unwrap();
        let path = format!(
            "{}/fixtures/iam-v{IAM_FORMAT}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        assert!(
            !std::path::Path::new(&path).exists(),
            "{path}: an old version's fixture is never overwritten"
        );
        std::fs::write(path, bytes).unwrap();
    }

    const BUCKET_POLICY_V1_FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/bucket-policy-v1.json"
    );
    /// A bucket policy as PutBucketPolicy receives it; the setting stores
    /// the body verbatim (inside the store's versioned blob).
    const BUCKET_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
     "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*"},
    {"Effect": "Deny", "Principal": {"AWS": ["alice"]},
     "Action": ["s3:DeleteObject"], "Resource": ["arn:aws:s3:::photos/*"]}
  ]
}"#;

    #[tokio::test]
    async fn bucket_policy_setting_v1_fixture_still_decodes() {
        let bytes = std::fs::read(BUCKET_POLICY_V1_FIXTURE).expect("fixture present");
        let dir = tempfile::tempdir().unwrap();
        let store = four_drive_store(dir.path()).await;
        store.create_bucket("photos").await.unwrap();
        store
            .put_bucket_setting(
                "photos",
                store::api::BucketSetting::Policy,
                Some(Bytes::from(bytes)),
            )
            .await
            .unwrap();
        let iam = Iam::load(store, fixture_root(), None).await.unwrap();
        // An unparsable stored policy would silently count as none.
        let policy = iam
            .bucket_policy("photos")
            .await
            .unwrap()
            .expect("stored policy parses");
        assert_eq!(policy.version, "2012-10-17");
        assert_eq!(policy.statement.len(), 2);
        assert_eq!(policy.statement[0].sid.as_deref(), Some("PublicRead"));
        let get = AccessRequest {
            action: "s3:GetObject",
            bucket: Some("photos"),
            key: Some("cat.jpg"),
        };
        let delete = AccessRequest {
            action: "s3:DeleteObject",
            ..get
        };
        assert!(iam.is_allowed(None, Some(&policy), &get));
        assert!(!iam.is_allowed(None, Some(&policy), &delete));
        assert_eq!(
            policy.evaluate(Requester::User("alice"), &delete),
            Decision::Deny
        );
    }

    /// Writes the fixture; run once by hand when a new format version is
    /// introduced (never overwrite an old version's fixture).
    #[test]
    #[ignore]
    fn write_bucket_policy_setting_v1_fixture() {
        PolicyDocument::parse(BUCKET_POLICY.as_bytes()).unwrap();
        std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")).unwrap();
        std::fs::write(BUCKET_POLICY_V1_FIXTURE, BUCKET_POLICY).unwrap();
    }

    #[tokio::test]
    async fn iam_data_of_a_newer_format_is_refused() {
        // A later format may reshape everything but `format`; the error
        // names the version rather than a missing field.
        let newer = br#"{"format":3,"identities":[]}"#;
        let err = decode_stored_iam(newer).unwrap_err().to_string();
        assert!(
            err.contains("identity data format 3 is newer than this minnow understands (2)"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let store = four_drive_store(dir.path()).await;
        store
            .put_system_blob(IAM_BLOB, Some(Bytes::from_static(newer)))
            .await
            .unwrap();
        let err = Iam::load(store, fixture_root(), None)
            .await
            .err()
            .expect("a newer format is refused");
        assert!(matches!(err, IamError::Corrupt(_)), "{err}");
        assert!(err.to_string().contains("format 3 is newer"), "{err}");
    }

    /// An explicit Deny in a user's own policy wins even where the bucket
    /// policy allows (explicit Deny anywhere wins, as in AWS).
    #[tokio::test]
    async fn a_deny_in_the_users_policy_beats_a_bucket_allow() {
        let dir = tempfile::tempdir().unwrap();
        let store = four_drive_store(dir.path()).await;
        let iam = Iam::load(store, fixture_root(), None).await.unwrap();
        iam.put_policy(
            "no-secrets",
            PolicyDocument::parse(
                br#"{"Version":"2012-10-17","Statement":[
                    {"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::*"},
                    {"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/secret/*"}]}"#,
            )
            .unwrap(),
        )
        .await
        .unwrap();
        iam.add_user("carol", "carol-secret-1").await.unwrap();
        iam.set_policy("carol", "no-secrets", true).await.unwrap();
        let bucket = PolicyDocument::parse(
            br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}"#,
        )
        .unwrap();
        let secret = AccessRequest {
            action: "s3:GetObject",
            bucket: Some("photos"),
            key: Some("secret/k"),
        };
        let open = AccessRequest {
            key: Some("open/k"),
            ..secret.clone()
        };
        assert!(!iam.is_allowed(Some("carol"), Some(&bucket), &secret));
        assert!(iam.is_allowed(Some("carol"), Some(&bucket), &open));
        // Anonymous callers have no identity policy: the bucket decides.
        assert!(iam.is_allowed(None, Some(&bucket), &secret));
        // A user without any policy is granted by the bucket policy alone.
        iam.add_user("dave", "dave-secret-1").await.unwrap();
        assert!(iam.is_allowed(Some("dave"), Some(&bucket), &secret));
        assert!(!iam.is_allowed(Some("dave"), None, &secret));
    }

    #[test]
    fn weak_root_credentials_are_rejected() {
        let weak = RootCredentials {
            access_key: "ab".into(),
            secret_key: "longenough".into(),
        };
        assert!(weak.validate().is_err());
        let weak = RootCredentials {
            access_key: "admin".into(),
            secret_key: "short".into(),
        };
        assert!(weak.validate().is_err());
        let ok = RootCredentials {
            access_key: "minioadmin".into(),
            secret_key: "minioadmin".into(),
        };
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn sealing_round_trips_and_needs_the_right_root() {
        let root = RootCredentials {
            access_key: "root".into(),
            secret_key: "password1".into(),
        };
        let other = RootCredentials {
            access_key: "root".into(),
            secret_key: "password2".into(),
        };
        let salt = [7u8; SEAL_SALT_LEN];
        let c1 = Sealer::new(&root, &salt);
        let c2 = Sealer::new(&other, &salt);
        let other_salt = Sealer::new(&root, &[8u8; SEAL_SALT_LEN]);
        let sealed = c1.seal("alice", "s3cr3t-key-value");
        assert!(!sealed.contains("s3cr3t"));
        assert_eq!(
            c1.unseal("alice", &sealed).as_deref(),
            Some("s3cr3t-key-value")
        );
        assert_eq!(c2.unseal("alice", &sealed), None);
        assert_eq!(other_salt.unseal("alice", &sealed), None);
        assert_eq!(c1.unseal("alice", "garbage"), None);
        // Bound to its user: the same sealed value copied to another user
        // (someone with write access to the drives) does not open.
        assert_eq!(c1.unseal("mallory", &sealed), None);
    }

    #[test]
    fn root_credentials_debug_hides_the_secret() {
        let root = RootCredentials {
            access_key: "root".into(),
            secret_key: "topsecretvalue".into(),
        };
        assert!(!format!("{root:?}").contains("topsecretvalue"));
    }

    #[tokio::test]
    async fn concurrent_changes_all_reach_the_drives() {
        let dir = tempfile::tempdir().unwrap();
        let drives: Vec<_> = (1..=4).map(|i| dir.path().join(format!("d{i}"))).collect();
        for d in &drives {
            std::fs::create_dir_all(d).unwrap();
        }
        let store = Arc::new(
            store::Store::open(store::StoreConfig::new(drives.clone()))
                .await
                .unwrap(),
        );
        let root = RootCredentials {
            access_key: "rootuser".into(),
            secret_key: "rootpassword".into(),
        };
        let iam = Arc::new(Iam::load(store.clone(), root.clone(), None).await.unwrap());
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let iam = iam.clone();
                tokio::spawn(async move {
                    iam.add_user(&format!("user{i:02}"), "secret-key-1")
                        .await
                        .unwrap();
                    iam.set_policy(&format!("user{i:02}"), "readwrite", true)
                        .await
                        .unwrap();
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let reloaded = Iam::load(store.clone(), root, None).await.unwrap();
        let users = reloaded.list_users();
        assert_eq!(users.len(), 16);
        assert!(users
            .iter()
            .all(|u| u.usable && u.policies == vec!["readwrite".to_string()]));
        assert_eq!(
            reloaded.secret_key("user07").as_deref(),
            Some("secret-key-1")
        );
    }
}
