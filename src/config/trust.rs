//! Trust levels' settings: each level's limits, what promotes an account,
//! and what strikes do. Lists of `key=value` pairs, so one number is
//! overridden without restating the others:
//! `TRUST_LIMITS_NEW=posts=1,follows=10`, `TRUST_TO_BASIC=age=1d,engagers=5`.

use std::time::Duration;

use super::ConfigError;
use super::env::Env;

/// What one level may do; the windows are the domain's (per hour, per day
/// for follows, per 7 days for invites).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelLimits {
    pub posts: u32,
    pub stories: u32,
    pub comments: u32,
    pub follows: u32,
    pub likes: u32,
    pub invites: u32,
    /// Followers' home timelines a post reaches when it is published;
    /// `u32::MAX` (`all`) for every one.
    pub fanout: u32,
}

/// What an account must have shown to reach a level (a verified email
/// address always, and no strike in memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirements {
    pub age: Duration,
    /// Posts of theirs that are up.
    pub posts: u32,
    /// Distinct people who liked or commented on their posts lately.
    pub engagers: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrikePolicy {
    /// How long a strike counts.
    pub memory: Duration,
    /// The strike (counted in memory) that first suspends.
    pub suspend_at: u32,
    /// That first suspension; each further strike doubles it...
    pub suspension: Duration,
    /// ... up to this.
    pub longest: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustConfig {
    pub new: LevelLimits,
    pub basic: LevelLimits,
    pub trusted: LevelLimits,
    pub verified: LevelLimits,
    pub to_basic: Requirements,
    pub to_trusted: Requirements,
    /// Hysteresis: a level is kept while posts and engagers stay at this
    /// percentage of what reaching it took.
    pub keep_percent: u32,
    pub strikes: StrikePolicy,
    /// How often the background run re-assesses accounts and lifts
    /// suspensions that have run out.
    pub every: Duration,
    /// Accounts re-assessed per run.
    pub batch: u32,
}

const DAY: u64 = 24 * 3600;
const ALL: u32 = u32::MAX;

impl Default for TrustConfig {
    fn default() -> Self {
        let limits = |posts, stories, comments, follows, likes, invites, fanout| LevelLimits {
            posts,
            stories,
            comments,
            follows,
            likes,
            invites,
            fanout,
        };
        TrustConfig {
            new: limits(3, 5, 20, 30, 100, 0, 100),
            basic: limits(10, 20, 60, 100, 300, 2, ALL),
            trusted: limits(30, 50, 200, 300, 1000, 5, ALL),
            verified: limits(60, 100, 400, 1000, 2000, 20, ALL),
            to_basic: Requirements {
                age: Duration::from_secs(3 * DAY),
                posts: 1,
                engagers: 3,
            },
            to_trusted: Requirements {
                age: Duration::from_secs(30 * DAY),
                posts: 10,
                engagers: 20,
            },
            keep_percent: 50,
            strikes: StrikePolicy {
                memory: Duration::from_secs(90 * DAY),
                suspend_at: 3,
                suspension: Duration::from_secs(DAY),
                longest: Duration::from_secs(30 * DAY),
            },
            every: Duration::from_secs(60),
            batch: 1000,
        }
    }
}

/// `key=value` pairs separated by commas.
fn pairs(var: &'static str, raw: &str) -> Result<Vec<(String, String)>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').ok_or_else(|| ConfigError {
                var,
                problem: format!("is malformed: {p:?} is not key=value"),
            })?;
            Ok((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

fn count(var: &'static str, key: &str, raw: &str) -> Result<u32, ConfigError> {
    if raw == "all" {
        return Ok(ALL);
    }
    raw.parse().map_err(|_| ConfigError {
        var,
        problem: format!("is malformed: {key}={raw:?} is not a count (or `all`)"),
    })
}

/// `90`, `90s`, `15m`, `2h`, `3d`.
fn duration(var: &'static str, key: &str, raw: &str) -> Result<Duration, ConfigError> {
    let malformed = || ConfigError {
        var,
        problem: format!("is malformed: {key}={raw:?} is not a duration such as 90s, 15m, 2h, 3d"),
    };
    let (number, unit) = match raw.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => (&raw[..at], &raw[at..]),
        _ => (raw, "s"),
    };
    let number: u64 = number.parse().map_err(|_| malformed())?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => DAY,
        _ => return Err(malformed()),
    };
    number
        .checked_mul(unit)
        .map(Duration::from_secs)
        .ok_or_else(malformed)
}

fn unknown(var: &'static str, key: &str, known: &str) -> ConfigError {
    ConfigError {
        var,
        problem: format!("is malformed: unknown key {key:?} (known: {known})"),
    }
}

fn level_limits(
    env: &Env,
    var: &'static str,
    mut limits: LevelLimits,
) -> Result<LevelLimits, ConfigError> {
    let Some(raw) = env.get(var) else {
        return Ok(limits);
    };
    for (key, value) in pairs(var, &raw)? {
        let n = count(var, &key, &value)?;
        match key.as_str() {
            "posts" => limits.posts = n,
            "stories" => limits.stories = n,
            "comments" => limits.comments = n,
            "follows" => limits.follows = n,
            "likes" => limits.likes = n,
            "invites" => limits.invites = n,
            "fanout" => limits.fanout = n,
            _ => {
                return Err(unknown(
                    var,
                    &key,
                    "posts, stories, comments, follows, likes, invites, fanout",
                ));
            }
        }
    }
    Ok(limits)
}

fn requirements(
    env: &Env,
    var: &'static str,
    mut needs: Requirements,
) -> Result<Requirements, ConfigError> {
    let Some(raw) = env.get(var) else {
        return Ok(needs);
    };
    for (key, value) in pairs(var, &raw)? {
        match key.as_str() {
            "age" => needs.age = duration(var, &key, &value)?,
            "posts" => needs.posts = count(var, &key, &value)?,
            "engagers" => needs.engagers = count(var, &key, &value)?,
            _ => return Err(unknown(var, &key, "age, posts, engagers")),
        }
    }
    Ok(needs)
}

fn strikes(env: &Env, mut policy: StrikePolicy) -> Result<StrikePolicy, ConfigError> {
    const VAR: &str = "TRUST_STRIKES";
    let Some(raw) = env.get(VAR) else {
        return Ok(policy);
    };
    for (key, value) in pairs(VAR, &raw)? {
        match key.as_str() {
            "memory" => policy.memory = duration(VAR, &key, &value)?,
            "suspend_at" => policy.suspend_at = count(VAR, &key, &value)?.max(1),
            "suspension" => policy.suspension = duration(VAR, &key, &value)?,
            "longest" => policy.longest = duration(VAR, &key, &value)?,
            _ => {
                return Err(unknown(
                    VAR,
                    &key,
                    "memory, suspend_at, suspension, longest",
                ));
            }
        }
    }
    if policy.longest < policy.suspension {
        return Err(ConfigError {
            var: VAR,
            problem: "is malformed: longest must be at least suspension".into(),
        });
    }
    Ok(policy)
}

pub(super) fn trust(env: &Env) -> Result<TrustConfig, ConfigError> {
    let d = TrustConfig::default();
    let keep_percent: u32 = env.parsed("TRUST_KEEP_PERCENT", d.keep_percent)?;
    if keep_percent > 100 {
        return Err(ConfigError {
            var: "TRUST_KEEP_PERCENT",
            problem: "must be between 0 and 100".into(),
        });
    }
    Ok(TrustConfig {
        new: level_limits(env, "TRUST_LIMITS_NEW", d.new)?,
        basic: level_limits(env, "TRUST_LIMITS_BASIC", d.basic)?,
        trusted: level_limits(env, "TRUST_LIMITS_TRUSTED", d.trusted)?,
        verified: level_limits(env, "TRUST_LIMITS_VERIFIED", d.verified)?,
        to_basic: requirements(env, "TRUST_TO_BASIC", d.to_basic)?,
        to_trusted: requirements(env, "TRUST_TO_TRUSTED", d.to_trusted)?,
        keep_percent,
        strikes: strikes(env, d.strikes)?,
        every: env.seconds("TRUST_EVERY_SECS", d.every.as_secs())?,
        batch: env.positive("TRUST_BATCH", d.batch)?,
    })
}
