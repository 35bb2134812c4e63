//! The rules, as pure functions: which level an account's record earns
//! (with hysteresis), what a strike does to a level, and how long the
//! suspension it brings lasts.

use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use super::Level;
use crate::config::{Requirements, StrikePolicy, TrustConfig};

/// What an account has shown, as the background run reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    pub age: Duration,
    pub email_verified: bool,
    /// Their posts that are up.
    pub posts: u32,
    /// Distinct people (not themselves, not their own invitees, not hidden
    /// accounts) who liked or commented on their posts lately.
    pub engagers: u32,
    /// A strike that still counts.
    pub struck: bool,
}

/// What reaching `level` takes, if the background run can reach it.
pub fn requirements(config: &TrustConfig, level: Level) -> Option<&Requirements> {
    match level {
        Level::Basic => Some(&config.to_basic),
        Level::Trusted => Some(&config.to_trusted),
        Level::New | Level::Verified => None,
    }
}

fn meets(needs: &Requirements, facts: &Facts) -> bool {
    facts.email_verified
        && !facts.struck
        && facts.age >= needs.age
        && facts.posts >= needs.posts
        && facts.engagers >= needs.engagers
}

/// `percent` of `n`, rounded up: a level reached with 3 engagers is kept
/// with 2 at 50 %.
fn share(n: u32, percent: u32) -> u32 {
    (u64::from(n) * u64::from(percent)).div_ceil(100) as u32
}

/// Whether an account at `level` stays there: a verified address, and
/// posts and engagers at `keep_percent` of what reaching it took. A strike
/// has demoted it already; it is not held against it twice.
fn keeps(config: &TrustConfig, level: Level, facts: &Facts) -> bool {
    let Some(needs) = requirements(config, level) else {
        return true;
    };
    facts.email_verified
        && facts.posts >= share(needs.posts, config.keep_percent)
        && facts.engagers >= share(needs.engagers, config.keep_percent)
}

/// The level the background run gives an account now at `current`:
/// promoted as far as its record reaches, demoted only below the keeping
/// bar, never to or from `verified` (an admin's call).
pub fn assess(config: &TrustConfig, current: Level, facts: &Facts) -> Level {
    if current == Level::Verified {
        return current;
    }
    let earned = [Level::Trusted, Level::Basic]
        .into_iter()
        .find(|level| requirements(config, *level).is_some_and(|needs| meets(needs, facts)))
        .unwrap_or(Level::New);
    if earned >= current {
        return earned;
    }
    let mut level = current;
    while level > earned && !keeps(config, level, facts) {
        level = level.below();
    }
    level
}

/// How long the `strikes`-th strike still in memory suspends: nothing
/// before `suspend_at`, then the first suspension, doubled with each
/// further strike, up to the longest.
pub fn suspension(policy: &StrikePolicy, strikes: u32) -> Option<Duration> {
    let beyond = strikes.checked_sub(policy.suspend_at)?;
    let factor = 2u32.saturating_pow(beyond.min(30));
    Some(policy.suspension.saturating_mul(factor).min(policy.longest))
}

/// One requirement of the next level, and whether it is met: the account's
/// own figures stay private.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Requirement {
    pub name: RequirementName,
    /// Seconds for `account_age`, a count for `posts` and `engaged_users`;
    /// null for the yes-or-no ones.
    pub needed: Option<u64>,
    pub met: bool,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RequirementName {
    AccountAge,
    VerifiedEmail,
    Posts,
    /// Distinct people who liked or commented on your posts in the last 90 days.
    EngagedUsers,
    /// No strike in the strike memory.
    NoRecentStrikes,
}

