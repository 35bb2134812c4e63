//! Notifications: someone followed you, liked or commented on your post,
//! mentioned you, or reacted to your story.
//! None for your own actions, none from people you block, and one per
//! follow or like however often it is undone and redone.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Db;
use super::page::{NEWEST, Page, PageRequest};
use super::render::{self, CardRow, MediaView, Photos, UserCard};
use crate::error::Result;
use crate::media::variants::VariantName;

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, ToSchema)]
#[sqlx(type_name = "notification_type", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Follow,
    Like,
    Comment,
    StoryReaction,
    FollowRequest,
    FollowAccepted,
    /// You were mentioned in a caption or comment (`post` says where).
    Mention,
    /// A moderation decision about you (a takedown, a strike, a
    /// suspension): no actor; `decision_id` names it in
    /// `GET /v1/me/moderation-decisions`, with the ground and the appeal.
    Moderation,
}

/// What a notification is about, beyond who did it.
pub struct Subject {
    pub kind: Kind,
    pub post_id: Option<Uuid>,
    pub comment_id: Option<Uuid>,
    pub story_id: Option<Uuid>,
}

impl From<Kind> for Subject {
    fn from(kind: Kind) -> Self {
        Subject {
            kind,
            post_id: None,
            comment_id: None,
            story_id: None,
        }
    }
}

/// Records a notification for `recipient`, unless the actor is the
/// recipient. Repeated follows and likes leave the first one, and one
/// withdrawn (an unlike) is restored as it was, read or not: undoing and
/// redoing makes nothing new to read.
pub async fn notify(
    tx: &mut sqlx::PgConnection,
    recipient: Uuid,
    actor: Uuid,
    subject: impl Into<Subject>,
) -> Result<()> {
    if recipient == actor {
        return Ok(());
    }
    let subject = subject.into();
    // `xmax = 0`: inserted, not restored; a restored one was pushed already.
    let (id, inserted): (Uuid, bool) = sqlx::query_as(
        "INSERT INTO notifications (id, recipient_id, actor_id, type, post_id, comment_id, story_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (recipient_id, actor_id, type, post_id, story_id)
           WHERE type NOT IN ('comment', 'moderation')
         DO UPDATE SET withdrawn_at = NULL
         RETURNING id, xmax = 0",
    )
    .bind(Uuid::now_v7())
    .bind(recipient)
    .bind(actor)
    .bind(subject.kind)
    .bind(subject.post_id)
    .bind(subject.comment_id)
    .bind(subject.story_id)
    .fetch_one(&mut *tx)
    .await?;
    if inserted {
        let kind = match subject.kind {
            Kind::Follow => "follow",
            Kind::Like => "like",
            Kind::Comment => "comment",
            Kind::StoryReaction => "story_reaction",
            Kind::FollowRequest => "follow_request",
            Kind::FollowAccepted => "follow_accepted",
            Kind::Mention => "mention",
            Kind::Moderation => "moderation",
        };
        crate::push::write(tx, id, recipient, actor, kind, subject.post_id).await?;
    }
    Ok(())
}

/// Tells `recipient` in the app of a moderation decision about them (in the
/// decision's transaction; the mail says it too). Not pushed: the mail is
/// the message outside the app.
pub async fn notify_decision(
    tx: &mut sqlx::PgConnection,
    recipient: Uuid,
    decision: Uuid,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO notifications (id, recipient_id, type, decision_id)
         VALUES ($1, $2, 'moderation', $3)",
    )
    .bind(Uuid::now_v7())
    .bind(recipient)
    .bind(decision)
    .execute(tx)
    .await?;
    Ok(())
}

/// Takes back the notification of a follow or like that was undone.
pub async fn withdraw(
    tx: &mut sqlx::PgConnection,
    recipient: Uuid,
    actor: Uuid,
    subject: impl Into<Subject>,
) -> Result<()> {
    let subject = subject.into();
    sqlx::query(
        "UPDATE notifications SET withdrawn_at = now()
         WHERE recipient_id = $1 AND actor_id = $2 AND type = $3 AND post_id IS NOT DISTINCT FROM $4
           AND story_id IS NOT DISTINCT FROM $5 AND withdrawn_at IS NULL",
    )
    .bind(recipient)
    .bind(actor)
    .bind(subject.kind)
    .bind(subject.post_id)
    .bind(subject.story_id)
    .execute(tx)
    .await?;
    Ok(())
}

