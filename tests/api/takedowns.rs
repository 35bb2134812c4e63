//! What a takedown, a suspension and a deletion leave reachable of a photo
//! (issue 25, finding 2): its variant objects leave the public prefix, so the
//! URLs handed out before stop working, against the real S3 server; a
//! reversal brings them back; and the CDN in front is told to forget them,
//! through a local server that checks requests as Edge Services' purge API
//! does (its token header and body).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::social::{User, id_of, post, user};
use crate::common::{TestApp, eventually, unique};

const ADMIN: &str = "moderator-secret-token";
const PURGE_KEY: &str = "scw-secret-for-purges";
const PIPELINE: &str = "5f1c9a2e-0000-4000-8000-000000000001";

/// A photo's variant URLs as the API handed them out, with the objects put
/// where the worker would have.
async fn variant_urls(app: &TestApp, post: &Value) -> Vec<(String, String)> {
    let storage = app.backing.storage();
    let mut urls = Vec::new();
    for variant in post["media"][0]["variants"].as_array().unwrap() {
        let url = variant["url"].as_str().unwrap().to_string();
        let key = key_of(&url);
        storage
            .put(&key, key.as_bytes().to_vec(), "image/webp", "public")
            .await
            .unwrap();
        urls.push((url, key));
    }
    assert!(!urls.is_empty());
    urls
}

/// The object key a presigned or CDN URL names: `variants/<id>/<file>`.
fn key_of(url: &str) -> String {
    let path = url.split('?').next().unwrap();
    let at = path.find("variants/").expect("a variant URL");
    path[at..].to_string()
}

async fn fetch(app: &TestApp, url: &str) -> StatusCode {
    app.client.get(url).send().await.unwrap().status()
}

async fn admin(app: &TestApp, method: reqwest::Method, path: &str) -> StatusCode {
    app.client
        .request(method, app.url(path))
        .header("X-Admin-Token", ADMIN)
        .send()
        .await
        .unwrap()
        .status()
}

async fn withheld(app: &TestApp, media: &str) -> bool {
    let pool = app.backing.pool().await;
    sqlx::query_scalar("SELECT variants_withheld FROM media WHERE id = $1")
        .bind(media.parse::<Uuid>().unwrap())
        .fetch_one(&pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_takedown_kills_the_urls_handed_out_and_a_reversal_revives_them() {
    let app = TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", ADMIN.into());
    })
    .await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let body = post(&app, &pool, &ana, "a photo").await;
    let post_id = id_of(&body);
    let media = body["media"][0]["id"].as_str().unwrap().to_string();
    let urls = variant_urls(&app, &body).await;
    for (url, _) in &urls {
        assert_eq!(fetch(&app, url).await, StatusCode::OK, "{url}");
    }

    let path = format!("/v1/admin/posts/{post_id}/takedown");
    assert_eq!(
        admin(&app, reqwest::Method::POST, &path).await,
        StatusCode::NO_CONTENT
    );
    // At once, not at the next chore: the answer came after the move.
    assert!(withheld(&app, &media).await);
    let storage = app.backing.storage();
    for (url, key) in &urls {
        assert_eq!(fetch(&app, url).await, StatusCode::NOT_FOUND, "{url}");
        let kept = storage
            .get(&ciel::media::keys::withheld(key))
            .await
            .unwrap();
        assert_eq!(kept, key.as_bytes(), "the withheld copy is the object");
    }

    assert_eq!(
        admin(&app, reqwest::Method::DELETE, &path).await,
        StatusCode::NO_CONTENT
    );
    assert!(!withheld(&app, &media).await);
    for (url, key) in &urls {
        assert_eq!(fetch(&app, url).await, StatusCode::OK, "{url}");
        assert!(
            storage
                .get(&ciel::media::keys::withheld(key))
                .await
                .is_err(),
            "no copy is left behind"
        );
    }
    app.get(&format!("/v1/posts/{post_id}"), ana.token())
        .await
        .expect(StatusCode::OK, None);
    assert_eq!(
        admin(
            &app,
            reqwest::Method::DELETE,
            &format!("/v1/admin/posts/{}/takedown", Uuid::new_v4())
        )
        .await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_suspension_withholds_every_photo_and_lifting_it_restores_them() {
    let app = TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", ADMIN.into());
    })
    .await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let mut photos = Vec::new();
    for caption in ["one", "two"] {
        let body = post(&app, &pool, &ana, caption).await;
        photos.push((
            body["media"][0]["id"].as_str().unwrap().to_string(),
            variant_urls(&app, &body).await,
        ));
    }
    let suspend = format!("/v1/admin/users/{}/suspend", ana.handle);
    assert_eq!(
        admin(&app, reqwest::Method::POST, &suspend).await,
        StatusCode::NO_CONTENT
    );
    for (media, urls) in &photos {
        assert!(withheld(&app, media).await);
        for (url, _) in urls {
            assert_eq!(fetch(&app, url).await, StatusCode::NOT_FOUND, "{url}");
        }
    }
    let lift = format!("/v1/admin/users/{}/unsuspend", ana.handle);
    assert_eq!(
        admin(&app, reqwest::Method::POST, &lift).await,
        StatusCode::NO_CONTENT
    );
    for (media, urls) in &photos {
        assert!(!withheld(&app, media).await);
        for (url, _) in urls {
            assert_eq!(fetch(&app, url).await, StatusCode::OK, "{url}");
        }
    }
}