/// What reaching `level` takes, met or not by `facts`.
pub fn checklist(needs: &Requirements, facts: &Facts) -> Vec<Requirement> {
    let item = |name, needed, met| Requirement { name, needed, met };
    vec![
        item(
            RequirementName::AccountAge,
            Some(needs.age.as_secs()),
            facts.age >= needs.age,
        ),
        item(RequirementName::VerifiedEmail, None, facts.email_verified),
        item(
            RequirementName::Posts,
            Some(needs.posts.into()),
            facts.posts >= needs.posts,
        ),
        item(
            RequirementName::EngagedUsers,
            Some(needs.engagers.into()),
            facts.engagers >= needs.engagers,
        ),
        item(RequirementName::NoRecentStrikes, None, !facts.struck),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn facts(days: u32, posts: u32, engagers: u32) -> Facts {
        Facts {
            age: DAY * days,
            email_verified: true,
            posts,
            engagers,
            struck: false,
        }
    }

    #[test]
    fn a_record_promotes_as_far_as_it_reaches() {
        let config = TrustConfig::default();
        assert_eq!(assess(&config, Level::New, &facts(1, 5, 5)), Level::New);
        assert_eq!(assess(&config, Level::New, &facts(3, 1, 3)), Level::Basic);
        assert_eq!(
            assess(&config, Level::New, &facts(30, 10, 20)),
            Level::Trusted
        );
        let unverified = Facts {
            email_verified: false,
            ..facts(30, 10, 20)
        };
        assert_eq!(assess(&config, Level::New, &unverified), Level::New);
        let struck = Facts {
            struck: true,
            ..facts(30, 10, 20)
        };
        assert_eq!(assess(&config, Level::New, &struck), Level::New);
    }

    #[test]
    fn a_level_is_kept_down_to_the_keeping_bar_then_lost_one_step_at_a_time() {
        let config = TrustConfig::default();
        // Trusted took 10 posts and 20 engagers: kept with 5 and 10.
        assert_eq!(
            assess(&config, Level::Trusted, &facts(40, 5, 10)),
            Level::Trusted
        );
        // Below: back to what the record keeps (basic keeps at 1 and 2).
        assert_eq!(
            assess(&config, Level::Trusted, &facts(40, 4, 10)),
            Level::Basic
        );
        assert_eq!(
            assess(&config, Level::Trusted, &facts(40, 0, 0)),
            Level::New
        );
        // A strike does not take a level away twice (it demoted already)...
        let struck = Facts {
            struck: true,
            ..facts(40, 5, 10)
        };
        assert_eq!(assess(&config, Level::Basic, &struck), Level::Basic);
        // ... and verified is an admin's.
        assert_eq!(
            assess(&config, Level::Verified, &facts(0, 0, 0)),
            Level::Verified
        );
    }

    #[test]
    fn hysteresis_holds_at_the_edge() {
        let config = TrustConfig::default();
        // Promoted at 3 engagers, kept at 2, lost at 1, regained at 3.
        let mut level = Level::New;
        let mut seen = Vec::new();
        for engagers in [3, 2, 2, 1, 2, 3] {
            level = assess(&config, level, &facts(5, 1, engagers));
            seen.push(level);
        }
        use Level::{Basic, New};
        assert_eq!(seen, [Basic, Basic, Basic, New, New, Basic]);
    }

    #[test]
    fn suspensions_start_at_the_threshold_and_double_up_to_the_longest() {
        let policy = TrustConfig::default().strikes;
        assert_eq!(suspension(&policy, 1), None);
        assert_eq!(suspension(&policy, 2), None);
        assert_eq!(suspension(&policy, 3), Some(DAY));
        assert_eq!(suspension(&policy, 4), Some(DAY * 2));
        assert_eq!(suspension(&policy, 6), Some(DAY * 8));
        assert_eq!(suspension(&policy, 9), Some(DAY * 30));
        assert_eq!(suspension(&policy, 500), Some(DAY * 30));
    }

    #[test]
    fn the_checklist_says_what_is_met_not_how_far() {
        let config = TrustConfig::default();
        let list = checklist(&config.to_basic, &facts(1, 2, 0));
        let met: Vec<(RequirementName, bool)> = list.iter().map(|r| (r.name, r.met)).collect();
        assert_eq!(
            met,
            [
                (RequirementName::AccountAge, false),
                (RequirementName::VerifiedEmail, true),
                (RequirementName::Posts, true),
                (RequirementName::EngagedUsers, false),
                (RequirementName::NoRecentStrikes, true),
            ]
        );
        assert_eq!(list[0].needed, Some(3 * 24 * 3600));
    }
}
