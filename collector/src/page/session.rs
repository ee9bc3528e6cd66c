//! Sign-in sessions of the Servers page: a random 256-bit id in an `HttpOnly`, `Secure`,
//! `SameSite=Strict` cookie, a server-side table with an expiry, and the CSRF token every
//! POST form carries. See docs/SECURITY.md ("The Servers page").
//!
//! - The table is keyed by the SHA-256 of the cookie's value: the ids themselves are kept
//!   nowhere, and a lookup compares hashes, so its timing says nothing about a valid id.
//! - A session lasts [`SESSION_TTL`] from its sign-in, whatever its use, and at most
//!   [`MAX_SESSIONS`] are kept: a new one replaces the expired ones, then the least
//!   recently used. Sessions live in memory: a restarted collector asks everyone to sign
//!   in again.
//! - A session remembers the token it was opened with and looks it up at each use, so a token
//!   removed from the `--token-file` ends its sessions at once, and the session acts with
//!   the token's current [`Grant`] (its name and scopes): a session opened with a token
//!   granted `restart` may restart through the page, one of a read-only token may not.
//! - CSRF tokens are an HMAC (key drawn at start) of what the viewer is bound to: the
//!   session, the operator certificate, or the open (`--insecure`) collector. Nothing to
//!   store, distinct per session, checked in constant time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use omswatch_common::secret::Secret;
use rand::RngCore;
use ring::hmac;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::limit::SignInLimiter;
use crate::tokens::Grant;

/// The cookie's name. `__Host-` makes the browser insist on `Secure`, `Path=/` and no
/// `Domain`: no other host or path can set or shadow it.
pub const COOKIE: &str = "__Host-omswatch-session";
/// How long a session lasts from its sign-in (a working day and a night on call).
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Most sessions kept at once.
pub const MAX_SESSIONS: usize = 1024;

/// The SHA-256 of a session cookie's value: how the table knows a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    fn of(cookie_value: &str) -> SessionKey {
        SessionKey(Sha256::digest(cookie_value.as_bytes()).into())
    }
}

/// What a request's viewer is bound to, for its CSRF token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding<'a> {
    /// A signed-in session.
    Session(SessionKey),
    /// An operator certificate (its DER).
    Certificate(&'a [u8]),
    /// The open collector (`--insecure`).
    Open,
}

/// One signed-in browser.
struct Entry {
    /// The token it signed in with, checked again at each use (revocation).
    token: Secret,
    /// When it ends, whatever its use.
    expires: Instant,
    /// Its last use, to choose whom to drop when the table is full.
    last_used: Instant,
}

/// An open session found by its cookie, with what its token may do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// Its key in the table (what its CSRF token is bound to).
    pub key: SessionKey,
    /// Its token's grant, as the token file says now: name and scopes.
    pub grant: Arc<Grant>,
}

/// A session just opened.
#[derive(Debug)]
pub struct NewSession {
    /// The cookie's value (64 hex digits); never logged.
    pub cookie_value: String,
    /// Its key in the table.
    pub key: SessionKey,
}

/// The sessions, the CSRF key and the sign-in limiter; cheap to clone (shared).
#[derive(Clone)]
pub struct Sessions {
    table: Arc<Mutex<HashMap<SessionKey, Entry>>>,
    csrf_key: Arc<hmac::Key>,
    /// Refused sign-ins per address.
    pub limiter: SignInLimiter,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new()
    }
}

impl Sessions {
    /// An empty table with a fresh CSRF key.
    pub fn new() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self {
            table: Arc::default(),
            csrf_key: Arc::new(hmac::Key::new(hmac::HMAC_SHA256, &key)),
            limiter: SignInLimiter::default(),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<SessionKey, Entry>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a session for `token` (already accepted) at `now`.
    pub fn create(&self, token: Secret, now: Instant) -> NewSession {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let cookie_value = hex(&bytes);
        let key = SessionKey::of(&cookie_value);
        let mut table = self.table();
        table.retain(|_, e| e.expires > now);
        if table.len() >= MAX_SESSIONS
            && let Some(oldest) = table
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| *k)
        {
            table.remove(&oldest);
            tracing::warn!(
                max = MAX_SESSIONS,
                "page sessions full: the least recently used one was ended"
            );
        }
        table.insert(
            key,
            Entry {
                token,
                expires: now + SESSION_TTL,
                last_used: now,
            },
        );
        NewSession { cookie_value, key }
    }

    /// The session of `cookie_value` if it is open at `now` and `grant_of` still grants its
    /// token something; an expired or revoked session is removed.
    pub fn find(
        &self,
        cookie_value: &str,
        now: Instant,
        grant_of: impl Fn(&Secret) -> Option<Arc<Grant>>,
    ) -> Option<SignedIn> {
        let key = SessionKey::of(cookie_value);
        let mut table = self.table();
        let entry = table.get_mut(&key)?;
        let grant = (entry.expires > now)
            .then(|| grant_of(&entry.token))
            .flatten();
        let Some(grant) = grant else {
            table.remove(&key);
            return None;
        };
        entry.last_used = now;
        Some(SignedIn { key, grant })
    }

    /// Ends the session `key` (sign-out).
    pub fn remove(&self, key: SessionKey) {
        self.table().remove(&key);
    }

    /// How many sessions are open (expired ones included until the next sign-in).
    pub fn len(&self) -> usize {
        self.table().len()
    }

