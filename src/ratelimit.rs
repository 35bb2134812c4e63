//! Fixed-window rate limits counted in Redis, shared by every API instance.
//! When Redis cannot be reached the same windows are counted in this process
//! instead: limits get looser (per instance) but requests keep being served.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use crate::config::{Policy, SignInThrottle};
use crate::infra::redis::RedisHandle;

/// The outcome of counting one request, with what the `RateLimit` headers
/// need to tell the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub remaining: u64,
    pub reset_after: Duration,
}

impl Decision {
    fn from_count(policy: &Policy, count: u64, reset_after: Duration) -> Self {
        Decision {
            allowed: count <= policy.quota,
            remaining: policy.quota.saturating_sub(count),
            reset_after,
        }
    }
}

pub struct RateLimiter {
    redis: RedisHandle,
    key_prefix: String,
    local: LocalWindows,
}

// INCR and PEXPIRE in one round trip; the key lives exactly one window.
const COUNT_SCRIPT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
";

impl RateLimiter {
    pub fn new(redis: RedisHandle, key_prefix: &str) -> Self {
        Self {
            redis,
            key_prefix: key_prefix.to_string(),
            local: LocalWindows::default(),
        }
    }

    /// Counts one request of `subject` against `policy`: the `rate_limited`
    /// answer past its quota.
    pub async fn enforce(&self, policy: &Policy, subject: &str) -> crate::error::Result<Decision> {
        let decision = self.check(policy, subject).await;
        if decision.allowed {
            Ok(decision)
        } else {
            Err(crate::error::Error::RateLimited {
                policy: policy.clone(),
                retry_after: decision.reset_after,
            })
        }
    }

    /// Counts one request of `subject` (an IP or a user id) against `policy`.
    pub async fn check(&self, policy: &Policy, subject: &str) -> Decision {
        let key = self.window_key(policy, subject);
        let window_ms = policy.window.as_millis() as u64;
        let script = redis::Script::new(COUNT_SCRIPT);
        let counted = self
            .redis
            .run(|mut conn| async move {
                let (count, ttl_ms): (u64, u64) = script
                    .key(&key)
                    .arg(window_ms)
                    .invoke_async(&mut conn)
                    .await?;
                Ok((count, ttl_ms))
            })
            .await;
        match counted {
            Some((count, ttl_ms)) => {
                Decision::from_count(policy, count, Duration::from_millis(ttl_ms))
            }
            None => {
                metrics::counter!("ratelimit_local_fallback_total", "policy" => policy.name)
                    .increment(1);
                self.local.check(policy, subject, Instant::now())
            }
        }
    }
}

impl RateLimiter {
    fn window_key(&self, policy: &Policy, subject: &str) -> String {
        format!("{}:rl:{}:{}", self.key_prefix, policy.name, subject)
    }

    /// What `subject` has left of `policy`, without counting a request (to
    /// show a user their budgets).
    pub async fn peek(&self, policy: &Policy, subject: &str) -> Decision {
        let key = self.window_key(policy, subject);
        let read = self
            .redis
            .run(|mut conn| async move {
                let (count, ttl_ms): (Option<u64>, i64) = redis::pipe()
                    .get(&key)
                    .pttl(&key)
                    .query_async(&mut conn)
                    .await?;
                Ok((count.unwrap_or(0), ttl_ms))
            })
            .await;
        match read {
            Some((count, ttl_ms)) => {
                let reset_after = u64::try_from(ttl_ms)
                    .map(Duration::from_millis)
                    .unwrap_or(policy.window);
                Decision::peeked(policy, count, reset_after)
            }
            None => self.local.peek(policy, subject, Instant::now()),
        }
    }
}

impl Decision {
    /// `allowed`: whether one more request would be.
    fn peeked(policy: &Policy, count: u64, reset_after: Duration) -> Self {
        Decision {
            allowed: count < policy.quota,
            remaining: policy.quota.saturating_sub(count),
            reset_after,
        }
    }
}

/// Failed sign-ins an (account, network) pair may make before it must wait.
const FREE_FAILURES: u64 = 5;
/// The first wait of a pair past its free failures; each further failure
/// doubles it, up to [`LONGEST_WAIT`].
const FIRST_WAIT: Duration = Duration::from_secs(15);
const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);
/// How long a pair's failures are remembered.
const FAILURE_MEMORY: Duration = Duration::from_secs(3600);
/// A network that signed in to an account is known to it this long.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// Attempts per account from unknown networks once past its ceiling.
pub const ACCOUNT_PACE: Duration = Duration::from_secs(10);

