//! What the apps see of photos and people: variants with URLs that every
//! allowed viewer can load, and the small user card shown on posts, lists,
//! comments and notifications.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lru::LruCache;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Result;
use crate::infra::s3::Storage;
use crate::media::variants::{VariantFormat, VariantName};

/// Presigned URLs are signed from the start of the current window and live
/// two windows, so any URL handed out stays valid for at least one window.
const URL_WINDOW: Duration = Duration::from_secs(3600);
/// A bound on the cache, far above the variants a process serves in a window.
const URL_CACHE_MAX: usize = 200_000;
/// Avatars are drawn small: only these variants go out with a user card.
pub const AVATAR_VARIANTS: &[VariantName] = &[VariantName::Thumb, VariantName::Small];

/// Photos as the apps see them. Two process-local caches keep a feed page
/// off the database and the signer:
/// - the variants of ready photos, which never change once written (keys
///   are derived from the media id; a deleted photo is no longer referenced
///   by any row that is shown), so the cache can never be stale;
/// - variant URLs: the CDN's (`S3_PUBLIC_ENDPOINT`) when there is one, since
///   variant keys are immutable; presigned GETs otherwise, cached per window
///   because signing a feed page's hundred-odd URLs costs more CPU than
///   everything else the page needs.
pub struct Photos {
    storage: Storage,
    urls: Mutex<UrlCache>,
    variants: Mutex<LruCache<Uuid, Arc<StoredPhoto>>>,
}

#[derive(Default)]
struct UrlCache {
    window: u64,
    urls: HashMap<String, String>,
}

/// A ready photo's variants as stored, before URLs.
struct StoredPhoto {
    width: i32,
    height: i32,
    blurhash: Option<String>,
    variants: Vec<StoredVariant>,
}

struct StoredVariant {
    name: VariantName,
    format: VariantFormat,
    width: i32,
    height: i32,
    key: String,
}

/// Ready photos whose variants are kept in memory: about 1 KB each.
const PHOTO_CACHE_ENTRIES: usize = 20_000;

impl Photos {
    pub fn new(storage: Storage) -> Self {
        Self {
            storage,
            urls: Mutex::default(),
            variants: Mutex::new(LruCache::new(
                NonZeroUsize::new(PHOTO_CACHE_ENTRIES).expect("a positive capacity"),
            )),
        }
    }

    pub async fn url(&self, key: &str) -> Result<String> {
        if let Some(base) = self.storage.public_endpoint() {
            return Ok(format!("{base}/{key}"));
        }
        let window = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            / URL_WINDOW.as_secs();
        if let Some(url) = self.cached_url(window, key) {
            return Ok(url);
        }
        let start = UNIX_EPOCH + URL_WINDOW * window as u32;
        let url = self
            .storage
            .presign_get_from(key, start, URL_WINDOW * 2)
            .await?;
        let mut cache = self.urls.lock().unwrap_or_else(|p| p.into_inner());
        if cache.window == window && cache.urls.len() < URL_CACHE_MAX {
            cache.urls.insert(key.to_owned(), url.clone());
        }
        Ok(url)
    }

    fn cached_url(&self, window: u64, key: &str) -> Option<String> {
        let mut cache = self.urls.lock().unwrap_or_else(|p| p.into_inner());
        if cache.window != window {
            cache.window = window;
            cache.urls.clear();
        }
        cache.urls.get(key).cloned()
    }

