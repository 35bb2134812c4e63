//! The feed benchmarks' data: users who each follow 200 (skewed: a few
//! authors are followed by many, one by all the others) and posts with a
//! photo each over the last 30 days. Generated once in memory, so that the
//! same data can be loaded into our schema (`load_ours`) and into another
//! backend's (benches/versus.rs).

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use sqlx::PgPool;
use uuid::Uuid;

pub const FOLLOWS_EACH: usize = 200;

pub struct Post {
    /// A UUIDv7 of `at`: ids sort as the posts' times.
    pub id: Uuid,
    pub author: Uuid,
    pub media: Uuid,
    pub at: SystemTime,
}

pub struct Dataset {
    pub users: Vec<Uuid>,
    /// (follower, followee).
    pub follows: Vec<(Uuid, Uuid)>,
    /// Oldest first.
    pub posts: Vec<Post>,
}

/// A size from the environment (BENCH_FEED_USERS ...), or `default`.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn handle(i: usize) -> String {
    format!("user_{i:05}")
}

pub fn email(i: usize) -> String {
    format!("user{i}@bench.example")
}

/// Popular authors are picked far more often: index ~ U^3 of the users.
fn skewed(rng: &mut impl Rng, users: usize) -> usize {
    let u: f64 = rng.r#gen();
    ((u * u * u) * users as f64) as usize % users
}

pub fn generate(users: usize, posts: usize) -> Dataset {
    let mut rng = rand::thread_rng();
    let ids: Vec<Uuid> = (0..users).map(|_| Uuid::now_v7()).collect();
    let mut follows = Vec::with_capacity(users * FOLLOWS_EACH);
    for (i, follower) in ids.iter().enumerate() {
        let mut chosen = HashSet::new();
        if i != 0 {
            chosen.insert(0); // user 0 is followed by everyone else
        }
        while chosen.len() < FOLLOWS_EACH.min(users - 1) {
            let j = skewed(&mut rng, users);
            if j != i {
                chosen.insert(j);
            }
        }
        follows.extend(chosen.into_iter().map(|j| (*follower, ids[j])));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut posts: Vec<Post> = (0..posts)
        .map(|_| {
            let at = now - rng.gen_range(0..30 * 24 * 3600 * 1000);
            let ts = uuid::Timestamp::from_unix(
                uuid::NoContext,
                at / 1000,
                ((at % 1000) * 1_000_000) as u32,
            );
            Post {
                id: Uuid::new_v7(ts),
                author: ids[skewed(&mut rng, users)],
                media: Uuid::new_v4(),
                at: UNIX_EPOCH + Duration::from_millis(at),
            }
        })
        .collect();
    posts.sort_by_key(|p| p.id);
    Dataset {
        users: ids,
        follows,
        posts,
    }
}

/// Unzips `rows` by `f` into the columns of an `unnest`.
pub fn column<T, U>(rows: &[T], f: impl Fn(&T) -> U) -> Vec<U> {
    rows.iter().map(f).collect()
}

pub fn times(posts: &[Post]) -> Vec<time::OffsetDateTime> {
    column(posts, |p| time::OffsetDateTime::from(p.at))
}

/// Into our schema: every user with `password_hash`, four sizes in WebP
/// and JPEG per photo (the set of photos processed before issue 30), the
/// counters set once at the end (the counting triggers are bypassed).
pub async fn load_ours(pool: &PgPool, data: &Dataset, password_hash: &str) {
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    let n = data.users.len();
    sqlx::query(
        "INSERT INTO users (id, handle, email, password_hash)
         SELECT id, h, e, $4 FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t (id, h, e)",
    )
    .bind(&data.users)
    .bind((0..n).map(handle).collect::<Vec<_>>())
    .bind((0..n).map(email).collect::<Vec<_>>())
    .bind(password_hash)
    .execute(&mut *conn)
    .await
    .unwrap();
    for chunk in data.follows.chunks(100_000) {
        sqlx::query("INSERT INTO follows (follower_id, followee_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])")
            .bind(column(chunk, |f| f.0))
            .bind(column(chunk, |f| f.1))
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    for chunk in data.posts.chunks(20_000) {
        let media = column(chunk, |p| p.media);
        let authors = column(chunk, |p| p.author);
        sqlx::query(
            "INSERT INTO posts (id, author_id, caption, created_at) SELECT p, a, 'A photo of the day', t
             FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS u (p, a, t)",
        )
        .bind(column(chunk, |p| p.id))
        .bind(&authors)
        .bind(times(chunk))
        .execute(&mut *conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO media (id, owner_id, status, declared_content_type, declared_bytes, original_key, width, height, blurhash)
             SELECT m, a, 'ready', 'image/jpeg', 2400000, 'originals/' || a || '/' || m, 4032, 3024, 'LEHV6nWB2yk8pyo0adR*.7kCMdnj'
             FROM unnest($1::uuid[], $2::uuid[]) AS t (m, a)",
        )
        .bind(&media)
        .bind(&authors)
        .execute(&mut *conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO post_media (post_id, media_id, position) SELECT p, m, 0 FROM unnest($1::uuid[], $2::uuid[]) AS t (p, m)",
        )
        .bind(column(chunk, |p| p.id))
        .bind(&media)
        .execute(&mut *conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO media_variants (media_id, name, format, width, height, bytes, key)
             SELECT m, v.name, f.format, v.w, v.w * 3 / 4, 100000,
                    'variants/' || m || '/' || v.name || '.' || f.ext
             FROM unnest($1::uuid[]) AS m,
                  (VALUES ('thumb', 320), ('small', 640), ('medium', 1080), ('large', 2048)) AS v (name, w),
                  (VALUES ('webp', 'webp'), ('jpeg', 'jpg')) AS f (format, ext)",
        )
        .bind(&media)
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    sqlx::query("SET session_replication_role = DEFAULT")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE users u SET
            followers_count = (SELECT count(*) FROM follows WHERE followee_id = u.id),
            following_count = (SELECT count(*) FROM follows WHERE follower_id = u.id),
            posts_count = (SELECT count(*) FROM posts WHERE author_id = u.id)",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    sqlx::query("VACUUM ANALYZE").execute(pool).await.unwrap();
}