/// The policy named in a throttled sign-in's 429.
pub fn sign_in_policy(window: Duration) -> Policy {
    Policy {
        name: "login_account",
        quota: FREE_FAILURES,
        window,
    }
}

impl RateLimiter {
    fn key(&self, kind: &str, parts: &[&str]) -> String {
        format!("{}:{kind}:{}", self.key_prefix, parts.join(":"))
    }

    /// `Some(wait)` when a sign-in to `account` from `network` must wait.
    /// Without Redis the throttle is open (the per-IP limit still holds).
    pub async fn sign_in_wait(
        &self,
        throttle: &SignInThrottle,
        account: &str,
        network: &str,
    ) -> Option<Duration> {
        let wait_key = self.key("signin-wait", &[account, network]);
        let known_key = self.key("signin-known", &[account, network]);
        let failures_key = self.key("signin-failures", &[account]);
        let pace_key = self.key("signin-pace", &[account]);
        let pace_ms = ACCOUNT_PACE.as_millis() as u64;
        let ceiling = throttle.account.quota;
        let script = redis::Script::new(SIGN_IN_GATE_SCRIPT);
        let wait_ms: u64 = self
            .redis
            .run(|mut conn| async move {
                script
                    .key(&wait_key)
                    .key(&known_key)
                    .key(&failures_key)
                    .key(&pace_key)
                    .arg(ceiling)
                    .arg(pace_ms)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        (wait_ms > 0).then(|| Duration::from_millis(wait_ms))
    }

    /// Counts a failed sign-in; past the free ones, the pair must wait.
    pub async fn sign_in_failed(&self, throttle: &SignInThrottle, account: &str, network: &str) {
        let pair_key = self.key("signin-pair-failures", &[account, network]);
        let wait_key = self.key("signin-wait", &[account, network]);
        let failures_key = self.key("signin-failures", &[account]);
        let script = redis::Script::new(SIGN_IN_FAILED_SCRIPT);
        let _: Option<u64> = self
            .redis
            .run(|mut conn| async move {
                script
                    .key(&pair_key)
                    .key(&wait_key)
                    .key(&failures_key)
                    .arg(FAILURE_MEMORY.as_millis() as u64)
                    .arg(throttle.account.window.as_millis() as u64)
                    .arg(FREE_FAILURES)
                    .arg(FIRST_WAIT.as_millis() as u64)
                    .arg(LONGEST_WAIT.as_millis() as u64)
                    .invoke_async(&mut conn)
                    .await
            })
            .await;
    }

    /// Clears the pair's failures and remembers the network as the owner's.
    pub async fn sign_in_succeeded(&self, account: &str, network: &str) {
        let pair_key = self.key("signin-pair-failures", &[account, network]);
        let wait_key = self.key("signin-wait", &[account, network]);
        let known_key = self.key("signin-known", &[account, network]);
        let _: Option<()> = self
            .redis
            .run(|mut conn| async move {
                redis::pipe()
                    .del(&pair_key)
                    .ignore()
                    .del(&wait_key)
                    .ignore()
                    .set_ex(&known_key, 1, KNOWN_FOR.as_secs())
                    .ignore()
                    .query_async(&mut conn)
                    .await
            })
            .await;
    }
}

// KEYS: pair wait, pair known, account failures, account pace.
// ARGV: account ceiling, pace (ms). Returns the wait in ms (0: go ahead).
const SIGN_IN_GATE_SCRIPT: &str = r"
local wait = redis.call('PTTL', KEYS[1])
if wait > 0 then return wait end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local failures = tonumber(redis.call('GET', KEYS[3]) or '0')
if failures < tonumber(ARGV[1]) then return 0 end
if redis.call('SET', KEYS[4], 1, 'PX', ARGV[2], 'NX') then return 0 end
local pace = redis.call('PTTL', KEYS[4])
if pace < 1 then pace = 1 end
return pace
";

// KEYS: pair failures, pair wait, account failures.
// ARGV: pair memory (ms), account window (ms), free failures, first wait
// (ms), longest wait (ms).
const SIGN_IN_FAILED_SCRIPT: &str = r"
local pair = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local account = redis.call('INCR', KEYS[3])
if account == 1 or redis.call('PTTL', KEYS[3]) < 0 then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
local over = pair - tonumber(ARGV[3])
if over >= 0 then
  local wait = tonumber(ARGV[4]) * (2 ^ math.min(over, 20))
  wait = math.min(wait, tonumber(ARGV[5]))
  redis.call('SET', KEYS[2], 1, 'PX', math.floor(wait))
end
return pair
";

/// The bucket a client address is counted in: IPv4-mapped IPv6 addresses
/// are the IPv4 address they carry, and IPv6 counts by /64, the smallest
/// network a host is usually given (one host may hold all of it).
pub fn ip_subject(ip: std::net::IpAddr) -> String {
    match ip.to_canonical() {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{net}/64")
        }
    }
}

/// A policy name and a subject.
type WindowKey = (&'static str, String);
/// Requests counted so far, and when the window ends.
type WindowCount = (u64, Instant);

/// Per-process fallback counters, used only while Redis is unreachable.
#[derive(Default)]
struct LocalWindows {
    windows: Mutex<HashMap<WindowKey, WindowCount>>,
}

const LOCAL_WINDOWS_SWEEP_AT: usize = 10_000;

impl LocalWindows {
    fn check(&self, policy: &Policy, subject: &str, now: Instant) -> Decision {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() >= LOCAL_WINDOWS_SWEEP_AT {
            windows.retain(|_, (_, ends)| *ends > now);
        }
        let entry = windows
            .entry((policy.name, subject.to_string()))
            .or_insert((0, now + policy.window));
        if entry.1 <= now {
            *entry = (0, now + policy.window);
        }
        entry.0 += 1;
        Decision::from_count(policy, entry.0, entry.1 - now)
    }

    fn peek(&self, policy: &Policy, subject: &str, now: Instant) -> Decision {
        let windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match windows.get(&(policy.name, subject.to_string())) {
            Some((count, ends)) if *ends > now => Decision::peeked(policy, *count, *ends - now),
            _ => Decision::peeked(policy, 0, policy.window),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_policies() {
        let p = Policy::parse("login", "5/30m").unwrap();
        assert_eq!((p.quota, p.window), (5, Duration::from_secs(1800)));
        assert_eq!(
            Policy::parse("x", "100/1h").unwrap().window,
            Duration::from_secs(3600)
        );
        assert_eq!(
            Policy::parse("x", "7/45s").unwrap().window,
            Duration::from_secs(45)
        );
        for bad in [
            "", "5", "5/", "/5m", "0/5m", "5/0s", "5/5d", "-1/5m", "five/5m",
        ] {
            assert!(
                Policy::parse("x", bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn addresses_are_counted_by_host_network() {
        let subject = |s: &str| ip_subject(s.parse().unwrap());
        assert_eq!(subject("203.0.113.7"), "203.0.113.7");
        assert_eq!(subject("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(subject("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            subject("2001:db8:1:2:bbbb:cccc:dddd:eeee"),
            subject("2001:db8:1:2::9")
        );
        assert_ne!(subject("2001:db8:1:3::1"), subject("2001:db8:1:2::1"));
    }

    #[test]
    fn local_windows_count_and_reset() {
        let policy = Policy::parse("t", "2/10s").unwrap();
        let local = LocalWindows::default();
        let t0 = Instant::now();
        assert!(local.check(&policy, "a", t0).allowed);
        let second = local.check(&policy, "a", t0);
        assert!(second.allowed);
        assert_eq!(second.remaining, 0);
        let third = local.check(&policy, "a", t0 + Duration::from_secs(1));
        assert!(!third.allowed);
        assert_eq!(third.reset_after, Duration::from_secs(9));
        assert!(
            local.check(&policy, "b", t0).allowed,
            "subjects are counted apart"
        );
        assert!(
            local
                .check(&policy, "a", t0 + Duration::from_secs(10))
                .allowed,
            "a new window starts"
        );
    }

    #[test]
    fn peeking_counts_nothing() {
        let policy = Policy::parse("t", "2/10s").unwrap();
        let local = LocalWindows::default();
        let t0 = Instant::now();
        let fresh = local.peek(&policy, "a", t0);
        assert_eq!((fresh.allowed, fresh.remaining), (true, 2));
        local.check(&policy, "a", t0);
        local.check(&policy, "a", t0);
        for _ in 0..3 {
            let full = local.peek(&policy, "a", t0 + Duration::from_secs(4));
            assert_eq!(
                (full.allowed, full.remaining, full.reset_after),
                (false, 0, Duration::from_secs(6))
            );
        }
        assert_eq!(
            local
                .peek(&policy, "a", t0 + Duration::from_secs(10))
                .remaining,
            2
        );
    }
}
