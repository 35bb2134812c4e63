//! The console's sign-in: a cookie that proves the admin token was shown,
//! without holding it. Its value is `mac.expires.nonce.label`, the MAC an
//! HMAC-SHA256 keyed with `ADMIN_TOKEN`: nothing is stored server-side, a
//! forged or edited cookie fails the MAC, and changing `ADMIN_TOKEN` ends
//! every session at once. Each session's CSRF token is the MAC of its
//! nonce, so forms carry a value a cross-site page cannot know.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;

use crate::config::Secret;
use crate::trust::audit::Actor;

pub const COOKIE: &str = "ciel_console";
pub const FLASH_COOKIE: &str = "ciel_console_flash";
/// How long a sign-in lasts: a working day. There is no server-side
/// revocation but changing `ADMIN_TOKEN`, so it is kept short.
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// How long a flash message waits for the page after a redirect.
const FLASH_LIFETIME: Duration = Duration::from_secs(60);
const FLASH_MAX_CHARS: usize = 500;

/// A signed-in moderator.
pub struct Session {
    pub actor: Actor,
    nonce: String,
}

fn key(token: &Secret<String>) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, token.expose().as_bytes())
}

fn mac(key: &hmac::Key, purpose: &str, message: &str) -> String {
    let tag = hmac::sign(key, format!("{purpose}\n{message}").as_bytes());
    URL_SAFE_NO_PAD.encode(tag.as_ref())
}

/// Checks a MAC in constant time.
fn verify(key: &hmac::Key, purpose: &str, message: &str, presented: &str) -> bool {
    let Ok(tag) = URL_SAFE_NO_PAD.decode(presented) else {
        return false;
    };
    hmac::verify(key, format!("{purpose}\n{message}").as_bytes(), &tag).is_ok()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Session {
    /// A new session for the holder of the token, named `label` (already
    /// checked by [`Actor::admin`]). Returns the cookie's value.
    pub fn issue(token: &Secret<String>, label: Option<&str>) -> String {
        let mut nonce = [0u8; 18];
        rand::thread_rng().fill_bytes(&mut nonce);
        let expires = now_secs() + LIFETIME.as_secs();
        let body = format!(
            "{expires}.{}.{}",
            URL_SAFE_NO_PAD.encode(nonce),
            label.unwrap_or("")
        );
        format!("{}.{body}", mac(&key(token), "session", &body))
    }

    /// The session a cookie value proves, if its MAC holds and it has not
    /// expired.
    pub fn verify(token: &Secret<String>, value: &str) -> Option<Session> {
        let (presented, body) = value.split_once('.')?;
        if !verify(&key(token), "session", body, presented) {
            return None;
        }
        let mut fields = body.splitn(3, '.');
        let expires: u64 = fields.next()?.parse().ok()?;
        let nonce = fields.next()?.to_string();
        let label = fields.next()?;
        if expires <= now_secs() {
            return None;
        }
        let actor = Actor::admin(Some(label).filter(|l| !l.is_empty())).ok()?;
        Some(Session { actor, nonce })
    }

    /// The token this session's forms carry.
    pub fn csrf_token(&self, token: &Secret<String>) -> String {
        mac(&key(token), "csrf", &self.nonce)
    }

    pub fn csrf_holds(&self, token: &Secret<String>, presented: &str) -> bool {
        verify(&key(token), "csrf", &self.nonce, presented)
    }
}

/// The value of cookie `name` in the request, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// Whether the browser reached us over plain HTTP on this machine: a
/// loopback peer asking for a loopback host. Only there may the cookies go
/// without `Secure` (a developer's `scripts/dev`, the browser test); any
/// real deployment is reached by name, through TLS.
pub fn on_loopback_http(parts: &Parts) -> bool {
    let peer_is_loopback = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(addr)| addr.ip().is_loopback());
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    peer_is_loopback && matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// A `Set-Cookie` value scoped to the console: never readable by scripts,
/// never sent cross-site.
pub fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{name}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        max_age.as_secs()
    )
}

/// A message for the next page, after a redirect: `ok` or `error`, then the text.
pub fn set_flash(ok: bool, message: &str, secure: bool) -> String {
    // Bounded well below a cookie's 4 KB, whatever an error message says.
    let message: String = message.chars().take(FLASH_MAX_CHARS).collect();
    let value = URL_SAFE_NO_PAD.encode(format!("{}{message}", if ok { '+' } else { '-' }));
    set_cookie(FLASH_COOKIE, &value, FLASH_LIFETIME, secure)
}

/// The flash message a request carries: whether it is good news, and its text.
pub fn read_flash(headers: &HeaderMap) -> Option<(bool, String)> {
    let decoded = URL_SAFE_NO_PAD
        .decode(cookie(headers, FLASH_COOKIE)?)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let mut chars = text.chars();
    let ok = chars.next()? == '+';
    Some((ok, chars.as_str().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &str) -> Secret<String> {
        Secret::new(value.to_string())
    }

    #[test]
    fn a_session_holds_under_its_token_only() {
        let value = Session::issue(&token("one"), Some("ana.b@x"));
        let session = Session::verify(&token("one"), &value).expect("valid");
        assert_eq!(session.actor.as_str(), "admin:ana.b@x");
        assert!(Session::verify(&token("two"), &value).is_none());
        assert!(!value.contains("one"), "the cookie never carries the token");
    }

    #[test]
    fn an_edited_session_fails() {
        let value = Session::issue(&token("one"), Some("ana"));
        let edited = value.replace(".ana", ".bob");
        assert!(Session::verify(&token("one"), &edited).is_none());
        let (mac, body) = value.split_once('.').unwrap();
        let (_, rest) = body.split_once('.').unwrap();
        let later = format!("{mac}.{}.{rest}", now_secs() + 10 * LIFETIME.as_secs());
        assert!(Session::verify(&token("one"), &later).is_none());
    }

    #[test]
    fn a_csrf_token_belongs_to_its_session() {
        let key = token("one");
        let first = Session::verify(&key, &Session::issue(&key, None)).unwrap();
        let second = Session::verify(&key, &Session::issue(&key, None)).unwrap();
        assert_eq!(first.actor.as_str(), "admin");
        assert!(first.csrf_holds(&key, &first.csrf_token(&key)));
        assert!(!first.csrf_holds(&key, &second.csrf_token(&key)));
        assert!(!first.csrf_holds(&key, ""));
    }

    #[test]
    fn a_flash_reads_back() {
        let set = set_flash(false, "reason: must be 1 to 1000 characters", true);
        let value = set.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, format!("a=b; {value}").parse().unwrap());
        assert_eq!(
            read_flash(&headers),
            Some((false, "reason: must be 1 to 1000 characters".into()))
        );
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.ends_with("Secure")
        );
    }
}
