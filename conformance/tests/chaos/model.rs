//! The model of acknowledged state the campaign checks the server against: for every key, the
//! set of states a read may observe. An acknowledged write narrows the set to its own content; a
//! write whose answer never arrived (the server died, the request timed out) only adds to it, so
//! either the old or the new state is a correct answer, but bytes from neither are not.

use std::collections::{BTreeMap, BTreeSet};

use conformance::pattern_bytes;

/// Index of a content in [`Model::contents`]; every write gets a fresh one.
pub type ContentId = usize;

/// Bytes a client wrote: the concatenation of `pattern_bytes(len, seed)` per segment (one
/// segment per multipart part), so nothing large is kept in memory.
#[derive(Clone, Debug)]
pub struct Content {
    pub segments: Vec<(u64, usize)>,
}

impl Content {
    pub fn len(&self) -> usize {
        self.segments.iter().map(|(_, len)| len).sum()
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        for (seed, len) in &self.segments {
            out.extend_from_slice(&pattern_bytes(*len, *seed));
        }
        out
    }
}

/// What a read observed.
pub enum Observed {
    Bytes(Vec<u8>),
    Absent,
    Error(String),
}

/// How a read compares with the model.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Unreadable while an interrupted write left the key between two states: not a broken
    /// promise to a client, but reported.
    Ambiguous(String),
    Violation(String),
}

struct KeyState {
    /// States a read may observe; `None` is "absent".
    allowed: BTreeSet<Option<ContentId>>,
    /// Every content ever written here, to name a stale version when one comes back.
    history: Vec<ContentId>,
    /// A client has a request on this key in flight; others leave it alone.
    busy: bool,
}

/// A key nobody wrote reads as absent.
impl Default for KeyState {
    fn default() -> KeyState {
        KeyState {
            allowed: BTreeSet::from([None]),
            history: Vec::new(),
            busy: false,
        }
    }
}

/// Buckets and keys with their allowed states.
#[derive(Default)]
pub struct Model {
    contents: Vec<Content>,
    keys: BTreeMap<(String, String), KeyState>,
    /// Bucket name → whether its creation was acknowledged (unacknowledged ones may exist).
    buckets: BTreeMap<String, bool>,
}

impl Model {
    pub fn add_content(&mut self, content: Content) -> ContentId {
        self.contents.push(content);
        self.contents.len() - 1
    }

    pub fn content(&self, id: ContentId) -> &Content {
        &self.contents[id]
    }

    /// Records a bucket creation: acknowledged, or unknown.
    pub fn record_bucket(&mut self, bucket: &str, acknowledged: bool) {
        let entry = self.buckets.entry(bucket.to_string()).or_insert(false);
        *entry |= acknowledged;
    }

