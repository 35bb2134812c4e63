//! The moderators' decisions as the JSON admin routes and the console both
//! make them: each one's steps (the change, the record, the strike, the
//! statement of reasons to its user, the CDN purge) in one place, so the two
//! doors cannot drift apart.

use serde_json::json;
use uuid::Uuid;

use crate::error::Result;
use crate::http::context::ApiContext;
use crate::social::holds::{self, Hold, HoldTarget};
use crate::social::moderation::{self, Resolution};
use crate::trust::appeals::{Decision, DecisionKind, NewDecision, Outcome};
use crate::trust::audit::{About, Action, Actor, Reason};
use crate::trust::strikes::Struck;

/// Takes a post down: hidden everywhere, a strike for its author (once per
/// post), stated to them.
pub async fn take_down_post(
    ctx: &ApiContext,
    actor: &Actor,
    reason: &Reason,
    post: Uuid,
) -> Result<()> {
    moderation::take_down(&ctx.social, &ctx.storage, post).await?;
    let trust = &ctx.trust;
    trust
        .record(
            actor,
            reason,
            Action::TakeDown,
            About::Subject(post),
            json!({}),
        )
        .await?;
    let struck = trust.strike_takedown(actor, post, reason).await?;
    trust
        .state_takedown(
            &ctx.queue,
            DecisionKind::PostTakedown,
            post,
            struck.as_ref(),
            reason,
        )
        .await?;
    ctx.purge_cdn_soon();
    Ok(())
}

/// Reverses a takedown: the post is shown again and its strike withdrawn.
pub async fn restore_post(
    ctx: &ApiContext,
    actor: &Actor,
    reason: &Reason,
    post: Uuid,
) -> Result<()> {
    moderation::restore(&ctx.social, &ctx.storage, post).await?;
    let trust = &ctx.trust;
    trust
        .record(
            actor,
            reason,
            Action::RestorePost,
            About::Subject(post),
            json!({}),
        )
        .await?;
    trust.withdraw_for(actor, post, reason).await
}

/// Suspends an account until lifted, stated to its user.
pub async fn suspend_user(
    ctx: &ApiContext,
    actor: &Actor,
    reason: &Reason,
    handle: &str,
) -> Result<()> {
    let user = moderation::suspend(&ctx.social, &ctx.auth, &ctx.storage, handle).await?;
    record_about_user(ctx, actor, reason, Action::Suspend, handle).await?;
    ctx.trust
        .state_decision(
            &ctx.queue,
            NewDecision {
                user,
                kind: DecisionKind::Suspension,
                subject: user,
                strike: None,
                report: None,
                ground: reason,
                suspended_until: None,
            },
        )
        .await?;
    ctx.purge_cdn_soon();
    Ok(())
}

/// Lifts an admin's suspension (`POST /v1/admin/users/{handle}/unsuspend`).
pub async fn unsuspend_user(
    ctx: &ApiContext,
    actor: &Actor,
    reason: &Reason,
    handle: &str,
) -> Result<()> {
    moderation::unsuspend(&ctx.social, &ctx.storage, handle).await?;
    record_about_user(ctx, actor, reason, Action::Unsuspend, handle).await
}

/// Lifts any suspension, an admin's or one strikes brought. False when the
/// account was not suspended.
pub async fn lift_suspension(
    ctx: &ApiContext,
    actor: &Actor,
    reason: &Reason,
    handle: &str,
) -> Result<bool> {
    let lifted = ctx.trust.lift(actor, handle, reason).await?;
    ctx.purge_cdn_soon();
    Ok(lifted)
}

/// Records an admin's action about a user, after the fact.
pub async fn record_about_user(
    ctx: &ApiContext,
    actor: &Actor,
    reason: &Reason,
    action: Action,
    handle: &str,
) -> Result<()> {
    ctx.trust
        .record(actor, reason, action, About::User(handle), json!({}))
        .await
}

/// Gives a report its verdict, once; upheld, a strike stated to its user.
pub async fn resolve_report(
    ctx: &ApiContext,
    actor: &Actor,
    reason: &Reason,
    report: Uuid,
    resolution: Resolution,
) -> Result<Option<Struck>> {
    let strike = ctx
        .trust
        .resolve_report(actor, report, resolution, reason)
        .await?;
    if let Some(struck) = &strike {
        ctx.trust
            .state_decision(
                &ctx.queue,
                NewDecision {
                    user: struck.user_id,
                    kind: DecisionKind::Strike,
                    subject: struck.strike_id,
                    strike: None,
                    report: Some(report),
                    ground: reason,
                    suspended_until: struck.suspended_until,
                },
            )
            .await?;
    }
    if strike.as_ref().is_some_and(|s| s.suspended_until.is_some()) {
        ctx.purge_cdn_soon();
    }
    Ok(strike)
}

/// Answers an appeal, once; reversed, the decision is undone.
pub async fn decide_appeal(
    ctx: &ApiContext,
    actor: &Actor,
    reason: &Reason,
    decision: Uuid,
    outcome: Outcome,
) -> Result<Decision> {
    let decided = ctx
        .trust
        .decide_appeal(actor, decision, outcome, reason)
        .await?;
    if outcome == Outcome::Reversed {
        ctx.purge_cdn_soon();
    }
    Ok(decided)
}

/// Places a legal hold of `days` (whole, 1 to 1825; a year without).
pub async fn place_hold(
    ctx: &ApiContext,
    actor: &Actor,
    target: HoldTarget,
    target_id: Uuid,
    reason: &str,
    days: Option<f64>,
) -> Result<Hold> {
    let length = holds::length_in_days(days)?;
    holds::place(&ctx.db, actor, target, target_id, reason, length).await
}
