//! Helpers for the social tests: users, photos ready to post, posts.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::TestApp;

/// A signed-in user of a test.
#[derive(Clone)]
pub struct User {
    pub handle: String,
    pub id: Uuid,
    pub token: String,
}

impl User {
    pub fn token(&self) -> Option<&str> {
        Some(&self.token)
    }
}

pub async fn user(app: &TestApp, handle: &str) -> User {
    let body = app.register(handle).await;
    User {
        handle: handle.to_string(),
        id: body["user"]["id"].as_str().unwrap().parse().unwrap(),
        token: body["access_token"].as_str().unwrap().to_string(),
    }
}

/// Photos that went through processing, as rows: posts only need the rows
/// (the pipeline itself is tested in tests/api/media.rs and by the purge test).
pub async fn ready_media(pool: &PgPool, owner: Uuid, count: usize) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO media (id, owner_id, status, declared_content_type, declared_bytes, original_key, width, height, blurhash)
             VALUES ($1, $2, 'ready', 'image/jpeg', 1000, 'originals/' || $2 || '/' || $1, 1200, 800, 'LEHV6nWB2yk8pyo0adR*.7kCMdnj')",
        )
        .bind(id)
        .bind(owner)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO media_variants (media_id, name, format, width, height, bytes, key)
             SELECT $1, n, f, 320, 213, 100, 'variants/' || $1 || '/' || n || '.' || e
             FROM unnest(ARRAY['thumb', 'small']) n,
                  unnest(ARRAY['webp', 'jpeg'], ARRAY['webp', 'jpg']) AS formats (f, e)",
        )
        .bind(id)
        .execute(pool)
        .await
        .unwrap();
        ids.push(id);
    }
    ids
}

/// Creates a post with `count` fresh photos and returns its body.
pub async fn post(app: &TestApp, pool: &PgPool, author: &User, caption: &str) -> Value {
    let media = ready_media(pool, author.id, 1).await;
    let reply = app
        .post(
            "/v1/posts",
            author.token(),
            json!({ "caption": caption, "media_ids": media }),
        )
        .await;
    reply.expect(StatusCode::CREATED, None);
    reply.body
}

pub fn id_of(value: &Value) -> Uuid {
    value["id"].as_str().unwrap().parse().unwrap()
}

/// Follows every page of a list and returns the items.
pub async fn all_pages(app: &TestApp, path: &str, token: Option<&str>, limit: u32) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let separator = if path.contains('?') { '&' } else { '?' };
    for _ in 0..1000 {
        let url = match &cursor {
            Some(c) => format!("{path}{separator}limit={limit}&cursor={c}"),
            None => format!("{path}{separator}limit={limit}"),
        };
        let reply = app.get(&url, token).await;
        reply.expect(StatusCode::OK, None);
        items.extend(reply.body["items"].as_array().unwrap().iter().cloned());
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return items,
        }
    }
    panic!("more than 1000 pages of {path}");
}

pub async fn patch(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> super::Reply {
    app.request(Method::PATCH, path, token, Some(body)).await
}

pub async fn delete_with(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> super::Reply {
    app.request(Method::DELETE, path, token, Some(body)).await
}

pub fn ids(items: &[Value]) -> Vec<Uuid> {
    items.iter().map(id_of).collect()
}

/// `who` follows `whom` (a public account).
pub async fn follow(app: &TestApp, who: &User, whom: &User) {
    app.post(
        &format!("/v1/users/{}/follow", whom.handle),
        who.token(),
        serde_json::json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
}