    /// Whether no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The CSRF token of a viewer bound to `binding` (64 hex digits).
    pub fn csrf(&self, binding: Binding<'_>) -> String {
        let message = match binding {
            Binding::Session(SessionKey(key)) => [b"session:".as_slice(), &key].concat(),
            Binding::Certificate(der) => {
                [b"certificate:".as_slice(), &Sha256::digest(der)].concat()
            }
            Binding::Open => b"open".to_vec(),
        };
        hex(hmac::sign(&self.csrf_key, &message).as_ref())
    }

    /// Whether `presented` is the CSRF token of `binding` (constant time).
    pub fn csrf_ok(&self, binding: Binding<'_>, presented: &str) -> bool {
        let expected = self.csrf(binding);
        expected.len() == presented.len()
            && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The value of cookie `name` in a `Cookie` header (`a=1; b=2`), if present.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// The `Set-Cookie` value that hands `cookie_value` to the browser.
pub fn set_cookie(cookie_value: &str) -> String {
    format!(
        "{COOKIE}={cookie_value}; Path=/; Max-Age={}; Secure; HttpOnly; SameSite=Strict",
        SESSION_TTL.as_secs()
    )
}

/// The `Set-Cookie` value that makes the browser forget its session.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123";

    fn accepted(secret: &Secret) -> Option<Arc<Grant>> {
        let tokens = crate::tokens::TokenSet::parse(
            std::path::Path::new("tokens"),
            &format!("{TOKEN} name=oncall scopes=read,restart\n"),
        )
        .ok()?;
        tokens.find(secret.expose())
    }

    #[test]
    fn a_session_is_found_until_it_expires_or_its_token_is_revoked() {
        let sessions = Sessions::new();
        let t0 = Instant::now();
        let new = sessions.create(Secret::new(TOKEN), t0);
        assert_eq!(new.cookie_value.len(), 64, "256 bits in hex");
        let found = sessions.find(&new.cookie_value, t0, accepted);
        assert_eq!(found.as_ref().map(|s| s.key), Some(new.key));
        let grant = found.map(|s| s.grant).expect("found");
        assert_eq!(
            grant.label(),
            "token:oncall",
            "the session carries its token's grant"
        );
        assert!(grant.allows(crate::tokens::Scope::Restart));
        assert_eq!(sessions.find("0000", t0, accepted), None);
        let late = t0 + SESSION_TTL;
        assert_eq!(sessions.find(&new.cookie_value, late, accepted), None);
        assert!(sessions.is_empty(), "an expired session is removed");

        let other = sessions.create(Secret::new(TOKEN), t0);
        assert_eq!(sessions.find(&other.cookie_value, t0, |_| None), None);
        assert_eq!(
            sessions.find(&other.cookie_value, t0, accepted),
            None,
            "a revoked token's session is gone for good"
        );
    }

    #[test]
    fn a_full_table_drops_the_least_recently_used_session() {
        let sessions = Sessions::new();
        let t0 = Instant::now();
        let first = sessions.create(Secret::new(TOKEN), t0);
        let second = sessions.create(Secret::new(TOKEN), t0 + Duration::from_secs(1));
        // The first is used again: the second is now the least recently used.
        let t2 = t0 + Duration::from_secs(2);
        assert!(sessions.find(&first.cookie_value, t2, accepted).is_some());
        for i in 0..MAX_SESSIONS - 2 {
            let _ = sessions.create(Secret::new(TOKEN), t2 + Duration::from_millis(i as u64 + 1));
        }
        assert_eq!(sessions.len(), MAX_SESSIONS);
        let _ = sessions.create(Secret::new(TOKEN), t2 + Duration::from_secs(60));
        assert_eq!(sessions.len(), MAX_SESSIONS);
        let now = t2 + Duration::from_secs(61);
        assert!(sessions.find(&second.cookie_value, now, accepted).is_none());
        assert!(sessions.find(&first.cookie_value, now, accepted).is_some());
    }

    #[test]
    fn csrf_tokens_are_bound_to_their_viewer_and_key() {
        let sessions = Sessions::new();
        let t0 = Instant::now();
        let a = sessions.create(Secret::new(TOKEN), t0).key;
        let b = sessions.create(Secret::new(TOKEN), t0).key;
        let token_a = sessions.csrf(Binding::Session(a));
        assert_eq!(token_a.len(), 64);
        assert!(sessions.csrf_ok(Binding::Session(a), &token_a));
        assert!(!sessions.csrf_ok(Binding::Session(b), &token_a));
        assert!(!sessions.csrf_ok(Binding::Open, &token_a));
        assert!(!sessions.csrf_ok(Binding::Session(a), ""));
        assert!(!sessions.csrf_ok(Binding::Session(a), &token_a[..63]));
        let cert = sessions.csrf(Binding::Certificate(b"der"));
        assert!(sessions.csrf_ok(Binding::Certificate(b"der"), &cert));
        assert!(!sessions.csrf_ok(Binding::Certificate(b"other"), &cert));
        // Another collector process (another key) does not accept it.
        assert!(!Sessions::new().csrf_ok(Binding::Session(a), &token_a));
    }

    #[test]
    fn cookies_are_read_by_name_and_set_with_every_attribute() {
        let header = format!("theme=dark; {COOKIE}=abc123 ; other=x");
        assert_eq!(cookie_value(&header, COOKIE), Some("abc123"));
        assert_eq!(cookie_value("theme=dark", COOKIE), None);
        assert_eq!(cookie_value("x__Host-omswatch-session=1", COOKIE), None);
        let set = set_cookie("abc");
        for attribute in [
            "Path=/",
            "Max-Age=43200",
            "Secure",
            "HttpOnly",
            "SameSite=Strict",
        ] {
            assert!(set.contains(attribute), "{set}");
        }
        assert!(!set.contains("Domain"), "{set}");
        assert!(clear_cookie().contains("Max-Age=0"));
    }
}
