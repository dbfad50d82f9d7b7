//! Sessions and sign-in throttling, both in server memory only. A session
//! holds the identity's credentials under a random id (the cookie) and a
//! separate random CSRF token; neither the secret nor the id is ever put
//! in a page. Sign-out and expiry remove the entry, so a copied cookie
//! stops working at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::upstream::Identity;

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub identity: Identity,
    /// Sent back in `x-csrf-token` on every state change.
    pub csrf: String,
    /// Whether the admin API answered this identity at sign-in (only decides
    /// which pages are offered; the server still decides every call).
    pub admin: bool,
    expires: Instant,
}

impl Session {
    /// Whether `token` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        self.csrf.as_bytes().ct_eq(token.as_bytes()).into()
    }
}

/// Most sessions kept at once; past it the one closest to expiry goes, so
/// repeated sign-ins cannot grow memory without bound.
const MAX_SESSIONS: usize = 10_000;

/// Every live session.
pub struct Sessions {
    ttl: Duration,
    live: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes, hex: an unguessable id or token.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Sessions {
    /// Sessions that last `ttl` from sign-in.
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            ttl,
            live: Mutex::new(HashMap::new()),
        }
    }

    /// How long a session lasts.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Starts a session; returns its id and the session.
    pub fn create(&self, identity: Identity, admin: bool) -> (String, Session) {
        let id = random_token();
        let session = Session {
            identity,
            csrf: random_token(),
            admin,
            expires: Instant::now() + self.ttl,
        };
        let mut live = self.live.lock().expect("sessions lock");
        let now = Instant::now();
        live.retain(|_, s| s.expires > now);
        if live.len() >= MAX_SESSIONS {
            let oldest = live
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                live.remove(&oldest);
            }
        }
        live.insert(id.clone(), session.clone());
        (id, session)
    }

    /// The live session with this id, if any (expired ones are dropped).
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut live = self.live.lock().expect("sessions lock");
        match live.get(id) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                live.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends a session (sign-out).
    pub fn remove(&self, id: &str) {
        self.live.lock().expect("sessions lock").remove(id);
    }
}

/// Failed sign-ins per remote address: after `allowed` failures within
/// `window`, every attempt from that address is refused until the window
/// that began with the first failure has passed.
pub struct SignInLimiter {
    allowed: u32,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl SignInLimiter {
    pub fn new(allowed: u32, window: Duration) -> SignInLimiter {
        SignInLimiter {
            allowed,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after)` when `address` must wait before trying again.
    pub fn check(&self, address: IpAddr) -> Result<(), Duration> {
        let mut failures = self.failures.lock().expect("limiter lock");
        let now = Instant::now();
        failures.retain(|_, (_, since)| now.duration_since(*since) < self.window);
        match failures.get(&address) {
            Some((count, since)) if *count >= self.allowed => {
                Err(self.window.saturating_sub(now.duration_since(*since)))
            }
            _ => Ok(()),
        }
    }

    /// Records a wrong access key or secret from `address`.
    pub fn failed(&self, address: IpAddr) {
        let mut failures = self.failures.lock().expect("limiter lock");
        let entry = failures.entry(address).or_insert((0, Instant::now()));
        entry.0 += 1;
    }

    /// A successful sign-in clears the address's failures.
    pub fn succeeded(&self, address: IpAddr) {
        self.failures.lock().expect("limiter lock").remove(&address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            access_key: "ak".into(),
            secret_key: "sk".into(),
        }
    }

    #[test]
    fn removed_and_expired_sessions_are_gone() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let (id, session) = sessions.create(identity(), false);
        assert!(sessions.get(&id).is_some());
        assert!(session.csrf_matches(&session.csrf));
        assert!(!session.csrf_matches("nope"));
        sessions.remove(&id);
        assert!(sessions.get(&id).is_none());

        let short = Sessions::new(Duration::from_millis(1));
        let (id, _) = short.create(identity(), false);
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.get(&id).is_none(), "an expired session must not work");
    }

    #[test]
    fn limiter_blocks_after_the_allowed_failures_per_address() {
        let limiter = SignInLimiter::new(3, Duration::from_secs(60));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(a).is_ok());
            limiter.failed(a);
        }
        assert!(limiter.check(a).is_err());
        assert!(limiter.check(b).is_ok(), "other addresses are not blocked");
    }
}
