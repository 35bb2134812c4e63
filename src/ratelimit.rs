//! Fixed-window rate limits counted in Redis, shared by every API instance.
//! When Redis cannot be reached the same windows are counted in this process
//! instead: limits get looser (per instance) but requests keep being served.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::infra::redis::RedisHandle;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub name: &'static str,
    pub quota: u64,
    pub window: Duration,
}

impl Policy {
    /// Parses `QUOTA/WINDOW`, the window being a number of seconds, minutes
    /// or hours: `5/30m`, `10/300s`, `100/1h`.
    pub fn parse(name: &'static str, raw: &str) -> Result<Self, String> {
        let malformed = || {
            format!("is malformed: {raw:?}, expected QUOTA/WINDOW such as 5/30m, 10/300s or 100/1h")
        };
        let (quota, window) = raw.trim().split_once('/').ok_or_else(malformed)?;
        let quota: u64 = quota.trim().parse().map_err(|_| malformed())?;
        let window = window.trim();
        let (number, unit) = window.split_at(window.len().saturating_sub(1));
        let number: u64 = number.parse().map_err(|_| malformed())?;
        let seconds = match unit {
            "s" => number,
            "m" => number * 60,
            "h" => number * 3600,
            _ => return Err(malformed()),
        };
        if quota == 0 || seconds == 0 {
            return Err(format!(
                "is malformed: {raw:?}, quota and window must be positive"
            ));
        }
        Ok(Policy {
            name,
            quota,
            window: Duration::from_secs(seconds),
        })
    }
}

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

    /// Counts one request of `subject` (an IP or a user id) against `policy`.
    pub async fn check(&self, policy: &Policy, subject: &str) -> Decision {
        let key = format!("{}:rl:{}:{}", self.key_prefix, policy.name, subject);
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
}