    /// Buckets whose creation was acknowledged.
    pub fn acknowledged_buckets(&self) -> Vec<String> {
        self.buckets
            .iter()
            .filter(|(_, acked)| **acked)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Every bucket a client asked for, acknowledged or not.
    pub fn is_known_bucket(&self, bucket: &str) -> bool {
        self.buckets.contains_key(bucket)
    }

    /// Marks `(bucket, key)` busy; false when another client holds it.
    pub fn claim(&mut self, bucket: &str, key: &str) -> bool {
        let state = self
            .keys
            .entry((bucket.to_string(), key.to_string()))
            .or_default();
        if state.busy {
            return false;
        }
        state.busy = true;
        true
    }

    pub fn release(&mut self, bucket: &str, key: &str) {
        if let Some(state) = self.keys.get_mut(&(bucket.to_string(), key.to_string())) {
            state.busy = false;
        }
    }

    /// A write of `value` (`None`: a delete) finished: acknowledged narrows the key to it,
    /// unknown adds it to what a read may see.
    pub fn record_write(
        &mut self,
        bucket: &str,
        key: &str,
        value: Option<ContentId>,
        acknowledged: bool,
    ) {
        let state = self.state_mut(bucket, key);
        if acknowledged {
            state.allowed.clear();
        }
        state.allowed.insert(value);
        if let Some(id) = value {
            state.history.push(id);
        }
    }

    /// A copy from `source` finished. The destination gets whatever the source held (the source
    /// is claimed by the copier, so that is one of its allowed states).
    pub fn record_copy(
        &mut self,
        bucket: &str,
        source: &str,
        destination: &str,
        acknowledged: bool,
    ) -> Verdict {
        let source_state = self.state_mut(bucket, source);
        let present: Vec<ContentId> = source_state.allowed.iter().flatten().copied().collect();
        let fallback = source_state.history.clone();
        let state = self.state_mut(bucket, destination);
        if acknowledged {
            state.allowed.clear();
        }
        if acknowledged && present.is_empty() {
            // The copy found bytes the model says are gone: whatever it copied may be any of
            // them, so later reads of the destination are judged against the source's history.
            state.allowed.extend(fallback.iter().map(|id| Some(*id)));
            state.history.extend(fallback);
            return Verdict::Violation(format!(
                "CopyObject {bucket}/{source} -> {destination} succeeded but the source is deleted"
            ));
        }
        state.allowed.extend(present.iter().map(|id| Some(*id)));
        state.history.extend(present);
        Verdict::Ok
    }

    /// Judges a read of `(bucket, key)`. Errors are judged only when `quiescent` (the server is
    /// up and no fault is in progress); wrong bytes and a wrong "absent" always.
    pub fn judge(&self, bucket: &str, key: &str, observed: &Observed, quiescent: bool) -> Verdict {
        let fresh = KeyState::default();
        let state = self
            .keys
            .get(&(bucket.to_string(), key.to_string()))
            .unwrap_or(&fresh);
        let definite = state.allowed.len() == 1;
        match observed {
            Observed::Bytes(body) => {
                for id in state.allowed.iter().flatten() {
                    let content = &self.contents[*id];
                    if content.len() == body.len() && content.bytes() == *body {
                        return Verdict::Ok;
                    }
                }
                let stale = state.history.iter().rev().find(|id| {
                    let content = &self.contents[**id];
                    content.len() == body.len() && content.bytes() == *body
                });
                let expected = self.describe(&state.allowed);
                Verdict::Violation(match stale {
                    Some(id) if state.allowed.contains(&None) && definite => format!(
                        "{bucket}/{key}: an acknowledged delete came back (read content #{id})"
                    ),
                    Some(id) => format!(
                        "{bucket}/{key}: read stale content #{id}, expected one of {expected}"
                    ),
                    None => format!(
                        "{bucket}/{key}: read {} bytes that no client wrote here (torn?), \
                         expected one of {expected}",
                        body.len()
                    ),
                })
            }
            Observed::Absent => {
                if state.allowed.contains(&None) {
                    Verdict::Ok
                } else if definite {
                    Verdict::Violation(format!(
                        "{bucket}/{key}: acknowledged object is missing (expected {})",
                        self.describe(&state.allowed)
                    ))
                } else {
                    Verdict::Ambiguous(format!(
                        "{bucket}/{key}: absent, expected one of {}",
                        self.describe(&state.allowed)
                    ))
                }
            }
            Observed::Error(error) => {
                if !quiescent {
                    Verdict::Ok
                } else if definite {
                    Verdict::Violation(format!(
                        "{bucket}/{key}: read failed on an acknowledged state ({}): {error}",
                        self.describe(&state.allowed)
                    ))
                } else {
                    Verdict::Ambiguous(format!(
                        "{bucket}/{key}: read failed between {}: {error}",
                        self.describe(&state.allowed)
                    ))
                }
            }
        }
    }

    /// Judges one entry of a listing: the key must be one a client wrote and not deleted for
    /// sure, and the listed size must be one of its allowed contents' sizes.
    pub fn judge_listed(&self, bucket: &str, key: &str, size: usize) -> Verdict {
        let Some(state) = self.keys.get(&(bucket.to_string(), key.to_string())) else {
            return Verdict::Violation(format!(
                "{bucket}/{key}: listed, but no client ever wrote it"
            ));
        };
        let sizes: Vec<usize> = state
            .allowed
            .iter()
            .flatten()
            .map(|id| self.contents[*id].len())
            .collect();
        if sizes.is_empty() {
            return Verdict::Violation(format!(
                "{bucket}/{key}: listed, but its delete was acknowledged"
            ));
        }
        if !sizes.contains(&size) {
            return Verdict::Violation(format!(
                "{bucket}/{key}: listed with {size} bytes, expected one of {sizes:?}"
            ));
        }
        Verdict::Ok
    }

    /// Keys of `bucket` that must appear in a listing (acknowledged and present).
    pub fn must_list(&self, bucket: &str) -> Vec<String> {
        self.keys
            .iter()
            .filter(|((b, _), state)| {
                b == bucket && state.allowed.len() == 1 && !state.allowed.contains(&None)
            })
            .map(|((_, key), _)| key.clone())
            .collect()
    }

    /// Every key of `bucket` the model knows.
    pub fn keys_of(&self, bucket: &str) -> Vec<String> {
        self.keys
            .keys()
            .filter(|(b, _)| b == bucket)
            .map(|(_, key)| key.clone())
            .collect()
    }

    fn state_mut(&mut self, bucket: &str, key: &str) -> &mut KeyState {
        self.keys
            .entry((bucket.to_string(), key.to_string()))
            .or_default()
    }

    fn describe(&self, allowed: &BTreeSet<Option<ContentId>>) -> String {
        // Writes racing a backup make long sets: the newest few say enough.
        let shown = allowed.len().min(4);
        let mut parts: Vec<String> = allowed
            .iter()
            .rev()
            .take(shown)
            .map(|value| match value {
                None => "absent".to_string(),
                Some(id) => format!("#{id} ({} bytes)", self.contents[*id].len()),
            })
            .collect();
        if allowed.len() > shown {
            parts.push(format!("{} older", allowed.len() - shown));
        }
        format!("[{}]", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_with_one_key() -> (Model, ContentId, ContentId) {
        let mut model = Model::default();
        let old = model.add_content(Content {
            segments: vec![(1, 100)],
        });
        let new = model.add_content(Content {
            segments: vec![(2, 100)],
        });
        model.record_write("b", "k", Some(old), true);
        (model, old, new)
    }

    #[test]
    fn an_unknown_overwrite_allows_old_or_new_but_not_other_bytes() {
        let (mut model, old, new) = model_with_one_key();
        model.record_write("b", "k", Some(new), false);
        for id in [old, new] {
            let body = Observed::Bytes(model.content(id).bytes());
            assert_eq!(model.judge("b", "k", &body, true), Verdict::Ok);
        }
        let mut torn = model.content(old).bytes();
        torn[50..].copy_from_slice(&model.content(new).bytes()[50..]);
        assert!(matches!(
            model.judge("b", "k", &Observed::Bytes(torn), true),
            Verdict::Violation(_)
        ));
        assert!(matches!(
            model.judge("b", "k", &Observed::Absent, true),
            Verdict::Ambiguous(_)
        ));
    }

    #[test]
    fn an_acknowledged_delete_must_not_come_back() {
        let (mut model, old, _) = model_with_one_key();
        model.record_write("b", "k", None, true);
        let verdict = model.judge("b", "k", &Observed::Bytes(model.content(old).bytes()), true);
        assert!(matches!(verdict, Verdict::Violation(ref m) if m.contains("delete came back")));
        assert!(matches!(
            model.judge_listed("b", "k", 100),
            Verdict::Violation(_)
        ));
    }

    #[test]
    fn an_acknowledged_object_must_read_and_list() {
        let (mut model, _, new) = model_with_one_key();
        model.record_write("b", "k", Some(new), true);
        assert!(matches!(
            model.judge("b", "k", &Observed::Absent, true),
            Verdict::Violation(_)
        ));
        assert!(matches!(
            model.judge("b", "k", &Observed::Error("503".into()), true),
            Verdict::Violation(_)
        ));
        assert_eq!(
            model.judge("b", "k", &Observed::Error("refused".into()), false),
            Verdict::Ok
        );
        assert_eq!(model.must_list("b"), vec!["k".to_string()]);
        assert!(matches!(
            model.judge_listed("b", "never", 1),
            Verdict::Violation(_)
        ));
    }
}
