//! Private accounts and follow requests (issue 28): what each kind of
//! viewer sees of a locked account and of a public one, route by route, and
//! the request's life (asked, listed, accepted or rejected, withdrawn, and
//! accepted all at once by an unlock).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::social::{User, all_pages, id_of, patch, post, ready_media, user};
use crate::common::{TestApp, unique};

/// What a viewer gets from a read route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sees {
    /// 200 with this many items (for a list) or the object (`Sees::Items(1)`).
    Items(usize),
    /// This status and error code.
    Refused(u16, &'static str),
}

use Sees::{Items, Refused};

const PRIVATE: Sees = Refused(403, "account_private");

struct Viewers {
    stranger: User,
    follower: User,
    requester: User,
    /// A follower the owner muted: a mute changes nothing they see.
    muted: User,
    blocked: User,
}

async fn follow(app: &TestApp, who: &User, whom: &User) -> StatusCode {
    app.post(
        &format!("/v1/users/{}/follow", whom.handle),
        who.token(),
        json!({}),
    )
    .await
    .status
}

async fn sees(app: &TestApp, path: &str, viewer: &User) -> Sees {
    let reply = app.get(path, viewer.token()).await;
    if reply.status != StatusCode::OK {
        return Refused(
            reply.status.as_u16(),
            match reply.code() {
                "account_private" => "account_private",
                "user_not_found" => "user_not_found",
                "post_not_found" => "post_not_found",
                "story_not_found" => "story_not_found",
                "highlight_not_found" => "highlight_not_found",
                other => panic!("{path}: unexpected code {other}"),
            },
        );
    }
    Items(match reply.body["items"].as_array() {
        Some(items) => items.len(),
        None => 1,
    })
}