    /// The stored variants of the ready photos among `ids`: from memory,
    /// and the rest in one query.
    async fn stored(
        &self,
        db: &mut PgConnection,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Arc<StoredPhoto>>> {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        {
            let mut cache = self.variants.lock().unwrap_or_else(|p| p.into_inner());
            for id in ids {
                match cache.get(id) {
                    Some(photo) => {
                        found.insert(*id, photo.clone());
                    }
                    None => missing.push(*id),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let rows = sqlx::query_as::<_, VariantRow>(
            "SELECT m.id AS media_id, m.width AS media_width, m.height AS media_height, m.blurhash,
                    v.name, v.format, v.width, v.height, v.key
             FROM media m JOIN media_variants v ON v.media_id = m.id
             WHERE m.id = ANY($1) AND m.status = 'ready'
             ORDER BY m.id, v.width, v.format",
        )
        .bind(&missing)
        .fetch_all(db)
        .await?;
        let mut loaded: HashMap<Uuid, StoredPhoto> = HashMap::new();
        for row in rows {
            loaded
                .entry(row.media_id)
                .or_insert_with(|| StoredPhoto {
                    width: row.media_width,
                    height: row.media_height,
                    blurhash: row.blurhash.clone(),
                    variants: Vec::new(),
                })
                .variants
                .push(StoredVariant {
                    name: row.name,
                    format: row.format,
                    width: row.width,
                    height: row.height,
                    key: row.key,
                });
        }
        let mut cache = self.variants.lock().unwrap_or_else(|p| p.into_inner());
        for (id, photo) in loaded {
            let photo = Arc::new(photo);
            cache.put(id, photo.clone());
            found.insert(id, photo);
        }
        Ok(found)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VariantView {
    pub name: VariantName,
    pub format: VariantFormat,
    pub width: i32,
    pub height: i32,
    pub url: String,
}

/// A processed photo.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MediaView {
    pub id: Uuid,
    pub width: i32,
    pub height: i32,
    /// A blurred placeholder to draw while the variants load.
    pub blurhash: Option<String>,
    /// What the photo shows, for screen readers: set by its owner when
    /// posting or later (`PATCH /v1/media/{id}`); null when none.
    #[schema(max_length = 1500)]
    pub alt_text: Option<String>,
    pub variants: Vec<VariantView>,
}

/// Who wrote a post or comment, who follows whom, who did something.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserCard {
    pub id: Uuid,
    #[schema(example = "ana_lima")]
    pub handle: String,
    pub display_name: Option<String>,
    /// The profile photo (`thumb` and `small` variants), if any.
    pub avatar: Option<MediaView>,
}

/// A user row as the card queries select it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CardRow {
    pub id: Uuid,
    pub handle: String,
    pub display_name: Option<String>,
    pub avatar_media_id: Option<Uuid>,
}

#[derive(sqlx::FromRow)]
struct VariantRow {
    media_id: Uuid,
    media_width: i32,
    media_height: i32,
    blurhash: Option<String>,
    name: VariantName,
    format: VariantFormat,
    width: i32,
    height: i32,
    key: String,
}

/// The ready media among `ids` with their variants (only `names`, when
/// given), smallest first.
pub async fn media_views(
    conn: &mut PgConnection,
    photos: &Photos,
    ids: &[Uuid],
    names: Option<&[VariantName]>,
) -> Result<HashMap<Uuid, MediaView>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let stored = photos.stored(&mut *conn, ids).await?;
    // Alt text changes, unlike variants: read each time, never cached.
    let mut alt_texts: HashMap<Uuid, String> = sqlx::query_as(
        "SELECT id, alt_text FROM media WHERE id = ANY($1) AND alt_text IS NOT NULL",
    )
    .bind(ids)
    .fetch_all(conn)
    .await?
    .into_iter()
    .collect();
    let mut views = HashMap::with_capacity(stored.len());
    for (id, photo) in stored {
        let mut variants = Vec::with_capacity(photo.variants.len());
        for v in &photo.variants {
            if names.is_some_and(|names| !names.contains(&v.name)) {
                continue;
            }
            variants.push(VariantView {
                name: v.name,
                format: v.format,
                width: v.width,
                height: v.height,
                url: photos.url(&v.key).await?,
            });
        }
        views.insert(
            id,
            MediaView {
                id,
                width: photo.width,
                height: photo.height,
                blurhash: photo.blurhash.clone(),
                alt_text: alt_texts.remove(&id),
                variants,
            },
        );
    }
    Ok(views)
}

/// Cards for user rows, avatars resolved in one query.
pub async fn cards(db: &PgPool, urls: &Photos, rows: Vec<CardRow>) -> Result<Vec<UserCard>> {
    let avatar_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.avatar_media_id).collect();
    let avatars = media_views(
        &mut *db.acquire().await?,
        urls,
        &avatar_ids,
        Some(AVATAR_VARIANTS),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| UserCard {
            avatar: row.avatar_media_id.and_then(|id| avatars.get(&id).cloned()),
            id: row.id,
            handle: row.handle,
            display_name: row.display_name,
        })
        .collect())
}

/// A page of rows that each carry a user, as the page of their cards.
pub async fn card_page<R>(
    db: &PgPool,
    urls: &Photos,
    page: super::page::Page<R>,
    card: impl Fn(R) -> CardRow,
) -> Result<super::page::Page<UserCard>> {
    let items = cards(db, urls, page.items.into_iter().map(card).collect()).await?;
    Ok(super::page::Page {
        items,
        next_cursor: page.next_cursor,
    })
}

/// A page of rows that each carry a user, each turned into an item with
/// that user's card (avatars resolved in one query).
pub async fn with_cards<R, T>(
    db: &PgPool,
    urls: &Photos,
    page: super::page::Page<R>,
    card: impl Fn(&R) -> CardRow,
    item: impl Fn(R, UserCard) -> T,
) -> Result<super::page::Page<T>> {
    let cards = cards(db, urls, page.items.iter().map(card).collect()).await?;
    Ok(super::page::Page {
        items: page
            .items
            .into_iter()
            .zip(cards)
            .map(|(row, card)| item(row, card))
            .collect(),
        next_cursor: page.next_cursor,
    })
}

pub async fn card(db: &PgPool, urls: &Photos, row: CardRow) -> Result<UserCard> {
    Ok(cards(db, urls, vec![row]).await?.remove(0))
}
