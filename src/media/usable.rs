//! The one decision of whether a photo may be used in something new (a post, an avatar, and
//! whatever else takes "a ready upload of yours"): it is the user's, it finished processing, it
//! is not held for review after matching the hash block list, and it is not a photo of a
//! taken-down post nor a confirmed match (those are gone for every use).

use sqlx::PgConnection;
use uuid::Uuid;

use super::MediaStatus;
use crate::error::{Code, Error, Result};

/// A photo that passed [`lock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usable {
    pub id: Uuid,
    /// Whether a post already has it (a post may not take it; an avatar may).
    pub in_post: bool,
    /// Whether a story has it (nothing else may: it goes when the story ends).
    pub in_story: bool,
}

/// Locks `ids` (in id order, so two callers never deadlock) for the caller's transaction and
/// checks that each is usable by `owner`. The states are read after the locks are held: a
/// takedown, a quarantine decision and a deletion lock the photo first, so whatever got there
/// before is seen. Errors, the first that applies to any photo: `media_not_found` (missing,
/// someone else's, taken down, or a confirmed match), `media_quarantined`, `media_not_ready`.
pub async fn lock(tx: &mut PgConnection, owner: Uuid, ids: &[Uuid]) -> Result<Vec<Usable>> {
    let locked: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM media WHERE id = ANY($1) AND owner_id = $2 ORDER BY id FOR UPDATE",
    )
    .bind(ids)
    .bind(owner)
    .fetch_all(&mut *tx)
    .await?;
    if locked.len() != ids.len() {
        return Err(not_found());
    }
    let rows: Vec<(Uuid, MediaStatus, bool, bool, Option<String>, bool)> = sqlx::query_as(
        "SELECT m.id, m.status,
                EXISTS (SELECT 1 FROM post_media pm WHERE pm.media_id = m.id),
                EXISTS (SELECT 1 FROM post_media pm JOIN posts p ON p.id = pm.post_id
                         WHERE pm.media_id = m.id AND p.taken_down_at IS NOT NULL),
                q.state::text,
                EXISTS (SELECT 1 FROM stories s WHERE s.media_id = m.id)
           FROM media m LEFT JOIN media_quarantine q ON q.media_id = m.id
          WHERE m.id = ANY($1)",
    )
    .bind(&locked)
    .fetch_all(&mut *tx)
    .await?;
    if rows.len() != ids.len()
        || rows
            .iter()
            .any(|(_, _, _, taken_down, q, _)| *taken_down || q.as_deref() == Some("confirmed"))
    {
        return Err(not_found());
    }
    if rows
        .iter()
        .any(|(_, _, _, _, q, _)| q.as_deref() == Some("pending"))
    {
        return Err(Error::from(Code::MediaQuarantined));
    }
    if rows
        .iter()
        .any(|(_, status, ..)| *status != MediaStatus::Ready)
    {
        return Err(Error::from(Code::MediaNotReady));
    }
    Ok(rows
        .into_iter()
        .map(|(id, _, in_post, _, _, in_story)| Usable {
            id,
            in_post,
            in_story,
        })
        .collect())
}

fn not_found() -> Error {
    Code::MediaNotFound.with_message("a photo does not exist, is not yours, or was removed")
}