/// An owner with a post (liked and commented on by their follower), a
/// story for followers and a highlight of it; the five viewers.
async fn world(app: &TestApp, locked: bool) -> (User, Viewers, Value, Value) {
    let pool = app.backing.pool().await;
    let owner = user(app, &unique("owner")).await;
    let viewers = Viewers {
        stranger: user(app, &unique("stranger")).await,
        follower: user(app, &unique("follower")).await,
        requester: user(app, &unique("requester")).await,
        muted: user(app, &unique("muted")).await,
        blocked: user(app, &unique("blocked")).await,
    };
    for follower in [&viewers.follower, &viewers.muted] {
        assert_eq!(follow(app, follower, &owner).await, StatusCode::NO_CONTENT);
    }
    let mute = format!("/v1/users/{}/mute", viewers.muted.handle);
    app.request(Method::PUT, &mute, owner.token(), Some(json!({})))
        .await
        .expect(StatusCode::NO_CONTENT, None);
    let post = post(app, &pool, &owner, "at the lake").await;
    let post_id = id_of(&post);
    app.post(
        &format!("/v1/posts/{post_id}/like"),
        viewers.follower.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    app.post(
        &format!("/v1/posts/{post_id}/comments"),
        viewers.follower.token(),
        json!({ "text": "lovely" }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    let media = ready_media(&pool, owner.id, 1).await[0];
    let story = app
        .post(
            "/v1/stories",
            owner.token(),
            json!({ "media_id": media, "audience": "followers" }),
        )
        .await;
    story.expect(StatusCode::CREATED, None);
    app.post(
        "/v1/me/highlights",
        owner.token(),
        json!({ "title": "Lake", "story_ids": [id_of(&story.body)] }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    if locked {
        patch(app, "/v1/me", owner.token(), json!({ "locked": true }))
            .await
            .expect(StatusCode::OK, None);
        assert_eq!(
            follow(app, &viewers.requester, &owner).await,
            StatusCode::ACCEPTED
        );
    } else {
        // A public account that approves follows: a request, content public.
        patch(
            app,
            "/v1/me",
            owner.token(),
            json!({ "approves_follows": true }),
        )
        .await
        .expect(StatusCode::OK, None);
        assert_eq!(
            follow(app, &viewers.requester, &owner).await,
            StatusCode::ACCEPTED
        );
    }
    app.post(
        &format!("/v1/users/{}/block", viewers.blocked.handle),
        owner.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    // Explore: the owner may be explored (trust), and the snapshot the
    // API took at start-up is due, so the first read takes a new one.
    sqlx::query("UPDATE users SET trust_level = 'basic' WHERE id = $1")
        .bind(owner.id)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE explore_generations SET created_at = created_at - interval '6 minutes'")
        .execute(&pool)
        .await
        .unwrap();
    (owner, viewers, post, story.body)
}

const VIEWERS: [&str; 5] = ["stranger", "follower", "requester", "muted", "blocked"];

/// Every read route about the owner's content, with what the stranger, the
/// follower, the requester (not approved), a follower the owner muted and
/// the blocked user see ([`VIEWERS`]).
fn expectations(
    owner: &User,
    post: &Value,
    story: &Value,
    locked: bool,
) -> Vec<(String, [Sees; 5])> {
    let h = &owner.handle;
    let post = id_of(post);
    let story = id_of(story);
    let gone = Refused(404, "user_not_found");
    let no_post = Refused(404, "post_not_found");
    let no_story = Refused(404, "story_not_found");
    if locked {
        vec![
            (
                format!("/v1/users/{h}"),
                [Items(1), Items(1), Items(1), Items(1), gone],
            ),
            (
                format!("/v1/users/{h}/posts"),
                [PRIVATE, Items(1), PRIVATE, Items(1), gone],
            ),
            (
                format!("/v1/users/{h}/followers"),
                [PRIVATE, Items(2), PRIVATE, Items(2), gone],
            ),
            (
                format!("/v1/users/{h}/following"),
                [PRIVATE, Items(0), PRIVATE, Items(0), gone],
            ),
            (
                format!("/v1/users/{h}/stories"),
                [PRIVATE, Items(1), PRIVATE, Items(1), gone],
            ),
            (
                format!("/v1/users/{h}/highlights"),
                [PRIVATE, Items(1), PRIVATE, Items(1), gone],
            ),
            (
                format!("/v1/posts/{post}"),
                [no_post, Items(1), no_post, Items(1), no_post],
            ),
            (
                format!("/v1/posts/{post}/likes"),
                [no_post, Items(1), no_post, Items(1), no_post],
            ),
            (
                format!("/v1/posts/{post}/comments"),
                [no_post, Items(1), no_post, Items(1), no_post],
            ),
            (
                format!("/v1/stories/{story}"),
                [no_story, Items(1), no_story, Items(1), no_story],
            ),
            (
                format!("/v1/search/users?q={h}"),
                [Items(1), Items(1), Items(1), Items(1), Items(0)],
            ),
            // Explore shows no locked account's posts.
            ("/v1/explore".into(), [Items(0); 5]),
        ]
    } else {
        vec![
            (
                format!("/v1/users/{h}"),
                [Items(1), Items(1), Items(1), Items(1), gone],
            ),
            (
                format!("/v1/users/{h}/posts"),
                [Items(1), Items(1), Items(1), Items(1), gone],
            ),
            (
                format!("/v1/users/{h}/followers"),
                [Items(2), Items(2), Items(2), Items(2), gone],
            ),
            (
                format!("/v1/users/{h}/following"),
                [Items(0), Items(0), Items(0), Items(0), gone],
            ),
            // Active stories are for followers; highlights for whoever sees posts.
            (
                format!("/v1/users/{h}/stories"),
                [Items(0), Items(1), Items(0), Items(1), gone],
            ),
            (
                format!("/v1/users/{h}/highlights"),
                [Items(1), Items(1), Items(1), Items(1), gone],
            ),
            (
                format!("/v1/posts/{post}"),
                [Items(1), Items(1), Items(1), Items(1), no_post],
            ),
            (
                format!("/v1/posts/{post}/likes"),
                [Items(1), Items(1), Items(1), Items(1), no_post],
            ),
            (
                format!("/v1/posts/{post}/comments"),
                [Items(1), Items(1), Items(1), Items(1), no_post],
            ),
            (
                format!("/v1/stories/{story}"),
                [Items(1), Items(1), Items(1), Items(1), no_story],
            ),
            (
                format!("/v1/search/users?q={h}"),
                [Items(1), Items(1), Items(1), Items(1), Items(0)],
            ),
            // Explore leaves out whom you follow already.
            (
                "/v1/explore".into(),
                [Items(1), Items(0), Items(1), Items(0), Items(0)],
            ),
        ]
    }
}

async fn check_table(locked: bool) {
    let app = TestApp::api().await;
    let (owner, viewers, post, story) = world(&app, locked).await;
    let mut wrong = Vec::new();
    for (path, expected) in expectations(&owner, &post, &story, locked) {
        let who = [
            &viewers.stranger,
            &viewers.follower,
            &viewers.requester,
            &viewers.muted,
            &viewers.blocked,
        ];
        for ((viewer, want), index) in VIEWERS.iter().zip(expected).zip(0..) {
            let got = sees(&app, &path, who[index]).await;
            if got != want {
                wrong.push(format!("{path} as {viewer}: got {got:?}, want {want:?}"));
            }
        }
    }
    // The home feed: the follower's has the post, nobody else's.
    for (viewer, count) in [
        (&viewers.follower, 1),
        (&viewers.muted, 1),
        (&viewers.stranger, 0),
        (&viewers.requester, 0),
    ] {
        let feed = all_pages(&app, "/v1/feed", viewer.token(), 20).await;
        if feed.len() != count {
            wrong.push(format!(
                "/v1/feed as {}: {} posts, want {count}",
                viewer.handle,
                feed.len()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn a_locked_account_shows_its_card_to_all_and_its_content_to_approved_followers() {
    check_table(true).await;
}

#[tokio::test]
async fn a_public_account_that_approves_follows_shows_its_content_to_all_but_the_blocked() {
    check_table(false).await;
}

#[tokio::test]
async fn a_follow_request_is_listed_accepted_rejected_withdrawn_and_unlocking_accepts_the_rest() {
    let app = TestApp::api().await;
    let owner = user(&app, &unique("owner")).await;
    let ana = user(&app, &unique("ana")).await;
    let bob = user(&app, &unique("bob")).await;
    let cid = user(&app, &unique("cid")).await;
    let dan = user(&app, &unique("dan")).await;
    patch(&app, "/v1/me", owner.token(), json!({ "locked": true }))
        .await
        .expect(StatusCode::OK, None);
    for who in [&ana, &bob, &cid, &dan] {
        assert_eq!(follow(&app, who, &owner).await, StatusCode::ACCEPTED);
    }
    let again = app
        .post(
            &format!("/v1/users/{}/follow", owner.handle),
            ana.token(),
            json!({}),
        )
        .await;
    again.expect(StatusCode::ACCEPTED, None);
    assert_eq!(again.body["state"], "requested");
    let profile = app
        .get(&format!("/v1/users/{}", owner.handle), ana.token())
        .await;
    assert_eq!(profile.body["locked"], true);
    assert_eq!(profile.body["follow_requested"], true);
    assert_eq!(profile.body["following"], false);

    let waiting = all_pages(&app, "/v1/me/follow-requests", owner.token(), 2).await;
    assert_eq!(waiting.len(), 4);
    let notes = all_pages(&app, "/v1/notifications", owner.token(), 20).await;
    assert_eq!(
        notes
            .iter()
            .filter(|n| n["type"] == "follow_request")
            .count(),
        4
    );

    // Accepted: ana follows and is told; the request is gone.
    app.post(
        &format!("/v1/me/follow-requests/{}", ana.handle),
        owner.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    app.post(
        &format!("/v1/me/follow-requests/{}", ana.handle),
        owner.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NOT_FOUND, Some("follow_request_not_found"));
    let told = all_pages(&app, "/v1/notifications", ana.token(), 20).await;
    assert!(
        told.iter().any(|n| n["type"] == "follow_accepted"),
        "{told:?}"
    );
    app.get(&format!("/v1/users/{}/posts", owner.handle), ana.token())
        .await
        .expect(StatusCode::OK, None);
    // Rejected: bob is not told and can ask again.
    app.delete(
        &format!("/v1/me/follow-requests/{}", bob.handle),
        owner.token(),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    let bobs = all_pages(&app, "/v1/notifications", bob.token(), 20).await;
    assert!(bobs.is_empty(), "{bobs:?}");
    // Withdrawn: cid unfollows before an answer.
    app.delete(&format!("/v1/users/{}/follow", owner.handle), cid.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    let waiting = all_pages(&app, "/v1/me/follow-requests", owner.token(), 20).await;
    assert_eq!(
        waiting
            .iter()
            .map(|c| c["handle"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec![dan.handle.as_str()]
    );
    let notes = all_pages(&app, "/v1/notifications", owner.token(), 20).await;
    assert_eq!(
        notes
            .iter()
            .filter(|n| n["type"] == "follow_request")
            .count(),
        1,
        "{notes:?}"
    );

    // Unlocking accepts what waits: dan follows.
    patch(&app, "/v1/me", owner.token(), json!({ "locked": false }))
        .await
        .expect(StatusCode::OK, None);
    let dans = app
        .get(&format!("/v1/users/{}", owner.handle), dan.token())
        .await;
    assert_eq!(dans.body["following"], true);
    assert_eq!(dans.body["follow_requested"], false);
    assert!(
        all_pages(&app, "/v1/me/follow-requests", owner.token(), 20)
            .await
            .is_empty()
    );
    let told = all_pages(&app, "/v1/notifications", dan.token(), 20).await;
    assert!(
        told.iter().any(|n| n["type"] == "follow_accepted"),
        "{told:?}"
    );
    // Now public: a follow is a follow.
    assert_eq!(follow(&app, &bob, &owner).await, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_muted_user_vanishes_from_the_muters_feed_tray_comments_and_notifications_unknowingly() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bob = user(&app, &unique("bob")).await;
    let cid = user(&app, &unique("cid")).await;
    assert_eq!(follow(&app, &ana, &bob).await, StatusCode::NO_CONTENT);
    assert_eq!(follow(&app, &ana, &cid).await, StatusCode::NO_CONTENT);
    assert_eq!(follow(&app, &bob, &ana).await, StatusCode::NO_CONTENT);
    let bobs_post = id_of(&post(&app, &pool, &bob, "bob's").await);
    let cids_post = id_of(&post(&app, &pool, &cid, "cid's").await);
    let anas_post = id_of(&post(&app, &pool, &ana, "ana's").await);
    app.post(
        &format!("/v1/posts/{cids_post}/comments"),
        bob.token(),
        json!({ "text": "hi" }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    let media = ready_media(&pool, bob.id, 1).await[0];
    app.post(
        "/v1/stories",
        bob.token(),
        json!({ "media_id": media, "audience": "followers" }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    app.post(
        &format!("/v1/posts/{anas_post}/like"),
        bob.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);

    let feed_ids = |items: Vec<Value>| -> Vec<String> {
        items
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        feed_ids(all_pages(&app, "/v1/feed", ana.token(), 20).await)
            .contains(&bobs_post.to_string())
    );

    let mute_path = format!("/v1/users/{}/mute", bob.handle);
    let mute = |body: Value| app.request(Method::PUT, &mute_path, ana.token(), Some(body));
    mute(json!({ "duration_secs": 5 }))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    app.request(
        Method::PUT,
        &format!("/v1/users/{}/mute", ana.handle),
        ana.token(),
        Some(json!({})),
    )
    .await
    .expect(StatusCode::FORBIDDEN, Some("cannot_mute_self"));
    mute(json!({})).await.expect(StatusCode::NO_CONTENT, None);

    let feed = feed_ids(all_pages(&app, "/v1/feed", ana.token(), 20).await);
    assert!(!feed.contains(&bobs_post.to_string()), "{feed:?}");
    assert!(feed.contains(&cids_post.to_string()));
    let tray = all_pages(&app, "/v1/stories/tray", ana.token(), 20).await;
    assert!(
        tray.iter()
            .all(|i| i["author"]["handle"] != bob.handle.as_str()),
        "{tray:?}"
    );
    let comments = all_pages(
        &app,
        &format!("/v1/posts/{cids_post}/comments"),
        ana.token(),
        20,
    )
    .await;
    assert!(comments.is_empty(), "{comments:?}");
    let notes = all_pages(&app, "/v1/notifications", ana.token(), 20).await;
    assert!(
        notes
            .iter()
            .all(|n| n["actor"]["handle"] != bob.handle.as_str()),
        "{notes:?}"
    );
    let listed = all_pages(&app, "/v1/me/mutes", ana.token(), 20).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["user"]["handle"], bob.handle.as_str());
    assert_eq!(listed[0]["notifications"], true);
    assert!(listed[0]["expires_at"].is_null());
    // Bob notices nothing: his view of ana is the same, his list is empty.
    app.get(&format!("/v1/posts/{anas_post}"), bob.token())
        .await
        .expect(StatusCode::OK, None);
    assert!(
        all_pages(&app, "/v1/me/mutes", bob.token(), 20)
            .await
            .is_empty()
    );
    let profile = app
        .get(&format!("/v1/users/{}", ana.handle), bob.token())
        .await;
    assert!(profile.body.get("muting").is_none() && profile.body["following"] == true);

    // Posts only: his notifications come back.
    mute(json!({ "notifications": false }))
        .await
        .expect(StatusCode::NO_CONTENT, None);
    let notes = all_pages(&app, "/v1/notifications", ana.token(), 20).await;
    assert!(
        notes
            .iter()
            .any(|n| n["actor"]["handle"] == bob.handle.as_str()),
        "{notes:?}"
    );
    assert!(
        !feed_ids(all_pages(&app, "/v1/feed", ana.token(), 20).await)
            .contains(&bobs_post.to_string())
    );

    // A timed mute runs out by itself.
    mute(json!({ "duration_secs": 60 }))
        .await
        .expect(StatusCode::NO_CONTENT, None);
    sqlx::query("UPDATE mutes SET expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        feed_ids(all_pages(&app, "/v1/feed", ana.token(), 20).await)
            .contains(&bobs_post.to_string())
    );
    assert!(
        all_pages(&app, "/v1/me/mutes", ana.token(), 20)
            .await
            .is_empty()
    );
    assert_eq!(ciel::social::mutes::prune(&pool).await.unwrap(), 1);

    mute(json!({})).await.expect(StatusCode::NO_CONTENT, None);
    app.delete(&format!("/v1/users/{}/mute", bob.handle), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    assert!(
        feed_ids(all_pages(&app, "/v1/feed", ana.token(), 20).await)
            .contains(&bobs_post.to_string())
    );
}
