//! Posts as a viewer sees them: one read for any list of ids, with what
//! the viewer may see of each (the feed, a profile, a single post).

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Serialize;
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::entities::{self, Entity};
use super::filters::{self, Context, FilterMatch};
use super::page::{Page, PageRequest};
use super::render::{self, AVATAR_VARIANTS, CardRow, MediaView, Photos, UserCard};
use super::{Db, USER_VISIBLE, content_visible, no_block, not_muted};
use crate::error::Result;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Post {
    pub id: Uuid,
    pub author: UserCard,
    pub caption: String,
    /// The caption's hashtags and mentions, with their ranges in UTF-16
    /// code units.
    pub entities: Vec<Entity>,
    /// The photos, in the order the author gave them.
    pub media: Vec<MediaView>,
    pub like_count: i32,
    pub comment_count: i32,
    pub liked_by_me: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the caption last changed; null if never.
    #[serde(with = "time::serde::rfc3339::option")]
    pub edited_at: Option<OffsetDateTime>,
    /// The viewer's `warn` filters this post matches here (home feed,
    /// explore): the app shows it behind a warning naming them. Empty
    /// elsewhere.
    pub filtered: Vec<FilterMatch>,
}

/// Which posts a hydration may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Any post the viewer may see.
    Visible,
    /// Only the viewer's own posts, those of people they follow and those
    /// of hashtags they follow, less what their filters hide in the home
    /// feed.
    HomeFeed,
    /// Any post the viewer may see (explore's reading chose them), with
    /// explore's warnings.
    Explore,
}

#[derive(sqlx::FromRow)]
struct PostRow {
    post_id: Uuid,
    caption: String,
    caption_entities: String,
    like_count: i32,
    comment_count: i32,
    created_at: OffsetDateTime,
    edited_at: Option<OffsetDateTime>,
    liked_by_me: bool,
    media_ids: Vec<Uuid>,
    warned_by: Vec<Uuid>,
    #[sqlx(flatten)]
    author: CardRow,
}

/// The posts among `ids` that `viewer` may see in `scope`, in the order of
/// `ids`. Ids of posts deleted, taken down, hidden or blocked since they
/// were listed are dropped here, so a stale list is never worse than the
/// next write would show.
pub async fn hydrate(
    conn: &mut PgConnection,
    urls: &Photos,
    viewer: Uuid,
    ids: &[Uuid],
    scope: Scope,
) -> Result<Vec<Post>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query_as::<_, PostRow>(hydrate_sql(scope))
        .bind(ids)
        .bind(viewer)
        .fetch_all(&mut *conn)
        .await?;
    let media_ids: Vec<Uuid> = rows
        .iter()
        .flat_map(|row| {
            row.media_ids
                .iter()
                .copied()
                .chain(row.author.avatar_media_id)
        })
        .collect();
    let mut views = render::media_views(&mut *conn, urls, &media_ids, None).await?;
    // A photo is shown once on a page unless it is also an avatar, or an
    // avatar shown on several posts: those are cloned, the rest moved.
    let mut uses: HashMap<Uuid, usize> = HashMap::with_capacity(media_ids.len());
    for id in &media_ids {
        *uses.entry(*id).or_default() += 1;
    }
    let warned_by: Vec<Uuid> = rows.iter().flat_map(|row| row.warned_by.clone()).collect();
    let warnings = filters::titles(&mut *conn, &warned_by).await?;
    let mut by_id: HashMap<Uuid, Post> = rows
        .into_iter()
        .map(|row| (row.post_id, assemble(row, &mut views, &mut uses, &warnings)))
        .collect();
    let mut lists: Vec<&mut Vec<Entity>> =
        by_id.values_mut().map(|post| &mut post.entities).collect();
    entities::hide_unseen_mentions(&mut *conn, viewer, &mut lists).await?;
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// A page of post ids (newest first, one more than the page when there is
/// a next) as `viewer` sees them: the lists of a user's or a hashtag's posts.
pub async fn visible_page(
    db: &Db,
    urls: &Photos,
    viewer: Uuid,
    ids: Vec<Uuid>,
    page: &PageRequest<Uuid>,
) -> Result<Page<Post>> {
    let ids = Page::from_rows(ids, page, |id| *id);
    let posts = hydrate(
        &mut *db.replica.acquire().await?,
        urls,
        viewer,
        &ids.items,
        Scope::Visible,
    )
    .await?;
    Ok(Page {
        items: posts,
        next_cursor: ids.next_cursor,
    })
}

