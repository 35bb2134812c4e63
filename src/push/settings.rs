//! Push settings: per kind of notification, whose are pushed (everyone,
//! people the user follows, nobody). A kind never set is `everyone`.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Audience, ModerationAudience};
use crate::error::Result;

/// Every kind, in the order the API lists them. `moderation` is the notices
/// of the trust and safety team: everyone or off.
pub const KINDS: [&str; 7] = [
    "follow",
    "like",
    "comment",
    "mention",
    "follow_request",
    "story_reaction",
    "moderation",
];

/// The push setting of each kind.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PushSettings {
    pub follow: Audience,
    pub like: Audience,
    pub comment: Audience,
    pub mention: Audience,
    pub follow_request: Audience,
    pub story_reaction: Audience,
    /// `everyone` or `off`.
    pub moderation: Audience,
}

/// A change: only the kinds given change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushSettingsChange {
    pub follow: Option<Audience>,
    pub like: Option<Audience>,
    pub comment: Option<Audience>,
    pub mention: Option<Audience>,
    pub follow_request: Option<Audience>,
    pub story_reaction: Option<Audience>,
    pub moderation: Option<ModerationAudience>,
}

impl PushSettingsChange {
    fn entries(&self) -> [(&'static str, Option<Audience>); 7] {
        [
            ("follow", self.follow),
            ("like", self.like),
            ("comment", self.comment),
            ("mention", self.mention),
            ("follow_request", self.follow_request),
            ("story_reaction", self.story_reaction),
            ("moderation", self.moderation.map(Audience::from)),
        ]
    }
}

pub async fn get(db: &PgPool, user: Uuid) -> Result<PushSettings> {
    let rows: Vec<(String, Audience)> =
        sqlx::query_as("SELECT kind, audience FROM push_settings WHERE user_id = $1")
            .bind(user)
            .fetch_all(db)
            .await?;
    let of = |kind: &str| {
        rows.iter()
            .find(|(k, _)| k == kind)
            .map_or(Audience::Everyone, |(_, a)| *a)
    };
    Ok(PushSettings {
        follow: of("follow"),
        like: of("like"),
        comment: of("comment"),
        mention: of("mention"),
        follow_request: of("follow_request"),
        story_reaction: of("story_reaction"),
        moderation: of("moderation"),
    })
}

pub async fn update(db: &PgPool, user: Uuid, change: &PushSettingsChange) -> Result<PushSettings> {
    let (kinds, audiences): (Vec<&str>, Vec<Audience>) = change
        .entries()
        .into_iter()
        .filter_map(|(kind, audience)| audience.map(|a| (kind, a)))
        .unzip();
    sqlx::query(
        "INSERT INTO push_settings (user_id, kind, audience)
         SELECT $1, k, a FROM unnest($2::text[], $3::push_audience[]) AS c (k, a)
         ON CONFLICT (user_id, kind) DO UPDATE SET audience = EXCLUDED.audience",
    )
    .bind(user)
    .bind(&kinds)
    .bind(&audiences)
    .execute(db)
    .await?;
    get(db, user).await
}