/// Edge Services' purge API as far as we use it: `POST
/// /edge-services/v1beta1/purge-requests` with `X-Auth-Token`, a JSON body
/// of `pipeline_id` and `assets`; it answers the purge request it created.
#[derive(Clone, Default)]
struct PurgeApi {
    purged: Arc<Mutex<Vec<String>>>,
    /// Requests to refuse with a 503 before accepting any.
    refuse: Arc<Mutex<u32>>,
}

async fn purge_requests(
    State(api): State<PurgeApi>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if headers.get("x-auth-token").and_then(|v| v.to_str().ok()) != Some(PURGE_KEY) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "message": "authentication is denied", "type": "denied_authentication" })),
        );
    }
    if body["pipeline_id"] != PIPELINE || !body["assets"].is_array() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "message": "invalid argument(s)", "type": "invalid_arguments" })),
        );
    }
    {
        let mut refuse = api.refuse.lock().unwrap();
        if *refuse > 0 {
            *refuse -= 1;
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "message": "service unavailable", "type": "unavailable" })),
            );
        }
    }
    let assets = body["assets"].as_array().unwrap();
    api.purged
        .lock()
        .unwrap()
        .extend(assets.iter().map(|a| a.as_str().unwrap().to_string()));
    (
        StatusCode::OK,
        Json(
            json!({ "id": Uuid::new_v4(), "pipeline_id": PIPELINE, "status": "pending", "assets": assets }),
        ),
    )
}

async fn start_purge_api(api: PurgeApi) -> String {
    let router = axum::Router::new()
        .route(
            "/edge-services/v1beta1/purge-requests",
            axum::routing::post(purge_requests),
        )
        .with_state(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

async fn cdn_app(api: &PurgeApi) -> TestApp {
    let purge_api = start_purge_api(api.clone()).await;
    TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", ADMIN.into());
        env.insert("S3_PUBLIC_ENDPOINT", "https://media.example.org".into());
        env.insert("CDN_PIPELINE_ID", PIPELINE.into());
        env.insert("CDN_PURGE_SECRET_KEY", PURGE_KEY.into());
        env.insert("CDN_PURGE_API_URL", purge_api);
    })
    .await
}

fn paths_of(post: &Value) -> Vec<String> {
    let mut paths: Vec<String> = post["media"][0]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| format!("/{}", key_of(v["url"].as_str().unwrap())))
        .collect();
    paths.sort();
    paths
}

async fn purged(api: &PurgeApi, expected: &[String]) {
    eventually(Duration::from_secs(15), "the CDN purge", || async {
        let purged = api.purged.lock().unwrap().clone();
        expected.iter().all(|p| purged.contains(p)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_cdn_forgets_deleted_and_taken_down_photos() {
    let api = PurgeApi::default();
    let app = cdn_app(&api).await;
    let pool = app.backing.pool().await;
    let ana: User = user(&app, &unique("ana")).await;

    // CDN URLs name the object's key under the CDN's host.
    let deleted = post(&app, &pool, &ana, "deleted").await;
    let first = deleted["media"][0]["variants"][0]["url"].as_str().unwrap();
    assert!(
        first.starts_with("https://media.example.org/variants/"),
        "{first}"
    );
    app.delete(&format!("/v1/posts/{}", id_of(&deleted)), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    purged(&api, &paths_of(&deleted)).await;

    let down = post(&app, &pool, &ana, "taken down").await;
    variant_urls(&app, &down).await;
    assert_eq!(
        admin(
            &app,
            reqwest::Method::POST,
            &format!("/v1/admin/posts/{}/takedown", id_of(&down))
        )
        .await,
        StatusCode::NO_CONTENT
    );
    purged(&api, &paths_of(&down)).await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM cdn_purges")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "sent purges are not kept");
}

#[tokio::test]
async fn a_refused_purge_is_kept_and_retried_later() {
    let api = PurgeApi::default();
    *api.refuse.lock().unwrap() = 1;
    let app = cdn_app(&api).await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let body = post(&app, &pool, &ana, "deleted").await;
    app.delete(&format!("/v1/posts/{}", id_of(&body)), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);

    let (attempts, error): (i32, String) =
        eventually(Duration::from_secs(15), "a failed attempt", || async {
            sqlx::query_as::<_, (i32, Option<String>)>(
                "SELECT max(attempts), max(last_error) FROM cdn_purges",
            )
            .fetch_one(&pool)
            .await
            .ok()
            .and_then(|(a, e)| Some((a, e?)))
        })
        .await;
    assert_eq!(attempts, 1);
    assert!(error.contains("503"), "{error}");
    assert!(api.purged.lock().unwrap().is_empty());
    // Due again (as the back-off would make it), the next run sends it.
    sqlx::query("UPDATE cdn_purges SET next_attempt_at = now()")
        .execute(&pool)
        .await
        .unwrap();
    let purger = ciel::infra::cdn::Purger::new(&ciel::config::CdnPurgeConfig {
        api_url: start_purge_api(api.clone()).await,
        pipeline_id: PIPELINE.into(),
        secret_key: ciel::config::Secret::new(PURGE_KEY.into()),
    })
    .unwrap();
    let sent = ciel::media::withhold::send_purges(&pool, Some(&purger))
        .await
        .unwrap();
    assert_eq!(sent, paths_of(&body).len());
    purged(&api, &paths_of(&body)).await;
}
