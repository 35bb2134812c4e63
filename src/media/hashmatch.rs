//! Perceptual hash matching (issue 29): the admin-managed block list of PDQ hashes, the
//! quarantine of photos whose hash is near one of them, and the moderators' decisions.
//!
//! The media job hashes every photo ([`ciel_imaging::pdq`]) and, in the transaction that
//! makes it ready, looks for a block-list entry within the match distance
//! ([`quarantine_if_matching`]). A match is quarantined: its variants are withheld and
//! [`super::usable::lock`] refuses it (`media_quarantined`) until a moderator releases it, or
//! confirms the match (it is then gone for every use, and its own hash joins the list).
//! Taken-down posts add their photos' hashes to the list; reversing the takedown removes them.
//!
//! Matching is a linear scan of the list in PostgreSQL (`bit_count(bits # hash)` over a stored
//! `bit(256)`), bounded by [`BLOCK_LIST_MAX`] entries (README, "Perceptual hash matching").

use ciel_imaging::PdqHash;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{preview, withhold};
use crate::error::{Code, Error, OnConstraint, Result};
use crate::infra::s3::Storage;
use crate::social::page::{Page, PageRequest, TimeKey};

/// Entries the list may hold: the bound on the scan each processed photo makes.
pub const BLOCK_LIST_MAX: i64 = 100_000;
/// Below this quality (Meta's cut-off) a photo is too featureless for its hash to be added
/// to the list automatically: it would match every other plain photo.
pub const MIN_QUALITY: i16 = 50;
pub const REASON_MAX_CHARS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, ToSchema)]
#[sqlx(type_name = "blocked_hash_source", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Added by a moderator.
    Admin,
    /// A photo of a taken-down post.
    Takedown,
    /// A quarantined photo a moderator confirmed.
    Quarantine,
}

/// A block-list entry.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct BlockedHash {
    pub id: Uuid,
    /// The PDQ hash, 64 hex digits as Meta's tools print it.
    #[schema(example = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22")]
    pub hash: String,
    pub reason: String,
    pub source: Source,
    /// The taken-down post the entry came from.
    pub post_id: Option<Uuid>,
    /// The photo the entry came from.
    pub media_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

const BLOCKED_COLUMNS: &str =
    "id, encode(hash, 'hex') AS hash, reason, source, post_id, media_id, created_at";

/// A hash and a reason a moderator sent, checked.
pub struct NewBlockedHash {
    pub hash: PdqHash,
    pub reason: String,
}

impl NewBlockedHash {
    pub fn parse(hash: &str, reason: &str) -> Result<Self> {
        let mut errors = crate::error::FieldErrors::default();
        let parsed = PdqHash::from_hex(hash.trim());
        if parsed.is_none() {
            errors.add("hash", "must be a PDQ hash: 64 hexadecimal digits");
        }
        let len = reason.chars().count();
        let reason = reason.trim();
        if reason.is_empty() || len > REASON_MAX_CHARS || reason.contains('\0') {
            errors.add(
                "reason",
                format!("must be 1 to {REASON_MAX_CHARS} characters, with no NUL"),
            );
        }
        errors.into_result()?;
        Ok(NewBlockedHash {
            hash: parsed.unwrap_or_default(),
            reason: reason.to_string(),
        })
    }
}

