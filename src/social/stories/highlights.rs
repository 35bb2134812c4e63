//! Highlights: named, ordered collections of the owner's stories that stay
//! on the profile after the stories expire, shown to whoever may see the
//! owner's posts (close-friends stories still only to close friends).

use std::collections::HashMap;

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Story, hydrate, photos, visible};
use crate::error::{Code, Error, FieldErrors, Result};
use crate::infra::s3::Storage;
use crate::media::variants::VariantName;
use crate::social::Db;
use crate::social::page::{Page, PageRequest};
use crate::social::render::{MediaView, Photos};

pub const TITLE_MAX_CHARS: usize = 40;
pub const STORIES_PER_HIGHLIGHT_MAX: usize = 100;
pub const HIGHLIGHTS_PER_USER_MAX: i64 = 100;

/// A highlight's title and stories, checked.
#[derive(Debug, Clone)]
pub struct HighlightSpec {
    pub title: Option<String>,
    pub story_ids: Option<Vec<Uuid>>,
}

impl HighlightSpec {
    pub fn parse(title: Option<&str>, story_ids: Option<&[Uuid]>) -> Result<Self> {
        let mut errors = FieldErrors::default();
        let title = title.map(str::trim);
        if let Some(title) = title
            && (title.is_empty()
                || title.chars().count() > TITLE_MAX_CHARS
                || title.chars().any(char::is_control))
        {
            errors.add(
                "title",
                format!("must be 1 to {TITLE_MAX_CHARS} characters, with no control characters"),
            );
        }
        if let Some(ids) = story_ids
            && (ids.is_empty() || ids.len() > STORIES_PER_HIGHLIGHT_MAX)
        {
            errors.add(
                "story_ids",
                format!("must name 1 to {STORIES_PER_HIGHLIGHT_MAX} stories"),
            );
        }
        errors.into_result()?;
        Ok(HighlightSpec {
            title: title.map(str::to_string),
            story_ids: story_ids.map(first_of_each),
        })
    }
}