/// Drops every notification between two users (a block).
pub async fn forget_between(tx: &mut sqlx::PgConnection, a: Uuid, b: Uuid) -> Result<()> {
    sqlx::query(
        "DELETE FROM notifications
         WHERE (recipient_id = $1 AND actor_id = $2) OR (recipient_id = $2 AND actor_id = $1)",
    )
    .bind(a)
    .bind(b)
    .execute(tx)
    .await?;
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Notification {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: Kind,
    /// Who did it; null for `moderation`.
    pub actor: Option<UserCard>,
    /// The post liked, commented on or mentioned in; null for follows.
    pub post: Option<PostRef>,
    /// The comment (`comment`, and `mention` when the mention was in one).
    pub comment_id: Option<Uuid>,
    /// The story reacted to (`story_reaction`); null otherwise.
    pub story_id: Option<Uuid>,
    /// The decision (`moderation`); null otherwise.
    pub decision_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub read: bool,
}

/// A post a notification is about, with a thumbnail to show beside it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostRef {
    pub id: Uuid,
    /// The first photo's `thumb` variants.
    pub thumbnail: Option<MediaView>,
}

#[derive(sqlx::FromRow)]
struct Row {
    notification_id: Uuid,
    kind: Kind,
    post_id: Option<Uuid>,
    comment_id: Option<Uuid>,
    story_id: Option<Uuid>,
    decision_id: Option<Uuid>,
    created_at: OffsetDateTime,
    read: bool,
    #[sqlx(flatten)]
    actor: CardRow,
}

/// The user's notifications, newest first. Actors who are hidden, or whom
/// the user blocks, are left out; so are posts no longer shown.
pub async fn list(
    db: &Db,
    urls: &Photos,
    user: Uuid,
    page: &PageRequest<Uuid>,
) -> Result<Page<Notification>> {
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT n.id AS notification_id, n.type AS kind, n.post_id, n.comment_id, n.story_id,
                n.decision_id, n.created_at, n.read_at IS NOT NULL AS read,
                u.id, u.handle, u.display_name, u.avatar_media_id
         FROM notifications n JOIN users u ON u.id = {}
         WHERE n.recipient_id = $1 AND n.id < $2 AND {}
         ORDER BY n.id DESC
         LIMIT $3",
        crate::push::NOTIFICATION_ACTOR,
        crate::push::notification_shown_to("$1")
    ))
    .bind(user)
    .bind(page.after.unwrap_or(NEWEST))
    .bind(page.fetch_limit())
    .fetch_all(&db.primary)
    .await?;
    let page = Page::from_rows(rows, page, |row| row.notification_id);
    let actors = render::cards(
        &db.primary,
        urls,
        page.items.iter().map(|row| row.actor.clone()).collect(),
    )
    .await?;
    let post_ids: Vec<Uuid> = page.items.iter().filter_map(|row| row.post_id).collect();
    let covers: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT post_id, media_id FROM post_media WHERE post_id = ANY($1) AND position = 0",
    )
    .bind(&post_ids)
    .fetch_all(&db.primary)
    .await?;
    let cover_ids: Vec<Uuid> = covers.iter().map(|(_, media)| *media).collect();
    let thumbnails = render::media_views(
        &mut *db.primary.acquire().await?,
        urls,
        &cover_ids,
        Some(&[VariantName::Thumb]),
    )
    .await?;
    let cover_of = |post: Uuid| {
        covers
            .iter()
            .find(|(p, _)| *p == post)
            .and_then(|(_, media)| thumbnails.get(media).cloned())
    };
    Ok(Page {
        items: page
            .items
            .into_iter()
            .zip(actors)
            .map(|(row, actor)| Notification {
                id: row.notification_id,
                kind: row.kind,
                actor: (row.kind != Kind::Moderation).then_some(actor),
                post: row.post_id.map(|id| PostRef {
                    id,
                    thumbnail: cover_of(id),
                }),
                comment_id: row.comment_id,
                story_id: row.story_id,
                decision_id: row.decision_id,
                created_at: row.created_at,
                read: row.read,
            })
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// Which notifications to mark read.
pub enum ReadSelection {
    All,
    Ids(Vec<Uuid>),
}

/// Marks the user's own notifications read; others' ids are ignored.
/// Returns how many changed.
pub async fn mark_read(db: &Db, user: Uuid, selection: ReadSelection) -> Result<u64> {
    let ids = match selection {
        ReadSelection::All => None,
        ReadSelection::Ids(ids) => Some(ids),
    };
    let changed = sqlx::query(
        "UPDATE notifications SET read_at = now()
         WHERE recipient_id = $1 AND read_at IS NULL AND ($2::uuid[] IS NULL OR id = ANY($2))",
    )
    .bind(user)
    .bind(ids)
    .execute(&db.primary)
    .await?
    .rows_affected();
    Ok(changed)
}