/// Adds a moderator's entry. 409 `hash_already_blocked` for a hash on the list already, 409
/// `block_list_full` past [`BLOCK_LIST_MAX`].
pub async fn add(db: &PgPool, new: &NewBlockedHash) -> Result<BlockedHash> {
    let added = sqlx::query_as::<_, BlockedHash>(&format!(
        "INSERT INTO blocked_hashes (id, hash, reason, source)
         SELECT $1, $2, $3, 'admin' WHERE (SELECT count(*) FROM blocked_hashes) < $4
         RETURNING {BLOCKED_COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(new.hash.as_bytes().as_slice())
    .bind(&new.reason)
    .bind(BLOCK_LIST_MAX)
    .fetch_optional(db)
    .await
    .on_constraint(&[("blocked_hashes_hash_key", Code::HashAlreadyBlocked)])?;
    added.ok_or_else(|| Error::from(Code::BlockListFull))
}

/// The list, newest first.
pub async fn list(db: &PgPool, page: &PageRequest<TimeKey>) -> Result<Page<BlockedHash>> {
    let after = page.after.unwrap_or(TimeKey::MAX);
    let rows = sqlx::query_as::<_, BlockedHash>(&format!(
        "SELECT {BLOCKED_COLUMNS} FROM blocked_hashes WHERE (created_at, id) < ($1, $2)
          ORDER BY created_at DESC, id DESC LIMIT $3"
    ))
    .bind(after.at)
    .bind(after.id)
    .bind(page.fetch_limit())
    .fetch_all(db)
    .await?;
    Ok(Page::from_rows(rows, page, |entry| TimeKey {
        at: entry.created_at,
        id: entry.id,
    }))
}

/// Removes an entry. Photos it quarantined stay in the review queue.
pub async fn remove(db: &PgPool, id: Uuid) -> Result<()> {
    let removed = sqlx::query("DELETE FROM blocked_hashes WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?
        .rows_affected();
    if removed == 0 {
        return Err(Error::from(Code::BlockedHashNotFound));
    }
    Ok(())
}

/// Adds the hashes of a taken-down post's photos (those with a usable quality), unless the
/// list is full (logged: the takedown itself stands).
pub async fn block_photos_of_post(db: &PgPool, post_id: Uuid) -> Result<()> {
    let added = sqlx::query(
        "INSERT INTO blocked_hashes (id, hash, reason, source, post_id, media_id)
         SELECT gen_random_uuid(), m.pdq, 'a photo of a taken-down post', 'takedown', $1, m.id
           FROM post_media pm JOIN media m ON m.id = pm.media_id
          WHERE pm.post_id = $1 AND m.pdq IS NOT NULL AND m.pdq_quality >= $2
            AND (SELECT count(*) FROM blocked_hashes) < $3
         ON CONFLICT (hash) DO NOTHING",
    )
    .bind(post_id)
    .bind(MIN_QUALITY)
    .bind(BLOCK_LIST_MAX)
    .execute(db)
    .await?
    .rows_affected();
    tracing::info!(%post_id, added, "taken-down photos added to the hash block list");
    Ok(())
}

/// Adds the hash of a taken-down story's photo, as [`block_photos_of_post`]
/// does for a post's.
pub async fn block_photo_of_story(db: &PgPool, story_id: Uuid) -> Result<()> {
    let added = sqlx::query(
        "INSERT INTO blocked_hashes (id, hash, reason, source, media_id)
         SELECT gen_random_uuid(), m.pdq, 'the photo of a taken-down story', 'takedown', m.id
           FROM stories s JOIN media m ON m.id = s.media_id
          WHERE s.id = $1 AND m.pdq IS NOT NULL AND m.pdq_quality >= $2
            AND (SELECT count(*) FROM blocked_hashes) < $3
         ON CONFLICT (hash) DO NOTHING",
    )
    .bind(story_id)
    .bind(MIN_QUALITY)
    .bind(BLOCK_LIST_MAX)
    .execute(db)
    .await?
    .rows_affected();
    tracing::info!(%story_id, added, "a taken-down story's photo added to the hash block list");
    Ok(())
}

/// Removes what [`block_photos_of_post`] added, when the takedown is reversed.
pub async fn unblock_photos_of_post(db: &PgPool, post_id: Uuid) -> Result<()> {
    sqlx::query("DELETE FROM blocked_hashes WHERE source = 'takedown' AND post_id = $1")
        .bind(post_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Quarantines the media when an entry of the list is within `max_distance` bits of `hash`,
/// in the caller's transaction (the one that makes the photo ready, so it is never usable in
/// between). A media already reviewed keeps its decision. Returns whether it is (still)
/// waiting for review.
pub async fn quarantine_if_matching(
    tx: &mut PgConnection,
    media_id: Uuid,
    hash: &PdqHash,
    max_distance: u32,
) -> Result<bool> {
    sqlx::query(
        "INSERT INTO media_quarantine (media_id, blocked_hash_id, matched_hash, matched_reason, distance)
         SELECT $1, id, hash, reason, distance FROM (
             SELECT id, hash, reason,
                    bit_count(bits # ('x' || encode($2, 'hex'))::bit(256))::smallint AS distance
               FROM blocked_hashes) candidates
          WHERE distance <= $3
          ORDER BY distance, id LIMIT 1
         ON CONFLICT (media_id) DO NOTHING",
    )
    .bind(media_id)
    .bind(hash.as_bytes().as_slice())
    .bind(max_distance as i16)
    .execute(&mut *tx)
    .await?;
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM media_quarantine WHERE media_id = $1 AND state = 'pending')",
    )
    .bind(media_id)
    .fetch_one(&mut *tx)
    .await?)
}

/// A photo waiting for review.
#[derive(Debug, Serialize, ToSchema)]
pub struct Quarantined {
    pub media_id: Uuid,
    pub owner_id: Uuid,
    pub owner_handle: String,
    /// The photo's PDQ hash.
    pub hash: String,
    pub quality: i16,
    /// The entry it matched (null once removed from the list), its hash and reason.
    pub blocked_hash_id: Option<Uuid>,
    pub matched_hash: String,
    pub matched_reason: String,
    /// Bits in which the two hashes differ.
    pub distance: i16,
    /// A presigned URL of the photo's smallest variant (from where it is withheld), valid
    /// for 15 minutes.
    pub preview_url: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct QuarantineRow {
    media_id: Uuid,
    owner_id: Uuid,
    owner_handle: String,
    hash: String,
    quality: i16,
    blocked_hash_id: Option<Uuid>,
    matched_hash: String,
    matched_reason: String,
    distance: i16,
    preview_key: Option<String>,
    withheld: bool,
    created_at: OffsetDateTime,
}

/// The review queue, newest first.
pub async fn queue(
    db: &PgPool,
    storage: &Storage,
    page: &PageRequest<TimeKey>,
) -> Result<Page<Quarantined>> {
    let after = page.after.unwrap_or(TimeKey::MAX);
    let rows = sqlx::query_as::<_, QuarantineRow>(&format!(
        "SELECT q.media_id, m.owner_id, u.handle AS owner_handle,
                encode(m.pdq, 'hex') AS hash, m.pdq_quality AS quality, q.blocked_hash_id,
                encode(q.matched_hash, 'hex') AS matched_hash, q.matched_reason, q.distance,
                {smallest} AS preview_key,
                m.variants_withheld AS withheld, q.created_at
           FROM media_quarantine q JOIN media m ON m.id = q.media_id JOIN users u ON u.id = m.owner_id
          WHERE q.state = 'pending' AND (q.created_at, q.media_id) < ($1, $2)
          ORDER BY q.created_at DESC, q.media_id DESC LIMIT $3",
        smallest = preview::SMALLEST_VARIANT_SQL
    ))
    .bind(after.at)
    .bind(after.id)
    .bind(page.fetch_limit())
    .fetch_all(db)
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    let start = std::time::SystemTime::now();
    for row in rows {
        let preview_url = match &row.preview_key {
            Some(key) => Some(preview::presign(storage, key, row.withheld, start).await?),
            None => None,
        };
        items.push(Quarantined {
            media_id: row.media_id,
            owner_id: row.owner_id,
            owner_handle: row.owner_handle,
            hash: row.hash,
            quality: row.quality,
            blocked_hash_id: row.blocked_hash_id,
            matched_hash: row.matched_hash,
            matched_reason: row.matched_reason,
            distance: row.distance,
            preview_url,
            created_at: row.created_at,
        });
    }
    Ok(Page::from_rows(items, page, |q| TimeKey {
        at: q.created_at,
        id: q.media_id,
    }))
}

/// A moderator's decision on a quarantined photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Not a match: the photo becomes usable, its variants public again.
    Release,
    /// A match: the photo is gone for every use (kept withheld, as a taken-down photo is),
    /// and its own hash joins the list.
    Confirm,
}

/// Records the decision on a photo waiting for review (404 `quarantine_not_found`
/// otherwise), then moves its variants to match.
pub async fn decide(
    db: &PgPool,
    storage: &Storage,
    media_id: Uuid,
    decision: Decision,
) -> Result<()> {
    let mut tx = db.begin().await?;
    // The photo first, as every use of it does (usable::lock).
    sqlx::query("SELECT 1 FROM media WHERE id = $1 FOR UPDATE")
        .bind(media_id)
        .execute(&mut *tx)
        .await?;
    let state = match decision {
        Decision::Release => "released",
        Decision::Confirm => "confirmed",
    };
    let decided = sqlx::query(
        "UPDATE media_quarantine SET state = $2::quarantine_state, decided_at = now()
          WHERE media_id = $1 AND state = 'pending'",
    )
    .bind(media_id)
    .bind(state)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if decided == 0 {
        return Err(Error::from(Code::QuarantineNotFound));
    }
    if decision == Decision::Confirm {
        sqlx::query(
            "INSERT INTO blocked_hashes (id, hash, reason, source, media_id)
             SELECT $2, m.pdq, 'a confirmed match of: ' || left(q.matched_reason, 900), 'quarantine', m.id
               FROM media m JOIN media_quarantine q ON q.media_id = m.id
              WHERE m.id = $1 AND m.pdq IS NOT NULL
                AND (SELECT count(*) FROM blocked_hashes) < $3
             ON CONFLICT (hash) DO NOTHING",
        )
        .bind(media_id)
        .bind(Uuid::now_v7())
        .bind(BLOCK_LIST_MAX)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    settle(db, storage, media_id).await;
    Ok(())
}

/// Moves a photo's variants where its state says, now; the API's chores finish what a
/// storage outage leaves (see [`withhold`]).
pub async fn settle(db: &PgPool, storage: &Storage, media_id: Uuid) {
    if let Err(e) = withhold::settle(db, storage, &[media_id]).await {
        tracing::warn!(error = ?e, %media_id, "could not move the photo's variants yet; the chores will");
    }
}