/// The SQL of [`hydrate`] for `scope`, built once.
fn hydrate_sql(scope: Scope) -> &'static str {
    static VISIBLE: LazyLock<String> = LazyLock::new(|| hydrate_sql_for(Scope::Visible));
    static HOME_FEED: LazyLock<String> = LazyLock::new(|| hydrate_sql_for(Scope::HomeFeed));
    static EXPLORE: LazyLock<String> = LazyLock::new(|| hydrate_sql_for(Scope::Explore));
    match scope {
        Scope::Visible => &VISIBLE,
        Scope::HomeFeed => &HOME_FEED,
        Scope::Explore => &EXPLORE,
    }
}

fn hydrate_sql_for(scope: Scope) -> String {
    // A block ends the follows between the two, and follows and blocks of a
    // pair are serialised; the feed tests blocks all the same, so that no
    // follow that ever outlived a block can show the blocker's posts.
    let visible = format!("{} AND {}", no_block("$2", "u.id"), content_visible("$2"));
    let scope_filter = match scope {
        Scope::Visible | Scope::Explore => visible,
        // Followed authors' posts, and the posts of followed hashtags that
        // the viewer may see.
        Scope::HomeFeed => format!(
            "(p.author_id = $2 OR ((EXISTS (
                 SELECT 1 FROM follows f WHERE f.follower_id = $2 AND f.followee_id = p.author_id)
               OR (EXISTS (SELECT 1 FROM post_hashtags ph
                           JOIN hashtag_follows hf ON hf.hashtag_id = ph.hashtag_id
                           WHERE ph.post_id = p.id AND hf.user_id = $2) AND {}))
               AND {} AND {} AND {}))",
            content_visible("$2"),
            no_block("$2", "u.id"),
            not_muted("$2", "p.author_id", false),
            filters::hides_not("$2", "p.caption", Context::Home)
        ),
    };
    let warned_by = match scope {
        Scope::Visible => "'{}'::uuid[]".to_string(),
        Scope::HomeFeed => format!(
            "CASE WHEN p.author_id = $2 THEN '{{}}'::uuid[] ELSE {} END",
            filters::warns("$2", "p.caption", Context::Home)
        ),
        Scope::Explore => filters::warns("$2", "p.caption", Context::Explore),
    };
    format!(
        "SELECT p.id AS post_id, p.caption, p.caption_entities::text AS caption_entities, p.like_count, p.comment_count, p.created_at, p.edited_at,
                EXISTS (SELECT 1 FROM likes l WHERE l.post_id = p.id AND l.user_id = $2) AS liked_by_me,
                ARRAY(SELECT pm.media_id FROM post_media pm WHERE pm.post_id = p.id ORDER BY pm.position) AS media_ids,
                {warned_by} AS warned_by,
                u.id, u.handle, u.display_name, u.avatar_media_id
         FROM posts p JOIN users u ON u.id = p.author_id
         WHERE p.id = ANY($1) AND p.taken_down_at IS NULL AND {USER_VISIBLE} AND {scope_filter}"
    )
}

/// `id`'s view, moved out of `views` at its last use.
fn take(
    views: &mut HashMap<Uuid, MediaView>,
    uses: &mut HashMap<Uuid, usize>,
    id: Uuid,
) -> Option<MediaView> {
    let left = uses.get_mut(&id)?;
    *left = left.saturating_sub(1);
    if *left == 0 {
        views.remove(&id)
    } else {
        views.get(&id).cloned()
    }
}

fn assemble(
    row: PostRow,
    views: &mut HashMap<Uuid, MediaView>,
    uses: &mut HashMap<Uuid, usize>,
    warnings: &[FilterMatch],
) -> Post {
    let avatar = row.author.avatar_media_id.and_then(|id| {
        let mut view = take(views, uses, id)?;
        view.variants.retain(|v| AVATAR_VARIANTS.contains(&v.name));
        Some(view)
    });
    Post {
        id: row.post_id,
        author: UserCard {
            id: row.author.id,
            handle: row.author.handle,
            display_name: row.author.display_name,
            avatar,
        },
        caption: row.caption,
        entities: entities::from_json(&row.caption_entities),
        media: row
            .media_ids
            .iter()
            .filter_map(|id| take(views, uses, *id))
            .collect(),
        like_count: row.like_count,
        comment_count: row.comment_count,
        liked_by_me: row.liked_by_me,
        created_at: row.created_at,
        edited_at: row.edited_at,
        filtered: filters::named(warnings, &row.warned_by),
    }
}
