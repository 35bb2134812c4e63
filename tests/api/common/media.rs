//! Uploads as an app makes them: a presigned PUT to the real S3 server,
//! completion, and polling until the worker has settled the photo.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{TestApp, eventually};

pub const PHOTO: &[u8] =
    include_bytes!("../../../crates/imaging/tests/fixtures/orientation6-gps.jpg");
/// Generous for a loaded machine. A job processed only on its redelivery (after the
/// test queue's 60 s visibility) would miss it: that was the sign of two bugs, a
/// completion that sent its job before committing, and a stopping worker dropping
/// its long poll.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Creates an upload and PUTs the bytes to the presigned URL, as an app would.
pub async fn upload(
    app: &TestApp,
    token: &str,
    bytes: &[u8],
    content_type: &str,
    declared: usize,
) -> Uuid {
    let created = app
        .post(
            "/v1/media/uploads",
            Some(token),
            json!({ "content_type": content_type, "byte_size": declared }),
        )
        .await;
    created.expect(StatusCode::CREATED, None);
    let upload = &created.body["upload"];
    assert_eq!(upload["method"], "PUT");
    let url = upload["url"].as_str().unwrap();
    assert!(
        url.contains("originals/"),
        "originals live under originals/: {url}"
    );
    let mut put = app.client.put(url).body(bytes.to_vec());
    for (name, value) in upload["headers"].as_object().unwrap() {
        // The HTTP client sets Content-Length from the body itself.
        if !name.eq_ignore_ascii_case("content-length") {
            put = put.header(name.as_str(), value.as_str().unwrap());
        }
    }
    let response = put.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "PUT to storage: {}",
        response.status()
    );
    created.body["media_id"].as_str().unwrap().parse().unwrap()
}

pub async fn complete(app: &TestApp, token: &str, id: Uuid) -> super::Reply {
    app.post(&format!("/v1/media/{id}/complete"), Some(token), json!({}))
        .await
}

/// Uploads the fixture photo and completes it: its job is queued.
pub async fn completed_photo(app: &TestApp, token: &str) -> Uuid {
    let id = upload(app, token, PHOTO, "image/jpeg", PHOTO.len()).await;
    complete(app, token, id)
        .await
        .expect(StatusCode::ACCEPTED, None);
    id
}

pub async fn settled(app: &TestApp, token: &str, id: Uuid) -> Value {
    eventually(DEADLINE, "the media to be processed", || async {
        let reply = app.get(&format!("/v1/media/{id}"), Some(token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        matches!(reply.body["status"].as_str(), Some("ready" | "failed")).then_some(reply.body)
    })
    .await
}
