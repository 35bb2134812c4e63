//! Rate-limit policies as configuration reads them (`QUOTA/WINDOW`); the
//! counting is `crate::ratelimit`'s.

use std::time::Duration;

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

/// The per-account sign-in throttle (Devise's lockable, without the lock):
///
/// - each (account, client network) pair has [`FREE_FAILURES`](crate::ratelimit::FREE_FAILURES) failures,
///   then waits 15 s, 30 s, 1 min ... up to 15 min before each next try; a
///   success clears its failures. An attacker's failures never slow the
///   owner's own network.
/// - past `account` failures (quota per window, from anywhere), the account
///   takes one attempt per [`ACCOUNT_PACE`](crate::ratelimit::ACCOUNT_PACE) from networks that never signed
///   in to it: a distributed guesser is slowed to a trickle, while the
///   owner's known networks are never held back by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInThrottle {
    pub account: Policy,
}