/// The ids in order, each where it first appears: a story is in a
/// highlight once.
fn first_of_each(ids: &[Uuid]) -> Vec<Uuid> {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// A highlight in a profile's list.
#[derive(Debug, Serialize, ToSchema)]
pub struct HighlightSummary {
    pub id: Uuid,
    pub title: String,
    /// The first story's photo you may see (`thumb` and `small`).
    pub cover: Option<MediaView>,
    /// How many of its stories you may see.
    pub story_count: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A highlight with its stories, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct Highlight {
    pub id: Uuid,
    pub title: String,
    pub stories: Vec<Story>,
}

/// Creates a highlight of the owner's stories.
pub async fn create(db: &Db, owner: Uuid, spec: &HighlightSpec) -> Result<Uuid> {
    let (Some(title), Some(ids)) = (&spec.title, &spec.story_ids) else {
        return Err(Error::invalid_field(
            "title",
            "title and story_ids are both needed",
        ));
    };
    let mut tx = db.primary.begin().await?;
    // One owner's highlight changes in turn, so the bound holds.
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(owner)
        .execute(&mut *tx)
        .await?;
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM story_highlights WHERE owner_id = $1")
            .bind(owner)
            .fetch_one(&mut *tx)
            .await?;
    if count >= HIGHLIGHTS_PER_USER_MAX {
        return Err(Error::from(Code::HighlightsFull));
    }
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO story_highlights (id, owner_id, title) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(owner)
        .bind(title)
        .execute(&mut *tx)
        .await?;
    set_stories(&mut tx, owner, id, ids).await?;
    tx.commit().await?;
    Ok(id)
}

/// Renames a highlight, or replaces its stories, or both.
pub async fn update(db: &Db, owner: Uuid, id: Uuid, spec: &HighlightSpec) -> Result<()> {
    let mut tx = db.primary.begin().await?;
    let found = sqlx::query(
        "UPDATE story_highlights SET title = COALESCE($3, title), updated_at = now()
         WHERE id = $1 AND owner_id = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(&spec.title)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if found == 0 {
        return Err(Error::from(Code::HighlightNotFound));
    }
    if let Some(ids) = &spec.story_ids {
        set_stories(&mut tx, owner, id, ids).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn delete(db: &Db, owner: Uuid, id: Uuid) -> Result<()> {
    let mut tx = db.primary.begin().await?;
    let stories: Vec<Uuid> =
        sqlx::query_scalar("SELECT story_id FROM story_highlight_items WHERE highlight_id = $1")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
    let found = sqlx::query("DELETE FROM story_highlights WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if found == 0 {
        return Err(Error::from(Code::HighlightNotFound));
    }
    mark_highlighted(&mut tx, &stories).await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces the highlight's stories with `ids`, in order. Each must be the
/// owner's, neither deleted nor taken down, and still shown: active, or
/// kept by another highlight. The stories' rows are locked, so the sweep
/// cannot remove one being added.
async fn set_stories(
    tx: &mut sqlx::PgConnection,
    owner: Uuid,
    highlight: Uuid,
    ids: &[Uuid],
) -> Result<()> {
    let usable: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM stories
         WHERE id = ANY($1) AND author_id = $2 AND deleted_at IS NULL AND taken_down_at IS NULL
           AND (expires_at > now() OR highlighted)
         ORDER BY id FOR UPDATE",
    )
    .bind(ids)
    .bind(owner)
    .fetch_all(&mut *tx)
    .await?;
    if usable.len() != ids.len() {
        return Err(Code::StoryNotFound
            .with_message("a story in story_ids is not yours, or has expired or been removed"));
    }
    let before: Vec<Uuid> = sqlx::query_scalar(
        "DELETE FROM story_highlight_items WHERE highlight_id = $1 RETURNING story_id",
    )
    .bind(highlight)
    .fetch_all(&mut *tx)
    .await?;
    let positions: Vec<i16> = (0..ids.len() as i16).collect();
    sqlx::query(
        "INSERT INTO story_highlight_items (highlight_id, story_id, position)
         SELECT $1, * FROM UNNEST($2::uuid[], $3::smallint[])",
    )
    .bind(highlight)
    .bind(ids)
    .bind(&positions)
    .execute(&mut *tx)
    .await?;
    let touched: Vec<Uuid> = before.into_iter().chain(ids.iter().copied()).collect();
    mark_highlighted(tx, &touched).await
}

/// Keeps `stories.highlighted` true exactly while a highlight holds it.
async fn mark_highlighted(tx: &mut sqlx::PgConnection, stories: &[Uuid]) -> Result<()> {
    sqlx::query(
        "UPDATE stories s SET highlighted = EXISTS (
             SELECT 1 FROM story_highlight_items hi WHERE hi.story_id = s.id)
         WHERE s.id = ANY($1)",
    )
    .bind(stories)
    .execute(tx)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: Uuid,
    title: String,
    updated_at: OffsetDateTime,
    story_count: i64,
    cover_media: Option<Uuid>,
}

/// A user's highlights as `viewer` may see them, newest first; those with
/// no story the viewer may see are left out.
pub async fn of_user(
    db: &Db,
    storage: &Storage,
    viewer: Uuid,
    handle: &str,
    page: &PageRequest<Uuid>,
) -> Result<Page<HighlightSummary>> {
    let mut conn = db.primary.acquire().await?;
    let owner = crate::social::visible_user_id(&mut conn, viewer, handle).await?;
    crate::social::check_content_visible(&mut conn, viewer, owner).await?;
    let shown = format!(
        "SELECT s.id, s.media_id, hi.position FROM story_highlight_items hi
         JOIN stories s ON s.id = hi.story_id JOIN users u ON u.id = s.author_id
         WHERE hi.highlight_id = h.id AND {}",
        visible("$1")
    );
    let rows = sqlx::query_as::<_, SummaryRow>(&format!(
        "SELECT h.id, h.title, h.updated_at, shown.story_count, shown.cover_media
         FROM story_highlights h
         CROSS JOIN LATERAL (
             SELECT count(*) AS story_count,
                    (array_agg(v.media_id ORDER BY v.position))[1] AS cover_media
             FROM ({shown}) v
         ) shown
         WHERE h.owner_id = $2 AND h.id < $3 AND shown.story_count > 0
         ORDER BY h.id DESC LIMIT $4"
    ))
    .bind(viewer)
    .bind(owner)
    .bind(page.after.unwrap_or(crate::social::page::NEWEST))
    .bind(page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let page = Page::from_rows(rows, page, |row| row.id);
    let covers: Vec<Uuid> = page.items.iter().filter_map(|r| r.cover_media).collect();
    let mut views: HashMap<Uuid, MediaView> = photos::views(
        &mut conn,
        storage,
        &covers,
        Some(&[VariantName::Thumb, VariantName::Small]),
    )
    .await?;
    Ok(page.map(|row| HighlightSummary {
        id: row.id,
        title: row.title,
        cover: row.cover_media.and_then(|m| views.remove(&m)),
        story_count: row.story_count,
        updated_at: row.updated_at,
    }))
}

/// One highlight with the stories of it `viewer` may see.
pub async fn get(
    db: &Db,
    storage: &Storage,
    photos: &Photos,
    viewer: Uuid,
    id: Uuid,
) -> Result<Highlight> {
    let found: Option<(String, Vec<Uuid>)> = sqlx::query_as(&format!(
        "SELECT h.title,
                ARRAY(SELECT hi.story_id FROM story_highlight_items hi
                      WHERE hi.highlight_id = h.id ORDER BY hi.position) AS stories
         FROM story_highlights h JOIN users u ON u.id = h.owner_id
         WHERE h.id = $2 AND u.suspended_at IS NULL AND u.deleted_at IS NULL AND {}",
        crate::social::no_block("$1", "u.id")
    ))
    .bind(viewer)
    .bind(id)
    .fetch_optional(&db.primary)
    .await?;
    let Some((title, ids)) = found else {
        return Err(Error::from(Code::HighlightNotFound));
    };
    let stories = hydrate(&db.primary, storage, photos, viewer, &ids).await?;
    if stories.is_empty() {
        return Err(Error::from(Code::HighlightNotFound));
    }
    Ok(Highlight { id, title, stories })
}
